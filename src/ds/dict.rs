//! `ds::dict` — ferrokv's own chained hash table, modelled on Redis's `dict.c`.
//!
//! This module owns:
//! * [`Dict`]: a power-of-two, separately chained hash table with two tables
//!   and a rehash index, doing *incremental* rehashing exactly like Redis
//!   (one bucket moved per mutating access, or in bulk via
//!   [`Dict::rehash_steps`] / [`Dict::rehash_for`] from a cron).
//! * The process-wide keyed hash ([`hash_bytes`], [`hash_bytes_nocase`]),
//!   SipHash-1-3 seeded randomly once per process (hash-flooding resistant).
//! * The global resize policy ([`ResizePolicy`], [`set_resize_policy`]), the
//!   equivalent of Redis's `dict_can_resize`, switched to `Avoid` while a fork
//!   child is alive so that copy-on-write pages are not touched needlessly.
//! * Redis-compatible helpers built on the table layout: reverse-binary
//!   cursor [`Dict::scan`], [`Dict::random_entry`], [`Dict::fair_random_entry`],
//!   [`Dict::some_entries`] (eviction sampling), [`Dict::stats`]
//!   (`DEBUG HTSTATS` text) and memory accounting.
//!
//! The iterators live in `dict_iter.rs`, the API of dicts with a meta
//! word per entry (`Dict<K, V, true>`) in `dict_meta.rs` (child modules).
//!
//! Keys are stored as bytes inside the entries: insertions take anything
//! `AsRef<[u8]>`, lookups `&[u8]`, and iteration, SCAN and sampling hand out
//! `&[u8]`; `K` is only the owned key type `remove` and `drain` rebuild
//! (`remove_value` builds none). Per-entry memory is one slab block,
//! `[next 4][length/flags/meta word 4][val][key bytes]` (`dict_entry`, no
//! cached hash, no separate key allocation up to 126 bytes); each bucket
//! and chain link is a 32-bit handle of such a block (4 bytes).

use rand::Rng;
use std::fmt;
use std::fmt::Write as _;
use std::mem;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Initial size of every hash table (`DICT_HT_INITIAL_SIZE`).
pub const DICT_HT_INITIAL_SIZE: usize = 4;
/// Load factor above which we expand even when resizing is avoided
/// (`dict_force_resize_ratio`).
pub const DICT_FORCE_RESIZE_RATIO: usize = 5;
/// Minimal fill percentage below which a table should be shrunk
/// (`HASHTABLE_MIN_FILL`).
pub const HASHTABLE_MIN_FILL: usize = 10;
const DICT_STATS_VECTLEN: usize = 50;
const GETFAIR_NUM_ENTRIES: usize = 15;

// ---------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------

/// Global: one random key for the process, fixed once (as Redis's
/// dict_hash_function_seed).
static HASH_KEY: OnceLock<(u64, u64)> = OnceLock::new();

/// The process-wide random 128-bit SipHash key.
#[inline]
fn key() -> (u64, u64) {
    *HASH_KEY.get_or_init(|| {
        use rand::RngCore;
        let mut r = rand::rngs::OsRng;
        (r.next_u64(), r.next_u64())
    })
}

#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

/// One-shot SipHash-c-d of `data` under key (k0, k1).
#[inline]
fn siphash<const C: usize, const D: usize>(k0: u64, k1: u64, data: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f6d6570736575,
        k1 ^ 0x646f72616e646f6d,
        k0 ^ 0x6c7967656e657261,
        k1 ^ 0x7465646279746573,
    ];
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let m = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        v[3] ^= m;
        for _ in 0..C {
            sip_round(&mut v);
        }
        v[0] ^= m;
    }
    let mut b = (data.len() as u64) << 56;
    for (i, &byte) in chunks.remainder().iter().enumerate() {
        b |= (byte as u64) << (8 * i);
    }
    v[3] ^= b;
    for _ in 0..C {
        sip_round(&mut v);
    }
    v[0] ^= b;
    v[2] ^= 0xff;
    for _ in 0..D {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// Keyed (per-process random key) SipHash-1-2 of `b`, the variant Redis
/// uses for its dicts: resistant to hash flooding, and cheap for short keys.
#[inline]
pub fn hash_bytes(b: &[u8]) -> u64 {
    let (k0, k1) = key();
    siphash::<1, 2>(k0, k1, b)
}

/// Like [`hash_bytes`] but ASCII case-insensitive:
/// `hash_bytes_nocase(b"FoO") == hash_bytes(b"foo")`.
pub fn hash_bytes_nocase(b: &[u8]) -> u64 {
    let lower: Vec<u8> = b.iter().map(|c| c.to_ascii_lowercase()).collect();
    hash_bytes(&lower)
}

// ---------------------------------------------------------------------------
// Resize policy
// ---------------------------------------------------------------------------

/// Global resize policy (Redis `dict_can_resize`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ResizePolicy {
    /// Expand at load factor 1, shrinking allowed.
    Enable = 0,
    /// A fork child is alive: expand only past load factor
    /// [`DICT_FORCE_RESIZE_RATIO`], never shrink.
    Avoid = 1,
    /// Never expand (besides the first allocation) nor shrink, and
    /// rehashes in progress do not advance (a forked child).
    Forbid = 2,
}

/// Global: every table (keyspace, sets, hashes...) consults it when it
/// grows or rehashes, and none has a server to read it from; it changes
/// when a fork child starts or ends (copy-on-write).
static RESIZE_POLICY: AtomicU8 = AtomicU8::new(ResizePolicy::Enable as u8);

/// Decides whether a guarded dict may grow its table by `more_mem` bytes
/// at load factor `ratio` (Redis's dictType `expandAllowed`: the keyspace
/// does not grow past maxmemory). Installed once by a higher layer (a
/// fixed function pointer: global, like the policy above).
static EXPAND_GUARD: OnceLock<fn(usize, f64) -> bool> = OnceLock::new();

/// Installs the expansion guard used by dicts marked with
/// [`Dict::set_guarded`].
pub fn set_expand_guard(f: fn(usize, f64) -> bool) {
    let _ = EXPAND_GUARD.set(f);
}

/// Set the process-wide resize policy.
pub fn set_resize_policy(p: ResizePolicy) {
    RESIZE_POLICY.store(p as u8, Ordering::Relaxed);
}

/// Tests that depend on (or change) the global resize policy hold this
/// lock (the dict's and the sorted-set index's); taking it resets the
/// policy to `Enable`.
#[cfg(test)]
pub(crate) fn policy_lock_for_tests() -> std::sync::MutexGuard<'static, ()> {
    static POLICY_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let g = POLICY_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    set_resize_policy(ResizePolicy::Enable);
    g
}

/// Whether a rehash between tables of `s0` and `s1` buckets may advance
/// under the current policy, as Redis 7.0's dictRehash decides: always
/// under `Enable`, never under `Forbid`, under `Avoid` only when the sizes
/// differ by [`DICT_FORCE_RESIZE_RATIO`] or more.
pub(crate) fn rehash_allowed(s0: usize, s1: usize) -> bool {
    let (s0, s1) = (s0.max(1), s1.max(1));
    match resize_policy() {
        ResizePolicy::Enable => true,
        ResizePolicy::Forbid => false,
        ResizePolicy::Avoid => {
            let ratio = if s1 > s0 { s1 / s0 } else { s0 / s1 };
            ratio >= DICT_FORCE_RESIZE_RATIO
        }
    }
}

/// Current process-wide resize policy.
pub fn resize_policy() -> ResizePolicy {
    match RESIZE_POLICY.load(Ordering::Relaxed) {
        0 => ResizePolicy::Enable,
        1 => ResizePolicy::Avoid,
        _ => ResizePolicy::Forbid,
    }
}

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

use super::dict_entry::{Entry, Link};
pub use super::dict_entry::{MetaMut, META_MAX};

/// Bytes of one bucket (and of one chain link): a 32-bit entry handle.
pub const BUCKET_BYTES: usize = mem::size_of::<Link<(), false>>();
use crate::alloc::prefault::Block;

/// Drop a chain iteratively (a recursive drop would nest once per node).
fn drop_chain<V, const M: bool>(mut cur: Link<V, M>) {
    while let Some(mut e) = cur {
        cur = e.next_mut().take();
    }
}

/// `key`'s entry in `bucket`'s chain, or else the bucket's head link,
/// where a new entry goes. Inserting at the head (as Redis's dictAddRaw)
/// writes no existing entry: appending wrote the chain's last entry, so
/// under a fork every insert copied an old page (BGSAVE under a write
/// load copied nearly the whole dataset).
#[inline]
fn find_or_head<'a, V, const M: bool>(
    bucket: &'a mut Link<V, M>,
    key: &[u8],
) -> Result<&'a mut Entry<V, M>, &'a mut Link<V, M>> {
    let head: *mut Link<V, M> = bucket;
    // SAFETY: `head` comes from the unique borrow `bucket`, valid for 'a.
    // The walk's reborrow is either returned (found) or dead before the
    // second one is made (not found), so at most one reference derived
    // from `head` is live at a time.
    match find_slot(unsafe { &mut *head }, key) {
        Some(e) => Ok(e),
        // SAFETY: see above: the walk's reborrow ended with `None`.
        None => Err(unsafe { &mut *head }),
    }
}

/// Walk `slot`'s chain to the link holding `key`, or to the trailing `None`.
#[inline]
fn find_slot<'a, V, const M: bool>(mut slot: &'a mut Link<V, M>, key: &[u8]) -> &'a mut Link<V, M> {
    loop {
        if !matches!(slot, Some(e) if !e.key_is(key)) {
            return slot;
        }
        match slot {
            Some(e) => slot = e.next_mut(),
            None => return slot,
        }
    }
}

struct Table<V, const M: bool> {
    buckets: Box<[Link<V, M>]>,
    used: usize,
}

impl<V, const M: bool> Default for Table<V, M> {
    fn default() -> Self {
        Table {
            buckets: Box::default(),
            used: 0,
        }
    }
}

impl<V, const M: bool> Drop for Table<V, M> {
    fn drop(&mut self) {
        // An empty table (the old one at the end of a rehash) has no chain
        // to walk: walking 2^23 empty buckets took milliseconds.
        if self.used > 0 {
            for b in self.buckets.iter_mut() {
                drop_chain(b.take());
            }
        }
        if self.buckets.len() >= BIG_BUCKET_ARRAY {
            if let Some(free) = BIG_FREE.get() {
                let buckets = mem::take(&mut self.buckets);
                // SAFETY: every bucket is None now (the chains were taken
                // above, or `used` was 0), so no entry is owned any more.
                free(unsafe { Block::from_boxed(buckets) });
            }
        }
    }
}

/// Bucket arrays of at least this many buckets (4 MiB) are freed by the
/// hook below when one is installed: unmapping a big array that was
/// written costs milliseconds of kernel time.
const BIG_BUCKET_ARRAY: usize = 1 << 20;

/// Frees big empty bucket arrays away from the caller (the lazy-free
/// thread). Installed once by a higher layer; global like the policy.
static BIG_FREE: OnceLock<fn(Block)> = OnceLock::new();

/// Installs the function that frees big empty bucket arrays.
pub fn set_big_free_hook(f: fn(Block)) {
    let _ = BIG_FREE.set(f);
}

/// Frees an empty bucket array given as words: a big one through the hook
/// above (off the event loop), a small one here.
fn free_bucket_words(words: Block) {
    match BIG_FREE.get() {
        Some(free) if words.len() >= BIG_BUCKET_ARRAY => free(words),
        _ => drop(words),
    }
}

impl<V, const M: bool> Table<V, M> {
    /// Allocate `n` empty buckets, `None` if the allocation fails.
    fn try_with_size(n: usize) -> Option<Self> {
        if n == 0 {
            return Some(Table {
                buckets: Vec::new().into_boxed_slice(),
                used: 0,
            });
        }
        let layout = std::alloc::Layout::array::<Link<V, M>>(n).ok()?;
        // SAFETY: `Link` is `Option<Entry>`, an `Option` of a `NonZeroU32`
        // handle, whose all-zero bit pattern is `None`. A zeroed allocation is
        // therefore `n` valid empty buckets, and large ones come straight
        // from mmap'd zero pages, so expanding a big table costs no upfront
        // memset (the latency spike Redis avoids with calloc too).
        unsafe {
            let p = std::alloc::alloc_zeroed(layout) as *mut Link<V, M>;
            if p.is_null() {
                return None;
            }
            let slice = std::ptr::slice_from_raw_parts_mut(p, n);
            Some(Table {
                buckets: Box::from_raw(slice),
                used: 0,
            })
        }
    }

    #[inline]
    fn size(&self) -> usize {
        self.buckets.len()
    }

    /// `size - 1`; for an unallocated table this is `usize::MAX`, which makes
    /// every `buckets.get(h & mask)` miss instead of panicking.
    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    #[inline]
    fn find(&self, h: u64, key: &[u8]) -> Option<&Entry<V, M>> {
        let mut cur = self.buckets.get(h as usize & self.mask())?.as_ref();
        while let Some(e) = cur {
            if e.key_is(key) {
                return Some(e);
            }
            cur = e.next().as_ref();
        }
        None
    }

    #[inline]
    fn find_mut(&mut self, h: u64, key: &[u8]) -> Option<&mut Entry<V, M>> {
        let m = self.mask();
        let mut cur = self.buckets.get_mut(h as usize & m)?.as_mut();
        while let Some(e) = cur {
            if e.key_is(key) {
                return Some(e);
            }
            cur = e.next_mut().as_mut();
        }
        None
    }
}

// ---------------------------------------------------------------------------
// Dict
// ---------------------------------------------------------------------------

/// Redis-style incrementally rehashed chained hash table.
///
/// `ht[0]` is the main table; while rehashing, `ht[1]` is the target and
/// buckets `[0, rehash_idx)` of `ht[0]` are already empty. New entries always
/// go to the target table while rehashing.
pub struct Dict<K, V, const M: bool = false> {
    ht: [Table<V, M>; 2],
    /// Next bucket of `ht[0]` to migrate; meaningful only while rehashing.
    rehash_idx: usize,
    /// Growth asks the expansion guard first (the keyspace's dicts).
    guarded: bool,
    /// How many entries carry an extra (see [`Dict::set_extra`]).
    extras: usize,
    /// The next, bigger table while `alloc::prefault` touches its pages
    /// (tables of [`PREFAULT_MIN_BUCKETS`] or more): growth goes on in
    /// `ht[0]` until it comes back, then the rehash into it starts.
    pending: grow::NextTable,
    /// The owned key type `remove` and `drain` hand back (keys are stored
    /// as bytes inside the entries).
    _key: std::marker::PhantomData<fn() -> K>,
}

impl<K: for<'k> From<&'k [u8]>, V, const M: bool> Default for Dict<K, V, M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: for<'k> From<&'k [u8]>, V, const M: bool> Dict<K, V, M> {
    /// An empty dict; no memory is allocated until the first insertion.
    pub fn new() -> Self {
        Dict {
            ht: [Table::default(), Table::default()],
            rehash_idx: 0,
            guarded: false,
            extras: 0,
            pending: grow::NextTable::default(),
            _key: std::marker::PhantomData,
        }
    }

    /// An empty dict whose growth asks the expansion guard first (see
    /// [`set_expand_guard`]).
    pub fn new_guarded() -> Self {
        let mut d = Self::new();
        d.guarded = true;
        d
    }

    /// An empty dict pre-sized for `n` entries (see [`Dict::expand`]).
    pub fn with_capacity(n: usize) -> Self {
        let mut d = Self::new();
        d.expand(n);
        d
    }

    /// Number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.ht[0].used + self.ht[1].used
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while an incremental rehash is in progress.
    #[inline]
    pub fn is_rehashing(&self) -> bool {
        !self.ht[1].buckets.is_empty()
    }

    /// Total buckets in both tables (Redis `dictSlots`).
    pub fn bucket_count(&self) -> usize {
        self.ht[0].size() + self.ht[1].size()
    }

    /// Bytes used by the dict itself: the struct, both bucket arrays and
    /// each entry's fixed part (link, value, key length). The key bytes,
    /// which live in the entries too, are not counted (callers add each
    /// key's length), nor is heap memory the values own.
    pub fn mem_overhead(&self) -> usize {
        mem::size_of::<Self>()
            + self.bucket_count() * mem::size_of::<Link<V, M>>()
            + self.len() * Entry::<V, M>::alloc_size(0)
    }

    /// Bytes one entry with a `klen`-byte key allocates: its link, value,
    /// key length and key.
    pub fn entry_size(klen: usize) -> usize {
        Entry::<V, M>::alloc_size(klen)
    }

    // ----- extras ---------------------------------------------------------
    //
    // Any entry can carry one 8-byte extra, stored after its key in the same
    // allocation (the keyspace keeps a key's expire time there, so a TTL
    // costs no second dict entry). Only entries that have one pay for it.

    /// How many entries carry an extra.
    #[inline]
    pub fn extra_count(&self) -> usize {
        self.extras
    }

    /// The extra of `key`'s entry (None if the key is absent or has none).
    #[inline]
    pub fn get_extra(&self, key: &[u8]) -> Option<u64> {
        if self.extras == 0 {
            return None;
        }
        self.find_entry(key).and_then(|e| e.extra())
    }

    /// The value and the extra of `key`'s entry.
    #[inline]
    pub fn get_with_extra(&self, key: &[u8]) -> Option<(&V, Option<u64>)> {
        self.find_entry(key).map(|e| (e.val(), e.extra()))
    }

    /// Sets (`Some`) or removes (`None`) the extra of `key`'s entry.
    /// Returns None if the key is absent, else `Some(previous extra)`.
    /// Adding or removing one reallocates the entry (in its chain).
    pub fn set_extra(&mut self, key: &[u8], extra: Option<u64>) -> Option<Option<u64>> {
        if self.is_empty() {
            return None;
        }
        let h = hash_bytes(key);
        let tables = if self.is_rehashing() { 2 } else { 1 };
        for t in self.ht[..tables].iter_mut() {
            let m = t.mask();
            let Some(bucket) = t.buckets.get_mut(h as usize & m) else {
                continue;
            };
            if let Some(e) = find_slot(bucket, key) {
                let old = e.set_extra(extra);
                match (old.is_some(), extra.is_some()) {
                    (false, true) => self.extras += 1,
                    (true, false) => self.extras -= 1,
                    _ => {}
                }
                return Some(old);
            }
        }
        None
    }

    /// Inserts a key the caller knows is absent, with an optional extra.
    #[inline]
    pub fn insert_new_with_extra(&mut self, key: &[u8], val: V, extra: Option<u64>) {
        self.insert_new_entry(key, val, extra, 0);
    }

    /// Inserts a key the caller knows is absent, with its extra and meta
    /// word (ignored unless `M`).
    #[inline]
    fn insert_new_entry(&mut self, key: &[u8], val: V, extra: Option<u64>, meta: u32) {
        debug_assert!(!self.contains_key(key), "insert_new: key already present");
        self.prepare_add();
        let h = hash_bytes(key);
        let t = if self.is_rehashing() {
            &mut self.ht[1]
        } else {
            &mut self.ht[0]
        };
        let m = t.mask();
        let slot = &mut t.buckets[h as usize & m];
        let next = slot.take();
        *slot = Some(Entry::with_meta(key, val, next, extra, meta));
        t.used += 1;
        if extra.is_some() {
            self.extras += 1;
        }
    }

    /// Like [`Dict::iter`], with each entry's extra.
    pub fn iter_extra(&self) -> impl Iterator<Item = (&[u8], &V, Option<u64>)> + '_ {
        let mut it = self.iter();
        std::iter::from_fn(move || it.next_entry().map(|e| (e.key(), e.val(), e.extra())))
    }

    /// [`Dict::scan`] with each entry's extra.
    pub fn scan_extra<F: FnMut(&[u8], &V, Option<u64>)>(&self, cursor: u64, mut f: F) -> u64 {
        self.scan_entries(cursor, |e| f(e.key(), e.val(), e.extra()))
    }

    /// [`Dict::some_entries`] with each entry's extra.
    pub fn some_entries_extra<'a, R: Rng + ?Sized>(
        &'a self,
        rng: &mut R,
        count: usize,
        out: &mut Vec<(&'a [u8], &'a V, Option<u64>)>,
    ) -> usize {
        let base = out.len();
        self.sample_some(rng, count, |slot, e| {
            let x = (e.key(), e.val(), e.extra());
            match out.get_mut(base + slot) {
                Some(o) => *o = x,
                None => out.push(x),
            }
        })
    }

    // ----- lookups --------------------------------------------------------

    #[inline]
    fn find_entry(&self, key: &[u8]) -> Option<&Entry<V, M>> {
        if self.is_empty() {
            return None;
        }
        let h = hash_bytes(key);
        if let Some(e) = self.ht[0].find(h, key) {
            return Some(e);
        }
        if self.is_rehashing() {
            self.ht[1].find(h, key)
        } else {
            None
        }
    }

    /// Read-only lookup; works during rehash (looks in both tables) but does
    /// not advance the rehash.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find_entry(key).map(|e| e.val())
    }

    /// Read-only lookup returning the stored key too.
    #[inline]
    pub fn get_key_value(&self, key: &[u8]) -> Option<(&[u8], &V)> {
        self.find_entry(key).map(|e| (e.key(), e.val()))
    }

    #[inline]
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find_entry(key).is_some()
    }

    /// Mutable lookup (Redis `dictFind`): performs one rehash step.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.get_key_value_mut(key).map(|(_, v)| v)
    }

    /// Mutable lookup returning the stored key; performs one rehash step.
    pub fn get_key_value_mut(&mut self, key: &[u8]) -> Option<(&[u8], &mut V)> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let h = hash_bytes(key);
        let rehashing = self.is_rehashing();
        let [t0, t1] = &mut self.ht;
        if let Some(e) = t0.find_mut(h, key) {
            return Some(e.key_val_mut());
        }
        if rehashing {
            t1.find_mut(h, key).map(|e| e.key_val_mut())
        } else {
            None
        }
    }

    // ----- insertion ------------------------------------------------------

    /// One rehash step + expansion check, run before every addition.
    /// Guarantees `ht[0]` is allocated afterwards.
    #[inline]
    fn prepare_add(&mut self) {
        self.rehash_step();
        self.expand_if_needed();
        if self.ht[0].size() == 0 {
            // Only reachable if the fallible first allocation failed: use the
            // infallible path (aborts on OOM like any other Box allocation).
            self.ht[0] = Table {
                buckets: (0..DICT_HT_INITIAL_SIZE).map(|_| None).collect(),
                used: 0,
            };
        }
    }

    /// Insert or replace. If `key` is present the value is replaced, the old
    /// key is kept and the old value returned. The key's bytes are copied
    /// into the entry.
    pub fn insert(&mut self, key: impl AsRef<[u8]>, val: V) -> Option<V> {
        let key = key.as_ref();
        self.prepare_add();
        let h = hash_bytes(key);
        let rehashing = self.is_rehashing();
        let [t0, t1] = &mut self.ht;
        // Masks are in range: prepare_add() allocated ht[0]; ht[1] is
        // allocated whenever `rehashing`.
        let m0 = t0.mask();
        match find_or_head(&mut t0.buckets[h as usize & m0], key) {
            Ok(e) => Some(mem::replace(e.val_mut(), val)),
            Err(head) if !rehashing => {
                let next = head.take();
                *head = Some(Entry::new(key, val, next));
                t0.used += 1;
                None
            }
            Err(_) => {
                let m1 = t1.mask();
                match find_or_head(&mut t1.buckets[h as usize & m1], key) {
                    Ok(e) => Some(mem::replace(e.val_mut(), val)),
                    Err(head) => {
                        let next = head.take();
                        *head = Some(Entry::new(key, val, next));
                        t1.used += 1;
                        None
                    }
                }
            }
        }
    }

    /// Insert a key the caller knows is absent (no chain walk).
    #[inline]
    pub fn insert_new(&mut self, key: impl AsRef<[u8]>, val: V) {
        self.insert_new_with_extra(key.as_ref(), val, None);
    }

    /// Look `key` up, inserting `(key, make_val())` if absent. Returns the
    /// value and whether it was inserted.
    pub fn get_or_insert_with(
        &mut self,
        key: &[u8],
        make_val: impl FnOnce() -> V,
    ) -> (&mut V, bool) {
        let (e, inserted) = self.entry_or_insert(key, || (make_val(), 0));
        (e.val_mut(), inserted)
    }

    /// The entry of `key`, inserting one made of `make()`'s value and meta
    /// word if absent; whether it was inserted.
    fn entry_or_insert(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> (V, u32),
    ) -> (&mut Entry<V, M>, bool) {
        self.prepare_add();
        let h = hash_bytes(key);
        let rehashing = self.is_rehashing();
        let [t0, t1] = &mut self.ht;
        let m0 = t0.mask();
        match find_or_head(&mut t0.buckets[h as usize & m0], key) {
            Ok(e) => (e, false),
            Err(head) if !rehashing => {
                t0.used += 1;
                let (v, meta) = make();
                let next = head.take();
                (
                    head.insert(Entry::with_meta(key, v, next, None, meta)),
                    true,
                )
            }
            Err(_) => {
                let m1 = t1.mask();
                match find_or_head(&mut t1.buckets[h as usize & m1], key) {
                    Ok(e) => (e, false),
                    Err(head) => {
                        t1.used += 1;
                        let (v, meta) = make();
                        let next = head.take();
                        (
                            head.insert(Entry::with_meta(key, v, next, None, meta)),
                            true,
                        )
                    }
                }
            }
        }
    }

    /// `key`'s entry, mutable, without a rehash step.
    #[inline]
    fn find_entry_mut(&mut self, key: &[u8]) -> Option<&mut Entry<V, M>> {
        if self.is_empty() {
            return None;
        }
        let h = hash_bytes(key);
        let rehashing = self.is_rehashing();
        let [t0, t1] = &mut self.ht;
        if let Some(e) = t0.find_mut(h, key) {
            return Some(e);
        }
        if rehashing {
            t1.find_mut(h, key)
        } else {
            None
        }
    }

    // ----- removal --------------------------------------------------------

    /// Remove `key`, returning the stored key and value. One rehash step.
    pub fn remove(&mut self, key: &[u8]) -> Option<(K, V)> {
        self.remove_with(key, |k| K::from(k))
    }

    /// Remove `key`, returning only the value (no key is built).
    pub fn remove_value(&mut self, key: &[u8]) -> Option<V> {
        self.remove_with(key, |_| ()).map(|(_, v)| v)
    }

    /// Remove `key`; `take_key` sees the stored key before the entry is
    /// freed. One rehash step.
    fn remove_with<R>(&mut self, key: &[u8], take_key: impl FnOnce(&[u8]) -> R) -> Option<(R, V)> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let h = hash_bytes(key);
        let tables = if self.is_rehashing() { 2 } else { 1 };
        for t in self.ht[..tables].iter_mut() {
            let m = t.mask();
            let Some(bucket) = t.buckets.get_mut(h as usize & m) else {
                continue;
            };
            let slot = find_slot(bucket, key);
            if let Some(mut e) = slot.take() {
                *slot = e.next_mut().take();
                t.used -= 1;
                if e.extra().is_some() {
                    self.extras -= 1;
                }
                return Some(e.into_val_with(take_key));
            }
        }
        None
    }

    /// Remove everything and release both tables (Redis `dictEmpty`).
    pub fn clear(&mut self) {
        self.ht = [Table::default(), Table::default()];
        self.rehash_idx = 0;
        self.extras = 0;
        self.pending.clear();
    }

    /// Keep only the entries for which `f` returns true.
    pub fn retain<F: FnMut(&[u8], &mut V) -> bool>(&mut self, mut f: F) {
        for t in self.ht.iter_mut() {
            for b in t.buckets.iter_mut() {
                let mut cur = b.take();
                while let Some(mut e) = cur {
                    cur = e.next_mut().take();
                    let (k, v) = e.key_val_mut();
                    if f(k, v) {
                        *e.next_mut() = b.take();
                        *b = Some(e);
                    } else {
                        t.used -= 1;
                        if e.extra().is_some() {
                            self.extras -= 1;
                        }
                    }
                }
            }
        }
        if self.is_rehashing() && self.ht[0].used == 0 {
            self.rehash_unchecked(0); // just completes the rehash
        }
    }

    // ----- resizing / rehashing -----------------------------------------

    /// `_dictExpand`: start growing/shrinking to the next power of two
    /// `>= size` (min 4). False if rehashing, `size < len`, same size, or the
    /// allocation failed.
    fn expand_to(&mut self, size: usize) -> bool {
        if self.is_rehashing() || self.ht[0].used > size {
            return false;
        }
        let Some(real) = size.max(DICT_HT_INITIAL_SIZE).checked_next_power_of_two() else {
            return false;
        };
        if real == self.ht[0].size() {
            return false;
        }
        let Some(t) = Table::try_with_size(real) else {
            return false;
        };
        if self.ht[0].size() == 0 {
            self.ht[0] = t; // first initialisation: nothing to rehash
        } else {
            self.ht[1] = t;
            self.rehash_idx = 0;
        }
        true
    }

    /// `dictExpand`: make room for `n` entries (e.g. before loading). Returns
    /// true if a new table was created (possibly starting a rehash).
    pub fn expand(&mut self, n: usize) -> bool {
        self.expand_to(n)
    }

    /// `_dictExpandIfNeeded` (Redis 7.0 rules plus the `Forbid` policy).
    #[inline]
    fn expand_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let size = self.ht[0].size();
        if size == 0 {
            self.expand_to(DICT_HT_INITIAL_SIZE);
            return;
        }
        let used = self.ht[0].used;
        if used >= size {
            let grow = match resize_policy() {
                ResizePolicy::Enable => true,
                ResizePolicy::Avoid => used / size > DICT_FORCE_RESIZE_RATIO,
                ResizePolicy::Forbid => false,
            };
            if grow && self.guarded && !self.expand_allowed(used, size) {
                return;
            }
            if grow && !(size >= PREFAULT_MIN_BUCKETS && self.grow_prefaulted(used)) {
                self.expand_to(used + 1);
            }
        }
    }

    /// dictTypeExpandAllowed: asks the guard about the table the next
    /// expansion would allocate.
    #[cold]
    fn expand_allowed(&self, used: usize, size: usize) -> bool {
        let Some(guard) = EXPAND_GUARD.get() else {
            return true;
        };
        let next = (used + 1)
            .max(DICT_HT_INITIAL_SIZE)
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX);
        let more = next.saturating_mul(mem::size_of::<Link<V, M>>());
        guard(more, used as f64 / size as f64)
    }

    /// Redis `htNeedsResize`: more than 4 buckets and fill below 10%.
    pub fn needs_shrink(&self) -> bool {
        let size = self.bucket_count();
        size > DICT_HT_INITIAL_SIZE && self.len() * 100 / size < HASHTABLE_MIN_FILL
    }

    /// Redis `dictResize`: start shrinking to the minimal power of two
    /// holding all entries (at least 4). Only when not rehashing and the
    /// policy is `Enable`.
    pub fn shrink_to_fit(&mut self) -> bool {
        if resize_policy() != ResizePolicy::Enable || self.is_rehashing() {
            return false;
        }
        self.expand_to(self.ht[0].used.max(DICT_HT_INITIAL_SIZE))
    }

    #[inline]
    fn rehash_step(&mut self) {
        if self.is_rehashing() {
            self.rehash_steps(1);
        }
    }

    /// `dictRehash`: migrate up to `n` buckets, visiting at most `n * 10`
    /// empty ones. Returns true if there is more to do. Like Redis 7.0, does
    /// nothing (and returns false) under `Forbid`, and under `Avoid` unless
    /// the two tables' sizes differ by [`DICT_FORCE_RESIZE_RATIO`] or more.
    pub fn rehash_steps(&mut self, n: usize) -> bool {
        if !self.is_rehashing() {
            return false;
        }
        if !rehash_allowed(self.ht[0].size(), self.ht[1].size()) {
            return false;
        }
        self.rehash_unchecked(n)
    }

    /// The body of [`Dict::rehash_steps`], whatever the resize policy.
    fn rehash_unchecked(&mut self, n: usize) -> bool {
        if !self.is_rehashing() {
            return false;
        }
        let mut empty_visits = n.saturating_mul(10);
        let mut n = n;
        let [t0, t1] = &mut self.ht;
        let m1 = t1.mask();
        'outer: while n > 0 && t0.used != 0 {
            n -= 1;
            // Buckets before rehash_idx are empty and t0.used != 0, so a
            // non-empty bucket exists at or after rehash_idx.
            let slot = loop {
                match t0.buckets.get_mut(self.rehash_idx) {
                    Some(s) if s.is_some() => break s,
                    Some(_) => {
                        self.rehash_idx += 1;
                        empty_visits -= 1;
                        if empty_visits == 0 {
                            return true;
                        }
                    }
                    None => {
                        debug_assert!(false, "rehash index past the end with entries left");
                        break 'outer;
                    }
                }
            };
            let mut cur = slot.take();
            while let Some(mut e) = cur {
                cur = e.next_mut().take();
                // m1 < t1.size(), so the index is in range.
                let dst = &mut t1.buckets[hash_bytes(e.key()) as usize & m1];
                *e.next_mut() = dst.take();
                *dst = Some(e);
                t0.used -= 1;
                t1.used += 1;
            }
            self.rehash_idx += 1;
        }
        if self.ht[0].used == 0 {
            self.ht[0] = mem::take(&mut self.ht[1]);
            self.rehash_idx = 0;
            return false;
        }
        true
    }

    /// `dictRehashMilliseconds`: rehash in chunks of 100 steps until done or
    /// `dur` elapsed. Returns the number of steps performed (multiple of 100).
    pub fn rehash_for(&mut self, dur: Duration) -> usize {
        let start = Instant::now();
        let mut rehashes = 0;
        while self.rehash_steps(100) {
            rehashes += 100;
            if start.elapsed() > dur {
                break;
            }
        }
        rehashes
    }

    // ----- iteration ------------------------------------------------------

    /// Iterate over `(&[u8], &V)` in both tables (unspecified order).
    pub fn iter(&self) -> Iter<'_, V, M> {
        Iter {
            buckets: self.ht[0].buckets.iter().chain(self.ht[1].buckets.iter()),
            cur: None,
            remaining: self.len(),
        }
    }

    /// Iterate over `(&[u8], &mut V)` in both tables.
    pub fn iter_mut(&mut self) -> IterMut<'_, V, M> {
        let remaining = self.len();
        let [t0, t1] = &mut self.ht;
        IterMut {
            buckets: t0.buckets.iter_mut().chain(t1.buckets.iter_mut()),
            cur: None,
            remaining,
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.iter_mut().map(|(_, v)| v)
    }

    /// Take every entry out, leaving the dict empty (and unallocated).
    pub fn drain(&mut self) -> IntoIter<K, V, M> {
        mem::take(self).into_iter()
    }

    // ----- SCAN -----------------------------------------------------------

    /// Redis `dictScan`: visit one cursor position (a bucket of the smaller
    /// table plus all its expansions in the larger one while rehashing),
    /// calling `f` on each entry, and return the next cursor (0 = done).
    ///
    /// Every element present for the whole duration of a full scan is
    /// reported at least once, even across expands, shrinks and rehash steps
    /// between calls; some may be reported more than once.
    pub fn scan<F: FnMut(&[u8], &V)>(&self, cursor: u64, f: F) -> u64 {
        self.scan_inner(cursor, f)
    }

    /// [`Dict::scan`] collecting key references into `out`.
    pub fn scan_keys<'a>(&'a self, cursor: u64, out: &mut Vec<&'a [u8]>) -> u64 {
        self.scan_inner(cursor, |k, _| out.push(k))
    }

    /// [`Dict::scan`] with entry references that live as long as `self`.
    pub fn scan_refs<'a, F: FnMut(&'a [u8], &'a V)>(&'a self, cursor: u64, f: F) -> u64 {
        self.scan_inner(cursor, f)
    }

    /// The loop of Redis's scanGenericCommand: `scan` steps from `cursor`
    /// until the cursor wraps to 0, `count` reply elements were gathered
    /// (each entry gives `per_entry`: 1 for keys and set members, 2 for
    /// field-value and member-score pairs), or 10×count extra steps passed
    /// (maxiterations). Returns the next cursor.
    pub fn scan_batch<'a, F: FnMut(&'a [u8], &'a V)>(
        &'a self,
        cursor: u64,
        count: usize,
        per_entry: usize,
        mut f: F,
    ) -> u64 {
        let mut gathered = 0usize;
        let mut max_iter = count.saturating_mul(10);
        let mut cur = cursor;
        loop {
            cur = self.scan_inner(cur, |k, v| {
                gathered += per_entry;
                f(k, v);
            });
            if cur == 0 || max_iter == 0 || gathered >= count {
                return cur;
            }
            max_iter -= 1;
        }
    }

    /// `scan` with the entry lifetime tied to `self` (for collecting refs).
    fn scan_inner<'a, F: FnMut(&'a [u8], &'a V)>(&'a self, cursor: u64, mut f: F) -> u64 {
        self.scan_entries(cursor, |e| f(e.key(), e.val()))
    }

    /// One SCAN step over whole entries.
    fn scan_entries<'a, F: FnMut(&'a Entry<V, M>)>(&'a self, cursor: u64, mut f: F) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut visit = |t: &'a Table<V, M>, idx: u64| {
            let mut cur = t.buckets.get(idx as usize).and_then(|b| b.as_ref());
            while let Some(e) = cur {
                f(e);
                cur = e.next().as_ref();
            }
        };
        let next = |v: u64, mask: u64| (v | !mask).reverse_bits().wrapping_add(1).reverse_bits();
        let mut v = cursor;
        if !self.is_rehashing() {
            let t = &self.ht[0];
            let m0 = t.mask() as u64;
            visit(t, v & m0);
            v = next(v, m0);
        } else {
            let (small, big) = if self.ht[0].size() > self.ht[1].size() {
                (&self.ht[1], &self.ht[0])
            } else {
                (&self.ht[0], &self.ht[1])
            };
            let m0 = small.mask() as u64;
            let m1 = big.mask() as u64;
            visit(small, v & m0);
            loop {
                visit(big, v & m1);
                v = next(v, m1);
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v
    }

    // ----- random sampling -----------------------------------------------

    /// Redis `dictGetRandomKey`: a random non-empty bucket (respecting the
    /// rehash index), then a random element of its chain. Not perfectly
    /// uniform (elements in long chains are under-represented).
    pub fn random_entry<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(&[u8], &V)> {
        if self.is_empty() {
            return None;
        }
        let [t0, t1] = &self.ht;
        let head: &Entry<V, M> = if self.is_rehashing() {
            let s0 = t0.size();
            let slots = s0 + t1.size();
            if slots <= self.rehash_idx {
                return None;
            }
            loop {
                let h = self.rehash_idx + rng.gen_range(0..slots - self.rehash_idx);
                let b = if h >= s0 {
                    t1.buckets.get(h - s0)
                } else {
                    t0.buckets.get(h)
                };
                if let Some(e) = b.and_then(|b| b.as_ref()) {
                    break e;
                }
            }
        } else {
            let m = t0.mask();
            loop {
                let h = rng.gen::<u64>() as usize & m;
                if let Some(e) = t0.buckets.get(h).and_then(|b| b.as_ref()) {
                    break e;
                }
            }
        };
        let mut len = 0usize;
        let mut c = Some(head);
        while let Some(e) = c {
            len += 1;
            c = e.next().as_ref();
        }
        let mut e = head;
        for _ in 0..rng.gen_range(0..len) {
            e = e.next().as_ref()?;
        }
        Some((e.key(), e.val()))
    }

    /// Redis `dictGetSomeKeys` core: walk from a random position over both
    /// tables (at most `count*10` steps), collecting up to `count` entries.
    /// The chains of the buckets visited are read to their end with
    /// reservoir sampling, as Redis 7.0 does, so the tail of a long chain
    /// can be picked too: `f(slot, entry)` stores into `slot < count`
    /// (possibly replacing an earlier pick). Returns how many slots hold one.
    fn sample_some<'a, R: Rng + ?Sized>(
        &'a self,
        rng: &mut R,
        count: usize,
        mut f: impl FnMut(usize, &'a Entry<V, M>),
    ) -> usize {
        let count = count.min(self.len());
        if count == 0 {
            return 0;
        }
        let mut maxsteps = count.saturating_mul(10);
        let tables = if self.is_rehashing() { 2 } else { 1 };
        let maxmask = if tables == 2 {
            self.ht[0].mask().max(self.ht[1].mask())
        } else {
            self.ht[0].mask()
        };
        let mut i = rng.gen::<u64>() as usize & maxmask;
        let mut emptylen = 0usize;
        let mut stored = 0usize;
        while stored < count && maxsteps > 0 {
            maxsteps -= 1;
            for j in 0..tables {
                // Buckets of ht[0] before rehash_idx are empty: skip them.
                if tables == 2 && j == 0 && i < self.rehash_idx {
                    if i >= self.ht[1].size() {
                        i = self.rehash_idx;
                    } else {
                        continue;
                    }
                }
                let Some(b) = self.ht[j].buckets.get(i) else {
                    continue;
                };
                match b.as_ref() {
                    None => {
                        emptylen += 1;
                        if emptylen >= 5 && emptylen > count {
                            i = rng.gen::<u64>() as usize & maxmask;
                            emptylen = 0;
                        }
                    }
                    Some(head) => {
                        emptylen = 0;
                        let mut cur = Some(head);
                        while let Some(e) = cur {
                            if stored < count {
                                f(stored, e);
                            } else {
                                let r = (rng.gen::<u64>() % (stored as u64 + 1)) as usize;
                                if r < count {
                                    f(r, e);
                                }
                            }
                            stored += 1;
                            cur = e.next().as_ref();
                        }
                        if stored >= count {
                            return count;
                        }
                    }
                }
            }
            i = i.wrapping_add(1) & maxmask;
        }
        stored
    }

    /// Redis `dictGetSomeKeys`: append up to `count` sampled entries to
    /// `out` (fast, not uniform, may return fewer). Returns how many.
    pub fn some_entries<'a, R: Rng + ?Sized>(
        &'a self,
        rng: &mut R,
        count: usize,
        out: &mut Vec<(&'a [u8], &'a V)>,
    ) -> usize {
        let base = out.len();
        self.sample_some(rng, count, |slot, e| {
            let x = (e.key(), e.val());
            match out.get_mut(base + slot) {
                Some(o) => *o = x,
                None => out.push(x),
            }
        })
    }

    /// The incremental rehashing Redis's random sampling does as a side
    /// effect (`dictGetSomeKeys` / `dictGetFairRandomKey` take one rehash
    /// step per wanted entry, up to the table size), for `picks` fair random
    /// picks: callers holding `&self` across several picks run this first.
    pub fn rehash_for_random(&mut self, picks: usize) {
        let steps = picks
            .saturating_mul(GETFAIR_NUM_ENTRIES.min(self.len()))
            .min(self.len());
        for _ in 0..steps {
            if !self.is_rehashing() {
                break;
            }
            self.rehash_steps(1);
        }
    }

    /// Redis `dictGetFairRandomKey`: sample 15 entries with
    /// [`Dict::some_entries`] and pick one, falling back to
    /// [`Dict::random_entry`]. Fairer on tables with uneven chains.
    pub fn fair_random_entry<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(&[u8], &V)> {
        let mut buf: [Option<(&[u8], &V)>; GETFAIR_NUM_ENTRIES] = [None; GETFAIR_NUM_ENTRIES];
        let n = self.sample_some(rng, GETFAIR_NUM_ENTRIES, |slot, e| {
            if let Some(b) = buf.get_mut(slot) {
                *b = Some((e.key(), e.val()));
            }
        });
        if n == 0 {
            return self.random_entry(rng);
        }
        buf[rng.gen_range(0..n)]
    }

    // ----- stats ----------------------------------------------------------

    /// Text of Redis `dictGetStats` (as shown by `DEBUG HTSTATS`).
    pub fn stats(&self) -> String {
        let mut s = String::new();
        self.stats_ht(0, &mut s);
        if self.is_rehashing() {
            self.stats_ht(1, &mut s);
        }
        s
    }

    fn stats_ht(&self, idx: usize, out: &mut String) {
        let t = &self.ht[idx];
        let chains = t.buckets.iter().map(|b| {
            let mut n = 0usize;
            let mut cur = b.as_ref();
            while let Some(e) = cur {
                n += 1;
                cur = e.next().as_ref();
            }
            n
        });
        write_table_stats(out, idx, t.size(), t.used, chains);
    }
}

/// One table's part of Redis `dictGetStats` (`DEBUG HTSTATS`): `chains`
/// gives each bucket's chain length (0 for an empty one), in bucket order.
/// Shared by [`Dict`] and the sorted set's member index.
pub(crate) fn write_table_stats(
    out: &mut String,
    idx: usize,
    size: usize,
    used: usize,
    chains: impl Iterator<Item = usize>,
) {
    let name = if idx == 0 {
        "main hash table"
    } else {
        "rehashing target"
    };
    if used == 0 {
        // Redis 7.0 prints the table header here too.
        let _ = write!(
            out,
            "Hash table {idx} stats ({name}):\nNo stats available for empty dictionaries\n"
        );
        return;
    }
    let mut clvector = [0usize; DICT_STATS_VECTLEN];
    let (mut slots, mut maxchainlen, mut totchainlen) = (0usize, 0usize, 0usize);
    for chainlen in chains {
        if chainlen == 0 {
            clvector[0] += 1;
            continue;
        }
        slots += 1;
        clvector[chainlen.min(DICT_STATS_VECTLEN - 1)] += 1;
        maxchainlen = maxchainlen.max(chainlen);
        totchainlen += chainlen;
    }
    let _ = write!(
        out,
        "Hash table {} stats ({}):\n table size: {}\n number of elements: {}\n \
         different slots: {}\n max chain length: {}\n avg chain length (counted): {:.2}\n \
         avg chain length (computed): {:.2}\n Chain length distribution:\n",
        idx,
        name,
        size,
        used,
        slots,
        maxchainlen,
        totchainlen as f32 / slots as f32,
        used as f32 / slots as f32,
    );
    // Like Redis, the last (">= 49") bucket of the vector is not printed.
    for (i, &n) in clvector.iter().enumerate().take(DICT_STATS_VECTLEN - 1) {
        if n == 0 {
            continue;
        }
        let _ = writeln!(
            out,
            "   {}: {} ({:.2}%)",
            i,
            n,
            (n as f32 / size as f32) * 100.0
        );
    }
}

impl<K: for<'k> From<&'k [u8]> + fmt::Debug, V: fmt::Debug, const M: bool> fmt::Debug
    for Dict<K, V, M>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: for<'k> From<&'k [u8]> + AsRef<[u8]>, V, const M: bool> Extend<(K, V)> for Dict<K, V, M> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: for<'k> From<&'k [u8]> + AsRef<[u8]>, V, const M: bool> FromIterator<(K, V)>
    for Dict<K, V, M>
{
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut d = Dict::new();
        d.extend(iter);
        d
    }
}

// ---------------------------------------------------------------------------
// Meta words (dict_meta.rs) and iterators (dict_iter.rs)
// ---------------------------------------------------------------------------

#[path = "dict_meta.rs"]
mod meta;

#[path = "dict_grow.rs"]
pub(crate) mod grow;
pub use grow::{PREFAULT_MAX_LOAD, PREFAULT_MIN_BUCKETS};

#[path = "dict_iter.rs"]
mod iter;
pub use iter::{IntoIter, Iter, IterMut};

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
#[path = "dict_tests.rs"]
mod tests;
