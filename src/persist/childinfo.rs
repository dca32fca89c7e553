//! Reports from a fork child to its parent (Redis's childinfo.c): a pipe
//! made before the fork; while saving, the child sends the number of keys
//! it has written and its copy-on-write size (the Private_Dirty memory of
//! /proc/self/smaps_rollup) about once a second, and its final
//! copy-on-write size when done. The parent reads them in the cron into
//! INFO persistence's `current_*` fields and `rdb_last_cow_size` /
//! `aof_last_cow_size`.

use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU64, Ordering};
use tracing::info;

/// What the parent knows about the running child's progress.
#[derive(Debug)]
pub struct Stats {
    pub current_cow: u64,
    pub current_cow_peak: u64,
    /// When `current_cow` was measured (unix ms; 0 = never).
    pub cow_updated_ms: i64,
    pub keys_processed: u64,
    /// Keys in the dataset when the child was forked.
    pub keys_total: u64,
    pub last_rdb_cow: u64,
    pub last_aof_cow: u64,
    read_fd: i32,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            current_cow: 0,
            current_cow_peak: 0,
            cow_updated_ms: 0,
            keys_processed: 0,
            keys_total: 0,
            last_rdb_cow: 0,
            last_aof_cow: 0,
            read_fd: -1,
        }
    }
}

/// Message kinds.
const CURRENT: u64 = 1;
const FINAL_RDB: u64 = 2;
const FINAL_AOF: u64 = 3;
const MSG_LEN: usize = 32;

// Global: the forked child's own reporting state, reached from the RDB and
// AOF writers (`key_saved`), which borrow the server read-only.
/// In the child: the pipe's write end (-1 in the parent).
static CHILD_FD: AtomicI32 = AtomicI32::new(-1);
static KEYS: AtomicU64 = AtomicU64::new(0);
static LAST_SENT_MS: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);
static SUM: AtomicU64 = AtomicU64::new(0);
static SAMPLES: AtomicU64 = AtomicU64::new(0);

/// A pipe for the next child: (read, write), or None.
pub fn open_pipe() -> Option<(i32, i32)> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills the two descriptors we pass.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return None;
    }
    // SAFETY: fcntl on the read end we just created.
    unsafe {
        let fl = libc::fcntl(fds[0], libc::F_GETFL);
        libc::fcntl(fds[0], libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    Some((fds[0], fds[1]))
}

/// In the child, right after the fork.
pub fn child_started(pipe: Option<(i32, i32)>) {
    if let Some((r, w)) = pipe {
        // SAFETY: closing the child's copy of the read end.
        unsafe { libc::close(r) };
        CHILD_FD.store(w, Ordering::Relaxed);
        KEYS.store(0, Ordering::Relaxed);
        LAST_SENT_MS.store(crate::clock::wall_ms(), Ordering::Relaxed);
    }
}

impl Stats {
    /// In the parent, right after the fork.
    pub fn child_started(&mut self, pipe: Option<(i32, i32)>, keys_total: u64) {
        self.close();
        self.current_cow = 0;
        self.current_cow_peak = 0;
        self.cow_updated_ms = 0;
        self.keys_processed = 0;
        self.keys_total = keys_total;
        if let Some((r, w)) = pipe {
            // SAFETY: the parent's copy of the write end is not used.
            unsafe { libc::close(w) };
            self.read_fd = r;
        }
    }

    /// Reads what the child sent (receiveChildInfo).
    pub fn receive(&mut self) {
        if self.read_fd < 0 {
            return;
        }
        let mut msg = [0u8; MSG_LEN];
        loop {
            // SAFETY: reading at most MSG_LEN bytes into `msg` from our
            // non-blocking pipe; writes of MSG_LEN bytes are atomic.
            let n =
                unsafe { libc::read(self.read_fd, msg.as_mut_ptr() as *mut libc::c_void, MSG_LEN) };
            if n != MSG_LEN as isize {
                return;
            }
            let word = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&msg[i * 8..i * 8 + 8]);
                u64::from_le_bytes(b)
            };
            let (kind, cow, cow_ms, keys) = (word(0), word(1), word(2) as i64, word(3));
            match kind {
                CURRENT => {
                    self.current_cow = cow;
                    self.current_cow_peak = self.current_cow_peak.max(cow);
                    self.cow_updated_ms = cow_ms;
                    self.keys_processed = keys;
                }
                FINAL_RDB => self.last_rdb_cow = cow,
                FINAL_AOF => self.last_aof_cow = cow,
                _ => {}
            }
        }
    }

    /// The child is gone: reads its last words, then forgets the
    /// progress (resetChildState).
    pub fn child_done(&mut self) {
        self.receive();
        self.close();
        self.current_cow = 0;
        self.current_cow_peak = 0;
        self.cow_updated_ms = 0;
        self.keys_processed = 0;
        self.keys_total = 0;
    }

    fn close(&mut self) {
        if self.read_fd >= 0 {
            // SAFETY: our own read end, closed once.
            unsafe { libc::close(self.read_fd) };
            self.read_fd = -1;
        }
    }

    /// INFO's current_fork_perc.
    pub fn fork_perc(&self) -> f64 {
        if self.keys_total == 0 {
            0.0
        } else {
            self.keys_processed as f64 * 100.0 / self.keys_total as f64
        }
    }
}

/// In a child: one more key written. About once a second (checked every
/// 1024 keys, as rdbSaveKeyValuePair's caller does) the progress and the
/// copy-on-write size go to the parent. Nothing in the parent.
pub fn key_saved() {
    if CHILD_FD.load(Ordering::Relaxed) < 0 {
        return;
    }
    let n = KEYS.fetch_add(1, Ordering::Relaxed) + 1;
    if n & 1023 != 0 {
        return;
    }
    let now = crate::clock::wall_ms();
    if now - LAST_SENT_MS.load(Ordering::Relaxed) >= 1000 {
        LAST_SENT_MS.store(now, Ordering::Relaxed);
        send(CURRENT, measure_cow(), now, n);
    }
}

/// In a child that finished its work: the final copy-on-write size, with
/// Redis's log line ("Fork CoW for RDB: ...").
pub fn child_finished(aof: bool) {
    if CHILD_FD.load(Ordering::Relaxed) < 0 {
        return;
    }
    let cow = measure_cow();
    let samples = SAMPLES.load(Ordering::Relaxed).max(1);
    if cow > 0 {
        info!(
            "Fork CoW for {}: current {} MB, peak {} MB, average {} MB",
            if aof { "AOF rewrite" } else { "RDB" },
            cow >> 20,
            PEAK.load(Ordering::Relaxed) >> 20,
            (SUM.load(Ordering::Relaxed) / samples) >> 20
        );
    }
    let kind = if aof { FINAL_AOF } else { FINAL_RDB };
    send(
        kind,
        cow,
        crate::clock::wall_ms(),
        KEYS.load(Ordering::Relaxed),
    );
}

fn send(kind: u64, cow: u64, cow_ms: i64, keys: u64) {
    let fd = CHILD_FD.load(Ordering::Relaxed);
    let mut msg = [0u8; MSG_LEN];
    for (i, w) in [kind, cow, cow_ms as u64, keys].into_iter().enumerate() {
        msg[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    // SAFETY: writing our message to the pipe's write end; a short or
    // failed write only loses a progress report.
    unsafe {
        libc::write(fd, msg.as_ptr() as *const libc::c_void, MSG_LEN);
    }
}

/// This process's private dirty memory in bytes (zmalloc_get_private_dirty):
/// what copy-on-write has duplicated since the fork.
fn measure_cow() -> u64 {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup")
        .or_else(|_| std::fs::read_to_string("/proc/self/smaps"))
        .unwrap_or_default();
    let kb: u64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("Private_Dirty:"))
        .filter_map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .sum();
    let bytes = kb * 1024;
    PEAK.fetch_max(bytes, Ordering::Relaxed);
    SUM.fetch_add(bytes, Ordering::Relaxed);
    SAMPLES.fetch_add(1, Ordering::Relaxed);
    bytes
}
