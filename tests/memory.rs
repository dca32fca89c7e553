//! MEMORY USAGE honesty: for each compact collection shape, the sum of
//! MEMORY USAGE over 1000 keys must be within 20% of the `used_memory`
//! growth (INFO memory) caused by creating them. Also checks the MEMORY
//! STATS key layout and the small subcommands.

use crate::common;

use common::{flatten, RawConn, Server};
use std::time::Duration;

fn used_memory(c: &mut RawConn) -> i64 {
    let r = c.cmd_str(&["INFO", "memory"]);
    r.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no used_memory in {:?}", r))
}

fn connected_clients(c: &mut RawConn) -> i64 {
    let r = c.cmd_str(&["INFO", "clients"]);
    r.lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Creates `keys` keys with `make(i)` through a separate connection that is
/// closed before measuring, so its buffers do not count; returns
/// (used_memory delta, sum of MEMORY USAGE, one key's MEMORY USAGE).
fn measure(srv: &Server, keys: usize, make: impl Fn(usize) -> Vec<String>) -> (i64, i64, i64) {
    let mut m = srv.conn();
    assert_eq!(m.cmd_str(&["FLUSHALL"]), "+OK\r\n");
    // Warm up: the command's stats entry and any lazily created state.
    {
        let mut w = srv.conn();
        let args = make(0);
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        w.cmd(&a);
        w.cmd(&["DEL", &args[1]]);
    }
    std::thread::sleep(Duration::from_millis(50));
    assert!(common::poll_until(
        Duration::from_secs(5),
        || connected_clients(&mut m) == 1
    ));
    let before = used_memory(&mut m);
    {
        let mut l = srv.conn();
        let mut batch = Vec::new();
        for i in 0..keys {
            let args = make(i);
            let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
            batch.extend_from_slice(&common::encode(&a));
            if i % 50 == 49 || i + 1 == keys {
                l.send_raw(&batch);
                batch.clear();
                for _ in 0..(i % 50 + 1) {
                    let r = l.read_reply();
                    assert!(r[0] == b':', "{:?}", String::from_utf8_lossy(&r));
                }
            }
        }
    }
    assert!(common::poll_until(
        Duration::from_secs(5),
        || connected_clients(&mut m) == 1
    ));
    let after = used_memory(&mut m);
    let mut sum = 0;
    for i in 0..keys {
        let args = make(i);
        sum += m.cmd_int(&["MEMORY", "USAGE", &args[1]]);
    }
    let one = m.cmd_int(&["MEMORY", "USAGE", &make(keys / 2)[1], "SAMPLES", "0"]);
    (after - before, sum, one)
}

fn check(name: &str, delta: i64, sum: i64, one: i64) {
    let ratio = sum as f64 / delta as f64;
    eprintln!(
        "{}: used_memory delta {} ({} B/key), MEMORY USAGE sum {} (one key {}), ratio {:.3}",
        name,
        delta,
        delta / 1000,
        sum,
        one,
        ratio
    );
    assert!(
        (0.8..=1.2).contains(&ratio),
        "{}: MEMORY USAGE sum {} vs used_memory delta {} (ratio {:.3})",
        name,
        sum,
        delta,
        ratio
    );
}

#[test]
fn memory_usage_tracks_used_memory() {
    let srv = Server::start(&["--slowlog-log-slower-than", "-1"]);
    const KEYS: usize = 1000;

    let (d, s, one) = measure(&srv, KEYS, |i| {
        let mut v = vec!["HSET".to_string(), format!("hash:{:06}", i)];
        for f in 0..100 {
            v.push(format!("field:{}", f));
            v.push(format!("value:{}", f));
        }
        v
    });
    check("hash 100 fields (listpack)", d, s, one);

    let (d, s, one) = measure(&srv, KEYS, |i| {
        let mut v = vec!["SADD".to_string(), format!("set:{:06}", i)];
        v.extend((0..500).map(|n| n.to_string()));
        v
    });
    check("set 500 ints (intset)", d, s, one);

    let (d, s, one) = measure(&srv, KEYS, |i| {
        let mut v = vec!["ZADD".to_string(), format!("zset:{:06}", i)];
        for n in 0..100 {
            v.push(n.to_string());
            v.push(format!("member:{}", n));
        }
        v
    });
    check("zset 100 members (listpack)", d, s, one);

    let (d, s, one) = measure(&srv, KEYS, |i| {
        let mut v = vec!["RPUSH".to_string(), format!("list:{:06}", i)];
        v.extend((0..1000).map(|n| format!("element:{}", n)));
        v
    });
    check("list 1000 elements (quicklist)", d, s, one);

    srv.assert_no_panic();
}

/// The slab's arena (dict entries, short strings) nearly full: commands
/// that may add data are refused with the OOM error, as under maxmemory,
/// reads still work, and writes come back once keys are deleted; the
/// server never aborts. An address-space limit makes the server reserve
/// a small arena (it says how big in its log) instead of 32 GiB.
#[test]
fn a_nearly_full_arena_refuses_writes_instead_of_aborting() {
    let srv = Server::start_with_address_space_limit(500 << 20, &["--enable-debug-command", "yes"]);
    let log = srv.log();
    let mib: u64 = log
        .split("the slab arena that holds dict entries is only ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no arena size in the log:\n{log}"));
    assert_eq!(mib, 256, "the arena reserved under the limit");
    // Each key: a 32-byte entry and a 208-byte slot for its 200-byte value.
    // Fill to 15/16 of the arena: past its last eighth (the headroom), not
    // past its end.
    let keys = (mib << 20) * 15 / 16 / 240;
    let mut c = srv.conn();
    let populate = c.cmd_str(&["DEBUG", "POPULATE", &keys.to_string(), "key", "200"]);
    assert_eq!(populate, "+OK\r\n");
    let r = c.cmd_str(&["SET", "one-more", "x"]);
    assert!(r.starts_with("-OOM "), "{r}");
    let r = c.cmd_str(&["RPUSH", "list", "x"]);
    assert!(r.starts_with("-OOM "), "{r}");
    assert_eq!(c.cmd_str(&["EXISTS", "key:1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["STRLEN", "key:1"]), ":200\r\n");
    assert_eq!(c.cmd_str(&["FLUSHALL", "SYNC"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SET", "one-more", "x"]), "+OK\r\n");
    srv.assert_no_panic();
}

#[test]
fn memory_subcommands() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(c.cmd(&["MEMORY", "USAGE", "nokey"]), b"$-1\r\n");
    c.cmd(&["SET", "foo", "bar"]);
    assert!(c.cmd_int(&["MEMORY", "USAGE", "foo"]) > 0);
    assert!(c.cmd_int(&["MEMORY", "USAGE", "foo", "SAMPLES", "0"]) > 0);
    for (args, err) in [
        (
            &["MEMORY", "USAGE", "foo", "SAMPLES"][..],
            "-ERR syntax error\r\n",
        ),
        (
            &["MEMORY", "USAGE", "foo", "SAMPLES", "-1"],
            "-ERR syntax error\r\n",
        ),
        (
            &["MEMORY", "USAGE", "foo", "SAMPLES", "x"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["MEMORY", "USAGE", "foo", "bar"], "-ERR syntax error\r\n"),
        (
            &["MEMORY", "STATS", "x"],
            "-ERR wrong number of arguments for 'memory|stats' command\r\n",
        ),
    ] {
        assert_eq!(c.cmd_str(args), err, "{:?}", args);
    }
    assert_eq!(c.cmd_str(&["MEMORY", "PURGE"]), "+OK\r\n");
    let d = c.cmd_str(&["MEMORY", "DOCTOR"]);
    assert!(d.contains("Hi Sam, "), "{}", d);

    let flat: Vec<String> = flatten(&c.cmd(&["MEMORY", "STATS"]))
        .iter()
        .map(|e| String::from_utf8_lossy(e).to_string())
        .collect();
    assert_eq!(flat[0], "*56", "27 pairs plus db.0");
    let names: Vec<&str> = flat
        .iter()
        .filter_map(|e| e.strip_prefix('$'))
        .filter_map(|e| e.split_once("\r\n").map(|x| x.1.trim_end()))
        .filter(|n| n.contains(|ch: char| ch.is_ascii_alphabetic()))
        .collect();
    let want = [
        "peak.allocated",
        "total.allocated",
        "startup.allocated",
        "replication.backlog",
        "clients.slaves",
        "clients.normal",
        "cluster.links",
        "aof.buffer",
        "lua.caches",
        "functions.caches",
        "db.0",
        "overhead.hashtable.main",
        "overhead.hashtable.expires",
        "overhead.hashtable.slot-to-keys",
        "overhead.total",
        "keys.count",
        "keys.bytes-per-key",
        "dataset.bytes",
        "dataset.percentage",
        "peak.percentage",
        "allocator.allocated",
        "allocator.active",
        "allocator.resident",
        "allocator-fragmentation.ratio",
        "allocator-fragmentation.bytes",
        "allocator-rss.ratio",
        "allocator-rss.bytes",
        "rss-overhead.ratio",
        "rss-overhead.bytes",
        "fragmentation",
        "fragmentation.bytes",
    ];
    assert_eq!(names, want);
    srv.assert_no_panic();
}

#[test]
fn memory_replies_match_redis() {
    let cmds: &[&[&str]] = &[
        &["MEMORY", "HELP"],
        &["MEMORY", "USAGE", "nokey"],
        &["MEMORY", "USAGE", "nokey", "SAMPLES"],
        &["MEMORY", "USAGE", "nokey", "SAMPLES", "0"],
        &["MEMORY", "USAGE", "nokey", "samples", "-1"],
        &["MEMORY", "USAGE", "nokey", "SAMPLES", "1.5"],
        &["MEMORY", "USAGE", "nokey", "FOO", "1"],
        &["MEMORY", "USAGE"],
        &["MEMORY"],
        &["MEMORY", "FOO"],
        &["MEMORY", "STATS", "x"],
        &["MEMORY", "PURGE"],
        &["MEMORY", "DOCTOR"],
        &["HELLO", "3"],
        &["MEMORY", "DOCTOR"],
        &["MEMORY", "USAGE", "nokey"],
    ];
    let ours = Server::start(&[]);
    let real = common::RealRedis::start();
    let (mut a, mut b) = (ours.conn(), real.conn());
    for args in cmds {
        let (ra, rb) = (a.cmd(args), b.cmd(args));
        if args[0] == "HELLO" {
            continue;
        }
        assert_eq!(
            String::from_utf8_lossy(&ra),
            String::from_utf8_lossy(&rb),
            "{:?}",
            args
        );
    }
    ours.assert_no_panic();
}
