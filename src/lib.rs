//! ferrokv: a Redis 7.0-compatible in-memory key-value server.
//!
//! See docs/ARCHITECTURE.md for the module map and a command's path from
//! socket to reply.

pub mod acl;
pub mod alloc;
pub mod blocking;
pub mod client;
pub mod client_mem;
pub mod clock;
pub mod commands;
pub mod config;
pub mod crash;
pub mod db;
pub mod ds;
pub mod error;
pub mod event_loop;
pub mod evict;
pub mod expire;
pub mod healthcheck;
pub mod lazyfree;
pub mod listen;
pub mod logging;
pub mod migrate_conn;
pub mod notify;
pub mod object;
pub mod oom;
pub mod persist;
pub mod proctitle;
pub mod propagate;
pub mod protocol;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod supervise;
pub mod tls;
pub mod tracking;
pub mod types;
pub mod util;
