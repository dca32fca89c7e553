//! The Lua 5.1 interpreter state (Redis's script_lua.c initialisation):
//! a raw `lua_State` built with mlua-sys's vendored Lua 5.1 and driven
//! through its raw C API, because Redis semantics need things mlua's safe API does not
//! offer (raising tables as errors, Redis's exact error texts and stack
//! levels, a count hook that may raise).
//!
//! Sandbox: only base/table/string/math (+debug for the error handler, then
//! removed) and the cjson/struct/cmsgpack/bit libraries are loaded; `print`,
//! `dofile` and `loadfile` are removed. The globals and every library table
//! are read-only proxies (`sandbox.rs`, which also guards the builtins that
//! could see through them and loads code as text only): reading a missing
//! global raises "Script attempted to access nonexistent global variable",
//! writing raises "Attempt to modify a readonly table" (Redis 7.0's
//! readonly globals).
//!
//! The C functions here follow lua_stack.rs's rule: their work returns a
//! Result (the error left on the stack), and the [`crate::lua_fn!`]
//! trampoline raises it once no Rust value is left alive.

use super::lua_stack::Stack;
use mlua_sys as ffi;
use std::cell::Cell;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int, c_void};

pub type LuaState = *mut ffi::lua_State;

/// Registry keys.
pub const REG_ERR_HANDLER: &CStr = c"__redis__err__handler";
pub const REG_REAL_GLOBALS: &CStr = c"__ferrokv_real_globals";
/// The globals proxy's `__index` closure (its upvalue 1 is the table the
/// globals are read from; FUNCTION LOAD swaps it).
pub const REG_GLOBALS_INDEX: &CStr = c"__ferrokv_globals_index";

/// Which interpreter: EVAL scripts or FUNCTION libraries (Redis keeps the two
/// in separate Lua states too).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VmKind {
    Eval,
    Functions,
}

/// An owned Lua state.
pub struct Vm {
    pub l: LuaState,
    pub kind: VmKind,
    /// Calls since the last incremental GC step.
    pub gc_count: u32,
    /// The interpreter's context (`ctx_of`), from `Box::into_raw`; freed
    /// after the state is closed.
    ctx: *mut VmCtx,
}

impl Vm {
    /// The interpreter's context.
    pub fn ctx(&self) -> &VmCtx {
        // SAFETY: allocated by `Vm::new`, freed only by Drop.
        unsafe { &*self.ctx }
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // SAFETY: `l` was created by luaL_newstate and is closed only here;
        // then nothing can reach `ctx` any more.
        unsafe {
            ffi::lua_close(self.l);
            drop(Box::from_raw(self.ctx));
        }
    }
}

// ---- per-interpreter context ------------------------------------------------------

/// What the Lua C functions and hooks of one interpreter need of the
/// command running them, which they cannot be handed: they receive only
/// the `lua_State`. The code that runs Lua sets it for as long as it runs
/// it; no global holds it, and a callback sees only its own interpreter's.
///
/// It hangs off the interpreter itself, as the opaque pointer of its
/// allocator (`lua_getallocf`), which is ours (`vm_alloc`: lauxlib's
/// realloc/free allocator, plus an optional heap limit kept here). Reading
/// it costs a few instructions and no stack slot; a registry entry instead
/// (a light userdata key) measured about 700 more instructions per EVALSHA
/// of two `redis.call`s (callgrind).
#[derive(Default)]
pub struct VmCtx {
    /// The running script's `RunCtx` (`scripting::run`), or null.
    pub run: Cell<*const c_void>,
    /// The FUNCTION LOAD in progress (`functions::finish_load`), or null.
    pub load: Cell<*const c_void>,
    /// Bytes the interpreter's heap may hold (0: no limit; Redis has none,
    /// the fuzz harness sets one with `set_heap_limit`).
    heap_limit: Cell<usize>,
    /// Bytes it holds (tracked from the allocator's switch to `vm_alloc`).
    heap_used: Cell<usize>,
}

/// The interpreter's allocator: lauxlib's `l_alloc` (libc realloc/free,
/// outside Rust's counting allocator, as before) with `VmCtx`'s limit.
/// Past the limit it refuses, and Lua raises "not enough memory".
unsafe extern "C" fn vm_alloc(
    ud: *mut c_void,
    ptr: *mut c_void,
    osize: usize,
    nsize: usize,
) -> *mut c_void {
    // SAFETY: `ud` is the interpreter's VmCtx, set with this allocator by
    // `Vm::new`, alive until the state is closed.
    let ctx = unsafe { &*(ud as *const VmCtx) };
    // Lua 5.1 passes osize 0 for a new block (ptr NULL).
    let old = if ptr.is_null() { 0 } else { osize };
    if nsize == 0 {
        // SAFETY: `ptr` came from realloc (this function or l_alloc).
        unsafe { libc::free(ptr) };
        ctx.heap_used.set(ctx.heap_used.get().saturating_sub(old));
        return std::ptr::null_mut();
    }
    let limit = ctx.heap_limit.get();
    if limit != 0 && nsize > old && ctx.heap_used.get() + (nsize - old) > limit {
        return std::ptr::null_mut();
    }
    // SAFETY: as above; realloc(NULL, n) allocates.
    let p = unsafe { libc::realloc(ptr, nsize) };
    if !p.is_null() {
        ctx.heap_used
            .set(ctx.heap_used.get().saturating_sub(old) + nsize);
    }
    p
}

/// Caps the heap of the interpreter `l` belongs to at `bytes` (0: no cap).
/// For harnesses that run hostile scripts in-process (the fuzz targets):
/// the server itself sets none, as Redis sets none.
///
/// # Safety
/// `l` valid, created by `Vm::new`, not running.
pub unsafe fn set_heap_limit(l: LuaState, bytes: usize) {
    // SAFETY: the caller's contract.
    if let Some(ctx) = unsafe { ctx_of(l) } {
        ctx.heap_limit.set(bytes);
    }
}

/// The context of the interpreter `l` belongs to (None for a state that
/// `Vm::new` did not create).
///
/// # Safety
/// `l` valid (a main state or a thread of one).
#[inline]
pub unsafe fn ctx_of<'a>(l: LuaState) -> Option<&'a VmCtx> {
    let mut ud: *mut c_void = std::ptr::null_mut();
    // SAFETY: `l` is valid; lua_getallocf only reads the global state.
    // A non-null ud was set by `Vm::new` to its VmCtx, which lives until
    // the state is closed (`Vm`'s Drop).
    unsafe {
        ffi::lua_getallocf(l, &mut ud);
        (ud as *const VmCtx).as_ref()
    }
}

// ---- small FFI helpers ----------------------------------------------------

/// # Safety
/// `l` must be a valid Lua state with one free stack slot.
#[inline]
pub unsafe fn push_bytes(l: LuaState, b: &[u8]) {
    // SAFETY: the caller upholds this function's contract: `l` must be a valid Lua state with one
    // free stack slot. nline]
    unsafe {
        ffi::lua_pushlstring(l, b.as_ptr() as *const c_char, b.len());
    }
}

/// # Safety
/// `l` must be a valid Lua state with one free stack slot.
#[inline]
pub unsafe fn push_str(l: LuaState, s: &str) {
    // SAFETY: the caller upholds this function's contract: `l` must be a valid Lua state with one
    // free stack slot. nline]
    unsafe {
        push_bytes(l, s.as_bytes());
    }
}

/// The string (or number converted in place) at `idx`.
///
/// # Safety
/// `l` must be valid; the returned slice lives as long as the value stays
/// on the stack.
#[inline]
pub unsafe fn to_bytes<'a>(l: LuaState, idx: c_int) -> Option<&'a [u8]> {
    // SAFETY: the caller upholds this function's contract: `l` must be valid; the returned slice
    // lives as long as the value stays on the stack. nline]
    unsafe {
        let mut len = 0usize;
        let p = ffi::lua_tolstring(l, idx, &mut len);
        if p.is_null() {
            None
        } else {
            Some(std::slice::from_raw_parts(p as *const u8, len))
        }
    }
}

/// Pushes `t[name]` of the table on top of the stack, read raw: no
/// metamethod runs, so this is safe outside a protected call (a user table
/// whose `__index` raises would otherwise abort the process).
///
/// # Safety
/// `l` valid, a table on top, two free slots.
pub unsafe fn push_raw_field(l: LuaState, name: &CStr) {
    // SAFETY: the caller upholds this function's contract: `l` valid, a table on top, two free
    // slots.
    unsafe {
        ffi::lua_pushstring(l, name.as_ptr());
        ffi::lua_rawget(l, -2);
    }
}

/// Sets `t[name] = f` for the table at `idx` (absolute index).
///
/// # Safety
/// `l` valid, `idx` a table.
pub unsafe fn set_fn(l: LuaState, idx: c_int, name: &CStr, f: ffi::lua_CFunction) {
    // SAFETY: the caller upholds this function's contract: `l` valid, `idx` a table.
    unsafe {
        ffi::lua_pushcfunction(l, f);
        ffi::lua_setfield(l, idx, name.as_ptr());
    }
}

/// Sets `t[name] = n` for the table at `idx` (absolute index).
///
/// # Safety
/// `l` valid, `idx` a table.
pub unsafe fn set_num(l: LuaState, idx: c_int, name: &CStr, n: f64) {
    // SAFETY: the caller upholds this function's contract: `l` valid, `idx` a table.
    unsafe {
        ffi::lua_pushnumber(l, n);
        ffi::lua_setfield(l, idx, name.as_ptr());
    }
}

/// Pushes `"<where>msg"` (luaL_error's message: the calling Lua line).
///
/// # Safety
/// `l` valid with two free slots.
pub unsafe fn push_error_msg(l: LuaState, msg: &str) {
    // SAFETY: the caller upholds this function's contract: `l` valid with two free slots.
    unsafe {
        ffi::luaL_where(l, 1);
        push_str(l, msg);
        ffi::lua_concat(l, 2);
    }
}

/// Pushes a Redis error table `{err="CODE msg"}` the way luaPushErrorBuff
/// builds it: "-CODE msg" keeps its code, a plain message gets "ERR ".
/// While the Lua debugger steps, the error is logged to it too.
pub fn error_table(st: &mut Stack, err: &[u8]) {
    // A debugging session that is stepping logs it (luaPushErrorBuff).
    super::ldb::log_error(st, err);
    let (code, msg): (&[u8], &[u8]) = if let Some(rest) = err.strip_prefix(b"-") {
        match rest.iter().position(|&b| b == b' ') {
            Some(p) => (&rest[..p], &rest[p + 1..]),
            None => (b"ERR", rest),
        }
    } else {
        (b"ERR", err)
    };
    let mut m = msg;
    while let Some((&last, rest)) = m.split_last() {
        if last == b'\r' || last == b'\n' {
            m = rest;
        } else {
            break;
        }
    }
    while let Some((&first, rest)) = m.split_first() {
        if first == b'\r' || first == b'\n' {
            m = rest;
        } else {
            break;
        }
    }
    let mut full = Vec::with_capacity(code.len() + 1 + m.len());
    full.extend_from_slice(code);
    full.push(b' ');
    full.extend_from_slice(m);
    st.new_table(0, 1);
    st.push_bytes(&full);
    st.raw_set_field(-2, c"err");
}

/// [`error_table`] on a raw state.
///
/// # Safety
/// `l` valid, with no [`Stack`] of a caller in use on it at the same time.
pub unsafe fn push_error_table(l: LuaState, err: &[u8]) {
    // SAFETY: `l` is valid and this Stack is the only one in use until
    // it goes (the caller's contract).
    let mut st = unsafe { Stack::from_raw(l) };
    error_table(&mut st, err);
}

// ---- globals protection ----------------------------------------------------

/// __index of the globals proxy: real globals lookup, error when missing.
unsafe fn globals_index_impl(l: LuaState) -> Result<c_int, ()> {
    // SAFETY: called only by the globals __index C function with the state Lua passed it; raw
    // reads, errors pushed and returned.
    unsafe {
        // args: proxy, key
        ffi::lua_pushvalue(l, 2);
        ffi::lua_rawget(l, ffi::lua_upvalueindex(1));
        if ffi::lua_type(l, -1) != ffi::LUA_TNIL {
            return Ok(1);
        }
        ffi::lua_pop(l, 1);
        let name = match ffi::lua_type(l, 2) {
            ffi::LUA_TSTRING | ffi::LUA_TNUMBER => {
                ffi::lua_pushvalue(l, 2);
                let n = String::from_utf8_lossy(to_bytes(l, -1).unwrap_or_default()).into_owned();
                ffi::lua_pop(l, 1);
                n
            }
            _ => {
                push_error_msg(
                    l,
                    "Second argument to luaProtectedTableError must be a string or number",
                );
                return Err(());
            }
        };
        push_error_msg(
            l,
            &format!(
                "Script attempted to access nonexistent global variable '{}'",
                name
            ),
        );
        Err(())
    }
}
fn globals_index_body(st: &mut Stack) -> Result<c_int, super::lua_stack::LuaError> {
    // SAFETY: the Stack's state is valid (Lua called the C function);
    // globals_index_impl only reads raw and leaves its error on top.
    unsafe { globals_index_impl(st.raw()) }.map_err(|()| super::lua_stack::LuaError::Top)
}
crate::lua_fn!(globals_index, globals_index_body);

/// Replaces the table named `name` in the real globals (at `real_globals`)
/// by a read-only proxy (`sandbox::push_proxy`).
unsafe fn protect_library(l: LuaState, real_globals: c_int, name: &CStr) {
    // SAFETY: called during Vm construction with the valid state and the real globals' absolute
    // index; raw table fields only.
    unsafe {
        ffi::lua_getfield(l, real_globals, name.as_ptr());
        if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
            ffi::lua_pop(l, 1);
            return;
        }
        let real = ffi::lua_gettop(l);
        super::sandbox::push_proxy(l, real, None);
        ffi::lua_setfield(l, real_globals, name.as_ptr());
        ffi::lua_pop(l, 1);
    }
}

// ---- the error handler -----------------------------------------------------

/// Redis 7.0's `__redis__err__handler`: turns any error into a table
/// `{err=..., source=..., line=...}` naming the Lua line that failed (the
/// caller of a failing C function).
const ERR_HANDLER_SRC: &str = "local dbg = debug
return function(err)
  local i = dbg.getinfo(2,'nSl')
  if i and i.what == 'C' then
    i = dbg.getinfo(3,'nSl')
  end
  if type(err) ~= 'table' then
    err = {err='ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end
";

impl Vm {
    pub fn new(kind: VmKind) -> Vm {
        // SAFETY: a fresh state; every call below keeps the stack balanced
        // and nothing here can raise except on out-of-memory at startup.
        unsafe {
            let l = ffi::luaL_newstate();
            assert!(!l.is_null(), "cannot create the Lua state");
            // Our allocator, whose opaque pointer carries the context (see
            // `VmCtx`), counting from what luaL_newstate allocated.
            let ctx: *mut VmCtx = Box::into_raw(Box::default());
            let used = (ffi::lua_gc(l, ffi::LUA_GCCOUNT, 0) as usize) * 1024
                + ffi::lua_gc(l, ffi::LUA_GCCOUNTB, 0) as usize;
            (*ctx).heap_used.set(used);
            ffi::lua_setallocf(l, vm_alloc, ctx as *mut c_void);
            let libs: [(&CStr, ffi::lua_CFunction); 5] = [
                (c"", ffi::luaopen_base),
                (c"table", ffi::luaopen_table),
                (c"string", ffi::luaopen_string),
                (c"math", ffi::luaopen_math),
                (c"debug", ffi::luaopen_debug),
            ];
            for (name, f) in libs {
                ffi::lua_pushcfunction(l, f);
                ffi::lua_pushstring(l, name.as_ptr());
                ffi::lua_call(l, 1, 0);
            }
            let mut st = Stack::from_raw(l);
            super::libs::open_all(&mut st);
            super::api::register(&mut st);

            // The error handler keeps `debug` as an upvalue; then debug goes.
            let src = ERR_HANDLER_SRC.as_bytes();
            if ffi::luaL_loadbuffer(
                l,
                src.as_ptr() as *const c_char,
                src.len(),
                c"@err_handler_def".as_ptr(),
            ) == 0
                && ffi::lua_pcall(l, 0, 1, 0) == 0
            {
                if kind == VmKind::Eval {
                    // EVAL's globals show it too (Redis 7.0 keeps it there).
                    ffi::lua_pushvalue(l, -1);
                    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, REG_ERR_HANDLER.as_ptr());
                }
                ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_ERR_HANDLER.as_ptr());
            } else {
                ffi::lua_pop(l, 1);
            }
            for name in [c"debug", c"print", c"dofile", c"loadfile"] {
                ffi::lua_pushnil(l);
                ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, name.as_ptr());
            }

            super::sandbox::install_builtins(l);

            // Read-only proxies for the libraries and the globals.
            ffi::lua_pushvalue(l, ffi::LUA_GLOBALSINDEX);
            let real = ffi::lua_gettop(l);
            for name in [
                c"redis",
                c"string",
                c"math",
                c"table",
                c"coroutine",
                c"cjson",
                c"bit",
                c"struct",
                c"cmsgpack",
            ] {
                protect_library(l, real, name);
            }
            super::sandbox::protect_string_metatable(l, real);
            ffi::lua_pushvalue(l, real);
            ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_REAL_GLOBALS.as_ptr());
            ffi::lua_pushvalue(l, real);
            ffi::lua_pushcclosure(l, globals_index, 1);
            let index_fn = ffi::lua_gettop(l);
            ffi::lua_pushvalue(l, index_fn);
            ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, REG_GLOBALS_INDEX.as_ptr());
            // What getmetatable(_G) shows: a read-only {__index = lookup}.
            ffi::lua_createtable(l, 0, 1);
            ffi::lua_pushvalue(l, index_fn);
            ffi::lua_setfield(l, -2, c"__index".as_ptr());
            super::sandbox::push_proxy(l, ffi::lua_gettop(l), None);
            ffi::lua_setfield(
                l,
                ffi::LUA_REGISTRYINDEX,
                super::sandbox::REG_GLOBALS_MT.as_ptr(),
            );
            ffi::lua_pop(l, 1);
            super::sandbox::push_proxy(l, real, Some(index_fn));
            ffi::lua_pushvalue(l, -1);
            ffi::lua_setfield(l, real, c"_G".as_ptr());
            ffi::lua_replace(l, ffi::LUA_GLOBALSINDEX);
            ffi::lua_settop(l, 0);
            Vm {
                l,
                kind,
                gc_count: 0,
                ctx,
            }
        }
    }

    /// Compiles `body` as a chunk named `chunkname` ("@user_script"); on
    /// success the function is left on the stack.
    pub fn compile(&self, body: &[u8], chunkname: &CStr) -> Result<(), String> {
        self.compile_with(body, chunkname, None)
    }

    /// [`Vm::compile`] with a check run between source pieces (busy
    /// handling); an empty Err means the check stopped the parse.
    pub fn compile_with<'a>(
        &self,
        body: &'a [u8],
        chunkname: &CStr,
        between: Option<&'a mut (dyn FnMut() -> bool + 'a)>,
    ) -> Result<(), String> {
        // SAFETY: valid state; text only (sandbox::compile); on failure
        // nothing is left on the stack.
        unsafe { super::sandbox::compile(self.l, body, chunkname, between) }
    }

    /// Sets a field of the real (unprotected) globals table from the value
    /// on top of the stack (KEYS/ARGV), popping it.
    ///
    /// # Safety
    /// One value on the stack.
    pub unsafe fn set_real_global(&self, name: &CStr) {
        // SAFETY: the caller upholds this function's contract: One value on the stack.
        unsafe {
            ffi::lua_getfield(self.l, ffi::LUA_REGISTRYINDEX, REG_REAL_GLOBALS.as_ptr());
            ffi::lua_insert(self.l, -2);
            ffi::lua_setfield(self.l, -2, name.as_ptr());
            ffi::lua_pop(self.l, 1);
        }
    }

    /// Memory used by the interpreter (INFO used_memory_lua).
    pub fn memory(&self) -> usize {
        // SAFETY: valid state.
        unsafe {
            ffi::lua_gc(self.l, ffi::LUA_GCCOUNT, 0) as usize * 1024
                + ffi::lua_gc(self.l, ffi::LUA_GCCOUNTB, 0) as usize
        }
    }
}

/// Pushes a Lua array of byte strings.
///
/// # Safety
/// Valid state.
pub unsafe fn push_string_array(l: LuaState, items: &[&[u8]]) {
    // SAFETY: the caller upholds this function's contract: Valid state.
    unsafe {
        ffi::lua_createtable(l, items.len() as c_int, 0);
        for (i, it) in items.iter().enumerate() {
            push_bytes(l, it);
            ffi::lua_rawseti(l, -2, (i + 1) as ffi::lua_Integer);
        }
    }
}
