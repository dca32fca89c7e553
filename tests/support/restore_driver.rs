//! Runs fuzzed DUMP payloads through the real RESTORE command
//! (`commands::execute` on an in-process server, tests/support/inproc.rs),
//! then exercises what was restored.
//!
//! Input layout: byte 0 picks the server (bit 0: tiny listpack/intset/
//! quicklist limits so conversions happen; bit 1: an LFU maxmemory-policy),
//! whether the key already exists (bit 2), a TTL (bit 3), an older RDB
//! version in the footer (bit 4) and `sanitize-dump-payload yes` (bit 5;
//! otherwise `no`, where a payload failing only the deep checks is kept as
//! an unreadable value); byte 1 the RESTORE options (REPLACE, ABSTTL,
//! IDLETIME, FREQ); the rest is the payload body, to which the harness
//! appends a valid footer (RDB version + CRC64) so the decoders are
//! reached.
//!
//! Checks: no panic; a failed RESTORE leaves an existing key untouched; a
//! restored key answers every read of its type (and a few writes) with
//! well-formed replies; it DUMPs, that DUMP RESTOREs to an equal value
//! (same content and DEBUG DIGEST-VALUE; byte-identical DUMP unless the
//! encoding is an unordered hashtable) and DUMPs again.

#![allow(dead_code)]

use crate::inproc::{InProc, Reply};
use ferrokv::config::Config;
use ferrokv::persist::rdb;

pub struct RestoreHarness {
    servers: Vec<InProc>,
}

impl Default for RestoreHarness {
    fn default() -> Self {
        Self::new()
    }
}

/// Appends the DUMP footer: RDB version (little endian) and CRC64.
pub fn with_footer(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = rdb::CRC64.checksum(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

fn server(variant: usize) -> InProc {
    let mut config = Config::new();
    let mut set = |k: &str, v: &str| {
        config
            .set(k, v, true)
            .unwrap_or_else(|e| panic!("{k}: {e:?}"))
    };
    set("enable-debug-command", "yes");
    set("loglevel", "warning");
    set("proto-max-bulk-len", "1mb");
    // FLUSHALL with save points would write dump.rdb every run.
    set("save", "");
    if variant & 1 != 0 {
        set("hash-max-listpack-entries", "2");
        set("hash-max-listpack-value", "4");
        set("set-max-intset-entries", "2");
        set("zset-max-listpack-entries", "2");
        set("zset-max-listpack-value", "4");
        set("list-max-listpack-size", "2");
        set("list-compress-depth", "1");
    }
    if variant & 2 != 0 {
        set("maxmemory-policy", "allkeys-lfu");
    }
    let mut p = InProc::new(config);
    p.c.deny_blocking = true;
    p
}

fn sorted_pairs(r: Reply) -> Reply {
    match r {
        Reply::Array(Some(items)) => {
            let mut pairs: Vec<Vec<Reply>> = items.chunks(2).map(|c| c.to_vec()).collect();
            // By the bytes: two members that differ only in bytes that are not
            // UTF-8 print alike, and a Debug sort kept them in dict order.
            pairs.sort();
            Reply::Array(Some(pairs.into_iter().flatten().collect()))
        }
        r => r,
    }
}

fn sorted(r: Reply) -> Reply {
    match r {
        Reply::Array(Some(mut items)) => {
            items.sort();
            Reply::Array(Some(items))
        }
        r => r,
    }
}

impl RestoreHarness {
    pub fn new() -> RestoreHarness {
        RestoreHarness {
            servers: (0..4).map(server).collect(),
        }
    }

    pub fn run_input(&mut self, data: &[u8]) {
        if data.len() < 2 {
            return;
        }
        let (flags, opts, body) = (data[0], data[1], &data[2..]);
        let version = if flags & 16 != 0 { 9 } else { rdb::RDB_VERSION };
        let payload = with_footer(body, version);
        self.run(flags, opts, &payload);
    }

    /// RESTOREs `payload` (footer included) as key "k".
    pub fn run(&mut self, flags: u8, opts: u8, payload: &[u8]) {
        let p = &mut self.servers[(flags & 3) as usize];
        assert!(!p.call_str(&["FLUSHALL"]).is_error());
        let sanitize = if flags & 32 != 0 { "yes" } else { "no" };
        assert!(p
            .call_str(&["CONFIG", "SET", "sanitize-dump-payload", sanitize])
            .is_ok());
        let existed = flags & 4 != 0;
        if existed {
            assert!(p.call_str(&["SET", "k", "old"]).is_ok());
        }
        let ttl: &[u8] = if flags & 8 != 0 { b"100000" } else { b"0" };
        let mut argv: Vec<&[u8]> = vec![b"RESTORE", b"k", ttl, payload];
        if opts & 1 != 0 {
            argv.push(b"REPLACE");
        }
        if opts & 2 != 0 {
            argv.push(b"ABSTTL");
        }
        if opts & 4 != 0 {
            argv.extend_from_slice(&[b"IDLETIME", b"1000"]);
        }
        if opts & 8 != 0 {
            argv.extend_from_slice(&[b"FREQ", b"7"]);
        }
        let r = p.call(&argv);
        if !r.is_ok() {
            assert!(r.is_error(), "RESTORE replied {r:?}");
            if existed {
                let v = p.call_str(&["GET", "k"]);
                assert_eq!(
                    v.bulk(),
                    Some(&b"old"[..]),
                    "failed RESTORE changed the key"
                );
            }
            return;
        }
        if p.call_str(&["EXISTS", "k"]) != Reply::Int(1) {
            return; // restored with a TTL already in the past
        }
        exercise(p, "k");
        round_trip(p);
        writes(p, "k");
        exercise(p, "k");
        // Whatever the writes made of it must still DUMP and RESTORE.
        if p.call_str(&["EXISTS", "k"]) == Reply::Int(1) {
            round_trip(p);
        }
    }
}

/// The type of `key` as TYPE reports it.
fn type_of(p: &mut InProc, key: &str) -> String {
    match p.call_str(&["TYPE", key]) {
        Reply::Status(s) => String::from_utf8_lossy(&s).into_owned(),
        r => panic!("TYPE replied {r:?}"),
    }
}

/// Reads everything of `key` through its type's commands (replies must be
/// well formed; errors such as WRONGTYPE are fine).
fn exercise(p: &mut InProc, key: &str) {
    for cmd in [
        &["OBJECT", "ENCODING", key][..],
        &["OBJECT", "FREQ", key],
        &["OBJECT", "IDLETIME", key],
        &["MEMORY", "USAGE", key],
        &["PTTL", key],
        &["DEBUG", "DIGEST-VALUE", key],
        &["DEBUG", "OBJECT", key],
        &["SORT", key, "ALPHA", "LIMIT", "0", "20"],
        &["SORT", key, "LIMIT", "0", "20"],
    ] {
        p.call_str(cmd);
    }
    let reads: &[&[&str]] = match type_of(p, key).as_str() {
        "string" => &[
            &["GET", key],
            &["STRLEN", key],
            &["GETRANGE", key, "-5", "-1"],
            &["BITCOUNT", key],
            &["BITPOS", key, "1"],
            &["PFCOUNT", key],
            &["PFDEBUG", "GETREG", key],
            &["LCS", key, key, "LEN"],
        ],
        "list" => &[
            &["LRANGE", key, "0", "-1"],
            &["LLEN", key],
            &["LINDEX", key, "0"],
            &["LINDEX", key, "-1"],
            &["LINDEX", key, "3"],
            &["LPOS", key, "a", "RANK", "-1"],
            &["LRANGE", key, "-3", "-2"],
        ],
        "hash" => &[
            &["HGETALL", key],
            &["HLEN", key],
            &["HKEYS", key],
            &["HRANDFIELD", key, "-5", "WITHVALUES"],
            &["HRANDFIELD", key, "3"],
            &["HSCAN", key, "0", "COUNT", "3"],
            &["HGET", key, "a"],
            &["HSTRLEN", key, "a"],
        ],
        "set" => &[
            &["SMEMBERS", key],
            &["SCARD", key],
            &["SRANDMEMBER", key, "-5"],
            &["SRANDMEMBER", key, "3"],
            &["SSCAN", key, "0"],
            &["SISMEMBER", key, "1"],
            &["SINTERCARD", "1", key],
            &["SDIFF", key, key],
        ],
        "zset" => &[
            &["ZRANGE", key, "0", "-1", "WITHSCORES"],
            &["ZCARD", key],
            &["ZRANGEBYSCORE", key, "-inf", "+inf", "WITHSCORES"],
            &["ZREVRANGEBYLEX", key, "+", "-"],
            &["ZRANDMEMBER", key, "-5", "WITHSCORES"],
            &["ZSCAN", key, "0"],
            &["ZRANK", key, "a"],
            &["ZCOUNT", key, "0", "1"],
            &["ZINTERCARD", "1", key],
        ],
        "stream" => &[
            &["XRANGE", key, "-", "+"],
            &["XREVRANGE", key, "+", "-", "COUNT", "3"],
            &["XLEN", key],
            &["XINFO", "STREAM", key],
            &["XINFO", "STREAM", key, "FULL"],
            &["XINFO", "GROUPS", key],
            &["XREAD", "COUNT", "5", "STREAMS", key, "0-0"],
        ],
        _ => &[],
    };
    for cmd in reads {
        p.call_str(cmd);
    }
    // Consumer groups: their PEL and consumers.
    if let Reply::Array(Some(groups)) = p.call_str(&["XINFO", "GROUPS", key]) {
        for g in groups {
            let Reply::Array(Some(fields)) = g else {
                continue;
            };
            let Some(name) = fields.get(1).and_then(|n| n.bulk()).map(|n| n.to_vec()) else {
                continue;
            };
            let name = String::from_utf8_lossy(&name).into_owned();
            p.call_str(&["XINFO", "CONSUMERS", key, &name]);
            p.call_str(&["XPENDING", key, &name]);
            p.call_str(&["XPENDING", key, &name, "-", "+", "10"]);
        }
    }
}

/// A few writes that make the value convert or shrink.
fn writes(p: &mut InProc, key: &str) {
    let cmds: &[&[&str]] = match type_of(p, key).as_str() {
        "string" => &[&["APPEND", key, "xy"], &["SETRANGE", key, "2", "z"]],
        "list" => &[
            &["RPUSH", key, "tail", "12345"],
            &["LPOP", key],
            &["LINSERT", key, "BEFORE", "tail", "mid"],
            &["LTRIM", key, "1", "-1"],
        ],
        "hash" => &[
            &["HSET", key, "newfield", "a-longer-value-than-four"],
            &["HDEL", key, "newfield"],
            &["HINCRBY", key, "n", "1"],
        ],
        "set" => &[
            &["SADD", key, "7", "not-an-int"],
            &["SREM", key, "7"],
            &["SPOP", key],
        ],
        "zset" => &[
            &["ZADD", key, "1.5", "a-longer-member"],
            &["ZINCRBY", key, "2", "a-longer-member"],
            &["ZPOPMIN", key],
            &["ZREMRANGEBYRANK", key, "0", "0"],
        ],
        "stream" => &[
            &["XADD", key, "*", "f", "v"],
            &["XTRIM", key, "MAXLEN", "2"],
            &["XDEL", key, "0-1"],
            &["XSETID", key, "18446744073709551615-18446744073709551615"],
        ],
        _ => &[],
    };
    for cmd in cmds {
        p.call_str(cmd);
    }
}

/// Content of `key` in an order-independent form.
fn content(p: &mut InProc, key: &str) -> Vec<Reply> {
    let t = type_of(p, key);
    let mut out = vec![Reply::Status(t.clone().into_bytes())];
    match t.as_str() {
        "string" => out.push(p.call_str(&["GET", key])),
        "list" => out.push(p.call_str(&["LRANGE", key, "0", "-1"])),
        "hash" => out.push(sorted_pairs(p.call_str(&["HGETALL", key]))),
        "set" => out.push(sorted(p.call_str(&["SMEMBERS", key]))),
        "zset" => out.push(p.call_str(&["ZRANGE", key, "0", "-1", "WITHSCORES"])),
        "stream" => {
            out.push(p.call_str(&["XINFO", "STREAM", key, "FULL"]));
        }
        _ => {}
    }
    out
}

/// DUMP k, RESTORE it as k2, compare, DUMP k2, RESTORE that as k3.
fn round_trip(p: &mut InProc) {
    p.call_str(&["DEL", "k2", "k3"]);
    let d1 = match p.call_str(&["DUMP", "k"]) {
        Reply::Bulk(Some(d)) => d,
        r => panic!("DUMP of a restored key replied {r:?}"),
    };
    let r = p.call(&[b"RESTORE", b"k2", b"0", &d1]);
    assert!(r.is_ok(), "RESTORE of our own DUMP replied {r:?}");
    assert_eq!(
        content(p, "k"),
        content(p, "k2"),
        "DUMP/RESTORE changed the value"
    );
    if p.call_str(&["PTTL", "k"]) == Reply::Int(-1) {
        assert_eq!(
            p.call_str(&["DEBUG", "DIGEST-VALUE", "k"]),
            p.call_str(&["DEBUG", "DIGEST-VALUE", "k2"]),
            "digest changed by DUMP/RESTORE"
        );
    }
    let d2 = match p.call_str(&["DUMP", "k2"]) {
        Reply::Bulk(Some(d)) => d,
        r => panic!("DUMP replied {r:?}"),
    };
    // Loading may pick another encoding than the original had (a
    // hashtable set of integers loads as an intset...), so bytes are only
    // compared when both keys have the same, ordered, encoding.
    let enc1 = p.call_str(&["OBJECT", "ENCODING", "k"]);
    let enc2 = p.call_str(&["OBJECT", "ENCODING", "k2"]);
    let ordered = enc2 != Reply::Bulk(Some(b"hashtable".to_vec()));
    if ordered && enc1 == enc2 {
        assert!(
            d1 == d2,
            "DUMP of a RESTOREd DUMP differs (encoding {enc2:?}):\n{}\n{}",
            String::from_utf8_lossy(&d1).escape_debug(),
            String::from_utf8_lossy(&d2).escape_debug()
        );
    }
    let r = p.call(&[b"RESTORE", b"k3", b"0", &d2]);
    assert!(r.is_ok(), "RESTORE of our own DUMP replied {r:?}");
    // A DUMP of a key loaded from a DUMP is a fixed point.
    let d3 = p.call_str(&["DUMP", "k3"]);
    if ordered {
        assert_eq!(
            d3.bulk(),
            Some(&d2[..]),
            "DUMP is not a fixed point ({enc2:?})"
        );
    }
    assert_eq!(content(p, "k2"), content(p, "k3"));
}
