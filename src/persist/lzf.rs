//! LZF compression as Redis uses it for RDB strings and DUMP payloads:
//! liblzf 3.6 with `lzfP.h`'s settings HLOG 16, VERY_FAST, not ULTRA_FAST
//! (Debian's redis-server 7.0.15 links the system liblzf.so.1; Redis's
//! bundled lzf_c.c makes the same choices). Output is byte-identical to
//! liblzf's for the same input, which keeps our RDB files and DUMP payloads
//! equal to Redis's; `tests::matches_system_liblzf` checks it against the
//! system library when one is installed.
//!
//! Implemented here rather than taken from a crate: the `lzf` crate (a
//! Rust rewrite of liblzf) does not give liblzf's bytes (it adds an
//! `ip + 4 < in_len` guard, drops the 16-byte unrolled match loop whose
//! lengths differ near the end of the input, and takes no output budget,
//! while RDB needs `len - 4`), and it reads an uninitialised table through
//! `mem::uninitialized`; `lzf-sys` builds the C library; `lzf-rust` is a
//! new single-author crate. The format is liblzf's:
//!
//! ```text
//! 000LLLLL <L+1 bytes>          literal run of L+1 bytes
//! LLLooooo oooooooo             back reference: length L+2, offset o+1
//! 111ooooo LLLLLLLL oooooooo    back reference: length L+9, offset o+1
//! ```
//!
//! What "identical" means. liblzf keeps its 64K-slot hash table on the
//! stack without clearing it (INIT_HTAB 0), so a slot this call has not
//! written yet holds whatever an earlier call (or other code) left there.
//! That never changes the output, so a cleared table (ours) gives liblzf's
//! bytes for every input: every position the compressor skips lies inside
//! a match, so its trigram also occurs at an earlier position, and by
//! induction every trigram seen before `ip` was hashed at some position
//! before `ip`. A slot never written in this call therefore belongs to a
//! trigram (hash) that does not occur before `ip`, and a stale reference
//! fails liblzf's checks (`off < MAX_OFF`, `ref > in_data`, equal first
//! three bytes) exactly as an empty slot does.
//!
//! Speed. Clearing 256 KB per call (what the old code did with a fresh
//! `vec!`) dominated the cost of compressing short values; here the table
//! lives in a thread-local and is "cleared" in O(1) by a generation base:
//! a slot holds `base + position`, and a value below the current call's
//! `base` reads as empty. The table is really zeroed only when `base` would
//! overflow (every 4 GB of input). Matches are extended byte by byte up
//! to liblzf's unrolled 16 bytes, then eight bytes at a time. Against the
//! system liblzf (benches/lzf.rs; `lzf_speed` test, interleaved): 100-byte
//! DEBUG POPULATE values take 0.74x its time, text with short matches
//! about 1.3x.

use std::cell::RefCell;

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// The compressor's hash table: `slots[h]` is `base + position` of the
/// last position hashed to `h`; values below `base` belong to earlier
/// calls and read as empty.
///
/// Its 256 KB come from the system allocator directly, not through the
/// counting global allocator: like liblzf's table on the stack in Redis,
/// it is scratch space, not dataset memory, and counting it in
/// used_memory would make the first DUMP or SAVE look like a 256 KB write
/// to maxmemory (and evict keys for it).
struct Table {
    slots: std::ptr::NonNull<u32>,
    base: u32,
}

impl Table {
    fn layout() -> std::alloc::Layout {
        std::alloc::Layout::new::<[u32; HSIZE]>()
    }

    fn new() -> Table {
        use std::alloc::GlobalAlloc;
        // SAFETY: a non-zero-sized layout; the memory is zeroed, which is a
        // valid [u32; HSIZE], and freed with the same layout in Drop.
        let p = unsafe { std::alloc::System.alloc_zeroed(Self::layout()) } as *mut u32;
        let Some(slots) = std::ptr::NonNull::new(p) else {
            std::alloc::handle_alloc_error(Self::layout())
        };
        Table { slots, base: 1 }
    }

    fn slots(&mut self) -> &mut [u32] {
        // SAFETY: `slots` points to HSIZE initialised u32s owned by this
        // table; the &mut self borrow makes the slice exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.slots.as_ptr(), HSIZE) }
    }

    /// Makes room for `in_len` positions above `base` (the caller checked
    /// `in_len < u32::MAX`).
    fn begin(&mut self, in_len: usize) {
        if (u32::MAX - self.base) as usize <= in_len {
            self.slots().fill(0);
            self.base = 1;
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        use std::alloc::GlobalAlloc;
        // SAFETY: allocated in `new` by System with this layout.
        unsafe { std::alloc::System.dealloc(self.slots.as_ptr() as *mut u8, Self::layout()) }
    }
}

thread_local! {
    static TABLE: RefCell<Table> = RefCell::new(Table::new());
}

#[inline(always)]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// `lzf_compress(input, len, out, out_len)`: returns the compressed bytes,
/// or None when they would not fit in `out_len` bytes (or input is empty).
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    compress_into(input, out_len, &mut out)?;
    Some(out)
}

/// Appends the compressed form of `input` to `out` when it fits in
/// `out_len` bytes and returns its length; otherwise leaves `out` as it
/// was and returns None (as `lzf_compress` returning 0).
pub fn compress_into(input: &[u8], out_len: usize, out: &mut Vec<u8>) -> Option<usize> {
    if input.is_empty() || out_len == 0 || input.len() >= u32::MAX as usize {
        return None;
    }
    let start = out.len();
    out.resize(start + out_len, 0);
    let n = TABLE.with(|t| {
        let t = &mut *t.borrow_mut();
        t.begin(input.len());
        let base = t.base;
        let r = compress_with(t.slots(), base, input, &mut out[start..]);
        t.base += input.len() as u32;
        r
    });
    match n {
        Some(n) => out.truncate(start + n),
        None => out.truncate(start),
    }
    n
}

/// liblzf's compressor over a table whose live slots are those `>= base`.
/// Returns the length written to `out`, or None if it would not fit.
///
/// The loop indexes without bounds checks; each access carries the
/// invariant that keeps it in bounds, and `debug_assert`s check them in
/// test builds. In short: the main loop runs while `ip + 2 < in_len`; a
/// reference lies before `ip`; match extension never passes
/// `cap <= in_len - ip`; and every output write is preceded by liblzf's own
/// budget checks (`op < out_end` for a literal, `op' + 4 < out_end` before
/// a back reference of at most 3 bytes, and `op + 3 <= out_end` before the
/// at most 2 trailing literals).
#[inline(never)]
fn compress_with(htab: &mut [u32], base: u32, input: &[u8], out: &mut [u8]) -> Option<usize> {
    let htab: &mut [u32; HSIZE] = htab.try_into().ok()?;
    let in_len = input.len();
    let out_end = out.len();
    // In-bounds byte access, for indices the invariants above cover.
    macro_rules! inp {
        ($i:expr) => {{
            let i = $i;
            debug_assert!(i < in_len);
            // SAFETY: i < in_len by the invariant stated at the call site.
            *unsafe { input.get_unchecked(i) }
        }};
    }
    macro_rules! put {
        ($i:expr, $v:expr) => {{
            let i = $i;
            debug_assert!(i < out_end);
            // SAFETY: i < out_end by liblzf's budget checks (see above).
            *unsafe { out.get_unchecked_mut(i) } = $v;
        }};
    }
    // Little-endian loads of 4 and 8 bytes at `i` (i + 4 / i + 8 <= in_len).
    let load32 = |i: usize| -> u32 {
        debug_assert!(i + 4 <= in_len);
        // SAFETY: i + 4 <= in_len (caller's invariant); unaligned read of
        // plain bytes.
        u32::from_le(unsafe { input.as_ptr().add(i).cast::<u32>().read_unaligned() })
    };
    let load64 = |i: usize| -> u64 {
        debug_assert!(i + 8 <= in_len);
        // SAFETY: as load32, with i + 8 <= in_len.
        u64::from_le(unsafe { input.as_ptr().add(i).cast::<u64>().read_unaligned() })
    };
    let mut ip = 0usize;
    let mut op = 1usize; // the first run's header byte is reserved
    let mut lit = 0usize;
    if in_len >= 3 {
        let mut hval = ((inp!(0) as u32) << 8) | inp!(1) as u32;
        while ip < in_len - 2 {
            // ip + 2 < in_len here.
            hval = (hval << 8) | inp!(ip + 2) as u32;
            let slot = &mut htab[idx(hval)];
            let cur = base + ip as u32;
            // Distance back to the slot's position: 1..=MAX_OFF and not
            // reaching position 0 (liblzf's `ref > in_data`); stale slots
            // (below `base`) give a distance beyond `ip`.
            let d = cur.wrapping_sub(*slot) as usize;
            *slot = cur;
            // The reference's first three bytes against `ip`'s (the low 24
            // bits of hval, big-endian): rf + 4 <= ip + 3 <= in_len.
            if d.wrapping_sub(1) < MAX_OFF
                && d < ip
                && (load32(ip - d).swap_bytes() >> 8) == hval & 0xff_ffff
            {
                let rf = ip - d;
                let off = d - 1;
                let maxlen = (in_len - ip - 2).min(MAX_REF);
                if op + 4 >= out_end && op - (lit == 0) as usize + 4 >= out_end {
                    return None;
                }
                // Stop the literal run (or drop its unused header byte).
                put!(op - lit - 1, (lit as u8).wrapping_sub(1));
                op -= (lit == 0) as usize;
                // liblzf compares 16 bytes unrolled, without the maxlen
                // test, when maxlen > 16, then continues below maxlen: the
                // match length is the first mismatch capped at `cap`
                // (cap <= in_len - ip: maxlen > 16 means in_len - ip >= 19).
                let cap = if maxlen > 16 { maxlen.max(19) } else { maxlen };
                // Bytes first, as liblzf (most matches are short), then
                // eight bytes at a time past 19, then bytes below `cap`.
                let mut l = 3usize;
                let short = cap.min(19);
                while l < short && inp!(rf + l) == inp!(ip + l) {
                    l += 1;
                }
                if l == 19 {
                    while l + 8 <= cap {
                        let x = load64(rf + l) ^ load64(ip + l);
                        if x != 0 {
                            l += (x.trailing_zeros() / 8) as usize;
                            break;
                        }
                        l += 8;
                    }
                    if l + 8 > cap {
                        while l < cap && inp!(rf + l) == inp!(ip + l) {
                            l += 1;
                        }
                    }
                }
                let len = l - 2; // octets - 1, as liblzf encodes it
                ip += 1;
                if len < 7 {
                    put!(op, ((off >> 8) + (len << 5)) as u8);
                    op += 1;
                } else {
                    put!(op, ((off >> 8) + (7 << 5)) as u8);
                    put!(op + 1, (len - 7) as u8);
                    op += 2;
                }
                put!(op, off as u8);
                op += 2; // and reserve the next run's header
                lit = 0;
                ip += len + 1;
                if ip >= in_len - 2 {
                    break;
                }
                // VERY_FAST: hash the last two positions of the match
                // (ip - 2 + 3 < in_len).
                ip -= 2;
                hval = ((inp!(ip) as u32) << 8) | inp!(ip + 1) as u32;
                hval = (hval << 8) | inp!(ip + 2) as u32;
                htab[idx(hval)] = base + ip as u32;
                ip += 1;
                hval = (hval << 8) | inp!(ip + 2) as u32;
                htab[idx(hval)] = base + ip as u32;
                ip += 1;
            } else {
                if op >= out_end {
                    return None;
                }
                put!(op, inp!(ip));
                op += 1;
                ip += 1;
                lit += 1;
                if lit == MAX_LIT {
                    put!(op - lit - 1, (lit - 1) as u8);
                    lit = 0;
                    op += 1;
                }
            }
        }
    }
    if op + 3 > out_end {
        return None;
    }
    while ip < in_len {
        put!(op, inp!(ip));
        op += 1;
        ip += 1;
        lit += 1;
        if lit == MAX_LIT {
            put!(op - lit - 1, (lit - 1) as u8);
            lit = 0;
            op += 1;
        }
    }
    put!(op - lit - 1, (lit as u8).wrapping_sub(1));
    op -= (lit == 0) as usize;
    Some(op)
}

/// `lzf_decompress`: expands `input` into exactly `out_len` bytes, or None
/// for corrupt input (a reference before the start, overruns, or a length
/// other than `out_len`).
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    // No stream expands more than 88:1 (a 3-byte reference to 264 bytes),
    // so a hostile `out_len` never makes us allocate more than that; when
    // it is larger the stream cannot fill it and we fail below.
    let mut out = vec![0u8; out_len.min(input.len().saturating_mul(88))];
    let end = out.len();
    let mut ip = 0usize;
    let mut op = 0usize;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            if op + n > end {
                return None;
            }
            out[op..op + n].copy_from_slice(input.get(ip..ip + n)?);
            op += n;
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip)? as usize;
                ip += 1;
            }
            let lo = *input.get(ip)? as usize;
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + lo + 1;
            len += 2;
            if op + len > end || back > op {
                return None;
            }
            let from = op - back;
            if back >= len {
                out.copy_within(from..from + len, op);
            } else {
                // Overlapping: the reference repeats the last `back` bytes.
                for k in 0..len {
                    out[op + k] = out[from + k];
                }
            }
            op += len;
        }
    }
    (op == out_len).then_some(out)
}

#[cfg(test)]
#[path = "lzf_tests.rs"]
mod tests;
