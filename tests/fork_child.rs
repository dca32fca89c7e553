//! Forked children (BGSAVE, BGREWRITEAOF, full-sync snapshots) after the
//! parent dies: like Redis (closeChildUnusedResourceAfterFork) the child
//! holds no listening or client socket, so the port is free for a restart
//! at once, and it dies with its parent instead of saving on for seconds.
//! Its log lines carry its own pid and role 'C'.

use crate::common;

use common::{poll_until, RawConn, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_ferrokv-server");

/// Pids of the live (non-zombie) children of `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", pid)) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        if field("PPid:").as_deref() == Some(&parent.to_string())
            && !field("State:").unwrap_or_default().starts_with('Z')
        {
            out.push(pid);
        }
    }
    out
}

/// True once `pid` no longer runs (gone, or a zombie nobody reaped).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/status", pid)) {
        Err(_) => true,
        Ok(s) => s
            .lines()
            .find_map(|l| l.strip_prefix("State:"))
            .is_some_and(|v| v.trim().starts_with('Z')),
    }
}

/// A PING on `port` answered within a short time.
fn answers_ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

fn kill9(pid: u32) {
    let st = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -9 {} failed", pid);
}

/// Starts a slow child with `start_cmd` (10 ms per key, 1000 keys: ~10 s),
/// kills the parent with SIGKILL and checks that the child is gone and
/// that a new server starts on the same port well before the save could
/// have finished.
fn child_dies_with_parent(start_cmd: &[&str], extra: &[&str]) {
    let mut args = vec![
        "--enable-debug-command",
        "yes",
        "--rdb-key-save-delay",
        "10000",
    ];
    args.extend_from_slice(extra);
    let mut srv = Server::start(&args);
    let port = srv.port();
    let mut c = srv.conn();
    assert_eq!(c.cmd_str(&["DEBUG", "POPULATE", "1000"]), "+OK\r\n");
    // A client connected before the fork: the child must not keep its
    // socket open either (it would never see EOF otherwise).
    let mut idle: RawConn = srv.conn();
    assert_eq!(idle.cmd_str(&["PING"]), "+PONG\r\n");
    let r = c.cmd_str(start_cmd);
    assert!(r.starts_with('+'), "{:?}: {:?}", start_cmd, r);
    let parent = srv.pid();
    let mut kids = Vec::new();
    assert!(
        poll_until(Duration::from_secs(5), || {
            kids = children_of(parent);
            !kids.is_empty()
        }),
        "no forked child found for {:?}",
        start_cmd
    );
    kill9(parent);
    assert!(poll_until(Duration::from_secs(5), || !srv.is_running()));
    // The child dies with its parent...
    let child = kids[0];
    assert!(
        poll_until(Duration::from_secs(3), || process_gone(child)),
        "child {} still runs after its parent was killed",
        child
    );
    // ...and the client connected before the fork sees EOF.
    let (_, closed) = idle.read_until_eof(Duration::from_secs(3));
    assert!(closed, "client socket still open after the parent died");
    // The port is free: a new server starts on it and answers.
    let dir = common::temp_dir("restart");
    let log = std::fs::File::create(dir.join("log")).expect("log file");
    let mut restarted = Command::new(BIN)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--logfile", ""])
        .arg("--dir")
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().expect("clone log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn restart");
    let up = poll_until(Duration::from_secs(3), || answers_ping(port));
    let _ = restarted.kill();
    let _ = restarted.wait();
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(up, "restart on port {} failed:\n{}", port, log);
}

#[test]
fn bgsave_child_dies_with_parent_and_frees_the_port() {
    child_dies_with_parent(&["BGSAVE"], &[]);
}

#[test]
fn aof_rewrite_child_dies_with_parent_and_frees_the_port() {
    if common::ferrokv_only("a persistence child dies with its parent (PR_SET_PDEATHSIG); Redis 7.0 rewrite children outlive a killed parent") {
        return;
    }
    // An RDB preamble, so rdb-key-save-delay slows the rewrite too.
    child_dies_with_parent(&["BGREWRITEAOF"], &["--aof-use-rdb-preamble", "yes"]);
}

#[test]
fn child_logs_with_its_own_pid_and_role_c() {
    let srv = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = srv.conn();
    assert_eq!(c.cmd_str(&["DEBUG", "POPULATE", "10"]), "+OK\r\n");
    assert!(c.cmd_str(&["BGSAVE"]).starts_with('+'));
    let mut log = String::new();
    assert!(
        poll_until(Duration::from_secs(10), || {
            log = srv.log();
            log.contains("Background saving terminated")
        }),
        "BGSAVE did not finish:\n{}",
        log
    );
    let child: u32 = log
        .lines()
        .find_map(|l| l.split("Background saving started by pid ").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no child pid in the log:\n{}", log));
    let parent = srv.pid();
    let saved = log
        .lines()
        .find(|l| l.contains("DB saved on disk"))
        .unwrap_or_else(|| panic!("no 'DB saved on disk' line:\n{}", log));
    assert!(
        saved.starts_with(&format!("{}:C ", child)),
        "child line {:?} (child {}, parent {})",
        saved,
        child,
        parent
    );
    let done = log
        .lines()
        .find(|l| l.contains("Background saving terminated"))
        .unwrap_or_default();
    assert!(done.starts_with(&format!("{}:M ", parent)), "{:?}", done);
}

/// The save child reports its progress and copy-on-write size while it
/// runs (INFO current_save_keys_*, current_fork_perc, current_cow_size) and
/// its final copy-on-write size after (rdb_last_cow_size), as the rdb unit's
/// "Test child sending info" checks.
#[test]
fn save_child_reports_progress_and_cow() {
    let srv = Server::start(&[
        "--enable-debug-command",
        "yes",
        "--rdb-key-save-delay",
        "200",
    ]);
    let mut c = srv.conn();
    assert_eq!(
        c.cmd_str(&["DEBUG", "POPULATE", "10000", "key", "500"]),
        "+OK\r\n"
    );
    let field = |c: &mut common::RawConn, name: &str| -> String {
        let info = c.cmd_str(&["INFO", "persistence"]);
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(field(&mut c, "current_save_keys_total"), "0");
    assert!(c
        .cmd_str(&["BGSAVE"])
        .starts_with("+Background saving started"));
    assert_eq!(field(&mut c, "current_save_keys_total"), "10000");
    let mut i = 0;
    let reported = common::poll_until(std::time::Duration::from_secs(20), || {
        // Writes make the parent's pages diverge from the child's.
        for _ in 0..16 {
            c.cmd(&["SETRANGE", &format!("key:{i}"), "0", &"B".repeat(500)]);
            i += 1;
        }
        field(&mut c, "rdb_bgsave_in_progress") == "1"
            && field(&mut c, "current_save_keys_processed")
                .parse::<u64>()
                .unwrap_or(0)
                > 0
            && field(&mut c, "current_fork_perc") != "0.00"
            && field(&mut c, "current_cow_size")
                .parse::<u64>()
                .unwrap_or(0)
                > 0
    });
    assert!(reported, "{}", c.cmd_str(&["INFO", "persistence"]));
    c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    assert!(common::poll_until(
        std::time::Duration::from_secs(30),
        || { field(&mut c, "rdb_bgsave_in_progress") == "0" }
    ));
    assert!(
        field(&mut c, "rdb_last_cow_size")
            .parse::<u64>()
            .unwrap_or(0)
            > 0
    );
    assert_eq!(field(&mut c, "current_save_keys_processed"), "0");
}
