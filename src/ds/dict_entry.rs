//! `ds::dict_entry` — the entry of a [`super::dict::Dict`]: one heap
//! allocation holding the chain link, the value, the key's bytes, for
//! dicts with `M = true` a 32-bit meta word, and an optional 8-byte extra
//! (the keyspace keeps a key's LRU/LFU stamp in the meta word and its
//! expire time in the extra),
//!
//! ```text
//! [ next: 8 ][ val: size_of::<V>() ][ klen: u32 ][ meta: u32 ]?M [ key bytes ... ][ extra: 8 ]?
//! ```
//!
//! so a key costs no allocation of its own (Redis's dictEntry points to a
//! separate sds key), and an expire time no second entry. The meta word
//! sits in what would otherwise be the value's tail padding: the keyspace
//! stores a 16-byte value, so `next + value + klen + meta` is 32 bytes
//! and a 16-byte key makes 48 (56 with an expire time). Entries of up to
//! 256 bytes come from `alloc::slab`, which serves exact 8-byte size
//! classes with no header, so those 48 and 56 bytes are all they take
//! (malloc made both a 64-byte chunk). The top bit of
//! `klen` says whether the extra is there; it is stored unaligned right
//! after the key, and adding or removing it reallocates the entry. `Entry` is an owning thin pointer (8 bytes, null =
//! `None` in an `Option<Entry>`: a bucket is one word and a zeroed bucket
//! array is all empty). Everything unsafe about the layout lives here; the
//! dict sees `next`, `val`, `meta` and `key()` accessors.

use crate::alloc::slab;
use std::alloc::{handle_alloc_error, Layout};
use std::marker::PhantomData;
use std::mem;
use std::ptr::{self, NonNull};

/// The fixed-size head of an entry; the key's length and bytes follow it
/// in the same allocation.
#[repr(C)]
struct Node<V, const M: bool> {
    next: Link<V, M>,
    val: V,
}

/// A bucket or a chain link: null when empty.
pub(super) type Link<V, const M: bool> = Option<Entry<V, M>>;

/// An owned dict entry (see the module doc). `repr(transparent)` around a
/// `NonNull`, so `Option<Entry<V>>` is one pointer and all-zero bits are
/// `None` (the null-pointer optimisation `std::option` guarantees).
#[repr(transparent)]
pub(super) struct Entry<V, const M: bool> {
    ptr: NonNull<Node<V, M>>,
    _owns: PhantomData<Node<V, M>>,
}

// SAFETY: an Entry owns its allocation exclusively (like Box<Node<V>>);
// sending it sends the value.
unsafe impl<V: Send, const M: bool> Send for Entry<V, M> {}
// SAFETY: &Entry only gives out &V and the immutable key bytes.
unsafe impl<V: Sync, const M: bool> Sync for Entry<V, M> {}

/// `klen`'s top bit: an 8-byte extra follows the key.
const HAS_EXTRA: u32 = 1 << 31;
/// Longest key an entry holds (the protocol caps keys far below it).
const MAX_KLEN: usize = (HAS_EXTRA - 1) as usize;
const EXTRA: usize = mem::size_of::<u64>();

impl<V, const M: bool> Entry<V, M> {
    /// Offset of the `u32` key length: right after the head (a multiple of
    /// the head's alignment, at least 8 because of `next`).
    const KLEN_OFF: usize = mem::size_of::<Node<V, M>>();
    /// Offset of the meta word (`M` only): right after the length, so
    /// 4-byte aligned.
    const META_OFF: usize = Self::KLEN_OFF + mem::size_of::<u32>();
    /// Offset of the key's first byte.
    const KEY_OFF: usize = Self::META_OFF + if M { mem::size_of::<u32>() } else { 0 };

    /// Allocates a block for `layout` (aborting when memory runs out):
    /// entries of up to `slab::MAX_SIZE` bytes are slab slots, without
    /// malloc's header and rounding.
    #[inline]
    fn raw_alloc(layout: Layout) -> NonNull<Node<V, M>> {
        match NonNull::new(slab::alloc_block(layout) as *mut Node<V, M>) {
            Some(nn) => nn,
            None => handle_alloc_error(layout),
        }
    }

    /// Frees a block [`Self::raw_alloc`] returned for `layout`.
    ///
    /// # Safety
    /// `p` came from `raw_alloc(layout)` and is not used afterwards.
    #[inline]
    unsafe fn raw_dealloc(p: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract (raw_alloc used alloc_block).
        unsafe { slab::dealloc_block(p, layout) }
    }

    /// Bytes an entry with a `klen`-byte key allocates (what used_memory
    /// counts for it).
    #[inline]
    pub(super) fn alloc_size(klen: usize) -> usize {
        Self::KEY_OFF + klen
    }

    /// The layout of an entry with a `klen`-byte key, and the extra if
    /// `extra`.
    #[inline]
    fn layout(klen: usize, extra: bool) -> Layout {
        let size = Self::KEY_OFF + klen + if extra { EXTRA } else { 0 };
        match Layout::from_size_align(size, mem::align_of::<Node<V, M>>()) {
            Ok(l) => l,
            Err(_) => handle_alloc_error(Layout::new::<Node<V, M>>()),
        }
    }

    /// A new entry holding a copy of `key` (at most 2^31 - 1 bytes; the
    /// protocol caps keys far below that), `val` and `next`.
    #[inline]
    pub(super) fn new(key: &[u8], val: V, next: Link<V, M>) -> Entry<V, M> {
        Self::with_extra(key, val, next, None)
    }

    /// [`Entry::new`] with the optional extra.
    #[inline]
    pub(super) fn with_extra(
        key: &[u8],
        val: V,
        next: Link<V, M>,
        extra: Option<u64>,
    ) -> Entry<V, M> {
        Self::with_meta(key, val, next, extra, 0)
    }

    /// [`Entry::with_extra`] with the meta word (ignored unless `M`).
    #[inline]
    pub(super) fn with_meta(
        key: &[u8],
        val: V,
        next: Link<V, M>,
        extra: Option<u64>,
        meta: u32,
    ) -> Entry<V, M> {
        let key = &key[..key.len().min(MAX_KLEN)];
        let layout = Self::layout(key.len(), extra.is_some());
        // SAFETY: the layout is non-zero-sized (it holds at least the head
        // and the length). Every part is written before the entry is used:
        // the head with ptr::write, the length and the key bytes after it,
        // all inside the allocation (KEY_OFF + len bytes).
        unsafe {
            let nn = Self::raw_alloc(layout);
            let p = nn.as_ptr() as *mut u8;
            ptr::write(nn.as_ptr(), Node { next, val });
            let flag = if extra.is_some() { HAS_EXTRA } else { 0 };
            (p.add(Self::KLEN_OFF) as *mut u32).write(key.len() as u32 | flag);
            if M {
                (p.add(Self::META_OFF) as *mut u32).write(meta);
            }
            ptr::copy_nonoverlapping(key.as_ptr(), p.add(Self::KEY_OFF), key.len());
            if let Some(x) = extra {
                (p.add(Self::KEY_OFF + key.len()) as *mut u64).write_unaligned(x);
            }
            Entry {
                ptr: nn,
                _owns: PhantomData,
            }
        }
    }

    /// The raw length word: key length and the HAS_EXTRA bit.
    #[inline]
    fn klen_word(&self) -> u32 {
        // SAFETY: written by `with_extra`; KLEN_OFF is a multiple of 8, so
        // the u32 is aligned.
        unsafe { ((self.ptr.as_ptr() as *const u8).add(Self::KLEN_OFF) as *const u32).read() }
    }

    #[inline]
    fn klen(&self) -> usize {
        (self.klen_word() & !HAS_EXTRA) as usize
    }

    #[inline]
    fn has_extra(&self) -> bool {
        self.klen_word() & HAS_EXTRA != 0
    }

    /// This entry's layout (as allocated).
    #[inline]
    fn own_layout(&self) -> Layout {
        Self::layout(self.klen(), self.has_extra())
    }

    /// The extra, if the entry has one.
    #[inline]
    pub(super) fn extra(&self) -> Option<u64> {
        if !self.has_extra() {
            return None;
        }
        // SAFETY: with HAS_EXTRA set, 8 bytes after the key are inside the
        // allocation and were written by `with_extra` or `set_extra`.
        Some(unsafe {
            ((self.ptr.as_ptr() as *const u8).add(Self::KEY_OFF + self.klen()) as *const u64)
                .read_unaligned()
        })
    }

    /// Sets or removes the extra; returns the previous one. Overwrites it
    /// in place when the entry has one, otherwise reallocates: the entry
    /// may move, so whatever links to it must be `&mut` to this very
    /// `Entry` (the dict calls this on the link itself).
    pub(super) fn set_extra(&mut self, extra: Option<u64>) -> Option<u64> {
        let old = self.extra();
        let klen = self.klen();
        match (old.is_some(), extra) {
            (true, Some(x)) => {
                // SAFETY: as in `extra`: the 8 bytes are ours.
                unsafe {
                    ((self.ptr.as_ptr() as *mut u8).add(Self::KEY_OFF + klen) as *mut u64)
                        .write_unaligned(x)
                };
            }
            (false, None) => {}
            (had, _) => {
                let old_layout = Self::layout(klen, had);
                let new_layout = Self::layout(klen, extra.is_some());
                // SAFETY: the new block gets the old one's first
                // min(old, new) bytes (head, length word, meta word, key:
                // the head is moved, not duplicated, as the old block is
                // freed without dropping anything), then the old block is
                // freed with the layout it was allocated with. Afterwards
                // the length word and the extra are rewritten to match the
                // new size.
                unsafe {
                    let nn = Self::raw_alloc(new_layout);
                    let p = nn.as_ptr() as *mut u8;
                    let old = self.ptr.as_ptr() as *mut u8;
                    ptr::copy_nonoverlapping(old, p, old_layout.size().min(new_layout.size()));
                    Self::raw_dealloc(old, old_layout);
                    self.ptr = nn;
                    let flag = if extra.is_some() { HAS_EXTRA } else { 0 };
                    (p.add(Self::KLEN_OFF) as *mut u32).write(klen as u32 | flag);
                    if let Some(x) = extra {
                        (p.add(Self::KEY_OFF + klen) as *mut u64).write_unaligned(x);
                    }
                }
            }
        }
        old
    }

    /// The meta word (0 unless `M`).
    #[inline]
    pub(super) fn meta(&self) -> u32 {
        if !M {
            return 0;
        }
        // SAFETY: with M, META_OFF (KLEN_OFF + 4: 4-byte aligned) holds a
        // u32 written by `with_meta` or `set_meta`.
        unsafe { ((self.ptr.as_ptr() as *const u8).add(Self::META_OFF) as *const u32).read() }
    }

    /// Sets the meta word (nothing unless `M`).
    #[inline]
    pub(super) fn set_meta(&mut self, meta: u32) {
        if M {
            // SAFETY: as in `meta`, with exclusive access through &mut self.
            unsafe { ((self.ptr.as_ptr() as *mut u8).add(Self::META_OFF) as *mut u32).write(meta) }
        }
    }

    /// The value and the meta word, both mutable (disjoint parts).
    #[inline]
    pub(super) fn val_meta_mut(&mut self) -> (&mut V, &mut u32) {
        assert!(M, "a dict without meta words");
        let p = self.ptr.as_ptr();
        // SAFETY: the value (inside the head) and the meta word (after the
        // head and the length) do not overlap; with M the word is inside
        // the allocation and aligned; both live as long as &mut self.
        unsafe {
            (
                &mut (*p).val,
                &mut *((p as *mut u8).add(Self::META_OFF) as *mut u32),
            )
        }
    }

    /// The key's bytes.
    #[inline]
    pub(super) fn key(&self) -> &[u8] {
        // SAFETY: `klen` initialised bytes follow KEY_OFF (see `new`); they
        // are never written after creation and live as long as `self`.
        unsafe {
            std::slice::from_raw_parts(
                (self.ptr.as_ptr() as *const u8).add(Self::KEY_OFF),
                self.klen(),
            )
        }
    }

    #[inline]
    pub(super) fn next(&self) -> &Link<V, M> {
        // SAFETY: the head is initialised and owned by self.
        unsafe { &(*self.ptr.as_ptr()).next }
    }

    #[inline]
    pub(super) fn next_mut(&mut self) -> &mut Link<V, M> {
        // SAFETY: as `next`, with exclusive access through &mut self.
        unsafe { &mut (*self.ptr.as_ptr()).next }
    }

    #[inline]
    pub(super) fn val(&self) -> &V {
        // SAFETY: the head is initialised and owned by self.
        unsafe { &(*self.ptr.as_ptr()).val }
    }

    #[inline]
    pub(super) fn val_mut(&mut self) -> &mut V {
        // SAFETY: as `val`, with exclusive access through &mut self.
        unsafe { &mut (*self.ptr.as_ptr()).val }
    }

    /// The key and the value, the value mutable.
    #[inline]
    pub(super) fn key_val_mut(&mut self) -> (&[u8], &mut V) {
        let p = self.ptr.as_ptr();
        // SAFETY: the key bytes (after KEY_OFF) and the value (inside the
        // head) do not overlap, so a shared borrow of one and a unique
        // borrow of the other can coexist; both live as long as &mut self.
        unsafe {
            let key = std::slice::from_raw_parts((p as *const u8).add(Self::KEY_OFF), self.klen());
            (key, &mut (*p).val)
        }
    }

    /// The link, the key and the value (disjoint borrows, for IterMut).
    #[inline]
    pub(super) fn parts_mut(&mut self) -> (&mut Link<V, M>, &[u8], &mut V) {
        let p = self.ptr.as_ptr();
        // SAFETY: `next`, `val` and the key bytes are three disjoint parts
        // of the allocation owned by self.
        unsafe {
            let key = std::slice::from_raw_parts((p as *const u8).add(Self::KEY_OFF), self.klen());
            (&mut (*p).next, key, &mut (*p).val)
        }
    }

    /// Frees the entry, returning its value; the key is handed to `key`
    /// first (to copy it out, or not). The entry's `next` must have been
    /// taken (it is dropped otherwise).
    #[inline]
    pub(super) fn into_val_with<R>(self, key: impl FnOnce(&[u8]) -> R) -> (R, V) {
        let k = key(self.key());
        let layout = self.own_layout();
        let p = self.ptr.as_ptr();
        mem::forget(self);
        // SAFETY: `p` is the live allocation `self` owned (forgotten above,
        // so it is freed exactly once, here): the head is read out by value
        // and the memory released with the layout it was allocated with.
        unsafe {
            let Node { next, val } = ptr::read(p);
            drop(next);
            Self::raw_dealloc(p as *mut u8, layout);
            (k, val)
        }
    }
}

impl<V, const M: bool> Drop for Entry<V, M> {
    fn drop(&mut self) {
        let layout = self.own_layout();
        let p = self.ptr.as_ptr();
        // SAFETY: the head is initialised; it is dropped in place once
        // (dropping `next` recurses along a chain, which the dict avoids by
        // taking `next` first: see `drop_chain`), then the allocation is
        // freed with its layout.
        unsafe {
            ptr::drop_in_place(p);
            Self::raw_dealloc(p as *mut u8, layout);
        }
    }
}
