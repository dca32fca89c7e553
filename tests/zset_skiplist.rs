//! Large sorted sets (skiplist encoding) against a real redis-server 7.0:
//! the member index chains the skiplist nodes themselves, so score updates
//! that relink nodes, in-place updates, ZREM and the range deletes must keep
//! ZSCORE, ZRANK, ZSCAN and the order in step. Replies are compared byte for
//! byte after a seeded mix of updates and deletions; MEMORY USAGE of the set
//! is at most Redis's (each member stored once, in its node).

use crate::common;

use common::{escape, flatten, RawConn, RealRedis, Server};

/// splitmix64, deterministic.
fn next(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn both(a: &mut RawConn, b: &mut RawConn, args: &[&str]) -> Vec<u8> {
    let (x, y) = (a.cmd(args), b.cmd(args));
    assert_eq!(escape(&x), escape(&y), "{args:?}");
    x
}

/// The payload of a raw bulk string frame (`$n\r\n...\r\n`).
fn bulk(frame: &[u8]) -> Vec<u8> {
    let start = frame
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("bulk header")
        + 2;
    frame[start..frame.len() - 2].to_vec()
}

/// Every (member, score) ZSCAN reports, sorted.
fn zscan_all(c: &mut RawConn, key: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    loop {
        // flatten: "*2", the cursor bulk, "*N", then N bulks.
        let r = flatten(&c.cmd(&["ZSCAN", key, &cursor, "COUNT", "500"]));
        assert!(r.len() >= 3 && r[0] == b"*2", "{r:?}");
        cursor = String::from_utf8_lossy(&bulk(&r[1])).into_owned();
        for pair in r[3..].chunks(2) {
            out.push((bulk(&pair[0]), bulk(&pair[1])));
        }
        if cursor == "0" {
            break;
        }
    }
    out.sort();
    out.dedup();
    out
}

fn member_count(c: &mut RawConn, key: &str) -> i64 {
    c.cmd_int(&["ZCARD", key])
}

#[test]
fn big_zset_updates_match_redis() {
    let ours = Server::start(&[]);
    let theirs = RealRedis::start();
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    let mut seed = 0x0002_a5e7_5eed_u64;
    let n = 3000u64;
    // Integer and fractional scores, some equal (ties order by member).
    let score = |s: &mut u64| -> String {
        match next(s) % 4 {
            0 => format!("{}", next(s) % 50),
            1 => format!("{}.25", next(s) % 1000),
            _ => format!("{}", next(s) % 100_000),
        }
    };
    let mut args: Vec<String> = vec!["ZADD".into(), "z".into()];
    for i in 0..n {
        args.push(score(&mut seed));
        args.push(format!("member:{i:06}"));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    both(&mut a, &mut b, &argv);
    both(&mut a, &mut b, &["OBJECT", "ENCODING", "z"]);
    for round in 0..6000u64 {
        let m = format!("member:{:06}", next(&mut seed) % (n + 200));
        let s = score(&mut seed);
        match round % 10 {
            0..=3 => {
                both(&mut a, &mut b, &["ZADD", "z", &s, &m]);
            }
            4 => {
                both(&mut a, &mut b, &["ZINCRBY", "z", "0.5", &m]);
            }
            5 => {
                both(&mut a, &mut b, &["ZREM", "z", &m]);
            }
            6 => {
                both(&mut a, &mut b, &["ZSCORE", "z", &m]);
                both(&mut a, &mut b, &["ZRANK", "z", &m]);
                both(&mut a, &mut b, &["ZREVRANK", "z", &m]);
            }
            7 => {
                let lo = next(&mut seed) % 100_000;
                let hi = lo + next(&mut seed) % 200;
                let (lo, hi) = (lo.to_string(), hi.to_string());
                if round % 3 == 0 {
                    both(&mut a, &mut b, &["ZREMRANGEBYSCORE", "z", &lo, &hi]);
                } else {
                    both(
                        &mut a,
                        &mut b,
                        &["ZRANGEBYSCORE", "z", &lo, &hi, "WITHSCORES"],
                    );
                }
            }
            8 => {
                let start = (next(&mut seed) % 2000).to_string();
                if round % 7 == 0 {
                    both(&mut a, &mut b, &["ZREMRANGEBYRANK", "z", &start, &start]);
                } else {
                    both(
                        &mut a,
                        &mut b,
                        &["ZRANGE", "z", &start, "+inf", "BYSCORE", "LIMIT", "0", "5"],
                    );
                }
            }
            _ => {
                both(&mut a, &mut b, &["ZPOPMIN", "z"]);
                both(&mut a, &mut b, &["ZADD", "z", "NX", &s, &m]);
            }
        }
    }
    both(&mut a, &mut b, &["ZCARD", "z"]);
    both(&mut a, &mut b, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]);
    assert_eq!(zscan_all(&mut a, "z"), zscan_all(&mut b, "z"));
    assert!(member_count(&mut a, "z") > 1000);
    let usage = |c: &mut RawConn| c.cmd_int(&["MEMORY", "USAGE", "z", "SAMPLES", "0"]);
    let (ou, ru) = (usage(&mut a), usage(&mut b));
    // The member lives once, in its node; the index costs a link in the
    // node plus a bucket (Redis: a 24-byte dictEntry, a bucket and an sds).
    assert!(ou > 0 && ou <= ru, "MEMORY USAGE ours {ou} vs Redis {ru}");
    ours.assert_no_panic();
}

/// The table sizes DEBUG HTSTATS-KEY shows (main, and the rehash target
/// while rehashing) and the total number of elements. How many elements
/// each table holds mid-rehash depends on where each server's hash seed
/// put them.
fn table_lines(c: &mut RawConn, key: &str) -> (Vec<String>, u64) {
    let r = c.cmd(&["DEBUG", "HTSTATS-KEY", key]);
    let text = String::from_utf8_lossy(&r).into_owned();
    let sizes = text
        .lines()
        .filter(|l| l.starts_with(" table size"))
        .map(str::to_string)
        .collect();
    let total = text
        .lines()
        .filter_map(|l| l.strip_prefix(" number of elements: "))
        .map(|n| n.trim().parse::<u64>().expect("element count"))
        .sum();
    (sizes, total)
}

/// The member index grows, rehashes incrementally (one bucket per ZADD and
/// ZREM) and shrinks after deletions as Redis's member dict does, and ZSCAN
/// while it rehashes still reports every member.
#[test]
fn member_index_resizes_like_redis_dict() {
    let args = ["--enable-debug-command", "yes"];
    let ours = Server::start(&args);
    let theirs = RealRedis::start_with(&args);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    for i in 0..1000 {
        both(
            &mut a,
            &mut b,
            &["ZADD", "z", &i.to_string(), &format!("m{i}")],
        );
        if matches!(i, 200 | 513 | 999) {
            assert_eq!(
                table_lines(&mut a, "z"),
                table_lines(&mut b, "z"),
                "after {i}"
            );
        }
    }
    assert_eq!(zscan_all(&mut a, "z"), zscan_all(&mut b, "z"));
    for i in 0..950 {
        both(&mut a, &mut b, &["ZREM", "z", &format!("m{i}")]);
        if matches!(i, 500 | 930 | 949) {
            assert_eq!(
                table_lines(&mut a, "z"),
                table_lines(&mut b, "z"),
                "after ZREM {i}"
            );
        }
    }
    // A range delete shrinks too (zremrangeGeneric).
    both(&mut a, &mut b, &["ZREMRANGEBYSCORE", "z", "960", "990"]);
    assert_eq!(table_lines(&mut a, "z"), table_lines(&mut b, "z"));
    assert_eq!(zscan_all(&mut a, "z"), zscan_all(&mut b, "z"));
    both(&mut a, &mut b, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]);
    ours.assert_no_panic();
}
