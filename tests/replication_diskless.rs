//! Diskless replication as Redis 7.0 does it, checked against real
//! redis-server 7.0: a master with `repl-diskless-sync` streams one
//! child's RDB (`$EOF:<mark>` format) to every replica waiting when it
//! forks, after `repl-diskless-sync-delay` or once
//! `repl-diskless-sync-max-replicas` wait; replicas with
//! `repl-diskless-load swapdb` load from the socket, keeping the old
//! dataset readable (async_loading) while the master's history is theirs,
//! and keep it when the transfer fails. A replica link that produces a
//! reply is disconnected.

use crate::common;

use common::{poll_until, RawConn, RealRedis, Server};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

fn s(r: Vec<u8>) -> String {
    String::from_utf8_lossy(&r).into_owned()
}

fn info_field(c: &mut RawConn, section: &str, name: &str) -> Option<String> {
    let text = s(c.cmd(&["INFO", section]));
    let prefix = format!("{}:", name);
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

fn wait_field(srv: &Server, section: &str, name: &str, want: &str) {
    let mut c = srv.conn();
    let ok = poll_until(DEADLINE, || {
        info_field(&mut c, section, name).as_deref() == Some(want)
    });
    assert!(ok, "{} never became {}; log:\n{}", name, want, srv.log());
}

fn wait_synced(master: &Server, replica: &Server) {
    wait_field(replica, "replication", "master_link_status", "up");
    let mut m = master.conn();
    let mut r = replica.conn();
    let ok = poll_until(DEADLINE, || {
        let mo = info_field(&mut m, "replication", "master_repl_offset");
        mo.is_some() && mo == info_field(&mut r, "replication", "master_repl_offset")
    });
    assert!(
        ok,
        "replica did not catch up; replica log:\n{}",
        replica.log()
    );
}

fn digest(srv: &Server) -> String {
    s(srv.conn().cmd(&["DEBUG", "DIGEST"]))
}

/// A master of the given kind with diskless sync and no delay.
fn master(real: bool, extra: &[&str]) -> Server {
    let mut args = vec![
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ];
    args.extend_from_slice(extra);
    if real {
        RealRedis::start_with(&args)
    } else {
        Server::start(&args)
    }
}

fn replica(real: bool, extra: &[&str]) -> Server {
    let mut args = vec!["--enable-debug-command", "yes"];
    args.extend_from_slice(extra);
    if real {
        RealRedis::start_with(&args)
    } else {
        Server::start(&args)
    }
}

fn fill(m: &mut RawConn) {
    assert_eq!(
        s(m.cmd(&["DEBUG", "POPULATE", "20000", "k", "200"])),
        "+OK\r\n"
    );
    m.cmd(&["RPUSH", "list", "a", "b", "c"]);
    m.cmd(&["HSET", "hash", "f", "v", "g", "w"]);
    m.cmd(&["ZADD", "zset", "1", "a", "2", "b"]);
    m.cmd(&["SADD", "set", "x", "y"]);
    m.cmd(&["XADD", "stream", "1-1", "f", "v"]);
    m.cmd(&["SET", "ttl", "v", "EX", "1000"]);
    m.cmd(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=lib\nredis.register_function{function_name='f', callback=function() return 'one' end, flags={'no-writes'}}",
    ]);
}

/// Our master streams to both kinds of replica, loading to disk or from
/// the socket; a real master streams to our replica.
#[test]
fn diskless_full_sync_in_every_pairing() {
    for (real_master, real_replica, load) in [
        (false, false, "disabled"),
        (false, false, "swapdb"),
        (false, false, "on-empty-db"),
        (false, true, "disabled"),
        (false, true, "swapdb"),
        (true, false, "swapdb"),
        (true, false, "disabled"),
    ] {
        let m = master(real_master, &[]);
        let mut mc = m.conn();
        fill(&mut mc);
        let r = replica(real_replica, &["--repl-diskless-load", load]);
        let mut rc = r.conn();
        // (on-empty-db loads from the socket only into an empty dataset.)
        if load != "on-empty-db" {
            rc.cmd(&["SET", "old", "data"]);
        }
        rc.cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
        wait_synced(&m, &r);
        mc.cmd(&["SET", "after", "1"]);
        mc.cmd(&["RPUSH", "list", "d"]);
        wait_synced(&m, &r);
        assert_eq!(
            digest(&m),
            digest(&r),
            "{} -> {} ({}) differ\nmaster log:\n{}\nreplica log:\n{}",
            real_master,
            real_replica,
            load,
            m.log(),
            r.log()
        );
        assert_eq!(s(rc.cmd(&["FCALL_RO", "f", "0"])), "$3\r\none\r\n");
        assert_eq!(s(rc.cmd(&["EXISTS", "old"])), ":0\r\n");
        if !real_master {
            let log = m.log();
            assert!(
                log.contains("Starting BGSAVE for SYNC with target: replicas sockets"),
                "{}",
                log
            );
            assert!(log.contains("Waiting for REPLCONF ACK from slave to enable streaming"));
        }
        if !real_replica && load != "disabled" {
            let log = r.log();
            assert!(
                log.contains("receiving streamed RDB from master with EOF to parser"),
                "{}",
                log
            );
        }
    }
}

/// One child serves every replica waiting when it forks: with a long
/// delay, the fork waits until repl-diskless-sync-max-replicas replicas
/// wait (the first stays in the handshake meanwhile).
#[test]
fn diskless_fork_waits_for_max_replicas() {
    for real in [false, true] {
        let m = master(
            real,
            &[
                "--repl-diskless-sync-delay",
                "1000",
                "--repl-diskless-sync-max-replicas",
                "2",
            ],
        );
        let mut mc = m.conn();
        fill(&mut mc);
        let r1 = replica(false, &[]);
        r1.conn()
            .cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
        wait_field(&m, "replication", "connected_slaves", "1");
        let mut c1 = r1.conn();
        let waiting = poll_until(DEADLINE, || {
            s(c1.cmd(&["ROLE"])).contains("handshake")
                && info_field(&mut mc, "replication", "slave0")
                    .is_some_and(|v| v.contains("state=wait_bgsave"))
        });
        assert!(
            waiting,
            "first replica should wait; master log:\n{}",
            m.log()
        );
        // Nothing forked yet.
        assert_eq!(
            info_field(&mut mc, "persistence", "rdb_bgsave_in_progress").as_deref(),
            Some("0")
        );
        let r2 = replica(true, &[]);
        r2.conn()
            .cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
        wait_synced(&m, &r1);
        wait_synced(&m, &r2);
        assert_eq!(digest(&m), digest(&r1));
        assert_eq!(digest(&m), digest(&r2));
        let forks = m.log().matches("Background RDB transfer started").count();
        assert_eq!(forks, 1, "one child for both; master log:\n{}", m.log());
    }
}

/// swapdb with the master's own history: the old dataset stays readable
/// during the load (async_loading), some commands get -LOADING, and a
/// failed transfer keeps it.
#[test]
fn swapdb_async_loading_keeps_old_dataset() {
    for real_master in [false, true] {
        let m = master(real_master, &["--rdbcompression", "no"]);
        // Clients are served every 64 KiB loaded (Redis's 2 MB would make
        // each command wait long).
        let r = replica(
            false,
            &[
                "--repl-diskless-load",
                "swapdb",
                "--loading-process-events-interval-bytes",
                "65536",
            ],
        );
        let mut mc = m.conn();
        let mut rc = r.conn();
        rc.cmd(&["CONFIG", "SET", "replica-read-only", "no"]);
        rc.cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
        wait_synced(&m, &r);
        mc.cmd(&["DEBUG", "POPULATE", "500", "m", "20000"]);
        wait_synced(&m, &r);
        rc.cmd(&["SET", "mykey", "myvalue"]);
        let before = s(rc.cmd(&["DBSIZE"]));
        // Slow snapshots; a new full sync with the same replication id.
        mc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "10000"]);
        mc.cmd(&["MULTI"]);
        mc.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
        mc.cmd(&["CONFIG", "SET", "repl-backlog-size", "16384"]);
        let big = "A".repeat(16384);
        for i in 0..10 {
            mc.cmd(&["SET", &format!("fill{}", i), &big]);
        }
        assert!(s(mc.cmd(&["EXEC"])).starts_with('*'));
        wait_field(&r, "persistence", "async_loading", "1");
        assert_eq!(
            info_field(&mut rc, "persistence", "loading").as_deref(),
            Some("0")
        );
        assert_eq!(s(rc.cmd(&["GET", "mykey"])), "$7\r\nmyvalue\r\n");
        assert_eq!(s(rc.cmd(&["DBSIZE"])), before);
        assert!(s(rc.cmd(&["CONFIG", "SET", "appendonly", "no"])).starts_with("-LOADING"));
        assert!(s(rc.cmd(&["REPLICAOF", "NO", "ONE"])).starts_with("-LOADING"));
        // The transfer fails: the old dataset is still there.
        mc.cmd(&["CONFIG", "SET", "repl-diskless-sync-delay", "5"]);
        mc.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
        wait_field(&r, "persistence", "async_loading", "0");
        assert_eq!(s(rc.cmd(&["GET", "mykey"])), "$7\r\nmyvalue\r\n");
        assert_eq!(s(rc.cmd(&["DBSIZE"])), before);
        mc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
        mc.cmd(&["CONFIG", "SET", "repl-diskless-sync-delay", "0"]);
        wait_synced(&m, &r);
        assert_eq!(s(rc.cmd(&["EXISTS", "mykey"])), ":0\r\n");
        assert_eq!(digest(&m), digest(&r));
    }
}

/// A different history: a plain `loading` state, and the old data comes
/// back when the transfer is cut.
#[test]
fn swapdb_new_history_restores_old_data_on_failure() {
    let m = master(false, &["--rdbcompression", "no"]);
    let r = replica(false, &["--repl-diskless-load", "swapdb"]);
    let mut mc = m.conn();
    let mut rc = r.conn();
    mc.cmd(&["DEBUG", "POPULATE", "300", "m", "20000"]);
    mc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "10000"]);
    rc.cmd(&["DEBUG", "POPULATE", "20", "r", "10"]);
    rc.cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
    wait_field(&r, "persistence", "loading", "1");
    assert!(s(rc.cmd(&["GET", "r:1"])).starts_with("-LOADING"));
    mc.cmd(&["CONFIG", "SET", "repl-diskless-sync-delay", "5"]);
    mc.cmd(&["CLIENT", "KILL", "TYPE", "replica"]);
    wait_field(&r, "persistence", "loading", "0");
    assert_eq!(s(rc.cmd(&["DBSIZE"])), ":20\r\n");
    assert!(r.log().contains("Discarding temporary DB"));
}

/// When every replica drops during the transfer the child is killed; a
/// replica link that produces a reply is disconnected, in both servers.
#[test]
fn replicas_dropping_and_replying() {
    for real in [false, true] {
        let m = master(real, &["--rdbcompression", "no"]);
        let mut mc = m.conn();
        mc.cmd(&["DEBUG", "POPULATE", "2000", "k", "1000"]);
        mc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "1000"]);
        let r = replica(false, &[]);
        r.conn()
            .cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
        wait_field(&m, "persistence", "rdb_bgsave_in_progress", "1");
        r.conn().cmd(&["REPLICAOF", "NO", "ONE"]);
        wait_field(&m, "persistence", "rdb_bgsave_in_progress", "0");
        let log = m.log();
        if !real {
            assert!(
                log.contains("last replica dropped, killing fork child"),
                "{}",
                log
            );
        }
        mc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);

        // A PSYNC'ing client that sends GET: refused, then disconnected.
        let mut p = RawConn::connect(m.port());
        p.send(&[b"PSYNC", b"replicationid", b"-1"]);
        p.send(&[b"GET", b"foo"]);
        let (_, eof) = p.read_until_eof(DEADLINE);
        assert!(eof, "replica link not closed");
        let log = m.log();
        assert!(
            log.contains("Replica generated a reply to command 'get', disconnecting it"),
            "{}",
            log
        );
        assert!(log.contains("Replica can't interact with the keyspace"));
        // PSYNC with a bad offset is an error.
        assert_eq!(
            s(mc.cmd(&["PSYNC", "replicationid", "offset_str"])),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(s(mc.cmd(&["PING"])), "+PONG\r\n");
    }
}
