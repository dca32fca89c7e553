//! COMMAND and its subcommands: COUNT, INFO, DOCS, LIST, GETKEYS,
//! GETKEYSANDFLAGS, HELP (Redis's server.c `commandCommand` family), plus
//! the generator for README.md's list of supported commands.

use super::reply_status_lines;
use crate::client::Client;
use crate::cmdtable::{
    cat, cmd, container,
    meta::{self, keys::KeyRef},
    CommandSpec, CommandTable, Entry, FLAG_NAMES, NO_MANDATORY_KEYS,
};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::protocol::reply::ReplyBuf;
use crate::server::Server;
use crate::util::glob::string_match;

static SUBCOMMANDS: &[CommandSpec] = &[
    cmd("count", command_count),
    cmd("docs", command_docs),
    cmd("getkeys", command_getkeys),
    cmd("getkeysandflags", command_getkeysandflags),
    cmd("help", command_help),
    cmd("info", command_info),
    cmd("list", command_list),
];

/// COMMAND itself is callable without a subcommand (arity -1).
pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    handler: command_all,
    ..container("command", SUBCOMMANDS)
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

/// Finds a command by name or by "container|sub" (Redis's
/// lookupCommandBySds).
fn lookup_by_fullname(t: &CommandTable, name: &[u8]) -> Option<usize> {
    t.lookup_fullname(name)
}

/// One COMMAND INFO entry: name, arity, flags, first, last, step, ACL
/// categories, tips, key specs, subcommands.
fn reply_info(out: &mut ReplyBuf, t: &CommandTable, idx: usize) {
    let e = &t.entries[idx];
    let m = e.meta;
    out.array(10);
    out.bulk_str(&e.fullname);
    out.int(m.arity as i64);
    let nflags = FLAG_NAMES.iter().filter(|(f, _)| m.flags & f != 0).count();
    out.set(nflags);
    for (f, name) in FLAG_NAMES {
        if m.flags & f != 0 {
            out.simple(name);
        }
    }
    out.int(m.keys.0 as i64);
    out.int(m.keys.1 as i64);
    out.int(m.keys.2 as i64);
    out.set(m.acl.count_ones() as usize);
    for (bit, name) in cat::NAMES.iter().enumerate() {
        if m.acl & (1 << bit) != 0 {
            out.simple(&format!("@{}", name));
        }
    }
    meta::reply_tips(out, m);
    meta::reply_key_specs(out, m);
    if e.subs.is_empty() {
        out.set(0);
    } else {
        out.array(e.subs.len());
        for &(_, sub) in &e.subs {
            reply_info(out, t, sub);
        }
    }
}

/// One COMMAND DOCS value: the documentation (summary, since, group,
/// complexity, history, arguments...), then the subcommands.
fn reply_docs(out: &mut ReplyBuf, t: &CommandTable, idx: usize) {
    let e = &t.entries[idx];
    meta::reply_docs(out, e.meta, !e.subs.is_empty());
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
                cat::NAMES.iter().enumerate().any(|(bit, n)| {
                    e.meta.acl & (1 << bit) != 0 && n.as_bytes().eq_ignore_ascii_case(&arg)
                })
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
    if !meta::keys::has_keys(e.meta, e.spec.getkeys) {
        return Err(CmdError::Static(error::COMMAND_NO_KEYS));
    }
    let arity = e.arity;
    if (arity > 0 && arity as usize != n) || (n as i32) < -arity {
        return Err(CmdError::Static(error::INVALID_COMMAND_ARGC));
    }
    let argv: Vec<&[u8]> = (2..args.len()).map(|i| args.get(i)).collect();
    let keys = meta::keys::get_keys(e.meta, e.spec.getkeys, &argv);
    if keys.is_empty() && e.flags & NO_MANDATORY_KEYS == 0 {
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
        let g = e.meta.group;
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
    fn fullname_lookup() {
        let t = crate::commands::table();
        assert!(lookup_by_fullname(&t, b"config|get").is_some());
        assert!(lookup_by_fullname(&t, b"CONFIG").is_some());
        assert!(lookup_by_fullname(&t, b"config|nope").is_none());
    }
}
