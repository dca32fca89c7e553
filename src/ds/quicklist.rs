//! Quicklist: Redis 7.0's list encoding (`quicklist.c`), a sequence of
//! listpack nodes.
//!
//! Nodes live in a `VecDeque<QlNode>` (Redis uses a doubly linked list):
//! push/pop at either end is O(1) amortized plus the listpack edit; adding or
//! removing a node in the middle moves node handles (a few words each), which
//! is cheap next to the listpack memmove Redis does anyway. Locating index
//! `i` walks node counts from the nearer end, exactly as
//! `quicklistGetIteratorAtIdx`: O(nodes) + O(node entries).
//!
//! Node fill rules follow Redis 7.0: `fill` < 0 selects a byte limit per
//! node (-1..-5 = 4/8/16/32/64 KB), `fill` > 0 a maximum entry count with
//! the 8 KB `SIZE_SAFETY_LIMIT`; an element that does not fit starts its own
//! node (`_quicklistNodeAllowInsert`, `SIZE_ESTIMATE_OVERHEAD` = 8). Inserts
//! in the middle of a full node split it and then try to merge neighbours
//! (`_quicklistMergeNodes`, merged size estimated as `a + b - 11`). LSET
//! replaces in place like 7.0's `quicklistReplaceEntry`. Node layouts thus
//! match Redis's for the same command sequence, so nodes can be written to
//! RDB (`QUICKLIST_2`, container PACKED) as they are.
//!
//! Not implemented: LZF compression of interior nodes (`compress_depth` is
//! kept and reported but nodes are always stored raw; RDB writers may
//! compress on save) and PLAIN nodes for elements >= 1 GB
//! (`packed_threshold`); such elements go into their own listpack node.
//! Bookmarks (used only by defrag) are not needed.

use std::collections::VecDeque;

use super::listpack::{self, Listpack, LpValue};

/// Byte limits for negative fill values -1..-5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Maximum listpack bytes of a multi-entry node when limited by count.
pub const SIZE_SAFETY_LIMIT: usize = 8192;
/// Overestimate of the per-entry listpack overhead.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// `FILL_MAX` (QL_FILL_BITS = 16).
const FILL_MAX: i32 = (1 << 15) - 1;
/// `COMPRESS_MAX` (QL_COMP_BITS = 16).
const COMPRESS_MAX: i32 = (1 << 16) - 1;

/// One quicklist node: a listpack and its cached entry count.
#[derive(Clone, Debug)]
pub struct QlNode {
    lp: Listpack,
    count: usize,
}

impl QlNode {
    fn with(lp: Listpack) -> QlNode {
        let count = lp.len();
        QlNode { lp, count }
    }

    /// The node's listpack (what RDB stores for the node).
    pub fn listpack(&self) -> &Listpack {
        &self.lp
    }

    /// Number of entries in the node.
    pub fn count(&self) -> usize {
        self.count
    }

    #[inline]
    fn sz(&self) -> usize {
        self.lp.bytes_len()
    }
}

fn size_meets_optimization(sz: usize, fill: i32) -> bool {
    if fill >= 0 {
        return false;
    }
    match OPTIMIZATION_LEVEL.get((-fill - 1) as usize) {
        Some(&lim) => sz <= lim,
        None => false,
    }
}

fn allow_insert(node: Option<&QlNode>, fill: i32, sz: usize) -> bool {
    let Some(node) = node else { return false };
    let new_sz = node.sz() + sz + SIZE_ESTIMATE_OVERHEAD;
    if size_meets_optimization(new_sz, fill) {
        true
    } else if new_sz > SIZE_SAFETY_LIMIT {
        false
    } else {
        (node.count as i64) < fill as i64
    }
}

fn allow_merge(a: Option<&QlNode>, b: Option<&QlNode>, fill: i32) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    // Redis computes this in unsigned int; both sizes are >= 7.
    let merge_sz = (a.sz() + b.sz()).saturating_sub(11);
    if size_meets_optimization(merge_sz, fill) {
        true
    } else if merge_sz > SIZE_SAFETY_LIMIT {
        false
    } else {
        ((a.count + b.count) as i64) <= fill as i64
    }
}

/// A Redis 7.0 quicklist.
#[derive(Clone, Debug)]
pub struct Quicklist {
    nodes: VecDeque<QlNode>,
    count: usize,
    fill: i32,
    compress: i32,
}

impl Quicklist {
    /// `quicklistNew(fill, compress)`: `fill` is list-max-listpack-size
    /// (clamped to -5..=32767), `compress_depth` list-compress-depth
    /// (stored only; see the module docs).
    pub fn new(fill: i32, compress_depth: i32) -> Quicklist {
        Quicklist {
            nodes: VecDeque::new(),
            count: 0,
            fill: fill.clamp(-5, FILL_MAX),
            compress: compress_depth.clamp(0, COMPRESS_MAX),
        }
    }

    /// The fill setting in effect.
    pub fn fill(&self) -> i32 {
        self.fill
    }

    /// The compress depth setting (not applied).
    pub fn compress_depth(&self) -> i32 {
        self.compress
    }

    /// Total number of entries.
    #[inline]
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the list has no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The nodes head to tail (for RDB: each node's listpack bytes).
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = &QlNode> + '_ {
        self.nodes.iter()
    }

    /// Node slots allocated in the node deque (MEMORY USAGE accounting).
    pub fn node_capacity(&self) -> usize {
        self.nodes.capacity()
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Appends a pre-built listpack as a new tail node (RDB loading,
    /// `quicklistAppendListpack`). Empty listpacks are ignored.
    pub fn append_listpack(&mut self, lp: Listpack) {
        let node = QlNode::with(lp);
        if node.count == 0 {
            return;
        }
        self.count += node.count;
        self.nodes.push_back(node);
    }

    /// LPUSH one element (`quicklistPushHead`).
    pub fn push_head(&mut self, v: &[u8]) {
        if allow_insert(self.nodes.front(), self.fill, v.len()) {
            if let Some(n) = self.nodes.front_mut() {
                n.lp.prepend(v);
                n.count += 1;
            }
        } else {
            let mut lp = Listpack::new();
            lp.prepend(v);
            self.nodes.push_front(QlNode { lp, count: 1 });
        }
        self.count += 1;
    }

    /// RPUSH one element (`quicklistPushTail`).
    pub fn push_tail(&mut self, v: &[u8]) {
        if allow_insert(self.nodes.back(), self.fill, v.len()) {
            if let Some(n) = self.nodes.back_mut() {
                n.lp.append(v);
                n.count += 1;
            }
        } else {
            let mut lp = Listpack::new();
            lp.append(v);
            self.nodes.push_back(QlNode { lp, count: 1 });
        }
        self.count += 1;
    }

    /// Deletes the entry at position `p` of node `ni`, dropping the node if
    /// it empties (`quicklistDelIndex`). Returns true if the node was removed.
    fn del_at(&mut self, ni: usize, p: usize) -> bool {
        let node = &mut self.nodes[ni];
        node.lp.delete(p);
        node.count -= 1;
        self.count -= 1;
        if node.count == 0 {
            self.nodes.remove(ni);
            true
        } else {
            false
        }
    }

    /// LPOP into `out` (cleared first) without allocating a new vector.
    pub fn pop_head_into(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(p) = self.nodes.front().and_then(|n| n.lp.first()) else {
            return false;
        };
        out.clear();
        self.nodes[0].lp.get(p).write_to(out);
        self.del_at(0, p);
        true
    }

    /// RPOP into `out` (cleared first).
    pub fn pop_tail_into(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(ni) = self.nodes.len().checked_sub(1) else {
            return false;
        };
        let Some(p) = self.nodes[ni].lp.last() else {
            return false;
        };
        out.clear();
        self.nodes[ni].lp.get(p).write_to(out);
        self.del_at(ni, p);
        true
    }

    /// LPOP.
    pub fn pop_head(&mut self) -> Option<Vec<u8>> {
        let mut v = Vec::new();
        self.pop_head_into(&mut v).then_some(v)
    }

    /// RPOP.
    pub fn pop_tail(&mut self) -> Option<Vec<u8>> {
        let mut v = Vec::new();
        self.pop_tail_into(&mut v).then_some(v)
    }

    /// Node index and offset within it of list index `idx` (negative from
    /// the tail), seeking from the nearer end.
    fn locate(&self, idx: i64) -> Option<(usize, usize)> {
        let forward = idx >= 0;
        let index = if forward {
            idx as u64
        } else {
            (-(idx + 1)) as u64
        } as usize;
        if index >= self.count {
            return None;
        }
        // Absolute index from the head.
        let abs = if forward {
            index
        } else {
            self.count - 1 - index
        };
        if abs <= (self.count - 1) / 2 {
            let mut accum = 0;
            for (i, n) in self.nodes.iter().enumerate() {
                if accum + n.count > abs {
                    return Some((i, abs - accum));
                }
                accum += n.count;
            }
        } else {
            let from_tail = self.count - 1 - abs;
            let mut accum = 0;
            for (i, n) in self.nodes.iter().enumerate().rev() {
                if accum + n.count > from_tail {
                    return Some((i, n.count - 1 - (from_tail - accum)));
                }
                accum += n.count;
            }
        }
        None
    }

    /// LINDEX.
    pub fn index(&self, idx: i64) -> Option<LpValue<'_>> {
        let (ni, off) = self.locate(idx)?;
        let lp = &self.nodes[ni].lp;
        lp.seek(off as i64).map(|p| lp.get(p))
    }

    /// LSET: replaces the entry at `idx` in place; false if out of range.
    pub fn set(&mut self, idx: i64, v: &[u8]) -> bool {
        let Some((ni, off)) = self.locate(idx) else {
            return false;
        };
        let lp = &mut self.nodes[ni].lp;
        match lp.seek(off as i64) {
            Some(p) => lp.replace(p, v).is_some(),
            None => false,
        }
    }

    /// Splits node `ni` at `off` (`_quicklistSplitNode`): with `after` the
    /// returned node holds `[off+1, end]` and the node keeps `[0, off]`;
    /// otherwise the returned node holds `[0, off-1]` and the node keeps
    /// `[off, end]`.
    fn split_node(&mut self, ni: usize, off: usize, after: bool) -> QlNode {
        let node = &mut self.nodes[ni];
        let mut new_lp = node.lp.clone();
        let (orig_start, orig_extent) = if after {
            (off as i64 + 1, usize::MAX)
        } else {
            (0, off)
        };
        let (new_start, new_extent) = if after {
            (0, off + 1)
        } else {
            (off as i64, usize::MAX)
        };
        node.lp.delete_range(orig_start, orig_extent);
        node.count = node.lp.len();
        new_lp.delete_range(new_start, new_extent);
        QlNode::with(new_lp)
    }

    /// Merges nodes `a` and `a + 1` into one at index `a` (`lpMerge`).
    fn merge_pair(&mut self, a: usize) {
        let Some(b) = self.nodes.remove(a + 1) else {
            return;
        };
        let first = &mut self.nodes[a];
        if first.count >= b.count {
            first.lp.merge_after(&b.lp);
        } else {
            let mut keep = b;
            keep.lp.merge_before(&first.lp);
            *first = keep;
        }
        first.count = first.lp.len();
    }

    /// `_quicklistMergeNodes` around node `center`.
    fn merge_nodes(&mut self, mut center: usize) {
        let fill = self.fill;
        // prev_prev + prev
        if center >= 2 && allow_merge(self.nodes.get(center - 1), self.nodes.get(center - 2), fill)
        {
            self.merge_pair(center - 2);
            center -= 1;
        }
        // next + next_next
        if allow_merge(self.nodes.get(center + 1), self.nodes.get(center + 2), fill) {
            self.merge_pair(center + 1);
        }
        // center + prev
        let target = if center >= 1
            && allow_merge(self.nodes.get(center), self.nodes.get(center - 1), fill)
        {
            self.merge_pair(center - 1);
            center - 1
        } else {
            center
        };
        // target + next
        if allow_merge(self.nodes.get(target), self.nodes.get(target + 1), fill) {
            self.merge_pair(target);
        }
    }

    fn single_node(v: &[u8], head: bool) -> QlNode {
        let mut lp = Listpack::new();
        if head {
            lp.prepend(v);
        } else {
            lp.append(v);
        }
        QlNode { lp, count: 1 }
    }

    /// `_quicklistInsert` relative to entry `off` of node `ni`.
    fn insert_at(&mut self, ni: usize, off: usize, v: &[u8], after: bool) {
        let fill = self.fill;
        let sz = v.len();
        let ncount = self.nodes[ni].count;
        let full = !allow_insert(self.nodes.get(ni), fill, sz);
        let at_tail = after && off == ncount - 1;
        let at_head = !after && off == 0;
        let avail_next = at_tail && allow_insert(self.nodes.get(ni + 1), fill, sz);
        let avail_prev =
            at_head && ni > 0 && allow_insert(self.nodes.get(ni.wrapping_sub(1)), fill, sz);

        if !full {
            let node = &mut self.nodes[ni];
            if let Some(p) = node.lp.seek(off as i64) {
                node.lp.insert(p, v, after);
                node.count += 1;
            }
        } else if at_tail && avail_next {
            let n = &mut self.nodes[ni + 1];
            n.lp.prepend(v);
            n.count += 1;
        } else if at_head && avail_prev {
            let n = &mut self.nodes[ni - 1];
            n.lp.append(v);
            n.count += 1;
        } else if at_tail || at_head {
            let node = Self::single_node(v, true);
            self.nodes.insert(if after { ni + 1 } else { ni }, node);
        } else {
            let mut new_node = self.split_node(ni, off, after);
            if after {
                new_node.lp.prepend(v);
            } else {
                new_node.lp.append(v);
            }
            new_node.count += 1;
            let center = if after {
                self.nodes.insert(ni + 1, new_node);
                ni
            } else {
                self.nodes.insert(ni, new_node);
                ni + 1
            };
            self.merge_nodes(center);
        }
        self.count += 1;
    }

    /// LINSERT BEFORE the entry at `idx`; false if out of range.
    pub fn insert_before(&mut self, idx: i64, v: &[u8]) -> bool {
        match self.locate(idx) {
            Some((ni, off)) => {
                self.insert_at(ni, off, v, false);
                true
            }
            None => false,
        }
    }

    /// LINSERT AFTER the entry at `idx`; false if out of range.
    pub fn insert_after(&mut self, idx: i64, v: &[u8]) -> bool {
        match self.locate(idx) {
            Some((ni, off)) => {
                self.insert_at(ni, off, v, true);
                true
            }
            None => false,
        }
    }

    /// `quicklistDelRange`: deletes `count` entries from `start` (negative
    /// from the tail, clamped to the list end). Returns whether anything
    /// was deleted.
    pub fn delete_range(&mut self, start: i64, count: i64) -> bool {
        if count <= 0 {
            return false;
        }
        let Some((mut ni, mut off)) = self.locate(start) else {
            return false;
        };
        let abs = if start >= 0 {
            start as usize
        } else {
            (self.count as i64 + start) as usize
        };
        let mut extent = (count as u64).min((self.count - abs) as u64) as usize;
        while extent > 0 && ni < self.nodes.len() {
            let ncount = self.nodes[ni].count;
            let del = (ncount - off).min(extent);
            if off == 0 && del == ncount {
                self.nodes.remove(ni);
                self.count -= del;
            } else {
                let node = &mut self.nodes[ni];
                node.lp.delete_range(off as i64, del);
                node.count -= del;
                self.count -= del;
                ni += 1;
            }
            extent -= del;
            off = 0;
        }
        true
    }

    /// LTRIM `start` `stop` (Redis's index normalization included).
    pub fn trim(&mut self, start: i64, stop: i64) {
        let llen = self.count as i64;
        let mut start = if start < 0 { llen + start } else { start };
        let mut end = if stop < 0 { llen + stop } else { stop };
        if start < 0 {
            start = 0;
        }
        let (ltrim, rtrim) = if start > end || start >= llen {
            (llen, 0)
        } else {
            if end >= llen {
                end = llen - 1;
            }
            (start, llen - end - 1)
        };
        self.delete_range(0, ltrim);
        self.delete_range(-rtrim, rtrim);
    }

    /// LREM: removes entries equal to `v`; `count` > 0 from the head, < 0
    /// from the tail, 0 all. Returns how many were removed.
    pub fn remove_matching(&mut self, v: &[u8], count: i64) -> usize {
        let limit = count.unsigned_abs() as usize;
        let mut removed = 0;
        let needle_int = listpack::string_to_int(v);
        let matches = |val: LpValue<'_>| match val {
            LpValue::Int(i) => needle_int == Some(i),
            LpValue::Str(s) => s == v,
        };
        if count >= 0 {
            let mut ni = 0;
            while ni < self.nodes.len() {
                let mut p = self.nodes[ni].lp.first();
                let mut gone = false;
                while let Some(q) = p {
                    if limit != 0 && removed == limit {
                        return removed;
                    }
                    let node = &mut self.nodes[ni];
                    if matches(node.lp.get(q)) {
                        p = node.lp.delete(q);
                        node.count -= 1;
                        self.count -= 1;
                        removed += 1;
                        if node.count == 0 {
                            self.nodes.remove(ni);
                            gone = true;
                            break;
                        }
                    } else {
                        p = node.lp.next(q);
                    }
                }
                if !gone {
                    ni += 1;
                }
            }
        } else {
            let mut ni = self.nodes.len();
            while ni > 0 {
                ni -= 1;
                let mut p = self.nodes[ni].lp.last();
                while let Some(q) = p {
                    if removed == limit {
                        return removed;
                    }
                    let node = &mut self.nodes[ni];
                    let prev = node.lp.prev(q);
                    if matches(node.lp.get(q)) {
                        node.lp.delete(q);
                        node.count -= 1;
                        self.count -= 1;
                        removed += 1;
                        if node.count == 0 {
                            self.nodes.remove(ni);
                            break;
                        }
                    }
                    p = prev;
                }
            }
        }
        removed
    }

    /// Entries head to tail.
    pub fn iter(&self) -> Iter<'_> {
        self.range_iter(0, 0, self.count)
    }

    fn range_iter(&self, ni: usize, off: usize, remaining: usize) -> Iter<'_> {
        let inner = self.nodes.get(ni).map(|n| {
            let p = n.lp.seek(off as i64).unwrap_or(n.lp.bytes_len() - 1);
            listpack::Iter::at(&n.lp, p)
        });
        Iter {
            ql: self,
            ni,
            inner,
            remaining,
        }
    }

    /// LRANGE `start` `stop` (negative indexes from the tail, clamped).
    pub fn range(&self, start: i64, stop: i64) -> Iter<'_> {
        let llen = self.count as i64;
        let mut start = if start < 0 { llen + start } else { start };
        let mut end = if stop < 0 { llen + stop } else { stop };
        if start < 0 {
            start = 0;
        }
        if end >= llen {
            end = llen - 1;
        }
        if start > end || start >= llen {
            return self.range_iter(self.nodes.len(), 0, 0);
        }
        match self.locate(start) {
            Some((ni, off)) => self.range_iter(ni, off, (end - start + 1) as usize),
            None => self.range_iter(self.nodes.len(), 0, 0),
        }
    }

    /// Entries tail to head.
    pub fn iter_rev(&self) -> RevIter<'_> {
        let ni = self.nodes.len();
        RevIter {
            ql: self,
            ni,
            p: None,
        }
    }
}

/// Forward iterator over quicklist entries.
pub struct Iter<'a> {
    ql: &'a Quicklist,
    ni: usize,
    inner: Option<listpack::Iter<'a>>,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = LpValue<'a>;
    fn next(&mut self) -> Option<LpValue<'a>> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if let Some(v) = self.inner.as_mut()?.next() {
                self.remaining -= 1;
                return Some(v);
            }
            self.ni += 1;
            self.inner = self.ql.nodes.get(self.ni).map(|n| n.lp.iter());
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

/// Reverse iterator over quicklist entries.
pub struct RevIter<'a> {
    ql: &'a Quicklist,
    ni: usize,
    p: Option<usize>,
}

impl<'a> Iterator for RevIter<'a> {
    type Item = LpValue<'a>;
    fn next(&mut self) -> Option<LpValue<'a>> {
        loop {
            if let Some(p) = self.p {
                let lp = &self.ql.nodes[self.ni].lp;
                self.p = lp.prev(p);
                return Some(lp.get(p));
            }
            if self.ni == 0 {
                return None;
            }
            self.ni -= 1;
            self.p = self.ql.nodes[self.ni].lp.last();
        }
    }
}

#[cfg(test)]
#[path = "quicklist_tests.rs"]
mod tests;
