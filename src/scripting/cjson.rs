//! `cjson` for scripts, following lua-cjson 2.1 (the version Redis ships):
//! encode (numbers as %.14g, '/' escaped, arrays detected from positive
//! integer keys with the "excessively sparse" check, empty table -> {}),
//! decode (objects/arrays to tables, null -> cjson.null), lua-cjson's
//! error texts, and its configuration functions (sparse arrays, nesting
//! depths, number precision, invalid numbers; kept per interpreter in an
//! upvalue shared by the cjson functions, as lua-cjson does).

use super::vm::{push_bytes, push_error_msg, to_bytes, LuaState};
use mlua_sys as ffi;
use std::io::Write;
use std::os::raw::c_int;

const MAX_DEPTH: usize = 1000;

/// # Safety
/// Valid state.
pub unsafe fn open(l: LuaState) {
    ffi::lua_createtable(l, 0, 16);
    let t = ffi::lua_gettop(l);
    // The configuration every function shares (lua-cjson keeps it in an
    // upvalue too): plain data, so the userdata needs no finalizer.
    let cfg = ffi::lua_newuserdata(l, std::mem::size_of::<Cfg>()) as *mut Cfg;
    cfg.write(Cfg::default());
    let cfg_idx = ffi::lua_gettop(l);
    let fns: [(&std::ffi::CStr, ffi::lua_CFunction); 9] = [
        (c"encode", json_encode),
        (c"decode", json_decode),
        (c"encode_sparse_array", cfg_encode_sparse_array),
        (c"encode_max_depth", cfg_encode_max_depth),
        (c"decode_max_depth", cfg_decode_max_depth),
        (c"encode_number_precision", cfg_encode_number_precision),
        (c"encode_keep_buffer", cfg_encode_keep_buffer),
        (c"encode_invalid_numbers", cfg_encode_invalid_numbers),
        (c"decode_invalid_numbers", cfg_decode_invalid_numbers),
    ];
    for (name, f) in fns {
        ffi::lua_pushvalue(l, cfg_idx);
        ffi::lua_pushcclosure(l, f, 1);
        ffi::lua_setfield(l, t, name.as_ptr());
    }
    ffi::lua_pop(l, 1);
    ffi::lua_pushlightuserdata(l, std::ptr::null_mut());
    ffi::lua_setfield(l, t, c"null".as_ptr());
    super::vm::push_str(l, "cjson");
    ffi::lua_setfield(l, t, c"_NAME".as_ptr());
    super::vm::push_str(l, "2.1.0");
    ffi::lua_setfield(l, t, c"_VERSION".as_ptr());
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"cjson".as_ptr());
}

/// lua-cjson's configuration (json_config_t), with its defaults.
#[derive(Clone, Copy)]
struct Cfg {
    sparse_convert: c_int,
    sparse_ratio: c_int,
    sparse_safe: c_int,
    encode_max_depth: c_int,
    decode_max_depth: c_int,
    /// 0 off, 1 on, 2 "null".
    encode_invalid_numbers: c_int,
    decode_invalid_numbers: c_int,
    keep_buffer: c_int,
    precision: c_int,
}

impl Default for Cfg {
    fn default() -> Cfg {
        Cfg {
            sparse_convert: 0,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: MAX_DEPTH as c_int,
            decode_max_depth: MAX_DEPTH as c_int,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: 1,
            keep_buffer: 1,
            precision: 14,
        }
    }
}

/// The configuration of the running cjson function (upvalue 1).
///
/// # Safety
/// Only from the functions `open` registers.
unsafe fn cfg<'a>(l: LuaState) -> &'a mut Cfg {
    &mut *(ffi::lua_touserdata(l, ffi::lua_upvalueindex(1)) as *mut Cfg)
}

/// json_arg_init: at most `args` arguments, missing ones as nil.
unsafe fn cfg_args<'a>(l: LuaState, args: c_int) -> &'a mut Cfg {
    if ffi::lua_gettop(l) > args {
        ffi::luaL_argerror(l, args + 1, c"found too many arguments".as_ptr());
    }
    while ffi::lua_gettop(l) < args {
        ffi::lua_pushnil(l);
    }
    cfg(l)
}

/// json_integer_option.
unsafe fn integer_option(l: LuaState, idx: c_int, setting: &mut c_int, min: c_int, max: c_int) {
    if ffi::lua_isnil(l, idx) == 0 {
        let v = ffi::luaL_checkinteger(l, idx) as c_int;
        if v < min || v > max {
            // A NUL-terminated message on the stack: nothing to drop when
            // luaL_argerror raises.
            let mut msg = [0u8; 64];
            let mut w = std::io::Cursor::new(&mut msg[..63]);
            let _ = write!(w, "expected integer between {min} and {max}");
            ffi::luaL_argerror(l, 1, msg.as_ptr() as *const std::os::raw::c_char);
        }
        *setting = v;
    }
    ffi::lua_pushinteger(l, *setting as ffi::lua_Integer);
}

/// json_enum_option; `options` None means off/on with booleans.
unsafe fn enum_option(
    l: LuaState,
    idx: c_int,
    setting: &mut c_int,
    options: Option<&[&std::ffi::CStr]>,
) {
    const BOOL: [&std::ffi::CStr; 2] = [c"off", c"on"];
    let opts = options.unwrap_or(&BOOL);
    if ffi::lua_isnil(l, idx) == 0 {
        if ffi::lua_type(l, idx) == ffi::LUA_TBOOLEAN {
            *setting = ffi::lua_toboolean(l, idx);
        } else {
            let mut ptrs: [*const std::os::raw::c_char; 4] = [std::ptr::null(); 4];
            for (i, o) in opts.iter().enumerate().take(3) {
                ptrs[i] = o.as_ptr();
            }
            *setting = ffi::luaL_checkoption(l, idx, std::ptr::null(), ptrs.as_ptr());
        }
    }
    if *setting == 0 || *setting == 1 {
        ffi::lua_pushboolean(l, *setting);
    } else {
        ffi::lua_pushstring(l, opts[*setting as usize].as_ptr());
    }
}

unsafe extern "C-unwind" fn cfg_encode_sparse_array(l: LuaState) -> c_int {
    let c = cfg_args(l, 3);
    enum_option(l, 1, &mut c.sparse_convert, None);
    integer_option(l, 2, &mut c.sparse_ratio, 0, c_int::MAX);
    integer_option(l, 3, &mut c.sparse_safe, 0, c_int::MAX);
    3
}

unsafe extern "C-unwind" fn cfg_encode_max_depth(l: LuaState) -> c_int {
    let c = cfg_args(l, 1);
    integer_option(l, 1, &mut c.encode_max_depth, 1, c_int::MAX);
    1
}

unsafe extern "C-unwind" fn cfg_decode_max_depth(l: LuaState) -> c_int {
    let c = cfg_args(l, 1);
    integer_option(l, 1, &mut c.decode_max_depth, 1, c_int::MAX);
    1
}

unsafe extern "C-unwind" fn cfg_encode_number_precision(l: LuaState) -> c_int {
    let c = cfg_args(l, 1);
    integer_option(l, 1, &mut c.precision, 1, 14);
    1
}

unsafe extern "C-unwind" fn cfg_encode_keep_buffer(l: LuaState) -> c_int {
    let c = cfg_args(l, 1);
    enum_option(l, 1, &mut c.keep_buffer, None);
    1
}

unsafe extern "C-unwind" fn cfg_encode_invalid_numbers(l: LuaState) -> c_int {
    let c = cfg_args(l, 1);
    enum_option(
        l,
        1,
        &mut c.encode_invalid_numbers,
        Some(&[c"off", c"on", c"null"]),
    );
    1
}

unsafe extern "C-unwind" fn cfg_decode_invalid_numbers(l: LuaState) -> c_int {
    let c = cfg_args(l, 1);
    enum_option(l, 1, &mut c.decode_invalid_numbers, None);
    1
}

fn num_g(n: f64, precision: c_int, out: &mut Vec<u8>) {
    crate::util::num::format_g(n, precision as usize, out);
}

fn escape(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            0..=31 | 127 => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

/// Encodes the value on top of the stack. Err(message).
/// json_append_number: NaN/Inf as `encode_invalid_numbers` says.
fn number(n: f64, c: &Cfg, out: &mut Vec<u8>) -> Result<(), String> {
    if !n.is_finite() {
        match c.encode_invalid_numbers {
            0 => return Err("Cannot serialise number: must not be NaN or Inf".into()),
            1 if n.is_nan() => out.extend_from_slice(b"nan"),
            1 => out.extend_from_slice(if n > 0.0 { b"inf" } else { b"-inf" }),
            _ => out.extend_from_slice(b"null"),
        }
        return Ok(());
    }
    num_g(n, c.precision, out);
    Ok(())
}

unsafe fn encode(l: LuaState, out: &mut Vec<u8>, depth: usize, c: &Cfg) -> Result<(), String> {
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => escape(to_bytes(l, -1).unwrap_or_default(), out),
        ffi::LUA_TNUMBER => number(ffi::lua_tonumber(l, -1), c, out)?,
        ffi::LUA_TBOOLEAN => out.extend_from_slice(if ffi::lua_toboolean(l, -1) != 0 {
            b"true"
        } else {
            b"false"
        }),
        ffi::LUA_TNIL => out.extend_from_slice(b"null"),
        ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(l, -1).is_null() => {
            out.extend_from_slice(b"null")
        }
        ffi::LUA_TTABLE => {
            let depth = depth + 1;
            if depth > c.encode_max_depth as usize {
                return Err(format!("Cannot serialise, excessive nesting ({})", depth));
            }
            ffi::lua_checkstack(l, 3);
            // lua_array_length: all keys positive integers?
            let mut max = 0f64;
            let mut items = 0usize;
            let mut array = true;
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, -2) != 0 {
                ffi::lua_pop(l, 1);
                if ffi::lua_type(l, -1) == ffi::LUA_TNUMBER {
                    let k = ffi::lua_tonumber(l, -1);
                    if k >= 1.0 && k.floor() == k {
                        max = max.max(k);
                        items += 1;
                        continue;
                    }
                }
                array = false;
                ffi::lua_pop(l, 1);
                break;
            }
            if array
                && c.sparse_ratio > 0
                && max > (items as f64) * c.sparse_ratio as f64
                && max > c.sparse_safe as f64
            {
                if c.sparse_convert == 0 {
                    return Err("Cannot serialise table: excessively sparse array".into());
                }
                array = false; // encoded as an object
            }
            if array && max > 0.0 {
                out.push(b'[');
                for j in 1..=(max as usize) {
                    if j > 1 {
                        out.push(b',');
                    }
                    ffi::lua_rawgeti(l, -1, j as ffi::lua_Integer);
                    let r = encode(l, out, depth, c);
                    ffi::lua_pop(l, 1);
                    r?;
                }
                out.push(b']');
            } else {
                out.push(b'{');
                let mut first = true;
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    match ffi::lua_type(l, -2) {
                        ffi::LUA_TSTRING => escape(to_bytes(l, -2).unwrap_or_default(), out),
                        ffi::LUA_TNUMBER => {
                            out.push(b'"');
                            if let Err(e) = number(ffi::lua_tonumber(l, -2), c, out) {
                                ffi::lua_pop(l, 2);
                                return Err(e);
                            }
                            out.push(b'"');
                        }
                        _ => {
                            ffi::lua_pop(l, 2);
                            return Err(
                                "Cannot serialise table: table key must be a number or string"
                                    .into(),
                            );
                        }
                    }
                    out.push(b':');
                    let r = encode(l, out, depth, c);
                    ffi::lua_pop(l, 1);
                    if let Err(e) = r {
                        ffi::lua_pop(l, 1);
                        return Err(e);
                    }
                }
                out.push(b'}');
            }
        }
        t => {
            let name = std::ffi::CStr::from_ptr(ffi::lua_typename(l, t))
                .to_string_lossy()
                .into_owned();
            return Err(format!("Cannot serialise {}: type not supported", name));
        }
    }
    Ok(())
}

unsafe fn json_encode_impl(l: LuaState) -> Result<c_int, ()> {
    if ffi::lua_gettop(l) != 1 {
        push_error_msg(l, "bad argument #1 to 'encode' (expected 1 argument)");
        return Err(());
    }
    let mut out = Vec::new();
    let c = *cfg(l);
    match encode(l, &mut out, 0, &c) {
        Ok(()) => {
            push_bytes(l, &out);
            Ok(1)
        }
        Err(m) => {
            push_error_msg(l, &m);
            Err(())
        }
    }
}
crate::lua_cfn!(json_encode, json_encode_impl);

// ---- decode -------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num,
    Bool,
    Null,
    Colon,
    Comma,
    End,
    Error,
}

fn tok_name(t: Tok) -> &'static str {
    match t {
        Tok::ObjBegin => "T_OBJ_BEGIN",
        Tok::ObjEnd => "T_OBJ_END",
        Tok::ArrBegin => "T_ARR_BEGIN",
        Tok::ArrEnd => "T_ARR_END",
        Tok::Str => "T_STRING",
        Tok::Num => "T_NUMBER",
        Tok::Bool => "T_BOOLEAN",
        Tok::Null => "T_NULL",
        Tok::Colon => "T_COLON",
        Tok::Comma => "T_COMMA",
        Tok::End => "T_END",
        Tok::Error => "T_ERROR",
    }
}

struct Token {
    t: Tok,
    index: usize,
    s: Vec<u8>,
    n: f64,
    b: bool,
    err: &'static str,
}

struct Parser<'a> {
    d: &'a [u8],
    p: usize,
    depth: usize,
    /// decode_max_depth and decode_invalid_numbers.
    max_depth: usize,
    invalid_numbers: bool,
}

impl Parser<'_> {
    fn next(&mut self) -> Token {
        while self.p < self.d.len() && matches!(self.d[self.p], b' ' | b'\t' | b'\n' | b'\r') {
            self.p += 1;
        }
        let index = self.p;
        let mut tk = Token {
            t: Tok::Error,
            index,
            s: Vec::new(),
            n: 0.0,
            b: false,
            err: "invalid token",
        };
        let Some(&c) = self.d.get(self.p) else {
            tk.t = Tok::End;
            return tk;
        };
        let simple = match c {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(t) = simple {
            self.p += 1;
            tk.t = t;
            return tk;
        }
        if c == b'"' {
            return self.string(tk);
        }
        let rest = &self.d[self.p..];
        for (word, t, b) in [
            (&b"true"[..], Tok::Bool, true),
            (b"false", Tok::Bool, false),
            (b"null", Tok::Null, false),
        ] {
            if rest.starts_with(word) {
                self.p += word.len();
                tk.t = t;
                tk.b = b;
                return tk;
            }
        }
        if c == b'-'
            || c.is_ascii_digit()
            || c == b'.'
            || rest.len() >= 3
                && (rest[..3].eq_ignore_ascii_case(b"inf")
                    || rest[..3].eq_ignore_ascii_case(b"nan"))
        {
            let mut e = self.p;
            while e < self.d.len()
                && (self.d[e].is_ascii_alphanumeric() || matches!(self.d[e], b'+' | b'-' | b'.'))
            {
                e += 1;
            }
            let text = std::str::from_utf8(&self.d[self.p..e]).unwrap_or("");
            let parsed =
                if let Some(h) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                    // Hex is an "invalid number" unless decode_invalid_numbers.
                    i64::from_str_radix(h, 16)
                        .ok()
                        .filter(|_| self.invalid_numbers)
                        .map(|v| v as f64)
                } else {
                    text.parse::<f64>().ok()
                };
            match parsed {
                Some(n) => {
                    self.p = e;
                    tk.t = Tok::Num;
                    tk.n = n;
                }
                None => tk.err = "invalid number",
            }
            return tk;
        }
        tk
    }

    fn string(&mut self, mut tk: Token) -> Token {
        self.p += 1;
        let mut s = Vec::new();
        loop {
            let Some(&c) = self.d.get(self.p) else {
                tk.err = "unexpected end of string";
                return tk;
            };
            self.p += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.d.get(self.p) else {
                        tk.err = "unexpected end of string";
                        return tk;
                    };
                    self.p += 1;
                    match e {
                        b'"' | b'\\' | b'/' => s.push(e),
                        b'b' => s.push(8),
                        b'f' => s.push(12),
                        b'n' => s.push(b'\n'),
                        b'r' => s.push(b'\r'),
                        b't' => s.push(b'\t'),
                        b'u' => match self.unicode() {
                            Some(ch) => {
                                let mut buf = [0u8; 4];
                                s.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            }
                            None => {
                                tk.err = "invalid unicode escape code";
                                return tk;
                            }
                        },
                        _ => {
                            tk.err = "invalid escape code";
                            return tk;
                        }
                    }
                }
                _ => s.push(c),
            }
        }
        tk.t = Tok::Str;
        tk.s = s;
        tk
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.d.get(self.p..self.p + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.p += 4;
        Some(v)
    }

    fn unicode(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if (0xd800..0xdc00).contains(&hi) {
            if self.d.get(self.p..self.p + 2)? != b"\\u" {
                return None;
            }
            self.p += 2;
            let lo = self.hex4()?;
            if !(0xdc00..0xe000).contains(&lo) {
                return None;
            }
            return char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00));
        }
        char::from_u32(hi)
    }
}

fn parse_error(exp: &str, tk: &Token) -> String {
    let found = if tk.t == Tok::Error {
        tk.err
    } else {
        tok_name(tk.t)
    };
    format!(
        "Expected {} but found {} at character {}",
        exp,
        found,
        tk.index + 1
    )
}

/// Pushes the value starting with token `tk`.
unsafe fn value(l: LuaState, ps: &mut Parser, tk: Token) -> Result<(), String> {
    ffi::lua_checkstack(l, 3);
    match tk.t {
        Tok::Str => push_bytes(l, &tk.s),
        Tok::Num => ffi::lua_pushnumber(l, tk.n),
        Tok::Bool => ffi::lua_pushboolean(l, tk.b as c_int),
        Tok::Null => ffi::lua_pushlightuserdata(l, std::ptr::null_mut()),
        Tok::ObjBegin | Tok::ArrBegin => {
            ps.depth += 1;
            if ps.depth > ps.max_depth {
                return Err(format!(
                    "Found too many nested data structures ({}) at character {}",
                    ps.depth,
                    tk.index + 1
                ));
            }
            ffi::lua_createtable(l, 0, 0);
            if tk.t == Tok::ObjBegin {
                let mut t = ps.next();
                if t.t != Tok::ObjEnd {
                    loop {
                        if t.t != Tok::Str {
                            ffi::lua_pop(l, 1);
                            return Err(parse_error("object key string", &t));
                        }
                        push_bytes(l, &t.s);
                        let c = ps.next();
                        if c.t != Tok::Colon {
                            ffi::lua_pop(l, 2);
                            return Err(parse_error("colon", &c));
                        }
                        let v = ps.next();
                        if let Err(e) = value(l, ps, v) {
                            ffi::lua_pop(l, 2);
                            return Err(e);
                        }
                        ffi::lua_rawset(l, -3);
                        let sep = ps.next();
                        if sep.t == Tok::ObjEnd {
                            break;
                        }
                        if sep.t != Tok::Comma {
                            ffi::lua_pop(l, 1);
                            return Err(parse_error("comma or object end", &sep));
                        }
                        t = ps.next();
                    }
                }
            } else {
                let mut t = ps.next();
                let mut i: ffi::lua_Integer = 1;
                if t.t != Tok::ArrEnd {
                    loop {
                        if let Err(e) = value(l, ps, t) {
                            ffi::lua_pop(l, 1);
                            return Err(e);
                        }
                        ffi::lua_rawseti(l, -2, i);
                        i += 1;
                        let sep = ps.next();
                        if sep.t == Tok::ArrEnd {
                            break;
                        }
                        if sep.t != Tok::Comma {
                            ffi::lua_pop(l, 1);
                            return Err(parse_error("comma or array end", &sep));
                        }
                        t = ps.next();
                    }
                }
            }
            ps.depth -= 1;
        }
        _ => return Err(parse_error("value", &tk)),
    }
    Ok(())
}

unsafe fn json_decode_impl(l: LuaState) -> Result<c_int, ()> {
    if ffi::lua_gettop(l) != 1 {
        push_error_msg(l, "bad argument #1 to 'decode' (expected 1 argument)");
        return Err(());
    }
    let Some(data) = to_bytes(l, 1).map(|d| d.to_vec()) else {
        push_error_msg(
            l,
            "bad argument #1 to 'decode' (string expected, got no value)",
        );
        return Err(());
    };
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        push_error_msg(l, "JSON parser does not support UTF-16 or UTF-32");
        return Err(());
    }
    let c = *cfg(l);
    let mut ps = Parser {
        d: &data,
        p: 0,
        depth: 0,
        max_depth: c.decode_max_depth as usize,
        invalid_numbers: c.decode_invalid_numbers != 0,
    };
    let first = ps.next();
    let r = value(l, &mut ps, first).and_then(|()| {
        let t = ps.next();
        if t.t != Tok::End {
            ffi::lua_pop(l, 1);
            Err(parse_error("the end", &t))
        } else {
            Ok(())
        }
    });
    match r {
        Ok(()) => Ok(1),
        Err(m) => {
            push_error_msg(l, &m);
            Err(())
        }
    }
}
crate::lua_cfn!(json_decode, json_decode_impl);
