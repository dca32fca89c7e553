//! Runs commands on an in-process `Server` through the real dispatcher
//! (`commands::execute`, what the event loop calls for every parsed
//! command) with a connection-less client, and decodes the RESP reply.
//!
//! Shared by the fuzz harnesses in tests/support/ (and through them by the
//! cargo-fuzz targets in fuzz/ and the stable smoke tests).

#![allow(dead_code)]

use ferrokv::client::Client;
use ferrokv::commands;
use ferrokv::config::Config;
use ferrokv::protocol::args::Args;
use ferrokv::server::Server;

/// A server plus one client talking to it.
pub struct InProc {
    pub srv: Server,
    pub c: Client,
}

/// A decoded reply (enough of RESP2/RESP3 for the harnesses' checks).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reply {
    Status(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
    /// Any other RESP3 type, kept raw.
    Other(Vec<u8>),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match self {
            Reply::Status(b) => write!(f, "+{}", s(b)),
            Reply::Error(b) => write!(f, "-{}", s(b)),
            Reply::Int(i) => write!(f, ":{i}"),
            Reply::Bulk(None) => write!(f, "(nil)"),
            Reply::Bulk(Some(b)) => write!(f, "{:?}", s(b)),
            Reply::Array(None) => write!(f, "(nil array)"),
            Reply::Array(Some(items)) => f.debug_list().entries(items).finish(),
            Reply::Other(b) => write!(f, "?{}", s(b)),
        }
    }
}

impl Reply {
    pub fn is_ok(&self) -> bool {
        matches!(self, Reply::Status(s) if s == b"OK")
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
    pub fn bulk(&self) -> Option<&[u8]> {
        match self {
            Reply::Bulk(Some(b)) => Some(b),
            _ => None,
        }
    }
}

impl InProc {
    pub fn new(config: Config) -> InProc {
        let srv = Server::new(config, commands::table(), commands::hooks());
        let mut c = Client::new_internal(1, ferrokv::clock::now_ms());
        c.user = ferrokv::acl::SUPERUSER;
        InProc { srv, c }
    }

    /// Runs one command; returns its raw reply bytes.
    pub fn call_raw(&mut self, argv: &[&[u8]]) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut ranges = Vec::with_capacity(argv.len());
        for a in argv {
            ranges.push((buf.len(), a.len()));
            buf.extend_from_slice(a);
        }
        let args = Args::new(&buf, &ranges);
        self.c.out.buf.clear();
        commands::execute(&mut self.srv, &mut self.c, &args);
        // Key events (keyspace notifications, tracking) are drained after
        // each command by the event loop; do the same.
        self.srv.drain_key_events(Some(&mut self.c));
        std::mem::take(&mut self.c.out.buf)
    }

    /// Runs one command and decodes its (single) reply.
    pub fn call(&mut self, argv: &[&[u8]]) -> Reply {
        let raw = self.call_raw(argv);
        let mut pos = 0;
        let r = parse_reply(&raw, &mut pos)
            .unwrap_or_else(|| panic!("undecodable reply {:?}", String::from_utf8_lossy(&raw)));
        assert_eq!(
            pos,
            raw.len(),
            "one command wrote more than one reply: {:?}",
            String::from_utf8_lossy(&raw)
        );
        r
    }

    pub fn call_str(&mut self, argv: &[&str]) -> Reply {
        let v: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        self.call(&v)
    }
}

fn line(b: &[u8], pos: &mut usize) -> Option<Vec<u8>> {
    let rest = b.get(*pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    let l = rest[..end].to_vec();
    *pos += end + 2;
    Some(l)
}

fn int_of(l: &[u8]) -> Option<i64> {
    std::str::from_utf8(l).ok()?.parse().ok()
}

/// Decodes one RESP2/RESP3 reply at `pos`.
pub fn parse_reply(b: &[u8], pos: &mut usize) -> Option<Reply> {
    let t = *b.get(*pos)?;
    *pos += 1;
    let l = line(b, pos)?;
    Some(match t {
        b'+' => Reply::Status(l),
        b'-' => Reply::Error(l),
        b':' => Reply::Int(int_of(&l)?),
        b'_' => Reply::Bulk(None),
        b'$' | b'=' | b'!' => {
            let n = int_of(&l)?;
            if n < 0 {
                Reply::Bulk(None)
            } else {
                let n = n as usize;
                let data = b.get(*pos..*pos + n)?.to_vec();
                if b.get(*pos + n..*pos + n + 2)? != b"\r\n" {
                    return None;
                }
                *pos += n + 2;
                if t == b'!' {
                    Reply::Error(data)
                } else {
                    Reply::Bulk(Some(data))
                }
            }
        }
        b'*' | b'~' | b'>' | b'%' => {
            let n = int_of(&l)?;
            if n < 0 {
                Reply::Array(None)
            } else {
                let n = if t == b'%' { n * 2 } else { n };
                let mut items = Vec::with_capacity(n.min(1024) as usize);
                for _ in 0..n {
                    items.push(parse_reply(b, pos)?);
                }
                Reply::Array(Some(items))
            }
        }
        b',' | b'#' | b'(' => Reply::Other(l),
        b'|' => {
            // Attribute: skip it, the reply follows.
            let n = int_of(&l)?;
            for _ in 0..n * 2 {
                parse_reply(b, pos)?;
            }
            parse_reply(b, pos)?
        }
        _ => return None,
    })
}
