//! Pub/Sub commands (Redis's pubsub.c): SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE and
//! their UNSUBSCRIBE forms, PUBLISH/SPUBLISH, PUBSUB introspection. The
//! subscription tables and message delivery are the `crate::pubsub` service.

use crate::client::Client;
use crate::cmdtable::fact;
use crate::cmdtable::{chan, cmd, container, CommandSpec, MAY_REPLICATE};
use crate::protocol::args::Args;
use crate::pubsub::{self, Kind};
use crate::server::Server;
use crate::util::glob::string_match;

pub static COMMANDS: &[CommandSpec] = &[
    cmd("subscribe", subscribe)
        .channels(chan::SUBSCRIBE)
        .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    cmd("unsubscribe", unsubscribe)
        .channels(chan::UNSUBSCRIBE)
        .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    cmd("psubscribe", psubscribe)
        .channels(chan::PATTERN | chan::SUBSCRIBE)
        .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    cmd("punsubscribe", punsubscribe)
        .channels(chan::PATTERN | chan::UNSUBSCRIBE)
        .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    cmd("ssubscribe", ssubscribe)
        .channels(chan::SUBSCRIBE)
        .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    cmd("sunsubscribe", sunsubscribe)
        .channels(chan::UNSUBSCRIBE)
        .with(fact::SUBSCRIBED_OK | fact::PUSH_REPLY),
    cmd("publish", publish)
        .hidden(MAY_REPLICATE)
        .channels(chan::PUBLISH),
    cmd("spublish", spublish)
        .hidden(MAY_REPLICATE)
        .channels(chan::PUBLISH),
    container("pubsub", PUBSUB_SUBCOMMANDS),
];

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    cmd("channels", pubsub_channels),
    cmd("numsub", pubsub_numsub),
    cmd("numpat", pubsub_numpat),
    cmd("shardchannels", pubsub_shardchannels),
    cmd("shardnumsub", pubsub_shardnumsub),
    cmd("help", pubsub_help),
];

pub(crate) fn reply_sub(c: &mut Client, what: &[u8], name: Option<&[u8]>, count: i64) {
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

/// pubsubPublishMessageAndPropagateToCluster: a cluster node sends it
/// over the bus (every node for PUBLISH, my shard for SPUBLISH); a
/// standalone one to its replicas (not written to the AOF).
fn publish_and_propagate(srv: &mut Server, c: &mut Client, a: &Args, sharded: bool) -> i64 {
    let n = pubsub::publish_message(srv, Some(c), a.get(1), a.get(2), sharded);
    if srv.cluster.is_some() {
        crate::cluster_bus::propagate_publish(srv, a.get(1), a.get(2), sharded);
    } else {
        let name: &[u8] = if sharded { b"SPUBLISH" } else { b"PUBLISH" };
        let argv: [&[u8]; 3] = [name, a.get(1), a.get(2)];
        crate::propagate::also_propagate(srv, c.db, &argv, crate::propagate::TO_REPL);
    }
    n
}

fn publish(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    let n = publish_and_propagate(srv, c, a, false);
    c.out.int(n);
    Ok(())
}

fn spublish(srv: &mut Server, c: &mut Client, a: &Args) -> crate::error::CmdResult {
    let n = publish_and_propagate(srv, c, a, true);
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
