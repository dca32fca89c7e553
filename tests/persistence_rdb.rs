//! RDB persistence against the real thing: files ferrokv writes pass
//! `redis-check-rdb` and load into redis-server 7.0 with the same contents
//! and encodings; files redis-server writes load into ferrokv; DUMP
//! payloads are byte-identical and RESTORE works both ways; BGSAVE writes
//! the snapshot of fork time; SHUTDOWN saves and a restart restores;
//! corrupt files make the server exit cleanly.

use crate::common;

use common::{flatten, RawConn, RealRedis, Server};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ferrokv-rdb-{}-{}", tag, std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Sends all commands pipelined, then reads every reply; panics on an
/// error reply.
fn pipeline(c: &mut RawConn, cmds: &[Vec<String>]) {
    for chunk in cmds.chunks(200) {
        for cmd in chunk {
            let a: Vec<&[u8]> = cmd.iter().map(|x| x.as_bytes()).collect();
            c.send(&a);
        }
        for cmd in chunk {
            let r = c.read_reply();
            assert!(
                r.first() != Some(&b'-'),
                "{:?} -> {}",
                cmd,
                String::from_utf8_lossy(&r)
            );
        }
    }
}

fn v(args: &[&str]) -> Vec<String> {
    args.iter().map(|x| x.to_string()).collect()
}

/// A dataset with every type and encoding RDB distinguishes.
fn dataset() -> Vec<Vec<String>> {
    let mut d = vec![
        v(&["SET", "str:int", "12345"]),
        v(&["SET", "str:neg", "-7"]),
        v(&["SET", "str:bigint", "123456789012345"]),
        v(&["SET", "str:emb", "hello world"]),
        v(&["SET", "str:num11", "12345678901"]),
        v(&["SET", "str:raw", &"x".repeat(100)]),
        v(&["SET", "str:lzf", &"abcdefghij".repeat(30)]),
        v(&["SET", "str:nocomp", "q8w7e6r5t4y3u2i1o0pazsxdcfvgbhnjmk"]),
        v(&["SET", "str:empty", ""]),
        v(&["APPEND", "str:appended", "abc"]),
        v(&[
            "RPUSH",
            "list:small",
            "a",
            "b",
            "c",
            "1",
            "2",
            "-3",
            "12345678901234",
        ]),
        v(&[
            "SADD",
            "set:intset",
            "1",
            "2",
            "3",
            "-100",
            "70000",
            "5000000000",
        ]),
        v(&["SADD", "set:ht", "a", "b", "c", "1"]),
        v(&["HSET", "hash:lp", "f1", "v1", "f2", "2", "n", "-5"]),
        v(&["HSET", "hash:longval", "f", &"v".repeat(100)]),
        v(&[
            "ZADD", "zset:lp", "1", "a", "2.5", "b", "inf", "c", "-inf", "d", "0", "e", "-1.25e-5",
            "f",
        ]),
        v(&["ZADD", "zset:longmember", "1", &"m".repeat(100)]),
        v(&["SET", "ttl:str", "v", "PX", "100000000"]),
        v(&["RPUSH", "ttl:list", "x"]),
        v(&["PEXPIRE", "ttl:list", "200000000"]),
        // Redis stores elements over the threshold in PLAIN quicklist
        // nodes (ferrokv accepts the command and keeps packed nodes).
        v(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000"]),
        v(&["RPUSH", "list:plain", "small", &"p".repeat(3000), "small2"]),
        v(&["XADD", "stream:empty", "1-1", "a", "1"]),
        v(&["XDEL", "stream:empty", "1-1"]),
    ];
    for i in 0..600 {
        d.push(v(&[
            "RPUSH",
            "list:big",
            &format!("element-{}-{}", i, "y".repeat(i % 40)),
        ]));
        d.push(v(&["SADD", "set:bigint", &i.to_string()]));
        d.push(v(&[
            "HSET",
            "hash:ht",
            &format!("field{}", i),
            &format!("value{}", i),
        ]));
        d.push(v(&[
            "ZADD",
            "zset:sl",
            &format!("{}.5", i % 97),
            &format!("member{}", i),
        ]));
    }
    for i in 1..=250u32 {
        let id = format!("{}-{}", 1000 + i / 3, i % 3);
        if i % 10 == 0 {
            d.push(v(&["XADD", "stream:s", &id, "other", &i.to_string()]));
        } else {
            d.push(v(&[
                "XADD",
                "stream:s",
                &id,
                "f",
                &i.to_string(),
                "g",
                "xyz",
            ]));
        }
    }
    for i in 1..=150u32 {
        let fields: &[&str] = if i % 7 == 0 {
            &["x", "1"]
        } else {
            &["f", "v", "n", "12"]
        };
        let mut cmd = vec!["XADD", "stream:nodel"];
        let id = format!("{}-{}", 5000 + i, i % 4);
        cmd.push(&id);
        cmd.extend_from_slice(fields);
        d.push(v(&cmd));
    }
    for id in ["1000-2", "1001-0", "1010-1", "1050-0", "1050-1", "1050-2"] {
        d.push(v(&["XDEL", "stream:s", id]));
    }
    // Big entries cut nodes by stream-node-max-bytes; XDEL flags in place,
    // XTRIM removes whole nodes and flags entries in the next one.
    for i in 1..=40u32 {
        let val = if i % 5 == 0 {
            "z".repeat(5000)
        } else {
            format!("{}{}", "q".repeat(300 + i as usize * 13), i)
        };
        d.push(v(&["XADD", "stream:big", &format!("{}-1", i), "f", &val]));
    }
    for id in ["3-1", "10-1", "11-1", "12-1", "13-1", "14-1", "40-1"] {
        d.push(v(&["XDEL", "stream:big", id]));
    }
    d.push(v(&["XTRIM", "stream:big", "MAXLEN", "25"]));
    d.push(v(&[
        "XGROUP",
        "CREATE",
        "stream:big",
        "grp",
        "0",
        "ENTRIESREAD",
        "3",
    ]));
    d.push(v(&["XGROUP", "CREATE", "stream:big", "empty", "$"]));
    d.push(v(&["SELECT", "1"]));
    d.push(v(&["SET", "db1:key", "in db 1"]));
    d.push(v(&["SADD", "db1:set", "x"]));
    d.push(v(&["SELECT", "7"]));
    d.push(v(&["HSET", "db7:hash", "a", "b"]));
    d.push(v(&["SELECT", "0"]));
    d.push(v(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=rdblib\nredis.register_function('rdbfn', function(keys, args) return 'ok' end)",
    ]));
    d
}

/// Per-key description (db, key, type, TTL state, content) and encodings.
fn snapshot(c: &mut RawConn) -> (Vec<String>, Vec<String>) {
    let mut content = Vec::new();
    let mut enc = Vec::new();
    for db in 0..16 {
        c.cmd(&["SELECT", &db.to_string()]);
        let mut keys: Vec<String> = flatten(&c.cmd(&["KEYS", "*"]))
            .into_iter()
            .skip(1)
            .map(|k| {
                let s = String::from_utf8_lossy(&k).into_owned();
                s.split("\r\n").nth(1).unwrap_or("").to_string()
            })
            .collect();
        keys.sort();
        for k in keys {
            let t = c.cmd_str(&["TYPE", &k]);
            let pttl = c.cmd_int(&["PTTL", &k]);
            let ttl = if pttl > 0 { "ttl" } else { "persist" };
            let body = if t.contains("stream") {
                let mut b = c.cmd_str(&["XRANGE", &k, "-", "+"]);
                b.push_str(&c.cmd_str(&["XLEN", &k]));
                b
            } else {
                c.cmd_str(&["DEBUG", "DIGEST-VALUE", &k])
            };
            content.push(format!("{} {} {} {} {}", db, k, t.trim(), ttl, body));
            let e = c.cmd_str(&["OBJECT", "ENCODING", &k]);
            enc.push(format!("{} {} {}", db, k, e.trim()));
        }
    }
    c.cmd(&["SELECT", "0"]);
    content.push(c.cmd_str(&["FUNCTION", "LIST", "WITHCODE"]));
    (content, enc)
}

fn check_rdb(path: &Path) -> String {
    let out = Command::new("redis-check-rdb")
        .arg(path)
        .output()
        .expect("run redis-check-rdb");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("RDB looks OK"),
        "redis-check-rdb rejected {}:\n{}",
        path.display(),
        text
    );
    text
}

const DEBUG: &[&str] = &["--enable-debug-command", "yes"];

fn ferrokv(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--dir", s(dir)];
    args.extend_from_slice(DEBUG);
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn redis(dir: &Path) -> Server {
    let mut args = vec!["--dir", s(dir)];
    args.extend_from_slice(DEBUG);
    RealRedis::start_with(&args)
}

#[test]
fn ferrokv_rdb_loads_in_redis_with_same_contents_and_encodings() {
    let dir = tmpdir("f2r");
    let f = ferrokv(&dir, &[]);
    let mut fc = f.conn();
    pipeline(&mut fc, &dataset());
    assert_eq!(fc.cmd_str(&["SAVE"]), "+OK\r\n");
    let report = check_rdb(&dir.join("dump.rdb"));
    assert!(report.contains("Checksum OK"), "{}", report);
    // Compare against what ferrokv itself loads back from the file.
    assert_eq!(fc.cmd_str(&["DEBUG", "RELOAD"]), "+OK\r\n");
    let (f_content, f_enc) = snapshot(&mut fc);
    f.assert_no_panic();
    drop(fc);
    drop(f);

    let r = redis(&dir);
    let mut rc = r.conn();
    let (r_content, r_enc) = snapshot(&mut rc);
    assert_eq!(f_content, r_content);
    assert_eq!(f_enc, r_enc);
    assert!(f_enc.iter().any(|e| e.ends_with("hashtable")));
    assert!(f_enc.iter().any(|e| e.ends_with("skiplist")));
    assert!(f_enc.iter().any(|e| e.ends_with("intset")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_rdb_loads_in_ferrokv_with_same_contents_and_encodings() {
    let dir = tmpdir("r2f");
    let r = redis(&dir);
    let mut rc = r.conn();
    pipeline(&mut rc, &dataset());
    assert_eq!(rc.cmd_str(&["DEBUG", "RELOAD"]), "+OK\r\n");
    let (r_content, r_enc) = snapshot(&mut rc);
    drop(rc);
    drop(r);

    let f = ferrokv(&dir, &[]);
    assert!(
        f.log().contains("Done loading RDB, keys loaded: "),
        "{}",
        f.log()
    );
    assert!(f.log().contains("DB loaded from disk: "), "{}", f.log());
    let mut fc = f.conn();
    let (f_content, f_enc) = snapshot(&mut fc);
    assert_eq!(f_content, r_content);
    assert_eq!(f_enc, r_enc);
    f.assert_no_panic();
    let _ = std::fs::remove_dir_all(&dir);
}

/// DUMPs `k` on `from`, RESTOREs it on `to` and compares the values.
fn restore_copy(from: &mut RawConn, to: &mut RawConn, k: &str, stream: bool) {
    let p = flatten(&from.cmd(&["DUMP", k]));
    let payload = &p[0];
    // Strip "$len\r\n" and the trailing CRLF.
    let start = payload.iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
    let body = &payload[start..payload.len() - 2];
    let nk = format!("{}:restored", k);
    // Keep the TTL: DIGEST-VALUE marks keys that have one.
    let pttl = from.cmd_int(&["PTTL", k]).max(0).to_string();
    let got = to.cmd_bytes(&[b"RESTORE", nk.as_bytes(), pttl.as_bytes(), body]);
    common::assert_reply(&got, b"+OK\r\n");
    if stream {
        assert_eq!(
            to.cmd_str(&["XRANGE", &nk, "-", "+"]),
            from.cmd_str(&["XRANGE", k, "-", "+"])
        );
    } else {
        assert_eq!(
            to.cmd_str(&["DEBUG", "DIGEST-VALUE", &nk]),
            from.cmd_str(&["DEBUG", "DIGEST-VALUE", k]),
            "key {}",
            k
        );
    }
    to.cmd(&["DEL", &nk]);
}

#[test]
fn dump_payloads_are_identical_and_restore_works_both_ways() {
    let f = Server::start(DEBUG);
    let r = RealRedis::start_with(DEBUG);
    let mut fc = f.conn();
    let mut rc = r.conn();
    let data = dataset();
    pipeline(&mut fc, &data);
    pipeline(&mut rc, &data);
    // Keys whose encoding has a fixed layout (not a hash table).
    let fixed = [
        "str:int",
        "str:neg",
        "str:bigint",
        "str:emb",
        "str:num11",
        "str:raw",
        "str:lzf",
        "str:nocomp",
        "str:empty",
        "str:appended",
        "list:small",
        "list:big",
        "set:intset",
        "hash:lp",
        "zset:lp",
        "zset:sl",
        "ttl:str",
        "stream:nodel",
        "stream:s",
        "stream:empty",
        "stream:big",
    ];
    for k in fixed {
        let a = fc.cmd(&["DUMP", k]);
        let b = rc.cmd(&["DUMP", k]);
        common::assert_reply(&a, &b);
    }
    // Every key: RESTORE Redis's payload in ferrokv and ferrokv's in Redis.
    let (keys, _) = snapshot(&mut fc);
    for line in keys.iter().filter(|l| l.starts_with("0 ")) {
        let k = line.split(' ').nth(1).unwrap_or_default();
        restore_copy(&mut rc, &mut fc, k, line.contains("stream"));
        restore_copy(&mut fc, &mut rc, k, line.contains("stream"));
    }
    // Error replies match Redis's.
    let p = flatten(&fc.cmd(&["DUMP", "str:emb"]));
    let start = p[0].iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
    let good = p[0][start..p[0].len() - 2].to_vec();
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"RESTORE", b"str:emb", b"0", &good],
        vec![b"RESTORE", b"new", b"0", &bad],
        vec![b"RESTORE", b"new", b"-1", &good],
        vec![b"RESTORE", b"new", b"0", &good, b"FREQ", b"300"],
        vec![b"RESTORE", b"new", b"0", &good, b"IDLETIME", b"-1"],
        vec![b"RESTORE", b"new", b"0", &good, b"BOGUS"],
        vec![b"RESTORE", b"new", b"0", b"\x00\x01"],
        vec![b"RESTORE", b"str:emb", b"0", &good, b"REPLACE", b"ABSTTL"],
        vec![b"RESTORE", b"gone", b"1000", &good, b"ABSTTL"],
        vec![b"EXISTS", b"gone"],
        vec![b"RESTORE", b"withttl", b"100000", &good],
        vec![b"PTTL", b"withttl"],
    ];
    for case in &cases {
        let a = fc.cmd_bytes(case);
        let b = rc.cmd_bytes(case);
        if case[0] == b"PTTL" {
            assert!(a.starts_with(b":") && b.starts_with(b":"));
            continue;
        }
        common::assert_reply(&a, &b);
    }
    // IDLETIME sets the LRU clock back (no LFU policy here).
    for c in [&mut fc, &mut rc] {
        let r = c.cmd_bytes(&[b"RESTORE", b"idle", b"0", &good, b"IDLETIME", b"1000"]);
        common::assert_reply(&r, b"+OK\r\n");
        let idle = c.cmd_int(&["OBJECT", "IDLETIME", "idle"]);
        assert!((1000..=1002).contains(&idle), "{}", idle);
    }
    f.assert_no_panic();
}

fn info_field(c: &mut RawConn, section: &str, name: &str) -> String {
    let info = c.cmd_str(&["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{}:", name)).map(|x| x.to_string()))
        .unwrap_or_default()
}

#[test]
fn bgsave_writes_the_snapshot_of_fork_time() {
    let dir = tmpdir("bgsave");
    let f = ferrokv(&dir, &[]);
    let mut fc = f.conn();
    let mut cmds = Vec::new();
    for i in 0..2000 {
        cmds.push(v(&["SET", &format!("key:{}", i), &"v".repeat(50)]));
    }
    cmds.push(v(&["SET", "changed", "before"]));
    pipeline(&mut fc, &cmds);
    assert_eq!(fc.cmd_str(&["BGSAVE"]), "+Background saving started\r\n");
    // Writes while the child runs are not in the file.
    fc.cmd(&["SET", "changed", "after"]);
    fc.cmd(&["SET", "added-later", "x"]);
    fc.cmd(&["DEL", "key:0"]);
    assert!(common::poll_until(Duration::from_secs(20), || {
        info_field(&mut fc, "persistence", "rdb_bgsave_in_progress") == "0"
            && info_field(&mut fc, "persistence", "rdb_last_bgsave_status") == "ok"
            && f.log()
                .contains("Background saving terminated with success")
    }));
    assert!(f.log().contains("Background saving started by pid"));
    assert_eq!(info_field(&mut fc, "stats", "total_forks"), "1");
    // Three writes happened after the fork.
    assert_eq!(
        info_field(&mut fc, "persistence", "rdb_changes_since_last_save"),
        "3"
    );
    assert_eq!(fc.cmd_str(&["BGSAVE", "BOGUS"]), "-ERR syntax error\r\n");
    drop(fc);
    drop(f);
    check_rdb(&dir.join("dump.rdb"));
    let g = ferrokv(&dir, &[]);
    let mut gc = g.conn();
    assert_eq!(gc.cmd_int(&["DBSIZE"]), 2001);
    assert_eq!(gc.cmd_str(&["GET", "changed"]), "$6\r\nbefore\r\n");
    assert_eq!(gc.cmd_str(&["EXISTS", "key:0"]), ":1\r\n");
    assert_eq!(gc.cmd_str(&["EXISTS", "added-later"]), ":0\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_saves_and_restart_restores() {
    let dir = tmpdir("restart");
    let mut f = ferrokv(&dir, &["--save", "3600 1"]);
    let mut fc = f.conn();
    pipeline(&mut fc, &dataset());
    let (before, enc_before) = snapshot(&mut fc);
    fc.send(&[b"SHUTDOWN"]);
    assert!(common::poll_until(Duration::from_secs(20), || !f.is_running()));
    assert!(f.log().contains("DB saved on disk"), "{}", f.log());
    drop(fc);
    drop(f);

    let mut g = ferrokv(&dir, &["--save", "3600 1"]);
    let mut gc = g.conn();
    let (after, enc_after) = snapshot(&mut gc);
    assert_eq!(before, after);
    // APPEND made a raw string; loading re-encodes it as embstr.
    let norm = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .filter(|l| !l.contains("str:appended"))
            .collect()
    };
    assert_eq!(norm(enc_before), norm(enc_after));
    // SHUTDOWN NOSAVE leaves the file as it was.
    gc.cmd(&["SET", "unsaved", "1"]);
    gc.send(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(common::poll_until(Duration::from_secs(20), || !g.is_running()));
    drop(gc);
    drop(g);
    // SIGTERM with save points saves too.
    let mut h = ferrokv(&dir, &["--save", "3600 1"]);
    let mut hc = h.conn();
    assert_eq!(hc.cmd_str(&["EXISTS", "unsaved"]), ":0\r\n");
    assert_eq!(hc.cmd_str(&["GET", "str:emb"]), "$11\r\nhello world\r\n");
    hc.cmd(&["SET", "by-sigterm", "1"]);
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(h.pid() as i32, libc::SIGTERM) };
    assert!(common::poll_until(Duration::from_secs(20), || !h.is_running()));
    assert!(h.log().contains("Received SIGTERM scheduling shutdown..."));
    assert!(h
        .log()
        .contains("Saving the final RDB snapshot before exiting."));
    drop(hc);
    drop(h);
    let k = ferrokv(&dir, &[]);
    let mut kc = k.conn();
    assert_eq!(kc.cmd_str(&["GET", "by-sigterm"]), "$1\r\n1\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_point_triggers_background_save() {
    let dir = tmpdir("savepoint");
    let f = ferrokv(&dir, &["--save", "1 1"]);
    let mut fc = f.conn();
    fc.cmd(&["SET", "a", "1"]);
    assert!(common::poll_until(Duration::from_secs(20), || {
        f.log()
            .contains("Background saving terminated with success")
    }));
    assert!(f.log().contains("1 changes in 1 seconds. Saving..."));
    assert!(dir.join("dump.rdb").exists());
    let lastsave = fc.cmd_int(&["LASTSAVE"]);
    assert!(lastsave > 0);
}

#[test]
fn failed_bgsave_denies_writes_with_misconf() {
    let dir = tmpdir("misconf");
    let gone = dir.join("gone");
    std::fs::create_dir_all(&gone).expect("mkdir");
    let f = ferrokv(
        &dir,
        &["--save", "3600 1", "--enable-protected-configs", "yes"],
    );
    let mut fc = f.conn();
    fc.cmd(&["SET", "a", "1"]);
    assert_eq!(fc.cmd_str(&["CONFIG", "SET", "dir", s(&gone)]), "+OK\r\n");
    std::fs::remove_dir_all(&gone).expect("rmdir");
    assert_eq!(fc.cmd_str(&["BGSAVE"]), "+Background saving started\r\n");
    assert!(common::poll_until(Duration::from_secs(20), || {
        info_field(&mut fc, "persistence", "rdb_last_bgsave_status") == "err"
    }));
    let r = fc.cmd_str(&["SET", "b", "2"]);
    assert!(
        r.starts_with("-MISCONF Redis is configured to save RDB snapshots"),
        "{}",
        r
    );
    let r = fc.cmd_str(&["PING"]);
    assert!(r.starts_with("-MISCONF"), "{}", r);
    assert_eq!(fc.cmd_str(&["GET", "a"]), "$1\r\n1\r\n");
    // A script's write is refused too, with or without a shebang, but its
    // reads and PING are not (scriptVerifyWriteCommandAllow; the script's
    // own client once passed for the AOF client and wrote).
    let r = fc.cmd_str(&["EVAL", "return redis.call('set','b',1)", "1", "b"]);
    assert!(r.starts_with("-MISCONF"), "{}", r);
    let r = fc.cmd_str(&["EVAL", "#!lua\nreturn redis.call('set','b',1)", "1", "b"]);
    assert!(r.starts_with("-MISCONF"), "{}", r);
    let r = fc.cmd_str(&["EVAL", "return redis.pcall('incr','b')", "1", "b"]);
    assert!(r.starts_with("-MISCONF"), "{}", r);
    assert_eq!(fc.cmd_str(&["EXISTS", "b"]), ":0\r\n");
    assert_eq!(
        fc.cmd_str(&[
            "EVAL",
            "redis.call('get','a') return redis.call('ping')",
            "1",
            "a"
        ]),
        "+PONG\r\n"
    );
    assert_eq!(fc.cmd_str(&["SAVE"]), "-ERR\r\n");
    assert_eq!(
        fc.cmd_str(&["SHUTDOWN"]),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert!(f.log().contains("Background saving error"));
    assert!(f.log().contains("Error trying to save the DB, can't exit."));
    assert_eq!(
        fc.cmd_str(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]),
        "+OK\r\n"
    );
    assert_eq!(fc.cmd_str(&["SET", "b", "2"]), "+OK\r\n");
    f.assert_no_panic();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_rdb_at_startup_exits_with_status_1() {
    let dir = tmpdir("corrupt");
    let f = ferrokv(&dir, &[]);
    let mut fc = f.conn();
    pipeline(&mut fc, &dataset());
    fc.cmd(&["SAVE"]);
    drop(fc);
    drop(f);
    let good = std::fs::read(dir.join("dump.rdb")).expect("read dump");
    let bin = env!("CARGO_BIN_EXE_ferrokv-server");
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    for bad in [
        good[..good.len() / 3].to_vec(),
        flipped,
        b"REDIS0099".to_vec(),
    ] {
        std::fs::write(dir.join("dump.rdb"), &bad).expect("write");
        let out = Command::new(bin)
            .args([
                "--port",
                &common::free_port().to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                s(&dir),
                "--save",
                "",
            ])
            .output()
            .expect("run ferrokv");
        let log = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(1), "{}", log);
        assert!(!log.contains("panicked"), "{}", log);
        assert!(!log.contains("Ready to accept"), "{}", log);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- files with the older encodings Redis 7.0 still loads ----------------

use ferrokv::persist::rdb::{save_len, save_raw_string, CRC64};

fn rstr(b: &mut Vec<u8>, s: &[u8]) {
    save_raw_string(b, s, false);
}

/// A ziplist of strings (`Err`) and integers (`Ok`).
fn ziplist(entries: &[Result<i64, &[u8]>]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10;
    for e in entries {
        let start = body.len();
        tail = 10 + start;
        body.push(prev as u8);
        match e {
            Ok(v) if (0..=12).contains(v) => body.push(0xf1 + *v as u8),
            Ok(v) if i16::try_from(*v).is_ok() => {
                body.push(0xc0);
                body.extend_from_slice(&(*v as i16).to_le_bytes());
            }
            Ok(v) => {
                body.push(0xe0);
                body.extend_from_slice(&v.to_le_bytes());
            }
            Err(s) => {
                body.push(s.len() as u8);
                body.extend_from_slice(s);
            }
        }
        prev = body.len() - start;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&((body.len() + 11) as u32).to_le_bytes());
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xff);
    out
}

/// A stream node listpack: master entry (fields f,g) and entries.
fn stream_node(entries: &[(u64, u64, &[u8], &[u8])]) -> Vec<u8> {
    use ferrokv::ds::listpack::Listpack;
    let mut lp = Listpack::new();
    lp.append_int(entries.len() as i64);
    lp.append_int(0);
    lp.append_int(2);
    lp.append(b"f");
    lp.append(b"g");
    lp.append_int(0);
    let (m_ms, m_seq) = (entries[0].0, entries[0].1);
    for (ms, seq, f, g) in entries {
        lp.append_int(2);
        lp.append_int((ms - m_ms) as i64);
        lp.append_int((seq - m_seq) as i64);
        lp.append(f);
        lp.append(g);
        lp.append_int(5);
    }
    lp.as_bytes().to_vec()
}

fn stream_key(b: &mut Vec<u8>, ms: u64, seq: u64) {
    let mut k = ms.to_be_bytes().to_vec();
    k.extend_from_slice(&seq.to_be_bytes());
    rstr(b, &k);
}

/// An RDB with one key of every legacy type, old opcodes and a stream
/// with a consumer group.
fn legacy_rdb() -> Vec<u8> {
    let mut b = b"REDIS0010".to_vec();
    b.push(250);
    rstr(&mut b, b"redis-ver");
    rstr(&mut b, b"6.0.0");
    b.push(254);
    save_len(&mut b, 0);
    // LIST (1)
    b.push(1);
    rstr(&mut b, b"legacy:list");
    save_len(&mut b, 4);
    for e in [&b"a"[..], b"b", b"1", b"200000"] {
        rstr(&mut b, e);
    }
    // SET (2): all integers, then strings
    b.push(2);
    rstr(&mut b, b"legacy:intset");
    save_len(&mut b, 3);
    for e in [&b"3"[..], b"1", b"2"] {
        rstr(&mut b, e);
    }
    b.push(2);
    rstr(&mut b, b"legacy:set");
    save_len(&mut b, 2);
    for e in [&b"x"[..], b"y"] {
        rstr(&mut b, e);
    }
    // ZSET (3) with text scores, EXPIRETIME in seconds before it
    b.push(253);
    b.extend_from_slice(&(2_000_000_000i32).to_le_bytes());
    b.push(3);
    rstr(&mut b, b"legacy:zset");
    save_len(&mut b, 3);
    rstr(&mut b, b"a");
    b.push(3);
    b.extend_from_slice(b"1.5");
    rstr(&mut b, b"b");
    b.push(254);
    rstr(&mut b, b"c");
    b.push(255);
    // HASH (4) with IDLE before it
    b.push(248);
    save_len(&mut b, 100);
    b.push(4);
    rstr(&mut b, b"legacy:hash");
    save_len(&mut b, 2);
    for e in [&b"f1"[..], b"v1", b"f2", b"22"] {
        rstr(&mut b, e);
    }
    // ZSET_2 (5) with FREQ before it
    b.push(249);
    b.push(7);
    b.push(5);
    rstr(&mut b, b"legacy:zset2");
    save_len(&mut b, 2);
    rstr(&mut b, b"m2");
    b.extend_from_slice(&2.0f64.to_le_bytes());
    rstr(&mut b, b"m1");
    b.extend_from_slice(&(-1.5f64).to_le_bytes());
    // HASH_ZIPMAP (9)
    b.push(9);
    rstr(&mut b, b"legacy:zipmap");
    rstr(
        &mut b,
        &[
            2u8, 1, b'a', 1, 0, b'1', 2, b'b', b'b', 3, 2, b'x', b'y', b'z', 0, 0, 0xff,
        ],
    );
    // LIST_ZIPLIST (10)
    b.push(10);
    rstr(&mut b, b"legacy:ziplist");
    rstr(
        &mut b,
        &ziplist(&[Err(b"hello"), Ok(7), Ok(-123456789012), Err(b""), Ok(-300)]),
    );
    // SET_INTSET (11)
    b.push(11);
    rstr(&mut b, b"legacy:intset2");
    let mut is = vec![2, 0, 0, 0, 3, 0, 0, 0];
    for v in [-5i16, 0, 9] {
        is.extend_from_slice(&v.to_le_bytes());
    }
    rstr(&mut b, &is);
    // ZSET_ZIPLIST (12)
    b.push(12);
    rstr(&mut b, b"legacy:zsetzl");
    rstr(
        &mut b,
        &ziplist(&[Err(b"m1"), Ok(1), Err(b"m2"), Err(b"2.5")]),
    );
    // HASH_ZIPLIST (13)
    b.push(13);
    rstr(&mut b, b"legacy:hashzl");
    rstr(
        &mut b,
        &ziplist(&[Err(b"f1"), Err(b"v1"), Err(b"f2"), Ok(2)]),
    );
    // LIST_QUICKLIST (14): two ziplist nodes
    b.push(14);
    rstr(&mut b, b"legacy:quicklist");
    save_len(&mut b, 2);
    rstr(&mut b, &ziplist(&[Err(b"n1"), Ok(1)]));
    rstr(&mut b, &ziplist(&[Err(b"n2"), Ok(5000)]));
    // STREAM_LISTPACKS (15), no 7.0 metadata
    b.push(15);
    rstr(&mut b, b"legacy:stream");
    save_len(&mut b, 1);
    stream_key(&mut b, 5, 0);
    rstr(
        &mut b,
        &stream_node(&[(5, 0, b"1", b"2"), (6, 1, b"3", b"4")]),
    );
    save_len(&mut b, 2);
    save_len(&mut b, 6);
    save_len(&mut b, 1);
    save_len(&mut b, 0);
    // STREAM_LISTPACKS_2 (19) with a consumer group, a PEL entry and a consumer
    b.push(19);
    rstr(&mut b, b"stream:cg");
    save_len(&mut b, 1);
    stream_key(&mut b, 10, 0);
    rstr(
        &mut b,
        &stream_node(&[(10, 0, b"a", b"b"), (11, 0, b"c", b"d")]),
    );
    save_len(&mut b, 2);
    save_len(&mut b, 11);
    save_len(&mut b, 0);
    save_len(&mut b, 10);
    save_len(&mut b, 0);
    save_len(&mut b, 0);
    save_len(&mut b, 0);
    save_len(&mut b, 2);
    save_len(&mut b, 1); // groups
    rstr(&mut b, b"grp");
    save_len(&mut b, 10);
    save_len(&mut b, 0);
    save_len(&mut b, 1); // entries_read
    save_len(&mut b, 1); // PEL
    let mut id = 10u64.to_be_bytes().to_vec();
    id.extend_from_slice(&0u64.to_be_bytes());
    b.extend_from_slice(&id);
    b.extend_from_slice(&1_700_000_000_000i64.to_le_bytes());
    save_len(&mut b, 1);
    save_len(&mut b, 1); // consumers
    rstr(&mut b, b"alice");
    b.extend_from_slice(&1_700_000_000_000i64.to_le_bytes());
    save_len(&mut b, 1);
    b.extend_from_slice(&id);
    b.push(255);
    let crc = CRC64.checksum(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

#[test]
fn legacy_encodings_load_like_redis() {
    let file = legacy_rdb();
    for (tag, extra) in [
        ("legacy-default", vec![]),
        (
            "legacy-small",
            vec![
                "--hash-max-listpack-entries",
                "1",
                "--zset-max-listpack-entries",
                "1",
                "--set-max-intset-entries",
                "1",
                "--list-max-listpack-size",
                "2",
            ],
        ),
    ] {
        let rdir = tmpdir(&format!("{}-r", tag));
        let fdir = tmpdir(&format!("{}-f", tag));
        std::fs::write(rdir.join("dump.rdb"), &file).expect("write");
        std::fs::write(fdir.join("dump.rdb"), &file).expect("write");
        check_rdb(&rdir.join("dump.rdb"));
        let mut rargs = vec!["--dir", s(&rdir)];
        rargs.extend_from_slice(DEBUG);
        rargs.extend_from_slice(&extra);
        let r = RealRedis::start_with(&rargs);
        let f = ferrokv(&fdir, &extra);
        let (rs, re) = snapshot(&mut r.conn());
        let (fs, fe) = snapshot(&mut f.conn());
        assert_eq!(fs, rs, "{}", tag);
        assert_eq!(fe, re, "{}", tag);
        assert_eq!(fs.len(), 15, "{:?}", fs);
        assert!(f.log().contains("Loading RDB produced by version 6.0.0"));
        f.assert_no_panic();
        let _ = std::fs::remove_dir_all(&rdir);
        let _ = std::fs::remove_dir_all(&fdir);
    }
}

#[test]
fn encoding_conversions_on_load_match_redis() {
    let src = tmpdir("conv-src");
    let f = ferrokv(&src, &["--maxmemory-policy", "allkeys-lru"]);
    let mut fc = f.conn();
    pipeline(&mut fc, &dataset());
    assert_eq!(fc.cmd_str(&["SAVE"]), "+OK\r\n");
    drop(fc);
    drop(f);
    // Saved with an LRU policy: IDLE opcodes are in the file.
    let report = check_rdb(&src.join("dump.rdb"));
    assert!(report.contains("Checksum OK"));
    let file = std::fs::read(src.join("dump.rdb")).expect("read");
    let small = [
        "--hash-max-listpack-entries",
        "4",
        "--hash-max-listpack-value",
        "1",
        "--zset-max-listpack-entries",
        "3",
        "--zset-max-listpack-value",
        "2",
        "--set-max-intset-entries",
        "4",
        "--list-max-listpack-size",
        "3",
    ];
    let rdir = tmpdir("conv-r");
    let fdir = tmpdir("conv-f");
    std::fs::write(rdir.join("dump.rdb"), &file).expect("write");
    std::fs::write(fdir.join("dump.rdb"), &file).expect("write");
    let mut rargs = vec!["--dir", s(&rdir)];
    rargs.extend_from_slice(DEBUG);
    rargs.extend_from_slice(&small);
    let r = RealRedis::start_with(&rargs);
    let f = ferrokv(&fdir, &small);
    let (rs, re) = snapshot(&mut r.conn());
    let (fs, fe) = snapshot(&mut f.conn());
    assert_eq!(fs, rs);
    assert_eq!(fe, re);
    f.assert_no_panic();
    for d in [src, rdir, fdir] {
        let _ = std::fs::remove_dir_all(&d);
    }
}

#[test]
fn dump_matches_redis_for_tricky_and_random_strings() {
    use rand::{Rng, SeedableRng};
    let f = Server::start(&[]);
    let r = RealRedis::start();
    let mut fc = f.conn();
    let mut rc = r.conn();
    let mut values: Vec<Vec<u8>> = [
        "0",
        "-0",
        "00",
        "+1",
        " 1",
        "1 ",
        "127",
        "128",
        "-128",
        "-129",
        "32767",
        "32768",
        "-32768",
        "-32769",
        "2147483647",
        "2147483648",
        "-2147483648",
        "-2147483649",
        "99999999999",
        "-9999999999",
        "123456789012",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "123456789012345678901",
        "1e5",
        "0x10",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    // Compressible strings of many shapes exercise LZF's match choices.
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    for i in 0..400 {
        let len = rng.gen_range(15..1500);
        let alphabet = rng.gen_range(1..=255u32);
        let runs = i % 3 == 0;
        let mut v = Vec::with_capacity(len);
        while v.len() < len {
            let b = rng.gen_range(0..alphabet) as u8;
            let n = if runs { rng.gen_range(1..20) } else { 1 };
            v.extend(std::iter::repeat_n(b, n));
        }
        v.truncate(len);
        if i % 5 == 0 {
            // Repeat an earlier slice at a distance (back references).
            let cut = len / 3;
            let head = v[..cut].to_vec();
            v.extend_from_slice(&head);
        }
        values.push(v);
    }
    for (i, val) in values.iter().enumerate() {
        let k = format!("k{}", i);
        for c in [&mut fc, &mut rc] {
            c.cmd_bytes(&[b"SET", k.as_bytes(), val]);
            c.cmd_bytes(&[b"RPUSH", b"l", val]);
            c.cmd_bytes(&[b"HSET", b"h", k.as_bytes(), val]);
        }
        let a = fc.cmd(&["DUMP", &k]);
        let b = rc.cmd(&["DUMP", &k]);
        common::assert_reply(&a, &b);
    }
    common::assert_reply(&fc.cmd(&["DUMP", "l"]), &rc.cmd(&["DUMP", "l"]));
    f.assert_no_panic();
}

/// rdb_changes_since_last_save around FLUSHALL (unit/other "FLUSHALL should
/// reset the dirty counter to 0 if we enable save"): with save points the
/// synchronous save leaves 0; without, the flushed keys count. Compared
/// with redis-server.
#[test]
fn flushall_dirty_counter_matches_redis() {
    let ours = Server::start(&[]);
    let theirs = RealRedis::start();
    let changes = |c: &mut RawConn| -> String {
        let info = c.cmd_str(&["INFO", "persistence"]);
        info.lines()
            .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
            .unwrap_or("?")
            .to_string()
    };
    let mut seen = Vec::new();
    for c in [&mut ours.conn(), &mut theirs.conn()] {
        let mut got = Vec::new();
        c.cmd(&["CONFIG", "SET", "save", ""]);
        c.cmd(&["SET", "a", "1"]);
        c.cmd(&["SET", "b", "1"]);
        c.cmd(&["FLUSHALL"]);
        got.push(changes(c));
        c.cmd(&["FLUSHALL"]);
        got.push(changes(c));
        c.cmd(&["CONFIG", "SET", "save", "3600 1 300 100 60 10000"]);
        c.cmd(&["SET", "key", "value"]);
        c.cmd(&["FLUSHALL"]);
        got.push(changes(c));
        c.cmd(&["CONFIG", "SET", "save", ""]);
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0][2], "0");
}
