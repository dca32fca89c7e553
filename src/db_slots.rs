//! The per-slot key index of db 0 in cluster mode (Redis 7.0's
//! slots_to_keys): for each of the 16384 hash slots, how many keys it
//! holds and which. CLUSTER COUNTKEYSINSLOT is O(1), GETKEYSINSLOT and the
//! slot checks of DELSLOTS / SETSLOT ... NODE look at one slot only.
//!
//! Redis threads the dict entries of a slot onto a doubly linked list
//! through entry metadata. ferrokv keeps its dict unchanged: each slot has
//! its own small hash set of key names, created with the slot's first key
//! and dropped with its last. The index exists only in cluster mode
//! (`Db::slots` is None otherwise), so standalone pays one untaken branch
//! where a key is created or removed.

use std::collections::HashSet;

use crate::util::slot::{key_hash_slot, CLUSTER_SLOTS};

/// Keys by hash slot.
pub struct SlotKeys {
    sets: Vec<Option<Box<HashSet<Box<[u8]>>>>>,
}

impl Default for SlotKeys {
    fn default() -> Self {
        SlotKeys {
            sets: (0..CLUSTER_SLOTS).map(|_| None).collect(),
        }
    }
}

impl SlotKeys {
    /// A key was created.
    pub fn add(&mut self, key: &[u8]) {
        let s = key_hash_slot(key) as usize;
        self.sets[s].get_or_insert_with(Default::default).insert(key.into());
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

    /// Up to `max` keys of `slot`.
    pub fn keys(&self, slot: usize, max: usize) -> Vec<&[u8]> {
        match self.sets.get(slot).and_then(|s| s.as_ref()) {
            Some(set) => set.iter().take(max).map(|k| &k[..]).collect(),
            None => Vec::new(),
        }
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
