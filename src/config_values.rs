//! Typed directive values: how each field type of `Config` stores a
//! directive's value once `config.rs` has validated and canonicalised it
//! for the directive's `Kind`, and prints it back (CONFIG GET, CONFIG
//! REWRITE); and the enum types of the enum directives. Included by
//! `config.rs`; the table binding directives to fields is `config_defs.rs`.

use super::{parse_memory, percentile_name, Kind};

/// A field type a directive can be bound to. `store` gets text `canonical`
/// accepted for `kind`, so it never fails; `show` gives that text back.
pub trait Value {
    fn store(&mut self, kind: &Kind, v: &str);
    fn show(&self, kind: &Kind) -> String;
}

impl Value for bool {
    fn store(&mut self, _: &Kind, v: &str) {
        *self = v == "yes";
    }
    fn show(&self, _: &Kind) -> String {
        if *self { "yes" } else { "no" }.to_string()
    }
}

impl Value for String {
    fn store(&mut self, _: &Kind, v: &str) {
        v.clone_into(self);
    }
    fn show(&self, _: &Kind) -> String {
        self.clone()
    }
}

/// A secret that may be unset (requirepass): "" is None.
impl Value for Option<Vec<u8>> {
    fn store(&mut self, _: &Kind, v: &str) {
        *self = (!v.is_empty()).then(|| v.as_bytes().to_vec());
    }
    fn show(&self, _: &Kind) -> String {
        self.as_deref()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default()
    }
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn store(&mut self, kind: &Kind, v: &str) {
                *self = match kind {
                    Kind::Octal { .. } => i64::from_str_radix(v, 8).unwrap_or(0) as $t,
                    // Redis's PERCENT_CONFIG encoding: a percentage is
                    // stored negated.
                    Kind::MemoryOrPercent { .. } => match v.strip_suffix('%') {
                        Some(p) => p.parse::<i64>().map_or(0, |p| -p) as $t,
                        None => v.parse::<i64>().unwrap_or(0) as $t,
                    },
                    _ => v.parse::<i64>().unwrap_or(0) as $t,
                };
            }
            fn show(&self, kind: &Kind) -> String {
                let n = *self as i64;
                match kind {
                    Kind::Octal { .. } => format!("{:o}", n),
                    Kind::MemoryOrPercent { .. } if n < 0 => format!("{}%", -n),
                    _ => n.to_string(),
                }
            }
        }
    )*};
}
int_value!(i32, i64, u16, u64, usize);

/// u8: the index of an enum directive's name (loglevel, as the logging
/// module numbers levels).
impl Value for u8 {
    fn store(&mut self, kind: &Kind, v: &str) {
        if let Kind::Enum(names) = kind {
            *self = names.iter().position(|n| *n == v).unwrap_or(0) as u8;
        }
    }
    fn show(&self, kind: &Kind) -> String {
        match kind {
            Kind::Enum(names) => names.get(*self as usize).copied().unwrap_or("").to_string(),
            _ => String::new(),
        }
    }
}

/// u32: the bits of a MULTI_ARG enum (Kind::Flags), the event classes of
/// notify-keyspace-events (Kind::Checked), a file mode (Kind::Octal), or a
/// number (hz, active-expire-effort).
impl Value for u32 {
    fn store(&mut self, kind: &Kind, v: &str) {
        *self = match kind {
            Kind::Flags(names) => v
                .split(' ')
                .filter_map(|w| names.iter().find(|(n, _)| *n == w))
                .fold(0, |acc, (_, bits)| acc | bits),
            Kind::Checked(_) => crate::notify::parse_flags(v).unwrap_or(0),
            Kind::Octal { .. } => u32::from_str_radix(v, 8).unwrap_or(0),
            _ => v.parse().unwrap_or(0),
        };
    }
    fn show(&self, kind: &Kind) -> String {
        match kind {
            Kind::Flags(names) => flags_name(names, *self),
            Kind::Checked(_) => crate::notify::flags_to_string(*self),
            Kind::Octal { .. } => format!("{:o}", self),
            _ => self.to_string(),
        }
    }
}

/// configEnumGetName for bit flags: the exact name of the value if there is
/// one, else the names of its bits in table order.
pub(super) fn flags_name(names: &[(&str, u32)], value: u32) -> String {
    if let Some((n, _)) = names.iter().find(|(_, v)| *v == value) {
        return n.to_string();
    }
    let mut out: Vec<&str> = Vec::new();
    let mut unmatched = value;
    for (n, v) in names {
        if *v != 0 && unmatched & v == *v {
            out.push(n);
            unmatched &= !v;
        }
    }
    if unmatched != 0 {
        "unknown".to_string()
    } else {
        out.join(" ")
    }
}

/// `save`: (seconds, changes) pairs.
impl Value for Vec<(i64, u64)> {
    fn store(&mut self, _: &Kind, v: &str) {
        let parts: Vec<&str> = v.split_whitespace().collect();
        *self = parts
            .chunks(2)
            .filter_map(|p| match p {
                [s, c] => Some((s.parse().ok()?, c.parse().ok()?)),
                _ => None,
            })
            .collect();
    }
    fn show(&self, _: &Kind) -> String {
        let words: Vec<String> = self.iter().map(|(s, c)| format!("{} {}", s, c)).collect();
        words.join(" ")
    }
}

/// `latency-tracking-info-percentiles`.
impl Value for Vec<f64> {
    fn store(&mut self, _: &Kind, v: &str) {
        *self = v.split(' ').filter_map(|p| p.parse().ok()).collect();
    }
    fn show(&self, _: &Kind) -> String {
        let words: Vec<String> = self.iter().map(|p| percentile_name(*p)).collect();
        words.join(" ")
    }
}

/// `oom-score-adj-values`: for masters, replicas and background children.
impl Value for [i32; 3] {
    fn store(&mut self, _: &Kind, v: &str) {
        for (slot, w) in self.iter_mut().zip(v.split_whitespace()) {
            *slot = w.parse().unwrap_or(0);
        }
    }
    fn show(&self, _: &Kind) -> String {
        format!("{} {} {}", self[0], self[1], self[2])
    }
}

/// `replicaof`: the master's host and port, None on a master.
impl Value for Option<(String, u16)> {
    fn store(&mut self, _: &Kind, v: &str) {
        *self = v
            .trim()
            .rsplit_once(' ')
            .and_then(|(h, p)| Some((h.trim().to_string(), p.parse().ok()?)));
    }
    fn show(&self, _: &Kind) -> String {
        self.as_ref()
            .map(|(h, p)| format!("{} {}", h, p))
            .unwrap_or_default()
    }
}

/// client-output-buffer-limit: (hard, soft, soft seconds) per class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObufLimits {
    pub normal: (u64, u64, u64),
    pub replica: (u64, u64, u64),
    pub pubsub: (u64, u64, u64),
}

/// A value sets only the classes it names; printed with all three, the
/// replica class as "slave" (as Redis prints it).
impl Value for ObufLimits {
    fn store(&mut self, _: &Kind, v: &str) {
        let parts: Vec<&str> = v.split_whitespace().collect();
        for chunk in parts.chunks_exact(4) {
            let lim = (
                parse_memory(chunk[1]).unwrap_or(0) as u64,
                parse_memory(chunk[2]).unwrap_or(0) as u64,
                chunk[3].parse().unwrap_or(0),
            );
            match chunk[0].to_ascii_lowercase().as_str() {
                "normal" => self.normal = lim,
                "pubsub" => self.pubsub = lim,
                _ => self.replica = lim,
            }
        }
    }
    fn show(&self, _: &Kind) -> String {
        let (n, r, p) = (self.normal, self.replica, self.pubsub);
        format!(
            "normal {} {} {} slave {} {} {} pubsub {} {} {}",
            n.0, n.1, n.2, r.0, r.1, r.2, p.0, p.1, p.2
        )
    }
}

/// An enum directive's type: its variants with their names, in the order
/// Redis lists them (error texts name them in that order).
macro_rules! config_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($var),+ }
        impl $name {
            pub const NAMES: &'static [&'static str] = &[$($s),+];
            const ALL: &'static [$name] = &[$($name::$var),+];
            pub fn as_str(self) -> &'static str {
                Self::NAMES[self as usize]
            }
        }
        impl Default for $name {
            fn default() -> Self {
                Self::ALL[0]
            }
        }
        impl Value for $name {
            fn store(&mut self, _: &Kind, v: &str) {
                if let Some(i) = Self::NAMES.iter().position(|n| *n == v) {
                    *self = Self::ALL[i];
                }
            }
            fn show(&self, _: &Kind) -> String {
                self.as_str().to_string()
            }
        }
    };
}

config_enum!(
    /// maxmemory-policy.
    MaxmemoryPolicy {
        VolatileLru = "volatile-lru",
        VolatileLfu = "volatile-lfu",
        VolatileRandom = "volatile-random",
        VolatileTtl = "volatile-ttl",
        AllKeysLru = "allkeys-lru",
        AllKeysLfu = "allkeys-lfu",
        AllKeysRandom = "allkeys-random",
        NoEviction = "noeviction",
    }
);
impl MaxmemoryPolicy {
    /// An LFU policy (Redis's MAXMEMORY_FLAG_LFU): objects keep LFU data.
    pub fn is_lfu(self) -> bool {
        matches!(self, Self::VolatileLfu | Self::AllKeysLfu)
    }
    /// An LRU policy (MAXMEMORY_FLAG_LRU).
    pub fn is_lru(self) -> bool {
        matches!(self, Self::VolatileLru | Self::AllKeysLru)
    }
}

config_enum!(
    /// enable-protected-configs, enable-debug-command, enable-module-command.
    ProtectedAccess { No = "no", Yes = "yes", Local = "local" }
);
config_enum!(
    /// appendfsync.
    AppendFsync { Always = "always", Everysec = "everysec", No = "no" }
);
config_enum!(
    /// supervised.
    Supervised { Upstart = "upstart", Systemd = "systemd", Auto = "auto", No = "no" }
);
config_enum!(
    /// oom-score-adj.
    OomScoreAdj { No = "no", Yes = "yes", Relative = "relative", Absolute = "absolute" }
);
config_enum!(
    /// sanitize-dump-payload.
    SanitizeDumpPayload { No = "no", Yes = "yes", Clients = "clients" }
);
config_enum!(
    /// syslog-facility.
    SyslogFacility {
        User = "user",
        Local0 = "local0",
        Local1 = "local1",
        Local2 = "local2",
        Local3 = "local3",
        Local4 = "local4",
        Local5 = "local5",
        Local6 = "local6",
        Local7 = "local7",
    }
);
config_enum!(
    /// propagation-error-behavior.
    PropagationErrorBehavior {
        Ignore = "ignore",
        Panic = "panic",
        PanicOnReplicas = "panic-on-replicas",
    }
);
config_enum!(
    /// repl-diskless-load.
    ReplDisklessLoad { Disabled = "disabled", OnEmptyDb = "on-empty-db", Swapdb = "swapdb" }
);
config_enum!(
    /// acl-pubsub-default.
    AclPubsubDefault { AllChannels = "allchannels", ResetChannels = "resetchannels" }
);
config_enum!(
    /// cluster-preferred-endpoint-type.
    ClusterEndpointType { Ip = "ip", Hostname = "hostname", UnknownEndpoint = "unknown-endpoint" }
);
config_enum!(
    /// tls-auth-clients.
    TlsAuthClients { No = "no", Yes = "yes", Optional = "optional" }
);
