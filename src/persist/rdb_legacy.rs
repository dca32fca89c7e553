//! The pre-7.0 compact encodings RDB files may still contain: ziplists
//! (ziplist.c; lists, hashes and sorted sets before 7.0) and zipmaps
//! (zipmap.c; hashes before 2.6). Redis 7.0 converts both to listpacks on
//! load; these decoders validate every length against the blob and return
//! None for anything malformed.

use crate::ds::listpack::Listpack;

/// One decoded ziplist entry.
enum ZlEntry {
    Str(Vec<u8>),
    Int(i64),
}

fn le_u32(b: &[u8], p: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(p..p + 4)?.try_into().ok()?))
}

/// Decodes a ziplist (`zlbytes zltail zllen entries... 0xFF`).
fn ziplist_decode(b: &[u8]) -> Option<Vec<ZlEntry>> {
    const HEADER: usize = 10;
    if b.len() < HEADER + 1 || le_u32(b, 0)? as usize != b.len() {
        return None;
    }
    if *b.last()? != 0xff {
        return None;
    }
    // ziplistValidateIntegrity: zltail inside the blob and at the last
    // entry, zllen (unless saturated) equal to the entry count.
    let tail = le_u32(b, 4)? as usize;
    if tail > b.len() - 1 {
        return None;
    }
    let header_count = u16::from_le_bytes([b[8], b[9]]);
    let mut last_start = None;
    let mut p = HEADER;
    let end = b.len() - 1;
    let mut out = Vec::new();
    let mut prev_len = 0usize;
    while p < end {
        let start = p;
        // prevlen
        let first = *b.get(p)?;
        let prevlen = if first < 254 {
            p += 1;
            first as usize
        } else if first == 254 {
            let v = le_u32(b, p + 1)? as usize;
            p += 5;
            v
        } else {
            return None;
        };
        if prevlen != prev_len {
            return None;
        }
        let enc = *b.get(p)?;
        p += 1;
        let entry = match enc >> 6 {
            0 => {
                let n = (enc & 0x3f) as usize;
                let s = b.get(p..p.checked_add(n)?)?;
                p += n;
                ZlEntry::Str(s.to_vec())
            }
            1 => {
                let n = (((enc & 0x3f) as usize) << 8) | *b.get(p)? as usize;
                p += 1;
                let s = b.get(p..p.checked_add(n)?)?;
                p += n;
                ZlEntry::Str(s.to_vec())
            }
            2 => {
                if enc != 0x80 {
                    return None;
                }
                let n = u32::from_be_bytes(b.get(p..p + 4)?.try_into().ok()?) as usize;
                p += 4;
                let s = b.get(p..p.checked_add(n)?)?;
                p += n;
                ZlEntry::Str(s.to_vec())
            }
            _ => match enc {
                0xc0 => {
                    let v = i16::from_le_bytes(b.get(p..p + 2)?.try_into().ok()?);
                    p += 2;
                    ZlEntry::Int(v as i64)
                }
                0xd0 => {
                    let v = i32::from_le_bytes(b.get(p..p + 4)?.try_into().ok()?);
                    p += 4;
                    ZlEntry::Int(v as i64)
                }
                0xe0 => {
                    let v = i64::from_le_bytes(b.get(p..p + 8)?.try_into().ok()?);
                    p += 8;
                    ZlEntry::Int(v)
                }
                0xf0 => {
                    let s = b.get(p..p + 3)?;
                    let v = i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8;
                    p += 3;
                    ZlEntry::Int(v as i64)
                }
                0xfe => {
                    let v = *b.get(p)? as i8;
                    p += 1;
                    ZlEntry::Int(v as i64)
                }
                0xf1..=0xfd => ZlEntry::Int((enc & 0x0f) as i64 - 1),
                _ => return None,
            },
        };
        if p > end {
            return None;
        }
        prev_len = p - start;
        last_start = Some(start);
        out.push(entry);
    }
    if last_start.is_some_and(|l| l != tail) {
        return None;
    }
    if header_count != u16::MAX && header_count as usize != out.len() {
        return None;
    }
    Some(out)
}

/// The entries of a ziplist as strings (integers formatted).
pub fn ziplist_entries(b: &[u8]) -> Option<Vec<Vec<u8>>> {
    Some(
        ziplist_decode(b)?
            .into_iter()
            .map(|e| match e {
                ZlEntry::Str(s) => s,
                ZlEntry::Int(v) => {
                    let mut tmp = [0u8; 20];
                    crate::util::num::format_i64(v, &mut tmp).to_vec()
                }
            })
            .collect(),
    )
}

/// A ziplist converted to a listpack with the same entries.
pub fn ziplist_to_listpack(b: &[u8]) -> Option<Listpack> {
    let mut lp = Listpack::new();
    for e in ziplist_decode(b)? {
        match e {
            ZlEntry::Str(s) => lp.append(&s),
            ZlEntry::Int(v) => lp.append_int(v),
        };
    }
    Some(lp)
}

/// Reads a zipmap length: < 254 in one byte, 254 + u32 LE.
fn zipmap_len(b: &[u8], p: &mut usize) -> Option<usize> {
    let first = *b.get(*p)?;
    *p += 1;
    match first {
        0..=253 => Some(first as usize),
        254 => {
            let v = le_u32(b, *p)? as usize;
            *p += 4;
            // zipmapValidateIntegrity: a small length must use one byte.
            (v >= 254).then_some(v)
        }
        _ => None,
    }
}

/// The field/value pairs of a zipmap (`zmlen (len key len free value
/// [free bytes])* 0xFF`).
pub fn zipmap_pairs(b: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut p = 1usize;
    b.first()?;
    let mut out = Vec::new();
    loop {
        if *b.get(p)? == 0xff {
            p += 1;
            break;
        }
        let klen = zipmap_len(b, &mut p)?;
        let k = b.get(p..p.checked_add(klen)?)?.to_vec();
        p += klen;
        let vlen = zipmap_len(b, &mut p)?;
        let free = *b.get(p)? as usize;
        p += 1;
        let v = b.get(p..p.checked_add(vlen)?)?.to_vec();
        p += vlen + free;
        out.push((k, v));
    }
    // zipmapValidateIntegrity: not empty, and the count byte (unless
    // saturated at 254) matches.
    let count = b[0];
    if p != b.len() || out.is_empty() || (count != 254 && count as usize != out.len()) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a ziplist from entries (strings, or ints when `Ok`).
    fn zl(entries: &[Result<i64, &[u8]>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10;
        for e in entries {
            let start = body.len();
            tail = 10 + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(254);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match e {
                Ok(v) if (0..=12).contains(v) => body.push(0xf1 + *v as u8),
                Ok(v) => {
                    body.push(0xe0);
                    body.extend_from_slice(&v.to_le_bytes());
                }
                Err(s) => {
                    body.push(s.len() as u8);
                    body.extend_from_slice(s);
                }
            }
            prev = body.len() - start;
        }
        let mut out = Vec::new();
        out.extend_from_slice(&((body.len() + 11) as u32).to_le_bytes());
        out.extend_from_slice(&(tail as u32).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xff);
        out
    }

    #[test]
    fn ziplist_roundtrip() {
        let b = zl(&[Err(b"hello"), Ok(7), Ok(-123456789012), Err(b"")]);
        let e = ziplist_entries(&b).unwrap();
        assert_eq!(
            e,
            vec![
                b"hello".to_vec(),
                b"7".to_vec(),
                b"-123456789012".to_vec(),
                vec![]
            ]
        );
        assert_eq!(ziplist_to_listpack(&b).unwrap().len(), 4);
        for n in 0..b.len() {
            let _ = ziplist_entries(&b[..n]);
        }
    }

    #[test]
    fn zipmap_decode() {
        // zmlen=2, "a"->"1" (free 0), "bb"->"xyz" (free 2, junk)
        let b = [
            2u8, 1, b'a', 1, 0, b'1', 2, b'b', b'b', 3, 2, b'x', b'y', b'z', 0, 0, 0xff,
        ];
        let p = zipmap_pairs(&b).unwrap();
        assert_eq!(
            p,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"bb".to_vec(), b"xyz".to_vec())
            ]
        );
        for n in 0..b.len() {
            assert!(zipmap_pairs(&b[..n]).is_none());
        }
    }
}
