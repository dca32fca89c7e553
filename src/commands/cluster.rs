//! The CLUSTER command and ASKING / READONLY / READWRITE (cluster.c
//! clusterCommand, askingCommand, readonlyCommand, readwriteCommand).
//! Outside cluster mode (`srv.cluster` None) every one of them replies
//! that cluster support is disabled, as Redis started with
//! `cluster-enabled no`. In cluster mode every subcommand is served; MEET
//! starts a handshake the bus driver (`cluster_bus`) carries out, FAILOVER
//! a manual failover (`cluster_failover`); LINKS lists its links. Every change is saved to nodes.conf and
//! the cluster health re-evaluated before the reply (Redis does both
//! before its next sleep).

use crate::client::Client;
use crate::cluster::ids::NodeFlags;
use crate::cluster::local::Cluster;
use crate::cluster::render::{self, ReplyOpts};
use crate::cluster::slot::{key_hash_slot, CLUSTER_SLOTS};
use crate::cluster::state::NodeIdx;
use crate::cmdtable::{cmd, container, CommandSpec};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::Server;
use crate::util::num::parse_i64;

static CLUSTER_SUBCOMMANDS: &[CommandSpec] = &[
    cmd("addslots", addslots),
    cmd("addslotsrange", addslotsrange),
    cmd("bumpepoch", bumpepoch),
    cmd("count-failure-reports", count_failure_reports),
    cmd("countkeysinslot", countkeysinslot),
    cmd("delslots", delslots),
    cmd("delslotsrange", delslotsrange),
    cmd("failover", failover),
    cmd("flushslots", flushslots),
    cmd("forget", forget),
    cmd("getkeysinslot", getkeysinslot),
    cmd("help", help),
    cmd("info", info),
    cmd("keyslot", keyslot),
    cmd("links", links),
    cmd("meet", meet),
    cmd("myid", myid),
    cmd("nodes", nodes),
    cmd("replicas", replicas),
    cmd("replicate", replicate),
    cmd("reset", reset),
    cmd("saveconfig", saveconfig),
    cmd("set-config-epoch", set_config_epoch),
    cmd("setslot", setslot),
    cmd("shards", shards),
    cmd("slaves", replicas),
    cmd("slots", slots),
];

pub static COMMANDS: &[CommandSpec] = &[
    container("cluster", CLUSTER_SUBCOMMANDS),
    cmd("asking", asking),
    cmd("readonly", readonly),
    cmd("readwrite", readwrite),
];

/// This node's cluster, or the "cluster support disabled" error.
fn cluster(srv: &mut Server) -> Result<&mut Cluster, CmdError> {
    srv.cluster
        .as_deref_mut()
        .ok_or(CmdError::Static(error::CLUSTER_DISABLED))
}

/// After a change: save nodes.conf and update the health
/// (clusterDoBeforeSleep(SAVE_CONFIG|UPDATE_STATE)).
fn changed(srv: &mut Server, fsync: bool) {
    let now = crate::clock::wall_ms();
    if let Some(cl) = srv.cluster.as_deref_mut() {
        cl.update_state(&srv.config, now);
        cl.save_config(fsync);
    }
}

fn reply_opts(srv: &Server, c: &Client) -> ReplyOpts {
    ReplyOpts {
        endpoint: srv.config.cluster_preferred_endpoint_type,
        tls_cluster: srv.config.tls_cluster,
        client_plaintext: c.plaintext_conn(),
        my_repl_offset: crate::cluster_bus::my_bus_offset(srv),
    }
}

/// removeChannelsInSlot for the slots myself stopped serving
/// (`channel_slots_lost`); `c`, the client running the command, may be one
/// of the subscribers.
fn remove_channels_in_slots(srv: &mut Server, c: &mut Client) {
    crate::cluster_bus::drop_lost_slot_channels(srv, Some(c));
}

/// Keys of `slot` in db 0 (countKeysInSlot).
pub fn count_keys_in_slot(srv: &Server, slot: usize) -> usize {
    srv.dbs[0].slots.as_ref().map_or(0, |s| s.count(slot))
}

/// getSlotOrReply.
fn slot_arg(b: &[u8]) -> Result<usize, CmdError> {
    match parse_i64(b) {
        Some(s) if (0..CLUSTER_SLOTS as i64).contains(&s) => Ok(s as usize),
        _ => Err(CmdError::Static(error::CLUSTER_INVALID_SLOT)),
    }
}

fn help(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    cluster(srv)?;
    super::help_reply(
        c,
        "CLUSTER",
        &[
            "ADDSLOTS <slot> [<slot> ...]",
            "    Assign slots to current node.",
            "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Assign slots which are between <start-slot> and <end-slot> to current node.",
            "BUMPEPOCH",
            "    Advance the cluster config epoch.",
            "COUNT-FAILURE-REPORTS <node-id>",
            "    Return number of failure reports for <node-id>.",
            "COUNTKEYSINSLOT <slot>",
            "    Return the number of keys in <slot>.",
            "DELSLOTS <slot> [<slot> ...]",
            "    Delete slots information from current node.",
            "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
            "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
            "FAILOVER [FORCE|TAKEOVER]",
            "    Promote current replica node to being a master.",
            "FORGET <node-id>",
            "    Remove a node from the cluster.",
            "GETKEYSINSLOT <slot> <count>",
            "    Return key names stored by current node in a slot.",
            "FLUSHSLOTS",
            "    Delete current node own slots information.",
            "INFO",
            "    Return information about the cluster.",
            "KEYSLOT <key>",
            "    Return the hash slot for <key>.",
            "MEET <ip> <port> [<bus-port>]",
            "    Connect nodes into a working cluster.",
            "MYID",
            "    Return the node id.",
            "NODES",
            "    Return cluster configuration seen by node. Output format:",
            "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
            "REPLICATE <node-id>",
            "    Configure current node as replica to <node-id>.",
            "RESET [HARD|SOFT]",
            "    Reset current node (default: soft).",
            "SET-CONFIG-EPOCH <epoch>",
            "    Set config epoch of current node.",
            "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
            "    Set slot state.",
            "REPLICAS <node-id>",
            "    Return <node-id> replicas.",
            "SAVECONFIG",
            "    Force saving cluster configuration on disk.",
            "SLOTS",
            "    Return information about slots range mappings. Each range is made of:",
            "    start, end, master and replicas IP addresses, ports and ids",
            "SHARDS",
            "    Return information about slot range mappings and the nodes associated with them.",
            "LINKS",
            "    Return information about all network links between this node and its peers.",
            "    Output format is an array where each array element is a map containing attributes of a link",
        ],
    );
    Ok(())
}

fn myid(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let cl = cluster(srv)?;
    let name = cl.state.myself_node().name;
    c.out.bulk(name.as_bytes());
    Ok(())
}

fn nodes(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let use_pport = srv.config.tls_cluster && c.plaintext_conn();
    let cl = cluster(srv)?;
    let text = render::nodes_description(&cl.state, NodeFlags::NONE, use_pport);
    c.out.verbatim(text.as_bytes(), "txt");
    Ok(())
}

fn slots(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let o = reply_opts(srv, c);
    let cl = cluster(srv)?;
    render::slots_reply(&cl.state, &mut c.out, &o);
    Ok(())
}

fn shards(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let o = reply_opts(srv, c);
    let cl = cluster(srv)?;
    render::shards_reply(&cl.state, &mut c.out, &o);
    Ok(())
}

fn info(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let cl = cluster(srv)?;
    let text = render::info(&cl.state);
    c.out.verbatim(text.as_bytes(), "txt");
    Ok(())
}

fn keyslot(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    cluster(srv)?;
    c.out.int(key_hash_slot(args.get(2)) as i64);
    Ok(())
}

fn countkeysinslot(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    cluster(srv)?;
    let slot = parse_i64(args.get(2)).ok_or(CmdError::NotInteger)?;
    if !(0..CLUSTER_SLOTS as i64).contains(&slot) {
        return Err(CmdError::Static(error::CLUSTER_INVALID_SLOT_SHORT));
    }
    c.out.int(count_keys_in_slot(srv, slot as usize) as i64);
    Ok(())
}

fn getkeysinslot(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    cluster(srv)?;
    let slot = parse_i64(args.get(2)).ok_or(CmdError::NotInteger)?;
    let max = parse_i64(args.get(3)).ok_or(CmdError::NotInteger)?;
    if !(0..CLUSTER_SLOTS as i64).contains(&slot) || max < 0 {
        return Err(CmdError::Static(error::CLUSTER_INVALID_SLOT_OR_KEYS));
    }
    let keys = srv.dbs[0]
        .slots
        .as_ref()
        .map(|s| s.keys(slot as usize, max as usize))
        .unwrap_or_default();
    c.out.array(keys.len());
    for k in keys {
        c.out.bulk(k);
    }
    Ok(())
}

fn flushslots(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    cluster(srv)?;
    if !srv.dbs[0].dict.is_empty() {
        return Err(CmdError::Static(error::CLUSTER_FLUSHSLOTS_NOT_EMPTY));
    }
    let cl = cluster(srv)?;
    let me = cl.state.myself;
    cl.state.del_node_slots(me);
    remove_channels_in_slots(srv, c);
    changed(srv, false);
    c.out.ok();
    Ok(())
}

/// checkSlotAssignmentsOrReply for `start..=end`, marking them in `seen`.
fn check_slots(
    cl: &Cluster,
    seen: &mut [u8],
    del: bool,
    start: usize,
    end: usize,
) -> Result<(), CmdError> {
    for (s, count) in seen.iter_mut().enumerate().take(end + 1).skip(start) {
        let owner = cl.state.slot_owner(s);
        if del && owner.is_none() {
            return Err(error::cluster_slot_unassigned(s));
        } else if !del && owner.is_some() {
            return Err(error::cluster_slot_busy(s));
        }
        *count += 1;
        if *count == 2 {
            return Err(error::cluster_slot_twice(s));
        }
    }
    Ok(())
}

/// clusterUpdateSlots: the marked slots added to myself or deleted (an
/// importing state is closed either way).
fn update_slots(srv: &mut Server, c: &mut Client, seen: &[u8], del: bool) {
    if let Some(cl) = srv.cluster.as_deref_mut() {
        let me = cl.state.myself;
        for (s, &n) in seen.iter().enumerate() {
            if n != 0 {
                cl.state.importing_slots_from[s] = None;
                if del {
                    cl.state.del_slot(s);
                } else {
                    cl.state.add_slot(me, s);
                }
            }
        }
    }
    if del {
        remove_channels_in_slots(srv, c);
    }
    changed(srv, false);
}

fn add_or_del_slots(srv: &mut Server, c: &mut Client, args: &Args, del: bool) -> CmdResult {
    cluster(srv)?;
    let slots = (2..args.len())
        .map(|i| slot_arg(args.get(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = vec![0u8; CLUSTER_SLOTS];
    let cl = cluster(srv)?;
    for s in slots {
        check_slots(cl, &mut seen, del, s, s)?;
    }
    update_slots(srv, c, &seen, del);
    c.out.ok();
    Ok(())
}

fn addslots(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    add_or_del_slots(srv, c, args, false)
}

fn delslots(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    add_or_del_slots(srv, c, args, true)
}

fn add_or_del_ranges(srv: &mut Server, c: &mut Client, args: &Args, del: bool) -> CmdResult {
    cluster(srv)?;
    if args.len() % 2 == 1 {
        let name = if del {
            "cluster|delslotsrange"
        } else {
            "cluster|addslotsrange"
        };
        return Err(error::wrong_arity(name));
    }
    let mut seen = vec![0u8; CLUSTER_SLOTS];
    let cl = cluster(srv)?;
    for i in (2..args.len()).step_by(2) {
        let start = slot_arg(args.get(i))?;
        let end = slot_arg(args.get(i + 1))?;
        if start > end {
            return Err(error::cluster_slot_range_order(start, end));
        }
        check_slots(cl, &mut seen, del, start, end)?;
    }
    update_slots(srv, c, &seen, del);
    c.out.ok();
    Ok(())
}

fn addslotsrange(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    add_or_del_ranges(srv, c, args, false)
}

fn delslotsrange(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    add_or_del_ranges(srv, c, args, true)
}

/// A node named by a command argument that must be a master.
fn master_arg(
    cl: &Cluster,
    name: &[u8],
    unknown: fn(&[u8]) -> CmdError,
) -> Result<NodeIdx, CmdError> {
    let n = cl.state.lookup_str(name).ok_or_else(|| unknown(name))?;
    if cl.state.node(n).is_replica() {
        return Err(CmdError::Static(error::CLUSTER_TARGET_NOT_MASTER));
    }
    Ok(n)
}

fn setslot(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let cl = cluster(srv)?;
    if cl.state.myself_node().is_replica() {
        return Err(CmdError::Static(error::CLUSTER_SETSLOT_REPLICA));
    }
    let slot = slot_arg(args.get(2))?;
    let action = args.get(3).to_ascii_lowercase();
    // SETSLOT NODE taking my last slot: myself becomes its replica.
    let mut become_replica_of: Option<(String, u16)> = None;
    let mut broadcast_pong = false;
    let me = cl.state.myself;
    match (action.as_slice(), args.len()) {
        (b"migrating", 5) => {
            if cl.state.slot_owner(slot) != Some(me) {
                return Err(error::cluster_not_owner(slot));
            }
            let n = master_arg(cl, args.get(4), error::cluster_unknown_node_about)?;
            cl.state.migrating_slots_to[slot] = Some(n);
        }
        (b"importing", 5) => {
            if cl.state.slot_owner(slot) == Some(me) {
                return Err(error::cluster_already_owner(slot));
            }
            let n = master_arg(cl, args.get(4), error::cluster_unknown_node_about)?;
            cl.state.importing_slots_from[slot] = Some(n);
        }
        (b"stable", 4) => {
            cl.state.importing_slots_from[slot] = None;
            cl.state.migrating_slots_to[slot] = None;
        }
        (b"node", 5) => {
            let n = master_arg(cl, args.get(4), error::cluster_unknown_node)?;
            let keys = count_keys_in_slot(srv, slot);
            let Some(cl) = srv.cluster.as_deref_mut() else {
                return Err(CmdError::Static(error::CLUSTER_DISABLED));
            };
            let was_mine = cl.state.slot_owner(slot) == Some(me);
            if was_mine && n != me && keys != 0 {
                return Err(error::cluster_slot_has_keys(slot));
            }
            if keys == 0 {
                cl.state.migrating_slots_to[slot] = None;
            }
            cl.state.del_slot(slot);
            remove_channels_in_slots(srv, c);
            let Some(cl) = srv.cluster.as_deref_mut() else {
                return Err(CmdError::Static(error::CLUSTER_DISABLED));
            };
            cl.state.add_slot(n, slot);
            if was_mine
                && n != me
                && cl.state.node(me).numslots == 0
                && srv.config.cluster_allow_replica_migration
            {
                tracing::warn!(
                    "Configuration change detected. Reconfiguring myself as a replica of {}",
                    cl.state.node(n).name
                );
                let mut effects = Vec::new();
                crate::cluster::process::set_my_master(&mut cl.state, n, &mut effects);
                become_replica_of = Some((cl.state.node(n).ip.clone(), cl.state.node(n).port));
            }
            if n == me && cl.state.importing_slots_from[slot].is_some() {
                if cl.bump_epoch() {
                    tracing::warn!("configEpoch updated after importing slot {}", slot);
                }
                cl.state.importing_slots_from[slot] = None;
                // Let the other nodes know at once.
                broadcast_pong = true;
            }
        }
        _ => return Err(CmdError::Static(error::CLUSTER_SETSLOT_SYNTAX)),
    }
    if let Some((ip, port)) = become_replica_of {
        crate::replication::replica::set_master(srv, ip, port);
    }
    if broadcast_pong {
        crate::cluster_bus::broadcast_pong(srv);
    }
    changed(srv, false);
    c.out.ok();
    Ok(())
}

fn bumpepoch(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let cl = cluster(srv)?;
    let bumped = cl.bump_epoch();
    let epoch = cl.state.myself_node().config_epoch;
    if bumped {
        cl.save_config(true);
    }
    c.out.simple(&format!(
        "{} {}",
        if bumped { "BUMPED" } else { "STILL" },
        epoch
    ));
    Ok(())
}

fn saveconfig(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let cl = cluster(srv)?;
    match cl.save(true) {
        Ok(()) => c.out.ok(),
        Err(e) => {
            let s = e.to_string();
            let s = s
                .find(" (os error")
                .map_or(s.clone(), |p| s[..p].to_string());
            return Err(error::cluster_save_failed(&s));
        }
    }
    Ok(())
}

fn set_config_epoch(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let cl = cluster(srv)?;
    let epoch = parse_i64(args.get(2)).ok_or(CmdError::NotInteger)?;
    if epoch < 0 {
        return Err(error::cluster_invalid_epoch(epoch));
    }
    if cl.state.len() > 1 {
        return Err(CmdError::Static(error::CLUSTER_EPOCH_OTHER_NODES));
    }
    let me = cl.state.myself;
    if cl.state.node(me).config_epoch != 0 {
        return Err(CmdError::Static(error::CLUSTER_EPOCH_NONZERO));
    }
    cl.state.node_mut(me).config_epoch = epoch as u64;
    tracing::warn!("configEpoch set to {} via CLUSTER SET-CONFIG-EPOCH", epoch);
    if cl.state.current_epoch < epoch as u64 {
        cl.state.current_epoch = epoch as u64;
    }
    changed(srv, false);
    c.out.ok();
    Ok(())
}

fn reset(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    cluster(srv)?;
    let hard = if args.len() == 3 {
        match args.get(2).to_ascii_lowercase().as_slice() {
            b"hard" => true,
            b"soft" => false,
            _ => return Err(CmdError::Syntax),
        }
    } else {
        false
    };
    let has_keys = !srv.dbs[c.db].dict.is_empty();
    let cl = cluster(srv)?;
    let me = cl.state.myself;
    if cl.state.node(me).is_master() && has_keys {
        return Err(CmdError::Static(error::CLUSTER_RESET_WITH_KEYS));
    }
    // clusterReset: a replica turns master, its data dropped.
    if cl.state.node(me).is_replica() {
        cl.state.set_node_as_master(me);
        crate::replication::replica::unset_master(srv);
        crate::persist::rdb_server::empty_data(srv);
    }
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return Err(CmdError::Static(error::CLUSTER_DISABLED));
    };
    for s in 0..CLUSTER_SLOTS {
        cl.state.importing_slots_from[s] = None;
        cl.state.migrating_slots_to[s] = None;
        cl.state.del_slot(s);
    }
    remove_channels_in_slots(srv, c);
    let Some(cl) = srv.cluster.as_deref_mut() else {
        return Err(CmdError::Static(error::CLUSTER_DISABLED));
    };
    for idx in cl.state.node_indexes() {
        if idx != me {
            cl.del_node(idx);
        }
    }
    if hard {
        cl.state.current_epoch = 0;
        cl.state.last_vote_epoch = 0;
        cl.state.node_mut(me).config_epoch = 0;
        tracing::warn!("configEpoch set to 0 via CLUSTER RESET HARD");
        cl.state
            .rename_node(me, crate::cluster::ids::NodeId::random());
        tracing::info!("Node hard reset, now I'm {}", cl.state.myself_node().name);
    }
    changed(srv, true);
    c.out.ok();
    Ok(())
}

fn forget(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let cl = cluster(srv)?;
    let name = args.get(2);
    let n = cl
        .state
        .lookup_str(name)
        .ok_or_else(|| error::cluster_unknown_node(name))?;
    let me = cl.state.myself;
    if n == me {
        return Err(CmdError::Static(error::CLUSTER_FORGET_MYSELF));
    }
    if cl.state.node(me).is_replica() && cl.state.node(me).replica_of == Some(n) {
        return Err(CmdError::Static(error::CLUSTER_FORGET_MASTER));
    }
    // Gossip must not add it back for a minute.
    let name = cl.state.node(n).name;
    cl.state.blacklist_add(name, crate::clock::wall_ms() / 1000);
    cl.del_node(n);
    changed(srv, false);
    c.out.ok();
    Ok(())
}

fn replicas(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let use_pport = srv.config.tls_cluster && c.plaintext_conn();
    let cl = cluster(srv)?;
    let name = args.get(2);
    let n = cl
        .state
        .lookup_str(name)
        .ok_or_else(|| error::cluster_unknown_node(name))?;
    if cl.state.node(n).is_replica() {
        return Err(CmdError::Static("ERR The specified node is not a master"));
    }
    let reps = cl.state.node(n).replicas.clone();
    c.out.array(reps.len());
    for r in reps {
        let line = render::node_description(&cl.state, r, None, use_pport);
        c.out.bulk(line.as_bytes());
    }
    Ok(())
}

fn count_failure_reports(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let timeout = srv.config.cluster_node_timeout;
    let cl = cluster(srv)?;
    let name = args.get(2);
    let n = cl
        .state
        .lookup_str(name)
        .ok_or_else(|| error::cluster_unknown_node(name))?;
    cl.state
        .cleanup_failure_reports(n, timeout, crate::clock::wall_ms());
    c.out.int(cl.state.node(n).fail_reports.len() as i64);
    Ok(())
}

fn links(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let cl = cluster(srv)?;
    crate::cluster_bus::links_reply(cl, &mut c.out);
    Ok(())
}

/// CLUSTER REPLICATE node-id: myself becomes a replica of that master
/// (clusterSetMaster: replication points at it).
fn replicate(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let has_keys = !srv.dbs[0].dict.is_empty();
    let cl = cluster(srv)?;
    let name = args.get(2);
    let n = cl
        .state
        .lookup_str(name)
        .ok_or_else(|| error::cluster_unknown_node(name))?;
    let me = cl.state.myself;
    if n == me {
        return Err(CmdError::Static("ERR Can't replicate myself"));
    }
    if cl.state.node(n).is_replica() {
        return Err(CmdError::Static(
            "ERR I can only replicate a master, not a replica.",
        ));
    }
    if cl.state.node(me).is_master() && (cl.state.node(me).numslots != 0 || has_keys) {
        return Err(CmdError::Static(
            "ERR To set a master the node must be empty and without assigned slots.",
        ));
    }
    let mut effects = Vec::new();
    crate::cluster::process::set_my_master(&mut cl.state, n, &mut effects);
    let reset = crate::cluster::failover::reset_manual_failover(&mut cl.election);
    let (ip, port) = (cl.state.node(n).ip.clone(), cl.state.node(n).port);
    crate::replication::replica::set_master(srv, ip, port);
    crate::cluster_failover::apply(srv, reset);
    changed(srv, false);
    c.out.ok();
    Ok(())
}

/// CLUSTER FAILOVER [FORCE|TAKEOVER]: a manual failover of this replica
/// (`cluster_failover`).
fn failover(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    use crate::cluster::failover::ManualMode;
    cluster(srv)?;
    let mode = match args.len() {
        2 => ManualMode::Default,
        3 if args.get(2).eq_ignore_ascii_case(b"force") => ManualMode::Force,
        3 if args.get(2).eq_ignore_ascii_case(b"takeover") => ManualMode::Takeover,
        _ => return Err(CmdError::Syntax),
    };
    crate::cluster_failover::manual_failover(srv, mode)
        .map_err(|e| CmdError::Formatted(format!("ERR {e}")))?;
    c.out.ok();
    Ok(())
}

/// CLUSTER MEET ip port [cport]: a handshake with that address (the cron
/// connects and sends MEET).
fn meet(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let cl = cluster(srv)?;
    if args.len() != 4 && args.len() != 5 {
        return Err(error::subcommand_syntax(args.get(1), "CLUSTER"));
    }
    let port = parse_i64(args.get(3)).ok_or_else(|| {
        CmdError::Formatted(format!(
            "ERR Invalid TCP base port specified: {}",
            String::from_utf8_lossy(args.get(3))
        ))
    })?;
    let cport = if args.len() == 5 {
        parse_i64(args.get(4)).ok_or_else(|| {
            CmdError::Formatted(format!(
                "ERR Invalid TCP bus port specified: {}",
                String::from_utf8_lossy(args.get(4))
            ))
        })?
    } else {
        port + crate::cluster::nodes_conf::PORT_INCR as i64
    };
    let ip = String::from_utf8_lossy(args.get(2)).into_owned();
    let now = crate::clock::wall_ms();
    match crate::cluster::process::start_handshake(&mut cl.state, &ip, port, cport, now) {
        Err(crate::cluster::process::HandshakeError::Invalid) => Err(CmdError::Formatted(format!(
            "ERR Invalid node address specified: {}:{}",
            ip,
            String::from_utf8_lossy(args.get(3))
        ))),
        _ => {
            c.out.ok();
            Ok(())
        }
    }
}

fn asking(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    cluster(srv)?;
    c.cluster_asking = true;
    c.out.ok();
    Ok(())
}

fn readonly(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    cluster(srv)?;
    c.cluster_readonly = true;
    c.out.ok();
    Ok(())
}

fn readwrite(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    cluster(srv)?;
    c.cluster_readonly = false;
    c.out.ok();
    Ok(())
}
