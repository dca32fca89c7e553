//! The server side of RDB persistence (Redis's rdbSave / rdbSaveBackground
//! / backgroundSaveDoneHandler / serverCron save points / loadDataFromDisk):
//! writing `dbfilename` in the working directory (`dir`, where the config
//! chdir'ed) through `temp-<pid>.rdb` (written out as it goes under
//! rdb-save-incremental-fsync) + fsync + rename, forking BGSAVE
//! children, save points, the MISCONF state after a failed background
//! save, startup loading and DEBUG RELOAD.

use crate::persist::child::{self, ChildKind};
use crate::persist::rdb::{self, LoadError, LoadInfo, SaveInfo};
use crate::server::Server;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use tracing::{info, warn};

/// Seconds before a failed BGSAVE is retried by save points
/// (CONFIG_BGSAVE_RETRY_DELAY).
const BGSAVE_RETRY_DELAY: i64 = 5;

/// RDB persistence state (the rdb_* / lastbgsave_* fields of Redis's
/// server struct).
#[derive(Debug)]
pub struct RdbState {
    /// lastbgsave_status: false after a failed save (MISCONF).
    pub last_bgsave_ok: bool,
    /// Duration of the last background save, -1 if none.
    pub last_bgsave_time_sec: i64,
    /// When the running BGSAVE started (unix ms).
    pub bgsave_start_ms: i64,
    /// Unix seconds of the last BGSAVE attempt (retry delay).
    pub last_bgsave_try: i64,
    /// `dirty` when the running BGSAVE forked.
    pub dirty_before_bgsave: u64,
    /// BGSAVE SCHEDULE pending.
    pub bgsave_scheduled: bool,
    /// rdb_saves.
    pub saves: u64,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    /// Pid of the running (or last) BGSAVE child, for its temp file.
    pub child_pid: i32,
    /// The startup load of a master: keys found expired are fed to the
    /// backlog as DEL / UNLINK (RDBFLAGS_FEED_REPL).
    pub load_feeds_repl: bool,
    /// The load in progress (INFO's loading_* fields).
    pub loading_start_time: i64,
    pub loading_total_bytes: u64,
    pub loading_loaded_bytes: u64,
    /// The object the last load failed on (`rdb_load::ErrorContext`).
    pub load_error: Option<crate::persist::rdb_load::ErrorContext>,
    /// The file the running BGSAVE's rename will replace, opened before
    /// the fork: its blocks are freed when the parent closes this last
    /// handle in the background after the child is done, not by the
    /// child's rename.
    pub replaced: Option<File>,
}

impl Default for RdbState {
    fn default() -> Self {
        RdbState {
            last_bgsave_ok: true,
            last_bgsave_time_sec: -1,
            bgsave_start_ms: 0,
            last_bgsave_try: 0,
            dirty_before_bgsave: 0,
            bgsave_scheduled: false,
            saves: 0,
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
            child_pid: 0,
            load_feeds_repl: false,
            loading_start_time: 0,
            loading_total_bytes: 0,
            loading_loaded_bytes: 0,
            load_error: None,
            replaced: None,
        }
    }
}

/// The `save` directive's (seconds, changes) pairs.
pub fn save_params(srv: &Server) -> Vec<(i64, u64)> {
    srv.config.save.clone()
}

/// The RDB file name (relative to the working directory, i.e. `dir`).
pub fn rdb_filename(srv: &Server) -> String {
    srv.config.dbfilename.clone()
}

/// The save info replication wants in the aux fields (rdbPopulateSaveInfo).
pub(super) fn save_info(srv: &Server) -> SaveInfo {
    crate::replication::rdb_save_info(srv)
}

/// rdb-save-incremental-fsync: how much of the file may be written and
/// not yet on disk (Redis: 4 MB written plus the 4 MB before them).
const AUTOSYNC_BYTES: u64 = 4 << 20;
/// ... and how often the kernel is asked to start writing it out.
const WRITE_OUT_BYTES: u64 = 1 << 20;

/// The temp RDB file under rdb-save-incremental-fsync, after Redis 7.0's
/// rioFileWrite with autosync: each time another MB has been written the
/// kernel is asked to start writing it out (sync_file_range
/// SYNC_FILE_RANGE_WRITE, which does not wait), and the write-out of what
/// lies more than 4 MB back is waited for, so at most about 8 MB of the
/// file are ever unwritten, as in Redis (which starts a write-out every
/// 4 MB). The disk works while the dataset is still being encoded and the
/// final fsync finds little left to write: with the whole file left to
/// it, the fsync of a 33 MB SAVE took 17 ms on the test machine; with 4 MB
/// write-outs that of a 5 MB one still took 5.5 ms. Without
/// sync_file_range (not Linux), an fdatasync every 4 MB, as Redis.
pub(super) struct AutoSync {
    file: File,
    on: bool,
    /// Bytes written so far.
    written: u64,
    /// Write-out was started for the bytes below this.
    started: u64,
    /// Write-out was waited for below this.
    waited: u64,
}

impl AutoSync {
    /// fsync of the whole file.
    pub(super) fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    pub(super) fn new(file: File, on: bool) -> AutoSync {
        AutoSync {
            file,
            on,
            written: 0,
            started: 0,
            waited: 0,
        }
    }

    #[cfg(target_os = "linux")]
    fn sync(&mut self) -> io::Result<()> {
        use std::os::unix::io::AsRawFd;
        if self.written - self.started < WRITE_OUT_BYTES {
            return Ok(());
        }
        let fd = self.file.as_raw_fd();
        let range = |from: u64, to: u64, flags: libc::c_uint| -> io::Result<()> {
            // SAFETY: sync_file_range on our own open descriptor, for a
            // range of it; it passes no memory.
            let r = unsafe { libc::sync_file_range(fd, from as i64, (to - from) as i64, flags) };
            if r == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        };
        range(self.started, self.written, libc::SYNC_FILE_RANGE_WRITE)?;
        self.started = self.written;
        if self.started - self.waited >= 2 * AUTOSYNC_BYTES {
            let to = self.started - AUTOSYNC_BYTES;
            range(
                self.waited,
                to,
                libc::SYNC_FILE_RANGE_WAIT_BEFORE
                    | libc::SYNC_FILE_RANGE_WRITE
                    | libc::SYNC_FILE_RANGE_WAIT_AFTER,
            )?;
            self.waited = to;
        }
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    fn sync(&mut self) -> io::Result<()> {
        if self.written - self.started >= AUTOSYNC_BYTES {
            self.file.sync_data()?;
            self.started = self.written;
        }
        Ok(())
    }
}

impl Write for AutoSync {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.on {
            self.sync()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Writes the dataset to `filename` via `temp-<pid>.rdb` (rdbSave's file
/// handling); used by BGSAVE in the child.
pub fn write_file(srv: &Server, filename: &str, info: &SaveInfo) -> io::Result<()> {
    write_file_keeping_old(srv, filename, info, false).map(|_| ())
}

/// `write_file`; with `keep_old`, the file the rename replaces is opened
/// first and returned: its blocks are then freed when that last handle is
/// closed, which the caller leaves to a background thread, instead of by
/// the rename (10 ms for a 33 MB file here).
fn write_file_keeping_old(
    srv: &Server,
    filename: &str,
    info: &SaveInfo,
    keep_old: bool,
) -> io::Result<Option<File>> {
    let tmp = format!("temp-{}.rdb", std::process::id());
    let f = match File::create(&tmp) {
        Ok(f) => f,
        Err(e) => {
            let cwd = std::env::current_dir()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown".into());
            warn!(
                "Failed opening the temp RDB file {} (in server root dir {}) for saving: {}",
                tmp, cwd, e
            );
            return Err(e);
        }
    };
    let f = AutoSync::new(f, srv.config.rdb_save_incremental_fsync);
    let mut w = BufWriter::with_capacity(1 << 16, f);
    let res = rdb::write_rdb(srv, &mut w, info)
        .and_then(|_| w.flush())
        .and_then(|_| w.get_ref().file.sync_all());
    drop(w);
    if let Err(e) = res {
        warn!("Write error saving DB on disk: {}", e);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let old = if keep_old {
        File::open(filename).ok()
    } else {
        None
    };
    if let Err(e) = std::fs::rename(&tmp, filename) {
        let cwd = std::env::current_dir()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown".into());
        warn!(
            "Error moving temp DB file {} on the final destination {} (in server root dir {}): {}",
            tmp, filename, cwd, e
        );
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    info!("DB saved on disk");
    Ok(old)
}

/// rdbSave in the parent (SAVE, SHUTDOWN, FLUSHALL, DEBUG RELOAD).
pub fn save(srv: &mut Server) -> io::Result<()> {
    let name = rdb_filename(srv);
    let info = save_info(srv);
    match write_file_keeping_old(srv, &name, &info, true) {
        Ok(old) => {
            // The replaced file's blocks are freed in the background.
            if let Some(f) = old {
                srv.aof.bg_close(f);
            }
            srv.dirty = 0;
            srv.lastsave = crate::clock::wall_ms() / 1000;
            srv.rdb.last_bgsave_ok = true;
            srv.rdb.saves += 1;
            Ok(())
        }
        // A failed foreground save leaves rdb_last_bgsave_status alone
        // (rdbSave), so writes are not refused for it.
        Err(e) => Err(e),
    }
}

/// rdbSaveBackground: forks a child that writes the file.
pub fn bgsave(srv: &mut Server) -> io::Result<i32> {
    if srv.child.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "another child process is active",
        ));
    }
    let now = crate::clock::wall_ms();
    srv.rdb.dirty_before_bgsave = srv.dirty;
    srv.rdb.last_bgsave_try = now / 1000;
    let name = rdb_filename(srv);
    let info = save_info(srv);
    let replaced = File::open(&name).ok();
    let forkless = srv.config.bgsave_forkless;
    let started = if forkless {
        let target = super::snapshot::Target {
            kind: ChildKind::Rdb,
            // Not temp-<pid>.rdb: a foreground SAVE (DEBUG RELOAD) may run
            // meanwhile and writes that one.
            tmp: format!("temp-{}-forkless.rdb", std::process::id()),
            filename: name,
            autosync: srv.config.rdb_save_incremental_fsync,
        };
        super::snapshot::start(srv, target, &info).map(|()| std::process::id() as i32)
    } else {
        child::start(srv, ChildKind::Rdb, move |s: &Server| {
            write_file(s, &name, &info)
        })
    };
    match started {
        Ok(pid) => {
            if forkless {
                info!("Background saving started (fork-less)");
            } else {
                info!("Background saving started by pid {}", pid);
            }
            srv.rdb.bgsave_start_ms = now;
            srv.rdb.child_pid = pid;
            srv.rdb.bgsave_scheduled = false;
            srv.rdb.replaced = replaced;
            Ok(pid)
        }
        Err(e) => {
            srv.rdb.last_bgsave_ok = false;
            let how = if forkless { "" } else { "fork: " };
            warn!("Can't save in background: {}{}", how, e);
            Err(e)
        }
    }
}

/// backgroundSaveDoneHandlerDisk.
pub fn bgsave_done(srv: &mut Server, ok: bool) {
    let now = crate::clock::wall_ms();
    if let Some(f) = srv.rdb.replaced.take() {
        srv.aof.bg_close(f);
    }
    if ok {
        info!("Background saving terminated with success");
        srv.dirty = srv.dirty.saturating_sub(srv.rdb.dirty_before_bgsave);
        srv.lastsave = now / 1000;
        srv.rdb.last_bgsave_ok = true;
        srv.rdb.saves += 1;
    } else {
        warn!("Background saving error");
        srv.rdb.last_bgsave_ok = false;
        let _ = std::fs::remove_file(format!("temp-{}.rdb", srv.rdb.child_pid));
    }
    srv.rdb.last_bgsave_time_sec = (now - srv.rdb.bgsave_start_ms) / 1000;
}

/// The RDB part of serverCron: reap the child, then save points and
/// scheduled BGSAVEs.
pub fn cron(srv: &mut Server) {
    if srv.child.is_some() {
        child::check_children(srv);
        return;
    }
    let now = crate::clock::wall_ms() / 1000;
    let retry_ok = now - srv.rdb.last_bgsave_try > BGSAVE_RETRY_DELAY || srv.rdb.last_bgsave_ok;
    if srv.rdb.bgsave_scheduled && retry_ok {
        let _ = bgsave(srv);
        return;
    }
    for (secs, changes) in save_params(srv) {
        if srv.dirty >= changes && now - srv.lastsave > secs && retry_ok {
            info!("{} changes in {} seconds. Saving...", changes, secs);
            let _ = bgsave(srv);
            break;
        }
    }
}

/// MISCONF: writes are refused after a failed save when save points exist
/// and stop-writes-on-bgsave-error is on (writeCommandsDeniedByDiskError).
pub fn writes_denied(srv: &Server) -> bool {
    !srv.rdb.last_bgsave_ok
        && srv.config.stop_writes_on_bgsave_error
        && !save_params(srv).is_empty()
}

/// Loads `dbfilename`; Ok(None) when there is no file.
pub fn load_file(srv: &mut Server) -> Result<Option<LoadInfo>, LoadError> {
    let name = rdb_filename(srv);
    let f = match File::open(&name) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(LoadError::Io(e)),
    };
    srv.loading = true;
    srv.rdb.loading_start_time = crate::clock::wall_ms() / 1000;
    srv.rdb.loading_total_bytes = f.metadata().map(|m| m.len()).unwrap_or(0);
    srv.rdb.loading_loaded_bytes = 0;
    let replica = !crate::replication::i_am_master(srv);
    let r = rdb::load_rdb(srv, BufReader::with_capacity(1 << 16, f), replica);
    srv.loading = false;
    let info = r?;
    record_load(srv, &info);
    Ok(Some(info))
}

/// Logs "Done loading RDB, ..." and keeps the counts for INFO
/// (rdb_last_load_keys_loaded / _expired).
pub fn record_load(srv: &mut Server, info: &LoadInfo) {
    if info.empty_keys_skipped > 0 {
        info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}, empty keys skipped: {}.",
            info.keys_loaded, info.keys_expired, info.empty_keys_skipped
        );
    } else {
        info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            info.keys_loaded, info.keys_expired
        );
    }
    srv.rdb.last_load_keys_loaded = info.keys_loaded;
    srv.rdb.last_load_keys_expired = info.keys_expired;
}

/// loadDataFromDisk for RDB: exits the process on a corrupt file.
pub fn load_at_startup(srv: &mut Server) {
    let start = std::time::Instant::now();
    // Clients are served meanwhile (with -LOADING for most commands).
    srv.loading_events = srv.process_events_while_loading.is_some();
    // A master may expire keys while loading: their DELs go to a backlog
    // created first, so replicas that continue with PSYNC see them too.
    let master = srv.config.replicaof.is_none();
    if master {
        crate::replication::create_backlog(srv);
        srv.rdb.load_feeds_repl = true;
    }
    let loaded = load_file(srv);
    srv.rdb.load_feeds_repl = false;
    srv.loading_events = false;
    let mut repl_info = false;
    match loaded {
        Ok(Some(loaded)) => {
            repl_info = crate::replication::restore_from_rdb(srv, &loaded);
            info!(
                "DB loaded from disk: {:.3} seconds",
                start.elapsed().as_secs_f64()
            );
            srv.lastsave = crate::clock::wall_ms() / 1000;
        }
        Ok(None) => {}
        Err(LoadError::Corrupt(msg)) => {
            // rdbReportError's wording (offset and source line are not
            // tracked the same way; tools only match the prefix).
            if msg == crate::persist::rdb_load::UNEXPECTED_EOF {
                warn!("Short read or OOM loading DB. Unrecoverable error, aborting now.");
            }
            warn!(
                "Internal error in RDB reading offset 0, function at rdb.c:0 -> {}",
                msg
            );
            // Redis then runs redis-check-rdb on the file, which reports
            // the failed object on stdout; this is the error part of it.
            if let Some(ctx) = srv.rdb.load_error.take() {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                let _ = write!(
                    out,
                    "--- RDB ERROR DETECTED ---\n\
                     [offset {}] Internal error in RDB reading offset 0, function at rdb.c:0 -> {}\n\
                     [additional info] While doing: read-object-value\n\
                     [additional info] Reading key '{}'\n\
                     [additional info] Reading type {} ({})\n",
                    ctx.offset,
                    ctx.msg,
                    String::from_utf8_lossy(&ctx.key),
                    ctx.rdb_type,
                    crate::persist::rdb_load::rdb_type_name(ctx.rdb_type)
                );
                let _ = out.flush();
            }
            warn!("Terminating server after rdb file reading failure.");
            std::process::exit(1);
        }
        Err(LoadError::Io(e)) => {
            warn!("Fatal error loading the DB: {}. Exiting.", e);
            std::process::exit(1);
        }
    }
    // Without replication info no replica can continue: no backlog.
    if master && !repl_info {
        crate::replication::free_backlog(srv);
    }
}

/// Empties every db and the function libraries (emptyData).
pub fn empty_data(srv: &mut Server) {
    for db in srv.dbs.iter_mut() {
        db.flush();
    }
    srv.scripting.functions.flush();
}

/// Kills a running BGSAVE (killRDBChild for CHILD_TYPE_RDB) and removes
/// its temp file.
pub fn kill_bgsave(srv: &mut Server) {
    if srv.child.as_ref().is_some_and(|c| c.kind == ChildKind::Rdb) {
        let pid = srv.rdb.child_pid;
        child::kill(srv);
        let _ = std::fs::remove_file(format!("temp-{}.rdb", pid));
    }
}

/// FLUSHALL's persistence side (flushAllDataAndResetRDB).
pub fn after_flushall(srv: &mut Server) {
    if srv.child.as_ref().is_some_and(|c| c.kind == ChildKind::Rdb) {
        kill_bgsave(srv);
    } else if srv
        .child
        .as_ref()
        .is_some_and(|c| c.kind == ChildKind::ReplSync)
    {
        // A replication snapshot is killed too; its replicas resync.
        child::kill(srv);
        crate::replication::sync_snapshot_done(srv, false);
    }
    if !save_params(srv).is_empty() {
        let _ = save(srv);
    }
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty, load back.
pub fn debug_reload(
    srv: &mut Server,
    merge: bool,
    flush: bool,
    save_first: bool,
) -> Result<(), crate::error::CmdError> {
    use crate::error::{self, CmdError};
    if save_first && save(srv).is_err() {
        return Err(CmdError::Static(error::GENERIC_ERR));
    }
    if flush {
        empty_data(srv);
    }
    let name = rdb_filename(srv);
    let replica = !crate::replication::i_am_master(srv);
    let res = File::open(&name).map_err(LoadError::Io).and_then(|f| {
        let r = BufReader::with_capacity(1 << 16, f);
        if merge {
            crate::persist::rdb_load::load_merge(srv, r)
        } else {
            rdb::load_rdb(srv, r, replica)
        }
    });
    match res {
        Ok(_) => {
            warn!("DB reloaded by DEBUG RELOAD");
            Ok(())
        }
        Err(e) => {
            warn!("Error trying to load the RDB dump: {}", e);
            Err(CmdError::Static(error::DEBUG_RELOAD_LOAD))
        }
    }
}
