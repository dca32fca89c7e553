//! Tests for `ds::bitops`: fixtures from Redis 7.0.15 and property tests
//! against bit-by-bit models.
use super::*;
use proptest::prelude::*;

const M: u64 = DEFAULT_MAX_BYTES;

fn bf(s: &mut Vec<u8>, args: &[&str]) -> Vec<Option<i64>> {
    let a: Vec<&[u8]> = args.iter().map(|x| x.as_bytes()).collect();
    let ops = parse_bitfield_args(&a, false, M).unwrap();
    execute_bitfield(s, &ops).0
}

fn bferr(args: &[&str], ro: bool) -> &'static str {
    let a: Vec<&[u8]> = args.iter().map(|x| x.as_bytes()).collect();
    parse_bitfield_args(&a, ro, M).unwrap_err().message()
}

// Expected values below were obtained from redis-server 7.0.15.

#[test]
fn bitcount_reference() {
    let s = b"foobar";
    let cases: &[(Option<(i64, i64)>, bool, u64)] = &[
        (None, false, 26),
        (Some((0, 0)), false, 4),
        (Some((1, 1)), false, 6),
        (Some((5, 30)), true, 17),
        (Some((-1, -1)), false, 4),
        (Some((-2, -1)), true, 1),
        (Some((-1, -2)), false, 0),
        (Some((-100, 100)), false, 26),
        (Some((3, -100)), false, 0),
        (Some((0, -1)), true, 26),
        (Some((7, 7)), true, 0),
        (Some((1, -5)), true, 25),
    ];
    for &(r, unit, want) in cases {
        assert_eq!(bitcount(s, r, unit), want, "{r:?} {unit}");
    }
    assert_eq!(bitcount(b"", None, false), 0);
    assert_eq!(bitcount(b"", Some((0, -1)), true), 0);
}

#[test]
fn bitpos_reference() {
    type C = (u8, Option<i64>, Option<i64>, bool, i64);
    let fff000: &[C] = &[
        (0, None, None, false, 12),
        (1, None, None, false, 0),
        (0, Some(2), None, false, 16),
        (0, Some(0), None, false, 12),
        (1, Some(2), Some(-1), false, -1),
        (1, Some(7), Some(15), true, 7),
        (0, Some(7), Some(15), true, 12),
        (0, Some(0), Some(-1), false, 12),
        (1, Some(2), None, false, -1),
        (1, Some(-1), None, false, -1),
        (0, Some(-3), Some(-1), true, 21),
        (1, Some(8), Some(11), true, 8),
        (0, Some(1), Some(1), false, 12),
    ];
    for &(b, st, en, u, want) in fff000 {
        assert_eq!(
            bitpos(&[0xff, 0xf0, 0x00], b, st, en, u),
            want,
            "fff000 {b} {st:?} {en:?} {u}"
        );
    }
    let ones: &[C] = &[
        (0, None, None, false, 24),
        (0, Some(0), None, false, 24),
        (0, Some(0), Some(-1), false, -1),
        (0, Some(2), None, false, 24),
        (0, Some(1), Some(2), false, -1),
        (0, Some(0), Some(-1), true, -1),
        (1, Some(30), Some(40), true, -1),
        (0, Some(10), Some(5), true, -1),
    ];
    for &(b, st, en, u, want) in ones {
        assert_eq!(
            bitpos(&[0xff; 3], b, st, en, u),
            want,
            "ones {b} {st:?} {en:?} {u}"
        );
    }
    let zeros: &[C] = &[
        (1, None, None, false, -1),
        (0, None, None, false, 0),
        (1, Some(0), Some(-1), false, -1),
        (1, Some(0), Some(-1), true, -1),
        (0, Some(-1), Some(-1), true, 23),
        (1, Some(1), None, false, -1),
    ];
    for &(b, st, en, u, want) in zeros {
        assert_eq!(
            bitpos(&[0; 3], b, st, en, u),
            want,
            "zeros {b} {st:?} {en:?} {u}"
        );
    }
    let k3: &[C] = &[
        (1, Some(0), None, false, 8),
        (1, Some(2), Some(-1), false, 16),
        (1, Some(7), Some(15), true, 8),
        (0, Some(2), None, false, 20),
        (0, Some(8), Some(11), true, -1),
        (0, Some(-4), Some(-1), true, 20),
    ];
    for &(b, st, en, u, want) in k3 {
        assert_eq!(
            bitpos(&[0x00, 0xff, 0xf0], b, st, en, u),
            want,
            "00fff0 {b} {st:?} {en:?} {u}"
        );
    }
    // Existing empty string: -1 for both bits (missing key is the caller's job).
    assert_eq!(bitpos(b"", 0, None, None, false), -1);
    assert_eq!(bitpos(b"", 1, None, None, false), -1);
    assert_eq!(bitpos(b"", 0, Some(0), Some(-1), false), -1);
    // Large string, word-skipping path.
    let mut big = vec![0xffu8; 1000];
    big[777] = 0xfe;
    assert_eq!(bitpos(&big, 0, None, None, false), 777 * 8 + 7);
    assert_eq!(bitpos(&big, 0, Some(778), None, false), 8000);
    assert_eq!(bitpos(&big, 0, Some(778), Some(-1), false), -1);
}

#[test]
fn setbit_getbit_basic() {
    let mut s = Vec::new();
    assert_eq!(setbit(&mut s, 7, true), 0);
    assert_eq!(s, vec![0x01]);
    assert_eq!(setbit(&mut s, 7, true), 1);
    assert_eq!(setbit(&mut s, 100, true), 0);
    assert_eq!(s.len(), 13);
    assert_eq!(getbit(&s, 100), 1);
    assert_eq!(getbit(&s, 99), 0);
    assert_eq!(getbit(&s, u64::MAX), 0);
    assert_eq!(setbit(&mut s, 100, false), 1);
    assert_eq!(s.len(), 13);
    // Impossible growth must not panic.
    let mut t = vec![1u8];
    assert_eq!(setbit(&mut t, u64::MAX, true), 0);
    assert_eq!(t, vec![1u8]);
}

#[test]
fn offset_parsing() {
    assert_eq!(parse_bit_offset(b"4294967295", false, 0, M), Ok(4294967295));
    assert_eq!(
        parse_bit_offset(b"4294967296", false, 0, M),
        Err(BitError::BitOffset)
    );
    assert_eq!(
        parse_bit_offset(b"-1", false, 0, M),
        Err(BitError::BitOffset)
    );
    assert_eq!(
        parse_bit_offset(b"-0", false, 0, M),
        Err(BitError::BitOffset)
    );
    assert_eq!(
        parse_bit_offset(b"+1", false, 0, M),
        Err(BitError::BitOffset)
    );
    assert_eq!(
        parse_bit_offset(b"01", false, 0, M),
        Err(BitError::BitOffset)
    );
    assert_eq!(parse_bit_offset(b"", false, 0, M), Err(BitError::BitOffset));
    assert_eq!(
        parse_bit_offset(b"#3", false, 8, M),
        Err(BitError::BitOffset)
    );
    assert_eq!(parse_bit_offset(b"#3", true, 8, M), Ok(24));
    assert_eq!(
        parse_bit_offset(b"#3", true, 0, M),
        Err(BitError::BitOffset)
    );
    assert_eq!(parse_bit_offset(b"#", true, 8, M), Err(BitError::BitOffset));
    assert_eq!(
        parse_bit_offset(b"#-1", true, 8, M),
        Err(BitError::BitOffset)
    );
    // Wrapping multiplication, as in C: 2305843009213693953*8 == 8 (mod 2^64).
    assert_eq!(parse_bit_offset(b"#2305843009213693953", true, 8, M), Ok(8));
    assert_eq!(parse_bit_offset(b"15", false, 0, 2), Ok(15));
    assert_eq!(
        parse_bit_offset(b"16", false, 0, 2),
        Err(BitError::BitOffset)
    );
    assert_eq!(parse_setbit_value(b"1"), Ok(true));
    assert_eq!(
        parse_setbit_value(b"2").unwrap_err().message(),
        "ERR bit is not an integer or out of range"
    );
    assert_eq!(
        parse_bitpos_bit(b"2").unwrap_err().message(),
        "ERR The bit argument must be 1 or 0."
    );
    assert_eq!(
        parse_bitpos_bit(b"x").unwrap_err().message(),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(parse_unit(b"BiT"), Ok(true));
    assert_eq!(parse_unit(b"bytes"), Err(BitError::Syntax));
    assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
    assert_eq!(parse_i64_strict(b"9223372036854775808"), None);
    assert_eq!(parse_i64_strict(b" 1"), None);
}

#[test]
fn type_parsing() {
    assert_eq!(parse_type(b"i64"), Ok(FieldType::Signed(64)));
    assert_eq!(parse_type(b"u63"), Ok(FieldType::Unsigned(63)));
    assert_eq!(parse_type(b"i1"), Ok(FieldType::Signed(1)));
    for bad in [
        &b"u64"[..],
        b"i65",
        b"u0",
        b"I8",
        b"i",
        b"",
        b"i08",
        b"i-8",
        b"8",
    ] {
        assert_eq!(parse_type(bad), Err(BitError::InvalidType), "{bad:?}");
    }
    assert_eq!(parse_type(b"i8\0zz"), Ok(FieldType::Signed(8)));
    assert_eq!(
        BitError::InvalidType.message(),
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
    );
}

#[test]
fn bitfield_errors_reference() {
    assert_eq!(bferr(&["get", "u8"], false), "ERR syntax error");
    assert_eq!(bferr(&["OVERFLOW"], false), "ERR syntax error");
    assert_eq!(bferr(&["foo", "u8", "0"], false), "ERR syntax error");
    assert_eq!(
        bferr(&["OVERFLOW", "foo"], false),
        "ERR Invalid OVERFLOW type specified"
    );
    assert_eq!(
        bferr(&["get", "u64", "0"], false),
        BitError::InvalidType.message()
    );
    assert_eq!(
        bferr(&["set", "u8", "0", "abc"], false),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        bferr(&["get", "u8", "4294967296"], false),
        "ERR bit offset is not an integer or out of range"
    );
    assert_eq!(
        bferr(&["GET", "u8", "0", "SET", "u8", "0", "1"], true),
        "ERR BITFIELD_RO only supports the GET subcommand"
    );
    // Parse errors win over the RO restriction.
    assert_eq!(
        bferr(&["SET", "u8", "0", "1", "GET", "u64", "0"], true),
        BitError::InvalidType.message()
    );
    let a: Vec<&[u8]> = vec![b"OVERFLOW", b"SAT", b"GET", b"u8", b"0"];
    assert!(parse_bitfield_args(&a, true, M).is_ok());
    assert_eq!(parse_bitfield_args(&[], false, M), Ok(vec![]));
}

#[test]
fn bitfield_reference() {
    let mut s = Vec::new();
    let r = bf(
        &mut s,
        &[
            "SET", "i8", "0", "100", "INCRBY", "i8", "0", "100", "OVERFLOW", "SAT", "INCRBY", "i8",
            "0", "100", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "1", "GET", "i8", "0",
        ],
    );
    assert_eq!(r, vec![Some(0), Some(-56), Some(44), Some(45), Some(45)]);

    let mut s = Vec::new();
    assert_eq!(
        bf(
            &mut s,
            &[
                "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1", "GET",
                "u2", "100"
            ]
        ),
        vec![Some(1), Some(1), Some(1)]
    );
    assert_eq!(
        bf(
            &mut s,
            &[
                "OVERFLOW", "WRAP", "INCRBY", "u2", "100", "1", "INCRBY", "u2", "100", "1",
                "INCRBY", "u2", "100", "1", "INCRBY", "u2", "100", "1", "OVERFLOW", "FAIL",
                "INCRBY", "u2", "100", "4"
            ]
        ),
        vec![Some(2), Some(3), Some(0), Some(1), None]
    );

    let mx = i64::MAX;
    let mut s = Vec::new();
    let r = bf(
        &mut s,
        &[
            "SET",
            "i64",
            "5",
            "-9223372036854775808",
            "INCRBY",
            "i64",
            "5",
            "-1",
            "GET",
            "i64",
            "5",
            "OVERFLOW",
            "SAT",
            "INCRBY",
            "i64",
            "5",
            "-1",
            "OVERFLOW",
            "FAIL",
            "INCRBY",
            "i64",
            "5",
            "-1",
            "SET",
            "u63",
            "70",
            "9223372036854775807",
            "GET",
            "u63",
            "70",
            "INCRBY",
            "u63",
            "70",
            "1",
            "OVERFLOW",
            "SAT",
            "INCRBY",
            "u63",
            "70",
            "5",
            "OVERFLOW",
            "WRAP",
            "INCRBY",
            "u63",
            "70",
            "2",
        ],
    );
    assert_eq!(
        r,
        vec![
            Some(0),
            Some(mx),
            Some(mx),
            Some(mx - 1),
            Some(mx - 2),
            Some(0),
            Some(mx),
            None,
            Some(mx),
            Some(1)
        ]
    );
    assert_eq!(
        s,
        vec![0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0x08]
    );

    let mut s = Vec::new();
    let r = bf(
        &mut s,
        &[
            "SET", "u5", "7", "23", "GET", "u5", "7", "GET", "i5", "7", "GET", "u16", "0",
            "OVERFLOW", "SAT", "SET", "u8", "20", "-1", "SET", "i8", "30", "200", "SET", "i8",
            "30", "-200", "OVERFLOW", "FAIL", "SET", "u4", "40", "16", "SET", "i4", "40", "8",
            "SET", "i4", "40", "-8", "OVERFLOW", "WRAP", "SET", "u4", "50", "17", "SET", "i4",
            "50", "9", "GET", "i4", "50",
        ],
    );
    assert_eq!(
        r,
        vec![
            Some(0),
            Some(23),
            Some(-9),
            Some(368),
            Some(0),
            Some(0),
            Some(127),
            None,
            None,
            Some(0),
            Some(0),
            Some(1),
            Some(-7)
        ]
    );
    assert_eq!(s, vec![0x01, 0x70, 0x0f, 0xf2, 0x00, 0x80, 0x24]);

    let mut s = b"foobar".to_vec();
    let (r, changed) = execute_bitfield(
        &mut s,
        &parse_bitfield_args(
            &[
                &b"GET"[..],
                b"u8",
                b"0",
                b"GET",
                b"i8",
                b"0",
                b"GET",
                b"u16",
                b"#1",
                b"GET",
                b"u63",
                b"3",
                b"GET",
                b"i64",
                b"1",
                b"GET",
                b"i64",
                b"#0",
                b"GET",
                b"u4",
                b"44",
                b"GET",
                b"u8",
                b"100",
                b"GET",
                b"i16",
                b"#2",
                b"GET",
                b"u1",
                b"7",
            ],
            true,
            M,
        )
        .unwrap(),
    );
    assert_eq!(
        r,
        vec![
            Some(102),
            Some(102),
            Some(28514),
            Some(1854847019899158528),
            Some(-3684262508477808640),
            Some(7381240782615871488),
            Some(2),
            Some(0),
            Some(24946),
            Some(0)
        ]
    );
    assert!(!changed);
    assert_eq!(s, b"foobar");
}

#[test]
fn bitfield_quirks_and_growth() {
    // SAT of SET i8 i64::MIN gives +127 (C wrapping arithmetic quirk, verified on 7.0.15).
    let mut s = Vec::new();
    assert_eq!(
        set_field_overflow(&mut s, 0, FieldType::Signed(8), i64::MIN, Overflow::Sat),
        Some(0)
    );
    assert_eq!(get_field(&s, 0, FieldType::Signed(8)), 127);
    assert_eq!(
        set_field_overflow(&mut s, 0, FieldType::Unsigned(8), -1, Overflow::Sat),
        Some(127)
    );
    assert_eq!(get_field(&s, 0, FieldType::Unsigned(8)), 255);
    // FAIL still grows the string (Redis creates the key), but reports no change.
    let mut s = Vec::new();
    let ops = parse_bitfield_args(
        &[&b"OVERFLOW"[..], b"FAIL", b"INCRBY", b"u2", b"100", b"5"],
        false,
        M,
    )
    .unwrap();
    assert!(!bitfield_is_readonly(&ops));
    let (r, changed) = execute_bitfield(&mut s, &ops);
    assert_eq!(r, vec![None]);
    assert!(!changed);
    assert_eq!(s.len(), 13);
    // Write to existing string with same value: no change.
    let (_, changed) = execute_bitfield(
        &mut s,
        &[BitfieldOp::Set {
            t: FieldType::Unsigned(8),
            offset: 0,
            value: 0,
        }],
    );
    assert!(!changed);
    let (_, changed) = execute_bitfield(
        &mut s,
        &[BitfieldOp::Set {
            t: FieldType::Unsigned(8),
            offset: 0,
            value: 1,
        }],
    );
    assert!(changed);
    // GET-only never grows.
    let mut e = Vec::new();
    let (r, changed) = execute_bitfield(
        &mut e,
        &[BitfieldOp::Get {
            t: FieldType::Signed(64),
            offset: 1000,
        }],
    );
    assert_eq!((r, changed, e.len()), (vec![Some(0)], false, 0));
    // incr_field / set_field direct API.
    let mut s = Vec::new();
    assert_eq!(
        incr_field(&mut s, 3, FieldType::Unsigned(3), 9, Overflow::Wrap),
        (0, Some(1))
    );
    assert_eq!(
        incr_field(&mut s, 3, FieldType::Unsigned(3), 9, Overflow::Sat),
        (1, Some(7))
    );
    assert_eq!(
        incr_field(&mut s, 3, FieldType::Unsigned(3), -8, Overflow::Fail),
        (7, None)
    );
    assert_eq!(
        incr_field(&mut s, 3, FieldType::Unsigned(3), -8, Overflow::Sat),
        (7, Some(0))
    );
    assert_eq!(set_field(&mut s, 3, FieldType::Signed(3), 5), 0);
    assert_eq!(get_field(&s, 3, FieldType::Signed(3)), -3);
    // Huge offsets: no panic.
    let mut t = vec![0u8; 2];
    assert_eq!(
        set_field(&mut t, u64::MAX - 3, FieldType::Signed(64), -1),
        0
    );
    assert_eq!(
        incr_field(&mut t, u64::MAX, FieldType::Unsigned(63), 1, Overflow::Wrap).0,
        0
    );
    assert_eq!(get_field(&t, u64::MAX, FieldType::Signed(64)), 0);
    assert_eq!(t, vec![0, 0]);
}

#[test]
fn bitop_basic() {
    assert_eq!(
        bitop(BitOp::And, &[b"\xff\x0f\xff", b"\x0f\xff"]),
        vec![0x0f, 0x0f, 0x00]
    );
    assert_eq!(
        bitop(BitOp::Or, &[b"\x01", b"\x10\x20", b""]),
        vec![0x11, 0x20]
    );
    assert_eq!(bitop(BitOp::Xor, &[b"\xff\xff", b"\x0f"]), vec![0xf0, 0xff]);
    assert_eq!(bitop(BitOp::Not, &[b"\x0f\x00"]), vec![0xf0, 0xff]);
    assert_eq!(bitop(BitOp::And, &[b"", b""]), Vec::<u8>::new());
    assert_eq!(bitop(BitOp::Or, &[]), Vec::<u8>::new());
    assert_eq!(BitOp::parse(b"xOr"), Ok(BitOp::Xor));
    assert_eq!(BitOp::parse(b"foo"), Err(BitError::Syntax));
    assert_eq!(
        BitOp::Not.check_sources(2).unwrap_err().message(),
        "ERR BITOP NOT must be called with a single source key."
    );
}

fn naive_get(s: &[u8], off: u64, bits: u32) -> u64 {
    (0..bits as u64).fold(0, |v, j| (v << 1) | u64::from(getbit(s, off + j)))
}

fn any_type() -> impl Strategy<Value = FieldType> {
    prop_oneof![
        (1u8..=64).prop_map(FieldType::Signed),
        (1u8..=63).prop_map(FieldType::Unsigned)
    ]
}

proptest! {
    #[test]
    fn prop_setbit_model(ops in prop::collection::vec((0u64..300, any::<bool>()), 0..60)) {
        let mut s = Vec::new();
        let mut model: Vec<bool> = Vec::new();
        for (off, on) in ops {
            let old = setbit(&mut s, off, on);
            let need = ((off / 8 + 1) * 8) as usize;
            if model.len() < need { model.resize(need, false); }
            prop_assert_eq!(old, model[off as usize] as u8);
            model[off as usize] = on;
            prop_assert_eq!(s.len() * 8, model.len());
        }
        for (i, &b) in model.iter().enumerate() { prop_assert_eq!(getbit(&s, i as u64), b as u8); }
        prop_assert_eq!(getbit(&s, model.len() as u64 + 3), 0);
    }

    #[test]
    fn prop_bitcount_naive(s in prop::collection::vec(any::<u8>(), 0..80), a in -700i64..700, b in -700i64..700, unit in any::<bool>()) {
        let n = s.len() as i64;
        let total = if unit { n * 8 } else { n };
        let mut st = if a < 0 { total + a } else { a };
        let mut en = if b < 0 { total + b } else { b };
        let want = if a < 0 && b < 0 && a > b { 0 } else {
            st = st.max(0); en = en.max(0).min(total - 1);
            if st > en { 0 } else if unit {
                (st..=en).map(|i| u64::from(getbit(&s, i as u64))).sum()
            } else {
                s[st as usize..=en as usize].iter().map(|x| u64::from(x.count_ones())).sum()
            }
        };
        prop_assert_eq!(bitcount(&s, Some((a, b)), unit), want);
        prop_assert_eq!(bitcount(&s, None, false), s.iter().map(|x| u64::from(x.count_ones())).sum::<u64>());
    }

    #[test]
    fn prop_bitfield_roundtrip(init in prop::collection::vec(any::<u8>(), 0..20), off in 0u64..200, t in any_type(), v in any::<i64>()) {
        let mut s = init.clone();
        let bits = t.bits();
        let old = set_field(&mut s, off, t, v);
        let oldraw = naive_get(&init, off, bits);
        let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
        prop_assert_eq!(old as u64 & mask, oldraw);
        prop_assert_eq!(naive_get(&s, off, bits), v as u64 & mask);
        let got = get_field(&s, off, t);
        if t.is_signed() {
            let sh = 64 - bits;
            prop_assert_eq!(got, ((v as u64) << sh) as i64 >> sh);
        } else {
            prop_assert_eq!(got as u64, v as u64 & mask);
        }
        // Bits outside the field are unchanged.
        for i in 0..(s.len() as u64 * 8) {
            if i < off || i >= off + bits as u64 {
                prop_assert_eq!(getbit(&s, i), getbit(&init, i));
            }
        }
        prop_assert_eq!(s.len() as u64, (init.len() as u64).max((off + bits as u64 - 1) / 8 + 1));
    }

    #[test]
    fn prop_incr_semantics(init in prop::collection::vec(any::<u8>(), 0..12), off in 0u64..80, t in any_type(),
                           incr in prop_oneof![-10i64..10, any::<i64>()], ov in prop_oneof![Just(Overflow::Wrap), Just(Overflow::Sat), Just(Overflow::Fail)]) {
        let mut s = init.clone();
        let bits = t.bits();
        let old = get_field(&init, off, t) as i128;
        let (lo, hi): (i128, i128) = if t.is_signed() { (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1) } else { (0, (1i128 << bits) - 1) };
        let exact = old + incr as i128;
        let (o, n) = incr_field(&mut s, off, t, incr, ov);
        prop_assert_eq!(o as i128, old);
        let want = if exact >= lo && exact <= hi { Some(exact) } else {
            match ov {
                Overflow::Fail => None,
                Overflow::Sat => Some(if exact > hi { hi } else { lo }),
                Overflow::Wrap => { let m = exact.rem_euclid(1i128 << bits); Some(if m > hi { m - (1i128 << bits) } else { m }) }
            }
        };
        prop_assert_eq!(n.map(|x| x as i128), want);
        prop_assert_eq!(get_field(&s, off, t) as i128, want.unwrap_or(old));
    }

    #[test]
    fn prop_never_panics(s in prop::collection::vec(any::<u8>(), 0..40), a in any::<i64>(), b in any::<i64>(), off in any::<u64>(),
                         bit in any::<u8>(), unit in any::<bool>(), t in (any::<bool>(), any::<u8>()), v in any::<i64>(),
                         args in prop::collection::vec(prop_oneof![
                             Just(b"GET".to_vec()), Just(b"set".to_vec()), Just(b"INCRBY".to_vec()), Just(b"OVERFLOW".to_vec()),
                             Just(b"sat".to_vec()), Just(b"FAIL".to_vec()), Just(b"i64".to_vec()), Just(b"u63".to_vec()), Just(b"u8".to_vec()),
                             Just(b"#9223372036854775807".to_vec()), Just(b"-9223372036854775808".to_vec()), Just(b"17".to_vec()),
                             prop::collection::vec(any::<u8>(), 0..5)], 0..12)) {
        let _ = bitcount(&s, Some((a, b)), unit);
        let _ = bitpos(&s, bit, Some(a), Some(b), unit);
        let _ = bitpos(&s, bit, Some(a), None, unit);
        let _ = bitpos(&s, bit, None, Some(b), unit);
        let _ = getbit(&s, off);
        let ft = if t.0 { FieldType::Signed(t.1) } else { FieldType::Unsigned(t.1) };
        let _ = get_field(&s, off, ft);
        let _ = check_signed_overflow(a, b, u32::from(t.1), Overflow::Wrap);
        let _ = check_unsigned_overflow(a as u64, b, u32::from(t.1), Overflow::Sat);
        let _ = parse_bit_offset(&args.concat(), true, u64::from(t.1), off);
        let _ = parse_type(&args.concat());
        let mut w = s.clone();
        let small = off % 4096;
        let _ = set_field(&mut w, small, ft, v);
        let _ = incr_field(&mut w, small, ft, v, Overflow::Sat);
        let _ = setbit(&mut w, small, true);
        let refs: Vec<&[u8]> = args.iter().map(|x| x.as_slice()).collect();
        if let Ok(ops) = parse_bitfield_args(&refs, false, 1024) {
            let _ = execute_bitfield(&mut w, &ops);
        }
        let _ = bitop(BitOp::And, &[&s, &w]);
    }
}
