//! DEBUG (Redis's debug.c): a single command with arity -2 that dispatches
//! on its first argument itself. It carries the PROTECTED flag:
//! `commands::execute` refuses it unless `enable-debug-command` allows it,
//! before authentication and ACLs (as Redis's processCommand does).
//!
//! DIGEST follows Redis's xorDigest/mixDigest scheme exactly, so a string
//! dataset has the same digest here as on a real Redis server.

use super::reply_status_lines as reply_help;
use super::{spec, Args, CommandSpec, Group, ADMIN, LOADING, NOKEYS, NOSCRIPT, PROTECTED, STALE};
use crate::client::Client;
use crate::clock;
use crate::db::Db;
use crate::error::{self, CmdError, CmdResult};
use crate::object::{Obj, ObjType, Value};
use crate::server::Server;
use crate::util::num;

pub static COMMANDS: &[CommandSpec] = &[spec(
    "debug",
    -2,
    ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED,
    NOKEYS,
    Group::Server,
    "1.0.0",
    "A container for debugging commands.",
    debug,
)];

const HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "HELP",
    "    Prints this help.",
];

fn debug(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let sub = a.get(1).to_ascii_lowercase();
    let argc = a.len();
    match (sub.as_slice(), argc) {
        (b"help", 2) => reply_help(c, HELP),
        (b"sleep", 3) => {
            let secs = strtod_prefix(a.get(2));
            if secs > 0.0 && secs.is_finite() {
                // Blocks the whole server, exactly like Redis's nanosleep.
                std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(1e9)));
            }
            c.out.ok();
        }
        (b"set-disable-deny-scripts", 3) => {
            srv.scripting.allow_noscript = atoi(a.get(2)) != 0;
            c.out.ok();
        }
        (b"set-active-expire", 3) => {
            srv.active_expire_enabled = atoi(a.get(2)) != 0;
            c.out.ok();
        }
        (b"object", 3) => object(srv, c, a.get(2))?,
        (b"digest", 2) => {
            let d = dataset_digest(srv);
            c.out.simple(&hex(&d));
        }
        (b"digest-value", _) => {
            c.out.array(argc - 2);
            for i in 2..argc {
                let db = &srv.dbs[c.db];
                let mut d = [0u8; 20];
                if let Some(o) = db.dict.get(a.get(i)) {
                    xor_object_digest(db, a.get(i), &mut d, o);
                }
                c.out.simple(&hex(&d));
            }
        }
        (b"populate", 3..=5) => populate(srv, c, a)?,
        (b"protocol", 3) => protocol(c, a.get(2))?,
        (b"htstats", 3) => {
            let id = a.i64(2)?;
            if id < 0 || id >= srv.dbs.len() as i64 {
                return Err(CmdError::Static(error::DEBUG_OUT_OF_RANGE_DB));
            }
            let db = &srv.dbs[id as usize];
            let mut s = String::from("[Dictionary HT]\n");
            s.push_str(&db.dict.stats());
            s.push_str("[Expires HT]\n");
            s.push_str(&db.expires.stats());
            c.out.verbatim(s.as_bytes(), "txt");
        }
        (b"htstats-key", 3) => {
            // Strings are the only type so far, and they have no hash table.
            if srv.dbs[c.db].dict.get(a.get(2)).is_none() {
                return Err(CmdError::NoSuchKey);
            }
            return Err(CmdError::Static(error::DEBUG_NOT_HASH_TABLE));
        }
        (b"listpack", 3) => {
            if srv.dbs[c.db].dict.get(a.get(2)).is_none() {
                return Err(CmdError::NoSuchKey);
            }
            return Err(CmdError::Static(error::DEBUG_NOT_LISTPACK));
        }
        (b"change-repl-id", 2) => {
            tracing::warn!("Changing replication IDs after receiving DEBUG change-repl-id");
            c.out.ok();
        }
        (b"quicklist-packed-threshold", 3) => {
            let ok = std::str::from_utf8(a.get(2))
                .ok()
                .and_then(crate::config::parse_memory)
                .is_some_and(|v| (0..=u32::MAX as i64).contains(&v));
            if !ok {
                return Err(CmdError::Static(error::DEBUG_QUICKLIST_THRESHOLD));
            }
            c.out.ok();
        }
        (b"loadaof", 2) => {
            crate::persist::aof_load::debug_loadaof(srv);
            c.out.ok();
        }
        (b"reload", _) => {
            let (mut merge, mut flush, mut save) = (false, true, true);
            for i in 2..argc {
                if a.is(i, "merge") {
                    merge = true;
                } else if a.is(i, "noflush") {
                    flush = false;
                } else if a.is(i, "nosave") {
                    save = false;
                } else {
                    return Err(CmdError::Static(error::DEBUG_RELOAD_OPTIONS));
                }
            }
            crate::persist::rdb_server::debug_reload(srv, merge, flush, save)?;
            c.out.ok();
        }
        (b"log", 3) => {
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(a.get(2)));
            c.out.ok();
        }
        (b"error", 3) => {
            // Sent verbatim as "-<string>", newlines turned into spaces.
            return Err(error::custom(
                String::from_utf8_lossy(a.get(2)).into_owned(),
            ));
        }
        _ => return Err(error::subcommand_syntax(a.get(1), "debug")),
    }
    Ok(())
}

/// C `atoi`: optional whitespace and sign, then digits; 0 if none.
fn atoi(b: &[u8]) -> i64 {
    let s = std::str::from_utf8(b).unwrap_or("").trim_start();
    let end = s
        .char_indices()
        .find(|&(i, ch)| !(ch.is_ascii_digit() || (i == 0 && (ch == '-' || ch == '+'))))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse::<i64>().unwrap_or(0)
}

/// C `strtod` on the longest numeric prefix; 0 if there is none.
fn strtod_prefix(b: &[u8]) -> f64 {
    let s = std::str::from_utf8(b).unwrap_or("").trim_start();
    (1..=s.len())
        .rev()
        .filter(|&i| s.is_char_boundary(i))
        .find_map(|i| s[..i].parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Bytes `rdbSaveLen` uses for a length.
fn rdb_len_size(n: u64) -> usize {
    if n < 1 << 6 {
        1
    } else if n < 1 << 14 {
        2
    } else if n <= u32::MAX as u64 {
        5
    } else {
        9
    }
}

/// Bytes of rdbEncodeInteger's special encoding, if `v` fits 32 bits.
fn rdb_int_size(v: i64) -> Option<usize> {
    if (-(1 << 7)..(1 << 7)).contains(&v) {
        Some(2)
    } else if (-(1 << 15)..(1 << 15)).contains(&v) {
        Some(3)
    } else if (-(1i64 << 31)..(1i64 << 31)).contains(&v) {
        Some(5)
    } else {
        None
    }
}

/// rdbSavedObjectLen for a string, without LZF compression (strings over
/// 20 bytes that Redis would compress report their plain length).
fn serialized_len(v: &Value) -> usize {
    let mut tmp = [0u8; 20];
    let b = v.str_bytes(&mut tmp).unwrap_or(&[]);
    if b.len() <= 11 {
        if let Some(n) = num::parse_i64(b) {
            let mut t2 = [0u8; 20];
            if num::format_i64(n, &mut t2) == b {
                if let Some(sz) = rdb_int_size(n) {
                    return sz;
                }
            }
        }
    }
    rdb_len_size(b.len() as u64) + b.len()
}

fn object(srv: &mut Server, c: &mut Client, key: &[u8]) -> CmdResult {
    // Like Redis, no lazy expiry: DEBUG sees logically expired keys too.
    let Some(o) = srv.dbs[c.db].dict.get(key) else {
        return Err(CmdError::NoSuchKey);
    };
    let line = format!(
        "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        o as *const Obj,
        o.value.encoding_name(),
        serialized_len(&o.value),
        o.lru,
        clock::idle_secs(o.lru)
    );
    c.out.simple(&line);
    Ok(())
}

/// DEBUG POPULATE count [prefix] [size]: keys `prefix:N` with values
/// `value:N` (zero-padded or cut to `size`), skipping existing keys.
fn populate(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let positive = |i: usize| {
        num::parse_i64(a.get(i))
            .filter(|&v| v >= 0)
            .ok_or(CmdError::Static(error::NOT_IN_RANGE_MAX))
    };
    let count = positive(2)?;
    let valsize = if a.len() == 5 {
        positive(4)? as usize
    } else {
        0
    };
    let prefix: &[u8] = if a.len() >= 4 { a.get(3) } else { b"key" };
    let db = &mut srv.dbs[c.db];
    db.dict.expand(db.dict.len() + count.min(1 << 24) as usize);
    let mut key = Vec::with_capacity(prefix.len() + 21);
    let mut val = Vec::with_capacity(valsize.max(26));
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        num::write_i64(&mut key, j);
        // Redis builds the name with snprintf into a 128-byte buffer.
        key.truncate(127);
        if db.exists(&key) {
            continue;
        }
        val.clear();
        val.extend_from_slice(b"value:");
        num::write_i64(&mut val, j);
        if valsize > 0 {
            val.resize(valsize, 0);
        }
        db.add(&key, Value::embstr(&val));
    }
    c.out.ok();
    Ok(())
}

/// DEBUG PROTOCOL <type>: the RESP3 test replies of Redis 7.0.
fn protocol(c: &mut Client, name: &[u8]) -> CmdResult {
    let n = name.to_ascii_lowercase();
    match n.as_slice() {
        b"string" => c.out.bulk(b"Hello World"),
        b"integer" => c.out.int(12345),
        // Redis's literal test value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        b"double" => c.out.double(3.141),
        b"bignum" => c.out.big_number(b"1234567999999999999999999999999999999"),
        b"null" => c.out.null(),
        b"array" | b"set" => {
            if n == b"set" {
                c.out.set(3);
            } else {
                c.out.array(3);
            }
            for j in 0..3 {
                c.out.int(j);
            }
        }
        b"map" => {
            c.out.map(3);
            for j in 0..3 {
                c.out.int(j);
                c.out.boolean(j == 1);
            }
        }
        b"attrib" => {
            if c.out.resp3() {
                c.out.raw(b"|1\r\n");
                c.out.bulk(b"key-popularity");
                c.out.array(2);
                c.out.bulk(b"key:123");
                c.out.int(90);
            }
            c.out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !c.out.resp3() {
                return Err(CmdError::Static(error::RESP2_NOT_SUPPORTED));
            }
            c.out.push(2);
            c.out.bulk(b"server-cpu-usage");
            c.out.int(42);
            c.out.bulk(b"Some real reply following the push reply");
        }
        b"true" => c.out.boolean(true),
        b"false" => c.out.boolean(false),
        b"verbatim" => c.out.verbatim(b"This is a verbatim\nstring", "txt"),
        _ => return Err(CmdError::Static(error::DEBUG_PROTOCOL_TYPE)),
    }
    Ok(())
}

// ---- DIGEST -----------------------------------------------------------------

fn sha1(b: &[u8]) -> [u8; 20] {
    sha1_smol::Sha1::from(b).digest().bytes()
}

/// Redis's xorDigest: digest ^= sha1(data).
pub fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let h = sha1(data);
    for (d, x) in digest.iter_mut().zip(h) {
        *d ^= x;
    }
}

/// Redis's mixDigest: digest = sha1(digest ^ sha1(data)); order-dependent.
pub fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(digest);
}

/// Redis's OBJ_* type numbers, hashed big-endian into each value digest.
fn type_code(t: ObjType) -> u32 {
    match t {
        ObjType::String => 0,
        ObjType::List => 1,
        ObjType::Set => 2,
        ObjType::ZSet => 3,
        ObjType::Hash => 4,
        ObjType::Stream => 6,
    }
}

/// Redis's xorObjectDigest: type, value and whether the key has a TTL.
fn xor_object_digest(db: &Db, key: &[u8], digest: &mut [u8; 20], o: &Obj) {
    mix_digest(digest, &type_code(o.value.obj_type()).to_be_bytes());
    let mut tmp = [0u8; 20];
    if let Some(b) = o.value.str_bytes(&mut tmp) {
        mix_digest(digest, b);
    } else {
        o.value.collection_digest(digest);
    }
    if db.get_expire(key).is_some() {
        xor_digest(digest, b"!!expire!!");
    }
}

/// Redis's computeDatasetDigest: all zeros for an empty dataset.
pub fn dataset_digest(srv: &Server) -> [u8; 20] {
    let mut fin = [0u8; 20];
    for (j, db) in srv.dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        mix_digest(&mut fin, &(j as u32).to_be_bytes());
        for (k, o) in db.dict.iter() {
            let key: &[u8] = k.as_ref();
            let mut d = [0u8; 20];
            mix_digest(&mut d, key);
            xor_object_digest(db, key, &mut d, o);
            xor_digest(&mut fin, &d);
        }
    }
    fin
}

fn hex(d: &[u8; 20]) -> String {
    let mut s = String::with_capacity(40);
    for b in d {
        s.push_str(&format!("{:02x}", b));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_parsing() {
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b" 12abc"), 12);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(strtod_prefix(b"0.5"), 0.5);
        assert_eq!(strtod_prefix(b"1.5s"), 1.5);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
    }

    #[test]
    fn serialized_lengths_match_redis() {
        assert_eq!(serialized_len(&Value::from_bytes(b"bar")), 4);
        assert_eq!(serialized_len(&Value::from_bytes(b"12345")), 3);
        assert_eq!(serialized_len(&Value::from_bytes(b"1")), 2);
        assert_eq!(serialized_len(&Value::from_bytes(b"100000")), 5);
        assert_eq!(serialized_len(&Value::from_bytes(b"12345678901")), 12);
        assert_eq!(serialized_len(&Value::embstr(&[b'x'; 64])), 66);
    }

    #[test]
    fn digest_primitives() {
        let mut d = [0u8; 20];
        xor_digest(&mut d, b"abc");
        assert_eq!(hex(&d), "a9993e364706816aba3e25717850c26c9cd0d89d");
        xor_digest(&mut d, b"abc");
        assert_eq!(d, [0u8; 20]);
    }
}
