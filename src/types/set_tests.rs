//! Tests for the set type API: encodings/conversions at Redis 7.0's rules and
//! a property test against a `BTreeSet` model across intset → hashtable.

use super::*;
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::collections::BTreeSet;

fn members(s: &SetValue) -> BTreeSet<Vec<u8>> {
    s.iter().map(|m| m.to_vec()).collect()
}

#[test]
fn create_picks_encoding_like_set_type_create() {
    assert_eq!(SetValue::new_for(b"123").encoding_name(), "intset");
    assert_eq!(
        SetValue::new_for(b"-9223372036854775808").encoding_name(),
        "intset"
    );
    assert_eq!(
        SetValue::new_for(b"9223372036854775808").encoding_name(),
        "hashtable"
    );
    assert_eq!(SetValue::new_for(b"012").encoding_name(), "hashtable");
    assert_eq!(SetValue::new_for(b"-0").encoding_name(), "hashtable");
    assert_eq!(SetValue::new_for(b"a").encoding_name(), "hashtable");
    assert_eq!(SetValue::new_for(b"").encoding_name(), "hashtable");
}

#[test]
fn converts_on_non_integer_and_on_size() {
    let mut s = SetValue::new_intset();
    for i in 0..4 {
        assert!(s.add(i.to_string().as_bytes(), 4));
    }
    assert!(!s.add(b"3", 4));
    assert_eq!(s.encoding_name(), "intset");
    assert!(s.add(b"4", 4));
    assert_eq!(s.encoding_name(), "hashtable");
    assert_eq!(s.len(), 5);
    let mut t = SetValue::new_intset();
    t.add(b"1", 512);
    assert!(t.add(b"x", 512));
    assert_eq!(t.encoding_name(), "hashtable");
    assert!(t.contains(b"1") && t.contains(b"x") && !t.contains(b"01"));
    // A hashtable never goes back.
    t.remove(b"x");
    assert_eq!(t.encoding_name(), "hashtable");
    // Limit 0: the first integer already converts.
    let mut z = SetValue::new_intset();
    z.add(b"7", 0);
    assert_eq!(z.encoding_name(), "hashtable");
}

#[test]
fn intset_iterates_sorted_and_members_match() {
    let mut s = SetValue::new_intset();
    for v in ["5", "-3", "100000", "2"] {
        s.add(v.as_bytes(), 512);
    }
    let got: Vec<Vec<u8>> = s.members_to_vec();
    assert_eq!(
        got,
        vec![
            b"-3".to_vec(),
            b"2".to_vec(),
            b"5".to_vec(),
            b"100000".to_vec()
        ]
    );
    assert!(s.contains_member(Member::Int(5)));
    assert!(!s.contains(b"+5"));
}

#[test]
fn memory_of_500_int16_members_matches_redis_blob() {
    let mut s = SetValue::new_intset();
    for i in 0..500 {
        s.add(i.to_string().as_bytes(), 512);
    }
    assert_eq!(s.encoding_name(), "intset");
    // Redis: 16-byte robj + the 1008-byte blob (1024 in jemalloc's class).
    assert_eq!(std::mem::size_of::<SetValue>(), 16);
    assert_eq!(s.heap_size(), 16 + 8 + 500 * 2);
}

#[test]
fn pop_and_random_cover_both_encodings() {
    let mut rng = SmallRng::seed_from_u64(7);
    for limit in [512usize, 2] {
        let mut s = SetValue::new_intset();
        for v in ["1", "2", "3", "4"] {
            s.add(v.as_bytes(), limit);
        }
        let all = members(&s);
        let r = s.random(&mut rng).unwrap().to_vec();
        assert!(all.contains(&r));
        let mut popped = BTreeSet::new();
        while let Some(p) = s.pop_random(&mut rng) {
            popped.insert(p.as_member().to_vec());
        }
        assert_eq!(popped, all);
        assert!(s.is_empty());
        assert!(s.random(&mut rng).is_none());
    }
}

#[test]
fn clone_keeps_encoding_and_digest_is_order_free() {
    let mut a = SetValue::new_hashtable();
    let mut b = SetValue::new_hashtable();
    for v in ["x", "y", "z"] {
        a.add(v.as_bytes(), 512);
    }
    for v in ["z", "x", "y"] {
        b.add(v.as_bytes(), 512);
    }
    let c = a.clone();
    assert_eq!(c.encoding_name(), "hashtable");
    assert_eq!(members(&c), members(&a));
    let (mut da, mut db) = ([0u8; 20], [0u8; 20]);
    a.digest(&mut da);
    b.digest(&mut db);
    assert_eq!(da, db);
    assert_ne!(da, [0u8; 20]);
}

#[derive(Debug, Clone)]
enum Op {
    Add(Vec<u8>),
    Remove(Vec<u8>),
    Contains(Vec<u8>),
    Pop,
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => (-40i64..40).prop_map(|n| n.to_string().into_bytes()),
        1 => any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        1 => prop::sample::select(vec!["a", "b", "-0", "01", "", "9223372036854775808"])
            .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => member().prop_map(Op::Add),
        2 => member().prop_map(Op::Remove),
        2 => member().prop_map(Op::Contains),
        1 => Just(Op::Pop),
    ]
}

proptest! {
    #[test]
    fn matches_btreeset_model(
        limit in 0usize..40,
        ops in proptest::collection::vec(op(), 0..200),
        seed in any::<u64>(),
    ) {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut s = SetValue::new_intset();
        let mut model: BTreeSet<Vec<u8>> = BTreeSet::new();
        let mut must_be_ht = false;
        for op in ops {
            match op {
                Op::Add(v) => {
                    if num::parse_i64(&v).is_none() {
                        must_be_ht = true;
                    }
                    prop_assert_eq!(s.add(&v, limit), model.insert(v));
                    if model.len() > limit {
                        must_be_ht = true;
                    }
                }
                Op::Remove(v) => prop_assert_eq!(s.remove(&v), model.remove(&v)),
                Op::Contains(v) => prop_assert_eq!(s.contains(&v), model.contains(&v)),
                Op::Pop => match s.pop_random(&mut rng) {
                    Some(p) => prop_assert!(model.remove(&p.as_member().to_vec())),
                    None => prop_assert!(model.is_empty()),
                },
            }
            prop_assert_eq!(s.len(), model.len());
            prop_assert_eq!(s.encoding_name() == "hashtable", must_be_ht);
        }
        prop_assert_eq!(members(&s), model.clone());
        if s.is_intset() {
            // Intset iteration is ascending numeric order.
            let ints: Vec<i64> = s.iter().map(|m| match m {
                Member::Int(n) => n,
                Member::Str(_) => i64::MIN,
            }).collect();
            prop_assert!(ints.windows(2).all(|w| w[0] < w[1]));
        }
        let c = s.clone();
        prop_assert_eq!(c.encoding_name(), s.encoding_name());
        prop_assert_eq!(members(&c), model);
    }
}
