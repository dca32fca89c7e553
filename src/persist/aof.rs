//! The multi-part append-only file of Redis 7.0 (aof.c): a manifest naming
//! a base (RDB preamble or AOF) and incremental files in `appenddirname`;
//! commands are fed here by `propagate`, written to the current INCR file
//! before replies go out (`before_sleep`), and fsynced per `appendfsync`
//! (everysec in a background thread, Redis's bio). BGREWRITEAOF opens a
//! new INCR file in the parent and forks a child that writes a new base;
//! `rewrite_done` then switches the manifest over. Loading lives in
//! `aof_load`, the manifest in `aof_manifest`.

use super::aof_manifest::{self as manifest, Manifest};
use super::child::{self, ChildKind};
use crate::client::Client;
use crate::cmdtable::CommandSpec;
use crate::config::AppendFsync;
use crate::error::CmdResult;
use crate::error::{self, CmdError};
use crate::protocol::args::Args;
use crate::server::Server;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use tracing::{info, warn};

pub use super::aof_load::load_at_startup;

/// appendfsync policies.
pub const FSYNC_NO: AppendFsync = AppendFsync::No;
pub const FSYNC_ALWAYS: AppendFsync = AppendFsync::Always;
pub const FSYNC_EVERYSEC: AppendFsync = AppendFsync::Everysec;

/// Seconds between two logs of the same write error.
const WRITE_ERROR_LOG_RATE: i64 = 30;
/// Consecutive failed rewrites after which automatic ones are delayed.
const REWRITE_LIMIT_THRESHOLD: u64 = 3;
const REWRITE_LIMIT_MAX_MINUTES: i64 = 60;

/// aof_state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AofState {
    Off,
    On,
    /// Turned on at runtime: waiting for the first rewrite to finish.
    WaitRewrite,
}

enum BioJob {
    Fsync(File),
    /// fsync then close (the previous INCR file after a switch).
    FsyncClose(File),
    /// The last handle of an unlinked file: closing it frees its blocks.
    Close(File),
}

/// The background thread doing fsync / close / unlink (Redis's bio).
struct Bio {
    tx: Sender<BioJob>,
    pending_fsync: Arc<AtomicUsize>,
    fsync_failed: Arc<AtomicBool>,
}

impl Bio {
    fn start() -> Option<Bio> {
        let (tx, rx) = channel::<BioJob>();
        let pending = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicBool::new(false));
        let (p2, f2) = (pending.clone(), failed.clone());
        std::thread::Builder::new()
            .name("bio_aof".into())
            .spawn(move || {
                crate::util::affinity::enter_background_thread();
                while let Ok(job) = rx.recv() {
                    match job {
                        BioJob::Fsync(f) => {
                            if let Err(e) = f.sync_data() {
                                warn!("Fail to fsync the AOF file: {}", e);
                                f2.store(true, Ordering::SeqCst);
                            } else {
                                f2.store(false, Ordering::SeqCst);
                            }
                            p2.fetch_sub(1, Ordering::SeqCst);
                        }
                        BioJob::FsyncClose(f) => {
                            let _ = f.sync_data();
                        }
                        BioJob::Close(f) => drop(f),
                    }
                }
            })
            .ok()?;
        Some(Bio {
            tx,
            pending_fsync: pending,
            fsync_failed: failed,
        })
    }
}

/// Everything the AOF keeps between commands (Redis's server.aof_*).
pub struct Aof {
    pub state: AofState,
    file: Option<File>,
    /// Commands not written yet (aof_buf).
    pub buf: Vec<u8>,
    /// The db the last command written was SELECTed in (-1: none).
    pub selected_db: i64,
    pub manifest: Manifest,
    pub current_size: u64,
    pub last_incr_size: u64,
    pub rewrite_base_size: u64,
    pub fsync_offset: u64,
    pub last_fsync: i64,
    flush_postponed_start: i64,
    pub rewrite_scheduled: bool,
    /// Unix seconds the running rewrite started, or -1.
    pub rewrite_time_start: i64,
    pub rewrite_time_last: i64,
    pub last_bgrewrite_ok: bool,
    pub rewrites: u64,
    pub consecutive_failures: u64,
    pub last_write_ok: bool,
    pub last_write_error: String,
    pub delayed_fsync: u64,
    /// Pid of the rewrite child (names its temp file).
    child_pid: i32,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds to sleep before each write.
    pub flush_sleep_us: u64,
    cur_timestamp: i64,
    last_write_error_log: i64,
    limit_next_delay: i64,
    limit_next_time: i64,
    bio: Option<Bio>,
}

impl Default for Aof {
    fn default() -> Self {
        Aof::new()
    }
}

impl Aof {
    pub fn new() -> Aof {
        Aof {
            state: AofState::Off,
            file: None,
            buf: Vec::new(),
            selected_db: -1,
            manifest: Manifest::default(),
            current_size: 0,
            last_incr_size: 0,
            rewrite_base_size: 0,
            fsync_offset: 0,
            last_fsync: 0,
            flush_postponed_start: 0,
            rewrite_scheduled: false,
            rewrite_time_start: -1,
            rewrite_time_last: -1,
            last_bgrewrite_ok: true,
            rewrites: 0,
            consecutive_failures: 0,
            last_write_ok: true,
            last_write_error: String::new(),
            delayed_fsync: 0,
            child_pid: -1,
            flush_sleep_us: 0,
            cur_timestamp: 0,
            last_write_error_log: 0,
            limit_next_delay: 0,
            limit_next_time: 0,
            bio: None,
        }
    }

    /// Number of fsyncs queued in the background thread.
    pub fn pending_bio_fsync(&self) -> usize {
        self.bio
            .as_ref()
            .map_or(0, |b| b.pending_fsync.load(Ordering::SeqCst))
    }

    fn bio(&mut self) -> Option<&Bio> {
        if self.bio.is_none() {
            self.bio = Bio::start();
        }
        self.bio.as_ref()
    }

    /// Closes `f` in the background thread (bioCreateCloseJob): the last
    /// handle of a file replaced by a rename, whose blocks are freed on
    /// that close (the old dump.rdb after a SAVE).
    pub fn bg_close(&mut self, f: File) {
        if let Some(b) = self.bio() {
            let _ = b.tx.send(BioJob::Close(f));
        }
    }

    /// Redis's bg_unlink: the name goes away now (a file created again
    /// under it right after is safe), the slow close of a big file happens
    /// in the background thread.
    fn bg_unlink(&mut self, path: PathBuf) {
        let Ok(f) = File::open(&path) else {
            let _ = fs::remove_file(&path);
            return;
        };
        if fs::remove_file(&path).is_err() {
            return;
        }
        if let Some(b) = self.bio() {
            let _ = b.tx.send(BioJob::Close(f));
        }
    }

    fn bg_fsync(&mut self, f: &File) {
        let Ok(dup) = f.try_clone() else {
            return;
        };
        if let Some(b) = self.bio() {
            b.pending_fsync.fetch_add(1, Ordering::SeqCst);
            if b.tx.send(BioJob::Fsync(dup)).is_err() {
                b.pending_fsync.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    fn bg_fsync_close(&mut self, f: File) {
        if let Some(b) = self.bio() {
            let _ = b.tx.send(BioJob::FsyncClose(f));
        }
    }
}

fn unixtime() -> i64 {
    crate::clock::wall_ms() / 1000
}

/// `appenddirname` (relative to `dir`, the working directory).
pub fn dir_path(srv: &Server) -> PathBuf {
    PathBuf::from(&srv.config.appenddirname)
}

/// `appendfilename`.
pub fn file_name(srv: &Server) -> String {
    srv.config.appendfilename.clone()
}

/// Is the AOF on or waiting for its first rewrite?
#[inline]
pub fn enabled(srv: &Server) -> bool {
    srv.aof.state != AofState::Off
}

fn sync_targets(srv: &mut Server) {
    if srv.aof.state != AofState::Off {
        srv.prop.targets |= crate::propagate::TO_AOF;
    } else {
        srv.prop.targets &= !crate::propagate::TO_AOF;
    }
}

/// Appends one already RESP-encoded command executed in `db`
/// (feedAppendOnlyFile): a SELECT first when the db changed.
pub fn feed(srv: &mut Server, db: usize, cmd: &[u8]) {
    let a = &mut srv.aof;
    if a.state == AofState::Off {
        return;
    }
    let accept = a.state == AofState::On
        || srv
            .child
            .as_ref()
            .is_some_and(|c| c.kind == ChildKind::AofRewrite);
    if srv.config.aof_timestamp_enabled {
        let now = unixtime();
        if a.cur_timestamp < now {
            a.cur_timestamp = now;
            if accept {
                a.buf
                    .extend_from_slice(format!("#TS:{}\r\n", now).as_bytes());
            }
        }
    }
    if db != crate::propagate::NO_DB && db as i64 != a.selected_db {
        a.selected_db = db as i64;
        if accept {
            let s = db.to_string();
            a.buf.extend_from_slice(b"*2\r\n$6\r\nSELECT\r\n$");
            a.buf.extend_from_slice(s.len().to_string().as_bytes());
            a.buf.extend_from_slice(b"\r\n");
            a.buf.extend_from_slice(s.as_bytes());
            a.buf.extend_from_slice(b"\r\n");
        }
    }
    if accept {
        a.buf.extend_from_slice(cmd);
    }
}

fn has_child(srv: &Server) -> bool {
    srv.child.is_some()
}

/// Writes the AOF buffer to the current INCR file and fsyncs per policy
/// (flushAppendOnlyFile). Called before replies are written.
pub fn flush(srv: &mut Server, force: bool) {
    let policy = srv.config.appendfsync;
    let now = unixtime();
    let mut sync_in_progress = false;
    if srv.aof.file.is_none() {
        return;
    }
    if srv.aof.buf.is_empty() {
        // everysec: fsync data written in an earlier second even when no
        // new writes arrive.
        if policy == FSYNC_EVERYSEC
            && srv.aof.fsync_offset != srv.aof.current_size
            && now > srv.aof.last_fsync
            && srv.aof.pending_bio_fsync() == 0
        {
            try_fsync(srv, policy, now, false);
        }
        return;
    }
    if policy == FSYNC_EVERYSEC {
        sync_in_progress = srv.aof.pending_bio_fsync() != 0;
    }
    if policy == FSYNC_EVERYSEC && !force && sync_in_progress {
        if srv.aof.flush_postponed_start == 0 {
            srv.aof.flush_postponed_start = now;
            return;
        } else if now - srv.aof.flush_postponed_start < 2 {
            return;
        }
        srv.aof.delayed_fsync += 1;
        info!("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.");
    }
    if srv.aof.flush_sleep_us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(srv.aof.flush_sleep_us));
    }
    let start = std::time::Instant::now();
    let a = &mut srv.aof;
    let Some(f) = a.file.as_mut() else {
        return;
    };
    let len = a.buf.len();
    let mut written = 0usize;
    let mut err: Option<io::Error> = None;
    while written < len {
        match f.write(&a.buf[written..]) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let ms = start.elapsed().as_millis() as u64;
    a.flush_postponed_start = 0;
    if written != len {
        let can_log = now - a.last_write_error_log > WRITE_ERROR_LOG_RATE;
        if can_log {
            a.last_write_error_log = now;
        }
        let mut nwritten = written;
        if written == 0 {
            let e = err.unwrap_or_else(|| io::Error::from_raw_os_error(libc::ENOSPC));
            if can_log {
                warn!("Error writing to the AOF file: {}", e);
            }
            a.last_write_error = errno_text(&e);
        } else {
            if can_log {
                warn!(
                    "Short write while writing to the AOF file: (nwritten={}, expected={})",
                    written, len
                );
            }
            if f.set_len(a.last_incr_size).is_ok() {
                nwritten = 0;
            } else if can_log {
                warn!("Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: {}", io::Error::last_os_error());
            }
            a.last_write_error = "No space left on device".into();
        }
        if policy == FSYNC_ALWAYS {
            warn!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
            std::process::exit(1);
        }
        a.last_write_ok = false;
        if nwritten > 0 {
            a.current_size += nwritten as u64;
            a.last_incr_size += nwritten as u64;
            a.buf.drain(..nwritten);
        }
        return;
    }
    if !a.last_write_ok {
        warn!("AOF write error looks solved, Redis can write again.");
        a.last_write_ok = true;
    }
    a.current_size += written as u64;
    a.last_incr_size += written as u64;
    if a.buf.capacity() < 4000 {
        a.buf.clear();
    } else {
        a.buf = Vec::new();
    }
    let event = if sync_in_progress {
        "aof-write-pending-fsync"
    } else if srv.child.is_some() {
        "aof-write-active-child"
    } else {
        "aof-write-alone"
    };
    srv.latency_add(event, ms);
    srv.latency_add("aof-write", ms);
    try_fsync(srv, policy, now, sync_in_progress);
}

fn errno_text(e: &io::Error) -> String {
    let s = e.to_string();
    // "No space left on device (os error 28)" -> strerror() text.
    match s.find(" (os error") {
        Some(p) => s[..p].to_string(),
        None => s,
    }
}

fn try_fsync(srv: &mut Server, policy: AppendFsync, now: i64, sync_in_progress: bool) {
    if srv.config.no_appendfsync_on_rewrite && has_child(srv) {
        return;
    }
    if policy == FSYNC_ALWAYS {
        let start = std::time::Instant::now();
        if let Some(f) = srv.aof.file.as_ref() {
            if let Err(e) = f.sync_data() {
                warn!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...", errno_text(&e));
                std::process::exit(1);
            }
        }
        srv.latency_add("aof-fsync-always", start.elapsed().as_millis() as u64);
        srv.aof.fsync_offset = srv.aof.current_size;
        srv.aof.last_fsync = now;
    } else if policy == FSYNC_EVERYSEC && now > srv.aof.last_fsync {
        if !sync_in_progress {
            if let Some(f) = srv.aof.file.take() {
                srv.aof.bg_fsync(&f);
                srv.aof.file = Some(f);
            }
            srv.aof.fsync_offset = srv.aof.current_size;
        }
        srv.aof.last_fsync = now;
    }
}

/// Called right before client replies are written (beforeSleep).
#[inline]
pub fn before_sleep(srv: &mut Server) {
    if srv.aof.state != AofState::Off && (!srv.aof.buf.is_empty() || srv.aof.file.is_some()) {
        flush(srv, false);
    }
}

/// The AOF part of serverCron: reaps children, starts scheduled and
/// automatic rewrites, retries postponed or failed writes.
pub fn cron(srv: &mut Server) {
    child::check_children(srv);
    let now = unixtime();
    if srv.child.is_none() && srv.aof.rewrite_scheduled && !rewrite_limited(srv, now) {
        let _ = rewrite_background(srv);
    }
    if srv.aof.state == AofState::On && srv.child.is_none() {
        let perc = srv.config.auto_aof_rewrite_percentage;
        let min = srv.config.auto_aof_rewrite_min_size;
        if perc > 0 && srv.aof.current_size > min {
            let base = srv.aof.rewrite_base_size.max(1);
            let growth = (srv.aof.current_size * 100 / base) as i64 - 100;
            if growth >= perc && !rewrite_limited(srv, now) {
                info!("Starting automatic rewriting of AOF on {}% growth", growth);
                let _ = rewrite_background(srv);
            }
        }
    }
    if srv.aof.state != AofState::Off {
        // A postponed flush, or one retried after a write error.
        if srv.aof.flush_postponed_start != 0 || !srv.aof.last_write_ok {
            flush(srv, false);
        }
    }
}

/// aofRewriteLimited: after repeated failures automatic rewrites wait
/// 1, 2, 4 ... 60 minutes.
fn rewrite_limited(srv: &mut Server, now: i64) -> bool {
    let a = &mut srv.aof;
    if a.consecutive_failures < REWRITE_LIMIT_THRESHOLD {
        a.limit_next_delay = 0;
        a.limit_next_time = 0;
        return false;
    }
    if a.limit_next_time != 0 {
        if now < a.limit_next_time {
            return true;
        }
        a.limit_next_time = 0;
        return false;
    }
    a.limit_next_delay = if a.limit_next_delay == 0 {
        1
    } else {
        (a.limit_next_delay * 2).min(REWRITE_LIMIT_MAX_MINUTES)
    };
    a.limit_next_time = now + a.limit_next_delay * 60;
    warn!(
        "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes",
        a.limit_next_delay
    );
    true
}

/// Creates the AOF directory if needed.
fn ensure_dir(srv: &Server) -> io::Result<()> {
    let d = dir_path(srv);
    match fs::create_dir(&d) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => {
            warn!(
                "Can't open or create append-only dir {}: {}",
                d.display(),
                errno_text(&e)
            );
            Err(e)
        }
    }
}

/// `open_append` for a file in the AOF directory, logging a failure with
/// Redis's wording.
fn open_logged(dir: &Path, name: &str, truncate: bool) -> Result<File, ()> {
    open_append(&dir.join(name), truncate).map_err(|e| {
        warn!(
            "Can't open the append-only file {}: {}",
            name,
            errno_text(&e)
        );
    })
}

fn open_append(path: &Path, truncate: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create(true);
    if truncate {
        o.truncate(true);
    } else {
        o.append(true);
    }
    o.open(path)
}

/// Opens the last INCR file (or a new one) at startup, creating an empty
/// base first when there is nothing (aofOpenIfNeededOnServerStart).
pub fn open_on_server_start(srv: &mut Server) -> Result<(), ()> {
    if ensure_dir(srv).is_err() {
        return Err(());
    }
    let dir = dir_path(srv);
    let fname = file_name(srv);
    let incr_len = srv.aof.manifest.incr.len();
    if srv.aof.manifest.base.is_none() && incr_len == 0 {
        let rdb = srv.config.aof_use_rdb_preamble;
        let base = srv.aof.manifest.new_base(&fname, rdb);
        if rewrite_to_file(srv, &dir.join(&base), std::process::id() as i32).is_err() {
            return Err(());
        }
        info!("Creating AOF base file {} on server start", base);
    }
    let name = srv.aof.manifest.last_incr(&fname);
    srv.aof.file = Some(open_logged(&dir, &name, false)?);
    if srv.aof.manifest.persist(&dir, &fname).is_err() {
        return Err(());
    }
    srv.aof.last_incr_size = fs::metadata(dir.join(&name)).map_or(0, |m| m.len());
    if incr_len > 0 {
        info!("Opening AOF incr file {} on server start", name);
    } else {
        info!("Creating AOF incr file {} on server start", name);
    }
    srv.aof.state = AofState::On;
    srv.aof.last_fsync = unixtime();
    sync_targets(srv);
    Ok(())
}

/// Opens the INCR file new commands go to while a rewrite runs
/// (openNewIncrAofForAppend).
fn open_new_incr_for_append(srv: &mut Server) -> Result<(), ()> {
    if srv.aof.state == AofState::Off {
        return Ok(());
    }
    let dir = dir_path(srv);
    let fname = file_name(srv);
    let mut temp_am = None;
    let name = if srv.aof.state == AofState::WaitRewrite {
        manifest::temp_incr_name(&fname)
    } else {
        let mut am = srv.aof.manifest.clone();
        let n = am.new_incr(&fname);
        temp_am = Some(am);
        n
    };
    let f = open_logged(&dir, &name, true)?;
    if let Some(am) = temp_am.as_mut() {
        if am.persist(&dir, &fname).is_err() {
            return Err(());
        }
    }
    info!("Creating AOF incr file {} on background rewrite", name);
    if let Some(old) = srv.aof.file.take() {
        srv.aof.bg_fsync_close(old);
        srv.aof.fsync_offset = srv.aof.current_size;
        srv.aof.last_fsync = unixtime();
    }
    srv.aof.file = Some(f);
    srv.aof.last_incr_size = 0;
    if let Some(am) = temp_am {
        srv.aof.manifest = am;
    }
    Ok(())
}

/// Starts a background rewrite (rewriteAppendOnlyFileBackground).
pub fn rewrite_background(srv: &mut Server) -> Result<(), ()> {
    if srv.child.is_some() {
        return Err(());
    }
    if ensure_dir(srv).is_err() {
        srv.aof.last_bgrewrite_ok = false;
        return Err(());
    }
    srv.aof.selected_db = -1;
    flush(srv, true);
    if open_new_incr_for_append(srv).is_err() {
        srv.aof.last_bgrewrite_ok = false;
        return Err(());
    }
    srv.aof.rewrites += 1;
    let forkless = srv.config.bgsave_forkless && srv.config.aof_use_rdb_preamble;
    let r = if forkless {
        start_forkless(srv)
    } else {
        child::start(srv, ChildKind::AofRewrite, |s: &Server| {
            let pid = std::process::id() as i32;
            let tmp = format!("temp-rewriteaof-bg-{}.aof", pid);
            rewrite_to_file(s, Path::new(&tmp), pid)?;
            info!("Successfully created the temporary AOF base file {}", tmp);
            Ok(())
        })
    };
    rewrite_started(srv, r, forkless)
}

/// The rewrite's start, forked or fork-less: the state of a running
/// rewrite, or the failure.
fn rewrite_started(srv: &mut Server, r: io::Result<i32>, forkless: bool) -> Result<(), ()> {
    match r {
        Ok(pid) => {
            if forkless {
                info!("Background append only file rewriting started (fork-less)");
            } else {
                info!(
                    "Background append only file rewriting started by pid {}",
                    pid
                );
            }
            srv.aof.child_pid = pid;
            srv.aof.rewrite_scheduled = false;
            srv.aof.rewrite_time_start = unixtime();
            Ok(())
        }
        Err(e) => {
            srv.aof.last_bgrewrite_ok = false;
            warn!(
                "Can't rewrite append only file in background: {}{}",
                if forkless { "" } else { "fork: " },
                errno_text(&e)
            );
            Err(())
        }
    }
}

/// The fork-less rewrite (`bgsave-forkless`, RDB preamble only):
/// `persist::snapshot` writes the base; its end comes to `rewrite_done`
/// as a child's would. Returns our pid, which names its files.
fn start_forkless(srv: &mut Server) -> io::Result<i32> {
    let pid = std::process::id() as i32;
    let target = super::snapshot::Target {
        kind: ChildKind::AofRewrite,
        // (Not the name a foreground rewrite of this process writes.)
        tmp: format!("temp-rewriteaof-forkless-{}.aof", pid),
        filename: format!("temp-rewriteaof-bg-{}.aof", pid),
        autosync: srv.config.aof_rewrite_incremental_fsync,
    };
    let info = crate::persist::rdb::SaveInfo {
        aof_base: true,
        ..Default::default()
    };
    super::snapshot::start(srv, target, &info).map(|()| pid)
}

/// aof-rewrite-incremental-fsync: fsync every 4 MB written (rioSetAutoSync).
const AUTOSYNC_BYTES: u64 = 4 * 1024 * 1024;

struct AutoSync {
    file: File,
    unsynced: u64,
    every: u64,
}

impl Write for AutoSync {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.unsynced += n as u64;
        if self.unsynced >= self.every {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Writes a complete base (RDB preamble or commands) to `path` through a
/// temp file, fsyncs and renames it (rewriteAppendOnlyFile).
pub fn rewrite_to_file(srv: &Server, path: &Path, pid: i32) -> io::Result<()> {
    let tmp = PathBuf::from(format!("temp-rewriteaof-{}.aof", pid));
    let r = (|| -> io::Result<()> {
        let f = AutoSync {
            file: File::create(&tmp)?,
            unsynced: 0,
            every: if srv.config.aof_rewrite_incremental_fsync {
                AUTOSYNC_BYTES
            } else {
                u64::MAX
            },
        };
        let mut w = io::BufWriter::with_capacity(64 * 1024, f);
        if srv.config.aof_use_rdb_preamble {
            let info = crate::persist::rdb::SaveInfo {
                aof_base: true,
                ..Default::default()
            };
            crate::persist::rdb::write_rdb(srv, &mut w, &info)?;
        } else {
            super::aof_rewrite::write_commands(srv, &mut w)?;
        }
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.file.sync_all()?;
        Ok(())
    })();
    if let Err(e) = r {
        warn!(
            "Write error writing append only file on disk: {}",
            errno_text(&e)
        );
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp, path) {
        warn!(
            "Error moving temp append only file on the final destination: {}",
            errno_text(&e)
        );
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// An AOF-rewrite child finished (called by `child::check_children`);
/// backgroundRewriteDoneHandler.
pub fn rewrite_done(srv: &mut Server, ok: bool) {
    let pid = srv.aof.child_pid;
    let tmpfile = format!("temp-rewriteaof-bg-{}.aof", pid);
    if ok {
        info!("Background AOF rewrite terminated with success");
        if let Err(()) = install_new_base(srv, &tmpfile) {
            srv.aof.last_bgrewrite_ok = false;
            srv.aof.consecutive_failures += 1;
        }
    } else {
        srv.aof.last_bgrewrite_ok = false;
        srv.aof.consecutive_failures += 1;
        warn!("Background AOF rewrite terminated with error");
    }
    // aofRemoveTempFile
    let _ = fs::remove_file(&tmpfile);
    let _ = fs::remove_file(format!("temp-rewriteaof-{}.aof", pid));
    if srv.aof.state == AofState::WaitRewrite {
        srv.aof.buf.clear();
        let name = manifest::temp_incr_name(&file_name(srv));
        info!("Removing the temp incr aof file {} in the background", name);
        let p = dir_path(srv).join(name);
        srv.aof.bg_unlink(p);
    }
    if srv.aof.rewrite_time_start >= 0 {
        srv.aof.rewrite_time_last = unixtime() - srv.aof.rewrite_time_start;
    }
    srv.aof.rewrite_time_start = -1;
    srv.aof.child_pid = -1;
    if srv.aof.state == AofState::WaitRewrite {
        srv.aof.rewrite_scheduled = true;
    }
}

fn install_new_base(srv: &mut Server, tmpfile: &str) -> Result<(), ()> {
    let dir = dir_path(srv);
    let fname = file_name(srv);
    let mut am = srv.aof.manifest.clone();
    let base = am.new_base(&fname, srv.config.aof_use_rdb_preamble);
    let base_path = dir.join(&base);
    if let Err(e) = fs::rename(tmpfile, &base_path) {
        warn!(
            "Error trying to rename the temporary AOF base file {} into {}: {}",
            tmpfile,
            base_path.display(),
            errno_text(&e)
        );
        return Err(());
    }
    info!(
        "Successfully renamed the temporary AOF base file {} into {}",
        tmpfile, base
    );
    let mut new_incr_path = None;
    if srv.aof.state == AofState::WaitRewrite {
        let temp_name = manifest::temp_incr_name(&fname);
        let temp_path = dir.join(&temp_name);
        let incr = am.new_incr(&fname);
        let incr_path = dir.join(&incr);
        if let Err(e) = fs::rename(&temp_path, &incr_path) {
            warn!(
                "Error trying to rename the temporary AOF incr file {} into {}: {}",
                temp_path.display(),
                incr_path.display(),
                errno_text(&e)
            );
            srv.aof.bg_unlink(base_path);
            return Err(());
        }
        info!(
            "Successfully renamed the temporary AOF incr file {} into {}",
            temp_name, incr
        );
        new_incr_path = Some(incr_path);
    }
    am.mark_incr_as_history(srv.aof.file.is_some());
    if am.persist(&dir, &fname).is_err() {
        srv.aof.bg_unlink(base_path);
        if let Some(p) = new_incr_path {
            srv.aof.bg_unlink(p);
        }
        return Err(());
    }
    srv.aof.manifest = am;
    if srv.aof.file.is_some() {
        srv.aof.selected_db = -1;
        let base_size = fs::metadata(&base_path).map_or(0, |m| m.len());
        srv.aof.current_size = base_size + srv.aof.last_incr_size;
        srv.aof.rewrite_base_size = srv.aof.current_size;
        srv.aof.fsync_offset = srv.aof.current_size;
        srv.aof.last_fsync = unixtime();
    }
    delete_history_files(srv);
    srv.aof.last_bgrewrite_ok = true;
    srv.aof.consecutive_failures = 0;
    info!("Background AOF rewrite finished successfully");
    if srv.aof.state == AofState::WaitRewrite {
        srv.aof.state = AofState::On;
    }
    Ok(())
}

/// aofDelHistoryFiles (not while `aof-disable-auto-gc` is yes: the history
/// stays listed in the manifest).
pub fn delete_history_files(srv: &mut Server) {
    if srv.aof.manifest.history.is_empty() || srv.config.aof_disable_auto_gc {
        return;
    }
    let dir = dir_path(srv);
    for h in std::mem::take(&mut srv.aof.manifest.history) {
        info!("Removing the history file {} in the background", h.name);
        srv.aof.bg_unlink(dir.join(&h.name));
    }
    srv.aof.manifest.dirty = true;
    let fname = file_name(srv);
    let _ = srv.aof.manifest.persist(&dir, &fname);
}

/// Kills a running rewrite child (killAppendOnlyChild).
fn kill_child(srv: &mut Server) {
    let Some(c) = srv.child.as_ref() else {
        return;
    };
    if c.kind != ChildKind::AofRewrite {
        return;
    }
    info!("Killing running AOF rewrite child: {}", c.pid);
    let pid = c.pid;
    child::kill(srv);
    let _ = fs::remove_file(format!("temp-rewriteaof-bg-{}.aof", pid));
    let _ = fs::remove_file(format!("temp-rewriteaof-{}.aof", pid));
    srv.aof.rewrite_time_start = -1;
    srv.aof.child_pid = -1;
}

/// CONFIG SET appendonly no (stopAppendOnly).
pub fn stop(srv: &mut Server) {
    if srv.aof.state == AofState::Off {
        return;
    }
    flush(srv, true);
    if let Some(f) = srv.aof.file.take() {
        match f.sync_data() {
            Err(e) => warn!("Fail to fsync the AOF file: {}", errno_text(&e)),
            Ok(()) => {
                srv.aof.fsync_offset = srv.aof.current_size;
                srv.aof.last_fsync = unixtime();
            }
        }
    }
    srv.aof.selected_db = -1;
    srv.aof.state = AofState::Off;
    srv.aof.rewrite_scheduled = false;
    srv.aof.last_incr_size = 0;
    kill_child(srv);
    srv.aof.buf = Vec::new();
    sync_targets(srv);
}

/// CONFIG SET appendonly yes (startAppendOnly): the AOF waits for a
/// rewrite that writes the current dataset as the new base.
pub fn start(srv: &mut Server, in_exec: bool) -> Result<(), ()> {
    if srv.aof.state != AofState::Off {
        return Ok(());
    }
    srv.aof.state = AofState::WaitRewrite;
    sync_targets(srv);
    let other_child = srv
        .child
        .as_ref()
        .is_some_and(|c| c.kind != ChildKind::AofRewrite);
    if other_child {
        srv.aof.rewrite_scheduled = true;
        warn!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
    } else if in_exec {
        srv.aof.rewrite_scheduled = true;
        warn!("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
    } else {
        if srv.child.is_some() {
            warn!("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
            kill_child(srv);
        }
        if rewrite_background(srv).is_err() {
            srv.aof.state = AofState::Off;
            sync_targets(srv);
            warn!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
            return Err(());
        }
    }
    srv.aof.last_fsync = unixtime();
    if let Some(b) = srv.aof.bio.as_ref() {
        if b.fsync_failed.swap(false, Ordering::SeqCst) {
            warn!("AOF reopen, just ignore the AOF fsync error in bio job");
        }
    }
    if !srv.aof.last_write_ok {
        warn!("AOF reopen, just ignore the last error.");
        srv.aof.last_write_ok = true;
    }
    Ok(())
}

/// Applies a CONFIG SET of appendonly. Err when turning it on failed.
pub fn config_changed(srv: &mut Server, in_exec: bool) -> Result<(), ()> {
    let want = srv.config.appendonly;
    if want && srv.aof.state == AofState::Off {
        start(srv, in_exec)
    } else if !want && srv.aof.state != AofState::Off {
        stop(srv);
        Ok(())
    } else {
        Ok(())
    }
}

/// At shutdown: kill a rewrite child, write and fsync what is buffered.
/// False when the initial AOF (appendonly turned on at runtime) is still
/// being written and `force` is not set: the server must not exit.
pub fn on_shutdown(srv: &mut Server, force: bool) -> bool {
    if srv
        .child
        .as_ref()
        .is_some_and(|c| c.kind == ChildKind::AofRewrite)
    {
        if srv.aof.state == AofState::WaitRewrite {
            if force {
                warn!("Writing initial AOF. Exit anyway.");
            } else {
                warn!("Writing initial AOF, can't exit.");
                return false;
            }
        }
        warn!("There is a child rewriting the AOF. Killing it!");
        kill_child(srv);
    }
    if srv.aof.state != AofState::Off {
        flush(srv, true);
        info!("Calling fsync() on the AOF file.");
        if let Some(f) = srv.aof.file.as_ref() {
            if let Err(e) = f.sync_data() {
                warn!("Fail to fsync the AOF file: {}.", e);
            }
        }
    }
    true
}

/// INFO persistence aof_* fields (the part shown while AOF is on included).
pub fn info_fields(srv: &Server, s: &mut String) {
    use std::fmt::Write as _;
    let a = &srv.aof;
    let in_rw = srv
        .child
        .as_ref()
        .is_some_and(|c| c.kind == ChildKind::AofRewrite);
    let _ = write!(
        s,
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\naof_last_cow_size:{}\r\n",
        (a.state != AofState::Off) as u8,
        in_rw as u8,
        a.rewrite_scheduled as u8,
        a.rewrite_time_last,
        if in_rw && a.rewrite_time_start >= 0 {
            unixtime() - a.rewrite_time_start
        } else {
            -1
        },
        if a.last_bgrewrite_ok { "ok" } else { "err" },
        a.rewrites,
        a.consecutive_failures,
        if a.last_write_ok
            && !a
                .bio
                .as_ref()
                .is_some_and(|b| b.fsync_failed.load(Ordering::SeqCst))
        {
            "ok"
        } else {
            "err"
        },
        srv.child_info.last_aof_cow,
    );
}

/// The fields INFO persistence shows after module_fork_* when AOF is on.
pub fn info_fields_on(srv: &Server, s: &mut String) {
    use std::fmt::Write as _;
    let a = &srv.aof;
    if a.state == AofState::Off {
        return;
    }
    let _ = write!(
        s,
        "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:{}\r\naof_delayed_fsync:{}\r\n",
        a.current_size,
        a.rewrite_base_size,
        a.rewrite_scheduled as u8,
        a.buf.len(),
        a.pending_bio_fsync(),
        a.delayed_fsync,
    );
}

/// Is writing denied because the last AOF write failed
/// (writeCommandsDeniedByDiskError)? Returns the error to reply.
pub fn write_denied(srv: &Server) -> Option<CmdError> {
    if srv.aof.state == AofState::Off {
        return None;
    }
    let bio_failed = srv
        .aof
        .bio
        .as_ref()
        .is_some_and(|b| b.fsync_failed.load(Ordering::SeqCst));
    if !srv.aof.last_write_ok || bio_failed {
        let reason = if bio_failed {
            "Input/output error".to_string()
        } else {
            srv.aof.last_write_error.clone()
        };
        return Some(error::aof_misconf(&reason));
    }
    None
}

// ---- BGREWRITEAOF -----------------------------------------------------------

pub static COMMANDS: &[CommandSpec] = &[crate::cmdtable::cmd("bgrewriteaof", bgrewriteaof)];

fn bgrewriteaof(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    let in_exec = c.multi.is_some() || srv.nesting > 1;
    if srv
        .child
        .as_ref()
        .is_some_and(|ch| ch.kind == ChildKind::AofRewrite)
    {
        return Err(CmdError::Static(error::AOF_REWRITE_IN_PROGRESS));
    }
    if srv.child.is_some() || in_exec {
        srv.aof.rewrite_scheduled = true;
        srv.aof.consecutive_failures = 0;
        c.out
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    if rewrite_background(srv).is_ok() {
        c.out
            .simple("Background append only file rewriting started");
        Ok(())
    } else {
        Err(CmdError::Static(error::AOF_REWRITE_FAILED))
    }
}
