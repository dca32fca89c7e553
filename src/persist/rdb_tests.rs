//! Unit tests of the RDB codec: round trips through `write_rdb` /
//! `load_rdb`, and corrupt input (every truncation, random byte flips,
//! random garbage) that must fail cleanly instead of panicking.

use crate::config::Config;
use crate::object::Value;
use crate::persist::rdb::{self, LoadError, SaveInfo};
use crate::persist::rdb_server::empty_data;
use crate::server::Server;
use crate::types::list::{End, ListValue};
use crate::types::set::SetValue;
use crate::types::stream::{StreamId, StreamValue};
use crate::types::zset::ZSetValue;
use rand::{Rng, SeedableRng};

fn populate(srv: &mut Server) {
    let db = &mut srv.dbs[0];
    db.add(b"int", Value::from_bytes(b"12345"));
    db.add(b"long", Value::from_bytes(&b"abc".repeat(40)));
    db.add(b"emb", Value::from_bytes(b"hello"));
    let mut l = ListValue::default();
    for i in 0..300 {
        l.push(format!("item-{}", i).as_bytes(), End::Tail);
    }
    db.add(b"list", Value::list(l));
    let mut s = SetValue::new_intset();
    for i in 0..10 {
        s.add(i.to_string().as_bytes(), 512);
    }
    db.add(b"intset", Value::set(s));
    let mut s = SetValue::new_intset();
    s.add(b"a", 512);
    s.add(b"b", 512);
    db.add(b"set", Value::set(s));
    let items: Vec<(Vec<u8>, f64)> = (0..5).map(|i| (vec![b'm', b'0' + i], i as f64)).collect();
    db.add(
        b"zset",
        Value::zset(ZSetValue::from_sorted(&items, 128, 64)),
    );
    let items: Vec<(Vec<u8>, f64)> = (0..200u32)
        .map(|i| (format!("m{:04}", i).into_bytes(), i as f64 * 0.5))
        .collect();
    db.add(
        b"bigzset",
        Value::zset(ZSetValue::from_sorted(&items, 128, 64)),
    );
    let mut st = StreamValue::default();
    for i in 1..=30u64 {
        st.append(
            StreamId {
                ms: 100 + i / 4,
                seq: i,
            },
            &[(&b"f"[..], i.to_string().as_bytes())],
            4096,
            10,
        );
    }
    st.xdel(&[StreamId { ms: 101, seq: 5 }]);
    db.add(b"stream", Value::stream(st));
    db.set_expire(b"emb", crate::clock::wall_ms() + 1_000_000);
    srv.dbs[2].add(b"other", Value::from_bytes(b"x"));
}

fn saved(srv: &Server) -> Vec<u8> {
    let mut out = Vec::new();
    rdb::write_rdb(srv, &mut out, &SaveInfo::default()).unwrap();
    out
}

#[test]
fn roundtrip_keeps_keys_and_reencodes_identically() {
    let mut srv = Server::new(
        Config::new(),
        crate::commands::table(),
        crate::commands::hooks(),
    );
    populate(&mut srv);
    let first = saved(&srv);
    let mut other = Server::new(
        Config::new(),
        crate::commands::table(),
        crate::commands::hooks(),
    );
    let info = rdb::load_rdb(&mut other, &first[..], false).unwrap();
    assert_eq!(info.keys_loaded, 10);
    assert_eq!(other.dbs[0].len(), 9);
    assert_eq!(other.dbs[2].len(), 1);
    assert!(other.dbs[0].get_expire(b"emb").is_some());
    // Saving what was loaded gives the same bytes except the ctime/used-mem
    // aux fields: compare from the first SELECTDB on, minus the checksum.
    let second = saved(&other);
    let body = |b: &[u8]| {
        let p = b.iter().position(|&x| x == 0xfe).unwrap();
        b[p..b.len() - 8].to_vec()
    };
    assert_eq!(body(&first).len(), body(&second).len());
}

#[test]
fn truncated_and_corrupted_files_fail_cleanly() {
    let mut srv = Server::new(
        Config::new(),
        crate::commands::table(),
        crate::commands::hooks(),
    );
    populate(&mut srv);
    let good = saved(&srv);
    let mut target = Server::new(
        Config::new(),
        crate::commands::table(),
        crate::commands::hooks(),
    );
    for n in 0..good.len() {
        empty_data(&mut target);
        match rdb::load_rdb(&mut target, &good[..n], false) {
            Err(LoadError::Corrupt(_)) | Err(LoadError::Io(_)) => {}
            Ok(_) => panic!("a file truncated at {} loaded", n),
        }
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    for _ in 0..1500 {
        let mut bad = good.clone();
        for _ in 0..rng.gen_range(1..4) {
            let i = rng.gen_range(9..bad.len());
            bad[i] = rng.gen();
        }
        empty_data(&mut target);
        let _ = rdb::load_rdb(&mut target, &bad[..], false);
        // With the checksum off, corrupt content must still be caught
        // or loaded without panicking.
        empty_data(&mut target);
        let _ = target.config.set("rdbchecksum", "no", true);
        let _ = rdb::load_rdb(&mut target, &bad[..], false);
        let _ = target.config.set("rdbchecksum", "yes", true);
    }
}

#[test]
fn dump_payload_garbage_never_panics() {
    let srv = Server::new(
        Config::new(),
        crate::commands::table(),
        crate::commands::hooks(),
    );
    let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
    for len in 0..400usize {
        let mut body: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        if !body.is_empty() {
            body[0] = rng.gen_range(0..20);
        }
        body.extend_from_slice(&rdb::RDB_VERSION.to_le_bytes());
        let crc = rdb::CRC64.checksum(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        let _ = rdb::decode_dump_payload(&srv, &body);
    }
}

/// A stream with deletions, several nodes and consumer groups.
fn stream_with_groups() -> StreamValue {
    let mut st = StreamValue::default();
    for i in 1..=40u64 {
        let v = i.to_string();
        let fields: Vec<(&[u8], &[u8])> = if i % 3 == 0 {
            vec![(b"other", v.as_bytes())]
        } else {
            vec![(b"f", v.as_bytes()), (b"g", b"x")]
        };
        st.append(StreamId { ms: i / 4, seq: i }, &fields, 4096, 6);
    }
    st.xdel(&[StreamId { ms: 1, seq: 5 }, StreamId { ms: 2, seq: 9 }]);
    st.groups.create(b"g1", StreamId { ms: 3, seq: 0 }, 7);
    st.groups.create(b"g0", StreamId::MIN, -1);
    if let Some(g) = st.groups.get_mut(b"g1") {
        g.create_consumer(b"alice", 1000);
        g.create_consumer(b"bob", 2000);
        g.create_consumer(b"idle", 3000);
        for (i, who) in [
            (1u64, &b"alice"[..]),
            (2, b"bob"),
            (3, b"alice"),
            (6, b"bob"),
        ] {
            g.deliver(StreamId { ms: i / 4, seq: i }, who, 5000 + i as i64);
        }
    }
    st
}

/// Exercises every stream operation on a loaded value (none may panic).
fn exercise(st: &mut StreamValue) {
    let mut n = 0;
    st.range(StreamId::MIN, StreamId::MAX, false, |e| {
        e.for_each(|_, _| n += 1);
        true
    });
    st.range(StreamId::MIN, StreamId::MAX, true, |_| true);
    let _ = (st.rax_nodes(), st.edge_id(false), st.first_live_id());
    let _ = st.estimate_distance(StreamId { ms: 2, seq: 2 });
    st.xdel(&[StreamId { ms: 1, seq: 4 }, StreamId { ms: 9, seq: 36 }]);
    st.append(StreamId::MAX, &[(b"f", b"v")], 4096, 3);
    st.trim(crate::types::stream::Trim::MaxLen(5), false, 0);
    st.trim(crate::types::stream::Trim::MinId(StreamId::MAX), true, 10);
    let names: Vec<Vec<u8>> = st.groups.iter().map(|g| g.name.clone()).collect();
    for name in names {
        if let Some(g) = st.groups.get_mut(&name) {
            let ids: Vec<StreamId> = g.pel.iter().map(|(id, _)| *id).collect();
            for (k, id) in ids.iter().enumerate() {
                if k % 2 == 0 {
                    g.ack(*id);
                } else if let Ok(p) = g.pel_pos(*id) {
                    g.create_consumer(b"claimer", 1);
                    g.reassign(p, b"claimer");
                }
            }
            let cons: Vec<Vec<u8>> = g.consumers.iter().map(|c| c.name.clone()).collect();
            for c in cons {
                g.delete_consumer(&c);
            }
        }
    }
}

#[test]
fn stream_groups_roundtrip_and_corrupt_payloads_never_panic() {
    let srv = Server::new(
        Config::new(),
        crate::commands::table(),
        crate::commands::hooks(),
    );
    let v = Value::stream(stream_with_groups());
    let good = rdb::dump_payload(rdb::EncOpts::from_server(&srv), &v);
    let back = rdb::decode_dump_payload(&srv, &good).expect("decodes");
    assert_eq!(
        rdb::dump_payload(rdb::EncOpts::from_server(&srv), &back),
        good
    );
    let mut rng = rand::rngs::SmallRng::seed_from_u64(19);
    let mut accepted = 0;
    for round in 0..3000 {
        let mut body = good[..good.len() - 10].to_vec();
        for _ in 0..rng.gen_range(1..4) {
            let i = rng.gen_range(1..body.len());
            body[i] = if round % 2 == 0 {
                rng.gen()
            } else {
                body[i] ^ 1
            };
        }
        body.extend_from_slice(&rdb::RDB_VERSION.to_le_bytes());
        let crc = rdb::CRC64.checksum(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        if let Some(mut st) = rdb::decode_dump_payload(&srv, &body)
            .ok()
            .and_then(|v| v.into_stream())
        {
            accepted += 1;
            exercise(&mut st);
        }
    }
    assert!(accepted > 0);
}

/// `save_raw_string` compresses into the output buffer itself: its bytes
/// are those of the compressed form built apart (encoding byte, both
/// lengths, the LZF bytes), around the sizes where the compressed
/// length's encoding is shorter than the budget's (64 and 16384 bytes),
/// after earlier bytes in the buffer, and plain when LZF does not fit.
#[test]
fn lzf_strings_compress_in_place() {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let mut lens: Vec<usize> = (21..140).collect();
    lens.extend(16_370..16_400);
    lens.extend([20_000, 70_000, 100_000]);
    for len in lens {
        for kind in 0..3 {
            let s: Vec<u8> = match kind {
                0 => (0..len).map(|i| b"abcab"[i % 5]).collect(),
                1 => (0..len).map(|_| rng.gen()).collect(),
                _ => (0..len)
                    .map(|i| {
                        if rng.gen_range(0..8) == 0 {
                            rng.gen()
                        } else {
                            (i % 7) as u8
                        }
                    })
                    .collect(),
            };
            let mut want = b"prefix".to_vec();
            match crate::persist::lzf::compress(&s, len - 4) {
                Some(c) => {
                    want.push(0xc3);
                    rdb::save_len(&mut want, c.len() as u64);
                    rdb::save_len(&mut want, len as u64);
                    want.extend_from_slice(&c);
                }
                None => {
                    rdb::save_len(&mut want, len as u64);
                    want.extend_from_slice(&s);
                }
            }
            let mut got = b"prefix".to_vec();
            rdb::save_raw_string(&mut got, &s, true);
            assert_eq!(got, want, "len {len} kind {kind}");
        }
    }
}
