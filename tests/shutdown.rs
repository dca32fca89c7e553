//! SHUTDOWN and SIGTERM / SIGINT as Redis 7.0 runs them: a master waits
//! (writes paused, `shutdown_in_milliseconds` in INFO) for lagging replicas
//! to acknowledge its stream before exiting, up to `shutdown-timeout`;
//! clients blocked in SHUTDOWN get an error when it is aborted or fails;
//! a failed final save keeps the server running without refusing writes;
//! a second SIGINT during the final save exits and removes the temp RDB;
//! a save is never propagated to replicas.

use crate::common;

use common::{poll_until, temp_dir, RawConn, Server};
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

fn signal(srv: &Server, sig: i32) {
    // SAFETY: signalling a child process this test started.
    unsafe { libc::kill(srv.pid() as i32, sig) };
}

/// A master and a replica of it, synchronized, with `k` = 1 on both.
fn pair(master_args: &[&str]) -> (Server, Server) {
    let master = Server::start(master_args);
    let replica = Server::start(&[]);
    let mut r = replica.conn();
    let port = master.port().to_string();
    assert_eq!(r.cmd(&["REPLICAOF", "127.0.0.1", &port]), b"+OK\r\n");
    let mut m = master.conn();
    assert_eq!(m.cmd(&["SET", "k", "1"]), b"+OK\r\n");
    let synced = poll_until(DEADLINE, || {
        let off = info_field(&mut m, "replication", "master_repl_offset").unwrap_or_default();
        info_field(&mut m, "replication", "slave0")
            .is_some_and(|v| v.contains(&format!("offset={},", off)))
            && r.cmd(&["GET", "k"]) == b"$1\r\n1\r\n"
    });
    assert!(synced, "replica did not sync:\n{}", replica.log());
    (master, replica)
}

fn wait_exit(srv: &mut Server) -> bool {
    poll_until(DEADLINE, || !srv.is_running())
}

#[test]
fn shutdown_waits_for_a_lagging_replica() {
    let (mut master, replica) = pair(&["--shutdown-timeout", "300"]);
    let mut m = master.conn();
    signal(&replica, libc::SIGSTOP);
    assert_eq!(m.cmd(&["INCR", "k"]), b":2\r\n");
    let mut sd = master.conn();
    sd.send(&[b"SHUTDOWN"]);
    assert!(poll_until(DEADLINE, || {
        info_field(&mut m, "server", "shutdown_in_milliseconds")
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|v| v > 0)
    }));
    // The SHUTDOWN client is blocked; a write waits in the pause (and
    // counts as blocked too); reads are served.
    let mut w = master.conn();
    w.send(&[b"SET", b"other", b"x"]);
    assert!(poll_until(DEADLINE, || info_field(
        &mut m,
        "clients",
        "blocked_clients"
    )
    .as_deref()
        == Some("2")));
    assert_eq!(m.cmd(&["GET", "k"]), b"$1\r\n2\r\n");
    signal(&replica, libc::SIGCONT);
    assert!(wait_exit(&mut master), "master did not exit");
    let mut r = replica.conn();
    assert_eq!(r.cmd(&["GET", "k"]), b"$1\r\n2\r\n");
    let log = master.log();
    assert!(
        log.contains("Waiting for replicas before shutting down."),
        "{}",
        log
    );
    assert!(
        log.contains("1 of 1 replicas are in sync when shutting down."),
        "{}",
        log
    );
    assert!(!log.contains("Lagging replica"), "{}", log);
    assert!(log.contains("ready to exit, bye bye"), "{}", log);
}

#[test]
fn sigterm_gives_up_on_a_replica_after_shutdown_timeout() {
    let (mut master, replica) = pair(&["--shutdown-timeout", "1"]);
    let mut m = master.conn();
    signal(&replica, libc::SIGSTOP);
    assert_eq!(m.cmd(&["INCR", "k"]), b":2\r\n");
    signal(&master, libc::SIGTERM);
    assert!(wait_exit(&mut master), "master did not exit");
    signal(&replica, libc::SIGCONT);
    let log = master.log();
    assert!(
        log.contains("Received SIGTERM scheduling shutdown..."),
        "{}",
        log
    );
    assert!(log.contains("Lagging replica 127.0.0.1:"), "{}", log);
    assert!(
        log.contains("0 of 1 replicas are in sync when shutting down."),
        "{}",
        log
    );
}

#[test]
fn shutdown_abort_answers_the_blocked_clients() {
    let (master, replica) = pair(&[]);
    let mut m = master.conn();
    signal(&replica, libc::SIGSTOP);
    assert_eq!(m.cmd(&["INCR", "k"]), b":2\r\n");
    let mut a = master.conn();
    let mut b = master.conn();
    a.send(&[b"SHUTDOWN"]);
    b.send(&[b"SHUTDOWN"]);
    assert!(poll_until(DEADLINE, || info_field(
        &mut m,
        "clients",
        "blocked_clients"
    )
    .as_deref()
        == Some("2")));
    assert_eq!(m.cmd(&["SHUTDOWN", "ABORT"]), b"+OK\r\n");
    let err = b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n";
    assert_eq!(a.read_reply(), err);
    assert_eq!(b.read_reply(), err);
    // Writes resume; nothing is pending any more.
    assert_eq!(m.cmd(&["SET", "after", "1"]), b"+OK\r\n");
    assert_eq!(
        info_field(&mut m, "server", "shutdown_in_milliseconds"),
        None
    );
    assert_eq!(
        m.cmd(&["SHUTDOWN", "ABORT"]),
        b"-ERR No shutdown in progress.\r\n"
    );
    signal(&replica, libc::SIGCONT);
    assert!(master.log().contains("Shutdown manually aborted."));
}

#[test]
fn failed_final_save_keeps_serving_writes() {
    let dir = temp_dir("shutdown-save");
    let d = dir.to_string_lossy().into_owned();
    let mut srv = Server::start(&["--dir", &d, "--save", "900 1"]);
    // dump.rdb is a directory: the rename of the temp file fails.
    std::fs::create_dir_all(dir.join("dump.rdb")).unwrap();
    let mut c = srv.conn();
    assert_eq!(c.cmd(&["SET", "a", "1"]), b"+OK\r\n");
    assert_eq!(
        c.cmd(&["SHUTDOWN"]),
        b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    // Not a MISCONF: a failed foreground save is not a failed BGSAVE.
    assert_eq!(c.cmd(&["SET", "b", "1"]), b"+OK\r\n");
    assert_eq!(
        info_field(&mut c, "persistence", "rdb_last_bgsave_status").as_deref(),
        Some("ok")
    );
    // SIGINT takes the same path and keeps running too.
    signal(&srv, libc::SIGINT);
    assert!(poll_until(DEADLINE, || srv
        .log()
        .contains("Error trying to save the DB, can't exit.")
        && srv
            .log()
            .matches("Errors trying to shut down the server")
            .count()
            == 2));
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
    // NOSAVE exits.
    c.send(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(wait_exit(&mut srv));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn second_sigint_during_the_final_save_exits_and_removes_the_temp_file() {
    let dir = temp_dir("shutdown-sigint");
    let d = dir.to_string_lossy().into_owned();
    let mut srv = Server::start(&["--dir", &d, "--save", "900 1"]);
    let mut c = srv.conn();
    for i in 0..20 {
        let k = i.to_string();
        c.cmd(&["SET", &k, &k]);
    }
    // 100 ms per key: the final save takes about two seconds.
    c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "100000"]);
    let temp = dir.join(format!("temp-{}.rdb", srv.pid()));
    signal(&srv, libc::SIGINT);
    assert!(poll_until(DEADLINE, || temp.exists()), "no final save");
    signal(&srv, libc::SIGINT);
    assert!(wait_exit(&mut srv));
    assert!(!temp.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// SAVE (like SHUTDOWN's final save) resets the dirty counter: that is
/// not a write, so it must not reach the replica.
#[test]
fn a_save_is_not_propagated_to_replicas() {
    let (master, replica) = pair(&[]);
    let mut m = master.conn();
    assert_eq!(m.cmd(&["SET", "x", "1"]), b"+OK\r\n");
    // (The full sync's BGSAVE child may not be reaped yet.)
    assert!(poll_until(DEADLINE, || m.cmd(&["SAVE"]) == b"+OK\r\n"));
    assert_eq!(m.cmd(&["SET", "y", "1"]), b"+OK\r\n");
    let mut r = replica.conn();
    assert!(poll_until(DEADLINE, || r.cmd(&["GET", "y"]) == b"$1\r\n1\r\n"));
    assert!(
        !replica.log().contains("DB saved on disk"),
        "{}",
        replica.log()
    );
    assert_eq!(
        info_field(&mut r, "persistence", "rdb_saves").as_deref(),
        Some("0")
    );
}

/// shutdown-on-sigterm flags apply to SIGTERM: NOW does not wait for the
/// lagging replica, NOSAVE skips the configured final save.
#[test]
fn sigterm_follows_shutdown_on_sigterm() {
    let (mut master, replica) = pair(&["--shutdown-timeout", "300", "--save", "900 1"]);
    let mut m = master.conn();
    assert_eq!(
        m.cmd(&["CONFIG", "SET", "shutdown-on-sigterm", "NOSAVE now"]),
        b"+OK\r\n"
    );
    signal(&replica, libc::SIGSTOP);
    assert_eq!(m.cmd(&["INCR", "k"]), b":2\r\n");
    signal(&master, libc::SIGTERM);
    assert!(wait_exit(&mut master), "master did not exit");
    signal(&replica, libc::SIGCONT);
    let log = master.log();
    assert!(!log.contains("Waiting for replicas"), "{}", log);
    assert!(
        log.contains("0 of 1 replicas are in sync when shutting down."),
        "{}",
        log
    );
    assert!(!log.contains("Saving the final RDB snapshot"), "{}", log);
    assert!(log.contains("ready to exit, bye bye"), "{}", log);
}
