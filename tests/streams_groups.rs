//! Stream consumer groups beyond the differential script: XREADGROUP BLOCK
//! served by XADD (and woken by XGROUP DESTROY, or unblocked with an error
//! when its stream is deleted, replaced, flushed, swapped away or expires;
//! a NOACK read propagating its new consumer), replication of PEL changes
//! to a ferrokv replica and a real redis-server replica of a ferrokv master,
//! and DUMP/RESTORE and RDB files with consumer groups round-tripping with
//! a real redis-server 7.0 byte for byte.

use crate::common;

use common::{flatten, poll_until, RawConn, RealRedis, Server};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(20);

fn s(r: Vec<u8>) -> String {
    String::from_utf8_lossy(&r).into_owned()
}

fn info_field(c: &mut RawConn, section: &str, name: &str) -> Option<String> {
    let text = s(c.cmd(&["INFO", section]));
    let prefix = format!("{}:", name);
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

fn blocked_clients(c: &mut RawConn) -> i64 {
    info_field(c, "clients", "blocked_clients")
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// The reply with the element after each label in `labels` blanked out.
fn masked(reply: &[u8], labels: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut blank = false;
    for e in flatten(reply) {
        let t = String::from_utf8_lossy(&e).into_owned();
        if blank {
            out.push("X".to_string());
            blank = false;
            continue;
        }
        blank = labels
            .iter()
            .any(|l| t == format!("${}\r\n{}\r\n", l.len(), l));
        out.push(t);
    }
    out
}

#[test]
fn xreadgroup_block_is_served_by_xadd() {
    let srv = Server::start(&[]);
    let mut a = srv.conn();
    let mut b = srv.conn();
    assert_eq!(
        s(b.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"])),
        "+OK\r\n"
    );
    a.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"alice",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
    assert!(poll_until(DEADLINE, || blocked_clients(&mut b) == 1));
    assert_eq!(s(b.cmd(&["XADD", "s", "5-1", "f", "v"])), "$3\r\n5-1\r\n");
    let got = s(a.read_reply());
    assert_eq!(
        got,
        "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
    // The delivery is pending for alice, the group moved on.
    assert_eq!(
        s(b.cmd(&["XPENDING", "s", "g"])),
        "*4\r\n:1\r\n$3\r\n5-1\r\n$3\r\n5-1\r\n*1\r\n*2\r\n$5\r\nalice\r\n$1\r\n1\r\n"
    );
    // Nothing new: a short block times out with a null reply.
    let r = s(a.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "BLOCK",
        "50",
        "STREAMS",
        "s",
        ">",
    ]));
    assert_eq!(r, "*-1\r\n");
    // XGROUP DESTROY wakes a blocked reader with NOGROUP.
    a.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"bob",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
    assert!(poll_until(DEADLINE, || blocked_clients(&mut b) == 1));
    assert_eq!(s(b.cmd(&["XGROUP", "DESTROY", "s", "g"])), ":1\r\n");
    assert_eq!(
        s(a.read_reply()),
        "-NOGROUP the consumer group this client was blocked on no longer exists\r\n"
    );
    srv.assert_no_panic();
}

fn offset(c: &mut RawConn) -> i64 {
    info_field(c, "replication", "master_repl_offset")
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

fn wait_caught_up(master: &Server, replica: &Server) {
    let mut m = master.conn();
    let mut r = replica.conn();
    let ok = poll_until(DEADLINE, || {
        info_field(&mut r, "replication", "master_link_status").as_deref() == Some("up") && {
            let mo = offset(&mut m);
            mo > 0 && offset(&mut r) == mo
        }
    });
    assert!(
        ok,
        "replica did not catch up\nmaster log:\n{}\nreplica log:\n{}",
        master.log(),
        replica.log()
    );
}

/// A consumer group workload touching every PEL path.
fn group_workload(c: &mut RawConn, key: &str) {
    for i in 1..=10 {
        let id = format!("1-{}", i);
        c.cmd(&["XADD", key, &id, "f", &i.to_string(), "g", "x"]);
    }
    let ok = |r: Vec<u8>| assert!(r.first() != Some(&b'-'), "{}", s(r));
    ok(c.cmd(&["XGROUP", "CREATE", key, "g", "0"]));
    ok(c.cmd(&["XGROUP", "CREATE", key, "g2", "$", "ENTRIESREAD", "10"]));
    ok(c.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "COUNT",
        "3",
        "STREAMS",
        key,
        ">",
    ]));
    ok(c.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "bob",
        "COUNT",
        "2",
        "STREAMS",
        key,
        ">",
    ]));
    ok(c.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "carol",
        "NOACK",
        "COUNT",
        "1",
        "STREAMS",
        key,
        ">",
    ]));
    ok(c.cmd(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", key, "0"]));
    ok(c.cmd(&["XACK", key, "g", "1-1", "1-4"]));
    ok(c.cmd(&[
        "XCLAIM", key, "g", "dave", "0", "1-2", "1-5", "TIME", "1000",
    ]));
    ok(c.cmd(&["XCLAIM", key, "g", "dave", "0", "1-9", "FORCE", "JUSTID"]));
    ok(c.cmd(&["XDEL", key, "1-3"]));
    ok(c.cmd(&["XAUTOCLAIM", key, "g", "erin", "0", "0", "COUNT", "2"]));
    ok(c.cmd(&["XGROUP", "CREATECONSUMER", key, "g", "frank"]));
    ok(c.cmd(&["XGROUP", "DELCONSUMER", key, "g", "bob"]));
    ok(c.cmd(&["XADD", key, "2-1", "h", "1"]));
    ok(c.cmd(&["XREADGROUP", "GROUP", "g2", "zed", "STREAMS", key, ">"]));
    ok(c.cmd(&[
        "XCLAIM", key, "g2", "zed", "0", "2-1", "LASTID", "3-0", "JUSTID",
    ]));
}

fn full(c: &mut RawConn, key: &str) -> Vec<u8> {
    c.cmd(&["XINFO", "STREAM", key, "FULL"])
}

#[test]
fn replicas_of_a_ferrokv_master_see_the_same_pel() {
    let master = Server::start(&[]);
    let port = master.port().to_string();
    let fr = Server::start(&["--replicaof", "127.0.0.1", &port]);
    let rr = RealRedis::start_with(&["--replicaof", "127.0.0.1", &port]);
    let mut m = master.conn();
    // Before the replicas attach (full sync carries the groups) and after.
    group_workload(&mut m, "before");
    wait_caught_up(&master, &fr);
    wait_caught_up(&master, &rr);
    group_workload(&mut m, "after");
    // A blocked reader served by XADD propagates its delivery too.
    let mut blocked = master.conn();
    blocked.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g2",
        b"gina",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"after",
        b">",
    ]);
    assert!(poll_until(DEADLINE, || blocked_clients(&mut m) == 1));
    m.cmd(&["XADD", "after", "9-1", "late", "1"]);
    let r = s(blocked.read_reply());
    assert!(r.contains("9-1"), "{}", r);
    wait_caught_up(&master, &fr);
    wait_caught_up(&master, &rr);
    let mut fc = fr.conn();
    let mut rc = rr.conn();
    for key in ["before", "after"] {
        let ff = full(&mut fc, key);
        let rf = full(&mut rc, key);
        // The two replicas agree on everything but when they saw consumers.
        assert_eq!(
            masked(&ff, &["seen-time"]),
            masked(&rf, &["seen-time"]),
            "{}: ferrokv replica vs redis replica",
            key
        );
        // The master agrees on the PELs, delivery counts and times (its
        // implicitly created consumers without pending entries are not
        // propagated by Redis 7.0, nor is entries-read with deliveries).
        for g in ["g", "g2"] {
            let pend = |c: &mut RawConn| {
                let mut v: Vec<String> = flatten(&c.cmd(&["XPENDING", key, g, "-", "+", "100"]))
                    .into_iter()
                    .map(|e| String::from_utf8_lossy(&e).into_owned())
                    .collect();
                for k in (4..v.len()).step_by(5) {
                    v[k] = "idle".into();
                }
                v
            };
            let want = pend(&mut m);
            assert!(want.len() > 1, "{}: empty PEL", key);
            assert_eq!(
                want,
                pend(&mut fc),
                "{} {}: master vs ferrokv replica",
                key,
                g
            );
            assert_eq!(
                want,
                pend(&mut rc),
                "{} {}: master vs redis replica",
                key,
                g
            );
        }
        let p = s(m.cmd(&["XPENDING", key, "g"]));
        assert_eq!(p, s(fc.cmd(&["XPENDING", key, "g"])));
        assert_eq!(p, s(rc.cmd(&["XPENDING", key, "g"])));
    }
    master.assert_no_panic();
    fr.assert_no_panic();
}

/// The payload of a DUMP reply.
fn dump_body(c: &mut RawConn, key: &str) -> Vec<u8> {
    let p = flatten(&c.cmd(&["DUMP", key]));
    let payload = &p[0];
    let start = payload.iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
    payload[start..payload.len() - 2].to_vec()
}

#[test]
fn groups_round_trip_through_dump_and_rdb_with_redis() {
    let f = Server::start(&[]);
    let r = RealRedis::start();
    let mut fc = f.conn();
    let mut rc = r.conn();
    group_workload(&mut fc, "fk");
    group_workload(&mut rc, "rk");
    // ferrokv's payload restored in Redis dumps back to the same bytes.
    let body = dump_body(&mut fc, "fk");
    let got = rc.cmd_bytes(&[b"RESTORE", b"fk", b"0", &body]);
    assert_eq!(s(got), "+OK\r\n");
    assert_eq!(dump_body(&mut rc, "fk"), body);
    assert_eq!(full(&mut rc, "fk"), full(&mut fc, "fk"));
    // And Redis's payload in ferrokv.
    let body = dump_body(&mut rc, "rk");
    let got = fc.cmd_bytes(&[b"RESTORE", b"rk", b"0", &body]);
    assert_eq!(s(got), "+OK\r\n");
    assert_eq!(dump_body(&mut fc, "rk"), body);
    assert_eq!(full(&mut fc, "rk"), full(&mut rc, "rk"));
    assert_eq!(
        s(fc.cmd(&["XINFO", "GROUPS", "rk"])),
        s(rc.cmd(&["XINFO", "GROUPS", "rk"]))
    );
    // A whole RDB file saved by ferrokv loads in Redis with the groups.
    let dir = common::temp_dir("streams-groups-rdb");
    let d = dir.to_string_lossy().into_owned();
    let f2 = Server::start(&["--dir", &d]);
    let mut c2 = f2.conn();
    let got = c2.cmd_bytes(&[b"RESTORE", b"rk", b"0", &body]);
    assert_eq!(s(got), "+OK\r\n");
    group_workload(&mut c2, "more");
    assert_eq!(s(c2.cmd(&["SAVE"])), "+OK\r\n");
    let want_rk = full(&mut c2, "rk");
    let want_more = full(&mut c2, "more");
    let want_dump = dump_body(&mut c2, "more");
    drop(f2);
    let r2 = RealRedis::start_with(&["--dir", &d]);
    let mut c3 = r2.conn();
    assert_eq!(full(&mut c3, "rk"), want_rk);
    assert_eq!(full(&mut c3, "more"), want_more);
    assert_eq!(dump_body(&mut c3, "more"), want_dump);
    // And back: Redis saves, ferrokv loads.
    assert_eq!(s(c3.cmd(&["SAVE"])), "+OK\r\n");
    drop(r2);
    let f3 = Server::start(&["--dir", &d]);
    let mut c4 = f3.conn();
    assert_eq!(full(&mut c4, "more"), want_more);
    assert_eq!(dump_body(&mut c4, "more"), want_dump);
    f.assert_no_panic();
    f3.assert_no_panic();
    let _ = std::fs::remove_dir_all(&dir);
}

/// With appendonly yes, consumer groups survive a restart both from the
/// command log (XCLAIM / XGROUP SETID propagation) and from a rewritten
/// AOF without RDB preamble (XGROUP CREATE ... ENTRIESREAD, XCLAIM ...
/// FORCE, XGROUP CREATECONSUMER), and Redis loads that AOF the same way.
#[test]
fn groups_survive_aof_replay_and_rewrite() {
    let dir = common::temp_dir("streams-groups-aof");
    let d = dir.to_string_lossy().into_owned();
    let args = [
        "--dir",
        d.as_str(),
        "--appendonly",
        "yes",
        "--aof-use-rdb-preamble",
        "no",
        "--appendfsync",
        "always",
    ];
    let wait_rewrite = |c: &mut RawConn| {
        assert!(poll_until(DEADLINE, || {
            info_field(c, "persistence", "aof_rewrite_in_progress").as_deref() == Some("0")
                && info_field(c, "persistence", "aof_rewrite_scheduled").as_deref() == Some("0")
        }));
    };
    let f = Server::start(&args);
    let mut c = f.conn();
    group_workload(&mut c, "k");
    let want = masked(&full(&mut c, "k"), &["seen-time"]);
    drop(f);
    // Replay of the logged commands.
    let f = Server::start(&args);
    let mut c = f.conn();
    let replayed = masked(&full(&mut c, "k"), &["seen-time"]);
    // Deliveries replay as XCLAIMs (Redis 7.0 logs no entries-read with
    // them, nor implicitly created consumers without pending entries).
    let pend = |c: &mut RawConn| s(c.cmd(&["XPENDING", "k", "g"]));
    let before = pend(&mut c);
    assert!(before.starts_with("*4\r\n:3"), "{}", before);
    assert!(replayed.len() <= want.len());
    // Rewrite, restart: the same state again.
    assert!(s(c.cmd(&["BGREWRITEAOF"])).starts_with('+'));
    wait_rewrite(&mut c);
    let after_rewrite = masked(&full(&mut c, "k"), &["seen-time"]);
    assert_eq!(after_rewrite, replayed);
    drop(f);
    let f = Server::start(&args);
    let mut c = f.conn();
    assert_eq!(masked(&full(&mut c, "k"), &["seen-time"]), replayed);
    assert_eq!(pend(&mut c), before);
    f.assert_no_panic();
    drop(f);
    // Redis loads ferrokv's rewritten AOF with the same groups.
    let r = RealRedis::start_with(&args);
    let mut rc = r.conn();
    assert_eq!(masked(&full(&mut rc, "k"), &["seen-time"]), replayed);
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
}

fn block_readgroup(c: &mut RawConn) {
    c.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"alice",
        b"BLOCK",
        b"0",
        b"STREAMS",
        b"s",
        b">",
    ]);
}

/// Redis 7.0.15's stream-cgroups.tcl "Blocking XREADGROUP: key deleted /
/// type changed / flushed DB / swapped DB": a blocked XREADGROUP whose
/// stream goes away is answered at once with the UNBLOCKED error (counted
/// in errorstats and as a failed call), while a blocked XREAD waits on.
#[test]
fn xreadgroup_unblocked_when_its_stream_goes_away() {
    let srv = Server::start(&[]);
    let mut a = srv.conn();
    let mut b = srv.conn();
    b.cmd(&["CONFIG", "RESETSTAT"]);
    let gone = "-UNBLOCKED the stream key no longer exists\r\n";
    let setup = |b: &mut RawConn| {
        b.cmd(&["DEL", "s"]);
        b.cmd(&["XADD", "s", "1-1", "f", "v"]);
        assert_eq!(s(b.cmd(&["XGROUP", "CREATE", "s", "g", "$"])), "+OK\r\n");
    };
    let ways: &[&[&[&str]]] = &[
        &[&["DEL", "s"]],
        &[&["SET", "s", "x"]],
        &[&["MULTI"], &["DEL", "s"], &["SADD", "s", "e"], &["EXEC"]],
        &[&["FLUSHALL"]],
        &[
            &["SELECT", "4"],
            &["FLUSHDB"],
            &["SELECT", "0"],
            &["SWAPDB", "4", "0"],
        ],
        &[
            &["SELECT", "4"],
            &["FLUSHDB"],
            &["LPUSH", "s", "e"],
            &["SELECT", "0"],
            &["SWAPDB", "4", "0"],
        ],
        // Active expiry, from the cron (no command touches the key).
        &[&["PEXPIRE", "s", "1"]],
    ];
    for (n, way) in ways.iter().enumerate() {
        setup(&mut b);
        block_readgroup(&mut a);
        assert!(poll_until(DEADLINE, || blocked_clients(&mut b) == 1));
        for cmd in way.iter() {
            b.cmd(cmd);
        }
        assert_eq!(s(a.read_reply()), gone, "{:?}", way);
        assert_eq!(blocked_clients(&mut b), 0);
        let stat = info_field(&mut b, "errorstats", "errorstat_UNBLOCKED");
        assert_eq!(stat, Some(format!("count={}", n + 1)));
    }
    let cmdstat = info_field(&mut b, "commandstats", "cmdstat_xreadgroup").unwrap_or_default();
    assert!(cmdstat.contains("failed_calls=7"), "{}", cmdstat);

    // XREAD keeps waiting through a DEL and is served by the next XADD.
    b.cmd(&["DEL", "s"]);
    b.cmd(&["XADD", "s", "1-1", "f", "v"]);
    a.send(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    assert!(poll_until(DEADLINE, || blocked_clients(&mut b) == 1));
    b.cmd(&["DEL", "s"]);
    assert_eq!(blocked_clients(&mut b), 1);
    b.cmd(&["XADD", "s", "2-1", "g", "w"]);
    assert_eq!(
        s(a.read_reply()),
        "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-1\r\n*2\r\n$1\r\ng\r\n$1\r\nw\r\n"
    );
    srv.assert_no_panic();
}

/// stream-cgroups.tcl "XREADGROUP with NOACK creates consumer": the
/// consumer a NOACK read creates reaches the AOF (and replicas) as
/// `XGROUP CREATECONSUMER`, also when a blocked read is served.
#[test]
fn noack_read_propagates_the_consumer_it_creates() {
    let dir = common::temp_dir("streams-noack-consumer");
    let d = dir.to_string_lossy().into_owned();
    let args = [
        "--dir",
        d.as_str(),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--enable-debug-command",
        "yes",
    ];
    let f = Server::start(&args);
    let mut a = f.conn();
    let mut b = f.conn();
    b.cmd(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    b.cmd(&["XADD", "s", "1-1", "f", "v"]);
    b.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "NOACK",
        "STREAMS",
        "s",
        ">",
    ]);
    a.send(&[
        b"XREADGROUP",
        b"GROUP",
        b"g",
        b"bob",
        b"BLOCK",
        b"0",
        b"NOACK",
        b"STREAMS",
        b"s",
        b">",
    ]);
    assert!(poll_until(DEADLINE, || blocked_clients(&mut b) == 1));
    b.cmd(&["XADD", "s", "2-1", "f", "v"]);
    a.read_reply();
    let groups = s(b.cmd(&["XINFO", "GROUPS", "s"]));
    assert!(groups.contains("consumers\r\n:2"), "{}", groups);
    let r = s(b.cmd(&["DEBUG", "LOADAOF"]));
    assert!(r.starts_with('+'), "{}", r);
    assert_eq!(s(b.cmd(&["XINFO", "GROUPS", "s"])), groups);
    let consumers = s(b.cmd(&["XINFO", "CONSUMERS", "s", "g"]));
    assert!(
        consumers.contains("alice") && consumers.contains("bob"),
        "{}",
        consumers
    );
    f.assert_no_panic();
    drop(f);
    let _ = std::fs::remove_dir_all(&dir);
}
