//! Runs fuzzed Lua through the real scripting entry points: EVAL / EVAL_RO /
//! EVALSHA and FUNCTION LOAD + FCALL / FCALL_RO, executed by
//! `commands::execute` on an in-process server (tests/support/inproc.rs),
//! against a keyspace holding one key of every type.
//!
//! Bounding a run. In production a looping script is ended by SCRIPT KILL
//! from another connection, which the busy hook (busy-reply-threshold)
//! serves through the event loop; in-process there is no event loop, so the
//! harness bounds scripts itself, without touching src/scripting:
//! - busy-reply-threshold is 0, so `scripting::run` installs no hook of its
//!   own and keeps the harness's: a count hook that charges an instruction
//!   budget and, once it is spent, raises an error on every line the way the
//!   SCRIPT KILL path does (so `pcall` inside the script cannot swallow it).
//!   FUNCTION LOAD runs the library body with no hook at all in ferrokv, so
//!   the same hook bounds it too.
//! - each interpreter's heap is capped at `LUA_MEM_CAP` (the server's
//!   allocator limit, `vm::set_heap_limit`), so `string.rep` and
//!   doubling loops fail with "not enough memory" instead of exhausting the
//!   machine;
//! - proto-max-bulk-len is at its 1 MB minimum, bounding string commands
//!   (SETRANGE, APPEND...) the script can call.
//!
//! Checks after every command: no panic, exactly one well-formed reply,
//! the interpreter stack back at its height, no script left marked as
//! running, and the server still answers PING.

#![allow(dead_code)]

use crate::inproc::{InProc, Reply};
use ferrokv::config::Config;
use mlua_sys as ffi;
use std::cell::Cell;
use std::os::raw::c_int;

/// Lua instructions one command may run before the harness stops it.
pub const INSTRUCTION_BUDGET: i64 = 300_000;
/// The hook's period, in instructions.
const HOOK_EVERY: c_int = 1000;
/// Lua heap limit per interpreter.
pub const LUA_MEM_CAP: usize = 64 << 20;

thread_local! {
    static BUDGET: Cell<i64> = const { Cell::new(0) };
}

/// The budget hook: charged every HOOK_EVERY instructions; once the budget
/// is spent it raises on every line (as count_hook does for SCRIPT KILL).
unsafe extern "C-unwind" fn budget_hook(l: *mut ffi::lua_State, _ar: *mut ffi::lua_Debug) {
    let left = BUDGET.with(|b| {
        let v = b.get() - HOOK_EVERY as i64;
        b.set(v);
        v
    });
    if left < 0 {
        // SAFETY: `l` is the running state the hook was called for; the
        // pushed string and lua_error only involve Lua values (no Rust
        // value with a destructor is alive in this frame).
        unsafe {
            ffi::lua_sethook(
                l,
                Some(budget_hook),
                ffi::LUA_MASKLINE | ffi::LUA_MASKCOUNT,
                HOOK_EVERY,
            );
            ffi::lua_pushstring(l, c"fuzz harness: instruction budget spent".as_ptr());
            ffi::lua_error(l);
        }
    }
}

/// Caps the heap of interpreter `l` (the server's own allocator limit,
/// `vm::set_heap_limit`) and puts the budget hook on it.
fn install(l: *mut ffi::lua_State) {
    // SAFETY: `l` is a live interpreter owned by the server and made by
    // its `Vm::new`, not running (between commands).
    unsafe {
        ferrokv::scripting::vm::set_heap_limit(l, LUA_MEM_CAP);
        ffi::lua_sethook(l, Some(budget_hook), ffi::LUA_MASKCOUNT, HOOK_EVERY);
    }
}

fn stack_top(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: a live interpreter, not running.
    unsafe { ffi::lua_gettop(l) }
}

pub struct LuaHarness {
    pub p: InProc,
}

/// What one input asks for: the entry point, the protocol, and how many of
/// the argument words are keys.
#[derive(Clone, Copy, Debug)]
pub struct Mode {
    pub entry: u8,
    pub resp3: bool,
    pub numkeys: usize,
}

impl Mode {
    pub fn from_byte(b: u8) -> Mode {
        Mode {
            entry: b & 3,
            resp3: b & 4 != 0,
            numkeys: ((b >> 3) & 3) as usize,
        }
    }
}

const KEYS: [&[u8]; 3] = [b"s", b"h", b"z"];
const ARGV: [&[u8]; 3] = [b"1", b"x", b"-2.5"];

impl Default for LuaHarness {
    fn default() -> Self {
        Self::new()
    }
}

impl LuaHarness {
    pub fn new() -> LuaHarness {
        let mut config = Config::new();
        for (k, v) in [
            ("busy-reply-threshold", "0"),
            ("proto-max-bulk-len", "1mb"),
            ("loglevel", "warning"),
            // FLUSHALL with save points would write dump.rdb every run.
            ("save", ""),
        ] {
            config
                .set(k, v, true)
                .unwrap_or_else(|e| panic!("{k}: {e:?}"));
        }
        let mut p = InProc::new(config);
        p.c.deny_blocking = true;
        LuaHarness { p }
    }

    /// Runs one command with the interpreters bounded, then checks the
    /// server's state.
    pub fn call(&mut self, argv: &[&[u8]]) -> Reply {
        let ev = self.p.srv.scripting.eval_vm.l;
        let fv = self.p.srv.scripting.functions.vm.l;
        install(ev);
        install(fv);
        BUDGET.with(|b| b.set(INSTRUCTION_BUDGET));
        let (ev_top, fv_top) = (stack_top(ev), stack_top(fv));
        let r = self.p.call(argv);
        // An interpreter replaced by the command (SCRIPT/FUNCTION FLUSH)
        // starts fresh; otherwise its stack must be back where it was.
        if self.p.srv.scripting.eval_vm.l == ev {
            assert_eq!(stack_top(ev), ev_top, "eval stack leaked: {argv:?}");
        }
        if self.p.srv.scripting.functions.vm.l == fv {
            assert_eq!(stack_top(fv), fv_top, "functions stack leaked");
        }
        assert!(self.p.srv.scripting.running_eval.is_none());
        r
    }

    /// Empties the keyspace and both script stores, then creates one key
    /// of every type for scripts to reach.
    pub fn reset(&mut self) {
        for cmd in [
            &[&b"FLUSHALL"[..]][..],
            &[b"SCRIPT", b"FLUSH"],
            &[b"FUNCTION", b"FLUSH"],
            &[b"SET", b"s", b"12"],
            &[b"RPUSH", b"l", b"a", b"b", b"3"],
            &[b"HSET", b"h", b"f", b"v", b"n", b"1"],
            &[b"SADD", b"set", b"m", b"2"],
            &[b"ZADD", b"z", b"1", b"m", b"2.5", b"n"],
            &[b"XADD", b"x", b"1-1", b"f", b"v"],
        ] {
            let r = self.p.call(cmd);
            assert!(!r.is_error(), "{cmd:?}: {r:?}");
        }
        self.p.c.db = 0;
        let proto: &[u8] = b"2";
        let r = self.p.call(&[b"HELLO", proto]);
        assert!(!r.is_error(), "{r:?}");
    }

    /// One fuzz input: byte 0 is the `Mode`, the rest is the script (or
    /// library) body.
    pub fn run_input(&mut self, data: &[u8]) {
        let Some((&m, body)) = data.split_first() else {
            return;
        };
        self.run(Mode::from_byte(m), body);
    }

    pub fn run(&mut self, mode: Mode, body: &[u8]) {
        self.reset();
        if mode.resp3 {
            let r = self.p.call(&[b"HELLO", b"3"]);
            assert!(!r.is_error(), "{r:?}");
        }
        let nk = mode.numkeys.to_string();
        let mut words: Vec<&[u8]> = KEYS[..mode.numkeys].to_vec();
        words.extend_from_slice(&ARGV);
        match mode.entry {
            0 | 1 => {
                let cmd: &[u8] = if mode.entry == 0 { b"EVAL" } else { b"EVAL_RO" };
                let mut argv: Vec<&[u8]> = vec![cmd, body, nk.as_bytes()];
                argv.extend_from_slice(&words);
                self.call(&argv);
            }
            2 => {
                let sha = {
                    let r = self.call(&[b"SCRIPT", b"LOAD", body]);
                    r.bulk().map(|s| s.to_vec())
                };
                if let Some(sha) = sha {
                    let r = self.call(&[b"SCRIPT", b"EXISTS", &sha]);
                    assert_eq!(r, Reply::Array(Some(vec![Reply::Int(1)])));
                    for cmd in [&b"EVALSHA"[..], b"EVALSHA_RO"] {
                        let mut argv: Vec<&[u8]> = vec![cmd, &sha, nk.as_bytes()];
                        argv.extend_from_slice(&words);
                        self.call(&argv);
                    }
                }
            }
            _ => {
                let mut code = Vec::new();
                if !body.starts_with(b"#!") {
                    code.extend_from_slice(b"#!lua name=lib\n");
                }
                code.extend_from_slice(body);
                let loaded = self.call(&[b"FUNCTION", b"LOAD", &code]);
                if !loaded.is_error() {
                    for (cmd, f) in [(&b"FCALL"[..], &b"f"[..]), (b"FCALL_RO", b"g")] {
                        let mut argv: Vec<&[u8]> = vec![cmd, f, nk.as_bytes()];
                        argv.extend_from_slice(&words);
                        self.call(&argv);
                    }
                    // The library must round-trip through FUNCTION DUMP /
                    // RESTORE.
                    let dump = self.call(&[b"FUNCTION", b"DUMP"]);
                    let dump = dump.bulk().expect("FUNCTION DUMP").to_vec();
                    let r = self.call(&[b"FUNCTION", b"RESTORE", &dump, b"REPLACE"]);
                    // Reloading runs the body again: it may only fail on
                    // the harness's own bounds (the old and new copies of
                    // the library are both alive while it loads).
                    if !r.is_ok() {
                        let text = format!("{r:?}");
                        assert!(
                            text.contains("not enough memory") || text.contains("fuzz harness"),
                            "FUNCTION RESTORE of a DUMP: {text}"
                        );
                    } else {
                        let again = self.call(&[b"FUNCTION", b"DUMP"]);
                        assert_eq!(again.bulk(), Some(&dump[..]), "FUNCTION DUMP changed");
                    }
                }
            }
        }
        let r = self.call(&[b"PING"]);
        assert!(matches!(r, Reply::Status(ref s) if s == b"PONG"), "{r:?}");
    }
}
