//! The per-slot key index of db 0 in cluster mode (Redis 7.0's
//! slots_to_keys): for each of the 16384 hash slots, how many keys it
//! holds and which. CLUSTER COUNTKEYSINSLOT is O(1), GETKEYSINSLOT and the
//! slot checks of DELSLOTS / SETSLOT ... NODE look at one slot only.
//!
//! Redis threads the dict entries of a slot onto a doubly linked list
//! through entry metadata. ferrokv keeps its dict unchanged: each slot has
//! its own small hash map of key names, created with the slot's first key
//! and dropped with its last; each key carries its creation sequence
//! number so GETKEYSINSLOT lists them newest first, as Redis's list
//! (keys are added at its head) does. The index exists only in cluster mode
//! (`Db::slots` is None otherwise), so standalone pays one untaken branch
//! where a key is created or removed.

use std::collections::HashMap;

use crate::util::slot::{key_hash_slot, CLUSTER_SLOTS};

/// Keys by hash slot.
pub struct SlotKeys {
    sets: Vec<Option<Box<HashMap<Box<[u8]>, u64>>>>,
    /// The next creation sequence number.
    seq: u64,
}

impl Default for SlotKeys {
    fn default() -> Self {
        SlotKeys {
            sets: (0..CLUSTER_SLOTS).map(|_| None).collect(),
            seq: 0,
        }
    }
}

impl SlotKeys {
    /// A key was created.
    pub fn add(&mut self, key: &[u8]) {
        let s = key_hash_slot(key) as usize;
        self.seq += 1;
        self.sets[s]
            .get_or_insert_with(Default::default)
            .insert(key.into(), self.seq);
    }

    /// A key was removed.
    pub fn remove(&mut self, key: &[u8]) {
        let s = key_hash_slot(key) as usize;
        if let Some(set) = self.sets[s].as_mut() {
            set.remove(key);
            if set.is_empty() {
                self.sets[s] = None;
            }
        }
    }

    /// Every key is gone (FLUSHALL, a swapped-in dataset).
    pub fn clear(&mut self) {
        self.sets.iter_mut().for_each(|s| *s = None);
    }

    /// countKeysInSlot.
    pub fn count(&self, slot: usize) -> usize {
        self.sets
            .get(slot)
            .and_then(|s| s.as_ref())
            .map_or(0, |s| s.len())
    }

    /// Up to `max` keys of `slot`, the most recently created first.
    pub fn keys(&self, slot: usize, max: usize) -> Vec<&[u8]> {
        let Some(set) = self.sets.get(slot).and_then(|s| s.as_ref()) else {
            return Vec::new();
        };
        let mut v: Vec<(u64, &[u8])> = set.iter().map(|(k, &n)| (n, &k[..])).collect();
        v.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
        v.into_iter().take(max).map(|(_, k)| k).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_adds_and_removes() {
        let mut s = SlotKeys::default();
        s.add(b"{a}1");
        s.add(b"{a}2");
        s.add(b"{a}3");
        let a = key_hash_slot(b"a") as usize;
        assert_eq!(s.keys(a, 2), vec![&b"{a}3"[..], b"{a}2"]);
        s.remove(b"{a}3");
        s.add(b"foo");
        let a = key_hash_slot(b"a") as usize;
        assert_eq!(s.count(a), 2);
        assert_eq!(s.count(12182), 1);
        s.remove(b"{a}1");
        s.remove(b"nothing");
        assert_eq!(s.count(a), 1);
        assert_eq!(s.keys(a, 10), vec![&b"{a}2"[..]]);
        s.clear();
        assert_eq!(s.count(12182), 0);
    }
}
