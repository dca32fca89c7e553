//! The list type (Redis 7.0's t_list.c type API). Redis 7.0 has a single
//! list encoding, "quicklist" (a sequence of listpack nodes sized by
//! list-max-listpack-size); this wraps our `Quicklist` and adds the few
//! operations the list commands and SORT need on top of it. Iteration
//! yields borrowed `LpValue`s, so replies never allocate per element.

use crate::ds::listpack::LpValue;
use crate::ds::quicklist::{self, QlNode, Quicklist};
use crate::util::digest::mix_digest;

/// Which end of a list (Redis's LIST_HEAD / LIST_TAIL).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum End {
    Head,
    Tail,
}

/// A list value stored in the keyspace.
#[derive(Clone)]
pub struct ListValue {
    ql: Quicklist,
}

impl Default for ListValue {
    /// A list with Redis's default node settings (fill -2, no compression).
    fn default() -> Self {
        ListValue::new(-2, 0)
    }
}

impl ListValue {
    /// `createQuicklistObject` + `quicklistSetOptions(fill, depth)`.
    pub fn new(fill: i32, compress_depth: i32) -> ListValue {
        ListValue {
            ql: Quicklist::new(fill, compress_depth),
        }
    }

    /// OBJECT ENCODING's answer for this value (always "quicklist" in 7.0).
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    /// The underlying quicklist (RDB, DEBUG).
    pub fn quicklist(&self) -> &Quicklist {
        &self.ql
    }

    /// Mutable access to the quicklist (RDB loading).
    pub fn quicklist_mut(&mut self) -> &mut Quicklist {
        &mut self.ql
    }

    /// Heap bytes owned (MEMORY USAGE): this value's box, the node deque's
    /// slots (nodes are stored inline) and each node's listpack allocation.
    pub fn heap_size(&self) -> usize {
        std::mem::size_of::<ListValue>()
            + self.ql.node_capacity() * std::mem::size_of::<QlNode>()
            + self
                .ql
                .nodes()
                .map(|n| n.listpack().capacity())
                .sum::<usize>()
    }

    /// Mixes this value into a DEBUG DIGEST the way Redis's
    /// xorObjectDigest does for lists: every element, in order.
    pub fn digest(&self, digest: &mut [u8; 20]) {
        let mut tmp = [0u8; 20];
        for v in self.ql.iter() {
            mix_digest(digest, v.as_bytes(&mut tmp));
        }
    }

    /// Number of elements.
    #[inline]
    pub fn len(&self) -> usize {
        self.ql.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ql.is_empty()
    }

    /// `listTypePush`.
    #[inline]
    pub fn push(&mut self, v: &[u8], end: End) {
        match end {
            End::Head => self.ql.push_head(v),
            End::Tail => self.ql.push_tail(v),
        }
    }

    /// `listTypePop` into `out` (cleared first); false when empty.
    #[inline]
    pub fn pop_into(&mut self, end: End, out: &mut Vec<u8>) -> bool {
        match end {
            End::Head => self.ql.pop_head_into(out),
            End::Tail => self.ql.pop_tail_into(out),
        }
    }

    /// Element at `idx` (negative from the tail).
    #[inline]
    pub fn index(&self, idx: i64) -> Option<LpValue<'_>> {
        self.ql.index(idx)
    }

    /// LSET: false when `idx` is out of range.
    pub fn set(&mut self, idx: i64, v: &[u8]) -> bool {
        self.ql.set(idx, v)
    }

    /// LINSERT: inserts `v` before/after the first element equal to
    /// `pivot` (searching head to tail). False if the pivot is absent.
    pub fn insert_at_pivot(&mut self, pivot: &[u8], v: &[u8], after: bool) -> bool {
        let Some(pos) = self.ql.iter().position(|e| e.eq_bytes(pivot)) else {
            return false;
        };
        if after {
            self.ql.insert_after(pos as i64, v)
        } else {
            self.ql.insert_before(pos as i64, v)
        }
    }

    /// LREM semantics (see `Quicklist::remove_matching`).
    pub fn remove(&mut self, v: &[u8], count: i64) -> usize {
        self.ql.remove_matching(v, count)
    }

    /// LTRIM with Redis's index normalization. Returns elements removed.
    pub fn trim(&mut self, start: i64, stop: i64) -> usize {
        let before = self.ql.len();
        self.ql.trim(start, stop);
        before - self.ql.len()
    }

    /// Deletes `count` elements starting at `start` (negative from the tail).
    pub fn delete_range(&mut self, start: i64, count: i64) {
        self.ql.delete_range(start, count);
    }

    /// Head to tail.
    #[inline]
    pub fn iter(&self) -> quicklist::Iter<'_> {
        self.ql.iter()
    }

    /// Tail to head.
    #[inline]
    pub fn iter_rev(&self) -> quicklist::RevIter<'_> {
        self.ql.iter_rev()
    }

    /// LRANGE's elements (indexes normalized and clamped as Redis does).
    #[inline]
    pub fn range(&self, start: i64, stop: i64) -> quicklist::Iter<'_> {
        self.ql.range(start, stop)
    }

    /// Normalizes LRANGE-style `start`/`stop` against the length: `None`
    /// for an empty range, else the absolute inclusive bounds.
    pub fn normalize_range(&self, start: i64, stop: i64) -> Option<(usize, usize)> {
        let llen = self.ql.len() as i64;
        let mut start = if start < 0 {
            llen.saturating_add(start)
        } else {
            start
        };
        let mut end = if stop < 0 {
            llen.saturating_add(stop)
        } else {
            stop
        };
        if start < 0 {
            start = 0;
        }
        if start > end || start >= llen {
            return None;
        }
        if end >= llen {
            end = llen - 1;
        }
        Some((start as usize, end as usize))
    }

    /// Elements from absolute index `start`, walking towards the head,
    /// `n` of them (reverse LRANGE, used by RPOP count and SORT DESC).
    pub fn range_rev(&self, start: usize, n: usize) -> impl Iterator<Item = LpValue<'_>> + '_ {
        let skip = self.ql.len().saturating_sub(start + 1);
        self.ql.iter_rev().skip(skip).take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic PRNG for the model test.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    fn elem(r: &mut Rng) -> Vec<u8> {
        match r.below(4) {
            0 => (r.below(20) as i64 - 10).to_string().into_bytes(),
            1 => vec![b'x'; r.below(300) as usize],
            _ => format!("e{}", r.below(8)).into_bytes(),
        }
    }

    fn contents(l: &ListValue) -> Vec<Vec<u8>> {
        l.iter().map(|v| v.to_vec()).collect()
    }

    #[test]
    fn model_check() {
        for fill in [-2, -1, 1, 3, 128] {
            let mut r = Rng(0x9e3779b97f4a7c15 ^ fill as u64);
            let mut l = ListValue::new(fill, 0);
            let mut m: Vec<Vec<u8>> = Vec::new();
            let mut buf = Vec::new();
            for _ in 0..3000 {
                let len = m.len() as i64;
                match r.below(9) {
                    0 => {
                        let e = elem(&mut r);
                        l.push(&e, End::Head);
                        m.insert(0, e);
                    }
                    1 => {
                        let e = elem(&mut r);
                        l.push(&e, End::Tail);
                        m.push(e);
                    }
                    2 => {
                        let got = l.pop_into(End::Head, &mut buf).then(|| buf.clone());
                        let want = if m.is_empty() {
                            None
                        } else {
                            Some(m.remove(0))
                        };
                        assert_eq!(got, want);
                    }
                    3 => {
                        let got = l.pop_into(End::Tail, &mut buf).then(|| buf.clone());
                        assert_eq!(got, m.pop());
                    }
                    4 => {
                        let pivot = elem(&mut r);
                        let e = elem(&mut r);
                        let after = r.below(2) == 0;
                        let ok = l.insert_at_pivot(&pivot, &e, after);
                        match m.iter().position(|x| *x == pivot) {
                            Some(p) => {
                                assert!(ok);
                                m.insert(if after { p + 1 } else { p }, e);
                            }
                            None => assert!(!ok),
                        }
                    }
                    5 => {
                        let e = elem(&mut r);
                        let count = r.below(5) as i64 - 2;
                        let n = l.remove(&e, count);
                        let mut removed = 0;
                        let limit = count.unsigned_abs() as usize;
                        if count >= 0 {
                            let mut i = 0;
                            while i < m.len() {
                                if m[i] == e && (limit == 0 || removed < limit) {
                                    m.remove(i);
                                    removed += 1;
                                } else {
                                    i += 1;
                                }
                            }
                        } else {
                            let mut i = m.len();
                            while i > 0 {
                                i -= 1;
                                if m[i] == e && removed < limit {
                                    m.remove(i);
                                    removed += 1;
                                }
                            }
                        }
                        assert_eq!(n, removed);
                    }
                    6 => {
                        let idx = r.below(len as u64 * 2 + 2) as i64 - len - 1;
                        let e = elem(&mut r);
                        let ok = l.set(idx, &e);
                        let abs = if idx < 0 { len + idx } else { idx };
                        if abs >= 0 && abs < len {
                            assert!(ok);
                            m[abs as usize] = e;
                        } else {
                            assert!(!ok);
                        }
                    }
                    7 => {
                        let s = r.below(len as u64 * 2 + 2) as i64 - len - 1;
                        let e = r.below(len as u64 * 2 + 2) as i64 - len - 1;
                        let got: Vec<Vec<u8>> = l.range(s, e).map(|v| v.to_vec()).collect();
                        let want: Vec<Vec<u8>> = match l.normalize_range(s, e) {
                            Some((a, b)) => m[a..=b].to_vec(),
                            None => vec![],
                        };
                        assert_eq!(got, want);
                        if let Some((a, b)) = l.normalize_range(s, e) {
                            let rev: Vec<Vec<u8>> =
                                l.range_rev(b, b - a + 1).map(|v| v.to_vec()).collect();
                            let mut w = want.clone();
                            w.reverse();
                            assert_eq!(rev, w);
                        }
                    }
                    _ => {
                        if r.below(10) == 0 {
                            let s = r.below(len as u64 + 2) as i64 - 1;
                            let e = r.below(len as u64 + 2) as i64 - 1;
                            let want: Vec<Vec<u8>> = match l.normalize_range(s, e) {
                                Some((a, b)) => m[a..=b].to_vec(),
                                None => vec![],
                            };
                            let removed = l.trim(s, e);
                            assert_eq!(removed, m.len() - want.len());
                            m = want;
                        }
                    }
                }
                assert_eq!(l.len(), m.len());
            }
            assert_eq!(contents(&l), m);
            let rev: Vec<Vec<u8>> = l.iter_rev().map(|v| v.to_vec()).collect();
            let mut mr = m.clone();
            mr.reverse();
            assert_eq!(rev, mr);
        }
    }
}
