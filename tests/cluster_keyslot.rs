//! `ferrokv::cluster::slot::key_hash_slot` against a real redis-server
//! 7.0.15's CLUSTER KEYSLOT for a few hundred keys: hash tags in every
//! position, empty `{}`, unclosed `{`, nested and repeated braces, binary
//! bytes and long keys.

use crate::cluster_node;
use crate::common;

use cluster_node::RealClusterNode;
use ferrokv::cluster::slot::key_hash_slot;
use rand::{Rng, SeedableRng};

fn keys() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        "",
        "{",
        "}",
        "{}",
        "}{",
        "{{}}",
        "{}{}",
        "a{}b",
        "a{b",
        "a}b{",
        "{a}",
        "{a}b",
        "b{a}",
        "{a}{b}",
        "{{a}}",
        "x{}{y}",
        "x{y}{}",
        "foo",
        "bar",
        "{user1000}.following",
        "{user1000}.followers",
        "user1000",
        "{ }",
        "a{ b }c",
        "{\u{e9}}x",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(14);
    let alphabet = b"ab{}{}xyz\x00\xff:-";
    for i in 0..400 {
        let len = if i % 50 == 0 {
            rng.gen_range(100..600)
        } else {
            rng.gen_range(0..16)
        };
        let key: Vec<u8> = if i % 2 == 0 {
            (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect()
        } else {
            (0..len).map(|_| rng.gen()).collect()
        };
        v.push(key);
    }
    v
}

#[test]
fn keyslot_matches_redis() {
    let real = RealClusterNode::start(&[]);
    let mut c = common::RawConn::connect(real.port);
    let keys = keys();
    for k in &keys {
        c.send(&[b"CLUSTER", b"KEYSLOT", k]);
    }
    for k in &keys {
        let r = String::from_utf8_lossy(&c.read_reply()).into_owned();
        let theirs: u16 = r
            .strip_prefix(':')
            .and_then(|v| v.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("CLUSTER KEYSLOT {k:?}: {r:?}"));
        assert_eq!(key_hash_slot(k), theirs, "key {:?}", common::escape(k));
    }
    assert!(keys.len() > 400);
}
