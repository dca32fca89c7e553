//! The process title shown by `ps` and /proc/<pid>/cmdline, set the way
//! Redis's setproctitle.c does on Linux: the environment strings are moved
//! away, and the memory from `argv[0]` to the end of the (contiguous)
//! argument and environment strings is overwritten with the title. Also
//! owns the `proc-title-template` expansion (Redis's sdstemplate) and a
//! copy of the original arguments (DEBUG RESTART re-executes with them).
//!
//! The argument vector is captured by an `.init_array` constructor, which
//! glibc calls with (argc, argv, envp); on other C libraries the title is
//! left alone.

use std::ffi::{c_char, c_int, CStr, CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicUsize, Ordering};
use std::sync::OnceLock;

// Global: the process's own argv/environment memory (captured by an
// `.init_array` constructor before main), a property of the process.
static ARGC: AtomicI32 = AtomicI32::new(0);
static ARGV: AtomicPtr<*mut c_char> = AtomicPtr::new(std::ptr::null_mut());
/// The writable area: start and length (0 until `init`).
static BASE: AtomicPtr<c_char> = AtomicPtr::new(std::ptr::null_mut());
static LEN: AtomicUsize = AtomicUsize::new(0);
static EXEC_ARGV: OnceLock<Vec<OsString>> = OnceLock::new();

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[used]
#[link_section = ".init_array.00099"]
static CAPTURE: extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) = capture;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
extern "C" fn capture(argc: c_int, argv: *mut *mut c_char, _envp: *mut *mut c_char) {
    ARGC.store(argc, Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
}

/// The arguments the process started with (before any title was set).
pub fn exec_argv() -> Vec<OsString> {
    EXEC_ARGV
        .get()
        .cloned()
        .unwrap_or_else(|| std::env::args_os().collect())
}

/// Prepares the title area (spt_init). Call once at startup, while the
/// process has a single thread, before `set`.
pub fn init() {
    let _ = EXEC_ARGV.set(std::env::args_os().collect());
    let argc = ARGC.load(Ordering::Relaxed);
    let argv = ARGV.load(Ordering::Relaxed);
    if argc <= 0 || argv.is_null() {
        return;
    }
    // SAFETY: argv/environ are the C runtime's NUL-terminated arrays of
    // NUL-terminated strings (captured before main); single-threaded here,
    // so nothing reads the environment while it is rebuilt.
    unsafe {
        let base = *argv;
        if base.is_null() {
            return;
        }
        let mut end = base.add(CStr::from_ptr(base).to_bytes().len() + 1);
        for i in 1..argc as usize {
            let a = *argv.add(i);
            if a.is_null() || a != end {
                break;
            }
            end = a.add(CStr::from_ptr(a).to_bytes().len() + 1);
        }
        // Move the environment: copies owned by libc, then the old strings'
        // memory is free for the title.
        let env: Vec<CString> = {
            let mut v = Vec::new();
            let mut e = environ_ptr();
            while !e.is_null() && !(*e).is_null() {
                let s = *e;
                if s == end {
                    end = s.add(CStr::from_ptr(s).to_bytes().len() + 1);
                }
                v.push(CStr::from_ptr(s).to_owned());
                e = e.add(1);
            }
            v
        };
        libc::clearenv();
        for kv in &env {
            let b = kv.as_bytes();
            if let Some(eq) = b.iter().position(|&c| c == b'=') {
                if let (Ok(k), Ok(v)) = (CString::new(&b[..eq]), CString::new(&b[eq + 1..])) {
                    libc::setenv(k.as_ptr(), v.as_ptr(), 1);
                }
            }
        }
        BASE.store(base, Ordering::Relaxed);
        LEN.store(end.offset_from(base) as usize, Ordering::Relaxed);
    }
}

fn environ_ptr() -> *mut *mut c_char {
    extern "C" {
        static mut environ: *mut *mut c_char;
    }
    // SAFETY: reading the C runtime's environ pointer (single-threaded
    // startup; see `init`).
    unsafe { environ }
}

/// Sets the title (setproctitle): overwrites the area, truncating a title
/// longer than it. No-op before `init` or where the area is unknown.
pub fn set(title: &str) {
    let base = BASE.load(Ordering::Relaxed);
    let len = LEN.load(Ordering::Relaxed);
    if base.is_null() || len < 2 {
        return;
    }
    let bytes = title.as_bytes();
    let n = bytes.len().min(len - 1);
    // SAFETY: [base, base+len) is the argument/environment string memory
    // measured by `init`, which nothing else uses any more (the
    // environment was moved, the arguments were copied to EXEC_ARGV).
    unsafe {
        std::ptr::write_bytes(base, 0, len);
        std::ptr::copy_nonoverlapping(bytes.as_ptr() as *const c_char, base, n);
    }
}

/// Expands `{name}` variables (`{{` is a literal brace) with `lookup`, then
/// trims spaces: Redis's sdstemplate + expandProcTitleTemplate. None for
/// an unknown variable or a malformed template.
pub fn expand(template: &str, lookup: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if after.is_empty() {
            return None;
        }
        if let Some(tail) = after.strip_prefix('{') {
            out.push('{');
            rest = tail;
            continue;
        }
        let close = after.find('}')?;
        out.push_str(&lookup(&after[..close])?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out.trim_matches(' ').to_string())
}

/// What the template's variables stand for.
pub struct TitleVars<'a> {
    pub title: &'a str,
    pub bind0: Option<&'a str>,
    pub port: u16,
    pub tls_port: u16,
    pub unixsocket: &'a str,
    pub config_file: Option<&'a str>,
    pub server_mode: &'a str,
}

impl TitleVars<'_> {
    /// redisProcTitleGetVariable.
    pub fn lookup(&self, name: &str) -> Option<String> {
        Some(match name {
            "title" => self.title.to_string(),
            "listen-addr" => {
                if self.port != 0 || self.tls_port != 0 {
                    let port = if self.port != 0 {
                        self.port
                    } else {
                        self.tls_port
                    };
                    format!("{}:{}", self.bind0.unwrap_or("*"), port)
                } else {
                    format!("unixsocket:{}", self.unixsocket)
                }
            }
            "server-mode" => self.server_mode.to_string(),
            "config-file" => self.config_file.unwrap_or("-").to_string(),
            "port" => self.port.to_string(),
            "tls-port" => self.tls_port.to_string(),
            "unixsocket" => self.unixsocket.to_string(),
            _ => return None,
        })
    }
}

/// The original `argv[0]`, Redis's default `{title}`.
pub fn default_title() -> String {
    exec_argv()
        .first()
        .map(|a| String::from_utf8_lossy(a.as_bytes()).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_expansion_matches_sdstemplate() {
        let vars = TitleVars {
            title: "/usr/bin/redis-server",
            bind0: Some("127.0.0.1"),
            port: 6379,
            tls_port: 0,
            unixsocket: "",
            config_file: None,
            server_mode: "",
        };
        let f = |n: &str| vars.lookup(n);
        assert_eq!(
            expand("{title} {listen-addr} {server-mode}", f).as_deref(),
            Some("/usr/bin/redis-server 127.0.0.1:6379")
        );
        assert_eq!(expand("a {{b} {port}", f).as_deref(), Some("a {b} 6379"));
        assert_eq!(expand("{invalid-var}", f), None);
        assert_eq!(expand("x {", f), None);
        assert_eq!(expand("x {port", f), None);
        assert_eq!(expand("{config-file}", f).as_deref(), Some("-"));
    }
}
