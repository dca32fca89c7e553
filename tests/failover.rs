//! Role changes without losing the replication history: FAILOVER (a
//! master hands over to a caught-up replica, which continues with a
//! partial resync; timeouts, FORCE, ABORT, a target refusing PSYNC, the
//! error replies) and a master restarted from its RDB, which keeps its
//! replication id and offset (repl-id / repl-offset aux fields) so its
//! replicas continue with PSYNC, keys that expired while loading included.

use crate::common;

use common::{poll_until, temp_dir, RawConn, Server};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(20);
const DEBUG_ON: &[&str] = &["--enable-debug-command", "yes"];

fn s(r: Vec<u8>) -> String {
    String::from_utf8_lossy(&r).into_owned()
}

fn info_field(c: &mut RawConn, section: &str, name: &str) -> Option<String> {
    let text = s(c.cmd(&["INFO", section]));
    let prefix = format!("{}:", name);
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

fn field_i64(c: &mut RawConn, section: &str, name: &str) -> i64 {
    info_field(c, section, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

fn signal(srv: &Server, sig: i32) {
    // SAFETY: signalling a child process this test started.
    unsafe { libc::kill(srv.pid() as i32, sig) };
}

fn role(c: &mut RawConn) -> String {
    info_field(c, "replication", "role").unwrap_or_default()
}

fn failover_state(c: &mut RawConn) -> String {
    info_field(c, "replication", "master_failover_state").unwrap_or_default()
}

/// Makes `replica` a replica of `master` and waits until it acknowledged
/// the master's whole stream.
fn attach(master: &Server, replica: &Server) {
    let mut r = replica.conn();
    let port = master.port().to_string();
    assert_eq!(r.cmd(&["REPLICAOF", "127.0.0.1", &port]), b"+OK\r\n");
    wait_acked(master, replica);
}

/// Waits until every replica of `master` acknowledged its offset, and
/// `replica`'s link is up.
fn wait_acked(master: &Server, replica: &Server) {
    let mut m = master.conn();
    let mut r = replica.conn();
    let ok = poll_until(DEADLINE, || {
        let off = field_i64(&mut m, "replication", "master_repl_offset");
        let text = s(m.cmd(&["INFO", "replication"]));
        let n = field_i64(&mut m, "replication", "connected_slaves");
        n > 0
            && text.lines().filter(|l| l.starts_with("slave")).count() as i64 == n
            && text
                .lines()
                .filter(|l| l.starts_with("slave"))
                .all(|l| l.contains(&format!("offset={},", off)) && l.contains("state=online"))
            && info_field(&mut r, "replication", "master_link_status").as_deref() == Some("up")
    });
    assert!(
        ok,
        "replica never caught up\nmaster log:\n{}\nreplica log:\n{}",
        master.log(),
        replica.log()
    );
}

#[test]
fn failover_argument_and_state_errors() {
    let master = Server::start(DEBUG_ON);
    let replica = Server::start(DEBUG_ON);
    let mut m = master.conn();
    let rport = replica.port().to_string();
    assert_eq!(
        m.cmd(&["FAILOVER", "TO", "127.0.0.1", &rport]),
        b"-ERR FAILOVER requires connected replicas.\r\n"
    );
    assert_eq!(
        m.cmd(&["FAILOVER", "ABORT"]),
        b"-ERR No failover in progress.\r\n"
    );
    attach(&master, &replica);
    let cases: &[(&[&str], &[u8])] = &[
        (
            &["FAILOVER", "TO", "invalidhost", &rport],
            b"-ERR FAILOVER target HOST and PORT is not a replica.\r\n",
        ),
        (
            &["FAILOVER", "TO", "127.0.0.1", "invalidport"],
            b"-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["FAILOVER", "FORCE", "TIMEOUT", "100"],
            b"-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n",
        ),
        (
            &["FAILOVER", "TO", "127.0.0.1", &rport, "FORCE"],
            b"-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n",
        ),
        (
            &["FAILOVER", "TIMEOUT", "0"],
            b"-ERR FAILOVER timeout must be greater than 0\r\n",
        ),
        (
            &["FAILOVER", "TIMEOUT", "10", "TIMEOUT", "10"],
            b"-ERR syntax error\r\n",
        ),
        (&["FAILOVER", "BOGUS"], b"-ERR syntax error\r\n"),
    ];
    for (args, want) in cases {
        assert_eq!(s(m.cmd(args)), s(want.to_vec()), "{:?}", args);
    }
    let mut r = replica.conn();
    assert_eq!(
        r.cmd(&["FAILOVER"]),
        b"-ERR FAILOVER is not valid when server is a replica.\r\n"
    );
    assert_eq!(failover_state(&mut m), "no-failover");
    // COMMAND knows it, ACL categories included.
    let info = s(m.cmd(&["COMMAND", "INFO", "failover"]));
    assert!(
        info.contains("@admin") && info.contains("@dangerous"),
        "{}",
        info
    );
}

#[test]
fn failover_to_a_caught_up_replica_continues_its_history() {
    let master = Server::start(DEBUG_ON);
    let r1 = Server::start(DEBUG_ON);
    let r2 = Server::start(DEBUG_ON);
    attach(&master, &r1);
    attach(&master, &r2);
    let mut m = master.conn();
    for i in 0..100 {
        let k = format!("k{}", i);
        m.cmd(&["SET", &k, "v"]);
    }
    let digest = s(m.cmd(&["DEBUG", "DIGEST"]));
    let p1 = r1.port().to_string();
    assert_eq!(m.cmd(&["FAILOVER", "TO", "127.0.0.1", &p1]), b"+OK\r\n");
    assert!(poll_until(DEADLINE, || failover_state(&mut m) == "no-failover"));
    assert_eq!(role(&mut m), "slave");
    let mut c1 = r1.conn();
    assert_eq!(role(&mut c1), "master");
    // The old master continued with a partial resync.
    wait_acked(&r1, &master);
    assert_eq!(field_i64(&mut c1, "stats", "sync_partial_ok"), 1);
    assert_eq!(field_i64(&mut c1, "stats", "sync_full"), 0);
    assert_eq!(s(c1.cmd(&["DEBUG", "DIGEST"])), digest);
    // Writes now go to the new master and reach the old one.
    assert_eq!(
        s(m.cmd(&["SET", "x", "1"])),
        "-READONLY You can't write against a read only replica.\r\n"
    );
    assert_eq!(c1.cmd(&["SET", "x", "1"]), b"+OK\r\n");
    assert!(poll_until(DEADLINE, || m.cmd(&["GET", "x"]) == b"$1\r\n1\r\n"));
    let log = master.log();
    assert!(
        log.contains(&format!("FAILOVER requested to 127.0.0.1:{}.", p1)),
        "{}",
        log
    );
    assert!(log.contains("is synced, failing over."), "{}", log);
    assert!(r1.log().contains("Failover request received for replid"));
    // r2 follows the new master with a partial resync too.
    let mut c2 = r2.conn();
    assert_eq!(c2.cmd(&["REPLICAOF", "127.0.0.1", &p1]), b"+OK\r\n");
    wait_acked(&r1, &r2);
    assert_eq!(field_i64(&mut c1, "stats", "sync_partial_ok"), 2);
    assert_eq!(field_i64(&mut c1, "stats", "sync_full"), 0);
}

#[test]
fn failover_times_out_or_is_aborted_while_the_replica_lags() {
    let master = Server::start(DEBUG_ON);
    let replica = Server::start(DEBUG_ON);
    attach(&master, &replica);
    let mut m = master.conn();
    let rport = replica.port().to_string();
    signal(&replica, libc::SIGSTOP);
    m.cmd(&["SET", "case", "1"]);
    assert_eq!(
        m.cmd(&["FAILOVER", "TO", "127.0.0.1", &rport, "TIMEOUT", "300"]),
        b"+OK\r\n"
    );
    assert!(poll_until(DEADLINE, || failover_state(&mut m) == "no-failover"));
    assert!(master
        .log()
        .contains("aborted: Replica never caught up before timeout"));
    assert_eq!(role(&mut m), "master");

    // Without a timeout it waits; writes are held, reads served; ABORT
    // releases the writes.
    m.cmd(&["SET", "case", "2"]);
    assert_eq!(m.cmd(&["FAILOVER", "TO", "127.0.0.1", &rport]), b"+OK\r\n");
    assert_eq!(failover_state(&mut m), "waiting-for-sync");
    assert_eq!(
        m.cmd(&["FAILOVER"]),
        b"-ERR FAILOVER already in progress.\r\n"
    );
    assert_eq!(
        m.cmd(&["REPLICAOF", "127.0.0.1", &rport]),
        b"-ERR REPLICAOF not allowed while failing over.\r\n"
    );
    let mut w = master.conn();
    w.send(&[b"SET", b"held", b"1"]);
    assert!(poll_until(DEADLINE, || field_i64(
        &mut m,
        "clients",
        "blocked_clients"
    ) == 1));
    assert_eq!(m.cmd(&["GET", "case"]), b"$1\r\n2\r\n");
    assert_eq!(m.cmd(&["FAILOVER", "ABORT"]), b"+OK\r\n");
    assert_eq!(failover_state(&mut m), "no-failover");
    assert_eq!(w.read_reply(), b"+OK\r\n");
    assert!(master.log().contains("aborted: Failover manually aborted"));
    signal(&replica, libc::SIGCONT);
    wait_acked(&master, &replica);
    assert_eq!(role(&mut m), "master");
}

#[test]
fn forced_failover_goes_ahead_after_the_timeout() {
    let master = Server::start(DEBUG_ON);
    let replica = Server::start(DEBUG_ON);
    attach(&master, &replica);
    let mut m = master.conn();
    let rport = replica.port().to_string();
    signal(&replica, libc::SIGSTOP);
    m.cmd(&["SET", "case", "3"]);
    assert_eq!(
        m.cmd(&[
            "FAILOVER",
            "TO",
            "127.0.0.1",
            &rport,
            "TIMEOUT",
            "100",
            "FORCE"
        ]),
        b"+OK\r\n"
    );
    assert!(poll_until(DEADLINE, || failover_state(&mut m)
        == "failover-in-progress"));
    assert_eq!(role(&mut m), "slave");
    signal(&replica, libc::SIGCONT);
    assert!(poll_until(DEADLINE, || failover_state(&mut m) == "no-failover"));
    let mut r = replica.conn();
    assert_eq!(role(&mut r), "master");
    wait_acked(&replica, &master);
    // FORCE may lose what the target had not read yet (Redis documents the
    // data loss): whether the resumed target reads the old master's stream
    // or its PSYNC FAILOVER first is a race. Either way both agree.
    let got = r.cmd(&["GET", "case"]);
    assert!(got == b"$1\r\n3\r\n" || got == b"$-1\r\n", "{got:?}");
    assert_eq!(master.conn().cmd(&["GET", "case"]), got);
    assert!(master.log().contains("time out exceeded, failing over."));
}

#[test]
fn failover_aborts_when_the_target_refuses_psync() {
    let master = Server::start(DEBUG_ON);
    let replica = Server::start(DEBUG_ON);
    attach(&master, &replica);
    let mut r = replica.conn();
    assert_eq!(r.cmd(&["ACL", "SETUSER", "default", "-psync"]), b"+OK\r\n");
    let mut m = master.conn();
    let rport = replica.port().to_string();
    assert_eq!(m.cmd(&["FAILOVER", "TO", "127.0.0.1", &rport]), b"+OK\r\n");
    assert!(poll_until(DEADLINE, || failover_state(&mut m)
        == "no-failover"
        && role(&mut m) == "master"));
    assert!(master
        .log()
        .contains("aborted: Failover target rejected psync request"));
    assert_eq!(role(&mut r), "slave");
    assert_eq!(m.cmd(&["SET", "after", "1"]), b"+OK\r\n");
    // The replica comes back with a partial resync.
    assert_eq!(r.cmd(&["ACL", "SETUSER", "default", "+psync"]), b"+OK\r\n");
    wait_acked(&master, &replica);
    assert_eq!(field_i64(&mut m, "stats", "sync_full"), 1);
}

/// A master saved on shutdown and started again from its RDB keeps its
/// history as replid2: the replica continues with PSYNC, and the DELs of
/// keys that expired while loading reach it through the backlog.
#[test]
fn restarted_master_keeps_its_replication_history() {
    let dir = temp_dir("failover-restart");
    let d = dir.to_string_lossy().into_owned();
    let master = Server::start(&[
        "--dir",
        &d,
        "--save",
        "3600 1",
        "--enable-debug-command",
        "yes",
    ]);
    let replica = Server::start(DEBUG_ON);
    let mut m = master.conn();
    m.cmd(&["CONFIG", "SET", "repl-ping-replica-period", "3600"]);
    attach(&master, &replica);
    m.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    for i in 0..20 {
        let k = format!("gone{}", i);
        m.cmd(&["SELECT", &(i % 3).to_string()]);
        m.cmd(&["SET", &k, "v", "PX", "1"]);
    }
    m.cmd(&["SELECT", "0"]);
    m.cmd(&["SET", "kept", "v"]);
    wait_acked(&master, &replica);
    let replid = info_field(&mut m, "replication", "master_replid").unwrap_or_default();
    let offset = field_i64(&mut m, "replication", "master_repl_offset");
    m.send(&[b"SHUTDOWN"]);
    let mut master = master;
    assert!(poll_until(DEADLINE, || !master.is_running()));

    let again = Server::start(&[
        "--dir",
        &d,
        "--save",
        "3600 1",
        "--enable-debug-command",
        "yes",
    ]);
    let mut a = again.conn();
    assert_eq!(
        field_i64(&mut a, "persistence", "rdb_last_load_keys_expired"),
        20
    );
    assert_eq!(
        info_field(&mut a, "replication", "master_replid2").as_deref(),
        Some(replid.as_str())
    );
    assert_eq!(
        field_i64(&mut a, "replication", "second_repl_offset"),
        offset + 1
    );
    let histlen = field_i64(&mut a, "replication", "repl_backlog_histlen");
    assert!(histlen > 0);
    assert_eq!(
        field_i64(&mut a, "replication", "master_repl_offset"),
        offset + histlen
    );
    assert_eq!(
        field_i64(&mut a, "replication", "repl_backlog_first_byte_offset"),
        offset + 1
    );
    let mut r = replica.conn();
    assert_eq!(r.cmd(&["DBSIZE"]), b":8\r\n");
    let port = again.port().to_string();
    assert_eq!(r.cmd(&["REPLICAOF", "127.0.0.1", &port]), b"+OK\r\n");
    wait_acked(&again, &replica);
    assert_eq!(field_i64(&mut a, "stats", "sync_partial_ok"), 1);
    assert_eq!(field_i64(&mut a, "stats", "sync_full"), 0);
    assert_eq!(r.cmd(&["DBSIZE"]), b":1\r\n");
    assert_eq!(
        s(r.cmd(&["DEBUG", "DIGEST"])),
        s(a.cmd(&["DEBUG", "DIGEST"]))
    );
    drop(again);
    let _ = std::fs::remove_dir_all(&dir);
}
