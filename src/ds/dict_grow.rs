//! `ds::dict::grow` — how a big table grows: its next table is faulted in
//! by `alloc::prefault` before the rehash into it starts (the keyspace's
//! and every collection's [`super::Dict`], and the sorted-set member
//! index, `ds/skiplist_index.rs`). Why and the figures:
//! docs/ARCHITECTURE.md, "Growing a big table".
//!
//! [`NextTable`] holds the table being prefaulted and decides each step;
//! the table types only turn a fresh bucket array into plain words and
//! back (all-zero words are empty buckets for both).

use super::{Dict, Link, Table};
use crate::alloc::prefault::{self, Block};
use std::mem;

/// Tables of at least this many buckets (2 MiB) grow into a next table
/// whose pages `alloc::prefault` touched first.
pub const PREFAULT_MIN_BUCKETS: usize = 1 << 18;
/// While that next table is being prefaulted the old one keeps filling, up
/// to this load factor; past it the table grows without the prefault.
pub const PREFAULT_MAX_LOAD: usize = 2;

/// A next table being prefaulted. Dropped unused (the dict cleared or
/// dropped), a table that already came back is freed as big bucket arrays
/// are, off the event loop; one still with the worker is freed by it.
struct PendingTable(prefault::Ticket);

impl Drop for PendingTable {
    fn drop(&mut self) {
        if let Some(words) = self.0.try_take() {
            super::free_bucket_words(words);
        }
    }
}

/// What a growing table does next (see [`NextTable::step`]).
pub(crate) enum Grow {
    /// Start rehashing into these all-zero words (the next table).
    Install(Block),
    /// Keep filling the current table: the next one is being prefaulted.
    Wait,
    /// The worker had no idle CPU before the load limit: grow to this
    /// many buckets the usual way (the size the prefault would have given).
    Unprefaulted(usize),
    /// Grow the usual way (no memory for the next table).
    Usual,
}

/// The next table of a big table while it is prefaulted (`None` most of
/// the time: one word in the table's struct).
#[derive(Default)]
pub(crate) struct NextTable(Option<PendingTable>);

impl NextTable {
    /// The prefaulted table, once it is back and still a growth a table
    /// of `size` buckets holding `used` entries needs (not after a
    /// shrink, say); dropped when it is not.
    pub(crate) fn ready(&mut self, size: usize, used: usize) -> Option<Block> {
        let words = self.0.as_ref()?.0.try_take()?;
        self.0 = None;
        let n = words.len();
        if n <= size || n < used || used < size {
            super::free_bucket_words(words);
            return None;
        }
        Some(words)
    }

    /// One growth decision for a table of `size` buckets at load
    /// `used / size >= 1`, not rehashing. `fresh(n)` allocates a zeroed
    /// array of `n` buckets as words.
    pub(crate) fn step(
        &mut self,
        size: usize,
        used: usize,
        fresh: impl FnOnce(usize) -> Option<Block>,
    ) -> Grow {
        if let Some(words) = self.ready(size, used) {
            return Grow::Install(words);
        }
        if self.0.is_some() {
            if used < size.saturating_mul(PREFAULT_MAX_LOAD) {
                return Grow::Wait;
            }
            self.0 = None;
            return Grow::Unprefaulted(size * 2);
        }
        let Some(words) = (used + 1).checked_next_power_of_two().and_then(fresh) else {
            return Grow::Usual;
        };
        match prefault::submit(words) {
            Ok(t) => {
                self.0 = Some(PendingTable(t));
                Grow::Wait
            }
            // No worker thread: use the table as it is.
            Err(words) => Grow::Install(words),
        }
    }

    /// Whether a next table is with the worker (tests).
    #[cfg(test)]
    pub(crate) fn is_pending(&self) -> bool {
        self.0.is_some()
    }

    /// Drops the next table (a cleared dict).
    pub(crate) fn clear(&mut self) {
        self.0 = None;
    }
}

impl<V, const M: bool> Table<V, M> {
    /// A fresh table's bucket array as a raw block, for
    /// `alloc::prefault`. Only for a table no entry was ever put in: its
    /// buckets are not walked (that would touch every page).
    fn into_words(mut self) -> Block {
        assert_eq!(self.used, 0, "into_words on a table with entries");
        debug_assert!(self.buckets.iter().all(|b| b.is_none()));
        let buckets = mem::take(&mut self.buckets);
        // SAFETY: every bucket is None (a fresh table: `used` is 0 and no
        // entry was ever linked in), so nothing needs dropping.
        unsafe { Block::from_boxed(buckets) }
    }

    /// An empty table from the block [`Table::into_words`] gave and
    /// `alloc::prefault` gave back (it writes only zeros). Not rewritten
    /// here: that would cost the event loop what the prefault saved. None
    /// if the block is not a bucket array of this table type.
    fn from_words(words: Block) -> Option<Self> {
        debug_assert!(words.is_zero());
        // SAFETY: every byte is zero, and the all-zero bit pattern of
        // `Link` (an `Option` of a non-zero handle) is `None`.
        let buckets = unsafe { words.into_boxed::<Link<V, M>>() }.ok()?;
        Some(Table { buckets, used: 0 })
    }
}

impl<K: for<'k> From<&'k [u8]>, V, const M: bool> Dict<K, V, M> {
    /// Growth of a big table (`grow`, docs/ARCHITECTURE.md "Growing a big
    /// table"): the first call has the next table faulted in off the
    /// event loop, later ones start the rehash into it once it is back.
    /// True when handled; false when the caller should grow the usual way.
    #[cold]
    pub(super) fn grow_prefaulted(&mut self, used: usize) -> bool {
        let size = self.ht[0].size();
        let fresh = |n| Table::<V, M>::try_with_size(n).map(Table::into_words);
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

    /// Starts the rehash into a prefaulted table that has come back (the
    /// server's cron calls it, so a dict that stopped growing does not
    /// hold a touched table unused). True when a rehash started.
    pub fn start_prepared_rehash(&mut self) -> bool {
        if self.is_rehashing() {
            return false;
        }
        let Some(words) = self.pending.ready(self.ht[0].size(), self.ht[0].used) else {
            return false;
        };
        let Some(t) = Table::from_words(words) else {
            return false;
        };
        self.ht[1] = t;
        self.rehash_idx = 0;
        true
    }
}
