//! Listpack: Redis 7.0's compact serialized list of strings and integers
//! (`listpack.c`), byte-for-byte identical so a listpack can be written to and
//! read from RDB v10 as a raw blob.
//!
//! Layout (all multi-byte header fields little endian):
//!
//! ```text
//! <total bytes: u32> <num elements: u16, 65535 = unknown> <entry>* <0xFF>
//! entry = <encoding + data> <backlen: 1..5 bytes>
//! ```
//!
//! Encodings (first byte):
//!
//! | pattern      | meaning                                  | size      |
//! |--------------|------------------------------------------|-----------|
//! | `0xxxxxxx`   | 7-bit unsigned int                       | 1         |
//! | `10xxxxxx`   | string, 6-bit length                     | 1 + len   |
//! | `110xxxxx`   | 13-bit signed int (+1 byte)              | 2         |
//! | `1110xxxx`   | string, 12-bit length (+1 byte)          | 2 + len   |
//! | `0xF0`       | string, 32-bit LE length                 | 5 + len   |
//! | `0xF1..0xF4` | 16/24/32/64-bit signed LE int            | 3/4/5/9   |
//! | `0xFF`       | end of listpack                          | 1         |
//!
//! The backlen stores the size of `<encoding + data>` in 7-bit groups, most
//! significant group first, with the high bit set on every byte but the
//! first, so it can be decoded right-to-left from the byte before the next
//! entry.
//!
//! Strings that are canonical integers by `string2ll` rules (no leading
//! zeros, no `+`, no `-0`) are always stored integer-encoded, as Redis does.
//!
//! Positions are byte offsets into [`Listpack::as_bytes`] (Redis's
//! `unsigned char *p`). Positions are invalidated by any mutation other than
//! the one that returned them. A [`Listpack`] is always valid: it is either
//! built through this API or checked by [`Listpack::from_bytes`]; nothing
//! here panics on data that passed validation.
//!
//! Complexity: `first`/`next`/`prev`/`get` are O(1); `last` is O(1);
//! `seek` is O(n) from the nearer end; insertion/deletion is O(bytes after
//! the position) (one `memmove`), and only allocate when the `Vec` grows.

use crate::util::num::{ll2string_len, parse_i64, write_i64};

/// Size of the listpack header (total bytes + element count).
pub const HDR_SIZE: usize = 6;
/// Header element count meaning "unknown, scan to count".
pub const NUMELE_UNKNOWN: u16 = u16::MAX;
/// End-of-listpack marker.
pub const EOF: u8 = 0xFF;
/// Redis `LISTPACK_MAX_SAFETY_SIZE` (1GB): callers may refuse growth past it.
pub const MAX_SAFETY_SIZE: usize = 1 << 30;

/// One decoded listpack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpValue<'a> {
    /// An integer-encoded entry.
    Int(i64),
    /// A string entry, borrowed from the listpack.
    Str(&'a [u8]),
}

impl<'a> LpValue<'a> {
    /// The entry as bytes: strings are borrowed, integers are formatted into
    /// `buf` (no allocation).
    pub fn as_bytes<'b>(&self, buf: &'b mut [u8; 20]) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            LpValue::Str(s) => s,
            LpValue::Int(v) => crate::util::num::format_i64(v, buf),
        }
    }

    /// Appends the entry's string form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match *self {
            LpValue::Str(s) => out.extend_from_slice(s),
            LpValue::Int(v) => write_i64(out, v),
        }
    }

    /// The entry's string form as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_to(&mut v);
        v
    }

    /// Length of the string form.
    pub fn str_len(&self) -> usize {
        match *self {
            LpValue::Str(s) => s.len(),
            LpValue::Int(v) => ll2string_len(v),
        }
    }

    /// `lpCompare`: equal to `s` as strings (integers compared by their
    /// canonical decimal form).
    pub fn eq_bytes(&self, s: &[u8]) -> bool {
        match *self {
            LpValue::Str(x) => x == s,
            LpValue::Int(v) => s.len() == ll2string_len(v) && parse_i64(s) == Some(v),
        }
    }
}

/// Bytes `ele` takes as a listpack entry, backlen included.
pub fn entry_size_for(ele: &[u8]) -> usize {
    let l = encode(ele).len();
    l + backlen_size(l as u64)
}

/// `lpStringToInt64`: `Some(v)` when `s` is the canonical decimal form of `v`.
#[inline]
pub fn string_to_int(s: &[u8]) -> Option<i64> {
    let v = parse_i64(s)?;
    // Guards against any non-canonical form slipping through (e.g. "-0").
    if ll2string_len(v) == s.len() {
        Some(v)
    } else {
        None
    }
}

/// An encoded entry header: integer encodings are complete in `hdr`;
/// string encodings need the payload appended.
struct Enc {
    hdr: [u8; 9],
    hdr_len: usize,
    /// Length of the string payload that follows `hdr` (0 for integers).
    payload: usize,
}

impl Enc {
    fn len(&self) -> usize {
        self.hdr_len + self.payload
    }
}

fn encode_int(v: i64) -> Enc {
    let mut hdr = [0u8; 9];
    let hdr_len;
    if (0..=127).contains(&v) {
        hdr[0] = v as u8;
        hdr_len = 1;
    } else if (-4096..=4095).contains(&v) {
        let u = if v < 0 { (1i64 << 13) + v } else { v } as u64;
        hdr[0] = ((u >> 8) as u8) | 0xC0;
        hdr[1] = u as u8;
        hdr_len = 2;
    } else if (-32768..=32767).contains(&v) {
        hdr[0] = 0xF1;
        hdr[1..3].copy_from_slice(&(v as i16).to_le_bytes());
        hdr_len = 3;
    } else if (-8_388_608..=8_388_607).contains(&v) {
        hdr[0] = 0xF2;
        hdr[1..4].copy_from_slice(&(v as i32).to_le_bytes()[..3]);
        hdr_len = 4;
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        hdr[0] = 0xF3;
        hdr[1..5].copy_from_slice(&(v as i32).to_le_bytes());
        hdr_len = 5;
    } else {
        hdr[0] = 0xF4;
        hdr[1..9].copy_from_slice(&v.to_le_bytes());
        hdr_len = 9;
    }
    Enc {
        hdr,
        hdr_len,
        payload: 0,
    }
}

/// `lpEncodeGetType` + `lpEncodeString` header.
fn encode(ele: &[u8]) -> Enc {
    if let Some(v) = string_to_int(ele) {
        return encode_int(v);
    }
    let len = ele.len();
    let mut hdr = [0u8; 9];
    let hdr_len = if len < 64 {
        hdr[0] = 0x80 | len as u8;
        1
    } else if len < 4096 {
        hdr[0] = 0xE0 | (len >> 8) as u8;
        hdr[1] = len as u8;
        2
    } else {
        hdr[0] = 0xF0;
        hdr[1..5].copy_from_slice(&(len as u32).to_le_bytes());
        5
    };
    Enc {
        hdr,
        hdr_len,
        payload: len,
    }
}

/// Number of bytes `lpEncodeBacklen` uses for an entry of `l` bytes
/// (Redis's boundaries, including its `<` quirks).
#[inline]
fn backlen_size(l: u64) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    }
}

fn encode_backlen(l: u64, buf: &mut [u8; 5]) -> usize {
    let n = backlen_size(l);
    for (i, b) in buf.iter_mut().take(n).enumerate() {
        let shift = 7 * (n - 1 - i);
        let group = ((l >> shift) & 127) as u8;
        *b = if i == 0 {
            (l >> shift) as u8
        } else {
            group | 128
        };
    }
    n
}

/// `lpDecodeBacklen` reading right-to-left from `end` (inclusive).
fn decode_backlen(buf: &[u8], end: usize) -> Option<u64> {
    let mut val = 0u64;
    let mut shift = 0u32;
    let mut p = end;
    loop {
        let b = *buf.get(p)?;
        val |= ((b & 127) as u64) << shift;
        if b & 128 == 0 {
            return Some(val);
        }
        shift += 7;
        if shift > 28 || p == 0 {
            return None;
        }
        p -= 1;
    }
}

/// Bytes of encoding + length prefix for the entry starting with `b0`
/// (`lpCurrentEncodedSizeBytes`); 0 for an invalid encoding.
#[inline]
fn enc_size_bytes(b0: u8) -> usize {
    match b0 {
        0x00..=0xDF => 1,
        0xE0..=0xEF => 2,
        0xF0 => 5,
        0xF1..=0xF4 | 0xFF => 1,
        _ => 0,
    }
}

/// `lpCurrentEncodedSizeUnsafe`, but checked: `None` when the encoding is
/// invalid or the length bytes are out of `buf`.
#[inline]
fn entry_size(buf: &[u8], p: usize) -> Option<usize> {
    let b0 = *buf.get(p)?;
    Some(match b0 {
        0x00..=0x7F => 1,
        0x80..=0xBF => 1 + (b0 & 0x3F) as usize,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 2 + ((((b0 & 0x0F) as usize) << 8) | *buf.get(p + 1)? as usize),
        0xF0 => {
            let l = buf.get(p + 1..p + 5)?;
            5 + u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize
        }
        0xF1 => 3,
        0xF2 => 4,
        0xF3 => 5,
        0xF4 => 9,
        0xFF => 1,
        _ => return None,
    })
}

/// A listpack: exactly Redis's bytes in a `Vec<u8>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Listpack {
    buf: Vec<u8>,
}

impl Default for Listpack {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Listpack {
    /// An empty listpack (`lpNew`): 7 bytes.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty listpack with room for `cap` bytes.
    pub fn with_capacity(cap: usize) -> Self {
        let mut buf = Vec::with_capacity(cap.max(HDR_SIZE + 1));
        buf.extend_from_slice(&[7, 0, 0, 0, 0, 0, EOF]);
        Listpack { buf }
    }

    /// Adopts `bytes` after a deep integrity check (`lpValidateIntegrity`
    /// with `deep = 1`). Never panics on garbage.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Listpack> {
        if validate(&bytes) {
            Some(Listpack { buf: bytes })
        } else {
            None
        }
    }

    /// The raw listpack bytes (what RDB stores).
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Consumes the listpack, returning its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Total bytes (`lpBytes`).
    #[inline]
    pub fn bytes_len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated for the buffer (MEMORY USAGE accounting).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Makes room for `add` more bytes without the `Vec`'s doubling, so the
    /// allocation tracks the size like Redis's per-insert `lpRealloc`.
    pub fn reserve_exact(&mut self, add: usize) {
        self.buf.reserve_exact(add);
    }

    /// Drops unused capacity.
    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Re-checks integrity (always true for a `Listpack`; for tests).
    pub fn validate(&self) -> bool {
        validate(&self.buf)
    }

    #[inline]
    fn hdr_count(&self) -> u16 {
        u16::from_le_bytes([self.buf[4], self.buf[5]])
    }

    #[inline]
    fn set_hdr_count(&mut self, n: usize) {
        let v = n.min(NUMELE_UNKNOWN as usize) as u16;
        self.buf[4..6].copy_from_slice(&v.to_le_bytes());
    }

    #[inline]
    fn set_total(&mut self) {
        let n = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&n.to_le_bytes());
    }

    /// Number of entries (`lpLength`); scans when the header says unknown.
    pub fn len(&self) -> usize {
        let n = self.hdr_count();
        if n != NUMELE_UNKNOWN {
            return n as usize;
        }
        self.iter_pos().count()
    }

    /// `lpLength` with its side effect: refreshes an "unknown" header count
    /// when the real count fits again.
    pub fn len_refresh(&mut self) -> usize {
        let n = self.len();
        if self.hdr_count() == NUMELE_UNKNOWN && n < NUMELE_UNKNOWN as usize {
            self.set_hdr_count(n);
        }
        n
    }

    /// True when there are no entries.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf[HDR_SIZE] == EOF
    }

    /// Whether adding `add` bytes keeps the listpack under 1GB (`lpSafeToAdd`).
    pub fn safe_to_add(&self, add: usize) -> bool {
        self.buf.len() + add <= MAX_SAFETY_SIZE
    }

    /// Size of the entry at `p` including its backlen.
    #[inline]
    fn full_entry_size(&self, p: usize) -> usize {
        let l = entry_size(&self.buf, p).unwrap_or(1);
        l + backlen_size(l as u64)
    }

    /// Position of the first entry.
    #[inline]
    pub fn first(&self) -> Option<usize> {
        if self.buf[HDR_SIZE] == EOF {
            None
        } else {
            Some(HDR_SIZE)
        }
    }

    /// Position of the last entry.
    #[inline]
    pub fn last(&self) -> Option<usize> {
        self.prev(self.buf.len() - 1)
    }

    /// The entry after `p`, or `None` when `p` is the last one.
    #[inline]
    pub fn next(&self, p: usize) -> Option<usize> {
        let n = p + self.full_entry_size(p);
        match self.buf.get(n) {
            Some(&EOF) | None => None,
            Some(_) => Some(n),
        }
    }

    /// The entry before `p` (which may be the EOF position), or `None`.
    #[inline]
    pub fn prev(&self, p: usize) -> Option<usize> {
        if p <= HDR_SIZE {
            return None;
        }
        let l = decode_backlen(&self.buf, p - 1)?;
        let total = l as usize + backlen_size(l);
        p.checked_sub(total).filter(|&q| q >= HDR_SIZE)
    }

    /// Decodes the entry at `p` (`lpGet`).
    pub fn get(&self, p: usize) -> LpValue<'_> {
        get_at(&self.buf, p)
    }

    /// `lpCompare`: whether the entry at `p` equals `s` as a string.
    pub fn eq(&self, p: usize, s: &[u8]) -> bool {
        if self.buf[p] == EOF {
            return false;
        }
        self.get(p).eq_bytes(s)
    }

    /// `lpSeek`: position of entry `index` (negative counts from the tail).
    pub fn seek(&self, index: i64) -> Option<usize> {
        let numele = self.hdr_count();
        let mut index = index;
        let forward;
        if numele != NUMELE_UNKNOWN {
            let n = numele as i64;
            if index < 0 {
                index += n;
            }
            if index < 0 || index >= n {
                return None;
            }
            if index > n / 2 {
                forward = false;
                index -= n;
            } else {
                forward = true;
            }
        } else {
            forward = index >= 0;
        }
        if forward {
            let mut p = self.first();
            while index > 0 {
                p = self.next(p?);
                index -= 1;
            }
            p
        } else {
            let mut p = self.last();
            while index < -1 {
                p = self.prev(p?);
                index += 1;
            }
            p
        }
    }

    /// Core of `lpInsert`: writes `ele` at `p`, either before the entry at
    /// `p` or replacing `replaced` bytes there. Returns the new entry's
    /// position, or `None` (unchanged) if the listpack would exceed 4GB.
    fn write_entry(
        &mut self,
        p: usize,
        enc: &Enc,
        payload: &[u8],
        replaced: usize,
    ) -> Option<usize> {
        let enclen = enc.len();
        let mut bl = [0u8; 5];
        let bl_len = encode_backlen(enclen as u64, &mut bl);
        let add = enclen + bl_len;
        let old = self.buf.len();
        let new = old + add - replaced;
        if new > u32::MAX as usize {
            return None;
        }
        if add > replaced {
            self.buf.resize(new, 0);
            self.buf.copy_within(p + replaced..old, p + add);
        } else if add < replaced {
            self.buf.copy_within(p + replaced..old, p + add);
            self.buf.truncate(new);
        }
        let dst = &mut self.buf[p..p + add];
        dst[..enc.hdr_len].copy_from_slice(&enc.hdr[..enc.hdr_len]);
        dst[enc.hdr_len..enclen].copy_from_slice(payload);
        dst[enclen..].copy_from_slice(&bl[..bl_len]);
        self.set_total();
        Some(p)
    }

    fn bump_count(&mut self, delta: i32) {
        let n = self.hdr_count();
        if n != NUMELE_UNKNOWN {
            let v = (n as i64 + delta as i64).max(0) as usize;
            self.set_hdr_count(v);
        }
    }

    fn insert_enc(&mut self, p: usize, enc: Enc, payload: &[u8]) -> Option<usize> {
        let r = self.write_entry(p, &enc, payload, 0)?;
        self.bump_count(1);
        Some(r)
    }

    /// Appends `ele` (`lpAppend`); false (unchanged) past 4GB.
    pub fn append(&mut self, ele: &[u8]) -> bool {
        let eof = self.buf.len() - 1;
        let enc = encode(ele);
        let payload = if enc.payload > 0 { ele } else { &[][..] };
        self.insert_enc(eof, enc, payload).is_some()
    }

    /// Appends an integer (`lpAppendInteger`).
    pub fn append_int(&mut self, v: i64) -> bool {
        let eof = self.buf.len() - 1;
        self.insert_enc(eof, encode_int(v), &[]).is_some()
    }

    /// Prepends `ele` (`lpPrepend`).
    pub fn prepend(&mut self, ele: &[u8]) -> bool {
        let enc = encode(ele);
        let payload = if enc.payload > 0 { ele } else { &[][..] };
        self.insert_enc(HDR_SIZE, enc, payload).is_some()
    }

    /// Inserts `ele` before (`after == false`) or after the entry at `p`;
    /// returns the new entry's position.
    pub fn insert(&mut self, p: usize, ele: &[u8], after: bool) -> Option<usize> {
        let at = if after {
            p + self.full_entry_size(p)
        } else {
            p
        };
        let enc = encode(ele);
        let payload = if enc.payload > 0 { ele } else { &[][..] };
        self.insert_enc(at, enc, payload)
    }

    /// Replaces the entry at `p` with `ele` (`lpReplace`); returns its position.
    pub fn replace(&mut self, p: usize, ele: &[u8]) -> Option<usize> {
        let replaced = self.full_entry_size(p);
        let enc = encode(ele);
        let payload = if enc.payload > 0 { ele } else { &[][..] };
        self.write_entry(p, &enc, payload, replaced)
    }

    /// Replaces the entry at `p` with an integer (`lpReplaceInteger`).
    pub fn replace_int(&mut self, p: usize, v: i64) -> Option<usize> {
        let replaced = self.full_entry_size(p);
        self.write_entry(p, &encode_int(v), &[], replaced)
    }

    /// Deletes the entry at `p` (`lpDelete`); returns the next entry's
    /// position (same offset) or `None` if it was the last.
    pub fn delete(&mut self, p: usize) -> Option<usize> {
        let len = self.full_entry_size(p);
        self.buf.copy_within(p + len.., p);
        let new = self.buf.len() - len;
        self.buf.truncate(new);
        self.set_total();
        self.bump_count(-1);
        if self.buf[p] == EOF {
            None
        } else {
            Some(p)
        }
    }

    /// `lpDeleteRange`: deletes `num` entries starting at `index`
    /// (negative from the tail); out-of-range `index` is a no-op.
    pub fn delete_range(&mut self, index: i64, num: usize) {
        if num == 0 {
            return;
        }
        let len = self.len_refresh();
        let Some(p) = self.seek(index) else { return };
        let index = if index < 0 { len as i64 + index } else { index } as usize;
        if len - index <= num {
            self.buf.truncate(p + 1);
            self.buf[p] = EOF;
            self.set_total();
            self.set_hdr_count(index);
        } else {
            let mut q = p;
            for _ in 0..num {
                q += self.full_entry_size(q);
            }
            let old = self.buf.len();
            self.buf.copy_within(q..old, p);
            self.buf.truncate(old - (q - p));
            self.set_total();
            self.set_hdr_count(len - num);
        }
    }

    /// `lpFind`: from `p`, the first entry equal to `needle`, comparing one
    /// entry then skipping `skip` (e.g. 1 to look only at hash fields).
    pub fn find(&self, p: usize, needle: &[u8], skip: usize) -> Option<usize> {
        let needle_int = string_to_int(needle);
        let mut skipcnt = 0usize;
        let mut p = Some(p);
        while let Some(q) = p {
            if skipcnt == 0 {
                let hit = match self.get(q) {
                    LpValue::Int(v) => needle_int == Some(v),
                    LpValue::Str(s) => s == needle,
                };
                if hit {
                    return Some(q);
                }
                skipcnt = skip;
            } else {
                skipcnt -= 1;
            }
            p = self.next(q);
        }
        None
    }

    /// Positions of all entries, head to tail.
    pub fn iter_pos(&self) -> PosIter<'_> {
        PosIter {
            lp: self,
            p: self.first(),
        }
    }

    /// Entries head to tail.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            buf: &self.buf,
            p: HDR_SIZE,
        }
    }

    /// Merges `other` after `self` (`lpMerge` for adjacent quicklist nodes).
    pub fn merge_after(&mut self, other: &Listpack) {
        let total = self.len() + other.len();
        self.buf.pop();
        self.buf.extend_from_slice(&other.buf[HDR_SIZE..]);
        self.set_total();
        self.set_hdr_count(total);
    }

    /// Merges `other` before `self`.
    pub fn merge_before(&mut self, other: &Listpack) {
        let total = self.len() + other.len();
        let add = other.buf.len() - HDR_SIZE - 1;
        let old = self.buf.len();
        self.buf.resize(old + add, 0);
        self.buf.copy_within(HDR_SIZE..old, HDR_SIZE + add);
        self.buf[HDR_SIZE..HDR_SIZE + add].copy_from_slice(&other.buf[HDR_SIZE..HDR_SIZE + add]);
        self.set_total();
        self.set_hdr_count(total);
    }
}

fn get_at(buf: &[u8], p: usize) -> LpValue<'_> {
    let b = |i: usize| buf.get(p + i).copied().unwrap_or(0);
    let b0 = b(0);
    match b0 {
        0x00..=0x7F => LpValue::Int(b0 as i64),
        0x80..=0xBF => {
            let l = (b0 & 0x3F) as usize;
            LpValue::Str(buf.get(p + 1..p + 1 + l).unwrap_or(&[]))
        }
        0xC0..=0xDF => {
            let u = (((b0 & 0x1F) as i64) << 8) | b(1) as i64;
            LpValue::Int(if u >= 1 << 12 { u - (1 << 13) } else { u })
        }
        0xE0..=0xEF => {
            let l = (((b0 & 0x0F) as usize) << 8) | b(1) as usize;
            LpValue::Str(buf.get(p + 2..p + 2 + l).unwrap_or(&[]))
        }
        0xF0 => {
            let l = u32::from_le_bytes([b(1), b(2), b(3), b(4)]) as usize;
            LpValue::Str(buf.get(p + 5..p + 5 + l).unwrap_or(&[]))
        }
        0xF1 => LpValue::Int(i16::from_le_bytes([b(1), b(2)]) as i64),
        0xF2 => LpValue::Int((i32::from_le_bytes([0, b(1), b(2), b(3)]) >> 8) as i64),
        0xF3 => LpValue::Int(i32::from_le_bytes([b(1), b(2), b(3), b(4)]) as i64),
        0xF4 => LpValue::Int(i64::from_le_bytes([
            b(1),
            b(2),
            b(3),
            b(4),
            b(5),
            b(6),
            b(7),
            b(8),
        ])),
        // Redis's marker for a corrupt encoding (never reached on valid data).
        _ => LpValue::Int(12_345_678_900_000_000 + b0 as i64),
    }
}

/// `lpValidateIntegrity(deep=1)` over raw bytes.
pub fn validate(lp: &[u8]) -> bool {
    let size = lp.len();
    if size < HDR_SIZE + 1 || size > u32::MAX as usize {
        return false;
    }
    if u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize != size {
        return false;
    }
    if lp[size - 1] != EOF {
        return false;
    }
    let mut count: usize = 0;
    let mut p = HDR_SIZE;
    loop {
        if lp[p] == EOF {
            break;
        }
        let lenbytes = enc_size_bytes(lp[p]);
        if lenbytes == 0 || p + lenbytes > size - 1 {
            return false;
        }
        let Some(entrylen) = entry_size(lp, p) else {
            return false;
        };
        let bl = backlen_size(entrylen as u64);
        let total = entrylen + bl;
        if p + total > size - 1 {
            return false;
        }
        p += total;
        match decode_backlen(lp, p - 1) {
            Some(prevlen) if prevlen as usize + bl == total => {}
            _ => return false,
        }
        count += 1;
    }
    // The EOF byte found must be the last one.
    if p != size - 1 {
        return false;
    }
    let numele = u16::from_le_bytes([lp[4], lp[5]]);
    numele == NUMELE_UNKNOWN || numele as usize == count
}

/// Iterator over entry positions.
pub struct PosIter<'a> {
    lp: &'a Listpack,
    p: Option<usize>,
}

impl Iterator for PosIter<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        let p = self.p?;
        self.p = self.lp.next(p);
        Some(p)
    }
}

/// Iterator over entries, head to tail.
pub struct Iter<'a> {
    buf: &'a [u8],
    p: usize,
}

impl<'a> Iter<'a> {
    /// Iterator starting at position `p` (an entry or the EOF byte).
    pub fn at(lp: &'a Listpack, p: usize) -> Self {
        Iter { buf: &lp.buf, p }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = LpValue<'a>;
    #[inline]
    fn next(&mut self) -> Option<LpValue<'a>> {
        let b0 = *self.buf.get(self.p)?;
        if b0 == EOF {
            return None;
        }
        let v = get_at(self.buf, self.p);
        let l = entry_size(self.buf, self.p).unwrap_or(1);
        self.p += l + backlen_size(l as u64);
        Some(v)
    }
}

/// Iterator over entries, tail to head.
pub struct RevIter<'a> {
    lp: &'a Listpack,
    p: Option<usize>,
}

impl Listpack {
    /// Entries tail to head.
    pub fn iter_rev(&self) -> RevIter<'_> {
        RevIter {
            lp: self,
            p: self.last(),
        }
    }
}

impl<'a> Iterator for RevIter<'a> {
    type Item = LpValue<'a>;
    fn next(&mut self) -> Option<LpValue<'a>> {
        let p = self.p?;
        self.p = self.lp.prev(p);
        Some(get_at(&self.lp.buf, p))
    }
}

#[cfg(test)]
#[path = "listpack_tests.rs"]
mod tests;
