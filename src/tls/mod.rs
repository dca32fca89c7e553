//! TLS with rustls (Redis's tls.c): the `tls-*` directives turned into a
//! rustls `ServerConfig` (the TLS listener's connections) and a
//! `ClientConfig` (a replica's link to a TLS master), built together and
//! swapped whole, as tlsConfigure swaps its SSL_CTX: a failed
//! reconfiguration (CONFIG SET of a bad file) leaves the old one in force
//! and logs Redis's lines. `stream.rs` is the non-blocking per-connection
//! state machine the event loop drives.
//!
//! What differs from OpenSSL (docs/COMPATIBILITY.md): TLSv1.2 and TLSv1.3
//! only, the cipher suites rustls's `ring` provider has, ECDHE key exchange
//! only (`tls-dh-params-file` is read but has no effect), encrypted keys in
//! PKCS#8 form only.

pub mod session_cache;
pub mod stream;

use crate::config::Config;
use crate::config::TlsAuthClients;
use rustls::crypto::ring as provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite};
use std::sync::Arc;
use tracing::warn;

pub use stream::TlsStream;

/// The configured TLS contexts (Redis's redis_tls_ctx / redis_tls_client_ctx).
pub struct TlsContext {
    /// Server configs by `tls-auth-clients` (no, yes, optional): Redis
    /// applies that directive per accepted connection, without a
    /// reconfiguration, so each mode is built up front. None where the
    /// mode cannot be built (no CA for verifying client certificates).
    server: [Option<Arc<ServerConfig>>; 3],
    /// For outgoing connections (the replica's link to its master):
    /// tls-client-cert-file/-key-file when both are set, else the server
    /// certificate, as Redis uses its server SSL_CTX for them.
    pub client: Arc<ClientConfig>,
}

/// The TLS state kept in the server.
#[derive(Default)]
pub struct Tls {
    pub ctx: Option<Arc<TlsContext>>,
}

impl Tls {
    /// The server config for a connection accepted now.
    pub fn server_config(&self, auth: TlsAuthClients) -> Option<Arc<ServerConfig>> {
        let i = match auth {
            TlsAuthClients::No => 0,
            TlsAuthClients::Yes => 1,
            TlsAuthClients::Optional => 2,
        };
        self.ctx.as_ref()?.server[i].clone()
    }
}

/// Whether the configuration needs a TLS context (Redis configures TLS
/// when any of these is set).
pub fn wanted(cfg: &Config) -> bool {
    cfg.tls_port != 0 || cfg.tls_replication || cfg.tls_cluster
}

/// Whether a directive is one whose change rebuilds the TLS context
/// (Redis's applyTlsCfg directives).
pub fn is_context_directive(name: &str) -> bool {
    name.starts_with("tls-") && !matches!(name, "tls-port" | "tls-auth-clients")
}

/// The directive values a context is built from, for change detection.
pub fn context_inputs(cfg: &Config) -> Vec<String> {
    vec![
        cfg.tls_cert_file.clone(),
        cfg.tls_key_file.clone(),
        cfg.tls_key_file_pass.clone(),
        cfg.tls_client_cert_file.clone(),
        cfg.tls_client_key_file.clone(),
        cfg.tls_client_key_file_pass.clone(),
        cfg.tls_dh_params_file.clone(),
        cfg.tls_ca_cert_file.clone(),
        cfg.tls_ca_cert_dir.clone(),
        cfg.tls_protocols.clone(),
        cfg.tls_ciphers.clone(),
        cfg.tls_ciphersuites.clone(),
        cfg.tls_prefer_server_ciphers.to_string(),
        cfg.tls_session_caching.to_string(),
        cfg.tls_session_cache_size.to_string(),
        cfg.tls_session_cache_timeout.to_string(),
        cfg.tls_replication.to_string(),
        cfg.tls_cluster.to_string(),
    ]
}

/// tlsConfigure: builds the contexts from the directives, logging what
/// went wrong with Redis's wording (None once logged).
pub fn configure(cfg: &Config) -> Option<TlsContext> {
    build(cfg).map_err(|msg| warn!("{}", msg)).ok()
}

fn build(cfg: &Config) -> Result<TlsContext, String> {
    if cfg.tls_cert_file.is_empty() {
        return Err("No tls-cert-file configured!".into());
    }
    if cfg.tls_key_file.is_empty() {
        return Err("No tls-key-file configured!".into());
    }
    let has_ca = !cfg.tls_ca_cert_file.is_empty() || !cfg.tls_ca_cert_dir.is_empty();
    if (cfg.tls_auth_clients != TlsAuthClients::No || cfg.tls_cluster || cfg.tls_replication)
        && !has_ca
    {
        return Err("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!".into());
    }
    let versions = parse_protocols(&cfg.tls_protocols)?;
    let suites = cipher_suites(&cfg.tls_ciphers, &cfg.tls_ciphersuites, &versions)?;
    let certs = load_certs(&cfg.tls_cert_file)?;
    let key = load_key(&cfg.tls_key_file, &cfg.tls_key_file_pass)?;
    let roots = if has_ca {
        Some(Arc::new(load_roots(
            &cfg.tls_ca_cert_file,
            &cfg.tls_ca_cert_dir,
        )?))
    } else {
        None
    };
    if !cfg.tls_dh_params_file.is_empty() {
        // Read as Redis does (a missing file is an error), then unused:
        // rustls negotiates ECDHE only.
        let text = std::fs::read_to_string(&cfg.tls_dh_params_file).map_err(|e| {
            format!(
                "Failed to load {}: {}",
                cfg.tls_dh_params_file,
                os_message(&e)
            )
        })?;
        if !text.contains("-----BEGIN DH PARAMETERS-----") {
            return Err(format!(
                "{}: failed to read DH params.",
                cfg.tls_dh_params_file
            ));
        }
    }
    // ring, not aws-lc-rs (rustls's default, which needs cmake and a C
    // toolchain to build); rustls deprecates ring's provider only for its
    // lack of post-quantum key exchange, which Redis 7.0 lacks too.
    #[allow(deprecated)]
    let base = provider::default_provider();
    let provider = Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: suites,
        ..base
    });
    let cache: Arc<dyn rustls::server::StoresServerSessions> = if cfg.tls_session_caching {
        // OpenSSL's 0 is "no limit"; rustls's cache needs one.
        let size = match cfg.tls_session_cache_size {
            0 => 1 << 20,
            n => n as usize,
        };
        session_cache::TimedSessionCache::new(
            size,
            std::time::Duration::from_secs(cfg.tls_session_cache_timeout as u64),
        )
    } else {
        Arc::new(rustls::server::NoServerSessionStorage {})
    };
    let make_server = |verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>| {
        let b = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| format!("Failed to configure TLS protocols: {}", e))?;
        let b = match verifier {
            Some(v) => b.with_client_cert_verifier(v),
            None => b.with_no_client_auth(),
        };
        let mut sc = b
            .with_single_cert(certs.clone(), key.clone_key())
            .map_err(|e| cert_key_error(&cfg.tls_cert_file, &cfg.tls_key_file, e))?;
        sc.ignore_client_order = cfg.tls_prefer_server_ciphers;
        sc.session_storage = cache.clone();
        if !cfg.tls_session_caching {
            sc.send_tls13_tickets = 0;
        }
        Ok::<_, String>(Arc::new(sc))
    };
    let no = make_server(None)?;
    let mut server = [Some(no), None, None];
    if let Some(roots) = &roots {
        for (i, optional) in [(1, false), (2, true)] {
            let mut vb =
                WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone());
            if optional {
                vb = vb.allow_unauthenticated();
            }
            match vb.build() {
                Ok(v) => server[i] = Some(make_server(Some(v))?),
                Err(e) => {
                    return Err(format!(
                        "Failed to configure CA certificate(s) file/directory: {}",
                        e
                    ))
                }
            }
        }
    }
    let client = client_config(cfg, provider.clone(), &versions, roots, certs, key)?;
    Ok(TlsContext {
        server,
        client: Arc::new(client),
    })
}

/// The outgoing side: verifies the peer against the CA (any host name:
/// Redis's replication link does not check it either) and presents
/// tls-client-cert-file/-key-file, or the server's own certificate.
fn client_config(
    cfg: &Config,
    provider: Arc<rustls::crypto::CryptoProvider>,
    versions: &[&'static rustls::SupportedProtocolVersion],
    roots: Option<Arc<RootCertStore>>,
    server_certs: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
) -> Result<ClientConfig, String> {
    let own = !cfg.tls_client_cert_file.is_empty() && !cfg.tls_client_key_file.is_empty();
    let (certs, key) = if own {
        (
            load_certs(&cfg.tls_client_cert_file)?,
            load_key(&cfg.tls_client_key_file, &cfg.tls_client_key_file_pass)?,
        )
    } else {
        (server_certs, server_key)
    };
    let (cert_file, key_file) = if own {
        (&cfg.tls_client_cert_file, &cfg.tls_client_key_file)
    } else {
        (&cfg.tls_cert_file, &cfg.tls_key_file)
    };
    let verifier = stream::CaOnlyVerifier::new(roots, provider.clone())?;
    let b = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| format!("Failed to configure TLS protocols: {}", e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    b.with_client_auth_cert(certs, key)
        .map_err(|e| cert_key_error(cert_file, key_file, e))
}

/// Why a certificate and key pair was refused, in Redis's wording for the
/// file at fault.
fn cert_key_error(cert_file: &str, key_file: &str, e: rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(ce) => {
            let why = format!("{:?}", ce);
            let why = if why.contains("UnsupportedCertVersion") {
                "an X.509 v1 certificate (no extensions), which rustls does not accept: issue a v3 certificate".to_string()
            } else {
                why
            };
            format!("Failed to load certificate: {}: {}", cert_file, why)
        }
        e => format!("Failed to load private key: {}: {}", key_file, e),
    }
}

/// parseProtocolsConfig: "TLSv1.2 TLSv1.3" (case-insensitive); empty means
/// both, Redis's default. TLSv1 and TLSv1.1 exist in Redis but not in
/// rustls: refused rather than silently dropped.
fn parse_protocols(s: &str) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    if s.trim().is_empty() {
        return Ok(vec![&rustls::version::TLS12, &rustls::version::TLS13]);
    }
    let mut out: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    for tok in s.split(' ').filter(|t| !t.is_empty()) {
        let v = match tok.to_ascii_lowercase().as_str() {
            "tlsv1.2" => &rustls::version::TLS12,
            "tlsv1.3" => &rustls::version::TLS13,
            "tlsv1" | "tlsv1.1" => {
                return Err(format!(
                    "{} is specified in tls-protocols but not supported by ferrokv (rustls implements TLSv1.2 and TLSv1.3 only).",
                    tok
                ))
            }
            _ => {
                return Err("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.".into())
            }
        };
        if !out.iter().any(|o| o.version == v.version) {
            out.push(v);
        }
    }
    Ok(out)
}

/// OpenSSL's names for the suites rustls has: TLSv1.3 (tls-ciphersuites)
/// and TLSv1.2 (tls-ciphers), with the IANA names accepted too.
const SUITE_NAMES: &[(&str, &str)] = &[
    ("TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384"),
    ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256"),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS13_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

fn find_suite(name: &str) -> Option<SupportedCipherSuite> {
    let rustls_name = SUITE_NAMES.iter().find_map(|&(openssl, rl)| {
        let iana = rl.replace("TLS13_", "TLS_");
        (name.eq_ignore_ascii_case(openssl)
            || name.eq_ignore_ascii_case(rl)
            || name.eq_ignore_ascii_case(&iana))
        .then_some(rl)
    })?;
    provider::ALL_CIPHER_SUITES
        .iter()
        .find(|s| format!("{:?}", s.suite()) == rustls_name)
        .copied()
}

/// The TLSv1.2 suites an OpenSSL cipher-string keyword selects among
/// those rustls has (all are ECDHE with AEAD ciphers, so "high"
/// strength), matched on the IANA name. None: not a keyword.
fn keyword_suites(word: &str) -> Option<Vec<SupportedCipherSuite>> {
    let has = |part: &'static str| move |n: &str| n.contains(part);
    let pred: Box<dyn Fn(&str) -> bool> = match word {
        "DEFAULT" | "ALL" | "HIGH" | "TLSv1.2" | "SSLv3" | "ECDHE" | "EECDH" | "kECDHE"
        | "kEECDH" | "AEAD" | "FIPS" | "SECURE" => Box::new(|_| true),
        "AESGCM" => Box::new(has("GCM")),
        "AES" => Box::new(has("_AES_")),
        "AES128" => Box::new(has("AES_128")),
        "AES256" => Box::new(has("AES_256")),
        "CHACHA20" => Box::new(has("CHACHA20")),
        "ECDSA" | "aECDSA" => Box::new(has("ECDSA")),
        "RSA" | "aRSA" => Box::new(has("_RSA_")),
        "SHA256" => Box::new(has("SHA256")),
        "SHA384" => Box::new(has("SHA384")),
        _ => return None,
    };
    Some(
        provider::ALL_CIPHER_SUITES
            .iter()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls12(_)))
            .filter(|s| pred(&format!("{:?}", s.suite())))
            .copied()
            .collect(),
    )
}

/// The suites from tls-ciphers (TLSv1.2, an OpenSSL cipher string: items
/// separated by ':', ',' or ' ') and tls-ciphersuites (TLSv1.3, names
/// separated by ':'), in the order given (the server's preference with
/// tls-prefer-server-ciphers). An empty directive keeps rustls's defaults
/// for its version. In a cipher string, keywords (DEFAULT, HIGH, AESGCM,
/// ECDSA...) select among rustls's suites, `!X` / `-X` remove what X
/// names (excluding something rustls does not have, such as `!aNULL` or
/// `!MD5`, changes nothing), `+X` and `@STRENGTH` (ordering) are ignored.
/// A name or keyword that would add something rustls does not implement
/// is refused with Redis's "Failed to configure ciphers" line and why.
fn cipher_suites(
    ciphers: &str,
    ciphersuites: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Vec<SupportedCipherSuite>, String> {
    let known = |tls13: bool| {
        SUITE_NAMES
            .iter()
            .filter(|(o, _)| o.starts_with("TLS_") == tls13)
            .map(|(o, _)| *o)
            .collect::<Vec<_>>()
            .join(":")
    };
    let pick = |list: &str, tls13: bool, what: &str| -> Result<Vec<SupportedCipherSuite>, String> {
        if list.trim().is_empty() {
            return Ok(provider::DEFAULT_CIPHER_SUITES
                .iter()
                .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)) == tls13)
                .copied()
                .collect());
        }
        let refuse = |name: &str| {
            format!(
                "Failed to configure {}: {} ({} is not a {} cipher suite rustls implements; known: {})",
                what,
                list,
                name,
                if tls13 { "TLSv1.3" } else { "TLSv1.2" },
                known(tls13)
            )
        };
        let mut out: Vec<SupportedCipherSuite> = Vec::new();
        let mut removed: Vec<SupportedCipherSuite> = Vec::new();
        for item in list.split([':', ',', ' ']).filter(|n| !n.is_empty()) {
            let select = |name: &str| -> Option<Vec<SupportedCipherSuite>> {
                match find_suite(name) {
                    Some(s) if matches!(s, SupportedCipherSuite::Tls13(_)) == tls13 => {
                        Some(vec![s])
                    }
                    Some(_) => None,
                    None if !tls13 => keyword_suites(name),
                    None => None,
                }
            };
            if tls13 {
                out.extend(select(item).ok_or_else(|| refuse(item))?);
                continue;
            }
            if let Some(x) = item.strip_prefix(['!', '-']) {
                for s in select(x).unwrap_or_default() {
                    out.retain(|o| o.suite() != s.suite());
                    if item.starts_with('!') {
                        removed.push(s);
                    }
                }
                continue;
            }
            if item.starts_with('+') || item.starts_with('@') {
                continue;
            }
            for s in select(item).ok_or_else(|| refuse(item))? {
                let gone = removed.iter().any(|r| r.suite() == s.suite());
                if !gone && !out.iter().any(|o| o.suite() == s.suite()) {
                    out.push(s);
                }
            }
        }
        if !tls13 && out.is_empty() {
            return Err(format!(
                "Failed to configure {}: {} (it selects none of the cipher suites rustls implements: {})",
                what,
                list,
                known(false)
            ));
        }
        Ok(out)
    };
    let mut suites = pick(ciphersuites, true, "ciphersuites")?;
    suites.extend(pick(ciphers, false, "ciphers")?);
    let usable = suites
        .iter()
        .any(|s| versions.iter().any(|v| s.version().version == v.version));
    if !usable {
        return Err(format!(
            "Failed to configure ciphers: {} (no cipher suite left for the tls-protocols in use)",
            ciphers
        ));
    }
    Ok(suites)
}

/// SSL_CTX_use_certificate_chain_file: every certificate in the PEM file,
/// leaf first.
fn load_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let fail = |why: String| format!("Failed to load certificate: {}: {}", path, why);
    let data = std::fs::read(path).map_err(|e| fail(os_message(&e)))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<_, _>>()
        .map_err(|e| fail(format!("{:?}", e)))?;
    if certs.is_empty() {
        return Err(fail(
            "no certificate found in the file (PEM expected)".into(),
        ));
    }
    Ok(certs)
}

/// SSL_CTX_use_PrivateKey_file with the tls-key-file-pass callback: PKCS#8,
/// PKCS#1 (RSA) or SEC1 (EC) PEM keys, and encrypted PKCS#8 ("BEGIN
/// ENCRYPTED PRIVATE KEY") with the passphrase. OpenSSL's legacy
/// encrypted PEM ("Proc-Type: 4,ENCRYPTED") is refused with a hint.
fn load_key(path: &str, pass: &str) -> Result<PrivateKeyDer<'static>, String> {
    let fail = |why: String| format!("Failed to load private key: {}: {}", path, why);
    let data = std::fs::read(path).map_err(|e| fail(os_message(&e)))?;
    let text = String::from_utf8_lossy(&data);
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(fail("legacy encrypted PEM keys are not supported by ferrokv; convert it to encrypted PKCS#8 (openssl pkcs8 -topk8 -v2 aes256)".into()));
    }
    const BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
    const END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
    if let Some(start) = text.find(BEGIN) {
        if pass.is_empty() {
            return Err(fail(
                "the key is encrypted and no tls-key-file-pass is set".into(),
            ));
        }
        let end = text[start..]
            .find(END)
            .map(|e| start + e + END.len())
            .ok_or_else(|| fail("unterminated PEM block".into()))?;
        let (_, doc) = pkcs8::der::Document::from_pem(&text[start..end])
            .map_err(|e| fail(format!("bad PEM: {}", e)))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
            .map_err(|e| fail(format!("bad encrypted key: {}", e)))?;
        let plain = info
            .decrypt(pass.as_bytes())
            .map_err(|e| fail(format!("bad decrypt ({})", e)))?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            plain.as_bytes().to_vec(),
        )));
    }
    PrivateKeyDer::from_pem_slice(&data).map_err(|e| fail(format!("{:?}", e)))
}

/// SSL_CTX_load_verify_locations: the certificates of the CA file and of
/// every PEM file in the CA directory (OpenSSL looks only at its hashed
/// names there; reading them all trusts the same set in practice).
fn load_roots(file: &str, dir: &str) -> Result<RootCertStore, String> {
    let fail = |why: String| {
        format!(
            "Failed to configure CA certificate(s) file/directory: {}",
            why
        )
    };
    let mut roots = RootCertStore::empty();
    let mut add = |data: &[u8], strict: bool, name: &str| -> Result<(), String> {
        for c in CertificateDer::pem_slice_iter(data) {
            match c {
                Ok(c) => {
                    if let Err(e) = roots.add(c) {
                        if strict {
                            return Err(fail(format!("{}: {}", name, e)));
                        }
                    }
                }
                Err(e) if strict => return Err(fail(format!("{}: {:?}", name, e))),
                Err(_) => {}
            }
        }
        Ok(())
    };
    if !file.is_empty() {
        let data =
            std::fs::read(file).map_err(|e| fail(format!("{}: {}", file, os_message(&e))))?;
        add(&data, true, file)?;
    }
    if !dir.is_empty() {
        let entries =
            std::fs::read_dir(dir).map_err(|e| fail(format!("{}: {}", dir, os_message(&e))))?;
        for e in entries.flatten() {
            if let Ok(data) = std::fs::read(e.path()) {
                add(&data, false, dir)?;
            }
        }
    }
    if roots.is_empty() {
        return Err(fail("no CA certificate found".into()));
    }
    Ok(roots)
}

/// strerror's text alone, as Redis logs it (without " (os error N)").
fn os_message(e: &std::io::Error) -> String {
    let m = e.to_string();
    match m.find(" (os error ") {
        Some(i) => m[..i].to_string(),
        None => m,
    }
}

/// CONFIG SET's TLS side (applyTlsCfg, applyTLSPort and the TLS half of
/// changeBindAddr), after the new values were validated into `next` and
/// the TCP sockets were replaced: rebuilds the context when a directive it
/// is made of changed (or TLS is turned on), then opens the TLS sockets
/// for a new tls-port or bind. Err is (directive, reason) for Redis's
/// "CONFIG SET failed" reply; nothing is changed then.
pub fn config_set(
    srv: &mut crate::server::Server,
    next: &Config,
    names: &[&str],
) -> Result<(), (String, &'static str)> {
    let first_tls = || {
        names
            .iter()
            .find(|n| n.starts_with("tls-"))
            .map_or("tls-port".to_string(), |n| n.to_string())
    };
    let rebuild = wanted(next)
        && (srv.tls.ctx.is_none() || context_inputs(next) != context_inputs(&srv.config));
    let ctx = if rebuild {
        match configure(next) {
            Some(c) => Some(Arc::new(c)),
            None => {
                tracing::warn!(
                    "Failed applying new configuration. Possibly related to new {} setting. Restoring previous settings.",
                    first_tls()
                );
                return Err((
                    first_tls(),
                    "Unable to update TLS configuration. Check server logs.",
                ));
            }
        }
    } else {
        None
    };
    let old_port = srv.config.tls_port as u16;
    let new_port = next.tls_port as u16;
    if new_port != old_port || (next.bind != srv.config.bind && (new_port | old_port) != 0) {
        srv.listeners_changed = true;
        if crate::listen::replace_tls(
            &mut srv.listeners,
            (&next.bind, new_port),
            (&srv.config.bind, old_port),
            next.tcp_backlog,
        )
        .is_err()
        {
            // Named after whichever of bind and tls-port came first (Redis
            // rebinds both kinds of socket in applyBind, with its text).
            let bind_first = next.bind != srv.config.bind
                && names
                    .iter()
                    .find(|n| **n == "bind" || **n == "tls-port")
                    .is_some_and(|n| *n == "bind");
            let name = if bind_first { "bind" } else { "tls-port" };
            tracing::warn!(
                "Failed applying new configuration. Possibly related to new {} setting. Restoring previous settings.",
                name
            );
            return Err(if bind_first {
                ("bind".into(), "Failed to bind to specified addresses.")
            } else {
                (
                    "tls-port".into(),
                    "Unable to listen on this port. Check server logs.",
                )
            });
        }
    }
    if let Some(c) = ctx {
        srv.tls.ctx = Some(c);
    }
    if next.port == 0 {
        srv.tcp_port = new_port;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ciphers: &str) -> Result<Vec<String>, String> {
        let v = [&rustls::version::TLS12, &rustls::version::TLS13];
        cipher_suites(ciphers, "", &v).map(|s| {
            s.iter()
                .filter(|s| matches!(s, SupportedCipherSuite::Tls12(_)))
                .map(|s| format!("{:?}", s.suite()))
                .collect()
        })
    }

    #[test]
    fn openssl_cipher_strings() {
        // Common configurations keep working.
        assert_eq!(names("DEFAULT").unwrap().len(), 6);
        assert_eq!(names("HIGH:!aNULL:!MD5").unwrap().len(), 6);
        assert_eq!(names("DEFAULT:!MEDIUM:@STRENGTH").unwrap().len(), 6);
        assert_eq!(
            names("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256").unwrap(),
            [
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            ]
        );
        assert_eq!(names("AESGCM:!ECDSA").unwrap().len(), 2);
        assert_eq!(names("DEFAULT:-CHACHA20").unwrap().len(), 4);
        // Something rustls does not have is refused, with the known names.
        for bad in [
            "AES128-SHA256:AES256-SHA256",
            "DEFAULT:RC4-MD5",
            "NOPE",
            "!ECDSA:!RSA",
        ] {
            let e = names(bad).unwrap_err();
            assert!(
                e.starts_with(&format!("Failed to configure ciphers: {bad} (")),
                "{e}"
            );
            assert!(e.contains("ECDHE-RSA-AES128-GCM-SHA256"), "{e}");
        }
        let v = [&rustls::version::TLS13];
        assert!(
            cipher_suites("", "TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256", &v)
                .unwrap_err()
                .contains("TLS_AES_128_CCM_SHA256 is not a TLSv1.3 cipher suite")
        );
    }
}
