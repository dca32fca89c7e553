//! Criterion benchmarks for the RESP request parser and the reply encoder.
//!
//! Run with `cargo bench --bench resp_parser` (add `-- --quick` or a name
//! filter such as `-- parse/` for a short run).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrokv::protocol::parse::{parse_command, ParseLimits, ParseState, Parsed};
use ferrokv::protocol::reply::ReplyBuf;

const LIMITS: ParseLimits = ParseLimits {
    proto_max_bulk_len: 512 * 1024 * 1024,
    authenticated: true,
};

struct Parser {
    state: ParseState,
    argv: Vec<(usize, usize)>,
    scratch: Vec<u8>,
}

impl Parser {
    fn new() -> Parser {
        Parser {
            state: ParseState::default(),
            argv: Vec::with_capacity(16),
            scratch: Vec::new(),
        }
    }

    /// Parses every complete command in `buf`; returns how many.
    fn parse_all(&mut self, buf: &[u8]) -> usize {
        let mut pos = 0;
        let mut n = 0;
        while pos < buf.len() {
            match parse_command(
                buf,
                pos,
                &mut self.state,
                &mut self.argv,
                &mut self.scratch,
                LIMITS,
            ) {
                Parsed::Command { next, .. } => {
                    pos = next;
                    n += self.argv.len();
                }
                _ => break,
            }
        }
        n
    }
}

fn pipelined_sets(count: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    for i in 0..count {
        let key = format!("key:{:012}", i * 7919);
        buf.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n$3\r\nxxx\r\n",
                key.len(),
                key
            )
            .as_bytes(),
        );
    }
    buf
}

fn big_bulk(len: usize) -> Vec<u8> {
    let mut buf = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${len}\r\n").into_bytes();
    buf.extend(std::iter::repeat_n(b'v', len));
    buf.extend_from_slice(b"\r\n");
    buf
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");

    let sets = pipelined_sets(16);
    g.throughput(Throughput::Elements(16));
    g.bench_function("16_pipelined_set", |b| {
        let mut p = Parser::new();
        b.iter(|| black_box(p.parse_all(black_box(&sets))))
    });

    let mut inline = Vec::new();
    for i in 0..16 {
        inline.extend_from_slice(format!("SET key:{i:012} xxx\r\n").as_bytes());
    }
    g.bench_function("16_pipelined_inline_set", |b| {
        let mut p = Parser::new();
        b.iter(|| black_box(p.parse_all(black_box(&inline))))
    });

    let bulk = big_bulk(1 << 20);
    g.throughput(Throughput::Bytes(bulk.len() as u64));
    g.bench_function("1mb_bulk_whole", |b| {
        let mut p = Parser::new();
        b.iter(|| black_box(p.parse_all(black_box(&bulk))))
    });
    // The same bulk arriving in 16K reads: the parser is called after every
    // read and must not rescan what it already saw.
    g.bench_function("1mb_bulk_16k_reads", |b| {
        let mut p = Parser::new();
        b.iter(|| {
            let mut end = 0;
            let mut done = 0;
            while end < bulk.len() {
                end = (end + 16 * 1024).min(bulk.len());
                done += p.parse_all(black_box(&bulk[..end]));
            }
            black_box(done)
        })
    });
    g.finish();
}

fn bench_reply(c: &mut Criterion) {
    let mut g = c.benchmark_group("reply");
    g.throughput(Throughput::Elements(16));
    let small = b"xxx";
    let medium = vec![b'v'; 100];
    g.bench_function("16_bulk_3b", |b| {
        let mut out = ReplyBuf::new();
        b.iter(|| {
            out.buf.clear();
            for _ in 0..16 {
                out.bulk(black_box(small));
            }
            black_box(out.buf.len())
        })
    });
    g.bench_function("16_bulk_100b", |b| {
        let mut out = ReplyBuf::new();
        b.iter(|| {
            out.buf.clear();
            for _ in 0..16 {
                out.bulk(black_box(&medium));
            }
            black_box(out.buf.len())
        })
    });
    g.bench_function("16_int", |b| {
        let mut out = ReplyBuf::new();
        let mut n: i64 = 1_234_567;
        b.iter(|| {
            out.buf.clear();
            for _ in 0..16 {
                n = n.wrapping_mul(31).wrapping_add(7) & 0xff_ffff_ffff;
                out.int(black_box(n));
            }
            black_box(out.buf.len())
        })
    });
    g.bench_function("16_ok", |b| {
        let mut out = ReplyBuf::new();
        b.iter(|| {
            out.buf.clear();
            for _ in 0..16 {
                out.ok();
            }
            black_box(out.buf.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_reply);
criterion_main!(benches);
