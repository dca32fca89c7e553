//! nodes.conf, Redis 7.0.15's format: one CLUSTER NODES line per node
//! (handshake nodes left out), then `vars currentEpoch N lastVoteEpoch N`.
//! `parse` loads it as clusterLoadConfig does, `render` writes it as
//! clusterSaveConfig does, `save` replaces the file atomically.
//!
//! A node line: `id ip:port@cport[,hostname] flags master|- ping-sent
//! pong-recv config-epoch link-state slot...`, a slot being `N`, `A-B`, or
//! (myself only) `[N->-id]` migrating to / `[N-<-id]` importing from a
//! node. Loading sets a non-zero ping-sent / pong-recv to the load time,
//! takes a replica's config epoch as 0, creates the nodes a line names
//! before their own line, ignores the link state, and refuses the file
//! ("corrupted cluster config file") on a short line, an invalid node id,
//! an unknown flag, a second `myself`, a slot out of range, or no myself.
//!
//! Saving: Redis 7.0.15 rewrites nodes.conf in place (padding with
//! newlines, then ftruncate), which a crash mid-write can tear. `save`
//! writes a temp file in the same directory, fsyncs it, renames it over
//! nodes.conf and fsyncs the directory (what Redis 7.2 does). The flock
//! Redis holds on the file to keep two servers off one nodes.conf is the
//! server's to take (on the renamed file after each save).

use crate::util::num::atoi;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::ids::{NodeFlags, NodeId};
use super::render::nodes_description;
use super::slot::CLUSTER_SLOTS;
use super::state::{ClusterState, Node, NodeIdx};
use crate::protocol::parse::split_args;

/// The default cluster bus port offset (CLUSTER_PORT_INCR).
pub const PORT_INCR: u32 = 10000;

/// Why a nodes.conf was refused (Redis logs "Unrecoverable error:
/// corrupted cluster config file." and exits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfError {
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for ConfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "corrupted cluster config file (line {}: {})",
            self.line, self.reason
        )
    }
}

impl std::error::Error for ConfError {}

/// A loaded nodes.conf: the state, and warnings Redis logs while loading
/// ("Skipping unknown cluster config variable '...'").
#[derive(Debug)]
pub struct Loaded {
    pub state: ClusterState,
    pub warnings: Vec<String>,
}

/// C's strtoull for the epochs (digits only; a leading `-` negates
/// modulo 2^64 as strtoull does).
fn strtoull(s: &[u8]) -> u64 {
    let v = atoi(s);
    v as u64
}

/// The node named `name`, created (no flags) if unknown.
fn node_by_name(st: &mut ClusterState, name: NodeId) -> NodeIdx {
    match st.lookup(&name) {
        Some(i) => i,
        None => st.add_node(Node::new(name, NodeFlags::NONE, 0)),
    }
}

/// Loads nodes.conf's text. `now` is the load time (unix ms). An empty
/// file is not a nodes.conf: the caller creates myself (Redis treats a
/// missing or zero-length file so).
pub fn parse(text: &[u8], now: i64) -> Result<Loaded, ConfError> {
    let mut st = ClusterState::empty();
    let mut myself: Option<NodeIdx> = None;
    let mut warnings = Vec::new();
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    for (lineno, line) in text.split(|&c| c == b'\n').enumerate() {
        let lineno = lineno + 1;
        let err = |reason: &str| ConfError {
            line: lineno,
            reason: reason.to_string(),
        };
        if line.is_empty() || line[0] == 0 {
            continue;
        }
        buf.clear();
        ranges.clear();
        if !split_args(line, &mut buf, &mut ranges) {
            return Err(err("unbalanced quotes"));
        }
        let argv: Vec<&[u8]> = ranges.iter().map(|&(a, len)| &buf[a..a + len]).collect();
        let Some(first) = argv.first() else {
            return Err(err("blank line"));
        };
        if first.eq_ignore_ascii_case(b"vars") {
            if argv.len().is_multiple_of(2) {
                return Err(err("odd vars line"));
            }
            for kv in argv[1..].chunks_exact(2) {
                if kv[0].eq_ignore_ascii_case(b"currentEpoch") {
                    st.current_epoch = strtoull(kv[1]);
                } else if kv[0].eq_ignore_ascii_case(b"lastVoteEpoch") {
                    st.last_vote_epoch = strtoull(kv[1]);
                } else {
                    warnings.push(format!(
                        "Skipping unknown cluster config variable '{}'",
                        String::from_utf8_lossy(kv[0])
                    ));
                }
            }
            continue;
        }
        if argv.len() < 8 {
            return Err(err("fewer than 8 fields"));
        }
        let name = NodeId::parse(argv[0]).ok_or_else(|| err("invalid node id"))?;
        let n = node_by_name(&mut st, name);

        // ip:port[@cport][,hostname]
        let addr = argv[1];
        let (addr, hostname) = match addr.iter().position(|&c| c == b',') {
            Some(c) => (&addr[..c], &addr[c + 1..]),
            None => (addr, &b""[..]),
        };
        let colon = addr
            .iter()
            .rposition(|&c| c == b':')
            .ok_or_else(|| err("address without a port"))?;
        let ip = &addr[..colon];
        let ports = &addr[colon + 1..];
        let (port, cport) = match ports.iter().position(|&c| c == b'@') {
            Some(at) => (atoi(&ports[..at]), Some(atoi(&ports[at + 1..]))),
            None => (atoi(ports), None),
        };
        let cport = cport.unwrap_or(port + PORT_INCR as i64);
        let to_port = |p: i64| u16::try_from(p).map_err(|_| err("port out of range"));
        let (port, cport) = (to_port(port)?, to_port(cport)?);

        let mut flags = NodeFlags::NONE;
        let mut fail_time = 0;
        for f in argv[2].split(|&c| c == b',') {
            let f = f.to_ascii_lowercase();
            match &f[..] {
                b"myself" => {
                    if myself.is_some() {
                        return Err(err("a second myself"));
                    }
                    myself = Some(n);
                    flags.insert(NodeFlags::MYSELF);
                }
                b"master" => flags.insert(NodeFlags::MASTER),
                b"slave" => flags.insert(NodeFlags::SLAVE),
                b"fail?" => flags.insert(NodeFlags::PFAIL),
                b"fail" => {
                    flags.insert(NodeFlags::FAIL);
                    fail_time = now;
                }
                b"handshake" => flags.insert(NodeFlags::HANDSHAKE),
                b"noaddr" => flags.insert(NodeFlags::NOADDR),
                b"nofailover" => flags.insert(NodeFlags::NOFAILOVER),
                b"noflags" => {}
                _ => return Err(err("unknown flag")),
            }
        }
        {
            let node = st.node_mut(n);
            node.ip = String::from_utf8_lossy(ip).into_owned();
            node.hostname = String::from_utf8_lossy(hostname).into_owned();
            node.port = port;
            node.cport = cport;
            node.flags.insert(flags);
            if fail_time != 0 {
                node.fail_time = fail_time;
            }
            if atoi(argv[4]) != 0 {
                node.ping_sent = now;
            }
            if atoi(argv[5]) != 0 {
                node.pong_received = now;
            }
        }
        if argv[3].first() != Some(&b'-') {
            let mname = NodeId::parse(argv[3]).ok_or_else(|| err("invalid master id"))?;
            let m = node_by_name(&mut st, mname);
            st.node_mut(n).replica_of = Some(m);
            st.add_replica(m, n);
        }
        let node = st.node(n);
        let epoch = if node.is_replica() && node.replica_of.is_some() {
            0
        } else {
            strtoull(argv[6])
        };
        st.node_mut(n).config_epoch = epoch;

        for arg in &argv[8..] {
            if arg.first() == Some(&b'[') {
                // [slot->-id] or [slot-<-id]
                let dash = arg
                    .iter()
                    .position(|&c| c == b'-')
                    .ok_or_else(|| err("open slot without '-'"))?;
                let slot = atoi(&arg[1..dash]);
                if !(0..CLUSTER_SLOTS as i64).contains(&slot) {
                    return Err(err("slot out of range"));
                }
                let direction = arg.get(dash + 1).copied();
                let rest = arg.get(dash + 3..).unwrap_or(b"");
                let close = rest
                    .iter()
                    .position(|&c| c == b']')
                    .ok_or_else(|| err("open slot without ']'"))?;
                let other = NodeId::parse(&rest[..close]).ok_or_else(|| err("invalid node id"))?;
                let cn = node_by_name(&mut st, other);
                if direction == Some(b'>') {
                    st.migrating_slots_to[slot as usize] = Some(cn);
                } else {
                    st.importing_slots_from[slot as usize] = Some(cn);
                }
                continue;
            }
            let (start, stop) = match arg.iter().position(|&c| c == b'-') {
                Some(d) => (atoi(&arg[..d]), atoi(&arg[d + 1..])),
                None => (atoi(arg), atoi(arg)),
            };
            let range = 0..CLUSTER_SLOTS as i64;
            if !range.contains(&start) || !range.contains(&stop) {
                return Err(err("slot out of range"));
            }
            for s in start..=stop {
                st.add_slot(n, s as usize);
            }
        }
    }
    let Some(me) = myself else {
        return Err(ConfError {
            line: 0,
            reason: "no myself node".to_string(),
        });
    };
    st.set_myself(me);
    for idx in st.node_indexes() {
        if st.node(idx).ctime == 0 {
            st.node_mut(idx).ctime = now;
        }
    }
    let max = st.max_epoch();
    if max > st.current_epoch {
        st.current_epoch = max;
    }
    Ok(Loaded {
        state: st,
        warnings,
    })
}

/// nodes.conf's text for `st` (clusterSaveConfig's payload).
pub fn render(st: &ClusterState) -> String {
    let mut s = nodes_description(st, NodeFlags::HANDSHAKE, false);
    s.push_str(&format!(
        "vars currentEpoch {} lastVoteEpoch {}\n",
        st.current_epoch, st.last_vote_epoch
    ));
    s
}

/// Replaces `path` with `content` atomically: a temp file beside it,
/// written and fsynced (when `fsync`), renamed over `path`, then the
/// directory fsynced. On failure the old file is intact and the temp file
/// removed.
pub fn save(path: &Path, content: &[u8], fsync: bool) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let base = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(
        "temp-{}.{}",
        base.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(content)?;
        if fsync {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, path)?;
        if fsync {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
#[path = "nodes_conf_tests.rs"]
mod tests;
