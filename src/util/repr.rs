//! `sdscatrepr`: quotes a binary string the way Redis prints it in MONITOR,
//! CLIENT LIST and redis-cli (`"a\x00b\n"`).

pub fn quote_into(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b),
            b => out.extend_from_slice(format!("\\x{:02x}", b).as_bytes()),
        }
    }
    out.push(b'"');
}

pub fn quote(s: &[u8]) -> String {
    let mut v = Vec::with_capacity(s.len() + 2);
    quote_into(s, &mut v);
    String::from_utf8_lossy(&v).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn repr() {
        assert_eq!(super::quote(b"a\x00b\n\""), "\"a\\x00b\\n\\\"\"");
    }
}
