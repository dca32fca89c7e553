//! Fork-less BGSAVE (`bgsave-forkless yes`, not a Redis directive): the
//! event loop itself writes the RDB, a bounded slice per loop turn, while
//! a writer thread puts the bytes on disk. No child process, so no
//! copy-on-write: under a write load a forked BGSAVE ends up holding a
//! second copy of most pages (parent plus child's private dirty memory
//! reached 2.2x the dataset for Redis and for us); this needs about the
//! dataset plus the bytes waiting for the disk.
//!
//! Point in time, as a fork gives: `db_snap` writes a key's hash group out
//! before any change to one of its keys, so the file holds the dataset as
//! it was when BGSAVE started. The records of several dbs interleave
//! (SELECTDB before each run, which Redis's loader accepts anywhere), so
//! the file is not byte-identical to a forked one; it loads the same.
//!
//! To the rest of the server it looks like an RDB child (`srv.child` with
//! pid [`FORKLESS_PID`]): one at a time, INFO's rdb_bgsave_in_progress,
//! `child::reap` / `child::kill` end it. What differs from a fork: the
//! resize policy and the LRU stamps go on as without a child (nothing is
//! shared), and only the keyspace's shrinking waits for the end (a key
//! must stay in its hash group).

use crate::db_snap::DbSnap;
use crate::persist::child::{ChildInfo, ChildKind};
use crate::persist::rdb::{self, Crc64Digest, EncOpts, SaveInfo};
use crate::persist::rdb_server::AutoSync;
use crate::server::Server;
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use tracing::{info, warn};

/// `ChildInfo::pid` of a fork-less snapshot (no process).
pub const FORKLESS_PID: i32 = 0;

/// Bytes of records one loop turn's traversal writes at most...
const STEP_BYTES: usize = 64 << 10;

/// ... and the time it may take: under load the clients' batches and the
/// traversal alternate, and every turn's share is added to the wait of
/// the clients served next (64 KiB of compressible 100-byte values alone
/// took over a millisecond).
const STEP_TIME: std::time::Duration = std::time::Duration::from_micros(250);

/// The traversal pauses while this much waits for the writer thread (a
/// slow disk must not turn the snapshot into memory).
const MAX_QUEUED: usize = 64 << 20;

enum Msg {
    Data(Vec<u8>),
    /// Everything was sent: write the checksum, fsync, rename.
    Finish,
}

/// The running fork-less snapshot (`Server::snapshot`).
pub struct Snapshot {
    tx: mpsc::Sender<Msg>,
    done: mpsc::Receiver<io::Result<()>>,
    /// Bytes sent to the writer and not yet written.
    queued: Arc<AtomicUsize>,
    /// The db whose records the file holds last (SELECTDB when another
    /// one's follow).
    last_db: Option<usize>,
    /// Dbs whose RESIZEDB hint was written.
    announced: Vec<usize>,
    /// `Finish` was sent: only the writer's answer is awaited.
    finish_sent: bool,
    /// Keys written by the dbs already retired.
    keys_retired: u64,
}

/// Where a snapshot goes and who hears of its end.
pub struct Target {
    /// `ChildKind::Rdb` (BGSAVE) or `ChildKind::AofRewrite` (an AOF base
    /// with the RDB preamble): `child::check_children` routes the end.
    pub kind: ChildKind,
    /// Written to this, then renamed to `filename`.
    pub tmp: String,
    pub filename: String,
    /// Incremental fsync while writing (rdb-save-incremental-fsync /
    /// aof-rewrite-incremental-fsync).
    pub autosync: bool,
}

/// Starts a fork-less snapshot of the dataset into `t.filename` (via
/// `t.tmp`). Fails when another child runs or the temp file cannot be
/// created.
pub fn start(srv: &mut Server, t: Target, info: &SaveInfo) -> io::Result<()> {
    if srv.child.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "another child process is active",
        ));
    }
    let Target {
        kind,
        tmp,
        filename,
        autosync,
    } = t;
    let file = File::create(&tmp).inspect_err(|e| {
        warn!("Failed opening the temp file {} for saving: {}", tmp, e);
    })?;
    let opts = EncOpts::from_server(srv);
    let mut head = Vec::with_capacity(1 << 12);
    rdb::write_header(&mut head, srv, info, opts);
    if !info.exclude_data {
        for db in srv.dbs.iter_mut() {
            let emit: crate::db_snap::Emit =
                Box::new(move |b, k, o, expire, lru| rdb::write_key(b, k, o, expire, lru, opts));
            db.snap = DbSnap::new(db.id, &db.dict, emit);
        }
    }
    let (tx, rx) = mpsc::channel::<Msg>();
    let (done_tx, done) = mpsc::channel();
    let queued = Arc::new(AtomicUsize::new(head.len()));
    let q = queued.clone();
    let checksum = srv.config.rdbchecksum;
    let cpus = srv.config.bgsave_cpulist.clone();
    let spawned = std::thread::Builder::new()
        .name("bgsave_forkless".into())
        .spawn(move || {
            crate::util::affinity::set_current_thread(&cpus);
            let f = AutoSync::new(file, autosync);
            let r = writer(f, rx, &q, checksum, &tmp, &filename);
            if r.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            let _ = done_tx.send(r);
        });
    if let Err(e) = spawned {
        for db in srv.dbs.iter_mut() {
            db.snap = None;
        }
        return Err(e);
    }
    let _ = tx.send(Msg::Data(head));
    srv.snapshot = Some(Box::new(Snapshot {
        tx,
        done,
        queued,
        last_db: None,
        announced: Vec::new(),
        finish_sent: false,
        keys_retired: 0,
    }));
    // INFO's current_save_keys_* and current_fork_perc follow the
    // traversal (no pipe: the numbers are ours).
    let keys_total = srv.dbs.iter().map(|d| d.dict.len() as u64).sum();
    srv.child_info.child_started(None, keys_total);
    srv.child = Some(ChildInfo {
        pid: FORKLESS_PID,
        kind,
        start_ms: crate::clock::wall_ms(),
        pidfd: -1,
    });
    Ok(())
}

/// The writer thread: writes what arrives, then the checksum; fsyncs and
/// renames the temp file over `filename`. An error, or the channel closed
/// before `Finish` (the snapshot was stopped), fails it.
fn writer(
    mut f: AutoSync,
    rx: mpsc::Receiver<Msg>,
    queued: &AtomicUsize,
    checksum: bool,
    tmp: &str,
    filename: &str,
) -> io::Result<()> {
    let mut digest = checksum.then(Crc64Digest::new);
    loop {
        match rx.recv() {
            Ok(Msg::Data(b)) => {
                if let Some(d) = digest.as_mut() {
                    d.update(&b);
                }
                let r = f.write_all(&b);
                queued.fetch_sub(b.len(), Ordering::Relaxed);
                r?;
            }
            Ok(Msg::Finish) => break,
            Err(_) => return Err(io::Error::other("snapshot stopped")),
        }
    }
    let crc = digest.map(|d| d.finalize()).unwrap_or(0);
    f.write_all(&crc.to_le_bytes())?;
    f.flush()?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(tmp, filename)?;
    Ok(())
}

/// True while the traversal has work it may do now (the event loop then
/// does not sleep).
pub fn wants_step(srv: &Server) -> bool {
    srv.snapshot
        .as_ref()
        .is_some_and(|s| !s.finish_sent && s.queued.load(Ordering::Relaxed) < MAX_QUEUED)
}

/// One loop turn's share: traverse up to [`STEP_BYTES`], hand every db's
/// new records to the writer, and after the last db send the end.
pub fn step(srv: &mut Server) {
    let Some(mut snap) = srv.snapshot.take() else {
        return;
    };
    if !snap.finish_sent {
        if snap.queued.load(Ordering::Relaxed) < MAX_QUEUED {
            let mut left = STEP_BYTES;
            let deadline = std::time::Instant::now() + STEP_TIME;
            for db in srv.dbs.iter_mut() {
                let Some(s) = db.snap.as_mut() else {
                    continue;
                };
                let before = s.out.len();
                let all = s.step(&db.dict, left, Some(deadline));
                left = left.saturating_sub(s.out.len() - before);
                if !all || left == 0 {
                    break;
                }
            }
        }
        let chunk = snap.collect(srv);
        srv.child_info.keys_processed = snap.keys_retired
            + srv
                .dbs
                .iter()
                .filter_map(|d| d.snap.as_ref())
                .map(|s| s.keys)
                .sum::<u64>();
        if !chunk.is_empty() {
            snap.queued.fetch_add(chunk.len(), Ordering::Relaxed);
            if snap.tx.send(Msg::Data(chunk)).is_err() {
                // The writer failed and is gone (a full disk): stop
                // encoding; its error ends the snapshot below.
                for db in srv.dbs.iter_mut() {
                    db.snap = None;
                }
                snap.finish_sent = true;
            }
        }
        if !snap.finish_sent && srv.dbs.iter().all(|d| d.snap.is_none()) {
            let mut end = Vec::new();
            rdb::write_eof(&mut end);
            snap.queued.fetch_add(end.len(), Ordering::Relaxed);
            let _ = snap.tx.send(Msg::Data(end));
            let _ = snap.tx.send(Msg::Finish);
            snap.finish_sent = true;
        }
    }
    let waiting = snap.finish_sent;
    srv.snapshot = Some(snap);
    // The writer's answer ends it as soon as it comes, as a child is
    // reaped at once through its pidfd (not under DEBUG PAUSE-CRON).
    if waiting && !srv.pause_cron {
        super::child::check_children(srv);
    }
}

impl Snapshot {
    /// Takes every db's new records (with SELECTDB / RESIZEDB where the
    /// db changes) and retires the dbs that are done.
    fn collect(&mut self, srv: &mut Server) -> Vec<u8> {
        let mut chunk = Vec::new();
        for db in srv.dbs.iter_mut() {
            let Some(s) = db.snap.as_mut() else {
                continue;
            };
            if !s.out.is_empty() {
                if !self.announced.contains(&s.db_id) {
                    self.announced.push(s.db_id);
                    rdb::write_db_start(&mut chunk, s.db_id, s.start_len, s.start_expires);
                } else if self.last_db != Some(s.db_id) {
                    rdb::write_select(&mut chunk, s.db_id);
                }
                self.last_db = Some(s.db_id);
                chunk.append(&mut s.out);
            }
            if s.finished() {
                self.keys_retired += s.keys;
                db.snap = None;
            }
        }
        chunk
    }
}

/// The writer's answer once it has one: Some(true) when the file is in
/// place. Called by `child::reap`.
pub fn poll_done(srv: &mut Server) -> Option<bool> {
    let snap = srv.snapshot.as_ref()?;
    let r = match snap.done.try_recv() {
        Ok(r) => r,
        Err(mpsc::TryRecvError::Empty) => return None,
        Err(mpsc::TryRecvError::Disconnected) => Err(io::Error::other("writer thread gone")),
    };
    srv.snapshot = None;
    for db in srv.dbs.iter_mut() {
        db.snap = None;
    }
    // Nothing was copied on write.
    let aof = srv
        .child
        .as_ref()
        .is_some_and(|c| c.kind == ChildKind::AofRewrite);
    srv.child_info.child_done();
    if aof {
        srv.child_info.last_aof_cow = 0;
    } else {
        srv.child_info.last_rdb_cow = 0;
    }
    match r {
        Ok(()) => {
            if srv.child.as_ref().is_some_and(|c| c.kind == ChildKind::Rdb) {
                info!("DB saved on disk");
            }
            Some(true)
        }
        Err(e) => {
            warn!("Write error saving DB on disk: {}", e);
            Some(false)
        }
    }
}

/// Stops a running fork-less snapshot (BGSAVE killed: FLUSHALL, SHUTDOWN):
/// the writer removes its temp file.
pub fn abort(srv: &mut Server) {
    if let Some(snap) = srv.snapshot.take() {
        drop(snap.tx);
        // The writer sees the channel closed, removes the temp file and
        // answers; wait for it so no temp file outlives the call.
        let _ = snap.done.recv();
    }
    for db in srv.dbs.iter_mut() {
        db.snap = None;
    }
    srv.child_info.child_done();
}
