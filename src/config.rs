//! Configuration: parsing of redis.conf syntax and `--directive value`
//! arguments, validation, and the typed values the rest of the server reads
//! (CONFIG GET/SET go through here). The directive table itself (names,
//! kinds, defaults) is in `config_defs.rs`.

use crate::protocol::parse::split_args;
use crate::util::glob::string_match;

#[path = "config_defs.rs"]
mod defs;
use defs::*;
pub use defs::{DEFS, LOGLEVELS, MAXMEMORY_POLICIES};

/// How a directive's value is parsed and printed.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// Bytes, accepting 1k/1kb/1m/1mb/1g/1gb suffixes; printed in bytes.
    Memory {
        min: i64,
        max: i64,
    },
    /// Memory, or a percentage written `N%` up to `max_percent`
    /// (PERCENT_CONFIG: maxmemory-clients).
    MemoryOrPercent {
        max: i64,
        max_percent: i64,
    },
    Enum(&'static [&'static str]),
    /// Redis's MULTI_ARG enum configs: any combination of the named bit
    /// flags, written space-separated.
    Flags(&'static [(&'static str, u32)]),
    Str,
}

/// One directive.
pub struct Def {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    /// Only settable at startup (CONFIG SET refuses it): exactly the
    /// directives Redis 7.0.15 flags IMMUTABLE_CONFIG (pidfile, logfile,
    /// daemonize, rdbchecksum...), so CONFIG SET + CONFIG REWRITE cannot
    /// point the server at arbitrary files.
    pub immutable: bool,
}

/// The files a wildcard path names, sorted as glob(3) sorts them; each
/// component may hold `*`, `?` or `[...]` (matched as Redis's stringmatch).
fn glob_paths(pattern: &str) -> Vec<std::path::PathBuf> {
    let absolute = pattern.starts_with('/');
    let mut found = vec![if absolute {
        std::path::PathBuf::from("/")
    } else {
        std::path::PathBuf::from(".")
    }];
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    for (n, part) in parts.iter().enumerate() {
        let last = n + 1 == parts.len();
        let mut next = Vec::new();
        for base in &found {
            if !part.contains(['*', '?', '[']) {
                let p = base.join(part);
                if p.exists() {
                    next.push(p);
                }
                continue;
            }
            let Ok(dir) = std::fs::read_dir(base) else {
                continue;
            };
            let mut names: Vec<String> = dir
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| !name.starts_with('.') || part.starts_with('.'))
                .filter(|name| {
                    crate::util::glob::string_match(part.as_bytes(), name.as_bytes(), false)
                })
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|name| base.join(name)));
        }
        found = next.into_iter().filter(|p| last || p.is_dir()).collect();
    }
    if !absolute {
        found = found
            .into_iter()
            .map(|p| p.strip_prefix(".").map(|q| q.to_path_buf()).unwrap_or(p))
            .collect();
    }
    found.into_iter().filter(|p| p.is_file()).collect()
}

/// appendfsync policies (`Config::appendfsync`).
pub const FSYNC_NO: u8 = 0;
pub const FSYNC_ALWAYS: u8 = 1;
pub const FSYNC_EVERYSEC: u8 = 2;

/// Errors from loading a config file or argument list.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub line: usize,
    pub text: String,
    pub reason: String,
}

/// The parsed configuration. Values are stored as canonical strings in
/// `DEFS` order; the fields the hot path reads are cached as typed values.
#[derive(Clone)]
pub struct Config {
    values: Vec<String>,
    /// Path of the config file given on the command line, if any.
    pub config_file: Option<String>,
    /// A `save` directive was loaded (file, stdin or command line): later
    /// ones append to it instead of replacing the defaults (Redis's
    /// static save_loaded).
    save_loaded: bool,

    // ---- cached typed values (refreshed by `refresh`) ----
    pub port: u16,
    pub databases: usize,
    pub timeout_secs: i64,
    pub maxclients: usize,
    pub hz: u32,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: usize,
    pub requirepass: Option<Vec<u8>>,
    /// `user <name> <rules...>` directives, applied at startup by ACL.
    pub acl_users: Vec<Vec<String>>,
    /// `rename-command old new` lines, applied to the command table once
    /// it exists (main); each with its line for the error report.
    pub renames: Vec<(ConfigError, String, String)>,
    /// `loadmodule <path> [args]` lines (module paths): ferrokv has no
    /// modules, so main refuses to start when there is one (Redis's
    /// moduleLoadFromQueue when a module fails to load).
    pub loadmodules: Vec<String>,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: usize,
    pub latency_monitor_threshold: i64,
    /// latency-tracking: per-command latency histograms.
    pub latency_tracking: bool,
    /// latency-tracking-info-percentiles, parsed.
    pub latency_percentiles: Vec<f64>,
    pub maxmemory: u64,
    /// maxmemory-clients: bytes, or minus a percentage of maxmemory
    /// (Redis's PERCENT_CONFIG encoding); 0 = off.
    pub maxmemory_clients: i64,
    pub active_expire_effort: u32,
    pub activerehashing: bool,
    pub hll_sparse_max_bytes: usize,
    /// client-output-buffer-limit for the normal class: hard, soft, seconds.
    pub obuf_normal: (u64, u64, u64),
    pub obuf_pubsub: (u64, u64, u64),
    pub obuf_replica: (u64, u64, u64),
    pub loglevel: u8,
    pub dynamic_hz: bool,
    pub lazyfree_lazy_expire: bool,
    /// min-replicas-to-write / min-replicas-max-lag (checked on every write).
    pub min_replicas_to_write: i64,
    pub min_replicas_max_lag: i64,
    pub lazyfree_lazy_server_del: bool,
    // Collection encoding thresholds (Redis 7.0 names; *-ziplist-* aliases).
    pub list_max_listpack_size: i32,
    pub list_compress_depth: i32,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    /// notify-keyspace-events as flag bits (crate::notify).
    pub notify_flags: u32,
    // Append-only file.
    pub appendonly: bool,
    /// FSYNC_* above.
    pub appendfsync: u8,
    pub no_appendfsync_on_rewrite: bool,
    pub auto_aof_rewrite_percentage: i64,
    pub auto_aof_rewrite_min_size: u64,
    pub aof_load_truncated: bool,
    pub aof_use_rdb_preamble: bool,
    pub aof_timestamp_enabled: bool,
    pub aof_rewrite_incremental_fsync: bool,
}

fn def_index(name: &str) -> Option<usize> {
    DEFS.iter().position(|d| {
        d.name.eq_ignore_ascii_case(name) || d.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}

/// Parses "1gb", "100k", "42" as Redis's memtoull does.
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let (digits, mul): (&str, i64) = if let Some(p) = lower.strip_suffix("gb") {
        (p, 1024 * 1024 * 1024)
    } else if let Some(p) = lower.strip_suffix("mb") {
        (p, 1024 * 1024)
    } else if let Some(p) = lower.strip_suffix("kb") {
        (p, 1024)
    } else if let Some(p) = lower.strip_suffix('g') {
        (p, 1000 * 1000 * 1000)
    } else if let Some(p) = lower.strip_suffix('m') {
        (p, 1000 * 1000)
    } else if let Some(p) = lower.strip_suffix('k') {
        (p, 1000)
    } else if let Some(p) = lower.strip_suffix('b') {
        (p, 1)
    } else {
        (lower.as_str(), 1)
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit() || c == '-' as u8) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    n.checked_mul(mul)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// Validates and canonicalises a value for a directive; Err is the reason
/// text Redis puts after "CONFIG SET failed ... - ".
fn canonical(def: &Def, raw: &str) -> Result<String, String> {
    match def.kind {
        Kind::Bool => parse_bool(raw)
            .map(|b| if b { "yes" } else { "no" }.to_string())
            .ok_or_else(|| "argument must be 'yes' or 'no'".to_string()),
        Kind::Int { min, max } if def.name == "unixsocketperm" => {
            // An octal mode, as Redis parses it (OCTAL_CONFIG).
            let n = i64::from_str_radix(raw, 8)
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {:o} and {:o} inclusive",
                    min, max
                ));
            }
            Ok(format!("{:o}", n))
        }
        Kind::Int { min, max } => {
            let n: i64 = raw
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {} and {} inclusive",
                    min, max
                ));
            }
            Ok(n.to_string())
        }
        Kind::Memory { min, max } => {
            let n = parse_memory(raw)
                .filter(|n| *n >= 0)
                .ok_or_else(|| "argument must be a memory value".to_string())?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {} and {} inclusive",
                    min, max
                ));
            }
            Ok(n.to_string())
        }
        Kind::Enum(names) => {
            let l = raw.to_ascii_lowercase();
            if names.contains(&l.as_str()) {
                Ok(l)
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    names.join(", ")
                ))
            }
        }
        Kind::MemoryOrPercent { max, max_percent } => {
            // numericParseString: memory first, then `N%` (kept as is).
            if let Some(n) = parse_memory(raw).filter(|n| *n >= 0) {
                if n > max {
                    return Err(format!("argument must be between 0 and {} inclusive", max));
                }
                return Ok(n.to_string());
            }
            let pct = raw
                .strip_suffix('%')
                .filter(|p| !p.is_empty())
                .and_then(|p| crate::util::num::parse_i64(p.as_bytes()))
                .filter(|p| *p >= 0)
                .ok_or_else(|| "argument must be a memory or percent value".to_string())?;
            if pct > max_percent {
                return Err(format!(
                    "percentage argument must be less or equal to {}",
                    max_percent
                ));
            }
            Ok(format!("{}%", pct))
        }
        Kind::Flags(names) => flags_canonical(names, raw),
        Kind::Str => special_canonical(def.name, raw),
    }
}

/// A MULTI_ARG enum value (configEnumGetValue with bit flags, then
/// configEnumGetName): the words, split at each space, must all be names;
/// the canonical form is the exact name of the combined value if there is
/// one, else the names of its bits in table order.
fn flags_canonical(names: &[(&str, u32)], raw: &str) -> Result<String, String> {
    let mut value = 0;
    let words: Vec<&str> = if raw.is_empty() {
        Vec::new()
    } else {
        raw.split(' ').collect()
    };
    for w in &words {
        match names.iter().find(|(n, _)| n.eq_ignore_ascii_case(w)) {
            Some((_, v)) => value |= v,
            None => return Err(enum_error(names.iter().map(|(n, _)| *n))),
        }
    }
    if words.is_empty() {
        return Err(enum_error(names.iter().map(|(n, _)| *n)));
    }
    // isValidShutdownOnSigFlags
    if value & 1 != 0 && value & 2 != 0 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".to_string());
    }
    if let Some((n, _)) = names.iter().find(|(_, v)| *v == value) {
        return Ok(n.to_string());
    }
    let mut out: Vec<&str> = Vec::new();
    let mut unmatched = value;
    for (n, v) in names {
        if *v != 0 && unmatched & v == *v {
            out.push(n);
            unmatched &= !v;
        }
    }
    Ok(if unmatched != 0 {
        "unknown".to_string()
    } else {
        out.join(" ")
    })
}

fn enum_error<'a>(names: impl Iterator<Item = &'a str>) -> String {
    format!(
        "argument(s) must be one of the following: {}",
        names.collect::<Vec<_>>().join(", ")
    )
}

/// Validation for the structured string directives.
fn special_canonical(name: &str, raw: &str) -> Result<String, String> {
    match name {
        "save" => {
            let parts: Vec<&str> = raw.split_whitespace().collect();
            if parts.len() % 2 != 0 || parts.iter().any(|p| p.parse::<u64>().is_err()) {
                return Err("Invalid save parameters".to_string());
            }
            Ok(parts.join(" "))
        }
        "cluster-announce-hostname" => {
            // isValidAnnouncedHostname.
            if raw.len() >= 256 {
                return Err("Hostnames must be less than 256 characters".to_string());
            }
            if !raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(
                    "Hostnames may only contain alphanumeric characters, hyphens or dots"
                        .to_string(),
                );
            }
            Ok(raw.to_string())
        }
        "proc-title-template" => {
            // isValidProcTitleTemplate: known variables, a non-empty title.
            let ok = crate::proctitle::expand(raw, |n| {
                let known = crate::proctitle::TitleVars {
                    title: "",
                    bind0: None,
                    port: 1,
                    tls_port: 0,
                    unixsocket: "x",
                    config_file: None,
                    server_mode: "",
                };
                known.lookup(n)
            });
            match ok {
                Some(t) if !t.is_empty() => Ok(raw.to_string()),
                _ => Err("template format is invalid or contains unknown variables".to_string()),
            }
        }
        "oom-score-adj-values" => {
            let parts: Vec<&str> = raw.split_whitespace().collect();
            if parts.len() != 3 {
                return Err("wrong number of arguments".to_string());
            }
            if parts
                .iter()
                .any(|p| !p.parse::<i64>().is_ok_and(|v| (-2000..=2000).contains(&v)))
            {
                return Err(
                    "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                        .to_string(),
                );
            }
            Ok(parts.join(" "))
        }
        "client-output-buffer-limit" => {
            let parts: Vec<&str> = raw.split_whitespace().collect();
            if parts.is_empty() || parts.len() % 4 != 0 {
                return Err("Wrong number of arguments in buffer limit configuration.".to_string());
            }
            for chunk in parts.chunks(4) {
                if !matches!(
                    chunk[0].to_ascii_lowercase().as_str(),
                    "normal" | "slave" | "replica" | "pubsub"
                ) {
                    return Err(
                        "Invalid client class specified in buffer limit configuration.".to_string(),
                    );
                }
                if parse_memory(chunk[1]).is_none()
                    || parse_memory(chunk[2]).is_none()
                    || chunk[3].parse::<u64>().is_err()
                {
                    return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string());
                }
            }
            Ok(raw.to_string())
        }
        "latency-tracking-info-percentiles" => {
            let mut out = Vec::new();
            // A multi-argument directive: one value split on single spaces
            // (sdssplitlen), "" meaning no percentiles.
            if !raw.is_empty() {
                for part in raw.split(' ') {
                    let v = crate::util::num::parse_f64(part.as_bytes()).ok_or_else(|| {
                        "Invalid latency-tracking-info-percentiles parameters".to_string()
                    })?;
                    if !(0.0..=100.0).contains(&v) {
                        return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".to_string());
                    }
                    out.push(percentile_name(v));
                }
            }
            Ok(out.join(" "))
        }
        "notify-keyspace-events" => match crate::notify::parse_flags(raw) {
            Some(f) => Ok(crate::notify::flags_to_string(f)),
            None => Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string()),
        },
        _ => Ok(raw.to_string()),
    }
}

/// A percentile as Redis prints it: `%f`, then trailing zeros and a
/// trailing dot removed (trimDoubleString): 99.9 -> "99.9", 50 -> "50".
pub fn percentile_name(v: f64) -> String {
    let mut t = format!("{:.6}", v);
    if t.contains('.') {
        while t.ends_with('0') {
            t.pop();
        }
        if t.ends_with('.') {
            t.pop();
        }
    }
    t
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

impl Config {
    pub fn new() -> Config {
        let mut c = Config {
            values: DEFS.iter().map(|d| d.default.to_string()).collect(),
            config_file: None,
            save_loaded: false,
            port: 6379,
            databases: 16,
            timeout_secs: 0,
            maxclients: 10000,
            hz: 10,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1 << 30,
            requirepass: None,
            acl_users: Vec::new(),
            renames: Vec::new(),
            loadmodules: Vec::new(),
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            latency_tracking: true,
            latency_percentiles: Vec::new(),
            maxmemory: 0,
            maxmemory_clients: 0,
            active_expire_effort: 1,
            activerehashing: true,
            hll_sparse_max_bytes: 3000,
            obuf_normal: (0, 0, 0),
            obuf_pubsub: (32 << 20, 8 << 20, 60),
            obuf_replica: (256 << 20, 64 << 20, 60),
            loglevel: 2,
            dynamic_hz: true,
            lazyfree_lazy_expire: false,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            lazyfree_lazy_server_del: false,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            notify_flags: 0,
            appendonly: false,
            appendfsync: FSYNC_EVERYSEC,
            no_appendfsync_on_rewrite: false,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 << 20,
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            aof_timestamp_enabled: false,
            aof_rewrite_incremental_fsync: true,
        };
        c.refresh();
        c
    }

    /// The canonical string value of a directive (None if unknown).
    pub fn get(&self, name: &str) -> Option<&str> {
        def_index(name).map(|i| self.values[i].as_str())
    }

    pub fn get_i64(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// A setting that turns on a feature ferrokv does not have yet (cluster
    /// mode, TLS): refused at startup and by CONFIG SET instead of being
    /// silently ignored.
    pub fn unsupported_feature(&self) -> Option<String> {
        let on = |name: &str| self.get_bool(name);
        if on("cluster-enabled") {
            return Some(
                "cluster mode (cluster-enabled yes) is not supported by ferrokv yet".into(),
            );
        }
        if self.get("tls-port").is_some_and(|p| p != "0") {
            return Some("TLS (tls-port) is not supported by ferrokv yet".into());
        }
        for name in ["tls-replication", "tls-cluster"] {
            if on(name) {
                return Some(format!("TLS ({name} yes) is not supported by ferrokv yet"));
            }
        }
        None
    }

    /// Sets the process title from `proc-title-template` (redisSetProcTitle);
    /// `title` None means the original argv[0]. Nothing when
    /// `set-proc-title` is no.
    pub fn set_proc_title(&self, title: Option<&str>) {
        if !self.get_bool("set-proc-title") {
            return;
        }
        let default = crate::proctitle::default_title();
        let bind0 = self.get("bind").and_then(|b| b.split_whitespace().next());
        let vars = crate::proctitle::TitleVars {
            title: title.unwrap_or(&default),
            bind0,
            port: self.port,
            tls_port: self
                .get("tls-port")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0),
            unixsocket: self.get("unixsocket").unwrap_or(""),
            config_file: self.config_file.as_deref(),
            server_mode: "",
        };
        let template = self.get("proc-title-template").unwrap_or("{title}");
        if let Some(t) = crate::proctitle::expand(template, |n| vars.lookup(n)) {
            crate::proctitle::set(&t);
        }
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == Some("yes")
    }

    /// Sets a directive. Err carries the reason text.
    pub fn set(&mut self, name: &str, raw: &str, startup: bool) -> Result<(), SetError> {
        let i = def_index(name).ok_or(SetError::Unknown)?;
        let def = &DEFS[i];
        if def.immutable && !startup {
            return Err(SetError::Immutable);
        }
        let v = canonical(def, raw).map_err(SetError::Invalid)?;
        if def.name == "dir" {
            if !startup || std::path::Path::new(&v).exists() {
                std::env::set_current_dir(&v).map_err(|e| SetError::Invalid(e.to_string()))?;
            } else {
                return Err(SetError::Invalid(format!("No such file or directory")));
            }
        }
        // updateHZ: out-of-range values are kept clamped (CONFIG GET shows
        // the clamped value).
        let v = if def.name == "hz" {
            v.parse::<i64>()
                .map_or(v, |hz| hz.clamp(1, 500).to_string())
        } else {
            v
        };
        self.values[i] = v;
        self.refresh();
        Ok(())
    }

    /// Pairs of (name, value) whose name matches `pattern` (CONFIG GET).
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (i, d) in DEFS.iter().enumerate() {
            // Hidden directives answer only to their exact name.
            if HIDDEN.contains(&d.name) {
                continue;
            }
            for name in std::iter::once(d.name).chain(d.alias) {
                if string_match(pattern, name.as_bytes(), true) {
                    out.push((name, self.display_value(i)));
                }
            }
        }
        out
    }

    /// The value CONFIG GET shows for one directive name or alias.
    pub fn display(&self, name: &str) -> Option<String> {
        def_index(name).map(|i| self.display_value(i))
    }

    fn display_value(&self, i: usize) -> String {
        if DEFS[i].name == "dir" {
            if let Ok(p) = std::env::current_dir() {
                return p.to_string_lossy().into_owned();
            }
        }
        self.values[i].clone()
    }

    /// Canonical directive name for a name or alias.
    pub fn canonical_name(name: &str) -> Option<&'static str> {
        def_index(name).map(|i| DEFS[i].name)
    }

    /// Is this directive's value a secret CONFIG SET hides from the slow
    /// log and MONITOR (Redis's SENSITIVE_CONFIG)?
    pub fn is_sensitive(name: &str) -> bool {
        matches!(
            Config::canonical_name(name),
            Some("masterauth" | "masteruser" | "requirepass")
        )
    }

    fn refresh(&mut self) {
        self.port = self.get_i64("port") as u16;
        self.databases = self.get_i64("databases").max(1) as usize;
        self.timeout_secs = self.get_i64("timeout");
        self.maxclients = self.get_i64("maxclients") as usize;
        self.hz = (self.get_i64("hz").clamp(1, 500)) as u32;
        self.proto_max_bulk_len = self.get_i64("proto-max-bulk-len");
        self.client_query_buffer_limit = self.get_i64("client-query-buffer-limit") as usize;
        self.requirepass = self
            .get("requirepass")
            .filter(|p| !p.is_empty())
            .map(|p| p.as_bytes().to_vec());
        self.slowlog_log_slower_than = self.get_i64("slowlog-log-slower-than");
        self.slowlog_max_len = self.get_i64("slowlog-max-len") as usize;
        self.latency_monitor_threshold = self.get_i64("latency-monitor-threshold");
        self.latency_tracking = self.get_bool("latency-tracking");
        self.latency_percentiles = self
            .get("latency-tracking-info-percentiles")
            .unwrap_or("")
            .split(' ')
            .filter_map(|p| p.parse().ok())
            .collect();
        self.maxmemory = self.get_i64("maxmemory") as u64;
        let mmc = self.get("maxmemory-clients").unwrap_or("0");
        self.maxmemory_clients = match mmc.strip_suffix('%') {
            Some(p) => -p.parse::<i64>().unwrap_or(0),
            None => mmc.parse().unwrap_or(0),
        };
        crate::evict::apply_config(self);
        self.active_expire_effort = self.get_i64("active-expire-effort") as u32;
        self.activerehashing = self.get_bool("activerehashing");
        self.hll_sparse_max_bytes = self.get_i64("hll-sparse-max-bytes") as usize;
        self.dynamic_hz = self.get_bool("dynamic-hz");
        self.lazyfree_lazy_expire = self.get_bool("lazyfree-lazy-expire");
        crate::db::set_lazy_expire(self.lazyfree_lazy_expire);
        self.min_replicas_to_write = self.get_i64("min-replicas-to-write");
        self.min_replicas_max_lag = self.get_i64("min-replicas-max-lag");
        self.lazyfree_lazy_server_del = self.get_bool("lazyfree-lazy-server-del");
        crate::db::set_lazy_server_del(self.lazyfree_lazy_server_del);
        self.list_max_listpack_size = self.get_i64("list-max-listpack-size") as i32;
        self.list_compress_depth = self.get_i64("list-compress-depth") as i32;
        self.hash_max_listpack_entries = self.get_i64("hash-max-listpack-entries").max(0) as usize;
        self.hash_max_listpack_value = self.get_i64("hash-max-listpack-value").max(0) as usize;
        self.set_max_intset_entries = self.get_i64("set-max-intset-entries").max(0) as usize;
        self.zset_max_listpack_entries = self.get_i64("zset-max-listpack-entries").max(0) as usize;
        self.zset_max_listpack_value = self.get_i64("zset-max-listpack-value").max(0) as usize;
        self.notify_flags =
            crate::notify::parse_flags(self.get("notify-keyspace-events").unwrap_or(""))
                .unwrap_or(0);
        self.appendonly = self.get_bool("appendonly");
        self.appendfsync = match self.get("appendfsync") {
            Some("always") => FSYNC_ALWAYS,
            Some("no") => FSYNC_NO,
            _ => FSYNC_EVERYSEC,
        };
        self.no_appendfsync_on_rewrite = self.get_bool("no-appendfsync-on-rewrite");
        self.auto_aof_rewrite_percentage = self.get_i64("auto-aof-rewrite-percentage");
        self.auto_aof_rewrite_min_size = self.get_i64("auto-aof-rewrite-min-size").max(0) as u64;
        self.aof_load_truncated = self.get_bool("aof-load-truncated");
        self.aof_use_rdb_preamble = self.get_bool("aof-use-rdb-preamble");
        self.aof_timestamp_enabled = self.get_bool("aof-timestamp-enabled");
        self.aof_rewrite_incremental_fsync = self.get_bool("aof-rewrite-incremental-fsync");
        self.loglevel = LOGLEVELS
            .iter()
            .position(|l| Some(*l) == self.get("loglevel"))
            .unwrap_or(2) as u8;
        let obl = self
            .get("client-output-buffer-limit")
            .unwrap_or("")
            .to_string();
        let parts: Vec<&str> = obl.split_whitespace().collect();
        for chunk in parts.chunks(4) {
            if chunk.len() < 4 {
                break;
            }
            let lim = (
                parse_memory(chunk[1]).unwrap_or(0) as u64,
                parse_memory(chunk[2]).unwrap_or(0) as u64,
                chunk[3].parse().unwrap_or(0),
            );
            match chunk[0].to_ascii_lowercase().as_str() {
                "normal" => self.obuf_normal = lim,
                "pubsub" => self.obuf_pubsub = lim,
                _ => self.obuf_replica = lim,
            }
        }
        // Normalise the printed form like Redis does (replica class is "slave").
        let v = format!(
            "normal {} {} {} slave {} {} {} pubsub {} {} {}",
            self.obuf_normal.0,
            self.obuf_normal.1,
            self.obuf_normal.2,
            self.obuf_replica.0,
            self.obuf_replica.1,
            self.obuf_replica.2,
            self.obuf_pubsub.0,
            self.obuf_pubsub.1,
            self.obuf_pubsub.2
        );
        if let Some(i) = def_index("client-output-buffer-limit") {
            self.values[i] = v;
        }
    }

    /// Applies config text in redis.conf syntax. `save ""` clears, repeated
    /// `save` lines accumulate — across the file and the command line — as
    /// in Redis.
    pub fn load_text(&mut self, text: &str) -> Result<(), ConfigError> {
        for (lineno, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let mut scratch = Vec::new();
            let mut ranges = Vec::new();
            let err = |reason: &str| ConfigError {
                line: lineno + 1,
                text: trimmed.to_string(),
                reason: reason.to_string(),
            };
            if !split_args(trimmed.as_bytes(), &mut scratch, &mut ranges) {
                return Err(err("Unbalanced quotes in configuration line"));
            }
            let args: Vec<String> = ranges
                .iter()
                .map(|&(o, l)| String::from_utf8_lossy(&scratch[o..o + l]).into_owned())
                .collect();
            if args.is_empty() {
                continue;
            }
            let name = args[0].to_ascii_lowercase();
            if name == "include" {
                if args.len() != 2 {
                    return Err(err("Bad directive or wrong number of arguments"));
                }
                // With a wildcard: every match, in order; none is not an
                // error (loadServerConfig's glob).
                if args[1].contains(['*', '?', '[']) {
                    for path in glob_paths(&args[1]) {
                        let inc = std::fs::read_to_string(&path)
                            .map_err(|e| err(&format!("Can't open include file: {}", e)))?;
                        self.load_text(&inc)?;
                    }
                    continue;
                }
                let inc = std::fs::read_to_string(&args[1])
                    .map_err(|e| err(&format!("Can't open include file: {}", e)))?;
                self.load_text(&inc)?;
                continue;
            }
            // Deprecated directives Redis 7.0 still accepts and ignores.
            if args.len() == 2
                && matches!(
                    name.as_str(),
                    "list-max-ziplist-entries"
                        | "list-max-ziplist-value"
                        | "lua-replicate-commands"
                )
            {
                continue;
            }
            // Directives kept for later (users, renames) or that ferrokv has
            // no use for.
            if matches!(name.as_str(), "rename-command" | "user" | "loadmodule") {
                if name == "user" {
                    if args.len() < 2 {
                        return Err(err("Bad directive or wrong number of arguments"));
                    }
                    if self.acl_users.iter().any(|u| u[0] == args[1]) {
                        return Err(err(&format!(
                            "Error in user declaration '{}': Duplicate user found. A user can only be defined once in config files",
                            args[1]
                        )));
                    }
                    self.acl_users.push(args[1..].to_vec());
                }
                if name == "rename-command" {
                    if args.len() != 3 {
                        return Err(err("Bad directive or wrong number of arguments"));
                    }
                    self.renames
                        .push((err(""), args[1].clone(), args[2].clone()));
                }
                if name == "loadmodule" {
                    if args.len() < 2 {
                        return Err(err("Bad directive or wrong number of arguments"));
                    }
                    self.loadmodules.push(args[1].clone());
                }
                continue;
            }
            let Some(i) = def_index(&name) else {
                return Err(err("Bad directive or wrong number of arguments"));
            };
            let def = &DEFS[i];
            if def.name == "replicaof" {
                // setConfigReplicaOfOption: `<host> <port>` or `no one`; a
                // single non-empty argument is split at spaces (MULTI_ARG).
                let mut words: Vec<String> = args[1..].to_vec();
                if words.len() == 1 && !words[0].is_empty() {
                    let mut scratch = Vec::new();
                    let mut ranges = Vec::new();
                    if split_args(words[0].as_bytes(), &mut scratch, &mut ranges) {
                        words = ranges
                            .iter()
                            .map(|&(o, l)| String::from_utf8_lossy(&scratch[o..o + l]).into_owned())
                            .collect();
                    }
                }
                if words.len() != 2 {
                    return Err(err("wrong number of arguments"));
                }
                if words[0].eq_ignore_ascii_case("no") && words[1].eq_ignore_ascii_case("one") {
                    let _ = self.set("replicaof", "", true);
                    continue;
                }
                if !words[1]
                    .parse::<i64>()
                    .is_ok_and(|p| (0..=65535).contains(&p))
                {
                    return Err(err("Invalid master port"));
                }
                let _ = self.set("replicaof", &words.join(" "), true);
                continue;
            }
            let value = if name == "save" {
                if args.len() == 2 && args[1].is_empty() {
                    self.save_loaded = true;
                    String::new()
                } else {
                    let mut v = if self.save_loaded {
                        self.values[i].clone()
                    } else {
                        String::new()
                    };
                    self.save_loaded = true;
                    for a in &args[1..] {
                        if !v.is_empty() {
                            v.push(' ');
                        }
                        v.push_str(a);
                    }
                    v
                }
            } else if matches!(def.kind, Kind::Str) {
                // Only MULTI_ARG directives take several words.
                if args.len() != 2 && !MULTI_ARG.contains(&def.name) {
                    return Err(err("wrong number of arguments"));
                }
                args[1..].join(" ")
            } else if matches!(def.kind, Kind::Flags(_)) {
                // MULTI_ARG: the words, or one argument split at spaces.
                let words: Vec<&str> = args[1..].iter().map(|a| a.as_str()).collect();
                if words.len() == 1 {
                    words[0].split_whitespace().collect::<Vec<_>>().join(" ")
                } else {
                    words.join(" ")
                }
            } else {
                if args.len() != 2 {
                    return Err(err("wrong number of arguments"));
                }
                args[1].clone()
            };
            if args.len() < 2 && !matches!(def.kind, Kind::Str | Kind::Flags(_)) {
                return Err(err("Bad directive or wrong number of arguments"));
            }
            self.set(def.name, &value, true).map_err(|e| match e {
                SetError::Invalid(r) => err(&r),
                _ => err("Bad directive or wrong number of arguments"),
            })?;
        }
        Ok(())
    }

    /// Builds config text from the command-line options as redis-server's
    /// main() does: `--name` starts a line, other arguments are values,
    /// each quoted (sdscatrepr). After a bare `--name`, the next argument
    /// is its value even if it starts with `--`; `--save` followed by
    /// another option, or last, means `save ""`; `--sentinel` takes no value.
    pub fn args_to_text(args: &[String]) -> String {
        let mut text = String::new();
        let mut handled_last = true;
        for (j, a) in args.iter().enumerate() {
            let last = j + 1 == args.len();
            let next_is_opt = args.get(j + 1).is_some_and(|n| n.starts_with("--"));
            if handled_last && a.starts_with("--") {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&a[2..]);
                text.push(' ');
                let mut scratch = Vec::new();
                let mut ranges = Vec::new();
                let words = if split_args(a.as_bytes(), &mut scratch, &mut ranges) {
                    ranges.len()
                } else {
                    0
                };
                if words == 1 {
                    // A bare option name: its value follows.
                    handled_last = false;
                    let save = a.eq_ignore_ascii_case("--save");
                    let sentinel = a.eq_ignore_ascii_case("--sentinel");
                    if save && (next_is_opt || last) {
                        text.push_str("\"\"");
                        handled_last = next_is_opt || handled_last;
                    } else if sentinel && next_is_opt {
                        handled_last = true;
                    }
                } else {
                    // Name and value in one argument ("--port 6380").
                    handled_last = true;
                }
            } else {
                text.push_str(&repr(a));
                text.push(' ');
                handled_last = true;
            }
        }
        text.push('\n');
        text
    }

    /// `CONFIG REWRITE`: writes the non-default values (and `dir`, as the
    /// absolute working directory) back to the config file, keeping its
    /// comments and other lines.
    pub fn rewrite(&self) -> Result<(), String> {
        self.rewrite_with_users(None)
    }

    /// CONFIG REWRITE; `users` (ACL describe lines) replace the file's
    /// `user` directives, at the first one's place (rewriteConfigUserOption).
    pub fn rewrite_with_users(&self, users: Option<&[String]>) -> Result<(), String> {
        self.rewrite_file(users, false)
    }

    /// DEBUG CONFIG-REWRITE-FORCE-ALL: every directive is written, defaults
    /// included. Without a config file the error is the one Redis gets
    /// from fopen(NULL).
    pub fn rewrite_force_all(&self) -> Result<(), String> {
        if self.config_file.is_none() {
            return Err("Bad address".to_string());
        }
        self.rewrite_file(None, true)
    }

    fn rewrite_file(&self, users: Option<&[String]>, force_all: bool) -> Result<(), String> {
        let mut users_done = users.is_none();
        let path = self
            .config_file
            .as_ref()
            .ok_or("The server is running without a config file")?;
        let old = std::fs::read_to_string(path).unwrap_or_default();
        let mut out = String::new();
        let mut written = vec![false; DEFS.len()];
        for line in old.lines() {
            let t = line.trim();
            let name = t
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if t.starts_with('#') || name.is_empty() {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            if name == "user" {
                if let Some(u) = users.filter(|_| !users_done) {
                    users_done = true;
                    for l in u {
                        out.push_str(l);
                        out.push('\n');
                    }
                } else if users.is_none() {
                    out.push_str(line);
                    out.push('\n');
                }
                continue;
            }
            match def_index(&name) {
                Some(i) => {
                    if !written[i] {
                        written[i] = true;
                        out.push_str(&self.directive_line(i));
                    }
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        for (i, d) in DEFS.iter().enumerate() {
            // `dir` is always written, as the absolute working directory
            // (rewriteConfigDirOption): a relative value from the file would
            // resolve differently once the server has changed into it.
            if !written[i] && (force_all || self.values[i] != d.default || d.name == "dir") {
                out.push_str(&self.directive_line(i));
            }
        }
        if let Some(u) = users.filter(|_| !users_done) {
            for l in u {
                out.push_str(l);
                out.push('\n');
            }
        }
        std::fs::write(path, out).map_err(|e| e.to_string())
    }

    fn directive_line(&self, i: usize) -> String {
        let name = DEFS[i].name;
        let v = &self.display_value(i);
        if name == "save" && v.is_empty() {
            return "save \"\"\n".to_string();
        }
        if name == "replicaof" {
            // rewriteConfigReplicaOfOption: `replicaof <host> <port>`, or
            // no line at all without a master.
            let words: Vec<String> = v.split_whitespace().map(quote).collect();
            if words.is_empty() {
                return String::new();
            }
            return format!("{} {}\n", name, words.join(" "));
        }
        if matches!(DEFS[i].kind, Kind::Str)
            && name != "save"
            && name != "client-output-buffer-limit"
            && name != "bind"
            && name != "replicaof"
        {
            format!("{} {}\n", name, quote(v))
        } else if matches!(DEFS[i].kind, Kind::Str) {
            // Multi-word values: each word quoted on its own, so a quote in
            // a CONFIG SET bind address cannot unbalance the line.
            let words: Vec<String> = v.split(' ').map(quote).collect();
            format!("{} {}\n", name, words.join(" "))
        } else {
            format!("{} {}\n", name, v)
        }
    }
}

/// Quotes a value for redis.conf if it is empty or has spaces, quotes or
/// control characters, escaping like Redis's sdscatrepr so that the line
/// reads back (by `split_args`) as the same value: a newline in a value
/// must not end the directive.
fn quote(v: &str) -> String {
    let plain = |c: char| c > ' ' && c != '\u{7f}' && !matches!(c, '"' | '\'' | '\\');
    if !v.is_empty() && v.chars().all(plain) {
        return v.to_string();
    }
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            '\u{7}' => s.push_str("\\a"),
            '\u{8}' => s.push_str("\\b"),
            c if c < ' ' || c == '\u{7f}' => s.push_str(&format!("\\x{:02x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// A value quoted as sdscatrepr does, always.
fn repr(v: &str) -> String {
    let mut s = String::from("\"");
    for &b in v.as_bytes() {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{:02x}", b)),
        }
    }
    s.push('"');
    s
}

/// Why a CONFIG SET failed.
#[derive(Debug)]
pub enum SetError {
    Unknown,
    Immutable,
    Invalid(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_set() {
        let mut c = Config::new();
        assert_eq!(c.get("port"), Some("6379"));
        assert_eq!(c.get("hash-max-ziplist-entries"), Some("512"));
        c.set("maxmemory", "1mb", false).unwrap();
        assert_eq!(c.get("maxmemory"), Some("1048576"));
        assert!(matches!(
            c.set("maxclients", "abc", false),
            Err(SetError::Invalid(_))
        ));
        assert!(matches!(c.set("nope", "1", false), Err(SetError::Unknown)));
        assert!(matches!(
            c.set("databases", "3", false),
            Err(SetError::Immutable)
        ));
    }

    #[test]
    fn file_syntax() {
        let mut c = Config::new();
        c.load_text("# comment\nport 7000\nsave \"\"\nloglevel warning\n")
            .unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.get("save"), Some(""));
        let e = c.load_text("port 1\nbogus 1\n").unwrap_err();
        assert_eq!(e.line, 2);
        let text =
            Config::args_to_text(&["--port".into(), "7001".into(), "--save".into(), "".into()]);
        c.load_text(&text).unwrap();
        assert_eq!(c.port, 7001);
        assert_eq!(c.get("save"), Some(""));
    }
}

#[cfg(test)]
#[path = "config_example_tests.rs"]
mod example_file_tests;
