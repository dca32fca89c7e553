//! Tests of the cluster bus codec: layout against cluster.h's offsets,
//! round trips, every refusal clusterProcessPacket makes, and a fuzz-style
//! property that decoding random, truncated and mutated bytes never panics.

use super::*;
use proptest::prelude::*;

fn name(c: u8) -> NodeId {
    NodeId([c; NAME_LEN])
}

fn header() -> Header {
    let mut myslots = SlotBitmap::default();
    myslots.set(0);
    myslots.set(16383);
    Header {
        port: 7000,
        current_epoch: 0x0102030405060708,
        config_epoch: 9,
        offset: 1234,
        sender: name(b'a'),
        myslots,
        slaveof: Some(name(b'b')),
        myip: b"10.0.0.1".to_vec(),
        pport: 7001,
        cport: 17000,
        flags: NodeFlags::SLAVE,
        state: 1,
        mflags: [mflag0::PAUSED, 0, 0],
    }
}

fn msg(body: Body) -> Message {
    Message {
        header: header(),
        body,
    }
}

#[test]
fn header_layout_matches_cluster_h() {
    let b = msg(Body::MfStart).encode();
    assert_eq!(b.len(), HEADER_LEN);
    assert_eq!(&b[0..4], b"RCmb");
    assert_eq!(&b[4..8], &(HEADER_LEN as u32).to_be_bytes());
    assert_eq!(&b[8..10], &[0, 1]); // ver
    assert_eq!(&b[10..12], &7000u16.to_be_bytes()); // port
    assert_eq!(&b[12..14], &msg_type::MFSTART.to_be_bytes());
    assert_eq!(&b[14..16], &[0, 0]); // count
    assert_eq!(&b[16..24], &[1, 2, 3, 4, 5, 6, 7, 8]); // currentEpoch
    assert_eq!(&b[24..32], &9u64.to_be_bytes()); // configEpoch
    assert_eq!(&b[32..40], &1234u64.to_be_bytes()); // offset
    assert_eq!(&b[40..80], &[b'a'; 40]); // sender
    assert_eq!(b[80], 1); // myslots: slot 0 is bit 0 of byte 0
    assert_eq!(b[80 + 2047], 0x80); // slot 16383 is bit 7 of the last byte
    assert_eq!(&b[2128..2168], &[b'b'; 40]); // slaveof
    assert_eq!(&b[2168..2176], b"10.0.0.1"); // myip
    assert!(b[2176..2214].iter().all(|&c| c == 0));
    assert_eq!(&b[2214..2216], &[0, 0]); // extensions
    assert!(b[2216..2246].iter().all(|&c| c == 0)); // notused1
    assert_eq!(&b[2246..2248], &7001u16.to_be_bytes()); // pport
    assert_eq!(&b[2248..2250], &17000u16.to_be_bytes()); // cport
    assert_eq!(&b[2250..2252], &2u16.to_be_bytes()); // flags
    assert_eq!(b[2252], 1); // state
    assert_eq!(&b[2253..2256], &[1, 0, 0]); // mflags
    assert_eq!(MSG_LEN, 4352); // sizeof(clusterMsg)
}

#[test]
fn gossip_and_extension_layout() {
    let g = Gossip {
        name: name(b'c'),
        ping_sent: 5,
        pong_received: 6,
        ip: b"127.0.0.1".to_vec(),
        port: 30001,
        cport: 40001,
        flags: NodeFlags::MASTER,
        pport: 0,
    };
    let m = msg(Body::Ping(Ping {
        gossip: vec![g],
        extensions: vec![PingExt::Hostname(b"host-1".to_vec())],
    }));
    let b = m.encode();
    assert_eq!(b.len(), HEADER_LEN + GOSSIP_LEN + 16);
    assert_eq!(&b[14..16], &[0, 1]); // count
    assert_eq!(&b[2214..2216], &[0, 1]); // extensions
    assert_eq!(b[2253], mflag0::PAUSED | mflag0::EXT_DATA);
    let e = &b[HEADER_LEN..];
    assert_eq!(&e[40..44], &5u32.to_be_bytes());
    assert_eq!(&e[48..57], b"127.0.0.1");
    assert_eq!(&e[94..96], &30001u16.to_be_bytes());
    assert_eq!(&e[96..98], &40001u16.to_be_bytes());
    assert_eq!(&e[98..100], &1u16.to_be_bytes());
    let x = &e[GOSSIP_LEN..];
    assert_eq!(&x[0..4], &16u32.to_be_bytes()); // 8 + align8("host-1\0")
    assert_eq!(&x[4..8], &[0, 0, 0, 0]); // type hostname, padding
    assert_eq!(&x[8..16], b"host-1\0\0");
    assert_eq!(decode(&b).unwrap().body, m.body);
    // A hostname of exactly 8 bytes takes 16 (its NUL starts a new word).
    let m8 = msg(Body::Pong(Ping {
        gossip: vec![],
        extensions: vec![PingExt::Hostname(b"12345678".to_vec())],
    }));
    assert_eq!(m8.encode().len(), HEADER_LEN + 8 + 16);
}

#[test]
fn fixed_bodies_round_trip() {
    let mut slots = SlotBitmap::default();
    slots.set(5000);
    for body in [
        Body::Fail { about: name(b'f') },
        Body::Publish {
            channel: b"ch".to_vec(),
            message: b"hello".to_vec(),
        },
        Body::PublishShard {
            channel: vec![],
            message: vec![0; 3000],
        },
        Body::FailoverAuthRequest,
        Body::FailoverAuthAck,
        Body::MfStart,
        Body::Update {
            config_epoch: 77,
            node: name(b'u'),
            slots,
        },
        Body::Module {
            module_id: *b"modid123",
            module_type: 9,
            payload: b"xyz".to_vec(),
        },
        Body::Unknown {
            msg_type: 200,
            data: vec![1, 2, 3],
        },
    ] {
        let m = msg(body);
        let b = m.encode();
        assert_eq!(decode(&b), Ok(m.clone()), "{:?}", m.body);
        assert_eq!(frame_len(&b), Ok(Some(b.len())));
    }
    assert_eq!(
        msg(Body::Fail { about: name(b'f') }).encode().len(),
        HEADER_LEN + 40
    );
    assert_eq!(
        msg(Body::Update {
            config_epoch: 0,
            node: name(b'u'),
            slots: SlotBitmap::default()
        })
        .encode()
        .len(),
        MSG_LEN
    );
}

/// Sets the total length field to the buffer's length.
fn fix_totlen(b: &mut [u8]) {
    let n = b.len() as u32;
    b[4..8].copy_from_slice(&n.to_be_bytes());
}

#[test]
fn framing_refusals() {
    assert_eq!(frame_len(b"RCmb"), Ok(None));
    assert_eq!(frame_len(b"RCmx\0\0\x10\0"), Err(BusError::BadSignature));
    let e = frame_len(b"RCmb\0\0\x08\xcf").unwrap_err();
    assert_eq!(e, BusError::TooShort { totlen: 2255 });
    assert!(e.closes_link());
    let b = msg(Body::MfStart).encode();
    assert!(matches!(
        decode(&b[..100]),
        Err(BusError::NotOneMessage { .. })
    ));
    let mut long = b.clone();
    long.push(0);
    assert!(matches!(decode(&long), Err(BusError::NotOneMessage { .. })));
    let mut v = b.clone();
    v[9] = 2;
    assert_eq!(decode(&v), Err(BusError::Version(2)));
    assert!(!BusError::Version(2).closes_link());
}

#[test]
fn length_refusals() {
    // FAIL one byte short, UPDATE one byte long, MFSTART with a body.
    let mut b = msg(Body::Fail { about: name(b'f') }).encode();
    b.pop();
    fix_totlen(&mut b);
    assert_eq!(
        decode(&b),
        Err(BusError::Length {
            msg_type: msg_type::FAIL,
            totlen: (HEADER_LEN + 39) as u32,
            expected: (HEADER_LEN + 40) as u64
        })
    );
    let mut b = msg(Body::Update {
        config_epoch: 1,
        node: name(b'u'),
        slots: SlotBitmap::default(),
    })
    .encode();
    b.push(0);
    fix_totlen(&mut b);
    assert!(matches!(decode(&b), Err(BusError::Length { .. })));
    let mut b = msg(Body::MfStart).encode();
    b.extend_from_slice(&[0; 8]);
    fix_totlen(&mut b);
    assert!(matches!(decode(&b), Err(BusError::Length { .. })));
    // PUBLISH whose lengths exceed the message, or with no room for them.
    let mut b = msg(Body::Publish {
        channel: b"c".to_vec(),
        message: b"m".to_vec(),
    })
    .encode();
    b[HEADER_LEN + 4..HEADER_LEN + 8].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(decode(&b), Err(BusError::Length { .. })));
    b.truncate(HEADER_LEN + 4);
    fix_totlen(&mut b);
    assert!(matches!(decode(&b), Err(BusError::Length { .. })));
    // MODULE with a payload length past the end.
    let mut b = msg(Body::Module {
        module_id: [0; 8],
        module_type: 1,
        payload: vec![1, 2],
    })
    .encode();
    b[HEADER_LEN + 8..HEADER_LEN + 12].copy_from_slice(&3u32.to_be_bytes());
    assert!(matches!(decode(&b), Err(BusError::Length { .. })));
    // Gossip count beyond the message, and a gossip section with a tail.
    let mut b = msg(Body::Ping(Ping::default())).encode();
    b[14..16].copy_from_slice(&1u16.to_be_bytes());
    assert_eq!(
        decode(&b),
        Err(BusError::GossipOverflow {
            msg_type: msg_type::PING,
            count: 1,
            totlen: HEADER_LEN as u32
        })
    );
    let mut b = msg(Body::Meet(Ping::default())).encode();
    b.extend_from_slice(&[0; 8]);
    fix_totlen(&mut b);
    assert!(matches!(decode(&b), Err(BusError::Length { .. })));
}

#[test]
fn extension_refusals() {
    let base = msg(Body::Pong(Ping {
        gossip: vec![],
        extensions: vec![PingExt::Hostname(b"abc".to_vec())],
    }))
    .encode();
    let ext = HEADER_LEN;
    // Length not a multiple of 8, or below the extension header.
    for bad in [12u32, 4, 0] {
        let mut b = base.clone();
        b[ext..ext + 4].copy_from_slice(&bad.to_be_bytes());
        assert!(
            matches!(decode(&b), Err(BusError::ExtPadding { .. })),
            "{bad}"
        );
    }
    // Length past the end.
    let mut b = base.clone();
    b[ext..ext + 4].copy_from_slice(&24u32.to_be_bytes());
    assert!(matches!(decode(&b), Err(BusError::ExtOverflow { .. })));
    // More extensions announced than present.
    let mut b = base.clone();
    b[2214..2216].copy_from_slice(&2u16.to_be_bytes());
    assert!(matches!(decode(&b), Err(BusError::ExtOverflow { .. })));
    // A hostname without its NUL.
    let mut b = base.clone();
    b[ext + 8..ext + 16].copy_from_slice(b"abcdefgh");
    assert_eq!(
        decode(&b),
        Err(BusError::ExtNotTerminated {
            msg_type: msg_type::PONG,
            ext_type: 0
        })
    );
    // Without the EXT_DATA flag the extensions are not parsed, and the
    // bytes they take make the length wrong.
    let mut b = base.clone();
    b[2253] &= !mflag0::EXT_DATA;
    assert!(matches!(decode(&b), Err(BusError::Length { .. })));
    // An unknown extension type is kept.
    let m = msg(Body::Ping(Ping {
        gossip: vec![],
        extensions: vec![PingExt::Unknown {
            ext_type: 3,
            data: vec![7; 16],
        }],
    }));
    assert_eq!(decode(&m.encode()).unwrap().body, m.body);
}

fn arb_name() -> impl Strategy<Value = NodeId> {
    proptest::array::uniform32(any::<u8>()).prop_flat_map(|a| {
        proptest::array::uniform8(any::<u8>()).prop_map(move |b| {
            let mut n = [0u8; NAME_LEN];
            n[..32].copy_from_slice(&a);
            n[32..].copy_from_slice(&b);
            NodeId(n)
        })
    })
}

fn arb_ip() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, 0..=45)
}

fn arb_bitmap() -> impl Strategy<Value = SlotBitmap> {
    proptest::collection::vec(0usize..16384, 0..20).prop_map(|v| {
        let mut b = SlotBitmap::default();
        for s in v {
            b.set(s);
        }
        b
    })
}

fn arb_header() -> impl Strategy<Value = Header> {
    (
        (any::<u16>(), any::<u64>(), any::<u64>(), any::<u64>()),
        (
            arb_name(),
            arb_bitmap(),
            proptest::option::of(arb_name()),
            arb_ip(),
        ),
        (
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<[u8; 3]>(),
        ),
    )
        .prop_map(
            |(
                (port, ce, cfe, off),
                (sender, myslots, slaveof, myip),
                (pport, cport, flags, state, mflags),
            )| Header {
                port,
                current_epoch: ce,
                config_epoch: cfe,
                offset: off,
                sender,
                myslots,
                slaveof: slaveof.filter(|n| !n.is_null()),
                myip,
                pport,
                cport,
                flags: NodeFlags(flags),
                state,
                mflags,
            },
        )
}

fn arb_gossip() -> impl Strategy<Value = Gossip> {
    (
        arb_name(),
        any::<(u32, u32)>(),
        arb_ip(),
        any::<(u16, u16, u16, u16)>(),
    )
        .prop_map(|(name, (ps, pr), ip, (port, cport, flags, pport))| Gossip {
            name,
            ping_sent: ps,
            pong_received: pr,
            ip,
            port,
            cport,
            flags: NodeFlags(flags),
            pport,
        })
}

fn arb_ext() -> impl Strategy<Value = PingExt> {
    prop_oneof![
        proptest::collection::vec(1u8..=255, 0..40).prop_map(PingExt::Hostname),
        (1u16..100, proptest::collection::vec(any::<u8>(), 0..4)).prop_map(|(t, w)| {
            PingExt::Unknown {
                ext_type: t,
                data: w.repeat(8).into_iter().take(8 * (w.len())).collect(),
            }
        }),
    ]
}

fn arb_ping() -> impl Strategy<Value = Ping> {
    (
        proptest::collection::vec(arb_gossip(), 0..5),
        proptest::collection::vec(arb_ext(), 0..3),
    )
        .prop_map(|(gossip, extensions)| Ping { gossip, extensions })
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn arb_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        arb_ping().prop_map(Body::Ping),
        arb_ping().prop_map(Body::Pong),
        arb_ping().prop_map(Body::Meet),
        arb_name().prop_map(|about| Body::Fail { about }),
        (arb_bytes(50), arb_bytes(50))
            .prop_map(|(channel, message)| Body::Publish { channel, message }),
        (arb_bytes(50), arb_bytes(50))
            .prop_map(|(channel, message)| Body::PublishShard { channel, message }),
        Just(Body::FailoverAuthRequest),
        Just(Body::FailoverAuthAck),
        Just(Body::MfStart),
        (any::<u64>(), arb_name(), arb_bitmap()).prop_map(|(config_epoch, node, slots)| {
            Body::Update {
                config_epoch,
                node,
                slots,
            }
        }),
        (any::<[u8; 8]>(), any::<u8>(), arb_bytes(50)).prop_map(
            |(module_id, module_type, payload)| {
                Body::Module {
                    module_id,
                    module_type,
                    payload,
                }
            }
        ),
        (11u16.., arb_bytes(50)).prop_map(|(msg_type, data)| Body::Unknown { msg_type, data }),
    ]
}

/// What decoding an encoded message gives back: EXT_DATA set on a ping
/// with extensions.
fn normalized(mut m: Message) -> Message {
    if m.body.ping().is_some_and(|p| !p.extensions.is_empty()) {
        m.header.mflags[0] |= mflag0::EXT_DATA;
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn round_trip(header in arb_header(), body in arb_body()) {
        let m = Message { header, body };
        let bytes = m.encode();
        prop_assert_eq!(frame_len(&bytes), Ok(Some(bytes.len())));
        let back = decode(&bytes);
        prop_assert_eq!(back.clone(), Ok(normalized(m)));
        // And the decoded message encodes to the same bytes.
        prop_assert_eq!(back.unwrap().encode(), bytes);
    }

    /// Random bytes (with a valid signature and length, so the checks past
    /// framing run too) never panic the decoder.
    #[test]
    fn random_bytes_never_panic(mut bytes in arb_bytes(3000), sig in any::<bool>(), ver in any::<bool>()) {
        if sig && bytes.len() >= 8 {
            bytes[..4].copy_from_slice(SIGNATURE);
            fix_totlen(&mut bytes);
        }
        if ver && bytes.len() >= 10 {
            bytes[8..10].copy_from_slice(&PROTO_VER.to_be_bytes());
        }
        let _ = frame_len(&bytes);
        let _ = decode(&bytes);
    }

    /// Valid messages truncated anywhere, or with bytes flipped anywhere
    /// (their total length kept consistent), decode or fail cleanly.
    #[test]
    fn truncated_and_mutated_never_panic(
        header in arb_header(),
        body in arb_body(),
        cut in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let bytes = Message { header, body }.encode();
        let n = cut.index(bytes.len() + 1);
        let _ = decode(&bytes[..n]);
        let mut t = bytes[..n].to_vec();
        if t.len() >= 8 {
            fix_totlen(&mut t);
            let _ = decode(&t);
        }
        let mut m = bytes.clone();
        for (i, v) in flips {
            let i = i.index(m.len());
            if !(4..8).contains(&i) {
                m[i] = v;
            }
        }
        if let Ok(d) = decode(&m) {
            // Whatever decodes re-encodes to something that decodes alike.
            let again = d.encode();
            prop_assert_eq!(decode(&again).map(normalized), Ok(normalized(d)));
        }
    }
}

/// A PONG a real redis-server 7.0.15 sent (the node announcing hostname
/// `host-two` in a 3-master, 3-replica cluster, answering a bare MEET):
/// three gossip entries and the hostname extension.
#[test]
fn decodes_a_real_pong() {
    let raw = include_bytes!("../../tests/support/cluster/pong-33002.bin");
    let m = decode(raw).unwrap();
    assert_eq!(
        m.header.sender.to_string(),
        "716584544922bc633aa290473996208280c80bcd"
    );
    assert_eq!((m.header.port, m.header.cport), (33002, 43002));
    assert_eq!(m.header.myslots.ranges(), vec![(5461, 10922)]);
    assert_eq!(m.header.config_epoch, 2);
    assert_eq!(m.header.current_epoch, 6);
    assert!(m.header.flags.any(NodeFlags::MASTER));
    let Body::Pong(p) = &m.body else {
        panic!("{:?}", m.body)
    };
    assert_eq!(p.gossip.len(), 3);
    for g in &p.gossip {
        assert_eq!(g.ip, b"127.0.0.1");
        assert!((33001..=33006).contains(&g.port), "{g:?}");
        assert_eq!(g.cport, g.port + 10000);
        assert!(NodeId::parse(g.name.as_bytes()).is_some());
    }
    assert_eq!(p.extensions, vec![PingExt::Hostname(b"host-two".to_vec())]);
    assert_eq!(m.encode(), raw.to_vec());
}
