//! The replica side of replication (Redis's replicaofCommand,
//! connectWithMaster / syncWithMaster, readSyncBulkPayload, the master
//! client and replicationSendAck).
//!
//! The link to the master is a non-blocking socket registered with the
//! event loop under `poller::MASTER_LINK_TOKEN` while the handshake
//! (PING, AUTH, REPLCONF listening-port, REPLCONF capa, PSYNC) and the RDB
//! transfer run. Once synchronized, the socket becomes a regular client
//! flagged `is_master`: the event loop parses and executes its stream like
//! any client's, and `after_master_command` discards the replies, tracks
//! the applied offset and proxies the applied bytes to our own backlog
//! and sub-replicas. With `tls-replication yes` the link is a TLS
//! stream (`crate::tls`) from the connect on; its handshake runs inside
//! the link's reads and writable events.

use crate::client::{Client, Conn};
use crate::clock;
use crate::db::ExpireMode;
use crate::error::{self, CmdError, CmdResult};
use crate::persist::rdb;
use crate::poller::{self, LoopIo};
use crate::protocol::args::Args;
use crate::server::Server;
use mio::{Interest, Token};
use std::io::{self, Read, Write};
use std::net::ToSocketAddrs;
use std::rc::Rc;
use tracing::{info, warn};

/// Where the link to the master is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LState {
    /// Must (re)connect.
    Connect,
    /// Non-blocking connect in progress.
    Connecting,
    ReceivePong,
    ReceiveAuth,
    ReceivePort,
    ReceiveCapa,
    ReceivePsync,
    /// Receiving the RDB payload.
    Transfer,
    /// Synchronized: the master client streams commands.
    Connected,
}

enum Expect {
    Len(u64),
    Eof([u8; 40]),
}

/// The temp file the master's RDB is received into (removed unless the
/// sync completes and renames it).
struct Sink {
    file: std::io::BufWriter<std::fs::File>,
    path: Option<std::path::PathBuf>,
    written: u64,
    /// With an EOF mark: the last bytes, which may be (part of) the mark.
    tail: Vec<u8>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The link to our master.
pub struct Link {
    pub host: String,
    pub port: u16,
    pub state: LState,
    sock: Option<Conn>,
    pub(super) buf: Vec<u8>,
    sink: Option<Sink>,
    expect: Option<Expect>,
    pub last_io_ms: i64,
    /// Unix ms the link went down (0 = never up).
    pub down_since_ms: i64,
    master_replid: String,
    master_offset: i64,
    /// Client id of the master client once connected.
    pub master_client: Option<u64>,
    /// Stream bytes executed but not yet applied (inside MULTI).
    applied: Vec<u8>,
    /// The db the master's stream was in when the link dropped (Redis's
    /// cached master's db): a partial resync continues there.
    pub cached_db: usize,
    /// Our replid/offset describe the master's history (PSYNC can use
    /// them); false after a failed full sync emptied the dataset.
    psync_ok: bool,
    next_connect_ms: i64,
}

impl Link {
    fn new(host: String, port: u16) -> Link {
        Link {
            host,
            port,
            state: LState::Connect,
            sock: None,
            buf: Vec::new(),
            sink: None,
            expect: None,
            last_io_ms: clock::wall_ms(),
            down_since_ms: 0,
            master_replid: String::new(),
            master_offset: -1,
            master_client: None,
            applied: Vec::new(),
            cached_db: 0,
            psync_ok: true,
            next_connect_ms: 0,
        }
    }

    pub fn connected(&self) -> bool {
        self.state == LState::Connected
    }

    /// Our data is the master's history up to our offset (Redis has a
    /// master or cached master client): false while a full sync replaces
    /// the data, or after one failed.
    pub fn has_master_history(&self) -> bool {
        self.psync_ok
    }

    pub fn sync_in_progress(&self) -> bool {
        self.state == LState::Transfer
    }

    /// ROLE's state name.
    pub fn role_state(&self) -> &'static str {
        match self.state {
            LState::Connect => "connect",
            LState::Connecting => "connecting",
            LState::Transfer => "sync",
            LState::Connected => "connected",
            _ => "handshake",
        }
    }

    /// Bytes read from the master but not applied yet.
    pub fn unapplied(&self) -> i64 {
        self.applied.len() as i64
    }

    pub fn transfer_size(&self) -> i64 {
        match self.expect {
            Some(Expect::Len(n)) => n as i64,
            _ => -1,
        }
    }

    /// Takes the link socket out of the event loop (a diskless load reads
    /// it blocking).
    pub(super) fn take_sock(&mut self, io: &Option<Rc<LoopIo>>) -> Option<Conn> {
        let mut s = self.sock.take()?;
        poller::with_registry(io, |r| {
            let _ = r.deregister(&mut s);
        });
        Some(s)
    }

    /// Gives the socket back after a diskless load, with the bytes read
    /// past the RDB.
    pub(super) fn restore_sock(&mut self, io: &Option<Rc<LoopIo>>, mut s: Conn, rest: Vec<u8>) {
        let reg = poller::with_registry(io, |r| {
            r.register(
                &mut s,
                Token(poller::MASTER_LINK_TOKEN),
                Interest::READABLE | Interest::WRITABLE,
            )
        });
        if let Some(Err(e)) = reg {
            warn!("Error registering the master link: {}", e);
        }
        self.sock = Some(s);
        self.buf = rest;
    }

    /// The payload announced: its EOF mark, or its length.
    pub(super) fn expected(&self) -> (Option<[u8; 40]>, Option<u64>) {
        match self.expect {
            Some(Expect::Eof(m)) => (Some(m), None),
            Some(Expect::Len(n)) => (None, Some(n)),
            None => (None, None),
        }
    }

    /// The replication id +FULLRESYNC announced.
    pub(super) fn master_replid(&self) -> &str {
        &self.master_replid
    }

    pub fn transfer_read(&self) -> i64 {
        self.sink
            .as_ref()
            .map_or(0, |k| (k.written + k.tail.len() as u64) as i64)
    }
}

/// REPLICAOF host port | REPLICAOF NO ONE (also SLAVEOF).
pub fn replicaof_command(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if srv.cluster.is_some() {
        return Err(CmdError::Static(error::CLUSTER_REPLICAOF));
    }
    if srv.repl.failover.active() {
        return Err(CmdError::Static(error::REPLICAOF_WHILE_FAILING_OVER));
    }
    if a.is(1, "no") && a.is(2, "one") {
        if srv.repl.link.is_some() {
            unset_master(srv);
            info!(
                "MASTER MODE enabled (user request from 'id={} addr={} laddr={}')",
                c.id, c.addr, c.laddr
            );
        }
        c.out.ok();
        return Ok(());
    }
    if c.is_master {
        return Err(CmdError::Static(error::REPLICAOF_FROM_MASTER));
    }
    let port = crate::util::num::parse_i64(a.get(2))
        .filter(|p| (0..=65535).contains(p))
        .ok_or(CmdError::Static(error::INVALID_MASTER_PORT))?;
    let host = String::from_utf8_lossy(a.get(1)).into_owned();
    if let Some(l) = srv.repl.link.as_ref() {
        if l.host.eq_ignore_ascii_case(&host) && l.port as i64 == port {
            info!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            c.out.simple("OK Already connected to specified master");
            return Ok(());
        }
    }
    set_master(srv, host.clone(), port as u16);
    info!(
        "REPLICAOF {}:{} enabled (user request from 'id={} addr={} laddr={}')",
        host, port, c.id, c.addr, c.laddr
    );
    c.out.ok();
    Ok(())
}

/// The `replicaof` directive at startup.
pub fn configure_from_config(srv: &mut Server) {
    if let Some((h, port)) = srv.config.replicaof.clone() {
        set_master(srv, h, port);
    }
}

/// The db the master client is in, when connected.
pub fn master_client_db(srv: &Server, l: &Link) -> Option<usize> {
    let id = l.master_client?;
    let &t = srv.client_tokens.get(&id)?;
    srv.clients.get(t)?.as_deref().map(|c| c.db)
}

/// Drops the master client (without treating it as a lost link).
fn drop_master_client(srv: &mut Server, l: &mut Link) {
    if let Some(id) = l.master_client.take() {
        if let Some(&t) = srv.client_tokens.get(&id) {
            if let Some(Some(mc)) = srv.clients.get_mut(t) {
                mc.is_master = false;
                mc.close_asap = true;
                srv.to_close.push(t);
            }
        }
    }
    if let Some(mut s) = l.sock.take() {
        poller::with_registry(&srv.io, |r| {
            let _ = r.deregister(&mut s);
        });
    }
}

/// Closes our replicas' connections so they resync with us (the history
/// they follow changed).
fn disconnect_replicas(srv: &mut Server) {
    for t in srv.repl.replicas.clone() {
        if let Some(Some(c)) = srv.clients.get_mut(t) {
            c.close_asap = true;
            srv.to_close.push(t);
        }
    }
}

pub fn set_master(srv: &mut Server, host: String, port: u16) {
    let mut psync_ok = true;
    // A master continues its own stream as a replica: from its last
    // selected db (replicationCacheMasterUsingMyself).
    let mut cached_db = srv.repl.seldb.unwrap_or(0);
    if let Some(mut old) = srv.repl.link.take() {
        psync_ok = old.psync_ok;
        cached_db = old.cached_db;
        if let Some(db) = master_client_db(srv, &old) {
            cached_db = db;
        }
        drop_master_client(srv, &mut old);
    }
    // Our replicas stay: they may continue with us through PSYNC. They are
    // disconnected when the history changes (a new replication id on
    // +CONTINUE, or the full sync's load).
    let _ = srv
        .config
        .set("replicaof", &format!("{} {}", host, port), true);
    let mut l = Link::new(host, port);
    l.psync_ok = psync_ok;
    l.cached_db = cached_db;
    srv.repl.link = Some(Box::new(l));
    crate::logging::set_replica(true);
    srv.prop.targets &= !crate::propagate::TO_REPL;
    srv.update_db_state(|s| s.expire_mode = ExpireMode::ReportOnly);
    let _ = crate::oom::update(&srv.config);
    connect(srv);
}

/// REPLICAOF NO ONE: we become a master, keeping the old history as
/// replid2 so our replicas can continue with PSYNC.
pub fn unset_master(srv: &mut Server) {
    let Some(mut l) = srv.repl.link.take() else {
        return;
    };
    drop_master_client(srv, &mut l);
    crate::logging::set_replica(false);
    let _ = srv.config.set("replicaof", "", true);
    let _ = crate::oom::update(&srv.config);
    super::replica_expire::forget_all(srv);
    let r = &mut srv.repl;
    r.replid2 = std::mem::replace(&mut r.replid, super::random_replid());
    r.second_offset = r.offset + 1;
    info!(
        "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
        r.replid2, r.second_offset, r.replid
    );
    r.seldb = None;
    disconnect_replicas(srv);
    srv.update_db_state(|s| s.expire_mode = ExpireMode::Delete);
    if srv.repl.backlog.is_some() {
        srv.prop.targets |= crate::propagate::TO_REPL;
    }
}

/// Starts a non-blocking connect to the master.
fn connect(srv: &mut Server) {
    let Some(l) = srv.repl.link.as_mut() else {
        return;
    };
    info!("Connecting to MASTER {}:{}", l.host, l.port);
    let now = clock::wall_ms();
    l.next_connect_ms = now + 1000;
    l.last_io_ms = now;
    let addr = (l.host.as_str(), l.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next());
    let Some(addr) = addr else {
        warn!("Unable to connect to MASTER: can't resolve {}", l.host);
        return;
    };
    let source = srv.config.bind_source_addr.parse::<std::net::IpAddr>().ok();
    let Some(l) = srv.repl.link.as_mut() else {
        return;
    };
    let sock = match crate::listen::connect_from(addr, source) {
        Ok(s) => s,
        Err(e) => {
            warn!("Unable to connect to MASTER: {}", e);
            return;
        }
    };
    let _ = sock.set_nodelay(true);
    // tls-replication: a TLS client from the start (connTLSConnect).
    let mut sock = if srv.config.tls_replication {
        let Some(ctx) = srv.tls.ctx.as_ref() else {
            warn!("Unable to connect to MASTER: TLS is not configured");
            return;
        };
        match crate::tls::TlsStream::client(sock, ctx.client.clone(), &l.host) {
            Ok(t) => Conn::Tls(Box::new(t)),
            Err(e) => {
                warn!("Unable to connect to MASTER: {}", e);
                return;
            }
        }
    } else {
        Conn::Tcp(sock)
    };
    let reg = poller::with_registry(&srv.io, |r| {
        r.register(
            &mut sock,
            Token(poller::MASTER_LINK_TOKEN),
            Interest::READABLE | Interest::WRITABLE,
        )
    });
    if let Some(Err(e)) = reg {
        warn!("Unable to connect to MASTER: {}", e);
        return;
    }
    l.sock = Some(sock);
    l.buf.clear();
    l.sink = None;
    l.expect = None;
    l.state = LState::Connecting;
    info!("MASTER <-> REPLICA sync started");
}

/// The handshake or transfer failed: drop the socket, retry from the cron.
fn cancel(srv: &mut Server) {
    let Some(mut l) = srv.repl.link.take() else {
        return;
    };
    if let Some(mut s) = l.sock.take() {
        poller::with_registry(&srv.io, |r| {
            let _ = r.deregister(&mut s);
        });
    }
    l.state = LState::Connect;
    l.buf.clear();
    l.sink = None;
    l.expect = None;
    srv.repl.link = Some(l);
}

fn send(l: &mut Link, argv: &[&[u8]]) -> io::Result<()> {
    let mut buf = Vec::new();
    crate::propagate::encode_command(&mut buf, argv);
    match l.sock.as_mut() {
        Some(s) => s.write_all(&buf),
        None => Err(io::ErrorKind::NotConnected.into()),
    }
}

/// Readiness on the master link socket (handshake / transfer).
pub fn link_event(srv: &mut Server) {
    let Some(l) = srv.repl.link.as_mut() else {
        return;
    };
    // TLS: handshake records or a command's tail wait for writability.
    if let Some(s) = l.sock.as_mut() {
        if let Err(e) = s.flush_tls() {
            warn!("Error condition on socket for SYNC: {}", e);
            cancel(srv);
            return;
        }
    }
    if l.state == LState::Connecting {
        let Some(s) = l.sock.as_ref().and_then(|s| s.tcp()) else {
            return;
        };
        if let Ok(Some(e)) | Err(e) = s.take_error() {
            warn!("Error condition on socket for SYNC: {}", e);
            cancel(srv);
            return;
        }
        match s.peer_addr() {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
            Err(e) => {
                warn!("Error condition on socket for SYNC: {}", e);
                cancel(srv);
                return;
            }
        }
        info!("Non blocking connect for SYNC fired the event.");
        l.state = LState::ReceivePong;
        l.last_io_ms = clock::wall_ms();
        if send(l, &[b"PING"]).is_err() {
            cancel(srv);
            return;
        }
    }
    if l.state == LState::Connect || l.state == LState::Connected {
        return;
    }
    // Read everything available.
    let mut eof = false;
    let mut tmp = vec![0u8; 64 * 1024];
    loop {
        let Some(s) = l.sock.as_mut() else { return };
        match s.read(&mut tmp) {
            Ok(0) => {
                eof = true;
                break;
            }
            Ok(n) => {
                l.buf.extend_from_slice(&tmp[..n]);
                l.last_io_ms = clock::wall_ms();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                warn!("I/O error reading from MASTER: {}", e);
                eof = true;
                break;
            }
        }
    }
    process_input(srv);
    if eof {
        if let Some(l) = srv.repl.link.as_ref() {
            if l.state != LState::Connected && l.state != LState::Connect {
                warn!("Master closed the connection during the synchronization");
                cancel(srv);
            }
        }
    }
}

/// Takes one line (without CRLF) from the link buffer.
fn take_line(l: &mut Link) -> Option<String> {
    let pos = l.buf.iter().position(|&b| b == b'\n')?;
    let mut line: Vec<u8> = l.buf.drain(..=pos).collect();
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Some(String::from_utf8_lossy(&line).into_owned())
}

fn process_input(srv: &mut Server) {
    loop {
        let Some(l) = srv.repl.link.as_mut() else {
            return;
        };
        if l.state == LState::Transfer {
            transfer(srv);
            return;
        }
        let state = l.state;
        if !matches!(
            state,
            LState::ReceivePong
                | LState::ReceiveAuth
                | LState::ReceivePort
                | LState::ReceiveCapa
                | LState::ReceivePsync
        ) {
            return;
        }
        let Some(line) = take_line(l) else { return };
        if line.is_empty() {
            // Newlines are the master's keepalive while it prepares.
            continue;
        }
        if !handshake_step(srv, state, &line) {
            cancel(srv);
            return;
        }
    }
}

/// Handles the reply to the last handshake command and sends the next
/// one. False = the sync failed.
fn handshake_step(srv: &mut Server, state: LState, line: &str) -> bool {
    let auth = srv.config.masterauth.clone();
    let user = srv.config.masteruser.clone();
    // slave-announce-port, else tls-port under tls-replication, else port
    // (syncWithMaster's listening-port).
    let port = Some(srv.config.replica_announce_port)
        .filter(|&p| p != 0)
        .unwrap_or(if srv.config.tls_replication && srv.config.tls_port != 0 {
            srv.config.tls_port as u16
        } else {
            srv.config.port
        });
    let announce_ip = srv.config.replica_announce_ip.clone();
    let (replid, offset) = (srv.repl.replid.clone(), srv.repl.offset);
    // PSYNC ... FAILOVER while failing over to this master.
    let failover = super::failover::psync_suffix(srv);
    let Some(l) = srv.repl.link.as_mut() else {
        return false;
    };
    let sent = match state {
        LState::ReceivePong => {
            if line.starts_with('-')
                && !line.starts_with("-NOAUTH")
                && !line.starts_with("-NOPERM")
                && !line.starts_with("-ERR operation not permitted")
            {
                warn!("Error reply to PING from master: '{}'", line);
                return false;
            }
            info!("Master replied to PING, replication can continue...");
            if !auth.is_empty() {
                l.state = LState::ReceiveAuth;
                if user.is_empty() {
                    send(l, &[b"AUTH", auth.as_bytes()])
                } else {
                    send(l, &[b"AUTH", user.as_bytes(), auth.as_bytes()])
                }
            } else {
                l.state = LState::ReceivePort;
                send(
                    l,
                    &[b"REPLCONF", b"listening-port", port.to_string().as_bytes()],
                )
            }
        }
        LState::ReceiveAuth => {
            if line.starts_with('-') {
                warn!("Unable to AUTH to MASTER: {}", line);
                return false;
            }
            l.state = LState::ReceivePort;
            send(
                l,
                &[b"REPLCONF", b"listening-port", port.to_string().as_bytes()],
            )
        }
        LState::ReceivePort => {
            if line.starts_with('-') {
                info!(
                    "(Non critical) Master does not understand REPLCONF listening-port: {}",
                    line
                );
            }
            l.state = LState::ReceiveCapa;
            if announce_ip.is_empty() {
                send(l, &[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
            } else {
                send(
                    l,
                    &[
                        b"REPLCONF",
                        b"ip-address",
                        announce_ip.as_bytes(),
                        b"capa",
                        b"eof",
                        b"capa",
                        b"psync2",
                    ],
                )
            }
        }
        LState::ReceiveCapa => {
            if line.starts_with('-') {
                info!(
                    "(Non critical) Master does not understand REPLCONF capa: {}",
                    line
                );
            }
            l.state = LState::ReceivePsync;
            let next = (offset + 1).to_string();
            let mut argv: Vec<&[u8]> = if l.psync_ok {
                info!(
                    "Trying a partial resynchronization (request {}:{}).",
                    replid, next
                );
                vec![b"PSYNC", replid.as_bytes(), next.as_bytes()]
            } else {
                info!("Partial resynchronization not possible (no cached master)");
                vec![b"PSYNC", b"?", b"-1"]
            };
            argv.extend(failover);
            let sent = send(l, &argv);
            if let Err(e) = sent {
                warn!("Unable to send PSYNC to master: {}", e);
                super::failover::psync_write_failed(srv);
                return false;
            }
            Ok(())
        }
        LState::ReceivePsync => return psync_reply(srv, line),
        _ => return false,
    };
    sent.is_ok()
}

fn psync_reply(srv: &mut Server, line: &str) -> bool {
    // A failover to this master ends with its resync, or is aborted.
    let resync = line.starts_with("+FULLRESYNC") || line.starts_with("+CONTINUE");
    if !super::failover::psync_answered(srv, resync) {
        return false;
    }
    if let Some(rest) = line.strip_prefix("+FULLRESYNC") {
        let mut it = rest.split_whitespace();
        let (Some(id), Some(off)) = (it.next(), it.next().and_then(|o| o.parse::<i64>().ok()))
        else {
            warn!("Master replied with wrong +FULLRESYNC syntax.");
            return false;
        };
        info!("Full resync from master: {}:{}", id, off);
        let Some(l) = srv.repl.link.as_mut() else {
            return false;
        };
        l.master_replid = id.to_string();
        l.master_offset = off;
        l.state = LState::Transfer;
        transfer(srv);
        return true;
    }
    if let Some(rest) = line.strip_prefix("+CONTINUE") {
        info!("Successful partial resynchronization with master.");
        let new_id = rest.trim();
        if !new_id.is_empty() && new_id != srv.repl.replid {
            let r = &mut srv.repl;
            r.replid2 = std::mem::replace(&mut r.replid, new_id.to_string());
            r.second_offset = r.offset + 1;
            info!("Master replication ID changed to {}", new_id);
            disconnect_replicas(srv);
        }
        if srv.repl.backlog.is_none() {
            super::create_backlog(srv);
        }
        info!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
        let db = srv.repl.link.as_ref().map(|l| l.cached_db).unwrap_or(0);
        become_connected(srv, db);
        return true;
    }
    if line.starts_with("-NOMASTERLINK") || line.starts_with("-LOADING") {
        info!(
            "Master is currently unable to PSYNC but should be in the future: {}",
            line
        );
        return false;
    }
    warn!("Unexpected reply to PSYNC from master: {}", line);
    false
}

/// Receives the RDB payload; loads it when complete.
fn transfer(srv: &mut Server) {
    let diskless = super::diskless_load::use_diskless_load(srv);
    let swapdb = srv.config.repl_diskless_load == crate::config::ReplDisklessLoad::Swapdb;
    let Some(l) = srv.repl.link.as_mut() else {
        return;
    };
    if l.expect.is_none() {
        while l.buf.first() == Some(&b'\n') {
            l.buf.remove(0);
        }
        let Some(line) = take_line(l) else { return };
        if line.starts_with('-') {
            warn!("MASTER aborted replication with an error: {}", line);
            cancel(srv);
            return;
        }
        let to = if diskless { "to parser" } else { "to disk" };
        if let Some(mark) = line.strip_prefix("$EOF:") {
            let mut m = [0u8; 40];
            if mark.len() != 40 {
                warn!("Bad protocol from MASTER, the first byte is not '$' (we received '{}'), are you sure the host and port are right?", line);
                cancel(srv);
                return;
            }
            m.copy_from_slice(mark.as_bytes());
            l.expect = Some(Expect::Eof(m));
            info!(
                "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {}",
                to
            );
        } else if let Some(n) = line.strip_prefix('$').and_then(|n| n.parse::<u64>().ok()) {
            l.expect = Some(Expect::Len(n));
            info!(
                "MASTER <-> REPLICA sync: receiving {} bytes from master {}",
                n, to
            );
        } else {
            warn!("Bad protocol from MASTER, the first byte is not '$' (we received '{}'), are you sure the host and port are right?", line);
            cancel(srv);
            return;
        }
        if diskless {
            // A swapdb load keeps our history until it succeeds.
            if !swapdb {
                l.psync_ok = false;
            }
            super::diskless_load::load(srv);
            return;
        }
        let path = std::path::PathBuf::from(format!(
            "temp-{}.{}.rdb",
            clock::wall_ms() / 1000,
            std::process::id()
        ));
        match std::fs::File::create(&path) {
            Ok(f) => {
                l.sink = Some(Sink {
                    file: std::io::BufWriter::with_capacity(1 << 16, f),
                    path: Some(path),
                    written: 0,
                    tail: Vec::new(),
                })
            }
            Err(e) => {
                warn!(
                    "Opening the temp file needed for MASTER <-> REPLICA synchronization: {}",
                    e
                );
                cancel(srv);
                return;
            }
        }
    }
    let (Some(k), Some(expect)) = (l.sink.as_mut(), l.expect.as_ref()) else {
        return;
    };
    let mut done = false;
    let written = match expect {
        Expect::Len(n) => {
            let want = n.saturating_sub(k.written) as usize;
            let take = want.min(l.buf.len());
            let r = k.file.write_all(&l.buf[..take]);
            l.buf.drain(..take);
            k.written += take as u64;
            done = k.written == *n;
            r
        }
        Expect::Eof(mark) => {
            // The mark may straddle reads, and stream bytes may follow it.
            k.tail.append(&mut l.buf);
            match k.tail.windows(40).position(|w| w == mark) {
                Some(at) => {
                    l.buf = k.tail.split_off(at + 40);
                    k.tail.truncate(at);
                    done = true;
                    let n = k.tail.len();
                    k.written += n as u64;
                    let r = k.file.write_all(&k.tail);
                    k.tail.clear();
                    r
                }
                None if k.tail.len() > 40 => {
                    let n = k.tail.len() - 40;
                    let r = k.file.write_all(&k.tail[..n]);
                    k.tail.drain(..n);
                    k.written += n as u64;
                    r
                }
                None => Ok(()),
            }
        }
    };
    if let Err(e) = written {
        warn!(
            "Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {}",
            e
        );
        cancel(srv);
        return;
    }
    if done {
        finish_full_sync(srv);
    }
}

fn finish_full_sync(srv: &mut Server) {
    let Some(l) = srv.repl.link.as_mut() else {
        return;
    };
    let Some(mut sink) = l.sink.take() else {
        return;
    };
    // The received file becomes our RDB file (as Redis renames it).
    let synced = sink
        .file
        .flush()
        .and_then(|_| sink.file.get_ref().sync_all());
    let tmp = sink.path.take();
    drop(sink);
    let file = match (synced, tmp) {
        (Ok(()), Some(tmp)) => {
            let dest = crate::persist::rdb_server::rdb_filename(srv);
            match std::fs::rename(&tmp, &dest) {
                Ok(()) => std::path::PathBuf::from(dest),
                Err(e) => {
                    warn!("Failed trying to rename the temp DB into {} in MASTER <-> REPLICA synchronization: {}", dest, e);
                    let _ = std::fs::remove_file(&tmp);
                    cancel(srv);
                    return;
                }
            }
        }
        (Err(e), tmp) => {
            warn!("Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: {}", e);
            if let Some(t) = tmp {
                let _ = std::fs::remove_file(t);
            }
            cancel(srv);
            return;
        }
        (Ok(()), None) => return,
    };
    // No AOF rewrite child while the dataset is replaced; the AOF restarts
    // from a rewrite of the new data afterwards (restartAOFAfterSYNC).
    let aof_was_on = crate::persist::aof::enabled(srv);
    if aof_was_on {
        crate::persist::aof::stop(srv);
    }
    // Our history is replaced from here on (replicationAttachToNewMaster):
    // until now a failed transfer left PSYNC possible.
    attach_to_new_master(srv);
    info!("MASTER <-> REPLICA sync: Flushing old data");
    let lazy = srv.config.replica_lazy_flush;
    for db in srv.dbs.iter_mut() {
        db.flush_lazy(lazy);
    }
    // The master's libraries come with its RDB.
    srv.scripting.functions.flush();
    info!("MASTER <-> REPLICA sync: Loading DB in memory");
    // Clients are served meanwhile (-LOADING for most commands).
    srv.loading = true;
    srv.loading_events = srv.process_events_while_loading.is_some();
    srv.rdb.loading_start_time = clock::wall_ms() / 1000;
    srv.rdb.loading_loaded_bytes = 0;
    let res = match std::fs::File::open(&file) {
        Ok(f) => {
            srv.rdb.loading_total_bytes = f.metadata().map(|m| m.len()).unwrap_or(0);
            rdb::load_rdb(srv, std::io::BufReader::with_capacity(1 << 16, f), true)
        }
        Err(e) => Err(rdb::LoadError::Io(e)),
    };
    srv.loading_events = false;
    srv.loading = false;
    // rdb-del-sync-files: no RDB left behind when persistence is off.
    if srv.config.rdb_del_sync_files && srv.config.save.is_empty() && !srv.config.appendonly {
        let _ = std::fs::remove_file(&file);
    }
    if aof_was_on {
        let _ = crate::persist::aof::start(srv, false);
    }
    let info = match res {
        Ok(i) => {
            crate::persist::rdb_server::record_load(srv, &i);
            i
        }
        Err(e) => {
            warn!(
                "Failed trying to load the MASTER synchronization DB from disk, check server logs. ({:?})",
                e
            );
            cancel(srv);
            return;
        }
    };
    sync_succeeded(srv, info.repl_stream_db.unwrap_or(0));
}

/// replicationAttachToNewMaster: the dataset is being replaced by the
/// master's; our replicas must resync and our history is gone.
pub(super) fn attach_to_new_master(srv: &mut Server) {
    if let Some(l) = srv.repl.link.as_mut() {
        l.psync_ok = false;
    }
    disconnect_replicas(srv);
}

/// cancelReplicationHandshake(1) after a failed load: retry at once.
pub(super) fn cancel_and_reconnect(srv: &mut Server) {
    cancel(srv);
    if let Some(l) = srv.repl.link.as_ref() {
        info!("Reconnecting to MASTER {}:{} after failure", l.host, l.port);
    }
    connect(srv);
}

/// The full sync's RDB is loaded: the master's history is ours, the link
/// becomes the master client (stream continuing in `db`).
pub(super) fn sync_succeeded(srv: &mut Server, db: usize) {
    let Some(l) = srv.repl.link.as_ref() else {
        return;
    };
    let (id, off) = (l.master_replid.clone(), l.master_offset);
    // The master's history is ours now; sub-replicas must resync.
    let r = &mut srv.repl;
    r.replid = id;
    r.replid2 = "0".repeat(40);
    r.second_offset = -1;
    r.offset = off;
    r.seldb = None;
    match r.backlog.as_mut() {
        Some(b) => b.reset(off + 1),
        None => super::create_backlog(srv),
    }
    disconnect_replicas(srv);
    if let Some(l) = srv.repl.link.as_mut() {
        l.psync_ok = true;
    }
    info!("MASTER <-> REPLICA sync: Finished with success");
    become_connected(srv, db);
}

/// Turns the link socket into the master client.
fn become_connected(srv: &mut Server, db: usize) {
    let Some(l) = srv.repl.link.as_mut() else {
        return;
    };
    let Some(mut sock) = l.sock.take() else {
        return;
    };
    let leftover = std::mem::take(&mut l.buf);
    let slot = match srv.free_slots.pop() {
        Some(s) => s,
        None => {
            srv.clients.push(None);
            srv.clients.len() - 1
        }
    };
    let reg = poller::with_registry(&srv.io, |r| {
        r.reregister(
            &mut sock,
            Token(slot),
            Interest::READABLE | Interest::WRITABLE,
        )
    });
    if let Some(Err(e)) = reg {
        warn!("Error registering the master client: {}", e);
        srv.free_slots.push(slot);
        cancel(srv);
        return;
    }
    let now = clock::wall_ms();
    let mut c = Client::new(srv.next_client_id, slot, sock, now, true);
    srv.next_client_id += 1;
    c.is_master = true;
    // No ACL user: the master link may run anything (Redis's NULL user).
    c.user = crate::acl::SUPERUSER;
    c.db = db;
    c.writable = true;
    // An immediate ACK: a diskless master starts the stream on it.
    let off = srv.repl.offset.to_string();
    crate::propagate::encode_command(&mut c.out.buf, &[b"REPLCONF", b"ACK", off.as_bytes()]);
    c.write_queued = true;
    srv.to_flush.push(slot);
    if !leftover.is_empty() {
        c.qend = leftover.len();
        c.qbuf = leftover;
        srv.resume_input.push_back(slot);
    }
    let id = c.id;
    srv.client_tokens.insert(id, slot);
    srv.clients[slot] = Some(Box::new(c));
    srv.nclients += 1;
    if let Some(l) = srv.repl.link.as_mut() {
        l.master_client = Some(id);
        l.state = LState::Connected;
        l.last_io_ms = now;
        l.down_since_ms = 0;
        l.applied.clear();
    }
}

/// The master client's connection is being closed.
pub fn master_link_lost(srv: &mut Server, c: &mut Client) {
    let Some(l) = srv.repl.link.as_mut() else {
        return;
    };
    if l.master_client != Some(c.id) {
        return;
    }
    info!("Connection with master lost.");
    info!("Caching the disconnected master state.");
    l.master_client = None;
    l.applied.clear();
    l.cached_db = c.db;
    l.state = LState::Connect;
    l.down_since_ms = clock::wall_ms();
    l.next_connect_ms = 0;
}

/// Input from the master left unprocessed (a busy script held it back)
/// is processed again.
pub fn resume_master_input(srv: &mut Server, id: Option<u64>) {
    let Some(&t) = id.and_then(|id| srv.client_tokens.get(&id)) else {
        return;
    };
    let Some(Some(c)) = srv.clients.get(t) else {
        return;
    };
    if c.pending_input() > 0 && !srv.resume_input.contains(&t) {
        srv.resume_input.push_back(t);
    }
}

/// Before a command from the master runs: it sees keys as the master does.
pub fn before_master_command(srv: &mut Server, c: &mut Client) {
    srv.update_db_state(|s| s.expire_mode = ExpireMode::Never);
    // An unknown command leaves no name (Redis's NULL lastcmd).
    c.last_cmd = None;
}

/// After CLIENT PAUSE held a command from the master (it runs later).
pub fn after_held_master_command(srv: &mut Server) {
    srv.update_db_state(|s| s.expire_mode = ExpireMode::ReportOnly);
}

/// afterErrorReply for the master client: an error a command from the
/// master produced is logged (the data may have diverged).
fn log_error_to_master(srv: &mut Server, c: &Client, at: usize) {
    let reply = &c.out.buf[at..];
    let end = reply
        .iter()
        .position(|&b| b == b'\r')
        .unwrap_or(reply.len())
        .min(4096);
    let mut msg = &reply[1..end.max(1)];
    // addReplyError's messages carry no "ERR " of their own.
    if let Some(rest) = msg.strip_prefix(b"ERR ") {
        msg = rest;
    }
    let name = c
        .last_cmd
        .and_then(|i| srv.commands.entries.get(i))
        .map_or("<unknown>".to_string(), |e| e.fullname.to_string());
    warn!(
        "== CRITICAL == This replica is sending an error to its master: '{}' after processing the command '{}'",
        String::from_utf8_lossy(msg),
        name
    );
    srv.stats.unexpected_error_replies += 1;
}

/// After a command from the master ran: drop its reply, answer GETACK,
/// account the applied bytes and proxy them to our backlog/replicas.
pub fn after_master_command(srv: &mut Server, c: &mut Client, raw: &[u8], out_before: usize) {
    srv.update_db_state(|s| s.expire_mode = ExpireMode::ReportOnly);
    if c.out.buf.get(out_before) == Some(&b'-') {
        log_error_to_master(srv, c, out_before);
    }
    c.out.buf.truncate(out_before.min(c.out.buf.len()));
    let Some(l) = srv.repl.link.as_mut() else {
        return;
    };
    l.last_io_ms = clock::wall_ms();
    if std::mem::take(&mut srv.repl.ack_requested) {
        let off = srv.repl.offset.to_string();
        crate::propagate::encode_command(&mut c.out.buf, &[b"REPLCONF", b"ACK", off.as_bytes()]);
    }
    let Some(l) = srv.repl.link.as_mut() else {
        return;
    };
    l.applied.extend_from_slice(raw);
    if c.multi.is_none() {
        let data = std::mem::take(&mut l.applied);
        super::feed_raw(srv, &data);
        if let Some(l) = srv.repl.link.as_mut() {
            let mut data = data;
            data.clear();
            l.applied = data;
        }
    }
}

/// Once a second: reconnect, timeouts, REPLCONF ACK to the master.
pub fn cron(srv: &mut Server) {
    let Some(l) = srv.repl.link.as_mut() else {
        return;
    };
    let now = clock::wall_ms();
    let timeout_ms = srv.config.repl_timeout * 1000;
    match l.state {
        LState::Connect => {
            if now >= l.next_connect_ms {
                connect(srv);
            }
        }
        LState::Connected => {
            let Some(id) = l.master_client else { return };
            let Some(&t) = srv.client_tokens.get(&id) else {
                return;
            };
            if now - l.last_io_ms > timeout_ms {
                warn!("MASTER timeout: no data nor PING received...");
                if let Some(Some(mc)) = srv.clients.get_mut(t) {
                    mc.close_asap = true;
                    srv.to_close.push(t);
                }
                return;
            }
            let off = srv.repl.offset.to_string();
            if let Some(Some(mc)) = srv.clients.get_mut(t) {
                crate::propagate::encode_command(
                    &mut mc.out.buf,
                    &[b"REPLCONF", b"ACK", off.as_bytes()],
                );
                if !mc.write_queued {
                    mc.write_queued = true;
                    srv.to_flush.push(t);
                }
            }
        }
        _ => {
            if now - l.last_io_ms > timeout_ms {
                if l.state == LState::Transfer {
                    warn!("Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
                } else {
                    warn!("Timeout connecting to the MASTER...");
                }
                cancel(srv);
                return;
            }
            // Edge-triggered events may have been consumed elsewhere.
            link_event(srv);
        }
    }
}

/// Is a write from this client refused (read-only replica)?
pub fn refuses_write(srv: &Server, c: &Client) -> bool {
    srv.repl.link.is_some() && !c.is_master && srv.config.replica_read_only
}

/// The READONLY error.
pub fn readonly_error() -> CmdError {
    CmdError::Static(error::READONLY_REPLICA)
}
