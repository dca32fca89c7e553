//! Real redis-server cluster nodes for the cluster tests: each runs under
//! `timeout` (so a killed test run leaves no server behind for long), on a
//! port from 22000-22699 whose bus port (+10000) is free too, in its own
//! directory, and is killed when dropped. Also a port allocator from the
//! same range for the tests' own listeners. Both the ports and their bus
//! ports stay below Linux's ephemeral range (32768-60999), so an outgoing
//! connection of another test cannot take a node's port between the
//! check and the server's bind.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// The longest a test's redis-server may live (the `timeout` guard).
const LIFETIME_SECS: u32 = 600;

static NEXT: AtomicU16 = AtomicU16::new(0);

/// The range's first port and size.
const FIRST: u16 = 22000;
const SPAN: u16 = 700;

/// A port in FIRST..FIRST + SPAN that is free now, with `port + bus_offset` free
/// too (0: only the port itself).
pub fn free_port_in_range(bus_offset: u16) -> u16 {
    if NEXT.load(Ordering::Relaxed) == 0 {
        // Spread concurrent test processes over the range.
        let start = (std::process::id() % SPAN as u32) as u16;
        let _ = NEXT.compare_exchange(0, start.max(1), Ordering::Relaxed, Ordering::Relaxed);
    }
    for _ in 0..SPAN {
        let p = FIRST + NEXT.fetch_add(1, Ordering::Relaxed) % SPAN;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(p) && (bus_offset == 0 || free(p + bus_offset)) {
            return p;
        }
    }
    panic!("no free port in {FIRST}-{}", FIRST + SPAN - 1);
}

/// A listener on a port from the range.
pub fn listen_in_range() -> TcpListener {
    for _ in 0..100 {
        if let Ok(l) = TcpListener::bind(("127.0.0.1", free_port_in_range(0))) {
            return l;
        }
    }
    panic!("cannot listen in {FIRST}-{}", FIRST + SPAN - 1);
}

/// A real redis-server started with `--cluster-enabled yes`.
pub struct RealClusterNode {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    bin: String,
    bus: bool,
    extra: Vec<String>,
}

fn spawn(bin: &str, port: u16, dir: &std::path::Path, extra: &[String]) -> Child {
    Command::new("timeout")
        .args(["-s", "KILL", &LIFETIME_SECS.to_string(), bin])
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--cluster-enabled", "yes", "--cluster-config-file"])
        .arg(dir.join("nodes.conf"))
        .arg("--dir")
        .arg(dir)
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .args(["--loglevel", "verbose", "--logfile"])
        .arg(dir.join("log"))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn timeout redis-server")
}

impl RealClusterNode {
    /// Starts a node; `extra` are more `--directive value` arguments.
    /// `prepare` may write files (nodes.conf) into its directory first.
    pub fn start_with(extra: &[&str], prepare: impl Fn(&std::path::Path, u16)) -> RealClusterNode {
        assert!(
            std::path::Path::new(REDIS_SERVER).exists(),
            "redis-server 7.0 not found: install redis-server (CI's .ci/run does)"
        );
        Self::start_bin(REDIS_SERVER, true, extra, prepare)
    }

    /// A ferrokv node started as the real ones are (ready once its client
    /// and bus ports accept).
    pub fn start_ferrokv(
        extra: &[&str],
        prepare: impl Fn(&std::path::Path, u16),
    ) -> RealClusterNode {
        Self::start_bin(env!("CARGO_BIN_EXE_ferrokv-server"), true, extra, prepare)
    }

    /// Starts `bin` in cluster mode in a fresh directory (`prepare` may
    /// write files there first); `bus`: wait for the bus port too.
    pub fn start_bin(
        bin: &str,
        bus: bool,
        extra: &[&str],
        prepare: impl Fn(&std::path::Path, u16),
    ) -> RealClusterNode {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        Self::start_bin_for_port(bin, bus, |_| extra.clone(), prepare)
    }

    /// `start_bin` with the extra arguments made for the port chosen (a
    /// TLS node's tls-port and cluster-port).
    pub fn start_bin_for_port(
        bin: &str,
        bus: bool,
        extra: impl Fn(u16) -> Vec<String>,
        prepare: impl Fn(&std::path::Path, u16),
    ) -> RealClusterNode {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port_in_range(10000);
            let dir = std::env::temp_dir().join(format!(
                "ferrokv-cluster-{}-{}",
                std::process::id(),
                port
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("node dir");
            prepare(&dir, port);
            let extra = extra(port);
            let child = spawn(bin, port, &dir, &extra);
            let mut node = RealClusterNode {
                child,
                port,
                dir,
                bin: bin.to_string(),
                bus,
                extra,
            };
            if node.wait_ready() {
                return node;
            }
            last = node.log();
        }
        panic!("{bin} cluster node did not start; last log:\n{last}");
    }

    /// Ready once both the client and the bus port accept.
    fn wait_ready(&mut self) -> bool {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && (!self.bus || TcpStream::connect(("127.0.0.1", self.port + 10000)).is_ok())
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// SIGKILLs the server (its directory stays); `restart` starts it
    /// again on the same port and files.
    pub fn kill9(&mut self) {
        self.kill_server();
    }

    /// Starts the server again after `kill9` (same port, directory,
    /// nodes.conf and arguments); panics if it does not come up.
    pub fn restart(&mut self) {
        self.child = spawn(&self.bin, self.port, &self.dir, &self.extra);
        assert!(self.wait_ready(), "node did not restart:\n{}", self.log());
    }

    fn kill_server(&mut self) {
        // The child is `timeout`; the server is its child (found through
        // /proc): kill the server, then reap `timeout`.
        let pid = self.child.id();
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            for c in children.split_whitespace() {
                if let Ok(c) = c.parse::<i32>() {
                    // SAFETY: kill(2) on a pid we spawned (timeout's child).
                    unsafe { libc::kill(c, libc::SIGKILL) };
                }
            }
        }
        // `timeout` exits once it has reaped the server.
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn start(extra: &[&str]) -> RealClusterNode {
        Self::start_with(extra, |_, _| {})
    }

    /// Waits until CLUSTER INFO says `cluster_state:<state>`; panics with
    /// the node's view and log after `deadline`.
    pub fn wait_state(&self, state: &str, deadline: Duration) {
        let want = format!("cluster_state:{state}");
        assert!(
            crate::common::poll_until(deadline, || self.cli(&["cluster", "info"]).contains(&want)),
            "{want} never reached on {}:\n{}\n{}",
            self.port,
            self.cli(&["cluster", "nodes"]),
            self.log()
        );
    }

    pub fn bus_port(&self) -> u16 {
        self.port + 10000
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Runs a command through redis-cli and returns its raw output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for RealClusterNode {
    fn drop(&mut self) {
        self.kill_server();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("(cluster node dir kept at {})", self.dir.display());
        }
    }
}
