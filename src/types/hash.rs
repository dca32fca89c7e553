//! The hash type (Redis's t_hash.c type API): its two encodings and the
//! operations the hash commands use.
//!
//! - `listpack`: fields and values alternate in one [`Listpack`], in
//!   insertion order. Used while the hash has at most
//!   `hash-max-listpack-entries` fields and every field/value is at most
//!   `hash-max-listpack-value` bytes.
//! - `hashtable`: a [`Dict`] of field → value: the field's bytes in the
//!   dict entry, the value a [`SmallSds`] (inline up to 14 bytes).
//!
//! Conversion is one way (listpack → hashtable), at exactly the points
//! Redis 7.0 converts: [`HashValue::try_conversion`] before a write looks at
//! the lengths of the new arguments (`hashTypeTryConversion`), and
//! [`HashValue::set`] converts for a too-long field/value (the HINCRBY*
//! path) and after an insert that makes the hash too big.
//!
//! Values are handed out as [`LpValue`] views (integers stay integers for
//! listpack entries, so HINCRBY does not format and reparse them).

use crate::ds::dict::Dict;
use crate::ds::listpack::{self, Listpack, LpValue};
use crate::ds::sds::{Sds, SmallSds};
use crate::error::{self, CmdError};
use crate::util::digest::{mix_digest, xor_digest};
use crate::util::num;
use rand::Rng;

/// The encoding thresholds (`hash-max-listpack-entries` / `-value`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

/// A hash value stored in the keyspace. 24 bytes: the listpack inline,
/// the (rarer, bigger) hashtable boxed.
pub enum HashValue {
    Listpack(Listpack),
    Table(Box<Dict<Sds, SmallSds>>),
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::new()
    }
}

impl Clone for HashValue {
    fn clone(&self) -> Self {
        match self {
            HashValue::Listpack(lp) => HashValue::Listpack(lp.clone()),
            HashValue::Table(d) => {
                let mut n = Dict::with_capacity(d.len());
                for (k, v) in d.iter() {
                    n.insert(k, v.clone());
                }
                HashValue::Table(Box::new(n))
            }
        }
    }
}

/// Makes sure `add` more bytes fit without the buffer doubling.
#[inline]
fn lp_grow(lp: &mut Listpack, add: usize) {
    if lp.capacity() - lp.bytes_len() < add {
        lp.reserve_exact(add);
    }
}

/// Gives back slack left by deletions/shrinking replacements.
#[inline]
fn lp_fit(lp: &mut Listpack) {
    if lp.capacity() - lp.bytes_len() > 32 {
        lp.shrink_to_fit();
    }
}

/// Iterator over (field, value) pairs.
pub enum Iter<'a> {
    Lp(listpack::Iter<'a>),
    Ht(crate::ds::dict::Iter<'a, SmallSds>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (LpValue<'a>, LpValue<'a>);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Lp(it) => {
                let f = it.next()?;
                let v = it.next()?;
                Some((f, v))
            }
            Iter::Ht(it) => {
                let (k, v) = it.next()?;
                Some((LpValue::Str(k), LpValue::Str(v)))
            }
        }
    }
}

impl HashValue {
    /// An empty listpack-encoded hash.
    pub fn new() -> HashValue {
        HashValue::Listpack(Listpack::new())
    }

    /// OBJECT ENCODING's answer for this value.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            HashValue::Listpack(_) => "listpack",
            HashValue::Table(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self, HashValue::Listpack(_))
    }

    /// Approximate heap bytes owned (MEMORY USAGE): the value struct plus the
    /// listpack allocation, or the dict with its fields and values (sampled
    /// like Redis's objectComputeSize for big tables).
    pub fn heap_size(&self) -> usize {
        let base = std::mem::size_of::<HashValue>();
        match self {
            HashValue::Listpack(lp) => base + lp.capacity(),
            HashValue::Table(d) => {
                const SAMPLES: usize = 64;
                let mut sampled = 0usize;
                let mut bytes = 0usize;
                for (k, v) in d.iter().take(SAMPLES) {
                    bytes += k.len() + v.alloc_size();
                    sampled += 1;
                }
                let elems = (bytes * d.len()).checked_div(sampled).unwrap_or(0);
                base + d.mem_overhead() + elems
            }
        }
    }

    /// Mixes this value into a DEBUG DIGEST the way Redis's xorObjectDigest
    /// does for hashes: an order-independent xor of per-pair digests.
    pub fn digest(&self, digest: &mut [u8; 20]) {
        let mut fb = [0u8; 20];
        let mut vb = [0u8; 20];
        for (f, v) in self.iter() {
            let mut ele = [0u8; 20];
            mix_digest(&mut ele, f.as_bytes(&mut fb));
            mix_digest(&mut ele, v.as_bytes(&mut vb));
            xor_digest(digest, &ele);
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            HashValue::Listpack(lp) => lp.len() / 2,
            HashValue::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            HashValue::Listpack(lp) => lp.is_empty(),
            HashValue::Table(d) => d.is_empty(),
        }
    }

    /// All (field, value) pairs (listpack: insertion order).
    pub fn iter(&self) -> Iter<'_> {
        match self {
            HashValue::Listpack(lp) => Iter::Lp(lp.iter()),
            HashValue::Table(d) => Iter::Ht(d.iter()),
        }
    }

    /// Position of `field` in the listpack.
    #[inline]
    fn lp_find(lp: &Listpack, field: &[u8]) -> Option<usize> {
        lp.find(lp.first()?, field, 1)
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<LpValue<'_>> {
        match self {
            HashValue::Listpack(lp) => {
                let p = Self::lp_find(lp, field)?;
                Some(lp.get(lp.next(p)?))
            }
            HashValue::Table(d) => d.get(field).map(|v| LpValue::Str(v)),
        }
    }

    pub fn exists(&self, field: &[u8]) -> bool {
        match self {
            HashValue::Listpack(lp) => Self::lp_find(lp, field).is_some(),
            HashValue::Table(d) => d.contains_key(field),
        }
    }

    /// Length of the value of `field` (0 when missing), HSTRLEN.
    pub fn strlen(&self, field: &[u8]) -> usize {
        self.get(field).map_or(0, |v| v.str_len())
    }

    /// `hashTypeConvert(OBJ_ENCODING_HT)`.
    pub fn convert_to_table(&mut self) {
        let HashValue::Listpack(lp) = self else {
            return;
        };
        let mut d: Dict<Sds, SmallSds> = Dict::with_capacity(lp.len() / 2);
        let mut fb = [0u8; 20];
        let mut vb = [0u8; 20];
        let mut it = lp.iter();
        while let (Some(f), Some(v)) = (it.next(), it.next()) {
            d.insert(f.as_bytes(&mut fb), SmallSds::new(v.as_bytes(&mut vb)));
        }
        *self = HashValue::Table(Box::new(d));
    }

    /// `hashTypeTryConversion`: before writing the strings `args` (fields
    /// and values), converts to a hashtable when any is longer than the
    /// value limit or the listpack would grow past its safety size.
    ///
    /// When the hash stays a listpack and the arguments' pairs would all fit
    /// in it, its buffer grows once, by what they need at most (given back
    /// after the command by [`HashValue::fit`]): a 100-field HSET is one
    /// reallocation, not a hundred, which left glibc's heap full of holes
    /// (10% more RSS than the data over 10k such keys).
    pub fn try_conversion<'b>(
        &mut self,
        args: impl Iterator<Item = &'b [u8]> + Clone,
        limits: Limits,
    ) {
        let HashValue::Listpack(lp) = self else {
            return;
        };
        let mut sum = 0usize;
        let mut n = 0usize;
        for a in args.clone() {
            if a.len() > limits.value {
                self.convert_to_table();
                return;
            }
            sum += a.len();
            n += 1;
        }
        if !lp.safe_to_add(sum) {
            self.convert_to_table();
            return;
        }
        if n > 2 && lp.len() / 2 + n / 2 <= limits.entries {
            let need: usize = args.map(listpack::entry_size_for).sum();
            lp_grow(lp, need);
        }
    }

    /// Gives back the slack a listpack kept after a command (see
    /// [`HashValue::try_conversion`]).
    pub fn fit(&mut self) {
        if let HashValue::Listpack(lp) = self {
            lp_fit(lp);
        }
    }

    /// `hashTypeSet`: sets `field` to `value`; true when the field existed
    /// (an update), false when it was added.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: Limits) -> bool {
        if let HashValue::Listpack(_) = self {
            if field.len() > limits.value || value.len() > limits.value {
                self.convert_to_table();
            }
        }
        match self {
            HashValue::Listpack(lp) => {
                if let Some(fp) = Self::lp_find(lp, field) {
                    if let Some(vp) = lp.next(fp) {
                        lp_grow(lp, listpack::entry_size_for(value));
                        lp.replace(vp, value);
                        lp_fit(lp);
                        return true;
                    }
                }
                lp_grow(
                    lp,
                    listpack::entry_size_for(field) + listpack::entry_size_for(value),
                );
                lp.append(field);
                lp.append(value);
                if lp.len() / 2 > limits.entries {
                    self.convert_to_table();
                }
                false
            }
            HashValue::Table(d) => {
                if let Some(v) = d.get_mut(field) {
                    *v = SmallSds::new(value);
                    true
                } else {
                    d.insert_new(field, SmallSds::new(value));
                    false
                }
            }
        }
    }

    /// `hashTypeDelete`: true when the field existed.
    pub fn delete(&mut self, field: &[u8]) -> bool {
        match self {
            HashValue::Listpack(lp) => {
                let Some(fp) = Self::lp_find(lp, field) else {
                    return false;
                };
                // Field and value: two deletions at the same offset.
                if let Some(vp) = lp.delete(fp) {
                    lp.delete(vp);
                }
                lp_fit(lp);
                true
            }
            HashValue::Table(d) => {
                if d.remove_value(field).is_none() {
                    return false;
                }
                if d.needs_shrink() {
                    d.shrink_to_fit();
                }
                true
            }
        }
    }

    /// HINCRBY core: adds `incr` to the integer value of `field` (0 when
    /// missing) and stores the result.
    pub fn incr_by(&mut self, field: &[u8], incr: i64, limits: Limits) -> Result<i64, CmdError> {
        let old = match self.get(field) {
            None => 0,
            Some(LpValue::Int(v)) => v,
            Some(LpValue::Str(s)) => {
                num::parse_i64(s).ok_or(CmdError::Static(error::HASH_NOT_INTEGER))?
            }
        };
        let new = old.checked_add(incr).ok_or(CmdError::Overflow)?;
        let mut buf = [0u8; 20];
        let s = num::format_i64(new, &mut buf);
        self.set(field, s, limits);
        Ok(new)
    }

    /// HINCRBYFLOAT core: `incr` must already be a valid finite float
    /// (the command checks it before looking the key up). Returns the new
    /// value as stored.
    pub fn incr_by_float(
        &mut self,
        field: &[u8],
        incr: &[u8],
        limits: Limits,
    ) -> Result<Vec<u8>, CmdError> {
        let cur = match self.get(field) {
            None => b"0".to_vec(),
            Some(v) => v.to_vec(),
        };
        let new = num::incr_by_float(&cur, incr).map_err(|e| match e {
            num::IncrFloatError::BadCurrent => CmdError::Static(error::HASH_NOT_FLOAT),
            num::IncrFloatError::BadIncrement => CmdError::NotFloat,
            num::IncrFloatError::NanOrInfinity => CmdError::NanOrInfinity,
        })?;
        self.set(field, &new, limits);
        Ok(new)
    }

    // ----- random sampling (HRANDFIELD) ----------------------------------

    /// Positions of all fields of a listpack.
    fn lp_field_positions(lp: &Listpack) -> Vec<usize> {
        let mut v = Vec::with_capacity(lp.len() / 2);
        let mut p = lp.first();
        while let Some(f) = p {
            v.push(f);
            p = lp.next(f).and_then(|vp| lp.next(vp));
        }
        v
    }

    /// The pair whose field is at listpack position `p`.
    #[inline]
    fn lp_pair(lp: &Listpack, p: usize) -> (LpValue<'_>, LpValue<'_>) {
        let v = lp.next(p).map_or(LpValue::Str(b""), |vp| lp.get(vp));
        (lp.get(p), v)
    }

    /// One random pair (`hashTypeRandomElement`), None when empty.
    pub fn random_pair<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<(LpValue<'_>, LpValue<'_>)> {
        match self {
            HashValue::Listpack(lp) => {
                let n = lp.len() / 2;
                if n == 0 {
                    return None;
                }
                let p = lp.seek(2 * rng.gen_range(0..n) as i64)?;
                Some(Self::lp_pair(lp, p))
            }
            HashValue::Table(d) => d
                .fair_random_entry(rng)
                .map(|(k, v)| (LpValue::Str(k), LpValue::Str(v))),
        }
    }

    /// `count` random pairs, possibly repeated (HRANDFIELD with a negative
    /// count); `f` returns false to stop early.
    pub fn random_pairs_with_repetition<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        count: u64,
        mut f: impl FnMut(LpValue<'_>, LpValue<'_>) -> bool,
    ) {
        match self {
            HashValue::Listpack(lp) => {
                let pos = Self::lp_field_positions(lp);
                if pos.is_empty() {
                    return;
                }
                for _ in 0..count {
                    let p = pos[rng.gen_range(0..pos.len())];
                    let (k, v) = Self::lp_pair(lp, p);
                    if !f(k, v) {
                        return;
                    }
                }
            }
            HashValue::Table(d) => {
                for _ in 0..count {
                    let Some((k, v)) = d.fair_random_entry(rng) else {
                        return;
                    };
                    if !f(LpValue::Str(k), LpValue::Str(v)) {
                        return;
                    }
                }
            }
        }
    }

    /// `min(count, len)` distinct random pairs (HRANDFIELD with a positive
    /// count), following Redis's cases: the whole hash when count >= len,
    /// "copy and remove" when count is close to len, else sampling.
    pub fn random_distinct<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        count: usize,
    ) -> Vec<(LpValue<'_>, LpValue<'_>)> {
        const SUB_STRATEGY_MUL: usize = 3;
        let size = self.len();
        if count >= size {
            return self.iter().collect();
        }
        if count.saturating_mul(SUB_STRATEGY_MUL) > size {
            let mut all: Vec<_> = self.iter().collect();
            while all.len() > count {
                let i = rng.gen_range(0..all.len());
                all.swap_remove(i);
            }
            return all;
        }
        match self {
            HashValue::Listpack(lp) => {
                // lpRandomPairsUnique: pick each pair with probability
                // needed/remaining, keeping listpack order.
                let mut out = Vec::with_capacity(count);
                let mut remaining = size;
                let mut p = lp.first();
                while let Some(fp) = p {
                    if out.len() == count {
                        break;
                    }
                    let needed = count - out.len();
                    if rng.gen_range(0..remaining) < needed {
                        out.push(Self::lp_pair(lp, fp));
                    }
                    remaining -= 1;
                    p = lp.next(fp).and_then(|vp| lp.next(vp));
                }
                out
            }
            HashValue::Table(d) => {
                let mut seen = std::collections::HashSet::with_capacity(count);
                let mut out = Vec::with_capacity(count);
                while out.len() < count {
                    let Some((k, v)) = d.fair_random_entry(rng) else {
                        break;
                    };
                    if seen.insert(k.as_ptr() as usize) {
                        out.push((LpValue::Str(k), LpValue::Str(v)));
                    }
                }
                out
            }
        }
    }

    /// One HSCAN step: calls `f` on each (field, value) visited and returns
    /// the next cursor. Listpacks are returned whole with cursor 0; tables
    /// use `Dict::scan` with Redis's `count * 10` bucket bound.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut f: impl FnMut(LpValue<'a>, LpValue<'a>),
    ) -> u64 {
        match self {
            HashValue::Listpack(_) => {
                for (k, v) in self.iter() {
                    f(k, v);
                }
                0
            }
            // Redis counts fields and values in its reply list.
            HashValue::Table(d) => {
                d.scan_batch(cursor, count, 2, |k, v| f(LpValue::Str(k), LpValue::Str(v)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use std::collections::HashMap;

    const SMALL: Limits = Limits {
        entries: 8,
        value: 6,
    };

    fn bytes(v: LpValue<'_>) -> Vec<u8> {
        v.to_vec()
    }

    fn check(h: &HashValue, model: &HashMap<Vec<u8>, Vec<u8>>) {
        assert_eq!(h.len(), model.len());
        assert_eq!(h.is_empty(), model.is_empty());
        let mut got: Vec<(Vec<u8>, Vec<u8>)> =
            h.iter().map(|(f, v)| (bytes(f), bytes(v))).collect();
        got.sort();
        let mut want: Vec<(Vec<u8>, Vec<u8>)> =
            model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        want.sort();
        assert_eq!(got, want);
        for (k, v) in model {
            assert_eq!(h.get(k).map(bytes).as_ref(), Some(v));
            assert!(h.exists(k));
            assert_eq!(h.strlen(k), v.len());
        }
        if let HashValue::Listpack(lp) = h {
            assert!(lp.validate());
            assert!(model.len() <= SMALL.entries);
            assert!(model
                .iter()
                .all(|(k, v)| k.len() <= SMALL.value && v.len() <= SMALL.value));
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(Vec<u8>, Vec<u8>),
        Del(Vec<u8>),
        Incr(Vec<u8>, i64),
    }

    fn key() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (0u8..12).prop_map(|i| format!("f{}", i).into_bytes()),
            (0i64..20).prop_map(|i| i.to_string().into_bytes()),
            Just(b"longfieldname".to_vec()),
            Just(b"".to_vec()),
        ]
    }

    fn val() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (-300i64..300).prop_map(|i| i.to_string().into_bytes()),
            "[a-z]{0,9}".prop_map(|s| s.into_bytes()),
            Just(b"007".to_vec()),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (key(), val()).prop_map(|(k, v)| Op::Set(k, v)),
            2 => key().prop_map(Op::Del),
            1 => (key(), -1000i64..1000).prop_map(|(k, i)| Op::Incr(k, i)),
        ]
    }

    proptest! {
        #[test]
        fn matches_hashmap_model(ops in prop::collection::vec(op(), 1..80)) {
            let mut h = HashValue::new();
            let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
            for op in ops {
                match op {
                    Op::Set(k, v) => {
                        h.try_conversion([k.as_slice(), v.as_slice()].into_iter(), SMALL);
                        let upd = h.set(&k, &v, SMALL);
                        prop_assert_eq!(upd, model.insert(k, v).is_some());
                    }
                    Op::Del(k) => {
                        prop_assert_eq!(h.delete(&k), model.remove(&k).is_some());
                    }
                    Op::Incr(k, i) => {
                        let cur = model.get(&k).cloned().unwrap_or_else(|| b"0".to_vec());
                        let r = h.incr_by(&k, i, SMALL);
                        match num::parse_i64(&cur) {
                            Some(c) => {
                                let n = c + i;
                                prop_assert_eq!(r, Ok(n));
                                model.insert(k, n.to_string().into_bytes());
                            }
                            None => prop_assert!(r.is_err()),
                        }
                    }
                }
                check(&h, &model);
            }
            let c = h.clone();
            check(&c, &model);
            let (mut d1, mut d2) = ([0u8; 20], [0u8; 20]);
            h.digest(&mut d1);
            c.digest(&mut d2);
            prop_assert_eq!(d1, d2);
        }

        #[test]
        fn random_distinct_is_distinct(n in 0usize..30, count in 0usize..40, seed in any::<u64>()) {
            let mut h = HashValue::new();
            let lim = Limits { entries: 16, value: 64 };
            for i in 0..n {
                h.set(format!("f{}", i).as_bytes(), b"v", lim);
            }
            let mut rng = SmallRng::seed_from_u64(seed);
            let got = h.random_distinct(&mut rng, count);
            prop_assert_eq!(got.len(), count.min(n));
            let mut fields: Vec<Vec<u8>> = got.iter().map(|(f, _)| f.to_vec()).collect();
            fields.sort();
            fields.dedup();
            prop_assert_eq!(fields.len(), count.min(n));
            let mut k = 0;
            h.random_pairs_with_repetition(&mut rng, count as u64, |f, _| {
                assert!(h.exists(&f.to_vec()));
                k += 1;
                true
            });
            prop_assert_eq!(k, if n == 0 { 0 } else { count });
        }
    }

    #[test]
    fn conversion_thresholds() {
        let lim = Limits {
            entries: 2,
            value: 4,
        };
        let mut h = HashValue::new();
        h.set(b"a", b"1", lim);
        h.set(b"b", b"2", lim);
        assert!(h.is_listpack());
        h.set(b"a", b"3", lim);
        assert!(h.is_listpack());
        h.set(b"c", b"3", lim);
        assert_eq!(h.encoding_name(), "hashtable");
        let mut h = HashValue::new();
        h.try_conversion([&b"abcd"[..], b"1234"].into_iter(), lim);
        assert!(h.is_listpack());
        h.try_conversion([&b"abcde"[..]].into_iter(), lim);
        assert!(!h.is_listpack());
        let mut h = HashValue::new();
        h.set(b"x", b"9999", lim);
        assert_eq!(h.incr_by(b"x", 1, lim), Ok(10000));
        assert!(!h.is_listpack());
    }

    #[test]
    fn compact() {
        assert_eq!(std::mem::size_of::<HashValue>(), 24);
        // 100 fields at default thresholds: the listpack is sized exactly.
        let lim = Limits {
            entries: 512,
            value: 64,
        };
        let mut h = HashValue::new();
        for i in 0..100 {
            let f = format!("field:{}", i);
            let v = format!("value:{}", i);
            h.try_conversion([f.as_bytes(), v.as_bytes()].into_iter(), lim);
            h.set(f.as_bytes(), v.as_bytes(), lim);
        }
        let HashValue::Listpack(lp) = &h else {
            panic!("not a listpack")
        };
        assert!(lp.capacity() - lp.bytes_len() <= 32);
        assert!(h.heap_size() <= 24 + lp.bytes_len() + 32);
    }

    #[test]
    fn incr_errors() {
        let lim = Limits {
            entries: 512,
            value: 64,
        };
        let mut h = HashValue::new();
        h.set(b"s", b"abc", lim);
        h.set(b"m", b"9223372036854775807", lim);
        assert_eq!(
            h.incr_by(b"s", 1, lim),
            Err(CmdError::Static(error::HASH_NOT_INTEGER))
        );
        assert_eq!(h.incr_by(b"m", 1, lim), Err(CmdError::Overflow));
        assert_eq!(
            h.incr_by_float(b"s", b"1", lim),
            Err(CmdError::Static(error::HASH_NOT_FLOAT))
        );
        assert_eq!(h.incr_by_float(b"n", b"1.5", lim), Ok(b"1.5".to_vec()));
        assert_eq!(h.incr_by_float(b"n", b"0.1", lim), Ok(b"1.6".to_vec()));
    }
}
