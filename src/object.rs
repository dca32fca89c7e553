//! Values stored in the keyspace (Redis's `robj`): the type, the encoding
//! that `OBJECT ENCODING` reports, and the LRU/LFU access stamp kept in
//! every object's 24-bit `lru` field (set on creation, updated on access
//! with the `AccessStamps` settings each `Db` holds; the eviction service
//! reads it).
//!
//! Strings follow Redis's three encodings: `int` (a number that round-trips
//! through `string2ll`), `embstr` (≤ 44 bytes, never modified in place) and
//! `raw` (anything larger, or any string changed by APPEND/SETRANGE/SETBIT).
//! Short strings are kept inline in the 16-byte `Value` to save an allocation.
//! A string that was never modified is one `Sds` allocation whatever its
//! length (`Emb`, reported as `raw` above 44 bytes, as Redis's SET leaves
//! it); only in-place modification turns it into a growable `Raw` buffer.
//! A `Box<Vec<u8>>` for every large value cost a second allocation and
//! malloc's rounding on both: 1M 100-byte values took 32 bytes more RSS
//! per key than Redis.

use crate::clock;
use crate::ds::sds::Sds;
use crate::types::hash::HashValue;
use crate::types::list::ListValue;
use crate::types::set::SetValue;
use crate::types::stream::StreamValue;
use crate::types::zset::ZSetValue;
use crate::util::num;
use std::cell::Cell;

/// Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT.
pub const EMBSTR_SIZE_LIMIT: usize = 44;
/// Bytes a string can keep inline in `Value` without a heap allocation.
pub const INLINE_CAP: usize = 14;

/// A short string stored inline (reported as `embstr`).
#[derive(Clone, Copy)]
pub struct InlineStr {
    len: u8,
    buf: [u8; INLINE_CAP],
}

impl InlineStr {
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

/// A keyspace value. 16 bytes; collections live behind a Box.
pub enum Value {
    /// Integer-encoded string.
    Int(i64),
    /// embstr up to INLINE_CAP bytes, no allocation.
    Inline(InlineStr),
    /// embstr of INLINE_CAP+1 ..= 44 bytes, or an unmodified raw string
    /// (longer than 44 bytes): one allocation either way.
    Emb(Sds),
    /// raw string: any length, modifiable in place.
    Raw(Box<Vec<u8>>),
    List(Box<ListValue>),
    Hash(Box<HashValue>),
    Set(Box<SetValue>),
    ZSet(Box<ZSetValue>),
    Stream(Box<StreamValue>),
    /// A RESTORE / RDB payload that passed Redis's shallow checks but
    /// failed ferrokv's deep ones while deep sanitization was off
    /// (`sanitize-dump-payload no`): kept as its bytes, so the key exists
    /// (TYPE, DEL, DUMP...) but commands reading its contents are refused.
    Corrupt(Box<CorruptValue>),
}

/// The payload of a [`Value::Corrupt`].
#[derive(Debug)]
pub struct CorruptValue {
    /// The type Redis would have given the value.
    pub obj_type: ObjType,
    /// The encoding Redis would report (OBJECT ENCODING).
    pub encoding: &'static str,
    /// The RDB object type byte and body, as in the payload.
    pub rdb_type: u8,
    pub body: Vec<u8>,
    /// What the deep check found.
    pub reason: String,
}

/// How many [`CorruptValue`]s exist (commands check keys for them only
/// while there are any). Global and atomic: kept by the values' own
/// constructor and `Drop`, which may run on the lazy-free thread.
static CORRUPT_LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl CorruptValue {
    pub fn new(
        obj_type: ObjType,
        encoding: &'static str,
        rdb_type: u8,
        body: Vec<u8>,
        reason: String,
    ) -> CorruptValue {
        CORRUPT_LIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        CorruptValue {
            obj_type,
            encoding,
            rdb_type,
            body,
            reason,
        }
    }

    /// Whether any corrupt value exists anywhere.
    #[inline]
    pub fn any() -> bool {
        CORRUPT_LIVE.load(std::sync::atomic::Ordering::Relaxed) > 0
    }
}

impl Clone for CorruptValue {
    fn clone(&self) -> CorruptValue {
        CorruptValue::new(
            self.obj_type,
            self.encoding,
            self.rdb_type,
            self.body.clone(),
            self.reason.clone(),
        )
    }
}

impl Drop for CorruptValue {
    fn drop(&mut self) {
        CORRUPT_LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A keyspace value (Redis's robj). Its access clock (Redis's 24-bit lru
/// field: LRU clock in seconds, or LFU data when the maxmemory policy is
/// an LFU one, 16-bit minutes + 8-bit counter) is the meta word of the
/// key's dict entry, where it costs no padding (`Db::lru`).
pub struct Obj {
    pub value: Value,
}

/// The type names TYPE and SCAN TYPE use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ObjType {
    String,
    List,
    Set,
    ZSet,
    Hash,
    Stream,
}

impl ObjType {
    pub fn name(self) -> &'static str {
        match self {
            ObjType::String => "string",
            ObjType::List => "list",
            ObjType::Set => "set",
            ObjType::ZSet => "zset",
            ObjType::Hash => "hash",
            ObjType::Stream => "stream",
        }
    }

    pub fn from_name(name: &[u8]) -> Option<ObjType> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"string" => ObjType::String,
            b"list" => ObjType::List,
            b"set" => ObjType::Set,
            b"zset" => ObjType::ZSet,
            b"hash" => ObjType::Hash,
            b"stream" => ObjType::Stream,
            _ => return None,
        })
    }
}

impl Value {
    /// A string value from client bytes, choosing the encoding as Redis's
    /// `createStringObject` + `tryObjectEncoding` do for SET.
    pub fn from_bytes(b: &[u8]) -> Value {
        if b.len() <= 20 {
            if let Some(n) = num::parse_i64(b) {
                return Value::Int(n);
            }
        }
        Value::embstr(b)
    }

    /// A string that keeps exactly these bytes as embstr/raw (no int
    /// conversion): what Redis does for values it does not try to encode.
    pub fn embstr(b: &[u8]) -> Value {
        if b.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..b.len()].copy_from_slice(b);
            Value::Inline(InlineStr {
                len: b.len() as u8,
                buf,
            })
        } else if b.len() <= Sds::MAX_LEN {
            Value::Emb(Sds::new(b))
        } else {
            Value::Raw(Box::new(b.to_vec()))
        }
    }

    pub fn raw(v: Vec<u8>) -> Value {
        Value::Raw(Box::new(v))
    }

    pub fn obj_type(&self) -> ObjType {
        match self {
            Value::Int(_) | Value::Inline(_) | Value::Emb(_) | Value::Raw(_) => ObjType::String,
            Value::List(_) => ObjType::List,
            Value::Hash(_) => ObjType::Hash,
            Value::Set(_) => ObjType::Set,
            Value::ZSet(_) => ObjType::ZSet,
            Value::Stream(_) => ObjType::Stream,
            Value::Corrupt(c) => c.obj_type,
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Emb(s) if s.len() > EMBSTR_SIZE_LIMIT => "raw",
            Value::Inline(_) | Value::Emb(_) => "embstr",
            Value::Raw(_) => "raw",
            Value::List(l) => l.encoding_name(),
            Value::Hash(h) => h.encoding_name(),
            Value::Set(v) => v.encoding_name(),
            Value::ZSet(z) => z.encoding_name(),
            Value::Stream(_) => "stream",
            Value::Corrupt(c) => c.encoding,
        }
    }

    pub fn is_string(&self) -> bool {
        self.obj_type() == ObjType::String
    }

    /// The bytes of a string value; integers are formatted into `tmp`.
    /// Returns None for non-string types.
    #[inline]
    pub fn str_bytes<'a>(&'a self, tmp: &'a mut [u8; 20]) -> Option<&'a [u8]> {
        match self {
            Value::Int(n) => Some(num::format_i64(*n, tmp)),
            Value::Inline(s) => Some(s.as_bytes()),
            Value::Emb(s) => Some(s.as_bytes()),
            Value::Raw(v) => Some(v.as_slice()),
            _ => None,
        }
    }

    /// Length in bytes of a string value (STRLEN).
    pub fn str_len(&self) -> Option<usize> {
        let mut tmp = [0u8; 20];
        self.str_bytes(&mut tmp).map(|b| b.len())
    }

    /// Converts a string value to the raw encoding and returns its buffer
    /// for in-place modification (APPEND, SETRANGE, SETBIT...).
    pub fn make_raw(&mut self) -> Option<&mut Vec<u8>> {
        if !matches!(self, Value::Raw(_)) {
            let mut tmp = [0u8; 20];
            let bytes = self.str_bytes(&mut tmp)?.to_vec();
            *self = Value::Raw(Box::new(bytes));
        }
        match self {
            Value::Raw(v) => Some(v),
            _ => None,
        }
    }

    /// Approximate heap bytes owned by this value (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) | Value::Inline(_) => 0,
            Value::Emb(s) => s.alloc_size(),
            Value::Raw(v) => std::mem::size_of::<Vec<u8>>() + v.capacity(),
            Value::List(l) => l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(v) => v.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Stream(x) => x.heap_size(),
            Value::Corrupt(c) => c.body.capacity(),
        }
    }

    /// Mixes a collection into a DEBUG DIGEST (strings are handled by the caller).
    pub fn collection_digest(&self, digest: &mut [u8; 20]) {
        match self {
            Value::List(l) => l.digest(digest),
            Value::Hash(h) => h.digest(digest),
            Value::Set(v) => v.digest(digest),
            Value::ZSet(z) => z.digest(digest),
            Value::Stream(x) => x.digest(digest),
            // The payload's bytes stand for the contents.
            Value::Corrupt(c) => crate::util::digest::mix_digest(digest, &c.body),
            _ => {}
        }
    }
}

impl Clone for Value {
    /// A deep copy (COPY, and later RDB/replication helpers).
    fn clone(&self) -> Value {
        match self {
            Value::Int(n) => Value::Int(*n),
            Value::Inline(s) => Value::Inline(*s),
            Value::Emb(s) => Value::Emb(s.clone()),
            Value::Raw(b) => Value::Raw(b.clone()),
            Value::List(l) => Value::List(l.clone()),
            Value::Hash(h) => Value::Hash(h.clone()),
            Value::Set(v) => Value::Set(v.clone()),
            Value::ZSet(z) => Value::ZSet(z.clone()),
            Value::Stream(x) => Value::Stream(x.clone()),
            Value::Corrupt(c) => Value::Corrupt(c.clone()),
        }
    }
}

impl Obj {
    pub fn new(value: Value) -> Obj {
        Obj { value }
    }
}

// ---- LRU/LFU access stamps (Redis's evict.c LFU helpers, db.c updateLFU) ----

/// The access-stamp settings (maxmemory-policy's LFU or LRU,
/// lfu-log-factor, lfu-decay-time), read on every key lookup. Each `Db`
/// keeps a copy (`DbState::stamps`), which `Server` refreshes from the
/// config; no global holds them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AccessStamps {
    /// An LFU policy is selected (the `lru` field holds LFU data).
    pub lfu: bool,
    pub log_factor: u32,
    pub decay_time: u32,
}

impl Default for AccessStamps {
    /// Redis's defaults: LRU stamps, lfu-log-factor 10, lfu-decay-time 1.
    fn default() -> AccessStamps {
        AccessStamps {
            lfu: false,
            log_factor: 10,
            decay_time: 1,
        }
    }
}

/// Counter a new object starts with (LFU_INIT_VAL), so new keys are not
/// evicted before they had a chance to be used.
const LFU_INIT_VAL: u32 = 5;

impl AccessStamps {
    /// The stamp a newly created object gets.
    #[inline]
    pub fn initial(&self) -> u32 {
        if self.lfu {
            (lfu_minutes() << 8) | LFU_INIT_VAL
        } else {
            clock::lru_clock()
        }
    }

    /// Records an access to the object whose stamp is `lru` (Redis's
    /// lookupKey touch / updateLFU).
    #[inline]
    pub fn touch(&self, lru: &mut u32) {
        let stamp = if self.lfu {
            let counter = log_incr(decr_and_return(*lru, self.decay_time), self.log_factor);
            (lfu_minutes() << 8) | counter
        } else {
            clock::lru_clock()
        };
        // The LRU clock ticks once a second: a key read again within it
        // keeps its stamp, and its entry's cache line stays clean.
        if *lru != stamp {
            *lru = stamp;
        }
    }
}

/// LFUGetTimeInMinutes: 16 bits of unix minutes.
fn lfu_minutes() -> u32 {
    ((clock::wall_ms() / 1000 / 60) & 65535) as u32
}

/// LFUDecrAndReturn: the counter after decaying one step per `decay`
/// (lfu-decay-time) minutes since the last access (OBJECT FREQ).
pub fn decr_and_return(stamp: u32, decay: u32) -> u32 {
    let ldt = stamp >> 8;
    let counter = stamp & 255;
    let now = lfu_minutes();
    let elapsed = if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    };
    let periods = elapsed.checked_div(decay).unwrap_or(0);
    counter.saturating_sub(periods)
}

thread_local! {
    // Stays thread-local: it coordinates nothing, it only has to be cheap
    // (one per LFU access) and need not be reproducible.
    static RNG: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) };
}

/// A cheap uniform value in [0, 1) (xorshift64*).
fn unit_random() -> f64 {
    RNG.with(|r| {
        let mut x = r.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// LFULogIncr: increments the 8-bit counter with probability
/// 1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1).
fn log_incr(counter: u32, log_factor: u32) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let factor = log_factor as f64;
    let p = 1.0 / (base * factor + 1.0);
    if unit_random() < p {
        counter + 1
    } else {
        counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfu_counter_grows_logarithmically_and_saturates() {
        let mut c = LFU_INIT_VAL;
        for _ in 0..100 {
            c = log_incr(c, 10);
        }
        // With factor 10, 100 hits reach roughly 10-20 (Redis's table).
        assert!(c > LFU_INIT_VAL && c < 40, "{}", c);
        assert_eq!(log_incr(255, 10), 255);
    }

    #[test]
    fn decay_subtracts_one_per_period() {
        let now = lfu_minutes();
        let stamp = (now.wrapping_sub(3) & 65535) << 8 | 10;
        assert_eq!(decr_and_return(stamp, 1), 7);
        assert_eq!(decr_and_return((now << 8) | 10, 1), 10);
    }

    #[test]
    fn sizes_stay_compact() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
        // The LRU/LFU stamp lives in the dict entry's meta word.
        assert_eq!(std::mem::size_of::<Obj>(), 16);
    }

    #[test]
    fn encodings_match_redis() {
        assert_eq!(Value::from_bytes(b"12345").encoding_name(), "int");
        assert_eq!(Value::from_bytes(b"-0").encoding_name(), "embstr");
        assert_eq!(Value::from_bytes(b"012").encoding_name(), "embstr");
        assert_eq!(Value::from_bytes(&[b'a'; 44]).encoding_name(), "embstr");
        assert_eq!(Value::from_bytes(&[b'a'; 45]).encoding_name(), "raw");
        let mut v = Value::from_bytes(b"abc");
        v.make_raw().unwrap().extend_from_slice(b"d");
        assert_eq!(v.encoding_name(), "raw");
        let mut t = [0u8; 20];
        assert_eq!(v.str_bytes(&mut t).unwrap(), b"abcd");
    }

    #[test]
    fn long_unmodified_strings_are_one_allocation() {
        let mut v = Value::from_bytes(&[b'x'; 100]);
        assert!(matches!(v, Value::Emb(_)));
        assert_eq!(v.encoding_name(), "raw");
        assert_eq!(v.heap_size(), 104);
        v.make_raw().unwrap().extend_from_slice(b"y");
        assert!(matches!(v, Value::Raw(_)));
        assert_eq!(v.encoding_name(), "raw");
        assert_eq!(v.str_len(), Some(101));
    }
}
