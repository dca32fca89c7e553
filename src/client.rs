//! A connected client: its socket, query buffer and parse progress, reply
//! buffer, selected db, protocol version and the state CLIENT LIST shows;
//! for a replica connected to us, its synchronization state (`ReplicaInfo`,
//! driven by `replication::master`).

use crate::protocol::parse::ParseState;
use crate::protocol::reply::ReplyBuf;
use mio::net::{TcpStream, UnixStream};
use std::io::{self, Read, Write};

/// A client connection: TCP, a unix domain socket (`unixsocket`), or TLS
/// over TCP (`tls-port`, and a replica's TLS link to its master).
pub enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<crate::tls::TlsStream>),
}

impl Conn {
    /// Plain TCP or a unix socket: what a TLS cluster reports plaintext
    /// ports to (Redis: a connection whose type is not TLS).
    pub fn is_plaintext(&self) -> bool {
        !matches!(self, Conn::Tls(_))
    }

    /// The TCP socket under a TCP or TLS connection.
    pub fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Conn::Tcp(s) => Some(s),
            Conn::Tls(t) => Some(&t.sock),
            Conn::Unix(_) => None,
        }
    }

    /// TLS bytes (handshake, alerts, the tail of a reply) wait for the
    /// socket to be writable.
    #[inline]
    pub fn tls_wants_write(&self) -> bool {
        matches!(self, Conn::Tls(t) if t.wants_write())
    }

    /// A TLS connection whose handshake is not done yet: a reply written
    /// now waits inside TLS, so a client closing after its reply (a
    /// protected-mode refusal) must keep reading the handshake first.
    #[inline]
    pub fn tls_handshaking(&self) -> bool {
        matches!(self, Conn::Tls(t) if t.is_handshaking())
    }

    /// Writes what TLS still holds; Ok(true) when nothing is left.
    #[inline]
    pub fn flush_tls(&mut self) -> io::Result<bool> {
        match self {
            Conn::Tls(t) => t.flush_tls(),
            _ => Ok(true),
        }
    }

    /// Ends a TLS session cleanly (close_notify) before the socket closes.
    pub fn close_notify(&mut self) {
        if let Conn::Tls(t) = self {
            t.close_notify();
        }
    }

    /// Shuts the socket down both ways (CLIENT KILL).
    pub fn shutdown(&self) {
        let _ = match self {
            Conn::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Conn::Unix(s) => s.shutdown(std::net::Shutdown::Both),
            Conn::Tls(t) => t.sock.shutdown(std::net::Shutdown::Both),
        };
    }
}

impl Read for Conn {
    #[inline]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl mio::event::Source for Conn {
    fn register(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.register(r, t, i),
            Conn::Unix(s) => s.register(r, t, i),
            Conn::Tls(s) => s.register(r, t, i),
        }
    }
    fn reregister(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.reregister(r, t, i),
            Conn::Unix(s) => s.reregister(r, t, i),
            Conn::Tls(s) => s.reregister(r, t, i),
        }
    }
    fn deregister(&mut self, r: &mio::Registry) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.deregister(r),
            Conn::Unix(s) => s.deregister(r),
            Conn::Tls(s) => s.deregister(r),
        }
    }
}

/// Initial / per-read size of the query buffer (Redis's PROTO_IOBUF_LEN).
pub const IOBUF_LEN: usize = 16 * 1024;

/// Input one client may read per loop turn, and the input it may execute
/// per turn (fairness: others are served in between).
pub const READ_BUDGET: usize = 64 * 1024;
/// The read budget while a (big) argument is still arriving.
pub const BIG_ARG_READ_BUDGET: usize = 1024 * 1024;
/// Commands one client may execute per loop turn.
pub const CMD_BUDGET: usize = 1000;

/// What one `read_socket` call found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOutcome {
    /// The peer closed its side.
    Eof,
    /// Everything the socket had was read.
    Drained,
    /// The turn's budget ran out: the socket may hold more.
    More,
}

/// Redis's PROTO_REPLY_CHUNK_BYTES: the reply buffer a client starts with
/// and the most the cron grows it to.
pub const REPLY_CHUNK_BYTES: usize = 16 * 1024;
/// Redis's PROTO_REPLY_MIN_BYTES: the least the cron shrinks it to.
pub const REPLY_MIN_BYTES: usize = 1024;

/// The usable size jemalloc gives a request of `n` bytes (its size
/// classes: four per power of two), as Redis's zmalloc_usable reports it.
pub fn jemalloc_usable(n: usize) -> usize {
    if n <= 8 {
        return 8;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let p = n.next_power_of_two();
    let step = p / 8;
    n.div_ceil(step) * step
}

/// How CLIENT REPLY is set.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Skipping the current command's reply.
    Skip,
}

/// SCRIPT DEBUG mode of a client: its next EVAL runs under the Lua
/// debugger, in a forked child (`Yes`) or blocking the server (`Sync`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LuaDebug {
    Off,
    Yes,
    Sync,
}

pub struct Client {
    pub id: u64,
    /// mio token / slot index.
    pub token: usize,
    /// None for internal clients (the scripting engine's fake client).
    pub sock: Option<Conn>,
    /// Connected through the unix socket (CLIENT LIST flag U).
    pub is_unix: bool,
    pub fd: i32,
    pub addr: String,
    pub laddr: String,
    /// Query buffer. Its `len()` is its capacity: bytes `qstart..qend` are
    /// unread input; the rest is scratch space that is never re-zeroed.
    pub qbuf: Vec<u8>,
    pub qstart: usize,
    pub qend: usize,
    pub parse: ParseState,
    /// Argument ranges of the command being parsed/executed.
    pub argv: Vec<(usize, usize)>,
    /// Unquoted arguments of an inline command.
    pub inline_args: Vec<u8>,
    /// Peak of the query buffer since the last cron resize check.
    pub qbuf_peak: usize,
    /// The last read stopped at the turn's budget: read again next turn.
    pub more_to_read: bool,
    /// The last turn stopped at its budget with commands still buffered.
    pub input_backlog: bool,
    pub out: ReplyBuf,
    /// Bytes of `out.buf` already written to the socket.
    pub out_pos: usize,
    /// The reply buffer as Redis sizes it (CLIENT LIST rbs / rbp): its
    /// size, the peak of bytes it held, and when the peak was last reset.
    /// The cron grows and shrinks it from the peak; the output Vec gives
    /// memory back down to this size when idle.
    pub rbuf_size: usize,
    pub rbuf_peak: usize,
    pub rbuf_peak_reset_ms: i64,
    /// Unix ms when the output buffer first exceeded the soft limit.
    pub obuf_soft_since: Option<i64>,
    pub db: usize,
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    pub authenticated: bool,
    /// The ACL user slot (`srv.acl.users`); 0 is `default`.
    pub user: usize,
    /// Unix ms of creation and of the last command.
    pub ctime_ms: i64,
    pub last_interaction_ms: i64,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    /// Close once the pending output is written (QUIT, protocol error).
    pub close_after_reply: bool,
    /// Close at the next opportunity, dropping output (CLIENT KILL, limits).
    pub close_asap: bool,
    /// SCRIPT DEBUG YES|SYNC (Redis's CLIENT_LUA_DEBUG[_SYNC]).
    pub lua_debug: LuaDebug,
    pub is_monitor: bool,
    /// Full name of the last command (CLIENT LIST cmd=).
    pub last_cmd: Option<usize>,
    /// The socket reported writable but we had nothing to send.
    pub writable: bool,
    /// Queued in `Server::to_flush` for a write this loop iteration.
    pub write_queued: bool,
    /// Unix ms until which this client is blocked by DEBUG SLEEP-like waits
    /// or by CLIENT PAUSE; its input stays queued.
    pub local: bool,
    pub total_net_in: u64,
    pub total_net_out: u64,
    /// Waiting on keys (BLPOP...): input stays queued until unblocked.
    pub blocked: Option<Box<crate::blocking::BlockedState>>,
    /// Blocking commands must not block (MULTI/EXEC, scripts).
    pub deny_blocking: bool,
    /// Its next command is held by CLIENT PAUSE (Redis's BLOCKED_POSTPONE:
    /// counted in blocked_clients and flagged `b` in CLIENT LIST).
    pub paused: bool,
    /// Set by `commands::execute` when CLIENT PAUSE held the command just
    /// given (nothing ran, nothing was replied): the caller queues it again.
    pub held_by_pause: bool,
    /// The blocked command is being re-executed (not a new call).
    pub reexecuting: bool,
    /// ASKING (CLIENT_ASKING): set by ASKING; the dispatcher's cluster
    /// check moves it to `cluster_asking_now` for the next command and
    /// clears it (outside MULTI, and at EXEC), as resetClient does after
    /// each command; all of it only in cluster mode.
    pub cluster_asking: bool,
    /// ASKING applies to the command being run (and its script's calls).
    pub cluster_asking_now: bool,
    /// READONLY (CLIENT_READONLY): reads of its master's slots served by a
    /// replica.
    pub cluster_readonly: bool,
    /// While re-executing: the deadline the command first blocked with.
    pub block_deadline_override: Option<i64>,
    /// Inside MULTI: the queued transaction.
    pub multi: Option<Box<crate::multi::MultiState>>,
    /// WATCHed keys.
    pub watched: Vec<crate::multi::WatchedKey>,
    /// Pub/Sub subscriptions: channels, patterns, shard channels.
    pub subs: Vec<Vec<u8>>,
    pub psubs: Vec<Vec<u8>>,
    pub ssubs: Vec<Vec<u8>>,
    /// CLIENT TRACKING settings, when on.
    pub tracking: Option<Box<crate::tracking::TrackingState>>,
    /// This is the connection to our master (a replica's master client).
    pub is_master: bool,
    /// Replication state of a replica connected to us (REPLCONF/PSYNC).
    pub repl: Option<Box<ReplicaInfo>>,
    /// Replication offset right after this client's last propagated write
    /// (WAIT waits for it).
    pub woff: i64,
    /// Client memory accounting (client_mem.rs): the memory last added to
    /// `Server::client_mem`'s total (0 when not counted), the bucket it is
    /// in (`client_mem::NO_BUCKET`: not evictable) and when it entered
    /// that bucket (eviction order within a bucket).
    pub mem_last: usize,
    pub mem_bucket: u8,
    pub mem_seq: u64,
    /// The query buffer's size while the event loop holds the buffer
    /// (during `process_client_input`), for this client's own memory.
    pub qbuf_held: usize,
    /// The query buffer was grown for a big argument: it is given back
    /// once consumed.
    pub qbuf_big: bool,
}

/// The id of the client replaying the AOF (Redis's CLIENT_ID_AOF).
pub const AOF_CLIENT_ID: u64 = u64::MAX;

impl Client {
    /// mustObeyClient: the master's stream and the AOF replay are applied
    /// whatever the checks for ordinary clients say (cluster redirection,
    /// persistence errors).
    #[inline]
    pub fn must_obey(&self) -> bool {
        self.is_master || self.id == AOF_CLIENT_ID
    }

    /// On a plaintext connection (TCP or unix socket; a script's client has
    /// none): a TLS cluster reports such clients the nodes' plaintext
    /// ports (CLUSTER SLOTS / NODES / REPLICAS, MOVED and ASK), as Redis.
    pub fn plaintext_conn(&self) -> bool {
        self.sock.as_ref().is_some_and(|s| s.is_plaintext())
    }

    pub fn new(id: u64, token: usize, sock: Conn, now_ms: i64, authenticated: bool) -> Client {
        use std::os::unix::io::AsRawFd;
        let (fd, addr, laddr, local, is_unix) = match &sock {
            Conn::Tcp(_) | Conn::Tls(_) => {
                let t = sock.tcp().expect("a TCP socket");
                (
                    t.as_raw_fd(),
                    t.peer_addr()
                        .map(|a| a.to_string())
                        .unwrap_or_else(|_| "?:0".into()),
                    t.local_addr()
                        .map(|a| a.to_string())
                        .unwrap_or_else(|_| "?:0".into()),
                    t.peer_addr()
                        .map(|a| crate::util::net::is_local_peer(a.ip()))
                        .unwrap_or(false),
                    false,
                )
            }
            Conn::Unix(u) => {
                // Redis shows the socket path with port 0 for both ends.
                let path = u
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_pathname().map(|p| p.to_string_lossy().into_owned()))
                    .unwrap_or_default();
                (
                    u.as_raw_fd(),
                    format!("{}:0", path),
                    format!("{}:0", path),
                    true,
                    true,
                )
            }
        };
        let mut c = Client::new_internal(id, now_ms);
        c.token = token;
        c.sock = Some(sock);
        c.fd = fd;
        c.addr = addr;
        c.laddr = laddr;
        c.authenticated = authenticated;
        c.local = local;
        c.is_unix = is_unix;
        c
    }

    /// A client with no connection (Redis's createClient(NULL)): the
    /// scripting engine runs redis.call() through one. fd is -1 and the
    /// address is empty, as CLIENT LIST would show for it.
    pub fn new_internal(id: u64, now_ms: i64) -> Client {
        Client {
            id,
            token: usize::MAX,
            sock: None,
            is_unix: false,
            fd: -1,
            addr: String::new(),
            laddr: String::new(),
            qbuf: Vec::new(),
            qstart: 0,
            qend: 0,
            parse: ParseState::default(),
            argv: Vec::new(),
            inline_args: Vec::new(),
            qbuf_peak: 0,
            more_to_read: false,
            input_backlog: false,
            out: ReplyBuf::new(),
            out_pos: 0,
            rbuf_size: REPLY_CHUNK_BYTES,
            rbuf_peak: REPLY_CHUNK_BYTES,
            // Redis stamps it in seconds and compares with ms: the first
            // cron always resets the peak. Same effect.
            rbuf_peak_reset_ms: 0,
            obuf_soft_since: None,
            db: 0,
            name: None,
            lib_name: None,
            lib_ver: None,
            authenticated: true,
            user: 0,
            ctime_ms: now_ms,
            last_interaction_ms: now_ms,
            reply_mode: ReplyMode::On,
            no_evict: false,
            close_after_reply: false,
            close_asap: false,
            lua_debug: LuaDebug::Off,
            is_monitor: false,
            last_cmd: None,
            writable: false,
            write_queued: false,
            local: false,
            total_net_in: 0,
            total_net_out: 0,
            blocked: None,
            deny_blocking: false,
            paused: false,
            held_by_pause: false,
            reexecuting: false,
            cluster_asking: false,
            cluster_asking_now: false,
            cluster_readonly: false,
            block_deadline_override: None,
            multi: None,
            watched: Vec::new(),
            subs: Vec::new(),
            psubs: Vec::new(),
            ssubs: Vec::new(),
            tracking: None,
            is_master: false,
            repl: None,
            woff: 0,
            mem_last: 0,
            mem_bucket: crate::client_mem::NO_BUCKET,
            mem_seq: 0,
            qbuf_held: 0,
            qbuf_big: false,
        }
    }

    /// Unread bytes in the query buffer.
    pub fn pending_input(&self) -> usize {
        self.qend - self.qstart
    }

    /// Bytes of output not yet written.
    pub fn pending_output(&self) -> usize {
        self.out.buf.len() - self.out_pos
    }

    /// Reads what the socket has, up to one turn's budget (Redis reads
    /// 16 KiB per readable event): a client that pipelines without end
    /// gets one share per loop turn, not the whole loop. `More` means the
    /// socket may still hold data (edge-triggered readiness will not say
    /// so again): the loop reads again next turn.
    pub fn read_socket(&mut self, query_limit: usize) -> io::Result<ReadOutcome> {
        // A backlog of commands left by the last turn's budget is executed
        // before reading more, so the buffer stays within about two turns'
        // worth of input.
        if self.input_backlog {
            return Ok(ReadOutcome::More);
        }
        let budget = if self.parse.in_progress() {
            BIG_ARG_READ_BUDGET
        } else {
            READ_BUDGET
        };
        let mut got = 0usize;
        loop {
            // Drop consumed bytes when nothing is in flight, or when the
            // buffer is full, so reads never need to zero new memory.
            if self.qstart == self.qend && !self.parse.in_progress() {
                self.qstart = 0;
                self.qend = 0;
            }
            if self.qbuf.len() - self.qend < IOBUF_LEN / 2 {
                if self.qstart > 0 {
                    let shift = self.qstart;
                    self.qbuf.copy_within(shift..self.qend, 0);
                    self.qend -= shift;
                    self.qstart = 0;
                    if self.parse.in_progress() {
                        self.parse.shift(shift, &mut self.argv);
                    }
                }
                if self.qbuf.len() - self.qend < IOBUF_LEN / 2 {
                    let len = self.qbuf.len();
                    let mut new_len = len + len.max(IOBUF_LEN);
                    // A big argument being received: no more room than
                    // it needs, so the buffer ends up its exact size (and
                    // once it is all here, room for what follows only).
                    if let Some((_, end)) = self.parse.big_bulk() {
                        new_len = if end > self.qend {
                            new_len.min(end.max(len))
                        } else {
                            len + IOBUF_LEN
                        };
                    }
                    self.qbuf.resize(new_len, 0);
                }
            }
            let end = self.qend;
            let Some(sock) = self.sock.as_mut() else {
                return Ok(ReadOutcome::Drained);
            };
            let room = (self.qbuf.len() - end).min(budget - got);
            match sock.read(&mut self.qbuf[end..end + room]) {
                Ok(0) => return Ok(ReadOutcome::Eof),
                Ok(n) => {
                    self.qend += n;
                    got += n;
                    self.total_net_in += n as u64;
                    self.qbuf_peak = self.qbuf_peak.max(self.qend - self.qstart);
                    if self.qend - self.qstart > query_limit {
                        return Err(io::Error::other("query buffer limit"));
                    }
                    // A short read means the socket is drained (epoll(7)): no
                    // need for a second read just to see EAGAIN.
                    if n < room {
                        // A TLS stream that ended after this data: read
                        // again to see the end.
                        if matches!(sock, Conn::Tls(t) if t.at_eof()) {
                            continue;
                        }
                        return Ok(ReadOutcome::Drained);
                    }
                    if got >= budget {
                        return Ok(ReadOutcome::More);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadOutcome::Drained),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// clientsCronResizeQueryBuffer: a buffer wasting more than 4 KiB is
    /// freed when the client has been idle for over 2 s, or trimmed to the
    /// latest peak when it is over 32 KiB and twice that peak. The peak then
    /// restarts from what is buffered now. Not while a command is half
    /// parsed (its arguments are offsets into the buffer).
    pub fn resize_query_buffer(&mut self, now_ms: i64) {
        const RESIZE_THRESHOLD: usize = 32 * 1024;
        let used = self.qend - self.qstart;
        let cap = self.qbuf.len();
        if cap - used > 4 * 1024 && !self.parse.in_progress() {
            if now_ms - self.last_interaction_ms > 2000 {
                if used == 0 {
                    self.qbuf = Vec::new();
                    self.qstart = 0;
                    self.qend = 0;
                }
            } else if cap > RESIZE_THRESHOLD && cap / 2 > self.qbuf_peak {
                let keep = used.max(self.qbuf_peak);
                if self.qstart > 0 {
                    self.qbuf.copy_within(self.qstart..self.qend, 0);
                    self.qend = used;
                    self.qstart = 0;
                }
                self.qbuf.truncate(keep.max(self.qend));
                self.qbuf.shrink_to_fit();
            }
        }
        self.qbuf_peak = self.qend - self.qstart;
    }

    /// Makes room for a large bulk argument that is still arriving. The
    /// buffer at most doubles per call, so it grows with the data that
    /// actually arrives: an 18-byte `$536870912` header costs nothing.
    pub fn reserve_query(&mut self, need: usize) {
        let want = self.qend.saturating_add(need);
        let len = self.qbuf.len();
        if want > len {
            let grown = (len * 2).max(len + IOBUF_LEN);
            self.qbuf.resize(want.min(grown), 0);
        }
    }

    /// Writes pending output. Returns Ok(true) when everything is written.
    pub fn write_socket(&mut self) -> io::Result<bool> {
        // What Redis's static reply buffer would hold now: its peak drives
        // the buffer's resizing (_addReplyToBuffer's buf_peak).
        let fill = self.pending_output().min(self.rbuf_size);
        if fill > self.rbuf_peak {
            self.rbuf_peak = fill;
        }
        while self.out_pos < self.out.buf.len() {
            let Some(sock) = self.sock.as_mut() else {
                // Internal clients' output is consumed by their owner.
                return Ok(true);
            };
            match sock.write(&self.out.buf[self.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.out_pos += n;
                    self.total_net_out += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.writable = false;
                    // Written bytes are dropped once they are half of a
                    // big buffer (Redis frees written reply blocks), so
                    // a slow reader's buffer holds what is pending.
                    if self.out_pos >= REPLY_CHUNK_BYTES && self.out_pos * 2 >= self.out.buf.len() {
                        self.out.buf.drain(..self.out_pos);
                        self.out_pos = 0;
                    }
                    return Ok(false);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        // TLS may still hold the tail of the output (the socket filled):
        // writable events flush it (`Conn::tls_wants_write`).
        if let Some(sock @ Conn::Tls(_)) = self.sock.as_mut() {
            if !sock.flush_tls()? {
                self.writable = false;
                self.out.buf.clear();
                self.out_pos = 0;
                return Ok(false);
            }
        }
        self.out.buf.clear();
        self.out_pos = 0;
        // What grew beyond the reply buffer goes back once written, as
        // Redis frees its reply list: memory (and client eviction)
        // follows what clients actually hold.
        if self.out.buf.capacity() > self.rbuf_size {
            self.out.buf.shrink_to(self.rbuf_size);
        }
        Ok(true)
    }

    /// Redis's clientsCronResizeOutputBuffer: halve-or-more a buffer whose
    /// peak stayed under half its size (down to REPLY_MIN_BYTES), double
    /// one whose peak filled it (up to REPLY_CHUNK_BYTES); reset the peak
    /// every `peak_reset_ms` (-1: never). Returns Some(true) for a shrink,
    /// Some(false) for a growth.
    pub fn resize_reply_buffer(&mut self, now_ms: i64, peak_reset_ms: i64) -> Option<bool> {
        let (shrink_to, grow_to) = (self.rbuf_size / 2, self.rbuf_size * 2);
        let mut change = None;
        let mut new_size = 0;
        if shrink_to >= REPLY_MIN_BYTES && self.rbuf_peak < shrink_to {
            new_size = REPLY_MIN_BYTES.max(self.rbuf_peak + 1);
            change = Some(true);
        } else if grow_to < REPLY_CHUNK_BYTES * 2 && self.rbuf_peak == self.rbuf_size {
            new_size = REPLY_CHUNK_BYTES.min(grow_to);
            change = Some(false);
        }
        if peak_reset_ms >= 0 && now_ms - self.rbuf_peak_reset_ms >= peak_reset_ms {
            self.rbuf_peak = self.pending_output().min(self.rbuf_size);
            self.rbuf_peak_reset_ms = now_ms;
        }
        if new_size > 0 {
            self.rbuf_size = jemalloc_usable(new_size);
            if self.pending_output() == 0 {
                self.out.buf.shrink_to(self.rbuf_size);
            }
        }
        change
    }

    /// Memory this client uses (CLIENT LIST tot-mem, without the
    /// executing command's arguments; Redis's getClientMemoryUsage).
    pub fn memory_usage(&self) -> usize {
        self.memory_usage_with(self.qbuf.len())
    }

    /// `memory_usage` with the query buffer's size given (the event loop
    /// holds the buffer while it runs the client's commands).
    pub fn memory_usage_with(&self, qbuf_len: usize) -> usize {
        std::mem::size_of::<Client>()
            + self.qbuf_mem(qbuf_len)
            + self.obuf_mem()
            + self.multi_mem()
            + self.pubsub_mem()
            + self.tracking_mem()
    }

    /// The query buffer as Redis counts it: its size, or all of a big
    /// argument being received (Redis allocates that when its header
    /// arrives; we grow towards it as the bytes come).
    #[inline]
    pub fn qbuf_mem(&self, qbuf_len: usize) -> usize {
        match self.parse.big_bulk() {
            Some((_, end)) => qbuf_len.max(end),
            None => qbuf_len,
        }
    }

    /// The output buffer: the reply buffer's size (Redis's static buffer,
    /// CLIENT LIST rbs) or what the output grew to beyond it.
    #[inline]
    pub fn obuf_mem(&self) -> usize {
        self.out.buf.capacity().max(self.rbuf_size)
    }

    /// Queued MULTI commands and WATCHed keys (CLIENT LIST multi-mem,
    /// Redis's multiStateMemOverhead).
    #[inline]
    pub fn multi_mem(&self) -> usize {
        let queued = self.multi.as_ref().map_or(0, |m| m.mem);
        queued + self.watched.capacity() * std::mem::size_of::<crate::multi::WatchedKey>()
    }

    /// Pub/Sub subscriptions: this client's lists of channels and
    /// patterns (the names are counted with the server's tables).
    #[inline]
    pub fn pubsub_mem(&self) -> usize {
        (self.subs.capacity() + self.psubs.capacity() + self.ssubs.capacity())
            * std::mem::size_of::<Vec<u8>>()
    }

    /// Client tracking: the BCAST prefixes this client registered.
    #[inline]
    pub fn tracking_mem(&self) -> usize {
        // The prefixes themselves are short: a small allocation each.
        self.tracking.as_ref().map_or(0, |t| {
            t.prefixes.capacity() * std::mem::size_of::<Vec<u8>>() + t.prefixes.len() * 16
        })
    }

    /// Memory used by this client's buffers (CLIENT LIST qbuf/omem).
    pub fn query_buf_size(&self) -> usize {
        self.qbuf.len()
    }
}

/// Where a replica connected to us is in its synchronization
/// (the replication service drives it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RState {
    /// Only REPLCONF seen so far: not a replica yet.
    Handshake,
    /// Waiting for a snapshot child to be started.
    WaitBgsaveStart,
    /// Our snapshot child is writing the RDB.
    WaitBgsaveEnd,
    /// Sending the RDB file.
    SendBulk,
    Online,
}

/// Per-client replication state of a replica connected to us.
pub struct ReplicaInfo {
    pub state: RState,
    pub listening_port: u16,
    pub ip: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// Old SYNC protocol: no +FULLRESYNC line.
    pub pre_psync: bool,
    pub ack_off: i64,
    pub ack_time_ms: i64,
    /// The RDB file being sent and the bytes left.
    pub bulk: Option<(std::fs::File, u64)>,
    /// The offset +FULLRESYNC announced.
    pub initial_offset: i64,
    /// Diskless transfer: when a write to it last stayed partial (0: none
    /// pending), for the full-sync timeout.
    pub last_partial_write_ms: i64,
    /// Online after a diskless transfer: the stream starts with its first
    /// REPLCONF ACK (repl_start_cmd_stream_on_ack).
    pub stream_on_ack: bool,
    /// REPLCONF rdb-filter-only: what its snapshot leaves out (the
    /// replication master's REQ_EXCLUDE_* bits, Redis's slave_req). Only
    /// replicas with equal requirements share a snapshot.
    pub req: u8,
}

impl Default for ReplicaInfo {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplicaInfo {
    pub fn new() -> ReplicaInfo {
        ReplicaInfo {
            state: RState::Handshake,
            listening_port: 0,
            ip: None,
            capa_eof: false,
            capa_psync2: false,
            pre_psync: false,
            ack_off: 0,
            ack_time_ms: crate::clock::wall_ms(),
            bulk: None,
            initial_offset: 0,
            last_partial_write_ms: 0,
            stream_on_ack: false,
            req: 0,
        }
    }

    pub fn is_replica(&self) -> bool {
        self.state != RState::Handshake
    }

    pub fn online(&self) -> bool {
        self.state == RState::Online
    }

    /// Still needs the stream since its snapshot's fork from the backlog.
    pub fn waits_for_stream(&self) -> bool {
        matches!(self.state, RState::WaitBgsaveEnd | RState::SendBulk)
            || (self.state == RState::Online && self.stream_on_ack)
    }

    /// The state INFO shows.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            RState::Handshake | RState::WaitBgsaveStart | RState::WaitBgsaveEnd => "wait_bgsave",
            RState::SendBulk => "send_bulk",
            RState::Online => "online",
        }
    }
}
