//! The ACL checks commands go through (Redis's ACLCheckAllPerm callers in
//! processCommand, EXEC and scriptVerifyACL) and the ACL log entries a
//! denial writes (addACLLogEntry, with the client's CLIENT LIST line). The
//! rules themselves are `crate::acl`'s; the ACL command is
//! `commands::acl_cmd`.

use crate::acl::{self, Denied, LogEntry};
use crate::client::Client;
use crate::client_info::Current;
use crate::clock;
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::Server;

/// The name of the client's user (superuser for the internal clients).
pub fn user_name(srv: &Server, c: &Client) -> Vec<u8> {
    srv.acl
        .user(c.user)
        .map_or_else(|| b"(superuser)".to_vec(), |u| u.name.clone())
}

/// The name CLIENT LIST shows as `user=`.
pub fn client_user_name(srv: &Server, c: &Client) -> String {
    String::from_utf8_lossy(&user_name(srv, c)).into_owned()
}

/// addACLLogEntry.
pub fn log_denied(
    srv: &mut Server,
    c: &Client,
    reason: Denied,
    context: &'static str,
    object: &[u8],
    username: Option<&[u8]>,
    cur: &Current,
) {
    let mut cinfo = Vec::with_capacity(256);
    crate::client_info::cat_client_info(&mut cinfo, srv, c, clock::wall_ms(), Some(cur));
    let e = LogEntry {
        count: 1,
        reason,
        context,
        object: object.to_vec(),
        username: username.map_or_else(|| user_name(srv, c), |u| u.to_vec()),
        ctime_ms: clock::wall_ms(),
        cinfo,
    };
    let max = srv.config.acllog_max_len;
    srv.acl.log_push(e, max);
}

/// log_denied for the client running `args`.
pub fn log_for_args(
    srv: &mut Server,
    c: &Client,
    reason: Denied,
    context: &'static str,
    object: &[u8],
    username: Option<&[u8]>,
    args: &Args,
) {
    let (cmd, argv_mem) = {
        let cur = crate::client_info::current_of(srv, args);
        (cur.cmd.to_string(), cur.argv_mem)
    };
    let cur = Current {
        cmd: &cmd,
        argv_mem,
    };
    log_denied(srv, c, reason, context, object, username, &cur);
}

/// The permission check processCommand runs (only called for users
/// without every permission).
pub fn check_command(srv: &mut Server, c: &Client, idx: usize, args: &Args) -> CmdResult {
    let Some((reason, object)) = acl::denial(srv, c.user, idx, args) else {
        return Ok(());
    };
    let ctx = if c.multi.is_some() {
        "multi"
    } else {
        "toplevel"
    };
    log_for_args(srv, c, reason, ctx, &object, None, args);
    Err(match reason {
        Denied::Cmd => error::noperm_command(&srv.acl.cmds[idx].fullname),
        Denied::Channel => CmdError::Static(error::NOPERM_CHANNELS),
        _ => CmdError::Static(error::NOPERM_KEYS),
    })
}

/// EXEC re-checks each queued command: the rules may have changed since.
pub fn recheck_queued(srv: &mut Server, c: &Client, args: &Args) -> CmdResult {
    let Some(idx) = srv.commands.resolve(args) else {
        return Ok(());
    };
    let Some((reason, object)) = acl::denial(srv, c.user, idx, args) else {
        return Ok(());
    };
    log_for_args(srv, c, reason, "multi", &object, None, args);
    Err(error::acl_exec_changed(match reason {
        Denied::Cmd => "no permission to execute the command or subcommand",
        Denied::Key => "no permission to touch the specified keys",
        Denied::Channel => "no permission to access one of the channels used as arguments",
        Denied::Auth => "no permission",
    }))
}

/// scriptVerifyACL: a command called from a script, for the script's user.
/// `caller` gives the client that ran the script and its command, which
/// the ACL log names rather than the script client (None: log `sc`).
pub fn check_script_call<'a>(
    srv: &mut Server,
    sc: &Client,
    idx: usize,
    args: &Args,
    caller: impl FnOnce() -> Option<(&'a Client, Current<'a>)>,
) -> Result<(), String> {
    let Some((reason, object)) = acl::denial(srv, sc.user, idx, args) else {
        return Ok(());
    };
    // The log names the client that ran the script, not the script client.
    match caller() {
        Some((caller, cur)) => log_denied(srv, caller, reason, "lua", &object, None, &cur),
        None => log_for_args(srv, sc, reason, "lua", &object, None, args),
    }
    Err(match reason {
        Denied::Cmd => error::ACL_SCRIPT_CMD,
        Denied::Channel => error::ACL_SCRIPT_CHANNEL,
        _ => error::ACL_SCRIPT_KEY,
    }
    .to_string())
}
