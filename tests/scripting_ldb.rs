//! The Lua debugger (SCRIPT DEBUG YES|SYNC): debugging sessions driven
//! with raw requests, compared byte for byte with a real redis-server 7.0
//! where the output is deterministic (everything but pointers and loop
//! counts), and with Debian's redis-cli --ldb / --ldb-sync-mode. Also what
//! the transcripts do not show: YES rolls the script's writes back, SYNC
//! keeps them and serves nobody else meanwhile, a vanished client lets the
//! script finish, SIGTERM ends a SYNC session, SHUTDOWN kills forked ones.

use crate::common;

use common::{escape, RawConn, RealRedis, Server};
use std::time::Duration;

/// One step of a transcript.
enum Step<'a> {
    /// A command (arguments with `|` between them); one reply is read.
    Cmd(&'a str),
    /// Raw bytes; one reply is read.
    Raw(&'a [u8]),
    /// Raw bytes holding several requests; this many replies are read
    /// (so no reply is left over to race with a later fork).
    RawN(&'a [u8], usize),
    /// Raw bytes, no reply expected yet.
    Part(&'a [u8]),
    /// Everything up to the server's close of the connection.
    Eof,
}
use Step::*;

fn run_transcript(port: u16, steps: &[Step]) -> Vec<Vec<u8>> {
    let mut c = RawConn::connect(port);
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let read = |c: &mut RawConn| match c.try_read_reply() {
            Ok(Some(r)) => r,
            other => panic!("port {} step {}: no reply: {:?}", port, i, other),
        };
        match step {
            Cmd(line) => {
                let args: Vec<&[u8]> = line.split('|').map(|a| a.as_bytes()).collect();
                c.send(&args);
                out.push(read(&mut c));
            }
            Raw(bytes) => {
                c.send_raw(bytes);
                out.push(read(&mut c));
            }
            RawN(bytes, n) => {
                c.send_raw(bytes);
                let mut all = Vec::new();
                for _ in 0..*n {
                    all.extend(read(&mut c));
                }
                out.push(all);
            }
            Part(bytes) => c.send_raw(bytes),
            Eof => {
                let (rest, closed) = c.read_until_eof(Duration::from_secs(10));
                assert!(closed, "the session did not close the connection");
                out.push(rest);
            }
        }
    }
    out
}

/// Runs `steps` on a fresh ferrokv and a fresh redis-server (after
/// `setup` commands on each) and asserts identical replies.
fn same_as_redis(setup: &[&str], steps: &[Step]) -> Vec<Vec<u8>> {
    let ours = Server::start(&["--enable-debug-command", "yes"]);
    let theirs = RealRedis::start_with(&["--enable-debug-command", "yes"]);
    let mut results = Vec::new();
    for srv in [&ours, &theirs] {
        let mut c = srv.conn();
        for s in setup {
            let args: Vec<&str> = s.split('|').collect();
            c.cmd(&args);
        }
        results.push(run_transcript(srv.port(), steps));
    }
    let (a, b) = (&results[0], &results[1]);
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        assert!(
            x == y,
            "step {}: ferrokv\n  {}\nredis\n  {}",
            i,
            escape(x),
            escape(y)
        );
    }
    assert_eq!(a.len(), b.len());
    ours.assert_no_panic();
    results.swap_remove(0)
}

const STEPPING: &str = "local function f(x)\n  local y = x * 2\n  return y\nend\nlocal z = f(3)\nredis.debug(z, nil, true, 1.5, 'a\"b\\n', {a={b={}}})\nreturn z";

#[test]
fn stepping_listing_breakpoints_and_values_match_redis() {
    same_as_redis(
        &[],
        &[
            Cmd("script|debug|sync"),
            Cmd(&format!("eval|{}|0", STEPPING)),
            Cmd("s"),
            Cmd("step"),
            Cmd("n"),
            Cmd("t"),
            Cmd("p"),
            Cmd("p|x"),
            Cmd("print|z"),
            Cmd("p|KEYS"),
            Cmd("p|ARGV"),
            Cmd("l"),
            Cmd("list|0"),
            Cmd("l|3|0"),
            Cmd("l|-1|1"),
            Cmd("l|2|-1"),
            Cmd("w"),
            Cmd("b"),
            Cmd("b|6"),
            Cmd("b|6"),
            Cmd("b|x|7"),
            Cmd("b|99"),
            Cmd("b"),
            Cmd("b|-7"),
            Cmd("b|-7"),
            Cmd("c"),
            Cmd("maxlen"),
            Cmd("m|5"),
            Cmd("r|set|big|0123456789012345678901234567890123456789012345678901234567890123456789"),
            Cmd("r|get|big"),
            Cmd("m|0"),
            Cmd("r|get|big"),
            Cmd("help"),
            Cmd("nosuch"),
            Cmd("redis"),
            Cmd("a"),
            Eof,
        ],
    );
}

#[test]
fn redis_and_eval_commands_match_redis() {
    let script = "local a = {1,2,x=3}\nredis.call('set','k','v')\nredis.breakpoint()\nlocal s = string.rep('x', 300)\nreturn a";
    let got = same_as_redis(
        &["set|counter|abc", "debug|set-disable-deny-scripts|1"],
        &[
            Cmd("script|debug|sync"),
            Cmd(&format!("eval|{}|1|key1|arg1", script)),
            Cmd("e|redis.call('set','x','y')"),
            Cmd("e|redis.call('get',|'x')"),
            Cmd("e|{1,2}"),
            Cmd("e|x ="),
            Cmd("e|nosuchglobal"),
            Cmd("e"),
            Cmd("r|set|a"),
            Cmd("r|incr|counter"),
            Cmd("r|nosuchcmd|x"),
            Cmd("r|set|k|1|2|3|4|5|6|7|8|9|10|11|12"),
            Cmd("r|hset|h|f|1"),
            Cmd("r|hgetall|h"),
            Cmd("r|get|nosuch"),
            Cmd("e|redis.setresp(3)"),
            Cmd("r|hgetall|h"),
            Cmd("r|smembers|nosuch"),
            Cmd("r|get|nosuch"),
            Cmd("r|debug|protocol|double"),
            Cmd("r|debug|protocol|true"),
            Cmd("r|debug|protocol|map"),
            Cmd("r|debug|protocol|bignum"),
            Cmd("p|KEYS"),
            Cmd("p|ARGV"),
            // Stepping logs the script's own commands with the next stop.
            Cmd("s"),
            // redis.breakpoint() stops at the next line.
            Cmd("c"),
            Cmd("s"),
            Cmd("p"),
            Cmd("p|s"),
            Cmd("c"),
            Eof,
        ],
    );
    // The end of the session: <endsession>, then EVAL's reply.
    let n = got.len();
    assert!(
        got[n - 2].ends_with(b"+<endsession>\r\n"),
        "{}",
        escape(&got[n - 2])
    );
    assert_eq!(got[n - 1], b"*2\r\n:1\r\n:2\r\n");
}

#[test]
fn request_parsing_matches_redis() {
    let mut overflow = b"*101\r\n$5\r\nredis\r\n".to_vec();
    for _ in 0..100 {
        overflow.extend_from_slice(b"$4\r\ntest\r\n");
    }
    same_as_redis(
        &[],
        &[
            Cmd("script|debug|sync"),
            Cmd("eval|return 'hello'|0"),
            // Names end at a NUL, as C strings do (Redis's test).
            Cmd("hello\0world"),
            Cmd("hello\0"),
            Cmd("\0hello"),
            Cmd("\0hello\0"),
            Cmd("h\0elp"),
            // 100 arguments to `redis`: no Lua stack overflow (CVE fix).
            Raw(&overflow),
            // Pipelined requests: what follows the first one is dropped.
            Raw(b"*1\r\n$1\r\nb\r\n*1\r\n$1\r\nw\r\n"),
            Part(b"*1\r\n$5\r\nw"),
            Raw(b"hole\r\n"),
            Raw(b"junk*1\r\n$1\r\nl\r\n"),
            // An empty argument is a protocol error: the script stops.
            Raw(b"*1\r\n$0\r\n\r\n"),
            Eof,
        ],
    );
}

#[test]
fn modes_and_refusals_match_redis() {
    same_as_redis(
        &[],
        &[
            Cmd("script|debug|maybe"),
            Cmd("script|debug|no"),
            Cmd("eval|return 1|0"),
            // Both replies are read: a reply left over would let the next
            // command go out before its predecessor's reply arrived, and a
            // forking EVAL could then overtake the pending reply (in Redis
            // too: the child writes <endsession> before the inherited buffer).
            RawN(
                b"*1\r\n$4\r\nping\r\n*3\r\n$6\r\nscript\r\n$5\r\ndebug\r\n$3\r\nyes\r\n",
                2,
            ),
            Cmd("script|debug|yes"),
            Cmd("evalsha|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|0"),
            Cmd("evalsha_ro|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|0"),
            Cmd("evalsha|aaa|0"),
            // Errors before the script runs still end the session.
            Cmd("eval|return 1|x"),
            Eof,
        ],
    );
    same_as_redis(
        &[],
        &[
            Cmd("script|debug|sync"),
            Cmd("eval_ro|return redis.call('set','a','b')|0"),
            Cmd("s"),
            Eof,
        ],
    );
    same_as_redis(
        &[],
        &[Cmd("script|debug|sync"), Cmd("eval|return 1 +|0"), Eof],
    );
}

#[test]
fn busy_script_stops_with_timeout_reason_like_redis() {
    same_as_redis(
        &["config|set|busy-reply-threshold|100"],
        &[
            Cmd("script|debug|sync"),
            Cmd("eval|local i = 0\nwhile true do i = i + 1 end|0"),
            Cmd("c"),
            Cmd("a"),
            Eof,
        ],
    );
}

#[test]
fn yes_mode_matches_redis_and_rolls_back() {
    let got = same_as_redis(
        &["set|k|old"],
        &[
            Cmd("script|debug|yes"),
            Cmd("eval|redis.call('set','k','new')\nreturn redis.call('get','k')|0"),
            Cmd("s"),
            Cmd("s"),
            Eof,
        ],
    );
    assert!(got[4].ends_with(b"$3\r\nnew\r\n"), "{}", escape(&got[4]));
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["set", "k", "old"]);
    let forks = |c: &mut RawConn| {
        let info = String::from_utf8_lossy(&c.cmd(&["info", "stats"])).into_owned();
        info.lines()
            .find_map(|l| l.strip_prefix("total_forks:").map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    assert_eq!(forks(&mut c), "0");
    run_transcript(
        srv.port(),
        &[
            Cmd("script|debug|yes"),
            Cmd("eval|redis.call('set','k','new')\nreturn 1|0"),
            Cmd("c"),
            Eof,
        ],
    );
    assert_eq!(c.cmd_str(&["get", "k"]), "$3\r\nold\r\n");
    assert_eq!(forks(&mut c), "1");
    // The child is reaped; its log lines carry role C.
    assert!(common::poll_until(Duration::from_secs(10), || {
        srv.log().contains("C ") && srv.log().contains("Lua debugging session child exiting")
    }));
    assert!(srv.log().contains("Redis forked for debugging eval"));
}

#[test]
fn sync_mode_keeps_writes_and_blocks_other_clients() {
    let srv = Server::start(&[]);
    let mut dbg = srv.conn();
    dbg.cmd(&["script", "debug", "sync"]);
    dbg.cmd(&["eval", "redis.call('set','k','v')\nreturn 1", "0"]);
    let mut other = srv.conn();
    other.send(&[b"ping"]);
    // The server is stopped inside the script: no reply meanwhile.
    other.set_read_timeout(Duration::from_millis(300));
    assert!(
        other.try_read_reply().is_err(),
        "served during a SYNC session"
    );
    other.set_read_timeout(common::READ_TIMEOUT);
    dbg.send(&[b"c"]);
    let (rest, closed) = dbg.read_until_eof(Duration::from_secs(10));
    assert!(closed);
    assert_eq!(rest, b"*1\r\n+<endsession>\r\n:1\r\n");
    assert_eq!(other.read_reply(), b"+PONG\r\n");
    assert_eq!(other.cmd_str(&["get", "k"]), "$1\r\nv\r\n");
    let log = srv.log();
    assert!(log.contains("Redis synchronous debugging eval session started"));
    assert!(log.contains("Redis synchronous debugging eval session ended"));
}

#[test]
fn vanished_client_lets_the_script_finish() {
    let srv = Server::start(&[]);
    {
        let mut dbg = srv.conn();
        dbg.cmd(&["script", "debug", "sync"]);
        dbg.cmd(&[
            "eval",
            "redis.call('set','a','1')\nredis.breakpoint()\nredis.call('set','b','2')",
            "0",
        ]);
        dbg.cmd(&["b", "3"]);
    }
    let mut c = srv.conn();
    assert_eq!(
        c.cmd_str(&["mget", "a", "b"]),
        "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
    // The Redis suite's stack overflow test, then a reconnect.
    let mut dbg = srv.conn();
    dbg.cmd(&["script", "debug", "sync"]);
    dbg.cmd(&["eval", "return 'hello'", "0"]);
    let mut req = b"*101\r\n$5\r\nredis\r\n".to_vec();
    for _ in 0..100 {
        req.extend_from_slice(b"$4\r\ntest\r\n");
    }
    dbg.send_raw(&req);
    let r = dbg.read_reply();
    assert!(
        String::from_utf8_lossy(&r).contains("Unknown Redis command called from script"),
        "{}",
        escape(&r)
    );
    drop(dbg);
    let mut c = srv.conn();
    assert_eq!(c.cmd_str(&["ping"]), "+PONG\r\n");
    srv.assert_no_panic();
}

#[test]
fn a_looping_script_whose_client_left_is_stopped() {
    let srv = Server::start(&["--busy-reply-threshold", "100"]);
    {
        let mut dbg = srv.conn();
        dbg.cmd(&["script", "debug", "sync"]);
        dbg.cmd(&["eval", "local i = 0\nwhile true do i = i + 1 end", "0"]);
        dbg.send(&[b"c"]);
    }
    // The loop reaches the timeout stop, finds the client gone and fails.
    let mut c = srv.conn();
    assert_eq!(c.cmd_str(&["ping"]), "+PONG\r\n");
    assert_eq!(c.cmd_str(&["set", "x", "1"]), "+OK\r\n");
}

/// ferrokv only: Redis means to (its blocking read returns EINTR), but the
/// signal often reaches one of its other threads, and the session goes on.
#[test]
fn sigterm_ends_a_sync_session_and_shuts_down() {
    if std::env::var_os("FERROKV_TEST_REDIS").is_some() {
        return;
    }
    let mut srv = Server::start(&[]);
    let mut dbg = srv.conn();
    dbg.cmd(&["script", "debug", "sync"]);
    dbg.cmd(&["eval", "return 'hello'", "0"]);
    let st = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(srv.pid().to_string())
        .status()
        .expect("kill");
    assert!(st.success());
    let (rest, closed) = dbg.read_until_eof(Duration::from_secs(10));
    assert!(closed);
    assert_eq!(rest, b"*1\r\n+<endsession>\r\n$5\r\nhello\r\n");
    assert!(common::poll_until(Duration::from_secs(10), || !srv.is_running()));
    assert!(srv.log().contains("ready to exit"));
}

#[test]
fn shutdown_kills_forked_sessions() {
    let mut srv = Server::start(&[]);
    let mut dbg = srv.conn();
    dbg.cmd(&["script", "debug", "yes"]);
    let first = dbg.cmd(&["eval", "return 1", "0"]);
    assert!(
        first.starts_with(b"*2\r\n+* Stopped at 1"),
        "{}",
        escape(&first)
    );
    let mut c = srv.conn();
    c.send(&[b"shutdown", b"nosave"]);
    assert!(common::poll_until(Duration::from_secs(10), || !srv.is_running()));
    assert!(srv.log().contains("Killing debugging session"));
    // The child died with the session: the debugging client sees the end.
    let (_, closed) = dbg.read_until_eof(Duration::from_secs(10));
    assert!(closed);
}

const CLI_SCRIPT: &str = "local a = 1
local t = {1,2,3,'x'}
redis.call('set','foo',ARGV[1])
redis.debug('hello', a, t)
local v = redis.call('get','foo')
redis.breakpoint()
return {v, a}
";

const CLI_INPUT: &str = "step\nprint\np a\nredis ping\nr get foo\nr hgetall nosuch\nr nosuchcmd x\ne 1+1\ne x=\nwhole\nlist 3 1\nb 5\nb\nb 99\nb -5\nb -7\nb 0\nt\nmaxlen\nmaxlen 10\nmaxlen 0\nc\nhelp\nfoo\ns\nc\nrestart\nabort\n";

#[test]
fn redis_cli_ldb_sessions_match_redis() {
    let dir = common::temp_dir("ldb-cli");
    let script = dir.join("s.lua");
    std::fs::write(&script, CLI_SCRIPT).expect("write script");
    let script = script.to_string_lossy().into_owned();
    let ours = Server::start(&[]);
    let theirs = RealRedis::start();
    for (mode, foo_after) in [("--ldb", "\n"), ("--ldb-sync-mode", "bar\n")] {
        let mut outs = Vec::new();
        for srv in [&ours, &theirs] {
            let out = common::redis_cli_stdin(
                srv.port(),
                &[mode, "--eval", &script, "foo", ",", "bar"],
                Some(CLI_INPUT.as_bytes()),
            );
            assert_eq!(common::redis_cli(srv.port(), &["get", "foo"]), foo_after);
            common::redis_cli(srv.port(), &["del", "foo"]);
            outs.push(out);
        }
        assert_eq!(outs[0], outs[1], "redis-cli {} transcripts differ", mode);
        assert!(outs[0].contains("redis.breakpoint() called"), "{}", outs[0]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
