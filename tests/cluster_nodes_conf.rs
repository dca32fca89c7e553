//! nodes.conf and CLUSTER NODES against a real redis-server 7.0.15: a node
//! started on a nodes.conf we wrote takes it as written (name, address,
//! flags, masters, epochs, slots, migrating/importing slots, currentEpoch,
//! lastVoteEpoch); the file it then writes loads with our parser and
//! renders back to the same lines; and our CLUSTER NODES rendering of that
//! state equals the real node's CLUSTER NODES.

use crate::cluster_node;

use cluster_node::RealClusterNode;
use ferrokv::cluster::ids::{NodeFlags, NodeId};
use ferrokv::cluster::nodes_conf;
use ferrokv::cluster::render::nodes_description;
use ferrokv::cluster::state::{ClusterState, Node};

/// Lines sorted, without ping-sent, pong-recv and the link state (the live
/// parts: the real node keeps pinging the unreachable nodes).
fn normalized(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut f: Vec<String> = l.split(' ').map(str::to_string).collect();
            if f[0] != "vars" {
                f.remove(7);
                f.remove(5);
                f.remove(4);
            }
            f.join(" ")
        })
        .collect();
    v.sort();
    v
}

/// The state we hand the real node: myself (a master with slots, one
/// migrating and one importing), another master with a replica.
fn our_state(port: u16) -> (ClusterState, NodeId, NodeId, NodeId) {
    let (me, other, replica) = (NodeId::random(), NodeId::random(), NodeId::random());
    let mut st = ClusterState::new(me, 1);
    let m = st.myself;
    {
        let n = st.node_mut(m);
        n.ip = "127.0.0.1".into();
        n.port = port;
        n.cport = port + 10000;
        n.config_epoch = 4;
    }
    for s in (0..=99).chain([200, 16383]) {
        st.add_slot(m, s);
    }
    let o = st.add_node(Node::new(other, NodeFlags::MASTER, 1));
    {
        let n = st.node_mut(o);
        n.ip = "127.0.0.1".into();
        n.port = 1;
        n.cport = 2;
        n.hostname = "other-host".into();
        n.config_epoch = 3;
    }
    for s in 500..=599 {
        st.add_slot(o, s);
    }
    let r = st.add_node(Node::new(
        replica,
        NodeFlags::SLAVE | NodeFlags::NOFAILOVER,
        1,
    ));
    {
        let n = st.node_mut(r);
        n.ip = "127.0.0.1".into();
        n.port = 3;
        n.cport = 4;
    }
    st.set_replica_of(r, o);
    st.migrating_slots_to[42] = Some(o);
    st.importing_slots_from[300] = Some(o);
    st.current_epoch = 7;
    st.last_vote_epoch = 2;
    (st, me, other, replica)
}

#[test]
fn real_node_loads_our_nodes_conf() {
    let written = std::sync::Mutex::new(None);
    let real = RealClusterNode::start_with(&["--cluster-node-timeout", "60000"], |dir, port| {
        let (st, me, other, replica) = our_state(port);
        let text = nodes_conf::render(&st);
        nodes_conf::save(&dir.join("nodes.conf"), text.as_bytes(), true).unwrap();
        *written.lock().unwrap() = Some((text, me, other, replica));
    });
    let (text, me, other, replica) = written.lock().unwrap().take().unwrap();
    assert_eq!(real.cli(&["cluster", "myid"]).trim(), me.to_string());
    let info = real.cli(&["cluster", "info"]);
    assert!(info.contains("cluster_current_epoch:7"), "{info}");
    assert!(info.contains("cluster_my_epoch:4"), "{info}");
    assert!(info.contains("cluster_known_nodes:3"), "{info}");
    assert!(info.contains("cluster_slots_assigned:202"), "{info}");

    // The real node's CLUSTER NODES is what we wrote.
    let nodes = real.cli(&["cluster", "nodes"]);
    let written_nodes: String = text
        .lines()
        .filter(|l| !l.starts_with("vars "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        normalized(&nodes),
        normalized(&written_nodes),
        "{nodes}\nwe wrote:\n{text}"
    );
    assert!(nodes.contains(&format!("[42->-{other}]")));
    assert!(nodes.contains(&format!("[300-<-{other}]")));
    assert!(nodes.contains(&format!(
        "{replica} 127.0.0.1:3@4 slave,nofailover {other} "
    )));

    // The file it writes (CLUSTER SAVECONFIG) loads with our parser, and
    // rendering that state gives the real node's lines back.
    assert_eq!(real.cli(&["cluster", "saveconfig"]).trim(), "OK");
    let saved = std::fs::read(real.dir.join("nodes.conf")).unwrap();
    let loaded = nodes_conf::parse(&saved, 1).unwrap().state;
    assert_eq!(loaded.current_epoch, 7);
    assert_eq!(loaded.last_vote_epoch, 2);
    let ours = nodes_conf::render(&loaded);
    assert_eq!(
        normalized(&ours),
        normalized(&String::from_utf8_lossy(&saved))
    );
    assert_eq!(
        ours.lines().last(),
        Some("vars currentEpoch 7 lastVoteEpoch 2")
    );

    // And our CLUSTER NODES rendering of the live text equals the live text
    // (times and link states taken from it).
    let live = real.cli(&["cluster", "nodes"]);
    let mut st = nodes_conf::parse(
        format!("{live}vars currentEpoch 7 lastVoteEpoch 2\n").as_bytes(),
        1,
    )
    .unwrap()
    .state;
    for line in live.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let idx = st.lookup_str(f[0].as_bytes()).unwrap();
        let n = st.node_mut(idx);
        n.ping_sent = f[4].parse().unwrap();
        n.pong_received = f[5].parse().unwrap();
        n.link = (f[7] == "connected").then_some(0);
    }
    let mut a: Vec<String> = nodes_description(&st, NodeFlags::NONE, false)
        .lines()
        .map(str::to_string)
        .collect();
    let mut b: Vec<String> = live.lines().map(str::to_string).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}
