//! A client's CLIENT LIST / CLIENT INFO line (Redis's
//! catClientInfoString), also written to the ACL log, the crash report and
//! the log lines of clients closed for their memory.

use crate::client::Client;
use crate::protocol::args::Args;
use crate::server::Server;
use std::io::Write;

/// What only the executing client has: its command and its argv.
pub struct Current<'a> {
    pub cmd: &'a str,
    pub argv_mem: usize,
}

/// Size of the static reply buffer Redis reports as obl/rbs.
const REPLY_CHUNK: usize = 16 * 1024;

/// Appends one CLIENT LIST line (no trailing newline) in Redis 7.0's format.
pub fn cat_client_info(
    out: &mut Vec<u8>,
    srv: &Server,
    cl: &Client,
    now_ms: i64,
    current: Option<&Current>,
) {
    let mut flags = String::new();
    if cl.is_monitor {
        flags.push('O');
    } else if cl.repl.as_ref().is_some_and(|r| r.is_replica()) {
        flags.push('S');
    }
    if cl.is_master {
        flags.push('M');
    }
    if crate::pubsub::is_subscribed(cl) {
        flags.push('P');
    }
    if cl.multi.is_some() {
        flags.push('x');
    }
    if cl.blocked.is_some() || cl.paused {
        flags.push('b');
    }
    if srv.cas_dirty.contains(&cl.id) {
        flags.push('d');
    }
    if cl.close_after_reply {
        flags.push('c');
    }
    if cl.close_asap {
        flags.push('A');
    }
    if cl.is_unix {
        flags.push('U');
    }
    if cl.cluster_readonly {
        flags.push('r');
    }
    if cl.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let cmd = match current {
        Some(cur) => cur.cmd,
        None => cl
            .last_cmd
            .and_then(|i| srv.commands.entries.get(i))
            .map_or("NULL", |e| e.fullname.as_str()),
    };
    let argv_mem = current.map_or(0, |c| c.argv_mem);
    // The executing client's query buffer still holds the command being
    // run, as Redis's does until the whole batch is processed. A big
    // argument being received shows only its own bytes, as Redis keeps
    // just that argument in its buffer.
    let qbuf = match (current, cl.parse.big_bulk()) {
        (Some(_), _) => cl.qend,
        (None, Some((start, _))) => cl.qend.saturating_sub(start),
        (None, None) => cl.qend - cl.qstart,
    };
    // While a client's command runs the event loop holds its query buffer
    // (`qbuf_held` is its size then).
    let qbuf_len = if current.is_some() {
        cl.qbuf_held.max(cl.qbuf.len())
    } else {
        cl.qbuf.len()
    };
    let qbuf_cap = cl.qbuf_mem(qbuf_len).max(qbuf);
    let qbuf_free = qbuf_cap.saturating_sub(qbuf);
    let pending = cl.pending_output();
    let rbs = cl.rbuf_size;
    let rbp = cl.rbuf_peak;
    let obl = pending.min(rbs);
    let omem = pending - obl;
    let oll = omem.div_ceil(REPLY_CHUNK);
    let tot_mem = cl.memory_usage_with(qbuf_len) + argv_mem;
    let now_s = now_ms / 1000;
    let _ = write!(
        out,
        "id={} addr={} laddr={} fd={} name=",
        cl.id, cl.addr, cl.laddr, cl.fd
    );
    if let Some(n) = &cl.name {
        out.extend_from_slice(n);
    }
    let _ = write!(
        out,
        " age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} \
         argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r \
         cmd={} user={} redir=-1 resp={}",
        now_s - cl.ctime_ms / 1000,
        now_s - cl.last_interaction_ms / 1000,
        flags,
        cl.db,
        cl.subs.len(),
        cl.psubs.len(),
        cl.ssubs.len(),
        cl.multi.as_ref().map_or(-1, |m| m.commands.len() as i64),
        qbuf,
        qbuf_free,
        argv_mem,
        cl.multi_mem(),
        rbs,
        rbp,
        obl,
        oll,
        omem,
        tot_mem,
        cmd,
        crate::acl_check::client_user_name(srv, cl),
        cl.out.resp
    );
}

/// The executing client's command name and argv size, for its own line.
pub fn current_of<'a>(srv: &'a Server, a: &Args) -> Current<'a> {
    let cmd = srv
        .commands
        .resolve(a)
        .and_then(|i| srv.commands.entries.get(i))
        .map_or("NULL", |e| e.fullname.as_str());
    Current {
        cmd,
        argv_mem: a.iter().map(|x| x.len()).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// A real loopback connection to build a `Client` from.
    fn test_client(id: u64) -> (Client, std::net::TcpStream) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let peer = std::net::TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
        let (s, _) = l.accept().expect("accept");
        s.set_nonblocking(true).expect("nonblocking");
        let sock = mio::net::TcpStream::from_std(s);
        (
            Client::new(id, 0, crate::client::Conn::Tcp(sock), 1_000_000, true),
            peer,
        )
    }

    #[test]
    fn client_list_line_has_redis_70_fields_in_order() {
        let srv = Server::new(
            Config::new(),
            crate::commands::table(),
            crate::commands::hooks(),
        );
        let (mut cl, _peer) = test_client(7);
        cl.name = Some(b"worker".to_vec());
        cl.no_evict = true;
        let mut out = Vec::new();
        let cur = Current {
            cmd: "client|list",
            argv_mem: 10,
        };
        cat_client_info(&mut out, &srv, &cl, 1_003_500, Some(&cur));
        let line = String::from_utf8(out).expect("utf8");
        let keys: Vec<&str> = line
            .split(' ')
            .map(|kv| kv.split('=').next().unwrap_or(""))
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "addr",
                "laddr",
                "fd",
                "name",
                "age",
                "idle",
                "flags",
                "db",
                "sub",
                "psub",
                "ssub",
                "multi",
                "qbuf",
                "qbuf-free",
                "argv-mem",
                "multi-mem",
                "rbs",
                "rbp",
                "obl",
                "oll",
                "omem",
                "tot-mem",
                "events",
                "cmd",
                "user",
                "redir",
                "resp"
            ]
        );
        assert!(line.starts_with("id=7 addr=127.0.0.1:"));
        assert!(line.contains(" name=worker age=3 idle=3 flags=e db=0 "));
        assert!(line.contains(" argv-mem=10 multi-mem=0 "));
        assert!(line.ends_with(" events=r cmd=client|list user=default redir=-1 resp=2"));

        let mut out = Vec::new();
        cl.no_evict = false;
        cl.is_monitor = true;
        cat_client_info(&mut out, &srv, &cl, 1_000_000, None);
        let line = String::from_utf8(out).expect("utf8");
        assert!(line.contains(" flags=O "));
        assert!(line.contains(" cmd=NULL "));
    }
}
