//! The command table's types (Redis's `redisCommand` and the command dict):
//! a command's spec (`CommandSpec`: arity, flags, key positions, group,
//! handler, subcommands), its flags, ferrokv's own dispatcher facts
//! (`fact`, `WrittenKeys`), its ACL categories, and the table that looks
//! commands up by name. The specs themselves are registered in
//! `commands` (`commands::table`); `meta/` holds the documentation and
//! key specs generated from Redis's command JSON.
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
/// testing a CMD_* flag. Kept apart from `CommandSpec::flags` (Redis's).
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
    /// deletion): runs on values kept as bytes (`Value::Corrupt`), which
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
    /// Its `acl` categories replace the one its group implies (SORT is not
    /// @keyspace, WAIT is @connection).
    pub const OWN_CATEGORY: u32 = 1 << 15;
    /// A replica's link may get a reply to it without being dropped
    /// (REPLCONF: an ACK can release the stream).
    pub const REPLICA_MAY_REPLY: u32 = 1 << 16;
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

/// The command groups COMMAND DOCS reports (and ACL categories derive from).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Group {
    Generic,
    String,
    Bitmap,
    HyperLogLog,
    Connection,
    Server,
    List,
    Hash,
    Set,
    SortedSet,
    Geo,
    Transactions,
    PubSub,
    Scripting,
    Stream,
    Cluster,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Generic => "generic",
            Group::String => "string",
            Group::Bitmap => "bitmap",
            Group::HyperLogLog => "hyperloglog",
            Group::Connection => "connection",
            Group::Server => "server",
            Group::List => "list",
            Group::Hash => "hash",
            Group::Set => "set",
            Group::SortedSet => "sorted-set",
            Group::Geo => "geo",
            Group::Transactions => "transactions",
            Group::PubSub => "pubsub",
            Group::Scripting => "scripting",
            Group::Stream => "stream",
            Group::Cluster => "cluster",
        }
    }

    fn acl_category(self) -> &'static str {
        match self {
            Group::Generic => "@keyspace",
            Group::String => "@string",
            Group::Bitmap => "@bitmap",
            Group::HyperLogLog => "@hyperloglog",
            Group::Connection => "@connection",
            Group::Server => "",
            Group::List => "@list",
            Group::Hash => "@hash",
            Group::Set => "@set",
            Group::SortedSet => "@sortedset",
            Group::Geo => "@geo",
            Group::Transactions => "@transaction",
            Group::PubSub => "",
            Group::Scripting => "@scripting",
            Group::Stream => "@stream",
            Group::Cluster => "",
        }
    }
}

/// Everything known about one command or subcommand.
pub struct CommandSpec {
    /// Lowercase name (for a subcommand, just the subcommand part).
    pub name: &'static str,
    /// Redis arity: N = exactly N args (incl. name), -N = at least N.
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub group: Group,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub handler: Handler,
    pub subcommands: &'static [CommandSpec],
    /// Extra ACL categories beyond those derived from flags and group.
    pub acl: &'static [&'static str],
    /// ferrokv's own dispatcher facts (`fact::*`).
    pub facts: u32,
    /// The keys a write signals as modified.
    pub writes: WrittenKeys,
}

/// Builds a `CommandSpec` with defaults for the rarely set fields.
#[allow(clippy::too_many_arguments)]
pub const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    group: Group,
    since: &'static str,
    summary: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        group,
        since,
        summary,
        complexity: "",
        handler,
        subcommands: &[],
        acl: &[],
        facts: 0,
        writes: WrittenKeys::Declared,
    }
}

/// A container command (CONFIG, CLIENT, ...) whose subcommands are specs.
pub const fn container(
    name: &'static str,
    group: Group,
    since: &'static str,
    summary: &'static str,
    subcommands: &'static [CommandSpec],
) -> CommandSpec {
    CommandSpec {
        name,
        arity: -2,
        flags: 0,
        first_key: 0,
        last_key: 0,
        step: 0,
        group,
        since,
        summary,
        complexity: "",
        handler: container_placeholder,
        subcommands,
        acl: &[],
        facts: 0,
        writes: WrittenKeys::Declared,
    }
}

fn container_placeholder(_: &mut Server, _: &mut Client, _: &Args) -> CmdResult {
    Err(CmdError::Syntax)
}

/// No keys: (0, 0, 0).
pub const NOKEYS: (i32, i32, i32) = (0, 0, 0);
/// One key at position 1.
pub const KEY1: (i32, i32, i32) = (1, 1, 1);

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

    /// ACL categories as COMMAND INFO lists them.
    pub fn acl_categories(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        // A container is implicitly @slow only (plus what it declares).
        if !self.subcommands.is_empty() {
            v.push("@slow");
            v.extend_from_slice(self.acl);
            return v;
        }
        if self.flags & WRITE != 0 {
            v.push("@write");
        }
        // Redis never puts script commands in @read (setImplicitACLCategories).
        if self.flags & READONLY != 0 && self.group != Group::Scripting {
            v.push("@read");
        }
        if self.flags & ADMIN != 0 {
            v.push("@admin");
            v.push("@dangerous");
        }
        if self.flags & PUBSUB != 0 {
            v.push("@pubsub");
        }
        if self.flags & FAST != 0 {
            v.push("@fast");
        } else {
            v.push("@slow");
        }
        if self.flags & BLOCKING != 0 {
            v.push("@blocking");
        }
        let g = self.group.acl_category();
        if !g.is_empty() && self.facts & fact::OWN_CATEGORY == 0 {
            v.push(g);
        }
        v.extend_from_slice(self.acl);
        v
    }
}

/// One registered command or subcommand, with its statistics.
pub struct Entry {
    pub spec: &'static CommandSpec,
    /// "get", or "config|get" for a subcommand.
    pub fullname: String,
    pub stats: CmdStats,
    /// For containers: subcommand name -> entry index.
    pub subs: Vec<(&'static str, usize)>,
    pub parent: Option<usize>,
    /// Documentation and key specs (COMMAND DOCS / INFO / GETKEYS).
    pub meta: Option<&'static meta::Meta>,
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
    /// The table of `specs` (each with its subcommands), with their
    /// documentation and key specs from `meta`.
    pub fn new(specs: impl Iterator<Item = &'static CommandSpec>) -> CommandTable {
        let mut t = CommandTable {
            entries: Vec::new(),
            by_name: HashMap::with_hasher(FastHash),
        };
        for spec in specs {
            let idx = t.entries.len();
            t.entries.push(Entry {
                spec,
                fullname: spec.name.to_string(),
                stats: CmdStats::default(),
                subs: Vec::new(),
                parent: None,
                meta: meta::lookup(spec.name),
            });
            t.by_name.insert(spec.name.as_bytes().into(), idx);
            for sub in spec.subcommands {
                let sidx = t.entries.len();
                let fullname = format!("{}|{}", spec.name, sub.name);
                t.entries.push(Entry {
                    spec: sub,
                    meta: meta::lookup(&fullname),
                    fullname,
                    stats: CmdStats::default(),
                    subs: Vec::new(),
                    parent: Some(idx),
                });
                t.entries[idx].subs.push((sub.name, sidx));
            }
        }
        t
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
