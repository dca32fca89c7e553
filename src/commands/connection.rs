//! Connection commands: PING ECHO QUIT RESET HELLO AUTH SELECT.

use crate::client::{Client, ReplyMode};
use crate::cmdtable::fact;
use crate::cmdtable::{cmd, CommandSpec};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::{Server, REDIS_VERSION};

pub static COMMANDS: &[CommandSpec] = &[
    cmd("ping", ping).with(fact::SUBSCRIBED_OK | fact::DISK_ERROR_REFUSED),
    cmd("echo", echo),
    cmd("quit", quit).with(fact::SUBSCRIBED_OK | fact::NOT_QUEUED | fact::OOM_OK_IN_MULTI),
    cmd("reset", reset).with(fact::SUBSCRIBED_OK | fact::NOT_QUEUED | fact::OOM_OK_IN_MULTI),
    cmd("hello", hello).redacting(hello_redacted),
    cmd("auth", auth).redacting(auth_redacted),
    cmd("select", select),
];

fn ping(_srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len() > 2 {
        return Err(error::wrong_arity("ping"));
    }
    if c.out.resp == 2 && crate::pubsub::is_subscribed(c) {
        c.out.array(2);
        c.out.bulk(b"pong");
        c.out.bulk(if a.len() == 2 { a.get(1) } else { b"" });
        return Ok(());
    }
    match a.len() {
        1 => c.out.simple("PONG"),
        2 => c.out.bulk(a.get(1)),
        _ => return Err(error::wrong_arity("ping")),
    }
    Ok(())
}

fn echo(_srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    c.out.bulk(a.get(1));
    Ok(())
}

fn quit(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    c.out.ok();
    c.close_after_reply = true;
    Ok(())
}

fn reset(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    c.multi = None;
    crate::multi::unwatch_all(_srv, c);
    crate::pubsub::unsubscribe_all(_srv, c);
    c.db = 0;
    c.out.resp = 2;
    c.name = None;
    c.reply_mode = ReplyMode::On;
    c.no_evict = false;
    c.is_monitor = false;
    c.user = 0;
    c.authenticated = !_srv.acl.auth_required();
    c.out.simple("RESET");
    Ok(())
}

/// AUTH hides its arguments (username, password).
fn auth_redacted(_: &Args, i: usize) -> bool {
    i >= 1
}

/// HELLO hides the username and password after AUTH.
fn hello_redacted(a: &Args, i: usize) -> bool {
    (2..a.len())
        .find(|&j| a.is(j, "auth") && j + 2 < a.len())
        .is_some_and(|j| i == j + 1 || i == j + 2)
}

fn auth(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (user, pass): (&[u8], &[u8]) = if a.len() == 2 {
        // The old form: an error if the default user needs no password.
        if srv.acl.user(0).is_some_and(|d| d.nopass) {
            return Err(CmdError::Static(error::AUTH_NOT_CONFIGURED));
        }
        (b"default", a.get(1))
    } else {
        (a.get(1), a.get(2))
    };
    super::acl_cmd::authenticate(srv, c, user, pass, a)?;
    c.out.ok();
    Ok(())
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
fn hello(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let mut ver = c.out.resp as i64;
    let mut i = 1;
    if a.len() >= 2 {
        ver = match crate::util::num::parse_i64(a.get(1)) {
            Some(v) => v,
            None => {
                return Err(CmdError::Static(
                    "ERR Protocol version is not an integer or out of range",
                ))
            }
        };
        i = 2;
        if !(2..=3).contains(&ver) {
            return Err(CmdError::Static(error::NOPROTO));
        }
    }
    let mut setname: Option<&[u8]> = None;
    let mut creds: Option<(&[u8], &[u8])> = None;
    while i < a.len() {
        let more = a.len() - i - 1;
        if a.is(i, "AUTH") && more >= 2 {
            creds = Some((a.get(i + 1), a.get(i + 2)));
            i += 3;
        } else if a.is(i, "SETNAME") && more >= 1 {
            setname = Some(a.get(i + 1));
            i += 2;
        } else {
            return Err(error::custom(format!(
                "ERR Syntax error in HELLO option '{}'",
                a.str_lossy(i)
            )));
        }
    }
    if let Some((u, p)) = creds {
        super::acl_cmd::authenticate(srv, c, u, p, a)?;
    }
    if !c.authenticated {
        return Err(CmdError::Static(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(n) = setname {
        super::client_cmd::validate_name(n)?;
        c.name = if n.is_empty() { None } else { Some(n.to_vec()) };
    }
    c.out.resp = ver as u8;
    c.out.map(7);
    c.out.bulk(b"server");
    c.out.bulk(b"redis");
    c.out.bulk(b"version");
    c.out.bulk(REDIS_VERSION.as_bytes());
    c.out.bulk(b"proto");
    c.out.int(ver);
    c.out.bulk(b"id");
    c.out.int(c.id as i64);
    c.out.bulk(b"mode");
    c.out.bulk(b"standalone");
    c.out.bulk(b"role");
    c.out.bulk(b"master");
    c.out.bulk(b"modules");
    c.out.array(0);
    Ok(())
}

fn select(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let id = crate::util::num::parse_i64(a.get(1)).ok_or(CmdError::Static(
        "ERR value is not an integer or out of range",
    ))?;
    if srv.cluster.is_some() && id != 0 {
        return Err(CmdError::Static(crate::error::CLUSTER_SELECT));
    }
    if id < 0 || id as usize >= srv.dbs.len() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    c.db = id as usize;
    c.out.ok();
    Ok(())
}
