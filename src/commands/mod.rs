//! The command table's contents — `table()`, the one place a command is
//! registered (the table's types are `crate::cmdtable`'s) — the hooks the
//! lower layers call up through (`hooks()`), and the dispatcher that looks
//! a command up, checks arity and permissions, runs its handler and
//! accounts for it (Redis's server.c `call()`).
//!
//! Handlers live in one module per group, like Redis's t_string.c etc.:
//! `strings`, `keys`, `bitmap`, `hyperloglog`, `connection`, `server_cmds`,
//! `client_cmd`, `config_cmd`, `info`, `debug`, `command_cmd`.

pub mod acl_cmd;
pub mod bitmap;
pub mod client_cmd;
pub mod cluster;
pub mod command_cmd;
pub mod config_cmd;
pub mod connection;
pub mod debug;
pub mod geo;
pub mod hashes;
pub mod hyperloglog;
pub mod info;
pub mod keys;
pub mod lists;
pub mod memory;
pub mod migrate;
pub mod module;
pub mod multi;
pub mod persistence;
pub mod pubsub;
pub mod scripting;
pub mod server_cmds;
pub mod sets;
pub mod shutdown;
pub mod stream_groups;
pub mod streams;
pub mod strings;
pub mod zsets;

use crate::protocol::args::Args;

use crate::client::{Client, ReplyMode};
use crate::clock;
use crate::cmdtable::{
    CommandSpec, CommandTable, ADMIN, ALLOW_BUSY, DENYOOM, FAST, LOADING, MAY_REPLICATE,
    NO_ASYNC_LOADING, NO_AUTH, NO_MULTI, PROTECTED, READONLY, SKIP_MONITOR, SKIP_SLOWLOG, STALE,
    WRITE,
};
use crate::error::{self, CmdError};
use crate::server::{count_error, Hooks, Server, SlowlogEntry, NESTING};
use std::time::Instant;

/// Every command group's table, in one list.
fn all_specs() -> impl Iterator<Item = &'static CommandSpec> {
    strings::COMMANDS
        .iter()
        .chain(keys::COMMANDS)
        .chain(bitmap::COMMANDS)
        .chain(hyperloglog::COMMANDS)
        .chain(connection::COMMANDS)
        .chain(server_cmds::COMMANDS)
        .chain(client_cmd::COMMANDS)
        .chain(config_cmd::COMMANDS)
        .chain(info::COMMANDS)
        .chain(debug::COMMANDS)
        .chain(command_cmd::COMMANDS)
        .chain(multi::COMMANDS)
        .chain(pubsub::COMMANDS)
        .chain(lists::COMMANDS)
        .chain(hashes::COMMANDS)
        .chain(sets::COMMANDS)
        .chain(zsets::COMMANDS)
        .chain(geo::COMMANDS)
        .chain(memory::COMMANDS)
        .chain(module::COMMANDS)
        .chain(scripting::COMMANDS)
        .chain(streams::COMMANDS)
        .chain(stream_groups::COMMANDS)
        .chain(crate::replication::COMMANDS)
        .chain(crate::replication::failover::COMMANDS)
        .chain(persistence::COMMANDS)
        .chain(migrate::COMMANDS)
        .chain(cluster::COMMANDS)
        .chain(crate::persist::aof::COMMANDS)
        .chain(acl_cmd::COMMANDS)
}

/// The calls the lower layers make into this one and into persist and
/// replication, handed to `Server::new`.
pub fn hooks() -> Hooks {
    Hooks {
        execute,
        feed_aof: crate::persist::aof::feed,
        feed_replicas: crate::replication::feed,
    }
}

/// The command table: every group's commands (the single registration
/// point), handed to `Server::new`.
pub fn table() -> CommandTable {
    CommandTable::new(all_specs())
}

/// An array of status lines: a HELP text already written out in full.
pub fn reply_status_lines(c: &mut Client, lines: &[&str]) {
    c.out.array(lines.len());
    for l in lines {
        c.out.simple(l);
    }
}

/// A HELP reply as Redis's addReplyHelp writes it: a header naming the
/// command, the given lines, then the HELP entry.
pub fn help_reply(c: &mut Client, cmd: &str, lines: &[&str]) {
    c.out.array(lines.len() + 3);
    c.out.simple(&format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        cmd
    ));
    for l in lines {
        c.out.simple(l);
    }
    c.out.simple("HELP");
    c.out.simple("    Prints this help.");
}

/// enable-debug-command / enable-module-command (no, yes, or local
/// connections only): the error refusing protected command `name`, if any.
fn protected_refusal(srv: &Server, c: &Client, name: &str) -> Option<&'static str> {
    let (setting, err) = match name {
        "debug" => (srv.config.enable_debug_command, error::DEBUG_DISABLED),
        "module" => (srv.config.enable_module_command, error::MODULE_DISABLED),
        _ => return None,
    };
    match setting {
        crate::config::ProtectedAccess::Yes => None,
        crate::config::ProtectedAccess::Local if c.local => None,
        _ => Some(err),
    }
}

fn arity_ok(arity: i32, argc: usize) -> bool {
    (arity > 0 && argc as i32 == arity) || (arity < 0 && argc as i32 >= -arity)
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
            let spec = srv.commands.entries[i].spec;
            let arg1 = argv.get(1).map_or(&b""[..], |a| a.as_slice());
            Some(scripting::effective_flags(srv, spec.name, arg1, spec.flags))
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
            .is_some_and(|i| srv.commands.entries[i].spec.flags & DENYOOM != 0)
    })
}

/// Commands that never propagate their own argv: what they ran inside
/// them propagates instead (Redis's effects replication).
fn propagates_effects_only(name: &str) -> bool {
    matches!(
        name,
        "exec" | "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
    )
}

/// Runs one command for `c`: lookup, checks, handler, accounting. At the
/// top level, `c` is the tracking module's current client for the
/// duration, and the invalidations held for it follow its reply.
/// Commands that only handle a key as a whole (existence, TTL, name,
/// serialization, deletion): they work on values kept as bytes
/// (`Value::Corrupt`), which every other command refuses.
fn handles_whole_keys(fullname: &str) -> bool {
    matches!(
        fullname.split('|').next().unwrap_or(""),
        "del"
            | "unlink"
            | "exists"
            | "type"
            | "expire"
            | "pexpire"
            | "expireat"
            | "pexpireat"
            | "ttl"
            | "pttl"
            | "expiretime"
            | "pexpiretime"
            | "persist"
            | "touch"
            | "rename"
            | "renamenx"
            | "move"
            | "copy"
            | "dump"
            | "object"
            | "memory"
            | "restore"
            | "restore-asking"
            | "migrate"
            | "watch"
    )
}

/// The error for a command that would read a `Value::Corrupt` among its
/// keys (checked only while such values exist).
fn corrupt_value_refusal(
    srv: &mut Server,
    c: &Client,
    idx: usize,
    args: &Args,
) -> Option<CmdError> {
    if !crate::object::CorruptValue::any()
        || handles_whole_keys(&srv.commands.entries[idx].fullname)
    {
        return None;
    }
    let argv: Vec<&[u8]> = args.iter().collect();
    let keys = crate::acl::acl_keys(srv.acl.cmds.get(idx)?, &argv);
    let db = srv.dbs.get_mut(c.db)?;
    for (pos, _) in keys {
        let k = argv.get(pos)?;
        if let Some(o) = db.lookup_notouch(k) {
            if matches!(o.value, crate::object::Value::Corrupt(_)) {
                return Some(CmdError::Static(error::CORRUPT_VALUE));
            }
        }
    }
    None
}

pub fn execute(srv: &mut Server, c: &mut Client, args: &Args) {
    if NESTING.with(|n| n.get()) > 0 {
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
    let now = if c.reexecuting || NESTING.with(|n| n.get()) == 0 {
        clock::update_from(start)
    } else {
        clock::now_ms()
    };
    c.last_interaction_ms = now;
    if c.reply_mode == ReplyMode::SkipNext {
        c.reply_mode = ReplyMode::Skip;
    }
    let reply_start = c.out.buf.len();

    let name = args.get(0);
    let Some(top) = srv.commands.lookup(name) else {
        let rest: Vec<&[u8]> = args.iter().skip(1).collect();
        reject(srv, c, None, &error::unknown_command(name, &rest));
        finish_reply(c, reply_start);
        return;
    };
    let mut idx = top;
    if !srv.commands.entries[top].subs.is_empty() {
        // A container whose own arity allows it (COMMAND) runs bare.
        if args.len() < 2 && !arity_ok(srv.commands.entries[top].spec.arity, args.len()) {
            let e = error::wrong_arity(&srv.commands.entries[top].fullname);
            reject(srv, c, Some(top), &e);
            finish_reply(c, reply_start);
            return;
        }
        if args.len() >= 2 {
            match srv.commands.lookup_sub(top, args.get(1)) {
                Some(s) => idx = s,
                None => {
                    let e =
                        error::unknown_subcommand(args.get(1), srv.commands.entries[top].spec.name);
                    reject(srv, c, Some(top), &e);
                    finish_reply(c, reply_start);
                    return;
                }
            }
        }
    }
    let spec = srv.commands.entries[idx].spec;
    if !arity_ok(spec.arity, args.len()) {
        let e = error::wrong_arity(&srv.commands.entries[idx].fullname);
        reject(srv, c, Some(idx), &e);
        finish_reply(c, reply_start);
        return;
    }
    // DEBUG and MODULE LOAD/LOADEX/UNLOAD: refused by configuration before
    // authentication and ACLs are looked at (processCommand, CMD_PROTECTED).
    if spec.flags & PROTECTED != 0 {
        if let Some(e) = protected_refusal(srv, c, srv.commands.entries[top].spec.name) {
            reject(srv, c, Some(idx), &CmdError::Static(e));
            finish_reply(c, reply_start);
            return;
        }
    }
    if !c.authenticated && spec.flags & NO_AUTH == 0 && srv.acl.auth_required() {
        reject(srv, c, Some(idx), &CmdError::NoAuth);
        finish_reply(c, reply_start);
        return;
    }
    // ACL: users with every permission cost this one lookup. Commands run
    // by EXEC or scripts were checked when queued / by the script call.
    // (A command refused inside MULTI is reported as such first, as Redis
    // checks CMD_NO_MULTI before the ACL.)
    // The master's stream is never checked (its client has no user).
    if !srv.acl.unrestricted.get(c.user).copied().unwrap_or(true)
        && !c.is_master
        && NESTING.with(|n| n.get()) == 0
        && !c.reexecuting
        && (c.multi.is_none() || spec.flags & NO_MULTI == 0)
    {
        if let Err(e) = crate::acl_check::check_command(srv, c, idx, args) {
            reject(srv, c, Some(idx), &e);
            finish_reply(c, reply_start);
            return;
        }
    }
    if srv.scripting.busy_polling && spec.flags & ALLOW_BUSY == 0 {
        // A slow script replayed from the AOF: loading is refused first,
        // as processCommand checks it before the busy script.
        let e = if srv.loading && spec.flags & LOADING == 0 {
            CmdError::Static(error::LOADING)
        } else {
            crate::scripting::busy_error(srv)
        };
        reject(srv, c, Some(idx), &e);
        finish_reply(c, reply_start);
        return;
    }
    // Replica / min-replicas refusals: only possible with a master link or
    // min-replicas-to-write set.
    // Commands run by EXEC were checked when queued (and EXEC itself is
    // checked): a REPLICAOF inside the transaction does not fail the rest.
    // A replica's link may not touch the keyspace (processCommand).
    if c.repl.is_some()
        && spec.flags & (WRITE | READONLY | MAY_REPLICATE) != 0
        && crate::replication::is_replica_client(c)
    {
        reject(
            srv,
            c,
            Some(idx),
            &CmdError::Static(error::REPLICA_KEYSPACE),
        );
        finish_reply(c, reply_start);
        return;
    }
    if (srv.repl.link.is_some() || srv.config.min_replicas_to_write > 0)
        && !(NESTING.with(|n| n.get()) > 0 && crate::scripting::current_run().is_none())
    {
        // EXEC counts as the commands it will run (a write inside makes it
        // a write: NOREPLICAS / READONLY apply to it).
        let flags = if spec.name == "exec" {
            let (any, all) = queued_flags(srv, c);
            // Stale-safe only if every queued command is (cmd_inv_flags).
            (spec.flags | any) & !STALE | (all & STALE)
        } else {
            spec.flags
        };
        let script = crate::scripting::current_run().filter(|_| NESTING.with(|n| n.get()) > 0);
        let refused = if let Some(run) = script {
            crate::replication::refuse_script_command(srv, c, flags, run.wrote_before_call.get())
        } else {
            crate::replication::refuse_command(srv, c, flags)
        };
        if let Some(e) = refused {
            reject(srv, c, Some(idx), &e);
            finish_reply(c, reply_start);
            return;
        }
    }
    // Disconnect clients if clients' memory is too high, before key
    // eviction (processCommand's evictClients). If this client is the one
    // evicted, its command does not run.
    if srv.client_mem.over_limit()
        && NESTING.with(|n| n.get()) == 0
        && !c.reexecuting
        && evict_clients_before(srv, c)
    {
        return;
    }
    // maxmemory: evict first (performEvictions); if memory is still over
    // the limit, refuse commands that may grow it — and anything queued
    // in MULTI, whose queue could grow without bound (processCommand).
    if srv.config.maxmemory > 0 && NESTING.with(|n| n.get()) == 0 {
        let oom = crate::evict::perform_evictions(srv) == crate::evict::Outcome::Fail;
        if !srv.tracking.pending.is_empty() {
            // Evicted keys this client tracks: told before its reply.
            crate::tracking::flush_pending(srv, c);
        }
        let name = spec.name;
        let queued_in_multi =
            c.multi.is_some() && !matches!(name, "exec" | "discard" | "quit" | "reset");
        if oom
            && (spec.flags & DENYOOM != 0
                || queued_in_multi
                || (name == "exec" && multi_has_denyoom(srv, c)))
        {
            reject(srv, c, Some(idx), &CmdError::Static(error::OOM));
            finish_reply(c, reply_start);
            return;
        }
    }
    if srv.tracking.clients > 0 && NESTING.with(|n| n.get()) == 0 {
        crate::tracking::limit_used_slots(srv);
        if !srv.tracking.pending.is_empty() {
            // Before the reply, even a QUEUED one (Redis #11715).
            crate::tracking::flush_pending(srv, c);
        }
    }
    // The master's stream is applied regardless (obey_client).
    if crate::persist::rdb_server::writes_denied(srv)
        && (spec.flags & WRITE != 0 || spec.name == "ping")
        && !c.is_master
    {
        reject(srv, c, Some(idx), &CmdError::Static(error::MISCONF));
        finish_reply(c, reply_start);
        return;
    }

    // After an AOF write error, writes (and PING) are refused until a write
    // succeeds again (writeCommandsDeniedByDiskError).
    if srv.aof.state != crate::persist::aof::AofState::Off
        && (spec.flags & WRITE != 0 || spec.name == "ping")
        && !c.is_master
    {
        if let Some(e) = crate::persist::aof::write_denied(srv) {
            reject(srv, c, Some(idx), &e);
            finish_reply(c, reply_start);
            return;
        }
    }

    // Loading the dataset (serving clients meanwhile): only commands that
    // may run then (CMD_LOADING); EXEC only if everything queued may.
    // An async load (replica, swapdb) only refuses `no-async-loading`.
    if srv.loading_events && NESTING.with(|n| n.get()) == 0 {
        let denied = if srv.async_loading {
            spec.flags & NO_ASYNC_LOADING != 0
        } else {
            spec.flags & LOADING == 0
                || (spec.name == "exec" && queued_flags(srv, c).1 & LOADING == 0)
        };
        if denied {
            reject(srv, c, Some(idx), &CmdError::Static(error::LOADING));
            finish_reply(c, reply_start);
            return;
        }
    }
    if c.out.resp == 2
        && crate::pubsub::is_subscribed(c)
        && !pubsub::allowed_in_subscribed_context(&srv.commands.entries[idx].fullname)
    {
        let e = error::pubsub_context(&srv.commands.entries[idx].fullname);
        reject(srv, c, Some(idx), &e);
        finish_reply(c, reply_start);
        return;
    }
    if c.multi.is_some() && spec.flags & NO_MULTI != 0 {
        reject(
            srv,
            c,
            Some(idx),
            &CmdError::Static(error::NOT_ALLOWED_IN_MULTI),
        );
        finish_reply(c, reply_start);
        return;
    }
    // CLIENT PAUSE holds a command that passed every check (replicas are
    // never held): the event loop keeps it queued and runs it afterwards.
    if srv.pause.is_some() && NESTING.with(|n| n.get()) == 0 && !c.reexecuting && c.repl.is_none() {
        const W: u32 = WRITE | MAY_REPLICATE;
        let arg1 = if args.len() > 1 { args.get(1) } else { b"" };
        let flags = scripting::effective_flags(srv, spec.name, arg1, spec.flags);
        let w = flags & W != 0 || (spec.name == "exec" && queued_flags(srv, c).0 & W != 0);
        if srv.paused_for(w) {
            c.held_by_pause = true;
            return;
        }
    }
    if c.multi.is_some() && !multi::runs_inside_multi(&srv.commands.entries[idx].fullname) {
        if let Some(m) = c.multi.as_mut() {
            m.queue(args.to_vec());
        }
        c.out.simple("QUEUED");
        finish_reply(c, reply_start);
        return;
    }

    // Invalidations raised before the command runs (eviction) precede
    // its reply; those raised by the command itself follow it.
    if NESTING.with(|n| n.get()) == 0 {
        if !srv.tracking.pending.is_empty() {
            crate::tracking::flush_pending(srv, c);
        }
        srv.tracking.in_call = true;
    }
    let dirty_before = srv.dirty;
    let db_before = c.db;
    NESTING.with(|n| n.set(n.get() + 1));
    let result = match corrupt_value_refusal(srv, c, idx, args) {
        Some(e) => Err(e),
        None => (spec.handler)(srv, c, args),
    };
    let depth = NESTING.with(|n| {
        n.set(n.get() - 1);
        n.get()
    });
    if srv.prop.active() {
        crate::propagate::after_command(
            srv,
            db_before,
            args,
            // Only a rise counts (call()'s max(0, dirty delta)): SAVE or
            // SHUTDOWN resetting the counter does not propagate.
            srv.dirty > dirty_before,
            !propagates_effects_only(spec.name),
            depth == 0,
            matches!(spec.name, "scan" | "randomkey"),
        );
    }
    let dur_us = start.elapsed().as_micros() as u64;

    // Monitors see a command after it ran (so SELECT shows the new db, and
    // commands queued in MULTI appear when EXEC runs them), as call() does.
    if !srv.monitors.is_empty() && spec.flags & (SKIP_MONITOR | ADMIN) == 0 && !c.reexecuting {
        feed_monitors(srv, c, args);
    }
    if let Err(e) = &result {
        count_error(srv, e);
        c.out.error(e);
    }
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
    // (A writable replica's own writes: keys with a TTL are remembered.)
    if srv.dirty > dirty_before
        && (!srv.watched_keys.is_empty()
            || srv.tracking.clients > 0
            || (srv.repl.is_replica() && !c.is_master))
    {
        touch_command_keys(srv, c, spec, args);
    }
    // Read-only scripts are not tracked themselves: the read commands they
    // run record the caller's declared keys (call()).
    if spec.flags & READONLY != 0 && !matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro") {
        if c.tracking.is_some() {
            let keys: Vec<&[u8]> = command_keys(spec, args).collect();
            crate::tracking::remember_keys(srv, c, keys.into_iter());
        } else if depth > 0 {
            if let Some(run) = crate::scripting::current_run() {
                if let Some((id, keys)) = &run.track_caller {
                    if std::ptr::eq(run.client as *const Client, &*c) {
                        crate::tracking::remember_keys_for(
                            srv,
                            *id,
                            keys.iter().map(|k| k.as_slice()),
                        );
                    }
                }
            }
        }
    }
    if c.tracking.is_some() {
        // CLIENT CACHING applies to the next command only.
        if spec.name != "caching" {
            if let Some(t) = c.tracking.as_mut() {
                t.caching = false;
            }
        }
    }
    if !srv.dbs[c.db].events.is_empty() {
        srv.drain_key_events(Some(c));
    }

    if spec.flags & SKIP_SLOWLOG == 0 {
        slowlog_push(srv, c, args, dur_us);
        let ms = dur_us / 1000;
        if ms > 0 {
            let ev = if spec.flags & FAST != 0 {
                "fast-command"
            } else {
                "command"
            };
            srv.latency_add(ev, ms);
        }
    }
    // (Un)subscribe confirmations, in RESP2 as in RESP3, are pushed with
    // Redis's CLIENT_PUSHING, which CLIENT REPLY OFF/SKIP does not silence.
    let pushes = result.is_ok()
        && matches!(
            spec.name,
            "subscribe"
                | "psubscribe"
                | "ssubscribe"
                | "unsubscribe"
                | "punsubscribe"
                | "sunsubscribe"
        );
    if pushes {
        if c.reply_mode == ReplyMode::Skip {
            c.reply_mode = ReplyMode::On;
        }
        return;
    }
    finish_reply(c, reply_start);
}

/// Applies CLIENT REPLY OFF/SKIP: drops what the command wrote.
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

/// The keys a command names, from its first/last/step key positions.
pub fn command_keys<'a>(
    spec: &CommandSpec,
    args: &'a Args<'a>,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let argc = args.len() as i32;
    let first = spec.first_key;
    let last = if spec.last_key < 0 {
        argc + spec.last_key
    } else {
        spec.last_key
    };
    let step = spec.step.max(1) as usize;
    let end = if first <= 0 {
        0
    } else {
        (last.min(argc - 1) + 1).max(first) as usize
    };
    let start = first.max(0) as usize;
    (start..end).step_by(step).map(move |i| args.get(i))
}

/// A write command changed the dataset: its declared keys count as
/// modified (Redis's signalModifiedKey, done centrally) for WATCH and
/// client-side caching.
fn touch_command_keys(srv: &mut Server, c: &mut Client, spec: &CommandSpec, args: &Args) {
    let db = c.db;
    let mut written: Vec<&[u8]> = Vec::new();
    match written_key_positions(spec.name) {
        Some(WrittenKeys::At(i)) => written.push(args.get(i)),
        Some(WrittenKeys::ByHandler) => {}
        Some(WrittenKeys::StoreOption) => {
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
        None => written.extend(command_keys(spec, args)),
    }
    let replica_client = srv.repl.is_replica() && !c.is_master;
    for key in written {
        srv.signal_modified_key(Some(&mut *c), db, key);
        if replica_client {
            crate::replication::replica_expire::remember(srv, db, key);
        }
    }
}

/// Which keys a write command modifies, where that is narrower than its
/// declared key range (Redis signals only the destination of BITOP,
/// *STORE commands, PFMERGE, COPY; SORT/GEORADIUS name theirs in an option).
enum WrittenKeys {
    At(usize),
    StoreOption,
    /// The handler signals the keys it changed itself (MIGRATE).
    ByHandler,
}

fn written_key_positions(name: &str) -> Option<WrittenKeys> {
    Some(match name {
        // BITOP op dest src...; COPY src dest
        "bitop" | "copy" => WrittenKeys::At(2),
        "sinterstore" | "sunionstore" | "sdiffstore" | "zunionstore" | "zinterstore"
        | "zdiffstore" | "zrangestore" | "pfmerge" | "geosearchstore" => WrittenKeys::At(1),
        "sort" | "georadius" | "georadiusbymember" => WrittenKeys::StoreOption,
        "migrate" => WrittenKeys::ByHandler,
        // SMOVE src dst member: dst is signalled by SMOVE itself, only
        // when the member was really added there.
        "smove" => WrittenKeys::At(1),
        _ => return None,
    })
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
        if srv.commands.entries[i].fullname == "exec" {
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

fn slowlog_push(srv: &mut Server, c: &Client, args: &Args, dur_us: u64) {
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
        let a = if acl_cmd::redacted_arg(args, i) {
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
/// `+<secs>.<usecs> [<db> <addr>] "arg" "arg"`.
pub(crate) fn feed_monitors(srv: &mut Server, c: &Client, args: &Args) {
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
        let a = if acl_cmd::redacted_arg(args, i) {
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
