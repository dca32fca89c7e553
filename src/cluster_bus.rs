//! The cluster bus driver: the IO around `cluster::process`. It listens
//! on the bus port (cluster-port, or port + 10000) with the event loop's
//! reserved tokens (`poller::CLUSTER_LISTENER_BASE`, links at
//! `poller::CLUSTER_LINK_BASE + id`), accepts inbound links, connects
//! outbound ones without blocking, frames what it reads
//! (`bus::frame_len`, a framing error frees the link) and decodes whole
//! messages (`bus::decode`; a refused message is logged and dropped),
//! runs `process` and carries out its effects (sends, link frees, pub/sub
//! deliveries, key deletion, replication), and runs clusterCron every
//! 100 ms and clusterBeforeSleep before the loop sleeps. Under
//! `tls-cluster` the links speak TLS (Redis's connCreateTLS /
//! connCreateAcceptedTLS): accepted ones with the server certificate,
//! client certificates required and checked against the CA, outbound
//! ones with the client context (tls-client-cert-file, else the server
//! certificate), the peer's certificate checked against the CA; an
//! outbound link counts as connected once its handshake is done, an
//! inbound one handshakes inside its first reads. The failover
//! parts of processing, the cron and before-sleep are `cluster_failover`'s
//! (called from here; it uses `send` / `flush_link` / `header_opts_of`).
//! The links are served while a script is busy or data loads too
//! (`event_while_blocked`); slots myself stops serving lose their shard
//! channels' subscribers (`drop_lost_slot_channels`); DEBUG
//! DROP-CLUSTER-PACKET-FILTER drops received messages of one type.
//!
//! Layer: persist/replication (it points replication at a new master and
//! deletes keys); the state, the protocol and the links' bookkeeping stay
//! in `cluster` (services). Log lines are Redis 7.0.15's.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::{Interest, Token};
use tracing::{debug, trace, warn};

use crate::client::Conn;
use crate::cluster::bus::{self, msg_type, BusError, Message};
use crate::cluster::ids::NodeFlags;
use crate::cluster::link::Link;
use crate::cluster::local::Cluster;
use crate::cluster::outgoing::{self, HeaderOpts, PingKind};
use crate::cluster::process::{self, todo, Ctx, Effect, LinkView, Outcome};
use crate::cluster::state::NodeIdx;
use crate::config::TlsAuthClients;
use crate::poller::{self, CLUSTER_LINK_BASE, CLUSTER_LISTENER_BASE};
use crate::server::Server;

/// clusterCron's period (it runs from serverCron every 100 ms).
const CRON_PERIOD_MS: i64 = 100;

/// clusterInit's listener: the bus port on every bind address. Err after
/// Redis's log line (the caller exits).
pub fn listen(srv: &mut Server) -> Result<(), ()> {
    let base = if srv.config.tls_cluster {
        srv.config.tls_port as u32
    } else {
        srv.config.port as u32
    };
    let cport = if srv.config.cluster_port != 0 {
        srv.config.cluster_port as u32
    } else {
        base + crate::cluster::nodes_conf::PORT_INCR
    };
    let ls = crate::listen::listen_tcp(&srv.config.bind, cport as u16, srv.config.tcp_backlog);
    match ls {
        Ok(ls) if !ls.is_empty() => {
            if let Some(cl) = srv.cluster.as_deref_mut() {
                cl.bus_listeners = ls;
            }
            Ok(())
        }
        _ => {
            warn!("Failed listening on port {} (cluster), aborting.", cport);
            Err(())
        }
    }
}

/// Registers the bus listeners with the poller (after the event loop is
/// set up).
pub fn register(srv: &mut Server) {
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let io = srv.io.clone();
    poller::with_registry(&io, |reg| {
        for (i, l) in cl.bus_listeners.iter_mut().enumerate() {
            if let Err(e) = reg.register(l, Token(CLUSTER_LISTENER_BASE + i), Interest::READABLE) {
                warn!("Registering the cluster bus listener: {}", e);
            }
        }
    });
}

/// A readiness event on a bus token.
pub fn event(srv: &mut Server, token: usize, readable: bool, writable: bool) {
    if token >= CLUSTER_LISTENER_BASE {
        accept_all(srv, token - CLUSTER_LISTENER_BASE);
        return;
    }
    let id = token - CLUSTER_LINK_BASE;
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let Some(l) = cl.link(id) else {
        return;
    };
    if !l.connected {
        if (readable || writable) && connect_done(srv, id) {
            // What arrived with the handshake (edge-triggered readiness
            // does not come back for it).
            read_link(srv, id);
        }
        return;
    }
    if writable {
        flush_link(srv, id);
    }
    if readable {
        read_link(srv, id);
    }
}

/// `event` while a script is busy or data loads (from the event loop's
/// processEventsWhileBlocked): a change of master myself must follow
/// waits for the main loop (`Cluster::deferred_master`).
pub fn event_while_blocked(srv: &mut Server, token: usize, readable: bool, writable: bool) {
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let was = std::mem::replace(&mut cl.blocked, true);
    event(srv, token, readable, writable);
    if let Some(cl) = srv.cluster.as_deref_mut() {
        cl.blocked = was;
    }
}

fn register_link(srv: &Server, l: &mut Link, id: usize) -> bool {
    poller::with_registry(&srv.io, |reg| {
        reg.register(
            &mut l.stream,
            Token(CLUSTER_LINK_BASE + id),
            Interest::READABLE | Interest::WRITABLE,
        )
        .is_ok()
    })
    .unwrap_or(false)
}

/// clusterAcceptHandler: inbound links, their node unknown until a
/// message names it.
fn accept_all(srv: &mut Server, i: usize) {
    loop {
        let Some(cl) = srv.cluster.as_deref_mut() else {
            return;
        };
        let Some(l) = cl.bus_listeners.get(i) else {
            return;
        };
        let (s, addr) = match l.accept() {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                debug!("Error accepting cluster node: {}", e);
                return;
            }
        };
        let _ = s.set_nodelay(true);
        let local_ip = s
            .local_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let stream = if srv.config.tls_cluster {
            // Client certificates are required whatever tls-auth-clients
            // says (TLS_CLIENT_AUTH_YES).
            let t = srv
                .tls
                .server_config(TlsAuthClients::Yes)
                .ok_or_else(|| io::Error::other("TLS is not configured"))
                .and_then(|cfg| crate::tls::TlsStream::server(s, cfg));
            match t {
                Ok(mut t) => {
                    t.set_quiet();
                    Conn::Tls(Box::new(t))
                }
                Err(e) => {
                    debug!(
                        "Error creating an accepting connection for cluster node: {}",
                        e
                    );
                    // (Redis returns; readiness here is edge-triggered,
                    // so the backlog is drained.)
                    continue;
                }
            }
        } else {
            Conn::Tcp(s)
        };
        debug!(
            "Accepting cluster node connection from {}:{}",
            addr.ip(),
            addr.port()
        );
        let now = crate::clock::wall_ms();
        let mut link = Link::new(stream, None, now);
        link.peer_ip = addr.ip().to_string();
        link.local_ip = local_ip;
        let id = cl.add_link(link);
        let mut l = cl.links[id].take();
        let ok = l.as_mut().is_some_and(|l| register_link(srv, l, id));
        let Some(cl) = srv.cluster.as_deref_mut() else {
            return;
        };
        cl.links[id] = l;
        if !ok {
            cl.free_link(id);
        }
    }
}

/// An outbound connect finished (or failed): clusterLinkConnectHandler.
/// True when the link is up.
fn connect_done(srv: &mut Server, id: usize) -> bool {
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return false;
    };
    let Some(l) = cl.link_mut(id) else {
        return false;
    };
    let Some(sock) = l.stream.tcp() else {
        return false;
    };
    let err = match sock.take_error() {
        Ok(Some(e)) | Err(e) => Some(crate::listen::os_message(&e)),
        Ok(None) => match sock.peer_addr() {
            Ok(_) => None,
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return false,
            Err(e) => Some(crate::listen::os_message(&e)),
        },
    };
    // Under tls-cluster the link is up once the handshake is done.
    let err = match (err, &mut l.stream) {
        (None, Conn::Tls(t)) => match t.handshake() {
            Ok(true) => None,
            Ok(false) => return false,
            Err(e) => Some(e.to_string()),
        },
        (err, _) => err,
    };
    let node = l.node;
    if let Some(e) = err {
        if let Some(n) = node.and_then(|n| cl.state.get(n)) {
            debug!(
                "Connection with Node {} at {}:{} failed: {}",
                n.name, n.ip, n.cport, e
            );
        }
        cl.free_link(id);
        return false;
    }
    l.connected = true;
    let (peer, local) = l
        .stream
        .tcp()
        .map(|s| (s.peer_addr(), s.local_addr()))
        .unzip();
    let ip = |a: Option<io::Result<SocketAddr>>| {
        a.and_then(|a| a.ok())
            .map(|a| a.ip().to_string())
            .unwrap_or_default()
    };
    l.peer_ip = ip(peer);
    l.local_ip = ip(local);
    let Some(n) = node.filter(|&n| cl.state.get(n).is_some()) else {
        return true;
    };
    // A PING at once (a MEET for a node we were asked to meet), keeping
    // the time of a ping that was pending when the link dropped.
    let old_ping_sent = cl.state.node(n).ping_sent;
    let kind = if cl.state.node(n).flags.any(NodeFlags::MEET) {
        PingKind::Meet
    } else {
        PingKind::Ping
    };
    let o = header_opts_of(
        &srv.config.cluster_announce_ip,
        srv.repl.bus_offset(cl.state.myself_node().is_replica()),
        cl.election.mf_end != 0,
    );
    let m = process::ping_message(&cl.state, kind, &o);
    let now = crate::clock::wall_ms();
    let node = cl.state.node_mut(n);
    node.ping_sent = if old_ping_sent != 0 {
        old_ping_sent
    } else {
        now
    };
    node.flags.remove(NodeFlags::MEET);
    trace!(
        "Connecting with Node {} at {}:{}",
        node.name,
        node.ip,
        node.cport
    );
    send(cl, id, &m);
    flush_link(srv, id);
    true
}

/// The replication offset in our headers (`ReplState::bus_offset` for
/// myself's cluster role).
pub(crate) fn my_bus_offset(srv: &Server) -> i64 {
    let replica = srv
        .cluster
        .as_deref()
        .is_some_and(|c| c.state.myself_node().is_replica());
    srv.repl.bus_offset(replica)
}

/// The header options of our messages: a master flags PAUSED while a
/// replica's manual failover is in progress (`mf_paused`).
pub(crate) fn header_opts_of(announce_ip: &str, offset: i64, mf_paused: bool) -> HeaderOpts<'_> {
    HeaderOpts {
        announce_ip,
        repl_offset: offset.max(0) as u64,
        mf_paused,
    }
}

/// clusterSendMessage: appends to the send buffer (written by
/// `flush_link`) and counts the message.
pub(crate) fn send(cl: &mut Cluster, id: usize, m: &Message) {
    let Some(l) = cl.link_mut(id) else {
        return;
    };
    m.encode_into(&mut l.sndbuf);
    let t = m.body.msg_type() as usize;
    if t < msg_type::COUNT {
        cl.state.stats_bus_messages_sent[t] += 1;
    }
}

/// Writes what the link's buffer holds; an error frees the link.
pub(crate) fn flush_link(srv: &mut Server, id: usize) {
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let Some(l) = cl.link_mut(id) else {
        return;
    };
    if !l.connected {
        return;
    }
    // TLS bytes a full socket held back (a write waits for them).
    let mut failed = l.stream.flush_tls().is_err();
    let mut written = 0;
    while !failed && written < l.sndbuf.len() {
        match l.stream.write(&l.sndbuf[written..]) {
            Ok(0) => {
                failed = true;
                break;
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                trace!("I/O error writing to node link: {}", e);
                failed = true;
                break;
            }
        }
    }
    l.sndbuf.drain(..written);
    if failed {
        cl.free_link(id);
    }
}

/// clusterReadHandler: reads what is there, processing each whole
/// message.
fn read_link(srv: &mut Server, id: usize) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let Some(l) = srv.cluster.as_deref_mut().and_then(|cl| cl.link_mut(id)) else {
            return;
        };
        let n = match l.stream.read(&mut buf) {
            Ok(0) => {
                trace!("I/O error reading from node link: connection closed");
                free_link(srv, id);
                return;
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                if l.inbound && l.stream.tls_handshaking() {
                    debug!("Error accepting cluster node connection: {}", e);
                } else {
                    trace!("I/O error reading from node link: {}", e);
                }
                free_link(srv, id);
                return;
            }
        };
        l.rcvbuf.extend_from_slice(&buf[..n]);
        loop {
            let Some(l) = srv.cluster.as_deref_mut().and_then(|cl| cl.link_mut(id)) else {
                return;
            };
            let len = match bus::frame_len(&l.rcvbuf) {
                Ok(Some(len)) if l.rcvbuf.len() >= len => len,
                Ok(_) => break,
                Err(e) => {
                    warn!("{}", e);
                    free_link(srv, id);
                    return;
                }
            };
            let frame: Vec<u8> = l.rcvbuf.drain(..len).collect();
            if l.rcvbuf.is_empty() && l.rcvbuf.capacity() > 64 * 1024 {
                l.rcvbuf = Vec::new();
            }
            if !handle_frame(srv, id, &frame) {
                return;
            }
        }
    }
}

fn free_link(srv: &mut Server, id: usize) {
    if let Some(cl) = srv.cluster.as_deref_mut() {
        cl.free_link(id);
    }
}

/// One whole message: decoded, processed, its effects carried out. False
/// when the link is gone.
fn handle_frame(srv: &mut Server, id: usize, frame: &[u8]) -> bool {
    let msg = match bus::decode(frame) {
        Ok(m) => m,
        Err(e) => {
            // Counted as received, as clusterProcessPacket counts before
            // its checks; a version mismatch is dropped silently.
            if frame.len() >= 14 {
                let t = u16::from_be_bytes([frame[12], frame[13]]) as usize;
                if let Some(cl) = srv.cluster.as_deref_mut() {
                    if t < msg_type::COUNT {
                        cl.state.stats_bus_messages_received[t] += 1;
                    }
                }
            }
            if !matches!(e, BusError::Version(_)) {
                warn!("{}", e);
            }
            return true;
        }
    };
    if let Some(cl) = srv.cluster.as_deref_mut() {
        let t = msg.body.msg_type();
        if i64::from(t) == cl.drop_packet_filter {
            if (t as usize) < msg_type::COUNT {
                cl.state.stats_bus_messages_received[t as usize] += 1;
            }
            warn!("Dropping packet that matches debug drop filter");
            return true;
        }
    }
    trace!(
        "--- Processing packet of type {}, {} bytes",
        bus::type_name(msg.body.msg_type()),
        frame.len()
    );
    let now = crate::clock::wall_ms();
    let out = {
        let index = srv.dbs[0].slots.as_deref();
        let keys_in = |s: usize| index.map_or(0, |i| i.count(s));
        let Some(cl) = srv.cluster.as_deref_mut() else {
            return false;
        };
        let Some(l) = cl.link(id) else {
            return false;
        };
        let (peer_ip, local_ip) = (l.peer_ip.clone(), l.local_ip.clone());
        let view = LinkView {
            id,
            node: l.node,
            inbound: l.inbound,
            peer_ip: &peer_ip,
            local_ip: &local_ip,
        };
        let ctx = Ctx {
            now,
            node_timeout: srv.config.cluster_node_timeout,
            announce_ip_set: !srv.config.cluster_announce_ip.is_empty(),
            allow_replica_migration: srv.config.cluster_allow_replica_migration,
            hdr: header_opts_of(
                &srv.config.cluster_announce_ip,
                srv.repl.bus_offset(cl.state.myself_node().is_replica()),
                cl.election.mf_end != 0,
            ),
            keys_in_slot: &keys_in,
        };
        process::process(&mut cl.state, &ctx, &view, &msg)
    };
    let gone = out.link_gone;
    apply(srv, Some(id), out);
    crate::cluster_failover::on_message(srv, &msg);
    !gone
        && srv
            .cluster
            .as_deref()
            .is_some_and(|cl| cl.link(id).is_some())
}

/// Carries out what processing asked for.
fn apply(srv: &mut Server, link: Option<usize>, out: Outcome) {
    let mut touched: Vec<usize> = Vec::new();
    for e in out.effects {
        let Some(cl) = srv.cluster.as_deref_mut() else {
            return;
        };
        match e {
            Effect::BindInbound(n) => {
                if let Some(l) = link.and_then(|id| cl.link_mut(id)) {
                    l.node = Some(n);
                }
            }
            Effect::Reply(m) => {
                if let Some(id) = link {
                    send(cl, id, &m);
                    touched.push(id);
                }
            }
            Effect::SendTo(n, m) => {
                if let Some(id) = cl.state.get(n).and_then(|n| n.link) {
                    send(cl, id, &m);
                    touched.push(id);
                }
            }
            Effect::Broadcast(m) => {
                let ids: Vec<usize> = cl
                    .state
                    .iter()
                    .filter(|(_, n)| !n.flags.any(NodeFlags::MYSELF | NodeFlags::HANDSHAKE))
                    .filter_map(|(_, n)| n.link)
                    .collect();
                for id in ids {
                    send(cl, id, &m);
                    touched.push(id);
                }
            }
            Effect::FreeLink(id) => cl.free_link(id),
            Effect::NodeDeleted(n) => cl.free_node_links(n),
            Effect::Publish {
                channel,
                message,
                sharded,
            } => {
                crate::pubsub::publish_message(srv, None, &channel, &message, sharded);
            }
            Effect::DelKeysInSlot(slot) => del_keys_in_slot(srv, slot),
            Effect::ReplicateFrom(n) if cl.blocked => cl.deferred_master = Some(n),
            Effect::ReplicateFrom(n) => {
                // clusterSetMaster ends any manual failover (a master that
                // paused its writes for one lifts the pause).
                let reset = crate::cluster::failover::reset_manual_failover(&mut cl.election);
                if let Some(node) = cl.state.get(n) {
                    let (ip, port) = (node.ip.clone(), node.port);
                    crate::replication::replica::set_master(srv, ip, port);
                }
                crate::cluster_failover::apply(srv, reset);
            }
        }
    }
    drop_lost_slot_channels(srv, None);
    if let Some(cl) = srv.cluster.as_deref_mut() {
        cl.todo |= out.todo;
    }
    touched.sort_unstable();
    touched.dedup();
    for id in touched {
        flush_link(srv, id);
    }
}

/// removeChannelsInSlot for the slots myself stopped serving since the
/// last call (`channel_slots_lost`, filled by every `del_slot`: SETSLOT,
/// DELSLOTS, UPDATE, a master turning replica...); `cur` is the client
/// running the current command, if any.
pub fn drop_lost_slot_channels(srv: &mut Server, cur: Option<&mut crate::client::Client>) {
    let slots = match srv.cluster.as_deref_mut() {
        Some(cl) if !cl.state.channel_slots_lost.is_empty() => {
            std::mem::take(&mut cl.state.channel_slots_lost)
        }
        _ => return,
    };
    crate::pubsub::shard_unsubscribe_slots(srv, cur, &slots);
}

/// delKeysInSlot: the keys of a slot this node lost are deleted (7.0
/// neither propagates nor notifies this).
fn del_keys_in_slot(srv: &mut Server, slot: usize) {
    let keys: Vec<Vec<u8>> = match srv.dbs[0].slots.as_deref() {
        Some(i) => i
            .keys(slot, usize::MAX)
            .into_iter()
            .map(|k| k.to_vec())
            .collect(),
        None => return,
    };
    for k in keys {
        srv.dbs[0].delete(&k);
    }
}

/// clusterCron, every 100 ms.
pub fn cron(srv: &mut Server) {
    let now = crate::clock::wall_ms();
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    if now - cl.last_cron_ms < CRON_PERIOD_MS * 9 / 10 {
        return;
    }
    cl.last_cron_ms = now;
    if let Some(n) = cl.deferred_master.take() {
        if cl.state.myself_node().replica_of == Some(n) {
            let out = Outcome {
                effects: vec![Effect::ReplicateFrom(n)],
                ..Outcome::default()
            };
            apply(srv, None, out);
        }
    }
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    cl.cron_runs += 1;
    let node_timeout = srv.config.cluster_node_timeout;
    let handshake_timeout = node_timeout.max(1000);
    let limit = srv.config.cluster_link_sendbuf_limit;
    cl.state.stats_pfail_nodes = 0;
    let mut to_connect = Vec::new();
    for idx in cl.state.node_indexes() {
        // Send buffers wasting space shrink; links still over
        // cluster-link-sendbuf-limit are freed.
        let n = cl.state.node(idx);
        for id in [n.link, n.inbound_link].into_iter().flatten() {
            if let Some(l) = cl.link_mut(id) {
                if (l.sndbuf.capacity() - l.sndbuf.len()) / 4 > l.sndbuf.len() {
                    l.sndbuf.shrink_to_fit();
                }
            }
            free_link_over_limit(cl, id, limit);
        }
        let n = cl.state.node(idx);
        if n.flags.any(NodeFlags::MYSELF | NodeFlags::NOADDR) {
            continue;
        }
        let (pfail, expired, linkless) = (
            n.timed_out(),
            n.in_handshake() && now - n.ctime > handshake_timeout,
            n.link.is_none(),
        );
        if pfail {
            cl.state.stats_pfail_nodes += 1;
        }
        if expired {
            cl.del_node(idx);
            continue;
        }
        if linkless {
            to_connect.push(idx);
        }
    }
    for idx in to_connect {
        connect(srv, idx, now);
    }
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let mut out = Outcome::default();
    let update_state = {
        let keys_in = |_: usize| 0;
        let ctx = Ctx {
            now,
            node_timeout,
            announce_ip_set: !srv.config.cluster_announce_ip.is_empty(),
            allow_replica_migration: srv.config.cluster_allow_replica_migration,
            hdr: header_opts_of(
                &srv.config.cluster_announce_ip,
                srv.repl.bus_offset(cl.state.myself_node().is_replica()),
                cl.election.mf_end != 0,
            ),
            keys_in_slot: &keys_in,
        };
        if cl.cron_runs % 10 == 0 {
            process::ping_random_node(&mut cl.state, &ctx, &mut out);
        }
        let links = &cl.links;
        let ctime = |id: usize| {
            links
                .get(id)
                .and_then(|l| l.as_ref())
                .map_or(now, |l| l.ctime)
        };
        process::cron_checks(&mut cl.state, &ctx, &ctime, &mut out)
    };
    apply(srv, None, out);
    // A replica whose replication is off (a restart) starts it once its
    // master's address is known.
    if srv.repl.link.is_none() {
        if let Some(cl) = srv.cluster.as_deref() {
            let me = cl.state.myself_node();
            let master = me.replica_of.filter(|_| me.is_replica());
            if let Some(m) = master.and_then(|m| cl.state.get(m)) {
                if !m.flags.any(NodeFlags::NOADDR) && !m.ip.is_empty() {
                    let (ip, port) = (m.ip.clone(), m.port);
                    crate::replication::replica::set_master(srv, ip, port);
                }
            }
        }
    }
    // Manual failover timeouts, the replica's failover and replica
    // migration.
    crate::cluster_failover::cron(srv);
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    if update_state || cl.state.state == crate::cluster::state::Health::Fail {
        cl.update_state(&srv.config, now);
    }
}

fn free_link_over_limit(cl: &mut Cluster, id: usize, limit: u64) {
    if limit == 0 {
        return;
    }
    let Some(l) = cl.link(id) else {
        return;
    };
    let mem = l.sndbuf.capacity() as u64;
    if mem > limit {
        let name = l
            .node
            .and_then(|n| cl.state.get(n))
            .map_or(String::new(), |n| n.name.to_string());
        warn!(
            "Freeing cluster link({} node {}, used memory: {}) due to exceeding send buffer memory limit.",
            if l.inbound { "from" } else { "to" },
            name,
            mem
        );
        cl.free_link(id);
        cl.state.stat_cluster_links_buffer_limit_exceeded += 1;
    }
}

/// A non-blocking connect to a node's bus port (clusterNodeCronHandleReconnect).
fn connect(srv: &mut Server, idx: NodeIdx, now: i64) {
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let n = cl.state.node(idx);
    let addr: Option<SocketAddr> =
        n.ip.parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, n.cport));
    let stream = match addr.map(mio::net::TcpStream::connect) {
        Some(Ok(s)) => s,
        r => {
            // A synchronous failure: claim a ping was sent, so failure
            // detection works.
            let err = match r {
                Some(Err(e)) => crate::listen::os_message(&e),
                _ => "Invalid address".to_string(),
            };
            trace!(
                "Unable to connect to Cluster Node [{}]:{} -> {}",
                n.ip,
                n.cport,
                err
            );
            let n = cl.state.node_mut(idx);
            if n.ping_sent == 0 {
                n.ping_sent = now;
            }
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let stream = if srv.config.tls_cluster {
        let t = srv
            .tls
            .ctx
            .as_ref()
            .ok_or_else(|| io::Error::other("TLS is not configured"))
            .and_then(|c| crate::tls::TlsStream::client(stream, c.client.clone(), &n.ip));
        match t {
            Ok(t) => Conn::Tls(Box::new(t)),
            Err(e) => {
                trace!(
                    "Unable to connect to Cluster Node [{}]:{} -> {}",
                    n.ip,
                    n.cport,
                    e
                );
                let n = cl.state.node_mut(idx);
                if n.ping_sent == 0 {
                    n.ping_sent = now;
                }
                return;
            }
        }
    } else {
        Conn::Tcp(stream)
    };
    let id = cl.add_link(Link::new(stream, Some(idx), now));
    let mut l = cl.links[id].take();
    let ok = l.as_mut().is_some_and(|l| register_link(srv, l, id));
    if let Some(cl) = srv.cluster.as_deref_mut() {
        cl.links[id] = l;
        if !ok {
            cl.free_link(id);
        }
    }
}

/// clusterBeforeSleep: the state update and the nodes.conf save asked for.
pub fn before_sleep(srv: &mut Server) {
    crate::cluster_failover::before_sleep(srv);
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let flags = cl.todo;
    cl.todo = 0;
    let now = crate::clock::wall_ms();
    if flags & todo::UPDATE_STATE != 0 {
        cl.update_state(&srv.config, now);
    }
    if flags & todo::SAVE_CONFIG != 0 {
        cl.save_config(flags & todo::FSYNC_CONFIG != 0);
    }
}

/// clusterBroadcastPong(CLUSTER_BROADCAST_ALL): a PONG to every node with
/// a link (not in handshake), to spread a configuration change at once.
pub fn broadcast_pong(srv: &mut Server) {
    let o = header_opts_of(
        &srv.config.cluster_announce_ip,
        my_bus_offset(srv),
        srv.cluster
            .as_deref()
            .is_some_and(|c| c.election.mf_end != 0),
    );
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let ids: Vec<usize> = cl
        .state
        .iter()
        .filter(|(_, n)| !n.flags.any(NodeFlags::MYSELF | NodeFlags::HANDSHAKE))
        .filter_map(|(_, n)| n.link)
        .collect();
    for &id in &ids {
        let m = process::ping_message(&cl.state, PingKind::Pong, &o);
        send(cl, id, &m);
    }
    for id in ids {
        flush_link(srv, id);
    }
}

/// clusterPropagatePublish: PUBLISH to every node, SPUBLISH to the nodes
/// serving my slots (my master and its replicas, or mine).
pub fn propagate_publish(srv: &mut Server, channel: &[u8], message: &[u8], sharded: bool) {
    let o = header_opts_of(
        &srv.config.cluster_announce_ip,
        my_bus_offset(srv),
        srv.cluster
            .as_deref()
            .is_some_and(|c| c.election.mf_end != 0),
    );
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return;
    };
    let m = outgoing::publish(&cl.state, channel, message, sharded, &o);
    let targets: Vec<NodeIdx> = if sharded {
        cl.state
            .nodes_serving_slots_of(cl.state.myself)
            .unwrap_or_default()
    } else {
        cl.state.node_indexes()
    };
    let ids: Vec<usize> = targets
        .into_iter()
        .map(|i| cl.state.node(i))
        .filter(|n| !n.flags.any(NodeFlags::MYSELF | NodeFlags::HANDSHAKE))
        .filter_map(|n| n.link)
        .collect();
    for &id in &ids {
        send(cl, id, &m);
    }
    for id in ids {
        flush_link(srv, id);
    }
}

/// CLUSTER LINKS: one map per link (direction, node, create-time, events,
/// send-buffer-allocated, send-buffer-used).
pub fn links_reply(cl: &Cluster, out: &mut crate::protocol::reply::ReplyBuf) {
    let links = cl.links_in_node_order();
    out.array(links.len());
    for (_, l) in links {
        out.map(6);
        out.bulk(b"direction");
        out.bulk(if l.inbound { b"from" } else { b"to" });
        out.bulk(b"node");
        let name = l
            .node
            .and_then(|n| cl.state.get(n))
            .map_or(String::new(), |n| n.name.to_string());
        out.bulk(name.as_bytes());
        out.bulk(b"create-time");
        out.int(l.ctime);
        out.bulk(b"events");
        let ev: &[u8] = if !l.connected {
            b"w"
        } else if l.sndbuf.is_empty() && !l.stream.tls_wants_write() {
            b"r"
        } else {
            b"rw"
        };
        out.bulk(ev);
        out.bulk(b"send-buffer-allocated");
        out.int(l.sndbuf.capacity() as i64);
        out.bulk(b"send-buffer-used");
        out.int(l.sndbuf.len() as i64);
    }
}
