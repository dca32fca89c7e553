//! HRANDFIELD's random cases (which the differential scripts cannot compare
//! byte for byte): reply lengths, distinctness, membership and pairing, on
//! both encodings and under RESP2/RESP3.

use crate::common;

use common::{flatten, Server};
use std::collections::HashSet;

/// Bulk-string payloads of a flattened reply (aggregate headers dropped).
fn bulks(reply: &[u8]) -> Vec<String> {
    flatten(reply)
        .into_iter()
        .filter(|e| e[0] == b'$')
        .map(|e| {
            let s = String::from_utf8_lossy(&e).to_string();
            let body = s.split_once("\r\n").map_or("", |x| x.1).to_string();
            body.trim_end_matches("\r\n").to_string()
        })
        .collect()
}

fn check_hash(c: &mut common::RawConn, key: &str, size: usize, resp3: bool) {
    let members: HashSet<String> = (0..size).map(|i| format!("f{}", i)).collect();
    for count in [
        1i64,
        2,
        3,
        5,
        size as i64 - 1,
        size as i64,
        size as i64 + 3,
        -1,
        -7,
        -(3 * size as i64),
    ] {
        let expected = if count >= 0 {
            (count as usize).min(size)
        } else {
            count.unsigned_abs() as usize
        };
        let r = c.cmd(&["HRANDFIELD", key, &count.to_string()]);
        let fields = bulks(&r);
        assert_eq!(fields.len(), expected, "count {} reply {:?}", count, r);
        assert!(fields.iter().all(|f| members.contains(f)));
        if count > 0 {
            let uniq: HashSet<_> = fields.iter().collect();
            assert_eq!(uniq.len(), expected, "count {} must be distinct", count);
        }
        let r = c.cmd(&["HRANDFIELD", key, &count.to_string(), "WITHVALUES"]);
        let flat = flatten(&r);
        let header = String::from_utf8_lossy(&flat[0]).to_string();
        if resp3 {
            assert_eq!(header, format!("*{}", expected));
            assert!(flat
                .iter()
                .skip(1)
                .filter(|e| e[0] == b'*')
                .all(|e| e == b"*2"));
        } else {
            assert_eq!(header, format!("*{}", 2 * expected));
        }
        let pv = bulks(&r);
        assert_eq!(pv.len(), 2 * expected);
        for p in pv.chunks(2) {
            assert_eq!(p[1], format!("v{}", &p[0][1..]), "pair {:?}", p);
        }
    }
    let one = bulks(&c.cmd(&["HRANDFIELD", key]));
    assert_eq!(one.len(), 1);
    assert!(members.contains(&one[0]));
}

#[test]
fn hrandfield_counts_both_encodings() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    c.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "16"]);
    for (key, size) in [("small", 10usize), ("big", 100)] {
        let mut args = vec!["HSET".to_string(), key.to_string()];
        for i in 0..size {
            args.push(format!("f{}", i));
            args.push(format!("v{}", i));
        }
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        c.cmd(&a);
    }
    assert_eq!(
        bulks(&c.cmd(&["OBJECT", "ENCODING", "small"])),
        ["listpack"]
    );
    assert_eq!(bulks(&c.cmd(&["OBJECT", "ENCODING", "big"])), ["hashtable"]);
    for resp3 in [false, true] {
        c.cmd(&["HELLO", if resp3 { "3" } else { "2" }]);
        check_hash(&mut c, "small", 10, resp3);
        check_hash(&mut c, "big", 100, resp3);
    }
    srv.assert_no_panic();
}
