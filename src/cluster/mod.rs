//! Redis Cluster, the foundation (not wired into the server yet): hash
//! slots (`slot`), node names, flags and slot bitmaps (`ids`), the cluster
//! bus wire format (`bus`), the cluster state (`state`), nodes.conf
//! (`nodes_conf`), the messages built from the state (`outgoing`) and the
//! CLUSTER NODES / SLOTS / SHARDS / INFO replies rendered from it
//! (`render`), and the failover decisions (`failover`: votes, elections,
//! manual failover, replica migration, as effects for the bus driver). Facts come from Redis 7.0.15's cluster.h and cluster.c;
//! docs/CLUSTER.md describes the next steps.
//!
//! Layer: services. It uses the protocol layer (reply encoding, request
//! splitting), the config types, and nothing above services.

pub mod bus;
pub mod failover;
pub mod ids;
pub mod local;
pub mod nodes_conf;
pub mod outgoing;
pub mod render;
pub mod route;
pub mod slot;
pub mod state;

/// Failure reports stay valid for this many node timeouts
/// (CLUSTER_FAIL_REPORT_VALIDITY_MULT).
pub const FAIL_REPORT_VALIDITY_MULT: i64 = 2;
