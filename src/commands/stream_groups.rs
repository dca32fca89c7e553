//! XREAD / XREADGROUP and the consumer group commands of Redis 7.0.15's
//! t_stream.c: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER,
//! HELP), XACK, XPENDING, XCLAIM, XAUTOCLAIM and XINFO (STREAM [FULL],
//! GROUPS, CONSUMERS, HELP). Replication follows Redis: XREADGROUP,
//! XCLAIM and XAUTOCLAIM propagate one idempotent `XCLAIM ... FORCE JUSTID
//! LASTID` per PEL change (plus `XGROUP SETID ... ENTRIESREAD` when the
//! group's last ID moved without one, and `XGROUP CREATECONSUMER` for a
//! consumer a NOACK read created), never their own argv. A blocked
//! XREADGROUP re-run after its stream was deleted or replaced replies the
//! UNBLOCKED error, as blocked.c does.

use super::streams::{parse_id, parse_interval, reply_entry};
use super::typed::{read, write};
use crate::blocking::{self, BlockKind};
use crate::client::Client;
use crate::clock;
use crate::cmdtable::{cmd, container, CommandSpec};
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::{ObjType, Value};
use crate::propagate;
use crate::protocol::args::Args;
use crate::server::Server;
use crate::types::stream::{StreamId, StreamValue};
use crate::types::stream_groups::{Group as CGroup, INVALID_ENTRIES_READ};

pub static COMMANDS: &[CommandSpec] = &[
    cmd("xack", xack),
    cmd("xpending", xpending),
    cmd("xclaim", xclaim),
    cmd("xautoclaim", xautoclaim),
    container("xgroup", XGROUP_SUBCOMMANDS),
    container("xinfo", XINFO_SUBCOMMANDS),
];

static XGROUP_SUBCOMMANDS: &[CommandSpec] = &[
    cmd("create", xgroup),
    cmd("setid", xgroup),
    cmd("destroy", xgroup),
    cmd("createconsumer", xgroup),
    cmd("delconsumer", xgroup),
    cmd("help", xgroup_help),
];

static XINFO_SUBCOMMANDS: &[CommandSpec] = &[
    cmd("consumers", xinfo),
    cmd("groups", xinfo),
    cmd("stream", xinfo),
    cmd("help", xinfo_help),
];

fn now_ms() -> i64 {
    clock::wall_ms()
}

fn estimate_distance(s: &StreamValue, id: StreamId) -> i64 {
    s.estimate_distance(id)
}

/// `streamRangeHasTombstones(s, start, NULL)`.
fn has_tombstones_from(s: &StreamValue, start: StreamId) -> bool {
    if s.is_empty() || s.max_deleted_id.is_zero() {
        return false;
    }
    if s.first_id > s.max_deleted_id {
        return false;
    }
    start <= s.max_deleted_id
}

/// The group lag as XINFO prints it (None = nil).
fn group_lag(s: &StreamValue, g: &CGroup) -> Option<i64> {
    if s.entries_added == 0 {
        return Some(0);
    }
    if g.entries_read != INVALID_ENTRIES_READ && !has_tombstones_from(s, g.last_id) {
        return Some(s.entries_added as i64 - g.entries_read);
    }
    let er = estimate_distance(s, g.last_id);
    if er != INVALID_ENTRIES_READ {
        Some(s.entries_added as i64 - er)
    } else {
        None
    }
}

/// The group's last ID moves to `id` (a delivered entry): entries_read
/// follows as in streamReplyWithRange.
fn advance_group(s: &mut StreamValue, gname: &[u8], id: StreamId) -> bool {
    let tomb = has_tombstones_from(s, id);
    let est = estimate_distance(s, id);
    let added = s.entries_added;
    let Some(g) = s.groups.get_mut(gname) else {
        return false;
    };
    if id <= g.last_id {
        return false;
    }
    if g.entries_read != INVALID_ENTRIES_READ && !tomb {
        g.entries_read += 1;
    } else if added > 0 {
        g.entries_read = est;
    }
    g.last_id = id;
    true
}

/// `streamPropagateXCLAIM` argv.
fn xclaim_argv(
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    id: StreamId,
    time: i64,
    count: u64,
    last: StreamId,
) -> Vec<Vec<u8>> {
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group.to_vec(),
        consumer.to_vec(),
        b"0".to_vec(),
        id.format().into_bytes(),
        b"TIME".to_vec(),
        time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        count.to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        last.format().into_bytes(),
    ]
}

/// `streamPropagateGroupID` argv.
fn setid_argv(key: &[u8], group: &[u8], last: StreamId, entries_read: i64) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        group.to_vec(),
        last.format().into_bytes(),
        b"ENTRIESREAD".to_vec(),
        entries_read.to_string().into_bytes(),
    ]
}

fn flush_props(srv: &mut Server, db: usize, props: &[Vec<Vec<u8>>]) {
    for p in props {
        let argv: Vec<&[u8]> = p.iter().map(|x| x.as_slice()).collect();
        propagate::also_propagate(srv, db, &argv, propagate::TO_ALL);
    }
}

/// The end of XCLAIM / XAUTOCLAIM: counts the changes, announces a
/// consumer it created, and propagates what it queued instead of itself.
fn finish_claim(
    srv: &mut Server,
    c: &mut Client,
    key: &[u8],
    dirty: u64,
    created: bool,
    props: &[Vec<Vec<u8>>],
) -> CmdResult {
    srv.dirty += dirty;
    if created {
        notify::event(srv, c, notify::STREAM, "xgroup-createconsumer", key);
    }
    flush_props(srv, c.db, props);
    propagate::prevent_current(srv);
    Ok(())
}

pub(super) fn xread(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    read_generic(srv, c, a, false)
}

pub(super) fn xreadgroup(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let r = read_generic(srv, c, a, true);
    // Propagated only through what it queued (XCLAIM / XGROUP SETID).
    propagate::prevent_current(srv);
    r
}

/// Marker for the `>` ID.
const NEW_ONLY: StreamId = StreamId::MAX;

fn read_generic(srv: &mut Server, c: &mut Client, a: &Args, xgroup: bool) -> CmdResult {
    let mut count: usize = 0;
    let mut block: Option<i64> = None;
    let mut streams_at = None;
    let mut group: Option<(&[u8], &[u8])> = None;
    let mut noack = false;
    let mut i = 1;
    while i < a.len() {
        let more = a.len() - i - 1;
        if a.is(i, "BLOCK") && more >= 1 {
            // No sense in blocking inside Lua: refused outright (Redis
            // keeps this special case for backward compatibility).
            if srv.scripting.current_run().is_some() {
                return Err(error::block_from_script(&a.str_lossy(0)));
            }
            let ms = crate::util::num::parse_i64(a.get(i + 1))
                .ok_or(CmdError::Static(error::TIMEOUT_NOT_INTEGER))?;
            if ms < 0 {
                return Err(CmdError::Static(error::TIMEOUT_NEGATIVE));
            }
            block = Some(ms);
            i += 2;
        } else if a.is(i, "COUNT") && more >= 1 {
            count = a.i64(i + 1)?.max(0) as usize;
            i += 2;
        } else if a.is(i, "STREAMS") && more >= 1 {
            streams_at = Some(i + 1);
            break;
        } else if a.is(i, "GROUP") && more >= 2 {
            if !xgroup {
                return Err(CmdError::Static(error::XREAD_GROUP_OPTION));
            }
            group = Some((a.get(i + 1), a.get(i + 2)));
            i += 3;
        } else if a.is(i, "NOACK") {
            if !xgroup {
                return Err(CmdError::Static(error::XREAD_NOACK_OPTION));
            }
            noack = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(first) = streams_at else {
        return Err(CmdError::Syntax);
    };
    let nargs = a.len() - first;
    if !nargs.is_multiple_of(2) {
        return Err(CmdError::Static(error::XREAD_UNBALANCED));
    }
    if xgroup && group.is_none() {
        return Err(CmdError::Static(error::XREADGROUP_MISSING_GROUP));
    }
    let n = nargs / 2;
    let mut ids = Vec::with_capacity(n);
    for k in 0..n {
        let key = a.get(first + k);
        let idarg = a.get(first + n + k);
        let s = match read::<StreamValue>(&mut srv.dbs[c.db], key) {
            // Woken up because the stream was deleted or replaced by
            // another type (blocked.c's unblockDeletedStreamReadgroupClients).
            Ok(None) | Err(CmdError::WrongType) if xgroup && c.reexecuting => {
                return Err(CmdError::Static(error::UNBLOCKED_STREAM_GONE));
            }
            r => r?,
        };
        if let Some((gname, _)) = group {
            if s.as_ref().is_none_or(|s| s.groups.get(gname).is_none()) {
                if c.reexecuting && s.is_some() {
                    // Woken up by XGROUP DESTROY (blocked.c's reply).
                    return Err(CmdError::Static(error::NOGROUP_BLOCKED_GONE));
                }
                return Err(error::nogroup_key_or_group(key, gname, true));
            }
        }
        let id = if idarg == b"$" {
            if xgroup {
                return Err(CmdError::Static(error::XREADGROUP_DOLLAR));
            }
            s.map_or(StreamId::MIN, |s| s.last_id)
        } else if idarg == b">" {
            if !xgroup {
                return Err(CmdError::Static(error::XREAD_GT_ID));
            }
            NEW_ONLY
        } else {
            parse_id(idarg, 0, true, false)?.0
        };
        ids.push(id);
    }
    if count == 0 && c.reexecuting {
        // XREAD_BLOCKED_DEFAULT_COUNT: a served blocked read is capped.
        count = 1000;
    }
    let limit = if count == 0 { usize::MAX } else { count };
    let now = now_ms();
    let mut props: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut dirty = 0u64;
    let mut created: Vec<usize> = Vec::new();
    let mut served = 0usize;
    let mut deferred = None;
    for (k, &gt) in ids.iter().enumerate() {
        let key = a.get(first + k);
        let Some(s) = read::<StreamValue>(&mut srv.dbs[c.db], key)? else {
            continue;
        };
        let mut from = gt;
        let mut serve = false;
        let mut history = false;
        if let Some((gname, _)) = group {
            let Some(g) = s.groups.get(gname) else {
                continue;
            };
            if gt != NEW_ONLY {
                serve = true;
                history = true;
            } else if !s.is_empty() {
                let maxid = s.edge_id(false).unwrap_or_default();
                if maxid > g.last_id {
                    serve = true;
                    from = g.last_id;
                }
            }
        } else if s.edge_id(false).is_some_and(|maxid| maxid > gt) {
            // The last entry still present, not last_id: entries deleted
            // after `gt` leave nothing to serve (no empty reply; block).
            serve = true;
        }
        if !serve {
            continue;
        }
        if let Some((gname, cname)) = group {
            // Looked up (or created) only when served, as in 7.0.
            if let Some(g) = s.groups.get_mut(gname) {
                match g.consumer_mut(cname) {
                    Some(cons) => cons.seen_time = now,
                    None => {
                        g.create_consumer(cname, now);
                        dirty += 1;
                        created.push(k);
                        // With NOACK no XCLAIM will create it on replicas
                        // (streamPropagateConsumerCreation).
                        if noack {
                            props.push(vec![
                                b"XGROUP".to_vec(),
                                b"CREATECONSUMER".to_vec(),
                                key.to_vec(),
                                gname.to_vec(),
                                cname.to_vec(),
                            ]);
                        }
                    }
                }
            }
        }
        served += 1;
        if deferred.is_none() {
            deferred = Some(c.out.defer());
        }
        if c.out.resp < 3 {
            c.out.array(2);
        }
        c.out.bulk(key);
        let start = from.incr().unwrap_or(StreamId::MIN);
        match group {
            None => {
                let d = c.out.defer();
                let mut got = 0usize;
                s.range(start, StreamId::MAX, false, |e| {
                    reply_entry(c, &e);
                    got += 1;
                    got < limit
                });
                c.out.set_array(d, got);
            }
            Some((gname, cname)) if history => {
                // The consumer's own PEL from `start`.
                let pel: Vec<StreamId> = s
                    .groups
                    .get(gname)
                    .and_then(|g| g.consumer(cname))
                    .map(|cons| {
                        let lo = cons.pel.partition_point(|x| *x < start);
                        cons.pel[lo..].iter().take(limit).copied().collect()
                    })
                    .unwrap_or_default();
                c.out.array(pel.len());
                for id in pel {
                    let mut found = false;
                    s.range(id, id, false, |e| {
                        reply_entry(c, &e);
                        found = true;
                        false
                    });
                    if found {
                        if let Some(g) = s.groups.get_mut(gname) {
                            if let Ok(p) = g.pel_pos(id) {
                                g.pel[p].1.delivery_time = now;
                                g.pel[p].1.delivery_count += 1;
                            }
                        }
                    } else {
                        c.out.array(2);
                        c.out.bulk(id.format().as_bytes());
                        c.out.null_array();
                    }
                }
                dirty += 1;
            }
            Some((gname, cname)) => {
                let d = c.out.defer();
                let mut got: Vec<StreamId> = Vec::new();
                s.range(start, StreamId::MAX, false, |e| {
                    reply_entry(c, &e);
                    got.push(e.id);
                    got.len() < limit
                });
                c.out.set_array(d, got.len());
                let mut propagate_last = false;
                for id in got {
                    if advance_group(s, gname, id) && noack {
                        propagate_last = true;
                    }
                    if !noack {
                        if let Some(g) = s.groups.get_mut(gname) {
                            let nack = g.deliver(id, cname, now);
                            props.push(xclaim_argv(
                                key,
                                gname,
                                cname,
                                id,
                                nack.delivery_time,
                                nack.delivery_count,
                                g.last_id,
                            ));
                        }
                    }
                }
                if propagate_last {
                    if let Some(g) = s.groups.get(gname) {
                        props.push(setid_argv(key, gname, g.last_id, g.entries_read));
                    }
                }
                dirty += 1;
            }
        }
    }
    srv.dirty += dirty;
    for k in created {
        notify::event(
            srv,
            c,
            notify::STREAM,
            "xgroup-createconsumer",
            a.get(first + k),
        );
    }
    flush_props(srv, c.db, &props);
    if let Some(d) = deferred {
        if c.out.resp >= 3 {
            c.out.set_map(d, served);
        } else {
            c.out.set_array(d, served);
        }
        return Ok(());
    }
    let Some(ms) = block else {
        c.out.null_array();
        return Ok(());
    };
    if blocking::must_not_block(c) {
        c.out.null_array();
        return Ok(());
    }
    let deadline = if ms == 0 {
        0
    } else {
        clock::now_ms().saturating_add(ms)
    };
    let keys: Vec<&[u8]> = (0..n).map(|k| a.get(first + k)).collect();
    let kind = if xgroup {
        BlockKind::StreamGroup
    } else {
        BlockKind::Key(ObjType::Stream)
    };
    blocking::block_on_keys(srv, c, kind, &keys, deadline, a);
    // Re-executions must read after the IDs resolved now, not a new `$`.
    if !xgroup {
        if let Some(st) = c.blocked.as_mut() {
            for (k, id) in ids.iter().enumerate() {
                st.argv[first + n + k] = id.format().into_bytes();
            }
        }
    }
    Ok(())
}

/// Parses `ENTRIESREAD n` options for XGROUP CREATE (with MKSTREAM) or
/// SETID, starting at argument 5.
fn xgroup_options(a: &Args, create: bool) -> Result<(bool, i64), CmdError> {
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut i = 5;
    while i < a.len() {
        if create && a.is(i, "MKSTREAM") {
            mkstream = true;
            i += 1;
        } else if a.is(i, "ENTRIESREAD") && i + 1 < a.len() {
            let n = a.i64(i + 1)?;
            if n < 0 && n != INVALID_ENTRIES_READ {
                return Err(CmdError::Static(error::ENTRIESREAD_RANGE));
            }
            entries_read = n;
            i += 2;
        } else {
            return Err(error::subcommand_syntax(a.get(1), "XGROUP"));
        }
    }
    Ok((mkstream, entries_read))
}

fn xgroup(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let sub = a.get(1).to_ascii_lowercase();
    let sub = sub.as_slice();
    let key = a.get(2);
    let gname = a.get(3);
    let (mkstream, entries_read) = match sub {
        b"create" => xgroup_options(a, true)?,
        b"setid" => xgroup_options(a, false)?,
        _ => (false, INVALID_ENTRIES_READ),
    };
    let exists = write::<StreamValue>(&mut srv.dbs[c.db], key)?.is_some();
    if !exists && !mkstream {
        return Err(CmdError::Static(error::XGROUP_NEEDS_KEY));
    }
    let has_group = exists
        && write::<StreamValue>(&mut srv.dbs[c.db], key)?
            .is_some_and(|s| s.groups.get(gname).is_some());
    if !has_group && matches!(sub, b"setid" | b"createconsumer" | b"delconsumer") {
        return Err(error::nogroup_for_key(gname, key));
    }
    match sub {
        b"create" if a.len() <= 8 => {
            let idarg = a.get(4);
            let id = if idarg == b"$" {
                write::<StreamValue>(&mut srv.dbs[c.db], key)?.map_or(StreamId::MIN, |s| s.last_id)
            } else {
                parse_id(idarg, 0, true, false)?.0
            };
            let db = &mut srv.dbs[c.db];
            if !exists {
                db.get_or_create(key, || Value::stream(Default::default()));
            }
            let s = write::<StreamValue>(db, key)?.ok_or(CmdError::WrongType)?;
            if s.groups.create(gname, id, entries_read) {
                c.out.ok();
                srv.dirty += 1;
                notify::event(srv, c, notify::STREAM, "xgroup-create", key);
            } else {
                return Err(CmdError::Static(error::BUSYGROUP));
            }
        }
        b"setid" if a.len() == 5 || a.len() == 7 => {
            let idarg = a.get(4);
            let s = write::<StreamValue>(&mut srv.dbs[c.db], key)?.ok_or(CmdError::NoSuchKey)?;
            let id = if idarg == b"$" {
                s.last_id
            } else {
                parse_id(idarg, 0, false, false)?.0
            };
            if let Some(g) = s.groups.get_mut(gname) {
                g.last_id = id;
                g.entries_read = entries_read;
            }
            c.out.ok();
            srv.dirty += 1;
            notify::event(srv, c, notify::STREAM, "xgroup-setid", key);
        }
        b"destroy" => {
            let s = write::<StreamValue>(&mut srv.dbs[c.db], key)?.ok_or(CmdError::NoSuchKey)?;
            if s.groups.destroy(gname) {
                c.out.int(1);
                srv.dirty += 1;
                notify::event(srv, c, notify::STREAM, "xgroup-destroy", key);
                blocking::signal_key_ready(srv, c.db, key);
            } else {
                c.out.int(0);
            }
        }
        b"createconsumer" => {
            let now = now_ms();
            let s = write::<StreamValue>(&mut srv.dbs[c.db], key)?.ok_or(CmdError::NoSuchKey)?;
            let created = s
                .groups
                .get_mut(gname)
                .is_some_and(|g| g.create_consumer(a.get(4), now));
            if created {
                srv.dirty += 1;
                notify::event(srv, c, notify::STREAM, "xgroup-createconsumer", key);
            }
            c.out.int(created as i64);
        }
        b"delconsumer" => {
            let s = write::<StreamValue>(&mut srv.dbs[c.db], key)?.ok_or(CmdError::NoSuchKey)?;
            let pending = s
                .groups
                .get_mut(gname)
                .and_then(|g| g.delete_consumer(a.get(4)));
            if pending.is_some() {
                srv.dirty += 1;
                notify::event(srv, c, notify::STREAM, "xgroup-delconsumer", key);
            }
            c.out.int(pending.unwrap_or(0) as i64);
        }
        _ => return Err(error::subcommand_syntax(a.get(1), "XGROUP")),
    }
    Ok(())
}

fn xgroup_help(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    const HELP: &[&str] = &[
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
    ];
    super::help_reply(c, "XGROUP", HELP);
    Ok(())
}

fn xinfo_help(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    const HELP: &[&str] = &[
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
    ];
    super::help_reply(c, "XINFO", HELP);
    Ok(())
}

fn xack(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let key = a.get(1);
    let gname = a.get(2);
    let has = match read::<StreamValue>(&mut srv.dbs[c.db], key)? {
        Some(s) => s.groups.get(gname).is_some(),
        None => false,
    };
    if !has {
        c.out.int(0);
        return Ok(());
    }
    let mut ids = Vec::with_capacity(a.len() - 3);
    for i in 3..a.len() {
        ids.push(parse_id(a.get(i), 0, true, false)?.0);
    }
    let mut acked = 0;
    if let Some(g) =
        read::<StreamValue>(&mut srv.dbs[c.db], key)?.and_then(|s| s.groups.get_mut(gname))
    {
        for id in ids {
            if g.ack(id) {
                acked += 1;
            }
        }
    }
    srv.dirty += acked;
    c.out.int(acked as i64);
    Ok(())
}

fn xpending(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let justinfo = a.len() == 3;
    if a.len() != 3 && (a.len() < 6 || a.len() > 9) {
        return Err(CmdError::Syntax);
    }
    let mut start = StreamId::MIN;
    let mut end = StreamId::MAX;
    let mut count: i64 = 0;
    let mut minidle: i64 = 0;
    let mut consumer: Option<&[u8]> = None;
    if a.len() >= 6 {
        let mut si = 3;
        if a.is(3, "IDLE") {
            minidle = a.i64(4)?;
            if a.len() < 8 {
                return Err(CmdError::Syntax);
            }
            si += 2;
        }
        count = a.i64(si + 2)?.max(0);
        let (s0, sx) = parse_interval(a.get(si), 0)?;
        start = s0;
        if sx {
            start = start
                .incr()
                .ok_or(CmdError::Static(error::STREAM_INVALID_START))?;
        }
        let (e0, ex) = parse_interval(a.get(si + 1), u64::MAX)?;
        end = e0;
        if ex {
            end = end
                .decr()
                .ok_or(CmdError::Static(error::STREAM_INVALID_END))?;
        }
        if si + 3 < a.len() {
            consumer = Some(a.get(si + 3));
        }
    }
    let key = a.get(1);
    let gname = a.get(2);
    let Some(g) = read::<StreamValue>(&mut srv.dbs[c.db], key)?.and_then(|s| s.groups.get(gname))
    else {
        return Err(error::nogroup_key_or_group(key, gname, false));
    };
    if justinfo {
        c.out.array(4);
        c.out.int(g.pel.len() as i64);
        match (g.pel.first(), g.pel.last()) {
            (Some(f), Some(l)) => {
                c.out.bulk(f.0.format().as_bytes());
                c.out.bulk(l.0.format().as_bytes());
                let owners: Vec<_> = g.consumers.iter().filter(|x| !x.pel.is_empty()).collect();
                c.out.array(owners.len());
                for o in owners {
                    c.out.array(2);
                    c.out.bulk(&o.name);
                    c.out.bulk(o.pel.len().to_string().as_bytes());
                }
            }
            _ => {
                c.out.null();
                c.out.null();
                c.out.null_array();
            }
        }
        return Ok(());
    }
    let now = now_ms();
    let d = c.out.defer();
    let mut n = 0;
    let emit = |c: &mut Client, id: StreamId, nack: &crate::types::stream_groups::Nack| {
        if minidle != 0 && now - nack.delivery_time < minidle {
            return false;
        }
        c.out.array(4);
        c.out.bulk(id.format().as_bytes());
        c.out.bulk(&nack.consumer);
        c.out.int((now - nack.delivery_time).max(0));
        c.out.int(nack.delivery_count as i64);
        true
    };
    match consumer {
        Some(name) => {
            let Some(cons) = g.consumer(name) else {
                c.out.set_array(d, 0);
                return Ok(());
            };
            let lo = cons.pel.partition_point(|x| *x < start);
            for id in &cons.pel[lo..] {
                if count == 0 || *id > end {
                    break;
                }
                if let Ok(p) = g.pel_pos(*id) {
                    if emit(c, *id, &g.pel[p].1) {
                        n += 1;
                        count -= 1;
                    }
                }
            }
        }
        None => {
            let lo = g.pel_lower_bound(start);
            for (id, nack) in &g.pel[lo..] {
                if count == 0 || *id > end {
                    break;
                }
                if emit(c, *id, nack) {
                    n += 1;
                    count -= 1;
                }
            }
        }
    }
    c.out.set_array(d, n);
    Ok(())
}

fn xclaim(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let key = a.get(1);
    let gname = a.get(2);
    let cname = a.get(3);
    let has = read::<StreamValue>(&mut srv.dbs[c.db], key)?
        .is_some_and(|s| s.groups.get(gname).is_some());
    if !has {
        return Err(error::nogroup_key_or_group(key, gname, false));
    }
    let minidle = crate::util::num::parse_i64(a.get(4))
        .ok_or(CmdError::Static(error::XCLAIM_MIN_IDLE))?
        .max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < a.len() {
        match parse_id(a.get(j), 0, true, false) {
            Ok((id, _)) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let now = now_ms();
    let mut force = false;
    let mut justid = false;
    let mut retrycount: i64 = -1;
    let mut deliverytime: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < a.len() {
        let more = j + 1 < a.len();
        let num = |i: usize, e: &'static str| {
            crate::util::num::parse_i64(a.get(i)).ok_or(CmdError::Static(e))
        };
        if a.is(j, "FORCE") {
            force = true;
        } else if a.is(j, "JUSTID") {
            justid = true;
        } else if a.is(j, "IDLE") && more {
            j += 1;
            deliverytime = now - num(j, error::XCLAIM_IDLE)?;
        } else if a.is(j, "TIME") && more {
            j += 1;
            deliverytime = num(j, error::XCLAIM_TIME)?;
        } else if a.is(j, "RETRYCOUNT") && more {
            j += 1;
            retrycount = num(j, error::XCLAIM_RETRYCOUNT)?;
        } else if a.is(j, "LASTID") && more {
            j += 1;
            last_id = parse_id(a.get(j), 0, true, false)?.0;
        } else {
            return Err(error::xclaim_bad_option(a.get(j)));
        }
        j += 1;
    }
    if deliverytime != -1 {
        if deliverytime < 0 || deliverytime > now {
            deliverytime = now;
        }
    } else {
        deliverytime = now;
    }
    let Some(s) = read::<StreamValue>(&mut srv.dbs[c.db], key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let mut props: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut dirty = 0u64;
    let mut created = false;
    let mut propagate_last = false;
    if let Some(g) = s.groups.get_mut(gname) {
        if last_id > g.last_id {
            g.last_id = last_id;
            propagate_last = true;
        }
    }
    let d = c.out.defer();
    let mut n = 0;
    let mut have_consumer = false;
    for id in ids {
        let exists = s.contains(id);
        let Some(g) = s.groups.get_mut(gname) else {
            break;
        };
        let pos = g.pel_pos(id);
        if !exists {
            if let Ok(k) = pos {
                let nack = &g.pel[k].1;
                props.push(xclaim_argv(
                    key,
                    gname,
                    &nack.consumer,
                    id,
                    nack.delivery_time,
                    nack.delivery_count,
                    g.last_id,
                ));
                propagate_last = false;
                dirty += 1;
                g.remove_at(k);
            }
            continue;
        }
        let (k, forced) = match pos {
            Ok(k) => (k, false),
            Err(_) if force => (usize::MAX, true),
            Err(_) => continue,
        };
        if !forced && minidle > 0 && now - g.pel[k].1.delivery_time < minidle {
            continue;
        }
        if !have_consumer {
            if g.touch_or_create_consumer(cname, now) {
                dirty += 1;
                created = true;
            }
            have_consumer = true;
        }
        let k = if forced {
            g.deliver(id, cname, now);
            g.pel_pos(id).unwrap_or(0)
        } else {
            g.reassign(k, cname);
            k
        };
        let nack = &mut g.pel[k].1;
        nack.delivery_time = deliverytime;
        if retrycount >= 0 {
            nack.delivery_count = retrycount as u64;
        } else if !justid {
            nack.delivery_count += 1;
        }
        let (t, cnt) = (nack.delivery_time, nack.delivery_count);
        props.push(xclaim_argv(key, gname, cname, id, t, cnt, g.last_id));
        propagate_last = false;
        dirty += 1;
        if justid {
            c.out.bulk(id.format().as_bytes());
        } else {
            s.range(id, id, false, |e| {
                reply_entry(c, &e);
                false
            });
        }
        n += 1;
    }
    if propagate_last {
        if let Some(g) = s.groups.get(gname) {
            props.push(setid_argv(key, gname, g.last_id, g.entries_read));
        }
        dirty += 1;
    }
    c.out.set_array(d, n);
    finish_claim(srv, c, key, dirty, created, &props)
}

fn xautoclaim(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let key = a.get(1);
    let gname = a.get(2);
    let cname = a.get(3);
    let minidle = crate::util::num::parse_i64(a.get(4))
        .ok_or(CmdError::Static(error::XAUTOCLAIM_MIN_IDLE))?
        .max(0);
    let (mut start, sx) = parse_interval(a.get(5), 0)?;
    if sx {
        start = start
            .incr()
            .ok_or(CmdError::Static(error::STREAM_INVALID_START))?;
    }
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < a.len() {
        let more = j + 1 < a.len();
        if a.is(j, "COUNT") && more {
            let max = i64::MAX / 16;
            count = crate::util::num::parse_i64(a.get(j + 1))
                .filter(|n| (1..=max).contains(n))
                .ok_or(CmdError::Static(error::XAUTOCLAIM_COUNT))?;
            j += 1;
        } else if a.is(j, "JUSTID") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let Some(s) = read::<StreamValue>(&mut srv.dbs[c.db], key)? else {
        return Err(error::nogroup_key_or_group(key, gname, false));
    };
    if s.groups.get(gname).is_none() {
        return Err(error::nogroup_key_or_group(key, gname, false));
    }
    let now = now_ms();
    let mut attempts = count.saturating_mul(10);
    let mut props: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut dirty = 0u64;
    let mut created = false;
    let mut have_consumer = false;
    let mut deleted: Vec<StreamId> = Vec::new();
    let mut claimed: Vec<StreamId> = Vec::new();
    let mut i = s.groups.get(gname).map_or(0, |g| g.pel_lower_bound(start));
    loop {
        if attempts == 0 {
            break;
        }
        attempts -= 1;
        if count == 0 {
            break;
        }
        let Some((id, _)) = s.groups.get(gname).and_then(|g| g.pel.get(i)).cloned() else {
            break;
        };
        let exists = s.contains(id);
        let Some(g) = s.groups.get_mut(gname) else {
            break;
        };
        if !exists {
            let nack = &g.pel[i].1;
            props.push(xclaim_argv(
                key,
                gname,
                &nack.consumer,
                id,
                nack.delivery_time,
                nack.delivery_count,
                g.last_id,
            ));
            dirty += 1;
            g.remove_at(i);
            deleted.push(id);
            count -= 1;
            continue;
        }
        if minidle > 0 && now - g.pel[i].1.delivery_time < minidle {
            i += 1;
            continue;
        }
        if !have_consumer {
            if g.touch_or_create_consumer(cname, now) {
                dirty += 1;
                created = true;
            }
            have_consumer = true;
        }
        g.reassign(i, cname);
        let nack = &mut g.pel[i].1;
        nack.delivery_time = now;
        if !justid {
            nack.delivery_count += 1;
        }
        let (t, cnt) = (nack.delivery_time, nack.delivery_count);
        props.push(xclaim_argv(key, gname, cname, id, t, cnt, g.last_id));
        dirty += 1;
        claimed.push(id);
        count -= 1;
        i += 1;
    }
    let cursor = s
        .groups
        .get(gname)
        .and_then(|g| g.pel.get(i))
        .map_or(StreamId::MIN, |(id, _)| *id);
    c.out.array(3);
    c.out.bulk(cursor.format().as_bytes());
    c.out.array(claimed.len());
    for id in claimed {
        if justid {
            c.out.bulk(id.format().as_bytes());
        } else {
            s.range(id, id, false, |e| {
                reply_entry(c, &e);
                false
            });
        }
    }
    c.out.array(deleted.len());
    for id in deleted {
        c.out.bulk(id.format().as_bytes());
    }
    finish_claim(srv, c, key, dirty, created, &props)
}

fn xinfo(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let sub = a.get(1).to_ascii_lowercase();
    let key = a.get(2);
    let Some(s) = read::<StreamValue>(&mut srv.dbs[c.db], key)? else {
        return Err(CmdError::NoSuchKey);
    };
    match sub.as_slice() {
        b"consumers" => {
            let gname = a.get(3);
            let Some(g) = s.groups.get(gname) else {
                return Err(error::nogroup_for_key(gname, key));
            };
            let now = now_ms();
            c.out.array(g.consumers.len());
            for cons in &g.consumers {
                c.out.map(3);
                c.out.bulk(b"name");
                c.out.bulk(&cons.name);
                c.out.bulk(b"pending");
                c.out.int(cons.pel.len() as i64);
                c.out.bulk(b"idle");
                c.out.int((now - cons.seen_time).max(0));
            }
        }
        b"groups" => {
            c.out.array(s.groups.len());
            for g in s.groups.iter() {
                c.out.map(6);
                c.out.bulk(b"name");
                c.out.bulk(&g.name);
                c.out.bulk(b"consumers");
                c.out.int(g.consumers.len() as i64);
                c.out.bulk(b"pending");
                c.out.int(g.pel.len() as i64);
                c.out.bulk(b"last-delivered-id");
                c.out.bulk(g.last_id.format().as_bytes());
                reply_read_and_lag(c, s, g);
            }
        }
        _ => xinfo_stream(c, a, s)?,
    }
    Ok(())
}

fn reply_read_and_lag(c: &mut Client, s: &StreamValue, g: &CGroup) {
    c.out.bulk(b"entries-read");
    if g.entries_read != INVALID_ENTRIES_READ {
        c.out.int(g.entries_read);
    } else {
        c.out.null();
    }
    c.out.bulk(b"lag");
    match group_lag(s, g) {
        Some(l) => c.out.int(l),
        None => c.out.null(),
    }
}

fn xinfo_stream(c: &mut Client, a: &Args, s: &StreamValue) -> CmdResult {
    let extra = a.len() - 3;
    let mut full = true;
    let mut count: i64 = 10;
    if extra == 0 {
        full = false;
    } else if extra == 1 || extra == 3 {
        if !a.is(3, "FULL") {
            return Err(error::subcommand_syntax(a.get(1), "XINFO"));
        }
        if extra == 3 {
            if !a.is(4, "COUNT") {
                return Err(error::subcommand_syntax(a.get(1), "XINFO"));
            }
            count = a.i64(5)?;
            if count < 0 {
                count = 10;
            }
        }
    } else {
        return Err(error::subcommand_syntax(a.get(1), "XINFO"));
    }
    c.out.map(if full { 9 } else { 10 });
    c.out.bulk(b"length");
    c.out.int(s.len() as i64);
    c.out.bulk(b"radix-tree-keys");
    c.out.int(s.node_count() as i64);
    c.out.bulk(b"radix-tree-nodes");
    c.out.int(s.rax_nodes() as i64);
    c.out.bulk(b"last-generated-id");
    c.out.bulk(s.last_id.format().as_bytes());
    c.out.bulk(b"max-deleted-entry-id");
    c.out.bulk(s.max_deleted_id.format().as_bytes());
    c.out.bulk(b"entries-added");
    c.out.int(s.entries_added as i64);
    c.out.bulk(b"recorded-first-entry-id");
    c.out.bulk(s.first_id.format().as_bytes());
    if !full {
        c.out.bulk(b"groups");
        c.out.int(s.groups.len() as i64);
        for (label, rev) in [(&b"first-entry"[..], false), (&b"last-entry"[..], true)] {
            c.out.bulk(label);
            let mut emitted = false;
            s.range(StreamId::MIN, StreamId::MAX, rev, |e| {
                reply_entry(c, &e);
                emitted = true;
                false
            });
            if !emitted {
                c.out.null();
            }
        }
        return Ok(());
    }
    let limit = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    c.out.bulk(b"entries");
    let d = c.out.defer();
    let mut n = 0usize;
    s.range(StreamId::MIN, StreamId::MAX, false, |e| {
        reply_entry(c, &e);
        n += 1;
        n < limit
    });
    c.out.set_array(d, n);
    c.out.bulk(b"groups");
    c.out.array(s.groups.len());
    for g in s.groups.iter() {
        c.out.map(7);
        c.out.bulk(b"name");
        c.out.bulk(&g.name);
        c.out.bulk(b"last-delivered-id");
        c.out.bulk(g.last_id.format().as_bytes());
        reply_read_and_lag(c, s, g);
        c.out.bulk(b"pel-count");
        c.out.int(g.pel.len() as i64);
        c.out.bulk(b"pending");
        let pend = &g.pel[..g.pel.len().min(limit)];
        c.out.array(pend.len());
        for (id, nack) in pend {
            c.out.array(4);
            c.out.bulk(id.format().as_bytes());
            c.out.bulk(&nack.consumer);
            c.out.int(nack.delivery_time);
            c.out.int(nack.delivery_count as i64);
        }
        c.out.bulk(b"consumers");
        c.out.array(g.consumers.len());
        for cons in &g.consumers {
            c.out.map(4);
            c.out.bulk(b"name");
            c.out.bulk(&cons.name);
            c.out.bulk(b"seen-time");
            c.out.int(cons.seen_time);
            c.out.bulk(b"pel-count");
            c.out.int(cons.pel.len() as i64);
            c.out.bulk(b"pending");
            let pend = &cons.pel[..cons.pel.len().min(limit)];
            c.out.array(pend.len());
            for id in pend {
                let (t, n) = g.pel_pos(*id).map_or((0, 0), |p| {
                    (g.pel[p].1.delivery_time, g.pel[p].1.delivery_count)
                });
                c.out.array(3);
                c.out.bulk(id.format().as_bytes());
                c.out.int(t);
                c.out.int(n as i64);
            }
        }
    }
    Ok(())
}
