//! Background children (Redis's `fork()` users): BGSAVE, AOF rewrite and
//! the snapshot of a replication full sync each fork a copy of the process
//! that writes the dataset as it was at the fork, while the parent keeps
//! serving. Only one child runs at a time (hasActiveChildProcess). The
//! parent reaps it and hands the outcome to the module that started it:
//! as soon as it exits, through a pidfd (pidfd_open, Linux 5.3+) the
//! event loop watches under `CHILD_EXIT_TOKEN`, and otherwise from the
//! cron, as Redis does at every serverCron (so up to 1/hz later: at the
//! default hz 10, a BGSAVE of a small dataset waited more for the cron
//! than it took to write).
//!
//! Right after the fork the child closes every socket it inherited
//! (listeners and clients: Redis's closeChildUnusedResourceAfterFork) and
//! asks the kernel to kill it when its parent dies (PR_SET_PDEATHSIG), so
//! a parent killed with SIGKILL leaves its port free for a restart and no
//! orphan saving on. Its log lines carry its own pid and role 'C'.
//!
//! A Lua debugging session of SCRIPT DEBUG YES forks too
//! ([`fork_debug_session`], Redis's CHILD_TYPE_LDB): that child is not the
//! exclusive background child (it may run beside a BGSAVE), keeps the
//! debugging client's socket and talks to it until the script ends, then
//! exits; its writes die with it. The scripting layer keeps its pid, reaps
//! it and kills it at shutdown.

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
    /// An RDB child (CHILD_TYPE_RDB): BGSAVE or a replication snapshot.
    pub fn is_rdb(self) -> bool {
        matches!(self, ChildKind::Rdb | ChildKind::ReplSync)
    }

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
    /// A pidfd of the child, registered with the event loop (readable once
    /// the child has exited); -1 without one (an older kernel, or no event
    /// loop), when the cron reaps it.
    pub pidfd: i32,
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
    let info_pipe = super::childinfo::open_pipe();
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: fork() in a process whose other threads only do blocking
    // I/O (fsync, lazy free); glibc's fork keeps malloc usable in the child.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // Child: default signal dispositions so the parent can kill us,
        // then write and leave without running destructors or atexit.
        // SAFETY: resetting dispositions to SIG_DFL in the single thread a
        // forked child has.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGUSR1, libc::SIG_DFL);
        }
        crate::logging::enter_child();
        let _ = crate::oom::apply(&srv.config, crate::oom::Class::BgChild);
        srv.config.set_proc_title(Some(match kind {
            ChildKind::AofRewrite => "redis-aof-rewrite",
            ChildKind::Rdb | ChildKind::ReplSync => "redis-rdb-bgsave",
        }));
        crate::util::affinity::set_current_thread(match kind {
            ChildKind::AofRewrite => &srv.config.aof_rewrite_cpulist,
            ChildKind::Rdb | ChildKind::ReplSync => &srv.config.bgsave_cpulist,
        });
        // Redis's updateDictResizePolicy in a fork child: tables stay as
        // they are, so copy-on-write pages are not touched.
        crate::ds::dict::set_resize_policy(crate::ds::dict::ResizePolicy::Forbid);
        die_with_parent(parent);
        close_inherited_sockets(None);
        close_cluster_lock(srv);
        super::childinfo::child_started(info_pipe);
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(srv)));
        let code = match ok {
            Ok(Ok(())) => {
                super::childinfo::child_finished(kind == ChildKind::AofRewrite);
                CHILD_OK
            }
            Ok(Err(e)) => {
                warn!("Background {} child failed: {}", kind.name(), e);
                CHILD_FAILED
            }
            Err(_) => CHILD_FAILED,
        };
        // SAFETY: _exit ends the child without running the parent's
        // destructors or atexit handlers on its copied state.
        unsafe { libc::_exit(code) };
    }
    srv.stats.latest_fork_usec = fork_start.elapsed().as_micros() as u64;
    let keys_total = srv.dbs.iter().map(|d| d.dict.len() as u64).sum();
    srv.child_info.child_started(info_pipe, keys_total);
    srv.stats.total_forks += 1;
    let pidfd = watch_exit(srv, pid);
    srv.child = Some(ChildInfo {
        pid,
        kind,
        start_ms: crate::clock::wall_ms(),
        pidfd,
    });
    set_child_active(srv, true);
    Ok(pid)
}

/// What the parent changes while a fork child shares its pages
/// (updateDictResizePolicy, and lookupKey's `hasActiveChildProcess()`
/// test): hash tables grow only when badly overloaded and do not shrink,
/// and key lookups leave the LRU/LFU stamps alone, so neither a rehash
/// nor a read copies pages the child still reads.
fn set_child_active(srv: &mut Server, active: bool) {
    use crate::ds::dict::{set_resize_policy, ResizePolicy};
    set_resize_policy(if active {
        ResizePolicy::Avoid
    } else {
        ResizePolicy::Enable
    });
    srv.update_db_state(|s| s.child_active = active);
}

/// Opens a pidfd for `pid` and registers it with the event loop, which
/// reaps the child when it becomes readable (the child has exited).
/// Returns -1 when that is not possible; the cron reaps the child then.
fn watch_exit(srv: &Server, pid: i32) -> i32 {
    if srv.io.is_none() {
        return -1;
    }
    // SAFETY: pidfd_open(pid, 0) takes a pid and flags and returns a new
    // descriptor or -1; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 {
        return -1;
    }
    let reg = crate::poller::with_registry(&srv.io, |r| {
        r.register(
            &mut mio::unix::SourceFd(&fd),
            mio::Token(crate::poller::CHILD_EXIT_TOKEN),
            mio::Interest::READABLE,
        )
    });
    if !matches!(reg, Some(Ok(()))) {
        // SAFETY: closing the descriptor we just opened.
        unsafe { libc::close(fd) };
        return -1;
    }
    fd
}

/// Stops watching a child that is gone (reaped or killed).
fn unwatch_exit(srv: &Server, info: &ChildInfo) {
    if info.pidfd < 0 {
        return;
    }
    let fd = info.pidfd;
    let _ = crate::poller::with_registry(&srv.io, |r| r.deregister(&mut mio::unix::SourceFd(&fd)));
    // SAFETY: the pidfd is ours (watch_exit) and closed once: its
    // ChildInfo is dropped by our callers.
    unsafe { libc::close(fd) };
}

/// Forks a Lua debugging session (redisFork(CHILD_TYPE_LDB)). Returns 0
/// in the child, which keeps only the socket `keep_fd` of the inherited
/// ones, ignores SIGTERM and SIGINT (they are meant for the parent) and
/// dies with its parent; returns the child's pid in the parent.
pub fn fork_debug_session(srv: &mut Server, keep_fd: i32) -> io::Result<i32> {
    let fork_start = std::time::Instant::now();
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: as in `start`: the other threads only do blocking I/O and
    // glibc's fork keeps malloc usable in the child.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: setting dispositions in the single thread of the child.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            libc::signal(libc::SIGUSR1, libc::SIG_DFL);
        }
        crate::logging::enter_child();
        let _ = crate::oom::apply(&srv.config, crate::oom::Class::BgChild);
        crate::ds::dict::set_resize_policy(crate::ds::dict::ResizePolicy::Forbid);
        die_with_parent(parent);
        close_inherited_sockets(Some(keep_fd));
        close_cluster_lock(srv);
        return Ok(0);
    }
    srv.stats.latest_fork_usec = fork_start.elapsed().as_micros() as u64;
    srv.stats.total_forks += 1;
    Ok(pid)
}

/// In a forked child: closes the descriptor holding nodes.conf's flock
/// (closeChildUnusedResourceAfterFork), so a child that outlives its
/// parent does not keep a restarted node from taking the lock. The lock
/// stays with the parent's own descriptor.
fn close_cluster_lock(srv: &Server) {
    if let Some(fd) = srv.cluster.as_ref().and_then(|c| c.lock_fd()) {
        // SAFETY: closing our copy of a descriptor in the child, whose
        // `File` is never dropped (the child leaves through _exit).
        unsafe { libc::close(fd) };
    }
}

/// Reaps a finished debugging session child; true once it is gone.
pub fn reap_debug_session(pid: i32) -> bool {
    let mut status: libc::c_int = 0;
    // SAFETY: plain non-blocking waitpid on our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    r != 0
}

/// Kills a debugging session child (shutdown) and reaps it.
pub fn kill_debug_session(pid: i32) {
    let mut status = 0;
    // SAFETY: signalling and reaping our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, &mut status, 0);
    }
}

/// In the child: SIGKILL when the parent dies. The parent may already be
/// gone before the request was made (then we were re-parented and
/// getppid() differs): leave at once in that case.
fn die_with_parent(parent: libc::pid_t) {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and affects
    // only this process; getppid and _exit cannot fail.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
            warn!(
                "Can't set the parent death signal of the child: {}",
                io::Error::last_os_error()
            );
        }
        if libc::getppid() != parent {
            warn!("Parent process exited before the child started, exiting.");
            libc::_exit(CHILD_FAILED);
        }
    }
}

/// In the child: closes every inherited socket — the listeners and the
/// unix socket (Redis's closeListeningSockets), clients and replication
/// links. A child only writes files or a pipe (a diskless full sync's
/// RDB goes to the parent, which writes the replicas' sockets), so none
/// is needed; kept open, a child that outlives its parent would hold the
/// port and leave clients hanging. A debugging session keeps its
/// client's socket (`keep`).
fn close_inherited_sockets(keep: Option<libc::c_int>) {
    let fds: Vec<libc::c_int> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
            .collect(),
        // No /proc: every descriptor below the open-files limit.
        Err(_) => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: getrlimit fills the struct we pass.
            let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
                lim.rlim_cur.min(1 << 20) as libc::c_int
            } else {
                1024
            };
            (0..max).collect()
        }
    };
    // stdin/stdout/stderr stay, whatever they are (the log may be stdout).
    for fd in fds.into_iter().filter(|&fd| fd > 2 && Some(fd) != keep) {
        // SAFETY: fstat on a descriptor number fills `st` or fails (EBADF
        // for the read_dir descriptor, already closed); a socket is closed
        // only in this child, the parent's copy stays open.
        unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            if libc::fstat(fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK {
                libc::close(fd);
            }
        }
    }
}

/// Called from the cron: reaps a finished child and reports it. Returns
/// the kind and whether it succeeded, or None while it still runs.
pub fn reap(srv: &mut Server) -> Option<(ChildKind, bool)> {
    let info = srv.child.as_ref()?;
    if info.pid == super::snapshot::FORKLESS_PID {
        let kind = info.kind;
        let ok = super::snapshot::poll_done(srv)?;
        srv.child = None;
        return Some((kind, ok));
    }
    let mut status: libc::c_int = 0;
    // SAFETY: plain waitpid on our own child.
    let r = unsafe { libc::waitpid(info.pid, &mut status, libc::WNOHANG) };
    if r == 0 {
        return None;
    }
    let kind = info.kind;
    if let Some(info) = srv.child.take() {
        unwatch_exit(srv, &info);
    }
    srv.child_info.child_done();
    set_child_active(srv, false);
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
    if srv
        .child
        .as_ref()
        .is_some_and(|c| c.pid == super::snapshot::FORKLESS_PID)
    {
        srv.child = None;
        super::snapshot::abort(srv);
        return;
    }
    if let Some(info) = srv.child.take() {
        unwatch_exit(srv, &info);
        set_child_active(srv, false);
        let mut status = 0;
        // SAFETY: signalling and reaping our own child.
        unsafe {
            libc::kill(info.pid, libc::SIGUSR1);
            libc::waitpid(info.pid, &mut status, 0);
        }
        srv.child_info.child_done();
    }
}

/// The event loop saw the child's pidfd readable: it has exited, reap it
/// now. DEBUG PAUSE-CRON leaves it to the cron, as in Redis, where only
/// serverCron reaps children.
pub fn exit_event(srv: &mut Server) {
    if !srv.pause_cron {
        check_children(srv);
    }
}

/// Reaps a finished child and dispatches the outcome to its owner.
pub fn check_children(srv: &mut Server) {
    srv.child_info.receive();
    if let Some((kind, ok)) = reap(srv) {
        match kind {
            ChildKind::Rdb => crate::persist::rdb::bgsave_done(srv, ok),
            ChildKind::AofRewrite => crate::persist::aof::rewrite_done(srv, ok),
            ChildKind::ReplSync => crate::replication::sync_snapshot_done(srv, ok),
        }
    }
}
