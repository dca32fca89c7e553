//! `ds::skiplist::index` — the member index of a skiplist-encoded sorted
//! set: member → node, with the member bytes stored once, in the node.
//!
//! A chained hash table like [`crate::ds::dict::Dict`] (power-of-two
//! tables, two of them with a rehash index while an incremental rehash runs,
//! one bucket moved per mutating access; Redis's `dict_can_resize` policy
//! from [`crate::ds::dict::resize_policy`], so a fork child's pages are
//! spared; the reverse-binary SCAN cursor that never misses an element
//! present for the whole scan; `DEBUG HTSTATS` text), but its chains are
//! intrusive: a bucket points at a skiplist node and each node's header
//! holds the next node of its chain (`hnext`). A member costs one 8-byte
//! link plus its share of the bucket array, and no allocation of its own;
//! a lookup hashes the query and compares it with each chained node's
//! member, which sits right after the node's header.
//!
//! The index does not own the nodes: its sorted set does, through the
//! skiplist beside it. Safety invariant (relied on by every `unsafe` block
//! here): every pointer in a bucket or in the `hnext` of a chained node is a
//! live node of that skiplist, chained exactly once, in the bucket its
//! member hashes to; [`MemberIndex::insert`]'s contract makes the caller
//! remove a node ([`MemberIndex::remove`]) before freeing it. `Drop` never
//! reads the nodes.

use super::{member, NodeHdr, NodePtr, NodeRef};
use crate::alloc::prefault::Block;
use crate::ds::dict::grow::{Grow, NextTable};
use crate::ds::dict::{
    hash_bytes, rehash_allowed, resize_policy, write_table_stats, ResizePolicy,
    DICT_FORCE_RESIZE_RATIO, DICT_HT_INITIAL_SIZE, HASHTABLE_MIN_FILL, PREFAULT_MIN_BUCKETS,
};
use std::mem;
use std::ptr;

/// One bucket array; a null bucket is empty.
#[derive(Default)]
struct Table {
    buckets: Box<[*mut NodeHdr]>,
    used: usize,
}

impl Table {
    /// A fresh table's buckets as a raw block (see `Dict`'s twin); its
    /// buckets are not walked.
    fn into_words(mut self) -> Block {
        assert_eq!(self.used, 0, "into_words on a table with members");
        let buckets = mem::take(&mut self.buckets);
        // SAFETY: a fresh table: every bucket is null and no node is
        // reachable, so nothing needs dropping.
        unsafe { Block::from_boxed(buckets) }
    }

    /// An empty table from the all-zero block `into_words` gave and the
    /// prefault worker gave back (not rewritten: see `Dict`'s twin); None
    /// if the block is not a bucket array of this table type.
    fn from_words(words: Block) -> Option<Table> {
        debug_assert!(words.is_zero());
        // SAFETY: every byte is zero, i.e. every bucket a null pointer.
        let buckets = unsafe { words.into_boxed::<*mut NodeHdr>() }.ok()?;
        Some(Table { buckets, used: 0 })
    }

    /// `n` empty buckets, `None` if the allocation fails (a RESTORE payload
    /// can claim any length).
    fn try_with_size(n: usize) -> Option<Table> {
        if n == 0 {
            return Some(Table::default());
        }
        let layout = std::alloc::Layout::array::<*mut NodeHdr>(n).ok()?;
        // SAFETY: the all-zero bit pattern is a null pointer, so a zeroed
        // allocation of this layout is `n` empty buckets (big ones come from
        // mmap'd zero pages: no upfront memset); Box<[T]> frees it with the
        // same layout.
        unsafe {
            let p = std::alloc::alloc_zeroed(layout) as *mut *mut NodeHdr;
            if p.is_null() {
                return None;
            }
            Some(Table {
                buckets: Box::from_raw(ptr::slice_from_raw_parts_mut(p, n)),
                used: 0,
            })
        }
    }

    #[inline]
    fn size(&self) -> usize {
        self.buckets.len()
    }

    /// `size - 1` (`usize::MAX` when unallocated: every `get` misses).
    #[inline]
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    /// The node holding `ele` in this table, or null.
    #[inline]
    fn find(&self, h: u64, ele: &[u8]) -> *mut NodeHdr {
        let Some(&head) = self.buckets.get(h as usize & self.mask()) else {
            return ptr::null_mut();
        };
        let mut x = head;
        while !x.is_null() {
            // SAFETY: chained nodes are live (module invariant).
            unsafe {
                if member(x) == ele {
                    return x;
                }
                x = (*x).hnext;
            }
        }
        ptr::null_mut()
    }

    /// Chain length of each bucket, in order.
    fn chain_lengths(&self) -> impl Iterator<Item = usize> + '_ {
        self.buckets.iter().map(|&head| {
            let mut n = 0;
            let mut x = head;
            while !x.is_null() {
                n += 1;
                // SAFETY: chained nodes are live (module invariant).
                x = unsafe { (*x).hnext };
            }
            n
        })
    }
}

/// The member index of a skiplist-encoded sorted set (see the module doc).
#[derive(Default)]
pub struct MemberIndex {
    ht: [Table; 2],
    /// Next bucket of `ht[0]` to migrate; meaningful only while rehashing.
    rehash_idx: usize,
    /// The next table while its pages are faulted in (big indexes grow
    /// as big dicts do: `Dict::grow_prefaulted`).
    pending: NextTable,
}

// SAFETY: the index only points at nodes of the skiplist it sits beside in
// one sorted set; both move between threads together (lazyfree), and
// `&self` methods only read.
unsafe impl Send for MemberIndex {}
// SAFETY: as for Send: no interior mutability.
unsafe impl Sync for MemberIndex {}

impl MemberIndex {
    /// An empty index; no memory until the first insertion.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of members.
    #[inline]
    pub fn len(&self) -> usize {
        self.ht[0].used + self.ht[1].used
    }

    /// True when empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True while an incremental rehash is in progress.
    #[inline]
    pub fn is_rehashing(&self) -> bool {
        !self.ht[1].buckets.is_empty()
    }

    /// Buckets in both tables (`dictSlots`).
    pub fn bucket_count(&self) -> usize {
        self.ht[0].size() + self.ht[1].size()
    }

    /// Heap bytes of the bucket arrays (the chains live in the nodes).
    pub fn heap_size(&self) -> usize {
        self.bucket_count() * mem::size_of::<*mut NodeHdr>()
    }

    /// The node holding `ele`, if any (no rehash step: `&self`).
    #[inline]
    pub fn get(&self, ele: &[u8]) -> Option<NodeRef<'_>> {
        if self.is_empty() {
            return None;
        }
        let h = hash_bytes(ele);
        let mut x = self.ht[0].find(h, ele);
        if x.is_null() && self.is_rehashing() {
            x = self.ht[1].find(h, ele);
        }
        NodeRef::new(x)
    }

    /// [`MemberIndex::get`] after one rehash step, as `dictFind` does.
    #[inline]
    pub fn get_mut(&mut self, ele: &[u8]) -> Option<NodeRef<'_>> {
        self.rehash_step();
        self.get(ele)
    }

    /// Adds node `x` (`dictAdd`): one rehash step, growth if needed, then
    /// `x` heads its bucket's chain (in the new table while rehashing).
    ///
    /// # Safety
    /// `x` is a live node of the skiplist this index serves, not in the
    /// index, and no node in the index has its member. It must stay live
    /// until [`MemberIndex::remove`] took it out, or until the index is
    /// dropped without being read again.
    pub unsafe fn insert(&mut self, x: NodePtr) {
        self.rehash_step();
        self.expand_if_needed();
        let x = x.0.as_ptr();
        // SAFETY: x is live (the caller's guarantee).
        let h = hash_bytes(unsafe { member(x) });
        let t = if self.is_rehashing() {
            &mut self.ht[1]
        } else {
            &mut self.ht[0]
        };
        if t.size() == 0 {
            // Only when even the first small table could not be allocated.
            *t = Table {
                buckets: vec![ptr::null_mut(); DICT_HT_INITIAL_SIZE].into_boxed_slice(),
                used: 0,
            };
        }
        let i = h as usize & t.mask();
        // SAFETY: x is live and not chained, so its hnext is ours to set.
        unsafe { (*x).hnext = t.buckets[i] };
        t.buckets[i] = x;
        t.used += 1;
    }

    /// Takes the node holding `ele` out of the index (after one rehash
    /// step) and returns its score; the node itself is the caller's to
    /// delete.
    pub fn remove(&mut self, ele: &[u8]) -> Option<f64> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let h = hash_bytes(ele);
        let tables = if self.is_rehashing() { 2 } else { 1 };
        for t in self.ht.iter_mut().take(tables) {
            let Some(i) = t.buckets.len().checked_sub(1).map(|m| h as usize & m) else {
                continue;
            };
            let mut prev: *mut NodeHdr = ptr::null_mut();
            let mut x = t.buckets[i];
            while !x.is_null() {
                // SAFETY: chained nodes are live (module invariant); x is
                // unchained by pointing its predecessor (or the bucket) at
                // its successor.
                unsafe {
                    let next = (*x).hnext;
                    if member(x) == ele {
                        if prev.is_null() {
                            t.buckets[i] = next;
                        } else {
                            (*prev).hnext = next;
                        }
                        (*x).hnext = ptr::null_mut();
                        t.used -= 1;
                        return Some((*x).score);
                    }
                    prev = x;
                    x = next;
                }
            }
        }
        None
    }

    // ----- resizing / rehashing -----------------------------------------

    /// `_dictExpand`: start growing/shrinking to the next power of two
    /// `>= size` (at least 4). False if rehashing, `size < len`, same size
    /// or the allocation failed.
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
            self.ht[0] = t;
        } else {
            self.ht[1] = t;
            self.rehash_idx = 0;
        }
        true
    }

    /// `dictExpand`: room for `n` members (before a conversion or a load).
    pub fn expand(&mut self, n: usize) -> bool {
        self.expand_to(n)
    }

    /// `_dictExpandIfNeeded` under the global resize policy.
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
            if grow && !(size >= PREFAULT_MIN_BUCKETS && self.grow_prefaulted(used)) {
                self.expand_to(used + 1);
            }
        }
    }

    /// `Dict::grow_prefaulted` for the index: the next table is faulted in
    /// off the event loop while inserts fill the old one.
    #[cold]
    fn grow_prefaulted(&mut self, used: usize) -> bool {
        let size = self.ht[0].size();
        let fresh = |n| Table::try_with_size(n).map(Table::into_words);
        match self.pending.step(size, used, fresh) {
            Grow::Install(words) => match Table::from_words(words) {
                Some(t) => {
                    self.ht[1] = t;
                    self.rehash_idx = 0;
                    true
                }
                None => false,
            },
            Grow::Wait => true,
            Grow::Unprefaulted(n) => self.expand_to(n),
            Grow::Usual => false,
        }
    }

    /// `htNeedsResize`: more than 4 buckets and fill below 10%.
    pub fn needs_shrink(&self) -> bool {
        let size = self.bucket_count();
        size > DICT_HT_INITIAL_SIZE && self.len() * 100 / size < HASHTABLE_MIN_FILL
    }

    /// `dictResize`: start shrinking to the smallest power of two holding
    /// every member, when the policy allows resizing.
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

    /// `dictRehash`: migrate up to `n` buckets (at most `n * 10` empty ones
    /// visited); true if there is more to do. Nothing under `Forbid`, and
    /// under `Avoid` only when the tables' sizes differ by
    /// [`DICT_FORCE_RESIZE_RATIO`] or more, as Redis 7.0.
    pub fn rehash_steps(&mut self, n: usize) -> bool {
        if !self.is_rehashing() {
            return false;
        }
        if !rehash_allowed(self.ht[0].size(), self.ht[1].size()) {
            return false;
        }
        let mut empty_visits = n.saturating_mul(10);
        let mut n = n;
        let [t0, t1] = &mut self.ht;
        let m1 = t1.mask();
        while n > 0 && t0.used != 0 {
            n -= 1;
            // Buckets before rehash_idx are empty and t0.used != 0, so a
            // non-empty bucket exists at or after rehash_idx.
            let mut x = loop {
                match t0.buckets.get_mut(self.rehash_idx) {
                    Some(b) if !b.is_null() => break mem::replace(b, ptr::null_mut()),
                    Some(_) => {
                        self.rehash_idx += 1;
                        empty_visits -= 1;
                        if empty_visits == 0 {
                            return true;
                        }
                    }
                    None => {
                        debug_assert!(false, "rehash index past the end with members left");
                        return false;
                    }
                }
            };
            while !x.is_null() {
                // SAFETY: chained nodes are live (module invariant); x moves
                // from the old chain (already detached) to the head of its
                // bucket in the new table.
                unsafe {
                    let next = (*x).hnext;
                    let dst = &mut t1.buckets[hash_bytes(member(x)) as usize & m1];
                    (*x).hnext = *dst;
                    *dst = x;
                    x = next;
                }
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

    // ----- SCAN, stats ------------------------------------------------------

    /// One `dictScan` step from `cursor` (Redis's reverse-binary cursor):
    /// `f` sees each node of the buckets visited; returns the next cursor
    /// (0 when done). Every member present for the whole scan is reported
    /// at least once, across expands, shrinks and rehash steps between
    /// calls; some may be reported more than once.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(NodeRef<'a>)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut visit = |t: &'a Table, idx: u64| {
            let mut x = t
                .buckets
                .get(idx as usize)
                .copied()
                .unwrap_or(ptr::null_mut());
            while let Some(n) = NodeRef::new(x) {
                f(n);
                // SAFETY: chained nodes are live (module invariant).
                x = unsafe { (*x).hnext };
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

    /// The loop of Redis's scanGenericCommand over [`MemberIndex::scan`]:
    /// steps until the cursor wraps, `count` reply elements were gathered
    /// (`per_entry` each: 2 for member-score pairs) or 10×count extra steps
    /// passed. `f` gets (member, score). Returns the next cursor.
    pub fn scan_batch<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        per_entry: usize,
        mut f: impl FnMut(&'a [u8], f64),
    ) -> u64 {
        let mut gathered = 0usize;
        let mut max_iter = count.saturating_mul(10);
        let mut cur = cursor;
        loop {
            cur = self.scan(cur, |n| {
                gathered += per_entry;
                f(n.member(), n.score());
            });
            if cur == 0 || max_iter == 0 || gathered >= count {
                return cur;
            }
            max_iter -= 1;
        }
    }

    /// Text of Redis `dictGetStats` (`DEBUG HTSTATS-KEY`).
    pub fn stats(&self) -> String {
        let mut s = String::new();
        let t = &self.ht[0];
        write_table_stats(&mut s, 0, t.size(), t.used, t.chain_lengths());
        if self.is_rehashing() {
            let t = &self.ht[1];
            write_table_stats(&mut s, 1, t.size(), t.used, t.chain_lengths());
        }
        s
    }

    /// Checks the table bookkeeping (each chained node in the bucket its
    /// member hashes to, counts, emptied buckets before the rehash index);
    /// for tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (ti, t) in self.ht.iter().enumerate() {
            let mut n = 0;
            for (i, &head) in t.buckets.iter().enumerate() {
                if ti == 0 && self.is_rehashing() && i < self.rehash_idx && !head.is_null() {
                    return Err(format!("bucket {i} before the rehash index"));
                }
                let mut x = head;
                while let Some(node) = NodeRef::new(x) {
                    if hash_bytes(node.member()) as usize & t.mask() != i {
                        return Err(format!("member in the wrong bucket {i} of table {ti}"));
                    }
                    n += 1;
                    // SAFETY: chained nodes are live (module invariant).
                    x = unsafe { (*x).hnext };
                }
            }
            if n != t.used {
                return Err(format!("table {ti}: {n} chained, used {}", t.used));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "skiplist_index_tests.rs"]
mod tests;
