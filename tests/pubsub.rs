//! Pub/Sub across connections: the redis crate's PubSub API (RESP2), raw
//! RESP3 push frames interleaved with replies, fan-out to many
//! subscribers, shard channels, cleanup on disconnect, the pubsub output
//! buffer limit against a stalled subscriber, and redis-py.

use crate::common;

use common::{assert_reply, escape, poll_until, RawConn, Server};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

fn have_redis_py() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import redis"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `*N` / `>N` frame of bulk strings.
fn frame(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut v = vec![prefix];
    v.extend_from_slice(format!("{}\r\n", parts.len()).as_bytes());
    for p in parts {
        v.extend_from_slice(format!("${}\r\n", p.len()).as_bytes());
        v.extend_from_slice(p);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// A (p|s)subscribe confirmation: name, channel, count.
fn sub_reply(prefix: u8, kind: &str, ch: &str, n: i64) -> Vec<u8> {
    let mut v = frame(prefix, &[kind.as_bytes(), ch.as_bytes()]);
    v[1] = b'3';
    v.extend_from_slice(format!(":{}\r\n", n).as_bytes());
    v
}

fn numsub(c: &mut RawConn, sub: &str, ch: &str) -> i64 {
    let r = c.cmd(&["PUBSUB", sub, ch]);
    let s = String::from_utf8_lossy(&r).into_owned();
    s.rsplit(':')
        .next()
        .and_then(|x| x.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("PUBSUB {} reply {:?}", sub, s))
}

#[test]
fn redis_crate_pubsub_round_trip() {
    let srv = Server::start(&[]);
    let client = srv.redis_client();
    let mut subcon = client.get_connection().expect("connect");
    let mut pubcon = client.get_connection().expect("connect");
    let mut ps = subcon.as_pubsub();
    ps.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    ps.subscribe("ch").expect("SUBSCRIBE");
    ps.psubscribe("news.*").expect("PSUBSCRIBE");

    let n: i64 = redis::cmd("PUBLISH")
        .arg("ch")
        .arg("hello")
        .query(&mut pubcon)
        .unwrap();
    assert_eq!(n, 1);
    let m = ps.get_message().expect("message");
    assert_eq!(m.get_channel_name(), "ch");
    assert_eq!(m.get_payload::<String>().unwrap(), "hello");
    assert!(!m.from_pattern());

    let n: i64 = redis::cmd("PUBLISH")
        .arg("news.sport")
        .arg("goal")
        .query(&mut pubcon)
        .unwrap();
    assert_eq!(n, 1);
    let m = ps.get_message().expect("pmessage");
    assert!(m.from_pattern());
    assert_eq!(m.get_pattern::<String>().unwrap(), "news.*");
    assert_eq!(m.get_channel_name(), "news.sport");
    assert_eq!(m.get_payload::<String>().unwrap(), "goal");

    // Binary payloads survive untouched; order is preserved.
    for i in 0..100u32 {
        let payload = [b'\0', b'\r', b'\n', (i % 256) as u8];
        let _: i64 = redis::cmd("PUBLISH")
            .arg("ch")
            .arg(&payload[..])
            .query(&mut pubcon)
            .unwrap();
    }
    for i in 0..100u32 {
        let m = ps.get_message().expect("message");
        assert_eq!(
            m.get_payload_bytes(),
            &[b'\0', b'\r', b'\n', (i % 256) as u8]
        );
    }
    ps.unsubscribe("ch").unwrap();
    ps.punsubscribe("news.*").unwrap();
    let n: i64 = redis::cmd("PUBLISH")
        .arg("ch")
        .arg("nobody")
        .query(&mut pubcon)
        .unwrap();
    assert_eq!(n, 0);
    drop(ps);
    srv.assert_no_panic();
}

#[test]
fn resp3_push_frames_interleave_with_replies() {
    let srv = Server::start(&[]);
    let mut sub = srv.conn();
    let mut publ = srv.conn();
    assert!(sub.cmd_str(&["HELLO", "3"]).starts_with("%7"));
    assert_reply(
        &sub.cmd(&["SUBSCRIBE", "c3"]),
        &sub_reply(b'>', "subscribe", "c3", 1),
    );
    assert_reply(&sub.cmd(&["SET", "k", "v"]), b"+OK\r\n");

    assert_eq!(publ.cmd_int(&["PUBLISH", "c3", "m1"]), 1);
    assert_reply(&sub.read_reply(), &frame(b'>', &[b"message", b"c3", b"m1"]));

    // A message published before the subscriber's GET arrives before the
    // GET's reply; the reply itself is a plain RESP3 reply.
    assert_eq!(publ.cmd_int(&["PUBLISH", "c3", "m2"]), 1);
    sub.send(&[b"GET", b"k"]);
    assert_reply(&sub.read_reply(), &frame(b'>', &[b"message", b"c3", b"m2"]));
    assert_reply(&sub.read_reply(), b"$1\r\nv\r\n");

    // Several messages, then commands: everything in order.
    for i in 0..50 {
        assert_eq!(publ.cmd_int(&["PUBLISH", "c3", &format!("n{}", i)]), 1);
    }
    sub.send(&[b"PING"]);
    for i in 0..50 {
        let p = format!("n{}", i);
        assert_reply(
            &sub.read_reply(),
            &frame(b'>', &[b"message", b"c3", p.as_bytes()]),
        );
    }
    assert_reply(&sub.read_reply(), b"+PONG\r\n");
    // A RESP2 publisher and a RESP3 one: same message, each in its framing.
    let mut sub2 = srv.conn();
    assert_reply(
        &sub2.cmd(&["SUBSCRIBE", "c3"]),
        &sub_reply(b'*', "subscribe", "c3", 1),
    );
    assert_eq!(publ.cmd_int(&["PUBLISH", "c3", "both"]), 2);
    assert_reply(
        &sub.read_reply(),
        &frame(b'>', &[b"message", b"c3", b"both"]),
    );
    assert_reply(
        &sub2.read_reply(),
        &frame(b'*', &[b"message", b"c3", b"both"]),
    );
    srv.assert_no_panic();
}

#[test]
fn fan_out_to_200_subscribers_exactly_once() {
    const N: usize = 200;
    let srv = Server::start(&[]);
    let mut subs: Vec<RawConn> = (0..N).map(|_| srv.conn()).collect();
    for (i, s) in subs.iter_mut().enumerate() {
        if i % 2 == 0 {
            assert_reply(
                &s.cmd(&["SUBSCRIBE", "fan"]),
                &sub_reply(b'*', "subscribe", "fan", 1),
            );
        } else {
            assert!(s.cmd_str(&["HELLO", "3"]).starts_with("%7"));
            assert_reply(
                &s.cmd(&["SUBSCRIBE", "fan"]),
                &sub_reply(b'>', "subscribe", "fan", 1),
            );
        }
    }
    let mut publ = srv.conn();
    assert_eq!(numsub(&mut publ, "NUMSUB", "fan"), N as i64);
    assert_eq!(publ.cmd_int(&["PUBLISH", "fan", "hello all"]), N as i64);
    for (i, s) in subs.iter_mut().enumerate() {
        let p = if i % 2 == 0 { b'*' } else { b'>' };
        assert_reply(
            &s.read_reply(),
            &frame(p, &[b"message", b"fan", b"hello all"]),
        );
        // Exactly once: the next frame is the PING reply.
        s.send(&[b"PING"]);
        if i % 2 == 0 {
            assert_reply(&s.read_reply(), &frame(b'*', &[b"pong", b""]));
        } else {
            assert_reply(&s.read_reply(), b"+PONG\r\n");
        }
    }
    srv.assert_no_panic();
}

#[test]
fn shard_channels() {
    let srv = Server::start(&[]);
    let mut sub = srv.conn();
    let mut publ = srv.conn();
    assert_reply(
        &sub.cmd(&["SSUBSCRIBE", "sch"]),
        &sub_reply(b'*', "ssubscribe", "sch", 1),
    );
    assert_reply(
        &sub.cmd(&["SUBSCRIBE", "sch"]),
        &sub_reply(b'*', "subscribe", "sch", 1),
    );
    assert_eq!(numsub(&mut publ, "SHARDNUMSUB", "sch"), 1);
    assert_eq!(numsub(&mut publ, "NUMSUB", "sch"), 1);
    assert_eq!(publ.cmd_int(&["SPUBLISH", "sch", "s1"]), 1);
    assert_reply(
        &sub.read_reply(),
        &frame(b'*', &[b"smessage", b"sch", b"s1"]),
    );
    assert_eq!(publ.cmd_int(&["PUBLISH", "sch", "p1"]), 1);
    assert_reply(
        &sub.read_reply(),
        &frame(b'*', &[b"message", b"sch", b"p1"]),
    );
    assert_reply(
        &sub.cmd(&["SUNSUBSCRIBE", "sch"]),
        &sub_reply(b'*', "sunsubscribe", "sch", 0),
    );
    assert_eq!(publ.cmd_int(&["SPUBLISH", "sch", "s2"]), 0);
    assert_eq!(publ.cmd_int(&["PUBLISH", "sch", "p2"]), 1);
    assert_reply(
        &sub.read_reply(),
        &frame(b'*', &[b"message", b"sch", b"p2"]),
    );
    srv.assert_no_panic();
}

#[test]
fn subscriber_disconnect_cleans_up() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    {
        let mut sub = srv.conn();
        sub.cmd(&["SUBSCRIBE", "gone"]);
        sub.cmd(&["PSUBSCRIBE", "gone*"]);
        sub.cmd(&["SSUBSCRIBE", "sgone"]);
        assert_eq!(numsub(&mut c, "NUMSUB", "gone"), 1);
        assert_eq!(c.cmd_int(&["PUBSUB", "NUMPAT"]), 1);
        assert_eq!(numsub(&mut c, "SHARDNUMSUB", "sgone"), 1);
    }
    assert!(
        poll_until(DEADLINE, || numsub(&mut c, "NUMSUB", "gone") == 0
            && c.cmd_int(&["PUBSUB", "NUMPAT"]) == 0
            && numsub(&mut c, "SHARDNUMSUB", "sgone") == 0),
        "subscriptions survived the disconnect"
    );
    assert_eq!(c.cmd_int(&["PUBLISH", "gone", "x"]), 0);
    assert_reply(&c.cmd(&["PUBSUB", "CHANNELS"]), b"*0\r\n");
    srv.assert_no_panic();
}

fn used_memory(c: &mut RawConn) -> u64 {
    let info = c.cmd_str(&["INFO", "memory"]);
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no used_memory in {:?}", info))
}

#[test]
fn stalled_subscriber_is_disconnected_by_output_limit() {
    let srv = Server::start(&["--client-output-buffer-limit", "pubsub 1mb 512kb 60"]);
    let mut admin = srv.conn();
    let start_mem = used_memory(&mut admin);
    let mut sub = srv.conn();
    assert_reply(&sub.cmd(&["CLIENT", "SETNAME", "stalled"]), b"+OK\r\n");
    assert_reply(
        &sub.cmd(&["SUBSCRIBE", "big"]),
        &sub_reply(b'*', "subscribe", "big", 1),
    );
    // From here on the subscriber never reads until the end.

    let mut publ = srv.conn();
    let payload = vec![b'x'; 1024];
    let mut batch = Vec::new();
    for _ in 0..1000 {
        batch.extend_from_slice(&common::encode(&[b"PUBLISH", b"big", &payload]));
    }
    let mut sent = 0;
    let mut peak = start_mem;
    // 10k messages of 1KB (10MB) overflow the 1MB limit plus what the
    // kernel's socket buffers absorb; keep going (bounded) if they didn't.
    while sent < 10_000
        || (sent < 100_000 && admin.cmd_str(&["CLIENT", "LIST"]).contains("name=stalled"))
    {
        publ.send_raw(&batch);
        for _ in 0..1000 {
            let r = publ.read_reply();
            assert!(
                r == b":1\r\n" || r == b":0\r\n",
                "PUBLISH reply {}",
                escape(&r)
            );
        }
        sent += 1000;
        peak = peak.max(used_memory(&mut admin));
    }
    assert!(
        poll_until(DEADLINE, || !admin
            .cmd_str(&["CLIENT", "LIST"])
            .contains("name=stalled")),
        "the stalled subscriber is still connected after {} messages",
        sent
    );
    assert!(
        peak < start_mem + 64 * 1024 * 1024,
        "used_memory grew from {} to {}",
        start_mem,
        peak
    );
    // The subscriber reads what was buffered, then hits EOF.
    let (data, closed) = sub.read_until_eof(DEADLINE);
    assert!(closed, "subscriber socket not closed");
    let one = frame(b'*', &[b"message", b"big", &payload]);
    assert!(
        data.len() < sent * one.len(),
        "the subscriber got everything ({} bytes)",
        data.len()
    );
    // Whatever arrived is a prefix of whole messages (maybe cut at the end).
    let whole = data.len() / one.len();
    assert!(data
        .chunks(one.len())
        .take(whole)
        .all(|m| m == one.as_slice()));
    assert_eq!(numsub(&mut admin, "NUMSUB", "big"), 0);
    assert_eq!(publ.cmd_int(&["PUBLISH", "big", "after"]), 0);
    assert_reply(&admin.cmd(&["PING"]), b"+PONG\r\n");
    srv.assert_no_panic();
}

#[test]
fn redis_py_pubsub_resp2_and_resp3() {
    if !have_redis_py() {
        println!("NOTICE: python3 redis module not installed; skipping the redis-py pub/sub test");
        return;
    }
    let srv = Server::start(&[]);
    let code = format!(
        "import redis\n\
         for proto in (2, 3):\n\
         \x20   r = redis.Redis(port={port}, protocol=proto)\n\
         \x20   p = r.pubsub()\n\
         \x20   p.subscribe('pych')\n\
         \x20   m = p.get_message(timeout=10)\n\
         \x20   assert m['type'] == 'subscribe' and m['data'] == 1, m\n\
         \x20   p.psubscribe('py*')\n\
         \x20   m = p.get_message(timeout=10)\n\
         \x20   assert m['type'] == 'psubscribe' and m['data'] == 2, m\n\
         \x20   assert r.publish('pych', 'hi') == 2\n\
         \x20   got = [p.get_message(timeout=10) for _ in range(2)]\n\
         \x20   assert sorted(m['type'] for m in got) == ['message', 'pmessage'], got\n\
         \x20   assert all(m['data'] == b'hi' and m['channel'] == b'pych' for m in got), got\n\
         \x20   assert [m['pattern'] for m in got if m['type'] == 'pmessage'] == [b'py*'], got\n\
         \x20   assert r.pubsub_numsub('pych') == [(b'pych', 1)], r.pubsub_numsub('pych')\n\
         \x20   assert r.pubsub_numpat() == 1\n\
         \x20   p.unsubscribe('pych')\n\
         \x20   m = p.get_message(timeout=10)\n\
         \x20   assert m['type'] == 'unsubscribe' and m['data'] == 1, m\n\
         \x20   p.punsubscribe()\n\
         \x20   m = p.get_message(timeout=10)\n\
         \x20   assert m['type'] == 'punsubscribe' and m['data'] == 0, m\n\
         \x20   assert r.publish('pych', 'x') == 0\n\
         \x20   p.close()\n\
         print('ok')\n",
        port = srv.port()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &code])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "redis-py failed:\nstdout: {}\nstderr: {}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        srv.log()
    );
    srv.assert_no_panic();
}

/// Redis's pubsub.tcl "PubSub messages with CLIENT REPLY OFF": in RESP3 the
/// (un)subscribe confirmations and messages are pushes, delivered even
/// with replies switched off.
#[test]
fn resp3_pushes_arrive_with_client_reply_off() {
    let srv = Server::start(&[]);
    let mut sub = srv.conn();
    sub.cmd(&["HELLO", "3"]);
    sub.send(&[b"CLIENT", b"REPLY", b"OFF"]);
    sub.send(&[b"SUBSCRIBE", b"channel"]);
    assert_eq!(
        sub.read_reply(),
        b">3\r\n$9\r\nsubscribe\r\n$7\r\nchannel\r\n:1\r\n".to_vec()
    );
    let mut c = srv.conn();
    assert_eq!(c.cmd(&["PUBLISH", "channel", "hello"]), b":1\r\n".to_vec());
    assert_eq!(
        sub.read_reply(),
        b">3\r\n$7\r\nmessage\r\n$7\r\nchannel\r\n$5\r\nhello\r\n".to_vec()
    );
    sub.send(&[b"UNSUBSCRIBE", b"channel"]);
    assert_eq!(
        sub.read_reply(),
        b">3\r\n$11\r\nunsubscribe\r\n$7\r\nchannel\r\n:0\r\n".to_vec()
    );
    // Ordinary replies stay off.
    sub.send(&[b"PING"]);
    sub.send(&[b"CLIENT", b"REPLY", b"ON"]);
    assert_eq!(sub.read_reply(), b"+OK\r\n".to_vec());
}

/// Redis's pubsub.tcl keyspace-notification tests: in RESP2 too, the
/// (p)subscribe confirmations and messages are pushed past CLIENT REPLY
/// OFF / SKIP (Redis 7.0's CLIENT_PUSHING), while ordinary replies stay off.
#[test]
fn resp2_confirmations_arrive_with_client_reply_off_or_skip() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KA"]);
    let mut sub = srv.conn();
    sub.send(&[b"CLIENT", b"REPLY", b"OFF"]);
    sub.send(&[b"PSUBSCRIBE", b"*"]);
    assert_eq!(sub.read_reply(), sub_reply(b'*', "psubscribe", "*", 1));
    assert_eq!(c.cmd(&["SET", "foo", "bar"]), b"+OK\r\n".to_vec());
    assert_eq!(
        sub.read_reply(),
        frame(b'*', &[b"pmessage", b"*", b"__keyspace@0__:foo", b"set"])
    );
    sub.send(&[b"PUNSUBSCRIBE", b"*"]);
    assert_eq!(sub.read_reply(), sub_reply(b'*', "punsubscribe", "*", 0));
    sub.send(&[b"PING"]);
    sub.send(&[b"CLIENT", b"REPLY", b"ON"]);
    assert_eq!(sub.read_reply(), b"+OK\r\n".to_vec());

    // SKIP: the confirmation still arrives; the skip is used up by it.
    let mut sub2 = srv.conn();
    sub2.send(&[b"CLIENT", b"REPLY", b"SKIP"]);
    sub2.send(&[b"SUBSCRIBE", b"ch"]);
    assert_eq!(sub2.read_reply(), sub_reply(b'*', "subscribe", "ch", 1));
    sub2.send(&[b"PING"]);
    assert_eq!(sub2.read_reply(), frame(b'*', &[b"pong", b""]));
}
