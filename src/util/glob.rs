//! Glob-style pattern matching with the exact semantics of Redis 7.0's
//! `stringmatchlen()` (util.c), as used by KEYS, SCAN MATCH, PSUBSCRIBE,
//! CONFIG GET, ACL key patterns and friends.
//!
//! Supported syntax: `*` (any run of bytes, consecutive stars collapse), `?`
//! (exactly one byte), `[...]` classes with `^` negation, `a-z` ranges
//! (reversed ranges are swapped), `\` escapes both inside and outside classes.
//! An unterminated `[` class simply ends at the end of the pattern, exactly
//! like Redis. The C code relies on the pattern being NUL terminated and reads
//! one byte past the logical end in a few places; this port models that by
//! treating out-of-range pattern bytes as `0`.
//!
//! Byte semantics: the C code compares `char` values, which are signed on
//! x86-64 Linux, so class ranges involving bytes >= 0x80 are compared as
//! signed (`i8`) values, exactly like Redis on that platform. Case folding is
//! glibc `tolower()` in the "C" locale (ASCII letters only; in nocase ranges
//! negative chars other than -1 are mapped to 128..=254 as glibc does).
//!
//! Abusive patterns are bounded like Redis 7.0 (CVE-2022-36021 hardening): a
//! `skip_longer_matches` short-circuit, and a recursion limit of 1000 nested
//! `*` levels beyond which the match fails.
//!
//! Never panics on any input.

/// Recursion limit, same as Redis 7.0 (`nesting > 1000` returns no-match).
const MAX_NESTING: u32 = 1000;

/// Match `string` against the glob `pattern`; `nocase` folds ASCII case.
///
/// ```
/// use ferrokv::util::glob::string_match;
/// assert!(string_match(b"user:[0-9]*", b"user:42:name", false));
/// assert!(string_match(b"h?llo", b"HELLO", true));
/// assert!(!string_match(b"a\\*", b"ab", false)); // escaped star is literal
/// ```
pub fn string_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, string, nocase, &mut skip_longer, 0)
}

/// `pattern[i]`, or 0 (the C NUL terminator) past the end.
#[inline]
fn at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

#[inline]
fn lower(c: u8) -> u8 {
    c.to_ascii_lowercase()
}

/// glibc `tolower()` applied to a signed `char` value promoted to `int`:
/// ASCII letters fold, -1 (EOF) stays -1, and the other negative values
/// -128..=-2 come back as their unsigned byte value (128..=254).
#[inline]
fn lower_signed(c: i32) -> i32 {
    match c {
        -128..=-2 => c + 256,
        65..=90 => c + 32,
        _ => c,
    }
}

fn match_impl(
    pattern: &[u8],
    string: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: u32,
) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    // `p` is the current pattern offset (pattern_len = pattern.len() - p),
    // `s` is the current string offset.
    let mut p: usize = 0;
    let mut s: usize = 0;
    let plen = pattern.len();
    let slen = string.len();

    while p < plen && s < slen {
        match pattern[p] {
            b'*' => {
                while p < plen && at(pattern, p + 1) == b'*' {
                    p += 1;
                }
                if plen - p == 1 {
                    return true;
                }
                while s < slen {
                    if match_impl(
                        &pattern[p + 1..],
                        &string[s..],
                        nocase,
                        skip_longer,
                        nesting + 1,
                    ) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s += 1;
                }
                // No match for the rest of the pattern anywhere in the rest of
                // the string: longer matches of earlier stars cannot help.
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s += 1;
            }
            b'[' => {
                p += 1;
                let not = at(pattern, p) == b'^';
                if not {
                    p += 1;
                }
                let c = string[s];
                let mut matched = false;
                loop {
                    let remaining = plen.saturating_sub(p);
                    let pc = at(pattern, p);
                    if pc == b'\\' && remaining >= 2 {
                        p += 1;
                        if at(pattern, p) == c {
                            matched = true;
                        }
                    } else if pc == b']' {
                        break;
                    } else if remaining == 0 {
                        // Unterminated class: step back so the outer
                        // increment lands exactly on the pattern end.
                        p = p.saturating_sub(1);
                        break;
                    } else if remaining >= 3 && at(pattern, p + 1) == b'-' {
                        let mut start = (pc as i8) as i32;
                        let mut end = (at(pattern, p + 2) as i8) as i32;
                        let mut ch = (c as i8) as i32;
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower_signed(start);
                            end = lower_signed(end);
                            ch = lower_signed(ch);
                        }
                        p += 2;
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    } else if !nocase {
                        if pc == c {
                            matched = true;
                        }
                    } else if lower(pc) == lower(c) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s += 1;
            }
            first => {
                let mut pc = first;
                if first == b'\\' && plen - p >= 2 {
                    p += 1;
                    pc = pattern[p];
                }
                let c = string[s];
                if !nocase {
                    if pc != c {
                        return false;
                    }
                } else if lower(pc) != lower(c) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == slen {
            while at(pattern, p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= plen && s == slen
}

#[cfg(test)]
mod tests {
    use super::string_match;

    fn m(p: &str, s: &str) -> bool {
        string_match(p.as_bytes(), s.as_bytes(), false)
    }
    fn mi(p: &str, s: &str) -> bool {
        string_match(p.as_bytes(), s.as_bytes(), true)
    }

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", false), // Redis 7.0 loops only while the string is non-empty
            ("*", "anything", true),
            ("", "", true),
            ("", "a", false),
            ("a", "", false),
            ("**", "", false),
            ("a*", "a", true),
            ("a**", "a", true),
            ("*a", "a", true),
            ("*a", "ba", true),
            ("*a", "ab", false),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h*llo", "hllo", true),
            ("h*llo", "heeeello", true),
            ("h[ae]llo", "hello", true),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-b]llo", "hbllo", true),
            ("h[a-b]llo", "hcllo", false),
            ("h[b-a]llo", "hallo", true), // reversed range swapped
            ("h[z-a]llo", "hmllo", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("\\?", "?", true),
            ("a\\", "a\\", true), // trailing backslash is a literal
            ("[\\]]", "]", true),
            ("[\\-]", "-", true),
            ("[a\\-z]", "b", false),
            ("[a\\-z]", "-", true),
            ("[]", "]", false),
            ("[]]", "]", false), // class "[]" then literal "]" vs nothing
            ("[", "a", false),
            ("[a", "a", true), // unterminated class ends at pattern end
            ("[ab", "b", true),
            ("[ab", "c", false),
            ("[^a", "b", true),
            ("[^", "a", true), // empty negated class matches anything
            ("[", "", false),
            ("[a-", "-", true),
            ("[a-", "a", true),
            ("[a-", "b", false),
            ("[a-]", "-", false), // "a-]" has len>=3: it is the range ']'..'a'
            ("[a-]", "]", true),
            ("[-a]", "-", true),
            ("*[", "x", false),
            ("?", "", false),
            ("??", "a", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("*.txt", "file.txt", true),
            ("*.txt", "file.txt2", false),
            ("user:*:name", "user:1000:name", true),
            ("*\\", "ab\\", true),
            ("[\\", "\\", true),
            ("[\\", "a", false),
            ("\\", "\\", true),
            ("\\", "", false),
            ("a*", "", false),
            ("*a*", "a", true),
            ("*a*", "", false),
        ];
        for (p, s, want) in cases {
            assert_eq!(m(p, s), *want, "pattern {:?} string {:?}", p, s);
        }
    }

    #[test]
    fn nocase() {
        assert!(mi("HELLO", "hello"));
        assert!(!m("HELLO", "hello"));
        assert!(mi("h[A-C]llo", "hbllo"));
        assert!(mi("h[a-c]llo", "hBllo"));
        assert!(!m("h[a-c]llo", "hBllo"));
        assert!(mi("h[E]llo", "hello"));
        assert!(mi("*ELLO", "hello"));
    }

    #[test]
    fn high_bytes_signed_ranges() {
        // 'a' (97) .. 0xff (-1 as signed char) swaps to -1..97.
        assert!(string_match(b"[a-\xff]", b"0", false));
        assert!(!string_match(b"[a-\xff]", b"b", false));
        assert!(!string_match(b"[a-\xff]", b"\x80", false));
        assert!(string_match(b"[\x80-\xff]", b"\x90", false));
        assert!(string_match(b"\xe9*", b"\xe9t\xe9", false));
        assert!(string_match(b"a\0b", b"a\0b", false));
        assert!(!string_match(b"a\0b", b"a", false));
    }

    #[test]
    fn abusive_patterns_terminate() {
        let pat = "a*".repeat(50) + "b";
        let s = "a".repeat(200);
        assert!(!m(&pat, &s));
        // Deeply nested stars: past 1000 levels the match fails, like Redis.
        let pat2 = "*a".repeat(1200);
        let s2 = "a".repeat(1200);
        assert!(!m(&pat2, &s2));
        let pat3 = "*a".repeat(900);
        let s3 = "a".repeat(900);
        assert!(m(&pat3, &s3));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
                        s in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
                        nc in proptest::prelude::any::<bool>()) {
            let _ = super::string_match(&p, &s, nc);
        }

        #[test]
        fn never_panics_glob_alphabet(p in "[*?\\[\\]^\\\\a-c-]{0,24}", s in "[a-c*?\\[\\]-]{0,24}",
                                      nc in proptest::prelude::any::<bool>()) {
            let _ = super::string_match(p.as_bytes(), s.as_bytes(), nc);
        }

        #[test]
        fn literal_matches_itself(s in "[a-z0-9:]{0,30}") {
            proptest::prop_assert!(super::string_match(s.as_bytes(), s.as_bytes(), false));
        }
    }
}
