//! Fuzzes the inline-command path of the request parser: every line is an
//! inline command (a leading `*` is blanked), parsed through the event
//! loop's read/parse loop whole and in chunks, and compared with a model
//! of Redis's processInlineBuffer + sdssplitargs; see
//! tests/support/inline_driver.rs (shared with tests/fuzz_smoke_harness.rs).
//! Byte 0 is the chunk size; the rest is the stream.

#![no_main]

#[path = "../../tests/support/inline_driver.rs"]
mod inline_driver;
#[path = "../../tests/support/parse_driver.rs"]
mod parse_driver;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    inline_driver::run_input(data);
});
