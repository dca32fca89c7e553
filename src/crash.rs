//! Crash reports and the software watchdog (Redis's debug.c "Crash
//! handling" and "Software Watchdog"), in Redis's log format:
//!
//! * A fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) writes
//!   `=== REDIS BUG REPORT START ... ===`, `crashed by signal: N, si_code: N`,
//!   the faulting address, `------ STACK TRACE ------` with `EIP:` and
//!   `Backtrace:`, then `=== REDIS BUG REPORT END ... ===`, and the process
//!   dies by the same signal. Installed only with `crash-log-enabled yes`.
//! * [`assertion_failed`] / [`panic`] (DEBUG ASSERT / PANIC / OOM) write
//!   the same report with Redis's `=== ASSERTION FAILED ===` or
//!   `Guru Meditation` header, plus the INFO and CLIENT LIST text the caller
//!   passes, then abort (or `_exit(1)` with `use-exit-on-panic`).
//! * `watchdog-period`: SIGALRM, re-armed by every cron run, fires when the
//!   main thread is stuck longer than the period and logs
//!   `--- WATCHDOG TIMER EXPIRED ---` with the main thread's stack.
//!
//! Signal handlers only do async-signal-safe work: they capture the raw
//! frames with glibc's `backtrace()` into static atomics and wake a
//! reporter thread started at boot, which resolves the frames against this
//! executable's ELF symbol table, writes the report and wakes the handler
//! again (polled with a deadline). Without the reporter (a forked child,
//! a crash inside the reporter) the handler writes unresolved frames with
//! `backtrace_symbols_fd`. Log lines go straight to the log file (opened
//! per report, like Redis's openDirectLogFiledes) or to stdout.

use std::ffi::CString;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::sync::OnceLock;

const MAX_FRAMES: usize = 100;
/// How long a handler waits for the reporter thread.
const REPORT_DEADLINE_MS: i32 = 10_000;

const KIND_CRASH: u8 = 1;
const KIND_WATCHDOG: u8 = 2;

// Global: everything below is read by the fatal-signal handlers and the
// watchdog's SIGALRM handler (and handed to the reporter thread), which
// can reach nothing but statics.
static LOG_PATH: OnceLock<Option<CString>> = OnceLock::new();
/// The Redis version reports name ("Redis 7.0.15 crashed by signal").
static VERSION: OnceLock<&'static str> = OnceLock::new();
static USE_EXIT_ON_PANIC: AtomicBool = AtomicBool::new(false);
static CRASH_LOG_ENABLED: AtomicBool = AtomicBool::new(false);
static BUG_REPORT_STARTED: AtomicBool = AtomicBool::new(false);
static IN_CRASH: AtomicBool = AtomicBool::new(false);

// What a handler hands to the reporter thread.
static FRAMES: [AtomicUsize; MAX_FRAMES] = [const { AtomicUsize::new(0) }; MAX_FRAMES];
static NFRAMES: AtomicUsize = AtomicUsize::new(0);
static KIND: AtomicU8 = AtomicU8::new(0);
static SIGNO: AtomicI32 = AtomicI32::new(0);
static SI_CODE: AtomicI32 = AtomicI32::new(0);
static SI_ADDR: AtomicUsize = AtomicUsize::new(0);
static SI_PID: AtomicI32 = AtomicI32::new(0);
static SI_UID: AtomicI32 = AtomicI32::new(0);
static EIP: AtomicUsize = AtomicUsize::new(0);

// The reporter thread: request pipe (write end), done pipe (read end).
static REQ_FD: AtomicI32 = AtomicI32::new(-1);
static DONE_FD: AtomicI32 = AtomicI32::new(-1);
static REPORTER_PID: AtomicI32 = AtomicI32::new(0);
static REPORTER_TID: AtomicI32 = AtomicI32::new(0);
static MAIN_TID: AtomicI32 = AtomicI32::new(0);

/// watchdog-period in ms (0: off).
static WATCHDOG_MS: AtomicI64 = AtomicI64::new(0);

fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Called once at startup, after logging is set up: remembers the Redis
/// version to report and where the log goes, starts the reporter thread
/// and installs the crash handlers if `crash_log` is on.
pub fn init(version: &'static str, logfile: &str, crash_log: bool, use_exit_on_panic: bool) {
    let _ = VERSION.set(version);
    let _ = LOG_PATH.set(if logfile.is_empty() {
        None
    } else {
        CString::new(logfile).ok()
    });
    USE_EXIT_ON_PANIC.store(use_exit_on_panic, Ordering::Relaxed);
    MAIN_TID.store(gettid(), Ordering::Relaxed);
    // The first backtrace() loads libgcc's unwinder (which may allocate):
    // do it now, not in a signal handler.
    let mut warm = [std::ptr::null_mut(); 4];
    // SAFETY: backtrace writes at most 4 entries into the 4-slot buffer.
    unsafe { libc::backtrace(warm.as_mut_ptr(), 4) };
    install_alt_stack();
    start_reporter();
    set_crash_log(crash_log);
}

/// `use-exit-on-panic`: leave with `_exit(1)` instead of abort() after a
/// DEBUG PANIC / ASSERT report.
pub fn set_use_exit_on_panic(on: bool) {
    USE_EXIT_ON_PANIC.store(on, Ordering::Relaxed);
}

/// `crash-log-enabled`: install or remove the fatal signal handlers
/// (setupSigSegvAction / removeSigSegvHandlers).
pub fn set_crash_log(on: bool) {
    const FATAL: [libc::c_int; 5] = [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGILL,
        libc::SIGABRT,
    ];
    // What was there before us (Rust's stack overflow reporter on SIGSEGV
    // and SIGBUS), put back when crash logging is turned off.
    static ORIGINAL: OnceLock<Vec<(libc::c_int, libc::sigaction)>> = OnceLock::new();
    let original = ORIGINAL.get_or_init(|| {
        FATAL
            .iter()
            .map(|&sig| {
                // SAFETY: sigaction with a null new action only reads the
                // current one into `old`.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    libc::sigaction(sig, std::ptr::null(), &mut old);
                    (sig, old)
                }
            })
            .collect()
    });
    CRASH_LOG_ENABLED.store(on, Ordering::Relaxed);
    for (sig, old) in original {
        if on {
            set_action(*sig, on_crash as *const () as usize, true);
        } else {
            // SAFETY: reinstating an action sigaction itself returned.
            unsafe { libc::sigaction(*sig, old, std::ptr::null_mut()) };
        }
    }
}

/// A signal stack for the main thread, so a stack overflow can still be
/// reported (Rust's own one is too small for the report path).
fn install_alt_stack() {
    const SIZE: usize = 256 * 1024;
    // SAFETY: mmap of fresh anonymous memory; sigaltstack only records the
    // region, which is never unmapped (it lives as long as the process).
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return;
        }
        let st = libc::stack_t {
            ss_sp: p,
            ss_flags: 0,
            ss_size: SIZE,
        };
        libc::sigaltstack(&st, std::ptr::null_mut());
    }
}

fn set_action(sig: libc::c_int, handler: usize, reset: bool) {
    // SAFETY: a zeroed sigaction with an SA_SIGINFO handler of the right
    // signature (extern "C" fn(c_int, *mut siginfo_t, *mut c_void)).
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        libc::sigemptyset(&mut act.sa_mask);
        act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        if reset {
            act.sa_flags |= libc::SA_NODEFER | libc::SA_RESETHAND;
        } else {
            act.sa_flags |= libc::SA_RESTART;
        }
        act.sa_sigaction = handler;
        libc::sigaction(sig, &act, std::ptr::null_mut());
    }
}

fn set_default(sig: libc::c_int) {
    // SAFETY: restoring the default disposition of a signal.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
}

// ---------------------------------------------------------------------------
// Signal-safe log output
// ---------------------------------------------------------------------------

/// A fixed-size line buffer: formatting into it never allocates.
struct LineBuf {
    buf: [u8; 1024],
    len: usize,
}

impl LineBuf {
    fn new() -> Self {
        LineBuf {
            buf: [0; 1024],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The log's descriptor for one report (openDirectLogFiledes).
struct LogFd(i32);

impl LogFd {
    fn open() -> LogFd {
        match LOG_PATH.get().and_then(|p| p.as_ref()) {
            // SAFETY: open() is async-signal-safe; the path is a valid C string.
            Some(p) => LogFd(unsafe {
                libc::open(
                    p.as_ptr(),
                    libc::O_APPEND | libc::O_CREAT | libc::O_WRONLY,
                    0o644,
                )
            }),
            None => LogFd(libc::STDOUT_FILENO),
        }
    }

    fn write(&self, b: &[u8]) {
        let mut off = 0;
        while off < b.len() && self.0 >= 0 {
            // SAFETY: write() of an in-bounds slice; async-signal-safe.
            let n = unsafe { libc::write(self.0, b[off..].as_ptr().cast(), b.len() - off) };
            if n <= 0 {
                return;
            }
            off += n as usize;
        }
    }

    /// A line in serverLog's format: `pid:M 06 Dec 2026 23:06:13.800 # msg`.
    fn log(&self, args: std::fmt::Arguments<'_>) {
        let mut l = LineBuf::new();
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime fills the timespec; async-signal-safe.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        let ms = ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000;
        // SAFETY: getpid cannot fail.
        let pid = unsafe { libc::getpid() };
        let _ = write!(l, "{}:{} ", pid, crate::logging::role_char());
        crate::logging::write_time(&mut l, ms);
        let _ = write!(l, " # ");
        let _ = l.write_fmt(args);
        let _ = l.write_str("\n");
        self.write(l.as_bytes());
    }

    /// serverLogFromHandler's format: `pid:signal-handler (unixtime) msg`.
    fn log_from_handler(&self, msg: &str) {
        let mut l = LineBuf::new();
        // SAFETY: getpid / time are async-signal-safe.
        let (pid, now) = unsafe { (libc::getpid(), libc::time(std::ptr::null_mut())) };
        let _ = writeln!(l, "{}:signal-handler ({}) {}", pid, now, msg);
        self.write(l.as_bytes());
    }
}

impl Drop for LogFd {
    fn drop(&mut self) {
        if self.0 > libc::STDOUT_FILENO {
            // SAFETY: closing the descriptor this struct opened.
            unsafe { libc::close(self.0) };
        }
    }
}

fn bug_report_start(fd: &LogFd) {
    if !BUG_REPORT_STARTED.swap(true, Ordering::SeqCst) {
        fd.write(b"\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n");
    }
}

fn bug_report_end(fd: &LogFd) {
    fd.write(
        b"\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n\
          \x20      Please report the crash to the ferrokv maintainers, with this\n\
          \x20      report and the steps that led to it.\n\n",
    );
}

// ---------------------------------------------------------------------------
// Symbols
// ---------------------------------------------------------------------------

/// This executable's ELF symbol table (functions only), for resolving
/// frame addresses; loaded by the reporter when a report is due.
struct Symtab {
    /// (start, size, name offset in `names`), sorted by start.
    funcs: Vec<(u64, u64, u32)>,
    names: Vec<u8>,
    /// Load address of the executable (PIE base).
    base: u64,
    exe: String,
}

impl Symtab {
    fn load() -> Option<Symtab> {
        use std::os::unix::fs::FileExt;
        let exe = std::fs::read_link("/proc/self/exe")
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let f = std::fs::File::open("/proc/self/exe").ok()?;
        let read = |off: u64, len: usize| -> Option<Vec<u8>> {
            let mut v = vec![0u8; len];
            f.read_exact_at(&mut v, off).ok()?;
            Some(v)
        };
        let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32_at =
            |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]));
        let u64_at =
            |b: &[u8], o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
        let eh = read(0, 64)?;
        if &eh[..4] != b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
            return None;
        }
        let (phoff, shoff) = (u64_at(&eh, 0x20), u64_at(&eh, 0x28));
        let (phentsize, phnum) = (u16_at(&eh, 0x36) as usize, u16_at(&eh, 0x38) as usize);
        let (shentsize, shnum) = (u16_at(&eh, 0x3a) as usize, u16_at(&eh, 0x3c) as usize);
        // The load base: where the program headers are mapped, less their
        // link-time address (PT_PHDR).
        let ph = read(phoff, phentsize * phnum)?;
        // SAFETY: getauxval only reads the auxiliary vector.
        let at_phdr = unsafe { libc::getauxval(libc::AT_PHDR) };
        let base = (0..phnum)
            .map(|i| &ph[i * phentsize..(i + 1) * phentsize])
            .find(|p| u32_at(p, 0) == libc::PT_PHDR)
            .map(|p| at_phdr.wrapping_sub(u64_at(p, 0x10)))
            .unwrap_or(at_phdr.wrapping_sub(phoff));
        let sh = read(shoff, shentsize * shnum)?;
        let sec = |i: usize| &sh[i * shentsize..(i + 1) * shentsize];
        let symtab = (0..shnum).map(sec).find(|s| u32_at(s, 4) == 2)?; // SHT_SYMTAB
        let (off, size, link) = (
            u64_at(symtab, 0x18),
            u64_at(symtab, 0x20),
            u32_at(symtab, 0x28),
        );
        let strsec = (link as usize) < shnum;
        let strsec = if strsec {
            sec(link as usize)
        } else {
            return None;
        };
        let syms = read(off, size as usize)?;
        let names = read(u64_at(strsec, 0x18), u64_at(strsec, 0x20) as usize)?;
        let mut funcs: Vec<(u64, u64, u32)> = syms
            .chunks_exact(24)
            .filter(|s| s[4] & 0xf == 2 && u64_at(s, 8) != 0) // STT_FUNC
            .map(|s| (u64_at(s, 8), u64_at(s, 16), u32_at(s, 0)))
            .collect();
        funcs.sort_unstable();
        Some(Symtab {
            funcs,
            names,
            base,
            exe,
        })
    }

    /// The function containing `addr` and the offset into it.
    fn resolve(&self, addr: u64) -> Option<(String, u64)> {
        let rel = addr.checked_sub(self.base)?;
        let i = self.funcs.partition_point(|f| f.0 <= rel).checked_sub(1)?;
        let (start, size, name) = self.funcs[i];
        if rel >= start + size.max(1) {
            return None;
        }
        let raw = self.names.get(name as usize..)?;
        let raw = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
        Some((demangle(&String::from_utf8_lossy(raw)), rel - start))
    }

    /// One Backtrace line, as backtrace_symbols prints it:
    /// `binary(function+0xoff)[0xaddr]`.
    fn frame_line(&self, addr: usize) -> String {
        if let Some((name, off)) = self.resolve(addr as u64) {
            return format!("{}({}+0x{:x})[0x{:x}]\n", self.exe, name, off, addr);
        }
        // Shared libraries: their dynamic symbols.
        // SAFETY: dladdr fills `info` for an address; the strings it points
        // to belong to the loaded objects and outlive this call.
        unsafe {
            let mut info: libc::Dl_info = std::mem::zeroed();
            if libc::dladdr(addr as *const libc::c_void, &mut info) != 0
                && !info.dli_fname.is_null()
            {
                let file = std::ffi::CStr::from_ptr(info.dli_fname).to_string_lossy();
                if !info.dli_sname.is_null() {
                    let s = std::ffi::CStr::from_ptr(info.dli_sname).to_string_lossy();
                    let off = addr.wrapping_sub(info.dli_saddr as usize);
                    return format!("{}({}+0x{:x})[0x{:x}]\n", file, s, off, addr);
                }
                let off = addr.wrapping_sub(info.dli_fbase as usize);
                return format!("{}(+0x{:x})[0x{:x}]\n", file, off, addr);
            }
        }
        format!("[0x{:x}]\n", addr)
    }
}

/// Legacy Rust mangling (`_ZN7ferrokv5crash4init17h0123456789abcdefE`) to
/// `ferrokv::crash::init`; anything else is returned as it is.
fn demangle(s: &str) -> String {
    let Some(mut rest) = s.strip_prefix("_ZN") else {
        return s.to_string();
    };
    let mut parts: Vec<String> = Vec::new();
    while !rest.starts_with('E') && !rest.is_empty() {
        let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        let Ok(n) = rest[..digits].parse::<usize>() else {
            return s.to_string();
        };
        let Some(ident) = rest.get(digits..digits + n) else {
            return s.to_string();
        };
        parts.push(ident.to_string());
        rest = &rest[digits + n..];
    }
    // Drop the trailing hash segment (h + 16 hex digits).
    if parts.last().is_some_and(|p| {
        p.len() == 17 && p.starts_with('h') && p[1..].bytes().all(|b| b.is_ascii_hexdigit())
    }) {
        parts.pop();
    }
    let mut out = parts.join("::");
    for (from, to) in [
        ("$LT$", "<"),
        ("$GT$", ">"),
        ("$RF$", "&"),
        ("$BP$", "*"),
        ("$LP$", "("),
        ("$RP$", ")"),
        ("$C$", ","),
        ("$u20$", " "),
        ("$u27$", "'"),
        ("$u5b$", "["),
        ("$u5d$", "]"),
        ("$u7b$", "{"),
        ("$u7d$", "}"),
        ("$u3b$", ";"),
        ("$u2b$", "+"),
        ("$u22$", "\""),
        ("..", "::"),
    ] {
        out = out.replace(from, to);
    }
    out
}

/// The STACK TRACE section for the captured frames.
fn stack_trace_text(frames: &[usize], eip: usize) -> String {
    let syms = Symtab::load();
    let line = |a: usize| match &syms {
        Some(t) => t.frame_line(a),
        None => format!("[0x{:x}]\n", a),
    };
    let mut s = String::from("\n------ STACK TRACE ------\n");
    if eip != 0 {
        s.push_str("EIP:\n");
        s.push_str(&line(eip));
    }
    s.push_str("\nBacktrace:\n");
    for &f in frames {
        s.push_str(&line(f));
    }
    s
}

// ---------------------------------------------------------------------------
// Reporter thread
// ---------------------------------------------------------------------------

fn start_reporter() {
    let mut req = [0i32; 2];
    let mut done = [0i32; 2];
    // SAFETY: pipe2 fills the two-element arrays.
    let ok = unsafe {
        libc::pipe2(req.as_mut_ptr(), libc::O_CLOEXEC) == 0
            && libc::pipe2(done.as_mut_ptr(), libc::O_CLOEXEC) == 0
    };
    if !ok {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("crash-report".into())
        .spawn(move || {
            // Signals meant for the main thread never land here.
            // SAFETY: blocking signals in this thread's own mask.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGALRM);
                libc::sigaddset(&mut set, libc::SIGTERM);
                libc::sigaddset(&mut set, libc::SIGINT);
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            }
            REPORTER_TID.store(gettid(), Ordering::SeqCst);
            reporter_loop(req[0], done[1]);
        });
    if spawned.is_ok() {
        // SAFETY: getpid cannot fail.
        REPORTER_PID.store(unsafe { libc::getpid() }, Ordering::SeqCst);
        DONE_FD.store(done[0], Ordering::SeqCst);
        REQ_FD.store(req[1], Ordering::SeqCst);
    }
}

fn reporter_loop(req: i32, done: i32) {
    loop {
        let mut b = [0u8; 1];
        // SAFETY: read of one byte into a local buffer.
        let n = unsafe { libc::read(req, b.as_mut_ptr().cast(), 1) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return;
        }
        let n = NFRAMES.load(Ordering::SeqCst).min(MAX_FRAMES);
        let frames: Vec<usize> = FRAMES[..n]
            .iter()
            .map(|f| f.load(Ordering::Relaxed))
            .collect();
        let eip = EIP.load(Ordering::Relaxed);
        let fd = LogFd::open();
        match KIND.load(Ordering::SeqCst) {
            KIND_WATCHDOG => {
                fd.log_from_handler("\n--- WATCHDOG TIMER EXPIRED ---");
                fd.write(stack_trace_text(&frames, eip).as_bytes());
                fd.log_from_handler("--------\n");
            }
            _ => {
                crash_header(&fd);
                fd.write(stack_trace_text(&frames, eip).as_bytes());
                bug_report_end(&fd);
            }
        }
        drop(fd);
        // SAFETY: one byte to the handler waiting on the done pipe.
        unsafe { libc::write(done, b.as_ptr().cast(), 1) };
    }
}

/// The lines sigsegvHandler logs before the stack trace.
fn crash_header(fd: &LogFd) {
    bug_report_start(fd);
    let sig = SIGNO.load(Ordering::Relaxed);
    fd.log(format_args!(
        "Redis {} crashed by signal: {}, si_code: {}",
        VERSION.get().copied().unwrap_or("7.0.15"),
        sig,
        SI_CODE.load(Ordering::Relaxed)
    ));
    if sig == libc::SIGSEGV || sig == libc::SIGBUS {
        fd.log(format_args!(
            "Accessing address: {:#x}",
            SI_ADDR.load(Ordering::Relaxed)
        ));
    }
    if SI_CODE.load(Ordering::Relaxed) == libc::SI_USER && SI_PID.load(Ordering::Relaxed) != -1 {
        fd.log(format_args!(
            "Killed by PID: {}, UID: {}",
            SI_PID.load(Ordering::Relaxed),
            SI_UID.load(Ordering::Relaxed)
        ));
    }
    let eip = EIP.load(Ordering::Relaxed);
    if eip != 0 {
        fd.log(format_args!(
            "Crashed running the instruction at: {:#x}",
            eip
        ));
    }
}

/// Hands the captured state to the reporter and waits for it. False if
/// there is no usable reporter (then the caller reports by itself).
fn ask_reporter(kind: u8) -> bool {
    let (req, done) = (
        REQ_FD.load(Ordering::SeqCst),
        DONE_FD.load(Ordering::SeqCst),
    );
    // SAFETY: getpid cannot fail.
    let pid = unsafe { libc::getpid() };
    if req < 0
        || done < 0
        || REPORTER_PID.load(Ordering::SeqCst) != pid
        || REPORTER_TID.load(Ordering::SeqCst) == gettid()
    {
        return false;
    }
    KIND.store(kind, Ordering::SeqCst);
    let b = [kind];
    // SAFETY: write/poll/read on our own pipes; all async-signal-safe.
    unsafe {
        if libc::write(req, b.as_ptr().cast(), 1) != 1 {
            return false;
        }
        let mut pfd = libc::pollfd {
            fd: done,
            events: libc::POLLIN,
            revents: 0,
        };
        if libc::poll(&mut pfd, 1, REPORT_DEADLINE_MS) == 1 {
            let mut r = [0u8; 1];
            libc::read(done, r.as_mut_ptr().cast(), 1);
        }
    }
    true
}

/// Captures the current stack (from inside a handler: the handler's own
/// frames, the signal trampoline, then the interrupted code).
fn capture_frames() {
    let mut buf = [std::ptr::null_mut::<libc::c_void>(); MAX_FRAMES];
    // SAFETY: backtrace writes at most MAX_FRAMES entries into `buf`.
    let n = unsafe { libc::backtrace(buf.as_mut_ptr(), MAX_FRAMES as libc::c_int) }.max(0) as usize;
    // Skip this function and the handler itself, as Redis's uplevel does.
    let skip = 2.min(n);
    for (slot, &f) in FRAMES.iter().zip(&buf[skip..n]) {
        slot.store(f as usize, Ordering::Relaxed);
    }
    NFRAMES.store(n - skip, Ordering::SeqCst);
}

/// The instruction pointer saved in a signal's ucontext.
fn context_eip(uc: *mut libc::c_void) -> usize {
    if uc.is_null() {
        return 0;
    }
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        // SAFETY: the kernel passes a valid ucontext_t to SA_SIGINFO handlers.
        unsafe {
            (*(uc as *const libc::ucontext_t)).uc_mcontext.gregs[libc::REG_RIP as usize] as usize
        }
    }
    #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
    {
        // SAFETY: as above.
        unsafe { (*(uc as *const libc::ucontext_t)).uc_mcontext.pc as usize }
    }
    #[cfg(not(any(
        all(target_os = "linux", target_arch = "x86_64"),
        all(target_os = "linux", target_arch = "aarch64")
    )))]
    {
        0
    }
}

/// Unresolved frames, straight from the handler (backtrace_symbols_fd).
fn raw_report(fd: &LogFd, with_header: bool) {
    if with_header {
        // Formatting into LineBuf does not allocate: safe in a handler.
        crash_header(fd);
    }
    fd.write(b"\n------ STACK TRACE ------\n");
    let eip = EIP.load(Ordering::Relaxed);
    let mut one = [eip as *mut libc::c_void];
    if eip != 0 {
        fd.write(b"EIP:\n");
        // SAFETY: backtrace_symbols_fd reads `one` and writes to the fd.
        unsafe { libc::backtrace_symbols_fd(one.as_mut_ptr(), 1, fd.0) };
    }
    fd.write(b"\nBacktrace:\n");
    let n = NFRAMES.load(Ordering::SeqCst).min(MAX_FRAMES);
    let mut buf = [std::ptr::null_mut::<libc::c_void>(); MAX_FRAMES];
    for (b, f) in buf.iter_mut().zip(&FRAMES[..n]) {
        *b = f.load(Ordering::Relaxed) as *mut libc::c_void;
    }
    // SAFETY: as above, for the first n entries.
    unsafe { libc::backtrace_symbols_fd(buf.as_ptr(), n as libc::c_int, fd.0) };
}

extern "C" fn on_crash(sig: libc::c_int, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    if IN_CRASH.swap(true, Ordering::SeqCst) {
        // A crash while reporting one: just die.
        set_default(sig);
        // SAFETY: raise is async-signal-safe.
        unsafe { libc::raise(sig) };
        return;
    }
    capture_frames();
    SIGNO.store(sig, Ordering::Relaxed);
    if !info.is_null() {
        // SAFETY: the kernel passes a valid siginfo_t to SA_SIGINFO handlers.
        unsafe {
            SI_CODE.store((*info).si_code, Ordering::Relaxed);
            SI_ADDR.store((*info).si_addr() as usize, Ordering::Relaxed);
            if (*info).si_code == libc::SI_USER {
                SI_PID.store((*info).si_pid(), Ordering::Relaxed);
                SI_UID.store((*info).si_uid() as i32, Ordering::Relaxed);
            }
        }
    }
    EIP.store(context_eip(uc), Ordering::Relaxed);
    if !ask_reporter(KIND_CRASH) {
        let fd = LogFd::open();
        raw_report(&fd, true);
        bug_report_end(&fd);
    }
    // bugReportEnd(1, sig): die by the same signal, with its default action.
    set_default(sig);
    // SAFETY: kill/getpid are async-signal-safe.
    unsafe { libc::kill(libc::getpid(), sig) };
}

// ---------------------------------------------------------------------------
// Watchdog
// ---------------------------------------------------------------------------

extern "C" fn on_watchdog(sig: libc::c_int, _info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    let main = MAIN_TID.load(Ordering::Relaxed);
    if gettid() != main {
        // The timer signal is process-wide: the stack we want is the main
        // thread's, so pass it on.
        // SAFETY: tgkill to a thread of our own process.
        unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), main, sig) };
        return;
    }
    capture_frames();
    EIP.store(context_eip(uc), Ordering::Relaxed);
    if !ask_reporter(KIND_WATCHDOG) {
        let fd = LogFd::open();
        fd.log_from_handler("\n--- WATCHDOG TIMER EXPIRED ---");
        raw_report(&fd, false);
        fd.log_from_handler("--------\n");
    }
}

fn schedule_alarm(ms: i64) {
    let it = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: (ms / 1000) as libc::time_t,
            tv_usec: ((ms % 1000) * 1000) as libc::suseconds_t,
        },
    };
    // SAFETY: setitimer with a valid itimerval.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &it, std::ptr::null_mut()) };
}

/// `watchdog-period` (applyWatchdogPeriod): 0 stops it; a period shorter
/// than two cron ticks is raised to that. Returns the period in effect.
pub fn set_watchdog_period(ms: i64, hz: u32) -> i64 {
    if ms <= 0 {
        WATCHDOG_MS.store(0, Ordering::Relaxed);
        schedule_alarm(0);
        // SAFETY: ignoring SIGALRM also drops a pending one.
        unsafe { libc::signal(libc::SIGALRM, libc::SIG_IGN) };
        return 0;
    }
    set_action(libc::SIGALRM, on_watchdog as *const () as usize, false);
    let min = (1000 / hz.max(1) as i64) * 2;
    let ms = ms.max(min);
    WATCHDOG_MS.store(ms, Ordering::Relaxed);
    schedule_alarm(ms);
    ms
}

/// Called by every cron run: pushes the watchdog's deadline forward.
pub fn watchdog_rearm() {
    let ms = WATCHDOG_MS.load(Ordering::Relaxed);
    if ms > 0 {
        schedule_alarm(ms);
    }
}

// ---------------------------------------------------------------------------
// Assertions and panics (DEBUG ASSERT / PANIC / OOM)
// ---------------------------------------------------------------------------

/// What the caller knows about the server for the report: the client
/// context lines, INFO and CLIENT LIST text.
#[derive(Default)]
pub struct ReportContext {
    pub client_lines: Vec<String>,
    pub object_lines: Vec<String>,
    pub info: String,
    pub clients: String,
}

fn synchronous_trace() -> String {
    let mut buf = [std::ptr::null_mut::<libc::c_void>(); MAX_FRAMES];
    // SAFETY: backtrace writes at most MAX_FRAMES entries into `buf`.
    let n = unsafe { libc::backtrace(buf.as_mut_ptr(), MAX_FRAMES as libc::c_int) }.max(0) as usize;
    // Skip this function and its caller in this module.
    let frames: Vec<usize> = buf[2.min(n)..n].iter().map(|&f| f as usize).collect();
    stack_trace_text(&frames, 0)
}

fn finish_report(fd: &LogFd, ctx: &ReportContext) -> ! {
    if CRASH_LOG_ENABLED.load(Ordering::Relaxed) {
        fd.write(synchronous_trace().as_bytes());
        let mut s = String::from("\n------ INFO OUTPUT ------\n");
        s.push_str(&ctx.info);
        s.push_str("\n------ CLIENT LIST OUTPUT ------\n");
        s.push_str(&ctx.clients);
        fd.write(s.as_bytes());
    }
    // removeSignalHandlers: abort() must not print a second report.
    set_crash_log(false);
    bug_report_end(fd);
    if USE_EXIT_ON_PANIC.load(Ordering::Relaxed) {
        // SAFETY: _exit ends the process at once.
        unsafe { libc::_exit(1) };
    }
    std::process::abort();
}

fn client_context(fd: &LogFd, ctx: &ReportContext) {
    if !ctx.client_lines.is_empty() {
        fd.log(format_args!("=== ASSERTION FAILED CLIENT CONTEXT ==="));
        for l in &ctx.client_lines {
            fd.log(format_args!("{}", l));
        }
    }
    if !ctx.object_lines.is_empty() {
        fd.log(format_args!("=== ASSERTION FAILED OBJECT CONTEXT ==="));
        for l in &ctx.object_lines {
            fd.log(format_args!("{}", l));
        }
    }
}

/// `_serverAssertWithInfo`: reports `'expr' is not true` at file:line and
/// aborts.
pub fn assertion_failed(expr: &str, file: &str, line: u32, ctx: &ReportContext) -> ! {
    let fd = LogFd::open();
    bug_report_start(&fd);
    client_context(&fd, ctx);
    fd.log(format_args!("=== ASSERTION FAILED ==="));
    fd.log(format_args!("==> {}:{} '{}' is not true", file, line, expr));
    finish_report(&fd, ctx)
}

/// `_serverPanic`: the Guru Meditation report, then abort.
pub fn panic(msg: &str, file: &str, line: u32, ctx: &ReportContext) -> ! {
    let fd = LogFd::open();
    bug_report_start(&fd);
    fd.log(format_args!(
        "------------------------------------------------"
    ));
    fd.log(format_args!(
        "!!! Software Failure. Press left mouse button to continue"
    ));
    fd.log(format_args!("Guru Meditation: {} #{}:{}", msg, file, line));
    finish_report(&fd, ctx)
}

/// `redisOutOfMemoryHandler`: logs the failed allocation, then panics.
pub fn out_of_memory(size: usize, ctx: &ReportContext) -> ! {
    LogFd::open().log(format_args!("Out Of Memory allocating {} bytes!", size));
    panic(
        &format!(
            "Redis aborting for OUT OF MEMORY. Allocating {} bytes!",
            size
        ),
        file!(),
        line!(),
        ctx,
    )
}

/// DEBUG SEGFAULT: a real SIGSEGV (a write to a read-only page), which the
/// crash handler reports.
pub fn segfault() -> ! {
    // SAFETY: maps one read-only page and writes to it on purpose: the
    // resulting SIGSEGV is the point. The volatile write is not elided.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        ) as *mut u8;
        if p as *mut libc::c_void != libc::MAP_FAILED {
            std::ptr::write_volatile(p, b'x');
        }
    }
    // Unreachable unless mmap failed.
    std::process::abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demangles_legacy_names() {
        assert_eq!(
            demangle("_ZN7ferrokv8commands5debug12debugCommand17h0123456789abcdefE"),
            "ferrokv::commands::debug::debugCommand"
        );
        assert_eq!(
            demangle(
                "_ZN4core3ptr42drop_in_place$LT$alloc..string..String$GT$17h0123456789abcdefE"
            ),
            "core::ptr::drop_in_place<alloc::string::String>"
        );
        assert_eq!(demangle("main"), "main");
    }

    #[test]
    fn resolves_own_functions() {
        let t = Symtab::load().expect("symbol table of the test binary");
        let addr = demangles_legacy_names as *const () as usize;
        let (name, off) = t.resolve(addr as u64).expect("resolves a test function");
        assert!(name.contains("demangles_legacy_names"), "{name}");
        assert_eq!(off, 0);
    }

    #[test]
    fn line_buffer_truncates() {
        let mut l = LineBuf::new();
        for _ in 0..200 {
            let _ = l.write_str("0123456789");
        }
        assert_eq!(l.as_bytes().len(), 1024);
    }
}
