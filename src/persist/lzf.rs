//! LZF compression as Redis uses it for RDB strings (liblzf 3.6 with
//! `lzfP.h` settings HLOG 16, VERY_FAST, not ULTRA_FAST). The reference
//! build (Debian's redis-server 7.0.15) links the system liblzf 3.6, which
//! lacks the `ip + 4 < in_end` match guard of Redis's bundled copy, so a
//! 3-byte match may end the input; we follow liblzf (checked against DUMP
//! replies of that server).
//!
//! Implemented here rather than taken from a crate: no LZF crate is known
//! to reproduce liblzf's exact output (same hash, same match choices), and
//! byte-identical output is what makes our DUMP payloads and RDB files equal
//! to Redis's. The format is liblzf's:
//!
//! ```text
//! 000LLLLL <L+1 bytes>          literal run of L+1 bytes
//! LLLooooo oooooooo             back reference: length L+2, offset o+1
//! 111ooooo LLLLLLLL oooooooo    back reference: length L+9, offset o+1
//! ```
//!
//! The compressor starts from an empty hash table (Redis's leaves it
//! uninitialised on the stack; a stale slot can only ever produce a valid
//! match, and in practice never does across calls), so output matches
//! Redis's for the same input.

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

#[inline]
fn frst(p: &[u8], i: usize) -> u32 {
    ((p[i] as u32) << 8) | p[i + 1] as u32
}

#[inline]
fn next(v: u32, p: &[u8], i: usize) -> u32 {
    (v << 8) | p[i + 2] as u32
}

#[inline]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// `lzf_compress(input, len, out, out_len)`: returns the compressed bytes,
/// or None when they would not fit in `out_len` bytes (or input is empty).
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_len = input.len();
    if in_len == 0 || out_len == 0 {
        return None;
    }
    // Slot values are positions + 1 (0 = empty).
    let mut htab = vec![0u32; HSIZE];
    let mut out: Vec<u8> = Vec::with_capacity(out_len + 4);
    let mut ip = 0usize;
    let mut lit: usize = 0;
    // `op` is out.len(); the run header byte is reserved by pushing 0.
    out.push(0);
    if in_len < 3 {
        // The main loop does not run; fall through to the literal tail.
    } else {
        let mut hval = frst(input, ip);
        while ip < in_len - 2 {
            hval = next(hval, input, ip);
            let slot = idx(hval);
            let r = htab[slot];
            htab[slot] = ip as u32 + 1;
            let matched = if r > 1 {
                let rf = (r - 1) as usize;
                let off = ip - rf - 1;
                off < MAX_OFF
                    && input[rf] == input[ip]
                    && input[rf + 1] == input[ip + 1]
                    && input[rf + 2] == input[ip + 2]
            } else {
                false
            };
            if matched {
                let rf = (r - 1) as usize;
                let off = ip - rf - 1;
                let mut len = 2usize;
                let maxlen = (in_len - ip - len).min(MAX_REF);
                // stop run
                let hdr = out.len() - lit - 1;
                out[hdr] = (lit as u8).wrapping_sub(1);
                if lit == 0 {
                    out.pop();
                }
                if out.len() + 3 + 1 >= out_len {
                    return None;
                }
                // liblzf checks 16 bytes unrolled (without the maxlen
                // test) before the bounded loop; keep its exact lengths.
                let mut stopped = false;
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if input[rf + len] != input[ip + len] {
                            stopped = true;
                            break;
                        }
                    }
                }
                if !stopped {
                    loop {
                        len += 1;
                        if !(len < maxlen && input[rf + len] == input[ip + len]) {
                            break;
                        }
                    }
                }
                len -= 2;
                ip += 1;
                if len < 7 {
                    out.push(((off >> 8) + (len << 5)) as u8);
                } else {
                    out.push(((off >> 8) + (7 << 5)) as u8);
                    out.push((len - 7) as u8);
                }
                out.push(off as u8);
                lit = 0;
                out.push(0);
                ip += len + 1;
                if ip >= in_len - 2 {
                    break;
                }
                ip -= 2;
                hval = frst(input, ip);
                hval = next(hval, input, ip);
                htab[idx(hval)] = ip as u32 + 1;
                ip += 1;
                hval = next(hval, input, ip);
                htab[idx(hval)] = ip as u32 + 1;
                ip += 1;
            } else {
                if out.len() >= out_len {
                    return None;
                }
                lit += 1;
                out.push(input[ip]);
                ip += 1;
                if lit == MAX_LIT {
                    let hdr = out.len() - lit - 1;
                    out[hdr] = (lit - 1) as u8;
                    lit = 0;
                    out.push(0);
                }
            }
        }
    }
    if out.len() + 3 > out_len {
        return None;
    }
    while ip < in_len {
        lit += 1;
        out.push(input[ip]);
        ip += 1;
        if lit == MAX_LIT {
            let hdr = out.len() - lit - 1;
            out[hdr] = (lit - 1) as u8;
            lit = 0;
            out.push(0);
        }
    }
    let hdr = out.len() - lit - 1;
    out[hdr] = (lit as u8).wrapping_sub(1);
    if lit == 0 {
        out.pop();
    }
    Some(out)
}

/// `lzf_decompress`: expands `input` into exactly `out_len` bytes, or None
/// for corrupt input (a reference before the start, overruns, or a length
/// other than `out_len`).
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len.min(1 << 20));
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            if out.len() + n > out_len {
                return None;
            }
            let lit = input.get(ip..ip + n)?;
            out.extend_from_slice(lit);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip)? as usize;
                ip += 1;
            }
            let lo = *input.get(ip)? as usize;
            ip += 1;
            let back = ((ctrl & 0x1f) << 8) + lo + 1;
            len += 2;
            if out.len() + len > out_len || back > out.len() {
                return None;
            }
            let start = out.len() - back;
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_various() {
        let inputs: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello hello hello hello hello world world world".to_vec(),
            (0..5000u32).map(|i| (i % 251) as u8).collect(),
            (0..3000u32).map(|i| (i * 7 % 13) as u8).collect(),
            b"abcdefghijklmnopqrstuvwxyz0123456789".repeat(40),
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
    fn corrupt_input_never_panics() {
        for n in 0..200u32 {
            let v: Vec<u8> = (0..n).map(|i| (i * 37 + n) as u8).collect();
            let _ = decompress(&v, n as usize * 2);
        }
        assert!(decompress(&[0x20, 0x00], 10).is_none());
    }
}
