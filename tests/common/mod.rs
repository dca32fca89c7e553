//! Shared integration-test harness: starts ferrokv (and, for differential
//! tests, a real redis-server) on free loopback ports, and offers a raw
//! RESP connection that reads exactly one complete reply at a time.
#![allow(dead_code)]

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a server may take to start accepting connections.
const START_DEADLINE: Duration = Duration::from_secs(10);
/// Default read timeout of a `RawConn`: a missing reply fails the test.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
pub const REDIS_CLI: &str = "/usr/bin/redis-cli";

static LOG_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

fn log_path(tag: &str) -> PathBuf {
    let n = LOG_SEQ.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "ferrokv-test-{}-{}-{}.log",
        tag,
        std::process::id(),
        n
    ))
}

/// True when process `pid` holds a TCP socket listening on `port` (read
/// from /proc: the listening sockets' inodes against the process's fds).
pub fn listens_on(pid: u32, port: u16) -> bool {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st ... uid timeout inode
            let (Some(local), Some(st), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
                continue;
            };
            let lport = local
                .rsplit(':')
                .next()
                .and_then(|h| u16::from_str_radix(h, 16).ok());
            if *st == "0A" && lport == Some(port) {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .any(|l| inodes.iter().any(|i| l.as_os_str() == i.as_str()))
}

/// Polls `f` until it returns true; returns false when `deadline` passes.
pub fn poll_until(deadline: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A child server process (ferrokv or redis-server) killed on drop.
pub struct Server {
    child: Child,
    port: u16,
    log_path: PathBuf,
    name: &'static str,
    /// A private working directory (`--dir`), removed on drop, so no test
    /// reads or writes dump.rdb / appendonlydir in the checkout.
    work_dir: PathBuf,
}

/// A fresh empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = LOG_SEQ.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!(
        "ferrokv-test-{}-{}-{}.d",
        tag,
        std::process::id(),
        n
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create test dir");
    d
}

/// ferrokv's arguments in tests: `port` on loopback, no snapshots, the
/// log on stdout, then `extra`.
fn ferrokv_args(port: u16, extra: &[&str]) -> Vec<String> {
    let port = port.to_string();
    let fixed = [
        "--port",
        &port,
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--logfile",
        "",
    ];
    let mut v: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

impl Server {
    /// Starts ferrokv with `--save "" --logfile ""` plus `extra_args`.
    ///
    /// With FERROKV_TEST_REDIS=1 in the environment a real redis-server is
    /// started instead, which validates the tests themselves.
    pub fn start(extra_args: &[&str]) -> Server {
        if std::env::var_os("FERROKV_TEST_REDIS").is_some() {
            // Same arguments as ferrokv gets (both default to
            // enable-debug-command no), so the tests check the same thing.
            return RealRedis::start_with(extra_args);
        }
        let bin = env!("CARGO_BIN_EXE_ferrokv-server");
        Self::spawn_retry("ferrokv", bin, &[], |port| ferrokv_args(port, extra_args))
    }

    /// Starts ferrokv as [`Server::start`] does, under `prlimit --as=N`
    /// (an address-space limit of `bytes`, which caps the slab's arena).
    pub fn start_with_address_space_limit(bytes: u64, extra_args: &[&str]) -> Server {
        let limit = format!("--as={bytes}");
        let bin = env!("CARGO_BIN_EXE_ferrokv-server");
        Self::spawn_retry("ferrokv", "prlimit", &[&limit, bin], |port| {
            ferrokv_args(port, extra_args)
        })
    }

    /// Spawns `bin` with `pre` (a wrapper's own arguments and the server
    /// binary, when `bin` is a wrapper), then `--dir` and `args(port)`.
    fn spawn_retry(
        name: &'static str,
        bin: &str,
        pre: &[&str],
        args: impl Fn(u16) -> Vec<String>,
    ) -> Server {
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let log_path = log_path(name);
            let work_dir = temp_dir(name);
            let log = File::create(&log_path).expect("create log file");
            let log2 = log.try_clone().expect("clone log file");
            // `--dir` first: a test's own `--dir` in `args` overrides it.
            let child = Command::new(bin)
                .args(pre)
                .arg("--dir")
                .arg(&work_dir)
                .args(args(port))
                .stdin(Stdio::null())
                .stdout(Stdio::from(log))
                .stderr(Stdio::from(log2))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot spawn {}: {}", bin, e));
            let mut srv = Server {
                child,
                port,
                log_path,
                name,
                work_dir,
            };
            match srv.wait_ready() {
                Ok(()) => return srv,
                Err(exited) => {
                    last_log = srv.log();
                    let collision = last_log.contains("Address already in use")
                        || last_log.contains("already in use");
                    if exited && collision {
                        continue; // someone grabbed the port: retry
                    }
                    panic!(
                        "{} did not start on port {} (exited: {}). Log:\n{}",
                        name, port, exited, last_log
                    );
                }
            }
        }
        panic!(
            "{} failed to start after 5 attempts. Last log:\n{}",
            name, last_log
        )
    }

    /// Err(true) when the process exited, Err(false) on timeout.
    fn wait_ready(&mut self) -> Result<(), bool> {
        let end = Instant::now() + START_DEADLINE;
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(true);
            }
            // The port is only ours once our process listens on it: a
            // server that lost the port race exits, and another test's
            // server may be answering there meanwhile.
            if !listens_on(self.child.id(), self.port) {
                if Instant::now() >= end {
                    return Err(false);
                }
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                // Ready means answering, not still loading its data (a
                // server that loads a big AOF replies -LOADING meanwhile).
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut reply = [0u8; 64];
                let loading = s.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
                    && s.read(&mut reply)
                        .is_ok_and(|n| reply[..n].starts_with(b"-LOADING"));
                // Best effort: QUIT and wait for the server to close the
                // probe connection, so it no longer counts as a client
                // (matters for tests such as --maxclients).
                if s.write_all(b"*1\r\n$4\r\nQUIT\r\n").is_ok() {
                    let mut sink = Vec::new();
                    let _ = s.read_to_end(&mut sink);
                }
                if !loading {
                    return Ok(());
                }
            }
            if Instant::now() >= end {
                return Err(false);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The captured stdout+stderr of the server so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn redis_client(&self) -> redis::Client {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).expect("redis::Client")
    }

    pub fn conn(&self) -> RawConn {
        RawConn::connect(self.port)
    }

    /// Panics (with the log) if the log mentions a Rust panic.
    pub fn assert_no_panic(&self) {
        let log = self.log();
        assert!(
            !log.contains("panicked"),
            "{} log contains a panic:\n{}",
            self.name,
            log
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.work_dir);
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log_path);
        } else {
            eprintln!("({} log kept at {})", self.name, self.log_path.display());
        }
    }
}

/// The reference server, Debian's redis-server 7.0.
pub struct RealRedis;

impl RealRedis {
    #[allow(clippy::new_ret_no_self)]
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(extra_args: &[&str]) -> Server {
        if !std::path::Path::new(REDIS_SERVER).exists() {
            panic!("redis-server 7.0 not found: install redis-server (CI's .ci/run does)");
        }
        Server::spawn_retry("redis-server", REDIS_SERVER, &[], |port| {
            let mut v: Vec<String> = vec![
                "--port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--save".into(),
                "".into(),
                "--appendonly".into(),
                "no".into(),
                "--daemonize".into(),
                "no".into(),
            ];
            v.extend(extra_args.iter().map(|s| s.to_string()));
            v
        })
    }
}

/// Encodes a command as a RESP array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Makes raw protocol bytes readable in assertion messages.
pub fn escape(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{:02x}", c)),
        }
    }
    s
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

fn parse_len(line: &[u8]) -> Result<i64, String> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| format!("bad length {:?}", escape(line)))
}

/// Returns `Ok(Some(end))` when `buf[pos..end]` holds one complete RESP2/
/// RESP3 reply (an attribute `|` includes the reply that follows it),
/// `Ok(None)` when more bytes are needed, `Err` on malformed framing.
pub fn frame_end(buf: &[u8], pos: usize) -> Result<Option<usize>, String> {
    let Some(&t) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(eol) = find_crlf(buf, pos + 1) else {
        return Ok(None);
    };
    let line = &buf[pos + 1..eol];
    let after = eol + 2;
    match t {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Ok(Some(after)),
        b'$' | b'!' | b'=' => {
            let n = parse_len(line)?;
            if n < 0 {
                return Ok(Some(after));
            }
            let end = after + n as usize + 2;
            if buf.len() < end {
                return Ok(None);
            }
            if &buf[end - 2..end] != b"\r\n" {
                return Err("bulk not terminated by CRLF".into());
            }
            Ok(Some(end))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = parse_len(line)?;
            if n < 0 {
                return Ok(Some(after));
            }
            let elems = if t == b'%' || t == b'|' { 2 * n } else { n };
            let mut p = after;
            for _ in 0..elems {
                match frame_end(buf, p)? {
                    Some(e) => p = e,
                    None => return Ok(None),
                }
            }
            if t == b'|' {
                return frame_end(buf, p);
            }
            Ok(Some(p))
        }
        _ => Err(format!(
            "unknown RESP type byte {:?} in {:?}",
            t as char,
            escape(&buf[pos..buf.len().min(pos + 200)])
        )),
    }
}

/// Splits one complete reply into its leaves and aggregate headers (each as
/// raw bytes), for order-insensitive comparisons.
pub fn flatten(reply: &[u8]) -> Vec<Vec<u8>> {
    fn walk(buf: &[u8], pos: usize, out: &mut Vec<Vec<u8>>) -> usize {
        let t = buf[pos];
        let eol = find_crlf(buf, pos + 1).expect("complete reply");
        match t {
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                out.push(buf[pos..eol].to_vec());
                let n = parse_len(&buf[pos + 1..eol]).expect("len");
                let elems = if t == b'%' || t == b'|' { 2 * n } else { n };
                let mut p = eol + 2;
                for _ in 0..elems.max(0) {
                    p = walk(buf, p, out);
                }
                p
            }
            _ => {
                let end = frame_end(buf, pos).expect("framing").expect("complete");
                out.push(buf[pos..end].to_vec());
                end
            }
        }
    }
    let mut out = Vec::new();
    if !reply.is_empty() {
        walk(reply, 0, &mut out);
    }
    out
}

/// A blocking raw-protocol connection.
pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub fn connect(port: u16) -> RawConn {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect to port {}: {}", port, e));
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .expect("timeout");
        let _ = stream.set_nodelay(true);
        RawConn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn set_read_timeout(&self, d: Duration) {
        self.stream.set_read_timeout(Some(d)).expect("timeout");
    }

    /// Sends one command encoded as RESP.
    pub fn send(&mut self, args: &[&[u8]]) {
        self.send_raw(&encode(args));
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("write failed: {}", e));
    }

    /// Like `send_raw` but reports failures (the server may have closed).
    pub fn try_send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads replies until one is `want` (pushes a client waits for),
    /// failing after `deadline` with the replies seen.
    pub fn wait_for_reply(&mut self, want: &[u8], deadline: Duration) {
        self.set_read_timeout(Duration::from_millis(200));
        let end = std::time::Instant::now() + deadline;
        let mut seen = Vec::new();
        while std::time::Instant::now() < end {
            if let Ok(Some(r)) = self.try_read_reply() {
                if r == want {
                    return;
                }
                seen.push(String::from_utf8_lossy(&r).into_owned());
            }
        }
        panic!("no {:?}; saw {seen:?}", String::from_utf8_lossy(want));
    }

    /// Reads exactly one complete reply; `Ok(None)` on EOF before any byte
    /// of it arrived.
    pub fn try_read_reply(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut chunk = [0u8; 65536];
        loop {
            match frame_end(&self.buf, 0) {
                Ok(Some(end)) => {
                    let rest = self.buf.split_off(end);
                    return Ok(Some(std::mem::replace(&mut self.buf, rest)));
                }
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("EOF inside a reply: {:?}", escape(&self.buf)),
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads exactly one complete reply or panics (timeout, EOF, framing).
    pub fn read_reply(&mut self) -> Vec<u8> {
        match self.try_read_reply() {
            Ok(Some(r)) => r,
            Ok(None) => panic!("connection closed while waiting for a reply"),
            Err(e) => panic!("reading reply: {}", e),
        }
    }

    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.send(&a);
        self.read_reply()
    }

    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(args);
        self.read_reply()
    }

    /// `cmd` returning the reply as a (lossy) string, e.g. "+OK\r\n".
    pub fn cmd_str(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cmd(args)).into_owned()
    }

    /// Parses an integer reply (`:N`), panicking otherwise.
    pub fn cmd_int(&mut self, args: &[&str]) -> i64 {
        let r = self.cmd(args);
        let s = String::from_utf8_lossy(&r);
        s.strip_prefix(':')
            .and_then(|v| v.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("{:?}: expected integer reply, got {:?}", args, s))
    }

    /// Reads everything until the server closes the connection (or the
    /// deadline passes: then `closed` is false). Resets count as closed.
    pub fn read_until_eof(&mut self, deadline: Duration) -> (Vec<u8>, bool) {
        let mut out = std::mem::take(&mut self.buf);
        let end = Instant::now() + deadline;
        let mut chunk = [0u8; 65536];
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (out, false);
            }
            let _ = self
                .stream
                .set_read_timeout(Some(left.min(Duration::from_millis(200))));
            match self.stream.read(&mut chunk) {
                Ok(0) => return (out, true),
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut
                        || e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return (out, true),
            }
        }
    }

    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

/// Runs /usr/bin/redis-cli -p `port` `args...` and returns its stdout.
pub fn redis_cli(port: u16, args: &[&str]) -> String {
    redis_cli_stdin(port, args, None)
}

/// Like `redis_cli` with `stdin` fed to the process.
pub fn redis_cli_stdin(port: u16, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut cmd = Command::new(REDIS_CLI);
    cmd.arg("-h")
        .arg("127.0.0.1")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {}", REDIS_CLI, e));
    let writer = stdin.map(|data| {
        let mut si = child.stdin.take().expect("stdin");
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = si.write_all(&data);
        })
    });
    let out = child.wait_with_output().expect("redis-cli output");
    if let Some(w) = writer {
        let _ = w.join();
    }
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.stderr.is_empty() {
        s.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    s
}

/// Asserts a raw reply equals `want`, showing both escaped on failure.
#[track_caller]
pub fn assert_reply(got: &[u8], want: &[u8]) {
    assert!(
        got == want,
        "reply mismatch\n  got:  \"{}\"\n  want: \"{}\"",
        escape(got),
        escape(want)
    );
}

impl Server {
    /// The server's process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A u64 from the environment, decimal or 0x-hex (fuzzer seeds, iteration
/// counts).
pub fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| {
        let v = v.trim();
        if let Some(h) = v.strip_prefix("0x") {
            u64::from_str_radix(h, 16).ok()
        } else {
            v.parse().ok()
        }
    })
}

/// The server's resident set in bytes (Linux /proc).
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .expect("VmRSS in /proc/<pid>/status")
}

/// Pipelines `cmd` forever (until `stop`) without reading a reply,
/// reconnecting when the server drops it (output buffer limit).
pub fn flood(
    addr: String,
    cmd: &'static [u8],
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let batch: Vec<u8> = cmd.repeat(4096);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok(mut s) = std::net::TcpStream::connect(&addr) else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            let _ = s.set_write_timeout(Some(Duration::from_millis(200)));
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Err(e) = s.write_all(&batch) {
                    if e.kind() != std::io::ErrorKind::WouldBlock
                        && e.kind() != std::io::ErrorKind::TimedOut
                    {
                        break;
                    }
                }
            }
        }
    })
}

/// Sends each command to both connections (ferrokv and the reference)
/// and asserts the replies are byte-identical.
pub fn assert_same_replies(ours: &mut RawConn, theirs: &mut RawConn, cases: &[&[&str]]) {
    for case in cases {
        let (x, y) = (ours.cmd(case), theirs.cmd(case));
        assert_eq!(escape(&x), escape(&y), "{case:?}");
    }
}

/// Attaches to `port` as a replica with SYNC and skips the RDB payload:
/// what follows is the propagated command stream.
pub fn attach_replication_stream(port: u16) -> RawConn {
    let mut c = RawConn::connect(port);
    c.send_raw(b"SYNC\r\n");
    let mut line = Vec::new();
    loop {
        let mut b = [0u8; 1];
        c.stream.read_exact(&mut b).expect("SYNC reply");
        if b[0] != b'\n' {
            line.push(b[0]);
            continue;
        }
        if line.first() == Some(&b'$') {
            break;
        }
        line.clear(); // keepalive newlines
    }
    let len: usize = String::from_utf8_lossy(&line[1..])
        .trim()
        .parse()
        .expect("RDB length");
    let mut rdb = vec![0u8; len];
    c.stream.read_exact(&mut rdb).expect("RDB payload");
    c
}

/// True (after a loud SKIP line) when FERROKV_TEST_REDIS=1 points the tests
/// at a real redis-server and the calling test checks something ferrokv
/// does on purpose differently from Redis 7.0 (`why`, also listed in
/// docs/COMPATIBILITY.md): the caller returns at once. Always false when
/// the tests run against ferrokv.
pub fn ferrokv_only(why: &str) -> bool {
    if std::env::var_os("FERROKV_TEST_REDIS").is_none() {
        return false;
    }
    eprintln!(
        "SKIP under FERROKV_TEST_REDIS: {} (ferrokv-only behaviour: {})",
        std::thread::current().name().unwrap_or("?"),
        why
    );
    true
}

/// Whether redis-server 7.0 is installed for a test that needs it. When it
/// is not: under CI (which installs it) the test fails; elsewhere a loud
/// SKIP line names what was not checked and the caller returns.
pub fn have_real_redis(what: &str) -> bool {
    if std::path::Path::new(REDIS_SERVER).exists() {
        return true;
    }
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
        panic!(
            "{} is missing, so {} cannot be checked (CI is set: install redis-server as .ci/run does)",
            REDIS_SERVER, what
        );
    }
    eprintln!(
        "\n*** SKIPPED {}: {} is missing (install redis-server 7.0.15).\n",
        what, REDIS_SERVER
    );
    false
}
