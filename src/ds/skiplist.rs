//! Redis's `zskiplist` (the skiplist half of t_zset.c), as an arena.
//!
//! Nodes live in a `Vec<Option<Node>>` with a free list; links are `u32`
//! indices ([`NodeId`]) instead of pointers, so the structure is entirely safe
//! Rust. The header is kept apart (`head`, [`ZSKIPLIST_MAXLEVEL`] levels) and
//! addressed by the private sentinel `HEAD`; `NIL` is the null link.
//!
//! Everything else is Redis 7.0: ordering by score, then by element bytes
//! (`sdscmp`, i.e. memcmp then length); random levels from `zslRandomLevel`
//! (p = 0.25, max 32); spans so ranks are O(log n); a backward link at level
//! 0; `zslUpdateScore`'s in-place update when the neighbours allow it; score
//! and lex range specs with Redis's parsing (`zslParseRange` uses plain
//! `strtod`, so `""` means 0 and leading spaces are accepted) and error texts.
//!
//! Node ids stay valid until that node is deleted (a deleted id may be reused
//! by a later insert). Public methods taking a [`NodeId`] return `None` for
//! ids that do not name a live node. Callers must not insert an element that
//! is already present, nor a NaN score (the zset's dict guarantees both).

use crate::ds::sds::Sds;
use crate::error::{self, CmdError};
use crate::util::num::parse_f64;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cmp::Ordering;

/// `ZSKIPLIST_MAXLEVEL`.
pub const ZSKIPLIST_MAXLEVEL: usize = 32;
/// `ZSKIPLIST_P`.
pub const ZSKIPLIST_P: f64 = 0.25;

/// Index of a node in the skiplist's arena.
pub type NodeId = u32;

/// Null link.
const NIL: u32 = u32::MAX;
/// The header node (not in the arena).
const HEAD: u32 = u32::MAX - 1;

#[derive(Clone, Copy, Debug)]
struct Level {
    forward: u32,
    /// Number of level-0 steps this link jumps (0 for the header's unused
    /// levels). u32 keeps a level in 8 bytes, so four fit inline in a node
    /// (a sorted set is limited to 4G members, as node ids are u32 too).
    span: u32,
}

const EMPTY_LEVEL: Level = Level {
    forward: NIL,
    span: 0,
};

/// A node's levels: inline for the common heights (with p = 0.25, 99.6%
/// of nodes have at most four levels), so a search step touches one cache line
/// per node as Redis's flexible-array nodes do; boxed for taller nodes.
#[derive(Debug)]
enum Levels {
    Inline(u8, [Level; 4]),
    Heap(Box<[Level]>),
}

impl Levels {
    fn new(n: usize) -> Levels {
        if n <= 4 {
            Levels::Inline(n as u8, [EMPTY_LEVEL; 4])
        } else {
            Levels::Heap(vec![EMPTY_LEVEL; n].into_boxed_slice())
        }
    }
}

impl std::ops::Deref for Levels {
    type Target = [Level];
    #[inline]
    fn deref(&self) -> &[Level] {
        match self {
            Levels::Inline(n, a) => &a[..*n as usize],
            Levels::Heap(b) => b,
        }
    }
}

impl std::ops::DerefMut for Levels {
    #[inline]
    fn deref_mut(&mut self) -> &mut [Level] {
        match self {
            Levels::Inline(n, a) => &mut a[..*n as usize],
            Levels::Heap(b) => b,
        }
    }
}

#[derive(Debug)]
struct Node<E> {
    score: f64,
    ele: E,
    /// Previous node at level 0, `NIL` for the first node.
    backward: u32,
    levels: Levels,
}

/// `zrangespec`: a score interval, each end inclusive or exclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZRangeSpec {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

impl ZRangeSpec {
    /// `zslValueGteMin`.
    pub fn value_gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    /// `zslValueLteMax`.
    pub fn value_lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// True when no score can be in the range.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// `strtod(s, &eptr)` followed by `eptr[0] == '\0' && !isnan(v)`, on the
/// NUL-terminated C view of `b`: leading whitespace is skipped, the empty
/// string converts to 0 (no conversion leaves eptr at the terminator),
/// overflow gives ±inf and underflow 0 (ERANGE is not checked).
fn strtod_whole(b: &[u8]) -> Option<f64> {
    let b = match b.iter().position(|&c| c == 0) {
        Some(p) => &b[..p],
        None => b,
    };
    if b.is_empty() {
        return Some(0.0);
    }
    let start = b
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let t = &b[start..];
    let body = match t[0] {
        b'+' | b'-' => &t[1..],
        _ => t,
    };
    let v = if body.len() >= 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        // Hex floats: the exact glibc parser (rejects out-of-range values,
        // which strtod would saturate; a harmless difference).
        parse_f64(t)?
    } else {
        // Rust's grammar matches strtod's decimal/inf/infinity/nan forms when
        // the whole string must be consumed.
        std::str::from_utf8(t).ok()?.parse::<f64>().ok()?
    };
    (!v.is_nan()).then_some(v)
}

/// One end of a score range: `(x` is exclusive, anything else inclusive.
fn parse_score_bound(b: &[u8]) -> Option<(f64, bool)> {
    match b.first() {
        Some(b'(') => strtod_whole(&b[1..]).map(|v| (v, true)),
        _ => strtod_whole(b).map(|v| (v, false)),
    }
}

/// `zslParseRange`: "ERR min or max is not a float" on failure.
pub fn parse_range(min: &[u8], max: &[u8]) -> Result<ZRangeSpec, CmdError> {
    let err = || CmdError::Static(error::ZSET_MINMAX_NOT_FLOAT);
    let (min, minex) = parse_score_bound(min).ok_or_else(err)?;
    let (max, maxex) = parse_score_bound(max).ok_or_else(err)?;
    Ok(ZRangeSpec {
        min,
        max,
        minex,
        maxex,
    })
}

/// One end of a lex range (`-`, `+`, `(x`, `[x`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every string (`shared.minstring`).
    NegInf,
    /// `+`: above every string (`shared.maxstring`).
    PosInf,
    /// `[x`.
    Incl(Vec<u8>),
    /// `(x`.
    Excl(Vec<u8>),
}

impl LexBound {
    /// `zslParseLexRangeItem`. Like Redis (which tests `c[1] != '\0'` on the
    /// NUL-terminated sds), `+`/`-` followed by a NUL byte still count.
    pub fn parse(b: &[u8]) -> Option<LexBound> {
        let lone = b.len() == 1 || b.get(1) == Some(&0);
        match b.first()? {
            b'+' if lone => Some(LexBound::PosInf),
            b'-' if lone => Some(LexBound::NegInf),
            b'(' => Some(LexBound::Excl(b[1..].to_vec())),
            b'[' => Some(LexBound::Incl(b[1..].to_vec())),
            _ => None,
        }
    }

    /// Redis sets `ex` for `-`/`+` too (it matters for empty-range tests).
    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Incl(_))
    }

    /// `sdscmplex(self, other)`.
    fn cmp_bound(&self, other: &LexBound) -> Ordering {
        use LexBound::*;
        match (self, other) {
            (NegInf, NegInf) | (PosInf, PosInf) => Ordering::Equal,
            (NegInf, _) | (_, PosInf) => Ordering::Less,
            (PosInf, _) | (_, NegInf) => Ordering::Greater,
            (Incl(a) | Excl(a), Incl(b) | Excl(b)) => a.as_slice().cmp(b.as_slice()),
        }
    }

    /// `sdscmplex(value, self)` for a real element.
    fn cmp_value(&self, v: &[u8]) -> Ordering {
        match self {
            LexBound::NegInf => Ordering::Greater,
            LexBound::PosInf => Ordering::Less,
            LexBound::Incl(b) | LexBound::Excl(b) => v.cmp(b.as_slice()),
        }
    }
}

/// `zlexrangespec`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZLexRangeSpec {
    pub min: LexBound,
    pub max: LexBound,
}

impl ZLexRangeSpec {
    /// `zslLexValueGteMin`.
    pub fn value_gte_min(&self, v: &[u8]) -> bool {
        let c = self.min.cmp_value(v);
        if self.min.exclusive() {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    /// `zslLexValueLteMax`.
    pub fn value_lte_max(&self, v: &[u8]) -> bool {
        let c = self.max.cmp_value(v);
        if self.max.exclusive() {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    /// True when no string can be in the range.
    pub fn is_empty(&self) -> bool {
        let c = self.min.cmp_bound(&self.max);
        c == Ordering::Greater
            || (c == Ordering::Equal && (self.min.exclusive() || self.max.exclusive()))
    }
}

/// `zslParseLexRange`: "ERR min or max not valid string range item".
pub fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<ZLexRangeSpec, CmdError> {
    match (LexBound::parse(min), LexBound::parse(max)) {
        (Some(min), Some(max)) => Ok(ZLexRangeSpec { min, max }),
        _ => Err(CmdError::Static(error::ZSET_MINMAX_NOT_LEX)),
    }
}

/// `zskiplist`: see the module docs.
pub struct Skiplist<E = Sds> {
    nodes: Vec<Option<Node<E>>>,
    free: Vec<u32>,
    head: [Level; ZSKIPLIST_MAXLEVEL],
    tail: u32,
    /// Levels in use (1..=32), as `zsl->level`.
    level: usize,
    length: usize,
    rng: SmallRng,
}

impl<E: AsRef<[u8]>> Default for Skiplist<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: AsRef<[u8]> + std::fmt::Debug> std::fmt::Debug for Skiplist<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<E: AsRef<[u8]>> Skiplist<E> {
    /// `zslCreate`, with a level generator seeded from the thread RNG.
    pub fn new() -> Self {
        Self::with_seed(rand::thread_rng().gen())
    }

    /// A skiplist whose random levels are reproducible.
    pub fn with_seed(seed: u64) -> Self {
        Skiplist {
            nodes: Vec::new(),
            free: Vec::new(),
            head: [EMPTY_LEVEL; ZSKIPLIST_MAXLEVEL],
            tail: NIL,
            level: 1,
            length: 0,
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.length
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Levels currently in use (`zsl->level`).
    pub fn levels(&self) -> usize {
        self.level
    }

    // ----- arena access (internal ids are always live) -----

    fn node(&self, x: u32) -> &Node<E> {
        match self.nodes.get(x as usize) {
            Some(Some(n)) => n,
            _ => unreachable!("skiplist: dangling internal link {x}"),
        }
    }

    fn node_mut(&mut self, x: u32) -> &mut Node<E> {
        match self.nodes.get_mut(x as usize) {
            Some(Some(n)) => n,
            _ => unreachable!("skiplist: dangling internal link {x}"),
        }
    }

    fn lvl(&self, x: u32, i: usize) -> Level {
        if x == HEAD {
            self.head[i]
        } else {
            self.node(x).levels[i]
        }
    }

    fn lvl_mut(&mut self, x: u32, i: usize) -> &mut Level {
        if x == HEAD {
            &mut self.head[i]
        } else {
            &mut self.node_mut(x).levels[i]
        }
    }

    /// The live node behind a caller-supplied id.
    fn live(&self, id: NodeId) -> Option<&Node<E>> {
        self.nodes.get(id as usize)?.as_ref()
    }

    /// True if node `x` sorts strictly before (score, ele).
    fn before(&self, x: u32, score: f64, ele: &[u8]) -> bool {
        let n = self.node(x);
        n.score < score || (n.score == score && n.ele.as_ref() < ele)
    }

    /// `zslRandomLevel`.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        while ((self.rng.gen::<u32>() & 0xFFFF) as f64) < ZSKIPLIST_P * 0xFFFF as f64 {
            level += 1;
        }
        level.min(ZSKIPLIST_MAXLEVEL)
    }

    /// The per-level predecessors of (score, ele): the `update[]` of
    /// zslInsert/zslDelete, plus the rank crossed to reach each.
    fn find_update(
        &self,
        score: f64,
        ele: &[u8],
    ) -> ([u32; ZSKIPLIST_MAXLEVEL], [usize; ZSKIPLIST_MAXLEVEL]) {
        let mut update = [HEAD; ZSKIPLIST_MAXLEVEL];
        let mut rank = [0usize; ZSKIPLIST_MAXLEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let l = self.lvl(x, i);
                if l.forward != NIL && self.before(l.forward, score, ele) {
                    rank[i] += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        (update, rank)
    }

    /// `zslInsert`. The caller guarantees `ele` is not present and `score`
    /// is not NaN.
    pub fn insert(&mut self, score: f64, ele: E) -> NodeId {
        debug_assert!(!score.is_nan());
        let (mut update, mut rank) = self.find_update(score, ele.as_ref());
        let level = self.random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.head[i].span = self.length as u32;
            }
            self.level = level;
        }
        let mut levels = Levels::new(level);
        for (i, l) in levels.iter_mut().enumerate() {
            let u = self.lvl(update[i], i);
            l.forward = u.forward;
            l.span = u.span - (rank[0] - rank[i]) as u32;
        }
        let first_fwd = levels[0].forward;
        let node = Node {
            score,
            ele,
            backward: if update[0] == HEAD { NIL } else { update[0] },
            levels,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = Some(node);
                id
            }
            None => {
                self.nodes.push(Some(node));
                (self.nodes.len() - 1) as u32
            }
        };
        for (i, &u) in update.iter().enumerate().take(level) {
            let span = (rank[0] - rank[i] + 1) as u32;
            *self.lvl_mut(u, i) = Level { forward: id, span };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.lvl_mut(u, i).span += 1;
        }
        if first_fwd != NIL {
            self.node_mut(first_fwd).backward = id;
        } else {
            self.tail = id;
        }
        self.length += 1;
        id
    }

    /// `zslDeleteNode` + free: unlinks `x` (whose predecessors are `update`)
    /// and returns its element.
    fn delete_node(&mut self, x: u32, update: &[u32; ZSKIPLIST_MAXLEVEL]) -> (f64, E) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.lvl(u, i);
            if ul.forward == x {
                let xl = self.node(x).levels[i];
                *self.lvl_mut(u, i) = Level {
                    forward: xl.forward,
                    span: ul.span + xl.span - 1,
                };
            } else {
                self.lvl_mut(u, i).span -= 1;
            }
        }
        let (fwd, back) = {
            let n = self.node(x);
            (n.levels[0].forward, n.backward)
        };
        if fwd != NIL {
            self.node_mut(fwd).backward = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.head[self.level - 1].forward == NIL {
            self.level -= 1;
        }
        self.length -= 1;
        let node = match self.nodes[x as usize].take() {
            Some(n) => n,
            None => unreachable!("skiplist: deleting a free slot"),
        };
        self.free.push(x);
        if self.length == 0 {
            // Reclaim the arena when the list empties.
            self.nodes.clear();
            self.free.clear();
        }
        (node.score, node.ele)
    }

    /// The node holding exactly (score, ele), with its `update[]`.
    fn find_exact(&self, score: f64, ele: &[u8]) -> Option<(u32, [u32; ZSKIPLIST_MAXLEVEL])> {
        let (update, _) = self.find_update(score, ele);
        let x = self.lvl(update[0], 0).forward;
        if x != NIL {
            let n = self.node(x);
            if n.score == score && n.ele.as_ref() == ele {
                return Some((x, update));
            }
        }
        None
    }

    /// `zslDelete`: removes (score, ele); false if it is not there.
    pub fn delete(&mut self, score: f64, ele: &[u8]) -> bool {
        self.take(score, ele).is_some()
    }

    /// Like [`Skiplist::delete`] but hands back the stored element.
    pub fn take(&mut self, score: f64, ele: &[u8]) -> Option<E> {
        let (x, update) = self.find_exact(score, ele)?;
        Some(self.delete_node(x, &update).1)
    }

    /// `zslUpdateScore`: moves (cur_score, ele) to `new_score`, in place when
    /// the neighbours' scores still bracket the new one, otherwise by
    /// unlinking and reinserting the same element. Returns the node's id, or
    /// `None` if (cur_score, ele) is not present (Redis asserts instead).
    pub fn update_score(&mut self, cur_score: f64, ele: &[u8], new_score: f64) -> Option<NodeId> {
        debug_assert!(!new_score.is_nan());
        let (x, update) = self.find_exact(cur_score, ele)?;
        let (back, fwd) = {
            let n = self.node(x);
            (n.backward, n.levels[0].forward)
        };
        if (back == NIL || self.node(back).score < new_score)
            && (fwd == NIL || self.node(fwd).score > new_score)
        {
            self.node_mut(x).score = new_score;
            return Some(x);
        }
        let (_, e) = self.delete_node(x, &update);
        Some(self.insert(new_score, e))
    }

    /// `zslGetRank`: 1-based rank of (score, ele), `None` if absent.
    pub fn rank(&self, score: f64, ele: &[u8]) -> Option<usize> {
        let mut x = HEAD;
        let mut rank = 0;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lvl(x, i);
                if l.forward != NIL && {
                    let n = self.node(l.forward);
                    n.score < score || (n.score == score && n.ele.as_ref() <= ele)
                } {
                    rank += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            if x != HEAD {
                let n = self.node(x);
                if n.score == score && n.ele.as_ref() == ele {
                    return Some(rank);
                }
            }
        }
        None
    }

    /// `zslGetElementByRank` (1-based): the node id at `rank`.
    pub fn node_by_rank(&self, rank: usize) -> Option<NodeId> {
        if rank == 0 || rank > self.length {
            return None;
        }
        let mut x = HEAD;
        let mut traversed = 0;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lvl(x, i);
                if l.forward != NIL && traversed + l.span as usize <= rank {
                    traversed += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            if traversed == rank {
                return Some(x);
            }
        }
        None
    }

    /// The (score, element) at 1-based `rank`.
    pub fn by_rank(&self, rank: usize) -> Option<(f64, &E)> {
        self.get(self.node_by_rank(rank)?)
    }

    /// Score and element of a live node.
    pub fn get(&self, id: NodeId) -> Option<(f64, &E)> {
        self.live(id).map(|n| (n.score, &n.ele))
    }

    /// First node (lowest score), if any.
    pub fn first(&self) -> Option<NodeId> {
        let f = self.head[0].forward;
        (f != NIL).then_some(f)
    }

    /// Last node (highest score), if any.
    pub fn last(&self) -> Option<NodeId> {
        (self.tail != NIL).then_some(self.tail)
    }

    /// The node after `id` at level 0.
    pub fn next(&self, id: NodeId) -> Option<NodeId> {
        let f = self.live(id)?.levels[0].forward;
        (f != NIL).then_some(f)
    }

    /// The node before `id` (its backward link).
    pub fn prev(&self, id: NodeId) -> Option<NodeId> {
        let b = self.live(id)?.backward;
        (b != NIL).then_some(b)
    }

    /// `zslIsInRange`.
    pub fn is_in_range(&self, range: &ZRangeSpec) -> bool {
        if range.is_empty() || self.tail == NIL {
            return false;
        }
        range.value_gte_min(self.node(self.tail).score)
            && range.value_lte_max(self.node(self.head[0].forward).score)
    }

    /// `zslFirstInRange`: the lowest node within `range`.
    pub fn first_in_range(&self, range: &ZRangeSpec) -> Option<NodeId> {
        if !self.is_in_range(range) {
            return None;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.lvl(x, i).forward;
                if f != NIL && !range.value_gte_min(self.node(f).score) {
                    x = f;
                } else {
                    break;
                }
            }
        }
        let x = self.lvl(x, 0).forward;
        (x != NIL && range.value_lte_max(self.node(x).score)).then_some(x)
    }

    /// `zslLastInRange`: the highest node within `range`.
    pub fn last_in_range(&self, range: &ZRangeSpec) -> Option<NodeId> {
        if !self.is_in_range(range) {
            return None;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.lvl(x, i).forward;
                if f != NIL && range.value_lte_max(self.node(f).score) {
                    x = f;
                } else {
                    break;
                }
            }
        }
        (x != HEAD && range.value_gte_min(self.node(x).score)).then_some(x)
    }

    /// `zslIsInLexRange`.
    pub fn is_in_lex_range(&self, range: &ZLexRangeSpec) -> bool {
        if range.is_empty() || self.tail == NIL {
            return false;
        }
        range.value_gte_min(self.node(self.tail).ele.as_ref())
            && range.value_lte_max(self.node(self.head[0].forward).ele.as_ref())
    }

    /// `zslFirstInLexRange` (meaningful when all scores are equal).
    pub fn first_in_lex_range(&self, range: &ZLexRangeSpec) -> Option<NodeId> {
        if !self.is_in_lex_range(range) {
            return None;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.lvl(x, i).forward;
                if f != NIL && !range.value_gte_min(self.node(f).ele.as_ref()) {
                    x = f;
                } else {
                    break;
                }
            }
        }
        let x = self.lvl(x, 0).forward;
        (x != NIL && range.value_lte_max(self.node(x).ele.as_ref())).then_some(x)
    }

    /// `zslLastInLexRange`.
    pub fn last_in_lex_range(&self, range: &ZLexRangeSpec) -> Option<NodeId> {
        if !self.is_in_lex_range(range) {
            return None;
        }
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.lvl(x, i).forward;
                if f != NIL && range.value_lte_max(self.node(f).ele.as_ref()) {
                    x = f;
                } else {
                    break;
                }
            }
        }
        (x != HEAD && range.value_gte_min(self.node(x).ele.as_ref())).then_some(x)
    }

    /// Walks to the last node for which `skip` holds at every level, then
    /// deletes following nodes while `keep` holds (the shared shape of the
    /// zslDeleteRangeBy* functions). Returns the removed (score, element)s.
    fn delete_while(
        &mut self,
        skip: impl Fn(f64, &[u8]) -> bool,
        keep: impl Fn(f64, &[u8]) -> bool,
    ) -> Vec<(f64, E)> {
        let mut update = [HEAD; ZSKIPLIST_MAXLEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.lvl(x, i).forward;
                if f != NIL && {
                    let n = self.node(f);
                    skip(n.score, n.ele.as_ref())
                } {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let mut removed = Vec::new();
        let mut x = self.lvl(x, 0).forward;
        while x != NIL && {
            let n = self.node(x);
            keep(n.score, n.ele.as_ref())
        } {
            let next = self.node(x).levels[0].forward;
            removed.push(self.delete_node(x, &update));
            x = next;
        }
        removed
    }

    /// `zslDeleteRangeByScore`: removes every element with a score in `range`.
    pub fn delete_range_by_score(&mut self, range: &ZRangeSpec) -> Vec<(f64, E)> {
        let r = *range;
        self.delete_while(
            move |s, _| !r.value_gte_min(s),
            move |s, _| r.value_lte_max(s),
        )
    }

    /// `zslDeleteRangeByLex`: removes every element within `range`.
    pub fn delete_range_by_lex(&mut self, range: &ZLexRangeSpec) -> Vec<(f64, E)> {
        self.delete_while(
            |_, e| !range.value_gte_min(e),
            |_, e| range.value_lte_max(e),
        )
    }

    /// `zslDeleteRangeByRank`: removes ranks `start..=end` (1-based).
    pub fn delete_range_by_rank(&mut self, start: usize, end: usize) -> Vec<(f64, E)> {
        let mut update = [HEAD; ZSKIPLIST_MAXLEVEL];
        let mut x = HEAD;
        let mut traversed = 0;
        for i in (0..self.level).rev() {
            loop {
                let l = self.lvl(x, i);
                if l.forward != NIL && traversed + (l.span as usize) < start {
                    traversed += l.span as usize;
                    x = l.forward;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        traversed += 1;
        let mut removed = Vec::new();
        let mut x = self.lvl(x, 0).forward;
        while x != NIL && traversed <= end {
            let next = self.node(x).levels[0].forward;
            removed.push(self.delete_node(x, &update));
            traversed += 1;
            x = next;
        }
        removed
    }

    /// All (score, element) pairs in order.
    pub fn iter(&self) -> Iter<'_, E> {
        Iter {
            zsl: self,
            cur: self.head[0].forward,
            reverse: false,
        }
    }

    /// Iterates forward starting at (and including) `id`.
    pub fn iter_from(&self, id: NodeId) -> Iter<'_, E> {
        Iter {
            zsl: self,
            cur: if self.live(id).is_some() { id } else { NIL },
            reverse: false,
        }
    }

    /// Iterates backward starting at (and including) `id`.
    pub fn rev_iter_from(&self, id: NodeId) -> Iter<'_, E> {
        Iter {
            zsl: self,
            cur: if self.live(id).is_some() { id } else { NIL },
            reverse: true,
        }
    }

    /// All pairs from the highest to the lowest.
    pub fn rev_iter(&self) -> Iter<'_, E> {
        Iter {
            zsl: self,
            cur: self.tail,
            reverse: true,
        }
    }

    /// Checks every structural invariant (links, backward pointers, spans,
    /// order, level bookkeeping); for tests and DEBUG-style self checks.
    pub fn check_invariants(&self) -> Result<(), String> {
        // Level 0: order, backward links, tail, length.
        let mut pos = std::collections::HashMap::new();
        let mut prev = NIL;
        let mut x = self.head[0].forward;
        let mut n = 0usize;
        while x != NIL {
            n += 1;
            pos.insert(x, n);
            let node = self.live(x).ok_or("dangling level-0 link")?;
            if node.backward != prev {
                return Err(format!("bad backward link at rank {n}"));
            }
            if prev != NIL {
                let p = self.node(prev);
                let ord = p
                    .score
                    .partial_cmp(&node.score)
                    .ok_or("NaN score")?
                    .then_with(|| p.ele.as_ref().cmp(node.ele.as_ref()));
                if ord != Ordering::Less {
                    return Err(format!("order violated at rank {n}"));
                }
            }
            if node.levels.is_empty() || node.levels.len() > self.level {
                return Err(format!("bad node level at rank {n}"));
            }
            prev = x;
            x = node.levels[0].forward;
        }
        if n != self.length || self.tail != prev {
            return Err("length or tail mismatch".into());
        }
        // Every level: spans equal rank differences; header spans of unused
        // links count the remaining elements.
        for i in 0..ZSKIPLIST_MAXLEVEL {
            if i >= self.level {
                if self.head[i].forward != NIL {
                    return Err(format!("link above zsl->level at {i}"));
                }
                continue;
            }
            let mut x = HEAD;
            let mut r = 0usize;
            loop {
                let l = self.lvl(x, i);
                if l.forward == NIL {
                    if x == HEAD && i > 0 {
                        return Err(format!("empty level {i} below zsl->level"));
                    }
                    // A link to the end spans the elements after its node.
                    if l.span as usize != self.length - r {
                        return Err(format!("end span mismatch at level {i} rank {r}"));
                    }
                    break;
                }
                let fr = *pos.get(&l.forward).ok_or("link to unlisted node")?;
                if fr - r != l.span as usize {
                    return Err(format!("span mismatch at level {i} rank {r}"));
                }
                r = fr;
                x = l.forward;
            }
        }
        Ok(())
    }
}

/// Iterator over (score, &element), forward or backward.
pub struct Iter<'a, E> {
    zsl: &'a Skiplist<E>,
    cur: u32,
    reverse: bool,
}

impl<'a, E: AsRef<[u8]>> Iterator for Iter<'a, E> {
    type Item = (f64, &'a E);
    fn next(&mut self) -> Option<Self::Item> {
        if self.cur == NIL {
            return None;
        }
        let n = self.zsl.node(self.cur);
        self.cur = if self.reverse {
            n.backward
        } else {
            n.levels[0].forward
        };
        Some((n.score, &n.ele))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Model = Vec<(f64, Vec<u8>)>;

    fn key_cmp(a: &(f64, Vec<u8>), b: (f64, &[u8])) -> Ordering {
        a.0.partial_cmp(&b.0)
            .unwrap()
            .then_with(|| a.1.as_slice().cmp(b.1))
    }

    fn model_insert(m: &mut Model, score: f64, ele: &[u8]) {
        let pos = m.partition_point(|e| key_cmp(e, (score, ele)) == Ordering::Less);
        m.insert(pos, (score, ele.to_vec()));
    }

    fn same(zsl: &Skiplist<Vec<u8>>, m: &Model) -> Result<(), TestCaseError> {
        if let Err(e) = zsl.check_invariants() {
            return Err(TestCaseError::fail(e));
        }
        prop_assert_eq!(zsl.len(), m.len());
        let got: Vec<(f64, Vec<u8>)> = zsl.iter().map(|(s, e)| (s, e.clone())).collect();
        prop_assert_eq!(&got, m);
        let back: Vec<(f64, Vec<u8>)> = zsl.rev_iter().map(|(s, e)| (s, e.clone())).collect();
        prop_assert!(back.iter().rev().eq(m.iter()));
        Ok(())
    }

    fn score() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(f64::NEG_INFINITY),
            Just(f64::INFINITY),
            Just(0.0),
            Just(-0.0),
            Just(1.0),
            Just(1.5),
            Just(-2.0),
            (-20i32..20).prop_map(|v| v as f64 / 4.0),
        ]
    }

    fn ele() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b'b'), Just(0u8), Just(0xffu8)],
            0..4,
        )
    }

    fn range() -> impl Strategy<Value = ZRangeSpec> {
        (score(), score(), any::<bool>(), any::<bool>()).prop_map(|(min, max, minex, maxex)| {
            ZRangeSpec {
                min,
                max,
                minex,
                maxex,
            }
        })
    }

    fn lex_bound() -> impl Strategy<Value = LexBound> {
        prop_oneof![
            1 => Just(LexBound::NegInf),
            1 => Just(LexBound::PosInf),
            3 => ele().prop_map(LexBound::Incl),
            3 => ele().prop_map(LexBound::Excl),
        ]
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(f64, Vec<u8>),
        Delete(usize),
        DeleteMissing(f64, Vec<u8>),
        Update(usize, f64),
        DelScore(ZRangeSpec),
        DelRank(usize, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (score(), ele()).prop_map(|(s, e)| Op::Insert(s, e)),
            3 => any::<usize>().prop_map(Op::Delete),
            1 => (score(), ele()).prop_map(|(s, e)| Op::DeleteMissing(s, e)),
            4 => (any::<usize>(), score()).prop_map(|(i, s)| Op::Update(i, s)),
            1 => range().prop_map(Op::DelScore),
            1 => (0usize..40, 0usize..40).prop_map(|(a, b)| Op::DelRank(a, b)),
        ]
    }

    fn check_queries(
        zsl: &Skiplist<Vec<u8>>,
        m: &Model,
        r: &ZRangeSpec,
    ) -> Result<(), TestCaseError> {
        for (i, (s, e)) in m.iter().enumerate() {
            prop_assert_eq!(zsl.rank(*s, e), Some(i + 1));
            let (bs, be) = zsl.by_rank(i + 1).unwrap();
            prop_assert_eq!((bs, be), (*s, e));
        }
        prop_assert_eq!(zsl.by_rank(0), None);
        prop_assert_eq!(zsl.by_rank(m.len() + 1), None);
        prop_assert_eq!(zsl.rank(0.25, b"zzzz"), None);
        let inr = |x: &(f64, Vec<u8>)| r.value_gte_min(x.0) && r.value_lte_max(x.0);
        let first = zsl
            .first_in_range(r)
            .map(|id| zsl.get(id).unwrap().1.clone());
        prop_assert_eq!(first, m.iter().find(|x| inr(x)).map(|x| x.1.clone()));
        let last = zsl
            .last_in_range(r)
            .map(|id| zsl.get(id).unwrap().1.clone());
        prop_assert_eq!(last, m.iter().rev().find(|x| inr(x)).map(|x| x.1.clone()));
        // Walking from the first in-range node yields exactly the range.
        if let Some(id) = zsl.first_in_range(r) {
            let walk: Vec<&Vec<u8>> = zsl
                .iter_from(id)
                .take_while(|(s, _)| r.value_lte_max(*s))
                .map(|(_, e)| e)
                .collect();
            let want: Vec<&Vec<u8>> = m.iter().filter(|x| inr(x)).map(|x| &x.1).collect();
            prop_assert_eq!(walk, want);
        }
        if let Some(id) = zsl.last_in_range(r) {
            let n = zsl
                .rev_iter_from(id)
                .take_while(|(s, _)| r.value_gte_min(*s))
                .count();
            prop_assert_eq!(n, m.iter().filter(|x| inr(x)).count());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn matches_sorted_vec(seed in any::<u64>(), ops in proptest::collection::vec(op(), 0..120), q in range()) {
            let mut zsl: Skiplist<Vec<u8>> = Skiplist::with_seed(seed);
            let mut m: Model = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(s, e) => {
                        if m.iter().any(|x| x.1 == e) { continue; }
                        let id = zsl.insert(s, e.clone());
                        prop_assert_eq!(zsl.get(id), Some((s, &e)));
                        model_insert(&mut m, s, &e);
                    }
                    Op::Delete(i) => {
                        if m.is_empty() { continue; }
                        let (s, e) = m.remove(i % m.len());
                        prop_assert!(zsl.delete(s, &e));
                        prop_assert!(!zsl.delete(s, &e));
                    }
                    Op::DeleteMissing(s, e) => {
                        let present = m.iter().position(|x| x.0 == s && x.1 == e);
                        prop_assert_eq!(zsl.delete(s, &e), present.is_some());
                        if let Some(p) = present { m.remove(p); }
                    }
                    Op::Update(i, ns) => {
                        if m.is_empty() { continue; }
                        let (s, e) = m.remove(i % m.len());
                        let id = zsl.update_score(s, &e, ns).unwrap();
                        prop_assert_eq!(zsl.get(id), Some((ns, &e)));
                        model_insert(&mut m, ns, &e);
                    }
                    Op::DelScore(r) => {
                        let got = zsl.delete_range_by_score(&r);
                        let want: Model = m.iter().filter(|x| r.value_gte_min(x.0) && r.value_lte_max(x.0)).cloned().collect();
                        m.retain(|x| !(r.value_gte_min(x.0) && r.value_lte_max(x.0)));
                        prop_assert_eq!(got, want);
                    }
                    Op::DelRank(a, b) => {
                        let got = zsl.delete_range_by_rank(a, b);
                        let (lo, hi) = (a.max(1), b.min(m.len()));
                        let want: Model = if lo <= hi { m.drain(lo - 1..hi).collect() } else { vec![] };
                        prop_assert_eq!(got, want);
                    }
                }
                same(&zsl, &m)?;
            }
            check_queries(&zsl, &m, &q)?;
        }

        #[test]
        fn lex_ranges_equal_scores(
            seed in any::<u64>(),
            eles in proptest::collection::btree_set(ele(), 0..30),
            min in lex_bound(),
            max in lex_bound(),
            del in any::<bool>(),
        ) {
            let mut zsl: Skiplist<Vec<u8>> = Skiplist::with_seed(seed);
            for e in &eles {
                zsl.insert(3.0, e.clone());
            }
            let r = ZLexRangeSpec { min, max };
            let inr = |e: &Vec<u8>| r.value_gte_min(e) && r.value_lte_max(e);
            let want: Vec<Vec<u8>> = eles.iter().filter(|e| inr(e)).cloned().collect();
            let first = zsl.first_in_lex_range(&r).map(|id| zsl.get(id).unwrap().1.clone());
            prop_assert_eq!(first, want.first().cloned());
            let last = zsl.last_in_lex_range(&r).map(|id| zsl.get(id).unwrap().1.clone());
            prop_assert_eq!(last, want.last().cloned());
            if !want.is_empty() {
                prop_assert!(!r.is_empty());
            }
            if del {
                let got: Vec<Vec<u8>> = zsl.delete_range_by_lex(&r).into_iter().map(|x| x.1).collect();
                prop_assert_eq!(got, want.clone());
                prop_assert_eq!(zsl.len(), eles.len() - want.len());
                zsl.check_invariants().map_err(TestCaseError::fail)?;
            }
        }
    }

    #[test]
    fn parse_range_like_strtod() {
        let ok = |a: &[u8], b: &[u8]| parse_range(a, b).unwrap();
        assert_eq!(
            ok(b"", b"("),
            ZRangeSpec {
                min: 0.0,
                max: 0.0,
                minex: false,
                maxex: true
            }
        );
        assert_eq!(ok(b" 1", b"+inf").min, 1.0);
        assert_eq!(ok(b"1e400", b"-inf").min, f64::INFINITY);
        assert_eq!(ok(b"1e-400", b"(-Infinity").max, f64::NEG_INFINITY);
        assert_eq!(ok(b"0x10", b"1\0junk"), ok(b"16", b"1"));
        let err = CmdError::Static("ERR min or max is not a float");
        for bad in [
            &b"1 "[..],
            b" ",
            b"nan",
            b"(nan",
            b"abc",
            b"((1",
            b"1e",
            b"inf1",
        ] {
            assert_eq!(parse_range(bad, b"1"), Err(err.clone()), "{bad:?}");
            assert_eq!(parse_range(b"1", bad), Err(err.clone()), "{bad:?}");
        }
    }

    #[test]
    fn parse_lex() {
        use LexBound::*;
        let r = parse_lex_range(b"-", b"+").unwrap();
        assert_eq!((r.min, r.max), (NegInf, PosInf));
        let r = parse_lex_range(b"(a", b"[").unwrap();
        assert_eq!((r.min, r.max), (Excl(b"a".to_vec()), Incl(vec![])));
        let err = CmdError::Static("ERR min or max not valid string range item");
        for bad in [&b"a"[..], b"", b"+x", b"-1"] {
            assert_eq!(parse_lex_range(bad, b"+"), Err(err.clone()));
            assert_eq!(parse_lex_range(b"-", bad), Err(err.clone()));
        }
        // Empty-range rules of zslIsInLexRange (sdscmplex with ex flags).
        let spec = |a: &[u8], b: &[u8]| parse_lex_range(a, b).unwrap();
        assert!(spec(b"-", b"-").is_empty());
        assert!(spec(b"+", b"+").is_empty());
        assert!(spec(b"+", b"-").is_empty());
        assert!(spec(b"(a", b"[a").is_empty());
        assert!(!spec(b"[a", b"[a").is_empty());
        assert!(spec(b"[b", b"[a").is_empty());
        assert!(!spec(b"-", b"[a").is_empty());
    }

    #[test]
    fn random_level_distribution() {
        let mut zsl: Skiplist<Vec<u8>> = Skiplist::with_seed(1);
        let n = 100_000;
        let mut counts = [0usize; ZSKIPLIST_MAXLEVEL + 1];
        for _ in 0..n {
            counts[zsl.random_level()] += 1;
        }
        assert_eq!(counts[0], 0);
        // P(level == 1) = 0.75, P(level == 2) = 0.1875.
        assert!((counts[1] as f64 / n as f64 - 0.75).abs() < 0.01);
        assert!((counts[2] as f64 / n as f64 - 0.1875).abs() < 0.01);
    }

    #[test]
    fn update_in_place_and_ids() {
        let mut zsl: Skiplist<Vec<u8>> = Skiplist::with_seed(5);
        let a = zsl.insert(1.0, b"a".to_vec());
        zsl.insert(3.0, b"c".to_vec());
        // 1 -> 2 keeps the node between its neighbours: same id, in place.
        assert_eq!(zsl.update_score(1.0, b"a", 2.0), Some(a));
        assert_eq!(zsl.update_score(2.0, b"zz", 2.0), None);
        let id = zsl.update_score(2.0, b"a", 10.0).unwrap();
        assert_eq!(zsl.get(id), Some((10.0, &b"a".to_vec())));
        assert_eq!(zsl.rank(10.0, b"a"), Some(2));
        assert_eq!(zsl.first().and_then(|f| zsl.next(f)), Some(id));
        assert_eq!(zsl.prev(zsl.first().unwrap()), None);
        assert_eq!(zsl.get(12345), None);
        assert_eq!(zsl.iter_from(999).count(), 0);
        assert!(zsl.delete(10.0, b"a") && zsl.delete(3.0, b"c"));
        assert!(zsl.is_empty() && zsl.first().is_none() && zsl.last().is_none());
        zsl.check_invariants().unwrap();
    }

    #[test]
    fn many_nodes_invariants() {
        let mut zsl: Skiplist<Vec<u8>> = Skiplist::with_seed(9);
        for i in 0..5000u32 {
            zsl.insert((i % 97) as f64, i.to_be_bytes().to_vec());
        }
        zsl.check_invariants().unwrap();
        assert!(zsl.levels() > 3);
        for i in (0..5000u32).step_by(3) {
            assert!(zsl.delete((i % 97) as f64, &i.to_be_bytes()));
        }
        zsl.check_invariants().unwrap();
        assert_eq!(zsl.len(), 5000 - 1667);
    }
}
