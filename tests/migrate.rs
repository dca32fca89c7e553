//! MIGRATE, between two ferrokv servers and in both pairings with a real
//! redis-server 7.0 (the wire is RESTORE with DUMP payloads, so either side
//! must read the other's): every value type with its TTL, the KEYS form,
//! COPY, REPLACE, SELECT of the target db, AUTH / AUTH2, the errors relayed
//! from the target, connection failures and timeouts, the retry on a
//! cached connection the target closed, the connection cache (INFO's
//! migrate_cached_sockets, closed after 10 s idle), propagation to a
//! replica as DEL, the slow log's redaction and COMMAND GETKEYS; and the
//! source-side errors compared byte for byte with real Redis.

use crate::common;

use common::{assert_reply, poll_until, RawConn, RealRedis, Server};
use std::net::TcpListener;
use std::time::Duration;

fn s(r: Vec<u8>) -> String {
    String::from_utf8_lossy(&r).into_owned()
}

fn info_field(c: &mut RawConn, section: &str, name: &str) -> Option<String> {
    let text = s(c.cmd(&["INFO", section]));
    let prefix = format!("{}:", name);
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string()))
}

/// Fills `db` of `c` with one key of every type, k1 with a TTL.
fn fill(c: &mut RawConn) {
    assert_eq!(c.cmd_str(&["SET", "k1", "hello"]), "+OK\r\n");
    assert_eq!(c.cmd_int(&["PEXPIRE", "k1", "500000"]), 1);
    c.cmd(&["RPUSH", "k2", "a", "b", "c"]);
    c.cmd(&["HSET", "k3", "f", "v", "g", "w"]);
    c.cmd(&["SADD", "k4", "3", "1", "2"]);
    c.cmd(&["ZADD", "k5", "1.5", "m", "2", "n"]);
    c.cmd(&["XADD", "k6", "1-1", "f", "v"]);
    c.cmd(&["SET", "k7", "12345"]);
    c.cmd(&["SADD", "k8", "x", "y", "1"]);
}

/// Keys whose DUMP is deterministic (k8, a hashtable set, is not: its
/// order depends on the table it was rebuilt into).
const KEYS: [&str; 7] = ["k1", "k2", "k3", "k4", "k5", "k6", "k7"];

fn sorted_members(c: &mut RawConn, key: &str) -> Vec<Vec<u8>> {
    let mut v = common::flatten(&c.cmd(&["SMEMBERS", key]));
    v.sort();
    v
}

/// DUMP of every key (the payload compares the values exactly).
fn dumps(c: &mut RawConn) -> Vec<Vec<u8>> {
    KEYS.iter().map(|k| c.cmd(&["DUMP", k])).collect()
}

/// Moves every key from `src` to db 2 of `dst` and checks values and TTLs.
fn migrate_all_types(src: &Server, dst: &Server) {
    let mut a = src.conn();
    let mut b = dst.conn();
    fill(&mut a);
    let before = dumps(&mut a);
    let set_before = sorted_members(&mut a, "k8");
    let port = dst.port().to_string();
    // One key, then the rest with KEYS (plus a missing one).
    assert_eq!(
        a.cmd_str(&["MIGRATE", "127.0.0.1", &port, "k1", "2", "5000"]),
        "+OK\r\n"
    );
    let mut args = vec!["MIGRATE", "127.0.0.1", &port, "", "2", "5000", "KEYS"];
    args.extend_from_slice(&KEYS[1..]);
    args.extend_from_slice(&["k8", "missing"]);
    assert_eq!(a.cmd_str(&args), "+OK\r\n");
    assert_eq!(a.cmd_int(&["DBSIZE"]), 0);
    b.cmd(&["SELECT", "2"]);
    assert_eq!(dumps(&mut b), before);
    assert_eq!(sorted_members(&mut b, "k8"), set_before);
    let ttl = b.cmd_int(&["PTTL", "k1"]);
    assert!(ttl > 400_000 && ttl <= 500_000, "ttl {}", ttl);
    assert_eq!(b.cmd_int(&["PTTL", "k2"]), -1);
}

#[test]
fn ferrokv_to_ferrokv_all_types() {
    migrate_all_types(&Server::start(&[]), &Server::start(&[]));
}

#[test]
fn ferrokv_to_real_redis_all_types() {
    migrate_all_types(&Server::start(&[]), &RealRedis::start());
}

#[test]
fn real_redis_to_ferrokv_all_types() {
    migrate_all_types(&RealRedis::start(), &Server::start(&[]));
}

#[test]
fn copy_replace_and_target_errors() {
    let src = Server::start(&[]);
    let dst = Server::start(&[]);
    let mut a = src.conn();
    let mut b = dst.conn();
    let port = dst.port().to_string();
    let m = |extra: &[&str]| {
        let mut v = vec!["MIGRATE", "127.0.0.1", port.as_str(), "k", "0", "5000"];
        v.extend_from_slice(extra);
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |c: &mut RawConn, v: Vec<String>| {
        let r: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
        c.cmd_str(&r)
    };
    a.cmd(&["SET", "k", "v1"]);
    assert_eq!(run(&mut a, m(&["COPY"])), "+OK\r\n");
    assert_eq!(a.cmd_str(&["GET", "k"]), "$2\r\nv1\r\n");
    // The target has the key now: without REPLACE its BUSYKEY comes back.
    assert_eq!(
        run(&mut a, m(&["COPY"])),
        "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    );
    a.cmd(&["SET", "k", "v2"]);
    assert_eq!(run(&mut a, m(&["REPLACE"])), "+OK\r\n");
    assert_eq!(a.cmd_int(&["EXISTS", "k"]), 0);
    assert_eq!(b.cmd_str(&["GET", "k"]), "$2\r\nv2\r\n");
    assert_eq!(run(&mut a, m(&[])), "+NOKEY\r\n");
    // A db the target does not have: SELECT's error is relayed, and the
    // next MIGRATE selects again.
    a.cmd(&["SET", "k", "v3"]);
    let mut v = m(&[]);
    v[4] = "99".into();
    assert_eq!(
        run(&mut a, v),
        "-ERR Target instance replied with error: ERR DB index is out of range\r\n"
    );
    assert_eq!(a.cmd_str(&["GET", "k"]), "$2\r\nv3\r\n");
    b.cmd(&["DEL", "k"]);
    assert_eq!(run(&mut a, m(&[])), "+OK\r\n");
    assert_eq!(b.cmd_str(&["GET", "k"]), "$2\r\nv3\r\n");
    // AUTH against a target without a password.
    a.cmd(&["SET", "k2", "x"]);
    let mut v = m(&["AUTH", "secret"]);
    v[3] = "k2".into();
    assert!(run(&mut a, v).starts_with(
        "-ERR Target instance replied with error: ERR AUTH <password> called without any password configured"
    ));
    assert_eq!(a.cmd_int(&["EXISTS", "k2"]), 1);
    assert_eq!(
        info_field(&mut a, "stats", "migrate_cached_sockets").as_deref(),
        Some("1")
    );
    src.assert_no_panic();
}

#[test]
fn auth_and_auth2_on_target() {
    let src = Server::start(&[]);
    let dst = Server::start(&["--requirepass", "pw"]);
    let mut a = src.conn();
    let mut b = dst.conn();
    assert_eq!(b.cmd_str(&["AUTH", "pw"]), "+OK\r\n");
    b.cmd(&["ACL", "SETUSER", "mover", "on", ">mpw", "~*", "+@all"]);
    let port = dst.port().to_string();
    a.cmd(&["SET", "a", "1"]);
    a.cmd(&["SET", "b", "2"]);
    assert_eq!(
        a.cmd_str(&["MIGRATE", "127.0.0.1", &port, "a", "0", "5000"]),
        "-ERR Target instance replied with error: NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        a.cmd_str(&["MIGRATE", "127.0.0.1", &port, "a", "0", "5000", "AUTH", "bad"]),
        "-ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        a.cmd_str(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "a",
            "0",
            "5000",
            "AUTH",
            "pw"
        ]),
        "+OK\r\n"
    );
    assert_eq!(
        a.cmd_str(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "b",
            "0",
            "5000",
            "AUTH2",
            "mover",
            "mpw"
        ]),
        "+OK\r\n"
    );
    assert_eq!(
        b.cmd_str(&["MGET", "a", "b"]),
        "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
    // The slow log and MONITOR never show the secrets.
    a.cmd(&["SET", "c", "3"]);
    a.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    a.cmd(&["SLOWLOG", "RESET"]);
    a.cmd(&[
        "MIGRATE",
        "127.0.0.1",
        &port,
        "c",
        "0",
        "5000",
        "AUTH2",
        "mover",
        "mpw",
    ]);
    let log = s(a.cmd(&["SLOWLOG", "GET", "1"]));
    assert!(
        log.contains("AUTH2\r\n$10\r\n(redacted)\r\n$10\r\n(redacted)"),
        "{}",
        log
    );
    assert!(!log.contains("mpw"), "{}", log);
}

#[test]
fn connection_failures_and_timeouts() {
    let src = Server::start(&[]);
    let mut a = src.conn();
    a.cmd(&["SET", "k", "v"]);
    // A name that does not resolve.
    assert_eq!(
        a.cmd_str(&["MIGRATE", "", "6379", "k", "0", "1000"]),
        "-IOERR error or timeout connecting to the client\r\n"
    );
    // Nothing listens there: Redis's connect does not wait for the
    // outcome, the refusal shows when writing (after one retry).
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    assert_eq!(
        a.cmd_str(&["MIGRATE", "127.0.0.1", &dead_port, "k", "0", "1000"]),
        "-IOERR error or timeout writing to target instance\r\n"
    );
    // A target that accepts but never answers: a timeout, not retried.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port().to_string();
    assert_eq!(
        a.cmd_str(&["MIGRATE", "127.0.0.1", &silent_port, "k", "0", "200"]),
        "-IOERR error or timeout reading to target instance\r\n"
    );
    let (_first, _) = silent.accept().unwrap();
    silent.set_nonblocking(true).unwrap();
    assert!(silent.accept().is_err(), "a timeout must not be retried");
    // A target that closes every connection: retried once, then an error.
    let closer = TcpListener::bind("127.0.0.1:0").unwrap();
    let closer_port = closer.local_addr().unwrap().port().to_string();
    let t = std::thread::spawn(move || {
        let mut n = 0;
        closer.set_nonblocking(true).unwrap();
        let end = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < end {
            if let Ok((c, _)) = closer.accept() {
                drop(c);
                n += 1;
            } else {
                std::thread::sleep(Duration::from_millis(5));
            }
            if n == 2 {
                break;
            }
        }
        n
    });
    assert_eq!(
        a.cmd_str(&["MIGRATE", "127.0.0.1", &closer_port, "k", "0", "2000"]),
        "-IOERR error or timeout reading to target instance\r\n"
    );
    assert_eq!(t.join().unwrap(), 2, "one retry on a fresh connection");
    assert_eq!(a.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(
        info_field(&mut a, "stats", "migrate_cached_sockets").as_deref(),
        Some("0")
    );
    src.assert_no_panic();
}

#[test]
fn cached_connection_killed_by_target_is_retried() {
    let src = Server::start(&[]);
    let dst = Server::start(&[]);
    let mut a = src.conn();
    let mut b = dst.conn();
    let port = dst.port().to_string();
    a.cmd(&["SET", "x", "1"]);
    a.cmd(&["SET", "y", "2"]);
    assert_eq!(
        a.cmd_str(&["MIGRATE", "127.0.0.1", &port, "x", "0", "5000"]),
        "+OK\r\n"
    );
    // The target drops the cached connection; the next MIGRATE notices on
    // reading and retries on a new one.
    assert_eq!(
        b.cmd_int(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]),
        1
    );
    assert_eq!(
        a.cmd_str(&["MIGRATE", "127.0.0.1", &port, "y", "0", "5000"]),
        "+OK\r\n"
    );
    assert_eq!(
        b.cmd_str(&["MGET", "x", "y"]),
        "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
}

#[test]
fn idle_cached_connection_is_closed_after_ten_seconds() {
    let src = Server::start(&[]);
    let dst = Server::start(&[]);
    let mut a = src.conn();
    let port = dst.port().to_string();
    a.cmd(&["SET", "x", "1"]);
    assert_eq!(
        a.cmd_str(&["MIGRATE", "127.0.0.1", &port, "x", "0", "5000"]),
        "+OK\r\n"
    );
    assert_eq!(
        info_field(&mut a, "stats", "migrate_cached_sockets").as_deref(),
        Some("1")
    );
    let closed = poll_until(Duration::from_secs(20), || {
        info_field(&mut a, "stats", "migrate_cached_sockets").as_deref() == Some("0")
    });
    assert!(closed, "the idle connection was never closed");
}

#[test]
fn replica_sees_del_unless_copy() {
    let master = Server::start(&[]);
    let replica = Server::start(&[]);
    let target = Server::start(&[]);
    let mut m = master.conn();
    let mut r = replica.conn();
    let port = target.port().to_string();
    m.cmd(&["SET", "moved", "1"]);
    m.cmd(&["SET", "copied", "2"]);
    m.cmd(&["SET", "extra", "3"]);
    r.cmd(&["REPLICAOF", "127.0.0.1", &master.port().to_string()]);
    assert!(poll_until(Duration::from_secs(20), || r
        .cmd_int(&["DBSIZE"])
        == 3));
    assert_eq!(
        m.cmd_str(&["MIGRATE", "127.0.0.1", &port, "copied", "0", "5000", "COPY"]),
        "+OK\r\n"
    );
    assert_eq!(
        m.cmd_str(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "",
            "0",
            "5000",
            "KEYS",
            "moved",
            "nokey"
        ]),
        "+OK\r\n"
    );
    m.cmd(&["SET", "marker", "done"]);
    assert!(poll_until(Duration::from_secs(20), || r
        .cmd_str(&["GET", "marker"])
        == "$4\r\ndone\r\n"));
    assert_eq!(r.cmd_int(&["EXISTS", "moved"]), 0);
    assert_eq!(r.cmd_int(&["EXISTS", "copied"]), 1);
    assert_eq!(r.cmd_int(&["EXISTS", "extra"]), 1);
}

#[test]
fn getkeys_and_watch() {
    let src = Server::start(&[]);
    let mut a = src.conn();
    assert_eq!(
        a.cmd_str(&["COMMAND", "GETKEYS", "MIGRATE", "h", "1", "key", "0", "0"]),
        "*1\r\n$3\r\nkey\r\n"
    );
    assert_eq!(
        a.cmd_str(&[
            "COMMAND", "GETKEYS", "MIGRATE", "h", "1", "", "0", "0", "COPY", "AUTH2", "u", "p",
            "KEYS", "a", "b"
        ]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    // A migrated key counts as modified for WATCH.
    let dst = Server::start(&[]);
    let port = dst.port().to_string();
    let mut w = src.conn();
    a.cmd(&["SET", "w", "1"]);
    w.cmd(&["WATCH", "w"]);
    assert_eq!(
        a.cmd_str(&["MIGRATE", "127.0.0.1", &port, "w", "0", "5000"]),
        "+OK\r\n"
    );
    w.cmd(&["MULTI"]);
    w.cmd(&["PING"]);
    assert_eq!(w.cmd_str(&["EXEC"]), "*-1\r\n");
}

/// Source-side replies that need no target, byte for byte against Redis.
#[test]
fn source_errors_match_redis() {
    let ours = Server::start(&[]);
    let theirs = RealRedis::start();
    let mut f = ours.conn();
    let mut r = theirs.conn();
    let cases: &[&[&str]] = &[
        &["SET", "k", "v"],
        &["MIGRATE", "127.0.0.1", "1", "k", "0"],
        &["MIGRATE", "127.0.0.1", "1", "k", "0", "x"],
        &["MIGRATE", "127.0.0.1", "1", "k", "x", "100"],
        &["MIGRATE", "127.0.0.1", "1", "k", "0", "100", "FOO"],
        &["MIGRATE", "127.0.0.1", "1", "k", "0", "100", "AUTH"],
        &["MIGRATE", "127.0.0.1", "1", "k", "0", "100", "AUTH2", "u"],
        &["MIGRATE", "127.0.0.1", "1", "k", "0", "100", "KEYS", "a"],
        &[
            "MIGRATE",
            "127.0.0.1",
            "1",
            "",
            "0",
            "100",
            "KEYS",
            "a",
            "b",
        ],
        &["MIGRATE", "127.0.0.1", "1", "", "0", "100", "KEYS"],
        &[
            "MIGRATE",
            "127.0.0.1",
            "1",
            "nokey",
            "0",
            "100",
            "COPY",
            "REPLACE",
        ],
        &[
            "COMMAND", "GETKEYS", "MIGRATE", "h", "1", "k", "0", "0", "KEYS", "a",
        ],
        &["COMMAND", "INFO", "MIGRATE"],
        &["COMMAND", "DOCS", "MIGRATE"],
    ];
    for c in cases {
        let want = r.cmd(c);
        let got = f.cmd(c);
        assert_reply(&got, &want);
    }
}
