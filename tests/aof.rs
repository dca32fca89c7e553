//! Append-only file: data written with appendonly yes survives kill -9 and
//! restart, `redis-check-aof` accepts the directory, real redis-server 7.0
//! loads what ferrokv wrote and vice versa, BGREWRITEAOF under writes,
//! truncated tails, CONFIG SET appendonly yes at runtime, pre-7.0 single
//! file migration.

use crate::common;

use common::{flatten, poll_until, RawConn, RealRedis, Server};

/// The leaf values of a reply (bulk/simple/integer contents; nil as
/// "(nil)"), without framing.
fn leaves(reply: &[u8]) -> Vec<Vec<u8>> {
    flatten(reply)
        .into_iter()
        .filter_map(|f| match f.first() {
            Some(b'*') | Some(b'~') | Some(b'%') | Some(b'>') => None,
            Some(b'$') => {
                let nl = f.iter().position(|&b| b == b'\n').unwrap_or(0);
                if f.starts_with(b"$-1") {
                    Some(b"(nil)".to_vec())
                } else {
                    Some(f[nl + 1..f.len() - 2].to_vec())
                }
            }
            Some(b'_') => Some(b"(nil)".to_vec()),
            Some(_) => Some(f[1..f.len() - 2].to_vec()),
            None => None,
        })
        .collect()
}

/// One reply as a string (a bulk's contents, a status, an integer).
fn val(c: &mut RawConn, args: &[&str]) -> String {
    leaves(&c.cmd(args))
        .into_iter()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(20);

fn start(dir: &Path, extra: &[&str]) -> Server {
    let d = dir.to_str().expect("utf8 dir");
    let mut args = vec!["--dir", d, "--appendonly", "yes"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn start_redis(dir: &Path, extra: &[&str]) -> Server {
    let d = dir.to_str().expect("utf8 dir");
    let mut args = vec!["--dir", d, "--appendonly", "yes"];
    args.extend_from_slice(extra);
    RealRedis::start_with(&args)
}

/// Waits until the server has loaded its data (no -LOADING replies).
fn conn_loaded(srv: &Server) -> RawConn {
    let mut c = srv.conn();
    assert!(
        poll_until(DEADLINE, || c.cmd(&["PING"]).starts_with(b"+PONG")),
        "server still loading"
    );
    c
}

fn ok(c: &mut RawConn, args: &[&str]) {
    let r = c.cmd(args);
    assert!(
        !r.starts_with(b"-"),
        "{:?} failed: {}",
        args,
        String::from_utf8_lossy(&r)
    );
}

fn info_field(c: &mut RawConn, name: &str) -> String {
    let info = c.cmd_str(&["INFO", "persistence"]);
    for line in info.lines() {
        if let Some(v) = line.strip_prefix(&format!("{}:", name)) {
            return v.trim().to_string();
        }
    }
    String::new()
}

/// Waits until no AOF rewrite is running or scheduled.
fn wait_rewrite_done(c: &mut RawConn) {
    assert!(
        poll_until(DEADLINE, || {
            info_field(c, "aof_rewrite_in_progress") == "0"
                && info_field(c, "aof_rewrite_scheduled") == "0"
        }),
        "AOF rewrite did not finish"
    );
}

/// Everything in dbs 0..4: per key its type, value and absolute expiry.
///
/// First waits until the AOF buffer is written: with appendfsync everysec
/// Redis (and ferrokv) may postpone a write while a background fsync runs,
/// and the tests kill the server right after taking the snapshot.
fn snapshot(c: &mut RawConn) -> Vec<String> {
    assert!(
        poll_until(DEADLINE, || {
            let n = info_field(c, "aof_buffer_length");
            n.is_empty() || n == "0"
        }),
        "AOF buffer never written"
    );
    let mut out = Vec::new();
    for db in 0..4 {
        ok(c, &["SELECT", &db.to_string()]);
        let mut keys = leaves(&c.cmd(&["KEYS", "*"]));
        keys.sort();
        for k in keys {
            let key = String::from_utf8_lossy(&k).into_owned();
            let t = val(c, &["TYPE", &key]);
            let vals: Vec<Vec<u8>> = match t.as_str() {
                "string" => leaves(&c.cmd(&["GET", &key])),
                "list" => leaves(&c.cmd(&["LRANGE", &key, "0", "-1"])),
                "zset" => leaves(&c.cmd(&["ZRANGE", &key, "0", "-1", "WITHSCORES"])),
                "stream" => leaves(&c.cmd(&["XRANGE", &key, "-", "+"])),
                "hash" => {
                    let v = leaves(&c.cmd(&["HGETALL", &key]));
                    let mut pairs: Vec<Vec<u8>> = v
                        .chunks(2)
                        .map(|p| [p[0].as_slice(), b"=", p[1].as_slice()].concat())
                        .collect();
                    pairs.sort();
                    pairs
                }
                "set" => {
                    let mut v = leaves(&c.cmd(&["SMEMBERS", &key]));
                    v.sort();
                    v
                }
                other => vec![other.as_bytes().to_vec()],
            };
            let exp = val(c, &["PEXPIRETIME", &key]);
            out.push(format!(
                "db{} {} {} {:?} exp={}",
                db,
                key,
                t,
                vals.iter()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .collect::<Vec<_>>(),
                exp
            ));
        }
    }
    ok(c, &["SELECT", "0"]);
    out
}

/// A mixed workload: every type, TTLs, MULTI/EXEC, scripts, several dbs
/// and a FLUSHALL that must wipe what came before it.
fn workload(c: &mut RawConn) {
    ok(c, &["SET", "gone", "x"]);
    ok(c, &["SELECT", "2"]);
    ok(c, &["SET", "gone2", "x"]);
    ok(c, &["FLUSHALL"]);
    ok(c, &["SELECT", "0"]);
    ok(c, &["SET", "s1", "hello"]);
    ok(c, &["SET", "n", "41"]);
    ok(c, &["INCR", "n"]);
    ok(c, &["INCRBYFLOAT", "f", "1.5"]);
    ok(c, &["APPEND", "s1", " world"]);
    ok(c, &["SET", "ttl1", "v", "EX", "1000"]);
    ok(c, &["SET", "ttl2", "v"]);
    ok(c, &["PEXPIRE", "ttl2", "5000000"]);
    ok(c, &["SETEX", "ttl3", "3000", "v"]);
    ok(c, &["RPUSH", "l", "a", "b", "c", "d"]);
    ok(c, &["LPUSH", "l", "z"]);
    ok(c, &["LPOP", "l"]);
    ok(c, &["RPOPLPUSH", "l", "l2"]);
    ok(c, &["HSET", "h", "f1", "v1", "f2", "v2", "f3", "3"]);
    ok(c, &["HDEL", "h", "f2"]);
    ok(c, &["HINCRBY", "h", "f3", "4"]);
    ok(c, &["SADD", "set", "a", "b", "c", "1", "2"]);
    ok(c, &["SREM", "set", "b"]);
    ok(c, &["SADD", "iset", "1", "2", "3"]);
    ok(
        c,
        &["ZADD", "z", "1", "a", "2.5", "b", "-3", "c", "inf", "d"],
    );
    ok(c, &["ZINCRBY", "z", "10", "a"]);
    ok(c, &["XADD", "st", "1-1", "f", "v"]);
    ok(c, &["XADD", "st", "*", "g", "w"]);
    let big: Vec<String> = (0..150).map(|i| format!("m{}", i)).collect();
    let mut cmd = vec!["RPUSH", "biglist"];
    cmd.extend(big.iter().map(|s| s.as_str()));
    ok(c, &cmd);
    cmd[0] = "SADD";
    cmd[1] = "bigset";
    ok(c, &cmd);
    ok(c, &["MULTI"]);
    ok(c, &["SET", "m1", "1"]);
    ok(c, &["INCR", "m1"]);
    ok(c, &["RPUSH", "ml", "x"]);
    let r = c.cmd(&["EXEC"]);
    assert!(r.starts_with(b"*3"), "{}", String::from_utf8_lossy(&r));
    ok(
        c,
        &[
            "EVAL",
            "redis.call('set', KEYS[1], ARGV[1]); redis.call('rpush', KEYS[2], ARGV[1]); return 1",
            "2",
            "sc1",
            "sc2",
            "val",
        ],
    );
    ok(c, &["SELECT", "1"]);
    ok(c, &["SET", "db1key", "one"]);
    ok(c, &["HSET", "db1h", "a", "b"]);
    ok(c, &["SELECT", "3"]);
    ok(c, &["SET", "db3key", "three", "PX", "9000000"]);
    ok(c, &["DEL", "nothing"]);
    ok(c, &["SELECT", "0"]);
    ok(c, &["DEL", "ttl3"]);
    ok(c, &["SET", "ttl3", "again"]);
}

fn check_aof(dir: &Path) {
    let manifest = dir.join("appendonlydir").join("appendonly.aof.manifest");
    let out = Command::new("redis-check-aof")
        .arg(&manifest)
        .output()
        .expect("run redis-check-aof");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("All AOF files and manifest are valid"),
        "redis-check-aof failed: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn manifest_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("appendonlydir").join("appendonly.aof.manifest"))
        .unwrap_or_default()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        TempDir(common::temp_dir(tag))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn kill9_restart_keeps_data_and_redis_loads_it() {
    kill9_roundtrip("no");
}

#[test]
fn kill9_restart_with_rdb_preamble() {
    kill9_roundtrip("yes");
}

fn kill9_roundtrip(preamble: &str) {
    let dir = TempDir::new("aof-kill");
    let opts = ["--aof-use-rdb-preamble", preamble];
    let want = {
        let srv = start(&dir.0, &opts);
        let mut c = conn_loaded(&srv);
        workload(&mut c);
        let snap = snapshot(&mut c);
        assert!(snap.len() > 20, "{:?}", snap);
        assert!(!snap.iter().any(|l| l.contains(" gone")), "{:?}", snap);
        snap
        // dropped: SIGKILL
    };
    let m = manifest_text(&dir.0);
    let ext = if preamble == "yes" { "rdb" } else { "aof" };
    assert_eq!(
        m,
        format!(
            "file appendonly.aof.1.base.{} seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
            ext
        )
    );
    {
        let srv = start(
            &dir.0,
            &[
                "--aof-use-rdb-preamble",
                preamble,
                "--enable-debug-command",
                "yes",
            ],
        );
        let mut c = conn_loaded(&srv);
        assert_eq!(snapshot(&mut c), want);
        assert!(srv.log().contains("DB loaded from append only file"));
        // Replayed commands are not counted as calls.
        let stats = c.cmd_str(&["INFO", "commandstats"]);
        assert!(!stats.contains("cmdstat_rpush"), "{}", stats);
        // DEBUG LOADAOF reloads the same data.
        ok(&mut c, &["SET", "extra", "1"]);
        ok(&mut c, &["DEBUG", "LOADAOF"]);
        assert_eq!(val(&mut c, &["GET", "extra"]), "1");
        ok(&mut c, &["DEL", "extra"]);
        assert_eq!(snapshot(&mut c), want);
        // A rewrite puts everything in the base; restart once more.
        ok(&mut c, &["BGREWRITEAOF"]);
        wait_rewrite_done(&mut c);
        assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
        srv.assert_no_panic();
    }
    {
        let srv = start(&dir.0, &opts);
        let mut c = conn_loaded(&srv);
        assert_eq!(snapshot(&mut c), want);
        if preamble == "yes" {
            assert!(srv
                .log()
                .contains("Reading RDB base file on AOF loading..."));
            assert!(srv.log().contains("Done loading RDB, keys loaded: "));
        }
    }
    check_aof(&dir.0);
    {
        let srv = start_redis(&dir.0, &opts);
        let mut c = conn_loaded(&srv);
        assert_eq!(snapshot(&mut c), want);
    }
}

#[test]
fn ferrokv_loads_redis_aof() {
    loads_redis_aof("no");
}

#[test]
fn ferrokv_loads_redis_aof_with_rdb_preamble() {
    loads_redis_aof("yes");
}

fn loads_redis_aof(preamble: &str) {
    let dir = TempDir::new("aof-from-redis");
    let opts = ["--aof-use-rdb-preamble", preamble];
    let want = {
        let srv = start_redis(&dir.0, &opts);
        let mut c = conn_loaded(&srv);
        workload(&mut c);
        // A rewrite too, so there is a command base with data.
        ok(&mut c, &["BGREWRITEAOF"]);
        wait_rewrite_done(&mut c);
        ok(&mut c, &["SET", "after-rewrite", "1"]);
        ok(&mut c, &["RPUSH", "l", "tail"]);
        snapshot(&mut c)
    };
    let srv = start(&dir.0, &opts);
    let mut c = conn_loaded(&srv);
    assert_eq!(snapshot(&mut c), want);
    srv.assert_no_panic();
}

#[test]
fn bgrewriteaof_under_writes_loses_nothing() {
    let dir = TempDir::new("aof-rewrite");
    let opts = ["--aof-use-rdb-preamble", "no"];
    let want = {
        let srv = start(&dir.0, &opts);
        let mut c = conn_loaded(&srv);
        workload(&mut c);
        let port = srv.port();
        let writer = std::thread::spawn(move || {
            let mut w = RawConn::connect(port);
            for i in 0..600 {
                let r = w.cmd(&["RPUSH", "w", &i.to_string()]);
                assert!(r.starts_with(b":"), "{}", String::from_utf8_lossy(&r));
                w.cmd(&["INCR", "counter"]);
                if i % 50 == 0 {
                    w.cmd(&["SELECT", &((i / 50) % 4).to_string()]);
                }
            }
        });
        let end = Instant::now() + DEADLINE;
        let mut started = 0;
        while started < 3 && Instant::now() < end {
            let r = val(&mut c, &["BGREWRITEAOF"]);
            if r == "Background append only file rewriting started" {
                started += 1;
                wait_rewrite_done(&mut c);
            } else {
                assert!(
                    r.contains("already in progress") || r.contains("scheduled"),
                    "{}",
                    r
                );
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        writer.join().expect("writer");
        wait_rewrite_done(&mut c);
        assert!(
            info_field(&mut c, "aof_rewrites")
                .parse::<u64>()
                .unwrap_or(0)
                >= 3
        );
        assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
        snapshot(&mut c)
    };
    let m = manifest_text(&dir.0);
    assert!(!m.contains(".1.base.aof"), "old base still listed: {}", m);
    assert!(!m.contains(" type h"), "history left: {}", m);
    check_aof(&dir.0);
    let srv = start(&dir.0, &opts);
    let mut c = conn_loaded(&srv);
    let got = snapshot(&mut c);
    assert_eq!(got, want);
    // The writer's INCRs are spread over dbs 0..3: 600 in total.
    let total: i64 = got
        .iter()
        .filter_map(|l| l.split(" counter string [\"").nth(1))
        .filter_map(|r| r.split('"').next())
        .filter_map(|n| n.parse::<i64>().ok())
        .sum();
    assert_eq!(total, 600, "{:?}", got);
    srv.assert_no_panic();
}

/// Adds a partial command to the last INCR file.
fn truncate_tail(dir: &Path) {
    let m = manifest_text(dir);
    let last = m
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .and_then(|l| l.split(' ').nth(1))
        .expect("an incr file")
        .to_string();
    let p = dir.join("appendonlydir").join(last);
    let mut data = std::fs::read(&p).expect("read incr");
    data.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$3\r\nbad\r\n$5\r\nval");
    std::fs::write(&p, data).expect("write incr");
}

#[test]
fn truncated_tail() {
    let dir = TempDir::new("aof-trunc");
    let opts = ["--aof-use-rdb-preamble", "no"];
    let want = {
        let srv = start(&dir.0, &opts);
        let mut c = conn_loaded(&srv);
        ok(&mut c, &["SET", "a", "1"]);
        ok(&mut c, &["RPUSH", "l", "x", "y"]);
        snapshot(&mut c)
    };
    truncate_tail(&dir.0);
    // aof-load-truncated no: refuses to start.
    let log_path = dir.0.join("refused.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--port", "0", "--save", "", "--logfile", ""])
        .arg("--unixsocket")
        .arg(dir.0.join("s.sock"))
        .arg("--dir")
        .arg(&dir.0)
        .args(["--appendonly", "yes", "--aof-load-truncated", "no"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file))
        .spawn()
        .expect("run ferrokv");
    let mut status = None;
    poll_until(DEADLINE, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
    }
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.is_some_and(|s| !s.success()), "{}", log);
    assert!(
        log.contains("Unexpected end of file reading the append only file"),
        "{}",
        log
    );
    // aof-load-truncated yes (default): loads, truncates, keeps going.
    let srv = start(&dir.0, &opts);
    let mut c = conn_loaded(&srv);
    assert_eq!(snapshot(&mut c), want);
    let log = srv.log();
    assert!(log.contains("!!! Warning: short read while loading the AOF file"));
    assert!(log.contains("loaded anyway because aof-load-truncated is enabled"));
    ok(&mut c, &["SET", "b", "2"]);
    drop(c);
    drop(srv);
    check_aof(&dir.0);
    let srv = start(&dir.0, &opts);
    let mut c = conn_loaded(&srv);
    assert_eq!(val(&mut c, &["GET", "b"]), "2");
    assert_eq!(val(&mut c, &["DBSIZE"]), "3");
}

/// A transaction left open at the end of the AOF (MULTI and a command, no
/// EXEC) is cut off from its MULTI on (MULTI is a table fact for the
/// loader, as Redis compares the command with multiCommand).
#[test]
fn open_multi_at_the_tail_is_reverted() {
    let dir = TempDir::new("aof-open-multi");
    let opts = ["--aof-use-rdb-preamble", "no"];
    {
        let srv = start(&dir.0, &opts);
        let mut c = conn_loaded(&srv);
        ok(&mut c, &["SET", "a", "1"]);
    }
    let m = manifest_text(&dir.0);
    let last = m
        .lines()
        .rfind(|l| l.ends_with("type i"))
        .and_then(|l| l.split(' ').nth(1))
        .expect("an incr file")
        .to_string();
    let p = dir.0.join("appendonlydir").join(last);
    let mut data = std::fs::read(&p).expect("read incr");
    let valid = data.len();
    data.extend_from_slice(b"*1\r\n$5\r\nmulti\r\n*3\r\n$3\r\nSET\r\n$2\r\nin\r\n$1\r\n1\r\n");
    std::fs::write(&p, data).expect("write incr");
    let srv = start(&dir.0, &opts);
    let mut c = conn_loaded(&srv);
    assert_eq!(val(&mut c, &["GET", "a"]), "1");
    assert_eq!(val(&mut c, &["EXISTS", "in"]), "0");
    assert!(srv
        .log()
        .contains("Revert incomplete MULTI/EXEC transaction in AOF file"));
    assert_eq!(std::fs::read(&p).expect("read incr").len(), valid);
}

#[test]
fn config_set_appendonly_at_runtime() {
    let dir = TempDir::new("aof-runtime");
    let d = dir.0.to_str().expect("utf8");
    let want = {
        let srv = Server::start(&["--dir", d, "--aof-use-rdb-preamble", "no"]);
        let mut c = conn_loaded(&srv);
        ok(&mut c, &["SET", "before", "1"]);
        ok(&mut c, &["HSET", "h", "a", "1"]);
        ok(&mut c, &["SELECT", "1"]);
        ok(&mut c, &["SADD", "s", "x"]);
        ok(&mut c, &["SELECT", "0"]);
        assert_eq!(info_field(&mut c, "aof_enabled"), "0");
        ok(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
        ok(&mut c, &["SET", "during", "2"]);
        wait_rewrite_done(&mut c);
        assert_eq!(info_field(&mut c, "aof_enabled"), "1");
        assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
        ok(&mut c, &["SET", "after", "3"]);
        assert!(srv
            .log()
            .contains("Background append only file rewriting started by pid"));
        snapshot(&mut c)
    };
    assert_eq!(
        manifest_text(&dir.0),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    check_aof(&dir.0);
    let srv = start(&dir.0, &["--aof-use-rdb-preamble", "no"]);
    let mut c = conn_loaded(&srv);
    assert_eq!(snapshot(&mut c), want);
    // And off again: nothing more is written.
    ok(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
}

#[test]
fn migrates_old_single_file_aof() {
    let dir = TempDir::new("aof-upgrade");
    let mut old = Vec::new();
    for args in [
        vec!["SELECT", "0"],
        vec!["SET", "k", "v"],
        vec!["RPUSH", "l", "1", "2"],
        vec!["SELECT", "5"],
        vec!["SET", "k5", "v5"],
    ] {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        old.extend_from_slice(&common::encode(&a));
    }
    std::fs::write(dir.0.join("appendonly.aof"), &old).expect("write old aof");
    let srv = start(&dir.0, &[]);
    let mut c = conn_loaded(&srv);
    assert_eq!(val(&mut c, &["GET", "k"]), "v");
    assert_eq!(val(&mut c, &["LLEN", "l"]), "2");
    ok(&mut c, &["SELECT", "5"]);
    assert_eq!(val(&mut c, &["GET", "k5"]), "v5");
    assert!(srv.log().contains(
        "Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir)."
    ));
    assert!(!dir.0.join("appendonly.aof").exists());
    assert_eq!(
        manifest_text(&dir.0),
        "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
}

/// With aof-use-rdb-preamble yes (the default) bases are RDB files named
/// like Redis's, BGREWRITEAOF replaces them, and real redis-server loads
/// the directory. (The data written after the last rewrite lives in the
/// INCR file.)
#[test]
fn rdb_preamble_layout_matches_redis() {
    let dir = TempDir::new("aof-preamble");
    let want = {
        let srv = start(&dir.0, &[]);
        let mut c = conn_loaded(&srv);
        assert_eq!(
            manifest_text(&dir.0),
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        assert!(srv
            .log()
            .contains("Creating AOF base file appendonly.aof.1.base.rdb on server start"));
        assert_eq!(
            val(&mut c, &["BGREWRITEAOF"]),
            "Background append only file rewriting started"
        );
        wait_rewrite_done(&mut c);
        assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
        assert_eq!(
            manifest_text(&dir.0),
            "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        let log = srv.log();
        for line in [
            "Creating AOF incr file appendonly.aof.2.incr.aof on background rewrite",
            "Background append only file rewriting started by pid",
            "Background AOF rewrite terminated with success",
            "Successfully renamed the temporary AOF base file temp-rewriteaof-bg-",
            "Removing the history file appendonly.aof.1.incr.aof in the background",
            "Removing the history file appendonly.aof.1.base.rdb in the background",
            "Background AOF rewrite finished successfully",
        ] {
            assert!(log.contains(line), "missing {:?} in\n{}", line, log);
        }
        assert!(!dir
            .0
            .join("appendonlydir/appendonly.aof.1.base.rdb")
            .exists());
        workload(&mut c);
        snapshot(&mut c)
    };
    check_aof(&dir.0);
    {
        let srv = start(&dir.0, &[]);
        let mut c = conn_loaded(&srv);
        assert_eq!(snapshot(&mut c), want);
    }
    let srv = start_redis(&dir.0, &[]);
    let mut c = conn_loaded(&srv);
    assert_eq!(snapshot(&mut c), want);
}

/// auto-aof-rewrite-percentage / min-size: the cron starts a rewrite once
/// the AOF grew enough, and the base then holds everything.
#[test]
fn automatic_rewrite_on_growth() {
    let dir = TempDir::new("aof-auto");
    let opts = [
        "--aof-use-rdb-preamble",
        "no",
        "--auto-aof-rewrite-min-size",
        "4096",
        "--auto-aof-rewrite-percentage",
        "100",
    ];
    let srv = start(&dir.0, &opts);
    let mut c = conn_loaded(&srv);
    let v = "x".repeat(100);
    for i in 0..100 {
        ok(&mut c, &["SET", &format!("k{}", i % 10), &v]);
    }
    assert!(
        poll_until(DEADLINE, || info_field(&mut c, "aof_rewrites") != "0"),
        "no automatic rewrite"
    );
    wait_rewrite_done(&mut c);
    assert!(srv.log().contains("Starting automatic rewriting of AOF on"));
    let want = snapshot(&mut c);
    drop(c);
    drop(srv);
    let srv = start(&dir.0, &opts);
    let mut c = conn_loaded(&srv);
    assert_eq!(snapshot(&mut c), want);
}

/// An absolute expire time already past, replayed from the AOF, sets the TTL
/// instead of deleting (checkAlreadyExpired is false while loading), and
/// keys do not expire during the load: RPUSH / PEXPIREAT 1000 / RPUSH
/// leaves one key, past its TTL, that reads as empty (Redis's
/// "AOF+EXPIRE: List should be empty").
#[test]
fn past_pexpireat_in_the_aof_expires_the_whole_key() {
    let dir = TempDir::new("aof-past-expire");
    let mut old = Vec::new();
    for args in [
        vec!["RPUSH", "list", "foo"],
        vec!["PEXPIREAT", "list", "1000"],
        vec!["RPUSH", "list", "bar"],
        vec!["SET", "s", "v", "PXAT", "1000"],
        vec!["APPEND", "s", "w"],
    ] {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        old.extend_from_slice(&common::encode(&a));
    }
    std::fs::write(dir.0.join("appendonly.aof"), &old).expect("write old aof");
    let srv = start(&dir.0, &[]);
    let mut c = conn_loaded(&srv);
    assert_eq!(val(&mut c, &["LLEN", "list"]), "0");
    assert_eq!(val(&mut c, &["EXISTS", "s"]), "0");
}

/// The newest incremental AOF file's text.
fn last_incr_aof(dir: &Path) -> String {
    let manifest = manifest_text(dir);
    let name = manifest
        .lines()
        .filter(|l| l.contains("type i"))
        .filter_map(|l| l.split_whitespace().nth(1))
        .next_back()
        .unwrap_or_default()
        .to_string();
    let bytes = std::fs::read(dir.join("appendonlydir").join(name)).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// multi.tcl "MULTI with FLUSHALL and AOF": with save points, FLUSHALL's
/// save resets the dirty counter, yet the transaction is logged whole
/// (forceCommandPropagation).
#[test]
fn flushall_in_multi_with_save_points_is_logged() {
    let dir = TempDir::new("aof-multi-flushall");
    for redis in [false, true] {
        let _ = std::fs::remove_dir_all(dir.0.join("appendonlydir"));
        let extra = ["--save", "900 1", "--appendfsync", "always"];
        let srv = if redis {
            start_redis(&dir.0, &extra)
        } else {
            start(&dir.0, &extra)
        };
        let mut c = conn_loaded(&srv);
        ok(&mut c, &["MULTI"]);
        c.cmd(&["SET", "foo", "bar"]);
        c.cmd(&["FLUSHALL"]);
        assert_eq!(c.cmd(&["EXEC"]), b"*2\r\n+OK\r\n+OK\r\n".to_vec());
        let text = last_incr_aof(&dir.0);
        let words: Vec<&str> = text
            .split("\r\n")
            .filter(|w| !w.starts_with('*') && !w.starts_with('$') && !w.is_empty())
            .collect();
        assert_eq!(
            words,
            ["SELECT", "0", "MULTI", "SET", "foo", "bar", "FLUSHALL", "EXEC"],
            "redis: {}",
            redis
        );
    }
}

/// The manifest through rewrites with `aof-disable-auto-gc` (history kept,
/// then deleted when it is turned off) and DEBUG LOADAOF (the manifest is
/// read again, so sequence numbers restart from the files listed), as
/// unit aof-multi-part checks; compared with redis-server step by step.
#[test]
fn manifest_history_and_sequence_numbers_match_redis() {
    let dirs = [TempDir::new("aof-gc-ours"), TempDir::new("aof-gc-redis")];
    let extra = [
        "--enable-debug-command",
        "yes",
        "--aof-use-rdb-preamble",
        "yes",
    ];
    let servers = [start(&dirs[0].0, &extra), start_redis(&dirs[1].0, &extra)];
    let mut seen: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for (i, srv) in servers.iter().enumerate() {
        let mut c = conn_loaded(srv);
        let dir = &dirs[i].0;
        let mut step = |c: &mut RawConn, args: &[&str]| {
            ok(c, args);
            wait_rewrite_done(c);
            seen[i].push(format!("{:?}: {}", args, manifest_text(dir)));
        };
        ok(&mut c, &["SET", "k", "v"]);
        step(&mut c, &["BGREWRITEAOF"]);
        step(&mut c, &["CONFIG", "SET", "aof-disable-auto-gc", "yes"]);
        step(&mut c, &["BGREWRITEAOF"]);
        ok(&mut c, &["SET", "k2", "v"]);
        step(&mut c, &["BGREWRITEAOF"]);
        step(&mut c, &["CONFIG", "SET", "aof-disable-auto-gc", "no"]);
        step(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
        step(&mut c, &["BGREWRITEAOF"]);
        step(&mut c, &["DEBUG", "LOADAOF"]);
        step(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
        assert_eq!(val(&mut c, &["GET", "k2"]), "v");
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[0]
        .last()
        .is_some_and(|m| m.contains("appendonly.aof.1.incr.aof seq 1 type i")));
}

/// A rewrite that fails while AOF is being turned on removes its temporary
/// INCR file at once, so the retry's file of the same name survives (Redis's
/// bg_unlink unlinks in the main thread and only closes in the background).
#[test]
fn failed_first_rewrite_then_retry_keeps_the_new_incr_file() {
    let dir = TempDir::new("aof-retry");
    let d = dir.0.to_str().expect("utf8");
    let srv = Server::start(&["--dir", d, "--rdb-key-save-delay", "1000000"]);
    let mut c = conn_loaded(&srv);
    for i in 0..20 {
        ok(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    ok(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
    let children = format!("/proc/{0}/task/{0}/children", srv.pid());
    for round in 0..2 {
        let mut child = String::new();
        assert!(poll_until(DEADLINE, || {
            child = std::fs::read_to_string(&children)
                .unwrap_or_default()
                .trim()
                .to_string();
            !child.is_empty()
        }));
        if round == 1 {
            ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
        }
        let _ = Command::new("kill").args(["-9", &child]).status();
        assert!(poll_until(DEADLINE, || srv
            .log()
            .matches("Removing the temp incr aof file")
            .count()
            > round));
    }
    ok(&mut c, &["SET", "after", "1"]);
    // The retry may be scheduled a cron tick after the killed child is
    // reaped (Redis): wait for its manifest, not only for "no rewrite".
    let want =
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
    assert!(
        poll_until(DEADLINE, || manifest_text(&dir.0) == want),
        "manifest: {:?}\n{}",
        manifest_text(&dir.0),
        srv.log()
    );
    wait_rewrite_done(&mut c);
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    assert!(
        !srv.log().contains("Error trying to rename"),
        "{}",
        srv.log()
    );
    check_aof(&dir.0);
}

/// A slow script replayed from the AOF (DEBUG LOADAOF) answers other
/// clients -LOADING, not -BUSY (integration/aof "EVAL timeout with slow
/// verbatim Lua script from AOF"), logs the slow script and loads its write.
#[test]
fn slow_script_in_aof_answers_loading() {
    let dir = TempDir::new("aof-slow-script");
    let aofdir = dir.0.join("appendonlydir");
    std::fs::create_dir_all(&aofdir).expect("mkdir");
    std::fs::write(
        aofdir.join("appendonly.aof.manifest"),
        "file appendonly.aof.1.incr.aof seq 1 type i\n",
    )
    .expect("manifest");
    let script =
        "redis.call('set',KEYS[1],'y'); for i=1,200000 do redis.call('ping') end return 'ok'";
    let mut aof = b"*2\r\n$6\r\nselect\r\n$1\r\n9\r\n".to_vec();
    aof.extend_from_slice(
        format!(
            "*4\r\n$4\r\neval\r\n${}\r\n{}\r\n$1\r\n1\r\n$1\r\nx\r\n",
            script.len(),
            script
        )
        .as_bytes(),
    );
    std::fs::write(aofdir.join("appendonly.aof.1.incr.aof"), aof).expect("aof");
    let srv = start(
        &dir.0,
        &[
            "--aof-use-rdb-preamble",
            "no",
            "--lua-time-limit",
            "1",
            "--enable-debug-command",
            "yes",
        ],
    );
    let mut c = conn_loaded(&srv);
    let mut rd = srv.conn();
    rd.send(&[b"DEBUG", b"LOADAOF"]);
    let mut seen = String::new();
    assert!(poll_until(DEADLINE, || {
        seen = c.cmd_str(&["PING"]);
        seen.starts_with('-')
    }));
    assert!(seen.starts_with("-LOADING"), "{seen}");
    assert_eq!(rd.read_reply(), b"+OK\r\n");
    ok(&mut c, &["SELECT", "9"]);
    assert_eq!(val(&mut c, &["GET", "x"]), "y");
    assert!(srv.log().contains("Slow script detected"));
}
