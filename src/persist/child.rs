//! Background children (Redis's `fork()` users): BGSAVE, AOF rewrite and
//! the snapshot of a replication full sync each fork a copy of the process
//! that writes the dataset as it was at the fork, while the parent keeps
//! serving. Only one child runs at a time (hasActiveChildProcess). The
//! parent reaps it from the cron and hands the outcome to the module that
//! started it.

use crate::server::Server;
use std::io;
use tracing::warn;

/// What a child is doing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChildKind {
    /// BGSAVE (or a save point): writes the RDB file.
    Rdb,
    /// BGREWRITEAOF: writes a new AOF base.
    AofRewrite,
    /// A replication full sync: writes the RDB replicas receive.
    ReplSync,
}

impl ChildKind {
    /// The name INFO and log lines use.
    pub fn name(self) -> &'static str {
        match self {
            ChildKind::Rdb => "RDB",
            ChildKind::AofRewrite => "AOF",
            ChildKind::ReplSync => "RDB",
        }
    }
}

/// The running child.
#[derive(Clone, Debug)]
pub struct ChildInfo {
    pub pid: i32,
    pub kind: ChildKind,
    /// When it was forked (unix ms).
    pub start_ms: i64,
}

/// Exit codes a child reports.
const CHILD_OK: i32 = 0;
const CHILD_FAILED: i32 = 1;

/// Forks; the child runs `job` over its copy of the server and exits with
/// 0 on success. Returns the child's pid in the parent. Fails (without
/// forking) when another child is running.
pub fn start<F>(srv: &mut Server, kind: ChildKind, job: F) -> io::Result<i32>
where
    F: FnOnce(&Server) -> io::Result<()>,
{
    if srv.child.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "another child process is active",
        ));
    }
    let fork_start = std::time::Instant::now();
    // SAFETY: fork() in a process whose other threads only do blocking
    // I/O (fsync, lazy free); glibc's fork keeps malloc usable in the child.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // Child: default signal dispositions so the parent can kill us,
        // then write and leave without running destructors or atexit.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGUSR1, libc::SIG_DFL);
        }
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(srv)));
        let code = match ok {
            Ok(Ok(())) => CHILD_OK,
            Ok(Err(e)) => {
                warn!("Background {} child failed: {}", kind.name(), e);
                CHILD_FAILED
            }
            Err(_) => CHILD_FAILED,
        };
        unsafe { libc::_exit(code) };
    }
    srv.stats.latest_fork_usec = fork_start.elapsed().as_micros() as u64;
    srv.stats.total_forks += 1;
    srv.child = Some(ChildInfo {
        pid,
        kind,
        start_ms: crate::clock::wall_ms(),
    });
    Ok(pid)
}

/// Called from the cron: reaps a finished child and reports it. Returns
/// the kind and whether it succeeded, or None while it still runs.
pub fn reap(srv: &mut Server) -> Option<(ChildKind, bool)> {
    let info = srv.child.as_ref()?;
    let mut status: libc::c_int = 0;
    // SAFETY: plain waitpid on our own child.
    let r = unsafe { libc::waitpid(info.pid, &mut status, libc::WNOHANG) };
    if r == 0 {
        return None;
    }
    let kind = info.kind;
    srv.child = None;
    if r < 0 {
        warn!(
            "waitpid() returned an error: {}",
            io::Error::last_os_error()
        );
        return Some((kind, false));
    }
    let exited = libc::WIFEXITED(status);
    let ok = exited && libc::WEXITSTATUS(status) == CHILD_OK;
    if !exited && libc::WIFSIGNALED(status) {
        warn!(
            "Background saving terminated by signal {}",
            libc::WTERMSIG(status)
        );
    }
    Some((kind, ok))
}

/// Kills the running child (SHUTDOWN, BGSAVE cancelled, replicas gone) and
/// waits for it.
pub fn kill(srv: &mut Server) {
    if let Some(info) = srv.child.take() {
        let mut status = 0;
        // SAFETY: signalling and reaping our own child.
        unsafe {
            libc::kill(info.pid, libc::SIGUSR1);
            libc::waitpid(info.pid, &mut status, 0);
        }
    }
}

/// Reaps a finished child and dispatches the outcome to its owner.
pub fn check_children(srv: &mut Server) {
    if let Some((kind, ok)) = reap(srv) {
        match kind {
            ChildKind::Rdb => crate::persist::rdb::bgsave_done(srv, ok),
            ChildKind::AofRewrite => crate::persist::aof::rewrite_done(srv, ok),
            ChildKind::ReplSync => crate::replication::sync_snapshot_done(srv, ok),
        }
    }
}
