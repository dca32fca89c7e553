//! `ReplyBuf`: encodes replies straight into a client's output buffer in
//! RESP2 or RESP3, as Redis's addReply* family does. No per-reply allocation.

use crate::error::CmdError;
use crate::util::num;

/// The client's pending output plus the protocol version it speaks.
#[derive(Default)]
pub struct ReplyBuf {
    pub buf: Vec<u8>,
    /// 2 or 3 (HELLO).
    pub resp: u8,
}

/// A reserved spot for an aggregate header whose length is known later.
pub struct Deferred(usize);

impl ReplyBuf {
    pub fn new() -> ReplyBuf {
        ReplyBuf {
            buf: Vec::new(),
            resp: 2,
        }
    }

    #[inline]
    pub fn resp3(&self) -> bool {
        self.resp >= 3
    }

    #[inline]
    fn len_line(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        num::write_i64(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// `+text` status reply. `s` must not contain CR or LF.
    #[inline]
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn simple_bytes(&mut self, s: &[u8]) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn error(&mut self, e: &CmdError) {
        self.error_str(&e.message());
    }

    pub fn error_str(&mut self, msg: &str) {
        self.buf.push(b'-');
        self.buf.extend_from_slice(msg.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, n: i64) {
        self.len_line(b':', n);
    }

    #[inline]
    pub fn bulk(&mut self, b: &[u8]) {
        self.len_line(b'$', b.len() as i64);
        self.buf.extend_from_slice(b);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes())
    }

    pub fn bulk_i64(&mut self, n: i64) {
        let mut tmp = [0u8; 20];
        let b = num::format_i64(n, &mut tmp);
        self.bulk(b)
    }

    /// Null bulk string: `$-1` (RESP2) or `_` (RESP3).
    #[inline]
    pub fn null(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// Null array: `*-1` (RESP2) or `_` (RESP3).
    pub fn null_array(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    #[inline]
    pub fn array(&mut self, n: usize) {
        self.len_line(b'*', n as i64);
    }

    /// A map of `n` pairs: `%n` in RESP3, a flat array of 2n in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3() {
            self.len_line(b'%', n as i64);
        } else {
            self.len_line(b'*', 2 * n as i64);
        }
    }

    /// A set: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        if self.resp3() {
            self.len_line(b'~', n as i64);
        } else {
            self.len_line(b'*', n as i64);
        }
    }

    /// An out-of-band push: `>n` in RESP3, an array in RESP2.
    pub fn push(&mut self, n: usize) {
        if self.resp3() {
            self.len_line(b'>', n as i64);
        } else {
            self.len_line(b'*', n as i64);
        }
    }

    /// Attribute-less double: `,v` in RESP3, a bulk string in RESP2.
    pub fn double(&mut self, v: f64) {
        if self.resp3() {
            self.buf.push(b',');
            num::format_double(v, &mut self.buf);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            let mut tmp = Vec::with_capacity(32);
            num::format_double(v, &mut tmp);
            self.bulk(&tmp);
        }
    }

    pub fn boolean(&mut self, b: bool) {
        if self.resp3() {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// Verbatim string (`=len\r\ntxt:...`) in RESP3; bulk in RESP2.
    pub fn verbatim(&mut self, text: &[u8], format: &str) {
        if self.resp3() {
            self.len_line(b'=', (text.len() + 4) as i64);
            self.buf.extend_from_slice(format.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Big number: `(` in RESP3; bulk string in RESP2.
    pub fn big_number(&mut self, digits: &[u8]) {
        if self.resp3() {
            self.buf.push(b'(');
            self.buf.extend_from_slice(digits);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits);
        }
    }

    /// Reserves a spot for an aggregate header written by `set_*`.
    pub fn defer(&mut self) -> Deferred {
        Deferred(self.buf.len())
    }

    fn insert_header(&mut self, d: Deferred, prefix: u8, n: usize) {
        let mut hdr = Vec::with_capacity(16);
        hdr.push(prefix);
        num::write_i64(&mut hdr, n as i64);
        hdr.extend_from_slice(b"\r\n");
        let at = d.0.min(self.buf.len());
        self.buf.splice(at..at, hdr);
    }

    pub fn set_array(&mut self, d: Deferred, n: usize) {
        self.insert_header(d, b'*', n)
    }

    pub fn set_map(&mut self, d: Deferred, n: usize) {
        if self.resp3() {
            self.insert_header(d, b'%', n)
        } else {
            self.insert_header(d, b'*', 2 * n)
        }
    }

    pub fn set_set(&mut self, d: Deferred, n: usize) {
        if self.resp3() {
            self.insert_header(d, b'~', n)
        } else {
            self.insert_header(d, b'*', n)
        }
    }

    pub fn empty_array(&mut self) {
        self.buf.extend_from_slice(b"*0\r\n");
    }

    /// Appends already-encoded protocol bytes.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}
