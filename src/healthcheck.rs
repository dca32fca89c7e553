//! `ferrokv-server --check-ping [host:port | port | /unix/socket]`: a tiny
//! PING client for container health checks (a `FROM scratch` image has no
//! redis-cli). Sends `PING` and exits 0 when the server answers `+PONG`
//! (or `-NOAUTH`: it is up but wants a password), 1 otherwise, printing
//! the reply or the error.
//!
//! Without an address it finds the server itself: the TCP sockets that
//! process 1 (the server, in a container) listens on, from its
//! /proc/1/fd socket inodes matched in /proc/1/net/tcp and tcp6 — so a
//! `--port 7000` or `--bind` given to the container needs no change to the
//! HEALTHCHECK, also with `--network host`. Wildcard addresses are reached
//! through loopback. A server with only a unix socket (`port 0`) is
//! checked through it. Falls back to 127.0.0.1:6379.
//!
//! A port that does not answer plaintext is tried again over TLS (a
//! `tls-port`): the check completes a handshake without verifying the
//! server's certificate (it sends nothing but PING) and without a client
//! certificate. A server that requires one (`tls-auth-clients yes`)
//! refuses it with a TLS alert after its half of the handshake, which
//! proves its event loop is serving: that counts as up.
//!
//! Standalone: std, rustls and the kernel's /proc, nothing from the server.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the check; returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    let result = match args.first().map(|s| s.as_str()) {
        Some(path) if path.starts_with('/') => ping_unix(path),
        Some(addr) => match resolve(addr) {
            Ok(addrs) => ping_any(&addrs),
            Err(e) => Err(e),
        },
        None => {
            let inodes = socket_inodes(1);
            let mut addrs = listening_addrs(1, &inodes);
            match listening_unix_paths(1, &inodes).first() {
                // Only a unix socket (`port 0`): check through it.
                Some(path) if addrs.is_empty() => ping_unix(path),
                _ => {
                    if addrs.is_empty() {
                        addrs.push(SocketAddr::from((Ipv4Addr::LOCALHOST, 6379)));
                    }
                    ping_any(&addrs)
                }
            }
        }
    };
    match result {
        Ok(reply) => {
            println!("{}", reply);
            0
        }
        Err(e) => {
            eprintln!("ferrokv-server --check-ping: {}", e);
            1
        }
    }
}

/// `host:port`, `[v6]:port` or a bare port (on 127.0.0.1).
fn resolve(addr: &str) -> Result<Vec<SocketAddr>, String> {
    if let Ok(port) = addr.parse::<u16>() {
        return Ok(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))]);
    }
    addr.to_socket_addrs()
        .map(|a| a.collect())
        .map_err(|e| format!("{}: {}", addr, e))
}

fn ping_any(addrs: &[SocketAddr]) -> Result<String, String> {
    let mut last = String::from("no address to check");
    for a in addrs {
        let r = connect(a).and_then(|s| Ok(ping(s)?)).or_else(|plain| {
            // A TLS port closes on plaintext: try it as one.
            connect(a).and_then(ping_tls).map_err(|tls| {
                if plain.connected {
                    format!("{} (over TLS: {})", plain.msg, tls.msg)
                } else {
                    plain.msg
                }
            })
        });
        match r {
            Ok(reply) => return Ok(reply),
            Err(e) => last = format!("{}: {}", a, e),
        }
    }
    Err(last)
}

/// Why a check failed, and whether it got as far as a connection.
struct Failed {
    msg: String,
    connected: bool,
}

impl From<String> for Failed {
    fn from(msg: String) -> Failed {
        Failed {
            msg,
            connected: true,
        }
    }
}

fn connect(a: &SocketAddr) -> Result<TcpStream, Failed> {
    let s = TcpStream::connect_timeout(a, TIMEOUT).map_err(|e| Failed {
        msg: e.to_string(),
        connected: false,
    })?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// PING over TLS (see the module comment).
fn ping_tls(sock: TcpStream) -> Result<String, Failed> {
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(AnyServer(provider)))
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let conn =
        rustls::ClientConnection::new(std::sync::Arc::new(cfg), name).map_err(|e| e.to_string())?;
    let mut s = rustls::StreamOwned::new(conn, sock);
    match ping(&mut s) {
        // TLSv1.3's alert for a missing client certificate.
        Err(e) if e.contains("CertificateRequired") => {
            Ok("up (TLS: the server requires a client certificate to PING)".to_string())
        }
        r => Ok(r?),
    }
}

/// Accepts any server certificate, with a real check of the handshake's
/// signature: the health check needs the server's liveness, not its
/// identity, and sends it nothing secret.
#[derive(Debug)]
struct AnyServer(std::sync::Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn ping_unix(path: &str) -> Result<String, String> {
    let s =
        std::os::unix::net::UnixStream::connect(path).map_err(|e| format!("{}: {}", path, e))?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    ping(s)
}

/// Sends PING and reads one reply line.
fn ping(mut s: impl Read + Write) -> Result<String, String> {
    s.write_all(b"*1\r\n$4\r\nPING\r\n")
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    while !buf.ends_with(b"\r\n") && buf.len() < 4096 {
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf).trim_end().to_string();
    if line == "+PONG" || line.starts_with("-NOAUTH") {
        Ok(line.trim_start_matches('+').to_string())
    } else if line.is_empty() {
        Err("connection closed without a reply".to_string())
    } else {
        Err(format!("unexpected reply: {}", line))
    }
}

/// The inodes of the sockets process `pid` has open.
fn socket_inodes(pid: u32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{}/fd", pid)) else {
        return Vec::new();
    };
    dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect()
}

/// The paths of the unix sockets among `inodes` that are listening
/// (/proc/net/unix: `Num RefCount Protocol Flags Type St Inode Path`, flag
/// 0x10000 is __SO_ACCEPTCON).
fn listening_unix_paths(pid: u32, inodes: &[String]) -> Vec<String> {
    let Ok(table) = std::fs::read_to_string(format!("/proc/{}/net/unix", pid)) else {
        return Vec::new();
    };
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let flags = u32::from_str_radix(f.get(3)?, 16).ok()?;
            let path = f.get(7)?;
            (flags & 0x10000 != 0 && inodes.iter().any(|i| i == f[6]) && path.starts_with('/'))
                .then(|| path.to_string())
        })
        .collect()
}

/// The TCP addresses among `inodes` that process `pid` listens on (IPv4
/// first), wildcards replaced by loopback.
fn listening_addrs(pid: u32, inodes: &[String]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for (file, v6) in [("tcp", false), ("tcp6", true)] {
        let Ok(table) = std::fs::read_to_string(format!("/proc/{}/net/{}", pid, file)) else {
            continue;
        };
        for line in table.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if f.len() < 10 || f[3] != "0A" || !inodes.iter().any(|i| i == f[9]) {
                continue;
            }
            if let Some(a) = parse_proc_addr(f[1], v6) {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// A /proc/net/tcp{,6} `local_address`: the address as 32-bit words in
/// host byte order, hex, then `:PORT` in hex.
fn parse_proc_addr(s: &str, v6: bool) -> Option<SocketAddr> {
    let (ip_hex, port_hex) = s.split_once(':')?;
    let port = u16::from_str_radix(port_hex, 16).ok()?;
    let ip = if v6 {
        if ip_hex.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for w in 0..4 {
            let word = u32::from_str_radix(&ip_hex[w * 8..w * 8 + 8], 16).ok()?;
            bytes[w * 4..w * 4 + 4].copy_from_slice(&word.to_ne_bytes());
        }
        let ip = Ipv6Addr::from(bytes);
        if ip.is_unspecified() {
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        } else {
            IpAddr::V6(ip)
        }
    } else {
        let word = u32::from_str_radix(ip_hex, 16).ok()?;
        let ip = Ipv4Addr::from(word.to_ne_bytes());
        if ip.is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            IpAddr::V4(ip)
        }
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_addresses() {
        assert_eq!(
            parse_proc_addr("0100007F:18EB", false),
            Some("127.0.0.1:6379".parse().unwrap())
        );
        assert_eq!(
            parse_proc_addr("00000000:1B58", false),
            Some("127.0.0.1:7000".parse().unwrap())
        );
        assert_eq!(
            parse_proc_addr("00000000000000000000000000000000:18EB", true),
            Some("[::1]:6379".parse().unwrap())
        );
        assert_eq!(
            parse_proc_addr("00000000000000000000000001000000:18EB", true),
            Some("[::1]:6379".parse().unwrap())
        );
        assert_eq!(parse_proc_addr("zz:1", false), None);
    }

    #[test]
    fn finds_own_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let pid = std::process::id();
        let addrs = listening_addrs(pid, &socket_inodes(pid));
        assert!(addrs.iter().any(|a| a.port() == port), "{:?}", addrs);
    }

    #[test]
    fn finds_own_unix_listener() {
        let path = std::env::temp_dir().join(format!("ferrokv-hc-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let _l = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let pid = std::process::id();
        let found = listening_unix_paths(pid, &socket_inodes(pid));
        let _ = std::fs::remove_file(&path);
        assert!(
            found.iter().any(|p| Some(p.as_str()) == path.to_str()),
            "{:?}",
            found
        );
    }
}
