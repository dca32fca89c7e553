//! Transactions under concurrency: WATCH-based optimistic locking with the
//! redis crate and redis-py, MULTI/EXEC atomicity against a concurrent
//! reader, and every way a WATCH gets invalidated (or must not be).

use crate::common;

use common::{assert_reply, escape, poll_until, RawConn, Server};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(30);

fn have_redis_py() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import redis"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// One optimistic increment: WATCH, GET, MULTI, SET, EXEC. Returns false
/// when EXEC answered nil (someone else won the race).
fn cas_incr(con: &mut redis::Connection, key: &str) -> bool {
    let _: () = redis::cmd("WATCH").arg(key).query(con).expect("WATCH");
    let cur: Option<i64> = redis::cmd("GET").arg(key).query(con).expect("GET");
    let _: () = redis::cmd("MULTI").query(con).expect("MULTI");
    let q: String = redis::cmd("SET")
        .arg(key)
        .arg(cur.unwrap_or(0) + 1)
        .query(con)
        .expect("SET");
    assert_eq!(q, "QUEUED");
    let r: redis::Value = redis::cmd("EXEC").query(con).expect("EXEC");
    match r {
        redis::Value::Nil => false,
        redis::Value::Array(v) => {
            assert_eq!(v, vec![redis::Value::Okay]);
            true
        }
        other => panic!("unexpected EXEC reply {:?}", other),
    }
}

#[test]
fn watch_retry_counter_under_contention() {
    const THREADS: usize = 8;
    const PER: usize = 50;
    let srv = Server::start(&[]);
    let client = srv.redis_client();
    let ok = Arc::new(AtomicUsize::new(0));
    let aborted = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let client = client.clone();
            let ok = ok.clone();
            let aborted = aborted.clone();
            std::thread::spawn(move || {
                let mut con = client.get_connection().expect("connect");
                let mut done = 0;
                let end = Instant::now() + DEADLINE;
                while done < PER {
                    assert!(Instant::now() < end, "no progress before the deadline");
                    if cas_incr(&mut con, "counter") {
                        done += 1;
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        aborted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("worker panicked");
    }
    let mut con = client.get_connection().expect("connect");
    let v: i64 = redis::cmd("GET").arg("counter").query(&mut con).unwrap();
    assert_eq!(v, (THREADS * PER) as i64);
    assert_eq!(ok.load(Ordering::Relaxed), THREADS * PER);
    println!(
        "{} successful EXECs, {} aborted by WATCH",
        ok.load(Ordering::Relaxed),
        aborted.load(Ordering::Relaxed)
    );
    srv.assert_no_panic();
}

#[test]
fn watch_retry_counter_redis_py() {
    if !have_redis_py() {
        println!("NOTICE: python3 redis module not installed; skipping the redis-py WATCH test");
        return;
    }
    const PROCS: usize = 4;
    const PER: usize = 50;
    let srv = Server::start(&[]);
    let code = format!(
        "import redis, sys\n\
         r = redis.Redis(port={port})\n\
         ok = aborted = 0\n\
         with r.pipeline(transaction=True) as p:\n\
         \x20   while ok < {per}:\n\
         \x20       try:\n\
         \x20           p.watch('pycounter')\n\
         \x20           cur = int(p.get('pycounter') or 0)\n\
         \x20           p.multi()\n\
         \x20           p.set('pycounter', cur + 1)\n\
         \x20           assert p.execute() == [True]\n\
         \x20           ok += 1\n\
         \x20       except redis.WatchError:\n\
         \x20           aborted += 1\n\
         print(ok, aborted)\n",
        port = srv.port(),
        per = PER
    );
    let children: Vec<_> = (0..PROCS)
        .map(|_| {
            std::process::Command::new("python3")
                .args(["-c", &code])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("python3")
        })
        .collect();
    let mut total_ok = 0;
    for ch in children {
        let out = ch.wait_with_output().expect("python3 output");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "redis-py failed:\nstdout: {}\nstderr: {}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        let ok: usize = stdout
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .expect("ok count");
        total_ok += ok;
    }
    assert_eq!(total_ok, PROCS * PER);
    let mut c = srv.conn();
    assert_eq!(
        c.cmd_str(&["GET", "pycounter"]),
        format!(
            "${}\r\n{}\r\n",
            (PROCS * PER).to_string().len(),
            PROCS * PER
        )
    );
    srv.assert_no_panic();
}

/// EXEC of 1000 INCRs runs as one unit: a concurrent reader only ever sees
/// multiples of 1000.
#[test]
fn exec_is_atomic_against_concurrent_reader() {
    const ROUNDS: usize = 10;
    const N: usize = 1000;
    let srv = Server::start(&[]);
    let port = srv.port();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let stop = stop.clone();
        let reads = reads.clone();
        std::thread::spawn(move || {
            let mut c = RawConn::connect(port);
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let r = c.cmd(&["GET", "atomic"]);
                reads.fetch_add(1, Ordering::Relaxed);
                if r == b"$-1\r\n" {
                    continue;
                }
                let s = String::from_utf8_lossy(&r).into_owned();
                let v: usize = s
                    .split("\r\n")
                    .nth(1)
                    .and_then(|x| x.parse().ok())
                    .unwrap_or_else(|| panic!("bad GET reply {:?}", s));
                assert_eq!(v % N, 0, "reader saw a partial transaction: {}", v);
                seen.push(v);
            }
            seen
        })
    };
    let mut w = srv.conn();
    let mut batch = common::encode(&[b"MULTI"]);
    for _ in 0..N {
        batch.extend_from_slice(&common::encode(&[b"INCR", b"atomic"]));
    }
    batch.extend_from_slice(&common::encode(&[b"EXEC"]));
    for round in 1..=ROUNDS {
        // Let the reader run between transactions (not needed for
        // correctness, only to make the check meaningful).
        let before = reads.load(Ordering::Relaxed);
        assert!(poll_until(DEADLINE, || reads.load(Ordering::Relaxed) > before));
        w.send_raw(&batch);
        assert_reply(&w.read_reply(), b"+OK\r\n");
        for _ in 0..N {
            assert_reply(&w.read_reply(), b"+QUEUED\r\n");
        }
        let exec = w.read_reply();
        let last = format!(":{}\r\n", round * N);
        assert!(
            exec.starts_with(format!("*{}\r\n:{}\r\n", N, (round - 1) * N + 1).as_bytes())
                && exec.ends_with(last.as_bytes()),
            "EXEC reply {}",
            escape(&exec[..exec.len().min(200)])
        );
    }
    stop.store(true, Ordering::Relaxed);
    let seen = reader.join().expect("reader panicked");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "values went back");
    println!("reader made {} reads", seen.len());
    srv.assert_no_panic();
}

/// WATCH k, let `f` act (on a second connection), then MULTI/GET/EXEC:
/// returns the EXEC reply.
fn watch_then(srv: &Server, key: &str, f: impl FnOnce(&mut RawConn, &mut RawConn)) -> Vec<u8> {
    let mut a = srv.conn();
    let mut b = srv.conn();
    assert_reply(&a.cmd(&["WATCH", key]), b"+OK\r\n");
    f(&mut a, &mut b);
    assert_reply(&a.cmd(&["MULTI"]), b"+OK\r\n");
    assert_reply(&a.cmd(&["PING"]), b"+QUEUED\r\n");
    a.cmd(&["EXEC"])
}

const ABORTED: &[u8] = b"*-1\r\n";
const RAN: &[u8] = b"*1\r\n+PONG\r\n";

#[test]
fn watch_invalidation_by_other_clients() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["SET", "k", "v"]);
    c.cmd(&["SET", "other", "v"]);

    // Another client's SET aborts.
    let r = watch_then(&srv, "k", |_, b| {
        b.cmd(&["SET", "k", "v2"]);
    });
    assert_reply(&r, ABORTED);
    // ...and so do other writes: INCR on a fresh key, DEL, EXPIRE, APPEND.
    for w in [
        &["DEL", "k"][..],
        &["SET", "k", "1"],
        &["INCR", "k"],
        &["APPEND", "k", "x"],
        &["EXPIRE", "k", "1000"],
        &["PERSIST", "k"],
        &["RENAME", "k", "k2"],
        &["RENAME", "k2", "k"],
    ] {
        let r = watch_then(&srv, "k", |_, b| {
            b.cmd(w);
        });
        assert_reply(&r, ABORTED);
    }
    // A write to a different key or a read doesn't abort.
    let r = watch_then(&srv, "k", |_, b| {
        b.cmd(&["SET", "other", "x"]);
        b.cmd(&["GET", "k"]);
        b.cmd(&["EXISTS", "k"]);
        b.cmd(&["TTL", "k"]);
        b.cmd(&["STRLEN", "k"]);
    });
    assert_reply(&r, RAN);
    // A failed write (not an integer) doesn't abort.
    let r = watch_then(&srv, "k", |_, b| {
        let e = b.cmd_str(&["INCR", "k"]);
        assert!(e.starts_with("-ERR"), "{}", e);
    });
    assert_reply(&r, RAN);
    // The same key in another db is a different key.
    let r = watch_then(&srv, "k", |_, b| {
        b.cmd(&["SELECT", "5"]);
        b.cmd(&["SET", "k", "elsewhere"]);
    });
    assert_reply(&r, RAN);
    // A client watching in db 5 sees writes there.
    let mut a = srv.conn();
    a.cmd(&["SELECT", "5"]);
    a.cmd(&["WATCH", "k"]);
    a.cmd(&["SELECT", "0"]);
    let mut b = srv.conn();
    b.cmd(&["SELECT", "5"]);
    b.cmd(&["DEL", "k"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["PING"]);
    assert_reply(&a.cmd(&["EXEC"]), ABORTED);
    srv.assert_no_panic();
}

#[test]
fn watch_invalidation_by_flush_and_swapdb() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    for (name, cmd) in [
        ("FLUSHDB", &["FLUSHDB"][..]),
        ("FLUSHALL", &["FLUSHALL"]),
        ("FLUSHALL ASYNC", &["FLUSHALL", "ASYNC"]),
    ] {
        c.cmd(&["SET", "k", "v"]);
        let r = watch_then(&srv, "k", |_, b| {
            b.cmd(cmd);
        });
        assert_reply(&r, ABORTED);
        // A flush of a db without the key doesn't abort (FLUSHDB of db 3).
        c.cmd(&["SET", "k", "v"]);
        let r = watch_then(&srv, "k", |_, b| {
            b.cmd(&["SELECT", "3"]);
            b.cmd(&["FLUSHDB"]);
        });
        assert_reply(&r, RAN);
        // Nor does a flush when the watched key is missing.
        c.cmd(&["DEL", "k"]);
        let r = watch_then(&srv, "k", |_, b| {
            b.cmd(cmd);
        });
        assert_eq!(escape(&r), escape(RAN), "{}", name);
    }
    // SWAPDB: the key exists in the watched db, or only in the other one.
    c.cmd(&["FLUSHALL"]);
    c.cmd(&["SET", "k", "v"]);
    let r = watch_then(&srv, "k", |_, b| {
        b.cmd(&["SWAPDB", "0", "1"]);
    });
    assert_reply(&r, ABORTED);
    // Now k is in db 1 only: watching it in db 0 (missing) and swapping
    // brings it in.
    let r = watch_then(&srv, "k", |_, b| {
        b.cmd(&["SWAPDB", "1", "0"]);
    });
    assert_reply(&r, ABORTED);
    // Neither db has the key: no abort.
    c.cmd(&["FLUSHALL"]);
    let r = watch_then(&srv, "k", |_, b| {
        b.cmd(&["SWAPDB", "0", "1"]);
    });
    assert_reply(&r, RAN);
    srv.assert_no_panic();
}

/// Waits (on the test's clock) until `ms` milliseconds have passed since
/// `since`: the server's clock is the same machine's.
fn wait_past(since: Instant, ms: u64) {
    assert!(poll_until(DEADLINE, || since.elapsed() >= Duration::from_millis(ms)));
}

#[test]
fn watch_invalidation_by_expiry() {
    let srv = Server::start(&["--enable-debug-command", "yes"]);
    // The key expires between WATCH and EXEC: aborted, whether or not the
    // active cycle deleted it meanwhile.
    let mut a = srv.conn();
    let t = Instant::now();
    a.cmd(&["SET", "e", "v", "PX", "50"]);
    a.cmd(&["WATCH", "e"]);
    wait_past(t, 120);
    a.cmd(&["MULTI"]);
    a.cmd(&["PING"]);
    assert_reply(&a.cmd(&["EXEC"]), ABORTED);

    // Same, with another client touching the expired key (lazy deletion).
    let t = Instant::now();
    a.cmd(&["SET", "e", "v", "PX", "50"]);
    let r = watch_then(&srv, "e", |_, b| {
        wait_past(t, 120);
        assert_reply(&b.cmd(&["GET", "e"]), b"$-1\r\n");
    });
    assert_reply(&r, ABORTED);

    // A key that was already expired at WATCH time: its deletion is no
    // logical change (Redis 7.0 watchedKey.expired)...
    a.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let t = Instant::now();
    a.cmd(&["SET", "e", "v", "PX", "1"]);
    wait_past(t, 20);
    let r = watch_then(&srv, "e", |_, _| {});
    assert_reply(&r, RAN);
    let t = Instant::now();
    a.cmd(&["SET", "e", "v", "PX", "1"]);
    wait_past(t, 20);
    let r = watch_then(&srv, "e", |_, b| {
        assert_reply(&b.cmd(&["GET", "e"]), b"$-1\r\n");
    });
    assert_reply(&r, RAN);
    // ...but writing a new value is.
    let t = Instant::now();
    a.cmd(&["SET", "e", "v", "PX", "1"]);
    wait_past(t, 20);
    let r = watch_then(&srv, "e", |_, b| {
        b.cmd(&["SET", "e", "new"]);
    });
    assert_reply(&r, ABORTED);
    a.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);

    // A key with a TTL far in the future doesn't abort.
    a.cmd(&["SET", "e", "v", "EX", "1000"]);
    let r = watch_then(&srv, "e", |_, b| {
        b.cmd(&["GET", "e"]);
    });
    assert_reply(&r, RAN);
    srv.assert_no_panic();
}

/// The transaction's own writes never abort it; UNWATCH and a failed or
/// successful EXEC forget the watched keys.
#[test]
fn watch_lifecycle() {
    let srv = Server::start(&[]);
    let mut a = srv.conn();
    let mut b = srv.conn();
    a.cmd(&["WATCH", "x"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["SET", "x", "1"]);
    a.cmd(&["INCR", "x"]);
    assert_reply(&a.cmd(&["EXEC"]), b"*2\r\n+OK\r\n:2\r\n");
    // After EXEC nothing is watched: another client's write is harmless.
    b.cmd(&["SET", "x", "9"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["PING"]);
    assert_reply(&a.cmd(&["EXEC"]), RAN);
    // UNWATCH.
    a.cmd(&["WATCH", "x"]);
    a.cmd(&["UNWATCH"]);
    b.cmd(&["SET", "x", "10"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["PING"]);
    assert_reply(&a.cmd(&["EXEC"]), RAN);
    // DISCARD also unwatches.
    a.cmd(&["WATCH", "x"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["DISCARD"]);
    b.cmd(&["SET", "x", "11"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["PING"]);
    assert_reply(&a.cmd(&["EXEC"]), RAN);
    // A watcher that disconnects is forgotten (no leak, no crash on touch).
    {
        let mut gone = srv.conn();
        gone.cmd(&["WATCH", "x", "y"]);
    }
    let mut later = srv.conn();
    assert!(poll_until(DEADLINE, || {
        later.cmd_str(&["CLIENT", "LIST"]).matches(" addr=").count() == 3
    }));
    b.cmd(&["SET", "x", "12"]);
    b.cmd(&["SET", "y", "12"]);
    assert_reply(&b.cmd(&["PING"]), b"+PONG\r\n");
    srv.assert_no_panic();
}
