//! `ds::dict_entry` — the entry of a [`super::dict::Dict`]: one slab block
//! holding the chain link, a word with the key's length and flags (and,
//! for dicts with `M = true`, a 24-bit meta word), the value, the key's
//! bytes and an optional 8-byte extra (the keyspace keeps a key's LRU/LFU
//! stamp in the meta bits and its expire time in the extra),
//!
//! ```text
//! [ next: 4 ][ word: 4 ][ val: size_of::<V>() ][ key bytes ... ][ extra: 8 ]?
//! word = meta << 8 (M only) | HAS_EXTRA 0x80 | klen 0..=126, or 127: long key
//! ```
//!
//! so a key costs no allocation of its own (Redis's dictEntry points to a
//! separate sds key), and an expire time no second entry. Links are
//! 32-bit handles of slab blocks (`alloc::slab::alloc_entry`: the block's
//! 8-byte granule in the slab's arena), so a bucket and a chain link take
//! 4 bytes: the keyspace stores a 16-byte value, so `next + word + value`
//! is 24 bytes and a 16-byte key makes 40 (48 with an expire time), exact
//! 8-byte slab classes with no header. A key longer than 126 bytes is a
//! separate allocation the entry points to (`[len: 8][pointer: 8]` in
//! place of the bytes). The extra is stored unaligned right after the key
//! (or that reference); adding or removing it reallocates the entry.
//! `Entry` is an owning handle (4 bytes, 0 = `None` in an `Option<Entry>`:
//! a zeroed bucket array is all empty). Everything unsafe about the
//! layout lives here; the dict sees `next`, `val`, `meta` and `key()`
//! accessors.

use crate::alloc::slab;
use std::alloc::{handle_alloc_error, Layout};
use std::marker::PhantomData;
use std::mem;
use std::num::NonZeroU32;
use std::ptr;

/// The fixed-size head of an entry; the key's bytes follow it in the same
/// block.
#[repr(C)]
struct Node<V, const M: bool> {
    next: Link<V, M>,
    word: u32,
    val: V,
}

/// A bucket or a chain link: `None` when empty.
pub(super) type Link<V, const M: bool> = Option<Entry<V, M>>;

/// An owned dict entry (see the module doc). `repr(transparent)` around a
/// `NonZeroU32` handle, so `Option<Entry<V>>` is 4 bytes and all-zero
/// bits are `None`.
#[repr(transparent)]
pub(super) struct Entry<V, const M: bool> {
    h: NonZeroU32,
    _owns: PhantomData<Node<V, M>>,
}

// SAFETY: an Entry owns its block exclusively (like Box<Node<V>>); sending
// it sends the value. The slab's blocks are valid on every thread.
unsafe impl<V: Send, const M: bool> Send for Entry<V, M> {}
// SAFETY: &Entry only gives out &V and the immutable key bytes.
unsafe impl<V: Sync, const M: bool> Sync for Entry<V, M> {}

/// The word's key length bits; [`LONG`] there means the key is elsewhere.
const KLEN_MASK: u32 = 0x7f;
const LONG: u32 = KLEN_MASK;
/// The longest key kept in the entry itself.
const INLINE_MAX: usize = LONG as usize - 1;
/// The word's bit saying an 8-byte extra follows the key.
const HAS_EXTRA: u32 = 0x80;
/// Where the meta bits start (`M` only): 24 of them.
const META_SHIFT: u32 = 8;
/// The largest meta value.
pub const META_MAX: u32 = (1 << 24) - 1;
const EXTRA: usize = mem::size_of::<u64>();
/// A long key's reference: its length and the pointer to its bytes.
const LONG_REF: usize = 2 * mem::size_of::<u64>();

/// The meta bits of one entry, writable (see `Dict::get_mut_meta`): a
/// view of the entry's word that leaves the key length and flags alone.
pub struct MetaMut<'a>(&'a mut u32);

impl MetaMut<'_> {
    /// The meta value (24 bits).
    #[inline]
    pub fn get(&self) -> u32 {
        *self.0 >> META_SHIFT
    }

    /// Sets the meta value (its low 24 bits).
    #[inline]
    pub fn set(&mut self, meta: u32) {
        *self.0 = (*self.0 & 0xff) | ((meta & META_MAX) << META_SHIFT);
    }

    /// Runs `f` on the meta value and stores the result only if it
    /// changed (an unchanged stamp leaves the entry's cache line clean).
    #[inline]
    pub fn update(&mut self, f: impl FnOnce(&mut u32)) {
        let old = self.get();
        let mut m = old;
        f(&mut m);
        if m != old {
            self.set(m);
        }
    }
}

impl<V, const M: bool> Entry<V, M> {
    /// Offset of the key's first byte: right after the head.
    const KEY_OFF: usize = mem::size_of::<Node<V, M>>();
    /// The slab's slots are 8-byte aligned: no value may need more; and
    /// the longest entry (an inline key of INLINE_MAX bytes and the extra)
    /// must be a slab slot.
    const ALIGN_OK: () = assert!(
        mem::align_of::<Node<V, M>>() <= slab::GRANULE
            && mem::size_of::<Node<V, M>>() + INLINE_MAX + EXTRA <= slab::MAX_SIZE
    );

    /// The bytes the key takes in the entry: itself, or the reference to
    /// a long key.
    #[inline]
    fn key_room(klen: usize) -> usize {
        if klen > INLINE_MAX {
            LONG_REF
        } else {
            klen
        }
    }

    /// The entry's block size for a `klen`-byte key, with the extra or not.
    #[inline]
    fn size(klen: usize, extra: bool) -> usize {
        Self::KEY_OFF + Self::key_room(klen) + if extra { EXTRA } else { 0 }
    }

    /// Bytes an entry with a `klen`-byte key allocates, a long key's own
    /// block included (what used_memory counts for it).
    #[inline]
    pub(super) fn alloc_size(klen: usize) -> usize {
        Self::size(klen, false) + if klen > INLINE_MAX { klen } else { 0 }
    }

    /// A new entry holding a copy of `key`, `val` and `next`.
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

    /// A block of `size` bytes from the slab (aborting when memory runs
    /// out, as a failed allocation does).
    #[inline]
    fn alloc(size: usize) -> NonZeroU32 {
        let () = Self::ALIGN_OK;
        match slab::alloc_entry(size) {
            Some(h) => h,
            None => handle_alloc_error(
                Layout::from_size_align(size, slab::GRANULE).unwrap_or(Layout::new::<u64>()),
            ),
        }
    }

    /// [`Entry::with_extra`] with the meta value (ignored unless `M`).
    /// Always inlined: as a call it cost the keyspace's insert about 25
    /// instructions of saved registers (callgrind, SET).
    #[inline(always)]
    pub(super) fn with_meta(
        key: &[u8],
        val: V,
        next: Link<V, M>,
        extra: Option<u64>,
        meta: u32,
    ) -> Entry<V, M> {
        let long = key.len() > INLINE_MAX;
        let h = Self::alloc(Self::size(key.len(), extra.is_some()));
        let mut word = if long { LONG } else { key.len() as u32 };
        if extra.is_some() {
            word |= HAS_EXTRA;
        }
        if M {
            word |= (meta & META_MAX) << META_SHIFT;
        }
        let p = slab::entry_ptr(h);
        // SAFETY: the block holds `size` bytes, 8-aligned (the slab's
        // granule, at least the head's alignment: ALIGN_OK). Every part is
        // written before the entry is used: the head with ptr::write, then
        // the key bytes (or a long key's reference) and the extra, all
        // inside the block (KEY_OFF + key_room + extra bytes).
        unsafe {
            ptr::write(p as *mut Node<V, M>, Node { next, word, val });
            let k = p.add(Self::KEY_OFF);
            if long {
                let bytes = Box::into_raw(key.to_vec().into_boxed_slice()) as *mut u8;
                (k as *mut u64).write_unaligned(key.len() as u64);
                (k.add(8) as *mut u64).write_unaligned(bytes as u64);
            } else {
                ptr::copy_nonoverlapping(key.as_ptr(), k, key.len());
            }
            if let Some(x) = extra {
                (k.add(Self::key_room(key.len())) as *mut u64).write_unaligned(x);
            }
        }
        Entry {
            h,
            _owns: PhantomData,
        }
    }

    #[inline]
    fn node(&self) -> *mut Node<V, M> {
        slab::entry_ptr(self.h) as *mut Node<V, M>
    }

    /// The word: key length, flags, meta.
    #[inline]
    fn word(&self) -> u32 {
        // SAFETY: the head is initialised and owned by self.
        unsafe { (*self.node()).word }
    }

    #[inline]
    fn is_long(&self) -> bool {
        self.word() & KLEN_MASK == LONG
    }

    #[inline]
    fn key_ptr(&self) -> *mut u8 {
        // SAFETY: KEY_OFF is inside the block (its head's end).
        unsafe { (self.node() as *mut u8).add(Self::KEY_OFF) }
    }

    /// A long key's length and bytes.
    #[inline]
    fn long_key(&self) -> (usize, *mut u8) {
        let k = self.key_ptr();
        // SAFETY: a long entry holds its key's reference (16 bytes) at
        // KEY_OFF, written by `with_meta`.
        unsafe {
            (
                (k as *const u64).read_unaligned() as usize,
                (k.add(8) as *const u64).read_unaligned() as *mut u8,
            )
        }
    }

    #[inline]
    fn klen(&self) -> usize {
        if self.is_long() {
            self.long_key().0
        } else {
            (self.word() & KLEN_MASK) as usize
        }
    }

    #[inline]
    fn has_extra(&self) -> bool {
        self.word() & HAS_EXTRA != 0
    }

    /// The block's size (as allocated).
    #[inline]
    fn own_size(&self) -> usize {
        Self::size(self.klen(), self.has_extra())
    }

    /// The extra's address (meaningful only with HAS_EXTRA).
    #[inline]
    fn extra_ptr(&self) -> *mut u8 {
        // SAFETY: the extra follows the key room, inside the block when
        // HAS_EXTRA is set (callers check it before reading).
        unsafe { self.key_ptr().add(Self::key_room(self.klen())) }
    }

    /// The extra, if the entry has one.
    #[inline]
    pub(super) fn extra(&self) -> Option<u64> {
        if !self.has_extra() {
            return None;
        }
        // SAFETY: with HAS_EXTRA set, 8 bytes after the key room are
        // inside the block and were written by `with_meta` or `set_extra`.
        Some(unsafe { (self.extra_ptr() as *const u64).read_unaligned() })
    }

    /// Sets or removes the extra; returns the previous one. Overwrites it
    /// in place when the entry has one, otherwise reallocates: the entry
    /// may move, so whatever links to it must be `&mut` to this very
    /// `Entry` (the dict calls this on the link itself).
    pub(super) fn set_extra(&mut self, extra: Option<u64>) -> Option<u64> {
        let old = self.extra();
        match (old.is_some(), extra) {
            (true, Some(x)) => {
                // SAFETY: as in `extra`: the 8 bytes are ours.
                unsafe { (self.extra_ptr() as *mut u64).write_unaligned(x) };
            }
            (false, None) => {}
            (had, _) => {
                let klen = self.klen();
                let old_size = Self::size(klen, had);
                let new_size = Self::size(klen, extra.is_some());
                let h = Self::alloc(new_size);
                // SAFETY: the new block gets the old one's head and key
                // room (KEY_OFF + key_room bytes, in both): the head is
                // moved, not duplicated, as the old block is freed without
                // dropping anything; a long key's bytes stay where they
                // are, owned by the new block's reference. Then the old
                // block is freed with its size, and the word and the extra
                // are rewritten to match the new block.
                unsafe {
                    let p = slab::entry_ptr(h);
                    let old_p = self.node() as *mut u8;
                    ptr::copy_nonoverlapping(old_p, p, old_size.min(new_size));
                    slab::dealloc_entry(self.h, old_size);
                    self.h = h;
                    let node = self.node();
                    (*node).word =
                        ((*node).word & !HAS_EXTRA) | if extra.is_some() { HAS_EXTRA } else { 0 };
                    if let Some(x) = extra {
                        (self.extra_ptr() as *mut u64).write_unaligned(x);
                    }
                }
            }
        }
        old
    }

    /// The meta value (0 unless `M`).
    #[inline]
    pub(super) fn meta(&self) -> u32 {
        if !M {
            return 0;
        }
        self.word() >> META_SHIFT
    }

    /// Sets the meta value (its low 24 bits; nothing unless `M`).
    #[inline]
    pub(super) fn set_meta(&mut self, meta: u32) {
        if M {
            // SAFETY: the head is ours, exclusively through &mut self.
            MetaMut(unsafe { &mut (*self.node()).word }).set(meta);
        }
    }

    /// The value and the meta bits, both mutable (disjoint parts).
    #[inline]
    pub(super) fn val_meta_mut(&mut self) -> (&mut V, MetaMut<'_>) {
        assert!(M, "a dict without meta words");
        let p = self.node();
        // SAFETY: the value and the word are distinct fields of the head,
        // which lives as long as &mut self.
        unsafe { (&mut (*p).val, MetaMut(&mut (*p).word)) }
    }

    /// The key's bytes.
    #[inline]
    pub(super) fn key(&self) -> &[u8] {
        let n = self.node();
        // SAFETY: the head is initialised; the key bytes (or a long key's
        // reference) follow it at KEY_OFF. `len` initialised bytes at `p`
        // (in the block, or the long key's own block) are never written
        // after creation and live as long as `self`.
        unsafe {
            let k = (n as *const u8).add(Self::KEY_OFF);
            let klen = (*n).word & KLEN_MASK;
            let (p, len) = if klen == LONG {
                (
                    (k.add(8) as *const u64).read_unaligned() as *const u8,
                    (k as *const u64).read_unaligned() as usize,
                )
            } else {
                (k, klen as usize)
            };
            std::slice::from_raw_parts(p, len)
        }
    }

    /// Whether the key is `key`: the lengths first, from the word, so a
    /// chain walk past other keys reads no key bytes.
    #[inline]
    pub(super) fn key_is(&self, key: &[u8]) -> bool {
        let n = self.node();
        // SAFETY: the head is initialised; an inline key's `klen` bytes
        // follow it at KEY_OFF (a long key goes through `key`).
        unsafe {
            let klen = (*n).word & KLEN_MASK;
            if klen as usize == key.len() && klen != LONG {
                let k = (n as *const u8).add(Self::KEY_OFF);
                std::slice::from_raw_parts(k, key.len()) == key
            } else {
                klen == LONG && self.key() == key
            }
        }
    }

    #[inline]
    pub(super) fn next(&self) -> &Link<V, M> {
        // SAFETY: the head is initialised and owned by self.
        unsafe { &(*self.node()).next }
    }

    #[inline]
    pub(super) fn next_mut(&mut self) -> &mut Link<V, M> {
        // SAFETY: as `next`, with exclusive access through &mut self.
        unsafe { &mut (*self.node()).next }
    }

    #[inline]
    pub(super) fn val(&self) -> &V {
        // SAFETY: the head is initialised and owned by self.
        unsafe { &(*self.node()).val }
    }

    #[inline]
    pub(super) fn val_mut(&mut self) -> &mut V {
        // SAFETY: as `val`, with exclusive access through &mut self.
        unsafe { &mut (*self.node()).val }
    }

    /// The key and the value, the value mutable.
    #[inline]
    pub(super) fn key_val_mut(&mut self) -> (&[u8], &mut V) {
        let key = self.key() as *const [u8];
        // SAFETY: the key bytes (after the head, or in the long key's own
        // block) and the value (inside the head) do not overlap, so a
        // shared borrow of one and a unique borrow of the other can
        // coexist; both live as long as &mut self.
        unsafe { (&*key, &mut (*self.node()).val) }
    }

    /// The link, the key and the value (disjoint borrows, for IterMut).
    #[inline]
    pub(super) fn parts_mut(&mut self) -> (&mut Link<V, M>, &[u8], &mut V) {
        let key = self.key() as *const [u8];
        let p = self.node();
        // SAFETY: `next`, `val` and the key bytes are three disjoint parts
        // of the blocks owned by self.
        unsafe { (&mut (*p).next, &*key, &mut (*p).val) }
    }

    /// Frees a long key's own block (the entry is being freed).
    ///
    /// # Safety
    /// Called once, as the entry's block is freed; the key is not read
    /// afterwards.
    #[inline]
    unsafe fn free_long_key(&self) {
        if self.is_long() {
            let (len, p) = self.long_key();
            // SAFETY: the block `with_meta` made from a boxed slice of
            // `len` bytes, freed once (the caller's contract).
            drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, len)) });
        }
    }

    /// Frees the entry, returning its value; the key is handed to `key`
    /// first (to copy it out, or not). The entry's `next` must have been
    /// taken (it is dropped otherwise).
    #[inline]
    pub(super) fn into_val_with<R>(self, key: impl FnOnce(&[u8]) -> R) -> (R, V) {
        let k = key(self.key());
        let size = self.own_size();
        let h = self.h;
        let p = self.node();
        // SAFETY: `p` is the live block `self` owned (forgotten below, so
        // it is freed exactly once, here): the long key's block is freed,
        // the head read out by value and the block released with its size.
        unsafe {
            self.free_long_key();
            mem::forget(self);
            let Node { next, val, .. } = ptr::read(p);
            drop(next);
            slab::dealloc_entry(h, size);
            (k, val)
        }
    }
}

impl<V, const M: bool> Drop for Entry<V, M> {
    fn drop(&mut self) {
        let size = self.own_size();
        let p = self.node();
        // SAFETY: the head is initialised; it is dropped in place once
        // (dropping `next` recurses along a chain, which the dict avoids by
        // taking `next` first: see `drop_chain`), the long key's block
        // freed, then the block freed with its size.
        unsafe {
            self.free_long_key();
            ptr::drop_in_place(p);
            slab::dealloc_entry(self.h, size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type E = Entry<[u64; 2], true>;

    #[test]
    fn links_are_four_bytes_and_the_keyspace_head_is_24() {
        assert_eq!(mem::size_of::<Link<[u64; 2], true>>(), 4);
        assert_eq!(E::KEY_OFF, 24);
        assert_eq!(E::size(16, false), 40);
        assert_eq!(E::size(16, true), 48);
        assert_eq!(Entry::<(), false>::KEY_OFF, 8);
    }

    #[test]
    fn keys_of_every_length_keep_their_bytes_meta_and_extra() {
        for len in [0usize, 1, 16, 125, 126, 127, 128, 300, 70_000] {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let mut e = E::with_meta(&key, [len as u64, 9], None, None, META_MAX);
            assert_eq!(e.key(), &key[..], "len {len}");
            assert_eq!(e.meta(), META_MAX);
            assert_eq!(e.extra(), None);
            e.set_extra(Some(u64::MAX - 1));
            assert_eq!(e.key(), &key[..]);
            assert_eq!(e.extra(), Some(u64::MAX - 1));
            assert_eq!(e.meta(), META_MAX);
            {
                let (v, mut m) = e.val_meta_mut();
                v[1] = 10;
                m.set(5);
                m.update(|x| *x += 1);
            }
            assert_eq!(e.meta(), 6);
            assert_eq!(e.extra(), Some(u64::MAX - 1));
            assert_eq!(e.set_extra(None), Some(u64::MAX - 1));
            assert_eq!(e.extra(), None);
            assert_eq!(e.key(), &key[..]);
            let (k, v) = e.into_val_with(|k| k.to_vec());
            assert_eq!(k, key);
            assert_eq!(v, [len as u64, 10]);
        }
    }

    #[test]
    fn chains_drop_every_entry_and_value() {
        use std::rc::Rc;
        let live = Rc::new(());
        let mut head: Link<Rc<()>, false> = None;
        for i in 0..100u32 {
            let key = vec![b'k'; (i as usize * 3) % 200];
            head = Some(Entry::new(&key, Rc::clone(&live), head));
        }
        assert_eq!(Rc::strong_count(&live), 101);
        // Unlinked one by one, as the dict's drop_chain does.
        while let Some(mut e) = head {
            head = e.next_mut().take();
        }
        assert_eq!(Rc::strong_count(&live), 1);
    }
}
