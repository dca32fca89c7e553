//! DEBUG DIGEST's building blocks (Redis's debug.c xorDigest / mixDigest),
//! used by every type's per-value digest and by DEBUG DIGEST itself.

fn sha1(b: &[u8]) -> [u8; 20] {
    sha1_smol::Sha1::from(b).digest().bytes()
}

/// Redis's xorDigest: digest ^= sha1(data).
pub fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let h = sha1(data);
    for (d, x) in digest.iter_mut().zip(h) {
        *d ^= x;
    }
}

/// Redis's mixDigest: digest = sha1(digest ^ sha1(data)); order-dependent.
pub fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(digest);
}
