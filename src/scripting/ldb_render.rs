//! Text helpers of the Lua debugger (`ldb.rs`), as eval.c writes them:
//! the debugger's own request parser (ldbReplParseCommand, a forgiving
//! RESP subset), Redis replies rendered for humans
//! (ldbRedisProtocolToHuman), Lua values rendered for humans
//! (ldbCatStackValue) and the C library behaviours those lean on (`atoi`,
//! `%g`, C strings ending at the first NUL).

use super::vm::{to_bytes, LuaState};
use crate::util::repr::quote_into;
use mlua_sys as ffi;
use std::os::raw::c_int;

/// Longest request a debugger command may have (argument count and
/// argument length both).
const MAX_REQ_ITEMS: i64 = 1024;

/// What [`parse_command`] found in the debugger's input buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Command(Vec<Vec<u8>>),
    /// Incomplete: read more.
    More,
    /// Redis's "protocol error" (the script is stopped with it).
    ProtocolError,
}

/// The part of `b` a C string function sees: up to the first NUL.
pub fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(p) => &b[..p],
        None => b,
    }
}

/// C's `atoi`, which returns an int (`util::num::atoi` truncated to 32 bits).
pub fn atoi(b: &[u8]) -> i64 {
    crate::util::num::atoi(b) as i32 as i64
}

/// `strstr(buf + from, "\r\n")` on a C string: the CRLF's position.
fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let s = c_str(buf.get(from..)?);
    s.windows(2).position(|w| w == b"\r\n").map(|p| from + p)
}

/// ldbReplParseCommand: one `*<n>\r\n$<len>\r\n<arg>\r\n...` request at
/// the start of `buf` (anything before the first `*` is skipped). As in
/// Redis, counts and lengths must be 1..=1024, and the searches stop at a
/// NUL byte like the C string functions Redis uses.
pub fn parse_command(buf: &[u8]) -> Parsed {
    if buf.is_empty() {
        return Parsed::More;
    }
    let Some(star) = c_str(buf).iter().position(|&c| c == b'*') else {
        return Parsed::ProtocolError;
    };
    let Some(crlf) = find_crlf(buf, star) else {
        return Parsed::More;
    };
    let argc = atoi(&buf[star + 1..crlf]);
    if argc <= 0 || argc > MAX_REQ_ITEMS {
        return Parsed::ProtocolError;
    }
    let mut p = crlf + 2;
    let mut argv = Vec::with_capacity(argc as usize);
    while (argv.len() as i64) < argc {
        match buf.get(p) {
            None | Some(0) => return Parsed::More,
            Some(b'$') => {}
            Some(_) => return Parsed::ProtocolError,
        }
        let Some(crlf) = find_crlf(buf, p) else {
            return Parsed::More;
        };
        let slen = atoi(&buf[p + 1..crlf]);
        if slen <= 0 || slen > MAX_REQ_ITEMS {
            return Parsed::ProtocolError;
        }
        p = crlf + 2;
        let end = p + slen as usize;
        if end + 2 > buf.len() {
            return Parsed::More;
        }
        argv.push(buf[p..end].to_vec());
        p = end;
        if &buf[p..p + 2] != b"\r\n" {
            return Parsed::ProtocolError;
        }
        p += 2;
    }
    Parsed::Command(argv)
}

/// C's `%g` (six significant digits), with glibc's inf/nan spellings.
pub fn format_pct_g(v: f64, out: &mut Vec<u8>) {
    if v.is_nan() {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
    } else if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
    } else {
        crate::util::num::format_g(v, 6, out);
    }
}

/// The end of the line starting at `p` (`strchr(reply + 1, '\r')`).
fn line_end(reply: &[u8], p: usize) -> usize {
    reply
        .get(p + 1..)
        .and_then(|r| r.iter().position(|&c| c == b'\r'))
        .map(|e| p + 1 + e)
        .unwrap_or(reply.len())
}

fn header_len(reply: &[u8], p: usize, e: usize) -> i64 {
    crate::util::num::parse_i64(reply.get(p + 1..e).unwrap_or_default()).unwrap_or(0)
}

/// ldbRedisProtocolToHuman: appends the reply at `p` in human form and
/// returns where the next one starts. Types Redis's debugger does not know
/// (big numbers, verbatim strings, attributes) add nothing and are not
/// skipped, as in Redis.
pub fn reply_to_human(reply: &[u8], p: usize, out: &mut Vec<u8>) -> usize {
    let Some(&t) = reply.get(p) else {
        return p;
    };
    let e = line_end(reply, p);
    let after = (e + 2).min(reply.len());
    match t {
        b':' => {
            out.extend_from_slice(&reply[p + 1..e]);
            after
        }
        b'$' => {
            let n = header_len(reply, p, e);
            if n < 0 {
                out.extend_from_slice(b"NULL");
                return after;
            }
            let end = (after + n as usize).min(reply.len());
            quote_into(&reply[after..end], out);
            (end + 2).min(reply.len())
        }
        b'+' | b'-' => {
            quote_into(&reply[p..e], out);
            after
        }
        b'*' | b'~' | b'%' => {
            let n = header_len(reply, p, e);
            if t == b'*' && n < 0 {
                out.extend_from_slice(b"NULL");
                return after;
            }
            let (open, close): (&[u8], &[u8]) = match t {
                b'*' => (b"[", b"]"),
                b'~' => (b"~(", b")"),
                _ => (b"{", b"}"),
            };
            out.extend_from_slice(open);
            let mut q = after;
            for j in 0..n.max(0) {
                q = reply_to_human(reply, q, out);
                if t == b'%' {
                    out.extend_from_slice(b" => ");
                    q = reply_to_human(reply, q, out);
                }
                if j != n - 1 {
                    out.push(b',');
                }
            }
            out.extend_from_slice(close);
            q
        }
        b'_' => {
            out.extend_from_slice(b"(null)");
            after
        }
        b'#' => {
            out.extend_from_slice(if reply.get(p + 1) == Some(&b't') {
                b"#true"
            } else {
                b"#false"
            });
            after
        }
        b',' => {
            out.extend_from_slice(b"(double) ");
            out.extend_from_slice(&reply[p + 1..e]);
            after
        }
        _ => p,
    }
}

/// Nesting depth at which table dumps stop (LDB_MAX_VALUES_DEPTH).
const MAX_VALUES_DEPTH: u32 = (ffi::LUA_MINSTACK / 2) as u32;

/// ldbCatStackValue: appends the value at `idx` in human form — strings
/// quoted, numbers as `%g`, tables as `{1; 2}` when they look like an
/// array and `{[k]=v; ...}` otherwise (in `lua_next` order), other types
/// as `"function@0x..."`. The stack is left as it was.
///
/// # Safety
/// Valid state; `idx` a valid index. Reads only (`lua_next` over a
/// table, `lua_tolstring` on strings only): nothing here raises.
pub unsafe fn cat_value(l: LuaState, idx: c_int, out: &mut Vec<u8>) {
    // SAFETY: the caller upholds this function's contract: Valid state; `idx` a valid index. Reads
    // only (`lua_next` over a table, `lua_tolstring` on strings only): nothing here raises.
    unsafe { cat_value_rec(l, idx, 0, out) }
}

unsafe fn cat_value_rec(l: LuaState, idx: c_int, level: u32, out: &mut Vec<u8>) {
    // SAFETY: the contract of cat_value, which is its only caller (with itself): a valid state and
    // index; reads only.
    unsafe {
        let idx = if idx < 0 {
            ffi::lua_gettop(l) + idx + 1
        } else {
            idx
        };
        if level == MAX_VALUES_DEPTH {
            out.extend_from_slice(b"<max recursion level reached! Nested table?>");
            return;
        }
        let level = level + 1;
        let t = ffi::lua_type(l, idx);
        match t {
            ffi::LUA_TSTRING => quote_into(to_bytes(l, idx).unwrap_or_default(), out),
            ffi::LUA_TBOOLEAN => out.extend_from_slice(if ffi::lua_toboolean(l, idx) != 0 {
                b"true"
            } else {
                b"false"
            }),
            ffi::LUA_TNUMBER => format_pct_g(ffi::lua_tonumber(l, idx), out),
            ffi::LUA_TNIL => out.extend_from_slice(b"nil"),
            ffi::LUA_TTABLE => {
                if ffi::lua_checkstack(l, 5) == 0 {
                    out.extend_from_slice(b"<max recursion level reached! Nested table?>");
                    return;
                }
                // A protected table (the globals, a library) is shown with its
                // contents, as Redis shows its read-only tables.
                ffi::lua_pushvalue(l, idx);
                let top = ffi::lua_gettop(l);
                super::sandbox::see_through(l, top);
                let idx = top;
                let mut expected = 1.0;
                let mut is_array = true;
                let mut as_array = Vec::new();
                let mut as_map = Vec::new();
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, idx) != 0 {
                    if is_array
                        && (ffi::lua_type(l, -2) != ffi::LUA_TNUMBER
                            || ffi::lua_tonumber(l, -2) != expected)
                    {
                        is_array = false;
                    }
                    cat_value_rec(l, -1, level, &mut as_array);
                    as_array.extend_from_slice(b"; ");
                    as_map.push(b'[');
                    cat_value_rec(l, -2, level, &mut as_map);
                    as_map.extend_from_slice(b"]=");
                    cat_value_rec(l, -1, level, &mut as_map);
                    as_map.extend_from_slice(b"; ");
                    ffi::lua_pop(l, 1);
                    expected += 1.0;
                }
                ffi::lua_pop(l, 1);
                let repr = if is_array { as_array } else { as_map };
                out.push(b'{');
                out.extend_from_slice(&repr[..repr.len().saturating_sub(2)]);
                out.push(b'}');
            }
            ffi::LUA_TFUNCTION
            | ffi::LUA_TUSERDATA
            | ffi::LUA_TTHREAD
            | ffi::LUA_TLIGHTUSERDATA => {
                let p = ffi::lua_topointer(l, idx);
                let name = match t {
                    ffi::LUA_TFUNCTION => "function",
                    ffi::LUA_TUSERDATA => "userdata",
                    ffi::LUA_TTHREAD => "thread",
                    _ => "light-userdata",
                };
                // glibc's %p.
                let ptr = if p.is_null() {
                    "(nil)".to_string()
                } else {
                    format!("{:p}", p)
                };
                out.extend_from_slice(format!("\"{}@{}\"", name, ptr).as_bytes());
            }
            _ => out.extend_from_slice(b"\"<unknown-lua-type>\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn human(r: &[u8]) -> String {
        let mut out = Vec::new();
        reply_to_human(r, 0, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn parses_requests_like_redis() {
        assert_eq!(
            parse_command(b"*2\r\n$1\r\np\r\n$1\r\na\r\n"),
            Parsed::Command(vec![b"p".to_vec(), b"a".to_vec()])
        );
        assert_eq!(parse_command(b""), Parsed::More);
        assert_eq!(parse_command(b"*2\r\n$1\r\np\r\n"), Parsed::More);
        assert_eq!(parse_command(b"*2\r\n$1\r\np\r"), Parsed::More);
        assert_eq!(parse_command(b"garbage\r\n"), Parsed::ProtocolError);
        assert_eq!(parse_command(b"*0\r\n"), Parsed::ProtocolError);
        assert_eq!(parse_command(b"*1\r\n$0\r\n\r\n"), Parsed::ProtocolError);
        assert_eq!(parse_command(b"*1\r\n$2000\r\n"), Parsed::ProtocolError);
        assert_eq!(parse_command(b"*1\r\n:1\r\n"), Parsed::ProtocolError);
        assert_eq!(parse_command(b"*1\r\n$2\r\nabc\r\n"), Parsed::ProtocolError);
        // Junk before the '*' is skipped; arguments are binary.
        assert_eq!(
            parse_command(b"xx*1\r\n$3\r\na\0b\r\n"),
            Parsed::Command(vec![b"a\0b".to_vec()])
        );
        // A NUL where an argument header should start: wait for more.
        assert_eq!(parse_command(b"*1\r\n\0"), Parsed::More);
    }

    #[test]
    fn atoi_is_c() {
        assert_eq!(atoi(b" 12x"), 12);
        assert_eq!(atoi(b"-7"), -7);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"+3"), 3);
    }

    #[test]
    fn replies_for_humans() {
        assert_eq!(human(b":12\r\n"), "12");
        assert_eq!(human(b"$-1\r\n"), "NULL");
        assert_eq!(human(b"$3\r\na\"b\r\n"), "\"a\\\"b\"");
        assert_eq!(human(b"+OK\r\n"), "\"+OK\"");
        assert_eq!(human(b"-ERR x\r\n"), "\"-ERR x\"");
        assert_eq!(human(b"*-1\r\n"), "NULL");
        assert_eq!(human(b"*0\r\n"), "[]");
        assert_eq!(human(b"*2\r\n:1\r\n*1\r\n$1\r\na\r\n"), "[1,[\"a\"]]");
        assert_eq!(human(b"~1\r\n:1\r\n"), "~(1)");
        assert_eq!(human(b"%1\r\n$1\r\nk\r\n:1\r\n"), "{\"k\" => 1}");
        assert_eq!(human(b"_\r\n"), "(null)");
        assert_eq!(human(b"#t\r\n"), "#true");
        assert_eq!(human(b"#f\r\n"), "#false");
        assert_eq!(human(b",1.5\r\n"), "(double) 1.5");
        assert_eq!(human(b"(123\r\n"), "");
    }

    #[test]
    fn pct_g() {
        let g = |v: f64| {
            let mut o = Vec::new();
            format_pct_g(v, &mut o);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(g(1.0), "1");
        assert_eq!(g(1.5), "1.5");
        assert_eq!(g(69900000.0), "6.99e+07");
        assert_eq!(g(f64::INFINITY), "inf");
        assert_eq!(g(0.1), "0.1");
    }
}
