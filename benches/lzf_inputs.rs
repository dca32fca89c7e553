//! The inputs LZF is timed on, one set per kind of string RDB files
//! compress: shared by `benches/lzf.rs` and the `lzf_speed` test in
//! `src/persist/lzf_tests.rs` (included there by path), so both time the
//! same bytes. The text and listpack inputs mirror the `large`, `hash`
//! and `list` shapes of `benches/compare.sh --save`.
//!
//! Each set holds several different strings of its kind, timed as one
//! pass over all of them: compressing the same string over and over lets
//! the branch predictor learn its matches (it learns even 32 different
//! 1 KB texts), which datasets of different values do not allow; the text
//! sets are large enough (256 KB and 320 KB) that it cannot.

/// Name and strings of each input set.
pub fn inputs() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // DEBUG POPULATE's values: "value:N" padded with zeros.
    let populate = (0..64)
        .map(|_| {
            let mut v = format!("value:{}", rnd() % 1_000_000).into_bytes();
            v.resize(100, 0);
            v
        })
        .collect();
    // No match at all: the output budget check fails.
    let random = (0..64)
        .map(|_| (0..100).map(|_| rnd() as u8).collect())
        .collect();
    // Text with short matches: a few short words in random order.
    let words = [
        "redis ",
        "ferrokv ",
        "snapshot ",
        "key:",
        "value ",
        "1234 ",
        "\n",
    ];
    let text = (0..256).map(|_| text_of(&words, 1024, &mut rnd)).collect();
    // compare.sh's `large` values: 10 KB of eight words in random order.
    let words = [
        "redis ",
        "ferrokv ",
        "snapshot ",
        "value ",
        "key:1234 ",
        "the ",
        "of ",
        "42 ",
    ];
    let text10k = (0..32).map(|_| text_of(&words, 10240, &mut rnd)).collect();
    // compare.sh's `hash` values: listpacks of 100 fields field:j value:j
    // (there all alike; here the values vary).
    let hash = (1..=16)
        .map(|k| {
            listpack((0..100).flat_map(|j| [format!("field:{j}"), format!("value:{}", j * k)]))
        })
        .collect();
    // compare.sh's `list` values: quicklist nodes of element:j, 8 KB each
    // (list-max-listpack-size -2).
    let mut list = Vec::new();
    let mut j = 0;
    while list.len() < 16 {
        let mut elements = Vec::new();
        let mut size = 7;
        loop {
            let e = format!("element:{j}");
            size += e.len() + 2;
            if size > 8192 {
                break;
            }
            elements.push(e);
            j += 1;
        }
        list.push(listpack(elements.into_iter()));
    }
    // Large listpack-like blobs with varied numbers.
    let mut i = 0u64;
    let blob = (0..4)
        .map(|_| {
            let mut blob = Vec::new();
            while blob.len() < 65536 {
                blob.extend_from_slice(
                    format!("\x0cfield:{i}\x07value:{}", rnd() % 1000).as_bytes(),
                );
                i += 1;
            }
            blob.truncate(65536);
            blob
        })
        .collect();
    vec![
        ("populate_100", populate),
        ("random_100", random),
        ("text_1k", text),
        ("text_10k", text10k),
        ("hash_listpack", hash),
        ("list_node_8k", list),
        ("blob_64k", blob),
    ]
}

/// `len` bytes of `words` in random order.
fn text_of(words: &[&str], len: usize, rnd: &mut impl FnMut() -> u64) -> Vec<u8> {
    let mut t = Vec::with_capacity(len + 16);
    while t.len() < len {
        t.extend_from_slice(words[rnd() as usize % words.len()].as_bytes());
    }
    t.truncate(len);
    t
}

/// A listpack of short strings (under 64 bytes, none an integer): the
/// 6-byte header, per entry 0x80|len, the bytes and the one-byte backlen,
/// then 0xff.
fn listpack(items: impl Iterator<Item = String>) -> Vec<u8> {
    let mut lp = vec![0u8; 6];
    let mut n = 0u16;
    for s in items {
        assert!(s.len() < 64);
        lp.push(0x80 | s.len() as u8);
        lp.extend_from_slice(s.as_bytes());
        lp.push(1 + s.len() as u8);
        n += 1;
    }
    lp.push(0xff);
    let total = lp.len() as u32;
    lp[..4].copy_from_slice(&total.to_le_bytes());
    lp[4..6].copy_from_slice(&n.to_le_bytes());
    lp
}
