//! The cluster bus over TLS (`tls-cluster yes`): three ferrokv nodes
//! joined by CLUSTER MEET reach cluster_state ok, a killed node is failed
//! by gossip and comes back, DEBUG CLUSTERLINK KILL reconnects over TLS;
//! a ferrokv node and a real redis-server 7.0.15 node meet and gossip both
//! ways; a plaintext connection (or a plaintext node's MEET, or a TLS peer
//! without a client certificate) to a TLS bus port is dropped and the node
//! carries on; MIGRATE from a tls-cluster node connects with TLS (to
//! ferrokv and real targets, its failure on a plaintext port as Redis's).
//! Each node has a plaintext port (the tests' redis-cli) and a
//! TLS port, with its bus on port + 10000, except in the TLS-only cluster
//! (port 0) made by `redis-cli --tls --cluster create`; every wait is a
//! poll with a deadline.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use crate::cluster_node::{free_port_in_range, RealClusterNode, REDIS_SERVER};
use crate::common::poll_until;
use crate::tls::{cli_tls, client_config, Certs};

const DEADLINE: Duration = Duration::from_secs(30);

/// A cluster node (`bin`) with tls-cluster yes: its TLS port, the
/// certificates, and its bus on port + 10000.
fn tls_node(bin: &str, certs: &Certs, extra: &[&str]) -> RealClusterNode {
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    RealClusterNode::start_bin_for_port(
        bin,
        true,
        |port| {
            let mut v = certs.args(free_port_in_range(0));
            v.extend(
                [
                    "--tls-cluster",
                    "yes",
                    "--enable-debug-command",
                    "yes",
                    "--cluster-port",
                    &(port + 10000).to_string(),
                ]
                .map(String::from),
            );
            v.extend(extra.iter().cloned());
            v
        },
        |_, _| {},
    )
}

fn ferrokv(certs: &Certs, extra: &[&str]) -> RealClusterNode {
    tls_node(env!("CARGO_BIN_EXE_ferrokv-server"), certs, extra)
}

fn myid(n: &RealClusterNode) -> String {
    n.cli(&["cluster", "myid"]).trim().to_string()
}

/// The CLUSTER NODES line of `id` as `node` sees it.
fn nodes_line(node: &RealClusterNode, id: &str) -> String {
    node.cli(&["cluster", "nodes"])
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_default()
        .to_string()
}

/// `node` lists `id` as a connected master.
fn sees_connected(node: &RealClusterNode, id: &str) -> bool {
    let l = nodes_line(node, id);
    l.contains(" master - ") && l.contains(" connected")
}

/// The tls-port a node was started with.
fn tls_port(n: &RealClusterNode) -> u16 {
    n.cli(&["config", "get", "tls-port"])
        .lines()
        .nth(1)
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0)
}

/// Three TLS ferrokv masters sharing the slots, met through the first.
fn three_nodes(certs: &Certs, extra: &[&str]) -> Vec<RealClusterNode> {
    let nodes: Vec<RealClusterNode> = (0..3).map(|_| ferrokv(certs, extra)).collect();
    for (i, (from, to)) in [("0", "5460"), ("5461", "10922"), ("10923", "16383")]
        .iter()
        .enumerate()
    {
        assert_eq!(
            nodes[i].cli(&["cluster", "addslotsrange", from, to]).trim(),
            "OK"
        );
        let epoch = (i + 1).to_string();
        nodes[i].cli(&["cluster", "set-config-epoch", &epoch]);
    }
    for n in &nodes[1..] {
        let p = n.port.to_string();
        assert_eq!(
            nodes[0].cli(&["cluster", "meet", "127.0.0.1", &p]).trim(),
            "OK"
        );
    }
    let ids: Vec<String> = nodes.iter().map(myid).collect();
    for (i, n) in nodes.iter().enumerate() {
        for (j, id) in ids.iter().enumerate() {
            if i != j {
                assert!(
                    poll_until(DEADLINE, || sees_connected(n, id)),
                    "{}\n{}",
                    n.cli(&["cluster", "nodes"]),
                    n.log()
                );
            }
        }
        n.wait_state("ok", DEADLINE);
    }
    nodes
}

/// The create-time of `node`'s outbound link (CLUSTER LINKS).
fn to_link_ctime(node: &RealClusterNode) -> Option<String> {
    let l = node.cli(&["cluster", "links"]);
    let lines: Vec<&str> = l.lines().collect();
    lines
        .iter()
        .position(|&x| x == "to")
        .and_then(|i| lines.get(i + 4))
        .map(|s| s.to_string())
}

#[test]
fn three_ferrokv_nodes_over_a_tls_bus() {
    let certs = Certs::new();
    let mut nodes = three_nodes(&certs, &["--cluster-node-timeout", "1000"]);
    let ids: Vec<String> = nodes.iter().map(myid).collect();
    for n in &nodes {
        assert!(
            !n.log().contains("does not speak TLS"),
            "the old warning: {}",
            n.log()
        );
    }
    // TLS clients get the TLS ports, and MOVED leads to one.
    let tls = tls_port(&nodes[0]);
    let slots = cli_tls(&certs, tls, true, &["cluster", "slots"]);
    assert!(slots.contains(&tls.to_string()), "{slots}");
    // Messages flow over the links: the counters grow, both directions
    // of links are up.
    let info = nodes[0].cli(&["cluster", "info"]);
    assert!(
        info.contains("cluster_stats_messages_pong_received:"),
        "{info}"
    );
    let links = nodes[0].cli(&["cluster", "links"]);
    assert_eq!(links.lines().filter(|l| *l == "to").count(), 2, "{links}");
    assert_eq!(links.lines().filter(|l| *l == "from").count(), 2, "{links}");
    // DEBUG CLUSTERLINK KILL: the cron reconnects (a new TLS handshake).
    let before = to_link_ctime(&nodes[0]);
    assert!(before.is_some());
    for id in &ids[1..] {
        assert_eq!(
            nodes[0]
                .cli(&["debug", "clusterlink", "kill", "all", id])
                .trim(),
            "OK"
        );
    }
    assert!(
        poll_until(DEADLINE, || {
            let now = to_link_ctime(&nodes[0]);
            now.is_some()
                && now != before
                && ids[1..].iter().all(|id| sees_connected(&nodes[0], id))
        }),
        "{}",
        nodes[0].cli(&["cluster", "links"])
    );
    // Failure detection over TLS: a SIGKILLed master is flagged fail by
    // the quorum of the other two, and the cluster fails.
    let dead = ids[2].clone();
    nodes[2].kill9();
    for n in &nodes[..2] {
        assert!(
            poll_until(DEADLINE, || nodes_line(n, &dead).contains("master,fail ")),
            "{}\n{}",
            n.cli(&["cluster", "nodes"]),
            n.log()
        );
        n.wait_state("fail", DEADLINE);
    }
    let logs = format!("{}{}", nodes[0].log(), nodes[1].log());
    assert!(
        logs.contains(&format!("Marking node {dead} as failing (quorum reached).")),
        "{logs}"
    );
    // Back with its nodes.conf: the links come up again over TLS.
    nodes[2].restart();
    for n in &nodes {
        n.wait_state("ok", DEADLINE);
    }
    assert!(!nodes_line(&nodes[0], &dead).contains("fail"));
}

#[test]
fn ferrokv_and_real_redis_meet_over_tls() {
    let certs = Certs::new();
    let timeout = ["--cluster-node-timeout", "3000"];
    let ours = ferrokv(&certs, &timeout);
    let real = tls_node(REDIS_SERVER, &certs, &timeout);
    assert_eq!(
        ours.cli(&["cluster", "addslotsrange", "0", "8191"]).trim(),
        "OK"
    );
    assert_eq!(
        real.cli(&["cluster", "addslotsrange", "8192", "16383"])
            .trim(),
        "OK"
    );
    ours.cli(&["cluster", "set-config-epoch", "1"]);
    real.cli(&["cluster", "set-config-epoch", "2"]);
    // We meet the real node: our outbound TLS link, then its own.
    let p = real.port.to_string();
    assert_eq!(ours.cli(&["cluster", "meet", "127.0.0.1", &p]).trim(), "OK");
    let (our_id, real_id) = (myid(&ours), myid(&real));
    let sees = |n: &RealClusterNode, id: &str, slots: &str| {
        let l = nodes_line(n, id);
        sees_connected(n, id) && l.ends_with(slots)
    };
    assert!(
        poll_until(DEADLINE, || sees(&ours, &real_id, "connected 8192-16383")
            && sees(&real, &our_id, "connected 0-8191")),
        "ours:\n{}\nreal:\n{}\n{}\n{}",
        ours.cli(&["cluster", "nodes"]),
        real.cli(&["cluster", "nodes"]),
        ours.log(),
        real.log()
    );
    ours.wait_state("ok", DEADLINE);
    real.wait_state("ok", DEADLINE);
    // Both see both links (to and from) up.
    for n in [&ours, &real] {
        assert!(
            poll_until(DEADLINE, || {
                let l = n.cli(&["cluster", "links"]);
                l.lines().any(|x| x == "to") && l.lines().any(|x| x == "from")
            }),
            "{}",
            n.cli(&["cluster", "links"])
        );
    }
    // The nodes report each other's TLS port to TLS clients.
    let nodes = cli_tls(&certs, tls_port(&ours), true, &["cluster", "nodes"]);
    assert!(
        nodes.contains(&format!(":{}@{}", tls_port(&real), real.bus_port())),
        "{nodes}"
    );
    // Gossip-carried PUBLISH both ways.
    for (from, to) in [(&ours, &real), (&real, &ours)] {
        let mut sub = crate::common::RawConn::connect(to.port);
        sub.send(&[b"SUBSCRIBE", b"c"]);
        sub.set_read_timeout(Duration::from_millis(200));
        let mut got = Vec::new();
        let ok = poll_until(DEADLINE, || {
            from.cli(&["publish", "c", "hello"]);
            while let Ok(Some(r)) = sub.try_read_reply() {
                got.push(String::from_utf8_lossy(&r).into_owned());
            }
            got.iter().any(|r| r.contains("hello"))
        });
        assert!(ok, "{got:?}");
    }
    // A killed link is reconnected (our outbound one).
    let before = to_link_ctime(&ours);
    assert_eq!(
        ours.cli(&["debug", "clusterlink", "kill", "to", &real_id])
            .trim(),
        "OK"
    );
    assert!(
        poll_until(DEADLINE, || {
            let now = to_link_ctime(&ours);
            now.is_some() && now != before
        }),
        "{}",
        ours.cli(&["cluster", "links"])
    );
    assert!(sees(&real, &our_id, "connected 0-8191"));
}

#[test]
fn plaintext_on_a_tls_bus_is_dropped() {
    let certs = Certs::new();
    let node = ferrokv(&certs, &["--cluster-node-timeout", "3000"]);
    assert_eq!(
        node.cli(&["cluster", "addslotsrange", "0", "16383"]).trim(),
        "OK"
    );
    node.wait_state("ok", DEADLINE);
    let bus = node.bus_port();
    // A plaintext bus message: the connection is closed.
    let mut s = TcpStream::connect(("127.0.0.1", bus)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut msg = b"RCmb".to_vec();
    msg.extend_from_slice(&2256u32.to_be_bytes());
    msg.resize(2256, 0);
    let _ = s.write_all(&msg);
    let mut buf = [0u8; 64];
    assert!(
        matches!(s.read(&mut buf), Ok(0) | Err(_)),
        "a plaintext peer kept its connection"
    );
    // A TLS peer without a client certificate is refused too.
    let cfg: Arc<rustls::ClientConfig> = client_config(&certs, false);
    let sock = TcpStream::connect(("127.0.0.1", bus)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(cfg, name).unwrap();
    let mut t = rustls::StreamOwned::new(conn, sock);
    let _ = t.write_all(&msg);
    assert!(
        matches!(t.read(&mut buf), Ok(0) | Err(_)),
        "a TLS peer without a certificate was accepted"
    );
    // A peer with a certificate completes the handshake: the bus speaks
    // TLS.
    let sock = TcpStream::connect(("127.0.0.1", bus)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(client_config(&certs, true), name).unwrap();
    let mut sock = sock;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)
            .expect("TLS handshake with the bus");
    }
    drop(sock);
    // A plaintext node's MEET never makes it into the TLS node's table.
    let plain = RealClusterNode::start_ferrokv(&["--cluster-node-timeout", "3000"], |_, _| {});
    let plain_id = myid(&plain);
    let p = node.port.to_string();
    assert_eq!(
        plain.cli(&["cluster", "meet", "127.0.0.1", &p]).trim(),
        "OK"
    );
    let joined = poll_until(Duration::from_secs(3), || {
        node.cli(&["cluster", "nodes"]).lines().count() > 1
    });
    assert!(!joined, "{}", node.cli(&["cluster", "nodes"]));
    assert!(!node.cli(&["cluster", "nodes"]).contains(&plain_id));
    // The node carries on.
    assert_eq!(node.cli(&["ping"]).trim(), "PONG");
    node.wait_state("ok", DEADLINE);
    assert!(
        node.log()
            .contains("Error accepting cluster node connection"),
        "{}",
        node.log()
    );
}

/// MIGRATE from a tls-cluster node connects with TLS (Redis's
/// migrateGetSocket): to a TLS port it moves the key; to a plaintext port
/// the handshake fails and the reply is Redis's.
#[test]
fn migrate_from_a_tls_cluster_node_speaks_tls() {
    let certs = Certs::new();
    let ours = ferrokv(&certs, &[]);
    let real = tls_node(REDIS_SERVER, &certs, &[]);
    for n in [&ours, &real] {
        assert_eq!(
            n.cli(&["cluster", "addslotsrange", "0", "16383"]).trim(),
            "OK"
        );
        n.wait_state("ok", DEADLINE);
    }
    let (target, target_tls) = crate::tls::start(&certs, &[]);
    let (real_target, real_target_tls) =
        crate::tls::start_with(&certs, &[], crate::common::RealRedis::start_with);
    let mut replies = Vec::new();
    for (src, name) in [(&ours, "ours"), (&real, "real")] {
        for (t, tls) in [(&target, target_tls), (&real_target, real_target_tls)] {
            let key = format!("k-{name}-{}", t.port());
            assert_eq!(src.cli(&["set", &key, "v"]).trim(), "OK");
            let p = tls.to_string();
            assert_eq!(
                src.cli(&["migrate", "127.0.0.1", &p, &key, "0", "5000"])
                    .trim(),
                "OK",
                "{name} to {p}: {}",
                src.log()
            );
            let mut c = crate::common::RawConn::connect(t.port());
            assert_eq!(c.cmd_str(&["GET", &key]), "$1\r\nv\r\n");
            assert_eq!(src.cli(&["exists", &key]).trim(), "0");
            // The plaintext port: no TLS handshake there.
            assert_eq!(src.cli(&["set", &key, "v"]).trim(), "OK");
            let p = t.port().to_string();
            replies.push(
                src.cli(&["migrate", "127.0.0.1", &p, &key, "0", "2000"])
                    .trim()
                    .to_string(),
            );
        }
    }
    assert_eq!(replies[0], replies[2], "{replies:?}");
    assert_eq!(replies[1], replies[3], "{replies:?}");
    assert!(replies[0].starts_with("IOERR"), "{replies:?}");
}

/// Nodes serving TLS only (port 0) form a cluster with `redis-cli --tls
/// --cluster create`, their buses on cluster-port.
#[test]
fn tls_only_nodes_join_with_redis_cli_cluster_create() {
    let certs = Certs::new();
    let nodes: Vec<(crate::common::Server, u16)> = (0..3)
        .map(|_| {
            let cport = free_port_in_range(0).to_string();
            let (srv, tls) = crate::tls::start(
                &certs,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--tls-cluster",
                    "yes",
                    "--cluster-port",
                    &cport,
                    "--cluster-node-timeout",
                    "3000",
                ],
            );
            // TLS only from now on.
            assert_eq!(
                crate::common::redis_cli(srv.port(), &["config", "set", "port", "0"]).trim(),
                "OK"
            );
            (srv, tls)
        })
        .collect();
    let addrs: Vec<String> = nodes
        .iter()
        .map(|(_, p)| format!("127.0.0.1:{p}"))
        .collect();
    let tls_args = [
        "--tls".to_string(),
        "--cacert".into(),
        certs.path("ca.crt"),
        "--cert".into(),
        certs.path("client.crt"),
        "--key".into(),
        certs.path("client.key"),
    ];
    let out = std::process::Command::new("timeout")
        .args(["60", "redis-cli"])
        .args(&tls_args)
        .args(["--cluster", "create"])
        .args(&addrs)
        .arg("--cluster-yes")
        .output()
        .expect("redis-cli");
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.contains("[OK] All 16384 slots covered."),
        "{out}\n{}",
        nodes[0].0.log()
    );
    for (srv, tls) in &nodes {
        assert!(
            poll_until(DEADLINE, || cli_tls(
                &certs,
                *tls,
                true,
                &["cluster", "info"]
            )
            .contains("cluster_state:ok")),
            "{}\n{}",
            cli_tls(&certs, *tls, true, &["cluster", "nodes"]),
            srv.log()
        );
        let view = cli_tls(&certs, *tls, true, &["cluster", "nodes"]);
        assert_eq!(
            view.lines()
                .filter(|l| l.contains("master") && l.contains(" connected "))
                .count(),
            3,
            "{view}"
        );
    }
}
