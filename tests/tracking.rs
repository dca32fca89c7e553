//! Client-side caching (CLIENT TRACKING) compared with a real Redis 7.0:
//! the same scenario runs against both servers and the frames each
//! tracking client receives (replies and invalidation pushes, in order)
//! must be identical, apart from client ids.

mod common;

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
