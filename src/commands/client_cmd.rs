//! CLIENT subcommands (Redis's networking.c clientCommand): connection
//! introspection (ID, INFO, LIST, GETNAME), naming (SETNAME, SETINFO),
//! killing, pausing, reply control and the tracking stubs.
//!
//! The client running the command is not in `srv.clients` while its handler
//! runs, so LIST and KILL consider it explicitly.

use crate::client::{Client, ReplyMode};
use crate::clock;
use crate::cmdtable::fact;
use crate::cmdtable::{cmd, CommandSpec};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::{PauseKind, Server};

static SUBCOMMANDS: &[CommandSpec] = &[
    cmd("caching", caching).with(fact::KEEPS_CACHING),
    cmd("getname", getname),
    cmd("getredir", getredir),
    cmd("help", help),
    cmd("id", id),
    cmd("info", info),
    cmd("kill", kill),
    cmd("list", list),
    cmd("no-evict", no_evict),
    cmd("pause", pause),
    cmd("reply", reply),
    cmd("setname", setname),
    cmd("tracking", tracking),
    cmd("trackinginfo", trackinginfo),
    cmd("unblock", unblock),
    cmd("unpause", unpause),
];

pub static COMMANDS: &[CommandSpec] = &[crate::cmdtable::container("client", SUBCOMMANDS)];

const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

/// Client names may not contain spaces or special characters.
pub fn validate_name(n: &[u8]) -> Result<(), CmdError> {
    if n.iter().any(|b| !(b'!'..=b'~').contains(b)) {
        return Err(CmdError::Static(error::CLIENT_NAME_SPACES));
    }
    Ok(())
}

/// Redis's client types (getClientTypeByName).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

fn client_type_by_name(name: &[u8]) -> Option<ClientType> {
    let n = name.to_ascii_lowercase();
    Some(match n.as_slice() {
        b"normal" => ClientType::Normal,
        b"slave" | b"replica" => ClientType::Replica,
        b"pubsub" => ClientType::PubSub,
        b"master" => ClientType::Master,
        _ => return None,
    })
}

/// MONITOR clients are reported as normal clients, as in Redis; replicas
/// (SYNC/PSYNC sent), subscribed clients and our master's connection have
/// their own types (getClientType).
fn client_type(c: &Client) -> ClientType {
    use crate::client_mem::Class;
    match crate::client_mem::class(c) {
        Class::Master => ClientType::Master,
        Class::Replica => ClientType::Replica,
        Class::PubSub => ClientType::PubSub,
        Class::Normal => ClientType::Normal,
    }
}

fn id(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    c.out.int(c.id as i64);
    Ok(())
}

fn info(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let mut o = Vec::with_capacity(512);
    let cur = crate::client_info::current_of(srv, a);
    crate::client_info::cat_client_info(&mut o, srv, c, clock::wall_ms(), Some(&cur));
    o.push(b'\n');
    c.out.verbatim(&o, "txt");
    Ok(())
}

fn list(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let now = clock::wall_ms();
    let cur = crate::client_info::current_of(srv, a);
    let mut o = Vec::new();
    if a.len() == 4 && a.is(2, "type") {
        let Some(t) = client_type_by_name(a.get(3)) else {
            return Err(error::unknown_client_type(a.get(3)));
        };
        let mut all: Vec<&Client> = srv.other_clients().collect();
        all.push(c);
        all.sort_by_key(|x| x.id);
        for cl in all {
            if client_type(cl) != t {
                continue;
            }
            let is_cur = std::ptr::eq(cl, &*c);
            crate::client_info::cat_client_info(&mut o, srv, cl, now, is_cur.then_some(&cur));
            o.push(b'\n');
        }
    } else if a.len() > 3 && a.is(2, "id") {
        let mut ids = Vec::with_capacity(a.len() - 3);
        for i in 3..a.len() {
            match crate::util::num::parse_i64(a.get(i)) {
                Some(v) => ids.push(v),
                None => return Err(CmdError::Static(error::INVALID_CLIENT_ID)),
            }
        }
        for want in ids {
            if want == c.id as i64 {
                crate::client_info::cat_client_info(&mut o, srv, c, now, Some(&cur));
                o.push(b'\n');
            } else if let Some(cl) = srv.other_clients().find(|x| x.id as i64 == want) {
                crate::client_info::cat_client_info(&mut o, srv, cl, now, None);
                o.push(b'\n');
            }
        }
    } else if a.len() != 2 {
        return Err(CmdError::Syntax);
    } else {
        let mut all: Vec<&Client> = srv.other_clients().collect();
        all.push(c);
        all.sort_by_key(|x| x.id);
        for cl in all {
            let is_cur = std::ptr::eq(cl, &*c);
            crate::client_info::cat_client_info(&mut o, srv, cl, now, is_cur.then_some(&cur));
            o.push(b'\n');
        }
    }
    c.out.verbatim(&o, "txt");
    Ok(())
}

fn setname(_srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let n = a.get(2);
    validate_name(n)?;
    c.name = if n.is_empty() { None } else { Some(n.to_vec()) };
    c.out.ok();
    Ok(())
}

fn getname(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    match &c.name {
        Some(n) => {
            let n = n.clone();
            c.out.bulk(&n);
        }
        None => c.out.null(),
    }
    Ok(())
}

/// CLIENT KILL addr | CLIENT KILL <filter> <value> ...
fn kill(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let mut addr: Option<&[u8]> = None;
    let mut laddr: Option<&[u8]> = None;
    let mut ctype: Option<ClientType> = None;
    let mut want_id: u64 = 0;
    let mut want_user: Option<usize> = None;
    let mut skipme = true;
    let old_form = a.len() == 3;
    if old_form {
        addr = Some(a.get(2));
        skipme = false;
    } else {
        let mut i = 2;
        while i < a.len() {
            let more = i + 1 < a.len();
            if !more {
                return Err(CmdError::Syntax);
            }
            let v = a.get(i + 1);
            if a.is(i, "id") {
                match crate::util::num::parse_i64(v) {
                    Some(n) if n >= 1 => want_id = n as u64,
                    _ => return Err(CmdError::Static(error::CLIENT_ID_INVALID)),
                }
            } else if a.is(i, "type") {
                ctype = Some(client_type_by_name(v).ok_or_else(|| error::unknown_client_type(v))?);
            } else if a.is(i, "addr") {
                addr = Some(v);
            } else if a.is(i, "laddr") {
                laddr = Some(v);
            } else if a.is(i, "user") {
                want_user = Some(srv.acl.slot_of(v).ok_or_else(|| error::no_such_user(v))?);
            } else if a.is(i, "skipme") {
                if v.eq_ignore_ascii_case(b"yes") {
                    skipme = true;
                } else if v.eq_ignore_ascii_case(b"no") {
                    skipme = false;
                } else {
                    return Err(CmdError::Syntax);
                }
            } else {
                return Err(CmdError::Syntax);
            }
            i += 2;
        }
    }
    let matches = |cl: &Client| {
        addr.is_none_or(|x| cl.addr.as_bytes() == x)
            && laddr.is_none_or(|x| cl.laddr.as_bytes() == x)
            && ctype.is_none_or(|t| client_type(cl) == t)
            && (want_id == 0 || cl.id == want_id)
            && want_user.is_none_or(|u| cl.user == u)
    };
    let mut killed = 0i64;
    let mut masters = Vec::new();
    for cl in srv.clients.iter_mut().filter_map(|x| x.as_deref_mut()) {
        if matches(cl) {
            cl.close_asap = true;
            srv.to_close.push(cl.token);
            killed += 1;
            if cl.is_master {
                masters.push(cl.token);
            }
            // Redis frees the client at once: its peer sees the connection
            // end before this command's reply goes out.
            if let Some(s) = cl.sock.as_ref() {
                s.shutdown();
            }
        }
    }
    // The master link is down from now (repl_down_since, the data age a
    // cluster replica's failover checks), as Redis frees the client here.
    for t in masters {
        if let Some(mut m) = srv.clients.get_mut(t).and_then(|x| x.take()) {
            crate::replication::replica::master_link_lost(srv, &mut m);
            srv.clients[t] = Some(m);
        }
    }
    let close_self = !skipme && matches(c);
    if close_self {
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            return Err(CmdError::Static(error::NO_SUCH_CLIENT));
        }
        c.out.ok();
    } else {
        c.out.int(killed);
    }
    // Flag ourselves only after the reply is queued, as Redis does.
    if close_self {
        c.close_after_reply = true;
    }
    Ok(())
}

/// CLIENT PAUSE timeout [WRITE|ALL]
fn pause(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len() > 4 {
        return Err(error::subcommand_syntax(a.get(1), &a.str_lossy(0)));
    }
    let mut kind = PauseKind::All;
    if a.len() == 4 {
        if a.is(3, "write") {
            kind = PauseKind::Write;
        } else if !a.is(3, "all") {
            return Err(CmdError::Static(error::CLIENT_PAUSE_MODE));
        }
    }
    let ms = crate::util::num::parse_i64(a.get(2))
        .ok_or(CmdError::Static(error::TIMEOUT_NOT_INTEGER))?;
    if ms < 0 {
        return Err(CmdError::Static(error::TIMEOUT_NEGATIVE));
    }
    let end = if ms > 0 {
        clock::wall_ms()
            .checked_add(ms)
            .ok_or(CmdError::Static(error::TIMEOUT_OUT_OF_RANGE))?
    } else {
        0
    };
    // A new pause never shortens or weakens one in progress.
    srv.set_pause(Some(match srv.client_pause {
        Some((old_end, old_kind)) if old_end > clock::wall_ms() => {
            let k = if old_kind == PauseKind::All || kind == PauseKind::All {
                PauseKind::All
            } else {
                PauseKind::Write
            };
            (old_end.max(end), k)
        }
        _ => (end, kind),
    }));
    c.out.ok();
    Ok(())
}

fn unpause(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    srv.set_pause(None);
    c.out.ok();
    Ok(())
}

/// CLIENT REPLY ON|OFF|SKIP: OFF and SKIP send no reply themselves.
fn reply(_srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.is(2, "on") {
        c.reply_mode = ReplyMode::On;
        c.out.ok();
    } else if a.is(2, "off") {
        c.reply_mode = ReplyMode::Off;
    } else if a.is(2, "skip") {
        if c.reply_mode != ReplyMode::Off {
            c.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

fn no_evict(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.is(2, "on") {
        c.no_evict = true;
    } else if a.is(2, "off") {
        c.no_evict = false;
    } else {
        return Err(CmdError::Syntax);
    }
    // Out of the eviction buckets, or back in (with its memory now).
    crate::client_mem::evictability_changed(srv, c);
    c.out.ok();
    Ok(())
}

/// Tracking is never enabled, so CACHING is always out of context.
fn caching(_srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let Some(st) = c.tracking.as_mut() else {
        return Err(CmdError::Static(error::CLIENT_CACHING_NOT_TRACKING));
    };
    if a.is(2, "yes") {
        if !st.optin {
            return Err(CmdError::Static(error::CLIENT_CACHING_YES_OPTIN));
        }
    } else if a.is(2, "no") {
        if !st.optout {
            return Err(CmdError::Static(error::CLIENT_CACHING_NO_OPTOUT));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    st.caching = true;
    c.out.ok();
    Ok(())
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
/// [OPTOUT] [NOLOOP], validated in Redis 7.0's order.
fn tracking(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    use crate::tracking::TrackingState;
    let mut st = TrackingState::default();
    let mut i = 3;
    while i < a.len() {
        let more = i + 1 < a.len();
        if a.is(i, "redirect") && more {
            i += 1;
            if st.redirect != 0 {
                return Err(CmdError::Static(error::TRACKING_SINGLE_REDIRECT));
            }
            let id = a.i64(i)?;
            if id <= 0 || !srv.client_tokens.contains_key(&(id as u64)) && id as u64 != c.id {
                return Err(CmdError::Static(error::TRACKING_REDIRECT_MISSING));
            }
            st.redirect = id as u64;
        } else if a.is(i, "bcast") {
            st.bcast = true;
        } else if a.is(i, "optin") {
            st.optin = true;
        } else if a.is(i, "optout") {
            st.optout = true;
        } else if a.is(i, "noloop") {
            st.noloop = true;
        } else if a.is(i, "prefix") && more {
            i += 1;
            st.prefixes.push(a.get(i).to_vec());
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if a.is(2, "on") {
        if !st.bcast && !st.prefixes.is_empty() {
            return Err(CmdError::Static(error::TRACKING_PREFIX_NEEDS_BCAST));
        }
        if let Some(old) = &c.tracking {
            if old.bcast != st.bcast {
                return Err(CmdError::Static(error::TRACKING_BCAST_SWITCH));
            }
        }
        if st.bcast && (st.optin || st.optout) {
            return Err(CmdError::Static(error::TRACKING_OPT_BCAST));
        }
        if st.optin && st.optout {
            return Err(CmdError::Static(error::TRACKING_OPTIN_OPTOUT));
        }
        if let Some(old) = &c.tracking {
            if (st.optin && old.optout) || (st.optout && old.optin) {
                return Err(CmdError::Static(error::TRACKING_OPT_SWITCH));
            }
        }
        if st.bcast {
            // Each new prefix against the other new ones and the ones
            // registered before (checkPrefixCollisionsOrReply).
            let old: &[Vec<u8>] = c.tracking.as_ref().map_or(&[], |t| &t.prefixes);
            for (x, p) in st.prefixes.iter().enumerate() {
                let others = st
                    .prefixes
                    .iter()
                    .enumerate()
                    .filter(|&(y, _)| y != x)
                    .map(|(_, q)| q)
                    .chain(old.iter());
                for q in others {
                    if p != q && (p.starts_with(q) || q.starts_with(p)) {
                        return Err(error::tracking_prefix_overlap(p, q));
                    }
                }
            }
        }
        crate::tracking::enable(srv, c, st);
    } else if a.is(2, "off") {
        crate::tracking::disable(srv, c);
    } else {
        return Err(CmdError::Syntax);
    }
    c.out.ok();
    Ok(())
}

fn trackinginfo(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    let st = c.tracking.as_deref().cloned();
    let mut flags: Vec<&str> = Vec::new();
    match &st {
        None => flags.push("off"),
        Some(t) => {
            flags.push("on");
            if t.bcast {
                flags.push("bcast");
            }
            if t.optin {
                flags.push("optin");
                if t.caching {
                    flags.push("caching-yes");
                }
            }
            if t.optout {
                flags.push("optout");
                if t.caching {
                    flags.push("caching-no");
                }
            }
            if t.noloop {
                flags.push("noloop");
            }
            if t.broken_redirect {
                flags.push("broken_redirect");
            }
        }
    }
    c.out.map(3);
    c.out.bulk(b"flags");
    c.out.set(flags.len());
    for f in flags {
        c.out.bulk_str(f);
    }
    c.out.bulk(b"redirect");
    c.out.int(st.as_ref().map_or(-1, |t| t.redirect as i64));
    c.out.bulk(b"prefixes");
    // In lexicographic order, as Redis's radix tree lists them.
    let mut prefixes = st.map(|t| t.prefixes).unwrap_or_default();
    prefixes.sort_unstable();
    c.out.array(prefixes.len());
    for p in &prefixes {
        c.out.bulk(p);
    }
    Ok(())
}

fn getredir(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    let r = c.tracking.as_ref().map_or(-1, |t| t.redirect as i64);
    c.out.int(r);
    Ok(())
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if a blocked client was unblocked.
fn unblock(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len() > 4 {
        return Err(error::subcommand_syntax(a.get(1), &a.str_lossy(0)));
    }
    let with_error = a.len() == 4 && a.is(3, "error");
    if a.len() == 4 && !a.is(3, "timeout") && !with_error {
        return Err(CmdError::Static(error::CLIENT_UNBLOCK_REASON));
    }
    let id = a.i64(2)?;
    let target = srv.clients.iter().position(|s| {
        s.as_ref()
            .is_some_and(|t| t.id as i64 == id && t.blocked.is_some())
    });
    let done = match target.and_then(|t| srv.clients[t].take().map(|cl| (t, cl))) {
        Some((t, mut target)) => {
            let blocked_cmd = target
                .blocked
                .as_ref()
                .and_then(|st| st.argv.first())
                .and_then(|name| srv.commands.lookup(name));
            let ok = crate::blocking::unblock_by_request(
                srv,
                &mut target,
                with_error,
                crate::replication::master::take_waiter,
            );
            if ok && with_error {
                // The UNBLOCKED error counts as an error reply, and the
                // blocked command as failed (updateStatsOnUnblock). As in
                // Redis, CLIENT UNBLOCK itself is then counted failed too.
                crate::server::count_error(srv, &CmdError::Static(error::UNBLOCKED));
                if let Some(i) = blocked_cmd {
                    srv.commands.entries[i].stats.failed += 1;
                }
            }
            srv.clients[t] = Some(target);
            srv.to_flush.push(t);
            ok
        }
        None => false,
    };
    c.out.int(done as i64);
    Ok(())
}

fn help(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    super::reply_status_lines(c, HELP);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name(b"abc-1").is_ok());
        assert!(validate_name(b"a b").is_err());
        assert!(validate_name(b"a\n").is_err());
        assert!(validate_name(b"").is_ok());
    }

    #[test]
    fn client_types() {
        assert_eq!(client_type_by_name(b"SLAVE"), Some(ClientType::Replica));
        assert_eq!(client_type_by_name(b"replica"), Some(ClientType::Replica));
        assert_eq!(client_type_by_name(b"Normal"), Some(ClientType::Normal));
        assert_eq!(client_type_by_name(b"pubsub"), Some(ClientType::PubSub));
        assert_eq!(client_type_by_name(b"master"), Some(ClientType::Master));
        assert_eq!(client_type_by_name(b"foo"), None);
    }

    #[test]
    fn help_text_shape() {
        assert!(HELP[0].starts_with("CLIENT <subcommand>"));
        assert_eq!(HELP.last(), Some(&"    Prints this help."));
    }
}
