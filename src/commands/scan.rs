//! What SCAN, HSCAN, SSCAN and ZSCAN share (Redis's scanGenericCommand):
//! the cursor, the COUNT / MATCH / TYPE options and the reply's head. The
//! scan loop itself is `Dict::scan_batch`.

use super::Args;
use crate::client::Client;
use crate::error::{self, CmdError};
use crate::util::glob::string_match;

/// Parses a SCAN cursor like Redis's parseScanCursorOrReply: `strtoul`
/// over the whole string (no leading space; `+`/`-` accepted, `-N` wraps;
/// "" is 0; overflow rejected).
pub fn parse_cursor(b: &[u8]) -> Result<u64, CmdError> {
    // parseScanCursorOrReply: C strtoul() must consume the whole (NUL-ended)
    // string without ERANGE; a sign is accepted ("-1" wraps to 2^64-1), the
    // empty string is 0, leading whitespace is refused.
    let err = CmdError::Static(error::SCAN_CURSOR);
    let s = b.split(|&c| c == 0).next().unwrap_or(b);
    let (neg, digits) = match s.first() {
        None => return Ok(0),
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(err);
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|x| x.checked_add((d - b'0') as u64))
            .ok_or(err.clone())?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// The options of a scan: COUNT (default 10), MATCH and, for SCAN over
/// the keyspace only, TYPE.
pub struct ScanOpts<'a> {
    /// How many reply elements to aim for (at least 1).
    pub count: usize,
    /// MATCH's pattern; None for none or "*".
    pub pattern: Option<&'a [u8]>,
    pub typ: Option<&'a [u8]>,
}

impl<'a> ScanOpts<'a> {
    /// Parses options from argument `first` on; TYPE is a syntax error
    /// unless `keyspace`.
    pub fn parse(a: &Args<'a>, first: usize, keyspace: bool) -> Result<ScanOpts<'a>, CmdError> {
        let mut o = ScanOpts {
            count: 10,
            pattern: None,
            typ: None,
        };
        let mut i = first;
        while i < a.len() {
            let more = a.len() - i - 1;
            if a.is(i, "COUNT") && more >= 1 {
                let n = a.i64(i + 1)?;
                if n < 1 {
                    return Err(CmdError::Syntax);
                }
                o.count = usize::try_from(n).unwrap_or(usize::MAX);
            } else if a.is(i, "MATCH") && more >= 1 {
                o.pattern = Some(a.get(i + 1));
            } else if keyspace && a.is(i, "TYPE") && more >= 1 {
                o.typ = Some(a.get(i + 1));
            } else {
                return Err(CmdError::Syntax);
            }
            i += 2;
        }
        o.pattern = o.pattern.filter(|p| *p != b"*");
        Ok(o)
    }

    /// Does `b` pass MATCH?
    pub fn matches(&self, b: &[u8]) -> bool {
        self.pattern.is_none_or(|p| string_match(p, b, false))
    }
}

/// The reply's head: the next cursor, then an array of `n` elements that
/// the caller writes.
pub fn reply_head(c: &mut Client, cursor: u64, n: usize) {
    c.out.array(2);
    c.out.bulk_str(&cursor.to_string());
    c.out.array(n);
}
