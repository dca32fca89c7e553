//! Values stored in the keyspace (Redis's `robj`): the type, the encoding
//! that `OBJECT ENCODING` reports, and the LRU/LFU access stamp kept in
//! every object's 24-bit `lru` field (set on creation, updated on access
//! with the `AccessStamps` settings each `Db` holds; the eviction service
//! reads it).
//!
//! Strings follow Redis's three encodings: `int` (a number that round-trips
//! through `string2ll`), `embstr` (≤ 44 bytes, never modified in place) and
//! `raw` (anything larger, or any string changed by APPEND/SETRANGE/SETBIT).
//! Strings of up to 7 bytes and integers of up to 60 bits are the 8-byte
//! `Value` word itself (no allocation); everything else is one tagged
//! pointer (see [`Value`]). A string that was never modified is one `Sds` allocation whatever its
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
pub const INLINE_CAP: usize = 7;

/// A keyspace value in one tagged word (8 bytes): the three low bits say
/// what it is; a heap value is an 8-aligned pointer with its tag in those
/// bits, a short string (up to [`INLINE_CAP`] bytes) or an integer of up
/// to 60 bits is the word itself. Read it through [`Value::get`] and
/// [`Value::get_mut`] ([`ValueRef`], [`ValueMut`]); build it with the
/// constructors below. Its encodings, as OBJECT ENCODING reports them:
///
/// - `int`: an integer (one of more than 60 bits is boxed);
/// - `embstr`: up to 7 bytes inline, or an unmodified string of up to 44
///   bytes as one `Sds` allocation;
/// - `raw`: an unmodified longer string (still one `Sds`), or any string
///   modified in place (a growable `Box<Vec<u8>>`);
/// - collections and streams behind a pointer;
/// - `Corrupt`: a RESTORE / RDB payload that passed Redis's shallow checks
///   but failed ferrokv's deep ones while deep sanitization was off
///   (`sanitize-dump-payload no`): kept as its bytes, so the key exists
///   (TYPE, DEL, DUMP...) but commands reading its contents are refused.
pub struct Value(u64);

const TAG: u64 = 7;
/// An integer (bit 3 clear, the number in bits 4..64) or an inline string
/// (bit 3 set, its length in bits 4..8, its bytes in the other 7 bytes).
const T_IMM: u64 = 0;
const T_EMB: u64 = 1;
const T_RAW: u64 = 2;
const T_LIST: u64 = 3;
const T_HASH: u64 = 4;
const T_SET: u64 = 5;
const T_ZSET: u64 = 6;
/// A boxed [`Other`]: streams, corrupt payloads, integers of over 60 bits.
const T_OTHER: u64 = 7;
const IMM_STR: u64 = 8;
const IMM_INT_MIN: i64 = -(1 << 59);
const IMM_INT_MAX: i64 = (1 << 59) - 1;
/// Where an inline string's bytes start in the word's memory: the byte
/// that holds the tag is the least significant one.
const INLINE_OFF: usize = if cfg!(target_endian = "little") { 1 } else { 0 };

/// The rarer values behind [`T_OTHER`].
enum Other {
    Int(i64),
    Stream(Box<StreamValue>),
    Corrupt(Box<CorruptValue>),
}

/// A view of a [`Value`] (what the enum used to be).
pub enum ValueRef<'a> {
    Int(i64),
    /// embstr of up to [`INLINE_CAP`] bytes.
    Inline(&'a [u8]),
    /// An unmodified string in one `Sds`: embstr up to 44 bytes, raw above.
    Emb(&'a [u8]),
    /// raw string: any length, modified in place.
    Raw(&'a Vec<u8>),
    List(&'a ListValue),
    Hash(&'a HashValue),
    Set(&'a SetValue),
    ZSet(&'a ZSetValue),
    Stream(&'a StreamValue),
    Corrupt(&'a CorruptValue),
}

/// A mutable view of a [`Value`] (strings other than raw ones are
/// replaced, not changed in place).
pub enum ValueMut<'a> {
    Int(i64),
    Inline(&'a [u8]),
    Emb(&'a [u8]),
    Raw(&'a mut Vec<u8>),
    List(&'a mut ListValue),
    Hash(&'a mut HashValue),
    Set(&'a mut SetValue),
    ZSet(&'a mut ZSetValue),
    Stream(&'a mut StreamValue),
    Corrupt(&'a CorruptValue),
}

// SAFETY: a Value owns what its pointer names (as the Box or Sds it was
// made from would), and those are Send and Sync (checked below).
unsafe impl Send for Value {}
// SAFETY: as above; &Value only gives out shared views.
unsafe impl Sync for Value {}

#[allow(dead_code)]
fn value_parts_are_send_and_sync() {
    fn ok<T: Send + Sync>() {}
    ok::<Sds>();
    ok::<Vec<u8>>();
    ok::<ListValue>();
    ok::<HashValue>();
    ok::<SetValue>();
    ok::<ZSetValue>();
    ok::<StreamValue>();
    ok::<CorruptValue>();
}

impl Value {
    #[inline]
    fn tag(&self) -> u64 {
        self.0 & TAG
    }

    #[inline]
    fn ptr<T>(&self) -> *mut T {
        (self.0 & !TAG) as usize as *mut T
    }

    #[inline]
    fn boxed<T>(b: Box<T>, tag: u64) -> Value {
        let p = Box::into_raw(b) as usize as u64;
        debug_assert_eq!(p & TAG, 0, "boxed values are 8-aligned");
        Value(p | tag)
    }

    /// An integer value (encoding `int`).
    #[inline]
    pub fn int(n: i64) -> Value {
        if (IMM_INT_MIN..=IMM_INT_MAX).contains(&n) {
            Value(((n as u64) << 4) | T_IMM)
        } else {
            Value::boxed(Box::new(Other::Int(n)), T_OTHER)
        }
    }

    pub fn list(l: ListValue) -> Value {
        Value::boxed(Box::new(l), T_LIST)
    }

    pub fn hash(h: HashValue) -> Value {
        Value::boxed(Box::new(h), T_HASH)
    }

    pub fn set(v: SetValue) -> Value {
        Value::boxed(Box::new(v), T_SET)
    }

    pub fn zset(z: ZSetValue) -> Value {
        Value::boxed(Box::new(z), T_ZSET)
    }

    pub fn stream(x: StreamValue) -> Value {
        Value::boxed(Box::new(Other::Stream(Box::new(x))), T_OTHER)
    }

    pub fn corrupt(c: CorruptValue) -> Value {
        Value::boxed(Box::new(Other::Corrupt(Box::new(c))), T_OTHER)
    }

    fn emb(s: Sds) -> Value {
        let p = s.into_raw().as_ptr() as usize as u64;
        debug_assert_eq!(p & TAG, 0, "Sds blocks are 8-aligned");
        Value(p | T_EMB)
    }

    /// A short string inline (`b.len() <= INLINE_CAP`).
    #[inline]
    fn inline(b: &[u8]) -> Value {
        debug_assert!(b.len() <= INLINE_CAP);
        let mut w = [0u8; 8];
        w[INLINE_OFF..INLINE_OFF + b.len()].copy_from_slice(b);
        Value(u64::from_ne_bytes(w) | ((b.len() as u64) << 4) | IMM_STR | T_IMM)
    }

    /// The bytes of an inline string (the word is one).
    #[inline]
    fn inline_bytes(&self) -> &[u8] {
        let len = ((self.0 >> 4) & 15) as usize;
        // SAFETY: the word's own 8 bytes, borrowed with self; INLINE_OFF
        // + len <= 8 (len <= INLINE_CAP = 7, set by `inline`).
        unsafe {
            std::slice::from_raw_parts((&self.0 as *const u64 as *const u8).add(INLINE_OFF), len)
        }
    }

    /// What the value is, borrowed.
    #[inline]
    pub fn get(&self) -> ValueRef<'_> {
        // SAFETY: in every arm, a pointer tag names the live block of that
        // type this value owns, borrowed for as long as &self.
        unsafe {
            match self.tag() {
                T_IMM if self.0 & IMM_STR != 0 => ValueRef::Inline(self.inline_bytes()),
                T_IMM => ValueRef::Int((self.0 as i64) >> 4),
                T_EMB => ValueRef::Emb(Sds::bytes_at(std::ptr::NonNull::new_unchecked(self.ptr()))),
                T_RAW => ValueRef::Raw(&*self.ptr::<Vec<u8>>()),
                T_LIST => ValueRef::List(&*self.ptr::<ListValue>()),
                T_HASH => ValueRef::Hash(&*self.ptr::<HashValue>()),
                T_SET => ValueRef::Set(&*self.ptr::<SetValue>()),
                T_ZSET => ValueRef::ZSet(&*self.ptr::<ZSetValue>()),
                _ => match &*self.ptr::<Other>() {
                    Other::Int(n) => ValueRef::Int(*n),
                    Other::Stream(x) => ValueRef::Stream(x),
                    Other::Corrupt(c) => ValueRef::Corrupt(c),
                },
            }
        }
    }

    /// What the value is, mutable.
    #[inline]
    pub fn get_mut(&mut self) -> ValueMut<'_> {
        // SAFETY: in every arm, as in `get`, with exclusive access through
        // &mut self.
        unsafe {
            match self.tag() {
                T_IMM if self.0 & IMM_STR != 0 => ValueMut::Inline(self.inline_bytes()),
                T_IMM => ValueMut::Int((self.0 as i64) >> 4),
                T_EMB => ValueMut::Emb(Sds::bytes_at(std::ptr::NonNull::new_unchecked(self.ptr()))),
                T_RAW => ValueMut::Raw(&mut *self.ptr::<Vec<u8>>()),
                T_LIST => ValueMut::List(&mut *self.ptr::<ListValue>()),
                T_HASH => ValueMut::Hash(&mut *self.ptr::<HashValue>()),
                T_SET => ValueMut::Set(&mut *self.ptr::<SetValue>()),
                T_ZSET => ValueMut::ZSet(&mut *self.ptr::<ZSetValue>()),
                _ => match &mut *self.ptr::<Other>() {
                    Other::Int(n) => ValueMut::Int(*n),
                    Other::Stream(x) => ValueMut::Stream(x),
                    Other::Corrupt(c) => ValueMut::Corrupt(c),
                },
            }
        }
    }

    /// The list, if the value is one (one tag test: the collection
    /// handlers' getter, `commands::typed`).
    #[inline]
    pub fn as_list_mut(&mut self) -> Option<&mut ListValue> {
        // SAFETY: the tag says the pointer names this value's ListValue.
        (self.tag() == T_LIST).then(|| unsafe { &mut *self.ptr::<ListValue>() })
    }

    /// As [`Value::as_list_mut`], for a hash.
    #[inline]
    pub fn as_hash_mut(&mut self) -> Option<&mut HashValue> {
        // SAFETY: the tag says the pointer names this value's HashValue.
        (self.tag() == T_HASH).then(|| unsafe { &mut *self.ptr::<HashValue>() })
    }

    /// As [`Value::as_list_mut`], for a set.
    #[inline]
    pub fn as_set_mut(&mut self) -> Option<&mut SetValue> {
        // SAFETY: the tag says the pointer names this value's SetValue.
        (self.tag() == T_SET).then(|| unsafe { &mut *self.ptr::<SetValue>() })
    }

    /// As [`Value::as_list_mut`], for a sorted set.
    #[inline]
    pub fn as_zset_mut(&mut self) -> Option<&mut ZSetValue> {
        // SAFETY: the tag says the pointer names this value's ZSetValue.
        (self.tag() == T_ZSET).then(|| unsafe { &mut *self.ptr::<ZSetValue>() })
    }

    /// As [`Value::as_list_mut`], for a stream.
    #[inline]
    pub fn as_stream_mut(&mut self) -> Option<&mut StreamValue> {
        match self.get_mut() {
            ValueMut::Stream(x) => Some(x),
            _ => None,
        }
    }

    /// The stream, if the value is one, moved out (tests).
    #[cfg(test)]
    pub fn into_stream(self) -> Option<Box<StreamValue>> {
        if !matches!(self.get(), ValueRef::Stream(_)) {
            return None;
        }
        let p = self.ptr::<Other>();
        std::mem::forget(self);
        // SAFETY: a stream's word owns a Box<Other>; `self` was forgotten,
        // so the box is taken back (and freed) once, here.
        match *unsafe { Box::from_raw(p) } {
            Other::Stream(x) => Some(x),
            _ => None,
        }
    }
}

impl Drop for Value {
    #[inline]
    fn drop(&mut self) {
        // Integers and inline strings own nothing: no call for them.
        if self.tag() != T_IMM {
            // SAFETY: this is the value's drop.
            unsafe { self.drop_heap() };
        }
    }
}

impl Value {
    /// Frees what a heap value's pointer names.
    ///
    /// # Safety
    /// Only from `Drop`: the value is not used afterwards.
    #[inline(never)]
    unsafe fn drop_heap(&mut self) {
        // SAFETY: in every arm, the tag names the type of the block this
        // value owns; it is freed once, here (the caller's contract).
        unsafe {
            match self.tag() {
                T_IMM => {}
                T_EMB => drop(Sds::from_raw(std::ptr::NonNull::new_unchecked(self.ptr()))),
                T_RAW => drop(Box::from_raw(self.ptr::<Vec<u8>>())),
                T_LIST => drop(Box::from_raw(self.ptr::<ListValue>())),
                T_HASH => drop(Box::from_raw(self.ptr::<HashValue>())),
                T_SET => drop(Box::from_raw(self.ptr::<SetValue>())),
                T_ZSET => drop(Box::from_raw(self.ptr::<ZSetValue>())),
                _ => drop(Box::from_raw(self.ptr::<Other>())),
            }
        }
    }
}

/// The payload of a [`ValueRef::Corrupt`].
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
                return Value::int(n);
            }
        }
        Value::embstr(b)
    }

    /// A string that keeps exactly these bytes as embstr/raw (no int
    /// conversion): what Redis does for values it does not try to encode.
    pub fn embstr(b: &[u8]) -> Value {
        if b.len() <= INLINE_CAP {
            Value::inline(b)
        } else if b.len() <= Sds::MAX_LEN {
            Value::emb(Sds::new(b))
        } else {
            Value::raw(b.to_vec())
        }
    }

    pub fn raw(v: Vec<u8>) -> Value {
        Value::boxed(Box::new(v), T_RAW)
    }

    pub fn obj_type(&self) -> ObjType {
        match self.tag() {
            T_IMM | T_EMB | T_RAW => ObjType::String,
            T_LIST => ObjType::List,
            T_HASH => ObjType::Hash,
            T_SET => ObjType::Set,
            T_ZSET => ObjType::ZSet,
            _ => match self.get() {
                ValueRef::Int(_) => ObjType::String,
                ValueRef::Corrupt(c) => c.obj_type,
                _ => ObjType::Stream,
            },
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding_name(&self) -> &'static str {
        match self.get() {
            ValueRef::Int(_) => "int",
            ValueRef::Emb(s) if s.len() > EMBSTR_SIZE_LIMIT => "raw",
            ValueRef::Inline(_) | ValueRef::Emb(_) => "embstr",
            ValueRef::Raw(_) => "raw",
            ValueRef::List(l) => l.encoding_name(),
            ValueRef::Hash(h) => h.encoding_name(),
            ValueRef::Set(v) => v.encoding_name(),
            ValueRef::ZSet(z) => z.encoding_name(),
            ValueRef::Stream(_) => "stream",
            ValueRef::Corrupt(c) => c.encoding,
        }
    }

    pub fn is_string(&self) -> bool {
        self.obj_type() == ObjType::String
    }

    /// The bytes of a string value; integers are formatted into `tmp`.
    /// Returns None for non-string types.
    #[inline]
    pub fn str_bytes<'a>(&'a self, tmp: &'a mut [u8; 20]) -> Option<&'a [u8]> {
        match self.get() {
            ValueRef::Int(n) => Some(num::format_i64(n, tmp)),
            ValueRef::Inline(s) | ValueRef::Emb(s) => Some(s),
            ValueRef::Raw(v) => Some(v.as_slice()),
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
        if self.tag() != T_RAW {
            let mut tmp = [0u8; 20];
            let bytes = self.str_bytes(&mut tmp)?.to_vec();
            *self = Value::raw(bytes);
        }
        match self.get_mut() {
            ValueMut::Raw(v) => Some(v),
            _ => None,
        }
    }

    /// Approximate heap bytes owned by this value (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        let other = if self.tag() == T_OTHER {
            std::mem::size_of::<Other>()
        } else {
            0
        };
        other
            + match self.get() {
                ValueRef::Int(_) | ValueRef::Inline(_) => 0,
                ValueRef::Emb(s) => Sds::alloc_size_for(s.len()),
                ValueRef::Raw(v) => std::mem::size_of::<Vec<u8>>() + v.capacity(),
                ValueRef::List(l) => l.heap_size(),
                ValueRef::Hash(h) => h.heap_size(),
                ValueRef::Set(v) => v.heap_size(),
                ValueRef::ZSet(z) => z.heap_size(),
                ValueRef::Stream(x) => x.heap_size(),
                ValueRef::Corrupt(c) => c.body.capacity(),
            }
    }

    /// Mixes a collection into a DEBUG DIGEST (strings are handled by the caller).
    pub fn collection_digest(&self, digest: &mut [u8; 20]) {
        match self.get() {
            ValueRef::List(l) => l.digest(digest),
            ValueRef::Hash(h) => h.digest(digest),
            ValueRef::Set(v) => v.digest(digest),
            ValueRef::ZSet(z) => z.digest(digest),
            ValueRef::Stream(x) => x.digest(digest),
            // The payload's bytes stand for the contents.
            ValueRef::Corrupt(c) => crate::util::digest::mix_digest(digest, &c.body),
            _ => {}
        }
    }
}

impl Clone for Value {
    /// A deep copy (COPY, and later RDB/replication helpers).
    fn clone(&self) -> Value {
        match self.get() {
            ValueRef::Int(n) => Value::int(n),
            ValueRef::Inline(s) => Value::inline(s),
            ValueRef::Emb(s) => Value::emb(Sds::new(s)),
            ValueRef::Raw(b) => Value::raw(b.clone()),
            ValueRef::List(l) => Value::list(l.clone()),
            ValueRef::Hash(h) => Value::hash(h.clone()),
            ValueRef::Set(v) => Value::set(v.clone()),
            ValueRef::ZSet(z) => Value::zset(z.clone()),
            ValueRef::Stream(x) => Value::stream(x.clone()),
            ValueRef::Corrupt(c) => Value::corrupt(c.clone()),
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
        assert_eq!(std::mem::size_of::<Value>(), 8);
        // The LRU/LFU stamp lives in the dict entry's meta word.
        assert_eq!(std::mem::size_of::<Obj>(), 8);
    }

    #[test]
    fn every_kind_round_trips_through_the_word() {
        for n in [
            0,
            1,
            -1,
            IMM_INT_MAX,
            IMM_INT_MIN,
            IMM_INT_MAX + 1,
            IMM_INT_MIN - 1,
            i64::MAX,
            i64::MIN,
        ] {
            let v = Value::int(n);
            assert!(matches!(v.get(), ValueRef::Int(m) if m == n), "{n}");
            assert!(matches!(v.clone().get(), ValueRef::Int(m) if m == n), "{n}");
            assert_eq!(v.encoding_name(), "int");
            assert_eq!(v.obj_type(), ObjType::String);
        }
        for len in 0..=60usize {
            let b: Vec<u8> = (0..len)
                .map(|i| (i as u8).wrapping_mul(37) | 0x80)
                .collect();
            let v = Value::embstr(&b);
            let mut t = [0u8; 20];
            assert_eq!(v.str_bytes(&mut t), Some(&b[..]));
            assert_eq!(v.clone().str_bytes(&mut t), Some(&b[..]));
            assert_eq!(v.encoding_name(), if len > 44 { "raw" } else { "embstr" });
            assert_eq!(v.heap_size() == 0, len <= INLINE_CAP);
        }
        let mut r = Value::raw(b"ab".to_vec());
        r.make_raw().unwrap().push(b'c');
        assert!(matches!(r.get(), ValueRef::Raw(v) if v == b"abc"));
        let v = Value::list(ListValue::default());
        assert_eq!(v.obj_type(), ObjType::List);
        let v = Value::stream(StreamValue::default());
        assert_eq!(v.obj_type(), ObjType::Stream);
        assert_eq!(v.encoding_name(), "stream");
        assert!(v.clone().into_stream().is_some());
        assert!(Value::int(i64::MAX).into_stream().is_none());
        assert!(Value::int(5).into_stream().is_none());
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
        assert!(matches!(v.get(), ValueRef::Emb(_)));
        assert_eq!(v.encoding_name(), "raw");
        assert_eq!(v.heap_size(), 104);
        v.make_raw().unwrap().extend_from_slice(b"y");
        assert!(matches!(v.get(), ValueRef::Raw(_)));
        assert_eq!(v.encoding_name(), "raw");
        assert_eq!(v.str_len(), Some(101));
    }
}
