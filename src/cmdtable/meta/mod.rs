//! What Redis 7.0.15 says about every command and subcommand it has, as
//! COMMAND INFO and COMMAND DOCS report it: arity, flags, key positions,
//! ACL categories, tips, key specs, and the documentation (summary, since,
//! group, complexity, doc flags, deprecation, history, arguments); `keys`
//! finds a command's keys from its key specs, or with Redis's getkeys
//! functions (COMMAND GETKEYS/GETKEYSANDFLAGS, the ACL check).
//!
//! `data.rs` and `data/part_*.rs` are generated from a live redis-server
//! 7.0.15 by tests/support/command_table_gen.rs (the integration test
//! `command_table::generated_command_table_is_redis` checks them, and
//! rewrites them with FERROKV_REGEN_COMMAND_TABLE=1); this file holds
//! their types, the lookup by full name and the COMMAND INFO / DOCS
//! replies built from them.

pub mod keys;

#[rustfmt::skip]
mod data;

use crate::protocol::reply::ReplyBuf;

/// One command's (or subcommand's) facts, as Redis reports them.
pub struct Meta {
    /// Full name, lowercase: "get", "config|get".
    pub name: &'static str,
    /// N = exactly N args (with the name), -N = at least N.
    pub arity: i32,
    /// Redis's flags (crate::cmdtable::WRITE...), those COMMAND INFO shows.
    pub flags: u32,
    /// COMMAND INFO's first key, last key, step.
    pub keys: (i32, i32, i32),
    /// ACL categories (crate::cmdtable::cat bits).
    pub acl: u32,
    pub tips: &'static [&'static str],
    pub summary: Option<&'static str>,
    pub since: Option<&'static str>,
    pub group: &'static str,
    pub complexity: Option<&'static str>,
    pub doc_flags: u8,
    pub deprecated_since: Option<&'static str>,
    pub replaced_by: Option<&'static str>,
    pub history: &'static [(&'static str, &'static str)],
    pub key_specs: &'static [KeySpec],
    pub args: &'static [Arg],
}

/// Key-spec flags (CMD_KEY_*), in the order Redis prints them.
pub mod kf {
    pub const RO: u16 = 1 << 0;
    pub const RW: u16 = 1 << 1;
    pub const OW: u16 = 1 << 2;
    pub const RM: u16 = 1 << 3;
    pub const ACCESS: u16 = 1 << 4;
    pub const UPDATE: u16 = 1 << 5;
    pub const INSERT: u16 = 1 << 6;
    pub const DELETE: u16 = 1 << 7;
    pub const NOT_KEY: u16 = 1 << 8;
    pub const INCOMPLETE: u16 = 1 << 9;
    pub const VARIABLE_FLAGS: u16 = 1 << 10;
    pub const NAMES: &[(u16, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// Argument flags (CMD_ARG_*).
pub mod af {
    pub const OPTIONAL: u8 = 1 << 0;
    pub const MULTIPLE: u8 = 1 << 1;
    pub const MULTIPLE_TOKEN: u8 = 1 << 2;
    pub const NAMES: &[(u8, &str)] = &[
        (OPTIONAL, "optional"),
        (MULTIPLE, "multiple"),
        (MULTIPLE_TOKEN, "multiple_token"),
    ];
}

/// Command doc flags (CMD_DOC_*).
pub mod df {
    pub const DEPRECATED: u8 = 1 << 0;
    pub const SYSCMD: u8 = 1 << 1;
    pub const NAMES: &[(u8, &str)] = &[(DEPRECATED, "deprecated"), (SYSCMD, "syscmd")];
}

/// Where a key spec's search starts.
pub enum BeginSearch {
    Unknown,
    /// At this argument index.
    Index(i32),
    /// After this keyword, searched from `startfrom` (negative: from the
    /// end, backwards).
    Keyword(&'static str, i32),
}

/// How a key spec finds its keys once the search began.
pub enum FindKeys {
    Unknown,
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
}

pub struct KeySpec {
    pub notes: Option<&'static str>,
    pub flags: u16,
    pub bs: BeginSearch,
    pub fk: FindKeys,
}

/// Redis's getkeys_proc functions (db.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GetKeys {
    /// genericGetKeys: a key count at `count`, keys from `first`, and a
    /// destination key at `store` (0: none).
    Generic {
        store: u8,
        count: u8,
        first: u8,
    },
    Sort,
    SortRo,
    Migrate,
    Georadius,
    Xread,
    Set,
    Bitfield,
}

impl GetKeys {
    /// sintercardGetKeys, zunionInterDiffGetKeys, lmpopGetKeys,
    /// zmpopGetKeys: numkeys at 1, the keys after it.
    pub const NUMKEYS_AT_1: GetKeys = GetKeys::Generic {
        store: 0,
        count: 1,
        first: 2,
    };
    /// evalGetKeys, functionGetKeys, blmpopGetKeys: numkeys at 2.
    pub const NUMKEYS_AT_2: GetKeys = GetKeys::Generic {
        store: 0,
        count: 2,
        first: 3,
    };
    /// zunionInterDiffStoreGetKeys: a destination at 1, numkeys at 2.
    pub const STORE_NUMKEYS: GetKeys = GetKeys::Generic {
        store: 1,
        count: 2,
        first: 3,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    String,
    Integer,
    Double,
    Key,
    Pattern,
    UnixTime,
    PureToken,
    OneOf,
    Block,
}

impl ArgKind {
    fn name(self) -> &'static str {
        match self {
            ArgKind::String => "string",
            ArgKind::Integer => "integer",
            ArgKind::Double => "double",
            ArgKind::Key => "key",
            ArgKind::Pattern => "pattern",
            ArgKind::UnixTime => "unix-time",
            ArgKind::PureToken => "pure-token",
            ArgKind::OneOf => "oneof",
            ArgKind::Block => "block",
        }
    }
}

/// One documented argument.
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgKind,
    pub key_spec_index: i32,
    pub token: Option<&'static str>,
    pub summary: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    pub flags: u8,
    pub args: &'static [Arg],
}

/// Every command and subcommand Redis has, by full name.
pub fn all() -> impl Iterator<Item = &'static Meta> {
    data::PARTS.iter().flat_map(|p| p.iter())
}

/// The metadata of a command by full name ("get", "config|get").
pub fn lookup(fullname: &str) -> Option<&'static Meta> {
    data::PARTS.into_iter().find_map(|part| {
        part.binary_search_by(|m| m.name.cmp(fullname))
            .ok()
            .map(|i| &part[i])
    })
}

/// A set of flag names, in table order.
fn reply_flag_set<T: Copy + std::ops::BitAnd<Output = T> + PartialEq + Default>(
    out: &mut ReplyBuf,
    flags: T,
    names: &[(T, &str)],
) {
    let on = |f: T| flags & f != T::default();
    out.set(names.iter().filter(|(f, _)| on(*f)).count());
    for (f, n) in names {
        if on(*f) {
            out.simple(n);
        }
    }
}

/// The key-spec flags as a set (addReplyFlagsForKeyArgs).
pub fn reply_key_flags(out: &mut ReplyBuf, flags: u16) {
    reply_flag_set(out, flags, kf::NAMES);
}

/// COMMAND INFO's tips (a set of strings).
pub fn reply_tips(out: &mut ReplyBuf, m: &Meta) {
    out.set(m.tips.len());
    for t in m.tips {
        out.bulk_str(t);
    }
}

/// COMMAND INFO's key specs (addReplyCommandKeySpecs).
pub fn reply_key_specs(out: &mut ReplyBuf, m: &Meta) {
    out.set(m.key_specs.len());
    for ks in m.key_specs {
        out.map(3 + ks.notes.is_some() as usize);
        if let Some(n) = ks.notes {
            out.bulk_str("notes");
            out.bulk_str(n);
        }
        out.bulk_str("flags");
        reply_key_flags(out, ks.flags);
        out.bulk_str("begin_search");
        out.map(2);
        out.bulk_str("type");
        match ks.bs {
            BeginSearch::Unknown => {
                out.bulk_str("unknown");
                out.bulk_str("spec");
                out.map(0);
            }
            BeginSearch::Index(pos) => {
                out.bulk_str("index");
                out.bulk_str("spec");
                out.map(1);
                out.bulk_str("index");
                out.int(pos as i64);
            }
            BeginSearch::Keyword(kw, from) => {
                out.bulk_str("keyword");
                out.bulk_str("spec");
                out.map(2);
                out.bulk_str("keyword");
                out.bulk_str(kw);
                out.bulk_str("startfrom");
                out.int(from as i64);
            }
        }
        out.bulk_str("find_keys");
        out.map(2);
        out.bulk_str("type");
        let fields: [(&str, i32); 3] = match ks.fk {
            FindKeys::Unknown => {
                out.bulk_str("unknown");
                out.bulk_str("spec");
                out.map(0);
                continue;
            }
            FindKeys::Range {
                lastkey,
                step,
                limit,
            } => {
                out.bulk_str("range");
                [("lastkey", lastkey), ("keystep", step), ("limit", limit)]
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                step,
            } => {
                out.bulk_str("keynum");
                [
                    ("keynumidx", keynumidx),
                    ("firstkey", firstkey),
                    ("keystep", step),
                ]
            }
        };
        out.bulk_str("spec");
        out.map(3);
        for (name, v) in fields {
            out.bulk_str(name);
            out.int(v as i64);
        }
    }
}

/// An argument list (addReplyCommandArgList).
fn reply_args(out: &mut ReplyBuf, args: &[Arg]) {
    out.array(args.len());
    for a in args {
        let nested = matches!(a.kind, ArgKind::OneOf | ArgKind::Block);
        let n = 2
            + (a.key_spec_index != -1) as usize
            + [a.token, a.summary, a.since, a.deprecated_since]
                .iter()
                .filter(|f| f.is_some())
                .count()
            + (a.flags != 0) as usize
            + nested as usize;
        out.map(n);
        out.bulk_str("name");
        out.bulk_str(a.name);
        out.bulk_str("type");
        out.bulk_str(a.kind.name());
        if a.key_spec_index != -1 {
            out.bulk_str("key_spec_index");
            out.int(a.key_spec_index as i64);
        }
        for (field, v) in [
            ("token", a.token),
            ("summary", a.summary),
            ("since", a.since),
            ("deprecated_since", a.deprecated_since),
        ] {
            if let Some(v) = v {
                out.bulk_str(field);
                out.bulk_str(v);
            }
        }
        if a.flags != 0 {
            out.bulk_str("flags");
            reply_flag_set(out, a.flags, af::NAMES);
        }
        if nested {
            out.bulk_str("arguments");
            reply_args(out, a.args);
        }
    }
}

/// A COMMAND DOCS entry (addReplyCommandDocs) without its subcommands:
/// `subs` is how many follow, written by the caller after this.
pub fn reply_docs(out: &mut ReplyBuf, m: &Meta, has_subs: bool) {
    let n = 1
        + [m.summary, m.since, m.complexity]
            .iter()
            .filter(|f| f.is_some())
            .count()
        + (m.doc_flags != 0) as usize
        + m.deprecated_since.is_some() as usize
        + m.replaced_by.is_some() as usize
        + !m.history.is_empty() as usize
        + !m.args.is_empty() as usize
        + has_subs as usize;
    out.map(n);
    for (field, v) in [("summary", m.summary), ("since", m.since)] {
        if let Some(v) = v {
            out.bulk_str(field);
            out.bulk_str(v);
        }
    }
    out.bulk_str("group");
    out.bulk_str(m.group);
    if let Some(c) = m.complexity {
        out.bulk_str("complexity");
        out.bulk_str(c);
    }
    if m.doc_flags != 0 {
        out.bulk_str("doc_flags");
        reply_flag_set(out, m.doc_flags, df::NAMES);
    }
    for (field, v) in [
        ("deprecated_since", m.deprecated_since),
        ("replaced_by", m.replaced_by),
    ] {
        if let Some(v) = v {
            out.bulk_str(field);
            out.bulk_str(v);
        }
    }
    if !m.history.is_empty() {
        out.bulk_str("history");
        out.set(m.history.len());
        for (since, change) in m.history {
            out.array(2);
            out.bulk_str(since);
            out.bulk_str(change);
        }
    }
    if !m.args.is_empty() {
        out.bulk_str("arguments");
        reply_args(out, m.args);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdtable::MOVABLE_KEYS;

    #[test]
    fn sorted_and_found() {
        for part in data::PARTS {
            assert!(part.windows(2).all(|w| w[0].name < w[1].name));
        }
        assert!(lookup("get").is_some());
        assert!(lookup("config|get").is_some());
        assert!(lookup("zunionstore").is_some());
        assert!(lookup("acl").is_some());
        assert!(lookup("nosuch").is_none());
    }

    /// Redis's populateCommandLegacyRangeSpec: (first, last, step) and
    /// whether the key specs make the command movablekeys.
    fn legacy_range(m: &Meta) -> ((i32, i32, i32), bool) {
        let specs = m.key_specs;
        if specs.is_empty() {
            return ((0, 0, 0), false);
        }
        let range = |ks: &KeySpec| match (&ks.bs, &ks.fk) {
            (BeginSearch::Index(p), FindKeys::Range { lastkey, step, .. }) => {
                Some((*p, *lastkey, *step))
            }
            _ => None,
        };
        if specs.len() == 1 {
            if let Some((p, last, step)) = range(&specs[0]) {
                let last = if last >= 0 { last + p } else { last };
                return ((p, last, step), specs[0].flags & kf::INCOMPLETE != 0);
            }
        }
        let (mut first, mut last, mut prev_last) = (i32::MAX, 0i32, 0i32);
        let mut movable = false;
        for ks in specs {
            let Some((p, lk, step)) = range(ks) else {
                movable = true;
                continue;
            };
            if step != 1 || (prev_last != 0 && prev_last != p - 1) {
                movable = true;
                continue;
            }
            movable |= ks.flags & kf::INCOMPLETE != 0;
            first = first.min(p);
            let abs = if lk >= 0 { lk + p } else { lk };
            last = (last as u32).max(abs as u32) as i32;
            prev_last = last;
        }
        if first == i32::MAX {
            return ((0, 0, 0), true);
        }
        ((first, last, 1), movable)
    }

    /// Our reading of key specs agrees with Redis's own legacy range and
    /// movablekeys flag; a command whose key specs cannot find all its
    /// keys with their flags has a getkeys function, and only a movable
    /// command or one whose key flags vary has one (as in Redis).
    #[test]
    fn key_ranges_agree_with_key_specs() {
        let t = crate::commands::table();
        let mut bad = Vec::new();
        for e in &t.entries {
            let m = e.meta;
            let (range, movable_specs) = legacy_range(m);
            let movable = m.flags & MOVABLE_KEYS != 0;
            let specs_fall_short = m.key_specs.iter().any(|k| {
                k.flags & (kf::INCOMPLETE | kf::VARIABLE_FLAGS) != 0
                    || matches!(k.bs, BeginSearch::Unknown)
            });
            let varflags = m
                .key_specs
                .iter()
                .any(|k| k.flags & kf::VARIABLE_FLAGS != 0);
            if m.keys != range
                || movable != movable_specs
                || (specs_fall_short && e.spec.getkeys.is_none())
                || (e.spec.getkeys.is_some() && !movable && !varflags)
            {
                bad.push(format!(
                    "{}: INFO {:?} movable {}, key specs {:?} movable {}, getkeys {:?}",
                    e.fullname, m.keys, movable, range, movable_specs, e.spec.getkeys
                ));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }
}
