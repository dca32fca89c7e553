//! Pub/Sub (Redis's pubsub.c): SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE and their
//! UNSUBSCRIBE forms, PUBLISH/SPUBLISH, PUBSUB introspection.
//!
//! A published message is serialized once per protocol version and the
//! same bytes are appended to every receiver's output buffer. Receivers
//! over `client-output-buffer-limit pubsub` are disconnected, so a stalled
//! subscriber cannot grow memory without bound.

use super::fact;
use super::{
    container, spec, Args, CommandSpec, Group, FAST, LOADING, MAY_REPLICATE, NOKEYS, NOSCRIPT,
    PUBSUB, STALE,
};
use crate::client::Client;
use crate::clock;
use crate::server::Server;
use crate::util::glob::string_match;

const G: Group = Group::PubSub;
const SUBF: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "subscribe",
        -2,
        SUBF,
        NOKEYS,
        G,
        "2.0.0",
        "Listens for messages published to channels.",
        subscribe,
    )
    .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    spec(
        "unsubscribe",
        -1,
        SUBF,
        NOKEYS,
        G,
        "2.0.0",
        "Stops listening to messages posted to channels.",
        unsubscribe,
    )
    .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    spec(
        "psubscribe",
        -2,
        SUBF,
        NOKEYS,
        G,
        "2.0.0",
        "Listens for messages published to channels that match one or more patterns.",
        psubscribe,
    )
    .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    spec(
        "punsubscribe",
        -1,
        SUBF,
        NOKEYS,
        G,
        "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.",
        punsubscribe,
    )
    .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    spec(
        "ssubscribe",
        -2,
        SUBF,
        (1, -1, 1),
        G,
        "7.0.0",
        "Listens for messages published to shard channels.",
        ssubscribe,
    )
    .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    spec(
        "sunsubscribe",
        -1,
        SUBF,
        (1, -1, 1),
        G,
        "7.0.0",
        "Stops listening to messages posted to shard channels.",
        sunsubscribe,
    )
    .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    spec(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        NOKEYS,
        G,
        "2.0.0",
        "Posts a message to a channel.",
        publish,
    ),
    spec(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        KEY1_SPEC,
        G,
        "7.0.0",
        "Post a message to a shard channel",
        spublish,
    ),
    container(
        "pubsub",
        G,
        "2.8.0",
        "A container for Pub/Sub commands.",
        PUBSUB_SUBCOMMANDS,
    ),
];

const KEY1_SPEC: (i32, i32, i32) = (1, 1, 1);

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    spec(
        "channels",
        -2,
        PUBSUB | LOADING | STALE,
        NOKEYS,
        G,
        "2.8.0",
        "Returns the active channels.",
        pubsub_channels,
    ),
    spec(
        "numsub",
        -2,
        PUBSUB | LOADING | STALE,
        NOKEYS,
        G,
        "2.8.0",
        "Returns a count of subscribers to channels.",
        pubsub_numsub,
    ),
    spec(
        "numpat",
        2,
        PUBSUB | LOADING | STALE,
        NOKEYS,
        G,
        "2.8.0",
        "Returns a count of unique pattern subscriptions.",
        pubsub_numpat,
    ),
    spec(
        "shardchannels",
        -2,
        PUBSUB | LOADING | STALE,
        NOKEYS,
        G,
        "7.0.0",
        "Returns the active shard channels.",
        pubsub_shardchannels,
    ),
    spec(
        "shardnumsub",
        -2,
        PUBSUB | LOADING | STALE,
        NOKEYS,
        G,
        "7.0.0",
        "Returns the count of subscribers of shard channels.",
        pubsub_shardnumsub,
    ),
    spec(
        "help",
        2,
        LOADING | STALE,
        NOKEYS,
        G,
        "6.2.0",
        "Returns helpful text about the different subcommands.",
        pubsub_help,
    ),
];

/// The three subscription namespaces.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn sub_name(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }
    fn unsub_name(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

fn client_list(c: &mut Client, k: Kind) -> &mut Vec<Vec<u8>> {
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
fn sub_count(c: &Client, k: Kind) -> i64 {
    match k {
        Kind::Shard => c.ssubs.len() as i64,
        _ => (c.subs.len() + c.psubs.len()) as i64,
    }
}

fn reply_sub(c: &mut Client, what: &[u8], name: Option<&[u8]>, count: i64) {
    c.out.push(3);
    c.out.bulk(what);
    match name {
        Some(n) => c.out.bulk(n),
        None => c.out.null(),
    }
    c.out.int(count);
}

fn do_subscribe(srv: &mut Server, c: &mut Client, a: &Args, k: Kind) {
    for name in a.iter().skip(1) {
        let list = client_list(c, k);
        if !list.iter().any(|n| n.as_slice() == name) {
            list.push(name.to_vec());
            let token = c.token;
            server_map(srv, k)
                .entry(name.to_vec())
                .or_default()
                .push(token);
        }
        let n = sub_count(c, k);
        reply_sub(c, k.sub_name(), Some(name), n);
    }
}

fn remove_one(srv: &mut Server, c: &mut Client, k: Kind, name: &[u8]) -> bool {
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

fn do_unsubscribe(srv: &mut Server, c: &mut Client, a: &Args, k: Kind) {
    if a.len() == 1 {
        let names: Vec<Vec<u8>> = client_list(c, k).clone();
        if names.is_empty() {
            let n = sub_count(c, k);
            reply_sub(c, k.unsub_name(), None, n);
        }
        for name in names.iter().rev() {
            remove_one(srv, c, k, name);
            let n = sub_count(c, k);
            reply_sub(c, k.unsub_name(), Some(name), n);
        }
        return;
    }
    for name in a.iter().skip(1) {
        remove_one(srv, c, k, name);
        let n = sub_count(c, k);
        reply_sub(c, k.unsub_name(), Some(name), n);
    }
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

fn subscribe(srv: &mut Server, c: &mut Client, a: &super::Args) -> crate::error::CmdResult {
    do_subscribe(srv, c, a, Kind::Channel);
    Ok(())
}
fn psubscribe(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    do_subscribe(srv, c, a, Kind::Pattern);
    Ok(())
}
fn ssubscribe(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    do_subscribe(srv, c, a, Kind::Shard);
    Ok(())
}
fn unsubscribe(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    do_unsubscribe(srv, c, a, Kind::Channel);
    Ok(())
}
fn punsubscribe(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    do_unsubscribe(srv, c, a, Kind::Pattern);
    Ok(())
}
fn sunsubscribe(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    do_unsubscribe(srv, c, a, Kind::Shard);
    Ok(())
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

fn publish(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    let n = publish_message(srv, Some(c), a.get(1), a.get(2), false);
    // Replicas deliver it to their own subscribers (not written to the AOF).
    let argv: [&[u8]; 3] = [b"PUBLISH", a.get(1), a.get(2)];
    crate::propagate::also_propagate(srv, c.db, &argv, crate::propagate::TO_REPL);
    c.out.int(n);
    Ok(())
}

fn spublish(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    let n = publish_message(srv, Some(c), a.get(1), a.get(2), true);
    c.out.int(n);
    Ok(())
}

fn list_channels(c: &mut Client, names: Vec<&Vec<u8>>, pattern: Option<&[u8]>) {
    let picked: Vec<&Vec<u8>> = names
        .into_iter()
        .filter(|n| pattern.is_none_or(|p| string_match(p, n, false)))
        .collect();
    c.out.array(picked.len());
    for n in picked {
        c.out.bulk(n);
    }
}

fn pubsub_channels(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    if a.len() > 3 {
        return Err(crate::error::subcommand_syntax(a.get(1), "PUBSUB"));
    }
    let pat = (a.len() == 3).then(|| a.get(2));
    list_channels(c, srv.pubsub_channels.keys().collect(), pat);
    Ok(())
}

fn pubsub_shardchannels(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    if a.len() > 3 {
        return Err(crate::error::subcommand_syntax(a.get(1), "PUBSUB"));
    }
    let pat = (a.len() == 3).then(|| a.get(2));
    list_channels(c, srv.pubsub_shard_channels.keys().collect(), pat);
    Ok(())
}

fn numsub(c: &mut Client, a: &Args, map: &std::collections::HashMap<Vec<u8>, Vec<usize>>) {
    // Redis 7.0 replies a flat array even in RESP3 (addReplyArrayLen(argc-2)*2).
    c.out.array((a.len() - 2) * 2);
    for ch in a.iter().skip(2) {
        c.out.bulk(ch);
        c.out.int(map.get(ch).map_or(0, |v| v.len()) as i64);
    }
}

fn pubsub_numsub(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    numsub(c, a, &srv.pubsub_channels);
    Ok(())
}

fn pubsub_shardnumsub(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    numsub(c, a, &srv.pubsub_shard_channels);
    Ok(())
}

fn pubsub_numpat(srv: &mut Server, c: &mut Client, _a: &Args) -> crate::error::CmdResult {
    c.out.int(srv.pubsub_patterns.len() as i64);
    Ok(())
}

fn pubsub_help(_srv: &mut Server, c: &mut Client, _a: &Args) -> crate::error::CmdResult {
    const HELP: &[&str] = &[
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    ];
    super::help_reply(c, "PUBSUB", HELP);
    Ok(())
}

/// Subscriptions a client holds (CLIENT LIST sub/psub/ssub, the P flag).
pub fn is_subscribed(c: &Client) -> bool {
    !c.subs.is_empty() || !c.psubs.is_empty() || !c.ssubs.is_empty()
}
