//! Unit tests of the failover decisions, in cluster.c's terms: a cluster
//! of three masters (A, B, C: 5461/5461/5462 slots) where B has replicas
//! R1 and R2; myself is whichever node the test needs.

use super::*;
use crate::cluster::state::Node;

fn id(c: u8) -> NodeId {
    NodeId([c; 40])
}

struct World {
    st: ClusterState,
    a: NodeIdx,
    b: NodeIdx,
    c: NodeIdx,
    r1: NodeIdx,
    r2: NodeIdx,
}

/// The world seen by `me` (one of b'a', b'b', b'c', b'x' (R1), b'y' (R2)).
fn world(me: u8) -> World {
    let mut st = ClusterState::new(id(me), 1);
    let get = |st: &mut ClusterState, c: u8, flags: NodeFlags| {
        if c == me {
            let m = st.myself;
            st.node_mut(m).flags = flags | NodeFlags::MYSELF;
            m
        } else {
            st.add_node(Node::new(id(c), flags, 1))
        }
    };
    let a = get(&mut st, b'a', NodeFlags::MASTER);
    let b = get(&mut st, b'b', NodeFlags::MASTER);
    let c = get(&mut st, b'c', NodeFlags::MASTER);
    let r1 = get(&mut st, b'x', NodeFlags::SLAVE);
    let r2 = get(&mut st, b'y', NodeFlags::SLAVE);
    st.set_replica_of(r1, b);
    st.set_replica_of(r2, b);
    for s in 0..CLUSTER_SLOTS {
        let owner = match s {
            0..=5460 => a,
            5461..=10921 => b,
            _ => c,
        };
        st.add_slot(owner, s);
    }
    for (i, n) in [a, b, c].into_iter().enumerate() {
        st.node_mut(n).config_epoch = i as u64 + 1;
        st.node_mut(n).link = Some(0);
    }
    st.current_epoch = 3;
    st.size = 3;
    st.state = Health::Ok;
    World {
        st,
        a,
        b,
        c,
        r1,
        r2,
    }
}

fn logs(fx: &[Effect]) -> Vec<&str> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Log(l) => Some(l.as_str()),
            _ => None,
        })
        .collect()
}

fn env(now: i64) -> Env {
    Env {
        now,
        node_timeout: 15000,
        validity_factor: 10,
        repl_ping_period: 10,
        no_failover: false,
        my_offset: 100,
        data_age: 16000,
        random: 123,
    }
}

fn b_slots(w: &World) -> SlotBitmap {
    w.st.node(w.b).slots.clone()
}

#[test]
fn a_master_votes_once_per_epoch_for_a_replica_of_a_failed_master() {
    let mut w = world(b'a');
    let slots = b_slots(&w);
    let req = |epoch| VoteRequest {
        current_epoch: epoch,
        config_epoch: 2,
        claimed_slots: &slots,
        force_ack: false,
    };
    let now = 1_000_000;
    // Master up: refused.
    let fx = vote(&mut w.st, w.r1, &req(3), 15000, now);
    let who = "x".repeat(40);
    assert_eq!(
        logs(&fx),
        [format!("Failover auth denied to {who}: its master is up")]
    );
    w.st.node_mut(w.b).flags.insert(NodeFlags::FAIL);
    // An old epoch: refused.
    w.st.current_epoch = 4;
    let fx = vote(&mut w.st, w.r1, &req(3), 15000, now);
    assert_eq!(
        logs(&fx),
        [format!(
            "Failover auth denied to {who}: reqEpoch (3) < curEpoch(4)"
        )]
    );
    // Granted.
    let fx = vote(&mut w.st, w.r1, &req(4), 15000, now);
    assert!(fx.contains(&Effect::SendAuthAck(w.r1)));
    assert!(fx.contains(&Effect::SaveConfig));
    assert_eq!(
        logs(&fx),
        [format!("Failover auth granted to {who} for epoch 4")]
    );
    assert_eq!(w.st.last_vote_epoch, 4);
    assert_eq!(w.st.node(w.b).voted_time, now);
    // Same epoch again (the other replica): refused.
    let fx = vote(&mut w.st, w.r2, &req(4), 15000, now);
    let who2 = "y".repeat(40);
    assert_eq!(
        logs(&fx),
        [format!(
            "Failover auth denied to {who2}: already voted for epoch 4"
        )]
    );
    // A new epoch but within 2 × node timeout of the last vote for B.
    w.st.current_epoch = 5;
    let fx = vote(&mut w.st, w.r2, &req(5), 15000, now + 1000);
    assert_eq!(
        logs(&fx),
        [format!(
            "Failover auth denied to {who2}: can't vote about this master before 29000 milliseconds"
        )]
    );
    // A master asking, or a stale config epoch for the claimed slots.
    let fx = vote(&mut w.st, w.c, &req(5), 15000, now + 40000);
    assert_eq!(
        logs(&fx),
        [format!(
            "Failover auth denied to {}: it is a master node",
            "c".repeat(40)
        )]
    );
    w.st.node_mut(w.b).config_epoch = 9;
    let fx = vote(&mut w.st, w.r2, &req(5), 15000, now + 40000);
    assert_eq!(
        logs(&fx),
        [format!(
            "Failover auth denied to {who2}: slot 5461 epoch (9) > reqEpoch (2)"
        )]
    );
}

#[test]
fn replicas_and_slotless_masters_do_not_vote() {
    let mut w = world(b'y');
    w.st.node_mut(w.b).flags.insert(NodeFlags::FAIL);
    let slots = b_slots(&w);
    let req = VoteRequest {
        current_epoch: 3,
        config_epoch: 2,
        claimed_slots: &slots,
        force_ack: false,
    };
    assert!(vote(&mut w.st, w.r1, &req, 15000, 1_000_000).is_empty());
}

#[test]
fn rank_counts_replicas_with_a_greater_offset_that_may_fail_over() {
    let mut w = world(b'x');
    assert_eq!(replica_rank(&w.st, 100), 0);
    w.st.node_mut(w.r2).repl_offset = 150;
    assert_eq!(replica_rank(&w.st, 100), 1);
    w.st.node_mut(w.r2).flags.insert(NodeFlags::NOFAILOVER);
    assert_eq!(replica_rank(&w.st, 100), 0);
}

#[test]
fn an_election_is_delayed_then_asks_for_votes_then_wins() {
    let mut w = world(b'x');
    let mut el = Election::default();
    let t0 = 10_000_000;
    // The master is fine: nothing to do.
    assert!(handle_replica_failover(&mut w.st, &mut el, &env(t0)).is_empty());
    w.st.node_mut(w.b).flags.insert(NodeFlags::FAIL);
    w.st.node_mut(w.b).fail_time = t0;
    w.st.node_mut(w.r2).repl_offset = 200; // R2 is ahead: rank 1.
    let fx = handle_replica_failover(&mut w.st, &mut el, &env(t0));
    assert_eq!(
        logs(&fx),
        ["Start of election delayed for 1623 milliseconds (rank #1, offset 100)."]
    );
    assert!(fx.contains(&Effect::PongLocalReplicas));
    // Too early: waiting (not logged while the master failed recently).
    let fx = handle_replica_failover(&mut w.st, &mut el, &env(t0 + 1000));
    assert!(logs(&fx).is_empty());
    assert_eq!(el.cant_failover_reason, CantFailover::WaitingDelay);
    // Time's up: the election starts with a new epoch.
    let fx = handle_replica_failover(&mut w.st, &mut el, &env(t0 + 1700));
    assert_eq!(logs(&fx), ["Starting a failover election for epoch 4."]);
    assert!(fx.contains(&Effect::RequestAuth { force_ack: false }));
    assert_eq!((w.st.current_epoch, el.auth_epoch), (4, 4));
    // Votes: only masters serving slots with a current epoch count.
    assert!(!receive_auth_ack(&w.st, &mut el, w.r2, 4));
    assert!(!receive_auth_ack(&w.st, &mut el, w.a, 3));
    assert!(receive_auth_ack(&w.st, &mut el, w.a, 4));
    let fx = handle_replica_failover(&mut w.st, &mut el, &env(t0 + 1800));
    assert_eq!(el.cant_failover_reason, CantFailover::WaitingVotes);
    assert!(!fx.contains(&Effect::PongAll));
    assert!(receive_auth_ack(&w.st, &mut el, w.c, 4));
    let fx = handle_replica_failover(&mut w.st, &mut el, &env(t0 + 1900));
    assert_eq!(
        logs(&fx),
        [
            "Failover election won: I'm the new master.",
            "configEpoch set to 4 after successful failover"
        ]
    );
    for e in [
        Effect::UnsetReplicationMaster,
        Effect::PongAll,
        Effect::SaveConfig,
    ] {
        assert!(fx.contains(&e), "{e:?} in {fx:?}");
    }
    let me = w.st.myself;
    assert!(w.st.node(me).is_master());
    assert_eq!(w.st.node(me).numslots, 5461);
    assert_eq!(w.st.slot_owner(5461), Some(me));
    assert_eq!(w.st.node(w.b).numslots, 0);
    assert!(!w.st.node(w.b).replicas.contains(&me));
}

#[test]
fn an_expired_election_retries_after_the_retry_time() {
    let mut w = world(b'x');
    let mut el = Election::default();
    w.st.node_mut(w.b).flags.insert(NodeFlags::FAIL);
    let t0 = 10_000_000;
    handle_replica_failover(&mut w.st, &mut el, &env(t0));
    handle_replica_failover(&mut w.st, &mut el, &env(t0 + 1000));
    assert!(el.auth_sent);
    // auth timeout = 30 s: expired, and logged (the master failed long ago).
    let fx = handle_replica_failover(&mut w.st, &mut el, &env(t0 + 40_000));
    assert_eq!(
        logs(&fx),
        ["Currently unable to failover: Failover attempt expired."]
    );
    // The same reason is not logged again within 10 s.
    assert!(logs(&handle_replica_failover(
        &mut w.st,
        &mut el,
        &env(t0 + 45_000)
    ))
    .is_empty());
    // After the retry time (60 s) a new election is scheduled.
    let fx = handle_replica_failover(&mut w.st, &mut el, &env(t0 + 61_000));
    assert!(logs(&fx)[0].starts_with("Start of election delayed for "));
    assert!(!el.auth_sent);
}

#[test]
fn stale_data_or_no_failover_keeps_the_replica_a_replica() {
    let mut w = world(b'x');
    let mut el = Election::default();
    w.st.node_mut(w.b).flags.insert(NodeFlags::FAIL);
    let mut e = env(10_000_000);
    // 10 s ping period + 15 s × 10: beyond 160 s of data age.
    e.data_age = 15_000 + 160_001;
    let fx = handle_replica_failover(&mut w.st, &mut el, &e);
    assert_eq!(
        logs(&fx),
        [
            "Currently unable to failover: Disconnected from master for longer than allowed. \
          Please check the 'cluster-replica-validity-factor' configuration option."
        ]
    );
    let mut e = env(10_000_000);
    e.no_failover = true;
    assert!(handle_replica_failover(&mut w.st, &mut el, &e).is_empty());
    assert_eq!(el.cant_failover_reason, CantFailover::None);
}

#[test]
fn manual_failover_waits_for_the_paused_masters_offset() {
    let mut w = world(b'x');
    let mut el = Election::default();
    let now = 10_000_000;
    // Refusals.
    let mut m = world(b'b');
    assert_eq!(
        manual_failover_refusal(&m.st, ManualMode::Default),
        Some("You should send CLUSTER FAILOVER to a replica")
    );
    m.st.node_mut(m.r1).link = None;
    w.st.node_mut(w.b).link = None;
    assert_eq!(
        manual_failover_refusal(&w.st, ManualMode::Default),
        Some("Master is down or failed, please use CLUSTER FAILOVER FORCE")
    );
    assert_eq!(manual_failover_refusal(&w.st, ManualMode::Force), None);
    w.st.node_mut(w.b).link = Some(0);
    // Start: MFSTART to the master.
    let fx = start_manual_failover(&mut w.st, &mut el, ManualMode::Default, now);
    assert_eq!(logs(&fx), ["Manual failover user request accepted."]);
    assert!(fx.contains(&Effect::SendMfStart(w.b)));
    assert_eq!(el.mf_end, now + MF_TIMEOUT);
    // The master's side.
    let mut mel = Election::default();
    let fx = receive_mfstart(&m.st, &mut mel, m.r1, now).expect("from its replica");
    assert!(fx.contains(&Effect::PauseWritesUntil(now + 10_000)));
    assert!(fx.contains(&Effect::Ping(m.r1)));
    assert!(receive_mfstart(&m.st, &mut mel, m.a, now).is_none());
    // The replica learns the paused offset (from its master only, the
    // first one flagged PAUSED), then catches up.
    assert_eq!(handle_manual_failover(&mut el, 100), (false, vec![]));
    assert_eq!(receive_master_offset(&w.st, &mut el, w.b, 120, false), None);
    assert_eq!(receive_master_offset(&w.st, &mut el, w.a, 120, true), None);
    assert_eq!(
        receive_master_offset(&w.st, &mut el, w.b, 120, true),
        Some(Effect::Log(
            "Received replication offset for paused master manual failover: 120".into()
        ))
    );
    assert_eq!(receive_master_offset(&w.st, &mut el, w.b, 130, true), None);
    assert_eq!(el.mf_master_offset, 120);
    assert_eq!(handle_manual_failover(&mut el, 100), (true, vec![]));
    let (_, fx) = handle_manual_failover(&mut el, 120);
    assert!(el.mf_can_start);
    assert_eq!(
        logs(&fx),
        ["All master replication stream processed, manual failover can start."]
    );
    // The election starts at once, with FORCEACK, though the master is up.
    let fx = handle_replica_failover(&mut w.st, &mut el, &env(now + 10));
    assert_eq!(
        logs(&fx),
        ["Start of election delayed for 0 milliseconds (rank #0, offset 100)."]
    );
    let fx = handle_replica_failover(&mut w.st, &mut el, &env(now + 10));
    assert!(fx.contains(&Effect::RequestAuth { force_ack: true }));
    // A master votes for it with FORCEACK even though B is up.
    let slots = b_slots(&m);
    let mut a_view = world(b'a');
    a_view.st.current_epoch = 4;
    let req = VoteRequest {
        current_epoch: 4,
        config_epoch: 2,
        claimed_slots: &slots,
        force_ack: true,
    };
    let fx = vote(&mut a_view.st, a_view.r1, &req, 15000, now);
    assert!(fx.contains(&Effect::SendAuthAck(a_view.r1)));
    // Timing out resets everything; a paused master unpauses.
    let fx = manual_failover_check_timeout(&mut mel, now + MF_TIMEOUT + 1);
    assert_eq!(logs(&fx), ["Manual failover timed out."]);
    assert!(fx.contains(&Effect::UnpauseClients));
    assert_eq!((mel.mf_end, mel.mf_replica), (0, None));
}

#[test]
fn takeover_bumps_the_epoch_and_takes_the_slots_at_once() {
    let mut w = world(b'y');
    let mut el = Election::default();
    let fx = start_manual_failover(&mut w.st, &mut el, ManualMode::Takeover, 1000);
    assert_eq!(
        logs(&fx),
        [
            "Taking over the master (user request).",
            "New configEpoch set to 4"
        ]
    );
    let me = w.st.myself;
    assert_eq!(w.st.node(me).config_epoch, 4);
    assert_eq!(w.st.node(me).numslots, 5461);
    assert!(fx.contains(&Effect::PongAll));
    // The manual failover state is cleared by the takeover.
    assert_eq!(el.mf_end, 0);
}

#[test]
fn a_replica_migrates_to_an_orphaned_master_after_the_delay() {
    // A has lost its replica (MIGRATE_TO stays: it used to have one); B
    // has two working replicas; myself is R1 ("x" < "y": the candidate).
    let mut w = world(b'x');
    w.st.node_mut(w.a).flags.insert(NodeFlags::MIGRATE_TO);
    let now = 1_000_000;
    assert!(replica_migration(&mut w.st, 2, 1, now).is_empty());
    assert_eq!(w.st.node(w.a).orphaned_time, now);
    let fx = replica_migration(&mut w.st, 2, 1, now + REPLICA_MIGRATION_DELAY + 1);
    assert_eq!(
        fx,
        [
            Effect::Log(format!("Migrating to orphaned master {}", "a".repeat(40))),
            Effect::ReplicateFrom(w.a)
        ]
    );
    // R2 is not the candidate; the barrier keeps B's only replica home.
    let mut w2 = world(b'y');
    w2.st.node_mut(w2.a).flags.insert(NodeFlags::MIGRATE_TO);
    replica_migration(&mut w2.st, 2, 1, now);
    assert!(replica_migration(&mut w2.st, 2, 1, now + 10_000).is_empty());
    let mut w3 = world(b'x');
    w3.st.node_mut(w3.a).flags.insert(NodeFlags::MIGRATE_TO);
    replica_migration(&mut w3.st, 2, 2, now);
    assert!(replica_migration(&mut w3.st, 2, 2, now + 10_000).is_empty());
    // Not while the cluster is down.
    w3.st.state = Health::Fail;
    assert!(replica_migration(&mut w3.st, 2, 1, now + 20_000).is_empty());
    let _ = (w.c, w.r2);
}
