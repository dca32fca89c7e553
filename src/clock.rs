//! The cached clock: Redis keeps `server.mstime` and the LRU clock in
//! globals refreshed once per command; so do we, in relaxed atomics that
//! compile to plain loads on the single keyspace thread. It stays global
//! on purpose: it is read on the hot path by every lookup of a key with a
//! TTL and every access stamp (in `Db` and `object`, which have no
//! server) and refreshed once per command; a per-Db copy would cost a
//! store per database on every command, passing it down an argument on
//! every lookup. It coordinates nothing: it is a cache of the OS clock.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static NOW_MS: AtomicI64 = AtomicI64::new(0);
static LRU_CLOCK: AtomicU32 = AtomicU32::new(0);

/// Redis's LRU_CLOCK_MAX: the LRU clock is 24 bits of seconds.
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;

/// Wall-clock milliseconds since the epoch, read from the OS.
pub fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Wall-clock microseconds since the epoch.
pub fn wall_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Refreshes the cached time from the OS wall clock (cron, startup).
#[inline]
pub fn update() -> i64 {
    let us = wall_us();
    let ms = us / 1000;
    store(ms);
    thread_local_base_reset(us);
    ms
}

#[inline]
fn store(ms: i64) {
    NOW_MS.store(ms, Ordering::Relaxed);
    LRU_CLOCK.store(((ms / 1000) as u32) & LRU_CLOCK_MAX, Ordering::Relaxed);
}

thread_local! {
    /// (wall µs, monotonic instant) pair the per-command clock derives from
    /// (µs, so that truncation never puts it a millisecond behind the OS).
    static BASE: std::cell::Cell<Option<(i64, std::time::Instant)>> = const { std::cell::Cell::new(None) };
}

fn thread_local_base_reset(us: i64) {
    BASE.with(|b| b.set(Some((us, std::time::Instant::now()))));
}

/// Refreshes the cached time from a monotonic reading the caller already
/// took (the command timer), saving a second clock read per command. The
/// wall-clock base is re-read from the OS by `update()` in every cron tick.
#[inline]
pub fn update_from(now: std::time::Instant) -> i64 {
    let ms = match BASE.with(|b| b.get()) {
        Some((base_us, base)) => {
            (base_us + now.saturating_duration_since(base).as_micros() as i64) / 1000
        }
        None => return update(),
    };
    store(ms);
    ms
}

/// The cached time in milliseconds.
#[inline]
pub fn now_ms() -> i64 {
    NOW_MS.load(Ordering::Relaxed)
}

/// The cached LRU clock (seconds, 24 bits).
#[inline]
pub fn lru_clock() -> u32 {
    LRU_CLOCK.load(Ordering::Relaxed)
}

/// Seconds an object with this LRU stamp has been idle (OBJECT IDLETIME).
pub fn idle_secs(lru: u32) -> u64 {
    let now = lru_clock();
    if now >= lru {
        (now - lru) as u64
    } else {
        (LRU_CLOCK_MAX - lru + now) as u64
    }
}
