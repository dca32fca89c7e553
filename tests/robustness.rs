//! Bad-input suite: malformed protocol, abusive clients and resource limits.
//! The server must answer protocol errors exactly like Redis 7.0, close the
//! offending connection, keep serving well-behaved clients and never panic.

use crate::common;

use common::{escape, poll_until, RawConn, RealRedis, Server};
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const QUIT: &[u8] = b"*1\r\n$4\r\nQUIT\r\n";

/// Sends `input` on a fresh connection and returns everything the server
/// writes back until it closes the connection.
fn transcript(srv: &Server, input: &[u8]) -> (Vec<u8>, bool) {
    let mut c = srv.conn();
    let _ = c.try_send_raw(input);
    c.read_until_eof(Duration::from_secs(5))
}

fn protocol_cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        ("expected $ got +", b"*1\r\n+x\r\n".to_vec()),
        ("expected $ got :", b"*2\r\n$3\r\nget\r\n:1\r\n".to_vec()),
        ("multibulk not a number", b"*a\r\n".to_vec()),
        ("multibulk empty", b"*\r\n".to_vec()),
        ("multibulk too large", b"*99999999999\r\n".to_vec()),
        ("negative bulk", b"*1\r\n$-5\r\n".to_vec()),
        ("bulk -1", b"*1\r\n$-1\r\n".to_vec()),
        ("bulk not a number", b"*1\r\n$a\r\n".to_vec()),
        ("bulk empty", b"*1\r\n$\r\n".to_vec()),
        ("bulk too large", b"*1\r\n$9999999999999\r\n".to_vec()),
        ("bulk above 512mb", b"*1\r\n$536870913\r\n".to_vec()),
        ("unbalanced double quotes", b"set \"a b\r\n".to_vec()),
        ("unbalanced single quotes", b"set 'a b\r\n".to_vec()),
        ("quote not followed by space", b"set \"a\"b c\r\n".to_vec()),
        (
            "multibulk count -1 is ignored",
            b"*-1\r\n*1\r\n$4\r\nPING\r\n".to_vec(),
        ),
        (
            "multibulk count 0 is ignored",
            b"*0\r\n*1\r\n$4\r\nPING\r\n".to_vec(),
        ),
        ("empty inline lines", b"\r\n\n\r\nPING\r\n".to_vec()),
        ("inline LF only", b"PING\nECHO x\n".to_vec()),
        (
            "inline quoting",
            b"set \"a\\x41\" 'b c'\r\nget aA\r\nget 'aA'\r\n".to_vec(),
        ),
        ("inline plus prefix", b"+PING\r\n".to_vec()),
        // C's isspace(): \v and \f are blanks before a word and after a
        // closing quote, but not inside a word.
        (
            "inline vertical tab",
            b"\x0bPING\x0b\r\nECHO \"a\"\x0b\r\nECHO a\x0bb\r\n".to_vec(),
        ),
        (
            "inline form feed",
            b"\x0cECHO 'x'\x0c\r\nECHO a\x0cb\r\n".to_vec(),
        ),
        ("empty command name", b"*1\r\n$0\r\n\r\n".to_vec()),
        ("bulk without CRLF", b"*1\r\n$4\r\nPINGxx\r\n".to_vec()),
        (
            "pipelined then error",
            b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n".to_vec(),
        ),
    ];
    // Lines too long without a newline.
    let mut big_inline = vec![b'a'; 70 * 1024];
    big_inline.insert(0, b' ');
    v.push(("inline > 64KB", big_inline));
    let mut mbulk = b"*".to_vec();
    mbulk.extend(std::iter::repeat_n(b'1', 70 * 1024));
    v.push(("mbulk count line > 64KB", mbulk));
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', 70 * 1024));
    v.push(("bulk count line > 64KB", bulk));
    v
}

#[test]
fn protocol_errors_match_redis() {
    let ours = Server::start(&[]);
    let reference = RealRedis::start();
    let mut failures = Vec::new();
    for (name, input) in protocol_cases() {
        let mut full = input.clone();
        // A QUIT after the input: if the input left the connection usable
        // this closes it; after a protocol error it must not be executed.
        // (Not after the >64KB lines: those must fail without any newline.)
        if input.len() < 64 * 1024 {
            full.extend_from_slice(QUIT);
        }
        let (ra, ca) = transcript(&ours, &full);
        let (rb, cb) = transcript(&reference, &full);
        if ra != rb || ca != cb {
            failures.push(format!(
                "{}: input \"{}\"\n  ferrokv: \"{}\" (closed: {})\n  redis:   \"{}\" (closed: {})",
                name,
                escape(&input[..input.len().min(80)]),
                escape(&ra[..ra.len().min(300)]),
                ca,
                escape(&rb[..rb.len().min(300)]),
                cb
            ));
        }
    }
    let mut c = ours.conn();
    common::assert_reply(&c.cmd(&["PING"]), b"+PONG\r\n");
    ours.assert_no_panic();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn protocol_error_closes_connection() {
    let srv = Server::start(&[]);
    for input in [&b"*1\r\n+x\r\n"[..], b"*a\r\n", b"*1\r\n$-5\r\n"] {
        let mut c = srv.conn();
        c.send_raw(input);
        let (out, closed) = c.read_until_eof(Duration::from_secs(5));
        assert!(
            out.starts_with(b"-ERR Protocol error: "),
            "{:?}",
            escape(&out)
        );
        assert!(closed, "connection not closed after {:?}", escape(input));
    }
    srv.assert_no_panic();
}

#[test]
fn proto_max_bulk_len() {
    let args = ["--proto-max-bulk-len", "1mb"];
    let ours = Server::start(&args);
    let reference = RealRedis::start_with(&args);
    let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2097152\r\n";
    let (ra, ca) = transcript(&ours, input);
    let (rb, cb) = transcript(&reference, input);
    assert_eq!(
        escape(&rb),
        "-ERR Protocol error: invalid bulk length\\r\\n"
    );
    assert_eq!(escape(&ra), escape(&rb));
    assert!(ca && cb);
    // A bulk exactly at the limit is accepted.
    let mut c = ours.conn();
    let v = vec![b'x'; 1024 * 1024];
    common::assert_reply(&c.cmd_bytes(&[b"SET", b"k", &v]), b"+OK\r\n");
    common::assert_reply(&c.cmd(&["STRLEN", "k"]), b":1048576\r\n");
    ours.assert_no_panic();
}

/// A never-completed 2MB bulk with a 1MB query buffer limit: Redis closes the
/// connection once the buffered query exceeds the limit.
#[test]
fn client_query_buffer_limit() {
    let args = ["--client-query-buffer-limit", "1mb"];
    let ours = Server::start(&args);
    let reference = RealRedis::start_with(&args);
    for srv in [&reference, &ours] {
        let mut c = srv.conn();
        let _ = c.try_send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n");
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..32 {
            if c.try_send_raw(&chunk).is_err() {
                break;
            }
        }
        let (_, closed) = c.read_until_eof(Duration::from_secs(10));
        assert!(closed, "connection over the query buffer limit not closed");
        let mut ok = srv.conn();
        common::assert_reply(&ok.cmd(&["PING"]), b"+PONG\r\n");
    }
    ours.assert_no_panic();
}

#[test]
fn maxclients() {
    let srv = Server::start(&["--maxclients", "2"]);
    let mut c1 = srv.conn();
    common::assert_reply(&c1.cmd(&["PING"]), b"+PONG\r\n");
    let mut c2 = srv.conn();
    common::assert_reply(&c2.cmd(&["PING"]), b"+PONG\r\n");
    let mut c3 = srv.conn();
    let (out, closed) = c3.read_until_eof(Duration::from_secs(5));
    assert_eq!(escape(&out), "-ERR max number of clients reached\\r\\n");
    assert!(closed);
    // The two accepted clients still work; after one leaves, a new one fits.
    common::assert_reply(&c1.cmd(&["PING"]), b"+PONG\r\n");
    drop(c2);
    let ok = poll_until(Duration::from_secs(5), || {
        let mut c = srv.conn();
        c.set_read_timeout(Duration::from_secs(2));
        matches!(c.try_send_raw(b"PING\r\n"), Ok(()))
            && matches!(c.try_read_reply(), Ok(Some(r)) if r == b"+PONG\r\n")
    });
    assert!(ok, "no slot freed after a client disconnected");
    srv.assert_no_panic();
}

#[test]
fn idle_timeout() {
    let srv = Server::start(&["--timeout", "1"]);
    let mut idle = srv.conn();
    common::assert_reply(&idle.cmd(&["PING"]), b"+PONG\r\n");
    let start = Instant::now();
    let (out, closed) = idle.read_until_eof(Duration::from_secs(10));
    assert!(closed, "idle client not disconnected within 10s");
    assert!(out.is_empty(), "unexpected data {:?}", escape(&out));
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "disconnected too early: {:?}",
        start.elapsed()
    );
    // An active client is not disconnected.
    let mut active = srv.conn();
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(250));
        common::assert_reply(&active.cmd(&["PING"]), b"+PONG\r\n");
    }
    srv.assert_no_panic();
}

#[test]
fn output_buffer_limit_normal() {
    let srv = Server::start(&["--client-output-buffer-limit", "normal 1mb 512kb 0"]);
    let mut setup = srv.conn();
    let value = vec![b'v'; 100 * 1024];
    common::assert_reply(&setup.cmd_bytes(&[b"SET", b"big", &value]), b"+OK\r\n");

    let n = 500;
    let mut slow = srv.conn();
    let mut pipeline = Vec::new();
    for _ in 0..n {
        pipeline.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    }
    let _ = slow.try_send_raw(&pipeline);
    // Others are served while the slow client is not reading.
    let mut other = srv.conn();
    for _ in 0..20 {
        common::assert_reply(&other.cmd(&["PING"]), b"+PONG\r\n");
    }
    std::thread::sleep(Duration::from_millis(500));
    let (out, closed) = slow.read_until_eof(Duration::from_secs(20));
    assert!(closed, "slow client was not disconnected");
    assert!(
        out.len() < n * value.len(),
        "slow client received all {} bytes",
        out.len()
    );
    common::assert_reply(&other.cmd(&["PING"]), b"+PONG\r\n");
    let got = other.cmd(&["GET", "big"]);
    assert_eq!(got.len(), value.len() + 2 + 2 + 6 + 1);
    srv.assert_no_panic();
}

/// One abusive client kind: returns after `iters` rounds.
fn abuse(port: u16, kind: usize, iters: usize, seed: u64) {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    for _ in 0..iters {
        let mut c = RawConn::connect(port);
        let short = Duration::from_millis(100);
        match kind {
            0 => {
                // Random garbage.
                let len = rng.gen_range(1..8192);
                let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
                let _ = c.try_send_raw(&bytes);
                let _ = c.read_until_eof(short);
            }
            1 => {
                // Oversized / negative lengths.
                let cases: [&[u8]; 4] = [
                    b"*99999999999\r\n",
                    b"*1\r\n$-5\r\n",
                    b"*1\r\n$9999999999999\r\n",
                    b"*2147483647\r\n$4\r\nPING\r\n",
                ];
                let _ = c.try_send_raw(cases[rng.gen_range(0..cases.len())]);
                let _ = c.read_until_eof(short);
            }
            2 => {
                // Half frame, then disconnect.
                let _ = c.try_send_raw(b"*1\r\n$5\r\nab");
            }
            3 => {
                // Inline line > 64KB without newline.
                let _ = c.try_send_raw(&vec![b'x'; 70 * 1024]);
                let _ = c.read_until_eof(short);
            }
            4 => {
                // Unbalanced quotes.
                let _ = c.try_send_raw(b"SET \"foo bar\r\nGET 'x\r\n");
                let _ = c.read_until_eof(short);
            }
            _ => {
                // Abrupt disconnect mid-reply of a 10MB value.
                let _ = c.try_send_raw(
                    b"*4\r\n$8\r\nGETRANGE\r\n$7\r\nbig10mb\r\n$1\r\n0\r\n$2\r\n-1\r\n",
                );
                if rng.gen_bool(0.5) {
                    let mut buf = [0u8; 1000];
                    let _ = std::io::Read::read(&mut c.stream, &mut buf);
                }
            }
        }
    }
}

#[test]
fn bad_clients_do_not_disturb_good_one() {
    let srv = Server::start(&[]);
    let port = srv.port();
    let mut setup = srv.conn();
    let big = vec![b'z'; 10 * 1024 * 1024];
    common::assert_reply(&setup.cmd_bytes(&[b"SET", b"big10mb", &big]), b"+OK\r\n");
    drop(setup);

    let stop = AtomicBool::new(false);
    let rounds = AtomicUsize::new(0);
    let good_errors = std::thread::scope(|s| {
        let good = s.spawn(|| {
            let mut c = RawConn::connect(port);
            let mut errors = Vec::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) || i < 100 {
                let k = format!("good:{}", i);
                let v = format!("value:{}:{}", i, "x".repeat((i % 50) as usize));
                let r = c.cmd(&["SET", &k, &v]);
                if r != b"+OK\r\n" {
                    errors.push(format!("SET {} -> {}", k, escape(&r)));
                }
                let r = c.cmd(&["GET", &k]);
                let want = format!("${}\r\n{}\r\n", v.len(), v);
                if r != want.as_bytes() {
                    errors.push(format!("GET {} -> {}", k, escape(&r)));
                }
                i += 1;
            }
            rounds.store(i as usize, Ordering::Relaxed);
            errors
        });
        let bad: Vec<_> = (0..12)
            .map(|t| {
                let iters = if t % 6 == 5 { 10 } else { 25 };
                s.spawn(move || abuse(port, t % 6, iters, 1000 + t as u64))
            })
            .collect();
        for b in bad {
            b.join().expect("abusive client thread panicked");
        }
        stop.store(true, Ordering::Relaxed);
        good.join().expect("good client thread panicked")
    });
    assert!(
        good_errors.is_empty(),
        "good client saw errors: {:?}",
        good_errors
    );
    assert!(rounds.load(Ordering::Relaxed) >= 100);
    let mut c = srv.conn();
    common::assert_reply(&c.cmd(&["PING"]), b"+PONG\r\n");
    common::assert_reply(&c.cmd(&["STRLEN", "big10mb"]), b":10485760\r\n");
    srv.assert_no_panic();
}
