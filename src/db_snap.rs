//! The per-db side of a fork-less snapshot (`persist::snapshot`): which
//! keys of a db have been written out, and the records not yet taken.
//!
//! At the start the db's keys are cut into groups by hash (`hash & mask`,
//! the smaller table's mask; the keyspace does not shrink meanwhile, so a
//! key never changes group). A traversal writes the groups out in order,
//! a bounded number per event-loop turn. Before any change to a key (a
//! write, a delete, an expiry, a new key) `before_write` writes out the
//! key's whole group first if the traversal has not reached it. So every
//! key is written exactly once, as it was when the snapshot started, and
//! keys created later are not written at all: the same point-in-time
//! content a fork child writes, without the copy-on-write memory.
//!
//! The record format is the upper layer's business: it hands in `emit`,
//! which appends one key's record to a buffer.

use crate::db::Keyspace;
use crate::object::Obj;

/// Appends one key's record (key, value, expire time, LRU/LFU stamp).
pub type Emit = Box<dyn FnMut(&mut Vec<u8>, &[u8], &Obj, Option<u64>, u32)>;

pub struct DbSnap {
    /// The db's index when the snapshot started (SWAPDB moves this state
    /// with the keys).
    pub db_id: usize,
    /// Keys and keys with a TTL at the start (the RDB's RESIZEDB hint).
    pub start_len: usize,
    pub start_expires: usize,
    mask: usize,
    /// Groups below this were written by the traversal.
    next: usize,
    /// Groups at or above `next` written early, by `before_write`.
    early: Vec<u64>,
    /// Records written and not yet taken by the snapshot's writer.
    pub out: Vec<u8>,
    /// Keys written so far.
    pub keys: u64,
    emit: Emit,
}

impl DbSnap {
    /// The snapshot state of `dict` as it is now; None when it has no
    /// keys (nothing to write).
    pub fn new(db_id: usize, dict: &Keyspace, emit: Emit) -> Option<Box<DbSnap>> {
        if dict.is_empty() {
            return None;
        }
        let mask = dict.group_mask()?;
        Some(Box::new(DbSnap {
            db_id,
            start_len: dict.len(),
            start_expires: dict.extra_count(),
            mask,
            next: 0,
            early: vec![0; (mask >> 6) + 1],
            out: Vec::new(),
            keys: 0,
            emit,
        }))
    }

    #[inline]
    fn done(&self, g: usize) -> bool {
        g < self.next || self.early[g >> 6] & (1 << (g & 63)) != 0
    }

    fn write_group(&mut self, dict: &Keyspace, g: usize) {
        let (out, emit, keys) = (&mut self.out, &mut self.emit, &mut self.keys);
        dict.for_each_in_group(g, self.mask, |k, o, extra, meta| {
            emit(out, k, o, extra, meta);
            *keys += 1;
        });
    }

    /// Writes out `key`'s group unless that was done: call before the key
    /// (or a key that will be created) changes.
    #[inline]
    pub fn before_write(&mut self, dict: &Keyspace, key: &[u8]) {
        let g = Keyspace::group_of(key, self.mask);
        if !self.done(g) {
            self.write_group(dict, g);
            self.early[g >> 6] |= 1 << (g & 63);
        }
    }

    /// The traversal: writes out groups until `budget` bytes were added
    /// to `out` or all are done. True when all are done.
    pub fn step(&mut self, dict: &Keyspace, budget: usize) -> bool {
        let start = self.out.len();
        while self.next <= self.mask {
            if self.out.len() - start >= budget {
                return false;
            }
            let g = self.next;
            if !self.done(g) {
                self.write_group(dict, g);
            }
            self.next += 1;
        }
        true
    }

    /// True when every group was written.
    pub fn finished(&self) -> bool {
        self.next > self.mask
    }

    /// Writes out every group not yet written (before the db is emptied).
    pub fn finish(&mut self, dict: &Keyspace) {
        self.step(dict, usize::MAX);
    }
}
