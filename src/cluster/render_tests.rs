//! The replies rendered from a state against what a real redis-server
//! 7.0.15 answered (tests/support/cluster/*.resp2|resp3|txt, captured from
//! the first master of a 3-master, 3-replica cluster: one master announces
//! the hostname `host-two`, one replica is stopped and flagged `fail`,
//! slots 5 and 100 migrate). The state is loaded from the captured CLUSTER
//! NODES text, with the times, replication offsets and counters the
//! captures show.

use super::*;
use crate::cluster::nodes_conf;

const NODES: &[u8] = include_bytes!("../../tests/support/cluster/nodes.txt");
const SLOTS2: &[u8] = include_bytes!("../../tests/support/cluster/slots.resp2");
const SLOTS3: &[u8] = include_bytes!("../../tests/support/cluster/slots.resp3");
const SLOTS_HOST3: &[u8] = include_bytes!("../../tests/support/cluster/slots-hostname.resp3");
const SLOTS_UNKNOWN3: &[u8] = include_bytes!("../../tests/support/cluster/slots-unknown.resp3");
const SHARDS2: &[u8] = include_bytes!("../../tests/support/cluster/shards.resp2");
const SHARDS3: &[u8] = include_bytes!("../../tests/support/cluster/shards.resp3");
const SHARDS_HOST2: &[u8] = include_bytes!("../../tests/support/cluster/shards-hostname.resp2");
const INFO2: &[u8] = include_bytes!("../../tests/support/cluster/info.resp2");
const INFO3: &[u8] = include_bytes!("../../tests/support/cluster/info.resp3");

/// The end of the RESP value starting at `pos`.
fn value_end(b: &[u8], pos: usize) -> usize {
    let eol = pos + b[pos..].windows(2).position(|w| w == b"\r\n").unwrap();
    let head = std::str::from_utf8(&b[pos + 1..eol]).unwrap();
    let mut p = eol + 2;
    match b[pos] {
        b'$' | b'=' | b'!' => p + head.parse::<usize>().unwrap() + 2,
        b'*' | b'~' | b'>' => {
            for _ in 0..head.parse::<usize>().unwrap() {
                p = value_end(b, p);
            }
            p
        }
        b'%' | b'|' => {
            for _ in 0..2 * head.parse::<usize>().unwrap() {
                p = value_end(b, p);
            }
            p
        }
        _ => p,
    }
}

/// The elements of a top-level array, sorted (Redis orders shards by its
/// hash table, we by name).
fn sorted_elements(b: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(b[0], b'*');
    let mut p = value_end(b, 0);
    assert_eq!(p, b.len(), "one whole reply");
    p = b.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    let mut v = Vec::new();
    while p < b.len() {
        let e = value_end(b, p);
        v.push(b[p..e].to_vec());
        p = e;
    }
    v.sort();
    v
}

/// The captured CLUSTER NODES text (the bulk string's content).
fn nodes_text() -> String {
    let s = std::str::from_utf8(NODES).unwrap();
    let body = &s[s.find("\r\n").unwrap() + 2..];
    body.strip_suffix("\r\n").unwrap().to_string()
}

/// The replication offsets a SHARDS capture shows, by node id.
fn captured_offsets(shards: &[u8]) -> Vec<(String, i64)> {
    let s = String::from_utf8_lossy(shards).into_owned();
    let lines: Vec<&str> = s.split("\r\n").collect();
    let mut out = Vec::new();
    let mut id = None;
    for w in lines.windows(3) {
        if w[1].len() == 40 && w[0] == "$40" {
            id = Some(w[1].to_string());
        }
        if w[1] == "replication-offset" {
            let off: i64 = w[2].trim_start_matches(':').parse().unwrap();
            out.push((id.clone().unwrap(), off));
        }
    }
    out
}

/// The state behind the captures, with the replication offsets `shards`
/// (a CLUSTER SHARDS capture) shows.
fn captured_state_at(shards: &[u8]) -> (ClusterState, ReplyOpts) {
    let text = nodes_text();
    let conf = format!("{text}vars currentEpoch 6 lastVoteEpoch 0\n");
    let mut st = nodes_conf::parse(conf.as_bytes(), 1).unwrap().state;
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let idx = st.lookup_str(f[0].as_bytes()).unwrap();
        let n = st.node_mut(idx);
        n.ping_sent = f[4].parse().unwrap();
        n.pong_received = f[5].parse().unwrap();
        n.link = (f[7] == "connected").then_some(0);
    }
    let mut opts = ReplyOpts::default();
    for (id, off) in captured_offsets(shards) {
        let idx = st.lookup_str(id.as_bytes()).unwrap();
        if idx == st.myself {
            opts.my_repl_offset = off;
        }
        st.node_mut(idx).repl_offset = off;
    }
    (st, opts)
}

fn captured_state() -> (ClusterState, ReplyOpts) {
    captured_state_at(SHARDS2)
}

#[test]
fn cluster_nodes_text() {
    let (st, _) = captured_state();
    let ours = nodes_description(&st, NodeFlags::NONE, false);
    let mut a: Vec<&str> = ours.lines().collect();
    let text = nodes_text();
    let mut b: Vec<&str> = text.lines().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert!(ours.ends_with('\n'));
    // Handshake nodes are filtered out of nodes.conf, kept in CLUSTER NODES.
    let mut st = st;
    let h = st.add_node(Node::new(
        crate::cluster::ids::NodeId::random(),
        NodeFlags::HANDSHAKE,
        5,
    ));
    st.node_mut(h).ip = "127.0.0.1".into();
    st.node_mut(h).port = 7000;
    st.node_mut(h).cport = 17000;
    let all = nodes_description(&st, NodeFlags::NONE, false);
    let line = format!(
        "{} 127.0.0.1:7000@17000 handshake - 0 0 0 disconnected",
        st.node(h).name
    );
    assert!(all.lines().any(|l| l == line), "{all}");
    assert!(!nodes_description(&st, NodeFlags::HANDSHAKE, false).contains("handshake"));
}

#[test]
fn cluster_nodes_pport() {
    let (mut st, _) = captured_state();
    let me = st.myself;
    st.node_mut(me).pport = 6379;
    let line = |st: &ClusterState, pp| node_description(st, me, None, pp);
    assert!(line(&st, true).contains(" 127.0.0.1:6379@43001 "));
    assert!(line(&st, false).contains(" 127.0.0.1:33001@43001 "));
}

#[test]
fn cluster_slots_replies() {
    let (st, opts) = captured_state();
    for (resp, endpoint, want) in [
        (2, ClusterEndpointType::Ip, SLOTS2),
        (3, ClusterEndpointType::Ip, SLOTS3),
        (3, ClusterEndpointType::Hostname, SLOTS_HOST3),
        (3, ClusterEndpointType::UnknownEndpoint, SLOTS_UNKNOWN3),
    ] {
        let mut out = ReplyBuf::new();
        out.resp = resp;
        slots_reply(&st, &mut out, &ReplyOpts { endpoint, ..opts });
        assert_eq!(
            String::from_utf8_lossy(&out.buf),
            String::from_utf8_lossy(want),
            "RESP{resp} {endpoint:?}"
        );
    }
}

#[test]
fn cluster_shards_replies() {
    for (resp, endpoint, want) in [
        (2, ClusterEndpointType::Ip, SHARDS2),
        (3, ClusterEndpointType::Ip, SHARDS3),
        (2, ClusterEndpointType::Hostname, SHARDS_HOST2),
    ] {
        let (st, opts) = captured_state_at(want);
        let mut out = ReplyBuf::new();
        out.resp = resp;
        shards_reply(&st, &mut out, &ReplyOpts { endpoint, ..opts });
        let text = |v: Vec<Vec<u8>>| -> Vec<String> {
            v.iter()
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .collect()
        };
        assert_eq!(
            text(sorted_elements(&out.buf)),
            text(sorted_elements(want)),
            "RESP{resp} {endpoint:?}"
        );
    }
}

/// The message counters of a CLUSTER INFO text, set into `st`.
fn set_stats(st: &mut ClusterState, text: &str) {
    for line in text.split("\r\n") {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let Some(rest) = k.strip_prefix("cluster_stats_messages_") else {
            continue;
        };
        for (suffix, stats) in [
            ("_sent", &mut st.stats_bus_messages_sent),
            ("_received", &mut st.stats_bus_messages_received),
        ] {
            if let Some(t) = rest.strip_suffix(suffix) {
                if let Some(i) = (0..11).find(|&i| crate::cluster::bus::type_name(i) == t) {
                    stats[i as usize] = v.parse().unwrap();
                }
            }
        }
    }
}

#[test]
fn cluster_info_text() {
    let (mut st, _) = captured_state();
    st.state = st.evaluate_state(true);
    // RESP2: a bulk string.
    let body = std::str::from_utf8(INFO2).unwrap();
    let text = &body[body.find("\r\n").unwrap() + 2..body.len() - 2];
    set_stats(&mut st, text);
    assert_eq!(info(&st), text);
    // RESP3: a verbatim "txt" string (captured a moment later).
    let body = std::str::from_utf8(INFO3).unwrap();
    let text3 = &body[body.find("\r\ntxt:").unwrap() + 6..body.len() - 2];
    set_stats(&mut st, text3);
    let mut out = ReplyBuf::new();
    out.resp = 3;
    out.verbatim(info(&st).as_bytes(), "txt");
    assert_eq!(String::from_utf8_lossy(&out.buf), body);
}

#[test]
fn empty_and_tls_cases() {
    // A fresh node: no slots, CLUSTER SHARDS lists it with empty slots.
    let mut st = ClusterState::new(crate::cluster::ids::NodeId([b'a'; 40]), 1);
    let me = st.myself;
    st.node_mut(me).port = 6380;
    let mut out = ReplyBuf::new();
    slots_reply(&st, &mut out, &ReplyOpts::default());
    assert_eq!(out.buf, b"*0\r\n");
    let mut out = ReplyBuf::new();
    shards_reply(&st, &mut out, &ReplyOpts::default());
    let id = "a".repeat(40);
    assert_eq!(
        String::from_utf8(out.buf).unwrap(),
        format!(
            "*1\r\n*4\r\n$5\r\nslots\r\n*0\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n$40\r\n{id}\r\n\
             $4\r\nport\r\n:6380\r\n$2\r\nip\r\n$0\r\n\r\n$8\r\nendpoint\r\n$0\r\n\r\n\
             $4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
        )
    );
    // tls-cluster: SHARDS shows tls-port and the plaintext port (pport);
    // SLOTS shows the plaintext port to plaintext clients.
    st.node_mut(me).pport = 6379;
    st.add_slot(me, 0);
    let tls = ReplyOpts {
        tls_cluster: true,
        ..ReplyOpts::default()
    };
    let mut out = ReplyBuf::new();
    shards_reply(&st, &mut out, &tls);
    let s = String::from_utf8(out.buf).unwrap();
    assert!(
        s.contains("$4\r\nport\r\n:6379\r\n$8\r\ntls-port\r\n:6380\r\n"),
        "{s}"
    );
    let mut out = ReplyBuf::new();
    slots_reply(&st, &mut out, &tls);
    assert!(String::from_utf8_lossy(&out.buf).contains(":6379\r\n"));
    let mut out = ReplyBuf::new();
    slots_reply(
        &st,
        &mut out,
        &ReplyOpts {
            client_plaintext: false,
            ..tls
        },
    );
    assert!(String::from_utf8_lossy(&out.buf).contains(":6380\r\n"));
}
