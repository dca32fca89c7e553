//! MONITOR: every executed command reaches monitors formatted as Redis 7.0
//! prints it (`+<secs>.<usecs> [<db> <addr>] "arg" ...`), compared line by
//! line with a real Redis after normalising timestamps and ports.

use crate::common;

use common::{escape, RawConn, RealRedis, Server};

fn normalise(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(line).into_owned();
    // "+1700000000.123456 [0 127.0.0.1:54321] ..." -> "+T [0 ADDR] ..."
    let Some(close) = s.find(']') else { return s };
    let Some(open) = s.find(" [") else { return s };
    let inner = &s[open + 2..close];
    let db = inner.split(' ').next().unwrap_or("");
    format!("+T [{} ADDR]{}", db, &s[close + 1..])
}

fn transcript(port: u16) -> Vec<String> {
    let mut m = RawConn::connect(port);
    assert_eq!(m.cmd(&["MONITOR"]), b"+OK\r\n");
    let mut c = RawConn::connect(port);
    c.cmd(&["SET", "k", "a b\"c\n\x01"]);
    c.cmd(&["GET", "k"]);
    c.cmd(&["SELECT", "2"]);
    c.cmd(&["INCR", "n"]);
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "x", "1"]);
    c.cmd(&["EXEC"]);
    c.cmd(&["EVAL", "return redis.call('GET', KEYS[1])", "1", "x"]);
    // Secrets are shown as "(redacted)".
    c.cmd(&["AUTH", "nosuchpass"]);
    c.cmd(&["AUTH", "default", "nosuchpass"]);
    c.cmd(&["HELLO", "2", "AUTH", "default", "pw", "SETNAME", "n"]);
    c.cmd(&[
        "MIGRATE",
        "127.0.0.1",
        "1",
        "",
        "0",
        "10",
        "AUTH2",
        "u",
        "p",
        "KEYS",
        "nokey",
    ]);
    c.cmd(&[
        "MIGRATE",
        "127.0.0.1",
        "1",
        "",
        "0",
        "10",
        "AUTH",
        "p",
        "KEYS",
        "nokey",
    ]);
    c.cmd(&["PING"]);
    let mut out = Vec::new();
    loop {
        let line = m.read_reply();
        let n = normalise(&line);
        let done = n.contains("\"PING\"") || n.contains("\"ping\"");
        out.push(n);
        if done {
            return out;
        }
    }
}

#[test]
fn monitor_lines_match_redis() {
    let ours = Server::start(&[]);
    let real = RealRedis::start();
    let got = transcript(ours.port());
    let want = transcript(real.port());
    assert_eq!(got, want, "\nferrokv: {:#?}\nredis: {:#?}", got, want);
    let mut m = RawConn::connect(ours.port());
    m.cmd(&["MONITOR"]);
    let mut c = RawConn::connect(ours.port());
    c.cmd(&["SET", "plain", "v"]);
    let raw = m.read_reply();
    let s = String::from_utf8_lossy(&raw);
    assert!(
        s.starts_with('+') && s.contains(" [0 127.0.0.1:"),
        "{}",
        escape(&raw)
    );
    ours.assert_no_panic();
}

/// The slow log hides secrets as Redis's handlers redact them: ACL
/// SETUSER's rules, CONFIG SET's sensitive values, AUTH and HELLO's
/// credentials (MONITOR does not show admin commands at all).
#[test]
fn slowlog_redacts_secrets_as_redis_does() {
    fn args(port: u16) -> String {
        let mut c = RawConn::connect(port);
        c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        c.cmd(&["SLOWLOG", "RESET"]);
        c.cmd(&["ACL", "SETUSER", "u1", "on", ">pw", "+get"]);
        c.cmd(&[
            "CONFIG",
            "SET",
            "masterauth",
            "m1",
            "maxmemory-samples",
            "5",
        ]);
        c.cmd(&["CONFIG", "SET", "masteruser", "m2", "requirepass"]);
        c.cmd(&["AUTH", "u1", "pw"]);
        c.cmd(&["HELLO", "3", "AUTH", "u1", "pw"]);
        let mut d = RawConn::connect(port);
        let reply = d.cmd(&["SLOWLOG", "GET", "10"]);
        // Keep only each entry's arguments (the 4th field): the bulk
        // strings after the duration, up to the client's address.
        let text = String::from_utf8_lossy(&reply).into_owned();
        let lines: Vec<&str> = text.split("\r\n").collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            if lines[i].starts_with('$')
                && lines.get(i + 1).is_some_and(|l| !l.contains("127.0.0.1"))
            {
                out.push(lines[i + 1].to_string());
                i += 2;
            } else {
                i += 1;
            }
        }
        out.join(" ")
    }
    let ours = Server::start(&[]);
    let real = RealRedis::start();
    let got = args(ours.port());
    let want = args(real.port());
    assert!(want.contains("(redacted)"), "{}", want);
    assert_eq!(got, want);
    ours.assert_no_panic();
}
