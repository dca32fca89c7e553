//! Coordinated failover (Redis 7.0's FAILOVER command, replication.c
//! failoverCommand / updateFailoverStatus / abortFailover).
//!
//! `FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]` on a master:
//! writes are paused (`PAUSE_DURING_FAILOVER`) and the state becomes
//! `waiting-for-sync` until the target replica (or, without TO, any
//! replica) has acknowledged our whole stream. Then the state becomes
//! `failover-in-progress`: we turn into a replica of the target and send it
//! `PSYNC <replid> <offset> FAILOVER`, which makes the target a master
//! (it checks the replid is its own) and continues our history with a
//! partial resync. The target's +CONTINUE / +FULLRESYNC ends the failover
//! (writes resume, refused now that we are a replica); an error reply or a
//! failed write aborts it and we become a master again. TIMEOUT aborts a
//! wait that lasts too long, or with FORCE starts the failover anyway.
//! While it runs the replication cron runs every 100 ms, REPLICAOF and
//! SYNC are refused, and with a timeout no PING goes to the replicas.
//! INFO replication shows `master_failover_state`.

use super::{is_replica_client, master, replica};
use crate::client::Client;
use crate::cmdtable::{cmd, CommandSpec};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::{Server, PAUSE_DURING_FAILOVER};
use tracing::{info, warn};

pub static COMMANDS: &[CommandSpec] = &[cmd("failover", failover_command)];

/// Where a failover stands (server.failover_state).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum State {
    #[default]
    None,
    /// Writes paused, waiting for the target to acknowledge everything.
    WaitForSync,
    /// We are a replica of the target and sent it PSYNC ... FAILOVER.
    InProgress,
}

/// The failover's parameters.
#[derive(Default)]
pub struct Failover {
    pub state: State,
    /// Unix ms the wait for sync ends; 0: no timeout.
    pub end_ms: i64,
    pub force: bool,
    /// The target replica's host and port (chosen when it caught up if
    /// FAILOVER had no TO).
    pub target: Option<(String, i64)>,
}

impl Failover {
    /// The value of INFO's master_failover_state.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            State::None => "no-failover",
            State::WaitForSync => "waiting-for-sync",
            State::InProgress => "failover-in-progress",
        }
    }

    pub fn active(&self) -> bool {
        self.state != State::None
    }
}

/// The replica connected to us from host:port (its announced or peer
/// address, and its listening port): findReplica.
fn find_replica<'a>(srv: &'a Server, host: &str, port: i64) -> Option<&'a Client> {
    srv.repl
        .replicas
        .iter()
        .filter_map(|&t| srv.clients.get(t).and_then(|s| s.as_deref()))
        .filter(|c| is_replica_client(c))
        .find(|c| {
            let lport = c.repl.as_ref().map_or(0, |r| r.listening_port) as i64;
            master::replica_ip(c).eq_ignore_ascii_case(host) && lport == port
        })
}

fn parse_long(arg: &[u8]) -> Result<i64, CmdError> {
    crate::util::num::parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// FAILOVER [TO <host> <port> [FORCE]] [ABORT] [TIMEOUT <ms>]
fn failover_command(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if srv.cluster.is_some() {
        return Err(CmdError::Static(crate::error::CLUSTER_FAILOVER_CMD));
    }
    if a.len() == 2 && a.is(1, "abort") {
        if !srv.repl.failover.active() {
            return Err(CmdError::Static(error::NO_FAILOVER_IN_PROGRESS));
        }
        abort(srv, "Failover manually aborted");
        c.out.ok();
        return Ok(());
    }
    let mut timeout = 0i64;
    let mut force = false;
    let mut target: Option<(String, i64)> = None;
    let mut j = 1;
    while j < a.len() {
        if a.is(j, "timeout") && j + 1 < a.len() && timeout == 0 {
            timeout = parse_long(a.get(j + 1))?;
            if timeout <= 0 {
                return Err(CmdError::Static(error::FAILOVER_TIMEOUT_POSITIVE));
            }
            j += 1;
        } else if a.is(j, "to") && j + 2 < a.len() && target.is_none() {
            let port = parse_long(a.get(j + 2))?;
            target = Some((String::from_utf8_lossy(a.get(j + 1)).into_owned(), port));
            j += 2;
        } else if a.is(j, "force") && !force {
            force = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if srv.repl.failover.active() {
        return Err(CmdError::Static(error::FAILOVER_IN_PROGRESS));
    }
    if srv.repl.is_replica() {
        return Err(CmdError::Static(error::FAILOVER_ON_REPLICA));
    }
    let any_replica = srv
        .repl
        .replicas
        .iter()
        .filter_map(|&t| srv.clients.get(t).and_then(|s| s.as_deref()))
        .any(is_replica_client);
    if !any_replica {
        return Err(CmdError::Static(error::FAILOVER_NO_REPLICAS));
    }
    if force && (timeout == 0 || target.is_none()) {
        return Err(CmdError::Static(error::FAILOVER_FORCE_ARGS));
    }
    if let Some((host, port)) = target.as_ref() {
        let Some(r) = find_replica(srv, host, *port) else {
            return Err(CmdError::Static(error::FAILOVER_NOT_A_REPLICA));
        };
        if !r.repl.as_ref().is_some_and(|ri| ri.online()) {
            return Err(CmdError::Static(error::FAILOVER_TARGET_NOT_ONLINE));
        }
        info!("FAILOVER requested to {}:{}.", host, port);
    } else {
        info!("FAILOVER requested to any replica.");
    }
    let f = &mut srv.repl.failover;
    f.end_ms = if timeout > 0 {
        crate::clock::wall_ms().saturating_add(timeout)
    } else {
        0
    };
    f.force = force;
    f.target = target;
    f.state = State::WaitForSync;
    srv.pause_purpose(PAUSE_DURING_FAILOVER);
    c.out.ok();
    Ok(())
}

/// clearFailoverState: the failover is over (done or aborted); writes
/// resume.
pub fn clear(srv: &mut Server) {
    srv.repl.failover = Failover::default();
    srv.unpause_purpose(PAUSE_DURING_FAILOVER);
}

/// abortFailover: logs why, becomes a master again if it had already
/// turned into a replica of the target.
pub fn abort(srv: &mut Server, why: &str) {
    let f = &srv.repl.failover;
    if !f.active() {
        return;
    }
    match f.target.as_ref() {
        Some((h, p)) => info!("FAILOVER to {}:{} aborted: {}", h, p, why),
        None => info!("FAILOVER to any replica aborted: {}", why),
    }
    if f.state == State::InProgress {
        replica::unset_master(srv);
    }
    clear(srv);
}

/// updateFailoverStatus (replication cron and before sleeping): times the
/// wait out, or starts the failover once the target caught up.
pub fn update_status(srv: &mut Server) {
    if srv.repl.failover.state != State::WaitForSync {
        return;
    }
    let f = &srv.repl.failover;
    if f.end_ms != 0 && f.end_ms <= crate::clock::wall_ms() {
        if f.force {
            let (host, port) = f.target.clone().unwrap_or_default();
            info!(
                "FAILOVER to {}:{} time out exceeded, failing over.",
                host, port
            );
            start(srv, host, port);
        } else {
            abort(srv, "Replica never caught up before timeout");
        }
        return;
    }
    let off = srv.repl.offset;
    let synced = |c: &Client| c.repl.as_ref().is_some_and(|r| r.ack_off == off);
    let target = match f.target.as_ref() {
        Some((h, p)) => find_replica(srv, h, *p)
            .filter(|c| synced(c))
            .map(|_| (h.clone(), *p)),
        None => srv
            .repl
            .replicas
            .iter()
            .filter_map(|&t| srv.clients.get(t).and_then(|s| s.as_deref()))
            .filter(|c| is_replica_client(c))
            .find(|c| synced(c))
            .map(|c| {
                let port = c.repl.as_ref().map_or(0, |r| r.listening_port) as i64;
                (master::replica_ip(c), port)
            }),
    };
    if let Some((host, port)) = target {
        info!("Failover target {}:{} is synced, failing over.", host, port);
        start(srv, host, port);
    }
}

/// FAILOVER_IN_PROGRESS: become a replica of the target; the handshake
/// sends it PSYNC ... FAILOVER.
fn start(srv: &mut Server, host: String, port: i64) {
    let f = &mut srv.repl.failover;
    f.state = State::InProgress;
    f.target = Some((host.clone(), port));
    match u16::try_from(port) {
        Ok(p) => replica::set_master(srv, host, p),
        Err(_) => abort(srv, "Invalid failover target port"),
    }
}

/// The PSYNC the handshake sends carries FAILOVER while one is in progress.
pub fn psync_suffix(srv: &Server) -> Option<&'static [u8]> {
    (srv.repl.failover.state == State::InProgress).then_some(b"FAILOVER" as &[u8])
}

/// Sending PSYNC failed while failing over.
pub fn psync_write_failed(srv: &mut Server) {
    abort(srv, "Write error to failover target");
}

/// The target answered our PSYNC: a resync (true) ends the failover, any
/// other answer aborts it. Returns false when the failover was aborted
/// (the link is gone then).
pub fn psync_answered(srv: &mut Server, resync: bool) -> bool {
    if srv.repl.failover.state != State::InProgress {
        return true;
    }
    if resync {
        clear(srv);
        true
    } else {
        abort(srv, "Failover target rejected psync request");
        false
    }
}

/// `PSYNC <replid> <offset> FAILOVER` received (syncCommand): a replica
/// whose replid matches becomes a master, then serves the PSYNC. Also
/// refuses SYNC while we are failing over ourselves.
pub fn sync_request(srv: &mut Server, c: &Client, a: &Args) -> CmdResult {
    if a.len() > 3 && a.is(0, "psync") && a.is(3, "failover") {
        warn!(
            "Failover request received for replid {}.",
            String::from_utf8_lossy(a.get(1))
        );
        if !srv.repl.is_replica() {
            return Err(CmdError::Static(error::PSYNC_FAILOVER_TO_MASTER));
        }
        if a.get(1) != srv.repl.replid.as_bytes() {
            return Err(CmdError::Static(error::PSYNC_FAILOVER_REPLID));
        }
        replica::unset_master(srv);
        info!(
            "MASTER MODE enabled (failover request from 'id={} addr={} laddr={}')",
            c.id, c.addr, c.laddr
        );
    }
    if srv.repl.failover.active() {
        return Err(CmdError::Static(error::SYNC_WHILE_FAILING_OVER));
    }
    Ok(())
}

/// Replication cron period: 100 ms while failing over, else a second.
pub fn cron_period_ms(srv: &Server) -> i64 {
    if srv.repl.failover.active() {
        100
    } else {
        1000
    }
}

/// No PING to replicas while a failover with a timeout pauses writes
/// (replicationCron's manual_failover_in_progress).
pub fn holds_pings(srv: &mut Server) -> bool {
    srv.repl.failover.end_ms != 0 && srv.pause_active()
}
