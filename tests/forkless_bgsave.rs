//! `bgsave-forkless yes`: BGSAVE written by the event loop, without a
//! child. The file must hold the dataset as it was when BGSAVE started
//! although writes of every kind run meanwhile: checked by loading it into
//! a real redis-server 7.0 and comparing DEBUG DIGEST with the digest
//! taken just before BGSAVE.

use crate::common;

use common::{encode, RawConn, RealRedis, Server};
use std::time::Duration;

fn start(extra: &[&str]) -> Server {
    let mut args = vec!["--bgsave-forkless", "yes", "--enable-debug-command", "yes"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn info_field(c: &mut RawConn, section: &str, name: &str) -> String {
    let info = c.cmd_str(&["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{}:", name)).map(str::to_string))
        .unwrap_or_default()
}

/// Waits until INFO persistence's `field` (an *_in_progress flag) is 0.
fn wait_zero(c: &mut RawConn, field: &str) {
    assert!(
        common::poll_until(Duration::from_secs(60), || info_field(
            c,
            "persistence",
            field
        ) == "0"),
        "{field} did not drop to 0"
    );
}

fn wait_done(c: &mut RawConn) {
    wait_zero(c, "rdb_bgsave_in_progress");
}

/// The server's working directory (where dump.rdb goes).
fn dir_of(c: &mut RawConn) -> String {
    let r = c.cmd_str(&["CONFIG", "GET", "dir"]);
    r.lines().nth(4).expect("CONFIG GET dir").to_string()
}

/// Sends `cmds` in one write and reads every reply.
fn pipeline(c: &mut RawConn, cmds: &[Vec<String>]) {
    let mut buf = Vec::new();
    for cmd in cmds {
        let a: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
        buf.extend(encode(&a));
    }
    c.send_raw(&buf);
    for _ in cmds {
        c.read_reply();
    }
}

fn cmd(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// The digest of `dir`/dump.rdb as a real Redis loads it, and its key
/// counts of dbs 0 and 3. As a `replica` it keeps expired keys.
fn redis_view(dir: &str, replica: bool) -> (String, i64, i64) {
    let mut args = vec![
        "--dir",
        dir,
        "--dbfilename",
        "dump.rdb",
        "--enable-debug-command",
        "yes",
    ];
    // A master that is never there (port 1): loading as a replica.
    if replica {
        args.extend(["--replicaof", "127.0.0.1", "1"]);
    }
    let r = RealRedis::start_with(&args);
    let mut c = r.conn();
    let digest = c.cmd_str(&["DEBUG", "DIGEST"]);
    let n0 = c.cmd_int(&["DBSIZE"]);
    c.cmd(&["SELECT", "3"]);
    let n3 = c.cmd_int(&["DBSIZE"]);
    (digest, n0, n3)
}

#[test]
fn the_file_holds_the_dataset_of_the_moment_bgsave_started() {
    let srv = start(&[]);
    let mut c = srv.conn();
    c.cmd(&["DEBUG", "POPULATE", "200000", "key", "40"]);
    // Every type, TTLs, and a second db.
    let mut setup = Vec::new();
    for i in 0..500 {
        let k = format!("col:{i}");
        setup.push(cmd(&["RPUSH", &format!("l{k}"), "a", "b", "c"]));
        setup.push(cmd(&["HSET", &format!("h{k}"), "f", "v", "g", "w"]));
        setup.push(cmd(&["SADD", &format!("s{k}"), "1", "2", "x"]));
        setup.push(cmd(&["ZADD", &format!("z{k}"), "1", "a", "2.5", "b"]));
        setup.push(cmd(&["XADD", &format!("x{k}"), "1-1", "f", "v"]));
        setup.push(cmd(&["PEXPIRE", &format!("key:{i}"), "3600000"]));
    }
    setup.push(cmd(&["SELECT", "3"]));
    for i in 0..1000 {
        setup.push(cmd(&["SET", &format!("db3:{i}"), "v"]));
    }
    setup.push(cmd(&["SELECT", "0"]));
    pipeline(&mut c, &setup);
    let before = c.cmd_str(&["DEBUG", "DIGEST"]);

    // BGSAVE and writes of every kind in one write: they run before the
    // traversal gets far (it advances between batches).
    let mut w = vec![cmd(&["BGSAVE"])];
    for i in 0..3000 {
        let k = format!("key:{i}");
        w.push(cmd(&["SET", &k, "changed"]));
        w.push(cmd(&["DEL", &format!("key:{}", i + 10000)]));
        w.push(cmd(&["SET", &format!("new:{i}"), "x"]));
        w.push(cmd(&["EXPIRE", &format!("key:{}", i + 20000), "100"]));
        w.push(cmd(&["PERSIST", &format!("key:{}", i % 500)]));
        w.push(cmd(&["APPEND", &format!("key:{}", i + 30000), "more"]));
    }
    for i in 0..500 {
        let k = format!("col:{i}");
        w.push(cmd(&["LPUSH", &format!("l{k}"), "new"]));
        w.push(cmd(&["HDEL", &format!("h{k}"), "f"]));
        w.push(cmd(&["SREM", &format!("s{k}"), "x"]));
        w.push(cmd(&["ZINCRBY", &format!("z{k}"), "10", "a"]));
        w.push(cmd(&["XADD", &format!("x{k}"), "2-1", "f", "v"]));
        w.push(cmd(&["RENAME", &format!("s{k}"), &format!("renamed{k}")]));
    }
    w.push(cmd(&["SWAPDB", "0", "5"]));
    w.push(cmd(&["SWAPDB", "0", "5"]));
    w.push(cmd(&["MOVE", "key:40000", "3"]));
    w.push(cmd(&["SELECT", "3"]));
    w.push(cmd(&["FLUSHDB"]));
    w.push(cmd(&["SELECT", "0"]));
    pipeline(&mut c, &w);
    // More while it runs, from a second client.
    let mut c2 = srv.conn();
    for i in 0..200 {
        c2.cmd(&["INCR", &format!("key:{}", 50000 + i)]);
    }
    wait_done(&mut c);
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
        "ok"
    );
    assert!(srv.log().contains("Background saving started (fork-less)"));
    assert!(srv
        .log()
        .contains("Background saving terminated with success"));
    // No fork.
    assert_eq!(info_field(&mut c, "stats", "total_forks"), "0");
    let dir = dir_of(&mut c);
    let (digest, n0, n3) = redis_view(&dir, false);
    assert_eq!(digest, before, "the file is not the dataset at BGSAVE");
    assert_eq!(n0, 200000 + 2500);
    assert_eq!(n3, 1000);
    srv.assert_no_panic();
}

#[test]
fn a_second_bgsave_waits_and_flushall_stops_it() {
    let srv = start(&[]);
    let mut c = srv.conn();
    c.cmd(&["DEBUG", "POPULATE", "300000", "key", "100"]);
    let dir = dir_of(&mut c);
    let mut buf = encode(&[b"BGSAVE"]);
    buf.extend(encode(&[b"BGSAVE"]));
    buf.extend(encode(&[b"BGSAVE", b"SCHEDULE"]));
    buf.extend(encode(&[b"FLUSHALL"]));
    buf.extend(encode(&[b"INFO", b"persistence"]));
    c.send_raw(&buf);
    assert_eq!(c.read_reply(), b"+Background saving started\r\n");
    let again = String::from_utf8_lossy(&c.read_reply()).into_owned();
    assert!(again.contains("already in progress"), "{again}");
    let again = String::from_utf8_lossy(&c.read_reply()).into_owned();
    assert!(again.contains("already in progress"), "{again}");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    let info = String::from_utf8_lossy(&c.read_reply()).into_owned();
    assert!(info.contains("rdb_bgsave_in_progress:0"), "{info}");
    // Stopped: no temp file left, no dump written, status still ok.
    let files: Vec<String> = std::fs::read_dir(&dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with("temp-") || f == "dump.rdb"),
        "{files:?}"
    );
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
        "ok"
    );
    // And the next one runs to the end.
    c.cmd(&["SET", "after", "1"]);
    assert_eq!(c.cmd_str(&["BGSAVE"]), "+Background saving started\r\n");
    wait_done(&mut c);
    let (_, n0, _) = redis_view(&dir, false);
    assert_eq!(n0, 1);
    srv.assert_no_panic();
}

#[test]
fn reads_and_expiry_during_the_snapshot_leave_it_whole() {
    // Keys that expire while the snapshot runs (active and lazy expiry)
    // and reads of every kind: the file has every key of the start.
    let srv = start(&["--hz", "100"]);
    let mut c = srv.conn();
    c.cmd(&["DEBUG", "POPULATE", "200000", "key", "20"]);
    let mut setup = vec![cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"])];
    for i in 0..5000 {
        setup.push(cmd(&["PEXPIRE", &format!("key:{i}"), "1"]));
    }
    setup.push(cmd(&["SET", "canary", "x", "PX", "1"]));
    pipeline(&mut c, &setup);
    // Past their time but still there: nothing looked them up.
    assert!(common::poll_until(Duration::from_secs(5), || {
        c.cmd_int(&["PTTL", "canary"]) == -2
    }));
    let before = c.cmd_str(&["DEBUG", "DIGEST"]);
    let mut w = vec![cmd(&["BGSAVE"]), cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"])];
    for i in 0..2500 {
        w.push(cmd(&["GET", &format!("key:{i}")]));
        w.push(cmd(&["EXISTS", &format!("key:{}", i + 2500)]));
        w.push(cmd(&["STRLEN", &format!("key:{}", i + 5000)]));
    }
    pipeline(&mut c, &w);
    wait_done(&mut c);
    assert_eq!(c.cmd_int(&["DBSIZE"]), 200000 - 5000);
    // A replica keeps the expired keys of a file it loads: all 200000.
    let dir = dir_of(&mut c);
    let (digest, n0, _) = redis_view(&dir, true);
    assert_eq!(n0, 200000);
    assert_eq!(digest, before);
    srv.assert_no_panic();
}

#[test]
fn aof_rewrite_writes_the_base_of_its_start_and_the_rest_goes_to_the_incr_file() {
    let srv = start(&["--appendonly", "yes"]);
    let mut c = srv.conn();
    c.cmd(&["DEBUG", "POPULATE", "200000", "key", "30"]);
    let mut setup = Vec::new();
    for i in 0..300 {
        setup.push(cmd(&["HSET", &format!("h:{i}"), "a", "1", "b", "2"]));
        setup.push(cmd(&["ZADD", &format!("z:{i}"), "1", "a"]));
    }
    pipeline(&mut c, &setup);
    // An earlier rewrite (the one appendonly yes may still run) first.
    wait_zero(&mut c, "aof_rewrite_in_progress");
    let before = c.cmd_str(&["DEBUG", "DIGEST"]);
    let mut w = vec![cmd(&["BGREWRITEAOF"])];
    for i in 0..3000 {
        w.push(cmd(&["SET", &format!("key:{i}"), "changed"]));
        w.push(cmd(&["DEL", &format!("key:{}", i + 10000)]));
        w.push(cmd(&["SET", &format!("new:{i}"), "x"]));
    }
    for i in 0..300 {
        w.push(cmd(&["HDEL", &format!("h:{i}"), "a"]));
        w.push(cmd(&["ZINCRBY", &format!("z:{i}"), "5", "a"]));
    }
    pipeline(&mut c, &w);
    wait_zero(&mut c, "aof_rewrite_in_progress");
    assert_eq!(
        info_field(&mut c, "persistence", "aof_last_bgrewrite_status"),
        "ok"
    );
    assert!(srv
        .log()
        .contains("Background append only file rewriting started (fork-less)"));
    assert_eq!(info_field(&mut c, "stats", "total_forks"), "0");
    let after = c.cmd_str(&["DEBUG", "DIGEST"]);
    assert_ne!(before, after);
    // The new base alone (an RDB) is the dataset of the start.
    let dir = dir_of(&mut c);
    let aof_dir = format!("{dir}/appendonlydir");
    let manifest =
        std::fs::read_to_string(format!("{aof_dir}/appendonly.aof.manifest")).expect("manifest");
    let base = manifest
        .lines()
        .find(|l| l.contains("type b"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("a base in the manifest")
        .to_string();
    let r = RealRedis::start_with(&[
        "--dir",
        &aof_dir,
        "--dbfilename",
        &base,
        "--enable-debug-command",
        "yes",
    ]);
    let digest = r.conn().cmd_str(&["DEBUG", "DIGEST"]);
    drop(r);
    assert_eq!(digest, before, "the base is not the dataset at the rewrite");
    // Base plus incr: the dataset now, as Redis loads the whole AOF.
    let r = RealRedis::start_with(&[
        "--dir",
        &dir,
        "--appendonly",
        "yes",
        "--enable-debug-command",
        "yes",
    ]);
    let mut rc = r.conn();
    assert_eq!(rc.cmd_str(&["DEBUG", "DIGEST"]), after);
    srv.assert_no_panic();
}

#[test]
fn debug_reload_during_the_snapshot_saves_beside_it() {
    // DEBUG RELOAD's foreground SAVE runs while the fork-less BGSAVE
    // writes its own temp file; then BGSAVE's file replaces dump.rdb, as
    // a child's does in Redis.
    let srv = start(&[]);
    let mut c = srv.conn();
    c.cmd(&["DEBUG", "POPULATE", "200000", "key", "50"]);
    let before = c.cmd_str(&["DEBUG", "DIGEST"]);
    let mut buf = encode(&[b"BGSAVE"]);
    buf.extend(encode(&[b"SET", b"key:1", b"changed"]));
    buf.extend(encode(&[b"DEBUG", b"RELOAD", b"NOFLUSH"]));
    buf.extend(encode(&[b"SET", b"new", b"x"]));
    c.send_raw(&buf);
    assert_eq!(c.read_reply(), b"+Background saving started\r\n");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    let reload = String::from_utf8_lossy(&c.read_reply()).into_owned();
    assert_eq!(c.read_reply(), b"+OK\r\n");
    wait_done(&mut c);
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_last_bgsave_status"),
        "ok"
    );
    let dir = dir_of(&mut c);
    let (digest, n0, _) = redis_view(&dir, false);
    assert_eq!(digest, before, "DEBUG RELOAD answered {reload}");
    assert_eq!(n0, 200000);
    srv.assert_no_panic();
}
