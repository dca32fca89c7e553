//! redis.conf fidelity (issue #11): every directive line of Redis 7.0.15's
//! own redis.conf (Debian's /etc/redis/redis.conf, the commented-out
//! examples included) and a list of malformed variants, each put in a
//! config file that both Debian's redis-server and ferrokv start with. Both
//! must accept it or both refuse it; when both accept, CONFIG GET of the
//! directive must match. Differences by design are in `BY_DESIGN`.

use crate::common;

use common::{free_port, REDIS_SERVER};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REDIS_CONF: &str = "/etc/redis/redis.conf";

/// Lines whose outcome differs on purpose, with the reason.
const BY_DESIGN: &[(&str, &str)] = &[];

/// Malformed or unusual lines beside the file's own.
const EXTRA: &[&str] = &[
    "replicaof 127.0.0.1 notaport",
    "replicaof 127.0.0.1",
    "replicaof no one",
    "slaveof 127.0.0.1 1",
    "masterauth a b",
    "oom-score-adj-values 1 2",
    "oom-score-adj-values a b c",
    "oom-score-adj-values 0 200 3000",
    "notadirective 1",
    "port 99999",
    "port -1",
    "maxmemory 10xb",
    "maxmemory 1gb",
    "save 1",
    "save 10 x",
    "bind 999.999.999.999",
    "loglevel loud",
    "appendfsync sometimes",
    "hz 0",
    "databases 0",
    "maxmemory-clients 150%",
    "maxmemory-clients 5%",
    "include /nonexistent-dir/*.conf",
    "include /nonexistent-file.conf",
    "slave-serve-stale-data no",
    "slave-read-only no",
    "slave-priority 5",
    "min-slaves-to-write 1",
    "min-slaves-max-lag 5",
    "repl-ping-slave-period 3",
    "slave-announce-ip 1.2.3.4",
    "slave-announce-port 1234",
    "slave-lazy-flush yes",
    "slave-ignore-maxmemory no",
    "cluster-slave-validity-factor 3",
    "lua-replicate-commands yes",
    "cluster-announce-hostname bad_host!",
    "tls-auth-clients maybe",
    "tls-session-cache-size -1",
    "syslog-facility local9",
    "socket-mark-id -1",
    "proc-title-template \"{nope}\"",
    "rename-command NOSUCHCOMMAND foo",
    "user default on nopass ~* &* +@all",
];

/// One server started with a config file: whether it came up, and what
/// CONFIG GET of the line's directive said.
struct Outcome {
    accepted: bool,
    get: Option<Vec<u8>>,
    port: u16,
}

fn run(bin: &str, dir: &Path, line: &str, name: &str) -> Outcome {
    let port = free_port();
    let conf = dir.join("test.conf");
    // The line first; then what keeps the server in this test's hands
    // (later lines win for these directives).
    let text = format!(
        "{line}\ndaemonize no\nport {port}\ndir {}\nsupervised no\n",
        dir.display()
    );
    std::fs::write(&conf, text).expect("write conf");
    let mut child: Child = Command::new(bin)
        .arg(&conf)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut up = false;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if ask(port, &[b"PING"]).is_some_and(|r| r.starts_with(b"+PONG")) {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let get = if up {
        ask(port, &[b"CONFIG", b"GET", name.as_bytes()])
    } else {
        None
    };
    if up {
        let _ = ask(port, &[b"SHUTDOWN", b"NOSAVE"]);
    }
    let _ = child.kill();
    let _ = child.wait();
    Outcome {
        accepted: up,
        get,
        port,
    }
}

/// One command on a fresh connection; the reply bytes (what one read
/// gives), or None when the connection fails.
fn ask(port: u16, args: &[&[u8]]) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut req = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        req.extend_from_slice(a);
        req.extend_from_slice(b"\r\n");
    }
    s.write_all(&req).ok()?;
    let mut buf = vec![0u8; 65536];
    let mut got = 0;
    // Until a complete reply: CONFIG GET answers one short array.
    loop {
        let n = s.read(&mut buf[got..]).ok()?;
        if n == 0 {
            break;
        }
        got += n;
        if !matches!(common::frame_end(&buf[..got], 0), Ok(None)) || got == buf.len() {
            break;
        }
    }
    (got > 0).then(|| buf[..got].to_vec())
}

/// The directive lines of redis.conf: a known directive name first, with
/// arguments; commented-out examples without their "# ".
fn conf_lines(names: &[String]) -> Vec<String> {
    let text = std::fs::read_to_string(REDIS_CONF)
        .unwrap_or_else(|e| panic!("{REDIS_CONF}: {e} (install Debian's redis-server)"));
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw
            .strip_prefix("# ")
            .or(raw.strip_prefix('#'))
            .unwrap_or(raw);
        let mut words = line.splitn(2, ' ');
        let (Some(name), Some(rest)) = (words.next(), words.next()) else {
            continue;
        };
        if rest.trim().is_empty() || !names.iter().any(|n| n == name) {
            continue;
        }
        // An example's own trailing comment is not part of it.
        let line = match line.find("   #") {
            Some(p) => line[..p].trim_end(),
            None => line,
        };
        out.push(line.to_string());
    }
    out
}

/// Paths outside the test's directory are moved into it.
fn localize(line: &str, dir: &Path) -> String {
    let mut words = line.splitn(2, ' ');
    let name = words.next().unwrap_or("");
    match name {
        "pidfile" | "logfile" | "unixsocket" => {
            format!("{name} {}", dir.join(name).display())
        }
        "dir" => format!("dir {}", dir.display()),
        _ => line.to_string(),
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(tag: &str) -> TempDir {
    let p = std::env::temp_dir().join(format!("ferrokv-conf-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).expect("mkdir");
    TempDir(p)
}

#[test]
fn every_redis_conf_line_means_the_same() {
    let names: Vec<String> = {
        let r = common::RealRedis::start();
        let mut c = r.conn();
        let all = c.cmd_bytes(&[b"CONFIG", b"GET", b"*"]);
        let mut v: Vec<String> = common::flatten(&all)
            .iter()
            .skip(1)
            .step_by(2)
            .map(|f| {
                let s = String::from_utf8_lossy(f);
                s.lines().nth(1).unwrap_or("").to_string()
            })
            .collect();
        for extra in [
            "include",
            "rename-command",
            "user",
            "loadmodule",
            "replicaof",
            "slaveof",
        ] {
            v.push(extra.to_string());
        }
        v
    };
    assert!(names.len() > 150, "CONFIG GET * gave {} names", names.len());
    let mut lines = conf_lines(&names);
    assert!(
        lines.len() > 150,
        "only {} directive lines in {REDIS_CONF}",
        lines.len()
    );
    lines.extend(EXTRA.iter().map(|s| s.to_string()));
    let ours_dir = temp_dir("ferro");
    let redis_dir = temp_dir("redis");
    let ferrokv = env!("CARGO_BIN_EXE_ferrokv-server");
    let mut diffs = Vec::new();
    for line in &lines {
        let name = line.split(' ').next().unwrap_or("").to_string();
        let (ol, rl) = (localize(line, &ours_dir.0), localize(line, &redis_dir.0));
        let ours = run(ferrokv, &ours_dir.0, &ol, &name);
        let theirs = run(REDIS_SERVER, &redis_dir.0, &rl, &name);
        if BY_DESIGN.iter().any(|(l, _)| l == line) {
            continue;
        }
        if ours.accepted != theirs.accepted {
            diffs.push(format!(
                "{line:?}: ferrokv {}, redis {}",
                if ours.accepted { "accepts" } else { "refuses" },
                if theirs.accepted {
                    "accepts"
                } else {
                    "refuses"
                }
            ));
            continue;
        }
        // Paths differ by the directory; the rest must be byte-equal.
        // (and by the port the test chose).
        let strip = |v: Option<Vec<u8>>, d: &Path, port: u16| {
            v.map(|b| {
                String::from_utf8_lossy(&b)
                    .replace(&d.display().to_string(), "<dir>")
                    .replace(&port.to_string(), "<port>")
            })
        };
        let a = strip(ours.get, &ours_dir.0, ours.port);
        let b = strip(theirs.get, &redis_dir.0, theirs.port);
        if a != b {
            diffs.push(format!(
                "{line:?}: CONFIG GET {name}\n  ferrokv: {a:?}\n  redis:   {b:?}"
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// redis.conf.example (every directive ferrokv knows, with its default) is
/// a file real redis-server 7.0.15 accepts unchanged, and so does ferrokv.
#[test]
fn example_conf_is_accepted_by_both() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/redis.conf.example");
    let line = format!("include {example}");
    let dir = temp_dir("example");
    let theirs = run(REDIS_SERVER, &dir.0, &line, "save");
    assert!(theirs.accepted, "redis-server refuses redis.conf.example");
    let ours = run(env!("CARGO_BIN_EXE_ferrokv-server"), &dir.0, &line, "save");
    assert!(ours.accepted, "ferrokv refuses redis.conf.example");
    assert_eq!(ours.get, theirs.get);
}

/// Starts `bin` with `conf` (cwd `dir`) on `port`, waiting until it answers.
fn start_with_file(bin: &str, conf: &Path, dir: &Path, port: u16) -> Child {
    let mut child = Command::new(bin)
        .arg(conf)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ask(port, &[b"PING"]).is_some_and(|r| r.starts_with(b"+PONG")) {
        assert!(
            Instant::now() < deadline && !matches!(child.try_wait(), Ok(Some(_))),
            "{bin} did not start with {}",
            conf.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child
}

/// CONFIG REWRITE writes the file Redis 7.0.15 writes: the same in-place
/// replacements, `# ??? ` for lines it cannot read, blank lines for old
/// lines no longer used, the signature, and the same appended lines (whose
/// order Redis takes from a hash table, so they are compared as a set).
#[test]
fn config_rewrite_writes_what_redis_writes() {
    let base = "# my comment\nport 1\n  maxmemory 1gb   \nsave 900 1\nsave 300 10\n\
                slave-read-only yes\nrename-command FLUSHALL \"\"\nappendonly no\n\
                logfile \"\"\nclient-output-buffer-limit pubsub 32mb 8mb 60\n\n";
    // Appended after startup (the servers would refuse them at startup).
    let later =
        "bogus-directive 12\nunbalanced \"quote\n   # indented comment\n\n\n\nmaxmemory 5mb\n";
    let sets: &[&[&str]] = &[
        &["save", "100 1 200 2"],
        &["oom-score-adj-values", "0 200 900"],
        &["latency-tracking-info-percentiles", "50 99.9"],
        &["maxmemory", "100mb"],
        &["maxmemory-clients", "10%"],
        &["notify-keyspace-events", "KEA"],
        &["client-output-buffer-limit", "replica 64mb 16mb 30"],
        &["masterauth", "x y\"z"],
        &["hz", "20"],
        &["maxmemory-policy", "allkeys-lru"],
    ];
    let mut files = Vec::new();
    for (bin, tag) in [
        (REDIS_SERVER, "rw-redis"),
        (env!("CARGO_BIN_EXE_ferrokv-server"), "rw-ferrokv"),
    ] {
        let dir = temp_dir(tag);
        let port = free_port();
        let conf = dir.0.join("test.conf");
        std::fs::write(&conf, base.replace("port 1\n", &format!("port {port}\n"))).unwrap();
        let mut child = start_with_file(bin, &conf, &dir.0, port);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .unwrap();
        std::io::Write::write_all(&mut f, later.as_bytes()).unwrap();
        for s in sets {
            let args: Vec<&[u8]> = ["CONFIG", "SET", s[0], s[1]]
                .iter()
                .map(|a| a.as_bytes())
                .collect();
            assert_eq!(
                ask(port, &args).as_deref(),
                Some(&b"+OK\r\n"[..]),
                "{bin}: {s:?}"
            );
        }
        let acl: Vec<&[u8]> = vec![b"ACL", b"SETUSER", b"bob", b"on", b">pw", b"~k*", b"+get"];
        assert_eq!(ask(port, &acl).as_deref(), Some(&b"+OK\r\n"[..]));
        assert_eq!(
            ask(port, &[b"CONFIG", b"REWRITE"]).as_deref(),
            Some(&b"+OK\r\n"[..]),
            "{bin}"
        );
        let text = std::fs::read_to_string(&conf).unwrap();
        let _ = ask(port, &[b"SHUTDOWN", b"NOSAVE"]);
        let _ = child.kill();
        let _ = child.wait();
        // The port and the absolute dir differ between the two runs.
        let text = text
            .replace(&format!("port {port}"), "port P")
            .replace(&dir.0.display().to_string(), "DIR");
        files.push(text);
    }
    let split = |t: &str| -> (String, Vec<String>) {
        match t.split_once("# Generated by CONFIG REWRITE\n") {
            Some((kept, added)) => {
                let mut a: Vec<String> = added.lines().map(str::to_string).collect();
                a.sort();
                (kept.to_string(), a)
            }
            None => (t.to_string(), Vec::new()),
        }
    };
    let (redis, ours) = (split(&files[0]), split(&files[1]));
    assert_eq!(ours.0, redis.0, "the rewritten part of the old file");
    assert_eq!(ours.1, redis.1, "the appended lines");
    assert!(
        files[1].contains("# ??? bogus-directive 12"),
        "{}",
        files[1]
    );
}
