//! Unit tests of `util::num` (parsing and formatting against Redis's rules).

use super::*;

fn fd(v: f64) -> String {
    let mut o = Vec::new();
    format_double(v, &mut o);
    String::from_utf8(o).unwrap()
}
fn incr(a: &str, b: &str) -> String {
    String::from_utf8(incr_by_float(a.as_bytes(), b.as_bytes()).unwrap()).unwrap()
}

#[test]
fn parse_f64_small_int_fast_path_is_exact() {
    let mut x: u64 = 0x1234_5678_9abc_def1;
    for i in 0..20_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let digits = 1 + (i as usize % 17);
        let mut s = match i % 3 {
            0 => String::from("-"),
            1 => String::from("+"),
            _ => String::new(),
        };
        let v = x.to_string();
        s.push_str(&format!("{:0>w$}", v, w = digits)[..digits]);
        let b = s.as_bytes();
        let want = parse_f64_general(b);
        let got = parse_f64(b);
        assert_eq!(got.map(f64::to_bits), want.map(f64::to_bits), "{s}");
    }
    assert_eq!(
        parse_f64(b"-0").map(f64::to_bits),
        Some((-0.0f64).to_bits())
    );
    for bad in [&b""[..], b"-", b"+", b"1a", b" 1", b"1 "] {
        assert_eq!(parse_f64(bad), None, "{bad:?}");
    }
}

#[test]
fn string2ll_cases() {
    let ok: &[(&str, i64)] = &[
        ("0", 0),
        ("1", 1),
        ("-1", -1),
        ("99", 99),
        ("-99", -99),
        ("9223372036854775807", i64::MAX),
        ("-9223372036854775808", i64::MIN),
    ];
    for (s, v) in ok {
        assert_eq!(parse_i64(s.as_bytes()), Some(*v), "{}", s);
    }
    for s in [
        "",
        "-",
        "+1",
        " 1",
        "1 ",
        "01",
        "-0",
        "00",
        "-01",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "1a",
        "0x10",
        "1.0",
        "１",
        "000000000000000000001",
        "99999999999999999999",
    ] {
        assert_eq!(parse_i64(s.as_bytes()), None, "{:?}", s);
    }
}

#[test]
fn u64_parsers() {
    assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_u64(b"18446744073709551616"), None);
    assert_eq!(parse_u64(b"-1"), None);
    assert_eq!(parse_u64(b"01"), None);
    assert_eq!(parse_u64_strtoull(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_u64_strtoull(b"18446744073709551616"), None);
    assert_eq!(parse_u64_strtoull(b"-1"), None);
    assert_eq!(parse_u64_strtoull(b"01"), Some(1));
    assert_eq!(parse_u64_strtoull(b" +7"), Some(7));
    assert_eq!(parse_u64_strtoull(b"-01"), Some(u64::MAX));
    assert_eq!(parse_u64_strtoull(b""), None);
    assert_eq!(parse_u64_strtoull(b"1x"), None);
    assert_eq!(parse_u64_strtoull(b"5\0zz"), Some(5));
}

#[test]
fn int_formatting() {
    for v in [0i64, 1, -1, 9, 10, -10, 12345, i64::MAX, i64::MIN] {
        let mut b = [0u8; 20];
        assert_eq!(format_i64(v, &mut b), v.to_string().as_bytes());
        assert_eq!(ll2string_len(v), v.to_string().len());
        let mut o = b"x".to_vec();
        write_i64(&mut o, v);
        assert_eq!(o, format!("x{}", v).as_bytes());
    }
}

#[test]
fn string2d_cases() {
    let ok: &[(&str, f64)] = &[
        ("1", 1.0),
        ("-1.5", -1.5),
        ("+2", 2.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("1E+3", 1000.0),
        ("1.e2", 100.0),
        ("0x10", 16.0),
        ("0x1p-2", 0.25),
        ("0X1.8P1", 3.0),
        ("0x.8", 0.5),
        ("-0", -0.0),
        ("0e-999999", 0.0),
        ("4.9e-324", 4.9e-324), // subnormal: ERANGE but nonzero → accepted
        ("1.7976931348623157e308", f64::MAX),
        ("inf", f64::INFINITY),
        ("-INF", f64::NEG_INFINITY),
        ("+Infinity", f64::INFINITY),
    ];
    for (s, v) in ok {
        let got = parse_f64(s.as_bytes());
        assert_eq!(got.map(f64::to_bits), Some(v.to_bits()), "{}", s);
    }
    for s in [
        "",
        " 1",
        "1 ",
        "\t1",
        "nan",
        "NaN",
        "-nan",
        "nan(123)",
        "1e",
        "1e+",
        "e1",
        ".",
        "-",
        "0x",
        "0xg",
        "0x1p",
        "1e400",
        "-1e400",
        "1e-400",
        "infinit",
        "infinityy",
        "1..2",
        "1,5",
        "1\0",
        "0x1p99999",
        "--1",
        "+-1",
    ] {
        assert_eq!(parse_f64(s.as_bytes()), None, "{:?}", s);
    }
}

#[test]
fn g17_formatting() {
    let cases: &[(f64, &str)] = &[
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (0.1, "0.10000000000000001"),
        (1.1, "1.1000000000000001"),
        (3.0, "3"),
        (100.0, "100"),
        (1e16, "10000000000000000"),
        (1e17, "1e+17"),
        (1.0000000000000002e17, "1.0000000000000002e+17"),
        (12345678901234567.0, "12345678901234568"),
        (123456789012345680000.0, "1.2345678901234568e+20"),
        (0.0001, "0.0001"),
        (0.00001, "1.0000000000000001e-05"),
        (1e-300, "1e-300"),
        (f64::MAX, "1.7976931348623157e+308"),
        (5e-324, "4.9406564584124654e-324"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (2.5, "2.5"),
        (3.25, "3.25"),
        (2.675, "2.6749999999999998"),
    ];
    for (v, want) in cases {
        assert_eq!(fd(*v), *want, "{:e}", v);
    }
}

#[test]
fn incrbyfloat_known_redis_outputs() {
    assert_eq!(incr("10.50", "0.1"), "10.6");
    assert_eq!(incr("5.0e3", "2.0e2"), "5200");
    assert_eq!(incr("0", "3.0e3"), "3000");
    assert_eq!(incr("1.1", "2.2"), "3.3");
    assert_eq!(incr("0.1", "0.2"), "0.3");
    assert_eq!(incr("0", "1"), "1");
    assert_eq!(incr("1", "0.25"), "1.25");
    assert_eq!(incr("17179869184", "1.5"), "17179869185.5");
    assert_eq!(incr("17179869184", "17179869184"), "34359738368");
    assert_eq!(incr("1", "-1"), "0");
    assert_eq!(incr("-0", "-0"), "0");
    assert_eq!(incr("0", "-0.000000000000000001"), "0");
    assert_eq!(incr("0", "0x10"), "16");
    assert_eq!(incr("1e400", "0").len(), 401);
    assert_eq!(
        incr_by_float(b"inf", b"1"),
        Err(IncrFloatError::NanOrInfinity)
    );
    assert_eq!(incr_by_float(b"abc", b"1"), Err(IncrFloatError::BadCurrent));
    assert_eq!(
        incr_by_float(b"1", b" 1"),
        Err(IncrFloatError::BadIncrement)
    );
    assert_eq!(
        incr_by_float(b"1", b"nan"),
        Err(IncrFloatError::BadIncrement)
    );
    assert_eq!(
        incr_by_float(b"1", b"1e99999"),
        Err(IncrFloatError::BadIncrement)
    );
    let long = "1".repeat(MAX_LONG_DOUBLE_CHARS);
    assert_eq!(
        incr_by_float(long.as_bytes(), b"1"),
        Err(IncrFloatError::BadCurrent)
    );
}

#[test]
fn f64_human_approximation() {
    let h = |v: f64| {
        let mut o = Vec::new();
        format_long_double_human(v, &mut o);
        String::from_utf8(o).unwrap()
    };
    assert_eq!(h(10.5 + 0.1), "10.6");
    assert_eq!(h(5200.0), "5200");
    assert_eq!(h(-0.0), "0");
    assert_eq!(h(1e-20), "0");
    assert_eq!(h(1.25), "1.25");
    assert_eq!(h(1e21), "1000000000000000000000");
    assert_eq!(h(f64::INFINITY), "inf");
    assert_eq!(parse_long_double(b"10.5"), Some(10.5));
    assert_eq!(parse_long_double(b"1e400"), Some(f64::INFINITY));
    assert_eq!(parse_long_double(b" 1"), None);
}

proptest::proptest! {
    #[test]
    fn parsers_never_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
        let _ = parse_i64(&b);
        let _ = parse_u64(&b);
        let _ = parse_u64_strtoull(&b);
        let _ = parse_f64(&b);
        let _ = parse_long_double(&b);
        let _ = incr_by_float(&b, b"1.5");
    }

    #[test]
    fn float_like_never_panics(s in "[-+]?(0[xX])?[0-9a-fA-F.]{0,30}([eEpP][-+]?[0-9]{0,6})?") {
        let _ = parse_f64(s.as_bytes());
        if let Some(v) = LongDouble::parse(s.as_bytes()) {
            let mut o = Vec::new();
            (v + v).write_human(&mut o);
        }
    }

    #[test]
    fn i64_roundtrip(v in proptest::prelude::any::<i64>()) {
        let mut b = [0u8; 20];
        let s = format_i64(v, &mut b).to_vec();
        proptest::prop_assert_eq!(parse_i64(&s), Some(v));
    }

    #[test]
    fn f64_g17_roundtrips(v in proptest::prelude::any::<f64>()) {
        if v.is_finite() {
            let mut o = Vec::new();
            format_double(v, &mut o);
            proptest::prop_assert_eq!(parse_f64(&o).map(f64::to_bits), Some(v.to_bits()));
        }
    }
}
