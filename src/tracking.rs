//! Client-side caching (Redis's tracking.c): CLIENT TRACKING state, the
//! table of keys each tracking client has read, and the invalidation
//! messages sent when those keys change — as RESP3 push frames, or as
//! `__redis__:invalidate` Pub/Sub messages to a RESP2 redirect client.
//! BCAST mode queues modified keys per prefix and sends them in batches
//! once per event-loop iteration. Invalidations due to the client whose
//! command is running (`TrackingTable::current`) wait until its reply is
//! written (server.tracking_pending_keys), so they never land inside a
//! transaction's or a script's reply; those raised before its command runs
//! (eviction) go out before the reply.

use crate::client::Client;
use crate::server::Server;

/// The Pub/Sub channel RESP2 redirect clients subscribe to.
pub const INVALIDATE_CHANNEL: &[u8] = b"__redis__:invalidate";

/// A client's CLIENT TRACKING settings.
#[derive(Default, Clone)]
pub struct TrackingState {
    /// Client id invalidations go to; 0 = the client itself.
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING yes/no given for the next command.
    pub caching: bool,
    pub broken_redirect: bool,
    pub prefixes: Vec<Vec<u8>>,
}

/// A BCAST prefix: its clients and the keys modified since the last batch
/// (with the id of the client that modified each, for NOLOOP).
#[derive(Default)]
pub struct PrefixEntry {
    pub prefix: Vec<u8>,
    pub clients: Vec<u64>,
    pub pending: Vec<(Vec<u8>, u64)>,
}

/// Server-side tracking state.
#[derive(Default)]
pub struct TrackingTable {
    /// key -> ids of clients that may have it cached.
    pub keys: std::collections::HashMap<Vec<u8>, Vec<u64>>,
    pub prefixes: Vec<PrefixEntry>,
    pub clients: usize,
    /// The id of the client whose command is being executed (Redis's
    /// server.current_client), 0 between commands.
    pub current: u64,
    /// That client's command is running (call()): its own invalidations
    /// are held in `pending` until the reply is written.
    pub in_call: bool,
    /// Invalidations held for `current` (None = everything, after a flush).
    pub pending: Vec<Option<Vec<u8>>>,
}

/// Turns tracking on for `c` (options already validated).
pub fn enable(srv: &mut Server, c: &mut Client, st: TrackingState) {
    if c.tracking.is_none() {
        srv.tracking.clients += 1;
    }
    if st.bcast {
        let prefixes: Vec<Vec<u8>> = if st.prefixes.is_empty() {
            vec![Vec::new()]
        } else {
            st.prefixes.clone()
        };
        for p in prefixes {
            match srv.tracking.prefixes.iter_mut().find(|e| e.prefix == p) {
                Some(e) => {
                    if !e.clients.contains(&c.id) {
                        e.clients.push(c.id);
                    }
                }
                None => srv.tracking.prefixes.push(PrefixEntry {
                    prefix: p,
                    clients: vec![c.id],
                    pending: Vec::new(),
                }),
            }
        }
    }
    let mut st = st;
    if st.bcast && st.prefixes.is_empty() {
        // BCAST without PREFIX registers the empty prefix (TRACKINGINFO
        // lists it).
        st.prefixes.push(Vec::new());
    }
    if let Some(mut old) = c.tracking.take() {
        // Re-enabling keeps previously registered prefixes (moved, not
        // copied: a client may register thousands one by one).
        let mut merged = std::mem::take(&mut old.prefixes);
        for p in std::mem::take(&mut st.prefixes) {
            if !merged.contains(&p) {
                merged.push(p);
            }
        }
        st.prefixes = merged;
    }
    c.tracking = Some(Box::new(st));
}

/// CLIENT TRACKING OFF, or disconnect.
pub fn disable(srv: &mut Server, c: &mut Client) {
    let Some(st) = c.tracking.take() else { return };
    srv.tracking.clients -= 1;
    if st.bcast {
        let id = c.id;
        srv.tracking.prefixes.retain_mut(|e| {
            e.clients.retain(|&x| x != id);
            !e.clients.is_empty()
        });
    }
}

/// After a read-only command: remember the keys it read for this client
/// (trackingRememberKeys), honouring OPTIN/OPTOUT and CACHING.
pub fn remember_keys<'a>(srv: &mut Server, c: &Client, keys: impl Iterator<Item = &'a [u8]>) {
    if wants_keys(c) {
        remember_keys_for(srv, c.id, keys);
    }
}

/// Does a read by `c` now record keys (tracking on, not BCAST, and the
/// OPTIN/OPTOUT + CACHING combination allowing it)?
pub fn wants_keys(c: &Client) -> bool {
    let Some(st) = &c.tracking else { return false };
    !(st.bcast || (st.optin && !st.caching) || (st.optout && st.caching))
}

/// Records `keys` as cached by client `id` (see `remember_keys`); a script
/// records its caller's declared keys this way.
pub fn remember_keys_for<'a>(srv: &mut Server, id: u64, keys: impl Iterator<Item = &'a [u8]>) {
    for k in keys {
        let ids = srv.tracking.keys.entry(k.to_vec()).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
}

/// INFO's tracking_total_items: (key, client) pairs in the table.
pub fn total_items(srv: &Server) -> usize {
    srv.tracking.keys.values().map(|ids| ids.len()).sum()
}

/// trackingLimitUsedSlots: keeps the table within tracking-table-max-keys
/// (before each command and from the cron, as Redis; so a lower limit set
/// by CONFIG SET applies even on an idle server).
pub fn limit_used_slots(srv: &mut Server) {
    if srv.tracking.clients == 0 || srv.tracking.keys.is_empty() {
        return;
    }
    let max = srv.config.tracking_table_max_keys;
    if max > 0 && srv.tracking.keys.len() > max {
        limit_table(srv, max);
    }
}

/// tracking-table-max-keys: drop (and invalidate) keys beyond the limit.
fn limit_table(srv: &mut Server, max: usize) {
    let excess = srv.tracking.keys.len().saturating_sub(max);
    let victims: Vec<Vec<u8>> = srv.tracking.keys.keys().take(excess).cloned().collect();
    for k in victims {
        invalidate_key(srv, None, &k, false);
    }
}

/// The wire form of an invalidation for one client.
fn invalidation_bytes(resp3: bool, keys: Option<&[&[u8]]>) -> Vec<u8> {
    let mut out = Vec::new();
    if resp3 {
        out.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
    } else {
        out.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
    }
    match keys {
        None => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
        Some(ks) => {
            out.push(b'*');
            crate::util::num::write_i64(&mut out, ks.len() as i64);
            out.extend_from_slice(b"\r\n");
            for k in ks {
                out.push(b'$');
                crate::util::num::write_i64(&mut out, k.len() as i64);
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(k);
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out
}

/// Runs `f` on the client with this id, whether it is the current client
/// (out of its slot) or a connected one. Returns None if it is gone.
fn with_client<R>(
    srv: &mut Server,
    cur: &mut Option<&mut Client>,
    id: u64,
    f: impl FnOnce(&mut Client) -> R,
) -> Option<R> {
    if let Some(c) = cur.as_deref_mut() {
        if c.id == id {
            return Some(f(c));
        }
    }
    let t = *srv.client_tokens.get(&id)?;
    let c = srv.clients.get_mut(t)?.as_deref_mut()?;
    let r = f(c);
    srv.to_flush.push(t);
    Some(r)
}

/// sendTrackingMessage: delivers an invalidation for `keys` (None = all,
/// after FLUSHALL) to tracking client `id`, via its redirect if any.
fn send(srv: &mut Server, cur: &mut Option<&mut Client>, id: u64, keys: Option<&[&[u8]]>) {
    let Some((redirect, resp3_self)) = with_client(srv, cur, id, |c| {
        (c.tracking.as_ref().map_or(0, |t| t.redirect), c.out.resp3())
    }) else {
        return;
    };
    let target = if redirect != 0 { redirect } else { id };
    let delivered = with_client(srv, cur, target, |t| {
        if t.out.resp3() {
            t.out.raw(&invalidation_bytes(true, keys));
        } else if t.subs.iter().any(|s| s.as_slice() == INVALIDATE_CHANNEL) {
            t.out.raw(&invalidation_bytes(false, keys));
        }
    });
    if delivered.is_none() && redirect != 0 {
        // The redirect client is gone: tell a RESP3 client once.
        with_client(srv, cur, id, |c| {
            if let Some(st) = c.tracking.as_mut() {
                if !st.broken_redirect {
                    st.broken_redirect = true;
                    if resp3_self {
                        c.out.raw(b">2\r\n$21\r\ntracking-redir-broken\r\n");
                        c.out.int(redirect as i64);
                    }
                }
            }
        });
    }
}

/// trackingInvalidateKey: `key` was modified (by client `cur`, if any).
pub fn invalidate_key(srv: &mut Server, mut cur: Option<&mut Client>, key: &[u8], bcast: bool) {
    let modifier = cur.as_ref().map_or(0, |c| c.id);
    if bcast && !srv.tracking.prefixes.is_empty() {
        for e in srv.tracking.prefixes.iter_mut() {
            if key.starts_with(&e.prefix) {
                e.pending.push((key.to_vec(), modifier));
            }
        }
    }
    let Some(ids) = srv.tracking.keys.remove(key) else {
        return;
    };
    // NOLOOP compares with the client whose command runs (a script's
    // caller, not its Lua client).
    let current = if srv.tracking.current != 0 {
        srv.tracking.current
    } else {
        modifier
    };
    for id in ids {
        if id == current && hold_for_current(srv, &mut cur, id) {
            srv.tracking.pending.push(Some(key.to_vec()));
            continue;
        }
        let skip = with_client(srv, &mut cur, id, |c| match &c.tracking {
            None => true,
            Some(st) => st.bcast || (st.noloop && c.id == current),
        });
        if skip != Some(false) {
            continue;
        }
        send(srv, &mut cur, id, Some(&[key]));
    }
}

/// Must an invalidation for the current client `id` wait: it is inside its
/// command, or out of reach (executing, so out of its slot)?
fn hold_for_current(srv: &mut Server, cur: &mut Option<&mut Client>, id: u64) -> bool {
    srv.tracking.in_call || with_client(srv, cur, id, |_| ()).is_none()
}

/// Delivers the invalidations held for the current client `c`
/// (trackingHandlePendingKeyInvalidations).
/// Keys are checked against the client's settings now (BCAST and NOLOOP
/// clients get none; a flush is announced to every tracking client).
pub fn flush_pending(srv: &mut Server, c: &mut Client) {
    let pending = std::mem::take(&mut srv.tracking.pending);
    let Some(st) = c.tracking.as_deref() else {
        return;
    };
    if c.id != srv.tracking.current {
        return;
    }
    let keys_wanted = !st.bcast && !st.noloop;
    let id = c.id;
    let mut cur = Some(c);
    for k in pending {
        match k {
            Some(k) if keys_wanted => send(srv, &mut cur, id, Some(&[k.as_slice()])),
            Some(_) => {}
            None => send(srv, &mut cur, id, None),
        }
    }
}

/// FLUSHDB/FLUSHALL: every tracking client is told to drop everything.
pub fn invalidate_all(srv: &mut Server, mut cur: Option<&mut Client>) {
    // The table is emptied even with no tracking client left: its stale
    // entries would otherwise reach a client that turns tracking on again.
    if srv.tracking.clients == 0 {
        srv.tracking.keys.clear();
        return;
    }
    let mut ids: Vec<u64> = srv
        .other_clients()
        .filter(|c| c.tracking.is_some())
        .map(|c| c.id)
        .collect();
    if let Some(c) = cur.as_deref() {
        if c.tracking.is_some() {
            ids.push(c.id);
        }
    }
    for id in ids {
        // The flushing client hears of it after its reply.
        if id == srv.tracking.current {
            srv.tracking.pending.push(None);
            continue;
        }
        send(srv, &mut cur, id, None);
    }
    srv.tracking.keys.clear();
}

/// Sends the batched BCAST invalidations (once per event-loop iteration).
pub fn broadcast_pending(srv: &mut Server) {
    if srv.tracking.prefixes.iter().all(|e| e.pending.is_empty()) {
        return;
    }
    let entries: Vec<(Vec<u64>, Vec<(Vec<u8>, u64)>)> = srv
        .tracking
        .prefixes
        .iter_mut()
        .filter(|e| !e.pending.is_empty())
        .map(|e| (e.clients.clone(), std::mem::take(&mut e.pending)))
        .collect();
    let mut cur: Option<&mut Client> = None;
    for (clients, pending) in entries {
        for id in clients {
            let noloop = with_client(srv, &mut cur, id, |c| {
                c.tracking.as_ref().is_some_and(|t| t.noloop)
            })
            .unwrap_or(false);
            let keys: Vec<&[u8]> = pending
                .iter()
                .filter(|(_, by)| !(noloop && *by == id))
                .map(|(k, _)| k.as_slice())
                .collect();
            if !keys.is_empty() {
                send(srv, &mut cur, id, Some(&keys));
            }
        }
    }
}
