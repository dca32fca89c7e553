//! Pub/Sub commands (Redis's pubsub.c): SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE and
//! their UNSUBSCRIBE forms, PUBLISH/SPUBLISH, PUBSUB introspection. The
//! subscription tables and message delivery are the `crate::pubsub` service.

use crate::client::Client;
use crate::cmdtable::fact;
use crate::cmdtable::{
    container, spec, CommandSpec, Group, FAST, LOADING, MAY_REPLICATE, NOKEYS, NOSCRIPT, PUBSUB,
    STALE,
};
use crate::protocol::args::Args;
use crate::pubsub::{self, Kind};
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
        pubsub::subscribe(srv, c, k, name);
        let n = pubsub::sub_count(c, k);
        reply_sub(c, k.sub_name(), Some(name), n);
    }
}

fn do_unsubscribe(srv: &mut Server, c: &mut Client, a: &Args, k: Kind) {
    if a.len() == 1 {
        let names: Vec<Vec<u8>> = pubsub::client_list(c, k).clone();
        if names.is_empty() {
            let n = pubsub::sub_count(c, k);
            reply_sub(c, k.unsub_name(), None, n);
        }
        for name in names.iter().rev() {
            pubsub::remove_one(srv, c, k, name);
            let n = pubsub::sub_count(c, k);
            reply_sub(c, k.unsub_name(), Some(name), n);
        }
        return;
    }
    for name in a.iter().skip(1) {
        pubsub::remove_one(srv, c, k, name);
        let n = pubsub::sub_count(c, k);
        reply_sub(c, k.unsub_name(), Some(name), n);
    }
}

fn subscribe(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
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

fn publish(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    let n = pubsub::publish_message(srv, Some(c), a.get(1), a.get(2), false);
    // Replicas deliver it to their own subscribers (not written to the AOF).
    let argv: [&[u8]; 3] = [b"PUBLISH", a.get(1), a.get(2)];
    crate::propagate::also_propagate(srv, c.db, &argv, crate::propagate::TO_REPL);
    c.out.int(n);
    Ok(())
}

fn spublish(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    let n = pubsub::publish_message(srv, Some(c), a.get(1), a.get(2), true);
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
