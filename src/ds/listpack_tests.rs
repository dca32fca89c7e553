//! Tests for the listpack: exact bytes against fixtures captured from Redis
//! 7.0.15 (`DUMP` of a one-node list / a small hash, `--rdbcompression no`),
//! plus property tests against a `Vec<Vec<u8>>` model.
use super::*;
use proptest::prelude::*;

/// Fixtures: (name, listpack hex). `x*N` stands for N bytes of `x` (0x78).
/// Lists were built with `RPUSH l <values...>` (list-max-listpack-size -5);
/// the hash with `HSET h f v n 12 e ""`.
const FIXTURES: &[(&str, &str)] = &[
    ("small_strings", "1c00000004008161028568656c6c6f06800187666f6f2062617208ff"),
    ("ints", "7d0000001700000101017f01c08002dfff02cfff02d00002f1001003f1ffef03f1ff7f03f1008003f200800004f2ff7fff04f2ffff7f04f200008004f30000800005f3ffff7fff05f3ffffff7f05f30000008005f4000000800000000009f4ffffff7fffffffff09f4ffffffffffffff7f09f4000000000000008009ff"),
    ("non_canonical", "6f0000000c008330303704822d3003822b3103822031038231200382303003812d02933932323333373230333638353437373538303814942d39323233333732303336383534373735383039159431383434363734343037333730393535313631361583312e3504843078313005ff"),
    ("str_lengths", "9c2100000600bf x*63 40e040 x*64 42e07f x*127 0181e080 x*128 0182efff x*4095 2081f000100000 x*4096 2085ff"),
    ("backlen_edges", "0cc000000300f0f93f0000 x*16377 7ffef0fa3f0000 x*16378 00fffff0fb3f0000 x*16379 018080ff"),
    ("hash_f_v_n_12_e", "170000000600816602817602816e020c018165028001ff"),
];

fn unhex(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        if let Some(n) = tok.strip_prefix("x*") {
            out.extend(std::iter::repeat_n(b'x', n.parse().unwrap()));
        } else {
            for i in (0..tok.len()).step_by(2) {
                out.push(u8::from_str_radix(&tok[i..i + 2], 16).unwrap());
            }
        }
    }
    out
}

fn values(name: &str) -> Vec<Vec<u8>> {
    let s = |v: &str| v.as_bytes().to_vec();
    let x = |n: usize| vec![b'x'; n];
    match name {
        "small_strings" => vec![s("a"), s("hello"), s(""), s("foo bar")],
        "ints" => [
            0i64,
            1,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            -32769,
            8388607,
            -8388608,
            8388608,
            -8388609,
            2147483647,
            -2147483648,
            2147483648,
            -2147483649,
            i64::MAX,
            i64::MIN,
        ]
        .iter()
        .map(|v| v.to_string().into_bytes())
        .collect(),
        "non_canonical" => [
            "007",
            "-0",
            "+1",
            " 1",
            "1 ",
            "00",
            "-",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "1.5",
            "0x10",
        ]
        .iter()
        .map(|v| s(v))
        .collect(),
        "str_lengths" => vec![x(63), x(64), x(127), x(128), x(4095), x(4096)],
        "backlen_edges" => vec![x(16377), x(16378), x(16379)],
        "hash_f_v_n_12_e" => vec![s("f"), s("v"), s("n"), s("12"), s("e"), s("")],
        _ => unreachable!(),
    }
}

#[test]
fn bytes_match_redis() {
    for (name, hex) in FIXTURES {
        let want = unhex(hex);
        let vals = values(name);
        let mut lp = Listpack::new();
        for v in &vals {
            assert!(lp.append(v));
        }
        assert_eq!(lp.as_bytes(), &want[..], "append: {name}");
        // Prepending in reverse builds the same bytes.
        let mut lp2 = Listpack::new();
        for v in vals.iter().rev() {
            lp2.prepend(v);
        }
        assert_eq!(lp2.as_bytes(), &want[..], "prepend: {name}");
        // And Redis's bytes load and decode back to the values.
        let parsed = Listpack::from_bytes(want.clone()).expect(name);
        let got: Vec<Vec<u8>> = parsed.iter().map(|v| v.to_vec()).collect();
        assert_eq!(got, vals, "decode: {name}");
        let rev: Vec<Vec<u8>> = parsed.iter_rev().map(|v| v.to_vec()).collect();
        assert_eq!(rev, vals.iter().rev().cloned().collect::<Vec<_>>());
    }
}

#[test]
fn int_encodings() {
    let cases: &[(i64, &[u8])] = &[
        (0, &[0x00]),
        (127, &[0x7f]),
        (128, &[0xc0, 0x80]),
        (-1, &[0xdf, 0xff]),
        (4095, &[0xcf, 0xff]),
        (-4096, &[0xd0, 0x00]),
        (32767, &[0xf1, 0xff, 0x7f]),
        (8388607, &[0xf2, 0xff, 0xff, 0x7f]),
        (2147483647, &[0xf3, 0xff, 0xff, 0xff, 0x7f]),
    ];
    for &(v, enc) in cases {
        let mut lp = Listpack::new();
        lp.append_int(v);
        assert_eq!(&lp.as_bytes()[6..6 + enc.len()], enc, "{v}");
        assert_eq!(lp.get(6), LpValue::Int(v));
        let mut lp2 = Listpack::new();
        lp2.append(v.to_string().as_bytes());
        assert_eq!(lp, lp2);
    }
    assert_eq!(string_to_int(b"-0"), None);
    assert_eq!(string_to_int(b"007"), None);
    assert_eq!(string_to_int(b"-9223372036854775808"), Some(i64::MIN));
}

#[test]
fn empty_and_validate_garbage() {
    let lp = Listpack::new();
    assert_eq!(lp.as_bytes(), &[7, 0, 0, 0, 0, 0, 0xff]);
    assert_eq!(lp.len(), 0);
    assert!(lp.first().is_none() && lp.last().is_none() && lp.seek(0).is_none());
    assert!(Listpack::from_bytes(vec![]).is_none());
    assert!(Listpack::from_bytes(vec![7, 0, 0, 0, 1, 0, 0xff]).is_none());
    assert!(Listpack::from_bytes(vec![8, 0, 0, 0, 0, 0, 0xff, 0xff]).is_none());
    // Random garbage and mutations of a valid listpack never panic.
    let mut good = Listpack::new();
    for v in values("ints").iter().chain(values("small_strings").iter()) {
        good.append(v);
    }
    let bytes = good.as_bytes().to_vec();
    let mut seed = 0x9e3779b97f4a7c15u64;
    for _ in 0..20000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut b = bytes.clone();
        let i = (seed as usize) % b.len();
        b[i] = (seed >> 32) as u8;
        if let Some(lp) = Listpack::from_bytes(b) {
            let n = lp.iter().count();
            assert_eq!(n, lp.len());
            assert_eq!(lp.iter_rev().count(), n);
        }
    }
}

#[test]
fn unknown_count_header() {
    let mut lp = Listpack::new();
    for i in 0..70000u32 {
        lp.append(if i % 2 == 0 { b"a" } else { b"7" });
    }
    assert_eq!(&lp.as_bytes()[4..6], &[0xff, 0xff]);
    assert_eq!(lp.len(), 70000);
    assert!(lp.validate());
    assert_eq!(lp.seek(-1).map(|p| lp.get(p)), Some(LpValue::Int(7)));
    assert_eq!(lp.seek(69998).map(|p| lp.get(p)), Some(LpValue::Str(b"a")));
    lp.delete_range(0, 10000);
    assert_eq!(lp.len(), 60000);
    assert_eq!(&lp.as_bytes()[4..6], &60000u16.to_le_bytes());
    assert!(lp.validate());
}

#[test]
fn find_with_skip() {
    let mut lp = Listpack::new();
    for v in ["f1", "v1", "12", "v9", "f2", "v1"] {
        lp.append(v.as_bytes());
    }
    let first = lp.first().unwrap();
    // Field lookup (skip values): "v1" only appears as a value.
    assert_eq!(lp.find(first, b"v1", 1), None);
    assert_eq!(
        lp.find(first, b"12", 1).map(|p| lp.get(p)),
        Some(LpValue::Int(12))
    );
    assert!(lp.find(first, b"012", 0).is_none());
    let p = lp.find(first, b"v1", 0).unwrap();
    assert!(lp.eq(p, b"v1") && !lp.eq(p, b"v2"));
    assert!(lp.eq(lp.seek(2).unwrap(), b"12"));
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<u8>),
    AppendInt(i64),
    Prepend(Vec<u8>),
    Insert(usize, Vec<u8>, bool),
    Replace(usize, Vec<u8>),
    Delete(usize),
    DeleteRange(i64, usize),
    Seek(i64),
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string().into_bytes()),
        (-5000i64..5000).prop_map(|v| v.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..20),
        (0usize..5000).prop_map(|n| vec![b'z'; n]),
        Just(b"007".to_vec()),
        Just(b"-0".to_vec()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        value().prop_map(Op::Append),
        any::<i64>().prop_map(Op::AppendInt),
        value().prop_map(Op::Prepend),
        (any::<usize>(), value(), any::<bool>()).prop_map(|(i, v, a)| Op::Insert(i, v, a)),
        (any::<usize>(), value()).prop_map(|(i, v)| Op::Replace(i, v)),
        any::<usize>().prop_map(Op::Delete),
        (-30i64..30, 0usize..10).prop_map(|(i, n)| Op::DeleteRange(i, n)),
        (-40i64..40).prop_map(Op::Seek),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn prop_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        let mut lp = Listpack::new();
        let mut model: Vec<Vec<u8>> = Vec::new();
        for op in ops {
            match op {
                Op::Append(v) => { lp.append(&v); model.push(v); }
                Op::AppendInt(i) => { lp.append_int(i); model.push(i.to_string().into_bytes()); }
                Op::Prepend(v) => { lp.prepend(&v); model.insert(0, v); }
                Op::Insert(i, v, after) => {
                    if model.is_empty() { continue; }
                    let i = i % model.len();
                    let p = lp.seek(i as i64).unwrap();
                    let np = lp.insert(p, &v, after).unwrap();
                    let at = if after { i + 1 } else { i };
                    prop_assert!(lp.eq(np, &v));
                    model.insert(at, v);
                }
                Op::Replace(i, v) => {
                    if model.is_empty() { continue; }
                    let i = i % model.len();
                    let p = lp.seek(i as i64).unwrap();
                    let np = lp.replace(p, &v).unwrap();
                    prop_assert_eq!(np, p);
                    model[i] = v;
                }
                Op::Delete(i) => {
                    if model.is_empty() { continue; }
                    let i = i % model.len();
                    let p = lp.seek(-(model.len() as i64) + i as i64).unwrap();
                    let next = lp.delete(p);
                    model.remove(i);
                    prop_assert_eq!(next.map(|q| lp.get(q).to_vec()), model.get(i).cloned());
                }
                Op::DeleteRange(idx, n) => {
                    let len = model.len() as i64;
                    let start = if idx < 0 { len + idx } else { idx };
                    lp.delete_range(idx, n);
                    if start >= 0 && start < len && n > 0 {
                        let end = (start as usize + n).min(model.len());
                        model.drain(start as usize..end);
                    }
                }
                Op::Seek(i) => {
                    let len = model.len() as i64;
                    let j = if i < 0 { len + i } else { i };
                    let want = if j >= 0 && j < len { Some(model[j as usize].clone()) } else { None };
                    prop_assert_eq!(lp.seek(i).map(|p| lp.get(p).to_vec()), want);
                }
            }
            prop_assert!(lp.validate());
            prop_assert_eq!(lp.len(), model.len());
        }
        let got: Vec<Vec<u8>> = lp.iter().map(|v| v.to_vec()).collect();
        prop_assert_eq!(&got, &model);
        // next/prev walk.
        let mut p = lp.last();
        let mut back = Vec::new();
        while let Some(q) = p { back.push(lp.get(q).to_vec()); p = lp.prev(q); }
        back.reverse();
        prop_assert_eq!(&back, &model);
        // Canonical: rebuilding by appends gives the same bytes.
        let mut fresh = Listpack::new();
        for v in &model { fresh.append(v); }
        prop_assert_eq!(fresh.as_bytes(), lp.as_bytes());
        prop_assert!(Listpack::from_bytes(lp.as_bytes().to_vec()).is_some());
    }
}
