//! RDB decoding (Redis 7.0's rdbLoadRio / rdbLoadObject): every object
//! type 7.0 reads, the older ziplist/zipmap encodings converted through
//! `rdb_legacy`, Redis's encoding conversions on load, CRC verification,
//! and the DUMP payload decoder RESTORE uses. Corrupt input never panics:
//! every read is bounds-checked and every blob validated before use.
//! `sanitize-dump-payload` decides what a failed deep check means: with
//! deep sanitization (and for what Redis always checks) an error with
//! Redis's reason text; without it the value is kept as its bytes
//! (`ValueRef::Corrupt`, see `deep_fail`).

use crate::ds::dict::Dict;
use crate::ds::intset::Intset;
use crate::ds::listpack::{Listpack, LpValue};
use crate::ds::sds::Sds;
use crate::object::{CorruptValue, Obj, ObjType, Value};
use crate::persist::lzf;
use crate::persist::rdb::*;
use crate::persist::rdb_legacy;
use crate::server::Server;
use crate::types::hash::HashValue;
use crate::types::list::{End, ListValue};
use crate::types::set::SetValue;
use crate::types::stream::{StreamId, StreamValue};
use crate::types::stream_groups::{Group as CGroup, Nack};
use crate::types::zset::ZSetValue;
use std::io::Read;
use tracing::{info, warn};

/// A corrupt-data error with Redis's wording.
pub fn corrupt<T>(msg: impl Into<String>) -> Result<T, LoadError> {
    Err(LoadError::Corrupt(msg.into()))
}

/// rdbReportReadError's text for a file that ends too early.
pub const UNEXPECTED_EOF: &str = "Unexpected EOF reading RDB file";

/// The reader: tracks the CRC-64 of everything consumed.
pub struct Rd<R: Read> {
    r: R,
    digest: crate::persist::rdb::Crc64Digest,
    pub pos: u64,
    /// Set (to what was found) when a value passed Redis's shallow checks
    /// but failed a deep one while deep checks were off (`Limits::deep`).
    pub tainted: Option<String>,
    /// When set, every byte consumed is appended (the raw body of a value
    /// that may have to be kept as bytes).
    capture: Option<Vec<u8>>,
}

/// A length, or a special string encoding (RDB_ENCVAL).
enum Len {
    Len(u64),
    Enc(u8),
}

impl<R: Read> Rd<R> {
    pub fn new(r: R) -> Self {
        Rd {
            r,
            digest: crate::persist::rdb::Crc64Digest::new(),
            pos: 0,
            tainted: None,
            capture: None,
        }
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), LoadError> {
        match self.r.read_exact(buf) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return corrupt(UNEXPECTED_EOF)
            }
            Err(e) => return Err(LoadError::Io(e)),
        }
        self.digest.update(buf);
        self.pos += buf.len() as u64;
        if let Some(c) = &mut self.capture {
            c.extend_from_slice(buf);
        }
        Ok(())
    }

    pub fn u8(&mut self) -> Result<u8, LoadError> {
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N], LoadError> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    fn bytes(&mut self, n: u64) -> Result<Vec<u8>, LoadError> {
        let mut v = Vec::with_capacity((n as usize).min(1 << 20));
        let got = (&mut self.r).take(n).read_to_end(&mut v)?;
        if got as u64 != n {
            return corrupt(UNEXPECTED_EOF);
        }
        self.digest.update(&v);
        self.pos += n;
        if let Some(c) = &mut self.capture {
            c.extend_from_slice(&v);
        }
        Ok(v)
    }

    fn len_or_enc(&mut self) -> Result<Len, LoadError> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => Len::Len((first & 0x3f) as u64),
            1 => Len::Len((((first & 0x3f) as u64) << 8) | self.u8()? as u64),
            2 => match first {
                0x80 => Len::Len(u32::from_be_bytes(self.arr()?) as u64),
                0x81 => Len::Len(u64::from_be_bytes(self.arr()?)),
                _ => return corrupt(format!("Unknown length encoding {} in rdbLoadLen()", first)),
            },
            _ => Len::Enc(first & 0x3f),
        })
    }

    /// `rdbLoadLen`.
    pub fn load_len(&mut self) -> Result<u64, LoadError> {
        match self.len_or_enc()? {
            Len::Len(n) => Ok(n),
            Len::Enc(_) => corrupt("Unexpected string encoding where a length was expected"),
        }
    }

    /// `rdbGenericLoadStringObject` as plain bytes.
    pub fn string(&mut self) -> Result<Vec<u8>, LoadError> {
        match self.len_or_enc()? {
            Len::Len(n) => self.bytes(n),
            Len::Enc(e) => {
                let v: i64 = match e {
                    ENC_INT8 => self.u8()? as i8 as i64,
                    ENC_INT16 => i16::from_le_bytes(self.arr()?) as i64,
                    ENC_INT32 => i32::from_le_bytes(self.arr()?) as i64,
                    ENC_LZF => {
                        let clen = self.load_len()?;
                        let len = self.load_len()?;
                        let c = self.bytes(clen)?;
                        if len > 1 << 32 {
                            return corrupt("Invalid LZF compressed string");
                        }
                        return lzf::decompress(&c, len as usize)
                            .map_or_else(|| corrupt("Invalid LZF compressed string"), Ok);
                    }
                    _ => return corrupt(format!("Unknown RDB string encoding type {}", e)),
                };
                let mut tmp = [0u8; 20];
                Ok(crate::util::num::format_i64(v, &mut tmp).to_vec())
            }
        }
    }

    /// A string value as Redis's tryObjectEncoding leaves it.
    fn string_value(&mut self) -> Result<Value, LoadError> {
        Ok(Value::from_bytes(&self.string()?))
    }

    fn binary_double(&mut self) -> Result<f64, LoadError> {
        Ok(f64::from_le_bytes(self.arr()?))
    }

    /// `rdbLoadDoubleValue`: the old textual score encoding.
    fn text_double(&mut self) -> Result<f64, LoadError> {
        let n = self.u8()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let b = self.bytes(n as u64)?;
                parse_score(&b).map_or_else(|| corrupt("Invalid double value"), Ok)
            }
        }
    }

    fn checksum(&self) -> u64 {
        self.digest.clone().finalize()
    }
}

/// strtod-like parse of a stored score (integers, decimals, inf).
pub fn parse_score(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok(),
    }
}

/// The thresholds loading converts encodings by (from the config).
#[derive(Clone, Copy)]
pub struct Limits {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub set_intset: usize,
    pub zset_entries: usize,
    pub zset_value: usize,
    pub list_fill: i32,
    pub list_depth: i32,
    /// Deep integrity checks (sanitize-dump-payload): when off, a value
    /// that only fails them taints the reader instead of failing the load.
    pub deep: bool,
}

impl Limits {
    pub fn from_server(srv: &Server) -> Limits {
        let c = &srv.config;
        Limits {
            hash_entries: c.hash_max_listpack_entries,
            hash_value: c.hash_max_listpack_value,
            set_intset: c.set_max_intset_entries,
            zset_entries: c.zset_max_listpack_entries,
            zset_value: c.zset_max_listpack_value,
            list_fill: c.list_max_listpack_size,
            list_depth: c.list_compress_depth,
            // Loading skips deep checks unless sanitize-dump-payload is
            // yes (`clients` skips them while loading, as Redis does).
            deep: c.sanitize_dump_payload == crate::config::SanitizeDumpPayload::Yes,
        }
    }
}

fn is_object_type(t: u8) -> bool {
    matches!(t, 0..=7 | 9..=19)
}

/// Loads a whole RDB stream into `srv` (rdbLoadRio).
pub fn load<R: Read>(srv: &mut Server, r: R, is_replica: bool) -> Result<LoadInfo, LoadError> {
    load_opts(srv, r, is_replica, false)
}

/// DEBUG RELOAD MERGE (RDBFLAGS_ALLOW_DUP): keys and libraries in the
/// file replace existing ones instead of failing the load.
pub fn load_merge<R: Read>(srv: &mut Server, r: R) -> Result<LoadInfo, LoadError> {
    load_opts(srv, r, false, true)
}

fn load_opts<R: Read>(
    srv: &mut Server,
    r: R,
    is_replica: bool,
    allow_dup: bool,
) -> Result<LoadInfo, LoadError> {
    let mut rd = Rd::new(r);
    let magic: [u8; 9] = rd.arr()?;
    if &magic[..5] != b"REDIS" {
        return corrupt("Wrong signature trying to load DB from file");
    }
    let ver = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(0);
    if ver < 1 || ver > RDB_VERSION as u32 {
        return corrupt(format!("Can't handle RDB format version {}", ver));
    }
    let lim = Limits::from_server(srv);
    let mut info = LoadInfo::default();
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    let mut idle: Option<u64> = None;
    let mut freq: Option<u8> = None;
    let now = crate::clock::wall_ms();
    let lru_now = crate::clock::lru_clock();
    let lfu = srv.config.maxmemory_policy.is_lfu();
    let key_load_delay = srv.config.key_load_delay;
    let events_every = srv.config.loading_process_events_interval_bytes.max(1) as u64;
    let mut events_at = events_every;
    loop {
        // rdbLoadProgressCallback: a startup load serves clients every
        // loading-process-events-interval-bytes.
        if rd.pos >= events_at {
            events_at = (rd.pos / events_every + 1) * events_every;
            srv.rdb.loading_loaded_bytes = rd.pos;
            if srv.loading_events {
                if let Some(f) = srv.process_events_while_loading {
                    f(srv);
                }
            }
        }
        let t = rd.u8()?;
        match t {
            OPCODE_EXPIRETIME => {
                expire = Some(i32::from_le_bytes(rd.arr()?) as i64 * 1000);
                continue;
            }
            OPCODE_EXPIRETIME_MS => {
                expire = Some(i64::from_le_bytes(rd.arr()?));
                continue;
            }
            OPCODE_FREQ => {
                freq = Some(rd.u8()?);
                continue;
            }
            OPCODE_IDLE => {
                idle = Some(rd.load_len()?);
                continue;
            }
            OPCODE_EOF => break,
            OPCODE_SELECTDB => {
                let id = rd.load_len()?;
                if id >= srv.dbs.len() as u64 {
                    return corrupt(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting\n",
                        srv.dbs.len()
                    ));
                }
                db = id as usize;
                continue;
            }
            OPCODE_RESIZEDB => {
                let n = rd.load_len()?;
                let _expires = rd.load_len()?;
                srv.dbs[db].dict.expand((n as usize).min(1 << 20));
                continue;
            }
            OPCODE_AUX => {
                let k = rd.string()?;
                let v = rd.string()?;
                aux_field(&k, &v, &mut info, now);
                continue;
            }
            OPCODE_MODULE_AUX => {
                let id = rd.load_len()?;
                return corrupt(format!(
                    "The RDB file contains AUX module data I can't load: no matching module '{}'",
                    module_name(id)
                ));
            }
            OPCODE_FUNCTION_PRE_GA => return corrupt("Pre-release function format not supported."),
            OPCODE_FUNCTION2 => {
                let code = rd.string()?;
                if let Err(e) = srv.scripting.functions.load(&code, allow_dup, 0) {
                    return corrupt(format!("Failed loading library, {}", e.message()));
                }
                continue;
            }
            _ => {}
        }
        if !is_object_type(t) {
            return corrupt(format!("Unknown RDB encoding type {}", t));
        }
        let key = rd.string()?;
        let at = rd.pos;
        if !lim.deep && can_taint(t) {
            rd.capture = Some(Vec::new());
        }
        let value = load_object(&mut rd, t, &lim).inspect_err(|e| {
            if let LoadError::Corrupt(msg) = e {
                srv.rdb.load_error = Some(ErrorContext {
                    offset: at,
                    key: key.to_vec(),
                    rdb_type: t,
                    msg: msg.to_string(),
                });
            }
        })?;
        let body = rd.capture.take();
        let value = match (rd.tainted.take(), body) {
            (Some(reason), Some(body)) => {
                warn!(
                    "Key '{}' failed the deep integrity check ({}); kept, but it cannot be read.",
                    String::from_utf8_lossy(&key),
                    reason
                );
                Some(corrupt_value(t, body, reason))
            }
            (Some(reason), None) => return corrupt(reason),
            (None, _) => value,
        };
        let (exp, idl, frq) = (expire.take(), idle.take(), freq.take());
        let Some(value) = value else {
            warn!(
                "rdbLoadObject skipping empty key: {}",
                String::from_utf8_lossy(&key)
            );
            info.empty_keys_skipped += 1;
            continue;
        };
        if !is_replica && !info.aof_base && exp.is_some_and(|e| e < now) {
            info.keys_expired += 1;
            if srv.rdb.load_feeds_repl {
                let del: &[u8] = if srv.config.lazyfree_lazy_expire {
                    b"UNLINK"
                } else {
                    b"DEL"
                };
                let mut cmd = Vec::with_capacity(key.len() + 32);
                crate::propagate::encode_command(&mut cmd, &[del, &key]);
                crate::replication::feed(srv, db, &cmd);
            }
            continue;
        }
        let d = &mut srv.dbs[db];
        if allow_dup {
            d.remove(&key);
        } else if d.dict.contains_key(&key) {
            return corrupt(format!(
                "RDB has duplicated key '{}' in DB {}",
                String::from_utf8_lossy(&key),
                db
            ));
        }
        let lru = lru_or_lfu(lfu, idl, frq.map(u64::from)).unwrap_or(lru_now);
        d.snap_guard(&key);
        d.dict
            .insert_new_meta(&key, Obj::new(value), exp.map(|e| e as u64), lru);
        if let Some(sk) = d.slots.as_mut() {
            sk.add(&key);
        }
        info.keys_loaded += 1;
        if key_load_delay != 0 {
            debug_delay(key_load_delay);
        }
    }
    let expected = rd.checksum();
    if ver >= 5 {
        let stored = u64::from_le_bytes(rd.arr()?);
        if srv.config.rdbchecksum && !srv.skip_checksum_validation {
            if stored == 0 {
                warn!("RDB file was saved with checksum disabled: no check performed.");
            } else if stored != expected {
                warn!(
                    "Wrong RDB checksum expected: ({:x}) but got ({:x}). Aborting now.",
                    expected, stored
                );
                return corrupt("RDB CRC error");
            }
        }
    }
    Ok(info)
}

/// debugDelay: sleeps `usec` microseconds; a negative value sleeps 1 µs
/// once in `-usec` calls (key-load-delay, a test hook).
fn debug_delay(usec: i64) {
    let usec = if usec < 0 {
        rand::random::<u64>().is_multiple_of(usec.unsigned_abs()) as u64
    } else {
        usec as u64
    };
    if usec > 0 {
        std::thread::sleep(std::time::Duration::from_micros(usec));
    }
}

/// `objectSetLRUOrLFU`: under an LFU policy only FREQ applies (counter
/// with the current minutes clock), otherwise only IDLE (seconds back
/// from the LRU clock). None leaves the object's clock as it is.
pub fn lru_or_lfu(lfu: bool, idle: Option<u64>, freq: Option<u64>) -> Option<u32> {
    if lfu {
        let mins = ((crate::clock::wall_ms() / 60000) & 0xffff) as u32;
        freq.map(|f| (mins << 8) | (f.min(255) as u32))
    } else {
        let now = crate::clock::lru_clock();
        idle.map(|i| now.wrapping_sub(i.min(0xff_ffff) as u32) & 0xff_ffff)
    }
}

/// Module ids encode a 9-character name (moduleTypeNameByID).
fn module_name(id: u64) -> String {
    const CSET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut name = String::new();
    let mut id = id >> 10;
    let mut chars = Vec::new();
    for _ in 0..9 {
        chars.push(CSET[(id & 63) as usize] as char);
        id >>= 6;
    }
    chars.reverse();
    name.extend(chars);
    name
}

fn aux_field(k: &[u8], v: &[u8], info: &mut LoadInfo, now: i64) {
    let vs = String::from_utf8_lossy(v);
    let num = || crate::util::num::parse_i64(v);
    match k {
        b"repl-stream-db" => info.repl_stream_db = num().map(|n| n as usize),
        b"repl-id" if v.len() == 40 => info.repl_id = Some(vs.into_owned()),
        b"repl-offset" => info.repl_offset = num(),
        b"aof-base" => info.aof_base = num() == Some(1),
        b"redis-ver" => info!("Loading RDB produced by version {}", vs),
        b"ctime" => {
            let age = now / 1000 - num().unwrap_or(0);
            info!("RDB age {} seconds", age.max(0));
        }
        b"used-mem" => info!(
            "RDB memory usage when created {:.2} Mb",
            num().unwrap_or(0) as f64 / (1024.0 * 1024.0)
        ),
        b"redis-bits" | b"lua" | b"aof-preamble" => {}
        _ => tracing::debug!(
            "Unrecognized RDB AUX field: '{}'",
            String::from_utf8_lossy(k)
        ),
    }
}

/// Where the last object that failed to load was (for the startup load's
/// redis-check-rdb style report), kept in `RdbState::load_error`.
#[derive(Debug)]
pub struct ErrorContext {
    pub offset: u64,
    pub key: Vec<u8>,
    pub rdb_type: u8,
    pub msg: String,
}

/// redis-check-rdb's names of the RDB object types.
pub fn rdb_type_name(t: u8) -> &'static str {
    const NAMES: [&str; 20] = [
        "string",
        "list-linked",
        "set-hashtable",
        "zset-v1",
        "hash-hashtable",
        "zset-v2",
        "module-value",
        "",
        "",
        "hash-zipmap",
        "list-ziplist",
        "set-intset",
        "zset-ziplist",
        "hash-ziplist",
        "quicklist",
        "stream",
        "hash-listpack",
        "zset-listpack",
        "quicklist-v2",
        "stream-v2",
    ];
    NAMES.get(t as usize).copied().unwrap_or("unknown")
}

/// A check Redis makes only with deep sanitization failed: an error when
/// deep checks are on, otherwise the reader is tainted (the payload is
/// then kept as bytes, see `decode_dump_payload_with`) and loading goes
/// on to run the checks Redis always makes.
fn deep_fail<R: Read>(rd: &mut Rd<R>, lim: &Limits, msg: &str) -> Result<(), LoadError> {
    if lim.deep {
        return corrupt(msg);
    }
    rd.tainted.get_or_insert_with(|| msg.to_string());
    Ok(())
}

/// The RDB types whose deep checks Redis skips without deep sanitization
/// (so they may be kept as bytes: see `deep_fail`).
fn can_taint(t: u8) -> bool {
    matches!(
        t,
        TYPE_LIST_QUICKLIST_2
            | TYPE_SET_INTSET
            | TYPE_ZSET_LISTPACK
            | TYPE_HASH_LISTPACK
            | TYPE_STREAM_LISTPACKS
            | TYPE_STREAM_LISTPACKS_2
    )
}

/// A value kept as its RDB body because it failed a deep check that was
/// off (`ValueRef::Corrupt`), typed as Redis would type it.
fn corrupt_value(t: u8, body: Vec<u8>, reason: String) -> Value {
    let (ty, enc) = match t {
        TYPE_SET_INTSET => (ObjType::Set, "intset"),
        TYPE_ZSET_LISTPACK => (ObjType::ZSet, "listpack"),
        TYPE_HASH_LISTPACK => (ObjType::Hash, "listpack"),
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => (ObjType::Stream, "stream"),
        _ => (ObjType::List, "quicklist"),
    };
    Value::corrupt(CorruptValue::new(ty, enc, t, body, reason))
}

/// lpValidateIntegrity without `deep`: the header's size matches and the
/// last byte is the terminator.
fn lp_header_ok(b: &[u8]) -> bool {
    b.len() >= 7
        && u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize == b.len()
        && b[b.len() - 1] == 0xff
}

/// intsetValidateIntegrity without `deep`: a known encoding, a size that
/// matches the count, not empty.
fn intset_header_ok(b: &[u8]) -> bool {
    if b.len() < 8 {
        return false;
    }
    let enc = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
    let count = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as u64;
    matches!(enc, 2 | 4 | 8) && count > 0 && 8 + count * enc == b.len() as u64
}

/// `rdbLoadObject`: Ok(None) for an empty collection (skipped, as 7.0).
pub fn load_object<R: Read>(
    rd: &mut Rd<R>,
    t: u8,
    lim: &Limits,
) -> Result<Option<Value>, LoadError> {
    let v = match t {
        TYPE_STRING => rd.string_value()?,
        TYPE_LIST => {
            let n = rd.load_len()?;
            let mut l = ListValue::new(lim.list_fill, lim.list_depth);
            for _ in 0..n {
                l.push(&rd.string()?, End::Tail);
            }
            if l.is_empty() {
                return Ok(None);
            }
            Value::list(l)
        }
        TYPE_SET => {
            let n = rd.load_len()?;
            let mut s = if n as usize > lim.set_intset {
                SetValue::new_hashtable()
            } else {
                SetValue::new_intset()
            };
            for _ in 0..n {
                let m = rd.string()?;
                if !s.add(&m, lim.set_intset) {
                    return corrupt("Duplicate set members detected");
                }
            }
            if s.is_empty() {
                return Ok(None);
            }
            Value::set(s)
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = rd.load_len()?;
            let mut items: Vec<(Vec<u8>, f64)> = Vec::with_capacity((n as usize).min(1 << 16));
            for _ in 0..n {
                let e = rd.string()?;
                let s = if t == TYPE_ZSET_2 {
                    rd.binary_double()?
                } else {
                    rd.text_double()?
                };
                if s.is_nan() {
                    return corrupt("Zset with NAN score detected");
                }
                items.push((e, s));
            }
            if items.is_empty() {
                return Ok(None);
            }
            zset_from_items(items, lim)?
        }
        TYPE_HASH => {
            let n = rd.load_len()?;
            let mut pairs = Vec::with_capacity((n as usize).min(1 << 16));
            for _ in 0..n {
                let f = rd.string()?;
                let v = rd.string()?;
                pairs.push((f, v));
            }
            if pairs.is_empty() {
                return Ok(None);
            }
            hash_from_pairs(pairs, lim)?
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let n = rd.load_len()?;
            let mut l = ListValue::new(lim.list_fill, lim.list_depth);
            for _ in 0..n {
                let container = if t == TYPE_LIST_QUICKLIST_2 {
                    rd.load_len()?
                } else {
                    QUICKLIST_NODE_PACKED
                };
                let blob = rd.string()?;
                if blob.is_empty() {
                    return corrupt("Quicklist node with an empty payload");
                }
                let lp = match container {
                    QUICKLIST_NODE_PLAIN => {
                        let mut lp = Listpack::new();
                        lp.append(&blob);
                        lp
                    }
                    QUICKLIST_NODE_PACKED if t == TYPE_LIST_QUICKLIST_2 => {
                        if !lp_header_ok(&blob) {
                            return corrupt("Listpack integrity check failed.");
                        }
                        match Listpack::from_bytes(blob) {
                            Some(lp) => lp,
                            None => {
                                deep_fail(rd, lim, "Listpack integrity check failed.")?;
                                continue;
                            }
                        }
                    }
                    QUICKLIST_NODE_PACKED => match rdb_legacy::ziplist_to_listpack(&blob) {
                        Some(lp) => lp,
                        None => return corrupt("Ziplist integrity check failed."),
                    },
                    _ => return corrupt("Quicklist integrity check failed."),
                };
                if lp.is_empty() {
                    continue;
                }
                l.quicklist_mut().append_listpack(lp);
            }
            if l.is_empty() {
                return Ok(None);
            }
            Value::list(l)
        }
        TYPE_LIST_ZIPLIST => {
            let blob = rd.string()?;
            let Some(items) = rdb_legacy::ziplist_entries(&blob) else {
                return corrupt("List ziplist integrity check failed.");
            };
            let mut l = ListValue::new(lim.list_fill, lim.list_depth);
            for e in &items {
                l.push(e, End::Tail);
            }
            if l.is_empty() {
                return Ok(None);
            }
            Value::list(l)
        }
        TYPE_SET_INTSET => {
            let blob = rd.string()?;
            if !intset_header_ok(&blob) {
                return corrupt("Intset integrity check failed.");
            }
            let Some(is) = Intset::from_bytes(blob) else {
                deep_fail(rd, lim, "Intset integrity check failed.")?;
                return Ok(None);
            };
            let mut s = SetValue::Intset(is);
            if s.len() > lim.set_intset {
                s.convert_to_hashtable();
            }
            Value::set(s)
        }
        TYPE_HASH_ZIPMAP => {
            let blob = rd.string()?;
            let Some(pairs) = rdb_legacy::zipmap_pairs(&blob) else {
                return corrupt("Zipmap integrity check failed.");
            };
            let mut seen = std::collections::HashSet::with_capacity(pairs.len());
            for (f, _) in &pairs {
                if !seen.insert(f.as_slice()) {
                    return corrupt(format!(
                        "Hash zipmap with dup elements, or big length ({})",
                        f.len()
                    ));
                }
            }
            hash_from_pairs(pairs, lim)?
        }
        TYPE_ZSET_ZIPLIST | TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK | TYPE_ZSET_LISTPACK => {
            let blob = rd.string()?;
            let is_hash = matches!(t, TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK);
            let msg = match t {
                TYPE_ZSET_ZIPLIST => "Zset ziplist integrity check failed.",
                TYPE_HASH_ZIPLIST => "Hash ziplist integrity check failed.",
                TYPE_ZSET_LISTPACK => "Zset listpack integrity check failed.",
                _ => "Hash listpack integrity check failed.",
            };
            // Ziplists are always checked deeply (they are converted);
            // listpacks only with deep sanitization.
            let ziplist = matches!(t, TYPE_ZSET_ZIPLIST | TYPE_HASH_ZIPLIST);
            let lp = if ziplist {
                match rdb_legacy::ziplist_to_listpack(&blob) {
                    Some(lp) => lp,
                    None => return corrupt(msg),
                }
            } else {
                if !lp_header_ok(&blob) {
                    return corrupt(msg);
                }
                match Listpack::from_bytes(blob) {
                    Some(lp) => lp,
                    None => {
                        deep_fail(rd, lim, msg)?;
                        return Ok(None);
                    }
                }
            };
            if lp.is_empty() {
                return Ok(None);
            }
            let max = if is_hash {
                lim.hash_entries
            } else {
                lim.zset_entries
            };
            if lp.len() % 2 != 0 {
                if ziplist {
                    return corrupt(msg);
                }
                deep_fail(rd, lim, msg)?;
                return Ok(None);
            }
            if has_pair_dups(&lp) {
                if ziplist {
                    return corrupt(msg);
                }
                // Converting to a hashtable / skiplist reads every entry:
                // there Redis finds the duplicate (and panics).
                if lp.len() / 2 > max {
                    let what = if is_hash { "Hash" } else { "Zset" };
                    return corrupt(format!("{} listpack with dup elements", what));
                }
                deep_fail(rd, lim, msg)?;
                return Ok(None);
            }
            if is_hash {
                let mut h = HashValue::Listpack(lp);
                if h.len() > lim.hash_entries {
                    h.convert_to_table();
                }
                Value::hash(h)
            } else {
                let mut it = lp.iter();
                while let (Some(_), Some(s)) = (it.next(), it.next()) {
                    let ok = match s {
                        LpValue::Int(_) => true,
                        LpValue::Str(b) => parse_score(b).is_some_and(|f| !f.is_nan()),
                    };
                    if !ok {
                        if ziplist {
                            return corrupt(msg);
                        }
                        deep_fail(rd, lim, msg)?;
                        return Ok(None);
                    }
                }
                let mut z = ZSetValue::Listpack(lp);
                if z.len() > lim.zset_entries {
                    z.convert_to_skiplist();
                }
                Value::zset(z)
            }
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => match load_stream(rd, t, lim)? {
            Some(v) => v,
            None => return Ok(None),
        },
        TYPE_MODULE_2 | 6 => {
            return corrupt("The RDB file contains module data I can't load: no matching module")
        }
        _ => return corrupt(format!("Unknown RDB encoding type {}", t)),
    };
    Ok(Some(v))
}

/// Whether a listpack's keys (every other entry) repeat.
fn has_pair_dups(lp: &Listpack) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(lp.len() / 2);
    let mut it = lp.iter();
    while let Some(k) = it.next() {
        it.next();
        if !seen.insert(k.to_vec()) {
            return true;
        }
    }
    false
}

fn zset_from_items(mut items: Vec<(Vec<u8>, f64)>, lim: &Limits) -> Result<Value, LoadError> {
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for (e, _) in &items {
        if !seen.insert(e.as_slice()) {
            return corrupt("Duplicate zset fields detected");
        }
    }
    Ok(Value::zset(ZSetValue::from_sorted(
        &items,
        lim.zset_entries,
        lim.zset_value,
    )))
}

fn hash_from_pairs(pairs: Vec<(Vec<u8>, Vec<u8>)>, lim: &Limits) -> Result<Value, LoadError> {
    let small = pairs.len() <= lim.hash_entries
        && pairs
            .iter()
            .all(|(f, v)| f.len() <= lim.hash_value && v.len() <= lim.hash_value);
    let dup = || corrupt("Duplicate hash fields detected");
    if small {
        let mut seen = std::collections::HashSet::with_capacity(pairs.len());
        let mut lp = Listpack::new();
        for (f, v) in &pairs {
            if !seen.insert(f.as_slice()) {
                return dup();
            }
            lp.append(f);
            lp.append(v);
        }
        Ok(Value::hash(HashValue::Listpack(lp)))
    } else {
        let mut d: Dict<Sds, crate::ds::sds::SmallSds> = Dict::with_capacity(pairs.len());
        for (f, v) in pairs {
            if d.contains_key(&f) {
                return dup();
            }
            d.insert_new(&f, crate::ds::sds::SmallSds::new(&v));
        }
        Ok(Value::hash(HashValue::Table(Box::new(d))))
    }
}

/// RDB_TYPE_STREAM_LISTPACKS(_2): nodes (kept as they are, after a deep
/// check), metadata, consumer groups with their PELs and consumers. Without
/// deep checks a node that fails them taints the reader (see `deep_fail`)
/// and the rest is still read and checked as Redis always does; Ok(None)
/// then (the caller keeps the payload's bytes).
fn load_stream<R: Read>(rd: &mut Rd<R>, t: u8, lim: &Limits) -> Result<Option<Value>, LoadError> {
    const BAD_LP: &str = "Stream listpack integrity check failed.";
    let mut s = StreamValue::default();
    let nodes = rd.load_len()?;
    let mut last_seen: Option<StreamId> = None;
    for _ in 0..nodes {
        let key = rd.string()?;
        if key.len() != 16 {
            return corrupt("Stream node key entry is not the size of a stream ID");
        }
        let master = StreamId {
            ms: u64::from_be_bytes(key[..8].try_into().unwrap_or_default()),
            seq: u64::from_be_bytes(key[8..].try_into().unwrap_or_default()),
        };
        let blob = rd.string()?;
        if !lp_header_ok(&blob) {
            return corrupt(BAD_LP);
        }
        if blob[6] == 0xff {
            return corrupt("Empty listpack inside stream");
        }
        let Some(lp) = Listpack::from_bytes(blob) else {
            deep_fail(rd, lim, BAD_LP)?;
            continue;
        };
        let Some((live, last)) = StreamValue::validate_node(master, &lp, last_seen) else {
            deep_fail(rd, lim, BAD_LP)?;
            continue;
        };
        if rd.tainted.is_some() {
            continue;
        }
        last_seen = Some(last);
        s.push_node(master, lp, live);
    }
    let length = rd.load_len()?;
    s.last_id = StreamId {
        ms: rd.load_len()?,
        seq: rd.load_len()?,
    };
    if length > 0 && nodes == 0 {
        return corrupt("Stream length inconsistent with rax entries");
    }
    // Redis does not check this, but XADD * and XSETID rely on it: an entry
    // above the last ID would let new entries land out of order.
    if rd.tainted.is_none() && last_seen.is_some_and(|l| l > s.last_id) {
        deep_fail(rd, lim, "Stream last ID smaller than its last entry")?;
    }
    if t == TYPE_STREAM_LISTPACKS_2 {
        s.first_id = StreamId {
            ms: rd.load_len()?,
            seq: rd.load_len()?,
        };
        s.max_deleted_id = StreamId {
            ms: rd.load_len()?,
            seq: rd.load_len()?,
        };
        s.entries_added = rd.load_len()?;
    } else {
        s.entries_added = length;
        // streamGetEdgeID(first): the maximum ID when there is no entry.
        s.first_id = s.first_live_id().unwrap_or(StreamId::MAX);
    }
    if rd.tainted.is_none() && length != s.len() as u64 {
        deep_fail(rd, lim, "Stream length inconsistent with its listpacks")?;
    }
    let groups = rd.load_len()?;
    for _ in 0..groups {
        let name = rd.string()?;
        let last_id = StreamId {
            ms: rd.load_len()?,
            seq: rd.load_len()?,
        };
        let entries_read = if t == TYPE_STREAM_LISTPACKS_2 {
            rd.load_len()? as i64
        } else {
            s.estimate_distance(last_id)
        };
        let mut g = CGroup {
            name,
            last_id,
            entries_read,
            pel: Vec::new(),
            consumers: Vec::new(),
        };
        let pel = rd.load_len()?;
        for _ in 0..pel {
            let id = decode_id(rd.arr::<16>()?);
            let delivery_time = i64::from_le_bytes(rd.arr::<8>()?);
            let delivery_count = rd.load_len()?;
            let nack = Nack {
                delivery_time,
                delivery_count,
                consumer: Vec::new(),
            };
            match g.pel_pos(id) {
                Ok(_) => {
                    return corrupt("Duplicated global PEL entry loading stream consumer group")
                }
                Err(k) => g.pel.insert(k, (id, nack)),
            }
        }
        let consumers = rd.load_len()?;
        let mut owned = 0usize;
        for _ in 0..consumers {
            let cname = rd.string()?;
            let seen_time = i64::from_le_bytes(rd.arr::<8>()?);
            if !g.create_consumer(&cname, seen_time) {
                return corrupt("Duplicate stream consumer detected.");
            }
            let n = rd.load_len()?;
            for _ in 0..n {
                let id = decode_id(rd.arr::<16>()?);
                let Ok(k) = g.pel_pos(id) else {
                    return corrupt("Consumer entry not found in group global PEL");
                };
                if !g.pel[k].1.consumer.is_empty() {
                    return corrupt("Stream consumer PEL entry already has a consumer assigned");
                }
                if g.consumer(&cname)
                    .is_some_and(|c| c.pel.binary_search(&id).is_ok())
                {
                    return corrupt(
                        "Duplicated consumer PEL entry  loading a stream consumer group",
                    );
                }
                g.pel[k].1.consumer = cname.clone();
                if let Some(c) = g.consumer_mut(&cname) {
                    if let Err(p) = c.pel.binary_search(&id) {
                        c.pel.insert(p, id);
                    }
                }
                owned += 1;
            }
        }
        if owned != g.pel.len() {
            deep_fail(rd, lim, "Stream CG PEL entry without consumer")?;
        }
        let name = String::from_utf8_lossy(&g.name).into_owned();
        if !s.groups.push_loaded(g) {
            return corrupt(format!("Duplicated consumer group name {}", name));
        }
    }
    if rd.tainted.is_some() {
        return Ok(None);
    }
    Ok(Some(Value::stream(s)))
}

fn decode_id(raw: [u8; 16]) -> StreamId {
    StreamId {
        ms: u64::from_be_bytes(raw[..8].try_into().unwrap_or_default()),
        seq: u64::from_be_bytes(raw[8..].try_into().unwrap_or_default()),
    }
}

/// Why a DUMP payload was refused (RESTORE's two error replies).
#[derive(Debug, PartialEq, Eq)]
pub enum DumpError {
    /// "ERR DUMP payload version or checksum are wrong"
    VersionOrChecksum,
    /// "ERR Bad data format"
    BadFormat,
}

/// `verifyDumpPayload` + `rdbLoadObjectType` + `rdbLoadObject`, with
/// deep checks as `sanitize-dump-payload` asks for a normal client
/// (`clients` counts as deep: see `decode_dump_payload_with`).
pub fn decode_dump_payload(srv: &Server, p: &[u8]) -> Result<Value, DumpError> {
    let deep = srv.config.sanitize_dump_payload != crate::config::SanitizeDumpPayload::No;
    decode_dump_payload_with(srv, p, deep)
}

/// [`decode_dump_payload`] with the deep-check decision made by the
/// caller (RESTORE: `sanitize-dump-payload` yes, or clients for a client
/// that is not the master and whose user lacks skip-sanitize-payload).
/// ferrokv runs its deep checks in any case; when deep checks are off,
/// a payload that passes Redis's shallow checks but fails a deep one is
/// accepted as a `ValueRef::Corrupt` (the key exists, its contents are
/// unreadable) where Redis would store it and may crash later. Every
/// refusal is logged at verbose level with Redis's reason text.
pub fn decode_dump_payload_with(srv: &Server, p: &[u8], deep: bool) -> Result<Value, DumpError> {
    if p.len() < 10 {
        return Err(DumpError::VersionOrChecksum);
    }
    let footer = &p[p.len() - 10..];
    let ver = u16::from_le_bytes([footer[0], footer[1]]);
    if ver > RDB_VERSION {
        return Err(DumpError::VersionOrChecksum);
    }
    // DEBUG SET-SKIP-CHECKSUM-VALIDATION skips the CRC (verifyDumpPayload).
    let crc = CRC64.checksum(&p[..p.len() - 8]);
    if !srv.skip_checksum_validation && crc.to_le_bytes() != footer[2..10] {
        return Err(DumpError::VersionOrChecksum);
    }
    let body = &p[..p.len() - 10];
    let mut rd = Rd::new(body);
    let t = rd.u8().map_err(|_| DumpError::BadFormat)?;
    if !is_object_type(t) {
        tracing::debug!(
            "Internal error in RDB reading offset 0, function at rdb.c:0 -> Unknown RDB encoding type {}",
            t
        );
        return Err(DumpError::BadFormat);
    }
    let mut lim = Limits::from_server(srv);
    lim.deep = deep;
    let res = load_object(&mut rd, t, &lim);
    if let (Ok(_), Some(reason)) = (&res, rd.tainted.take()) {
        tracing::debug!(
            "RESTORE without deep sanitization: {} The value is kept but cannot be read.",
            reason
        );
        return Ok(corrupt_value(t, body[1..].to_vec(), reason));
    }
    match res {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(DumpError::BadFormat),
        Err(e) => {
            let msg = match e {
                LoadError::Corrupt(m) => m,
                LoadError::Io(e) => e.to_string(),
            };
            tracing::debug!(
                "Internal error in RDB reading offset 0, function at rdb.c:0 -> {}",
                msg
            );
            Err(DumpError::BadFormat)
        }
    }
}
