//! RDB files written by SAVE hold the same per-key bytes as Redis 7.0's
//! for the same dataset (LZF output included; only the key order and the
//! aux fields differ), and long strings keep Redis's encodings while
//! being stored in one allocation.

use crate::common;
use common::{RawConn, RealRedis, Server};
use std::path::Path;

const DEBUG: &[&str] = &["--enable-debug-command", "yes"];

/// rdbLoadLen: (value, is_special_encoding, next offset).
fn rdb_len(b: &[u8], i: usize) -> (u64, bool, usize) {
    match b[i] >> 6 {
        0 => ((b[i] & 0x3f) as u64, false, i + 1),
        1 => (
            (((b[i] & 0x3f) as u64) << 8) | b[i + 1] as u64,
            false,
            i + 2,
        ),
        2 if b[i] == 0x80 => {
            let v = u32::from_be_bytes(b[i + 1..i + 5].try_into().unwrap());
            (v as u64, false, i + 5)
        }
        2 => {
            let v = u64::from_be_bytes(b[i + 1..i + 9].try_into().unwrap());
            (v, false, i + 9)
        }
        _ => ((b[i] & 0x3f) as u64, true, i + 1),
    }
}

/// Skips one RDB string (plain, integer or LZF encoded).
fn rdb_str(b: &[u8], i: usize) -> usize {
    let (n, enc, i) = rdb_len(b, i);
    if !enc {
        return i + n as usize;
    }
    match n {
        0 => i + 1,
        1 => i + 2,
        2 => i + 4,
        3 => {
            let (clen, _, i) = rdb_len(b, i);
            let (_, _, i) = rdb_len(b, i);
            i + clen as usize
        }
        e => panic!("unknown string encoding {e}"),
    }
}

/// The per-key records (expire + type + key + value bytes) of an RDB file
/// holding strings and single-blob encodings (listpacks, intsets), sorted.
fn records(path: &Path) -> Vec<Vec<u8>> {
    let b = std::fs::read(path).expect("read dump.rdb");
    assert_eq!(&b[..9], b"REDIS0010");
    let mut i = 9;
    let mut recs = Vec::new();
    loop {
        match b[i] {
            0xfa => i = rdb_str(&b, rdb_str(&b, i + 1)),
            0xfe => i = rdb_len(&b, i + 1).2,
            0xfb => i = rdb_len(&b, rdb_len(&b, i + 1).2).2,
            0xff => break,
            _ => {
                let start = i;
                if b[i] == 0xfc {
                    i += 9;
                }
                let t = b[i];
                assert!(matches!(t, 0 | 11 | 16 | 17), "type {t}");
                i = rdb_str(&b, rdb_str(&b, i + 1));
                recs.push(b[start..i].to_vec());
            }
        }
    }
    recs.sort();
    recs
}

fn fill(c: &mut RawConn) {
    for args in [
        ["3000", "key", "100"],
        ["2000", "small", "0"],
        ["500", "big", "5000"],
    ] {
        let mut cmd = vec!["DEBUG", "POPULATE"];
        cmd.extend(args);
        assert_eq!(c.cmd(&cmd), b"+OK\r\n");
    }
    let words = ["redis ", "ferrokv ", "snapshot ", "key:", "value ", "1234 "];
    for i in 0..300usize {
        let text: String = (0..(20 + i * 7))
            .map(|j| words[(j * 7 + i * 3 + j / 5) % words.len()])
            .collect();
        c.cmd(&["SET", &format!("text:{i}"), &text]);
        let fields: Vec<String> = (0..(5 + i % 40))
            .flat_map(|j| [format!("field:{j}"), format!("value:{}", j * i)])
            .collect();
        let mut args = vec!["HSET".to_string(), format!("hash:{i}")];
        args.extend(fields);
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        c.cmd(&args);
        c.cmd(&["ZADD", &format!("zset:{i}"), "1", "one", "2", &text[..20]]);
        c.cmd(&["SADD", &format!("iset:{i}"), "1", "2", &i.to_string()]);
    }
}

#[test]
fn save_writes_the_same_records_as_redis() {
    let fdir = common::temp_dir("lzf-f");
    let rdir = common::temp_dir("lzf-r");
    let f = Server::start(&[&["--dir", fdir.to_str().unwrap()], DEBUG].concat());
    let r = RealRedis::start_with(&[&["--dir", rdir.to_str().unwrap()], DEBUG].concat());
    for srv in [&f, &r] {
        let mut c = srv.conn();
        fill(&mut c);
        assert_eq!(c.cmd(&["SAVE"]), b"+OK\r\n");
    }
    let ours = records(&fdir.join("dump.rdb"));
    let theirs = records(&rdir.join("dump.rdb"));
    assert_eq!(ours.len(), 3000 + 2000 + 500 + 4 * 300);
    assert_eq!(ours.len(), theirs.len());
    let differ = ours.iter().zip(&theirs).filter(|(a, b)| a != b).count();
    assert_eq!(differ, 0, "{differ} records differ from Redis's");
    f.assert_no_panic();
}

#[test]
fn long_strings_keep_redis_encodings() {
    let f = Server::start(DEBUG);
    let r = RealRedis::start_with(DEBUG);
    let mut fc = f.conn();
    let mut rc = r.conn();
    let v100 = "v".repeat(100);
    for c in [&mut fc, &mut rc] {
        c.cmd(&["SET", "long", &v100]);
        c.cmd(&["SET", "emb", &"e".repeat(44)]);
        c.cmd(&["SET", "edge", &"e".repeat(45)]);
        c.cmd(&["DEBUG", "POPULATE", "3", "pop", "100"]);
    }
    let cases: &[&[&str]] = &[
        &["OBJECT", "ENCODING", "long"],
        &["OBJECT", "ENCODING", "emb"],
        &["OBJECT", "ENCODING", "edge"],
        &["OBJECT", "ENCODING", "pop:1"],
        &["DEBUG", "SDSLEN", "long"],
        &["STRLEN", "pop:2"],
        &["GETRANGE", "long", "95", "200"],
        &["APPEND", "long", "tail"],
        &["OBJECT", "ENCODING", "long"],
        &["GET", "long"],
        &["SETRANGE", "pop:0", "3", "XY"],
        &["GETRANGE", "pop:0", "0", "12"],
        &["OBJECT", "ENCODING", "pop:0"],
    ];
    common::assert_same_replies(&mut fc, &mut rc, cases);
    f.assert_no_panic();
}
