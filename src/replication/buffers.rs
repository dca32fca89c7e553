//! How much memory replication's buffers hold, as Redis 7.0 reports it in
//! INFO memory (object.c getMemoryOverheadData). Redis 7.0 keeps one
//! replication buffer that the backlog and every replica share; ferrokv
//! keeps a circular backlog and a copy in each replica's output, so the
//! shared buffer's size is estimated as what the furthest-behind reader
//! still needs: the larger of the backlog's history and the largest
//! replica output not yet sent.

use crate::server::Server;

/// mem_total_replication_buffers (server.repl_buffer_mem).
pub fn total(srv: &Server) -> usize {
    let backlog = srv.repl.backlog.as_ref().map_or(0, |b| b.mem());
    let replicas = srv
        .repl
        .replicas
        .iter()
        .filter_map(|&t| srv.clients.get(t).and_then(|s| s.as_deref()))
        .filter(|c| super::is_replica_client(c))
        .map(|c| c.pending_output())
        .max()
        .unwrap_or(0);
    backlog.max(replicas)
}

/// (mem_replication_backlog, mem_clients_slaves): the part beyond
/// repl-backlog-size counts as the replicas' when there are replicas.
pub fn split(srv: &Server) -> (usize, usize) {
    let total = total(srv);
    let size = srv.repl.backlog.as_ref().map_or(0, |b| b.size());
    if !srv.repl.replicas.is_empty() && total > size {
        (size, total - size)
    } else {
        (total, 0)
    }
}
