//! Redis's `intset` (intset.c): a sorted array of distinct integers stored in
//! the smallest width (16, 32 or 64 bits) that fits every member.
//!
//! The in-memory representation is the exact byte blob Redis writes to RDB
//! (`RDB_TYPE_SET_INTSET`) and DUMP payloads:
//!
//! ```text
//! encoding: u32 LE (2, 4 or 8) | length: u32 LE | length * encoding bytes,
//!                                                 little-endian, ascending
//! ```
//!
//! Semantics follow Redis 7.0: adding a value that needs a wider encoding
//! upgrades the whole set (the new value lands at the head when negative, at
//! the tail otherwise, as `intsetUpgradeAndAdd` does); removals never
//! downgrade; lookups use `intsetSearch`'s binary search. [`Intset::from_bytes`]
//! is `intsetValidateIntegrity` with `deep = 1` and never panics.

use rand::Rng;

/// `INTSET_ENC_INT16` etc.: the encoding is the byte width of one record.
const ENC_INT16: u32 = 2;
const ENC_INT32: u32 = 4;
const ENC_INT64: u32 = 8;
/// `sizeof(intset)`: the two u32 header fields.
const HEADER: usize = 8;

/// `_intsetValueEncoding`: the narrowest encoding that holds `v`.
fn value_encoding(v: i64) -> u32 {
    if v < i32::MIN as i64 || v > i32::MAX as i64 {
        ENC_INT64
    } else if v < i16::MIN as i64 || v > i16::MAX as i64 {
        ENC_INT32
    } else {
        ENC_INT16
    }
}

/// Reads a little-endian u32 at `off`; callers guarantee 4 bytes are there.
fn read_u32(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

/// Reads record `pos` of `contents` in encoding `enc` (no bounds beyond the
/// slice's own: callers pass `pos < length`).
fn get_encoded(contents: &[u8], pos: usize, enc: u32) -> i64 {
    match enc {
        ENC_INT64 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(&contents[pos * 8..pos * 8 + 8]);
            i64::from_le_bytes(a)
        }
        ENC_INT32 => {
            let mut a = [0u8; 4];
            a.copy_from_slice(&contents[pos * 4..pos * 4 + 4]);
            i32::from_le_bytes(a) as i64
        }
        _ => {
            let mut a = [0u8; 2];
            a.copy_from_slice(&contents[pos * 2..pos * 2 + 2]);
            i16::from_le_bytes(a) as i64
        }
    }
}

/// Writes `v` (which must fit `enc`) as record `pos` of `contents`.
fn set_encoded(contents: &mut [u8], pos: usize, enc: u32, v: i64) {
    match enc {
        ENC_INT64 => contents[pos * 8..pos * 8 + 8].copy_from_slice(&v.to_le_bytes()),
        ENC_INT32 => contents[pos * 4..pos * 4 + 4].copy_from_slice(&(v as i32).to_le_bytes()),
        _ => contents[pos * 2..pos * 2 + 2].copy_from_slice(&(v as i16).to_le_bytes()),
    }
}

/// A Redis intset, stored as its serialized blob.
#[derive(Clone, PartialEq, Eq)]
pub struct Intset {
    /// Header plus contents; always well formed (encoding in {2,4,8},
    /// `len(buf) == 8 + length * encoding`, contents strictly ascending).
    /// A boxed slice, not a Vec: the allocation is exactly the blob (as
    /// `zrealloc` keeps it in Redis) and the struct is 16 bytes.
    buf: Box<[u8]>,
}

impl Default for Intset {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Intset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intset")
            .field("encoding", &self.encoding())
            .field("members", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

impl Intset {
    /// `intsetNew`: empty, 16-bit encoding.
    pub fn new() -> Intset {
        let mut buf = Vec::with_capacity(HEADER);
        buf.extend_from_slice(&ENC_INT16.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        Intset {
            buf: buf.into_boxed_slice(),
        }
    }

    /// Adopts a serialized intset after `intsetValidateIntegrity(deep=1)`:
    /// header present, encoding 2/4/8, byte size equal to
    /// `8 + length * encoding`, not empty, strictly ascending records.
    /// Returns `None` for anything else; never panics.
    pub fn from_bytes(buf: Vec<u8>) -> Option<Intset> {
        if buf.len() < HEADER {
            return None;
        }
        let enc = read_u32(&buf, 0);
        if !matches!(enc, ENC_INT16 | ENC_INT32 | ENC_INT64) {
            return None;
        }
        let count = read_u32(&buf, 4) as usize;
        let body = count.checked_mul(enc as usize)?.checked_add(HEADER)?;
        if body != buf.len() || count == 0 {
            return None;
        }
        let contents = &buf[HEADER..];
        let mut prev = get_encoded(contents, 0, enc);
        for i in 1..count {
            let cur = get_encoded(contents, i, enc);
            if cur <= prev {
                return None;
            }
            prev = cur;
        }
        Some(Intset {
            buf: buf.into_boxed_slice(),
        })
    }

    /// The serialized blob (what RDB stores).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Consumes the set, returning its blob.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf.into_vec()
    }

    /// `intsetResize`: reallocates the blob to exactly `new_len` bytes
    /// (zero-filling any growth), like `zrealloc` in Redis.
    fn resize_exact(&mut self, new_len: usize) {
        let mut v = std::mem::take(&mut self.buf).into_vec();
        if new_len > v.len() {
            v.reserve_exact(new_len - v.len());
        }
        v.resize(new_len, 0);
        self.buf = v.into_boxed_slice();
    }

    /// Heap bytes held by the blob (its allocation is exactly the blob).
    pub fn heap_size(&self) -> usize {
        self.buf.len()
    }

    /// `intsetBlobLen`: header plus contents, in bytes.
    pub fn blob_len(&self) -> usize {
        self.buf.len()
    }

    /// The current record width in bytes (2, 4 or 8).
    pub fn encoding(&self) -> u32 {
        read_u32(&self.buf, 0)
    }

    /// `intsetLen`.
    pub fn len(&self) -> usize {
        read_u32(&self.buf, 4) as usize
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn set_header(&mut self, enc: u32, len: usize) {
        self.buf[0..4].copy_from_slice(&enc.to_le_bytes());
        self.buf[4..8].copy_from_slice(&(len as u32).to_le_bytes());
    }

    fn at(&self, pos: usize) -> i64 {
        get_encoded(&self.buf[HEADER..], pos, self.encoding())
    }

    /// `intsetGet`: the member at sorted position `index`.
    pub fn get(&self, index: usize) -> Option<i64> {
        (index < self.len()).then(|| self.at(index))
    }

    /// `intsetSearch`: `Ok(pos)` if found, `Err(insert position)` otherwise.
    fn search(&self, value: i64) -> Result<usize, usize> {
        let len = self.len();
        if len == 0 {
            return Err(0);
        }
        if value > self.at(len - 1) {
            return Err(len);
        }
        if value < self.at(0) {
            return Err(0);
        }
        let (mut lo, mut hi) = (0usize, len); // half-open [lo, hi)
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let cur = self.at(mid);
            if value > cur {
                lo = mid + 1;
            } else if value < cur {
                hi = mid;
            } else {
                return Ok(mid);
            }
        }
        Err(lo)
    }

    /// `intsetAdd`: true if `value` was not present and has been added.
    /// Fails (returns false, set unchanged) only for duplicates; a set can
    /// hold at most `u32::MAX` members, as in Redis (the caller converts to a
    /// hash table long before that).
    pub fn add(&mut self, value: i64) -> bool {
        let valenc = value_encoding(value);
        let enc = self.encoding();
        let len = self.len();
        if valenc > enc {
            // intsetUpgradeAndAdd: the value is outside the current range,
            // so it goes first (negative) or last (positive).
            let prepend = usize::from(value < 0);
            let old = self.buf[HEADER..].to_vec();
            self.resize_exact(HEADER + (len + 1) * valenc as usize);
            let contents = &mut self.buf[HEADER..];
            for i in (0..len).rev() {
                set_encoded(contents, i + prepend, valenc, get_encoded(&old, i, enc));
            }
            let at = if prepend == 1 { 0 } else { len };
            set_encoded(contents, at, valenc, value);
            self.set_header(valenc, len + 1);
            return true;
        }
        let pos = match self.search(value) {
            Ok(_) => return false,
            Err(p) => p,
        };
        let w = enc as usize;
        self.resize_exact(HEADER + (len + 1) * w);
        let contents = &mut self.buf[HEADER..];
        if pos < len {
            contents.copy_within(pos * w..len * w, (pos + 1) * w);
        }
        set_encoded(contents, pos, enc, value);
        self.set_header(enc, len + 1);
        true
    }

    /// `intsetRemove`: true if `value` was present. Never downgrades.
    pub fn remove(&mut self, value: i64) -> bool {
        let enc = self.encoding();
        if value_encoding(value) > enc {
            return false;
        }
        let pos = match self.search(value) {
            Ok(p) => p,
            Err(_) => return false,
        };
        let len = self.len();
        let w = enc as usize;
        let contents = &mut self.buf[HEADER..];
        if pos + 1 < len {
            contents.copy_within((pos + 1) * w..len * w, pos * w);
        }
        self.resize_exact(HEADER + (len - 1) * w);
        self.set_header(enc, len - 1);
        true
    }

    /// `intsetFind`.
    pub fn contains(&self, value: i64) -> bool {
        value_encoding(value) <= self.encoding() && self.search(value).is_ok()
    }

    /// `intsetRandom`: a uniformly chosen member, `None` when empty.
    pub fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<i64> {
        let len = self.len();
        (len > 0).then(|| self.at(rng.gen_range(0..len)))
    }

    /// `intsetMax`.
    pub fn max(&self) -> Option<i64> {
        self.len().checked_sub(1).map(|i| self.at(i))
    }

    /// `intsetMin`.
    pub fn min(&self) -> Option<i64> {
        self.get(0)
    }

    /// Members in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            contents: &self.buf[HEADER..],
            enc: self.encoding(),
            front: 0,
            back: self.len(),
        }
    }
}

/// Ascending (or, from the back, descending) iterator over an [`Intset`].
pub struct Iter<'a> {
    contents: &'a [u8],
    enc: u32,
    front: usize,
    back: usize,
}

impl Iterator for Iter<'_> {
    type Item = i64;
    fn next(&mut self) -> Option<i64> {
        if self.front >= self.back {
            return None;
        }
        let v = get_encoded(self.contents, self.front, self.enc);
        self.front += 1;
        Some(v)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<i64> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        Some(get_encoded(self.contents, self.back, self.enc))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Intset {
    type Item = i64;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    /// Extracts the intset blob from a DUMP payload: type byte 11
    /// (`RDB_TYPE_SET_INTSET`), an RDB length-prefixed string (uncompressed),
    /// then the 2-byte RDB version and 8-byte CRC64 footer.
    fn blob_from_dump(p: &[u8]) -> Vec<u8> {
        assert_eq!(p[0], 11, "not RDB_TYPE_SET_INTSET");
        let (len, off) = match p[1] >> 6 {
            0 => ((p[1] & 0x3f) as usize, 2),
            1 => ((((p[1] & 0x3f) as usize) << 8) | p[2] as usize, 3),
            2 if p[1] == 0x80 => (u32::from_be_bytes([p[2], p[3], p[4], p[5]]) as usize, 6),
            _ => panic!("unsupported RDB length encoding"),
        };
        assert_eq!(off + len + 10, p.len(), "payload footer size");
        p[off..off + len].to_vec()
    }

    /// DUMP payloads from redis-server 7.0.15 (`--rdbcompression no`), the
    /// SADD arguments used to build each set, and its SMEMBERS order.
    const FIXTURES: &[(&str, &[i64], &[i64])] = &[
        (
            "0b0e02000000030000000100020003000a00a5025ce26d6e4d1b",
            &[1, 2, 3],
            &[1, 2, 3],
        ),
        (
            // upgraded to int32
            "0b1404000000030000000100000002000000701101000a0085d5c1065b1dd055",
            &[1, 2, 70000],
            &[1, 2, 70000],
        ),
        (
            // upgraded to int64, with a negative
            "0b200800000003000000fdffffffffffffff050000000000000000f2052a010000000a0036a5a2b56df18411",
            &[5, -3, 5000000000],
            &[-3, 5, 5000000000],
        ),
        (
            // negatives at the int16 limits
            "0b10020000000400000000809cffffffff7f0a0045ad568a79470a52",
            &[-1, -32768, 32767, -100],
            &[-32768, -100, -1, 32767],
        ),
        (
            // negative value triggering the upgrade (prepended)
            "0b14040000000300000090eefeff01000000030000000a00090eec49a6504d88",
            &[3, 1, -70000],
            &[-70000, 1, 3],
        ),
        (
            "0b180800000002000000000efad5feffffff0a000000000000000a0004a34905c82abf5f",
            &[10, -5000000000],
            &[-5000000000, 10],
        ),
    ];

    #[test]
    fn bytes_match_redis() {
        for (dump, adds, members) in FIXTURES {
            let blob = blob_from_dump(&hex(dump));
            let mut is = Intset::new();
            for &v in *adds {
                assert!(is.add(v));
            }
            assert_eq!(is.as_bytes(), &blob[..], "adds {adds:?}");
            assert_eq!(is.blob_len(), blob.len());
            let parsed = Intset::from_bytes(blob).expect("valid");
            assert_eq!(parsed.iter().collect::<Vec<_>>(), *members);
            assert_eq!(parsed, is);
        }
    }

    #[test]
    fn upgrades_and_encodings() {
        assert_eq!(value_encoding(-32768), ENC_INT16);
        assert_eq!(value_encoding(32767), ENC_INT16);
        assert_eq!(value_encoding(-32769), ENC_INT32);
        assert_eq!(value_encoding(32768), ENC_INT32);
        assert_eq!(value_encoding(i32::MIN as i64), ENC_INT32);
        assert_eq!(value_encoding(i32::MAX as i64 + 1), ENC_INT64);
        assert_eq!(value_encoding(i64::MIN), ENC_INT64);
        let mut is = Intset::new();
        assert!(is.add(32));
        assert_eq!(is.encoding(), 2);
        assert!(is.add(65535));
        assert_eq!(is.encoding(), 4);
        assert!(is.add(-4294967295));
        assert_eq!(is.encoding(), 8);
        assert!(!is.add(32));
        assert_eq!(is.iter().collect::<Vec<_>>(), vec![-4294967295, 32, 65535]);
        assert!(is.remove(-4294967295));
        assert_eq!(is.encoding(), 8, "no downgrade");
        assert!(!is.remove(i64::MAX));
        assert_eq!((is.min(), is.max()), (Some(32), Some(65535)));
        assert!(is.contains(65535) && !is.contains(i64::MIN));
        assert_eq!(Intset::new().max(), None);
        assert_eq!(Intset::new().random(&mut rand::thread_rng()), None);
        assert_eq!(is.iter().rev().collect::<Vec<_>>(), vec![65535, 32]);
    }

    #[test]
    fn from_bytes_rejects_bad_blobs() {
        let ok = Intset::new();
        assert!(
            Intset::from_bytes(ok.as_bytes().to_vec()).is_none(),
            "empty"
        );
        assert!(Intset::from_bytes(vec![]).is_none());
        assert!(Intset::from_bytes(vec![2, 0, 0]).is_none());
        // bad encoding
        assert!(Intset::from_bytes(hex("03000000010000000100")).is_none());
        // length mismatch (too short, too long, huge count)
        assert!(Intset::from_bytes(hex("020000000200000001")).is_none());
        assert!(Intset::from_bytes(hex("0200000001000000010000")).is_none());
        assert!(Intset::from_bytes(hex("08000000ffffffff0100")).is_none());
        // duplicates / descending
        assert!(
            Intset::from_bytes(hex("02000000020000000100 0100".replace(' ', "").as_str()))
                .is_none()
        );
        assert!(Intset::from_bytes(hex("020000000200000002000100")).is_none());
        assert!(Intset::from_bytes(hex("020000000200000001000200")).is_some());
        // a single negative value in a non-minimal encoding is valid for Redis
        assert!(Intset::from_bytes(hex("0800000001000000ffffffffffffffff")).is_some());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(i64),
        Remove(i64),
        Contains(i64),
    }

    fn any_width() -> impl Strategy<Value = i64> {
        prop_oneof![
            -50i64..50,
            any::<i16>().prop_map(i64::from),
            any::<i32>().prop_map(i64::from),
            any::<i64>(),
            Just(i64::MIN),
            Just(i64::MAX),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => any_width().prop_map(Op::Add),
            2 => any_width().prop_map(Op::Remove),
            1 => any_width().prop_map(Op::Contains),
        ]
    }

    proptest! {
        #[test]
        fn matches_btreeset(ops in proptest::collection::vec(op(), 0..300)) {
            let mut is = Intset::new();
            let mut model = BTreeSet::new();
            let mut widest = ENC_INT16;
            for op in ops {
                match op {
                    Op::Add(v) => {
                        widest = widest.max(value_encoding(v));
                        prop_assert_eq!(is.add(v), model.insert(v));
                    }
                    Op::Remove(v) => prop_assert_eq!(is.remove(v), model.remove(&v)),
                    Op::Contains(v) => prop_assert_eq!(is.contains(v), model.contains(&v)),
                }
                prop_assert_eq!(is.len(), model.len());
                prop_assert_eq!(is.encoding(), widest);
                prop_assert_eq!(is.blob_len(), 8 + model.len() * widest as usize);
            }
            prop_assert!(is.iter().eq(model.iter().copied()));
            for (i, v) in model.iter().enumerate() {
                prop_assert_eq!(is.get(i), Some(*v));
                prop_assert!(is.contains(*v));
            }
            prop_assert_eq!(is.get(model.len()), None);
            prop_assert_eq!(is.min(), model.first().copied());
            prop_assert_eq!(is.max(), model.last().copied());
            if !model.is_empty() {
                let r = is.random(&mut rand::thread_rng()).unwrap();
                prop_assert!(model.contains(&r));
                let back = Intset::from_bytes(is.as_bytes().to_vec());
                prop_assert_eq!(back.as_ref(), Some(&is));
            }
        }

        #[test]
        fn from_bytes_never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some(is) = Intset::from_bytes(b.clone()) {
                prop_assert_eq!(is.as_bytes(), &b[..]);
                let v: Vec<i64> = is.iter().collect();
                prop_assert!(v.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }
}
