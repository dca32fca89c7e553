//! The set type (Redis 7.0's t_set.c type API): the `intset` and
//! `hashtable` encodings, the conversion between them, and the operations
//! the set commands build on (add, remove, membership, iteration, random
//! members, pop).
//!
//! Encoding rules, exactly as Redis 7.0:
//! * `setTypeCreate`: a set whose first member is a `string2ll` integer
//!   starts as an intset, otherwise as a hash table ([`SetValue::new_for`]).
//!   The *STORE commands start their destination as an intset
//!   ([`SetValue::new_intset`]) and let the adds convert it.
//! * `setTypeAdd`: an intset becomes a hash table when a non-integer member
//!   is added or its size exceeds `set-max-intset-entries` (capped at 2^30).
//! * A hash table is never converted back; intsets never downgrade their
//!   record width.
//!
//! Intset members iterate in ascending order (what Redis replies for
//! intset-encoded sets); hash-table order is unspecified.

use crate::ds::dict::{self, Dict};
use crate::ds::intset::{self, Intset};
use crate::ds::sds::Sds;
use crate::util::digest::xor_digest;
use crate::util::num;
use rand::Rng;

/// Redis caps set-max-intset-entries at 1G entries (intset internals).
const MAX_INTSET_ENTRIES_CAP: usize = 1 << 30;

/// A set value stored in the keyspace.
pub enum SetValue {
    /// `OBJ_ENCODING_INTSET`: sorted integers in the narrowest width.
    Intset(Intset),
    /// `OBJ_ENCODING_HT`: a dict of members (values unused).
    /// Boxed to keep `SetValue` at 16 bytes (it is itself boxed in `Value`).
    Hash(Box<Dict<Sds, ()>>),
}

/// One member as seen while iterating or sampling: an integer from an
/// intset or the bytes of a hash-table member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> Member<'a> {
    /// The member's bytes; integers are formatted into `tmp`.
    #[inline]
    pub fn bytes<'b>(&'b self, tmp: &'b mut [u8; 20]) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Member::Int(n) => num::format_i64(n, tmp),
            Member::Str(s) => s,
        }
    }

    /// An owned copy of the member's bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut tmp = [0u8; 20];
        self.bytes(&mut tmp).to_vec()
    }
}

/// A member removed from a set (SPOP): owned, no copy for hash tables.
#[derive(Debug)]
pub enum Popped {
    Int(i64),
    Str(Sds),
}

impl Popped {
    /// The popped member as a borrowed [`Member`].
    pub fn as_member(&self) -> Member<'_> {
        match self {
            Popped::Int(n) => Member::Int(*n),
            Popped::Str(s) => Member::Str(s.as_bytes()),
        }
    }
}

/// Iterator over a set's members (ascending for intsets).
pub enum Iter<'a> {
    Int(intset::Iter<'a>),
    Hash(dict::Iter<'a, ()>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;

    #[inline]
    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            Iter::Int(it) => it.next().map(Member::Int),
            Iter::Hash(it) => it.next().map(|(k, _)| Member::Str(k)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::Int(it) => it.size_hint(),
            Iter::Hash(it) => it.size_hint(),
        }
    }
}

impl Default for SetValue {
    fn default() -> Self {
        SetValue::new_intset()
    }
}

impl Clone for SetValue {
    /// `setTypeDup`: a deep copy keeping the encoding.
    fn clone(&self) -> Self {
        match self {
            SetValue::Intset(is) => SetValue::Intset(is.clone()),
            SetValue::Hash(d) => {
                let mut nd = Dict::with_capacity(d.len());
                for (k, _) in d.iter() {
                    nd.insert_new(k, ());
                }
                SetValue::Hash(Box::new(nd))
            }
        }
    }
}

impl std::fmt::Debug for SetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetValue")
            .field("encoding", &self.encoding_name())
            .field("len", &self.len())
            .finish()
    }
}

/// Effective intset limit for a configured `set-max-intset-entries`.
#[inline]
fn intset_limit(max_intset_entries: usize) -> usize {
    max_intset_entries.min(MAX_INTSET_ENTRIES_CAP)
}

impl SetValue {
    /// `createIntsetObject`: an empty intset-encoded set.
    pub fn new_intset() -> SetValue {
        SetValue::Intset(Intset::new())
    }

    /// `createSetObject`: an empty hashtable-encoded set.
    pub fn new_hashtable() -> SetValue {
        SetValue::Hash(Box::default())
    }

    /// `setTypeCreate`: an empty set that can hold `first` (an intset when
    /// it is a `string2ll` integer, a hash table otherwise).
    pub fn new_for(first: &[u8]) -> SetValue {
        if num::parse_i64(first).is_some() {
            SetValue::new_intset()
        } else {
            SetValue::new_hashtable()
        }
    }

    /// `setTypeCreate` for a [`Member`].
    pub fn new_for_member(first: Member<'_>) -> SetValue {
        match first {
            Member::Int(_) => SetValue::new_intset(),
            Member::Str(s) => SetValue::new_for(s),
        }
    }

    /// OBJECT ENCODING's answer for this value.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            SetValue::Intset(_) => "intset",
            SetValue::Hash(_) => "hashtable",
        }
    }

    pub fn is_intset(&self) -> bool {
        matches!(self, SetValue::Intset(_))
    }

    /// Heap bytes owned (MEMORY USAGE), counting this value's own box in
    /// the value's box: 16 bytes plus the exact intset blob (Redis: a 16-byte
    /// robj plus the blob), or the dict (struct, buckets, entries) plus
    /// each member's allocation.
    pub fn heap_size(&self) -> usize {
        std::mem::size_of::<SetValue>()
            + match self {
                SetValue::Intset(is) => is.heap_size(),
                SetValue::Hash(d) => {
                    d.mem_overhead() + d.iter().map(|(k, _)| k.len()).sum::<usize>()
                }
            }
    }

    /// Mixes this value into a DEBUG DIGEST as Redis's xorObjectDigest
    /// does for sets: an order-independent xor of each member's SHA1.
    pub fn digest(&self, digest: &mut [u8; 20]) {
        let mut tmp = [0u8; 20];
        for m in self.iter() {
            xor_digest(digest, m.bytes(&mut tmp));
        }
    }

    /// Number of members (`setTypeSize`).
    pub fn len(&self) -> usize {
        match self {
            SetValue::Intset(is) => is.len(),
            SetValue::Hash(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `setTypeConvert(OBJ_ENCODING_HT)`: no-op for hash tables. The dict
    /// is presized for the current members.
    pub fn convert_to_hashtable(&mut self) {
        if let SetValue::Intset(is) = self {
            let mut d = Dict::with_capacity(is.len());
            let mut tmp = [0u8; 20];
            for v in is.iter() {
                d.insert_new(num::format_i64(v, &mut tmp), ());
            }
            *self = SetValue::Hash(Box::new(d));
        }
    }

    /// `setTypeAdd`: true if `value` was not a member. Converts an intset
    /// to a hash table as Redis does (non-integer, or too many entries).
    pub fn add(&mut self, value: &[u8], max_intset_entries: usize) -> bool {
        if let SetValue::Hash(d) = self {
            return add_to_dict(d, value);
        }
        match num::parse_i64(value) {
            Some(n) => add_int_to_intset(self, n, max_intset_entries),
            None => {
                self.convert_to_hashtable();
                match self {
                    SetValue::Hash(d) => add_to_dict(d, value),
                    SetValue::Intset(_) => false,
                }
            }
        }
    }

    /// [`SetValue::add`] for a [`Member`]: integers go straight into an
    /// intset without formatting.
    pub fn add_member(&mut self, m: Member<'_>, max_intset_entries: usize) -> bool {
        match (m, &mut *self) {
            (Member::Int(n), SetValue::Intset(_)) => add_int_to_intset(self, n, max_intset_entries),
            (Member::Int(n), SetValue::Hash(d)) => {
                let mut tmp = [0u8; 20];
                add_to_dict(d, num::format_i64(n, &mut tmp))
            }
            (Member::Str(s), _) => self.add(s, max_intset_entries),
        }
    }

    /// `setTypeRemove`: true if `value` was a member. Shrinks a sparse hash
    /// table (`htNeedsResize` → `dictResize`).
    pub fn remove(&mut self, value: &[u8]) -> bool {
        match self {
            SetValue::Hash(d) => {
                if d.remove_value(value).is_some() {
                    if d.needs_shrink() {
                        d.shrink_to_fit();
                    }
                    true
                } else {
                    false
                }
            }
            SetValue::Intset(is) => match num::parse_i64(value) {
                Some(n) => is.remove(n),
                None => false,
            },
        }
    }

    /// [`SetValue::remove`] for a [`Member`].
    pub fn remove_member(&mut self, m: Member<'_>) -> bool {
        match (m, &mut *self) {
            (Member::Int(n), SetValue::Intset(is)) => is.remove(n),
            (Member::Int(n), SetValue::Hash(_)) => {
                let mut tmp = [0u8; 20];
                self.remove(num::format_i64(n, &mut tmp))
            }
            (Member::Str(s), _) => self.remove(s),
        }
    }

    /// `setTypeIsMember`.
    pub fn contains(&self, value: &[u8]) -> bool {
        match self {
            SetValue::Hash(d) => d.contains_key(value),
            SetValue::Intset(is) => match num::parse_i64(value) {
                Some(n) => is.contains(n),
                None => false,
            },
        }
    }

    /// [`SetValue::contains`] for a [`Member`] (intset-vs-intset checks
    /// skip formatting).
    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match (m, self) {
            (Member::Int(n), SetValue::Intset(is)) => is.contains(n),
            (Member::Int(n), SetValue::Hash(d)) => {
                let mut tmp = [0u8; 20];
                d.contains_key(num::format_i64(n, &mut tmp))
            }
            (Member::Str(s), _) => self.contains(s),
        }
    }

    /// Members, borrowed (ascending integers for intsets).
    pub fn iter(&self) -> Iter<'_> {
        match self {
            SetValue::Intset(is) => Iter::Int(is.iter()),
            SetValue::Hash(d) => Iter::Hash(d.iter()),
        }
    }

    /// `setTypeRandomElement`: a uniform intset member, or
    /// `dictGetFairRandomKey` for hash tables. None when empty.
    pub fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<Member<'_>> {
        match self {
            SetValue::Intset(is) => is.random(rng).map(Member::Int),
            SetValue::Hash(d) => d.fair_random_entry(rng).map(|(k, _)| Member::Str(k)),
        }
    }

    /// Advances a hash table's incremental rehash as `picks` calls of
    /// [`SetValue::random`] would in Redis (its random sampling rehashes).
    pub fn rehash_for_random(&mut self, picks: usize) {
        if let SetValue::Hash(d) = self {
            d.rehash_for_random(picks);
        }
    }

    /// Removes and returns a random member (SPOP).
    pub fn pop_random<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<Popped> {
        match self {
            SetValue::Intset(is) => {
                let v = is.random(rng)?;
                is.remove(v);
                Some(Popped::Int(v))
            }
            SetValue::Hash(d) => {
                d.rehash_for_random(1);
                let key: Vec<u8> = d.fair_random_entry(rng)?.0.to_vec();
                let (k, _) = d.remove(&key)?;
                if d.needs_shrink() {
                    d.shrink_to_fit();
                }
                Some(Popped::Str(k))
            }
        }
    }

    /// Owned copies of every member's bytes (in iteration order).
    pub fn members_to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(|m| m.to_vec()).collect()
    }
}

#[inline]
fn add_to_dict(d: &mut Dict<Sds, ()>, value: &[u8]) -> bool {
    let (_, inserted) = d.get_or_insert_with(value, || ());
    inserted
}

/// The intset branch of `setTypeAdd` for an integer; `set` must be an
/// intset.
fn add_int_to_intset(set: &mut SetValue, n: i64, max_intset_entries: usize) -> bool {
    let SetValue::Intset(is) = set else {
        return false;
    };
    if !is.add(n) {
        return false;
    }
    if is.len() > intset_limit(max_intset_entries) {
        set.convert_to_hashtable();
    }
    true
}

#[cfg(test)]
#[path = "set_tests.rs"]
mod tests;
