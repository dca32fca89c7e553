//! Pure byte-string algorithms behind the Redis 7.0 bit commands (`bitops.c`):
//! SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO.
//!
//! Everything here works on plain byte slices / `Vec<u8>`; key lookup, type
//! checks (WRONGTYPE), keyspace notifications and dirty counting are left to
//! the command handlers. Bit numbering follows Redis: bit 0 is the most
//! significant bit of byte 0.
//!
//! Argument parsing helpers reproduce Redis's exact error texts (see
//! [`BitError::message`]). Integers are parsed with Redis's strict
//! `string2ll` rules (no `+`, no leading zeros, no spaces).
//!
//! Notes for callers (Redis 7.0 behaviour that lives outside this module):
//! * BITCOUNT / BITPOS on a missing key: BITCOUNT replies 0, BITPOS replies
//!   `-1` when looking for 1 and `0` when looking for 0 (a missing key is an
//!   infinite run of zeros). An *existing empty* string is different: pass it
//!   to [`bitpos`], which answers `-1` for both bits, as Redis does.
//! * BITOP: if the result is empty (all sources missing/empty) Redis deletes
//!   the destination key and replies 0; otherwise it stores the result and
//!   replies its length.
//! * BITFIELD: if any SET/INCRBY is present the key is created / grown up
//!   front (even when every write fails with OVERFLOW FAIL); with only GETs
//!   (or BITFIELD_RO) the key is never created. See [`execute_bitfield`].
//! * Mutating functions grow the string with zero bytes. Offsets are meant to
//!   come from [`parse_bit_offset`] (bounded by proto-max-bulk-len); if the
//!   needed length cannot even be represented/allocated (`try_reserve`
//!   fails) the string is left unchanged and out-of-range writes are dropped
//!   instead of panicking.

use std::fmt;

/// Default `proto-max-bulk-len` (512 MB), the usual `max_bytes` argument.
pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// Errors produced by the parsing helpers; [`BitError::message`] gives the
/// exact Redis reply text (including the `ERR ` prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitError {
    /// `ERR syntax error`
    Syntax,
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// `ERR bit offset is not an integer or out of range`
    BitOffset,
    /// `ERR bit is not an integer or out of range` (SETBIT value)
    BitValue,
    /// `ERR The bit argument must be 1 or 0.` (BITPOS)
    BitposBit,
    /// `ERR Invalid bitfield type. ...`
    InvalidType,
    /// `ERR Invalid OVERFLOW type specified`
    InvalidOverflow,
    /// `ERR BITFIELD_RO only supports the GET subcommand`
    ReadonlyOnlyGet,
    /// `ERR BITOP NOT must be called with a single source key.`
    BitopNotSingleSource,
}

impl BitError {
    /// Exact Redis 7.0 error reply text.
    pub fn message(&self) -> &'static str {
        match self {
            BitError::Syntax => "ERR syntax error",
            BitError::NotInteger => "ERR value is not an integer or out of range",
            BitError::BitOffset => "ERR bit offset is not an integer or out of range",
            BitError::BitValue => "ERR bit is not an integer or out of range",
            BitError::BitposBit => "ERR The bit argument must be 1 or 0.",
            BitError::InvalidType => {
                "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
            }
            BitError::InvalidOverflow => "ERR Invalid OVERFLOW type specified",
            BitError::ReadonlyOnlyGet => "ERR BITFIELD_RO only supports the GET subcommand",
            BitError::BitopNotSingleSource => {
                "ERR BITOP NOT must be called with a single source key."
            }
        }
    }
}

impl fmt::Display for BitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for BitError {}

// ---------------------------------------------------------------------------
// Small parsing helpers
// ---------------------------------------------------------------------------

/// Strict integer parsing with the semantics of Redis `string2ll`:
/// optional `-`, no `+`, no leading zeros (except "0" itself), no spaces,
/// must fit in i64.
pub fn parse_i64_strict(s: &[u8]) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

fn parse_ll(arg: &[u8]) -> Result<i64, BitError> {
    parse_i64_strict(arg).ok_or(BitError::NotInteger)
}

/// Parse a bit offset like Redis `getBitOffsetFromArgument`.
///
/// With `hash == true` and `bits > 0`, the `#N` form is accepted and means
/// `N * bits` (multiplication wraps like the C code does). The offset must be
/// non-negative and `offset / 8 < max_bytes` (proto-max-bulk-len, 512MB by
/// default, see [`DEFAULT_MAX_BYTES`]).
pub fn parse_bit_offset(
    arg: &[u8],
    hash: bool,
    bits: u64,
    max_bytes: u64,
) -> Result<u64, BitError> {
    let usehash = hash && bits > 0 && arg.first() == Some(&b'#');
    let digits = if usehash { &arg[1..] } else { arg };
    let mut off = parse_i64_strict(digits).ok_or(BitError::BitOffset)?;
    if usehash {
        off = off.wrapping_mul(bits.min(i64::MAX as u64) as i64);
    }
    if off < 0 || ((off >> 3) as u64) >= max_bytes {
        return Err(BitError::BitOffset);
    }
    Ok(off as u64)
}

/// Parse the SETBIT value argument (must be 0 or 1).
pub fn parse_setbit_value(arg: &[u8]) -> Result<bool, BitError> {
    match parse_i64_strict(arg) {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        _ => Err(BitError::BitValue),
    }
}

/// Parse the BITPOS `bit` argument: non-integer → `NotInteger`,
/// integer other than 0/1 → `BitposBit`.
pub fn parse_bitpos_bit(arg: &[u8]) -> Result<u8, BitError> {
    match parse_ll(arg)? {
        0 => Ok(0),
        1 => Ok(1),
        _ => Err(BitError::BitposBit),
    }
}

/// Parse a `BIT` / `BYTE` unit keyword (case-insensitive). Returns `true`
/// for BIT. Anything else is a syntax error.
pub fn parse_unit(arg: &[u8]) -> Result<bool, BitError> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(BitError::Syntax)
    }
}

/// Parse a BITCOUNT/BITPOS range index (`ERR value is not an integer...`).
pub fn parse_index(arg: &[u8]) -> Result<i64, BitError> {
    parse_ll(arg)
}

// ---------------------------------------------------------------------------
// Growth helper
// ---------------------------------------------------------------------------

/// Grow `s` with zeros to at least `len` bytes. Returns false (leaving `s`
/// untouched) if the allocation is impossible.
fn ensure_len(s: &mut Vec<u8>, len: u64) -> bool {
    let cur = s.len() as u64;
    if len <= cur {
        return true;
    }
    let Ok(len) = usize::try_from(len) else {
        return false;
    };
    if len > isize::MAX as usize || s.try_reserve_exact(len - s.len()).is_err() {
        return false;
    }
    s.resize(len, 0);
    true
}

// ---------------------------------------------------------------------------
// GETBIT / SETBIT
// ---------------------------------------------------------------------------

/// GETBIT: the bit at `bitoffset`, 0 beyond the end of the string.
pub fn getbit(s: &[u8], bitoffset: u64) -> u8 {
    let byte = bitoffset >> 3;
    if byte >= s.len() as u64 {
        return 0;
    }
    (s[byte as usize] >> (7 - (bitoffset & 7))) & 1
}

/// SETBIT: set/clear the bit, growing the string with zero bytes so the bit
/// is addressable. Returns the previous bit value.
pub fn setbit(s: &mut Vec<u8>, bitoffset: u64, on: bool) -> u8 {
    let byte = bitoffset >> 3;
    if !ensure_len(s, byte + 1) {
        return 0;
    }
    let b = &mut s[byte as usize];
    let shift = 7 - (bitoffset & 7);
    let old = (*b >> shift) & 1;
    *b = (*b & !(1u8 << shift)) | ((on as u8) << shift);
    old
}

// ---------------------------------------------------------------------------
// BITCOUNT
// ---------------------------------------------------------------------------

/// Fast population count of a byte slice.
pub fn popcount(s: &[u8]) -> u64 {
    let mut chunks = s.chunks_exact(8);
    let mut total: u64 = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        total += u64::from(u64::from_ne_bytes(w).count_ones());
    }
    for &b in chunks.remainder() {
        total += u64::from(b.count_ones());
    }
    total
}

/// Normalized range shared by BITCOUNT/BITPOS: byte indexes plus edge masks
/// of the bits that are *outside* the range in the first/last byte.
struct Range {
    start: i64,
    end: i64,
    first_neg_mask: u8,
    last_neg_mask: u8,
}

fn normalize(totlen_bytes: i64, mut start: i64, mut end: i64, unit_bit: bool) -> Range {
    let totlen = if unit_bit {
        totlen_bytes.saturating_mul(8)
    } else {
        totlen_bytes
    };
    if start < 0 {
        start = totlen.saturating_add(start);
    }
    if end < 0 {
        end = totlen.saturating_add(end);
    }
    if start < 0 {
        start = 0;
    }
    if end < 0 {
        end = 0;
    }
    if end >= totlen {
        end = totlen - 1;
    }
    let mut r = Range {
        start,
        end,
        first_neg_mask: 0,
        last_neg_mask: 0,
    };
    if unit_bit && start <= end {
        r.first_neg_mask = !((1u32 << (8 - (start & 7))) - 1) as u8;
        r.last_neg_mask = ((1u32 << (7 - (end & 7))) - 1) as u8;
        r.start = start >> 3;
        r.end = end >> 3;
    }
    r
}

/// BITCOUNT on an existing string. `range` is `(start, end)` in bytes, or in
/// bits when `unit_bit`; negative indexes count from the end. Missing key →
/// caller replies 0 (same as an empty string here).
pub fn bitcount(s: &[u8], range: Option<(i64, i64)>, unit_bit: bool) -> u64 {
    let totlen = s.len() as i64;
    let r = match range {
        None => Range {
            start: 0,
            end: totlen - 1,
            first_neg_mask: 0,
            last_neg_mask: 0,
        },
        Some((start, end)) => {
            if start < 0 && end < 0 && start > end {
                return 0;
            }
            normalize(totlen, start, end, unit_bit)
        }
    };
    if r.start > r.end {
        return 0;
    }
    // Precondition: 0 <= start <= end < len.
    let (st, en) = (r.start as usize, r.end as usize);
    let mut count = popcount(&s[st..=en]);
    count -= u64::from((s[st] & r.first_neg_mask).count_ones());
    count -= u64::from((s[en] & r.last_neg_mask).count_ones());
    count
}

// ---------------------------------------------------------------------------
// BITPOS
// ---------------------------------------------------------------------------

/// Equivalent of `redisBitpos`: first position of `bit` in `s`. When looking
/// for 0 and none is found, returns `s.len()*8` (string considered zero
/// padded on the right). When looking for 1 and none is found, returns -1.
fn raw_bitpos(s: &[u8], bit: u8) -> i64 {
    let skip8: u8 = if bit != 0 { 0 } else { 0xff };
    let skip64: u64 = if bit != 0 { 0 } else { u64::MAX };
    let mut pos: usize = 0;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if u64::from_ne_bytes(w) != skip64 {
            break;
        }
        pos += 8;
    }
    for &b in &s[pos..] {
        if b != skip8 {
            let x = if bit != 0 { b } else { !b };
            return (pos as i64) * 8 + i64::from(x.leading_zeros() as u8);
        }
        pos += 1;
    }
    if bit != 0 {
        -1
    } else {
        (s.len() as i64) * 8
    }
}

/// BITPOS on an existing string, exactly as Redis 7.0 `bitposCommand`.
///
/// * `start == None && end == None`: whole string, BYTE unit.
/// * `end == None`: to the end of the string; when looking for 0 and the
///   range is all ones, the result is the first bit after the string.
/// * `end` given: when looking for 0 and the range is all ones → -1.
/// * empty range (start > end after normalization, including an existing
///   empty string) → -1.
/// * a *missing* key is handled by the caller: bit 1 → -1, bit 0 → 0.
///
/// Any `bit` other than 0 is treated as 1.
pub fn bitpos(s: &[u8], bit: u8, start: Option<i64>, end: Option<i64>, unit_bit: bool) -> i64 {
    let bit = u8::from(bit != 0);
    let totlen = s.len() as i64;
    let end_given = end.is_some();
    let r = if start.is_none() && end.is_none() {
        Range {
            start: 0,
            end: totlen - 1,
            first_neg_mask: 0,
            last_neg_mask: 0,
        }
    } else {
        let st = start.unwrap_or(0);
        let en = match end {
            Some(e) => e,
            None => {
                if unit_bit {
                    totlen.saturating_mul(8).saturating_add(7)
                } else {
                    totlen - 1
                }
            }
        };
        normalize(totlen, st, en, unit_bit)
    };
    if r.start > r.end {
        return -1;
    }
    let end = r.end as usize;
    let mut start = r.start as usize;
    let mut bytes = end - start + 1;
    let (first, last) = (r.first_neg_mask, r.last_neg_mask);
    let apply = |b: u8, mask: u8| if bit != 0 { b & !mask } else { b | mask };

    let pos = 'found: {
        if first != 0 {
            let mut tmp = apply(s[start], first);
            if last != 0 && bytes == 1 {
                tmp = apply(tmp, last);
            }
            let pos = raw_bitpos(&[tmp], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            start += 1;
            bytes -= 1;
        }
        let curbytes = bytes - usize::from(last != 0);
        if curbytes > 0 {
            let pos = raw_bitpos(&s[start..start + curbytes], bit);
            if bytes == curbytes || (pos != -1 && pos != (curbytes as i64) * 8) {
                break 'found pos;
            }
            start += curbytes;
            bytes -= curbytes;
        }
        raw_bitpos(&[apply(s[end], last)], bit)
    };

    if end_given && bit == 0 && pos == (bytes as i64) * 8 {
        return -1;
    }
    if pos != -1 {
        pos + (start as i64) * 8
    } else {
        pos
    }
}

// ---------------------------------------------------------------------------
// BITOP
// ---------------------------------------------------------------------------

/// BITOP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

impl BitOp {
    /// Parse the operation name (case-insensitive); unknown → syntax error.
    pub fn parse(arg: &[u8]) -> Result<BitOp, BitError> {
        if arg.eq_ignore_ascii_case(b"and") {
            Ok(BitOp::And)
        } else if arg.eq_ignore_ascii_case(b"or") {
            Ok(BitOp::Or)
        } else if arg.eq_ignore_ascii_case(b"xor") {
            Ok(BitOp::Xor)
        } else if arg.eq_ignore_ascii_case(b"not") {
            Ok(BitOp::Not)
        } else {
            Err(BitError::Syntax)
        }
    }

    /// Check the number of source keys (NOT takes exactly one).
    pub fn check_sources(self, nsrcs: usize) -> Result<(), BitError> {
        if self == BitOp::Not && nsrcs != 1 {
            Err(BitError::BitopNotSingleSource)
        } else {
            Ok(())
        }
    }
}

/// BITOP: result length is the longest source; shorter/missing sources
/// (pass `&[]`) are zero padded. NOT uses only the first source (callers
/// must reject other counts with [`BitOp::check_sources`]). No sources →
/// empty result.
pub fn bitop(op: BitOp, srcs: &[&[u8]]) -> Vec<u8> {
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let Some(first) = srcs.first() else {
        return Vec::new();
    };
    let mut res = Vec::with_capacity(maxlen);
    res.extend_from_slice(first);
    res.resize(maxlen, 0);
    match op {
        BitOp::Not => {
            for b in res.iter_mut() {
                *b = !*b;
            }
        }
        BitOp::And => {
            for src in &srcs[1..] {
                for (r, b) in res.iter_mut().zip(src.iter()) {
                    *r &= *b;
                }
                let n = src.len();
                res[n..].fill(0);
            }
        }
        BitOp::Or => {
            for src in &srcs[1..] {
                for (r, b) in res.iter_mut().zip(src.iter()) {
                    *r |= *b;
                }
            }
        }
        BitOp::Xor => {
            for src in &srcs[1..] {
                for (r, b) in res.iter_mut().zip(src.iter()) {
                    *r ^= *b;
                }
            }
        }
    }
    res
}

// ---------------------------------------------------------------------------
// BITFIELD
// ---------------------------------------------------------------------------

/// BITFIELD integer type: `Signed(1..=64)` or `Unsigned(1..=63)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Signed(u8),
    Unsigned(u8),
}

impl FieldType {
    /// Width in bits, clamped into the valid range (1..=64 / 1..=63) so that
    /// hand-built invalid types cannot cause panics.
    pub fn bits(self) -> u32 {
        match self {
            FieldType::Signed(b) => u32::from(b).clamp(1, 64),
            FieldType::Unsigned(b) => u32::from(b).clamp(1, 63),
        }
    }

    pub fn is_signed(self) -> bool {
        matches!(self, FieldType::Signed(_))
    }
}

/// Parse `i1`..`i64` / `u1`..`u63` like `getBitfieldTypeFromArgument`
/// (lowercase prefix only; like the C `strlen`, parsing stops at a NUL byte).
pub fn parse_type(arg: &[u8]) -> Result<FieldType, BitError> {
    let arg = match arg.iter().position(|&c| c == 0) {
        Some(n) => &arg[..n],
        None => arg,
    };
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BitError::InvalidType),
    };
    let n = parse_i64_strict(&arg[1..]).ok_or(BitError::InvalidType)?;
    if n < 1 || (signed && n > 64) || (!signed && n > 63) {
        return Err(BitError::InvalidType);
    }
    Ok(if signed {
        FieldType::Signed(n as u8)
    } else {
        FieldType::Unsigned(n as u8)
    })
}

/// BITFIELD overflow behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    #[default]
    Wrap,
    Sat,
    Fail,
}

impl Overflow {
    /// Parse WRAP / SAT / FAIL (case-insensitive).
    pub fn parse(arg: &[u8]) -> Result<Overflow, BitError> {
        if arg.eq_ignore_ascii_case(b"wrap") {
            Ok(Overflow::Wrap)
        } else if arg.eq_ignore_ascii_case(b"sat") {
            Ok(Overflow::Sat)
        } else if arg.eq_ignore_ascii_case(b"fail") {
            Ok(Overflow::Fail)
        } else {
            Err(BitError::InvalidOverflow)
        }
    }
}

/// Read `bits` (1..=64) bits at `offset` as an unsigned number; bits beyond
/// the end of `s` read as zero.
fn read_bits(s: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v: u64 = 0;
    for j in 0..u64::from(bits) {
        let bit = match offset.checked_add(j) {
            Some(o) => getbit(s, o),
            None => 0,
        };
        v = (v << 1) | u64::from(bit);
    }
    v
}

/// Write the low `bits` bits of `value` at `offset`; bits beyond the end of
/// `s` are dropped (callers grow the string first).
fn write_bits(s: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let Some(o) = offset.checked_add(j) else {
            return;
        };
        let byte = o >> 3;
        if byte >= s.len() as u64 {
            return;
        }
        let bitval = ((value >> (u64::from(bits) - 1 - j)) & 1) as u8;
        let shift = 7 - (o & 7);
        let b = &mut s[byte as usize];
        *b = (*b & !(1u8 << shift)) | (bitval << shift);
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    if bits < 64 && v & (1u64 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Port of `checkUnsignedBitfieldOverflow`. Returns (0 | 1 | -1, limit);
/// `limit` is meaningful only for Wrap/Sat when the first value is non-zero.
pub fn check_unsigned_overflow(value: u64, incr: i64, bits: u32, ov: Overflow) -> (i32, u64) {
    let bits = bits.clamp(1, 64);
    let max: u64 = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || {
        let mask = if bits == 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    if value > max || (incr > 0 && incr > maxincr) {
        match ov {
            Overflow::Wrap => (1, wrap()),
            Overflow::Sat => (1, max),
            Overflow::Fail => (1, 0),
        }
    } else if incr < 0 && incr < minincr {
        match ov {
            Overflow::Wrap => (1, wrap()),
            Overflow::Sat => (-1, 0),
            Overflow::Fail => (-1, 0),
        }
    } else {
        (0, 0)
    }
}

/// Port of `checkSignedBitfieldOverflow` (same wrapping arithmetic, hence the
/// same quirks, e.g. `SET i8 -9223372036854775808` saturates to +127).
pub fn check_signed_overflow(value: i64, incr: i64, bits: u32, ov: Overflow) -> (i32, i64) {
    let bits = bits.clamp(1, 64);
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min: i64 = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        match ov {
            Overflow::Wrap => (1, wrap()),
            Overflow::Sat => (1, max),
            Overflow::Fail => (1, 0),
        }
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        match ov {
            Overflow::Wrap => (1, wrap()),
            Overflow::Sat => (-1, min),
            Overflow::Fail => (-1, 0),
        }
    } else {
        (0, 0)
    }
}

/// BITFIELD GET: read a field (zero padded past the end of the string).
/// Unsigned values are at most 63 bits so always fit in i64.
pub fn get_field(s: &[u8], offset: u64, t: FieldType) -> i64 {
    let bits = t.bits();
    let v = read_bits(s, offset, bits);
    if t.is_signed() {
        sign_extend(v, bits)
    } else {
        v as i64
    }
}

fn needed_len(offset: u64, bits: u32) -> u64 {
    // (offset + bits - 1) / 8 + 1, saturating (ensure_len then fails).
    offset.saturating_add(u64::from(bits) - 1) / 8 + 1
}

/// Raw BITFIELD write: stores the low bits of `value` (two's complement
/// truncation, identical to `OVERFLOW WRAP`), growing the string. Returns the
/// old value.
pub fn set_field(s: &mut Vec<u8>, offset: u64, t: FieldType, value: i64) -> i64 {
    ensure_len(s, needed_len(offset, t.bits()));
    let old = get_field(s, offset, t);
    write_bits(s, offset, t.bits(), value as u64);
    old
}

/// Shared SET/INCRBY logic (string must already be grown). Returns
/// `(old, Some(new))`, or `(old, None)` when OVERFLOW FAIL blocked the write.
fn apply_write(
    s: &mut [u8],
    offset: u64,
    t: FieldType,
    arg: i64,
    incr: bool,
    ov: Overflow,
) -> (i64, Option<i64>) {
    let bits = t.bits();
    let (old, newval, overflow) = if t.is_signed() {
        let old = sign_extend(read_bits(s, offset, bits), bits);
        if incr {
            let (o, lim) = check_signed_overflow(old, arg, bits, ov);
            (
                old,
                if o != 0 { lim } else { old.wrapping_add(arg) },
                o != 0,
            )
        } else {
            let (o, lim) = check_signed_overflow(arg, 0, bits, ov);
            (old, if o != 0 { lim } else { arg }, o != 0)
        }
    } else {
        let old = read_bits(s, offset, bits);
        if incr {
            let (o, lim) = check_unsigned_overflow(old, arg, bits, ov);
            (
                old as i64,
                if o != 0 {
                    lim as i64
                } else {
                    old.wrapping_add(arg as u64) as i64
                },
                o != 0,
            )
        } else {
            let (o, lim) = check_unsigned_overflow(arg as u64, 0, bits, ov);
            (old as i64, if o != 0 { lim as i64 } else { arg }, o != 0)
        }
    };
    if overflow && ov == Overflow::Fail {
        return (old, None);
    }
    write_bits(s, offset, bits, newval as u64);
    (old, Some(newval))
}

/// BITFIELD SET with overflow handling (Redis checks SET values against the
/// type range too: WRAP truncates, SAT clamps, FAIL writes nothing). Grows
/// the string (also on FAIL, as Redis does). Returns `Some(old)` — the
/// reply — or `None` (nil) on FAIL overflow.
pub fn set_field_overflow(
    s: &mut Vec<u8>,
    offset: u64,
    t: FieldType,
    value: i64,
    ov: Overflow,
) -> Option<i64> {
    ensure_len(s, needed_len(offset, t.bits()));
    let (old, new) = apply_write(s, offset, t, value, false, ov);
    new.map(|_| old)
}

/// BITFIELD INCRBY. Grows the string (also on FAIL). Returns
/// `(old, Some(new))`, or `(old, None)` when FAIL overflow prevented the
/// write (reply nil). The reply for INCRBY is the new value.
pub fn incr_field(
    s: &mut Vec<u8>,
    offset: u64,
    t: FieldType,
    incr: i64,
    ov: Overflow,
) -> (i64, Option<i64>) {
    ensure_len(s, needed_len(offset, t.bits()));
    apply_write(s, offset, t, incr, true, ov)
}

/// One parsed BITFIELD subcommand. `Overflow` changes the behaviour of the
/// following SET/INCRBY ops (default WRAP) and produces no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitfieldOp {
    Get {
        t: FieldType,
        offset: u64,
    },
    Set {
        t: FieldType,
        offset: u64,
        value: i64,
    },
    Incr {
        t: FieldType,
        offset: u64,
        incr: i64,
    },
    Overflow(Overflow),
}

/// Parse BITFIELD / BITFIELD_RO arguments (everything after the key), with
/// Redis's error precedence: errors are reported in argument order; the
/// BITFIELD_RO restriction is checked only after everything parsed.
/// (Redis then checks WRONGTYPE, which is the caller's job.)
pub fn parse_bitfield_args(
    args: &[&[u8]],
    readonly: bool,
    max_bytes: u64,
) -> Result<Vec<BitfieldOp>, BitError> {
    let mut ops = Vec::new();
    let mut has_write = false;
    let mut j = 0usize;
    while j < args.len() {
        let rem = args.len() - j - 1;
        let sub = args[j];
        let kind = if sub.eq_ignore_ascii_case(b"get") && rem >= 2 {
            0
        } else if sub.eq_ignore_ascii_case(b"set") && rem >= 3 {
            1
        } else if sub.eq_ignore_ascii_case(b"incrby") && rem >= 3 {
            2
        } else if sub.eq_ignore_ascii_case(b"overflow") && rem >= 1 {
            ops.push(BitfieldOp::Overflow(Overflow::parse(args[j + 1])?));
            j += 2;
            continue;
        } else {
            return Err(BitError::Syntax);
        };
        let t = parse_type(args[j + 1])?;
        let offset = parse_bit_offset(args[j + 2], true, u64::from(t.bits()), max_bytes)?;
        match kind {
            0 => {
                ops.push(BitfieldOp::Get { t, offset });
                j += 3;
            }
            _ => {
                has_write = true;
                let v = parse_ll(args[j + 3])?;
                ops.push(if kind == 1 {
                    BitfieldOp::Set {
                        t,
                        offset,
                        value: v,
                    }
                } else {
                    BitfieldOp::Incr { t, offset, incr: v }
                });
                j += 4;
            }
        }
    }
    if readonly && has_write {
        return Err(BitError::ReadonlyOnlyGet);
    }
    Ok(ops)
}

/// True if the ops contain no SET/INCRBY (Redis then does a read lookup and
/// never creates/grows the key).
pub fn bitfield_is_readonly(ops: &[BitfieldOp]) -> bool {
    !ops.iter()
        .any(|op| matches!(op, BitfieldOp::Set { .. } | BitfieldOp::Incr { .. }))
}

/// Execute parsed BITFIELD ops. Returns the reply array (one entry per
/// GET/SET/INCRBY, `None` = nil for OVERFLOW FAIL) and whether Redis would
/// count the command as a modification (`changes > 0`: the string grew, or
/// some written value differed; drives notify/dirty).
///
/// If any SET/INCRBY is present, `s` is first grown with zeros up to the
/// highest written bit — even if every write then FAILs; Redis creates the
/// key in that case, so the caller should store `s` whenever
/// `!bitfield_is_readonly(ops)`. With only GETs, `s` is untouched; for a
/// missing key pass an empty vector and do not create the key.
pub fn execute_bitfield(s: &mut Vec<u8>, ops: &[BitfieldOp]) -> (Vec<Option<i64>>, bool) {
    let mut highest: Option<u64> = None;
    for op in ops {
        if let BitfieldOp::Set { t, offset, .. } | BitfieldOp::Incr { t, offset, .. } = *op {
            let h = offset.saturating_add(u64::from(t.bits()) - 1);
            highest = Some(highest.map_or(h, |x| x.max(h)));
        }
    }
    let mut grew = false;
    if let Some(h) = highest {
        let before = s.len();
        ensure_len(s, (h >> 3).saturating_add(1));
        grew = s.len() != before;
    }
    let mut ov = Overflow::Wrap;
    let mut replies = Vec::with_capacity(ops.len());
    let mut changed = false;
    for op in ops {
        match *op {
            BitfieldOp::Overflow(o) => ov = o,
            BitfieldOp::Get { t, offset } => replies.push(Some(get_field(s, offset, t))),
            BitfieldOp::Set { t, offset, value } => {
                let (old, new) = apply_write(s, offset, t, value, false, ov);
                if let Some(n) = new {
                    changed |= grew || n != old;
                }
                replies.push(new.map(|_| old));
            }
            BitfieldOp::Incr { t, offset, incr } => {
                let (old, new) = apply_write(s, offset, t, incr, true, ov);
                if let Some(n) = new {
                    changed |= grew || n != old;
                }
                replies.push(new);
            }
        }
    }
    (replies, changed)
}

#[cfg(test)]
#[path = "bitops_tests.rs"]
mod tests;
