//! `Args`: a cursor-free view of a command's arguments (byte ranges into
//! the query buffer), with the parsing helpers handlers share.

use crate::error::CmdError;
use crate::util::num;

pub struct Args<'a> {
    buf: &'a [u8],
    ranges: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    pub fn new(buf: &'a [u8], ranges: &'a [(usize, usize)]) -> Args<'a> {
        Args { buf, ranges }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Argument `i`, or an empty slice if out of range (arity is checked
    /// before handlers run, so that only happens on a handler bug).
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        match self.ranges.get(i) {
            Some(&(o, l)) => &self.buf[o..o + l],
            None => &[],
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + Clone + '_ {
        self.ranges.iter().map(move |&(o, l)| &self.buf[o..o + l])
    }

    /// Case-insensitive comparison of argument `i` with `s`.
    #[inline]
    pub fn is(&self, i: usize, s: &str) -> bool {
        self.get(i).eq_ignore_ascii_case(s.as_bytes())
    }

    /// Argument `i` as an integer (`ERR value is not an integer...`).
    pub fn i64(&self, i: usize) -> Result<i64, CmdError> {
        num::parse_i64(self.get(i)).ok_or(CmdError::NotInteger)
    }

    /// Argument `i` as a double (`ERR value is not a valid float`).
    pub fn f64(&self, i: usize) -> Result<f64, CmdError> {
        num::parse_f64(self.get(i)).ok_or(CmdError::NotFloat)
    }

    /// Argument `i` as lossy UTF-8 (for names in messages).
    pub fn str_lossy(&self, i: usize) -> String {
        String::from_utf8_lossy(self.get(i)).into_owned()
    }

    /// Owned copies of all arguments.
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(|a| a.to_vec()).collect()
    }
}
