//! The command table (Redis's `redisCommand` and the command dict). Every
//! fact Redis reports about a command (arity, flags, key positions and key
//! specs, ACL categories, tips, documentation) is in `meta/`, generated
//! from a live redis-server 7.0.15. What ferrokv registers for a command
//! (`CommandSpec`, in `commands::table`) is only what Redis does not
//! report: the handler, the flags COMMAND INFO hides, the getkeys function,
//! the channel arguments, and ferrokv's own dispatcher facts (`fact`,
//! `WrittenKeys`). `CommandTable` joins the two by full name and looks
//! commands up by name.
//!
//! It sits in the services layer, below the handlers, so that the ACL
//! check and the layers above read command facts without importing them.

pub mod meta;

use crate::client::Client;
use crate::error::{CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::{CmdStats, Server};
use std::collections::HashMap;

/// A command handler: reads `args`, writes the reply into `client.out`.
pub type Handler = fn(&mut Server, &mut Client, &Args) -> CmdResult;

/// Whether argument `i` of a command is a secret the slow log and
/// MONITOR show as "(redacted)" (the arguments Redis's handlers pass to
/// redactClientCommandArgument).
pub type Redactor = fn(&Args, usize) -> bool;

// Command flags (Redis's CMD_*). COMMAND INFO prints their names.
pub const WRITE: u32 = 1 << 0;
pub const READONLY: u32 = 1 << 1;
pub const DENYOOM: u32 = 1 << 2;
pub const ADMIN: u32 = 1 << 3;
pub const PUBSUB: u32 = 1 << 4;
pub const NOSCRIPT: u32 = 1 << 5;
pub const BLOCKING: u32 = 1 << 6;
pub const LOADING: u32 = 1 << 7;
pub const STALE: u32 = 1 << 8;
pub const SKIP_MONITOR: u32 = 1 << 9;
pub const SKIP_SLOWLOG: u32 = 1 << 10;
pub const ASKING: u32 = 1 << 11;
pub const FAST: u32 = 1 << 12;
pub const NO_AUTH: u32 = 1 << 13;
pub const MAY_REPLICATE: u32 = 1 << 14;
pub const SENTINEL: u32 = 1 << 15;
pub const NO_MANDATORY_KEYS: u32 = 1 << 16;
pub const PROTECTED: u32 = 1 << 17;
pub const NO_ASYNC_LOADING: u32 = 1 << 18;
pub const NO_MULTI: u32 = 1 << 19;
pub const MOVABLE_KEYS: u32 = 1 << 20;
pub const ALLOW_BUSY: u32 = 1 << 21;
/// SCAN, RANDOMKEY: may expire many keys (hidden in COMMAND INFO, as in Redis).
pub const TOUCHES_ARBITRARY_KEYS: u32 = 1 << 22;

/// ferrokv's own facts about a command, for the dispatcher's special
/// cases where Redis compares `c->cmd->proc` with a handler instead of
/// testing a CMD_* flag. Kept apart from Redis's flags (`Entry::flags`).
pub mod fact {
    /// EXEC: the checks that look at flags see the queued commands' too
    /// (processCommand's `proc == execCommand` terms), and refusing it
    /// discards the transaction.
    pub const RUNS_QUEUED: u32 = 1 << 0;
    /// Runs at once inside MULTI instead of being queued.
    pub const NOT_QUEUED: u32 = 1 << 1;
    /// Not refused under OOM inside MULTI (processCommand's reject_cmd_on_oom).
    pub const OOM_OK_IN_MULTI: u32 = 1 << 2;
    /// Allowed in a RESP2 subscribed context.
    pub const SUBSCRIBED_OK: u32 = 1 << 3;
    /// Refused after a persistence error although it does not write (PING).
    pub const DISK_ERROR_REFUSED: u32 = 1 << 4;
    /// Never propagates its own argv: what it runs propagates instead
    /// (EXEC and scripts: effects replication).
    pub const EFFECTS_ONLY: u32 = 1 << 5;
    /// Read-only but not tracked itself: the reads it runs record the
    /// caller's declared keys (read-only scripts, as call() does).
    pub const UNTRACKED_READ: u32 = 1 << 6;
    /// Does not end CLIENT CACHING's one-command scope (CLIENT CACHING).
    pub const KEEPS_CACHING: u32 = 1 << 7;
    /// Its confirmations are pushes, which CLIENT REPLY OFF/SKIP does not
    /// silence (Redis's CLIENT_PUSHING): (un)subscribe commands.
    pub const PUSH_REPLY: u32 = 1 << 8;
    /// Handles keys only as a whole (existence, TTL, name, serialization,
    /// deletion): runs on values kept as bytes (`ValueRef::Corrupt`), which
    /// every other command refuses. Set on a container, it covers its
    /// subcommands.
    pub const WHOLE_KEYS: u32 = 1 << 9;
    /// CMD_PROTECTED gated by enable-debug-command.
    pub const DEBUG_GATED: u32 = 1 << 10;
    /// CMD_PROTECTED gated by enable-module-command.
    pub const MODULE_GATED: u32 = 1 << 11;
    /// Runs a script given as its first argument: EVAL, EVAL_RO (its
    /// flags come from the script's shebang).
    pub const SCRIPT_BODY: u32 = 1 << 12;
    /// Runs a cached script named by SHA1: EVALSHA, EVALSHA_RO.
    pub const SCRIPT_SHA: u32 = 1 << 13;
    /// Runs a function named by its first argument: FCALL, FCALL_RO.
    pub const SCRIPT_FUNCTION: u32 = 1 << 14;
    /// A replica's link may get a reply to it without being dropped
    /// (REPLCONF: an ACK can release the stream).
    pub const REPLICA_MAY_REPLY: u32 = 1 << 16;
    /// Opens a transaction (MULTI): loading the AOF, an incomplete one is
    /// cut back to before it.
    pub const OPENS_TRANSACTION: u32 = 1 << 17;
    /// Moves keys to another node (MIGRATE): in cluster mode it runs
    /// locally on a migrating or importing slot (getNodeByQuery).
    pub const MIGRATES: u32 = 1 << 18;
}

/// Which keys a write command modifies, where that is narrower than its
/// declared key range (Redis signals only the destination of BITOP,
/// *STORE commands, PFMERGE, COPY; SORT/GEORADIUS name theirs in an option).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WrittenKeys {
    /// Every key of the declared range.
    Declared,
    /// Only the argument at this position.
    At(u8),
    /// The argument after a STORE or STOREDIST option.
    StoreOption,
    /// The handler signals the keys it changed itself (MIGRATE).
    ByHandler,
}

/// (may_replicate, sentinel and protected are never shown, as in Redis.)
pub const FLAG_NAMES: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    // (MAY_REPLICATE: hidden on purpose, as in Redis's COMMAND INFO.)
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (MOVABLE_KEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];

/// ACL categories (Redis's ACL_CATEGORY_*), as bits in Redis's order:
/// COMMAND INFO and ACL CAT list them so.
pub mod cat {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const READ: u32 = 1 << 1;
    pub const WRITE: u32 = 1 << 2;
    pub const SET: u32 = 1 << 3;
    pub const SORTEDSET: u32 = 1 << 4;
    pub const LIST: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const STRING: u32 = 1 << 7;
    pub const BITMAP: u32 = 1 << 8;
    pub const HYPERLOGLOG: u32 = 1 << 9;
    pub const GEO: u32 = 1 << 10;
    pub const STREAM: u32 = 1 << 11;
    pub const PUBSUB: u32 = 1 << 12;
    pub const ADMIN: u32 = 1 << 13;
    pub const FAST: u32 = 1 << 14;
    pub const SLOW: u32 = 1 << 15;
    pub const BLOCKING: u32 = 1 << 16;
    pub const DANGEROUS: u32 = 1 << 17;
    pub const CONNECTION: u32 = 1 << 18;
    pub const TRANSACTION: u32 = 1 << 19;
    pub const SCRIPTING: u32 = 1 << 20;
    /// The names, bit 0 first.
    pub const NAMES: &[&str] = &[
        "keyspace",
        "read",
        "write",
        "set",
        "sortedset",
        "list",
        "hash",
        "string",
        "bitmap",
        "hyperloglog",
        "geo",
        "stream",
        "pubsub",
        "admin",
        "fast",
        "slow",
        "blocking",
        "dangerous",
        "connection",
        "transaction",
        "scripting",
    ];
}

/// Where a command names Pub/Sub channels (Redis's `commands_with_channels`
/// table, keyed by handler there): the flags of every channel argument.
/// PUBLISH names one channel at argument 1; the others every argument
/// from 1 on.
pub mod chan {
    /// The arguments are patterns (matched literally by the ACL check).
    pub const PATTERN: u8 = 1 << 0;
    pub const PUBLISH: u8 = 1 << 1;
    pub const SUBSCRIBE: u8 = 1 << 2;
    pub const UNSUBSCRIBE: u8 = 1 << 3;
}

/// Commands Redis 7.0.15 has that ferrokv does not implement: the only
/// entries of the generated data without a `CommandSpec`.
pub const NOT_IMPLEMENTED: &[&str] = &["lolwut"];

/// What ferrokv registers for a command or subcommand: only what Redis's
/// COMMAND INFO / DOCS do not report. Arity, flags, key positions and key
/// specs, ACL categories and the documentation come from the generated
/// `meta` entry of the same full name.
pub struct CommandSpec {
    /// Lowercase name (for a subcommand, just the subcommand part).
    pub name: &'static str,
    pub handler: Handler,
    pub subcommands: &'static [CommandSpec],
    /// Redis's flags that COMMAND INFO hides (`HIDDEN_FLAGS`).
    pub hidden: u32,
    /// ferrokv's own dispatcher facts (`fact::*`).
    pub facts: u32,
    /// The keys a write signals as modified.
    pub writes: WrittenKeys,
    /// Redis's getkeys_proc, if the command has one.
    pub getkeys: Option<meta::GetKeys>,
    /// Its channel arguments' flags (`chan::*`), 0: none.
    pub channels: u8,
    /// The secret arguments it hides from the slow log and MONITOR.
    pub redact: Option<Redactor>,
}

/// Flags Redis keeps off COMMAND INFO: a spec adds them with `.hidden`.
pub const HIDDEN_FLAGS: u32 = MAY_REPLICATE | SENTINEL | PROTECTED | TOUCHES_ARBITRARY_KEYS;

/// A command (or subcommand) run by `handler`.
pub const fn cmd(name: &'static str, handler: Handler) -> CommandSpec {
    CommandSpec {
        name,
        handler,
        subcommands: &[],
        hidden: 0,
        facts: 0,
        writes: WrittenKeys::Declared,
        getkeys: None,
        channels: 0,
        redact: None,
    }
}

/// A container command (CONFIG, CLIENT, ...) whose subcommands are specs.
pub const fn container(name: &'static str, subcommands: &'static [CommandSpec]) -> CommandSpec {
    CommandSpec {
        subcommands,
        ..cmd(name, container_placeholder)
    }
}

fn container_placeholder(_: &mut Server, _: &mut Client, _: &Args) -> CmdResult {
    Err(CmdError::Syntax)
}

impl CommandSpec {
    /// The spec with ferrokv's facts `f` (`fact::*`) added.
    pub const fn with(mut self, f: u32) -> CommandSpec {
        self.facts |= f;
        self
    }

    /// The spec with the keys it writes narrowed to `w`.
    pub const fn writing(mut self, w: WrittenKeys) -> CommandSpec {
        self.writes = w;
        self
    }

    /// The spec with Redis's hidden flags `f` (within `HIDDEN_FLAGS`).
    pub const fn hidden(mut self, f: u32) -> CommandSpec {
        self.hidden |= f;
        self
    }

    /// The spec with Redis's getkeys function `g`.
    pub const fn getkeys(mut self, g: meta::GetKeys) -> CommandSpec {
        self.getkeys = Some(g);
        self
    }

    /// The spec naming channels with flags `c` (`chan::*`).
    pub const fn channels(mut self, c: u8) -> CommandSpec {
        self.channels = c;
        self
    }

    /// The spec hiding the arguments `r` says are secret.
    pub const fn redacting(mut self, r: Redactor) -> CommandSpec {
        self.redact = Some(r);
        self
    }
}

/// One registered command or subcommand, with its statistics.
pub struct Entry {
    /// What ferrokv registered: handler, facts...
    pub spec: &'static CommandSpec,
    /// What Redis says about it (arity, flags, keys, docs...).
    pub meta: &'static meta::Meta,
    /// Redis's flags: the reported ones and the spec's hidden ones.
    pub flags: u32,
    pub arity: i32,
    /// "get", or "config|get" for a subcommand.
    pub fullname: String,
    pub stats: CmdStats,
    /// For containers: subcommand name -> entry index.
    pub subs: Vec<(&'static str, usize)>,
    pub parent: Option<usize>,
}

impl Entry {
    fn new(spec: &'static CommandSpec, fullname: String, parent: Option<usize>) -> Entry {
        let meta = meta::lookup(&fullname).unwrap_or_else(|| {
            panic!(
                "command {} is not in Redis 7.0.15's command data (src/cmdtable/meta/data)",
                fullname
            )
        });
        assert!(
            spec.hidden & !HIDDEN_FLAGS == 0,
            "{}: COMMAND INFO reports these flags; the generated data has them",
            fullname
        );
        let prefix = format!("{}|", fullname);
        let mut want: Vec<&str> = meta::all()
            .filter_map(|m| m.name.strip_prefix(prefix.as_str()))
            .collect();
        let mut have: Vec<&str> = spec.subcommands.iter().map(|s| s.name).collect();
        want.sort_unstable();
        have.sort_unstable();
        assert_eq!(
            have, want,
            "{}: subcommands registered vs Redis's",
            fullname
        );
        Entry {
            spec,
            meta,
            flags: meta.flags | spec.hidden,
            arity: meta.arity,
            fullname,
            stats: CmdStats::default(),
            subs: Vec::new(),
            parent,
        }
    }

    /// Redis's (first, last, step) key positions.
    pub fn keys(&self) -> (i32, i32, i32) {
        self.meta.keys
    }
}

/// All commands, looked up by lowercase name.
pub struct CommandTable {
    pub entries: Vec<Entry>,
    by_name: HashMap<Box<[u8]>, usize, FastHash>,
}

/// FNV-1a for the command-name map: names are short and trusted-size.
#[derive(Default, Clone, Copy)]
pub struct FastHash;
pub struct FnvHasher(u64);
impl std::hash::BuildHasher for FastHash {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf29ce484222325)
    }
}
impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x100000001b3);
        }
    }
}

impl CommandTable {
    /// The table of `specs` (each with its subcommands), each joined with
    /// Redis's facts about it from `meta` by full name. Panics when a spec
    /// names a command (or subcommand) Redis does not have, or registers
    /// another set of subcommands than Redis's.
    pub fn new(specs: impl Iterator<Item = &'static CommandSpec>) -> CommandTable {
        let mut t = CommandTable {
            entries: Vec::new(),
            by_name: HashMap::with_hasher(FastHash),
        };
        for spec in specs {
            let idx = t.entries.len();
            t.entries
                .push(Entry::new(spec, spec.name.to_string(), None));
            let dup = t.by_name.insert(spec.name.as_bytes().into(), idx);
            assert!(dup.is_none(), "{} registered twice", spec.name);
            for sub in spec.subcommands {
                let sidx = t.entries.len();
                let fullname = format!("{}|{}", spec.name, sub.name);
                t.entries.push(Entry::new(sub, fullname, Some(idx)));
                t.entries[idx].subs.push((sub.name, sidx));
            }
        }
        t
    }

    /// Redis's commands (and subcommands) no spec registered.
    pub fn unregistered(&self) -> Vec<&'static str> {
        let have: std::collections::HashSet<&str> =
            self.entries.iter().map(|e| e.meta.name).collect();
        meta::all()
            .map(|m| m.name)
            .filter(|n| !have.contains(n))
            .collect()
    }

    /// Looks a command up by (any-case) name.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<usize> {
        let mut lower = [0u8; 64];
        if name.len() > lower.len() {
            return None;
        }
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        self.by_name.get(&lower[..name.len()]).copied()
    }

    /// Looks a command up by its full name, "get" or "config|get"
    /// (Redis's lookupCommandBySds); None for anything else.
    pub fn lookup_fullname(&self, name: &[u8]) -> Option<usize> {
        let mut parts = name.split(|&b| b == b'|');
        let base = self.lookup(parts.next()?)?;
        match (parts.next(), parts.next()) {
            (None, _) => Some(base),
            (Some(sub), None) if !self.entries[base].subs.is_empty() => self.lookup_sub(base, sub),
            _ => None,
        }
    }

    /// `rename-command old new`: the command answers to `new` only (to
    /// nothing when `new` is empty). Err carries Redis's wording.
    pub fn rename(&mut self, old: &str, new: &str) -> Result<(), &'static str> {
        let old = old.to_ascii_lowercase();
        let idx = self
            .by_name
            .remove(old.as_bytes())
            .ok_or("No such command in rename-command")?;
        if new.is_empty() {
            return Ok(());
        }
        let new = new.to_ascii_lowercase();
        if new.len() > 64 || self.by_name.contains_key(new.as_bytes()) {
            self.by_name.insert(old.as_bytes().into(), idx);
            return Err("Target command name already exists");
        }
        self.by_name.insert(new.as_bytes().into(), idx);
        Ok(())
    }

    /// Looks up a subcommand of container `idx`.
    pub fn lookup_sub(&self, idx: usize, sub: &[u8]) -> Option<usize> {
        self.entries[idx]
            .subs
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(sub))
            .map(|&(_, i)| i)
    }

    /// Resolves argv to a command entry the way Redis's lookupCommand does.
    pub fn resolve(&self, args: &Args) -> Option<usize> {
        let idx = self.lookup(args.get(0))?;
        if self.entries[idx].subs.is_empty() || args.len() < 2 {
            return Some(idx);
        }
        self.lookup_sub(idx, args.get(1))
    }

    /// Top-level commands (no subcommands), for COMMAND and the README.
    pub fn top_level(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.parent.is_none())
    }
}
