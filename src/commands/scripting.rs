//! Scripting commands (eval.c, functions.c): EVAL, EVALSHA, EVAL_RO,
//! EVALSHA_RO, SCRIPT LOAD/EXISTS/FLUSH/KILL/DEBUG/HELP, FUNCTION
//! LOAD/DELETE/LIST/FLUSH/DUMP/RESTORE/STATS/KILL/HELP, FCALL, FCALL_RO.
//! The engine is in `crate::scripting`.

use super::help_reply;
use crate::client::{Client, LuaDebug};
use crate::cmdtable::fact;
use crate::cmdtable::meta::GetKeys;
use crate::cmdtable::{cmd, container, CommandSpec, DENYOOM, MAY_REPLICATE, STALE, WRITE};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::scripting::{
    self, vm::VmKind, RunSpec, FLAG_ALLOW_OOM, FLAG_ALLOW_STALE, FLAG_EVAL_COMPAT, FLAG_NO_WRITES,
};
use crate::server::Server;
use crate::util::glob;

/// Scripts propagate what they run, not themselves.
const EFFECTS: u32 = fact::EFFECTS_ONLY;
/// Read-only scripts are not tracked themselves either.
const EFFECTS_RO: u32 = fact::EFFECTS_ONLY | fact::UNTRACKED_READ;

static SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    cmd("load", script_load),
    cmd("exists", script_exists),
    cmd("flush", script_flush),
    cmd("kill", script_kill),
    cmd("debug", script_debug),
    cmd("help", script_help),
];

static FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    cmd("load", function_load),
    cmd("delete", function_delete),
    cmd("list", function_list),
    cmd("flush", function_flush),
    cmd("dump", function_dump),
    cmd("restore", function_restore),
    cmd("stats", function_stats),
    cmd("kill", function_kill),
    cmd("help", function_help),
];

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd("eval", eval).hidden(MAY_REPLICATE).getkeys(GetKeys::NUMKEYS_AT_2).with(fact::SCRIPT_BODY | EFFECTS),
    cmd("evalsha", evalsha).hidden(MAY_REPLICATE).getkeys(GetKeys::NUMKEYS_AT_2).with(fact::SCRIPT_SHA | EFFECTS),
    cmd("eval_ro", eval_ro).getkeys(GetKeys::NUMKEYS_AT_2).with(fact::SCRIPT_BODY | EFFECTS_RO),
    cmd("evalsha_ro", evalsha_ro).getkeys(GetKeys::NUMKEYS_AT_2).with(fact::SCRIPT_SHA | EFFECTS_RO),
    cmd("fcall", fcall).hidden(MAY_REPLICATE).getkeys(GetKeys::NUMKEYS_AT_2).with(fact::SCRIPT_FUNCTION | EFFECTS),
    cmd("fcall_ro", fcall_ro).getkeys(GetKeys::NUMKEYS_AT_2).with(fact::SCRIPT_FUNCTION | EFFECTS_RO),
    container("script", SCRIPT_SUBCOMMANDS),
    container("function", FUNCTION_SUBCOMMANDS),
];

/// (keys, args) of an EVAL/FCALL call.
type KeysArgs<'a> = (Vec<&'a [u8]>, Vec<&'a [u8]>);

/// Splits `<numkeys> key... arg...` (argv from index 2).
fn split_keys<'a>(args: &'a Args<'a>, bad_numkeys: CmdError) -> Result<KeysArgs<'a>, CmdError> {
    let numkeys = crate::util::num::parse_i64(args.get(2)).ok_or(bad_numkeys)?;
    if numkeys > (args.len() - 3) as i64 {
        return Err(CmdError::Static(error::NUMKEYS_TOO_BIG));
    }
    if numkeys < 0 {
        return Err(CmdError::Static(error::NUMKEYS_NEGATIVE));
    }
    let n = numkeys as usize;
    let keys = (3..3 + n).map(|i| args.get(i)).collect();
    let argv = (3 + n..args.len()).map(|i| args.get(i)).collect();
    Ok((keys, argv))
}

/// What processCommand checks against a script's declared flags instead
/// of EVAL/FCALL's own (scriptFlagsToCmdFlags): unless `no-writes`, the
/// script counts as a write (NOREPLICAS, a read-only replica, MISCONF) and,
/// unless also `allow-oom`, as deny-oom (refused while over maxmemory);
/// without `allow-stale` a stale replica refuses it (MASTERDOWN).
/// scriptPrepareForRun's first check: a script flagged `no-cluster` does
/// not run on a cluster node.
fn no_cluster_check(srv: &Server, flags: u32) -> CmdResult {
    if flags & scripting::FLAG_NO_CLUSTER != 0 && srv.cluster.is_some() {
        return Err(CmdError::Static(error::SCRIPT_NO_CLUSTER));
    }
    Ok(())
}

fn script_precheck(srv: &Server, c: &Client, flags: u32) -> CmdResult {
    let no_writes = flags & FLAG_NO_WRITES != 0;
    let mut cmd_flags = 0;
    if !no_writes {
        cmd_flags |= crate::cmdtable::WRITE;
    }
    if flags & FLAG_ALLOW_STALE != 0 {
        cmd_flags |= crate::cmdtable::STALE;
    }
    // processCommand's order: OOM, MISCONF, then the replica checks.
    let allow_oom = flags & (FLAG_ALLOW_OOM | FLAG_NO_WRITES) != 0;
    if !allow_oom
        && !c.is_master
        && srv.config.maxmemory > 0
        && crate::alloc::used_memory() as u64 > srv.config.maxmemory
    {
        return Err(CmdError::Static(error::OOM));
    }
    if !no_writes && !c.is_master && crate::persist::rdb_server::writes_denied(srv) {
        return Err(CmdError::Static(error::MISCONF));
    }
    match crate::replication::refuse_command(srv, c, cmd_flags) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// getCommandFlags: the flags checks before execution use (pause, and so
/// on) for command entry `idx` with first argument `arg1`. A script that
/// declares flags replaces the command's write / deny-oom / stale flags
/// with its own (scriptFlagsToCmdFlags).
pub fn effective_flags(srv: &Server, idx: usize, arg1: &[u8]) -> u32 {
    const SCRIPTS: u32 = fact::SCRIPT_BODY | fact::SCRIPT_SHA | fact::SCRIPT_FUNCTION;
    let e = &srv.commands.entries[idx];
    let (flags, cmd) = (e.flags, e.spec);
    if cmd.facts & SCRIPTS == 0 {
        return flags;
    }
    let script = if cmd.facts & fact::SCRIPT_FUNCTION != 0 {
        srv.scripting
            .functions
            .get(&String::from_utf8_lossy(arg1))
            .map(|f| f.flags)
    } else {
        scripting::eval_script_flags(srv, arg1, cmd.facts & fact::SCRIPT_SHA != 0)
    };
    let Some(sf) = script else {
        return flags;
    };
    let mut f = flags & !(STALE | DENYOOM | WRITE | MAY_REPLICATE);
    if sf & (FLAG_ALLOW_OOM | FLAG_NO_WRITES) == 0 {
        f |= DENYOOM;
    }
    if sf & FLAG_NO_WRITES == 0 {
        f |= WRITE;
    }
    if sf & FLAG_ALLOW_STALE != 0 {
        f |= STALE;
    }
    f
}

fn eval_generic(
    srv: &mut Server,
    c: &mut Client,
    args: &Args,
    by_sha: bool,
    ro: bool,
) -> CmdResult {
    let (keys, argv) = split_keys(args, CmdError::NotInteger)?;
    let sha = if by_sha {
        let s = args.get(1);
        if s.len() != 40 {
            return Err(CmdError::Static(error::NOSCRIPT));
        }
        String::from_utf8_lossy(s).to_ascii_lowercase()
    } else {
        scripting::compile_script(srv, args.get(1))?
    };
    let Some(script) = srv.scripting.scripts.get(&sha) else {
        return Err(CmdError::Static(error::NOSCRIPT));
    };
    let (flags, fn_ref) = (script.flags, script.fn_ref);
    let compat = flags & FLAG_EVAL_COMPAT != 0;
    if !compat {
        no_cluster_check(srv, flags)?;
    }
    if ro && !compat && flags & FLAG_NO_WRITES == 0 {
        return Err(CmdError::Static(error::SCRIPT_RO_WRITE));
    }
    let readonly = ro || (!compat && flags & FLAG_NO_WRITES != 0);
    let allow_oom = !compat && flags & (FLAG_ALLOW_OOM | FLAG_NO_WRITES) != 0;
    if !compat {
        script_precheck(srv, c, flags)?;
    } else if crate::replication::running_stale(srv) {
        // scriptPrepareForRun's compatibility mode (no shebang).
        return Err(CmdError::Static(error::MASTERDOWN));
    }
    scripting::run(
        srv,
        c,
        RunSpec {
            kind: VmKind::Eval,
            fn_ref,
            keys: &keys,
            args: &argv,
            readonly,
            allow_oom,
            allow_cross_slot: compat || flags & scripting::FLAG_ALLOW_CROSS_SLOT != 0,
            funcname: sha,
            call_argv: Vec::new(),
        },
    )
}

/// Scripts are shown to MONITOR before the commands they run (they are
/// flagged skip_monitor, and feed monitors themselves, as evalCommand does).
fn feed_script_monitors(srv: &mut Server, c: &Client, args: &Args) {
    if !srv.monitors.is_empty() {
        super::feed_monitors(srv, c, args, None);
    }
}

/// EVAL / EVAL_RO, under the Lua debugger when the client asked for it
/// (evalCommand).
fn eval_maybe_debugging(srv: &mut Server, c: &mut Client, args: &Args, ro: bool) -> CmdResult {
    feed_script_monitors(srv, c, args);
    if c.lua_debug == LuaDebug::Off {
        return eval_generic(srv, c, args, false, ro);
    }
    scripting::ldb::eval_with_debugging(srv, c, args.get(1), |srv, c| {
        eval_generic(srv, c, args, false, ro)
    })
}

/// EVALSHA / EVALSHA_RO: refused in debug mode (evalShaCommand).
fn evalsha_generic(srv: &mut Server, c: &mut Client, args: &Args, ro: bool) -> CmdResult {
    feed_script_monitors(srv, c, args);
    if c.lua_debug != LuaDebug::Off && args.get(1).len() == 40 {
        return Err(CmdError::Static(error::SCRIPT_DEBUG_EVALSHA));
    }
    eval_generic(srv, c, args, true, ro)
}

fn eval(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    eval_maybe_debugging(srv, c, args, false)
}
fn evalsha(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    evalsha_generic(srv, c, args, false)
}
fn eval_ro(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    eval_maybe_debugging(srv, c, args, true)
}
fn evalsha_ro(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    evalsha_generic(srv, c, args, true)
}

fn fcall_generic(srv: &mut Server, c: &mut Client, args: &Args, ro: bool) -> CmdResult {
    let (keys, argv) = split_keys(args, CmdError::Static(error::FCALL_BAD_NUMKEYS))?;
    let name = String::from_utf8_lossy(args.get(1)).into_owned();
    let Some(f) = srv.scripting.functions.get(&name) else {
        return Err(CmdError::Static(error::FUNCTION_NOT_FOUND));
    };
    no_cluster_check(srv, f.flags)?;
    if ro && f.flags & FLAG_NO_WRITES == 0 {
        return Err(CmdError::Static(error::SCRIPT_RO_WRITE));
    }
    let readonly = f.flags & FLAG_NO_WRITES != 0;
    let allow_oom = f.flags & (FLAG_ALLOW_OOM | FLAG_NO_WRITES) != 0;
    let fn_ref = f.fn_ref;
    script_precheck(srv, c, f.flags)?;
    scripting::run(
        srv,
        c,
        RunSpec {
            kind: VmKind::Functions,
            fn_ref,
            keys: &keys,
            args: &argv,
            readonly,
            allow_oom,
            allow_cross_slot: f.flags & scripting::FLAG_ALLOW_CROSS_SLOT != 0,
            funcname: name,
            call_argv: args.to_vec(),
        },
    )
}

fn fcall(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    feed_script_monitors(srv, c, args);
    fcall_generic(srv, c, args, false)
}
fn fcall_ro(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    feed_script_monitors(srv, c, args);
    fcall_generic(srv, c, args, true)
}

// ---- SCRIPT -------------------------------------------------------------------

fn script_load(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let sha = scripting::compile_script(srv, args.get(2))?;
    c.out.bulk(sha.as_bytes());
    Ok(())
}

fn script_exists(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    c.out.array(args.len() - 2);
    for i in 2..args.len() {
        let sha = String::from_utf8_lossy(args.get(i)).to_ascii_lowercase();
        c.out.int(srv.scripting.scripts.contains_key(&sha) as i64);
    }
    Ok(())
}

/// [ASYNC|SYNC]: both flush synchronously (the interpreter is small).
fn flush_mode_ok(args: &Args) -> bool {
    args.len() == 2 || (args.len() == 3 && (args.is(2, "sync") || args.is(2, "async")))
}

fn script_flush(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if !flush_mode_ok(args) {
        return Err(CmdError::Static(error::SCRIPT_FLUSH_OPTION));
    }
    srv.scripting.flush_eval();
    c.out.ok();
    Ok(())
}

fn script_kill(srv: &mut Server, c: &mut Client, _args: &Args) -> CmdResult {
    scripting::kill(srv, true)?;
    c.out.ok();
    Ok(())
}

/// SCRIPT DEBUG YES|SYNC|NO: the client's next EVAL runs under the Lua
/// debugger (`scripting::ldb`), forked (YES) or blocking the server (SYNC).
fn script_debug(_srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    // Replies already queued would mix with the debugger's direct writes.
    if c.pending_output() > 0 {
        return Err(CmdError::Static(error::SCRIPT_DEBUG_PIPELINE));
    }
    c.lua_debug = if args.is(2, "no") {
        LuaDebug::Off
    } else if args.is(2, "yes") {
        LuaDebug::Yes
    } else if args.is(2, "sync") {
        LuaDebug::Sync
    } else {
        return Err(CmdError::Static(error::SCRIPT_DEBUG_MODE));
    };
    c.out.ok();
    Ok(())
}

fn script_help(_srv: &mut Server, c: &mut Client, _args: &Args) -> CmdResult {
    help_reply(
        c,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

// ---- FUNCTION -----------------------------------------------------------------

fn function_load(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    // FUNCTION LOAD [REPLACE]... code: every argument before the code must
    // be REPLACE (functionLoadCommand).
    let last = args.len() - 1;
    let mut replace = false;
    for i in 2..last {
        if !args.is(i, "replace") {
            return Err(error::unknown_option_given(&args.str_lossy(i)));
        }
        replace = true;
    }
    let code = args.get(last);
    // Loads the server must obey (master stream, AOF replay) are not
    // timed out (functionLoadCommand's mustObeyClient).
    let timeout = if c.is_master || srv.loading {
        0
    } else {
        scripting::functions::LOAD_TIMEOUT_MS
    };
    let name = scripting::load_library(srv, code, replace, timeout)?;
    srv.dirty += 1;
    c.out.bulk(name.as_bytes());
    Ok(())
}

fn function_delete(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let name = args.str_lossy(2);
    if !srv.scripting.functions.delete(&name) {
        return Err(CmdError::Static(error::LIBRARY_NOT_FOUND));
    }
    srv.dirty += 1;
    c.out.ok();
    Ok(())
}

fn function_list(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        if !with_code && args.is(i, "withcode") {
            with_code = true;
            i += 1;
            continue;
        }
        if pattern.is_none() && args.is(i, "libraryname") {
            if i >= args.len() - 1 {
                return Err(CmdError::Static(error::FUNCTION_LIST_NO_LIBNAME));
            }
            pattern = Some(args.get(i + 1));
            i += 2;
            continue;
        }
        return Err(error::custom(format!(
            "ERR Unknown argument {}",
            args.str_lossy(i)
        )));
    }
    let libs: Vec<_> = srv
        .scripting
        .functions
        .libs
        .values()
        .filter(|l| pattern.is_none_or(|p| glob::string_match(p, l.name.as_bytes(), false)))
        .collect();
    c.out.array(libs.len());
    for lib in libs {
        c.out.map(if with_code { 4 } else { 3 });
        c.out.bulk(b"library_name");
        c.out.bulk(lib.name.as_bytes());
        c.out.bulk(b"engine");
        c.out.bulk(b"LUA");
        c.out.bulk(b"functions");
        c.out.array(lib.functions.len());
        for f in lib.functions.values() {
            c.out.map(3);
            c.out.bulk(b"name");
            c.out.bulk(f.name.as_bytes());
            c.out.bulk(b"description");
            match &f.desc {
                Some(d) => c.out.bulk(d),
                None => c.out.null(),
            }
            c.out.bulk(b"flags");
            let names: Vec<&str> = scripting::FLAG_NAMES
                .iter()
                .filter(|(v, _)| f.flags & v != 0)
                .map(|(_, n)| *n)
                .collect();
            c.out.set(names.len());
            for n in names {
                c.out.simple(n);
            }
        }
        if with_code {
            c.out.bulk(b"library_code");
            c.out.bulk(&lib.code);
        }
    }
    Ok(())
}

fn function_flush(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(error::subcommand_syntax(args.get(1), &args.str_lossy(0)));
    }
    if !flush_mode_ok(args) {
        return Err(CmdError::Static(error::FUNCTION_FLUSH_OPTION));
    }
    srv.scripting.functions.flush();
    srv.dirty += 1;
    c.out.ok();
    Ok(())
}

fn function_dump(srv: &mut Server, c: &mut Client, _args: &Args) -> CmdResult {
    let payload = srv.scripting.functions.dump();
    c.out.bulk(&payload);
    Ok(())
}

fn function_restore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    if args.len() > 4 {
        return Err(error::subcommand_syntax(args.get(1), &args.str_lossy(0)));
    }
    let policy = if args.len() == 3 {
        Policy::Append
    } else if args.len() == 4 && args.is(3, "flush") {
        Policy::Flush
    } else if args.len() == 4 && args.is(3, "append") {
        Policy::Append
    } else if args.len() == 4 && args.is(3, "replace") {
        Policy::Replace
    } else {
        return Err(CmdError::Static(error::FUNCTION_RESTORE_POLICY));
    };
    let codes = scripting::functions::parse_dump(args.get(2))?;
    // Load into a scratch set first so a failure leaves nothing changed.
    let mut scratch = scripting::functions::Functions::new();
    for code in &codes {
        scratch.load(code, false, 0)?;
    }
    let fs = &mut srv.scripting.functions;
    if policy != Policy::Flush {
        for lib in scratch.libs.values() {
            if fs.libs.contains_key(&lib.name) && policy == Policy::Append {
                return Err(error::custom(format!(
                    "ERR Library {} already exists",
                    lib.name
                )));
            }
        }
    }
    // All-or-nothing: try on a copy of the codes currently loaded.
    let mut result = scripting::functions::Functions::new();
    let current: Vec<(String, Vec<u8>)> = if policy == Policy::Flush {
        Vec::new()
    } else {
        fs.libs
            .values()
            .map(|l| (l.name.clone(), l.code.clone()))
            .collect()
    };
    for (name, code) in &current {
        if policy == Policy::Replace && scratch.libs.contains_key(name) {
            continue;
        }
        result.load(code, false, 0)?;
    }
    for code in &codes {
        result.load(code, false, 0)?;
    }
    *fs = result;
    srv.dirty += 1;
    c.out.ok();
    Ok(())
}

fn function_stats(srv: &mut Server, c: &mut Client, _args: &Args) -> CmdResult {
    c.out.map(2);
    c.out.bulk(b"running_script");
    match srv.scripting.current_run() {
        Some(ctx) if !ctx.eval_mode => {
            c.out.map(3);
            c.out.bulk(b"name");
            c.out.bulk(ctx.funcname.as_bytes());
            c.out.bulk(b"command");
            c.out.array(ctx.call_argv.len());
            for a in &ctx.call_argv {
                c.out.bulk(a);
            }
            c.out.bulk(b"duration_ms");
            c.out.int(ctx.start.get().elapsed().as_millis() as i64);
        }
        _ => c.out.null(),
    }
    c.out.bulk(b"engines");
    c.out.map(1);
    c.out.bulk(b"LUA");
    c.out.map(2);
    c.out.bulk(b"libraries_count");
    c.out.int(srv.scripting.functions.libs.len() as i64);
    c.out.bulk(b"functions_count");
    c.out.int(srv.scripting.functions.functions_count() as i64);
    Ok(())
}

fn function_kill(srv: &mut Server, c: &mut Client, _args: &Args) -> CmdResult {
    scripting::kill(srv, false)?;
    c.out.ok();
    Ok(())
}

fn function_help(_srv: &mut Server, c: &mut Client, _args: &Args) -> CmdResult {
    help_reply(
        c,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}
