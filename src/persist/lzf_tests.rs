//! Tests of the LZF codec, including a comparison with the system liblzf
//! (the library Debian's redis-server links) over many generated inputs.

use super::*;
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

#[test]
fn roundtrip_various() {
    let inputs: Vec<Vec<u8>> = vec![
        b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
        b"hello hello hello hello hello world world world".to_vec(),
        (0..5000u32).map(|i| (i % 251) as u8).collect(),
        (0..3000u32).map(|i| (i * 7 % 13) as u8).collect(),
        b"abcdefghijklmnopqrstuvwxyz0123456789".repeat(40),
        vec![0u8; 100_000],
    ];
    for inp in inputs {
        let c = compress(&inp, inp.len() - 4).expect("compressible");
        assert!(c.len() <= inp.len() - 4);
        assert_eq!(decompress(&c, inp.len()).unwrap(), inp);
    }
}

#[test]
fn incompressible_returns_none() {
    let inp: Vec<u8> = (0..64u8).collect();
    assert!(compress(&inp, inp.len() - 4).is_none());
    let mut out = b"keep".to_vec();
    assert!(compress_into(&inp, inp.len() - 4, &mut out).is_none());
    assert_eq!(out, b"keep");
}

#[test]
fn compress_into_appends() {
    let inp = [b'x'; 100];
    let mut out = b"head".to_vec();
    let n = compress_into(&inp, 96, &mut out).unwrap();
    assert_eq!(out.len(), 4 + n);
    assert_eq!(&out[..4], b"head");
    assert_eq!(decompress(&out[4..], 100).unwrap(), inp);
}

#[test]
fn matches_liblzf_output() {
    // From DUMP replies of Redis 7.0.15 (rdbcompression yes).
    let c = compress(&[b'a'; 50], 46).unwrap();
    assert_eq!(c, b"\x01aa\xe0\x25\x00\x01aa".to_vec());
    let inp = b"hello hello hello hello hello world world world";
    let c = compress(inp, inp.len() - 4).unwrap();
    assert_eq!(
        c,
        b"\x06hello h\xe0\x0e\x05\x04world\xe0\x01\x05\x01ld".to_vec()
    );
}

#[test]
fn table_generation_wraps() {
    // Near the end of the generation range the table is cleared; output
    // must not change, before or after.
    let inp = b"abcabcabcabc-abcabcabcabc-xyzxyzxyz".repeat(3);
    let want = compress(&inp, inp.len()).unwrap();
    TABLE.with(|t| t.borrow_mut().base = u32::MAX - 10);
    assert_eq!(compress(&inp, inp.len()).unwrap(), want);
    assert!(TABLE.with(|t| t.borrow().base) < 1000);
    assert_eq!(compress(&inp, inp.len()).unwrap(), want);
}

#[test]
fn corrupt_input_never_panics() {
    for n in 0..200u32 {
        let v: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
        let _ = decompress(&v, n as usize * 2);
        let _ = decompress(&v, usize::MAX);
    }
    assert!(decompress(&[0x20, 0x00], 10).is_none());
    // A valid stream with the wrong expected length.
    let c = compress(&[7u8; 300], 296).unwrap();
    assert!(decompress(&c, 299).is_none());
    assert!(decompress(&c, 301).is_none());
    assert_eq!(decompress(&c, 300).unwrap(), vec![7u8; 300]);
}

/// Inputs of the shapes RDB files hold: DEBUG POPULATE values, numbers and
/// text, small alphabets (many matches), random bytes, long runs, and
/// lengths around the offset (8 KB) and hash-table (64 K) limits.
pub(super) fn sample_inputs(seed: u64, count: usize) -> Vec<Vec<u8>> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut v = Vec::with_capacity(count);
    for i in 0..count {
        let len = match rng.gen_range(0..10) {
            0..=5 => rng.gen_range(1..200),
            6..=7 => rng.gen_range(200..3000),
            8 => rng.gen_range(3000..20000),
            _ => rng.gen_range(60000..70000),
        };
        let inp: Vec<u8> = match i % 7 {
            0 => {
                let mut s = format!("value:{}", rng.gen_range(0..10_000_000)).into_bytes();
                s.resize(len.max(s.len()), 0);
                s
            }
            1 => (0..len).map(|_| rng.gen()).collect(),
            2 => {
                let k = rng.gen_range(1..5u8);
                (0..len).map(|_| b'a' + rng.gen_range(0..k)).collect()
            }
            3 => {
                let words = [
                    "foo ", "bar ", "baz ", "hello ", "world ", "redis ", "1234 ",
                ];
                let mut s = Vec::new();
                while s.len() < len {
                    s.extend_from_slice(words[rng.gen_range(0..words.len())].as_bytes());
                }
                s.truncate(len);
                s
            }
            4 => {
                // A repeated chunk with a few mutations.
                let chunk: Vec<u8> = (0..rng.gen_range(1..40)).map(|_| rng.gen()).collect();
                let mut s: Vec<u8> = chunk.iter().cycle().take(len).copied().collect();
                for _ in 0..rng.gen_range(0..5) {
                    let p = rng.gen_range(0..s.len());
                    s[p] = rng.gen();
                }
                s
            }
            5 => vec![rng.gen(); len],
            _ => (0..len)
                .map(|j| b"0123456789"[(j * 7 + j / 13) % 10])
                .collect(),
        };
        v.push(inp);
    }
    v
}

/// liblzf 3.6's `unsigned lzf_compress(const void *, unsigned, void *,
/// unsigned)`.
type LzfFn = unsafe extern "C" fn(
    *const libc::c_void,
    libc::c_uint,
    *mut libc::c_void,
    libc::c_uint,
) -> libc::c_uint;

/// liblzf 3.6's `lzf_compress` from the system library, if installed.
struct SysLzf {
    compress: LzfFn,
    decompress: LzfFn,
}

impl SysLzf {
    fn open() -> Option<SysLzf> {
        // SAFETY: dlopen/dlsym with NUL-terminated names; the symbols are
        // liblzf 3.6's `unsigned lzf_compress(const void *, unsigned,
        // void *, unsigned)` and lzf_decompress (same signature), the
        // signature we cast them to. The handle is
        // never closed, so the function stays valid.
        unsafe {
            let h = libc::dlopen(c"liblzf.so.1".as_ptr(), libc::RTLD_NOW);
            if h.is_null() {
                return None;
            }
            let f = libc::dlsym(h, c"lzf_compress".as_ptr());
            let d = libc::dlsym(h, c"lzf_decompress".as_ptr());
            if f.is_null() || d.is_null() {
                return None;
            }
            Some(SysLzf {
                compress: std::mem::transmute::<*mut libc::c_void, LzfFn>(f),
                decompress: std::mem::transmute::<*mut libc::c_void, LzfFn>(d),
            })
        }
    }

    /// Calls `f` (lzf_compress or lzf_decompress) on the whole of `input`
    /// into `out_len` bytes at `out`; returns its result (0: did not fit
    /// or corrupt).
    ///
    /// # Safety
    /// `out` is valid for writes of `out_len` bytes.
    unsafe fn raw(&self, f: LzfFn, input: &[u8], out: *mut u8, out_len: usize) -> usize {
        // SAFETY: input is valid for its length, out for out_len (caller).
        unsafe {
            f(
                input.as_ptr().cast(),
                input.len() as libc::c_uint,
                out.cast(),
                out_len as libc::c_uint,
            ) as usize
        }
    }

    /// Compresses with a cleared hash table: liblzf keeps its table in
    /// its stack frame uninitialised, so zero the stack it will use first.
    #[inline(never)]
    fn compress(&self, input: &[u8], out_len: usize) -> Option<Vec<u8>> {
        scrub_stack();
        let mut out = vec![0u8; out_len];
        // SAFETY: input and out are valid for the lengths passed.
        let n = unsafe {
            (self.compress)(
                input.as_ptr().cast(),
                input.len() as libc::c_uint,
                out.as_mut_ptr().cast(),
                out_len as libc::c_uint,
            )
        } as usize;
        (n > 0).then(|| {
            out.truncate(n);
            out
        })
    }
}

/// Zeroes the 512 KB of stack below the caller's frame, where the next
/// call's frame (liblzf's 256 KB table) will live.
#[inline(never)]
fn scrub_stack() {
    let mut a = [0u8; 512 * 1024];
    std::hint::black_box(&mut a);
}

#[test]
fn matches_system_liblzf() {
    let Some(sys) = SysLzf::open() else {
        eprintln!("liblzf.so.1 not installed: comparison with liblzf skipped");
        return;
    };
    // A 2 MB stack: the test scrubs 512 KB of it per call.
    std::thread::Builder::new()
        .stack_size(4 << 20)
        .spawn(move || {
            let mut checked = 0;
            for seed in 0..4 {
                for inp in sample_inputs(seed, 1500) {
                    let mut lens = vec![inp.len().saturating_sub(4), inp.len(), inp.len() * 2 + 16];
                    lens.push(1 + (inp.len() * 7 / 10));
                    lens.push(1 + inp.len() / 3);
                    for out_len in lens {
                        if out_len == 0 {
                            continue;
                        }
                        let ours = compress(&inp, out_len);
                        let theirs = sys.compress(&inp, out_len);
                        assert_eq!(
                            ours,
                            theirs,
                            "len {} out_len {} input {:?}",
                            inp.len(),
                            out_len,
                            &inp[..inp.len().min(64)]
                        );
                        if let Some(c) = &ours {
                            assert_eq!(decompress(c, inp.len()).as_deref(), Some(&inp[..]));
                        }
                        checked += 1;
                    }
                }
            }
            assert!(checked > 20000);
        })
        .unwrap()
        .join()
        .unwrap();
}

/// One generated input for the property tests: `style` picks the kind
/// (few symbols, words, a repeated chunk with mutations, random bytes,
/// listpack-like records, runs of one byte), `len` its length.
fn styled_input(rng: &mut SmallRng, style: u8, len: usize) -> Vec<u8> {
    match style % 6 {
        0 => {
            let k = rng.gen_range(1..=16u8);
            (0..len).map(|_| b'a' + rng.gen_range(0..k)).collect()
        }
        1 => {
            let words = [
                "redis ",
                "ferrokv ",
                "snapshot ",
                "key:",
                "42 ",
                "\n",
                "the ",
            ];
            let mut s = Vec::with_capacity(len + 16);
            while s.len() < len {
                s.extend_from_slice(words[rng.gen_range(0..words.len())].as_bytes());
            }
            s.truncate(len);
            s
        }
        2 => {
            let chunk: Vec<u8> = (0..rng.gen_range(1..300)).map(|_| rng.gen()).collect();
            let mut s: Vec<u8> = chunk.iter().cycle().take(len).copied().collect();
            for _ in 0..rng.gen_range(0..=len / 50 + 1) {
                if !s.is_empty() {
                    let p = rng.gen_range(0..s.len());
                    s[p] = rng.gen();
                }
            }
            s
        }
        3 => (0..len).map(|_| rng.gen()).collect(),
        4 => {
            let mut s = Vec::with_capacity(len + 32);
            let mut i = rng.gen_range(0..1000u32);
            while s.len() < len {
                let f = format!("field:{i}");
                let v = format!("value:{}", rng.gen_range(0..100_000u32));
                s.push(f.len() as u8 | 0x80);
                s.extend_from_slice(f.as_bytes());
                s.push(f.len() as u8 + 1);
                s.push(v.len() as u8 | 0x80);
                s.extend_from_slice(v.as_bytes());
                s.push(v.len() as u8 + 1);
                i += 1;
            }
            s.truncate(len);
            s
        }
        _ => {
            let mut s = Vec::with_capacity(len);
            while s.len() < len {
                let b: u8 = rng.gen();
                let n = rng.gen_range(1..600).min(len - s.len());
                s.extend(std::iter::repeat_n(b, n));
            }
            s
        }
    }
}

/// Property test: for generated inputs of every style and any output
/// budget, our compressor gives the system liblzf's bytes (or fails where
/// it fails), and the output decompresses back.
#[test]
fn prop_same_bytes_as_system_liblzf() {
    use proptest::test_runner::{Config, TestRunner};
    let Some(sys) = SysLzf::open() else {
        eprintln!("liblzf.so.1 not installed: comparison with liblzf skipped");
        return;
    };
    std::thread::Builder::new()
        .stack_size(4 << 20)
        .spawn(move || {
            let mut runner = TestRunner::new(Config {
                cases: 3000,
                ..Config::default()
            });
            let strategy = (
                any::<u64>(),
                0u8..6,
                prop_oneof![0usize..64, 0usize..600, 0usize..20_000, 60_000usize..70_000],
                0u32..=1100,
            );
            runner
                .run(&strategy, |(seed, style, len, per_mille)| {
                    let mut rng = SmallRng::seed_from_u64(seed);
                    let inp = styled_input(&mut rng, style, len);
                    // Budgets from 1 to 110% of the length (+16).
                    let out_len =
                        1 + (inp.len() * per_mille as usize / 1000) + per_mille as usize / 70;
                    let ours = compress(&inp, out_len);
                    let theirs = sys.compress(&inp, out_len);
                    prop_assert_eq!(
                        &ours,
                        &theirs,
                        "style {} len {} out_len {}",
                        style,
                        len,
                        out_len
                    );
                    if let Some(c) = &ours {
                        let back = decompress(c, inp.len());
                        prop_assert_eq!(back.as_deref(), Some(&inp[..]));
                    }
                    Ok(())
                })
                .unwrap();
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Fuzz-style test of the decompressor, which writes without bounds
/// checks: on arbitrary bytes (and on valid streams with bytes flipped)
/// it agrees with the system liblzf's lzf_decompress: Some exactly when
/// liblzf fills the whole `out_len` without error, with the same bytes.
#[test]
fn prop_decompress_agrees_with_system_liblzf() {
    use proptest::test_runner::{Config, TestRunner};
    let Some(sys) = SysLzf::open() else {
        eprintln!("liblzf.so.1 not installed: comparison with liblzf skipped");
        return;
    };
    let mut runner = TestRunner::new(Config {
        cases: 4000,
        ..Config::default()
    });
    let strategy = (any::<u64>(), 0u8..6, 0usize..3000, 0usize..4, 0usize..5000);
    runner
        .run(&strategy, |(seed, style, len, flips, out_len)| {
            let mut rng = SmallRng::seed_from_u64(seed);
            let inp = styled_input(&mut rng, style, len);
            // A valid stream with a few bytes changed, or raw bytes.
            let mut stream = compress(&inp, inp.len() + 40).unwrap_or_else(|| inp.clone());
            for _ in 0..flips {
                if !stream.is_empty() {
                    let p = rng.gen_range(0..stream.len());
                    stream[p] = rng.gen();
                }
            }
            let out_len = if flips == 0 && out_len % 2 == 0 {
                inp.len()
            } else {
                out_len
            };
            let ours = decompress(&stream, out_len);
            if out_len == 0 || stream.is_empty() {
                // (liblzf is not asked: it returns 0 for both an error and
                // an empty result, and reads a first byte of even an empty
                // input.)
                prop_assert_eq!(ours.is_some(), stream.is_empty() && out_len == 0);
                return Ok(());
            }
            let mut buf = vec![0u8; out_len];
            // SAFETY: buf holds out_len bytes.
            let n = unsafe { sys.raw(sys.decompress, &stream, buf.as_mut_ptr(), out_len) };
            let theirs = (n == out_len).then_some(buf);
            prop_assert_eq!(ours, theirs);
            Ok(())
        })
        .unwrap();
}

#[path = "../../benches/lzf_inputs.rs"]
mod bench_inputs;

/// Interleaved timing against the system liblzf, compressing (with
/// RDB's budget, `len - 4`) and decompressing each input set of
/// benches/lzf_inputs.rs (a pass over the set's strings), twice: the set
/// as it is, and its first string alone over and over (which the branch
/// predictor learns, as with a dataset of equal values). Prints the median
/// of 7 rounds of the ratio of our time to liblzf's. Release builds only:
/// `cargo test --release --lib lzf_speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn lzf_speed() {
    let Some(sys) = SysLzf::open() else { return };
    let time = |n: usize, f: &mut dyn FnMut()| {
        let t = std::time::Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_nanos() as f64 / n as f64
    };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for repeat in [false, true] {
        eprintln!(
            "{}",
            if repeat {
                "one string of each set, over and over:"
            } else {
                "each set of different strings:"
            }
        );
        for (name, mut set) in bench_inputs::inputs() {
            if repeat {
                set.truncate(1);
            }
            let total: usize = set.iter().map(|s| s.len()).sum();
            let comp: Vec<Option<Vec<u8>>> = set.iter().map(|s| compress(s, s.len() - 4)).collect();
            let mut buf = vec![0u8; 1 << 17];
            let mut out = Vec::with_capacity(1 << 17);
            let n = (20_000_000 / total).max(1);
            let (mut c, mut d) = (Vec::new(), Vec::new());
            let (mut c_ns, mut d_ns) = ((0.0, 0.0), (0.0, 0.0));
            for _ in 0..7 {
                let ours = time(n, &mut || {
                    for s in &set {
                        out.clear();
                        let r = compress_into(std::hint::black_box(s), s.len() - 4, &mut out);
                        std::hint::black_box(r);
                    }
                });
                let theirs = time(n, &mut || {
                    for s in &set {
                        // SAFETY: buf holds 128 KB, more than any budget.
                        let k = unsafe { sys.raw(sys.compress, s, buf.as_mut_ptr(), s.len() - 4) };
                        std::hint::black_box(k);
                    }
                });
                c.push(ours / theirs);
                c_ns = (ours / set.len() as f64, theirs / set.len() as f64);
                if comp.iter().all(|c| c.is_some()) {
                    let ours = time(n, &mut || {
                        for (s, c) in set.iter().zip(&comp) {
                            let c = c.as_deref().unwrap_or_default();
                            std::hint::black_box(decompress(std::hint::black_box(c), s.len()));
                        }
                    });
                    // Into a fresh allocation, as ours and Redis's loading
                    // (sdsnewlen(SDS_NOINIT)) do.
                    let theirs = time(n, &mut || {
                        for (s, c) in set.iter().zip(&comp) {
                            let c = c.as_deref().unwrap_or_default();
                            let mut o = Vec::<u8>::with_capacity(s.len());
                            // SAFETY: liblzf writes at most s.len() bytes
                            // into the capacity; the length is set to what
                            // it wrote.
                            unsafe {
                                let k = sys.raw(sys.decompress, c, o.as_mut_ptr(), s.len());
                                o.set_len(k);
                            }
                            std::hint::black_box(o);
                        }
                    });
                    d.push(ours / theirs);
                    d_ns = (ours / set.len() as f64, theirs / set.len() as f64);
                }
            }
            eprint!(
                "  {name:14} compress {:.2}x liblzf's time ({:.0} / {:.0} ns per string)",
                median(c),
                c_ns.0,
                c_ns.1
            );
            if !d.is_empty() {
                eprint!(
                    ", decompress {:.2}x ({:.0} / {:.0} ns)",
                    median(d),
                    d_ns.0,
                    d_ns.1
                );
            }
            eprintln!();
        }
    }
}
