//! A small safe wrapper over the Lua 5.1 C API: [`Stack`] (push / read /
//! check / raw table helpers on one `lua_State`'s stack) and [`call`], the
//! trampoline that turns a safe Rust function returning
//! `Result<c_int, LuaError>` into a Lua C function ([`lua_fn!`]). The Rust
//! libraries of the sandbox (bit, struct, cmsgpack in libs.rs, cjson.rs),
//! the `redis.*` API (api.rs) and the RESP <-> Lua conversions
//! (lua_conv.rs) are safe code over this module; the unsafe FFI calls they
//! need are concentrated here. (vm.rs, sandbox.rs, functions.rs, ldb*.rs
//! and the runner in mod.rs still drive the raw API, each unsafe block
//! with its SAFETY comment.)
//!
//! # The longjmp rule
//!
//! Lua 5.1 (built as C) raises errors with `longjmp`. A longjmp that
//! crosses a Rust frame holding a value with a destructor skips that
//! destructor, which Rust does not allow. So:
//!
//! 1. Code that holds Rust values with destructors never calls a Lua API
//!    function that can raise a Lua error other than a memory error. The
//!    [`Stack`] methods only use such functions: raw table access on
//!    values checked to be tables (no metamethods), no `luaL_check*`,
//!    `lua_next` only through [`Stack::for_each_pair`], which keeps the
//!    iteration key out of the body's reach, and `lua_rawset` only with a
//!    key checked to be neither nil nor NaN.
//! 2. Argument checks and errors are Rust values: a body returns
//!    `Err(LuaError)`. [`call`] then pushes the error value, lets every
//!    Rust value go out of scope, and only then raises (`lua_error`,
//!    `luaL_argerror`, `luaL_typerror`) from a frame with no live
//!    destructors. A Rust panic is caught there too and raised as a Lua
//!    error (unwinding into Lua's C frames is not allowed either).
//! 3. Memory errors remain: any allocating call (a push, a new table, a
//!    table growing) raises `LUA_ERRMEM` when the system allocator fails.
//!    Caller-sized allocations that can fail in practice (string.rep's
//!    buffer) are made where no Rust value with a destructor is alive;
//!    for the others the process is out of memory, where Rust's own
//!    allocations abort it anyway. (Under an allocator that caps the Lua
//!    heap, as the fuzz driver in tests/support/lua_driver.rs installs, a
//!    push made while a Rust buffer is alive, such as cjson.encode's
//!    result, can still be skipped over by a memory error: that buffer
//!    leaks.) Table sizes passed to `lua_createtable` are capped, so
//!    "table overflow" cannot come from a size hint.
//!
//! Hooks (mod.rs's count hook, the debugger's line hook) and the plain C
//! functions of sandbox.rs follow rule 1 by holding no Rust value with a
//! destructor when they raise.

use mlua_sys as ffi;
use std::cell::Cell;
use std::ffi::CStr;
use std::os::raw::{c_char, c_int};

pub use super::vm::LuaState;

/// A Lua value's type (`lua_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Type {
    None,
    Nil,
    Boolean,
    LightUserdata,
    Number,
    String,
    Table,
    Function,
    Userdata,
    Thread,
}

impl Type {
    fn from_raw(t: c_int) -> Type {
        match t {
            ffi::LUA_TNIL => Type::Nil,
            ffi::LUA_TBOOLEAN => Type::Boolean,
            ffi::LUA_TLIGHTUSERDATA => Type::LightUserdata,
            ffi::LUA_TNUMBER => Type::Number,
            ffi::LUA_TSTRING => Type::String,
            ffi::LUA_TTABLE => Type::Table,
            ffi::LUA_TFUNCTION => Type::Function,
            ffi::LUA_TUSERDATA => Type::Userdata,
            ffi::LUA_TTHREAD => Type::Thread,
            _ => Type::None,
        }
    }

    /// Lua's name of the type (`lua_typename`; "no value" for none).
    pub fn name(self) -> &'static str {
        match self {
            Type::None => "no value",
            Type::Nil => "nil",
            Type::Boolean => "boolean",
            Type::LightUserdata | Type::Userdata => "userdata",
            Type::Number => "number",
            Type::String => "string",
            Type::Table => "table",
            Type::Function => "function",
            Type::Thread => "thread",
        }
    }
}

/// A value read by [`Stack::scalar`].
#[derive(Clone, Copy, Debug)]
pub enum Scalar<'a> {
    Str(&'a [u8]),
    Num(f64),
    Other(Type),
}

/// An error a Rust C function raises, after it has returned ([`call`]).
#[derive(Debug)]
pub enum LuaError {
    /// `luaL_error(msg)`: the message prefixed with the calling Lua line.
    Msg(String),
    /// A string raised as is (what `luaG_runerror` raises from a C frame).
    Plain(String),
    /// `luaL_argerror(narg, extramsg)`: "bad argument #n to 'f' (extramsg)".
    Arg(c_int, Vec<u8>),
    /// `luaL_typerror(narg, tname)`: "... (tname expected, got X)".
    Type(c_int, &'static CStr),
    /// A Redis error table `{err="CODE msg"}` (vm::push_error_table).
    Table(Vec<u8>),
    /// The value the body left on top of the stack is the error.
    Top,
    /// SCRIPT KILL / FUNCTION KILL (mod.rs's raise_killed).
    Killed,
}

/// What [`call`] raises once the Rust values are gone (no destructor).
#[derive(Clone, Copy)]
enum Raise {
    /// `lua_error` with the value on top.
    Top,
    /// `luaL_argerror(narg, <string on top>)`.
    Arg(c_int),
    /// `luaL_typerror(narg, tname)`.
    Type(c_int, &'static CStr),
    Killed,
}

/// A C function body: safe Rust over the stack of its call.
pub type Body = fn(&mut Stack) -> Result<c_int, LuaError>;

/// Runs `body` as the Lua C function called on `l` and returns its result
/// count, or raises its error (see the module doc).
///
/// # Safety
/// Only from a Lua C function (or hook-free C entry point) that Lua called
/// with the valid state `l`; the caller's frame holds no Rust value with a
/// destructor (the [`lua_fn!`] functions hold none).
#[inline(always)]
pub unsafe fn call(l: LuaState, body: Body) -> c_int {
    let raise = {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: Lua called us with `l` valid and nothing pushed
            // yet; this Stack is the only handle used on it until the
            // body returns.
            let mut st = unsafe { Stack::from_c_call(l) };
            body(&mut st)
        }));
        match r {
            Ok(Ok(n)) => return n,
            // SAFETY: `l` is valid (as above).
            Ok(Err(e)) => unsafe { push_error(l, e) },
            Err(payload) => {
                drop(payload);
                // SAFETY: `l` is valid; a C function may always push at
                // least LUA_MINSTACK values, and the panicking body's
                // pushes count against its own checked growth.
                unsafe {
                    ffi::lua_checkstack(l, 1);
                    push_bytes_raw(l, b"internal error in a scripting function");
                }
                Raise::Top
            }
        }
    };
    // Every Rust value of this call is gone: only plain frames are left
    // between here and the Lua C frame that called us.
    // SAFETY: `l` is valid and the error value (if any) is on top.
    unsafe {
        match raise {
            Raise::Top => ffi::lua_error(l),
            Raise::Arg(narg) => {
                ffi::luaL_argerror(l, narg, ffi::lua_tostring(l, -1));
            }
            Raise::Type(narg, tname) => {
                ffi::luaL_typerror(l, narg, tname.as_ptr());
            }
            Raise::Killed => super::raise_killed(l),
        }
        // luaL_argerror/luaL_typerror/raise_killed never return.
        ffi::lua_error(l)
    }
}

/// Pushes the Lua value of `e` (consuming it) and says how to raise it.
///
/// # Safety
/// `l` valid.
unsafe fn push_error(l: LuaState, e: LuaError) -> Raise {
    // SAFETY: `l` is valid; at most four slots are needed and checked.
    unsafe {
        ffi::lua_checkstack(l, 4);
        match e {
            LuaError::Msg(m) => {
                super::vm::push_error_msg(l, &m);
                Raise::Top
            }
            LuaError::Plain(m) => {
                push_bytes_raw(l, m.as_bytes());
                Raise::Top
            }
            LuaError::Arg(narg, m) => {
                // luaL_argerror reads it as a C string.
                let m = m.split(|&b| b == 0).next().unwrap_or_default();
                push_bytes_raw(l, m);
                Raise::Arg(narg)
            }
            LuaError::Type(narg, tname) => Raise::Type(narg, tname),
            LuaError::Table(m) => {
                super::vm::push_error_table(l, &m);
                Raise::Top
            }
            LuaError::Top => Raise::Top,
            LuaError::Killed => Raise::Killed,
        }
    }
}

/// # Safety
/// `l` valid with a free slot.
#[inline]
unsafe fn push_bytes_raw(l: LuaState, b: &[u8]) {
    // SAFETY: the pointer/length pair is a live slice; Lua copies it.
    unsafe { ffi::lua_pushlstring_(l, b.as_ptr() as *const c_char, b.len()) }
}

/// Defines `pub unsafe extern "C-unwind" fn $name`, a Lua C function
/// running the safe body `$body: fn(&mut Stack) -> Result<c_int, LuaError>`
/// through [`call`].
#[macro_export]
macro_rules! lua_fn {
    ($name:ident, $body:path) => {
        /// A Lua C function (see scripting::lua_stack for the error rule).
        ///
        /// # Safety
        /// Only Lua calls it, with a valid state.
        pub unsafe extern "C-unwind" fn $name(
            l: $crate::scripting::lua_stack::LuaState,
        ) -> std::os::raw::c_int {
            // SAFETY: Lua calls this C function with a valid state, and
            // this frame holds no Rust value.
            unsafe { $crate::scripting::lua_stack::call(l, $body) }
        }
    };
}

/// Plain old data that may live in a Lua userdata: every bit pattern is a
/// valid value and it needs no destructor.
///
/// # Safety
/// Implement only for `Copy` types without padding-sensitive invariants,
/// pointers or references, for which any bit pattern is valid.
pub unsafe trait Plain: Copy + 'static {}

/// The stack of one `lua_State`, as seen by one C function call (or by
/// the runner between calls). Reading methods take `&self`, and so do the
/// pushes, which never invalidate a value already on the stack; methods
/// that remove or overwrite slots take `&mut self`, so a borrowed string
/// ([`Stack::to_bytes`]) cannot outlive its value.
///
/// Every index is checked (a bad one panics, which [`call`] turns into a
/// Lua error). The top and the room Lua has guaranteed above it are
/// tracked here, so the checks cost no extra call into Lua: while a
/// `Stack` is in use, the state's stack changes only through it (see
/// [`Stack::raw`]).
pub struct Stack {
    l: LuaState,
    /// The lowest absolute index the current code may pop or rewrite
    /// ([`Stack::for_each_pair`] raises it above its iteration key).
    floor: c_int,
    /// `lua_gettop`.
    top: Cell<c_int>,
    /// The highest index Lua has made room for (`lua_checkstack`; room is
    /// never taken back during a C call, as the stack's in-use part
    /// extends to the call's `ci->top`).
    cap: Cell<c_int>,
    /// An absolute index known to hold a table (0: none): the last table
    /// pushed or checked. Forgotten when its slot is popped or shifted.
    table: Cell<c_int>,
}

/// Largest size hint given to `lua_createtable` (hints only preallocate).
const MAX_TABLE_HINT: usize = 1 << 16;

/// The room Lua guarantees a C function on entry (LUA_MINSTACK).
const LUA_MINSTACK: c_int = 20;

impl Stack {
    /// # Safety
    /// `l` is a valid Lua state, whose stack changes only through this
    /// `Stack` while the `Stack` is in use: inside a C function Lua
    /// called, or on a state no Lua code is running on.
    pub unsafe fn from_raw(l: LuaState) -> Stack {
        // SAFETY: `l` is valid (the caller's contract).
        let top = unsafe { ffi::lua_gettop(l) };
        Stack {
            l,
            floor: 1,
            top: Cell::new(top),
            cap: Cell::new(top),
            table: Cell::new(0),
        }
    }

    /// [`Stack::from_raw`] at the entry of a C function, where Lua
    /// guarantees LUA_MINSTACK free slots.
    ///
    /// # Safety
    /// As [`Stack::from_raw`], called before the C function pushed or
    /// popped anything.
    unsafe fn from_c_call(l: LuaState) -> Stack {
        // SAFETY: the caller's contract.
        let st = unsafe { Stack::from_raw(l) };
        st.cap.set(st.top.get() + LUA_MINSTACK);
        st
    }

    /// The raw state, for the modules that still use the C API directly.
    /// Code using it must leave the stack as it found it (or not use this
    /// `Stack` afterwards).
    pub fn raw(&self) -> LuaState {
        self.l
    }

    /// Makes room for `n` more values (`lua_checkstack`); false when the
    /// stack cannot grow that far (LUAI_MAXCSTACK).
    pub fn check_stack(&self, n: c_int) -> bool {
        let want = self.top.get() + n;
        if want <= self.cap.get() {
            return true;
        }
        // SAFETY: `l` valid; lua_checkstack only grows the stack (memory
        // errors: module doc, rule 3).
        let ok = unsafe { ffi::lua_checkstack(self.l, n) != 0 };
        if ok {
            self.cap.set(want);
        }
        ok
    }

    /// Makes room for `n` more values; a stack overflow (beyond
    /// LUAI_MAXCSTACK) is a bug of ours and panics ([`call`] raises it).
    #[inline]
    fn ensure(&self, n: c_int) {
        if self.top.get() + n > self.cap.get() {
            self.grow(n);
        }
    }

    #[cold]
    fn grow(&self, n: c_int) {
        if !self.check_stack(n) {
            panic!("Lua stack overflow");
        }
    }

    /// Records `n` values pushed (negative: popped) by a Lua call.
    #[inline]
    fn moved(&self, n: c_int) {
        self.set_cached_top(self.top.get() + n);
    }

    /// The top is now `n`: a known table popped is forgotten.
    #[inline]
    fn set_cached_top(&self, n: c_int) {
        self.top.set(n);
        if self.table.get() > n {
            self.table.set(0);
        }
    }

    /// Slots from `a` up moved: a known table among them is forgotten.
    #[inline]
    fn shifted(&self, a: c_int) {
        if self.table.get() >= a {
            self.table.set(0);
        }
    }

    /// The number of values on the stack.
    #[inline]
    pub fn top(&self) -> c_int {
        self.top.get()
    }

    /// `idx` as an absolute index; pseudo-indices (registry, globals,
    /// upvalues) stay as they are. Panics on a relative index below the
    /// bottom of the stack.
    #[inline]
    pub fn abs(&self, idx: c_int) -> c_int {
        if idx > 0 || idx <= ffi::LUA_REGISTRYINDEX {
            return idx;
        }
        let top = self.top.get();
        assert!(idx != 0 && -idx <= top, "invalid Lua stack index {idx}");
        top + idx + 1
    }

    /// An index Lua may read: a slot up to the top (an index above it
    /// reads as none), or a pseudo-index.
    #[inline]
    fn readable(&self, idx: c_int) -> c_int {
        if idx > 0 {
            // Past the top reads as none; keep it within the room made.
            idx.min(self.top.get() + 1)
        } else {
            self.abs(idx)
        }
    }

    /// An existing stack slot at or above the floor (to rewrite).
    #[inline]
    fn writable(&self, idx: c_int) -> c_int {
        let a = self.abs(idx);
        assert!(
            a >= self.floor && a <= self.top.get(),
            "Lua stack index {idx} not writable here"
        );
        a
    }

    /// Sets the top to `n` values (`lua_settop`): pops, or pushes nils.
    pub fn set_top(&mut self, n: c_int) {
        assert!(n >= self.floor - 1, "Lua stack cut below its floor");
        let top = self.top.get();
        if n > top {
            self.ensure(n - top);
        }
        // SAFETY: `l` valid; `n` is not below the floor and there is
        // room for any nils pushed.
        unsafe { ffi::lua_settop(self.l, n) }
        self.set_cached_top(n);
    }

    /// Pops `n` values.
    pub fn pop(&mut self, n: c_int) {
        let top = self.top.get();
        assert!(n >= 0 && n <= top, "Lua stack underflow");
        self.set_top(top - n);
    }

    /// Moves the top value to `idx`, shifting the values above up.
    pub fn insert(&mut self, idx: c_int) {
        let a = self.writable(idx);
        // SAFETY: `a` is an existing slot at or above the floor.
        unsafe { ffi::lua_insert(self.l, a) }
        self.shifted(a);
    }

    /// Removes the value at `idx`, shifting the values above down.
    pub fn remove(&mut self, idx: c_int) {
        let a = self.writable(idx);
        // SAFETY: `a` is an existing slot at or above the floor.
        unsafe { ffi::lua_remove(self.l, a) }
        self.shifted(a);
        self.moved(-1);
    }

    /// The type of the value at `idx`.
    #[inline]
    pub fn type_of(&self, idx: c_int) -> Type {
        let i = self.readable(idx);
        // SAFETY: `i` is an acceptable index.
        Type::from_raw(unsafe { ffi::lua_type(self.l, i) })
    }

    /// `lua_typename` of the value at `idx` ("no value" for none).
    pub fn type_name(&self, idx: c_int) -> &'static str {
        self.type_of(idx).name()
    }

    /// The number at `idx`, converting a numeric string; 0 otherwise.
    #[inline]
    pub fn to_number(&self, idx: c_int) -> f64 {
        let i = self.readable(idx);
        // SAFETY: acceptable index; lua_tonumber converts a copy.
        unsafe { ffi::lua_tonumber(self.l, i) }
    }

    /// `lua_tointeger`: the number at `idx` cast as C casts; 0 if none.
    #[inline]
    pub fn to_integer(&self, idx: c_int) -> i64 {
        let i = self.readable(idx);
        // SAFETY: acceptable index; no conversion in place.
        unsafe { ffi::lua_tointeger_(self.l, i) as i64 }
    }

    /// A number, or a string convertible to one (`lua_isnumber`).
    #[inline]
    pub fn is_number(&self, idx: c_int) -> bool {
        let i = self.readable(idx);
        // SAFETY: acceptable index; reads only.
        unsafe { ffi::lua_isnumber(self.l, i) != 0 }
    }

    /// A string or a number (`lua_isstring`).
    #[inline]
    pub fn is_string(&self, idx: c_int) -> bool {
        let i = self.readable(idx);
        // SAFETY: acceptable index; reads only.
        unsafe { ffi::lua_isstring(self.l, i) != 0 }
    }

    /// Lua truthiness of the value at `idx`.
    #[inline]
    pub fn to_boolean(&self, idx: c_int) -> bool {
        let i = self.readable(idx);
        // SAFETY: acceptable index; reads only.
        unsafe { ffi::lua_toboolean(self.l, i) != 0 }
    }

    /// Is the value at `idx` the NULL light userdata (cjson.null)?
    pub fn is_null_userdata(&self, idx: c_int) -> bool {
        let i = self.readable(idx);
        self.type_of(idx) == Type::LightUserdata
            // SAFETY: acceptable index; only the pointer value is read.
            && unsafe { ffi::lua_touserdata(self.l, i) }.is_null()
    }

    /// The bytes of the *string* at `idx` (numbers are not converted:
    /// see [`Stack::coerce_to_string`]); borrowed while the value stays
    /// on the stack.
    #[inline]
    pub fn to_bytes(&self, idx: c_int) -> Option<&[u8]> {
        let i = self.readable(idx);
        // SAFETY: acceptable index. For a string value lua_tolstring
        // neither converts nor allocates, and returns its bytes, which
        // live while the value is on the stack; removing or overwriting
        // a slot needs `&mut self`, so the borrow of `self` keeps them
        // alive.
        unsafe {
            if ffi::lua_type(self.l, i) != ffi::LUA_TSTRING {
                return None;
            }
            let mut len = 0usize;
            let p = ffi::lua_tolstring(self.l, i, &mut len);
            Some(std::slice::from_raw_parts(p as *const u8, len))
        }
    }

    /// The value at `idx` as a string, a number, or just its type: one
    /// type check for the readers that take both.
    #[inline]
    pub fn scalar(&self, idx: c_int) -> Scalar<'_> {
        let i = self.readable(idx);
        // SAFETY: acceptable index; a string's bytes are read as in
        // [`Stack::to_bytes`] (no conversion, borrowed from `self`), a
        // number's value by lua_tonumber (a copy).
        unsafe {
            match ffi::lua_type(self.l, i) {
                ffi::LUA_TSTRING => {
                    let mut len = 0usize;
                    let p = ffi::lua_tolstring(self.l, i, &mut len);
                    Scalar::Str(std::slice::from_raw_parts(p as *const u8, len))
                }
                ffi::LUA_TNUMBER => Scalar::Num(ffi::lua_tonumber(self.l, i)),
                t => Scalar::Other(Type::from_raw(t)),
            }
        }
    }

    /// Converts a number at `idx` into its string in place (Lua's
    /// `lua_tolstring`, "%.14g"); true if the value is now a string.
    pub fn coerce_to_string(&mut self, idx: c_int) -> bool {
        match self.type_of(idx) {
            Type::String => true,
            Type::Number => {
                let a = self.writable(idx);
                // SAFETY: an existing slot at or above the floor (never a
                // lua_next key); the conversion only allocates.
                unsafe { ffi::lua_tolstring(self.l, a, std::ptr::null_mut()) };
                true
            }
            _ => false,
        }
    }

    /// The string at `idx`, or the string a number there converts to,
    /// without changing the value (an owned copy).
    pub fn to_string_lossless(&mut self, idx: c_int) -> Option<Vec<u8>> {
        match self.type_of(idx) {
            Type::String => self.to_bytes(idx).map(|b| b.to_vec()),
            Type::Number => {
                self.push_value(idx);
                self.coerce_to_string(-1);
                let v = self.to_bytes(-1).map(|b| b.to_vec());
                self.pop(1);
                v
            }
            _ => None,
        }
    }

    // ---- argument checks (luaL_check* without raising) ----------------

    /// `luaL_checknumber`.
    pub fn check_number(&self, narg: c_int) -> Result<f64, LuaError> {
        let n = self.to_number(narg);
        if n == 0.0 && !self.is_number(narg) {
            return Err(LuaError::Type(narg, c"number"));
        }
        Ok(n)
    }

    /// `luaL_checkinteger`.
    pub fn check_integer(&self, narg: c_int) -> Result<i64, LuaError> {
        let n = self.to_integer(narg);
        if n == 0 && !self.is_number(narg) {
            return Err(LuaError::Type(narg, c"number"));
        }
        Ok(n)
    }

    /// `luaL_optinteger`.
    pub fn opt_integer(&self, narg: c_int, def: i64) -> Result<i64, LuaError> {
        match self.type_of(narg) {
            Type::None | Type::Nil => Ok(def),
            _ => self.check_integer(narg),
        }
    }

    /// `luaL_checklstring`: converts a number argument in place, as Lua's
    /// does, then reads it with [`Stack::to_bytes`].
    pub fn check_string(&mut self, narg: c_int) -> Result<(), LuaError> {
        if self.coerce_to_string(narg) {
            Ok(())
        } else {
            Err(LuaError::Type(narg, c"string"))
        }
    }

    /// `luaL_checkany`.
    pub fn check_any(&self, narg: c_int) -> Result<(), LuaError> {
        if self.type_of(narg) == Type::None {
            return Err(LuaError::Arg(narg, b"value expected".to_vec()));
        }
        Ok(())
    }

    // ---- pushes -------------------------------------------------------

    #[inline]
    pub fn push_nil(&self) {
        self.ensure(1);
        // SAFETY: `l` valid, a slot reserved.
        unsafe { ffi::lua_pushnil(self.l) }
        self.moved(1);
    }

    #[inline]
    pub fn push_bool(&self, b: bool) {
        self.ensure(1);
        // SAFETY: `l` valid, a slot reserved.
        unsafe { ffi::lua_pushboolean(self.l, b as c_int) }
        self.moved(1);
    }

    #[inline]
    pub fn push_number(&self, n: f64) {
        self.ensure(1);
        // SAFETY: `l` valid, a slot reserved.
        unsafe { ffi::lua_pushnumber(self.l, n) }
        self.moved(1);
    }

    #[inline]
    pub fn push_integer(&self, n: i64) {
        self.ensure(1);
        // SAFETY: `l` valid, a slot reserved.
        unsafe { ffi::lua_pushinteger(self.l, n as ffi::lua_Integer) }
        self.moved(1);
    }

    #[inline]
    pub fn push_bytes(&self, b: &[u8]) {
        self.ensure(1);
        // SAFETY: `l` valid, a slot reserved; Lua copies the bytes.
        unsafe { push_bytes_raw(self.l, b) }
        self.moved(1);
    }

    #[inline]
    pub fn push_str(&self, s: &str) {
        self.push_bytes(s.as_bytes());
    }

    /// Pushes a copy of the value at `idx`.
    #[inline]
    pub fn push_value(&self, idx: c_int) {
        let i = self.readable(idx);
        self.ensure(1);
        // SAFETY: acceptable index, a slot reserved.
        unsafe { ffi::lua_pushvalue(self.l, i) }
        self.moved(1);
    }

    /// Pushes the NULL light userdata (cjson.null).
    pub fn push_null_userdata(&self) {
        self.ensure(1);
        // SAFETY: `l` valid, a slot reserved; the pointer is never read.
        unsafe { ffi::lua_pushlightuserdata(self.l, std::ptr::null_mut()) }
        self.moved(1);
    }

    /// Pushes a C function (`lua_pushcfunction`).
    pub fn push_fn(&self, f: ffi::lua_CFunction) {
        self.ensure(1);
        // SAFETY: `l` valid, a slot reserved.
        unsafe { ffi::lua_pushcclosure(self.l, f, 0) }
        self.moved(1);
    }

    /// Pops `n` values and pushes a C closure over them.
    pub fn push_closure(&mut self, f: ffi::lua_CFunction, n: c_int) {
        assert!(
            n >= 0 && self.top.get() - n >= self.floor - 1,
            "Lua stack underflow"
        );
        self.ensure(1);
        // SAFETY: `n` values above the floor are on the stack.
        unsafe { ffi::lua_pushcclosure(self.l, f, n) }
        self.moved(1 - n);
    }

    /// Pushes a new table with room for `narr` array and `nrec` other
    /// entries (capped hints).
    #[inline]
    pub fn new_table(&self, narr: usize, nrec: usize) {
        self.ensure(1);
        // SAFETY: `l` valid, a slot reserved; capped sizes cannot raise
        // "table overflow".
        unsafe {
            ffi::lua_createtable(
                self.l,
                narr.min(MAX_TABLE_HINT) as c_int,
                nrec.min(MAX_TABLE_HINT) as c_int,
            )
        }
        self.moved(1);
        self.table.set(self.top.get());
    }

    /// Pushes a new userdata holding `v`.
    pub fn push_userdata<T: Plain>(&self, v: T) {
        self.ensure(1);
        // SAFETY: `l` valid, a slot reserved; Lua returns a block of
        // size_of::<T>() bytes aligned for any C type
        // (LUAI_USER_ALIGNMENT_T), which `T: Plain` (no destructor, any
        // bits valid) may occupy.
        unsafe {
            let p = ffi::lua_newuserdata(self.l, std::mem::size_of::<T>()) as *mut T;
            p.write(v);
        }
        self.moved(1);
    }

    /// The `T` in the userdata at `idx` (a pseudo-index such as an
    /// upvalue's too), if it is a full userdata of that size.
    pub fn userdata_mut<T: Plain>(&mut self, idx: c_int) -> Option<&mut T> {
        if self.type_of(idx) != Type::Userdata {
            return None;
        }
        let i = self.readable(idx);
        // SAFETY: a full userdata at an acceptable index: its block holds
        // objlen bytes, aligned for any C type; when that is the size of
        // `T`, a `T: Plain` may be read and written through it (every bit
        // pattern valid). The userdata stays alive while it is reachable
        // from the stack or an upvalue, and `&mut self` keeps it there.
        unsafe {
            if ffi::lua_objlen(self.l, i) != std::mem::size_of::<T>() {
                return None;
            }
            (ffi::lua_touserdata(self.l, i) as *mut T).as_mut()
        }
    }

    /// Pushes a fresh `len`-byte scratch buffer (a userdata) and returns
    /// it; it lives while it stays on the stack. Raises a memory error
    /// when `len` cannot be allocated: call it with no Rust value with a
    /// destructor alive (module doc, rule 3).
    #[allow(clippy::mut_from_ref)]
    pub fn push_buffer(&self, len: usize) -> &mut [u8] {
        self.ensure(1);
        // SAFETY: `l` valid, a slot reserved; the block is new, so no
        // other reference to it exists, and it cannot be freed before the
        // borrow of `self` ends (popping needs `&mut self`).
        let b = unsafe {
            let p = ffi::lua_newuserdata(self.l, len) as *mut u8;
            std::slice::from_raw_parts_mut(p, len)
        };
        self.moved(1);
        b
    }

    // ---- raw table access (no metamethods) ------------------------------

    /// The absolute index (or pseudo-index) of the table at `t`; panics
    /// if it is not a table.
    #[inline]
    fn abs_table(&self, t: c_int) -> c_int {
        let a = self.abs(t);
        if a > 0 && a == self.table.get() && a <= self.top.get() {
            return a;
        }
        assert!(
            self.type_of(t) == Type::Table,
            "Lua table expected at index {t}"
        );
        if a > 0 {
            self.table.set(a);
        }
        a
    }

    /// Pushes `t[i]` of the table at `t` (raw) and returns its type.
    #[inline]
    pub fn raw_get_index(&self, t: c_int, i: i64) -> Type {
        let t = self.abs_table(t);
        // Lua 5.1's API takes a C int; past it, the slot reads as nil.
        let Ok(i) = c_int::try_from(i) else {
            self.push_nil();
            return Type::Nil;
        };
        self.ensure(1);
        // SAFETY: `t` is the absolute index (or pseudo-index) of a table
        // and a slot is reserved; raw access runs no metamethod.
        unsafe { ffi::lua_rawgeti_(self.l, t, i) };
        self.moved(1);
        self.type_of(-1)
    }

    /// Pushes `t[name]` of the table at `t` (raw) and returns its type.
    pub fn raw_get_field(&self, t: c_int, name: &CStr) -> Type {
        let t = self.abs_table(t);
        self.ensure(1);
        // SAFETY: `t` is an absolute index or pseudo-index of a table and
        // a slot is reserved; raw access runs no metamethod.
        unsafe {
            ffi::lua_pushstring_(self.l, name.as_ptr());
            ffi::lua_rawget_(self.l, t);
        }
        self.moved(1);
        self.type_of(-1)
    }

    /// `t[i] = <top>` (raw), popping the value.
    #[inline]
    pub fn raw_set_index(&mut self, t: c_int, i: i64) {
        let t = self.abs_table(t);
        assert!(
            self.top.get() > t.max(self.floor - 1),
            "Lua stack underflow"
        );
        let Ok(i) = c_int::try_from(i) else {
            self.pop(1);
            return;
        };
        // SAFETY: `t` is a table below the value on top, which is above
        // the floor; raw access runs no metamethod, and an integer key is
        // neither nil nor NaN.
        unsafe { ffi::lua_rawseti_(self.l, t, i) }
        self.moved(-1);
    }

    /// `t[name] = <top>` (raw), popping the value.
    pub fn raw_set_field(&mut self, t: c_int, name: &CStr) {
        let t = self.abs_table(t);
        assert!(
            self.top.get() > t.max(self.floor - 1),
            "Lua stack underflow"
        );
        self.push_bytes(name.to_bytes());
        self.insert(-2);
        // SAFETY: `t` is a table below key and value; raw access runs no
        // metamethod and a string key cannot make lua_rawset raise.
        unsafe { ffi::lua_rawset(self.l, t) }
        self.moved(-2);
    }

    /// `t[key] = value` (raw) with key and value on top, popping both.
    /// A nil or NaN key is Lua's error ("table index is nil" / "... NaN").
    pub fn raw_set(&mut self, t: c_int) -> Result<(), LuaError> {
        let t = self.abs_table(t);
        assert!(
            self.top.get() - 2 >= t.max(self.floor - 1),
            "Lua stack underflow"
        );
        let bad = match self.type_of(-2) {
            Type::Nil => "table index is nil",
            Type::Number if self.to_number(-2).is_nan() => "table index is NaN",
            _ => {
                // SAFETY: `t` is a table below key and value, which are
                // above the floor; raw access runs no metamethod, and the
                // key is neither nil nor NaN, so lua_rawset cannot raise
                // (memory errors aside, module doc).
                unsafe { ffi::lua_rawset(self.l, t) };
                self.moved(-2);
                return Ok(());
            }
        };
        self.pop(2);
        Err(LuaError::Plain(bad.into()))
    }

    /// The length of the table or string at `idx` (`lua_objlen`).
    pub fn obj_len(&self, idx: c_int) -> usize {
        let i = self.readable(idx);
        // SAFETY: acceptable index; objlen reads only.
        unsafe { ffi::lua_objlen(self.l, i) }
    }

    /// Iterates over the table at `t` (`lua_next` order). For each pair,
    /// `f` sees the key at -2 and the value at -1; the key (and what is
    /// below it) is out of its reach: it may read the key, and use the
    /// value's slot and the stack above freely. Whatever it leaves there
    /// is popped. `f` returns Ok(false) to stop early.
    pub fn for_each_pair<E>(
        &mut self,
        t: c_int,
        mut f: impl FnMut(&mut Stack) -> Result<bool, E>,
    ) -> Result<(), E> {
        let t = self.abs_table(t);
        self.push_nil();
        let key = self.top.get();
        let floor = self.floor;
        // lua_next pushes one more value; the room made stays.
        self.ensure(1);
        loop {
            // SAFETY: `t` is a table, and the slot on top holds nil or
            // the key lua_next returned last, untouched since (it is below
            // the floor `f` runs with), so lua_next cannot raise; a slot
            // is reserved for the value.
            if unsafe { ffi::lua_next(self.l, t) } == 0 {
                self.moved(-1);
                return Ok(());
            }
            self.moved(1);
            self.floor = key + 1;
            let r = f(self);
            self.floor = floor;
            assert!(self.top.get() >= key, "Lua stack cut below its floor");
            self.set_top(key);
            match r {
                Ok(true) => {}
                Ok(false) => {
                    self.pop(1);
                    return Ok(());
                }
                Err(e) => {
                    self.pop(1);
                    return Err(e);
                }
            }
        }
    }

    /// [`Stack::for_each_pair`] for a body that cannot fail.
    pub fn for_each(&mut self, t: c_int, mut f: impl FnMut(&mut Stack) -> bool) {
        match self.for_each_pair::<std::convert::Infallible>(t, |st| Ok(f(st))) {
            Ok(()) => {}
            Err(e) => match e {},
        }
    }

    /// The index of upvalue `n` of the running C function.
    pub fn upvalue(n: c_int) -> c_int {
        ffi::lua_upvalueindex(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare Lua state for the tests.
    struct State(LuaState);

    impl State {
        fn new() -> State {
            // SAFETY: luaL_newstate has no preconditions.
            let l = unsafe { ffi::luaL_newstate() };
            assert!(!l.is_null());
            State(l)
        }

        fn stack(&self) -> Stack {
            // SAFETY: a valid state no Lua code runs on; each test uses
            // one Stack at a time.
            unsafe { Stack::from_raw(self.0) }
        }

        /// Calls the C function `f` with `args` under lua_pcall: its
        /// results as strings, or its error message.
        fn pcall(&self, f: ffi::lua_CFunction, args: &[&str]) -> Result<Vec<String>, String> {
            let st = self.stack();
            let base = st.top();
            st.push_fn(f);
            for a in args {
                st.push_str(a);
            }
            // SAFETY: the function and its arguments are on the stack of
            // the valid state; lua_pcall catches every error.
            let rc = unsafe { ffi::lua_pcall(self.0, args.len() as c_int, ffi::LUA_MULTRET, 0) };
            // SAFETY: the same state; only the top is read.
            let mut st = unsafe { Stack::from_raw(self.0) };
            let out: Vec<String> = (base + 1..=st.top())
                .map(|i| {
                    st.to_string_lossless(i)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_else(|| st.type_name(i).to_string())
                })
                .collect();
            st.set_top(base);
            if rc == 0 {
                Ok(out)
            } else {
                Err(out.join(""))
            }
        }
    }

    impl Drop for State {
        fn drop(&mut self) {
            // SAFETY: created by luaL_newstate, closed only here.
            unsafe { ffi::lua_close(self.0) }
        }
    }

    fn arg_error(_: &mut Stack) -> Result<c_int, LuaError> {
        Err(LuaError::Arg(1, b"boom".to_vec()))
    }
    lua_fn!(c_arg_error, arg_error);

    fn type_error(st: &mut Stack) -> Result<c_int, LuaError> {
        st.check_integer(2)?;
        Ok(0)
    }
    lua_fn!(c_type_error, type_error);

    fn panics(_: &mut Stack) -> Result<c_int, LuaError> {
        panic!("a bug");
    }
    lua_fn!(c_panics, panics);

    /// Builds {10, 20, x=30} and sums it; with "cut" as argument the
    /// callback tries to pop the iteration key (a bug: it panics).
    fn sum_pairs(st: &mut Stack) -> Result<c_int, LuaError> {
        let cut = st.to_bytes(1) == Some(b"cut");
        st.new_table(2, 1);
        for (i, v) in [10.0, 20.0].into_iter().enumerate() {
            st.push_number(v);
            st.raw_set_index(-2, i as i64 + 1);
        }
        st.push_number(30.0);
        st.raw_set_field(-2, c"x");
        let mut sum = 0.0;
        st.for_each(-1, |st| {
            sum += st.to_number(-1);
            if cut {
                st.pop(2);
            }
            true
        });
        st.push_number(sum);
        Ok(1)
    }
    lua_fn!(c_sum_pairs, sum_pairs);

    fn nan_key(st: &mut Stack) -> Result<c_int, LuaError> {
        st.new_table(0, 0);
        st.push_number(f64::NAN);
        st.push_bool(true);
        st.raw_set(-3)?;
        Ok(1)
    }
    lua_fn!(c_nan_key, nan_key);

    /// A table popped and replaced by a number in its slot: the Stack
    /// must not treat the slot as a table any more.
    fn stale_table(st: &mut Stack) -> Result<c_int, LuaError> {
        st.new_table(0, 0);
        st.raw_get_index(-1, 1);
        st.set_top(0);
        st.push_number(1.0);
        st.push_number(2.0);
        st.raw_set_index(1, 1);
        Ok(0)
    }
    lua_fn!(c_stale_table, stale_table);

    #[test]
    fn a_popped_table_is_not_remembered() {
        let s = State::new();
        assert_eq!(
            s.pcall(c_stale_table, &[]),
            Err("internal error in a scripting function".into())
        );
    }

    #[test]
    fn errors_are_raised_after_the_body_returns() {
        let s = State::new();
        assert_eq!(
            s.pcall(c_arg_error, &[]),
            Err("bad argument #1 to '?' (boom)".into())
        );
        assert_eq!(
            s.pcall(c_type_error, &["a"]),
            Err("bad argument #2 to '?' (number expected, got no value)".into())
        );
        assert_eq!(
            s.pcall(c_type_error, &["a", "x"]),
            Err("bad argument #2 to '?' (number expected, got string)".into())
        );
        assert_eq!(s.pcall(c_type_error, &["a", "7"]), Ok(vec![]));
        assert_eq!(
            s.pcall(c_panics, &[]),
            Err("internal error in a scripting function".into())
        );
        assert_eq!(s.pcall(c_nan_key, &[]), Err("table index is NaN".into()));
        // The state is still usable and its stack balanced.
        assert_eq!(s.stack().top(), 0);
    }

    #[test]
    fn iteration_keeps_its_key_out_of_reach() {
        let s = State::new();
        assert_eq!(s.pcall(c_sum_pairs, &["ok"]), Ok(vec!["60".into()]));
        assert_eq!(
            s.pcall(c_sum_pairs, &["cut"]),
            Err("internal error in a scripting function".into())
        );
        assert_eq!(s.stack().top(), 0);
    }

    #[test]
    fn strings_and_numbers() {
        let s = State::new();
        let mut st = s.stack();
        st.push_number(1.5);
        st.push_str("x\0y");
        assert_eq!(st.to_bytes(-1), Some(&b"x\0y"[..]));
        // A number is not read as a string, nor converted by the lossless
        // read.
        assert_eq!(st.to_bytes(1), None);
        assert_eq!(st.to_string_lossless(1), Some(b"1.5".to_vec()));
        assert_eq!(st.type_of(1), Type::Number);
        assert!(st.coerce_to_string(1));
        assert_eq!(st.type_of(1), Type::String);
        assert_eq!(st.type_of(5), Type::None);
        assert_eq!(st.abs(-1), 2);
        st.set_top(0);
        assert_eq!(st.top(), 0);
    }
}
