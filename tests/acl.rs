//! ACL integration tests: users made with ACL SETUSER, AUTH/HELLO with a
//! username (raw protocol, the redis crate, redis-py), NOPERM for commands,
//! keys and channels, scripts and MULTI, ACL LOG, ACL SAVE + restart with
//! an aclfile, `user` directives, requirepass and killing a deleted user's
//! clients.

use crate::common;

use common::{poll_until, temp_dir, Server};
use std::time::Duration;

#[test]
fn auth_with_username_and_noperm() {
    let srv = Server::start(&[]);
    let mut admin = srv.conn();
    assert_eq!(
        admin.cmd_str(&[
            "ACL",
            "SETUSER",
            "alice",
            "on",
            ">p1",
            "~app:*",
            "%R~ro:*",
            "&news.*",
            "-@all",
            "+@string",
            "+@pubsub",
            "+acl|whoami",
            "-incr",
        ]),
        "+OK\r\n"
    );
    let mut c = srv.conn();
    assert_eq!(
        c.cmd_str(&["AUTH", "alice", "bad"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        c.cmd_str(&["AUTH", "nobody", "p1"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(c.cmd_str(&["AUTH", "alice", "p1"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["ACL", "WHOAMI"]), "$5\r\nalice\r\n");
    assert_eq!(c.cmd_str(&["SET", "app:1", "v"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "app:1"]), "$1\r\nv\r\n");
    assert_eq!(
        c.cmd_str(&["INCR", "app:n"]),
        "-NOPERM this user has no permissions to run the 'incr' command\r\n"
    );
    assert_eq!(
        c.cmd_str(&["HSET", "app:h", "f", "v"]),
        "-NOPERM this user has no permissions to run the 'hset' command\r\n"
    );
    assert_eq!(
        c.cmd_str(&["GET", "other"]),
        "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    );
    // %R~ allows reading but not writing.
    assert_eq!(c.cmd_str(&["GET", "ro:1"]), "$-1\r\n");
    assert_eq!(
        c.cmd_str(&["SET", "ro:1", "x"]),
        "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    );
    assert_eq!(
        c.cmd_str(&["MSET", "app:2", "a", "zzz", "b"]),
        "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    );
    assert_eq!(c.cmd_str(&["PUBLISH", "news.today", "m"]), ":0\r\n");
    assert_eq!(
        c.cmd_str(&["PUBLISH", "sports", "m"]),
        "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n"
    );
    assert_eq!(
        c.cmd_str(&["PSUBSCRIBE", "news.t*"]),
        "-NOPERM this user has no permissions to access one of the channels used as arguments\r\n"
    );
    assert_eq!(
        c.cmd_str(&["ACL", "LIST"]),
        "-NOPERM this user has no permissions to run the 'acl|list' command\r\n"
    );

    // ACL LOG: newest first, fields as Redis 7.0 prints them.
    let log = admin.cmd_str(&["ACL", "LOG", "1"]);
    assert!(log.starts_with("*1\r\n*14\r\n$5\r\ncount\r\n:1\r\n$6\r\nreason\r\n$7\r\ncommand\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$8\r\nacl|list\r\n$8\r\nusername\r\n$5\r\nalice\r\n$11\r\nage-seconds\r\n"), "{}", log);
    assert!(log.contains(" cmd=acl|list user=alice "), "{}", log);
    let log = admin.cmd_str(&["ACL", "LOG"]);
    assert!(log.contains("$4\r\nauth\r\n$7\r\ncontext\r\n$8\r\ntoplevel\r\n$6\r\nobject\r\n$4\r\nAUTH\r\n$8\r\nusername\r\n$6\r\nnobody\r\n"), "{}", log);
    assert!(log.contains("$7\r\nchannel\r\n"), "{}", log);
    assert!(log.contains("$3\r\nkey\r\n"), "{}", log);
    assert_eq!(admin.cmd_str(&["ACL", "LOG", "RESET"]), "+OK\r\n");
    assert_eq!(admin.cmd_str(&["ACL", "LOG"]), "*0\r\n");

    // CLIENT LIST shows the user.
    let list = admin.cmd_str(&["CLIENT", "LIST"]);
    assert!(list.contains(" user=alice "), "{}", list);
    assert!(list.contains(" user=default "), "{}", list);
    srv.assert_no_panic();
}

#[test]
fn multi_and_scripts_are_checked() {
    let srv = Server::start(&[]);
    let mut admin = srv.conn();
    admin.cmd(&[
        "ACL",
        "SETUSER",
        "bob",
        "on",
        ">pw",
        "~k*",
        "+@all",
        "-set",
        "-@dangerous",
    ]);
    let mut c = srv.conn();
    assert_eq!(c.cmd_str(&["AUTH", "bob", "pw"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["MULTI"]), "+OK\r\n");
    assert_eq!(
        c.cmd_str(&["SET", "k1", "v"]),
        "-NOPERM this user has no permissions to run the 'set' command\r\n"
    );
    assert_eq!(c.cmd_str(&["GET", "k1"]), "+QUEUED\r\n");
    assert_eq!(
        c.cmd_str(&["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    let log = admin.cmd_str(&["ACL", "LOG", "1"]);
    assert!(log.contains("$5\r\nmulti\r\n"), "{}", log);

    // EXEC re-checks: rules changed after queueing.
    assert_eq!(c.cmd_str(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k1"]), "+QUEUED\r\n");
    assert_eq!(c.cmd_str(&["PING"]), "+QUEUED\r\n");
    admin.cmd(&["ACL", "SETUSER", "bob", "-get"]);
    assert_eq!(
        c.cmd_str(&["EXEC"]),
        "*2\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n+PONG\r\n"
    );
    admin.cmd(&["ACL", "SETUSER", "bob", "+get"]);

    admin.cmd(&["SET", "k1", "v1"]);
    admin.cmd(&["SET", "x", "v2"]);
    assert_eq!(
        c.cmd_str(&["EVAL", "return redis.call('get', KEYS[1])", "1", "k1"]),
        "$2\r\nv1\r\n"
    );
    // The key named in EVAL's KEYS is checked before the script runs.
    assert_eq!(
        c.cmd_str(&["EVAL", "return 1", "1", "x"]),
        "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    );
    // Inside the script, against the calling user.
    let r = c.cmd_str(&["EVAL", "return redis.call('get', 'x')", "0"]);
    assert!(
        r.starts_with("-ERR The user executing the script can't access at least one of the keys mentioned in the command"),
        "{}",
        r
    );
    let r = c.cmd_str(&["EVAL", "return redis.call('set', 'k1', 'z')", "0"]);
    assert!(
        r.starts_with("-ERR The user executing the script can't run this command or subcommand"),
        "{}",
        r
    );
    let log = admin.cmd_str(&["ACL", "LOG", "1"]);
    assert!(log.contains("$3\r\nlua\r\n"), "{}", log);
    // client-info describes the client that ran the script.
    assert!(log.contains(" cmd=eval user=bob "), "{}", log);
    assert_eq!(admin.cmd_str(&["GET", "k1"]), "$2\r\nv1\r\n");
    srv.assert_no_panic();
}

#[test]
fn deluser_and_client_kill_user_close_connections() {
    let srv = Server::start(&[]);
    let mut admin = srv.conn();
    admin.cmd(&["ACL", "SETUSER", "carol", "on", "nopass", "+@all", "~*"]);
    let mut a = srv.conn();
    let mut b = srv.conn();
    assert_eq!(a.cmd_str(&["AUTH", "carol", "anything"]), "+OK\r\n");
    assert_eq!(b.cmd_str(&["AUTH", "carol", "x"]), "+OK\r\n");
    assert_eq!(admin.cmd_int(&["CLIENT", "KILL", "USER", "carol"]), 2);
    let (_, closed) = a.read_until_eof(Duration::from_secs(5));
    assert!(closed);

    let mut d = srv.conn();
    assert_eq!(d.cmd_str(&["AUTH", "carol", "x"]), "+OK\r\n");
    assert_eq!(
        admin.cmd_str(&["CLIENT", "KILL", "USER", "nobody"]),
        "-ERR No such user 'nobody'\r\n"
    );
    assert_eq!(admin.cmd_int(&["ACL", "DELUSER", "carol", "nosuch"]), 1);
    let (_, closed) = d.read_until_eof(Duration::from_secs(5));
    assert!(closed);
    assert_eq!(
        admin.cmd_str(&["ACL", "DELUSER", "default"]),
        "-ERR The 'default' user cannot be removed\r\n"
    );
    assert_eq!(admin.cmd_str(&["ACL", "USERS"]), "*1\r\n$7\r\ndefault\r\n");
    assert!(poll_until(Duration::from_secs(5), || {
        let l = admin.cmd_str(&["CLIENT", "LIST"]);
        !l.contains("user=carol")
    }));
    srv.assert_no_panic();
}

#[test]
fn requirepass_sets_the_default_password() {
    let srv = Server::start(&["--requirepass", "s3cret"]);
    let mut c = srv.conn();
    assert!(c.cmd_str(&["GET", "a"]).starts_with("-NOAUTH"));
    assert_eq!(
        c.cmd_str(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(c.cmd_str(&["AUTH", "default", "s3cret"]), "+OK\r\n");
    let list = c.cmd_str(&["ACL", "LIST"]);
    let hash = "ab9b3b6ef3e1e4d5c16b2e5a0ec2a9f7dc9b90ff0e5b28cbb9c8a3fd1e6e1d8b";
    let _ = hash;
    assert!(list.starts_with("*1\r\n$"), "{}", list);
    assert!(list.contains("user default on #"), "{}", list);
    assert!(list.ends_with(" ~* &* +@all\r\n"), "{}", list);
    assert_eq!(c.cmd_str(&["CONFIG", "SET", "requirepass", ""]), "+OK\r\n");
    assert_eq!(
        c.cmd_str(&["ACL", "LIST"]),
        "*1\r\n$34\r\nuser default on nopass ~* &* +@all\r\n"
    );
    let mut fresh = srv.conn();
    assert_eq!(fresh.cmd_str(&["PING"]), "+PONG\r\n");
    assert_eq!(
        fresh.cmd_str(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    // A disabled default user makes new connections authenticate.
    assert_eq!(c.cmd_str(&["ACL", "SETUSER", "default", "off"]), "+OK\r\n");
    let mut fresh = srv.conn();
    assert!(fresh.cmd_str(&["PING"]).starts_with("-NOAUTH"));
    srv.assert_no_panic();
}

#[test]
fn user_directive_and_hello_auth() {
    let srv = Server::start(&[
        "--user", "dave", "on", ">pw", "~*", "&*", "+@all", "--user", "default", "on", "nopass",
        "~*", "+@all",
    ]);
    let mut c = srv.conn();
    assert_eq!(
        c.cmd_str(&["HELLO", "3", "AUTH", "dave", "nope"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    let r = c.cmd_str(&["HELLO", "3", "AUTH", "dave", "pw"]);
    assert!(r.starts_with("%7\r\n"), "{}", r);
    assert_eq!(c.cmd_str(&["ACL", "WHOAMI"]), "$4\r\ndave\r\n");
    let users = c.cmd_str(&["ACL", "LIST"]);
    assert!(users.contains("user dave on #"), "{}", users);
    assert!(
        users.contains("user default on nopass sanitize-payload ~* resetchannels +@all"),
        "{}",
        users
    );
    // RESET goes back to the default user.
    assert_eq!(c.cmd_str(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmd_str(&["ACL", "WHOAMI"]), "$7\r\ndefault\r\n");
    srv.assert_no_panic();
}

#[test]
fn aclfile_save_and_restart() {
    let dir = temp_dir("aclfile");
    let file = dir.join("users.acl");
    std::fs::write(&file, "user default on nopass ~* &* +@all\n").unwrap();
    let path = file.to_string_lossy().into_owned();
    let described;
    {
        let srv = Server::start(&["--aclfile", &path]);
        let mut c = srv.conn();
        assert_eq!(
            c.cmd_str(&[
                "ACL",
                "SETUSER",
                "erin",
                "on",
                ">pw",
                "~e:*",
                "resetchannels",
                "&e.*",
                "-@all",
                "+@hash",
                "+@string",
                "(%W~w:* +set)",
            ]),
            "+OK\r\n"
        );
        assert_eq!(c.cmd_str(&["ACL", "SAVE"]), "+OK\r\n");
        described = c.cmd_str(&["ACL", "LIST"]);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("user default on nopass ~* &* +@all\nuser erin on #"),
            "{}",
            text
        );
        // A broken file changes nothing.
        std::fs::write(&file, "user x on\nbogus line\n").unwrap();
        let r = c.cmd_str(&["ACL", "LOAD"]);
        assert!(
            r.contains("should start with user keyword followed by the username."),
            "{}",
            r
        );
        assert!(r.contains("WARNING: ACL errors detected, no change to the previously active ACL rules was performed"), "{}", r);
        assert_eq!(c.cmd_str(&["ACL", "LIST"]), described);
        // Put the saved file back.
        assert_eq!(c.cmd_str(&["ACL", "SAVE"]), "+OK\r\n");
        srv.assert_no_panic();
    }
    let srv = Server::start(&["--aclfile", &path]);
    let mut c = srv.conn();
    assert_eq!(c.cmd_str(&["ACL", "LIST"]), described);
    let mut e = srv.conn();
    assert_eq!(e.cmd_str(&["AUTH", "erin", "pw"]), "+OK\r\n");
    assert_eq!(e.cmd_str(&["HGET", "e:1", "f"]), "$-1\r\n");
    assert_eq!(e.cmd_str(&["SET", "w:1", "v"]), "+OK\r\n");
    assert_eq!(
        e.cmd_str(&["LPUSH", "e:1", "v"]),
        "-NOPERM this user has no permissions to run the 'lpush' command\r\n"
    );
    assert_eq!(
        e.cmd_str(&["SET", "x:1", "v"]),
        "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    );
    // ACL LOAD kills the clients of (re)loaded users.
    assert_eq!(c.cmd_str(&["ACL", "LOAD"]), "+OK\r\n");
    let (_, closed) = e.read_until_eof(Duration::from_secs(5));
    assert!(closed);
    srv.assert_no_panic();
}

#[test]
fn no_aclfile_errors() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let msg = "-ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.\r\n";
    assert_eq!(c.cmd_str(&["ACL", "SAVE"]), msg);
    assert_eq!(c.cmd_str(&["ACL", "LOAD"]), msg);
    let p = c.cmd_str(&["ACL", "GENPASS"]);
    assert!(p.starts_with("$64\r\n"), "{}", p);
    assert!(c.cmd_str(&["ACL", "GENPASS", "5"]).starts_with("$2\r\n"));
}

#[test]
fn redis_crate_and_redis_py_with_username() {
    let srv = Server::start(&[]);
    let mut admin = srv.conn();
    admin.cmd(&[
        "ACL",
        "SETUSER",
        "app",
        "on",
        ">apppw",
        "~*",
        "&*",
        "+@all",
        "-flushall",
    ]);
    // The redis crate: redis://user:pass@host:port
    let client =
        redis::Client::open(format!("redis://app:apppw@127.0.0.1:{}/", srv.port())).unwrap();
    let mut con = client.get_connection().expect("connect as app");
    let _: () = redis::cmd("SET").arg("a").arg("1").query(&mut con).unwrap();
    let who: String = redis::cmd("ACL").arg("WHOAMI").query(&mut con).unwrap();
    assert_eq!(who, "app");
    let err = redis::cmd("FLUSHALL").query::<()>(&mut con).unwrap_err();
    assert!(err.to_string().contains("NOPERM"), "{}", err);
    let bad = redis::Client::open(format!("redis://app:nope@127.0.0.1:{}/", srv.port())).unwrap();
    let e = bad
        .get_connection()
        .err()
        .expect("wrong password must fail");
    let msg = e.to_string().to_lowercase();
    assert!(
        msg.contains("wrongpass") || msg.contains("authentication"),
        "{}",
        e
    );

    let have = std::process::Command::new("python3")
        .args(["-c", "import redis"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        println!("NOTICE: python3 redis module not installed; skipping redis-py");
        return;
    }
    let code = format!(
        "import redis\n\
         r = redis.Redis(port={port}, username='app', password='apppw')\n\
         assert r.acl_whoami() == 'app' or r.acl_whoami() == b'app', r.acl_whoami()\n\
         r.set('b', 2)\n\
         assert r.get('b') == b'2'\n\
         r3 = redis.Redis(port={port}, username='app', password='apppw', protocol=3)\n\
         assert r3.get('b') == b'2'\n\
         try:\n    r.flushall()\n    raise SystemExit('flushall allowed')\n\
         except redis.exceptions.NoPermissionError:\n    pass\n\
         try:\n    redis.Redis(port={port}, username='app', password='x').ping()\n    raise SystemExit('bad password accepted')\n\
         except redis.exceptions.AuthenticationError:\n    pass\n\
         print('ok')\n",
        port = srv.port()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &code])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "redis-py failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    srv.assert_no_panic();
}

/// ACL DRYRUN for every command and a handful of argument shapes, for a
/// read-only (%R~*) and a write-only (%W~*) user: the key permissions each
/// command needs must match Redis 7.0's key specs.
#[test]
fn dryrun_key_permissions_match_redis() {
    let ours = Server::start(&[]);
    let reference = common::RealRedis::start();
    let mut a = ours.conn();
    let mut b = reference.conn();
    for c in [&mut a, &mut b] {
        c.cmd(&["ACL", "SETUSER", "r", "on", "nopass", "%R~*", "&*", "+@all"]);
        c.cmd(&["ACL", "SETUSER", "w", "on", "nopass", "%W~*", "&*", "+@all"]);
        c.cmd(&[
            "ACL",
            "SETUSER",
            "ch",
            "on",
            "nopass",
            "~*",
            "resetchannels",
            "&c*",
            "+@all",
        ]);
    }
    let names: Vec<String> = common::flatten(&a.cmd(&["COMMAND", "LIST"]))
        .into_iter()
        .map(|n| String::from_utf8_lossy(&n).into_owned())
        .collect();
    assert!(names.len() > 150);
    let shapes: &[&[&str]] = &[
        &["1", "1", "1", "1", "1", "1"],
        &["k", "1", "k2", "1", "k3", "1"],
        &["k", "v", "GET"],
        &["2", "a", "b", "c", "d"],
        &["k", "1", "2", "a", "b", "c"],
        &["a", "b", "STORE", "d"],
        &["a", "b", "c", "STREAMS", "s1", "s2", "1", "2"],
        &["h", "1", "", "0", "1", "KEYS", "x", "y"],
        &["a", "1", "2", "3", "m", "STORE", "d"],
        &["k", "0"],
        &["k"],
        &["k", "a", "b"],
        &["k", "0", "1"],
        &["k", "a", "b", "c"],
        &["k", "GET", "u8", "0"],
        &["c1", "x1", "c2"],
    ];
    let mut diffs = Vec::new();
    for n in &names {
        for shape in shapes {
            // A PFMERGE with only its destination: Redis skips the key check.
            if n == "pfmerge" && shape.len() == 1 {
                continue;
            }
            for user in ["r", "w", "ch"] {
                let mut argv = vec!["ACL", "DRYRUN", user, n.as_str()];
                argv.extend_from_slice(shape);
                let x = a.cmd(&argv);
                let y = b.cmd(&argv);
                if x != y {
                    diffs.push(format!(
                        "{:?}: ferrokv {:?} redis {:?}",
                        argv,
                        String::from_utf8_lossy(&x),
                        String::from_utf8_lossy(&y)
                    ));
                }
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn revoking_channels_disconnects_subscribers() {
    let srv = Server::start(&[]);
    let mut admin = srv.conn();
    admin.cmd(&[
        "ACL",
        "SETUSER",
        "sub",
        "on",
        "nopass",
        "resetchannels",
        "&news.*",
        "&x",
        "+@all",
    ]);
    let mut s = srv.conn();
    assert_eq!(s.cmd_str(&["AUTH", "sub", "x"]), "+OK\r\n");
    let r = s.cmd_str(&["SUBSCRIBE", "news.a"]);
    assert!(r.starts_with("*3\r\n$9\r\nsubscribe\r\n"), "{}", r);
    // Adding a channel keeps the subscriber.
    admin.cmd(&["ACL", "SETUSER", "sub", "&more"]);
    assert_eq!(admin.cmd_int(&["PUBLISH", "news.a", "m"]), 1);
    let m = s.read_reply();
    assert!(String::from_utf8_lossy(&m).contains("news.a"));
    // Revoking the pattern that allowed news.a disconnects it.
    admin.cmd(&["ACL", "SETUSER", "sub", "resetchannels", "&x"]);
    let (_, closed) = s.read_until_eof(Duration::from_secs(5));
    assert!(closed);
    srv.assert_no_panic();
}

/// Redis's CVE-2024-51741 fix: `%` and `%~` name no permission and are
/// refused; key permissions follow Redis's key specs (MIGRATE's AUTH /
/// AUTH2 arguments are not keys, MEMORY USAGE needs no read permission).
#[test]
fn selector_key_permission_validation_and_key_specs() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(
        c.cmd_str(&["ACL", "SETUSER", "u1", "%~"]),
        "-ERR Error in ACL SETUSER modifier '%~': Syntax error\r\n"
    );
    assert_eq!(
        c.cmd_str(&["ACL", "SETUSER", "u1", "%"]),
        "-ERR Error in ACL SETUSER modifier '%': Syntax error\r\n"
    );
    assert_eq!(c.cmd_str(&["ACL", "SETUSER", "u1", "%RW~"]), "+OK\r\n");
    assert_eq!(
        c.cmd_str(&[
            "ACL",
            "SETUSER",
            "t",
            "+@all",
            "%R~read*",
            "%W~write*",
            "%RW~rw*"
        ]),
        "+OK\r\n"
    );
    let dry = |c: &mut common::RawConn, args: &[&str]| {
        let mut v = vec!["ACL", "DRYRUN", "t"];
        v.extend_from_slice(args);
        c.cmd_str(&v)
    };
    for (args, want) in [
        (
            &[
                "MIGRATE", "h", "1", "", "0", "5000", "AUTH", "KEYS", "KEYS", "rw",
            ][..],
            "+OK\r\n",
        ),
        (
            &[
                "MIGRATE", "h", "1", "", "0", "5000", "AUTH2", "USER", "KEYS", "KEYS", "rw",
            ][..],
            "+OK\r\n",
        ),
        (
            &[
                "MIGRATE", "h", "1", "", "0", "5000", "AUTH", "KEYS", "KEYS", "read",
            ][..],
            "$53\r\nThis user has no permissions to access the 'read' key\r\n",
        ),
        (&["MEMORY", "USAGE", "write"][..], "+OK\r\n"),
        (
            &["MEMORY", "USAGE", "nothing"][..],
            "$56\r\nThis user has no permissions to access the 'nothing' key\r\n",
        ),
    ] {
        assert_eq!(dry(&mut c, args), want, "{:?}", args);
    }
}

/// SORT's BY (with a pattern) and GET read keys no key spec names, so they
/// need read access to every key (ACLUserCheckCmdWithUnrestrictedKeyAccess).
#[test]
fn sort_by_and_get_need_full_key_read_access() {
    let srv = Server::start(&[]);
    let mut admin = srv.conn();
    admin.cmd_str(&["SET", "v1", "1"]);
    admin.cmd_str(&["LPUSH", "mylist", "1"]);
    let by_denied = "-ERR BY option of SORT denied due to insufficient ACL permissions.\r\n";
    let get_denied = "-ERR GET option of SORT denied due to insufficient ACL permissions.\r\n";
    let mut c = srv.conn();
    for rule in ["~v*", "%W~*"] {
        assert_eq!(
            admin.cmd_str(&["ACL", "SETUSER", "s", "on", "nopass", "+sort", "~mylist", rule]),
            "+OK\r\n"
        );
        assert_eq!(c.cmd_str(&["AUTH", "s", "x"]), "+OK\r\n");
        assert_eq!(c.cmd_str(&["SORT", "mylist", "BY", "v*"]), by_denied);
        assert_eq!(c.cmd_str(&["SORT", "mylist", "GET", "v*"]), get_denied);
        // A constant BY pattern reads no key.
        assert_eq!(
            c.cmd_str(&["SORT", "mylist", "BY", "nosort"]),
            "*1\r\n$1\r\n1\r\n"
        );
        admin.cmd_str(&["ACL", "DELUSER", "s"]);
        c = srv.conn();
    }
    assert_eq!(
        admin.cmd_str(&["ACL", "SETUSER", "s", "on", "nopass", "+sort", "~mylist", "%R~*"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd_str(&["AUTH", "s", "x"]), "+OK\r\n");
    assert_eq!(
        c.cmd_str(&["SORT", "mylist", "BY", "v*"]),
        "*1\r\n$1\r\n1\r\n"
    );
}
