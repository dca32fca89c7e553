//! Criterion benches for the LZF codec RDB files use
//! (`ferrokv::persist::lzf`), side by side with the system liblzf.so.1
//! that Debian's redis-server links (loaded with dlopen; its rows are
//! skipped when the library is not installed). Inputs (benches/lzf_inputs.rs):
//! 100-byte DEBUG POPULATE values (`value:N` padded with zeros), 100
//! random bytes (no match: the budget check fails), 1 KB of text with
//! short matches, 10 KB of text, a 100-field hash listpack, an 8 KB
//! quicklist node and a 64 KB listpack-like blob. Compare `ferrokv/*`
//! with `liblzf/*` per input (or run the interleaved `lzf_speed` test).

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

#[path = "lzf_inputs.rs"]
mod lzf_inputs;
use lzf_inputs::inputs;

fn bench_compress(c: &mut Criterion) {
    let sys = liblzf();
    let mut g = c.benchmark_group("lzf_compress");
    for (name, set) in inputs() {
        // One pass over the set's strings, with RDB's budget (len - 4).
        g.throughput(Throughput::Bytes(set.iter().map(|s| s.len() as u64).sum()));
        let mut out = Vec::with_capacity(1 << 17);
        g.bench_function(format!("ferrokv/{name}"), |b| {
            b.iter(|| {
                for s in &set {
                    out.clear();
                    black_box(lzf::compress_into(black_box(s), s.len() - 4, &mut out));
                }
            })
        });
        if let Some((comp, _)) = sys {
            let mut buf = vec![0u8; 1 << 17];
            g.bench_function(format!("liblzf/{name}"), |b| {
                b.iter(|| {
                    for s in &set {
                        black_box(call(comp, black_box(s), &mut buf[..s.len() - 4]));
                    }
                })
            });
        }
    }
    g.finish();
}

fn bench_decompress(c: &mut Criterion) {
    let sys = liblzf();
    let mut g = c.benchmark_group("lzf_decompress");
    for (name, set) in inputs() {
        let Some(comp) = set
            .iter()
            .map(|s| lzf::compress(s, s.len() - 4))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        g.throughput(Throughput::Bytes(set.iter().map(|s| s.len() as u64).sum()));
        g.bench_function(format!("ferrokv/{name}"), |b| {
            b.iter(|| {
                for (s, c) in set.iter().zip(&comp) {
                    black_box(lzf::decompress(black_box(c), s.len()));
                }
            })
        });
        if let Some((_, dec)) = sys {
            g.bench_function(format!("liblzf/{name}"), |b| {
                // Into a fresh allocation, as ours and Redis's loading
                // (sdsnewlen(SDS_NOINIT)) do.
                b.iter(|| {
                    for (s, c) in set.iter().zip(&comp) {
                        let mut out = Vec::<u8>::with_capacity(s.len());
                        // SAFETY: liblzf writes at most s.len() bytes into
                        // the capacity; the length is set to what it wrote.
                        unsafe {
                            let k = dec(
                                c.as_ptr().cast(),
                                c.len() as libc::c_uint,
                                out.as_mut_ptr().cast(),
                                s.len() as libc::c_uint,
                            );
                            out.set_len(k as usize);
                        }
                        black_box(out);
                    }
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_compress, bench_decompress);
criterion_main!(benches);
