//! Client memory accounting and client eviction (`maxmemory-clients`) —
//! Redis 7.0's client memory usage buckets (server.c
//! `updateClientMemUsageAndBucket`) and `evictClients` (networking.c) —
//! plus the client classes output buffer limits and eviction use
//! (`getClientType`) and the output buffer limit check.
//!
//! While `maxmemory-clients` is not 0, every normal and pubsub client's
//! memory (`Client::memory_usage`: query buffer, output buffer, queued
//! MULTI commands, watched keys, subscriptions, tracking prefixes) is
//! added to one total, refreshed after each command, after writes, when
//! Pub/Sub messages or invalidations reach it, and by the clients cron.
//! Evictable clients (not `CLIENT NO-EVICT on`) sit in one of 19 buckets
//! by the log2 of their memory. When the total reaches the limit (the
//! value, or a percentage of `maxmemory`; at least 128 KiB), clients are
//! closed from the biggest bucket down, in the order they entered it,
//! until it is below — before each command and before the event loop
//! sleeps. Eviction is counted in INFO `evicted_clients` and logged.
//!
//! When the limit is 0 the accounting costs one branch per command.

use crate::client::Client;
use crate::server::Server;

/// Bucket sizes start at up to 32 KiB (CLIENT_MEM_USAGE_BUCKET_MIN_LOG).
pub const BUCKET_MIN_LOG: u32 = 15;
/// Bucket for the largest clients, above 4 GiB (..._MAX_LOG).
pub const BUCKET_MAX_LOG: u32 = 33;
pub const BUCKETS: usize = (BUCKET_MAX_LOG - BUCKET_MIN_LOG + 1) as usize;
/// `Client::mem_bucket` of a client in no bucket.
pub const NO_BUCKET: u8 = u8::MAX;
/// The smallest effective limit, so a bad setting cannot lock everyone out.
const MIN_LIMIT: usize = 128 * 1024;

/// Server-wide client memory state.
#[derive(Default)]
pub struct ClientMem {
    /// `maxmemory-clients` is not 0: clients are accounted.
    pub enabled: bool,
    /// The effective limit in bytes; 0 = no eviction.
    pub limit: usize,
    /// Memory of every normal and pubsub client as last accounted
    /// (Redis's stat_clients_type_memory of those two types).
    pub total: usize,
    /// Per bucket: memory and number of evictable clients.
    pub bucket_mem: [usize; BUCKETS],
    pub bucket_clients: [usize; BUCKETS],
    /// Stamps the order in which clients enter buckets.
    next_seq: u64,
}

impl ClientMem {
    /// Must clients be evicted now? (One load and branch when disabled.)
    #[inline]
    pub fn over_limit(&self) -> bool {
        self.enabled && self.limit > 0 && self.total >= self.limit
    }
}

/// A client's class (Redis's getClientType): output buffer limits are per
/// class, and only normal and pubsub clients can be evicted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Class {
    Normal,
    Replica,
    PubSub,
    Master,
}

/// MONITOR clients count as normal clients, as in Redis.
pub fn class(c: &Client) -> Class {
    if c.is_master {
        Class::Master
    } else if c.repl.as_ref().is_some_and(|r| r.is_replica()) {
        Class::Replica
    } else if !c.subs.is_empty() || !c.psubs.is_empty() || !c.ssubs.is_empty() {
        Class::PubSub
    } else {
        Class::Normal
    }
}

/// Is this client's memory in the total (a normal or pubsub client)?
#[inline]
fn counted(c: &Client) -> bool {
    !c.is_master && !c.repl.as_ref().is_some_and(|r| r.is_replica())
}

/// getMemUsageBucket: log2 of the memory, clamped to the bucket range.
pub fn bucket_of(mem: usize) -> usize {
    let bits = usize::BITS - mem.leading_zeros();
    (bits.clamp(BUCKET_MIN_LOG, BUCKET_MAX_LOG) - BUCKET_MIN_LOG) as usize
}

/// getClientEvictionLimit: `maxmemory-clients` in bytes (negative: a
/// percentage of maxmemory, nothing without maxmemory), at least 128 KiB;
/// 0 when disabled.
pub fn effective_limit(maxmemory_clients: i64, maxmemory: u64) -> usize {
    let v = if maxmemory_clients < 0 && maxmemory > 0 {
        (maxmemory as f64 * -(maxmemory_clients as f64) / 100.0) as usize
    } else if maxmemory_clients > 0 {
        maxmemory_clients as usize
    } else {
        return 0;
    };
    v.max(MIN_LIMIT)
}

fn leave_bucket(cm: &mut ClientMem, c: &mut Client) {
    if c.mem_bucket != NO_BUCKET {
        let b = c.mem_bucket as usize;
        cm.bucket_mem[b] -= c.mem_last;
        cm.bucket_clients[b] -= 1;
        c.mem_bucket = NO_BUCKET;
    }
}

/// updateClientMemUsageAndBucket: re-accounts `c`'s memory (`qbuf_len`:
/// its query buffer's size) and moves it to its bucket, or out of the
/// buckets when it may not be evicted. Callers check `cm.enabled` first
/// (kept out of line: the hot path only pays for that check).
#[cold]
#[inline(never)]
pub fn update(cm: &mut ClientMem, c: &mut Client, qbuf_len: usize) {
    if !counted(c) || c.close_asap {
        // Not a normal client, or about to be freed.
        forget(cm, c);
        return;
    }
    let mem = c.memory_usage_with(qbuf_len);
    let old = c.mem_bucket;
    if old != NO_BUCKET {
        cm.bucket_mem[old as usize] -= c.mem_last;
    }
    cm.total = cm.total + mem - c.mem_last;
    c.mem_last = mem;
    if c.no_evict {
        if old != NO_BUCKET {
            cm.bucket_clients[old as usize] -= 1;
            c.mem_bucket = NO_BUCKET;
        }
        return;
    }
    let b = bucket_of(mem);
    if old as usize != b {
        if old != NO_BUCKET {
            cm.bucket_clients[old as usize] -= 1;
        }
        c.mem_bucket = b as u8;
        cm.bucket_clients[b] += 1;
        cm.next_seq += 1;
        c.mem_seq = cm.next_seq;
    }
    cm.bucket_mem[b] += mem;
}

/// Updates the client in slot `t`, if any (clients that got output from
/// others: Pub/Sub messages, invalidations, written replies).
#[inline]
pub fn update_slot(srv: &mut Server, t: usize) {
    if let Some(Some(c)) = srv.clients.get_mut(t) {
        let q = c.qbuf.len();
        update(&mut srv.client_mem, c, q);
    }
}

/// Removes a client's contribution (it is being freed, or accounting is
/// being turned off).
pub fn forget(cm: &mut ClientMem, c: &mut Client) {
    leave_bucket(cm, c);
    cm.total -= c.mem_last;
    c.mem_last = 0;
}

/// CLIENT NO-EVICT on/off, and other changes of evictability.
pub fn evictability_changed(srv: &mut Server, c: &mut Client) {
    if srv.client_mem.enabled {
        let q = c.qbuf.len().max(c.qbuf_held);
        update(&mut srv.client_mem, c, q);
    }
}

/// Applies `maxmemory-clients` / `maxmemory` (startup, CONFIG SET):
/// turning accounting on counts every client, turning it off forgets
/// them all (applyClientMaxMemoryUsage). `cur` is the client running
/// CONFIG SET, out of its slot.
pub fn apply_config(srv: &mut Server, cur: Option<&mut Client>) {
    let mmc = srv.config.maxmemory_clients;
    srv.client_mem.limit = effective_limit(mmc, srv.config.maxmemory);
    let enable = mmc != 0;
    if enable == srv.client_mem.enabled {
        return;
    }
    srv.client_mem.enabled = enable;
    let mut cm = std::mem::take(&mut srv.client_mem);
    let limit = cm.limit;
    for c in srv
        .clients
        .iter_mut()
        .filter_map(|c| c.as_deref_mut())
        .chain(cur)
    {
        if enable {
            let q = c.qbuf.len().max(c.qbuf_held);
            update(&mut cm, c, q);
        } else {
            forget(&mut cm, c);
        }
    }
    if !enable {
        cm = ClientMem::default();
        cm.limit = limit;
    }
    srv.client_mem = cm;
}

/// evictClients: while the clients' total memory is at or over the limit,
/// frees the biggest evictable clients (biggest bucket first, in the
/// order they entered it). Clients in slots are freed at once through
/// `Server::free_client_now`; `cur`, the client about to run a command
/// (out of its slot), is flagged to close instead. Returns true if `cur`
/// was evicted (its command must not run).
pub fn evict_clients(srv: &mut Server, mut cur: Option<&mut Client>) -> bool {
    if !srv.client_mem.over_limit() {
        return false;
    }
    let mut cur_evicted = false;
    for b in (0..BUCKETS).rev() {
        if srv.client_mem.bucket_clients[b] == 0 {
            continue;
        }
        // The bucket's clients in the order they entered it; None is `cur`.
        let mut members: Vec<(u64, Option<usize>)> = srv
            .clients
            .iter()
            .enumerate()
            .filter_map(|(t, c)| c.as_deref().map(|c| (t, c)))
            .filter(|(_, c)| c.mem_bucket as usize == b)
            .map(|(t, c)| (c.mem_seq, Some(t)))
            .collect();
        if let Some(c) = cur.as_deref() {
            if c.mem_bucket as usize == b {
                members.push((c.mem_seq, None));
            }
        }
        members.sort_unstable_by_key(|m| m.0);
        for (_, who) in members {
            if srv.client_mem.total < srv.client_mem.limit {
                return cur_evicted;
            }
            srv.stats.evicted_clients += 1;
            match who {
                Some(t) => {
                    if let Some(Some(c)) = srv.clients.get_mut(t) {
                        forget(&mut srv.client_mem, c);
                    }
                    match srv.free_client_now {
                        Some(free) => free(srv, t, "Evicting client"),
                        None => {
                            if let Some(Some(c)) = srv.clients.get_mut(t) {
                                c.close_asap = true;
                            }
                            srv.to_close.push(t);
                        }
                    }
                }
                None => {
                    // The caller logs it (it can describe the command).
                    if let Some(c) = cur.as_deref_mut() {
                        forget(&mut srv.client_mem, c);
                        c.close_asap = true;
                        c.out.buf.clear();
                        c.out_pos = 0;
                        cur_evicted = true;
                    }
                }
            }
        }
    }
    if srv.client_mem.over_limit() {
        tracing::warn!("Over client maxmemory after evicting all evictable clients");
    }
    cur_evicted
}

/// client-output-buffer-limit (Redis's checkClientOutputBufferLimits):
/// true when `c`'s pending output is over its class's hard limit, or has
/// been over the soft limit for longer than allowed. `now_ms` is the
/// current unix time. Masters are never limited here.
pub fn obuf_limit_reached(cfg: &crate::config::Config, c: &mut Client, now_ms: i64) -> bool {
    if c.sock.is_none() {
        // Internal clients (scripts) have no limit.
        return false;
    }
    let (hard, soft, secs) = match class(c) {
        Class::Master => return false,
        Class::Normal => cfg.obuf.normal,
        Class::Replica => {
            // A replica's hard limit is at least the backlog's size
            // (Redis 7.0's shared replication buffer).
            let (hard, soft, secs) = cfg.obuf.replica;
            let backlog = (cfg.repl_backlog_size as u64).max(16 * 1024);
            (if hard > 0 { hard.max(backlog) } else { 0 }, soft, secs)
        }
        Class::PubSub => cfg.obuf.pubsub,
    };
    let used = c.pending_output() as u64;
    if hard > 0 && used >= hard {
        return true;
    }
    if soft > 0 && used >= soft {
        let since = *c.obuf_soft_since.get_or_insert(now_ms);
        (now_ms - since) as u64 >= secs * 1000
    } else {
        c.obuf_soft_since = None;
        false
    }
}

/// The output buffer limit, checked while a command builds a reply that
/// can be huge (KEYS, HRANDFIELD / SRANDMEMBER / ZRANDMEMBER with a
/// negative count): each time the output grew by another 16 KiB, as Redis
/// checks each new reply block. Over the limit the client is flagged to
/// close and the command stops (Redis's CLIENT_CLOSE_ASAP checks in those
/// loops); nothing of the reply is sent.
pub struct ObufGuard {
    next: usize,
}

impl ObufGuard {
    pub fn new(c: &Client) -> ObufGuard {
        ObufGuard {
            next: c.out.buf.len() + crate::client::REPLY_CHUNK_BYTES,
        }
    }

    /// True when the command must stop.
    #[inline]
    pub fn stop(
        &mut self,
        cfg: &crate::config::Config,
        stats: &mut crate::server::Stats,
        c: &mut Client,
    ) -> bool {
        if c.close_asap {
            return true;
        }
        if c.out.buf.len() < self.next {
            return false;
        }
        self.next = c.out.buf.len() + crate::client::REPLY_CHUNK_BYTES;
        if !obuf_limit_reached(cfg, c, crate::clock::wall_ms()) {
            return false;
        }
        tracing::warn!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            c.id,
            c.addr
        );
        stats.client_outbuf_limit_disconnections += 1;
        c.close_asap = true;
        c.out.buf.clear();
        c.out_pos = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_log2_of_memory() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(32 * 1024 - 1), 0);
        assert_eq!(bucket_of(32 * 1024), 1);
        assert_eq!(bucket_of(1 << 20), 6);
        assert_eq!(bucket_of((1 << 21) - 1), 6);
        assert_eq!(bucket_of(usize::MAX), BUCKETS - 1);
    }

    #[test]
    fn limit_is_bytes_or_percent_of_maxmemory_at_least_128k() {
        assert_eq!(effective_limit(0, 0), 0);
        assert_eq!(effective_limit(3_000_000, 0), 3_000_000);
        assert_eq!(effective_limit(1, 0), 128 * 1024);
        assert_eq!(
            effective_limit(-7, 6 << 20),
            (6u64 << 20) as usize * 7 / 100
        );
        assert_eq!(effective_limit(-7, 0), 0);
    }

    #[test]
    fn accounting_moves_clients_between_buckets() {
        let mut cm = ClientMem {
            enabled: true,
            limit: 1 << 20,
            ..Default::default()
        };
        let mut c = Client::new_internal(1, 0);
        update(&mut cm, &mut c, 0);
        let small = c.mem_last;
        assert_eq!(cm.total, small);
        assert_eq!(cm.bucket_clients[bucket_of(small)], 1);
        update(&mut cm, &mut c, 4 << 20);
        assert_eq!(cm.total, c.mem_last);
        assert_eq!(cm.bucket_clients[bucket_of(small)], 0);
        assert_eq!(cm.bucket_clients[bucket_of(c.mem_last)], 1);
        assert_eq!(cm.bucket_mem[bucket_of(c.mem_last)], c.mem_last);
        assert!(cm.over_limit());
        c.no_evict = true;
        update(&mut cm, &mut c, 4 << 20);
        assert_eq!(cm.bucket_clients.iter().sum::<usize>(), 0);
        assert_eq!(cm.bucket_mem.iter().sum::<usize>(), 0);
        assert!(cm.total > 0, "no-evict clients still count in the total");
        forget(&mut cm, &mut c);
        assert_eq!(cm.total, 0);
    }
}
