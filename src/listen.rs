//! Listening sockets (Redis's listenToPort / anetTcpServer): the TCP
//! sockets named by `bind` and `port` (and `tls-port`), and the unix socket. Part of the
//! base layer: it reads no server state, only the values it is given, so
//! startup and CONFIG SET port/bind open sockets the same way.

use mio::net::{TcpListener, UnixListener};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

/// A listening socket: TCP, TLS (a TCP socket on `tls-port` whose
/// connections start a TLS handshake), or the unix domain socket.
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
    Tls(TcpListener),
}

impl Listener {
    /// The socket, for (de)registering with the poller.
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Listener::Tcp(l) | Listener::Tls(l) => l,
            Listener::Unix(l) => l,
        }
    }

    pub fn is_tcp(&self) -> bool {
        matches!(self, Listener::Tcp(_))
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Listener::Tls(_))
    }
}

/// One `bind` item: whether it is optional ('-' prefix) and the address as
/// written, without the prefix.
fn bind_items(bind: &str) -> impl Iterator<Item = (bool, &str)> {
    bind.split_whitespace()
        .map(|item| match item.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, item),
        })
}

/// Resolves one bind address as anetTcpServer's getaddrinfo does: an
/// address with a ':' is IPv6, any other IPv4; `*` / `::*` are the
/// wildcards; host names resolve (the first address of the family wins).
/// Err is getaddrinfo's message.
fn resolve(addr: &str, port: u16) -> Result<SocketAddr, String> {
    let v6 = addr.contains(':');
    let host = match addr {
        "*" => "0.0.0.0",
        "::*" => "::",
        a => a,
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        if ip.is_ipv6() == v6 {
            return Ok(SocketAddr::new(ip, port));
        }
        return Err("Address family for hostname not supported".into());
    }
    let found = (host, port).to_socket_addrs().map_err(|e| {
        let m = e.to_string();
        m.strip_prefix("failed to lookup address information: ")
            .unwrap_or(&m)
            .to_string()
    })?;
    found
        .into_iter()
        .find(|a| a.is_ipv6() == v6)
        .ok_or_else(|| "Address family for hostname not supported".to_string())
}

/// strerror's text alone, as Redis logs it (without Rust's " (os error N)").
pub fn os_message(e: &io::Error) -> String {
    let m = e.to_string();
    match m.find(" (os error ") {
        Some(i) => m[..i].to_string(),
        None => m,
    }
}

/// Binds every `bind` address on `port` (listenToPort). An address that
/// fails is logged as Redis does; failures that only mean "this family is
/// not available here" (and EADDRNOTAVAIL for a '-' address) are skipped,
/// any other makes the whole call fail. Port 0 or an empty `bind` opens
/// nothing.
pub fn listen_tcp(bind: &str, port: u16, backlog: i32) -> Result<Vec<TcpListener>, ()> {
    let mut out = Vec::new();
    if port == 0 {
        return Ok(out);
    }
    for (optional, addr) in bind_items(bind) {
        let (msg, errno) = match resolve(addr, port) {
            Ok(sa) => match bind_listener(sa, backlog) {
                Ok(l) => {
                    out.push(l);
                    continue;
                }
                Err((what, e)) => (format!("{what}: {}", os_message(&e)), e.raw_os_error()),
            },
            Err(m) => (m, None),
        };
        tracing::warn!(
            "Warning: Could not create server TCP listening socket {}:{}: {}",
            addr,
            port,
            msg
        );
        let skip = match errno {
            Some(libc::EADDRNOTAVAIL) => optional,
            Some(e) => matches!(
                e,
                libc::ENOPROTOOPT
                    | libc::EPROTONOSUPPORT
                    | libc::ESOCKTNOSUPPORT
                    | libc::EPFNOSUPPORT
                    | libc::EAFNOSUPPORT
            ),
            None => false,
        };
        if !skip {
            return Err(());
        }
    }
    Ok(out)
}

/// Replaces the TCP sockets in `listeners` with ones for `new` (bind,
/// port), as changeBindAddr / changeListenPort do: the old ones are closed
/// first (the same address cannot be listened on twice); when the new
/// ones cannot all be opened, the old addresses are opened again and Err
/// is returned. The caller registers the result with the poller.
pub fn replace_tcp(
    listeners: &mut Vec<Listener>,
    new: (&str, u16),
    old: (&str, u16),
    backlog: i32,
) -> Result<(), ()> {
    replace(listeners, new, old, backlog, false)
}

/// `replace_tcp` for the TLS sockets (CONFIG SET tls-port, or bind).
#[allow(clippy::result_unit_err)] // the contract of replace_tcp
pub fn replace_tls(
    listeners: &mut Vec<Listener>,
    new: (&str, u16),
    old: (&str, u16),
    backlog: i32,
) -> Result<(), ()> {
    replace(listeners, new, old, backlog, true)
}

fn replace(
    listeners: &mut Vec<Listener>,
    new: (&str, u16),
    old: (&str, u16),
    backlog: i32,
    tls: bool,
) -> Result<(), ()> {
    let kind = |l: &Listener| if tls { l.is_tls() } else { l.is_tcp() };
    listeners.retain(|l| !kind(l));
    let (tcp, r) = match listen_tcp(new.0, new.1, backlog) {
        Ok(t) => (t, Ok(())),
        Err(()) => (
            listen_tcp(old.0, old.1, backlog).unwrap_or_default(),
            Err(()),
        ),
    };
    let wrap = if tls { Listener::Tls } else { Listener::Tcp };
    let (first, rest): (Vec<Listener>, Vec<Listener>) = std::mem::take(listeners)
        .into_iter()
        .partition(|l| l.is_tcp());
    // TCP sockets first, then TLS, then the unix socket, as at startup.
    if tls {
        listeners.extend(first);
        let (tls_old, unix): (Vec<Listener>, Vec<Listener>) =
            rest.into_iter().partition(|l| l.is_tls());
        listeners.extend(tls_old);
        listeners.extend(tcp.into_iter().map(wrap));
        listeners.extend(unix);
    } else {
        listeners.extend(tcp.into_iter().map(wrap));
        listeners.extend(first);
        listeners.extend(rest);
    }
    r
}

/// Opens the unix socket at `path` (replacing a stale file) with the given
/// permissions (octal, 0 = leave the umask's). Err carries Redis's log
/// wording.
pub fn listen_unix(path: &str, perm: u32) -> Result<Option<UnixListener>, String> {
    if path.is_empty() {
        return Ok(None);
    }
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path)
        .map_err(|e| format!("Failed opening Unix socket: {} ({})", e, path))?;
    if perm != 0 {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm));
    }
    Ok(Some(l))
}

/// Opens a listening socket the way Redis's anetTcpServer does:
/// SO_REUSEADDR, IPV6_V6ONLY on IPv6 sockets (so `* -::*` can bind both
/// families on one port), and the configured backlog.
fn bind_listener(addr: SocketAddr, backlog: i32) -> Result<TcpListener, (&'static str, io::Error)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let one: libc::c_int = 1;
    let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    let domain = if addr.is_ipv6() {
        libc::AF_INET6
    } else {
        libc::AF_INET
    };
    // SAFETY: plain socket syscalls on a descriptor we own (closed by
    // OwnedFd on every error path); the sockaddr structs are fully
    // initialised and passed with their exact sizes.
    unsafe {
        let fd = libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(("socket", io::Error::last_os_error()));
        }
        let owned = OwnedFd::from_raw_fd(fd);
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            &one as *const _ as *const libc::c_void,
            sz,
        );
        let rc = match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a.ip().octets()),
                    },
                    sin_zero: [0; 8],
                };
                libc::bind(
                    fd,
                    &sin as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            }
            SocketAddr::V6(a) => {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_V6ONLY,
                    &one as *const _ as *const libc::c_void,
                    sz,
                );
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: 0,
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                libc::bind(
                    fd,
                    &sin6 as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            }
        };
        if rc != 0 {
            return Err(("bind", io::Error::last_os_error()));
        }
        if libc::listen(fd, backlog) != 0 {
            return Err(("listen", io::Error::last_os_error()));
        }
        let std_listener = std::net::TcpListener::from(owned);
        Ok(TcpListener::from_std(std_listener))
    }
}

/// Starts a non-blocking TCP connect to `to`, first binding the socket to
/// `source` (port chosen by the kernel) when given: `bind-source-addr` for
/// the replica's link to its master (anetTcpNonBlockBestEffortBindConnect;
/// a source that cannot be bound is ignored, as Redis's "best effort").
pub fn connect_from(to: SocketAddr, source: Option<IpAddr>) -> io::Result<mio::net::TcpStream> {
    let Some(src) = source.filter(|s| s.is_ipv6() == to.is_ipv6()) else {
        return mio::net::TcpStream::connect(to);
    };
    let domain = if to.is_ipv6() {
        libc::AF_INET6
    } else {
        libc::AF_INET
    };
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: socket/bind/connect on a descriptor we own (closed by OwnedFd
    // on every path); the sockaddrs are fully initialised and passed with
    // their exact sizes.
    unsafe {
        let fd = libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let owned = OwnedFd::from_raw_fd(fd);
        let (sa, len) = sockaddr(SocketAddr::new(src, 0));
        // Best effort: connect without the source address when it fails.
        let _ = libc::bind(fd, &sa as *const _ as *const libc::sockaddr, len);
        let (sa, len) = sockaddr(to);
        if libc::connect(fd, &sa as *const _ as *const libc::sockaddr, len) != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
        }
        Ok(mio::net::TcpStream::from_std(std::net::TcpStream::from(
            owned,
        )))
    }
}

/// A socket address as the C struct (sockaddr_storage) and its length.
fn sockaddr(a: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data for which all-zero is valid,
    // and it is large and aligned enough for sockaddr_in/sockaddr_in6.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match a {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: see above; the write stays within `ss`.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: see above; the write stays within `ss`.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}
