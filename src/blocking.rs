//! Blocking operations (BLPOP, BLMOVE, BZPOPMIN, ...): clients waiting on
//! keys, woken when another client pushes to one of them, or timed out —
//! Redis's blocked.c.
//!
//! A blocking command that finds nothing calls `block_on_keys` with what it
//! waits for (`BlockKind`, Redis's btype): the client keeps an owned copy
//! of its argv and is queued (FIFO) on each key. Writers
//! call `signal_key_ready`; after every command the event loop calls
//! `serve_ready_keys`, which re-executes the blocked command of each waiting
//! client in order until the key runs dry. Deadlines are kept in an ordered
//! set checked every loop iteration. While blocked, a client's further input
//! stays queued, as in Redis.
//!
//! Besides the commands' own signals, the keyspace logs what Redis's db.c
//! signals (`Db::ready_log`: keys added, streams deleted or overwritten)
//! while a db has blocked clients; `serve_ready_keys` drains it first. A
//! blocked XREADGROUP whose stream is gone (deleted, overwritten with
//! another type, flushed, swapped away) is unblocked with an error, as
//! Redis's unblockDeletedStreamReadgroupClients does.

use crate::client::Client;
use crate::clock;
use crate::error::{self, CmdError};
use crate::object::ObjType;
use crate::protocol::args::Args;
use crate::server::Server;

/// What a blocked client waits for (Redis's `c->btype`), given by the
/// command that blocks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BlockKind {
    /// A key holding this type to be ready: BLPOP, BZPOPMIN, XREAD...
    Key(ObjType),
    /// XREADGROUP: a stream key; one that vanishes unblocks it with an
    /// error (Redis's `bpop.xread_group`).
    StreamGroup,
    /// WAIT: replica acknowledgements.
    Wait,
    /// SHUTDOWN: the shutdown's outcome.
    Shutdown,
}

impl BlockKind {
    /// The value type a key must hold to serve the client.
    fn awaited_type(self) -> Option<ObjType> {
        match self {
            BlockKind::Key(t) => Some(t),
            BlockKind::StreamGroup => Some(ObjType::Stream),
            BlockKind::Wait | BlockKind::Shutdown => None,
        }
    }
}

/// What a blocked client is waiting for.
pub struct BlockedState {
    pub kind: BlockKind,
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    /// Unix ms; 0 = no deadline.
    pub deadline_ms: i64,
    /// The blocked command, re-executed when a key is ready.
    pub argv: Vec<Vec<u8>>,
}

/// Parses a blocking timeout (seconds, may be fractional; 0 = forever)
/// into an absolute unix-ms deadline, 0 meaning no deadline.
pub fn parse_timeout(arg: &[u8]) -> Result<i64, CmdError> {
    // Redis 7.0: string2ld, then `(long long)(secs * 1000.0)` (truncation;
    // out-of-range casts yield LLONG_MIN on x86, hence "negative" for
    // ±inf and huge values), then the LLONG_MAX - now overflow check.
    let secs =
        crate::util::num::parse_long_double(arg).ok_or(CmdError::Static(error::TIMEOUT_INVALID))?;
    let ms = secs * 1000.0;
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&ms) {
        return Err(CmdError::Static(error::TIMEOUT_NEGATIVE));
    }
    let ms = ms.trunc() as i64;
    if ms < 0 {
        return Err(CmdError::Static(error::TIMEOUT_NEGATIVE));
    }
    if ms == 0 {
        return Ok(0);
    }
    let now = clock::now_ms();
    if ms > i64::MAX - now {
        return Err(CmdError::Static(error::TIMEOUT_OUT_OF_RANGE));
    }
    Ok(now + ms)
}

/// Blocks client `c` on `keys` (in its current db) until one of them is
/// signalled ready or `deadline_ms` passes (0 = never). The handler must
/// not write a reply when it blocks.
pub fn block_on_keys(
    srv: &mut Server,
    c: &mut Client,
    kind: BlockKind,
    keys: &[&[u8]],
    deadline_ms: i64,
    args: &Args,
) {
    let mut owned: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
    for k in keys {
        if !owned.iter().any(|o| o.as_slice() == *k) {
            owned.push(k.to_vec());
        }
    }
    for k in &owned {
        srv.blocking_keys
            .entry((c.db, k.clone()))
            .or_default()
            .push_back(c.token);
    }
    if deadline_ms > 0 {
        srv.block_deadlines.insert((deadline_ms, c.token));
    }
    srv.blocked_clients += 1;
    srv.dbs[c.db].waiters += 1;
    c.blocked = Some(Box::new(BlockedState {
        kind,
        db: c.db,
        keys: owned,
        deadline_ms,
        argv: args.to_vec(),
    }));
}

/// Called by every command that adds elements to a list or sorted set key,
/// so clients blocked on it are served after the current command.
pub fn signal_key_ready(srv: &mut Server, db: usize, key: &[u8]) {
    if srv.blocking_keys.is_empty() {
        return;
    }
    if !srv.blocking_keys.contains_key(&(db, key.to_vec())) {
        return;
    }
    if !srv
        .ready_keys
        .iter()
        .any(|(d, k)| *d == db && k.as_slice() == key)
    {
        srv.ready_keys.push((db, key.to_vec()));
    }
}

/// True when the current command must not block (inside MULTI/EXEC or a
/// script): blocking commands then behave like their non-blocking form.
pub fn must_not_block(c: &Client) -> bool {
    c.deny_blocking
}

/// Removes a client's registrations (served, timed out, killed).
pub fn unblock(srv: &mut Server, c: &mut Client) -> Option<Box<BlockedState>> {
    let st = c.blocked.take()?;
    for k in &st.keys {
        let entry = (st.db, k.clone());
        if let Some(q) = srv.blocking_keys.get_mut(&entry) {
            q.retain(|&t| t != c.token);
            if q.is_empty() {
                srv.blocking_keys.remove(&entry);
            }
        }
    }
    if st.deadline_ms > 0 {
        srv.block_deadlines.remove(&(st.deadline_ms, c.token));
    }
    srv.blocked_clients -= 1;
    // Only clients blocked on keys count as their db's waiters (WAIT and
    // SHUTDOWN block on no key).
    if let Some(db) = srv.dbs.get_mut(st.db).filter(|_| !st.keys.is_empty()) {
        db.waiters = db.waiters.saturating_sub(1);
        if db.waiters == 0 {
            db.ready_log.clear();
        }
    }
    Some(st)
}

/// Moves what the keyspace logged (`Db::ready_log`) into `ready_keys`.
fn collect_db_signals(srv: &mut Server) {
    for db in 0..srv.dbs.len() {
        if srv.dbs[db].ready_log.is_empty() {
            continue;
        }
        let log = std::mem::take(&mut srv.dbs[db].ready_log);
        for key in log {
            signal_key_ready(srv, db, &key);
        }
    }
}

/// True when the keyspace has logged keys to signal (cheap: one test per
/// db, made only while some client is blocked on keys).
pub fn has_pending_signals(srv: &Server) -> bool {
    !srv.ready_keys.is_empty()
        || (!srv.blocking_keys.is_empty() && srv.dbs.iter().any(|d| !d.ready_log.is_empty()))
}

/// scanDatabaseForDeletedStreams: before db `emptied` loses its keyspace
/// (FLUSHDB/FLUSHALL, SWAPDB, a full resync), signals every key a client
/// waits on that holds a stream now and will not hold one afterwards
/// (`replaced_with`: the db whose keyspace takes its place, if any).
pub fn signal_deleted_streams(srv: &mut Server, emptied: usize, replaced_with: Option<usize>) {
    if srv.blocking_keys.is_empty() {
        return;
    }
    let waiting: Vec<Vec<u8>> = srv
        .blocking_keys
        .keys()
        .filter(|(db, _)| *db == emptied)
        .map(|(_, k)| k.clone())
        .collect();
    for key in waiting {
        let is_stream = |srv: &Server, db: usize| {
            srv.dbs[db]
                .dict
                .get(key.as_slice())
                .is_some_and(|o| o.value.obj_type() == ObjType::Stream)
        };
        if is_stream(srv, emptied) && !replaced_with.is_some_and(|r| is_stream(srv, r)) {
            signal_key_ready(srv, emptied, &key);
        }
    }
}

/// Is the client blocked in an XREADGROUP (which a vanished stream key
/// unblocks with an error)?
fn in_xreadgroup(srv: &Server, t: usize) -> bool {
    srv.clients
        .get(t)
        .and_then(|s| s.as_deref())
        .and_then(|c| c.blocked.as_ref())
        .is_some_and(|st| st.kind == BlockKind::StreamGroup)
}

/// Re-executes the blocked commands of clients waiting on ready keys.
/// Returns the tokens of clients that got a reply (to flush and resume).
pub fn serve_ready_keys(srv: &mut Server) -> Vec<usize> {
    let mut served = Vec::new();
    loop {
        collect_db_signals(srv);
        if srv.ready_keys.is_empty() {
            break;
        }
        let ready = std::mem::take(&mut srv.ready_keys);
        for (db, key) in ready {
            let waiting: Vec<usize> = match srv.blocking_keys.get(&(db, key.clone())) {
                Some(q) => q.iter().copied().collect(),
                None => continue,
            };
            let mut xreadgroup_waiting: Option<bool> = None;
            for &t in &waiting {
                let ty = srv.dbs[db].lookup_notouch(&key).map(|o| o.value.obj_type());
                let kind = srv
                    .clients
                    .get(t)
                    .and_then(|s| s.as_deref())
                    .and_then(|c| c.blocked.as_ref())
                    .map(|st| st.kind);
                let waits_for = kind.and_then(BlockKind::awaited_type);
                let xreadgroup = kind == Some(BlockKind::StreamGroup);
                match ty {
                    // A blocked XREADGROUP whose stream is gone is answered
                    // (its re-execution replies the UNBLOCKED error).
                    _ if xreadgroup => {}
                    // Once the key is gone the rest keep their place, unless
                    // an XREADGROUP further on is to be answered.
                    None => {
                        let xrg = *xreadgroup_waiting
                            .get_or_insert_with(|| waiting.iter().any(|&w| in_xreadgroup(srv, w)));
                        if !xrg {
                            break;
                        }
                        continue;
                    }
                    // A key that now holds another type (LPUSH, DEL, SET in
                    // one transaction) serves nobody waiting for a list, as
                    // Redis's handleClientsBlockedOnKeys checks the type.
                    Some(ty) if waits_for.is_some_and(|want| want != ty) => continue,
                    Some(_) => {}
                }
                let Some(mut c) = srv.clients.get_mut(t).and_then(|s| s.take()) else {
                    continue;
                };
                if let Some(st) = unblock(srv, &mut c) {
                    let saved_db = c.db;
                    c.db = st.db;
                    c.block_deadline_override = Some(st.deadline_ms);
                    reexecute(srv, &mut c, &st.argv);
                    c.block_deadline_override = None;
                    if c.blocked.is_none() {
                        c.db = saved_db;
                        served.push(t);
                    }
                }
                srv.clients[t] = Some(c);
            }
        }
    }
    served
}

/// Runs a blocked command again from its owned argv.
fn reexecute(srv: &mut Server, c: &mut Client, argv: &[Vec<u8>]) {
    let mut buf = Vec::with_capacity(argv.iter().map(|a| a.len()).sum());
    let mut ranges = Vec::with_capacity(argv.len());
    for a in argv {
        ranges.push((buf.len(), a.len()));
        buf.extend_from_slice(a);
    }
    let args = Args::new(&buf, &ranges);
    c.reexecuting = true;
    (srv.hooks.execute)(srv, c, &args);
    c.reexecuting = false;
}

/// Times out clients whose deadline passed: null-array reply, as Redis's
/// replyToBlockedClientTimedOut does for lists and sorted sets.
pub fn expire_timeouts(srv: &mut Server) -> Vec<usize> {
    let mut done = Vec::new();
    if srv.block_deadlines.is_empty() {
        return done;
    }
    let now = clock::wall_ms();
    while let Some(&(when, t)) = srv.block_deadlines.iter().next() {
        if when > now {
            break;
        }
        srv.block_deadlines.remove(&(when, t));
        let Some(mut c) = srv.clients.get_mut(t).and_then(|s| s.take()) else {
            continue;
        };
        if unblock(srv, &mut c).is_some() {
            c.out.null_array();
            done.push(t);
        }
        srv.clients[t] = Some(c);
    }
    done
}

/// The earliest block deadline, for the poll timeout.
pub fn next_deadline(srv: &Server) -> Option<i64> {
    srv.block_deadlines.iter().next().map(|&(w, _)| w)
}

/// CLIENT UNBLOCK: unblocks `target` with a timeout-like null reply or the
/// UNBLOCKED error. Returns false if it was not blocked. `take_waiter` ends
/// a WAIT of the client and returns its acknowledged replicas (the
/// replication layer's `master::take_waiter`).
pub fn unblock_by_request(
    srv: &mut Server,
    target: &mut Client,
    with_error: bool,
    take_waiter: fn(&mut Server, u64) -> Option<i64>,
) -> bool {
    // A client blocked in SHUTDOWN waits for the shutdown's outcome.
    let in_shutdown = target
        .blocked
        .as_ref()
        .is_some_and(|st| st.kind == BlockKind::Shutdown);
    if in_shutdown || unblock(srv, target).is_none() {
        return false;
    }
    let waited = take_waiter(srv, target.id);
    if with_error {
        target.out.error(&CmdError::Static(error::UNBLOCKED));
    } else if let Some(acks) = waited {
        // WAIT: the replicas that acknowledged so far.
        target.out.int(acks);
    } else {
        target.out.null_array();
    }
    true
}
