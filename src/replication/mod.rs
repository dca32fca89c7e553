//! Master–replica replication as Redis 7.0 speaks it (replication.c):
//! the master side (SYNC/PSYNC, REPLCONF, the backlog, streaming the
//! command feed to replicas, WAIT) lives in `master.rs`, the replica side
//! (REPLICAOF, the handshake, loading the master's RDB, applying its
//! stream, ACKs) in `replica.rs`, the circular backlog in `backlog.rs`,
//! FAILOVER in `failover.rs`, INFO memory's replication buffer figures in
//! `buffers.rs`, diskless full syncs (the master streaming its child's RDB
//! through a pipe) in `diskless.rs`, and loading the RDB straight from the
//! socket (`repl-diskless-load`) in `diskless_load.rs`.
//!
//! This module holds the shared state (`ReplState`: replication ids,
//! offset, backlog, the replica tokens, the master link), the stream feed
//! every propagated command goes through, the commands' table, INFO
//! replication, and the hooks the event loop calls.

pub mod backlog;
pub mod buffers;
pub mod diskless;
pub mod diskless_load;
pub mod failover;
pub mod master;
pub mod replica;
pub mod replica_expire;

use crate::client::Client;
use crate::cmdtable::{cmd, CommandSpec, STALE};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::Server;
use backlog::Backlog;
use std::fmt::Write as _;

pub static COMMANDS: &[CommandSpec] = &[
    cmd("sync", master::sync_command),
    cmd("psync", master::sync_command),
    cmd("replconf", master::replconf_command).with(crate::cmdtable::fact::REPLICA_MAY_REPLY),
    cmd("replicaof", replica::replicaof_command),
    cmd("slaveof", replica::replicaof_command),
    cmd("role", role_command),
    cmd("wait", master::wait_command),
];

/// Replication state of this server (both roles).
pub struct ReplState {
    /// master_replid / master_replid2 (40 hex chars).
    pub replid: String,
    pub replid2: String,
    /// master_repl_offset: bytes of stream produced (master) or applied
    /// and proxied (replica).
    pub offset: i64,
    /// second_repl_offset: the first offset replid2 is not valid for.
    pub second_offset: i64,
    pub backlog: Option<Backlog>,
    /// The db the stream last selected (None: emit SELECT next time).
    pub seldb: Option<usize>,
    /// Slots of clients that are replicas of ours.
    pub replicas: Vec<usize>,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    /// A full-sync snapshot being written: (temp file, child started).
    pub snapshot: Option<std::path::PathBuf>,
    /// A diskless full sync streaming through the child's pipe.
    pub pipe: Option<Box<diskless::PipeXfer>>,
    /// Replica side: keys our own clients wrote with a TTL.
    pub replica_keys: replica_expire::ReplicaKeys,
    /// Replica side: the old dataset during a swapdb diskless load.
    pub load_stash: Option<Box<diskless_load::Stash>>,
    /// WAIT asked for acks: send REPLCONF GETACK before sleeping.
    pub get_ack: bool,
    pub waiters: Vec<master::Waiter>,
    /// Unix ms of the last replication cron run and of the last PING.
    pub last_cron_ms: i64,
    pub cron_loops: u64,
    /// Replica side: the master we follow and the link to it.
    pub link: Option<Box<replica::Link>>,
    /// Set while REPLCONF GETACK from our master is being executed.
    pub ack_requested: bool,
    /// The master's stream was held back during a busy script.
    pub master_input_held: bool,
    /// A coordinated failover (FAILOVER) in progress.
    pub failover: failover::Failover,
}

impl ReplState {
    pub fn new() -> ReplState {
        ReplState {
            replid: random_replid(),
            replid2: "0".repeat(40),
            offset: 0,
            second_offset: -1,
            backlog: None,
            seldb: None,
            replicas: Vec::new(),
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            snapshot: None,
            pipe: None,
            load_stash: None,
            replica_keys: Default::default(),
            get_ack: false,
            waiters: Vec::new(),
            last_cron_ms: 0,
            cron_loops: 0,
            link: None,
            ack_requested: false,
            master_input_held: false,
            failover: failover::Failover::default(),
        }
    }

    /// Are we a replica (REPLICAOF host port)?
    pub fn is_replica(&self) -> bool {
        self.link.is_some()
    }

    /// The offset a cluster node announces on the bus (clusterBuildMessageHdr):
    /// a master its master_repl_offset, a replica (`myself_replica`: its
    /// cluster role) replicationGetSlaveOffset, the master's stream it
    /// processed, or 0 without a master history (no REPLICAOF, or a full
    /// sync replacing the data: the master sees the replica "loading").
    pub fn bus_offset(&self, myself_replica: bool) -> i64 {
        if !myself_replica {
            return self.offset;
        }
        match self.link.as_deref() {
            Some(l) if l.has_master_history() => self.offset.max(0),
            _ => 0,
        }
    }
}

impl Default for ReplState {
    fn default() -> Self {
        Self::new()
    }
}

/// iAmMaster: not a replica, in standalone (no REPLICAOF) or in cluster
/// mode (myself is a master). A replica keeps the keys it loads whose TTL
/// has passed: its master's DELs remove them.
pub fn i_am_master(srv: &Server) -> bool {
    match srv.cluster.as_deref() {
        Some(cl) => !cl.state.myself_node().is_replica(),
        None => !srv.repl.is_replica(),
    }
}

/// A new random 40-hex-digit replication id.
pub fn random_replid() -> String {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::from_entropy();
    (0..40)
        .map(|_| char::from_digit(rng.gen_range(0..16u32), 16).unwrap_or('0'))
        .collect()
}

/// Is `c` a replica of ours (it sent SYNC/PSYNC)?
pub fn is_replica_client(c: &Client) -> bool {
    c.repl.as_ref().is_some_and(|r| r.is_replica())
}

/// Appends one already RESP-encoded command executed in `db` to the
/// backlog and to every replica, preceded by SELECT when the stream's db
/// changes.
pub fn feed(srv: &mut Server, db: usize, cmd: &[u8]) {
    if srv.repl.backlog.is_none() || srv.repl.is_replica() {
        return;
    }
    if db != crate::propagate::NO_DB && srv.repl.seldb != Some(db) {
        let mut sel = Vec::with_capacity(24);
        let dbs = db.to_string();
        crate::propagate::encode_command(&mut sel, &[b"SELECT", dbs.as_bytes()]);
        feed_raw(srv, &sel);
        srv.repl.seldb = Some(db);
    }
    feed_raw(srv, cmd);
}

/// Appends raw stream bytes to the backlog and the replicas' outputs.
pub fn feed_raw(srv: &mut Server, data: &[u8]) {
    if srv.repl.backlog.is_none() {
        return;
    }
    let hold = if srv.repl.replicas.is_empty() {
        None
    } else {
        master::hold_from(srv)
    };
    let Some(bl) = srv.repl.backlog.as_mut() else {
        return;
    };
    bl.append(data, hold);
    srv.repl.offset += data.len() as i64;
    master::feed_replicas(srv, data);
}

/// Asks every replica for an ACK now (sendGetackToReplicas); a replica
/// of another master has nothing of its own to ask.
pub fn send_getack(srv: &mut Server) {
    if !srv.repl.is_replica() && !srv.repl.replicas.is_empty() {
        feed_raw(srv, b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
    }
}

/// DEBUG CHANGE-REPL-ID: a new replication id, and no previous one
/// (changeReplicationId + clearReplicationId2).
pub fn change_replication_id(srv: &mut Server) {
    let r = &mut srv.repl;
    r.replid = random_replid();
    r.replid2 = "0".repeat(40);
    r.second_offset = -1;
}

/// Creates the backlog if there is none (first replica), with a fresh
/// replication id, and turns propagation to replicas on.
pub fn create_backlog(srv: &mut Server) {
    if srv.repl.backlog.is_some() {
        return;
    }
    let size = backlog_size(srv);
    srv.repl.backlog = Some(Backlog::new(size, srv.repl.offset + 1));
    srv.repl.seldb = None;
    if !srv.repl.is_replica() {
        srv.prop.targets |= crate::propagate::TO_REPL;
    }
}

pub fn backlog_size(srv: &Server) -> usize {
    srv.config.repl_backlog_size
}

/// The replication aux fields of an RDB saved now (rdbPopulateSaveInfo):
/// our replication id and offset, and the db the stream continues in, so
/// a restarted replica can continue with PSYNC. None of it when there is
/// no replication history.
pub fn rdb_save_info(srv: &Server) -> crate::persist::rdb::SaveInfo {
    let r = &srv.repl;
    let db = match r.link.as_ref() {
        None if r.backlog.is_some() => Some(r.seldb.unwrap_or(0)),
        None => None,
        Some(l) => Some(replica::master_client_db(srv, l).unwrap_or(l.cached_db)),
    };
    crate::persist::rdb::SaveInfo {
        repl_stream_db: db,
        repl_id: db.map(|_| r.replid.clone()),
        repl_offset: db.map(|_| r.offset),
        ..Default::default()
    }
}

/// The RDB loaded at startup carried replication info (loadDataFromDisk):
/// a replica resumes that history (PSYNC after the restart); a master
/// keeps it as replid2 so its replicas can continue with PSYNC, and its
/// offset continues from the saved one (the backlog, created before the
/// load, holds the DELs of keys that expired while loading). Returns
/// whether the info was usable.
pub fn restore_from_rdb(srv: &mut Server, info: &crate::persist::rdb::LoadInfo) -> bool {
    let (Some(id), Some(off)) = (info.repl_id.as_ref(), info.repl_offset) else {
        return false;
    };
    if id.len() != 40 {
        return false;
    }
    let replica = srv.config.replicaof.is_some();
    let r = &mut srv.repl;
    if replica {
        r.replid = id.clone();
        r.offset = off;
        r.seldb = info.repl_stream_db;
    } else {
        r.replid2 = id.clone();
        r.second_offset = off + 1;
        r.offset += off;
        create_backlog(srv);
        let r = &mut srv.repl;
        if let Some(b) = r.backlog.as_mut() {
            b.first_offset = r.offset - b.histlen() as i64 + 1;
        }
    }
    true
}

/// Drops the backlog (a master that loaded an RDB without replication
/// info: no partial resync is possible, so it is not kept).
pub fn free_backlog(srv: &mut Server) {
    srv.repl.backlog = None;
    srv.prop.targets &= !crate::propagate::TO_REPL;
}

/// The replication snapshot child finished (called by `child::check_children`).
pub fn sync_snapshot_done(srv: &mut Server, ok: bool) {
    master::snapshot_done(srv, ok);
}

/// Called once per event-loop iteration: GETACKs for WAIT, WAIT
/// completion and timeouts, RDB streaming to replicas.
pub fn before_sleep(srv: &mut Server) {
    if srv.repl.master_input_held && !srv.scripting.busy_polling {
        srv.repl.master_input_held = false;
        let id = srv.repl.link.as_ref().and_then(|l| l.master_client);
        replica::resume_master_input(srv, id);
    }
    // ACKs received this iteration may let a failover start.
    failover::update_status(srv);
    if srv.repl.replicas.is_empty() && srv.repl.waiters.is_empty() {
        return;
    }
    master::before_sleep(srv);
}

/// Applies `repl-backlog-size` to the backlog (at least 16 KiB).
pub fn resize_backlog(srv: &mut Server) {
    if let Some(sz) = srv.repl.backlog.as_ref().map(|b| b.size()) {
        let want = backlog_size(srv).max(16 * 1024);
        if want != sz {
            let hold = master::hold_from(srv);
            if let Some(b) = srv.repl.backlog.as_mut() {
                b.resize(want, hold);
            }
        }
    }
}

/// Called from the event loop's cron: expires keys a writable replica's
/// clients created, and runs the replication cron once a second (pings,
/// timeouts, reconnects, ACKs).
pub fn cron(srv: &mut Server) {
    if srv.repl.is_replica() {
        replica_expire::cycle(srv);
    }
    let now = crate::clock::wall_ms();
    if now - srv.repl.last_cron_ms < failover::cron_period_ms(srv) {
        return;
    }
    srv.repl.last_cron_ms = now;
    srv.repl.cron_loops += 1;
    failover::update_status(srv);
    resize_backlog(srv);
    replica::cron(srv);
    master::cron(srv);
}

/// The event loop closes client `c` (slot `t`): forget it as replica or
/// master.
pub fn client_closed(srv: &mut Server, c: &mut Client, t: usize) {
    if c.is_master {
        replica::master_link_lost(srv, c);
    }
    if c.repl.is_some() {
        master::replica_closed(srv, c, t);
    }
}

/// Replication's refusals of a command about to run, in Redis's order:
/// not enough good replicas (min-replicas-to-write), a read-only replica,
/// a replica whose link is down with replica-serve-stale-data no.
pub fn refuse_command(srv: &Server, c: &Client, flags: u32) -> Option<CmdError> {
    let write = flags & crate::cmdtable::WRITE != 0;
    let link = srv.repl.link.as_ref();
    if write && link.is_none() && !master::enough_good_replicas(srv) {
        return Some(CmdError::Static(error::NOREPLICAS));
    }
    if write && replica::refuses_write(srv, c) {
        return Some(replica::readonly_error());
    }
    if let Some(l) = link {
        if !l.connected() && flags & STALE == 0 && !srv.config.replica_serve_stale_data {
            return Some(CmdError::Static(error::MASTERDOWN));
        }
    }
    None
}

/// A replica whose link is down, set not to serve stale data.
pub fn running_stale(srv: &Server) -> bool {
    srv.repl
        .link
        .as_ref()
        .is_some_and(|l| !l.connected() && !srv.config.replica_serve_stale_data)
}

/// The same refusals for a command a script calls (scriptCall's order:
/// a stale replica first, with its own wording, then the write checks,
/// which a script that already wrote skips: it cannot be failed halfway).
pub fn refuse_script_command(
    srv: &Server,
    c: &Client,
    flags: u32,
    script_wrote: bool,
) -> Option<CmdError> {
    if let Some(l) = srv.repl.link.as_ref() {
        if !l.connected() && flags & STALE == 0 && !srv.config.replica_serve_stale_data {
            return Some(CmdError::Static(error::SCRIPT_STALE));
        }
    }
    let write = flags & crate::cmdtable::WRITE != 0 && !script_wrote;
    if write && replica::refuses_write(srv, c) {
        return Some(replica::readonly_error());
    }
    if write && srv.repl.link.is_none() && !master::enough_good_replicas(srv) {
        return Some(CmdError::Static(error::NOREPLICAS));
    }
    None
}

fn role_command(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    if let Some(l) = srv.repl.link.as_ref() {
        c.out.array(5);
        c.out.bulk(b"slave");
        c.out.bulk(l.host.as_bytes());
        c.out.int(l.port as i64);
        c.out.bulk(l.role_state().as_bytes());
        c.out.int(if l.connected() { srv.repl.offset } else { -1 });
        return Ok(());
    }
    c.out.array(3);
    c.out.bulk(b"master");
    c.out.int(srv.repl.offset);
    let list: Vec<(String, u16, i64)> = srv
        .repl
        .replicas
        .iter()
        .filter_map(|&t| srv.clients.get(t).and_then(|s| s.as_deref()))
        .filter_map(|r| {
            let ri = r.repl.as_ref()?;
            ri.online()
                .then(|| (master::replica_ip(r), ri.listening_port, ri.ack_off))
        })
        .collect();
    c.out.array(list.len());
    for (ip, port, off) in list {
        c.out.array(3);
        c.out.bulk(ip.as_bytes());
        c.out.bulk(port.to_string().as_bytes());
        c.out.bulk(off.to_string().as_bytes());
    }
    Ok(())
}

/// Is the link to the master up? Not once its connection was found closed
/// (it is freed at the end of the loop iteration; Redis frees it at once).
fn link_up(srv: &Server, l: &replica::Link) -> bool {
    l.connected()
        && l.master_client
            .and_then(|id| srv.client_tokens.get(&id))
            .and_then(|&t| srv.clients.get(t))
            .and_then(|c| c.as_deref())
            .is_none_or(|c| !c.close_asap)
}

/// The `# Replication` section of INFO, as Redis 7.0 prints it.
pub fn info_section(srv: &Server, s: &mut String) {
    let r = &srv.repl;
    s.push_str("# Replication\r\n");
    let now = crate::clock::wall_ms();
    if let Some(l) = r.link.as_ref() {
        let _ = write!(
            s,
            "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\n",
            l.host,
            l.port,
            if link_up(srv, l) { "up" } else { "down" }
        );
        let last_io = if l.connected() {
            (now - l.last_io_ms).max(0) / 1000
        } else {
            -1
        };
        let _ = write!(
            s,
            "master_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\n",
            last_io,
            l.sync_in_progress() as u8
        );
        // Read = applied + what waits in the master client's query buffer
        // (a command CLIENT PAUSE holds, say) or inside its MULTI.
        let queued = l
            .master_client
            .and_then(|id| srv.client_tokens.get(&id))
            .and_then(|&t| srv.clients.get(t))
            .and_then(|c| c.as_deref())
            .map_or(0, |c| c.pending_input() as i64);
        let _ = write!(
            s,
            "slave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
            r.offset + l.unapplied() + queued,
            r.offset
        );
        if l.sync_in_progress() {
            let _ = write!(
                s,
                "master_sync_total_bytes:{}\r\nmaster_sync_read_bytes:{}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                l.transfer_size(),
                l.transfer_read(),
                l.transfer_size() - l.transfer_read(),
                if l.transfer_size() > 0 {
                    l.transfer_read() as f64 * 100.0 / l.transfer_size() as f64
                } else {
                    0.0
                },
                (now - l.last_io_ms).max(0) / 1000
            );
        }
        if !l.connected() {
            let since = if l.down_since_ms > 0 {
                (now - l.down_since_ms).max(0) / 1000
            } else {
                -1
            };
            let _ = write!(s, "master_link_down_since_seconds:{}\r\n", since);
        }
        let _ = write!(
            s,
            "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
            srv.config.replica_priority,
            srv.config.replica_read_only as u8,
            srv.config.replica_announced as u8
        );
    } else {
        s.push_str("role:master\r\n");
    }
    let replicas: Vec<&Client> = r
        .replicas
        .iter()
        .filter_map(|&t| srv.clients.get(t).and_then(|s| s.as_deref()))
        .filter(|c| is_replica_client(c))
        .collect();
    let _ = write!(s, "connected_slaves:{}\r\n", replicas.len());
    if let Some((_, good)) = master::good_replicas(srv) {
        let _ = write!(s, "min_slaves_good_slaves:{}\r\n", good);
    }
    for (i, c) in replicas.iter().enumerate() {
        let Some(ri) = c.repl.as_ref() else { continue };
        let _ = write!(
            s,
            "slave{}:ip={},port={},state={},offset={},lag={}\r\n",
            i,
            master::replica_ip(c),
            ri.listening_port,
            ri.state_name(),
            ri.ack_off,
            (now - ri.ack_time_ms).max(0) / 1000
        );
    }
    let _ = write!(
        s,
        "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\n",
        r.failover.state_name(), r.replid, r.replid2, r.offset, r.second_offset
    );
    let (active, first, hist) = match r.backlog.as_ref() {
        Some(b) => (1, b.first_offset, b.histlen()),
        None => (0, 0, 0),
    };
    let _ = write!(
        s,
        "repl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
        active,
        backlog_size(srv),
        first,
        hist
    );
}
