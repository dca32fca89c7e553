//! Fuzzes Lua scripts through the real entry points (EVAL, EVAL_RO,
//! SCRIPT LOAD + EVALSHA, FUNCTION LOAD + FCALL) on an in-process server,
//! bounded by an instruction budget and a Lua heap cap; see
//! tests/support/lua_driver.rs (shared with tests/fuzz_smoke_harness.rs).
//! Byte 0 picks the entry point, protocol and key count; the rest is the
//! script body.

#![no_main]

#[path = "../../tests/support/inproc.rs"]
mod inproc;
#[path = "../../tests/support/lua_driver.rs"]
mod lua_driver;

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static H: RefCell<lua_driver::LuaHarness> = RefCell::new(lua_driver::LuaHarness::new());
}

fuzz_target!(|data: &[u8]| {
    H.with(|h| h.borrow_mut().run_input(data));
});
