//! One logical database (SELECT n): the dict of keys, each key's expire
//! time kept in its own entry (the dict entry's extra: no second table),
//! with lazy expiry on access — Redis's db.c. What lazy expiry,
//! value freeing and access stamps depend on (a replica's expire mode, the
//! AOF load, CLIENT PAUSE, lazyfree and LFU settings) is the server's
//! `DbState`, of which each `Db` holds a copy.

use crate::clock;
use crate::ds::dict::Dict;
use crate::ds::sds::Sds;
use crate::error::CmdError;
use crate::object::{AccessStamps, Obj, ObjType, Value};

/// Lazy expiry as Redis 7.0's expireIfNeeded on a replica: keys are never
/// deleted by the replica itself; a logically expired key reads as
/// missing for normal clients (`ReportOnly`) and as present for commands
/// from the master (`Never`). Masters delete (`Delete`, the default).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ExpireMode {
    #[default]
    Delete,
    ReportOnly,
    Never,
}

/// The server state and settings `Db`'s own methods act on: how lazy
/// expiry behaves, how removed values are freed, how objects are stamped.
/// `Server` owns the master copy (`Server::db_state`) and copies it into
/// every db whenever it changes (`Server::update_db_state`), so a `Db`
/// needs no reference to the server and no global holds it. Dbs are
/// created only by `Server::new`; SWAPDB and a swapdb diskless load swap
/// the dbs' tables, never the `Db`s, so every db always holds the
/// current state.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct DbState {
    pub expire_mode: ExpireMode,
    /// The AOF is being loaded: keys do not expire meanwhile
    /// (keyIsExpired's `server.loading`).
    pub loading: bool,
    /// While CLIENT PAUSE lasts (until this unix ms; 0 = no pause),
    /// expired keys read as missing but are not deleted (expireIfNeeded's
    /// checkClientPauseTimeoutAndReturnIfPaused).
    pub pause_until: i64,
    /// lazyfree-lazy-expire: expired keys are freed by `lazyfree`.
    pub lazy_expire: bool,
    /// lazyfree-lazy-server-del: values overwritten by `Db::set` are freed
    /// by `lazyfree`.
    pub lazy_server_del: bool,
    /// LRU / LFU access stamps (maxmemory-policy, lfu-*).
    pub stamps: AccessStamps,
    /// A fork child (BGSAVE, BGREWRITEAOF, full sync) is running: lookups
    /// do not update access stamps (lookupKey's `!hasActiveChildProcess()`),
    /// so reads do not copy pages the child shares.
    pub child_active: bool,
}

/// Keyspace events raised from inside `Db` itself, where Redis raises them
/// from expireIfNeeded / lookupKey / dbAdd. They are queued in order and
/// published by `Server::drain_key_events` before the command's own next
/// event (so "expired" and "new" precede it, as in Redis).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyEvent {
    /// Lazily or actively expired (always logged: WATCH needs it too).
    Expired,
    /// Created (class NEW); logged only when that class is enabled.
    New,
    /// A read lookup missed (class KEY_MISS); logged only when enabled.
    Miss,
}

/// Frees a value that left the keyspace: on the lazy-free thread when
/// `lazy` (and the value is big), otherwise in place.
#[inline]
pub fn free_value(o: Obj, lazy: bool) {
    if lazy {
        crate::lazyfree::free_value(o.value);
    }
}

/// `Db::event_mask` bits: log the keys created / missed (keyspace events).
pub const LOG_NEW: u32 = 1 << 0;
pub const LOG_KEY_MISS: u32 = 1 << 1;

/// The keys of a db: each entry holds the key, its value, its LRU/LFU
/// stamp (the meta word) and, for a key with a TTL, its expire time (the
/// extra): see `ds::dict_entry`.
pub type Keyspace = Dict<Sds, Obj, true>;

pub struct Db {
    pub id: usize,
    /// The keys. A key with a TTL carries its absolute unix time in ms as
    /// its entry's extra (`Dict::get_extra`, as `u64` bits of the `i64`);
    /// `dict.extra_count()` is how many keys have one (Redis's expires
    /// dict size).
    pub dict: Keyspace,
    /// Where the active expire cycle resumes its scan of the keys.
    pub expires_cursor: u64,
    /// Running average TTL of sampled keys (INFO keyspace avg_ttl).
    pub avg_ttl: i64,
    /// Counters folded into INFO stats.
    pub stat_expired: u64,
    pub stat_hits: u64,
    pub stat_misses: u64,
    /// Keys expired, created or missed since the server last drained this
    /// log (WATCH invalidation; keyspace events).
    pub events: Vec<(KeyEvent, Sds)>,
    /// The `LOG_NEW` / `LOG_KEY_MISS` bits currently live, kept in
    /// sync with notify-keyspace-events (its `n` and `m` classes) by
    /// `Server::sync_notify_mask` so the hot paths only test a field.
    pub event_mask: u32,
    /// How many entries of `events` `propagate::queue_expired` has seen.
    pub events_propagated: usize,
    /// Clients blocked on keys of this db (kept by the blocking module).
    /// While nonzero, `ready_log` records what Redis signals from db.c:
    /// every key added (dbAdd) and every stream deleted or overwritten
    /// (dbGenericDelete / dbOverwrite, for blocked XREADGROUP).
    pub waiters: usize,
    /// Keys to signal as ready, drained by `blocking::serve_ready_keys`.
    pub ready_log: Vec<Sds>,
    /// The server's copy of `DbState` (kept by `Server::update_db_state`).
    pub state: DbState,
    /// Cluster mode, db 0: the keys by hash slot (`db_slots`); None
    /// otherwise. Kept by every path that creates or removes a key.
    pub slots: Option<Box<crate::db_slots::SlotKeys>>,
    /// A fork-less snapshot of this db's keys in progress (`db_snap`):
    /// every path that changes a key calls `snap_guard` first.
    pub snap: Option<Box<crate::db_snap::DbSnap>>,
}

impl Db {
    pub fn new(id: usize) -> Db {
        Db {
            id,
            // The keyspace does not grow its tables past maxmemory
            // (evict::expand_allowed).
            dict: Dict::new_guarded(),
            expires_cursor: 0,
            avg_ttl: 0,
            stat_expired: 0,
            stat_hits: 0,
            stat_misses: 0,
            events: Vec::new(),
            event_mask: 0,
            events_propagated: 0,
            waiters: 0,
            ready_log: Vec::new(),
            state: DbState::default(),
            slots: None,
            snap: None,
        }
    }

    /// Before `key` changes (or is created): a running fork-less snapshot
    /// writes out the key's group first if it has not yet.
    /// (Public for the RDB loader's direct inserts: DEBUG RELOAD NOFLUSH
    /// and MERGE load into a live keyspace.)
    #[inline]
    pub fn snap_guard(&mut self, key: &[u8]) {
        if let Some(s) = self.snap.as_mut() {
            s.before_write(&self.dict, key);
        }
    }

    /// Records a key Redis would signal as ready (see `waiters`).
    #[inline]
    fn log_ready(&mut self, key: &[u8]) {
        if self.waiters > 0 {
            self.ready_log.push(Sds::new(key));
        }
    }

    /// Records a stream about to leave the keyspace (deleted, expired or
    /// overwritten), which unblocks XREADGROUP clients waiting on it.
    #[inline]
    fn log_if_stream(&mut self, key: &[u8], old: &Obj) {
        if self.waiters > 0 && old.value.obj_type() == ObjType::Stream {
            self.ready_log.push(Sds::new(key));
        }
    }

    /// Logs a "new" event for a key just created (dbAdd).
    #[inline]
    fn log_new(&mut self, key: &[u8]) {
        if self.event_mask & LOG_NEW != 0 {
            self.events.push((KeyEvent::New, Sds::new(key)));
        }
    }

    /// Logs a "keymiss" event (lookupKeyRead on a missing key).
    #[inline]
    pub fn log_miss(&mut self, key: &[u8]) {
        self.stat_misses += 1;
        if self.event_mask & LOG_KEY_MISS != 0 {
            self.events.push((KeyEvent::Miss, Sds::new(key)));
        }
    }

    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// The key's expire time in ms, if it has one.
    #[inline]
    pub fn get_expire(&self, key: &[u8]) -> Option<i64> {
        self.dict.get_extra(key).map(|x| x as i64)
    }

    /// How many keys have a TTL (Redis's `dictSize(db->expires)`).
    #[inline]
    pub fn expires_len(&self) -> usize {
        self.dict.extra_count()
    }

    /// Deletes the key if its TTL has passed. Returns true if it did (or,
    /// on a replica, if the key is logically expired: see `ExpireMode`).
    #[inline]
    pub fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        self.expire_if_needed_mode(key, false)
    }

    /// `expire_if_needed`; `force` deletes an expired key even on a
    /// replica (EXPIRE_FORCE_DELETE_EXPIRED: a write lookup by one of its
    /// own clients), though never for the master's stream.
    fn expire_if_needed_mode(&mut self, key: &[u8], force: bool) -> bool {
        match self.get_expire(key) {
            Some(when) if when <= clock::now_ms() => {
                // Keys never expire while the AOF/RDB is loading
                // (keyIsExpired); checked only for keys past their time.
                if self.state.loading {
                    return false;
                }
                match self.state.expire_mode {
                    ExpireMode::Never => return false,
                    ExpireMode::ReportOnly if !force => return true,
                    _ => {}
                }
                let paused = self.state.pause_until;
                if paused != 0 && clock::wall_ms() < paused {
                    return true;
                }
                self.snap_guard(key);
                if let Some((k, old)) = self.dict.remove(key) {
                    if let Some(sk) = self.slots.as_mut() {
                        sk.remove(key);
                    }
                    self.log_if_stream(key, &old);
                    self.events.push((KeyEvent::Expired, k));
                    free_value(old, self.state.lazy_expire);
                }
                self.stat_expired += 1;
                true
            }
            _ => false,
        }
    }

    /// Looks a key up for reading (counts hits/misses, touches the LRU).
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&mut Obj> {
        let expired = self.expire_if_needed(key);
        // (The object is handed out mutable: a snapshot writes it first.)
        self.snap_guard(key);
        match if expired {
            None
        } else {
            self.dict.get_mut_meta(key)
        } {
            Some((o, mut lru)) => {
                if !self.state.child_active {
                    let stamps = self.state.stamps;
                    lru.update(|s| stamps.touch(s));
                }
                self.stat_hits += 1;
                Some(o)
            }
            None => {
                // (fields, not log_miss(): `o` above borrows self.dict.)
                self.stat_misses += 1;
                if self.event_mask & LOG_KEY_MISS != 0 {
                    self.events.push((KeyEvent::Miss, Sds::new(key)));
                }
                None
            }
        }
    }

    /// lookupKeyReadWithFlags(LOOKUP_NOTOUCH) (EXISTS, TYPE, TTL): counts
    /// hits/misses and raises "keymiss", but leaves the LRU alone.
    pub fn lookup_read_notouch(&mut self, key: &[u8]) -> Option<&mut Obj> {
        let expired = self.expire_if_needed(key);
        self.snap_guard(key);
        match if expired {
            None
        } else {
            self.dict.get_mut(key)
        } {
            Some(o) => {
                self.stat_hits += 1;
                Some(o)
            }
            None => {
                self.stat_misses += 1;
                if self.event_mask & LOG_KEY_MISS != 0 {
                    self.events.push((KeyEvent::Miss, Sds::new(key)));
                }
                None
            }
        }
    }

    /// Looks a key up for writing (no hit/miss accounting).
    #[inline]
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Obj> {
        let expired = self.expire_if_needed_mode(key, true);
        self.snap_guard(key);
        match if expired {
            None
        } else {
            self.dict.get_mut_meta(key)
        } {
            Some((o, mut lru)) => {
                if !self.state.child_active {
                    let stamps = self.state.stamps;
                    lru.update(|s| stamps.touch(s));
                }
                Some(o)
            }
            None => None,
        }
    }

    /// Looks a key up without side effects other than lazy expiry
    /// (EXISTS-style checks, TYPE, OBJECT).
    pub fn lookup_notouch(&mut self, key: &[u8]) -> Option<&mut Obj> {
        if self.expire_if_needed(key) {
            return None;
        }
        self.snap_guard(key);
        self.dict.get_mut(key)
    }

    /// Reads a string value; Err(WrongType) for other types.
    pub fn read_string(&mut self, key: &[u8]) -> Result<Option<&Value>, CmdError> {
        match self.lookup_read(key) {
            None => Ok(None),
            Some(o) if o.value.obj_type() == ObjType::String => Ok(Some(&o.value)),
            Some(_) => Err(CmdError::WrongType),
        }
    }

    /// The LRU/LFU stamp of `key` (Redis's robj lru field), without
    /// touching it or expiring the key.
    #[inline]
    pub fn lru(&self, key: &[u8]) -> Option<u32> {
        self.dict.get_meta(key)
    }

    /// Sets the LRU/LFU stamp of `key` (RESTORE IDLETIME / FREQ, RDB
    /// loading); false if the key is absent.
    pub fn set_lru(&mut self, key: &[u8], lru: u32) -> bool {
        self.snap_guard(key);
        self.dict.set_meta(key, lru)
    }

    /// Does the key exist (after lazy expiry)?
    pub fn exists(&mut self, key: &[u8]) -> bool {
        !self.expire_if_needed(key) && self.dict.contains_key(key)
    }

    /// setKey(): stores `value` under `key`, replacing any old value; the
    /// TTL is cleared unless `keep_ttl`.
    pub fn set(&mut self, key: &[u8], value: Value, keep_ttl: bool) {
        // lookupKeyWrite first: a stale key expires ("expired", then "new").
        self.expire_if_needed(key);
        self.snap_guard(key);
        let lru = self.state.stamps.initial();
        let mut value = Some(value);
        let (slot, mut slot_lru, inserted) =
            self.dict
                .get_or_insert_with_meta(key, || Obj::new(Value::int(0)), lru);
        let signal = self.waiters > 0 && (inserted || slot.value.obj_type() == ObjType::Stream);
        if let Some(v) = value.take() {
            let old = std::mem::replace(&mut slot.value, v);
            // dbOverwrite frees the old value lazily with
            // lazyfree-lazy-server-del.
            if !inserted && self.state.lazy_server_del {
                crate::lazyfree::free_value(old);
            }
            // dbOverwrite keeps an LFU counter; an LRU stamp restarts.
            if !self.state.stamps.lfu {
                slot_lru.set(lru);
            }
        }
        if inserted {
            if let Some(sk) = self.slots.as_mut() {
                sk.add(key);
            }
            self.log_new(key);
        } else if !keep_ttl && self.dict.extra_count() > 0 {
            self.dict.set_extra(key, None);
        }
        if signal {
            self.ready_log.push(Sds::new(key));
        }
    }

    /// dbAdd(): the caller knows the key is absent.
    pub fn add(&mut self, key: &[u8], value: Value) {
        self.snap_guard(key);
        self.dict
            .insert_meta(key, Obj::new(value), self.state.stamps.initial());
        if let Some(sk) = self.slots.as_mut() {
            sk.add(key);
        }
        self.log_new(key);
        self.log_ready(key);
    }

    /// The object at `key` for writing, created by `make` when missing
    /// (lookupKeyWrite + dbAdd, as the *WriteOrCreate helpers do).
    pub fn get_or_create(&mut self, key: &[u8], make: impl FnOnce() -> Value) -> &mut Obj {
        self.expire_if_needed(key);
        self.snap_guard(key);
        let lru = self.state.stamps.initial();
        let (o, mut o_lru, inserted) =
            self.dict
                .get_or_insert_with_meta(key, || Obj::new(make()), lru);
        if !inserted && !self.state.child_active {
            let stamps = self.state.stamps;
            o_lru.update(|s| stamps.touch(s));
        }
        if inserted {
            if let Some(sk) = self.slots.as_mut() {
                sk.add(key);
            }
            if self.event_mask & LOG_NEW != 0 {
                self.events.push((KeyEvent::New, Sds::new(key)));
            }
            if self.waiters > 0 {
                self.ready_log.push(Sds::new(key));
            }
        }
        o
    }

    /// Removes a key because it expired (active expiry), logging it.
    pub fn delete_expired(&mut self, key: &[u8]) {
        self.snap_guard(key);
        if let Some((k, old)) = self.dict.remove(key) {
            if let Some(sk) = self.slots.as_mut() {
                sk.remove(key);
            }
            self.log_if_stream(key, &old);
            self.events.push((KeyEvent::Expired, k));
            free_value(old, self.state.lazy_expire);
        }
    }

    /// Removes a key and its TTL. Returns the removed object.
    pub fn remove(&mut self, key: &[u8]) -> Option<Obj> {
        self.snap_guard(key);
        let obj = self.dict.remove_value(key)?;
        if let Some(sk) = self.slots.as_mut() {
            sk.remove(key);
        }
        self.log_if_stream(key, &obj);
        Some(obj)
    }

    /// Deletes a key; true if it existed.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.remove(key).is_some()
    }

    /// dbGenericDelete: deletes a key, freeing its value lazily when
    /// `lazy` (UNLINK, lazyfree-lazy-* configs); true if it existed.
    pub fn delete_lazy(&mut self, key: &[u8], lazy: bool) -> bool {
        match self.remove(key) {
            Some(o) => {
                free_value(o, lazy);
                true
            }
            None => false,
        }
    }

    /// Sets an absolute expire time in ms (the key must exist).
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) {
        self.snap_guard(key);
        let set = self.dict.set_extra(key, Some(when_ms as u64));
        debug_assert!(set.is_some(), "set_expire on a missing key");
    }

    /// PERSIST: true if a TTL was removed.
    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        self.snap_guard(key);
        matches!(self.dict.set_extra(key, None), Some(Some(_)))
    }

    /// Turns the per-slot key index on (cluster mode) and fills it from
    /// the keys present; also rebuilds it after the dict was replaced.
    pub fn index_slots(&mut self) {
        let mut sk = Box::<crate::db_slots::SlotKeys>::default();
        for (k, _) in self.dict.iter() {
            sk.add(k);
        }
        self.slots = Some(sk);
    }

    /// A running fork-less snapshot writes out every key it has not yet
    /// (before the keys are replaced wholesale).
    pub fn snap_finish(&mut self) {
        if let Some(s) = self.snap.as_mut() {
            s.finish(&self.dict);
        }
    }

    /// FLUSHDB: drops every key; returns how many there were.
    pub fn flush(&mut self) -> usize {
        self.flush_lazy(false)
    }

    /// emptyData for one db: with `lazy` (FLUSHALL/FLUSHDB ASYNC,
    /// lazyfree-lazy-user-flush) the old dicts are freed by `lazyfree`.
    pub fn flush_lazy(&mut self, lazy: bool) -> usize {
        // A running snapshot keeps the keys as they were: it writes the
        // rest out first (FLUSHALL stops it before that instead).
        self.snap_finish();
        let n = self.dict.len();
        // Streams leave too (emptyDbStructure's scanDatabaseForDeletedStreams).
        if self.waiters > 0 {
            for (k, o) in self.dict.iter() {
                if o.value.obj_type() == ObjType::Stream {
                    self.ready_log.push(Sds::new(k));
                }
            }
        }
        if let Some(sk) = self.slots.as_mut() {
            sk.clear();
        }
        let dict = std::mem::replace(&mut self.dict, Dict::new_guarded());
        if lazy && n > 0 {
            crate::lazyfree::free_db(dict);
        }
        self.expires_cursor = 0;
        self.avg_ttl = 0;
        n
    }
}
