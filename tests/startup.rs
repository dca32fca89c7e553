//! Startup behaviour that tools and harnesses rely on: the log lines they
//! parse, config errors naming file/line/directive with exit code 1, and
//! `Failed listening on port` when the port is taken.

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_ferrokv-server");

#[test]
fn bad_directive_names_file_line_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("ferrokv-startup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("bad.conf");
    let mut f = std::fs::File::create(&conf).unwrap();
    writeln!(f, "# comment\nport 7000\nno-such-directive yes").unwrap();
    let out = Command::new(BIN).arg(&conf).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.conf"), "{}", err);
    assert!(err.contains("line 3"), "{}", err);
    assert!(err.contains("no-such-directive"), "{}", err);

    let out = Command::new(BIN)
        .args(["--maxclients", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("maxclients"));
}

#[test]
fn banner_ready_line_and_port_in_use() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    // Port taken: Redis's wording, exit code 1.
    let out = Command::new(BIN)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains(&format!(
            "Failed listening on port {} (TCP), aborting.",
            port
        )),
        "{}",
        log
    );
    assert!(
        log.contains(&format!(
            "Warning: Could not create server TCP listening socket 127.0.0.1:{port}: bind: Address already in use"
        )),
        "{log}"
    );
    drop(holder);

    // Free port: banner with PID and the ready line, on stdout (logfile "").
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let mut child = Command::new(BIN)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let mut seen_pid = false;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        assert!(std::time::Instant::now() < deadline, "no ready line");
        let Some(Ok(line)) = lines.next() else {
            panic!("server exited")
        };
        if line.contains(&format!(" PID: {}", pid)) {
            seen_pid = true;
        }
        if line.contains("Ready to accept connections") {
            break;
        }
    }
    assert!(seen_pid, "banner with PID missing");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"SHUTDOWN NOSAVE\r\n").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn unix_socket_serves_and_is_removed_on_shutdown() {
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    let path = std::env::temp_dir().join(format!("ferrokv-test-{}.sock", std::process::id()));
    let p = path.to_string_lossy().into_owned();
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--unixsocket", &p, "--unixsocketperm", "700"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut s = loop {
        if let Ok(s) = UnixStream::connect(&path) {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "unix socket never appeared"
        );
        std::thread::yield_now();
    };
    // The mode is applied right after bind (as Redis does): poll for it.
    use std::os::unix::fs::PermissionsExt;
    let mode = || {
        std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    };
    while mode() != 0o700 {
        assert!(std::time::Instant::now() < deadline, "mode {:o}", mode());
        std::thread::yield_now();
    }
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    s.write_all(b"PING\r\nCLIENT INFO\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(b"\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("+PONG\r\n"), "{}", text);
    assert!(text.contains(&format!("addr={}:0", p)), "{}", text);
    assert!(text.contains("flags=U"), "{}", text);
    s.write_all(b"SHUTDOWN NOSAVE\r\n").unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(!path.exists(), "socket file left behind");
}

#[test]
fn unresolvable_bind_address_and_duplicate_user_are_fatal() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    drop(holder);
    let out = Command::new(BIN)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "999.999.999.999",
            "--save",
            "",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains(&format!(
            "Could not create server TCP listening socket 999.999.999.999:{port}: "
        )) && log.contains("(TCP), aborting."),
        "{log}"
    );
    let out = Command::new(BIN)
        .args(["--port", "0", "--user", "foo", "--user", "foo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Error in user declaration 'foo': Duplicate user found."),
        "{err}"
    );
}

/// CONFIG SET port/bind reopen the listening sockets (changeListenPort /
/// changeBindAddr); a port in use or a bad address is refused with Redis's
/// error and the old sockets keep serving.
#[test]
fn config_set_port_and_bind_rebind() {
    let srv = common::Server::start(&["--bind", "127.0.0.1"]);
    let mut c = srv.conn();
    let new_port = common::free_port();
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "port", &new_port.to_string()]),
        "+OK\r\n"
    );
    // The old connection stays; new ones go to the new port only.
    let mut c2 = common::RawConn::connect(new_port);
    assert_eq!(c2.cmd_str(&["PING"]), "+PONG\r\n");
    assert!(std::net::TcpStream::connect(("127.0.0.1", srv.port())).is_err());
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap().port().to_string();
    assert_eq!(
        c2.cmd_str(&["CONFIG", "SET", "port", &taken]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
    );
    assert_eq!(
        c2.cmd_str(&["CONFIG", "SET", "bind", "999.999.999.999"]),
        "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n"
    );
    assert_eq!(
        c2.cmd_str(&["CONFIG", "GET", "bind"]),
        "*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n"
    );
    let mut c3 = common::RawConn::connect(new_port);
    assert_eq!(c3.cmd_str(&["PING"]), "+PONG\r\n");
    let info = c3.cmd_str(&["INFO", "server"]);
    assert!(info.contains(&format!("tcp_port:{new_port}")), "{info}");
    drop(holder);
    c3.send(&[b"SHUTDOWN", b"NOSAVE"]);
}

/// A config file named by a relative path whose `dir` moves the server
/// elsewhere still takes CONFIG REWRITE (the path is made absolute before
/// the file is read, as Redis's getAbsolutePath).
#[test]
fn config_rewrite_with_relative_path_and_dir() {
    let base = common::temp_dir("relconf");
    let data = base.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        base.join("r.conf"),
        format!("dir {}\nsave \"\"\n", data.display()),
    )
    .unwrap();
    let port = common::free_port();
    let mut child = Command::new(BIN)
        .current_dir(&base)
        .args(["r.conf", "--port", &port.to_string(), "--bind", "127.0.0.1"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    common::poll_until(std::time::Duration::from_secs(10), || {
        up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        up
    });
    assert!(up, "server did not start");
    let mut c = common::RawConn::connect(port);
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "maxmemory-samples", "7"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd_str(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(base.join("r.conf")).unwrap();
    assert!(text.contains("maxmemory-samples 7"), "{text}");
    c.send(&[b"SHUTDOWN", b"NOSAVE"]);
    child.wait().unwrap();
}

/// oom-score-adj writes /proc/<pid>/oom_score_adj for the server's class
/// (relative to the score it started with) and restores it when disabled.
#[test]
fn oom_score_adj_follows_config_and_role() {
    let srv = common::Server::start(&[]);
    let path = format!("/proc/{}/oom_score_adj", srv.pid());
    let score = || -> i32 {
        std::fs::read_to_string(&path)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let base = score();
    let mut c = srv.conn();
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "oom-score-adj-values", "10 20 30"]),
        "+OK\r\n"
    );
    assert_eq!(score(), base);
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "oom-score-adj", "yes"]),
        "+OK\r\n"
    );
    assert_eq!(score(), base + 10);
    c.cmd(&["CONFIG", "SET", "oom-score-adj-values", "15 20 30"]);
    assert_eq!(score(), base + 15);
    c.cmd(&["REPLICAOF", "localhost", "1"]);
    assert_eq!(score(), base + 20);
    c.cmd(&["REPLICAOF", "NO", "ONE"]);
    assert_eq!(score(), base + 15);
    c.cmd(&["CONFIG", "SET", "oom-score-adj", "absolute"]);
    assert_eq!(score(), 15);
    c.cmd(&["CONFIG", "SET", "oom-score-adj", "no"]);
    assert_eq!(score(), base);
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "oom-score-adj-values", "-2001 -2001 -2001"]),
        "-ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - Invalid oom-score-adj-values, elements must be between -2000 and 2000.\r\n"
    );
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "oom-score-adj-values", "1 2"]),
        "-ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - wrong number of arguments\r\n"
    );
}

/// `save` lines accumulate across the config file and the command line
/// (the first one replaces the built-in default), as in Redis; `save ""`
/// clears. Checked against real redis-server.
#[test]
fn save_directives_accumulate_across_file_and_command_line() {
    let dir = std::env::temp_dir().join(format!("ferrokv-startup-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("save.conf");
    std::fs::write(&conf, "save 900 1\n").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--save", "100", "100"], "900 1 100 100"),
        (&["--save", ""], ""),
        (&[], "900 1"),
    ];
    for (args, want) in cases {
        for bin in [BIN, common::REDIS_SERVER] {
            let port = common::free_port();
            let mut child = Command::new(bin)
                .arg(&conf)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--dir", dir.to_str().unwrap()])
                .args(*args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let up = common::poll_until(std::time::Duration::from_secs(10), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            assert!(up, "{} did not start", bin);
            let got = common::RawConn::connect(port).cmd_str(&["CONFIG", "GET", "save"]);
            let _ = child.kill();
            let _ = child.wait();
            let expect = format!("*2\r\n$4\r\nsave\r\n${}\r\n{}\r\n", want.len(), want);
            assert_eq!(got, expect, "{} {:?}", bin, args);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A config file given by a relative path whose `dir` moves the working
/// directory is still the file CONFIG REWRITE writes (Redis resolves the
/// path before loading).
#[test]
fn relative_config_path_survives_dir_directive() {
    let base = std::env::temp_dir().join(format!("ferrokv-startup-rel-{}", std::process::id()));
    let data = base.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let port = common::free_port();
    std::fs::write(
        base.join("rel.conf"),
        format!("port {}\nbind 127.0.0.1\ndir {}\n", port, data.display()),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .arg("./rel.conf")
        .current_dir(&base)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let up = common::poll_until(std::time::Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up);
    let mut c = common::RawConn::connect(port);
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "maxmemory", "12345"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd_str(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(base.join("rel.conf")).unwrap();
    assert!(text.contains("maxmemory 12345"), "{}", text);
    let _ = std::fs::remove_dir_all(&base);
}

/// The config line and reason a bad command line is rejected with, as
/// redis-server prints them (options are quoted values after their name).
fn cmdline_error(bin: &str, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{} {:?}", bin, args);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mut lines = text.lines().skip_while(|l| !l.starts_with(">>>"));
    format!(
        "{}\n{}",
        lines.next().unwrap_or(""),
        lines.next().unwrap_or("")
    )
}

#[test]
fn command_line_errors_match_redis() {
    let cases: &[&[&str]] = &[
        &["--port"],
        &["--port", "6380", "--loglevel"],
        &["--port", "6379", "6380"],
        &["--port", "--loglevel", "verbose"],
        &["--port", "--bla", "--loglevel", "verbose"],
        &["--logfile", "--my--log--file", "--loglevel", "--bla"],
        &["--shutdown-on-sigint"],
        &["--shutdown-on-sigint", "now force", "--shutdown-on-sigterm"],
        &["--shutdown-on-sigint", "save nosave"],
        &["--replicaof", "127.0.0.1", "abc"],
        &["--replicaof", "--127.0.0.1", "abc"],
        &["--replicaof", "--127.0.0.1", "--abc"],
    ];
    for args in cases {
        assert_eq!(
            cmdline_error(BIN, args),
            cmdline_error(common::REDIS_SERVER, args),
            "{:?}",
            args
        );
    }
}

/// Starts `bin` with `args`, returns CONFIG GET of `names`, stops it.
fn config_after_start(bin: &str, args: &[&str], names: &[&str]) -> Vec<String> {
    let port = common::free_port();
    let dir = std::env::temp_dir().join(format!(
        "ferrokv-startup-args-{}-{}",
        std::process::id(),
        port
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
        .arg(&dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let up = common::poll_until(std::time::Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "{} {:?} did not start", bin, args);
    let mut c = common::RawConn::connect(port);
    let v = names
        .iter()
        .map(|n| c.cmd_str(&["CONFIG", "GET", n]))
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    v
}

/// Command-line forms Redis accepts: name and value in one argument,
/// values starting with `--`, `--save` without a value, MULTI_ARG values
/// as several arguments or one.
#[test]
fn command_line_forms_match_redis() {
    let names = &[
        "maxmemory",
        "maxmemory-policy",
        "loglevel",
        "save",
        "proc-title-template",
    ];
    let cases: &[&[&str]] = &[
        &["--maxmemory 700mb", "--maxmemory-policy volatile-lru"],
        &["--maxmemory '700mb'", "--maxmemory-policy 'volatile-lru'"],
        &[
            "--proc-title-template",
            "--my--title--template",
            "--loglevel",
            "verbose",
        ],
        &[
            "--proc-title-template --my--title--template",
            "--loglevel verbose",
        ],
        &["--save", "--loglevel", "verbose"],
        &["--loglevel", "verbose", "--save"],
        &[
            "--proc-title-template",
            "--save",
            "--save",
            "",
            "--loglevel",
            "verbose",
        ],
    ];
    for args in cases {
        assert_eq!(
            config_after_start(BIN, args, names),
            config_after_start(common::REDIS_SERVER, args, names),
            "{:?}",
            args
        );
    }
    let sig = &["shutdown-on-sigint", "shutdown-on-sigterm"];
    let args: &[&str] = &[
        "--shutdown-on-sigint",
        "nosave",
        "force",
        "now",
        "--shutdown-on-sigterm",
        "nosave force",
    ];
    assert_eq!(
        config_after_start(BIN, args, sig),
        config_after_start(common::REDIS_SERVER, args, sig)
    );
}

/// `rename-command`: the old name is gone, the new one works, an empty
/// new name disables the command; an unknown command is a config error.
#[test]
fn rename_command_matches_redis() {
    let args = &[
        "--rename-command",
        "flushdb",
        "badger",
        "--rename-command",
        "debug",
        "",
    ];
    let ours = common::Server::start(args);
    let theirs = common::RealRedis::start_with(args);
    let (mut f, mut r) = (ours.conn(), theirs.conn());
    for cmd in [
        &["FLUSHDB"][..],
        &["badger"],
        &["BADGER"],
        &["DEBUG", "HELP"],
        &["PING"],
    ] {
        common::assert_reply(&f.cmd(cmd), &r.cmd(cmd));
    }
    assert_eq!(
        cmdline_error(BIN, &["--rename-command", "nosuch", "x"]),
        cmdline_error(common::REDIS_SERVER, &["--rename-command", "nosuch", "x"])
    );
}

/// replicaof through CONFIG REWRITE and back: `replicaof <host> <port>`
/// while there is a master, no line at all without one; both reload.
#[test]
fn replicaof_survives_config_rewrite() {
    let base = std::env::temp_dir().join(format!("ferrokv-startup-replof-{}", std::process::id()));
    std::fs::create_dir_all(&base).unwrap();
    let conf = base.join("r.conf");
    let start = |port: u16| {
        let child = Command::new(BIN)
            .arg(&conf)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--dir", base.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let up = common::poll_until(std::time::Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(
            up,
            "did not start with:\n{}",
            std::fs::read_to_string(&conf).unwrap()
        );
        child
    };
    // The single-argument form is split, as for any MULTI_ARG directive.
    std::fs::write(&conf, "replicaof \"127.0.0.1 1\"\n").unwrap();
    let port = common::free_port();
    let mut child = start(port);
    let mut c = common::RawConn::connect(port);
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "replicaof"]),
        "*2\r\n$9\r\nreplicaof\r\n$11\r\n127.0.0.1 1\r\n"
    );
    assert_eq!(c.cmd_str(&["CONFIG", "REWRITE"]), "+OK\r\n");
    assert!(std::fs::read_to_string(&conf)
        .unwrap()
        .contains("replicaof 127.0.0.1 1\n"));
    assert_eq!(c.cmd_str(&["REPLICAOF", "NO", "ONE"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(!text.contains("replicaof"), "{}", text);
    let port = common::free_port();
    let mut child = start(port);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&base);
}

/// The process title (unit/other "Process title set as expected"):
/// /proc/<pid>/cmdline shows the expanded proc-title-template, set at
/// startup and on CONFIG SET; a template with an unknown variable is
/// refused with Redis's reason.
#[test]
fn process_title_follows_the_template() {
    let srv = common::Server::start(&[]);
    let cmdline = || {
        let raw = std::fs::read(format!("/proc/{}/cmdline", srv.pid())).expect("cmdline");
        String::from_utf8_lossy(&raw)
            .trim_end_matches('\0')
            .to_string()
    };
    let port = srv.port();
    let start = cmdline();
    // The binary's own name ({title}): redis-server under FERROKV_TEST_REDIS.
    let bin = if std::env::var_os("FERROKV_TEST_REDIS").is_some() {
        "redis-server"
    } else {
        "ferrokv-server"
    };
    assert!(
        start.ends_with(&format!("/{bin} 127.0.0.1:{port}"))
            || start.ends_with(&format!("{bin} *:{port}")),
        "{start:?}"
    );
    let mut c = srv.conn();
    assert_eq!(
        c.cmd_str(&[
            "CONFIG",
            "SET",
            "proc-title-template",
            "TEST {title} {listen-addr} {port} {tls-port} {config-file}"
        ]),
        "+OK\r\n"
    );
    let words: Vec<String> = cmdline().split(' ').map(str::to_string).collect();
    assert_eq!(words[0], "TEST");
    assert!(words[1].ends_with(bin), "{words:?}");
    assert!(words[2].ends_with(&format!(":{port}")), "{words:?}");
    assert_eq!(words[3], port.to_string());
    assert_eq!(words[4], "0");
    assert_eq!(words[5], "-");
    let bad = c.cmd_str(&["CONFIG", "SET", "proc-title-template", "{invalid-var}"]);
    assert!(bad.contains("template format is invalid"), "{bad}");
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
}

/// `--port 0` without a unix socket: Redis's "Configured to not listen
/// anywhere, exiting." and exit status 1.
#[test]
fn port_zero_without_unixsocket_exits() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--port", "0", "--save", ""])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run ferrokv-server");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("Configured to not listen anywhere, exiting."));
}
