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
//! overflow (every 4 GB of input). The compressor makes liblzf's decisions
//! in fewer instructions (see `compress_raw`) and writes into the output
//! Vec's spare capacity; the decompressor copies 8-byte words. Against
//! the system liblzf (`lzf_speed` test, interleaved, median of 7; inputs
//! in benches/lzf_inputs.rs; a noisy 2-core machine, 2026-12-07),
//! compressing with RDB's budget takes 0.90-0.94x liblzf's time on sets
//! of different texts (1 KB and 10 KB), listpack hashes and 8 KB list
//! nodes, 0.81-0.94x on one such string compressed over and over (which
//! the branch predictor learns, for both), 0.70-0.95x on 100-byte DEBUG
//! POPULATE values, 0.94-0.97x on 64 KB blobs, and 1.05-1.09x on 100
//! random bytes (every position a literal; that one varies with code
//! layout: 0.84-0.93x in a standalone build). Decompressing takes
//! 0.16-0.77x liblzf's time (1.02x for 100-byte values, 0.91-0.97x for
//! hash listpacks).

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
/// was and returns None (as `lzf_compress` returning 0). Only capacity is
/// reserved for the budget: the compressor writes into `out`'s spare
/// capacity, so the budget is never zeroed first.
pub fn compress_into(input: &[u8], out_len: usize, out: &mut Vec<u8>) -> Option<usize> {
    if input.is_empty() || out_len == 0 || input.len() >= u32::MAX as usize {
        return None;
    }
    out.reserve(out_len);
    let start = out.len();
    let n = TABLE.with(|t| {
        let t = &mut *t.borrow_mut();
        t.begin(input.len());
        let base = t.base;
        // SAFETY: `slots` holds HSIZE u32s owned by the table, borrowed
        // exclusively here; `begin` made `base + input.len()` fit in a
        // u32; the reserve above leaves at least `out_len` bytes of spare
        // capacity at `start`.
        let r = unsafe {
            compress_raw(
                t.slots.as_ptr(),
                base,
                input,
                out.as_mut_ptr().add(start),
                out_len,
            )
        };
        t.base += input.len() as u32;
        r
    });
    if let Some(n) = n {
        // SAFETY: n <= out_len bytes at `start` were all written by
        // compress_raw (see its contract), within the reserved capacity.
        unsafe { out.set_len(start + n) };
    }
    n
}

/// liblzf's compressor over a table whose live slots are those `>= base`.
/// Writes into `out` and returns the compressed length, or None if it
/// would not fit in `out_len` bytes.
///
/// The same decisions as liblzf's loop, in fewer instructions: the main
/// loop runs while `ip + 19 <= in_len`, where liblzf always takes its
/// 16-byte unrolled match loop and 4-byte loads at `ip` are in bounds, so
/// a candidate's first three bytes are one XOR of two loads; the literal
/// byte comes from the hash value already in a register; the two positions
/// VERY_FAST hashes after a match come from one 4-byte load; a match
/// longer than 18 bytes goes on eight bytes at a time. The last (at most
/// 18) positions run liblzf's general loop. Match lengths stay decided by
/// branches, as liblzf's: when a string is compressed again and again (a
/// dataset of equal values) the branch predictor learns them and the CPU
/// runs ahead; a branch-free length (trailing zeros of the XOR) would make
/// each match wait for the previous one's loads.
///
/// # Safety
/// `htab` points to HSIZE u32s no one else uses meanwhile; `base +
/// input.len()` does not overflow a u32; `out` is valid for writes of
/// `out_len` bytes. On success every byte of `out[..n]` has been written.
///
/// Why the accesses stay in bounds (`debug_assert`s check them in test
/// builds): in the main loop `ip + 19 <= in_len`, a reference lies before
/// `ip`, the unrolled compares reach `ip + 18`, and the 8-byte loads past
/// them happen only when `ip + len + 8 <= in_len`; the last loop runs
/// while `ip + 2 < in_len` and compares below `in_len`. Every output write
/// is preceded by liblzf's own budget checks: `op < out_len` for a
/// literal, `op' + 4 < out_len` before a back reference of at most 3
/// bytes, and `op + 3 <= out_len` before the at most 2 trailing literals.
#[inline(never)]
unsafe fn compress_raw(
    htab: *mut u32,
    base: u32,
    input: &[u8],
    out: *mut u8,
    out_len: usize,
) -> Option<usize> {
    let in_len = input.len();
    let inp = input.as_ptr();
    macro_rules! byte {
        ($i:expr) => {{
            let i = $i;
            debug_assert!(i < in_len);
            // SAFETY: i < in_len by the invariant stated at the call site.
            unsafe { *inp.add(i) }
        }};
    }
    macro_rules! put {
        ($i:expr, $v:expr) => {{
            let (i, v) = ($i, $v);
            debug_assert!(i < out_len);
            // SAFETY: i < out_len by liblzf's budget checks (see above);
            // the caller made out valid for out_len bytes.
            unsafe { *out.add(i) = v };
        }};
    }
    // Sets the slot of hash value `h` to `v`: in the table, as idx() masks
    // with HSIZE - 1, which the caller gave us for exclusive use.
    macro_rules! set_slot {
        ($h:expr, $v:expr) => {{
            let (h, v) = (idx($h), $v);
            debug_assert!(h < HSIZE);
            // SAFETY: h < HSIZE (see above).
            unsafe { *htab.add(h) = v };
        }};
    }
    // Little-endian loads of 4 and 8 bytes at `i` (in bounds: caller).
    let load32 = |i: usize| -> u32 {
        debug_assert!(i + 4 <= in_len);
        // SAFETY: i + 4 <= in_len; unaligned read of plain bytes.
        u32::from_le(unsafe { inp.add(i).cast::<u32>().read_unaligned() })
    };
    let load64 = |i: usize| -> u64 {
        debug_assert!(i + 8 <= in_len);
        // SAFETY: i + 8 <= in_len; unaligned read of plain bytes.
        u64::from_le(unsafe { inp.add(i).cast::<u64>().read_unaligned() })
    };
    let mut ip = 0usize;
    let mut op = 1usize; // the first run's header byte is reserved
    let mut lit = 0usize;
    // Probes the slot of `hval` for position ip (and makes ip its
    // position): the distance back to the slot's previous position, which
    // liblzf accepts when in 1..=MAX_OFF and not reaching position 0
    // (`ref > in_data`); stale slots (below `base`) give a distance
    // beyond ip.
    macro_rules! probe {
        ($hval:expr) => {{
            let h = idx($hval);
            debug_assert!(h < HSIZE);
            let cur = base + ip as u32;
            // SAFETY: h < HSIZE, in the table the caller gave us for
            // exclusive use.
            let prev = unsafe { std::mem::replace(&mut *htab.add(h), cur) };
            cur.wrapping_sub(prev) as usize
        }};
    }
    // One more literal byte, the budget already checked.
    macro_rules! push_literal {
        ($byte:expr) => {{
            put!(op, $byte);
            op += 1;
            ip += 1;
            lit += 1;
            if lit == MAX_LIT {
                put!(op - lit - 1, (lit - 1) as u8);
                lit = 0;
                op += 1;
            }
        }};
    }
    // One more literal byte (liblzf's else branch).
    macro_rules! literal {
        ($byte:expr) => {{
            if op >= out_len {
                return None;
            }
            push_literal!($byte);
        }};
    }
    // Before a back reference: the budget check, then stop the literal run
    // (or drop its unused header byte).
    macro_rules! start_ref {
        () => {{
            if op + 4 >= out_len && op - (lit == 0) as usize + 4 >= out_len {
                return None;
            }
            put!(op - lit - 1, (lit as u8).wrapping_sub(1));
            op -= (lit == 0) as usize;
        }};
    }
    // The back reference of `octets` bytes at distance d (op + 2 <
    // out_len after start_ref), and the next run's reserved header.
    macro_rules! emit {
        ($d:expr, $octets:expr) => {{
            let off: usize = $d - 1;
            let len: usize = $octets - 2; // as liblzf encodes it
            if len < 7 {
                put!(op, ((off >> 8) + (len << 5)) as u8);
                op += 1;
            } else {
                put!(op, ((off >> 8) + (7 << 5)) as u8);
                put!(op + 1, (len - 7) as u8);
                op += 2;
            }
            put!(op, off as u8);
            op += 2;
            lit = 0;
            ip += len + 2;
        }};
    }
    'all: {
        if in_len < 3 {
            break 'all;
        }
        // hval's low 24 bits are the bytes at ip, ip+1, ip+2 (big endian),
        // higher bits the bytes before (liblzf's FRST/NEXT).
        let mut hval = ((byte!(0) as u32) << 8) | byte!(1) as u32;
        while ip + 19 <= in_len {
            hval = (hval << 8) | byte!(ip + 2) as u32;
            let d = probe!(hval);
            if d.wrapping_sub(1) < MAX_OFF && d < ip && (load32(ip - d) ^ load32(ip)) << 8 == 0 {
                let rf = ip - d;
                start_ref!();
                // maxlen > 16 here: liblzf's 16 compares without the maxlen
                // test, then on below maxlen (at least 19 if all equal).
                let mut len = 2usize;
                'len: {
                    macro_rules! step {
                        () => {
                            len += 1;
                            if byte!(rf + len) != byte!(ip + len) {
                                break 'len;
                            }
                        };
                    }
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    step!();
                    let maxlen = (in_len - ip - 2).min(MAX_REF);
                    len += 1;
                    while len < maxlen {
                        if ip + len + 8 > in_len {
                            while len < maxlen && byte!(rf + len) == byte!(ip + len) {
                                len += 1;
                            }
                            break 'len;
                        }
                        let x = load64(rf + len) ^ load64(ip + len);
                        if x != 0 {
                            len = (len + (x.trailing_zeros() / 8) as usize).min(maxlen);
                            break 'len;
                        }
                        len += 8;
                    }
                    len = len.min(maxlen).max(19);
                }
                emit!(d, len);
                if ip >= in_len - 2 {
                    break 'all;
                }
                // VERY_FAST: hash the last two positions of the match from
                // the bytes ip-2 .. ip+2 (ip + 2 < in_len).
                let h = u32::from_be(load32(ip - 2));
                set_slot!(h >> 8, base + ip as u32 - 2);
                set_slot!(h, base + ip as u32 - 1);
                hval = h;
            } else {
                // The byte at ip is hval's bits 16..24.
                literal!((hval >> 16) as u8);
            }
        }
        // The last positions (maxlen <= 16): liblzf's general loop.
        while ip < in_len - 2 {
            hval = (hval << 8) | byte!(ip + 2) as u32;
            let d = probe!(hval);
            if d.wrapping_sub(1) < MAX_OFF
                && d < ip
                && byte!(ip - d) == byte!(ip)
                && byte!(ip - d + 1) == byte!(ip + 1)
                && byte!(ip - d + 2) == byte!(ip + 2)
            {
                let rf = ip - d;
                start_ref!();
                let maxlen = in_len - ip - 2;
                let mut len = 3usize;
                while len < maxlen && byte!(rf + len) == byte!(ip + len) {
                    len += 1;
                }
                emit!(d, len);
                if ip >= in_len - 2 {
                    break 'all;
                }
                hval = ((byte!(ip - 2) as u32) << 16)
                    | ((byte!(ip - 1) as u32) << 8)
                    | byte!(ip) as u32;
                set_slot!(hval, base + ip as u32 - 2);
                hval = (hval << 8) | byte!(ip + 1) as u32;
                set_slot!(hval, base + ip as u32 - 1);
            } else {
                literal!((hval >> 16) as u8);
            }
        }
    }
    if op + 3 > out_len {
        return None;
    }
    while ip < in_len {
        push_literal!(byte!(ip));
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
    let cap = out_len.min(input.len().saturating_mul(88));
    let mut out: Vec<u8> = Vec::with_capacity(cap);
    // SAFETY: `out` has capacity for `cap` bytes.
    let n = unsafe { decompress_raw(input, out.as_mut_ptr(), cap) }?;
    if n != out_len {
        return None;
    }
    // SAFETY: decompress_raw wrote every byte below n <= cap.
    unsafe { out.set_len(n) };
    Some(out)
}

/// liblzf's decompressor into `out` (valid for writes of `end` bytes,
/// maybe uninitialised): returns the expanded length, every byte below
/// it written, or None for a corrupt stream.
///
/// Literal runs and back references are copied in whole 8-byte words when
/// there is room for the words' overshoot (up to 7 bytes past the run,
/// overwritten by what follows, or left in the spare capacity beyond the
/// returned length); near the ends of the buffers, and for references
/// closer than 8 bytes (which repeat a short pattern), byte by byte.
///
/// # Safety
/// `out` is valid for writes of `end` bytes.
unsafe fn decompress_raw(input: &[u8], out: *mut u8, end: usize) -> Option<usize> {
    let in_len = input.len();
    let inp = input.as_ptr();
    let mut ip = 0usize;
    let mut op = 0usize;
    while ip < in_len {
        // SAFETY: ip < in_len.
        let ctrl = unsafe { *inp.add(ip) } as usize;
        ip += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            if op + n > end || ip + n > in_len {
                return None;
            }
            if op + 32 <= end && ip + 32 <= in_len {
                // SAFETY: 32 bytes are readable at ip and writable at op
                // (just checked); input and output do not overlap.
                unsafe {
                    std::ptr::copy_nonoverlapping(inp.add(ip), out.add(op), 32);
                }
            } else {
                // SAFETY: ip + n <= in_len and op + n <= end (checked).
                unsafe { std::ptr::copy_nonoverlapping(inp.add(ip), out.add(op), n) };
            }
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
            // The source starts `back` bytes before op, inside what was
            // written; bytes it reads past op are written by this copy
            // before they are read (words of 8 with back >= 8, or bytes).
            let from = op - back;
            if back >= 8 && op + len + 8 <= end {
                let mut k = 0;
                while k < len {
                    // SAFETY: from + k + 8 <= op + k (back >= 8), all
                    // written; op + k + 8 <= op + len + 8 <= end.
                    unsafe {
                        let w = out.add(from + k).cast::<u64>().read_unaligned();
                        out.add(op + k).cast::<u64>().write_unaligned(w);
                    }
                    k += 8;
                }
            } else {
                for k in 0..len {
                    // SAFETY: from + k < op + k, written before; op + k <
                    // op + len <= end.
                    unsafe { *out.add(op + k) = *out.add(from + k) };
                }
            }
            op += len;
        }
    }
    Some(op)
}

#[cfg(test)]
#[path = "lzf_tests.rs"]
mod tests;
