//! One TLS connection over a non-blocking TCP socket: the shape of
//! rustls's mio examples (socket → `read_tls` → `process_new_packets` →
//! plaintext reader; plaintext writer → `write_tls` → socket while it
//! `wants_write`), behind `Read`/`Write` so the client code sees the
//! plaintext stream as it sees a TCP socket. The handshake happens inside
//! the first reads (and writable events flush what it queued): the event
//! loop never blocks on it.
//!
//! The contracts the event loop relies on: a read shorter than the buffer
//! means the socket said EAGAIN (or EOF), so edge-triggered readiness is
//! safe; a write accepts plaintext only when the TLS bytes of the previous
//! one reached the socket, so what rustls buffers stays within one write
//! (its 64 KiB buffer limit), and the client's own output buffer (with
//! client-output-buffer-limit) holds the rest.

use mio::net::TcpStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, Connection, DigitallySignedStruct, ServerConfig};
use std::io::{self, Read, Write};
use std::sync::Arc;

pub struct TlsStream {
    pub sock: TcpStream,
    conn: Connection,
    /// The peer closed the TCP connection.
    eof: bool,
    /// The owner logs a failed accept itself (the cluster bus, in its own
    /// words), so `fill` does not.
    quiet: bool,
}

impl TlsStream {
    /// An accepted connection; the handshake runs as data arrives.
    pub fn server(sock: TcpStream, cfg: Arc<ServerConfig>) -> io::Result<TlsStream> {
        let conn = rustls::ServerConnection::new(cfg).map_err(io::Error::other)?;
        Ok(TlsStream {
            sock,
            conn: Connection::Server(conn),
            eof: false,
            quiet: false,
        })
    }

    /// An outgoing connection (a replica's link to its master); the
    /// ClientHello is queued, sent on the first writable event or write.
    pub fn client(sock: TcpStream, cfg: Arc<ClientConfig>, host: &str) -> io::Result<TlsStream> {
        let name = ServerName::try_from(host.to_string())
            .unwrap_or_else(|_| ServerName::try_from("redis").expect("static name"));
        let conn = rustls::ClientConnection::new(cfg, name).map_err(io::Error::other)?;
        Ok(TlsStream {
            sock,
            conn: Connection::Client(conn),
            eof: false,
            quiet: false,
        })
    }

    /// The stream ended (EOF or a TLS error) with plaintext delivered
    /// before it: the next read returns 0, so a short read must not be
    /// taken for "drained".
    #[inline]
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// A failed accept is not logged here: the owner (the cluster bus)
    /// logs it in its own words.
    pub fn set_quiet(&mut self) {
        self.quiet = true;
    }

    /// Drives the handshake without blocking (the cluster bus's outbound
    /// links, which send nothing before it is done): Ok(true) once it is
    /// done, Ok(false) while it waits for the socket (every read went to
    /// EAGAIN, or the socket is full: readiness comes back), Err when it
    /// failed or the peer closed.
    pub fn handshake(&mut self) -> io::Result<bool> {
        loop {
            if !self.flush_tls()? {
                return Ok(false);
            }
            if !self.conn.is_handshaking() {
                return Ok(true);
            }
            if self.eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed during the TLS handshake",
                ));
            }
            if self.fill()?.is_none() {
                return Ok(false);
            }
        }
    }

    /// TLS bytes are waiting for the socket.
    #[inline]
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Writes queued TLS bytes. Ok(true) once none are left, Ok(false)
    /// when the socket is full.
    pub fn flush_tls(&mut self) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Sends close_notify, best effort (the socket is closed next).
    pub fn close_notify(&mut self) {
        if !self.eof {
            self.conn.send_close_notify();
            let _ = self.flush_tls();
        }
    }

    /// Reads and decrypts what the socket has. Err for a TLS error (the
    /// alert, if any, is sent first).
    fn fill(&mut self) -> io::Result<Option<usize>> {
        match self.conn.read_tls(&mut self.sock) {
            Ok(0) => {
                self.eof = true;
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(Some(0)),
            Err(e) => return Err(e),
        }
        if let Err(e) = self.conn.process_new_packets() {
            let handshaking = self.conn.is_handshaking();
            let server = matches!(self.conn, Connection::Server(_));
            // Not TLS at all (plaintext on the TLS port): no alert, the
            // peer sees the connection reset, as with OpenSSL's "wrong
            // version number".
            if !(server && handshaking && matches!(e, rustls::Error::InvalidMessage(_))) {
                let _ = self.flush_tls();
            }
            // Nothing more is sent (no close_notify after the alert).
            self.eof = true;
            if server && handshaking && !self.quiet {
                tracing::warn!("Error accepting a client connection: {}", e);
            }
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        // Handshake messages, session tickets, alerts.
        if self.conn.wants_write() {
            self.flush_tls()?;
        }
        Ok(Some(0))
    }
}

impl TlsStream {
    /// Plaintext that is there, reading the socket only when none is (a
    /// blocking reader's semantics: the diskless RDB load reads the link
    /// with the socket made blocking). Ok(0) at the end of the stream.
    pub fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if self.eof {
                return Ok(0);
            }
            if self.fill()?.is_none() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
    }
}

impl Read for TlsStream {
    /// Fills `buf` with plaintext until it is full or the socket has
    /// nothing more (so a short read means EAGAIN was seen, as for a
    /// plain socket). Ok(0) is the end of the stream: close_notify, or the
    /// peer closing the TCP connection without it.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut got = 0;
        loop {
            match self.conn.reader().read(&mut buf[got..]) {
                Ok(0) => return Ok(got),
                Ok(n) => {
                    got += n;
                    if got == buf.len() {
                        return Ok(got);
                    }
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(got),
                Err(e) => return Err(e),
            }
            if self.eof {
                return Ok(got);
            }
            match self.fill() {
                Ok(Some(_)) => {}
                Ok(None) if got > 0 => return Ok(got),
                Ok(None) => return Err(io::ErrorKind::WouldBlock.into()),
                Err(e) if got > 0 => {
                    // Deliver what was read; the error comes back next time.
                    self.eof = true;
                    let _ = e;
                    return Ok(got);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.flush_tls()? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.conn.writer().write(buf)?;
        if n == 0 {
            // rustls's buffer is full (data queued during the handshake).
            return Err(io::ErrorKind::WouldBlock.into());
        }
        // The socket takes what it can now; the rest waits in rustls and
        // holds back the next write.
        self.flush_tls()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl mio::event::Source for TlsStream {
    fn register(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        self.sock.register(r, t, i)
    }
    fn reregister(&mut self, r: &mio::Registry, t: mio::Token, i: mio::Interest) -> io::Result<()> {
        self.sock.reregister(r, t, i)
    }
    fn deregister(&mut self, r: &mio::Registry) -> io::Result<()> {
        self.sock.deregister(r)
    }
}

/// The replica's check of its master's certificate, as Redis's (OpenSSL
/// SSL_VERIFY_PEER without a host name): the chain must lead to the CA,
/// the name in it is not compared with the address dialled. Without a CA
/// (allowed while tls-replication and tls-auth-clients are off, as in
/// Redis) no certificate is trusted.
#[derive(Debug)]
pub struct CaOnlyVerifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl CaOnlyVerifier {
    pub fn new(
        roots: Option<Arc<rustls::RootCertStore>>,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<CaOnlyVerifier, String> {
        let webpki = match roots {
            Some(roots) => Some(
                WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| {
                        format!(
                            "Failed to configure CA certificate(s) file/directory: {}",
                            e
                        )
                    })?,
            ),
            None => None,
        };
        Ok(CaOnlyVerifier { webpki, provider })
    }
}

impl ServerCertVerifier for CaOnlyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ));
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            r => r,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
