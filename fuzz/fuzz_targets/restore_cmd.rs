//! Fuzzes RESTORE through the command dispatcher: arbitrary payload bodies
//! behind a valid DUMP footer, under several encoding-limit configs, then
//! reads, writes and DUMP/RESTORE round trips of what was restored; see
//! tests/support/restore_driver.rs (shared with
//! tests/fuzz_smoke_harness.rs).

#![no_main]

#[path = "../../tests/support/inproc.rs"]
mod inproc;
#[path = "../../tests/support/restore_driver.rs"]
mod restore_driver;

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static H: RefCell<restore_driver::RestoreHarness> =
        RefCell::new(restore_driver::RestoreHarness::new());
}

fuzz_target!(|data: &[u8]| {
    H.with(|h| h.borrow_mut().run_input(data));
});
