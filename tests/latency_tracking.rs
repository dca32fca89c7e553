//! Per-command latency tracking: LATENCY HISTOGRAM's reply (which
//! commands, calls, power-of-two bucket boundaries, cumulative counts),
//! INFO latencystats, the latency-tracking and
//! latency-tracking-info-percentiles configs (errors compared byte for byte
//! with a real redis-server 7.0) and CONFIG RESETSTAT.

use crate::common;

use common::{assert_same_replies, RawConn, RealRedis, Server};

/// A parsed RESP2/RESP3 reply (enough for LATENCY HISTOGRAM).
#[derive(Debug, Clone, PartialEq)]
enum V {
    Int(i64),
    Str(String),
    Agg(Vec<V>),
}

fn parse(b: &[u8], pos: &mut usize) -> V {
    let eol = b[*pos..].windows(2).position(|w| w == b"\r\n").unwrap() + *pos;
    let line = std::str::from_utf8(&b[*pos + 1..eol]).unwrap().to_string();
    let t = b[*pos];
    *pos = eol + 2;
    match t {
        b':' => V::Int(line.parse().unwrap()),
        b'+' => V::Str(line),
        b'$' => {
            let n: usize = line.parse().unwrap();
            let s = String::from_utf8_lossy(&b[*pos..*pos + n]).into_owned();
            *pos += n + 2;
            V::Str(s)
        }
        b'*' | b'%' => {
            let n: usize = line.parse().unwrap();
            let n = if t == b'%' { 2 * n } else { n };
            V::Agg((0..n).map(|_| parse(b, pos)).collect())
        }
        _ => panic!("unexpected reply type {}", t as char),
    }
}

fn reply(c: &mut RawConn, args: &[&str]) -> V {
    let r = c.cmd(args);
    parse(&r, &mut 0)
}

/// LATENCY HISTOGRAM as (command, calls, [(usec, cumulative)]).
fn histogram(c: &mut RawConn, args: &[&str]) -> Vec<(String, i64, Vec<(i64, i64)>)> {
    let mut full = vec!["LATENCY", "HISTOGRAM"];
    full.extend_from_slice(args);
    let V::Agg(items) = reply(c, &full) else {
        panic!("not an aggregate")
    };
    items
        .chunks(2)
        .map(|kv| {
            let V::Str(name) = &kv[0] else { panic!() };
            let V::Agg(body) = &kv[1] else { panic!() };
            assert_eq!(body[0], V::Str("calls".into()));
            assert_eq!(body[2], V::Str("histogram_usec".into()));
            let V::Int(calls) = body[1] else { panic!() };
            let V::Agg(h) = &body[3] else { panic!() };
            let pairs = h
                .chunks(2)
                .map(|p| match (&p[0], &p[1]) {
                    (V::Int(a), V::Int(b)) => (*a, *b),
                    _ => panic!("bucket pair"),
                })
                .collect();
            (name.clone(), calls, pairs)
        })
        .collect()
}

fn names(h: &[(String, i64, Vec<(i64, i64)>)]) -> Vec<&str> {
    let mut v: Vec<&str> = h.iter().map(|x| x.0.as_str()).collect();
    v.sort();
    v
}

#[test]
fn histogram_selects_commands_and_subcommands() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    c.cmd(&["CONFIG", "RESETSTAT"]);
    // Only CONFIG RESETSTAT itself, recorded after it ran.
    assert_eq!(names(&histogram(&mut c, &[])), vec!["config|resetstat"]);

    c.cmd(&["CONFIG", "RESETSTAT"]);
    c.cmd(&["SET", "a", "b"]);
    c.cmd(&["SET", "c", "d"]);
    c.cmd(&["GET", "a"]);
    c.cmd(&["CLIENT", "ID"]);
    c.cmd(&["CLIENT", "LIST"]);
    let all = histogram(&mut c, &[]);
    assert_eq!(
        names(&all),
        vec!["client|id", "client|list", "config|resetstat", "get", "set"]
    );
    let set = all.iter().find(|x| x.0 == "set").unwrap();
    assert_eq!(set.1, 2);
    // A container brings its subcommands; a full name only itself;
    // unknown names are skipped; names are case-insensitive.
    assert_eq!(
        names(&histogram(&mut c, &["client"])),
        vec!["client|id", "client|list"]
    );
    assert_eq!(names(&histogram(&mut c, &["CLIENT|ID"])), vec!["client|id"]);
    assert_eq!(
        names(&histogram(
            &mut c,
            &["blabla", "set", "zadd", "get", "client|nope", "a|b|c"]
        )),
        vec!["get", "set"]
    );
    assert!(histogram(&mut c, &["blabla"]).is_empty());
    // Both protocols: an empty map is *0 / %0.
    assert_eq!(c.cmd(&["LATENCY", "HISTOGRAM", "blabla"]), b"*0\r\n");
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd(&["LATENCY", "HISTOGRAM", "blabla"]), b"%0\r\n");
    let r = c.cmd(&["LATENCY", "HISTOGRAM", "set"]);
    assert!(
        r.starts_with(b"%1\r\n$3\r\nset\r\n%2\r\n$5\r\ncalls\r\n:2\r\n$14\r\nhistogram_usec\r\n%")
    );
}

#[test]
fn histogram_buckets_are_cumulative_powers_of_two() {
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    c.cmd(&["CONFIG", "RESETSTAT"]);
    for _ in 0..50 {
        c.cmd(&["SET", "k", "v"]);
    }
    c.cmd(&["DEBUG", "SLEEP", "0.01"]);
    c.cmd(&["DEBUG", "SLEEP", "0.02"]);
    for (name, calls, buckets) in histogram(&mut c, &["set", "debug"]) {
        assert!(!buckets.is_empty(), "{name}");
        let mut prev = (0, 0);
        for &(usec, cum) in &buckets {
            // Bucket bounds are just under 1024 * 2^k ns (hdr_histogram's
            // highest equivalent value, in µs).
            assert!(usec > prev.0 && cum > prev.1, "{name}: {buckets:?}");
            // Some bound 1024 * 2^k - 1 ns, give or take hdr_histogram's
            // precision (2 significant digits), truncated to whole µs.
            let on_bound = (0..40).any(|k| {
                let b = (1024i64 << k) - 1;
                ((b - b / 50) / 1000..=(b + b / 50) / 1000 + 1).contains(&usec)
            });
            assert!(on_bound, "{name}: {usec}");
            prev = (usec, cum);
        }
        assert_eq!(prev.1, calls, "{name}: last bucket holds every call");
    }
    let debug = histogram(&mut c, &["debug"]);
    assert_eq!(debug[0].1, 2);
    // 10 ms and 20 ms sleeps land in buckets of at least 8 ms.
    assert!(
        debug[0].2.iter().all(|&(usec, _)| usec >= 8000),
        "{debug:?}"
    );
}

#[test]
fn latency_tracking_off_records_nothing() {
    let s = Server::start(&["--latency-tracking", "no"]);
    let mut c = s.conn();
    c.cmd(&["SET", "a", "b"]);
    assert!(histogram(&mut c, &[]).is_empty());
    let info = c.cmd_str(&["INFO", "latencystats"]);
    assert!(info.contains("# Latencystats"), "{info}");
    assert!(!info.contains("latency_percentiles_usec"), "{info}");
    c.cmd(&["CONFIG", "SET", "latency-tracking", "yes"]);
    c.cmd(&["SET", "a", "b"]);
    assert_eq!(names(&histogram(&mut c, &["set"])), vec!["set"]);
}

fn latencystats_line(c: &mut RawConn, cmd: &str) -> Option<String> {
    let info = c.cmd_str(&["INFO", "latencystats"]);
    let prefix = format!("latency_percentiles_usec_{}:", cmd);
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim_end().to_string()))
}

#[test]
fn info_latencystats_percentiles() {
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    c.cmd(&["CONFIG", "RESETSTAT"]);
    c.cmd(&["SET", "a", "b"]);
    c.cmd(&["CLIENT", "ID"]);
    let line = latencystats_line(&mut c, "set").expect("set line");
    let parts: Vec<&str> = line.split(',').collect();
    assert_eq!(parts.len(), 3, "{line}");
    for (p, want) in parts.iter().zip(["p50=", "p99=", "p99.9="]) {
        assert!(p.starts_with(want), "{line}");
        let v = &p[want.len()..];
        assert_eq!(v.split('.').nth(1).map(str::len), Some(3), "{line}");
    }
    assert!(latencystats_line(&mut c, "client|id").is_some());
    c.cmd(&[
        "CONFIG",
        "SET",
        "latency-tracking-info-percentiles",
        "0.0 50.0 100.0",
    ]);
    let line = latencystats_line(&mut c, "set").unwrap();
    assert!(line.starts_with("p0=") && line.contains(",p50=") && line.contains(",p100="));
    // A 50 ms sleep's median is at least 50000 µs.
    c.cmd(&["CONFIG", "SET", "latency-tracking-info-percentiles", "50"]);
    c.cmd(&["DEBUG", "SLEEP", "0.05"]);
    let debug = latencystats_line(&mut c, "debug").unwrap();
    let p50: f64 = debug.strip_prefix("p50=").unwrap().parse().unwrap();
    assert!(p50 >= 50000.0, "{debug}");
    c.cmd(&["CONFIG", "RESETSTAT"]);
    assert_eq!(latencystats_line(&mut c, "set"), None);
    assert_eq!(latencystats_line(&mut c, "debug"), None);
}

#[test]
fn percentiles_config_as_redis() {
    let ours = Server::start(&[]);
    let theirs = RealRedis::start();
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    let p = "latency-tracking-info-percentiles";
    assert_same_replies(
        &mut a,
        &mut b,
        &[
            &["CONFIG", "GET", p],
            &["CONFIG", "SET", p, "10.0 50.0 a"],
            &["CONFIG", "SET", p, "10.0 50.0 101.0"],
            &["CONFIG", "SET", p, "-1"],
            &["CONFIG", "SET", p, "10  50"],
            &["CONFIG", "SET", p, " 50"],
            &["CONFIG", "SET", p, "nan"],
            &["CONFIG", "GET", p],
            &["CONFIG", "SET", p, "0.0 50.0 100.0 99.99 1e1 0x10"],
            &["CONFIG", "GET", p],
            &["CONFIG", "SET", p, ""],
            &["CONFIG", "GET", p],
            &["CONFIG", "SET", p, "99.9"],
            &["CONFIG", "GET", p],
            &["CONFIG", "SET", "latency-tracking", "maybe"],
            &["CONFIG", "GET", "latency-tracking"],
            &["LATENCY", "HISTOGRAM", "nosuchcommand"],
            &["LATENCY", "GRAPH", "nosuchevent"],
            &["LATENCY", "GRAPH"],
            &["LATENCY", "HELP"],
            &["LATENCY", "HELP", "xxx"],
        ],
    );
}
