//! Lazy freeing (Redis's lazyfree.c and its BIO_LAZY_FREE thread): values
//! that take long to free (more than [`LAZYFREE_THRESHOLD`] allocations:
//! big quicklists, hashtable sets and hashes, skiplist zsets, streams with
//! many nodes) and whole databases emptied by FLUSHALL/FLUSHDB ASYNC are
//! dropped on a background thread, so UNLINK and friends return at once.
//! Smaller values are dropped in place, as Redis does. The thread only
//! runs destructors (and gives a big bucket array's pages back before
//! freeing it: `alloc::prefault::release`): a queued value is unreachable
//! from the keyspace.
//!
//! Callers choose when to free lazily (UNLINK always; DEL, expiry,
//! eviction, overwrites and flushes by the `lazyfree-lazy-*` configs).
//! INFO's `lazyfree_pending_objects` and `lazyfreed_objects` come from
//! here (CONFIG RESETSTAT clears the latter).

use crate::db::Keyspace;
use crate::object::Value;
use crate::object::ValueRef;
use crate::types::hash::HashValue;
use crate::types::set::SetValue;
use crate::types::zset::ZSetValue;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;

/// Values whose free effort is above this go to the background thread.
pub const LAZYFREE_THRESHOLD: usize = 64;

// Global atomics: shared with the lazy-free thread.
/// Objects queued and not yet freed (INFO lazyfree_pending_objects).
static PENDING: AtomicUsize = AtomicUsize::new(0);
/// Objects freed by the thread (INFO lazyfreed_objects).
static FREED: AtomicU64 = AtomicU64::new(0);

enum Job {
    Value(Value),
    Db {
        dict: Keyspace,
        keys: usize,
    },
    /// A big empty bucket array a dict dropped (not an object: not counted).
    Buckets(crate::alloc::prefault::Block),
}

static QUEUE: OnceLock<Option<Sender<Job>>> = OnceLock::new();

/// The queue to the lazy-free thread, started on first use (None if the
/// thread could not be started: values are then freed in place).
fn queue() -> Option<&'static Sender<Job>> {
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = channel::<Job>();
            std::thread::Builder::new()
                .name("bio_lazy_free".into())
                .spawn(move || {
                    crate::util::affinity::enter_background_thread();
                    for job in rx {
                        let n = match job {
                            Job::Value(v) => {
                                drop(v);
                                1
                            }
                            Job::Db { dict, keys } => {
                                drop(dict);
                                keys
                            }
                            Job::Buckets(b) => {
                                crate::alloc::prefault::release(b);
                                continue;
                            }
                        };
                        PENDING.fetch_sub(n, Ordering::AcqRel);
                        FREED.fetch_add(n as u64, Ordering::AcqRel);
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Has the dicts hand their big empty bucket arrays to the thread (the old
/// table at the end of a rehash: unmapping it took milliseconds of the
/// event loop at 10M keys).
pub fn install_dict_hook() {
    crate::ds::dict::set_big_free_hook(free_buckets);
}

fn free_buckets(b: crate::alloc::prefault::Block) {
    match queue() {
        Some(q) => {
            if let Err(e) = q.send(Job::Buckets(b)) {
                drop(e);
            }
        }
        None => drop(b),
    }
}

/// lazyfreeGetFreeEffort: about how many allocations freeing `v` takes.
pub fn free_effort(v: &Value) -> usize {
    match v.get() {
        ValueRef::List(l) => l.quicklist().node_count(),
        ValueRef::Set(s) => match s {
            SetValue::Hash(_) => s.len(),
            SetValue::Intset(_) => 1,
        },
        ValueRef::ZSet(z) => match z {
            ZSetValue::Skiplist(_) => z.len(),
            ZSetValue::Listpack(_) => 1,
        },
        ValueRef::Hash(h) => match h {
            HashValue::Table(_) => h.len(),
            HashValue::Listpack(_) => 1,
        },
        ValueRef::Stream(s) => {
            // Every node is an allocation; every group too, with its PEL
            // (the first group's PEL stands for all, as in Redis).
            let groups = s.groups.len();
            let pel = s.groups.iter().next().map_or(0, |g| g.pel.len());
            s.node_count() + groups * (1 + pel)
        }
        _ => 1,
    }
}

/// freeObjAsync: frees `v` on the lazy-free thread when that is worth it,
/// otherwise right here.
pub fn free_value(v: Value) {
    if free_effort(&v) <= LAZYFREE_THRESHOLD {
        return;
    }
    let Some(q) = queue() else { return };
    PENDING.fetch_add(1, Ordering::AcqRel);
    if let Err(e) = q.send(Job::Value(v)) {
        PENDING.fetch_sub(1, Ordering::AcqRel);
        drop(e);
    }
}

/// emptyDbAsync: frees a database's dicts (taken out of it) on the thread.
pub fn free_db(dict: Keyspace) {
    let keys = dict.len();
    let Some(q) = queue() else { return };
    PENDING.fetch_add(keys, Ordering::AcqRel);
    if let Err(e) = q.send(Job::Db { dict, keys }) {
        PENDING.fetch_sub(keys, Ordering::AcqRel);
        drop(e);
    }
}

/// INFO lazyfree_pending_objects.
pub fn pending() -> usize {
    PENDING.load(Ordering::Acquire)
}

/// INFO lazyfreed_objects.
pub fn freed() -> u64 {
    FREED.load(Ordering::Acquire)
}

/// CONFIG RESETSTAT (lazyfreeResetStats).
pub fn reset_stats() {
    FREED.store(0, Ordering::Release);
}
