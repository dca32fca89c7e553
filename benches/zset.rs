//! Criterion benches for the sorted-set skiplist encoding
//! (`ferrokv::ds::zset::SkiplistZset`): bulk ZADD and ZRANK at 1K and 1M
//! members. ZRANK should stay logarithmic: compare the per-op times.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferrokv::ds::zset::{SkiplistZset, ZAddFlags};
use std::hint::black_box;

fn members(n: usize) -> Vec<(Vec<u8>, f64)> {
    // Deterministic pseudo-random scores so inserts land all over the list.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (
                format!("member:{i:08}").into_bytes(),
                (x % 1_000_000) as f64,
            )
        })
        .collect()
}

fn filled(ms: &[(Vec<u8>, f64)]) -> SkiplistZset {
    let mut z = SkiplistZset::new();
    for (m, s) in ms {
        let _ = z.zadd(m, *s, ZAddFlags::default());
    }
    z
}

fn bench_insert(c: &mut Criterion) {
    let mut g = c.benchmark_group("zset_insert");
    g.sample_size(10);
    for n in [1_000usize, 1_000_000] {
        let ms = members(n);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("zadd_{n}"), |b| {
            b.iter_batched(|| (), |_| filled(&ms), BatchSize::PerIteration)
        });
    }
    g.finish();
}

fn bench_rank(c: &mut Criterion) {
    let mut g = c.benchmark_group("zset_rank");
    for n in [1_000usize, 1_000_000] {
        let ms = members(n);
        let z = filled(&ms);
        let probes: Vec<&[u8]> = ms
            .iter()
            .step_by((n / 1000).max(1))
            .map(|(m, _)| &m[..])
            .collect();
        g.throughput(Throughput::Elements(probes.len() as u64));
        g.bench_function(format!("zrank_{n}"), |b| {
            b.iter(|| {
                for p in &probes {
                    black_box(z.rank(black_box(p), false));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_insert, bench_rank);
criterion_main!(benches);
