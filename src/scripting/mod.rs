//! Lua scripting (Redis's eval.c / script.c / script_lua.c / functions.c):
//! the EVAL script cache, the FUNCTION libraries, and the machinery that
//! runs a script atomically inside one command handler.
//!
//! redis.call() runs commands through the normal dispatcher
//! (`commands::execute`, reached through `srv.hooks` since the command
//! layer sits above this one) on a connection-less "script client"; its reply
//! bytes are parsed back into Lua values (`lua_conv`), so RESP2/RESP3
//! conversions are exactly those of the protocol.
//!
//! While a script runs, the Lua callbacks reach the server through the raw
//! pointers in [`RunCtx`], which `run` stores for the duration of the run
//! in the interpreter's context (`vm::VmCtx`; callbacks get it with
//! [`run_of`]) and in `Scripting::current` (for the command layer:
//! `Scripting::current_run`). SAFETY argument: the handler that starts the
//! script derives the pointers from its `&mut Server` / the script client
//! it owns, then does not touch either until `lua_pcall` returns; the script runs synchronously on
//! this thread; callbacks never keep a reference across a return to Lua, so
//! at any time exactly one live `&mut Server` exists.
//!
//! Busy scripts: when busy-reply-threshold > 0 a count hook runs every
//! 100000 Lua instructions. Past the threshold it lets the event loop serve
//! other clients in a restricted mode (`event_loop::process_events_while_busy`,
//! installed as `srv.process_events_while_busy`):
//! they get BUSY errors except for allow-busy commands (SCRIPT KILL,
//! FUNCTION KILL, SHUTDOWN NOSAVE...). SCRIPT KILL sets the kill flag the hook
//! then turns into a Lua error.
//!
//! EVAL of a client in SCRIPT DEBUG mode runs under the Lua debugger
//! (`ldb.rs`): its line hook replaces the count hook, and the server
//! serves nobody else while the session lasts (no busy processing).

pub mod api;
pub mod cjson;
pub mod functions;
pub mod ldb;
pub mod ldb_render;
pub mod libs;
pub mod lua_conv;
pub mod lua_stack;
pub mod sandbox;
pub mod vm;

use crate::client::Client;
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::Server;
use lua_stack::Stack;
use mlua_sys as ffi;
use std::cell::Cell;
use std::collections::HashMap;
use std::os::raw::c_int;
use std::time::Instant;
use vm::{LuaState, Vm, VmKind};

/// Script flags (shebang `flags=` / register_function flags).
pub const FLAG_NO_WRITES: u32 = 1 << 0;
pub const FLAG_ALLOW_OOM: u32 = 1 << 1;
pub const FLAG_ALLOW_STALE: u32 = 1 << 2;
pub const FLAG_NO_CLUSTER: u32 = 1 << 3;
pub const FLAG_ALLOW_CROSS_SLOT: u32 = 1 << 4;
/// An EVAL script with no shebang: flags are not enforced (Redis's
/// SCRIPT_FLAG_EVAL_COMPAT_MODE).
pub const FLAG_EVAL_COMPAT: u32 = 1 << 5;

pub const FLAG_NAMES: &[(u32, &str)] = &[
    (FLAG_NO_WRITES, "no-writes"),
    (FLAG_ALLOW_OOM, "allow-oom"),
    (FLAG_ALLOW_STALE, "allow-stale"),
    (FLAG_NO_CLUSTER, "no-cluster"),
    (FLAG_ALLOW_CROSS_SLOT, "allow-cross-slot-keys"),
];

/// A cached EVAL script.
pub struct Script {
    pub body: Vec<u8>,
    pub flags: u32,
    /// luaL_ref of the compiled function in the eval interpreter's registry.
    pub fn_ref: c_int,
}

/// All scripting state, owned by the server.
pub struct Scripting {
    pub eval_vm: Vm,
    /// sha1 (lowercase hex) -> script.
    pub scripts: HashMap<String, Script>,
    /// Total body bytes (INFO used_memory_scripts_eval).
    pub scripts_bytes: usize,
    pub functions: functions::Functions,
    /// The connection-less client redis.call runs commands on.
    pub client: Option<Box<Client>>,
    /// True while the busy hook lets the event loop serve other clients.
    pub busy_polling: bool,
    /// Set while a script runs: EVAL (true) or FCALL (false).
    pub running_eval: Option<bool>,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call `noscript`
    /// commands (Redis's test hook, script_disable_deny_script).
    pub allow_noscript: bool,
    /// Pids of the forked Lua debugging sessions (SCRIPT DEBUG YES).
    pub ldb_children: Vec<i32>,
    /// The running script's context (null between scripts), set by `run`
    /// for as long as the script runs; read through `current_run`.
    current: *const RunCtx,
    /// Set while a script body or library compiles (Some(true) for EVAL):
    /// SCRIPT KILL / FUNCTION KILL then stop the parse.
    compiling: Option<bool>,
    /// SCRIPT KILL / FUNCTION KILL asked to stop the parse in progress.
    compile_killed: bool,
    /// The Lua debugging session of the EVAL in progress (null when none),
    /// owned by `ldb::eval_with_debugging`'s frame while it lasts.
    pub(crate) ldb: *const ldb::Ses,
}

impl Scripting {
    /// The scripting state; `deprecated_api` is lua-enable-deprecated-api,
    /// set before the first VM is created.
    pub fn new(deprecated_api: bool) -> Scripting {
        sandbox::set_deprecated_api(deprecated_api);
        Scripting {
            eval_vm: Vm::new(VmKind::Eval),
            scripts: HashMap::new(),
            scripts_bytes: 0,
            functions: functions::Functions::new(),
            client: None,
            busy_polling: false,
            running_eval: None,
            allow_noscript: false,
            ldb_children: Vec::new(),
            current: std::ptr::null(),
            compiling: None,
            compile_killed: false,
            ldb: std::ptr::null(),
        }
    }

    /// Does a Lua debugging session run (Redis's ldb.active)?
    pub fn ldb_active(&self) -> bool {
        !self.ldb.is_null()
    }

    /// The running script's context, if a script runs (a busy script's
    /// event processing, a command it called).
    pub fn current_run<'a>(&self) -> Option<&'a RunCtx> {
        // SAFETY: `current` is set only while `run` keeps the RunCtx alive
        // on its stack; callers use the reference within the command that
        // the script runs or that runs during it.
        unsafe { self.current.as_ref() }
    }

    /// SCRIPT FLUSH: a fresh interpreter and an empty cache.
    pub fn flush_eval(&mut self) {
        self.scripts.clear();
        self.scripts_bytes = 0;
        self.eval_vm = Vm::new(VmKind::Eval);
    }

    /// Takes the compiled function on top of the EVAL VM's stack into the
    /// cache under `sha`.
    fn cache_compiled(&mut self, sha: String, body: &[u8], flags: u32) -> String {
        // SAFETY: the compiled function is on the stack.
        let fn_ref = unsafe { ffi::luaL_ref(self.eval_vm.l, ffi::LUA_REGISTRYINDEX) };
        self.scripts_bytes += body.len();
        self.scripts.insert(
            sha.clone(),
            Script {
                body: body.to_vec(),
                flags,
                fn_ref,
            },
        );
        sha
    }
}

fn compile_error(m: String) -> CmdError {
    if m.is_empty() {
        // The busy check stopped the parse (SCRIPT KILL / FUNCTION KILL).
        return CmdError::Static(error::SCRIPT_KILLED);
    }
    error::custom(format!("ERR Error compiling script (new function): {}", m))
}

/// Compiles `code` in `l` with Redis's busy handling: a body so large that
/// parsing it outlasts busy-reply-threshold logs "Slow script detected",
/// lets other clients in (they get BUSY), and can be stopped by SCRIPT KILL
/// (FUNCTION KILL for a library), like a running script (SHUTDOWN NOSAVE
/// exits the process from the event processing). An empty Err means it
/// was stopped.
fn compile_busy(
    srv: &mut Server,
    l: LuaState,
    code: &[u8],
    chunkname: &std::ffi::CStr,
    is_eval: bool,
    name: &str,
) -> Result<(), String> {
    let threshold = busy_threshold(srv);
    srv.scripting.compiling = Some(is_eval);
    srv.scripting.compile_killed = false;
    let srv_ptr = srv as *mut Server;
    let start = Instant::now();
    let mut logged = false;
    let mut between = || -> bool {
        // SAFETY: no reference to the server is live while the parser
        // runs (the caller holds only the raw interpreter pointer `l`).
        if unsafe { (*srv_ptr).scripting.compile_killed } {
            return false;
        }
        // SAFETY: as above; a read of a plain field.
        let debugging = unsafe { (*srv_ptr).scripting.ldb_active() };
        if threshold == 0 || start.elapsed().as_millis() < threshold || debugging {
            return true;
        }
        if !logged {
            logged = true;
            tracing::warn!(
                "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {} command. Script name is: {}.",
                start.elapsed().as_millis(),
                if is_eval { "SCRIPT KILL" } else { "FUNCTION KILL" },
                name
            );
        }
        // SAFETY: no reference to the server is live while the parser runs
        // (the caller holds only the raw interpreter pointer `l`); this is
        // the one here.
        let srv = unsafe { &mut *srv_ptr };
        srv.scripting.running_eval = Some(is_eval);
        srv.scripting.busy_polling = true;
        if let Some(serve) = srv.process_events_while_busy {
            serve(srv);
        }
        srv.scripting.busy_polling = false;
        srv.scripting.running_eval = None;
        !srv.scripting.compile_killed
    };
    // SAFETY: `l` is a live interpreter of the server's; the server is
    // reached only through `between` until the parse returns.
    let r = unsafe { sandbox::compile(l, code, chunkname, Some(&mut between)) };
    // SAFETY: the parse is over; `between` is not called again.
    let srv = unsafe { &mut *srv_ptr };
    srv.scripting.compiling = None;
    srv.scripting.compile_killed = false;
    r
}

/// EVAL / SCRIPT LOAD: compiles (with the busy handling of
/// [`compile_busy`]) and caches a script body; returns its sha.
pub fn compile_script(srv: &mut Server, body: &[u8]) -> Result<String, CmdError> {
    let sha = api::sha1_hex(body);
    if srv.scripting.scripts.contains_key(&sha) {
        return Ok(sha);
    }
    let (flags, code) = parse_eval_shebang(body)?;
    let l = srv.scripting.eval_vm.l;
    compile_busy(srv, l, code, c"@user_script", true, &sha).map_err(compile_error)?;
    Ok(srv.scripting.cache_compiled(sha, body, flags))
}

/// FUNCTION LOAD from a client: the library compiles with the busy
/// handling of [`compile_busy`], then its top-level code runs within
/// `timeout_ms`.
pub fn load_library(
    srv: &mut Server,
    code: &[u8],
    replace: bool,
    timeout_ms: u64,
) -> Result<String, CmdError> {
    let (name, body) = srv.scripting.functions.prepare(code, replace)?;
    let l = srv.scripting.functions.vm.l;
    compile_busy(srv, l, body, c"@user_function", false, &name)
        .map_err(functions::compile_error)?;
    srv.scripting.functions.finish_load(code, name, timeout_ms)
}

/// busy-reply-threshold (lua-time-limit) in ms; 0 = never busy.
fn busy_threshold(srv: &Server) -> u128 {
    srv.config.busy_reply_threshold as u128
}

/// The flags of the script an EVAL / EVALSHA names, for the checks made
/// before it runs (evalGetCommandFlags): the cached script's, else those
/// of the body's shebang. None when unknown (EVALSHA of an uncached sha, a
/// bad shebang) or when the script has no shebang (compatibility mode):
/// the command's own flags apply then.
pub fn eval_script_flags(srv: &Server, arg: &[u8], by_sha: bool) -> Option<u32> {
    if by_sha && arg.len() != 40 {
        return None;
    }
    let sha = if by_sha {
        String::from_utf8_lossy(arg).to_ascii_lowercase()
    } else {
        api::sha1_hex(arg)
    };
    let flags = match srv.scripting.scripts.get(&sha) {
        Some(s) => s.flags,
        None if by_sha => return None,
        None => parse_eval_shebang(arg).ok()?.0,
    };
    (flags & FLAG_EVAL_COMPAT == 0).then_some(flags)
}

/// Parses an EVAL script's optional `#!lua [flags=a,b]` first line
/// (evalExtractShebangFlags). Returns the flags and the code Lua compiles
/// (the shebang line is blanked out so line numbers stay right).
fn parse_eval_shebang(body: &[u8]) -> Result<(u32, &[u8]), CmdError> {
    if !body.starts_with(b"#!") {
        return Ok((FLAG_EVAL_COMPAT, body));
    }
    let end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = &body[..end];
    let parts: Vec<&[u8]> = line
        .split(|&b| b == b' ')
        .filter(|p| !p.is_empty())
        .collect();
    if parts.first().map(|p| &p[..]) != Some(&b"#!lua"[..]) {
        return Err(error::custom(format!(
            "ERR Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(parts.first().copied().unwrap_or_default())
        )));
    }
    let mut flags = 0;
    for p in &parts[1..] {
        let Some(list) = p.strip_prefix(b"flags=") else {
            return Err(error::custom(format!(
                "ERR Unknown lua shebang option: {}",
                String::from_utf8_lossy(p)
            )));
        };
        for f in list.split(|&b| b == b',').filter(|f| !f.is_empty()) {
            match FLAG_NAMES.iter().find(|(_, n)| n.as_bytes() == f) {
                Some((v, _)) => flags |= v,
                None => {
                    return Err(error::custom(format!(
                        "ERR Unexpected flag in script shebang: {}",
                        String::from_utf8_lossy(f)
                    )))
                }
            }
        }
    }
    // Lua must not see "#!": the line becomes a comment.
    Ok((flags, &body[end..]))
}

/// The state of the script being run, reachable from Lua callbacks.
pub struct RunCtx {
    pub srv: *mut Server,
    pub client: *mut Client,
    /// The client running the script (read only, for the ACL log).
    pub caller: *const Client,
    /// Its command ("eval", "fcall_ro"...) and argument bytes.
    pub caller_cmd: &'static str,
    pub caller_argv_mem: usize,
    /// The FCALL command as sent (FUNCTION STATS); empty for EVAL.
    pub call_argv: Vec<Vec<u8>>,
    /// When the caller tracks keys (CLIENT TRACKING): its id and the
    /// script's declared keys, recorded as soon as the script runs a
    /// read-only command (Redis's call() with server.script_caller).
    pub track_caller: Option<(u64, Vec<Vec<u8>>)>,
    /// Writes are refused (EVAL_RO, FCALL_RO, no-writes).
    pub readonly: bool,
    /// The script may run deny-oom commands under OOM (scriptVerifyOOM).
    pub allow_oom: bool,
    /// See `RunSpec::allow_cross_slot`.
    pub allow_cross_slot: bool,
    /// Cluster mode: the slot the script's keys hash to so far (the
    /// declared keys', then the first key a command touched); -1 for none
    /// (the caller's c->slot in Redis).
    pub slot: Cell<i32>,
    pub eval_mode: bool,
    /// The sha (EVAL) or function name (FCALL) for error messages.
    pub funcname: String,
    pub resp: Cell<u8>,
    /// A write command ran (SCRIPT KILL refuses then).
    pub wrote: Cell<bool>,
    /// A write command had run before the command being called: its write
    /// checks (min-replicas, read-only replica) are skipped then, as
    /// Redis's SCRIPT_WRITE_DIRTY does.
    pub wrote_before_call: Cell<bool>,
    pub kill: Cell<bool>,
    pub timedout: Cell<bool>,
    pub in_call: Cell<bool>,
    /// When the script started (the debugger restarts it after a stop).
    pub start: Cell<Instant>,
    pub threshold_ms: u128,
    /// A spare reply buffer for the script client (reused between calls).
    pub spare: Cell<Option<Vec<u8>>>,
    /// The Lua debugging session this script runs under (null: none).
    ldb: *const ldb::Ses,
}

impl RunCtx {
    /// Whether the client that runs the script must be obeyed (the master
    /// or the AOF: Redis's mustObeyClient(run_ctx->original_client)); the
    /// script's own client is never asked.
    pub fn caller_must_obey(&self) -> bool {
        // SAFETY: the caller outlives the script run and is not mutated
        // while a Lua callback runs (module doc); read only.
        unsafe { (*self.caller).must_obey() }
    }

    /// The Lua debugging session this script runs under, if any.
    pub fn ldb<'a>(&self) -> Option<&'a ldb::Ses> {
        // SAFETY: `ldb::eval_with_debugging` keeps the session alive in its
        // frame until the EVAL, and so this run, is over.
        unsafe { self.ldb.as_ref() }
    }
}

/// The context of the script running on the interpreter of `st` (a Lua
/// C function's stack), if any.
pub fn run_of<'a>(st: &Stack) -> Option<&'a RunCtx> {
    // SAFETY: the Stack's state is valid.
    unsafe { run_of_state(st.raw()) }
}

/// [`run_of`] for a hook or raw C function.
///
/// # Safety
/// `l` valid.
pub unsafe fn run_of_state<'a>(l: LuaState) -> Option<&'a RunCtx> {
    // SAFETY: the caller's contract; `run` stores a RunCtx there only
    // while it keeps it alive on its stack (it restores the slot after).
    unsafe { (vm::ctx_of(l)?.run.get() as *const RunCtx).as_ref() }
}

/// Returns the reply buffer to the script client for reuse.
pub fn give_back_reply_buf(ctx: &RunCtx, mut buf: Vec<u8>) {
    buf.clear();
    ctx.spare.set(Some(buf));
}

/// Runs one redis.call command (scriptCall): checks, then the dispatcher.
/// Ok(reply bytes) or Err(message for luaPushError).
pub fn script_call(ctx: &RunCtx, args: &Args) -> Result<Vec<u8>, String> {
    // SAFETY: see the module doc; no other reference to the server or the
    // script client is live while a Lua callback runs.
    let srv = unsafe { &mut *ctx.srv };
    let idx = srv.commands.resolve(args);
    script_call_checked(ctx, srv, idx, args).inspect_err(|e| {
        // scriptCall's error path: the error counts now (afterErrorReply)
        // and the command as rejected; the Lua error table is flagged so
        // the script's reply does not count it again.
        let code = match e.strip_prefix('-') {
            Some(m) => m.split(' ').next().unwrap_or("ERR"),
            None => "ERR",
        };
        crate::server::count_error(srv, &CmdError::Formatted(code.to_string()));
        if let Some(i) = idx {
            srv.commands.entries[i].stats.rejected += 1;
        }
        srv.stats.error_watermark = srv.stats.total_error_replies;
    })
}

fn script_call_checked(
    ctx: &RunCtx,
    srv: &mut Server,
    idx: Option<usize>,
    args: &Args,
) -> Result<Vec<u8>, String> {
    // SAFETY: as in script_call; the script client is reached only here.
    let sc = unsafe { &mut *ctx.client };
    let Some(idx) = idx else {
        return Err("Unknown Redis command called from script".into());
    };
    let (arity, flags) = (
        srv.commands.entries[idx].arity,
        srv.commands.entries[idx].flags,
    );
    let argc = args.len() as i32;
    if (arity > 0 && argc != arity) || (arity < 0 && argc < -arity) {
        return Err("Wrong number of args calling Redis command from script".into());
    }
    if flags & crate::cmdtable::NOSCRIPT != 0 && !srv.scripting.allow_noscript {
        return Err("This Redis command is not allowed from script".into());
    }
    crate::acl_check::check_script_call(srv, sc, idx, args, || {
        let run = Some(ctx).filter(|run| !run.caller.is_null())?;
        // SAFETY: the caller outlives the script run and is not mutated
        // while a Lua callback runs (module doc).
        let caller = unsafe { &*run.caller };
        let cur = crate::client_info::Current {
            cmd: run.caller_cmd,
            argv_mem: run.caller_argv_mem,
        };
        Some((caller, cur))
    })?;
    verify_cluster_state(ctx, srv, idx, args)?;
    // scriptVerifyOOM: no eviction mid-script; until the script's first
    // write, a command that may grow memory is refused while over
    // maxmemory, unless the script has allow-oom (or the caller is the
    // master or the AOF, which must be obeyed).
    // SAFETY: the caller started this script and is neither freed nor
    // mutated until it ends (module doc); read only.
    let from_master = unsafe { (*ctx.caller).is_master };
    if flags & crate::cmdtable::DENYOOM != 0
        && !ctx.allow_oom
        && !ctx.wrote.get()
        && srv.config.maxmemory > 0
        && !srv.loading
        && !from_master
        && crate::alloc::used_memory() as u64 > srv.config.maxmemory
    {
        return Err(format!("-{}", error::OOM));
    }
    // May-replicate commands (PUBLISH, PFCOUNT) count as writes here, so
    // read-only scripts can run during CLIENT PAUSE WRITE.
    if flags & (crate::cmdtable::WRITE | crate::cmdtable::MAY_REPLICATE) != 0 && ctx.readonly {
        return Err("Write commands are not allowed from read-only scripts.".into());
    }
    ctx.wrote_before_call.set(ctx.wrote.get());
    if flags & crate::cmdtable::WRITE != 0 {
        ctx.wrote.set(true);
    }
    sc.out.buf = ctx.spare.take().unwrap_or_default();
    sc.out.buf.clear();
    sc.out.resp = ctx.resp.get();
    (srv.hooks.execute)(srv, sc, args);
    Ok(std::mem::take(&mut sc.out.buf))
}

/// scriptVerifyClusterState: in cluster mode a script's command may only
/// touch keys this node serves, all in one slot unless the script allows
/// cross-slot keys (not checked for the master's stream).
fn verify_cluster_state(ctx: &RunCtx, srv: &Server, idx: usize, args: &Args) -> Result<(), String> {
    use crate::cluster::route::{self, QueryCmd, Redir};
    if srv.cluster.is_none() {
        return Ok(());
    }
    // SAFETY: the caller outlives the script run and is not mutated while
    // a Lua callback runs (module doc); read only.
    let caller = unsafe { &*ctx.caller };
    if caller.is_master {
        return Ok(());
    }
    let e = &srv.commands.entries[idx];
    let q = [QueryCmd {
        entry: e,
        argv: args.iter().collect(),
    }];
    let write = e.flags & crate::cmdtable::WRITE != 0;
    match route::node_by_query(srv, caller, &q, e.flags, write, route::is_pubsubshard(e)) {
        Err(Redir::DownRoState) => Err(
            "Script attempted to execute a write command while the cluster is down and readonly"
                .into(),
        ),
        Err(Redir::DownState) => {
            Err("Script attempted to execute a command while the cluster is down".into())
        }
        Err(_) => Err("Script attempted to access a non local key in a cluster node".into()),
        Ok(Some(slot)) if !ctx.allow_cross_slot => {
            let slot = slot as i32;
            if ctx.slot.get() == -1 {
                ctx.slot.set(slot);
            } else if ctx.slot.get() != slot {
                return Err(
                    "Script attempted to access keys that do not hash to the same slot".into(),
                );
            }
            Ok(())
        }
        Ok(_) => Ok(()),
    }
}

/// redis.set_repl: which targets the script's writes propagate to.
pub(crate) fn set_script_repl_mask(ctx: &RunCtx, mask: u8) {
    // SAFETY: see the module doc; no other reference to the server is
    // live while a Lua callback runs.
    let srv = unsafe { &mut *ctx.srv };
    srv.prop.script_mask = mask;
}

/// redis.acl_check_cmd: may the script's user run `args`? None for an
/// unknown command. (The user of the client that runs the script; no ACL
/// log entry.)
pub(crate) fn acl_check_script_cmd(ctx: &RunCtx, args: &Args) -> Option<bool> {
    // SAFETY: see the module doc: the server and the script client are
    // reached only through these pointers while the script runs, and
    // nothing else holds a mutable reference during this callback.
    let (srv, user) = unsafe { (&*ctx.srv, (*ctx.client).user) };
    srv.commands
        .resolve(args)
        .map(|idx| crate::acl::permitted(srv, user, idx, args))
}

/// What to run and how.
pub struct RunSpec<'a> {
    pub kind: VmKind,
    pub fn_ref: c_int,
    pub keys: &'a [&'a [u8]],
    pub args: &'a [&'a [u8]],
    pub readonly: bool,
    /// `allow-oom` (or `no-writes`): deny-oom commands run under OOM.
    pub allow_oom: bool,
    /// Cluster mode: commands may touch keys of several slots
    /// (`allow-cross-slot-keys`, or an EVAL script without a shebang).
    pub allow_cross_slot: bool,
    pub funcname: String,
    /// The FCALL command as sent (FUNCTION STATS shows it); empty for EVAL.
    pub call_argv: Vec<Vec<u8>>,
}

/// Runs a compiled script/function and writes its reply (or error) to `c`.
pub fn run(srv: &mut Server, c: &mut Client, spec: RunSpec) -> CmdResult {
    let mut sc = srv.scripting.client.take().unwrap_or_else(|| {
        let mut sc = Box::new(Client::new_internal(u64::MAX, crate::clock::wall_ms()));
        sc.addr = "lua".into();
        sc
    });
    sc.db = c.db;
    sc.user = c.user;
    sc.deny_blocking = true;
    sc.authenticated = true;
    let threshold = busy_threshold(srv);
    let l: LuaState = match spec.kind {
        VmKind::Eval => srv.scripting.eval_vm.l,
        VmKind::Functions => srv.scripting.functions.vm.l,
    };
    let eval_mode = spec.kind == VmKind::Eval;
    srv.scripting.running_eval = Some(eval_mode);
    let caller_argv_mem = spec.keys.iter().chain(spec.args).map(|a| a.len()).sum();
    let caller_cmd = match (eval_mode, spec.readonly) {
        (true, false) => "eval",
        (true, true) => "eval_ro",
        (false, false) => "fcall",
        (false, true) => "fcall_ro",
    };
    let ctx = RunCtx {
        srv: srv as *mut Server,
        client: &mut *sc as *mut Client,
        caller: &*c as *const Client,
        caller_cmd,
        caller_argv_mem,
        call_argv: spec.call_argv,
        track_caller: crate::tracking::wants_keys(c)
            .then(|| (c.id, spec.keys.iter().map(|k| k.to_vec()).collect())),
        readonly: spec.readonly,
        allow_oom: spec.allow_oom,
        allow_cross_slot: spec.allow_cross_slot,
        slot: Cell::new(match spec.keys.first() {
            Some(k) if srv.cluster.is_some() => crate::cluster::slot::key_hash_slot(k) as i32,
            _ => -1,
        }),
        eval_mode,
        funcname: spec.funcname,
        resp: Cell::new(2),
        wrote: Cell::new(false),
        wrote_before_call: Cell::new(false),
        kill: Cell::new(false),
        timedout: Cell::new(false),
        in_call: Cell::new(false),
        start: Cell::new(Instant::now()),
        threshold_ms: threshold,
        spare: Cell::new(None),
        ldb: if eval_mode {
            srv.scripting.ldb
        } else {
            std::ptr::null()
        },
    };
    // SAFETY: `l` is a valid interpreter; from here until lua_pcall
    // returns, the server is reached only through `ctx` (module doc). The
    // RunCtx stays on this stack until both pointers to it are restored.
    let (prev_slot, prev_current) = unsafe {
        let p = &ctx as *const RunCtx;
        let prev = (*ctx.srv).scripting.current;
        (*ctx.srv).scripting.current = p;
        let prev_slot = vm::ctx_of(l).map_or(std::ptr::null(), |v| {
            v.run.replace(p as *const std::ffi::c_void)
        });
        (prev_slot, prev)
    };
    // SAFETY: as above.
    let rc = unsafe {
        let base = ffi::lua_gettop(l);
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, vm::REG_ERR_HANDLER.as_ptr());
        let errfunc = ffi::lua_gettop(l);
        ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, spec.fn_ref as ffi::lua_Integer);
        let nargs = if eval_mode {
            vm::push_string_array(l, spec.keys);
            set_real_global(l, c"KEYS");
            vm::push_string_array(l, spec.args);
            set_real_global(l, c"ARGV");
            0
        } else {
            vm::push_string_array(l, spec.keys);
            vm::push_string_array(l, spec.args);
            2
        };
        if !ctx.ldb.is_null() {
            ffi::lua_sethook(
                l,
                Some(ldb::line_hook),
                ffi::LUA_MASKLINE | ffi::LUA_MASKCOUNT,
                100_000,
            );
        } else if threshold > 0 {
            ffi::lua_sethook(l, Some(count_hook), ffi::LUA_MASKCOUNT, 100_000);
        }
        let rc = ffi::lua_pcall(l, nargs, 1, errfunc);
        ffi::lua_sethook(l, None, 0, 0);
        (rc, base, errfunc)
    };
    // redis.set_repl lasts for this script only.
    // SAFETY: the script is over; ctx.srv is the server that ran it, `l`
    // its interpreter.
    unsafe {
        if let Some(vmctx) = vm::ctx_of(l) {
            vmctx.run.set(prev_slot);
        }
        (*ctx.srv).scripting.current = prev_current;
        (*ctx.srv).prop.script_mask = crate::propagate::TO_ALL;
    }
    if ctx.timedout.get() {
        tracing::warn!(
            "Slow script finished after {} ms",
            ctx.start.get().elapsed().as_millis()
        );
    }
    let script_resp = ctx.resp.get();
    let funcname = std::mem::take(&mut { ctx.funcname });
    srv.scripting.running_eval = None;
    sc.out.buf.clear();
    srv.scripting.client = Some(sc);
    let (rc, base, _errfunc) = rc;
    let vmref = match spec.kind {
        VmKind::Eval => &mut srv.scripting.eval_vm,
        VmKind::Functions => &mut srv.scripting.functions.vm,
    };
    vmref.gc_count += 1;
    // SAFETY: valid state; the result (or error) is on top.
    unsafe {
        if vmref.gc_count >= 50 {
            ffi::lua_gc(l, ffi::LUA_GCSTEP, 50);
            vmref.gc_count = 0;
        }
        // Errors a script got from redis.call (flagged on their table) were
        // counted when that command failed: the reply repeats them without
        // counting again, but the script still failed (afterErrorReply).
        // (A raw read: the value may be a proxy whose __index raises.)
        let uncounted = ffi::lua_type(l, -1) == ffi::LUA_TTABLE && {
            vm::push_raw_field(l, c"ignore_error_stats_update");
            let b = ffi::lua_toboolean(l, -1) != 0;
            ffi::lua_pop(l, 1);
            b
        };
        let result = if rc != 0 {
            let e = error_from_lua(l, &funcname);
            if uncounted {
                c.out.error(&e);
                srv.stats.failed_without_stats = true;
                Ok(())
            } else {
                Err(e)
            }
        } else {
            let start = c.out.buf.len();
            let mut st = lua_stack::Stack::from_raw(l);
            lua_conv::to_reply(&mut st, &mut c.out, script_resp);
            if c.out.buf.get(start) == Some(&b'-') {
                if uncounted {
                    srv.stats.failed_without_stats = true;
                } else {
                    let line = &c.out.buf[start + 1..];
                    let end = line.iter().position(|&b| b == b'\r').unwrap_or(line.len());
                    let msg = String::from_utf8_lossy(&line[..end]).into_owned();
                    crate::server::count_error(srv, &CmdError::Formatted(msg));
                }
            }
            Ok(())
        };
        ffi::lua_settop(l, base);
        result
    }
}

/// # Safety
/// Value on top of the stack.
unsafe fn set_real_global(l: LuaState, name: &std::ffi::CStr) {
    // SAFETY: the caller upholds this function's contract: Value on top of the stack.
    unsafe {
        ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, vm::REG_REAL_GLOBALS.as_ptr());
        ffi::lua_insert(l, -2);
        ffi::lua_setfield(l, -2, name.as_ptr());
        ffi::lua_pop(l, 1);
    }
}

/// The error reply for a failed script (luaCallFunction's error path):
/// "<err> script: <name>, on <source>:<line>.".
///
/// # Safety
/// Error value on top of the stack (left there).
unsafe fn error_from_lua(l: LuaState, funcname: &str) -> CmdError {
    // SAFETY: the caller upholds this function's contract: Error value on top of the stack (left
    // there).
    unsafe {
        if ffi::lua_type(l, -1) != ffi::LUA_TTABLE {
            let msg = vm::to_bytes(l, -1)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_else(|| "execution failure".into());
            let msg: String = msg.chars().take(100).collect();
            return error::custom(format!("ERR Error running script {}, {}", funcname, msg));
        }
        let get = |name: &std::ffi::CStr| -> Option<String> {
            vm::push_raw_field(l, name);
            let v = if ffi::lua_isstring(l, -1) != 0 {
                vm::to_bytes(l, -1).map(|b| String::from_utf8_lossy(b).into_owned())
            } else {
                None
            };
            ffi::lua_pop(l, 1);
            v
        };
        let msg = get(c"err").unwrap_or_default();
        let source = get(c"source");
        let line = get(c"line");
        let mut full = msg;
        if let (Some(s), Some(n)) = (source, line) {
            full.push_str(&format!(" script: {}, on {}:{}.", funcname, s, n));
        }
        error::custom(full)
    }
}

/// The count hook: past the busy threshold, serve other clients (BUSY) and
/// honour SCRIPT KILL / SHUTDOWN NOSAVE.
unsafe extern "C-unwind" fn count_hook(l: LuaState, _ar: *mut ffi::lua_Debug) {
    // SAFETY: Lua calls the hook with a valid state; hook_check returns a plain bool (its panics
    // are caught), so nothing with a destructor is alive when raise_killed raises.
    unsafe {
        if std::panic::catch_unwind(|| hook_check(l)).unwrap_or(false) {
            raise_killed(l);
        }
    }
}

/// The busy check for long C functions (string.rep): true = killed.
pub(crate) fn busy_check(st: &Stack) -> bool {
    let l = st.raw();
    // SAFETY: the Stack's state is valid.
    std::panic::catch_unwind(|| unsafe { hook_check(l) }).unwrap_or(false)
}

/// Raises the kill error, and keeps raising on every instruction so pcall
/// cannot swallow it (`while true do pcall(f) end` dies too).
///
/// # Safety
/// Valid state; called from a hook or a C function (plain frames only).
pub(crate) unsafe fn raise_killed(l: LuaState) {
    // SAFETY: the caller upholds this function's contract: Valid state; called from a hook or a C
    // function (plain frames only).
    unsafe {
        ffi::lua_sethook(l, Some(count_hook), ffi::LUA_MASKCOUNT, 1);
        vm::push_error_table(l, b"Script killed by user with SCRIPT KILL...");
        ffi::lua_error(l);
    }
}

/// # Safety
/// `l` valid.
unsafe fn hook_check(l: LuaState) -> bool {
    // SAFETY: the caller's contract.
    let Some(ctx) = (unsafe { run_of_state(l) }) else {
        return false;
    };
    if ctx.kill.get() {
        return true;
    }
    // A debugging session keeps the server to itself (Redis installs no
    // busy hook then).
    if ctx.threshold_ms == 0
        || ctx.start.get().elapsed().as_millis() < ctx.threshold_ms
        || !ctx.ldb.is_null()
    {
        return false;
    }
    if !ctx.timedout.get() {
        ctx.timedout.set(true);
        tracing::warn!(
            "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the {} command. Script name is: {}.",
            ctx.start.get().elapsed().as_millis(),
            if ctx.eval_mode { "SCRIPT KILL" } else { "FUNCTION KILL" },
            ctx.funcname
        );
    }
    // SAFETY: no other reference to the server is live inside the hook
    // (the hook only fires while Lua code runs, never inside redis.call).
    let srv = unsafe { &mut *ctx.srv };
    srv.scripting.busy_polling = true;
    if let Some(serve) = srv.process_events_while_busy {
        serve(srv);
    }
    srv.scripting.busy_polling = false;
    ctx.kill.get()
}

/// SCRIPT KILL / FUNCTION KILL (scriptKill).
pub fn kill(srv: &mut Server, is_eval: bool) -> CmdResult {
    let Some(ctx) = srv.scripting.current_run() else {
        if let Some(compiling_eval) = srv.scripting.compiling {
            if compiling_eval != is_eval {
                return Err(CmdError::Static(if compiling_eval {
                    error::BUSY_SCRIPT
                } else {
                    error::BUSY_FUNCTION
                }));
            }
            srv.scripting.compile_killed = true;
            return Ok(());
        }
        return Err(CmdError::Static(error::SCRIPT_NOTBUSY));
    };
    if ctx.wrote.get() {
        return Err(CmdError::Static(error::SCRIPT_UNKILLABLE));
    }
    if is_eval && !ctx.eval_mode {
        return Err(CmdError::Static(error::BUSY_FUNCTION));
    }
    if !is_eval && ctx.eval_mode {
        return Err(CmdError::Static(error::BUSY_SCRIPT));
    }
    ctx.kill.set(true);
    Ok(())
}

/// The BUSY error other clients get while a script runs too long.
pub fn busy_error(srv: &Server) -> CmdError {
    match srv.scripting.running_eval {
        Some(false) => CmdError::Static(error::BUSY_FUNCTION),
        _ => CmdError::Static(error::BUSY_SCRIPT),
    }
}
