//! Tests of the LZF codec, including a comparison with the system liblzf
//! (the library Debian's redis-server links) over many generated inputs.

use super::*;
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
}

impl SysLzf {
    fn open() -> Option<SysLzf> {
        // SAFETY: dlopen/dlsym with NUL-terminated names; the symbol is
        // liblzf 3.6's `unsigned lzf_compress(const void *, unsigned,
        // void *, unsigned)`, the signature we cast it to. The handle is
        // never closed, so the function stays valid.
        unsafe {
            let h = libc::dlopen(c"liblzf.so.1".as_ptr(), libc::RTLD_NOW);
            if h.is_null() {
                return None;
            }
            let f = libc::dlsym(h, c"lzf_compress".as_ptr());
            if f.is_null() {
                return None;
            }
            Some(SysLzf {
                compress: std::mem::transmute::<*mut libc::c_void, LzfFn>(f),
            })
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

/// Interleaved timing against the system liblzf (release builds only:
/// `cargo test --release --lib lzf_speed -- --ignored --nocapture`).
#[test]
#[ignore]
fn lzf_speed() {
    let Some(sys) = SysLzf::open() else { return };
    let mut text = Vec::new();
    let words = [
        "redis ",
        "ferrokv ",
        "snapshot ",
        "key:",
        "value ",
        "1234 ",
        "\n",
    ];
    let mut x = 12345u64;
    while text.len() < 1024 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        text.extend_from_slice(words[(x >> 33) as usize % words.len()].as_bytes());
    }
    text.truncate(1024);
    let mut pop = b"value:123456".to_vec();
    pop.resize(100, 0);
    for (name, inp) in [("text_1k", text), ("populate_100", pop)] {
        let budget = inp.len() - 4;
        let mut buf = vec![0u8; budget];
        let mut out = Vec::with_capacity(budget);
        let n = 200_000 / (inp.len() / 100);
        for round in 0..5 {
            let t = std::time::Instant::now();
            for _ in 0..n {
                out.clear();
                std::hint::black_box(compress_into(std::hint::black_box(&inp), budget, &mut out));
            }
            let ours = t.elapsed().as_nanos() as f64 / n as f64;
            let t = std::time::Instant::now();
            for _ in 0..n {
                // SAFETY: valid buffers for the lengths passed.
                std::hint::black_box(unsafe {
                    (sys.compress)(
                        inp.as_ptr().cast(),
                        inp.len() as libc::c_uint,
                        buf.as_mut_ptr().cast(),
                        budget as libc::c_uint,
                    )
                });
            }
            let theirs = t.elapsed().as_nanos() as f64 / n as f64;
            eprintln!(
                "{name} round {round}: ferrokv {ours:.0} ns, liblzf {theirs:.0} ns, ratio {:.2}",
                ours / theirs
            );
        }
    }
}
