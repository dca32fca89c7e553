//! Client eviction (`maxmemory-clients`, Redis's tests/unit/client-eviction.tcl
//! in spirit): a client whose query buffer, output buffer or MULTI queue
//! takes the clients' memory over the limit is disconnected, biggest
//! first; `CLIENT NO-EVICT on` protects a client; the limit may be a
//! percentage of maxmemory; lowering it evicts at once; evictions count in
//! INFO `evicted_clients`. Also: the output buffer limit takes precedence
//! over eviction, and CLIENT LIST shows the memory fields eviction uses.
//! With FERROKV_TEST_REDIS=1 these run against redis-server 7.0 instead.

use crate::common;

use common::{poll_until, RawConn, Server};
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(10);

fn info_u64(c: &mut RawConn, section: &str, field: &str) -> u64 {
    let info = c.cmd_str(&["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{}:", field)))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {} in INFO {}", field, section))
}

/// The CLIENT LIST line of the client named `name`, if connected.
fn client_line(c: &mut RawConn, name: &str) -> Option<String> {
    let list = c.cmd_str(&["CLIENT", "LIST"]);
    let needle = format!(" name={} ", name);
    list.lines()
        .find(|l| l.contains(&needle))
        .map(|l| l.to_string())
}

fn field(line: &str, f: &str) -> u64 {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{}=", f)))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {} in {}", f, line))
}

fn named(srv: &Server, name: &str) -> RawConn {
    let mut c = srv.conn();
    assert_eq!(c.cmd_str(&["CLIENT", "SETNAME", name]), "+OK\r\n");
    c
}

/// A control connection that is never evicted.
fn control(srv: &Server) -> RawConn {
    let mut c = named(srv, "control");
    assert_eq!(c.cmd_str(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    c
}

/// Starts a bulk argument of `len` bytes and sends `send` of them.
fn partial_bulk(c: &mut RawConn, len: usize, send: usize) {
    let mut b = format!("*2\r\n${}\r\n", len).into_bytes();
    b.resize(b.len() + send, b'v');
    c.send_raw(&b);
}

fn wait_gone(ctl: &mut RawConn, name: &str) -> bool {
    poll_until(DEADLINE, || client_line(ctl, name).is_none())
}

#[test]
fn big_query_buffer_is_evicted_and_counted() {
    let srv = Server::start(&[]);
    let mut ctl = control(&srv);
    assert_eq!(
        ctl.cmd_str(&["CONFIG", "SET", "maxmemory-clients", "1mb"]),
        "+OK\r\n"
    );
    let mut small = named(&srv, "small");
    partial_bulk(&mut small, 200_000, 100_000);
    // A bulk this big counts whole as soon as its header arrives (Redis
    // allocates it then).
    let mut big = named(&srv, "big");
    partial_bulk(&mut big, 2_000_000, 1000);
    assert!(wait_gone(&mut ctl, "big"), "the big client was not evicted");
    let (_, closed) = big.read_until_eof(DEADLINE);
    assert!(closed);
    assert!(client_line(&mut ctl, "small").is_some());
    assert_eq!(info_u64(&mut ctl, "stats", "evicted_clients"), 1);
    let evicted_logged = poll_until(DEADLINE, || srv.log().contains("Evicting client: id="));
    assert!(evicted_logged || std::env::var("FERROKV_TEST_REDIS").is_ok());
}

#[test]
fn limit_can_be_a_percentage_of_maxmemory() {
    let srv = Server::start(&[]);
    let mut ctl = control(&srv);
    assert_eq!(
        ctl.cmd_str(&["CONFIG", "SET", "maxmemory", "10mb"]),
        "+OK\r\n"
    );
    assert_eq!(
        ctl.cmd_str(&["CONFIG", "SET", "maxmemory-clients", "10%"]),
        "+OK\r\n"
    );
    // 10% of 10 MiB is about 1 MiB.
    let mut half = named(&srv, "half");
    partial_bulk(&mut half, 500_000, 500_000);
    let line = client_line(&mut ctl, "half").expect("half connected");
    let tot = field(&line, "tot-mem");
    assert!((500_000..1_048_576).contains(&tot), "{}", line);
    let mut over = named(&srv, "over");
    partial_bulk(&mut over, 1_100_000, 1000);
    assert!(wait_gone(&mut ctl, "over"));
    assert!(client_line(&mut ctl, "half").is_some());
    // Without maxmemory a percentage means no limit.
    assert_eq!(ctl.cmd_str(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
    let mut free = named(&srv, "free");
    partial_bulk(&mut free, 3_000_000, 1000);
    assert_eq!(ctl.cmd_str(&["PING"]), "+PONG\r\n");
    assert!(client_line(&mut ctl, "free").is_some());
}

#[test]
fn no_evict_protects_a_client_until_turned_off() {
    let srv = Server::start(&[]);
    let mut ctl = control(&srv);
    assert_eq!(
        ctl.cmd_str(&["CONFIG", "SET", "maxmemory-clients", "1mb"]),
        "+OK\r\n"
    );
    let mut c = named(&srv, "guarded");
    assert_eq!(c.cmd_str(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    partial_bulk(&mut c, 2_000_000, 2_000_000);
    let full = poll_until(DEADLINE, || {
        client_line(&mut ctl, "guarded").is_some_and(|l| field(&l, "qbuf") == 2_000_000)
    });
    assert!(full, "query buffer never filled");
    let line = client_line(&mut ctl, "guarded").expect("guarded connected");
    assert!(line.contains(" flags=e "), "{}", line);
    assert!(field(&line, "tot-mem") > 1_048_576, "{}", line);
    assert_eq!(info_u64(&mut ctl, "stats", "evicted_clients"), 0);
    drop(c);
    assert!(wait_gone(&mut ctl, "guarded"));
    // A client that turns its protection off is evicted as soon as its
    // memory counts.
    let mut d = named(&srv, "unguarded");
    assert_eq!(d.cmd_str(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    let mut payload = b"*1\r\n$1500000\r\n".to_vec();
    payload.resize(payload.len() + 1000, b'v');
    // NO-EVICT off, pipelined in front of the big argument.
    let mut b = common::encode(&[b"CLIENT", b"NO-EVICT", b"off"]);
    b.extend_from_slice(&payload);
    d.send_raw(&b);
    assert!(wait_gone(&mut ctl, "unguarded"));
}

#[test]
fn output_buffer_growth_evicts_before_reaching_the_limit() {
    let srv = Server::start(&[]);
    let mut ctl = control(&srv);
    assert_eq!(
        ctl.cmd_str(&["CONFIG", "SET", "maxmemory-clients", "3000000"]),
        "+OK\r\n"
    );
    assert_eq!(
        ctl.cmd_str(&["SETRANGE", "k", "200000", "v"]),
        ":200001\r\n"
    );
    let mut reader = named(&srv, "reader");
    let get = common::encode(&[b"GET", b"k"]);
    // Send GETs without reading: once the socket buffers are full the
    // output buffer grows, and the client goes before it reaches the limit.
    let mut sent = 0;
    let evicted = poll_until(Duration::from_secs(60), || {
        match client_line(&mut ctl, "reader") {
            None => return true,
            Some(l) => assert!(field(&l, "tot-mem") < 3_000_000, "{}", l),
        }
        if reader.try_send_raw(&get).is_ok() {
            sent += 1;
        }
        false
    });
    assert!(evicted, "not evicted after {} GETs", sent);
    assert!(info_u64(&mut ctl, "stats", "evicted_clients") >= 1);
}

#[test]
fn multi_queue_counts_in_client_memory() {
    let srv = Server::start(&[]);
    let mut ctl = control(&srv);
    assert_eq!(
        ctl.cmd_str(&["CONFIG", "SET", "maxmemory-clients", "3000000"]),
        "+OK\r\n"
    );
    let mut c = named(&srv, "tx");
    let value = "v".repeat(600_000);
    assert_eq!(c.cmd_str(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["SET", "k", &value]), "+QUEUED\r\n");
    let line = client_line(&mut ctl, "tx").expect("tx connected");
    assert!(field(&line, "multi-mem") >= 600_000, "{}", line);
    assert!(
        field(&line, "tot-mem") >= field(&line, "multi-mem"),
        "{}",
        line
    );
    assert_eq!(c.cmd_str(&["EXEC"]), "*1\r\n+OK\r\n");
    let line = client_line(&mut ctl, "tx").expect("tx connected");
    assert!(field(&line, "multi-mem") < 1000, "{}", line);
    // Queue more than the limit: the client is disconnected.
    assert_eq!(c.cmd_str(&["MULTI"]), "+OK\r\n");
    for _ in 0..8 {
        let a: Vec<&[u8]> = vec![b"SET", b"k", value.as_bytes()];
        if c.try_send_raw(&common::encode(&a)).is_err() {
            break;
        }
        match c.try_read_reply() {
            Ok(Some(r)) => assert_eq!(r, b"+QUEUED\r\n"),
            _ => break,
        }
    }
    assert!(wait_gone(&mut ctl, "tx"));
}

#[test]
fn lowering_the_limit_evicts_the_biggest_clients_first() {
    let srv = Server::start(&[]);
    let mut ctl = control(&srv);
    assert_eq!(
        ctl.cmd_str(&["CONFIG", "SET", "maxmemory-clients", "100mb"]),
        "+OK\r\n"
    );
    let sizes = [
        ("c100k", 100_000usize),
        ("c400k", 400_000),
        ("c1500k", 1_500_000),
    ];
    let mut conns = Vec::new();
    let mut mem = Vec::new();
    for (name, size) in sizes {
        let mut c = named(&srv, name);
        partial_bulk(&mut c, size, 1000);
        conns.push(c);
        let ok = poll_until(DEADLINE, || {
            client_line(&mut ctl, name).is_some_and(|l| field(&l, "tot-mem") >= size as u64)
        });
        assert!(ok, "{} not accounted", name);
        let l = client_line(&mut ctl, name).expect("connected");
        mem.push(field(&l, "tot-mem"));
    }
    let ctl_mem = field(
        &client_line(&mut ctl, "control").expect("control"),
        "tot-mem",
    );
    // Room for the two smaller ones (and the control client) only.
    let limit = mem[0] + mem[1] + ctl_mem;
    assert_eq!(
        ctl.cmd_str(&["CONFIG", "SET", "maxmemory-clients", &limit.to_string()]),
        "+OK\r\n"
    );
    assert!(wait_gone(&mut ctl, "c1500k"));
    assert!(client_line(&mut ctl, "c400k").is_some());
    assert!(client_line(&mut ctl, "c100k").is_some());
    let limit = mem[0] + ctl_mem;
    assert_eq!(
        ctl.cmd_str(&["CONFIG", "SET", "maxmemory-clients", &limit.to_string()]),
        "+OK\r\n"
    );
    assert!(wait_gone(&mut ctl, "c400k"));
    assert!(client_line(&mut ctl, "c100k").is_some());
    assert_eq!(info_u64(&mut ctl, "stats", "evicted_clients"), 2);
}

#[test]
fn output_buffer_limit_takes_precedence_over_eviction() {
    let srv = Server::start(&[]);
    let mut ctl = control(&srv);
    assert_eq!(
        ctl.cmd_str(&["CONFIG", "SET", "maxmemory-clients", "10mb"]),
        "+OK\r\n"
    );
    assert_eq!(
        ctl.cmd_str(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 3mb 0 0"
        ]),
        "+OK\r\n"
    );
    let obuf = 4 << 20;
    assert_eq!(
        ctl.cmd_str(&["SETRANGE", "k", &(obuf - 1).to_string(), "v"]),
        format!(":{}\r\n", obuf)
    );
    let mut q = named(&srv, "qbuf-client");
    let qbsize = (10 << 20) - obuf;
    partial_bulk(&mut q, qbsize, qbsize);
    let full = poll_until(DEADLINE, || {
        client_line(&mut ctl, "qbuf-client").is_some_and(|l| field(&l, "qbuf") == qbsize as u64)
    });
    assert!(full);
    // The GET's reply is over the output buffer limit: that client is
    // closed for it, and the query buffer client is not evicted.
    let mut o = named(&srv, "obuf-client");
    o.send(&[b"GET", b"k"]);
    assert!(wait_gone(&mut ctl, "obuf-client"));
    assert!(client_line(&mut ctl, "qbuf-client").is_some());
    assert_eq!(info_u64(&mut ctl, "stats", "evicted_clients"), 0);
}

#[test]
fn debug_client_eviction_shows_the_buckets() {
    let srv = Server::start(&["--enable-debug-command", "yes"]);
    let mut ctl = srv.conn();
    let off = ctl.cmd_str(&["DEBUG", "CLIENT-EVICTION"]);
    assert_eq!(off, "-ERR maxmemory-clients is disabled.\r\n");
    assert_eq!(
        ctl.cmd_str(&["CONFIG", "SET", "maxmemory-clients", "100mb"]),
        "+OK\r\n"
    );
    let mut c = named(&srv, "big");
    partial_bulk(&mut c, 3_000_000, 1000);
    let ok = poll_until(DEADLINE, || {
        client_line(&mut ctl, "big").is_some_and(|l| field(&l, "tot-mem") >= 3_000_000)
    });
    assert!(ok);
    let text = ctl.cmd_str(&["DEBUG", "CLIENT-EVICTION"]);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("bucket")).collect();
    assert_eq!(lines.len(), 19, "{}", text);
    // 3 MB lies in the 2 MiB .. 4 MiB bucket.
    let b = lines
        .iter()
        .find(|l| l.contains("bucket    2097152 -    4194303"))
        .unwrap_or_else(|| panic!("{}", text));
    assert!(b.ends_with("clients: 1"), "{}", b);
    // A protected client leaves the buckets.
    assert_eq!(ctl.cmd_str(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    let text = ctl.cmd_str(&["DEBUG", "CLIENT-EVICTION"]);
    let total: usize = text
        .lines()
        .filter_map(|l| l.rsplit("clients: ").next()?.trim().parse::<usize>().ok())
        .sum();
    assert_eq!(total, 1, "{}", text);
}

#[test]
fn client_list_type_pubsub_lists_subscribers() {
    let srv = Server::start(&[]);
    let mut ctl = srv.conn();
    let mut sub = named(&srv, "listener");
    assert!(sub.cmd_str(&["SUBSCRIBE", "ch"]).contains("subscribe"));
    let pubsub = ctl.cmd_str(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert!(pubsub.contains("name=listener "), "{}", pubsub);
    let normal = ctl.cmd_str(&["CLIENT", "LIST", "TYPE", "normal"]);
    assert!(!normal.contains("name=listener "), "{}", normal);
}

#[test]
fn soft_output_limit_closes_a_subscriber_even_without_new_output() {
    // The clients cron enforces the soft limit's time too (Redis's
    // "soft limit ... is enforced when no traffic").
    let srv = Server::start(&[]);
    let mut ctl = srv.conn();
    assert_eq!(
        ctl.cmd_str(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 0 100000 1"
        ]),
        "+OK\r\n"
    );
    let mut sub = named(&srv, "slow-sub");
    assert!(sub.cmd_str(&["SUBSCRIBE", "foo"]).contains("subscribe"));
    let msg = "x".repeat(50_000);
    // Publish until its output buffer is over the soft limit, then stop.
    let over = poll_until(Duration::from_secs(60), || {
        ctl.cmd(&["PUBLISH", "foo", &msg]);
        client_line(&mut ctl, "slow-sub").is_none_or(|l| field(&l, "omem") > 100_000)
    });
    assert!(over);
    assert!(
        wait_gone(&mut ctl, "slow-sub"),
        "not closed once the soft limit expired"
    );
}

#[test]
fn huge_random_replies_stop_at_the_output_limit() {
    // HRANDFIELD / SRANDMEMBER / ZRANDMEMBER with a huge negative count
    // and KEYS stop once the output buffer limit is reached, instead of
    // building the whole reply; the client is disconnected with nothing.
    let srv = Server::start(&[]);
    let mut ctl = srv.conn();
    assert_eq!(
        ctl.cmd_str(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 1000000 0 0"
        ]),
        "+OK\r\n"
    );
    ctl.cmd(&["HSET", "h", "a", "b"]);
    ctl.cmd(&["SADD", "s", "a"]);
    ctl.cmd(&["ZADD", "z", "1", "a"]);
    for cmd in [
        ["HRANDFIELD", "h", "-999999999"],
        ["SRANDMEMBER", "s", "-999999999"],
        ["ZRANDMEMBER", "z", "-999999999"],
    ] {
        let mut c = srv.conn();
        c.send(&[cmd[0].as_bytes(), cmd[1].as_bytes(), cmd[2].as_bytes()]);
        let (got, closed) = c.read_until_eof(Duration::from_secs(30));
        assert!(closed, "{}: still connected", cmd[0]);
        assert!(got.is_empty(), "{}: got {} bytes", cmd[0], got.len());
    }
    assert_eq!(ctl.cmd_str(&["PING"]), "+PONG\r\n");
}
