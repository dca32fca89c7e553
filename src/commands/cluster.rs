//! Cluster commands outside cluster mode (ferrokv has no cluster mode, as
//! a Redis started with `cluster-enabled no`): CLUSTER and its
//! subcommands, ASKING, READONLY and READWRITE all exist in the command
//! table, as in Redis, and reply that cluster support is disabled
//! (cluster.c clusterCommand, askingCommand, readonlyCommand...).

use crate::client::Client;
use crate::cmdtable::{cmd, container, CommandSpec};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::Server;

static CLUSTER_SUBCOMMANDS: &[CommandSpec] = &[
    cmd("addslots", disabled),
    cmd("addslotsrange", disabled),
    cmd("bumpepoch", disabled),
    cmd("count-failure-reports", disabled),
    cmd("countkeysinslot", disabled),
    cmd("delslots", disabled),
    cmd("delslotsrange", disabled),
    cmd("failover", disabled),
    cmd("flushslots", disabled),
    cmd("forget", disabled),
    cmd("getkeysinslot", disabled),
    cmd("help", disabled),
    cmd("info", disabled),
    cmd("keyslot", disabled),
    cmd("links", disabled),
    cmd("meet", disabled),
    cmd("myid", disabled),
    cmd("nodes", disabled),
    cmd("replicas", disabled),
    cmd("replicate", disabled),
    cmd("reset", disabled),
    cmd("saveconfig", disabled),
    cmd("set-config-epoch", disabled),
    cmd("setslot", disabled),
    cmd("shards", disabled),
    cmd("slaves", disabled),
    cmd("slots", disabled),
];

pub static COMMANDS: &[CommandSpec] = &[
    container("cluster", CLUSTER_SUBCOMMANDS),
    cmd("asking", disabled),
    cmd("readonly", disabled),
    cmd("readwrite", disabled),
];

/// Every cluster command, cluster support being disabled.
fn disabled(_: &mut Server, _: &mut Client, _: &Args) -> CmdResult {
    Err(CmdError::Static(error::CLUSTER_DISABLED))
}
