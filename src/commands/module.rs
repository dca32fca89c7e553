//! MODULE LIST / LOAD / LOADEX / UNLOAD / HELP (Redis's module.c
//! `moduleCommand`). ferrokv has no module API, so no module is ever
//! loaded: LIST is empty, LOAD / LOADEX fail with Redis's reply (and log
//! why), UNLOAD finds nothing. LOAD, LOADEX and UNLOAD carry the PROTECTED
//! flag: `commands::execute` refuses them unless `enable-module-command`
//! allows it, exactly as Redis does, before authentication and ACLs.
//! Nothing is ever opened with dlopen.

use crate::client::Client;
use crate::cmdtable::fact;
use crate::cmdtable::{cmd, container, CommandSpec, PROTECTED};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::Server;
use tracing::{info, warn};

// In Redis's COMMAND INFO order.
static SUBCOMMANDS: &[CommandSpec] = &[
    cmd("unload", module_unload)
        .hidden(PROTECTED)
        .with(fact::MODULE_GATED),
    cmd("load", module_load)
        .hidden(PROTECTED)
        .with(fact::MODULE_GATED),
    cmd("loadex", module_loadex)
        .hidden(PROTECTED)
        .with(fact::MODULE_GATED),
    cmd("list", module_list),
    cmd("help", module_help),
];

pub static COMMANDS: &[CommandSpec] = &[container("module", SUBCOMMANDS)];

const HELP: &[&str] = &[
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
];

fn module_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    super::help_reply(c, "MODULE", HELP);
    Ok(())
}

fn module_list(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.out.array(0);
    Ok(())
}

/// Why loading `path` fails, logged as Redis's moduleLoad logs it (also
/// for `loadmodule` at startup, which then refuses to start).
pub fn log_load_failure(path: &str) {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o111 == 0 => warn!(
            "Module {} failed to load: It does not have execute permissions.",
            path
        ),
        Ok(_) => warn!(
            "Module {} failed to load: ferrokv does not support Redis modules",
            path
        ),
        // dlopen's wording for a missing file.
        Err(e) => warn!(
            "Module {} failed to load: {}: cannot open shared object file: {}",
            path,
            path,
            // strerror() text: "No such file or directory (os error 2)"
            // without the suffix.
            e.to_string().split(" (os error").next().unwrap_or_default()
        ),
    }
}

fn module_load(_: &mut Server, _: &mut Client, a: &Args) -> CmdResult {
    log_load_failure(&a.str_lossy(2));
    Err(CmdError::Static(error::MODULE_LOAD_FAILED))
}

/// Redis's parseLoadexArguments: CONFIG name value pairs, then optionally
/// ARGS and the module's arguments. Returns false on a syntax error.
fn loadex_args_ok(a: &Args) -> bool {
    let mut i = 3;
    while i < a.len() {
        let arg = a.get(i);
        if arg.eq_ignore_ascii_case(b"CONFIG") {
            if i + 2 >= a.len() {
                info!("CONFIG specified without name value pair");
                return false;
            }
            i += 3;
        } else if arg.eq_ignore_ascii_case(b"ARGS") {
            return true;
        } else {
            info!(
                "Syntax Error from arguments to loadex around {}.",
                String::from_utf8_lossy(arg)
            );
            return false;
        }
    }
    true
}

fn module_loadex(_: &mut Server, _: &mut Client, a: &Args) -> CmdResult {
    if loadex_args_ok(a) {
        log_load_failure(&a.str_lossy(2));
    }
    Err(CmdError::Static(error::MODULE_LOAD_FAILED))
}

fn module_unload(_: &mut Server, _: &mut Client, _: &Args) -> CmdResult {
    Err(CmdError::Static(error::MODULE_UNLOAD_NO_SUCH))
}
