//! The sorted-set type (Redis 7.0's t_zset.c type API): two encodings and
//! the operations the zset commands use.
//!
//! - listpack: member and score entries alternate, sorted by score then
//!   member bytes. Scores are written as `zzlInsertAt` does (`double2ll`:
//!   integral values up to ±2^62 as integers, -0 included; else `%.17g`,
//!   `inf`/`-inf`), so the listpack bytes match Redis's,
//!   and are read back with `strtod` (`zzlGetScore`).
//! - skiplist: [`SkiplistZset`] (member index + skiplist, each member stored once).
//!
//! Conversions follow 7.0: listpack → skiplist in [`ZSetValue::add`] when an
//! insert would exceed `zset-max-listpack-entries` or the member is longer
//! than `zset-max-listpack-value` (`zsetAdd`); skiplist → listpack only for
//! freshly built results (ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE/ZRANGESTORE),
//! see [`ZSetValue::from_sorted`] (`zsetConvertToListpackIfNeeded`).

use crate::ds::listpack::{Listpack, LpValue};
use crate::ds::skiplist::{self, MemberIndex, ZLexRangeSpec, ZRangeSpec};
use crate::ds::zset::{SkiplistZset, ZAddFlags, ZAddOutcome};
use crate::error::{self, CmdError};
use crate::util::num;

/// A member as stored: listpack integers are not formatted until needed.
pub type Member<'a> = LpValue<'a>;

/// A sorted set value stored in the keyspace.
pub enum ZSetValue {
    Listpack(Listpack),
    Skiplist(Box<SkiplistZset>),
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue::Listpack(Listpack::new())
    }
}

impl Clone for ZSetValue {
    fn clone(&self) -> Self {
        match self {
            ZSetValue::Listpack(lp) => ZSetValue::Listpack(lp.clone()),
            ZSetValue::Skiplist(z) => {
                let mut n = SkiplistZset::new();
                for (e, s) in z.iter() {
                    sl_insert(&mut n, e, s);
                }
                ZSetValue::Skiplist(Box::new(n))
            }
        }
    }
}

/// How `zzlInsertAt` (7.0) serializes a score: `double2ll` first (any
/// integral value within ±LLONG_MAX/2, including -0, as an integer), else
/// `d2string`.
pub fn score_repr(v: f64, out: &mut Vec<u8>) {
    const HALF: f64 = (i64::MAX / 2) as f64;
    if (-HALF..=HALF).contains(&v) && (v as i64) as f64 == v {
        num::write_i64(out, v as i64);
    } else if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
    } else {
        num::format_double(v, out);
    }
}

/// `zzlGetScore`: `strtod` of the stored score.
fn lp_score(v: LpValue<'_>) -> f64 {
    match v {
        LpValue::Int(i) => i as f64,
        LpValue::Str(s) => std::str::from_utf8(s)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0),
    }
}

/// Compares a stored member with `ele` as strings (`zzlCompareElements`).
fn member_cmp(m: LpValue<'_>, ele: &[u8]) -> std::cmp::Ordering {
    let mut buf = [0u8; 20];
    m.as_bytes(&mut buf).cmp(ele)
}

fn sl_insert(z: &mut SkiplistZset, ele: &[u8], score: f64) {
    z.insert_new(ele, score);
}

/// Iterator over (member, score) pairs of either encoding.
pub enum ZIter<'a> {
    Lp {
        lp: &'a Listpack,
        p: Option<usize>,
        rev: bool,
    },
    Sl(skiplist::Iter<'a>),
    Empty,
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (Member<'a>, f64);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Lp { lp, p, rev } => {
                let e = (*p)?;
                let s = lp.next(e)?;
                let item = (lp.get(e), lp_score(lp.get(s)));
                *p = if *rev {
                    lp.prev(e).and_then(|q| lp.prev(q))
                } else {
                    lp.next(s)
                };
                Some(item)
            }
            ZIter::Sl(it) => it.next().map(|(s, e)| (LpValue::Str(e), s)),
            ZIter::Empty => None,
        }
    }
}

impl ZSetValue {
    /// `zsetTypeCreate` as 7.0's ZADD does it: skiplist right away when no
    /// listpack may hold the first member.
    pub fn create(first_len: usize, max_entries: usize, max_value: usize) -> ZSetValue {
        if max_entries == 0 || max_value < first_len {
            ZSetValue::Skiplist(Box::new(SkiplistZset::new()))
        } else {
            ZSetValue::Listpack(Listpack::new())
        }
    }

    /// A set built from members already sorted by (score, member), encoded
    /// as `zsetConvertToListpackIfNeeded` would leave a fresh result.
    pub fn from_sorted<E: AsRef<[u8]>>(
        items: &[(E, f64)],
        max_entries: usize,
        max_value: usize,
    ) -> ZSetValue {
        let maxlen = items
            .iter()
            .map(|(e, _)| e.as_ref().len())
            .max()
            .unwrap_or(0);
        if items.len() <= max_entries && maxlen <= max_value {
            let total: usize = items.iter().map(|(e, _)| e.as_ref().len() + 12).sum();
            let mut lp = Listpack::with_capacity(total + 7);
            let mut sb = Vec::with_capacity(32);
            for (e, s) in items {
                lp.append(e.as_ref());
                sb.clear();
                score_repr(*s, &mut sb);
                lp.append(&sb);
            }
            lp.shrink_to_fit();
            ZSetValue::Listpack(lp)
        } else {
            let mut z = SkiplistZset::new();
            for (e, s) in items {
                sl_insert(&mut z, e.as_ref(), *s);
            }
            ZSetValue::Skiplist(Box::new(z))
        }
    }

    /// OBJECT ENCODING's answer for this value.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            ZSetValue::Listpack(_) => "listpack",
            ZSetValue::Skiplist(_) => "skiplist",
        }
    }

    /// Approximate heap bytes owned (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        let me = std::mem::size_of::<ZSetValue>();
        match self {
            ZSetValue::Listpack(lp) => me + lp.capacity(),
            ZSetValue::Skiplist(z) => me + z.heap_size(),
        }
    }

    /// Mixes this value into a DEBUG DIGEST as Redis's xorObjectDigest does.
    pub fn digest(&self, digest: &mut [u8; 20]) {
        use crate::util::digest::{mix_digest, xor_digest};
        let mut buf = Vec::with_capacity(32);
        let mut ib = [0u8; 20];
        for (m, s) in self.iter() {
            let mut ed = [0u8; 20];
            mix_digest(&mut ed, m.as_bytes(&mut ib));
            buf.clear();
            num::format_double(s, &mut buf);
            mix_digest(&mut ed, &buf);
            xor_digest(digest, &ed);
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ZSetValue::Listpack(lp) => lp.len() / 2,
            ZSetValue::Skiplist(z) => z.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All members ascending (or descending).
    pub fn iter(&self) -> ZIter<'_> {
        self.iter_from_rank(0, false)
    }

    /// Members from 0-based `rank` on (ranks counted from the top when `rev`).
    pub fn iter_from_rank(&self, rank: usize, rev: bool) -> ZIter<'_> {
        let len = self.len();
        if rank >= len {
            return ZIter::Empty;
        }
        match self {
            ZSetValue::Listpack(lp) => {
                let idx = if rev { len - 1 - rank } else { rank };
                ZIter::Lp {
                    lp,
                    p: lp.seek(2 * idx as i64),
                    rev,
                }
            }
            ZSetValue::Skiplist(z) => {
                let r = if rev { len - rank } else { rank + 1 };
                let zsl = z.zsl();
                match zsl.node_by_rank(r) {
                    Some(n) if rev => ZIter::Sl(zsl.rev_iter_from(n)),
                    Some(n) => ZIter::Sl(zsl.iter_from(n)),
                    None => ZIter::Empty,
                }
            }
        }
    }

    /// Iterator positioned on the first member inside the score range
    /// (the last one when `rev`); the caller stops at the other bound.
    pub fn iter_score(&self, range: &ZRangeSpec, rev: bool) -> ZIter<'_> {
        match self {
            ZSetValue::Listpack(lp) => {
                let p = lp_pairs(lp, rev)
                    .find(|&(_, s)| {
                        if rev {
                            range.value_lte_max(s)
                        } else {
                            range.value_gte_min(s)
                        }
                    })
                    .map(|(e, _)| e);
                ZIter::Lp { lp, p, rev }
            }
            ZSetValue::Skiplist(z) => {
                let zsl = z.zsl();
                let n = if rev {
                    zsl.last_in_range(range)
                } else {
                    zsl.first_in_range(range)
                };
                match n {
                    Some(n) if rev => ZIter::Sl(zsl.rev_iter_from(n)),
                    Some(n) => ZIter::Sl(zsl.iter_from(n)),
                    None => ZIter::Empty,
                }
            }
        }
    }

    /// Like [`ZSetValue::iter_score`] for a lex range.
    pub fn iter_lex(&self, range: &ZLexRangeSpec, rev: bool) -> ZIter<'_> {
        match self {
            ZSetValue::Listpack(lp) => {
                let mut ib = [0u8; 20];
                if !lp_is_in_lex_range(lp, range) {
                    return ZIter::Lp { lp, p: None, rev };
                }
                let p = lp_pairs(lp, rev)
                    .find(|&(e, _)| {
                        let m = lp.get(e);
                        let b = m.as_bytes(&mut ib);
                        if rev {
                            range.value_lte_max(b)
                        } else {
                            range.value_gte_min(b)
                        }
                    })
                    .map(|(e, _)| e)
                    // zzlFirst/LastInLexRange: the member found must also
                    // pass the other bound (matters with mixed scores and
                    // a LIMIT offset, which skips without checking).
                    .filter(|&e| {
                        let b = lp.get(e);
                        let b = b.as_bytes(&mut ib);
                        if rev {
                            range.value_gte_min(b)
                        } else {
                            range.value_lte_max(b)
                        }
                    });
                ZIter::Lp { lp, p, rev }
            }
            ZSetValue::Skiplist(z) => {
                let zsl = z.zsl();
                let n = if rev {
                    zsl.last_in_lex_range(range)
                } else {
                    zsl.first_in_lex_range(range)
                };
                match n {
                    Some(n) if rev => ZIter::Sl(zsl.rev_iter_from(n)),
                    Some(n) => ZIter::Sl(zsl.iter_from(n)),
                    None => ZIter::Empty,
                }
            }
        }
    }

    /// Number of members with scores in `range` (ZCOUNT).
    pub fn count_in_range(&self, range: &ZRangeSpec) -> usize {
        if range.is_empty() {
            return 0;
        }
        self.iter_score(range, false)
            .take_while(|&(_, s)| range.value_lte_max(s))
            .count()
    }

    /// Number of members in a lex range (ZLEXCOUNT); with mixed scores a
    /// skiplist can answer a negative count, as Redis does.
    pub fn count_in_lex_range(&self, range: &ZLexRangeSpec) -> i64 {
        if range.is_empty() {
            return 0;
        }
        match self {
            ZSetValue::Listpack(_) => {
                let mut ib = [0u8; 20];
                self.iter_lex(range, false)
                    .take_while(|(m, _)| range.value_lte_max(m.as_bytes(&mut ib)))
                    .count() as i64
            }
            // Redis counts by the ranks of the first and last nodes in
            // range, which differs from a scan when scores are mixed.
            ZSetValue::Skiplist(z) => {
                let zsl = z.zsl();
                let rank_of =
                    |n: skiplist::NodeRef<'_>| zsl.rank(n.score(), n.member()).unwrap_or(0) as i64;
                let len = zsl.len() as i64;
                let Some(first) = zsl.first_in_lex_range(range) else {
                    return 0;
                };
                let mut count = len - (rank_of(first) - 1);
                if let Some(last) = zsl.last_in_lex_range(range) {
                    count -= len - rank_of(last);
                }
                count
            }
        }
    }

    /// `zsetScore`.
    pub fn score(&self, ele: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Listpack(lp) => lp_find(lp, ele).map(|(_, s)| s),
            ZSetValue::Skiplist(z) => z.score(ele),
        }
    }

    /// `zsetRank`: 0-based, from the highest score when `rev`.
    pub fn rank(&self, ele: &[u8], rev: bool) -> Option<usize> {
        match self {
            ZSetValue::Listpack(lp) => {
                let r = lp_pairs(lp, false).position(|(e, _)| lp.eq(e, ele))?;
                Some(if rev { self.len() - 1 - r } else { r })
            }
            ZSetValue::Skiplist(z) => z.rank(ele, rev),
        }
    }

    /// Member and score at 0-based `index` in ascending order.
    pub fn by_index(&self, index: usize) -> Option<(Member<'_>, f64)> {
        self.iter_from_rank(index, false).next()
    }

    /// `zsetAdd` with its conversion to skiplist (see the module docs).
    pub fn add(
        &mut self,
        ele: &[u8],
        score: f64,
        flags: ZAddFlags,
        max_entries: usize,
        max_value: usize,
    ) -> Result<ZAddOutcome, CmdError> {
        if score.is_nan() {
            return Err(CmdError::Static(error::ZSET_SCORE_NAN));
        }
        if let ZSetValue::Listpack(lp) = self {
            if let Some((e, cur)) = lp_find(lp, ele) {
                if flags.nx {
                    return Ok(ZAddOutcome::Nop);
                }
                let mut score = score;
                if flags.incr {
                    score += cur;
                    if score.is_nan() {
                        return Err(CmdError::Static(error::ZSET_SCORE_NAN));
                    }
                }
                if (flags.lt && score >= cur) || (flags.gt && score <= cur) {
                    return Ok(ZAddOutcome::Nop);
                }
                if score == cur {
                    return Ok(ZAddOutcome::Unchanged(score));
                }
                lp_delete_pair(lp, e);
                lp_insert(lp, ele, score);
                return Ok(ZAddOutcome::Updated(score));
            } else if flags.xx {
                return Ok(ZAddOutcome::Nop);
            } else if lp.len() / 2 + 1 > max_entries
                || ele.len() > max_value
                || !lp.safe_to_add(ele.len())
            {
                self.convert_to_skiplist();
            } else {
                lp_insert(lp, ele, score);
                return Ok(ZAddOutcome::Added(score));
            }
        }
        match self {
            ZSetValue::Skiplist(z) => z.zadd(ele, score, flags),
            ZSetValue::Listpack(_) => Ok(ZAddOutcome::Nop),
        }
    }

    /// `zsetConvert(zobj, OBJ_ENCODING_SKIPLIST)`.
    pub fn convert_to_skiplist(&mut self) {
        if let ZSetValue::Listpack(lp) = self {
            let mut z = SkiplistZset::new();
            z.reserve(lp.len() / 2);
            let mut ib = [0u8; 20];
            for (m, s) in (ZIter::Lp {
                lp,
                p: lp.first(),
                rev: false,
            }) {
                sl_insert(&mut z, m.as_bytes(&mut ib), s);
            }
            *self = ZSetValue::Skiplist(Box::new(z));
        }
    }

    /// `zsetRemoveFromSkiplist` / `zzlDelete`: true if `ele` was a member.
    pub fn remove(&mut self, ele: &[u8]) -> bool {
        match self {
            ZSetValue::Listpack(lp) => match lp_find(lp, ele) {
                Some((e, _)) => {
                    lp_delete_pair(lp, e);
                    true
                }
                None => false,
            },
            ZSetValue::Skiplist(z) => z.remove(ele),
        }
    }

    /// Removes and returns the lowest (or highest) member.
    pub fn pop(&mut self, max: bool) -> Option<(Vec<u8>, f64)> {
        match self {
            ZSetValue::Listpack(lp) => {
                let e = if max { lp.seek(-2)? } else { lp.first()? };
                let s = lp.next(e)?;
                let out = (lp.get(e).to_vec(), lp_score(lp.get(s)));
                lp_delete_pair(lp, e);
                Some(out)
            }
            ZSetValue::Skiplist(z) => {
                let (e, s) = {
                    let (e, s) = if max {
                        z.rev_iter().next()?
                    } else {
                        z.iter().next()?
                    };
                    (e.to_vec(), s)
                };
                z.remove(&e);
                Some((e, s))
            }
        }
    }

    /// ZREMRANGEBYRANK with sanitized 0-based inclusive indexes.
    pub fn remove_range_by_rank(&mut self, start: usize, end: usize) -> usize {
        match self {
            ZSetValue::Listpack(lp) => {
                let n = end + 1 - start;
                lp.delete_range(2 * start as i64, 2 * n);
                n
            }
            ZSetValue::Skiplist(z) => z.remove_range_by_index(start, end),
        }
    }

    /// ZREMRANGEBYSCORE.
    pub fn remove_range_by_score(&mut self, range: &ZRangeSpec) -> usize {
        match self {
            ZSetValue::Listpack(lp) => {
                lp_delete_while(lp, |_, s| (range.value_gte_min(s), range.value_lte_max(s)))
            }
            ZSetValue::Skiplist(z) => z.remove_range_by_score(range),
        }
    }

    /// ZREMRANGEBYLEX.
    pub fn remove_range_by_lex(&mut self, range: &ZLexRangeSpec) -> usize {
        match self {
            ZSetValue::Listpack(lp) => {
                if !lp_is_in_lex_range(lp, range) {
                    return 0;
                }
                lp_delete_while(lp, |m, _| (range.value_gte_min(m), range.value_lte_max(m)))
            }
            ZSetValue::Skiplist(z) => z.remove_range_by_lex(range),
        }
    }

    /// The member index of the skiplist encoding (ZSCAN, DEBUG
    /// HTSTATS-KEY).
    pub fn index(&self) -> Option<&MemberIndex> {
        match self {
            ZSetValue::Skiplist(z) => Some(z.index()),
            ZSetValue::Listpack(_) => None,
        }
    }
}

/// (member position, score) for each pair, forward or backward.
fn lp_pairs(lp: &Listpack, rev: bool) -> impl Iterator<Item = (usize, f64)> + '_ {
    let start = if rev { lp.seek(-2) } else { lp.first() };
    std::iter::successors(start, move |&e| {
        if rev {
            lp.prev(e).and_then(|q| lp.prev(q))
        } else {
            lp.next(e).and_then(|s| lp.next(s))
        }
    })
    .map(move |e| (e, lp.next(e).map(|s| lp_score(lp.get(s))).unwrap_or(0.0)))
}

/// `zzlIsInLexRange`: the range is not empty, the last member is >= min
/// and the first one <= max. With mixed scores the members are not in lex
/// order, and Redis answers "nothing" whenever this whole-range test fails.
fn lp_is_in_lex_range(lp: &Listpack, range: &ZLexRangeSpec) -> bool {
    if range.is_empty() {
        return false;
    }
    let (Some(last), Some(first)) = (lp.seek(-2), lp.first()) else {
        return false;
    };
    let mut ib = [0u8; 20];
    if !range.value_gte_min(lp.get(last).as_bytes(&mut ib)) {
        return false;
    }
    range.value_lte_max(lp.get(first).as_bytes(&mut ib))
}

/// `zzlFind`: member position and score.
fn lp_find(lp: &Listpack, ele: &[u8]) -> Option<(usize, f64)> {
    let mut e = lp.first();
    while let Some(p) = e {
        let s = lp.next(p)?;
        if lp.eq(p, ele) {
            return Some((p, lp_score(lp.get(s))));
        }
        e = lp.next(s);
    }
    None
}

fn lp_delete_pair(lp: &mut Listpack, e: usize) {
    if let Some(p) = lp.delete(e) {
        lp.delete(p);
    }
}

/// `zzlInsert`: keeps (score, member) order; the score via `d2string`.
fn lp_insert(lp: &mut Listpack, ele: &[u8], score: f64) {
    let mut sb = Vec::with_capacity(32);
    score_repr(score, &mut sb);
    // Grow to the exact size, as Redis reallocs per insert.
    lp.reserve_exact(ele.len() + sb.len() + 12);
    let mut at = None;
    let mut e = lp.first();
    while let Some(p) = e {
        let Some(s) = lp.next(p) else { break };
        let cur = lp_score(lp.get(s));
        if cur > score || (cur == score && member_cmp(lp.get(p), ele).is_gt()) {
            at = Some(p);
            break;
        }
        e = lp.next(s);
    }
    match at {
        Some(p) => {
            if let Some(np) = lp.insert(p, ele, false) {
                lp.insert(np, &sb, true);
            }
        }
        None => {
            lp.append(ele);
            lp.append(&sb);
        }
    }
}

/// Deletes the run of pairs for which `f` says (past min, within max):
/// skips pairs until the first "past min", deletes while "within max".
fn lp_delete_while(lp: &mut Listpack, f: impl Fn(&[u8], f64) -> (bool, bool)) -> usize {
    let mut ib = [0u8; 20];
    let mut e = lp.first();
    let mut started = false;
    let mut deleted = 0;
    while let Some(p) = e {
        let Some(s) = lp.next(p) else { break };
        let score = lp_score(lp.get(s));
        let m = lp.get(p);
        let (gte, lte) = f(m.as_bytes(&mut ib), score);
        if !started {
            if !gte {
                e = lp.next(s);
                continue;
            }
            started = true;
        }
        if !lte {
            break;
        }
        lp_delete_pair(lp, p);
        deleted += 1;
        e = if lp.as_bytes().get(p) == Some(&crate::ds::listpack::EOF) {
            None
        } else {
            Some(p)
        };
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ds::skiplist::{parse_lex_range, parse_range};
    use proptest::prelude::*;

    type Model = Vec<(Vec<u8>, f64)>;

    fn sort(m: &mut Model) {
        m.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
    }

    fn dump(z: &ZSetValue) -> Model {
        z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
    }

    #[test]
    fn score_repr_like_redis() {
        let f = |v: f64| {
            let mut o = Vec::new();
            score_repr(v, &mut o);
            String::from_utf8(o).unwrap()
        };
        assert_eq!(f(3.0), "3");
        assert_eq!(f(-0.0), "0");
        assert_eq!(f(1e17), "100000000000000000");
        assert_eq!(f(4611686018427387904.0), "4611686018427387904");
        assert_eq!(f(5e18), "5e+18");
        assert_eq!(f(1.5), "1.5");
        assert_eq!(f(f64::INFINITY), "inf");
        assert_eq!(f(1e20), "1e+20");
        assert_eq!(f(0.1), "0.10000000000000001");
    }

    #[test]
    fn conversion_at_thresholds() {
        let f = ZAddFlags::default();
        let mut z = ZSetValue::create(1, 3, 5);
        for (i, m) in ["a", "b", "c"].iter().enumerate() {
            z.add(m.as_bytes(), i as f64, f, 3, 5).unwrap();
        }
        assert_eq!(z.encoding_name(), "listpack");
        z.add(b"d", 9.0, f, 3, 5).unwrap();
        assert_eq!(z.encoding_name(), "skiplist");
        let mut y = ZSetValue::create(1, 3, 5);
        y.add(b"abcdef", 1.0, f, 3, 5).unwrap();
        assert_eq!(y.encoding_name(), "skiplist");
        let r = dump(&z);
        assert_eq!(ZSetValue::from_sorted(&r, 4, 5).encoding_name(), "listpack");
        assert_eq!(ZSetValue::from_sorted(&r, 3, 5).encoding_name(), "skiplist");
        assert_eq!(dump(&ZSetValue::from_sorted(&r, 4, 5)), r);
    }

    #[test]
    fn hundred_members_fit_in_redis_footprint() {
        // Redis 7.0.15: MEMORY USAGE of this key is 1584 bytes, of which
        // the listpack allocation is 1536 (jemalloc class) plus the 16-byte
        // robj; the rest is the key and dict entry.
        let mut z = ZSetValue::create(8, 128, 64);
        for i in 0..100 {
            let m = format!("member:{}", i);
            z.add(m.as_bytes(), i as f64, ZAddFlags::default(), 128, 64)
                .unwrap();
        }
        assert_eq!(z.encoding_name(), "listpack");
        assert!(z.heap_size() <= 1536 + 16, "{}", z.heap_size());
    }

    fn score() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(0.1),
            Just(1e20),
            (-6i32..6).prop_map(|v| v as f64 / 2.0),
        ]
    }

    fn member() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (0u8..12).prop_map(|k| vec![b'm', b'a' + k]),
            (0i64..12).prop_map(|k| k.to_string().into_bytes()),
        ]
    }

    proptest! {
        #[test]
        fn encodings_match_model(
            ops in proptest::collection::vec((0u8..6, member(), score(), any::<[bool; 4]>()), 0..120),
            lo in score(), hi in score(), ex in any::<[bool; 2]>(),
        ) {
            let mut lp = ZSetValue::create(0, 1 << 20, 1 << 20);
            let mut sl = ZSetValue::create(0, 0, 0);
            let mut m: Model = Vec::new();
            for (op, ele, s, fl) in ops {
                match op {
                    0..=2 => {
                        let f = ZAddFlags { nx: fl[0], xx: fl[1] && !fl[0], gt: fl[2], lt: fl[3] && !fl[2], incr: op == 2 };
                        let a = lp.add(&ele, s, f, 1 << 20, 1 << 20).map_err(|_| ());
                        let b = sl.add(&ele, s, f, 0, 0).map_err(|_| ());
                        prop_assert_eq!(a, b);
                        if let Ok(o) = a {
                            if let Some(ns) = o.score() {
                                m.retain(|x| x.0 != ele);
                                m.push((ele.clone(), ns));
                                sort(&mut m);
                            }
                        }
                    }
                    3 => {
                        let had = m.iter().any(|x| x.0 == ele);
                        prop_assert_eq!(lp.remove(&ele), had);
                        prop_assert_eq!(sl.remove(&ele), had);
                        m.retain(|x| x.0 != ele);
                    }
                    4 => {
                        let want = if m.is_empty() { None } else { Some(m.remove(0)) };
                        prop_assert_eq!(lp.pop(false), want.clone());
                        prop_assert_eq!(sl.pop(false), want);
                    }
                    _ => {
                        let want = m.pop();
                        prop_assert_eq!(lp.pop(true), want.clone());
                        prop_assert_eq!(sl.pop(true), want);
                    }
                }
                prop_assert_eq!(lp.encoding_name(), "listpack");
                prop_assert_eq!(sl.encoding_name(), "skiplist");
                prop_assert_eq!(lp.len(), m.len());
                prop_assert_eq!(sl.len(), m.len());
            }
            prop_assert_eq!(dump(&lp), m.clone());
            prop_assert_eq!(dump(&sl), m.clone());
            for (i, (e, s)) in m.iter().enumerate() {
                prop_assert_eq!(lp.score(e), Some(*s));
                prop_assert_eq!(sl.score(e), Some(*s));
                prop_assert_eq!(lp.rank(e, false), Some(i));
                prop_assert_eq!(sl.rank(e, true), Some(m.len() - 1 - i));
                let r: Model = lp.iter_from_rank(i, true).map(|(m, s)| (m.to_vec(), s)).collect();
                let mut want: Model = m[..m.len() - i].to_vec();
                want.reverse();
                prop_assert_eq!(r, want);
            }
            // Score ranges, both directions, counts and deletes.
            let fmt = |v: f64, x: bool| format!("{}{}", if x { "(" } else { "" }, if v.is_infinite() { if v > 0.0 { "inf".to_string() } else { "-inf".to_string() } } else { v.to_string() });
            let range = parse_range(fmt(lo, ex[0]).as_bytes(), fmt(hi, ex[1]).as_bytes()).unwrap();
            let want: Model = m.iter().filter(|x| range.value_gte_min(x.1) && range.value_lte_max(x.1)).cloned().collect();
            for z in [&lp, &sl] {
                let got: Model = z.iter_score(&range, false).take_while(|x| range.value_lte_max(x.1)).map(|(m, s)| (m.to_vec(), s)).collect();
                prop_assert_eq!(&got, &want);
                let mut got: Model = z.iter_score(&range, true).take_while(|x| range.value_gte_min(x.1)).map(|(m, s)| (m.to_vec(), s)).collect();
                got.reverse();
                prop_assert_eq!(&got, &want);
                prop_assert_eq!(z.count_in_range(&range), want.len());
            }
            prop_assert_eq!(lp.remove_range_by_score(&range), want.len());
            prop_assert_eq!(sl.remove_range_by_score(&range), want.len());
            prop_assert_eq!(dump(&lp), dump(&sl));
            // Lex ranges need equal scores.
            let flat: Model = {
                let mut f: Model = m.iter().map(|x| (x.0.clone(), 0.0)).collect();
                sort(&mut f);
                f
            };
            let mut lp2 = ZSetValue::from_sorted(&flat, 1 << 20, 1 << 20);
            let mut sl2 = ZSetValue::from_sorted(&flat, 0, 0);
            let lr = parse_lex_range(b"[ma", b"(mf").unwrap();
            let lw = flat.iter().filter(|x| lr.value_gte_min(&x.0) && lr.value_lte_max(&x.0)).count();
            prop_assert_eq!(lp2.count_in_lex_range(&lr), lw as i64);
            prop_assert_eq!(sl2.count_in_lex_range(&lr), lw as i64);
            prop_assert_eq!(lp2.remove_range_by_lex(&lr), lw);
            prop_assert_eq!(sl2.remove_range_by_lex(&lr), lw);
            prop_assert_eq!(dump(&lp2), dump(&sl2));
            if lp2.len() > 1 {
                let n = lp2.len();
                prop_assert_eq!(lp2.remove_range_by_rank(1, n - 1), sl2.remove_range_by_rank(1, n - 1));
                prop_assert_eq!(dump(&lp2), dump(&sl2));
            }
        }
    }
}
