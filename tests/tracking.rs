//! Client-side caching (CLIENT TRACKING) compared with a real Redis 7.0:
//! the same scenario runs against both servers and the frames each
//! tracking client receives (replies and invalidation pushes, in order)
//! must be identical, apart from client ids.

use crate::common;

use common::{escape, RawConn, RealRedis, Server};

/// Reads frames until the reply to a PING marker arrives.
fn frames_until_pong(c: &mut RawConn) -> Vec<Vec<u8>> {
    c.send(&[b"PING"]);
    let mut out = Vec::new();
    loop {
        let f = c.read_reply();
        // RESP2 subscribers answer PING with ["pong", ""].
        if f == b"+PONG\r\n" || f == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n" {
            return out;
        }
        out.push(f);
    }
}

/// Runs the tracking scenario; returns everything the clients received.
fn scenario(port: u16) -> Vec<Vec<u8>> {
    let mut log: Vec<Vec<u8>> = Vec::new();
    let mut other = RawConn::connect(port);
    other.cmd(&["FLUSHALL"]);

    // RESP3, default mode: keys read are invalidated when another client
    // writes them; the tracking client's own write invalidates it too.
    let mut a = RawConn::connect(port);
    a.cmd(&["HELLO", "3"]);
    log.push(a.cmd(&["CLIENT", "TRACKING", "on"]));
    log.push(a.cmd(&["SET", "k1", "v"]));
    log.push(a.cmd(&["GET", "k1"]));
    log.push(other.cmd(&["SET", "k1", "v2"]));
    log.extend(frames_until_pong(&mut a));
    log.push(a.cmd(&["GET", "k1"]));
    a.send(&[b"SET", b"k1", b"v3"]);
    log.extend(frames_until_pong(&mut a));
    log.push(a.cmd(&["MGET", "k1", "k2"]));
    log.push(other.cmd(&["DEL", "k2"]));
    log.push(other.cmd(&["SET", "k2", "x"]));
    log.extend(frames_until_pong(&mut a));
    log.push(a.cmd(&["CLIENT", "TRACKINGINFO"]));

    // RESP2 redirect to a subscriber of __redis__:invalidate.
    let mut r = RawConn::connect(port);
    let id = String::from_utf8_lossy(&r.cmd(&["CLIENT", "ID"]))
        .trim()
        .trim_start_matches(':')
        .to_string();
    log.push(r.cmd(&["SUBSCRIBE", "__redis__:invalidate"]));
    let mut a2 = RawConn::connect(port);
    log.push(a2.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &id]));
    log.push(a2.cmd(&["GET", "k3"]));
    log.push(other.cmd(&["SET", "k3", "1"]));
    log.extend(frames_until_pong(&mut r));

    // BCAST with a prefix and NOLOOP.
    let mut b = RawConn::connect(port);
    b.cmd(&["HELLO", "3"]);
    log.push(b.cmd(&[
        "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "NOLOOP",
    ]));
    log.push(b.cmd(&["SET", "user:self", "1"]));
    log.push(other.cmd(&["SET", "user:1", "1"]));
    log.push(other.cmd(&["SET", "other", "1"]));
    log.extend(frames_until_pong(&mut b));

    // OPTIN: only keys read right after CLIENT CACHING yes are tracked.
    let mut o = RawConn::connect(port);
    o.cmd(&["HELLO", "3"]);
    log.push(o.cmd(&["CLIENT", "TRACKING", "on", "OPTIN"]));
    log.push(o.cmd(&["GET", "n1"]));
    log.push(o.cmd(&["CLIENT", "CACHING", "yes"]));
    log.push(o.cmd(&["GET", "n2"]));
    log.push(other.cmd(&["SET", "n1", "1"]));
    log.push(other.cmd(&["SET", "n2", "1"]));
    log.extend(frames_until_pong(&mut o));

    // FLUSHALL: every tracking client is told to drop everything.
    log.push(a.cmd(&["GET", "k1"]));
    log.push(other.cmd(&["FLUSHALL"]));
    log.extend(frames_until_pong(&mut a));
    log.extend(frames_until_pong(&mut b));
    log.extend(frames_until_pong(&mut o));

    // Errors.
    log.push(o.cmd(&["CLIENT", "TRACKING", "on", "PREFIX", "x"]));
    log.push(o.cmd(&["CLIENT", "TRACKING", "on", "OPTOUT"]));
    log.push(o.cmd(&["CLIENT", "CACHING", "no"]));
    log.push(o.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", "999999"]));
    log.push(
        a2.cmd(&["CLIENT", "GETREDIR"])
            .iter()
            .map(|&c| if c.is_ascii_digit() { b'N' } else { c })
            .collect(),
    );
    log
}

#[test]
fn tracking_matches_redis() {
    let ours = Server::start(&[]);
    let real = RealRedis::start();
    let got = scenario(ours.port());
    let want = scenario(real.port());
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert_eq!(
            g,
            w,
            "frame {}: ferrokv {} vs redis {}",
            i,
            escape(g),
            escape(w)
        );
    }
    assert_eq!(got.len(), want.len(), "frame count");
    ours.assert_no_panic();
}

fn info_num(c: &mut RawConn, field: &str) -> i64 {
    let text = String::from_utf8_lossy(&c.cmd(&["INFO"])).into_owned();
    let prefix = format!("{}:", field);
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(-1)
}

/// Where invalidations land relative to replies (Redis 7.0's
/// tracking_pending_keys): after a transaction's or script's reply, before
/// the reply of a command whose eviction dropped a tracked key; scripts
/// track their declared keys once they run a read command; the INFO
/// counters; tracking-table-max-keys lowered at run time.
fn ordering_scenario(port: u16) -> Vec<Vec<u8>> {
    let mut log: Vec<Vec<u8>> = Vec::new();
    let mut other = RawConn::connect(port);
    other.cmd(&["FLUSHALL"]);
    let mut r = RawConn::connect(port);
    r.cmd(&["HELLO", "3"]);
    r.cmd(&["CLIENT", "TRACKING", "on"]);
    // tracking.tcl "not interleaved with transaction response".
    r.cmd(&["MSET", "a{t}", "1", "b{t}", "2"]);
    log.push(r.cmd(&["GET", "a{t}"]));
    log.push(r.cmd(&["MULTI"]));
    log.push(r.cmd(&["INCR", "a{t}"]));
    log.push(r.cmd(&["GET", "b{t}"]));
    log.push(r.cmd(&["EXEC"]));
    log.extend(frames_until_pong(&mut r));
    // FLUSHDB inside a transaction: the null invalidation follows EXEC.
    log.push(r.cmd(&["MULTI"]));
    log.push(r.cmd(&["FLUSHDB"]));
    log.push(r.cmd(&["EXEC"]));
    log.extend(frames_until_pong(&mut r));
    // Scripts: declared keys are tracked once a read command runs.
    r.cmd(&["CLIENT", "TRACKING", "off"]);
    r.cmd(&["CLIENT", "TRACKING", "on"]);
    other.cmd(&["MSET", "k1{t}", "1", "k2{t}", "1"]);
    log.push(r.cmd(&[
        "EVAL",
        "redis.call('set', 'k3{t}', 'bar')",
        "2",
        "k1{t}",
        "k2{t}",
    ]));
    log.push(other.cmd(&["MSET", "k2{t}", "2", "k1{t}", "2"]));
    log.extend(frames_until_pong(&mut r));
    log.push(r.cmd(&[
        "EVAL",
        "return redis.call('get', 'k3{t}')",
        "2",
        "k1{t}",
        "k2{t}",
    ]));
    log.push(other.cmd(&["MSET", "k2{t}", "3", "k1{t}", "3"]));
    log.extend(frames_until_pong(&mut r));
    log.push(r.cmd(&[
        "EVAL_RO",
        "return redis.call('ping')",
        "2",
        "k1{t}",
        "k2{t}",
    ]));
    log.push(other.cmd(&["MSET", "k2{t}", "4", "k1{t}", "4"]));
    log.extend(frames_until_pong(&mut r));
    log.push(r.cmd(&[
        "EVAL_RO",
        "return redis.call('get', 'k1{t}')",
        "2",
        "k1{t}",
        "k2{t}",
    ]));
    // The script's own write to a key it tracks: after its reply.
    log.push(r.cmd(&[
        "EVAL",
        "redis.call('get', KEYS[1]); return redis.call('set', KEYS[1], 'x')",
        "1",
        "k1{t}",
    ]));
    log.extend(frames_until_pong(&mut r));
    // INFO counters (tracking.tcl "Tracking info is correct").
    r.cmd(&["GET", "k2{t}"]);
    log.push(format!("{}", info_num(&mut other, "tracking_clients")).into_bytes());
    log.push(format!("{}", info_num(&mut other, "tracking_total_keys")).into_bytes());
    log.push(format!("{}", info_num(&mut other, "tracking_total_items")).into_bytes());
    // FLUSHALL with no tracking client left still empties the table.
    r.cmd(&["CLIENT", "TRACKING", "off"]);
    other.cmd(&["FLUSHALL"]);
    log.push(format!("{}", info_num(&mut other, "tracking_total_keys")).into_bytes());
    // BCAST without PREFIX registers the empty prefix.
    r.cmd(&["CLIENT", "TRACKING", "on", "BCAST"]);
    log.push(r.cmd(&["CLIENT", "TRACKINGINFO"]));
    log.push(format!("{}", info_num(&mut other, "tracking_total_prefixes")).into_bytes());
    r.cmd(&["CLIENT", "TRACKING", "off"]);

    // Eviction of a tracked key is announced before the evicting
    // command's reply (tracking.tcl "... of eviction keys should be before
    // response").
    r.cmd(&["CLIENT", "TRACKING", "on"]);
    let used =
        info_num(&mut other, "used_memory") - info_num(&mut other, "mem_not_counted_for_evict");
    other.cmd(&[
        "CONFIG",
        "SET",
        "maxmemory",
        &(used + 100 * 1024).to_string(),
    ]);
    other.cmd(&["CONFIG", "SET", "maxmemory-policy", "volatile-random"]);
    r.cmd(&["SETEX", "volatile-key", "10000", "x"]);
    log.push(r.cmd(&["GET", "volatile-key"]));
    log.push(r.cmd(&["SETBIT", "big-key", "1600000", "0"]));
    r.send(&[b"GETBIT", b"big-key", b"0"]);
    log.push(r.read_reply());
    log.push(r.read_reply());
    other.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    other.cmd(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    r.cmd(&["CLIENT", "TRACKING", "off"]);

    // A lower tracking-table-max-keys is enforced by the cron too, with
    // no further command: the redirect client hears of the dropped key.
    let mut redir = RawConn::connect(port);
    let id = String::from_utf8_lossy(&redir.cmd(&["CLIENT", "ID"]))
        .trim()
        .trim_start_matches(':')
        .to_string();
    redir.cmd(&["SUBSCRIBE", "__redis__:invalidate"]);
    r.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &id, "NOLOOP"]);
    other.cmd(&["FLUSHALL"]);
    redir.read_reply(); // FLUSHALL's null invalidation.
    r.cmd(&["MSET", "key1{t}", "1", "key2{t}", "2"]);
    r.cmd(&["MGET", "key1{t}", "key2{t}"]);
    r.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "1"]);
    let msg = redir.read_reply();
    let s = String::from_utf8_lossy(&msg).into_owned();
    log.push(s.replace("key2{t}", "key1{t}").into_bytes());
    r.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "1000000"]);
    log
}

#[test]
fn invalidation_order_matches_redis() {
    let ours = Server::start(&[]);
    let real = RealRedis::start();
    let got = ordering_scenario(ours.port());
    let want = ordering_scenario(real.port());
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        assert_eq!(
            g,
            w,
            "frame {}: ferrokv {} vs redis {}",
            i,
            escape(g),
            escape(w)
        );
    }
    assert_eq!(got.len(), want.len(), "frame count");
    ours.assert_no_panic();
}
