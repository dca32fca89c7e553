//! The extra Lua libraries Redis bundles: `bit` (LuaBitOp semantics on 32
//! bits), `struct` (Roberto Ierusalimschy's struct: pack/unpack/size) and
//! `cmsgpack` (lua-cmsgpack: pack/unpack/unpack_one/unpack_limit); `cjson`
//! lives in cjson.rs. Safe Rust over [`super::lua_stack::Stack`].

use super::lua_stack::{LuaError, Scalar, Stack, Type};
use crate::lua_fn;
use mlua_sys as ffi;
use std::ffi::CStr;
use std::os::raw::c_int;

type R = Result<c_int, LuaError>;

/// Sets `t[name] = f` for the table at `t` (raw).
pub(crate) fn set_fn(st: &mut Stack, t: c_int, name: &CStr, f: ffi::lua_CFunction) {
    st.push_fn(f);
    st.raw_set_field(t, name);
}

/// Registers bit, struct, cmsgpack and cjson as globals.
pub fn open_all(st: &mut Stack) {
    st.new_table(0, 12);
    let t = st.top();
    set_fn(st, t, c"tobit", bit_tobit);
    set_fn(st, t, c"bnot", bit_bnot);
    set_fn(st, t, c"band", bit_band);
    set_fn(st, t, c"bor", bit_bor);
    set_fn(st, t, c"bxor", bit_bxor);
    set_fn(st, t, c"lshift", bit_lshift);
    set_fn(st, t, c"rshift", bit_rshift);
    set_fn(st, t, c"arshift", bit_arshift);
    set_fn(st, t, c"rol", bit_rol);
    set_fn(st, t, c"ror", bit_ror);
    set_fn(st, t, c"bswap", bit_bswap);
    set_fn(st, t, c"tohex", bit_tohex);
    st.raw_set_field(ffi::LUA_GLOBALSINDEX, c"bit");

    st.new_table(0, 3);
    let t = st.top();
    set_fn(st, t, c"pack", struct_pack);
    set_fn(st, t, c"unpack", struct_unpack);
    set_fn(st, t, c"size", struct_size);
    st.raw_set_field(ffi::LUA_GLOBALSINDEX, c"struct");

    st.new_table(0, 8);
    let t = st.top();
    set_fn(st, t, c"pack", mp_pack);
    set_fn(st, t, c"unpack", mp_unpack);
    set_fn(st, t, c"unpack_one", mp_unpack_one);
    set_fn(st, t, c"unpack_limit", mp_unpack_limit);
    st.push_str("lua-cmsgpack");
    st.raw_set_field(t, c"_NAME");
    st.push_str("lua-cmsgpack 0.4.0");
    st.raw_set_field(t, c"_VERSION");
    st.raw_set_field(ffi::LUA_GLOBALSINDEX, c"cmsgpack");

    super::cjson::open(st);
}

// ---- bit ----------------------------------------------------------------------

/// LuaBitOp's barg: the number normalised to 32 bits (2^52+2^51 trick).
fn barg(st: &Stack, idx: c_int) -> Result<u32, LuaError> {
    let n = st.check_number(idx)? + 6755399441055744.0;
    Ok(n.to_bits() as u32)
}

fn bret(st: &Stack, b: u32) -> R {
    st.push_number(b as i32 as f64);
    Ok(1)
}

fn bit_tobit_body(st: &mut Stack) -> R {
    let b = barg(st, 1)?;
    bret(st, b)
}
fn bit_bnot_body(st: &mut Stack) -> R {
    let b = barg(st, 1)?;
    bret(st, !b)
}
fn bit_bswap_body(st: &mut Stack) -> R {
    let b = barg(st, 1)?;
    bret(st, b.swap_bytes())
}
lua_fn!(bit_tobit, bit_tobit_body);
lua_fn!(bit_bnot, bit_bnot_body);
lua_fn!(bit_bswap, bit_bswap_body);

fn fold(st: &Stack, f: fn(u32, u32) -> u32) -> R {
    let mut b = barg(st, 1)?;
    for i in 2..=st.top() {
        b = f(b, barg(st, i)?);
    }
    bret(st, b)
}
fn bit_band_body(st: &mut Stack) -> R {
    fold(st, |a, b| a & b)
}
fn bit_bor_body(st: &mut Stack) -> R {
    fold(st, |a, b| a | b)
}
fn bit_bxor_body(st: &mut Stack) -> R {
    fold(st, |a, b| a ^ b)
}
lua_fn!(bit_band, bit_band_body);
lua_fn!(bit_bor, bit_bor_body);
lua_fn!(bit_bxor, bit_bxor_body);

fn shift(st: &Stack, f: fn(u32, u32) -> u32) -> R {
    let b = barg(st, 1)?;
    let n = barg(st, 2)? & 31;
    bret(st, f(b, n))
}
fn bit_lshift_body(st: &mut Stack) -> R {
    shift(st, |b, n| b << n)
}
fn bit_rshift_body(st: &mut Stack) -> R {
    shift(st, |b, n| b >> n)
}
fn bit_arshift_body(st: &mut Stack) -> R {
    shift(st, |b, n| ((b as i32) >> n) as u32)
}
fn bit_rol_body(st: &mut Stack) -> R {
    shift(st, |b, n| b.rotate_left(n))
}
fn bit_ror_body(st: &mut Stack) -> R {
    shift(st, |b, n| b.rotate_right(n))
}
lua_fn!(bit_lshift, bit_lshift_body);
lua_fn!(bit_rshift, bit_rshift_body);
lua_fn!(bit_arshift, bit_arshift_body);
lua_fn!(bit_rol, bit_rol_body);
lua_fn!(bit_ror, bit_ror_body);

fn bit_tohex_body(st: &mut Stack) -> R {
    let b = barg(st, 1)?;
    let mut n: i32 = match st.type_of(2) {
        Type::None | Type::Nil => 8,
        _ => barg(st, 2)? as i32,
    };
    let upper = n < 0;
    if upper {
        // INT32_MIN has no positive counterpart (Redis's lua_bit.c fix).
        n = n.max(i32::MIN + 1).wrapping_neg();
    }
    let n = n.clamp(0, 8) as usize;
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut buf = [0u8; 8];
    let mut v = b;
    for i in (0..n).rev() {
        buf[i] = digits[(v & 15) as usize];
        v >>= 4;
    }
    st.push_bytes(&buf[..n]);
    Ok(1)
}
lua_fn!(bit_tohex, bit_tohex_body);

// ---- struct -------------------------------------------------------------------

const MAXINTSIZE: usize = 32;

struct Header {
    little: bool,
    align: usize,
}

/// Reads an optional decimal count after a format option.
fn getnum(fmt: &[u8], i: &mut usize, default: usize) -> usize {
    if *i >= fmt.len() || !fmt[*i].is_ascii_digit() {
        return default;
    }
    let mut a: usize = 0;
    while *i < fmt.len() && fmt[*i].is_ascii_digit() {
        a = a
            .saturating_mul(10)
            .saturating_add((fmt[*i] - b'0') as usize);
        *i += 1;
    }
    a
}

/// Size of option `opt` (Err = error message).
fn optsize(opt: u8, fmt: &[u8], i: &mut usize) -> Result<usize, String> {
    Ok(match opt {
        b'B' | b'b' | b'x' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'c' => getnum(fmt, i, 1),
        b'i' | b'I' => {
            let sz = getnum(fmt, i, 4);
            if sz > MAXINTSIZE {
                return Err(format!(
                    "integral size {} is larger than limit of {}",
                    sz, MAXINTSIZE
                ));
            }
            sz
        }
        _ => 0,
    })
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

/// Handles the control options; Ok(true) if `opt` was one.
fn controloptions(opt: u8, fmt: &[u8], i: &mut usize, h: &mut Header) -> Result<bool, String> {
    match opt {
        b' ' => Ok(true),
        b'>' => {
            h.little = false;
            Ok(true)
        }
        b'<' | b'=' => {
            h.little = true;
            Ok(true)
        }
        b'!' => {
            let a = getnum(fmt, i, 8);
            if !a.is_power_of_two() {
                return Err(format!("alignment {} is not a power of 2", a));
            }
            h.align = a;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn put_int(out: &mut Vec<u8>, v: u64, little: bool, size: usize) {
    let mut bytes = vec![0u8; size];
    let mut v = v;
    for b in bytes.iter_mut() {
        *b = v as u8;
        v >>= 8;
    }
    if !little {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

fn struct_pack_body(st: &mut Stack) -> R {
    const FNAME: &str = "pack";
    let Some(fmt) = st.to_string_lossless(1) else {
        return Err(LuaError::Msg(String::from(
            "bad argument #1 to 'pack' (string expected)",
        )));
    };
    let mut h = Header {
        little: true,
        align: 1,
    };
    let mut arg = 2;
    let mut out = Vec::new();
    let mut i = 0;
    let fail = |m: String| Err(LuaError::Msg(m));
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let size = match optsize(opt, &fmt, &mut i) {
            Ok(s) => s,
            Err(m) => return fail(m),
        };
        let toalign = gettoalign(out.len(), &h, opt, size);
        out.resize(out.len() + toalign, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                if !st.is_number(arg) {
                    return fail(format!(
                        "bad argument #{} to 'pack' (number expected, got {})",
                        arg,
                        st.type_name(arg)
                    ));
                }
                let n = st.to_number(arg);
                arg += 1;
                let v = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                put_int(&mut out, v, h.little, size);
            }
            b'x' => out.push(0),
            b'f' => {
                if !st.is_number(arg) {
                    return fail(format!(
                        "bad argument #{} to 'pack' (number expected, got {})",
                        arg,
                        st.type_name(arg)
                    ));
                }
                let f = st.to_number(arg) as f32;
                arg += 1;
                let b = if h.little {
                    f.to_le_bytes()
                } else {
                    f.to_be_bytes()
                };
                out.extend_from_slice(&b);
            }
            b'd' => {
                if !st.is_number(arg) {
                    return fail(format!(
                        "bad argument #{} to 'pack' (number expected, got {})",
                        arg,
                        st.type_name(arg)
                    ));
                }
                let d = st.to_number(arg);
                arg += 1;
                let b = if h.little {
                    d.to_le_bytes()
                } else {
                    d.to_be_bytes()
                };
                out.extend_from_slice(&b);
            }
            b'c' | b's' => {
                st.coerce_to_string(arg);
                let Some(s) = st.to_bytes(arg) else {
                    return fail(format!(
                        "bad argument #{} to 'pack' (string expected, got {})",
                        arg,
                        st.type_name(arg)
                    ));
                };
                let mut size = size;
                if opt == b'c' {
                    if size == 0 {
                        size = s.len();
                    }
                    if s.len() < size {
                        return fail(format!(
                            "bad argument #{} to 'pack' (string too short)",
                            arg
                        ));
                    }
                    out.extend_from_slice(&s[..size]);
                } else {
                    out.extend_from_slice(s);
                    out.push(0);
                }
                arg += 1;
            }
            _ => match controloptions(opt, &fmt, &mut i, &mut h) {
                Ok(true) => {}
                Ok(false) => {
                    return fail(format!(
                        "bad argument #1 to '{}' (invalid format option '{}')",
                        FNAME, opt as char
                    ))
                }
                Err(m) => return fail(m),
            },
        }
    }
    st.push_bytes(&out);
    Ok(1)
}
lua_fn!(struct_pack, struct_pack_body);

fn struct_unpack_body(st: &mut Stack) -> R {
    const FNAME: &str = "unpack";
    let Some(fmt) = st.to_string_lossless(1) else {
        return Err(LuaError::Msg(String::from(
            "bad argument #1 to 'unpack' (string expected)",
        )));
    };
    let Some(data) = st.to_string_lossless(2) else {
        return Err(LuaError::Msg(format!(
            "bad argument #2 to 'unpack' (string expected, got {})",
            st.type_name(2)
        )));
    };
    let start = if !matches!(st.type_of(3), Type::None | Type::Nil) {
        st.to_number(3) as i64
    } else {
        1
    };
    if start < 1 {
        return Err(LuaError::Msg(String::from(
            "bad argument #3 to 'unpack' (offset must be 1 or greater)",
        )));
    }
    let mut pos = (start - 1) as usize;
    let mut h = Header {
        little: true,
        align: 1,
    };
    let mut i = 0;
    let mut n = 0;
    st.set_top(2);
    let fail = |m: String| Err(LuaError::Msg(m));
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let size = match optsize(opt, &fmt, &mut i) {
            Ok(s) => s,
            Err(m) => return fail(m),
        };
        pos += gettoalign(pos, &h, opt, size);
        if pos.checked_add(size).is_none_or(|e| e > data.len()) {
            return fail("bad argument #2 to 'unpack' (data string too short)".into());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let mut bytes = data[pos..pos + size].to_vec();
                if !h.little {
                    bytes.reverse();
                }
                let mut v: u64 = 0;
                for (k, b) in bytes.iter().enumerate().take(8) {
                    v |= (*b as u64) << (8 * k);
                }
                let signed = opt.is_ascii_lowercase();
                let res = if signed && size < 8 && size > 0 {
                    let shift = 64 - 8 * size as u32;
                    (((v << shift) as i64) >> shift) as f64
                } else if signed {
                    v as i64 as f64
                } else {
                    v as f64
                };
                st.push_number(res);
                n += 1;
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or([0; 4]);
                let f = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                st.push_number(f as f64);
                n += 1;
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or([0; 8]);
                let d = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                st.push_number(d);
                n += 1;
            }
            b'c' => {
                let mut size = size;
                if size == 0 {
                    if n == 0 || !st.is_number(-1) {
                        return fail("format 'c0' needs a previous size".into());
                    }
                    size = st.to_number(-1) as usize;
                    st.pop(1);
                    n -= 1;
                    if pos.checked_add(size).is_none_or(|e| e > data.len()) {
                        return fail("bad argument #2 to 'unpack' (data string too short)".into());
                    }
                }
                st.push_bytes(&data[pos..pos + size]);
                n += 1;
                pos += size;
                continue;
            }
            b's' => {
                let Some(z) = data[pos..].iter().position(|&b| b == 0) else {
                    return fail("unfinished string in data".into());
                };
                st.push_bytes(&data[pos..pos + z]);
                n += 1;
                pos += z + 1;
                continue;
            }
            _ => match controloptions(opt, &fmt, &mut i, &mut h) {
                Ok(true) => {}
                Ok(false) => {
                    return fail(format!(
                        "bad argument #1 to '{}' (invalid format option '{}')",
                        FNAME, opt as char
                    ))
                }
                Err(m) => return fail(m),
            },
        }
        pos += size;
    }
    st.push_number((pos + 1) as f64);
    Ok(n + 1)
}
lua_fn!(struct_unpack, struct_unpack_body);

fn struct_size_body(st: &mut Stack) -> R {
    let Some(fmt) = st.to_string_lossless(1) else {
        return Err(LuaError::Msg(String::from(
            "bad argument #1 to 'size' (string expected)",
        )));
    };
    let mut h = Header {
        little: true,
        align: 1,
    };
    let mut pos = 0usize;
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let size = match optsize(opt, &fmt, &mut i) {
            Ok(s) => s,
            Err(m) => {
                return Err(LuaError::Msg(m));
            }
        };
        pos += gettoalign(pos, &h, opt, size);
        if opt == b's' || (opt == b'c' && size == 0) {
            return Err(LuaError::Msg(String::from(
                "bad argument #1 to 'size' (options 'c0' - 's' have undefined sizes)",
            )));
        }
        match controloptions(opt, &fmt, &mut i, &mut h) {
            Err(m) => {
                return Err(LuaError::Msg(m));
            }
            Ok(false) if !b"bBhHlLTiIxfdcs".contains(&opt) => {
                return Err(LuaError::Msg(format!(
                    "bad argument #1 to 'size' (invalid format option '{}')",
                    opt as char
                )));
            }
            _ => {}
        }
        pos += size;
    }
    st.push_number(pos as f64);
    Ok(1)
}
lua_fn!(struct_size, struct_size_body);

// ---- cmsgpack -----------------------------------------------------------------

const MP_MAX_NESTING: usize = 16;

fn mp_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        let u = n as u64;
        if u <= 127 {
            out.push(u as u8);
        } else if u <= 0xff {
            out.extend_from_slice(&[0xcc, u as u8]);
        } else if u <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2147483648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn mp_len(out: &mut Vec<u8>, n: usize, fix: u8, fixmax: usize, b16: u8, b32: u8) {
    if n <= fixmax {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(b16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(b32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// Encodes the value at the top of the stack (not popped).
fn mp_encode(st: &mut Stack, out: &mut Vec<u8>, level: usize) {
    let t = match st.scalar(-1) {
        Scalar::Num(n) => {
            if n.is_finite() && n.floor() == n && (i64::MIN as f64..i64::MAX as f64).contains(&n) {
                mp_int(out, n as i64);
            } else {
                let f = n as f32;
                if f as f64 == n || n.is_nan() && f.is_nan() {
                    out.push(0xca);
                    out.extend_from_slice(&f.to_be_bytes());
                } else {
                    out.push(0xcb);
                    out.extend_from_slice(&n.to_be_bytes());
                }
            }
            return;
        }
        Scalar::Str(s) => {
            if s.len() < 32 {
                out.push(0xa0 | s.len() as u8);
            } else if s.len() <= 0xff {
                out.extend_from_slice(&[0xd9, s.len() as u8]);
            } else if s.len() <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(s.len() as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            }
            out.extend_from_slice(s);
            return;
        }
        Scalar::Other(t) => t,
    };
    match t {
        Type::Boolean => out.push(if st.to_boolean(-1) { 0xc3 } else { 0xc2 }),
        Type::Table if level < MP_MAX_NESTING => {
            // Array iff all keys are integers 1..n.
            let mut count = 0usize;
            let mut max = 0f64;
            let mut is_array = true;
            st.for_each(-1, |st| {
                if let Scalar::Num(k) = st.scalar(-2) {
                    if k > 0.0 && k.floor() == k {
                        max = max.max(k);
                        count += 1;
                        return true;
                    }
                }
                is_array = false;
                false
            });
            if is_array && max as usize == count {
                mp_len(out, count, 0x90, 15, 0xdc, 0xdd);
                for j in 1..=count {
                    st.raw_get_index(-1, j as i64);
                    mp_encode(st, out, level + 1);
                    st.pop(1);
                }
            } else {
                let mut n = 0usize;
                st.for_each(-1, |_| {
                    n += 1;
                    true
                });
                mp_len(out, n, 0x80, 15, 0xde, 0xdf);
                st.for_each(-1, |st| {
                    st.push_value(-2);
                    mp_encode(st, out, level + 1);
                    st.pop(1);
                    mp_encode(st, out, level + 1);
                    true
                });
            }
        }
        _ => out.push(0xc0),
    }
}

fn mp_pack_body(st: &mut Stack) -> R {
    let n = st.top();
    if n == 0 {
        return Err(LuaError::Msg(String::from(
            "bad argument #0 to 'pack' (MessagePack pack needs input.)",
        )));
    }
    let mut out = Vec::new();
    for i in 1..=n {
        st.push_value(i);
        mp_encode(st, &mut out, 0);
        st.pop(1);
    }
    st.push_bytes(&out);
    Ok(1)
}
lua_fn!(mp_pack, mp_pack_body);

enum MpErr {
    Eof,
    Bad,
    /// A NaN map key (Lua's "table index is NaN").
    Lua(LuaError),
}

/// Decodes one value at `*p`, pushing it.
fn mp_decode(st: &mut Stack, b: &[u8], p: &mut usize) -> Result<(), MpErr> {
    fn take<'a>(b: &'a [u8], p: &mut usize, n: usize) -> Result<&'a [u8], MpErr> {
        let s = b
            .get(*p..p.checked_add(n).ok_or(MpErr::Eof)?)
            .ok_or(MpErr::Eof)?;
        *p += n;
        Ok(s)
    }
    fn be(s: &[u8]) -> u64 {
        s.iter().fold(0u64, |a, &x| (a << 8) | x as u64)
    }
    let t = take(b, p, 1)?[0];
    match t {
        0x00..=0x7f => st.push_number(t as f64),
        0x80..=0x8f => return mp_map(st, b, p, (t & 0x0f) as usize),
        0x90..=0x9f => return mp_array(st, b, p, (t & 0x0f) as usize),
        0xa0..=0xbf => st.push_bytes(take(b, p, (t & 0x1f) as usize)?),
        0xc0 => st.push_nil(),
        0xc2 => st.push_bool(false),
        0xc3 => st.push_bool(true),
        0xc4 | 0xd9 => {
            let n = take(b, p, 1)?[0] as usize;
            st.push_bytes(take(b, p, n)?)
        }
        0xc5 | 0xda => {
            let n = be(take(b, p, 2)?) as usize;
            st.push_bytes(take(b, p, n)?)
        }
        0xc6 | 0xdb => {
            let n = be(take(b, p, 4)?) as usize;
            st.push_bytes(take(b, p, n)?)
        }
        0xca => {
            let v = f32::from_bits(be(take(b, p, 4)?) as u32);
            st.push_number(v as f64)
        }
        0xcb => st.push_number(f64::from_bits(be(take(b, p, 8)?))),
        0xcc => st.push_number(be(take(b, p, 1)?) as f64),
        0xcd => st.push_number(be(take(b, p, 2)?) as f64),
        0xce => st.push_number(be(take(b, p, 4)?) as f64),
        0xcf => st.push_number(be(take(b, p, 8)?) as f64),
        0xd0 => st.push_number(be(take(b, p, 1)?) as u8 as i8 as f64),
        0xd1 => st.push_number(be(take(b, p, 2)?) as u16 as i16 as f64),
        0xd2 => st.push_number(be(take(b, p, 4)?) as u32 as i32 as f64),
        0xd3 => st.push_number(be(take(b, p, 8)?) as i64 as f64),
        0xdc => {
            let n = be(take(b, p, 2)?) as usize;
            return mp_array(st, b, p, n);
        }
        0xdd => {
            let n = be(take(b, p, 4)?) as usize;
            return mp_array(st, b, p, n);
        }
        0xde => {
            let n = be(take(b, p, 2)?) as usize;
            return mp_map(st, b, p, n);
        }
        0xdf => {
            let n = be(take(b, p, 4)?) as usize;
            return mp_map(st, b, p, n);
        }
        0xe0..=0xff => st.push_number(t as i8 as f64),
        _ => return Err(MpErr::Bad),
    }
    Ok(())
}

fn mp_array(st: &mut Stack, b: &[u8], p: &mut usize, n: usize) -> Result<(), MpErr> {
    st.new_table(n.min(1024), 0);
    for j in 1..=n {
        if let Err(e) = mp_decode(st, b, p) {
            st.pop(1);
            return Err(e);
        }
        st.raw_set_index(-2, j as i64);
    }
    Ok(())
}

fn mp_map(st: &mut Stack, b: &[u8], p: &mut usize, n: usize) -> Result<(), MpErr> {
    st.new_table(0, n.min(1024));
    for _ in 0..n {
        if let Err(e) = mp_decode(st, b, p) {
            st.pop(1);
            return Err(e);
        }
        if let Err(e) = mp_decode(st, b, p) {
            st.pop(2);
            return Err(e);
        }
        if st.type_of(-2) == Type::Nil {
            st.pop(2);
        } else if let Err(e) = st.raw_set(-3) {
            st.pop(1);
            return Err(MpErr::Lua(e));
        }
    }
    Ok(())
}

/// Shared by unpack / unpack_one / unpack_limit.
fn mp_unpack_full(st: &mut Stack, limit: i64, offset: i64) -> R {
    let Some(data) = st.to_string_lossless(1) else {
        return Err(LuaError::Msg(
            "bad argument #1 to 'unpack' (string expected)".into(),
        ));
    };
    if offset < 0 || limit < 0 {
        return Err(LuaError::Msg(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset,
            data.len()
        )));
    }
    let mut p = offset as usize;
    if p > data.len() {
        return Err(LuaError::Msg(
            "Start offset greater than input length.".into(),
        ));
    }
    let top = st.top();
    let mut count = 0i64;
    while p < data.len() && (limit == 0 || count < limit) {
        match mp_decode(st, &data, &mut p) {
            Ok(()) => count += 1,
            Err(e) => {
                st.set_top(top);
                return Err(match e {
                    MpErr::Eof => LuaError::Msg("Missing bytes in input.".into()),
                    MpErr::Bad => LuaError::Msg("Bad data format in input.".into()),
                    MpErr::Lua(e) => e,
                });
            }
        }
    }
    if limit == 0 {
        return Ok(count as c_int);
    }
    // unpack_one/limit: the next offset (or -1) goes first.
    let next = if p < data.len() { p as f64 } else { -1.0 };
    st.push_number(next);
    st.insert(top + 1);
    Ok(count as c_int + 1)
}

fn mp_unpack_body(st: &mut Stack) -> R {
    mp_unpack_full(st, 0, 0)
}
fn mp_unpack_one_body(st: &mut Stack) -> R {
    let off = st.opt_integer(2, 0)?;
    st.set_top(1);
    mp_unpack_full(st, 1, off)
}
fn mp_unpack_limit_body(st: &mut Stack) -> R {
    let limit = st.check_integer(2)?;
    let off = st.opt_integer(3, 0)?;
    st.set_top(1);
    mp_unpack_full(st, limit, off)
}
lua_fn!(mp_unpack, mp_unpack_body);
lua_fn!(mp_unpack_one, mp_unpack_one_body);
lua_fn!(mp_unpack_limit, mp_unpack_limit_body);
