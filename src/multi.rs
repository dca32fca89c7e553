//! The multi/watch service (Redis's multi.c without its commands): the
//! queue of commands a client builds inside MULTI (`MultiState`) and WATCH's
//! check-and-set bookkeeping (`touch_key` marks watchers dirty). The
//! commands are in `commands::multi`.

use crate::client::Client;
use crate::clock;
use crate::server::Server;

/// A transaction being queued.
#[derive(Default)]
pub struct MultiState {
    pub commands: Vec<Vec<Vec<u8>>>,
    /// A command was rejected while queuing: EXEC answers EXECABORT.
    pub aborted: bool,
    /// Memory of the queued commands: their arguments and vectors
    /// (client memory accounting, CLIENT LIST multi-mem).
    pub mem: usize,
}

impl MultiState {
    /// Queues one command.
    pub fn queue(&mut self, argv: Vec<Vec<u8>>) {
        const V: usize = std::mem::size_of::<Vec<u8>>();
        self.mem += V + argv.iter().map(|a| V + a.capacity()).sum::<usize>();
        self.commands.push(argv);
    }
}

/// One watched key of a client (whether it was already expired at WATCH
/// time is kept next to the client id in `Server::watched_keys`).
pub struct WatchedKey {
    pub db: usize,
    pub key: Vec<u8>,
}

/// signalModifiedKey for WATCH (touchWatchedKey): every client watching
/// `key` in `db` will fail its EXEC. A watcher that saw the key already
/// logically expired is not dirtied by that key's deletion (no logical
/// change), nor while the same expired value is still there.
pub fn touch_key(srv: &mut Server, db: usize, key: &[u8]) {
    if srv.watched_keys.is_empty() {
        return;
    }
    let Some(ws) = srv.watched_keys.get_mut(&(db, key.to_vec())) else {
        return;
    };
    let present = srv.dbs[db].dict.contains_key(key);
    let still_expired = present
        && srv.dbs[db]
            .get_expire(key)
            .is_some_and(|w| w <= clock::now_ms());
    for (id, expired_at_watch) in ws.iter_mut() {
        if *expired_at_watch {
            if !present {
                *expired_at_watch = false;
                continue;
            }
            if still_expired {
                continue;
            }
        }
        srv.cas_dirty.insert(*id);
    }
}

/// touchAllWatchedKeysInDb: before FLUSHDB/FLUSHALL/SWAPDB, dirty every
/// watcher of a key that exists in `db` (or in `other`, for SWAPDB: the
/// db whose contents replace `db`'s).
pub fn touch_all_in_db(srv: &mut Server, db: usize, other: Option<usize>) {
    if srv.watched_keys.is_empty() {
        return;
    }
    let now = clock::now_ms();
    let dbs = &srv.dbs;
    let expired_in = |d: usize, key: &[u8]| dbs[d].get_expire(key).is_some_and(|w| w <= now);
    let mut dirty = Vec::new();
    for ((d, key), ws) in srv.watched_keys.iter_mut() {
        if *d != db {
            continue;
        }
        let in_emptied = dbs[db].dict.contains_key(key);
        let in_other = other.is_some_and(|o| dbs[o].dict.contains_key(key));
        if !in_emptied && !in_other {
            continue;
        }
        for (id, expired_at_watch) in ws.iter_mut() {
            if *expired_at_watch {
                match other {
                    // Expired key now deleted: no logical change.
                    Some(o) if in_other => {
                        if expired_in(o, key) {
                            continue; // expired key remains expired
                        }
                    }
                    _ => {
                        *expired_at_watch = false;
                        continue;
                    }
                }
            } else if !in_emptied && other.is_some_and(|o| expired_in(o, key)) {
                // A missing key replaced with an expired one.
                *expired_at_watch = true;
                continue;
            }
            dirty.push(*id);
        }
    }
    srv.cas_dirty.extend(dirty);
}

/// Forgets all of a client's watched keys (EXEC, DISCARD, UNWATCH, close).
pub fn unwatch_all(srv: &mut Server, c: &mut Client) {
    for w in c.watched.drain(..) {
        let k = (w.db, w.key);
        if let Some(ids) = srv.watched_keys.get_mut(&k) {
            ids.retain(|&(id, _)| id != c.id);
            if ids.is_empty() {
                srv.watched_keys.remove(&k);
            }
        }
    }
    srv.cas_dirty.remove(&c.id);
}

/// discardTransaction: leaves MULTI (if in it) and forgets watched keys.
pub fn discard_transaction(srv: &mut Server, c: &mut Client) {
    c.multi = None;
    unwatch_all(srv, c);
}

/// Whether `key` in `db` is logically expired (WATCH remembers it).
pub fn key_is_expired(srv: &Server, db: usize, key: &[u8]) -> bool {
    srv.dbs[db]
        .get_expire(key)
        .is_some_and(|w| w <= clock::now_ms())
}
