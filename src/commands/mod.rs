//! The command table's contents — `table()`, the one place a command is
//! registered (the table's types are `crate::cmdtable`'s) — the hooks the
//! lower layers call up through (`hooks()`); the dispatcher that acts on
//! the table's flags and facts (checks, handler, accounting: Redis's
//! server.c `processCommand` and `call()`) is `dispatch`.
//!
//! Handlers live in one module per group, like Redis's t_string.c etc.:
//! `strings`, `keys`, `bitmap`, `hyperloglog`, `lists`, `hashes`, `sets`,
//! `zsets`, `geo`, `streams` + `stream_groups`, `multi`, `pubsub`,
//! `scripting`, `persistence`, `connection`, `server_cmds`, `client_cmd`,
//! `config_cmd`, `acl_cmd`, `info`, `memory`, `debug`, `command_cmd`,
//! `module`, `migrate`, `cluster`, `shutdown`; `typed` (the "value at key
//! must be type T" getters) and `scan` (SCAN/HSCAN/SSCAN/ZSCAN) are shared
//! by them.

pub mod acl_cmd;
pub mod bitmap;
pub mod client_cmd;
pub mod cluster;
pub mod command_cmd;
pub mod config_cmd;
pub mod connection;
pub mod debug;
pub mod dispatch;
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
pub mod scan;
pub mod scripting;
pub mod server_cmds;
pub mod sets;
pub mod shutdown;
pub mod stream_groups;
pub mod streams;
pub mod strings;
pub mod typed;
pub mod zsets;

use crate::protocol::args::Args;

pub(crate) use dispatch::feed_monitors;
pub use dispatch::{execute, queued_flags};

use crate::client::Client;
use crate::cmdtable::{CommandSpec, CommandTable};
use crate::server::Hooks;

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

/// The keys a command names, from its (first, last, step) key positions.
pub fn command_keys<'a>(
    (first, last, step): (i32, i32, i32),
    args: &'a Args<'a>,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let argc = args.len() as i32;
    let last = if last < 0 { argc + last } else { last };
    let step = step.max(1) as usize;
    let end = if first <= 0 {
        0
    } else {
        (last.min(argc - 1) + 1).max(first) as usize
    };
    let start = first.max(0) as usize;
    (start..end).step_by(step).map(move |i| args.get(i))
}

#[cfg(test)]
mod tests {
    /// Every command the generated data has is registered with a handler
    /// (building the table already refuses a spec without data), except
    /// those listed as not implemented.
    #[test]
    fn every_redis_command_has_a_handler() {
        assert_eq!(
            super::table().unregistered(),
            crate::cmdtable::NOT_IMPLEMENTED
        );
    }
}
