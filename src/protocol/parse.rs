//! Request parsing: RESP multibulk and inline commands, as Redis's
//! processMultibulkBuffer / processInlineBuffer do.
//!
//! The parser is incremental: a command split across many reads keeps its
//! progress in `ParseState`, so a huge multibulk is scanned once. Arguments
//! are byte ranges into the query buffer (no copy, no per-argument
//! allocation); inline commands, whose arguments may be unquoted, are
//! copied into a scratch buffer instead.

use crate::error::{self, CmdError};
use crate::util::num;

/// Redis's PROTO_INLINE_MAX_SIZE: the longest inline request or count line.
pub const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Redis's PROTO_MBULK_BIG_ARG: bulk arguments this large get an exact-size
/// buffer reservation.
pub const MBULK_BIG_ARG: usize = 32 * 1024;

/// Limits the parser enforces.
#[derive(Clone, Copy)]
pub struct ParseLimits {
    pub proto_max_bulk_len: i64,
    /// Unauthenticated clients may only send small requests.
    pub authenticated: bool,
}

/// Where the parsed arguments live.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ArgSource {
    /// Ranges index the query buffer.
    Query,
    /// Ranges index the inline scratch buffer.
    Inline,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A full command; `next` is the buffer offset after it. An empty
    /// argument list (blank inline line, `*0`) is still `Command` with no
    /// ranges: the caller skips it.
    Command {
        next: usize,
        source: ArgSource,
    },
    /// More bytes are needed; `need` is a hint of how many (0 = unknown).
    Incomplete {
        need: usize,
    },
    Error(CmdError),
}

/// Progress through a multibulk request that has not fully arrived.
#[derive(Default, Debug, Clone)]
pub struct ParseState {
    /// Arguments still to read; 0 when no multibulk is in progress.
    remaining: usize,
    /// Offset where the next unread part of the command starts.
    pos: usize,
    /// Length of the bulk whose `$len` line was read, if any.
    bulk_len: Option<usize>,
    in_multibulk: bool,
}

impl ParseState {
    /// Called when the query buffer drops `n` bytes from its front.
    pub fn shift(&mut self, n: usize, ranges: &mut [(usize, usize)]) {
        self.pos -= n;
        for r in ranges.iter_mut() {
            r.0 -= n;
        }
    }

    pub fn in_progress(&self) -> bool {
        self.in_multibulk
    }

    /// A big bulk argument (at least [`MBULK_BIG_ARG`] bytes) is being
    /// received: where its payload starts and where it ends (after its
    /// CRLF) in the query buffer. Redis allocates such an argument whole
    /// when its header arrives, and shows only its bytes as `qbuf`.
    pub fn big_bulk(&self) -> Option<(usize, usize)> {
        match self.bulk_len {
            Some(l) if self.in_multibulk && l >= MBULK_BIG_ARG => {
                Some((self.pos, self.pos.saturating_add(l).saturating_add(2)))
            }
            _ => None,
        }
    }
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    // Redis looks for '\r' and assumes '\n' follows.
    buf[from..]
        .iter()
        .position(|&b| b == b'\r')
        .map(|p| from + p)
}

/// Parses at most one command starting at `start` in `buf`.
///
/// `ranges` receives `(offset, len)` pairs; it is cleared when a new
/// command begins and kept across `Incomplete` returns.
pub fn parse_command(
    buf: &[u8],
    start: usize,
    state: &mut ParseState,
    ranges: &mut Vec<(usize, usize)>,
    scratch: &mut Vec<u8>,
    limits: ParseLimits,
) -> Parsed {
    if !state.in_multibulk {
        ranges.clear();
        if start >= buf.len() {
            return Parsed::Incomplete { need: 0 };
        }
        if buf[start] != b'*' {
            return parse_inline(buf, start, ranges, scratch);
        }
        // "*<count>\r\n"
        let Some(cr) = find_crlf(buf, start) else {
            if buf.len() - start > INLINE_MAX_SIZE {
                return Parsed::Error(CmdError::Static(error::PROTOCOL_TOO_BIG_MBULK));
            }
            return Parsed::Incomplete { need: 0 };
        };
        if cr + 1 >= buf.len() {
            return Parsed::Incomplete { need: 0 };
        }
        if cr - start > INLINE_MAX_SIZE {
            return Parsed::Error(CmdError::Static(error::PROTOCOL_TOO_BIG_MBULK));
        }
        let count = match num::parse_i64(&buf[start + 1..cr]) {
            Some(n) if n <= i32::MAX as i64 => n,
            _ => return Parsed::Error(CmdError::Static(error::PROTOCOL_INVALID_MULTIBULK_LEN)),
        };
        if !limits.authenticated && count > 10 {
            return Parsed::Error(CmdError::Static(
                "ERR Protocol error: unauthenticated multibulk length",
            ));
        }
        if count <= 0 {
            return Parsed::Command {
                next: cr + 2,
                source: ArgSource::Query,
            };
        }
        state.in_multibulk = true;
        state.remaining = count as usize;
        state.pos = cr + 2;
        state.bulk_len = None;
        ranges.reserve(count.min(1024) as usize);
    }

    while state.remaining > 0 {
        let len = match state.bulk_len {
            Some(l) => l,
            None => {
                let p = state.pos;
                if p >= buf.len() {
                    return Parsed::Incomplete { need: 0 };
                }
                let Some(cr) = find_crlf(buf, p) else {
                    if buf.len() - p > INLINE_MAX_SIZE {
                        return Parsed::Error(CmdError::Static(error::PROTOCOL_TOO_BIG_BULK));
                    }
                    return Parsed::Incomplete { need: 0 };
                };
                if cr + 1 >= buf.len() {
                    return Parsed::Incomplete { need: 0 };
                }
                if cr - p > INLINE_MAX_SIZE {
                    return Parsed::Error(CmdError::Static(error::PROTOCOL_TOO_BIG_BULK));
                }
                if buf[p] != b'$' {
                    return Parsed::Error(error::protocol_expected('$', buf[p]));
                }
                let l = match num::parse_i64(&buf[p + 1..cr]) {
                    Some(l) if l >= 0 && l <= limits.proto_max_bulk_len => l as usize,
                    _ => return Parsed::Error(CmdError::Static(error::PROTOCOL_INVALID_BULK_LEN)),
                };
                if !limits.authenticated && l > 16384 {
                    return Parsed::Error(CmdError::Static(
                        "ERR Protocol error: unauthenticated bulk length",
                    ));
                }
                state.pos = cr + 2;
                state.bulk_len = Some(l);
                l
            }
        };
        // Redis skips the two bytes after the payload without checking them.
        if buf.len() - state.pos < len + 2 {
            return Parsed::Incomplete {
                need: len + 2 - (buf.len() - state.pos),
            };
        }
        ranges.push((state.pos, len));
        state.pos += len + 2;
        state.bulk_len = None;
        state.remaining -= 1;
    }
    state.in_multibulk = false;
    Parsed::Command {
        next: state.pos,
        source: ArgSource::Query,
    }
}

fn parse_inline(
    buf: &[u8],
    start: usize,
    ranges: &mut Vec<(usize, usize)>,
    scratch: &mut Vec<u8>,
) -> Parsed {
    // Redis looks for the newline with strchr(): a NUL before it hides it,
    // so such a line waits for more input until it is too big.
    let Some(nl) = buf[start..]
        .iter()
        .position(|&b| b == b'\n' || b == 0)
        .map(|p| start + p)
        .filter(|&p| buf[p] == b'\n')
    else {
        if buf.len() - start > INLINE_MAX_SIZE {
            return Parsed::Error(CmdError::Static(error::PROTOCOL_TOO_BIG_INLINE));
        }
        return Parsed::Incomplete { need: 0 };
    };
    let mut line_end = nl;
    if line_end > start && buf[line_end - 1] == b'\r' {
        line_end -= 1;
    }
    scratch.clear();
    if !split_args(&buf[start..line_end], scratch, ranges) {
        return Parsed::Error(CmdError::Static(error::PROTOCOL_UNBALANCED_QUOTES));
    }
    Parsed::Command {
        next: nl + 1,
        source: ArgSource::Inline,
    }
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// C's isspace() in the C locale (Rust's is_ascii_whitespace lacks \v).
fn c_isspace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Redis's `sdssplitargs`: whitespace-separated words, "double quotes"
/// with escapes (\n \r \t \b \a \\ \" \xHH), 'single quotes' with only \'.
/// A closing quote must be followed by whitespace or the end. Returns false
/// on unbalanced quotes. Like the C original it sees a C string: a NUL byte
/// ends the line.
pub fn split_args(line: &[u8], out: &mut Vec<u8>, ranges: &mut Vec<(usize, usize)>) -> bool {
    let line = &line[..line.iter().position(|&b| b == 0).unwrap_or(line.len())];
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && c_isspace(line[i]) {
            i += 1;
        }
        if i >= n {
            return true;
        }
        let begin = out.len();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= n {
                    return false;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && is_hex(line[i + 2])
                    && is_hex(line[i + 3])
                {
                    out.push(hex_val(line[i + 2]) * 16 + hex_val(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    out.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !c_isspace(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else if insq {
                if i >= n {
                    return false;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !c_isspace(line[i + 1]) {
                        return false;
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => out.push(c),
                }
            }
            i += 1;
        }
        ranges.push((begin, out.len() - begin));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIM: ParseLimits = ParseLimits {
        proto_max_bulk_len: 512 * 1024 * 1024,
        authenticated: true,
    };

    fn args_of(
        buf: &[u8],
        src: ArgSource,
        ranges: &[(usize, usize)],
        scratch: &[u8],
    ) -> Vec<Vec<u8>> {
        let b = if src == ArgSource::Query {
            buf
        } else {
            scratch
        };
        ranges.iter().map(|&(o, l)| b[o..o + l].to_vec()).collect()
    }

    fn parse_all(buf: &[u8]) -> (Vec<Vec<Vec<u8>>>, Option<CmdError>) {
        let mut st = ParseState::default();
        let mut r = Vec::new();
        let mut s = Vec::new();
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            match parse_command(buf, pos, &mut st, &mut r, &mut s, LIM) {
                Parsed::Command { next, source } => {
                    out.push(args_of(buf, source, &r, &s));
                    pos = next;
                }
                Parsed::Incomplete { .. } => return (out, None),
                Parsed::Error(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn multibulk_and_inline() {
        let (cmds, err) = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nset a \"b c\"\r\n");
        assert!(err.is_none());
        assert_eq!(cmds[0], vec![b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(cmds[1], vec![b"PING".to_vec()]);
        assert_eq!(
            cmds[2],
            vec![b"set".to_vec(), b"a".to_vec(), b"b c".to_vec()]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_all(b"*1\r\n+x\r\n").1.unwrap().message(),
            "ERR Protocol error: expected '$', got '+'"
        );
        assert_eq!(
            parse_all(b"*a\r\n").1.unwrap().message(),
            "ERR Protocol error: invalid multibulk length"
        );
        assert_eq!(
            parse_all(b"*1\r\n$-5\r\n").1.unwrap().message(),
            "ERR Protocol error: invalid bulk length"
        );
        assert_eq!(
            parse_all(b"set \"a\r\n").1.unwrap().message(),
            "ERR Protocol error: unbalanced quotes in request"
        );
    }

    #[test]
    fn split_args_escapes() {
        let mut out = Vec::new();
        let mut r = Vec::new();
        assert!(split_args(br#"a "\x41\n" 'it\'s'"#, &mut out, &mut r));
        let got: Vec<&[u8]> = r.iter().map(|&(o, l)| &out[o..o + l]).collect();
        assert_eq!(got, vec![&b"a"[..], b"A\n", b"it's"]);
        assert!(!split_args(b"\"a\"b", &mut out, &mut r));
    }

    proptest! {
        /// Feeding a valid stream in arbitrary chunks yields the same commands.
        #[test]
        fn chunked_equals_whole(cmds in proptest::collection::vec(proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..5), 1..8), cut in 1usize..50) {
            let mut wire = Vec::new();
            for c in &cmds {
                wire.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
                for a in c {
                    wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                    wire.extend_from_slice(a);
                    wire.extend_from_slice(b"\r\n");
                }
            }
            let mut st = ParseState::default();
            let mut r = Vec::new();
            let mut s = Vec::new();
            let mut got = Vec::new();
            let mut pos = 0;
            let mut avail = 0;
            while got.len() < cmds.len() {
                avail = (avail + cut).min(wire.len());
                loop {
                    match parse_command(&wire[..avail], pos, &mut st, &mut r, &mut s, LIM) {
                        Parsed::Command { next, source } => { got.push(args_of(&wire, source, &r, &s)); pos = next; }
                        Parsed::Incomplete { .. } => break,
                        Parsed::Error(e) => panic!("{:?}", e),
                    }
                }
            }
            prop_assert_eq!(got, cmds);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_all(&data);
        }
    }
}
