//! The multi-part append-only file of Redis 7.0 (aof.c): a manifest naming
//! a base (RDB preamble or AOF) and incremental files; commands are fed
//! here by `propagate`, written before replies go out, and fsynced per
//! `appendfsync`; BGREWRITEAOF forks a child that writes a new base.
//!
//! SKELETON: the AOF worker replaces these bodies.

use crate::server::Server;

/// Appends one already RESP-encoded command executed in `db`.
pub fn feed(srv: &mut Server, db: usize, cmd: &[u8]) {
    let _ = (srv, db, cmd);
}

/// An AOF-rewrite child finished (called by `child::check_children`).
pub fn rewrite_done(srv: &mut Server, ok: bool) {
    let _ = (srv, ok);
}
