//! Messages built from the cluster state, as cluster.c builds them: the
//! header every message carries (clusterBuildMessageHdr), a gossip entry
//! (clusterSetGossipEntry), the nodes a PING/PONG/MEET gossips about
//! (clusterSendPing's choice), the ping with its hostname extension, FAIL,
//! UPDATE and PUBLISH; and the ports a node announces
//! (deriveAnnouncedPorts).

use rand::Rng;

use super::bus::{mflag0, Body, Gossip, Header, Message, Ping, PingExt};
use super::ids::{NodeFlags, NodeId, SLOT_BITMAP_LEN};
use super::nodes_conf::PORT_INCR;
use super::state::{ClusterState, Node, NodeIdx};
use crate::config::Config;

/// The client port, plaintext port and bus port a node announces.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ports {
    pub port: u16,
    pub pport: u16,
    pub cport: u16,
}

/// deriveAnnouncedPorts: the TLS port in a TLS cluster (then `pport` is
/// the plaintext one), the bus port `cluster-port` or port + 10000, each
/// overridden by its `cluster-announce-*` directive when set.
pub fn announced_ports(c: &Config) -> Ports {
    let base = if c.tls_cluster {
        c.tls_port as u32
    } else {
        c.port as u32
    };
    let mut p = Ports {
        port: base as u16,
        pport: if c.tls_cluster { c.port } else { 0 },
        cport: if c.cluster_port != 0 {
            c.cluster_port as u16
        } else {
            (base + PORT_INCR) as u16
        },
    };
    if c.tls_cluster && c.cluster_announce_tls_port != 0 {
        p.port = c.cluster_announce_tls_port as u16;
        p.pport = c.cluster_announce_port as u16;
    } else if c.cluster_announce_port != 0 {
        p.port = c.cluster_announce_port as u16;
    }
    if c.cluster_announce_bus_port != 0 {
        p.cport = c.cluster_announce_bus_port as u16;
    }
    p
}

/// What the header needs besides the state.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeaderOpts<'a> {
    /// cluster-announce-ip (empty: receivers use the socket's address).
    pub announce_ip: &'a str,
    /// master_repl_offset for a master, the processed offset for a replica.
    pub repl_offset: u64,
    /// A master in a manual failover (mf_end set) flags PAUSED.
    pub mf_paused: bool,
}

/// The header of a message from myself (clusterBuildMessageHdr): a
/// replica sends its master's slots and config epoch; ports and flags are
/// myself's (the driver keeps them equal to `announced_ports`).
pub fn header(st: &ClusterState, o: &HeaderOpts) -> Header {
    let me = st.myself_node();
    let master = match me.replica_of {
        Some(m) if me.is_replica() => st.node(m),
        _ => me,
    };
    let mut mflags = [0u8; 3];
    if me.is_master() && o.mf_paused {
        mflags[0] |= mflag0::PAUSED;
    }
    Header {
        port: me.port,
        current_epoch: st.current_epoch,
        config_epoch: master.config_epoch,
        offset: o.repl_offset,
        sender: me.name,
        myslots: master.slots.clone(),
        slaveof: me.replica_of.map(|m| st.node(m).name),
        myip: o.announce_ip.as_bytes().to_vec(),
        pport: me.pport,
        cport: me.cport,
        flags: me.flags,
        state: st.state as u8,
        mflags,
    }
}

/// A gossip entry about `n` (times in seconds, truncated to 32 bits).
pub fn gossip_entry(n: &Node) -> Gossip {
    Gossip {
        name: n.name,
        ping_sent: (n.ping_sent / 1000) as u32,
        pong_received: (n.pong_received / 1000) as u32,
        ip: n.ip.as_bytes().to_vec(),
        port: n.port,
        cport: n.cport,
        flags: n.flags,
        pport: n.pport,
    }
}

/// The nodes a ping gossips about (clusterSendPing): a tenth of the known
/// nodes and at least 3, at most the nodes other than myself and the
/// receiver, picked at random among those not in handshake, with an
/// address, and connected or serving slots; then every PFAIL node (as
/// many as `stats_pfail_nodes` counts), so failure reports spread fast.
pub fn choose_gossip(st: &ClusterState, rng: &mut impl Rng) -> Vec<NodeIdx> {
    let all = st.node_indexes();
    let mut fresh = all.len() as i64 - 2;
    let wanted = ((all.len() / 10).max(3) as i64).min(fresh).max(0) as usize;
    let mut chosen: Vec<NodeIdx> = Vec::with_capacity(wanted);
    let mut iterations = wanted * 3;
    while fresh > 0 && chosen.len() < wanted && iterations > 0 {
        iterations -= 1;
        let idx = all[rng.gen_range(0..all.len())];
        let n = st.node(idx);
        if idx == st.myself || n.timed_out() {
            continue;
        }
        if n.flags.any(NodeFlags::HANDSHAKE | NodeFlags::NOADDR)
            || (n.link.is_none() && n.numslots == 0)
        {
            fresh -= 1;
            continue;
        }
        if chosen.contains(&idx) {
            continue;
        }
        chosen.push(idx);
        fresh -= 1;
    }
    let mut pfail_wanted = st.stats_pfail_nodes;
    for (idx, n) in st.iter() {
        if pfail_wanted == 0 {
            break;
        }
        if n.flags.any(NodeFlags::HANDSHAKE | NodeFlags::NOADDR) || !n.timed_out() {
            continue;
        }
        chosen.push(idx);
        pfail_wanted -= 1;
    }
    chosen
}

/// Which of PING, PONG, MEET.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PingKind {
    Ping,
    Pong,
    Meet,
}

/// A PING, PONG or MEET from myself gossiping about `gossip`, with the
/// hostname extension when myself announces one.
pub fn ping(st: &ClusterState, kind: PingKind, gossip: &[NodeIdx], o: &HeaderOpts) -> Message {
    let me = st.myself_node();
    let mut extensions = Vec::new();
    if !me.hostname.is_empty() {
        extensions.push(PingExt::Hostname(me.hostname.as_bytes().to_vec()));
    }
    let body = Ping {
        gossip: gossip.iter().map(|&i| gossip_entry(st.node(i))).collect(),
        extensions,
    };
    let mut header = header(st, o);
    if !body.extensions.is_empty() {
        header.mflags[0] |= mflag0::EXT_DATA;
    }
    Message {
        header,
        body: match kind {
            PingKind::Ping => Body::Ping(body),
            PingKind::Pong => Body::Pong(body),
            PingKind::Meet => Body::Meet(body),
        },
    }
}

/// FAIL about `about` (clusterSendFail).
pub fn fail(st: &ClusterState, about: NodeId, o: &HeaderOpts) -> Message {
    Message {
        header: header(st, o),
        body: Body::Fail { about },
    }
}

/// UPDATE with `node`'s config epoch and slots, less the slots their owner
/// stopped claiming (clusterSendUpdate).
pub fn update(st: &ClusterState, node: NodeIdx, o: &HeaderOpts) -> Message {
    let n = st.node(node);
    let mut slots = n.slots.clone();
    for i in 0..SLOT_BITMAP_LEN {
        slots.0[i] &= !st.owner_not_claiming_slot.0[i];
    }
    Message {
        header: header(st, o),
        body: Body::Update {
            config_epoch: n.config_epoch,
            node: n.name,
            slots,
        },
    }
}

/// PUBLISH (or PUBLISHSHARD when `sharded`) of `message` on `channel`.
pub fn publish(
    st: &ClusterState,
    channel: &[u8],
    message: &[u8],
    sharded: bool,
    o: &HeaderOpts,
) -> Message {
    let (channel, message) = (channel.to_vec(), message.to_vec());
    Message {
        header: header(st, o),
        body: if sharded {
            Body::PublishShard { channel, message }
        } else {
            Body::Publish { channel, message }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::bus::decode;
    use crate::cluster::nodes_conf;
    use crate::cluster::state::Health;
    use rand::SeedableRng;

    const CONF_33002: &[u8] = include_bytes!("../../tests/support/cluster/nodes-33002.conf");
    const PONG_33002: &[u8] = include_bytes!("../../tests/support/cluster/pong-33002.bin");

    /// The header and gossip we build from the node's nodes.conf equal
    /// what the real node sent (times and offset aside).
    #[test]
    fn matches_a_real_pong() {
        let real = decode(PONG_33002).unwrap();
        let mut st = nodes_conf::parse(CONF_33002, 1).unwrap().state;
        // The capture's replica was failed when nodes.conf was saved, and
        // back when the PONG was sent.
        for idx in st.node_indexes() {
            st.node_mut(idx).flags.remove(NodeFlags::FAIL);
        }
        assert_eq!(st.evaluate_state(true), Health::Ok);
        st.state = Health::Ok;
        let o = HeaderOpts {
            repl_offset: real.header.offset,
            ..HeaderOpts::default()
        };
        let gossip: Vec<NodeIdx> = real
            .body
            .ping()
            .unwrap()
            .gossip
            .iter()
            .map(|g| st.lookup(&g.name).unwrap())
            .collect();
        let ours = ping(&st, PingKind::Pong, &gossip, &o);
        assert_eq!(ours.header, real.header);
        let (a, b) = (ours.body.ping().unwrap(), real.body.ping().unwrap());
        assert_eq!(a.extensions, b.extensions);
        for (x, y) in a.gossip.iter().zip(&b.gossip) {
            let strip = |g: &Gossip| Gossip {
                ping_sent: 0,
                pong_received: 0,
                ..g.clone()
            };
            assert_eq!(strip(x), strip(y));
        }
        assert_eq!(ours.encode().len(), PONG_33002.len());
    }

    #[test]
    fn replica_header_and_update() {
        let mut st = ClusterState::new(NodeId([b'a'; 40]), 1);
        let m = st.add_node(Node::new(NodeId([b'b'; 40]), NodeFlags::MASTER, 1));
        st.node_mut(m).config_epoch = 9;
        for s in 10..20 {
            st.add_slot(m, s);
        }
        let me = st.myself;
        st.set_replica_of(me, m);
        let h = header(
            &st,
            &HeaderOpts {
                announce_ip: "10.1.1.1",
                repl_offset: 5,
                mf_paused: true,
            },
        );
        assert_eq!(h.slaveof, Some(NodeId([b'b'; 40])));
        assert_eq!(h.config_epoch, 9);
        assert_eq!(h.myslots.ranges(), vec![(10, 19)]);
        assert_eq!(h.myip, b"10.1.1.1");
        assert_eq!(h.mflags, [0; 3], "only a master flags PAUSED");
        st.owner_not_claiming_slot.set(12);
        let Body::Update {
            slots,
            config_epoch,
            ..
        } = update(&st, m, &HeaderOpts::default()).body
        else {
            panic!()
        };
        assert_eq!(config_epoch, 9);
        assert_eq!(slots.ranges(), vec![(10, 11), (13, 19)]);
    }

    #[test]
    fn gossip_choice() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut st = ClusterState::new(NodeId([b'a'; 40]), 1);
        assert!(choose_gossip(&st, &mut rng).is_empty());
        let ids: Vec<NodeIdx> = (0..10u8)
            .map(|i| st.add_node(Node::new(NodeId([b'0' + i; 40]), NodeFlags::MASTER, 1)))
            .collect();
        for &i in &ids {
            st.node_mut(i).link = Some(0);
        }
        // 11 nodes: wanted = max(3, 1) = 3, never myself, no repeats.
        for _ in 0..50 {
            let g = choose_gossip(&st, &mut rng);
            assert!(g.len() <= 3);
            assert!(!g.contains(&st.myself));
            let mut d = g.clone();
            d.dedup();
            assert_eq!(d.len(), g.len());
        }
        // Handshake nodes and disconnected slot-less nodes are skipped;
        // PFAIL nodes come last, as many as the stat counts.
        st.node_mut(ids[0]).flags.insert(NodeFlags::HANDSHAKE);
        st.node_mut(ids[1]).link = None;
        st.node_mut(ids[2]).flags.insert(NodeFlags::PFAIL);
        st.stats_pfail_nodes = 1;
        for _ in 0..50 {
            let g = choose_gossip(&st, &mut rng);
            assert!(!g.contains(&ids[0]) && !g.contains(&ids[1]));
            assert_eq!(g.last(), Some(&ids[2]));
        }
    }

    #[test]
    fn ports() {
        let mut c = Config::default();
        c.port = 7000;
        assert_eq!(
            announced_ports(&c),
            Ports {
                port: 7000,
                pport: 0,
                cport: 17000
            }
        );
        c.cluster_port = 20000;
        c.cluster_announce_port = 8000;
        assert_eq!(
            announced_ports(&c),
            Ports {
                port: 8000,
                pport: 0,
                cport: 20000
            }
        );
        c.tls_cluster = true;
        c.tls_port = 7443;
        c.cluster_announce_bus_port = 21000;
        // Without cluster-announce-tls-port, cluster-announce-port still
        // replaces the (TLS) port.
        assert_eq!(
            announced_ports(&c),
            Ports {
                port: 8000,
                pport: 7000,
                cport: 21000
            }
        );
        c.cluster_announce_tls_port = 9443;
        assert_eq!(
            announced_ports(&c),
            Ports {
                port: 9443,
                pport: 8000,
                cport: 21000
            }
        );
    }
}
