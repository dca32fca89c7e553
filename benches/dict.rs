//! Criterion benches for `ferrokv::ds::dict::Dict`: bulk insert, lookup hit
//! and miss on a 100k-entry table, and incremental rehash cost.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferrokv::ds::dict::Dict;
use std::hint::black_box;

const N: usize = 100_000;

fn keys(prefix: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{prefix}:{i:08}").into_bytes())
        .collect()
}

fn filled(ks: &[Vec<u8>]) -> Dict<Vec<u8>, u64> {
    let mut d = Dict::new();
    for (i, k) in ks.iter().enumerate() {
        d.insert(k.clone(), i as u64);
    }
    while d.rehash_steps(1000) {}
    d
}

fn bench_insert(c: &mut Criterion) {
    let ks = keys("key", N);
    let mut g = c.benchmark_group("dict");
    g.sample_size(20);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("insert_100k", |b| {
        b.iter_batched(
            || ks.clone(),
            |ks| {
                let mut d: Dict<Vec<u8>, u64> = Dict::new();
                for (i, k) in ks.into_iter().enumerate() {
                    d.insert(k, i as u64);
                }
                d
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn bench_lookup(c: &mut Criterion) {
    let ks = keys("key", N);
    let miss = keys("miss", N);
    let d = filled(&ks);
    let mut g = c.benchmark_group("dict");
    g.sample_size(20);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("lookup_hit_100k", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for k in &ks {
                found += d.get(black_box(k)).is_some() as usize;
            }
            found
        })
    });
    g.bench_function("lookup_miss_100k", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for k in &miss {
                found += d.get(black_box(k)).is_some() as usize;
            }
            found
        })
    });
    g.finish();
}

fn bench_rehash(c: &mut Criterion) {
    let ks = keys("key", N);
    let base = filled(&ks);
    let mut g = c.benchmark_group("dict");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    // Full incremental rehash of 100k entries (131072 -> 262144 buckets),
    // one bucket per step as done by mutating accesses.
    g.bench_function("rehash_100k_step1", |b| {
        b.iter_batched(
            || {
                let mut d: Dict<Vec<u8>, u64> = Dict::new();
                d.expand(base.len());
                for (k, v) in base.iter() {
                    d.insert_new(k, *v);
                }
                while d.rehash_steps(1000) {}
                d.expand(2 * base.bucket_count());
                d
            },
            |mut d| {
                let mut steps = 0usize;
                while d.rehash_steps(1) {
                    steps += 1;
                }
                black_box(steps);
                d
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_insert, bench_lookup, bench_rehash);
criterion_main!(benches);
