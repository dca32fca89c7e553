//! Tests for `ds::dict`: unit tests and property tests against a HashMap
//! model, including the SCAN guarantee across expansion and shrinking.
use super::*;
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::collections::{HashMap, HashSet};
use std::sync::MutexGuard;

fn policy_lock() -> MutexGuard<'static, ()> {
    policy_lock_for_tests()
}

fn k(i: usize) -> Vec<u8> {
    format!("key:{i}").into_bytes()
}

fn finish(d: &mut Dict<Vec<u8>, usize>) {
    while d.rehash_steps(100) {}
}

/// Structural invariants of the two tables.
fn check_invariants<K: for<'k> From<&'k [u8]>, V, const M: bool>(d: &Dict<K, V, M>) {
    for (j, t) in d.ht.iter().enumerate() {
        assert!(t.size() == 0 || t.size().is_power_of_two());
        let mut n = 0;
        for (i, b) in t.buckets.iter().enumerate() {
            let mut cur = b.as_ref();
            if j == 0 && d.is_rehashing() && i < d.rehash_idx {
                assert!(cur.is_none(), "bucket before rehash_idx not empty");
            }
            while let Some(e) = cur {
                assert_eq!(hash_bytes(e.key()) as usize & t.mask(), i);
                n += 1;
                cur = e.next().as_ref();
            }
        }
        assert_eq!(n, t.used, "used count of table {j}");
    }
    if !d.is_rehashing() {
        assert_eq!(d.ht[1].used, 0);
    } else {
        assert!(d.ht[0].size() > 0);
    }
}

#[test]
fn link_is_a_32_bit_handle() {
    assert_eq!(mem::size_of::<Link<u64, false>>(), 4);
    assert_eq!(BUCKET_BYTES, 4);
    // One block: link, word (key length, flags), value, key bytes.
    assert_eq!(Dict::<Vec<u8>, u64>::entry_size(16), 4 + 4 + 8 + 16);
    assert_eq!(Dict::<Vec<u8>, ()>::entry_size(3), 4 + 4 + 3);
    // Keys over 126 bytes are their own block, referenced by 16 bytes.
    assert_eq!(Dict::<Vec<u8>, ()>::entry_size(127), 4 + 4 + 16 + 127);
}

#[test]
fn hashes() {
    assert_eq!(hash_bytes(b"abc"), hash_bytes(b"abc"));
    assert_ne!(hash_bytes(b"abc"), hash_bytes(b"abd"));
    assert_eq!(hash_bytes_nocase(b"FoO"), hash_bytes(b"foo"));
    assert_eq!(hash_bytes_nocase(b""), hash_bytes(b""));
    let long: Vec<u8> = (0..300u32).map(|i| b'A' + (i % 26) as u8).collect();
    assert_eq!(
        hash_bytes_nocase(&long),
        hash_bytes(&long.to_ascii_lowercase())
    );
}

#[test]
fn rehash_start_and_finish() {
    let _g = policy_lock();
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    assert_eq!(d.bucket_count(), 0);
    for i in 0..4 {
        d.insert(k(i), i);
    }
    assert_eq!(d.bucket_count(), 4);
    assert!(!d.is_rehashing());
    d.insert(k(4), 4); // used(4) >= size(4): expand to 8
    assert!(d.is_rehashing());
    assert_eq!(d.bucket_count(), 4 + 8);
    for i in 0..5 {
        assert_eq!(d.get(&k(i)), Some(&i)); // read-only, both tables
    }
    check_invariants(&d);
    let mut steps = 0;
    while d.rehash_steps(1) {
        steps += 1;
        check_invariants(&d);
    }
    assert!(steps <= 4);
    assert!(!d.is_rehashing());
    assert_eq!(d.bucket_count(), 8);
    assert_eq!(d.len(), 5);
    for i in 0..5 {
        assert_eq!(d.get(&k(i)), Some(&i));
    }
    // Mutating access advances the rehash one bucket at a time.
    for i in 5..1000 {
        d.insert(k(i), i);
    }
    assert!(d.bucket_count() >= 1024);
    let before = d.is_rehashing();
    let mut n = 0;
    while d.is_rehashing() {
        d.get_mut(&k(0));
        n += 1;
        assert!(n < 10_000);
    }
    let _ = before;
    check_invariants(&d);
    assert_eq!(d.rehash_for(Duration::from_millis(1)), 0);
    assert_eq!(d.len(), 1000);
}

#[test]
fn rehash_for_completes() {
    let _g = policy_lock();
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    for i in 0..5000 {
        d.insert_new(k(i), i);
    }
    finish(&mut d);
    assert!(d.expand(100_000));
    assert!(d.is_rehashing());
    while d.is_rehashing() {
        d.rehash_for(Duration::from_millis(5));
    }
    check_invariants(&d);
    assert_eq!(d.bucket_count(), 131_072);
    assert!(d.needs_shrink());
}

#[test]
fn shrink() {
    let _g = policy_lock();
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    for i in 0..1000 {
        d.insert(k(i), i);
    }
    finish(&mut d);
    assert_eq!(d.bucket_count(), 1024);
    assert!(!d.needs_shrink());
    for i in 5..1000 {
        assert_eq!(d.remove(&k(i)), Some((k(i), i)));
    }
    finish(&mut d);
    assert!(d.needs_shrink());
    set_resize_policy(ResizePolicy::Avoid);
    assert!(!d.shrink_to_fit());
    set_resize_policy(ResizePolicy::Enable);
    assert!(d.shrink_to_fit());
    assert!(d.is_rehashing());
    assert!(!d.shrink_to_fit()); // already rehashing
    for i in 0..5 {
        assert_eq!(d.get(&k(i)), Some(&i));
    }
    finish(&mut d);
    check_invariants(&d);
    assert_eq!(d.bucket_count(), 8);
    assert!(!d.needs_shrink());
    assert!(!d.shrink_to_fit()); // already minimal
                                 // expand refuses sizes below the element count
    assert!(!d.expand(2));
    // tiny dict: never needs shrink at 4 buckets
    let mut e: Dict<Vec<u8>, usize> = Dict::new();
    e.insert(k(1), 1);
    assert!(!e.needs_shrink());
    assert_eq!(
        e.mem_overhead(),
        mem::size_of::<Dict<Vec<u8>, usize>>() + 4 * 4 + Dict::<Vec<u8>, usize>::entry_size(0)
    );
}

#[test]
fn resize_policies() {
    let _g = policy_lock();
    set_resize_policy(ResizePolicy::Avoid);
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    for i in 0..24 {
        d.insert(k(i), i);
    }
    // 24/4 = 6 > 5 only reached at the 25th add's check
    assert_eq!(d.bucket_count(), 4);
    d.insert(k(24), 24);
    d.insert(k(25), 25);
    assert!(d.is_rehashing() || d.bucket_count() == 32);
    set_resize_policy(ResizePolicy::Forbid);
    let mut f: Dict<Vec<u8>, usize> = Dict::new();
    for i in 0..100 {
        f.insert(k(i), i);
    }
    assert_eq!(f.bucket_count(), 4);
    assert!(!f.shrink_to_fit());
    check_invariants(&f);
    set_resize_policy(ResizePolicy::Enable);
    f.insert(k(100), 100);
    assert!(f.is_rehashing());
    assert_eq!(resize_policy(), ResizePolicy::Enable);
}

#[test]
fn replace_and_get_or_insert() {
    let mut d: Dict<Vec<u8>, u32> = Dict::new();
    assert_eq!(d.insert(b"a", 10), None);
    assert_eq!(d.insert(String::from("a"), 20), Some(10));
    assert_eq!(d.len(), 1);
    let (key, val) = d.get_key_value(b"a").expect("present");
    assert_eq!((key, *val), (&b"a"[..], 20));
    let (v, inserted) = d.get_or_insert_with(b"a", || 30);
    assert!(!inserted);
    *v += 1;
    assert_eq!(d.get(b"a"), Some(&21));
    let (v, inserted) = d.get_or_insert_with(b"b", || 40);
    assert!(inserted);
    assert_eq!(*v, 40);
    let (rk, rv) = d.remove(b"a").expect("present");
    assert_eq!((rk, rv), (b"a".to_vec(), 21));
    assert_eq!(d.remove(b"a").map(|(_, v)| v), None);
    assert_eq!(d.remove_value(b"b"), Some(40));
    assert_eq!(d.remove_value(b"b"), None);
    assert!(d.is_empty());
    // Empty and long keys round-trip through the entry.
    let long = vec![7u8; 70_000];
    d.insert(b"", 1);
    d.insert(&long, 2);
    assert_eq!(d.get(b""), Some(&1));
    assert_eq!(
        d.get_key_value(&long).map(|(k, v)| (k.len(), *v)),
        Some((70_000, 2))
    );
}

#[test]
fn remove_during_rehash() {
    let _g = policy_lock();
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    for i in 0..64 {
        d.insert(k(i), i);
    }
    finish(&mut d);
    d.insert(k(64), 64); // 64 >= 64: starts rehash to 128
    assert!(d.is_rehashing());
    let mut removed = 0;
    for i in (0..65).step_by(2) {
        assert_eq!(d.remove(&k(i)), Some((k(i), i)));
        removed += 1;
        check_invariants(&d);
        assert_eq!(d.remove(&k(i)), None);
    }
    assert_eq!(d.len(), 65 - removed);
    for i in 0..65 {
        assert_eq!(
            d.get(&k(i)).copied(),
            if i % 2 == 0 { None } else { Some(i) }
        );
    }
    // Removing everything during a rehash completes it cleanly.
    d.expand(10_000);
    let keys: Vec<Vec<u8>> = d.keys().map(|k| k.to_vec()).collect();
    for key in keys {
        assert!(d.remove(&key).is_some());
    }
    assert!(d.is_empty());
    finish(&mut d);
    check_invariants(&d);
    assert_eq!(d.get(b"x"), None);
    d.insert(k(1), 1);
    assert_eq!(d.get(&k(1)), Some(&1));
}

#[test]
fn random_entry_sparse_and_sampling() {
    let _g = policy_lock();
    let mut rng = SmallRng::seed_from_u64(7);
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    assert!(d.random_entry(&mut rng).is_none());
    assert!(d.fair_random_entry(&mut rng).is_none());
    assert!(d.expand(1 << 16));
    for i in 0..3 {
        d.insert(k(i), i);
    }
    let mut seen = HashSet::new();
    for _ in 0..300 {
        let (key, v) = d.random_entry(&mut rng).expect("non-empty");
        assert_eq!(key, &k(*v));
        seen.insert(*v);
    }
    assert_eq!(seen.len(), 3);
    let mut seen = HashSet::new();
    for _ in 0..300 {
        let (_, v) = d.fair_random_entry(&mut rng).expect("non-empty");
        seen.insert(*v);
    }
    assert_eq!(seen.len(), 3);
    // During a (shrinking) rehash.
    assert!(d.shrink_to_fit());
    d.rehash_steps(1);
    assert!(d.is_rehashing());
    let mut seen = HashSet::new();
    for _ in 0..300 {
        seen.insert(*d.random_entry(&mut rng).expect("non-empty").1);
    }
    assert_eq!(seen.len(), 3);
    let mut out = Vec::new();
    let n = d.some_entries(&mut rng, 10, &mut out);
    assert!(n <= 3 && n == out.len());
    // Larger dict, mid-rehash.
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    for i in 0..1000 {
        d.insert(k(i), i);
    }
    finish(&mut d);
    let mut out = Vec::new();
    let n = d.some_entries(&mut rng, 20, &mut out);
    assert_eq!(n, 20); // dense table: always fills the sample
                       // Mid-rehash into a much larger, still sparse table the sampler may
                       // come back short (as in Redis), but what it returns is valid.
    d.expand(5000);
    d.rehash_steps(10);
    for _ in 0..50 {
        let mut out = Vec::new();
        let n = d.some_entries(&mut rng, 20, &mut out);
        assert!(n <= 20 && n == out.len());
        for (key, v) in out {
            assert_eq!(key, &k(*v));
        }
        assert!(d.fair_random_entry(&mut rng).is_some());
    }
}

#[test]
fn stats_text() {
    let mut d: Dict<Vec<u8>, u32> = Dict::new();
    assert_eq!(
        d.stats(),
        "Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n"
    );
    // Build a known layout by hand: bucket 0 holds 2, bucket 1 holds 1.
    let mut t: Table<u32, false> = Table::try_with_size(4).expect("alloc");
    t.buckets[0] = Some(Entry::new(b"a", 1, Some(Entry::new(b"b", 2, None))));
    t.buckets[1] = Some(Entry::new(b"c", 3, None));
    t.used = 3;
    d.ht[0] = t;
    let expected = "Hash table 0 stats (main hash table):\n table size: 4\n number of elements: 3\n \
                    different slots: 2\n max chain length: 2\n avg chain length (counted): 1.50\n \
                    avg chain length (computed): 1.50\n Chain length distribution:\n   0: 2 (50.00%)\n   \
                    1: 1 (25.00%)\n   2: 1 (25.00%)\n";
    assert_eq!(d.stats(), expected);
    // Rehashing: second section for the target table.
    d.ht[1] = Table::try_with_size(8).expect("alloc");
    let s = d.stats();
    assert!(s.starts_with(expected));
    assert!(s.ends_with(
        "Hash table 1 stats (rehashing target):\nNo stats available for empty dictionaries\n"
    ));
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    for i in 0..5 {
        d.insert(k(i), i);
    }
    if d.is_rehashing() {
        d.rehash_steps(1);
        if d.is_rehashing() {
            let s = d.stats();
            assert!(
                s.contains("Hash table 1 stats (rehashing target):\n table size: 8\n"),
                "{s}"
            );
        }
    }
}

#[test]
fn iterators_retain_clear() {
    let mut d: Dict<Vec<u8>, usize> = (0..500).map(|i| (k(i), i)).collect();
    d.expand(4096); // iterate while rehashing too
    d.rehash_steps(3);
    assert_eq!(d.iter().len(), 500);
    let mut seen: Vec<usize> = d
        .iter()
        .map(|(key, v)| {
            assert_eq!(key, &k(*v));
            *v
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..500).collect::<Vec<_>>());
    for (_, v) in d.iter_mut() {
        *v *= 2;
    }
    assert_eq!(d.values().sum::<usize>(), 2 * (0..500).sum::<usize>());
    d.retain(|_, v| *v % 4 == 0);
    assert_eq!(d.len(), 250);
    check_invariants(&d);
    let mut drained: Vec<(Vec<u8>, usize)> = d.drain().collect();
    assert!(d.is_empty() && d.bucket_count() == 0);
    drained.sort_by_key(|(_, v)| *v);
    assert_eq!(drained.len(), 250);
    let mut d: Dict<Vec<u8>, usize> = (0..100).map(|i| (k(i), i)).collect();
    let mut it = d.drain();
    it.next();
    drop(it); // partial consumption
    d.extend((0..10).map(|i| (k(i), i)));
    d.clear();
    assert!(d.is_empty() && d.get(&k(1)).is_none() && d.scan(0, |_, _| {}) == 0);
    d.insert(k(1), 1);
    assert_eq!(format!("{:?}", d.iter().count()), "1");
}

#[test]
fn scan_simple_full_cycle() {
    let mut d: Dict<Vec<u8>, usize> = (0..1000).map(|i| (k(i), i)).collect();
    let mut seen = HashSet::new();
    let mut cursor = 0;
    loop {
        cursor = d.scan(cursor, |_, v| {
            seen.insert(*v);
        });
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    let mut keys = Vec::new();
    let mut cursor = 0;
    loop {
        cursor = d.scan_keys(cursor, &mut keys);
        if cursor == 0 {
            break;
        }
    }
    assert!(keys.len() >= 1000);
    d.clear();
    assert_eq!(d.scan(0, |_, _| {}), 0);
}

/// scan_batch: each call gathers at least `count` reply elements unless
/// the cursor wrapped, and the calls together visit every entry.
#[test]
fn scan_batch_gathers_count_and_completes() {
    let d: Dict<Vec<u8>, usize> = (0..1000).map(|i| (k(i), i)).collect();
    for per_entry in [1, 2] {
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            let mut got = 0;
            cursor = d.scan_batch(cursor, 10, per_entry, |_, v| {
                seen.insert(*v);
                got += per_entry;
            });
            if cursor == 0 {
                break;
            }
            assert!(got >= 10, "{got} elements");
        }
        assert_eq!(seen.len(), 1000);
    }
    // At most 10×count + 1 buckets per call (maxiterations): an empty
    // dict answers at once.
    let empty: Dict<Vec<u8>, usize> = Dict::new();
    assert_eq!(empty.scan_batch(5, 1, 1, |_, _| {}), 0);
}

/// Deterministic growth and shrink in the middle of a scan.
#[test]
fn scan_across_grow_and_shrink() {
    let _g = policy_lock();
    for shrink in [false, true] {
        let mut d: Dict<Vec<u8>, usize> = Dict::new();
        let stable: Vec<usize> = (0..50).collect();
        for &i in &stable {
            d.insert(k(i), i);
        }
        if shrink {
            for i in 1000..5000 {
                d.insert(k(i), i);
            }
        }
        finish(&mut d);
        let start_buckets = d.bucket_count();
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        let mut next_new = 100_000;
        loop {
            cursor = d.scan(cursor, |_, v| {
                seen.insert(*v);
            });
            if cursor == 0 {
                break;
            }
            round += 1;
            if round == 3 {
                if shrink {
                    for i in 1000..5000 {
                        d.remove(&k(i));
                    }
                    assert!(d.shrink_to_fit());
                } else {
                    for _ in 0..3000 {
                        d.insert(k(next_new), next_new);
                        next_new += 1;
                    }
                }
            }
            d.rehash_steps(2);
        }
        assert_ne!(d.bucket_count(), start_buckets);
        for i in stable {
            assert!(seen.contains(&i), "stable key {i} missed (shrink={shrink})");
        }
    }
}

#[test]
fn drop_million_entries() {
    let mut d: Dict<Vec<u8>, u32> = Dict::new();
    d.expand(1 << 20);
    for i in 0..1_000_000u32 {
        d.insert_new(i.to_le_bytes(), i);
    }
    assert_eq!(d.len(), 1_000_000);
    drop(d);
    // Pathological single chain of 1M entries (as under Forbid with a
    // tiny table): drop, and partial into_iter drop, must not recurse.
    let build = || {
        let mut d: Dict<Vec<u8>, u32> = Dict::new();
        let mut t: Table<u32, false> = Table::try_with_size(4).expect("alloc");
        let mut head: Link<u32, false> = None;
        for i in 0..1_000_000u32 {
            head = Some(Entry::new(b"", i, head));
        }
        t.buckets[0] = head;
        t.used = 1_000_000;
        d.ht[0] = t;
        d
    };
    drop(build());
    let mut it = build().into_iter();
    assert!(it.next().is_some());
    drop(it);
}

// ----- property tests ------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, u32),
    InsertNew(u8, u32),
    GetOrInsert(u8, u32),
    Remove(u8),
    Get(u8),
    GetMut(u8, u32),
    RehashSteps(u8),
    Shrink,
    Expand(u16),
    Retain(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), any::<u32>()).prop_map(|(a, b)| Op::Insert(a % 80, b)),
        2 => (any::<u8>(), any::<u32>()).prop_map(|(a, b)| Op::InsertNew(a % 80, b)),
        2 => (any::<u8>(), any::<u32>()).prop_map(|(a, b)| Op::GetOrInsert(a % 80, b)),
        3 => any::<u8>().prop_map(|a| Op::Remove(a % 80)),
        2 => any::<u8>().prop_map(|a| Op::Get(a % 80)),
        2 => (any::<u8>(), any::<u32>()).prop_map(|(a, b)| Op::GetMut(a % 80, b)),
        1 => any::<u8>().prop_map(|n| Op::RehashSteps(n % 8)),
        1 => Just(Op::Shrink),
        1 => (0u16..300).prop_map(Op::Expand),
        1 => any::<u8>().prop_map(|m| Op::Retain(m % 5 + 2)),
    ]
}

fn pk(i: u8) -> Vec<u8> {
    format!("p{i}").into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn prop_matches_hashmap(ops in proptest::collection::vec(op(), 1..250)) {
        let _g = policy_lock();
        let mut d: Dict<Vec<u8>, u32> = Dict::new();
        let mut m: HashMap<Vec<u8>, u32> = HashMap::new();
        for o in ops {
            match o {
                Op::Insert(a, v) => prop_assert_eq!(d.insert(pk(a), v), m.insert(pk(a), v)),
                Op::InsertNew(a, v) => {
                    if let std::collections::hash_map::Entry::Vacant(slot) = m.entry(pk(a)) {
                        d.insert_new(pk(a), v);
                        slot.insert(v);
                    }
                }
                Op::GetOrInsert(a, v) => {
                    let (dv, ins) = d.get_or_insert_with(&pk(a), || v);
                    let was = m.contains_key(&pk(a));
                    let mv = m.entry(pk(a)).or_insert(v);
                    prop_assert_eq!(ins, !was);
                    prop_assert_eq!(*dv, *mv);
                }
                Op::Remove(a) => prop_assert_eq!(d.remove(&pk(a)), m.remove(&pk(a)).map(|v| (pk(a), v))),
                Op::Get(a) => prop_assert_eq!(d.get(&pk(a)), m.get(&pk(a))),
                Op::GetMut(a, v) => {
                    let dv = d.get_mut(&pk(a)).map(|x| { *x = v; *x });
                    let mv = m.get_mut(&pk(a)).map(|x| { *x = v; *x });
                    prop_assert_eq!(dv, mv);
                }
                Op::RehashSteps(n) => { d.rehash_steps(n as usize); }
                Op::Shrink => { d.shrink_to_fit(); }
                Op::Expand(n) => { d.expand(n as usize); }
                Op::Retain(md) => {
                    d.retain(|_, v| *v % md as u32 != 0);
                    m.retain(|_, v| *v % md as u32 != 0);
                }
            }
            check_invariants(&d);
            prop_assert_eq!(d.len(), m.len());
            let got: HashMap<Vec<u8>, u32> = d.iter().map(|(k, v)| (k.to_vec(), *v)).collect();
            prop_assert_eq!(&got, &m);
            for key in m.keys() {
                prop_assert!(d.contains_key(key));
            }
        }
    }
}

#[derive(Debug, Clone)]
enum ScanOp {
    Grow(u16),
    RemoveVolatile(u16),
    Steps(u8),
    Shrink,
    Expand(u16),
    Nothing,
}

fn scan_op() -> impl Strategy<Value = ScanOp> {
    prop_oneof![
        3 => (1u16..600).prop_map(ScanOp::Grow),
        3 => (1u16..600).prop_map(ScanOp::RemoveVolatile),
        2 => (0u8..20).prop_map(ScanOp::Steps),
        2 => Just(ScanOp::Shrink),
        1 => (0u16..4000).prop_map(ScanOp::Expand),
        1 => Just(ScanOp::Nothing),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn prop_scan_guarantee(
        n_stable in 1usize..120,
        n_volatile in 0usize..1500,
        ops in proptest::collection::vec(scan_op(), 0..80),
        pre_steps in 0usize..5,
        shrink_round in 0usize..12,
        shrink_steps in 0usize..6,
    ) {
        let _g = policy_lock();
        let mut d: Dict<Vec<u8>, usize> = Dict::new();
        let vol = |i: usize| format!("v{i}").into_bytes();
        for i in 0..n_stable {
            d.insert(k(i), i);
        }
        let mut volatile: Vec<usize> = (0..n_volatile).collect();
        for &i in &volatile {
            d.insert(vol(i), usize::MAX);
        }
        // Sometimes start the scan in the middle of a rehash.
        for _ in 0..pre_steps {
            if !d.rehash_steps(1) { break; }
        }
        let mut next_new = 0usize;
        let mut seen = HashSet::new();
        let mut cursor = 0u64;
        let mut ops = ops.into_iter();
        let mut sizes = HashSet::new();
        let mut round = 0usize;
        loop {
            sizes.insert((d.ht[0].size(), d.ht[1].size()));
            cursor = d.scan(cursor, |_, v| { seen.insert(*v); });
            if cursor == 0 { break; }
            round += 1;
            if round == shrink_round {
                // Forced shrink mid-scan: drop every volatile key, shrink
                // and leave the shrinking rehash partly done.
                for i in volatile.drain(..) {
                    prop_assert!(d.remove(&vol(i)).is_some());
                }
                while d.rehash_steps(100) {}
                d.shrink_to_fit();
                d.rehash_steps(shrink_steps);
                continue;
            }
            match ops.next() {
                Some(ScanOp::Grow(n)) => {
                    for _ in 0..n {
                        d.insert(format!("n{next_new}").into_bytes(), usize::MAX);
                        next_new += 1;
                    }
                }
                Some(ScanOp::RemoveVolatile(n)) => {
                    for _ in 0..n {
                        let Some(i) = volatile.pop() else { break };
                        prop_assert!(d.remove(&vol(i)).is_some());
                    }
                }
                Some(ScanOp::Steps(n)) => { d.rehash_steps(n as usize); }
                Some(ScanOp::Shrink) => {
                    while d.rehash_steps(100) {}
                    d.shrink_to_fit();
                }
                Some(ScanOp::Expand(n)) => { d.expand(n as usize); }
                Some(ScanOp::Nothing) | None => {}
            }
        }
        for i in 0..n_stable {
            prop_assert!(seen.contains(&i), "stable key {} missed; table sizes seen {:?}", i, sizes);
        }
        check_invariants(&d);
    }
}

#[test]
fn rehash_follows_the_resize_policy() {
    let _g = policy_lock();
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    for i in 0..4 {
        d.insert(k(i), i);
    }
    // The 5th add starts 4 -> 8: a ratio under dict_force_resize_ratio.
    d.insert(k(4), 4);
    assert!(d.is_rehashing());
    set_resize_policy(ResizePolicy::Avoid);
    let idx = d.rehash_idx;
    assert!(!d.rehash_steps(10));
    assert_eq!(d.rehash_idx, idx, "no rehashing while a child avoids it");
    set_resize_policy(ResizePolicy::Forbid);
    assert!(!d.rehash_steps(10));
    assert!(d.is_rehashing());
    set_resize_policy(ResizePolicy::Enable);
    finish(&mut d);
    assert!(!d.is_rehashing());

    // Shrinking 1024 -> 8 (ratio 128) proceeds even under Avoid.
    for i in 5..1000 {
        d.insert(k(i), i);
    }
    finish(&mut d);
    for i in 5..1000 {
        d.remove(&k(i));
    }
    finish(&mut d);
    assert!(d.shrink_to_fit());
    set_resize_policy(ResizePolicy::Avoid);
    while d.rehash_steps(1) {}
    assert!(!d.is_rehashing());
    assert_eq!(d.bucket_count(), 8);
    check_invariants(&d);
}

#[test]
fn fair_random_reaches_the_tail_of_long_chains() {
    let _g = policy_lock();
    // Under Forbid the table stays at 4 buckets: chains of ~50 entries.
    set_resize_policy(ResizePolicy::Forbid);
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    for i in 0..200 {
        d.insert(k(i), i);
    }
    set_resize_policy(ResizePolicy::Enable);
    assert_eq!(d.bucket_count(), 4);
    let mut rng = SmallRng::seed_from_u64(7);
    let mut seen = HashSet::new();
    for _ in 0..20_000 {
        seen.insert(*d.fair_random_entry(&mut rng).unwrap().1);
    }
    // Without reservoir sampling only the first 15 of each chain show up.
    assert_eq!(seen.len(), 200);
    let mut out = Vec::new();
    assert_eq!(d.some_entries(&mut rng, 15, &mut out), 15);
    let distinct: HashSet<usize> = out.iter().map(|e| *e.1).collect();
    assert_eq!(distinct.len(), 15);
}

#[test]
fn random_picks_advance_rehashing() {
    let _g = policy_lock();
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    for i in 0..5 {
        d.insert(k(i), i);
    }
    assert!(d.is_rehashing());
    d.rehash_for_random(1);
    assert!(!d.is_rehashing());
}

#[test]
fn extras_follow_their_entries() {
    let _g = policy_lock();
    let mut d: Dict<Vec<u8>, usize> = Dict::new();
    for i in 0..1000 {
        d.insert(k(i), i);
    }
    // Every third key gets an extra, some while the table rehashes.
    for i in (0..1000).step_by(3) {
        assert_eq!(d.set_extra(&k(i), Some(i as u64 * 7)), Some(None));
        d.insert(k(1000 + i), i);
    }
    assert_eq!(d.set_extra(b"absent", Some(1)), None);
    assert_eq!(d.extra_count(), 334);
    check_invariants(&d);
    finish(&mut d);
    for i in 0..1000 {
        let want = (i % 3 == 0).then_some(i as u64 * 7);
        assert_eq!(d.get_extra(&k(i)), want, "key {i}");
        assert_eq!(d.get(&k(i)), Some(&i));
        assert_eq!(d.get_with_extra(&k(i)), Some((&i, want)));
    }
    // Overwrite in place, remove, and the value survives the reallocation.
    assert_eq!(d.set_extra(&k(3), Some(5)), Some(Some(21)));
    assert_eq!(d.set_extra(&k(6), None), Some(Some(42)));
    assert_eq!(d.set_extra(&k(6), None), Some(None));
    assert_eq!(d.get(&k(6)), Some(&6));
    assert_eq!(d.extra_count(), 333);
    // Replacing a value keeps the extra (Db::set clears it itself).
    d.insert(k(3), 33);
    assert_eq!(d.get_with_extra(&k(3)), Some((&33, Some(5))));
    // Iteration, SCAN and sampling see the extras.
    let n = d.iter_extra().filter(|(_, _, x)| x.is_some()).count();
    assert_eq!(n, 333);
    let mut seen = HashSet::new();
    let mut cursor = 0;
    loop {
        cursor = d.scan_extra(cursor, |key, _, x| {
            if x.is_some() {
                seen.insert(key.to_vec());
            }
        });
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 333);
    let mut rng = SmallRng::seed_from_u64(7);
    let mut out = Vec::new();
    d.some_entries_extra(&mut rng, 50, &mut out);
    for (key, _, x) in &out {
        assert_eq!(d.get_extra(key), *x);
    }
    // Removal, retain and clear keep the count.
    assert!(d.remove(&k(0)).is_some());
    assert_eq!(d.remove_value(&k(9)), Some(9));
    assert_eq!(d.extra_count(), 331);
    d.retain(|key, _| key != k(12).as_slice() && key != k(13).as_slice());
    assert_eq!(d.extra_count(), 330);
    d.insert_new_with_extra(b"new", 1, Some(u64::MAX));
    assert_eq!(d.get_extra(b"new"), Some(u64::MAX));
    assert_eq!(d.extra_count(), 331);
    check_invariants(&d);
    d.clear();
    assert_eq!(d.extra_count(), 0);
}

#[test]
fn meta_words_follow_their_entries() {
    let _g = policy_lock();
    // The keyspace's shape: a 16-byte value after the 4-byte link and the
    // word holding the key length, flags and the 24-bit meta value.
    assert_eq!(
        Dict::<Vec<u8>, [u64; 2], true>::entry_size(16),
        4 + 4 + 16 + 16
    );
    assert_eq!(Dict::<Vec<u8>, u64, true>::entry_size(3), 4 + 4 + 8 + 3);
    let mut d: Dict<Vec<u8>, usize, true> = Dict::new();
    for i in 0..1000 {
        let (v, m, inserted) = d.get_or_insert_with_meta(&k(i), || i, i as u32 * 3);
        assert!(inserted);
        assert_eq!((*v, m.get()), (i, i as u32 * 3));
    }
    check_invariants(&d);
    // Extras reallocate entries; the meta word moves with them, also
    // while the table rehashes.
    for i in (0..1000).step_by(2) {
        d.set_extra(&k(i), Some(i as u64));
    }
    while d.rehash_steps(100) {}
    for i in 0..1000 {
        assert_eq!(d.get_meta(&k(i)), Some(i as u32 * 3), "key {i}");
    }
    for i in (0..1000).step_by(4) {
        d.set_extra(&k(i), None);
    }
    for i in 0..1000 {
        assert_eq!(d.get_meta(&k(i)), Some(i as u32 * 3), "key {i}");
        assert_eq!(d.get(&k(i)), Some(&i));
    }
    // Updates through get_mut_meta, set_meta and insert_meta.
    let (v, mut m) = d.get_mut_meta(&k(5)).expect("present");
    *v = 55;
    m.set(7);
    assert_eq!((d.get(&k(5)), d.get_meta(&k(5))), (Some(&55), Some(7)));
    assert!(d.set_meta(&k(6), 8));
    assert!(!d.set_meta(b"absent", 8));
    assert_eq!(d.insert_meta(&k(6), 66, 9), Some(6));
    assert_eq!((d.get(&k(6)), d.get_meta(&k(6))), (Some(&66), Some(9)));
    assert_eq!(d.insert_meta(b"fresh", 1, 10), None);
    d.insert_new_meta(b"fresher", 2, Some(3), 11);
    assert_eq!(d.get_meta(b"fresher"), Some(11));
    assert_eq!(d.get_extra(b"fresher"), Some(3));
    // Existing entries keep their meta on get_or_insert_with_meta.
    let (_, m, inserted) = d.get_or_insert_with_meta(&k(7), || 0, 99);
    assert!(!inserted);
    assert_eq!(m.get(), 21);
    // Iteration and sampling see them.
    for (key, v, _, m) in d.iter_meta() {
        assert_eq!(d.get_meta(key), Some(m));
        assert_eq!(d.get(key), Some(v));
    }
    let mut rng = SmallRng::seed_from_u64(9);
    let mut out = Vec::new();
    d.some_entries_meta(&mut rng, 40, &mut out);
    assert!(!out.is_empty());
    for (key, _, x, m) in &out {
        assert_eq!(d.get_meta(key), Some(*m));
        assert_eq!(d.get_extra(key), *x);
    }
    check_invariants(&d);
}

mod siphash_tests {
    /// The reference SipHash-2-4 vectors (key 00..0f, message 00..n-1)
    /// validate the round function shared with SipHash-1-2.
    #[test]
    fn siphash24_reference_vectors() {
        let k0 = u64::from_le_bytes([0, 1, 2, 3, 4, 5, 6, 7]);
        let k1 = u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15]);
        let msg: Vec<u8> = (0u8..64).collect();
        assert_eq!(
            super::siphash::<2, 4>(k0, k1, &msg[..0]),
            0x726fdb47dd0e0e31
        );
        assert_eq!(
            super::siphash::<2, 4>(k0, k1, &msg[..1]),
            0x74f839c593dc67fd
        );
        assert_eq!(
            super::siphash::<2, 4>(k0, k1, &msg[..8]),
            0x93f5f5799a932462
        );
        assert_eq!(
            super::siphash::<2, 4>(k0, k1, &msg[..15]),
            0xa129ca6149be45e5
        );
    }
}

/// Fills a dict to load 1 at `PREFAULT_MIN_BUCKETS` buckets and adds one
/// more key: the next table goes to `alloc::prefault`.
fn dict_with_pending_table() -> Dict<Vec<u8>, usize> {
    let mut d = Dict::new();
    d.expand(PREFAULT_MIN_BUCKETS);
    for i in 0..=PREFAULT_MIN_BUCKETS {
        d.insert(k(i), i);
    }
    d
}

#[test]
fn big_table_grows_into_a_prefaulted_table() {
    let _g = policy_lock();
    let mut d = dict_with_pending_table();
    // Growth went on in the old table while the next one is prefaulted.
    assert!(d.pending.is_pending());
    assert!(!d.is_rehashing());
    assert_eq!(d.bucket_count(), PREFAULT_MIN_BUCKETS);
    // The cron's call starts the rehash once the table is back.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !d.start_prepared_rehash() {
        assert!(
            Instant::now() < deadline,
            "prefaulted table never came back"
        );
        std::thread::yield_now();
    }
    assert!(!d.pending.is_pending());
    assert!(d.is_rehashing());
    assert_eq!(d.bucket_count(), 3 * PREFAULT_MIN_BUCKETS);
    check_invariants(&d);
    // Every key is found during and after the rehash.
    for i in (0..=PREFAULT_MIN_BUCKETS).step_by(97) {
        assert_eq!(d.get(&k(i)), Some(&i));
    }
    finish(&mut d);
    assert_eq!(d.bucket_count(), 2 * PREFAULT_MIN_BUCKETS);
    assert_eq!(d.len(), PREFAULT_MIN_BUCKETS + 1);
    check_invariants(&d);
}

#[test]
fn prefault_wait_is_bounded_by_the_load_limit() {
    let _g = policy_lock();
    let mut d = dict_with_pending_table();
    // Inserting up to load 2 never waits forever: past it the dict grows
    // the usual way (or the prefaulted table came back first).
    let mut i = PREFAULT_MIN_BUCKETS + 1;
    while !d.is_rehashing() {
        assert!(i <= 2 * PREFAULT_MIN_BUCKETS + 1, "no growth at load 2");
        d.insert(k(i), i);
        i += 1;
    }
    assert!(!d.pending.is_pending());
    // The prefaulted table, or at load 2 (the worker runs only on an idle
    // CPU) one of the same size, not prefaulted.
    assert_eq!(d.bucket_count(), 3 * PREFAULT_MIN_BUCKETS);
    finish(&mut d);
    assert_eq!(d.len(), i);
    check_invariants(&d);
}

#[test]
fn dict_dropped_or_cleared_while_its_table_is_prefaulted() {
    let _g = policy_lock();
    let d = dict_with_pending_table();
    drop(d);
    let mut d = dict_with_pending_table();
    d.clear();
    assert!(!d.pending.is_pending() && d.is_empty());
    d.insert(k(1), 1);
    assert_eq!(d.get(&k(1)), Some(&1));
}
