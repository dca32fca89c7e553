//! The cluster bus protocol as pure functions of the state, for the
//! driver (`cluster_bus`) to run: `process` is clusterProcessPacket (sender
//! lookup, epochs, PONG replies, MEET's handshake node, handshake
//! completion and renames, address updates, role switches,
//! clusterUpdateSlotsConfigWith, UPDATE, configEpoch collisions, gossip
//! with failure reports, PFAIL → FAIL, FAIL messages, PUBLISH), `cron_checks`
//! is clusterCron's per-node timing (pings, stale links, PFAIL) and
//! `start_handshake` is CLUSTER MEET's clusterStartHandshake. They change
//! the state and return what only the driver can do (`Effect`: messages to
//! send, links to free, pub/sub deliveries, keys to delete, replication)
//! and what clusterBeforeSleep must do (`todo`). Log lines are Redis
//! 7.0.15's (warn = LL_WARNING, info = NOTICE, debug = VERBOSE, trace =
//! DEBUG).
//!
//! Failover (FAILOVER_AUTH_REQUEST / ACK, MFSTART, a paused master's
//! offset) is left to `cluster_failover`, which runs `cluster::failover`'s
//! steps after this processing: here those messages are only counted.

use tracing::{debug, info, trace, warn};

use super::bus::{msg_type, type_name, Body, Gossip, Header, Message, Ping, PingExt};
use super::ids::{NodeFlags, NodeId, SlotBitmap};
use super::outgoing::{self, HeaderOpts, PingKind};
use super::slot::CLUSTER_SLOTS;
use super::state::{ClusterState, Node, NodeIdx};

/// clusterBeforeSleep's to-do flags (CLUSTER_TODO_*).
pub mod todo {
    pub const HANDLE_FAILOVER: u8 = 1;
    pub const UPDATE_STATE: u8 = 2;
    pub const SAVE_CONFIG: u8 = 4;
    pub const FSYNC_CONFIG: u8 = 8;
    pub const HANDLE_MANUALFAILOVER: u8 = 16;
}

/// A FAIL flag on a master still serving slots is cleared after this many
/// node timeouts once it is reachable again (CLUSTER_FAIL_UNDO_TIME_MULT).
pub const FAIL_UNDO_TIME_MULT: i64 = 2;

/// What processing needs besides the state.
pub struct Ctx<'a> {
    /// Unix ms.
    pub now: i64,
    pub node_timeout: i64,
    /// cluster-announce-ip is set (then MEETs do not change myself's ip).
    pub announce_ip_set: bool,
    pub allow_replica_migration: bool,
    /// For the messages we send.
    pub hdr: HeaderOpts<'a>,
    /// Keys this node holds in a slot (countKeysInSlot).
    pub keys_in_slot: &'a dyn Fn(usize) -> usize,
}

/// The link a message arrived on, as processing sees it.
#[derive(Clone, Copy, Debug)]
pub struct LinkView<'a> {
    pub id: usize,
    pub node: Option<NodeIdx>,
    pub inbound: bool,
    /// The peer's address (connPeerToString); empty when unknown.
    pub peer_ip: &'a str,
    /// Our address on this connection (connSockName); empty when unknown.
    pub local_ip: &'a str,
}

/// What the driver carries out after processing.
#[derive(Debug)]
pub enum Effect {
    /// The inbound link belongs to this node now (setClusterNodeToInboundClusterLink;
    /// the node's `inbound_link` is set already).
    BindInbound(NodeIdx),
    /// A message on the link the processed message came on.
    Reply(Message),
    /// A message on the node's outbound link (dropped without one).
    SendTo(NodeIdx, Message),
    /// A message to every node with a link but myself and handshake nodes
    /// (clusterBroadcastMessage).
    Broadcast(Message),
    /// Free this link (the state no longer refers to it).
    FreeLink(usize),
    /// The node was deleted: free the links still attached to it.
    NodeDeleted(NodeIdx),
    /// Deliver to this node's subscribers (pubsubPublishMessage).
    Publish {
        channel: Vec<u8>,
        message: Vec<u8>,
        sharded: bool,
    },
    /// Delete the keys of a slot this master lost (delKeysInSlot).
    DelKeysInSlot(usize),
    /// Myself became a replica of this node (clusterSetMaster's
    /// replicationSetMaster).
    ReplicateFrom(NodeIdx),
}

/// What `process` did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub effects: Vec<Effect>,
    /// CLUSTER_TODO_* flags for before sleep.
    pub todo: u8,
    /// The link the message came on was freed (clusterProcessPacket
    /// returned 0).
    pub link_gone: bool,
}

fn ip_string(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// nodeIp2String: the announced ip, else the link's peer address.
fn node_ip(h: &Header, link: &LinkView) -> String {
    if !h.myip.is_empty() {
        ip_string(&h.myip)
    } else {
        link.peer_ip.to_string()
    }
}

/// A PING, PONG or MEET from myself with a fresh gossip choice.
pub fn ping_message(st: &ClusterState, kind: PingKind, o: &HeaderOpts) -> Message {
    let gossip = outgoing::choose_gossip(st, &mut rand::thread_rng());
    outgoing::ping(st, kind, &gossip, o)
}

/// clusterSendPing on the node's outbound link: a PING records when it
/// was sent.
fn send_ping(st: &mut ClusterState, ctx: &Ctx, node: NodeIdx, kind: PingKind, out: &mut Outcome) {
    if st.node(node).link.is_none() {
        return;
    }
    let m = ping_message(st, kind, &ctx.hdr);
    if kind == PingKind::Ping {
        st.node_mut(node).ping_sent = ctx.now;
    }
    out.effects.push(Effect::SendTo(node, m));
}

/// Frees the node's outbound link (freeClusterLink(node->link)).
fn free_node_link(st: &mut ClusterState, node: NodeIdx, out: &mut Outcome) {
    if let Some(l) = st.node_mut(node).link.take() {
        out.effects.push(Effect::FreeLink(l));
    }
}

/// isSlotUnclaimed.
fn slot_unclaimed(st: &ClusterState, slot: usize) -> bool {
    st.slot_owner(slot).is_none() || st.owner_not_claiming_slot.get(slot)
}

/// Processes one decoded message that arrived on `link`
/// (clusterProcessPacket after its length checks).
pub fn process(st: &mut ClusterState, ctx: &Ctx, link: &LinkView, msg: &Message) -> Outcome {
    let mut out = Outcome::default();
    let h = &msg.header;
    let t = msg.body.msg_type();
    if (t as usize) < msg_type::COUNT {
        st.stats_bus_messages_received[t as usize] += 1;
    }
    let now = ctx.now;
    let mut link_node = link.node;

    // getNodeFromLinkAndMsg.
    let sender = match link_node {
        Some(n) if !st.node(n).in_handshake() => Some(n),
        _ => {
            let s = st.lookup(&h.sender);
            if let (Some(s), None) = (s, link_node) {
                if link.inbound {
                    if let Some(old) = st.node_mut(s).inbound_link.take() {
                        trace!(
                            "Replacing inbound link {} from node {} with {}",
                            old,
                            h.sender,
                            link.id
                        );
                        out.effects.push(Effect::FreeLink(old));
                    }
                    st.node_mut(s).inbound_link = Some(link.id);
                    out.effects.push(Effect::BindInbound(s));
                    link_node = Some(s);
                }
            }
            s
        }
    };
    if let Some(s) = sender {
        st.node_mut(s).data_received = now;
    }

    let mut sender_config_epoch = 0;
    if let Some(s) = sender.filter(|&s| !st.node(s).in_handshake()) {
        sender_config_epoch = h.config_epoch;
        if h.current_epoch > st.current_epoch {
            st.current_epoch = h.current_epoch;
        }
        if sender_config_epoch > st.node(s).config_epoch {
            st.node_mut(s).config_epoch = sender_config_epoch;
            out.todo |= todo::SAVE_CONFIG | todo::FSYNC_CONFIG;
        }
        let n = st.node_mut(s);
        n.repl_offset = h.offset as i64;
        n.repl_offset_time = now;
        // (A replica in a manual failover takes its master's paused
        // offset: `cluster_failover::on_message`.)
    }

    let is_ping = matches!(t, msg_type::PING | msg_type::PONG | msg_type::MEET);

    if t == msg_type::PING || t == msg_type::MEET {
        // A MEET tells us our address (or any ping while we have none).
        let me = st.myself;
        if (t == msg_type::MEET || st.node(me).ip.is_empty())
            && !ctx.announce_ip_set
            && !link.local_ip.is_empty()
            && link.local_ip != st.node(me).ip
        {
            st.node_mut(me).ip = link.local_ip.to_string();
            warn!("IP address for this node updated to {}", link.local_ip);
            out.todo |= todo::SAVE_CONFIG;
        }
        if sender.is_none() && t == msg_type::MEET {
            let mut n = Node::new(NodeId::random(), NodeFlags::HANDSHAKE, now);
            n.ip = node_ip(h, link);
            n.port = h.port;
            n.pport = h.pport;
            n.cport = h.cport;
            st.add_node(n);
            out.todo |= todo::SAVE_CONFIG;
            if let Some(p) = msg.body.ping() {
                let gs = link_node.or_else(|| st.lookup(&h.sender));
                process_gossip(st, ctx, gs, p, &mut out);
            }
        }
        out.effects
            .push(Effect::Reply(ping_message(st, PingKind::Pong, &ctx.hdr)));
    }

    if is_ping {
        trace!(
            "{} packet received: {}",
            type_name(t),
            link_node.map_or("NULL".to_string(), |n| st.node(n).name.to_string())
        );
        if !link.inbound {
            if let Some(ln) = link_node {
                if st.node(ln).in_handshake() {
                    if let Some(s) = sender {
                        debug!(
                            "Handshake: we already know node {}, updating the address if needed.",
                            st.node(s).name
                        );
                        if update_address_if_needed(st, s, link, h, &mut out) {
                            out.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
                        }
                        st.del_node(ln);
                        out.effects.push(Effect::NodeDeleted(ln));
                        out.link_gone = true;
                        return out;
                    }
                    st.rename_node(ln, h.sender);
                    trace!("Handshake with node {} completed.", h.sender);
                    let n = st.node_mut(ln);
                    n.flags.remove(NodeFlags::HANDSHAKE);
                    n.flags.insert(NodeFlags(
                        h.flags.0 & (NodeFlags::MASTER.0 | NodeFlags::SLAVE.0),
                    ));
                    out.todo |= todo::SAVE_CONFIG;
                } else if st.node(ln).name != h.sender {
                    let n = st.node_mut(ln);
                    trace!(
                        "PONG contains mismatching sender ID. About node {} added {} ms ago, having flags {}",
                        n.name,
                        now - n.ctime,
                        n.flags.0
                    );
                    n.flags.insert(NodeFlags::NOADDR);
                    n.ip.clear();
                    n.port = 0;
                    n.pport = 0;
                    n.cport = 0;
                    if n.link == Some(link.id) {
                        n.link = None;
                    }
                    out.effects.push(Effect::FreeLink(link.id));
                    out.link_gone = true;
                    out.todo |= todo::SAVE_CONFIG;
                    return out;
                }
            }
        }

        if let Some(s) = sender {
            let n = st.node_mut(s);
            n.flags.remove(NodeFlags::NOFAILOVER);
            n.flags
                .insert(NodeFlags(h.flags.0 & NodeFlags::NOFAILOVER.0));
        }

        if let Some(s) = sender {
            if t == msg_type::PING
                && !st.node(s).in_handshake()
                && update_address_if_needed(st, s, link, h, &mut out)
            {
                out.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
            }
        }

        if !link.inbound && t == msg_type::PONG {
            if let Some(ln) = link_node {
                let n = st.node_mut(ln);
                n.pong_received = now;
                n.ping_sent = 0;
                if n.timed_out() {
                    n.flags.remove(NodeFlags::PFAIL);
                    out.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
                } else if n.failed() {
                    clear_node_failure_if_needed(st, ctx, ln, &mut out);
                }
            }
        }

        // Role switch: replica → master or master → replica.
        if let Some(s) = sender {
            match h.slaveof {
                None => {
                    if st.set_node_as_master(s) {
                        out.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
                    }
                }
                Some(mname) => {
                    let master = st.lookup(&mname);
                    if st.node(s).is_master() {
                        st.del_node_slots(s);
                        let n = st.node_mut(s);
                        n.flags.remove(NodeFlags::MASTER | NodeFlags::MIGRATE_TO);
                        n.flags.insert(NodeFlags::SLAVE);
                        out.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
                    }
                    if let Some(m) = master {
                        if st.node(s).replica_of != Some(m) {
                            if let Some(old) = st.node(s).replica_of {
                                st.remove_replica(old, s);
                            }
                            st.add_replica(m, s);
                            st.node_mut(s).replica_of = Some(m);
                            out.todo |= todo::SAVE_CONFIG;
                        }
                    }
                }
            }
        }

        // Served slots (after the role update, so MASTER is right).
        let mut dirty = false;
        if let Some(s) = sender {
            let n = st.node(s);
            let sm = if n.is_master() { Some(s) } else { n.replica_of };
            if let Some(sm) = sm {
                dirty = st.node(sm).slots != h.myslots;
            }
        }
        if let Some(s) = sender {
            if st.node(s).is_master() && dirty {
                update_slots_config_with(st, ctx, s, sender_config_epoch, &h.myslots, &mut out);
            }
            // The sender claims slots a newer config gives to another
            // node: tell it (UPDATE about the first such owner).
            if dirty {
                for j in 0..CLUSTER_SLOTS {
                    if !h.myslots.get(j) {
                        continue;
                    }
                    let Some(owner) = st.slot_owner(j) else {
                        continue;
                    };
                    if owner == s || slot_unclaimed(st, j) {
                        continue;
                    }
                    if st.node(owner).config_epoch > sender_config_epoch {
                        debug!(
                            "Node {} has old slots configuration, sending an UPDATE message about {}",
                            st.node(s).name,
                            st.node(owner).name
                        );
                        let m = outgoing::update(st, owner, &ctx.hdr);
                        out.effects.push(Effect::SendTo(s, m));
                        break;
                    }
                }
            }
            let me = st.myself;
            if st.node(me).is_master()
                && st.node(s).is_master()
                && sender_config_epoch == st.node(me).config_epoch
            {
                handle_config_epoch_collision(st, s, &mut out);
            }
            if let Some(p) = msg.body.ping() {
                let gs = link_node.or(Some(s));
                process_gossip(st, ctx, gs, p, &mut out);
                process_extensions(st, s, p);
            }
        }
        return out;
    }

    match &msg.body {
        Body::Fail { about } => {
            if sender.is_some() {
                if let Some(f) = st.lookup(about) {
                    let n = st.node_mut(f);
                    if !n.flags.any(NodeFlags::FAIL | NodeFlags::MYSELF) {
                        info!("FAIL message received from {} about {}", h.sender, about);
                        n.flags.insert(NodeFlags::FAIL);
                        n.fail_time = now;
                        n.flags.remove(NodeFlags::PFAIL);
                        out.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
                    }
                }
            } else {
                info!(
                    "Ignoring FAIL message from unknown node {} about {}",
                    h.sender, about
                );
            }
        }
        Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
            if sender.is_some() {
                out.effects.push(Effect::Publish {
                    channel: channel.clone(),
                    message: message.clone(),
                    sharded: t == msg_type::PUBLISHSHARD,
                });
            }
        }
        Body::FailoverAuthRequest | Body::FailoverAuthAck | Body::MfStart => {
            // Failover: `cluster_failover::on_message` (module doc).
        }
        Body::Update {
            config_epoch,
            node,
            slots,
        } => {
            if sender.is_none() {
                return out;
            }
            let Some(n) = st.lookup(node) else {
                return out;
            };
            if st.node(n).config_epoch >= *config_epoch {
                return out;
            }
            if st.node(n).is_replica() && st.set_node_as_master(n) {
                out.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE;
            }
            st.node_mut(n).config_epoch = *config_epoch;
            out.todo |= todo::SAVE_CONFIG | todo::FSYNC_CONFIG;
            update_slots_config_with(st, ctx, n, *config_epoch, slots, &mut out);
        }
        Body::Module { .. } => {
            // No modules: nobody receives it.
        }
        Body::Unknown { msg_type, .. } => {
            warn!("Received unknown packet type: {}", msg_type);
        }
        Body::Ping(_) | Body::Pong(_) | Body::Meet(_) => {}
    }
    out
}

/// nodeUpdateAddressIfNeeded: the sender's address from this link (or
/// its announced ip) and the header's ports; a change frees its outbound
/// link so the cron reconnects. True when it changed.
fn update_address_if_needed(
    st: &mut ClusterState,
    node: NodeIdx,
    link: &LinkView,
    h: &Header,
    out: &mut Outcome,
) -> bool {
    if st.node(node).link == Some(link.id) {
        return false;
    }
    let ip = node_ip(h, link);
    if ip.is_empty() {
        return false;
    }
    let n = st.node(node);
    if n.port == h.port && n.cport == h.cport && n.pport == h.pport && n.ip == ip {
        return false;
    }
    let n = st.node_mut(node);
    n.ip = ip;
    n.port = h.port;
    n.pport = h.pport;
    n.cport = h.cport;
    free_node_link(st, node, out);
    let n = st.node_mut(node);
    n.flags.remove(NodeFlags::NOADDR);
    warn!(
        "Address updated for node {}, now {}:{}",
        n.name, n.ip, n.port
    );
    let me = st.myself_node();
    if me.is_replica() && me.replica_of == Some(node) {
        out.effects.push(Effect::ReplicateFrom(node));
    }
    true
}

/// clearNodeFailureIfNeeded: a reachable replica or slot-less master
/// loses FAIL at once, a master with slots after FAIL_UNDO_TIME_MULT node
/// timeouts.
fn clear_node_failure_if_needed(st: &mut ClusterState, ctx: &Ctx, idx: NodeIdx, out: &mut Outcome) {
    let n = st.node_mut(idx);
    if n.is_replica() || n.numslots == 0 {
        info!(
            "Clear FAIL state for node {}: {} is reachable again.",
            n.name,
            if n.is_replica() {
                "replica"
            } else {
                "master without slots"
            }
        );
        n.flags.remove(NodeFlags::FAIL);
        out.todo |= todo::UPDATE_STATE | todo::SAVE_CONFIG;
    }
    if n.is_master()
        && n.numslots > 0
        && ctx.now - n.fail_time > ctx.node_timeout * FAIL_UNDO_TIME_MULT
    {
        info!(
            "Clear FAIL state for node {}: is reachable again and nobody is serving its slots after some time.",
            n.name
        );
        n.flags.remove(NodeFlags::FAIL);
        out.todo |= todo::UPDATE_STATE | todo::SAVE_CONFIG;
    }
}

/// markNodeAsFailingIfNeeded: a PFAIL node that a majority of the masters
/// (myself included when a master) reports failing becomes FAIL, and
/// everybody is told.
fn mark_failing_if_needed(st: &mut ClusterState, ctx: &Ctx, idx: NodeIdx, out: &mut Outcome) {
    let quorum = st.size / 2 + 1;
    if !st.node(idx).timed_out() || st.node(idx).failed() {
        return;
    }
    st.cleanup_failure_reports(idx, ctx.node_timeout, ctx.now);
    let mut failures = st.node(idx).fail_reports.len();
    if st.myself_node().is_master() {
        failures += 1;
    }
    if failures < quorum {
        return;
    }
    let n = st.node_mut(idx);
    info!("Marking node {} as failing (quorum reached).", n.name);
    n.flags.remove(NodeFlags::PFAIL);
    n.flags.insert(NodeFlags::FAIL);
    n.fail_time = ctx.now;
    let name = n.name;
    let m = outgoing::fail(st, name, &ctx.hdr);
    out.effects.push(Effect::Broadcast(m));
    out.todo |= todo::UPDATE_STATE | todo::SAVE_CONFIG;
}

/// clusterProcessGossipSection. `sender` is the link's node or the
/// header's sender when known.
fn process_gossip(
    st: &mut ClusterState,
    ctx: &Ctx,
    sender: Option<NodeIdx>,
    p: &Ping,
    out: &mut Outcome,
) {
    for g in &p.gossip {
        trace!(
            "GOSSIP {} {}:{}@{} {}",
            g.name,
            ip_string(&g.ip),
            g.port,
            g.cport,
            g.flags.describe()
        );
        let failing = g.flags.any(NodeFlags::FAIL | NodeFlags::PFAIL);
        if let Some(node) = st.lookup(&g.name) {
            if let Some(s) = sender {
                if st.node(s).is_master() && node != st.myself {
                    if failing {
                        if st.add_failure_report(node, s, ctx.now) {
                            debug!(
                                "Node {} reported node {} as not reachable.",
                                st.node(s).name,
                                st.node(node).name
                            );
                        }
                        mark_failing_if_needed(st, ctx, node, out);
                    } else if st.del_failure_report(node, s) {
                        debug!(
                            "Node {} reported node {} is back online.",
                            st.node(s).name,
                            st.node(node).name
                        );
                    }
                }
            }
            let n = st.node_mut(node);
            if !failing && n.ping_sent == 0 && n.fail_reports.is_empty() {
                let pongtime = g.pong_received as i64 * 1000;
                if pongtime <= ctx.now + 500 && pongtime > n.pong_received {
                    n.pong_received = pongtime;
                }
            }
            let gip = ip_string(&g.ip);
            if n.flags.any(NodeFlags::FAIL | NodeFlags::PFAIL)
                && !g.flags.any(NodeFlags::NOADDR)
                && !failing
                && (!n.ip.eq_ignore_ascii_case(&gip) || n.port != g.port || n.cport != g.cport)
            {
                free_node_link(st, node, out);
                let n = st.node_mut(node);
                n.ip = gip;
                n.port = g.port;
                n.pport = g.pport;
                n.cport = g.cport;
                n.flags.remove(NodeFlags::NOADDR);
            }
        } else if sender.is_some()
            && !g.flags.any(NodeFlags::NOADDR)
            && !st.blacklisted(&g.name, ctx.now / 1000)
        {
            add_gossiped_node(st, g, ctx.now);
        }
    }
}

/// A node first heard of in gossip, with its exact name and flags.
fn add_gossiped_node(st: &mut ClusterState, g: &Gossip, now: i64) {
    let mut flags = g.flags;
    flags.remove(NodeFlags::MYSELF);
    let mut n = Node::new(g.name, flags, now);
    n.ip = ip_string(&g.ip);
    n.port = g.port;
    n.pport = g.pport;
    n.cport = g.cport;
    st.add_node(n);
}

/// clusterProcessPingExtensions: the hostname (none sent: none).
fn process_extensions(st: &mut ClusterState, sender: NodeIdx, p: &Ping) {
    let mut hostname: Option<&[u8]> = None;
    for e in &p.extensions {
        match e {
            PingExt::Hostname(h) => hostname = Some(h),
            PingExt::Unknown { ext_type, .. } => {
                warn!("Received unknown extension type {}", ext_type)
            }
        }
    }
    let n = st.node_mut(sender);
    match hostname {
        Some(h) => {
            let h = ip_string(h);
            if h != n.hostname {
                n.hostname = h;
            }
        }
        None => n.hostname.clear(),
    }
}

/// clusterHandleConfigEpochCollision: of two masters with one config
/// epoch, the one with the smaller name takes a new epoch.
fn handle_config_epoch_collision(st: &mut ClusterState, sender: NodeIdx, out: &mut Outcome) {
    let me = st.myself;
    if st.node(sender).config_epoch != st.node(me).config_epoch
        || !st.node(sender).is_master()
        || !st.node(me).is_master()
    {
        return;
    }
    if st.node(sender).name <= st.node(me).name {
        return;
    }
    st.current_epoch += 1;
    let e = st.current_epoch;
    st.node_mut(me).config_epoch = e;
    out.todo |= todo::SAVE_CONFIG | todo::FSYNC_CONFIG;
    debug!(
        "WARNING: configEpoch collision with node {}. configEpoch set to {}",
        st.node(sender).name,
        e
    );
}

/// clusterSetMaster's bookkeeping: myself becomes a replica of `n`
/// (migrating / importing slots closed when it was a master); the driver
/// points replication at it.
pub fn set_my_master(st: &mut ClusterState, n: NodeIdx, out: &mut Vec<Effect>) {
    let me = st.myself;
    if st.node(me).is_master() {
        let m = st.node_mut(me);
        m.flags.remove(NodeFlags::MASTER | NodeFlags::MIGRATE_TO);
        m.flags.insert(NodeFlags::SLAVE);
        for s in 0..CLUSTER_SLOTS {
            st.migrating_slots_to[s] = None;
            st.importing_slots_from[s] = None;
        }
    } else if let Some(old) = st.node(me).replica_of {
        st.remove_replica(old, me);
    }
    st.node_mut(me).replica_of = Some(n);
    st.add_replica(n, me);
    out.push(Effect::ReplicateFrom(n));
}

/// clusterUpdateSlotsConfigWith: rebind the slots `sender` claims with a
/// newer config epoch; myself may turn replica of it (all my slots went to
/// it) or lose the keys of slots taken away.
pub fn update_slots_config_with(
    st: &mut ClusterState,
    ctx: &Ctx,
    sender: NodeIdx,
    sender_config_epoch: u64,
    slots: &SlotBitmap,
    out: &mut Outcome,
) {
    let me = st.myself;
    let curmaster = if st.node(me).is_master() {
        Some(me)
    } else {
        st.node(me).replica_of
    };
    if sender == me {
        warn!("Discarding UPDATE message about myself.");
        return;
    }
    let mut newmaster = None;
    let mut dirty_slots = Vec::new();
    let mut sender_slots = 0;
    let mut migrated_our_slots = 0;
    for j in 0..CLUSTER_SLOTS {
        if slots.get(j) {
            sender_slots += 1;
            if st.slot_owner(j) == Some(sender) {
                st.owner_not_claiming_slot.clear(j);
                continue;
            }
            if st.importing_slots_from[j].is_some() {
                continue;
            }
            let newer = match st.slot_owner(j) {
                None => true,
                Some(o) => {
                    st.owner_not_claiming_slot.get(j)
                        || st.node(o).config_epoch < sender_config_epoch
                }
            };
            if newer {
                let owner = st.slot_owner(j);
                if owner == Some(me) && (ctx.keys_in_slot)(j) > 0 {
                    dirty_slots.push(j);
                }
                if owner.is_some() && owner == curmaster {
                    newmaster = Some(sender);
                    migrated_our_slots += 1;
                }
                st.del_slot(j);
                st.add_slot(sender, j);
                st.owner_not_claiming_slot.clear(j);
                out.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE | todo::FSYNC_CONFIG;
            }
        } else if st.slot_owner(j) == Some(sender) {
            st.owner_not_claiming_slot.set(j);
        }
    }
    let cur_empty = curmaster.is_some_and(|c| st.node(c).numslots == 0);
    let grandmaster = st
        .node(me)
        .replica_of
        .and_then(|m| st.node(m).replica_of)
        .filter(|&g| g != me);
    if newmaster.is_some()
        && cur_empty
        && (ctx.allow_replica_migration || sender_slots == migrated_our_slots)
    {
        warn!(
            "Configuration change detected. Reconfiguring myself as a replica of {}",
            st.node(sender).name
        );
        set_my_master(st, sender, &mut out.effects);
        out.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE | todo::FSYNC_CONFIG;
    } else if let Some(g) = grandmaster {
        warn!(
            "I'm a sub-replica! Reconfiguring myself as a replica of grandmaster {}",
            st.node(g).name
        );
        set_my_master(st, g, &mut out.effects);
        out.todo |= todo::SAVE_CONFIG | todo::UPDATE_STATE | todo::FSYNC_CONFIG;
    } else {
        for j in dirty_slots {
            out.effects.push(Effect::DelKeysInSlot(j));
        }
    }
}

/// clusterCron's second loop over the nodes (myself, NOADDR and handshake
/// nodes skipped): free a link silent for half the node timeout while a
/// ping waits, ping a node whose last pong is older than half the node
/// timeout, flag PFAIL a node that has not answered a ping for the node
/// timeout. `link_ctime` gives a link's creation time. Returns whether
/// the state must be updated; messages and freed links are in `out`.
pub fn cron_checks(
    st: &mut ClusterState,
    ctx: &Ctx,
    link_ctime: &dyn Fn(usize) -> i64,
    out: &mut Outcome,
) -> bool {
    let mut update_state = false;
    let nt = ctx.node_timeout;
    let now = ctx.now;
    for idx in st.node_indexes() {
        let n = st.node(idx);
        if n.flags
            .any(NodeFlags::MYSELF | NodeFlags::NOADDR | NodeFlags::HANDSHAKE)
        {
            continue;
        }
        // (Orphaned masters and replica migration: the failover step.)
        let ping_delay = now - n.ping_sent;
        let data_delay = now - n.data_received;
        if let Some(l) = n.link {
            if now - link_ctime(l) > nt
                && n.ping_sent != 0
                && ping_delay > nt / 2
                && data_delay > nt / 2
            {
                free_node_link(st, idx, out);
            }
        }
        let n = st.node(idx);
        if n.link.is_some() && n.ping_sent == 0 && now - n.pong_received > nt / 2 {
            send_ping(st, ctx, idx, PingKind::Ping, out);
            continue;
        }
        if n.ping_sent == 0 {
            continue;
        }
        let node_delay = ping_delay.min(data_delay);
        if node_delay > nt && !n.flags.any(NodeFlags::PFAIL | NodeFlags::FAIL) {
            trace!("*** NODE {} possibly failing", n.name);
            st.node_mut(idx).flags.insert(NodeFlags::PFAIL);
            update_state = true;
        }
    }
    update_state
}

/// clusterCron's ping of the node with the oldest pong among five picked
/// at random (every tenth run: about one a second).
pub fn ping_random_node(st: &mut ClusterState, ctx: &Ctx, out: &mut Outcome) {
    use rand::seq::SliceRandom;
    let all = st.node_indexes();
    let mut rng = rand::thread_rng();
    let mut best: Option<(NodeIdx, i64)> = None;
    for _ in 0..5 {
        let Some(&idx) = all.choose(&mut rng) else {
            return;
        };
        let n = st.node(idx);
        if n.link.is_none() || n.ping_sent != 0 {
            continue;
        }
        if n.flags.any(NodeFlags::MYSELF | NodeFlags::HANDSHAKE) {
            continue;
        }
        if best.is_none_or(|(_, p)| p > n.pong_received) {
            best = Some((idx, n.pong_received));
        }
    }
    if let Some((idx, _)) = best {
        trace!("Pinging node {}", st.node(idx).name);
        send_ping(st, ctx, idx, PingKind::Ping, out);
    }
}

/// Why CLUSTER MEET's handshake did not start (clusterStartHandshake's
/// errno).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HandshakeError {
    /// EINVAL: not an IP address, or a port out of range.
    Invalid,
    /// EAGAIN: a handshake with that address is in progress.
    InProgress,
}

/// clusterStartHandshake: a handshake node (random name, MEET flag) for a
/// normalized IPv4/IPv6 address; the cron connects to it.
pub fn start_handshake(
    st: &mut ClusterState,
    ip: &str,
    port: i64,
    cport: i64,
    now: i64,
) -> Result<NodeIdx, HandshakeError> {
    let norm = if let Ok(a) = ip.parse::<std::net::Ipv4Addr>() {
        a.to_string()
    } else if let Ok(a) = ip.parse::<std::net::Ipv6Addr>() {
        a.to_string()
    } else {
        return Err(HandshakeError::Invalid);
    };
    if !(1..=65535).contains(&port) || !(1..=65535).contains(&cport) {
        return Err(HandshakeError::Invalid);
    }
    let (port, cport) = (port as u16, cport as u16);
    if st.iter().any(|(_, n)| {
        n.in_handshake() && n.ip.eq_ignore_ascii_case(&norm) && n.port == port && n.cport == cport
    }) {
        return Err(HandshakeError::InProgress);
    }
    let mut n = Node::new(
        NodeId::random(),
        NodeFlags::HANDSHAKE | NodeFlags::MEET,
        now,
    );
    n.ip = norm;
    n.port = port;
    n.cport = cport;
    Ok(st.add_node(n))
}

#[cfg(test)]
#[path = "process_tests.rs"]
mod tests;
