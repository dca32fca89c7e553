//! The Pub/Sub service (Redis's pubsub.c without its commands): the
//! subscription tables (each client's lists and the server's maps from
//! channel or pattern to subscribers), dropping a client's subscriptions,
//! and publishing a message to every receiver (used by PUBLISH/SPUBLISH and
//! by keyspace notifications), dropping the shard channels of slots this
//! node stopped serving. The commands are in `commands::pubsub`.
//!
//! A published message is serialized once per protocol version and the
//! same bytes are appended to every receiver's output buffer. Receivers
//! over `client-output-buffer-limit pubsub` are disconnected, so a stalled
//! subscriber cannot grow memory without bound.

use crate::client::Client;
use crate::clock;
use crate::server::Server;
use crate::util::glob::string_match;

/// The three subscription namespaces.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    pub fn sub_name(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }
    pub fn unsub_name(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

/// The names client `c` is subscribed to in namespace `k`.
pub fn client_list(c: &mut Client, k: Kind) -> &mut Vec<Vec<u8>> {
    match k {
        Kind::Channel => &mut c.subs,
        Kind::Pattern => &mut c.psubs,
        Kind::Shard => &mut c.ssubs,
    }
}

fn server_map(srv: &mut Server, k: Kind) -> &mut std::collections::HashMap<Vec<u8>, Vec<usize>> {
    match k {
        Kind::Channel => &mut srv.pubsub_channels,
        Kind::Pattern => &mut srv.pubsub_patterns,
        Kind::Shard => &mut srv.pubsub_shard_channels,
    }
}

/// The count Redis puts in (un)subscribe replies: channels + patterns, or
/// shard channels for the shard commands.
pub fn sub_count(c: &Client, k: Kind) -> i64 {
    match k {
        Kind::Shard => c.ssubs.len() as i64,
        _ => (c.subs.len() + c.psubs.len()) as i64,
    }
}

/// Adds one subscription (nothing if `c` already has it).
pub fn subscribe(srv: &mut Server, c: &mut Client, k: Kind, name: &[u8]) {
    let list = client_list(c, k);
    if !list.iter().any(|n| n.as_slice() == name) {
        list.push(name.to_vec());
        let token = c.token;
        server_map(srv, k)
            .entry(name.to_vec())
            .or_default()
            .push(token);
    }
}

/// Removes one subscription; false if `c` did not have it.
pub fn remove_one(srv: &mut Server, c: &mut Client, k: Kind, name: &[u8]) -> bool {
    let list = client_list(c, k);
    let Some(pos) = list.iter().position(|n| n.as_slice() == name) else {
        return false;
    };
    list.remove(pos);
    let token = c.token;
    let map = server_map(srv, k);
    if let Some(v) = map.get_mut(name) {
        v.retain(|&t| t != token);
        if v.is_empty() {
            map.remove(name);
        }
    }
    true
}

/// Drops every subscription without replies (disconnect, RESET).
pub fn unsubscribe_all(srv: &mut Server, c: &mut Client) {
    for k in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        let names = std::mem::take(client_list(c, k));
        let map = server_map(srv, k);
        for name in names {
            if let Some(v) = map.get_mut(&name) {
                v.retain(|&t| t != c.token);
                if v.is_empty() {
                    map.remove(&name);
                }
            }
        }
    }
}

/// removeChannelsInSlot for each slot of `slots`: every shard channel
/// hashing to one of them is unsubscribed for all its clients, each told
/// with an `sunsubscribe` message (pubsubShardUnsubscribeAllClients).
/// `cur` is the client running the current command, if any (it is out of
/// its slot meanwhile).
pub fn shard_unsubscribe_slots(srv: &mut Server, mut cur: Option<&mut Client>, slots: &[usize]) {
    if srv.pubsub_shard_channels.is_empty() || slots.is_empty() {
        return;
    }
    let mut gone: Vec<(u16, Vec<u8>)> = srv
        .pubsub_shard_channels
        .keys()
        .map(|ch| (crate::util::slot::key_hash_slot(ch), ch))
        .filter(|(s, _)| slots.contains(&(*s as usize)))
        .map(|(s, ch)| (s, ch.clone()))
        .collect();
    gone.sort();
    for (_, ch) in gone {
        let tokens = srv
            .pubsub_shard_channels
            .get(&ch)
            .cloned()
            .unwrap_or_default();
        for t in tokens {
            let unsub = |srv: &mut Server, sc: &mut Client| {
                if remove_one(srv, sc, Kind::Shard, &ch) {
                    let n = sub_count(sc, Kind::Shard);
                    sc.out.push(3);
                    sc.out.bulk(Kind::Shard.unsub_name());
                    sc.out.bulk(&ch);
                    sc.out.int(n);
                }
            };
            match cur.as_deref_mut() {
                Some(c) if c.token == t => unsub(srv, c),
                _ => {
                    if let Some(mut sc) = srv.clients.get_mut(t).and_then(|s| s.take()) {
                        unsub(srv, &mut sc);
                        srv.clients[t] = Some(sc);
                        srv.to_flush.push(t);
                    }
                }
            }
        }
        // (`remove_one` dropped the channel with its last subscriber; a
        // client out of its slot running a busy script keeps it.)
    }
}

/// A message encoded once for each protocol version.
struct Encoded {
    resp2: Vec<u8>,
    resp3: Vec<u8>,
}

fn encode(parts: &[&[u8]]) -> Encoded {
    let mut e = Encoded {
        resp2: Vec::new(),
        resp3: Vec::new(),
    };
    for (buf, prefix) in [(&mut e.resp2, b'*'), (&mut e.resp3, b'>')] {
        buf.push(prefix);
        crate::util::num::write_i64(buf, parts.len() as i64);
        buf.extend_from_slice(b"\r\n");
        for p in parts {
            buf.push(b'$');
            crate::util::num::write_i64(buf, p.len() as i64);
            buf.extend_from_slice(b"\r\n");
            buf.extend_from_slice(p);
            buf.extend_from_slice(b"\r\n");
        }
    }
    e
}

/// Appends a message to receiver `t` (or to the current client itself when
/// it is the receiver), enforcing the pubsub output buffer limit.
fn deliver(srv: &mut Server, cur: &mut Option<&mut Client>, t: usize, msg: &Encoded) {
    let is_cur = cur.as_ref().is_some_and(|c| c.token == t);
    let target: &mut Client = if is_cur {
        match cur.as_deref_mut() {
            Some(c) => c,
            None => return,
        }
    } else {
        match srv.clients.get_mut(t).and_then(|s| s.as_deref_mut()) {
            Some(r) => r,
            None => return,
        }
    };
    if target.close_asap {
        return;
    }
    target.out.raw(if target.out.resp3() {
        &msg.resp3
    } else {
        &msg.resp2
    });
    if crate::client_mem::obuf_limit_reached(&srv.config, target, clock::wall_ms()) {
        tracing::warn!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            target.id,
            target.addr
        );
        target.close_asap = true;
        target.out.buf.clear();
        target.out_pos = 0;
        crate::client_mem::forget(&mut srv.client_mem, target);
        srv.stats.client_outbuf_limit_disconnections += 1;
        srv.to_close.push(t);
        return;
    }
    if srv.client_mem.enabled {
        let q = target.qbuf.len().max(target.qbuf_held);
        crate::client_mem::update(&mut srv.client_mem, target, q);
    }
    if !is_cur {
        srv.to_flush.push(t);
    }
}

/// pubsubPublishMessage: returns the number of receivers. `cur` is the
/// client executing the current command, if any (it is out of its slot).
pub fn publish_message(
    srv: &mut Server,
    mut cur: Option<&mut Client>,
    channel: &[u8],
    message: &[u8],
    shard: bool,
) -> i64 {
    let mut receivers = 0;
    if shard {
        if let Some(ts) = srv.pubsub_shard_channels.get(channel).cloned() {
            let msg = encode(&[b"smessage", channel, message]);
            for t in ts {
                deliver(srv, &mut cur, t, &msg);
                receivers += 1;
            }
        }
        return receivers;
    }
    if let Some(ts) = srv.pubsub_channels.get(channel).cloned() {
        let msg = encode(&[b"message", channel, message]);
        for t in ts {
            deliver(srv, &mut cur, t, &msg);
            receivers += 1;
        }
    }
    if !srv.pubsub_patterns.is_empty() {
        let matching: Vec<(Vec<u8>, Vec<usize>)> = srv
            .pubsub_patterns
            .iter()
            .filter(|(p, _)| string_match(p, channel, false))
            .map(|(p, ts)| (p.clone(), ts.clone()))
            .collect();
        for (pat, ts) in matching {
            let msg = encode(&[b"pmessage", &pat, channel, message]);
            for t in ts {
                deliver(srv, &mut cur, t, &msg);
                receivers += 1;
            }
        }
    }
    receivers
}

/// Subscriptions a client holds (CLIENT LIST sub/psub/ssub, the P flag).
pub fn is_subscribed(c: &Client) -> bool {
    !c.subs.is_empty() || !c.psubs.is_empty() || !c.ssubs.is_empty()
}
