//! SPOP / SRANDMEMBER: properties of the random replies (sizes, distinct
//! members, membership, what is left in the key) across Redis's case
//! analysis, for both set encodings, plus the encodings a real
//! redis-server 7.0 ends up with after the same pops.

use crate::common;

use common::{flatten, RawConn, RealRedis, Server};
use std::collections::{BTreeSet, HashMap};

/// An aggregate of bulk strings: (header type byte, length, members).
fn parse_bulks(reply: &[u8]) -> (u8, usize, Vec<Vec<u8>>) {
    let flat = flatten(reply);
    assert!(!flat.is_empty(), "empty reply");
    let hdr = &flat[0];
    let n: usize = std::str::from_utf8(&hdr[1..]).unwrap().parse().unwrap();
    let items: Vec<Vec<u8>> = flat[1..]
        .iter()
        .map(|f| {
            assert_eq!(
                f[0],
                b'$',
                "bulk expected in {:?}",
                String::from_utf8_lossy(reply)
            );
            let nl = f.iter().position(|&b| b == b'\n').unwrap();
            f[nl + 1..f.len() - 2].to_vec()
        })
        .collect();
    (hdr[0], n, items)
}

fn members(c: &mut RawConn, key: &str) -> BTreeSet<Vec<u8>> {
    parse_bulks(&c.cmd(&["SMEMBERS", key]))
        .2
        .into_iter()
        .collect()
}

fn fill(c: &mut RawConn, key: &str, items: &[String]) {
    c.cmd(&["DEL", key]);
    let mut args: Vec<&str> = vec!["SADD", key];
    args.extend(items.iter().map(|s| s.as_str()));
    c.cmd(&args);
}

fn ints(n: usize) -> Vec<String> {
    (0..n).map(|i| (i * 7).to_string()).collect()
}

fn strs(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("m{}", i)).collect()
}

#[test]
fn spop_with_count_all_cases() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    for items in [ints(50), strs(50), ints(600)] {
        // count: case 2 (few), case 3 (most), case 1 (all or more).
        for count in [1usize, 5, 45, 49, 50, 80] {
            fill(&mut c, "s", &items);
            let enc_before = c.cmd_str(&["OBJECT", "ENCODING", "s"]);
            let before = members(&mut c, "s");
            let size = before.len();
            let (t, n, popped) = parse_bulks(&c.cmd(&["SPOP", "s", &count.to_string()]));
            assert_eq!(t, b'*');
            let want = count.min(size);
            assert_eq!(n, want);
            assert_eq!(popped.len(), want);
            let popped: BTreeSet<Vec<u8>> = popped.into_iter().collect();
            assert_eq!(popped.len(), want, "SPOP returned duplicates");
            assert!(popped.is_subset(&before));
            let after = if want == size {
                assert_eq!(c.cmd_int(&["EXISTS", "s"]), 0);
                BTreeSet::new()
            } else {
                members(&mut c, "s")
            };
            let expect: BTreeSet<Vec<u8>> = before.difference(&popped).cloned().collect();
            assert_eq!(after, expect, "{} count {}", enc_before, count);
        }
    }
    // RESP3: SPOP with a count replies with a set.
    c.cmd(&["HELLO", "3"]);
    fill(&mut c, "s", &ints(10));
    let (t, n, _) = parse_bulks(&c.cmd(&["SPOP", "s", "3"]));
    assert_eq!((t, n), (b'~', 3));
    srv.assert_no_panic();
}

#[test]
fn spop_single_and_ttl_kept() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    for items in [ints(5), strs(5)] {
        fill(&mut c, "s", &items);
        c.cmd(&["EXPIRE", "s", "1000"]);
        let mut seen = BTreeSet::new();
        for left in (0..5).rev() {
            let r = c.cmd(&["SPOP", "s"]);
            let (_, _, v) = parse_bulks(&[b"*1\r\n".as_slice(), &r].concat());
            assert!(items.iter().any(|i| i.as_bytes() == v[0].as_slice()));
            assert!(seen.insert(v[0].clone()), "popped twice");
            assert_eq!(c.cmd_int(&["SCARD", "s"]), left);
            if left > 0 {
                assert!(c.cmd_int(&["TTL", "s"]) > 0);
            }
        }
        assert_eq!(c.cmd_int(&["EXISTS", "s"]), 0);
    }
    // Case 3 (replace with a new set) keeps the TTL too.
    fill(&mut c, "s", &strs(100));
    c.cmd(&["EXPIRE", "s", "1000"]);
    parse_bulks(&c.cmd(&["SPOP", "s", "95"]));
    assert_eq!(c.cmd_int(&["SCARD", "s"]), 5);
    assert!(c.cmd_int(&["TTL", "s"]) > 0);
    srv.assert_no_panic();
}

#[test]
fn srandmember_cases() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    for items in [ints(40), strs(40), ints(1000)] {
        fill(&mut c, "s", &items);
        let all = members(&mut c, "s");
        let size = all.len();
        // Positive: distinct members (case 3: count*3 > size, case 4 otherwise).
        for count in [1usize, 2, 10, 14, 30, 39, 40, 100] {
            let (t, n, got) = parse_bulks(&c.cmd(&["SRANDMEMBER", "s", &count.to_string()]));
            assert_eq!(t, b'*');
            assert_eq!(n, count.min(size));
            let set: BTreeSet<Vec<u8>> = got.iter().cloned().collect();
            assert_eq!(set.len(), got.len(), "duplicates for count {}", count);
            assert!(set.is_subset(&all));
        }
        // Negative: exactly |count| members, repeats allowed.
        let (t, n, got) = parse_bulks(&c.cmd(&["SRANDMEMBER", "s", "-200"]));
        assert_eq!((t, n, got.len()), (b'*', 200, 200));
        assert!(got.iter().all(|m| all.contains(m)));
        // Nothing was removed.
        assert_eq!(members(&mut c, "s"), all);
    }
    // RESP3: arrays, not sets (7.0 replies arrays for SRANDMEMBER counts).
    c.cmd(&["HELLO", "3"]);
    fill(&mut c, "s", &ints(10));
    assert_eq!(parse_bulks(&c.cmd(&["SRANDMEMBER", "s", "3"])).0, b'*');
    assert_eq!(parse_bulks(&c.cmd(&["SRANDMEMBER", "s", "-3"])).0, b'*');
    assert_eq!(parse_bulks(&c.cmd(&["SRANDMEMBER", "s", "30"])).0, b'*');
    srv.assert_no_panic();
}

#[test]
fn random_picks_cover_all_members() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    for items in [ints(4), strs(4)] {
        fill(&mut c, "s", &items);
        let (_, _, got) = parse_bulks(&c.cmd(&["SRANDMEMBER", "s", "-4000"]));
        let mut hist: HashMap<Vec<u8>, usize> = HashMap::new();
        for m in got {
            *hist.entry(m).or_default() += 1;
        }
        assert_eq!(hist.len(), 4);
        assert!(
            hist.values().all(|&n| n > 600),
            "skewed: {:?}",
            hist.values()
        );
    }
    srv.assert_no_panic();
}

/// After SPOP's case 3 the key holds a *new* set created by setTypeCreate:
/// a hashtable of integers shrinking below the limit comes back as an
/// intset, exactly as in Redis.
#[test]
fn spop_case3_encoding_matches_redis() {
    let ours = Server::start(&[]);
    let reference = RealRedis::start();
    let mut a = ours.conn();
    let mut b = reference.conn();
    let cases: [(Vec<String>, &str); 4] = [
        (ints(600), "590"), // case 3, remainder 10 ints -> intset
        (ints(600), "10"),  // case 2 -> stays hashtable
        (strs(60), "58"),   // strings stay hashtable
        (ints(600), "500"), // case 3, 100 left -> intset
    ];
    for (items, count) in cases {
        for c in [&mut a, &mut b] {
            fill(c, "s", &items);
            parse_bulks(&c.cmd(&["SPOP", "s", count]));
        }
        assert_eq!(
            a.cmd_str(&["OBJECT", "ENCODING", "s"]),
            b.cmd_str(&["OBJECT", "ENCODING", "s"]),
            "SPOP {}",
            count
        );
        assert_eq!(a.cmd_int(&["SCARD", "s"]), b.cmd_int(&["SCARD", "s"]));
    }
    ours.assert_no_panic();
}
