//! The running CRC-64 of RDB files (Redis's crc64: the Jones polynomial,
//! reflected, crcspeed's slice-by-8 tables in Redis). Short inputs go
//! through the `crc` crate's slice-by-16 tables (`rdb::CRC64`); runs of
//! 128 bytes and more, on x86-64 with PCLMULQDQ, through carry-less
//! multiplication: eight 16-byte lanes folded 128 bytes at a time, folded
//! into one lane, then a Barrett reduction (Intel's "Fast CRC
//! Computation for Generic Polynomials Using PCLMULQDQ", in the layout of
//! TiKV's crc64fast). Several times faster than the tables on the 64 KB
//! buffers a SAVE checksums. The folding constants are computed at
//! compile time from the polynomial (`k`, `mu`), and the tests check the
//! result against the tables for every length and split.

use crate::persist::rdb::CRC64;

/// The CRC-64/Jones polynomial, normal (not reflected) form.
const NORMAL: u64 = 0xad93_d235_94c9_35a9;

/// `x^n mod P(x)` with P = x^64 + NORMAL, bit-reversed (the reflected
/// domain's fold constant for a distance of n - 63 bits).
const fn k(n: u32) -> u64 {
    let mut r: u64 = 1;
    let mut i = 0;
    while i < n {
        let top = r >> 63;
        r <<= 1;
        if top == 1 {
            r ^= NORMAL;
        }
        i += 1;
    }
    r.reverse_bits()
}

/// The reflected polynomial with its x^64 term: `(reflect(NORMAL) << 1) | 1`.
const POLY: u64 = (NORMAL.reverse_bits() << 1) | 1;

/// Carry-less product of two 64-bit values, low 64 bits.
const fn clmul_lo(a: u64, b: u64) -> u64 {
    let mut r = 0u64;
    let mut i = 0;
    while i < 64 {
        if (b >> i) & 1 == 1 {
            r ^= a << i;
        }
        i += 1;
    }
    r
}

/// The Barrett constant: POLY's inverse modulo x^64 (bit i is the
/// coefficient of x^i), found a bit at a time.
const fn mu() -> u64 {
    let mut m = 0u64;
    let mut i = 0;
    while i < 64 {
        let want = if i == 0 { 1 } else { 0 };
        if (clmul_lo(m, POLY) >> i) & 1 != want {
            m |= 1 << i;
        }
        i += 1;
    }
    m
}

const MU: u64 = mu();

/// Fold constants (high lane, low lane) per distance: 128 bytes (the
/// main loop), then 112, 96, ... 16 bytes (lanes 0..7 into lane 7).
const FOLD_128: (u64, u64) = (k(1023), k(1087));
const FOLD_LANES: [(u64, u64); 7] = [
    (k(895), k(959)),
    (k(767), k(831)),
    (k(639), k(703)),
    (k(511), k(575)),
    (k(383), k(447)),
    (k(255), k(319)),
    (k(127), k(191)),
];
const FOLD_8: u64 = k(127);

/// A running CRC-64 (RDB files and the loader's check of them).
#[derive(Clone, Debug, Default)]
pub struct Digest {
    /// The reflected CRC register (the crc crate's digest value).
    state: u64,
}

impl Digest {
    pub fn new() -> Digest {
        Digest { state: 0 }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.state = update(self.state, bytes);
    }

    pub fn finalize(self) -> u64 {
        self.state
    }
}

/// The CRC register after `bytes`, from `state`.
pub fn update(state: u64, bytes: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if bytes.len() >= 256 && std::arch::is_x86_feature_detected!("pclmulqdq") {
        let whole = bytes.len() & !127;
        // SAFETY: the CPU has PCLMULQDQ (just checked; SSE2 is part of
        // x86-64); `whole` is a non-zero multiple of 128.
        let state = unsafe { clmul::update(state, &bytes[..whole]) };
        return update_table(state, &bytes[whole..]);
    }
    update_table(state, bytes)
}

/// The slice-by-16 tables of the `crc` crate, continuing from `state`.
fn update_table(state: u64, bytes: &[u8]) -> u64 {
    if bytes.is_empty() {
        return state;
    }
    // The crate reflects a custom initial value of a reflected algorithm.
    let mut d = CRC64.digest_with_initial(state.reverse_bits());
    d.update(bytes);
    d.finalize()
}

#[cfg(target_arch = "x86_64")]
mod clmul {
    use super::{FOLD_128, FOLD_8, FOLD_LANES, MU, POLY};
    use std::arch::x86_64::*;

    /// `(a.hi * hi) ^ (a.lo * lo)`: a lane moved forward by the distance
    /// the constants stand for.
    #[inline]
    #[target_feature(enable = "pclmulqdq")]
    fn fold16(a: __m128i, (hi, lo): (u64, u64)) -> __m128i {
        let c = _mm_set_epi64x(hi as i64, lo as i64);
        _mm_xor_si128(
            _mm_clmulepi64_si128::<0x11>(a, c),
            _mm_clmulepi64_si128::<0x00>(a, c),
        )
    }

    /// CRC update over `bytes`, a non-zero multiple of 128 bytes long.
    ///
    /// # Safety
    /// The CPU supports PCLMULQDQ.
    #[target_feature(enable = "pclmulqdq")]
    pub(super) unsafe fn update(state: u64, bytes: &[u8]) -> u64 {
        debug_assert!(!bytes.is_empty() && bytes.len().is_multiple_of(128));
        let load = |i: usize| {
            debug_assert!(i + 16 <= bytes.len());
            // SAFETY: i + 16 <= bytes.len() at every call below; an
            // unaligned 16-byte load.
            unsafe { _mm_loadu_si128(bytes.as_ptr().add(i).cast()) }
        };
        let mut x = [_mm_setzero_si128(); 8];
        for (i, lane) in x.iter_mut().enumerate() {
            *lane = load(i * 16);
        }
        x[0] = _mm_xor_si128(x[0], _mm_set_epi64x(0, state as i64));
        let mut off = 128;
        while off < bytes.len() {
            for (i, lane) in x.iter_mut().enumerate() {
                *lane = _mm_xor_si128(fold16(*lane, FOLD_128), load(off + i * 16));
            }
            off += 128;
        }
        let mut acc = x[7];
        for (lane, c) in x.iter().zip(FOLD_LANES) {
            acc = _mm_xor_si128(acc, fold16(*lane, c));
        }
        // 128 bits to 64 + the high half, then Barrett's reduction.
        let acc = _mm_xor_si128(
            _mm_clmulepi64_si128::<0x00>(acc, _mm_set_epi64x(0, FOLD_8 as i64)),
            _mm_srli_si128::<8>(acc),
        );
        let polymu = _mm_set_epi64x(POLY as i64, MU as i64);
        let t1 = _mm_clmulepi64_si128::<0x00>(acc, polymu);
        let l = _mm_clmulepi64_si128::<0x10>(t1, polymu);
        let reduced = _mm_xor_si128(_mm_xor_si128(_mm_slli_si128::<8>(t1), l), acc);
        _mm_cvtsi128_si64(_mm_unpackhi_epi64(reduced, reduced)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn constants_match_the_known_ones() {
        // isa-l's crc64_jones_refl: rk1/rk2 (16-byte fold), rk3/rk4
        // (128-byte fold).
        assert_eq!(k(127), 0x381d_0015_c96f_4444);
        assert_eq!(k(191), 0xd9d7_be7d_505d_a32c);
        assert_eq!(FOLD_128, (0x7683_6152_4d29_ed0b, 0xcc26_fa7c_57f8_054c));
        assert_eq!(clmul_lo(MU, POLY), 1);
    }

    #[test]
    fn same_as_the_tables_for_every_length_and_split() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(64);
        let data: Vec<u8> = (0..5000).map(|_| rng.gen()).collect();
        for len in (0..1200).chain([2047, 2048, 2049, 4096, 5000]) {
            let want = CRC64.checksum(&data[..len]);
            let mut d = Digest::new();
            d.update(&data[..len]);
            assert_eq!(d.finalize(), want, "len {len}");
            // In pieces of random sizes.
            let mut d = Digest::new();
            let mut at = 0;
            while at < len {
                let n = rng.gen_range(0..=(len - at).min(700));
                d.update(&data[at..at + n]);
                at += n;
            }
            assert_eq!(d.finalize(), want, "len {len} in pieces");
        }
    }
}
