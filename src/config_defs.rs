//! The directive table: every config directive ferrokv accepts, each bound
//! to its typed field of `Config` in one entry (`field: Type = entry`):
//! name, alias, kind (how `config.rs` parses and validates it, with its
//! bounds), built-in default, mutability. The `Value` impl of the field's
//! type (`config_values.rs`) stores the validated value and prints it back,
//! so CONFIG GET/SET/REWRITE, config files and `--directive` arguments all
//! go through this table, while the rest of the server reads typed fields
//! (`srv.config.maxmemory_policy`). Each entry also carries Redis's flags
//! (HIDDEN, MULTI_ARG, SENSITIVE, PROTECTED, DENY_LOADING). Included by
//! `config.rs`, which owns parsing and CONFIG.

use super::values::*;
use super::{
    check_hostname, check_notify_events, check_obuf_limits, check_oom_values, check_percentiles,
    check_proc_title, check_save,
};
use super::{Access, ConfigError, Def, Kind};

/// An entry before the table binds it to its field.
const UNBOUND: Access = Access {
    show: |_, _| String::new(),
    store: |_, _, _| {},
};

pub(super) const fn d(name: &'static str, kind: Kind, default: &'static str) -> Def {
    Def {
        name,
        alias: None,
        kind,
        default,
        immutable: false,
        flags: 0,
        access: UNBOUND,
    }
}
pub(super) const fn imm(name: &'static str, kind: Kind, default: &'static str) -> Def {
    Def {
        immutable: true,
        ..d(name, kind, default)
    }
}
pub(super) const fn al(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Def {
    Def {
        alias: Some(alias),
        ..d(name, kind, default)
    }
}
pub(super) const fn imm_al(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Def {
    Def {
        immutable: true,
        ..al(name, alias, kind, default)
    }
}

pub(super) const BOOL: Kind = Kind::Bool;
pub(super) const STR: Kind = Kind::Str;
pub(super) const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}
pub(super) const fn mem(min: i64, max: i64) -> Kind {
    Kind::Memory { min, max }
}
pub(super) const I32: i64 = i32::MAX as i64;

pub(super) const LL: i64 = i64::MAX;

/// loglevel's names; `Config::loglevel` is the index (logging's levels).
pub const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
/// shutdown_on_sig_enum: SHUTDOWN_SAVE, _NOSAVE, _NOW, _FORCE.
pub const SHUTDOWN_ON_SIG: &[(&str, u32)] = &[
    ("default", 0),
    ("save", SHUTDOWN_SAVE),
    ("nosave", SHUTDOWN_NOSAVE),
    ("now", SHUTDOWN_NOW),
    ("force", SHUTDOWN_FORCE),
];
pub const SHUTDOWN_SAVE: u32 = 1;
pub const SHUTDOWN_NOSAVE: u32 = 2;
pub const SHUTDOWN_NOW: u32 = 4;
pub const SHUTDOWN_FORCE: u32 = 8;

/// Directive flags (Redis's config flags of the same names).
/// HIDDEN_CONFIG: CONFIG GET shows it only when asked by exact name, not
/// through a pattern.
pub(super) const HIDDEN: u8 = 1;
/// MULTI_ARG_CONFIG, for string directives: several words on a line;
/// every other string directive takes exactly one argument.
pub(super) const MULTI_ARG: u8 = 2;
/// SENSITIVE_CONFIG: CONFIG SET hides the value from the slow log and
/// MONITOR.
pub(super) const SENSITIVE: u8 = 4;
/// PROTECTED_CONFIG: CONFIG SET refuses it unless enable-protected-configs
/// allows it.
pub(super) const PROTECTED: u8 = 8;
/// DENY_LOADING_CONFIG: CONFIG SET refuses it while the dataset loads.
pub(super) const DENY_LOADING: u8 = 16;
/// EMPTY_STRING_IS_NULL: an empty value is "not set" (CONFIG REWRITE
/// writes no line for it).
pub(super) const EMPTY_IS_NULL: u8 = 32;
pub(super) const fn empty_null(d: Def) -> Def {
    Def {
        flags: d.flags | EMPTY_IS_NULL,
        ..d
    }
}
pub(super) const fn hidden(d: Def) -> Def {
    Def {
        flags: d.flags | HIDDEN,
        ..d
    }
}
pub(super) const fn multi_arg(d: Def) -> Def {
    Def {
        flags: d.flags | MULTI_ARG,
        ..d
    }
}
pub(super) const fn protected(d: Def) -> Def {
    Def {
        flags: d.flags | PROTECTED,
        ..d
    }
}
pub(super) const fn deny_loading(d: Def) -> Def {
    Def {
        flags: d.flags | DENY_LOADING,
        ..d
    }
}
pub(super) const fn sensitive(d: Def) -> Def {
    Def {
        flags: d.flags | SENSITIVE,
        ..d
    }
}

/// Declares `Config` with the fields listed under `other` plus one field
/// per directive, and `DEFS`, each entry bound to its field (its `access`
/// reads and writes that field through the field type's `Value` impl).
macro_rules! config_table {
    (
        other { $( $(#[$om:meta])* $ov:vis $of:ident : $ot:ty, )* }
        $( $(#[$m:meta])* $f:ident : $t:ty = $e:expr, )*
    ) => {
        /// The parsed configuration: one typed field per directive (see
        /// `DEFS`), plus what config files carry besides directives.
        #[derive(Clone)]
        pub struct Config {
            $( $(#[$om])* $ov $of: $ot, )*
            $( $(#[$m])* pub $f: $t, )*
        }

        impl Config {
            /// Every field zero or empty, before the defaults are stored.
            pub(super) fn blank() -> Config {
                Config {
                    $( $of: Default::default(), )*
                    $( $f: Default::default(), )*
                }
            }
        }

        /// Every directive ferrokv accepts, in redis.conf order. Directives
        /// for features not built yet are accepted and stored so CONFIG
        /// GET/SET and existing config files work; redis.conf.example says
        /// which ones act.
        pub static DEFS: &[Def] = &[ $(
            Def {
                access: Access {
                    show: |c, k| Value::show(&c.$f, k),
                    store: |c, k, v| Value::store(&mut c.$f, k, v),
                },
                ..$e
            },
        )* ];
    };
}

config_table! {
    other {
        /// Path of the config file given on the command line, if any.
        pub config_file: Option<String>,
        /// A `save` directive was loaded (file, stdin or command line):
        /// later ones append to it instead of replacing the defaults
        /// (Redis's static save_loaded).
        pub(super) save_loaded: bool,
        /// `user <name> <rules...>` directives, applied at startup by ACL.
        pub acl_users: Vec<Vec<String>>,
        /// `rename-command old new` lines, applied to the command table
        /// once it exists (main); each with its line for the error report.
        pub renames: Vec<(ConfigError, String, String)>,
        /// `loadmodule <path> [args]` lines (module paths): ferrokv has no
        /// modules, so main refuses to start when there is one (Redis's
        /// moduleLoadFromQueue when a module fails to load).
        pub loadmodules: Vec<String>,
    }
    // network
    // Redis 7.0's built-in default: all interfaces, with protected mode
    // refusing non-loopback clients until a password is set.
    bind: String = multi_arg(d("bind", STR, "* -::*")),
    protected_mode: bool = d("protected-mode", BOOL, "yes"),
    port: u16 = d("port", int(0, 65535), "6379"),
    tcp_backlog: i32 = imm("tcp-backlog", int(0, I32), "511"),
    unixsocket: String = empty_null(imm("unixsocket", STR, "")),
    /// A file mode, written in octal.
    unixsocketperm: u32 = imm("unixsocketperm", Kind::Octal { min: 0, max: 0o777 }, "0"),
    timeout_secs: i64 = d("timeout", int(0, I32), "0"),
    tcp_keepalive: i64 = d("tcp-keepalive", int(0, I32), "300"),
    // general
    daemonize: bool = imm("daemonize", BOOL, "no"),
    supervised: Supervised = imm("supervised", Kind::Enum(Supervised::NAMES), "no"),
    pidfile: String = empty_null(imm("pidfile", STR, "")),
    /// An index into LOGLEVELS.
    loglevel: u8 = d("loglevel", Kind::Enum(LOGLEVELS), "notice"),
    logfile: String = imm("logfile", STR, ""),
    syslog_enabled: bool = imm("syslog-enabled", BOOL, "no"),
    syslog_ident: String = imm("syslog-ident", STR, "redis"),
    syslog_facility: SyslogFacility =
        imm("syslog-facility", Kind::Enum(SyslogFacility::NAMES), "local0"),
    databases: usize = imm("databases", int(1, I32), "16"),
    always_show_logo: bool = imm("always-show-logo", BOOL, "no"),
    set_proc_title: bool = imm("set-proc-title", BOOL, "yes"),
    proc_title_template: String =
        d(
            "proc-title-template",
            Kind::Checked(check_proc_title),
            "{title} {listen-addr} {server-mode}",
        ),
    crash_log_enabled: bool = d("crash-log-enabled", BOOL, "yes"),
    crash_memcheck_enabled: bool = d("crash-memcheck-enabled", BOOL, "yes"),
    use_exit_on_panic: bool = hidden(d("use-exit-on-panic", BOOL, "no")),
    watchdog_period: i64 = hidden(d("watchdog-period", int(0, I32), "0")),
    enable_protected_configs: ProtectedAccess =
        imm("enable-protected-configs", Kind::Enum(ProtectedAccess::NAMES), "no"),
    enable_debug_command: ProtectedAccess =
        imm("enable-debug-command", Kind::Enum(ProtectedAccess::NAMES), "no"),
    enable_module_command: ProtectedAccess =
        imm("enable-module-command", Kind::Enum(ProtectedAccess::NAMES), "no"),
    // snapshotting
    /// (seconds, changes) pairs.
    save: Vec<(i64, u64)> = d("save", Kind::Checked(check_save), "3600 1 300 100 60 10000"),
    stop_writes_on_bgsave_error: bool = d("stop-writes-on-bgsave-error", BOOL, "yes"),
    rdbcompression: bool = d("rdbcompression", BOOL, "yes"),
    // ferrokv's own: BGSAVE without fork (persist::snapshot). Hidden, as
    // Redis's own extras are, so CONFIG GET * lists what Redis lists.
    bgsave_forkless: bool = hidden(d("bgsave-forkless", BOOL, "no")),
    rdbchecksum: bool = imm("rdbchecksum", BOOL, "yes"),
    sanitize_dump_payload: SanitizeDumpPayload =
        d("sanitize-dump-payload", Kind::Enum(SanitizeDumpPayload::NAMES), "no"),
    dbfilename: String = protected(d("dbfilename", STR, "dump.rdb")),
    rdb_del_sync_files: bool = d("rdb-del-sync-files", BOOL, "no"),
    loading_process_events_interval_bytes: i64 =
        hidden(d("loading-process-events-interval-bytes", int(1024, I32), "2097152")),
    dir: String = deny_loading(protected(d("dir", STR, "./"))),
    rdb_key_save_delay: i64 = hidden(d("rdb-key-save-delay", int(i32::MIN as i64, I32), "0")),
    key_load_delay: i64 = hidden(d("key-load-delay", int(i32::MIN as i64, I32), "0")),
    // replication
    // Changed by REPLICAOF / SLAVEOF, not by CONFIG SET.
    /// The master's host and port; None on a master.
    replicaof: Option<(String, u16)> = imm_al("replicaof", "slaveof", STR, ""),
    masterauth: String = empty_null(sensitive(d("masterauth", STR, ""))),
    masteruser: String = empty_null(sensitive(d("masteruser", STR, ""))),
    replica_serve_stale_data: bool =
        al("replica-serve-stale-data", "slave-serve-stale-data", BOOL, "yes"),
    replica_read_only: bool = al("replica-read-only", "slave-read-only", BOOL, "yes"),
    repl_diskless_sync: bool = d("repl-diskless-sync", BOOL, "yes"),
    repl_diskless_sync_delay: i64 = d("repl-diskless-sync-delay", int(0, I32), "5"),
    repl_diskless_sync_max_replicas: i64 = d("repl-diskless-sync-max-replicas", int(0, I32), "0"),
    repl_diskless_load: ReplDisklessLoad =
        deny_loading(d("repl-diskless-load", Kind::Enum(ReplDisklessLoad::NAMES), "disabled")),
    repl_ping_replica_period: u64 =
        al("repl-ping-replica-period", "repl-ping-slave-period", int(1, I32), "10"),
    repl_timeout: i64 = d("repl-timeout", int(1, I32), "60"),
    repl_disable_tcp_nodelay: bool = d("repl-disable-tcp-nodelay", BOOL, "no"),
    repl_backlog_size: usize = d("repl-backlog-size", mem(1, LL), "1048576"),
    repl_backlog_ttl: i64 = d("repl-backlog-ttl", int(0, I32), "3600"),
    replica_priority: i64 = al("replica-priority", "slave-priority", int(0, I32), "100"),
    replica_announced: bool = d("replica-announced", BOOL, "yes"),
    min_replicas_to_write: i64 =
        al("min-replicas-to-write", "min-slaves-to-write", int(0, I32), "0"),
    min_replicas_max_lag: i64 = al("min-replicas-max-lag", "min-slaves-max-lag", int(0, I32), "10"),
    replica_announce_ip: String = empty_null(al("replica-announce-ip", "slave-announce-ip", STR, "")),
    bind_source_addr: String = empty_null(d("bind-source-addr", STR, "")),
    replica_announce_port: u16 =
        al("replica-announce-port", "slave-announce-port", int(0, 65535), "0"),
    replica_lazy_flush: bool = al("replica-lazy-flush", "slave-lazy-flush", BOOL, "no"),
    replica_ignore_maxmemory: bool =
        al("replica-ignore-maxmemory", "slave-ignore-maxmemory", BOOL, "yes"),
    propagation_error_behavior: PropagationErrorBehavior =
        d("propagation-error-behavior", Kind::Enum(PropagationErrorBehavior::NAMES), "ignore"),
    replica_ignore_disk_write_errors: bool = d("replica-ignore-disk-write-errors", BOOL, "no"),
    // tracking
    tracking_table_max_keys: usize = d("tracking-table-max-keys", int(0, LL), "1000000"),
    // security
    /// None when empty.
    requirepass: Option<Vec<u8>> = empty_null(sensitive(d("requirepass", STR, ""))),
    acllog_max_len: usize = d("acllog-max-len", int(0, LL), "128"),
    aclfile: String = imm("aclfile", STR, ""),
    acl_pubsub_default: AclPubsubDefault =
        d("acl-pubsub-default", Kind::Enum(AclPubsubDefault::NAMES), "resetchannels"),
    // clients / memory
    maxclients: usize = d("maxclients", int(1, u32::MAX as i64), "10000"),
    maxmemory: u64 = d("maxmemory", mem(0, LL), "0"),
    maxmemory_policy: MaxmemoryPolicy =
        d("maxmemory-policy", Kind::Enum(MaxmemoryPolicy::NAMES), "noeviction"),
    maxmemory_samples: usize = d("maxmemory-samples", int(1, I32), "5"),
    maxmemory_eviction_tenacity: u32 = d("maxmemory-eviction-tenacity", int(0, 100), "10"),
    /// Bytes, or minus a percentage of maxmemory (Redis's PERCENT_CONFIG
    /// encoding); 0 = off.
    maxmemory_clients: i64 =
        d("maxmemory-clients", Kind::MemoryOrPercent { max: LL, max_percent: 100 }, "0"),
    lazyfree_lazy_eviction: bool = d("lazyfree-lazy-eviction", BOOL, "no"),
    lazyfree_lazy_expire: bool = d("lazyfree-lazy-expire", BOOL, "no"),
    lazyfree_lazy_server_del: bool = d("lazyfree-lazy-server-del", BOOL, "no"),
    lazyfree_lazy_user_del: bool = d("lazyfree-lazy-user-del", BOOL, "no"),
    lazyfree_lazy_user_flush: bool = d("lazyfree-lazy-user-flush", BOOL, "no"),
    io_threads: i64 = imm("io-threads", int(1, 128), "1"),
    io_threads_do_reads: bool = imm("io-threads-do-reads", BOOL, "no"),
    oom_score_adj: OomScoreAdj = d("oom-score-adj", Kind::Enum(OomScoreAdj::NAMES), "no"),
    oom_score_adj_values: [i32; 3] = multi_arg(d(
        "oom-score-adj-values",
        Kind::Checked(check_oom_values),
        "0 200 800",
    )),
    disable_thp: bool = imm("disable-thp", BOOL, "yes"),
    socket_mark_id: i64 = imm("socket-mark-id", int(0, u32::MAX as i64), "0"),
    server_cpulist: String = empty_null(imm("server_cpulist", STR, "")),
    bio_cpulist: String = empty_null(imm("bio_cpulist", STR, "")),
    aof_rewrite_cpulist: String = empty_null(imm("aof_rewrite_cpulist", STR, "")),
    bgsave_cpulist: String = empty_null(imm("bgsave_cpulist", STR, "")),
    ignore_warnings: String = d("ignore-warnings", STR, ""),
    // append only
    appendonly: bool = deny_loading(d("appendonly", BOOL, "no")),
    appendfilename: String = imm("appendfilename", STR, "appendonly.aof"),
    appenddirname: String = imm("appenddirname", STR, "appendonlydir"),
    aof_disable_auto_gc: bool = d("aof-disable-auto-gc", BOOL, "no"),
    appendfsync: AppendFsync = d("appendfsync", Kind::Enum(AppendFsync::NAMES), "everysec"),
    no_appendfsync_on_rewrite: bool = d("no-appendfsync-on-rewrite", BOOL, "no"),
    auto_aof_rewrite_percentage: i64 = d("auto-aof-rewrite-percentage", int(0, I32), "100"),
    auto_aof_rewrite_min_size: u64 = d("auto-aof-rewrite-min-size", mem(0, LL), "67108864"),
    aof_load_truncated: bool = d("aof-load-truncated", BOOL, "yes"),
    aof_use_rdb_preamble: bool = d("aof-use-rdb-preamble", BOOL, "yes"),
    aof_timestamp_enabled: bool = d("aof-timestamp-enabled", BOOL, "no"),
    aof_rewrite_incremental_fsync: bool = d("aof-rewrite-incremental-fsync", BOOL, "yes"),
    rdb_save_incremental_fsync: bool = d("rdb-save-incremental-fsync", BOOL, "yes"),
    // shutdown
    shutdown_timeout: i64 = d("shutdown-timeout", int(0, I32), "10"),
    /// SHUTDOWN_* bits.
    shutdown_on_sigint: u32 = d("shutdown-on-sigint", Kind::Flags(SHUTDOWN_ON_SIG), "default"),
    shutdown_on_sigterm: u32 = d("shutdown-on-sigterm", Kind::Flags(SHUTDOWN_ON_SIG), "default"),
    // scripting
    busy_reply_threshold: i64 = al("busy-reply-threshold", "lua-time-limit", int(0, LL), "5000"),
    lua_enable_deprecated_api: bool = hidden(imm("lua-enable-deprecated-api", BOOL, "no")),
    // cluster
    cluster_enabled: bool = imm("cluster-enabled", BOOL, "no"),
    cluster_config_file: String = imm("cluster-config-file", STR, "nodes.conf"),
    cluster_node_timeout: i64 = d("cluster-node-timeout", int(0, LL), "15000"),
    cluster_port: i64 = imm("cluster-port", int(0, 65535), "0"),
    cluster_announce_ip: String = empty_null(d("cluster-announce-ip", STR, "")),
    cluster_announce_hostname: String =
        empty_null(d("cluster-announce-hostname", Kind::Checked(check_hostname), "")),
    cluster_announce_port: i64 = d("cluster-announce-port", int(0, 65535), "0"),
    cluster_announce_bus_port: i64 = d("cluster-announce-bus-port", int(0, 65535), "0"),
    cluster_announce_tls_port: i64 = d("cluster-announce-tls-port", int(0, 65535), "0"),
    cluster_replica_validity_factor: i64 =
        al("cluster-replica-validity-factor", "cluster-slave-validity-factor", int(0, I32), "10"),
    cluster_migration_barrier: i64 = d("cluster-migration-barrier", int(0, I32), "1"),
    cluster_allow_replica_migration: bool = d("cluster-allow-replica-migration", BOOL, "yes"),
    cluster_require_full_coverage: bool = d("cluster-require-full-coverage", BOOL, "yes"),
    cluster_replica_no_failover: bool =
        al("cluster-replica-no-failover", "cluster-slave-no-failover", BOOL, "no"),
    cluster_allow_reads_when_down: bool = d("cluster-allow-reads-when-down", BOOL, "no"),
    cluster_allow_pubsubshard_when_down: bool =
        d("cluster-allow-pubsubshard-when-down", BOOL, "yes"),
    cluster_link_sendbuf_limit: u64 = d("cluster-link-sendbuf-limit", mem(0, LL), "0"),
    cluster_preferred_endpoint_type: ClusterEndpointType =
        d("cluster-preferred-endpoint-type", Kind::Enum(ClusterEndpointType::NAMES), "ip"),
    // TLS (src/tls/): the context is built from these at startup and
    // rebuilt by CONFIG SET (`tls::config_set`).
    tls_port: i64 = d("tls-port", int(0, 65535), "0"),
    tls_cert_file: String = empty_null(d("tls-cert-file", STR, "")),
    tls_key_file: String = empty_null(d("tls-key-file", STR, "")),
    tls_key_file_pass: String = empty_null(d("tls-key-file-pass", STR, "")),
    tls_client_cert_file: String = empty_null(d("tls-client-cert-file", STR, "")),
    tls_client_key_file: String = empty_null(d("tls-client-key-file", STR, "")),
    tls_client_key_file_pass: String = empty_null(d("tls-client-key-file-pass", STR, "")),
    tls_dh_params_file: String = empty_null(d("tls-dh-params-file", STR, "")),
    tls_ca_cert_file: String = empty_null(d("tls-ca-cert-file", STR, "")),
    tls_ca_cert_dir: String = empty_null(d("tls-ca-cert-dir", STR, "")),
    tls_auth_clients: TlsAuthClients =
        d("tls-auth-clients", Kind::Enum(TlsAuthClients::NAMES), "yes"),
    tls_replication: bool = d("tls-replication", BOOL, "no"),
    tls_cluster: bool = d("tls-cluster", BOOL, "no"),
    tls_protocols: String = empty_null(d("tls-protocols", STR, "")),
    tls_ciphers: String = empty_null(d("tls-ciphers", STR, "")),
    tls_ciphersuites: String = empty_null(d("tls-ciphersuites", STR, "")),
    tls_prefer_server_ciphers: bool = d("tls-prefer-server-ciphers", BOOL, "no"),
    tls_session_caching: bool = d("tls-session-caching", BOOL, "yes"),
    tls_session_cache_size: i64 = d("tls-session-cache-size", int(0, I32), "20480"),
    tls_session_cache_timeout: i64 = d("tls-session-cache-timeout", int(0, I32), "300"),
    // slow log / latency
    slowlog_log_slower_than: i64 = d("slowlog-log-slower-than", int(-1, LL), "10000"),
    slowlog_max_len: usize = d("slowlog-max-len", int(0, LL), "128"),
    latency_monitor_threshold: i64 = d("latency-monitor-threshold", int(0, LL), "0"),
    latency_tracking: bool = d("latency-tracking", BOOL, "yes"),
    /// latency-tracking-info-percentiles.
    latency_percentiles: Vec<f64> = multi_arg(d(
        "latency-tracking-info-percentiles",
        Kind::Checked(check_percentiles),
        "50 99 99.9",
    )),
    // events
    /// notify-keyspace-events as flag bits (crate::notify).
    notify_flags: u32 = d("notify-keyspace-events", Kind::Checked(check_notify_events), ""),
    // advanced
    // 512 is Redis 7.0's built-in default (the shipped redis.conf says 128).
    hash_max_listpack_entries: usize =
        al("hash-max-listpack-entries", "hash-max-ziplist-entries", int(0, LL), "512"),
    hash_max_listpack_value: usize =
        al("hash-max-listpack-value", "hash-max-ziplist-value", int(0, LL), "64"),
    list_max_listpack_size: i32 =
        al("list-max-listpack-size", "list-max-ziplist-size", int(i32::MIN as i64, I32), "-2"),
    list_compress_depth: i32 = d("list-compress-depth", int(0, I32), "0"),
    set_max_intset_entries: usize = d("set-max-intset-entries", int(0, LL), "512"),
    zset_max_listpack_entries: usize =
        al("zset-max-listpack-entries", "zset-max-ziplist-entries", int(0, LL), "128"),
    zset_max_listpack_value: usize =
        al("zset-max-listpack-value", "zset-max-ziplist-value", int(0, LL), "64"),
    hll_sparse_max_bytes: usize = d("hll-sparse-max-bytes", mem(0, LL), "3000"),
    stream_node_max_bytes: usize = d("stream-node-max-bytes", mem(0, LL), "4096"),
    stream_node_max_entries: u64 = d("stream-node-max-entries", int(0, LL), "100"),
    activerehashing: bool = d("activerehashing", BOOL, "yes"),
    /// client-output-buffer-limit: hard, soft, seconds per class.
    obuf: ObufLimits =
        multi_arg(d(
            "client-output-buffer-limit",
            Kind::Checked(check_obuf_limits),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        )),
    client_query_buffer_limit: usize =
        d("client-query-buffer-limit", mem(1024 * 1024, LL), "1073741824"),
    proto_max_bulk_len: i64 = d("proto-max-bulk-len", mem(1024 * 1024, LL), "536870912"),
    /// Clamped to 1..=500 when set (updateHZ).
    hz: u32 = d("hz", int(0, I32), "10"),
    dynamic_hz: bool = d("dynamic-hz", BOOL, "yes"),
    lfu_log_factor: u32 = d("lfu-log-factor", int(0, I32), "10"),
    lfu_decay_time: u32 = d("lfu-decay-time", int(0, I32), "1"),
    activedefrag: bool = d("activedefrag", BOOL, "no"),
    active_defrag_ignore_bytes: u64 = d("active-defrag-ignore-bytes", mem(1, LL), "104857600"),
    active_defrag_threshold_lower: i64 = d("active-defrag-threshold-lower", int(0, 1000), "10"),
    active_defrag_threshold_upper: i64 = d("active-defrag-threshold-upper", int(0, 1000), "100"),
    active_defrag_cycle_min: i64 = d("active-defrag-cycle-min", int(1, 99), "1"),
    active_defrag_cycle_max: i64 = d("active-defrag-cycle-max", int(1, 99), "25"),
    active_defrag_max_scan_fields: i64 = d("active-defrag-max-scan-fields", int(1, LL), "1000"),
    active_expire_effort: u32 = d("active-expire-effort", int(1, 10), "1"),
    jemalloc_bg_thread: bool = d("jemalloc-bg-thread", BOOL, "yes"),
}
