//! Longest common subsequence exactly as Redis 7.0's `lcsCommand`
//! (t_string.c): the same `uint32_t` dynamic-programming table, the same
//! backtracking order (from the end of both strings, preferring to step `b`
//! back when the two neighbouring cells tie), and the same match ranges,
//! emitted from the end of the strings towards the start, with the
//! `MINMATCHLEN` filter applied to each emitted range.
//!
//! Redis refuses inputs whose table would exceed `proto-max-bulk-len` bytes
//! (`(alen+1)*(blen+1)*4 > proto_max_bulk_len`); [`lcs_with_limit`] takes that
//! limit, [`lcs`] uses the default of 512 MiB. Errors carry the exact Redis
//! message (without the leading `ERR `).
//!
//! Never panics on any input.

/// Redis default `proto-max-bulk-len` (512 MiB).
pub const DEFAULT_PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

/// One match: `((a_start, a_end), (b_start, b_end), match_len)`, inclusive.
pub type LcsMatch = ((usize, usize), (usize, usize), usize);

/// Result of [`lcs`]. `matches` holds `((a_start, a_end), (b_start, b_end),
/// match_len)` with inclusive ranges, in Redis's reply order (last match
/// first). `string` is empty unless requested.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LcsResult {
    pub len: usize,
    pub string: Vec<u8>,
    pub matches: Vec<LcsMatch>,
}

/// Why Redis would refuse the LCS computation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LcsError {
    /// "String too long for LCS"
    TooLong,
    /// "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    ExceedsProtoMaxBulkLen,
    /// "Insufficient memory, failed allocating transient memory for LCS"
    AllocFailed,
}

impl LcsError {
    /// The Redis error text, without the `ERR ` prefix.
    pub fn message(&self) -> &'static str {
        match self {
            LcsError::TooLong => "String too long for LCS",
            LcsError::ExceedsProtoMaxBulkLen => {
                "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
            }
            LcsError::AllocFailed => {
                "Insufficient memory, failed allocating transient memory for LCS"
            }
        }
    }
}

impl std::fmt::Display for LcsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for LcsError {}

/// LCS with the default 512 MiB `proto-max-bulk-len` table limit.
///
/// `want_string` corresponds to the plain `LCS` reply, `want_matches` to
/// `IDX`; with neither only `len` is computed (the `LEN` option).
/// `min_match_len` is `MINMATCHLEN` (0 keeps every range; Redis clamps
/// negative values to 0 before this point).
pub fn lcs(
    a: &[u8],
    b: &[u8],
    want_string: bool,
    want_matches: bool,
    min_match_len: usize,
) -> Result<LcsResult, LcsError> {
    lcs_with_limit(
        a,
        b,
        want_string,
        want_matches,
        min_match_len,
        DEFAULT_PROTO_MAX_BULK_LEN,
    )
}

/// LCS with an explicit `proto-max-bulk-len` limit for the transient table.
pub fn lcs_with_limit(
    a: &[u8],
    b: &[u8],
    want_string: bool,
    want_matches: bool,
    min_match_len: usize,
    proto_max_bulk_len: u64,
) -> Result<LcsResult, LcsError> {
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(LcsError::TooLong);
    }
    let alen = a.len();
    let blen = b.len();
    let cols = blen + 1;
    let cells = (alen as u64 + 1)
        .checked_mul(blen as u64 + 1)
        .ok_or(LcsError::AllocFailed)?;
    let bytes = cells.checked_mul(4).ok_or(LcsError::AllocFailed)?;
    if bytes > proto_max_bulk_len {
        return Err(LcsError::ExceedsProtoMaxBulkLen);
    }
    let cells = usize::try_from(cells).map_err(|_| LcsError::AllocFailed)?;
    let mut table: Vec<u32> = Vec::new();
    table
        .try_reserve_exact(cells)
        .map_err(|_| LcsError::AllocFailed)?;
    table.resize(cells, 0);

    // Row 0 and column 0 stay zero.
    for i in 1..=alen {
        let ai = a[i - 1];
        let (prev, cur) = table.split_at_mut(i * cols);
        let prev = &prev[(i - 1) * cols..];
        let cur = &mut cur[..cols];
        for j in 1..=blen {
            cur[j] = if ai == b[j - 1] {
                prev[j - 1] + 1
            } else {
                let l1 = prev[j];
                let l2 = cur[j - 1];
                if l1 > l2 {
                    l1
                } else {
                    l2
                }
            };
        }
    }
    let at = |i: usize, j: usize| table[j + i * cols];
    let total = at(alen, blen) as usize;
    let mut res = LcsResult {
        len: total,
        ..Default::default()
    };
    if !want_string && !want_matches {
        return Ok(res);
    }

    let mut result = vec![0u8; total];
    let mut idx = total;
    // `arange_start == alen` means "no range open", as in Redis.
    let mut arange_start = alen;
    let mut arange_end = 0usize;
    let mut brange_start = 0usize;
    let mut brange_end = 0usize;
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            if idx > 0 {
                result[idx - 1] = a[i - 1];
            }
            if arange_start == alen {
                arange_start = i - 1;
                arange_end = i - 1;
                brange_start = j - 1;
                brange_end = j - 1;
            } else if arange_start == i && brange_start == j {
                arange_start -= 1;
                brange_start -= 1;
            } else {
                emit = true;
            }
            if arange_start == 0 || brange_start == 0 {
                emit = true;
            }
            idx = idx.saturating_sub(1);
            i -= 1;
            j -= 1;
        } else {
            let l1 = at(i - 1, j);
            let l2 = at(i, j - 1);
            if l1 > l2 {
                i -= 1;
            } else {
                j -= 1;
            }
            if arange_start != alen {
                emit = true;
            }
        }
        if emit {
            let match_len = arange_end.wrapping_sub(arange_start).wrapping_add(1);
            if want_matches && (min_match_len == 0 || match_len >= min_match_len) {
                res.matches.push((
                    (arange_start, arange_end),
                    (brange_start, brange_end),
                    match_len,
                ));
            }
            arange_start = alen;
        }
    }
    if want_string {
        res.string = result;
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_example() {
        let r = lcs(b"ohmytext", b"mynewtext", true, true, 0).unwrap();
        assert_eq!(r.len, 6);
        assert_eq!(r.string, b"mytext");
        assert_eq!(r.matches, vec![((4, 7), (5, 8), 4), ((2, 3), (0, 1), 2)]);
        let r = lcs(b"ohmytext", b"mynewtext", false, true, 4).unwrap();
        assert_eq!(r.matches, vec![((4, 7), (5, 8), 4)]);
        assert!(r.string.is_empty());
        let r = lcs(b"ohmytext", b"mynewtext", false, false, 0).unwrap();
        assert_eq!(r.len, 6);
        assert!(r.matches.is_empty());
    }

    #[test]
    fn simple_cases() {
        let r = lcs(b"", b"abc", true, true, 0).unwrap();
        assert_eq!(
            (r.len, r.string.as_slice(), r.matches.len()),
            (0, &b""[..], 0)
        );
        let r = lcs(b"abc", b"abc", true, true, 0).unwrap();
        assert_eq!(r.string, b"abc");
        assert_eq!(r.matches, vec![((0, 2), (0, 2), 3)]);
        let r = lcs(b"abc", b"xyz", true, true, 0).unwrap();
        assert_eq!(r.len, 0);
        assert!(r.matches.is_empty());
        // Tie-breaking: Redis steps j back on ties.
        let r = lcs(b"ab", b"ba", true, true, 0).unwrap();
        assert_eq!(r.string, b"b");
        assert_eq!(r.matches, vec![((1, 1), (0, 0), 1)]);
    }

    #[test]
    fn limits() {
        assert_eq!(
            lcs_with_limit(b"abc", b"abc", true, false, 0, 63),
            Err(LcsError::ExceedsProtoMaxBulkLen)
        );
        assert!(lcs_with_limit(b"abc", b"abc", true, false, 0, 64).is_ok());
        assert_eq!(
            LcsError::ExceedsProtoMaxBulkLen.message(),
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
        );
    }

    /// Independent reference: plain LCS length.
    fn lcs_len_ref(a: &[u8], b: &[u8]) -> usize {
        let mut dp = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                dp[i][j] = if a[i - 1] == b[j - 1] {
                    dp[i - 1][j - 1] + 1
                } else {
                    dp[i - 1][j].max(dp[i][j - 1])
                };
            }
        }
        dp[a.len()][b.len()]
    }

    proptest::proptest! {
        #[test]
        fn consistent(a in proptest::collection::vec(0u8..4, 0..40),
                      b in proptest::collection::vec(0u8..4, 0..40),
                      min in 0usize..4) {
            let r = lcs(&a, &b, true, true, 0).unwrap();
            proptest::prop_assert_eq!(r.len, lcs_len_ref(&a, &b));
            proptest::prop_assert_eq!(r.string.len(), r.len);
            // Ranges reassemble the LCS string (they are emitted last-first).
            let mut rebuilt = Vec::new();
            let mut total = 0;
            for &((as_, ae), (bs, be), l) in r.matches.iter().rev() {
                proptest::prop_assert_eq!(ae - as_ + 1, l);
                proptest::prop_assert_eq!(be - bs + 1, l);
                proptest::prop_assert_eq!(&a[as_..=ae], &b[bs..=be]);
                rebuilt.extend_from_slice(&a[as_..=ae]);
                total += l;
            }
            proptest::prop_assert_eq!(total, r.len);
            proptest::prop_assert_eq!(&rebuilt, &r.string);
            let f = lcs(&a, &b, false, true, min).unwrap();
            let want: Vec<_> = r.matches.iter().copied().filter(|m| min == 0 || m.2 >= min).collect();
            proptest::prop_assert_eq!(f.matches, want);
        }
    }
}
