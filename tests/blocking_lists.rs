//! Blocking list commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP)
//! across several connections: immediate service when data exists,
//! wake-up by another client's push, FIFO order among waiters, timeouts,
//! and exactly-once delivery under concurrent producers and consumers.
//!
//! Run with FERROKV_TEST_REDIS=1 to check the tests against redis-server.

use crate::common;

use common::{escape, poll_until, RawConn, Server};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// INFO clients' blocked_clients (-1 if absent).
fn blocked_clients(c: &mut RawConn) -> i64 {
    let r = c.cmd(&["INFO", "clients"]);
    let s = String::from_utf8_lossy(&r).into_owned();
    s.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1)
}

fn wait_blocked(c: &mut RawConn, n: i64) {
    let mut last = -1;
    let ok = poll_until(Duration::from_secs(5), || {
        last = blocked_clients(c);
        last == n
    });
    assert!(ok, "expected {} blocked clients, INFO says {}", n, last);
}

/// RESP for `[key, value]`.
fn pair(k: &str, v: &str) -> String {
    format!("*2\r\n${}\r\n{}\r\n${}\r\n{}\r\n", k.len(), k, v.len(), v)
}

/// The value of a `[key, value]` reply.
fn pair_value(r: &[u8]) -> String {
    let s = reply_str(r);
    let parts: Vec<&str> = s.split("\r\n").collect();
    assert!(
        parts.len() == 6 && parts[0] == "*2",
        "unexpected reply {}",
        escape(r)
    );
    parts[4].to_string()
}

fn reply_str(r: &[u8]) -> String {
    String::from_utf8_lossy(r).into_owned()
}

#[test]
fn blocking_pops_return_immediately_when_data_exists() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(c.cmd_int(&["RPUSH", "k", "a", "b", "c"]), 3);
    assert_eq!(
        reply_str(&c.cmd(&["BLPOP", "nokey", "k", "0"])),
        pair("k", "a")
    );
    assert_eq!(reply_str(&c.cmd(&["BRPOP", "k", "0"])), pair("k", "c"));
    assert_eq!(
        reply_str(&c.cmd(&["BLMOVE", "k", "dst", "LEFT", "RIGHT", "0"])),
        "$1\r\nb\r\n"
    );
    assert_eq!(c.cmd_int(&["EXISTS", "k"]), 0);
    assert_eq!(
        reply_str(&c.cmd(&["BRPOPLPUSH", "dst", "k", "0"])),
        "$1\r\nb\r\n"
    );
    assert_eq!(c.cmd_int(&["RPUSH", "k", "x", "y"]), 3);
    assert_eq!(
        reply_str(&c.cmd(&["BLMPOP", "0", "2", "nokey", "k", "LEFT", "COUNT", "2"])),
        "*2\r\n$1\r\nk\r\n*2\r\n$1\r\nb\r\n$1\r\nx\r\n"
    );
    assert_eq!(blocked_clients(&mut c), 0);
    srv.assert_no_panic();
}

#[test]
fn blocked_client_is_woken_by_a_push() {
    let srv = Server::start(&[]);
    let mut waiter = srv.conn();
    let mut pusher = srv.conn();

    waiter.send(&[b"BLPOP", b"k1", b"k2", b"0"]);
    wait_blocked(&mut pusher, 1);
    assert_eq!(pusher.cmd_int(&["LPUSH", "k2", "v"]), 1);
    assert_eq!(reply_str(&waiter.read_reply()), pair("k2", "v"));
    assert_eq!(pusher.cmd_int(&["EXISTS", "k2"]), 0);
    wait_blocked(&mut pusher, 0);

    // BLMOVE: the element lands in the destination.
    waiter.send(&[b"BLMOVE", b"src", b"dst", b"LEFT", b"RIGHT", b"0"]);
    wait_blocked(&mut pusher, 1);
    assert_eq!(pusher.cmd_int(&["RPUSH", "src", "x"]), 1);
    assert_eq!(reply_str(&waiter.read_reply()), "$1\r\nx\r\n");
    assert_eq!(
        reply_str(&pusher.cmd(&["LRANGE", "dst", "0", "-1"])),
        "*1\r\n$1\r\nx\r\n"
    );
    assert_eq!(pusher.cmd_int(&["EXISTS", "src"]), 0);

    // BRPOPLPUSH.
    waiter.send(&[b"BRPOPLPUSH", b"src", b"dst", b"0"]);
    wait_blocked(&mut pusher, 1);
    assert_eq!(pusher.cmd_int(&["RPUSH", "src", "y", "z"]), 2);
    assert_eq!(reply_str(&waiter.read_reply()), "$1\r\nz\r\n");
    assert_eq!(pusher.cmd_int(&["LLEN", "dst"]), 2);
    assert_eq!(pusher.cmd_int(&["LLEN", "src"]), 1);

    // BLMPOP with COUNT takes up to COUNT elements.
    waiter.send(&[
        b"BLMPOP", b"0", b"2", b"m1", b"m2", b"RIGHT", b"COUNT", b"2",
    ]);
    wait_blocked(&mut pusher, 1);
    assert_eq!(pusher.cmd_int(&["RPUSH", "m2", "1", "2", "3"]), 3);
    assert_eq!(
        reply_str(&waiter.read_reply()),
        "*2\r\n$2\r\nm2\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
    );
    assert_eq!(pusher.cmd_int(&["LLEN", "m2"]), 1);

    // A push to an unrelated key does not wake the waiter.
    waiter.send(&[b"BRPOP", b"w", b"0"]);
    wait_blocked(&mut pusher, 1);
    assert_eq!(pusher.cmd_int(&["RPUSH", "other", "o"]), 1);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(blocked_clients(&mut pusher), 1);
    assert_eq!(pusher.cmd_int(&["RPUSH", "w", "a", "b"]), 2);
    assert_eq!(reply_str(&waiter.read_reply()), pair("w", "b"));
    srv.assert_no_panic();
}

#[test]
fn blocked_clients_are_served_in_fifo_order() {
    let srv = Server::start(&[]);
    let mut ctl = srv.conn();
    let mut waiters: Vec<RawConn> = (0..4).map(|_| srv.conn()).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        w.send(&[b"BLPOP", b"q", b"0"]);
        wait_blocked(&mut ctl, i as i64 + 1);
    }
    assert_eq!(ctl.cmd_int(&["RPUSH", "q", "1", "2", "3"]), 3);
    for (i, w) in waiters.iter_mut().take(3).enumerate() {
        assert_eq!(reply_str(&w.read_reply()), pair("q", &(i + 1).to_string()));
    }
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd_int(&["LPUSH", "q", "4"]), 1);
    assert_eq!(reply_str(&waiters[3].read_reply()), pair("q", "4"));
    assert_eq!(ctl.cmd_int(&["EXISTS", "q"]), 0);
    srv.assert_no_panic();
}

#[test]
fn timeouts_reply_nil() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let t = Instant::now();
    assert_eq!(reply_str(&c.cmd(&["BLPOP", "nokey", "0.2"])), "*-1\r\n");
    let el = t.elapsed();
    assert!(el >= Duration::from_millis(150), "returned after {:?}", el);
    assert!(el < Duration::from_secs(5), "returned after {:?}", el);
    assert_eq!(reply_str(&c.cmd(&["BRPOP", "a", "b", "0.05"])), "*-1\r\n");
    assert_eq!(
        reply_str(&c.cmd(&["BLMPOP", "0.05", "1", "a", "LEFT"])),
        "*-1\r\n"
    );
    // Redis 7.0 answers a timed-out BLMOVE/BRPOPLPUSH with a null array too.
    assert_eq!(
        reply_str(&c.cmd(&["BLMOVE", "a", "b", "LEFT", "LEFT", "0.05"])),
        "*-1\r\n"
    );
    assert_eq!(
        reply_str(&c.cmd(&["BRPOPLPUSH", "a", "b", "0.05"])),
        "*-1\r\n"
    );
    assert_eq!(c.cmd_int(&["EXISTS", "a", "b"]), 0);
    c.cmd(&["HELLO", "3"]);
    assert_eq!(reply_str(&c.cmd(&["BLPOP", "nokey", "0.05"])), "_\r\n");
    assert_eq!(blocked_clients(&mut c), 0);
    srv.assert_no_panic();
}

#[test]
fn many_waiters_on_many_keys_get_each_element_once() {
    const CONSUMERS: usize = 16;
    const PRODUCERS: usize = 4;
    const PER_PRODUCER: usize = 200;
    let keys = ["k0", "k1", "k2", "k3", "k4"];
    let srv = Server::start(&[]);
    let port = srv.port();

    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|ci| {
            std::thread::spawn(move || {
                let mut c = RawConn::connect(port);
                let mut got = Vec::new();
                loop {
                    let mut argv: Vec<&[u8]> = vec![if ci % 2 == 0 { b"BLPOP" } else { b"BRPOP" }];
                    // Different key orders per consumer.
                    for j in 0..keys.len() {
                        argv.push(keys[(j + ci) % keys.len()].as_bytes());
                    }
                    argv.push(b"1");
                    c.send(&argv);
                    let r = c.read_reply();
                    if r == b"*-1\r\n" {
                        return got;
                    }
                    got.push(pair_value(&r));
                }
            })
        })
        .collect();

    let mut ctl = srv.conn();
    wait_blocked(&mut ctl, CONSUMERS as i64);

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|pi| {
            std::thread::spawn(move || {
                let mut c = RawConn::connect(port);
                for i in 0..PER_PRODUCER {
                    let key = keys[(i * 7 + pi) % keys.len()];
                    let v = format!("p{}-{}", pi, i);
                    let cmd = if i % 3 == 0 { "LPUSH" } else { "RPUSH" };
                    if i % 10 == 9 {
                        // Two elements in one push.
                        let v2 = format!("p{}-{}b", pi, i);
                        c.cmd(&[cmd, key, &v, &v2]);
                    } else {
                        c.cmd(&[cmd, key, &v]);
                    }
                }
            })
        })
        .collect();
    for p in producers {
        p.join().expect("producer");
    }

    let mut seen: HashMap<String, usize> = HashMap::new();
    for c in consumers {
        for v in c.join().expect("consumer") {
            *seen.entry(v).or_default() += 1;
        }
    }
    let expected = PRODUCERS * (PER_PRODUCER + PER_PRODUCER / 10);
    let dups: Vec<_> = seen.iter().filter(|(_, &n)| n != 1).collect();
    assert!(dups.is_empty(), "delivered more than once: {:?}", dups);
    assert_eq!(seen.len(), expected, "elements delivered");
    for pi in 0..PRODUCERS {
        for i in 0..PER_PRODUCER {
            let v = format!("p{}-{}", pi, i);
            assert!(seen.contains_key(&v), "{} never delivered", v);
        }
    }
    for k in keys {
        assert_eq!(ctl.cmd_int(&["EXISTS", k]), 0, "{} left over", k);
    }
    assert_eq!(blocked_clients(&mut ctl), 0);
    srv.assert_no_panic();
}

/// Redis's list.tcl "BLPOP, LPUSH + DEL + SET should not awake blocked
/// client": a key that holds a string by the time the transaction ends
/// serves nobody; the client stays blocked for the next real push.
#[test]
fn a_key_replaced_by_another_type_does_not_wake_list_waiters() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let mut waiter = srv.conn();
    waiter.send(&[b"BLPOP", b"list", b"0"]);
    wait_blocked(&mut c, 1);
    c.cmd(&["MULTI"]);
    c.cmd(&["LPUSH", "list", "a"]);
    c.cmd(&["DEL", "list"]);
    c.cmd(&["SET", "list", "foo"]);
    assert_eq!(reply_str(&c.cmd(&["EXEC"])), "*3\r\n:1\r\n:1\r\n+OK\r\n");
    wait_blocked(&mut c, 1);
    c.cmd(&["DEL", "list"]);
    c.cmd(&["LPUSH", "list", "b"]);
    assert_eq!(reply_str(&waiter.read_reply()), pair("list", "b"));
}

/// Redis's list.tcl "SWAPDB awakes blocked client".
#[test]
fn swapdb_serves_clients_blocked_on_a_key_that_arrives() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["RPUSH", "k", "hello"]);
    let mut waiter = srv.conn();
    waiter.cmd(&["SELECT", "9"]);
    waiter.send(&[b"BRPOP", b"k", b"0"]);
    wait_blocked(&mut c, 1);
    assert_eq!(reply_str(&c.cmd(&["SWAPDB", "1", "9"])), "+OK\r\n");
    assert_eq!(reply_str(&waiter.read_reply()), pair("k", "hello"));
}

/// list.tcl "$pop when new key is moved into place": a key that arrives
/// by RENAME, MOVE, COPY or RESTORE (Redis's dbAdd) wakes its waiters too.
#[test]
fn keys_arriving_without_a_push_wake_waiters() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let mut waiter = srv.conn();
    c.cmd(&["RPUSH", "src", "x"]);
    let dump = c.cmd(&["DUMP", "src"]);
    let start = dump.iter().position(|&b| b == b'\n').expect("bulk header") + 1;
    let body = dump[start..dump.len() - 2].to_vec();
    let ways: &[(&str, &[&[&[u8]]])] = &[
        (
            "abc",
            &[&[b"RPUSH", b"bob", b"abc"], &[b"RENAME", b"bob", b"foo"]],
        ),
        (
            "def",
            &[
                &[b"SELECT", b"1"],
                &[b"RPUSH", b"foo", b"def"],
                &[b"MOVE", b"foo", b"0"],
                &[b"SELECT", b"0"],
            ],
        ),
        (
            "hij",
            &[&[b"RPUSH", b"other", b"hij"], &[b"COPY", b"other", b"foo"]],
        ),
        ("x", &[&[b"RESTORE", b"foo", b"0", &body]]),
    ];
    for (want, cmds) in ways {
        waiter.send(&[b"BLPOP", b"foo", b"0"]);
        wait_blocked(&mut c, 1);
        for cmd in cmds.iter() {
            c.cmd_bytes(cmd);
        }
        assert_eq!(reply_str(&waiter.read_reply()), pair("foo", want));
        c.cmd(&["DEL", "foo", "other"]);
    }
    srv.assert_no_panic();
}

/// Reads `n` propagated commands, each as its words joined by spaces,
/// with digits of PEXPIREAT's time masked.
fn stream_commands(s: &mut RawConn, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let words: Vec<String> = common::flatten(&s.read_reply())
                .into_iter()
                .skip(1)
                .map(|w| {
                    let t = String::from_utf8_lossy(&w).into_owned();
                    t.split("\r\n").nth(1).unwrap_or_default().to_lowercase()
                })
                .collect();
            let mut line = words.join(" ");
            if line.starts_with("pexpireat") {
                line = line
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .to_string();
            }
            line
        })
        .collect()
}

/// list.tcl "SWAPDB wants to wake blocked client, but the key already
/// expired" and "MULTI + LPUSH + EXPIRE + DEBUG SLEEP on blocked client,
/// key already expired": the waiter stays blocked, and the expired key's
/// DEL is propagated after the command that signalled it.
fn expired_on_wakeup(port: u16) -> Vec<String> {
    let mut c = RawConn::connect(port);
    c.cmd(&["FLUSHALL"]);
    let mut repl = common::attach_replication_stream(port);
    let mut out = Vec::new();
    c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["RPUSH", "k", "hello"]);
    c.cmd(&["PEXPIRE", "k", "100"]);
    let mut waiter = RawConn::connect(port);
    waiter.cmd(&["SELECT", "9"]);
    let id = reply_str(&waiter.cmd(&["CLIENT", "ID"]))
        .trim_start_matches(':')
        .trim()
        .to_string();
    waiter.send(&[b"BRPOP", b"k", b"0"]);
    wait_blocked(&mut c, 1);
    std::thread::sleep(Duration::from_millis(150)); // let k's TTL pass
    out.push(reply_str(&c.cmd(&["SWAPDB", "1", "9"])));
    let list = reply_str(&c.cmd(&["CLIENT", "LIST", "ID", &id]));
    out.push(format!("blocked: {}", list.contains("flags=b")));
    out.push(reply_str(&c.cmd(&["CLIENT", "UNBLOCK", &id])));
    out.push(reply_str(&waiter.read_reply()));
    out.extend(stream_commands(&mut repl, 6));

    c.cmd(&["SELECT", "9"]);
    waiter.send(&[b"BRPOP", b"k", b"0"]);
    wait_blocked(&mut c, 1);
    c.cmd(&["MULTI"]);
    c.cmd(&["RPUSH", "k", "hello"]);
    c.cmd(&["PEXPIRE", "k", "100"]);
    c.cmd(&["DEBUG", "SLEEP", "0.2"]);
    out.push(reply_str(&c.cmd(&["EXEC"])));
    let list = reply_str(&c.cmd(&["CLIENT", "LIST", "ID", &id]));
    out.push(format!("blocked: {}", list.contains("flags=b")));
    out.push(reply_str(&c.cmd(&["CLIENT", "UNBLOCK", &id])));
    out.push(reply_str(&waiter.read_reply()));
    out.extend(stream_commands(&mut repl, 5));
    c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    out
}

#[test]
fn expired_key_on_wakeup_matches_redis() {
    let args = ["--enable-debug-command", "yes"];
    let ours = Server::start(&args);
    let real = common::RealRedis::start_with(&args);
    let got = expired_on_wakeup(ours.port());
    let want = expired_on_wakeup(real.port());
    assert_eq!(got, want);
    ours.assert_no_panic();
}

/// CLIENT UNBLOCK ... ERROR: the UNBLOCKED reply counts as an error
/// reply (errorstats) and the blocked command as failed, as in Redis's
/// updateStatsOnUnblock.
#[test]
fn client_unblock_error_is_counted() {
    let s = Server::start(&[]);
    let mut r = s.conn();
    let mut rd = s.conn();
    r.cmd(&["CONFIG", "RESETSTAT"]);
    let id = rd.cmd_int(&["CLIENT", "ID"]);
    rd.send(&[b"BLPOP", b"list1", b"0"]);
    wait_blocked(&mut r, 1);
    assert_eq!(
        r.cmd_int(&["CLIENT", "UNBLOCK", &id.to_string(), "ERROR"]),
        1
    );
    assert_eq!(
        rd.read_reply(),
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    let info = reply_str(&r.cmd(&["INFO", "all"]));
    assert!(info.contains("errorstat_UNBLOCKED:count=1\r\n"), "{info}");
    assert!(info.contains("total_error_replies:1\r\n"), "{info}");
    let blpop = info
        .lines()
        .find(|l| l.starts_with("cmdstat_blpop:"))
        .unwrap_or_default();
    assert!(
        blpop.contains("calls=1,") && blpop.ends_with("failed_calls=1"),
        "{blpop}"
    );
}
