//! `alloc::slab` — exact-size slots for small blocks (the dicts' entries,
//! `Sds` strings, skiplist nodes): 8 to 256 bytes, in 8-byte size classes,
//! carved from 1 MiB chunks with no per-block header.
//!
//! Why: a dict entry of the keyspace is 48 bytes for a 16-byte key, and
//! glibc's malloc makes that a 64-byte chunk (an 8-byte header, 16-byte
//! rounding): a third of every small key's memory. Here a 48-byte entry
//! takes 48 bytes and a TTL's 8 more bytes take exactly 8.
//!
//! How:
//! - every thread keeps, per class, up to two chains of free slots of at
//!   most 32 slots (`cur`, `spare`): allocating pops `cur`, freeing
//!   pushes on it, both without locking or atomics;
//! - full chains move to and from a global list of chains under a spin
//!   lock, one chain (32 slots) at a time. When neither the thread nor
//!   the global list has a free slot of the class (a bitmask read without
//!   the lock says so), the slot is cut from the thread's own 64 KiB
//!   region of fresh memory, taken from the current chunk: slots of all
//!   classes come from it in allocation order, so a key's entry and its
//!   value lie side by side as malloc puts them. A thread that frees millions of slots
//!   (the lazy-free thread dropping a big dict) returns them 32 at a time,
//!   so the event loop's allocations rarely meet the lock held;
//! - a free slot's first 8 bytes link it to the next one of its chain;
//! - chunks are carved from one reserved range of address space, the
//!   arena (32 GiB, `PROT_NONE` until a chunk is made writable), and never
//!   given back: freed slots are reused by new blocks of their class (as
//!   a slab allocator does), so RSS after deleting keys stays until keys
//!   of the same size come back (glibc's heap does not shrink under small
//!   live chunks either). One range lets a dict entry be named by a 32-bit
//!   handle, its 8-byte granule in the arena ([`alloc_entry`],
//!   [`entry_ptr`]): the dicts' buckets and chain links are 4 bytes. Near
//!   its end ([`arena_nearly_full`]) the dispatcher refuses commands that
//!   may add data; once it is full, other blocks go to the global
//!   allocator and a new entry that finds no free slot is an out-of-memory
//!   abort;
//! - used_memory (`super::USED`) counts the slots handed out, at their
//!   class size, not the chunks: free slots show as fragmentation in INFO;
//! - the lock is taken around `fork` (`pthread_atfork`), so a child never
//!   inherits it held by a thread it does not have.
//!
//! Callers go through [`alloc_block`] / [`dealloc_block`], which hand
//! blocks too big or too aligned for a slot (over 256 bytes, over 8-byte
//! alignment) to the global allocator.
//!
//! Under cargo-fuzz (`cfg(fuzzing)`) every block goes to the global
//! allocator: AddressSanitizer then checks each dict entry, string and
//! skiplist node for overflows and use after free, and LeakSanitizer sees
//! the pointers they hold (it does not scan our `mmap`ed chunks, so a
//! value owned only by a slab-held entry looked leaked); an entry's handle
//! is then its index in a table of those blocks. The slab itself is
//! covered by its unit tests and by every other test and benchmark.

use std::cell::UnsafeCell;
use std::num::NonZeroU32;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Once;

/// Size-class granularity, and the alignment of every slot.
pub const GRANULE: usize = 8;
/// The largest block the slab serves.
pub const MAX_SIZE: usize = 256;
const NCLASS: usize = MAX_SIZE / GRANULE;
/// Slots per chain moved between a thread and the global list.
const BATCH: u32 = 32;
/// Bytes made writable at a time.
const CHUNK: usize = 1 << 20;
/// The arena reserved first: what 32-bit handles of 8-byte granules reach.
const ARENA_MAX: usize = 1 << 35;
/// The smallest arena tried when the address space is limited (a smaller
/// reservation is tried after each failure, halving).
const ARENA_MIN: usize = 1 << 28;

/// The arena's first byte (0 until it is reserved) and its length. Set
/// once, under the global lock, before any chunk exists; read without it
/// (an entry's handle reaches a thread only after its block was carved).
static ARENA_START: AtomicUsize = AtomicUsize::new(0);
static ARENA_LEN: AtomicUsize = AtomicUsize::new(0);
/// The arena's start again, as a plain word for [`entry_ptr`]: written
/// once, under the global lock, before any block (so any handle) exists,
/// and only read afterwards, so the reads need no atomic (and the
/// compiler may keep the value in a register along a chain walk).
struct BaseCell(UnsafeCell<usize>);
// SAFETY: see above: one write, before any reader can have a handle (a
// handle reaches a thread after the lock that ordered the write).
unsafe impl Sync for BaseCell {}
static ENTRY_BASE: BaseCell = BaseCell(UnsafeCell::new(0));

/// [`arena_nearly_full`]'s threshold: the arena's length less an eighth,
/// at most 1 GiB (usize::MAX until the arena is reserved).
static ARENA_SOFT_LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Bytes of the arena's slots handed out (at their class size).
static ARENA_IN_USE: AtomicUsize = AtomicUsize::new(0);

/// A chain of free slots, linked through their first word.
#[derive(Clone, Copy)]
struct Chain {
    head: *mut u8,
    len: u32,
}

impl Chain {
    const EMPTY: Chain = Chain {
        head: ptr::null_mut(),
        len: 0,
    };

    /// Pops a slot (the chain must not be empty).
    ///
    /// # Safety
    /// `len > 0`, and every slot of the chain is a free slot whose first
    /// word links to the next.
    #[inline]
    unsafe fn pop(&mut self) -> *mut u8 {
        let p = self.head;
        // SAFETY: the caller's contract: `p` is a free slot of at least 8
        // bytes, 8-aligned, holding the next link.
        self.head = unsafe { (p as *mut *mut u8).read() };
        self.len -= 1;
        p
    }

    /// Pushes a free slot.
    ///
    /// # Safety
    /// `p` is a slot of this chain's class (at least 8 bytes, 8-aligned)
    /// that nothing uses any more.
    #[inline]
    unsafe fn push(&mut self, p: *mut u8) {
        // SAFETY: the caller's contract: `p` is ours to write.
        unsafe { (p as *mut *mut u8).write(self.head) };
        self.head = p;
        self.len += 1;
    }
}

/// The global side: full chains per class and the chunk being carved.
struct Global {
    lock: AtomicBool,
    /// Bit c: the global list holds chains of class c (read without the
    /// lock, so a thread growing into fresh memory takes no lock to learn
    /// there is nothing to reuse).
    nonempty: AtomicU32,
    inner: UnsafeCell<GlobalInner>,
}

struct GlobalInner {
    chains: [Vec<Chain>; NCLASS],
    bump: *mut u8,
    end: *mut u8,
    /// The arena's first chunk not carved yet.
    next_chunk: usize,
}

// SAFETY: `inner` is only touched while `lock` is held (`Global::with`);
// the raw pointers are slots and chunks no thread owns exclusively.
unsafe impl Sync for Global {}

// Global: every thread allocating dict entries shares the chunks and the
// chains of free slots (as malloc's arenas are shared).
static GLOBAL: Global = Global {
    lock: AtomicBool::new(false),
    nonempty: AtomicU32::new(0),
    inner: UnsafeCell::new(GlobalInner {
        chains: [const { Vec::new() }; NCLASS],
        bump: ptr::null_mut(),
        end: ptr::null_mut(),
        next_chunk: 0,
    }),
};

static ATFORK: Once = Once::new();

extern "C" fn fork_prepare() {
    GLOBAL.acquire();
}

extern "C" fn fork_release() {
    GLOBAL.lock.store(false, Ordering::Release);
}

impl Global {
    fn acquire(&self) {
        let mut spins = 0u32;
        while self
            .lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// Runs `f` on the global state with the lock held.
    fn with<R>(&self, f: impl FnOnce(&mut GlobalInner) -> R) -> R {
        ATFORK.call_once(|| {
            // SAFETY: registers plain extern "C" functions that only take
            // and release the spin lock.
            unsafe {
                libc::pthread_atfork(Some(fork_prepare), Some(fork_release), Some(fork_release));
            }
        });
        self.acquire();
        // SAFETY: the lock is held, so this is the only reference to inner
        // until it is released below; `f` cannot re-enter the slab (it only
        // uses the global allocator, through Vec).
        let r = f(unsafe { &mut *self.inner.get() });
        self.lock.store(false, Ordering::Release);
        r
    }
}

impl GlobalInner {
    /// A chain of free slots of class `c` others gave back, if any.
    fn take_chain(&mut self, c: usize) -> Option<Chain> {
        let ch = self.chains[c].pop();
        if self.chains[c].is_empty() {
            GLOBAL.nonempty.fetch_and(!(1 << c), Ordering::Relaxed);
        }
        ch
    }

    /// Gives back a chain of free slots of class `c`.
    fn push_chain(&mut self, c: usize, ch: Chain) {
        self.chains[c].push(ch);
        GLOBAL.nonempty.fetch_or(1 << c, Ordering::Relaxed);
    }

    /// `n` fresh bytes (8-aligned, n <= CHUNK) from the current chunk, a
    /// new one when it has fewer left (the rest of the old one, under
    /// REGION bytes, stays unused); null once the arena is full.
    fn carve(&mut self, n: usize) -> *mut u8 {
        if (self.end as usize) - (self.bump as usize) < n && !self.next_chunk() {
            return ptr::null_mut();
        }
        let p = self.bump;
        // SAFETY: n bytes from bump lie inside the chunk (checked above).
        self.bump = unsafe { p.add(n) };
        p
    }

    /// Makes the arena's next chunk writable and carves from it; false
    /// when the arena is full (or could not be reserved at all).
    fn next_chunk(&mut self) -> bool {
        if self.next_chunk == 0 {
            self.next_chunk = reserve_arena();
        }
        let start = ARENA_START.load(Ordering::Relaxed);
        let end = start + ARENA_LEN.load(Ordering::Relaxed);
        if self.next_chunk == 0 || self.next_chunk + CHUNK > end {
            return false;
        }
        let p = self.next_chunk as *mut libc::c_void;
        // SAFETY: [p, p + CHUNK) lies inside the arena, reserved by this
        // process and not in use yet (chunks are handed out once).
        if unsafe { libc::mprotect(p, CHUNK, libc::PROT_READ | libc::PROT_WRITE) } != 0 {
            return false;
        }
        self.bump = p as *mut u8;
        // SAFETY: the end of the chunk just made writable.
        self.end = unsafe { self.bump.add(CHUNK) };
        self.next_chunk += CHUNK;
        true
    }
}

/// Reserves the arena (inaccessible until chunks of it are made
/// writable, so it counts toward no commit limit; `MAP_NORESERVE` for the
/// same reason) and publishes its range; returns its start, 0 when even
/// the smallest size failed. The first granule is never handed out: a
/// handle is never 0.
fn reserve_arena() -> usize {
    let mut len = ARENA_MAX;
    while len >= ARENA_MIN {
        // SAFETY: an anonymous private mapping; no pointer is involved.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            // Slots start one chunk in: handle 0 (granule 0) stays unused.
            let start = p as usize;
            // SAFETY: called with the global lock held, once (next_chunk
            // is 0 only until this returns), before any block exists.
            unsafe { *ENTRY_BASE.0.get() = start };
            ARENA_START.store(start, Ordering::Relaxed);
            ARENA_LEN.store(len, Ordering::Relaxed);
            ARENA_SOFT_LIMIT.store(len - (len / 8).min(1 << 30), Ordering::Relaxed);
            return start + CHUNK;
        }
        len /= 2;
    }
    0
}

/// The arena's size in MiB when it is smaller than the 32 GiB wanted
/// (reserving it now if no block was allocated yet), for the startup log.
pub fn arena_shortfall_mib() -> Option<usize> {
    if ARENA_LEN.load(Ordering::Relaxed) == 0 {
        GLOBAL.with(|g| {
            if g.next_chunk == 0 {
                g.next_chunk = reserve_arena();
            }
        });
    }
    let len = ARENA_LEN.load(Ordering::Relaxed);
    (len < ARENA_MAX).then_some(len >> 20)
}

/// Whether `p` is a block of the arena (not one of the global allocator).
#[inline]
fn in_arena(p: *mut u8) -> bool {
    (p as usize).wrapping_sub(ARENA_START.load(Ordering::Relaxed))
        < ARENA_LEN.load(Ordering::Relaxed)
}

/// A thread's chains, per class.
struct Local {
    cur: [Chain; NCLASS],
    spare: [Chain; NCLASS],
    /// The thread's region of fresh memory: new slots of every class are
    /// cut from it in allocation order, so blocks allocated together (a
    /// key's entry and its value) lie side by side, as malloc puts them,
    /// and a lookup that reads both touches one page. (Carving each class
    /// in batches put an entry and its value kilobytes apart: SAVE of 1M
    /// 100-byte values took 0.48 s instead of 0.31.)
    bump: *mut u8,
    end: *mut u8,
}

/// Bytes of fresh memory a thread takes from the global chunk at a time.
const REGION: usize = 64 << 10;

/// The wrapper whose Drop hands a finishing thread's free slots back.
struct LocalCell(UnsafeCell<Local>);

impl Drop for LocalCell {
    fn drop(&mut self) {
        let l = self.0.get_mut();
        GLOBAL.with(|g| {
            for c in 0..NCLASS {
                for ch in [l.cur[c], l.spare[c]] {
                    if ch.len > 0 {
                        g.push_chain(c, ch);
                    }
                }
            }
        });
    }
}

thread_local! {
    static LOCAL: LocalCell = const {
        LocalCell(UnsafeCell::new(Local {
            cur: [Chain::EMPTY; NCLASS],
            spare: [Chain::EMPTY; NCLASS],
            bump: ptr::null_mut(),
            end: ptr::null_mut(),
        }))
    };
}

/// The slot size for a block of `size` bytes (1..=MAX_SIZE).
#[inline]
fn class_size(size: usize) -> usize {
    (size + GRANULE - 1) & !(GRANULE - 1)
}

#[inline]
fn class_of(size: usize) -> usize {
    class_size(size) / GRANULE - 1
}

/// A block of `size` bytes (1..=[`MAX_SIZE`]), 8-byte aligned,
/// uninitialised, in the arena; null when the arena is full and no freed
/// slot of the class is left.
#[inline]
fn alloc(size: usize) -> *mut u8 {
    debug_assert!(size > 0 && size <= MAX_SIZE);
    let c = class_of(size);
    let slot = class_size(size);
    let r = LOCAL.try_with(|l| {
        // SAFETY: the thread's own cell, used by no other reference while
        // this closure runs (the slab does not re-enter itself).
        let l = unsafe { &mut *l.0.get() };
        if l.cur[c].len == 0 {
            if l.spare[c].len > 0 {
                l.cur[c] = std::mem::replace(&mut l.spare[c], Chain::EMPTY);
            } else if GLOBAL.nonempty.load(Ordering::Relaxed) & (1 << c) != 0 {
                if let Some(ch) = GLOBAL.with(|g| g.take_chain(c)) {
                    l.cur[c] = ch;
                }
            }
        }
        if l.cur[c].len > 0 {
            // SAFETY: `cur` holds at least one free slot of class c.
            return unsafe { l.cur[c].pop() };
        }
        // Nothing to reuse: the next slot of the thread's fresh region.
        if (l.end as usize) - (l.bump as usize) < slot {
            let region = GLOBAL.with(|g| g.carve(REGION));
            if region.is_null() {
                return ptr::null_mut();
            }
            l.bump = region;
            // SAFETY: carve returned REGION bytes.
            l.end = unsafe { l.bump.add(REGION) };
        }
        let p = l.bump;
        // SAFETY: `slot` bytes from bump lie inside the region (checked).
        l.bump = unsafe { p.add(slot) };
        p
    });
    let p = match r {
        Ok(p) => p,
        // The thread is exiting (its cell is gone): reuse a slot from the
        // global list, else carve one.
        Err(_) => GLOBAL.with(|g| match g.take_chain(c) {
            Some(mut ch) => {
                // SAFETY: chains on the global list are never empty.
                let p = unsafe { ch.pop() };
                if ch.len > 0 {
                    g.push_chain(c, ch);
                }
                p
            }
            None => g.carve(slot),
        }),
    };
    if !p.is_null() {
        super::USED.fetch_add(slot, Ordering::Relaxed);
        ARENA_IN_USE.fetch_add(slot, Ordering::Relaxed);
    }
    p
}

/// Whether the arena is nearly full: its slots in use leave less than an
/// eighth of it, at most 1 GiB, free. Commands that may add data are then
/// refused as under maxmemory, before a new dict entry finds no room
/// (which aborts).
#[inline]
pub fn arena_nearly_full() -> bool {
    ARENA_IN_USE.load(Ordering::Relaxed) > ARENA_SOFT_LIMIT.load(Ordering::Relaxed)
}

/// Frees a block [`alloc`] returned for the same `size`.
///
/// # Safety
/// `p` came from [`alloc`] with a size of the same class, and is not used
/// after this call.
#[inline]
unsafe fn dealloc(p: *mut u8, size: usize) {
    let c = class_of(size);
    super::USED.fetch_sub(class_size(size), Ordering::Relaxed);
    ARENA_IN_USE.fetch_sub(class_size(size), Ordering::Relaxed);
    let r = LOCAL.try_with(|l| {
        // SAFETY: as in `alloc`.
        let l = unsafe { &mut *l.0.get() };
        // SAFETY: the caller's contract: `p` is a free slot of class c.
        unsafe { l.cur[c].push(p) };
        if l.cur[c].len == BATCH {
            let full = std::mem::replace(&mut l.cur[c], Chain::EMPTY);
            let old = std::mem::replace(&mut l.spare[c], full);
            if old.len > 0 {
                GLOBAL.with(|g| g.push_chain(c, old));
            }
        }
    });
    if r.is_err() {
        let mut ch = Chain::EMPTY;
        // SAFETY: as above.
        unsafe { ch.push(p) };
        GLOBAL.with(|g| g.push_chain(c, ch));
    }
}

/// Whether a block of `layout` is a slab slot (small enough, and at most
/// the slots' alignment).
#[inline]
fn fits(layout: std::alloc::Layout) -> bool {
    !cfg!(fuzzing) && layout.size() <= MAX_SIZE && layout.align() <= GRANULE && layout.size() > 0
}

/// A block for `layout`: a slab slot when it fits (and the arena has
/// room), else one from the global allocator (null if that fails).
#[inline]
pub fn alloc_block(layout: std::alloc::Layout) -> *mut u8 {
    if fits(layout) {
        let p = alloc(layout.size());
        if !p.is_null() {
            return p;
        }
    }
    // SAFETY: a non-zero-sized layout (a zero-sized one fits nothing
    // here and the global allocator would be asked for it: callers
    // never pass one, their blocks hold a header).
    unsafe { std::alloc::alloc(layout) }
}

/// Frees a block [`alloc_block`] returned.
///
/// # Safety
/// `p` came from `alloc_block(layout)` with this very layout and is not
/// used afterwards.
#[inline]
pub unsafe fn dealloc_block(p: *mut u8, layout: std::alloc::Layout) {
    if fits(layout) && in_arena(p) {
        // SAFETY: the caller's contract; a slot of the arena of this size.
        unsafe { dealloc(p, layout.size()) }
    } else {
        // SAFETY: the caller's contract; not in the arena, so from malloc.
        unsafe { std::alloc::dealloc(p, layout) }
    }
}

/// A dict entry's block: named by a 32-bit handle (see the module doc).
/// `None` when there is no memory for it. `size` is 1..=[`MAX_SIZE`].
#[cfg(not(fuzzing))]
#[inline]
pub fn alloc_entry(size: usize) -> Option<NonZeroU32> {
    assert!(size > 0 && size <= MAX_SIZE, "dict entries are slab slots");
    let p = alloc(size);
    if p.is_null() {
        return None;
    }
    let g = (p as usize - entry_base()) / GRANULE;
    // The arena is at most ARENA_MAX bytes, so g < 2^32; never 0 (the
    // arena's first chunk is not carved).
    NonZeroU32::new(g as u32)
}

/// Frees an entry's block.
///
/// # Safety
/// `h` came from [`alloc_entry`] with this `size`, and neither it nor the
/// block is used afterwards.
#[cfg(not(fuzzing))]
#[inline]
pub unsafe fn dealloc_entry(h: NonZeroU32, size: usize) {
    // SAFETY: the caller's contract: a live slot of this size.
    unsafe { dealloc(entry_ptr(h), size) }
}

/// The block an entry's handle names.
#[cfg(not(fuzzing))]
#[inline]
pub fn entry_ptr(h: NonZeroU32) -> *mut u8 {
    (entry_base() + h.get() as usize * GRANULE) as *mut u8
}

/// Handle 0 names the arena's first byte.
#[cfg(not(fuzzing))]
#[inline]
fn entry_base() -> usize {
    // SAFETY: written once before any handle exists (see ENTRY_BASE).
    unsafe { *ENTRY_BASE.0.get() }
}

/// Under cargo-fuzz an entry is a block of the global allocator and its
/// handle an index into this table of them (the table itself is a
/// global-allocator block LeakSanitizer scans).
#[cfg(fuzzing)]
mod fuzz_handles {
    use std::num::NonZeroU32;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Mutex, OnceLock};

    const SLOTS: usize = 1 << 22;
    static TABLE: OnceLock<Box<[AtomicUsize]>> = OnceLock::new();
    /// Free slots, and the next never-used one.
    static FREE: Mutex<(Vec<u32>, u32)> = Mutex::new((Vec::new(), 1));

    fn table() -> &'static [AtomicUsize] {
        TABLE.get_or_init(|| (0..SLOTS).map(|_| AtomicUsize::new(0)).collect())
    }

    pub fn alloc(size: usize) -> Option<NonZeroU32> {
        let layout = std::alloc::Layout::from_size_align(size, 8).ok()?;
        // SAFETY: a non-zero size (the caller asserts it).
        let p = unsafe { std::alloc::alloc(layout) };
        if p.is_null() {
            return None;
        }
        let mut f = FREE.lock().unwrap_or_else(|e| e.into_inner());
        let h = match f.0.pop() {
            Some(h) => h,
            None => {
                let h = f.1;
                assert!((h as usize) < SLOTS, "fuzz entry table full");
                f.1 += 1;
                h
            }
        };
        table()[h as usize].store(p as usize, Ordering::Release);
        NonZeroU32::new(h)
    }

    pub fn ptr(h: NonZeroU32) -> *mut u8 {
        table()[h.get() as usize].load(Ordering::Acquire) as *mut u8
    }

    /// # Safety
    /// As `super::dealloc_entry`.
    pub unsafe fn dealloc(h: NonZeroU32, size: usize) {
        let p = table()[h.get() as usize].swap(0, Ordering::AcqRel) as *mut u8;
        if let Ok(layout) = std::alloc::Layout::from_size_align(size, 8) {
            // SAFETY: allocated by `alloc` above with this layout.
            unsafe { std::alloc::dealloc(p, layout) };
        }
        FREE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .push(h.get());
    }
}

/// As the non-fuzzing [`alloc_entry`].
#[cfg(fuzzing)]
#[inline]
pub fn alloc_entry(size: usize) -> Option<NonZeroU32> {
    assert!(size > 0 && size <= MAX_SIZE, "dict entries are slab slots");
    fuzz_handles::alloc(size)
}

/// As the non-fuzzing [`dealloc_entry`].
///
/// # Safety
/// As the non-fuzzing one.
#[cfg(fuzzing)]
#[inline]
pub unsafe fn dealloc_entry(h: NonZeroU32, size: usize) {
    // SAFETY: the caller's contract.
    unsafe { fuzz_handles::dealloc(h, size) }
}

/// As the non-fuzzing [`entry_ptr`].
#[cfg(fuzzing)]
#[inline]
pub fn entry_ptr(h: NonZeroU32) -> *mut u8 {
    fuzz_handles::ptr(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_distinct_aligned_and_reused() {
        let mut seen = std::collections::HashSet::new();
        let mut blocks = Vec::new();
        for i in 0..5000usize {
            // Not the last class: `frees_from_another_thread_are_reused`
            // keeps it to itself.
            let size = 1 + i % (MAX_SIZE - GRANULE);
            let p = alloc(size);
            assert_eq!(p as usize % GRANULE, 0);
            // SAFETY: `size` bytes of a fresh block.
            unsafe { ptr::write_bytes(p, (i % 251) as u8, size) };
            assert!(seen.insert(p as usize));
            blocks.push((p, size, (i % 251) as u8));
        }
        for &(p, size, b) in &blocks {
            // SAFETY: blocks are live and were filled above.
            let s = unsafe { std::slice::from_raw_parts(p, size) };
            assert!(s.iter().all(|&x| x == b), "a block was overwritten");
        }
        for &(p, size, _) in &blocks {
            // SAFETY: each block is freed once, with its size.
            unsafe { dealloc(p, size) };
        }
        // Freed slots come back before new memory is carved.
        let p = alloc(48);
        assert!(seen.contains(&(p as usize)));
        // SAFETY: just allocated.
        unsafe { dealloc(p, 48) };
    }

    #[test]
    fn frees_from_another_thread_are_reused() {
        // The last class, which the other tests here leave alone, so their
        // threads do not take the returned chains meanwhile (other tests
        // of the crate rarely make a block of 249 to 256 bytes; the check
        // below asks for one chain of the ten, not all of them).
        const SIZE: usize = MAX_SIZE;
        let ptrs: Vec<usize> = (0..10 * BATCH as usize)
            .map(|_| alloc(SIZE) as usize)
            .collect();
        let set: std::collections::HashSet<usize> = ptrs.iter().copied().collect();
        std::thread::spawn(move || {
            for p in ptrs {
                // SAFETY: blocks from `alloc(SIZE)`, freed once.
                unsafe { dealloc(p as *mut u8, SIZE) };
            }
        })
        .join()
        .unwrap();
        // The other thread's chains went back to the global list (full
        // ones as it freed, the rest when it exited).
        let again: Vec<*mut u8> = (0..10 * BATCH as usize).map(|_| alloc(SIZE)).collect();
        let reused = again
            .iter()
            .filter(|p| set.contains(&(**p as usize)))
            .count();
        assert!(reused >= BATCH as usize, "reused {reused}");
        for p in again {
            // SAFETY: freed once.
            unsafe { dealloc(p, SIZE) };
        }
    }

    #[test]
    fn threads_passing_blocks_keep_their_contents() {
        // Four threads allocate blocks of random sizes, fill them with a
        // pattern, and hand half of them to the next thread, which checks
        // and frees them: no block is ever handed out twice or overwritten.
        use rand::{Rng, SeedableRng};
        let n = 4;
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..n)
            .map(|_| std::sync::mpsc::channel::<(usize, usize, u8)>())
            .unzip();
        let mut rxs: Vec<_> = rxs.into_iter().map(Some).collect();
        let handles: Vec<_> = (0..n)
            .map(|t| {
                let tx = txs[(t + 1) % n].clone();
                let rx = rxs[t].take().unwrap();
                std::thread::spawn(move || {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(t as u64);
                    let check = |(p, size, b): (usize, usize, u8)| {
                        // SAFETY: a live block of `size` bytes filled with b.
                        let s = unsafe { std::slice::from_raw_parts(p as *const u8, size) };
                        assert!(s.iter().all(|&x| x == b), "block corrupted");
                        // SAFETY: freed once, by its last holder.
                        unsafe { dealloc(p as *mut u8, size) };
                    };
                    let mut mine = Vec::new();
                    for i in 0..20_000usize {
                        let size = rng.gen_range(1..=MAX_SIZE - GRANULE);
                        let p = alloc(size);
                        let b = (i % 251) as u8;
                        // SAFETY: a fresh block of `size` bytes.
                        unsafe { ptr::write_bytes(p, b, size) };
                        if rng.gen_bool(0.5) {
                            let _ = tx.send((p as usize, size, b));
                        } else {
                            mine.push((p as usize, size, b));
                        }
                        if mine.len() > 500 {
                            check(mine.swap_remove(rng.gen_range(0..mine.len())));
                        }
                        while let Ok(x) = rx.try_recv() {
                            check(x);
                        }
                    }
                    drop(tx);
                    mine.into_iter().for_each(check);
                    rx
                })
            })
            .collect();
        drop(txs);
        let rxs: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        for rx in rxs {
            for (p, size, b) in rx.try_iter() {
                // SAFETY: as in `check`.
                let s = unsafe { std::slice::from_raw_parts(p as *const u8, size) };
                assert!(s.iter().all(|&x| x == b));
                // SAFETY: freed once.
                unsafe { dealloc(p as *mut u8, size) };
            }
        }
    }
}
