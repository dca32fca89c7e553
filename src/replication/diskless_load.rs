//! Diskless loading, replica side (Redis's readSyncBulkPayload with
//! `repl-diskless-load`): the master's RDB is parsed straight from the
//! socket instead of going through a temp file.
//!
//! `on-empty-db` loads from the socket when we hold no keys; `swapdb`
//! always does, into fresh tables, keeping the old dataset (and function
//! libraries) aside: they are swapped back in while clients are served
//! during the load, restored if the load fails, and dropped once it
//! succeeds. When the master's replication id is ours (the same history,
//! a later point of it), the load is an *async* one: clients keep reading
//! the old data (INFO `async_loading:1`), only commands flagged
//! `no-async-loading` get -LOADING; otherwise INFO shows `loading:1` and
//! commands without the `loading` flag get -LOADING.
//!
//! The load is synchronous, as in Redis: the socket is made blocking with
//! `repl-timeout` as read timeout and clients are served every
//! `loading-process-events-interval-bytes` by the loader's event hook.
//! A TLS link (tls-replication) is read the same way, through its TLS
//! stream over the blocking socket.

use crate::client::Conn;
use crate::config::ReplDisklessLoad;
use crate::db::Keyspace;
use crate::persist::rdb::LoadError;
use crate::persist::rdb_load::UNEXPECTED_EOF;
use crate::scripting::functions::Functions;
use crate::server::Server;
use mio::net::TcpStream;
use std::io::{self, BufReader, Read};
use std::os::fd::AsRawFd;
use tracing::{info, warn};

/// The dataset kept aside during a swapdb load: per db its keys (with
/// their expire times), and the function libraries; plus the loader's own event hook,
/// wrapped while the stash exists.
pub struct Stash {
    data: Vec<Keyspace>,
    functions: Functions,
    events: Option<fn(&mut Server)>,
}

/// useDisklessLoad.
pub fn use_diskless_load(srv: &Server) -> bool {
    match srv.config.repl_diskless_load {
        ReplDisklessLoad::Swapdb => true,
        ReplDisklessLoad::OnEmptyDb => srv.total_keys() == 0,
        ReplDisklessLoad::Disabled => false,
    }
}

/// Exchanges the live dataset with the stash (both ways).
fn swap_stash(srv: &mut Server, st: &mut Stash) {
    for (db, dict) in srv.dbs.iter_mut().zip(st.data.iter_mut()) {
        std::mem::swap(&mut db.dict, dict);
        db.expires_cursor = 0;
        if db.slots.is_some() {
            db.index_slots();
        }
    }
    std::mem::swap(&mut srv.scripting.functions, &mut st.functions);
}

/// The loader's event hook during a swapdb load: clients see the old
/// dataset while they are served.
fn events_with_old_data(srv: &mut Server) {
    let Some(mut st) = srv.repl.load_stash.take() else {
        return;
    };
    swap_stash(srv, &mut st);
    let f = st.events;
    srv.repl.load_stash = Some(st);
    if let Some(f) = f {
        f(srv);
    }
    if let Some(mut st) = srv.repl.load_stash.take() {
        swap_stash(srv, &mut st);
        srv.repl.load_stash = Some(st);
    }
}

/// Reads the socket (or the TLS stream over it: what is there, blocking
/// only when nothing is), retrying interrupted reads (the watchdog's
/// SIGALRM).
struct SockReader<'a>(&'a mut Conn);

impl Read for SockReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let r = match &mut *self.0 {
                Conn::Tcp(s) => (&mut &*s).read(buf),
                Conn::Tls(t) => t.read_some(buf),
                Conn::Unix(_) => Err(io::ErrorKind::Unsupported.into()),
            };
            match r {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
        }
    }
}

/// Blocking mode with a read timeout (`ms` > 0), or back to non-blocking.
fn set_blocking(sock: &TcpStream, ms: Option<i64>) {
    let fd = sock.as_raw_fd();
    let tv = libc::timeval {
        tv_sec: ms.unwrap_or(0) / 1000,
        tv_usec: (ms.unwrap_or(0) % 1000 * 1000) as libc::suseconds_t,
    };
    // SAFETY: fcntl/setsockopt on a socket we own, with a valid timeval.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        let fl = if ms.is_some() {
            fl & !libc::O_NONBLOCK
        } else {
            fl | libc::O_NONBLOCK
        };
        libc::fcntl(fd, libc::F_SETFL, fl);
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
}

/// Loads the master's RDB from the link socket (the `$EOF:`/`$<len>`
/// line was read; `l.buf` holds what followed it). Ends with the link
/// connected, or cancelled and reconnecting.
pub fn load(srv: &mut Server) {
    let Some(l) = srv.repl.link.as_mut() else {
        return;
    };
    let Some(mut sock) = l.take_sock(&srv.io) else {
        return;
    };
    let leftover = std::mem::take(&mut l.buf);
    let (mark, len) = l.expected();
    let master_replid = l.master_replid().to_string();
    let swapdb = srv.config.repl_diskless_load == ReplDisklessLoad::Swapdb;
    let async_loading = swapdb && master_replid == srv.repl.replid;
    // No AOF rewrite child while the dataset is replaced; the AOF restarts
    // from a rewrite of the new data afterwards (restartAOFAfterSYNC).
    let aof_was_on = crate::persist::aof::enabled(srv);
    if aof_was_on {
        crate::persist::aof::stop(srv);
    }
    if swapdb {
        // A fork-less snapshot in progress writes the rest of the old
        // data out now: its keys leave the keyspace for the stash.
        for db in srv.dbs.iter_mut() {
            db.snap_finish();
        }
        let n = srv.dbs.len();
        srv.repl.load_stash = Some(Box::new(Stash {
            data: (0..n).map(|_| Keyspace::new()).collect(),
            functions: Functions::new(),
            events: srv.process_events_while_loading,
        }));
        // The fresh tables become the live ones the loader fills.
        if let Some(mut st) = srv.repl.load_stash.take() {
            swap_stash(srv, &mut st);
            srv.repl.load_stash = Some(st);
        }
        srv.process_events_while_loading = Some(events_with_old_data);
    } else {
        super::replica::attach_to_new_master(srv);
        info!("MASTER <-> REPLICA sync: Flushing old data");
        crate::persist::rdb_server::empty_data(srv);
    }
    info!("MASTER <-> REPLICA sync: Loading DB in memory");
    let timeout = srv.config.repl_timeout.max(1) * 1000;
    if let Some(t) = sock.tcp() {
        set_blocking(t, Some(timeout));
    }
    if async_loading {
        srv.async_loading = true;
    } else {
        srv.loading = true;
    }
    srv.rdb.loading_start_time = crate::clock::wall_ms() / 1000;
    srv.rdb.loading_total_bytes = len.unwrap_or(0);
    srv.rdb.loading_loaded_bytes = 0;
    srv.loading_events = srv.process_events_while_loading.is_some();
    let src = io::Cursor::new(leftover).chain(SockReader(&mut sock));
    let src = src.take(len.unwrap_or(u64::MAX));
    let mut rd = BufReader::with_capacity(1 << 16, src);
    let mut res = crate::persist::rdb::load_rdb(srv, &mut rd, true);
    if res.is_ok() {
        if let Some(m) = mark {
            let mut got = [0u8; 40];
            if rd.read_exact(&mut got).is_err() || got != m {
                warn!("Replication stream EOF marker is broken");
                res = Err(LoadError::Io(io::ErrorKind::InvalidData.into()));
            }
        }
    }
    // What followed the RDB: the start of the master's stream.
    let mut rest = rd.buffer().to_vec();
    let (cursor, _) = rd.into_inner().into_inner().into_inner();
    let pos = cursor.position() as usize;
    let mut after = cursor.into_inner();
    rest.extend_from_slice(after.get(pos..).unwrap_or(&[]));
    after.clear();
    srv.loading_events = false;
    srv.loading = false;
    srv.async_loading = false;
    let stash = srv.repl.load_stash.take();
    if let Some(st) = stash.as_ref() {
        srv.process_events_while_loading = st.events;
    }
    let info = match res {
        Ok(i) => i,
        Err(e) => {
            report_failure(&e);
            drop(sock);
            if let Some(mut st) = stash {
                // The old dataset comes back.
                swap_stash(srv, &mut st);
                info!("MASTER <-> REPLICA sync: Discarding temporary DB in background");
            } else {
                crate::persist::rdb_server::empty_data(srv);
            }
            super::replica::cancel_and_reconnect(srv);
            return;
        }
    };
    crate::persist::rdb_server::record_load(srv, &info);
    if stash.is_some() {
        super::replica::attach_to_new_master(srv);
        info!("MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
        drop(stash);
        info!("MASTER <-> REPLICA sync: Discarding old DB in background");
    }
    srv.dirty += 1;
    if let Some(t) = sock.tcp() {
        set_blocking(t, None);
    }
    if let Some(l) = srv.repl.link.as_mut() {
        l.restore_sock(&srv.io, sock, rest);
    }
    if aof_was_on {
        let _ = crate::persist::aof::start(srv, false);
    }
    super::replica::sync_succeeded(srv, info.repl_stream_db.unwrap_or(0));
}

/// rdbReportError for a socket load: a short read is a connection error
/// (the sync is retried); anything else is a corrupt payload.
fn report_failure(e: &LoadError) {
    match e {
        LoadError::Corrupt(msg) if msg != UNEXPECTED_EOF => {
            warn!(
                "Internal error in RDB reading offset 0, function at rdb.c:0 -> {}. Failure loading rdb format",
                msg
            );
        }
        LoadError::Corrupt(msg) => {
            warn!(
                "Internal error in RDB reading offset 0, function at rdb.c:0 -> {}. Failure loading rdb format from socket, assuming connection error, resuming operation.",
                msg
            );
        }
        LoadError::Io(err) => {
            warn!(
                "Internal error in RDB reading offset 0, function at rdb.c:0 -> {}. Failure loading rdb format from socket, assuming connection error, resuming operation.",
                err
            );
        }
    }
    warn!("Failed trying to load the MASTER synchronization DB from socket");
}
