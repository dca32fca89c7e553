//! The script sandbox's read-only tables and guarded builtins (what Redis
//! 7.0.15 gets from its patched Lua's `readonly` table flag, built here on
//! stock Lua 5.1 with proxies that no builtin can see through).
//!
//! Every protected table (the globals, each library table, the string
//! metatable) is reached only through a *proxy*: an empty table whose
//! metatable reads from the real table and refuses writes. The registry
//! table [`REG_PROXIES`] maps each proxy to its real table; a table is
//! read-only exactly when it is a key there. Every builtin that could write
//! a table raw or reach a proxy's metatable is replaced so that it honours
//! that mark with Redis's error text ("Attempt to modify a readonly table"):
//! `rawset`, `setmetatable`, `table.insert`; the readers
//! `rawget`, `next`, `pairs` and `getmetatable` see through a proxy the way
//! Redis's scripts see a read-only table, without ever handing out the real
//! table or a proxy's metatable. `getfenv`, `setfenv` and `newproxy` are
//! removed, as Debian's Redis 7.0.15 does (CVE-2025-46818), unless
//! `lua-enable-deprecated-api yes` brings them back guarded: getfenv never
//! hands out a real table, setfenv changes only a Lua function value, and
//! newproxy metatables never get a finalizer. `unpack` has Redis's
//! overflow fix (CVE-2025-46817).
//!
//! Code enters the VM only as text ([`load_text`]): a chunk that starts
//! with Lua's bytecode signature is parsed as text (so it fails with the
//! parser's "unexpected symbol near 'char(27)'", Redis's reply), never
//! undumped. `loadstring` and `load` inside scripts go through the same
//! loader. The chunk name is kept on the stack while parsing, so the
//! garbage collector cannot free it mid-parse (CVE-2025-49844).
//!
//! Plain `extern "C-unwind"` functions here raise through `luaL_*` checks
//! and `lua_error` directly: they hold no Rust value with a destructor, so
//! the longjmp crosses only plain frames.

use super::vm::{push_str, to_bytes, LuaState};
use mlua_sys as ffi;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};

/// Registry key of the proxy → real table map.
pub const REG_PROXIES: &CStr = c"__ferrokv_proxies";
/// Registry key of the read-only stand-in `getmetatable("")` returns.
const REG_STRING_MT: &CStr = c"__ferrokv_string_mt";
/// Registry key of the read-only stand-in `getmetatable(_G)` returns.
pub const REG_GLOBALS_MT: &CStr = c"__ferrokv_globals_mt";

pub const READONLY_ERR: &str = "Attempt to modify a readonly table";

/// Is the value at `idx` a protected (proxy) table?
///
/// # Safety
/// Valid state with two free stack slots.
pub unsafe fn is_readonly(l: LuaState, idx: c_int) -> bool {
    // SAFETY: the caller upholds this function's contract: Valid state with two free stack slots.
    unsafe {
        if ffi::lua_type(l, idx) != ffi::LUA_TTABLE {
            return false;
        }
        let idx = abs_index(l, idx);
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, REG_PROXIES.as_ptr());
        if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
            ffi::lua_pop(l, 1);
            return false;
        }
        ffi::lua_pushvalue(l, idx);
        ffi::lua_rawget(l, -2);
        let ro = ffi::lua_type(l, -1) == ffi::LUA_TTABLE;
        ffi::lua_pop(l, 2);
        ro
    }
}

/// Replaces a proxy at `idx` (absolute) by its real table, for readers
/// (and the Lua debugger's value dumps, which only print it).
///
/// # Safety
/// Valid state, `idx` an absolute index, two free slots.
pub(crate) unsafe fn see_through(l: LuaState, idx: c_int) {
    // SAFETY: the caller upholds this function's contract: Valid state, `idx` an absolute index,
    // two free slots.
    unsafe {
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, REG_PROXIES.as_ptr());
        if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
            ffi::lua_pop(l, 1);
            return;
        }
        ffi::lua_pushvalue(l, idx);
        ffi::lua_rawget(l, -2);
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            ffi::lua_replace(l, idx);
            ffi::lua_pop(l, 1);
        } else {
            ffi::lua_pop(l, 2);
        }
    }
}

unsafe fn abs_index(l: LuaState, idx: c_int) -> c_int {
    // SAFETY: called with a valid state and an index of its stack.
    unsafe {
        if idx > 0 || idx <= ffi::LUA_REGISTRYINDEX {
            idx
        } else {
            ffi::lua_gettop(l) + idx + 1
        }
    }
}

/// Raises Redis's read-only error (no position prefix: in Redis it comes
/// from the C API call, not from a Lua line).
unsafe fn raise_readonly(l: LuaState) -> c_int {
    // SAFETY: called from the sandbox's C functions with the state Lua passed them, whose frames
    // hold nothing with a destructor when this raises.
    unsafe {
        push_str(l, READONLY_ERR);
        ffi::lua_error(l)
    }
}

/// Pushes a read-only proxy of the table at `real` (absolute index) and
/// records it. `index` is the proxy's `__index`: the real table itself, or
/// a function (the globals' erroring lookup) when `index_fn` is given.
///
/// # Safety
/// Valid state, `real` a table; `index_fn`, if Some, an absolute index of
/// a function.
pub unsafe fn push_proxy(l: LuaState, real: c_int, index_fn: Option<c_int>) {
    // SAFETY: the caller upholds this function's contract: Valid state, `real` a table;
    // `index_fn`, if Some, an absolute index of a function.
    unsafe {
        ffi::lua_createtable(l, 0, 0); // proxy
        ffi::lua_createtable(l, 0, 3); // its metatable
        ffi::lua_pushvalue(l, index_fn.unwrap_or(real));
        ffi::lua_setfield(l, -2, c"__index".as_ptr());
        ffi::lua_pushcfunction(l, readonly_newindex);
        ffi::lua_setfield(l, -2, c"__newindex".as_ptr());
        // Defence in depth: the stock getmetatable/setmetatable respect this.
        ffi::lua_pushboolean(l, 0);
        ffi::lua_setfield(l, -2, c"__metatable".as_ptr());
        ffi::lua_setmetatable(l, -2);
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, REG_PROXIES.as_ptr());
        ffi::lua_pushvalue(l, -2);
        ffi::lua_pushvalue(l, real);
        ffi::lua_rawset(l, -3);
        ffi::lua_pop(l, 1);
    }
}

unsafe extern "C-unwind" fn readonly_newindex(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        super::vm::push_error_msg(l, READONLY_ERR);
        ffi::lua_error(l)
    }
}

// ---- guarded builtins ----------------------------------------------------

unsafe extern "C-unwind" fn b_rawset(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        ffi::luaL_checkany(l, 2);
        ffi::luaL_checkany(l, 3);
        ffi::lua_settop(l, 3);
        if is_readonly(l, 1) {
            return raise_readonly(l);
        }
        if is_gc_key(l, 2) && is_udata_mt(l, 1) {
            return 1; // a newproxy metatable never gets a finalizer
        }
        ffi::lua_rawset(l, 1);
        1
    }
}

unsafe extern "C-unwind" fn b_rawget(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        ffi::luaL_checkany(l, 2);
        ffi::lua_settop(l, 2);
        see_through(l, 1);
        ffi::lua_rawget(l, 1);
        1
    }
}

unsafe extern "C-unwind" fn b_next(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        ffi::lua_settop(l, 2);
        see_through(l, 1);
        if ffi::lua_next(l, 1) != 0 {
            2
        } else {
            ffi::lua_pushnil(l);
            1
        }
    }
}

/// pairs(t): our `next` (upvalue 1), t, nil.
unsafe extern "C-unwind" fn b_pairs(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_pushvalue(l, 1);
        ffi::lua_pushnil(l);
        3
    }
}

unsafe extern "C-unwind" fn b_getmetatable(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        ffi::luaL_checkany(l, 1);
        match ffi::lua_type(l, 1) {
            ffi::LUA_TSTRING => {
                ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, REG_STRING_MT.as_ptr());
                return 1;
            }
            ffi::LUA_TTABLE if is_readonly(l, 1) => {
                // Only the globals have a metatable Redis shows (read-only);
                // library tables have none.
                if ffi::lua_rawequal(l, 1, ffi::LUA_GLOBALSINDEX) != 0 {
                    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, REG_GLOBALS_MT.as_ptr());
                } else {
                    ffi::lua_pushnil(l);
                }
                return 1;
            }
            _ => {}
        }
        if ffi::lua_getmetatable(l, 1) == 0 {
            ffi::lua_pushnil(l);
            return 1;
        }
        ffi::luaL_getmetafield(l, 1, c"__metatable".as_ptr());
        1
    }
}

unsafe extern "C-unwind" fn b_setmetatable(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        let t = ffi::lua_type(l, 2);
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        if t != ffi::LUA_TNIL && t != ffi::LUA_TTABLE {
            ffi::luaL_argerror(l, 2, c"nil or table expected".as_ptr());
        }
        if is_readonly(l, 1) {
            return raise_readonly(l);
        }
        if ffi::luaL_getmetafield(l, 1, c"__metatable".as_ptr()) != ffi::LUA_TNIL {
            ffi::luaL_error(l, c"cannot change a protected metatable".as_ptr());
        }
        ffi::lua_settop(l, 2);
        ffi::lua_setmetatable(l, 1);
        1
    }
}

/// table.insert: refuses a read-only table, then calls the original
/// (upvalue 1) with the same arguments. (table.remove and table.sort never
/// write to a proxy: it is always empty.)
unsafe extern "C-unwind" fn b_table_insert(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        if is_readonly(l, 1) {
            return raise_readonly(l);
        }
        let n = ffi::lua_gettop(l);
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_insert(l, 1);
        ffi::lua_call(l, n, ffi::LUA_MULTRET);
        ffi::lua_gettop(l)
    }
}

/// unpack(t [, i [, j]]) without the stock 5.1 count overflow
/// (CVE-2025-46817: `unpack({}, -2^31, 2^31-1)` crashed the server).
unsafe extern "C-unwind" fn b_unpack(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
        let i = ffi::luaL_optinteger(l, 2, 1) as c_int;
        let e = if ffi::lua_isnoneornil(l, 3) != 0 {
            ffi::lua_objlen(l, 1) as c_int
        } else {
            ffi::luaL_checkinteger(l, 3) as c_int
        };
        if i > e {
            return 0;
        }
        let n = (e as u32).wrapping_sub(i as u32); // elements minus one
        if n >= c_int::MAX as u32 || ffi::lua_checkstack(l, (n + 1) as c_int) == 0 {
            return ffi::luaL_error(l, c"too many results to unpack".as_ptr());
        }
        let mut k = i;
        loop {
            ffi::lua_rawgeti(l, 1, k as ffi::lua_Integer);
            if k == e {
                break;
            }
            k += 1;
        }
        (n + 1) as c_int
    }
}

/// load_aux: the function, or nil and the message.
unsafe fn load_result(l: LuaState, status: c_int) -> c_int {
    // SAFETY: called from loadstring/load with their state and lua_load's result (function or
    // message) on top.
    unsafe {
        if status == 0 {
            1
        } else {
            ffi::lua_pushnil(l);
            ffi::lua_insert(l, -2);
            2
        }
    }
}

/// loadstring(s [, chunkname]), text only.
unsafe extern "C-unwind" fn b_loadstring(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        let mut len = 0usize;
        let s = ffi::luaL_checklstring(l, 1, &mut len);
        // The chunk name (arg 2, or the source itself) stays on the stack.
        if ffi::lua_isnoneornil(l, 2) != 0 {
            ffi::lua_settop(l, 1);
            ffi::lua_pushvalue(l, 1);
        } else {
            ffi::luaL_checklstring(l, 2, std::ptr::null_mut());
            ffi::lua_settop(l, 2);
        }
        let name = ffi::lua_tolstring(l, 2, std::ptr::null_mut());
        let body = std::slice::from_raw_parts(s as *const u8, len);
        let mut src = TextSource::new(body);
        load_result(l, load_text(l, &mut src, name))
    }
}

/// The reader state of `load(f)`: pieces come from calling f (arg 1); a
/// first piece that starts like bytecode is preceded by a space.
struct FnReader {
    calls: u32,
    held: bool,
}

unsafe extern "C-unwind" fn fn_reader(
    l: LuaState,
    ud: *mut c_void,
    size: *mut usize,
) -> *const c_char {
    // SAFETY: lua_load calls this reader (inside its protected parser) with the valid state, the
    // FnReader `ud` that b_load passed and keeps alive, and a valid `size`; nothing here has a
    // destructor when lua_call or luaL_error raise (into the parser's protection).
    unsafe {
        let st = &mut *(ud as *mut FnReader);
        if st.held {
            // The held first piece (slot 3) after the leading space.
            st.held = false;
            return ffi::lua_tolstring(l, 3, size);
        }
        ffi::luaL_checkstack(l, 2, c"too many nested functions".as_ptr());
        ffi::lua_pushvalue(l, 1);
        ffi::lua_call(l, 0, 1);
        if ffi::lua_isnil(l, -1) != 0 {
            ffi::lua_pop(l, 1);
            *size = 0;
            return std::ptr::null();
        }
        if ffi::lua_isstring(l, -1) == 0 {
            ffi::luaL_error(l, c"reader function must return a string".as_ptr());
        }
        ffi::lua_replace(l, 3);
        st.calls += 1;
        let p = ffi::lua_tolstring(l, 3, size);
        if st.calls == 1 && *size > 0 && *p as u8 == BYTECODE_MARK {
            st.held = true;
            *size = 1;
            return c" ".as_ptr();
        }
        p
    }
}

/// load(f [, chunkname]), text only.
unsafe extern "C-unwind" fn b_load(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        if ffi::lua_isnoneornil(l, 2) != 0 {
            ffi::lua_settop(l, 3);
            push_str(l, "=(load)");
            ffi::lua_replace(l, 2);
        } else {
            ffi::luaL_checklstring(l, 2, std::ptr::null_mut());
        }
        ffi::luaL_checktype(l, 1, ffi::LUA_TFUNCTION);
        ffi::lua_settop(l, 3);
        let name = ffi::lua_tolstring(l, 2, std::ptr::null_mut());
        let mut st = FnReader {
            calls: 0,
            held: false,
        };
        let status = ffi::lua_load(l, fn_reader, &mut st as *mut FnReader as *mut c_void, name);
        load_result(l, status)
    }
}

// ---- the text-only loader -------------------------------------------------

/// First byte of Lua's bytecode signature ("\x1bLua").
const BYTECODE_MARK: u8 = 0x1b;

/// How much source the parser gets per read: between pieces the caller's
/// `between` check runs (busy scripts, SCRIPT KILL while compiling).
const PIECE: usize = 1 << 20;

/// A source text fed to the parser in pieces.
pub struct TextSource<'a> {
    body: &'a [u8],
    pos: usize,
    lead_space: bool,
    /// Called between pieces; returning false stops the parse (the parser
    /// then reports an unexpected end of the chunk).
    pub between: Option<&'a mut (dyn FnMut() -> bool + 'a)>,
    /// Set when `between` stopped the parse.
    pub stopped: bool,
}

impl<'a> TextSource<'a> {
    pub fn new(body: &'a [u8]) -> TextSource<'a> {
        TextSource {
            body,
            pos: 0,
            lead_space: body.first() == Some(&BYTECODE_MARK),
            between: None,
            stopped: false,
        }
    }
}

unsafe extern "C-unwind" fn text_reader(
    _l: LuaState,
    ud: *mut c_void,
    size: *mut usize,
) -> *const c_char {
    // SAFETY: lua_load calls this reader with the TextSource `ud` that load_text passed and keeps
    // alive, and a valid `size`; the returned piece points into that source's body, which outlives
    // the parse; a panic of `between` is caught before it could unwind into the parser.
    unsafe {
        let src = &mut *(ud as *mut TextSource);
        if src.lead_space {
            src.lead_space = false;
            *size = 1;
            return c" ".as_ptr();
        }
        if src.pos >= src.body.len() || src.stopped {
            *size = 0;
            return std::ptr::null();
        }
        if src.pos > 0 {
            if let Some(f) = src.between.as_mut() {
                // A panic must not unwind into the parser.
                let go = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(true);
                if !go {
                    src.stopped = true;
                    *size = 0;
                    return std::ptr::null();
                }
            }
        }
        let end = (src.pos + PIECE).min(src.body.len());
        let p = src.body[src.pos..].as_ptr();
        *size = end - src.pos;
        src.pos = end;
        p as *const c_char
    }
}

/// Compiles `src` as Lua *source text* (never bytecode). On success the
/// function is on top of the stack; otherwise the error message is.
/// `name` must point into a Lua string that stays on the stack (anchored)
/// for the duration of the call.
///
/// # Safety
/// Valid state; `name` a NUL-terminated string anchored on the stack.
pub unsafe fn load_text(l: LuaState, src: &mut TextSource, name: *const c_char) -> c_int {
    // SAFETY: the caller upholds this function's contract: Valid state; `name` a NUL-terminated
    // string anchored on the stack.
    unsafe { ffi::lua_load(l, text_reader, src as *mut TextSource as *mut c_void, name) }
}

/// Compiles `body` with chunk name `chunkname`: Ok leaves the function on
/// the stack, Err carries the parser's message (nothing left on the stack).
///
/// # Safety
/// Valid state with three free slots.
pub unsafe fn compile<'a>(
    l: LuaState,
    body: &'a [u8],
    chunkname: &CStr,
    between: Option<&'a mut (dyn FnMut() -> bool + 'a)>,
) -> Result<(), String> {
    // SAFETY: the caller upholds this function's contract: Valid state with three free slots.
    unsafe {
        // Anchor the chunk name while the parser holds it.
        ffi::lua_pushstring(l, chunkname.as_ptr());
        let name = ffi::lua_tolstring(l, -1, std::ptr::null_mut());
        let mut src = TextSource::new(body);
        src.between = between;
        let rc = load_text(l, &mut src, name);
        ffi::lua_remove(l, -2);
        if rc != 0 {
            let msg = String::from_utf8_lossy(to_bytes(l, -1).unwrap_or(b"?")).into_owned();
            ffi::lua_pop(l, 1);
            if src.stopped {
                return Err(String::new());
            }
            return Err(msg);
        }
        Ok(())
    }
}

// ---- lua-enable-deprecated-api ----------------------------------------------

/// `lua-enable-deprecated-api` (Debian's Redis 7.0.15, immutable, default
/// no): whether VMs created from now on get getfenv/setfenv/newproxy.
/// Global: an immutable setting stored once at startup, read wherever a
/// VM is created (SCRIPT FLUSH, FUNCTION FLUSH/RESTORE, a swapdb load).
static DEPRECATED_API: AtomicBool = AtomicBool::new(false);

/// Set at startup from the config, before the VMs are created.
pub fn set_deprecated_api(on: bool) {
    DEPRECATED_API.store(on, Ordering::Relaxed);
}

/// getfenv: the original (upvalue 1), but a protected table's real table
/// (the environment of every C function is the real globals) is answered
/// by its read-only proxy, so it never reaches a script.
unsafe extern "C-unwind" fn b_getfenv(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        let n = ffi::lua_gettop(l);
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_insert(l, 1);
        ffi::lua_call(l, n, 1);
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            let env = ffi::lua_gettop(l);
            ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, REG_PROXIES.as_ptr());
            let map = ffi::lua_gettop(l);
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, map) != 0 {
                // key: proxy, value: real table
                if ffi::lua_rawequal(l, -1, env) != 0 {
                    ffi::lua_pop(l, 1);
                    ffi::lua_replace(l, env);
                    break;
                }
                ffi::lua_pop(l, 1);
            }
            ffi::lua_settop(l, env);
        }
        1
    }
}

/// setfenv: only of a Lua function value (never a stack level or the
/// thread, whose environments are shared with later scripts, nor a C
/// function or the shared error handler), then the original (upvalue 1).
/// Stricter than Redis, which lets such a script plant code in other
/// users' scripts.
unsafe extern "C-unwind" fn b_setfenv(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        ffi::luaL_checktype(l, 2, ffi::LUA_TTABLE);
        if ffi::lua_type(l, 1) != ffi::LUA_TFUNCTION || ffi::lua_iscfunction(l, 1) != 0 {
            ffi::luaL_argerror(l, 1, c"Lua function expected".as_ptr());
        }
        ffi::lua_getfield(
            l,
            ffi::LUA_REGISTRYINDEX,
            super::vm::REG_ERR_HANDLER.as_ptr(),
        );
        let shared = ffi::lua_rawequal(l, -1, 1) != 0;
        ffi::lua_pop(l, 1);
        if shared {
            return raise_readonly(l);
        }
        ffi::lua_settop(l, 2);
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_insert(l, 1);
        ffi::lua_call(l, 2, 1);
        1
    }
}

/// Marks a newproxy metatable: its own metatable's `__newindex`.
unsafe extern "C-unwind" fn udata_mt_newindex(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        if !is_gc_key(l, 2) {
            ffi::lua_settop(l, 3);
            ffi::lua_rawset(l, 1);
        }
        0
    }
}

unsafe fn is_gc_key(l: LuaState, idx: c_int) -> bool {
    // SAFETY: called from the sandbox's C functions with their state and an argument index; reads
    // only.
    unsafe { to_bytes(l, idx) == Some(&b"__gc"[..]) && ffi::lua_type(l, idx) == ffi::LUA_TSTRING }
}

/// Is the table at `idx` the metatable of a userdata made by newproxy?
unsafe fn is_udata_mt(l: LuaState, idx: c_int) -> bool {
    // SAFETY: called from the sandbox's C functions with their state and the index of a table;
    // luaL_getmetafield reads raw.
    unsafe {
        if ffi::luaL_getmetafield(l, idx, c"__newindex".as_ptr()) == 0 {
            return false;
        }
        let f = ffi::lua_tocfunction(l, -1);
        ffi::lua_pop(l, 1);
        f.is_some_and(|f| f as *const () == udata_mt_newindex as *const ())
    }
}

/// newproxy([false | true | proxy]): a zero-size userdata, with a fresh
/// metatable (true) or another proxy's. That metatable never holds a
/// `__gc`: a finalizer would run at some later collection, outside this
/// script or inside another user's (assignments to it are ignored).
unsafe extern "C-unwind" fn b_newproxy(l: LuaState) -> c_int {
    // SAFETY: Lua calls this with a valid state and the arguments on its stack; no Rust value with
    // a destructor is alive when it raises (lua_stack's rule 1).
    unsafe {
        ffi::lua_settop(l, 1);
        let arg = ffi::lua_type(l, 1);
        ffi::lua_newuserdata(l, 0);
        if arg == ffi::LUA_TNONE
            || arg == ffi::LUA_TNIL
            || (arg == ffi::LUA_TBOOLEAN && ffi::lua_toboolean(l, 1) == 0)
        {
            return 1;
        }
        if arg == ffi::LUA_TBOOLEAN {
            ffi::lua_createtable(l, 0, 2);
            ffi::lua_createtable(l, 0, 2);
            ffi::lua_pushcfunction(l, udata_mt_newindex);
            ffi::lua_setfield(l, -2, c"__newindex".as_ptr());
            ffi::lua_pushboolean(l, 0);
            ffi::lua_setfield(l, -2, c"__metatable".as_ptr());
            ffi::lua_setmetatable(l, -2);
        } else {
            let ok = arg == ffi::LUA_TUSERDATA && ffi::lua_getmetatable(l, 1) != 0 && {
                let mt = ffi::lua_gettop(l);
                is_udata_mt(l, mt)
            };
            if !ok {
                ffi::luaL_argerror(l, 1, c"boolean or proxy expected".as_ptr());
            }
        }
        ffi::lua_setmetatable(l, 2);
        1
    }
}

// ---- installation -----------------------------------------------------------

/// Replaces the builtins in the (still unprotected) globals and creates the
/// proxy registry. Runs before the libraries are turned into proxies.
///
/// # Safety
/// Valid state during Vm construction.
pub unsafe fn install_builtins(l: LuaState) {
    // SAFETY: the caller upholds this function's contract: Valid state during Vm construction.
    unsafe {
        ffi::lua_createtable(l, 0, 16);
        ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_PROXIES.as_ptr());
        let g = ffi::LUA_GLOBALSINDEX;
        if DEPRECATED_API.load(Ordering::Relaxed) {
            // lua-enable-deprecated-api yes: guarded versions (see below).
            for (name, f) in [
                (c"getfenv", b_getfenv as ffi::lua_CFunction),
                (c"setfenv", b_setfenv),
            ] {
                ffi::lua_getfield(l, g, name.as_ptr());
                ffi::lua_pushcclosure(l, f, 1);
                ffi::lua_setfield(l, g, name.as_ptr());
            }
            ffi::lua_pushcfunction(l, b_newproxy);
            ffi::lua_setfield(l, g, c"newproxy".as_ptr());
        } else {
            for name in [c"getfenv", c"setfenv", c"newproxy"] {
                ffi::lua_pushnil(l);
                ffi::lua_setfield(l, g, name.as_ptr());
            }
        }
        let fns: [(&CStr, ffi::lua_CFunction); 6] = [
            (c"rawset", b_rawset),
            (c"rawget", b_rawget),
            (c"getmetatable", b_getmetatable),
            (c"setmetatable", b_setmetatable),
            (c"loadstring", b_loadstring),
            (c"load", b_load),
        ];
        for (name, f) in fns {
            ffi::lua_pushcfunction(l, f);
            ffi::lua_setfield(l, g, name.as_ptr());
        }
        ffi::lua_pushcfunction(l, b_next);
        ffi::lua_pushvalue(l, -1);
        ffi::lua_setfield(l, g, c"next".as_ptr());
        ffi::lua_pushcclosure(l, b_pairs, 1);
        ffi::lua_setfield(l, g, c"pairs".as_ptr());
        ffi::lua_pushcfunction(l, b_unpack);
        ffi::lua_setfield(l, g, c"unpack".as_ptr());
        ffi::lua_getfield(l, g, c"table".as_ptr());
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            ffi::lua_getfield(l, -1, c"insert".as_ptr());
            ffi::lua_pushcclosure(l, b_table_insert, 1);
            ffi::lua_setfield(l, -2, c"insert".as_ptr());
        }
        ffi::lua_pop(l, 1);
    }
}

/// After the libraries are proxies: the string metatable's `__index`
/// becomes the string proxy, and `getmetatable("")` answers a read-only
/// stand-in of that metatable (Redis makes the basic types' metatables
/// read-only).
///
/// # Safety
/// Valid state during Vm construction; `globals` the real globals' index.
pub unsafe fn protect_string_metatable(l: LuaState, globals: c_int) {
    // SAFETY: the caller upholds this function's contract: Valid state during Vm construction;
    // `globals` the real globals' index.
    unsafe {
        push_str(l, "");
        if ffi::lua_getmetatable(l, -1) == 0 {
            ffi::lua_pop(l, 1);
            return;
        }
        let mt = ffi::lua_gettop(l);
        ffi::lua_getfield(l, globals, c"string".as_ptr());
        ffi::lua_setfield(l, mt, c"__index".as_ptr());
        push_proxy(l, mt, None);
        ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_STRING_MT.as_ptr());
        ffi::lua_pop(l, 2);
    }
}
