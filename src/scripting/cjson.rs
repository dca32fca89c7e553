//! `cjson` for scripts, following lua-cjson 2.1 (the version Redis ships):
//! encode (numbers as %.14g, '/' escaped, arrays detected from positive
//! integer keys with the "excessively sparse" check, empty table -> {}),
//! decode (objects/arrays to tables, null -> cjson.null), lua-cjson's
//! error texts, and its configuration functions (sparse arrays, nesting
//! depths, number precision, invalid numbers; kept per interpreter in an
//! upvalue shared by the cjson functions, as lua-cjson does).

use super::lua_stack::{LuaError, Plain, Scalar, Stack, Type};
use crate::lua_fn;
use mlua_sys as ffi;
use std::ffi::CStr;
use std::os::raw::c_int;

const MAX_DEPTH: usize = 1000;

type R = Result<c_int, LuaError>;

/// Registers the `cjson` global.
pub fn open(st: &mut Stack) {
    st.new_table(0, 16);
    let t = st.top();
    // The configuration every function shares (lua-cjson keeps it in an
    // upvalue too): plain data, so the userdata needs no finalizer.
    st.push_userdata(Cfg::default());
    let cfg_idx = st.top();
    let fns: [(&CStr, ffi::lua_CFunction); 9] = [
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
        st.push_value(cfg_idx);
        st.push_closure(f, 1);
        st.raw_set_field(t, name);
    }
    st.pop(1);
    st.push_null_userdata();
    st.raw_set_field(t, c"null");
    st.push_str("cjson");
    st.raw_set_field(t, c"_NAME");
    st.push_str("2.1.0");
    st.raw_set_field(t, c"_VERSION");
    st.raw_set_field(ffi::LUA_GLOBALSINDEX, c"cjson");
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

// SAFETY: plain integers: no destructor, every bit pattern valid.
unsafe impl Plain for Cfg {}

/// The configuration of the running cjson function (upvalue 1).
fn cfg(st: &mut Stack) -> &mut Cfg {
    st.userdata_mut::<Cfg>(Stack::upvalue(1))
        .expect("cjson functions have their configuration as upvalue 1")
}

/// json_arg_init: at most `args` arguments, missing ones as nil.
fn cfg_args(st: &mut Stack, args: c_int) -> Result<(), LuaError> {
    if st.top() > args {
        return Err(LuaError::Arg(args + 1, "found too many arguments".into()));
    }
    while st.top() < args {
        st.push_nil();
    }
    Ok(())
}

/// json_integer_option, on the setting `field` selects.
fn integer_option(
    st: &mut Stack,
    idx: c_int,
    field: fn(&mut Cfg) -> &mut c_int,
    min: c_int,
    max: c_int,
) -> Result<(), LuaError> {
    if st.type_of(idx) != Type::Nil {
        let v = st.check_integer(idx)? as c_int;
        if v < min || v > max {
            return Err(LuaError::Arg(
                1,
                format!("expected integer between {min} and {max}").into(),
            ));
        }
        *field(cfg(st)) = v;
    }
    let v = *field(cfg(st));
    st.push_integer(v as i64);
    Ok(())
}

/// json_enum_option; `options` None means off/on with booleans.
fn enum_option(
    st: &mut Stack,
    idx: c_int,
    field: fn(&mut Cfg) -> &mut c_int,
    options: Option<&[&str]>,
) -> Result<(), LuaError> {
    const BOOL: [&str; 2] = ["off", "on"];
    let opts = options.unwrap_or(&BOOL);
    if st.type_of(idx) != Type::Nil {
        let v = if st.type_of(idx) == Type::Boolean {
            st.to_boolean(idx) as c_int
        } else {
            // luaL_checkoption: compared (and shown) as a C string.
            st.check_string(idx)?;
            let name = st.to_bytes(idx).unwrap_or_default();
            let name = name.split(|&b| b == 0).next().unwrap_or_default();
            match opts.iter().position(|o| o.as_bytes() == name) {
                Some(i) => i as c_int,
                None => {
                    let mut m = b"invalid option '".to_vec();
                    m.extend_from_slice(name);
                    m.push(b'\'');
                    return Err(LuaError::Arg(idx, m));
                }
            }
        };
        *field(cfg(st)) = v;
    }
    let v = *field(cfg(st));
    if v == 0 || v == 1 {
        st.push_bool(v != 0);
    } else {
        st.push_str(opts[v as usize]);
    }
    Ok(())
}

fn cfg_encode_sparse_array_body(st: &mut Stack) -> R {
    cfg_args(st, 3)?;
    enum_option(st, 1, |c| &mut c.sparse_convert, None)?;
    integer_option(st, 2, |c| &mut c.sparse_ratio, 0, c_int::MAX)?;
    integer_option(st, 3, |c| &mut c.sparse_safe, 0, c_int::MAX)?;
    Ok(3)
}
lua_fn!(cfg_encode_sparse_array, cfg_encode_sparse_array_body);

fn cfg_encode_max_depth_body(st: &mut Stack) -> R {
    cfg_args(st, 1)?;
    integer_option(st, 1, |c| &mut c.encode_max_depth, 1, c_int::MAX)?;
    Ok(1)
}
lua_fn!(cfg_encode_max_depth, cfg_encode_max_depth_body);

fn cfg_decode_max_depth_body(st: &mut Stack) -> R {
    cfg_args(st, 1)?;
    integer_option(st, 1, |c| &mut c.decode_max_depth, 1, c_int::MAX)?;
    Ok(1)
}
lua_fn!(cfg_decode_max_depth, cfg_decode_max_depth_body);

fn cfg_encode_number_precision_body(st: &mut Stack) -> R {
    cfg_args(st, 1)?;
    integer_option(st, 1, |c| &mut c.precision, 1, 14)?;
    Ok(1)
}
lua_fn!(
    cfg_encode_number_precision,
    cfg_encode_number_precision_body
);

fn cfg_encode_keep_buffer_body(st: &mut Stack) -> R {
    cfg_args(st, 1)?;
    enum_option(st, 1, |c| &mut c.keep_buffer, None)?;
    Ok(1)
}
lua_fn!(cfg_encode_keep_buffer, cfg_encode_keep_buffer_body);

fn cfg_encode_invalid_numbers_body(st: &mut Stack) -> R {
    cfg_args(st, 1)?;
    enum_option(
        st,
        1,
        |c| &mut c.encode_invalid_numbers,
        Some(&["off", "on", "null"]),
    )?;
    Ok(1)
}
lua_fn!(cfg_encode_invalid_numbers, cfg_encode_invalid_numbers_body);

fn cfg_decode_invalid_numbers_body(st: &mut Stack) -> R {
    cfg_args(st, 1)?;
    enum_option(st, 1, |c| &mut c.decode_invalid_numbers, None)?;
    Ok(1)
}
lua_fn!(cfg_decode_invalid_numbers, cfg_decode_invalid_numbers_body);

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

fn encode(st: &mut Stack, out: &mut Vec<u8>, depth: usize, c: &Cfg) -> Result<(), String> {
    let t = match st.scalar(-1) {
        Scalar::Str(b) => {
            escape(b, out);
            return Ok(());
        }
        Scalar::Num(n) => return number(n, c, out),
        Scalar::Other(t) => t,
    };
    match t {
        Type::Boolean => out.extend_from_slice(if st.to_boolean(-1) { b"true" } else { b"false" }),
        Type::Nil => out.extend_from_slice(b"null"),
        Type::LightUserdata if st.is_null_userdata(-1) => out.extend_from_slice(b"null"),
        Type::Table => {
            let depth = depth + 1;
            if depth > c.encode_max_depth as usize {
                return Err(format!("Cannot serialise, excessive nesting ({})", depth));
            }
            // lua_array_length: all keys positive integers?
            let mut max = 0f64;
            let mut items = 0usize;
            let mut array = true;
            st.for_each(-1, |st| {
                if let Scalar::Num(k) = st.scalar(-2) {
                    if k >= 1.0 && k.floor() == k {
                        max = max.max(k);
                        items += 1;
                        return true;
                    }
                }
                array = false;
                false
            });
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
                    st.raw_get_index(-1, j as i64);
                    let r = encode(st, out, depth, c);
                    st.pop(1);
                    r?;
                }
                out.push(b']');
            } else {
                out.push(b'{');
                let mut first = true;
                st.for_each_pair(-1, |st| {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    match st.scalar(-2) {
                        Scalar::Str(b) => escape(b, out),
                        Scalar::Num(n) => {
                            out.push(b'"');
                            number(n, c, out)?;
                            out.push(b'"');
                        }
                        Scalar::Other(_) => {
                            return Err(
                                "Cannot serialise table: table key must be a number or string"
                                    .to_string(),
                            )
                        }
                    }
                    out.push(b':');
                    encode(st, out, depth, c)?;
                    Ok(true)
                })?;
                out.push(b'}');
            }
        }
        t => return Err(format!("Cannot serialise {}: type not supported", t.name())),
    }
    Ok(())
}

fn json_encode_body(st: &mut Stack) -> R {
    if st.top() != 1 {
        return Err(LuaError::Msg(
            "bad argument #1 to 'encode' (expected 1 argument)".into(),
        ));
    }
    let mut out = Vec::new();
    let c = *cfg(st);
    match encode(st, &mut out, 0, &c) {
        Ok(()) => {
            st.push_bytes(&out);
            Ok(1)
        }
        Err(m) => Err(LuaError::Msg(m)),
    }
}
lua_fn!(json_encode, json_encode_body);

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
fn value(st: &mut Stack, ps: &mut Parser, tk: Token) -> Result<(), String> {
    match tk.t {
        Tok::Str => st.push_bytes(&tk.s),
        Tok::Num => st.push_number(tk.n),
        Tok::Bool => st.push_bool(tk.b),
        Tok::Null => st.push_null_userdata(),
        Tok::ObjBegin | Tok::ArrBegin => {
            ps.depth += 1;
            if ps.depth > ps.max_depth {
                return Err(format!(
                    "Found too many nested data structures ({}) at character {}",
                    ps.depth,
                    tk.index + 1
                ));
            }
            st.new_table(0, 0);
            if tk.t == Tok::ObjBegin {
                let mut t = ps.next();
                if t.t != Tok::ObjEnd {
                    loop {
                        if t.t != Tok::Str {
                            st.pop(1);
                            return Err(parse_error("object key string", &t));
                        }
                        st.push_bytes(&t.s);
                        let c = ps.next();
                        if c.t != Tok::Colon {
                            st.pop(2);
                            return Err(parse_error("colon", &c));
                        }
                        let v = ps.next();
                        if let Err(e) = value(st, ps, v) {
                            st.pop(2);
                            return Err(e);
                        }
                        // A string key: never nil or NaN.
                        if st.raw_set(-3).is_err() {
                            unreachable!("string keys are valid table keys");
                        }
                        let sep = ps.next();
                        if sep.t == Tok::ObjEnd {
                            break;
                        }
                        if sep.t != Tok::Comma {
                            st.pop(1);
                            return Err(parse_error("comma or object end", &sep));
                        }
                        t = ps.next();
                    }
                }
            } else {
                let mut t = ps.next();
                let mut i: i64 = 1;
                if t.t != Tok::ArrEnd {
                    loop {
                        if let Err(e) = value(st, ps, t) {
                            st.pop(1);
                            return Err(e);
                        }
                        st.raw_set_index(-2, i);
                        i += 1;
                        let sep = ps.next();
                        if sep.t == Tok::ArrEnd {
                            break;
                        }
                        if sep.t != Tok::Comma {
                            st.pop(1);
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

fn json_decode_body(st: &mut Stack) -> R {
    if st.top() != 1 {
        return Err(LuaError::Msg(
            "bad argument #1 to 'decode' (expected 1 argument)".into(),
        ));
    }
    let Some(data) = st.to_string_lossless(1) else {
        return Err(LuaError::Msg(
            "bad argument #1 to 'decode' (string expected, got no value)".into(),
        ));
    };
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(LuaError::Msg(
            "JSON parser does not support UTF-16 or UTF-32".into(),
        ));
    }
    let c = *cfg(st);
    let mut ps = Parser {
        d: &data,
        p: 0,
        depth: 0,
        max_depth: c.decode_max_depth as usize,
        invalid_numbers: c.decode_invalid_numbers != 0,
    };
    let first = ps.next();
    let r = value(st, &mut ps, first).and_then(|()| {
        let t = ps.next();
        if t.t != Tok::End {
            st.pop(1);
            Err(parse_error("the end", &t))
        } else {
            Ok(())
        }
    });
    match r {
        Ok(()) => Ok(1),
        Err(m) => Err(LuaError::Msg(m)),
    }
}
lua_fn!(json_decode, json_decode_body);
