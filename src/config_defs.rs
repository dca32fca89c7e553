//! The directive table: every config directive ferrokv accepts (name,
//! alias, kind with its validation bounds, built-in default, mutability),
//! the enum value lists, and the directives Redis flags HIDDEN or
//! MULTI_ARG. Included by `config.rs`, which owns parsing and CONFIG.

use super::{Def, Kind};

pub(super) const fn d(name: &'static str, kind: Kind, default: &'static str) -> Def {
    Def {
        name,
        alias: None,
        kind,
        default,
        immutable: false,
    }
}
pub(super) const fn imm(name: &'static str, kind: Kind, default: &'static str) -> Def {
    Def {
        name,
        alias: None,
        kind,
        default,
        immutable: true,
    }
}
pub(super) const fn al(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Def {
    Def {
        name,
        alias: Some(alias),
        kind,
        default,
        immutable: false,
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

pub const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
pub const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];
pub(super) const ENABLE_PROTECTED: &[&str] = &["no", "yes", "local"];
pub(super) const APPENDFSYNC: &[&str] = &["always", "everysec", "no"];
pub(super) const SUPERVISED: &[&str] = &["upstart", "systemd", "auto", "no"];
/// shutdown_on_sig_enum: SHUTDOWN_SAVE, _NOSAVE, _NOW, _FORCE.
pub(super) const SHUTDOWN_ON_SIG: &[(&str, u32)] = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];
pub(super) const OOM_SCORE_ADJ: &[&str] = &["no", "yes", "relative", "absolute"];
pub(super) const SANITIZE_DUMP: &[&str] = &["no", "yes", "clients"];
pub(super) const SYSLOG_FACILITY: &[&str] = &[
    "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];
pub(super) const PROPAGATION_ERROR: &[&str] = &["ignore", "panic", "panic-on-replicas"];

/// String directives Redis flags MULTI_ARG_CONFIG (several words on a
/// line); every other directive takes exactly one argument.
pub(super) const MULTI_ARG: &[&str] = &[
    "bind",
    "client-output-buffer-limit",
    "oom-score-adj-values",
    "latency-tracking-info-percentiles",
];

/// Directives Redis 7.0.15 flags HIDDEN_CONFIG: CONFIG GET shows them only
/// when asked by exact name, not through a pattern.
pub(super) const HIDDEN: &[&str] = &[
    "use-exit-on-panic",
    "lua-enable-deprecated-api",
    "rdb-key-save-delay",
    "key-load-delay",
    "watchdog-period",
    "loading-process-events-interval-bytes",
];

/// Every directive ferrokv accepts, in redis.conf order. Directives for
/// features not built yet are accepted and stored so CONFIG GET/SET and
/// existing config files work; redis.conf.example says which ones act.
pub static DEFS: &[Def] = &[
    // network
    // Redis 7.0's built-in default: all interfaces, with protected mode
    // refusing non-loopback clients until a password is set.
    d("bind", STR, "* -::*"),
    d("protected-mode", BOOL, "yes"),
    d("port", int(0, 65535), "6379"),
    imm("tcp-backlog", int(0, I32), "511"),
    imm("unixsocket", STR, ""),
    imm("unixsocketperm", int(0, 0o777), "0"),
    d("timeout", int(0, I32), "0"),
    d("tcp-keepalive", int(0, I32), "300"),
    // general
    imm("daemonize", BOOL, "no"),
    imm("supervised", Kind::Enum(SUPERVISED), "no"),
    imm("pidfile", STR, ""),
    d("loglevel", Kind::Enum(LOGLEVELS), "notice"),
    imm("logfile", STR, ""),
    imm("syslog-enabled", BOOL, "no"),
    imm("syslog-ident", STR, "redis"),
    imm("syslog-facility", Kind::Enum(SYSLOG_FACILITY), "local0"),
    imm("databases", int(1, I32), "16"),
    imm("always-show-logo", BOOL, "no"),
    imm("set-proc-title", BOOL, "yes"),
    d(
        "proc-title-template",
        STR,
        "{title} {listen-addr} {server-mode}",
    ),
    d("crash-log-enabled", BOOL, "yes"),
    d("crash-memcheck-enabled", BOOL, "yes"),
    d("use-exit-on-panic", BOOL, "no"),
    d("watchdog-period", int(0, I32), "0"),
    imm(
        "enable-protected-configs",
        Kind::Enum(ENABLE_PROTECTED),
        "no",
    ),
    imm("enable-debug-command", Kind::Enum(ENABLE_PROTECTED), "no"),
    imm("enable-module-command", Kind::Enum(ENABLE_PROTECTED), "no"),
    // snapshotting
    d("save", STR, "3600 1 300 100 60 10000"),
    d("stop-writes-on-bgsave-error", BOOL, "yes"),
    d("rdbcompression", BOOL, "yes"),
    imm("rdbchecksum", BOOL, "yes"),
    d("sanitize-dump-payload", Kind::Enum(SANITIZE_DUMP), "no"),
    d("dbfilename", STR, "dump.rdb"),
    d("rdb-del-sync-files", BOOL, "no"),
    d(
        "loading-process-events-interval-bytes",
        int(1024, I32),
        "2097152",
    ),
    d("dir", STR, "./"),
    d("rdb-key-save-delay", int(i32::MIN as i64, I32), "0"),
    d("key-load-delay", int(i32::MIN as i64, I32), "0"),
    // replication
    // Changed by REPLICAOF / SLAVEOF, not by CONFIG SET.
    Def {
        name: "replicaof",
        alias: Some("slaveof"),
        kind: STR,
        default: "",
        immutable: true,
    },
    d("masterauth", STR, ""),
    d("masteruser", STR, ""),
    al(
        "replica-serve-stale-data",
        "slave-serve-stale-data",
        BOOL,
        "yes",
    ),
    al("replica-read-only", "slave-read-only", BOOL, "yes"),
    d("repl-diskless-sync", BOOL, "yes"),
    d("repl-diskless-sync-delay", int(0, I32), "5"),
    d("repl-diskless-sync-max-replicas", int(0, I32), "0"),
    d(
        "repl-diskless-load",
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
    ),
    al(
        "repl-ping-replica-period",
        "repl-ping-slave-period",
        int(1, I32),
        "10",
    ),
    d("repl-timeout", int(1, I32), "60"),
    d("repl-disable-tcp-nodelay", BOOL, "no"),
    d("repl-backlog-size", mem(1, LL), "1048576"),
    d("repl-backlog-ttl", int(0, I32), "3600"),
    al("replica-priority", "slave-priority", int(0, I32), "100"),
    d("replica-announced", BOOL, "yes"),
    al(
        "min-replicas-to-write",
        "min-slaves-to-write",
        int(0, I32),
        "0",
    ),
    al(
        "min-replicas-max-lag",
        "min-slaves-max-lag",
        int(0, I32),
        "10",
    ),
    al("replica-announce-ip", "slave-announce-ip", STR, ""),
    d("bind-source-addr", STR, ""),
    al(
        "replica-announce-port",
        "slave-announce-port",
        int(0, 65535),
        "0",
    ),
    al("replica-lazy-flush", "slave-lazy-flush", BOOL, "no"),
    al(
        "replica-ignore-maxmemory",
        "slave-ignore-maxmemory",
        BOOL,
        "yes",
    ),
    d(
        "propagation-error-behavior",
        Kind::Enum(PROPAGATION_ERROR),
        "ignore",
    ),
    d("replica-ignore-disk-write-errors", BOOL, "no"),
    // tracking
    d("tracking-table-max-keys", int(0, LL), "1000000"),
    // security
    d("requirepass", STR, ""),
    d("acllog-max-len", int(0, LL), "128"),
    imm("aclfile", STR, ""),
    d(
        "acl-pubsub-default",
        Kind::Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
    ),
    // clients / memory
    d("maxclients", int(1, u32::MAX as i64), "10000"),
    d("maxmemory", mem(0, LL), "0"),
    d(
        "maxmemory-policy",
        Kind::Enum(MAXMEMORY_POLICIES),
        "noeviction",
    ),
    d("maxmemory-samples", int(1, I32), "5"),
    d("maxmemory-eviction-tenacity", int(0, 100), "10"),
    d(
        "maxmemory-clients",
        Kind::MemoryOrPercent {
            max: LL,
            max_percent: 100,
        },
        "0",
    ),
    d("lazyfree-lazy-eviction", BOOL, "no"),
    d("lazyfree-lazy-expire", BOOL, "no"),
    d("lazyfree-lazy-server-del", BOOL, "no"),
    d("lazyfree-lazy-user-del", BOOL, "no"),
    d("lazyfree-lazy-user-flush", BOOL, "no"),
    imm("io-threads", int(1, 128), "1"),
    imm("io-threads-do-reads", BOOL, "no"),
    d("oom-score-adj", Kind::Enum(OOM_SCORE_ADJ), "no"),
    d("oom-score-adj-values", STR, "0 200 800"),
    imm("disable-thp", BOOL, "yes"),
    imm("socket-mark-id", int(0, u32::MAX as i64), "0"),
    imm("server_cpulist", STR, ""),
    imm("bio_cpulist", STR, ""),
    imm("aof_rewrite_cpulist", STR, ""),
    imm("bgsave_cpulist", STR, ""),
    d("ignore-warnings", STR, ""),
    // append only
    d("appendonly", BOOL, "no"),
    imm("appendfilename", STR, "appendonly.aof"),
    imm("appenddirname", STR, "appendonlydir"),
    d("aof-disable-auto-gc", BOOL, "no"),
    d("appendfsync", Kind::Enum(APPENDFSYNC), "everysec"),
    d("no-appendfsync-on-rewrite", BOOL, "no"),
    d("auto-aof-rewrite-percentage", int(0, I32), "100"),
    d("auto-aof-rewrite-min-size", mem(0, LL), "67108864"),
    d("aof-load-truncated", BOOL, "yes"),
    d("aof-use-rdb-preamble", BOOL, "yes"),
    d("aof-timestamp-enabled", BOOL, "no"),
    d("aof-rewrite-incremental-fsync", BOOL, "yes"),
    d("rdb-save-incremental-fsync", BOOL, "yes"),
    // shutdown
    d("shutdown-timeout", int(0, I32), "10"),
    d(
        "shutdown-on-sigint",
        Kind::Flags(SHUTDOWN_ON_SIG),
        "default",
    ),
    d(
        "shutdown-on-sigterm",
        Kind::Flags(SHUTDOWN_ON_SIG),
        "default",
    ),
    // scripting
    al("busy-reply-threshold", "lua-time-limit", int(0, LL), "5000"),
    imm("lua-enable-deprecated-api", BOOL, "no"),
    // cluster
    imm("cluster-enabled", BOOL, "no"),
    imm("cluster-config-file", STR, "nodes.conf"),
    d("cluster-node-timeout", int(0, LL), "15000"),
    imm("cluster-port", int(0, 65535), "0"),
    d("cluster-announce-ip", STR, ""),
    d("cluster-announce-hostname", STR, ""),
    d("cluster-announce-port", int(0, 65535), "0"),
    d("cluster-announce-bus-port", int(0, 65535), "0"),
    d("cluster-announce-tls-port", int(0, 65535), "0"),
    al(
        "cluster-replica-validity-factor",
        "cluster-slave-validity-factor",
        int(0, I32),
        "10",
    ),
    d("cluster-migration-barrier", int(0, I32), "1"),
    d("cluster-allow-replica-migration", BOOL, "yes"),
    d("cluster-require-full-coverage", BOOL, "yes"),
    al(
        "cluster-replica-no-failover",
        "cluster-slave-no-failover",
        BOOL,
        "no",
    ),
    d("cluster-allow-reads-when-down", BOOL, "no"),
    d("cluster-allow-pubsubshard-when-down", BOOL, "yes"),
    d("cluster-link-sendbuf-limit", mem(0, LL), "0"),
    d(
        "cluster-preferred-endpoint-type",
        Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        "ip",
    ),
    // TLS: accepted and validated; turning it on is refused until it
    // exists (see `Config::unsupported_feature`).
    d("tls-port", int(0, 65535), "0"),
    d("tls-cert-file", STR, ""),
    d("tls-key-file", STR, ""),
    d("tls-key-file-pass", STR, ""),
    d("tls-client-cert-file", STR, ""),
    d("tls-client-key-file", STR, ""),
    d("tls-client-key-file-pass", STR, ""),
    d("tls-dh-params-file", STR, ""),
    d("tls-ca-cert-file", STR, ""),
    d("tls-ca-cert-dir", STR, ""),
    d(
        "tls-auth-clients",
        Kind::Enum(&["no", "yes", "optional"]),
        "yes",
    ),
    d("tls-replication", BOOL, "no"),
    d("tls-cluster", BOOL, "no"),
    d("tls-protocols", STR, ""),
    d("tls-ciphers", STR, ""),
    d("tls-ciphersuites", STR, ""),
    d("tls-prefer-server-ciphers", BOOL, "no"),
    d("tls-session-caching", BOOL, "yes"),
    d("tls-session-cache-size", int(0, I32), "20480"),
    d("tls-session-cache-timeout", int(0, I32), "300"),
    // slow log / latency
    d("slowlog-log-slower-than", int(-1, LL), "10000"),
    d("slowlog-max-len", int(0, LL), "128"),
    d("latency-monitor-threshold", int(0, LL), "0"),
    d("latency-tracking", BOOL, "yes"),
    d("latency-tracking-info-percentiles", STR, "50 99 99.9"),
    // events
    d("notify-keyspace-events", STR, ""),
    // advanced
    // 512 is Redis 7.0's built-in default (the shipped redis.conf says 128).
    al(
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        int(0, LL),
        "512",
    ),
    al(
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        int(0, LL),
        "64",
    ),
    al(
        "list-max-listpack-size",
        "list-max-ziplist-size",
        int(i32::MIN as i64, I32),
        "-2",
    ),
    d("list-compress-depth", int(0, I32), "0"),
    d("set-max-intset-entries", int(0, LL), "512"),
    al(
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        int(0, LL),
        "128",
    ),
    al(
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        int(0, LL),
        "64",
    ),
    d("hll-sparse-max-bytes", mem(0, LL), "3000"),
    d("stream-node-max-bytes", mem(0, LL), "4096"),
    d("stream-node-max-entries", int(0, LL), "100"),
    d("activerehashing", BOOL, "yes"),
    d(
        "client-output-buffer-limit",
        STR,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    d(
        "client-query-buffer-limit",
        mem(1024 * 1024, LL),
        "1073741824",
    ),
    d("proto-max-bulk-len", mem(1024 * 1024, LL), "536870912"),
    d("hz", int(0, I32), "10"),
    d("dynamic-hz", BOOL, "yes"),
    d("lfu-log-factor", int(0, I32), "10"),
    d("lfu-decay-time", int(0, I32), "1"),
    d("activedefrag", BOOL, "no"),
    d("active-defrag-ignore-bytes", mem(1, LL), "104857600"),
    d("active-defrag-threshold-lower", int(0, 1000), "10"),
    d("active-defrag-threshold-upper", int(0, 1000), "100"),
    d("active-defrag-cycle-min", int(1, 99), "1"),
    d("active-defrag-cycle-max", int(1, 99), "25"),
    d("active-defrag-max-scan-fields", int(1, LL), "1000"),
    d("active-expire-effort", int(1, 10), "1"),
    d("jemalloc-bg-thread", BOOL, "yes"),
];
