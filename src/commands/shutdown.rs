//! SHUTDOWN and the shutdown sequence, as Redis 7.0 runs them (db.c
//! shutdownCommand; server.c prepareForShutdown, isReadyToShutdown,
//! finishShutdown, abortShutdown; blocked.c replyToClientsBlockedOnShutdown).
//!
//! A shutdown — the SHUTDOWN command, or SIGTERM / SIGINT taken by the cron
//! — first lets lagging replicas catch up: unless NOW is given or
//! `shutdown-timeout` is 0, while some replica has not acknowledged the
//! whole stream, writes are paused (`PAUSE_DURING_SHUTDOWN`), replicas are
//! asked for an ACK, and the cron finishes the shutdown once they all
//! caught up or the timeout passed (INFO shows `shutdown_in_milliseconds`
//! meanwhile). Clients that sent SHUTDOWN stay blocked until then. The
//! final step logs lagging replicas, kills a child, flushes the AOF, saves
//! the RDB and exits the process; if the AOF or the save fails (without
//! FORCE), the shutdown is cancelled: blocked clients get "Errors trying
//! to SHUTDOWN", writes resume. SHUTDOWN ABORT cancels a pending one.

use crate::client::Client;
use crate::error::{self, CmdError, CmdResult};
use crate::persist::child::ChildKind;
use crate::protocol::args::Args;
use crate::server::{Server, ShutdownFlags, LAST_SIGNAL, PAUSE_DURING_SHUTDOWN, SHUTDOWN_SIGNAL};
use std::sync::atomic::Ordering;
use tracing::{info, warn};

/// What prepareForShutdown decided.
#[derive(PartialEq, Eq, Debug)]
pub enum Prepared {
    /// Everything is done: the process may exit.
    Exit,
    /// Waiting for lagging replicas (or another shutdown is pending).
    Waiting,
    /// The final step failed; the shutdown was cancelled.
    Failed,
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. On success the process
/// exits and the connection gets no reply; while replicas catch up the
/// client is blocked.
pub fn shutdown_command(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let mut f = ShutdownFlags::default();
    let mut abort = false;
    for i in 1..a.len() {
        if a.is(i, "nosave") {
            f.nosave = true;
        } else if a.is(i, "save") {
            f.save = true;
        } else if a.is(i, "now") {
            f.now = true;
        } else if a.is(i, "force") {
            f.force = true;
        } else if a.is(i, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let any = f.nosave || f.save || f.now || f.force;
    if (abort && any) || (f.nosave && f.save) {
        return Err(CmdError::Syntax);
    }
    if abort {
        if !abort_shutdown(srv) {
            return Err(CmdError::Static(error::NO_SHUTDOWN_IN_PROGRESS));
        }
        c.out.ok();
        return Ok(());
    }
    if !f.now && c.deny_blocking {
        return Err(CmdError::Static(error::SHUTDOWN_DENY_BLOCKING));
    }
    if !f.nosave && srv.scripting.busy_polling {
        return Err(crate::scripting::busy_error(srv));
    }
    match prepare(srv, f) {
        Prepared::Exit => exit_process(),
        Prepared::Waiting => {
            block(srv, c, a);
            Ok(())
        }
        Prepared::Failed => Err(CmdError::Static(error::SHUTDOWN_ERRORS)),
    }
}

fn is_initiated(srv: &Server) -> bool {
    srv.shutdown.deadline_ms != 0
}

/// prepareForShutdown: starts waiting for lagging replicas, or finishes.
pub fn prepare(srv: &mut Server, mut f: ShutdownFlags) -> Prepared {
    if is_initiated(srv) {
        return Prepared::Waiting;
    }
    if srv.loading {
        f.save = false;
        f.nosave = true;
    }
    srv.shutdown.flags = f;
    warn!("User requested shutdown...");
    crate::supervise::notify("STOPPING=1\n");
    let timeout = srv.config.shutdown_timeout;
    if !f.now && timeout != 0 && !is_ready(srv) {
        srv.shutdown.deadline_ms = crate::clock::wall_ms() + timeout * 1000;
        if srv.pause.is_none() {
            crate::replication::send_getack(srv);
        }
        srv.pause_purpose(PAUSE_DURING_SHUTDOWN);
        info!("Waiting for replicas before shutting down.");
        return Prepared::Waiting;
    }
    if finish(srv) {
        Prepared::Exit
    } else {
        Prepared::Failed
    }
}

/// isReadyToShutdown: every replica acknowledged our whole stream.
pub fn is_ready(srv: &Server) -> bool {
    let off = srv.repl.offset;
    replicas(srv).all(|c| c.repl.as_ref().is_some_and(|r| r.ack_off == off))
}

fn replicas(srv: &Server) -> impl Iterator<Item = &Client> {
    srv.repl
        .replicas
        .iter()
        .filter_map(|&t| srv.clients.get(t).and_then(|s| s.as_deref()))
        .filter(|c| crate::replication::is_replica_client(c))
}

/// cancelShutdown: forget the shutdown, answer the clients blocked in
/// SHUTDOWN with an error, resume writes.
fn cancel(srv: &mut Server) {
    SHUTDOWN_SIGNAL.store(false, Ordering::SeqCst);
    LAST_SIGNAL.store(0, Ordering::SeqCst);
    srv.shutdown.flags = ShutdownFlags::default();
    srv.shutdown.deadline_ms = 0;
    for (id, t) in std::mem::take(&mut srv.shutdown.blocked) {
        let Some(Some(c)) = srv.clients.get_mut(t) else {
            continue;
        };
        if c.id != id || c.blocked.is_none() {
            continue;
        }
        c.blocked = None;
        c.out.error(&CmdError::Static(error::SHUTDOWN_ERRORS));
        srv.blocked_clients -= 1;
        if !c.write_queued {
            c.write_queued = true;
            srv.to_flush.push(t);
        }
        if c.pending_input() > 0 && !srv.resume_input.contains(&t) {
            srv.resume_input.push_back(t);
        }
    }
    srv.unpause_purpose(PAUSE_DURING_SHUTDOWN);
}

/// abortShutdown: true when a shutdown (initiated, or signalled and not
/// yet taken by the cron) was cancelled.
pub fn abort_shutdown(srv: &mut Server) -> bool {
    if is_initiated(srv) {
        cancel(srv);
    } else if SHUTDOWN_SIGNAL.swap(false, Ordering::SeqCst) {
        LAST_SIGNAL.store(0, Ordering::SeqCst);
    } else {
        return false;
    }
    info!("Shutdown manually aborted.");
    true
}

/// The client waits in SHUTDOWN for the outcome (BLOCKED_SHUTDOWN).
fn block(srv: &mut Server, c: &mut Client, a: &Args) {
    srv.blocked_clients += 1;
    c.blocked = Some(Box::new(crate::blocking::BlockedState {
        kind: crate::blocking::BlockKind::Shutdown,
        db: c.db,
        keys: Vec::new(),
        deadline_ms: 0,
        argv: a.to_vec(),
    }));
    srv.shutdown.blocked.push((c.id, c.token));
}

/// finishShutdown: the last step. True when the process may exit; false
/// when it failed (logged) and the shutdown was cancelled.
pub fn finish(srv: &mut Server) -> bool {
    let f = srv.shutdown.flags;
    let off = srv.repl.offset;
    let now = crate::clock::wall_ms();
    let mut total = 0;
    let mut lagging = 0;
    for c in replicas(srv) {
        let Some(r) = c.repl.as_ref() else { continue };
        total += 1;
        if r.ack_off != off {
            lagging += 1;
            let lag = if r.online() {
                (now - r.ack_time_ms).max(0) / 1000
            } else {
                0
            };
            warn!(
                "Lagging replica {} reported offset {} behind master, lag={}, state={}.",
                crate::replication::master::replica_name(c),
                off - r.ack_off,
                lag,
                r.state_name()
            );
        }
    }
    if total > 0 {
        info!(
            "{} of {} replicas are in sync when shutting down.",
            total - lagging,
            total
        );
    }
    crate::scripting::ldb::kill_forked_sessions(srv);
    // A snapshot child could overwrite the final save: kill it.
    if let Some((pid, kind)) = srv
        .child
        .as_ref()
        .filter(|ch| matches!(ch.kind, ChildKind::Rdb | ChildKind::ReplSync))
        .map(|ch| (ch.pid, ch.kind))
    {
        warn!("There is a child saving an .rdb. Killing it!");
        crate::persist::child::kill(srv);
        let _ = std::fs::remove_file(format!("temp-{}.rdb", pid));
        if kind == ChildKind::ReplSync {
            // Replicas waiting for that snapshot are dropped.
            crate::replication::sync_snapshot_done(srv, false);
        }
    }
    if !crate::persist::aof::on_shutdown(srv, f.force) {
        return failed(srv);
    }
    let save_configured = !crate::persist::rdb_server::save_params(srv).is_empty();
    if (save_configured && !f.nosave) || f.save {
        info!("Saving the final RDB snapshot before exiting.");
        crate::supervise::notify("STATUS=Saving the final RDB snapshot\n");
        if crate::persist::rdb_server::save(srv).is_err() {
            if f.force {
                warn!("Error trying to save the DB. Exit anyway.");
            } else {
                warn!("Error trying to save the DB, can't exit.");
                crate::supervise::notify("STATUS=Error trying to save the DB, can't exit.\n");
                return failed(srv);
            }
        }
    }
    if let Some(p) = Some(&srv.config.pidfile).filter(|p| !p.is_empty()) {
        info!("Removing the pid file.");
        let _ = std::fs::remove_file(p);
    }
    // Best effort: what the replicas have not received yet.
    for t in srv.repl.replicas.clone() {
        if let Some(Some(c)) = srv.clients.get_mut(t) {
            if c.pending_output() > 0 {
                let _ = c.write_socket();
            }
        }
    }
    // Close the listening sockets now (closeListeningSockets): a client
    // that sees its connection close must find the port closed, whatever
    // order the exit closes descriptors in.
    srv.listeners.clear();
    if let Some(u) = Some(&srv.config.unixsocket).filter(|u| !u.is_empty()) {
        info!("Removing the unix socket file.");
        if let Err(e) = std::fs::remove_file(u) {
            warn!("Error removing the unix socket file: {}", e);
        }
    }
    warn!("Redis is now ready to exit, bye bye...");
    true
}

fn failed(srv: &mut Server) -> bool {
    warn!("Errors trying to shut down the server. Check the logs for more information.");
    cancel(srv);
    false
}

/// Exits after a finished shutdown.
pub fn exit_process() -> ! {
    std::process::exit(0)
}

/// The flags `shutdown-on-sigint` / `shutdown-on-sigterm` give.
fn signal_flags(srv: &Server, sig: i32) -> ShutdownFlags {
    use crate::config::{SHUTDOWN_FORCE, SHUTDOWN_NOSAVE, SHUTDOWN_NOW, SHUTDOWN_SAVE};
    let bits = if sig == libc::SIGINT {
        srv.config.shutdown_on_sigint
    } else {
        srv.config.shutdown_on_sigterm
    };
    ShutdownFlags {
        save: bits & SHUTDOWN_SAVE != 0,
        nosave: bits & SHUTDOWN_NOSAVE != 0,
        now: bits & SHUTDOWN_NOW != 0,
        force: bits & SHUTDOWN_FORCE != 0,
    }
}

/// From the cron (serverCron): starts a signalled shutdown, or finishes
/// one whose replicas caught up or whose time is over.
pub fn cron(srv: &mut Server) {
    if SHUTDOWN_SIGNAL.load(Ordering::SeqCst) && !is_initiated(srv) {
        let sig = LAST_SIGNAL.load(Ordering::SeqCst);
        let name = match sig {
            libc::SIGINT => "SIGINT",
            _ => "SIGTERM",
        };
        warn!("Received {} scheduling shutdown...", name);
        let f = signal_flags(srv, sig);
        if prepare(srv, f) == Prepared::Exit {
            exit_process();
        }
    } else if is_initiated(srv)
        && (crate::clock::wall_ms() >= srv.shutdown.deadline_ms || is_ready(srv))
        && finish(srv)
    {
        exit_process();
    }
}

/// A signal arrived while the startup load runs (whileBlockedCron): shut
/// down without saving.
pub fn while_loading(srv: &mut Server) {
    if !SHUTDOWN_SIGNAL.load(Ordering::SeqCst) {
        return;
    }
    warn!("Received shutdown signal during loading, scheduling shutdown.");
    let f = ShutdownFlags {
        nosave: true,
        ..Default::default()
    };
    if prepare(srv, f) == Prepared::Exit {
        exit_process();
    }
    warn!("SIGTERM received but errors trying to shut down the server, check the logs for more information");
    SHUTDOWN_SIGNAL.store(false, Ordering::SeqCst);
    LAST_SIGNAL.store(0, Ordering::SeqCst);
}
