//! Tests of the member index against a `HashMap` model: insertions,
//! removals and lookups while tables grow, shrink and rehash, and SCAN
//! coverage with mutations between cursor calls.

use super::super::Skiplist;
use super::*;
use crate::ds::dict::{policy_lock_for_tests, set_resize_policy, PREFAULT_MIN_BUCKETS};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

/// A skiplist and its index, kept in step as the sorted set does.
struct Pair {
    zsl: Skiplist,
    index: MemberIndex,
}

impl Pair {
    fn new() -> Self {
        Pair {
            zsl: Skiplist::with_seed(11),
            index: MemberIndex::new(),
        }
    }

    fn insert(&mut self, ele: &[u8], score: f64) {
        let node = self.zsl.insert_node(score, ele);
        // SAFETY: a fresh node of our list, its member absent from the
        // index (the callers check); nodes leave the index before they are
        // deleted, and the index is dropped first.
        unsafe { self.index.insert(node) };
    }

    fn remove(&mut self, ele: &[u8]) -> Option<f64> {
        let score = self.index.remove(ele)?;
        assert!(self.zsl.delete(score, ele));
        Some(score)
    }
}

fn name(k: u16) -> Vec<u8> {
    format!("member:{k}").into_bytes()
}

proptest! {
    #[test]
    fn matches_hashmap_model(
        ops in proptest::collection::vec((0u8..5, 0u16..400), 0..600)
    ) {
        let _g = policy_lock_for_tests();
        let mut p = Pair::new();
        let mut m: HashMap<Vec<u8>, f64> = HashMap::new();
        for (step, (op, k)) in ops.into_iter().enumerate() {
            let ele = name(k);
            match op {
                0 | 1 => {
                    if !m.contains_key(&ele) {
                        p.insert(&ele, k as f64);
                        m.insert(ele.clone(), k as f64);
                    }
                }
                2 => prop_assert_eq!(p.remove(&ele), m.remove(&ele)),
                3 => {
                    prop_assert_eq!(p.index.get(&ele).map(|n| n.score()), m.get(&ele).copied());
                    prop_assert_eq!(p.index.get_mut(&ele).map(|n| n.member().to_vec()),
                        m.contains_key(&ele).then(|| ele.clone()));
                }
                _ => {
                    if p.index.needs_shrink() {
                        p.index.shrink_to_fit();
                    }
                    p.index.rehash_steps(1);
                }
            }
            prop_assert_eq!(p.index.len(), m.len());
            if step % 16 == 0 {
                p.index.check_invariants().map_err(TestCaseError::fail)?;
            }
        }
        p.index.check_invariants().map_err(TestCaseError::fail)?;
        for (ele, s) in &m {
            prop_assert_eq!(p.index.get(ele).map(|n| n.score()), Some(*s));
        }
        prop_assert_eq!(p.zsl.len(), m.len());
    }

    #[test]
    fn scan_returns_every_member_present_throughout(
        initial in 0u16..600,
        muts in proptest::collection::vec((0u8..3, 0u16..1200), 0..400),
        per_call in 1usize..8,
    ) {
        let _g = policy_lock_for_tests();
        let mut p = Pair::new();
        let mut live: HashSet<Vec<u8>> = HashSet::new();
        for k in 0..initial {
            p.insert(&name(k), k as f64);
            live.insert(name(k));
        }
        // Members present for the whole scan: the initial ones never removed.
        let mut stable = live.clone();
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let mut muts = muts.into_iter();
        let mut cursor = 0u64;
        let mut calls = 0;
        loop {
            cursor = p.index.scan(cursor, |n| {
                seen.insert(n.member().to_vec());
            });
            calls += 1;
            if cursor == 0 {
                break;
            }
            prop_assert!(calls < 100_000, "scan does not terminate");
            for (op, k) in muts.by_ref().take(per_call) {
                let ele = name(k);
                match op {
                    0 => {
                        if live.insert(ele.clone()) {
                            p.insert(&ele, k as f64);
                        }
                    }
                    1 => {
                        if live.remove(&ele) {
                            stable.remove(&ele);
                            prop_assert!(p.remove(&ele).is_some());
                        }
                    }
                    _ => {
                        if p.index.needs_shrink() {
                            p.index.shrink_to_fit();
                        }
                    }
                }
            }
        }
        for ele in &stable {
            prop_assert!(seen.contains(ele), "scan missed {:?}", String::from_utf8_lossy(ele));
        }
        for ele in &seen {
            // Nothing that was never a member is reported.
            prop_assert!(ele.starts_with(b"member:"));
        }
        p.index.check_invariants().map_err(TestCaseError::fail)?;
    }
}

#[test]
fn grows_rehashes_and_shrinks() {
    let _g = policy_lock_for_tests();
    let mut p = Pair::new();
    for k in 0..5000u16 {
        p.insert(&name(k), k as f64);
        if k == 100 {
            // Redis's dictExpand before a conversion.
            assert!(!p.index.expand(10) || p.index.bucket_count() >= 16);
        }
    }
    while p.index.rehash_steps(100) {}
    assert_eq!(p.index.bucket_count(), 8192);
    assert_eq!(p.index.heap_size(), 8192 * 8);
    let stats = p.index.stats();
    assert!(stats.starts_with(
        "Hash table 0 stats (main hash table):\n table size: 8192\n number of elements: 5000\n"
    ));
    for k in 0..4900u16 {
        assert_eq!(p.remove(&name(k)), Some(k as f64));
    }
    assert!(p.index.needs_shrink() && p.index.shrink_to_fit());
    assert!(p.index.is_rehashing());
    // The new table is still empty: Redis prints its header alone.
    assert!(p.index.stats().ends_with(
        "Hash table 1 stats (rehashing target):\nNo stats available for empty dictionaries\n"
    ));
    while p.index.stats().contains("No stats available") {
        p.index.rehash_steps(1);
    }
    assert!(p
        .index
        .stats()
        .contains("Hash table 1 stats (rehashing target):\n table size: 128\n"));
    while p.index.rehash_steps(1) {}
    assert_eq!((p.index.bucket_count(), p.index.len()), (128, 100));
    p.index.check_invariants().unwrap();
    let mut all = Vec::new();
    let mut c = 0;
    loop {
        c = p
            .index
            .scan_batch(c, 10, 2, |m, s| all.push((m.to_vec(), s)));
        if c == 0 {
            break;
        }
    }
    all.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(all.len(), 100);
    assert_eq!(all[0], (name(4900), 4900.0));
    let empty = MemberIndex::new();
    assert_eq!(
        empty.stats(),
        "Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n"
    );
    assert_eq!(empty.scan(0, |_| {}), 0);
    // A length no allocation can hold is refused, not an abort.
    let mut huge = MemberIndex::new();
    assert!(!huge.expand(usize::MAX / 4));
}

#[test]
fn resize_policy_is_respected() {
    let _g = policy_lock_for_tests();
    let mut p = Pair::new();
    for k in 0..8u16 {
        p.insert(&name(k), k as f64);
    }
    while p.index.rehash_steps(10) {}
    assert_eq!(p.index.bucket_count(), 8);
    // A fork child is alive: no growth until the load factor passes 5.
    set_resize_policy(ResizePolicy::Avoid);
    for k in 8..48u16 {
        p.insert(&name(k), k as f64);
    }
    assert_eq!((p.index.bucket_count(), p.index.is_rehashing()), (8, false));
    for k in 48..60u16 {
        p.insert(&name(k), k as f64);
    }
    // Load factor past 5 forces growth (8 -> 64 buckets: a size ratio of 8,
    // so the rehash runs under Avoid too).
    while p.index.rehash_steps(10) {}
    assert_eq!(p.index.bucket_count(), 64);
    // Forbid (in the child): no growth at any load factor, no shrinking.
    set_resize_policy(ResizePolicy::Forbid);
    for k in 60..500u16 {
        p.insert(&name(k), k as f64);
    }
    assert_eq!(
        (p.index.bucket_count(), p.index.is_rehashing()),
        (64, false)
    );
    for k in 0..498u16 {
        assert_eq!(p.remove(&name(k)), Some(k as f64));
    }
    assert!(!p.index.shrink_to_fit());
    set_resize_policy(ResizePolicy::Enable);
    while p.index.rehash_steps(10) {}
    assert!(p.index.needs_shrink() && p.index.shrink_to_fit());
    while p.index.rehash_steps(10) {}
    assert_eq!((p.index.bucket_count(), p.index.len()), (4, 2));
    p.index.check_invariants().unwrap();
}

#[test]
fn big_index_grows_into_a_prefaulted_table() {
    let _g = policy_lock_for_tests();
    let n = PREFAULT_MIN_BUCKETS;
    let big = |k: usize| format!("m:{k}").into_bytes();
    let mut p = Pair::new();
    p.index.expand(n);
    // Load 1, then one more member: the next table goes to the worker and
    // the index keeps filling its table.
    for k in 0..=n {
        p.insert(&big(k), k as f64);
    }
    assert!(p.index.pending.is_pending() || p.index.is_rehashing());
    assert_eq!(
        p.index.bucket_count() - n,
        if p.index.is_rehashing() { 2 * n } else { 0 }
    );
    // Inserting on: the prefaulted table (or, at load 2 without it, one of
    // the same size) is rehashed into.
    let mut k = n + 1;
    while !p.index.is_rehashing() {
        assert!(k <= 2 * n + 1, "no growth at load 2");
        p.insert(&big(k), k as f64);
        k += 1;
    }
    assert!(!p.index.pending.is_pending());
    assert_eq!(p.index.bucket_count(), 3 * n);
    for j in (0..k).step_by(101) {
        assert_eq!(p.index.get(&big(j)).map(|x| x.score()), Some(j as f64));
    }
    while p.index.rehash_steps(100) {}
    assert_eq!((p.index.bucket_count(), p.index.len()), (2 * n, k));
    p.index.check_invariants().unwrap();
}
