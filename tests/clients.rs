//! Real client libraries and tools against ferrokv: the `redis` crate (sync
//! and tokio), redis-cli (plain, --no-raw, -3, --pipe) and redis-py when it
//! is installed.

use crate::common;

use common::{redis_cli, redis_cli_stdin, RealRedis, Server};
use redis::{AsyncCommands, Commands};
use std::collections::HashSet;

#[test]
fn redis_crate_sync() {
    let srv = Server::start(&[]);
    let client = srv.redis_client();
    let mut con = client.get_connection().expect("connect");

    let _: () = con.set("a", "hello").unwrap();
    let v: String = con.get("a").unwrap();
    assert_eq!(v, "hello");
    let missing: Option<String> = con.get("nosuch").unwrap();
    assert_eq!(missing, None);

    let _: () = con.set("n", 41).unwrap();
    let n: i64 = con.incr("n", 1).unwrap();
    assert_eq!(n, 42);
    let n: i64 = con.incr("n", -2).unwrap();
    assert_eq!(n, 40);

    let _: () = redis::cmd("MSET")
        .arg("m1")
        .arg("x")
        .arg("m2")
        .arg("y")
        .query(&mut con)
        .unwrap();
    let vals: Vec<Option<String>> = con.mget(&["m1", "nosuch", "m2"]).unwrap();
    assert_eq!(vals, vec![Some("x".into()), None, Some("y".into())]);

    let (k1, k2, c): (String, i64, i64) = redis::pipe()
        .set("p1", "v1")
        .ignore()
        .get("p1")
        .incr("pc", 5)
        .incr("pc", 5)
        .query(&mut con)
        .unwrap();
    assert_eq!((k1.as_str(), k2, c), ("v1", 5, 10));

    let _: () = con.set("e", "v").unwrap();
    let ttl: i64 = con.ttl("e").unwrap();
    assert_eq!(ttl, -1);
    let set: bool = con.expire("e", 100).unwrap();
    assert!(set);
    let ttl: i64 = con.ttl("e").unwrap();
    assert!((99..=100).contains(&ttl), "ttl {}", ttl);
    let ttl: i64 = con.ttl("nosuch").unwrap();
    assert_eq!(ttl, -2);

    let err = redis::cmd("NOSUCHCMD").query::<()>(&mut con).unwrap_err();
    assert!(err.to_string().contains("unknown command"), "{}", err);
    // The connection is still usable after an error.
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    srv.assert_no_panic();
}

#[test]
fn redis_crate_scan_10k() {
    let srv = Server::start(&[]);
    let client = srv.redis_client();
    let mut con = client.get_connection().expect("connect");
    let n = 10_000;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut p = redis::pipe();
        for i in chunk {
            p.set(format!("key:{}", i), i).ignore();
        }
        let _: () = p.query(&mut con).unwrap();
    }
    let _: () = con.set("other", 1).unwrap();
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, n + 1);

    let mut seen = HashSet::new();
    let mut total = 0;
    for k in con.scan_match::<_, String>("key:*").unwrap() {
        total += 1;
        seen.insert(k);
    }
    assert!(total >= n as usize);
    assert_eq!(seen.len(), n as usize, "SCAN missed keys");
    for i in 0..n {
        assert!(seen.contains(&format!("key:{}", i)), "missing key:{}", i);
    }
    let all: HashSet<String> = con.scan::<String>().unwrap().collect();
    assert_eq!(all.len(), n as usize + 1);
    srv.assert_no_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_crate_tokio() {
    let srv = Server::start(&[]);
    let client = srv.redis_client();
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: () = con.set("a", "1").await.unwrap();
    let v: String = con.get("a").await.unwrap();
    assert_eq!(v, "1");
    let n: i64 = con.incr("a", 9).await.unwrap();
    assert_eq!(n, 10);
    let missing: Option<String> = con.get("nosuch").await.unwrap();
    assert!(missing.is_none());

    let (x, y): (i64, Option<String>) = redis::pipe()
        .incr("c", 1)
        .get("nosuch")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!((x, y), (1, None));

    // Many concurrent requests over the multiplexed connection.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let mut c = con.clone();
        tasks.push(tokio::spawn(async move {
            let k = format!("t:{}", i);
            let _: () = c.set(&k, i).await.unwrap();
            let got: i64 = c.get(&k).await.unwrap();
            assert_eq!(got, i);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let vals: Vec<i64> = con.mget(&["t:1", "t:2", "t:199"]).await.unwrap();
    assert_eq!(vals, vec![1, 2, 199]);

    let _: bool = con.expire("a", 50).await.unwrap();
    let ttl: i64 = con.ttl("a").await.unwrap();
    assert!((49..=50).contains(&ttl));

    let mut iter = con.scan_match::<_, String>("t:*").await.unwrap();
    let mut seen = HashSet::new();
    while let Some(k) = iter.next_item().await {
        seen.insert(k);
    }
    assert_eq!(seen.len(), 200);
    srv.assert_no_panic();
}

#[test]
fn redis_cli_basic() {
    let srv = Server::start(&[]);
    assert_eq!(redis_cli(srv.port(), &["ping"]), "PONG\n");
    assert_eq!(redis_cli(srv.port(), &["set", "a", "hello world"]), "OK\n");
    assert_eq!(redis_cli(srv.port(), &["get", "a"]), "hello world\n");
    assert_eq!(redis_cli(srv.port(), &["-3", "ping"]), "PONG\n");
    srv.assert_no_panic();
}

/// redis-cli's formatted output must be the same against both servers.
#[test]
fn redis_cli_formatting_matches_redis() {
    let ours = Server::start(&[]);
    let reference = RealRedis::start();
    let script: &[&[&str]] = &[
        &["--no-raw", "ping"],
        &["--no-raw", "set", "a", "x y"],
        &["--no-raw", "get", "a"],
        &["--no-raw", "get", "nosuch"],
        &["--no-raw", "incr", "n"],
        &["--no-raw", "incrbyfloat", "f", "1.5"],
        &["--no-raw", "mget", "a", "nosuch", "n"],
        &["--no-raw", "set", "bin", "\x01\x02\n"],
        &["--no-raw", "get", "bin"],
        &["--no-raw", "nosuchcommand", "x"],
        &["--no-raw", "get"],
        &["--no-raw", "lcs", "a", "bin", "idx"],
        &["--no-raw", "config", "get", "maxmemory"],
        &["-3", "--no-raw", "get", "nosuch"],
        &["-3", "--no-raw", "config", "get", "maxmemory"],
        &["-3", "--no-raw", "mget", "a", "nosuch"],
        &["-3", "--no-raw", "incrbyfloat", "f", "0.25"],
        &["-3", "--no-raw", "lcs", "a", "bin", "idx"],
        &["-3", "get", "a"],
        &["--raw", "mget", "a", "nosuch", "n"],
        &["--no-raw", "exists", "a", "nosuch"],
        &["--no-raw", "type", "a"],
    ];
    let mut diffs = Vec::new();
    for args in script {
        let a = redis_cli(ours.port(), args);
        let b = redis_cli(reference.port(), args);
        if a != b {
            diffs.push(format!(
                "redis-cli {:?}\n  ferrokv: {:?}\n  redis:   {:?}",
                args, a, b
            ));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    ours.assert_no_panic();
}

#[test]
fn redis_cli_pipe_10k() {
    let srv = Server::start(&[]);
    let mut input = Vec::new();
    for i in 0..10_000 {
        input.extend_from_slice(format!("SET k:{} v{}\r\n", i, i).as_bytes());
    }
    let out = redis_cli_stdin(srv.port(), &["--pipe"], Some(&input));
    assert!(
        out.contains("errors: 0, replies: 10000"),
        "unexpected --pipe output: {}",
        out
    );
    assert_eq!(redis_cli(srv.port(), &["dbsize"]), "10000\n");
    assert_eq!(redis_cli(srv.port(), &["get", "k:9999"]), "v9999\n");
    srv.assert_no_panic();
}

#[test]
fn redis_py() {
    let have = std::process::Command::new("python3")
        .args(["-c", "import redis"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        println!("NOTICE: python3 redis module not installed; skipping the redis-py test");
        return;
    }
    let srv = Server::start(&[]);
    let code = format!(
        "import redis\n\
         r = redis.Redis(port={port}, protocol=3)\n\
         r.set('a', 1)\n\
         assert r.get('a') == b'1', r.get('a')\n\
         assert r.ping()\n\
         assert r.incr('n') == 1\n\
         assert r.get('nosuch') is None\n\
         r2 = redis.Redis(port={port})\n\
         assert r2.get('a') == b'1'\n\
         p = r2.pipeline()\n\
         p.set('b', 'x'); p.get('b'); p.incrbyfloat('f', 1.5)\n\
         assert p.execute() == [True, b'x', 1.5]\n\
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

/// qbuf + qbuf-free of the client named `name` in CLIENT LIST, and its idle.
fn query_buffer_of(admin: &mut common::RawConn, name: &str) -> (usize, u64) {
    let list = admin.cmd_str(&["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains(&format!("name={name} ")))
        .unwrap_or_else(|| panic!("{name} not in {list}"));
    let field = |k: &str| -> u64 {
        line.split(' ')
            .find_map(|f| f.strip_prefix(k))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{k} in {line}"))
    };
    (
        (field("qbuf=") + field("qbuf-free=")) as usize,
        field("idle="),
    )
}

/// The query buffer policy of Redis's clientsCronResizeQueryBuffer (unit
/// querybuf): a fresh client's buffer is one 16 KiB read buffer, freed after
/// it idles more than 2 s; a buffer grown by a big argument shrinks toward
/// the recent peak while the client stays busy.
#[test]
fn query_buffer_resizing_follows_redis() {
    let srv = Server::start(&[]);
    let mut admin = srv.conn();
    let mut idle = srv.conn();
    assert_eq!(
        idle.cmd_str(&["CLIENT", "SETNAME", "idle_client"]),
        "+OK\r\n"
    );
    let (size, _) = query_buffer_of(&mut admin, "idle_client");
    assert!((16384..32768).contains(&size), "{size}");
    assert!(common::poll_until(
        std::time::Duration::from_secs(20),
        || {
            let (size, idle_s) = query_buffer_of(&mut admin, "idle_client");
            idle_s >= 3 && size == 0
        }
    ));

    let mut busy = srv.conn();
    busy.cmd(&["CLIENT", "SETNAME", "busy_client"]);
    let big = "A".repeat(400_000);
    assert_eq!(busy.cmd_str(&["SET", "x", &big]), "+OK\r\n");
    let (orig, _) = query_buffer_of(&mut admin, "busy_client");
    assert!(orig > 32768, "{orig}");
    let shrunk = common::poll_until(std::time::Duration::from_secs(10), || {
        busy.cmd(&["SET", "x", "small"]);
        let (now, _) = query_buffer_of(&mut admin, "busy_client");
        now > 0 && now < orig
    });
    assert!(shrunk);
    assert_eq!(idle.cmd_str(&["PING"]), "+PONG\r\n");
}
