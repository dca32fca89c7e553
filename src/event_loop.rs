//! The single-threaded event loop (Redis's ae + networking.c): accept
//! connections, read every ready socket, execute every complete command in
//! what was read, write replies with as few syscalls as possible, and run
//! the crons `hz` times a second. At startup it installs what the lower
//! layers call back into: event processing while loading or while a script
//! is busy, closing a client at once, the poller's registry.

use crate::blocking;
use crate::client::Client;
use crate::client::{Conn, ReadOutcome, CMD_BUDGET, READ_BUDGET};
use crate::clock;
use crate::commands;
use crate::error::CmdError;
use crate::protocol::args::Args;
use crate::protocol::parse::{self, ArgSource, ParseLimits, Parsed};
use crate::server::Server;
use mio::{Events, Interest, Poll, Token};
use std::io;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// How long to keep polling without blocking after a busy iteration.
/// Measured at -P 1 (SET, GET, ZRANGE; 50 clients; against Redis in the
/// same runs, 2026-12-07): 20 µs gave ~1.03× Redis's throughput for
/// ~1.09× its CPU per request, 8 µs the same throughput for ~0.99× the
/// CPU, none ~0.96× the throughput for ~0.89× the CPU; at -P 16 it made
/// no difference.
const SPIN_TIME: Duration = Duration::from_micros(8);

/// Work one client may do per loop turn, besides the command and byte
/// budgets (client.rs): others are served in between.
const TURN_TIME: Duration = Duration::from_millis(1);

use crate::poller::{CHILD_EXIT_TOKEN, LISTENER_BASE, MASTER_LINK_TOKEN, RDB_PIPE_TOKEN};
use crate::server::SHUTDOWN_SIGNAL;

/// "temp-<pid>.rdb", the file a foreground save writes, for the signal
/// handler to remove (rdbRemoveTempFile). Global: read by the handler.
static TEMP_RDB: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();

extern "C" fn on_signal(sig: libc::c_int) {
    // A second SIGINT while a shutdown is pending (a final save running, a
    // busy script keeping the loop from it, replicas being waited for)
    // exits at once, as Redis does, removing a half-written RDB.
    if SHUTDOWN_SIGNAL.swap(true, Ordering::SeqCst) && sig == libc::SIGINT {
        if let Some(p) = TEMP_RDB.get() {
            // SAFETY: unlink is async-signal-safe; `p` is a valid C string
            // initialized before the handler was installed.
            unsafe { libc::unlink(p.as_ptr()) };
        }
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(1) };
    }
    crate::server::LAST_SIGNAL.store(sig, Ordering::SeqCst);
}

fn install_signal_handlers() {
    let _ = TEMP_RDB.set(
        std::ffi::CString::new(format!("temp-{}.rdb", std::process::id())).unwrap_or_default(),
    );
    // SAFETY: the handler only stores to an atomic (async-signal-safe).
    unsafe {
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

pub use crate::listen::Listener;

/// Opens the listening sockets at startup. Err carries Redis's log wording
/// (each failed address was logged already).
pub fn listen(srv: &Server) -> Result<Vec<Listener>, String> {
    let failed = || {
        format!(
            "Failed listening on port {} (TCP), aborting.",
            srv.config.port
        )
    };
    let tcp = crate::listen::listen_tcp(bind_value(srv), srv.config.port, backlog(srv))
        .map_err(|_| failed())?;
    let mut ls: Vec<Listener> = tcp.into_iter().map(Listener::Tcp).collect();
    let tls_port = srv.config.tls_port as u16;
    let tls = crate::listen::listen_tcp(bind_value(srv), tls_port, backlog(srv))
        .map_err(|_| format!("Failed listening on port {} (TLS), aborting.", tls_port))?;
    ls.extend(tls.into_iter().map(Listener::Tls));
    let perm = srv.config.unixsocketperm;
    if let Some(u) = crate::listen::listen_unix(&srv.config.unixsocket, perm)? {
        ls.push(Listener::Unix(u));
    }
    Ok(ls)
}

fn bind_value(srv: &Server) -> &str {
    &srv.config.bind
}

fn backlog(srv: &Server) -> i32 {
    srv.config.tcp_backlog
}

/// Registers the listening sockets with the poller after startup or a
/// CONFIG SET port/bind (which closed the old ones, so epoll forgot them).
fn register_listeners(srv: &mut Server, reg: &mio::Registry) {
    for (i, l) in srv.listeners.iter_mut().enumerate() {
        let t = Token(LISTENER_BASE + i);
        let r = reg.register(l.source(), t, Interest::READABLE);
        let r = match r {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                reg.reregister(l.source(), t, Interest::READABLE)
            }
            r => r,
        };
        if let Err(e) = r {
            warn!("Registering a listening socket: {}", e);
        }
    }
    srv.listeners_changed = false;
}

/// Accepts one connection: the stream and whether the peer is local.
/// A TLS listener's connection starts its handshake with `tls` (None: the
/// TLS context cannot serve this tls-auth-clients mode, the connection is
/// closed).
fn accept_one(
    l: &Listener,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
) -> io::Result<(Conn, bool)> {
    match l {
        Listener::Tcp(l) => {
            let (s, addr) = l.accept()?;
            let _ = s.set_nodelay(true);
            Ok((Conn::Tcp(s), crate::util::net::is_local_peer(addr.ip())))
        }
        Listener::Tls(l) => {
            let (s, addr) = l.accept()?;
            let _ = s.set_nodelay(true);
            let Some(cfg) = tls else {
                return Err(io::Error::other(
                    "TLS is not configured for this tls-auth-clients mode",
                ));
            };
            let t = crate::tls::TlsStream::server(s, cfg)?;
            Ok((
                Conn::Tls(Box::new(t)),
                crate::util::net::is_local_peer(addr.ip()),
            ))
        }
        Listener::Unix(l) => {
            let (s, _) = l.accept()?;
            Ok((Conn::Unix(s), true))
        }
    }
}

fn set_keepalive(fd: i32, secs: i64) {
    if secs <= 0 {
        return;
    }
    let on: libc::c_int = 1;
    let idle = secs as libc::c_int;
    let intvl = (secs / 3).max(1) as libc::c_int;
    let cnt: libc::c_int = 3;
    let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: setsockopt with valid pointers to c_ints of the given size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            &on as *const _ as *const libc::c_void,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPIDLE,
            &idle as *const _ as *const libc::c_void,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            &intvl as *const _ as *const libc::c_void,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPCNT,
            &cnt as *const _ as *const libc::c_void,
            sz,
        );
    }
}

/// Serves other clients while a script runs past busy-reply-threshold
/// (Redis's processEventsWhileBlocked): accepts connections, flushes
/// output and executes input; `commands::execute` replies BUSY to
/// everything but allow-busy commands while `srv.scripting.busy_polling`.
/// Events of clients that are out of their slot (the one running the
/// script) are remembered and handled by the main loop afterwards.
pub fn process_events_while_busy(srv: &mut Server) {
    let Some(io) = srv.io.clone() else {
        return;
    };
    let mut events = Events::with_capacity(256);
    {
        let Ok(mut poll) = io.poll.try_borrow_mut() else {
            return;
        };
        if poll.poll(&mut events, Some(Duration::ZERO)).is_ok() {
            io.push_fired(&events);
        }
    }
    // Every fired event: those the outer loop had not reached when the
    // script started, then the new ones. The master link waits for the
    // main loop (its stream is held while a script is busy). The cluster
    // bus is served (processEventsWhileBlocked's file events): a loading
    // or busy node answers pings, so it is not flagged failing.
    let mut deferred = Vec::new();
    while let Some(ev) = io.pop_fired() {
        let t = ev.token;
        if t == MASTER_LINK_TOKEN || t == RDB_PIPE_TOKEN || t == CHILD_EXIT_TOKEN {
            deferred.push(ev);
            continue;
        }
        if crate::poller::is_cluster_token(t) {
            crate::cluster_bus::event_while_blocked(srv, t, ev.readable, ev.writable);
            continue;
        }
        if t >= LISTENER_BASE {
            accept_all(srv, io.registry(), t - LISTENER_BASE);
            continue;
        }
        let Some(Some(c)) = srv.clients.get_mut(t) else {
            io.missed.borrow_mut().push(t);
            continue;
        };
        if ev.writable {
            c.writable = true;
            if c.pending_output() > 0 && c.write_socket().is_err() {
                srv.to_close.push(t);
            }
        }
        if ev.readable {
            handle_readable(srv, t);
        }
    }
    io.fired.borrow_mut().extend(deferred);
    // Clients with input already buffered (or more to read) get their
    // BUSY replies, and their SCRIPT KILL runs, now as well.
    serve_resumable(srv);
    // Other clients' BUSY replies go out now, not after the script.
    if !srv.to_flush.is_empty() {
        crate::persist::aof::before_sleep(srv);
        handle_pending_writes(srv);
    }
    // Clients that went away are freed now, as Redis's beforeSleep does
    // while blocked (a replica that disconnects stops counting in INFO, so
    // a script waiting for that sees it). A client out of its slot (the
    // one running the script) waits for the main loop.
    if !srv.to_close.is_empty() {
        let (gone, held): (Vec<usize>, Vec<usize>) = std::mem::take(&mut srv.to_close)
            .into_iter()
            .partition(|&t| matches!(srv.clients.get(t), Some(Some(_))));
        srv.to_close = gone;
        close_pending_now(srv);
        srv.to_close.extend(held);
    }
}

/// Runs clients whose input can continue: unblocked or flushed clients,
/// clients that used up their turn's budget, and (unless a pause holds
/// them) clients queued by CLIENT PAUSE.
fn serve_resumable(srv: &mut Server) {
    // One pass over the clients queued so far, taken one at a time so that
    // a busy script's event processing (re-entering here) serves the rest
    // of them too; clients queued again during the pass wait for the next.
    let queued = srv.resume_input.len();
    for _ in 0..queued {
        let Some(t) = srv.resume_input.pop_front() else {
            break;
        };
        let more = matches!(srv.clients.get(t), Some(Some(c)) if c.more_to_read);
        if more {
            handle_readable(srv, t);
        } else {
            process_client_input(srv, t);
        }
    }
    // Retried while a WRITE pause lasts too: queued reads may run.
    if !srv.pending_input.is_empty() && !srv.paused_for(false) {
        let pending = std::mem::take(&mut srv.pending_input);
        for t in pending {
            process_client_input(srv, t);
        }
    }
}

/// Runs until SHUTDOWN or a signal. Returns the process exit code.
/// Sets up the poller with the listening sockets, before the data is
/// loaded: a startup load serves clients (`process_events_while_loading`).
pub fn init(srv: &mut Server, listeners: Vec<Listener>) -> io::Result<()> {
    install_signal_handlers();
    let poll = Poll::new()?;
    srv.listeners = listeners;
    register_listeners(srv, poll.registry());
    srv.io = Some(Rc::new(crate::poller::LoopIo::new(poll)?));
    crate::cluster_bus::register(srv);
    srv.process_events_while_loading = Some(process_events_while_loading);
    srv.process_events_while_busy = Some(process_events_while_busy);
    srv.free_client_now = Some(free_client_now);
    Ok(())
}

/// While the startup load runs (Redis's processEventsWhileBlocked from
/// rdbLoadProgressCallback): clients are served, with -LOADING for the
/// commands not allowed then; a SIGTERM shuts down without saving.
fn process_events_while_loading(srv: &mut Server) {
    crate::commands::shutdown::while_loading(srv);
    process_events_while_busy(srv);
    close_pending_now(srv);
}

/// Closes the clients queued for closing (outside the main loop).
fn close_pending_now(srv: &mut Server) {
    let Some(io) = srv.io.clone() else {
        return;
    };
    close_pending(srv, io.registry());
}

/// The main loop, after `init` and the data load.
pub fn run(mut srv: Server) -> io::Result<i32> {
    let Some(io) = srv.io.clone() else {
        return Err(io::Error::other("event loop not initialised"));
    };
    // `replicaof` in the config: start connecting to the master.
    crate::replication::replica::configure_from_config(&mut srv);
    let mut events = Events::with_capacity(1024);
    let mut next_cron = Instant::now();
    let mut busy_last = false;
    if srv.config.port != 0 || srv.config.tls_port != 0 {
        info!("Ready to accept connections");
    }
    if let Some(path) = Some(&srv.config.unixsocket).filter(|p| !p.is_empty()) {
        info!("The server is now ready to accept connections at {}", path);
    }
    crate::supervise::notify_ready(srv.repl.is_replica());

    loop {
        if srv.listeners_changed {
            register_listeners(&mut srv, io.registry());
        }
        let now = Instant::now();
        let mut timeout = next_cron.saturating_duration_since(now);
        if !srv.resume_input.is_empty()
            || srv.eviction_scheduled
            || crate::persist::snapshot::wants_step(&srv)
        {
            timeout = Duration::ZERO;
        } else if srv.snapshot.is_some() {
            // A fork-less snapshot waits for its writer (a full queue, or
            // the end): look again soon.
            timeout = timeout.min(Duration::from_millis(1));
        }
        if let Some(deadline) = blocking::next_deadline(&srv) {
            let wait = (deadline - clock::wall_ms()).max(0) as u64;
            timeout = timeout.min(Duration::from_millis(wait));
        }
        if let Some(deadline) = crate::replication::master::next_deadline(&srv) {
            let wait = (deadline - clock::wall_ms()).max(0) as u64;
            timeout = timeout.min(Duration::from_millis(wait));
        }
        if !srv.repl.replicas.is_empty() && crate::replication::master::bulk_in_progress(&srv) {
            timeout = Duration::ZERO;
        }
        // Under load, look for more work briefly before sleeping: a server
        // that goes idle between batches makes each client's next send pay
        // for waking it up (measured: the benchmark client's CPU, not ours,
        // is the bottleneck at -P 16 on two cores).
        let spin_until = busy_last.then(|| Instant::now() + SPIN_TIME);
        let polled = loop {
            let spinning = spin_until.is_some_and(|u| Instant::now() < u);
            let t = if spinning { Duration::ZERO } else { timeout };
            let r = io.poll.borrow_mut().poll(&mut events, Some(t));
            if !spinning || r.is_err() || !events.is_empty() {
                break r;
            }
        };
        busy_last = !events.is_empty();
        if let Err(e) = polled {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        io.push_fired(&events);
        while let Some(ev) = io.pop_fired() {
            let t = ev.token;
            if t == MASTER_LINK_TOKEN {
                crate::replication::replica::link_event(&mut srv);
                continue;
            }
            if t == RDB_PIPE_TOKEN {
                crate::replication::diskless::pipe_readable(&mut srv);
                continue;
            }
            if t == CHILD_EXIT_TOKEN {
                crate::persist::child::exit_event(&mut srv);
                continue;
            }
            if crate::poller::is_cluster_token(t) {
                crate::cluster_bus::event(&mut srv, t, ev.readable, ev.writable);
                continue;
            }
            if t >= LISTENER_BASE {
                accept_all(&mut srv, io.registry(), t - LISTENER_BASE);
                continue;
            }
            if ev.writable {
                let mut replica = false;
                if let Some(Some(c)) = srv.clients.get_mut(t) {
                    c.writable = true;
                    replica = c.repl.is_some();
                    // TLS: handshake bytes or a reply's tail may wait too.
                    let tls_pending =
                        |c: &Client| c.sock.as_ref().is_some_and(|s| s.tls_wants_write());
                    if (c.pending_output() > 0 || tls_pending(c))
                        && (c.write_socket().is_err()
                            || (c.close_after_reply
                                && c.pending_output() == 0
                                && !tls_unfinished(c)))
                    {
                        srv.to_close.push(t);
                    }
                }
                if replica {
                    // A replica receiving its RDB: send the next chunk.
                    crate::replication::master::pump(&mut srv, t);
                }
            }
            if ev.readable {
                handle_readable(&mut srv, t);
            }
        }
        // Sockets whose events a busy script's event processing consumed
        // while their client was executing (see process_events_while_busy).
        let missed = std::mem::take(&mut *io.missed.borrow_mut());
        for t in missed {
            handle_readable(&mut srv, t);
        }
        // Clients whose input can run again (unblocked, flushed, out of
        // budget last turn, paused).
        serve_resumable(&mut srv);
        // evictionTimeProc: eviction that a command scheduled.
        if srv.eviction_scheduled {
            srv.eviction_scheduled = false;
            crate::evict::perform_evictions(&mut srv);
        }
        // Keys the cron's active expiry or eviction deleted (beforeSleep's
        // handleClientsBlockedOnKeys).
        if blocking::has_pending_signals(&srv) {
            let served = blocking::serve_ready_keys(&mut srv);
            srv.to_flush.extend(served);
        }
        if !srv.block_deadlines.is_empty() {
            let done = blocking::expire_timeouts(&mut srv);
            srv.to_flush.extend(done);
        }
        if !srv.tracking.prefixes.is_empty() {
            crate::tracking::broadcast_pending(&mut srv);
        }
        // A fork-less BGSAVE's share of this turn.
        if srv.snapshot.is_some() {
            crate::persist::snapshot::step(&mut srv);
        }
        // The AOF is written before any reply leaves (beforeSleep).
        crate::persist::aof::before_sleep(&mut srv);
        crate::replication::before_sleep(&mut srv);
        if srv.cluster.is_some() {
            crate::cluster_bus::before_sleep(&mut srv);
        }
        if !srv.to_flush.is_empty() {
            handle_pending_writes(&mut srv);
        }
        if !srv.monitors.is_empty() {
            flush_monitors(&mut srv);
        }
        // Disconnect clients if they use too much memory (beforeSleep's
        // evictClients).
        if srv.client_mem.over_limit() {
            crate::client_mem::evict_clients(&mut srv, None);
        }
        close_pending(&mut srv, io.registry());

        if Instant::now() >= next_cron {
            // DEBUG PAUSE-CRON stops all of it, as serverCron returns early.
            // A signalled shutdown is also handled there (SHUTDOWN ABORT
            // can cancel it meanwhile).
            if !srv.pause_cron {
                srv.cron();
                crate::persist::rdb_server::cron(&mut srv);
                crate::persist::aof::cron(&mut srv);
                crate::replication::cron(&mut srv);
                clients_cron(&mut srv);
                if srv.cluster.is_some() {
                    crate::cluster_bus::cron(&mut srv);
                    let done = crate::cluster::route::redirect_blocked_clients(&mut srv);
                    srv.to_flush.extend(done);
                }
                if !srv.scripting.ldb_children.is_empty() {
                    crate::scripting::ldb::reap_children(&mut srv);
                }
                // A signalled shutdown starts here, and one waiting for
                // replicas finishes here (the process exits).
                crate::commands::shutdown::cron(&mut srv);
            }
            close_pending(&mut srv, io.registry());
            next_cron = Instant::now() + Duration::from_millis(1000 / srv.hz.max(1) as u64);
        }
    }
}

fn accept_all(srv: &mut Server, reg: &mio::Registry, listener: usize) {
    loop {
        let Some(l) = srv.listeners.get(listener) else {
            return;
        };
        let tls = if l.is_tls() {
            srv.tls.server_config(srv.config.tls_auth_clients)
        } else {
            None
        };
        let (sock, local) = match accept_one(l, tls) {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if l.is_tls() => {
                // This connection only (the next may be accepted).
                warn!("Error accepting a client connection: {}", e);
                continue;
            }
            Err(e) => {
                warn!("Accepting client connection: {}", e);
                return;
            }
        };
        srv.stats.connections_received += 1;
        // Protected mode: the refusal text, then close. On a TLS
        // connection it can only go out once the handshake is done, so the
        // client is created with the text as its reply (Redis refuses in
        // clientAcceptHandler, after the handshake, too).
        let mut deny_after_handshake = false;
        if srv.acl.user(0).is_some_and(|d| d.nopass) && srv.config.protected_mode && !local {
            if !matches!(sock, Conn::Tls(_)) {
                use std::io::Write;
                let mut s = sock;
                let _ = s.write(crate::error::PROTECTED_MODE_DENIED.as_bytes());
                continue;
            }
            deny_after_handshake = true;
        }
        if srv.nclients >= srv.config.maxclients {
            use std::io::Write;
            let mut s = sock;
            let _ = s.write(format!("-{}\r\n", crate::error::MAX_CLIENTS).as_bytes());
            srv.stats.rejected_connections += 1;
            continue;
        }
        let slot = match srv.free_slots.pop() {
            Some(s) => s,
            None => {
                srv.clients.push(None);
                srv.clients.len() - 1
            }
        };
        let mut c = Client::new(
            srv.next_client_id,
            slot,
            sock,
            clock::wall_ms(),
            !srv.acl.auth_required(),
        );
        if !c.is_unix {
            set_keepalive(c.fd, srv.config.tcp_keepalive);
        }
        if deny_after_handshake {
            c.out.raw(crate::error::PROTECTED_MODE_DENIED.as_bytes());
            c.close_after_reply = true;
        }
        srv.next_client_id += 1;
        let Some(sock) = c.sock.as_mut() else {
            continue;
        };
        if let Err(e) = reg.register(sock, Token(slot), Interest::READABLE | Interest::WRITABLE) {
            warn!("Error registering fd event for the new client: {}", e);
            srv.free_slots.push(slot);
            continue;
        }
        srv.client_tokens.insert(c.id, slot);
        if srv.client_mem.enabled {
            crate::client_mem::update(&mut srv.client_mem, &mut c, 0);
        }
        srv.clients[slot] = Some(Box::new(c));
        srv.nclients += 1;
    }
}

/// TLS still holds bytes for the client, or its handshake (which a reply
/// written now waits for) is not done: a client closing after its reply
/// is closed only once this is false.
fn tls_unfinished(c: &Client) -> bool {
    c.sock
        .as_ref()
        .is_some_and(|s| s.tls_wants_write() || s.tls_handshaking())
}

fn handle_readable(srv: &mut Server, t: usize) {
    let limit = srv.config.client_query_buffer_limit;
    let Some(Some(c)) = srv.clients.get_mut(t) else {
        return;
    };
    let handshaking = c.sock.as_ref().is_some_and(|s| s.tls_handshaking());
    if c.close_asap || (c.close_after_reply && !handshaking) {
        // Input after a protocol error or QUIT is ignored (Redis's
        // CLIENT_CLOSE_AFTER_REPLY); a TLS handshake still runs, so that
        // a reply waiting for it (a refusal) can go out.
        return;
    }
    match c.read_socket(limit) {
        Ok(ReadOutcome::Drained) => c.more_to_read = false,
        Ok(ReadOutcome::More) => c.more_to_read = true,
        Ok(ReadOutcome::Eof) => {
            // EOF: still execute what arrived (a client may send QUIT-less
            // commands and close its write side), then close. What is
            // buffered is at most about two turns' worth (read budget).
            c.more_to_read = false;
            loop {
                let before = srv.clients[t].as_ref().map(|c| c.pending_input());
                process_client_input(srv, t);
                let after = srv.clients[t].as_ref().map(|c| c.pending_input());
                if after.is_none_or(|n| n == 0) || after == before {
                    break;
                }
            }
            // Closing from now on (a master link shows down at once).
            if let Some(Some(c)) = srv.clients.get_mut(t) {
                c.close_asap = true;
            }
            srv.to_close.push(t);
            return;
        }
        Err(e) => {
            if e.to_string() == "query buffer limit" {
                warn!(
                    "Closing client that reached max query buffer length (qbuf initial bytes: ...)"
                );
                srv.stats.client_qbuf_limit_disconnections += 1;
            }
            srv.to_close.push(t);
            return;
        }
    }
    srv.stats.io_reads += 1;
    process_client_input(srv, t);
    if let Some(Some(c)) = srv.clients.get(t) {
        if c.more_to_read && !c.close_asap && !srv.resume_input.contains(&t) {
            srv.resume_input.push_back(t);
        }
    }
}

/// Parses and executes every complete command in the client's buffer, then
/// flushes the replies with one write.
pub fn process_client_input(srv: &mut Server, t: usize) {
    let Some(slot) = srv.clients.get_mut(t) else {
        return;
    };
    let Some(mut c) = slot.take() else {
        return;
    };
    let mut qbuf = std::mem::take(&mut c.qbuf);
    c.qbuf_held = qbuf.len();
    let mut argv = std::mem::take(&mut c.argv);
    let mut inline = std::mem::take(&mut c.inline_args);
    let mut queued_for_later = false;
    // This turn's share: at most CMD_BUDGET commands / READ_BUDGET bytes.
    let mut executed = 0usize;
    let turn_start = c.qstart;
    let mut out_of_budget = false;
    let mut turn_clock: Option<Instant> = None;

    while c.qstart < c.qend && !c.close_after_reply && !c.close_asap && c.blocked.is_none() {
        if executed >= CMD_BUDGET || c.qstart - turn_start >= READ_BUDGET {
            out_of_budget = true;
            break;
        }
        // And about a millisecond of work, checked every 32 commands (the
        // clock is read only by clients that pipeline that deep).
        if executed > 0 && executed.is_multiple_of(32) {
            match turn_clock {
                None => turn_clock = Some(Instant::now()),
                Some(t0) if t0.elapsed() >= TURN_TIME => {
                    out_of_budget = true;
                    break;
                }
                Some(_) => {}
            }
        }
        if c.is_master && srv.scripting.busy_polling {
            // A busy script: the master's stream waits (not -BUSY), as in
            // Redis; replication::before_sleep resumes it afterwards.
            srv.repl.master_input_held = true;
            break;
        }
        let cmd_start = c.qstart;
        let limits = ParseLimits {
            proto_max_bulk_len: srv.config.proto_max_bulk_len,
            authenticated: c.authenticated,
        };
        let parsed = parse::parse_command(
            &qbuf[..c.qend],
            c.qstart,
            &mut c.parse,
            &mut argv,
            &mut inline,
            limits,
        );
        match parsed {
            Parsed::Command { next, source } => {
                c.qstart = next;
                if argv.is_empty() {
                    continue;
                }
                executed += 1;
                let buf: &[u8] = if source == ArgSource::Query {
                    &qbuf
                } else {
                    &inline
                };
                let args = Args::new(buf, &argv);
                if c.is_master {
                    // The master's stream: replies dropped, offset tracked.
                    crate::replication::replica::before_master_command(srv, &mut c);
                    let out_before = c.out.buf.len();
                    commands::execute(srv, &mut c, &args);
                    if c.held_by_pause {
                        crate::replication::replica::after_held_master_command(srv);
                        hold_for_pause(srv, &mut c, cmd_start);
                        queued_for_later = true;
                        break;
                    }
                    let next = c.qstart;
                    crate::replication::replica::after_master_command(
                        srv,
                        &mut c,
                        &qbuf[cmd_start..next],
                        out_before,
                    );
                } else {
                    let off = srv.repl.offset;
                    let replica = crate::replication::is_replica_client(&c);
                    let out_before = c.out.buf.len();
                    commands::execute(srv, &mut c, &args);
                    if c.held_by_pause {
                        hold_for_pause(srv, &mut c, cmd_start);
                        queued_for_later = true;
                        break;
                    }
                    if replica && c.out.buf.len() > out_before {
                        replica_replied(srv, &mut c, out_before);
                    }
                    if srv.repl.offset != off {
                        // What WAIT waits for (call()'s c->woff).
                        c.woff = srv.repl.offset;
                    }
                }
                if c.paused {
                    c.paused = false;
                    srv.paused_clients -= 1;
                }
                // The client's memory after its command, for client
                // eviction.
                if srv.client_mem.enabled {
                    account_after_command(srv, &mut c, qbuf.len());
                }
                // Not while a busy script or the startup load serves events
                // (Redis's isInsideYieldingLongCommand): the keys the script
                // signalled are served when it returns.
                if blocking::has_pending_signals(srv)
                    && !srv.scripting.busy_polling
                    && !srv.loading_events
                {
                    let served = blocking::serve_ready_keys(srv);
                    srv.to_flush.extend(served);
                }
                if c.is_monitor && !srv.monitors.contains(&t) {
                    srv.monitors.push(t);
                }
            }
            Parsed::Incomplete { need } => {
                if need >= parse::MBULK_BIG_ARG {
                    c.qbuf_big = true;
                    c.qbuf = std::mem::take(&mut qbuf);
                    c.reserve_query(need);
                    qbuf = std::mem::take(&mut c.qbuf);
                    c.qbuf_held = qbuf.len();
                }
                break;
            }
            Parsed::Error(e) => {
                protocol_error(srv, &mut c, &e);
                // The half-parsed command is dropped with the input: no
                // parse state may point into bytes that are gone.
                c.parse = Default::default();
                argv.clear();
                break;
            }
        }
    }
    c.qbuf = qbuf;
    c.qbuf_held = 0;
    c.argv = argv;
    c.inline_args = inline;
    if c.qstart == c.qend && !c.parse.in_progress() {
        c.qstart = 0;
        c.qend = 0;
        // A buffer grown for a big argument stays, as the fresh buffer of
        // the argument's size Redis allocates after handing the old one to
        // argv; the clients cron trims it to the recent peak.
        c.qbuf_big = false;
    }
    // Input that is still arriving (a big argument) counts too.
    if srv.client_mem.enabled {
        let q = c.qbuf.len();
        crate::client_mem::update(&mut srv.client_mem, &mut c, q);
    }
    if queued_for_later && !srv.pending_input.contains(&t) {
        srv.pending_input.push(t);
    }
    c.input_backlog = out_of_budget;
    if out_of_budget && !srv.resume_input.contains(&t) {
        srv.resume_input.push_back(t);
    }
    // Replies are written after every ready client has been processed
    // (Redis's handleClientsWithPendingWrites in beforeSleep), so replies to
    // many clients leave in one burst and their readers wake up once.
    let mut close = c.close_asap;
    if !close && c.pending_output() > 0 {
        if check_output_limit(srv, &mut c) {
            close = true;
        } else if !c.write_queued {
            c.write_queued = true;
            srv.to_flush.push(t);
        }
    } else if c.close_after_reply && c.pending_output() == 0 && !tls_unfinished(&c) {
        close = true;
    }
    if close {
        srv.to_close.push(t);
    }
    srv.clients[t] = Some(c);
}

/// Client memory after a command (output grown, MULTI queue,
/// subscriptions...), with client eviction on. A client over its output
/// buffer limit is closed first and no longer counts (the limit takes
/// precedence over eviction).
#[cold]
#[inline(never)]
fn account_after_command(srv: &mut Server, c: &mut Client, qbuf_len: usize) {
    if c.pending_output() > 0 && check_output_limit(srv, c) {
        c.close_asap = true;
    }
    crate::client_mem::update(&mut srv.client_mem, c, qbuf_len);
}

/// Does the current CLIENT PAUSE hold back this command? PAUSE WRITE holds
/// commands that write or may replicate; PAUSE ALL holds everything.
/// CLIENT PAUSE held the command starting at `cmd_start`: it stays queued
/// (parsed again once the pause ends) and the client counts as blocked.
/// A replica's command produced a reply, which would corrupt its stream
/// (_addReplyToBufferOrList): the reply is dropped and the replica
/// disconnected. REPLCONF is exempt (an ACK can release the stream).
fn replica_replied(srv: &mut Server, c: &mut Client, out_before: usize) {
    let entry = c.last_cmd.and_then(|i| srv.commands.entries.get(i));
    if entry.is_some_and(|e| e.spec.facts & crate::cmdtable::fact::REPLICA_MAY_REPLY != 0) {
        return;
    }
    let name = entry.map_or("<unknown>".to_string(), |e| e.fullname.to_string());
    let reply = &c.out.buf[out_before..];
    if reply.first() == Some(&b'-') {
        let end = reply
            .iter()
            .position(|&b| b == b'\r')
            .unwrap_or(reply.len());
        let msg = String::from_utf8_lossy(&reply[1..end.max(1)]).into_owned();
        let msg = msg.strip_prefix("ERR ").unwrap_or(&msg).to_string();
        warn!(
            "== CRITICAL == This master is sending an error to its replica: '{}' after processing the command '{}'",
            msg, name
        );
        srv.stats.unexpected_error_replies += 1;
    }
    c.out.buf.truncate(out_before);
    let mut info = Vec::new();
    crate::client_info::cat_client_info(&mut info, srv, c, clock::wall_ms(), None);
    warn!(
        "Replica generated a reply to command '{}', disconnecting it: {}",
        name,
        String::from_utf8_lossy(&info)
    );
    c.close_asap = true;
    srv.to_close.push(c.token);
}

fn hold_for_pause(srv: &mut Server, c: &mut Client, cmd_start: usize) {
    c.held_by_pause = false;
    c.qstart = cmd_start;
    if !c.paused {
        c.paused = true;
        srv.paused_clients += 1;
    }
}

/// Reply to a protocol error and close after the reply, as Redis does.
fn protocol_error(srv: &mut Server, c: &mut Client, e: &CmdError) {
    let msg = e.message();
    tracing::debug!(
        "Protocol error ({}) from client: id={} addr={}",
        msg,
        c.id,
        c.addr
    );
    c.out.error(e);
    srv.stats.total_error_replies += 1;
    srv.stats.error_watermark = srv.stats.total_error_replies;
    *srv.stats.errorstats.entry("ERR".to_string()).or_default() += 1;
    c.close_after_reply = true;
    c.qstart = c.qend;
}

/// client-output-buffer-limit for the client that just ran commands:
/// true = disconnect.
fn check_output_limit(srv: &mut Server, c: &mut Client) -> bool {
    // An unauthenticated client gets 1 KiB of replies it does not read
    // (Redis's fix for CVE-2025-21605).
    let unauth_over = c.pending_output() > 1024 && !c.authenticated && srv.acl.auth_required();
    if unauth_over || crate::client_mem::obuf_limit_reached(&srv.config, c, clock::wall_ms()) {
        warn!("Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.", c.id, c.addr);
        srv.stats.client_outbuf_limit_disconnections += 1;
        return true;
    }
    false
}

/// Writes every client with pending output (its own replies, Pub/Sub
/// messages, unblocked replies, invalidations) with one write each, and
/// resumes clients that still have queued input.
fn handle_pending_writes(srv: &mut Server) {
    let tokens = std::mem::take(&mut srv.to_flush);
    for t in tokens {
        let Some(Some(c)) = srv.clients.get_mut(t) else {
            continue;
        };
        c.write_queued = false;
        if c.close_asap {
            continue;
        }
        if c.pending_output() > 0 {
            srv.stats.io_writes += 1;
            match c.write_socket() {
                Ok(done) => {
                    if done && c.close_after_reply && !tls_unfinished(c) {
                        srv.to_close.push(t);
                        continue;
                    }
                }
                Err(_) => {
                    srv.to_close.push(t);
                    continue;
                }
            }
            // What is still pending counts (output from other clients'
            // commands: messages, invalidations, unblocked replies).
            if srv.client_mem.enabled {
                let q = c.qbuf.len();
                crate::client_mem::update(&mut srv.client_mem, c, q);
            }
        } else if c.close_after_reply && !tls_unfinished(c) {
            srv.to_close.push(t);
            continue;
        }
        if c.pending_input() > 0
            && c.blocked.is_none()
            && !c.close_after_reply
            && !srv.pending_input.contains(&t)
            && !srv.resume_input.contains(&t)
        {
            srv.resume_input.push_back(t);
        }
    }
}

fn close_pending(srv: &mut Server, reg: &mio::Registry) {
    while let Some(t) = srv.to_close.pop() {
        close_one(srv, reg, t);
    }
}

/// Frees the client in slot `t` right away (client eviction), logging
/// `reason` with its CLIENT LIST line as Redis does.
fn free_client_now(srv: &mut Server, t: usize, reason: &str) {
    if let Some(Some(c)) = srv.clients.get(t) {
        let mut line = Vec::new();
        crate::client_info::cat_client_info(&mut line, srv, c, clock::wall_ms(), None);
        info!("{}: {}", reason, String::from_utf8_lossy(&line));
    }
    let Some(io) = srv.io.clone() else {
        srv.to_close.push(t);
        return;
    };
    close_one(srv, io.registry(), t);
}

/// Frees one client: its subscriptions, watches, blocking and tracking
/// state, its memory accounting and its socket.
fn close_one(srv: &mut Server, reg: &mio::Registry, t: usize) {
    {
        if let Some(slot) = srv.clients.get_mut(t) {
            if let Some(mut c) = slot.take() {
                crate::client_mem::forget(&mut srv.client_mem, &mut c);
                crate::replication::client_closed(srv, &mut c, t);
                blocking::unblock(srv, &mut c);
                crate::multi::unwatch_all(srv, &mut c);
                crate::pubsub::unsubscribe_all(srv, &mut c);
                crate::tracking::disable(srv, &mut c);
                if c.paused {
                    srv.paused_clients -= 1;
                }
                srv.client_tokens.remove(&c.id);
                if let Some(sock) = c.sock.as_mut() {
                    sock.close_notify();
                    let _ = reg.deregister(sock);
                }
                srv.stats.net_input_closed += c.total_net_in;
                srv.stats.net_output_closed += c.total_net_out;
                srv.nclients -= 1;
                srv.free_slots.push(t);
                srv.monitors.retain(|&m| m != t);
                srv.pending_input.retain(|&m| m != t);
                srv.resume_input.retain(|&m| m != t);
            }
        }
    }
}

/// Per-client housekeeping: idle timeouts, output flushing for clients that
/// got output from others (MONITOR), query buffer shrinking.
fn clients_cron(srv: &mut Server) {
    let now = clock::wall_ms();
    let timeout_ms = srv.config.timeout_secs * 1000;
    let mut to_close = Vec::new();
    let (resizing, peak_reset) = (srv.reply_buffer_resizing, srv.reply_buffer_peak_reset_ms);
    let (mut shrinks, mut expands) = (0, 0);
    for (t, slot) in srv.clients.iter_mut().enumerate() {
        let Some(c) = slot.as_deref_mut() else {
            continue;
        };
        if c.close_asap {
            to_close.push(t);
            continue;
        }
        if timeout_ms > 0
            && !c.is_monitor
            && !c.is_master
            && c.repl.is_none()
            && now - c.last_interaction_ms > timeout_ms
        {
            tracing::debug!("Closing idle client");
            to_close.push(t);
            continue;
        }
        if c.pending_output() > 0 && c.writable && c.write_socket().is_err() {
            to_close.push(t);
            continue;
        }
        // A soft output buffer limit also expires with no new output
        // (closeClientOnOutputBufferLimitReached from clientsCron).
        if c.pending_output() > 0 && crate::client_mem::obuf_limit_reached(&srv.config, c, now) {
            warn!(
                "Client id={} addr={} closed for overcoming of output buffer limits.",
                c.id, c.addr
            );
            srv.stats.client_outbuf_limit_disconnections += 1;
            c.close_asap = true;
            to_close.push(t);
            continue;
        }
        c.resize_query_buffer(now);
        // The argument ranges of a huge command are not kept either.
        if !c.parse.in_progress() && c.argv.capacity() > 1024 && c.argv.len() < 1024 {
            c.argv = Vec::new();
        }
        if resizing {
            match c.resize_reply_buffer(now, peak_reset) {
                Some(true) => shrinks += 1,
                Some(false) => expands += 1,
                None => {}
            }
        }
        if srv.client_mem.enabled {
            let q = c.qbuf.len();
            crate::client_mem::update(&mut srv.client_mem, c, q);
        }
    }
    srv.stats.reply_buffer_shrinks += shrinks;
    srv.stats.reply_buffer_expands += expands;
    srv.to_close.extend(to_close);
    crate::client_mem::evict_clients(srv, None);
}

/// Flushes output of clients that received data produced by others (e.g.
/// MONITOR feeds). Called after each command batch.
pub fn flush_monitors(srv: &mut Server) {
    let tokens = srv.monitors.clone();
    for t in tokens {
        if let Some(Some(c)) = srv.clients.get_mut(t) {
            if c.pending_output() > 0 && c.write_socket().is_err() {
                srv.to_close.push(t);
            }
        }
    }
}
