//! Configuration: parsing of redis.conf syntax and `--directive value`
//! arguments, validation (Redis 7.0.15's rules and error texts), CONFIG
//! GET/SET/REWRITE. The directive table, which binds each directive to its
//! typed field of `Config`, is `config_defs.rs`; how each field type stores
//! and prints a value is `config_values.rs`. The rest of the server reads
//! the typed fields (`srv.config.maxmemory_policy`), never strings.

use crate::protocol::parse::split_args;
use crate::util::glob::string_match;

#[path = "config_defs.rs"]
mod defs;
#[path = "config_rewrite.rs"]
mod rewrite;
#[path = "config_values.rs"]
mod values;
use defs::*;
pub use defs::{
    Config, DEFS, LOGLEVELS, SHUTDOWN_FORCE, SHUTDOWN_NOSAVE, SHUTDOWN_NOW, SHUTDOWN_SAVE,
};
pub use values::{
    AclPubsubDefault, AppendFsync, ClusterEndpointType, MaxmemoryPolicy, ObufLimits, OomScoreAdj,
    PropagationErrorBehavior, ProtectedAccess, ReplDisklessLoad, SanitizeDumpPayload, Supervised,
    SyslogFacility, TlsAuthClients,
};

/// How a directive's value is parsed and printed.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// An integer written in octal (OCTAL_CONFIG: unixsocketperm).
    Octal {
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
    /// A string with a structure of its own (save points, buffer limits,
    /// event classes...): the function validates it and gives its
    /// canonical text, or the reason it is refused.
    Checked(fn(&str) -> Result<String, String>),
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
    /// HIDDEN, MULTI_ARG, SENSITIVE, PROTECTED, DENY_LOADING (Redis's
    /// flags of the same names).
    flags: u8,
    /// Reads and writes the directive's field of `Config` (bound by the
    /// table in `config_defs.rs`).
    access: Access,
}

/// How a table entry reaches its typed field: `show` prints the value,
/// `store` sets it from text already validated for the entry's kind.
impl Def {
    /// Redis's EMPTY_STRING_IS_NULL: an empty value means "not set".
    fn empty_is_null(&self) -> bool {
        self.flags & EMPTY_IS_NULL != 0
    }
}

#[derive(Clone, Copy)]
struct Access {
    show: fn(&Config, &Kind) -> String,
    store: fn(&mut Config, &Kind, &str),
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

/// Errors from loading a config file or argument list.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub line: usize,
    pub text: String,
    pub reason: String,
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
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit() || c == b'-') {
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
        Kind::Octal { min, max } => {
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
        Kind::Str => Ok(raw.to_string()),
        Kind::Checked(check) => check(raw),
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
    Ok(values::flags_name(names, value))
}

fn enum_error<'a>(names: impl Iterator<Item = &'a str>) -> String {
    format!(
        "argument(s) must be one of the following: {}",
        names.collect::<Vec<_>>().join(", ")
    )
}

// Validators of the string directives with a structure of their own
// (`Kind::Checked`): Ok is the canonical text, Err the reason.

/// `save`: (seconds, changes) pairs.
fn check_save(raw: &str) -> Result<String, String> {
    let parts: Vec<&str> = raw.split_whitespace().collect();
    if !parts.len().is_multiple_of(2) || parts.iter().any(|p| p.parse::<u64>().is_err()) {
        return Err("Invalid save parameters".to_string());
    }
    Ok(parts.join(" "))
}

/// isValidAnnouncedHostname.
fn check_hostname(raw: &str) -> Result<String, String> {
    if raw.len() >= 256 {
        return Err("Hostnames must be less than 256 characters".to_string());
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(
            "Hostnames may only contain alphanumeric characters, hyphens or dots".to_string(),
        );
    }
    Ok(raw.to_string())
}

/// isValidProcTitleTemplate: known variables, a non-empty title.
fn check_proc_title(raw: &str) -> Result<String, String> {
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

/// Three scores between -2000 and 2000.
fn check_oom_values(raw: &str) -> Result<String, String> {
    let parts: Vec<&str> = raw.split_whitespace().collect();
    if parts.len() != 3 {
        return Err("wrong number of arguments".to_string());
    }
    if parts
        .iter()
        .any(|p| !p.parse::<i64>().is_ok_and(|v| (-2000..=2000).contains(&v)))
    {
        return Err(
            "Invalid oom-score-adj-values, elements must be between -2000 and 2000.".to_string(),
        );
    }
    Ok(parts.join(" "))
}

/// `<class> <hard> <soft> <seconds>`, repeated.
fn check_obuf_limits(raw: &str) -> Result<String, String> {
    let parts: Vec<&str> = raw.split_whitespace().collect();
    if parts.is_empty() || !parts.len().is_multiple_of(4) {
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
            return Err(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                    .to_string(),
            );
        }
    }
    Ok(raw.to_string())
}

/// Percentiles between 0 and 100.
fn check_percentiles(raw: &str) -> Result<String, String> {
    let mut out = Vec::new();
    // A multi-argument directive: one value split on single spaces
    // (sdssplitlen), "" meaning no percentiles.
    if !raw.is_empty() {
        for part in raw.split(' ') {
            let v = crate::util::num::parse_f64(part.as_bytes()).ok_or_else(|| {
                "Invalid latency-tracking-info-percentiles parameters".to_string()
            })?;
            if !(0.0..=100.0).contains(&v) {
                return Err(
                    "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                        .to_string(),
                );
            }
            out.push(percentile_name(v));
        }
    }
    Ok(out.join(" "))
}

/// Event class characters.
fn check_notify_events(raw: &str) -> Result<String, String> {
    match crate::notify::parse_flags(raw) {
        Some(f) => Ok(crate::notify::flags_to_string(f)),
        None => Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string()),
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
        let mut c = Config::blank();
        for d in DEFS {
            (d.access.store)(&mut c, &d.kind, d.default);
        }
        c.apply_globals();
        c
    }

    /// Sets the process title from `proc-title-template` (redisSetProcTitle);
    /// `title` None means the original argv[0]. Nothing when
    /// `set-proc-title` is no.
    pub fn set_proc_title(&self, title: Option<&str>) {
        if !self.set_proc_title {
            return;
        }
        let default = crate::proctitle::default_title();
        let bind0 = self.bind.split_whitespace().next();
        let vars = crate::proctitle::TitleVars {
            title: title.unwrap_or(&default),
            bind0,
            port: self.port,
            tls_port: self.tls_port as u16,
            unixsocket: &self.unixsocket,
            config_file: self.config_file.as_deref(),
            server_mode: if self.cluster_enabled {
                "[cluster]"
            } else {
                ""
            },
        };
        if let Some(t) = crate::proctitle::expand(&self.proc_title_template, |n| vars.lookup(n)) {
            crate::proctitle::set(&t);
        }
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
                return Err(SetError::Invalid("No such file or directory".to_string()));
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
        (def.access.store)(self, &def.kind, &v);
        self.apply_globals();
        Ok(())
    }

    /// Pairs of (name, value) whose name matches `pattern` (CONFIG GET).
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (i, d) in DEFS.iter().enumerate() {
            // Hidden directives answer only to their exact name.
            if d.flags & HIDDEN != 0 {
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
        self.value(i)
    }

    /// The canonical text of directive `i`'s value.
    fn value(&self, i: usize) -> String {
        (DEFS[i].access.show)(self, &DEFS[i].kind)
    }

    /// Canonical directive name for a name or alias.
    pub fn canonical_name(name: &str) -> Option<&'static str> {
        def_index(name).map(|i| DEFS[i].name)
    }

    /// Is this directive's value a secret CONFIG SET hides from the slow
    /// log and MONITOR (Redis's SENSITIVE_CONFIG)?
    pub fn is_sensitive(name: &str) -> bool {
        def_index(name).is_some_and(|i| DEFS[i].flags & SENSITIVE != 0)
    }

    /// Does CONFIG SET refuse this directive unless enable-protected-configs
    /// allows it (PROTECTED_CONFIG: dir, dbfilename)?
    pub fn is_protected(name: &str) -> bool {
        def_index(name).is_some_and(|i| DEFS[i].flags & PROTECTED != 0)
    }

    /// Does CONFIG SET refuse this directive while the dataset is loading
    /// (DENY_LOADING_CONFIG)?
    pub fn denied_while_loading(name: &str) -> bool {
        def_index(name).is_some_and(|i| DEFS[i].flags & DENY_LOADING != 0)
    }

    /// Pushes the value kept outside `Config` for the keyspace's
    /// table-growth guard (maxmemory, read by `ds::dict`). The settings
    /// `Db` acts on (lazy-free flags, access stamps) are copied by
    /// `Server::sync_db_config` instead.
    fn apply_globals(&self) {
        crate::evict::apply_config(self);
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
                        self.value(i)
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
            } else if matches!(def.kind, Kind::Str | Kind::Checked(_)) {
                // Only MULTI_ARG directives take several words.
                if args.len() != 2 && def.flags & MULTI_ARG == 0 {
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
            if args.len() < 2 && !matches!(def.kind, Kind::Str | Kind::Checked(_) | Kind::Flags(_))
            {
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
        assert_eq!(c.display("port").as_deref(), Some("6379"));
        assert_eq!(
            c.display("hash-max-ziplist-entries").as_deref(),
            Some("512")
        );
        c.set("maxmemory", "1mb", false).unwrap();
        assert_eq!(c.maxmemory, 1048576);
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

    /// The entries' flags: HIDDEN names answer only by exact name; the
    /// SENSITIVE, PROTECTED and DENY_LOADING ones are known as such.
    #[test]
    fn entry_flags() {
        let c = Config::new();
        let all = c.matching(b"*");
        assert!(!all.iter().any(|(n, _)| *n == "use-exit-on-panic"));
        assert!(all.iter().any(|(n, _)| *n == "maxmemory"));
        assert_eq!(c.display("use-exit-on-panic").as_deref(), Some("no"));
        assert!(Config::is_sensitive("masterauth") && Config::is_sensitive("REQUIREPASS"));
        assert!(!Config::is_sensitive("port"));
        assert!(Config::is_protected("dir") && Config::is_protected("dbfilename"));
        assert!(!Config::is_protected("appendonly"));
        assert!(Config::denied_while_loading("appendonly") && Config::denied_while_loading("dir"));
        assert!(!Config::denied_while_loading("dbfilename"));
    }

    /// Every entry's field gives back the canonical text it stored: the
    /// defaults, and a value of each kind.
    #[test]
    fn typed_fields_round_trip() {
        let c = Config::new();
        for (i, d) in DEFS.iter().enumerate() {
            if d.name != "dir" {
                assert_eq!(c.value(i), d.default, "{}", d.name);
            }
        }
        let mut c = Config::new();
        for (name, raw, shown) in [
            ("maxmemory-policy", "ALLKEYS-LFU", "allkeys-lfu"),
            ("maxmemory-clients", "10%", "10%"),
            ("maxmemory-clients", "1k", "1000"),
            ("shutdown-on-sigint", "now save", "save now"),
            ("unixsocketperm", "750", "750"),
            ("save", "10 20 30 40", "10 20 30 40"),
            (
                "client-output-buffer-limit",
                "pubsub 1mb 2 3",
                "normal 0 0 0 slave 268435456 67108864 60 pubsub 1048576 2 3",
            ),
            ("notify-keyspace-events", "KEA", "AKE"),
            ("latency-tracking-info-percentiles", "99.99 1", "99.99 1"),
            ("replicaof", "10.0.0.1 6380", "10.0.0.1 6380"),
            ("requirepass", "", ""),
            ("hz", "1000", "500"),
            // Printed from the typed value, as Redis prints them.
            ("save", "007 5", "7 5"),
            ("oom-score-adj-values", "+5 -0 007", "5 0 7"),
            ("maxmemory-clients", "0%", "0"),
        ] {
            c.set(name, raw, true).unwrap();
            assert_eq!(c.display(name).as_deref(), Some(shown), "{name}");
        }
        assert_eq!(c.maxmemory_policy, MaxmemoryPolicy::AllKeysLfu);
        assert_eq!(c.shutdown_on_sigint, SHUTDOWN_SAVE | SHUTDOWN_NOW);
        assert_eq!(c.unixsocketperm, 0o750);
        assert_eq!(c.replicaof, Some(("10.0.0.1".to_string(), 6380)));
        assert_eq!(c.obuf.pubsub, (1 << 20, 2, 3));
        assert_eq!(c.hz, 500);
    }

    #[test]
    fn file_syntax() {
        let mut c = Config::new();
        c.load_text("# comment\nport 7000\nsave \"\"\nloglevel warning\n")
            .unwrap();
        assert_eq!(c.port, 7000);
        assert!(c.save.is_empty());
        let e = c.load_text("port 1\nbogus 1\n").unwrap_err();
        assert_eq!(e.line, 2);
        let text =
            Config::args_to_text(&["--port".into(), "7001".into(), "--save".into(), "".into()]);
        c.load_text(&text).unwrap();
        assert_eq!(c.port, 7001);
        assert!(c.save.is_empty());
    }
}

#[cfg(test)]
#[path = "config_example_tests.rs"]
mod example_file_tests;
