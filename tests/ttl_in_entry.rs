//! Expire times kept in the keys' own dict entries (no expires table):
//! TTLs survive table growth and reloads, INFO/MEMORY report them, SET
//! clears them, active expiry finds the few keys with a TTL among many
//! without one, and volatile eviction still finds them.

use crate::common;

use common::{poll_until, Server};
use std::time::Duration;

fn keyspace_line(c: &mut common::RawConn) -> String {
    let info = c.cmd_str(&["INFO", "keyspace"]);
    info.lines()
        .find(|l| l.starts_with("db0:"))
        .unwrap_or("")
        .to_string()
}

#[test]
fn ttls_survive_growth_reload_and_overwrite() {
    let srv = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = srv.conn();
    // Grow the table through several rehashes with TTLs set in between.
    for i in 0..5000 {
        let k = format!("k{i}");
        c.cmd(&["SET", &k, "v"]);
        if i % 2 == 0 {
            assert_eq!(
                c.cmd_int(&["PEXPIREAT", &k, &(4_000_000_000_000i64 + i).to_string()]),
                1
            );
        }
    }
    assert!(keyspace_line(&mut c).starts_with("db0:keys=5000,expires=2500,"));
    assert_eq!(c.cmd_str(&["DEBUG", "RELOAD"]), "+OK\r\n");
    assert!(keyspace_line(&mut c).starts_with("db0:keys=5000,expires=2500,"));
    for i in [0i64, 2, 4998] {
        assert_eq!(
            c.cmd_int(&["PEXPIRETIME", &format!("k{i}")]),
            4_000_000_000_000 + i
        );
    }
    assert_eq!(c.cmd_int(&["PEXPIRETIME", "k1"]), -1);
    // A TTL adds 8 bytes to the key's MEMORY USAGE.
    let with = c.cmd_int(&["MEMORY", "USAGE", "k2"]);
    let without = c.cmd_int(&["MEMORY", "USAGE", "k3"]);
    assert_eq!(with - without, 8);
    // PERSIST, SET (no KEEPTTL), SET KEEPTTL, EXPIRE on a key, DEL.
    assert_eq!(c.cmd_int(&["PERSIST", "k0"]), 1);
    assert_eq!(c.cmd_int(&["PERSIST", "k0"]), 0);
    c.cmd(&["SET", "k2", "w"]);
    assert_eq!(c.cmd_int(&["TTL", "k2"]), -1);
    c.cmd(&["SET", "k4", "w", "KEEPTTL"]);
    assert_eq!(c.cmd_int(&["PEXPIRETIME", "k4"]), 4_000_000_000_004);
    assert_eq!(c.cmd_int(&["DEL", "k6"]), 1);
    assert!(keyspace_line(&mut c).starts_with("db0:keys=4999,expires=2497,"));
    // RENAME and MOVE carry the TTL.
    c.cmd(&["RENAME", "k8", "renamed"]);
    assert_eq!(c.cmd_int(&["PEXPIRETIME", "renamed"]), 4_000_000_000_008);
    assert_eq!(c.cmd_int(&["MOVE", "renamed", "1"]), 1);
    c.cmd(&["SELECT", "1"]);
    assert_eq!(c.cmd_int(&["PEXPIRETIME", "renamed"]), 4_000_000_000_008);
    c.cmd(&["SELECT", "0"]);
    assert!(keyspace_line(&mut c).starts_with("db0:keys=4998,expires=2496,"));
    // SWAPDB moves the keys with their TTLs.
    c.cmd(&["SWAPDB", "0", "1"]);
    assert!(keyspace_line(&mut c).starts_with("db0:keys=1,expires=1,"));
    srv.assert_no_panic();
}

#[test]
fn active_expiry_finds_sparse_ttls() {
    let srv = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = srv.conn();
    assert_eq!(
        c.cmd_str(&["DEBUG", "POPULATE", "100000", "plain"]),
        "+OK\r\n"
    );
    for i in 0..20 {
        c.cmd(&["SET", &format!("short{i}"), "v", "PX", "50"]);
    }
    // Nobody reads the keys: only the active cycle can remove them.
    let gone = poll_until(Duration::from_secs(20), || {
        keyspace_line(&mut c).starts_with("db0:keys=100000,expires=0,")
    });
    assert!(gone, "still: {}", keyspace_line(&mut c));
    srv.assert_no_panic();
}

#[test]
fn volatile_eviction_finds_sparse_ttls() {
    let srv = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = srv.conn();
    assert_eq!(
        c.cmd_str(&["DEBUG", "POPULATE", "20000", "plain", "100"]),
        "+OK\r\n"
    );
    for i in 0..30 {
        c.cmd(&["SET", &format!("vol{i}"), &"x".repeat(1000), "EX", "10000"]);
    }
    for policy in ["volatile-random", "volatile-lru", "volatile-ttl"] {
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", policy]);
        // The second reading includes the reply buffer the first one grew.
        c.cmd_str(&["INFO", "memory"]);
        let used: i64 = c
            .cmd_str(&["INFO", "memory"])
            .lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("used_memory");
        // A little below what is used: a few volatile keys must go.
        c.cmd(&["CONFIG", "SET", "maxmemory", &(used - 3000).to_string()]);
        let reply = c.cmd_str(&["SET", "trigger", "x"]);
        if reply.starts_with('-') {
            let info = c.cmd_str(&["INFO"]);
            panic!("{policy}: {reply} used before {used}\n{info}");
        }
        c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
        // Only keys with a TTL were evicted.
        let line = keyspace_line(&mut c);
        assert!(line.starts_with("db0:keys=200"), "{policy}: {line}");
        assert_eq!(c.cmd_int(&["EXISTS", "plain:0", "plain:19999"]), 2);
        c.cmd(&["DEL", "trigger"]);
    }
    let line = keyspace_line(&mut c);
    assert!(!line.contains("expires=30,"), "nothing evicted: {line}");
    srv.assert_no_panic();
}

#[test]
fn volatile_eviction_finds_a_single_ttl_among_many_keys() {
    let srv = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = srv.conn();
    assert_eq!(
        c.cmd_str(&["DEBUG", "POPULATE", "100000", "plain"]),
        "+OK\r\n"
    );
    c.cmd(&["SET", "lonely", &"x".repeat(5000), "EX", "10000"]);
    c.cmd(&["CONFIG", "SET", "maxmemory-policy", "volatile-lru"]);
    c.cmd_str(&["INFO", "memory"]);
    let used: i64 = c
        .cmd_str(&["INFO", "memory"])
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory");
    c.cmd(&["CONFIG", "SET", "maxmemory", &(used - 2000).to_string()]);
    let reply = c.cmd_str(&["SET", "trigger", "x"]);
    assert_eq!(reply, "+OK\r\n");
    assert_eq!(c.cmd_int(&["EXISTS", "lonely"]), 0);
    assert_eq!(c.cmd_int(&["DBSIZE"]), 100001);
    srv.assert_no_panic();
}
