//! Server state owned by the keyspace thread: databases, clients, config,
//! command table, statistics, slow log and latency monitor — Redis's
//! `struct redisServer` — plus the cron that runs `hz` times a second, the
//! error-reply counters, the depth of running handlers (`nesting`) and the
//! hooks through which lower layers call up (`Hooks`).

use crate::client::Client;
use crate::clock;
use crate::cmdtable::CommandTable;
use crate::config::Config;
use crate::db::Db;
use crate::error::CmdError;
use crate::expire;
use crate::protocol::args::Args;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// Counts an error reply (INFO errorstats and total_error_replies).
pub fn count_error(srv: &mut Server, e: &CmdError) {
    srv.stats.total_error_replies += 1;
    let code = e.code();
    if let Some(n) = srv.stats.errorstats.get_mut(&code) {
        *n += 1;
    } else if srv.stats.errorstats.len() < 128 {
        srv.stats.errorstats.insert(code, 1);
    }
}

/// Calls from lower layers up into higher ones, so that they need not
/// import them (docs/ARCHITECTURE.md, "Layers"): replaying the AOF,
/// re-running a blocked command and a script's `redis.call` execute
/// commands; propagation feeds the AOF and the replicas. The command layer
/// gives them to `Server::new` (`commands::hooks()`).
#[derive(Clone, Copy)]
pub struct Hooks {
    /// `commands::execute`: runs one command for a client.
    pub execute: fn(&mut Server, &mut Client, &Args),
    /// `persist::aof::feed`: one RESP-encoded command run in a db (or
    /// `propagate::NO_DB`) to the AOF buffer.
    pub feed_aof: fn(&mut Server, usize, &[u8]),
    /// `replication::feed`: the same to the backlog and the replicas.
    pub feed_replicas: fn(&mut Server, usize, &[u8]),
}

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Redis version we are compatible with; clients gate features on it.
pub const REDIS_VERSION: &str = "7.0.15";
// Global (these two): set by the SIGTERM / SIGINT handler, which can
// reach nothing else.
/// Set by the SIGTERM / SIGINT handler (Redis's shutdown_asap): the cron
/// starts the shutdown; it stays set until the shutdown is cancelled
/// (a failed final save, SHUTDOWN ABORT), so that a second SIGINT while
/// the shutdown runs exits at once.
pub static SHUTDOWN_SIGNAL: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);
/// The signal that set SHUTDOWN_SIGNAL (last_sig_received).
pub static LAST_SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
/// REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME (ms).
pub const REPLY_BUFFER_DEFAULT_PEAK_RESET_MS: i64 = 5000;

/// Per-command statistics (INFO commandstats, latencystats).
#[derive(Default, Clone)]
pub struct CmdStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Latency distribution, from the first call with latency-tracking on.
    pub latency: Option<crate::ds::hdr::LatencyHistogram>,
}

/// Server-wide counters (INFO stats).
#[derive(Default)]
pub struct Stats {
    pub connections_received: u64,
    pub commands_processed: u64,
    pub rejected_connections: u64,
    /// Net bytes of clients that already disconnected.
    pub net_input_closed: u64,
    pub net_output_closed: u64,
    pub expired_keys_active: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached: u64,
    pub expire_cycle_time_used_us: u64,
    pub evicted_keys: u64,
    pub evicted_clients: u64,
    pub total_error_replies: u64,
    /// `total_error_replies` when the last command was accounted: a command
    /// during which it grew failed (Redis's incrCommandStatsOnError), so
    /// errors of the commands a script ran are not charged to the script.
    pub error_watermark: u64,
    /// An error reply that does not count in the error stats (a script
    /// returning an error it got from redis.call) still fails the command.
    pub failed_without_stats: bool,
    pub errorstats: HashMap<String, u64>,
    pub unexpected_error_replies: u64,
    pub io_reads: u64,
    pub io_writes: u64,
    pub client_qbuf_limit_disconnections: u64,
    pub client_outbuf_limit_disconnections: u64,
    /// Samples for instantaneous_ops_per_sec: (ms, ops) per cron-second.
    pub ops_samples: VecDeque<f64>,
    pub last_sample_ms: i64,
    pub last_sample_ops: u64,
    pub net_in_samples: VecDeque<f64>,
    pub net_out_samples: VecDeque<f64>,
    pub last_sample_net_in: u64,
    pub last_sample_net_out: u64,
    pub peak_memory: usize,
    /// fork() statistics (INFO stats latest_fork_usec / total_forks).
    pub latest_fork_usec: u64,
    pub total_forks: u64,
    /// Reply buffer resizes by the clients cron (INFO stats).
    pub reply_buffer_shrinks: u64,
    pub reply_buffer_expands: u64,
}

/// One SLOWLOG entry.
pub struct SlowlogEntry {
    pub id: u64,
    pub time: i64,
    pub duration_us: u64,
    pub args: Vec<Vec<u8>>,
    pub peer: String,
    pub name: Vec<u8>,
}

/// One latency-monitor event series.
#[derive(Default)]
pub struct LatencySeries {
    pub samples: VecDeque<(i64, u64)>,
    pub max: u64,
}

/// What CLIENT PAUSE blocks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PauseKind {
    All,
    Write,
}

/// Why the server pauses writes besides CLIENT PAUSE (Redis's
/// pause_purpose): bits of `Server::pause_purposes`, each a WRITE pause
/// without an end until it is lifted.
pub const PAUSE_DURING_SHUTDOWN: u8 = 1;
pub const PAUSE_DURING_FAILOVER: u8 = 2;

/// SHUTDOWN's flags (SHUTDOWN_SAVE, _NOSAVE, _NOW, _FORCE).
#[derive(Clone, Copy, Debug, Default)]
pub struct ShutdownFlags {
    pub nosave: bool,
    pub save: bool,
    pub now: bool,
    pub force: bool,
}

/// A shutdown waiting for lagging replicas (see commands/shutdown.rs).
#[derive(Default)]
pub struct ShutdownState {
    pub flags: ShutdownFlags,
    /// Unix ms when the wait for replicas ends; 0: no shutdown initiated
    /// (Redis's shutdown_mstime).
    pub deadline_ms: i64,
    /// (id, token) of clients blocked in SHUTDOWN.
    pub blocked: Vec<(u64, usize)>,
}

pub struct Server {
    pub config: Config,
    /// ACL users and log.
    pub acl: Box<crate::acl::Acl>,
    pub dbs: Vec<Db>,
    /// What every db's lazy expiry, freeing and access stamps act on;
    /// each `Db` holds a copy (`update_db_state`).
    pub db_state: crate::db::DbState,
    /// Client slots indexed by mio token; the client executing a command
    /// is temporarily taken out of its slot.
    pub clients: Vec<Option<Box<Client>>>,
    pub free_slots: Vec<usize>,
    pub nclients: usize,
    pub next_client_id: u64,
    pub commands: CommandTable,
    pub stats: Stats,
    pub start_ms: i64,
    pub start_instant: Instant,
    pub run_id: String,
    pub dirty: u64,
    pub lastsave: i64,
    pub slowlog: VecDeque<SlowlogEntry>,
    pub slowlog_next_id: u64,
    pub latency: HashMap<&'static str, LatencySeries>,
    /// Tokens of clients in MONITOR mode.
    pub monitors: Vec<usize>,
    /// The pause in effect (CLIENT PAUSE combined with the internal
    /// ones): until unix ms, kind.
    pub pause: Option<(i64, PauseKind)>,
    /// CLIENT PAUSE's own pause.
    pub client_pause: Option<(i64, PauseKind)>,
    /// PAUSE_DURING_* bits: WRITE pauses of a shutdown or a failover.
    pub pause_purposes: u8,
    pub shutdown: ShutdownState,
    pub cronloops: u64,
    pub rng: SmallRng,
    pub executable: String,
    /// The TCP port we actually listen on.
    pub tcp_port: u16,
    pub active_expire_enabled: bool,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE payloads and RDB files
    /// are loaded without checking their CRC.
    pub skip_checksum_validation: bool,
    /// DEBUG PAUSE-CRON: the cron does nothing while set.
    pub pause_cron: bool,
    /// DEBUG REPLYBUFFER: the reply buffer peak reset period in ms (-1
    /// never) and whether the cron resizes reply buffers at all.
    pub reply_buffer_peak_reset_ms: i64,
    pub reply_buffer_resizing: bool,
    /// Tokens of clients to close at the end of this event loop iteration.
    pub to_close: Vec<usize>,
    /// Tokens of clients whose input is waiting (e.g. for a pause to end).
    pub pending_input: Vec<usize>,
    /// Current hz (dynamic-hz scales it with the number of clients).
    pub hz: u32,
    pub resize_db_cursor: usize,
    pub rehash_db_cursor: usize,
    pub expire_db_cursor: usize,
    /// The eviction pool, kept between evictions (EvictionPoolLRU).
    pub evict_pool: Vec<crate::evict::Candidate>,
    pub loading: bool,
    /// Depth of command handlers running right now (0 between commands;
    /// EXEC and scripts nest), kept by `commands::execute`.
    pub nesting: u32,
    /// (db, key) -> tokens of clients blocked on it, in arrival order.
    pub blocking_keys: HashMap<(usize, Vec<u8>), VecDeque<usize>>,
    /// Keys signalled by writers since the last serve.
    pub ready_keys: Vec<(usize, Vec<u8>)>,
    /// (deadline ms, token) of blocked clients with a timeout.
    pub block_deadlines: std::collections::BTreeSet<(i64, usize)>,
    pub blocked_clients: usize,
    /// Clients whose command CLIENT PAUSE holds (see `Client::paused`).
    pub paused_clients: usize,
    /// Eviction goes on between commands (Redis's evictionTimeProc):
    /// after CONFIG SET lowered maxmemory, or when a command's eviction
    /// ran out of time.
    pub eviction_scheduled: bool,
    /// Clients that got output from outside their own batch (unblocked,
    /// CLIENT UNBLOCK): flushed and resumed by the event loop.
    pub to_flush: Vec<usize>,
    /// Clients with queued input that can run again now (after being
    /// unblocked); processed without waiting for new events.
    pub resume_input: std::collections::VecDeque<usize>,
    /// The listening sockets (the event loop registers them with its
    /// poller whenever `listeners_changed`: at startup and after CONFIG SET
    /// port/bind replaced the TCP ones).
    pub listeners: Vec<crate::listen::Listener>,
    pub listeners_changed: bool,
    /// The TLS contexts (tls-port, tls-replication), rebuilt by CONFIG SET
    /// of a tls-* file or setting.
    pub tls: crate::tls::Tls,
    /// WATCH: (db, key) -> (id of a client watching it, whether the key was
    /// already logically expired when it ran WATCH).
    pub watched_keys: HashMap<(usize, Vec<u8>), Vec<(u64, bool)>>,
    /// Ids of clients whose watched keys were modified.
    pub cas_dirty: std::collections::HashSet<u64>,
    /// Pub/Sub: channel / pattern / shard channel -> subscriber tokens.
    pub pubsub_channels: HashMap<Vec<u8>, Vec<usize>>,
    pub pubsub_patterns: HashMap<Vec<u8>, Vec<usize>>,
    pub pubsub_shard_channels: HashMap<Vec<u8>, Vec<usize>>,
    /// Client-side caching state.
    pub tracking: crate::tracking::TrackingTable,
    /// Lua scripting: script cache, function libraries, interpreters.
    pub scripting: crate::scripting::Scripting,
    /// Client id -> slot token, for messages addressed by id.
    pub client_tokens: HashMap<u64, usize>,
    /// What to propagate to the AOF and replicas after this command.
    pub prop: crate::propagate::Propagation,
    /// The forked child writing a snapshot, if any.
    pub child: Option<crate::persist::child::ChildInfo>,
    /// A fork-less BGSAVE in progress (then `child` has its pid 0).
    pub snapshot: Option<Box<crate::persist::snapshot::Snapshot>>,
    /// The append-only file (server.aof_*).
    pub aof: crate::persist::aof::Aof,
    /// Replication: ids, offset, backlog, replicas, the master link.
    pub repl: Box<crate::replication::ReplState>,
    /// Where random eviction resumes its round robin over the dbs.
    pub evict_next_db: usize,
    /// RDB persistence state (last save status, BGSAVE bookkeeping).
    pub rdb: crate::persist::rdb_server::RdbState,
    /// The fork child's progress and copy-on-write reports.
    pub child_info: crate::persist::childinfo::Stats,
    /// MIGRATE's cached connections to target instances.
    pub migrate: crate::migrate_conn::MigrateSockets,
    /// Cluster mode (`cluster-enabled yes`): this node's cluster; None in
    /// standalone mode. Set up by main before the event loop starts.
    pub cluster: Option<Box<crate::cluster::local::Cluster>>,
    /// The event loop's poll state (its registry, the events not handled
    /// yet), shared by the loop when it starts (`event_loop::init`).
    pub io: Option<std::rc::Rc<crate::poller::LoopIo>>,
    /// Serves clients during the startup load; installed by the event loop.
    pub process_events_while_loading: Option<fn(&mut Server)>,
    /// Serves clients while a script runs past busy-reply-threshold;
    /// installed by the event loop.
    pub process_events_while_busy: Option<fn(&mut Server)>,
    /// Calls up into the higher layers (given to `Server::new`).
    pub hooks: Hooks,
    /// The startup load is serving clients: commands without the
    /// `loading` flag get -LOADING.
    pub loading_events: bool,
    /// Client memory accounting for client eviction (`maxmemory-clients`).
    pub client_mem: crate::client_mem::ClientMem,
    /// Frees the client in a slot right away, logging the reason with its
    /// CLIENT LIST line (client eviction); installed by the event loop.
    pub free_client_now: Option<fn(&mut Server, usize, &str)>,
    /// A swapdb diskless load of the master's RDB serves the old dataset
    /// meanwhile (INFO async_loading): only `no-async-loading` commands
    /// get -LOADING.
    pub async_loading: bool,
}

impl Server {
    /// A server with `config`, the command table `commands` and the calls
    /// up into the higher layers (`commands::table()`, `commands::hooks()`).
    pub fn new(config: Config, commands: CommandTable, hooks: Hooks) -> Server {
        let now = clock::update();
        let lua_deprecated_api = config.lua_enable_deprecated_api;
        let mut rng = SmallRng::from_entropy();
        let run_id: String = (0..40)
            .map(|_| {
                let v: u8 = rng.gen_range(0..16);
                char::from_digit(v as u32, 16).unwrap_or('0')
            })
            .collect();
        let dbs = (0..config.databases).map(Db::new).collect();
        let hz = config.hz;
        let acl = Box::new(crate::acl::Acl::new(&commands));
        let mut srv = Server {
            config,
            acl,
            dbs,
            db_state: Default::default(),
            clients: Vec::new(),
            free_slots: Vec::new(),
            nclients: 0,
            next_client_id: 1,
            commands,
            stats: Stats::default(),
            start_ms: now,
            start_instant: Instant::now(),
            run_id,
            dirty: 0,
            lastsave: now / 1000,
            slowlog: VecDeque::new(),
            slowlog_next_id: 0,
            latency: HashMap::new(),
            monitors: Vec::new(),
            pause: None,
            client_pause: None,
            pause_purposes: 0,
            shutdown: ShutdownState::default(),
            cronloops: 0,
            rng,
            executable: std::env::current_exe()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
            tcp_port: 0,
            active_expire_enabled: true,
            skip_checksum_validation: false,
            pause_cron: false,
            reply_buffer_peak_reset_ms: REPLY_BUFFER_DEFAULT_PEAK_RESET_MS,
            reply_buffer_resizing: true,
            to_close: Vec::new(),
            pending_input: Vec::new(),
            hz,
            resize_db_cursor: 0,
            rehash_db_cursor: 0,
            expire_db_cursor: 0,
            evict_pool: Vec::new(),
            loading: false,
            nesting: 0,
            blocking_keys: HashMap::new(),
            ready_keys: Vec::new(),
            block_deadlines: std::collections::BTreeSet::new(),
            blocked_clients: 0,
            paused_clients: 0,
            eviction_scheduled: false,
            to_flush: Vec::new(),
            resume_input: std::collections::VecDeque::new(),
            listeners: Vec::new(),
            listeners_changed: true,
            tls: crate::tls::Tls::default(),
            watched_keys: HashMap::new(),
            cas_dirty: std::collections::HashSet::new(),
            pubsub_channels: HashMap::new(),
            pubsub_patterns: HashMap::new(),
            pubsub_shard_channels: HashMap::new(),
            tracking: Default::default(),
            scripting: crate::scripting::Scripting::new(lua_deprecated_api),
            client_tokens: HashMap::new(),
            prop: crate::propagate::Propagation::new(),
            child: None,
            snapshot: None,
            aof: crate::persist::aof::Aof::new(),
            repl: Box::new(crate::replication::ReplState::new()),
            evict_next_db: 0,
            rdb: Default::default(),
            child_info: Default::default(),
            migrate: Default::default(),
            cluster: None,
            io: None,
            process_events_while_loading: None,
            process_events_while_busy: None,
            hooks,
            loading_events: false,
            client_mem: Default::default(),
            free_client_now: None,
            async_loading: false,
        };
        srv.sync_notify_mask();
        srv.sync_db_config();
        crate::acl::sync_requirepass(&mut srv);
        crate::client_mem::apply_config(&mut srv, None);
        srv
    }

    /// Iterates over connected clients except the one executing a command.
    pub fn other_clients(&self) -> impl Iterator<Item = &Client> {
        self.clients.iter().filter_map(|c| c.as_deref())
    }

    pub fn other_clients_mut(&mut self) -> impl Iterator<Item = &mut Client> {
        self.clients.iter_mut().filter_map(|c| c.as_deref_mut())
    }

    /// Memory maxmemory does not count (Redis's
    /// freeMemoryGetNotCountedMemory): replica output buffers and the AOF
    /// buffer, which eviction could not shrink anyway.
    pub fn mem_not_counted_for_evict(&self) -> usize {
        let replicas: usize = self
            .repl
            .replicas
            .iter()
            .filter_map(|&t| self.clients.get(t).and_then(|c| c.as_deref()))
            .map(|c| c.out.buf.capacity())
            .sum();
        // The shared replication buffer beyond the backlog's own size
        // (what replicas waiting for their snapshot hold).
        let backlog_size = self.config.repl_backlog_size;
        let repl_extra = self
            .repl
            .backlog
            .as_ref()
            .map_or(0, |b| b.mem().saturating_sub(backlog_size));
        replicas + repl_extra + self.aof.buf.capacity()
    }

    /// Total keys with the given db filter.
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(|d| d.len()).sum()
    }

    pub fn expired_keys(&self) -> u64 {
        self.stats.expired_keys_active + self.dbs.iter().map(|d| d.stat_expired).sum::<u64>()
    }

    pub fn uptime_secs(&self) -> u64 {
        self.start_instant.elapsed().as_secs()
    }

    /// signalModifiedKey: WATCH invalidation and client-side caching
    /// invalidation for a key that changed. `cur` is the client whose
    /// command changed it, if any.
    pub fn signal_modified_key(
        &mut self,
        cur: Option<&mut crate::client::Client>,
        db: usize,
        key: &[u8],
    ) {
        crate::multi::touch_key(self, db, key);
        if self.tracking.clients > 0 {
            crate::tracking::invalidate_key(self, cur, key, true);
        }
    }

    /// Publishes the events `Db` logged itself (expired / new / keymiss)
    /// since the last call, in order; expired keys also count as modified
    /// for WATCH. `cur` is the client running a command, if any, so it
    /// receives its own push messages too.
    pub fn drain_key_events(&mut self, mut cur: Option<&mut Client>) {
        if self.prop.active() {
            // Expired keys reach the AOF / replicas before anything else.
            crate::propagate::queue_expired(self);
            if self.nesting == 0 {
                crate::propagate::flush(self);
            }
        }
        use crate::db::KeyEvent;
        use crate::notify;
        for dbi in 0..self.dbs.len() {
            if self.dbs[dbi].events.is_empty() {
                continue;
            }
            self.dbs[dbi].events_propagated = 0;
            let log = std::mem::take(&mut self.dbs[dbi].events);
            for (kind, key) in &log {
                let (class, name) = match kind {
                    KeyEvent::Expired => (notify::EXPIRED, "expired"),
                    KeyEvent::New => (notify::NEW, "new"),
                    KeyEvent::Miss => (notify::KEY_MISS, "keymiss"),
                };
                notify::notify(self, cur.as_deref_mut(), class, name, key, dbi);
                if *kind == KeyEvent::Expired {
                    self.signal_modified_key(cur.as_deref_mut(), dbi, key);
                }
            }
        }
    }

    /// Changes the state every `Db` acts on (`DbState`: lazy expiry mode,
    /// AOF loading, CLIENT PAUSE, config mirrors) and copies it into every
    /// db.
    pub fn update_db_state(&mut self, f: impl FnOnce(&mut crate::db::DbState)) {
        f(&mut self.db_state);
        let s = self.db_state;
        for db in &mut self.dbs {
            db.state = s;
        }
    }

    /// Copies the config's part of `DbState` (lazyfree-lazy-expire,
    /// lazyfree-lazy-server-del, maxmemory-policy's LRU/LFU, lfu-log-factor,
    /// lfu-decay-time) into every db: at startup and after CONFIG SET.
    pub fn sync_db_config(&mut self) {
        let c = &self.config;
        let (lazy_expire, lazy_server_del) = (c.lazyfree_lazy_expire, c.lazyfree_lazy_server_del);
        let stamps = crate::object::AccessStamps {
            lfu: c.maxmemory_policy.is_lfu(),
            log_factor: c.lfu_log_factor,
            decay_time: c.lfu_decay_time,
        };
        self.update_db_state(|s| {
            s.lazy_expire = lazy_expire;
            s.lazy_server_del = lazy_server_del;
            s.stamps = stamps;
        });
    }

    /// Copies the NEW / KEY_MISS bits of notify-keyspace-events into every
    /// `Db` (they log those events only when some subscriber could see them).
    pub fn sync_notify_mask(&mut self) {
        use crate::notify;
        let f = self.config.notify_flags;
        let mut mask = 0;
        if f & (notify::KEYSPACE | notify::KEYEVENT) != 0 {
            if f & notify::NEW != 0 {
                mask |= crate::db::LOG_NEW;
            }
            if f & notify::KEY_MISS != 0 {
                mask |= crate::db::LOG_KEY_MISS;
            }
        }
        for db in &mut self.dbs {
            db.event_mask = mask;
            if mask == 0 {
                db.events
                    .retain(|(k, _)| *k == crate::db::KeyEvent::Expired);
            }
        }
    }

    /// Records a latency event if it crosses latency-monitor-threshold.
    pub fn latency_add(&mut self, event: &'static str, ms: u64) {
        let thr = self.config.latency_monitor_threshold;
        if thr <= 0 || (ms as i64) < thr {
            return;
        }
        let now = clock::now_ms() / 1000;
        let s = self.latency.entry(event).or_default();
        if let Some(last) = s.samples.back_mut() {
            if last.0 == now {
                last.1 = last.1.max(ms);
                s.max = s.max.max(ms);
                return;
            }
        }
        s.samples.push_back((now, ms));
        if s.samples.len() > 160 {
            s.samples.pop_front();
        }
        s.max = s.max.max(ms);
    }

    /// Is the server paused for this kind of command right now?
    pub fn paused_for(&mut self, is_write: bool) -> bool {
        match self.pause {
            Some((until, _)) if clock::wall_ms() >= until => {
                // CLIENT PAUSE ended (updateClientPauseTypeAndEndTime).
                self.client_pause = None;
                self.update_pause();
                self.pause
                    .is_some_and(|(_, k)| k == PauseKind::All || is_write)
            }
            Some((_, kind)) => kind == PauseKind::All || is_write,
            None => false,
        }
    }

    /// Is any CLIENT PAUSE in effect (expiry and eviction wait then)?
    pub fn pause_active(&mut self) -> bool {
        self.pause.is_some() && self.paused_for(true)
    }

    /// Starts, changes or (None) ends a CLIENT PAUSE.
    pub fn set_pause(&mut self, pause: Option<(i64, PauseKind)>) {
        self.client_pause = pause;
        self.update_pause();
    }

    /// Starts a WRITE pause for `purpose` (PAUSE_DURING_*), lasting until
    /// `unpause_purpose` (pauseClients with LLONG_MAX).
    pub fn pause_purpose(&mut self, purpose: u8) {
        self.pause_purposes |= purpose;
        self.update_pause();
    }

    pub fn unpause_purpose(&mut self, purpose: u8) {
        self.pause_purposes &= !purpose;
        self.update_pause();
    }

    /// The pause in effect: the most restrictive kind, until the latest
    /// end among the pauses of that kind (updateClientPauseTypeAndEndTime).
    fn update_pause(&mut self) {
        let internal = (self.pause_purposes != 0).then_some((i64::MAX, PauseKind::Write));
        self.pause = match (self.client_pause, internal) {
            (Some((end, PauseKind::All)), _) => Some((end, PauseKind::All)),
            (Some((a, PauseKind::Write)), Some((b, _))) => Some((a.max(b), PauseKind::Write)),
            (c, i) => c.or(i),
        };
        let until = self.pause.map_or(0, |(until, _)| until.max(1));
        self.update_db_state(|s| s.pause_until = until);
    }

    /// Runs `hz` times a second: expiry, rehashing, resizing, stats. The
    /// event loop runs the persistence and replication crons after it.
    pub fn cron(&mut self) {
        let now = clock::update();
        self.cronloops += 1;
        crate::crash::watchdog_rearm();
        crate::tracking::limit_used_slots(self);
        // instantaneous metrics, sampled every 100ms like Redis
        if now - self.stats.last_sample_ms >= 100 {
            let dt = (now - self.stats.last_sample_ms).max(1) as f64;
            let ops = self.stats.commands_processed;
            let (nin, nout) = self.net_totals();
            let push = |q: &mut VecDeque<f64>, v: f64| {
                q.push_back(v);
                if q.len() > 16 {
                    q.pop_front();
                }
            };
            if self.stats.last_sample_ms > 0 {
                push(
                    &mut self.stats.ops_samples,
                    (ops - self.stats.last_sample_ops) as f64 * 1000.0 / dt,
                );
                push(
                    &mut self.stats.net_in_samples,
                    (nin - self.stats.last_sample_net_in) as f64 * 1000.0 / dt,
                );
                push(
                    &mut self.stats.net_out_samples,
                    (nout - self.stats.last_sample_net_out) as f64 * 1000.0 / dt,
                );
            }
            self.stats.last_sample_ms = now;
            self.stats.last_sample_ops = ops;
            self.stats.last_sample_net_in = nin;
            self.stats.last_sample_net_out = nout;
        }
        let used = crate::alloc::used_memory();
        if used > self.stats.peak_memory {
            self.stats.peak_memory = used;
        }
        // Replicas never expire keys themselves: the master's DELs do
        // (a writable replica's own keys: replication::replica_expire).
        if self.active_expire_enabled && !self.repl.is_replica() {
            expire::active_expire_cycle(self, expire::CycleKind::Slow);
            self.drain_key_events(None);
        }
        self.databases_cron();
        if let Some(cl) = self.cluster.as_mut() {
            cl.update_state(&self.config, now);
        }
        if !self.migrate.is_empty() {
            self.migrate.close_timed_out(now / 1000);
        }
        if self.config.dynamic_hz {
            // Redis doubles hz per 200 clients (MAX_CLIENTS_PER_CLOCK_TICK).
            let mut hz = self.config.hz;
            while (self.nclients as u32) / hz.max(1) > 200 && hz < 500 {
                hz *= 2;
            }
            self.hz = hz.min(500);
        } else {
            self.hz = self.config.hz;
        }
    }

    /// Total network bytes in and out, including live clients.
    pub fn net_totals(&self) -> (u64, u64) {
        let mut i = self.stats.net_input_closed;
        let mut o = self.stats.net_output_closed;
        for c in self.other_clients() {
            i += c.total_net_in;
            o += c.total_net_out;
        }
        (i, o)
    }

    /// Shrinks sparse tables and advances incremental rehashing, a bounded
    /// amount per tick (Redis's databasesCron).
    fn databases_cron(&mut self) {
        // Not while a fork child shares our pages (Redis's databasesCron).
        // A fork-less snapshot shares nothing: only a db it is writing
        // must not shrink (its keys keep their hash groups).
        if self.child.is_some() && self.snapshot.is_none() {
            return;
        }
        let n = self.dbs.len();
        let per_call = n.min(16);
        for _ in 0..per_call {
            let db = &mut self.dbs[self.resize_db_cursor % n];
            if db.snap.is_none() && db.dict.needs_shrink() {
                db.dict.shrink_to_fit();
            }
            // A prefaulted next table that came back after the last SET.
            db.dict.start_prepared_rehash();
            self.resize_db_cursor = (self.resize_db_cursor + 1) % n;
        }
        if self.config.activerehashing {
            for _ in 0..per_call {
                let db = &mut self.dbs[self.rehash_db_cursor % n];
                let mut worked = false;
                if db.dict.is_rehashing() {
                    db.dict.rehash_for(std::time::Duration::from_millis(1));
                    worked = true;
                }
                if worked {
                    break;
                }
                self.rehash_db_cursor = (self.rehash_db_cursor + 1) % n;
            }
        }
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
