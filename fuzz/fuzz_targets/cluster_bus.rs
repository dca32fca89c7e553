//! Fuzzes the cluster bus decoder (ferrokv::cluster::bus): any bytes must
//! decode or fail with a typed error, never panic; whatever decodes must
//! re-encode to a message that decodes alike, and processing it
//! (ferrokv::cluster::process, clusterProcessPacket) on an inbound link,
//! a known node's link or a handshake node's link must not panic either.

#![no_main]

use ferrokv::cluster::bus;
use ferrokv::cluster::ids::{NodeFlags, NodeId};
use ferrokv::cluster::outgoing::HeaderOpts;
use ferrokv::cluster::process::{self, Ctx, LinkView, Outcome};
use ferrokv::cluster::state::{ClusterState, Node};
use libfuzzer_sys::fuzz_target;

fn no_keys(_: usize) -> usize {
    0
}

fuzz_target!(|data: &[u8]| {
    let _ = bus::frame_len(data);
    if let Ok(m) = bus::decode(data) {
        let again = bus::decode(&m.encode()).expect("re-encoded message decodes");
        assert_eq!(again.body, m.body);
        assert_eq!(again.header.sender, m.header.sender);
        let ctx = Ctx {
            now: 1_000_000,
            node_timeout: 1000,
            announce_ip_set: false,
            allow_replica_migration: true,
            hdr: HeaderOpts::default(),
            keys_in_slot: &no_keys,
        };
        for which in 0..3 {
            let mut st = ClusterState::new(NodeId([b'b'; 40]), 1);
            let a = st.add_node(Node::new(NodeId([b'a'; 40]), NodeFlags::MASTER, 1));
            let hs = process::start_handshake(&mut st, "127.0.0.1", 1, 2, 1).expect("handshake");
            let node = [None, Some(a), Some(hs)][which];
            let link = LinkView {
                id: 0,
                node,
                inbound: node.is_none(),
                peer_ip: "127.0.0.1",
                local_ip: "127.0.0.1",
            };
            let _ = process::process(&mut st, &ctx, &link, &m);
            let mut out = Outcome::default();
            let _ = process::cron_checks(&mut st, &ctx, &|_| 0, &mut out);
        }
    }
});
