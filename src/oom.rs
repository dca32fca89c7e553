//! `oom-score-adj` (Redis's setOOMScoreAdj): writes the process's
//! /proc/self/oom_score_adj from `oom-score-adj-values` for its class
//! (master, replica, background child), relative to the score it had before
//! the server first changed it, and puts that score back when the feature
//! is turned off.

use crate::config::{Config, OomScoreAdj};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use tracing::warn;

/// Index into `oom-score-adj-values`.
#[derive(Clone, Copy)]
pub enum Class {
    Master = 0,
    Replica = 1,
    BgChild = 2,
}

// Global: the process's own oom_score_adj as it was before we changed it
// (a property of the process, read once; a forked child adjusts itself).
static ADJUSTED: AtomicBool = AtomicBool::new(false);
static BASE: AtomicI32 = AtomicI32::new(0);
const PATH: &str = "/proc/self/oom_score_adj";

/// The three values of `oom-score-adj-values` (validated by config.rs).
fn values(config: &Config) -> [i32; 3] {
    config.oom_score_adj_values
}

/// Applies the configured score for `class`; Err (already logged) when
/// the proc file cannot be read or written.
pub fn apply(config: &Config, class: Class) -> Result<(), ()> {
    let mode = config.oom_score_adj;
    let val = if mode != OomScoreAdj::No {
        if !ADJUSTED.swap(true, Ordering::SeqCst) {
            match std::fs::read_to_string(PATH) {
                Ok(s) => BASE.store(s.trim().parse().unwrap_or(0), Ordering::SeqCst),
                Err(e) => {
                    ADJUSTED.store(false, Ordering::SeqCst);
                    warn!("Unable to read oom_score_adj: {}", e);
                    return Err(());
                }
            }
        }
        let mut v = values(config)[class as usize];
        if mode == OomScoreAdj::Yes || mode == OomScoreAdj::Relative {
            v += BASE.load(Ordering::SeqCst);
        }
        v.clamp(-1000, 1000)
    } else if ADJUSTED.swap(false, Ordering::SeqCst) {
        BASE.load(Ordering::SeqCst)
    } else {
        return Ok(());
    };
    std::fs::write(PATH, format!("{val}\n")).map_err(|e| {
        warn!("Unable to write oom_score_adj: {}", e);
    })
}

/// The class of this (parent) process: replica when `replicaof` is set.
pub fn class_of(config: &Config) -> Class {
    if config.replicaof.is_some() {
        Class::Replica
    } else {
        Class::Master
    }
}

/// Re-applies the score for the server's current role.
pub fn update(config: &Config) -> Result<(), ()> {
    apply(config, class_of(config))
}
