//! Criterion benches for the LZF codec RDB files use
//! (`ferrokv::persist::lzf`), side by side with the system liblzf.so.1
//! that Debian's redis-server links (loaded with dlopen; its rows are
//! skipped when the library is not installed). Inputs: 100-byte DEBUG
//! POPULATE values (`value:N` padded with zeros), 100 random bytes (no
//! match: the budget check fails), 1 KB of text and a 64 KB
//! listpack-like blob. Compare `ferrokv/*` with `liblzf/*` per input.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrokv::persist::lzf;
use std::hint::black_box;

type LzfFn = unsafe extern "C" fn(
    *const libc::c_void,
    libc::c_uint,
    *mut libc::c_void,
    libc::c_uint,
) -> libc::c_uint;

/// liblzf 3.6's `lzf_compress` and `lzf_decompress` (same signature).
fn liblzf() -> Option<(LzfFn, LzfFn)> {
    // SAFETY: dlopen/dlsym with NUL-terminated names; both symbols have
    // liblzf 3.6's `unsigned f(const void *, unsigned, void *, unsigned)`
    // signature; the handle is never closed.
    unsafe {
        let h = libc::dlopen(c"liblzf.so.1".as_ptr(), libc::RTLD_NOW);
        if h.is_null() {
            return None;
        }
        let c = libc::dlsym(h, c"lzf_compress".as_ptr());
        let d = libc::dlsym(h, c"lzf_decompress".as_ptr());
        if c.is_null() || d.is_null() {
            return None;
        }
        Some((
            std::mem::transmute::<*mut libc::c_void, LzfFn>(c),
            std::mem::transmute::<*mut libc::c_void, LzfFn>(d),
        ))
    }
}

fn call(f: LzfFn, input: &[u8], out: &mut [u8]) -> usize {
    // SAFETY: both buffers are valid for the lengths passed.
    unsafe {
        f(
            input.as_ptr().cast(),
            input.len() as libc::c_uint,
            out.as_mut_ptr().cast(),
            out.len() as libc::c_uint,
        ) as usize
    }
}

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut populate = b"value:123456".to_vec();
    populate.resize(100, 0);
    let random: Vec<u8> = (0..100).map(|_| rnd() as u8).collect();
    let words = [
        "redis ",
        "ferrokv ",
        "snapshot ",
        "key:",
        "value ",
        "1234 ",
        "\n",
    ];
    let mut text = Vec::new();
    while text.len() < 1024 {
        text.extend_from_slice(words[rnd() as usize % words.len()].as_bytes());
    }
    text.truncate(1024);
    let mut blob = Vec::new();
    let mut i = 0u64;
    while blob.len() < 65536 {
        blob.extend_from_slice(format!("\x0cfield:{i}\x07value:{}", rnd() % 1000).as_bytes());
        i += 1;
    }
    blob.truncate(65536);
    vec![
        ("populate_100", populate),
        ("random_100", random),
        ("text_1k", text),
        ("blob_64k", blob),
    ]
}

fn bench_compress(c: &mut Criterion) {
    let sys = liblzf();
    let mut g = c.benchmark_group("lzf_compress");
    for (name, inp) in inputs() {
        g.throughput(Throughput::Bytes(inp.len() as u64));
        let budget = inp.len() - 4;
        let mut out = Vec::with_capacity(budget);
        g.bench_function(format!("ferrokv/{name}"), |b| {
            b.iter(|| {
                out.clear();
                black_box(lzf::compress_into(black_box(&inp), budget, &mut out))
            })
        });
        if let Some((comp, _)) = sys {
            let mut buf = vec![0u8; budget];
            g.bench_function(format!("liblzf/{name}"), |b| {
                b.iter(|| black_box(call(comp, black_box(&inp), &mut buf)))
            });
        }
    }
    g.finish();
}

fn bench_decompress(c: &mut Criterion) {
    let sys = liblzf();
    let mut g = c.benchmark_group("lzf_decompress");
    for (name, inp) in inputs() {
        let Some(comp) = lzf::compress(&inp, inp.len() - 4) else {
            continue;
        };
        g.throughput(Throughput::Bytes(inp.len() as u64));
        g.bench_function(format!("ferrokv/{name}"), |b| {
            b.iter(|| black_box(lzf::decompress(black_box(&comp), inp.len())))
        });
        if let Some((_, dec)) = sys {
            g.bench_function(format!("liblzf/{name}"), |b| {
                // Allocate the output as our decompress does.
                b.iter(|| {
                    let mut out = vec![0u8; inp.len()];
                    black_box(call(dec, black_box(&comp), &mut out));
                    out
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_compress, bench_decompress);
criterion_main!(benches);
