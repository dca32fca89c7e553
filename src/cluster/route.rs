//! Which node serves a command (cluster.c getNodeByQuery) and the
//! redirection errors (clusterRedirectClient): the keys of the command (or
//! of every command queued for EXEC) must hash to one slot; that slot's
//! owner serves them, unless the slot is migrating (missing keys: ASK the
//! target, or TRYAGAIN when only some are missing), importing (served
//! after ASKING), unassigned or the cluster down.
//!
//! Keys are found as Redis 7.0's getKeysFromCommand finds them: the
//! command's getkeys function, else its legacy (first, last, step) range,
//! which includes the channel of the sharded pub/sub commands. The caller
//! gives the command's effective flags (a script's declared flags for
//! EVAL) and whether it writes (a transaction's queued writes for EXEC).

use super::slot::key_hash_slot;
use super::state::NodeIdx;
use crate::client::Client;
use crate::cmdtable::{fact, meta::keys, Entry, ASKING, MOVABLE_KEYS, PUBSUB};
use crate::error::{self, CmdError};
use crate::server::Server;

/// Why this node does not serve a command (CLUSTER_REDIR_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redir {
    CrossSlot,
    Unstable,
    DownState,
    DownRoState,
    DownUnbound,
    Moved(NodeIdx, usize),
    Ask(NodeIdx, usize),
}

/// One command of the query: its entry and its arguments.
pub struct QueryCmd<'a> {
    pub entry: &'a Entry,
    pub argv: Vec<&'a [u8]>,
}

/// Does the dispatcher route this command at all (processCommand: keys
/// by spec or movable, or EXEC)?
pub fn routed(e: &Entry, runs_queued: bool) -> bool {
    runs_queued || e.flags & MOVABLE_KEYS != 0 || !e.meta.key_specs.is_empty()
}

/// Is it SSUBSCRIBE / SUNSUBSCRIBE / SPUBLISH (pub/sub with key specs:
/// the shard channel)?
pub fn is_pubsubshard(e: &Entry) -> bool {
    e.flags & PUBSUB != 0 && !e.meta.key_specs.is_empty()
}

/// getKeysFromCommand: the positions of the keys in `argv`.
pub fn key_positions(e: &Entry, argv: &[&[u8]]) -> Vec<usize> {
    if let Some(g) = e.spec.getkeys {
        return keys::using_function(g, argv)
            .into_iter()
            .map(|k| k.pos)
            .collect();
    }
    let (first, last, step) = e.meta.keys;
    if first <= 0 {
        return Vec::new();
    }
    let argc = argv.len() as i32;
    let last = if last < 0 { argc + last } else { last };
    let mut out = Vec::new();
    let mut j = first;
    while j <= last {
        if j >= argc {
            return Vec::new();
        }
        out.push(j as usize);
        j += step.max(1);
    }
    out
}

/// getNodeByQuery for the commands `cmds` run by `c` (several for EXEC).
/// Ok(slot of its keys, if any) when this node serves it.
pub fn node_by_query(
    srv: &Server,
    c: &Client,
    cmds: &[QueryCmd],
    cmd_flags: u32,
    is_write: bool,
    pubsubshard: bool,
) -> Result<Option<usize>, Redir> {
    let Some(cl) = srv.cluster.as_deref() else {
        return Ok(None);
    };
    let st = &cl.state;
    let me = st.myself;
    let mut first: Option<&[u8]> = None;
    let mut slot = 0usize;
    let mut owner = None;
    let (mut migrating, mut importing, mut multiple) = (false, false, false);
    let (mut missing, mut existing) = (0, 0);
    for q in cmds {
        for pos in key_positions(q.entry, &q.argv) {
            let key = q.argv[pos];
            let this = key_hash_slot(key) as usize;
            match first {
                None => {
                    first = Some(key);
                    slot = this;
                    let Some(n) = st.slot_owner(slot) else {
                        return Err(Redir::DownUnbound);
                    };
                    owner = Some(n);
                    if n == me && st.migrating_slots_to[slot].is_some() {
                        migrating = true;
                    } else if st.importing_slots_from[slot].is_some() {
                        importing = true;
                    }
                }
                Some(f) if f != key => {
                    if this != slot {
                        return Err(Redir::CrossSlot);
                    }
                    multiple = true;
                }
                Some(_) => {}
            }
            if (migrating || importing) && !pubsubshard {
                let present =
                    srv.dbs[0].dict.contains_key(key) && !crate::multi::key_is_expired(srv, 0, key);
                if present {
                    existing += 1;
                } else {
                    missing += 1;
                }
            }
        }
    }
    let Some(n) = owner else {
        return Ok(None);
    };
    if st.state != super::state::Health::Ok {
        if pubsubshard {
            if !srv.config.cluster_allow_pubsubshard_when_down {
                return Err(Redir::DownState);
            }
        } else if !srv.config.cluster_allow_reads_when_down {
            return Err(Redir::DownState);
        } else if cmd_flags & crate::cmdtable::WRITE != 0 {
            return Err(Redir::DownRoState);
        }
    }
    // MIGRATE works locally on an open slot.
    let migrates = cmds.len() == 1 && cmds[0].entry.spec.facts & fact::MIGRATES != 0;
    if (migrating || importing) && migrates {
        return Ok(Some(slot));
    }
    if migrating && missing > 0 {
        if existing > 0 {
            return Err(Redir::Unstable);
        }
        let to = st.migrating_slots_to[slot].unwrap_or(me);
        return Err(Redir::Ask(to, slot));
    }
    if importing && (c.cluster_asking_now || cmd_flags & ASKING != 0) {
        if multiple && missing > 0 {
            return Err(Redir::Unstable);
        }
        return Ok(Some(slot));
    }
    let myself = st.node(me);
    if (c.cluster_readonly || pubsubshard)
        && !is_write
        && myself.is_replica()
        && myself.replica_of == Some(n)
    {
        return Ok(Some(slot));
    }
    if n != me {
        return Err(Redir::Moved(n, slot));
    }
    Ok(Some(slot))
}

/// clusterRedirectBlockedClientIfNeeded for every client blocked on keys
/// (run from the clients cron): the cluster down, or the slot of its
/// first key no longer served here nor imported, unblocks it with the
/// redirection. Returns the clients to flush.
pub fn redirect_blocked_clients(srv: &mut Server) -> Vec<usize> {
    use crate::blocking::BlockKind;
    let mut done = Vec::new();
    if srv.blocked_clients == 0 {
        return done;
    }
    for t in 0..srv.clients.len() {
        let redir = {
            let (Some(cl), Some(Some(c))) = (srv.cluster.as_deref(), srv.clients.get(t)) else {
                continue;
            };
            let Some(b) = c.blocked.as_ref() else {
                continue;
            };
            if !matches!(b.kind, BlockKind::Key(_) | BlockKind::StreamGroup) {
                continue;
            }
            let st = &cl.state;
            if st.state == super::state::Health::Fail {
                Some(Redir::DownState)
            } else if let Some(key) = b.keys.first() {
                let slot = key_hash_slot(key) as usize;
                let mut node = st.slot_owner(slot);
                let me = st.myself_node();
                let write = c
                    .last_cmd
                    .is_some_and(|i| srv.commands.entries[i].flags & crate::cmdtable::WRITE != 0);
                if c.cluster_readonly && !write && me.is_replica() && me.replica_of == node {
                    node = Some(st.myself);
                }
                if node != Some(st.myself) && st.importing_slots_from[slot].is_none() {
                    Some(match node {
                        None => Redir::DownUnbound,
                        Some(n) => Redir::Moved(n, slot),
                    })
                } else {
                    None
                }
            } else {
                None
            }
        };
        let Some(r) = redir else {
            continue;
        };
        let Some(mut c) = srv.clients.get_mut(t).and_then(|s| s.take()) else {
            continue;
        };
        let e = redirect_error(srv, r, c.plaintext_conn());
        if crate::blocking::unblock(srv, &mut c).is_some() {
            crate::server::count_error(srv, &e);
            c.out.error(&e);
            done.push(t);
        }
        srv.clients[t] = Some(c);
    }
    done
}

/// clusterRedirectClient's error for `r`, to a client on a plaintext
/// connection or not (a TLS cluster gives plaintext clients the nodes'
/// plaintext ports).
pub fn redirect_error(srv: &Server, r: Redir, plaintext: bool) -> CmdError {
    match r {
        Redir::CrossSlot => CmdError::Static(error::CROSSSLOT),
        Redir::Unstable => CmdError::Static(error::TRYAGAIN),
        Redir::DownState => CmdError::Static(error::CLUSTERDOWN),
        Redir::DownRoState => CmdError::Static(error::CLUSTERDOWN_RO),
        Redir::DownUnbound => CmdError::Static(error::CLUSTERDOWN_UNBOUND),
        Redir::Moved(n, slot) | Redir::Ask(n, slot) => {
            let Some(cl) = srv.cluster.as_deref() else {
                return CmdError::Static(error::CLUSTER_DISABLED);
            };
            let node = cl.state.node(n);
            let endpoint =
                super::render::preferred_endpoint(node, srv.config.cluster_preferred_endpoint_type);
            let port = if srv.config.tls_cluster && plaintext && node.pport != 0 {
                node.pport
            } else {
                node.port
            };
            error::cluster_redirect(matches!(r, Redir::Ask(..)), slot, endpoint, port)
        }
    }
}
