//! Redis Cluster: hash slots (`slot`), node names, flags and slot bitmaps
//! (`ids`), the cluster bus wire format (`bus`), the cluster state
//! (`state`), nodes.conf (`nodes_conf`), the messages built from the state
//! (`outgoing`), the protocol run on received messages and by the cron
//! (`process`), the failover decisions (`failover`: votes, elections,
//! manual failover, replica migration, as effects; not driven by the bus
//! yet), bus links (`link`), this node's cluster (`local`), command
//! routing (`route`) and the CLUSTER NODES / SLOTS / SHARDS / INFO replies
//! rendered from the state (`render`). The IO (listener, connects, reads,
//! writes, the cron) is the driver's, `crate::cluster_bus`, a layer up.
//! Facts come from Redis 7.0.15's cluster.h and cluster.c; docs/CLUSTER.md
//! describes the next steps.
//!
//! Layer: services. It uses the protocol layer (reply encoding, request
//! splitting), the config types, and nothing above services.

pub mod bus;
pub mod failover;
pub mod ids;
pub mod link;
pub mod local;
pub mod nodes_conf;
pub mod outgoing;
pub mod process;
pub mod render;
pub mod route;
pub mod slot;
pub mod state;

/// Failure reports stay valid for this many node timeouts
/// (CLUSTER_FAIL_REPORT_VALIDITY_MULT).
pub const FAIL_REPORT_VALIDITY_MULT: i64 = 2;
