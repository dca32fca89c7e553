//! `alloc::prefault` — faults in the pages of a big zeroed block on a
//! background thread, before its owner starts writing it.
//!
//! Why: a dict that outgrows a table of millions of buckets allocates the
//! next one zeroed, which the kernel maps lazily. The inserts that follow
//! land in random buckets, so nearly each of the first ~100k inserts
//! touched a fresh page and paid a page fault: growing past 2^22, 2^23 and
//! 2^24 keys made event-loop turns of 2 to 4 ms where 1 ms was usual (the
//! worker faults in 256 MiB in about 90 ms, ~1.3 us a page). Touching the pages here first moves that
//! cost off the event loop; the dict keeps inserting into its old table
//! (its load a little above 1) until the block comes back.
//!
//! How: [`submit`] hands the block to one worker thread, started on first
//! use; the worker owns it while it writes one zero word per 4 KiB page
//! (the block stays all zero), then puts it back in the job.
//! [`Ticket::try_take`] returns it once that is done. A ticket dropped
//! before then leaves the block to the worker, which frees it. Nothing is
//! shared while the worker writes: the block moves between the threads by
//! value, under the job's mutex.
//!
//! [`release`] is the other end: it returns a big block's pages a
//! megabyte at a time before freeing it (for the lazy-free thread).
//!
//! A block is a [`Block`]: a bucket array of any element type (the dicts'
//! 4-byte links, the sorted-set index's 8-byte pointers) as raw zeroed
//! memory that remembers its layout.

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, OnceLock};

/// Bytes per page.
const PAGE: usize = 4096;

/// An all-zero array of `len` elements of some type, owned as raw memory
/// (what a fresh bucket array is between its table and the worker, or
/// the lazy-free thread). Freed with the layout it was allocated with.
pub struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
    len: usize,
}

// SAFETY: a Block owns its allocation exclusively and holds no references.
unsafe impl Send for Block {}

impl Block {
    /// Takes an array's memory over.
    ///
    /// # Safety
    /// No element of `b` needs dropping (they are all "empty" zero bits).
    pub unsafe fn from_boxed<T>(b: Box<[T]>) -> Block {
        let len = b.len();
        let layout = Layout::for_value(&*b);
        let raw = Box::into_raw(b) as *mut T as *mut u8;
        Block {
            // SAFETY: Box pointers are never null.
            ptr: unsafe { NonNull::new_unchecked(raw) },
            layout,
            len,
        }
    }

    /// The array back, as `[T]`: `None` (the block kept) when `T` is not
    /// the type the block was made from (its layout differs).
    ///
    /// # Safety
    /// All-zero bits are a valid `T` (the block only ever holds zeros).
    pub unsafe fn into_boxed<T>(self) -> Result<Box<[T]>, Block> {
        if Layout::array::<T>(self.len).ok() != Some(self.layout) {
            return Err(self);
        }
        let p = self.ptr.as_ptr() as *mut T;
        let len = self.len;
        std::mem::forget(self);
        // SAFETY: the allocation came from a Box<[T]> of `len` elements
        // (same layout), and its bytes are valid T's (caller's contract).
        Ok(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, len)) })
    }

    /// Elements in the array.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every byte is zero (debug checks).
    pub fn is_zero(&self) -> bool {
        self.bytes().iter().all(|&b| b == 0)
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the block owns `layout.size()` initialised bytes (a zero
        // size is a dangling but aligned pointer, valid for no bytes).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Block({} elements, {:?})", self.len, self.layout)
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if self.layout.size() > 0 {
            // SAFETY: allocated by a Box with this layout, freed once.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
        }
    }
}

struct Job {
    done: AtomicBool,
    block: Mutex<Option<Block>>,
}

/// A block being prefaulted; see [`Ticket::try_take`].
pub struct Ticket(Arc<Job>);

impl Ticket {
    /// The block, once every page of it has been touched; `None` before.
    pub fn try_take(&self) -> Option<Block> {
        if !self.0.done.load(Ordering::Acquire) {
            return None;
        }
        self.0
            .block
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

/// Global: the one worker's queue, started on first use (`None` when the
/// thread could not be spawned).
static QUEUE: OnceLock<Option<Sender<Arc<Job>>>> = OnceLock::new();

fn queue() -> Option<&'static Sender<Arc<Job>>> {
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = channel::<Arc<Job>>();
            std::thread::Builder::new()
                .name("prefault".into())
                .spawn(move || {
                    crate::util::affinity::enter_background_thread();
                    idle_priority();
                    while let Ok(job) = rx.recv() {
                        run(job);
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Puts the calling thread in `SCHED_IDLE`: it runs only on a CPU with
/// nothing else to do, so it does not compete with the event loop and the
/// clients for the CPUs. When it cannot run, the dict grows without it at
/// its load limit.
fn idle_priority() {
    // SAFETY: sched_setscheduler with pid 0 changes the calling thread
    // only, and reads `param` only for the call.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

fn run(job: Arc<Job>) {
    let mut block = job.block.lock().unwrap_or_else(|e| e.into_inner()).take();
    // No work for a block whose ticket is gone (only this Arc is left):
    // it is freed when `job` drops.
    if Arc::strong_count(&job) > 1 {
        if let Some(b) = block.as_mut() {
            touch(b);
        }
    }
    *job.block.lock().unwrap_or_else(|e| e.into_inner()) = block;
    job.done.store(true, Ordering::Release);
}

/// Writes one zero byte per page of `b` (which is all zero already).
fn touch(b: &mut Block) {
    for i in (0..b.layout.size()).step_by(PAGE) {
        // SAFETY: `i < size`, so the pointer is in bounds and the block is
        // exclusively ours (`&mut`). Volatile, so the store of the value
        // the byte already holds is not optimised away.
        unsafe { std::ptr::write_volatile(b.ptr.as_ptr().add(i), 0) };
    }
}

/// Gives the pages of a big block back to the kernel a megabyte at a
/// time (`MADV_DONTNEED`), then frees it. For a background thread: a
/// single `munmap` of a written 64 MiB table holds the process's
/// memory-map lock while it frees every page, and the event loop's own
/// `mmap`s wait for it (a 21 ms turn was seen at 10.19M keys, about when
/// the 2^23-bucket table was unmapped); `MADV_DONTNEED` takes that lock
/// shared, a megabyte at a time.
pub fn release(block: Block) {
    const STEP: usize = 1 << 20;
    let start = block.ptr.as_ptr() as usize;
    let end = start + block.layout.size();
    let mut p = (start + 4095) & !4095;
    while p + 4096 <= end {
        let len = STEP.min((end - p) & !4095);
        // SAFETY: [p, p + len) is whole pages inside `block`, which this
        // function owns and frees right after without reading it (its
        // words read as zero after MADV_DONTNEED, as after a write).
        unsafe { libc::madvise(p as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        p += len;
    }
    drop(block);
}

/// Queues `block` for prefaulting; gives it back when no worker thread
/// could be started.
pub fn submit(block: Block) -> Result<Ticket, Block> {
    let Some(q) = queue() else {
        return Err(block);
    };
    let job = Arc::new(Job {
        done: AtomicBool::new(false),
        block: Mutex::new(Some(block)),
    });
    match q.send(Arc::clone(&job)) {
        Ok(()) => Ok(Ticket(job)),
        // The worker is gone (it never panics, but then): the block was
        // not handed over, give it back.
        Err(_) => match job.block.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(b) => Err(b),
            None => unreachable!("the block is only taken by the worker or a ticket"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    const PAGE_WORDS: usize = PAGE / 8;

    fn zeros(n: usize) -> Block {
        // SAFETY: u64 zeros need no drop.
        unsafe { Block::from_boxed(vec![0u64; n].into_boxed_slice()) }
    }

    #[test]
    fn block_comes_back_zeroed_and_whole() {
        let n = 3 * PAGE_WORDS + 7;
        let t = submit(zeros(n)).expect("worker");
        let deadline = Instant::now() + Duration::from_secs(30);
        let b = loop {
            if let Some(b) = t.try_take() {
                break b;
            }
            assert!(Instant::now() < deadline, "prefault never finished");
            std::thread::yield_now();
        };
        assert_eq!(b.len(), n);
        assert!(b.is_zero());
        // SAFETY: zeros are u64s; the block came from a [u64].
        let words = unsafe { b.into_boxed::<u64>() }.expect("same layout");
        assert_eq!(words.len(), n);
        // Taken once.
        assert!(t.try_take().is_none());
    }

    #[test]
    fn dropped_ticket_leaves_the_block_to_the_worker() {
        let t = submit(zeros(PAGE_WORDS)).expect("worker");
        drop(t);
        // The worker still runs later jobs.
        let t2 = submit(zeros(1)).expect("worker");
        let deadline = Instant::now() + Duration::from_secs(30);
        while t2.try_take().is_none() {
            assert!(Instant::now() < deadline, "prefault never finished");
            std::thread::yield_now();
        }
    }
}
