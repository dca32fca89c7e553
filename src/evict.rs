//! maxmemory eviction — Redis's evict.c: the eviction pool that approximates
//! LRU / LFU / TTL order by sampling `maxmemory-samples` keys per db, and
//! `perform_evictions`, run before each command while used memory is over
//! `maxmemory`, and between commands (`Server::eviction_scheduled`, Redis's
//! evictionTimeProc) when CONFIG SET lowered the limit or a run ran out of
//! time.
//!
//! Evicted keys are deleted, announced with the `evicted` keyspace event,
//! count in `evicted_keys`, invalidate WATCH / tracking, and propagate to
//! the AOF and replicas as DEL (UNLINK with `lazyfree-lazy-eviction`).

use crate::clock;
use crate::config::Config;
use crate::server::Server;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// How keys are chosen for eviction: the maxmemory-policy value.
pub use crate::config::MaxmemoryPolicy as Policy;

impl Policy {
    fn volatile(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    fn random(self) -> bool {
        matches!(self, Policy::VolatileRandom | Policy::AllKeysRandom)
    }
}

/// maxmemory, and the memory it does not count as of the last check, for
/// the keyspace's table-growth guard (`expand_allowed`). Global: the guard
/// is a plain function pointer the `ds::dict` layer calls while a table
/// grows, with no server to read them from.
static MAXMEMORY: AtomicU64 = AtomicU64::new(0);
static NOT_COUNTED: AtomicUsize = AtomicUsize::new(0);
/// HASHTABLE_MAX_LOAD_FACTOR: past it a table grows regardless.
const MAX_LOAD_FACTOR: f64 = 1.618;

/// Eviction pool size (EVPOOL_SIZE).
const POOL_SIZE: usize = 16;

/// Copies the eviction settings from the config (startup, CONFIG SET).
pub fn apply_config(cfg: &Config) {
    MAXMEMORY.store(cfg.maxmemory, Ordering::Relaxed);
    crate::ds::dict::set_expand_guard(expand_allowed);
}

/// What `perform_evictions` achieved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Under the limit (or nothing to do).
    Ok,
    /// Still over the limit, but the time budget ran out: keep serving.
    Running,
    /// Over the limit and nothing (more) can be evicted.
    Fail,
}

/// One eviction-pool candidate: higher `score` evicts first.
/// One entry of the eviction pool (EvictionPoolLRU), kept in the server
/// across evictions as Redis keeps its pool: a run split over several
/// calls (the time budget) still evicts the best candidates seen so far.
pub struct Candidate {
    score: u64,
    db: usize,
    key: Vec<u8>,
}

/// Memory the limit is checked against: used memory minus what Redis does
/// not count (replica output buffers and the AOF buffer, accounted by
/// their owners in `Server::mem_not_counted_for_evict`).
/// Used memory less what eviction does not count (replica and AOF
/// buffers): zmalloc_used_memory() - freeMemoryGetNotCountedMemory().
pub fn used_for_eviction(srv: &Server) -> usize {
    crate::alloc::used_memory().saturating_sub(srv.mem_not_counted_for_evict())
}

fn memory_over_limit(srv: &Server) -> Option<usize> {
    let max = srv.config.maxmemory as usize;
    if max == 0 {
        return None;
    }
    // Kept for the table-growth guard (a few replicas to add up).
    let not_counted = srv.mem_not_counted_for_evict();
    NOT_COUNTED.store(not_counted, Ordering::Relaxed);
    let used = crate::alloc::used_memory();
    if used <= max {
        return None;
    }
    let counted = used.saturating_sub(not_counted);
    (counted > max).then(|| counted - max)
}

/// dictExpandAllowed for the keyspace: a table below the maximum load
/// factor does not grow when its new table would put used memory over
/// maxmemory (overMaxmemoryAfterAlloc), so a rehash does not evict keys.
pub fn expand_allowed(more_mem: usize, ratio: f64) -> bool {
    if ratio > MAX_LOAD_FACTOR {
        return true;
    }
    let max = MAXMEMORY.load(Ordering::Relaxed) as usize;
    if max == 0 {
        return true;
    }
    let used = crate::alloc::used_memory();
    if used + more_mem <= max {
        return true;
    }
    let used = used.saturating_sub(NOT_COUNTED.load(Ordering::Relaxed));
    used + more_mem <= max
}

/// evictionTimeLimitUs: the time one call may spend evicting.
fn time_limit_us(tenacity: u32) -> Option<u64> {
    match tenacity {
        0..=10 => Some(50 * tenacity as u64),
        11..=99 => Some((500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64),
        _ => None,
    }
}

/// Evicts keys until memory is under `maxmemory` (Redis's
/// performEvictions).
pub fn perform_evictions(srv: &mut Server) -> Outcome {
    let Some(to_free) = memory_over_limit(srv) else {
        return Outcome::Ok;
    };
    // isSafeToPerformEvictions: not while loading or clients are paused,
    // and a replica leaves
    // eviction to its master (replica-ignore-maxmemory, the default).
    if srv.loading
        || srv.pause_active()
        || (srv.repl.is_replica() && srv.config.replica_ignore_maxmemory)
    {
        return Outcome::Ok;
    }
    let policy = srv.config.maxmemory_policy;
    if policy == Policy::NoEviction {
        return Outcome::Fail;
    }
    let samples = srv.config.maxmemory_samples.max(1);
    let tenacity = srv.config.maxmemory_eviction_tenacity;
    let limit = time_limit_us(tenacity);
    let lazy = srv.config.lazyfree_lazy_eviction;
    let start = Instant::now();
    let mut pool = std::mem::take(&mut srv.evict_pool);
    let outcome = evict_loop(srv, &mut pool, policy, samples, lazy, to_free, limit, start);
    srv.evict_pool = pool;
    outcome
}

#[allow(clippy::too_many_arguments)]
fn evict_loop(
    srv: &mut Server,
    pool: &mut Vec<Candidate>,
    policy: Policy,
    samples: usize,
    lazy: bool,
    mut to_free: usize,
    limit: Option<u64>,
    start: Instant,
) -> Outcome {
    let mut freed_keys = 0u64;
    loop {
        let Some((db, key)) = pick_victim(srv, policy, samples, pool) else {
            return Outcome::Fail;
        };
        let before = crate::alloc::used_memory();
        let removed = srv.dbs[db].remove(&key);
        drop(removed);
        let after = crate::alloc::used_memory();
        srv.stats.evicted_keys += 1;
        srv.signal_modified_key(None, db, &key);
        crate::notify::notify(srv, None, crate::notify::EVICTED, "evicted", &key, db);
        let del = crate::propagate::del_command(lazy);
        crate::propagate::propagate_now(srv, db, &[del, &key], crate::propagate::TO_ALL);
        freed_keys += 1;
        let delta = before.saturating_sub(after);
        if delta >= to_free {
            break;
        }
        to_free -= delta;
        // Re-check every 16 keys (memory may have been freed elsewhere),
        // and respect the time budget. The amount to free never grows:
        // what the evictions themselves add (invalidation messages in
        // client buffers) must not feed further eviction (Redis computes
        // it once).
        if freed_keys.is_multiple_of(16) {
            match memory_over_limit(srv) {
                None => break,
                Some(left) => to_free = to_free.min(left),
            }
            if let Some(us) = limit {
                if start.elapsed().as_micros() as u64 > us {
                    // Goes on between commands (startEvictionTimeProc).
                    srv.eviction_scheduled = true;
                    return Outcome::Running;
                }
            }
        }
    }
    let ms = start.elapsed().as_millis() as u64;
    srv.latency_add("eviction-cycle", ms);
    Outcome::Ok
}

/// Chooses the next key to evict, or None when no db has candidates.
fn pick_victim(
    srv: &mut Server,
    policy: Policy,
    samples: usize,
    pool: &mut Vec<Candidate>,
) -> Option<(usize, Vec<u8>)> {
    if policy.random() {
        // Round robin over the dbs, one random key each time.
        let n = srv.dbs.len();
        for i in 0..n {
            let dbi = (srv.evict_next_db + i) % n;
            let db = &srv.dbs[dbi];
            let key = if policy.volatile() {
                random_volatile_key(db, &mut srv.rng)
            } else {
                db.dict.random_entry(&mut srv.rng).map(|(k, _)| k.to_vec())
            };
            if let Some(k) = key {
                srv.evict_next_db = dbi + 1;
                return Some((dbi, k));
            }
        }
        return None;
    }
    let mut rounds = 0u32;
    loop {
        rounds += 1;
        if policy.volatile() && rounds > 16 && pool.is_empty() {
            // Sampling the main table keeps missing the few keys with a
            // TTL: take the first one a scan meets.
            for dbi in 0..srv.dbs.len() {
                if let Some(k) = random_volatile_key(&srv.dbs[dbi], &mut srv.rng) {
                    return Some((dbi, k));
                }
            }
            return None;
        }
        let mut sampled_any = false;
        for dbi in 0..srv.dbs.len() {
            let db = &srv.dbs[dbi];
            let total = if policy.volatile() {
                db.expires_len()
            } else {
                db.dict.len()
            };
            if total == 0 {
                continue;
            }
            sampled_any = true;
            populate_pool(srv, dbi, policy, samples, pool);
        }
        if !sampled_any {
            return None;
        }
        // Best candidate last; skip ghosts (keys deleted meanwhile).
        while let Some(c) = pool.pop() {
            let db = &srv.dbs[c.db];
            let exists = if policy.volatile() {
                db.dict.get_extra(&c.key).is_some()
            } else {
                db.dict.contains_key(&c.key)
            };
            if exists {
                return Some((c.db, c.key));
            }
        }
    }
}

/// A random key with a TTL (volatile-random): random keys of the main table
/// until one has a TTL, then, if 100 picks found none (few keys have one),
/// the first one a SCAN from a random cursor meets. None if no key has one.
fn random_volatile_key<R: rand::Rng + ?Sized>(db: &crate::db::Db, rng: &mut R) -> Option<Vec<u8>> {
    if db.expires_len() == 0 {
        return None;
    }
    for _ in 0..100 {
        let (k, _) = db.dict.random_entry(rng)?;
        if db.dict.get_extra(k).is_some() {
            return Some(k.to_vec());
        }
    }
    let start: u64 = rng.gen();
    let mut cursor = start;
    let mut found = None;
    loop {
        cursor = db.dict.scan_extra(cursor, |k, _, extra| {
            if found.is_none() && extra.is_some() {
                found = Some(k.to_vec());
            }
        });
        if found.is_some() {
            return found;
        }
        if cursor == 0 {
            break;
        }
    }
    // Wrapped: the part of the table before the random start.
    cursor = 0;
    loop {
        cursor = db.dict.scan_extra(cursor, |k, _, extra| {
            if found.is_none() && extra.is_some() {
                found = Some(k.to_vec());
            }
        });
        if found.is_some() || cursor == 0 {
            return found;
        }
    }
}

/// evictionPoolPopulate: samples keys of one db and keeps the pool sorted
/// by ascending score, at most POOL_SIZE entries.
fn populate_pool(
    srv: &mut Server,
    dbi: usize,
    policy: Policy,
    samples: usize,
    pool: &mut Vec<Candidate>,
) {
    let db = &srv.dbs[dbi];
    let mut picked: Vec<(Vec<u8>, u64)> = Vec::with_capacity(samples);
    if policy.volatile() {
        // TTLs live in the keys' entries: sample the main table, as many
        // more keys as there are keys per key with a TTL (at most 64
        // times more), and keep those with one.
        let share = (db.dict.len() / db.expires_len().max(1)).clamp(1, 64);
        let mut sample = Vec::with_capacity(samples * share);
        db.dict
            .some_entries_meta(&mut srv.rng, samples * share, &mut sample);
        for (k, _, extra, lru) in sample {
            let Some(when) = extra.map(|x| x as i64) else {
                continue;
            };
            let score = match policy {
                Policy::VolatileTtl => u64::MAX - when.max(0) as u64,
                _ => object_score(lru, policy, db.state.stamps.decay_time),
            };
            picked.push((k.to_vec(), score));
        }
    } else {
        let mut sample = Vec::with_capacity(samples);
        db.dict
            .some_entries_meta(&mut srv.rng, samples, &mut sample);
        for (k, _, _, lru) in sample {
            picked.push((
                k.to_vec(),
                object_score(lru, policy, db.state.stamps.decay_time),
            ));
        }
    }
    for (key, score) in picked {
        if pool.len() == POOL_SIZE && pool.first().is_some_and(|c| score <= c.score) {
            continue;
        }
        if pool.iter().any(|c| c.db == dbi && c.key == key) {
            continue;
        }
        let pos = pool.partition_point(|c| c.score < score);
        pool.insert(
            pos,
            Candidate {
                score,
                db: dbi,
                key,
            },
        );
        if pool.len() > POOL_SIZE {
            pool.remove(0);
        }
    }
}

/// Higher = better eviction candidate: idle ms for LRU, 255 - frequency
/// for LFU; `lru` is the key's stamp.
fn object_score(lru: u32, policy: Policy, decay_time: u32) -> u64 {
    if policy.is_lfu() {
        255 - crate::object::decr_and_return(lru, decay_time) as u64
    } else {
        clock::idle_secs(lru) * 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limits_follow_tenacity() {
        assert_eq!(time_limit_us(10), Some(500));
        assert_eq!(time_limit_us(0), Some(0));
        assert_eq!(time_limit_us(100), None);
        assert!(time_limit_us(20).unwrap_or(0) > 500);
    }
}
