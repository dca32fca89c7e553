//! Running as a system service or in a container, without docker:
//! `supervised systemd|auto` notifications on a fake NOTIFY_SOCKET (a unix
//! datagram socket this test listens on, path or abstract `@name`),
//! compared with Debian's redis-server 7.0.15 (built with libsystemd);
//! `loadmodule` refusing to start as Redis does for a module that cannot
//! load; the container defaults (`FERROKV_CONTAINER`) and the
//! `--check-ping` health check client.

use crate::common;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ferrokv-server");

/// A fake systemd notification socket.
struct NotifySocket {
    sock: UnixDatagram,
    /// The NOTIFY_SOCKET value: a path, or `@name` (abstract).
    name: String,
    path: Option<PathBuf>,
}

impl NotifySocket {
    fn new(abstract_name: bool, tag: &str) -> NotifySocket {
        let unique = format!(
            "ferrokv-notify-{}-{}-{}",
            tag,
            std::process::id(),
            common::free_port()
        );
        let (sock, name, path) = if abstract_name {
            use std::os::linux::net::SocketAddrExt;
            let addr =
                std::os::unix::net::SocketAddr::from_abstract_name(unique.as_bytes()).unwrap();
            (
                UnixDatagram::bind_addr(&addr).unwrap(),
                format!("@{}", unique),
                None,
            )
        } else {
            let p = std::env::temp_dir().join(format!("{}.sock", unique));
            let _ = std::fs::remove_file(&p);
            (
                UnixDatagram::bind(&p).unwrap(),
                p.display().to_string(),
                Some(p),
            )
        };
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        NotifySocket { sock, name, path }
    }

    /// Messages received until one equals `last` (included) or 10 s pass.
    fn recv_until(&self, last: &str) -> Vec<String> {
        let mut got = Vec::new();
        let end = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 4096];
        while Instant::now() < end {
            if let Ok(n) = self.sock.recv(&mut buf) {
                let m = String::from_utf8_lossy(&buf[..n]).into_owned();
                let done = m == last;
                got.push(m);
                if done {
                    break;
                }
            }
        }
        got
    }

    /// Whatever arrives within `d` (for "nothing more is sent").
    fn drain(&self, d: Duration) -> Vec<String> {
        let mut got = Vec::new();
        let end = Instant::now() + d;
        let mut buf = [0u8; 4096];
        while Instant::now() < end {
            if let Ok(n) = self.sock.recv(&mut buf) {
                got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        got
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

struct Proc {
    child: Child,
    port: u16,
    log: PathBuf,
    dir: PathBuf,
}

impl Proc {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn info_field(&self, field: &str) -> String {
        let mut c = common::RawConn::connect(self.port);
        let info = c.cmd_str(&["INFO", "server"]);
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{}:", field)))
            .unwrap_or_default()
            .to_string()
    }
    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill() on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }
    fn wait_exit(&mut self) -> Option<i32> {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("server did not exit; log:\n{}", self.log());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Starts `bin` (ferrokv or redis-server) on a free port in a temp dir,
/// with `NOTIFY_SOCKET` set to `notify` (or removed).
fn spawn(bin: &str, notify: Option<&str>, extra: &[&str]) -> Proc {
    let port = common::free_port();
    let dir = common::temp_dir("service");
    let log = dir.with_extension("log");
    let f = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(bin);
    // A config file goes first, as redis-server wants it.
    let (file, extra) = match extra.first() {
        Some(f) if !f.starts_with("--") => (Some(*f), &extra[1..]),
        _ => (None, extra),
    };
    cmd.args(file)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(&dir)
        .args(extra)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("UPSTART_JOB")
        .stdin(Stdio::null())
        .stdout(Stdio::from(f.try_clone().unwrap()))
        .stderr(Stdio::from(f));
    if let Some(n) = notify {
        cmd.env("NOTIFY_SOCKET", n);
    }
    let child = cmd.spawn().unwrap();
    Proc {
        child,
        port,
        log,
        dir,
    }
}

fn wait_answering(p: &Proc) {
    assert!(
        common::poll_until(Duration::from_secs(10), || std::net::TcpStream::connect((
            "127.0.0.1",
            p.port
        ))
        .is_ok()),
        "server did not start:\n{}",
        p.log()
    );
}

/// What one server sends over a run: startup, SHUTDOWN with a save point
/// (so the final-save status is sent too), and what INFO says.
fn systemd_run(bin: &str, abstract_name: bool, mode: &str) -> (Vec<String>, String) {
    let ns = NotifySocket::new(abstract_name, "run");
    let mut p = spawn(
        bin,
        Some(&ns.name),
        &["--supervised", mode, "--save", "3600 1"],
    );
    let mut msgs = ns.recv_until("READY=1\n");
    let supervised = p.info_field("process_supervised");
    let log = p.log();
    assert!(
        log.contains("Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit."),
        "{}",
        log
    );
    // SIGTERM: a clean shutdown with the final save.
    p.signal(libc::SIGTERM);
    msgs.extend(ns.recv_until("STATUS=Saving the final RDB snapshot\n"));
    assert_eq!(p.wait_exit(), Some(0), "{}", p.log());
    assert!(p.dir.join("dump.rdb").exists(), "{}", p.log());
    (msgs, supervised)
}

const EXPECTED: &[&str] = &[
    "STATUS=Redis is loading...\n",
    "STATUS=Ready to accept connections\n",
    "READY=1\n",
    "STOPPING=1\n",
    "STATUS=Saving the final RDB snapshot\n",
];

#[test]
fn systemd_notifications_as_redis() {
    for (abstract_name, mode) in [(true, "systemd"), (false, "auto"), (false, "systemd")] {
        let ours = systemd_run(BIN, abstract_name, mode);
        assert_eq!(ours.0, EXPECTED, "{} abstract={}", mode, abstract_name);
        assert_eq!(ours.1, "systemd");
        if std::path::Path::new(common::REDIS_SERVER).exists() {
            let theirs = systemd_run(common::REDIS_SERVER, abstract_name, mode);
            assert_eq!(ours, theirs, "{} abstract={}", mode, abstract_name);
        }
    }
}

#[test]
fn systemd_shutdown_command_sends_stopping() {
    let ns = NotifySocket::new(true, "shutdown");
    let mut p = spawn(BIN, Some(&ns.name), &["--supervised", "systemd"]);
    ns.recv_until("READY=1\n");
    let mut c = common::RawConn::connect(p.port);
    c.send(&[b"SHUTDOWN"]);
    assert_eq!(ns.recv_until("STOPPING=1\n"), ["STOPPING=1\n"]);
    assert_eq!(p.wait_exit(), Some(0));
    // No save point: nothing about saving.
    assert!(ns.drain(Duration::from_millis(300)).is_empty());
}

#[test]
fn replica_reports_read_only_status() {
    let dead = common::free_port().to_string();
    for bin in [BIN, common::REDIS_SERVER] {
        if !std::path::Path::new(bin).exists() {
            continue;
        }
        let ns = NotifySocket::new(true, "replica");
        let _p = spawn(
            bin,
            Some(&ns.name),
            &["--supervised", "systemd", "--replicaof", "127.0.0.1", &dead],
        );
        assert_eq!(
            ns.recv_until("READY=1\n"),
            [
                "STATUS=Redis is loading...\n",
                "STATUS=Ready to accept connections in read-only mode. Waiting for MASTER <-> REPLICA sync\n",
                "READY=1\n"
            ],
            "{}",
            bin
        );
    }
}

#[test]
fn not_supervised_without_notify_socket() {
    for bin in [BIN, common::REDIS_SERVER] {
        if !std::path::Path::new(bin).exists() {
            continue;
        }
        // auto without a supervisor: quietly not supervised.
        let p = spawn(bin, None, &["--supervised", "auto"]);
        wait_answering(&p);
        assert_eq!(p.info_field("process_supervised"), "no", "{}", bin);
        assert!(!p.log().contains("supervision error"), "{}", p.log());
        // systemd requested without NOTIFY_SOCKET: Redis's warning.
        let p = spawn(bin, None, &["--supervised", "systemd"]);
        wait_answering(&p);
        assert_eq!(p.info_field("process_supervised"), "no", "{}", bin);
        assert!(
            p.log()
                .contains("systemd supervision error: NOTIFY_SOCKET not found!"),
            "{}",
            p.log()
        );
    }
}

#[test]
fn supervised_server_does_not_daemonize() {
    let ns = NotifySocket::new(true, "daemonize");
    let mut p = spawn(
        BIN,
        Some(&ns.name),
        &["--supervised", "systemd", "--daemonize", "yes"],
    );
    assert_eq!(
        ns.recv_until("READY=1\n").last().map(|s| s.as_str()),
        Some("READY=1\n")
    );
    // The process systemd started is the server (a daemonizing parent
    // would have exited).
    assert!(matches!(p.child.try_wait(), Ok(None)), "{}", p.log());
    assert_eq!(p.info_field("process_id"), p.child.id().to_string());
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(), Some(0));
}

#[test]
fn loadmodule_refuses_to_start() {
    let dir = common::temp_dir("loadmodule");
    let module = dir.join("mymodule.so");
    std::fs::write(&module, b"not a module").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&module, std::fs::Permissions::from_mode(0o755)).unwrap();
    let missing = dir.join("missing.so");
    let conf = dir.join("redis.conf");
    std::fs::write(&conf, format!("loadmodule {} arg1\n", module.display())).unwrap();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec![conf.display().to_string()],
            format!("Module {} failed to load: ", module.display()),
        ),
        (
            vec!["--loadmodule".into(), missing.display().to_string()],
            format!(
                "Module {0} failed to load: {0}: cannot open shared object file: No such file or directory",
                missing.display()
            ),
        ),
    ];
    for (args, why) in cases {
        let mut p = spawn(
            BIN,
            None,
            &args.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        );
        assert_eq!(p.wait_exit(), Some(1), "{}", p.log());
        let log = p.log();
        assert!(log.contains(&why), "{}", log);
        let path = if args.len() == 1 { &module } else { &missing };
        assert!(
            log.contains(&format!(
                "Can't load module from {}: server aborting",
                path.display()
            )),
            "{}",
            log
        );
        assert!(!log.contains("Ready to accept connections"), "{}", log);
    }
    // `loadmodule` alone is a malformed line, as in Redis.
    let out = Command::new(BIN)
        .args(["--port", "0", "--loadmodule"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Bad directive or wrong number of arguments")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn module_load_at_runtime_keeps_failing() {
    let srv = common::Server::start(&["--enable-module-command", "yes"]);
    let mut c = srv.conn();
    for _ in 0..2 {
        assert_eq!(
            c.cmd_str(&["MODULE", "LOAD", "/nonexistent/module.so"]),
            "-ERR Error loading the extension. Please check the server logs.\r\n"
        );
    }
    assert_eq!(c.cmd(&["MODULE", "LIST"]), b"*0\r\n");
}

/// A child process killed when the test ends, also on a failed assertion.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config_get(c: &mut common::RawConn, name: &str) -> String {
    let r = c.cmd_str(&["CONFIG", "GET", name]);
    r.split("\r\n").nth(4).unwrap_or_default().to_string()
}

#[test]
fn container_defaults() {
    // As the official image: protected mode off, `redis-server` as the
    // command name accepted, arguments passed through.
    let dir = common::temp_dir("container");
    let port = common::free_port();
    let mut child = KillOnDrop(
        Command::new(BIN)
            .args([
                "redis-server",
                "--port",
                &port.to_string(),
                "--maxmemory",
                "100mb",
            ])
            .arg("--dir")
            .arg(&dir)
            .env("FERROKV_CONTAINER", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(common::poll_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }));
    let mut c = common::RawConn::connect(port);
    assert_eq!(config_get(&mut c, "protected-mode"), "no");
    assert_eq!(config_get(&mut c, "maxmemory"), "104857600");
    // The health check finds the server by its listening socket (here
    // given explicitly: the test is not process 1).
    let out = Command::new(BIN)
        .args(["--check-ping", &format!("127.0.0.1:{}", port)])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PONG\n");
    let out = Command::new(BIN)
        .args(["--check-ping", &port.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let _ = child.0.kill();
    let _ = child.0.wait();
    // Nothing listens any more: the check fails.
    let out = Command::new(BIN)
        .args(["--check-ping", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);

    // Without FERROKV_CONTAINER, Redis's defaults: protected mode on.
    let srv = common::Server::start(&[]);
    assert_eq!(config_get(&mut srv.conn(), "protected-mode"), "yes");
}

#[test]
fn check_ping_over_unix_socket() {
    let dir = common::temp_dir("check-ping-unix");
    let sock = dir.join("s.sock");
    let sock_s = sock.display().to_string();
    let srv = common::Server::start(&["--unixsocket", &sock_s]);
    let out = Command::new(BIN)
        .args(["--check-ping", &sock_s])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PONG\n");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_ping_accepts_noauth() {
    let srv = common::Server::start(&["--requirepass", "secret"]);
    let out = Command::new(BIN)
        .args(["--check-ping", &srv.addr()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("-NOAUTH"));
}

/// Debian's own redis-server.service with ferrokv as ExecStart: its
/// command line (`/etc/redis/redis.conf --supervised systemd --daemonize
/// no`, Debian's redis.conf with `daemonize yes`, a pidfile and a
/// logfile) reaches READY=1 in the started process, with the pid file
/// written for the unit's PIDFile=. Paths are moved to a temp dir.
#[test]
fn debian_unit_command_line_reaches_ready() {
    let unit = "/lib/systemd/system/redis-server.service";
    let Ok(text) = std::fs::read_to_string(unit) else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED debian_unit_command_line_reaches_ready: {} is missing (install redis-server)\n",
            unit
        );
        return;
    };
    let exec = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    assert!(text.contains("Type=notify"));
    let mut args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    assert_eq!(args.first(), Some(&"/etc/redis/redis.conf"), "{}", exec);
    let ns = NotifySocket::new(true, "debian");
    let dir = common::temp_dir("debian-unit");
    let pidfile = dir.join("redis-server.pid");
    let logfile = dir.join("redis-server.log");
    let (pidfile_s, logfile_s) = (pidfile.display().to_string(), logfile.display().to_string());
    args.extend(["--pidfile", &pidfile_s, "--logfile", &logfile_s]);
    let mut p = spawn(BIN, Some(&ns.name), &args);
    assert_eq!(
        ns.recv_until("READY=1\n").last().map(|s| s.as_str()),
        Some("READY=1\n"),
        "{}",
        std::fs::read_to_string(&logfile).unwrap_or_default()
    );
    assert!(
        matches!(p.child.try_wait(), Ok(None)),
        "the started process must be the server"
    );
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap().trim(),
        p.child.id().to_string()
    );
    assert_eq!(p.info_field("process_supervised"), "systemd");
    p.signal(libc::SIGTERM);
    assert_eq!(
        ns.recv_until("STOPPING=1\n").last().map(|s| s.as_str()),
        Some("STOPPING=1\n")
    );
    assert_eq!(p.wait_exit(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
