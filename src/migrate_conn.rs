//! MIGRATE's connections to target instances (Redis's cluster.c
//! `migrate_cached_sockets`): one blocking TCP connection per "host:port"
//! as MIGRATE named it, reused by later MIGRATEs, remembering the db last
//! SELECTed on it. At most 64 are kept (a random one is dropped to make
//! room); the cron closes those idle for more than 10 seconds. Under
//! `tls-cluster` they are TLS (Redis's connCreateTLS in migrateGetSocket):
//! the handshake is made at connect time within the timeout, with the
//! client context (`tls::TlsContext::client`).
//!
//! All I/O here is synchronous on the calling (keyspace) thread and bounded
//! by the caller's timeout, as Redis's syncio.c is: the whole write of one
//! chunk, or the reading of one reply line, must finish within `timeout`.

use crate::util::num::atoi;
use rand::Rng;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// MIGRATE_SOCKET_CACHE_ITEMS.
pub const CACHE_ITEMS: usize = 64;
/// MIGRATE_SOCKET_CACHE_TTL, seconds.
pub const CACHE_TTL_SECS: i64 = 10;
/// Redis reads each reply line into a 1024-byte buffer.
const LINE_MAX: usize = 1023;

/// Why a synchronous operation failed: a timeout (Redis's ETIMEDOUT, which
/// MIGRATE never retries) or anything else (closed connection, reset...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoFail {
    Timeout,
    Other,
}

/// A blocking connection, TCP or TLS over TCP.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Stream {
    fn sock(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.sock,
        }
    }

    fn set_write_timeout(&self, t: Duration) -> io::Result<()> {
        self.sock().set_write_timeout(Some(t))
    }

    fn set_read_timeout(&self, t: Duration) -> io::Result<()> {
        self.sock().set_read_timeout(Some(t))
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            // rustls writes what it encrypted at the next I/O: flushed
            // now, so the timeout applies to it.
            Stream::Tls(t) => t.write(buf).and_then(|n| t.flush().map(|_| n)),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

/// One cached connection (migrateCachedSocket).
pub struct CachedSocket {
    name: Vec<u8>,
    stream: Stream,
    /// Bytes read past the last line returned.
    rbuf: Vec<u8>,
    /// The db selected on the target, -1 when unknown.
    pub last_dbid: i64,
    /// Unix seconds of the last use.
    last_use: i64,
}

impl CachedSocket {
    /// Writes all of `buf` within `timeout` (syncWrite).
    pub fn write_all(&mut self, buf: &[u8], timeout: Duration) -> Result<(), IoFail> {
        let end = Instant::now() + timeout;
        let mut pos = 0;
        while pos < buf.len() {
            let left = remaining(end)?;
            self.stream
                .set_write_timeout(left)
                .map_err(|_| IoFail::Other)?;
            match self.stream.write(&buf[pos..]) {
                Ok(0) => return Err(IoFail::Other),
                Ok(n) => pos += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fail_kind(&e)),
            }
        }
        Ok(())
    }

    /// Reads one reply line, without its CR LF (syncReadLine): each byte
    /// must arrive within `timeout`. A line longer than Redis's 1024-byte
    /// buffer is cut there and the rest is left for the next read, as Redis
    /// does. An empty line counts as a failure, as it does for MIGRATE.
    pub fn read_line(&mut self, timeout: Duration) -> Result<Vec<u8>, IoFail> {
        let mut end = Instant::now() + timeout;
        loop {
            let nl = self.rbuf.iter().position(|&b| b == b'\n');
            if let Some(p) = nl.filter(|&p| p < LINE_MAX) {
                let mut line: Vec<u8> = self.rbuf.drain(..=p).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if p == 0 {
                    return Err(IoFail::Other);
                }
                return Ok(line);
            }
            if self.rbuf.len() >= LINE_MAX {
                return Ok(self.rbuf.drain(..LINE_MAX).collect());
            }
            let left = remaining(end)?;
            self.stream
                .set_read_timeout(left)
                .map_err(|_| IoFail::Other)?;
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(IoFail::Other),
                Ok(n) => {
                    self.rbuf.extend_from_slice(&chunk[..n]);
                    end = Instant::now() + timeout;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fail_kind(&e)),
            }
        }
    }
}

fn remaining(end: Instant) -> Result<Duration, IoFail> {
    let left = end.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(IoFail::Timeout)
    } else {
        Ok(left)
    }
}

fn fail_kind(e: &io::Error) -> IoFail {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => IoFail::Timeout,
        _ => IoFail::Other,
    }
}

/// The cache (server.migrate_cached_sockets).
#[derive(Default)]
pub struct MigrateSockets {
    socks: Vec<CachedSocket>,
}

/// "host:port", the cache key.
fn cache_name(host: &[u8], port: &[u8]) -> Vec<u8> {
    let mut n = Vec::with_capacity(host.len() + port.len() + 1);
    n.extend_from_slice(host);
    n.push(b':');
    n.extend_from_slice(port);
    n
}

/// Connects to `host`:`port` as Redis's connBlockingConnect does: a
/// non-blocking connect to the first address that does not fail at once,
/// then a wait of up to `timeout` for it to become writable — whose outcome
/// Redis ignores: a refused or still pending connection only shows when
/// MIGRATE writes to it ("error or timeout writing"). None when the name
/// does not resolve or every address fails immediately, or (`tls`) when
/// the TLS handshake does not complete within `timeout` (Redis's
/// connTLSBlockingConnect, the socket's timeouts set to it).
fn connect(
    host: &[u8],
    port: &[u8],
    timeout: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Option<Stream> {
    let host = std::str::from_utf8(host).ok()?;
    let port = u16::try_from(atoi(port)).ok()?;
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().ok()?.collect();
    let mut s = addrs
        .into_iter()
        .find_map(|a| mio::net::TcpStream::connect(a).ok())?;
    if let Ok(mut poll) = mio::Poll::new() {
        let mut events = mio::Events::with_capacity(1);
        if poll
            .registry()
            .register(&mut s, mio::Token(0), mio::Interest::WRITABLE)
            .is_ok()
        {
            let _ = poll.poll(&mut events, Some(timeout));
            let _ = poll.registry().deregister(&mut s);
        }
    }
    let mut s = TcpStream::from(s);
    s.set_nonblocking(false).ok()?;
    let Some(cfg) = tls else {
        let _ = s.set_nodelay(true);
        return Some(Stream::Plain(s));
    };
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .ok()
        .or_else(|| rustls::pki_types::ServerName::try_from("redis").ok())?;
    let mut conn = rustls::ClientConnection::new(cfg, name).ok()?;
    let end = Instant::now() + timeout;
    while conn.is_handshaking() {
        let left = remaining(end).ok()?;
        s.set_read_timeout(Some(left)).ok()?;
        s.set_write_timeout(Some(left)).ok()?;
        match conn.complete_io(&mut s) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let _ = s.set_nodelay(true);
    Some(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, s))))
}

impl MigrateSockets {
    /// How many connections are cached (INFO's migrate_cached_sockets).
    pub fn len(&self) -> usize {
        self.socks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.socks.is_empty()
    }

    /// The cached connection to `host`:`port`, or a new one
    /// (migrateGetSocket), as an index for `at` (valid until the cache
    /// changes). None when no connection could be made within `timeout`.
    /// `tls`: the client config of a new connection's TLS (tls-cluster).
    pub fn get(
        &mut self,
        host: &[u8],
        port: &[u8],
        timeout: Duration,
        now_secs: i64,
        rng: &mut impl Rng,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Option<usize> {
        let name = cache_name(host, port);
        if let Some(i) = self.socks.iter().position(|s| s.name == name) {
            self.socks[i].last_use = now_secs;
            return Some(i);
        }
        if self.socks.len() >= CACHE_ITEMS {
            // Too many: drop one at random.
            let victim = rng.gen_range(0..self.socks.len());
            self.socks.swap_remove(victim);
        }
        let stream = connect(host, port, timeout, tls)?;
        self.socks.push(CachedSocket {
            name,
            stream,
            rbuf: Vec::new(),
            last_dbid: -1,
            last_use: now_secs,
        });
        Some(self.socks.len() - 1)
    }

    /// The connection `get` returned.
    pub fn at(&mut self, i: usize) -> &mut CachedSocket {
        &mut self.socks[i]
    }

    /// Closes the connection to `host`:`port`, if cached (migrateCloseSocket).
    pub fn close(&mut self, host: &[u8], port: &[u8]) {
        let name = cache_name(host, port);
        self.socks.retain(|s| s.name != name);
    }

    /// Closes connections idle for more than 10 seconds
    /// (migrateCloseTimedoutSockets).
    pub fn close_timed_out(&mut self, now_secs: i64) {
        self.socks
            .retain(|s| now_secs - s.last_use <= CACHE_TTL_SECS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi(b"6379"), 6379);
        assert_eq!(atoi(b" 12ab"), 12);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b"-5"), -5);
    }

    #[test]
    fn lines_and_cache_expiry() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port().to_string();
        let mut cache = MigrateSockets::default();
        let mut rng = rand::thread_rng();
        let t = Duration::from_secs(5);
        let i = cache
            .get(b"127.0.0.1", port.as_bytes(), t, 100, &mut rng, None)
            .expect("connect");
        let s = cache.at(i);
        let (mut peer, _) = l.accept().unwrap();
        peer.write_all(b"+OK\r\n-ERR x\r\n+NOK").unwrap();
        assert_eq!(s.read_line(t).unwrap(), b"+OK");
        assert_eq!(s.read_line(t).unwrap(), b"-ERR x");
        assert_eq!(s.read_line(Duration::from_millis(50)), Err(IoFail::Timeout));
        drop(peer);
        assert_eq!(s.read_line(t), Err(IoFail::Other));
        assert_eq!(
            cache.get(b"127.0.0.1", port.as_bytes(), t, 105, &mut rng, None),
            Some(0)
        );
        assert_eq!(cache.len(), 1);
        cache.close_timed_out(115);
        assert_eq!(cache.len(), 1);
        cache.close_timed_out(116);
        assert!(cache.is_empty());
    }
}
