//! Real-world Lua scripts through the `redis` crate: redis-py's Lock
//! scripts, a sliding-window rate limiter, a small job queue, EVALSHA after
//! SCRIPT LOAD, the `Script` type's NOSCRIPT -> EVAL fallback, FCALL, and
//! the busy-script path (BUSY replies, SCRIPT KILL, UNKILLABLE).

use crate::common;

use common::Server;
use std::time::{Duration, Instant};

// redis-py redis/lock.py (Lock.LUA_RELEASE_SCRIPT etc.), verbatim.
const LUA_RELEASE_SCRIPT: &str = "
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('del', KEYS[1])
        return 1
    ";

const LUA_EXTEND_SCRIPT: &str = "
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        local expiration = redis.call('pttl', KEYS[1])
        if not expiration then
            expiration = 0
        end
        if expiration < 0 then
            return 0
        end

        local newttl = ARGV[2]
        if ARGV[3] == \"0\" then
            newttl = ARGV[2] + expiration
        end
        redis.call('pexpire', KEYS[1], newttl)
        return 1
    ";

const LUA_REACQUIRE_SCRIPT: &str = "
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('pexpire', KEYS[1], ARGV[2])
        return 1
    ";

const RATE_LIMITER: &str = "
    local key = KEYS[1]
    local now = tonumber(ARGV[1])
    local window = tonumber(ARGV[2])
    local limit = tonumber(ARGV[3])
    redis.call('ZREMRANGEBYSCORE', key, 0, now - window)
    local count = redis.call('ZCARD', key)
    if count >= limit then
        return 0
    end
    redis.call('ZADD', key, now, ARGV[4])
    redis.call('EXPIRE', key, math.ceil(window / 1000))
    return 1
";

const ENQUEUE: &str = "
    local id = redis.call('INCR', KEYS[1])
    redis.call('HSET', KEYS[3] .. id, 'payload', ARGV[1], 'state', 'queued')
    redis.call('LPUSH', KEYS[2], id)
    return id
";

const CLAIM: &str = "
    local id = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
    if not id then
        return false
    end
    redis.call('HSET', KEYS[3] .. id, 'state', 'running')
    return {id, redis.call('HGET', KEYS[3] .. id, 'payload')}
";

#[test]
fn redis_py_lock_scripts() {
    let srv = Server::start(&[]);
    let mut con = srv.redis_client().get_connection().expect("connect");
    let release = redis::Script::new(LUA_RELEASE_SCRIPT);
    let extend = redis::Script::new(LUA_EXTEND_SCRIPT);
    let reacquire = redis::Script::new(LUA_REACQUIRE_SCRIPT);

    // acquire: SET NX PX (done by the client).
    let ok: Option<String> = redis::cmd("SET")
        .arg("lock")
        .arg("tok1")
        .arg("NX")
        .arg("PX")
        .arg(10_000)
        .query(&mut con)
        .unwrap();
    assert_eq!(ok.as_deref(), Some("OK"));
    let again: Option<String> = redis::cmd("SET")
        .arg("lock")
        .arg("tok2")
        .arg("NX")
        .arg("PX")
        .arg(10_000)
        .query(&mut con)
        .unwrap();
    assert_eq!(again, None);

    // extend (add) and extend (replace)
    let r: i64 = extend
        .key("lock")
        .arg("tok1")
        .arg(5_000)
        .arg("0")
        .invoke(&mut con)
        .unwrap();
    assert_eq!(r, 1);
    let pttl: i64 = redis::cmd("PTTL").arg("lock").query(&mut con).unwrap();
    assert!(pttl > 10_000 && pttl <= 15_000, "{}", pttl);
    let r: i64 = extend
        .key("lock")
        .arg("tok1")
        .arg(2_000)
        .arg("1")
        .invoke(&mut con)
        .unwrap();
    assert_eq!(r, 1);
    let pttl: i64 = redis::cmd("PTTL").arg("lock").query(&mut con).unwrap();
    assert!(pttl <= 2_000, "{}", pttl);
    // wrong token
    let r: i64 = extend
        .key("lock")
        .arg("other")
        .arg(5_000)
        .arg("0")
        .invoke(&mut con)
        .unwrap();
    assert_eq!(r, 0);
    let r: i64 = reacquire
        .key("lock")
        .arg("other")
        .arg(9_000)
        .invoke(&mut con)
        .unwrap();
    assert_eq!(r, 0);
    let r: i64 = reacquire
        .key("lock")
        .arg("tok1")
        .arg(9_000)
        .invoke(&mut con)
        .unwrap();
    assert_eq!(r, 1);
    let pttl: i64 = redis::cmd("PTTL").arg("lock").query(&mut con).unwrap();
    assert!(pttl > 8_000 && pttl <= 9_000, "{}", pttl);

    // release
    let r: i64 = release.key("lock").arg("other").invoke(&mut con).unwrap();
    assert_eq!(r, 0);
    let r: i64 = release.key("lock").arg("tok1").invoke(&mut con).unwrap();
    assert_eq!(r, 1);
    let exists: i64 = redis::cmd("EXISTS").arg("lock").query(&mut con).unwrap();
    assert_eq!(exists, 0);
    // extend of a released lock fails
    let r: i64 = extend
        .key("lock")
        .arg("tok1")
        .arg(1_000)
        .arg("0")
        .invoke(&mut con)
        .unwrap();
    assert_eq!(r, 0);
    // a key without TTL cannot be extended (pttl -1)
    let _: () = redis::cmd("SET")
        .arg("lock")
        .arg("tok3")
        .query(&mut con)
        .unwrap();
    let r: i64 = extend
        .key("lock")
        .arg("tok3")
        .arg(1_000)
        .arg("0")
        .invoke(&mut con)
        .unwrap();
    assert_eq!(r, 0);
    srv.assert_no_panic();
}

#[test]
fn sliding_window_rate_limiter() {
    let srv = Server::start(&[]);
    let mut con = srv.redis_client().get_connection().expect("connect");
    let limiter = redis::Script::new(RATE_LIMITER);
    let mut allowed = 0;
    for i in 0..10 {
        let now = 1_000_000 + i * 10;
        let r: i64 = limiter
            .key("rl:user1")
            .arg(now)
            .arg(1000)
            .arg(5)
            .arg(format!("req{}", i))
            .invoke(&mut con)
            .unwrap();
        allowed += r;
    }
    assert_eq!(allowed, 5);
    // After the window passes, requests are allowed again.
    let r: i64 = limiter
        .key("rl:user1")
        .arg(1_000_000 + 2_000)
        .arg(1000)
        .arg(5)
        .arg("late")
        .invoke(&mut con)
        .unwrap();
    assert_eq!(r, 1);
    let card: i64 = redis::cmd("ZCARD").arg("rl:user1").query(&mut con).unwrap();
    assert_eq!(card, 1);
    let ttl: i64 = redis::cmd("TTL").arg("rl:user1").query(&mut con).unwrap();
    assert!(ttl > 0 && ttl <= 1);
    srv.assert_no_panic();
}

#[test]
fn job_queue() {
    let srv = Server::start(&[]);
    let mut con = srv.redis_client().get_connection().expect("connect");
    let enqueue = redis::Script::new(ENQUEUE);
    let claim = redis::Script::new(CLAIM);
    for p in ["a", "b", "c"] {
        let _: i64 = enqueue
            .key("jobs:id")
            .key("jobs:queue")
            .key("job:")
            .arg(p)
            .invoke(&mut con)
            .unwrap();
    }
    let first: (String, String) = claim
        .key("jobs:queue")
        .key("jobs:running")
        .key("job:")
        .invoke(&mut con)
        .unwrap();
    assert_eq!(first, ("1".to_string(), "a".to_string()));
    let state: String = redis::cmd("HGET")
        .arg("job:1")
        .arg("state")
        .query(&mut con)
        .unwrap();
    assert_eq!(state, "running");
    let _: (String, String) = claim
        .key("jobs:queue")
        .key("jobs:running")
        .key("job:")
        .invoke(&mut con)
        .unwrap();
    let _: (String, String) = claim
        .key("jobs:queue")
        .key("jobs:running")
        .key("job:")
        .invoke(&mut con)
        .unwrap();
    let none: Option<(String, String)> = claim
        .key("jobs:queue")
        .key("jobs:running")
        .key("job:")
        .invoke(&mut con)
        .unwrap();
    assert_eq!(none, None);
    let running: i64 = redis::cmd("LLEN")
        .arg("jobs:running")
        .query(&mut con)
        .unwrap();
    assert_eq!(running, 3);
    srv.assert_no_panic();
}

#[test]
fn evalsha_and_noscript_fallback() {
    let srv = Server::start(&[]);
    let mut con = srv.redis_client().get_connection().expect("connect");
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg("return ARGV[1] .. '!'")
        .query(&mut con)
        .unwrap();
    assert_eq!(sha.len(), 40);
    let r: String = redis::cmd("EVALSHA")
        .arg(&sha)
        .arg(0)
        .arg("hi")
        .query(&mut con)
        .unwrap();
    assert_eq!(r, "hi!");
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut con).unwrap();
    let err = redis::cmd("EVALSHA")
        .arg(&sha)
        .arg(0)
        .arg("hi")
        .query::<String>(&mut con)
        .unwrap_err();
    assert_eq!(err.code(), Some("NOSCRIPT"));
    // The Script type retries with EVAL (which caches the script again).
    let script = redis::Script::new("return ARGV[1] .. '!'");
    assert_eq!(script.get_hash(), sha);
    let r: String = script.arg("again").invoke(&mut con).unwrap();
    assert_eq!(r, "again!");
    let exists: Vec<i64> = redis::cmd("SCRIPT")
        .arg("EXISTS")
        .arg(&sha)
        .query(&mut con)
        .unwrap();
    assert_eq!(exists, vec![1]);
    srv.assert_no_panic();
}

#[test]
fn functions_roundtrip_dump_restore() {
    let srv = Server::start(&[]);
    let mut con = srv.redis_client().get_connection().expect("connect");
    let code = "#!lua name=counter\nredis.register_function('bump', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)";
    let name: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(code)
        .query(&mut con)
        .unwrap();
    assert_eq!(name, "counter");
    let v: i64 = redis::cmd("FCALL")
        .arg("bump")
        .arg(1)
        .arg("c")
        .arg(5)
        .query(&mut con)
        .unwrap();
    assert_eq!(v, 5);
    let dump: Vec<u8> = redis::cmd("FUNCTION").arg("DUMP").query(&mut con).unwrap();
    let _: () = redis::cmd("FUNCTION").arg("FLUSH").query(&mut con).unwrap();
    assert!(redis::cmd("FCALL")
        .arg("bump")
        .arg(1)
        .arg("c")
        .arg(1)
        .query::<i64>(&mut con)
        .is_err());
    let _: () = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .query(&mut con)
        .unwrap();
    let v: i64 = redis::cmd("FCALL")
        .arg("bump")
        .arg(1)
        .arg("c")
        .arg(2)
        .query(&mut con)
        .unwrap();
    assert_eq!(v, 7);
    // APPEND (default) collides; REPLACE works.
    assert!(redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .query::<()>(&mut con)
        .is_err());
    let _: () = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&dump)
        .arg("REPLACE")
        .query(&mut con)
        .unwrap();
    srv.assert_no_panic();
}

#[test]
fn busy_script_kill() {
    let srv = Server::start(&["--busy-reply-threshold", "100"]);
    let mut killer = srv.conn();
    let mut runner = srv.conn();
    runner.send(&[b"EVAL", b"local i = 0 while true do i = i + 1 end", b"0"]);
    std::thread::sleep(Duration::from_millis(300));
    let busy = killer.cmd_str(&["PING"]);
    assert!(
        busy.starts_with("-BUSY Redis is busy running a script"),
        "{}",
        busy
    );
    let start = Instant::now();
    let ok = killer.cmd_str(&["SCRIPT", "KILL"]);
    assert_eq!(ok, "+OK\r\n");
    let reply = String::from_utf8_lossy(&runner.read_reply()).into_owned();
    assert!(
        reply.starts_with("-ERR Script killed by user with SCRIPT KILL..."),
        "{}",
        reply
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(killer.cmd_str(&["PING"]), "+PONG\r\n");
    assert_eq!(runner.cmd_str(&["PING"]), "+PONG\r\n");

    // A script that wrote cannot be killed.
    runner.send(&[
        b"EVAL",
        b"redis.call('set','k','v') local t = redis.call('time') while true do if tonumber(redis.call('time')[1]) > tonumber(t[1]) + 1 then break end end return 'done'",
        b"0",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let e = killer.cmd_str(&["SCRIPT", "KILL"]);
    assert!(e.starts_with("-UNKILLABLE"), "{}", e);
    let e = killer.cmd_str(&["FUNCTION", "KILL"]);
    assert!(
        e.starts_with("-UNKILLABLE") || e.starts_with("-BUSY"),
        "{}",
        e
    );
    let reply = runner.read_reply();
    assert_eq!(reply, b"$4\r\ndone\r\n");
    srv.assert_no_panic();
}

/// FUNCTION STATS names the running FCALL with its arguments (Redis's
/// functions.tcl "test function kill"), and FUNCTION KILL stops it.
#[test]
fn function_stats_shows_the_running_fcall() {
    let srv = Server::start(&["--busy-reply-threshold", "100"]);
    let mut admin = srv.conn();
    let lib = "#!lua name=spin\nredis.register_function('spin', function() local i = 0 while true do i = i + 1 end end)";
    assert_eq!(admin.cmd_str(&["FUNCTION", "LOAD", lib]), "$4\r\nspin\r\n");
    let mut runner = srv.conn();
    runner.send(&[b"FCALL", b"spin", b"0"]);
    let mut stats = String::new();
    let running = common::poll_until(Duration::from_secs(10), || {
        stats = admin.cmd_str(&["FUNCTION", "STATS"]);
        stats.contains("$4\r\nname\r\n")
    });
    assert!(running, "{}", stats);
    assert!(
        stats.contains("$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n0\r\n"),
        "{}",
        stats
    );
    assert_eq!(admin.cmd_str(&["FUNCTION", "KILL"]), "+OK\r\n");
    let reply = String::from_utf8_lossy(&runner.read_reply()).into_owned();
    assert!(reply.starts_with("-ERR Script killed by user"), "{}", reply);
}

/// Scripts under OOM (scriptVerifyOOM / scriptFlagsToCmdFlags), compared
/// with redis-server: without flags only deny-oom calls before the first
/// write fail; declared flags make the script itself deny-oom unless it
/// has allow-oom or no-writes.
#[test]
fn script_oom_flags_match_redis() {
    let ours = Server::start(&[]);
    let theirs = common::RealRedis::start();
    let cases: &[&[&str]] = &[
        &["EVAL", "redis.call('set','x',1) return 1", "1", "x"],
        &["EVAL", "return redis.call('get','x')", "1", "x"],
        &["EVAL", "#!lua flags=\nreturn 1", "0"],
        &[
            "EVAL",
            "#!lua flags=allow-oom\nredis.call('set','x',1) return 1",
            "1",
            "x",
        ],
        &[
            "EVAL",
            "#!lua flags=no-writes\nredis.call('get','x') return 1",
            "0",
        ],
        &[
            "EVAL",
            "redis.call('del','nokey') redis.call('set','x',2) return 1",
            "1",
            "x",
        ],
        &["EVAL", "return redis.pcall('set','x',3)", "1", "x"],
        &["FCALL", "w", "1", "x"],
        &["FCALL", "oomok", "1", "x"],
    ];
    let lib = "#!lua name=oomlib\n\
        redis.register_function('w', function(k) return redis.call('set', k[1], 'v') end)\n\
        redis.register_function{function_name='oomok', callback=function(k) \
        return redis.call('set', k[1], 'v') end, flags={'allow-oom'}}\n";
    for srv in [&ours, &theirs] {
        let mut c = srv.conn();
        c.cmd(&["SET", "x", "123"]);
        c.cmd(&["FUNCTION", "LOAD", lib]);
        assert_eq!(c.cmd_str(&["CONFIG", "SET", "maxmemory", "1"]), "+OK\r\n");
    }
    common::assert_same_replies(&mut ours.conn(), &mut theirs.conn(), cases);
}

/// A script with declared flags counts as a write unless `no-writes`
/// (NOREPLICAS under min-replicas-to-write), compared with redis-server.
#[test]
fn script_flags_count_as_writes_for_min_replicas() {
    let ours = Server::start(&[]);
    let theirs = common::RealRedis::start();
    let cases: &[&[&str]] = &[
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('get','x')",
            "1",
            "x",
        ],
        &["EVAL", "return redis.call('get','x')", "1", "x"],
        &["EVAL", "#!lua\nreturn redis.call('get','x')", "1", "x"],
        &["EVAL", "return redis.call('set','x', 1)", "1", "x"],
    ];
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    for c in [&mut a, &mut b] {
        c.cmd(&["SET", "x", "v"]);
        assert_eq!(
            c.cmd_str(&["CONFIG", "SET", "min-replicas-to-write", "1"]),
            "+OK\r\n"
        );
    }
    common::assert_same_replies(&mut a, &mut b, cases);
}

/// A script that already wrote is not failed halfway by min-replicas
/// (Redis's SCRIPT_WRITE_DIRTY skips the write checks): the replica count
/// drops mid-script here through CONFIG SET, allowed in scripts by DEBUG
/// SET-DISABLE-DENY-SCRIPTS. Compared with redis-server.
#[test]
fn min_replicas_does_not_fail_a_script_that_wrote() {
    let ours = Server::start(&["--enable-debug-command", "yes"]);
    let theirs = common::RealRedis::start_with(&["--enable-debug-command", "yes"]);
    let set_min = "redis.call('config','set','min-replicas-to-write',ARGV[1])";
    let wrote_first = format!(
        "redis.call('set','a','1') {} redis.call('set','b','2')          redis.call('config','set','min-replicas-to-write','0') return redis.call('get','b')",
        set_min
    );
    let refused_first = format!(
        "{} local r = redis.pcall('set','c','3')          redis.call('config','set','min-replicas-to-write','0') return r",
        set_min
    );
    let cases: &[&[&str]] = &[
        &["EVAL", &wrote_first, "0", "1"],
        &["EVAL", &refused_first, "0", "1"],
        &["MGET", "a", "b", "c"],
    ];
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    for c in [&mut a, &mut b] {
        c.cmd(&["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"]);
    }
    common::assert_same_replies(&mut a, &mut b, cases);
}

/// A client that disconnects while a script is busy is freed during the
/// script's event processing (Redis's beforeSleep while blocked), so the
/// script sees connected_clients drop.
#[test]
fn busy_script_sees_a_client_leave() {
    let srv = Server::start(&["--busy-reply-threshold", "10"]);
    let leaving = srv.conn();
    let mut runner = srv.conn();
    runner.send(&[
        b"EVAL",
        b"while true do \
            if string.find(redis.call('info','clients'), 'connected_clients:1\\r\\n', 1, true) \
            then return 1 end \
          end",
        b"0",
    ]);
    drop(leaving);
    assert_eq!(runner.read_reply(), b":1\r\n");
    srv.assert_no_panic();
}

/// Error accounting of scripts (scriptCall's error path, errors a script
/// returns, errors it got from redis.call): INFO errorstats and the
/// calls/rejected/failed counts of commandstats equal redis-server's.
#[test]
fn script_error_stats_match_redis() {
    fn stats(c: &mut common::RawConn) -> Vec<String> {
        let info = c.cmd_str(&["INFO", "ALL"]);
        info.lines()
            .filter(|l| {
                l.starts_with("errorstat_")
                    || l.starts_with("total_error_replies")
                    || l.starts_with("cmdstat_set:")
                    || l.starts_with("cmdstat_select:")
                    || l.starts_with("cmdstat_eval:")
            })
            .map(|l| {
                // Drop the timing fields of commandstats.
                l.split(',')
                    .filter(|f| !f.starts_with("usec"))
                    .collect::<Vec<_>>()
                    .join(",")
                    .replace('\r', "")
            })
            .map(|l| match l.split_once("calls=") {
                Some((name, rest)) if l.starts_with("cmdstat_") => format!("{name}calls={rest}"),
                _ => l,
            })
            .collect()
    }
    let ours = Server::start(&[]);
    let theirs = common::RealRedis::start();
    let steps: &[&[&str]] = &[
        &["CONFIG", "SET", "maxmemory", "1"],
        &["EVAL", "return redis.call('set','x','y')", "1", "x"],
        &["EVAL", "return redis.pcall('set','x','y')", "1", "x"],
        &[
            "EVAL",
            "local t = redis.pcall('set','x','y') return 1",
            "1",
            "x",
        ],
        &["CONFIG", "SET", "maxmemory", "0"],
        &["EVAL", "return redis.call('select',99)", "0"],
        &["EVAL", "return redis.pcall('select',99)", "0"],
        &[
            "EVAL",
            "return redis.error_reply('MY_ERR_CODE custom msg')",
            "0",
        ],
        &["EVAL", "return redis.error_reply('')", "0"],
        &["EVAL", "return redis.call('nosuchcommand')", "0"],
        &["EVAL", "error('x')", "0"],
    ];
    for srv in [&ours, &theirs] {
        let mut c = srv.conn();
        c.cmd(&["SET", "x", "1"]);
        c.cmd(&["CONFIG", "RESETSTAT"]);
        for s in steps {
            c.cmd(s);
        }
    }
    // (commandstats come in Redis's dict order: compare as sets.)
    let (mut a, mut b) = (stats(&mut ours.conn()), stats(&mut theirs.conn()));
    a.sort();
    b.sort();
    assert!(a.len() >= 5, "{a:?}");
    assert_eq!(a, b);
}

/// A client blocked on a key that a busy script pushed to is served only
/// after the script returns, even when an allow-busy command (HELLO) runs
/// meanwhile (Redis's "Timedout scripts and unblocked command").
#[test]
fn busy_script_keeps_blocked_clients_waiting() {
    let srv = Server::start(&["--busy-reply-threshold", "10"]);
    let mut admin = srv.conn();
    let mut popper = srv.conn();
    popper.send(&[b"BLPOP", b"x", b"0"]);
    assert!(common::poll_until(Duration::from_secs(10), || {
        admin
            .cmd_str(&["INFO", "clients"])
            .contains("blocked_clients:1")
    }));
    let mut runner = srv.conn();
    runner.send(&[
        b"EVAL",
        b"redis.call('lpush',KEYS[1],'y') local t = redis.call('time') \
          while true do if tonumber(redis.call('time')[1]) > tonumber(t[1]) + 1 then break end end \
          redis.call('lpush',KEYS[1],'z') return 'done'",
        b"1",
        b"x",
    ]);
    assert!(common::poll_until(Duration::from_secs(10), || {
        admin.cmd_str(&["PING"]).starts_with("-BUSY")
    }));
    let hello = admin.cmd_bytes(&[b"HELLO", b"2", b"SETNAME", b"abortscript"]);
    assert!(hello.starts_with(b"*"), "{}", common::escape(&hello));
    assert_eq!(popper.read_reply(), b"*2\r\n$1\r\nx\r\n$1\r\nz\r\n");
    assert_eq!(runner.read_reply(), b"$4\r\ndone\r\n");
    srv.assert_no_panic();
}

/// A script's command on a stale replica (replica-serve-stale-data no, link
/// down) gets scriptCall's error, not MASTERDOWN; the script itself without
/// allow-stale gets MASTERDOWN. Compared with redis-server.
#[test]
fn stale_replica_script_errors_match_redis() {
    let ours = Server::start(&[]);
    let theirs = common::RealRedis::start();
    let lib = "#!lua name=stale\n\
        redis.register_function{function_name='f1', callback=function() return 'hello' end, flags={'no-writes'}}\n\
        redis.register_function{function_name='f2', callback=function() return 'hello' end, flags={'allow-stale', 'no-writes'}}\n\
        redis.register_function{function_name='f3', callback=function() return redis.call('get', 'x') end, flags={'allow-stale', 'no-writes'}}\n\
        redis.register_function{function_name='f4', callback=function() return type(redis.call('info', 'server')) end, flags={'allow-stale', 'no-writes'}}";
    for srv in [ours.conn(), theirs.conn()].iter_mut() {
        assert_eq!(srv.cmd_str(&["FUNCTION", "LOAD", lib]), "$5\r\nstale\r\n");
        srv.cmd(&["CONFIG", "SET", "replica-serve-stale-data", "no"]);
        srv.cmd(&["REPLICAOF", "127.0.0.1", "1"]);
    }
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    for f in ["f1", "f2", "f3", "f4"] {
        let (x, y) = (a.cmd_str(&["FCALL", f, "0"]), b.cmd_str(&["FCALL", f, "0"]));
        assert_eq!(x, y, "{f}");
    }
    assert!(a
        .cmd_str(&["FCALL", "f3", "0"])
        .starts_with("-ERR Can not execute the command on a stale replica"));
    ours.assert_no_panic();
}

/// EVAL on a stale replica (scripting.tcl "allow-stale shebang flag"): a
/// script without a shebang is refused before it runs (MASTERDOWN), one
/// with flags but no allow-stale too, one with allow-stale runs and its
/// data commands get the stale-replica error. Compared with redis-server.
#[test]
fn eval_on_stale_replica_matches_redis() {
    let ours = Server::start(&[]);
    let theirs = common::RealRedis::start();
    let cases: &[&[&str]] = &[
        &["EVAL", "return redis.call('get','x')", "1", "x"],
        &["EVAL", "#!lua flags=no-writes\nreturn 1", "0"],
        &["EVAL", "#!lua flags=allow-stale,no-writes\nreturn 1", "0"],
        &[
            "EVAL",
            "#!lua flags=allow-stale,no-writes\nreturn redis.call('get','x')",
            "1",
            "x",
        ],
        &[
            "EVAL",
            "#!lua flags=allow-stale,no-writes\nreturn redis.call('echo','foobar')",
            "0",
        ],
    ];
    let mut seen = Vec::new();
    for mut c in [ours.conn(), theirs.conn()] {
        c.cmd(&["CONFIG", "SET", "replica-serve-stale-data", "no"]);
        c.cmd(&["REPLICAOF", "127.0.0.1", "1"]);
        seen.push(cases.iter().map(|a| c.cmd_str(a)).collect::<Vec<_>>());
        c.cmd(&["REPLICAOF", "NO", "ONE"]);
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[0][0].starts_with("-MASTERDOWN"), "{:?}", seen[0]);
}
