//! Every integration test in one binary: each file under tests/ is a
//! module here (one compile and link instead of one per file, which
//! matters on a 2-core CI machine). Run one file's tests with
//! `cargo test --test integration <file>::`.

// Tuple-heavy test-case types read better spelled out.
#![allow(clippy::type_complexity)]

#[path = "support/cluster_node.rs"]
mod cluster_node;
#[path = "support/command_table_gen.rs"]
mod command_table_gen;
mod common;
#[path = "support/config_driver.rs"]
mod config_driver;
#[path = "support/inline_driver.rs"]
mod inline_driver;
#[path = "support/inproc.rs"]
mod inproc;
#[path = "support/lua_driver.rs"]
mod lua_driver;
#[path = "support/mutate.rs"]
mod mutate;
#[path = "support/parse_driver.rs"]
mod parse_driver;
#[path = "support/restore_driver.rs"]
mod restore_driver;

mod acl;
mod aof;
mod apps;
mod bitmap_hll;
mod blocking_lists;
mod client_eviction;
mod clients;
mod cluster_bus;
mod cluster_bus_live;
mod cluster_failover;
mod cluster_keyslot;
mod cluster_nodes_conf;
mod cluster_proof;
mod cluster_single;
mod cluster_slot_events;
mod cluster_tls;
mod command_table;
mod config_file_fidelity;
mod config_listen;
mod config_set_all;
mod cpu_affinity;
mod debug_command;
mod differential;
mod docker;
mod eviction;
mod expiry;
mod failover;
mod fork_child;
mod forkless_bgsave;
mod fuzz_diff_collections;
mod fuzz_diff_streams;
mod fuzz_diff_strings;
mod fuzz_diff_zsets;
mod fuzz_smoke;
mod fuzz_smoke_harness;
mod hashes;
mod hostile_clients;
mod latency_tracking;
mod layers;
mod lazyfree;
mod loading;
mod lua_sandbox;
mod memory;
mod migrate;
mod monitor;
mod notifications;
mod pause;
mod persistence_rdb;
mod protected_commands;
mod pubsub;
mod rdb_lzf;
mod replication;
mod replication_buffer;
mod replication_diskless;
mod restore_sanitize;
mod robustness;
mod scripting;
mod scripting_ldb;
mod scripting_persistence;
mod sentinel;
mod service;
mod set_hashtable;
mod sets_random;
mod shutdown;
mod startup;
mod streams_groups;
mod tls;
mod tracking;
mod transactions;
mod ttl_in_entry;
mod zset_skiplist;

/// A file under tests/ that no test binary compiles would never run.
#[test]
fn every_test_file_is_a_module() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");
    let root = include_str!("integration.rs");
    let separate = ["hostile_soak"];
    for e in std::fs::read_dir(dir).expect("tests/") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        let Some(m) = name.strip_suffix(".rs") else {
            continue;
        };
        if m == "integration" || separate.contains(&m) {
            continue;
        }
        assert!(
            root.lines().any(|l| l == format!("mod {m};")),
            "tests/{name} is in no test binary: run python3 scripts/consolidate_tests.py ."
        );
    }
}
