//! The master side of replication (Redis's syncCommand, replconfCommand,
//! masterTryPartialResynchronization, the full-sync snapshot, WAIT and the
//! replica part of replicationCron).
//!
//! A replica is a client that sent SYNC or PSYNC. A full resync forks a
//! child that writes the RDB; meanwhile the stream since the fork stays in
//! the backlog, which keeps it for every replica waiting (one copy,
//! Redis 7.0's shared replication buffer). With a disk target the child
//! writes a temp file, which is then sent as `$<len>\r\n<bytes>` in
//! chunks as the socket drains (never blocking the loop), then the stream
//! since the fork, and the replica is online: from then on
//! `feed_replicas` appends to its output directly. With `repl-diskless-sync` (and replicas with
//! `capa eof`) the child streams to the replicas' sockets through a pipe
//! (`diskless.rs`); the fork waits `repl-diskless-sync-delay` seconds for
//! more replicas (or `repl-diskless-sync-max-replicas` of them), started
//! by the cron as Redis's replicationStartPendingFork.

use super::is_replica_client;
use crate::client::{Client, RState, ReplicaInfo};
use crate::clock;
use crate::error::{self, CmdError, CmdResult};
use crate::persist::child::{self, ChildKind};
use crate::persist::rdb::{self, SaveInfo};
use crate::protocol::args::Args;
use crate::server::Server;
use std::fs::File;
use std::io::{Read, Write};
use tracing::{info, warn};

/// Bytes of the RDB file read per chunk while streaming it.
const BULK_CHUNK: usize = 256 * 1024;
/// Chunks sent to one replica per event-loop iteration at most.
const BULK_BUDGET: usize = 4;

/// SLAVE_REQ_RDB_EXCLUDE_DATA / _FUNCTIONS (`ReplicaInfo::req`).
pub const REQ_EXCLUDE_DATA: u8 = 1;
pub const REQ_EXCLUDE_FUNCTIONS: u8 = 2;

/// A client blocked in WAIT.
pub struct Waiter {
    pub id: u64,
    pub token: usize,
    pub offset: i64,
    pub num: i64,
    /// Unix ms, 0 = forever.
    pub deadline_ms: i64,
}

/// The replica's address as Redis shows it: REPLCONF ip-address, or the
/// peer address of its connection.
pub fn replica_ip(c: &Client) -> String {
    if let Some(ip) = c.repl.as_ref().and_then(|r| r.ip.clone()) {
        return ip;
    }
    match c.addr.rfind(':') {
        Some(i) => c.addr[..i]
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        None => c.addr.clone(),
    }
}

/// "ip:port" of a replica, for log lines (replicationGetSlaveName).
pub fn replica_name(c: &Client) -> String {
    let port = c.repl.as_ref().map(|r| r.listening_port).unwrap_or(0);
    format!("{}:{}", replica_ip(c), port)
}

fn info_mut(c: &mut Client) -> &mut ReplicaInfo {
    c.repl.get_or_insert_with(|| Box::new(ReplicaInfo::new()))
}

/// REPLCONF <option> <value> [<option> <value> ...]
pub fn replconf_command(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut i = 1;
    while i < a.len() {
        let v = a.get(i + 1);
        if a.is(i, "listening-port") {
            let port = a.i64(i + 1)?;
            info_mut(c).listening_port = port.clamp(0, 65535) as u16;
        } else if a.is(i, "ip-address") {
            info_mut(c).ip = Some(String::from_utf8_lossy(v).into_owned());
        } else if a.is(i, "capa") {
            if v.eq_ignore_ascii_case(b"eof") {
                info_mut(c).capa_eof = true;
            } else if v.eq_ignore_ascii_case(b"psync2") {
                info_mut(c).capa_psync2 = true;
            }
        } else if a.is(i, "ack") || a.is(i, "fack") {
            // From a replica: its processed offset. Never replied to.
            if !is_replica_client(c) {
                return Ok(());
            }
            let off = crate::util::num::parse_i64(v).ok_or(CmdError::NotInteger)?;
            if a.is(i, "ack") {
                if let Some(r) = c.repl.as_mut() {
                    if off > r.ack_off {
                        r.ack_off = off;
                    }
                    r.ack_time_ms = clock::wall_ms();
                }
                // The diskless child may be done without being reaped yet
                // (checkChildrenDone); this replica is out of its slot.
                if c.repl.as_ref().map(|r| r.state) == Some(RState::WaitBgsaveEnd)
                    && srv.child.as_ref().map(|ch| ch.kind) == Some(ChildKind::ReplSync)
                    && super::diskless::active(srv)
                {
                    if let Some((_, ok)) = child::reap(srv) {
                        super::diskless::child_done(srv, ok, Some(c));
                        start_pending_fork(srv);
                    }
                }
                if c.repl
                    .as_ref()
                    .is_some_and(|r| r.stream_on_ack && r.state == RState::Online)
                {
                    // replicaStartCommandStream.
                    start_stream(srv, c);
                }
            }
            return Ok(());
        } else if a.is(i, "getack") {
            // From our master: answer with REPLCONF ACK after this command.
            if c.is_master {
                srv.repl.ack_requested = true;
            }
            return Ok(());
        } else if a.is(i, "rdb-only") {
            // Accepted (redis-cli --rdb): it disconnects after the RDB.
            let v = a.i64(i + 1)?;
            if !(0..=1).contains(&v) {
                return Err(CmdError::Static(error::REPLCONF_RDB_ONLY_RANGE));
            }
        } else if a.is(i, "rdb-filter-only") {
            // Include filters; only "functions" exists (Redis 7.0).
            let (mut words, mut ranges) = (Vec::new(), Vec::new());
            if !crate::protocol::parse::split_args(v, &mut words, &mut ranges) {
                return Err(CmdError::Static(error::REPLCONF_FILTER_MISSING));
            }
            let mut req = REQ_EXCLUDE_DATA | REQ_EXCLUDE_FUNCTIONS;
            for &(s, e) in &ranges {
                let f = &words[s..e];
                if f.eq_ignore_ascii_case(b"functions") {
                    req &= !REQ_EXCLUDE_FUNCTIONS;
                } else {
                    return Err(error::replconf_filter_unsupported(f));
                }
            }
            info_mut(c).req = req;
        } else {
            return Err(error::replconf_unknown(a.get(i)));
        }
        i += 2;
    }
    c.out.ok();
    Ok(())
}

/// SYNC and PSYNC <replid> <offset>.
pub fn sync_command(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if is_replica_client(c) {
        return Ok(());
    }
    super::failover::sync_request(srv, c, a)?;
    if let Some(l) = srv.repl.link.as_ref() {
        if !l.connected() {
            return Err(CmdError::Static(error::NOMASTERLINK));
        }
    }
    let r = info_mut(c);
    if r.req != 0 && !r.capa_eof {
        // Filtered snapshots only go over a socket.
        return Err(CmdError::Static(error::FILTERED_REPLICA_NEEDS_EOF));
    }
    info!("Replica {} asks for synchronization", replica_name(c));
    let psync = a.is(0, "psync");
    if psync && crate::util::num::parse_i64(a.get(2)).is_none() {
        warn!(
            "Replica {} asks for synchronization but with a wrong offset",
            replica_name(c)
        );
        return Err(CmdError::NotInteger);
    }
    if psync {
        if try_partial(srv, c, a.get(1), a.get(2)) {
            srv.repl.sync_partial_ok += 1;
            return Ok(());
        }
        if a.get(1) != b"?" {
            srv.repl.sync_partial_err += 1;
        }
    } else if let Some(r) = c.repl.as_mut() {
        r.pre_psync = true;
    }
    srv.repl.sync_full += 1;
    if let Some(r) = c.repl.as_mut() {
        r.state = RState::WaitBgsaveStart;
        r.ack_time_ms = clock::wall_ms();
    }
    if !srv.repl.replicas.contains(&c.token) {
        srv.repl.replicas.push(c.token);
    }
    if srv.repl.backlog.is_none() {
        // A new history starts with the first replica.
        if !srv.repl.is_replica() {
            srv.repl.replid = super::random_replid();
            srv.repl.replid2 = "0".repeat(40);
            srv.repl.second_offset = -1;
        }
        super::create_backlog(srv);
        info!(
            "Replication backlog created, my new replication IDs are '{}' and '{}'",
            srv.repl.replid, srv.repl.replid2
        );
    }
    // A snapshot for replication is being written to disk: attach to it
    // by copying what another waiting replica accumulated since its fork.
    if super::diskless::active(srv) {
        info!("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC");
        return Ok(());
    }
    let req = c.repl.as_ref().map_or(0, |r| r.req);
    if srv.child.as_ref().map(|ch| ch.kind) == Some(ChildKind::ReplSync) {
        // Disk snapshots carry everything: only an unfiltered replica
        // attaches to one.
        let donor = srv.repl.replicas.iter().find_map(|&t| {
            let r = srv.clients.get(t)?.as_deref()?.repl.as_ref()?;
            (r.state == RState::WaitBgsaveEnd && req == 0).then_some(r.initial_offset)
        });
        if let Some(off) = donor {
            // Its stream since the fork is still in the backlog.
            info!("Waiting for end of BGSAVE for SYNC");
            setup_full_resync(srv, c, off);
            return Ok(());
        }
    }
    if srv.child.is_some() {
        info!("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC");
    } else if diskless_sync(srv)
        && c.repl.as_ref().is_some_and(|r| r.capa_eof)
        && srv.config.repl_diskless_sync_delay > 0
    {
        // The fork waits in the cron for more replicas to arrive.
        info!("Delay next BGSAVE for diskless SYNC");
    } else {
        start_snapshot(srv, Some(c));
    }
    Ok(())
}

fn diskless_sync(srv: &Server) -> bool {
    srv.config.repl_diskless_sync
}

/// shouldStartChildReplication: replicas wait for a snapshot and no child
/// runs; with diskless sync, the first waited repl-diskless-sync-delay
/// seconds or repl-diskless-sync-max-replicas of them wait.
fn should_start_snapshot(srv: &Server) -> bool {
    if srv.child.is_some() || super::diskless::active(srv) {
        return false;
    }
    let now = clock::wall_ms();
    let (mut waiting, mut max_idle) = (0i64, 0i64);
    let req = next_snapshot_req(srv, None);
    for &t in &srv.repl.replicas {
        let Some(c) = srv.clients.get(t).and_then(|s| s.as_deref()) else {
            continue;
        };
        if c.repl.as_ref().map(|r| (r.state, r.req)) == Some((RState::WaitBgsaveStart, req)) {
            waiting += 1;
            max_idle = max_idle.max((now - c.last_interaction_ms) / 1000);
        }
    }
    let max = srv.config.repl_diskless_sync_max_replicas;
    waiting > 0
        && (!diskless_sync(srv)
            || (max > 0 && waiting >= max)
            || max_idle >= srv.config.repl_diskless_sync_delay)
}

/// The requirements of the next snapshot: those of `cur` when it waits for
/// one, else those of the first waiting replica (replicas with other
/// requirements wait for a later snapshot).
fn next_snapshot_req(srv: &Server, cur: Option<&Client>) -> u8 {
    let waiting = |c: &Client| {
        c.repl
            .as_ref()
            .filter(|r| r.state == RState::WaitBgsaveStart)
            .map(|r| r.req)
    };
    cur.and_then(waiting)
        .or_else(|| {
            srv.repl.replicas.iter().find_map(|&t| {
                srv.clients
                    .get(t)
                    .and_then(|s| s.as_deref())
                    .and_then(waiting)
            })
        })
        .unwrap_or(0)
}

/// Whether client `c` is a replica waiting for a snapshot with
/// requirements `req`.
pub fn waits_for_snapshot(c: &Client, req: u8) -> bool {
    c.repl.as_ref().map(|r| (r.state, r.req)) == Some((RState::WaitBgsaveStart, req))
}

/// replicationStartPendingFork.
pub fn start_pending_fork(srv: &mut Server) {
    if should_start_snapshot(srv) {
        start_snapshot(srv, None);
    }
}

/// Sends +FULLRESYNC and marks the replica as waiting for the snapshot.
pub fn setup_full_resync(srv: &Server, c: &mut Client, offset: i64) {
    let Some(r) = c.repl.as_mut() else { return };
    r.state = RState::WaitBgsaveEnd;
    r.initial_offset = offset;
    if !r.pre_psync {
        let line = format!("+FULLRESYNC {} {}\r\n", srv.repl.replid, offset);
        c.out.buf.extend_from_slice(line.as_bytes());
    }
}

/// masterTryPartialResynchronization: true when +CONTINUE was sent.
fn try_partial(srv: &mut Server, c: &mut Client, replid: &[u8], off: &[u8]) -> bool {
    let Some(off) = crate::util::num::parse_i64(off) else {
        return false;
    };
    let replid = String::from_utf8_lossy(replid).into_owned();
    let r = &srv.repl;
    if replid != r.replid && (replid != r.replid2 || off > r.second_offset) {
        if replid != "?" {
            if replid != r.replid && replid != r.replid2 {
                info!(
                    "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                    replid, r.replid, r.replid2
                );
            } else {
                info!(
                    "Partial resynchronization not accepted: Requested offset for second ID was {}, but I can reply up to {}",
                    off, r.second_offset
                );
            }
        } else {
            info!("Full resync requested by replica {}", replica_name(c));
        }
        return false;
    }
    let Some(bl) = r.backlog.as_ref().filter(|b| b.contains(off)) else {
        info!(
            "Unable to partial resync with replica {} for lack of backlog (Replica request was: {}).",
            replica_name(c),
            off
        );
        return false;
    };
    let mut data = Vec::new();
    bl.copy_from(off, &mut data);
    let psync2 = c.repl.as_ref().is_some_and(|r| r.capa_psync2);
    let line = if psync2 {
        format!("+CONTINUE {}\r\n", r.replid)
    } else {
        "+CONTINUE\r\n".to_string()
    };
    c.out.buf.extend_from_slice(line.as_bytes());
    c.out.buf.extend_from_slice(&data);
    if let Some(ri) = c.repl.as_mut() {
        ri.state = RState::Online;
        ri.ack_time_ms = clock::wall_ms();
    }
    if !srv.repl.replicas.contains(&c.token) {
        srv.repl.replicas.push(c.token);
    }
    info!(
        "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.",
        replica_name(c),
        data.len(),
        off
    );
    true
}

/// Forks the child writing the full-sync RDB and sends +FULLRESYNC to
/// every replica waiting for one (`cur` is the executing client, which is
/// out of its slot).
fn start_snapshot(srv: &mut Server, mut cur: Option<&mut Client>) {
    // Socket target when configured and every waiting replica reads an
    // EOF-marked stream (startBgsaveForReplication's mincapa).
    let req = next_snapshot_req(srv, cur.as_deref());
    let waiting_capa = |c: &Client| {
        c.repl
            .as_ref()
            .is_none_or(|r| r.state != RState::WaitBgsaveStart || r.req != req || r.capa_eof)
    };
    // A filtered snapshot always goes over the socket (SYNC refused
    // filtered replicas without the EOF capability).
    let socket = (diskless_sync(srv) || req != 0)
        && cur.as_deref().is_none_or(waiting_capa)
        && srv.repl.replicas.iter().all(|&t| {
            srv.clients
                .get(t)
                .and_then(|s| s.as_deref())
                .is_none_or(waiting_capa)
        });
    info!(
        "Starting BGSAVE for SYNC with target: {}",
        if socket { "replicas sockets" } else { "disk" }
    );
    if socket {
        if !super::diskless::start(srv, cur.as_deref_mut(), req) {
            bgsave_failed(srv, cur);
        }
        return;
    }
    let path = std::path::PathBuf::from(format!(
        "temp-repl-{}-{}.rdb",
        std::process::id(),
        clock::wall_ms()
    ));
    let offset = srv.repl.offset;
    // The stream re-selects its db after the snapshot.
    srv.repl.seldb = None;
    let save = sync_save_info(srv, 0);
    let p2 = path.clone();
    let started = child::start(srv, ChildKind::ReplSync, move |srv: &Server| {
        let tmp = p2.with_extension("tmp");
        let f = File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(f);
        rdb::write_rdb(srv, &mut w, &save)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &p2)
    });
    let waiting: Vec<usize> = srv.repl.replicas.clone();
    match started {
        Ok(pid) => {
            info!("Background saving started by pid {}", pid);
            srv.repl.snapshot = Some(path);
            if let Some(c) = cur.as_deref_mut() {
                if waits_for_snapshot(c, 0) {
                    setup_full_resync(srv, c, offset);
                }
            }
            for t in waiting {
                let Some(mut c) = srv.clients.get_mut(t).and_then(|s| s.take()) else {
                    continue;
                };
                if waits_for_snapshot(&c, 0) {
                    setup_full_resync(srv, &mut c, offset);
                    queue_flush(srv, &mut c);
                }
                srv.clients[t] = Some(c);
            }
        }
        Err(e) => {
            warn!("Can't save in background: fork: {}", e);
            bgsave_failed(srv, cur);
        }
    }
}

/// The snapshot's save info (rdbPopulateSaveInfo): a replica's
/// sub-replicas continue with the stream it proxies, in the db its
/// master client is in; a master's stream re-selects (db 0).
pub fn sync_save_info(srv: &Server, req: u8) -> SaveInfo {
    let stream_db = srv
        .repl
        .link
        .as_ref()
        .and_then(|l| super::replica::master_client_db(srv, l))
        .unwrap_or(0);
    SaveInfo {
        repl_stream_db: Some(stream_db),
        repl_id: Some(srv.repl.replid.clone()),
        repl_offset: Some(srv.repl.offset),
        exclude_data: req & REQ_EXCLUDE_DATA != 0,
        exclude_functions: req & REQ_EXCLUDE_FUNCTIONS != 0,
        ..Default::default()
    }
}

/// The snapshot could not start: replicas waiting for one are told and
/// dropped.
fn bgsave_failed(srv: &mut Server, cur: Option<&mut Client>) {
    warn!("BGSAVE for replication failed");
    if let Some(c) = cur {
        if c.repl.as_ref().map(|r| r.state) == Some(RState::WaitBgsaveStart) {
            c.out.error(&CmdError::Static(error::REPL_BGSAVE_FAILED));
            c.close_after_reply = true;
        }
    }
    for t in srv.repl.replicas.clone() {
        if let Some(Some(c)) = srv.clients.get_mut(t) {
            if c.repl.as_ref().map(|r| r.state) == Some(RState::WaitBgsaveStart) {
                c.out.error(&CmdError::Static(error::REPL_BGSAVE_FAILED));
                c.close_after_reply = true;
                queue_flush_slot(srv, t);
            }
        }
    }
}

fn queue_flush_slot(srv: &mut Server, t: usize) {
    if let Some(Some(c)) = srv.clients.get_mut(t) {
        if !c.write_queued && c.pending_output() > 0 {
            c.write_queued = true;
            srv.to_flush.push(t);
        }
    }
}

fn queue_flush(srv: &mut Server, c: &mut Client) {
    if !c.write_queued && c.pending_output() > 0 {
        c.write_queued = true;
        srv.to_flush.push(c.token);
    }
}

/// The snapshot child finished: start sending it to the replicas that
/// waited for it.
pub fn snapshot_done(srv: &mut Server, ok: bool) {
    if super::diskless::active(srv) {
        super::diskless::child_done(srv, ok, None);
        start_pending_fork(srv);
        return;
    }
    let path = srv.repl.snapshot.take();
    if ok {
        info!("Background saving terminated with success");
    } else {
        warn!("Background saving error");
    }
    let tokens = srv.repl.replicas.clone();
    for t in tokens {
        let Some(Some(c)) = srv.clients.get_mut(t) else {
            continue;
        };
        let Some(r) = c.repl.as_mut() else { continue };
        if r.state != RState::WaitBgsaveEnd {
            continue;
        }
        let file = path
            .as_ref()
            .filter(|_| ok)
            .and_then(|p| File::open(p).ok());
        let Some(file) = file else {
            warn!("SYNC failed. BGSAVE child returned an error");
            c.close_asap = true;
            srv.to_close.push(t);
            continue;
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        r.bulk = Some((file, len));
        r.state = RState::SendBulk;
        c.out
            .buf
            .extend_from_slice(format!("${}\r\n", len).as_bytes());
        pump(srv, t);
    }
    if let Some(p) = path {
        // Open handles keep the data readable.
        let _ = std::fs::remove_file(p);
    }
    // Replicas that arrived while another child ran.
    start_pending_fork(srv);
}

/// Sends as much of the RDB as the socket takes; puts the replica online
/// when it is all sent.
pub fn pump(srv: &mut Server, t: usize) {
    if super::diskless::is_fed(srv, t) {
        super::diskless::replica_writable(srv, t);
        return;
    }
    let Some(Some(c)) = srv.clients.get_mut(t) else {
        return;
    };
    // A bounded amount per call, so a fast replica reading a big RDB does
    // not hold up everyone else (the loop comes back right away:
    // `bulk_in_progress`).
    let mut budget = BULK_BUDGET;
    loop {
        let empty = c.pending_output() == 0;
        let Some(r) = c.repl.as_mut() else { return };
        if r.state != RState::SendBulk {
            return;
        }
        if empty {
            let Some((file, left)) = r.bulk.as_mut() else {
                return;
            };
            if *left == 0 {
                break;
            }
            if budget == 0 {
                return;
            }
            budget -= 1;
            let n = (*left as usize).min(BULK_CHUNK);
            let start = c.out.buf.len();
            c.out.buf.resize(start + n, 0);
            if file.read_exact(&mut c.out.buf[start..]).is_err() {
                warn!("Read error sending DB to replica: premature EOF");
                c.close_asap = true;
                srv.to_close.push(t);
                return;
            }
            *left -= n as u64;
        }
        match c.write_socket() {
            Ok(true) => continue,
            Ok(false) => return,
            Err(_) => {
                c.close_asap = true;
                srv.to_close.push(t);
                return;
            }
        }
    }
    // Everything sent: the replica is online.
    let name = replica_name(c);
    if let Some(r) = c.repl.as_mut() {
        r.bulk = None;
        r.state = RState::Online;
        r.ack_time_ms = clock::wall_ms();
    }
    info!("Synchronization with replica {} succeeded", name);
    let Some(mut c) = srv.clients.get_mut(t).and_then(|s| s.take()) else {
        return;
    };
    start_stream(srv, &mut c);
    srv.clients[t] = Some(c);
}

/// The replica gets the stream since its snapshot's fork, from the
/// backlog, and from now on the stream as it is produced.
pub fn start_stream(srv: &mut Server, c: &mut Client) {
    let Some(r) = c.repl.as_mut() else { return };
    r.stream_on_ack = false;
    let from = r.initial_offset + 1;
    match srv.repl.backlog.as_ref().filter(|b| b.contains(from)) {
        Some(b) => b.copy_from(from, &mut c.out.buf),
        None if srv.repl.offset + 1 == from => {}
        None => {
            warn!(
                "Replica {} lost the stream since its snapshot, disconnecting it",
                replica_name(c)
            );
            c.close_asap = true;
            srv.to_close.push(c.token);
        }
    }
    queue_flush(srv, c);
    trim_backlog(srv);
}

/// The offset from which replicas waiting for their snapshot still need
/// the stream (what the backlog must keep).
pub fn hold_from(srv: &Server) -> Option<i64> {
    srv.repl
        .replicas
        .iter()
        .filter_map(|&t| srv.clients.get(t)?.as_deref()?.repl.as_ref())
        .filter(|r| r.waits_for_stream())
        .map(|r| r.initial_offset + 1)
        .min()
}

/// Drops backlog history nobody needs any more.
pub fn trim_backlog(srv: &mut Server) {
    let hold = hold_from(srv);
    if let Some(b) = srv.repl.backlog.as_mut() {
        b.trim(hold);
    }
}

/// Appends stream bytes to every replica: online ones get them in their
/// output; ones waiting for their snapshot keep them for later.
pub fn feed_replicas(srv: &mut Server, data: &[u8]) {
    if srv.repl.replicas.is_empty() {
        return;
    }
    let (hard, soft, secs) = srv.config.obuf.replica;
    let hard = replica_hard_limit(srv, hard);
    let offset = srv.repl.offset;
    for i in 0..srv.repl.replicas.len() {
        let t = srv.repl.replicas[i];
        let Some(Some(c)) = srv.clients.get_mut(t) else {
            continue;
        };
        if c.close_asap {
            continue;
        }
        let Some(r) = c.repl.as_mut() else { continue };
        let used = match r.state {
            // What it still needs of the shared backlog.
            _ if r.waits_for_stream() => (offset - r.initial_offset).max(0) as u64,
            RState::Online => {
                c.out.buf.extend_from_slice(data);
                if !c.write_queued {
                    c.write_queued = true;
                    srv.to_flush.push(t);
                }
                c.pending_output() as u64
            }
            _ => continue,
        };
        let mut over = hard > 0 && used >= hard;
        if !over && soft > 0 && used >= soft {
            let now = clock::wall_ms();
            let since = *c.obuf_soft_since.get_or_insert(now);
            over = (now - since) as u64 >= secs * 1000;
        } else if soft > 0 && used < soft {
            c.obuf_soft_since = None;
        }
        if over {
            warn!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                c.id, c.addr
            );
            srv.stats.client_outbuf_limit_disconnections += 1;
            c.close_asap = true;
            srv.to_close.push(t);
        }
    }
}

/// A replica's hard output limit: one below repl-backlog-size would break
/// PSYNCs that succeed, so the backlog size applies instead
/// (checkClientOutputBufferLimits).
pub fn replica_hard_limit(srv: &Server, hard: u64) -> u64 {
    if hard == 0 {
        return 0;
    }
    hard.max(super::backlog_size(srv).max(16 * 1024) as u64)
}

/// A replica's connection is being closed.
pub fn replica_closed(srv: &mut Server, c: &mut Client, t: usize) {
    let was = is_replica_client(c);
    srv.repl.replicas.retain(|&x| x != t);
    if was {
        info!("Connection with replica {} lost.", replica_name(c));
    }
    super::diskless::replica_removed(srv, t);
    trim_backlog(srv);
    // A disk snapshot nobody waits for any more is not useful (unless
    // save points want it).
    let waited_end = c.repl.as_ref().map(|r| r.state) == Some(RState::WaitBgsaveEnd);
    if waited_end
        && srv.child.as_ref().map(|ch| ch.kind) == Some(ChildKind::ReplSync)
        && srv.repl.snapshot.is_some()
        && crate::persist::rdb_server::save_params(srv).is_empty()
    {
        let others = srv.repl.replicas.iter().any(|&x| {
            srv.clients
                .get(x)
                .and_then(|s| s.as_deref())
                .and_then(|o| o.repl.as_ref())
                .is_some_and(|r| r.state == RState::WaitBgsaveEnd)
        });
        if !others {
            child::kill(srv);
            snapshot_done(srv, false);
        }
    }
}

/// How many online replicas acknowledged offset `off`.
fn acked(srv: &Server, off: i64) -> i64 {
    srv.repl
        .replicas
        .iter()
        .filter_map(|&t| srv.clients.get(t).and_then(|s| s.as_deref()))
        .filter_map(|c| c.repl.as_ref())
        .filter(|r| r.online() && r.ack_off >= off)
        .count() as i64
}

/// min-replicas-to-write / min-replicas-max-lag: (configured, good count).
pub fn good_replicas(srv: &Server) -> Option<(i64, i64)> {
    let want = srv.config.min_replicas_to_write;
    let max_lag = srv.config.min_replicas_max_lag;
    if want == 0 || max_lag == 0 {
        return None;
    }
    let now = clock::wall_ms();
    let good = srv
        .repl
        .replicas
        .iter()
        .filter_map(|&t| srv.clients.get(t).and_then(|s| s.as_deref()))
        .filter_map(|c| c.repl.as_ref())
        .filter(|r| r.online() && (now - r.ack_time_ms) / 1000 <= max_lag)
        .count() as i64;
    Some((want, good))
}

/// checkGoodReplicasStatus: may writes proceed?
pub fn enough_good_replicas(srv: &Server) -> bool {
    good_replicas(srv).is_none_or(|(want, good)| good >= want)
}

/// WAIT numreplicas timeout
pub fn wait_command(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if srv.repl.is_replica() {
        return Err(CmdError::Static(error::WAIT_ON_REPLICA));
    }
    let num = a.i64(1)?;
    let ms = crate::util::num::parse_i64(a.get(2))
        .ok_or(CmdError::Static(error::TIMEOUT_NOT_INTEGER))?;
    if ms < 0 {
        return Err(CmdError::Static(error::TIMEOUT_NEGATIVE));
    }
    let deadline_ms = if ms > 0 {
        // Redis 7.0 has no overflow check here: a huge timeout waits
        // (practically) forever.
        clock::wall_ms().saturating_add(ms)
    } else {
        0
    };
    let off = c.woff;
    let n = acked(srv, off);
    if n >= num || c.deny_blocking || c.multi.is_some() {
        c.out.int(n);
        return Ok(());
    }
    srv.repl.waiters.push(Waiter {
        id: c.id,
        token: c.token,
        offset: off,
        num,
        deadline_ms,
    });
    srv.blocked_clients += 1;
    c.blocked = Some(Box::new(crate::blocking::BlockedState {
        kind: crate::blocking::BlockKind::Wait,
        db: c.db,
        keys: Vec::new(),
        deadline_ms: 0,
        argv: a.to_vec(),
    }));
    srv.repl.get_ack = true;
    Ok(())
}

/// Removes the WAIT of client `id` (CLIENT UNBLOCK), returning how many
/// replicas acknowledged its offset so far — what the unblocked WAIT
/// replies, as Redis's replyToBlockedClientTimedOut.
pub fn take_waiter(srv: &mut Server, id: u64) -> Option<i64> {
    let pos = srv.repl.waiters.iter().position(|w| w.id == id)?;
    let w = srv.repl.waiters.remove(pos);
    Some(acked(srv, w.offset))
}

/// Once per loop iteration: GETACK for WAIT, WAIT replies, RDB streaming.
pub fn before_sleep(srv: &mut Server) {
    // Reap our snapshot child promptly (the cron also does, less often).
    if srv.child.as_ref().map(|ch| ch.kind) == Some(ChildKind::ReplSync) {
        child::check_children(srv);
    }
    // Not while clients are paused: it would move the offset (a failover
    // waits for replicas to match it); sent after the pause.
    if srv.repl.get_ack && !srv.pause_active() {
        srv.repl.get_ack = false;
        if !srv.repl.is_replica() {
            super::feed_raw(srv, b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
        }
    }
    if !srv.repl.waiters.is_empty() {
        let now = clock::wall_ms();
        let waiters = std::mem::take(&mut srv.repl.waiters);
        let mut keep = Vec::new();
        for w in waiters {
            let n = acked(srv, w.offset);
            let timed_out = w.deadline_ms > 0 && now >= w.deadline_ms;
            if n < w.num && !timed_out {
                keep.push(w);
                continue;
            }
            let Some(Some(c)) = srv.clients.get_mut(w.token) else {
                continue;
            };
            if c.id != w.id || c.blocked.is_none() {
                continue;
            }
            c.blocked = None;
            c.out.int(n);
            srv.blocked_clients -= 1;
            if !c.write_queued {
                c.write_queued = true;
                srv.to_flush.push(w.token);
            }
            if c.pending_input() > 0 && !srv.resume_input.contains(&w.token) {
                srv.resume_input.push_back(w.token);
            }
        }
        srv.repl.waiters.extend(keep);
    }
    let bulk: Vec<usize> = srv
        .repl
        .replicas
        .iter()
        .copied()
        .filter(|&t| {
            srv.clients
                .get(t)
                .and_then(|s| s.as_deref())
                .and_then(|c| c.repl.as_ref())
                .is_some_and(|r| r.state == RState::SendBulk)
        })
        .collect();
    for t in bulk {
        pump(srv, t);
    }
}

/// Is an RDB being sent to a replica whose socket still takes more? The
/// event loop then polls without sleeping.
pub fn bulk_in_progress(srv: &Server) -> bool {
    if super::diskless::needs_resume(srv) {
        return true;
    }
    srv.repl.replicas.iter().any(|&t| {
        srv.clients
            .get(t)
            .and_then(|s| s.as_deref())
            .is_some_and(|c| {
                c.writable
                    && c.pending_output() == 0
                    && c.repl.as_ref().is_some_and(|r| r.state == RState::SendBulk)
            })
    })
}

/// The earliest WAIT deadline (for the poll timeout).
pub fn next_deadline(srv: &Server) -> Option<i64> {
    srv.repl
        .waiters
        .iter()
        .filter(|w| w.deadline_ms > 0)
        .map(|w| w.deadline_ms)
        .min()
}

/// Once a second: PING replicas every repl-ping-replica-period, newlines
/// to replicas waiting for their RDB, replica timeouts, pending snapshots.
pub fn cron(srv: &mut Server) {
    if srv.repl.replicas.is_empty() {
        return;
    }
    let period = srv.config.repl_ping_replica_period.max(1);
    if !srv.repl.is_replica()
        && srv.repl.cron_loops.is_multiple_of(period)
        && !super::failover::holds_pings(srv)
    {
        super::feed_raw(srv, b"*1\r\n$4\r\nPING\r\n");
    }
    let timeout_ms = srv.config.repl_timeout * 1000;
    let now = clock::wall_ms();
    let tokens = srv.repl.replicas.clone();
    let socket_target = super::diskless::active(srv);
    for t in tokens {
        let Some(Some(c)) = srv.clients.get_mut(t) else {
            continue;
        };
        let Some(r) = c.repl.as_ref() else { continue };
        match r.state {
            // Keep the replica's read timeout from firing (not while a
            // diskless transfer feeds its socket).
            RState::WaitBgsaveStart | RState::WaitBgsaveEnd
                if (r.state == RState::WaitBgsaveStart || !socket_target)
                    && c.pending_output() == 0 =>
            {
                let _ = c.sock.as_mut().map(|s| s.write(b"\n"));
            }
            RState::Online if !r.pre_psync && now - r.ack_time_ms > timeout_ms => {
                warn!(
                    "Disconnecting timedout replica (streaming sync): {}",
                    replica_name(c)
                );
                c.close_asap = true;
                srv.to_close.push(t);
            }
            _ => {}
        }
    }
    super::diskless::cron(srv, timeout_ms);
    start_pending_fork(srv);
    trim_backlog(srv);
}
