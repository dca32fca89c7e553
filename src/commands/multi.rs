//! Transaction commands (Redis's multi.c): MULTI EXEC DISCARD WATCH
//! UNWATCH. The queue a client builds inside MULTI and WATCH's
//! check-and-set bookkeeping are the `crate::multi` service.

use crate::client::Client;
use crate::cmdtable::fact;
use crate::cmdtable::{cmd, CommandSpec};
use crate::error::{CmdError, CmdResult};
use crate::multi;
use crate::protocol::args::Args;
use crate::server::Server;

pub static COMMANDS: &[CommandSpec] = &[
    cmd("multi", multi).with(fact::NOT_QUEUED | fact::OPENS_TRANSACTION),
    cmd("exec", exec)
        .with(fact::RUNS_QUEUED | fact::EFFECTS_ONLY | fact::NOT_QUEUED | fact::OOM_OK_IN_MULTI),
    cmd("discard", discard).with(fact::NOT_QUEUED | fact::OOM_OK_IN_MULTI),
    cmd("watch", watch).with(fact::NOT_QUEUED | fact::WHOLE_KEYS),
    cmd("unwatch", unwatch),
];

fn multi(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    if c.multi.is_some() {
        return Err(CmdError::Static(crate::error::EXEC_NESTED));
    }
    c.multi = Some(Box::default());
    c.out.ok();
    Ok(())
}

fn discard(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    if c.multi.take().is_none() {
        return Err(CmdError::Static(crate::error::DISCARD_WITHOUT_MULTI));
    }
    multi::unwatch_all(srv, c);
    c.out.ok();
    Ok(())
}

fn exec(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    let Some(m) = c.multi.take() else {
        return Err(CmdError::Static(crate::error::EXEC_WITHOUT_MULTI));
    };
    if m.aborted {
        multi::unwatch_all(srv, c);
        return Err(CmdError::Static(crate::error::EXECABORT));
    }
    // isWatchedKeyExpired: keys already expired at WATCH time are ignored.
    let expired = c.watched.iter().any(|w| {
        multi::key_is_expired(srv, w.db, &w.key)
            && !srv
                .watched_keys
                .get(&(w.db, w.key.clone()))
                .is_some_and(|ws| ws.iter().any(|&(id, e)| id == c.id && e))
    });
    if srv.cas_dirty.contains(&c.id) || expired {
        multi::unwatch_all(srv, c);
        c.out.null_array();
        return Ok(());
    }
    // Unwatch first: the transaction's own writes must not dirty it.
    multi::unwatch_all(srv, c);
    c.out.array(m.commands.len());
    let saved_deny = c.deny_blocking;
    c.deny_blocking = true;
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    for argv in &m.commands {
        buf.clear();
        ranges.clear();
        for a in argv {
            ranges.push((buf.len(), a.len()));
            buf.extend_from_slice(a);
        }
        let args = Args::new(&buf, &ranges);
        // ACL rules may have changed since the command was queued.
        if let Err(e) = crate::acl_check::recheck_queued(srv, c, &args) {
            crate::server::count_error(srv, &e);
            c.out.error(&e);
            continue;
        }
        super::execute(srv, c, &args);
    }
    c.deny_blocking = saved_deny;
    Ok(())
}

fn watch(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if c.multi.is_some() {
        return Err(CmdError::Static(crate::error::WATCH_INSIDE_MULTI));
    }
    for key in a.iter().skip(1) {
        if c.watched.iter().any(|w| w.db == c.db && w.key == key) {
            continue;
        }
        let expired_at_watch = multi::key_is_expired(srv, c.db, key);
        srv.watched_keys
            .entry((c.db, key.to_vec()))
            .or_default()
            .push((c.id, expired_at_watch));
        c.watched.push(multi::WatchedKey {
            db: c.db,
            key: key.to_vec(),
        });
    }
    c.out.ok();
    Ok(())
}

fn unwatch(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    multi::unwatch_all(srv, c);
    c.out.ok();
    Ok(())
}
