//! Transactions (Redis's multi.c): MULTI EXEC DISCARD WATCH UNWATCH, the
//! queue of commands a client builds inside MULTI, and WATCH's
//! check-and-set bookkeeping (`touch_key` marks watchers dirty).

use super::fact;
use super::{
    spec, Args, CommandSpec, Group, ALLOW_BUSY, FAST, LOADING, NOKEYS, NOSCRIPT, SKIP_SLOWLOG,
    STALE,
};
use crate::client::Client;
use crate::clock;
use crate::error::{CmdError, CmdResult};
use crate::server::Server;

const G: Group = Group::Transactions;
const CTL: u32 = NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY;

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "multi",
        1,
        CTL,
        NOKEYS,
        G,
        "1.2.0",
        "Starts a transaction.",
        multi,
    )
    .with(fact::NOT_QUEUED),
    spec(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        NOKEYS,
        G,
        "1.2.0",
        "Executes all commands in a transaction.",
        exec,
    )
    .with(fact::RUNS_QUEUED | fact::EFFECTS_ONLY | fact::NOT_QUEUED | fact::OOM_OK_IN_MULTI),
    spec(
        "discard",
        1,
        CTL,
        NOKEYS,
        G,
        "2.0.0",
        "Discards a transaction.",
        discard,
    )
    .with(fact::NOT_QUEUED | fact::OOM_OK_IN_MULTI),
    spec(
        "watch",
        -2,
        CTL,
        (1, -1, 1),
        G,
        "2.2.0",
        "Monitors changes to keys to determine the execution of a transaction.",
        watch,
    )
    .with(fact::NOT_QUEUED | fact::WHOLE_KEYS),
    spec(
        "unwatch",
        1,
        CTL,
        NOKEYS,
        G,
        "2.2.0",
        "Forgets about watched keys of a transaction.",
        unwatch,
    ),
];

/// A transaction being queued.
#[derive(Default)]
pub struct MultiState {
    pub commands: Vec<Vec<Vec<u8>>>,
    /// A command was rejected while queuing: EXEC answers EXECABORT.
    pub aborted: bool,
    /// Memory of the queued commands: their arguments and vectors
    /// (client memory accounting, CLIENT LIST multi-mem).
    pub mem: usize,
}

impl MultiState {
    /// Queues one command.
    pub fn queue(&mut self, argv: Vec<Vec<u8>>) {
        const V: usize = std::mem::size_of::<Vec<u8>>();
        self.mem += V + argv.iter().map(|a| V + a.capacity()).sum::<usize>();
        self.commands.push(argv);
    }
}

/// One watched key of a client (whether it was already expired at WATCH
/// time is kept next to the client id in `Server::watched_keys`).
pub struct WatchedKey {
    pub db: usize,
    pub key: Vec<u8>,
}

/// signalModifiedKey for WATCH (touchWatchedKey): every client watching
/// `key` in `db` will fail its EXEC. A watcher that saw the key already
/// logically expired is not dirtied by that key's deletion (no logical
/// change), nor while the same expired value is still there.
pub fn touch_key(srv: &mut Server, db: usize, key: &[u8]) {
    if srv.watched_keys.is_empty() {
        return;
    }
    let Some(ws) = srv.watched_keys.get_mut(&(db, key.to_vec())) else {
        return;
    };
    let present = srv.dbs[db].dict.contains_key(key);
    let still_expired = present
        && srv.dbs[db]
            .get_expire(key)
            .is_some_and(|w| w <= clock::now_ms());
    for (id, expired_at_watch) in ws.iter_mut() {
        if *expired_at_watch {
            if !present {
                *expired_at_watch = false;
                continue;
            }
            if still_expired {
                continue;
            }
        }
        srv.cas_dirty.insert(*id);
    }
}

/// touchAllWatchedKeysInDb: before FLUSHDB/FLUSHALL/SWAPDB, dirty every
/// watcher of a key that exists in `db` (or in `other`, for SWAPDB: the
/// db whose contents replace `db`'s).
pub fn touch_all_in_db(srv: &mut Server, db: usize, other: Option<usize>) {
    if srv.watched_keys.is_empty() {
        return;
    }
    let now = clock::now_ms();
    let dbs = &srv.dbs;
    let expired_in = |d: usize, key: &[u8]| dbs[d].get_expire(key).is_some_and(|w| w <= now);
    let mut dirty = Vec::new();
    for ((d, key), ws) in srv.watched_keys.iter_mut() {
        if *d != db {
            continue;
        }
        let in_emptied = dbs[db].dict.contains_key(key);
        let in_other = other.is_some_and(|o| dbs[o].dict.contains_key(key));
        if !in_emptied && !in_other {
            continue;
        }
        for (id, expired_at_watch) in ws.iter_mut() {
            if *expired_at_watch {
                match other {
                    // Expired key now deleted: no logical change.
                    Some(o) if in_other => {
                        if expired_in(o, key) {
                            continue; // expired key remains expired
                        }
                    }
                    _ => {
                        *expired_at_watch = false;
                        continue;
                    }
                }
            } else if !in_emptied && other.is_some_and(|o| expired_in(o, key)) {
                // A missing key replaced with an expired one.
                *expired_at_watch = true;
                continue;
            }
            dirty.push(*id);
        }
    }
    srv.cas_dirty.extend(dirty);
}

/// Forgets all of a client's watched keys (EXEC, DISCARD, UNWATCH, close).
pub fn unwatch_all(srv: &mut Server, c: &mut Client) {
    for w in c.watched.drain(..) {
        let k = (w.db, w.key);
        if let Some(ids) = srv.watched_keys.get_mut(&k) {
            ids.retain(|&(id, _)| id != c.id);
            if ids.is_empty() {
                srv.watched_keys.remove(&k);
            }
        }
    }
    srv.cas_dirty.remove(&c.id);
}

/// discardTransaction: leaves MULTI (if in it) and forgets watched keys.
pub fn discard_transaction(srv: &mut Server, c: &mut Client) {
    c.multi = None;
    unwatch_all(srv, c);
}

fn key_is_expired(srv: &Server, db: usize, key: &[u8]) -> bool {
    srv.dbs[db]
        .get_expire(key)
        .is_some_and(|w| w <= clock::now_ms())
}

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
    unwatch_all(srv, c);
    c.out.ok();
    Ok(())
}

fn exec(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    let Some(m) = c.multi.take() else {
        return Err(CmdError::Static(crate::error::EXEC_WITHOUT_MULTI));
    };
    if m.aborted {
        unwatch_all(srv, c);
        return Err(CmdError::Static(crate::error::EXECABORT));
    }
    // isWatchedKeyExpired: keys already expired at WATCH time are ignored.
    let expired = c.watched.iter().any(|w| {
        key_is_expired(srv, w.db, &w.key)
            && !srv
                .watched_keys
                .get(&(w.db, w.key.clone()))
                .is_some_and(|ws| ws.iter().any(|&(id, e)| id == c.id && e))
    });
    if srv.cas_dirty.contains(&c.id) || expired {
        unwatch_all(srv, c);
        c.out.null_array();
        return Ok(());
    }
    // Unwatch first: the transaction's own writes must not dirty it.
    unwatch_all(srv, c);
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
        if let Err(e) = super::acl_cmd::recheck_queued(srv, c, &args) {
            super::count_error(srv, &e);
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
        let expired_at_watch = key_is_expired(srv, c.db, key);
        srv.watched_keys
            .entry((c.db, key.to_vec()))
            .or_default()
            .push((c.id, expired_at_watch));
        c.watched.push(WatchedKey {
            db: c.db,
            key: key.to_vec(),
        });
    }
    c.out.ok();
    Ok(())
}

fn unwatch(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    unwatch_all(srv, c);
    c.out.ok();
    Ok(())
}
