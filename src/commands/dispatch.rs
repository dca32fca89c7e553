//! The dispatcher (Redis's processCommand and call()): `execute` runs one
//! command for a client in three steps.
//!
//! - `precheck` looks the command up and checks, in processCommand's
//!   order (as ferrokv arranges it), everything that can keep it from
//!   running: arity, protected commands, authentication and ACLs, a busy
//!   script, replication, client eviction and maxmemory, persistence
//!   errors, loading, the subscribed context, MULTI. It answers with the
//!   entry to run or a `Stop`: a typed `Refusal` (worded through error.rs
//!   by `Refusal::error`), or the command held, queued or its client
//!   evicted.
//! - `call` runs the handler, with the nesting depth counted (EXEC and
//!   scripts run commands inside commands).
//! - `after_call` accounts for it: propagation, MONITOR, the error reply,
//!   statistics, modified keys (WATCH, tracking), tracked reads, keyspace
//!   events, the slow log and latency, CLIENT REPLY.
//!
//! Which commands get special treatment is a fact of the command table:
//! Redis's flags (`Entry::flags`) and ferrokv's own (`fact::*`,
//! `WrittenKeys`); no command name is compared here.

use super::{command_keys, scripting};
use crate::client::{Client, ReplyMode};
use crate::clock;
use crate::cmdtable::{
    fact, CommandSpec, Redactor, WrittenKeys, ADMIN, ALLOW_BUSY, DENYOOM, FAST, LOADING,
    MAY_REPLICATE, NO_ASYNC_LOADING, NO_AUTH, NO_MULTI, PROTECTED, READONLY, SKIP_MONITOR,
    SKIP_SLOWLOG, STALE, TOUCHES_ARBITRARY_KEYS, WRITE,
};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::{count_error, Server, SlowlogEntry};
use std::time::Instant;

/// Why the dispatcher refuses a command. Each variant carries what its
/// error reply needs; `error` words it (through error.rs).
pub enum Refusal {
    UnknownCommand,
    /// A container's unknown subcommand (refused as the container).
    UnknownSubcommand,
    WrongArity,
    /// enable-debug-command / enable-module-command: the error to give.
    Protected(&'static str),
    NoAuth,
    /// The ACL denial, as acl_check words it.
    Acl(CmdError),
    /// A script (or function) is busy: BUSY, as scripting words it.
    Busy(CmdError),
    /// A replica link may not touch the keyspace.
    ReplicaKeyspace,
    /// NOREPLICAS, READONLY, MASTERDOWN... as replication words it.
    Replication(CmdError),
    Oom,
    /// stop-writes-on-bgsave-error.
    Misconf,
    /// The AOF could not be written, as aof words it.
    AofError(CmdError),
    Loading,
    /// RESP2 client in subscribed mode.
    SubscribedContext,
    /// CMD_NO_MULTI inside MULTI.
    NotAllowedInMulti,
    /// Cluster mode: another node serves the keys, or none can
    /// (MOVED, ASK, CROSSSLOT, TRYAGAIN, CLUSTERDOWN), as route words it.
    Cluster(CmdError),
}

impl Refusal {
    /// The error reply; `idx` is the entry refused (None: unknown command).
    fn error(self, srv: &Server, idx: Option<usize>, args: &Args) -> CmdError {
        let fullname = || idx.map_or("", |i| srv.commands.entries[i].fullname.as_str());
        match self {
            Refusal::UnknownCommand => {
                let rest: Vec<&[u8]> = args.iter().skip(1).collect();
                error::unknown_command(args.get(0), &rest)
            }
            Refusal::UnknownSubcommand => error::unknown_subcommand(args.get(1), fullname()),
            Refusal::WrongArity => error::wrong_arity(fullname()),
            Refusal::Protected(e) => CmdError::Static(e),
            Refusal::NoAuth => CmdError::NoAuth,
            Refusal::Acl(e) | Refusal::Busy(e) | Refusal::Replication(e) => e,
            Refusal::AofError(e) => e,
            Refusal::ReplicaKeyspace => CmdError::Static(error::REPLICA_KEYSPACE),
            Refusal::Oom => CmdError::Static(error::OOM),
            Refusal::Misconf => CmdError::Static(error::MISCONF),
            Refusal::Loading => CmdError::Static(error::LOADING),
            Refusal::SubscribedContext => error::pubsub_context(fullname()),
            Refusal::NotAllowedInMulti => CmdError::Static(error::NOT_ALLOWED_IN_MULTI),
            Refusal::Cluster(e) => e,
        }
    }
}

/// What keeps a command from running now.
enum Stop {
    /// Refused with an error (the entry, when the command exists).
    Refused(Option<usize>, Refusal),
    /// Client eviction chose this very client: nothing runs or replies.
    Evicted,
    /// CLIENT PAUSE holds it: the event loop runs it afterwards.
    Held,
    /// Queued in the client's transaction.
    Queued,
}

/// The command being checked: its entry, its spec, the nesting depth.
#[derive(Clone, Copy)]
struct Cmd {
    idx: usize,
    /// The top-level entry (a container for a subcommand).
    top: usize,
    spec: &'static CommandSpec,
    /// Redis's flags (`Entry::flags`).
    flags: u32,
    /// Its first, last, step key positions.
    keys: (i32, i32, i32),
    depth: u32,
}

/// Runs one command for `c`: checks, handler, accounting. At the top
/// level, `c` is the tracking module's current client for the duration,
/// and the invalidations held for it follow its reply.
pub fn execute(srv: &mut Server, c: &mut Client, args: &Args) {
    if srv.nesting > 0 {
        execute_command(srv, c, args);
        return;
    }
    srv.tracking.current = c.id;
    execute_command(srv, c, args);
    srv.tracking.in_call = false;
    if !srv.tracking.pending.is_empty() {
        crate::tracking::flush_pending(srv, c);
    }
    srv.tracking.current = 0;
}

fn execute_command(srv: &mut Server, c: &mut Client, args: &Args) {
    // One monotonic read per command: it dates the command (Redis's cached
    // mstime) and starts its timer. Nested calls (scripts, EXEC) keep the
    // outer command's time, as Redis 7.0 freezes time during a script.
    let start = Instant::now();
    let depth = srv.nesting;
    let now = if c.reexecuting || depth == 0 {
        clock::update_from(start)
    } else {
        clock::now_ms()
    };
    c.last_interaction_ms = now;
    if c.reply_mode == ReplyMode::SkipNext {
        c.reply_mode = ReplyMode::Skip;
    }
    let reply_start = c.out.buf.len();
    let cmd = match precheck(srv, c, args, depth) {
        Ok(cmd) => cmd,
        Err(stop) => return stopped(srv, c, args, stop, reply_start),
    };
    let before = Before {
        dirty: srv.dirty,
        db: c.db,
        start,
        reply_start,
    };
    let result = call(srv, c, args, cmd);
    after_call(srv, c, args, cmd, result, before);
}

/// A command that did not run: its error reply, or nothing.
#[cold]
#[inline(never)]
fn stopped(srv: &mut Server, c: &mut Client, args: &Args, stop: Stop, reply_start: usize) {
    match stop {
        Stop::Refused(idx, Refusal::Cluster(e)) => {
            // A redirected EXEC discards the transaction and replies the
            // redirection itself (no EXECABORT).
            if let Some(i) =
                idx.filter(|&i| srv.commands.entries[i].spec.facts & fact::RUNS_QUEUED != 0)
            {
                crate::multi::discard_transaction(srv, c);
                c.last_cmd = Some(i);
                srv.commands.entries[i].stats.rejected += 1;
                count_error(srv, &e);
                srv.stats.error_watermark = srv.stats.total_error_replies;
                c.out.error(&e);
            } else {
                reject(srv, c, idx, &e);
            }
        }
        Stop::Refused(idx, r) => {
            let e = r.error(srv, idx, args);
            reject(srv, c, idx, &e);
        }
        Stop::Evicted | Stop::Held => return,
        Stop::Queued => {
            if let Some(m) = c.multi.as_mut() {
                m.queue(args.to_vec());
            }
            c.out.simple("QUEUED");
        }
    }
    finish_reply(c, reply_start);
}

/// Every check before a command runs, in order; the command to run.
#[inline]
fn precheck(srv: &mut Server, c: &mut Client, args: &Args, depth: u32) -> Result<Cmd, Stop> {
    let (top, idx) = resolve(srv, args)?;
    let e = &srv.commands.entries[idx];
    let cmd = Cmd {
        idx,
        top,
        spec: e.spec,
        flags: e.flags,
        keys: e.meta.keys,
        depth,
    };
    let refused = |r| Stop::Refused(Some(idx), r);
    check_access(srv, c, cmd, args).map_err(refused)?;
    if srv.cluster.is_some() {
        check_cluster(srv, c, cmd, args).map_err(refused)?;
    }
    check_busy_and_replication(srv, c, cmd).map_err(refused)?;
    check_memory(srv, c, cmd)?;
    check_persistence_and_loading(srv, c, cmd).map_err(refused)?;
    check_context(srv, c, cmd, args)?;
    Ok(cmd)
}

/// processCommand's cluster redirection (not for the master's stream,
/// nor commands run by EXEC or scripts: those are checked by their caller).
#[cold]
#[inline(never)]
fn check_cluster(srv: &mut Server, c: &mut Client, cmd: Cmd, args: &Args) -> Result<(), Refusal> {
    use crate::cluster::route::{self, QueryCmd};
    let e = &srv.commands.entries[cmd.idx];
    let runs_queued = cmd.spec.facts & fact::RUNS_QUEUED != 0;
    // ASKING holds for this one command (resetClient clears it after each
    // command outside MULTI, and after EXEC).
    if cmd.depth == 0 && !c.reexecuting {
        c.cluster_asking_now = c.cluster_asking;
        if c.multi.is_none() || runs_queued {
            c.cluster_asking = false;
        }
    }
    // Not for the master's stream or the AOF replay (mustObeyClient).
    if c.must_obey() || cmd.depth > 0 || c.reexecuting || !route::routed(e, runs_queued) {
        return Ok(());
    }
    let mut cmds = Vec::new();
    let (flags, write);
    if runs_queued {
        let Some(m) = c.multi.as_ref() else {
            return Ok(());
        };
        for argv in &m.commands {
            let Some(i) = resolve_argv(srv, argv) else {
                continue;
            };
            cmds.push(QueryCmd {
                entry: &srv.commands.entries[i],
                argv: argv.iter().map(|a| a.as_slice()).collect(),
            });
        }
        flags = e.flags;
        write = queued_flags(srv, c).0 & WRITE != 0;
    } else {
        let arg1 = if args.len() > 1 { args.get(1) } else { b"" };
        flags = scripting::effective_flags(srv, cmd.idx, arg1);
        write = flags & WRITE != 0;
        cmds.push(QueryCmd {
            entry: e,
            argv: args.iter().collect(),
        });
    }
    let shard = route::is_pubsubshard(e);
    match route::node_by_query(srv, c, &cmds, flags, write, shard) {
        Ok(_) => Ok(()),
        Err(r) => Err(Refusal::Cluster(route::redirect_error(
            srv,
            r,
            c.plaintext_conn(),
        ))),
    }
}

/// A queued command's entry (its subcommand's for a container).
fn resolve_argv(srv: &Server, argv: &[Vec<u8>]) -> Option<usize> {
    let top = srv.commands.lookup(argv.first()?)?;
    match argv.get(1) {
        Some(sub) if !srv.commands.entries[top].subs.is_empty() => {
            srv.commands.lookup_sub(top, sub)
        }
        _ => Some(top),
    }
}

fn arity_ok(arity: i32, argc: usize) -> bool {
    (arity > 0 && argc as i32 == arity) || (arity < 0 && argc as i32 >= -arity)
}

/// Lookup (a container's subcommand too) and arity: (top, entry).
#[inline]
fn resolve(srv: &Server, args: &Args) -> Result<(usize, usize), Stop> {
    let table = &srv.commands;
    let Some(top) = table.lookup(args.get(0)) else {
        return Err(Stop::Refused(None, Refusal::UnknownCommand));
    };
    let mut idx = top;
    if !table.entries[top].subs.is_empty() {
        // A container whose own arity allows it (COMMAND) runs bare.
        if args.len() < 2 {
            if !arity_ok(table.entries[top].arity, args.len()) {
                return Err(Stop::Refused(Some(top), Refusal::WrongArity));
            }
        } else {
            idx = table
                .lookup_sub(top, args.get(1))
                .ok_or(Stop::Refused(Some(top), Refusal::UnknownSubcommand))?;
        }
    }
    if !arity_ok(table.entries[idx].arity, args.len()) {
        return Err(Stop::Refused(Some(idx), Refusal::WrongArity));
    }
    Ok((top, idx))
}

/// Protected commands, authentication, ACLs.
#[inline]
fn check_access(srv: &mut Server, c: &Client, cmd: Cmd, args: &Args) -> Result<(), Refusal> {
    let flags = cmd.flags;
    // DEBUG and MODULE LOAD/LOADEX/UNLOAD: refused by configuration before
    // authentication and ACLs are looked at (processCommand, CMD_PROTECTED).
    if flags & PROTECTED != 0 {
        if let Some(e) = protected_refusal(srv, c, cmd.spec) {
            return Err(Refusal::Protected(e));
        }
    }
    if !c.authenticated && flags & NO_AUTH == 0 && srv.acl.auth_required() {
        return Err(Refusal::NoAuth);
    }
    // ACL: users with every permission cost this one lookup. Commands run
    // by EXEC or scripts were checked when queued / by the script call.
    // (A command refused inside MULTI is reported as such first, as Redis
    // checks CMD_NO_MULTI before the ACL.)
    // The master's stream is never checked (its client has no user).
    if !srv.acl.unrestricted.get(c.user).copied().unwrap_or(true)
        && !c.is_master
        && cmd.depth == 0
        && !c.reexecuting
        && (c.multi.is_none() || flags & NO_MULTI == 0)
    {
        crate::acl_check::check_command(srv, c, cmd.idx, args).map_err(Refusal::Acl)?;
    }
    Ok(())
}

/// enable-debug-command / enable-module-command (no, yes, or local
/// connections only): the error refusing a protected command, if any.
#[cold]
fn protected_refusal(srv: &Server, c: &Client, spec: &CommandSpec) -> Option<&'static str> {
    let (setting, err) = if spec.facts & fact::DEBUG_GATED != 0 {
        (srv.config.enable_debug_command, error::DEBUG_DISABLED)
    } else if spec.facts & fact::MODULE_GATED != 0 {
        (srv.config.enable_module_command, error::MODULE_DISABLED)
    } else {
        return None;
    };
    match setting {
        crate::config::ProtectedAccess::Yes => None,
        crate::config::ProtectedAccess::Local if c.local => None,
        _ => Some(err),
    }
}

/// A busy script, a replica link touching the keyspace, and the
/// replication refusals (min-replicas, read-only replica, stale data).
#[inline]
fn check_busy_and_replication(srv: &Server, c: &Client, cmd: Cmd) -> Result<(), Refusal> {
    let flags = cmd.flags;
    if srv.scripting.busy_polling && flags & ALLOW_BUSY == 0 {
        // A slow script replayed from the AOF: loading is refused first,
        // as processCommand checks it before the busy script.
        if srv.loading && flags & LOADING == 0 {
            return Err(Refusal::Loading);
        }
        return Err(Refusal::Busy(crate::scripting::busy_error(srv)));
    }
    // A replica's link may not touch the keyspace (processCommand).
    if c.repl.is_some()
        && flags & (WRITE | READONLY | MAY_REPLICATE) != 0
        && crate::replication::is_replica_client(c)
    {
        return Err(Refusal::ReplicaKeyspace);
    }
    // Only possible with a master link or min-replicas-to-write set.
    // Commands run by EXEC were checked when queued (and EXEC itself is
    // checked): a REPLICAOF inside the transaction does not fail the rest.
    if (srv.repl.link.is_some() || srv.config.min_replicas_to_write > 0)
        && !(cmd.depth > 0 && srv.scripting.current_run().is_none())
    {
        return replication_refusal(srv, c, cmd);
    }
    Ok(())
}

#[cold]
fn replication_refusal(srv: &Server, c: &Client, cmd: Cmd) -> Result<(), Refusal> {
    let spec = cmd.spec;
    // EXEC counts as the commands it will run (a write inside makes it
    // a write: NOREPLICAS / READONLY apply to it).
    let flags = if spec.facts & fact::RUNS_QUEUED != 0 {
        let (any, all) = queued_flags(srv, c);
        // Stale-safe only if every queued command is (cmd_inv_flags).
        (cmd.flags | any) & !STALE | (all & STALE)
    } else {
        cmd.flags
    };
    let script = srv.scripting.current_run().filter(|_| cmd.depth > 0);
    let refused = if let Some(run) = script {
        crate::replication::refuse_script_command(srv, c, flags, run.wrote_before_call.get())
    } else {
        crate::replication::refuse_command(srv, c, flags)
    };
    refused.map_or(Ok(()), |e| Err(Refusal::Replication(e)))
}

/// Client eviction, then maxmemory (evictions, OOM), then the tracking
/// table's size limit.
#[inline]
fn check_memory(srv: &mut Server, c: &mut Client, cmd: Cmd) -> Result<(), Stop> {
    // Disconnect clients if clients' memory is too high, before key
    // eviction (processCommand's evictClients). If this client is the one
    // evicted, its command does not run.
    if srv.client_mem.over_limit()
        && cmd.depth == 0
        && !c.reexecuting
        && evict_clients_before(srv, c)
    {
        return Err(Stop::Evicted);
    }
    if srv.config.maxmemory > 0 && cmd.depth == 0 && oom_refuses(srv, c, cmd) {
        return Err(Stop::Refused(Some(cmd.idx), Refusal::Oom));
    }
    // The slab's arena (dict entries) nearly full: refuse what may grow
    // it, as maxmemory does, rather than abort when it is.
    if cmd.depth == 0 && cmd.flags & DENYOOM != 0 && crate::alloc::slab::arena_nearly_full() {
        return Err(Stop::Refused(Some(cmd.idx), Refusal::Oom));
    }
    if srv.tracking.clients > 0 && cmd.depth == 0 {
        crate::tracking::limit_used_slots(srv);
        if !srv.tracking.pending.is_empty() {
            // Before the reply, even a QUEUED one (Redis #11715).
            crate::tracking::flush_pending(srv, c);
        }
    }
    Ok(())
}

/// maxmemory: evict first (performEvictions); if memory is still over
/// the limit, refuse commands that may grow it — and anything queued in
/// MULTI, whose queue could grow without bound (processCommand).
fn oom_refuses(srv: &mut Server, c: &mut Client, cmd: Cmd) -> bool {
    let oom = crate::evict::perform_evictions(srv) == crate::evict::Outcome::Fail;
    if !srv.tracking.pending.is_empty() {
        // Evicted keys this client tracks: told before its reply.
        crate::tracking::flush_pending(srv, c);
    }
    let spec = cmd.spec;
    let queued_in_multi = c.multi.is_some() && spec.facts & fact::OOM_OK_IN_MULTI == 0;
    oom && (cmd.flags & DENYOOM != 0
        || queued_in_multi
        || (spec.facts & fact::RUNS_QUEUED != 0 && multi_has_denyoom(srv, c)))
}

/// Persistence errors (RDB, AOF) refusing writes, and loading.
#[inline]
fn check_persistence_and_loading(srv: &Server, c: &Client, cmd: Cmd) -> Result<(), Refusal> {
    let spec = cmd.spec;
    // The master's stream and the AOF replay are applied regardless
    // (mustObeyClient). A command a script calls is checked against the
    // script's caller, only if it writes (PING is not refused there), and
    // not once the script has written: it cannot be failed halfway
    // (scriptVerifyWriteCommandAllow). The script's own client has the AOF
    // client's id, so it must not be asked.
    let (write_like, obeyed) = match srv.scripting.current_run().filter(|_| cmd.depth > 0) {
        Some(run) => (
            cmd.flags & WRITE != 0,
            run.caller_must_obey() || run.wrote_before_call.get(),
        ),
        None => (
            cmd.flags & WRITE != 0 || spec.facts & fact::DISK_ERROR_REFUSED != 0,
            c.must_obey(),
        ),
    };
    if write_like && !obeyed {
        if crate::persist::rdb_server::writes_denied(srv) {
            return Err(Refusal::Misconf);
        }
        // After an AOF write error, writes (and PING) are refused until a
        // write succeeds again (writeCommandsDeniedByDiskError).
        if srv.aof.state != crate::persist::aof::AofState::Off {
            if let Some(e) = crate::persist::aof::write_denied(srv) {
                return Err(Refusal::AofError(e));
            }
        }
    }
    // Loading the dataset (serving clients meanwhile): only commands that
    // may run then (CMD_LOADING); EXEC only if everything queued may.
    // An async load (replica, swapdb) only refuses `no-async-loading`.
    if srv.loading_events && cmd.depth == 0 {
        let denied = if srv.async_loading {
            cmd.flags & NO_ASYNC_LOADING != 0
        } else {
            cmd.flags & LOADING == 0
                || (spec.facts & fact::RUNS_QUEUED != 0 && queued_flags(srv, c).1 & LOADING == 0)
        };
        if denied {
            return Err(Refusal::Loading);
        }
    }
    Ok(())
}

/// The client's context: subscribed (RESP2), inside MULTI (refused or
/// queued), and CLIENT PAUSE.
#[inline]
fn check_context(srv: &mut Server, c: &mut Client, cmd: Cmd, args: &Args) -> Result<(), Stop> {
    let spec = cmd.spec;
    let refused = |r| Err(Stop::Refused(Some(cmd.idx), r));
    if c.out.resp == 2 && crate::pubsub::is_subscribed(c) && spec.facts & fact::SUBSCRIBED_OK == 0 {
        return refused(Refusal::SubscribedContext);
    }
    if c.multi.is_some() && cmd.flags & NO_MULTI != 0 {
        return refused(Refusal::NotAllowedInMulti);
    }
    // CLIENT PAUSE holds a command that passed every check (replicas are
    // never held): the event loop keeps it queued and runs it afterwards.
    if srv.pause.is_some() && cmd.depth == 0 && !c.reexecuting && c.repl.is_none() {
        const W: u32 = WRITE | MAY_REPLICATE;
        let arg1 = if args.len() > 1 { args.get(1) } else { b"" };
        let flags = scripting::effective_flags(srv, cmd.idx, arg1);
        let runs_queued = spec.facts & fact::RUNS_QUEUED != 0;
        let w = flags & W != 0 || (runs_queued && queued_flags(srv, c).0 & W != 0);
        if srv.paused_for(w) {
            c.held_by_pause = true;
            return Err(Stop::Held);
        }
    }
    if c.multi.is_some() && spec.facts & fact::NOT_QUEUED == 0 {
        return Err(Stop::Queued);
    }
    Ok(())
}

/// The flags of the commands queued in the client's transaction (Redis's
/// mstate.cmd_flags and cmd_inv_flags).
/// Returns (flags any of them has, flags all of them have).
pub fn queued_flags(srv: &Server, c: &Client) -> (u32, u32) {
    let Some(m) = c.multi.as_ref() else {
        return (0, u32::MAX);
    };
    m.commands
        .iter()
        .filter_map(|argv| {
            let i = srv.commands.lookup(argv.first()?)?;
            let arg1 = argv.get(1).map_or(&b""[..], |a| a.as_slice());
            Some(scripting::effective_flags(srv, i, arg1))
        })
        .fold((0, u32::MAX), |(any, all), f| (any | f, all & f))
}

/// Does the client's queued transaction hold a command that may grow
/// memory (EXEC is refused under OOM then, as Redis's cmd_flags check)?
fn multi_has_denyoom(srv: &Server, c: &Client) -> bool {
    let Some(m) = c.multi.as_ref() else {
        return false;
    };
    m.commands.iter().any(|argv| {
        argv.first()
            .and_then(|name| srv.commands.lookup(name))
            .is_some_and(|i| srv.commands.entries[i].flags & DENYOOM != 0)
    })
}

/// Client eviction before a command; true if `c` itself was evicted (its
/// command does not run; it is logged as the others are).
#[cold]
#[inline(never)]
fn evict_clients_before(srv: &mut Server, c: &mut Client) -> bool {
    let mut line = Vec::new();
    if c.mem_bucket != crate::client_mem::NO_BUCKET {
        crate::client_info::cat_client_info(&mut line, srv, c, clock::wall_ms(), None);
    }
    if crate::client_mem::evict_clients(srv, Some(c)) {
        tracing::info!("Evicting client: {}", String::from_utf8_lossy(&line));
        return true;
    }
    false
}

/// What `after_call` needs from before the handler ran.
struct Before {
    dirty: u64,
    db: usize,
    start: Instant,
    reply_start: usize,
}

/// Runs the handler (a value kept as bytes among its keys refuses it),
/// one nesting level deeper.
#[inline]
fn call(srv: &mut Server, c: &mut Client, args: &Args, cmd: Cmd) -> CmdResult {
    // Invalidations raised before the command runs (eviction) precede
    // its reply; those raised by the command itself follow it.
    if cmd.depth == 0 {
        if !srv.tracking.pending.is_empty() {
            crate::tracking::flush_pending(srv, c);
        }
        srv.tracking.in_call = true;
    }
    srv.nesting += 1;
    let result = match corrupt_value_refusal(srv, c, cmd, args) {
        Some(e) => Err(e),
        None => (cmd.spec.handler)(srv, c, args),
    };
    srv.nesting -= 1;
    result
}

/// The error for a command that would read a `ValueRef::Corrupt` among its
/// keys (checked only while such values exist).
#[inline]
fn corrupt_value_refusal(srv: &mut Server, c: &Client, cmd: Cmd, args: &Args) -> Option<CmdError> {
    if !crate::object::CorruptValue::any()
        || srv.commands.entries[cmd.top].spec.facts & fact::WHOLE_KEYS != 0
    {
        return None;
    }
    corrupt_key_among(srv, c, cmd.idx, args)
}

#[cold]
fn corrupt_key_among(srv: &mut Server, c: &Client, idx: usize, args: &Args) -> Option<CmdError> {
    let argv: Vec<&[u8]> = args.iter().collect();
    let keys = crate::acl::acl_keys(srv.acl.cmds.get(idx)?, &argv);
    let db = srv.dbs.get_mut(c.db)?;
    for (pos, _) in keys {
        let k = argv.get(pos)?;
        if let Some(o) = db.lookup_notouch(k) {
            if matches!(o.value.get(), crate::object::ValueRef::Corrupt(_)) {
                return Some(CmdError::Static(error::CORRUPT_VALUE));
            }
        }
    }
    None
}

/// Everything after the handler: propagation, MONITOR, the error reply
/// and statistics, keys modified and read, slow log, CLIENT REPLY.
#[inline]
fn after_call(srv: &mut Server, c: &mut Client, args: &Args, cmd: Cmd, r: CmdResult, b: Before) {
    let spec = cmd.spec;
    if srv.prop.active() {
        crate::propagate::after_command(
            srv,
            b.db,
            args,
            // Only a rise counts (call()'s max(0, dirty delta)): SAVE or
            // SHUTDOWN resetting the counter does not propagate.
            srv.dirty > b.dirty,
            spec.facts & fact::EFFECTS_ONLY == 0,
            cmd.depth == 0,
            cmd.flags & TOUCHES_ARBITRARY_KEYS != 0,
        );
    }
    let dur_us = b.start.elapsed().as_micros() as u64;
    // Monitors see a command after it ran (so SELECT shows the new db, and
    // commands queued in MULTI appear when EXEC runs them), as call() does.
    if !srv.monitors.is_empty() && cmd.flags & (SKIP_MONITOR | ADMIN) == 0 && !c.reexecuting {
        feed_monitors(srv, c, args, cmd.spec.redact);
    }
    let ok = r.is_ok();
    if let Err(e) = &r {
        count_error(srv, e);
        c.out.error(e);
    }
    update_stats(srv, c, cmd.idx, dur_us);
    signal_keys(srv, c, cmd, args, b.dirty);
    if cmd.flags & SKIP_SLOWLOG == 0 {
        slowlog_push(srv, c, args, dur_us, cmd.spec.redact);
        let ms = dur_us / 1000;
        if ms > 0 {
            let ev = if cmd.flags & FAST != 0 {
                "fast-command"
            } else {
                "command"
            };
            srv.latency_add(ev, ms);
        }
    }
    // (Un)subscribe confirmations, in RESP2 as in RESP3, are pushed with
    // Redis's CLIENT_PUSHING, which CLIENT REPLY OFF/SKIP does not silence.
    if ok && spec.facts & fact::PUSH_REPLY != 0 {
        if c.reply_mode == ReplyMode::Skip {
            c.reply_mode = ReplyMode::On;
        }
        return;
    }
    finish_reply(c, b.reply_start);
}

/// The command's statistics (calls, time, latency, failures) and the
/// server's.
#[inline]
fn update_stats(srv: &mut Server, c: &mut Client, idx: usize, dur_us: u64) {
    let failed = srv.stats.total_error_replies > srv.stats.error_watermark
        || std::mem::take(&mut srv.stats.failed_without_stats);
    srv.stats.error_watermark = srv.stats.total_error_replies;
    let track_latency = srv.config.latency_tracking && c.blocked.is_none();
    let entry = &mut srv.commands.entries[idx];
    // A blocked command re-executed when its key is ready is the same call.
    if !c.reexecuting {
        entry.stats.calls += 1;
    }
    entry.stats.usec += dur_us;
    // A command that blocked is measured when it completes.
    if track_latency {
        entry
            .stats
            .latency
            .get_or_insert_with(Default::default)
            .record(dur_us.saturating_mul(1000));
    }
    if failed {
        entry.stats.failed += 1;
    }
    c.last_cmd = Some(idx);
    srv.stats.commands_processed += 1;
}

/// Keys the command modified (WATCH, tracking, a writable replica's
/// TTLs), keys it read (tracking), CLIENT CACHING's scope, keyspace events.
#[inline]
fn signal_keys(srv: &mut Server, c: &mut Client, cmd: Cmd, args: &Args, dirty_before: u64) {
    let spec = cmd.spec;
    // (A writable replica's own writes: keys with a TTL are remembered.)
    if srv.dirty > dirty_before
        && (!srv.watched_keys.is_empty()
            || srv.tracking.clients > 0
            || (srv.repl.is_replica() && !c.is_master))
    {
        touch_command_keys(srv, c, cmd, args);
    }
    // Read-only scripts are not tracked themselves: the read commands they
    // run record the caller's declared keys (call()).
    if cmd.flags & READONLY != 0 && spec.facts & fact::UNTRACKED_READ == 0 {
        if c.tracking.is_some() {
            let keys: Vec<&[u8]> = command_keys(cmd.keys, args).collect();
            crate::tracking::remember_keys(srv, c, keys.into_iter());
        } else if cmd.depth > 0 {
            track_for_script_caller(srv, c);
        }
    }
    if c.tracking.is_some() && spec.facts & fact::KEEPS_CACHING == 0 {
        // CLIENT CACHING applies to the next command only.
        if let Some(t) = c.tracking.as_mut() {
            t.caching = false;
        }
    }
    if !srv.dbs[c.db].events.is_empty() {
        srv.drain_key_events(Some(c));
    }
}

/// A read run by a script whose caller tracks keys: the caller's declared
/// keys are remembered for it.
fn track_for_script_caller(srv: &mut Server, c: &Client) {
    if let Some(run) = srv.scripting.current_run() {
        if let Some((id, keys)) = &run.track_caller {
            if std::ptr::eq(run.client as *const Client, c) {
                crate::tracking::remember_keys_for(srv, *id, keys.iter().map(|k| k.as_slice()));
            }
        }
    }
}

/// Applies CLIENT REPLY OFF/SKIP: drops what the command wrote.
fn finish_reply(c: &mut Client, reply_start: usize) {
    match c.reply_mode {
        ReplyMode::On | ReplyMode::SkipNext => {}
        ReplyMode::Off => c.out.buf.truncate(reply_start),
        ReplyMode::Skip => {
            c.out.buf.truncate(reply_start);
            c.reply_mode = ReplyMode::On;
        }
    }
}

/// A write command changed the dataset: the keys it writes count as
/// modified (Redis's signalModifiedKey, done centrally) for WATCH and
/// client-side caching.
fn touch_command_keys(srv: &mut Server, c: &mut Client, cmd: Cmd, args: &Args) {
    let db = c.db;
    let mut written: Vec<&[u8]> = Vec::new();
    match cmd.spec.writes {
        WrittenKeys::At(i) => written.push(args.get(i as usize)),
        WrittenKeys::ByHandler => {}
        WrittenKeys::StoreOption => {
            // SORT ... STORE dst, GEORADIUS ... STORE|STOREDIST dst
            let mut i = 2;
            while i + 1 < args.len() {
                if args.is(i, "STORE") || args.is(i, "STOREDIST") {
                    written.push(args.get(i + 1));
                    i += 1;
                }
                i += 1;
            }
        }
        WrittenKeys::Declared => written.extend(command_keys(cmd.keys, args)),
    }
    let replica_client = srv.repl.is_replica() && !c.is_master;
    for key in written {
        srv.signal_modified_key(Some(&mut *c), db, key);
        if replica_client {
            crate::replication::replica_expire::remember(srv, db, key);
        }
    }
}

/// A command refused before running (unknown, arity, auth...). Inside
/// MULTI it also dooms the transaction (flagTransaction).
fn reject(srv: &mut Server, c: &mut Client, idx: Option<usize>, e: &CmdError) {
    if let Some(m) = c.multi.as_mut() {
        m.aborted = true;
    }
    if let Some(i) = idx {
        // processCommand sets lastcmd before its refusals.
        c.last_cmd = Some(i);
        srv.commands.entries[i].stats.rejected += 1;
        // EXEC itself rejected: the transaction is discarded (execCommandAbort).
        if srv.commands.entries[i].spec.facts & fact::RUNS_QUEUED != 0 {
            crate::multi::discard_transaction(srv, c);
            let e = error::exec_abort(e);
            count_error(srv, &e);
            srv.stats.error_watermark = srv.stats.total_error_replies;
            c.out.error(&e);
            return;
        }
    }
    count_error(srv, e);
    srv.stats.error_watermark = srv.stats.total_error_replies;
    c.out.error(e);
}

/// Maximum args and bytes per arg a slow log entry keeps (Redis's values).
const SLOWLOG_MAX_ARGC: usize = 32;
const SLOWLOG_MAX_ARGLEN: usize = 128;

/// A slow log entry for the command; `redact` hides its secrets.
fn slowlog_push(srv: &mut Server, c: &Client, args: &Args, dur_us: u64, redact: Option<Redactor>) {
    let thr = srv.config.slowlog_log_slower_than;
    if thr < 0 || (dur_us as i64) < thr {
        return;
    }
    let mut v = Vec::new();
    let argc = args.len();
    let keep = argc.min(SLOWLOG_MAX_ARGC);
    for i in 0..keep {
        if keep != argc && i == keep - 1 {
            v.push(format!("... ({} more arguments)", argc - keep + 1).into_bytes());
            break;
        }
        let a = if redact.is_some_and(|r| r(args, i)) {
            b"(redacted)".as_slice()
        } else {
            args.get(i)
        };
        if a.len() > SLOWLOG_MAX_ARGLEN {
            let mut t = a[..SLOWLOG_MAX_ARGLEN].to_vec();
            t.extend_from_slice(
                format!("... ({} more bytes)", a.len() - SLOWLOG_MAX_ARGLEN).as_bytes(),
            );
            v.push(t);
        } else {
            v.push(a.to_vec());
        }
    }
    let entry = SlowlogEntry {
        id: srv.slowlog_next_id,
        time: clock::now_ms() / 1000,
        duration_us: dur_us,
        args: v,
        peer: c.addr.clone(),
        name: c.name.clone().unwrap_or_default(),
    };
    srv.slowlog_next_id += 1;
    srv.slowlog.push_front(entry);
    while srv.slowlog.len() > srv.config.slowlog_max_len {
        srv.slowlog.pop_back();
    }
}

/// Sends the command to every MONITOR client, formatted as Redis does:
/// `+<secs>.<usecs> [<db> <addr>] "arg" "arg"`, the secrets `redact`
/// names shown as "(redacted)".
pub(crate) fn feed_monitors(srv: &mut Server, c: &Client, args: &Args, redact: Option<Redactor>) {
    let us = clock::wall_us();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        c.db,
        c.addr
    )
    .into_bytes();
    for (i, a) in args.iter().enumerate() {
        let a = if redact.is_some_and(|r| r(args, i)) {
            b"(redacted)".as_slice()
        } else {
            a
        };
        line.push(b' ');
        crate::util::repr::quote_into(a, &mut line);
    }
    line.extend_from_slice(b"\r\n");
    let tokens = srv.monitors.clone();
    for t in tokens {
        if let Some(Some(m)) = srv.clients.get_mut(t) {
            m.out.raw(&line);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cmdtable::fact;

    fn having(f: u32) -> Vec<String> {
        let t = crate::commands::table();
        let mut v: Vec<String> = t
            .entries
            .iter()
            .filter(|e| e.spec.facts & f != 0)
            .map(|e| e.fullname.clone())
            .collect();
        v.sort();
        v
    }

    /// The facts standing for processCommand's and call()'s handler
    /// comparisons name exactly the commands Redis 7.0.15 lists there.
    #[test]
    fn facts_name_the_commands_redis_compares() {
        assert_eq!(
            having(fact::NOT_QUEUED),
            ["discard", "exec", "multi", "quit", "reset", "watch"]
        );
        assert_eq!(
            having(fact::OOM_OK_IN_MULTI),
            ["discard", "exec", "quit", "reset"]
        );
        assert_eq!(
            having(fact::SUBSCRIBED_OK),
            [
                "ping",
                "psubscribe",
                "punsubscribe",
                "quit",
                "reset",
                "ssubscribe",
                "subscribe",
                "sunsubscribe",
                "unsubscribe"
            ]
        );
        assert_eq!(having(fact::RUNS_QUEUED), ["exec"]);
        assert_eq!(having(fact::MIGRATES), ["migrate"]);
        assert_eq!(having(fact::DISK_ERROR_REFUSED), ["ping"]);
        assert_eq!(
            having(fact::UNTRACKED_READ),
            ["eval_ro", "evalsha_ro", "fcall_ro"]
        );
        assert_eq!(
            having(fact::EFFECTS_ONLY),
            [
                "eval",
                "eval_ro",
                "evalsha",
                "evalsha_ro",
                "exec",
                "fcall",
                "fcall_ro"
            ]
        );
        assert_eq!(having(fact::KEEPS_CACHING), ["client|caching"]);
        assert_eq!(having(fact::REPLICA_MAY_REPLY), ["replconf"]);
        assert_eq!(
            having(fact::DEBUG_GATED | fact::MODULE_GATED),
            ["debug", "module|load", "module|loadex", "module|unload"]
        );
    }
}
