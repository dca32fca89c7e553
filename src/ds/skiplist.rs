//! Redis's `zskiplist` (the skiplist half of t_zset.c), with the member
//! stored inside the node.
//!
//! Each node is one allocation: its levels (forward link, the forward
//! node's score, span: 24 bytes each; level 0 last), the header (score,
//! backward link, member-index chain link, member length, height; the node
//! pointer points here), then the member's bytes. A link caches the score of
//! the node it points to, so a search step reads only the current node's
//! level and touches the next node only when it moves there or the scores tie
//! (then the header and member, which are adjacent, decide). The header node
//! has all [`ZSKIPLIST_MAXLEVEL`] levels, as in Redis.
//!
//! The member bytes live only here: the sorted set's member index
//! ([`MemberIndex`], in `skiplist_index.rs`) is a chained hash table whose
//! chains run through the nodes themselves (the header's `hnext`), so a
//! member costs one 8-byte link plus its bucket share, where Redis has a
//! 24-byte dictEntry sharing the node's sds. [`Skiplist::update_score`] keeps
//! the node (it relinks it when the order changes), so the index stays
//! valid across score updates.
//!
//! Everything else is Redis 7.0: ordering by score, then by element bytes
//! (`sdscmp`, i.e. memcmp then length); random levels with p = 0.25 and at
//! most 32 (`zslRandomLevel`'s distribution, drawn from one 64-bit random
//! number); spans so ranks are O(log n); a backward link at level 0;
//! `zslUpdateScore`'s in-place update when the neighbours allow it; score and
//! lex range specs with Redis's parsing (`zslParseRange` uses plain `strtod`,
//! so `""` means 0 and leading spaces are accepted) and error texts.
//!
//! Nodes are handed out as [`NodeRef`]s borrowed from the list, so no handle
//! outlives a mutation. Callers must not insert an element that is already
//! present, nor a NaN score (the zset's index guarantees both).
//!
//! Safety invariant of this module (relied on by every `unsafe` block below):
//! `header` and every node reachable from it through forward or backward
//! links were allocated by [`alloc_node`], are owned by this list alone and
//! are freed exactly once, by [`Skiplist::free_unlinked`] after unlinking or by
//! `Drop`; a level index is always below the node's height.

use crate::alloc::slab;
use crate::error::{self, CmdError};
use crate::util::num::parse_f64;
use std::alloc::{handle_alloc_error, Layout};
use std::cmp::Ordering;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// `ZSKIPLIST_MAXLEVEL`.
pub const ZSKIPLIST_MAXLEVEL: usize = 32;
/// `ZSKIPLIST_P`.
pub const ZSKIPLIST_P: f64 = 0.25;

/// Node header; the levels and the member bytes follow it in the same
/// allocation.
#[repr(C)]
struct NodeHdr {
    score: f64,
    /// Previous node at level 0, null for the first node.
    backward: *mut NodeHdr,
    /// Next node in the same bucket of the sorted set's member index
    /// ([`MemberIndex`]), null at a chain's end; the skiplist never reads it.
    hnext: *mut NodeHdr,
    /// Member length in bytes.
    len: u32,
    /// Number of levels (1..=32).
    height: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Level {
    forward: *mut NodeHdr,
    /// The score of `forward` (meaningless when it is null): a search step
    /// that stops before `forward` never touches that node.
    score: f64,
    /// Number of level-0 steps this link jumps (for a link to the end: the
    /// nodes after this one; 0 for the header's unused levels).
    span: usize,
}

const HDR: usize = std::mem::size_of::<NodeHdr>();
const LVL: usize = std::mem::size_of::<Level>();

fn node_layout(height: usize, len: usize) -> Layout {
    match Layout::from_size_align(HDR + height * LVL + len, std::mem::align_of::<NodeHdr>()) {
        Ok(l) => l,
        Err(_) => handle_alloc_error(Layout::new::<NodeHdr>()),
    }
}

/// A new unlinked node of `height` levels holding (score, ele). Members
/// longer than `u32::MAX` bytes are truncated (the protocol caps bulk strings
/// far below that).
///
/// The allocation holds, in address order: the levels from the highest down
/// to level 0, the header (where the node pointer points), the member. A
/// search step at a node reads only its level; comparing a member reads the
/// header and the member, which are adjacent.
fn alloc_node(height: usize, score: f64, ele: &[u8]) -> *mut NodeHdr {
    let ele = &ele[..ele.len().min(u32::MAX as usize)];
    let layout = node_layout(height, ele.len());
    // SAFETY: the layout is non-zero sized (HDR > 0); every byte of the
    // levels, the header and the member is written before anyone reads it;
    // the header sits height * LVL bytes into the allocation (8-aligned).
    unsafe {
        // Nodes of up to slab::MAX_SIZE bytes (most: a one- or two-level
        // node with a member of up to ~180 bytes) take exactly their size
        // from the slab, without malloc's header and rounding.
        let base = slab::alloc_block(layout);
        if base.is_null() {
            handle_alloc_error(layout);
        }
        let p = base.add(height * LVL) as *mut NodeHdr;
        p.write(NodeHdr {
            score,
            backward: ptr::null_mut(),
            hnext: ptr::null_mut(),
            len: ele.len() as u32,
            height: height as u32,
        });
        for i in 0..height {
            lvl(p, i).write(Level {
                forward: ptr::null_mut(),
                score: 0.0,
                span: 0,
            });
        }
        ptr::copy_nonoverlapping(ele.as_ptr(), (p as *mut u8).add(HDR), ele.len());
        p
    }
}

/// Level `i` of node `x`: the levels lie below the header, level 0 right
/// before it.
///
/// # Safety
/// `x` must be a live node with more than `i` levels.
#[inline(always)]
unsafe fn lvl(x: *mut NodeHdr, i: usize) -> *mut Level {
    // SAFETY: i < height, so the level is inside x's allocation.
    unsafe { (x as *mut u8).sub((i + 1) * LVL) as *mut Level }
}

/// The member bytes of node `x`.
///
/// # Safety
/// `x` must be a live node, and stay live and unchanged for `'a`.
#[inline(always)]
unsafe fn member<'a>(x: *const NodeHdr) -> &'a [u8] {
    // SAFETY: len bytes after the header were initialised in alloc_node.
    unsafe { std::slice::from_raw_parts((x as *const u8).add(HDR), (*x).len as usize) }
}

/// Frees node `x`.
///
/// # Safety
/// `x` must be a live node that nothing links to or will read again.
unsafe fn free_node(x: *mut NodeHdr) {
    // SAFETY: allocated by alloc_node with this very layout, at the address
    // height * LVL bytes below the header.
    unsafe {
        let h = (*x).height as usize;
        let layout = node_layout(h, (*x).len as usize);
        slab::dealloc_block((x as *mut u8).sub(h * LVL), layout);
    }
}

/// True if the node a link `l` points to sorts strictly before (score, ele);
/// false for a link to the end. The node is only read on equal scores.
///
/// # Safety
/// `l.forward` must be null or a live node.
#[inline(always)]
unsafe fn before(l: Level, score: f64, ele: &[u8]) -> bool {
    // SAFETY: the caller's guarantee.
    !l.forward.is_null()
        && (l.score < score || (l.score == score && unsafe { member(l.forward) } < ele))
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

/// A node of a [`Skiplist`], borrowed from it (valid until the list is next
/// mutated).
#[derive(Clone, Copy)]
pub struct NodeRef<'a> {
    p: NonNull<NodeHdr>,
    _list: PhantomData<&'a Skiplist>,
}

impl<'a> NodeRef<'a> {
    fn new(p: *mut NodeHdr) -> Option<NodeRef<'a>> {
        NonNull::new(p).map(|p| NodeRef {
            p,
            _list: PhantomData,
        })
    }

    /// The node's score.
    #[inline]
    pub fn score(self) -> f64 {
        // SAFETY: a NodeRef borrows the list, so its node is live.
        unsafe { (*self.p.as_ptr()).score }
    }

    /// The node's member.
    #[inline]
    pub fn member(self) -> &'a [u8] {
        // SAFETY: the node is live and unchanged while the list is borrowed
        // for 'a.
        unsafe { member(self.p.as_ptr()) }
    }

    /// (score, member).
    #[inline]
    pub fn get(self) -> (f64, &'a [u8]) {
        (self.score(), self.member())
    }
}

impl std::fmt::Debug for NodeRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeRef({}, {:?})", self.score(), self.member())
    }
}

impl PartialEq for NodeRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.p == other.p
    }
}

/// A raw handle to a node of a [`Skiplist`], as the sorted set's member
/// index ([`MemberIndex`]) stores them. It carries no lifetime: reading
/// through it is unsafe, and only this module and the index do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NodePtr(NonNull<NodeHdr>);

type Update = [*mut NodeHdr; ZSKIPLIST_MAXLEVEL];

/// `zskiplist`: see the module docs.
pub struct Skiplist {
    /// The header node (ZSKIPLIST_MAXLEVEL levels, empty member).
    header: *mut NodeHdr,
    tail: *mut NodeHdr,
    /// Levels in use (1..=32), as `zsl->level`.
    level: usize,
    length: usize,
    /// xorshift64* state for the random levels (never 0).
    rng: u64,
}

// SAFETY: the list owns all its nodes exclusively (see the module's safety
// invariant), like a Box tree; moving it to another thread moves them all.
unsafe impl Send for Skiplist {}
// SAFETY: `&self` methods only read nodes (no interior mutability).
unsafe impl Sync for Skiplist {}

impl Default for Skiplist {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Skiplist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Drop for Skiplist {
    fn drop(&mut self) {
        // SAFETY: level 0 reaches every node once; each is freed after its
        // successor was read; the header last.
        unsafe {
            let mut x = (*lvl(self.header, 0)).forward;
            while !x.is_null() {
                let next = (*lvl(x, 0)).forward;
                free_node(x);
                x = next;
            }
            free_node(self.header);
        }
    }
}

impl Skiplist {
    /// `zslCreate`, with a level generator seeded from the thread RNG.
    pub fn new() -> Self {
        Self::with_seed(rand::random())
    }

    /// A skiplist whose random levels are reproducible.
    pub fn with_seed(seed: u64) -> Self {
        Skiplist {
            header: alloc_node(ZSKIPLIST_MAXLEVEL, 0.0, b""),
            tail: ptr::null_mut(),
            level: 1,
            length: 0,
            rng: seed | 1,
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

    /// Heap bytes of all nodes, the header included (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        let mut n = node_layout(ZSKIPLIST_MAXLEVEL, 0).size();
        let mut x = self.first_ptr();
        while !x.is_null() {
            // SAFETY: x is a live node reached from the header.
            unsafe {
                n += node_layout((*x).height as usize, (*x).len as usize).size();
                x = (*lvl(x, 0)).forward;
            }
        }
        n
    }

    #[inline]
    fn first_ptr(&self) -> *mut NodeHdr {
        // SAFETY: the header is live and has every level.
        unsafe { (*lvl(self.header, 0)).forward }
    }

    /// `zslRandomLevel`: level k+1 with probability 0.75 * 0.25^k, capped at
    /// 32. Each pair of leading zero bits of one xorshift64* draw (its high
    /// bits are the well-mixed ones) is one more level (probability 1/4 each).
    fn random_level(&mut self) -> usize {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (1 + (r.leading_zeros() / 2) as usize).min(ZSKIPLIST_MAXLEVEL)
    }

    /// The per-level predecessors of (score, ele): the `update[]` of
    /// zslInsert/zslDelete, plus the rank crossed to reach each.
    #[inline]
    fn find_update(&self, score: f64, ele: &[u8]) -> (Update, [usize; ZSKIPLIST_MAXLEVEL]) {
        let mut update = [self.header; ZSKIPLIST_MAXLEVEL];
        let mut rank = [0usize; ZSKIPLIST_MAXLEVEL];
        let mut x = self.header;
        let mut r = 0;
        // SAFETY: only live nodes are reached (module invariant), and x
        // has more than i levels whenever its level i is read (x is the
        // header or was reached through a level-i link).
        unsafe {
            for i in (0..self.level).rev() {
                loop {
                    let l = *lvl(x, i);
                    if before(l, score, ele) {
                        r += l.span;
                        x = l.forward;
                    } else {
                        break;
                    }
                }
                rank[i] = r;
                update[i] = x;
            }
        }
        (update, rank)
    }

    /// Links the unlinked node `x` at its (score, member) position, given
    /// its predecessors.
    ///
    /// # Safety
    /// `x` is a live node not linked into the list; `update`/`rank` come
    /// from `find_update` for x's score and member on the current list.
    unsafe fn link(
        &mut self,
        x: *mut NodeHdr,
        mut update: Update,
        mut rank: [usize; ZSKIPLIST_MAXLEVEL],
    ) {
        // SAFETY: the caller's guarantee plus the module invariant; every
        // update[i] has more than i levels.
        unsafe {
            let level = (*x).height as usize;
            if level > self.level {
                for i in self.level..level {
                    rank[i] = 0;
                    update[i] = self.header;
                    (*lvl(self.header, i)).span = self.length;
                }
                self.level = level;
            }
            let score = (*x).score;
            for i in 0..level {
                let u = lvl(update[i], i);
                let d = rank[0] - rank[i];
                *lvl(x, i) = Level {
                    forward: (*u).forward,
                    score: (*u).score,
                    span: (*u).span - d,
                };
                *u = Level {
                    forward: x,
                    score,
                    span: d + 1,
                };
            }
            for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
                (*lvl(u, i)).span += 1;
            }
            (*x).backward = if update[0] == self.header {
                ptr::null_mut()
            } else {
                update[0]
            };
            let f = (*lvl(x, 0)).forward;
            if f.is_null() {
                self.tail = x;
            } else {
                (*f).backward = x;
            }
        }
        self.length += 1;
    }

    /// `zslInsert`, returning the node's raw pointer.
    fn insert_ptr(&mut self, score: f64, ele: &[u8]) -> *mut NodeHdr {
        debug_assert!(!score.is_nan());
        let (update, rank) = self.find_update(score, ele);
        let x = alloc_node(self.random_level(), score, ele);
        // SAFETY: x is a fresh unlinked node; update/rank were computed for
        // its key on the unchanged list.
        unsafe { self.link(x, update, rank) };
        x
    }

    /// `zslInsert`. The caller guarantees `ele` is not present and `score`
    /// is not NaN.
    pub fn insert(&mut self, score: f64, ele: &[u8]) -> NodeRef<'_> {
        let x = self.insert_ptr(score, ele);
        match NodeRef::new(x) {
            Some(n) => n,
            None => unreachable!("alloc_node never returns null"),
        }
    }

    /// Like [`Skiplist::insert`], returning a raw handle to the new node
    /// for the member index. The node lives until it is deleted (by any of
    /// the delete methods) or the list is dropped; [`Skiplist::update_score`]
    /// keeps it.
    pub fn insert_node(&mut self, score: f64, ele: &[u8]) -> NodePtr {
        let x = self.insert_ptr(score, ele);
        match NonNull::new(x) {
            Some(p) => NodePtr(p),
            None => unreachable!("alloc_node never returns null"),
        }
    }

    /// `zslDeleteNode`: unlinks `x` (whose predecessors are `update`),
    /// leaving it allocated.
    ///
    /// # Safety
    /// `x` is a linked node and `update` its predecessors on the current list.
    unsafe fn unlink(&mut self, x: *mut NodeHdr, update: &Update) {
        // SAFETY: the caller's guarantee plus the module invariant.
        unsafe {
            for (i, &u) in update.iter().enumerate().take(self.level) {
                let ul = lvl(u, i);
                if (*ul).forward == x {
                    let xl = *lvl(x, i);
                    *ul = Level {
                        forward: xl.forward,
                        score: xl.score,
                        span: (*ul).span + xl.span - 1,
                    };
                } else {
                    (*ul).span -= 1;
                }
            }
            let f = (*lvl(x, 0)).forward;
            if f.is_null() {
                self.tail = (*x).backward;
            } else {
                (*f).backward = (*x).backward;
            }
            while self.level > 1 && (*lvl(self.header, self.level - 1)).forward.is_null() {
                self.level -= 1;
            }
        }
        self.length -= 1;
    }

    /// Frees a node after [`Skiplist::unlink`], calling `on_remove` with
    /// its score and member first.
    ///
    /// # Safety
    /// `x` was just unlinked from this list.
    unsafe fn free_unlinked(&mut self, x: *mut NodeHdr, on_remove: &mut impl FnMut(f64, &[u8])) {
        // SAFETY: x is live until freed here; nothing links to it anymore.
        unsafe {
            on_remove((*x).score, member(x));
            free_node(x);
        }
    }

    /// The node holding exactly (score, ele), with its `update[]`.
    fn find_exact(&self, score: f64, ele: &[u8]) -> Option<(*mut NodeHdr, Update)> {
        let (update, _) = self.find_update(score, ele);
        // SAFETY: update[0] is live (header or node).
        unsafe {
            let x = (*lvl(update[0], 0)).forward;
            if !x.is_null() && (*x).score == score && member(x) == ele {
                return Some((x, update));
            }
        }
        None
    }

    /// `zslDelete`: removes (score, ele); false if it is not there.
    pub fn delete(&mut self, score: f64, ele: &[u8]) -> bool {
        match self.find_exact(score, ele) {
            Some((x, update)) => {
                // SAFETY: x is linked and update its predecessors.
                unsafe {
                    self.unlink(x, &update);
                    self.free_unlinked(x, &mut |_, _| {});
                }
                true
            }
            None => false,
        }
    }

    /// `zslUpdateScore`: moves (cur_score, ele) to `new_score`, in place when
    /// the neighbours' scores still bracket the new one, otherwise by
    /// unlinking the node and linking it again at its new position (the node
    /// and its height are kept, so the member index stays valid). False if
    /// (cur_score, ele) is not present (Redis asserts instead).
    pub fn update_score(&mut self, cur_score: f64, ele: &[u8], new_score: f64) -> bool {
        debug_assert!(!new_score.is_nan());
        let Some((x, update)) = self.find_exact(cur_score, ele) else {
            return false;
        };
        // SAFETY: x is linked and update its predecessors; after unlink, x
        // stays allocated and is linked again at once.
        unsafe {
            let back = (*x).backward;
            let next = *lvl(x, 0);
            if (back.is_null() || (*back).score < new_score)
                && (next.forward.is_null() || next.score > new_score)
            {
                // The links into x cache its score: x's predecessor at each
                // of its levels is update[i].
                (*x).score = new_score;
                for (i, &u) in update.iter().enumerate().take((*x).height as usize) {
                    (*lvl(u, i)).score = new_score;
                }
                return true;
            }
            self.unlink(x, &update);
            (*x).score = new_score;
            let (update, rank) = self.find_update(new_score, member(x));
            self.link(x, update, rank);
        }
        true
    }

    /// `zslGetRank`: 1-based rank of (score, ele), `None` if absent.
    pub fn rank(&self, score: f64, ele: &[u8]) -> Option<usize> {
        let mut x = self.header;
        // x's score, from the link followed to it (only used once x moved).
        let mut xs = f64::NAN;
        let mut rank = 0;
        // SAFETY: only live nodes are reached; levels read are below each
        // node's height (see find_update).
        unsafe {
            for i in (0..self.level).rev() {
                loop {
                    let l = *lvl(x, i);
                    if !l.forward.is_null()
                        && (l.score < score || (l.score == score && member(l.forward) <= ele))
                    {
                        rank += l.span;
                        x = l.forward;
                        xs = l.score;
                    } else {
                        break;
                    }
                }
                if x != self.header && xs == score && member(x) == ele {
                    return Some(rank);
                }
            }
        }
        None
    }

    /// `zslGetElementByRank` (1-based): the node at `rank`.
    pub fn node_by_rank(&self, rank: usize) -> Option<NodeRef<'_>> {
        if rank == 0 || rank > self.length {
            return None;
        }
        let mut x = self.header;
        let mut traversed = 0;
        // SAFETY: as in rank().
        unsafe {
            for i in (0..self.level).rev() {
                loop {
                    let l = *lvl(x, i);
                    if !l.forward.is_null() && traversed + l.span <= rank {
                        traversed += l.span;
                        x = l.forward;
                    } else {
                        break;
                    }
                }
                if traversed == rank {
                    return NodeRef::new(x);
                }
            }
        }
        None
    }

    /// The (score, element) at 1-based `rank`.
    pub fn by_rank(&self, rank: usize) -> Option<(f64, &[u8])> {
        self.node_by_rank(rank).map(NodeRef::get)
    }

    /// First node (lowest score), if any.
    pub fn first(&self) -> Option<NodeRef<'_>> {
        NodeRef::new(self.first_ptr())
    }

    /// Last node (highest score), if any.
    pub fn last(&self) -> Option<NodeRef<'_>> {
        NodeRef::new(self.tail)
    }

    /// The node after `n` at level 0.
    pub fn next<'a>(&'a self, n: NodeRef<'a>) -> Option<NodeRef<'a>> {
        // SAFETY: n is a live node of a list borrowed for 'a.
        NodeRef::new(unsafe { (*lvl(n.p.as_ptr(), 0)).forward })
    }

    /// The node before `n` (its backward link).
    pub fn prev<'a>(&'a self, n: NodeRef<'a>) -> Option<NodeRef<'a>> {
        // SAFETY: as in next().
        NodeRef::new(unsafe { (*n.p.as_ptr()).backward })
    }

    /// Walks down from the header, following each level while `go` holds
    /// for the next node (its cached score, and the node for its member);
    /// returns the last node passed (the header if none).
    #[inline]
    fn descend(&self, go: impl Fn(f64, NodeRef<'_>) -> bool) -> *mut NodeHdr {
        let mut x = self.header;
        // SAFETY: as in rank().
        unsafe {
            for i in (0..self.level).rev() {
                loop {
                    let l = *lvl(x, i);
                    match NodeRef::new(l.forward) {
                        Some(f) if go(l.score, f) => x = l.forward,
                        _ => break,
                    }
                }
            }
        }
        x
    }

    /// `zslIsInRange`.
    pub fn is_in_range(&self, range: &ZRangeSpec) -> bool {
        match (self.first(), self.last()) {
            (Some(f), Some(l)) if !range.is_empty() => {
                range.value_gte_min(l.score()) && range.value_lte_max(f.score())
            }
            _ => false,
        }
    }

    /// `zslFirstInRange`: the lowest node within `range`.
    pub fn first_in_range(&self, range: &ZRangeSpec) -> Option<NodeRef<'_>> {
        if !self.is_in_range(range) {
            return None;
        }
        let x = self.descend(|s, _| !range.value_gte_min(s));
        // SAFETY: x is live (header or node).
        let n = NodeRef::new(unsafe { (*lvl(x, 0)).forward })?;
        range.value_lte_max(n.score()).then_some(n)
    }

    /// `zslLastInRange`: the highest node within `range`.
    pub fn last_in_range(&self, range: &ZRangeSpec) -> Option<NodeRef<'_>> {
        if !self.is_in_range(range) {
            return None;
        }
        let x = self.descend(|s, _| range.value_lte_max(s));
        if x == self.header {
            return None;
        }
        let n = NodeRef::new(x)?;
        range.value_gte_min(n.score()).then_some(n)
    }

    /// `zslIsInLexRange`.
    pub fn is_in_lex_range(&self, range: &ZLexRangeSpec) -> bool {
        match (self.first(), self.last()) {
            (Some(f), Some(l)) if !range.is_empty() => {
                range.value_gte_min(l.member()) && range.value_lte_max(f.member())
            }
            _ => false,
        }
    }

    /// `zslFirstInLexRange` (meaningful when all scores are equal).
    pub fn first_in_lex_range(&self, range: &ZLexRangeSpec) -> Option<NodeRef<'_>> {
        if !self.is_in_lex_range(range) {
            return None;
        }
        let x = self.descend(|_, n| !range.value_gte_min(n.member()));
        // SAFETY: x is live (header or node).
        let n = NodeRef::new(unsafe { (*lvl(x, 0)).forward })?;
        range.value_lte_max(n.member()).then_some(n)
    }

    /// `zslLastInLexRange`.
    pub fn last_in_lex_range(&self, range: &ZLexRangeSpec) -> Option<NodeRef<'_>> {
        if !self.is_in_lex_range(range) {
            return None;
        }
        let x = self.descend(|_, n| range.value_lte_max(n.member()));
        if x == self.header {
            return None;
        }
        let n = NodeRef::new(x)?;
        range.value_gte_min(n.member()).then_some(n)
    }

    /// Walks to the last node for which `skip` holds at every level, then
    /// deletes following nodes while `keep` holds (the shared shape of the
    /// zslDeleteRangeBy* functions), calling `on_remove` with each removed
    /// (score, element) before it is freed. Returns the number removed.
    fn delete_while(
        &mut self,
        skip: impl Fn(f64, &[u8]) -> bool,
        keep: impl Fn(f64, &[u8]) -> bool,
        on_remove: &mut impl FnMut(f64, &[u8]),
    ) -> usize {
        let mut update = [self.header; ZSKIPLIST_MAXLEVEL];
        let mut x = self.header;
        let mut removed = 0;
        // SAFETY: as in find_update; each node is unlinked with its
        // predecessors (which stay the same while deleting a run), its
        // successor read before it is freed.
        unsafe {
            for i in (0..self.level).rev() {
                loop {
                    let l = *lvl(x, i);
                    if !l.forward.is_null() && skip(l.score, member(l.forward)) {
                        x = l.forward;
                    } else {
                        break;
                    }
                }
                update[i] = x;
            }
            let mut x = (*lvl(x, 0)).forward;
            while !x.is_null() && keep((*x).score, member(x)) {
                let next = (*lvl(x, 0)).forward;
                self.unlink(x, &update);
                self.free_unlinked(x, on_remove);
                removed += 1;
                x = next;
            }
        }
        removed
    }

    /// `zslDeleteRangeByScore`: removes every element with a score in
    /// `range`; `on_remove` sees each before it goes. Returns the count.
    pub fn delete_range_by_score(
        &mut self,
        range: &ZRangeSpec,
        mut on_remove: impl FnMut(f64, &[u8]),
    ) -> usize {
        let r = *range;
        self.delete_while(
            move |s, _| !r.value_gte_min(s),
            move |s, _| r.value_lte_max(s),
            &mut on_remove,
        )
    }

    /// `zslDeleteRangeByLex`: removes every element within `range`.
    pub fn delete_range_by_lex(
        &mut self,
        range: &ZLexRangeSpec,
        mut on_remove: impl FnMut(f64, &[u8]),
    ) -> usize {
        self.delete_while(
            |_, e| !range.value_gte_min(e),
            |_, e| range.value_lte_max(e),
            &mut on_remove,
        )
    }

    /// `zslDeleteRangeByRank`: removes ranks `start..=end` (1-based).
    pub fn delete_range_by_rank(
        &mut self,
        start: usize,
        end: usize,
        mut on_remove: impl FnMut(f64, &[u8]),
    ) -> usize {
        let mut update = [self.header; ZSKIPLIST_MAXLEVEL];
        let mut x = self.header;
        let mut traversed = 0;
        let mut removed = 0;
        // SAFETY: as in delete_while.
        unsafe {
            for i in (0..self.level).rev() {
                loop {
                    let l = *lvl(x, i);
                    if !l.forward.is_null() && traversed + l.span < start {
                        traversed += l.span;
                        x = l.forward;
                    } else {
                        break;
                    }
                }
                update[i] = x;
            }
            traversed += 1;
            let mut x = (*lvl(x, 0)).forward;
            while !x.is_null() && traversed <= end {
                let next = (*lvl(x, 0)).forward;
                self.unlink(x, &update);
                self.free_unlinked(x, &mut on_remove);
                removed += 1;
                traversed += 1;
                x = next;
            }
        }
        removed
    }

    /// All (score, element) pairs in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            cur: self.first_ptr(),
            reverse: false,
            _list: PhantomData,
        }
    }

    /// Iterates forward starting at (and including) `n`.
    pub fn iter_from<'a>(&'a self, n: NodeRef<'a>) -> Iter<'a> {
        Iter {
            cur: n.p.as_ptr(),
            reverse: false,
            _list: PhantomData,
        }
    }

    /// Iterates backward starting at (and including) `n`.
    pub fn rev_iter_from<'a>(&'a self, n: NodeRef<'a>) -> Iter<'a> {
        Iter {
            cur: n.p.as_ptr(),
            reverse: true,
            _list: PhantomData,
        }
    }

    /// All pairs from the highest to the lowest.
    pub fn rev_iter(&self) -> Iter<'_> {
        Iter {
            cur: self.tail,
            reverse: true,
            _list: PhantomData,
        }
    }

    /// Checks every structural invariant (links, backward pointers, spans,
    /// order, level bookkeeping); for tests and DEBUG-style self checks.
    pub fn check_invariants(&self) -> Result<(), String> {
        // SAFETY: only links of live nodes are followed, each level below
        // the node's height (checked before use).
        unsafe {
            // Level 0: order, backward links, tail, length.
            let mut pos = std::collections::HashMap::new();
            let mut prev: *mut NodeHdr = ptr::null_mut();
            let mut x = self.first_ptr();
            let mut n = 0usize;
            while !x.is_null() {
                n += 1;
                if n > self.length {
                    return Err("more nodes than length".into());
                }
                pos.insert(x, n);
                if (*x).backward != prev {
                    return Err(format!("bad backward link at rank {n}"));
                }
                let h = (*x).height as usize;
                if h == 0 || h > self.level {
                    return Err(format!("bad node level at rank {n}"));
                }
                if !prev.is_null() {
                    let ord = (*prev)
                        .score
                        .partial_cmp(&(*x).score)
                        .ok_or("NaN score")?
                        .then_with(|| member(prev).cmp(member(x)));
                    if ord != Ordering::Less {
                        return Err(format!("order violated at rank {n}"));
                    }
                }
                prev = x;
                x = (*lvl(x, 0)).forward;
            }
            if n != self.length || self.tail != prev {
                return Err("length or tail mismatch".into());
            }
            // Every level: spans equal rank differences; links to the end
            // span the elements after their node.
            for i in 0..ZSKIPLIST_MAXLEVEL {
                let hl = *lvl(self.header, i);
                if i >= self.level {
                    if !hl.forward.is_null() {
                        return Err(format!("link above zsl->level at {i}"));
                    }
                    continue;
                }
                let mut x = self.header;
                let mut r = 0usize;
                loop {
                    let l = *lvl(x, i);
                    if l.forward.is_null() {
                        if x == self.header && i > 0 {
                            return Err(format!("empty level {i} below zsl->level"));
                        }
                        if l.span != self.length - r {
                            return Err(format!("end span mismatch at level {i} rank {r}"));
                        }
                        break;
                    }
                    let fr = *pos.get(&l.forward).ok_or("link to unlisted node")?;
                    if l.score.to_bits() != (*l.forward).score.to_bits() {
                        return Err(format!("stale cached score at level {i} rank {r}"));
                    }
                    if fr <= r || fr - r != l.span {
                        return Err(format!("span mismatch at level {i} rank {r}"));
                    }
                    if (*l.forward).height as usize <= i {
                        return Err(format!("link at level {i} to a lower node"));
                    }
                    r = fr;
                    x = l.forward;
                }
            }
        }
        Ok(())
    }
}

/// Iterator over (score, element), forward or backward.
pub struct Iter<'a> {
    cur: *mut NodeHdr,
    reverse: bool,
    _list: PhantomData<&'a Skiplist>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (f64, &'a [u8]);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let x = self.cur;
        if x.is_null() {
            return None;
        }
        // SAFETY: the iterator borrows the list for 'a, so x and its
        // neighbours are live and unchanged.
        unsafe {
            self.cur = if self.reverse {
                (*x).backward
            } else {
                (*lvl(x, 0)).forward
            };
            Some(((*x).score, member(x)))
        }
    }
}

#[path = "skiplist_index.rs"]
mod index;
pub use index::MemberIndex;

#[cfg(test)]
#[path = "skiplist_tests.rs"]
mod tests;
