//! HyperLogLog on plain byte strings, byte-for-byte compatible with Redis 7.0
//! (`hyperloglog.c`).
//!
//! A HyperLogLog is an ordinary string value whose bytes are:
//!
//! ```text
//! +------+---+-----+----------+------------------------------+
//! | HYLL | E | N/U | Cardin.  | registers (sparse or dense)  |
//! +------+---+-----+----------+------------------------------+
//!   4 B   1 B  3 B    8 B
//! ```
//!
//! * `E` is the encoding: 0 = dense, 1 = sparse.
//! * `Cardin.` is the cached cardinality, little endian. The most significant
//!   bit of its last byte (byte 15 of the string) set means "cache invalid".
//! * Dense: 16384 6-bit registers packed LSB first (12288 bytes).
//! * Sparse: run-length opcodes `ZERO` (`00xxxxxx`, 1..64 zero registers),
//!   `XZERO` (`01xxxxxx yyyyyyyy`, 1..16384 zero registers) and `VAL`
//!   (`1vvvvvxx`, value 1..32 repeated 1..4 times).
//!
//! Elements are hashed with MurmurHash64A (seed `0xadc83b19`); the low
//! [`HLL_P`] = 14 bits select the register, the remaining [`HLL_Q`] = 50 bits
//! give the "000..1" pattern length. The cardinality is estimated with Otmar
//! Ertl's improved estimator (`hllTau` / `hllSigma`), as in Redis >= 5.
//!
//! Everything here is a pure function over `&[u8]` / `&mut Vec<u8>`; the
//! server layer owns key lookup, type checks, keyspace notifications, dirty
//! counters and propagation. Client-supplied strings may be arbitrary bytes:
//! no function panics, corrupted values yield [`HllError`] exactly where
//! Redis replies with an error.
//!
//! One deliberate (and unobservable for well-formed data) difference: Redis
//! reads the sds NUL terminator when a sparse string ends with the first byte
//! of an `XZERO` opcode; we treat that virtual byte as always 0 (which is what
//! Redis sees for any value freshly created, loaded or restored).

use std::fmt;

/// Number of index bits: 2^14 = 16384 registers.
pub const HLL_P: u32 = 14;
/// Number of hash bits used for the "000..1" pattern length.
pub const HLL_Q: u32 = 64 - HLL_P;
/// Number of registers.
pub const HLL_REGISTERS: usize = 1 << HLL_P;
const HLL_P_MASK: u64 = (HLL_REGISTERS as u64) - 1;
const HLL_BITS: usize = 6;
const HLL_REGISTER_MAX: u32 = (1 << HLL_BITS) - 1;
/// Size of the `HYLL` header.
pub const HLL_HDR_SIZE: usize = 16;
/// Exact byte length of a dense HyperLogLog string.
pub const HLL_DENSE_SIZE: usize = HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS).div_ceil(8);
/// Encoding byte of a dense HLL.
pub const HLL_DENSE: u8 = 0;
/// Encoding byte of a sparse HLL.
pub const HLL_SPARSE: u8 = 1;
const HLL_MAX_ENCODING: u8 = 1;
/// Redis's default for the `hll-sparse-max-bytes` configuration directive.
pub const HLL_SPARSE_MAX_BYTES_DEFAULT: usize = 3000;

const HLL_SPARSE_XZERO_BIT: u8 = 0x40;
const HLL_SPARSE_VAL_BIT: u8 = 0x80;
const HLL_SPARSE_VAL_MAX_VALUE: u8 = 32;
const HLL_SPARSE_VAL_MAX_LEN: usize = 4;
const HLL_SPARSE_ZERO_MAX_LEN: usize = 64;
const HLL_SPARSE_XZERO_MAX_LEN: usize = 16384;
const HLL_ALPHA_INF: f64 = 0.721_347_520_444_481_7; // 0.5/ln(2)
const HLL_HASH_SEED: u32 = 0xadc8_3b19;

/// Errors of the HyperLogLog commands, with Redis's exact reply text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HllError {
    /// The value is not a HyperLogLog (isHLLObjectOrReply failed).
    WrongType,
    /// The value looks like a HyperLogLog but its sparse data is corrupted.
    Invalid,
    /// `PFDEBUG DECODE` on a value that is not sparse.
    NotSparse,
}

impl HllError {
    /// The error reply text (without the leading `-`).
    pub fn message(&self) -> &'static str {
        match self {
            HllError::WrongType => "WRONGTYPE Key is not a valid HyperLogLog string value.",
            HllError::Invalid => "INVALIDOBJ Corrupted HLL object detected",
            HllError::NotSparse => "ERR HLL encoding is not sparse",
        }
    }
}

impl fmt::Display for HllError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for HllError {}

// ---------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------

/// MurmurHash2, 64-bit version (MurmurHash64A), endian neutral, exactly as
/// Redis computes it (data words are read little endian).
pub fn murmurhash64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h: u64 = u64::from(seed) ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rem = chunks.remainder();
    if !rem.is_empty() {
        for (i, &b) in rem.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// hllPatLen: (register index, length of the "000..1" pattern), 1..=51.
fn pat_len(ele: &[u8]) -> (usize, u8) {
    let mut hash = murmurhash64a(ele, HLL_HASH_SEED);
    let index = (hash & HLL_P_MASK) as usize;
    hash >>= HLL_P;
    hash |= 1u64 << HLL_Q; // make sure the count is <= Q+1
    (index, (hash.trailing_zeros() + 1) as u8)
}

// ---------------------------------------------------------------------------
// Header helpers
// ---------------------------------------------------------------------------

#[inline]
fn invalidate_cache(hll: &mut [u8]) {
    if let Some(b) = hll.get_mut(15) {
        *b |= 1 << 7;
    }
}

#[inline]
fn cache_valid(hll: &[u8]) -> bool {
    hll.get(15).is_some_and(|b| b & (1 << 7) == 0)
}

/// isHLLObjectOrReply: header present, magic `HYLL`, known encoding, exact
/// length for dense. Errors with [`HllError::WrongType`].
pub fn is_valid_hll(bytes: &[u8]) -> Result<(), HllError> {
    if bytes.len() < HLL_HDR_SIZE || &bytes[0..4] != b"HYLL" || bytes[4] > HLL_MAX_ENCODING {
        return Err(HllError::WrongType);
    }
    if bytes[4] == HLL_DENSE && bytes.len() != HLL_DENSE_SIZE {
        return Err(HllError::WrongType);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Dense representation
// ---------------------------------------------------------------------------

/// HLL_DENSE_GET_REGISTER on the register area. A byte past the end reads 0
/// (Redis reads the sds terminator there).
#[inline]
fn dense_get(regs: &[u8], regnum: usize) -> u8 {
    let byte = regnum * HLL_BITS / 8;
    let fb = (regnum * HLL_BITS) & 7;
    let fb8 = 8 - fb;
    let b0 = u32::from(regs.get(byte).copied().unwrap_or(0));
    let b1 = u32::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << fb8)) & HLL_REGISTER_MAX) as u8
}

/// HLL_DENSE_SET_REGISTER on the register area.
#[inline]
fn dense_set_register(regs: &mut [u8], regnum: usize, val: u8) {
    let byte = regnum * HLL_BITS / 8;
    let fb = (regnum * HLL_BITS) & 7;
    let fb8 = 8 - fb;
    let v = u32::from(val);
    if let Some(b) = regs.get_mut(byte) {
        *b &= !((HLL_REGISTER_MAX << fb) as u8);
        *b |= (v << fb) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b &= !((HLL_REGISTER_MAX >> fb8) as u8);
        *b |= (v >> fb8) as u8;
    }
}

/// hllDenseSet: raise register `index` to `count`; true if it changed.
#[inline]
fn dense_set(regs: &mut [u8], index: usize, count: u8) -> bool {
    if count > dense_get(regs, index) {
        dense_set_register(regs, index, count);
        true
    } else {
        false
    }
}

fn dense_reg_histo(regs: &[u8], histo: &mut [u32; 64]) {
    let mut chunks = regs.chunks_exact(3);
    for r in &mut chunks {
        let (a, b, c) = (u32::from(r[0]), u32::from(r[1]), u32::from(r[2]));
        histo[(a & 63) as usize] += 1;
        histo[((a >> 6 | b << 2) & 63) as usize] += 1;
        histo[((b >> 4 | c << 4) & 63) as usize] += 1;
        histo[((c >> 2) & 63) as usize] += 1;
    }
}

// ---------------------------------------------------------------------------
// Sparse representation
// ---------------------------------------------------------------------------

#[inline]
fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
#[inline]
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == HLL_SPARSE_XZERO_BIT
}
#[inline]
fn is_val(b: u8) -> bool {
    b & HLL_SPARSE_VAL_BIT != 0
}
#[inline]
fn zero_len(b: u8) -> usize {
    usize::from(b & 0x3f) + 1
}
/// XZERO run length of the opcode at `p` (second byte past the end reads 0).
#[inline]
fn xzero_len(s: &[u8], p: usize) -> usize {
    let lo = s.get(p + 1).copied().unwrap_or(0);
    ((usize::from(s[p] & 0x3f) << 8) | usize::from(lo)) + 1
}
#[inline]
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
#[inline]
fn val_len(b: u8) -> usize {
    usize::from(b & 0x3) + 1
}
#[inline]
fn val_op(val: u8, len: usize) -> u8 {
    ((val.wrapping_sub(1)) << 2 | (len as u8).wrapping_sub(1)) | HLL_SPARSE_VAL_BIT
}
#[inline]
fn zero_op(len: usize) -> u8 {
    (len as u8).wrapping_sub(1)
}
#[inline]
fn xzero_op(len: usize) -> [u8; 2] {
    let l = len - 1;
    [((l >> 8) as u8) | HLL_SPARSE_XZERO_BIT, (l & 0xff) as u8]
}

/// Walk the sparse opcodes, calling `f(first_register, runlen, value)` for
/// each VAL run; mirrors the shared loop of hllSparseToDense / hllMerge.
/// Returns Err(Invalid) if any opcode runs past the last register or the
/// opcodes do not cover exactly HLL_REGISTERS registers (the strict check
/// Redis applies since the CVE-2025-32023 fix, present in the reference
/// 7.0.15 build; older builds only checked VAL runs for overflow).
fn sparse_walk(hll: &[u8], mut f: impl FnMut(usize, usize, u8)) -> Result<(), HllError> {
    let end = hll.len();
    let mut p = HLL_HDR_SIZE;
    let mut idx: usize = 0;
    while p < end {
        let b = hll[p];
        let runlen = if is_zero(b) {
            zero_len(b)
        } else if is_xzero(b) {
            xzero_len(hll, p)
        } else {
            val_len(b)
        };
        if runlen + idx > HLL_REGISTERS {
            return Err(HllError::Invalid);
        }
        if is_val(b) {
            f(idx, runlen, val_value(b));
            p += 1;
        } else if is_xzero(b) {
            p += 2;
        } else {
            p += 1;
        }
        idx += runlen;
    }
    if idx != HLL_REGISTERS {
        return Err(HllError::Invalid);
    }
    Ok(())
}

/// hllSparseToDense: returns the dense string (the header, including the
/// cached cardinality and unused bytes, is copied; encoding becomes dense).
fn sparse_to_dense(hll: &[u8]) -> Result<Vec<u8>, HllError> {
    let mut dense = vec![0u8; HLL_DENSE_SIZE];
    let hdr = hll.len().min(HLL_HDR_SIZE);
    dense[..hdr].copy_from_slice(&hll[..hdr]);
    dense[4] = HLL_DENSE;
    {
        let regs = &mut dense[HLL_HDR_SIZE..];
        sparse_walk(hll, |first, runlen, val| {
            for i in first..first + runlen {
                dense_set_register(regs, i, val);
            }
        })?;
    }
    Ok(dense)
}

/// hllSparseSet: raise register `index` to `count` in a sparse HLL, possibly
/// promoting it to dense. Ok(true) if a register changed.
fn sparse_set(
    hll: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_max_bytes: usize,
) -> Result<bool, HllError> {
    if count > HLL_SPARSE_VAL_MAX_VALUE {
        return promote(hll, index, count);
    }

    // Step 1: locate the opcode covering `index`.
    let mut end = hll.len();
    let mut p = HLL_HDR_SIZE;
    let mut first: usize = 0;
    let mut prev: Option<usize> = None;
    let mut span: usize = 0;
    while p < end {
        let b = hll[p];
        let oplen;
        if is_zero(b) {
            span = zero_len(b);
            oplen = 1;
        } else if is_val(b) {
            span = val_len(b);
            oplen = 1;
        } else {
            span = xzero_len(hll, p);
            oplen = 2;
        }
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(HllError::Invalid);
    }

    let b = hll[p];
    let (op_is_zero, op_is_xzero) = (is_zero(b), is_xzero(b));
    let runlen = if op_is_zero {
        zero_len(b)
    } else if op_is_xzero {
        xzero_len(hll, p)
    } else {
        val_len(b)
    };

    // Step 2: the trivial cases A, B, C are updated in place.
    let mut in_place = false;
    if !op_is_zero && !op_is_xzero {
        let oldcount = val_value(b);
        if oldcount >= count {
            return Ok(false); // case A
        }
        if runlen == 1 {
            hll[p] = val_op(count, 1); // case B
            in_place = true;
        }
    }
    if op_is_zero && runlen == 1 {
        hll[p] = val_op(count, 1); // case C
        in_place = true;
    }

    if !in_place {
        // Case D: split the opcode into up to 3 opcodes (max 5 bytes).
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        let last = first + span - 1;
        if op_is_zero || op_is_xzero {
            if index != first {
                let len = index - first;
                if len > HLL_SPARSE_ZERO_MAX_LEN {
                    seq.extend_from_slice(&xzero_op(len));
                } else {
                    seq.push(zero_op(len));
                }
            }
            seq.push(val_op(count, 1));
            if index != last {
                let len = last - index;
                if len > HLL_SPARSE_ZERO_MAX_LEN {
                    seq.extend_from_slice(&xzero_op(len));
                } else {
                    seq.push(zero_op(len));
                }
            }
        } else {
            let curval = val_value(b);
            if index != first {
                seq.push(val_op(curval, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(curval, last - index));
            }
        }

        // Step 3: substitute the new sequence for the old opcode.
        let oldlen: usize = if op_is_xzero { 2 } else { 1 };
        let newlen_total = (end + seq.len()).checked_sub(oldlen);
        let newlen_total = match newlen_total {
            Some(n) => n,
            None => return Err(HllError::Invalid),
        };
        if seq.len() > oldlen && newlen_total > sparse_max_bytes {
            return promote(hll, index, count);
        }
        let tail_start = (p + oldlen).min(end);
        hll.splice(p..tail_start, seq.iter().copied());
        // A truncated trailing XZERO leaves one byte more than Redis's
        // resulting length: that byte lies beyond the string there too.
        hll.truncate(newlen_total);
        end = hll.len();
    }

    // Step 4: merge adjacent VAL opcodes with the same value, scanning up
    // to 5 opcodes starting from the previous one.
    let mut p = prev.unwrap_or(HLL_HDR_SIZE);
    let mut scanlen = 5;
    while p < end {
        if scanlen == 0 {
            break;
        }
        scanlen -= 1;
        let b = hll[p];
        if is_xzero(b) {
            p += 2;
            continue;
        } else if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < end && is_val(hll[p + 1]) {
            let v1 = val_value(b);
            let v2 = val_value(hll[p + 1]);
            if v1 == v2 {
                let len = val_len(b) + val_len(hll[p + 1]);
                if len <= HLL_SPARSE_VAL_MAX_LEN {
                    hll[p + 1] = val_op(v1, len);
                    hll.remove(p);
                    end -= 1;
                    continue;
                }
            }
        }
        p += 1;
    }

    invalidate_cache(hll);
    Ok(true)
}

/// The `promote:` label of hllSparseSet.
fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, HllError> {
    let mut dense = sparse_to_dense(hll)?;
    let changed = dense_set(&mut dense[HLL_HDR_SIZE..], index, count);
    *hll = dense;
    Ok(changed)
}

/// Register histogram of a sparse HLL; false if the encoding is corrupted.
fn sparse_reg_histo(hll: &[u8], histo: &mut [u32; 64]) -> bool {
    if sparse_walk(hll, |_, runlen, val| {
        histo[usize::from(val)] += runlen as u32
    })
    .is_err()
    {
        return false;
    }
    // Every register not covered by a VAL run is zero.
    let nonzero: u32 = histo[1..].iter().sum();
    histo[0] = HLL_REGISTERS as u32 - nonzero;
    true
}

// ---------------------------------------------------------------------------
// Cardinality estimation
// ---------------------------------------------------------------------------

/// hllSigma from Ertl, "New cardinality estimation algorithms for
/// HyperLogLog sketches" (arXiv:1702.01284).
fn hll_sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_prime = z;
        z += x * y;
        y += y;
        if z_prime == z {
            return z;
        }
    }
}

/// hllTau from the same paper.
fn hll_tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_prime = z;
        y *= 0.5;
        // Redis writes pow(1 - x, 2), which compilers lower to a multiply.
        z -= (1.0 - x) * (1.0 - x) * y;
        if z_prime == z {
            return z / 3.0;
        }
    }
}

/// The estimator of hllCount() applied to a register histogram.
fn count_from_histo(histo: &[u32; 64]) -> u64 {
    let m = HLL_REGISTERS as f64;
    let q = HLL_Q as usize;
    let mut z = m * hll_tau((m - f64::from(histo[q + 1])) / m);
    for j in (1..=q).rev() {
        z += f64::from(histo[j]);
        z *= 0.5;
    }
    z += m * hll_sigma(f64::from(histo[0]) / m);
    let e = (HLL_ALPHA_INF * m * m / z).round();
    e as i64 as u64
}

/// hllCount for dense/sparse strings; Err(Invalid) for a corrupted sparse.
fn hll_count(hll: &[u8]) -> Result<u64, HllError> {
    let mut histo = [0u32; 64];
    match hll.get(4) {
        Some(&HLL_DENSE) => dense_reg_histo(&hll[HLL_HDR_SIZE..], &mut histo),
        Some(&HLL_SPARSE) => {
            if !sparse_reg_histo(hll, &mut histo) {
                return Err(HllError::Invalid);
            }
        }
        _ => return Err(HllError::WrongType),
    }
    Ok(count_from_histo(&histo))
}

/// hllCount on the internal HLL_RAW encoding (one byte per register).
fn raw_count(regs: &[u8; HLL_REGISTERS]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in regs.iter() {
        histo[usize::from(r & 63)] += 1;
    }
    count_from_histo(&histo)
}

/// hllMerge: max[i] = MAX(max[i], hll[i]). `hll` must be validated.
fn merge_into(max: &mut [u8; HLL_REGISTERS], hll: &[u8]) -> Result<(), HllError> {
    match hll.get(4) {
        Some(&HLL_DENSE) => {
            let regs = &hll[HLL_HDR_SIZE..];
            for (i, m) in max.iter_mut().enumerate() {
                let v = dense_get(regs, i);
                if v > *m {
                    *m = v;
                }
            }
            Ok(())
        }
        Some(&HLL_SPARSE) => sparse_walk(hll, |first, runlen, val| {
            for m in &mut max[first..first + runlen] {
                if val > *m {
                    *m = val;
                }
            }
        }),
        _ => Err(HllError::WrongType),
    }
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/// createHLLObject: an empty sparse HLL (XZERO opcodes covering all
/// registers, cached cardinality 0 and valid).
pub fn new_sparse() -> Vec<u8> {
    let mut s = Vec::with_capacity(HLL_HDR_SIZE + 2);
    s.extend_from_slice(b"HYLL");
    s.push(HLL_SPARSE);
    s.extend_from_slice(&[0u8; 11]);
    let mut aux = HLL_REGISTERS;
    while aux > 0 {
        let xzero = aux.min(HLL_SPARSE_XZERO_MAX_LEN);
        s.extend_from_slice(&xzero_op(xzero));
        aux -= xzero;
    }
    s
}

/// PFADD on an existing value: adds `elements` (the value is validated
/// first). Returns whether any register changed; if so the cached
/// cardinality is invalidated. On `Err(Invalid)` the value may already hold
/// the updates of the preceding elements (Redis keeps them too, without
/// invalidating the cache); store it back.
///
/// For a missing key use [`pfadd_create`] (Redis replies 1 in that case).
pub fn pfadd(
    hll: &mut Vec<u8>,
    elements: &[&[u8]],
    sparse_max_bytes: usize,
) -> Result<bool, HllError> {
    is_valid_hll(hll)?;
    let mut updated = false;
    for ele in elements {
        let (index, count) = pat_len(ele);
        let changed = match hll[4] {
            HLL_DENSE => dense_set(&mut hll[HLL_HDR_SIZE..], index, count),
            HLL_SPARSE => sparse_set(hll, index, count, sparse_max_bytes)?,
            _ => return Err(HllError::Invalid),
        };
        updated |= changed;
    }
    if updated {
        invalidate_cache(hll);
    }
    Ok(updated)
}

/// PFADD on a missing key: a new sparse HLL with `elements` added and the
/// cache invalidated (Redis always counts key creation as an update, so the
/// reply is 1).
pub fn pfadd_create(elements: &[&[u8]], sparse_max_bytes: usize) -> Vec<u8> {
    let mut hll = new_sparse();
    // A fresh HLL is never corrupted, so this cannot fail.
    let _ = pfadd(&mut hll, elements, sparse_max_bytes);
    invalidate_cache(&mut hll);
    hll
}

/// PFCOUNT with a single existing key: returns the cached cardinality when
/// valid, else computes it and stores it in the header (so the value
/// changes: Redis signals the key as modified and bumps dirty then).
#[allow(clippy::ptr_arg)] // same shape as the other in-place commands
pub fn pfcount(hll: &mut Vec<u8>) -> Result<u64, HllError> {
    is_valid_hll(hll)?;
    if cache_valid(hll) {
        let mut card = [0u8; 8];
        card.copy_from_slice(&hll[8..16]);
        return Ok(u64::from_le_bytes(card));
    }
    let card = hll_count(hll)?;
    hll[8..16].copy_from_slice(&card.to_le_bytes());
    Ok(card)
}

/// PFCOUNT with several keys (Redis uses this path whenever more than one
/// key is given): cardinality of the union, nothing is modified. Pass only
/// the keys that exist, in argument order (errors are reported for the
/// first offending one).
pub fn pfcount_multi(hlls: &[&[u8]]) -> Result<u64, HllError> {
    let mut max = [0u8; HLL_REGISTERS];
    for h in hlls {
        is_valid_hll(h)?;
        merge_into(&mut max, h)?;
    }
    Ok(raw_count(&max))
}

/// PFMERGE: returns the new value of the destination. `dest` is the current
/// destination value (None if missing); it is merged first, as Redis does
/// (passing it again among `sources` is harmless). The result is dense if
/// any input is dense, otherwise the destination (or a new sparse HLL)
/// receives the maximum registers via hllSparseSet (which may promote it).
/// The cached cardinality is invalidated.
pub fn pfmerge(
    dest: Option<&[u8]>,
    sources: &[&[u8]],
    sparse_max_bytes: usize,
) -> Result<Vec<u8>, HllError> {
    let mut max = [0u8; HLL_REGISTERS];
    let mut use_dense = false;
    for h in dest.into_iter().chain(sources.iter().copied()) {
        is_valid_hll(h)?;
        if h[4] == HLL_DENSE {
            use_dense = true;
        }
        merge_into(&mut max, h)?;
    }
    let mut o = match dest {
        Some(d) => d.to_vec(),
        None => new_sparse(),
    };
    if use_dense && o[4] == HLL_SPARSE {
        o = sparse_to_dense(&o)?;
    }
    for (j, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        match o[4] {
            HLL_DENSE => {
                dense_set(&mut o[HLL_HDR_SIZE..], j, m);
            }
            _ => {
                // Redis ignores the result here (the value was validated).
                let _ = sparse_set(&mut o, j, m, sparse_max_bytes);
            }
        }
    }
    invalidate_cache(&mut o);
    Ok(o)
}

/// PFDEBUG GETREG: converts a sparse value to dense in place (as Redis does;
/// the caller should bump dirty when the encoding changed) and returns the
/// 16384 register values.
pub fn pfdebug_getreg(hll: &mut Vec<u8>) -> Result<Vec<u8>, HllError> {
    is_valid_hll(hll)?;
    if hll[4] == HLL_SPARSE {
        *hll = sparse_to_dense(hll)?;
    }
    let regs = &hll[HLL_HDR_SIZE..];
    Ok((0..HLL_REGISTERS).map(|i| dense_get(regs, i)).collect())
}

/// PFDEBUG DECODE: textual dump of the sparse opcodes
/// (`z:<len>`, `Z:<len>`, `v:<val>,<len>` separated by spaces).
pub fn pfdebug_decode(hll: &[u8]) -> Result<String, HllError> {
    is_valid_hll(hll)?;
    if hll[4] != HLL_SPARSE {
        return Err(HllError::NotSparse);
    }
    let mut out = String::new();
    let mut p = HLL_HDR_SIZE;
    while p < hll.len() {
        let b = hll[p];
        if is_zero(b) {
            out.push_str(&format!("z:{} ", zero_len(b)));
            p += 1;
        } else if is_xzero(b) {
            out.push_str(&format!("Z:{} ", xzero_len(hll, p)));
            p += 2;
        } else {
            out.push_str(&format!("v:{},{} ", val_value(b), val_len(b)));
            p += 1;
        }
    }
    Ok(out.trim_matches(' ').to_string())
}

/// PFDEBUG ENCODING: "dense" or "sparse" (validate with [`is_valid_hll`]
/// first, as Redis does).
pub fn pfdebug_encoding(hll: &[u8]) -> &'static str {
    if hll.get(4) == Some(&HLL_DENSE) {
        "dense"
    } else {
        "sparse"
    }
}

/// PFDEBUG TODENSE: converts in place; true if a conversion happened.
pub fn pfdebug_todense(hll: &mut Vec<u8>) -> Result<bool, HllError> {
    is_valid_hll(hll)?;
    if hll[4] == HLL_SPARSE {
        *hll = sparse_to_dense(hll)?;
        return Ok(true);
    }
    Ok(false)
}

/// PFSELFTEST: register access and approximation-error self test. `Err`
/// carries the Redis error text (starting with `TESTFAILED`).
pub fn pfselftest(sparse_max_bytes: usize) -> Result<(), String> {
    selftest(1000, 10_000_000, sparse_max_bytes, seed_from_clock())
}

fn seed_from_clock() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    t ^ (&t as *const u64 as u64).rotate_left(32) | 1
}

fn selftest(cycles: u32, elements: u64, sparse_max_bytes: usize, seed: u64) -> Result<(), String> {
    // xorshift64* in place of rand().
    let mut state = seed | 1;
    let mut rand = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };

    // Test 1: register access.
    let mut dense = vec![0u8; HLL_DENSE_SIZE];
    let mut bytecounters = [0u8; HLL_REGISTERS];
    for _ in 0..cycles {
        for (i, bc) in bytecounters.iter_mut().enumerate() {
            let r = (rand() & u64::from(HLL_REGISTER_MAX)) as u8;
            *bc = r;
            dense_set_register(&mut dense[HLL_HDR_SIZE..], i, r);
        }
        for (i, &bc) in bytecounters.iter().enumerate() {
            let val = dense_get(&dense[HLL_HDR_SIZE..], i);
            if val != bc {
                return Err(format!(
                    "TESTFAILED Register {} should be {} but is {}",
                    i, bc, val
                ));
            }
        }
    }

    // Test 2: approximation error, dense and sparse in parallel.
    for b in &mut dense[HLL_HDR_SIZE..] {
        *b = 0;
    }
    let mut o = new_sparse();
    let relerr = 1.04 / (HLL_REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = rand();
    for j in 1..=elements {
        let ele = (j ^ seed).to_le_bytes();
        let (index, count) = pat_len(&ele);
        dense_set(&mut dense[HLL_HDR_SIZE..], index, count);
        let _ = pfadd(&mut o, &[&ele], sparse_max_bytes);
        if j != checkpoint {
            continue;
        }
        if (j as usize) < sparse_max_bytes / 2 && o[4] != HLL_SPARSE {
            return Err("TESTFAILED sparse encoding not used".to_string());
        }
        let dc = hll_count(&dense).unwrap_or(u64::MAX);
        if Ok(dc) != hll_count(&o) {
            return Err("TESTFAILED dense/sparse disagree".to_string());
        }
        let abserr = (checkpoint as i64 - dc as i64).unsigned_abs();
        let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as u64;
        if j == 10 {
            maxerr = 1;
        }
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{} abserr:{}",
                checkpoint, abserr
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Fixtures marked "Redis" were produced by a real redis-server 7.0.15
    //! (GET of the key after the same command sequence, hex encoded). Dense
    //! values (12304 bytes) are embedded as (length, FNV-1a 64 of all bytes,
    //! first 32 bytes in hex).
    use super::*;
    use proptest::prelude::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{:02x}", x)).collect()
    }
    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }
    fn fnv(b: &[u8]) -> u64 {
        b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
            (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3)
        })
    }
    fn els(prefix: &str, n: usize, start: usize) -> Vec<Vec<u8>> {
        (start..start + n)
            .map(|i| format!("{}{}", prefix, i).into_bytes())
            .collect()
    }
    fn refs(v: &[Vec<u8>]) -> Vec<&[u8]> {
        v.iter().map(|e| e.as_slice()).collect()
    }
    fn assert_dense(got: &[u8], want: (usize, u64, &str)) {
        assert_eq!(got.len(), want.0);
        assert_eq!(hex(&got[..32]), want.2);
        assert_eq!(fnv(got), want.1, "dense bytes differ from Redis");
    }
    /// PFADD one element per command (key created by the first one).
    fn add_singly(prefix: &str, n: usize, max: usize) -> Vec<u8> {
        let e = els(prefix, n, 0);
        let mut h = pfadd_create(&[&e[0]], max);
        for x in &e[1..] {
            pfadd(&mut h, &[x], max).unwrap();
        }
        h
    }
    /// PFADD in batches of `batch` elements per command.
    fn add_batches(prefix: &str, n: usize, batch: usize, max: usize) -> Vec<u8> {
        let e = els(prefix, n, 0);
        let mut chunks = e.chunks(batch);
        let mut h = pfadd_create(&refs(chunks.next().unwrap()), max);
        for c in chunks {
            pfadd(&mut h, &refs(c), max).unwrap();
        }
        h
    }
    fn reply<T: std::fmt::Debug>(r: Result<T, HllError>) -> String {
        match r {
            Ok(v) => format!("{:?}", v),
            Err(e) => format!("-{}", e.message()),
        }
    }

    // ----- Redis fixtures: normal operation (hll-sparse-max-bytes 3000 unless noted)
    const S1: &str = "48594c4c01000000000000000000008044ef8040ff9441a58c40a58454d48045f1804ad984470f8446d08840958443a1";
    const S1_COUNT: u64 = 10;
    const S1_CACHED: &str = "48594c4c010000000a0000000000000044ef8040ff9441a58c40a58454d48045f1804ad984470f8446d08840958443a1";
    const S1_DECODE: &str = "Z:1264 v:1,1 Z:256 v:6,1 Z:422 v:4,1 Z:166 v:2,1 Z:5333 v:1,1 Z:1522 v:1,1 Z:2778 v:2,1 Z:1808 v:2,1 Z:1745 v:3,1 Z:150 v:2,1 Z:930";
    const S2: &str = "48594c4c01000000000000000000008027803e84198806881380118406840a8403841d804060802e80405f80407d8440428040988840438040558424840f8425901f804047804096802d8040ce80038040748040bb8c238c23802f803880943180278c3984198421803388405880308840468040619428841688248440628436904080804056884058841c841b884043800e80318008800b8027841688408f88409f84404c8004800b800e80238003803a84088c801c8c028c404a803b84009040858408880d80258c23801c8418981580408e802380408c8000802f84228004882b80404a840b802a884042801d9c404a8041338040878425800f84088010803a80128425802e800a8411842f8439800c843b800d8c0b804066804051800880843c804078800590088018800280404e8040798423840180407680198006801b80882480412090218040538c09883b844073854046882184088030801f88208c4053881e801a8040a5900580405188408e8c406d801a843984406d800d883090038040c088068040558440cd801594408e904051801b840c840388148818802a802e80258411800c841280404e8440af88369040e8881180407a803780048440ca84405280148c04800a84228419880388404b8004880088118025800388028109803680405f80411a884050881c884051802680404a8805a830802c8c0188358040a58802904052800180405c80288040d180048040b88023813e80405a8019800c84188803842a80138c128838802f804074801e8480028006800888404f80348440628009801d803384008440cb8814803e9006803a882e80404b882b8005802488406d803b804076802880404c840e881a802d800f8040458015802184404980128400803b80008840439040a88440428809842980118440c3842f8826843e8411800a80028806804066882d903c84406f";
    const S2_COUNT: u64 = 302;
    const S2_CACHED: &str = "48594c4c010000002e0100000000000027803e84198806881380118406840a8403841d804060802e80405f80407d8440428040988840438040558424840f8425901f804047804096802d8040ce80038040748040bb8c238c23802f803880943180278c3984198421803388405880308840468040619428841688248440628436904080804056884058841c841b884043800e80318008800b8027841688408f88409f84404c8004800b800e80238003803a84088c801c8c028c404a803b84009040858408880d80258c23801c8418981580408e802380408c8000802f84228004882b80404a840b802a884042801d9c404a8041338040878425800f84088010803a80128425802e800a8411842f8439800c843b800d8c0b804066804051800880843c804078800590088018800280404e8040798423840180407680198006801b80882480412090218040538c09883b844073854046882184088030801f88208c4053881e801a8040a5900580405188408e8c406d801a843984406d800d883090038040c088068040558440cd801594408e904051801b840c840388148818802a802e80258411800c841280404e8440af88369040e8881180407a803780048440ca84405280148c04800a84228419880388404b8004880088118025800388028109803680405f80411a884050881c884051802680404a8805a830802c8c0188358040a58802904052800180405c80288040d180048040b88023813e80405a8019800c84188803842a80138c128838802f804074801e8480028006800888404f80348440628009801d803384008440cb8814803e9006803a882e80404b882b8005802488406d803b804076802880404c840e881a802d800f8040458015802184404980128400803b80008840439040a88440428809842980118440c3842f8826843e8411800a80028806804066882d903c84406f";
    const S3: (usize, u64, &str) = (
        12304,
        0x0c037cf1307f006f,
        "48594c4c00000000000000000000008000000000000002000040000000000002",
    );
    const S3_COUNT: u64 = 1999;
    const S3_CACHED: (usize, u64, &str) = (
        12304,
        0x398d4e50f4a6b1e9,
        "48594c4c00000000cf0700000000000000000000000002000040000000000002",
    );
    const M1_SPARSE_SPARSE: &str = "48594c4c01000000000000000000008027803e84198806881380118406840a8403841d804060802e80405f80407d8440428040988840438040558424840f8425901f80404780404f804045802d80408994404380038040748040bb8c238c038c1e802f8038809419841680278c3984198421803388405880308840468040619428841688248440628436904080804056884058841c841b884043800e80318008800b8027841688408f88409f84404c8004800b800e80238003803a84088c801c8c028c404a803b84009040858408880d80258c23801c8418981580408e802380408c8000802f84228004882b80404a840b802a884042801d9c404a8041338040878425800f84088010803a80128425802e800a8411842f8439800c843b800d8c0b804066804051800880843c804078800590088018800280404e8040798423840180407680198006801b8088248041209012800d8040538c09883b844073854046882184088030801f88208c4053881e801a8040a5900580405188408e8c406d801a843984406d800d8830900380404880407688068040558440cd801594408e904051801b840c840388148818802a802e80258411800c841280404e8440af88369040e8881180407a803780048440ca84405280148c04800a84228419880388404b8004880088118025800388028109803680405f80411a88404b8403881c884051802680404a8805a830802c8c0188358040a58802904052800180405c80288040d180048040b88023813e80405a8019800c84188803842a80138c128838802f804074801e84800280028402800888404f80348440628009801d803384008440cb8814803e9006803a882e80404b882b8005802488406d803b804076802880404c840e881a802d800f8040458015802184404980128400803b8000880f88329040618440458440428809842980118440c3842f8826843e8411800a80028806804066882d903c84406f";
    const M1_COUNT: u64 = 312;
    const M2_SPARSE_DENSE: (usize, u64, &str) = (
        12304,
        0x0d3541660eedab0c,
        "48594c4c00000000000000000000008000000000000002000040000000000002",
    );
    const M2_COUNT: u64 = 2009;
    const M3_EXISTING_DEST: &str = "48594c4c01000000000000000000008040c78440a98040f2803680404488416c80409b8040ab8040529440fca0407b802a8c1b8c40468440408443b5842c80069041d1842d804082844c0e804220802f80419690414280407d90407e80421680418a80411c8040508041ea8043798041c68040ae8440ae80405f9042bf8042ed84404e8441e8800d8042de8040c284413388308c40638440f28041f88040b3";
    const M3_COUNT: u64 = 50;
    const MULTI_COUNT: u64 = 2310;
    const MULTI_COUNT_SPARSE: u64 = 312;
    const D100K: (usize, u64, &str) = (
        12304,
        0xa4416bebd1661ae3,
        "48594c4c00000000000000000000008086411885300cc4310cc4600885411803",
    );
    const D100K_COUNT: u64 = 99411;
    const S2_GETREG_FNV: u64 = 0x38f0162ded971614;
    const S2_AFTER_GETREG: (usize, u64, &str) = (
        12304,
        0x47345b6025ddbb4f,
        "48594c4c000000002e0100000000000000000000000000000000000000000000",
    );
    const T1_MAX200: &str = "48594c4c01000000000000000000008040fb8041828041ca80404284412e8420844174900f8041209040cd84404c8840469c41ef88405780118840628c40508442ba8042cd842f8840b180413580416584436d8040a8880184424c80410684417484423488421f88405180405c8c438a8842a48440b78c40448040ae8c1c80413680248040a28c40a88c406b8440b68041bf8040638440ef8440708840f0804142804160802a80417194418f8041ed80411380404b8041169840e9804089";
    const T1_COUNT: u64 = 60;
    const T2_MAX200: &str = "48594c4c0100000000000000000000803880424888411180455284434aa44d5684454c8440ae9040a48045a08041628440688c40628c40e48040fd84419c80409188410088445b8441ea84409e9040ee84412480425b80048041488041cb8040cf8441f084412d884075";
    const T3_MAX200: &str = "48594c4c010000000000000000000080424080418d90416a80419580423584404d8042da80430884414190420680407c8042338841778441fd84407384446d8040478041c98c43888040d18843ce803a9441e280420f8440be84432c8c417a8041888c43a28841908047c9";
    const T4_MERGE_MAX200: &str = "48594c4c01000000000000000000008038804206804040884111803890416a804195804215841e84404d8042da80a4430784414190420680407c8042338841778441fd8440738440628444098040478040f88440ae901f8c40838043038040d18841c88041628440688c36802a8c0e9440d48040fd840d80418d804080840f8840ad8440518842d98c417a80048441828c406684409e9040ee84412480408488419080404380048041488041cb8040cf8441f084412d884075";
    const C1_AFTER: &str = "48594c4c01000000000000000000008044ef8040ff9441a58c40a58454d48045f1804ad984470f8446d08840958443a17fff";
    const C1_COUNT: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C1_MERGE: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C1_MULTI: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C1_DECODE: &str = "Z:1264 v:1,1 Z:256 v:6,1 Z:422 v:4,1 Z:166 v:2,1 Z:5333 v:1,1 Z:1522 v:1,1 Z:2778 v:2,1 Z:1808 v:2,1 Z:1745 v:3,1 Z:150 v:2,1 Z:930 Z:16384";
    const C2_ADD: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C2_AFTER: &str = "48594c4c0100000000000000000000004063";
    const C2_MERGE: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C2_MULTI: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C2_DECODE: &str = "Z:100";
    const C3_AFTER: &str = "48594c4c0100000000000000000000803f3f3f3e43f08040ff9441a58c40a58454d48045f1804ad984470f8446d08840958443";
    const C3_COUNT: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C3_MERGE: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C3_MULTI: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C3_DECODE: &str = "z:64 z:64 z:64 z:63 Z:1009 v:1,1 Z:256 v:6,1 Z:422 v:4,1 Z:166 v:2,1 Z:5333 v:1,1 Z:1522 v:1,1 Z:2778 v:2,1 Z:1808 v:2,1 Z:1745 v:3,1 Z:150 v:2,1 Z:769";
    const C5_AFTER: &str = "48594c4c01000000000000000000008044ef8040ff9441a58c40a58454d48045f1804ad984470f8446d08840958443a081";
    const C5_COUNT: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C5_MERGE: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C5_MULTI: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C5_DECODE: &str = "Z:1264 v:1,1 Z:256 v:6,1 Z:422 v:4,1 Z:166 v:2,1 Z:5333 v:1,1 Z:1522 v:1,1 Z:2778 v:2,1 Z:1808 v:2,1 Z:1745 v:3,1 Z:150 v:2,1 Z:929 v:1,2";
    const C9_AFTER: &str = "48594c4c0100000000000000000000803f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f2f800e3f3f3f30940d3f3f3f3f3f3f178c263f3e843f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f1480293f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f0780363f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f22841b3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f33840a3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f0588383f1c84213f3f3f3f3f3f3f3f3f3f3f3f3f3f";
    const C9_DECODE: &str = "z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:48 v:1,1 z:15 z:64 z:64 z:64 z:49 v:6,1 z:14 z:64 z:64 z:64 z:64 z:64 z:64 z:24 v:4,1 z:39 z:64 z:63 v:2,1 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:21 v:1,1 z:42 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:8 v:1,1 z:55 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:35 v:2,1 z:28 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:52 v:2,1 z:11 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:6 v:3,1 z:57 z:64 z:29 v:2,1 z:34 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64 z:64";
    const C10_AFTER: &str = "48594c4c01000000393000000000008044ef8040ff9441a58c40a58454d48045f1804ad984470f8446d08840958443a081";
    const C10_COUNT: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C10_MERGE: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C10_MULTI: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const C10_DECODE: &str = "Z:1264 v:1,1 Z:256 v:6,1 Z:422 v:4,1 Z:166 v:2,1 Z:5333 v:1,1 Z:1522 v:1,1 Z:2778 v:2,1 Z:1808 v:2,1 Z:1745 v:3,1 Z:150 v:2,1 Z:929 v:1,2";
    const W1_ADD: &str = "-WRONGTYPE Key is not a valid HyperLogLog string value.";
    const W2_COUNT: &str = "-WRONGTYPE Key is not a valid HyperLogLog string value.";
    const W3_COUNT: &str = "-WRONGTYPE Key is not a valid HyperLogLog string value.";
    const W4_COUNT: &str = "-WRONGTYPE Key is not a valid HyperLogLog string value.";
    const W5_ADD: &str = "-INVALIDOBJ Corrupted HLL object detected";
    const W5_COUNT: i64 = 0;
    const DD_DECODE: &str = "-ERR HLL encoding is not sparse";
    const T5_MERGE_PROMOTED: (usize, u64, &str) = (
        12304,
        0xee8f59c24cc6fe55,
        "48594c4c00000000000000000000008000000000000000000000000000000000",
    );
    const BIG_DENSE: (usize, u64, &str) = (
        12304,
        0x7662e097ec7135ae,
        "48594c4c00000000000000000000008000000000000000000000000000000000",
    );
    const BIG_ELEMENT: &str = "big6209776902";
    const BIG_COUNT: u64 = 1;
    const BIG_AFTER_SPARSE: (usize, u64, &str) = (
        12304,
        0x6a942e3daf10b4db,
        "48594c4c00000000000000000000008000000000000000000000000000000000",
    );

    const M: usize = HLL_SPARSE_MAX_BYTES_DEFAULT;

    #[test]
    fn murmurhash64a_known_values() {
        // Reference values from Redis's C MurmurHash64A.
        let cases: [(&[u8], u64, u64); 5] = [
            (b"", 0x0000000000000000, 0xd8dfea6585bc9732),
            (b"a", 0x071717d2d36b6b11, 0x53d2470a9b43b1a7),
            (b"hello", 0x1e68d17c457bf117, 0x0f656f01eecfe400),
            (b"hello world!", 0x64db099bd1512951, 0x0fc444011f57220c),
            (b"12345678", 0x758f67d162b2d202, 0x95ebb86389132953),
        ];
        for (k, h0, hs) in cases {
            assert_eq!(murmurhash64a(k, 0), h0);
            assert_eq!(murmurhash64a(k, HLL_HASH_SEED), hs);
        }
        assert_eq!(
            pat_len(b"hello"),
            (
                0x0f656f01eecfe400 & 16383,
                1 + (0x0f656f01eecfe400u64 >> 14).trailing_zeros() as u8
            )
        );
    }

    #[test]
    fn new_sparse_layout() {
        assert_eq!(hex(&new_sparse()), "48594c4c0100000000000000000000007fff");
        assert_eq!(is_valid_hll(&new_sparse()), Ok(()));
        let mut e = new_sparse();
        assert_eq!(pfcount(&mut e), Ok(0));
        assert_eq!(pfdebug_decode(&e).unwrap(), "Z:16384");
    }

    #[test]
    fn redis_small_sparse_and_cache() {
        let e = els("a", 10, 0);
        let mut h = pfadd_create(&refs(&e), M);
        assert_eq!(hex(&h), S1);
        assert_eq!(pfcount(&mut h), Ok(S1_COUNT));
        assert_eq!(hex(&h), S1_CACHED);
        assert_eq!(pfdebug_decode(&h).unwrap(), S1_DECODE);
        assert_eq!(pfdebug_encoding(&h), "sparse");
        // Idempotence: re-adding changes nothing, the cache stays valid.
        assert_eq!(pfadd(&mut h, &refs(&e), M), Ok(false));
        assert_eq!(hex(&h), S1_CACHED);
        assert_eq!(pfcount(&mut h), Ok(S1_COUNT));
    }

    #[test]
    fn redis_incremental_sparse_getreg() {
        let mut h = add_singly("b", 300, M);
        assert_eq!(hex(&h), S2);
        assert_eq!(pfcount(&mut h), Ok(S2_COUNT));
        assert_eq!(hex(&h), S2_CACHED);
        let regs = pfdebug_getreg(&mut h).unwrap();
        assert_eq!(regs.len(), HLL_REGISTERS);
        assert_eq!(fnv(&regs), S2_GETREG_FNV);
        assert_dense(&h, S2_AFTER_GETREG);
        assert_eq!(pfdebug_encoding(&h), "dense");
        assert_eq!(pfdebug_todense(&mut h), Ok(false));
        assert_eq!(pfdebug_decode(&h), Err(HllError::NotSparse));
        assert_eq!(format!("-{}", HllError::NotSparse.message()), DD_DECODE);
    }

    #[test]
    fn redis_promotion_by_size_and_dense() {
        let mut h = add_batches("c", 2000, 50, M);
        assert_eq!(pfdebug_encoding(&h), "dense");
        assert_dense(&h, S3);
        assert_eq!(pfcount(&mut h), Ok(S3_COUNT));
        assert_dense(&h, S3_CACHED);
    }

    #[test]
    fn redis_merges_and_multi_count() {
        let mut s1 = pfadd_create(&refs(&els("a", 10, 0)), M);
        let mut s2 = add_singly("b", 300, M);
        let mut s3 = add_batches("c", 2000, 50, M);
        for h in [&mut s1, &mut s2, &mut s3] {
            pfcount(h).unwrap();
        }
        let mut m1 = pfmerge(None, &[&s1, &s2], M).unwrap();
        assert_eq!(hex(&m1), M1_SPARSE_SPARSE);
        assert_eq!(pfcount(&mut m1), Ok(M1_COUNT));
        let mut m2 = pfmerge(None, &[&s1, &s3], M).unwrap();
        assert_dense(&m2, M2_SPARSE_DENSE);
        assert_eq!(pfcount(&mut m2), Ok(M2_COUNT));
        let s4 = add_singly("f", 40, M);
        let mut m3 = pfmerge(Some(&s4), &[&s1], M).unwrap();
        assert_eq!(hex(&m3), M3_EXISTING_DEST);
        assert_eq!(pfmerge(Some(&s4), &[&s4, &s1], M).unwrap(), m3);
        assert_eq!(pfcount(&mut m3), Ok(M3_COUNT));
        assert_eq!(pfcount_multi(&[&s1, &s2, &s3]), Ok(MULTI_COUNT));
        assert_eq!(pfcount_multi(&[&s1, &s2]), Ok(MULTI_COUNT_SPARSE));
        // Merging an empty set of inputs gives an empty HLL, cache invalid.
        let mut empty = pfmerge(None, &[], M).unwrap();
        assert_eq!(hex(&empty), "48594c4c0100000000000000000000807fff");
        assert_eq!(pfcount(&mut empty), Ok(0));
    }

    #[test]
    fn redis_100k_dense() {
        let mut h = add_batches("d", 100_000, 1000, M);
        assert_dense(&h, D100K);
        assert_eq!(pfcount(&mut h), Ok(D100K_COUNT));
    }

    #[test]
    fn redis_small_sparse_max_bytes() {
        let t1 = add_singly("g", 60, 200);
        assert_eq!(hex(&t1), T1_MAX200);
        let mut t1c = t1.clone();
        assert_eq!(pfcount(&mut t1c), Ok(T1_COUNT));
        let t2 = add_singly("h", 30, 200);
        let t3 = add_singly("i", 30, 200);
        assert_eq!(hex(&t2), T2_MAX200);
        assert_eq!(hex(&t3), T3_MAX200);
        assert_eq!(
            hex(&pfmerge(None, &[&t2, &t3], 200).unwrap()),
            T4_MERGE_MAX200
        );
        let t5 = pfmerge(None, &[&t1, &t2, &t3], 200).unwrap();
        assert_dense(&t5, T5_MERGE_PROMOTED);
    }

    #[test]
    fn redis_value_above_32_promotes() {
        let mut h = pfadd_create(&[BIG_ELEMENT.as_bytes()], M);
        assert_eq!(pfdebug_encoding(&h), "dense");
        assert_dense(&h, BIG_DENSE);
        assert_eq!(pfcount(&mut h), Ok(BIG_COUNT));
        let mut s = pfadd_create(&refs(&els("a", 10, 0)), M);
        assert_eq!(pfadd(&mut s, &[BIG_ELEMENT.as_bytes()], M), Ok(true));
        assert_dense(&s, BIG_AFTER_SPARSE);
    }

    #[allow(clippy::too_many_arguments)]
    fn corrupt_case(
        input: &[u8],
        count0: &str,
        add: &str,
        after: &str,
        count: &str,
        merge: &str,
        multi: &str,
        decode: &str,
    ) {
        let mut h = input.to_vec();
        assert_eq!(reply(pfcount(&mut h)), count0);
        let e = els("a", 10, 0);
        let r = pfadd(&mut h, &refs(&e), M);
        assert_eq!(reply(r.map(u8::from)), add);
        assert_eq!(hex(&h), after);
        assert_eq!(reply(pfcount(&mut h)), count);
        let m = pfmerge(None, &[&h], M);
        assert_eq!(
            if m.is_ok() {
                "+OK".to_string()
            } else {
                reply(m)
            },
            merge
        );
        assert_eq!(reply(pfcount_multi(&[&h])), multi);
        assert_eq!(reply(pfdebug_decode(&h)).trim_matches('"'), decode);
    }

    #[test]
    fn redis_corrupted_values() {
        let hdr = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        let cat = |a: &[u8]| [hdr.as_slice(), a].concat();
        corrupt_case(
            &cat(b"\x7f\xff\x7f\xff"),
            "0",
            "1",
            C1_AFTER,
            C1_COUNT,
            C1_MERGE,
            C1_MULTI,
            C1_DECODE,
        );
        corrupt_case(
            &cat(&[0x40, 99]),
            "0",
            C2_ADD,
            C2_AFTER,
            "0",
            C2_MERGE,
            C2_MULTI,
            C2_DECODE,
        );
        corrupt_case(
            &cat(b"\x3f\x3f\x3f\x3e\x7f"),
            "0",
            "1",
            C3_AFTER,
            C3_COUNT,
            C3_MERGE,
            C3_MULTI,
            C3_DECODE,
        );
        corrupt_case(
            &cat(b"\x7f\xfe\x81"),
            "0",
            "1",
            C5_AFTER,
            C5_COUNT,
            C5_MERGE,
            C5_MULTI,
            C5_DECODE,
        );
        corrupt_case(
            &cat(&[0x3f; 256]),
            "0",
            "1",
            C9_AFTER,
            "10",
            "+OK",
            "10",
            C9_DECODE,
        );
        let mut c10 = cat(b"\x7f\xfe\x81");
        c10[8..10].copy_from_slice(&[0x39, 0x30]);
        corrupt_case(
            &c10, "12345", "1", C10_AFTER, C10_COUNT, C10_MERGE, C10_MULTI, C10_DECODE,
        );

        let wt = format!("-{}", HllError::WrongType.message());
        assert_eq!(wt, W1_ADD);
        let mut w1 = [b"HYLL\x00".as_slice(), &[0u8; 111]].concat();
        assert_eq!(reply(pfadd(&mut w1, &[b"x"], M).map(u8::from)), W1_ADD);
        let mut w2 = [b"HYLL\x02".as_slice(), &[0u8; 11], b"\x7f\xff"].concat();
        assert_eq!(reply(pfcount(&mut w2)), W2_COUNT);
        let mut w3 = [b"HYLX\x01".as_slice(), &[0u8; 11], b"\x7f\xff"].concat();
        assert_eq!(reply(pfcount(&mut w3)), W3_COUNT);
        let mut w4 = b"HYLL\x01".to_vec();
        assert_eq!(reply(pfcount(&mut w4)), W4_COUNT);
        let mut w5 = hdr.clone();
        assert_eq!(reply(pfadd(&mut w5, &[b"x"], M).map(u8::from)), W5_ADD);
        assert_eq!(pfcount(&mut w5), Ok(W5_COUNT as u64));
        assert_eq!(format!("-{}", HllError::Invalid.message()), W5_ADD);
        assert_eq!(
            pfcount_multi(&[&new_sparse(), &w4]),
            Err(HllError::WrongType)
        );
        assert_eq!(pfmerge(Some(&w3), &[], M), Err(HllError::WrongType));
    }

    #[test]
    fn redis_trailing_opcode_past_last_register() {
        // XZERO:16384 followed by a VAL: rejected everywhere by Redis 7.0.15
        // (strict overflow checks of the CVE-2025-32023 fix).
        let mut h = unhex("48594c4c0100000000000000000000807fff80");
        assert_eq!(pfcount(&mut h), Err(HllError::Invalid));
        assert_eq!(pfmerge(None, &[&h], M), Err(HllError::Invalid));
        assert_eq!(pfcount_multi(&[&h]), Err(HllError::Invalid));
        assert_eq!(pfadd(&mut h, &[b"a0"], M), Ok(true));
        assert_eq!(hex(&h), "48594c4c0100000000000000000000807c5c8443a180");
        assert_eq!(
            pfadd(&mut h, &[BIG_ELEMENT.as_bytes()], M),
            Err(HllError::Invalid)
        );
        assert_eq!(hex(&h), "48594c4c0100000000000000000000807c5c8443a180");
        assert_eq!(pfdebug_getreg(&mut h), Err(HllError::Invalid));
    }

    #[test]
    fn sparse_and_dense_agree() {
        let e = els("x", 5000, 0);
        let mut sparse = pfadd_create(&[], usize::MAX);
        let mut dense = new_sparse();
        pfdebug_todense(&mut dense).unwrap();
        for (i, chunk) in e.chunks(7).enumerate() {
            pfadd(&mut sparse, &refs(chunk), usize::MAX).unwrap();
            pfadd(&mut dense, &refs(chunk), M).unwrap();
            if i % 97 == 0 {
                let (mut a, mut b) = (sparse.clone(), dense.clone());
                assert_eq!(pfcount(&mut a), pfcount(&mut b));
                assert_eq!(pfdebug_getreg(&mut a), pfdebug_getreg(&mut b));
            }
        }
        assert_eq!(pfdebug_encoding(&sparse), "sparse");
        let mut promoted = sparse.clone();
        assert_eq!(pfdebug_todense(&mut promoted), Ok(true));
        promoted[15] = dense[15];
        promoted[8..15].copy_from_slice(&dense[8..15]);
        assert_eq!(promoted, dense);
    }

    #[test]
    fn promotion_threshold() {
        let e = els("p", 3000, 0);
        let mut h = pfadd_create(&[], M);
        let mut promoted_at = None;
        for (i, x) in e.iter().enumerate() {
            let before = h.len();
            pfadd(&mut h, &[x], M).unwrap();
            if h[4] == HLL_DENSE {
                assert!(before <= M);
                promoted_at = Some(i);
                break;
            }
            assert!(h.len() <= M);
        }
        let at = promoted_at.expect("never promoted");
        assert!(at > 500 && at < 3000, "promoted after {} elements", at);
        assert_eq!(h.len(), HLL_DENSE_SIZE);
    }

    #[test]
    fn counts_within_expected_error() {
        let relerr = 1.04 / (HLL_REGISTERS as f64).sqrt();
        let mut h = pfadd_create(&[], M);
        let mut next = 1usize;
        for i in 1..=100_000usize {
            let ele = format!("elem:{}", i);
            pfadd(&mut h, &[ele.as_bytes()], M).unwrap();
            if i == next || i % 7919 == 0 {
                let c = pfcount(&mut h).unwrap() as f64;
                let err = (c - i as f64).abs();
                let max = if i < 100 {
                    1.0
                } else {
                    (relerr * 6.0 * i as f64).ceil()
                };
                assert!(err <= max, "card {} estimated {}", i, c);
                if i == next {
                    next *= 10;
                }
            }
        }
    }

    #[test]
    fn selftest_passes() {
        assert_eq!(selftest(3, 20_000, M, 0x1234_5678), Ok(()));
    }

    fn any_hll() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // Random sparse body behind a valid header.
            (
                any::<[u8; 11]>(),
                proptest::collection::vec(any::<u8>(), 0..64)
            )
                .prop_map(|(h, b)| { [b"HYLL\x01".as_slice(), &h, &b].concat() }),
            // Sparse bodies built from plausible opcodes (more often "almost valid").
            proptest::collection::vec(
                prop_oneof![
                    (0u8..64).prop_map(|x| vec![x]),
                    (0u8..64, any::<u8>()).prop_map(|(a, b)| vec![0x40 | a, b]),
                    (0x80u8..=0xff).prop_map(|x| vec![x]),
                    Just(vec![0x7f, 0xff]),
                    Just(vec![0x7f]),
                ],
                0..40
            )
            .prop_map(|ops| [
                b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".as_slice(),
                &ops.concat()
            ]
            .concat()),
            // Random dense registers.
            proptest::collection::vec(any::<u8>(), HLL_DENSE_SIZE - 5..=HLL_DENSE_SIZE - 5)
                .prop_map(|b| [b"HYLL\x00".as_slice(), &b].concat()),
            // Anything at all.
            proptest::collection::vec(any::<u8>(), 0..40),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn corrupted_input_never_panics(a in any_hll(), b in any_hll(), max in 0usize..4000,
                                        eles in proptest::collection::vec(any::<u32>(), 0..40)) {
            let eles: Vec<Vec<u8>> = eles.iter().map(|e| e.to_le_bytes().to_vec()).collect();
            let eles = refs(&eles);
            let _ = is_valid_hll(&a);
            let _ = pfcount_multi(&[&a, &b]);
            let _ = pfmerge(Some(&a), &[&b], max);
            let _ = pfmerge(None, &[&a, &b], max);
            let _ = pfdebug_decode(&a);
            let _ = pfdebug_encoding(&a);
            let mut x = a.clone();
            let _ = pfadd(&mut x, &eles, max);
            let _ = pfcount(&mut x);
            let _ = pfadd(&mut x, &eles, max);
            let mut y = x.clone();
            let _ = pfdebug_getreg(&mut y);
            let mut z = a.clone();
            let _ = pfdebug_todense(&mut z);
            let _ = pfadd(&mut z, &eles, max);
            if is_valid_hll(&x).is_ok() && x[4] == HLL_DENSE {
                prop_assert_eq!(x.len(), HLL_DENSE_SIZE);
            }
        }

        #[test]
        fn adds_are_idempotent_and_order_independent(
            eles in proptest::collection::vec(any::<u16>(), 1..300), max in 100usize..4000) {
            let v: Vec<Vec<u8>> = eles.iter().map(|e| format!("k{}", e).into_bytes()).collect();
            let mut a = pfadd_create(&refs(&v), max);
            let mut rev = v.clone();
            rev.reverse();
            let mut b = pfadd_create(&refs(&rev), usize::MAX);
            prop_assert_eq!(pfadd(&mut a, &refs(&v), max), Ok(false));
            prop_assert_eq!(pfdebug_getreg(&mut a.clone()), pfdebug_getreg(&mut b.clone()));
            prop_assert_eq!(pfcount(&mut a), pfcount(&mut b));
            prop_assert_eq!(pfcount_multi(&[&a, &b]), pfcount(&mut b));
        }
    }
}
