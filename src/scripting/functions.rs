//! Redis 7.0 Functions (functions.c / function_lua.c): libraries loaded
//! with FUNCTION LOAD, their registered functions, FCALL lookup, and the
//! FUNCTION DUMP/RESTORE payload.
//!
//! A library's code starts with `#!lua name=<lib>`. It runs once at load
//! time with a restricted global environment that only has `redis` with
//! register_function/log/version fields (as Redis does); functions are
//! stored as registry refs in a Lua state separate from EVAL's.
//!
//! DUMP payload: Redis's format — per library the RDB opcode 0xf5
//! (RDB_OPCODE_FUNCTION2) and the code as an RDB string, then the RDB
//! version (2 bytes LE, 10) and a CRC-64 (8 bytes LE). We write strings
//! uncompressed and read both plain and LZF-compressed ones, so payloads
//! are exchangeable with Redis 7.0. RDB persistence itself comes later.

use super::vm::{ctx_of, push_error_table, set_fn, to_bytes, LuaState, Vm, VmKind};
use crate::error::{self, CmdError};
use mlua_sys as ffi;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::os::raw::{c_int, c_void};

pub struct FunctionInfo {
    pub name: String,
    pub desc: Option<Vec<u8>>,
    pub flags: u32,
    pub fn_ref: c_int,
}

pub struct Library {
    pub name: String,
    pub code: Vec<u8>,
    pub functions: BTreeMap<String, FunctionInfo>,
}

pub struct Functions {
    pub vm: Vm,
    pub libs: BTreeMap<String, Library>,
    /// lowercased function name -> library name (names are case-insensitive).
    pub index: HashMap<String, String>,
    /// Registry ref of the load-time globals table.
    load_env_ref: c_int,
}

/// What register_function collects during a FUNCTION LOAD.
struct LoadCtx {
    functions: BTreeMap<String, FunctionInfo>,
    /// When the load started and its time limit in ms (0 = none).
    start: std::time::Instant,
    timeout_ms: u64,
}

/// The reply for a failed compile (an empty message: the busy check
/// stopped it).
pub fn compile_error(m: String) -> CmdError {
    if m.is_empty() {
        return CmdError::Static(error::SCRIPT_KILLED);
    }
    error::custom(format!("ERR Error compiling function: {}", m))
}

/// FUNCTION LOAD's time limit for the library's top-level code (Redis's
/// LOAD_TIMEOUT_MS): it should only register functions.
pub const LOAD_TIMEOUT_MS: u64 = 500;

/// The load hook (luaEngineLoadHook): past the time limit the load fails
/// with "FUNCTION LOAD timeout", raised on every instruction from then on
/// so pcall cannot swallow it.
unsafe extern "C-unwind" fn load_hook(l: LuaState, _ar: *mut ffi::lua_Debug) {
    // SAFETY: Lua calls the hook with a valid state (and LUA_MINSTACK free
    // slots); the LoadCtx borrow ends before the raise, so nothing with a
    // destructor is alive then.
    unsafe {
        let over = loading_of(l).is_some_and(|c| {
            c.try_borrow().ok().is_some_and(|ctx| {
                ctx.timeout_ms > 0 && ctx.start.elapsed().as_millis() as u64 > ctx.timeout_ms
            })
        });
        if over {
            ffi::lua_sethook(l, Some(load_hook), ffi::LUA_MASKCOUNT, 1);
            push_error_table(l, b"FUNCTION LOAD timeout");
            ffi::lua_error(l);
        }
    }
}

/// The FUNCTION LOAD in progress on `l`'s interpreter, if any:
/// `finish_load` stores its `RefCell<LoadCtx>` in the interpreter's
/// context (`vm::VmCtx::load`) while the library's top-level code runs.
///
/// # Safety
/// `l` valid.
unsafe fn loading_of<'a>(l: LuaState) -> Option<&'a RefCell<LoadCtx>> {
    // SAFETY: the caller's contract; `load` holds a LoadCtx only while
    // `finish_load` keeps it alive on its stack (it clears it after).
    unsafe { (ctx_of(l)?.load.get() as *const RefCell<LoadCtx>).as_ref() }
}

impl Default for Functions {
    fn default() -> Self {
        Self::new()
    }
}

impl Functions {
    pub fn new() -> Functions {
        let vm = Vm::new(VmKind::Functions);
        // SAFETY: fresh state, balanced stack.
        let load_env_ref = unsafe {
            let l = vm.l;
            // The load-time globals: only `redis` (register_function, log,
            // version), missing names raise like the normal globals.
            ffi::lua_createtable(l, 0, 1);
            ffi::lua_createtable(l, 0, 8);
            let r = ffi::lua_gettop(l);
            set_fn(l, r, c"register_function", register_function);
            ffi::lua_getfield(l, ffi::LUA_GLOBALSINDEX, c"redis".as_ptr());
            for name in [
                c"log",
                c"LOG_DEBUG",
                c"LOG_VERBOSE",
                c"LOG_NOTICE",
                c"LOG_WARNING",
                c"REDIS_VERSION",
                c"REDIS_VERSION_NUM",
            ] {
                ffi::lua_getfield(l, -1, name.as_ptr());
                ffi::lua_setfield(l, r, name.as_ptr());
            }
            ffi::lua_pop(l, 1);
            // A read-only proxy; missing fields (redis.call...) raise like
            // missing globals.
            ffi::lua_pushvalue(l, r);
            ffi::lua_pushcclosure(l, super::vm::globals_index, 1);
            super::sandbox::push_proxy(l, r, Some(ffi::lua_gettop(l)));
            ffi::lua_replace(l, r);
            ffi::lua_pop(l, 1);
            ffi::lua_setfield(l, -2, c"redis".as_ptr());
            ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX)
        };
        Functions {
            vm,
            libs: BTreeMap::new(),
            index: HashMap::new(),
            load_env_ref,
        }
    }

    pub fn flush(&mut self) {
        *self = Functions::new();
    }

    pub fn functions_count(&self) -> usize {
        self.index.len()
    }

    /// Looks a function up: (library, info).
    /// Function names are case-insensitive, as Redis's functions dict.
    pub fn get(&self, name: &str) -> Option<&FunctionInfo> {
        let lib = self.libs.get(self.index.get(&name.to_ascii_lowercase())?)?;
        lib.functions.get(name).or_else(|| {
            lib.functions
                .values()
                .find(|f| f.name.eq_ignore_ascii_case(name))
        })
    }

    /// Switches the globals proxy's lookup table (upvalue 1 of its __index)
    /// to the load-time environment or back to the real globals.
    unsafe fn set_globals_source(&self, load: bool) {
        // SAFETY: `self.vm.l` is the valid state this Functions owns; no script runs on it now
        // (called around FUNCTION LOAD), and the stack is left balanced.
        unsafe {
            let l = self.vm.l;
            ffi::lua_getfield(
                l,
                ffi::LUA_REGISTRYINDEX,
                super::vm::REG_GLOBALS_INDEX.as_ptr(),
            );
            if load {
                ffi::lua_rawgeti(
                    l,
                    ffi::LUA_REGISTRYINDEX,
                    self.load_env_ref as ffi::lua_Integer,
                );
            } else {
                ffi::lua_getfield(
                    l,
                    ffi::LUA_REGISTRYINDEX,
                    super::vm::REG_REAL_GLOBALS.as_ptr(),
                );
            }
            if ffi::lua_type(l, -2) == ffi::LUA_TFUNCTION {
                ffi::lua_setupvalue(l, -2, 1);
                ffi::lua_pop(l, 1);
            } else {
                ffi::lua_pop(l, 2);
            }
        }
    }

    /// FUNCTION LOAD: returns the library name.
    /// `timeout_ms` bounds the library's top-level code (0: none, for
    /// loads the server must obey: RDB, AOF, the master).
    pub fn load(
        &mut self,
        code: &[u8],
        replace: bool,
        timeout_ms: u64,
    ) -> Result<String, CmdError> {
        let (name, body) = self.prepare(code, replace)?;
        self.vm
            .compile(body, c"@user_function")
            .map_err(compile_error)?;
        self.finish_load(code, name, timeout_ms)
    }

    /// FUNCTION LOAD's checks before compiling: the library name and the
    /// code Lua compiles.
    pub fn prepare<'a>(
        &self,
        code: &'a [u8],
        replace: bool,
    ) -> Result<(String, &'a [u8]), CmdError> {
        let (name, body) = parse_metadata(code)?;
        if !valid_name(&name) {
            return Err(CmdError::Static(error::FUNCTION_LIB_NAME_INVALID));
        }
        if self.libs.contains_key(&name) && !replace {
            return Err(error::custom(format!(
                "ERR Library '{}' already exists",
                name
            )));
        }
        Ok((name, body))
    }

    /// Runs the library's compiled chunk (on top of the VM's stack) and
    /// registers what it registered.
    pub fn finish_load(
        &mut self,
        code: &[u8],
        name: String,
        timeout_ms: u64,
    ) -> Result<String, CmdError> {
        let load = RefCell::new(LoadCtx {
            functions: BTreeMap::new(),
            start: std::time::Instant::now(),
            timeout_ms,
        });
        let l = self.vm.l;
        // SAFETY: the compiled chunk is on the stack; the load runs with
        // no RunCtx, so redis.call is unavailable (as in Redis). `load`
        // outlives the run: the slot is cleared right after it.
        let err = unsafe {
            self.vm
                .ctx()
                .load
                .set(&load as *const RefCell<LoadCtx> as *const c_void);
            self.set_globals_source(true);
            ffi::lua_sethook(l, Some(load_hook), ffi::LUA_MASKCOUNT, 100_000);
            let rc = ffi::lua_pcall(l, 0, 0, 0);
            ffi::lua_sethook(l, None, 0, 0);
            self.vm.ctx().load.set(std::ptr::null());
            self.set_globals_source(false);
            if rc != 0 {
                let msg = extract_err_msg(l);
                ffi::lua_pop(l, 1);
                Some(msg)
            } else {
                None
            }
        };
        let functions = load.into_inner().functions;
        let unref_all = |fs: &BTreeMap<String, FunctionInfo>| {
            for f in fs.values() {
                // SAFETY: refs created by register_function in this state.
                unsafe { ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, f.fn_ref) };
            }
        };
        if let Some(msg) = err {
            unref_all(&functions);
            return Err(error::custom(format!(
                "ERR Error registering functions: {}",
                msg
            )));
        }
        if functions.is_empty() {
            return Err(CmdError::Static(error::FUNCTION_NONE_REGISTERED));
        }
        for fname in functions.keys() {
            if let Some(owner) = self.index.get(&fname.to_ascii_lowercase()) {
                if *owner != name {
                    unref_all(&functions);
                    return Err(error::custom(format!(
                        "ERR Function {} already exists",
                        fname
                    )));
                }
            }
        }
        if let Some(old) = self.libs.remove(&name) {
            for f in old.functions.values() {
                self.index.remove(&f.name.to_ascii_lowercase());
                // SAFETY: refs owned by the replaced library.
                unsafe { ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, f.fn_ref) };
            }
        }
        for fname in functions.keys() {
            self.index.insert(fname.to_ascii_lowercase(), name.clone());
        }
        self.libs.insert(
            name.clone(),
            Library {
                name: name.clone(),
                code: code.to_vec(),
                functions,
            },
        );
        Ok(name)
    }

    /// FUNCTION DELETE.
    pub fn delete(&mut self, name: &str) -> bool {
        let Some(lib) = self.libs.remove(name) else {
            return false;
        };
        for f in lib.functions.values() {
            self.index.remove(&f.name.to_ascii_lowercase());
            // SAFETY: refs owned by the deleted library.
            unsafe { ffi::luaL_unref(self.vm.l, ffi::LUA_REGISTRYINDEX, f.fn_ref) };
        }
        true
    }

    /// FUNCTION DUMP payload.
    pub fn dump(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for lib in self.libs.values() {
            out.push(0xf5);
            rdb_write_len(&mut out, lib.code.len() as u64);
            out.extend_from_slice(&lib.code);
        }
        out.extend_from_slice(&10u16.to_le_bytes());
        let crc = crc::Crc::<u64>::new(&crc::CRC_64_REDIS).checksum(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }
}

/// Decodes a FUNCTION DUMP payload into library codes.
pub fn parse_dump(payload: &[u8]) -> Result<Vec<Vec<u8>>, CmdError> {
    let bad = || CmdError::Static(error::FUNCTION_RESTORE_PAYLOAD);
    if payload.len() < 10 {
        return Err(bad());
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let ver = u16::from_le_bytes([footer[0], footer[1]]);
    if ver > 10 {
        return Err(bad());
    }
    let crc = u64::from_le_bytes(footer[2..10].try_into().map_err(|_| bad())?);
    let calc = crc::Crc::<u64>::new(&crc::CRC_64_REDIS).checksum(&payload[..payload.len() - 8]);
    if crc != 0 && crc != calc {
        return Err(bad());
    }
    let mut p = 0;
    let mut out = Vec::new();
    while p < body.len() {
        if body[p] != 0xf5 {
            return Err(error::custom("ERR given type is not a function".into()));
        }
        p += 1;
        out.push(rdb_read_string(body, &mut p).ok_or_else(bad)?);
    }
    Ok(out)
}

fn rdb_write_len(out: &mut Vec<u8>, n: u64) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Reads an RDB length; Err(enc) for the special encodings (0xC0 | enc).
fn rdb_read_len(b: &[u8], p: &mut usize) -> Option<Result<u64, u8>> {
    let first = *b.get(*p)?;
    *p += 1;
    Some(match first >> 6 {
        0 => Ok((first & 0x3f) as u64),
        1 => {
            let second = *b.get(*p)?;
            *p += 1;
            Ok((((first & 0x3f) as u64) << 8) | second as u64)
        }
        2 => match first {
            0x80 => {
                let v = u32::from_be_bytes(b.get(*p..*p + 4)?.try_into().ok()?);
                *p += 4;
                Ok(v as u64)
            }
            0x81 => {
                let v = u64::from_be_bytes(b.get(*p..*p + 8)?.try_into().ok()?);
                *p += 8;
                Ok(v)
            }
            _ => return None,
        },
        _ => Err(first & 0x3f),
    })
}

fn rdb_read_string(b: &[u8], p: &mut usize) -> Option<Vec<u8>> {
    match rdb_read_len(b, p)? {
        Ok(n) => {
            let n = n as usize;
            let s = b.get(*p..p.checked_add(n)?)?.to_vec();
            *p += n;
            Some(s)
        }
        Err(3) => {
            // LZF: compressed len, original len, data.
            let clen = rdb_read_len(b, p)?.ok()? as usize;
            let len = rdb_read_len(b, p)?.ok()? as usize;
            let data = b.get(*p..p.checked_add(clen)?)?;
            *p += clen;
            lzf_decompress(data, len)
        }
        Err(enc) => {
            let n = match enc {
                0 => *b.get(*p)? as i8 as i64,
                1 => i16::from_le_bytes(b.get(*p..*p + 2)?.try_into().ok()?) as i64,
                2 => i32::from_le_bytes(b.get(*p..*p + 4)?.try_into().ok()?) as i64,
                _ => return None,
            };
            *p += 1 << enc;
            Some(n.to_string().into_bytes())
        }
    }
}

/// LZF decompression (liblzf's format, as RDB uses it).
fn lzf_decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            out.extend_from_slice(input.get(i..i + n)?);
            i += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            let start = out.len().checked_sub(back)?;
            for k in 0..len + 2 {
                let c = out[start + k];
                out.push(c);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

/// Parses `#!lua name=<lib>`; returns the name and the code Lua compiles
/// (the shebang line blanked, so line numbers match).
fn parse_metadata(code: &[u8]) -> Result<(String, &[u8]), CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::Static(error::FUNCTION_MISSING_METADATA));
    }
    let invalid = || error::custom("ERR Invalid library metadata".into());
    let end = code.iter().position(|&b| b == b'\n').ok_or_else(invalid)?;
    // The shebang line is split as sdssplitargs does (quotes allowed).
    let (mut words, mut ranges) = (Vec::new(), Vec::new());
    if !crate::protocol::parse::split_args(&code[..end], &mut words, &mut ranges)
        || ranges.is_empty()
    {
        return Err(invalid());
    }
    let part = |(off, len): (usize, usize)| &words[off..off + len];
    let engine = part(ranges[0]).get(2..).unwrap_or_default();
    let mut name: Option<String> = None;
    for &r in &ranges[1..] {
        let p = part(r);
        if p.len() >= 5 && p[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(error::custom(
                    "ERR Invalid metadata value, name argument was given multiple times".into(),
                ));
            }
            name = Some(String::from_utf8_lossy(&p[5..]).into_owned());
            continue;
        }
        return Err(error::custom(format!(
            "ERR Invalid metadata value given: {}",
            String::from_utf8_lossy(p)
        )));
    }
    let Some(name) = name else {
        return Err(CmdError::Static(error::FUNCTION_NO_NAME));
    };
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(error::custom(format!(
            "ERR Engine '{}' not found",
            String::from_utf8_lossy(engine)
        )));
    }
    Ok((name, &code[end..]))
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The message of a load-time error (luaExtractErrorInformation's msg).
unsafe fn extract_err_msg(l: LuaState) -> String {
    // SAFETY: called with the valid functions VM state and the load's error value on top; raw
    // reads only.
    unsafe {
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            super::vm::push_raw_field(l, c"err");
            let m = to_bytes(l, -1).map(|b| String::from_utf8_lossy(b).into_owned());
            ffi::lua_pop(l, 1);
            m.unwrap_or_default()
        } else {
            let m = to_bytes(l, -1).map(|b| String::from_utf8_lossy(b).into_owned());
            format!("ERR {}", m.unwrap_or_default())
        }
    }
}

// ---- redis.register_function ------------------------------------------------

unsafe fn register_function_impl(l: LuaState) -> Result<c_int, ()> {
    // SAFETY: called only by the register_function C function, with the state Lua passed it; its
    // raises are left to the trampoline (errors pushed, Err returned).
    unsafe {
        let Some(load) = loading_of(l) else {
            push_error_table(
                l,
                b"redis.register_function can only be called on FUNCTION LOAD command",
            );
            return Err(());
        };
        let argc = ffi::lua_gettop(l);
        if !(1..=2).contains(&argc) {
            push_error_table(l, b"wrong number of arguments to redis.register_function");
            return Err(());
        }
        let mut name: Option<String> = None;
        let mut desc: Option<Vec<u8>> = None;
        let mut flags = 0u32;
        let mut fn_ref: Option<c_int> = None;
        let fail = |l: LuaState, fn_ref: Option<c_int>, msg: &str| {
            if let Some(r) = fn_ref {
                ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, r);
            }
            push_error_table(l, msg.as_bytes());
        };
        if argc == 2 {
            if ffi::lua_isstring(l, 1) == 0 {
                fail(
                    l,
                    None,
                    "first argument to redis.register_function must be a string",
                );
                return Err(());
            }
            name = Some(String::from_utf8_lossy(to_bytes(l, 1).unwrap_or_default()).into_owned());
            if ffi::lua_type(l, 2) != ffi::LUA_TFUNCTION {
                fail(
                    l,
                    None,
                    "second argument to redis.register_function must be a function",
                );
                return Err(());
            }
            ffi::lua_pushvalue(l, 2);
            fn_ref = Some(ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX));
        } else {
            if ffi::lua_type(l, 1) != ffi::LUA_TTABLE {
                fail(l, None, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
                return Err(());
            }
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, 1) != 0 {
                if ffi::lua_type(l, -2) != ffi::LUA_TSTRING {
                    fail(
                        l,
                        fn_ref,
                        "named argument key given to redis.register_function is not a string",
                    );
                    return Err(());
                }
                let key = to_bytes(l, -2).unwrap_or_default().to_ascii_lowercase();
                match &key[..] {
                    b"function_name" => {
                        if ffi::lua_isstring(l, -1) == 0 {
                            fail(l, fn_ref, "function_name argument given to redis.register_function must be a string");
                            return Err(());
                        }
                        ffi::lua_pushvalue(l, -1);
                        name = Some(
                            String::from_utf8_lossy(to_bytes(l, -1).unwrap_or_default())
                                .into_owned(),
                        );
                        ffi::lua_pop(l, 1);
                    }
                    b"description" => {
                        if ffi::lua_isstring(l, -1) == 0 {
                            fail(l, fn_ref, "description argument given to redis.register_function must be a string");
                            return Err(());
                        }
                        ffi::lua_pushvalue(l, -1);
                        desc = Some(to_bytes(l, -1).unwrap_or_default().to_vec());
                        ffi::lua_pop(l, 1);
                    }
                    b"callback" => {
                        if ffi::lua_type(l, -1) != ffi::LUA_TFUNCTION {
                            fail(
                            l,
                            fn_ref,
                            "callback argument given to redis.register_function must be a function",
                        );
                            return Err(());
                        }
                        if let Some(r) = fn_ref {
                            ffi::luaL_unref(l, ffi::LUA_REGISTRYINDEX, r);
                        }
                        fn_ref = Some(ffi::luaL_ref(l, ffi::LUA_REGISTRYINDEX));
                        continue;
                    }
                    b"flags" => {
                        if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
                            fail(l, fn_ref, "flags argument to redis.register_function must be a table representing function flags");
                            return Err(());
                        }
                        let mut j = 1;
                        loop {
                            ffi::lua_rawgeti(l, -1, j);
                            j += 1;
                            if ffi::lua_type(l, -1) == ffi::LUA_TNIL {
                                ffi::lua_pop(l, 1);
                                break;
                            }
                            let f = if ffi::lua_isstring(l, -1) != 0 {
                                let s = to_bytes(l, -1).unwrap_or_default();
                                super::FLAG_NAMES
                                    .iter()
                                    .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(s))
                                    .map(|(v, _)| *v)
                            } else {
                                None
                            };
                            ffi::lua_pop(l, 1);
                            match f {
                                Some(v) => flags |= v,
                                None => {
                                    fail(l, fn_ref, "unknown flag given");
                                    return Err(());
                                }
                            }
                        }
                    }
                    _ => {
                        fail(
                            l,
                            fn_ref,
                            "unknown argument given to redis.register_function",
                        );
                        return Err(());
                    }
                }
                ffi::lua_pop(l, 1);
            }
            if name.is_none() {
                fail(
                    l,
                    fn_ref,
                    "redis.register_function must get a function name argument",
                );
                return Err(());
            }
            if fn_ref.is_none() {
                fail(
                    l,
                    None,
                    "redis.register_function must get a callback argument",
                );
                return Err(());
            }
        }
        let (Some(name), Some(fn_ref)) = (name, fn_ref) else {
            return Err(());
        };
        if !valid_name(&name) {
            fail(l, Some(fn_ref), "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
            return Err(());
        }
        let dup = match load.try_borrow_mut() {
            Ok(mut ctx) if !ctx.functions.contains_key(&name) => {
                ctx.functions.insert(
                    name.clone(),
                    FunctionInfo {
                        name: name.clone(),
                        desc,
                        flags,
                        fn_ref,
                    },
                );
                false
            }
            _ => true,
        };
        if dup {
            fail(l, Some(fn_ref), "Function already exists in the library");
            return Err(());
        }
        Ok(0)
    }
}
fn register_function_body(
    st: &mut super::lua_stack::Stack,
) -> Result<c_int, super::lua_stack::LuaError> {
    // SAFETY: the Stack's state is valid (Lua called the C function);
    // register_function_impl leaves its error on top and raises nothing
    // itself (luaL_ref/unref and raw reads only).
    unsafe { register_function_impl(st.raw()) }.map_err(|()| super::lua_stack::LuaError::Top)
}
crate::lua_fn!(register_function, register_function_body);
