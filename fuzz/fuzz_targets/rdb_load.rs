//! Fuzzes the RDB loader and the DUMP payload decoder: arbitrary bytes
//! (behind a valid header, so the fuzzer reaches the object decoders
//! quickly) must load or fail with an error, never panic or hang.

#![no_main]

use ferrokv::config::Config;
use ferrokv::persist::rdb;
use ferrokv::server::Server;
use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    static SRV: RefCell<Server> = RefCell::new({
        let mut c = Config::new();
        // Corrupt content must be caught by the decoders, not the CRC.
        let _ = c.set("rdbchecksum", "no", true);
        Server::new(c, ferrokv::commands::table(), ferrokv::commands::hooks())
    });
}

fuzz_target!(|data: &[u8]| {
    SRV.with(|s| {
        let mut srv = s.borrow_mut();
        ferrokv::persist::rdb_server::empty_data(&mut srv);
        let mut file = b"REDIS0010".to_vec();
        file.extend_from_slice(data);
        let _ = rdb::load_rdb(&mut srv, &file[..], false);
        let _ = rdb::load_rdb(&mut srv, data, true);
        // As a DUMP payload: append a valid footer so decoding is reached.
        let mut payload = data.to_vec();
        payload.extend_from_slice(&rdb::RDB_VERSION.to_le_bytes());
        let crc = rdb::CRC64.checksum(&payload);
        payload.extend_from_slice(&crc.to_le_bytes());
        let _ = rdb::decode_dump_payload(&srv, &payload);
    });
});
