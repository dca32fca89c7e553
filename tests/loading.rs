//! The startup load serves clients, as Redis's does between chunks of the
//! RDB file (processEventsWhileBlocked): INFO says loading:1 with the
//! progress fields, commands without the `loading` flag get -LOADING,
//! CONFIG SET works except for the directives denied while loading, and a
//! SIGTERM ends the server without waiting for the load to finish.

use crate::common;

use common::{poll_until, RawConn, Server};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_ferrokv-server");

/// Writes an RDB of 20000 keys into `dir`.
fn make_rdb(dir: &str) {
    let s = Server::start(&["--dir", dir, "--enable-debug-command", "yes"]);
    let mut c = s.conn();
    assert_eq!(
        c.cmd_str(&["DEBUG", "POPULATE", "20000", "key", "100"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd_str(&["SAVE"]), "+OK\r\n");
}

/// Starts ferrokv on that RDB with `key-load-delay` µs per key, returning
/// as soon as it accepts connections (Server::start would wait for the
/// load to end).
fn start_loading(dir: &str, delay: &str, log: &std::path::Path) -> (Child, u16) {
    let port = common::free_port();
    let child = Command::new(BIN)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            dir,
        ])
        .args(["--save", "", "--logfile"])
        .arg(log)
        .args(["--key-load-delay", delay])
        .args(["--loading-process-events-interval-bytes", "1024"])
        .args(["--enable-protected-configs", "yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(poll_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }));
    (child, port)
}

#[test]
fn clients_are_served_while_loading() {
    let dir = common::temp_dir("loading");
    let d = dir.to_str().unwrap().to_string();
    make_rdb(&d);
    // 20000 keys at 200 µs each: about four seconds of loading.
    let (mut child, port) = start_loading(&d, "200", &dir.join("log"));
    let mut c = RawConn::connect(port);
    let info = c.cmd_str(&["INFO", "persistence"]);
    assert!(info.contains("loading:1\r\n"), "{}", info);
    assert!(info.contains("loading_loaded_perc:"), "{}", info);
    assert_eq!(
        c.cmd_str(&["GET", "key:1"]),
        "-LOADING Redis is loading the dataset in memory\r\n"
    );
    assert_eq!(
        c.cmd_str(&["PING"]),
        "-LOADING Redis is loading the dataset in memory\r\n"
    );
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "loglevel", "debug"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "loglevel"]),
        "*2\r\n$8\r\nloglevel\r\n$5\r\ndebug\r\n"
    );
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "dir", "/tmp"]),
        "-LOADING Redis is loading the dataset in memory\r\n"
    );
    // Once loaded, everything is there.
    assert!(poll_until(Duration::from_secs(60), || {
        c.cmd_str(&["INFO", "persistence"])
            .contains("\r\nloading:0\r\n")
    }));
    assert_eq!(c.cmd_int(&["DBSIZE"]), 20000);
    assert!(c
        .cmd_str(&["GET", "key:1"])
        .starts_with("$100\r\nvalue:1\0"));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_during_loading_exits() {
    let dir = common::temp_dir("loading-term");
    let d = dir.to_str().unwrap().to_string();
    make_rdb(&d);
    let log = dir.join("log");
    let (mut child, port) = start_loading(&d, "1000", &log);
    let mut c = RawConn::connect(port);
    assert!(c
        .cmd_str(&["INFO", "persistence"])
        .contains("loading:1\r\n"));
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(
        poll_until(Duration::from_secs(10), || matches!(
            child.try_wait(),
            Ok(Some(_))
        )),
        "still running after SIGTERM during loading"
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        text.contains("Received shutdown signal during loading"),
        "{}",
        text
    );
    let _ = std::fs::remove_dir_all(&dir);
}
