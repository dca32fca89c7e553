//! Master–replica replication, checked in every pairing with Redis 7.0:
//! ferrokv → ferrokv, ferrokv master → real redis-server replica, real
//! redis-server master → ferrokv replica. Data written before and after
//! the replica attaches (strings with TTLs, lists, hashes, sets, sorted
//! sets, MULTI/EXEC, EVAL, several dbs, FLUSHALL) must end up identical;
//! a dropped link continues with a partial resync (+CONTINUE); replicas
//! are read-only; WAIT counts acknowledging replicas; a replica never
//! expires keys itself.

use crate::common;

use common::{flatten, poll_until, RawConn, RealRedis, Server};
use std::time::Duration;

/// Full syncs carry real data once the RDB encoder/loader is on main.
const RDB_READY: bool = true;

const SYNC_DEADLINE: Duration = Duration::from_secs(20);

fn s(r: Vec<u8>) -> String {
    String::from_utf8_lossy(&r).into_owned()
}

/// The bulk strings of an array reply, in order.
fn arr(reply: Vec<u8>) -> Vec<String> {
    flatten(&reply)
        .into_iter()
        .skip(1)
        .map(|f| {
            let t = String::from_utf8_lossy(&f).into_owned();
            match t.find("\r\n") {
                Some(i) if t.starts_with('$') => t[i + 2..t.len() - 2].to_string(),
                _ => t.trim_end().to_string(),
            }
        })
        .collect()
}

fn info_field(c: &mut RawConn, section: &str, name: &str) -> Option<String> {
    let text = s(c.cmd(&["INFO", section]));
    let prefix = format!("{}:", name);
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

fn offset(c: &mut RawConn) -> i64 {
    info_field(c, "replication", "master_repl_offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// Waits until the replica reports its link to the master up.
fn wait_link_up(replica: &Server) {
    wait_link_up_with(replica, replica.conn());
}

fn wait_link_up_with(replica: &Server, mut c: RawConn) {
    let up = poll_until(SYNC_DEADLINE, || {
        info_field(&mut c, "replication", "master_link_status").as_deref() == Some("up")
    });
    assert!(up, "replica never synced; replica log:\n{}", replica.log());
}

/// Waits until the replica applied everything the master produced.
fn wait_caught_up(master: &Server, replica: &Server) {
    let mut m = master.conn();
    let mut r = replica.conn();
    let ok = poll_until(SYNC_DEADLINE, || {
        let mo = offset(&mut m);
        mo > 0 && offset(&mut r) == mo
    });
    assert!(
        ok,
        "replica did not catch up (master {} replica {})\nmaster log:\n{}\nreplica log:\n{}",
        offset(&mut m),
        offset(&mut r),
        master.log(),
        replica.log()
    );
}

/// Writes a mixed workload tagged `tag` in dbs 0..3.
fn workload(c: &mut RawConn, tag: &str) {
    let k = |n: &str| format!("{}:{}", tag, n);
    for (db, n) in [("0", 0), ("1", 1), ("2", 2)] {
        assert_eq!(s(c.cmd(&["SELECT", db])), "+OK\r\n");
        c.cmd(&["SET", &k("str"), &format!("v{}", n)]);
        c.cmd(&["SET", &k("ttl"), "x", "EX", "3600"]);
        c.cmd(&["SET", &k("int"), "10"]);
        c.cmd(&["INCRBY", &k("int"), "5"]);
        c.cmd(&["RPUSH", &k("list"), "a", "b", "c", "d"]);
        c.cmd(&["LPOP", &k("list")]);
        c.cmd(&["HSET", &k("hash"), "f1", "1", "f2", "2"]);
        c.cmd(&["HINCRBYFLOAT", &k("hash"), "f3", "1.5"]);
        c.cmd(&["SADD", &k("set"), "x", "y", "z"]);
        c.cmd(&["ZADD", &k("zset"), "1", "a", "2.5", "b", "3", "c"]);
        c.cmd(&["ZINCRBY", &k("zset"), "10", "a"]);
        c.cmd(&["MULTI"]);
        c.cmd(&["SET", &k("m1"), "1"]);
        c.cmd(&["RPUSH", &k("mlist"), "q"]);
        c.cmd(&["EXPIRE", &k("m1"), "1000"]);
        let r = s(c.cmd(&["EXEC"]));
        assert!(r.starts_with("*3"), "EXEC: {}", r);
        let r = s(c.cmd(&[
            "EVAL",
            "redis.call('SET', KEYS[1], ARGV[1]) redis.call('SADD', KEYS[2], ARGV[1]) return 1",
            "2",
            &k("ev1"),
            &k("ev2"),
            "scripted",
        ]));
        assert_eq!(r, ":1\r\n");
        c.cmd(&["SET", &k("gone"), "1"]);
        c.cmd(&["DEL", &k("gone")]);
    }
    c.cmd(&["SELECT", "0"]);
}

/// Everything in dbs 0..3, key by key, for comparison.
fn dump(c: &mut RawConn) -> Vec<String> {
    let mut out = Vec::new();
    for db in 0..6 {
        c.cmd(&["SELECT", &db.to_string()]);
        let mut keys = arr(c.cmd(&["KEYS", "*"]));
        keys.sort();
        for key in keys {
            let t = s(c.cmd(&["TYPE", &key]));
            let v = match t.trim() {
                "+string" => vec![s(c.cmd(&["GET", &key]))],
                "+list" => arr(c.cmd(&["LRANGE", &key, "0", "-1"])),
                "+hash" => {
                    let mut v = arr(c.cmd(&["HGETALL", &key]));
                    let mut pairs: Vec<String> = v.chunks(2).map(|p| p.join("=")).collect();
                    pairs.sort();
                    v = pairs;
                    v
                }
                "+set" => {
                    let mut v = arr(c.cmd(&["SMEMBERS", &key]));
                    v.sort();
                    v
                }
                "+zset" => arr(c.cmd(&["ZRANGE", &key, "0", "-1", "WITHSCORES"])),
                other => vec![other.to_string()],
            };
            let ttl = s(c.cmd(&["TTL", &key]));
            let has_ttl = !ttl.starts_with(":-");
            out.push(format!(
                "{}|{}|{}|{:?}|ttl={}",
                db,
                key,
                t.trim(),
                v,
                has_ttl
            ));
        }
    }
    c.cmd(&["SELECT", "0"]);
    out
}

fn assert_same(master: &Server, replica: &Server) {
    wait_caught_up(master, replica);
    let m = dump(&mut master.conn());
    let r = dump(&mut replica.conn());
    assert!(!m.is_empty(), "empty master dataset");
    assert_eq!(
        m,
        r,
        "replica differs\nmaster log:\n{}\nreplica log:\n{}",
        master.log(),
        replica.log()
    );
}

fn partial_ok(master: &Server) -> i64 {
    info_field(&mut master.conn(), "stats", "sync_partial_ok")
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// The common scenario: data before and after attaching, FLUSHALL, a
/// dropped link continued with +CONTINUE, WAIT, READONLY.
fn scenario(master: &Server, start_replica: impl FnOnce(u16) -> Server, replica_is_ferrokv: bool) {
    let mut m = master.conn();
    if RDB_READY {
        workload(&mut m, "before");
    }
    let replica = start_replica(master.port());
    wait_link_up(&replica);
    workload(&mut m, "after");
    assert_same(master, &replica);

    // FLUSHALL, then new data in another db.
    assert_eq!(s(m.cmd(&["FLUSHALL"])), "+OK\r\n");
    workload(&mut m, "flushed");
    assert_same(master, &replica);

    // Read-only replica: writes refused, reads served.
    let mut r = replica.conn();
    assert_eq!(
        s(r.cmd(&["SET", "nope", "1"])),
        "-READONLY You can't write against a read only replica.\r\n"
    );
    assert_eq!(s(r.cmd(&["GET", "flushed:str"])), "$2\r\nv0\r\n");
    let role = arr(r.cmd(&["ROLE"]));
    assert_eq!(
        role.first().map(|s| s.as_str()),
        Some("slave"),
        "{:?}",
        role
    );

    // WAIT counts the replica once it acknowledged the write.
    m.cmd(&["SET", "waited", "1"]);
    assert_eq!(s(m.cmd(&["WAIT", "1", "10000"])), ":1\r\n");
    // Asking for more replicas than exist times out with the count.
    assert_eq!(s(m.cmd(&["WAIT", "2", "200"])), ":1\r\n");
    let role = arr(m.cmd(&["ROLE"]));
    assert_eq!(
        role.first().map(|s| s.as_str()),
        Some("master"),
        "{:?}",
        role
    );

    // Drop the link: the replica continues where it was, in the db the
    // stream had selected (the master does not repeat its SELECT).
    m.cmd(&["SELECT", "5"]);
    m.cmd(&["SET", "pre", "kill"]);
    assert_eq!(s(m.cmd(&["WAIT", "1", "10000"])), ":1\r\n");
    let before = partial_ok(master);
    let killed = s(m.cmd(&["CLIENT", "KILL", "TYPE", "replica"]));
    assert_eq!(killed, ":1\r\n");
    m.cmd(&["SET", "during", "outage"]);
    m.cmd(&["SELECT", "0"]);
    let resumed = poll_until(SYNC_DEADLINE, || partial_ok(master) > before);
    assert!(
        resumed,
        "no partial resync\nmaster log:\n{}\nreplica log:\n{}",
        master.log(),
        replica.log()
    );
    wait_link_up(&replica);
    workload(&mut m, "resumed");
    assert_same(master, &replica);
    if replica_is_ferrokv {
        assert!(replica
            .log()
            .contains("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."));
    }
    master.assert_no_panic();
    replica.assert_no_panic();
}

#[test]
fn ferrokv_replica_of_ferrokv() {
    let master = Server::start(&[]);
    scenario(
        &master,
        |port| Server::start(&["--replicaof", "127.0.0.1", &port.to_string()]),
        true,
    );
}

#[test]
fn real_redis_replica_of_ferrokv() {
    let master = Server::start(&[]);
    scenario(
        &master,
        |port| RealRedis::start_with(&["--replicaof", "127.0.0.1", &port.to_string()]),
        false,
    );
}

#[test]
fn ferrokv_replica_of_real_redis() {
    let master = RealRedis::start_with(&["--repl-diskless-sync-delay", "0"]);
    scenario(
        &master,
        |port| Server::start(&["--replicaof", "127.0.0.1", &port.to_string()]),
        true,
    );
}

/// A replica never expires keys itself: an expired key reads as missing
/// there, but goes away only when the master's DEL arrives.
#[test]
fn replica_waits_for_the_master_to_expire_keys() {
    let master = Server::start(&["--enable-debug-command", "yes"]);
    let mut m = master.conn();
    let replica = Server::start(&["--replicaof", "127.0.0.1", &master.port().to_string()]);
    wait_link_up(&replica);
    assert_eq!(s(m.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"])), "+OK\r\n");
    m.cmd(&["SET", "short", "v", "PX", "100"]);
    m.cmd(&["SET", "keep", "v"]);
    wait_caught_up(&master, &replica);
    let mut r = replica.conn();
    let expired = poll_until(SYNC_DEADLINE, || s(r.cmd(&["GET", "short"])) == "$-1\r\n");
    assert!(expired);
    // Still held by the replica: only the master deletes.
    assert_eq!(s(r.cmd(&["DBSIZE"])), ":2\r\n");
    assert_eq!(s(r.cmd(&["EXISTS", "short"])), ":0\r\n");
    // The master's lazy expiry propagates a DEL.
    assert_eq!(s(m.cmd(&["GET", "short"])), "$-1\r\n");
    wait_caught_up(&master, &replica);
    assert_eq!(s(r.cmd(&["DBSIZE"])), ":1\r\n");
    // WAIT is refused on a replica.
    let e = s(r.cmd(&["WAIT", "1", "0"]));
    assert!(
        e.starts_with("-ERR WAIT cannot be used with replica instances"),
        "{}",
        e
    );
    // Promotion: the replica becomes a writable master.
    assert_eq!(s(r.cmd(&["REPLICAOF", "NO", "ONE"])), "+OK\r\n");
    assert_eq!(s(r.cmd(&["SET", "now", "writable"])), "+OK\r\n");
    let role = arr(r.cmd(&["ROLE"]));
    assert_eq!(role.first().map(|s| s.as_str()), Some("master"));
    master.assert_no_panic();
    replica.assert_no_panic();
}

trait AuthConn {
    fn conn_auth(&self) -> RawConn;
}

impl AuthConn for Server {
    /// A connection authenticated with the test's password.
    fn conn_auth(&self) -> RawConn {
        let mut c = self.conn();
        assert_eq!(s(c.cmd(&["AUTH", "s3cret"])), "+OK\r\n");
        c
    }
}

fn digest(c: &mut RawConn) -> String {
    s(c.cmd(&["DEBUG", "DIGEST"]))
}

/// A multi-megabyte snapshot streamed to two replicas at once (one of
/// them real Redis, attaching to the same snapshot) while a client keeps
/// writing: every write made during the transfer reaches both.
#[test]
fn large_full_sync_with_writes_during_the_transfer() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let master = Server::start(&["--enable-debug-command", "yes"]);
    let mut m = master.conn();
    assert_eq!(
        s(m.cmd(&["DEBUG", "POPULATE", "60000", "key", "100"])),
        "+OK\r\n"
    );
    m.cmd(&["RPUSH", "biglist", "a", "b", "c"]);
    let stop = Arc::new(AtomicBool::new(false));
    let port = master.port();
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut w = RawConn::connect(port);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) || i < 200 {
                let k = format!("w:{}", i);
                w.cmd(&["SET", &k, &i.to_string()]);
                w.cmd(&["INCR", "counter"]);
                if i.is_multiple_of(7) {
                    w.cmd(&["SELECT", "1"]);
                    w.cmd(&["LPUSH", "l1", &k]);
                    w.cmd(&["SELECT", "0"]);
                }
                i += 1;
            }
            i
        })
    };
    let mp = port.to_string();
    let ferro = Server::start(&[
        "--replicaof",
        "127.0.0.1",
        &mp,
        "--enable-debug-command",
        "yes",
    ]);
    let real = RealRedis::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &mp,
        "--enable-debug-command",
        "yes",
    ]);
    wait_link_up(&ferro);
    wait_link_up(&real);
    stop.store(true, Ordering::Relaxed);
    let writes = writer.join().expect("writer");
    assert!(writes >= 200);
    wait_caught_up(&master, &ferro);
    wait_caught_up(&master, &real);
    let want = digest(&mut m);
    assert_eq!(
        digest(&mut ferro.conn()),
        want,
        "ferrokv replica log:\n{}",
        ferro.log()
    );
    assert_eq!(
        digest(&mut real.conn()),
        want,
        "redis replica log:\n{}",
        real.log()
    );
    assert!(master.log().contains("Synchronization with replica"));
    master.assert_no_panic();
    ferro.assert_no_panic();
}

/// Failover: the replica is promoted, the old master becomes its replica
/// and continues with a partial resync thanks to replid2; PUBLISH and
/// masterauth work over the link.
#[test]
fn promotion_keeps_the_history_for_partial_resync() {
    let master = Server::start(&["--requirepass", "s3cret"]);
    let mut m = master.conn();
    assert_eq!(s(m.cmd(&["AUTH", "s3cret"])), "+OK\r\n");
    m.cmd(&["SET", "k1", "v1"]);
    let replica = Server::start(&[
        "--replicaof",
        "127.0.0.1",
        &master.port().to_string(),
        "--masterauth",
        "s3cret",
        "--requirepass",
        "s3cret",
    ]);
    let mut r = replica.conn();
    assert_eq!(s(r.cmd(&["AUTH", "s3cret"])), "+OK\r\n");
    wait_link_up_with(&replica, replica.conn_auth());
    // PUBLISH reaches the replica's subscribers.
    let mut sub = replica.conn();
    sub.cmd(&["AUTH", "s3cret"]);
    sub.cmd(&["SUBSCRIBE", "news"]);
    m.cmd(&["PUBLISH", "news", "hello"]);
    let msg = arr(sub.read_reply());
    assert_eq!(msg, vec!["message", "news", "hello"]);
    m.cmd(&["SET", "k2", "v2"]);
    assert_eq!(s(m.cmd(&["WAIT", "1", "10000"])), ":1\r\n");

    // Promote the replica; the old master follows it.
    assert_eq!(s(r.cmd(&["REPLICAOF", "NO", "ONE"])), "+OK\r\n");
    r.cmd(&["SET", "k3", "v3"]);
    m.cmd(&["CONFIG", "SET", "masterauth", "s3cret"]);
    let rp = replica.port().to_string();
    assert_eq!(s(m.cmd(&["REPLICAOF", "127.0.0.1", &rp])), "+OK\r\n");
    assert_eq!(
        s(m.cmd(&["REPLICAOF", "127.0.0.1", &rp])),
        "+OK Already connected to specified master\r\n"
    );
    wait_link_up_with(&master, master.conn_auth());
    let ok = poll_until(SYNC_DEADLINE, || s(m.cmd(&["GET", "k3"])) == "$2\r\nv3\r\n");
    assert!(ok, "old master log:\n{}", master.log());
    assert!(master
        .log()
        .contains("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."));
    assert_eq!(
        info_field(&mut r, "stats", "sync_partial_ok").as_deref(),
        Some("1")
    );
    let replid2 = info_field(&mut r, "replication", "master_replid2").unwrap_or_default();
    assert_ne!(replid2, "0".repeat(40));
    master.assert_no_panic();
    replica.assert_no_panic();
}

/// A replica restarted from its own RDB (which records the master's
/// replication id, offset and stream db) continues with a partial resync.
#[test]
fn restarted_replica_continues_with_partial_resync() {
    let master = Server::start(&[]);
    let mut m = master.conn();
    m.cmd(&["SELECT", "4"]);
    m.cmd(&["SET", "a", "1"]);
    let dir = common::temp_dir("repl-restart");
    let d = dir.to_string_lossy().into_owned();
    let port = master.port().to_string();
    let args = ["--replicaof", "127.0.0.1", &port, "--dir", &d];
    {
        let replica = Server::start(&args);
        wait_link_up(&replica);
        wait_caught_up(&master, &replica);
        assert_eq!(s(replica.conn().cmd(&["SAVE"])), "+OK\r\n");
        replica.assert_no_panic();
    }
    // Written while the replica is down, in the same db: no new SELECT.
    m.cmd(&["SET", "b", "2"]);
    let before = partial_ok(&master);
    let replica = Server::start(&args);
    wait_link_up(&replica);
    assert!(
        partial_ok(&master) > before,
        "replica log:\n{}",
        replica.log()
    );
    assert!(replica
        .log()
        .contains("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."));
    assert_same(&master, &replica);
    let mut r = replica.conn();
    r.cmd(&["SELECT", "4"]);
    assert_eq!(s(r.cmd(&["GET", "b"])), "$1\r\n2\r\n");
    replica.assert_no_panic();
    drop(replica);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A replica with the AOF on rebuilds it from the master's dataset after a
/// full sync (restartAOFAfterSYNC): restarted alone, it has the same data.
#[test]
fn replica_aof_holds_the_synced_dataset() {
    let master = Server::start(&[]);
    let mut m = master.conn();
    workload(&mut m, "base");
    let dir = common::temp_dir("repl-aof");
    let d = dir.to_string_lossy().into_owned();
    let port = master.port().to_string();
    let want;
    {
        let replica = Server::start(&[
            "--replicaof",
            "127.0.0.1",
            &port,
            "--dir",
            &d,
            "--appendonly",
            "yes",
        ]);
        wait_link_up(&replica);
        workload(&mut m, "tail");
        assert_same(&master, &replica);
        let mut r = replica.conn();
        let rewritten = poll_until(SYNC_DEADLINE, || {
            info_field(&mut r, "persistence", "aof_rewrite_in_progress").as_deref() == Some("0")
                && info_field(&mut r, "persistence", "aof_rewrite_scheduled").as_deref()
                    == Some("0")
                && info_field(&mut r, "persistence", "aof_last_bgrewrite_status").as_deref()
                    == Some("ok")
        });
        assert!(rewritten, "replica log:\n{}", replica.log());
        want = dump(&mut r);
        // Everything reached the AOF file before the process dies.
        assert_eq!(
            s(r.cmd(&["CONFIG", "SET", "appendfsync", "always"])),
            "+OK\r\n"
        );
        r.cmd(&["SET", "last", "1"]);
        replica.assert_no_panic();
    }
    let alone = Server::start(&["--dir", &d, "--appendonly", "yes"]);
    let mut a = alone.conn();
    let mut got = dump(&mut a);
    got.retain(|k| !k.starts_with("0|last|"));
    assert_eq!(got, want, "restarted replica log:\n{}", alone.log());
    alone.assert_no_panic();
    drop(alone);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The handshake authenticates as `masteruser`; the master's stream is
/// applied whatever the replica's own users may do.
#[test]
fn masteruser_and_acl_restricted_replica() {
    let master = Server::start(&[]);
    let mut m = master.conn();
    let r = s(m.cmd(&[
        "ACL",
        "SETUSER",
        "repl",
        "on",
        ">rpass",
        "+psync",
        "+replconf",
        "+ping",
        "+sync",
    ]));
    assert_eq!(r, "+OK\r\n");
    let replica = Server::start(&[
        "--replicaof",
        "127.0.0.1",
        &master.port().to_string(),
        "--masteruser",
        "repl",
        "--masterauth",
        "rpass",
    ]);
    wait_link_up(&replica);
    let mut r = replica.conn();
    let set = s(r.cmd(&["ACL", "SETUSER", "default", "resetkeys", "~allowed*"]));
    assert_eq!(set, "+OK\r\n");
    m.cmd(&["SET", "x", "1"]);
    m.cmd(&["SET", "allowed:y", "2"]);
    wait_caught_up(&master, &replica);
    assert_eq!(s(r.cmd(&["DBSIZE"])), ":2\r\n");
    assert_eq!(s(r.cmd(&["GET", "allowed:y"])), "$1\r\n2\r\n");
    assert!(s(r.cmd(&["GET", "x"])).starts_with("-NOPERM"));
    master.assert_no_panic();
    replica.assert_no_panic();
}

#[test]
fn client_unblock_ends_a_wait_with_the_acks_so_far() {
    let master = Server::start(&[]);
    let replica = Server::start(&["--replicaof", "127.0.0.1", &master.port().to_string()]);
    wait_link_up(&replica);
    let mut m = master.conn();
    assert_eq!(s(m.cmd(&["SET", "k", "v"])), "+OK\r\n");
    let id = s(m.cmd(&["CLIENT", "ID"]));
    let id = id.trim_start_matches(':').trim().to_string();
    // The one replica has acknowledged the write...
    assert_eq!(s(m.cmd(&["WAIT", "1", "10000"])), ":1\r\n");
    // ...but two are wanted: blocks forever.
    m.send(&[b"WAIT", b"2", b"0"]);
    let mut admin = master.conn();
    let blocked = poll_until(Duration::from_secs(10), || {
        info_field(&mut admin, "clients", "blocked_clients").as_deref() == Some("1")
    });
    assert!(blocked);
    assert_eq!(s(admin.cmd(&["CLIENT", "UNBLOCK", &id])), ":1\r\n");
    assert_eq!(s(m.read_reply()), ":1\r\n");
    // With ERROR, the UNBLOCKED error instead.
    m.send(&[b"WAIT", b"2", b"0"]);
    let blocked = poll_until(Duration::from_secs(10), || {
        info_field(&mut admin, "clients", "blocked_clients").as_deref() == Some("1")
    });
    assert!(blocked);
    assert_eq!(s(admin.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"])), ":1\r\n");
    assert_eq!(
        s(m.read_reply()),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
}

/// Redis's multi.tcl "MULTI / EXEC with REPLICAOF": a transaction that
/// demotes the master still runs to the end, and is not propagated past
/// the demotion.
#[test]
fn replicaof_inside_a_transaction_does_not_fail_the_rest() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "foo2", "bar"]);
    c.cmd(&["REPLICAOF", "localhost", "9999"]);
    c.cmd(&["SET", "foo3", "bar"]);
    assert_eq!(s(c.cmd(&["EXEC"])), "*3\r\n+OK\r\n+OK\r\n+OK\r\n");
    assert!(s(c.cmd(&["SET", "foo4", "bar"])).starts_with("-READONLY"));
    assert_eq!(s(c.cmd(&["REPLICAOF", "NO", "ONE"])), "+OK\r\n");
}

/// Redis's multi.tcl "exec with write commands and state change": EXEC of
/// queued writes is refused when min-replicas-to-write is not met anymore.
#[test]
fn exec_of_writes_is_refused_without_enough_replicas() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let mut admin = srv.conn();
    c.cmd(&["SET", "xx", "1"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["INCR", "xx"]);
    admin.cmd(&["CONFIG", "SET", "min-replicas-to-write", "2"]);
    let e = s(c.cmd(&["EXEC"]));
    assert!(
        e.starts_with("-EXECABORT") && e.contains("NOREPLICAS"),
        "{}",
        e
    );
    admin.cmd(&["CONFIG", "SET", "min-replicas-to-write", "0"]);
    assert_eq!(s(c.cmd(&["GET", "xx"])), "$1\r\n1\r\n");
}

/// Redis's multi.tcl "exec with read commands and stale replica state
/// change": reads queued while the link was up are refused at EXEC once
/// the replica is stale and replica-serve-stale-data is no.
#[test]
fn exec_of_reads_is_refused_on_a_stale_replica() {
    let master = RealRedis::start();
    let replica = Server::start(&[
        "--replicaof",
        "127.0.0.1",
        &master.port().to_string(),
        "--replica-serve-stale-data",
        "no",
    ]);
    wait_link_up(&replica);
    let mut c = replica.conn();
    c.cmd(&["MULTI"]);
    assert_eq!(s(c.cmd(&["GET", "xx"])), "+QUEUED\r\n");
    drop(master);
    let mut probe = replica.conn();
    let down = poll_until(Duration::from_secs(20), || {
        info_field(&mut probe, "replication", "master_link_status").as_deref() == Some("down")
    });
    assert!(down);
    let e = s(c.cmd(&["EXEC"]));
    assert!(
        e.starts_with("-EXECABORT") && e.contains("MASTERDOWN"),
        "{}",
        e
    );
}

/// `bind-source-addr`: the replica's link to its master leaves from that
/// address, so the master lists the replica under it.
#[test]
fn bind_source_addr_is_the_links_source_address() {
    let master = Server::start(&[]);
    let replica = Server::start(&["--bind-source-addr", "127.0.0.2"]);
    let mut r = replica.conn();
    r.cmd(&["REPLICAOF", "127.0.0.1", &master.port().to_string()]);
    // Protected mode counts only 127.0.0.1 and ::1 as local (Redis's
    // islocalClient), so the master refuses a link from 127.0.0.2 ...
    let denied = poll_until(SYNC_DEADLINE, || {
        replica.log().contains(
            "Error reply to PING from master: '-DENIED Redis is running in protected mode",
        )
    });
    assert!(denied, "{}", replica.log());
    // ... until protected mode is off.
    let mut m = master.conn();
    assert_eq!(
        s(m.cmd(&["CONFIG", "SET", "protected-mode", "no"])),
        "+OK\r\n"
    );
    wait_link_up(&replica);
    let line = info_field(&mut m, "replication", "slave0").unwrap_or_default();
    assert!(line.starts_with("ip=127.0.0.2,"), "{line}");
}

/// pause.tcl "Test when replica paused, offset would not grow": a WRITE
/// pause on a replica holds the master's writes; they count as read
/// (slave_read_repl_offset) but not applied until the pause ends.
#[test]
fn paused_replica_reads_but_does_not_apply() {
    let master = Server::start(&["--repl-ping-replica-period", "3600"]);
    let replica = Server::start(&["--replicaof", "127.0.0.1", &master.port().to_string()]);
    wait_link_up(&replica);
    let mut m = master.conn();
    m.cmd(&["SET", "foo", "bar"]);
    wait_caught_up(&master, &replica);
    let mut r = replica.conn();
    let applied = offset(&mut r);
    let num = |c: &mut RawConn, f: &str| -> i64 {
        info_field(c, "replication", f)
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1)
    };
    assert_eq!(s(r.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"])), "+OK\r\n");
    m.cmd(&["SET", "foo2", "bar2"]);
    let target = offset(&mut m);
    assert!(poll_until(SYNC_DEADLINE, || num(
        &mut r,
        "slave_read_repl_offset"
    ) == target));
    assert_eq!(num(&mut r, "slave_repl_offset"), applied);
    assert_eq!(s(r.cmd(&["GET", "foo2"])), "$-1\r\n");
    r.cmd(&["CLIENT", "UNPAUSE"]);
    assert!(poll_until(SYNC_DEADLINE, || num(
        &mut r,
        "slave_repl_offset"
    ) == target));
    assert_eq!(s(r.cmd(&["GET", "foo2"])), "$4\r\nbar2\r\n");
    replica.assert_no_panic();
}

/// A writable replica expires the keys its own clients gave a TTL
/// (expireSlaveKeys; unit/expire "expired key which is created in
/// writeable replicas should be deleted by active expiry"), on ferrokv as
/// on redis-server, even with its master unreachable.
#[test]
fn writable_replica_expires_its_own_keys() {
    let ours = Server::start(&[]);
    let theirs = common::RealRedis::start();
    for mut c in [ours.conn(), theirs.conn()] {
        c.cmd(&["REPLICAOF", "127.0.0.1", "1"]);
        assert_eq!(
            c.cmd_str(&["CONFIG", "SET", "replica-read-only", "no"]),
            "+OK\r\n"
        );
        c.cmd(&["SET", "keep", "v"]);
        assert_eq!(c.cmd_str(&["SET", "foo", "bar", "PX", "1"]), "+OK\r\n");
        let gone = common::poll_until(Duration::from_secs(10), || {
            let info = c.cmd_str(&["INFO", "stats"]);
            c.cmd_str(&["DBSIZE"]) == ":1\r\n" && info.contains("expired_keys:1\r\n")
        });
        assert!(gone, "{}", c.cmd_str(&["INFO", "stats"]));
        c.cmd(&["REPLICAOF", "NO", "ONE"]);
    }
    ours.assert_no_panic();
}

/// redis-cli --functions-rdb / --rdb (REPLCONF rdb-only + rdb-filter-only):
/// the filtered snapshot holds the function libraries and no keys, the
/// unfiltered one both; each loads into a fresh server. Bad filters get
/// Redis's errors, and a filtered replica without EOF capability is
/// refused.
#[test]
fn rdb_filter_only_functions_snapshot() {
    let srv = Server::start(&["--repl-diskless-sync-delay", "0"]);
    let mut c = srv.conn();
    c.cmd(&["SET", "k1", "v1"]);
    let lib = "#!lua name=mylib\nredis.register_function('myfunc', function() return 1 end)";
    assert_eq!(s(c.cmd(&["FUNCTION", "LOAD", lib])), "$5\r\nmylib\r\n");
    let dir = common::temp_dir("filter-rdb");
    for (flag, file, keys) in [("--functions-rdb", "f.rdb", 0), ("--rdb", "a.rdb", 1)] {
        let path = dir.join(file);
        let out = common::redis_cli(srv.port(), &[flag, path.to_str().unwrap()]);
        assert!(out.contains("Transfer finished with success"), "{out}");
        let dir_s = dir.to_str().unwrap();
        let loaded = Server::start(&["--dir", dir_s, "--dbfilename", file]);
        let mut l = loaded.conn();
        assert_eq!(l.cmd_int(&["DBSIZE"]), keys, "{flag}");
        let libs = s(l.cmd(&["FUNCTION", "LIST"]));
        assert!(libs.contains("mylib"), "{flag}: {libs}");
    }
    assert_eq!(
        s(c.cmd(&["REPLCONF", "rdb-filter-only", "foo"])),
        "-ERR Unsupported rdb-filter-only option: foo\r\n"
    );
    assert_eq!(
        s(c.cmd(&["REPLCONF", "rdb-filter-only", "\"open"])),
        "-ERR Missing rdb-filter-only values\r\n"
    );
    let mut r = srv.conn();
    assert_eq!(s(r.cmd(&["REPLCONF", "rdb-filter-only", ""])), "+OK\r\n");
    assert_eq!(
        s(r.cmd(&["SYNC"])),
        "-ERR Filtered replica requires EOF capability\r\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// CLIENT KILL of the master client takes the link down at once, as
/// Redis frees the client there (repl_down_since is the kill's time): an
/// INFO in the same transaction already sees the link down.
#[test]
fn killing_the_master_client_takes_the_link_down_at_once() {
    let master = Server::start(&[]);
    let replica = Server::start(&["--replicaof", "127.0.0.1", &master.port().to_string()]);
    wait_link_up(&replica);
    let mut r = replica.conn();
    assert_eq!(s(r.cmd(&["MULTI"])), "+OK\r\n");
    r.cmd(&["CLIENT", "KILL", "TYPE", "master"]);
    r.cmd(&["INFO", "replication"]);
    let out = arr(r.cmd(&["EXEC"]));
    assert!(out.first().is_some_and(|k| k.ends_with('1')), "{out:?}");
    assert!(
        out.get(1)
            .is_some_and(|i| i.contains("master_link_status:down")),
        "{out:?}"
    );
    wait_link_up(&replica);
}
