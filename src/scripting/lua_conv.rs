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

use super::lua_stack::{Stack, Type};
use super::vm::error_table;
use crate::protocol::reply::ReplyBuf;

/// Pushes the Lua value of the (complete, well-formed) reply in `buf`.
pub fn push_reply(st: &mut Stack, buf: &[u8]) {
    let mut p = 0;
    if buf.is_empty() {
        st.push_nil();
        return;
    }
    parse(st, buf, &mut p, true);
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
fn parse(st: &mut Stack, b: &[u8], p: &mut usize, push: bool) {
    if *p >= b.len() {
        if push {
            st.push_nil();
        }
        return;
    }
    let t = b[*p];
    match t {
        b'+' => {
            let s = line(b, p);
            if push {
                st.new_table(0, 1);
                st.push_bytes(s);
                st.raw_set_field(-2, c"ok");
            }
        }
        b'-' => {
            let s = line(b, p);
            if push {
                let mut v = Vec::with_capacity(s.len() + 1);
                v.push(b'-');
                v.extend_from_slice(s);
                error_table(st, &v);
                st.push_bool(true);
                st.raw_set_field(-2, c"ignore_error_stats_update");
            }
        }
        b':' => {
            let n = num(line(b, p));
            if push {
                st.push_number(n as f64);
            }
        }
        b'$' | b'=' => {
            let n = num(line(b, p));
            if n < 0 {
                if push {
                    st.push_bool(false);
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
                st.push_bytes(s);
            } else {
                let (fmt, text) = if s.len() >= 4 {
                    (&s[..3], &s[4..])
                } else {
                    (&b""[..], s)
                };
                st.new_table(0, 1);
                st.new_table(0, 2);
                st.push_bytes(text);
                st.raw_set_field(-2, c"string");
                st.push_bytes(fmt);
                st.raw_set_field(-2, c"format");
                st.raw_set_field(-2, c"verbatim_string");
            }
        }
        b'*' | b'>' => {
            let n = num(line(b, p));
            if n < 0 {
                if push {
                    st.push_bool(false);
                }
                return;
            }
            if push {
                st.new_table(n.min(1024) as usize, 0);
            }
            for j in 0..n {
                parse(st, b, p, push);
                if push {
                    st.raw_set_index(-2, j + 1);
                }
            }
        }
        b'%' | b'~' => {
            let n = num(line(b, p));
            if push {
                st.new_table(0, 1);
                st.new_table(0, n.clamp(0, 1024) as usize);
            }
            for _ in 0..n.max(0) {
                parse(st, b, p, push);
                if t == b'%' {
                    parse(st, b, p, push);
                } else if push {
                    st.push_bool(true);
                }
                if push {
                    if st.type_of(-2) == Type::Nil {
                        st.pop(2);
                    } else {
                        // Keys are never NaN (RESP integers are finite; doubles
                        // become tables), and nil ones are skipped above.
                        let _ = st.raw_set(-3);
                    }
                }
            }
            if push {
                let name = if t == b'%' { c"map" } else { c"set" };
                st.raw_set_field(-2, name);
            }
        }
        b'|' => {
            let n = num(line(b, p));
            for _ in 0..n.max(0) * 2 {
                parse(st, b, p, false);
            }
            parse(st, b, p, push);
        }
        b'_' => {
            line(b, p);
            if push {
                st.push_nil();
            }
        }
        b'#' => {
            let s = line(b, p);
            if push {
                st.push_bool(s == b"t");
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
                st.new_table(0, 1);
                st.push_number(v);
                st.raw_set_field(-2, c"double");
            }
        }
        b'(' => {
            let s = line(b, p);
            if push {
                st.new_table(0, 1);
                st.push_bytes(s);
                st.raw_set_field(-2, c"big_number");
            }
        }
        _ => {
            *p = b.len();
            if push {
                st.push_nil();
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
fn field(st: &Stack, name: &std::ffi::CStr) -> Type {
    st.raw_get_field(-1, name)
}

/// Writes the value on top of the stack as a reply into `out`, popping it.
/// `script_resp` is the protocol the script selected (booleans).
pub fn to_reply(st: &mut Stack, out: &mut ReplyBuf, script_resp: u8) {
    if !st.check_stack(4) {
        out.error_str("ERR reached lua stack limit");
        st.pop(1);
        return;
    }
    match st.type_of(-1) {
        Type::String => out.bulk(st.to_bytes(-1).unwrap_or_default()),
        Type::Boolean => {
            let b = st.to_boolean(-1);
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
        Type::Number => out.int(lua_number_to_i64(st.to_number(-1))),
        Type::Table => {
            table_to_reply(st, out, script_resp);
            return;
        }
        _ => out.null(),
    }
    st.pop(1);
}

/// A table as a reply. Deeply nested tables recurse through here and
/// [`to_reply`], so both stay small; the special tables are handled out
/// of line.
fn table_to_reply(st: &mut Stack, out: &mut ReplyBuf, resp: u8) {
    if special_to_reply(st, out, resp) {
        return;
    }
    let d = out.defer();
    let mut n = 0;
    let mut j: i64 = 1;
    loop {
        st.raw_get_index(-1, j);
        j += 1;
        if st.type_of(-1) == Type::Nil {
            st.pop(1);
            break;
        }
        to_reply(st, out, resp);
        n += 1;
    }
    out.set_array(d, n);
    st.pop(1);
}

/// The tables with an err / ok / double / big_number / verbatim_string /
/// map / set field: written (and popped) here, true; false for an array.
#[inline(never)]
fn special_to_reply(st: &mut Stack, out: &mut ReplyBuf, resp: u8) -> bool {
    if field(st, c"err") == Type::String {
        let msg = map_crlf(st.to_bytes(-1).unwrap_or_default());
        out.error_str(&String::from_utf8_lossy(&msg));
        st.pop(2);
        return true;
    }
    st.pop(1);
    if field(st, c"ok") == Type::String {
        let s = st.to_bytes(-1).unwrap_or_default();
        let s = s.split(|&b| b == 0).next().unwrap_or_default();
        out.simple_bytes(&map_crlf(s));
        st.pop(2);
        return true;
    }
    st.pop(1);
    if field(st, c"double") == Type::Number {
        out.double(st.to_number(-1));
        st.pop(2);
        return true;
    }
    st.pop(1);
    if field(st, c"big_number") == Type::String {
        out.big_number(&map_crlf(st.to_bytes(-1).unwrap_or_default()));
        st.pop(2);
        return true;
    }
    st.pop(1);
    if field(st, c"verbatim_string") == Type::Table {
        if field(st, c"format") == Type::String {
            let fmt = String::from_utf8_lossy(st.to_bytes(-1).unwrap_or_default()).into_owned();
            if st.raw_get_field(-2, c"string") == Type::String {
                let s = st.to_bytes(-1).unwrap_or_default();
                let fmt3: String = fmt.chars().take(3).collect();
                out.verbatim(s, &fmt3);
                st.pop(4);
                return true;
            }
            st.pop(1);
        }
        st.pop(1);
    }
    st.pop(1);
    if field(st, c"map") == Type::Table {
        let d = out.defer();
        let mut n = 0;
        st.for_each(-1, |st| {
            st.push_value(-2);
            to_reply(st, out, resp); // key (a copy)
            to_reply(st, out, resp); // value
            n += 1;
            true
        });
        out.set_map(d, n);
        st.pop(2);
        return true;
    }
    st.pop(1);
    if field(st, c"set") == Type::Table {
        let d = out.defer();
        let mut n = 0;
        st.for_each(-1, |st| {
            st.pop(1);
            st.push_value(-1);
            to_reply(st, out, resp);
            n += 1;
            true
        });
        out.set_set(d, n);
        st.pop(2);
        return true;
    }
    st.pop(1);
    false
}
