//! Fuzzes configuration: config-file text through `Config::load_text` (what
//! the server runs on redis.conf at startup) with a CONFIG REWRITE +
//! re-read check, and CONFIG SET of arbitrary name/value pairs through the
//! dispatcher; see tests/support/config_driver.rs (shared with
//! tests/fuzz_smoke_harness.rs).

#![no_main]

#[path = "../../tests/support/config_driver.rs"]
mod config_driver;
#[path = "../../tests/support/inproc.rs"]
mod inproc;

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static H: RefCell<config_driver::ConfigHarness> =
        RefCell::new(config_driver::ConfigHarness::new());
}

fuzz_target!(|data: &[u8]| {
    H.with(|h| h.borrow_mut().run_input(data));
});
