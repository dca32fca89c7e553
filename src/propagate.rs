//! Command propagation to the AOF and to replicas — Redis's
//! `alsoPropagate` / `propagatePendingCommands`.
//!
//! After a command changes the dataset (`Server::dirty` moved), its argv —
//! or what its handler asked to propagate instead (SET EX → SET PXAT,
//! SPOP → SREM, BLPOP → LPOP...) — is queued here, RESP-encoded, with the
//! db it ran in. Keys that expired while it ran are queued first, as DEL
//! (UNLINK with lazyfree-lazy-expire). When the outermost command
//! (EXEC, EVAL, FCALL, or a plain command) ends, the queue is handed to
//! the AOF and the replication feed (`srv.hooks`: persist and replication
//! sit above this module); more than one queued command is
//! wrapped in MULTI/EXEC so replicas and AOF replay apply the unit
//! atomically, as Redis 7.0's effects replication does.
//!
//! Nothing here runs unless a target is enabled (`Propagation::targets`):
//! the AOF turns `TO_AOF` on, the replication backlog turns `TO_REPL` on.

use crate::server::Server;

/// Propagate to the append-only file.
pub const TO_AOF: u8 = 1;
/// Propagate to replicas (and the backlog).
pub const TO_REPL: u8 = 2;
pub const TO_ALL: u8 = TO_AOF | TO_REPL;
/// A `db` for `feed` that selects nothing (the EXEC closing a unit, as
/// Redis propagates it with dbid -1).
pub const NO_DB: usize = usize::MAX;

struct PendingOp {
    db: usize,
    start: usize,
    end: usize,
    targets: u8,
}

/// The propagation queue of the execution unit in progress.
#[derive(Default)]
pub struct Propagation {
    /// Which targets exist right now (AOF on, backlog present).
    pub targets: u8,
    /// Targets a script allows (redis.set_repl); TO_ALL outside scripts.
    pub script_mask: u8,
    /// The running command asked not to propagate its own argv (it queued
    /// what should be propagated instead, or nothing).
    pub prevent_current: bool,
    /// The running command propagates even if the dirty counter says it
    /// changed nothing (forceCommandPropagation: FLUSHALL, whose save
    /// resets the counter).
    pub force_current: bool,
    ops: Vec<PendingOp>,
    buf: Vec<u8>,
    /// Tests: when set, flushed commands are recorded here as
    /// (target, db, RESP bytes) instead of being fed to the AOF/replicas.
    pub capture: Option<Vec<(u8, usize, Vec<u8>)>>,
}

impl Propagation {
    pub fn new() -> Propagation {
        Propagation {
            script_mask: TO_ALL,
            ..Default::default()
        }
    }

    /// Is any target enabled?
    #[inline]
    pub fn active(&self) -> bool {
        self.targets != 0
    }
}

/// Appends `argv` as a RESP array to `out`.
pub fn encode_command(out: &mut Vec<u8>, argv: &[&[u8]]) {
    out.push(b'*');
    out.extend_from_slice(argv.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in argv {
        out.push(b'$');
        out.extend_from_slice(a.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Queues `argv`, executed in `db`, for the given targets (Redis's
/// alsoPropagate). Keys that expired earlier in this unit are queued first.
pub fn also_propagate(srv: &mut Server, db: usize, argv: &[&[u8]], targets: u8) {
    if !srv.prop.active() {
        return;
    }
    queue_expired(srv);
    push(srv, db, argv, targets);
}

fn push(srv: &mut Server, db: usize, argv: &[&[u8]], targets: u8) {
    let p = &mut srv.prop;
    let targets = targets & p.targets & p.script_mask;
    if targets == 0 {
        return;
    }
    let start = p.buf.len();
    encode_command(&mut p.buf, argv);
    p.ops.push(PendingOp {
        db,
        start,
        end: p.buf.len(),
        targets,
    });
}

/// The running command propagates its argv whatever the dirty counter.
pub fn force_current(srv: &mut Server) {
    if srv.prop.active() {
        srv.prop.force_current = true;
    }
}

/// The running command propagates only what it queued itself.
pub fn prevent_current(srv: &mut Server) {
    srv.prop.prevent_current = true;
}

/// Queues DEL (or UNLINK) for keys that expired since the last call: their
/// deletion must reach replicas before anything the command did next.
pub fn queue_expired(srv: &mut Server) {
    let unlink = srv.config.lazyfree_lazy_expire;
    for dbi in 0..srv.dbs.len() {
        let db = &mut srv.dbs[dbi];
        if db.events_propagated >= db.events.len() {
            continue;
        }
        let from = db.events_propagated;
        db.events_propagated = db.events.len();
        let keys: Vec<Vec<u8>> = db.events[from..]
            .iter()
            .filter(|(k, _)| *k == crate::db::KeyEvent::Expired)
            .map(|(_, key)| key.as_bytes().to_vec())
            .collect();
        for key in keys {
            let cmd: &[u8] = if unlink { b"UNLINK" } else { b"DEL" };
            // Expirations are the server's own decision: never masked by
            // a script's redis.set_repl.
            let mask = srv.prop.script_mask;
            srv.prop.script_mask = TO_ALL;
            push(srv, dbi, &[cmd, &key], TO_ALL);
            srv.prop.script_mask = mask;
        }
    }
}

/// Called by the dispatcher after a handler ran: queues the command's own
/// argv if it changed the dataset and did not opt out, and when this was
/// the outermost command, hands the unit to the AOF and replicas.
pub fn after_command(
    srv: &mut Server,
    db: usize,
    args: &crate::protocol::args::Args,
    wrote: bool,
    self_propagates: bool,
    outermost: bool,
    touches_arbitrary_keys: bool,
) {
    queue_expired(srv);
    let prevent = std::mem::take(&mut srv.prop.prevent_current);
    let force = std::mem::take(&mut srv.prop.force_current);
    if (wrote || force) && self_propagates && !prevent {
        let argv: Vec<&[u8]> = args.iter().collect();
        push(srv, db, &argv, TO_ALL);
    }
    if outermost {
        // SCAN / RANDOMKEY (CMD_TOUCHES_ARBITRARY_KEYS) may expire many
        // keys: their DELs go out one by one, like active expiry's.
        flush_unit(srv, !touches_arbitrary_keys);
    }
}

/// Hands the queued unit to its targets: one command as is, several
/// wrapped in MULTI/EXEC (in the first command's db).
pub fn flush(srv: &mut Server) {
    flush_unit(srv, true);
}

fn flush_unit(srv: &mut Server, transaction: bool) {
    if srv.prop.ops.is_empty() {
        return;
    }
    let ops = std::mem::take(&mut srv.prop.ops);
    let buf = std::mem::take(&mut srv.prop.buf);
    for target in [TO_AOF, TO_REPL] {
        let mine: Vec<&PendingOp> = ops.iter().filter(|o| o.targets & target != 0).collect();
        if mine.is_empty() {
            continue;
        }
        let wrap = transaction && mine.len() > 1;
        let first_db = mine[0].db;
        if wrap {
            feed(srv, target, first_db, b"*1\r\n$5\r\nMULTI\r\n");
        }
        for op in &mine {
            feed(srv, target, op.db, &buf[op.start..op.end]);
        }
        if wrap {
            feed(srv, target, NO_DB, b"*1\r\n$4\r\nEXEC\r\n");
        }
    }
    // Reuse the allocation for the next unit.
    let mut buf = buf;
    buf.clear();
    srv.prop.buf = buf;
}

fn feed(srv: &mut Server, target: u8, db: usize, cmd: &[u8]) {
    if let Some(cap) = srv.prop.capture.as_mut() {
        cap.push((target, db, cmd.to_vec()));
        return;
    }
    if target == TO_AOF {
        (srv.hooks.feed_aof)(srv, db, cmd);
    } else {
        (srv.hooks.feed_replicas)(srv, db, cmd);
    }
}

/// Propagates one command right away, outside any command (active expiry,
/// the cron): queued and flushed as its own unit.
pub fn propagate_now(srv: &mut Server, db: usize, argv: &[&[u8]], targets: u8) {
    if !srv.prop.active() {
        return;
    }
    queue_expired(srv);
    push(srv, db, argv, targets);
    flush(srv);
}

/// The running command propagates as `argv` instead of its own arguments
/// (Redis's rewriteClientCommandVector).
pub fn rewrite(srv: &mut Server, db: usize, argv: &[&[u8]]) {
    if !srv.prop.active() {
        return;
    }
    also_propagate(srv, db, argv, TO_ALL);
    prevent_current(srv);
}

/// DEL, or UNLINK when `lazy`: how the server propagates a deletion it
/// decided on.
pub fn del_command(lazy: bool) -> &'static [u8] {
    if lazy {
        b"UNLINK"
    } else {
        b"DEL"
    }
}

#[cfg(test)]
#[path = "propagate_tests.rs"]
mod tests;
