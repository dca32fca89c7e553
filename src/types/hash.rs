//! The hash type (Redis's t_hash.c type API): its encodings and the
//! operations the hash commands use. (Scaffolding: filled in with issue #3.)

/// A hash value stored in the keyspace.
#[derive(Clone, Default)]
pub struct HashValue {}

impl HashValue {
    /// OBJECT ENCODING's answer for this value.
    pub fn encoding_name(&self) -> &'static str {
        "listpack"
    }

    /// Approximate heap bytes owned (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        0
    }

    /// Mixes this value into a DEBUG DIGEST the way Redis's
    /// xorObjectDigest does for this type (see commands::debug).
    pub fn digest(&self, _digest: &mut [u8; 20]) {}

    /// Number of elements.
    pub fn len(&self) -> usize {
        0
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
