//! Stream values stored the way Redis 7.0's t_stream.c stores them: an
//! ordered sequence of listpack nodes, each keyed by its master ID, in
//! Redis's exact node layout:
//!
//! ```text
//! master entry: count | deleted | num-fields | field_1 .. field_N | 0
//! entry:        flags | ms-diff | seq-diff | [num-fields field value ..] | lp-count
//!               (with SAMEFIELDS in flags: values only)
//! ```
//!
//! Nodes are cut by `stream-node-max-bytes` and `stream-node-max-entries`
//! (streamAppendItem), deleted entries are flagged in place and nodes freed
//! when their last live entry is deleted, and trimming works on whole nodes
//! like streamTrim. The node index is a sorted `VecDeque` searched with
//! binary search (no map). Consumer groups live in `types::stream_groups`.

use std::collections::VecDeque;

use crate::ds::listpack::{Listpack, LpValue};
use crate::types::stream_groups::Groups;

/// A stream entry ID `ms-seq`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// The next ID, or None at the maximum.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId {
                ms: self.ms,
                seq: self.seq + 1,
            })
        } else if self.ms < u64::MAX {
            Some(StreamId {
                ms: self.ms + 1,
                seq: 0,
            })
        } else {
            None
        }
    }

    /// The previous ID, or None at 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId {
                ms: self.ms,
                seq: self.seq - 1,
            })
        } else if self.ms > 0 {
            Some(StreamId {
                ms: self.ms - 1,
                seq: u64::MAX,
            })
        } else {
            None
        }
    }

    /// Formats as `ms-seq`.
    pub fn format(self) -> String {
        format!("{}-{}", self.ms, self.seq)
    }

    /// The 16-byte big-endian key (`streamEncodeID`).
    pub fn encode(self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.ms.to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }
}

/// One entry's field/value pairs (owned; used by tests and loaders).
pub type Fields = Vec<(Vec<u8>, Vec<u8>)>;

pub const FLAG_DELETED: i64 = 1;
pub const FLAG_SAMEFIELDS: i64 = 2;
/// STREAM_LISTPACK_MAX_SIZE.
pub const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// One listpack node keyed by its master ID.
#[derive(Clone)]
pub struct StreamNode {
    pub master: StreamId,
    pub lp: Listpack,
}

#[derive(Clone, Default)]
pub struct StreamValue {
    nodes: VecDeque<StreamNode>,
    /// Live entries.
    length: u64,
    pub last_id: StreamId,
    /// Redis's recorded `first_id` (maintained as t_stream.c does).
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: Groups,
}

/// How to trim (XADD/XTRIM MAXLEN|MINID).
#[derive(Clone, Copy, Debug)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

fn int_at(lp: &Listpack, p: usize) -> i64 {
    match lp.get(p) {
        LpValue::Int(v) => v,
        LpValue::Str(s) => crate::util::num::parse_i64(s).unwrap_or(0),
    }
}

/// A decoded entry slot of a node.
#[derive(Clone, Copy)]
struct Slot {
    flags_pos: usize,
    flags: i64,
    id: StreamId,
    nfields: usize,
    /// Position of the first field (or first value with SAMEFIELDS).
    data: usize,
}

/// A node's master entry and entry slots (`streamIteratorGetID` walk).
struct Scan {
    master_fields: usize,
    mf_pos: usize,
    slots: Vec<Slot>,
}

fn scan(node: &StreamNode) -> Scan {
    let lp = &node.lp;
    let mut out = Scan {
        master_fields: 0,
        mf_pos: 0,
        slots: Vec::new(),
    };
    let step = |p: Option<usize>| p.and_then(|p| lp.next(p));
    let Some(p0) = lp.first() else { return out };
    let p = step(step(Some(p0))); // num-fields
    let Some(pn) = p else { return out };
    out.master_fields = int_at(lp, pn).max(0) as usize;
    let mut p = lp.next(pn);
    out.mf_pos = p.unwrap_or(0);
    for _ in 0..out.master_fields {
        p = step(p);
    }
    // p is the master terminator.
    p = step(p);
    while let Some(fp) = p {
        let flags = int_at(lp, fp);
        let Some(msp) = lp.next(fp) else { break };
        let Some(sqp) = lp.next(msp) else { break };
        let id = StreamId {
            ms: node.master.ms.wrapping_add(int_at(lp, msp) as u64),
            seq: node.master.seq.wrapping_add(int_at(lp, sqp) as u64),
        };
        let mut q = lp.next(sqp);
        let (nfields, data, skip) = if flags & FLAG_SAMEFIELDS != 0 {
            (out.master_fields, q.unwrap_or(0), out.master_fields)
        } else {
            let Some(np) = q else { break };
            let n = int_at(lp, np).max(0) as usize;
            q = lp.next(np);
            (n, q.unwrap_or(0), n * 2)
        };
        out.slots.push(Slot {
            flags_pos: fp,
            flags,
            id,
            nfields,
            data,
        });
        for _ in 0..skip {
            q = step(q);
        }
        // q is lp-count.
        p = step(q);
    }
    out
}

/// A borrowed live entry during iteration.
pub struct EntryRef<'a> {
    pub id: StreamId,
    lp: &'a Listpack,
    same: bool,
    nfields: usize,
    mf_pos: usize,
    data: usize,
}

impl<'a> EntryRef<'a> {
    pub fn nfields(&self) -> usize {
        self.nfields
    }

    /// Calls `f(field, value)` for each pair in order.
    pub fn for_each(&self, mut f: impl FnMut(LpValue<'a>, LpValue<'a>)) {
        let lp = self.lp;
        let mut mp = Some(self.mf_pos);
        let mut p = Some(self.data);
        for _ in 0..self.nfields {
            let field;
            if self.same {
                let Some(m) = mp else { return };
                field = lp.get(m);
                mp = lp.next(m);
            } else {
                let Some(q) = p else { return };
                field = lp.get(q);
                p = lp.next(q);
            }
            let Some(q) = p else { return };
            let value = lp.get(q);
            p = lp.next(q);
            f(field, value);
        }
    }

    /// The pairs as owned vectors.
    pub fn to_fields(&self) -> Fields {
        let mut v = Vec::with_capacity(self.nfields);
        self.for_each(|f, x| v.push((f.to_vec(), x.to_vec())));
        v
    }
}

impl StreamValue {
    pub fn len(&self) -> usize {
        self.length as usize
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Listpack nodes in ID order (RDB saving, XINFO).
    pub fn nodes(&self) -> impl Iterator<Item = &StreamNode> + '_ {
        self.nodes.iter()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Index of the last node whose master ID is <= `id`.
    fn node_le(&self, id: StreamId) -> Option<usize> {
        let n = self.nodes.partition_point(|x| x.master <= id);
        n.checked_sub(1)
    }

    /// Visits live entries with start <= ID <= end, ascending (or
    /// descending with `rev`) until `f` returns false.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(EntryRef<'_>) -> bool,
    ) {
        if self.nodes.is_empty() || start > end {
            return;
        }
        let emit =
            |node: &StreamNode, sc: &Scan, s: &Slot, f: &mut dyn FnMut(EntryRef<'_>) -> bool| {
                f(EntryRef {
                    id: s.id,
                    lp: &node.lp,
                    same: s.flags & FLAG_SAMEFIELDS != 0,
                    nfields: s.nfields,
                    mf_pos: sc.mf_pos,
                    data: s.data,
                })
            };
        if !rev {
            let k0 = if start.is_zero() {
                0
            } else {
                self.node_le(start).unwrap_or(0)
            };
            for node in self.nodes.iter().skip(k0) {
                let sc = scan(node);
                for s in &sc.slots {
                    if s.id < start || s.flags & FLAG_DELETED != 0 {
                        continue;
                    }
                    if s.id > end {
                        return;
                    }
                    if !emit(node, &sc, s, &mut f) {
                        return;
                    }
                }
            }
        } else {
            let k0 = if end.is_zero() {
                self.nodes.len() - 1
            } else {
                self.node_le(end).unwrap_or(self.nodes.len() - 1)
            };
            for node in self.nodes.iter().take(k0 + 1).rev() {
                let sc = scan(node);
                for s in sc.slots.iter().rev() {
                    if s.id > end || s.flags & FLAG_DELETED != 0 {
                        continue;
                    }
                    if s.id < start {
                        return;
                    }
                    if !emit(node, &sc, s, &mut f) {
                        return;
                    }
                }
            }
        }
    }

    /// The first (or last) live entry's ID (`streamGetEdgeID`).
    pub fn edge_id(&self, first: bool) -> Option<StreamId> {
        let mut out = None;
        self.range(StreamId::MIN, StreamId::MAX, !first, |e| {
            out = Some(e.id);
            false
        });
        out
    }

    pub fn first_live_id(&self) -> Option<StreamId> {
        self.edge_id(true)
    }

    /// Whether a live entry with this ID exists.
    pub fn contains(&self, id: StreamId) -> bool {
        let mut hit = false;
        self.range(id, id, false, |_| {
            hit = true;
            false
        });
        hit
    }

    /// `streamAppendItem` (the ID was validated by the caller).
    pub fn append(
        &mut self,
        id: StreamId,
        fields: &[(&[u8], &[u8])],
        max_bytes: usize,
        max_entries: usize,
    ) {
        let totelelen: usize = fields.iter().map(|(f, v)| f.len() + v.len()).sum();
        let mut new_node = true;
        if let Some(tail) = self.nodes.back() {
            let node_max = if max_bytes == 0 || max_bytes > LISTPACK_MAX_SIZE {
                LISTPACK_MAX_SIZE
            } else {
                max_bytes
            };
            new_node = false;
            if tail.lp.bytes_len() + totelelen >= node_max {
                new_node = true;
            } else if max_entries > 0 {
                let lp = &tail.lp;
                let p = lp.first().unwrap_or(0);
                let count = int_at(lp, p) + lp.next(p).map_or(0, |q| int_at(lp, q));
                if count >= max_entries as i64 {
                    new_node = true;
                }
            }
            if new_node {
                if let Some(t) = self.nodes.back_mut() {
                    t.lp.shrink_to_fit();
                }
            }
        }
        let mut flags = 0i64;
        if new_node {
            // Redis preallocates min(stream-node-max-bytes, 4096) bytes.
            let prealloc = if max_bytes > 0 && max_bytes < 4096 {
                max_bytes
            } else {
                4096
            };
            let mut lp = Listpack::with_capacity(prealloc);
            lp.append_int(1);
            lp.append_int(0);
            lp.append_int(fields.len() as i64);
            for (f, _) in fields {
                lp.append(f);
            }
            lp.append_int(0);
            self.nodes.push_back(StreamNode { master: id, lp });
            flags |= FLAG_SAMEFIELDS;
        }
        let Some(node) = self.nodes.back_mut() else {
            return;
        };
        let master = node.master;
        let lp = &mut node.lp;
        if !new_node {
            let p = lp.first().unwrap_or(0);
            let count = int_at(lp, p);
            lp.replace_int(p, count + 1);
            let mut q = lp.first().and_then(|p| lp.next(p)).and_then(|p| lp.next(p));
            let mfc = q.map_or(0, |p| int_at(lp, p));
            q = q.and_then(|p| lp.next(p));
            if mfc == fields.len() as i64 {
                let mut same = true;
                for (f, _) in fields {
                    match q {
                        Some(p) if lp.get(p).eq_bytes(f) => {
                            q = lp.next(p);
                        }
                        _ => {
                            same = false;
                            break;
                        }
                    }
                }
                if same {
                    flags |= FLAG_SAMEFIELDS;
                }
            }
        }
        lp.append_int(flags);
        lp.append_int(id.ms.wrapping_sub(master.ms) as i64);
        lp.append_int(id.seq.wrapping_sub(master.seq) as i64);
        let n = fields.len() as i64;
        if flags & FLAG_SAMEFIELDS == 0 {
            lp.append_int(n);
        }
        for (f, v) in fields {
            if flags & FLAG_SAMEFIELDS == 0 {
                lp.append(f);
            }
            lp.append(v);
        }
        let mut lp_count = n;
        if flags & FLAG_SAMEFIELDS == 0 {
            lp_count += n + 1;
        }
        lp.append_int(lp_count + 3);
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
    }

    /// `streamDeleteItem`: flags the entry deleted in place; frees the node
    /// when it was its last live entry. Does not touch first/max-deleted IDs
    /// (XDEL does).
    pub fn delete_item(&mut self, id: StreamId) -> bool {
        let Some(k) = self.node_le(id) else {
            return false;
        };
        let sc = scan(&self.nodes[k]);
        let Some(s) = sc
            .slots
            .iter()
            .find(|s| s.id == id && s.flags & FLAG_DELETED == 0)
        else {
            return false;
        };
        let lp = &mut self.nodes[k].lp;
        lp.replace_int(s.flags_pos, s.flags | FLAG_DELETED);
        let p = lp.first().unwrap_or(0);
        let count = int_at(lp, p);
        if count == 1 {
            self.nodes.remove(k);
        } else {
            lp.replace_int(p, count - 1);
            if let Some(q) = lp.first().and_then(|p| lp.next(p)) {
                let d = int_at(lp, q);
                lp.replace_int(q, d + 1);
            }
        }
        self.length -= 1;
        true
    }

    /// XDEL's bookkeeping around `delete_item` for a batch of IDs.
    pub fn xdel(&mut self, ids: &[StreamId]) -> usize {
        let mut deleted = 0;
        let mut first_entry = false;
        for &id in ids {
            if self.delete_item(id) {
                if id == self.first_id {
                    first_entry = true;
                }
                if id > self.max_deleted_id {
                    self.max_deleted_id = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 {
            if self.length == 0 {
                self.first_id = StreamId::MIN;
            } else if first_entry {
                self.first_id = self.edge_id(true).unwrap_or_default();
            }
        }
        deleted
    }

    /// Redis's `streamTrim`. `limit` 0 means none. Returns entries removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some(node) = self.nodes.front_mut() {
            if let Trim::MaxLen(max) = how {
                if self.length <= max {
                    break;
                }
            }
            let lp = &node.lp;
            let p0 = lp.first().unwrap_or(0);
            let entries = int_at(lp, p0).max(0) as u64;
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let sc = scan(node);
            let remove_node = match how {
                Trim::MaxLen(max) => self.length - entries >= max,
                Trim::MinId(min) => sc.slots.last().is_some_and(|s| s.id < min),
            };
            if remove_node {
                self.nodes.pop_front();
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let lp = &mut node.lp;
            let mut from_lp = 0u64;
            for s in &sc.slots {
                let stop = match how {
                    Trim::MaxLen(max) => self.length <= max,
                    Trim::MinId(min) => s.id >= min,
                };
                if stop {
                    break;
                }
                if s.flags & FLAG_DELETED == 0 {
                    // Flags are small integers: same size, positions hold.
                    lp.replace_int(s.flags_pos, s.flags | FLAG_DELETED);
                    from_lp += 1;
                    self.length -= 1;
                }
            }
            deleted += from_lp;
            let p = lp.first().unwrap_or(0);
            lp.replace_int(p, entries as i64 - from_lp as i64);
            if let Some(q) = lp.first().and_then(|p| lp.next(p)) {
                let d = int_at(lp, q);
                lp.replace_int(q, d + from_lp as i64);
            }
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else {
            self.first_id = self.edge_id(true).unwrap_or_default();
        }
        deleted
    }

    /// Checks a node read from RDB/RESTORE (what Redis's deep stream
    /// listpack validation checks): master entry, entry structure with
    /// matching lp-counts, valid/deleted counters, IDs ascending and above
    /// `after`. Returns (live entries, last ID).
    pub fn validate_node(
        master: StreamId,
        lp: &Listpack,
        after: Option<StreamId>,
    ) -> Option<(u64, StreamId)> {
        let mut p = lp.first();
        let next_int = |p: &mut Option<usize>| -> Option<i64> {
            let q = (*p)?;
            *p = lp.next(q);
            match lp.get(q) {
                LpValue::Int(v) => Some(v),
                LpValue::Str(_) => None,
            }
        };
        let count = next_int(&mut p)?;
        let deleted = next_int(&mut p)?;
        let mfields = next_int(&mut p)?;
        if count < 0 || deleted < 0 || mfields < 0 || mfields as usize > lp.len() {
            return None;
        }
        for _ in 0..mfields {
            p = lp.next(p?);
        }
        if next_int(&mut p)? != 0 {
            return None;
        }
        let (mut live, mut dead) = (0i64, 0i64);
        let mut prev = after;
        let mut last = None;
        while p.is_some() {
            let flags = next_int(&mut p)?;
            let ms = next_int(&mut p)?;
            let seq = next_int(&mut p)?;
            let id = StreamId {
                ms: master.ms.wrapping_add(ms as u64),
                seq: master.seq.wrapping_add(seq as u64),
            };
            if prev.is_some_and(|x| id <= x) || id < master {
                return None;
            }
            prev = Some(id);
            last = Some(id);
            let n = if flags & FLAG_SAMEFIELDS != 0 {
                mfields
            } else {
                let n = next_int(&mut p)?;
                if n < 0 || n as usize > lp.len() {
                    return None;
                }
                n
            };
            let elems = if flags & FLAG_SAMEFIELDS != 0 {
                n
            } else {
                2 * n
            };
            for _ in 0..elems {
                p = lp.next(p?);
            }
            let want = if flags & FLAG_SAMEFIELDS != 0 {
                n + 3
            } else {
                2 * n + 4
            };
            if next_int(&mut p)? != want {
                return None;
            }
            if flags & FLAG_DELETED != 0 {
                dead += 1;
            } else {
                live += 1;
            }
        }
        if live != count || dead != deleted {
            return None;
        }
        Some((live as u64, last?))
    }

    /// `streamEstimateDistanceFromFirstEverEntry`; -1 when unknown.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.is_empty() && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        } else if id > self.last_id {
            return -1;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return self.entries_added as i64 - self.length as i64;
            } else if id == self.first_id {
                return self.entries_added as i64 - self.length as i64 + 1;
            }
        }
        -1
    }

    /// Number of radix tree nodes Redis's rax would use for the node keys
    /// (XINFO STREAM radix-tree-nodes): a compressed radix tree over the
    /// 16-byte master IDs, plus its head.
    pub fn rax_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.iter().map(|n| n.master.encode()).collect();
        if keys.is_empty() {
            return 1;
        }
        rax_count(&keys, 0)
    }

    /// Appends a node read from RDB (validated by the caller): `live` is
    /// its live entries count.
    pub fn push_node(&mut self, master: StreamId, lp: Listpack, live: u64) {
        self.nodes.push_back(StreamNode { master, lp });
        self.length += live;
    }

    pub fn heap_size(&self) -> usize {
        self.nodes
            .iter()
            .map(|n| n.lp.capacity() + 48)
            .sum::<usize>()
            + self.groups.heap_size()
    }

    /// Mixes every entry into a DEBUG DIGEST as debug.c does: the ID as
    /// `ms.seq`, then each field and value (groups are not digested).
    pub fn digest(&self, digest: &mut [u8; 20]) {
        let mix = crate::util::digest::mix_digest;
        self.range(StreamId::MIN, StreamId::MAX, false, |e| {
            mix(digest, format!("{}.{}", e.id.ms, e.id.seq).as_bytes());
            let mut buf = Vec::new();
            e.for_each(|f, v| {
                buf.clear();
                f.write_to(&mut buf);
                mix(digest, &buf);
                buf.clear();
                v.write_to(&mut buf);
                mix(digest, &buf);
            });
            true
        });
    }
}

/// Nodes of a canonical rax holding the sorted, distinct, equal-length
/// `keys` (all sharing their first `depth` bytes), starting at a node for
/// that prefix.
fn rax_count(keys: &[[u8; 16]], depth: usize) -> usize {
    if depth == 16 {
        return 1; // the key node (leaf)
    }
    let first = &keys[0];
    let last = &keys[keys.len() - 1];
    let mut d = depth;
    while d < 16 && first[d] == last[d] {
        d += 1;
    }
    if d == 16 {
        return 2; // compressed node + leaf
    }
    // A compressed node up to `d` (if any), then a branch node at `d`.
    let mut n = if d > depth { 2 } else { 1 };
    let mut i = 0;
    while i < keys.len() {
        let b = keys[i][d];
        let mut j = i + 1;
        while j < keys.len() && keys[j][d] == b {
            j += 1;
        }
        n += rax_count(&keys[i..j], d + 1);
        i = j;
    }
    n
}
