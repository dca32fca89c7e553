//! Cluster mode on this node (`cluster-enabled yes`): startup (cluster.c clusterInit: lock nodes.conf, load it or create
//! myself, save), saving nodes.conf after every change (each save
//! replaces the file, so the lock is taken again on the new file), and
//! the cluster health (clusterUpdateState: a master starts in `fail` and
//! is not declared `ok` before CLUSTER_WRITABLE_DELAY has passed, nor
//! within the rejoin delay after being in a minority partition); it also
//! holds the bus links and listeners the driver (`cluster_bus`) works.
//!
//! The server holds a `Cluster` in `Server::cluster` (None outside cluster
//! mode). Log lines are Redis 7.0.15's.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;

use tracing::{info, warn};

use super::ids::{NodeFlags, NodeId};
use super::nodes_conf::{self, PORT_INCR};
use super::outgoing::announced_ports;
use super::process::todo;
use super::state::{ClusterState, Health};
use crate::config::Config;

/// A master does not turn the state `ok` before this many ms after its
/// first state evaluation (CLUSTER_WRITABLE_DELAY).
pub const WRITABLE_DELAY_MS: i64 = 2000;

/// A master that was in a minority partition waits the node timeout,
/// within these bounds, before turning `ok` (CLUSTER_MIN/MAX_REJOIN_DELAY).
pub const MIN_REJOIN_DELAY_MS: i64 = 500;
pub const MAX_REJOIN_DELAY_MS: i64 = 5000;

/// This node's cluster: the state, nodes.conf and its lock.
pub struct Cluster {
    pub state: ClusterState,
    /// cluster-config-file (relative to `dir`, the working directory).
    pub path: PathBuf,
    /// The open file holding the flock (released at exit).
    lock: Option<File>,
    /// When the state was first evaluated (clusterUpdateState's
    /// first_call_time); 0 before.
    first_update_ms: i64,
    /// When the state last found this node in a minority partition.
    among_minority_ms: i64,
    /// The bus links (a slab; see `link`).
    pub links: Vec<Option<super::link::Link>>,
    /// The bus listening sockets (cluster-port or port + 10000).
    pub bus_listeners: Vec<mio::net::TcpListener>,
    /// clusterBeforeSleep's to-do flags (`process::todo`).
    pub todo: u8,
    /// clusterCron runs so far, and when it last ran (unix ms).
    pub cron_runs: u64,
    pub last_cron_ms: i64,
    /// The election and manual failover bookkeeping (driven by
    /// `cluster_failover`).
    pub election: super::failover::Election,
    /// DEBUG DROP-CLUSTER-PACKET-FILTER: bus messages of this type are
    /// dropped on receipt (counted, not processed); -1 drops none
    /// (server.cluster_drop_packet_filter).
    pub drop_packet_filter: i64,
    /// Bus events are being served while a script is busy or data loads
    /// (`cluster_bus::event_while_blocked`).
    pub blocked: bool,
    /// A master myself turned replica of while `blocked`: replication
    /// follows it from the next cron run.
    pub deferred_master: Option<super::state::NodeIdx>,
}

/// An io error's text without Rust's " (os error N)" suffix (strerror).
fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(p) => s[..p].to_string(),
        None => s,
    }
}

/// Opens `path` (creating it) and takes an exclusive flock on it
/// (clusterLockConfig), logging Redis's lines on failure.
fn lock_file(path: &PathBuf) -> Result<File, ()> {
    let f = match OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => {
            warn!(
                "Can't open {} in order to acquire a lock: {}",
                path.display(),
                strerror(&e)
            );
            return Err(());
        }
    };
    // SAFETY: flock on a file descriptor we own and keep open.
    let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == -1 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            warn!(
                "Sorry, the cluster configuration file {} is already used by a different Redis \
                 Cluster node. Please make sure that different nodes use different cluster \
                 configuration files.",
                path.display()
            );
        } else {
            warn!("Impossible to lock {}: {}", path.display(), strerror(&e));
        }
        return Err(());
    }
    Ok(f)
}

impl Cluster {
    /// clusterInit: lock, load or create, save when created, the port
    /// check, then myself's ports / ip / hostname from the config. Every
    /// failure is logged as Redis logs it; the caller exits.
    pub fn init(config: &Config, now: i64) -> Result<Cluster, ()> {
        let path = PathBuf::from(&config.cluster_config_file);
        let lock = lock_file(&path)?;
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) => {
                warn!(
                    "Loading the cluster node config from {}: {}",
                    path.display(),
                    strerror(&e)
                );
                return Err(());
            }
        };
        let mut cluster = Cluster {
            state: ClusterState::new(NodeId::NULL, now),
            path,
            lock: Some(lock),
            first_update_ms: 0,
            among_minority_ms: 0,
            links: Vec::new(),
            bus_listeners: Vec::new(),
            todo: 0,
            cron_runs: 0,
            last_cron_ms: 0,
            election: Default::default(),
            drop_packet_filter: -1,
            blocked: false,
            deferred_master: None,
        };
        if text.is_empty() {
            cluster.state = ClusterState::new(NodeId::random(), now);
            info!(
                "No cluster configuration found, I'm {}",
                cluster.state.myself_node().name
            );
            cluster.save_or_die(true)?;
        } else {
            match nodes_conf::parse(&text, now) {
                Ok(loaded) => {
                    for w in &loaded.warnings {
                        warn!("{}", w);
                    }
                    cluster.state = loaded.state;
                    info!(
                        "Node configuration loaded, I'm {}",
                        cluster.state.myself_node().name
                    );
                }
                Err(e) => {
                    warn!("Unrecoverable error: corrupted cluster config file.");
                    tracing::debug!("{}", e);
                    return Err(());
                }
            }
        }
        let port = if config.tls_cluster {
            config.tls_port as u32
        } else {
            config.port as u32
        };
        if config.cluster_port == 0 && port > 65535 - PORT_INCR {
            warn!(
                "Redis port number too high. Cluster communication port is 10,000 port numbers \
                 higher than your Redis port. Your Redis port number must be 55535 or less."
            );
            return Err(());
        }
        cluster.apply_config(config);
        cluster.update_myself_flags(config);
        Ok(cluster)
    }

    /// clusterUpdateMyselfFlags: myself's NOFAILOVER follows
    /// cluster-replica-no-failover; a change is saved and the state
    /// updated before sleeping.
    pub fn update_myself_flags(&mut self, config: &Config) {
        let me = self.state.myself;
        let n = self.state.node_mut(me);
        let old = n.flags;
        if config.cluster_replica_no_failover {
            n.flags.insert(NodeFlags::NOFAILOVER);
        } else {
            n.flags.remove(NodeFlags::NOFAILOVER);
        }
        if n.flags != old {
            self.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
        }
    }

    /// Myself's announced ports, ip and hostname from the config
    /// (deriveAnnouncedPorts, clusterUpdateMyselfIp / Hostname).
    pub fn apply_config(&mut self, config: &Config) {
        let p = announced_ports(config);
        let me = self.state.myself;
        let n = self.state.node_mut(me);
        n.port = p.port;
        n.pport = p.pport;
        n.cport = p.cport;
        if !config.cluster_announce_ip.is_empty() {
            n.ip = config.cluster_announce_ip.clone();
        }
        n.hostname = config.cluster_announce_hostname.clone();
    }

    /// clusterSaveConfig: nodes.conf replaced by the current state, then
    /// the lock taken on the new file.
    pub fn save(&mut self, fsync: bool) -> io::Result<()> {
        let text = nodes_conf::render(&self.state);
        nodes_conf::save(&self.path, text.as_bytes(), fsync)?;
        // The rename replaced the locked file: lock the new one (the old
        // lock goes with the old file).
        if let Ok(f) = lock_file(&self.path) {
            self.lock = Some(f);
        }
        Ok(())
    }

    /// clusterSaveConfigOrDie: a failed save is fatal (the caller exits).
    pub fn save_or_die(&mut self, fsync: bool) -> Result<(), ()> {
        if self.save(fsync).is_err() {
            warn!("Fatal: can't update cluster config file.");
            return Err(());
        }
        Ok(())
    }

    /// Saves after a change; a failure ends the process as in Redis.
    pub fn save_config(&mut self, fsync: bool) {
        if self.save_or_die(fsync).is_err() {
            std::process::exit(1);
        }
    }

    /// clusterUpdateState.
    pub fn update_state(&mut self, config: &Config, now: i64) {
        self.todo &= !super::process::todo::UPDATE_STATE;
        if self.first_update_ms == 0 {
            self.first_update_ms = now;
        }
        if self.state.myself_node().is_master()
            && self.state.state == Health::Fail
            && now - self.first_update_ms < WRITABLE_DELAY_MS
        {
            return;
        }
        let (new, minority) = self.state.evaluate(config.cluster_require_full_coverage);
        if minority {
            self.among_minority_ms = now;
        }
        if new != self.state.state {
            let rejoin_delay = config
                .cluster_node_timeout
                .clamp(MIN_REJOIN_DELAY_MS, MAX_REJOIN_DELAY_MS);
            if new == Health::Ok
                && self.state.myself_node().is_master()
                && now - self.among_minority_ms < rejoin_delay
            {
                return;
            }
            warn!(
                "Cluster state changed: {}",
                if new == Health::Ok { "ok" } else { "fail" }
            );
            self.state.state = new;
        }
    }

    /// clusterBumpConfigEpochWithoutConsensus: true when bumped.
    pub fn bump_epoch(&mut self) -> bool {
        let max = self.state.max_epoch();
        let me = self.state.myself;
        let cur = self.state.node(me).config_epoch;
        if cur == 0 || cur != max {
            self.state.current_epoch += 1;
            let e = self.state.current_epoch;
            self.state.node_mut(me).config_epoch = e;
            warn!("New configEpoch set to {}", e);
            true
        } else {
            false
        }
    }

    /// verifyClusterConfigWithData's slot part, after the data is loaded:
    /// a slot holding keys (`keys_in(slot)` > 0) that is neither mine nor
    /// importing is taken when unassigned, else set importing from its
    /// owner; the config is saved if anything changed. (The caller checks
    /// that dbs other than 0 are empty.) Replicas are not checked.
    pub fn verify_with_data(&mut self, keys_in: impl Fn(usize) -> usize) -> Result<(), ()> {
        let me = self.state.myself;
        if self.state.node(me).is_replica() {
            return Ok(());
        }
        let mut changed = false;
        for s in 0..super::slot::CLUSTER_SLOTS {
            if keys_in(s) == 0 {
                continue;
            }
            let owner = self.state.slot_owner(s);
            if owner == Some(me) || self.state.importing_slots_from[s].is_some() {
                continue;
            }
            changed = true;
            match owner {
                None => {
                    warn!(
                        "I have keys for unassigned slot {}. Taking responsibility for it.",
                        s
                    );
                    self.state.add_slot(me, s);
                }
                Some(o) => {
                    warn!(
                        "I have keys for slot {}, but the slot is assigned to another node. \
                         Setting it to importing state.",
                        s
                    );
                    self.state.importing_slots_from[s] = Some(o);
                }
            }
        }
        if changed {
            self.save_or_die(true)?;
        }
        Ok(())
    }

    /// The descriptor holding the flock (a forked child closes its copy).
    pub fn lock_fd(&self) -> Option<i32> {
        self.lock.as_ref().map(|f| f.as_raw_fd())
    }
}
