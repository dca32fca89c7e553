//! The ACL command (SETUSER GETUSER DELUSER USERS LIST WHOAMI CAT GENPASS
//! LOG DRYRUN LOAD SAVE HELP) and the glue the other commands use:
//! authentication, killing a deleted user's clients, argument redaction and
//! startup loading. The permission checks and the ACL log entries are
//! `crate::acl_check`'s.

use crate::acl::{self, Denied, User};
use crate::acl_check;
use crate::client::Client;
use crate::clock;
use crate::cmdtable::{cmd, container, CommandSpec};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::Server;

#[rustfmt::skip]
static SUBCOMMANDS: &[CommandSpec] = &[
    cmd("cat", acl_cat),
    cmd("deluser", acl_deluser),
    cmd("dryrun", acl_dryrun),
    cmd("genpass", acl_genpass),
    cmd("getuser", acl_getuser),
    cmd("help", acl_help),
    cmd("list", acl_list),
    cmd("load", acl_load),
    cmd("log", acl_log),
    cmd("save", acl_save),
    cmd("setuser", acl_setuser).redacting(setuser_redacted),
    cmd("users", acl_users),
    cmd("whoami", acl_whoami),
];

pub static COMMANDS: &[CommandSpec] = &[container("acl", SUBCOMMANDS)];

fn pubsub_all(srv: &Server) -> bool {
    srv.config.acl_pubsub_default == crate::config::AclPubsubDefault::AllChannels
}

/// ACL SETUSER hides its rules (they may hold passwords).
fn setuser_redacted(_: &Args, i: usize) -> bool {
    i >= 2
}

/// ACLAuthenticateUser: on success the client is that user's.
pub fn authenticate(
    srv: &mut Server,
    c: &mut Client,
    user: &[u8],
    pass: &[u8],
    args: &Args,
) -> CmdResult {
    let ok = srv
        .acl
        .slot_of(user)
        .filter(|&s| srv.acl.user(s).is_some_and(|u| u.password_ok(pass)));
    match ok {
        Some(slot) => {
            c.user = slot;
            c.authenticated = true;
            Ok(())
        }
        None => {
            let ctx = if c.multi.is_some() {
                "multi"
            } else {
                "toplevel"
            };
            acl_check::log_for_args(srv, c, Denied::Auth, ctx, args.get(0), Some(user), args);
            Err(CmdError::Static(error::WRONGPASS))
        }
    }
}

/// Closes every connection authenticated as user `slot` (the executing
/// client after its reply), as ACLFreeUserAndKillClients does.
pub fn kill_user_clients(srv: &mut Server, c: &mut Client, slot: usize) {
    let mut tokens = Vec::new();
    for cl in srv.clients.iter_mut().filter_map(|x| x.as_deref_mut()) {
        if cl.user == slot && cl.sock.is_some() {
            cl.user = 0;
            cl.authenticated = false;
            cl.close_asap = true;
            tokens.push(cl.token);
        }
    }
    srv.to_close.extend(tokens);
    if c.user == slot {
        c.user = 0;
        c.authenticated = false;
        c.close_after_reply = true;
    }
}

/// ACLLoadUsersAtStartup: `user` directives, or the aclfile (not both).
pub fn load_at_startup(srv: &mut Server) -> Result<(), String> {
    crate::acl::sync_requirepass(srv);
    let file = srv.config.aclfile.clone();
    let users = std::mem::take(&mut srv.config.acl_users);
    if !file.is_empty() && !users.is_empty() {
        return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
    }
    let all = pubsub_all(srv);
    for def in &users {
        let Some(name) = def.first() else { continue };
        if !acl::valid_username(name.as_bytes()) {
            return Err("Spaces not allowed in ACL usernames".into());
        }
        let raw: Vec<Vec<u8>> = def[1..].iter().map(|s| s.as_bytes().to_vec()).collect();
        let rules = acl::merge_selector_args(&raw).map_err(|_| {
            format!(
                "Unmatched parenthesis in selector definition for user '{}'",
                name
            )
        })?;
        let mut u = match srv.acl.get(name.as_bytes()) {
            Some(d) if name == "default" => {
                let mut d = d.clone();
                let _ = d.apply(&srv.acl.cmds, b"reset", all);
                d
            }
            _ => User::new(name.as_bytes(), srv.acl.cmds.len(), all),
        };
        for r in &rules {
            if let Err(e) = u.apply(&srv.acl.cmds, r, all) {
                return Err(format!(
                    "Error loading ACL rule '{}' for the user named '{}': {}",
                    String::from_utf8_lossy(r),
                    name,
                    e.message()
                ));
            }
        }
        srv.acl.put(u);
    }
    if !file.is_empty() {
        load_file(srv, None)
            .map_err(|e| format!("Aborting Redis startup because of ACL errors: {}", e))?;
    }
    Ok(())
}

/// ACLLoadFromFile: all or nothing. Clients of replaced users are killed.
fn load_file(srv: &mut Server, current: Option<&mut Client>) -> Result<(), String> {
    let path = srv.config.aclfile.clone();
    let text = std::fs::read(&path).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{}': {}",
            path,
            strerror(&e)
        )
    })?;
    let all = pubsub_all(srv);
    let mut errors = String::new();
    let mut users: Vec<User> = Vec::new();
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line = trim(raw, b" \t\r\n");
        let ln = i + 1;
        if line.is_empty() {
            continue;
        }
        let argv: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        if argv[0] != b"user" || argv.len() < 2 {
            errors.push_str(&format!(
                "{}:{} should start with user keyword followed by the username. ",
                path, ln
            ));
            continue;
        }
        let name = argv[1];
        if !acl::valid_username(name) {
            errors.push_str(&format!(
                "'{}:{}: username '{}' contains invalid characters. ",
                path,
                ln,
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        if users.iter().any(|u| u.name == name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {}. ",
                String::from_utf8_lossy(name),
                ln
            ));
            continue;
        }
        let mut u = User::new(name, srv.acl.cmds.len(), all);
        let raw: Vec<Vec<u8>> = argv[2..].iter().map(|a| a.to_vec()).collect();
        match acl::merge_selector_args(&raw) {
            Ok(rules) => {
                for r in rules {
                    let r = trim(&r, b"\t\r\n");
                    if let Err(e) = u.apply(&srv.acl.cmds, r, all) {
                        errors.push_str(&format!("{}:{}: {}. ", path, ln, e.message()));
                    }
                }
            }
            Err(_) => errors.push_str(&format!(
                "{}:{}: Unmatched parenthesis in selector definition.",
                path, ln
            )),
        }
        users.push(u);
    }
    if !errors.is_empty() {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        return Err(errors);
    }
    // Every old user but default goes, and its clients with it.
    let old: Vec<(Vec<u8>, usize)> = srv
        .acl
        .by_name
        .iter()
        .filter(|(n, _)| n.as_slice() != b"default")
        .map(|(n, &s)| (n.clone(), s))
        .collect();
    let mut current = current;
    for (name, slot) in old {
        srv.acl.remove(&name);
        match current.as_deref_mut() {
            Some(c) => kill_user_clients(srv, c, slot),
            None => {
                let mut dummy = Client::new_internal(0, 0);
                dummy.user = usize::MAX;
                kill_user_clients(srv, &mut dummy, slot);
            }
        }
    }
    let mut have_default = false;
    for u in users {
        have_default |= u.name == b"default";
        srv.acl.put(u);
    }
    if !have_default {
        let d = srv.acl.default_user_def();
        srv.acl.put(d);
    }
    Ok(())
}

/// An io::Error as C's strerror prints it.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn trim<'a>(mut s: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let Some((f, rest)) = s.split_first() {
        if !set.contains(f) {
            break;
        }
        s = rest;
    }
    while let Some((l, rest)) = s.split_last() {
        if !set.contains(l) {
            break;
        }
        s = rest;
    }
    s
}

/// ACLSaveToFile: temp file + rename.
fn save_file(srv: &Server) -> Result<(), String> {
    let path = srv.config.aclfile.clone();
    let mut text = String::new();
    for &slot in srv.acl.by_name.values() {
        if let Some(u) = srv.acl.user(slot) {
            text.push_str(&srv.acl.describe_line(u));
            text.push('\n');
        }
    }
    let tmp = format!("{}.tmp-{}-{}", path, std::process::id(), clock::wall_ms());
    let r = std::fs::write(&tmp, text.as_bytes()).and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = r {
        let _ = std::fs::remove_file(&tmp);
        tracing::warn!("Writing ACL file for ACL SAVE: {}", e);
        return Err(e.to_string());
    }
    Ok(())
}

fn acl_setuser(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let name = a.get(2);
    if !acl::valid_username(name) {
        return Err(CmdError::Static(error::ACL_USERNAME_SPACES));
    }
    let raw: Vec<Vec<u8>> = a.iter().skip(3).map(|x| x.to_vec()).collect();
    let rules =
        acl::merge_selector_args(&raw).map_err(|j| error::acl_unmatched_paren(a.get(j + 3)))?;
    let all = pubsub_all(srv);
    let u = srv
        .acl
        .staged(name, &rules, all)
        .map_err(|(i, e)| error::acl_setuser_rule(&rules[i], e.message()))?;
    if let Some(slot) = srv.acl.slot_of(name) {
        kill_pubsub_clients_if_needed(srv, c, slot, &u);
    }
    srv.acl.put(u);
    c.out.ok();
    Ok(())
}

/// ACLKillPubsubClientsIfNeeded: subscribers whose channels the changed
/// user may no longer use are disconnected.
fn kill_pubsub_clients_if_needed(srv: &mut Server, c: &mut Client, slot: usize, new: &User) {
    if new.selectors.iter().any(|s| s.allchannels) {
        return;
    }
    let upcoming: Vec<Vec<u8>> = new
        .selectors
        .iter()
        .flat_map(|s| s.channels.clone())
        .collect();
    if let Some(old) = srv.acl.user(slot) {
        if old
            .selectors
            .iter()
            .all(|s| !s.allchannels && s.channels.iter().all(|ch| upcoming.contains(ch)))
        {
            return;
        }
    }
    let violates = |cl: &Client| {
        let glob = |ch: &Vec<u8>| {
            !upcoming
                .iter()
                .any(|p| crate::util::glob::string_match(p, ch, false))
        };
        cl.psubs.iter().any(|p| !upcoming.contains(p))
            || cl.subs.iter().any(glob)
            || cl.ssubs.iter().any(glob)
    };
    let mut tokens = Vec::new();
    for cl in srv.clients.iter_mut().filter_map(|x| x.as_deref_mut()) {
        if cl.user == slot && crate::pubsub::is_subscribed(cl) && violates(cl) {
            cl.close_asap = true;
            tokens.push(cl.token);
        }
    }
    srv.to_close.extend(tokens);
    if c.user == slot && crate::pubsub::is_subscribed(c) && violates(c) {
        c.close_after_reply = true;
    }
}

fn acl_deluser(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.iter().skip(2).any(|n| n == b"default") {
        return Err(CmdError::Static(error::ACL_DEFAULT_UNDELETABLE));
    }
    let mut deleted = 0;
    for n in a.iter().skip(2) {
        if let Some(slot) = srv.acl.remove(n) {
            kill_user_clients(srv, c, slot);
            deleted += 1;
        }
    }
    c.out.int(deleted);
    Ok(())
}

fn reply_selector(c: &mut Client, cmds: &[acl::CmdInfo], s: &acl::Selector) {
    c.out.bulk(b"commands");
    c.out.bulk(s.describe_commands(cmds).as_bytes());
    c.out.bulk(b"keys");
    if s.allkeys {
        c.out.bulk(b"~*");
    } else {
        let v: Vec<String> = s.patterns.iter().map(acl::pattern_string).collect();
        c.out.bulk(v.join(" ").as_bytes());
    }
    c.out.bulk(b"channels");
    if s.allchannels {
        c.out.bulk(b"&*");
    } else {
        let mut v = Vec::new();
        for (i, ch) in s.channels.iter().enumerate() {
            if i > 0 {
                v.push(b' ');
            }
            v.push(b'&');
            v.extend_from_slice(ch);
        }
        c.out.bulk(&v);
    }
}

fn acl_getuser(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let Some(u) = srv.acl.get(a.get(2)) else {
        c.out.null();
        return Ok(());
    };
    let cmds = &srv.acl.cmds;
    c.out.map(6);
    c.out.bulk(b"flags");
    let flags = u.flag_names();
    c.out.set(flags.len());
    for f in flags {
        c.out.bulk(f.as_bytes());
    }
    c.out.bulk(b"passwords");
    c.out.array(u.passwords.len());
    for p in &u.passwords {
        c.out.bulk(p.as_bytes());
    }
    reply_selector(c, cmds, &u.selectors[0]);
    c.out.bulk(b"selectors");
    c.out.array(u.selectors.len() - 1);
    for s in &u.selectors[1..] {
        c.out.map(3);
        reply_selector(c, cmds, s);
    }
    Ok(())
}

fn acl_list(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    c.out.array(srv.acl.by_name.len());
    for &slot in srv.acl.by_name.values() {
        match srv.acl.user(slot) {
            Some(u) => c.out.bulk(srv.acl.describe_line(u).as_bytes()),
            None => c.out.null(),
        }
    }
    Ok(())
}

fn acl_users(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    c.out.array(srv.acl.by_name.len());
    for n in srv.acl.by_name.keys() {
        c.out.bulk(n);
    }
    Ok(())
}

fn acl_whoami(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    match srv.acl.user(c.user) {
        Some(u) => {
            let n = u.name.clone();
            c.out.bulk(&n);
        }
        None => c.out.null(),
    }
    Ok(())
}

fn acl_load(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    if srv.config.aclfile.is_empty() {
        return Err(CmdError::Static(error::ACL_NO_FILE));
    }
    load_file(srv, Some(c)).map_err(|e| error::custom(format!("ERR {}", e)))?;
    c.out.ok();
    Ok(())
}

fn acl_save(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    if srv.config.aclfile.is_empty() {
        return Err(CmdError::Static(error::ACL_NO_FILE));
    }
    save_file(srv).map_err(|_| CmdError::Static(error::ACL_SAVE_FAILED))?;
    c.out.ok();
    Ok(())
}

fn acl_cat(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(error::subcommand_syntax(a.get(1), "acl"));
    }
    if a.len() == 2 {
        c.out.array(acl::CATEGORIES.len());
        for cat in acl::CATEGORIES {
            c.out.bulk(cat.as_bytes());
        }
        return Ok(());
    }
    let pos = acl::CATEGORIES
        .iter()
        .position(|cat| cat.as_bytes().eq_ignore_ascii_case(a.get(2)))
        .ok_or_else(|| error::acl_unknown_category(a.get(2)))?;
    let names: Vec<&str> = srv
        .acl
        .cmds
        .iter()
        .filter(|ci| ci.cats & (1 << pos) != 0)
        .map(|ci| ci.fullname.as_str())
        .collect();
    c.out.array(names.len());
    for n in names {
        c.out.bulk(n.as_bytes());
    }
    Ok(())
}

fn acl_genpass(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(error::subcommand_syntax(a.get(1), "acl"));
    }
    let mut bits = 256i64;
    if a.len() == 3 {
        bits = crate::util::num::parse_i64(a.get(2)).ok_or(CmdError::NotInteger)?;
    }
    if bits <= 0 || bits > 4096 {
        return Err(CmdError::Static(error::ACL_GENPASS_RANGE));
    }
    use rand::Rng;
    let chars = ((bits + 3) / 4) as usize;
    let hex = b"0123456789abcdef";
    let s: Vec<u8> = (0..chars).map(|_| hex[srv.rng.gen_range(0..16)]).collect();
    c.out.bulk(&s);
    Ok(())
}

fn acl_log(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(error::subcommand_syntax(a.get(1), "acl"));
    }
    let mut count = 10i64;
    if a.len() == 3 {
        if a.is(2, "reset") {
            srv.acl.log.clear();
            c.out.ok();
            return Ok(());
        }
        count = crate::util::num::parse_i64(a.get(2)).ok_or(CmdError::NotInteger)?;
        count = count.max(0);
    }
    let n = (count as usize).min(srv.acl.log.len());
    let now = clock::wall_ms();
    c.out.array(n);
    for e in srv.acl.log.iter().take(n) {
        c.out.map(7);
        c.out.bulk(b"count");
        c.out.int(e.count as i64);
        c.out.bulk(b"reason");
        c.out.bulk(match e.reason {
            Denied::Cmd => b"command".as_slice(),
            Denied::Key => b"key",
            Denied::Channel => b"channel",
            Denied::Auth => b"auth",
        });
        c.out.bulk(b"context");
        c.out.bulk(e.context.as_bytes());
        c.out.bulk(b"object");
        c.out.bulk(&e.object);
        c.out.bulk(b"username");
        c.out.bulk(&e.username);
        c.out.bulk(b"age-seconds");
        c.out.double((now - e.ctime_ms) as f64 / 1000.0);
        c.out.bulk(b"client-info");
        c.out.bulk(&e.cinfo);
    }
    Ok(())
}

fn acl_dryrun(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let slot = srv
        .acl
        .slot_of(a.get(2))
        .ok_or_else(|| error::acl_dryrun_user(a.get(2)))?;
    let argv: Vec<&[u8]> = a.iter().skip(3).collect();
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    for x in &argv {
        ranges.push((buf.len(), x.len()));
        buf.extend_from_slice(x);
    }
    let sub = Args::new(&buf, &ranges);
    let idx = srv
        .commands
        .resolve(&sub)
        .ok_or_else(|| error::acl_dryrun_command(a.get(3)))?;
    let arity = srv.commands.entries[idx].arity;
    let n = argv.len() as i32;
    if (arity > 0 && arity != n) || n < -arity {
        return Err(error::wrong_arity(&srv.commands.entries[idx].fullname));
    }
    let Some(u) = srv.acl.user(slot) else {
        return Err(error::acl_dryrun_user(a.get(2)));
    };
    match srv.acl.check(u, idx, &argv) {
        Ok(()) => c.out.ok(),
        Err((Denied::Cmd, _)) => c.out.bulk(
            format!(
                "This user has no permissions to run the '{}' command",
                srv.acl.cmds[idx].fullname
            )
            .as_bytes(),
        ),
        Err((d, pos)) => {
            let what = if d == Denied::Channel {
                "channel"
            } else {
                "key"
            };
            let mut m = b"This user has no permissions to access the '".to_vec();
            m.extend_from_slice(argv.get(pos).copied().unwrap_or(b""));
            m.extend_from_slice(format!("' {}", what).as_bytes());
            c.out.bulk(&m);
        }
    }
    Ok(())
}

fn acl_help(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    super::help_reply(
        c,
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}
