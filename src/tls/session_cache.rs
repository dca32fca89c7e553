//! The server's TLS session cache with Redis's `tls-session-cache-timeout`
//! (OpenSSL's SSL_CTX_set_timeout): rustls's size-bounded
//! `ServerSessionMemoryCache` holds the sessions (TLSv1.2 session ids and
//! TLSv1.3 stateful tickets), each stored behind the time it was cached, and
//! a session older than the timeout is dropped instead of resumed.

use rustls::server::{ServerSessionMemoryCache, StoresServerSessions};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes of the cached-at stamp in front of each stored value.
const STAMP: usize = 8;

#[derive(Debug)]
pub struct TimedSessionCache {
    inner: Arc<ServerSessionMemoryCache>,
    timeout: Duration,
    /// The stamps count milliseconds from here (monotonic).
    base: Instant,
}

impl TimedSessionCache {
    /// A cache of at most `size` sessions, each usable for `timeout`.
    pub fn new(size: usize, timeout: Duration) -> Arc<TimedSessionCache> {
        Arc::new(TimedSessionCache {
            inner: ServerSessionMemoryCache::new(size),
            timeout,
            base: Instant::now(),
        })
    }

    fn now_ms(&self) -> u64 {
        self.base.elapsed().as_millis() as u64
    }

    /// The stored value without its stamp, if it has not expired.
    fn fresh(&self, stored: Vec<u8>) -> Option<Vec<u8>> {
        let stamp = u64::from_le_bytes(stored.get(..STAMP)?.try_into().ok()?);
        let age = Duration::from_millis(self.now_ms().saturating_sub(stamp));
        (age <= self.timeout).then(|| stored[STAMP..].to_vec())
    }
}

impl StoresServerSessions for TimedSessionCache {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let mut stored = Vec::with_capacity(STAMP + value.len());
        stored.extend_from_slice(&self.now_ms().to_le_bytes());
        stored.extend_from_slice(&value);
        self.inner.put(key, stored)
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let stored = self.inner.get(key)?;
        let v = self.fresh(stored);
        if v.is_none() {
            // Expired: free its room now rather than when the size pushes it out.
            self.inner.take(key);
        }
        v
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.fresh(self.inner.take(key)?)
    }

    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_after_the_timeout() {
        let c = TimedSessionCache::new(16, Duration::from_secs(300));
        assert!(c.put(b"k".to_vec(), b"v".to_vec()));
        assert_eq!(c.get(b"k"), Some(b"v".to_vec()));
        assert_eq!(c.take(b"k"), Some(b"v".to_vec()));
        assert_eq!(c.get(b"k"), None);

        let c = TimedSessionCache::new(16, Duration::ZERO);
        c.put(b"k".to_vec(), b"v".to_vec());
        // Age is measured in whole milliseconds: wait for one to pass.
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(2) {
            std::hint::spin_loop();
        }
        assert_eq!(c.get(b"k"), None);
        assert_eq!(c.inner.get(b"k"), None, "an expired session is dropped");
    }
}
