//! The per-db side of a fork-less snapshot (`persist::snapshot`): which
//! keys of a db have been written out, and the records not yet taken.
//!
//! At the start the db's keys are cut into groups by hash (`hash & mask`,
//! the smaller table's mask; the keyspace does not shrink meanwhile, so a
//! key never changes group). A traversal writes the groups out in order,
//! a bounded number per event-loop turn. Before any change to a key (a
//! write, a delete, an expiry, a new key) `before_write` writes out the
//! key's whole group first if the traversal has not reached it. So every
//! key is written exactly once, as it was when the snapshot started, and
//! keys created later are not written at all: the same point-in-time
//! content a fork child writes, without the copy-on-write memory.
//!
//! The record format is the upper layer's business: it hands in `emit`,
//! which appends one key's record to a buffer.

use crate::db::Keyspace;
use crate::object::Obj;

/// Appends one key's record (key, value, expire time, LRU/LFU stamp).
pub type Emit = Box<dyn FnMut(&mut Vec<u8>, &[u8], &Obj, Option<u64>, u32)>;

pub struct DbSnap {
    /// The db's index when the snapshot started (SWAPDB moves this state
    /// with the keys).
    pub db_id: usize,
    /// Keys and keys with a TTL at the start (the RDB's RESIZEDB hint).
    pub start_len: usize,
    pub start_expires: usize,
    mask: usize,
    /// Groups below this were written by the traversal.
    next: usize,
    /// Groups at or above `next` written early, by `before_write`.
    early: Vec<u64>,
    /// Records written and not yet taken by the snapshot's writer.
    pub out: Vec<u8>,
    /// Keys written so far.
    pub keys: u64,
    emit: Emit,
}

impl DbSnap {
    /// The snapshot state of `dict` as it is now; None when it has no
    /// keys (nothing to write).
    pub fn new(db_id: usize, dict: &Keyspace, emit: Emit) -> Option<Box<DbSnap>> {
        if dict.is_empty() {
            return None;
        }
        let mask = dict.group_mask()?;
        Some(Box::new(DbSnap {
            db_id,
            start_len: dict.len(),
            start_expires: dict.extra_count(),
            mask,
            next: 0,
            early: vec![0; (mask >> 6) + 1],
            out: Vec::new(),
            keys: 0,
            emit,
        }))
    }

    #[inline]
    fn done(&self, g: usize) -> bool {
        g < self.next || self.early[g >> 6] & (1 << (g & 63)) != 0
    }

    fn write_group(&mut self, dict: &Keyspace, g: usize) {
        let (out, emit, keys) = (&mut self.out, &mut self.emit, &mut self.keys);
        dict.for_each_in_group(g, self.mask, |k, o, extra, meta| {
            emit(out, k, o, extra, meta);
            *keys += 1;
        });
    }

    /// Writes out `key`'s group unless that was done: call before the key
    /// (or a key that will be created) changes.
    #[inline]
    pub fn before_write(&mut self, dict: &Keyspace, key: &[u8]) {
        let g = Keyspace::group_of(key, self.mask);
        if !self.done(g) {
            self.write_group(dict, g);
            self.early[g >> 6] |= 1 << (g & 63);
        }
    }

    /// The traversal: writes out groups until `budget` bytes were added
    /// to `out`, `deadline` passed (looked at every 32 groups) or all are
    /// done. True when all are done.
    pub fn step(
        &mut self,
        dict: &Keyspace,
        budget: usize,
        deadline: Option<std::time::Instant>,
    ) -> bool {
        let start = self.out.len();
        while self.next <= self.mask {
            if self.out.len() - start >= budget {
                return false;
            }
            if self.next.is_multiple_of(32)
                && deadline.is_some_and(|d| std::time::Instant::now() >= d)
            {
                return false;
            }
            let g = self.next;
            if !self.done(g) {
                self.write_group(dict, g);
            }
            self.next += 1;
        }
        true
    }

    /// True when every group was written.
    pub fn finished(&self) -> bool {
        self.next > self.mask
    }

    /// Writes out every group not yet written (before the db is emptied).
    pub fn finish(&mut self, dict: &Keyspace) {
        self.step(dict, usize::MAX, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::object::Value;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// (value, expire) of every key: what a snapshot must hold.
    type Image = BTreeMap<Vec<u8>, (Vec<u8>, Option<u64>)>;

    fn image(db: &Db) -> Image {
        db.dict
            .iter_meta()
            .map(|(k, o, extra, _)| {
                let mut tmp = [0u8; 20];
                let v = o.value.str_bytes(&mut tmp).unwrap_or_default().to_vec();
                (k.to_vec(), (v, extra))
            })
            .collect()
    }

    /// Records as `emit` below writes them, back into an image; panics on
    /// a key written twice.
    fn parse(mut b: &[u8]) -> Image {
        let mut out = Image::new();
        let take = |b: &mut &[u8], n: usize| {
            let (x, rest) = b.split_at(n);
            *b = rest;
            x.to_vec()
        };
        while !b.is_empty() {
            let kl = u32::from_le_bytes(take(&mut b, 4).try_into().unwrap()) as usize;
            let k = take(&mut b, kl);
            let vl = u32::from_le_bytes(take(&mut b, 4).try_into().unwrap()) as usize;
            let v = take(&mut b, vl);
            let has = take(&mut b, 1)[0] == 1;
            let e = u64::from_le_bytes(take(&mut b, 8).try_into().unwrap());
            let e = has.then_some(e);
            assert!(
                out.insert(k.clone(), (v, e)).is_none(),
                "{k:?} written twice"
            );
        }
        out
    }

    fn emit() -> Emit {
        Box::new(|b, k, o, extra, _| {
            let mut tmp = [0u8; 20];
            let v = o.value.str_bytes(&mut tmp).unwrap_or_default();
            b.extend_from_slice(&(k.len() as u32).to_le_bytes());
            b.extend_from_slice(k);
            b.extend_from_slice(&(v.len() as u32).to_le_bytes());
            b.extend_from_slice(v);
            b.push(extra.is_some() as u8);
            b.extend_from_slice(&extra.unwrap_or(0).to_le_bytes());
        })
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(u16, u16),
        Del(u16),
        Expire(u16, bool),
        Persist(u16),
        Append(u16),
        Read(u16),
        Step(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Keys up to 600 while 200 exist at the start: new keys grow and
        // rehash the table during the snapshot.
        prop_oneof![
            (0..600u16, any::<u16>()).prop_map(|(k, v)| Op::Set(k, v)),
            (0..600u16).prop_map(Op::Del),
            (0..600u16, any::<bool>()).prop_map(|(k, p)| Op::Expire(k, p)),
            (0..600u16).prop_map(Op::Persist),
            (0..600u16).prop_map(Op::Append),
            (0..600u16).prop_map(Op::Read),
            (1..400u16).prop_map(Op::Step),
        ]
    }

    fn key(k: u16) -> Vec<u8> {
        format!("key:{k}").into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Whatever happens to the keys while it runs, the snapshot holds
        /// each key of its start exactly once, as it was then.
        #[test]
        fn prop_snapshot_is_the_start(ops in proptest::collection::vec(op(), 1..300)) {
            let mut db = Db::new(0);
            let now = crate::clock::now_ms() as u64;
            for k in 0..200u16 {
                db.add(&key(k), Value::from_bytes(format!("v{k}").as_bytes()));
                if k % 7 == 0 {
                    // Already past its time: lazy expiry deletes it later.
                    db.set_expire(&key(k), now as i64 - 1000);
                } else if k % 5 == 0 {
                    db.set_expire(&key(k), now as i64 + 3_600_000);
                }
            }
            let want = image(&db);
            db.snap = DbSnap::new(0, &db.dict, emit());
            let mut got = Vec::new();
            for op in ops {
                match op {
                    Op::Set(k, v) => db.set(&key(k), Value::from_bytes(format!("n{v}").as_bytes()), false),
                    Op::Del(k) => {
                        db.delete(&key(k));
                    }
                    Op::Expire(k, past) => {
                        if db.lookup_write(&key(k)).is_some() {
                            let t = if past { now as i64 - 1 } else { now as i64 + 99_000 };
                            db.set_expire(&key(k), t);
                        }
                    }
                    Op::Persist(k) => {
                        db.remove_expire(&key(k));
                    }
                    Op::Append(k) => {
                        if let Some(o) = db.lookup_write(&key(k)) {
                            if let Some(v) = o.value.make_raw() {
                                v.extend_from_slice(b"+");
                            }
                        }
                    }
                    Op::Read(k) => {
                        db.lookup_read(&key(k));
                    }
                    Op::Step(budget) => {
                        if let Some(s) = db.snap.as_mut() {
                            s.step(&db.dict, budget as usize, None);
                            got.append(&mut s.out);
                        }
                    }
                }
            }
            if let Some(s) = db.snap.as_mut() {
                s.finish(&db.dict);
                got.append(&mut s.out);
                prop_assert!(s.finished());
            }
            prop_assert_eq!(parse(&got), want);
        }
    }
}
