//! Unit tests of `process`: messages built with `outgoing` from a second
//! state (the peer's view), processed by ours, checked against what
//! cluster.c does with them.

use super::*;
use crate::cluster::bus::{Body, Message};
use crate::cluster::ids::{NodeFlags, NodeId};
use crate::cluster::outgoing::{self, HeaderOpts, PingKind};
use crate::cluster::slot::CLUSTER_SLOTS;
use crate::cluster::state::{ClusterState, Node, NodeIdx};

fn id(c: u8) -> NodeId {
    NodeId([c; 40])
}

fn no_keys(_: usize) -> usize {
    0
}

fn ctx(now: i64) -> Ctx<'static> {
    Ctx {
        now,
        node_timeout: 1000,
        announce_ip_set: false,
        allow_replica_migration: true,
        hdr: HeaderOpts::default(),
        keys_in_slot: &no_keys,
    }
}

fn link(id: usize, node: Option<NodeIdx>, inbound: bool) -> LinkView<'static> {
    LinkView {
        id,
        node,
        inbound,
        peer_ip: "10.0.0.2",
        local_ip: "10.0.0.1",
    }
}

/// A peer state: myself `c` with the given slots, known address.
fn peer(c: u8, slots: std::ops::Range<usize>, epoch: u64) -> ClusterState {
    let mut st = ClusterState::new(id(c), 1);
    let me = st.myself;
    for s in slots {
        st.add_slot(me, s);
    }
    let n = st.node_mut(me);
    n.config_epoch = epoch;
    n.port = 7000 + c as u16;
    n.cport = 17000 + c as u16;
    n.ip = "10.0.0.2".into();
    st.current_epoch = epoch;
    st
}

fn msg(st: &ClusterState, kind: PingKind) -> Message {
    outgoing::ping(st, kind, &[], &HeaderOpts::default())
}

fn replies(out: &Outcome) -> Vec<&Message> {
    out.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply(m) => Some(m),
            _ => None,
        })
        .collect()
}

#[test]
fn meet_handshake_and_rename() {
    // B receives A's MEET on an inbound link: a handshake node with the
    // link's address, a PONG reply, our ip learnt from the socket.
    let a = peer(b'a', 0..100, 1);
    let mut b = ClusterState::new(id(b'b'), 1);
    let out = process(
        &mut b,
        &ctx(10),
        &link(0, None, true),
        &msg(&a, PingKind::Meet),
    );
    assert_eq!(replies(&out).len(), 1);
    assert!(matches!(replies(&out)[0].body, Body::Pong(_)));
    assert_eq!(b.myself_node().ip, "10.0.0.1");
    assert_eq!(b.len(), 2);
    let (hs, n) = b.iter().find(|(_, n)| n.in_handshake()).unwrap();
    assert_eq!((n.ip.as_str(), n.port, n.cport), ("10.0.0.2", 7097, 17097));
    assert!(out.todo & todo::SAVE_CONFIG != 0);
    // B connects to it (outbound link 1) and gets A's PONG: renamed,
    // handshake over, master, its slots taken.
    b.node_mut(hs).link = Some(1);
    let out = process(
        &mut b,
        &ctx(20),
        &link(1, Some(hs), false),
        &msg(&a, PingKind::Pong),
    );
    assert!(!out.link_gone);
    assert_eq!(b.lookup(&id(b'a')), Some(hs));
    let n = b.node(hs);
    assert!(!n.in_handshake() && n.is_master());
    assert_eq!(n.pong_received, 20);
    // The first PONG after the rename had no sender: slots come with the next.
    let out = process(
        &mut b,
        &ctx(30),
        &link(1, Some(hs), false),
        &msg(&a, PingKind::Pong),
    );
    assert!(out.todo & todo::UPDATE_STATE != 0);
    assert_eq!(b.node(hs).numslots, 100);
    assert_eq!(b.slot_owner(5), Some(hs));
    assert_eq!(b.node(hs).config_epoch, 1);
    assert_eq!(b.current_epoch, 1);
}

#[test]
fn handshake_with_a_known_node_deletes_the_handshake_node() {
    let a = peer(b'a', 0..0, 0);
    let mut b = ClusterState::new(id(b'b'), 1);
    let known = b.add_node(Node::new(id(b'a'), NodeFlags::MASTER, 1));
    let hs = start_handshake(&mut b, "10.0.0.2", 7097, 17097, 1).unwrap();
    assert_eq!(
        start_handshake(&mut b, "10.0.0.2", 7097, 17097, 1),
        Err(HandshakeError::InProgress)
    );
    assert_eq!(
        start_handshake(&mut b, "nohost", 7097, 17097, 1),
        Err(HandshakeError::Invalid)
    );
    assert_eq!(
        start_handshake(&mut b, "::1", 0, 17097, 1),
        Err(HandshakeError::Invalid)
    );
    assert!(b.node(hs).flags.any(NodeFlags::MEET));
    b.node_mut(hs).link = Some(3);
    let out = process(
        &mut b,
        &ctx(5),
        &link(3, Some(hs), false),
        &msg(&a, PingKind::Pong),
    );
    assert!(out.link_gone);
    assert!(out
        .effects
        .iter()
        .any(|e| matches!(e, Effect::NodeDeleted(n) if *n == hs)));
    assert!(b.get(hs).is_none() || b.lookup(&id(b'a')) == Some(known));
    assert_eq!(b.len(), 2);
    // Its address was updated from the link.
    assert_eq!(b.node(known).ip, "10.0.0.2");
}

#[test]
fn gossip_adds_nodes_unless_blacklisted() {
    let mut a = peer(b'a', 0..0, 0);
    let c = a.add_node(Node::new(id(b'c'), NodeFlags::MASTER, 1));
    a.node_mut(c).ip = "10.0.0.3".into();
    a.node_mut(c).port = 7003;
    a.node_mut(c).link = Some(0);
    let m = outgoing::ping(&a, PingKind::Ping, &[c], &HeaderOpts::default());
    let mut b = ClusterState::new(id(b'b'), 1);
    let an = b.add_node(Node::new(id(b'a'), NodeFlags::MASTER, 1));
    b.blacklist_add(id(b'c'), 100);
    process(&mut b, &ctx(100_000), &link(0, Some(an), false), &m);
    assert_eq!(b.lookup(&id(b'c')), None, "blacklisted for 60 s");
    process(&mut b, &ctx(161_000), &link(0, Some(an), false), &m);
    let cn = b.lookup(&id(b'c')).expect("added from gossip");
    assert_eq!(b.node(cn).ip, "10.0.0.3");
    assert!(b.node(cn).is_master() && !b.node(cn).in_handshake());
}

#[test]
fn failure_reports_reach_quorum_and_fail_is_broadcast() {
    // Three masters with slots: b (myself), a, c. c is PFAIL for us; a
    // reports it in gossip: 2 of 3 → FAIL, broadcast.
    let mut b = ClusterState::new(id(b'b'), 1);
    let me = b.myself;
    let an = b.add_node(Node::new(id(b'a'), NodeFlags::MASTER, 1));
    let cn = b.add_node(Node::new(id(b'c'), NodeFlags::MASTER, 1));
    for (i, n) in [me, an, cn].into_iter().enumerate() {
        b.add_slot(n, i);
        b.node_mut(n).config_epoch = i as u64 + 1;
    }
    b.evaluate_state(false);
    assert_eq!(b.size, 3);
    b.node_mut(cn).flags.insert(NodeFlags::PFAIL);
    let mut a = peer(b'a', 1..2, 2);
    let ac = a.add_node(Node::new(id(b'c'), NodeFlags::MASTER | NodeFlags::PFAIL, 1));
    a.node_mut(ac).ip = "10.0.0.3".into();
    a.stats_pfail_nodes = 1;
    let gossip = outgoing::choose_gossip(&a, &mut rand::thread_rng());
    assert!(gossip.contains(&ac));
    let m = outgoing::ping(&a, PingKind::Ping, &gossip, &HeaderOpts::default());
    let out = process(&mut b, &ctx(50), &link(0, Some(an), false), &m);
    assert!(b.node(cn).failed() && !b.node(cn).timed_out());
    assert!(out.effects.iter().any(|e| matches!(
        e,
        Effect::Broadcast(Message { body: Body::Fail { about }, .. }) if *about == id(b'c')
    )));
    assert_eq!(b.node(cn).fail_reports.len(), 1);
    // PONG from c after the undo time clears FAIL on a master with slots.
    b.node_mut(cn).link = Some(7);
    let c = peer(b'c', 2..3, 3);
    process(
        &mut b,
        &ctx(1000),
        &link(7, Some(cn), false),
        &msg(&c, PingKind::Pong),
    );
    assert!(b.node(cn).failed(), "not before 2 node timeouts");
    process(
        &mut b,
        &ctx(3000),
        &link(7, Some(cn), false),
        &msg(&c, PingKind::Pong),
    );
    assert!(!b.node(cn).failed());
}

#[test]
fn fail_message_and_update() {
    let mut b = ClusterState::new(id(b'b'), 1);
    let an = b.add_node(Node::new(id(b'a'), NodeFlags::MASTER, 1));
    let cn = b.add_node(Node::new(id(b'c'), NodeFlags::MASTER, 1));
    for s in 0..10 {
        b.add_slot(cn, s);
    }
    b.node_mut(cn).config_epoch = 1;
    let a = peer(b'a', 0..0, 5);
    let fail = outgoing::fail(&a, id(b'c'), &HeaderOpts::default());
    let out = process(&mut b, &ctx(9), &link(0, Some(an), false), &fail);
    assert!(b.node(cn).failed());
    assert!(out.todo & todo::UPDATE_STATE != 0);
    // From an unknown sender: ignored.
    let mut b2 = ClusterState::new(id(b'b'), 1);
    let c2 = b2.add_node(Node::new(id(b'c'), NodeFlags::MASTER, 1));
    process(&mut b2, &ctx(9), &link(0, None, true), &fail);
    assert!(!b2.node(c2).failed());
    // UPDATE: a's slots 0-4 under a newer epoch (than the 5 its FAIL
    // header told) move from c to a.
    assert_eq!(b.node(an).config_epoch, 5);
    let a = peer(b'a', 0..5, 6);
    let aa = a.myself;
    let mut upd = outgoing::update(&a, aa, &HeaderOpts::default());
    // (The header's own epoch would tell it first: as if relayed.)
    upd.header.config_epoch = 0;
    process(&mut b, &ctx(10), &link(0, Some(an), false), &upd);
    assert_eq!(b.slot_owner(0), Some(an));
    assert_eq!(b.slot_owner(9), Some(cn));
    assert_eq!(b.node(an).config_epoch, 6);
}

#[test]
fn myself_losing_all_slots_becomes_a_replica() {
    let mut b = ClusterState::new(id(b'b'), 1);
    let me = b.myself;
    for s in 0..10 {
        b.add_slot(me, s);
    }
    b.node_mut(me).config_epoch = 1;
    let an = b.add_node(Node::new(id(b'a'), NodeFlags::MASTER, 1));
    b.node_mut(an).config_epoch = 1;
    let a = peer(b'a', 0..10, 2);
    let out = process(
        &mut b,
        &ctx(5),
        &link(0, Some(an), false),
        &msg(&a, PingKind::Ping),
    );
    assert!(b.myself_node().is_replica());
    assert_eq!(b.myself_node().replica_of, Some(an));
    assert!(out
        .effects
        .iter()
        .any(|e| matches!(e, Effect::ReplicateFrom(n) if *n == an)));
    assert_eq!(b.node(an).numslots, 10);
}

#[test]
fn config_epoch_collision_bumps_the_smaller_name() {
    // Same epoch, both masters: the node whose name is smaller than the
    // sender's takes current_epoch + 1.
    let mut a = ClusterState::new(id(b'a'), 1);
    let me = a.myself;
    a.node_mut(me).config_epoch = 3;
    a.current_epoch = 3;
    let bn = a.add_node(Node::new(id(b'b'), NodeFlags::MASTER, 1));
    let b = peer(b'b', 0..0, 3);
    let out = process(
        &mut a,
        &ctx(5),
        &link(0, Some(bn), false),
        &msg(&b, PingKind::Ping),
    );
    assert_eq!(a.node(me).config_epoch, 4);
    assert_eq!(a.current_epoch, 4);
    assert!(out.todo & todo::FSYNC_CONFIG != 0);
    // The other way round, nothing changes.
    let mut b2 = peer(b'b', 0..0, 3);
    let an = b2.add_node(Node::new(id(b'a'), NodeFlags::MASTER, 1));
    let a2 = peer(b'a', 0..0, 3);
    process(
        &mut b2,
        &ctx(5),
        &link(0, Some(an), false),
        &msg(&a2, PingKind::Ping),
    );
    assert_eq!(b2.myself_node().config_epoch, 3);
}

#[test]
fn cron_pings_and_flags_pfail() {
    let mut b = ClusterState::new(id(b'b'), 1);
    let an = b.add_node(Node::new(id(b'a'), NodeFlags::MASTER, 1));
    b.node_mut(an).link = Some(0);
    let ctime = |_: usize| 0;
    // Pong older than node_timeout / 2: a PING, ping_sent recorded.
    let mut out = Outcome::default();
    assert!(!cron_checks(&mut b, &ctx(600), &ctime, &mut out));
    assert!(matches!(
        &out.effects[..],
        [Effect::SendTo(n, Message { body: Body::Ping(_), .. })] if *n == an
    ));
    assert_eq!(b.node(an).ping_sent, 600);
    // No answer for node_timeout: PFAIL (and a silent link is freed).
    let mut out = Outcome::default();
    assert!(cron_checks(&mut b, &ctx(1700), &ctime, &mut out));
    assert!(b.node(an).timed_out());
    assert!(out.effects.iter().any(|e| matches!(e, Effect::FreeLink(0))));
    assert_eq!(b.node(an).link, None);
    // A MEET-created handshake node and myself are skipped.
    let hs = start_handshake(&mut b, "10.0.0.9", 7000, 17000, 1).unwrap();
    let mut out = Outcome::default();
    cron_checks(&mut b, &ctx(5000), &ctime, &mut out);
    assert!(!b.node(hs).timed_out());
    assert!(!b.myself_node().timed_out());
    let _ = CLUSTER_SLOTS;
}

/// Random and mutated messages never panic the processing, whatever the
/// link (the fuzz target `cluster_bus` does this at length).
#[test]
fn arbitrary_messages_do_not_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut a = peer(b'a', 0..100, 3);
    let ac = a.add_node(Node::new(id(b'c'), NodeFlags::MASTER | NodeFlags::PFAIL, 1));
    a.node_mut(ac).ip = "10.0.0.3".into();
    a.stats_pfail_nodes = 1;
    let gossip = outgoing::choose_gossip(&a, &mut rng);
    let seeds: Vec<Vec<u8>> = vec![
        outgoing::ping(&a, PingKind::Ping, &gossip, &HeaderOpts::default()).encode(),
        outgoing::ping(&a, PingKind::Meet, &gossip, &HeaderOpts::default()).encode(),
        outgoing::ping(&a, PingKind::Pong, &gossip, &HeaderOpts::default()).encode(),
        outgoing::fail(&a, id(b'b'), &HeaderOpts::default()).encode(),
        outgoing::update(&a, a.myself, &HeaderOpts::default()).encode(),
        outgoing::publish(&a, b"ch", b"m", true, &HeaderOpts::default()).encode(),
    ];
    let mut decoded = 0;
    for i in 0..3000 {
        let mut b = ClusterState::new(id(b'b'), 1);
        let an = b.add_node(Node::new(id(b'a'), NodeFlags::MASTER, 1));
        let cn = b.add_node(Node::new(id(b'c'), NodeFlags::SLAVE, 1));
        b.set_replica_of(cn, an);
        let hs = start_handshake(&mut b, "10.0.0.2", 1, 2, 1).unwrap();
        let mut bytes = seeds[i % seeds.len()].clone();
        for _ in 0..rng.gen_range(0..8) {
            let p = rng.gen_range(0..bytes.len());
            bytes[p] = rng.gen();
        }
        // Keep names valid-looking often, so lookups hit.
        let Ok(m) = crate::cluster::bus::decode(&bytes) else {
            continue;
        };
        decoded += 1;
        let node = [None, Some(an), Some(cn), Some(hs)][i % 4];
        let inbound = node.is_none() || i % 3 == 0;
        let out = process(&mut b, &ctx(i as i64 * 100), &link(0, node, inbound), &m);
        let mut o = Outcome::default();
        let _ = cron_checks(&mut b, &ctx(i as i64 * 1000), &|_| 0, &mut o);
        let _ = out;
    }
    assert!(decoded > 500);
}
