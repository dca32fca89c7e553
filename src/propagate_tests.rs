//! Unit tests for propagation: what a command sends to the AOF and to
//! replicas, checked against Redis 7.0's rewrites.

use super::*;
use crate::client::Client;
use crate::commands;
use crate::config::Config;
use crate::protocol::args::Args;

struct Harness {
    srv: Server,
    c: Client,
}

impl Harness {
    fn new() -> Harness {
        let mut srv = Server::new(
            Config::new(),
            crate::commands::table(),
            crate::commands::hooks(),
        );
        srv.prop.targets = TO_ALL;
        srv.prop.capture = Some(Vec::new());
        let c = Client::new_internal(1, crate::clock::now_ms());
        Harness { srv, c }
    }

    /// Runs a command; returns what it propagated to the AOF, one string
    /// per command (args joined by spaces).
    fn run(&mut self, argv: &[&str]) -> Vec<String> {
        let mut buf = Vec::new();
        let mut ranges = Vec::new();
        for a in argv {
            ranges.push((buf.len(), a.len()));
            buf.extend_from_slice(a.as_bytes());
        }
        let args = Args::new(&buf, &ranges);
        commands::execute(&mut self.srv, &mut self.c, &args);
        self.c.out.buf.clear();
        self.take(TO_AOF)
    }

    fn take(&mut self, target: u8) -> Vec<String> {
        let cap = self.srv.prop.capture.as_mut().expect("capture on");
        let mine: Vec<String> = cap
            .iter()
            .filter(|(t, _, _)| *t == target)
            .map(|(_, _, b)| decode(b))
            .collect();
        cap.retain(|(t, _, _)| *t != target);
        mine
    }
}

/// "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" -> "GET k".
fn decode(b: &[u8]) -> String {
    let text = String::from_utf8_lossy(b).to_string();
    let mut parts = text.split("\r\n");
    let n: usize = parts.next().unwrap_or("*0")[1..].parse().unwrap_or(0);
    let mut out = Vec::new();
    for _ in 0..n {
        parts.next();
        out.push(parts.next().unwrap_or("").to_string());
    }
    out.join(" ")
}

fn now_ms() -> i64 {
    crate::clock::now_ms()
}

/// "SET k v PXAT <ms>" -> ms.
fn pxat(line: &str) -> i64 {
    line.rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn plain_writes_propagate_as_is_and_reads_do_not() {
    let mut h = Harness::new();
    assert_eq!(h.run(&["SET", "k", "v"]), vec!["SET k v"]);
    assert!(h.run(&["GET", "k"]).is_empty());
    // Nothing changed: nothing to propagate.
    assert!(h.run(&["DEL", "missing"]).is_empty());
    assert_eq!(h.run(&["DEL", "k"]), vec!["DEL k"]);
}

#[test]
fn relative_expires_become_absolute() {
    let mut h = Harness::new();
    let out = h.run(&["SET", "k", "v", "EX", "100"]);
    assert_eq!(out.len(), 1);
    assert!(out[0].starts_with("SET k v PXAT "), "{:?}", out);
    let at = pxat(&out[0]);
    assert!((at - now_ms() - 100_000).abs() < 5_000);

    let out = h.run(&["SETEX", "k2", "10", "v"]);
    assert!(out[0].starts_with("SET k2 v PXAT "), "{:?}", out);
    let out = h.run(&["PSETEX", "k3", "10000", "v"]);
    assert!(out[0].starts_with("SET k3 v PXAT "), "{:?}", out);

    let out = h.run(&["EXPIRE", "k", "50", "GT"]);
    assert_eq!(out, Vec::<String>::new(), "GT refused: nothing changed");
    let out = h.run(&["EXPIRE", "k", "500", "GT"]);
    assert!(out[0].starts_with("PEXPIREAT k "), "{:?}", out);
    assert!(out[0].ends_with(" GT"), "{:?}", out);
    let out = h.run(&["PEXPIREAT", "k", "99999999999999"]);
    assert_eq!(out, vec!["PEXPIREAT k 99999999999999"]);
    // An expire time in the past deletes the key: propagated as DEL.
    assert_eq!(h.run(&["EXPIRE", "k", "-1"]), vec!["DEL k"]);

    h.run(&["SET", "g", "v"]);
    let out = h.run(&["GETEX", "g", "PX", "100000"]);
    assert!(out[0].starts_with("PEXPIREAT g "), "{:?}", out);
    assert_eq!(h.run(&["GETEX", "g", "PERSIST"]), vec!["PERSIST g"]);
    assert_eq!(h.run(&["GETDEL", "g"]), vec!["DEL g"]);
    assert!(h.run(&["GETEX", "g"]).is_empty());
}

#[test]
fn non_deterministic_commands_propagate_their_effects() {
    let mut h = Harness::new();
    h.run(&["SET", "f", "1.5"]);
    assert_eq!(
        h.run(&["INCRBYFLOAT", "f", "0.25"]),
        vec!["SET f 1.75 KEEPTTL"]
    );
    h.run(&["HSET", "h", "x", "1"]);
    assert_eq!(
        h.run(&["HINCRBYFLOAT", "h", "x", "1.5"]),
        vec!["HSET h x 2.5"]
    );

    h.run(&["SADD", "s", "a"]);
    assert_eq!(h.run(&["SPOP", "s"]), vec!["SREM s a"]);
    h.run(&["SADD", "s", "a", "b", "c", "d", "e"]);
    let out = h.run(&["SPOP", "s", "2"]);
    assert_eq!(out.len(), 1);
    assert!(out[0].starts_with("SREM s "));
    assert_eq!(out[0].split(' ').count(), 4);
    // Popping everything: the key goes, propagated as DEL.
    assert_eq!(h.run(&["SPOP", "s", "10"]), vec!["DEL s"]);

    let out = h.run(&["XADD", "st", "*", "f", "v"]);
    assert_eq!(out.len(), 1);
    assert!(out[0].starts_with("XADD st "));
    assert!(!out[0].contains('*'), "{:?}", out);
    assert!(out[0].ends_with(" f v"));
    let out = h.run(&[
        "XADD",
        "st",
        "MAXLEN",
        "~",
        "1",
        "99999999999999-*",
        "f",
        "v",
    ]);
    assert_eq!(out.len(), 1);
    assert!(out[0].starts_with("XADD st MAXLEN = "), "{:?}", out);
    assert!(!out[0].contains('*'), "{:?}", out);
}

#[test]
fn blocking_pops_propagate_as_plain_pops() {
    let mut h = Harness::new();
    h.run(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(h.run(&["BLPOP", "l", "0"]), vec!["LPOP l"]);
    assert_eq!(h.run(&["BRPOP", "nokey", "l", "0"]), vec!["RPOP l"]);
    h.run(&["RPUSH", "l", "x", "y"]);
    assert_eq!(
        h.run(&["LMPOP", "1", "l", "LEFT", "COUNT", "10"]),
        vec!["LPOP l 3"]
    );
    h.run(&["RPUSH", "l", "x"]);
    assert_eq!(
        h.run(&["BLMOVE", "l", "m", "LEFT", "RIGHT", "0"]),
        vec!["LMOVE l m LEFT RIGHT"]
    );
    assert_eq!(h.run(&["BRPOPLPUSH", "m", "l", "0"]), vec!["RPOPLPUSH m l"]);
    // GETSET propagates as SET; FLUSHDB even when the db is empty.
    assert_eq!(h.run(&["GETSET", "s", "v"]), vec!["SET s v"]);
    h.run(&["SELECT", "5"]);
    assert_eq!(h.run(&["FLUSHDB"]), vec!["FLUSHDB"]);
    assert_eq!(h.run(&["FLUSHDB", "ASYNC"]), vec!["FLUSHDB ASYNC"]);
    h.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(h.run(&["BZPOPMIN", "z", "0"]), vec!["ZPOPMIN z"]);
    assert_eq!(
        h.run(&["ZMPOP", "1", "z", "MAX", "COUNT", "5"]),
        vec!["ZPOPMAX z 2"]
    );
}

#[test]
fn transactions_and_scripts_propagate_as_one_unit() {
    let mut h = Harness::new();
    assert!(h.run(&["MULTI"]).is_empty());
    assert!(h.run(&["SET", "a", "1"]).is_empty());
    assert!(h.run(&["INCR", "a"]).is_empty());
    assert_eq!(h.run(&["EXEC"]), vec!["MULTI", "SET a 1", "INCR a", "EXEC"]);
    // One write alone is not wrapped.
    h.run(&["MULTI"]);
    h.run(&["INCR", "a"]);
    h.run(&["GET", "a"]);
    assert_eq!(h.run(&["EXEC"]), vec!["INCR a"]);

    let out = h.run(&[
        "EVAL",
        "redis.call('set', KEYS[1], 'x'); redis.call('incr', 'a'); return 1",
        "1",
        "b",
    ]);
    // Commands go out as the script spelled them.
    assert_eq!(out, vec!["MULTI", "set b x", "incr a", "EXEC"]);
    // A read-only script propagates nothing.
    assert!(h
        .run(&["EVAL", "return redis.call('get', 'a')", "0"])
        .is_empty());
    // redis.set_repl(REPL_NONE) hides what follows from both targets.
    h.take(TO_REPL);
    let out = h.run(&[
        "EVAL",
        "redis.call('set', 'p', '1'); redis.set_repl(redis.REPL_NONE); redis.call('set', 'q', '1'); return 1",
        "0",
    ]);
    assert_eq!(out, vec!["set p 1"]);
    assert_eq!(h.take(TO_REPL), vec!["set p 1"]);
    // ...for that script only.
    assert_eq!(h.run(&["SET", "q", "2"]), vec!["SET q 2"]);
}

#[test]
fn expired_keys_are_deleted_before_the_command_that_found_them() {
    let mut h = Harness::new();
    h.run(&["SET", "k", "1", "PX", "1"]);
    // Make the key's TTL pass without sleeping: move it into the past.
    h.srv.dbs[0].set_expire(b"k", now_ms() - 10);
    // Redis 7.0 propagates the deletion inside the command's execution
    // unit: both go out as one MULTI/EXEC.
    assert_eq!(
        h.run(&["INCR", "k"]),
        vec!["MULTI", "DEL k", "INCR k", "EXEC"]
    );
    h.run(&["SET", "e", "1"]);
    h.srv.dbs[0].set_expire(b"e", now_ms() - 10);
    assert_eq!(h.run(&["GET", "e"]), vec!["DEL e"]);
    h.srv.config.lazyfree_lazy_expire = true;
    h.run(&["SET", "u", "1"]);
    h.srv.dbs[0].set_expire(b"u", now_ms() - 10);
    assert_eq!(h.run(&["EXISTS", "u"]), vec!["UNLINK u"]);
}

#[test]
fn publish_reaches_replicas_only_and_dbs_are_kept() {
    let mut h = Harness::new();
    assert!(h.run(&["PUBLISH", "ch", "hello"]).is_empty());
    assert_eq!(h.take(TO_REPL), vec!["PUBLISH ch hello"]);
    h.run(&["SELECT", "3"]);
    h.run(&["SET", "x", "1"]);
    let cap = h.srv.prop.capture.as_ref().expect("capture");
    assert!(cap.iter().all(|(_, db, _)| *db == 3));
}

#[test]
fn nothing_is_queued_without_a_target() {
    let mut h = Harness::new();
    h.srv.prop.targets = 0;
    assert!(h.run(&["SET", "k", "v", "EX", "10"]).is_empty());
    assert!(h.run(&["SPOP", "nokey"]).is_empty());
}

#[test]
fn scan_and_randomkey_expire_keys_without_a_transaction() {
    let mut h = Harness::new();
    h.srv.active_expire_enabled = false;
    for k in ["a", "b"] {
        h.run(&["SET", k, "1"]);
        h.srv.dbs[0].set_expire(k.as_bytes(), now_ms() - 10);
    }
    let mut out = h.run(&["SCAN", "0"]);
    out.sort();
    // Redis 7.0.15 (CMD_TOUCHES_ARBITRARY_KEYS): no MULTI/EXEC around them.
    assert_eq!(out, vec!["DEL a", "DEL b"]);
}
