//! DEBUG subcommands: replies compared byte for byte with a real
//! redis-server 7.0 where they are deterministic, the crash reports of
//! DEBUG SEGFAULT / ASSERT / PANIC and of fatal signals, the software
//! watchdog, PAUSE-CRON, SET-SKIP-CHECKSUM-VALIDATION, CHANGE-REPL-ID and
//! the reply buffer resizing that CLIENT LIST's rbs/rbp show.

use crate::common;

use common::{assert_same_replies, escape, poll_until, RawConn, RealRedis, Server};
use std::time::Duration;

const DEBUG_ON: &[&str] = &["--enable-debug-command", "yes"];

/// The payload of a bulk (or verbatim) string reply.
fn bulk_text(r: &[u8]) -> String {
    let s = String::from_utf8_lossy(r).into_owned();
    match s.find("\r\n") {
        Some(i) if s.starts_with('$') || s.starts_with('=') => {
            s[i + 2..s.len() - 2].trim_start_matches("txt:").to_string()
        }
        _ => s,
    }
}

fn client_field(c: &mut RawConn, name: &str, field: &str) -> i64 {
    let list = bulk_text(&c.cmd(&["CLIENT", "LIST"]));
    let line = list
        .lines()
        .find(|l| l.contains(&format!(" name={} ", name)))
        .unwrap_or_else(|| panic!("no client {name} in {list}"));
    let v = line
        .split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{}=", field)))
        .unwrap();
    v.parse().unwrap()
}

#[test]
fn replies_as_redis() {
    let ours = Server::start(DEBUG_ON);
    let theirs = RealRedis::start_with(DEBUG_ON);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    let x64 = "x".repeat(64);
    assert_same_replies(
        &mut a,
        &mut b,
        &[
            &["DEBUG", "HELP"],
            &["DEBUG", "nosuch"],
            &["DEBUG", "help", "extra"],
            &["SET", "s", "abc"],
            &["SET", "big", &x64],
            &["SET", "i", "123"],
            &["RPUSH", "l", "a", "b", "c"],
            &["HSET", "h", "a", "1"],
            &["SADD", "is", "1", "2"],
            &["SADD", "hs", "a"],
            &["ZADD", "z", "1", "a"],
            &["DEBUG", "SDSLEN", "s"],
            &["DEBUG", "SDSLEN", "big"],
            &["DEBUG", "SDSLEN", "i"],
            &["DEBUG", "SDSLEN", "l"],
            &["DEBUG", "SDSLEN", "nokey"],
            &["DEBUG", "LISTPACK", "h"],
            &["DEBUG", "LISTPACK", "z"],
            &["DEBUG", "LISTPACK", "l"],
            &["DEBUG", "LISTPACK", "nokey"],
            &["DEBUG", "QUICKLIST", "l"],
            &["DEBUG", "QUICKLIST", "l", "1"],
            &["DEBUG", "QUICKLIST", "h"],
            &["DEBUG", "HTSTATS-KEY", "hs"],
            &["DEBUG", "HTSTATS-KEY", "is"],
            &["DEBUG", "HTSTATS-KEY", "s"],
            &["DEBUG", "HTSTATS-KEY", "nokey"],
            &["DEBUG", "HTSTATS", "99"],
            &["DEBUG", "HTSTATS", "x"],
            &["DEBUG", "STRUCTSIZE"],
            // Keys jemalloc does not have (ferrokv has none at all).
            &["DEBUG", "MALLCTL", "no.such.key"],
            &["DEBUG", "MALLCTL", "no.such.key", "x"],
            &["DEBUG", "MALLCTL-STR", "no.such.key", "VOID"],
            &["DEBUG", "CLIENT-EVICTION"],
            &["DEBUG", "CLUSTERLINK", "KILL", "all", "abc"],
            &["DEBUG", "REPLYBUFFER", "x", "y"],
            &["DEBUG", "REPLYBUFFER", "peak-reset-time", "x"],
            &["DEBUG", "REPLYBUFFER", "peak-reset-time", "reset"],
            &["DEBUG", "REPLYBUFFER", "resizing", "1"],
            &["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "x"],
            &["DEBUG", "DROP-CLUSTER-PACKET-FILTER", "-1"],
            &["DEBUG", "CONFIG-REWRITE-FORCE-ALL"],
            &["DEBUG", "RESTART", "x"],
            &["DEBUG", "CRASH-AND-RECOVER", "x"],
            &["DEBUG", "PAUSE-CRON", "0"],
            &["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0"],
            &["DEBUG", "AOF-FLUSH-SLEEP", "0"],
            &["DEBUG", "LEAK", "abc"],
            &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb"],
            &["DEBUG", "REPLICATE", "SET", "a", "b"],
            &["GET", "a"],
        ],
    );
}

/// DEBUG OBJECT's fields other than the address and the LRU clock.
fn object_fields(c: &mut RawConn, key: &str) -> String {
    let r = String::from_utf8_lossy(&c.cmd(&["DEBUG", "OBJECT", key])).into_owned();
    r.split(' ')
        .filter(|f| !f.starts_with("at:") && !f.starts_with("lru") && *f != "+Value")
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn debug_object_serialized_length_as_redis() {
    let ours = Server::start(DEBUG_ON);
    let theirs = RealRedis::start_with(DEBUG_ON);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    let setup: &[&[&str]] = &[
        &["SET", "small", "abc"],
        &["SET", "int", "12345"],
        &["SET", "long", &"x".repeat(100)],
        &["RPUSH", "list", "a", "b", "c", "1000"],
        &["HSET", "hash", "f", "v", "g", "w"],
        &["SADD", "intset", "1", "2", "300000"],
        &["ZADD", "zset", "1", "a", "2.5", "b"],
    ];
    assert_same_replies(&mut a, &mut b, setup);
    for key in ["small", "int", "long", "list", "hash", "intset", "zset"] {
        assert_eq!(
            object_fields(&mut a, key),
            object_fields(&mut b, key),
            "{key}"
        );
    }
}

#[test]
fn change_repl_id_and_pause_cron() {
    let s = Server::start(DEBUG_ON);
    let mut c = s.conn();
    let field = |c: &mut RawConn, f: &str| -> String {
        let info = bulk_text(&c.cmd(&["INFO", "replication"]));
        info.lines()
            .find_map(|l| {
                l.strip_prefix(&format!("{}:", f))
                    .map(|v| v.trim().to_string())
            })
            .unwrap()
    };
    let before = field(&mut c, "master_replid");
    assert_eq!(c.cmd(&["DEBUG", "CHANGE-REPL-ID"]), b"+OK\r\n");
    let after = field(&mut c, "master_replid");
    assert_ne!(before, after);
    assert_eq!(after.len(), 40);
    assert_eq!(field(&mut c, "master_replid2"), "0".repeat(40));
    assert_eq!(field(&mut c, "second_repl_offset"), "-1");

    // With the cron paused, nothing expires keys in the background.
    c.cmd(&["DEBUG", "PAUSE-CRON", "1"]);
    c.cmd(&["SET", "k", "v", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.cmd_int(&["DBSIZE"]), 1);
    c.cmd(&["DEBUG", "PAUSE-CRON", "0"]);
    assert!(poll_until(Duration::from_secs(5), || c
        .cmd_int(&["DBSIZE"])
        == 0));
}

#[test]
fn skip_checksum_validation_for_restore() {
    let ours = Server::start(DEBUG_ON);
    let theirs = RealRedis::start_with(DEBUG_ON);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    a.cmd(&["SET", "k", "value"]);
    let dump = a.cmd(&["DUMP", "k"]);
    let nl = dump.iter().position(|&x| x == b'\n').unwrap();
    let mut payload = dump[nl + 1..dump.len() - 2].to_vec();
    let last = payload.len() - 1;
    payload[last] ^= 0xff; // break the CRC
    for c in [&mut a, &mut b] {
        let r1 = c.cmd_bytes(&[b"RESTORE", b"k2", b"0", &payload]);
        assert_eq!(r1, b"-ERR DUMP payload version or checksum are wrong\r\n");
        c.cmd(&["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1"]);
        assert_eq!(
            c.cmd_bytes(&[b"RESTORE", b"k2", b"0", &payload]),
            b"+OK\r\n"
        );
        assert_eq!(c.cmd(&["GET", "k2"]), b"$5\r\nvalue\r\n");
        c.cmd(&["DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0"]);
    }
}

fn wait_for_log(s: &Server, needle: &str) -> bool {
    poll_until(Duration::from_secs(10), || s.log().contains(needle))
}

#[test]
fn segfault_writes_a_bug_report_and_dies_by_the_signal() {
    let mut s = Server::start(DEBUG_ON);
    let mut c = s.conn();
    c.send(&[b"DEBUG", b"SEGFAULT"]);
    assert!(wait_for_log(&s, "=== REDIS BUG REPORT END"), "{}", s.log());
    let log = s.log();
    for needle in [
        "=== REDIS BUG REPORT START: Cut & paste starting from here ===",
        "# Redis 7.0.15 crashed by signal: 11, si_code: ",
        "# Accessing address: 0x",
        "------ STACK TRACE ------",
        "EIP:",
        "Backtrace:",
        "debugCommand",
    ] {
        assert!(log.contains(needle), "missing {needle:?} in\n{log}");
    }
    assert!(poll_until(Duration::from_secs(10), || !s.is_running()));
}

#[test]
fn sigabrt_is_reported_with_the_sender() {
    let mut s = Server::start(&[]);
    // SAFETY: sending a signal to the child process we started.
    unsafe { libc::kill(s.pid() as i32, libc::SIGABRT) };
    assert!(wait_for_log(&s, "=== REDIS BUG REPORT END"), "{}", s.log());
    let log = s.log();
    assert!(log.contains("crashed by signal: 6"), "{log}");
    assert!(log.contains("Killed by PID: "), "{log}");
    assert!(poll_until(Duration::from_secs(10), || !s.is_running()));
}

#[test]
fn no_report_with_crash_log_disabled() {
    let mut s = Server::start(&["--enable-debug-command", "yes", "--crash-log-enabled", "no"]);
    let mut c = s.conn();
    c.send(&[b"DEBUG", b"SEGFAULT"]);
    assert!(poll_until(Duration::from_secs(10), || !s.is_running()));
    assert!(!s.log().contains("BUG REPORT"), "{}", s.log());
}

#[test]
fn assert_and_panic_reports() {
    let mut s = Server::start(&[
        "--enable-debug-command",
        "yes",
        "--use-exit-on-panic",
        "yes",
    ]);
    let mut c = s.conn();
    c.send(&[b"DEBUG", b"ASSERT"]);
    assert!(wait_for_log(&s, "=== REDIS BUG REPORT END"), "{}", s.log());
    let log = s.log();
    for needle in [
        "# === ASSERTION FAILED CLIENT CONTEXT ===",
        "# client->argv[1] = \"ASSERT\" (refcount: 1)",
        "# === ASSERTION FAILED ===",
        "'1 == 2' is not true",
        "------ STACK TRACE ------",
        "------ INFO OUTPUT ------",
        "redis_version:7.0.15",
        "------ CLIENT LIST OUTPUT ------",
        "cmd=debug",
    ] {
        assert!(log.contains(needle), "missing {needle:?} in\n{log}");
    }
    assert!(poll_until(Duration::from_secs(10), || !s.is_running()));

    let s = Server::start(&[
        "--enable-debug-command",
        "yes",
        "--use-exit-on-panic",
        "yes",
    ]);
    let mut c = s.conn();
    c.send(&[b"DEBUG", b"PANIC"]);
    assert!(wait_for_log(&s, "=== REDIS BUG REPORT END"), "{}", s.log());
    let log = s.log();
    assert!(
        log.contains("# !!! Software Failure. Press left mouse button to continue"),
        "{log}"
    );
    assert!(
        log.contains("# Guru Meditation: DEBUG PANIC called at Unix time "),
        "{log}"
    );
}

#[test]
fn watchdog_logs_the_stuck_stack() {
    let mut s = Server::start(DEBUG_ON);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "watchdog-period", "200"]),
        b"+OK\r\n"
    );
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "1"]), b"+OK\r\n");
    assert!(
        wait_for_log(&s, "--- WATCHDOG TIMER EXPIRED ---"),
        "{}",
        s.log()
    );
    assert!(wait_for_log(&s, "debugCommand"), "{}", s.log());
    // The server goes on.
    c.cmd(&["CONFIG", "SET", "watchdog-period", "0"]);
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
    assert!(s.is_running());
    assert!(!s.log().contains("BUG REPORT"));
}

#[test]
fn reply_buffer_shrinks_when_idle_and_grows_under_big_replies() {
    let s = Server::start(DEBUG_ON);
    let mut r = s.conn();
    let mut tc = s.conn();
    tc.cmd(&["CLIENT", "SETNAME", "test_client"]);
    assert_eq!(client_field(&mut r, "test_client", "rbs"), 16384);
    r.cmd(&["DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100"]);
    assert!(
        poll_until(Duration::from_secs(5), || {
            let rbs = client_field(&mut r, "test_client", "rbs");
            (1024..2046).contains(&rbs)
        }),
        "idle client's reply buffer did not shrink"
    );
    let info = bulk_text(&r.cmd(&["INFO", "stats"]));
    assert!(!info.contains("reply_buffer_shrinks:0\r"), "{info}");

    r.cmd(&["SET", "bigval", &"x".repeat(32768)]);
    r.cmd(&["DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "NEVER"]);
    assert!(
        poll_until(Duration::from_secs(10), || {
            tc.cmd(&["GET", "bigval"]);
            let rbs = client_field(&mut r, "test_client", "rbs");
            (16384..32768).contains(&rbs)
        }),
        "busy client's reply buffer did not grow"
    );
    assert!(client_field(&mut r, "test_client", "rbp") >= 1024);

    // With resizing off, an idle buffer keeps its size.
    r.cmd(&["DEBUG", "REPLYBUFFER", "RESIZING", "0"]);
    r.cmd(&["DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100"]);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(client_field(&mut r, "test_client", "rbs"), 16384);
    r.cmd(&["DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "RESET"]);
}

#[test]
fn client_eviction_buckets() {
    let s = Server::start(&[
        "--enable-debug-command",
        "yes",
        "--maxmemory-clients",
        "100mb",
    ]);
    let mut c = s.conn();
    // Redis buckets a client once its first command is done.
    c.cmd(&["PING"]);
    let text = bulk_text(&c.cmd(&["DEBUG", "CLIENT-EVICTION"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 19, "{text}");
    assert!(
        lines[0].starts_with("bucket          0 -      32767: tot-mem: "),
        "{text}"
    );
    assert!(
        lines[18].starts_with("bucket 4294967296+            : "),
        "{text}"
    );
    let clients: usize = lines
        .iter()
        .map(|l| {
            l.rsplit("clients: ")
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(clients, 1, "{}", escape(text.as_bytes()));
}

/// SIGTERM is taken by the cron: with the cron paused, SHUTDOWN ABORT
/// cancels it before it starts.
#[test]
fn shutdown_abort_cancels_a_pending_sigterm() {
    let mut s = Server::start(DEBUG_ON);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["SHUTDOWN", "ABORT"]),
        b"-ERR No shutdown in progress.\r\n"
    );
    c.cmd(&["DEBUG", "PAUSE-CRON", "1"]);
    // SAFETY: signalling the child process we started.
    unsafe { libc::kill(s.pid() as i32, libc::SIGTERM) };
    // The handler only sets a flag: ABORT may have to try again until the
    // signal has landed.
    assert!(poll_until(Duration::from_secs(5), || c
        .cmd(&["SHUTDOWN", "ABORT"])
        == b"+OK\r\n"));
    assert!(wait_for_log(&s, "Shutdown manually aborted"));
    c.cmd(&["DEBUG", "PAUSE-CRON", "0"]);
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
    std::thread::sleep(Duration::from_millis(300));
    assert!(s.is_running());
}
