//! The Lua debugger, LDB (Redis's eval.c `ldb*` functions): after
//! `SCRIPT DEBUG YES|SYNC` a client's next EVAL runs as a debugging
//! session. A line hook stops the script before a line runs (first line,
//! `step`, breakpoints, `redis.breakpoint()`, or a script running past the
//! busy threshold) and then talks to the client directly on its connection
//! (TCP, unix socket or TLS, taken from the client for the session), as
//! Redis does: requests are read with a blocking wait without a deadline,
//! answers ("logs") are written as a multi-bulk of status replies, with a
//! 5 s limit per write. The event loop is not re-entered.
//!
//! * SYNC: the session runs in the server, which serves nobody else until
//!   the script ends; the dataset keeps the script's changes.
//! * YES: the server forks (`persist::child::fork_debug_session`); the
//!   child runs the session and exits, so its writes are lost with it; the
//!   parent closes its copy of the client at once and reaps the child.
//!
//! Either way the session ends with an `<endsession>` log, then the EVAL
//! reply, then the connection is closed. A client that disconnects (or a
//! SIGTERM to a SYNC server) ends the stepping: the script runs to its end.
//!
//! The session state (`Ses`) lives in `eval_with_debugging`'s frame for
//! the length of the EVAL; the server (`Scripting::ldb`) and the script's
//! `RunCtx` point to it meanwhile, which is how the line hook and the
//! `redis.*` callbacks reach it. Its `RefCell` is borrowed only for plain
//! Rust work, never across a call into Lua, and the errors
//! the debugger raises in Lua (`abort`, "protocol error") are raised by the
//! hook's `extern "C-unwind"` wrapper once every Rust value is dropped.
//! Debugger `eval` code compiles as text only in the script's own
//! protected environment (sandbox.rs); the debugger adds no other way in.

use super::ldb_render::{self as render, c_str, Parsed};
use super::lua_stack::Stack;
use super::vm::{self, LuaState};
use super::RunCtx;
use crate::client::{Client, Conn, LuaDebug};
use crate::error::{self, CmdResult};
use crate::protocol::args::Args;
use crate::server::Server;
use mlua_sys as ffi;
use std::cell::RefCell;
use std::ffi::CStr;
use std::io;
use std::io::{Read, Write};
use std::os::raw::c_int;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tracing::warn;

/// Most breakpoints a session holds (LDB_BREAKPOINTS_MAX).
const BREAKPOINTS_MAX: usize = 64;
/// Default trimming of logged replies and values (LDB_MAX_LEN_DEFAULT).
const MAXLEN_DEFAULT: usize = 256;
/// Bytes read from the client at a time.
const READ_CHUNK: usize = 1024;
/// Pending request bytes beyond which the script is stopped.
const MAX_CLIENT_BUF: usize = 1 << 20;
/// Limit of one write to the client (connSendTimeout 5000).
const SEND_TIMEOUT_MS: c_int = 5000;
/// Busy threshold used when busy-reply-threshold is 0.
const DEFAULT_TIMEOUT_MS: u128 = 5000;

/// One debugging session (Redis's `struct ldbState` while `active`).
pub struct Session {
    /// The client's connection, taken from it for the session (plain TCP,
    /// unix socket or TLS: the debugger speaks through it as Redis's
    /// connRead/connWrite do), and its descriptor for waiting.
    conn: Option<Conn>,
    fd: i32,
    forked: bool,
    logs: Vec<Vec<u8>>,
    bp: Vec<i32>,
    /// Stop at the next line.
    step: bool,
    /// redis.breakpoint() was called: stop at the next line.
    luabp: bool,
    /// The script's source, one entry per line.
    src: Vec<Vec<u8>>,
    currentline: i32,
    /// Request bytes read but not parsed yet.
    cbuf: Vec<u8>,
    maxlen: usize,
    maxlen_hint_sent: bool,
}

/// A session as the server and the script's RunCtx reach it.
pub type Ses = RefCell<Session>;

/// Runs `f` on the session. `f` must not call into Lua.
fn with<R>(ses: &Ses, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
    ses.try_borrow_mut().ok().map(|mut s| f(&mut s))
}

impl Session {
    fn log(&mut self, entry: impl Into<Vec<u8>>) {
        self.logs.push(entry.into());
    }

    /// ldbLogWithMaxLen: trims to `maxlen` bytes, and hints at `maxlen 0`
    /// the first time.
    fn log_with_maxlen(&mut self, mut entry: Vec<u8>) {
        let trimmed = self.maxlen != 0 && entry.len() > self.maxlen;
        if trimmed {
            entry.truncate(self.maxlen);
            entry.extend_from_slice(b" ...");
        }
        self.log(entry);
        if trimmed && !self.maxlen_hint_sent {
            self.maxlen_hint_sent = true;
            self.log("<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.");
        }
    }

    fn source_line(&self, line: i32) -> &[u8] {
        match usize::try_from(line - 1).ok().and_then(|i| self.src.get(i)) {
            Some(l) => c_str(l),
            None => b"<out of range source code line>",
        }
    }

    /// ldbLogSourceLine: `-> ` marks the current line, `#` a breakpoint.
    fn log_source_line(&mut self, lnum: i32) {
        let prefix = match (self.currentline == lnum, self.bp.contains(&lnum)) {
            (true, true) => "->#",
            (true, false) => "-> ",
            (false, true) => "  #",
            (false, false) => "   ",
        };
        let mut s = format!("{}{:<3} ", prefix, lnum).into_bytes();
        s.extend_from_slice(self.source_line(lnum));
        self.log(s);
    }

    /// ldbList: the whole source (`around` 0) or `context` lines around a
    /// line.
    fn list(&mut self, around: i64, context: i64) {
        for j in 1..=self.src.len() as i64 {
            if around != 0 && (around - j).abs() > context {
                continue;
            }
            self.log_source_line(j as i32);
        }
    }

    /// ldbSendLogs' encoding: `*<n>` and one status reply per entry (CR
    /// and LF become spaces).
    fn take_logs(&mut self) -> Vec<u8> {
        let mut proto = format!("*{}\r\n", self.logs.len()).into_bytes();
        for entry in self.logs.drain(..) {
            proto.push(b'+');
            proto.extend(
                entry
                    .iter()
                    .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
            );
            proto.extend_from_slice(b"\r\n");
        }
        proto
    }
}

// ---- what the rest of the scripting layer asks -------------------------------

/// ldbIsEnabled: a session runs and steps, so redis.call logs its
/// command, reply and errors.
fn logging_enabled(ses: &Ses) -> bool {
    with(ses, |s| s.step).unwrap_or(false)
}

/// The session of the script running on `st`'s interpreter, if any.
fn session_of<'a>(st: &Stack) -> Option<&'a Ses> {
    super::run_of(st)?.ldb()
}

/// luaPushErrorBuff's log of an error pushed to Lua while stepping.
pub fn log_error(st: &Stack, err: &[u8]) {
    let Some(ses) = session_of(st) else {
        return;
    };
    if logging_enabled(ses) {
        let mut s = b"<error> ".to_vec();
        s.extend_from_slice(c_str(err));
        with(ses, |ses| ses.log(s));
    }
}

/// The `<redis>` log of a command a script runs while stepping (the first
/// ten arguments).
pub fn log_redis_command(ctx: &RunCtx, args: &Args) {
    let Some(ses) = ctx.ldb() else {
        return;
    };
    if !logging_enabled(ses) {
        return;
    }
    let mut s = b"<redis>".to_vec();
    for j in 0..args.len() {
        if j == 10 {
            s.extend_from_slice(format!(" ... ({} more)", args.len() - j - 1).as_bytes());
            break;
        }
        s.push(b' ');
        s.extend_from_slice(args.get(j));
    }
    with(ses, |ses| ses.log(s));
}

/// The `<reply>` log of a command's reply while stepping.
pub fn log_redis_reply(ctx: &RunCtx, reply: &[u8]) {
    if let Some(ses) = ctx.ldb().filter(|ses| logging_enabled(ses)) {
        log_reply(ses, reply);
    }
}

/// ldbLogRedisReply.
fn log_reply(ses: &Ses, reply: &[u8]) {
    let mut s = b"<reply> ".to_vec();
    render::reply_to_human(reply, 0, &mut s);
    with(ses, |ses| ses.log_with_maxlen(s));
}

/// redis.breakpoint(): in a session, stop at the next line.
pub fn breakpoint(st: &Stack) -> bool {
    session_of(st).is_some_and(|ses| with(ses, |s| s.luabp = true).is_some())
}

/// redis.debug(...): logs `<debug> line N: ` and the arguments.
pub fn debug(st: &mut Stack) {
    let Some(ses) = session_of(st) else {
        return;
    };
    let Some(line) = with(ses, |s| s.currentline) else {
        return;
    };
    let mut s = format!("<debug> line {}: ", line).into_bytes();
    let argc = st.top();
    for i in 1..=argc {
        // SAFETY: the Stack's state is valid and `i` is one of the C
        // function's arguments; cat_value only reads and leaves the
        // stack as it was.
        unsafe { render::cat_value(st.raw(), i, &mut s) };
        if i != argc {
            s.extend_from_slice(b", ");
        }
    }
    with(ses, |ses| ses.log(s));
}

/// Logs the value on top of the stack after `prefix` (ldbLogStackValue).
///
/// # Safety
/// Valid state with a value on top.
unsafe fn log_stack_value(ses: &Ses, l: LuaState, prefix: &str) {
    // SAFETY: the caller upholds this function's contract: Valid state with a value on top.
    unsafe {
        let mut s = prefix.as_bytes().to_vec();
        render::cat_value(l, -1, &mut s);
        with(ses, |ses| ses.log_with_maxlen(s));
    }
}

// ---- the client's socket -------------------------------------------------------

/// How often a wait without a deadline looks at the shutdown flag (a
/// SIGTERM may be delivered to another thread than ours).
const SHUTDOWN_CHECK_MS: c_int = 100;

/// Waits until `fd` is ready for `events`: at most `timeout_ms`, or
/// without a deadline (None). False on timeout or error, and, in the
/// server itself (not in a forked session), when SIGTERM/SIGINT asked for
/// a shutdown: Redis's blocking read returns EINTR then.
fn wait_fd(
    fd: i32,
    events: libc::c_short,
    timeout_ms: Option<c_int>,
    watch_shutdown: bool,
) -> bool {
    loop {
        if watch_shutdown && crate::server::SHUTDOWN_SIGNAL.load(Ordering::SeqCst) {
            return false;
        }
        let mut pfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: poll on one pollfd we own.
        let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms.unwrap_or(SHUTDOWN_CHECK_MS)) };
        if r > 0 {
            return true;
        }
        if r == 0 && timeout_ms.is_some() {
            return false;
        }
        if r < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return false;
        }
    }
}

/// Writes `buf` to the client (and, over TLS, the records it becomes),
/// giving up when a part is not accepted within 5 s or on an error (Redis
/// ignores those: the next read sees the connection gone).
/// `watch_shutdown`: see [`wait_fd`].
fn write_all(conn: &mut Conn, fd: i32, mut buf: &[u8], watch_shutdown: bool) {
    let wait = || wait_fd(fd, libc::POLLOUT, Some(SEND_TIMEOUT_MS), watch_shutdown);
    loop {
        let r = if buf.is_empty() {
            match conn.flush_tls() {
                Ok(true) => return,
                Ok(false) => Err(io::ErrorKind::WouldBlock.into()),
                Err(e) => Err(e),
            }
        } else {
            conn.write(buf).map(|n| buf = &buf[n..])
        };
        match r {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !wait() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Reads what the client sent, waiting without a deadline (connRead on a
/// blocking socket). None when the client is gone, on an error, or when
/// a shutdown was signalled meanwhile (see [`wait_fd`]).
fn read_some(conn: &mut Conn, fd: i32, watch_shutdown: bool) -> Option<Vec<u8>> {
    let mut buf = [0u8; READ_CHUNK];
    loop {
        // Read first: TLS may hold decrypted bytes the socket no longer
        // signals.
        match conn.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => return Some(buf[..n].to_vec()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if !wait_fd(fd, libc::POLLIN, None, watch_shutdown) {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}

/// Runs `f` with the session's connection, taken out of the session so
/// that no borrow of it is held while `f` blocks.
fn with_conn<R>(ses: &Ses, f: impl FnOnce(&mut Conn, i32, bool) -> R) -> Option<R> {
    let (mut conn, fd, forked) = with(ses, |s| Some((s.conn.take()?, s.fd, s.forked)))??;
    let r = f(&mut conn, fd, forked);
    with(ses, |s| s.conn = Some(conn));
    Some(r)
}

/// ldbSendLogs: sends and forgets the pending logs.
fn send_logs(ses: &Ses) {
    if let Some(proto) = with(ses, |s| s.take_logs()) {
        with_conn(ses, |conn, fd, forked| write_all(conn, fd, &proto, !forked));
    }
}

// ---- sessions --------------------------------------------------------------------

/// EVAL / EVAL_RO of a client in SCRIPT DEBUG mode
/// (evalGenericCommandWithDebugging): starts a session, runs the script
/// with `eval`, ends the session.
pub fn eval_with_debugging(
    srv: &mut Server,
    c: &mut Client,
    body: &[u8],
    eval: impl FnOnce(&mut Server, &mut Client) -> CmdResult,
) -> CmdResult {
    let forked = c.lua_debug == LuaDebug::Yes;
    if forked {
        match crate::persist::child::fork_debug_session(srv, c.fd) {
            Err(e) => {
                c.lua_debug = LuaDebug::Off;
                return Err(error::custom(format!(
                    "ERR Fork() failed: can't run EVAL in debugging mode: {}",
                    strerror(&e)
                )));
            }
            Ok(0) => warn!("Redis forked for debugging eval"),
            Ok(pid) => {
                // The child owns the session; our copy of the client goes,
                // without a word on the connection the child now speaks
                // on (no TLS close_notify, no shutdown), and out of our
                // poller first (the child keeps the socket open, so
                // closing our descriptor would not remove it).
                if let Some(mut sock) = c.sock.take() {
                    crate::poller::with_registry(&srv.io, |r| r.deregister(&mut sock));
                }
                srv.scripting.ldb_children.push(pid);
                c.lua_debug = LuaDebug::Off;
                c.close_asap = true;
                return Ok(());
            }
        }
    } else {
        warn!("Redis synchronous debugging eval session started");
    }
    // The session speaks through the client's connection until it ends.
    let ses: Ses = RefCell::new(start_session(c.sock.take(), c.fd, forked, body));
    // The session lives in this frame until the EVAL is over; the server
    // points to it meanwhile (`run` hands the pointer to the RunCtx).
    srv.scripting.ldb = &ses;
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| eval(srv, c)));
    // No session may outlive its EVAL.
    srv.scripting.ldb = std::ptr::null();
    match r {
        Ok(r) => end_session(ses, c, r),
        Err(panic) => {
            c.sock = ses.into_inner().conn;
            // A forked child never goes back to the event loop.
            if forked {
                // SAFETY: the child ends here without running the parent's
                // destructors or atexit handlers.
                unsafe { libc::_exit(1) };
            }
            std::panic::resume_unwind(panic)
        }
    }
}

fn strerror(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(p) => s[..p].to_string(),
        None => s,
    }
}

/// ldbEnable + ldbStartSession: a fresh state that stops at the first
/// line, with the source split in lines (trailing newlines dropped).
fn start_session(conn: Option<Conn>, fd: i32, forked: bool, body: &[u8]) -> Session {
    let mut src = body;
    while let Some((&last, rest)) = src.split_last() {
        if last == b'\n' || last == b'\r' {
            src = rest;
        } else {
            break;
        }
    }
    let lines: Vec<Vec<u8>> = if src.is_empty() {
        Vec::new()
    } else {
        src.split(|&b| b == b'\n').map(|l| l.to_vec()).collect()
    };
    Session {
        conn,
        fd,
        forked,
        logs: Vec::new(),
        bp: Vec::new(),
        step: true,
        luabp: false,
        src: lines,
        currentline: 0,
        cbuf: Vec::new(),
        maxlen: MAXLEN_DEFAULT,
        maxlen_hint_sent: false,
    }
}

/// ldbEndSession: `<endsession>`, then the EVAL reply and the end of the
/// connection. A forked child writes the reply itself and exits here.
fn end_session(ses: Ses, c: &mut Client, r: CmdResult) -> CmdResult {
    with(&ses, |s| s.log("<endsession>"));
    send_logs(&ses);
    let ses = ses.into_inner();
    // The connection goes back to the client (which the reply then ends).
    c.sock = ses.conn;
    if ses.forked {
        if let Err(e) = &r {
            c.out.error(e);
        }
        if let Some(conn) = c.sock.as_mut() {
            write_all(conn, c.fd, &c.out.buf[c.out_pos..], false);
        }
        warn!("Lua debugging session child exiting");
        // SAFETY: the debugging child ends here without running the
        // parent's destructors or atexit handlers on its copied state.
        unsafe { libc::_exit(0) };
    }
    warn!("Redis synchronous debugging eval session ended");
    c.lua_debug = LuaDebug::Off;
    c.close_after_reply = true;
    r
}

/// Reaps the forked sessions that ended (from the cron).
pub fn reap_children(srv: &mut Server) {
    srv.scripting
        .ldb_children
        .retain(|&pid| !crate::persist::child::reap_debug_session(pid));
}

/// ldbKillForkedSessions (shutdown).
pub fn kill_forked_sessions(srv: &mut Server) {
    for pid in srv.scripting.ldb_children.drain(..) {
        warn!("Killing debugging session {}", pid);
        crate::persist::child::kill_debug_session(pid);
    }
}

// ---- the line hook ---------------------------------------------------------------

/// The hook EVAL runs under in a session (luaLdbLineHook), on every line
/// and every 100000 instructions.
///
/// # Safety
/// Installed by `scripting::run` on the EVAL interpreter while a session
/// and its RunCtx are live.
pub unsafe extern "C-unwind" fn line_hook(l: LuaState, ar: *mut ffi::lua_Debug) {
    // SAFETY: Lua calls the hook with a valid state and debug record while a session and its
    // RunCtx are live (installed only then); the raise happens after the hook's work returned,
    // with no Rust value alive.
    unsafe {
        let raise = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook_impl(l, ar)))
            .unwrap_or(None);
        if let Some(msg) = raise {
            // Nothing of Rust's is alive here: the longjmp crosses plain frames.
            vm::push_error_table(l, msg.as_bytes());
            ffi::lua_error(l);
        }
    }
}

/// The hook's work; Some(message) is an error to raise in the script.
unsafe fn hook_impl(l: LuaState, ar: *mut ffi::lua_Debug) -> Option<&'static str> {
    // SAFETY: called only by line_hook with the state and debug record Lua passed it, while a
    // session is live.
    unsafe {
        let ctx = super::run_of_state(l)?;
        let ses = ctx.ldb()?;
        let ar = &mut *ar;
        let event = ar.event;
        ffi::lua_getstack(l, 0, ar);
        ffi::lua_getinfo(l, c"Sl".as_ptr(), ar);
        let line = ar.currentline;
        let (bp, step, luabp) = with(ses, |s| {
            s.currentline = line;
            (s.bp.contains(&line) || s.luabp, s.step, s.luabp)
        })?;
        // Lines of other chunks (the debugger's eval code) do not stop.
        let short_src = CStr::from_ptr(ar.short_src.as_ptr()).to_bytes();
        if !short_src.windows(11).any(|w| w == b"user_script") {
            return None;
        }
        let mut timeout = false;
        if event == ffi::LUA_HOOKCOUNT && !step && !bp {
            let limit = match ctx.threshold_ms {
                0 => DEFAULT_TIMEOUT_MS,
                t => t,
            };
            if ctx.start.get().elapsed().as_millis() < limit {
                return None;
            }
            timeout = true;
        }
        if !(step || bp || timeout) {
            return None;
        }
        let reason = if bp {
            if luabp {
                "redis.breakpoint() called"
            } else {
                "break point"
            }
        } else if timeout {
            "timeout reached, infinite loop?"
        } else {
            "step over"
        };
        with(ses, |s| {
            s.step = false;
            s.luabp = false;
            s.log(format!("* Stopped at {}, stop reason = {}", line, reason));
            s.log_source_line(line);
        });
        send_logs(ses);
        match repl(ses, l) {
            Err(msg) => return Some(msg),
            Ok(false) if timeout => {
                // The client is gone and the script loops: stop it, or the
                // server would stay blocked for good.
                return Some("timeout during Lua debugging with client closing connection");
            }
            Ok(_) => {}
        }
        ctx.start.set(Instant::now());
        crate::clock::update();
        None
    }
}

// ---- the REPL ----------------------------------------------------------------------

const HELP: &[&str] = &[
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
];

/// The next request from the client: Ok(None) when it is gone, Err for an
/// error to raise in the script.
fn next_request(ses: &Ses) -> Result<Option<Vec<Vec<u8>>>, &'static str> {
    loop {
        let parsed =
            with(ses, |s| render::parse_command(&s.cbuf)).ok_or("the debugging session ended")?;
        match parsed {
            Parsed::Command(argv) => {
                // Whatever followed the request in the buffer is dropped,
                // as Redis does.
                with(ses, |s| s.cbuf.clear());
                return Ok(Some(argv));
            }
            Parsed::ProtocolError => return Err("protocol error"),
            Parsed::More => {}
        }
        let Some(data) = with_conn(ses, |conn, fd, forked| read_some(conn, fd, !forked)).flatten()
        else {
            // The script runs on without user input.
            with(ses, |s| {
                s.step = false;
                s.bp.clear();
            });
            return Ok(None);
        };
        let overflow = with(ses, |s| {
            s.cbuf.extend_from_slice(&data);
            let over = s.cbuf.len() > MAX_CLIENT_BUF;
            if over {
                s.cbuf = Vec::new();
            }
            over
        });
        if overflow == Some(true) {
            return Err("max client buffer reached");
        }
    }
}

/// ldbRepl: serves debugger requests until one resumes the script.
/// Ok(true) to go on, Ok(false) when the client disconnected.
unsafe fn repl(ses: &Ses, l: LuaState) -> Result<bool, &'static str> {
    // SAFETY: called from the line hook with the state Lua passed it; only non-raising calls
    // (debug info, raw reads, pushes, lua_pcall) are made.
    unsafe {
        loop {
            let Some(argv) = next_request(ses)? else {
                return Ok(false);
            };
            let name = c_str(&argv[0]).to_ascii_lowercase();
            let argc = argv.len();
            match &name[..] {
                b"h" | b"help" => {
                    with(ses, |s| HELP.iter().for_each(|h| s.log(*h)));
                }
                b"s" | b"step" | b"n" | b"next" => {
                    with(ses, |s| s.step = true);
                    return Ok(true);
                }
                b"c" | b"continue" => return Ok(true),
                b"t" | b"trace" => trace(ses, l),
                b"m" | b"maxlen" => with(ses, |s| maxlen(s, &argv)).unwrap_or(()),
                b"b" | b"break" => with(ses, |s| break_cmd(s, &argv)).unwrap_or(()),
                b"e" | b"eval" => eval(ses, l, &argv),
                b"a" | b"abort" => return Err("script aborted for user request"),
                b"r" | b"redis" if argc > 1 => redis(ses, l, &argv),
                b"p" | b"print" => {
                    if argc == 2 {
                        print_var(ses, l, c_str(&argv[1]));
                    } else {
                        print_all(ses, l);
                    }
                }
                b"l" | b"list" => with(ses, |s| {
                    let mut around = s.currentline as i64;
                    if argc > 1 {
                        let n = render::atoi(&argv[1]);
                        if n > 0 {
                            around = n;
                        }
                    }
                    let ctx = if argc > 2 { render::atoi(&argv[2]) } else { 5 };
                    s.list(around, ctx);
                })
                .unwrap_or(()),
                b"w" | b"whole" => with(ses, |s| s.list(1, 1_000_000)).unwrap_or(()),
                _ => {
                    with(ses, |s| {
                        s.log(
                        "<error> Unknown Redis Lua debugger command or wrong number of arguments.",
                    )
                    });
                }
            }
            send_logs(ses);
        }
    }
}

/// ldbMaxlen.
fn maxlen(s: &mut Session, argv: &[Vec<u8>]) {
    if argv.len() == 2 {
        let mut v = render::atoi(&argv[1]);
        s.maxlen_hint_sent = true;
        if v != 0 && v <= 60 {
            v = 60;
        }
        s.maxlen = v as usize;
    }
    if s.maxlen != 0 {
        let m = format!(
            "<value> replies are truncated at {} bytes.",
            s.maxlen as i32
        );
        s.log(m);
    } else {
        s.log("<value> replies are unlimited.");
    }
}

/// ldbBreak: list, add (`N`), remove (`-N`) or clear (`0`) breakpoints.
fn break_cmd(s: &mut Session, argv: &[Vec<u8>]) {
    if argv.len() == 1 {
        if s.bp.is_empty() {
            s.log("No breakpoints set. Use 'b <line>' to add one.");
        } else {
            s.log(format!("{} breakpoints set:", s.bp.len()));
            for line in s.bp.clone() {
                s.log_source_line(line);
            }
        }
        return;
    }
    for arg in &argv[1..] {
        let Some(line) = crate::util::num::parse_i64(arg) else {
            let mut m = b"Invalid argument:'".to_vec();
            m.extend_from_slice(c_str(arg));
            m.push(b'\'');
            s.log(m);
            continue;
        };
        // ldbAddBreakpoint / ldbDelBreakpoint take an int.
        let line32 = line as i32;
        if line == 0 {
            s.bp.clear();
            s.log("All breakpoints removed.");
        } else if line > 0 {
            if s.bp.len() == BREAKPOINTS_MAX {
                s.log("Too many breakpoints set.");
            } else if line32 > 0 && line32 as usize <= s.src.len() && !s.bp.contains(&line32) {
                s.bp.push(line32);
                s.list(line32 as i64, 1);
            } else {
                s.log("Wrong line number.");
            }
        } else {
            let target = (-line) as i32;
            match s.bp.iter().position(|&b| b == target) {
                Some(p) => {
                    s.bp.remove(p);
                    s.log("Breakpoint removed.");
                }
                None => s.log("No breakpoint in the specified line."),
            }
        }
    }
}

/// The C string of a `const char *` Lua gives back, if any.
///
/// # Safety
/// `p` null or a NUL-terminated string alive for the returned lifetime.
unsafe fn cstr_bytes<'a>(p: *const std::os::raw::c_char) -> Option<&'a [u8]> {
    // SAFETY: the caller upholds this function's contract: `p` null or a NUL-terminated string
    // alive for the returned lifetime.
    unsafe { (!p.is_null()).then(|| CStr::from_ptr(p).to_bytes()) }
}

/// ldbTrace: the script's frames, innermost first.
unsafe fn trace(ses: &Ses, l: LuaState) {
    // SAFETY: called from the debugger's repl with the hook's valid state; reads debug info only.
    unsafe {
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        let mut level = 0;
        while ffi::lua_getstack(l, level, &mut ar) != 0 {
            ffi::lua_getinfo(l, c"Snl".as_ptr(), &mut ar);
            let short_src = CStr::from_ptr(ar.short_src.as_ptr()).to_bytes();
            if short_src.windows(11).any(|w| w == b"user_script") {
                let mut m = if level == 0 {
                    b"In ".to_vec()
                } else {
                    b"From ".to_vec()
                };
                m.extend_from_slice(cstr_bytes(ar.name).unwrap_or(b"top level"));
                m.push(b':');
                let line = ar.currentline;
                with(ses, |s| {
                    s.log(m);
                    s.log_source_line(line);
                });
            }
            level += 1;
        }
        if level == 0 {
            with(ses, |s| s.log("<error> Can't retrieve Lua stack."));
        }
    }
}

/// ldbPrint: the first local named `name` from the current frame outwards,
/// else the globals KEYS and ARGV.
unsafe fn print_var(ses: &Ses, l: LuaState, name: &[u8]) {
    // SAFETY: called from the debugger's repl with the hook's valid state; debug info and raw
    // reads, stack left balanced.
    unsafe {
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        let mut level = 0;
        while ffi::lua_getstack(l, level, &mut ar) != 0 {
            level += 1;
            let mut i = 1;
            loop {
                let local = ffi::lua_getlocal(l, &ar, i);
                let Some(local) = cstr_bytes(local) else {
                    break;
                };
                i += 1;
                if local == name {
                    log_stack_value(ses, l, "<value> ");
                    ffi::lua_pop(l, 1);
                    return;
                }
                ffi::lua_pop(l, 1);
            }
        }
        if name == b"ARGV" || name == b"KEYS" {
            // The real globals table, read raw (no metamethod can run).
            ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, vm::REG_REAL_GLOBALS.as_ptr());
            if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
                vm::push_raw_field(l, if name == b"ARGV" { c"ARGV" } else { c"KEYS" });
            } else {
                ffi::lua_pushnil(l);
            }
            log_stack_value(ses, l, "<value> ");
            ffi::lua_pop(l, 2);
        } else {
            with(ses, |s| s.log("No such variable."));
        }
    }
}

/// ldbPrintAll: the current frame's locals.
unsafe fn print_all(ses: &Ses, l: LuaState) {
    // SAFETY: called from the debugger's repl with the hook's valid state; debug info and raw
    // reads, stack left balanced.
    unsafe {
        let mut ar: ffi::lua_Debug = std::mem::zeroed();
        let mut vars = 0;
        if ffi::lua_getstack(l, 0, &mut ar) != 0 {
            let mut i = 1;
            loop {
                let local = ffi::lua_getlocal(l, &ar, i);
                let Some(local) = cstr_bytes(local) else {
                    break;
                };
                i += 1;
                if !local.windows(12).any(|w| w == b"(*temporary)") {
                    let prefix = format!("<value> {} = ", String::from_utf8_lossy(local));
                    log_stack_value(ses, l, &prefix);
                    vars += 1;
                }
                ffi::lua_pop(l, 1);
            }
        }
        if vars == 0 {
            with(ses, |s| s.log("No local variables in the current context."));
        }
    }
}

/// The message of an error value a debugger `eval` left on the stack:
/// its text, or the `err` field of a Redis error table (Redis 7.0.15
/// crashes on a non-string error here).
unsafe fn error_text(l: LuaState) -> Vec<u8> {
    // SAFETY: called with the hook's valid state and an error value on top; raw reads only.
    unsafe {
        if ffi::lua_type(l, -1) == ffi::LUA_TSTRING || ffi::lua_type(l, -1) == ffi::LUA_TNUMBER {
            return c_str(vm::to_bytes(l, -1).unwrap_or_default()).to_vec();
        }
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            vm::push_raw_field(l, c"err");
            let t = if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
                Some(c_str(vm::to_bytes(l, -1).unwrap_or_default()).to_vec())
            } else {
                None
            };
            ffi::lua_pop(l, 1);
            if let Some(t) = t {
                return t;
            }
        }
        let tn = CStr::from_ptr(ffi::lua_typename(l, ffi::lua_type(l, -1))).to_bytes();
        let mut m = b"(error object is a ".to_vec();
        m.extend_from_slice(tn);
        m.extend_from_slice(b" value)");
        m
    }
}

/// ldbEval: runs the arguments, joined, as Lua code (first as an
/// expression, `return <code>`) and logs the result. It compiles as text
/// in the script's protected globals, as a script does.
unsafe fn eval(ses: &Ses, l: LuaState, argv: &[Vec<u8>]) {
    // SAFETY: called from the debugger's repl with the hook's valid state; the code runs under
    // lua_pcall, so nothing raises past here.
    unsafe {
        let code = argv[1..].join(&b' ');
        let mut expr = b"return ".to_vec();
        expr.extend_from_slice(&code);
        let compiled = match super::sandbox::compile(l, &expr, c"@ldb_eval", None) {
            Ok(()) => Ok(()),
            Err(_) => super::sandbox::compile(l, &code, c"@ldb_eval", None),
        };
        if let Err(msg) = compiled {
            let mut m = b"<error> ".to_vec();
            m.extend_from_slice(c_str(msg.as_bytes()));
            with(ses, |s| s.log(m));
            return;
        }
        if ffi::lua_pcall(l, 0, 1, 0) != 0 {
            let mut m = b"<error> ".to_vec();
            m.extend_from_slice(&error_text(l));
            ffi::lua_pop(l, 1);
            with(ses, |s| s.log(m));
            return;
        }
        log_stack_value(ses, l, "<retval> ");
        ffi::lua_pop(l, 1);
    }
}

/// ldbRedis: runs the command through redis.call while stepping, so that
/// redis.call itself logs it and its reply.
unsafe fn redis(ses: &Ses, l: LuaState, argv: &[Vec<u8>]) {
    // SAFETY: called from the debugger's repl with the hook's valid state; room is checked and
    // redis.call runs under lua_pcall.
    unsafe {
        if ffi::lua_checkstack(l, argv.len() as c_int + 1) == 0 {
            log_reply(ses, b"max lua stack reached");
            return;
        }
        ffi::lua_pushcfunction(l, super::api::redis_call);
        for a in &argv[1..] {
            vm::push_bytes(l, a);
        }
        with(ses, |s| s.step = true);
        // Errors were logged by redis.call; the result is not shown again.
        ffi::lua_pcall(l, argv.len() as c_int - 1, 1, 0);
        with(ses, |s| s.step = false);
        ffi::lua_pop(l, 1);
    }
}
