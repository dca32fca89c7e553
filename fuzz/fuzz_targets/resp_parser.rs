//! Fuzzes the request parser through the event loop's read/parse/compact
//! loop (shared with tests/fuzz_smoke.rs). Input layout: byte 0 picks the
//! query-buffer growth unit, byte 1 the limits, bytes 2..6 a chunk-size
//! pattern; the rest is the byte stream a client sends. The stream is
//! parsed whole and in chunks; both must not panic, must make progress and
//! must agree on the commands.

#![no_main]

#[path = "../../tests/support/parse_driver.rs"]
mod parse_driver;

use ferrokv::protocol::parse::ParseLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let iobuf = [2, 8, 33, 100, 16 * 1024][data[0] as usize % 5];
    let limits = ParseLimits {
        // Bounded so a fuzzed "$<huge>" cannot make the harness reserve
        // hundreds of MB; the parser logic does not depend on the value.
        proto_max_bulk_len: if data[1] & 1 == 0 { 1 << 20 } else { 64 },
        authenticated: data[1] & 2 == 0,
    };
    let chunks: Vec<usize> = data[2..6].iter().map(|&b| b as usize + 1).collect();
    parse_driver::run_both(&data[6..], &chunks, iobuf, limits);
});
