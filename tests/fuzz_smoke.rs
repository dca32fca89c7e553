//! Stable-toolchain stand-in for the cargo-fuzz `resp_parser` target:
//! 100k generated and mutated inputs go through the event loop's parser
//! loop (tests/support/parse_driver.rs), whole and in random chunks, with
//! a fixed seed so failures reproduce.

use crate::mutate;
use crate::parse_driver;

use mutate::mutate;

use ferrokv::protocol::parse::ParseLimits;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CASES: usize = 100_000;
const SPECIAL: &[u8] = b"*$\r\n-+:0123456789 \"'\\x\t";

fn random_arg(rng: &mut StdRng) -> Vec<u8> {
    let len = match rng.gen_range(0..1000) {
        0 => rng.gen_range(32 * 1024..40 * 1024), // a "big arg"
        1..=100 => 0,
        _ => rng.gen_range(1..24),
    };
    if rng.gen_bool(0.5) {
        (0..len).map(|_| rng.gen()).collect()
    } else {
        (0..len).map(|_| rng.gen_range(b'a'..=b'z')).collect()
    }
}

fn multibulk(rng: &mut StdRng, out: &mut Vec<u8>) {
    let argc = rng.gen_range(0..6);
    out.extend_from_slice(format!("*{argc}\r\n").as_bytes());
    for i in 0..argc {
        let arg = if i == 0 {
            [&b"SET"[..], b"GET", b"PING", b"MSET"][rng.gen_range(0..4)].to_vec()
        } else {
            random_arg(rng)
        };
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(&arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn inline(rng: &mut StdRng, out: &mut Vec<u8>) {
    const WORDS: &[&[u8]] = &[
        b"SET",
        b"get",
        b"k",
        b"\"a b\"",
        b"'it''s'",
        b"\"\\x41\\n\"",
        b"\"\\xZZ\"",
        b"''",
        b"\"",
        b"'",
        b"  ",
        b"\t",
    ];
    for _ in 0..rng.gen_range(0..5) {
        out.extend_from_slice(WORDS[rng.gen_range(0..WORDS.len())]);
        out.push(b' ');
    }
    out.extend_from_slice(if rng.gen_bool(0.7) { b"\r\n" } else { b"\n" });
}

fn gen_input(rng: &mut StdRng) -> Vec<u8> {
    let mut data = Vec::new();
    if rng.gen_range(0..20) == 0 {
        let n = rng.gen_range(0..200);
        return (0..n).map(|_| rng.gen()).collect();
    }
    for _ in 0..rng.gen_range(1..6) {
        if rng.gen_bool(0.75) {
            multibulk(rng, &mut data);
        } else {
            inline(rng, &mut data);
        }
    }
    if rng.gen_bool(0.7) {
        mutate(rng, &mut data, SPECIAL);
    }
    data
}

#[test]
fn parser_loop_survives_random_input() {
    let mut rng = StdRng::seed_from_u64(0x0066_6572_726f_6b76);
    let mut errors = 0;
    let mut commands = 0;
    for _ in 0..CASES {
        let data = gen_input(&mut rng);
        let big = data.len() > 4096;
        let chunks: Vec<usize> = (0..rng.gen_range(1..6))
            .map(|_| {
                if big {
                    rng.gen_range(512..8192)
                } else {
                    rng.gen_range(1..48)
                }
            })
            .collect();
        let iobuf = [2, 8, 33, 100, 16 * 1024][rng.gen_range(0..5)];
        let limits = ParseLimits {
            proto_max_bulk_len: 1 << 20,
            authenticated: rng.gen_range(0..10) != 0,
        };
        let whole = parse_driver::run(&data, &[usize::MAX], 16 * 1024, limits);
        let chunked = parse_driver::run(&data, &chunks, iobuf, limits);
        parse_driver::check_consistent(&whole, &chunked);
        errors += whole.error.is_some() as usize;
        commands += whole.commands.len();
    }
    // The generator must exercise both paths.
    assert!(errors > CASES / 20, "only {errors} protocol errors");
    assert!(commands > CASES, "only {commands} commands");
}

#[test]
fn pipelined_commands_split_everywhere() {
    let mut data = Vec::new();
    for i in 0..16 {
        data.extend_from_slice(
            format!("*3\r\n$3\r\nSET\r\n$5\r\nkey:{}\r\n$3\r\nval\r\n", i % 10).as_bytes(),
        );
    }
    data.extend_from_slice(b"PING \"a b\"\r\n");
    let limits = ParseLimits {
        proto_max_bulk_len: 512 << 20,
        authenticated: true,
    };
    let whole = parse_driver::run(&data, &[usize::MAX], 16 * 1024, limits);
    assert_eq!(whole.commands.len(), 17);
    assert_eq!(whole.commands[16], vec![b"PING".to_vec(), b"a b".to_vec()]);
    for size in 1..40 {
        for iobuf in [2, 16, 64] {
            let chunked = parse_driver::run(&data, &[size], iobuf, limits);
            assert_eq!(whole, chunked, "chunk size {size}, iobuf {iobuf}");
        }
    }
}
