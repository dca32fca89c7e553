//! `ds::dict_entry` — the entry of a [`super::dict::Dict`]: one heap
//! allocation holding the chain link, the value and the key's bytes,
//!
//! ```text
//! [ next: 8 ][ val: size_of::<V>() ][ klen: u32 ][ key bytes ... ]
//! ```
//!
//! so a key costs no allocation of its own (Redis's dictEntry points to a
//! separate sds key). `Entry` is an owning thin pointer (8 bytes, null =
//! `None` in an `Option<Entry>`: a bucket is one word and a zeroed bucket
//! array is all empty). Everything unsafe about the layout lives here; the
//! dict sees `next`, `val` and `key()` accessors.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::marker::PhantomData;
use std::mem;
use std::ptr::{self, NonNull};

/// The fixed-size head of an entry; the key's length and bytes follow it
/// in the same allocation.
#[repr(C)]
struct Node<V> {
    next: Link<V>,
    val: V,
}

/// A bucket or a chain link: null when empty.
pub(super) type Link<V> = Option<Entry<V>>;

/// An owned dict entry (see the module doc). `repr(transparent)` around a
/// `NonNull`, so `Option<Entry<V>>` is one pointer and all-zero bits are
/// `None` (the null-pointer optimisation `std::option` guarantees).
#[repr(transparent)]
pub(super) struct Entry<V> {
    ptr: NonNull<Node<V>>,
    _owns: PhantomData<Node<V>>,
}

// SAFETY: an Entry owns its allocation exclusively (like Box<Node<V>>);
// sending it sends the value.
unsafe impl<V: Send> Send for Entry<V> {}
// SAFETY: &Entry only gives out &V and the immutable key bytes.
unsafe impl<V: Sync> Sync for Entry<V> {}

impl<V> Entry<V> {
    /// Offset of the `u32` key length: right after the head (a multiple of
    /// the head's alignment, at least 8 because of `next`).
    const KLEN_OFF: usize = mem::size_of::<Node<V>>();
    /// Offset of the key's first byte.
    const KEY_OFF: usize = Self::KLEN_OFF + mem::size_of::<u32>();

    /// Bytes an entry with a `klen`-byte key allocates (what used_memory
    /// counts for it).
    #[inline]
    pub(super) fn alloc_size(klen: usize) -> usize {
        Self::KEY_OFF + klen
    }

    #[inline]
    fn layout(klen: usize) -> Layout {
        match Layout::from_size_align(Self::KEY_OFF + klen, mem::align_of::<Node<V>>()) {
            Ok(l) => l,
            Err(_) => handle_alloc_error(Layout::new::<Node<V>>()),
        }
    }

    /// A new entry holding a copy of `key` (at most `u32::MAX` bytes; the
    /// protocol caps keys far below that), `val` and `next`.
    #[inline]
    pub(super) fn new(key: &[u8], val: V, next: Link<V>) -> Entry<V> {
        let key = &key[..key.len().min(u32::MAX as usize)];
        let layout = Self::layout(key.len());
        // SAFETY: the layout is non-zero-sized (it holds at least the head
        // and the length). Every part is written before the entry is used:
        // the head with ptr::write, the length and the key bytes after it,
        // all inside the allocation (KEY_OFF + len bytes).
        unsafe {
            let p = alloc(layout);
            let Some(nn) = NonNull::new(p as *mut Node<V>) else {
                handle_alloc_error(layout)
            };
            ptr::write(nn.as_ptr(), Node { next, val });
            (p.add(Self::KLEN_OFF) as *mut u32).write(key.len() as u32);
            ptr::copy_nonoverlapping(key.as_ptr(), p.add(Self::KEY_OFF), key.len());
            Entry {
                ptr: nn,
                _owns: PhantomData,
            }
        }
    }

    #[inline]
    fn klen(&self) -> usize {
        // SAFETY: written by `new`; KLEN_OFF is a multiple of 8, so the u32
        // is aligned.
        unsafe {
            ((self.ptr.as_ptr() as *const u8).add(Self::KLEN_OFF) as *const u32).read() as usize
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
    pub(super) fn next(&self) -> &Link<V> {
        // SAFETY: the head is initialised and owned by self.
        unsafe { &(*self.ptr.as_ptr()).next }
    }

    #[inline]
    pub(super) fn next_mut(&mut self) -> &mut Link<V> {
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
    pub(super) fn parts_mut(&mut self) -> (&mut Link<V>, &[u8], &mut V) {
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
        let klen = self.klen();
        let p = self.ptr.as_ptr();
        mem::forget(self);
        // SAFETY: `p` is the live allocation `self` owned (forgotten above,
        // so it is freed exactly once, here): the head is read out by value
        // and the memory released with the layout it was allocated with.
        unsafe {
            let Node { next, val } = ptr::read(p);
            drop(next);
            dealloc(p as *mut u8, Self::layout(klen));
            (k, val)
        }
    }
}

impl<V> Drop for Entry<V> {
    fn drop(&mut self) {
        let klen = self.klen();
        let p = self.ptr.as_ptr();
        // SAFETY: the head is initialised; it is dropped in place once
        // (dropping `next` recurses along a chain, which the dict avoids by
        // taking `next` first: see `drop_chain`), then the allocation is
        // freed with its layout.
        unsafe {
            ptr::drop_in_place(p);
            dealloc(p as *mut u8, Self::layout(klen));
        }
    }
}
