//! Criterion benches for `ferrokv::ds::dict::Dict` at 1K, 1M and 10M entries
//! (issue #15): the cost of one insert while a dict grows to that size (its
//! rehashes included), of one lookup hit and one miss in a dict of that
//! size, and the mean cost of one incremental rehash step (one bucket, as a
//! mutating access does) while a dict of that size rehashes into twice its
//! buckets.
//! Keys are 16 bytes (`key:%012d`), as in `benches/compare.sh --memory`.
//!
//! `DICT_BENCH_SIZES=1000,1000000` picks sizes (default 1000,1000000,10000000;
//! 10M entries take about 1 GB and a few minutes).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrokv::ds::dict::Dict;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn sizes() -> Vec<usize> {
    std::env::var("DICT_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 1_000_000, 10_000_000])
}

fn label(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}K", n / 1_000),
        n => n.to_string(),
    }
}

fn keys(prefix: &str, n: usize) -> Vec<[u8; 16]> {
    (0..n)
        .map(|i| {
            let mut k = [0u8; 16];
            k.copy_from_slice(format!("{prefix}:{i:012}").as_bytes()[..16].as_ref());
            k
        })
        .collect()
}

fn filled(ks: &[[u8; 16]]) -> Dict<Vec<u8>, u64> {
    let mut d = Dict::new();
    for (i, k) in ks.iter().enumerate() {
        d.insert_new(k, i as u64);
    }
    while d.rehash_steps(1000) {}
    d
}

/// Lookups per timed pass: all keys for small dicts, 100k for big ones,
/// visited in a scattered order (a stride co-prime with the length, so
/// every visited key is distinct), so caches miss as in a server.
fn probe(ks: &[[u8; 16]]) -> Vec<&[u8; 16]> {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let len = ks.len();
    let m = len.min(100_000);
    let mut stride = 7919 * (len / m).max(1) + 1;
    while gcd(stride, len) != 1 {
        stride += 1;
    }
    (0..m).map(|j| &ks[(j * stride) % len]).collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dict");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    for n in sizes() {
        let ks = keys("key", n);
        let name = label(n);

        // Insert: time to grow an empty dict to n entries, per entry.
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("insert", &name), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut d: Dict<Vec<u8>, u64> = Dict::new();
                    let t = Instant::now();
                    for (i, k) in ks.iter().enumerate() {
                        d.insert_new(k, i as u64);
                    }
                    total += t.elapsed();
                    drop(black_box(d));
                }
                total
            })
        });

        let d = filled(&ks);
        let miss = keys("mis", n.min(100_000));
        let hits = probe(&ks);
        let misses = probe(&miss);
        g.throughput(Throughput::Elements(hits.len() as u64));
        g.bench_function(BenchmarkId::new("lookup_hit", &name), |b| {
            b.iter(|| {
                let mut found = 0usize;
                for k in &hits {
                    found += d.get(black_box(&k[..])).is_some() as usize;
                }
                found
            })
        });
        g.throughput(Throughput::Elements(misses.len() as u64));
        g.bench_function(BenchmarkId::new("lookup_miss", &name), |b| {
            b.iter(|| {
                let mut found = 0usize;
                for k in &misses {
                    found += d.get(black_box(&k[..])).is_some() as usize;
                }
                found
            })
        });
        drop(d);

        // Rehash: the mean cost of one step (one bucket moved, up to 10
        // empty ones skipped) over a whole incremental rehash of the
        // n-entry dict into twice its buckets, page faults of the new
        // table included (each sample is one full rehash, scaled to the
        // iterations criterion asks for).
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("rehash_step", &name), |b| {
            b.iter_custom(|iters| {
                let mut d = filled(&ks);
                d.expand(2 * d.bucket_count());
                let t = Instant::now();
                let mut steps = 0u64;
                while d.rehash_steps(1) {
                    steps += 1;
                }
                let el = t.elapsed();
                drop(black_box(d));
                el.mul_f64(iters as f64 / steps.max(1) as f64)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
