//! Supervision by systemd or upstart: the `supervised` directive
//! (`--supervised systemd|upstart|auto|no`), as Redis 7.0's
//! redisIsSupervised / redisCommunicateSystemd.
//!
//! With `systemd` (or `auto` when `NOTIFY_SOCKET` is set) the server sends
//! sd_notify messages — `STATUS=...`, `READY=1` once it accepts connections,
//! `STOPPING=1` when a shutdown starts — as datagrams to the unix socket
//! named by `NOTIFY_SOCKET` (a path, or an abstract name written with a
//! leading `@`), so a `Type=notify` unit (Debian's redis-server.service)
//! works. No libsystemd: the protocol is one datagram per message. With
//! `upstart` (or `auto` with `UPSTART_JOB` set) the server stops itself with
//! SIGSTOP once to signal readiness, as Redis does. INFO's
//! `process_supervised` reports the outcome.
//!
//! Process-global state (set once at startup from main, read by the event
//! loop, SHUTDOWN and INFO); it depends on nothing but logging.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use tracing::{debug, info, warn};

const MODE_NONE: u8 = 0;
const MODE_UPSTART: u8 = 1;
const MODE_SYSTEMD: u8 = 2;
const MODE_AUTO: u8 = 3;

// Global: the signal handlers (SIGTERM's STOPPING=1) and the shutdown
// path reach supervision through these, not through the server.
/// Redis's server.supervised_mode: the configured mode, replaced by the
/// detected one when `auto` found a supervisor.
static MODE: AtomicU8 = AtomicU8::new(MODE_NONE);
/// Redis's server.supervised: supervision was set up successfully.
static SUPERVISED: AtomicBool = AtomicBool::new(false);

fn mode_from_name(name: &str) -> u8 {
    match name.to_ascii_lowercase().as_str() {
        "upstart" => MODE_UPSTART,
        "systemd" => MODE_SYSTEMD,
        "auto" => MODE_AUTO,
        _ => MODE_NONE,
    }
}

/// Sets supervision up for the configured `supervised` value (startup,
/// before daemonizing: a supervised server never daemonizes). Returns
/// whether the server is supervised.
pub fn start(configured: &str) -> bool {
    let mut mode = mode_from_name(configured);
    MODE.store(mode, Ordering::SeqCst);
    if mode == MODE_AUTO {
        if std::env::var_os("UPSTART_JOB").is_some() {
            debug!("Upstart supervision detected.");
            mode = MODE_UPSTART;
        } else if std::env::var_os("NOTIFY_SOCKET").is_some() {
            debug!("Systemd supervision detected.");
            mode = MODE_SYSTEMD;
        }
    }
    let ok = match mode {
        MODE_UPSTART => start_upstart(),
        MODE_SYSTEMD => start_systemd(),
        _ => false,
    };
    if ok {
        MODE.store(mode, Ordering::SeqCst);
        SUPERVISED.store(true, Ordering::SeqCst);
    }
    ok
}

fn start_upstart() -> bool {
    if std::env::var_os("UPSTART_JOB").is_none() {
        warn!("upstart supervision requested, but UPSTART_JOB not found!");
        return false;
    }
    info!("supervised by upstart, will stop to signal readiness.");
    // SAFETY: raise() on our own process; upstart resumes it with SIGCONT.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
    // Still single-threaded here (startup, before any thread exists).
    std::env::remove_var("UPSTART_JOB");
    true
}

fn start_systemd() -> bool {
    if communicate("STATUS=Redis is loading...\n") <= 0 {
        return false;
    }
    info!("Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.");
    true
}

/// INFO's `process_supervised`.
pub fn info_field() -> &'static str {
    if !SUPERVISED.load(Ordering::SeqCst) {
        return "no";
    }
    match MODE.load(Ordering::SeqCst) {
        MODE_UPSTART => "upstart",
        MODE_SYSTEMD => "systemd",
        _ => "unknown",
    }
}

/// Sends `msg` to systemd when the supervised mode is systemd (Redis's
/// `if (server.supervised_mode == SUPERVISED_SYSTEMD) redisCommunicateSystemd(msg)`);
/// a no-op otherwise.
pub fn notify(msg: &str) {
    if MODE.load(Ordering::SeqCst) == MODE_SYSTEMD {
        communicate(msg);
    }
}

/// Startup is done: Redis's "Ready to accept connections" notifications.
pub fn notify_ready(replica: bool) {
    if replica {
        notify("STATUS=Ready to accept connections in read-only mode. Waiting for MASTER <-> REPLICA sync\n");
    } else {
        notify("STATUS=Ready to accept connections\n");
    }
    notify("READY=1\n");
}

/// redisCommunicateSystemd: sd_notify(0, msg) and its error logging.
/// Returns sd_notify's result: > 0 sent, 0 no NOTIFY_SOCKET, < 0 -errno.
fn communicate(msg: &str) -> i32 {
    let ret = sd_notify(msg);
    if ret == 0 {
        warn!("systemd supervision error: NOTIFY_SOCKET not found!");
    } else if ret < 0 {
        warn!("systemd supervision error: sd_notify: {}", ret);
    }
    ret
}

/// libsystemd's sd_notify without the library: one datagram to the socket
/// in `NOTIFY_SOCKET` (an absolute path, or `@name` for the abstract
/// namespace).
fn sd_notify(msg: &str) -> i32 {
    use std::os::unix::net::UnixDatagram;
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return 0;
    };
    let path = path.to_string_lossy().into_owned();
    let errno = |e: std::io::Error| -e.raw_os_error().unwrap_or(libc::EIO);
    let sock = match UnixDatagram::unbound() {
        Ok(s) => s,
        Err(e) => return errno(e),
    };
    let sent = if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        match std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()) {
            Ok(addr) => sock.send_to_addr(msg.as_bytes(), &addr),
            Err(e) => return errno(e),
        }
    } else if path.starts_with('/') {
        sock.send_to(msg.as_bytes(), &path)
    } else {
        return -libc::EINVAL;
    };
    match sent {
        Ok(_) => 1,
        Err(e) => errno(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_names() {
        assert_eq!(mode_from_name("systemd"), MODE_SYSTEMD);
        assert_eq!(mode_from_name("AUTO"), MODE_AUTO);
        assert_eq!(mode_from_name("upstart"), MODE_UPSTART);
        assert_eq!(mode_from_name("no"), MODE_NONE);
    }
}
