//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP (Redis's config.c
//! `configGetCommand`, `configSetCommand`, ...).

use crate::client::Client;
use crate::cmdtable::{cmd, container, CommandSpec};
use crate::config::{Config, ProtectedAccess, SetError};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::{CmdStats, Server};

static SUBCOMMANDS: &[CommandSpec] = &[
    cmd("help", config_help),
    cmd("resetstat", config_resetstat),
    cmd("rewrite", config_rewrite),
    cmd("get", config_get),
    cmd("set", config_set).redacting(set_redacted),
];

pub static COMMANDS: &[CommandSpec] = &[container("config", SUBCOMMANDS)];

const HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

fn config_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    super::reply_status_lines(c, HELP);
    Ok(())
}

fn config_get(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut out: Vec<(String, String)> = Vec::new();
    for pat in args.iter().skip(2) {
        // Without glob characters Redis looks the name up directly and
        // answers with the name exactly as the client spelled it.
        if !pat.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
            let given = String::from_utf8_lossy(pat).into_owned();
            if let Some(v) = srv.config.display(&given) {
                if !out.iter().any(|(n, _)| *n == given) {
                    out.push((given, v));
                }
            }
            continue;
        }
        for (name, value) in srv.config.matching(pat) {
            let name = name.to_string();
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, value));
            }
        }
    }
    c.out.map(out.len());
    for (n, v) in &out {
        c.out.bulk_str(n);
        c.out.bulk_str(v);
    }
    Ok(())
}

/// Is `name` protected and protected configs not enabled for this client?
fn protected_denied(srv: &Server, c: &Client, name: &str) -> bool {
    if !Config::is_protected(name) {
        return false;
    }
    match srv.config.enable_protected_configs {
        ProtectedAccess::Yes => false,
        ProtectedAccess::Local => !c.local,
        ProtectedAccess::No => true,
    }
}

/// CONFIG SET name value ... hides the values of sensitive directives
/// (only once the pairs are complete: else it is a syntax error).
fn set_redacted(a: &Args, i: usize) -> bool {
    a.len().is_multiple_of(2)
        && i >= 3
        && i % 2 == 1
        && std::str::from_utf8(a.get(i - 1)).is_ok_and(crate::config::Config::is_sensitive)
}

fn config_set(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    // Pass 1: every name must be known, mutable and given once; the first
    // failure is reported, naming the argument as the client typed it.
    let mut pairs: Vec<(String, String)> = Vec::with_capacity((args.len() - 2) / 2);
    for i in (2..args.len()).step_by(2) {
        let typed = args.str_lossy(i);
        let lower = typed.to_ascii_lowercase();
        let Some(canon) = Config::canonical_name(&lower) else {
            return Err(error::config_set_unknown(args.get(i)));
        };
        if crate::config::DEFS
            .iter()
            .any(|d| d.name == canon && d.immutable)
        {
            return Err(error::config_immutable(&typed));
        }
        if protected_denied(srv, c, canon) {
            return Err(error::config_protected(&typed));
        }
        if pairs.iter().any(|(n, _)| *n == lower) {
            return Err(error::config_set_duplicate(&typed));
        }
        // DENY_LOADING_CONFIG: not while the dataset is loading.
        if srv.loading_events && Config::denied_while_loading(canon) {
            return Err(CmdError::Static(error::LOADING));
        }
        pairs.push((lower, args.str_lossy(i + 1)));
    }
    // Pass 2: apply to a copy, so a failure leaves everything as it was.
    let cwd = std::env::current_dir().ok();
    let mut next = srv.config.clone();
    for (name, value) in &pairs {
        if let Err(e) = next.set(name, value, false) {
            if let Some(d) = &cwd {
                let _ = std::env::set_current_dir(d);
            }
            return Err(match e {
                SetError::Unknown => error::config_set_unknown(name.as_bytes()),
                SetError::Immutable => error::config_immutable(name),
                SetError::Invalid(reason) => error::config_set_failed(name, &reason),
            });
        }
    }
    // New listening sockets before anything is applied: a failure leaves
    // the old ones and the old values (changeBindAddr / changeListenPort).
    let bind_changed = next.bind != srv.config.bind;
    if bind_changed || next.port != srv.config.port {
        // Old or new, the sockets are new ones the poller must learn.
        srv.listeners_changed = true;
        if crate::listen::replace_tcp(
            &mut srv.listeners,
            (&next.bind, next.port),
            (&srv.config.bind, srv.config.port),
            next.tcp_backlog,
        )
        .is_err()
        {
            // Named after whichever of the two came first: Redis applies
            // them in argument order.
            let first = pairs
                .iter()
                .map(|(n, _)| n.as_str())
                .find(|n| *n == "port" || (*n == "bind" && bind_changed))
                .unwrap_or("port");
            tracing::warn!(
                "Failed applying new configuration. Possibly related to new {} setting. Restoring previous settings.",
                first
            );
            return Err(if first == "bind" {
                error::config_set_failed("bind", "Failed to bind to specified addresses.")
            } else {
                error::config_set_failed(
                    "port",
                    "Unable to listen on this port. Check server logs.",
                )
            });
        }
        srv.tcp_port = next.port;
    }
    if next.tls_port != 0 || srv.config.tls_port != 0 || crate::tls::wanted(&next) {
        let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        if let Err((name, why)) = crate::tls::config_set(srv, &next, &names) {
            if bind_changed || next.port != srv.config.port {
                // The TCP sockets were replaced above: back to the old ones.
                let _ = crate::listen::replace_tcp(
                    &mut srv.listeners,
                    (&srv.config.bind, srv.config.port),
                    (&next.bind, next.port),
                    next.tcp_backlog,
                );
                srv.tcp_port = srv.config.port;
            }
            return Err(error::config_set_failed(&name, why));
        }
    }
    if pairs.iter().any(|(n, _)| n.starts_with("oom-score-adj"))
        && crate::oom::update(&next).is_err()
    {
        let _ = crate::oom::update(&srv.config);
        let name = pairs
            .iter()
            .map(|(n, _)| n.as_str())
            .find(|n| n.starts_with("oom-score-adj"))
            .unwrap_or("oom-score-adj");
        return Err(error::config_set_failed(
            name,
            "Failed to set current oom_score_adj. Check server logs.",
        ));
    }
    let old_loglevel = srv.config.loglevel;
    let old_appendonly = srv.config.appendonly;
    srv.config = next;
    srv.sync_db_config();
    if pairs.iter().any(|(n, _)| n == "proc-title-template") {
        srv.config.set_proc_title(None);
    }
    // clusterUpdateMyselfAnnouncedPorts / Ip / Hostname.
    if pairs
        .iter()
        .any(|(n, _)| n.starts_with("cluster-announce-"))
    {
        if let Some(cl) = srv.cluster.as_deref_mut() {
            cl.apply_config(&srv.config);
        }
    }
    if srv.config.appendonly != old_appendonly {
        let in_exec = srv.nesting > 1;
        if crate::persist::aof::config_changed(srv, in_exec).is_err() {
            srv.config.set("appendonly", "no", true).ok();
            return Err(error::config_set_failed(
                "appendonly",
                "Unable to turn on AOF. Check server logs.",
            ));
        }
    }
    // updateAofAutoGCEnabled: turning auto gc back on deletes the history.
    if pairs.iter().any(|(n, _)| n == "aof-disable-auto-gc") {
        crate::persist::aof::delete_history_files(srv);
    }
    // requirepass sets the default user's password (ACLUpdateDefaultUserPassword).
    if pairs.iter().any(|(n, _)| n == "requirepass") {
        srv.acl.applied_requirepass = None;
        crate::acl::sync_requirepass(srv);
    }
    if srv.config.loglevel != old_loglevel {
        crate::logging::set_verbosity(srv.config.loglevel);
    }
    for (name, _) in &pairs {
        match crate::config::Config::canonical_name(name) {
            Some("crash-log-enabled") => crate::crash::set_crash_log(srv.config.crash_log_enabled),
            Some("use-exit-on-panic") => {
                crate::crash::set_use_exit_on_panic(srv.config.use_exit_on_panic)
            }
            // resizeReplicationBacklog: at once, so a PSYNC right after
            // sees the new size.
            Some("repl-backlog-size") => crate::replication::resize_backlog(srv),
            Some("watchdog-period") => {
                crate::crash::set_watchdog_period(srv.config.watchdog_period, srv.hz);
            }
            _ => {}
        }
    }
    if !srv.config.dynamic_hz {
        srv.hz = srv.config.hz;
    }
    srv.sync_notify_mask();
    if pairs
        .iter()
        .any(|(n, _)| n == "maxmemory" || n == "maxmemory-clients")
    {
        // applyClientMaxMemoryUsage; clients over the new limit are
        // evicted before the next command or when the loop sleeps.
        crate::client_mem::apply_config(srv, Some(c));
    }
    if pairs.iter().any(|(n, _)| n == "maxmemory") && srv.config.maxmemory > 0 {
        // updateMaxmemory: a lower limit evicts right after this command
        // (startEvictionTimeProc), even with no further command.
        let used = crate::evict::used_for_eviction(srv);
        if srv.config.maxmemory < used as u64 {
            tracing::warn!("WARNING: the new maxmemory value set via CONFIG SET ({}) is smaller than the current memory usage ({}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.", srv.config.maxmemory, used);
        }
        srv.eviction_scheduled = true;
    }
    c.out.ok();
    Ok(())
}

/// CONFIG RESETSTAT: zeroes INFO stats, command stats and error stats.
pub fn reset_stats(srv: &mut Server, c: &mut Client) {
    let peak = crate::alloc::used_memory();
    srv.stats = Default::default();
    srv.stats.peak_memory = peak;
    srv.repl.sync_full = 0;
    srv.repl.sync_partial_ok = 0;
    srv.repl.sync_partial_err = 0;
    for db in &mut srv.dbs {
        db.stat_expired = 0;
        db.stat_hits = 0;
        db.stat_misses = 0;
    }
    for e in &mut srv.commands.entries {
        e.stats = CmdStats::default();
    }
    for o in srv.other_clients_mut() {
        o.total_net_in = 0;
        o.total_net_out = 0;
    }
    c.total_net_in = 0;
    c.total_net_out = 0;
    crate::lazyfree::reset_stats();
}

fn config_resetstat(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    reset_stats(srv, c);
    c.out.ok();
    Ok(())
}

/// The `user` lines CONFIG REWRITE writes: every ACL user, unless an
/// aclfile holds them (then none, and the file's user lines go).
pub fn acl_user_lines(srv: &Server) -> Vec<String> {
    if !srv.config.aclfile.is_empty() {
        return Vec::new();
    }
    srv.acl
        .by_name
        .values()
        .filter_map(|&s| srv.acl.user(s))
        .map(|u| srv.acl.describe_line(u))
        .collect()
}

fn config_rewrite(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    if srv.config.config_file.is_none() {
        return Err(CmdError::Static(error::NO_CONFIG_FILE));
    }
    match srv.config.rewrite_with_users(Some(&acl_user_lines(srv))) {
        Ok(()) => {
            tracing::info!("CONFIG REWRITE executed with success.");
            c.out.ok();
            Ok(())
        }
        Err(e) => {
            tracing::warn!("CONFIG REWRITE failed: {}", e);
            Err(error::config_rewrite_failed(&e))
        }
    }
}
