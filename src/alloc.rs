//! A counting global allocator: wraps the system allocator and keeps the
//! number of live heap bytes, which INFO reports as `used_memory` and
//! maxmemory checks against (Redis gets the same figure from zmalloc).
//! Also the system allocator's tuning at startup ([`tune_system_allocator`]),
//! [`slab`], the header-less size classes the dicts' entries come from,
//! and [`prefault`], which faults in a big dict's next table off the
//! event loop.

pub mod prefault;
pub mod slab;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct CountingAlloc;

// Global: the global allocator has no other place to count in, and every
// thread allocates.
static USED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates to System and only adds bookkeeping.
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds GlobalAlloc::alloc's contract (a
        // non-zero-size layout), passed on to System unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            USED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in alloc: the caller's layout, passed on unchanged.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            USED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from System, with
        // `layout` (the caller's contract).
        unsafe { System.dealloc(ptr, layout) };
        USED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from System with `layout` and `new_size` is
        // valid for it (the caller's contract).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                USED.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                USED.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Live heap bytes requested through the global allocator.
pub fn used_memory() -> usize {
    USED.load(Ordering::Relaxed)
}

/// Resident set size from /proc/self/statm, in bytes.
pub fn rss_bytes() -> usize {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: usize = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(4096) as usize
}

/// Tunes glibc's malloc before the server allocates much: no fastbins
/// (`M_MXFAST` 0; tcache still serves the hot sizes). With fastbins, the
/// lazy-free thread's millions of frees fill them, and the next free of a
/// large block consolidates them all while holding the main arena's lock:
/// every allocation of the event loop waited behind it (FLUSHALL of 10M
/// keys with lazyfree: the command took 4.7 ms and a pinging client saw
/// 140 ms; without fastbins 13 µs and 8 ms, Redis 20 µs and 7.5 ms,
/// `benches/compare.sh --lazyfree`). No effect on other C libraries.
pub fn tune_system_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's allocator parameters; it takes
    // two integers and is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MXFAST, 0);
    }
}

/// Redis's checkTHPEnabled warning.
pub const THP_WARNING: &str = "You have Transparent Huge Pages (THP) support enabled in your kernel. \
This will create latency and memory usage issues with Redis. \
To fix this issue run the command 'echo madvise > /sys/kernel/mm/transparent_hugepage/enabled' as root, \
and add it to your /etc/rc.local in order to retain the setting after a reboot. \
Redis must be restarted after THP is disabled (set to 'madvise' or 'never').";

/// Whether the kernel's transparent huge pages are "always" on.
pub fn thp_always() -> bool {
    std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
        .is_ok_and(|s| s.contains("[always]"))
}

/// Turns transparent huge pages off for this process (Redis's THPDisable:
/// prctl PR_SET_THP_DISABLE); true if it worked.
pub fn disable_thp() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_THP_DISABLE takes integer arguments
        // only and changes a flag of this process.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}
