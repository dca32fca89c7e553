//! ferrokv: a Redis 7.0-compatible in-memory key-value server.
//!
//! See docs/ARCHITECTURE.md for the module map and a command's path from
//! socket to reply.

// Every unsafe operation sits in its own `unsafe {}` block, with a
// `// SAFETY:` comment saying why it holds (clippy checks the comments).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]
// `Result<_, ()>`: the failure was logged where it happened (as Redis's
// C_ERR returns); callers only need to know it failed.
#![allow(clippy::result_unit_err)]
// Tuple-heavy table and test-case types read better spelled out.
#![allow(clippy::type_complexity)]

pub mod acl;
pub mod acl_check;
pub mod alloc;
pub mod blocking;
pub mod client;
pub mod client_info;
pub mod client_mem;
pub mod clock;
pub mod cluster;
pub mod cluster_bus;
pub mod cluster_failover;
pub mod cmdtable;
pub mod commands;
pub mod config;
pub mod crash;
pub mod db;
pub mod db_slots;
pub mod db_snap;
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
pub mod multi;
pub mod notify;
pub mod object;
pub mod oom;
pub mod persist;
pub mod poller;
pub mod proctitle;
pub mod propagate;
pub mod protocol;
pub mod pubsub;
pub mod replication;
pub mod scripting;
pub mod server;
pub mod supervise;
pub mod tls;
pub mod tracking;
pub mod types;
pub mod util;
