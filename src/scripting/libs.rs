//! The extra Lua libraries Redis bundles: `bit` (LuaBitOp semantics on 32
//! bits), `struct` (Roberto Ierusalimschy's struct: pack/unpack/size) and
//! `cmsgpack` (lua-cmsgpack: pack/unpack/unpack_one/unpack_limit); `cjson`
//! lives in cjson.rs. Written in Rust against the Lua C API.

use super::vm::{push_bytes, push_error_msg, set_fn, to_bytes, LuaState};
use mlua_sys as ffi;
use std::os::raw::c_int;

/// Registers bit, struct, cmsgpack and cjson as globals.
///
/// # Safety
/// Valid state.
pub unsafe fn open_all(l: LuaState) {
    ffi::lua_createtable(l, 0, 12);
    let t = ffi::lua_gettop(l);
    set_fn(l, t, c"tobit", bit_tobit);
    set_fn(l, t, c"bnot", bit_bnot);
    set_fn(l, t, c"band", bit_band);
    set_fn(l, t, c"bor", bit_bor);
    set_fn(l, t, c"bxor", bit_bxor);
    set_fn(l, t, c"lshift", bit_lshift);
    set_fn(l, t, c"rshift", bit_rshift);
    set_fn(l, t, c"arshift", bit_arshift);
    set_fn(l, t, c"rol", bit_rol);
    set_fn(l, t, c"ror", bit_ror);
    set_fn(l, t, c"bswap", bit_bswap);
    set_fn(l, t, c"tohex", bit_tohex);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"bit".as_ptr());

    ffi::lua_createtable(l, 0, 3);
    let t = ffi::lua_gettop(l);
    set_fn(l, t, c"pack", struct_pack);
    set_fn(l, t, c"unpack", struct_unpack);
    set_fn(l, t, c"size", struct_size);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"struct".as_ptr());

    ffi::lua_createtable(l, 0, 8);
    let t = ffi::lua_gettop(l);
    set_fn(l, t, c"pack", mp_pack);
    set_fn(l, t, c"unpack", mp_unpack);
    set_fn(l, t, c"unpack_one", mp_unpack_one);
    set_fn(l, t, c"unpack_limit", mp_unpack_limit);
    super::vm::push_str(l, "lua-cmsgpack");
    ffi::lua_setfield(l, t, c"_NAME".as_ptr());
    super::vm::push_str(l, "lua-cmsgpack 0.4.0");
    ffi::lua_setfield(l, t, c"_VERSION".as_ptr());
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"cmsgpack".as_ptr());

    super::cjson::open(l);
}

// ---- bit ----------------------------------------------------------------------

/// LuaBitOp's barg: the number normalised to 32 bits (2^52+2^51 trick).
unsafe fn barg(l: LuaState, idx: c_int) -> u32 {
    let n = ffi::luaL_checknumber(l, idx) + 6755399441055744.0;
    n.to_bits() as u32
}

unsafe fn bret(l: LuaState, b: u32) -> c_int {
    ffi::lua_pushnumber(l, b as i32 as f64);
    1
}

unsafe extern "C-unwind" fn bit_tobit(l: LuaState) -> c_int {
    let b = barg(l, 1);
    bret(l, b)
}
unsafe extern "C-unwind" fn bit_bnot(l: LuaState) -> c_int {
    let b = barg(l, 1);
    bret(l, !b)
}
unsafe extern "C-unwind" fn bit_bswap(l: LuaState) -> c_int {
    let b = barg(l, 1);
    bret(l, b.swap_bytes())
}

unsafe fn fold(l: LuaState, f: fn(u32, u32) -> u32) -> c_int {
    let mut b = barg(l, 1);
    let n = ffi::lua_gettop(l);
    for i in 2..=n {
        b = f(b, barg(l, i));
    }
    bret(l, b)
}
unsafe extern "C-unwind" fn bit_band(l: LuaState) -> c_int {
    fold(l, |a, b| a & b)
}
unsafe extern "C-unwind" fn bit_bor(l: LuaState) -> c_int {
    fold(l, |a, b| a | b)
}
unsafe extern "C-unwind" fn bit_bxor(l: LuaState) -> c_int {
    fold(l, |a, b| a ^ b)
}

unsafe fn shift(l: LuaState, f: fn(u32, u32) -> u32) -> c_int {
    let b = barg(l, 1);
    let n = barg(l, 2) & 31;
    bret(l, f(b, n))
}
unsafe extern "C-unwind" fn bit_lshift(l: LuaState) -> c_int {
    shift(l, |b, n| b << n)
}
unsafe extern "C-unwind" fn bit_rshift(l: LuaState) -> c_int {
    shift(l, |b, n| b >> n)
}
unsafe extern "C-unwind" fn bit_arshift(l: LuaState) -> c_int {
    shift(l, |b, n| ((b as i32) >> n) as u32)
}
unsafe extern "C-unwind" fn bit_rol(l: LuaState) -> c_int {
    shift(l, |b, n| b.rotate_left(n))
}
unsafe extern "C-unwind" fn bit_ror(l: LuaState) -> c_int {
    shift(l, |b, n| b.rotate_right(n))
}

unsafe extern "C-unwind" fn bit_tohex(l: LuaState) -> c_int {
    let b = barg(l, 1);
    let mut n: i32 = if ffi::lua_type(l, 2) <= ffi::LUA_TNIL {
        8
    } else {
        barg(l, 2) as i32
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
    push_bytes(l, &buf[..n]);
    1
}

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

unsafe fn struct_pack_impl(l: LuaState) -> Result<c_int, ()> {
    const FNAME: &str = "pack";
    let fmt = to_bytes(l, 1).map(|f| f.to_vec());
    let Some(fmt) = fmt else {
        push_error_msg(l, "bad argument #1 to 'pack' (string expected)");
        return Err(());
    };
    let mut h = Header {
        little: true,
        align: 1,
    };
    let mut arg = 2;
    let mut out = Vec::new();
    let mut i = 0;
    let fail = |l: LuaState, m: String| {
        push_error_msg(l, &m);
        Err(())
    };
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let size = match optsize(opt, &fmt, &mut i) {
            Ok(s) => s,
            Err(m) => return fail(l, m),
        };
        let toalign = gettoalign(out.len(), &h, opt, size);
        out.resize(out.len() + toalign, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                if ffi::lua_isnumber(l, arg) == 0 {
                    return fail(
                        l,
                        format!(
                            "bad argument #{} to 'pack' (number expected, got {})",
                            arg,
                            type_name(l, arg)
                        ),
                    );
                }
                let n = ffi::lua_tonumber(l, arg);
                arg += 1;
                let v = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                put_int(&mut out, v, h.little, size);
            }
            b'x' => out.push(0),
            b'f' => {
                if ffi::lua_isnumber(l, arg) == 0 {
                    return fail(
                        l,
                        format!(
                            "bad argument #{} to 'pack' (number expected, got {})",
                            arg,
                            type_name(l, arg)
                        ),
                    );
                }
                let f = ffi::lua_tonumber(l, arg) as f32;
                arg += 1;
                let b = if h.little {
                    f.to_le_bytes()
                } else {
                    f.to_be_bytes()
                };
                out.extend_from_slice(&b);
            }
            b'd' => {
                if ffi::lua_isnumber(l, arg) == 0 {
                    return fail(
                        l,
                        format!(
                            "bad argument #{} to 'pack' (number expected, got {})",
                            arg,
                            type_name(l, arg)
                        ),
                    );
                }
                let d = ffi::lua_tonumber(l, arg);
                arg += 1;
                let b = if h.little {
                    d.to_le_bytes()
                } else {
                    d.to_be_bytes()
                };
                out.extend_from_slice(&b);
            }
            b'c' | b's' => {
                let Some(s) = to_bytes(l, arg) else {
                    return fail(
                        l,
                        format!(
                            "bad argument #{} to 'pack' (string expected, got {})",
                            arg,
                            type_name(l, arg)
                        ),
                    );
                };
                let mut size = size;
                if opt == b'c' {
                    if size == 0 {
                        size = s.len();
                    }
                    if s.len() < size {
                        return fail(
                            l,
                            format!("bad argument #{} to 'pack' (string too short)", arg),
                        );
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
                    return fail(
                        l,
                        format!(
                            "bad argument #1 to '{}' (invalid format option '{}')",
                            FNAME, opt as char
                        ),
                    )
                }
                Err(m) => return fail(l, m),
            },
        }
    }
    push_bytes(l, &out);
    Ok(1)
}
crate::lua_cfn!(struct_pack, struct_pack_impl);

unsafe fn type_name(l: LuaState, idx: c_int) -> String {
    let t = ffi::lua_type(l, idx);
    if t == ffi::LUA_TNONE {
        return "no value".into();
    }
    std::ffi::CStr::from_ptr(ffi::lua_typename(l, t))
        .to_string_lossy()
        .into_owned()
}

unsafe fn struct_unpack_impl(l: LuaState) -> Result<c_int, ()> {
    const FNAME: &str = "unpack";
    let Some(fmt) = to_bytes(l, 1).map(|f| f.to_vec()) else {
        push_error_msg(l, "bad argument #1 to 'unpack' (string expected)");
        return Err(());
    };
    let Some(data) = to_bytes(l, 2).map(|f| f.to_vec()) else {
        push_error_msg(
            l,
            &format!(
                "bad argument #2 to 'unpack' (string expected, got {})",
                type_name(l, 2)
            ),
        );
        return Err(());
    };
    let start = if ffi::lua_type(l, 3) > ffi::LUA_TNIL {
        ffi::lua_tonumber(l, 3) as i64
    } else {
        1
    };
    if start < 1 {
        push_error_msg(
            l,
            "bad argument #3 to 'unpack' (offset must be 1 or greater)",
        );
        return Err(());
    }
    let mut pos = (start - 1) as usize;
    let mut h = Header {
        little: true,
        align: 1,
    };
    let mut i = 0;
    let mut n = 0;
    ffi::lua_settop(l, 2);
    let fail = |l: LuaState, m: String| {
        push_error_msg(l, &m);
        Err(())
    };
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let size = match optsize(opt, &fmt, &mut i) {
            Ok(s) => s,
            Err(m) => return fail(l, m),
        };
        pos += gettoalign(pos, &h, opt, size);
        if pos.checked_add(size).is_none_or(|e| e > data.len()) {
            return fail(
                l,
                "bad argument #2 to 'unpack' (data string too short)".into(),
            );
        }
        ffi::lua_checkstack(l, 2);
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
                ffi::lua_pushnumber(l, res);
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
                ffi::lua_pushnumber(l, f as f64);
                n += 1;
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or([0; 8]);
                let d = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                ffi::lua_pushnumber(l, d);
                n += 1;
            }
            b'c' => {
                let mut size = size;
                if size == 0 {
                    if n == 0 || ffi::lua_isnumber(l, -1) == 0 {
                        return fail(l, "format 'c0' needs a previous size".into());
                    }
                    size = ffi::lua_tonumber(l, -1) as usize;
                    ffi::lua_pop(l, 1);
                    n -= 1;
                    if pos.checked_add(size).is_none_or(|e| e > data.len()) {
                        return fail(
                            l,
                            "bad argument #2 to 'unpack' (data string too short)".into(),
                        );
                    }
                }
                push_bytes(l, &data[pos..pos + size]);
                n += 1;
                pos += size;
                continue;
            }
            b's' => {
                let Some(z) = data[pos..].iter().position(|&b| b == 0) else {
                    return fail(l, "unfinished string in data".into());
                };
                push_bytes(l, &data[pos..pos + z]);
                n += 1;
                pos += z + 1;
                continue;
            }
            _ => match controloptions(opt, &fmt, &mut i, &mut h) {
                Ok(true) => {}
                Ok(false) => {
                    return fail(
                        l,
                        format!(
                            "bad argument #1 to '{}' (invalid format option '{}')",
                            FNAME, opt as char
                        ),
                    )
                }
                Err(m) => return fail(l, m),
            },
        }
        pos += size;
    }
    ffi::lua_pushnumber(l, (pos + 1) as f64);
    Ok(n + 1)
}
crate::lua_cfn!(struct_unpack, struct_unpack_impl);

unsafe fn struct_size_impl(l: LuaState) -> Result<c_int, ()> {
    let Some(fmt) = to_bytes(l, 1).map(|f| f.to_vec()) else {
        push_error_msg(l, "bad argument #1 to 'size' (string expected)");
        return Err(());
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
                push_error_msg(l, &m);
                return Err(());
            }
        };
        pos += gettoalign(pos, &h, opt, size);
        if opt == b's' || (opt == b'c' && size == 0) {
            push_error_msg(
                l,
                "bad argument #1 to 'size' (options 'c0' - 's' have undefined sizes)",
            );
            return Err(());
        }
        match controloptions(opt, &fmt, &mut i, &mut h) {
            Err(m) => {
                push_error_msg(l, &m);
                return Err(());
            }
            Ok(false) if !b"bBhHlLTiIxfdcs".contains(&opt) => {
                push_error_msg(
                    l,
                    &format!(
                        "bad argument #1 to 'size' (invalid format option '{}')",
                        opt as char
                    ),
                );
                return Err(());
            }
            _ => {}
        }
        pos += size;
    }
    ffi::lua_pushnumber(l, pos as f64);
    Ok(1)
}
crate::lua_cfn!(struct_size, struct_size_impl);

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
unsafe fn mp_encode(l: LuaState, out: &mut Vec<u8>, level: usize) {
    match ffi::lua_type(l, -1) {
        ffi::LUA_TBOOLEAN => out.push(if ffi::lua_toboolean(l, -1) != 0 {
            0xc3
        } else {
            0xc2
        }),
        ffi::LUA_TNUMBER => {
            let n = ffi::lua_tonumber(l, -1);
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
        }
        ffi::LUA_TSTRING => {
            let s = to_bytes(l, -1).unwrap_or_default();
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
        }
        ffi::LUA_TTABLE if level < MP_MAX_NESTING => {
            ffi::lua_checkstack(l, 3);
            // Array iff all keys are integers 1..n.
            let mut count = 0usize;
            let mut max = 0f64;
            let mut is_array = true;
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, -2) != 0 {
                ffi::lua_pop(l, 1);
                if ffi::lua_type(l, -1) == ffi::LUA_TNUMBER {
                    let k = ffi::lua_tonumber(l, -1);
                    if k > 0.0 && k.floor() == k {
                        max = max.max(k);
                        count += 1;
                        continue;
                    }
                }
                is_array = false;
                ffi::lua_pop(l, 1);
                break;
            }
            if is_array && max as usize == count {
                mp_len(out, count, 0x90, 15, 0xdc, 0xdd);
                for j in 1..=count {
                    ffi::lua_rawgeti(l, -1, j as ffi::lua_Integer);
                    mp_encode(l, out, level + 1);
                    ffi::lua_pop(l, 1);
                }
            } else {
                let mut n = 0usize;
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pop(l, 1);
                    n += 1;
                }
                mp_len(out, n, 0x80, 15, 0xde, 0xdf);
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pushvalue(l, -2);
                    mp_encode(l, out, level + 1);
                    ffi::lua_pop(l, 1);
                    mp_encode(l, out, level + 1);
                    ffi::lua_pop(l, 1);
                }
            }
        }
        _ => out.push(0xc0),
    }
}

unsafe fn mp_pack_impl(l: LuaState) -> Result<c_int, ()> {
    let n = ffi::lua_gettop(l);
    if n == 0 {
        push_error_msg(
            l,
            "bad argument #0 to 'pack' (MessagePack pack needs input.)",
        );
        return Err(());
    }
    let mut out = Vec::new();
    for i in 1..=n {
        ffi::lua_pushvalue(l, i);
        mp_encode(l, &mut out, 0);
        ffi::lua_pop(l, 1);
    }
    push_bytes(l, &out);
    Ok(1)
}
crate::lua_cfn!(mp_pack, mp_pack_impl);

enum MpErr {
    Eof,
    Bad,
}

/// Decodes one value at `*p`, pushing it.
unsafe fn mp_decode(l: LuaState, b: &[u8], p: &mut usize) -> Result<(), MpErr> {
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
    ffi::lua_checkstack(l, 3);
    let t = take(b, p, 1)?[0];
    match t {
        0x00..=0x7f => ffi::lua_pushnumber(l, t as f64),
        0x80..=0x8f => return mp_map(l, b, p, (t & 0x0f) as usize),
        0x90..=0x9f => return mp_array(l, b, p, (t & 0x0f) as usize),
        0xa0..=0xbf => push_bytes(l, take(b, p, (t & 0x1f) as usize)?),
        0xc0 => ffi::lua_pushnil(l),
        0xc2 => ffi::lua_pushboolean(l, 0),
        0xc3 => ffi::lua_pushboolean(l, 1),
        0xc4 | 0xd9 => {
            let n = take(b, p, 1)?[0] as usize;
            push_bytes(l, take(b, p, n)?)
        }
        0xc5 | 0xda => {
            let n = be(take(b, p, 2)?) as usize;
            push_bytes(l, take(b, p, n)?)
        }
        0xc6 | 0xdb => {
            let n = be(take(b, p, 4)?) as usize;
            push_bytes(l, take(b, p, n)?)
        }
        0xca => {
            let v = f32::from_bits(be(take(b, p, 4)?) as u32);
            ffi::lua_pushnumber(l, v as f64)
        }
        0xcb => ffi::lua_pushnumber(l, f64::from_bits(be(take(b, p, 8)?))),
        0xcc => ffi::lua_pushnumber(l, be(take(b, p, 1)?) as f64),
        0xcd => ffi::lua_pushnumber(l, be(take(b, p, 2)?) as f64),
        0xce => ffi::lua_pushnumber(l, be(take(b, p, 4)?) as f64),
        0xcf => ffi::lua_pushnumber(l, be(take(b, p, 8)?) as f64),
        0xd0 => ffi::lua_pushnumber(l, be(take(b, p, 1)?) as u8 as i8 as f64),
        0xd1 => ffi::lua_pushnumber(l, be(take(b, p, 2)?) as u16 as i16 as f64),
        0xd2 => ffi::lua_pushnumber(l, be(take(b, p, 4)?) as u32 as i32 as f64),
        0xd3 => ffi::lua_pushnumber(l, be(take(b, p, 8)?) as i64 as f64),
        0xdc => {
            let n = be(take(b, p, 2)?) as usize;
            return mp_array(l, b, p, n);
        }
        0xdd => {
            let n = be(take(b, p, 4)?) as usize;
            return mp_array(l, b, p, n);
        }
        0xde => {
            let n = be(take(b, p, 2)?) as usize;
            return mp_map(l, b, p, n);
        }
        0xdf => {
            let n = be(take(b, p, 4)?) as usize;
            return mp_map(l, b, p, n);
        }
        0xe0..=0xff => ffi::lua_pushnumber(l, t as i8 as f64),
        _ => return Err(MpErr::Bad),
    }
    Ok(())
}

unsafe fn mp_array(l: LuaState, b: &[u8], p: &mut usize, n: usize) -> Result<(), MpErr> {
    ffi::lua_createtable(l, n.min(1024) as c_int, 0);
    for j in 1..=n {
        if let Err(e) = mp_decode(l, b, p) {
            ffi::lua_pop(l, 1);
            return Err(e);
        }
        ffi::lua_rawseti(l, -2, j as ffi::lua_Integer);
    }
    Ok(())
}

unsafe fn mp_map(l: LuaState, b: &[u8], p: &mut usize, n: usize) -> Result<(), MpErr> {
    ffi::lua_createtable(l, 0, n.min(1024) as c_int);
    for _ in 0..n {
        if let Err(e) = mp_decode(l, b, p) {
            ffi::lua_pop(l, 1);
            return Err(e);
        }
        if let Err(e) = mp_decode(l, b, p) {
            ffi::lua_pop(l, 2);
            return Err(e);
        }
        if ffi::lua_type(l, -2) == ffi::LUA_TNIL {
            ffi::lua_pop(l, 2);
        } else {
            ffi::lua_rawset(l, -3);
        }
    }
    Ok(())
}

/// Shared by unpack / unpack_one / unpack_limit.
unsafe fn mp_unpack_full(l: LuaState, limit: i64, offset: i64) -> Result<c_int, ()> {
    let Some(data) = to_bytes(l, 1).map(|d| d.to_vec()) else {
        push_error_msg(l, "bad argument #1 to 'unpack' (string expected)");
        return Err(());
    };
    if offset < 0 || limit < 0 {
        push_error_msg(
            l,
            &format!(
                "Invalid request to unpack with offset of {} and limit of {}.",
                offset,
                data.len()
            ),
        );
        return Err(());
    }
    let mut p = offset as usize;
    if p > data.len() {
        push_error_msg(l, "Start offset greater than input length.");
        return Err(());
    }
    let top = ffi::lua_gettop(l);
    let mut count = 0i64;
    while p < data.len() && (limit == 0 || count < limit) {
        match mp_decode(l, &data, &mut p) {
            Ok(()) => count += 1,
            Err(e) => {
                ffi::lua_settop(l, top);
                push_error_msg(
                    l,
                    match e {
                        MpErr::Eof => "Missing bytes in input.",
                        MpErr::Bad => "Bad data format in input.",
                    },
                );
                return Err(());
            }
        }
    }
    if limit == 0 {
        return Ok(count as c_int);
    }
    // unpack_one/limit: the next offset (or -1) goes first.
    let next = if p < data.len() { p as f64 } else { -1.0 };
    ffi::lua_pushnumber(l, next);
    ffi::lua_insert(l, top + 1);
    Ok(count as c_int + 1)
}

unsafe fn mp_unpack_impl(l: LuaState) -> Result<c_int, ()> {
    mp_unpack_full(l, 0, 0)
}
unsafe fn mp_unpack_one_impl(l: LuaState) -> Result<c_int, ()> {
    let off = ffi::luaL_optinteger(l, 2, 0) as i64;
    ffi::lua_settop(l, 1);
    mp_unpack_full(l, 1, off)
}
unsafe fn mp_unpack_limit_impl(l: LuaState) -> Result<c_int, ()> {
    let limit = ffi::luaL_checkinteger(l, 2) as i64;
    let off = ffi::luaL_optinteger(l, 3, 0) as i64;
    ffi::lua_settop(l, 1);
    mp_unpack_full(l, limit, off)
}
crate::lua_cfn!(mp_unpack, mp_unpack_impl);
crate::lua_cfn!(mp_unpack_one, mp_unpack_one_impl);
crate::lua_cfn!(mp_unpack_limit, mp_unpack_limit_impl);
