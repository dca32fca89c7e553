//! The inline-command path of the request parser (`parse_command` on input
//! that does not start with `*`, i.e. `split_args`), driven through the
//! event loop's read/parse loop (tests/support/parse_driver.rs) and
//! compared with a line-by-line model of Redis 7.0's processInlineBuffer +
//! sdssplitargs written from networking.c / sds.c.
//! The model includes the C-string details: processInlineBuffer finds the
//! newline with strchr() (a NUL before it hides it), sdssplitargs stops at
//! a NUL, and isspace() counts `\v`.

#![allow(dead_code)]

use crate::parse_driver;
use ferrokv::protocol::parse::ParseLimits;

/// Redis's PROTO_INLINE_MAX_SIZE.
const INLINE_MAX: usize = 64 * 1024;

fn c_isspace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// sds.c `sdssplitargs` over a C string (stops at the first NUL).
pub fn sdssplitargs(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    let line = &line[..end];
    // *p with 0 past the end, as C reads the terminator.
    let at = |i: usize| -> u8 { line.get(i).copied().unwrap_or(0) };
    let mut p = 0;
    let mut out = Vec::new();
    loop {
        while at(p) != 0 && c_isspace(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(out);
        }
        let (mut inq, mut insq, mut done) = (false, false, false);
        let mut cur = Vec::new();
        while !done {
            let c = at(p);
            if inq {
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && hex(at(p + 2)).is_some()
                    && hex(at(p + 3)).is_some()
                {
                    cur.push(hex(at(p + 2))? * 16 + hex(at(p + 3))?);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    cur.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        o => o,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !c_isspace(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !c_isspace(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => cur.push(c),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        out.push(cur);
    }
}

/// What Redis makes of a stream of inline commands: the non-empty
/// commands, whether it stopped on a protocol error, and unconsumed bytes.
pub fn model(input: &[u8]) -> (Vec<Vec<Vec<u8>>>, bool, usize) {
    let mut cmds = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        // strchr(): the first NUL ends the search.
        let Some(nl) = input[pos..]
            .iter()
            .position(|&b| b == b'\n' || b == 0)
            .filter(|&n| input[pos + n] == b'\n')
        else {
            if input.len() - pos > INLINE_MAX {
                return (cmds, true, input.len() - pos);
            }
            return (cmds, false, input.len() - pos);
        };
        let mut end = pos + nl;
        if end > pos && input[end - 1] == b'\r' {
            end -= 1;
        }
        match sdssplitargs(&input[pos..end]) {
            Some(argv) if argv.is_empty() => {}
            Some(argv) => cmds.push(argv),
            None => return (cmds, true, input.len() - pos),
        }
        pos += nl + 1;
    }
    (cmds, false, 0)
}

/// Makes every line an inline command (a `*` that would start a multibulk
/// request becomes a space).
pub fn inline_only(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut line_start = true;
    for b in out.iter_mut() {
        if line_start && *b == b'*' {
            *b = b' ';
        }
        line_start = *b == b'\n';
    }
    out
}

/// One fuzz input: byte 0 the chunk size, the rest the stream (made inline).
pub fn run_input(data: &[u8]) {
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let input = inline_only(rest);
    check(&input, &[chunk as usize + 1]);
}

pub fn check(input: &[u8], chunks: &[usize]) {
    let limits = ParseLimits {
        proto_max_bulk_len: 1 << 20,
        authenticated: true,
    };
    parse_driver::run_both(input, chunks, 16, limits);
    let whole = parse_driver::run(input, &[usize::MAX], 16 * 1024, limits);
    let (cmds, error, pending) = model(input);
    assert_eq!(whole.commands, cmds, "inline commands differ from Redis's");
    assert_eq!(
        whole.error.is_some(),
        error,
        "protocol error differs: {:?}",
        whole.error
    );
    if !error {
        assert_eq!(whole.pending, pending);
    }
}
