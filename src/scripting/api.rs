//! The `redis` Lua table (script_lua.c's luaRegisterRedisAPI): call/pcall,
//! sha1hex, error_reply/status_reply, log, setresp, set_repl, breakpoint,
//! debug, acl_check_cmd, version constants, the Redis `pcall` wrapper and
//! the deterministic math.random/randomseed.

use super::vm::{push_error_msg, push_error_table, push_str, set_fn, set_num, to_bytes, LuaState};
use super::{current_run, lua_conv};
use crate::commands::Args;
use mlua_sys as ffi;
use std::cell::Cell;
use std::os::raw::c_int;

/// Redis 7.0.15 as REDIS_VERSION_NUM (0x00MMmmpp).
const REDIS_VERSION_NUM: f64 = ((7 << 16) | 15) as f64;

/// Registers `redis`, replaces `pcall` and math.random/randomseed. Called
/// on the real globals before they are protected.
///
/// # Safety
/// Valid state.
pub unsafe fn register(l: LuaState) {
    ffi::lua_pushcfunction(l, redis_pcall_builtin);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"pcall".as_ptr());

    ffi::lua_createtable(l, 0, 32);
    let t = ffi::lua_gettop(l);
    set_fn(l, t, c"call", redis_call);
    set_fn(l, t, c"pcall", redis_pcall);
    set_fn(l, t, c"log", redis_log);
    set_num(l, t, c"LOG_DEBUG", 0.0);
    set_num(l, t, c"LOG_VERBOSE", 1.0);
    set_num(l, t, c"LOG_NOTICE", 2.0);
    set_num(l, t, c"LOG_WARNING", 3.0);
    set_num(l, t, c"REDIS_VERSION_NUM", REDIS_VERSION_NUM);
    push_str(l, crate::server::REDIS_VERSION);
    ffi::lua_setfield(l, t, c"REDIS_VERSION".as_ptr());
    set_fn(l, t, c"setresp", redis_setresp);
    set_fn(l, t, c"sha1hex", redis_sha1hex);
    set_fn(l, t, c"error_reply", redis_error_reply);
    set_fn(l, t, c"status_reply", redis_status_reply);
    set_fn(l, t, c"set_repl", redis_set_repl);
    set_num(l, t, c"REPL_NONE", 0.0);
    set_num(l, t, c"REPL_AOF", 1.0);
    set_num(l, t, c"REPL_SLAVE", 2.0);
    set_num(l, t, c"REPL_REPLICA", 2.0);
    set_num(l, t, c"REPL_ALL", 3.0);
    set_fn(l, t, c"replicate_commands", redis_replicate_commands);
    set_fn(l, t, c"breakpoint", redis_breakpoint);
    set_fn(l, t, c"debug", redis_debug);
    set_fn(l, t, c"acl_check_cmd", redis_acl_check_cmd);
    // redis.register_function exists only in FUNCTION LOAD's environment
    // (functions.rs): a function calling it at run time finds nil, as in
    // Redis.
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"redis".as_ptr());

    ffi::lua_getfield(l, ffi::LUA_GLOBALSINDEX, c"math".as_ptr());
    let m = ffi::lua_gettop(l);
    set_fn(l, m, c"random", math_random);
    set_fn(l, m, c"randomseed", math_randomseed);
    ffi::lua_pop(l, 1);

    ffi::lua_getfield(l, ffi::LUA_GLOBALSINDEX, c"string".as_ptr());
    let s = ffi::lua_gettop(l);
    set_fn(l, s, c"rep", string_rep);
    ffi::lua_pop(l, 1);
}

/// Output between busy checks in [`string_rep`].
const REP_CHUNK: usize = 8 << 20;

/// string.rep(s, n) as Lua 5.1's, but a long one (hundreds of MB) runs the
/// busy-script check every few MB, so "Slow script detected", BUSY replies
/// and SCRIPT KILL work while it builds (the count hook cannot fire inside
/// a C function). The result is built in a Lua userdata, through the
/// interpreter's allocator as the stock version's buffer is, by doubling
/// (a few large copies, not one per repetition).
unsafe extern "C-unwind" fn string_rep(l: LuaState) -> c_int {
    let mut len = 0usize;
    let p = ffi::luaL_checklstring(l, 1, &mut len);
    let n = ffi::luaL_checkinteger(l, 2) as c_int;
    if n <= 0 || len == 0 {
        push_str(l, "");
        return 1;
    }
    let Some(total) = len
        .checked_mul(n as usize)
        .filter(|&t| t < isize::MAX as usize)
    else {
        return ffi::luaL_error(l, c"not enough memory".as_ptr());
    };
    // Raises "not enough memory" itself; nothing here needs dropping.
    let buf = ffi::lua_newuserdata(l, total) as *mut u8;
    std::ptr::copy_nonoverlapping(p as *const u8, buf, len);
    // Copies are whole repetitions, so the pattern stays aligned.
    let max_step = (REP_CHUNK / len).max(1) * len;
    let mut filled = len;
    let mut since_check = 0usize;
    while filled < total {
        let step = filled.min(total - filled).min(max_step);
        // SAFETY: [0, step) and [filled, filled + step) lie inside the
        // userdata's `total` bytes and do not overlap (step <= filled).
        std::ptr::copy_nonoverlapping(buf, buf.add(filled), step);
        filled += step;
        since_check += step;
        if since_check >= REP_CHUNK {
            since_check = 0;
            if super::busy_check() {
                super::raise_killed(l);
            }
        }
    }
    ffi::lua_pushlstring(l, buf as *const std::os::raw::c_char, total);
    1
}

// ---- redis.call / redis.pcall ----------------------------------------------

unsafe fn generic_call(l: LuaState, raise: bool) -> Result<c_int, ()> {
    let Some(ctx) = current_run() else {
        push_error_table(
            l,
            b"redis.call/pcall can only be called inside a script invocation",
        );
        return Err(());
    };
    let argc = ffi::lua_gettop(l);
    if argc == 0 {
        push_error_table(
            l,
            b"Please specify at least one argument for this redis lib call",
        );
        return if raise { Err(()) } else { Ok(1) };
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(argc as usize);
    let mut bad = false;
    for j in 1..=argc {
        let start = buf.len();
        match ffi::lua_type(l, j) {
            ffi::LUA_TNUMBER => {
                // %.17g, not Lua's lossy %.14g.
                crate::util::num::format_g(ffi::lua_tonumber(l, j), 17, &mut buf);
                let n = ffi::lua_tonumber(l, j);
                if !n.is_finite() {
                    buf.truncate(start);
                    buf.extend_from_slice(if n.is_nan() {
                        b"nan"
                    } else if n > 0.0 {
                        b"inf"
                    } else {
                        b"-inf"
                    });
                }
            }
            ffi::LUA_TSTRING => buf.extend_from_slice(to_bytes(l, j).unwrap_or_default()),
            _ => {
                bad = true;
                break;
            }
        }
        ranges.push((start, buf.len() - start));
    }
    ffi::lua_settop(l, 0);
    if bad {
        push_error_table(
            l,
            b"Lua redis lib command arguments must be strings or integers",
        );
        return if raise { Err(()) } else { Ok(1) };
    }
    if ctx.in_call.get() {
        push_error_table(
            l,
            b"luaRedisGenericCommand() recursive call detected. Are you doing funny stuff with Lua debug hooks?",
        );
        return Ok(1);
    }
    let args = Args::new(&buf, &ranges);
    super::ldb::log_redis_command(&args);
    ctx.in_call.set(true);
    let res = super::script_call(ctx, &args);
    ctx.in_call.set(false);
    drop(ranges);
    drop(buf);
    match res {
        Err(msg) => {
            push_error_table(l, msg.as_bytes());
            // Counted by script_call already (luaRedisGenericCommand).
            ffi::lua_pushboolean(l, 1);
            ffi::lua_setfield(l, -2, c"ignore_error_stats_update".as_ptr());
            if raise {
                Err(())
            } else {
                Ok(1)
            }
        }
        Ok(reply) => {
            let is_err = reply.first() == Some(&b'-');
            lua_conv::push_reply(l, &reply);
            super::ldb::log_redis_reply(&reply);
            super::give_back_reply_buf(ctx, reply);
            if raise && is_err {
                Err(())
            } else {
                Ok(1)
            }
        }
    }
}

unsafe fn redis_call_impl(l: LuaState) -> Result<c_int, ()> {
    generic_call(l, true)
}
unsafe fn redis_pcall_impl(l: LuaState) -> Result<c_int, ()> {
    generic_call(l, false)
}
crate::lua_cfn!(redis_call, redis_call_impl);
crate::lua_cfn!(redis_pcall, redis_pcall_impl);

/// Lua's `pcall` as Redis 7.0 replaces it: an error table raised by
/// redis.call is returned as its message string, for compatibility.
unsafe extern "C-unwind" fn redis_pcall_builtin(l: LuaState) -> c_int {
    ffi::luaL_checkany(l, 1);
    let argc = ffi::lua_gettop(l);
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1);
    if ffi::lua_pcall(l, argc - 1, ffi::LUA_MULTRET, 0) != 0 {
        ffi::lua_remove(l, 1);
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            ffi::lua_getfield(l, -1, c"err".as_ptr());
            if ffi::lua_isstring(l, -1) != 0 {
                ffi::lua_replace(l, -2);
            } else {
                ffi::lua_pop(l, 1);
            }
        }
        ffi::lua_pushboolean(l, 0);
        ffi::lua_insert(l, 1);
    }
    ffi::lua_gettop(l)
}

// ---- helpers ----------------------------------------------------------------

unsafe fn redis_sha1hex_impl(l: LuaState) -> Result<c_int, ()> {
    if ffi::lua_gettop(l) != 1 {
        push_error_table(l, b"wrong number of arguments");
        return Err(());
    }
    let hex = sha1_hex(to_bytes(l, 1).unwrap_or_default());
    push_str(l, &hex);
    Ok(1)
}
crate::lua_cfn!(redis_sha1hex, redis_sha1hex_impl);

pub fn sha1_hex(b: &[u8]) -> String {
    sha1_smol::Sha1::from(b).digest().to_string()
}

unsafe fn redis_error_reply_impl(l: LuaState) -> Result<c_int, ()> {
    if ffi::lua_gettop(l) != 1 || ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
        push_error_table(l, b"wrong number or type of arguments");
        return Ok(1);
    }
    let s = to_bytes(l, 1).unwrap_or_default();
    // The message ends at the first NUL, as Redis reads it as a C string.
    let s = s.split(|&b| b == 0).next().unwrap_or_default();
    if s.first() == Some(&b'-') {
        let v = s.to_vec();
        push_error_table(l, &v);
    } else {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.push(b'-');
        v.extend_from_slice(s);
        push_error_table(l, &v);
    }
    Ok(1)
}
crate::lua_cfn!(redis_error_reply, redis_error_reply_impl);

unsafe fn redis_status_reply_impl(l: LuaState) -> Result<c_int, ()> {
    if ffi::lua_gettop(l) != 1 || ffi::lua_type(l, -1) != ffi::LUA_TSTRING {
        push_error_table(l, b"wrong number or type of arguments");
        return Ok(1);
    }
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_pushvalue(l, 1);
    ffi::lua_setfield(l, -2, c"ok".as_ptr());
    Ok(1)
}
crate::lua_cfn!(redis_status_reply, redis_status_reply_impl);

unsafe fn redis_log_impl(l: LuaState) -> Result<c_int, ()> {
    let argc = ffi::lua_gettop(l);
    if argc < 2 {
        push_error_table(l, b"redis.log() requires two arguments or more.");
        return Err(());
    }
    if ffi::lua_isnumber(l, 1) == 0 {
        push_error_table(l, b"First argument must be a number (log level).");
        return Err(());
    }
    let level = ffi::lua_tonumber(l, 1) as i64;
    if !(0..=3).contains(&level) {
        push_error_table(l, b"Invalid debug level.");
        return Err(());
    }
    let mut msg = Vec::new();
    for j in 2..=argc {
        if let Some(s) = to_bytes(l, j) {
            if j != 2 {
                msg.push(b' ');
            }
            msg.extend_from_slice(s);
        }
    }
    let msg = String::from_utf8_lossy(&msg);
    match level {
        0 => tracing::debug!("{}", msg),
        1 => tracing::debug!("{}", msg),
        2 => tracing::info!("{}", msg),
        _ => tracing::warn!("{}", msg),
    }
    Ok(0)
}
crate::lua_cfn!(redis_log, redis_log_impl);

unsafe fn redis_setresp_impl(l: LuaState) -> Result<c_int, ()> {
    let Some(ctx) = current_run() else {
        push_error_table(
            l,
            b"redis.setresp can only be called inside a script invocation",
        );
        return Err(());
    };
    if ffi::lua_gettop(l) != 1 {
        push_error_table(l, b"redis.setresp() requires one argument.");
        return Err(());
    }
    let resp = ffi::lua_tonumber(l, 1) as i64;
    if resp != 2 && resp != 3 {
        push_error_table(l, b"RESP version must be 2 or 3.");
        return Err(());
    }
    ctx.resp.set(resp as u8);
    Ok(0)
}
crate::lua_cfn!(redis_setresp, redis_setresp_impl);

unsafe fn redis_set_repl_impl(l: LuaState) -> Result<c_int, ()> {
    if current_run().is_none() {
        push_error_table(
            l,
            b"redis.set_repl can only be called inside a script invocation",
        );
        return Err(());
    }
    if ffi::lua_gettop(l) != 1 {
        push_error_table(l, b"redis.set_repl() requires two arguments.");
        return Err(());
    }
    let flags = ffi::lua_tonumber(l, -1) as i64;
    if flags & !3 != 0 {
        push_error_table(
            l,
            b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        );
        return Err(());
    }
    // REPL_AOF / REPL_REPLICA are propagate::TO_AOF / TO_REPL.
    if let Some(ctx) = current_run() {
        // SAFETY: no other reference to the server is live in a callback.
        let srv = &mut *ctx.srv;
        srv.prop.script_mask = flags as u8;
    }
    Ok(0)
}
crate::lua_cfn!(redis_set_repl, redis_set_repl_impl);

unsafe extern "C-unwind" fn redis_replicate_commands(l: LuaState) -> c_int {
    ffi::lua_pushboolean(l, 1);
    1
}

/// redis.breakpoint(): in a debugging session, stop at the next line
/// (true); otherwise false.
unsafe extern "C-unwind" fn redis_breakpoint(l: LuaState) -> c_int {
    let on = std::panic::catch_unwind(super::ldb::breakpoint).unwrap_or(false);
    ffi::lua_pushboolean(l, on as c_int);
    1
}

/// redis.debug(...): a log line in a debugging session, else nothing.
unsafe fn redis_debug_impl(l: LuaState) -> Result<c_int, ()> {
    super::ldb::debug(l);
    Ok(0)
}
crate::lua_cfn!(redis_debug, redis_debug_impl);

unsafe fn redis_acl_check_cmd_impl(l: LuaState) -> Result<c_int, ()> {
    let Some(ctx) = current_run() else {
        push_error_table(
            l,
            b"redis.acl_check_cmd can only be called inside a script invocation",
        );
        return Err(());
    };
    let argc = ffi::lua_gettop(l);
    if argc == 0 {
        push_error_table(
            l,
            b"Please specify at least one argument for this redis lib call",
        );
        return Err(());
    }
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    for j in 1..=argc {
        let Some(s) = to_bytes(l, j) else {
            ffi::lua_settop(l, 0);
            push_error_table(
                l,
                b"Lua redis lib command arguments must be strings or integers",
            );
            return Err(());
        };
        ranges.push((buf.len(), s.len()));
        buf.extend_from_slice(s);
    }
    ffi::lua_settop(l, 0);
    // SAFETY: see RunCtx: the server is only reached through this pointer
    // while the script runs.
    let srv = &*ctx.srv;
    let args = Args::new(&buf, &ranges);
    // The user of the client that runs the script (no ACL log entry).
    let allowed = srv.commands.resolve(&args).map(|idx| {
        let user = (*ctx.client).user;
        crate::commands::acl_cmd::permitted(srv, user, idx, &args)
    });
    drop(buf);
    drop(ranges);
    let Some(allowed) = allowed else {
        push_error_table(l, b"Invalid command passed to redis.acl_check_cmd()");
        return Err(());
    };
    ffi::lua_pushboolean(l, allowed as c_int);
    Ok(1)
}
crate::lua_cfn!(redis_acl_check_cmd, redis_acl_check_cmd_impl);

// ---- math.random ------------------------------------------------------------

thread_local! {
    /// redisLrand48's 48-bit state (rand.c), shared by both interpreters.
    static RAND48: Cell<u64> = const { Cell::new(0x1234_ABCD_330E) };
}

fn lrand48() -> i32 {
    RAND48.with(|s| {
        let x = (s.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB)) & 0xFFFF_FFFF_FFFF;
        s.set(x);
        (x >> 17) as i32
    })
}

const LRAND48_MAX: i64 = i32::MAX as i64;

unsafe extern "C-unwind" fn math_random(l: LuaState) -> c_int {
    if current_run().is_none() {
        push_error_msg(
            l,
            "math.random can only be called inside a script invocation",
        );
        ffi::lua_error(l);
    }
    let r = (lrand48() as i64 % LRAND48_MAX) as f64 / LRAND48_MAX as f64;
    match ffi::lua_gettop(l) {
        0 => ffi::lua_pushnumber(l, r),
        1 => {
            let u = ffi::luaL_checkinteger(l, 1) as i32;
            if u < 1 {
                ffi::luaL_argerror(l, 1, c"interval is empty".as_ptr());
            }
            ffi::lua_pushnumber(l, (r * u as f64).floor() + 1.0);
        }
        2 => {
            let lo = ffi::luaL_checkinteger(l, 1) as i32;
            let u = ffi::luaL_checkinteger(l, 2) as i32;
            if lo > u {
                ffi::luaL_argerror(l, 2, c"interval is empty".as_ptr());
            }
            ffi::lua_pushnumber(l, (r * (u as f64 - lo as f64 + 1.0)).floor() + lo as f64);
        }
        _ => {
            push_error_msg(l, "wrong number of arguments");
            ffi::lua_error(l);
        }
    }
    1
}

unsafe extern "C-unwind" fn math_randomseed(l: LuaState) -> c_int {
    if current_run().is_none() {
        push_error_msg(
            l,
            "math.randomseed can only be called inside a script invocation",
        );
        ffi::lua_error(l);
    }
    let seed = ffi::luaL_checkinteger(l, 1) as i32 as u32 as u64;
    RAND48.with(|s| s.set((seed << 16) | 0x330E));
    0
}
