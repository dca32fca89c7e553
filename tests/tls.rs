//! TLS (tls-port): certificates made at test time with rcgen, clients are
//! redis-cli 7.0.15 (`--tls`) and a small blocking rustls client; the
//! behaviour a client sees is compared with Debian's redis-server started
//! with the same certificates.

use crate::common;

use common::{frame_end, free_port, poll_until, redis_cli, RealRedis, Server};
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A CA, two server certificates (the second for reload tests) and a
/// client certificate, as PEM files in a temp directory.
pub(crate) struct Certs {
    dir: PathBuf,
}

impl Certs {
    pub(crate) fn new() -> Certs {
        let dir = common::temp_dir("tls-certs");
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "ferrokv test CA");
        let ca = ca.self_signed(&ca_key).unwrap();
        let write = |name: &str, data: &str| std::fs::write(dir.join(name), data).unwrap();
        write("ca.crt", &ca.pem());
        for (name, cn, client) in [
            ("server", "server one", false),
            ("server2", "server two", false),
            ("client", "client", true),
        ] {
            let key = KeyPair::generate().unwrap();
            let mut p =
                CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                    .unwrap();
            p.distinguished_name.push(DnType::CommonName, cn);
            // A server's certificate is also its client certificate on a
            // replica's link to its master.
            p.extended_key_usages = if client {
                vec![ExtendedKeyUsagePurpose::ClientAuth]
            } else {
                vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ]
            };
            let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
            write(&format!("{name}.crt"), &cert.pem());
            write(&format!("{name}.key"), &key.serialize_pem());
        }
        Certs { dir }
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// The directives of a TLS server on `tls_port` (client certificates
    /// required: Redis's default tls-auth-clients yes).
    pub(crate) fn args(&self, tls_port: u16) -> Vec<String> {
        vec![
            "--tls-port".into(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            self.path("server.crt"),
            "--tls-key-file".into(),
            self.path("server.key"),
            "--tls-ca-cert-file".into(),
            self.path("ca.crt"),
        ]
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn start(certs: &Certs, extra: &[&str]) -> (Server, u16) {
    start_with(certs, extra, Server::start)
}

pub(crate) fn start_with(certs: &Certs, extra: &[&str], f: fn(&[&str]) -> Server) -> (Server, u16) {
    for _ in 0..5 {
        let tls_port = free_port();
        let mut args = certs.args(tls_port);
        args.extend(extra.iter().map(|s| s.to_string()));
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let srv = f(&a);
        // Ours, not another test's server that took the port first.
        if crate::common::listens_on(srv.pid(), tls_port) {
            return (srv, tls_port);
        }
    }
    panic!("no free TLS port");
}

/// redis-cli --tls with the CA, and the client certificate when `cert`.
pub(crate) fn cli_tls(certs: &Certs, port: u16, cert: bool, args: &[&str]) -> String {
    let mut v = vec!["--tls".to_string(), "--cacert".into(), certs.path("ca.crt")];
    if cert {
        v.extend([
            "--cert".to_string(),
            certs.path("client.crt"),
            "--key".into(),
            certs.path("client.key"),
        ]);
    }
    v.extend(args.iter().map(|s| s.to_string()));
    let a: Vec<&str> = v.iter().map(|s| s.as_str()).collect();
    redis_cli(port, &a)
}

/// A blocking rustls client speaking RESP.
struct TlsConn {
    s: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    buf: Vec<u8>,
}

pub(crate) fn client_config(certs: &Certs, with_cert: bool) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(certs.path("ca.crt")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let b = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(if with_cert {
        let chain: Vec<_> = CertificateDer::pem_file_iter(certs.path("client.crt"))
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
        let key = PrivateKeyDer::from_pem_file(certs.path("client.key")).unwrap();
        b.with_client_auth_cert(chain, key).unwrap()
    } else {
        b.with_no_client_auth()
    })
}

impl TlsConn {
    fn connect(certs: &Certs, port: u16) -> TlsConn {
        Self::connect_with(client_config(certs, true), port)
    }

    fn connect_with(cfg: Arc<rustls::ClientConfig>, port: u16) -> TlsConn {
        let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(cfg, name).unwrap();
        let mut s = rustls::StreamOwned::new(conn, sock);
        while s.conn.is_handshaking() {
            s.conn.complete_io(&mut s.sock).expect("TLS handshake");
        }
        TlsConn { s, buf: Vec::new() }
    }

    fn send(&mut self, args: &[&str]) {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.s.write_all(&common::encode(&a)).unwrap();
    }

    fn try_reply(&mut self) -> std::io::Result<Vec<u8>> {
        let mut chunk = [0u8; 65536];
        loop {
            if let Some(end) = frame_end(&self.buf, 0).unwrap() {
                let rest = self.buf.split_off(end);
                return Ok(std::mem::replace(&mut self.buf, rest));
            }
            let n = self.s.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn reply(&mut self) -> Vec<u8> {
        self.try_reply().expect("a reply")
    }

    fn cmd(&mut self, args: &[&str]) -> String {
        self.send(args);
        String::from_utf8_lossy(&self.reply()).into_owned()
    }

    /// The certificate the server presented.
    fn peer_cert(&self) -> Vec<u8> {
        self.s.conn.peer_certificates().unwrap()[0].to_vec()
    }
}

fn pem_der(path: &str) -> Vec<u8> {
    CertificateDer::from_pem_file(path).unwrap().to_vec()
}

#[test]
fn redis_cli_round_trip_beside_plaintext_port() {
    let certs = Certs::new();
    let (srv, tls) = start(&certs, &[]);
    assert_eq!(cli_tls(&certs, tls, true, &["set", "k", "v"]).trim(), "OK");
    assert_eq!(cli_tls(&certs, tls, true, &["get", "k"]).trim(), "v");
    // The plaintext port serves the same data at the same time.
    assert_eq!(redis_cli(srv.port(), &["get", "k"]).trim(), "v");
    // INFO: tcp_port is the plaintext port when there is one (Redis's
    // server.port ? server.port : server.tls_port).
    let info = redis_cli(srv.port(), &["info", "server"]);
    assert!(
        info.contains(&format!("tcp_port:{}\r\n", srv.port())),
        "{info}"
    );
    // CLIENT LIST over TLS shows the same fields as over TCP.
    let list = cli_tls(&certs, tls, true, &["client", "list"]);
    assert!(list.contains(&format!("laddr=127.0.0.1:{tls} ")), "{list}");
    assert!(list.contains(" flags=N "), "{list}");
    srv.assert_no_panic();
}

/// What a client without a certificate, and a plaintext client on the TLS
/// port, see from ferrokv and from Redis with the same certificates.
#[test]
fn refusals_match_redis() {
    if !common::have_real_redis("TLS refusals against Redis's") {
        return;
    }
    let certs = Certs::new();
    let (ours, our_tls) = start(&certs, &[]);
    let (redis, redis_tls) = start_with(&certs, &[], RealRedis::start_with);
    for (name, f) in [
        (
            "no client certificate",
            (|c: &Certs, p: u16| cli_tls(c, p, false, &["ping"])) as fn(&Certs, u16) -> String,
        ),
        ("plaintext on the TLS port", |_c: &Certs, p: u16| {
            redis_cli(p, &["ping"])
        }),
    ] {
        let got = f(&certs, our_tls);
        let want = f(&certs, redis_tls);
        assert!(!got.contains("PONG"), "{name}: {got}");
        assert!(!want.contains("PONG"), "{name}: {want}");
        // The refusal races with the client's first command: the peer
        // closing, or resetting the connection, for both servers.
        let closed = |s: &str| {
            s == "Error: Server closed the connection\n" || s == "Error: Connection reset by peer\n"
        };
        if name == "no client certificate" {
            assert!(closed(&got) && closed(&want), "{name}: {got:?} / {want:?}");
        }
    }
    // Both servers log the failed handshakes the same way.
    for s in [&ours, &redis] {
        assert!(
            poll_until(Duration::from_secs(5), || s
                .log()
                .matches("Error accepting a client connection: ")
                .count()
                >= 2),
            "{}",
            s.log()
        );
    }
    // With tls-auth-clients no the certificate is not asked for.
    assert_eq!(
        redis_cli(ours.port(), &["config", "set", "tls-auth-clients", "no"]).trim(),
        "OK"
    );
    assert_eq!(cli_tls(&certs, our_tls, false, &["ping"]).trim(), "PONG");
    // optional: both kinds of clients.
    redis_cli(
        ours.port(),
        &["config", "set", "tls-auth-clients", "optional"],
    );
    assert_eq!(cli_tls(&certs, our_tls, false, &["ping"]).trim(), "PONG");
    assert_eq!(cli_tls(&certs, our_tls, true, &["ping"]).trim(), "PONG");
    ours.assert_no_panic();
}

#[test]
fn config_set_cert_applies_to_new_connections() {
    let certs = Certs::new();
    let (srv, tls) = start(&certs, &[]);
    let mut old = TlsConn::connect(&certs, tls);
    assert_eq!(old.cmd(&["ping"]), "+PONG\r\n");
    assert_eq!(old.peer_cert(), pem_der(&certs.path("server.crt")));
    let set = |args: &[&str]| {
        let mut a = vec!["config", "set"];
        a.extend_from_slice(args);
        redis_cli(srv.port(), &a)
    };
    // A file that does not load: Redis's error, the old context stays.
    let bad = set(&["tls-cert-file", "/nonexistent.crt"]);
    assert_eq!(
        bad.trim(),
        "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs."
    );
    // (Redis puts OpenSSL's error code before the reason.)
    assert!(
        srv.log().lines().any(
            |l| l.contains("Failed to load certificate: /nonexistent.crt: ")
                && l.ends_with("No such file or directory")
        ),
        "{}",
        srv.log()
    );
    assert_eq!(
        TlsConn::connect(&certs, tls).peer_cert(),
        pem_der(&certs.path("server.crt"))
    );
    let ok = set(&[
        "tls-cert-file",
        &certs.path("server2.crt"),
        "tls-key-file",
        &certs.path("server2.key"),
    ]);
    assert_eq!(ok.trim(), "OK");
    let mut new = TlsConn::connect(&certs, tls);
    assert_eq!(new.cmd(&["ping"]), "+PONG\r\n");
    assert_eq!(new.peer_cert(), pem_der(&certs.path("server2.crt")));
    // The connection made before keeps working.
    assert_eq!(old.cmd(&["ping"]), "+PONG\r\n");
    // Unknown cipher names and TLSv1.1 are refused, nothing changes
    // (where OpenSSL ignores unknown names as long as one matches).
    if common::ferrokv_only("a cipher list naming a suite rustls lacks is refused") {
        return;
    }
    for (name, value) in [
        ("tls-ciphers", "ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-CIPHER"),
        ("tls-ciphersuites", "TLS_AES_128_CCM_SHA256"),
        ("tls-protocols", "TLSv1.1 TLSv1.2"),
    ] {
        let r = set(&[name, value]);
        assert!(
            r.contains("Unable to update TLS configuration"),
            "{name}: {r}"
        );
    }
    let log = srv.log();
    assert!(
        log.contains("Failed to configure ciphers: ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-CIPHER"),
        "{log}"
    );
    assert!(
        log.contains("TLSv1.1 is specified in tls-protocols but not supported"),
        "{log}"
    );
    // Names rustls has are taken.
    let r = set(&[
        "tls-ciphersuites",
        "TLS_CHACHA20_POLY1305_SHA256",
        "tls-protocols",
        "TLSv1.3",
    ]);
    assert_eq!(r.trim(), "OK");
    let mut c = TlsConn::connect(&certs, tls);
    assert_eq!(c.cmd(&["ping"]), "+PONG\r\n");
    assert_eq!(
        format!("{:?}", c.s.conn.negotiated_cipher_suite().unwrap().suite()),
        "TLS13_CHACHA20_POLY1305_SHA256"
    );
    srv.assert_no_panic();
}

#[test]
fn config_set_tls_port_opens_and_closes_the_listener() {
    let certs = Certs::new();
    let (srv, tls) = start(&certs, &[]);
    let mut new_port = free_port();
    while new_port == tls {
        new_port = free_port();
    }
    let r = redis_cli(
        srv.port(),
        &["config", "set", "tls-port", &new_port.to_string()],
    );
    assert_eq!(r.trim(), "OK");
    assert_eq!(
        TlsConn::connect(&certs, new_port).cmd(&["ping"]),
        "+PONG\r\n"
    );
    assert!(TcpStream::connect(("127.0.0.1", tls)).is_err());
    let r = redis_cli(srv.port(), &["config", "set", "tls-port", "0"]);
    assert_eq!(r.trim(), "OK");
    assert!(TcpStream::connect(("127.0.0.1", new_port)).is_err());
    srv.assert_no_panic();
}

/// Garbage, half handshakes and idle connections on the TLS port do not
/// disturb a well-behaved TLS client.
#[test]
fn hostile_clients_on_the_tls_port() {
    let certs = Certs::new();
    let (srv, tls) = start(&certs, &[]);
    let mut good = TlsConn::connect(&certs, tls);
    assert_eq!(good.cmd(&["set", "k", "v"]), "+OK\r\n");
    let mut held = Vec::new();
    for i in 0..50 {
        let mut s = TcpStream::connect(("127.0.0.1", tls)).unwrap();
        match i % 3 {
            // Plaintext RESP.
            0 => {
                let _ = s.write_all(b"*1\r\n$4\r\nPING\r\n");
            }
            // A TLS record header announcing a handshake, then stalling.
            1 => {
                let _ = s.write_all(&[0x16, 0x03, 0x01, 0x40, 0x00, 0x01]);
            }
            // Random bytes.
            _ => {
                let junk: Vec<u8> = (0..4096u32).map(|j| (j * 7919 + i) as u8).collect();
                let _ = s.write_all(&junk);
            }
        }
        held.push(s);
        assert_eq!(good.cmd(&["get", "k"]), "$1\r\nv\r\n");
    }
    // Some drop mid-handshake.
    held.truncate(10);
    for _ in 0..20 {
        assert_eq!(good.cmd(&["incr", "n"]).as_bytes()[0], b':');
    }
    // The garbage connections were closed by the server.
    let mut s = TcpStream::connect(("127.0.0.1", tls)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET k\r\n").unwrap();
    let mut b = [0u8; 64];
    assert!(matches!(s.read(&mut b), Ok(0) | Err(_)));
    assert!(srv.log().contains("Error accepting a client connection: "));
    srv.assert_no_panic();
}

/// Pipelining, a reply far larger than the socket buffers, pub/sub
/// messages pushed from another client, and a clean close.
#[test]
fn large_replies_pipelines_and_pubsub_over_tls() {
    let certs = Certs::new();
    let (srv, tls) = start(&certs, &[]);
    let mut c = TlsConn::connect(&certs, tls);
    let big = "x".repeat(8 << 20);
    assert_eq!(c.cmd(&["set", "big", &big]), "+OK\r\n");
    for _ in 0..3 {
        c.send(&["get", "big"]);
    }
    for _ in 0..3 {
        let r = c.reply();
        assert_eq!(r.len(), big.len() + 2 + format!("${}\r\n", big.len()).len());
    }
    // A deep pipeline in one write.
    let mut batch = Vec::new();
    for i in 0..2000 {
        let v = i.to_string();
        batch.extend(common::encode(&[b"rpush", b"l", v.as_bytes()]));
    }
    c.s.write_all(&batch).unwrap();
    for i in 0..2000 {
        assert_eq!(c.reply(), format!(":{}\r\n", i + 1).into_bytes());
    }
    // Pub/sub: a TLS subscriber gets what a plaintext client publishes.
    let mut sub = TlsConn::connect(&certs, tls);
    sub.send(&["subscribe", "ch"]);
    sub.reply();
    assert_eq!(
        redis_cli(srv.port(), &["publish", "ch", "hello"]).trim(),
        "1"
    );
    assert_eq!(
        sub.reply(),
        b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n".to_vec()
    );
    // QUIT: the reply, then close_notify (a clean end of stream).
    c.send(&["quit"]);
    assert_eq!(c.reply(), b"+OK\r\n".to_vec());
    let mut rest = Vec::new();
    assert_eq!(c.s.read_to_end(&mut rest).map(|_| rest.len()).ok(), Some(0));
    srv.assert_no_panic();
}

#[test]
fn startup_refusals_are_logged_as_redis_does() {
    let certs = Certs::new();
    let bin = env!("CARGO_BIN_EXE_ferrokv-server");
    let run = |extra: &[String]| {
        let mut args = vec![
            "--port".to_string(),
            "0".into(),
            "--save".into(),
            "".into(),
            "--tls-port".into(),
            free_port().to_string(),
        ];
        args.extend(extra.iter().cloned());
        let out = std::process::Command::new(bin)
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let cert = vec![
        "--tls-cert-file".to_string(),
        certs.path("server.crt"),
        "--tls-key-file".into(),
        certs.path("server.key"),
    ];
    let log = run(&[]);
    assert!(log.contains("No tls-cert-file configured!"), "{log}");
    assert!(
        log.contains("Failed to configure TLS. Check logs for more info."),
        "{log}"
    );
    let log = run(&cert);
    assert!(log.contains("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!"), "{log}");
    let mut v = cert.clone();
    v.extend([
        "--tls-auth-clients".into(),
        "no".into(),
        "--tls-protocols".into(),
        "TLSv1".into(),
    ]);
    let log = run(&v);
    assert!(
        log.contains("TLSv1 is specified in tls-protocols but not supported by ferrokv"),
        "{log}"
    );
}

/// tls-key-file-pass with an encrypted PKCS#8 key (openssl's CLI makes
/// it; skipped where it is missing).
#[test]
fn encrypted_key_with_passphrase() {
    let certs = Certs::new();
    let enc = certs.path("server.enc.key");
    let ok = std::process::Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes256",
            "-passout",
            "pass:s3cret",
            "-in",
        ])
        .arg(certs.path("server.key"))
        .arg("-out")
        .arg(&enc)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty() || v == "false"),
            "the openssl command is needed to encrypt a key (CI is set: .ci/run installs it)"
        );
        eprintln!("\n*** SKIPPED: openssl CLI not available to encrypt a key\n");
        return;
    }
    let (srv, tls) = start(
        &certs,
        &["--tls-key-file", &enc, "--tls-key-file-pass", "s3cret"],
    );
    assert_eq!(TlsConn::connect(&certs, tls).cmd(&["ping"]), "+PONG\r\n");
    let r = redis_cli(srv.port(), &["config", "set", "tls-key-file-pass", "wrong"]);
    assert!(r.contains("Unable to update TLS configuration"), "{r}");
    assert!(
        srv.log().contains("Failed to load private key: "),
        "{}",
        srv.log()
    );
}

/// Waits until `replica` (plaintext port) reports its link up and holds
/// `key` = `want`.
fn wait_replicated(replica: &Server, key: &str, want: &str) {
    let ok = poll_until(Duration::from_secs(20), || {
        redis_cli(replica.port(), &["info", "replication"]).contains("master_link_status:up")
            && redis_cli(replica.port(), &["get", key]).trim() == want
    });
    assert!(ok, "replica did not sync:\n{}", replica.log());
}

/// tls-replication: a ferrokv replica of a ferrokv master over TLS (full
/// sync with a disk and a diskless master, the stream, a partial resync
/// after the link drops), and a real redis-server replica of the ferrokv
/// TLS master.
#[test]
fn replication_over_tls() {
    let certs = Certs::new();
    // (master's repl-diskless-sync, replica's repl-diskless-load)
    for (diskless, load) in [("no", "disabled"), ("yes", "disabled"), ("yes", "swapdb")] {
        let (master, mtls) = start(
            &certs,
            &[
                "--repl-diskless-sync",
                diskless,
                "--repl-diskless-sync-delay",
                "0",
                "--enable-debug-command",
                "yes",
            ],
        );
        redis_cli(master.port(), &["set", "before", "1"]);
        // Enough data for the transfer to span many TLS records.
        redis_cli(master.port(), &["debug", "populate", "20000"]);
        let port = mtls.to_string();
        let (replica, rtls) = start(
            &certs,
            &[
                "--tls-replication",
                "yes",
                "--replicaof",
                "127.0.0.1",
                &port,
                "--repl-diskless-load",
                load,
            ],
        );
        wait_replicated(&replica, "before", "1");
        if load == "swapdb" {
            // Loaded straight from the TLS stream.
            assert!(
                replica.log().contains("Swapping active DB with loaded DB"),
                "{}",
                replica.log()
            );
        }
        redis_cli(master.port(), &["set", "after", "2"]);
        wait_replicated(&replica, "after", "2");
        // The master sees its replica on the TLS port.
        let info = redis_cli(master.port(), &["info", "replication"]);
        assert!(info.contains("connected_slaves:1"), "{info}");
        assert!(info.contains(&format!(",port={rtls},")), "{info}");
        // A dropped link resumes with a partial resync.
        redis_cli(master.port(), &["client", "kill", "type", "replica"]);
        redis_cli(master.port(), &["set", "later", "3"]);
        wait_replicated(&replica, "later", "3");
        assert!(
            poll_until(Duration::from_secs(10), || master
                .log()
                .contains("Partial resynchronization request from")),
            "{}",
            master.log()
        );
        master.assert_no_panic();
        replica.assert_no_panic();
    }
    if !common::have_real_redis("a redis-server replica of a ferrokv TLS master") {
        return;
    }
    let (master, mtls) = start(&certs, &[]);
    redis_cli(master.port(), &["set", "k", "v"]);
    let port = mtls.to_string();
    let (redis, _) = start_with(
        &certs,
        &[
            "--tls-replication",
            "yes",
            "--replicaof",
            "127.0.0.1",
            &port,
        ],
        RealRedis::start_with,
    );
    wait_replicated(&redis, "k", "v");
    redis_cli(master.port(), &["set", "k2", "v2"]);
    wait_replicated(&redis, "k2", "v2");
    // And a ferrokv replica of a real redis-server TLS master.
    let (rmaster, rtls) = start_with(&certs, &[], RealRedis::start_with);
    redis_cli(rmaster.port(), &["set", "from-redis", "yes"]);
    let port = rtls.to_string();
    let (replica, _) = start(
        &certs,
        &[
            "--tls-replication",
            "yes",
            "--replicaof",
            "127.0.0.1",
            &port,
        ],
    );
    wait_replicated(&replica, "from-redis", "yes");
    master.assert_no_panic();
}

/// redis-py with ssl=True (skipped where redis-py is missing; CI installs it).
#[test]
fn redis_py_over_tls() {
    let have = std::process::Command::new("python3")
        .args(["-c", "import redis"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        println!("NOTICE: python3 redis module not installed; skipping the redis-py TLS test");
        return;
    }
    let certs = Certs::new();
    let (srv, tls) = start(&certs, &[]);
    let code = format!(
        "import redis\n\
         r = redis.Redis(host='localhost', port={tls}, ssl=True, ssl_ca_certs='{ca}', ssl_certfile='{crt}', ssl_keyfile='{key}')\n\
         assert r.ping()\n\
         r.set('a', 'x' * 300000)\n\
         assert r.get('a') == b'x' * 300000\n\
         p = r.pipeline()\n\
         for i in range(1000): p.incr('n')\n\
         assert p.execute()[-1] == 1000\n\
         print('ok')\n",
        ca = certs.path("ca.crt"),
        crt = certs.path("client.crt"),
        key = certs.path("client.key"),
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &code])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "redis-py failed:\nstdout: {}\nstderr: {}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        srv.log()
    );
    srv.assert_no_panic();
}

/// A flood of full handshakes (connect, handshake, one command, close) from
/// several threads, and connections that never start one, while a
/// well-behaved TLS client keeps being served.
#[test]
fn handshake_flood() {
    let certs = Certs::new();
    let (srv, tls) = start(&certs, &["--maxclients", "1000"]);
    let cfg = client_config(&certs, true);
    let idle: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(("127.0.0.1", tls)).unwrap())
        .collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (cfg, stop) = (cfg.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while n < 100 && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut c = TlsConn::connect_with(cfg.clone(), tls);
                    assert_eq!(c.cmd(&["ping"]), "+PONG\r\n");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut good = TlsConn::connect(&certs, tls);
    for i in 0..200 {
        assert_eq!(good.cmd(&["incr", "n"]), format!(":{}\r\n", i + 1));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let done: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(done > 0);
    drop(idle);
    assert_eq!(good.cmd(&["get", "n"]), "$3\r\n200\r\n");
    srv.assert_no_panic();
}

/// The `redis` crate with its rustls TLS feature (rediss://, a custom CA
/// and a client certificate).
#[test]
fn redis_crate_over_tls() {
    let certs = Certs::new();
    let (srv, tls) = start(&certs, &[]);
    let read = |n: &str| std::fs::read(certs.path(n)).unwrap();
    let client = redis::Client::build_with_tls(
        format!("rediss://localhost:{tls}/"),
        redis::TlsCertificates {
            client_tls: Some(redis::ClientTlsConfig {
                client_cert: read("client.crt"),
                client_key: read("client.key"),
            }),
            root_cert: Some(read("ca.crt")),
        },
    )
    .unwrap();
    let mut con = client.get_connection().unwrap();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    let mut pipe = redis::pipe();
    for _ in 0..500 {
        pipe.cmd("INCR").arg("n");
    }
    let out: Vec<i64> = pipe.query(&mut con).unwrap();
    assert_eq!(out.last(), Some(&500));
    srv.assert_no_panic();
}

/// A TCP connection to 127.0.0.1:`port` from the source address `src`
/// (another loopback address, which protected mode counts as remote).
fn tcp_from(src: [u8; 4], port: u16) -> TcpStream {
    use std::os::fd::FromRawFd;
    let addr = |ip: [u8; 4], port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(ip),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let (from, to) = (addr(src, 0), addr([127, 0, 0, 1], port));
    // SAFETY: plain socket calls on a descriptor this function creates and
    // hands to the TcpStream, with valid sockaddr_in values and lengths.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        assert_eq!(
            libc::bind(fd, &from as *const _ as *const libc::sockaddr, len),
            0,
            "bind"
        );
        assert_eq!(
            libc::connect(fd, &to as *const _ as *const libc::sockaddr, len),
            0,
            "connect"
        );
        TcpStream::from_raw_fd(fd)
    }
}

/// Protected mode refuses a remote TLS client with Redis's DENIED text,
/// sent after the handshake (as Redis's clientAcceptHandler does), not a
/// bare close.
#[test]
fn protected_mode_refusal_reaches_tls_clients() {
    let certs = Certs::new();
    let (ours, our_tls) = start(&certs, &[]);
    let (redis, redis_tls) = start_with(&certs, &[], RealRedis::start_with);
    for (srv, port) in [(&ours, our_tls), (&redis, redis_tls)] {
        let sock = tcp_from([127, 0, 0, 2], port);
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(client_config(&certs, true), name).unwrap();
        let mut s = rustls::StreamOwned::new(conn, sock);
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.starts_with("-DENIED Redis is running in protected mode"),
            "{text:?}\n{}",
            srv.log()
        );
    }
    ours.assert_no_panic();
}

/// Connects with `cfg` (which keeps the sessions it was given), runs a PING
/// so that TLSv1.3 tickets sent after the handshake are read, and says
/// whether the handshake resumed an earlier session.
fn resumed(cfg: &Arc<rustls::ClientConfig>, port: u16) -> bool {
    let mut c = TlsConn::connect_with(cfg.clone(), port);
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    c.s.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
}

/// tls-session-caching resumes sessions for tls-session-cache-timeout
/// seconds, then makes the client do a full handshake again (both servers;
/// the wait is the behaviour under test, so it is a real sleep).
#[test]
fn session_resumption_honours_cache_timeout() {
    let certs = Certs::new();
    let extra = ["--tls-session-cache-timeout", "1"];
    let (ours, our_tls) = start(&certs, &extra);
    let (redis, redis_tls) = start_with(&certs, &extra, RealRedis::start_with);
    for (srv, port) in [(&ours, our_tls), (&redis, redis_tls)] {
        let cfg = client_config(&certs, true);
        assert!(!resumed(&cfg, port), "first connection\n{}", srv.log());
        assert!(resumed(&cfg, port), "at once\n{}", srv.log());
        // Both the TLSv1.3 ticket just issued and any older one expire.
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!resumed(&cfg, port), "after the timeout\n{}", srv.log());
        assert!(resumed(&cfg, port), "a new session\n{}", srv.log());
    }
    // Without caching ferrokv gives no session to resume (Redis still
    // resumes through OpenSSL's stateless tickets: docs/COMPATIBILITY.md).
    if common::ferrokv_only("tls-session-caching no refuses resumption") {
        return;
    }
    let (off, off_tls) = start(&certs, &["--tls-session-caching", "no"]);
    let cfg = client_config(&certs, true);
    assert!(!resumed(&cfg, off_tls));
    assert!(!resumed(&cfg, off_tls));
    ours.assert_no_panic();
    off.assert_no_panic();
}

/// `ferrokv-server --check-ping` (the container health check) on a server
/// listening on tls-port only: up with and without tls-auth-clients, down
/// once the server is gone.
#[test]
fn check_ping_reaches_a_tls_only_server() {
    if common::ferrokv_only("--check-ping is ferrokv's own health check") {
        return;
    }
    let certs = Certs::new();
    let check = |port: u16| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
            .args(["--check-ping", &format!("127.0.0.1:{port}")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text)
    };
    for (auth, want) in [("no", "PONG"), ("yes", "up (TLS")] {
        let (srv, port) = start(&certs, &["--tls-auth-clients", auth]);
        // TLS only from now on.
        assert_eq!(
            redis_cli(srv.port(), &["config", "set", "port", "0"]).trim(),
            "OK"
        );
        assert!(TcpStream::connect(("127.0.0.1", srv.port())).is_err());
        let (code, text) = check(port);
        assert_eq!(
            code,
            Some(0),
            "tls-auth-clients {auth}: {text}\n{}",
            srv.log()
        );
        assert!(text.starts_with(want), "tls-auth-clients {auth}: {text}");
        drop(srv);
        let (code, text) = check(port);
        assert_eq!(code, Some(1), "after the server is gone: {text}");
    }
}

/// CONFIG SET bind on a server listening on tls-port only: a failure is
/// named after bind with Redis's text, and the TLS port keeps serving.
#[test]
fn config_set_bind_failure_on_tls_only_server() {
    let certs = Certs::new();
    let (ours, our_tls) = start(&certs, &[]);
    let (redis, redis_tls) = start_with(&certs, &[], RealRedis::start_with);
    for (srv, port) in [(&ours, our_tls), (&redis, redis_tls)] {
        let mut c = TlsConn::connect(&certs, port);
        assert_eq!(c.cmd(&["CONFIG", "SET", "port", "0"]), "+OK\r\n");
        let e = c.cmd(&["CONFIG", "SET", "bind", "999.999.999.999"]);
        assert_eq!(
            e,
            "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n",
            "{}",
            srv.log()
        );
        assert_eq!(
            c.cmd(&["CONFIG", "GET", "bind"]),
            "*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n"
        );
        assert_eq!(TlsConn::connect(&certs, port).cmd(&["PING"]), "+PONG\r\n");
    }
    ours.assert_no_panic();
}

/// One Lua debugger session over TLS (SCRIPT DEBUG `mode`): stop at the
/// first line, step, continue, then the EVAL reply and the close.
fn ldb_over_tls(certs: &Certs, port: u16, mode: &str) -> Vec<String> {
    let mut c = TlsConn::connect(certs, port);
    let mut out = vec![c.cmd(&["SCRIPT", "DEBUG", mode])];
    c.send(&[
        "EVAL",
        "local a = 1\nredis.call('set', 'k', a)\nreturn a",
        "0",
    ]);
    out.push(String::from_utf8_lossy(&c.reply()).into_owned());
    for step in ["s", "print", "c"] {
        out.push(c.cmd(&[step]));
    }
    out.push(String::from_utf8_lossy(&c.reply()).into_owned());
    let mut rest = Vec::new();
    let _ = c.s.read_to_end(&mut rest);
    out.push(String::from_utf8_lossy(&rest).into_owned());
    out
}

/// A debugging session typed into redis-cli --tls (an OpenSSL client).
fn ldb_with_cli(certs: &Certs, port: u16, mode: &str) -> String {
    use std::process::{Command, Stdio};
    let mut child = Command::new("redis-cli")
        .args(["--tls", "--cacert", &certs.path("ca.crt")])
        .args(["--cert", &certs.path("client.crt")])
        .args(["--key", &certs.path("client.key")])
        .args(["-p", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli");
    let script = format!(
        "SCRIPT DEBUG {mode}\nEVAL \"local a = 1\\nredis.call('set', 'k', a)\\nreturn a\" 0\ns\nprint\nc\n"
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// SCRIPT DEBUG SYNC and YES work over TLS (the debugger speaks through
/// the client's TLS connection; a forked session's parent leaves the
/// connection to the child): a rustls client's whole transcript, and
/// redis-cli's against Redis's (SYNC; Redis's YES fails over TLS).
#[test]
fn lua_debugger_over_tls() {
    let certs = Certs::new();
    let (ours, our_tls) = start(&certs, &[]);
    let redis = common::have_real_redis("the debugger over TLS against Redis's")
        .then(|| start_with(&certs, &[], RealRedis::start_with));
    // Under FERROKV_TEST_REDIS only what Redis also does is checked.
    let redis_only = common::ferrokv_only(
        "Redis 7.0 closes a rustls client's debugging session and fails YES over TLS",
    );
    for mode in ["SYNC", "YES"] {
        if redis_only && mode == "YES" {
            continue;
        }
        if !redis_only {
            let got = ldb_over_tls(&certs, our_tls, mode);
            assert_eq!(got[0], "+OK\r\n");
            assert!(got[1].contains("* Stopped at 1"), "{mode}: {got:?}");
            assert!(got[2].contains("* Stopped at 2"), "{mode}: {got:?}");
            assert!(got[3].contains("<value> a = 1"), "{mode}: {got:?}");
            assert!(got[4].contains("<endsession>"), "{mode}: {got:?}");
            assert_eq!(got[5], ":1\r\n", "{mode}: {got:?}");
            assert_eq!(got[6], "", "{mode}: the connection closes after the reply");
        }
        let cli = ldb_with_cli(&certs, our_tls, mode);
        assert!(
            cli.contains("<value> a = 1") && cli.contains("(integer) 1"),
            "{cli}"
        );
        // Redis 7.0.15's forked (YES) session does not work over TLS: the
        // EVAL gets no reply and the debugger's commands reach the server
        // as unknown commands (docs/COMPATIBILITY.md), so only SYNC is
        // compared.
        if let (Some((redis, redis_tls)), "SYNC") = (&redis, mode) {
            assert_eq!(
                cli,
                ldb_with_cli(&certs, *redis_tls, mode),
                "{mode}\n{}",
                redis.log()
            );
        }
        // The server still serves others.
        assert_eq!(
            TlsConn::connect(&certs, our_tls).cmd(&["PING"]),
            "+PONG\r\n"
        );
    }
    ours.assert_no_panic();
}

/// Without a CA, a server that checks no certificates (tls-auth-clients
/// no, no tls-replication) starts and serves TLS, as Redis does.
#[test]
fn no_ca_needed_without_client_certificates() {
    let certs = Certs::new();
    for start_fn in [Server::start, RealRedis::start_with] {
        let tls_port = free_port();
        let port = tls_port.to_string();
        let (cert, key) = (certs.path("server.crt"), certs.path("server.key"));
        let srv = start_fn(&[
            "--tls-port",
            &port,
            "--tls-cert-file",
            &cert,
            "--tls-key-file",
            &key,
            "--tls-auth-clients",
            "no",
        ]);
        let mut c = TlsConn::connect_with(client_config(&certs, false), tls_port);
        assert_eq!(c.cmd(&["PING"]), "+PONG\r\n", "{}", srv.log());
    }
}

/// In a TLS cluster (tls-cluster yes) clients on the plaintext port are
/// given the nodes' plaintext ports (CLUSTER SLOTS, CLUSTER NODES) and TLS
/// clients the TLS ones, as Redis 7.0 does.
#[test]
fn tls_cluster_reports_plaintext_ports_to_plaintext_clients() {
    let certs = Certs::new();
    let run = |f: fn(&[&str]) -> Server| -> Vec<String> {
        let cport = free_port().to_string();
        let (srv, tls_port) = start_with(
            &certs,
            &[
                "--cluster-enabled",
                "yes",
                "--tls-cluster",
                "yes",
                "--cluster-port",
                &cport,
            ],
            f,
        );
        let p = srv.port();
        assert_eq!(
            redis_cli(p, &["cluster", "addslotsrange", "0", "16383"]).trim(),
            "OK"
        );
        let myid = redis_cli(p, &["cluster", "myid"]).trim().to_string();
        let norm = |s: String| {
            s.replace(&myid, "<id>")
                .replace(&tls_port.to_string(), "<tls-port>")
                .replace(&cport, "<cport>")
                .replace(&p.to_string(), "<plain-port>")
                .split_whitespace()
                .filter(|w| !w.chars().all(|c| c.is_ascii_digit()) || w.len() < 6)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut out = Vec::new();
        for args in [&["cluster", "slots"][..], &["cluster", "nodes"][..]] {
            out.push(norm(redis_cli(p, args)));
            out.push(norm(cli_tls(&certs, tls_port, true, args)));
        }
        out
    };
    let ours = run(Server::start);
    let theirs = run(RealRedis::start_with);
    assert_eq!(ours, theirs);
    assert!(ours[0].contains("<plain-port>"), "{ours:?}");
    assert!(ours[1].contains("<tls-port>"), "{ours:?}");
    assert!(ours[2].contains(" :<plain-port>@<cport>"), "{ours:?}");
    assert!(ours[3].contains(" :<tls-port>@<cport>"), "{ours:?}");
}
