//! Stream commands without consumer groups (Redis 7.0's t_stream.c): XADD,
//! XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID and XREAD
//! (including BLOCK; XREAD and XREADGROUP share their code in
//! `stream_groups.rs`, which has the consumer-group commands and XINFO). The data
//! lives in `types::stream` and `types::stream_groups`.

use super::stream_groups::{xread, xreadgroup};
use super::typed::{read, write};
use crate::blocking;
use crate::client::Client;
use crate::clock;
use crate::cmdtable::meta::GetKeys;
use crate::cmdtable::{cmd, CommandSpec};
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::Value;
use crate::protocol::args::Args;
use crate::server::Server;
use crate::types::stream::{EntryRef, StreamId, StreamValue, Trim};

pub static COMMANDS: &[CommandSpec] = &[
    cmd("xadd", xadd),
    cmd("xlen", xlen),
    cmd("xrange", xrange),
    cmd("xrevrange", xrevrange),
    cmd("xdel", xdel),
    cmd("xtrim", xtrim),
    cmd("xsetid", xsetid),
    cmd("xread", xread).getkeys(GetKeys::Xread),
    cmd("xreadgroup", xreadgroup).getkeys(GetKeys::Xread),
];

fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// `streamGenericParseIDOrReply`: `ms[-seq]`; a missing seq becomes
/// `missing_seq`; unless `strict`, `-` and `+` mean the minimum/maximum.
/// With `seq_auto`, `ms-*` yields (id, true).
pub(super) fn parse_id(
    b: &[u8],
    missing_seq: u64,
    strict: bool,
    seq_auto: bool,
) -> Result<(StreamId, bool), CmdError> {
    let bad = CmdError::Static(error::STREAM_INVALID_ID);
    if b.len() > 127 {
        return Err(bad);
    }
    if !strict && b == b"-" {
        return Ok((StreamId::MIN, false));
    }
    if !strict && b == b"+" {
        return Ok((StreamId::MAX, false));
    }
    match b.iter().position(|&x| x == b'-') {
        None => Ok((
            StreamId {
                ms: parse_u64(b).ok_or(bad)?,
                seq: missing_seq,
            },
            false,
        )),
        Some(p) => {
            let ms = parse_u64(&b[..p]).ok_or(CmdError::Static(error::STREAM_INVALID_ID))?;
            let rest = &b[p + 1..];
            if seq_auto && rest == b"*" {
                return Ok((StreamId { ms, seq: 0 }, true));
            }
            let seq = parse_u64(rest).ok_or(bad)?;
            Ok((StreamId { ms, seq }, false))
        }
    }
}

/// Trimming options shared by XADD and XTRIM.
struct TrimArgs {
    trim: Option<Trim>,
    approx: bool,
    limit: u64,
}

/// `streamParseAddOrTrimArgsOrReply`: parses from argument 2; returns the
/// options, NOMKSTREAM, and the index of the first unparsed argument (XADD's ID).
fn parse_trim_args(
    srv: &Server,
    a: &Args,
    xadd: bool,
) -> Result<(TrimArgs, bool, usize), CmdError> {
    let mut t = TrimArgs {
        trim: None,
        approx: false,
        limit: 0,
    };
    let mut limit_given = false;
    let mut nomkstream = false;
    let mut maxlen_seen = false;
    let mut minid_seen = false;
    let mut i = 2;
    while i < a.len() {
        let more = a.len() - i - 1;
        if xadd && a.is(i, "NOMKSTREAM") {
            nomkstream = true;
        } else if more >= 1 && (a.is(i, "MAXLEN") || a.is(i, "MINID")) {
            let is_max = a.is(i, "MAXLEN");
            if (is_max && minid_seen) || (!is_max && maxlen_seen) {
                return Err(CmdError::Static(error::STREAM_MAXLEN_MINID));
            }
            let mut j = i + 1;
            t.approx = false;
            if more >= 2 && (a.get(j) == b"~" || a.get(j) == b"=") {
                t.approx = a.get(j) == b"~";
                j += 1;
            }
            if is_max {
                let n = a.i64(j)?;
                if n < 0 {
                    return Err(CmdError::Static(error::STREAM_MAXLEN_NEGATIVE));
                }
                t.trim = Some(Trim::MaxLen(n as u64));
                maxlen_seen = true;
            } else {
                t.trim = Some(Trim::MinId(parse_id(a.get(j), 0, true, false)?.0));
                minid_seen = true;
            }
            i = j;
        } else if more >= 1 && a.is(i, "LIMIT") {
            let n = a.i64(i + 1)?;
            if n < 0 {
                return Err(CmdError::Static(error::STREAM_LIMIT_NEGATIVE));
            }
            t.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd {
            // The ID: parsed here, so its errors come before LIMIT's.
            if a.get(i) != b"*" {
                parse_id(a.get(i), 0, true, true)?;
            }
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if limit_given && !t.approx {
        return Err(CmdError::Static(error::STREAM_LIMIT_NEEDS_APPROX));
    }
    if t.approx && !limit_given {
        let node = srv.config.stream_node_max_entries;
        t.limit = (100 * node).clamp(1, 1_000_000);
        if node == 0 {
            t.limit = 10000;
        }
    }
    Ok((t, nomkstream, i))
}

/// (stream-node-max-bytes, stream-node-max-entries).
fn node_limits(srv: &Server) -> (usize, usize) {
    (
        srv.config.stream_node_max_bytes,
        srv.config.stream_node_max_entries as usize,
    )
}

fn xadd(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let (t, nomkstream, id_pos) = parse_trim_args(srv, a, true)?;
    let field_pos = id_pos + 1;
    if id_pos >= a.len() {
        return Err(error::wrong_arity("xadd"));
    }
    // The ID (`*`, `ms-*` or explicit) is parsed before the arity check,
    // the 0-0 check comes after it (xaddCommand).
    let idarg = a.get(id_pos);
    let explicit = if idarg == b"*" {
        None
    } else {
        Some(parse_id(idarg, 0, true, true)?)
    };
    if a.len() < field_pos + 2 || !(a.len() - field_pos).is_multiple_of(2) {
        return Err(error::wrong_arity("xadd"));
    }
    if let Some((id, false)) = explicit {
        if id == StreamId::MIN {
            return Err(CmdError::Static(error::STREAM_ID_ZERO));
        }
    }
    let key = a.get(1);
    let (max_bytes, max_entries) = node_limits(srv);
    let db = &mut srv.dbs[c.db];
    if write::<StreamValue>(db, key)?.is_none() {
        if nomkstream {
            c.out.null();
            return Ok(());
        }
        db.get_or_create(key, || Value::stream(Default::default()));
    }
    let s = write::<StreamValue>(db, key)?.ok_or(CmdError::WrongType)?;
    let last = s.last_id;
    let too_small = CmdError::Static(error::STREAM_ID_TOO_SMALL);
    let id = match explicit {
        None => {
            let ms = (clock::wall_ms().max(0) as u64).max(last.ms);
            if ms == last.ms {
                last.incr().ok_or(too_small)?
            } else {
                StreamId { ms, seq: 0 }
            }
        }
        Some((id, true)) => {
            if id.ms < last.ms {
                return Err(too_small);
            } else if id.ms == last.ms {
                if last.seq == u64::MAX {
                    return Err(too_small);
                }
                StreamId {
                    ms: id.ms,
                    seq: last.seq + 1,
                }
            } else {
                id
            }
        }
        Some((id, false)) => {
            if id <= last {
                return Err(too_small);
            }
            id
        }
    };
    let mut fields: Vec<(&[u8], &[u8])> = Vec::with_capacity((a.len() - field_pos) / 2);
    let mut i = field_pos;
    while i + 1 < a.len() {
        fields.push((a.get(i), a.get(i + 1)));
        i += 2;
    }
    s.append(id, &fields, max_bytes, max_entries);
    let trimmed = match t.trim {
        Some(how) => s.trim(how, t.approx, t.limit),
        None => 0,
    };
    let len_after = s.len();
    c.out.bulk(id.format().as_bytes());
    srv.dirty += 1;
    notify::event(srv, c, notify::STREAM, "xadd", key);
    // Replicas and AOF replay must add the same ID and trim the same
    // entries: propagate the generated ID, and an approximate trim as the
    // exact length it produced (Redis rewrites those arguments too).
    let auto_id = !matches!(explicit, Some((_, false)));
    if srv.prop.active() && (auto_id || (t.trim.is_some() && t.approx)) {
        let id_text = id.format();
        let len_text = len_after.to_string();
        let mut argv: Vec<&[u8]> = vec![b"XADD", key];
        if t.trim.is_some() && t.approx {
            if nomkstream {
                argv.push(b"NOMKSTREAM");
            }
            argv.extend_from_slice(&[b"MAXLEN", b"=", len_text.as_bytes()]);
        } else {
            argv.extend((2..id_pos).map(|i| a.get(i)));
        }
        argv.push(id_text.as_bytes());
        argv.extend((field_pos..a.len()).map(|i| a.get(i)));
        crate::propagate::rewrite(srv, c.db, &argv);
    }
    if trimmed > 0 {
        notify::event(srv, c, notify::STREAM, "xtrim", key);
    }
    blocking::signal_key_ready(srv, c.db, key);
    Ok(())
}

fn xlen(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let n = read::<StreamValue>(&mut srv.dbs[c.db], a.get(1))?.map_or(0, |s| s.len());
    c.out.int(n as i64);
    Ok(())
}

/// One entry as `[id, [field, value, ...]]`.
pub(super) fn reply_entry(c: &mut Client, e: &EntryRef<'_>) {
    c.out.array(2);
    c.out.bulk(e.id.format().as_bytes());
    c.out.array(e.nfields() * 2);
    let mut b1 = [0u8; 20];
    let mut b2 = [0u8; 20];
    e.for_each(|f, v| {
        c.out.bulk(f.as_bytes(&mut b1));
        c.out.bulk(v.as_bytes(&mut b2));
    });
}

/// `streamParseIntervalIDOrReply`: `(id` is exclusive.
pub(super) fn parse_interval(b: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if b.len() > 1 && b[0] == b'(' {
        Ok((parse_id(&b[1..], missing_seq, true, false)?.0, true))
    } else {
        Ok((parse_id(b, missing_seq, false, false)?.0, false))
    }
}

fn range_generic(srv: &mut Server, c: &mut Client, a: &Args, rev: bool) -> CmdResult {
    let (sarg, earg) = if rev { (3, 2) } else { (2, 3) };
    let (mut start, sx) = parse_interval(a.get(sarg), 0)?;
    if sx {
        start = start
            .incr()
            .ok_or(CmdError::Static(error::STREAM_INVALID_START))?;
    }
    let (mut end, ex) = parse_interval(a.get(earg), u64::MAX)?;
    if ex {
        end = end
            .decr()
            .ok_or(CmdError::Static(error::STREAM_INVALID_END))?;
    }
    let mut count: i64 = -1;
    let mut j = 4;
    while j < a.len() {
        if a.is(j, "COUNT") && j + 1 < a.len() {
            count = a.i64(j + 1)?.max(0);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = read::<StreamValue>(&mut srv.dbs[c.db], a.get(1))? else {
        c.out.array(0);
        return Ok(());
    };
    if count == 0 {
        c.out.null_array();
        return Ok(());
    }
    let limit = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    if start > end {
        c.out.array(0);
        return Ok(());
    }
    let d = c.out.defer();
    let mut n = 0usize;
    s.range(start, end, rev, |e| {
        reply_entry(c, &e);
        n += 1;
        n < limit
    });
    c.out.set_array(d, n);
    Ok(())
}

fn xrange(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    range_generic(srv, c, a, false)
}

fn xrevrange(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    range_generic(srv, c, a, true)
}

fn xdel(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let key = a.get(1);
    // A missing key replies 0 before the IDs are parsed.
    if write::<StreamValue>(&mut srv.dbs[c.db], key)?.is_none() {
        c.out.int(0);
        return Ok(());
    }
    let mut ids = Vec::with_capacity(a.len() - 2);
    for i in 2..a.len() {
        ids.push(parse_id(a.get(i), 0, true, false)?.0);
    }
    let mut deleted = 0;
    if let Some(s) = write::<StreamValue>(&mut srv.dbs[c.db], key)? {
        deleted = s.xdel(&ids);
    }
    if deleted > 0 {
        srv.dirty += deleted as u64;
        notify::event(srv, c, notify::STREAM, "xdel", key);
    }
    c.out.int(deleted as i64);
    Ok(())
}

fn xtrim(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let (t, _, _) = parse_trim_args(srv, a, false)?;
    let Some(how) = t.trim else {
        return Err(CmdError::Syntax);
    };
    let key = a.get(1);
    let (n, len_after) = match write::<StreamValue>(&mut srv.dbs[c.db], key)? {
        Some(s) => (s.trim(how, t.approx, t.limit), s.len()),
        None => (0, 0),
    };
    if n > 0 {
        srv.dirty += n;
        notify::event(srv, c, notify::STREAM, "xtrim", key);
        if t.approx && srv.prop.active() {
            // Propagated as the exact trim it turned out to be.
            let len_text = len_after.to_string();
            let argv: [&[u8]; 5] = [b"XTRIM", key, b"MAXLEN", b"=", len_text.as_bytes()];
            crate::propagate::rewrite(srv, c.db, &argv);
        }
    }
    c.out.int(n as i64);
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]: sets a stream's
/// last ID and counters (what AOF rewrites and replicas use).
fn xsetid(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let id = parse_id(a.get(2), 0, true, false)?.0;
    let mut entries_added: Option<u64> = None;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < a.len() {
        let more = i + 1 < a.len();
        if a.is(i, "ENTRIESADDED") && more {
            let n = a.i64(i + 1)?;
            if n < 0 {
                return Err(CmdError::Static(error::XSETID_ENTRIES_ADDED));
            }
            entries_added = Some(n as u64);
            i += 2;
        } else if a.is(i, "MAXDELETEDID") && more {
            max_xdel = parse_id(a.get(i + 1), 0, true, false)?.0;
            if id < max_xdel {
                return Err(CmdError::Static(error::XSETID_SMALLER_THAN_MAXDEL));
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let key = a.get(1);
    let Some(s) = write::<StreamValue>(&mut srv.dbs[c.db], key)? else {
        return Err(CmdError::NoSuchKey);
    };
    if let Some(top) = s.edge_id(false) {
        if id < top {
            return Err(CmdError::Static(error::XSETID_SMALLER_THAN_TOP));
        }
        if entries_added.is_some_and(|n| (s.len() as u64) > n) {
            return Err(CmdError::Static(error::XSETID_ENTRIES_TOO_SMALL));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if max_xdel != StreamId::MIN {
        s.max_deleted_id = max_xdel;
    }
    srv.dirty += 1;
    notify::event(srv, c, notify::STREAM, "xsetid", key);
    c.out.ok();
    Ok(())
}
