//! Drives `parse_command` over a byte stream exactly as the event loop
//! does (client.rs `read_socket` + event_loop.rs `process_client_input`):
//! reads arrive in chunks, consumed bytes are dropped or compacted to the
//! front of the query buffer (shifting an in-progress multibulk), large
//! bulks reserve room, and parsing stops at the first protocol error.
//!
//! Shared by tests/fuzz_smoke.rs and the cargo-fuzz target in fuzz/.

#![allow(dead_code)]

use ferrokv::protocol::parse::{self, ArgSource, ParseLimits, ParseState, Parsed};

/// What a connection saw: the commands (argument bytes), the protocol
/// error that closed it (if any) and the unconsumed bytes left over.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub commands: Vec<Vec<Vec<u8>>>,
    pub error: Option<String>,
    pub pending: usize,
}

/// Feeds `input` in chunks whose sizes cycle through `chunks` (0 is read as
/// 1). `iobuf` plays Redis's PROTO_IOBUF_LEN (16K in the server; smaller
/// values make compaction happen more often). Panics if the parser
/// returns an out-of-range argument or a command that consumes nothing.
pub fn run(input: &[u8], chunks: &[usize], iobuf: usize, limits: ParseLimits) -> Outcome {
    let iobuf = iobuf.max(2);
    let mut qbuf: Vec<u8> = Vec::new(); // len() is the capacity, as in Client
    let (mut qstart, mut qend) = (0usize, 0usize);
    let mut state = ParseState::default();
    let mut argv: Vec<(usize, usize)> = Vec::new();
    let mut scratch: Vec<u8> = Vec::new();
    let mut commands = Vec::new();
    let mut off = 0;
    let mut ci = 0;

    while off < input.len() {
        let want = chunks
            .get(ci % chunks.len().max(1))
            .copied()
            .unwrap_or(usize::MAX);
        ci += 1;
        let n = want.max(1).min(input.len() - off);
        let mut chunk = &input[off..off + n];
        off += n;

        // Client::read_socket: loop until the "socket" would block.
        loop {
            if qstart == qend && !state.in_progress() {
                qstart = 0;
                qend = 0;
            }
            if qbuf.len() - qend < iobuf / 2 {
                if qstart > 0 {
                    let shift = qstart;
                    qbuf.copy_within(shift..qend, 0);
                    qend -= shift;
                    qstart = 0;
                    if state.in_progress() {
                        state.shift(shift, &mut argv);
                    }
                }
                if qbuf.len() - qend < iobuf / 2 {
                    let grow = qbuf.len().max(iobuf);
                    qbuf.resize(qbuf.len() + grow, 0);
                }
            }
            if chunk.is_empty() {
                break; // WouldBlock
            }
            let k = (qbuf.len() - qend).min(chunk.len());
            qbuf[qend..qend + k].copy_from_slice(&chunk[..k]);
            qend += k;
            chunk = &chunk[k..];
        }

        // event_loop::process_client_input
        while qstart < qend {
            let parsed = parse::parse_command(
                &qbuf[..qend],
                qstart,
                &mut state,
                &mut argv,
                &mut scratch,
                limits,
            );
            match parsed {
                Parsed::Command { next, source } => {
                    assert!(
                        next > qstart && next <= qend,
                        "no progress: start {qstart} next {next} end {qend}"
                    );
                    assert!(!state.in_progress(), "Command returned mid-multibulk");
                    qstart = next;
                    if argv.is_empty() {
                        continue;
                    }
                    let buf: &[u8] = match source {
                        ArgSource::Query => &qbuf[..next],
                        ArgSource::Inline => &scratch,
                    };
                    let mut args = Vec::with_capacity(argv.len());
                    for &(s, l) in argv.iter() {
                        assert!(
                            s.checked_add(l).is_some_and(|e| e <= buf.len()),
                            "argument ({s}, {l}) outside buffer of {}",
                            buf.len()
                        );
                        args.push(buf[s..s + l].to_vec());
                    }
                    commands.push(args);
                }
                Parsed::Incomplete { need } => {
                    if need >= parse::MBULK_BIG_ARG {
                        let want = qend + need;
                        if want > qbuf.len() {
                            qbuf.resize(want, 0);
                        }
                    }
                    break;
                }
                Parsed::Error(e) => {
                    // Reply, then close: nothing after the error is parsed.
                    return Outcome {
                        commands,
                        error: Some(e.message().into_owned()),
                        pending: qend - qstart,
                    };
                }
            }
        }
        if qstart == qend && !state.in_progress() {
            qstart = 0;
            qend = 0;
        }
    }
    Outcome {
        commands,
        error: None,
        pending: qend - qstart,
    }
}

/// Parsing the same bytes whole and in chunks must agree. Chunking may
/// legitimately hit a size limit earlier (Redis checks the length of a
/// line only while its terminator has not arrived), so an error on either
/// side only requires the commands before it to agree.
pub fn check_consistent(whole: &Outcome, chunked: &Outcome) {
    let n = whole.commands.len().min(chunked.commands.len());
    assert_eq!(
        whole.commands[..n],
        chunked.commands[..n],
        "chunked parse produced different commands"
    );
    if whole.error.is_none() && chunked.error.is_none() {
        assert_eq!(whole, chunked, "chunked parse diverged");
    }
}

/// Runs `data` whole and in the chunk pattern, with the given limits, and
/// checks the two agree.
pub fn run_both(data: &[u8], chunks: &[usize], iobuf: usize, limits: ParseLimits) {
    let whole = run(data, &[usize::MAX], 16 * 1024, limits);
    let chunked = run(data, chunks, iobuf, limits);
    check_consistent(&whole, &chunked);
}
