//! Active expiry: Redis 7.0's adaptive activeExpireCycle. Each cron tick
//! samples keys with a TTL in each db, deletes the expired ones, and keeps
//! going on a db while more than `acceptable_stale`% of the sample was
//! expired — bounded by a time budget of a percentage of the tick. On a
//! writable replica, the keys local clients wrote with a TTL are expired
//! here too (Redis's expireSlaveKeys); the master's keys wait for its DELs.

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
            let num = db.expires.len() as u64;
            if num == 0 {
                db.avg_ttl = 0;
                break;
            }
            iteration += 1;
            let want = num.min(keys_per_loop);
            let max_buckets = want * 20;
            let mut sampled = 0u64;
            let mut checked_buckets = 0u64;
            let mut ttl_sum = 0i128;
            let mut ttl_samples = 0i64;
            keys.clear();
            while sampled < want && checked_buckets < max_buckets {
                let cursor = db.expires_cursor;
                let next = db.expires.scan(cursor, |k, &when| {
                    sampled += 1;
                    if when <= now {
                        keys.push(k.clone());
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
            if iteration % 16 == 0 && start.elapsed().as_micros() as u64 > time_limit_us {
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

/// Remembers that a local client (not the master) gave `key` in `db` a TTL
/// on a writable replica (rememberSlaveKeyWithExpire). Keys without a TTL
/// and dbs past 63 are not tracked, as in Redis.
pub fn remember_replica_key(srv: &mut Server, db: usize, key: &[u8]) {
    if db >= 64 || !srv.dbs[db].expires.contains_key(key) {
        return;
    }
    let bit = 1u64 << db;
    if let Some(bits) = srv.replica_expire_keys.get_mut(key) {
        *bits |= bit;
    } else {
        srv.replica_expire_keys
            .insert(crate::ds::sds::Sds::from(key), bit);
    }
}

/// expireSlaveKeys: deletes the remembered keys whose TTL passed, forgets
/// those that lost it; at most about a millisecond per call.
pub fn expire_replica_keys(srv: &mut Server) {
    if srv.replica_expire_keys.is_empty() {
        return;
    }
    let start = Instant::now();
    let now = clock::update();
    let mut cursor = srv.replica_expire_cursor;
    let mut visited = 0usize;
    loop {
        let mut batch: Vec<(crate::ds::sds::Sds, u64)> = Vec::new();
        cursor = srv
            .replica_expire_keys
            .scan(cursor, |k, &bits| batch.push((k.clone(), bits)));
        for (key, bits) in batch {
            let mut keep = 0u64;
            for dbi in 0..srv.dbs.len().min(64) {
                if bits & (1 << dbi) == 0 {
                    continue;
                }
                let db = &mut srv.dbs[dbi];
                match db.expires.get(&key) {
                    Some(&when) if when <= now => {
                        db.delete_expired(&key);
                        srv.stats.expired_keys_active += 1;
                    }
                    Some(_) => keep |= 1 << dbi,
                    None => {}
                }
            }
            if keep == 0 {
                srv.replica_expire_keys.remove(&key);
            } else if let Some(b) = srv.replica_expire_keys.get_mut(&key) {
                *b = keep;
            }
            visited += 1;
        }
        if cursor == 0 || srv.replica_expire_keys.is_empty() {
            cursor = 0;
            break;
        }
        if visited % 64 == 0 && start.elapsed().as_micros() > 1000 {
            break;
        }
    }
    srv.replica_expire_cursor = cursor;
}
