//! Redis 7.0's shared replication buffer, and replica-side details,
//! checked against real redis-server 7.0: the backlog keeps the stream
//! for replicas waiting for their snapshot (outgrowing
//! repl-backlog-size, once for all of them) and serves PSYNCs from it;
//! it shrinks when they go; a replica's hard output limit is at least the
//! backlog size; a writable replica expires the keys its own clients
//! wrote with a TTL; an error the master's stream causes is logged.

use crate::common;

use common::{poll_until, RawConn, RealRedis, Server};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

fn s(r: Vec<u8>) -> String {
    String::from_utf8_lossy(&r).into_owned()
}

fn info_i64(c: &mut RawConn, section: &str, name: &str) -> i64 {
    let text = s(c.cmd(&["INFO", section]));
    let prefix = format!("{}:", name);
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(-1)
}

fn info_str(c: &mut RawConn, section: &str, name: &str) -> String {
    let text = s(c.cmd(&["INFO", section]));
    let prefix = format!("{}:", name);
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

fn start(real: bool, extra: &[&str]) -> Server {
    let mut args = vec!["--enable-debug-command", "yes"];
    args.extend_from_slice(extra);
    if real {
        RealRedis::start_with(&args)
    } else {
        Server::start(&args)
    }
}

fn wait_synced(master: &Server, replica: &Server) {
    let mut m = master.conn();
    let mut r = replica.conn();
    let ok = poll_until(DEADLINE, || {
        info_str(&mut r, "replication", "master_link_status") == "up"
            && info_i64(&mut m, "replication", "master_repl_offset")
                == info_i64(&mut r, "replication", "master_repl_offset")
    });
    assert!(ok, "replica did not sync; replica log:\n{}", replica.log());
}

/// A replica waiting for a slow snapshot holds the stream in the backlog
/// (histlen beyond repl-backlog-size); another replica can PSYNC from
/// that far back; when the waiting one goes, the backlog shrinks.
#[test]
fn backlog_holds_stream_for_waiting_replicas() {
    for real in [false, true] {
        let m = start(
            real,
            &[
                "--repl-backlog-size",
                "16384",
                "--repl-diskless-sync-delay",
                "0",
            ],
        );
        let mut mc = m.conn();
        let r1 = start(false, &[]);
        r1.conn()
            .cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
        wait_synced(&m, &r1);
        // The next snapshot takes long: replica 2 waits for it.
        mc.cmd(&["DEBUG", "POPULATE", "100", "slow", "10"]);
        mc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "1000000"]);
        let r2 = start(false, &[]);
        r2.conn()
            .cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
        let waiting = poll_until(DEADLINE, || {
            info_i64(&mut mc, "persistence", "rdb_bgsave_in_progress") == 1
        });
        assert!(waiting);
        let value = "v".repeat(10_000);
        for i in 0..200 {
            mc.cmd(&["SET", &format!("k{}", i), &value]);
        }
        let hist = info_i64(&mut mc, "replication", "repl_backlog_histlen");
        assert!(hist > 2_000_000, "histlen {}", hist);
        let mem = info_i64(&mut mc, "memory", "mem_total_replication_buffers");
        assert!(mem >= hist, "buffers {} < histlen {}", mem, hist);
        wait_synced(&m, &r1);
        // Replica 1 leaves (for replica 2, which cannot serve it yet) and
        // comes back: a partial resync from far back.
        let partial = info_i64(&mut mc, "stats", "sync_partial_ok");
        r1.conn()
            .cmd(&["REPLICAOF", "127.0.0.1", &r2.port().to_string()]);
        for i in 0..100 {
            mc.cmd(&["SET", &format!("j{}", i), &value]);
        }
        r1.conn()
            .cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
        wait_synced(&m, &r1);
        assert_eq!(
            info_i64(&mut mc, "stats", "sync_partial_ok"),
            partial + 1,
            "master log:\n{}",
            m.log()
        );
        // Replica 2 gives up: nothing holds the history any more.
        r2.conn().cmd(&["REPLICAOF", "NO", "ONE"]);
        let shrunk = poll_until(DEADLINE, || {
            info_i64(&mut mc, "replication", "repl_backlog_histlen") < 1_000_000
        });
        assert!(shrunk, "backlog did not shrink");
        mc.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    }
}

/// A hard output limit below repl-backlog-size does not cut a replica
/// that PSYNCs a lot of backlog.
#[test]
fn replica_hard_limit_is_at_least_the_backlog() {
    for real in [false, true] {
        let m = start(
            real,
            &[
                "--repl-backlog-size",
                "50mb",
                "--repl-diskless-sync-delay",
                "0",
            ],
        );
        let mut mc = m.conn();
        mc.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "replica 512k 0 0",
        ]);
        let r = start(false, &[]);
        r.conn()
            .cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
        wait_synced(&m, &r);
        let big = vec![b'A'; 4 << 20];
        mc.send(&[b"MULTI"]);
        mc.send(&[b"CLIENT", b"KILL", b"TYPE", b"replica"]);
        mc.send(&[b"SET", b"key", &big]);
        mc.send(&[b"SET", b"key", &big]);
        mc.send(&[b"EXEC"]);
        for _ in 0..5 {
            mc.read_reply();
        }
        mc.cmd_bytes(&[b"SET", b"key2", &big]);
        wait_synced(&m, &r);
        assert_eq!(info_i64(&mut mc, "stats", "sync_full"), 1);
        assert_eq!(info_i64(&mut mc, "stats", "sync_partial_ok"), 1);
    }
}

/// Keys a writable replica's clients wrote with a TTL expire there; a
/// write to a logically expired key recreates it.
#[test]
fn writable_replica_expires_its_own_keys() {
    for real in [false, true] {
        let m = start(real, &["--repl-diskless-sync-delay", "0"]);
        let r = start(real, &[]);
        let mut rc = r.conn();
        rc.cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
        wait_synced(&m, &r);
        rc.cmd(&["CONFIG", "SET", "replica-read-only", "no"]);
        rc.cmd(&["SELECT", "5"]);
        rc.cmd(&["SET", "a", "1", "PX", "200"]);
        rc.cmd(&["SET", "b", "1", "PX", "200"]);
        let gone = poll_until(DEADLINE, || s(rc.cmd(&["DBSIZE"])) == ":0\r\n");
        assert!(gone, "writable replica kept its expired keys");

        // A key from the master, expired but kept (no DEL came).
        let mut mc = m.conn();
        mc.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        mc.cmd(&["SELECT", "6"]);
        mc.cmd(&["SET", "k", "5", "PX", "50"]);
        rc.cmd(&["SELECT", "6"]);
        let expired = poll_until(DEADLINE, || {
            s(rc.cmd(&["DBSIZE"])) == ":1\r\n" && s(rc.cmd(&["EXISTS", "k"])) == ":0\r\n"
        });
        assert!(expired);
        assert_eq!(s(rc.cmd(&["INCR", "k"])), ":1\r\n");
        assert_eq!(s(rc.cmd(&["TTL", "k"])), ":-1\r\n");
        mc.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    }
}

/// A command from the master that fails on the replica is logged.
#[test]
fn replica_logs_errors_from_the_master_stream() {
    for real in [false, true] {
        let m = start(real, &["--repl-diskless-sync-delay", "0"]);
        let r = start(real, &[]);
        let mut rc = r.conn();
        rc.cmd(&["REPLICAOF", "127.0.0.1", &m.port().to_string()]);
        wait_synced(&m, &r);
        rc.cmd(&["CONFIG", "SET", "replica-read-only", "no"]);
        rc.cmd(&["SET", "n", "foo"]);
        let mut mc = m.conn();
        mc.cmd(&["INCRBY", "n", "1"]);
        wait_synced(&m, &r);
        let log = r.log();
        assert!(
            log.contains("== CRITICAL == This replica is sending an error to its master: ")
                && log.contains("after processing the command 'incrby'"),
            "{}",
            log
        );
    }
}

/// SAVE resets the dirty counter: it must not reach the replication
/// stream (nor would SHUTDOWN's final save, which made replicas shut
/// down too).
#[test]
fn save_is_not_propagated() {
    for real in [false, true] {
        let m = start(real, &[]);
        let mut mc = m.conn();
        let mut stream = common::attach_replication_stream(m.port());
        mc.cmd(&["SET", "a", "1"]);
        assert_eq!(s(mc.cmd(&["SAVE"])), "+OK\r\n");
        mc.cmd(&["SET", "b", "2"]);
        let mut got = Vec::new();
        while !String::from_utf8_lossy(&got).contains("$1\r\nb\r\n") {
            let r = stream.read_reply();
            got.extend_from_slice(&r);
        }
        let text = String::from_utf8_lossy(&got).to_lowercase();
        assert!(text.contains("$1\r\na\r\n"), "{}", text);
        assert!(!text.contains("save"), "{}", text);
    }
}
