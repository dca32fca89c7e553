//! Cluster failover between live ferrokv nodes: three masters each with a
//! replica (`redis-cli --cluster create --cluster-replicas 1`, node timeout
//! 1000 ms). A SIGKILLed master's replica wins the election and takes its
//! slots (the cluster is ok again, writes work), and the old master,
//! restarted with its nodes.conf, rejoins as a replica of the new one.
//! CLUSTER FAILOVER (default: the master pauses and the replica catches up
//! first, so no write is lost) and TAKEOVER swap the roles; Redis's
//! refusals and syntax errors. Mixed clusters: a real redis-server replica
//! promoted by ferrokv masters' votes, and a ferrokv replica by real
//! masters' votes. Every wait is a poll with a deadline.

use std::process::Command;
use std::time::Duration;

use crate::cluster_node::RealClusterNode;
use crate::common::poll_until;
use ferrokv::cluster::slot::key_hash_slot;

const DEADLINE: Duration = Duration::from_secs(30);
const TIMEOUT: &[&str] = &["--cluster-node-timeout", "1000"];

fn wait_state(node: &RealClusterNode, state: &str) {
    node.wait_state(state, DEADLINE);
}

/// Six ferrokv nodes made a cluster of three masters with a replica each.
fn six_nodes() -> Vec<RealClusterNode> {
    six_nodes_of(|_| true)
}

/// Six nodes, ferrokv where `ferrokv(i)` (else real redis-server 7.0.15):
/// the first three become the masters, the last three their replicas.
fn six_nodes_of(ferrokv: impl Fn(usize) -> bool) -> Vec<RealClusterNode> {
    let nodes: Vec<RealClusterNode> = (0..6)
        .map(|i| {
            if ferrokv(i) {
                RealClusterNode::start_ferrokv(TIMEOUT, |_, _| {})
            } else {
                RealClusterNode::start_with(TIMEOUT, |_, _| {})
            }
        })
        .collect();
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port))
        .collect();
    let out = Command::new("timeout")
        .args(["60", "redis-cli", "--cluster", "create"])
        .args(&addrs)
        .args(["--cluster-replicas", "1", "--cluster-yes"])
        .output()
        .expect("redis-cli");
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.contains("[OK] All 16384 slots covered."), "{out}");
    for n in &nodes {
        wait_state(n, "ok");
    }
    // Every replica knows its master.
    for n in &nodes {
        assert!(poll_until(DEADLINE, || {
            let r = n.cli(&["role"]);
            r.starts_with("master") || r.contains("connected")
        }));
    }
    nodes
}

fn myid(n: &RealClusterNode) -> String {
    n.cli(&["cluster", "myid"]).trim().to_string()
}

/// The CLUSTER NODES line of `id` as `node` sees it.
fn line(node: &RealClusterNode, id: &str) -> String {
    node.cli(&["cluster", "nodes"])
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_default()
        .to_string()
}

/// Whether the CLUSTER NODES line claims `slot`.
fn claims(l: &str, slot: usize) -> bool {
    l.split(' ').skip(8).any(|r| {
        let mut it = r.split('-');
        let a = it.next().and_then(|s| s.parse::<usize>().ok());
        let b = it.next().and_then(|s| s.parse::<usize>().ok()).or(a);
        matches!((a, b), (Some(a), Some(b)) if a <= slot && slot <= b)
    })
}

/// (master index, its replica's index) for the master serving `slot`.
fn pair_for(nodes: &[RealClusterNode], slot: usize) -> (usize, usize) {
    let ids: Vec<String> = nodes.iter().map(myid).collect();
    let m = (0..nodes.len())
        .find(|&i| {
            claims(&line(&nodes[i], &ids[i]), slot) && nodes[i].cli(&["role"]).starts_with("master")
        })
        .expect("a master for the slot");
    let r = (0..nodes.len())
        .find(|&i| line(&nodes[i], &ids[i]).split(' ').nth(3) == Some(ids[m].as_str()))
        .expect("its replica");
    (m, r)
}

/// Waits until everyone sees `id` as a master claiming `slot`.
fn wait_master_everywhere(nodes: &[&RealClusterNode], id: &str, slot: usize) {
    for n in nodes {
        assert!(
            poll_until(DEADLINE, || {
                let l = line(n, id);
                l.split(' ').nth(2).is_some_and(|f| f.contains("master")) && claims(&l, slot)
            }),
            "{id} not master of {slot} on {}:\n{}",
            n.port,
            n.cli(&["cluster", "nodes"])
        );
    }
}

fn write_keys(n: &RealClusterNode, from: usize, to: usize) {
    for i in from..to {
        assert_eq!(n.cli(&["set", &format!("{{fo}}:{i}"), "v"]).trim(), "OK");
    }
}

#[test]
fn a_killed_master_is_replaced_by_its_replica() {
    let mut nodes = six_nodes();
    let slot = key_hash_slot(b"fo") as usize;
    let (m, r) = pair_for(&nodes, slot);
    let (old_id, new_id) = (myid(&nodes[m]), myid(&nodes[r]));
    write_keys(&nodes[m], 0, 50);
    assert!(poll_until(DEADLINE, || nodes[r].cli(&["dbsize"]).trim() == "50"));
    nodes[m].kill9();
    let others: Vec<&RealClusterNode> = (0..6).filter(|&i| i != m).map(|i| &nodes[i]).collect();
    wait_master_everywhere(&others, &new_id, slot);
    for n in &others {
        wait_state(n, "ok");
    }
    let log = nodes[r].log();
    assert!(
        log.contains("Failover election won: I'm the new master."),
        "{log}"
    );
    assert!(
        log.contains("Starting a failover election for epoch"),
        "{log}"
    );
    // Writes work on the new master and nothing acknowledged was lost.
    write_keys(&nodes[r], 50, 60);
    assert_eq!(nodes[r].cli(&["dbsize"]).trim(), "60");
    // The old master comes back as a replica of the new one.
    nodes[m].restart();
    assert!(
        poll_until(DEADLINE, || line(&nodes[m], &old_id)
            .starts_with(&format!("{old_id} "))
            && line(&nodes[m], &old_id)
                .contains(&format!("myself,slave {new_id}"))),
        "{}\n{}",
        nodes[m].cli(&["cluster", "nodes"]),
        nodes[m].log()
    );
    assert!(poll_until(DEADLINE, || nodes[m].cli(&["dbsize"]).trim() == "60"));
}

#[test]
fn manual_failover_and_takeover_swap_roles() {
    let nodes = six_nodes();
    let slot = key_hash_slot(b"fo") as usize;
    let (m, r) = pair_for(&nodes, slot);
    let (m_id, r_id) = (myid(&nodes[m]), myid(&nodes[r]));
    // Refusals and syntax.
    assert_eq!(
        nodes[m].cli(&["cluster", "failover"]).trim(),
        "ERR You should send CLUSTER FAILOVER to a replica"
    );
    assert_eq!(
        nodes[r].cli(&["cluster", "failover", "bogus"]).trim(),
        "ERR syntax error"
    );
    assert_eq!(
        nodes[r].cli(&["cluster", "failover", "force", "x"]).trim(),
        "ERR syntax error"
    );
    // The default manual failover: no acknowledged write is lost.
    write_keys(&nodes[m], 0, 100);
    assert_eq!(nodes[r].cli(&["cluster", "failover"]).trim(), "OK");
    let all: Vec<&RealClusterNode> = nodes.iter().collect();
    wait_master_everywhere(&all, &r_id, slot);
    assert_eq!(nodes[r].cli(&["dbsize"]).trim(), "100");
    let log = nodes[r].log();
    assert!(
        log.contains("Manual failover user request accepted."),
        "{log}"
    );
    assert!(
        log.contains("All master replication stream processed, manual failover can start."),
        "{log}"
    );
    assert!(nodes[m]
        .log()
        .contains(&format!("Manual failover requested by replica {r_id}.")));
    assert!(poll_until(DEADLINE, || line(&nodes[m], &m_id)
        .contains(&format!("myself,slave {r_id}"))));
    for n in &nodes {
        wait_state(n, "ok");
    }
    write_keys(&nodes[r], 100, 110);
    assert!(poll_until(DEADLINE, || nodes[m].cli(&["dbsize"]).trim() == "110"));
    // TAKEOVER: the old master takes its slots back without a vote.
    assert_eq!(
        nodes[m].cli(&["cluster", "failover", "takeover"]).trim(),
        "OK"
    );
    wait_master_everywhere(&all, &m_id, slot);
    assert!(nodes[m]
        .log()
        .contains("Taking over the master (user request)."));
    assert!(poll_until(DEADLINE, || line(&nodes[r], &r_id)
        .contains(&format!("myself,slave {m_id}"))));
    for n in &nodes {
        wait_state(n, "ok");
    }
    write_keys(&nodes[m], 110, 120);
    assert_eq!(nodes[m].cli(&["dbsize"]).trim(), "120");
}

/// A mixed cluster: the replica of a killed master is promoted by the
/// votes of the two other masters, with real and ferrokv nodes on either
/// side.
fn mixed_failover(ferrokv_masters: bool) {
    let mut nodes = six_nodes_of(|i| (i < 3) == ferrokv_masters);
    let slot = key_hash_slot(b"fo") as usize;
    let (m, r) = pair_for(&nodes, slot);
    let new_id = myid(&nodes[r]);
    write_keys(&nodes[m], 0, 20);
    assert!(poll_until(DEADLINE, || nodes[r].cli(&["dbsize"]).trim() == "20"));
    nodes[m].kill9();
    let others: Vec<&RealClusterNode> = (0..6).filter(|&i| i != m).map(|i| &nodes[i]).collect();
    wait_master_everywhere(&others, &new_id, slot);
    for n in &others {
        wait_state(n, "ok");
    }
    write_keys(&nodes[r], 20, 30);
    assert_eq!(nodes[r].cli(&["dbsize"]).trim(), "30");
    let voters: String = (0..3).filter(|&i| i != m).map(|i| nodes[i].log()).collect();
    assert!(
        voters.contains(&format!("Failover auth granted to {new_id}")),
        "{voters}"
    );
}

#[test]
fn a_real_replica_is_promoted_by_ferrokv_votes() {
    mixed_failover(true);
}

#[test]
fn a_ferrokv_replica_is_promoted_by_real_votes() {
    mixed_failover(false);
}

/// cluster-replica-no-failover sets myself's `nofailover` flag (CLUSTER
/// NODES and nodes.conf), and clears it again.
#[test]
fn no_failover_config_flags_myself() {
    let n = RealClusterNode::start_ferrokv(TIMEOUT, |_, _| {});
    let id = myid(&n);
    let flags = |n: &RealClusterNode| line(n, &id).split(' ').nth(2).unwrap_or("").to_string();
    assert_eq!(flags(&n), "myself,master");
    n.cli(&["config", "set", "cluster-replica-no-failover", "yes"]);
    assert!(poll_until(DEADLINE, || flags(&n) == "myself,master,nofailover"));
    assert!(poll_until(DEADLINE, || std::fs::read_to_string(
        n.dir.join("nodes.conf")
    )
    .unwrap_or_default()
    .contains("myself,master,nofailover")));
    n.cli(&["config", "set", "cluster-replica-no-failover", "no"]);
    assert!(poll_until(DEADLINE, || flags(&n) == "myself,master"));
}
