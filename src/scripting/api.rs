//! The `redis` Lua table (script_lua.c's luaRegisterRedisAPI): call/pcall,
//! sha1hex, error_reply/status_reply, log, setresp, set_repl, breakpoint,
//! debug, acl_check_cmd, version constants, the Redis `pcall` wrapper and
//! the deterministic math.random/randomseed.

use super::libs::set_fn;
use super::lua_stack::{LuaError, Scalar, Stack, Type};
use super::vm::{error_table, LuaState};
use super::{lua_conv, run_of};
use crate::lua_fn;
use crate::protocol::args::Args;
use mlua_sys as ffi;
use std::cell::Cell;
use std::ffi::CStr;
use std::os::raw::c_int;

type R = Result<c_int, LuaError>;

/// Redis 7.0.15 as REDIS_VERSION_NUM (0x00MMmmpp).
const REDIS_VERSION_NUM: f64 = ((7 << 16) | 15) as f64;

fn set_num(st: &mut Stack, t: c_int, name: &CStr, n: f64) {
    st.push_number(n);
    st.raw_set_field(t, name);
}

/// Registers `redis`, replaces `pcall` and math.random/randomseed. Called
/// on the real globals before they are protected.
pub fn register(st: &mut Stack) {
    set_fn(st, ffi::LUA_GLOBALSINDEX, c"pcall", redis_pcall_builtin);

    st.new_table(0, 32);
    let t = st.top();
    set_fn(st, t, c"call", redis_call);
    set_fn(st, t, c"pcall", redis_pcall);
    set_fn(st, t, c"log", redis_log);
    set_num(st, t, c"LOG_DEBUG", 0.0);
    set_num(st, t, c"LOG_VERBOSE", 1.0);
    set_num(st, t, c"LOG_NOTICE", 2.0);
    set_num(st, t, c"LOG_WARNING", 3.0);
    set_num(st, t, c"REDIS_VERSION_NUM", REDIS_VERSION_NUM);
    st.push_str(crate::server::REDIS_VERSION);
    st.raw_set_field(t, c"REDIS_VERSION");
    set_fn(st, t, c"setresp", redis_setresp);
    set_fn(st, t, c"sha1hex", redis_sha1hex);
    set_fn(st, t, c"error_reply", redis_error_reply);
    set_fn(st, t, c"status_reply", redis_status_reply);
    set_fn(st, t, c"set_repl", redis_set_repl);
    set_num(st, t, c"REPL_NONE", 0.0);
    set_num(st, t, c"REPL_AOF", 1.0);
    set_num(st, t, c"REPL_SLAVE", 2.0);
    set_num(st, t, c"REPL_REPLICA", 2.0);
    set_num(st, t, c"REPL_ALL", 3.0);
    set_fn(st, t, c"replicate_commands", redis_replicate_commands);
    set_fn(st, t, c"breakpoint", redis_breakpoint);
    set_fn(st, t, c"debug", redis_debug);
    set_fn(st, t, c"acl_check_cmd", redis_acl_check_cmd);
    // redis.register_function exists only in FUNCTION LOAD's environment
    // (functions.rs): a function calling it at run time finds nil, as in
    // Redis.
    st.raw_set_field(ffi::LUA_GLOBALSINDEX, c"redis");

    st.raw_get_field(ffi::LUA_GLOBALSINDEX, c"math");
    let m = st.top();
    set_fn(st, m, c"random", math_random);
    set_fn(st, m, c"randomseed", math_randomseed);
    st.pop(1);

    st.raw_get_field(ffi::LUA_GLOBALSINDEX, c"string");
    let s = st.top();
    set_fn(st, s, c"rep", string_rep);
    st.pop(1);
}

/// Output between busy checks in [`string_rep`].
const REP_CHUNK: usize = 8 << 20;

/// string.rep(s, n) as Lua 5.1's, but a long one (hundreds of MB) runs the
/// busy-script check every few MB, so "Slow script detected", BUSY replies
/// and SCRIPT KILL work while it builds (the count hook cannot fire inside
/// a C function). The result is built in a Lua userdata, through the
/// interpreter's allocator as the stock version's buffer is, by doubling
/// (a few large copies, not one per repetition).
fn string_rep_body(st: &mut Stack) -> R {
    st.check_string(1)?;
    let n = st.check_integer(2)? as c_int;
    let len = st.to_bytes(1).map_or(0, <[u8]>::len);
    if n <= 0 || len == 0 {
        st.push_str("");
        return Ok(1);
    }
    let Some(total) = len
        .checked_mul(n as usize)
        .filter(|&t| t < isize::MAX as usize)
    else {
        return Err(LuaError::Msg("not enough memory".into()));
    };
    // Raises "not enough memory" itself: nothing here has a destructor
    // (lua_stack's rule 3).
    let buf = st.push_buffer(total);
    buf[..len].copy_from_slice(st.to_bytes(1).unwrap_or_default());
    // Copies are whole repetitions, so the pattern stays aligned.
    let max_step = (REP_CHUNK / len).max(1) * len;
    let mut filled = len;
    let mut since_check = 0usize;
    while filled < total {
        let step = filled.min(total - filled).min(max_step);
        buf.copy_within(..step, filled);
        filled += step;
        since_check += step;
        if since_check >= REP_CHUNK {
            since_check = 0;
            if super::busy_check(st) {
                return Err(LuaError::Killed);
            }
        }
    }
    st.push_bytes(buf);
    Ok(1)
}
lua_fn!(string_rep, string_rep_body);

// ---- redis.call / redis.pcall ----------------------------------------------

/// An error table for redis.call (raised) or redis.pcall (returned).
fn call_error(st: &mut Stack, raise: bool, msg: &[u8]) -> R {
    error_table(st, msg);
    if raise {
        Err(LuaError::Top)
    } else {
        Ok(1)
    }
}

fn generic_call(st: &mut Stack, raise: bool) -> R {
    let Some(ctx) = run_of(st) else {
        return Err(LuaError::Table(
            b"redis.call/pcall can only be called inside a script invocation".to_vec(),
        ));
    };
    let argc = st.top();
    if argc == 0 {
        return call_error(
            st,
            raise,
            b"Please specify at least one argument for this redis lib call",
        );
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(argc as usize);
    let mut bad = false;
    for j in 1..=argc {
        let start = buf.len();
        match st.scalar(j) {
            Scalar::Num(n) => {
                // %.17g, not Lua's lossy %.14g.
                crate::util::num::format_g(n, 17, &mut buf);
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
            Scalar::Str(b) => buf.extend_from_slice(b),
            Scalar::Other(_) => {
                bad = true;
                break;
            }
        }
        ranges.push((start, buf.len() - start));
    }
    st.set_top(0);
    if bad {
        return call_error(
            st,
            raise,
            b"Lua redis lib command arguments must be strings or integers",
        );
    }
    if ctx.in_call.get() {
        error_table(
            st,
            b"luaRedisGenericCommand() recursive call detected. Are you doing funny stuff with Lua debug hooks?",
        );
        return Ok(1);
    }
    let args = Args::new(&buf, &ranges);
    super::ldb::log_redis_command(ctx, &args);
    ctx.in_call.set(true);
    let res = super::script_call(ctx, &args);
    ctx.in_call.set(false);
    match res {
        Err(msg) => {
            error_table(st, msg.as_bytes());
            // Counted by script_call already (luaRedisGenericCommand).
            st.push_bool(true);
            st.raw_set_field(-2, c"ignore_error_stats_update");
            if raise {
                Err(LuaError::Top)
            } else {
                Ok(1)
            }
        }
        Ok(reply) => {
            let is_err = reply.first() == Some(&b'-');
            lua_conv::push_reply(st, &reply);
            super::ldb::log_redis_reply(ctx, &reply);
            super::give_back_reply_buf(ctx, reply);
            if raise && is_err {
                Err(LuaError::Top)
            } else {
                Ok(1)
            }
        }
    }
}

fn redis_call_body(st: &mut Stack) -> R {
    generic_call(st, true)
}
fn redis_pcall_body(st: &mut Stack) -> R {
    generic_call(st, false)
}
lua_fn!(redis_call, redis_call_body);
lua_fn!(redis_pcall, redis_pcall_body);

/// Lua's `pcall` as Redis 7.0 replaces it: an error table raised by
/// redis.call is returned as its message string, for compatibility.
///
/// A plain C function over the raw API (it calls Lua, and reads the
/// error's `err` field through metamethods as Redis does): it holds no
/// Rust value, so its raises (luaL_checkany, a metamethod's error) cross
/// only plain frames (lua_stack's rule 1).
///
/// # Safety
/// Only Lua calls it, with a valid state.
unsafe extern "C-unwind" fn redis_pcall_builtin(l: LuaState) -> c_int {
    // SAFETY: Lua called us with `l` valid; this frame holds nothing with
    // a destructor, and every index used is within the C function's
    // stack (its arguments, then the results lua_pcall leaves).
    unsafe {
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
}

// ---- helpers ----------------------------------------------------------------

fn redis_sha1hex_body(st: &mut Stack) -> R {
    if st.top() != 1 {
        return Err(LuaError::Table(b"wrong number of arguments".to_vec()));
    }
    st.coerce_to_string(1);
    let hex = sha1_hex(st.to_bytes(1).unwrap_or_default());
    st.push_str(&hex);
    Ok(1)
}
lua_fn!(redis_sha1hex, redis_sha1hex_body);

pub fn sha1_hex(b: &[u8]) -> String {
    sha1_smol::Sha1::from(b).digest().to_string()
}

fn redis_error_reply_body(st: &mut Stack) -> R {
    if st.top() != 1 || st.type_of(-1) != Type::String {
        error_table(st, b"wrong number or type of arguments");
        return Ok(1);
    }
    let s = st.to_bytes(1).unwrap_or_default();
    // The message ends at the first NUL, as Redis reads it as a C string.
    let s = s.split(|&b| b == 0).next().unwrap_or_default();
    let mut v = Vec::with_capacity(s.len() + 1);
    if s.first() != Some(&b'-') {
        v.push(b'-');
    }
    v.extend_from_slice(s);
    error_table(st, &v);
    Ok(1)
}
lua_fn!(redis_error_reply, redis_error_reply_body);

fn redis_status_reply_body(st: &mut Stack) -> R {
    if st.top() != 1 || st.type_of(-1) != Type::String {
        error_table(st, b"wrong number or type of arguments");
        return Ok(1);
    }
    st.new_table(0, 1);
    st.push_value(1);
    st.raw_set_field(-2, c"ok");
    Ok(1)
}
lua_fn!(redis_status_reply, redis_status_reply_body);

fn redis_log_body(st: &mut Stack) -> R {
    let argc = st.top();
    if argc < 2 {
        return Err(LuaError::Table(
            b"redis.log() requires two arguments or more.".to_vec(),
        ));
    }
    if !st.is_number(1) {
        return Err(LuaError::Table(
            b"First argument must be a number (log level).".to_vec(),
        ));
    }
    let level = st.to_number(1) as i64;
    if !(0..=3).contains(&level) {
        return Err(LuaError::Table(b"Invalid debug level.".to_vec()));
    }
    let mut msg = Vec::new();
    for j in 2..=argc {
        if st.coerce_to_string(j) {
            if j != 2 {
                msg.push(b' ');
            }
            msg.extend_from_slice(st.to_bytes(j).unwrap_or_default());
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
lua_fn!(redis_log, redis_log_body);

fn redis_setresp_body(st: &mut Stack) -> R {
    let Some(ctx) = run_of(st) else {
        return Err(LuaError::Table(
            b"redis.setresp can only be called inside a script invocation".to_vec(),
        ));
    };
    if st.top() != 1 {
        return Err(LuaError::Table(
            b"redis.setresp() requires one argument.".to_vec(),
        ));
    }
    let resp = st.to_number(1) as i64;
    if resp != 2 && resp != 3 {
        return Err(LuaError::Table(b"RESP version must be 2 or 3.".to_vec()));
    }
    ctx.resp.set(resp as u8);
    Ok(0)
}
lua_fn!(redis_setresp, redis_setresp_body);

fn redis_set_repl_body(st: &mut Stack) -> R {
    let Some(ctx) = run_of(st) else {
        return Err(LuaError::Table(
            b"redis.set_repl can only be called inside a script invocation".to_vec(),
        ));
    };
    if st.top() != 1 {
        return Err(LuaError::Table(
            b"redis.set_repl() requires two arguments.".to_vec(),
        ));
    }
    let flags = st.to_number(-1) as i64;
    if flags & !3 != 0 {
        return Err(LuaError::Table(
            b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."
                .to_vec(),
        ));
    }
    // REPL_AOF / REPL_REPLICA are propagate::TO_AOF / TO_REPL.
    super::set_script_repl_mask(ctx, flags as u8);
    Ok(0)
}
lua_fn!(redis_set_repl, redis_set_repl_body);

fn redis_replicate_commands_body(st: &mut Stack) -> R {
    st.push_bool(true);
    Ok(1)
}
lua_fn!(redis_replicate_commands, redis_replicate_commands_body);

/// redis.breakpoint(): in a debugging session, stop at the next line
/// (true); otherwise false.
fn redis_breakpoint_body(st: &mut Stack) -> R {
    let on = super::ldb::breakpoint(st);
    st.push_bool(on);
    Ok(1)
}
lua_fn!(redis_breakpoint, redis_breakpoint_body);

/// redis.debug(...): a log line in a debugging session, else nothing.
fn redis_debug_body(st: &mut Stack) -> R {
    super::ldb::debug(st);
    Ok(0)
}
lua_fn!(redis_debug, redis_debug_body);

fn redis_acl_check_cmd_body(st: &mut Stack) -> R {
    let Some(ctx) = run_of(st) else {
        return Err(LuaError::Table(
            b"redis.acl_check_cmd can only be called inside a script invocation".to_vec(),
        ));
    };
    let argc = st.top();
    if argc == 0 {
        return Err(LuaError::Table(
            b"Please specify at least one argument for this redis lib call".to_vec(),
        ));
    }
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    for j in 1..=argc {
        if !st.coerce_to_string(j) {
            st.set_top(0);
            return Err(LuaError::Table(
                b"Lua redis lib command arguments must be strings or integers".to_vec(),
            ));
        }
        let s = st.to_bytes(j).unwrap_or_default();
        ranges.push((buf.len(), s.len()));
        buf.extend_from_slice(s);
    }
    st.set_top(0);
    let args = Args::new(&buf, &ranges);
    let Some(allowed) = super::acl_check_script_cmd(ctx, &args) else {
        return Err(LuaError::Table(
            b"Invalid command passed to redis.acl_check_cmd()".to_vec(),
        ));
    };
    st.push_bool(allowed);
    Ok(1)
}
lua_fn!(redis_acl_check_cmd, redis_acl_check_cmd_body);

// ---- math.random ------------------------------------------------------------

thread_local! {
    /// redisLrand48's 48-bit state (rand.c), shared by both interpreters.
    /// Stays thread-local: an RNG that coordinates nothing (Redis keeps it
    /// global too), reached from math.random's C function.
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

fn math_random_body(st: &mut Stack) -> R {
    if run_of(st).is_none() {
        return Err(LuaError::Msg(
            "math.random can only be called inside a script invocation".into(),
        ));
    }
    let r = (lrand48() as i64 % LRAND48_MAX) as f64 / LRAND48_MAX as f64;
    match st.top() {
        0 => st.push_number(r),
        1 => {
            let u = st.check_integer(1)? as i32;
            if u < 1 {
                return Err(LuaError::Arg(1, b"interval is empty".to_vec()));
            }
            st.push_number((r * u as f64).floor() + 1.0);
        }
        2 => {
            let lo = st.check_integer(1)? as i32;
            let u = st.check_integer(2)? as i32;
            if lo > u {
                return Err(LuaError::Arg(2, b"interval is empty".to_vec()));
            }
            st.push_number((r * (u as f64 - lo as f64 + 1.0)).floor() + lo as f64);
        }
        _ => return Err(LuaError::Msg("wrong number of arguments".into())),
    }
    Ok(1)
}
lua_fn!(math_random, math_random_body);

fn math_randomseed_body(st: &mut Stack) -> R {
    if run_of(st).is_none() {
        return Err(LuaError::Msg(
            "math.randomseed can only be called inside a script invocation".into(),
        ));
    }
    let seed = st.check_integer(1)? as i32 as u32 as u64;
    RAND48.with(|s| s.set((seed << 16) | 0x330E));
    Ok(0)
}
lua_fn!(math_randomseed, math_randomseed_body);
