//! RDB v10 (Redis 7.0) snapshots: encoding the whole dataset (and the
//! function libraries) into the file format `redis-check-rdb` and real
//! redis-server read, and loading it back — Redis's rdb.c.
//!
//! This module holds the public API and the encoder (`rdbSaveRio`,
//! `rdbSaveObject`); `rdb_load` decodes (including the older encodings
//! 7.0 still reads, with `rdb_legacy` for ziplists and zipmaps), and
//! `rdb_server` wires SAVE/BGSAVE, save points, startup loading and the
//! INFO fields. Values are written in exactly the encodings Redis 7.0
//! writes: listpack and intset blobs are copied byte for byte, strings
//! are integer-encoded or LZF-compressed under Redis's rules.

use crate::object::ValueRef;
use crate::object::{Obj, Value};
use crate::persist::lzf;
use crate::server::Server;
use crate::types::hash::HashValue;
use crate::types::set::SetValue;
use crate::types::stream::StreamValue;
use crate::types::zset::ZSetValue;
use std::io::{self, Read, Write};

pub use crate::persist::rdb_load::{decode_dump_payload, decode_dump_payload_with, DumpError};

/// RDB_VERSION of Redis 7.0.
pub const RDB_VERSION: u16 = 10;

// Object types (rdb.h).
pub const TYPE_STRING: u8 = 0;
pub const TYPE_LIST: u8 = 1;
pub const TYPE_SET: u8 = 2;
pub const TYPE_ZSET: u8 = 3;
pub const TYPE_HASH: u8 = 4;
pub const TYPE_ZSET_2: u8 = 5;
pub const TYPE_MODULE_2: u8 = 7;
pub const TYPE_HASH_ZIPMAP: u8 = 9;
pub const TYPE_LIST_ZIPLIST: u8 = 10;
pub const TYPE_SET_INTSET: u8 = 11;
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
pub const TYPE_HASH_ZIPLIST: u8 = 13;
pub const TYPE_LIST_QUICKLIST: u8 = 14;
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
pub const TYPE_HASH_LISTPACK: u8 = 16;
pub const TYPE_ZSET_LISTPACK: u8 = 17;
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;

// Opcodes.
pub const OPCODE_FUNCTION2: u8 = 245;
pub const OPCODE_FUNCTION_PRE_GA: u8 = 246;
pub const OPCODE_MODULE_AUX: u8 = 247;
pub const OPCODE_IDLE: u8 = 248;
pub const OPCODE_FREQ: u8 = 249;
pub const OPCODE_AUX: u8 = 250;
pub const OPCODE_RESIZEDB: u8 = 251;
pub const OPCODE_EXPIRETIME_MS: u8 = 252;
pub const OPCODE_EXPIRETIME: u8 = 253;
pub const OPCODE_SELECTDB: u8 = 254;
pub const OPCODE_EOF: u8 = 255;

// Special string encodings (RDB_ENCVAL | n).
pub const ENC_INT8: u8 = 0;
pub const ENC_INT16: u8 = 1;
pub const ENC_INT32: u8 = 2;
pub const ENC_LZF: u8 = 3;

/// Quicklist node containers.
pub const QUICKLIST_NODE_PLAIN: u64 = 1;
pub const QUICKLIST_NODE_PACKED: u64 = 2;

/// Stream entry flags (t_stream.c).
pub const STREAM_ITEM_FLAG_DELETED: i64 = 1;
pub const STREAM_ITEM_FLAG_SAMEFIELDS: i64 = 2;

/// The CRC-64 Redis uses (Jones polynomial, reflected), slicing by 16
/// bytes (the crate's default table works a byte at a time, about 5x
/// slower; Redis's crcspeed slices by 8).
pub static CRC64: crc::Crc<u64, crc::Table<16>> =
    crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

/// A running CRC64 (RDB files, replication streams): carry-less
/// multiplication where the CPU has it (`crc64`).
pub type Crc64Digest = crate::persist::crc64::Digest;

/// What goes into the aux fields besides the fixed ones.
#[derive(Clone, Debug, Default)]
pub struct SaveInfo {
    /// repl-stream-db / repl-id / repl-offset aux fields (replication).
    pub repl_stream_db: Option<usize>,
    pub repl_id: Option<String>,
    pub repl_offset: Option<i64>,
    /// aof-base aux field: 1 when this RDB is an AOF base (preamble).
    pub aof_base: bool,
    /// A filtered snapshot for a replica (REPLCONF rdb-filter-only): leave
    /// out the keys, the function libraries, or both.
    pub exclude_data: bool,
    pub exclude_functions: bool,
}

/// What loading found in the aux fields.
#[derive(Clone, Debug, Default)]
pub struct LoadInfo {
    pub keys_loaded: u64,
    pub keys_expired: u64,
    pub repl_stream_db: Option<usize>,
    pub repl_id: Option<String>,
    pub repl_offset: Option<i64>,
    pub aof_base: bool,
    /// Keys with an empty value that were skipped (Redis 7.0 counts them).
    pub empty_keys_skipped: u64,
}

/// Why a load failed.
#[derive(Debug)]
pub enum LoadError {
    Io(io::Error),
    /// Bad or unsupported content, with a description for the log.
    Corrupt(String),
}

impl From<io::Error> for LoadError {
    fn from(e: io::Error) -> Self {
        LoadError::Io(e)
    }
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io(e) => write!(f, "{}", e),
            LoadError::Corrupt(s) => write!(f, "{}", s),
        }
    }
}

/// Encoder settings taken from the config once per save.
#[derive(Clone, Copy)]
pub struct EncOpts {
    /// rdbcompression: LZF for strings longer than 20 bytes.
    pub compress: bool,
    /// Write IDLE (LRU policies) or FREQ (LFU policies) before keys.
    pub lru: bool,
    pub lfu: bool,
}

impl EncOpts {
    pub fn from_server(srv: &Server) -> EncOpts {
        let policy = srv.config.maxmemory_policy;
        EncOpts {
            compress: srv.config.rdbcompression,
            lru: policy.is_lru(),
            lfu: policy.is_lfu(),
        }
    }
}

/// Writes the complete RDB (header, aux, functions, every db, EOF,
/// checksum) for the dataset in `srv`.
pub fn write_rdb<W: Write>(srv: &Server, w: W, info: &SaveInfo) -> io::Result<()> {
    let opts = EncOpts::from_server(srv);
    let checksum = srv.config.rdbchecksum;
    let mut out = Out::new(w, checksum);
    write_header(&mut out.buf, srv, info, opts);
    out.flush_some()?;
    // rdb-key-save-delay (tests): microseconds to sleep per key saved.
    let key_delay = Some(srv.config.rdb_key_save_delay)
        .filter(|&d| d > 0)
        .map(|d| std::time::Duration::from_micros(d as u64));
    for db in &srv.dbs {
        if db.dict.is_empty() || info.exclude_data {
            continue;
        }
        write_db_start(&mut out.buf, db.id, db.dict.len(), db.expires_len());
        for (key, obj, expire, lru) in db.dict.iter_meta() {
            write_key(&mut out.buf, key, obj, expire, lru, opts);
            out.flush_some()?;
            super::childinfo::key_saved();
            if let Some(d) = key_delay {
                std::thread::sleep(d);
            }
        }
    }
    out.buf.push(OPCODE_EOF);
    out.finish()
}

/// The RDB's start: magic, version, aux fields and the function
/// libraries (up to the first db).
pub fn write_header(b: &mut Vec<u8>, srv: &Server, info: &SaveInfo, opts: EncOpts) {
    let c = opts.compress;
    b.extend_from_slice(format!("REDIS{:04}", RDB_VERSION).as_bytes());
    aux_str(b, b"redis-ver", crate::server::REDIS_VERSION.as_bytes(), c);
    aux_int(b, b"redis-bits", 64, c);
    aux_int(b, b"ctime", crate::clock::wall_ms() / 1000, c);
    aux_int(b, b"used-mem", crate::alloc::used_memory() as i64, c);
    if let (Some(db), Some(id), Some(off)) =
        (info.repl_stream_db, info.repl_id.as_ref(), info.repl_offset)
    {
        aux_int(b, b"repl-stream-db", db as i64, c);
        aux_str(b, b"repl-id", id.as_bytes(), c);
        aux_int(b, b"repl-offset", off, c);
    }
    aux_int(b, b"aof-base", info.aof_base as i64, c);
    if !info.exclude_functions {
        for lib in srv.scripting.functions.libs.values() {
            b.push(OPCODE_FUNCTION2);
            save_raw_string(b, &lib.code, opts.compress);
        }
    }
}

/// SELECTDB and the RESIZEDB hint (`keys`, `expires`) before a db's keys.
pub fn write_db_start(b: &mut Vec<u8>, id: usize, keys: usize, expires: usize) {
    b.push(OPCODE_SELECTDB);
    save_len(b, id as u64);
    b.push(OPCODE_RESIZEDB);
    save_len(b, keys as u64);
    save_len(b, expires as u64);
}

/// SELECTDB alone: records of db `id` follow (a fork-less snapshot
/// interleaves dbs).
pub fn write_select(b: &mut Vec<u8>, id: usize) {
    b.push(OPCODE_SELECTDB);
    save_len(b, id as u64);
}

/// The end of the data: the EOF opcode (the checksum follows it).
pub fn write_eof(b: &mut Vec<u8>) {
    b.push(OPCODE_EOF);
}

/// One key's record (rdbSaveKeyValuePair): expire time, IDLE or FREQ,
/// type, key, value.
pub fn write_key(
    b: &mut Vec<u8>,
    key: &[u8],
    obj: &Obj,
    expire: Option<u64>,
    lru: u32,
    opts: EncOpts,
) {
    if let Some(when) = expire {
        b.push(OPCODE_EXPIRETIME_MS);
        b.extend_from_slice(&(when as i64).to_le_bytes());
    }
    if opts.lru {
        b.push(OPCODE_IDLE);
        save_len(b, crate::clock::idle_secs(lru));
    } else if opts.lfu {
        b.push(OPCODE_FREQ);
        b.push((lru & 0xff) as u8);
    }
    b.push(object_type(&obj.value));
    save_raw_string(b, key, opts.compress);
    save_object(b, &obj.value, opts);
}

/// Buffers output, feeds the checksum and writes in large chunks.
struct Out<W: Write> {
    w: W,
    digest: Option<Crc64Digest>,
    buf: Vec<u8>,
}

impl<W: Write> Out<W> {
    fn new(w: W, checksum: bool) -> Self {
        Out {
            w,
            digest: checksum.then(Crc64Digest::new),
            buf: Vec::with_capacity(1 << 16),
        }
    }

    fn flush_some(&mut self) -> io::Result<()> {
        if self.buf.len() >= 1 << 16 {
            self.flush_all()?;
        }
        Ok(())
    }

    fn flush_all(&mut self) -> io::Result<()> {
        if let Some(d) = self.digest.as_mut() {
            d.update(&self.buf);
        }
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.flush_all()?;
        let crc = self.digest.take().map(|d| d.finalize()).unwrap_or(0);
        self.w.write_all(&crc.to_le_bytes())?;
        self.w.flush()
    }
}

fn aux_str(b: &mut Vec<u8>, key: &[u8], val: &[u8], compress: bool) {
    b.push(OPCODE_AUX);
    save_raw_string(b, key, compress);
    save_raw_string(b, val, compress);
}

fn aux_int(b: &mut Vec<u8>, key: &[u8], val: i64, compress: bool) {
    let mut tmp = [0u8; 20];
    let s = crate::util::num::format_i64(val, &mut tmp).to_vec();
    aux_str(b, key, &s, compress);
}

/// `rdbSaveLen`.
pub fn save_len(b: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        b.push(n as u8);
    } else if n < 1 << 14 {
        b.push(0x40 | (n >> 8) as u8);
        b.push(n as u8);
    } else if n <= u32::MAX as u64 {
        b.push(0x80);
        b.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        b.push(0x81);
        b.extend_from_slice(&n.to_be_bytes());
    }
}

/// `rdbEncodeInteger`: the special int encodings for values in i32 range.
fn encode_int(b: &mut Vec<u8>, v: i64) -> bool {
    if v >= i8::MIN as i64 && v <= i8::MAX as i64 {
        b.push(0xc0 | ENC_INT8);
        b.push(v as i8 as u8);
    } else if v >= i16::MIN as i64 && v <= i16::MAX as i64 {
        b.push(0xc0 | ENC_INT16);
        b.extend_from_slice(&(v as i16).to_le_bytes());
    } else if v >= i32::MIN as i64 && v <= i32::MAX as i64 {
        b.push(0xc0 | ENC_INT32);
        b.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        return false;
    }
    true
}

/// `rdbSaveRawString`: int encoding for short numeric strings, LZF for
/// strings over 20 bytes when compression is on, else length + bytes.
pub fn save_raw_string(b: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = crate::util::num::parse_i64(s) {
            let mut tmp = [0u8; 20];
            if crate::util::num::format_i64(v, &mut tmp) == s && encode_int(b, v) {
                return;
            }
        }
    }
    if compress && s.len() > 20 && save_lzf_string(b, s) {
        return;
    }
    save_len(b, s.len() as u64);
    b.extend_from_slice(s);
}

/// `rdbSaveLen` into a buffer: the bytes `save_len` writes for `n`, and
/// how many.
fn encode_len(n: u64) -> ([u8; 9], usize) {
    let mut e = [0u8; 9];
    let k = if n < 1 << 6 {
        e[0] = n as u8;
        1
    } else if n < 1 << 14 {
        e[0] = 0x40 | (n >> 8) as u8;
        e[1] = n as u8;
        2
    } else if n <= u32::MAX as u64 {
        e[0] = 0x80;
        e[1..5].copy_from_slice(&(n as u32).to_be_bytes());
        5
    } else {
        e[0] = 0x81;
        e[1..9].copy_from_slice(&n.to_be_bytes());
        9
    };
    (e, k)
}

/// `rdbSaveLzfStringObject`: the LZF form of `s` (longer than 20 bytes)
/// when it fits in `len - 4` bytes: the encoding byte, the compressed and
/// the original length, the compressed bytes. Compresses straight into
/// `b` after room for the longest header the budget allows, then writes
/// the header, moving the bytes down when the compressed length takes a
/// shorter length encoding than the budget would (no buffer of its own,
/// no second copy). False, with `b` as it was, when it does not fit.
fn save_lzf_string(b: &mut Vec<u8>, s: &[u8]) -> bool {
    let out_len = s.len() - 4;
    let start = b.len();
    let (orig, orig_k) = encode_len(s.len() as u64);
    let room = 1 + encode_len(out_len as u64).1 + orig_k;
    b.resize(start + room, 0);
    let Some(clen) = lzf::compress_into(s, out_len, b) else {
        b.truncate(start);
        return false;
    };
    let (comp, comp_k) = encode_len(clen as u64);
    let head = 1 + comp_k + orig_k;
    if head < room {
        b.copy_within(start + room..start + room + clen, start + head);
        b.truncate(start + head + clen);
    }
    b[start] = 0xc0 | ENC_LZF;
    b[start + 1..start + 1 + comp_k].copy_from_slice(&comp[..comp_k]);
    b[start + 1 + comp_k..start + head].copy_from_slice(&orig[..orig_k]);
    true
}

/// `rdbSaveLongLongAsStringObject` (int-encoded string objects).
fn save_ll_string(b: &mut Vec<u8>, v: i64) {
    if !encode_int(b, v) {
        let mut tmp = [0u8; 20];
        let s = crate::util::num::format_i64(v, &mut tmp);
        save_len(b, s.len() as u64);
        b.extend_from_slice(s);
    }
}

/// `rdbSaveObjectType`.
pub fn object_type(v: &Value) -> u8 {
    match v.get() {
        ValueRef::Int(_) | ValueRef::Inline(_) | ValueRef::Emb(_) | ValueRef::Raw(_) => TYPE_STRING,
        ValueRef::List(_) => TYPE_LIST_QUICKLIST_2,
        ValueRef::Set(s) => match s {
            SetValue::Intset(_) => TYPE_SET_INTSET,
            _ => TYPE_SET,
        },
        ValueRef::ZSet(z) => match z {
            ZSetValue::Listpack(_) => TYPE_ZSET_LISTPACK,
            ZSetValue::Skiplist(_) => TYPE_ZSET_2,
        },
        ValueRef::Hash(h) => match h {
            HashValue::Listpack(_) => TYPE_HASH_LISTPACK,
            HashValue::Table(_) => TYPE_HASH,
        },
        ValueRef::Stream(_) => TYPE_STREAM_LISTPACKS_2,
        ValueRef::Corrupt(c) => c.rdb_type,
    }
}

/// `rdbSaveObject`: the value body (after the type byte and key).
pub fn save_object(b: &mut Vec<u8>, v: &Value, opts: EncOpts) {
    let c = opts.compress;
    match v.get() {
        ValueRef::Int(n) => save_ll_string(b, n),
        ValueRef::Inline(s) | ValueRef::Emb(s) => save_raw_string(b, s, c),
        ValueRef::Raw(s) => save_raw_string(b, s, c),
        ValueRef::List(l) => {
            let ql = l.quicklist();
            save_len(b, ql.node_count() as u64);
            for node in ql.nodes() {
                save_len(b, QUICKLIST_NODE_PACKED);
                save_raw_string(b, node.listpack().as_bytes(), c);
            }
        }
        ValueRef::Set(s) => match s {
            SetValue::Intset(is) => save_raw_string(b, is.as_bytes(), c),
            SetValue::Hash(d) => {
                save_len(b, d.len() as u64);
                for (m, _) in d.iter() {
                    save_raw_string(b, m, c);
                }
            }
        },
        ValueRef::ZSet(z) => match z {
            ZSetValue::Listpack(lp) => save_raw_string(b, lp.as_bytes(), c),
            ZSetValue::Skiplist(z) => {
                save_len(b, z.len() as u64);
                // Tail to head, as Redis (loading then inserts at the head).
                for (ele, score) in z.rev_iter() {
                    save_raw_string(b, ele, c);
                    b.extend_from_slice(&score.to_le_bytes());
                }
            }
        },
        ValueRef::Hash(h) => match h {
            HashValue::Listpack(lp) => save_raw_string(b, lp.as_bytes(), c),
            HashValue::Table(d) => {
                save_len(b, d.len() as u64);
                for (f, v) in d.iter() {
                    save_raw_string(b, f, c);
                    save_raw_string(b, v.as_bytes(), c);
                }
            }
        },
        ValueRef::Stream(s) => save_stream(b, s, c),
        // Written back as it came (RESTORE with sanitize-dump-payload no).
        ValueRef::Corrupt(x) => b.extend_from_slice(&x.body),
    }
}

/// Streams as RDB_TYPE_STREAM_LISTPACKS_2 (rdbSaveObject): the listpack
/// nodes as stored, keyed by their master ID, the metadata, then every
/// consumer group with its global PEL (delivery time and count) and its
/// consumers (seen time and the IDs they own).
fn save_stream(b: &mut Vec<u8>, s: &StreamValue, compress: bool) {
    save_len(b, s.node_count() as u64);
    for node in s.nodes() {
        save_raw_string(b, &node.master.encode(), compress);
        save_raw_string(b, node.lp.as_bytes(), compress);
    }
    save_len(b, s.len() as u64);
    save_len(b, s.last_id.ms);
    save_len(b, s.last_id.seq);
    save_len(b, s.first_id.ms);
    save_len(b, s.first_id.seq);
    save_len(b, s.max_deleted_id.ms);
    save_len(b, s.max_deleted_id.seq);
    save_len(b, s.entries_added);
    save_len(b, s.groups.len() as u64);
    for g in s.groups.iter() {
        save_raw_string(b, &g.name, compress);
        save_len(b, g.last_id.ms);
        save_len(b, g.last_id.seq);
        save_len(b, g.entries_read as u64);
        save_len(b, g.pel.len() as u64);
        for (id, nack) in &g.pel {
            b.extend_from_slice(&id.encode());
            b.extend_from_slice(&nack.delivery_time.to_le_bytes());
            save_len(b, nack.delivery_count);
        }
        save_len(b, g.consumers.len() as u64);
        for c in &g.consumers {
            save_raw_string(b, &c.name, compress);
            b.extend_from_slice(&c.seen_time.to_le_bytes());
            save_len(b, c.pel.len() as u64);
            for id in &c.pel {
                b.extend_from_slice(&id.encode());
            }
        }
    }
}

/// `createDumpPayload`: type + value + RDB version (2 bytes LE) + CRC-64.
pub fn dump_payload(opts: EncOpts, v: &Value) -> Vec<u8> {
    let mut b = Vec::new();
    b.push(object_type(v));
    save_object(&mut b, v, opts);
    b.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// Loads an RDB stream into `srv` (the caller empties the dataset first
/// when it should). `is_replica` keeps keys whose TTL already passed.
pub fn load_rdb<R: Read>(srv: &mut Server, r: R, is_replica: bool) -> Result<LoadInfo, LoadError> {
    crate::persist::rdb_load::load(srv, r, is_replica)
}

/// A BGSAVE child finished (called by `child::check_children`).
pub fn bgsave_done(srv: &mut Server, ok: bool) {
    crate::persist::rdb_server::bgsave_done(srv, ok);
}
