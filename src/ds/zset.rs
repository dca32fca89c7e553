//! The skiplist encoding of a sorted set (t_zset.c's `zset`): a member
//! index for O(1) lookups plus a [`Skiplist`] for order, ranks and ranges.
//! The member bytes live once, in the skiplist node; the index
//! ([`MemberIndex`]) is a hash table whose chains run through the nodes, so
//! a lookup lands on the node holding the score. Every mutator here keeps
//! the two in sync, and takes a node out of the index before the node is
//! freed (the contract of [`MemberIndex::insert`]).
//!
//! [`SkiplistZset::zadd`] follows `zsetAdd` (7.0) for the skiplist encoding:
//! NX/XX/GT/LT/INCR flags, the NaN check after an increment, and the
//! in-place `zslUpdateScore` path. Conversions to/from listpack are the
//! caller's business.

use crate::ds::skiplist::{MemberIndex, Skiplist, ZLexRangeSpec, ZRangeSpec};
use crate::error::{self, CmdError};

/// Skiplist item to (member, score).
fn out((s, e): (f64, &[u8])) -> (&[u8], f64) {
    (e, s)
}

/// `ZADD_IN_*` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZAddFlags {
    /// Only add new elements.
    pub nx: bool,
    /// Only update existing elements.
    pub xx: bool,
    /// Only update when the new score is greater.
    pub gt: bool,
    /// Only update when the new score is less.
    pub lt: bool,
    /// The score is an increment (ZINCRBY / ZADD INCR).
    pub incr: bool,
}

/// What `zadd` did (`ZADD_OUT_*`). NaN results are the `Err` of `zadd`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ZAddOutcome {
    /// New element with this score (`ZADD_OUT_ADDED`).
    Added(f64),
    /// Existing element moved to this score (`ZADD_OUT_UPDATED`).
    Updated(f64),
    /// Existing element, score already equal: processed, nothing changed
    /// (no out flag in Redis, but ZADD INCR still replies the score).
    Unchanged(f64),
    /// Skipped because of NX/XX/GT/LT (`ZADD_OUT_NOP`).
    Nop,
}

impl ZAddOutcome {
    /// The element's score afterwards, `None` for [`ZAddOutcome::Nop`]
    /// (ZADD INCR replies a null then).
    pub fn score(&self) -> Option<f64> {
        match *self {
            ZAddOutcome::Added(s) | ZAddOutcome::Updated(s) | ZAddOutcome::Unchanged(s) => Some(s),
            ZAddOutcome::Nop => None,
        }
    }
}

/// A sorted set in skiplist encoding. The fields are private: `index`
/// chains exactly the live nodes of `zsl`.
#[derive(Default)]
pub struct SkiplistZset {
    // Declared first, so it is dropped before the nodes (its drop never
    // reads them anyway).
    index: MemberIndex,
    zsl: Skiplist,
}

impl SkiplistZset {
    /// An empty set.
    pub fn new() -> Self {
        SkiplistZset {
            index: MemberIndex::new(),
            zsl: Skiplist::new(),
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.zsl.len()
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.zsl.is_empty()
    }

    /// The member index (ZSCAN, DEBUG HTSTATS-KEY).
    pub fn index(&self) -> &MemberIndex {
        &self.index
    }

    /// The skiplist, for ordered reads.
    pub fn zsl(&self) -> &Skiplist {
        &self.zsl
    }

    /// Sizes the index for `n` members (`dictExpand` before a conversion).
    pub fn reserve(&mut self, n: usize) {
        self.index.expand(n);
    }

    /// Adds a member known to be absent (`zslInsert` + `dictAdd`), as
    /// conversions and freshly built results do. The score must not be NaN.
    pub fn insert_new(&mut self, ele: &[u8], score: f64) {
        debug_assert!(self.index.get(ele).is_none() && !score.is_nan());
        let node = self.zsl.insert_node(score, ele);
        // SAFETY: `node` is a fresh node of our skiplist holding a member
        // the index lacks; every path that frees a node of `zsl` (remove,
        // the range deletes) takes it out of the index first, and drop
        // frees the nodes after the index, which never reads them then.
        unsafe { self.index.insert(node) };
    }

    /// Heap bytes: the nodes (members included) and the index's buckets.
    pub fn heap_size(&self) -> usize {
        std::mem::size_of::<Self>() + self.zsl.heap_size() + self.index.heap_size()
    }

    /// Redis shrinks its member dict after deletions (`htNeedsResize` then
    /// `dictResize`, in zsetDel and zremrangeGeneric).
    fn shrink_if_needed(&mut self) {
        if self.index.needs_shrink() {
            self.index.shrink_to_fit();
        }
    }

    /// `zsetAdd` for the skiplist encoding. `Err` carries
    /// "ERR resulting score is not a number (NaN)" (`ZADD_OUT_NAN`), for a
    /// NaN input or an INCR that produced NaN (e.g. `+inf` + `-inf`).
    /// The NX/XX/GT/LT compatibility checks are the command's job.
    pub fn zadd(
        &mut self,
        ele: &[u8],
        score: f64,
        flags: ZAddFlags,
    ) -> Result<ZAddOutcome, CmdError> {
        let nan = || CmdError::Static(error::ZSET_SCORE_NAN);
        if score.is_nan() {
            return Err(nan());
        }
        let mut score = score;
        // A mutable lookup moves the index's rehash along, as dictFind does.
        if let Some(cur) = self.index.get_mut(ele).map(|n| n.score()) {
            if flags.nx {
                return Ok(ZAddOutcome::Nop);
            }
            if flags.incr {
                score += cur;
                if score.is_nan() {
                    return Err(nan());
                }
            }
            if (flags.lt && score >= cur) || (flags.gt && score <= cur) {
                return Ok(ZAddOutcome::Nop);
            }
            if score == cur {
                return Ok(ZAddOutcome::Unchanged(score));
            }
            // The node (and so its place in the index) is kept.
            self.zsl.update_score(cur, ele, score);
            Ok(ZAddOutcome::Updated(score))
        } else if !flags.xx {
            self.insert_new(ele, score);
            Ok(ZAddOutcome::Added(score))
        } else {
            Ok(ZAddOutcome::Nop)
        }
    }

    /// `zsetRemoveFromSkiplist`: true if `ele` was a member.
    pub fn remove(&mut self, ele: &[u8]) -> bool {
        // The node leaves the index before it is freed.
        let Some(score) = self.index.remove(ele) else {
            return false;
        };
        self.zsl.delete(score, ele);
        self.shrink_if_needed();
        true
    }

    /// `zsetScore`.
    pub fn score(&self, ele: &[u8]) -> Option<f64> {
        self.index.get(ele).map(|n| n.score())
    }

    /// `zsetRank`: 0-based rank, from the highest score when `reverse`.
    pub fn rank(&self, ele: &[u8], reverse: bool) -> Option<usize> {
        let score = self.score(ele)?;
        let r = self.zsl.rank(score, ele)?;
        Some(if reverse { self.len() - r } else { r - 1 })
    }

    /// Member and score at 0-based `index` (from the top when `reverse`).
    pub fn by_index(&self, index: usize, reverse: bool) -> Option<(&[u8], f64)> {
        let len = self.len();
        if index >= len {
            return None;
        }
        let rank = if reverse { len - index } else { index + 1 };
        self.zsl.by_rank(rank).map(|(s, e)| (e, s))
    }

    /// Members with 0-based indexes `start..=end` (already clamped by the
    /// caller as ZRANGE does), in ascending or descending order.
    pub fn range_by_index(&self, start: usize, end: usize, reverse: bool) -> Vec<(&[u8], f64)> {
        let len = self.len();
        if start > end || start >= len {
            return Vec::new();
        }
        let end = end.min(len - 1);
        let n = end - start + 1;
        let first = if reverse { len - start } else { start + 1 };
        let Some(node) = self.zsl.node_by_rank(first) else {
            return Vec::new();
        };
        let it = if reverse {
            self.zsl.rev_iter_from(node)
        } else {
            self.zsl.iter_from(node)
        };
        it.take(n).map(out).collect()
    }

    /// Members with scores in `range`, ascending (or descending).
    pub fn range_by_score(&self, range: &ZRangeSpec, reverse: bool) -> Vec<(&[u8], f64)> {
        if reverse {
            match self.zsl.last_in_range(range) {
                Some(id) => self
                    .zsl
                    .rev_iter_from(id)
                    .take_while(|(s, _)| range.value_gte_min(*s))
                    .map(out)
                    .collect(),
                None => Vec::new(),
            }
        } else {
            match self.zsl.first_in_range(range) {
                Some(id) => self
                    .zsl
                    .iter_from(id)
                    .take_while(|(s, _)| range.value_lte_max(*s))
                    .map(out)
                    .collect(),
                None => Vec::new(),
            }
        }
    }

    /// Members within a lex range, ascending (or descending).
    pub fn range_by_lex(&self, range: &ZLexRangeSpec, reverse: bool) -> Vec<(&[u8], f64)> {
        if reverse {
            match self.zsl.last_in_lex_range(range) {
                Some(id) => self
                    .zsl
                    .rev_iter_from(id)
                    .take_while(|(_, e)| range.value_gte_min(e))
                    .map(out)
                    .collect(),
                None => Vec::new(),
            }
        } else {
            match self.zsl.first_in_lex_range(range) {
                Some(id) => self
                    .zsl
                    .iter_from(id)
                    .take_while(|(_, e)| range.value_lte_max(e))
                    .map(out)
                    .collect(),
                None => Vec::new(),
            }
        }
    }

    /// ZREMRANGEBYSCORE: removes members with scores in `range`; returns the count.
    pub fn remove_range_by_score(&mut self, range: &ZRangeSpec) -> usize {
        let index = &mut self.index;
        // Each node leaves the index before it is freed.
        let n = self.zsl.delete_range_by_score(range, |_, e| {
            index.remove(e);
        });
        self.shrink_if_needed();
        n
    }

    /// ZREMRANGEBYLEX.
    pub fn remove_range_by_lex(&mut self, range: &ZLexRangeSpec) -> usize {
        let index = &mut self.index;
        let n = self.zsl.delete_range_by_lex(range, |_, e| {
            index.remove(e);
        });
        self.shrink_if_needed();
        n
    }

    /// ZREMRANGEBYRANK with 0-based inclusive indexes.
    pub fn remove_range_by_index(&mut self, start: usize, end: usize) -> usize {
        let index = &mut self.index;
        let n = self
            .zsl
            .delete_range_by_rank(start + 1, end.saturating_add(1), |_, e| {
                index.remove(e);
            });
        self.shrink_if_needed();
        n
    }

    /// Members and scores in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        self.zsl.iter().map(out)
    }

    /// Members and scores in descending order.
    pub fn rev_iter(&self) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        self.zsl.rev_iter().map(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds::skiplist::{parse_lex_range, parse_range};
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn flags(s: &str) -> ZAddFlags {
        ZAddFlags {
            nx: s.contains("nx"),
            xx: s.contains("xx"),
            gt: s.contains("gt"),
            lt: s.contains("lt"),
            incr: s.contains("incr"),
        }
    }

    #[test]
    fn zadd_semantics() {
        let mut z = SkiplistZset::new();
        let f = ZAddFlags::default();
        assert_eq!(z.zadd(b"a", 1.0, f), Ok(ZAddOutcome::Added(1.0)));
        assert_eq!(z.zadd(b"a", 1.0, f), Ok(ZAddOutcome::Unchanged(1.0)));
        assert_eq!(z.zadd(b"a", 2.0, f), Ok(ZAddOutcome::Updated(2.0)));
        assert_eq!(z.zadd(b"a", 5.0, flags("nx")), Ok(ZAddOutcome::Nop));
        assert_eq!(z.zadd(b"b", 5.0, flags("xx")), Ok(ZAddOutcome::Nop));
        assert_eq!(z.zadd(b"b", 5.0, flags("gt")), Ok(ZAddOutcome::Added(5.0)));
        assert_eq!(z.zadd(b"b", 4.0, flags("gt")), Ok(ZAddOutcome::Nop));
        assert_eq!(z.zadd(b"b", 5.0, flags("gt")), Ok(ZAddOutcome::Nop));
        assert_eq!(
            z.zadd(b"b", 4.0, flags("lt")),
            Ok(ZAddOutcome::Updated(4.0))
        );
        assert_eq!(
            z.zadd(b"b", 1.5, flags("incr")),
            Ok(ZAddOutcome::Updated(5.5))
        );
        assert_eq!(z.zadd(b"b", -1.0, flags("incr gt")), Ok(ZAddOutcome::Nop));
        assert_eq!(
            z.zadd(b"c", 3.0, flags("incr")),
            Ok(ZAddOutcome::Added(3.0))
        );
        assert_eq!(
            z.zadd(b"c", 0.0, flags("incr")),
            Ok(ZAddOutcome::Unchanged(3.0))
        );
        assert_eq!(
            z.zadd(b"c", f64::INFINITY, flags("incr")),
            Ok(ZAddOutcome::Updated(f64::INFINITY))
        );
        let nan = Err(CmdError::Static(
            "ERR resulting score is not a number (NaN)",
        ));
        assert_eq!(z.zadd(b"c", f64::NEG_INFINITY, flags("incr")), nan);
        assert_eq!(z.zadd(b"d", f64::NAN, f), nan);
        assert_eq!(z.score(b"c"), Some(f64::INFINITY));
        assert_eq!(z.len(), 3);
        assert_eq!(z.rank(b"a", false), Some(0));
        assert_eq!(z.rank(b"a", true), Some(2));
        assert_eq!(z.rank(b"c", false), Some(2));
        assert_eq!(z.rank(b"zz", false), None);
        assert!(z.remove(b"a") && !z.remove(b"a"));
        assert_eq!(z.rank(b"b", false), Some(0));
        assert_eq!(z.index().len(), z.zsl().len());
    }

    #[test]
    fn ranges() {
        let mut z = SkiplistZset::new();
        for (i, m) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            z.zadd(m.as_bytes(), i as f64, ZAddFlags::default())
                .unwrap();
        }
        let names = |v: Vec<(&[u8], f64)>| v.into_iter().map(|x| x.0.to_vec()).collect::<Vec<_>>();
        let r = parse_range(b"(1", b"3").unwrap();
        assert_eq!(
            names(z.range_by_score(&r, false)),
            vec![b"c".to_vec(), b"d".to_vec()]
        );
        assert_eq!(
            names(z.range_by_score(&r, true)),
            vec![b"d".to_vec(), b"c".to_vec()]
        );
        assert_eq!(
            names(z.range_by_index(1, 2, true)),
            vec![b"d".to_vec(), b"c".to_vec()]
        );
        assert_eq!(
            names(z.range_by_index(3, 100, false)),
            vec![b"d".to_vec(), b"e".to_vec()]
        );
        assert_eq!(z.by_index(0, true), Some((&b"e"[..], 4.0)));
        assert_eq!(z.remove_range_by_index(0, 0), 1);
        assert_eq!(
            z.remove_range_by_score(&parse_range(b"4", b"+inf").unwrap()),
            1
        );
        let mut eq = SkiplistZset::new();
        for m in ["a", "b", "c"] {
            eq.zadd(m.as_bytes(), 0.0, ZAddFlags::default()).unwrap();
        }
        let lr = parse_lex_range(b"(a", b"+").unwrap();
        assert_eq!(
            names(eq.range_by_lex(&lr, true)),
            vec![b"c".to_vec(), b"b".to_vec()]
        );
        assert_eq!(eq.remove_range_by_lex(&lr), 2);
        assert_eq!(eq.score(b"b"), None);
        assert_eq!(eq.iter().count(), 1);
        assert_eq!((z.len(), z.index().len()), (3, 3));
    }

    fn score() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            (-8i32..8).prop_map(|v| v as f64 / 2.0),
        ]
    }

    proptest! {
        #[test]
        fn zadd_matches_model(
            ops in proptest::collection::vec(
                (0u8..6, score(), any::<[bool; 5]>(), any::<bool>()), 0..150)
        ) {
            let mut z = SkiplistZset::new();
            let mut m: HashMap<Vec<u8>, f64> = HashMap::new();
            for (k, s, fl, rm) in ops {
                let ele = vec![b'm', k];
                if rm {
                    prop_assert_eq!(z.remove(&ele), m.remove(&ele).is_some());
                    continue;
                }
                let f = ZAddFlags { nx: fl[0], xx: fl[1], gt: fl[2], lt: fl[3], incr: fl[4] };
                // Model of zsetAdd.
                let want = match m.get(&ele).copied() {
                    Some(_) if f.nx => Ok(ZAddOutcome::Nop),
                    Some(cur) => {
                        let ns = if f.incr { s + cur } else { s };
                        if ns.is_nan() {
                            Err(())
                        } else if (f.lt && ns >= cur) || (f.gt && ns <= cur) {
                            Ok(ZAddOutcome::Nop)
                        } else if ns == cur {
                            Ok(ZAddOutcome::Unchanged(ns))
                        } else {
                            m.insert(ele.clone(), ns);
                            Ok(ZAddOutcome::Updated(ns))
                        }
                    }
                    None if f.xx => Ok(ZAddOutcome::Nop),
                    None => {
                        m.insert(ele.clone(), s);
                        Ok(ZAddOutcome::Added(s))
                    }
                };
                prop_assert_eq!(z.zadd(&ele, s, f).map_err(|_| ()), want);
                prop_assert_eq!(z.len(), m.len());
                prop_assert_eq!(z.index().len(), m.len());
                z.zsl().check_invariants().map_err(TestCaseError::fail)?;
            }
            let mut sorted: Vec<(f64, Vec<u8>)> = m.iter().map(|(k, v)| (*v, k.clone())).collect();
            sorted.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then_with(|| a.1.cmp(&b.1)));
            for (i, (s, e)) in sorted.iter().enumerate() {
                prop_assert_eq!(z.score(e), Some(*s));
                prop_assert_eq!(z.rank(e, false), Some(i));
                prop_assert_eq!(z.rank(e, true), Some(sorted.len() - 1 - i));
            }
        }
    }
}
