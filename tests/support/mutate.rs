//! Byte-level mutations like libFuzzer's, for the stable smoke tests that
//! stand in for the cargo-fuzz targets.

use rand::rngs::StdRng;
use rand::Rng;

/// Byte-level mutations like libFuzzer's: flips, inserts from `special`,
/// deletions, duplications, truncation.
pub fn mutate(rng: &mut StdRng, data: &mut Vec<u8>, special: &[u8]) {
    for _ in 0..rng.gen_range(1..4) {
        let len = data.len();
        match rng.gen_range(0..6) {
            0 if len > 0 => data[rng.gen_range(0..len)] ^= 1 << rng.gen_range(0..8),
            1 => {
                let b = special[rng.gen_range(0..special.len())];
                data.insert(rng.gen_range(0..=len), b);
            }
            2 if len > 0 => {
                let at = rng.gen_range(0..len);
                let end = (at + rng.gen_range(1..8)).min(len);
                data.drain(at..end);
            }
            3 if len > 0 => {
                let at = rng.gen_range(0..len);
                let end = (at + rng.gen_range(1..16)).min(len);
                let copy = data[at..end].to_vec();
                let to = rng.gen_range(0..=len);
                data.splice(to..to, copy);
            }
            4 if len > 0 => data.truncate(rng.gen_range(0..len)),
            5 if len > 0 => {
                let b = special[rng.gen_range(0..special.len())];
                data[rng.gen_range(0..len)] = b;
            }
            _ => {}
        }
    }
}
