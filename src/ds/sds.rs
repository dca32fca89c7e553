//! `Sds`: a compact, immutable, heap-allocated byte string (string values,
//! hash values, skiplist elements, and the owned keys `Dict::remove` hands
//! back; the dicts themselves keep keys inside their entries).
//!
//! Like Redis's `sds`, one allocation holds a small header and the bytes. A
//! Rust `Box<[u8]>` is a 16-byte fat pointer; `Sds` is a thin 8-byte
//! pointer to `[len: u32][bytes...]`, so a value holding one stays small.
//! Strings of up to `slab::MAX_SIZE - 4` bytes live in `alloc::slab`'s
//! exact 8-byte size classes (a 100-byte value takes 104 bytes, not
//! malloc's 112-byte chunk), longer ones in malloc.

use crate::alloc::slab;
use std::alloc::{handle_alloc_error, Layout};
use std::fmt;
use std::ptr::NonNull;

const HEADER: usize = std::mem::size_of::<u32>();

/// Thin owned byte string: pointer to a `u32` length followed by the bytes.
pub struct Sds(NonNull<u8>);

// SAFETY: Sds owns its allocation exclusively, like Box<[u8]>.
unsafe impl Send for Sds {}
// SAFETY: a shared &Sds only reads the bytes (no interior mutability),
// like &Box<[u8]>.
unsafe impl Sync for Sds {}

impl Sds {
    /// Largest length an `Sds` can hold (lengths are stored as u32).
    pub const MAX_LEN: usize = u32::MAX as usize - HEADER;

    fn layout(len: usize) -> Layout {
        // Alignment 4 for the u32 header; size never zero because of the header.
        // 8-aligned (a slab slot's alignment anyway): `object::Value` keeps
        // its tag in the pointer's three low bits.
        match Layout::from_size_align(HEADER + len, 8) {
            Ok(l) => l,
            Err(_) => handle_alloc_error(Layout::new::<u32>()),
        }
    }

    /// Copies `bytes` into a new allocation. Lengths above `MAX_LEN` are
    /// truncated (the protocol layer caps bulk lengths far below that).
    pub fn new(bytes: &[u8]) -> Sds {
        let len = bytes.len().min(Self::MAX_LEN);
        let layout = Self::layout(len);
        // SAFETY: layout has non-zero size; we initialise header and bytes
        // before anyone reads them.
        unsafe {
            let p = slab::alloc_block(layout);
            let Some(nn) = NonNull::new(p) else {
                handle_alloc_error(layout)
            };
            (p as *mut u32).write(len as u32);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.add(HEADER), len);
            Sds(nn)
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        // SAFETY: the header was written in `new` and is 4-aligned.
        unsafe { (self.0.as_ptr() as *const u32).read() as usize }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes after the header were initialised in `new`.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(HEADER), self.len()) }
    }

    /// Bytes of heap this string occupies (for MEMORY USAGE estimates).
    pub fn alloc_size(&self) -> usize {
        Self::alloc_size_for(self.len())
    }

    /// Bytes a string of `len` bytes allocates.
    pub fn alloc_size_for(len: usize) -> usize {
        HEADER + len
    }

    /// The block, 8-aligned, its ownership moved to the caller (who gives
    /// it back with [`Sds::from_raw`]).
    #[inline]
    pub fn into_raw(self) -> NonNull<u8> {
        let p = self.0;
        std::mem::forget(self);
        p
    }

    /// The string [`Sds::into_raw`] gave out.
    ///
    /// # Safety
    /// `p` came from `into_raw` and no other `Sds` owns it.
    #[inline]
    pub unsafe fn from_raw(p: NonNull<u8>) -> Sds {
        Sds(p)
    }

    /// The bytes of the string at `p`, without owning it.
    ///
    /// # Safety
    /// `p` came from [`Sds::into_raw`] and its string lives (unchanged)
    /// for `'a`.
    #[inline]
    pub unsafe fn bytes_at<'a>(p: NonNull<u8>) -> &'a [u8] {
        // SAFETY: the caller's contract: a live string's header and bytes.
        unsafe {
            let len = (p.as_ptr() as *const u32).read() as usize;
            std::slice::from_raw_parts(p.as_ptr().add(HEADER), len)
        }
    }
}

impl Drop for Sds {
    fn drop(&mut self) {
        let layout = Self::layout(self.len());
        // SAFETY: allocated in `new` by alloc_block with the same layout.
        unsafe { slab::dealloc_block(self.0.as_ptr(), layout) }
    }
}

impl Clone for Sds {
    fn clone(&self) -> Sds {
        Sds::new(self.as_bytes())
    }
}

impl std::ops::Deref for Sds {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for Sds {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::borrow::Borrow<[u8]> for Sds {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for Sds {
    fn eq(&self, other: &Sds) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for Sds {}

impl PartialOrd for Sds {
    fn partial_cmp(&self, other: &Sds) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Sds {
    fn cmp(&self, other: &Sds) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for Sds {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl From<&[u8]> for Sds {
    fn from(b: &[u8]) -> Sds {
        Sds::new(b)
    }
}

impl fmt::Debug for Sds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sds({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Bytes a [`SmallSds`] keeps inline.
pub const SMALL_INLINE: usize = 14;

/// A byte string in 16 bytes: up to [`SMALL_INLINE`] bytes inline (no
/// allocation), longer ones as an [`Sds`]. Hash tables keep their values
/// in it, so a short value lives in the field's dict entry.
#[derive(Clone)]
pub enum SmallSds {
    Inline { len: u8, buf: [u8; SMALL_INLINE] },
    Heap(Sds),
}

impl SmallSds {
    #[inline]
    pub fn new(b: &[u8]) -> SmallSds {
        if b.len() <= SMALL_INLINE {
            let mut buf = [0u8; SMALL_INLINE];
            buf[..b.len()].copy_from_slice(b);
            SmallSds::Inline {
                len: b.len() as u8,
                buf,
            }
        } else {
            SmallSds::Heap(Sds::new(b))
        }
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            SmallSds::Inline { len, buf } => &buf[..*len as usize],
            SmallSds::Heap(s) => s.as_bytes(),
        }
    }

    /// Heap bytes it holds (0 inline).
    pub fn alloc_size(&self) -> usize {
        match self {
            SmallSds::Inline { .. } => 0,
            SmallSds::Heap(s) => s.alloc_size(),
        }
    }
}

impl std::ops::Deref for SmallSds {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for SmallSds {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<&[u8]> for SmallSds {
    fn from(b: &[u8]) -> SmallSds {
        SmallSds::new(b)
    }
}

impl PartialEq for SmallSds {
    fn eq(&self, other: &SmallSds) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for SmallSds {}

impl fmt::Debug for SmallSds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SmallSds({:?})",
            String::from_utf8_lossy(self.as_bytes())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_and_small() {
        let e = Sds::new(b"");
        assert!(e.is_empty());
        let s = Sds::new(b"hello");
        assert_eq!(&*s, b"hello");
        assert_eq!(s.clone(), s);
        assert_eq!(std::mem::size_of::<Sds>(), 8);
        assert_eq!(std::mem::size_of::<Option<Sds>>(), 8);
    }

    proptest! {
        #[test]
        fn roundtrip(v in proptest::collection::vec(any::<u8>(), 0..300)) {
            let s = Sds::new(&v);
            prop_assert_eq!(s.as_bytes(), &v[..]);
            prop_assert_eq!(s.len(), v.len());
            let c = s.clone();
            drop(s);
            prop_assert_eq!(c.as_bytes(), &v[..]);
        }
    }

    #[test]
    fn small_sds_inline_and_heap() {
        assert_eq!(std::mem::size_of::<SmallSds>(), 16);
        for n in [0usize, 1, 14, 15, 100] {
            let b: Vec<u8> = (0..n as u8).collect();
            let s = SmallSds::new(&b);
            assert_eq!(s.as_bytes(), &b[..]);
            assert_eq!(s.clone(), s);
            assert_eq!(s.alloc_size() == 0, n <= SMALL_INLINE);
        }
    }
}
