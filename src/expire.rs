//! Active expiry: Redis 7.0's adaptive activeExpireCycle. Each cron tick
//! samples keys with a TTL in each db, deletes the expired ones, and keeps
//! going on a db while more than `acceptable_stale`% of the sample was
//! expired — bounded by a time budget of a percentage of the tick.
//!
//! Expire times live in the keys' own dict entries (no expires table), so
//! the sample is taken by SCANning the main table from the db's cursor,
//! counting only the keys that have a TTL: as many buckets as Redis visits
//! in its expires table, times the share of keys without a TTL, at most
//! `MAX_BUCKETS_PER_LOOP` per loop. Where few keys have a TTL, a full pass
//! over the keyspace therefore takes several cron ticks.

use crate::clock;
use crate::server::Server;
use std::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CycleKind {
    Slow,
}

const KEYS_PER_LOOP: u64 = 20;
const SLOW_TIME_PERC: u64 = 25;
const ACCEPTABLE_STALE: u64 = 10;
const DBS_PER_CALL: usize = 16;
/// At most this many buckets of the main table are visited per sampling
/// loop (each entry read is a likely cache miss: ~1-2 ms).
const MAX_BUCKETS_PER_LOOP: u64 = 20_000;

/// checkAlreadyExpired: is an absolute expire time a deletion right away?
/// Not while loading (AOF replay) nor on a replica: the key keeps a TTL in
/// the past and waits for lazy expiry or the master's DEL.
pub fn already_expired(loading: bool, replica: bool, when: i64) -> bool {
    when <= clock::now_ms() && !loading && !replica
}

pub fn active_expire_cycle(srv: &mut Server, _kind: CycleKind) {
    // No key expires while clients are paused.
    if srv.pause_active() {
        return;
    }
    let effort = srv.config.active_expire_effort.saturating_sub(1) as u64;
    let keys_per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * effort;
    let slow_perc = SLOW_TIME_PERC + 2 * effort;
    let acceptable = ACCEPTABLE_STALE.saturating_sub(effort);
    let hz = srv.hz.max(1) as u64;
    let time_limit_us = (1_000_000 * slow_perc / hz / 100).max(1);
    let start = Instant::now();
    let now = clock::update();
    let ndbs = srv.dbs.len();
    let mut total_sampled = 0u64;
    let mut total_expired = 0u64;
    let mut timed_out = false;
    let mut iteration = 0u64;
    let mut keys: Vec<crate::ds::sds::Sds> = Vec::new();

    for _ in 0..ndbs.min(DBS_PER_CALL) {
        if timed_out {
            break;
        }
        let dbi = srv.expire_db_cursor % ndbs;
        srv.expire_db_cursor = srv.expire_db_cursor.wrapping_add(1);
        loop {
            let db = &mut srv.dbs[dbi];
            let num = db.expires_len() as u64;
            if num == 0 {
                db.avg_ttl = 0;
                break;
            }
            iteration += 1;
            let want = num.min(keys_per_loop);
            // Redis visits want*20 buckets of its expires table; the main
            // table has len/num keys per key with a TTL.
            let share = (db.dict.len() as u64 / num).max(1);
            let max_buckets = (want * 20).saturating_mul(share).min(MAX_BUCKETS_PER_LOOP);
            let mut sampled = 0u64;
            let mut checked_buckets = 0u64;
            let mut ttl_sum = 0i128;
            let mut ttl_samples = 0i64;
            keys.clear();
            while sampled < want && checked_buckets < max_buckets {
                let cursor = db.expires_cursor;
                let next = db.dict.scan_extra(cursor, |k, _, extra| {
                    let Some(when) = extra.map(|x| x as i64) else {
                        return;
                    };
                    sampled += 1;
                    if when <= now {
                        keys.push(crate::ds::sds::Sds::new(k));
                    } else {
                        ttl_sum += (when - now) as i128;
                        ttl_samples += 1;
                    }
                });
                checked_buckets += 1;
                db.expires_cursor = next;
                if next == 0 {
                    break;
                }
            }
            let expired = keys.len() as u64;
            for k in keys.drain(..) {
                db.delete_expired(&k);
            }
            srv.stats.expired_keys_active += expired;
            total_sampled += sampled;
            total_expired += expired;
            if ttl_samples > 0 {
                let avg = (ttl_sum / ttl_samples as i128) as i64;
                let db = &mut srv.dbs[dbi];
                db.avg_ttl = if db.avg_ttl == 0 {
                    avg
                } else {
                    (db.avg_ttl / 50) * 49 + avg / 50
                };
            }
            if iteration.is_multiple_of(16) && start.elapsed().as_micros() as u64 > time_limit_us {
                timed_out = true;
                srv.stats.expired_time_cap_reached += 1;
                break;
            }
            // Repeat on this db while the sample was mostly stale.
            if sampled == 0 || expired * 100 / sampled <= acceptable {
                break;
            }
        }
    }
    let elapsed = start.elapsed().as_micros() as u64;
    srv.stats.expire_cycle_time_used_us += elapsed;
    let current_perc = if total_sampled > 0 {
        total_expired as f64 / total_sampled as f64
    } else {
        0.0
    };
    srv.stats.expired_stale_perc = current_perc * 0.05 + srv.stats.expired_stale_perc * 0.95;
    srv.latency_add("expire-cycle", elapsed / 1000);
}
