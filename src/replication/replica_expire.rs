//! Keys with a TTL written by clients on a writable replica (Redis's
//! slaveKeysWithExpire / expireSlaveKeys).
//!
//! A replica never expires the master's keys itself (the master's DELs
//! do), but keys its own clients created with a TTL have no master to
//! delete them: they are remembered here, with the dbs they were written
//! in, and deleted by the cron once their time has passed.

use crate::db::ExpireMode;
use crate::server::Server;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Keys remembered: name -> bitmap of db ids (dbs 0..63).
#[derive(Default)]
pub struct ReplicaKeys {
    keys: HashMap<Vec<u8>, u64>,
}

/// rememberSlaveKeyWithExpire: a non-master client wrote `key` in `db`
/// on a replica; remembered when it now has a TTL.
pub fn remember(srv: &mut Server, db: usize, key: &[u8]) {
    if db >= 64 || srv.dbs.get(db).and_then(|d| d.get_expire(key)).is_none() {
        return;
    }
    *srv.repl.replica_keys.keys.entry(key.to_vec()).or_insert(0) |= 1 << db;
}

/// flushSlaveKeysWithExpireList (promotion to master).
pub fn forget_all(srv: &mut Server) {
    srv.repl.replica_keys.keys.clear();
}

/// expireSlaveKeys: deletes remembered keys whose TTL passed, for at most
/// about a millisecond.
pub fn cycle(srv: &mut Server) {
    if srv.repl.replica_keys.keys.is_empty() || !srv.active_expire_enabled {
        return;
    }
    let start = Instant::now();
    let now = crate::clock::update();
    let keys = std::mem::take(&mut srv.repl.replica_keys.keys);
    let mut keep = HashMap::with_capacity(keys.len());
    srv.update_db_state(|s| s.expire_mode = ExpireMode::Delete);
    for (key, bits) in keys {
        if start.elapsed() > Duration::from_millis(1) {
            keep.insert(key, bits);
            continue;
        }
        let mut left = 0u64;
        for db in (0..64).filter(|d| bits & (1u64 << d) != 0) {
            let Some(d) = srv.dbs.get_mut(db) else {
                continue;
            };
            match d.get_expire(&key) {
                Some(when) if when <= now => {
                    d.expire_if_needed(&key);
                }
                Some(_) => left |= 1 << db,
                None => {}
            }
        }
        if left != 0 {
            keep.insert(key, left);
        }
    }
    srv.update_db_state(|s| s.expire_mode = ExpireMode::ReportOnly);
    srv.repl.replica_keys.keys = keep;
    srv.drain_key_events(None);
}
