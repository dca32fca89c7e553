//! The cluster bus codec against real redis-server 7.0.15 nodes: a real
//! node's MEET, PING and PONG decode (and re-encode to the same bytes), and
//! the messages this codec encodes — MEET, PONG with gossip and a hostname
//! extension, PUBLISH, UPDATE — are accepted by the real node, as its
//! CLUSTER NODES and a Pub/Sub subscriber show. The fake node is this test,
//! speaking the bus through `ferrokv::cluster::bus`.

use crate::cluster_node;
use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use cluster_node::{listen_in_range, RealClusterNode};
use ferrokv::cluster::bus::{self, Body, Gossip, Header, Message, Ping, PingExt};
use ferrokv::cluster::ids::{NodeFlags, NodeId, SlotBitmap};
use ferrokv::cluster::outgoing::{self, HeaderOpts, PingKind};
use ferrokv::cluster::state::ClusterState;

const DEADLINE: Duration = Duration::from_secs(15);

/// Reads one whole bus message: its raw bytes and what they decode to.
fn read_msg(s: &mut TcpStream) -> (Vec<u8>, Message) {
    let mut buf = vec![0u8; 8];
    s.read_exact(&mut buf)
        .expect("message header from the real node");
    let len = bus::frame_len(&buf).expect("framing").expect("8 bytes");
    buf.resize(len, 0);
    s.read_exact(&mut buf[8..]).expect("message body");
    let m = bus::decode(&buf).unwrap_or_else(|e| panic!("decode: {e}"));
    (buf, m)
}

/// Reads messages until one of type `t` (answering PINGs with `pong`).
fn read_until(s: &mut TcpStream, t: u16, pong: &Message) -> (Vec<u8>, Message) {
    loop {
        let (raw, m) = read_msg(s);
        if m.body.msg_type() == t {
            return (raw, m);
        }
        if m.body.msg_type() == bus::msg_type::PING {
            s.write_all(&pong.encode()).unwrap();
        }
    }
}

fn accept(l: &TcpListener) -> TcpStream {
    l.set_nonblocking(true).unwrap();
    let mut got = None;
    assert!(
        common::poll_until(DEADLINE, || match l.accept() {
            Ok((s, _)) => {
                got = Some(s);
                true
            }
            Err(_) => false,
        }),
        "the real node did not connect to the fake node's bus port"
    );
    let s = got.unwrap();
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    s
}

/// The fake node: its name, client port, bus port (a listener) and slots.
struct Fake {
    id: NodeId,
    port: u16,
    cport: u16,
    slots: SlotBitmap,
    config_epoch: u64,
    hostname: &'static [u8],
}

impl Fake {
    fn header(&self) -> Header {
        Header {
            port: self.port,
            current_epoch: self.config_epoch,
            config_epoch: self.config_epoch,
            offset: 0,
            sender: self.id,
            myslots: self.slots.clone(),
            slaveof: None,
            myip: Vec::new(),
            pport: 0,
            cport: self.cport,
            flags: NodeFlags::MYSELF | NodeFlags::MASTER,
            state: 1,
            mflags: [0; 3],
        }
    }

    fn ping_body(&self, gossip: Vec<Gossip>) -> Ping {
        Ping {
            gossip,
            extensions: vec![PingExt::Hostname(self.hostname.to_vec())],
        }
    }

    fn msg(&self, body: Body) -> Message {
        Message {
            header: self.header(),
            body,
        }
    }
}

fn slots(range: std::ops::RangeInclusive<usize>) -> SlotBitmap {
    let mut b = SlotBitmap::default();
    for s in range {
        b.set(s);
    }
    b
}

/// The real node's CLUSTER NODES line about `id`, once `pred` holds for it.
fn wait_line(real: &RealClusterNode, id: &NodeId, pred: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    let ok = common::poll_until(DEADLINE, || {
        last = real.cli(&["cluster", "nodes"]);
        last.lines()
            .any(|l| l.starts_with(&id.to_string()) && pred(l))
    });
    assert!(
        ok,
        "CLUSTER NODES never showed the expected line for {id}:\n{last}\nlog:\n{}",
        real.log()
    );
    last.lines()
        .find(|l| l.starts_with(&id.to_string()))
        .unwrap()
        .to_string()
}

/// CLUSTER MEET from the real node to the fake one: the real MEET and
/// PING decode; our PONGs (gossip, hostname, slots), PUBLISH and UPDATE
/// are accepted.
#[test]
fn real_node_meets_a_fake_node() {
    let real = RealClusterNode::start(&["--cluster-announce-hostname", "real-host"]);
    let real_id = real.cli(&["cluster", "myid"]).trim().to_string();
    assert_eq!(
        real.cli(&["cluster", "addslotsrange", "0", "99"]).trim(),
        "OK"
    );
    let bus_listener = listen_in_range();
    let fake = Fake {
        id: NodeId::random(),
        port: cluster_node::free_port_in_range(0),
        cport: bus_listener.local_addr().unwrap().port(),
        slots: slots(1000..=1999),
        config_epoch: 0,
        hostname: b"fake-host",
    };
    let meet = real.cli(&[
        "cluster",
        "meet",
        "127.0.0.1",
        &fake.port.to_string(),
        &fake.cport.to_string(),
    ]);
    assert_eq!(meet.trim(), "OK");

    // The real node connects to the fake node's bus port and sends MEET.
    let mut link = accept(&bus_listener);
    let (raw, m) = read_msg(&mut link);
    let h = &m.header;
    let Body::Meet(ping) = &m.body else {
        panic!("expected a MEET, got {:?}", m.body)
    };
    assert_eq!(h.sender.to_string(), real_id);
    assert_eq!((h.port, h.cport, h.pport), (real.port, real.bus_port(), 0));
    assert!(
        h.flags.any(NodeFlags::MASTER) && h.flags.any(NodeFlags::MYSELF),
        "{:?}",
        h.flags
    );
    assert_eq!(h.myslots.ranges(), vec![(0, 99)]);
    assert_eq!(h.slaveof, None);
    assert!(h.myip.is_empty());
    assert_eq!(
        ping.extensions,
        vec![PingExt::Hostname(b"real-host".to_vec())]
    );
    assert_eq!(h.mflags[0] & bus::mflag0::EXT_DATA, bus::mflag0::EXT_DATA);
    // Re-encoding what we decoded gives the real node's bytes back.
    assert_eq!(m.encode(), raw, "re-encoded MEET differs");

    // Our PONG completes the handshake: the node gets our name.
    let pong = fake.msg(Body::Pong(fake.ping_body(vec![])));
    link.write_all(&pong.encode()).unwrap();
    wait_line(&real, &fake.id, |l| !l.contains("handshake"));

    // A second PONG, now from a known node, carries our slots, hostname
    // and a gossip entry about a node the real one does not know yet.
    let third = NodeId::random();
    let third_port = cluster_node::free_port_in_range(0);
    let gossip = Gossip {
        name: third,
        ping_sent: 0,
        pong_received: 0,
        ip: b"127.0.0.1".to_vec(),
        port: third_port,
        cport: third_port + 1,
        flags: NodeFlags::MASTER,
        pport: 0,
    };
    let pong2 = fake.msg(Body::Pong(fake.ping_body(vec![gossip])));
    link.write_all(&pong2.encode()).unwrap();
    let line = wait_line(&real, &fake.id, |l| l.ends_with(" 1000-1999"));
    let want = format!(
        "{} 127.0.0.1:{}@{},fake-host master - ",
        fake.id, fake.port, fake.cport
    );
    assert!(line.starts_with(&want), "{line}\nwant prefix {want}");
    assert!(line.ends_with(" 0 connected 1000-1999"), "{line}");
    let gossiped = wait_line(&real, &third, |_| true);
    assert!(
        gossiped.starts_with(&format!(
            "{third} 127.0.0.1:{third_port}@{} master - ",
            third_port + 1
        )),
        "{gossiped}"
    );

    // The real node's periodic PING decodes too (answered with our PONG).
    let (raw, m) = read_until(&mut link, bus::msg_type::PING, &pong2);
    assert_eq!(m.header.sender.to_string(), real_id);
    assert!(m.body.ping().is_some());
    assert_eq!(m.encode(), raw, "re-encoded PING differs");
    link.write_all(&pong2.encode()).unwrap();

    // PUBLISH from the fake node reaches the real node's subscribers.
    let mut sub = common::RawConn::connect(real.port);
    sub.send(&[b"SUBSCRIBE", b"news"]);
    let _ = sub.read_reply();
    link.write_all(
        &fake
            .msg(Body::Publish {
                channel: b"news".to_vec(),
                message: b"from the bus".to_vec(),
            })
            .encode(),
    )
    .unwrap();
    common::assert_reply(
        &sub.read_reply(),
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$12\r\nfrom the bus\r\n",
    );

    // UPDATE with a newer config epoch gives the fake node more slots.
    link.write_all(
        &fake
            .msg(Body::Update {
                config_epoch: 5,
                node: fake.id,
                slots: slots(2000..=2099),
            })
            .encode(),
    )
    .unwrap();
    let line = wait_line(&real, &fake.id, |l| l.ends_with(" 1000-2099"));
    assert!(line.contains(" 5 connected "), "{line}");
}

/// The fake node sends a MEET built from its state (`outgoing`) to the
/// real node's bus port: the real node answers PONG, adds a handshake
/// node, connects back, PINGs, and takes our PONG's name.
#[test]
fn fake_node_meets_a_real_node() {
    let real = RealClusterNode::start(&[]);
    let real_id = real.cli(&["cluster", "myid"]).trim().to_string();
    let bus_listener = listen_in_range();
    let fake = Fake {
        id: NodeId::random(),
        port: cluster_node::free_port_in_range(0),
        cport: bus_listener.local_addr().unwrap().port(),
        slots: SlotBitmap::default(),
        config_epoch: 0,
        hostname: b"fake",
    };
    // The fake node's own state: what `outgoing` builds its messages from.
    let mut st = ClusterState::new(fake.id, 0);
    let me = st.myself;
    {
        let n = st.node_mut(me);
        n.ip = "127.0.0.1".into();
        n.port = fake.port;
        n.cport = fake.cport;
        n.hostname = "fake".into();
    }
    let opts = HeaderOpts::default();
    let mut inbound = TcpStream::connect(("127.0.0.1", real.bus_port())).unwrap();
    inbound.set_read_timeout(Some(DEADLINE)).unwrap();
    inbound
        .write_all(&outgoing::ping(&st, PingKind::Meet, &[], &opts).encode())
        .unwrap();
    let (raw, m) = read_msg(&mut inbound);
    assert!(matches!(m.body, Body::Pong(_)), "{:?}", m.body);
    assert_eq!(m.header.sender.to_string(), real_id);
    assert_eq!(m.encode(), raw, "re-encoded PONG differs");

    // The real node knows the fake one's address, not its name yet.
    let addr = format!(" 127.0.0.1:{}@{} ", fake.port, fake.cport);
    let mut nodes = String::new();
    assert!(
        common::poll_until(DEADLINE, || {
            nodes = real.cli(&["cluster", "nodes"]);
            nodes.lines().any(|l| l.contains(&addr))
        }),
        "{nodes}"
    );

    // It connects to our bus port and PINGs; our PONG names us.
    let mut link = accept(&bus_listener);
    let (raw, m) = read_msg(&mut link);
    assert!(matches!(m.body, Body::Ping(_)), "{:?}", m.body);
    assert_eq!(m.encode(), raw, "re-encoded PING differs");
    link.write_all(&outgoing::ping(&st, PingKind::Pong, &[], &opts).encode())
        .unwrap();
    let line = wait_line(&real, &fake.id, |l| !l.contains("handshake"));
    assert!(line.contains(&addr), "{line}");
    // The CLUSTER NODES text the real node now produces loads with our
    // nodes.conf parser.
    let text = format!(
        "{}vars currentEpoch 0 lastVoteEpoch 0\n",
        real.cli(&["cluster", "nodes"])
    );
    let st = ferrokv::cluster::nodes_conf::parse(text.as_bytes(), 1)
        .unwrap()
        .state;
    assert!(st.lookup(&fake.id).is_some());
}

/// Malformed messages: the real node drops a message our decoder refuses
/// for its length (and keeps the link), and closes the link on a bad
/// signature, as our framing says.
#[test]
fn real_node_refuses_what_we_refuse() {
    let real = RealClusterNode::start(&[]);
    let fake = Fake {
        id: NodeId::random(),
        port: cluster_node::free_port_in_range(0),
        cport: cluster_node::free_port_in_range(0),
        slots: SlotBitmap::default(),
        config_epoch: 0,
        hostname: b"x",
    };
    let mut s = TcpStream::connect(("127.0.0.1", real.bus_port())).unwrap();
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    // A MEET one byte longer than its content: both refuse it (Redis logs
    // the length it expected), the link stays up.
    let mut bad = fake.msg(Body::Meet(fake.ping_body(vec![]))).encode();
    bad.push(0);
    let n = bad.len() as u32;
    bad[4..8].copy_from_slice(&n.to_be_bytes());
    let err = bus::decode(&bad).unwrap_err();
    assert!(!err.closes_link());
    s.write_all(&bad).unwrap();
    let expected = format!("{err}");
    let mut log = String::new();
    assert!(
        common::poll_until(DEADLINE, || {
            log = real.log();
            log.contains(&expected)
        }),
        "the real node's log lacks \"{expected}\":\n{log}"
    );
    // The link still works: a good MEET gets its PONG.
    s.write_all(&fake.msg(Body::Meet(fake.ping_body(vec![]))).encode())
        .unwrap();
    let (_, m) = read_msg(&mut s);
    assert!(matches!(m.body, Body::Pong(_)));
    // A bad signature closes the link.
    let mut sig = fake.msg(Body::MfStart).encode();
    sig[0] = b'X';
    assert!(bus::frame_len(&sig).unwrap_err().closes_link());
    s.write_all(&sig).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(real
        .log()
        .contains("Bad message length or signature received from Cluster bus."));
}
