//! Master–replica replication as Redis 7.0 speaks it (replication.c):
//! the master side (SYNC/PSYNC, REPLCONF, the backlog, streaming the
//! command feed to replicas) and the replica side (REPLICAOF, the
//! handshake, loading the master's RDB, applying its stream, ACKs).
//!
//! SKELETON: the replication worker replaces these bodies.

use crate::server::Server;

/// Appends one already RESP-encoded command executed in `db` to the
/// backlog and to every online replica.
pub fn feed(srv: &mut Server, db: usize, cmd: &[u8]) {
    let _ = (srv, db, cmd);
}

/// The replication snapshot child finished (called by `child::check_children`).
pub fn sync_snapshot_done(srv: &mut Server, ok: bool) {
    let _ = (srv, ok);
}
