//! The Lua sandbox against hostile scripts (issue #9 items 1–2): read-only
//! globals and library tables that no builtin can see through, no way to
//! plant code that runs in another user's script, no precompiled bytecode,
//! and Lua 5.1's known crashers (unpack overflow, bit.tohex). Each reply is
//! compared byte for byte with Debian's redis-server 7.0.15.

use crate::common;

use common::{RawConn, RealRedis, Server};

/// Scripts whose reply (or error) must equal Redis's exactly.
const CASES: &[&str] = &[
    "rawset(redis,'call',function() return 1 end)",
    "setmetatable(_G, nil)",
    "local g = getmetatable(_G); g.__index = {}",
    "return type(getmetatable(_G))",
    "return type(getmetatable(redis))",
    "getmetatable('').__index.upper = function() return 'x' end",
    "getmetatable('').__index = {}",
    "rawset(getmetatable(''),'x',1)",
    "return tostring(getmetatable('').__index == string)",
    "return type(getfenv)",
    "return type(setfenv)",
    "return type(newproxy)",
    "return type(rawget(_G,'redis'))",
    "return rawget(redis,'call') ~= nil",
    "local t={} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return t",
    "local n=0 for k,v in pairs(redis) do n=n+1 end return n",
    "return tostring(next(_G) ~= nil)",
    "return tostring(_G._G == _G)",
    "rawset(_G,'x',1)",
    "redis = 1",
    "_G.x = 1",
    "string.x = 1",
    "cjson.encode = function() return 1 end",
    "setmetatable(redis, {})",
    "table.insert(redis, 1)",
    "return {pcall(table.insert, redis, 1)}",
    "table.sort(string)",
    "return table.remove(redis)",
    "local t = {3,1,2} table.sort(t) table.insert(t, 9) return t",
    "local mt = getmetatable(_G) return type(mt.__index)",
    "KEYS[1]='z'; return KEYS[1]",
    "local t = setmetatable({}, {__metatable='locked'}) return getmetatable(t)",
    "local t = setmetatable({}, {__metatable='locked'}) setmetatable(t, {})",
    "return select(2, pcall(setmetatable, {}, {}))",
    "return ('abc'):upper()",
    // Bytecode never loads; text still does.
    "return select(2, loadstring(string.char(27)..'Lua'))",
    "return select(2, loadstring(string.char(27)..'LuaQ\\001\\004\\008'))",
    "return select(2, load(function() return string.char(27)..'LuaQ' end))",
    "return type(load(function() return nil end))",
    "return loadstring('return 1')()",
    "local s = string.dump(function() return 1 end) return {loadstring(s)}",
    // Lua 5.1 crashers Redis patched.
    "return {unpack({1,2,3}, -2, 2147483647)}",
    "return {unpack({1,2,3}, 0, 2147483647)}",
    "return {unpack({1,2,3}, -2147483648, -2)}",
    "return select('#', unpack({}, -2147483648, 2147483647))",
    "return {unpack({1,2,3}, 1, -1)}",
    "local n, v = select('#', unpack({1,2,3}, -1, 5)), {unpack({1,2,3}, -1, 5)} \
     for i = 1, n do v[i] = v[i] or '_NIL_' end return v",
    "return bit.tohex(65535, -2147483648)",
    // Library and redis.* argument errors, worded as Redis's.
    "return cmsgpack.pack()",
    "return redis.call()",
    "return redis.pcall()",
    "return redis.call('get', {})",
    "return redis.call('get')",
    "return redis.sha1hex()",
    "return redis.error_reply()",
    "return redis.setresp()",
    "return redis.log()",
    "return redis.set_repl()",
    "return math.random(1,2,3)",
    // Errors the Rust libraries raise through lua_stack's trampoline (after
    // the Rust body returned): luaL_argerror / luaL_typerror texts with the
    // calling name, luaL_error with the Lua position, plain raises.
    "return bit.band('x', 1)",
    "local f = bit.band; return f(1, {})",
    "return bit.tohex()",
    "return {bit.tobit(2^32+5), bit.bnot(0), bit.bor(1,2,4), bit.rol(1, 33), bit.bswap(0x12345678)}",
    "return cjson.encode(function() end)",
    "return cjson.encode({a=0/0})",
    "return cjson.encode({[{}]=1})",
    "return cjson.decode('{\"a\":1,}')",
    "return cjson.decode(123)",
    "return cjson.encode_max_depth(0)",
    "return cjson.encode_max_depth('x')",
    "return cjson.encode_keep_buffer('bogus')",
    "return cjson.encode_sparse_array(1,2,3,4)",
    "return {cjson.encode_sparse_array(true, 5, 6)}",
    "return cjson.decode_max_depth(2) .. cjson.decode('[[1]]')[1][1]",
    "return cjson.decode('[[[1]]]')",
    "return cmsgpack.unpack(cmsgpack.pack({1,2,{a='x'}}, 'hello', true, 3.5))",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 'x')}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 'y')}",
    "return cmsgpack.unpack('\\146\\1')",
    "return cmsgpack.unpack('\\129\\203\\127\\248\\0\\0\\0\\0\\0\\0\\1')",
    "return {struct.unpack('>I2i4', struct.pack('>I2i4', 513, -7))}",
    "return struct.pack('i', 'x')",
    "return struct.unpack('c0', 'abc')",
    "return string.rep('ab', 'x')",
    "return string.rep(12, 2)",
    "return math.random(0)",
    "return math.random(5,1)",
    "return redis.sha1hex(1)",
    "return redis.acl_check_cmd('nosuchcmd')",
    "return redis.acl_check_cmd({})",
    "return {double=3.5}",
];

fn eval(c: &mut RawConn, body: &[u8]) -> Vec<u8> {
    c.cmd_bytes(&[b"EVAL", body, b"0"])
}

#[test]
fn sandbox_replies_match_redis() {
    let ours = Server::start(&[]);
    let theirs = RealRedis::start();
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    let mut diffs = Vec::new();
    for case in CASES {
        let (x, y) = (eval(&mut a, case.as_bytes()), eval(&mut b, case.as_bytes()));
        if x != y {
            diffs.push(format!(
                "{case}\n  ferrokv: {}\n  redis:   {}",
                common::escape(&x),
                common::escape(&y)
            ));
        }
    }
    assert!(diffs.is_empty(), "differences:\n{}", diffs.join("\n"));
    assert_eq!(a.cmd_str(&["PING"]), "+PONG\r\n");
    ours.assert_no_panic();
}

#[test]
fn bytecode_is_refused_everywhere_code_enters() {
    let ours = Server::start(&[]);
    let theirs = RealRedis::start();
    let chunk: &[u8] = b"\x1bLuaQ\x00\x01\x04\x08\x04\x08\x00garbage";
    let mut lib = b"#!lua name=bc\n".to_vec();
    lib.extend_from_slice(chunk);
    let cmds: [Vec<&[u8]>; 3] = [
        vec![b"EVAL", chunk, b"0"],
        vec![b"SCRIPT", b"LOAD", chunk],
        vec![b"FUNCTION", b"LOAD", &lib],
    ];
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    for cmd in &cmds {
        let (x, y) = (a.cmd_bytes(cmd), b.cmd_bytes(cmd));
        assert_eq!(common::escape(&x), common::escape(&y), "{:?}", cmd[0]);
        assert!(
            x.starts_with(b"-ERR Error compiling"),
            "{}",
            common::escape(&x)
        );
    }
    assert_eq!(a.cmd_str(&["PING"]), "+PONG\r\n");
}

/// One user plants a wrapper around redis.call (and the string library)
/// that would copy another user's data; every write is refused and the
/// other user's script sees the real functions.
#[test]
fn no_code_planted_across_users() {
    let srv = Server::start(&[]);
    let mut admin = srv.conn();
    admin.cmd(&["SET", "admin:secret", "s3cret"]);
    admin.cmd(&[
        "ACL",
        "SETUSER",
        "mallory",
        "on",
        ">pw",
        "~*",
        "-@all",
        "+eval",
        "+set",
        "+function",
        "+fcall",
    ]);
    let mut m = srv.conn();
    assert_eq!(m.cmd_str(&["AUTH", "mallory", "pw"]), "+OK\r\n");
    let attacks = [
        "local real = redis.call rawset(redis, 'call', function(...) \
           pcall(real, 'SET', 'stolen', real('GET', 'admin:secret')) return real(...) end)",
        "setmetatable(_G, {__index = function() return nil end})",
        "getmetatable('').__index.upper = function(s) return 'pwned' end",
        "rawset(getmetatable(''), '__index', {})",
        "table.insert(redis, 1)",
        "return setfenv(0, {})",
        "return getfenv(redis.call)",
        "return newproxy(true)",
    ];
    for a in attacks {
        let r = m.cmd_str(&["EVAL", a, "0"]);
        assert!(r.starts_with("-ERR"), "{a}: {r}");
    }
    // In a function library too (the load runs in the functions VM).
    let lib = "#!lua name=evil\nredis.register_function('f', function() \
        rawset(redis, 'call', function() return 'x' end) end)\n";
    assert_eq!(m.cmd_str(&["FUNCTION", "LOAD", lib]), "$4\r\nevil\r\n");
    assert!(m
        .cmd_str(&["FCALL", "f", "0"])
        .contains("Attempt to modify a readonly table"));
    // The admin's scripts see the genuine API.
    assert_eq!(
        admin.cmd_str(&[
            "EVAL",
            "return redis.call('GET', KEYS[1])",
            "1",
            "admin:secret"
        ]),
        "$6\r\ns3cret\r\n"
    );
    assert_eq!(
        admin.cmd_str(&["EVAL", "return ('abc'):upper() .. string.upper('d')", "0"]),
        "$4\r\nABCD\r\n"
    );
    assert_eq!(admin.cmd_str(&["EXISTS", "stolen"]), ":0\r\n");
    srv.assert_no_panic();
}

/// `setmetatable(_G, nil)` in a library used to leave the functions VM
/// without its globals metatable; the next FUNCTION LOAD then hit an
/// unprotected Lua error and the process aborted.
#[test]
fn function_load_cannot_break_the_functions_vm() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let evil = [
        "#!lua name=a\nsetmetatable(_G, nil)\n",
        "#!lua name=b\nredis.register_function('f', function() setmetatable(_G, nil) end)\n",
        "#!lua name=c\nrawset(redis, 'register_function', function() end)\n",
        "#!lua name=d\nredis.log = nil\n",
    ];
    for lib in evil {
        let _ = c.cmd_str(&["FUNCTION", "LOAD", lib]);
    }
    let _ = c.cmd_str(&["FCALL", "f", "0"]);
    let ok = "#!lua name=good\nredis.register_function('g', function() return 7 end)\n";
    assert_eq!(c.cmd_str(&["FUNCTION", "LOAD", ok]), "$4\r\ngood\r\n");
    assert_eq!(c.cmd_str(&["FCALL", "g", "0"]), ":7\r\n");
    srv.assert_no_panic();
}

/// A library whose top-level code loops fails
/// with Redis's "FUNCTION LOAD timeout" after 500 ms instead of holding
/// the server for ever.
#[test]
fn function_load_times_out_like_redis() {
    let ours = Server::start(&[]);
    let theirs = RealRedis::start();
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    for lib in [
        "#!lua name=spin\nwhile 1 do end\n",
        "#!lua name=spin2\nlocal x = 0 while true do x = x + 1 end\n",
    ] {
        let x = a.cmd_str(&["FUNCTION", "LOAD", lib]);
        let y = b.cmd_str(&["FUNCTION", "LOAD", lib]);
        assert_eq!(x, y, "{lib}");
        assert!(x.contains("FUNCTION LOAD timeout"), "{x}");
    }
    assert_eq!(a.cmd_str(&["PING"]), "+PONG\r\n");
}

/// Error values that crash redis-server 7.0.15 (signal 11, or an
/// unprotected Lua error while the error is read) are error replies here.
#[test]
fn error_values_that_crash_redis_are_error_replies() {
    if common::ferrokv_only("error values that crash Redis 7.0 are error replies") {
        return;
    }
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    for body in [
        "error()",
        "error({})",
        "error(setmetatable({}, {__index=function() error('boom') end}))",
        "error(_G)",
        "error(redis)",
        "return setmetatable({}, {__index=function() error('boom') end})",
    ] {
        let r = c.cmd_str(&["EVAL", body, "0"]);
        assert!(
            r.starts_with('-') || body.starts_with("return"),
            "{body}: {r}"
        );
        assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n", "{body}");
    }
    srv.assert_no_panic();
}

/// `lua-enable-deprecated-api yes` (Debian's hidden option, as its suite
/// runs it) brings getfenv/setfenv/newproxy back, but guarded: no real
/// table leaks, no shared environment changes, no finalizer ever runs.
#[test]
fn deprecated_api_is_guarded() {
    if common::ferrokv_only(
        "lua-enable-deprecated-api brings getfenv/setfenv/newproxy back with guards Redis lacks",
    ) {
        return;
    }
    let srv = Server::start(&["--lua-enable-deprecated-api", "yes"]);
    let mut c = srv.conn();
    for ok in [
        "local f = function() return 1 end setfenv(f, {}) return 0",
        "local f = function() return 1 end getfenv(f) return 0",
        "getmetatable(newproxy(true)).__gc = function() return 1 end return 0",
        "local f = function() return x end setfenv(f, {x = 7}) return f()",
    ] {
        let r = eval(&mut c, ok.as_bytes());
        assert!(
            r == b":0\r\n" || r == b":7\r\n",
            "{ok}: {}",
            common::escape(&r)
        );
    }
    for refused in [
        "local e = getfenv(redis.call) rawset(e, 'x', 1)",
        "getfenv(0).x = 1",
        "setfenv(0, {})",
        "setfenv(1, {})",
        "setfenv(redis.call, {})",
        "local m = getmetatable(newproxy(true)) setmetatable(m, nil)",
        "return newproxy({})",
    ] {
        let r = eval(&mut c, refused.as_bytes());
        assert!(r.starts_with(b"-ERR"), "{refused}: {}", common::escape(&r));
    }
    // A finalizer planted by any route never runs, in this script or later.
    let plant = "for i = 1, 100 do local u = newproxy(true) local m = getmetatable(u) \
                 m.__gc = function() redis.call('set', 'planted', '1') end \
                 rawset(m, '__gc', function() redis.call('set', 'planted', '1') end) end \
                 collectgarbage() return 1";
    assert_eq!(eval(&mut c, plant.as_bytes()), b":1\r\n");
    for _ in 0..200 {
        eval(
            &mut c,
            b"local t = {} for i = 1, 1000 do t[i] = {i} end return 1",
        );
    }
    assert_eq!(c.cmd_str(&["EXISTS", "planted"]), ":0\r\n");
    srv.assert_no_panic();
}
