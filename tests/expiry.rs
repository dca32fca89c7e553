//! Key expiry: active expiry (the background cycle removes keys nobody
//! reads), lazy expiry on access, and TTL semantics across commands.

use crate::common;

use common::{poll_until, Server};
use std::io::{Read, Write};
use std::time::Duration;

fn dbsize(c: &mut common::RawConn) -> i64 {
    c.cmd_int(&["DBSIZE"])
}

#[test]
fn active_expiry_removes_unread_keys() {
    let srv = Server::start(&[]);
    let n = 200_000usize;
    let mut c = srv.conn();
    // Writer and reader on separate threads so neither side's socket buffer
    // can deadlock the pipeline.
    let mut writer = c.stream.try_clone().expect("clone");
    let w = std::thread::spawn(move || {
        let mut buf = Vec::with_capacity(1 << 20);
        for i in 0..n {
            let k = format!("k:{}", i);
            buf.extend_from_slice(
                format!(
                    "*5\r\n$3\r\nSET\r\n${}\r\n{}\r\n$1\r\nv\r\n$2\r\nPX\r\n$3\r\n100\r\n",
                    k.len(),
                    k
                )
                .as_bytes(),
            );
            if buf.len() > 512 * 1024 {
                writer.write_all(&buf).expect("write");
                buf.clear();
            }
        }
        writer.write_all(&buf).expect("write");
    });
    // Read all n "+OK\r\n" replies.
    let mut reader = c.stream.try_clone().expect("clone");
    let want = n * 5;
    let mut got = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    let mut bad = None;
    while got < want {
        let r = reader.read(&mut chunk).expect("reading SET replies");
        assert!(r > 0, "connection closed after {} reply bytes", got);
        if bad.is_none() && chunk[..r].contains(&b'-') {
            bad = Some(String::from_utf8_lossy(&chunk[..r]).into_owned());
        }
        got += r;
    }
    w.join().expect("writer");
    assert!(bad.is_none(), "error reply among SETs: {:?}", bad);
    assert_eq!(got, want);

    // Never touch the keys: only DBSIZE, which does not expire anything.
    let mut last = dbsize(&mut c);
    let ok = poll_until(Duration::from_secs(30), || {
        last = dbsize(&mut c);
        last == 0
    });
    assert!(ok, "active expiry left {} keys after 30s", last);
    srv.assert_no_panic();
}

#[test]
fn lazy_expiry_on_access() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    common::assert_reply(&c.cmd(&["SET", "k", "v", "PX", "50"]), b"+OK\r\n");
    common::assert_reply(&c.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    let ok = poll_until(Duration::from_secs(5), || {
        c.cmd(&["GET", "k"]) == b"$-1\r\n"
    });
    assert!(ok, "key with PX 50 still readable after 5s");
    common::assert_reply(&c.cmd(&["EXISTS", "k"]), b":0\r\n");
    common::assert_reply(&c.cmd(&["TTL", "k"]), b":-2\r\n");
    srv.assert_no_panic();
}

/// With the active cycle disabled, an expired key stays in the keyspace
/// (DBSIZE counts it) until it is accessed.
#[test]
fn lazy_expiry_with_active_expiry_disabled() {
    let srv = Server::start(&["--enable-debug-command", "local"]);
    let mut c = srv.conn();
    common::assert_reply(&c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), b"+OK\r\n");
    common::assert_reply(&c.cmd(&["SET", "k", "v", "PX", "30"]), b"+OK\r\n");
    common::assert_reply(&c.cmd(&["SET", "k2", "v", "PX", "30"]), b"+OK\r\n");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(dbsize(&mut c), 2);
    common::assert_reply(&c.cmd(&["GET", "k"]), b"$-1\r\n");
    assert_eq!(dbsize(&mut c), 1);
    common::assert_reply(&c.cmd(&["EXISTS", "k2"]), b":0\r\n");
    assert_eq!(dbsize(&mut c), 0);
    common::assert_reply(&c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), b"+OK\r\n");
    srv.assert_no_panic();
}

#[test]
fn ttl_semantics() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(c.cmd_int(&["TTL", "nosuch"]), -2);
    assert_eq!(c.cmd_int(&["PTTL", "nosuch"]), -2);
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd_int(&["TTL", "k"]), -1);
    assert_eq!(c.cmd_int(&["PTTL", "k"]), -1);
    assert_eq!(c.cmd_int(&["EXPIRETIME", "k"]), -1);

    c.cmd(&["SET", "k", "v", "EX", "100"]);
    let ttl = c.cmd_int(&["TTL", "k"]);
    assert!((99..=100).contains(&ttl), "ttl {}", ttl);
    let pttl = c.cmd_int(&["PTTL", "k"]);
    assert!((98_000..=100_000).contains(&pttl), "pttl {}", pttl);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let pat = c.cmd_int(&["PEXPIRETIME", "k"]);
    assert!(
        (pat - (now + 100_000)).abs() < 2_000,
        "pexpiretime {} now {}",
        pat,
        now
    );
    let at = c.cmd_int(&["EXPIRETIME", "k"]);
    assert!((at - pat / 1000).abs() <= 1);

    // Commands that keep or clear the TTL.
    c.cmd(&["APPEND", "k", "x"]);
    assert!(c.cmd_int(&["TTL", "k"]) > 0, "APPEND must keep the TTL");
    c.cmd(&["SETRANGE", "k", "0", "y"]);
    assert!(c.cmd_int(&["TTL", "k"]) > 0, "SETRANGE must keep the TTL");
    c.cmd(&["SET", "n", "1", "EX", "100"]);
    c.cmd(&["INCR", "n"]);
    assert!(c.cmd_int(&["TTL", "n"]) > 0, "INCR must keep the TTL");
    c.cmd(&["INCRBYFLOAT", "n", "1.5"]);
    assert!(
        c.cmd_int(&["TTL", "n"]) > 0,
        "INCRBYFLOAT must keep the TTL"
    );
    c.cmd(&["SET", "k", "v2", "KEEPTTL"]);
    assert!(c.cmd_int(&["TTL", "k"]) > 0, "KEEPTTL must keep the TTL");
    c.cmd(&["SET", "k", "v3"]);
    assert_eq!(c.cmd_int(&["TTL", "k"]), -1, "plain SET clears the TTL");
    c.cmd(&["SET", "k", "v", "EX", "100"]);
    c.cmd(&["GETSET", "k", "w"]);
    assert_eq!(c.cmd_int(&["TTL", "k"]), -1, "GETSET clears the TTL");
    c.cmd(&["SET", "k", "v", "EX", "100"]);
    c.cmd(&["RENAME", "k", "k2"]);
    assert!(c.cmd_int(&["TTL", "k2"]) > 0, "RENAME moves the TTL");
    assert_eq!(c.cmd_int(&["PERSIST", "k2"]), 1);
    assert_eq!(c.cmd_int(&["PERSIST", "k2"]), 0);
    assert_eq!(c.cmd_int(&["TTL", "k2"]), -1);
    c.cmd(&["GETEX", "k2", "PX", "100000"]);
    assert!(c.cmd_int(&["TTL", "k2"]) > 0);
    c.cmd(&["GETEX", "k2", "PERSIST"]);
    assert_eq!(c.cmd_int(&["TTL", "k2"]), -1);

    // Non-positive relative and past absolute times delete the key.
    assert_eq!(c.cmd_int(&["EXPIRE", "k2", "0"]), 1);
    assert_eq!(c.cmd_int(&["EXISTS", "k2"]), 0);
    c.cmd(&["SET", "k3", "v"]);
    assert_eq!(c.cmd_int(&["EXPIREAT", "k3", "1"]), 1);
    assert_eq!(c.cmd_int(&["TTL", "k3"]), -2);

    // A tiny TTL really expires.
    c.cmd(&["SET", "k4", "v", "PX", "1"]);
    assert!(poll_until(Duration::from_secs(5), || c
        .cmd_int(&["TTL", "k4"])
        == -2));
    srv.assert_no_panic();
}

/// Expired keys are not visible to any read path even before deletion.
#[test]
fn expired_keys_invisible() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    for i in 0..100 {
        let k = format!("e:{}", i);
        c.cmd(&["SET", &k, "v", "PX", "20"]);
    }
    c.cmd(&["SET", "keep", "v"]);
    std::thread::sleep(Duration::from_millis(100));
    common::assert_reply(
        &c.cmd(&["MGET", "e:1", "e:2", "keep"]),
        b"*3\r\n$-1\r\n$-1\r\n$1\r\nv\r\n",
    );
    common::assert_reply(&c.cmd(&["KEYS", "e:*"]), b"*0\r\n");
    common::assert_reply(&c.cmd(&["EXISTS", "e:3", "e:4", "keep"]), b":1\r\n");
    common::assert_reply(&c.cmd(&["SETNX", "e:5", "new"]), b":1\r\n");
    common::assert_reply(&c.cmd(&["GET", "e:5"]), b"$3\r\nnew\r\n");
    assert_eq!(c.cmd_int(&["TTL", "e:5"]), -1);
    common::assert_reply(&c.cmd(&["INCR", "e:6"]), b":1\r\n");
    common::assert_reply(&c.cmd(&["APPEND", "e:7", "ab"]), b":2\r\n");
    let r = c.cmd(&["SCAN", "0", "MATCH", "e:?", "COUNT", "1000"]);
    let s = String::from_utf8_lossy(&r);
    assert!(
        !s.contains("e:1\r") && !s.contains("e:2\r"),
        "SCAN returned expired keys: {}",
        s
    );
    srv.assert_no_panic();
}
