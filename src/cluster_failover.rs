//! Failover driven from the cluster bus (persist/replication layer): runs
//! the pure steps of `cluster::failover` where cluster.c does — on
//! FAILOVER_AUTH_REQUEST / ACK, MFSTART and a paused master's offset
//! (clusterProcessPacket), in clusterCron (manual failover timeout and
//! handling, the replica's election, replica migration) and in
//! clusterBeforeSleep (CLUSTER_TODO_HANDLE_FAILOVER / _MANUALFAILOVER) —
//! and carries out their effects: bus messages (through `cluster_bus`'s
//! send buffers), log lines at warning level, nodes.conf saves and state
//! updates (as before-sleep to-dos), replication changes and the write
//! pause of a master in a manual failover. CLUSTER FAILOVER
//! [FORCE|TAKEOVER] starts here too. Myself's NOFAILOVER flag follows
//! cluster-replica-no-failover (clusterUpdateMyselfFlags, cron and
//! before sleep).

use tracing::warn;

use crate::cluster::bus::{mflag0, Body, Message};
use crate::cluster::failover::{self, Effect, Env, ManualMode, VoteRequest};
use crate::cluster::ids::NodeFlags;
use crate::cluster::outgoing::{self, PingKind};
use crate::cluster::process::{self, todo};
use crate::cluster::state::NodeIdx;
use crate::cluster_bus::{flush_link, header_opts_of, send};
use crate::server::{Server, PAUSE_DURING_FAILOVER};

/// The facts the failover steps need from the server.
fn env(srv: &Server, now: i64) -> Env {
    let data_age = match srv.repl.link.as_deref() {
        Some(l) if l.connected() => now - l.last_io_ms,
        Some(l) => now - l.down_since_ms,
        None => now,
    };
    Env {
        now,
        node_timeout: srv.config.cluster_node_timeout,
        validity_factor: srv.config.cluster_replica_validity_factor,
        repl_ping_period: srv.config.repl_ping_replica_period as i64,
        no_failover: srv.config.cluster_replica_no_failover,
        my_offset: crate::cluster_bus::my_bus_offset(srv),
        data_age,
        random: rand::random(),
    }
}

/// A message from myself of this body (clusterBuildMessageHdr).
fn message(srv: &Server, body: Body, extra_mflags0: u8) -> Option<Message> {
    let cl = srv.cluster.as_deref()?;
    let o = header_opts_of(
        &srv.config.cluster_announce_ip,
        crate::cluster_bus::my_bus_offset(srv),
        cl.election.mf_end != 0,
    );
    let mut header = outgoing::header(&cl.state, &o);
    header.mflags[0] |= extra_mflags0;
    Some(Message { header, body })
}

/// Sends `m` on the outbound links of the nodes `to` chooses (myself and
/// nodes in handshake never).
fn send_to(srv: &mut Server, m: &Message, to: impl Fn(NodeIdx) -> bool) {
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let ids: Vec<usize> = cl
        .state
        .iter()
        .filter(|(i, n)| !n.flags.any(NodeFlags::MYSELF | NodeFlags::HANDSHAKE) && to(*i))
        .filter_map(|(_, n)| n.link)
        .collect();
    for &id in &ids {
        send(cl, id, m);
    }
    for id in ids {
        flush_link(srv, id);
    }
}

/// A PING or PONG (fresh gossip) to the nodes `to` chooses.
fn send_ping_to(srv: &mut Server, kind: PingKind, to: impl Fn(NodeIdx) -> bool) {
    let paused = srv
        .cluster
        .as_deref()
        .is_some_and(|c| c.election.mf_end != 0);
    let o = header_opts_of(
        &srv.config.cluster_announce_ip,
        crate::cluster_bus::my_bus_offset(srv),
        paused,
    );
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let now = crate::clock::wall_ms();
    let ids: Vec<(NodeIdx, usize)> = cl
        .state
        .iter()
        .filter(|(i, n)| !n.flags.any(NodeFlags::MYSELF | NodeFlags::HANDSHAKE) && to(*i))
        .filter_map(|(i, n)| n.link.map(|l| (i, l)))
        .collect();
    for &(idx, id) in &ids {
        let m = process::ping_message(&cl.state, kind, &o);
        if kind == PingKind::Ping {
            cl.state.node_mut(idx).ping_sent = now;
        }
        send(cl, id, &m);
    }
    for (_, id) in ids {
        flush_link(srv, id);
    }
}

/// Carries out the failover steps' effects.
pub fn apply(srv: &mut Server, fx: Vec<Effect>) {
    for e in fx {
        match e {
            Effect::Log(line) => warn!("{}", line),
            Effect::RequestAuth { force_ack } => {
                let extra = if force_ack { mflag0::FORCEACK } else { 0 };
                if let Some(m) = message(srv, Body::FailoverAuthRequest, extra) {
                    send_to(srv, &m, |_| true);
                }
            }
            Effect::SendAuthAck(n) => {
                if let Some(m) = message(srv, Body::FailoverAuthAck, 0) {
                    send_to(srv, &m, |i| i == n);
                }
            }
            Effect::SendMfStart(n) => {
                if let Some(m) = message(srv, Body::MfStart, 0) {
                    send_to(srv, &m, |i| i == n);
                }
            }
            Effect::PongLocalReplicas => {
                let Some(cl) = srv.cluster.as_deref() else {
                    return;
                };
                let me = cl.state.myself_node();
                let Some(master) = me.replica_of.filter(|_| me.is_replica()) else {
                    continue;
                };
                let replicas = cl.state.node(master).replicas.clone();
                send_ping_to(srv, PingKind::Pong, |i| replicas.contains(&i));
            }
            Effect::PongAll => crate::cluster_bus::broadcast_pong(srv),
            Effect::SaveConfig => add_todo(srv, todo::SAVE_CONFIG | todo::FSYNC_CONFIG),
            Effect::UpdateState => add_todo(srv, todo::UPDATE_STATE),
            Effect::HandleFailoverSoon => add_todo(srv, todo::HANDLE_FAILOVER),
            Effect::UnsetReplicationMaster => crate::replication::replica::unset_master(srv),
            Effect::ReplicateFrom(n) => {
                let Some(cl) = srv.cluster.as_deref_mut() else {
                    return;
                };
                // clusterSetMaster: the state first, then replication.
                let mut pfx = Vec::new();
                process::set_my_master(&mut cl.state, n, &mut pfx);
                let r = failover::reset_manual_failover(&mut cl.election);
                cl.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE | todo::FSYNC_CONFIG;
                let (ip, port) = (cl.state.node(n).ip.clone(), cl.state.node(n).port);
                crate::replication::replica::set_master(srv, ip, port);
                apply(srv, r);
            }
            Effect::UnpauseClients => srv.unpause_purpose(PAUSE_DURING_FAILOVER),
            Effect::PauseWritesUntil(_) => {
                // Lifted by resetManualFailover (at the latest when the
                // manual failover times out, before the pause's end).
                srv.pause_purpose(PAUSE_DURING_FAILOVER)
            }
            Effect::Ping(n) => send_ping_to(srv, PingKind::Ping, |i| i == n),
        }
    }
}

fn add_todo(srv: &mut Server, t: u8) {
    if let Some(cl) = srv.cluster.as_deref_mut() {
        cl.todo |= t;
    }
}

/// clusterProcessPacket's failover parts, after the rest of the message
/// was processed: a paused master's offset, the vote requests and acks,
/// MFSTART.
pub fn on_message(srv: &mut Server, msg: &Message) {
    let now = crate::clock::wall_ms();
    let node_timeout = srv.config.cluster_node_timeout;
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let h = &msg.header;
    let Some(sender) = cl
        .state
        .lookup(&h.sender)
        .filter(|&s| !cl.state.node(s).in_handshake())
    else {
        return;
    };
    let mut fx = Vec::new();
    let paused = h.mflags[0] & mflag0::PAUSED != 0;
    if let Some(e) = failover::receive_master_offset(
        &cl.state,
        &mut cl.election,
        sender,
        h.offset as i64,
        paused,
    ) {
        fx.push(e);
        cl.todo |= todo::HANDLE_MANUALFAILOVER;
    }
    match &msg.body {
        Body::FailoverAuthRequest => {
            let req = VoteRequest {
                current_epoch: h.current_epoch,
                config_epoch: h.config_epoch,
                claimed_slots: &h.myslots,
                force_ack: h.mflags[0] & mflag0::FORCEACK != 0,
            };
            fx.extend(failover::vote(
                &mut cl.state,
                sender,
                &req,
                node_timeout,
                now,
            ));
        }
        Body::FailoverAuthAck
            if failover::receive_auth_ack(&cl.state, &mut cl.election, sender, h.current_epoch) =>
        {
            cl.todo |= todo::HANDLE_FAILOVER;
        }
        Body::MfStart => {
            if let Some(f) = failover::receive_mfstart(&cl.state, &mut cl.election, sender, now) {
                fx.extend(f);
            }
        }
        _ => {}
    }
    apply(srv, fx);
}

/// clusterCron's failover part: the manual failover timeout, then for a
/// replica the manual failover handling, the election and replica
/// migration to an orphaned master.
pub fn cron(srv: &mut Server) {
    let now = crate::clock::wall_ms();
    let e = env(srv, now);
    let allow_migration = srv.config.cluster_allow_replica_migration;
    let barrier = srv.config.cluster_migration_barrier.max(0) as usize;
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    cl.update_myself_flags(&srv.config);
    let mut fx = failover::manual_failover_check_timeout(&mut cl.election, now);
    let st = &cl.state;
    let me = st.myself_node();
    if me.is_replica() {
        // Orphaned masters and the most working replicas of a master.
        let (mut orphaned, mut max_replicas, mut mine) = (0usize, 0usize, 0usize);
        for (idx, n) in st.iter() {
            if n.is_master() && !n.failed() {
                let ok = failover::non_failing_replicas(st, idx);
                if ok == 0 && n.numslots > 0 && n.flags.any(NodeFlags::MIGRATE_TO) {
                    orphaned += 1;
                }
                max_replicas = max_replicas.max(ok);
                if me.replica_of == Some(idx) {
                    mine = ok;
                }
            }
        }
        let (_, mf) = failover::handle_manual_failover(&mut cl.election, e.my_offset);
        fx.extend(mf);
        fx.extend(failover::handle_replica_failover(
            &mut cl.state,
            &mut cl.election,
            &e,
        ));
        if orphaned > 0 && max_replicas >= 2 && mine == max_replicas && allow_migration {
            fx.extend(failover::replica_migration(
                &mut cl.state,
                max_replicas,
                barrier,
                now,
            ));
        }
    }
    apply(srv, fx);
}

/// clusterBeforeSleep's failover part (before its state update and save).
pub fn before_sleep(srv: &mut Server) {
    let now = crate::clock::wall_ms();
    let e = env(srv, now);
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    cl.update_myself_flags(&srv.config);
    let flags = cl.todo;
    cl.todo &= !(todo::HANDLE_FAILOVER | todo::HANDLE_MANUALFAILOVER);
    let mut fx = Vec::new();
    if flags & todo::HANDLE_MANUALFAILOVER != 0 {
        if cl.state.myself_node().is_replica() {
            let (_, mf) = failover::handle_manual_failover(&mut cl.election, e.my_offset);
            fx.extend(mf);
            fx.extend(failover::handle_replica_failover(
                &mut cl.state,
                &mut cl.election,
                &e,
            ));
        }
    } else if flags & todo::HANDLE_FAILOVER != 0 {
        fx.extend(failover::handle_replica_failover(
            &mut cl.state,
            &mut cl.election,
            &e,
        ));
    }
    if !fx.is_empty() {
        apply(srv, fx);
    }
}

/// CLUSTER FAILOVER [FORCE|TAKEOVER]: Err with Redis's refusal (without
/// the "ERR " prefix).
pub fn manual_failover(srv: &mut Server, mode: ManualMode) -> Result<(), &'static str> {
    let now = crate::clock::wall_ms();
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return Err("This instance has cluster support disabled");
    };
    if let Some(why) = failover::manual_failover_refusal(&cl.state, mode) {
        return Err(why);
    }
    let fx = failover::start_manual_failover(&mut cl.state, &mut cl.election, mode, now);
    apply(srv, fx);
    Ok(())
}
