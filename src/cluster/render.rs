//! The replies rendered from the cluster state, in Redis 7.0.15's formats:
//! CLUSTER NODES (also the body of nodes.conf: clusterGenNodesDescription),
//! CLUSTER INFO's text, CLUSTER SLOTS (clusterReplyMultiBulkSlots) and
//! CLUSTER SHARDS (clusterReplyShards). Nodes are listed in name order
//! (Redis lists them in its hash table's order, which clients do not rely
//! on).

use std::fmt::Write;

use super::bus::type_name;
use super::ids::NodeFlags;
use super::slot::CLUSTER_SLOTS;
use super::state::{ClusterState, Health, Node, NodeIdx};
use crate::config::ClusterEndpointType;
use crate::protocol::reply::ReplyBuf;

/// What the replies depend on besides the state.
#[derive(Clone, Copy, Debug)]
pub struct ReplyOpts {
    /// cluster-preferred-endpoint-type.
    pub endpoint: ClusterEndpointType,
    /// tls-cluster: node ports are TLS ports, `pport` the plaintext ones.
    pub tls_cluster: bool,
    /// The asking client is on a plaintext connection (with tls-cluster,
    /// CLUSTER SLOTS then reports plaintext ports).
    pub client_plaintext: bool,
    /// This node's replication offset: the processed offset if it is a
    /// replica, master_repl_offset if a master (Redis reads these live
    /// rather than from the node's entry).
    pub my_repl_offset: i64,
}

impl Default for ReplyOpts {
    fn default() -> Self {
        ReplyOpts {
            endpoint: ClusterEndpointType::Ip,
            tls_cluster: false,
            client_plaintext: true,
            my_repl_offset: 0,
        }
    }
}

/// Per node, the (start, end) ranges of the slot table it owns
/// (clusterGenNodesSlotsInfo).
fn slot_ranges(st: &ClusterState) -> std::collections::HashMap<NodeIdx, Vec<(u16, u16)>> {
    let mut out: std::collections::HashMap<NodeIdx, Vec<(u16, u16)>> = Default::default();
    for (owner, start, end) in owner_runs(st) {
        out.entry(owner).or_default().push((start, end));
    }
    out
}

/// Maximal runs of consecutive slots with the same owner, in slot order.
fn owner_runs(st: &ClusterState) -> Vec<(NodeIdx, u16, u16)> {
    let table = st.slot_table();
    let mut runs = Vec::new();
    let mut s = 0;
    while s < CLUSTER_SLOTS {
        let Some(owner) = table[s] else {
            s += 1;
            continue;
        };
        let start = s;
        while s + 1 < CLUSTER_SLOTS && table[s + 1] == Some(owner) {
            s += 1;
        }
        runs.push((owner, start as u16, s as u16));
        s += 1;
    }
    runs
}

/// One CLUSTER NODES line, without its newline (clusterGenNodeDescription).
/// `ranges` are the node's slot ranges from the slot table.
pub fn node_description(
    st: &ClusterState,
    idx: NodeIdx,
    ranges: Option<&[(u16, u16)]>,
    use_pport: bool,
) -> String {
    let n = st.node(idx);
    let port = if use_pport && n.pport != 0 {
        n.pport
    } else {
        n.port
    };
    let mut ci = format!("{} {}:{}@{}", n.name, n.ip, port, n.cport);
    if !n.hostname.is_empty() {
        let _ = write!(ci, ",{}", n.hostname);
    }
    let master = match n.replica_of {
        Some(m) => st.node(m).name.to_string(),
        None => "-".to_string(),
    };
    let _ = write!(
        ci,
        " {} {} {} {} {} {}",
        n.flags.describe(),
        master,
        n.ping_sent,
        n.pong_received,
        st.effective_epoch(idx),
        if n.link.is_some() || n.is_myself() {
            "connected"
        } else {
            "disconnected"
        }
    );
    let bitmap_ranges;
    let ranges = match ranges {
        Some(r) => r,
        None => {
            bitmap_ranges = n.slots.ranges();
            &bitmap_ranges
        }
    };
    for &(a, b) in ranges {
        if a == b {
            let _ = write!(ci, " {a}");
        } else {
            let _ = write!(ci, " {a}-{b}");
        }
    }
    if n.is_myself() {
        // Open slots in slot order, a migrating one shown as such even if
        // also importing. (Plain loops: this runs on every nodes.conf save,
        // and unoptimized test builds pay for iterator adapters.)
        let mut open: Vec<(usize, bool, NodeIdx)> = Vec::new();
        let mut s = 0;
        for to in &st.migrating_slots_to {
            if let Some(to) = to {
                open.push((s, true, *to));
            }
            s += 1;
        }
        s = 0;
        for from in &st.importing_slots_from {
            if let Some(from) = from {
                if st.migrating_slots_to[s].is_none() {
                    open.push((s, false, *from));
                }
            }
            s += 1;
        }
        open.sort_unstable_by_key(|&(s, _, _)| s);
        for (s, migrating, other) in open {
            let arrow = if migrating { "->-" } else { "-<-" };
            let _ = write!(ci, " [{}{}{}]", s, arrow, st.node(other).name);
        }
    }
    ci
}

/// CLUSTER NODES: one line per node, nodes with any of `filter`'s flags
/// left out (nodes.conf leaves out HANDSHAKE nodes).
pub fn nodes_description(st: &ClusterState, filter: NodeFlags, use_pport: bool) -> String {
    let ranges = slot_ranges(st);
    let mut out = String::new();
    for (idx, n) in st.iter() {
        if n.flags.any(filter) {
            continue;
        }
        out.push_str(&node_description(
            st,
            idx,
            ranges.get(&idx).map(|v| v.as_slice()),
            use_pport,
        ));
        out.push('\n');
    }
    out
}

/// CLUSTER INFO's text (lines end with CRLF).
pub fn info(st: &ClusterState) -> String {
    let (mut assigned, mut ok, mut pfail, mut fail) = (0, 0, 0, 0);
    for owner in st.slot_table().iter().flatten() {
        let n = st.node(*owner);
        assigned += 1;
        if n.failed() {
            fail += 1;
        } else if n.timed_out() {
            pfail += 1;
        } else {
            ok += 1;
        }
    }
    let mut s = String::new();
    let _ = write!(
        s,
        "cluster_state:{}\r\ncluster_slots_assigned:{}\r\ncluster_slots_ok:{}\r\n\
         cluster_slots_pfail:{}\r\ncluster_slots_fail:{}\r\ncluster_known_nodes:{}\r\n\
         cluster_size:{}\r\ncluster_current_epoch:{}\r\ncluster_my_epoch:{}\r\n",
        if st.state == Health::Ok { "ok" } else { "fail" },
        assigned,
        ok,
        pfail,
        fail,
        st.len(),
        st.size,
        st.current_epoch,
        st.effective_epoch(st.myself)
    );
    for (dir, stats) in [
        ("sent", &st.stats_bus_messages_sent),
        ("received", &st.stats_bus_messages_received),
    ] {
        let mut total = 0;
        for (t, &n) in stats.iter().enumerate() {
            if n != 0 {
                total += n;
                let _ = write!(
                    s,
                    "cluster_stats_messages_{}_{}:{}\r\n",
                    type_name(t as u16),
                    dir,
                    n
                );
            }
        }
        let _ = write!(s, "cluster_stats_messages_{dir}:{total}\r\n");
    }
    let _ = write!(
        s,
        "total_cluster_links_buffer_limit_exceeded:{}\r\n",
        st.stat_cluster_links_buffer_limit_exceeded
    );
    s
}

/// The endpoint a client should use for a node (getPreferredEndpoint).
pub fn preferred_endpoint(n: &Node, e: ClusterEndpointType) -> &str {
    match e {
        ClusterEndpointType::Ip => &n.ip,
        ClusterEndpointType::Hostname if n.hostname.is_empty() => "?",
        ClusterEndpointType::Hostname => &n.hostname,
        ClusterEndpointType::UnknownEndpoint => "",
    }
}

/// A node in CLUSTER SLOTS: endpoint, port, id, and a map of the other
/// known endpoints (addNodeToNodeReply).
fn node_to_node_reply(out: &mut ReplyBuf, n: &Node, o: &ReplyOpts) {
    out.array(4);
    match o.endpoint {
        ClusterEndpointType::Ip => out.bulk_str(&n.ip),
        ClusterEndpointType::Hostname if n.hostname.is_empty() => out.bulk_str("?"),
        ClusterEndpointType::Hostname => out.bulk_str(&n.hostname),
        ClusterEndpointType::UnknownEndpoint => out.null(),
    }
    let use_pport = o.tls_cluster && o.client_plaintext;
    out.int(if use_pport && n.pport != 0 {
        n.pport
    } else {
        n.port
    } as i64);
    out.bulk(n.name.as_bytes());
    let show_ip = o.endpoint != ClusterEndpointType::Ip;
    let show_host = o.endpoint != ClusterEndpointType::Hostname && !n.hostname.is_empty();
    out.map(usize::from(show_ip) + usize::from(show_host));
    if show_ip {
        out.bulk_str("ip");
        out.bulk_str(&n.ip);
    }
    if show_host {
        out.bulk_str("hostname");
        out.bulk_str(&n.hostname);
    }
}

/// A replica CLUSTER SLOTS lists: not failed, and with some replication
/// offset (isReplicaAvailable).
fn replica_available(st: &ClusterState, idx: NodeIdx, o: &ReplyOpts) -> bool {
    let n = st.node(idx);
    if n.failed() {
        return false;
    }
    let offset = if idx == st.myself {
        o.my_repl_offset
    } else {
        n.repl_offset
    };
    offset != 0
}

/// CLUSTER SLOTS: per run of slots with one owner, the range, the owner
/// and its available replicas.
pub fn slots_reply(st: &ClusterState, out: &mut ReplyBuf, o: &ReplyOpts) {
    let runs = owner_runs(st);
    out.array(runs.len());
    for (owner, start, end) in runs {
        let n = st.node(owner);
        let replicas: Vec<NodeIdx> = n
            .replicas
            .iter()
            .copied()
            .filter(|&r| replica_available(st, r, o))
            .collect();
        out.array(3 + replicas.len());
        out.int(start as i64);
        out.int(end as i64);
        node_to_node_reply(out, n, o);
        for r in replicas {
            node_to_node_reply(out, st.node(r), o);
        }
    }
}

/// A node in CLUSTER SHARDS (addNodeDetailsToShardReply).
fn shard_node_reply(st: &ClusterState, idx: NodeIdx, out: &mut ReplyBuf, o: &ReplyOpts) {
    let n = st.node(idx);
    let (plain_port, tls_port) = if o.tls_cluster {
        (n.pport, n.port)
    } else {
        (n.port, 0)
    };
    let offset = if n.is_myself() {
        o.my_repl_offset
    } else {
        n.repl_offset
    };
    let fields = 6
        + usize::from(plain_port != 0)
        + usize::from(tls_port != 0)
        + usize::from(!n.hostname.is_empty());
    out.map(fields);
    out.bulk_str("id");
    out.bulk(n.name.as_bytes());
    if plain_port != 0 {
        out.bulk_str("port");
        out.int(plain_port as i64);
    }
    if tls_port != 0 {
        out.bulk_str("tls-port");
        out.int(tls_port as i64);
    }
    out.bulk_str("ip");
    out.bulk_str(&n.ip);
    out.bulk_str("endpoint");
    out.bulk_str(preferred_endpoint(n, o.endpoint));
    if !n.hostname.is_empty() {
        out.bulk_str("hostname");
        out.bulk_str(&n.hostname);
    }
    out.bulk_str("role");
    out.bulk_str(if n.is_replica() { "replica" } else { "master" });
    out.bulk_str("replication-offset");
    out.int(offset);
    out.bulk_str("health");
    out.bulk_str(if n.failed() {
        "fail"
    } else if n.is_replica() && offset == 0 {
        "loading"
    } else {
        "online"
    });
}

/// CLUSTER SHARDS: one entry per master: its slot ranges (flattened
/// start, end pairs) and its nodes, the master first.
pub fn shards_reply(st: &ClusterState, out: &mut ReplyBuf, o: &ReplyOpts) {
    let ranges = slot_ranges(st);
    let masters: Vec<NodeIdx> = st
        .iter()
        .filter(|(_, n)| n.is_master())
        .map(|(i, _)| i)
        .collect();
    out.array(masters.len());
    for m in masters {
        out.map(2);
        out.bulk_str("slots");
        let r = ranges.get(&m).map(|v| v.as_slice()).unwrap_or(&[]);
        out.array(r.len() * 2);
        for &(a, b) in r {
            out.int(a as i64);
            out.int(b as i64);
        }
        out.bulk_str("nodes");
        let nodes = st.nodes_serving_slots_of(m).unwrap_or_default();
        out.array(nodes.len());
        for n in nodes {
            shard_node_reply(st, n, out, o);
        }
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
