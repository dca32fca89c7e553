//! COMMAND and its subcommands: COUNT, INFO, DOCS, LIST, GETKEYS,
//! GETKEYSANDFLAGS, HELP (Redis's server.c `commandCommand` family), plus
//! the generator for README.md's list of supported commands.

use super::reply_status_lines;
use crate::client::Client;
use crate::cmdtable::{
    container,
    meta::{self, keys::KeyRef},
    spec, CommandSpec, CommandTable, Entry, Group, FLAG_NAMES, LOADING, MOVABLE_KEYS, NOKEYS,
    NO_MANDATORY_KEYS, READONLY, STALE, WRITE,
};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::protocol::reply::ReplyBuf;
use crate::server::Server;
use crate::util::glob::string_match;

const G: Group = Group::Server;
const F: u32 = LOADING | STALE;
const ACL: &[&str] = &["@connection"];

static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        complexity: "O(1)",
        acl: ACL,
        ..spec(
            "count",
            2,
            F,
            NOKEYS,
            G,
            "2.8.13",
            "Get total number of Redis commands",
            command_count,
        )
    },
    CommandSpec {
        complexity: "O(N) where N is the number of commands to look up",
        acl: ACL,
        ..spec(
            "docs",
            -2,
            F,
            NOKEYS,
            G,
            "7.0.0",
            "Get array of specific Redis command documentation",
            command_docs,
        )
    },
    CommandSpec {
        complexity: "O(N) where N is the number of arguments to the command",
        acl: ACL,
        ..spec(
            "getkeys",
            -4,
            F,
            NOKEYS,
            G,
            "2.8.13",
            "Extract keys given a full Redis command",
            command_getkeys,
        )
    },
    CommandSpec {
        complexity: "O(N) where N is the number of arguments to the command",
        acl: ACL,
        ..spec(
            "getkeysandflags",
            -4,
            F,
            NOKEYS,
            G,
            "7.0.0",
            "Extract keys and access flags given a full Redis command",
            command_getkeysandflags,
        )
    },
    CommandSpec {
        complexity: "O(1)",
        acl: ACL,
        ..spec(
            "help",
            2,
            F,
            NOKEYS,
            G,
            "5.0.0",
            "Show helpful text about the different subcommands",
            command_help,
        )
    },
    CommandSpec {
        complexity: "O(N) where N is the number of commands to look up",
        acl: ACL,
        ..spec(
            "info",
            -2,
            F,
            NOKEYS,
            G,
            "2.8.13",
            "Get array of specific Redis command details, or all when no argument is given.",
            command_info,
        )
    },
    CommandSpec {
        complexity: "O(N) where N is the total number of Redis commands",
        acl: ACL,
        ..spec(
            "list",
            -2,
            F,
            NOKEYS,
            G,
            "7.0.0",
            "Get an array of Redis command names",
            command_list,
        )
    },
];

/// COMMAND itself is callable without a subcommand (arity -1).
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    arity: -1,
    flags: F,
    complexity: "O(N) where N is the total number of Redis commands",
    acl: ACL,
    handler: command_all,
    ..container(
        "command",
        G,
        "2.8.13",
        "Get array of Redis command details",
        SUBCOMMANDS,
    )
}];

const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// Redis lists ACL categories in the order of its category bits.
const ACL_ORDER: &[&str] = &[
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@hash",
    "@string",
    "@bitmap",
    "@hyperloglog",
    "@geo",
    "@stream",
    "@pubsub",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
    "@scripting",
];

/// Finds a command by name or by "container|sub" (Redis's
/// lookupCommandBySds).
fn lookup_by_fullname(t: &CommandTable, name: &[u8]) -> Option<usize> {
    t.lookup_fullname(name)
}

/// Key-spec flags derived from the command flags.
fn key_flags(spec: &CommandSpec) -> &'static [&'static str] {
    if spec.flags & WRITE != 0 {
        &["RW"]
    } else if spec.flags & READONLY != 0 {
        &["RO", "access"]
    } else {
        &[]
    }
}

fn reply_key_spec(out: &mut ReplyBuf, s: &CommandSpec) {
    let flags = key_flags(s);
    out.map(3);
    out.bulk_str("flags");
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.bulk_str("begin_search");
    out.map(2);
    out.bulk_str("type");
    out.bulk_str("index");
    out.bulk_str("spec");
    out.map(1);
    out.bulk_str("index");
    out.int(s.first_key as i64);
    out.bulk_str("find_keys");
    out.map(2);
    out.bulk_str("type");
    out.bulk_str("range");
    out.bulk_str("spec");
    out.map(3);
    out.bulk_str("lastkey");
    let last = if s.last_key < 0 {
        s.last_key
    } else {
        s.last_key - s.first_key
    };
    out.int(last as i64);
    out.bulk_str("keystep");
    out.int(s.step as i64);
    out.bulk_str("limit");
    out.int(0);
}

/// One COMMAND INFO entry: name, arity, flags, first, last, step, ACL
/// categories, tips, key specs, subcommands.
fn reply_info(out: &mut ReplyBuf, t: &CommandTable, idx: usize) {
    let e = &t.entries[idx];
    let s = e.spec;
    out.array(10);
    out.bulk_str(&e.fullname);
    out.int(s.arity as i64);
    let nflags = FLAG_NAMES.iter().filter(|(f, _)| s.flags & f != 0).count();
    out.set(nflags);
    for (f, name) in FLAG_NAMES {
        if s.flags & f != 0 {
            out.simple(name);
        }
    }
    out.int(s.first_key as i64);
    out.int(s.last_key as i64);
    out.int(s.step as i64);
    let mut cats = s.acl_categories();
    cats.sort_by_key(|c| {
        ACL_ORDER
            .iter()
            .position(|o| o == c)
            .unwrap_or(ACL_ORDER.len())
    });
    out.set(cats.len());
    for cat in cats {
        out.simple(cat);
    }
    match e.meta {
        Some(m) => {
            meta::reply_tips(out, m);
            meta::reply_key_specs(out, m);
        }
        None => {
            out.set(0);
            if s.first_key > 0 {
                out.set(1);
                reply_key_spec(out, s);
            } else {
                out.set(0);
            }
        }
    }
    if e.subs.is_empty() {
        out.set(0);
    } else {
        out.array(e.subs.len());
        for &(_, sub) in &e.subs {
            reply_info(out, t, sub);
        }
    }
}

/// One COMMAND DOCS value: the generated documentation (summary, since,
/// group, complexity, history, arguments...) or, for a command Redis does
/// not have, what the table says; then the subcommands.
fn reply_docs(out: &mut ReplyBuf, t: &CommandTable, idx: usize) {
    let e = &t.entries[idx];
    let s = e.spec;
    if let Some(m) = e.meta {
        meta::reply_docs(out, m, !e.subs.is_empty());
    } else {
        let n = 3 + (!s.complexity.is_empty()) as usize + (!e.subs.is_empty()) as usize;
        out.map(n);
        out.bulk_str("summary");
        out.bulk_str(s.summary);
        out.bulk_str("since");
        out.bulk_str(s.since);
        out.bulk_str("group");
        out.bulk_str(s.group.name());
        if !s.complexity.is_empty() {
            out.bulk_str("complexity");
            out.bulk_str(s.complexity);
        }
    }
    if !e.subs.is_empty() {
        out.bulk_str("subcommands");
        out.map(e.subs.len());
        for &(_, sub) in &e.subs {
            out.bulk_str(&t.entries[sub].fullname);
            reply_docs(out, t, sub);
        }
    }
}

fn top_level_indices(t: &CommandTable) -> Vec<usize> {
    (0..t.entries.len())
        .filter(|&i| t.entries[i].parent.is_none())
        .collect()
}

fn command_all(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let idx = top_level_indices(&srv.commands);
    c.out.array(idx.len());
    for i in idx {
        reply_info(&mut c.out, &srv.commands, i);
    }
    Ok(())
}

fn command_count(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.out.int(srv.commands.top_level().count() as i64);
    Ok(())
}

fn command_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    reply_status_lines(c, HELP);
    Ok(())
}

fn command_info(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() == 2 {
        return command_all(srv, c, args);
    }
    c.out.array(args.len() - 2);
    for name in args.iter().skip(2) {
        match lookup_by_fullname(&srv.commands, name) {
            Some(i) => reply_info(&mut c.out, &srv.commands, i),
            None => c.out.null(),
        }
    }
    Ok(())
}

fn command_docs(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let t = &srv.commands;
    let idx: Vec<usize> = if args.len() == 2 {
        top_level_indices(t)
    } else {
        args.iter()
            .skip(2)
            .filter_map(|n| lookup_by_fullname(t, n))
            .collect()
    };
    c.out.map(idx.len());
    for i in idx {
        c.out.bulk_str(&t.entries[i].fullname);
        reply_docs(&mut c.out, t, i);
    }
    Ok(())
}

fn command_list(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let t = &srv.commands;
    let keep: Box<dyn Fn(&Entry) -> bool> = if args.len() == 2 {
        Box::new(|_| true)
    } else if args.len() == 5 && args.is(2, "filterby") {
        let arg = args.get(4).to_vec();
        if args.is(3, "module") {
            Box::new(|_| false)
        } else if args.is(3, "aclcat") {
            Box::new(move |e: &Entry| {
                e.spec
                    .acl_categories()
                    .iter()
                    .any(|cat| cat.as_bytes()[1..].eq_ignore_ascii_case(&arg))
            })
        } else if args.is(3, "pattern") {
            Box::new(move |e: &Entry| string_match(&arg, e.fullname.as_bytes(), true))
        } else {
            return Err(CmdError::Syntax);
        }
    } else {
        return Err(CmdError::Syntax);
    };
    let names: Vec<&str> = t
        .entries
        .iter()
        .filter(|e| keep(e))
        .map(|e| e.fullname.as_str())
        .collect();
    c.out.array(names.len());
    for n in names {
        c.out.bulk_str(n);
    }
    Ok(())
}

/// Positions of the keys in `argv` (the full command) for `spec`.
fn key_positions(s: &CommandSpec, argc: usize) -> Vec<usize> {
    let mut v = Vec::new();
    if s.first_key <= 0 || s.step <= 0 {
        return v;
    }
    let argc = argc as i32;
    let last = if s.last_key < 0 {
        argc + s.last_key
    } else {
        s.last_key
    };
    let mut i = s.first_key;
    while i <= last && i < argc {
        v.push(i as usize);
        i += s.step;
    }
    v
}

/// Shared part of GETKEYS / GETKEYSANDFLAGS (getKeysSubcommandImpl): the
/// keys of the command in `args[2..]`, positions relative to `args`.
fn getkeys_common(srv: &Server, args: &Args) -> Result<Vec<KeyRef>, CmdError> {
    let t = &srv.commands;
    let n = args.len() - 2;
    let mut idx = t
        .lookup(args.get(2))
        .ok_or(CmdError::Static(error::INVALID_COMMAND_SPECIFIED))?;
    if !t.entries[idx].subs.is_empty() && n >= 2 {
        idx = t
            .lookup_sub(idx, args.get(3))
            .ok_or(CmdError::Static(error::INVALID_COMMAND_SPECIFIED))?;
    }
    let e = &t.entries[idx];
    let s = e.spec;
    let movable = s.flags & MOVABLE_KEYS != 0;
    let has_keys = match e.meta {
        Some(m) => meta::keys::has_keys(m),
        None => s.first_key > 0 || movable,
    };
    if !has_keys {
        return Err(CmdError::Static(error::COMMAND_NO_KEYS));
    }
    let arity = s.arity;
    if (arity > 0 && arity as usize != n) || (n as i32) < -arity {
        return Err(CmdError::Static(error::INVALID_COMMAND_ARGC));
    }
    let argv: Vec<&[u8]> = (2..args.len()).map(|i| args.get(i)).collect();
    let keys = match e.meta {
        Some(m) => meta::keys::get_keys(m, arity, &argv),
        None => fallback_keys(srv, idx, &argv),
    };
    if keys.is_empty() && s.flags & NO_MANDATORY_KEYS == 0 {
        return Err(CmdError::Static(error::INVALID_COMMAND_ARGS));
    }
    Ok(keys
        .into_iter()
        .map(|k| KeyRef {
            pos: k.pos + 2,
            flags: k.flags,
        })
        .collect())
}

/// Keys of a command without generated key specs: its key range, or for
/// movable keys the extraction ACL checks use; flags from the command's.
fn fallback_keys(srv: &Server, idx: usize, argv: &[&[u8]]) -> Vec<KeyRef> {
    let s = srv.commands.entries[idx].spec;
    let flags = if s.flags & WRITE != 0 {
        meta::kf::RW
    } else if s.flags & READONLY != 0 {
        meta::kf::RO | meta::kf::ACCESS
    } else {
        0
    };
    let mut pos: Vec<usize> = if s.flags & MOVABLE_KEYS != 0 {
        crate::acl::key_refs(&srv.acl.cmds[idx], argv)
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    } else {
        key_positions(s, argv.len())
    };
    pos.sort_unstable();
    pos.dedup();
    pos.into_iter().map(|pos| KeyRef { pos, flags }).collect()
}

fn command_getkeys(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let keys = getkeys_common(srv, args)?;
    c.out.array(keys.len());
    for k in keys {
        c.out.bulk(args.get(k.pos));
    }
    Ok(())
}

fn command_getkeysandflags(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let keys = getkeys_common(srv, args)?;
    c.out.array(keys.len());
    for k in keys {
        c.out.array(2);
        c.out.bulk(args.get(k.pos));
        meta::reply_key_flags(&mut c.out, k.flags);
    }
    Ok(())
}

/// The README's "Supported commands" block: one table row per group.
pub fn supported_commands_markdown(table: &CommandTable) -> String {
    let mut rows: Vec<(&'static str, Vec<String>)> = Vec::new();
    for e in table.top_level() {
        let g = e.spec.group.name();
        let mut item = format!("`{}`", e.spec.name.to_ascii_uppercase());
        if !e.subs.is_empty() {
            let mut subs: Vec<String> =
                e.subs.iter().map(|(n, _)| n.to_ascii_uppercase()).collect();
            subs.sort();
            item.push_str(&format!(" ({})", subs.join(", ")));
        }
        match rows.iter_mut().find(|(name, _)| *name == g) {
            Some((_, v)) => v.push(item),
            None => rows.push((g, vec![item])),
        }
    }
    rows.sort_by(|a, b| a.0.cmp(b.0));
    let total = table.top_level().count();
    let mut s = format!(
        "ferrokv implements {} commands (`COMMAND COUNT`).\n\n| Group | Commands |\n|---|---|\n",
        total
    );
    for (g, mut items) in rows {
        items.sort_by(|a, b| a.trim_matches('`').cmp(b.trim_matches('`')));
        s.push_str(&format!("| {} | {} |\n", g, items.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = "<!-- commands:start -->\n";
    const END: &str = "<!-- commands:end -->";

    fn readme_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")
    }

    /// (before block, block, after block) of README.md.
    fn split_readme(text: &str) -> (&str, &str, &str) {
        let a = text
            .find(START)
            .expect("README.md lacks <!-- commands:start -->")
            + START.len();
        let b = text[a..]
            .find(END)
            .expect("README.md lacks <!-- commands:end -->")
            + a;
        (&text[..a], &text[a..b], &text[b..])
    }

    #[test]
    fn readme_command_list_is_current() {
        let text = std::fs::read_to_string(readme_path()).expect("read README.md");
        let (_, block, _) = split_readme(&text);
        let want = supported_commands_markdown(&crate::commands::table());
        assert_eq!(
            block, want,
            "README.md command list is stale: run `cargo test regenerate_readme_command_list -- --ignored`"
        );
    }

    #[test]
    #[ignore]
    fn regenerate_readme_command_list() {
        let text = std::fs::read_to_string(readme_path()).expect("read README.md");
        let (before, _, after) = split_readme(&text);
        let want = supported_commands_markdown(&crate::commands::table());
        std::fs::write(readme_path(), format!("{}{}{}", before, want, after))
            .expect("write README.md");
    }

    #[test]
    fn key_positions_ranges() {
        let t = crate::commands::table();
        let get = t.entries[t.lookup(b"get").unwrap()].spec;
        assert_eq!(key_positions(get, 2), vec![1]);
        if let Some(i) = t.lookup(b"mset") {
            assert_eq!(key_positions(t.entries[i].spec, 5), vec![1, 3]);
        }
    }

    #[test]
    fn fullname_lookup() {
        let t = crate::commands::table();
        assert!(lookup_by_fullname(&t, b"config|get").is_some());
        assert!(lookup_by_fullname(&t, b"CONFIG").is_some());
        assert!(lookup_by_fullname(&t, b"config|nope").is_none());
    }
}
