//! Fuzzes the cluster bus decoder (ferrokv::cluster::bus): any bytes must
//! decode or fail with a typed error, never panic; whatever decodes must
//! re-encode to a message that decodes alike.

#![no_main]

use ferrokv::cluster::bus;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bus::frame_len(data);
    if let Ok(m) = bus::decode(data) {
        let again = bus::decode(&m.encode()).expect("re-encoded message decodes");
        assert_eq!(again.body, m.body);
        assert_eq!(again.header.sender, m.header.sender);
    }
});
