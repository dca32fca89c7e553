//! Stable-toolchain stand-ins for the cargo-fuzz targets `lua_script`,
//! `restore_cmd`, `config` and `inline_parser`: seeded generated and
//! mutated inputs go through the same harnesses (tests/support/*_driver.rs)
//! the fuzz targets call, and every saved crash in
//! fuzz/regressions/<target>/ is replayed. A fixed seed makes failures
//! reproduce; FERROKV_FUZZ_SEED / FERROKV_FUZZ_CASES override the seed and
//! the case count.

use crate::common;
use crate::config_driver;
use crate::inline_driver;
use crate::inproc;
use crate::lua_driver;

use crate::restore_driver;

use crate::mutate;
use common::env_u64;
use mutate::mutate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;

fn rng(salt: u64) -> StdRng {
    StdRng::seed_from_u64(env_u64("FERROKV_FUZZ_SEED").unwrap_or(0x0066_6572_726f_6b76) ^ salt)
}

fn cases(default: usize) -> usize {
    env_u64("FERROKV_FUZZ_CASES").map_or(default, |n| n as usize)
}

/// Every file in fuzz/regressions/<target>/ (the inputs that once crashed).
fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_file() {
                let data = std::fs::read(&p).expect("read regression input");
                out.push((p.display().to_string(), data));
            }
        }
    }
    out.sort();
    out
}

/// Runs `f` on every regression input of `target`, naming the file on
/// failure.
fn replay(target: &str, mut f: impl FnMut(&[u8])) -> usize {
    let inputs = regressions(target);
    for (name, data) in &inputs {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(data)));
        if let Err(e) = r {
            eprintln!("regression input {name} failed");
            std::panic::resume_unwind(e);
        }
    }
    inputs.len()
}

// ---- Lua ---------------------------------------------------------------

const LUA_FRAGMENTS: &[&str] = &[
    "return redis.call('GET', KEYS[1] or 's')",
    "return redis.pcall('INCR', 'h')",
    "return {1, 2.5, 'x', {err='E boom'}, {ok='fine'}, nil, true, false}",
    "while true do end",
    "local i = 0 while true do i = i + 1 end",
    "pcall(function() while true do end end) return 1",
    "for i = 1, 1e9 do redis.call('PING') end",
    "return string.rep('x', 1e9)",
    "local s = 'x' for i = 1, 40 do s = s .. s end return #s",
    "local t = {} for i = 1, 1e8 do t[i] = i end",
    "return cjson.decode(ARGV[2] or '[1,{\"a\":[]}]')",
    "return cjson.encode({a = {1, 2, {b = 3}}, c = 'd'})",
    "return cjson.decode('[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]')",
    "return {cmsgpack.unpack(cmsgpack.pack({1, 2, {a = 3}}, 'x', 2^53))}",
    "return struct.unpack('>I2i4', '\\0\\1\\0\\0\\0\\2')",
    "return struct.pack('<d s', 1.5, 'abc')",
    "return bit.tohex(bit.bxor(65535, -1))",
    "redis.setresp(3) return redis.call('HGETALL', 'h')",
    "redis.setresp(3) return {map = {a = 1}, double = 3.5}",
    "return redis.error_reply('MY err')",
    "return redis.status_reply('OK')",
    "error({err = 'ERR from table'})",
    "error('plain')",
    "return redis.sha1hex(ARGV[1])",
    "return redis.call('XRANGE', 'x', '-', '+')",
    "return redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES')",
    "redis.set_repl(redis.REPL_NONE) return redis.call('SET', 'a', 'b')",
    "return redis.call('EVAL', 'return 1', 0)",
    "return redis.call('BLPOP', 'l', 0)",
    "return redis.call('SETRANGE', 'big', 2000000, 'x')",
    "return tostring(KEYS) .. #ARGV",
    "local co = coroutine.create(function() while true do end end) return coroutine.resume(co)",
    "return setmetatable({}, {__index = function(t, k) return t[k] end}).x",
    "local function f(n) return f(n + 1) end return f(1)",
    "return string.format('%5.2f %q %d', 1.5, 'a\\0b', 7)",
    "return string.find(string.rep('a', 30), '(a*)*b')",
    "return math.huge, -math.huge, 0/0",
    "return redis.call('HELLO', '3')",
    "return redis.call('MULTI')",
    "return redis.breakpoint()",
    "redis.log(redis.LOG_WARNING, 'x')",
    "return unknown_global",
    "x = 1",
    "return table.concat({1, 2, 3}, ',')",
    "return redis.call(unpack(ARGV))",
    "return redis.acl_check_cmd('set', 'k', 'v')",
    "redis.register_function('f', function(keys, args) return #keys end)",
    "redis.register_function{function_name = 'g', callback = function() return redis.call('GET', 's') end, flags = {'no-writes'}}",
    "redis.register_function('f', function() while true do end end)",
    "redis.register_function('g', function() return redis.call('SET', 'k', 'v') end)",
];

const LUA_SPECIAL: &[u8] = b"()[]{}'\".,;=~#-+*/%^<>:\n \\0123456789";

fn gen_lua(rng: &mut StdRng) -> Vec<u8> {
    let mut body = Vec::new();
    if rng.gen_range(0..4) == 0 {
        body.extend_from_slice(
            [
                &b"#!lua\n"[..],
                b"#!lua flags=no-writes\n",
                b"#!lua name=lib\n",
            ][rng.gen_range(0..3)],
        );
    }
    for _ in 0..rng.gen_range(1..4) {
        body.extend_from_slice(LUA_FRAGMENTS[rng.gen_range(0..LUA_FRAGMENTS.len())].as_bytes());
        body.push(b'\n');
    }
    if rng.gen_bool(0.4) {
        mutate(rng, &mut body, LUA_SPECIAL);
    }
    let mut input = vec![rng.gen::<u8>()];
    input.extend_from_slice(&body);
    input
}

#[test]
fn lua_scripts_survive_generated_input() {
    let mut h = lua_driver::LuaHarness::new();
    let replayed = replay("lua_script", |d| h.run_input(d));
    let mut rng = rng(1);
    let start = std::time::Instant::now();
    for _ in 0..cases(600) {
        let input = gen_lua(&mut rng);
        h.run_input(&input);
    }
    eprintln!(
        "lua_script: {replayed} regressions + generated cases in {:?}",
        start.elapsed()
    );
}

#[test]
fn lua_loops_are_bounded() {
    let mut h = lua_driver::LuaHarness::new();
    let start = std::time::Instant::now();
    for entry in 0..4 {
        let mode = lua_driver::Mode {
            entry,
            resp3: false,
            numkeys: 1,
        };
        for body in [
            &b"while true do end"[..],
            b"pcall(function() while true do end end) while true do pcall(error) end",
            b"local s = 'x' for i = 1, 40 do s = s .. s end return #s",
            b"redis.register_function('f', function() while true do end end)\nwhile true do end",
        ] {
            h.run(mode, body);
        }
    }
    assert!(
        start.elapsed().as_secs() < 60,
        "bounded scripts took {:?}",
        start.elapsed()
    );
    // The budget error reaches the client.
    let r = h.call(&[b"EVAL", b"while true do end", b"0"]);
    assert!(format!("{r:?}").contains("budget"), "{r:?}");
}

// ---- RESTORE -------------------------------------------------------------

/// Valid DUMP payloads of every type and encoding, from the server itself.
fn restore_seeds() -> Vec<Vec<u8>> {
    let mut p = inproc::InProc::new(ferrokv::config::Config::new());
    let setup: &[&[&str]] = &[
        &["SET", "str", "hello"],
        &["SET", "int", "12345"],
        &["SET", "bigstr", &"abc".repeat(40)],
        &["RPUSH", "list", "a", "b", "1", "2"],
        &["HSET", "hash", "f", "v", "g", "1"],
        &["SADD", "intset", "1", "2", "300000"],
        &["SADD", "set", "a", "b", "c"],
        &["ZADD", "zset", "1", "a", "2.5", "b"],
        &["PFADD", "hll", "a", "b", "c"],
        &["XADD", "stream", "1-1", "f", "v"],
        &["XADD", "stream", "2-1", "f", "v", "g", "w"],
        &["XGROUP", "CREATE", "stream", "grp", "0"],
        &[
            "XREADGROUP",
            "GROUP",
            "grp",
            "alice",
            "COUNT",
            "1",
            "STREAMS",
            "stream",
            ">",
        ],
    ];
    for cmd in setup {
        assert!(!p.call_str(cmd).is_error(), "{cmd:?}");
    }
    for i in 0..200 {
        let (f, m) = (format!("field{i}"), format!("member-{i}"));
        p.call_str(&["HSET", "bighash", &f, "value"]);
        p.call_str(&["SADD", "bigset", &m]);
        p.call_str(&["ZADD", "bigzset", &i.to_string(), &m]);
        p.call_str(&["RPUSH", "biglist", &m]);
    }
    let keys = [
        "str", "int", "bigstr", "list", "hash", "intset", "set", "zset", "hll", "stream",
        "bighash", "bigset", "bigzset", "biglist",
    ];
    keys.iter()
        .map(|k| {
            let d = p.call_str(&["DUMP", k]);
            let d = d.bulk().expect("DUMP").to_vec();
            d[..d.len() - 10].to_vec() // the body: the harness adds the footer
        })
        .collect()
}

#[test]
fn restore_survives_mutated_payloads() {
    let mut h = restore_driver::RestoreHarness::new();
    let replayed = replay("restore_cmd", |d| h.run_input(d));
    let seeds = restore_seeds();
    let mut rng = rng(2);
    let start = std::time::Instant::now();
    // Unmutated seeds must restore under every variant.
    for s in &seeds {
        for flags in 0..64u8 {
            h.run(flags, 1, &restore_driver::with_footer(s, 10));
        }
    }
    const SPECIAL: &[u8] = &[0, 1, 2, 0x7f, 0x80, 0xc0, 0xfe, 0xff, 0x0e, 0x10, 0x13];
    for _ in 0..cases(1500) {
        let mut body = seeds[rng.gen_range(0..seeds.len())].clone();
        mutate(&mut rng, &mut body, SPECIAL);
        let mut input = vec![rng.gen(), rng.gen()];
        input.extend_from_slice(&body);
        h.run_input(&input);
    }
    eprintln!(
        "restore_cmd: {replayed} regressions + generated cases in {:?}",
        start.elapsed()
    );
}

// ---- config --------------------------------------------------------------

const CONFIG_LINES: &[&str] = &[
    "port 7000",
    "save \"\"",
    "save 900 1",
    "save 300 10 60 10000",
    "maxmemory 1gb",
    "maxmemory-policy allkeys-lru",
    "client-output-buffer-limit normal 0 0 0",
    "client-output-buffer-limit pubsub 32mb 8mb 60",
    "notify-keyspace-events KEA",
    "requirepass \"a b\"",
    "masterauth 'x y'",
    "bind 127.0.0.1 -::1",
    "dir .",
    "dir ..",
    "dbfilename \"dump 2.rdb\"",
    "loglevel verbose",
    "appendfsync always",
    "hash-max-ziplist-entries 10",
    "list-max-listpack-size -3",
    "user alice on >pw ~* +@all",
    "rename-command FLUSHALL \"\"",
    "lua-time-limit 100",
    "hz 50",
    "enable-debug-command local",
    "oom-score-adj-values 0 200 800",
    "unixsocketperm 700",
    "maxmemory-clients 10%",
    "slaveof 127.0.0.1 6380",
    "# comment",
    "   ",
    "tcp-keepalive \"300\"",
    "logfile \"\"",
];

const CONFIG_SET_PAIRS: &[(&str, &str)] = &[
    ("maxmemory", "100mb"),
    ("maxmemory", "-1"),
    ("maxmemory-policy", "volatile-lfu"),
    ("save", "900 1 300 10"),
    ("save", ""),
    (
        "client-output-buffer-limit",
        "normal 1mb 512kb 10 replica 0 0 0",
    ),
    ("notify-keyspace-events", "Ex$"),
    ("hz", "1000"),
    ("requirepass", "secret"),
    ("requirepass", ""),
    ("loglevel", "debug"),
    ("loglevel", "warning"),
    ("hash-max-listpack-entries", "0"),
    ("list-max-ziplist-size", "-6"),
    ("busy-reply-threshold", "10"),
    ("appendfsync", "no"),
    ("dir", "/"),
    ("port", "0"),
    ("bind", "127.0.0.1"),
    ("slowlog-log-slower-than", "-1"),
    ("maxclients", "1"),
    ("proto-max-bulk-len", "1kb"),
    ("oom-score-adj-values", "0 1 2"),
    ("latency-tracking-info-percentiles", "50 99.9"),
    ("nonexistent", "1"),
    ("timeout", "0x10"),
    ("active-expire-effort", "11"),
];

const CONFIG_SPECIAL: &[u8] = b" \t\"'\\\n\r#-0123456789kmgbKMGB%";

#[test]
fn config_survives_generated_input() {
    let mut h = config_driver::ConfigHarness::new();
    let replayed = replay("config", |d| h.run_input(d));
    let mut rng = rng(3);
    let start = std::time::Instant::now();
    for _ in 0..cases(800) {
        let mut input = vec![rng.gen::<u8>()];
        if input[0] & 1 == 0 {
            let mut text = Vec::new();
            for _ in 0..rng.gen_range(1..8) {
                text.extend_from_slice(
                    CONFIG_LINES[rng.gen_range(0..CONFIG_LINES.len())].as_bytes(),
                );
                text.push(b'\n');
            }
            if rng.gen_bool(0.5) {
                mutate(&mut rng, &mut text, CONFIG_SPECIAL);
            }
            input.extend_from_slice(&text);
        } else {
            for c in 0..rng.gen_range(1..4) {
                if c > 0 {
                    input.push(0xff);
                }
                for w in 0..rng.gen_range(1..4) {
                    let (n, v) = CONFIG_SET_PAIRS[rng.gen_range(0..CONFIG_SET_PAIRS.len())];
                    if w > 0 {
                        input.push(0);
                    }
                    input.extend_from_slice(n.as_bytes());
                    input.push(0);
                    let mut v = v.as_bytes().to_vec();
                    if rng.gen_bool(0.3) {
                        mutate(&mut rng, &mut v, CONFIG_SPECIAL);
                    }
                    input.extend_from_slice(&v);
                }
            }
        }
        h.run_input(&input);
    }
    eprintln!(
        "config: {replayed} regressions + generated cases in {:?}",
        start.elapsed()
    );
}

// ---- inline commands -----------------------------------------------------

#[test]
fn inline_commands_match_redis_model() {
    let replayed = replay("inline_parser", inline_driver::run_input);
    let mut rng = rng(4);
    const WORDS: &[&[u8]] = &[
        b"SET",
        b"get",
        b"k",
        b"\"a b\"",
        b"'it\\'s'",
        b"\"\\x41\\n\"",
        b"\"\\xZZ\"",
        b"\"\\x4\"",
        b"''",
        b"\"",
        b"'",
        b"  ",
        b"\t",
        b"\"q\"x",
        b"'q'x",
        b"\"\\\"\"",
        b"\xff\xfe",
        b"\x0c",
        b"\"a\"\t",
        b"\r",
        b"\\",
    ];
    const SPECIAL: &[u8] = b" \t\r\n\"'\\x0aF\x0c";
    for _ in 0..cases(20_000) {
        let mut data = Vec::new();
        for _ in 0..rng.gen_range(1..6) {
            for _ in 0..rng.gen_range(0..6) {
                data.extend_from_slice(WORDS[rng.gen_range(0..WORDS.len())]);
                if rng.gen_bool(0.8) {
                    data.push(b' ');
                }
            }
            data.extend_from_slice(if rng.gen_bool(0.7) { b"\r\n" } else { b"\n" });
        }
        if rng.gen_bool(0.5) {
            mutate(&mut rng, &mut data, SPECIAL);
        }
        let chunk = rng.gen_range(1..64);
        inline_driver::check(&inline_driver::inline_only(&data), &[chunk]);
    }
    eprintln!("inline_parser: {replayed} regressions replayed");
}

#[test]
fn inline_model_agrees_on_known_cases() {
    use inline_driver::sdssplitargs;
    let v = |s: &[&str]| s.iter().map(|w| w.as_bytes().to_vec()).collect::<Vec<_>>();
    assert_eq!(
        sdssplitargs(b"set k \"a b\""),
        Some(v(&["set", "k", "a b"]))
    );
    assert_eq!(sdssplitargs(b"'it\\'s'"), Some(v(&["it's"])));
    assert_eq!(sdssplitargs(b"\"\\x41\""), Some(v(&["A"])));
    assert_eq!(sdssplitargs(b"\"a\"b"), None);
    assert_eq!(sdssplitargs(b"\"a"), None);
    assert_eq!(sdssplitargs(b"a\0b c"), Some(v(&["a"])));
    assert_eq!(sdssplitargs(b"\x0bping"), Some(v(&["ping"])));
}
