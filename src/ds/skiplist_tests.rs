//! Tests of the skiplist (a model-checked property test and unit tests).

use super::*;
use proptest::prelude::*;

type Model = Vec<(f64, Vec<u8>)>;

fn key_cmp(a: &(f64, Vec<u8>), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0)
        .unwrap()
        .then_with(|| a.1.as_slice().cmp(b.1))
}

fn model_insert(m: &mut Model, score: f64, ele: &[u8]) {
    let pos = m.partition_point(|e| key_cmp(e, (score, ele)) == Ordering::Less);
    m.insert(pos, (score, ele.to_vec()));
}

fn same(zsl: &Skiplist, m: &Model) -> Result<(), TestCaseError> {
    if let Err(e) = zsl.check_invariants() {
        return Err(TestCaseError::fail(e));
    }
    prop_assert_eq!(zsl.len(), m.len());
    let got: Vec<(f64, Vec<u8>)> = zsl.iter().map(|(s, e)| (s, e.to_vec())).collect();
    prop_assert_eq!(&got, m);
    let back: Vec<(f64, Vec<u8>)> = zsl.rev_iter().map(|(s, e)| (s, e.to_vec())).collect();
    prop_assert!(back.iter().rev().eq(m.iter()));
    Ok(())
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NEG_INFINITY),
        Just(f64::INFINITY),
        Just(0.0),
        Just(-0.0),
        Just(1.0),
        Just(1.5),
        Just(-2.0),
        (-20i32..20).prop_map(|v| v as f64 / 4.0),
    ]
}

fn ele() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(b'a'), Just(b'b'), Just(0u8), Just(0xffu8)],
        0..4,
    )
}

fn range() -> impl Strategy<Value = ZRangeSpec> {
    (score(), score(), any::<bool>(), any::<bool>()).prop_map(|(min, max, minex, maxex)| {
        ZRangeSpec {
            min,
            max,
            minex,
            maxex,
        }
    })
}

fn lex_bound() -> impl Strategy<Value = LexBound> {
    prop_oneof![
        1 => Just(LexBound::NegInf),
        1 => Just(LexBound::PosInf),
        3 => ele().prop_map(LexBound::Incl),
        3 => ele().prop_map(LexBound::Excl),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Insert(f64, Vec<u8>),
    Delete(usize),
    DeleteMissing(f64, Vec<u8>),
    Update(usize, f64),
    DelScore(ZRangeSpec),
    DelRank(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (score(), ele()).prop_map(|(s, e)| Op::Insert(s, e)),
        3 => any::<usize>().prop_map(Op::Delete),
        1 => (score(), ele()).prop_map(|(s, e)| Op::DeleteMissing(s, e)),
        4 => (any::<usize>(), score()).prop_map(|(i, s)| Op::Update(i, s)),
        1 => range().prop_map(Op::DelScore),
        1 => (0usize..40, 0usize..40).prop_map(|(a, b)| Op::DelRank(a, b)),
    ]
}

fn check_queries(zsl: &Skiplist, m: &Model, r: &ZRangeSpec) -> Result<(), TestCaseError> {
    for (i, (s, e)) in m.iter().enumerate() {
        prop_assert_eq!(zsl.rank(*s, e), Some(i + 1));
        let (bs, be) = zsl.by_rank(i + 1).unwrap();
        prop_assert_eq!((bs, be), (*s, e.as_slice()));
    }
    prop_assert_eq!(zsl.by_rank(0), None);
    prop_assert_eq!(zsl.by_rank(m.len() + 1), None);
    prop_assert_eq!(zsl.rank(0.25, b"zzzz"), None);
    let inr = |x: &(f64, Vec<u8>)| r.value_gte_min(x.0) && r.value_lte_max(x.0);
    let first = zsl.first_in_range(r).map(|n| n.member().to_vec());
    prop_assert_eq!(first, m.iter().find(|x| inr(x)).map(|x| x.1.clone()));
    let last = zsl.last_in_range(r).map(|n| n.member().to_vec());
    prop_assert_eq!(last, m.iter().rev().find(|x| inr(x)).map(|x| x.1.clone()));
    // Walking from the first in-range node yields exactly the range.
    if let Some(id) = zsl.first_in_range(r) {
        let walk: Vec<&[u8]> = zsl
            .iter_from(id)
            .take_while(|(s, _)| r.value_lte_max(*s))
            .map(|(_, e)| e)
            .collect();
        let want: Vec<&[u8]> = m
            .iter()
            .filter(|x| inr(x))
            .map(|x| x.1.as_slice())
            .collect();
        prop_assert_eq!(walk, want);
    }
    if let Some(id) = zsl.last_in_range(r) {
        let n = zsl
            .rev_iter_from(id)
            .take_while(|(s, _)| r.value_gte_min(*s))
            .count();
        prop_assert_eq!(n, m.iter().filter(|x| inr(x)).count());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matches_sorted_vec(seed in any::<u64>(), ops in proptest::collection::vec(op(), 0..120), q in range()) {
        let mut zsl: Skiplist = Skiplist::with_seed(seed);
        let mut m: Model = Vec::new();
        for op in ops {
            match op {
                Op::Insert(s, e) => {
                    if m.iter().any(|x| x.1 == e) { continue; }
                    let n = zsl.insert(s, &e);
                    prop_assert_eq!(n.get(), (s, e.as_slice()));
                    model_insert(&mut m, s, &e);
                }
                Op::Delete(i) => {
                    if m.is_empty() { continue; }
                    let (s, e) = m.remove(i % m.len());
                    prop_assert!(zsl.delete(s, &e));
                    prop_assert!(!zsl.delete(s, &e));
                }
                Op::DeleteMissing(s, e) => {
                    let present = m.iter().position(|x| x.0 == s && x.1 == e);
                    prop_assert_eq!(zsl.delete(s, &e), present.is_some());
                    if let Some(p) = present { m.remove(p); }
                }
                Op::Update(i, ns) => {
                    if m.is_empty() { continue; }
                    let (s, e) = m.remove(i % m.len());
                    prop_assert!(zsl.update_score(s, &e, ns));
                    prop_assert_eq!(zsl.rank(ns, &e).and_then(|r| zsl.by_rank(r)), Some((ns, e.as_slice())));
                    model_insert(&mut m, ns, &e);
                }
                Op::DelScore(r) => {
                    let mut got: Model = Vec::new();
                    let n = zsl.delete_range_by_score(&r, |s, e| got.push((s, e.to_vec())));
                    prop_assert_eq!(n, got.len());
                    let want: Model = m.iter().filter(|x| r.value_gte_min(x.0) && r.value_lte_max(x.0)).cloned().collect();
                    m.retain(|x| !(r.value_gte_min(x.0) && r.value_lte_max(x.0)));
                    prop_assert_eq!(got, want);
                }
                Op::DelRank(a, b) => {
                    let mut got: Model = Vec::new();
                    zsl.delete_range_by_rank(a, b, |s, e| got.push((s, e.to_vec())));
                    let (lo, hi) = (a.max(1), b.min(m.len()));
                    let want: Model = if lo <= hi { m.drain(lo - 1..hi).collect() } else { vec![] };
                    prop_assert_eq!(got, want);
                }
            }
            same(&zsl, &m)?;
        }
        check_queries(&zsl, &m, &q)?;
    }

    #[test]
    fn lex_ranges_equal_scores(
        seed in any::<u64>(),
        eles in proptest::collection::btree_set(ele(), 0..30),
        min in lex_bound(),
        max in lex_bound(),
        del in any::<bool>(),
    ) {
        let mut zsl: Skiplist = Skiplist::with_seed(seed);
        for e in &eles {
            zsl.insert(3.0, e);
        }
        let r = ZLexRangeSpec { min, max };
        let inr = |e: &Vec<u8>| r.value_gte_min(e) && r.value_lte_max(e);
        let want: Vec<Vec<u8>> = eles.iter().filter(|e| inr(e)).cloned().collect();
        let first = zsl.first_in_lex_range(&r).map(|n| n.member().to_vec());
        prop_assert_eq!(first, want.first().cloned());
        let last = zsl.last_in_lex_range(&r).map(|n| n.member().to_vec());
        prop_assert_eq!(last, want.last().cloned());
        if !want.is_empty() {
            prop_assert!(!r.is_empty());
        }
        if del {
            let mut got: Vec<Vec<u8>> = Vec::new();
            zsl.delete_range_by_lex(&r, |_, e| got.push(e.to_vec()));
            prop_assert_eq!(got, want.clone());
            prop_assert_eq!(zsl.len(), eles.len() - want.len());
            zsl.check_invariants().map_err(TestCaseError::fail)?;
        }
    }
}

#[test]
fn parse_range_like_strtod() {
    let ok = |a: &[u8], b: &[u8]| parse_range(a, b).unwrap();
    assert_eq!(
        ok(b"", b"("),
        ZRangeSpec {
            min: 0.0,
            max: 0.0,
            minex: false,
            maxex: true
        }
    );
    assert_eq!(ok(b" 1", b"+inf").min, 1.0);
    assert_eq!(ok(b"1e400", b"-inf").min, f64::INFINITY);
    assert_eq!(ok(b"1e-400", b"(-Infinity").max, f64::NEG_INFINITY);
    assert_eq!(ok(b"0x10", b"1\0junk"), ok(b"16", b"1"));
    let err = CmdError::Static("ERR min or max is not a float");
    for bad in [
        &b"1 "[..],
        b" ",
        b"nan",
        b"(nan",
        b"abc",
        b"((1",
        b"1e",
        b"inf1",
    ] {
        assert_eq!(parse_range(bad, b"1"), Err(err.clone()), "{bad:?}");
        assert_eq!(parse_range(b"1", bad), Err(err.clone()), "{bad:?}");
    }
}

#[test]
fn parse_lex() {
    use LexBound::*;
    let r = parse_lex_range(b"-", b"+").unwrap();
    assert_eq!((r.min, r.max), (NegInf, PosInf));
    let r = parse_lex_range(b"(a", b"[").unwrap();
    assert_eq!((r.min, r.max), (Excl(b"a".to_vec()), Incl(vec![])));
    let err = CmdError::Static("ERR min or max not valid string range item");
    for bad in [&b"a"[..], b"", b"+x", b"-1"] {
        assert_eq!(parse_lex_range(bad, b"+"), Err(err.clone()));
        assert_eq!(parse_lex_range(b"-", bad), Err(err.clone()));
    }
    // Empty-range rules of zslIsInLexRange (sdscmplex with ex flags).
    let spec = |a: &[u8], b: &[u8]| parse_lex_range(a, b).unwrap();
    assert!(spec(b"-", b"-").is_empty());
    assert!(spec(b"+", b"+").is_empty());
    assert!(spec(b"+", b"-").is_empty());
    assert!(spec(b"(a", b"[a").is_empty());
    assert!(!spec(b"[a", b"[a").is_empty());
    assert!(spec(b"[b", b"[a").is_empty());
    assert!(!spec(b"-", b"[a").is_empty());
}

#[test]
fn random_level_distribution() {
    let mut zsl: Skiplist = Skiplist::with_seed(1);
    let n = 100_000;
    let mut counts = [0usize; ZSKIPLIST_MAXLEVEL + 1];
    let (mut prev, mut both_tall) = (1, 0usize);
    for _ in 0..n {
        let l = zsl.random_level();
        counts[l] += 1;
        if l >= 2 && prev >= 2 {
            both_tall += 1;
        }
        prev = l;
    }
    assert_eq!(counts[0], 0);
    // P(level == 1) = 0.75, P(level == 2) = 0.1875, P(level == 3) = 0.047.
    let frac = |c: usize| c as f64 / n as f64;
    assert!((frac(counts[1]) - 0.75).abs() < 0.01);
    assert!((frac(counts[2]) - 0.1875).abs() < 0.01);
    assert!((frac(counts[3]) - 0.046875).abs() < 0.005);
    // Consecutive draws independent: P(both >= 2) = 1/16.
    assert!((frac(both_tall) - 0.0625).abs() < 0.005);
}

#[test]
fn update_in_place_and_nodes() {
    let mut zsl = Skiplist::with_seed(5);
    zsl.insert(1.0, b"a");
    zsl.insert(3.0, b"c");
    // 1 -> 2 keeps the node between its neighbours: in place.
    assert!(zsl.update_score(1.0, b"a", 2.0));
    assert!(!zsl.update_score(2.0, b"zz", 2.0));
    assert!(zsl.update_score(2.0, b"a", 10.0));
    assert_eq!(zsl.by_rank(2), Some((10.0, &b"a"[..])));
    assert_eq!(zsl.rank(10.0, b"a"), Some(2));
    let first = zsl.first().unwrap();
    assert_eq!(first.get(), (3.0, &b"c"[..]));
    assert_eq!(zsl.next(first), zsl.last());
    assert_eq!(zsl.prev(first), None);
    assert_eq!(zsl.iter_from(zsl.last().unwrap()).count(), 1);
    assert_eq!(zsl.rev_iter_from(zsl.last().unwrap()).count(), 2);
    assert!(zsl.delete(10.0, b"a") && zsl.delete(3.0, b"c"));
    assert!(zsl.is_empty() && zsl.first().is_none() && zsl.last().is_none());
    zsl.check_invariants().unwrap();
}

#[test]
fn indexed_nodes_survive_relinking() {
    let mut zsl = Skiplist::with_seed(7);
    let mut index = MemberIndex::new();
    for i in 0..200u32 {
        let node = zsl.insert_node(i as f64, format!("m{i}").as_bytes());
        // SAFETY: the node is fresh; nodes leave the index before they are
        // deleted below.
        unsafe { index.insert(node) };
    }
    // Reverse the order: every node is unlinked and linked again.
    for i in 0..200u32 {
        let m = format!("m{i}");
        assert_eq!(index.get(m.as_bytes()).map(|n| n.score()), Some(i as f64));
        assert!(zsl.update_score(i as f64, m.as_bytes(), 1000.0 - i as f64));
    }
    zsl.check_invariants().unwrap();
    index.check_invariants().unwrap();
    for i in 0..200usize {
        let m = format!("m{i}");
        let n = index.get(m.as_bytes()).unwrap();
        assert_eq!((n.member(), n.score()), (m.as_bytes(), 1000.0 - i as f64));
        assert_eq!(zsl.rank(n.score(), n.member()), Some(200 - i));
    }
    let mut n = 0;
    zsl.delete_range_by_rank(1, 100, |_, e| {
        assert!(index.remove(e).is_some());
        n += 1;
    });
    assert_eq!((n, zsl.len(), index.len()), (100, 100, 100));
    zsl.check_invariants().unwrap();
    index.check_invariants().unwrap();
}

#[test]
fn many_nodes_invariants() {
    let mut zsl: Skiplist = Skiplist::with_seed(9);
    for i in 0..5000u32 {
        zsl.insert((i % 97) as f64, &i.to_be_bytes());
    }
    zsl.check_invariants().unwrap();
    assert!(zsl.levels() > 3);
    for i in (0..5000u32).step_by(3) {
        assert!(zsl.delete((i % 97) as f64, &i.to_be_bytes()));
    }
    zsl.check_invariants().unwrap();
    assert_eq!(zsl.len(), 5000 - 1667);
}
