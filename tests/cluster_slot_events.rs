//! Cluster events Redis's tests/cluster 25, 27 and 28 depend on, between
//! live ferrokv nodes: a replica's shard-channel subscribers get
//! `sunsubscribe` when its master loses the slot through the bus (UPDATE /
//! PONG of the new owner; clusterDelSlot's removeChannelsInSlot), DEBUG
//! DROP-CLUSTER-PACKET-FILTER drops the received messages of one type, and
//! a replica loading a full sync keeps answering the bus with offset 0, so
//! its master's CLUSTER SHARDS shows it `loading` and then `online`. Every
//! wait is a poll with a deadline.

use std::time::Duration;

use crate::cluster_node::RealClusterNode;
use crate::common::{poll_until, RawConn};
use ferrokv::cluster::slot::key_hash_slot;

const DEADLINE: Duration = Duration::from_secs(30);

fn node(extra: &[&str]) -> RealClusterNode {
    let mut args = vec![
        "--cluster-node-timeout",
        "3000",
        "--enable-debug-command",
        "yes",
    ];
    args.extend_from_slice(extra);
    RealClusterNode::start_ferrokv(&args, |_, _| {})
}

fn myid(n: &RealClusterNode) -> String {
    n.cli(&["cluster", "myid"]).trim().to_string()
}

/// The CLUSTER NODES line of `id` as `n` sees it.
fn nodes_line(n: &RealClusterNode, id: &str) -> String {
    n.cli(&["cluster", "nodes"])
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_default()
        .to_string()
}

/// Makes `replica` a replica of `master` (both met already) and waits
/// until the master sees it.
fn replicate(replica: &RealClusterNode, master: &RealClusterNode) {
    let mid = myid(master);
    assert!(
        poll_until(DEADLINE, || replica
            .cli(&["cluster", "replicate", &mid])
            .trim()
            == "OK"),
        "{}",
        replica.cli(&["cluster", "nodes"])
    );
    let rid = myid(replica);
    assert!(
        poll_until(DEADLINE, || nodes_line(master, &rid)
            .contains(&format!("slave {mid} "))),
        "{}",
        master.cli(&["cluster", "nodes"])
    );
}

/// The `health` CLUSTER SHARDS on `n` gives node `id`.
fn shard_health(n: &RealClusterNode, id: &str) -> Option<String> {
    let out = n.cli(&["cluster", "shards"]);
    let lines: Vec<&str> = out.lines().collect();
    let at = lines.iter().position(|&l| l == id)?;
    let h = lines[at..].iter().position(|&l| l == "health")?;
    lines.get(at + h + 1).map(|s| s.to_string())
}

#[test]
fn replica_subscribers_are_unsubscribed_when_the_master_loses_the_slot() {
    let (a, b, r) = (node(&[]), node(&[]), node(&[]));
    assert_eq!(
        a.cli(&["cluster", "addslotsrange", "8192", "16383"]).trim(),
        "OK"
    );
    assert_eq!(
        b.cli(&["cluster", "addslotsrange", "0", "8191"]).trim(),
        "OK"
    );
    for other in [&b, &r] {
        a.cli(&["cluster", "meet", "127.0.0.1", &other.port.to_string()]);
    }
    for n in [&a, &b, &r] {
        n.wait_state("ok", DEADLINE);
    }
    replicate(&r, &a);
    let channel = "mychannel1";
    let slot = key_hash_slot(channel.as_bytes());
    assert!(slot >= 8192, "{slot}");
    let mut sub = RawConn::connect(r.port);
    sub.send(&[b"SSUBSCRIBE", channel.as_bytes()]);
    sub.wait_for_reply(
        b"*3\r\n$10\r\nssubscribe\r\n$10\r\nmychannel1\r\n:1\r\n",
        DEADLINE,
    );
    // The slot goes to b; the replica learns it from b over the bus.
    let (ida, idb, s) = (myid(&a), myid(&b), slot.to_string());
    assert_eq!(
        a.cli(&["cluster", "setslot", &s, "migrating", &idb]).trim(),
        "OK"
    );
    assert_eq!(
        b.cli(&["cluster", "setslot", &s, "importing", &ida]).trim(),
        "OK"
    );
    assert_eq!(
        a.cli(&["cluster", "setslot", &s, "node", &idb]).trim(),
        "OK"
    );
    assert_eq!(
        b.cli(&["cluster", "setslot", &s, "node", &idb]).trim(),
        "OK"
    );
    sub.wait_for_reply(
        b"*3\r\n$12\r\nsunsubscribe\r\n$10\r\nmychannel1\r\n:0\r\n",
        DEADLINE,
    );
    // The channel is gone from the replica's tables too.
    assert_eq!(r.cli(&["pubsub", "shardchannels"]).trim(), "");
}

#[test]
fn drop_cluster_packet_filter_drops_the_messages_of_a_type() {
    let (a, b) = (node(&[]), node(&[]));
    assert_eq!(
        a.cli(&["cluster", "addslotsrange", "0", "16383"]).trim(),
        "OK"
    );
    a.cli(&["cluster", "meet", "127.0.0.1", &b.port.to_string()]);
    a.wait_state("ok", DEADLINE);
    b.wait_state("ok", DEADLINE);
    let idb = myid(&b);
    // Neither answers the other's PINGs (type 0): a flags b failing.
    for n in [&a, &b] {
        assert_eq!(
            n.cli(&["debug", "drop-cluster-packet-filter", "0"]).trim(),
            "OK"
        );
    }
    assert!(
        poll_until(DEADLINE, || nodes_line(&a, &idb).contains("fail")),
        "{}",
        a.cli(&["cluster", "nodes"])
    );
    assert!(a
        .log()
        .contains("Dropping packet that matches debug drop filter"));
    // b stops dropping first. a, still dropping b's PINGs, sees no data
    // from b, so it reconnects its link to b and PINGs again; b answers,
    // and a's failure flag on b clears. Clearing a's filter first could
    // stall (as in Redis): a's one pending PING, dropped by b just before
    // b's filter went off, is never answered, and b's PINGs, no longer
    // dropped by a, keep a's link to b looking alive, so a never sends
    // another (clusterCron pings only with no ping pending).
    assert_eq!(
        b.cli(&["debug", "drop-cluster-packet-filter", "-1"]).trim(),
        "OK"
    );
    assert!(
        poll_until(DEADLINE, || {
            let l = nodes_line(&a, &idb);
            !l.contains("fail") && l.contains(" connected")
        }),
        "{}",
        a.cli(&["cluster", "nodes"])
    );
    assert_eq!(
        a.cli(&["debug", "drop-cluster-packet-filter", "-1"]).trim(),
        "OK"
    );
}

#[test]
fn a_loading_replica_shows_loading_in_cluster_shards() {
    let (m, r) = (node(&[]), node(&[]));
    assert_eq!(
        m.cli(&["cluster", "addslotsrange", "0", "16383"]).trim(),
        "OK"
    );
    m.cli(&["cluster", "meet", "127.0.0.1", &r.port.to_string()]);
    m.wait_state("ok", DEADLINE);
    r.wait_state("ok", DEADLINE);
    replicate(&r, &m);
    let rid = myid(&r);
    // A replica in sync with a master that wrote something is online.
    assert_eq!(m.cli(&["set", "k", "v"]).trim(), "OK");
    assert!(
        poll_until(DEADLINE, || shard_health(&m, &rid).as_deref()
            == Some("online")),
        "{:?}",
        m.cli(&["cluster", "shards"])
    );
    assert_eq!(
        m.cli(&["debug", "populate", "1000", "key", "100"]).trim(),
        "OK"
    );
    // Each key takes 5 ms to load; the bus is served every 1 KB.
    r.cli(&["config", "set", "key-load-delay", "5000"]);
    r.cli(&[
        "config",
        "set",
        "loading-process-events-interval-bytes",
        "1024",
    ]);
    m.cli(&["config", "set", "repl-backlog-size", "100"]);
    // Cut the replica off and write past the backlog: a full sync.
    let mut c = RawConn::connect(m.port);
    c.cmd(&["multi"]);
    c.cmd(&["client", "kill", "type", "replica"]);
    let value = "A".repeat(1024);
    for j in 0..100 {
        c.cmd(&["set", &format!("{{ch3}}{j}"), &value]);
    }
    c.cmd(&["exec"]);
    assert!(
        poll_until(DEADLINE, || shard_health(&m, &rid).as_deref()
            == Some("loading")),
        "{:?}\n{}",
        shard_health(&m, &rid),
        r.log()
    );
    r.cli(&["config", "set", "key-load-delay", "0"]);
    assert!(
        poll_until(DEADLINE, || shard_health(&m, &rid).as_deref()
            == Some("online")),
        "{:?}",
        shard_health(&m, &rid)
    );
    assert_eq!(shard_health(&r, &rid).as_deref(), Some("online"));
}
