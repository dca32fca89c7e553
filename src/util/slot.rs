//! Hash slots: a key's slot is CRC16 (XMODEM: poly 0x1021, init 0, no
//! reflection) of the key, or of its hash tag, modulo 16384 (cluster.c
//! keyHashSlot, crc16.c). The hash tag is what lies between the first `{`
//! and the first `}` after it, when that is not empty; otherwise (no `{`,
//! no `}` after it, or `{}`) the whole key is hashed.

/// Number of hash slots (CLUSTER_SLOTS).
pub const CLUSTER_SLOTS: usize = 16384;

/// CRC16/XMODEM's table, built at compile time.
const CRC16_TABLE: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        t[i] = crc;
        i += 1;
    }
    t
};

/// CRC16/XMODEM of `data` (check value: "123456789" → 0x31C3).
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[(((crc >> 8) as u8) ^ b) as usize]
    })
}

/// The part of `key` that is hashed: its hash tag if it has a non-empty
/// one, else the whole key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(s) = key.iter().position(|&c| c == b'{') else {
        return key;
    };
    match key[s + 1..].iter().position(|&c| c == b'}') {
        Some(len) if len > 0 => &key[s + 1..s + 1 + len],
        _ => key,
    }
}

/// The hash slot of `key` (0..16384).
pub fn key_hash_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) & 0x3FFF
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc16_check_value() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(crc16(b""), 0);
    }

    #[test]
    fn known_slots() {
        // Values from a real redis-server 7.0.15 (CLUSTER KEYSLOT).
        for (key, slot) in [
            (&b"foo"[..], 12182),
            (b"bar", 5061),
            (b"hello", 866),
            (b"{user1000}.following", 3443),
            (b"{user1000}.followers", 3443),
            (b"user1000", 3443),
            (b"foo{}{bar}", 8363),
            (b"foo{{bar}}zap", 4015),
            (b"foo{bar}{zap}", 5061),
            (b"{}", 15257),
            (b"{", 4092),
            (b"}", 12090),
            (b"a{b", 13340),
            (b"", 0),
        ] {
            assert_eq!(key_hash_slot(key), slot, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn tags() {
        assert_eq!(hash_tag(b"foo{bar}baz"), b"bar");
        assert_eq!(hash_tag(b"foo{}bar"), b"foo{}bar");
        assert_eq!(hash_tag(b"foo{bar"), b"foo{bar");
        assert_eq!(hash_tag(b"foo}bar{"), b"foo}bar{");
        assert_eq!(hash_tag(b"{{bar}}"), b"{bar");
        assert_eq!(hash_tag(b"{a}{b}"), b"a");
        assert_eq!(hash_tag(b"x{}{y}"), b"x{}{y}");
    }

    proptest! {
        /// The table-driven CRC equals the crc crate's CRC-16/XMODEM.
        #[test]
        fn crc16_is_xmodem(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let reference = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);
            prop_assert_eq!(crc16(&data), reference.checksum(&data));
        }

        /// Keys sharing a non-empty tag share a slot, whatever surrounds it
        /// (as long as the prefix has no `{`).
        #[test]
        fn tagged_keys_share_the_slot(
            prefix in "[^{]{0,8}",
            tag in "[^}]{1,8}",
            suffix in ".{0,8}",
        ) {
            let key = format!("{prefix}{{{tag}}}{suffix}");
            prop_assert_eq!(key_hash_slot(key.as_bytes()), key_hash_slot(tag.as_bytes()));
        }

        /// Keys without a `{` hash whole; an empty or unclosed tag hashes
        /// the whole key too.
        #[test]
        fn untagged_keys_hash_whole(key in proptest::collection::vec(any::<u8>(), 0..64)) {
            let slot = key_hash_slot(&key);
            prop_assert!((slot as usize) < CLUSTER_SLOTS);
            let whole = crc16(&key) & 0x3FFF;
            match key.iter().position(|&c| c == b'{') {
                None => prop_assert_eq!(slot, whole),
                Some(s) => {
                    let close = key[s + 1..].iter().position(|&c| c == b'}');
                    if close.is_none_or(|l| l == 0) {
                        prop_assert_eq!(slot, whole);
                    }
                }
            }
        }
    }
}
