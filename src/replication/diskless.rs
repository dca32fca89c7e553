//! Diskless full syncs, master side (Redis's rdbSaveToSlavesSockets,
//! rdbPipeReadHandler, rdbPipeWriteHandler and the socket half of
//! updateSlavesWaitingBgsave).
//!
//! With `repl-diskless-sync yes` and replicas that announced `capa eof`,
//! one forked child serves every replica waiting when it forks: it writes
//! `$EOF:<40 random hex chars>\r\n`, the RDB and the same 40 characters
//! into a pipe, then waits for the parent to say it may exit (a second
//! pipe, closed by the parent). The parent reads the pipe (registered
//! with the event loop under `RDB_PIPE_TOKEN`) a chunk at a time and
//! appends each chunk to every replica's output, writing it at once; while
//! one replica's socket is full, reading stops until its writable events
//! drain it, so the slowest replica paces the child. A replica that drops
//! out is forgotten; when none is left the child is killed. When the child
//! exits the replicas are online but get their accumulated stream only
//! after their first REPLCONF ACK (Redis's repl_start_cmd_stream_on_ack),
//! so the EOF mark is the last thing before the ACK.

use super::master;
use crate::client::Client;
use crate::client::RState;
use crate::clock;
use crate::persist::child::{self, ChildKind};
use crate::server::Server;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use tracing::{info, warn};

/// Bytes read from the pipe at a time (Redis's PROTO_IOBUF_LEN).
const PIPE_CHUNK: usize = 16 * 1024;

/// The transfer of one diskless snapshot to its replicas.
pub struct PipeXfer {
    /// Read end of the RDB pipe (None after EOF).
    read: Option<OwnedFd>,
    /// Write end of the child's may-exit pipe (closed at EOF).
    exit: Option<OwnedFd>,
    /// The replicas being fed: (slot, client id).
    conns: Vec<(usize, u64)>,
    /// Reading waits until every replica's output is written.
    paused: bool,
}

/// Creates a pipe; the read end is non-blocking when `nonblock_read`.
fn pipe(nonblock_read: bool) -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two descriptors on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned here.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    if nonblock_read {
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            let fl = libc::fcntl(r.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(r.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
    }
    Ok((r, w))
}

/// Is a socket-target snapshot being transferred (rdb_child_type SOCKET)?
pub fn active(srv: &Server) -> bool {
    srv.repl.pipe.is_some()
}

/// Is replica slot `t` fed by the pipe?
pub fn is_fed(srv: &Server, t: usize) -> bool {
    srv.repl
        .pipe
        .as_ref()
        .is_some_and(|p| p.conns.iter().any(|&(x, _)| x == t))
}

/// rdbSaveToSlavesSockets: forks the child writing the RDB into a pipe and
/// sends +FULLRESYNC to every replica waiting for a snapshot with
/// requirements `req` (`cur` is the executing client, out of its slot).
/// False when it could not start.
pub fn start(srv: &mut Server, cur: Option<&mut Client>, req: u8) -> bool {
    if srv.child.is_some() || srv.repl.pipe.is_some() {
        return false;
    }
    let pipes = pipe(true).and_then(|a| pipe(false).map(|b| (a, b)));
    let ((rdb_r, rdb_w), (exit_r, exit_w)) = match pipes {
        Ok(p) => p,
        Err(e) => {
            warn!("Can't save in background: pipe: {}", e);
            return false;
        }
    };
    let offset = srv.repl.offset;
    srv.repl.seldb = None;
    let save = master::sync_save_info(srv, req);
    let mark = super::random_replid();
    // Raw descriptors only: the closure is dropped in the parent too.
    let (w_fd, r_fd, exit_r_fd, exit_w_fd) = (
        rdb_w.as_raw_fd(),
        rdb_r.as_raw_fd(),
        exit_r.as_raw_fd(),
        exit_w.as_raw_fd(),
    );
    let started = child::start(srv, ChildKind::ReplSync, move |srv: &Server| {
        // SAFETY: in the child: the parent's ends are closed here (so a
        // dead parent means a write error), the write end becomes a File
        // this child owns.
        let f = unsafe {
            libc::close(r_fd);
            libc::close(exit_w_fd);
            std::fs::File::from_raw_fd(w_fd)
        };
        let mut w = io::BufWriter::with_capacity(PIPE_CHUNK, f);
        let res = (|| {
            w.write_all(b"$EOF:")?;
            w.write_all(mark.as_bytes())?;
            w.write_all(b"\r\n")?;
            crate::persist::rdb::write_rdb(srv, &mut w, &save)?;
            w.write_all(mark.as_bytes())?;
            w.flush()
        })();
        drop(w);
        // Wait for the parent to read everything (it closes the pipe).
        let mut b = [0u8; 1];
        // SAFETY: a blocking read into a local buffer on our descriptor.
        unsafe {
            libc::read(exit_r_fd, b.as_mut_ptr() as *mut libc::c_void, 1);
        }
        res
    });
    drop(rdb_w);
    drop(exit_r);
    let pid = match started {
        Ok(pid) => pid,
        Err(e) => {
            warn!("Can't save in background: fork: {}", e);
            return false;
        }
    };
    info!("Background RDB transfer started by pid {}", pid);
    // The replicas served by this child, told +FULLRESYNC now.
    let mut conns = Vec::new();
    if let Some(c) = cur {
        if master::waits_for_snapshot(c, req) {
            master::setup_full_resync(srv, c, offset);
            conns.push((c.token, c.id));
        }
    }
    for t in srv.repl.replicas.clone() {
        let Some(mut c) = srv.clients.get_mut(t).and_then(|s| s.take()) else {
            continue;
        };
        if master::waits_for_snapshot(&c, req) {
            master::setup_full_resync(srv, &mut c, offset);
            let _ = c.write_socket();
            conns.push((t, c.id));
        }
        srv.clients[t] = Some(c);
    }
    let raw = rdb_r.as_raw_fd();
    let reg = crate::poller::with_registry(&srv.io, |r| {
        r.register(
            &mut mio::unix::SourceFd(&raw),
            mio::Token(crate::poller::RDB_PIPE_TOKEN),
            mio::Interest::READABLE,
        )
    });
    if let Some(Err(e)) = reg {
        warn!(
            "Unrecoverable error creating the rdb pipe file event: {}",
            e
        );
    }
    srv.repl.pipe = Some(Box::new(PipeXfer {
        read: Some(rdb_r),
        exit: Some(exit_w),
        conns,
        paused: false,
    }));
    // Registering reports data already there; the executing replica
    // (`cur`) is back in its slot by then.
    true
}

/// Stops watching and closes the read end of the pipe.
fn close_read(io: &Option<std::rc::Rc<crate::poller::LoopIo>>, p: &mut PipeXfer) {
    if let Some(fd) = p.read.take() {
        let raw = fd.as_raw_fd();
        crate::poller::with_registry(io, |r| r.deregister(&mut mio::unix::SourceFd(&raw)));
    }
}

/// Closes a replica that failed during the transfer.
fn drop_replica(srv: &mut Server, t: usize) {
    if let Some(Some(c)) = srv.clients.get_mut(t) {
        c.close_asap = true;
        srv.to_close.push(t);
    }
}

/// rdbPipeReadHandler: reads the pipe and feeds every replica until the
/// pipe is empty or a replica's socket is full.
pub fn pipe_readable(srv: &mut Server) {
    let mut buf = vec![0u8; PIPE_CHUNK];
    loop {
        let Some(p) = srv.repl.pipe.as_mut() else {
            return;
        };
        let Some(fd) = p.read.as_ref().map(|f| f.as_raw_fd()) else {
            return;
        };
        if p.paused {
            return;
        }
        // A replica executing a command is out of its slot: wait for it.
        if p.conns
            .iter()
            .any(|&(t, _)| matches!(srv.clients.get(t), Some(None)))
        {
            p.paused = true;
            return;
        }
        // SAFETY: read into our buffer from the pipe we own.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::WouldBlock => return,
                io::ErrorKind::Interrupted => continue,
                _ => {}
            }
            warn!(
                "Diskless rdb transfer, read error sending DB to replicas: {}",
                e
            );
            let conns = std::mem::take(&mut p.conns);
            for (t, _) in conns {
                drop_replica(srv, t);
            }
            kill_child(srv);
            return;
        }
        if n == 0 {
            // EOF: the child wrote everything; let it exit.
            let still_up = p.conns.len();
            close_read(&srv.io, p);
            p.exit = None;
            warn!(
                "Diskless rdb transfer, done reading from pipe, {} replicas still up.",
                still_up
            );
            return;
        }
        let data = &buf[..n as usize];
        let now = clock::wall_ms();
        let conns = std::mem::take(&mut p.conns);
        let mut alive = Vec::with_capacity(conns.len());
        let mut writing = false;
        for (t, id) in conns {
            let Some(Some(c)) = srv.clients.get_mut(t) else {
                continue;
            };
            if c.id != id || c.close_asap {
                continue;
            }
            c.out.buf.extend_from_slice(data);
            match c.write_socket() {
                Ok(true) => {}
                Ok(false) => {
                    writing = true;
                    if let Some(r) = c.repl.as_mut() {
                        r.last_partial_write_ms = now;
                    }
                }
                Err(e) => {
                    warn!(
                        "Diskless rdb transfer, write error sending DB to replica: {}",
                        e
                    );
                    drop_replica(srv, t);
                    continue;
                }
            }
            alive.push((t, id));
        }
        let Some(p) = srv.repl.pipe.as_mut() else {
            return;
        };
        let none = alive.is_empty();
        p.conns = alive;
        if none {
            warn!("Diskless rdb transfer, last replica dropped, killing fork child.");
            kill_child(srv);
            return;
        }
        if writing {
            p.paused = true;
            return;
        }
    }
}

/// Is every fed replica's output written?
fn all_drained(srv: &Server, p: &PipeXfer) -> bool {
    p.conns.iter().all(|&(t, _)| {
        srv.clients
            .get(t)
            .and_then(|s| s.as_deref())
            .is_none_or(|c| c.pending_output() == 0)
    })
}

/// Reading is paused but every replica caught up: the loop must not
/// sleep before resuming it.
pub fn needs_resume(srv: &Server) -> bool {
    srv.repl
        .pipe
        .as_ref()
        .is_some_and(|p| p.paused && p.read.is_some() && all_drained(srv, p))
}

/// rdbPipeWriteHandler: replica `t` got a writable event (its output was
/// written as far as the socket took it). Resumes reading the pipe once
/// every replica caught up.
pub fn replica_writable(srv: &mut Server, t: usize) {
    let now = clock::wall_ms();
    if let Some(Some(c)) = srv.clients.get_mut(t) {
        let pending = c.pending_output() > 0;
        if let Some(r) = c.repl.as_mut() {
            r.last_partial_write_ms = if pending { now } else { 0 };
        }
    }
    resume(srv);
}

/// Resumes reading the pipe if it waited for replicas that caught up.
pub fn resume(srv: &mut Server) {
    if needs_resume(srv) {
        if let Some(p) = srv.repl.pipe.as_mut() {
            p.paused = false;
        }
        pipe_readable(srv);
    }
}

/// A replica's connection closes (unlinkClient's rdb_pipe_conns part).
pub fn replica_removed(srv: &mut Server, t: usize) {
    let Some(p) = srv.repl.pipe.as_mut() else {
        return;
    };
    let before = p.conns.len();
    p.conns.retain(|&(x, _)| x != t);
    if p.conns.len() == before || p.read.is_none() {
        return;
    }
    if p.conns.is_empty() {
        warn!("Diskless rdb transfer, last replica dropped, killing fork child.");
        kill_child(srv);
        return;
    }
    resume(srv);
}

/// killRDBChild for the socket target: the child is killed and reaped,
/// and its end is handled as a failure.
pub fn kill_child(srv: &mut Server) {
    if srv.child.as_ref().map(|c| c.kind) == Some(ChildKind::ReplSync) {
        child::kill(srv);
    }
    child_done(srv, false, None);
}

/// backgroundSaveDoneHandlerSocket + updateSlavesWaitingBgsave for the
/// socket target (`cur`: the executing client, out of its slot, when its
/// REPLCONF ACK found the child done).
pub fn child_done(srv: &mut Server, ok: bool, cur: Option<&mut Client>) {
    let Some(mut p) = srv.repl.pipe.take() else {
        return;
    };
    if ok {
        info!("Background RDB transfer terminated with success");
    } else {
        warn!("Background transfer error");
    }
    close_read(&srv.io, &mut p);
    drop(p);
    if let Some(c) = cur {
        replica_done(srv, c, ok);
    }
    for t in srv.repl.replicas.clone() {
        let Some(mut c) = srv.clients.get_mut(t).and_then(|s| s.take()) else {
            continue;
        };
        replica_done(srv, &mut c, ok);
        srv.clients[t] = Some(c);
    }
}

/// updateSlavesWaitingBgsave for one replica.
fn replica_done(srv: &mut Server, c: &mut Client, ok: bool) {
    let now = clock::wall_ms();
    {
        if c.repl.as_ref().map(|r| r.state) != Some(RState::WaitBgsaveEnd) {
            return;
        }
        if !ok {
            warn!("SYNC failed. BGSAVE child returned an error");
            c.close_asap = true;
            srv.to_close.push(c.token);
            return;
        }
        let name = master::replica_name(c);
        info!(
            "Streamed RDB transfer with replica {} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming",
            name
        );
        if let Some(r) = c.repl.as_mut() {
            r.state = RState::Online;
            r.ack_time_ms = now;
            r.last_partial_write_ms = 0;
            r.stream_on_ack = true;
        }
        info!("Synchronization with replica {} succeeded", name);
    }
}

/// replicationCron's full-sync timeout: a replica that took no RDB data
/// for repl-timeout is disconnected (it would hold the child forever).
pub fn cron(srv: &mut Server, timeout_ms: i64) {
    let Some(p) = srv.repl.pipe.as_ref() else {
        return;
    };
    let now = clock::wall_ms();
    let stuck: Vec<usize> = p
        .conns
        .iter()
        .filter_map(|&(t, _)| {
            let c = srv.clients.get(t)?.as_deref()?;
            let r = c.repl.as_ref()?;
            (r.state == RState::WaitBgsaveEnd
                && r.last_partial_write_ms != 0
                && now - r.last_partial_write_ms > timeout_ms)
                .then_some(t)
        })
        .collect();
    for t in stuck {
        if let Some(Some(c)) = srv.clients.get(t) {
            warn!(
                "Disconnecting timedout replica (full sync): {}",
                master::replica_name(c)
            );
        }
        drop_replica(srv, t);
        replica_removed(srv, t);
    }
}
