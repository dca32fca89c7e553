//! The API of dicts whose entries carry a 24-bit meta value
//! (`Dict<K, V, true>`; the keyspace keeps each key's LRU/LFU stamp in
//! it): read, set, insert with it, iterate and sample with it. A child
//! module of `dict`, so it sees the tables and entries.

use super::*;

/// A `Dict<K, V, true>` keeps a 24-bit meta value in every entry, in the
/// word that holds the key's length (no extra bytes: see `dict_entry`).
/// The keyspace keeps each key's LRU/LFU stamp there (24 bits, as Redis's
/// robj lru field). Values are stored modulo 2^24.
impl<K: for<'k> From<&'k [u8]>, V> Dict<K, V, true> {
    /// The meta word of `key`'s entry.
    #[inline]
    pub fn get_meta(&self, key: &[u8]) -> Option<u32> {
        self.find_entry(key).map(|e| e.meta())
    }

    /// Sets the meta word of `key`'s entry; false if the key is absent.
    pub fn set_meta(&mut self, key: &[u8], meta: u32) -> bool {
        match self.find_entry_mut(key) {
            Some(e) => {
                e.set_meta(meta);
                true
            }
            None => false,
        }
    }

    /// [`Dict::get_mut`] with the meta word (one rehash step).
    #[inline]
    pub fn get_mut_meta(&mut self, key: &[u8]) -> Option<(&mut V, MetaMut<'_>)> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        self.find_entry_mut(key).map(|e| e.val_meta_mut())
    }

    /// [`Dict::get_or_insert_with`] with the meta word (`meta` for a new
    /// entry).
    pub fn get_or_insert_with_meta(
        &mut self,
        key: &[u8],
        make_val: impl FnOnce() -> V,
        meta: u32,
    ) -> (&mut V, MetaMut<'_>, bool) {
        let (e, inserted) = self.entry_or_insert(key, || (make_val(), meta));
        let (v, m) = e.val_meta_mut();
        (v, m, inserted)
    }

    /// [`Dict::insert`] with the meta word (set on the new or kept entry).
    pub fn insert_meta(&mut self, key: &[u8], val: V, meta: u32) -> Option<V> {
        let mut slot = Some(val);
        let (e, inserted) = self.entry_or_insert(key, || {
            let v = slot.take();
            // The closure runs at most once, and only when the value is
            // still in `slot`.
            match v {
                Some(v) => (v, meta),
                None => unreachable!("entry_or_insert calls make once"),
            }
        });
        e.set_meta(meta);
        if inserted {
            return None;
        }
        slot.map(|v| mem::replace(e.val_mut(), v))
    }

    /// [`Dict::insert_new_with_extra`] with the meta word.
    #[inline]
    pub fn insert_new_meta(&mut self, key: &[u8], val: V, extra: Option<u64>, meta: u32) {
        self.insert_new_entry(key, val, extra, meta);
    }

    /// Like [`Dict::iter_extra`], with each entry's meta word.
    pub fn iter_meta(&self) -> impl Iterator<Item = (&[u8], &V, Option<u64>, u32)> + '_ {
        let mut it = self.iter();
        std::iter::from_fn(move || {
            it.next_entry()
                .map(|e| (e.key(), e.val(), e.extra(), e.meta()))
        })
    }

    /// [`Dict::some_entries_extra`] with each entry's meta word.
    pub fn some_entries_meta<'a, R: Rng + ?Sized>(
        &'a self,
        rng: &mut R,
        count: usize,
        out: &mut Vec<(&'a [u8], &'a V, Option<u64>, u32)>,
    ) -> usize {
        let base = out.len();
        self.sample_some(rng, count, |slot, e| {
            let x = (e.key(), e.val(), e.extra(), e.meta());
            match out.get_mut(base + slot) {
                Some(o) => *o = x,
                None => out.push(x),
            }
        })
    }

    /// The group mask of a fork-less snapshot: the smaller table's mask.
    /// An entry's group is `hash & mask`; it stays in its group across
    /// rehashing as long as no table smaller than `mask + 1` buckets is
    /// made (the keyspace does not shrink while a snapshot runs). None
    /// for a dict without buckets.
    pub fn group_mask(&self) -> Option<usize> {
        let sizes = [self.ht[0].size(), self.ht[1].size()];
        sizes.into_iter().filter(|&s| s > 0).min().map(|s| s - 1)
    }

    /// The group of `key` under `mask` (see [`Dict::group_mask`]).
    #[inline]
    pub fn group_of(key: &[u8], mask: usize) -> usize {
        hash_bytes(key) as usize & mask
    }

    /// Calls `f` with every entry of group `group` under `mask` (key,
    /// value, extra, meta), in both tables. Panics in debug builds if a
    /// table is smaller than the group mask allows.
    pub fn for_each_in_group(
        &self,
        group: usize,
        mask: usize,
        mut f: impl FnMut(&[u8], &V, Option<u64>, u32),
    ) {
        for t in &self.ht {
            if t.size() == 0 {
                continue;
            }
            debug_assert!(t.size() > mask, "table shrank below the group mask");
            let mut i = group;
            while i < t.size() {
                let mut cur = t.buckets[i].as_ref();
                while let Some(e) = cur {
                    f(e.key(), e.val(), e.extra(), e.meta());
                    cur = e.next().as_ref();
                }
                i += mask + 1;
            }
        }
    }
}
