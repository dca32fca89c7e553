//! RESP <-> Lua conversions (script_lua.c's redisProtocolToLuaType and
//! luaReplyToRedisReply).
//!
//! Reply -> Lua (what redis.call returns): integer -> number, bulk ->
//! string, nil bulk / nil array -> false, array -> table, status ->
//! {ok=...}, error -> {err=...}; RESP3 (after redis.setresp(3)): map ->
//! {map={...}}, set -> {set={k=true}}, null -> nil, boolean -> boolean,
//! double -> {double=n}, big number -> {big_number=s}, verbatim ->
//! {verbatim_string={string=s, format=f}}; attributes are skipped.
//!
//! Lua -> reply (what a script returns): string -> bulk, number -> integer
//! (truncated), true -> 1 / false -> nil (RESP2) or booleans (RESP3),
//! tables: err / ok / double / big_number / verbatim_string / map / set
//! fields, else an array up to the first nil; anything else -> nil.

use super::vm::{push_bytes, push_error_table, to_bytes, LuaState};
use crate::protocol::reply::ReplyBuf;
use mlua_sys as ffi;
use std::os::raw::c_int;

/// Pushes the Lua value of the (complete, well-formed) reply in `buf`.
///
/// # Safety
/// Valid state.
pub unsafe fn push_reply(l: LuaState, buf: &[u8]) {
    let mut p = 0;
    if buf.is_empty() {
        ffi::lua_pushnil(l);
        return;
    }
    parse(l, buf, &mut p, true);
}

fn line<'a>(b: &'a [u8], p: &mut usize) -> &'a [u8] {
    let start = *p + 1;
    let mut e = start;
    while e + 1 < b.len() && !(b[e] == b'\r' && b[e + 1] == b'\n') {
        e += 1;
    }
    let e = e.min(b.len());
    *p = (e + 2).min(b.len());
    &b[start.min(e)..e]
}

fn num(s: &[u8]) -> i64 {
    crate::util::num::parse_i64(s).unwrap_or(0)
}

/// Parses one value at `*p`; pushes it when `push` (else just skips it).
unsafe fn parse(l: LuaState, b: &[u8], p: &mut usize, push: bool) {
    if *p >= b.len() {
        if push {
            ffi::lua_pushnil(l);
        }
        return;
    }
    if push {
        ffi::lua_checkstack(l, 5);
    }
    let t = b[*p];
    match t {
        b'+' => {
            let s = line(b, p);
            if push {
                ffi::lua_createtable(l, 0, 1);
                push_bytes(l, s);
                ffi::lua_setfield(l, -2, c"ok".as_ptr());
            }
        }
        b'-' => {
            let s = line(b, p);
            if push {
                let mut v = Vec::with_capacity(s.len() + 1);
                v.push(b'-');
                v.extend_from_slice(s);
                push_error_table(l, &v);
                ffi::lua_pushboolean(l, 1);
                ffi::lua_setfield(l, -2, c"ignore_error_stats_update".as_ptr());
            }
        }
        b':' => {
            let n = num(line(b, p));
            if push {
                ffi::lua_pushnumber(l, n as f64);
            }
        }
        b'$' | b'=' => {
            let n = num(line(b, p));
            if n < 0 {
                if push {
                    ffi::lua_pushboolean(l, 0);
                }
                return;
            }
            let start = (*p).min(b.len());
            let end = (start + n as usize).min(b.len());
            *p = (end + 2).min(b.len());
            if !push {
                return;
            }
            let s = &b[start..end];
            if t == b'$' {
                push_bytes(l, s);
            } else {
                let (fmt, text) = if s.len() >= 4 {
                    (&s[..3], &s[4..])
                } else {
                    (&b""[..], s)
                };
                ffi::lua_createtable(l, 0, 1);
                ffi::lua_createtable(l, 0, 2);
                push_bytes(l, text);
                ffi::lua_setfield(l, -2, c"string".as_ptr());
                push_bytes(l, fmt);
                ffi::lua_setfield(l, -2, c"format".as_ptr());
                ffi::lua_setfield(l, -2, c"verbatim_string".as_ptr());
            }
        }
        b'*' | b'>' => {
            let n = num(line(b, p));
            if n < 0 {
                if push {
                    ffi::lua_pushboolean(l, 0);
                }
                return;
            }
            if push {
                ffi::lua_createtable(l, n.min(1024) as c_int, 0);
            }
            for j in 0..n {
                parse(l, b, p, push);
                if push {
                    ffi::lua_rawseti(l, -2, (j + 1) as ffi::lua_Integer);
                }
            }
        }
        b'%' | b'~' => {
            let n = num(line(b, p));
            if push {
                ffi::lua_createtable(l, 0, 1);
                ffi::lua_createtable(l, 0, n.clamp(0, 1024) as c_int);
            }
            for _ in 0..n.max(0) {
                parse(l, b, p, push);
                if t == b'%' {
                    parse(l, b, p, push);
                } else if push {
                    ffi::lua_pushboolean(l, 1);
                }
                if push {
                    if ffi::lua_type(l, -2) == ffi::LUA_TNIL {
                        ffi::lua_pop(l, 2);
                    } else {
                        ffi::lua_rawset(l, -3);
                    }
                }
            }
            if push {
                let name = if t == b'%' { c"map" } else { c"set" };
                ffi::lua_setfield(l, -2, name.as_ptr());
            }
        }
        b'|' => {
            let n = num(line(b, p));
            for _ in 0..n.max(0) * 2 {
                parse(l, b, p, false);
            }
            parse(l, b, p, push);
        }
        b'_' => {
            line(b, p);
            if push {
                ffi::lua_pushnil(l);
            }
        }
        b'#' => {
            let s = line(b, p);
            if push {
                ffi::lua_pushboolean(l, (s == b"t") as c_int);
            }
        }
        b',' => {
            let s = line(b, p);
            if push {
                let v = match s {
                    b"inf" => f64::INFINITY,
                    b"-inf" => f64::NEG_INFINITY,
                    b"nan" | b"-nan" => f64::NAN,
                    _ => crate::util::num::parse_f64(s).unwrap_or(0.0),
                };
                ffi::lua_createtable(l, 0, 1);
                ffi::lua_pushnumber(l, v);
                ffi::lua_setfield(l, -2, c"double".as_ptr());
            }
        }
        b'(' => {
            let s = line(b, p);
            if push {
                ffi::lua_createtable(l, 0, 1);
                push_bytes(l, s);
                ffi::lua_setfield(l, -2, c"big_number".as_ptr());
            }
        }
        _ => {
            *p = b.len();
            if push {
                ffi::lua_pushnil(l);
            }
        }
    }
}

/// C's `(long long)d` on x86-64: truncation, and the "integer indefinite"
/// value for NaN and out-of-range numbers.
pub fn lua_number_to_i64(d: f64) -> i64 {
    if d.is_nan() || !(i64::MIN as f64..i64::MAX as f64).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// Maps CR/LF to spaces (sdsmapchars in the error/status paths).
pub fn map_crlf(s: &[u8]) -> Vec<u8> {
    s.iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
        .collect()
}

/// Rawgets `t[name]` for the table at -1 and returns its type (value
/// left on the stack).
unsafe fn field(l: LuaState, name: &std::ffi::CStr) -> c_int {
    ffi::lua_pushstring(l, name.as_ptr());
    ffi::lua_rawget(l, -2);
    ffi::lua_type(l, -1)
}

/// Writes the value on top of the stack as a reply into `out`, popping it.
/// `script_resp` is the protocol the script selected (booleans).
///
/// # Safety
/// Valid state with a value on top.
pub unsafe fn to_reply(l: LuaState, out: &mut ReplyBuf, script_resp: u8) {
    if ffi::lua_checkstack(l, 4) == 0 {
        out.error_str("ERR reached lua stack limit");
        ffi::lua_pop(l, 1);
        return;
    }
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => out.bulk(to_bytes(l, -1).unwrap_or_default()),
        ffi::LUA_TBOOLEAN => {
            let b = ffi::lua_toboolean(l, -1) != 0;
            if script_resp == 2 {
                if b {
                    out.int(1);
                } else {
                    out.null();
                }
            } else {
                out.boolean(b);
            }
        }
        ffi::LUA_TNUMBER => out.int(lua_number_to_i64(ffi::lua_tonumber(l, -1))),
        ffi::LUA_TTABLE => {
            table_to_reply(l, out, script_resp);
            return;
        }
        _ => out.null(),
    }
    ffi::lua_pop(l, 1);
}

unsafe fn table_to_reply(l: LuaState, out: &mut ReplyBuf, resp: u8) {
    if field(l, c"err") == ffi::LUA_TSTRING {
        let msg = map_crlf(to_bytes(l, -1).unwrap_or_default());
        out.error_str(&String::from_utf8_lossy(&msg));
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if field(l, c"ok") == ffi::LUA_TSTRING {
        let s = to_bytes(l, -1).unwrap_or_default();
        let s = s.split(|&b| b == 0).next().unwrap_or_default();
        out.simple_bytes(&map_crlf(s));
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if field(l, c"double") == ffi::LUA_TNUMBER {
        out.double(ffi::lua_tonumber(l, -1));
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if field(l, c"big_number") == ffi::LUA_TSTRING {
        out.big_number(&map_crlf(to_bytes(l, -1).unwrap_or_default()));
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if field(l, c"verbatim_string") == ffi::LUA_TTABLE {
        if field(l, c"format") == ffi::LUA_TSTRING {
            let fmt = String::from_utf8_lossy(to_bytes(l, -1).unwrap_or_default()).into_owned();
            ffi::lua_pushstring(l, c"string".as_ptr());
            ffi::lua_rawget(l, -3);
            if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
                let s = to_bytes(l, -1).unwrap_or_default();
                let fmt3: String = fmt.chars().take(3).collect();
                out.verbatim(s, &fmt3);
                ffi::lua_pop(l, 4);
                return;
            }
            ffi::lua_pop(l, 1);
        }
        ffi::lua_pop(l, 1);
    }
    ffi::lua_pop(l, 1);
    if field(l, c"map") == ffi::LUA_TTABLE {
        let d = out.defer();
        let mut n = 0;
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, -2) != 0 {
            ffi::lua_pushvalue(l, -2);
            to_reply(l, out, resp); // key
            to_reply(l, out, resp); // value
            n += 1;
        }
        out.set_map(d, n);
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    if field(l, c"set") == ffi::LUA_TTABLE {
        let d = out.defer();
        let mut n = 0;
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, -2) != 0 {
            ffi::lua_pop(l, 1);
            ffi::lua_pushvalue(l, -1);
            to_reply(l, out, resp);
            n += 1;
        }
        out.set_set(d, n);
        ffi::lua_pop(l, 2);
        return;
    }
    ffi::lua_pop(l, 1);
    let d = out.defer();
    let mut n = 0;
    let mut j: ffi::lua_Integer = 1;
    loop {
        ffi::lua_rawgeti(l, -1, j);
        j += 1;
        if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
            ffi::lua_pop(l, 1);
            break;
        }
        to_reply(l, out, resp);
        n += 1;
    }
    out.set_array(d, n);
    ffi::lua_pop(l, 1);
}
