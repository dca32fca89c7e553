//! The hostile-client soak (issue #9): every kind of hostile client at once
//! for a bounded time (FERROKV_SOAK_SECS, default 20; CI sets 60) while a
//! good client writes and reads back its keys. Nothing it wrote is lost,
//! its p99 stays under 10 ms (release build; 25 ms in a debug build), and the server's RSS stays under 1 GiB (the
//! flooder, which never reads, is cut off by client-output-buffer-limit
//! and reconnects). Busy scripts stall everyone until busy-reply-threshold
//! (here 5 ms) as in Redis, so they run a few times a second, not back to
//! back. Its own test binary, so no other test shares the CPU with it.

mod common;

use common::{flood, rss_bytes, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sends `EVAL body 0`, then SCRIPT KILL from another connection once the
/// script is past the busy threshold.
fn looping_script(addr: &str, s: &mut TcpStream, body: &[u8]) {
    let cmd = format!("*3\r\n$4\r\nEVAL\r\n${}\r\n", body.len());
    let _ = s.write_all(cmd.as_bytes());
    let _ = s.write_all(body);
    let _ = s.write_all(b"\r\n$1\r\n0\r\n");
    std::thread::sleep(Duration::from_millis(30));
    if let Ok(mut k) = TcpStream::connect(addr) {
        let _ = k.write_all(b"*2\r\n$6\r\nSCRIPT\r\n$4\r\nKILL\r\n");
        let mut buf = [0u8; 256];
        let _ = k.set_read_timeout(Some(Duration::from_millis(500)));
        let _ = k.read(&mut buf);
    }
}

/// One hostile client per round, round-robin over the kinds.
fn hostile_rounds(addr: String, stop: Arc<AtomicBool>) {
    let mut round = 0u64;
    let mut idle_subs: Vec<TcpStream> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        std::thread::sleep(Duration::from_millis(20));
        let Ok(mut s) = TcpStream::connect(&addr) else {
            continue;
        };
        let _ = s.set_write_timeout(Some(Duration::from_millis(100)));
        let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
        match round % 7 {
            0 => {
                // A huge bulk header, then a little of the data.
                let _ = s.write_all(b"*1\r\n$536870912\r\n");
                let _ = s.write_all(&[b'z'; 65536]);
            }
            1 => {
                let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
                let _ = s.write_all(&junk);
            }
            2 => {
                // A slow partial frame, byte by byte.
                for b in b"*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$3\r\nabc\r\n" {
                    let _ = s.write_all(&[*b]);
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            3 => {
                // Subscribe and never read.
                let _ = s.write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n");
                if idle_subs.len() < 20 {
                    if let Ok(c) = s.try_clone() {
                        idle_subs.push(c);
                    }
                }
            }
            4 => looping_script(&addr, &mut s, b"while 1 do end"),
            5 => looping_script(
                &addr,
                &mut s,
                b"while true do pcall(function() while true do end end) end",
            ),
            _ => {
                // Abrupt close mid-command.
                let _ = s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$10\r\nabc");
            }
        }
        // PUBLISH to the idle subscribers so their output grows.
        if let Ok(mut p) = TcpStream::connect(&addr) {
            let _ = p.write_all(b"*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\n");
        }
    }
}

#[test]
fn hostile_soak() {
    let secs = common::env_u64("FERROKV_SOAK_SECS").unwrap_or(20);
    let srv = Server::start(&[
        "--busy-reply-threshold",
        "5",
        "--client-output-buffer-limit",
        "normal 64mb 32mb 5",
    ]);
    let stop = Arc::new(AtomicBool::new(false));
    let flooder = flood(srv.addr(), b"*2\r\n$4\r\nINCR\r\n$1\r\nf\r\n", stop.clone());
    let (addr, st) = (srv.addr(), stop.clone());
    let hostile = std::thread::spawn(move || hostile_rounds(addr, st));

    let mut good = srv.conn();
    good.set_read_timeout(Duration::from_secs(10));
    let end = Instant::now() + Duration::from_secs(secs);
    let mut lat = Vec::new();
    let mut written = 0u64;
    let mut max_rss = 0u64;
    while Instant::now() < end {
        let key = format!("good:{written}");
        let t = Instant::now();
        let r = good.cmd(&["SET", &key, &written.to_string()]);
        lat.push(t.elapsed());
        // A busy script answers BUSY until it is killed: retry.
        if r.starts_with(b"-BUSY") {
            continue;
        }
        assert_eq!(r, b"+OK\r\n", "SET {key}");
        written += 1;
        if written.is_multiple_of(500) {
            max_rss = max_rss.max(rss_bytes(srv.pid()));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = flooder.join();
    let _ = hostile.join();
    // Every acknowledged write reads back.
    for i in 0..written {
        let want = i.to_string();
        let r = loop {
            let r = good.cmd(&["GET", &format!("good:{i}")]);
            if !r.starts_with(b"-BUSY") {
                break r;
            }
        };
        assert_eq!(r, format!("${}\r\n{}\r\n", want.len(), want).as_bytes());
    }
    lat.sort();
    let p99 = lat[lat.len() * 99 / 100];
    eprintln!(
        "soak {secs}s: {written} good writes, p99 {p99:?}, max {:?}, max RSS {} MB",
        lat[lat.len() - 1],
        max_rss >> 20
    );
    assert!(written > 100, "only {written} good writes in {secs}s");
    // 10 ms is the bound for a release build (.ci/run soaks one for 60 s);
    // a debug build runs each command several times slower.
    let bound = if cfg!(debug_assertions) { 25 } else { 10 };
    assert!(
        p99 < Duration::from_millis(bound),
        "good client's p99 {p99:?} (bound {bound} ms)"
    );
    assert!(max_rss < 1 << 30, "server RSS reached {} MB", max_rss >> 20);
    assert_eq!(good.cmd_str(&["PING"]), "+PONG\r\n");
    srv.assert_no_panic();
}
