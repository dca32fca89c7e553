//! Sorted-set commands (Redis 7.0's t_zset.c command layer): ZADD and
//! friends, ranges (ZRANGE with BYSCORE/BYLEX/REV/LIMIT and the legacy
//! forms), pops (incl. the blocking ones), random members, set algebra
//! (ZUNION/ZINTER/ZDIFF[STORE], ZINTERCARD) and ZSCAN. The encodings live
//! in `types::zset`.

use super::scan::{parse_cursor, reply_head, ScanOpts};
use super::typed::{read, write};
use crate::blocking::{self, BlockKind};
use crate::client::Client;
use crate::cmdtable::meta::GetKeys;
use crate::cmdtable::WrittenKeys;
use crate::cmdtable::{cmd, CommandSpec};
use crate::ds::skiplist::{parse_lex_range, parse_range, ZLexRangeSpec, ZRangeSpec};
use crate::ds::zset::{ZAddFlags, ZAddOutcome};
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::ValueRef;
use crate::object::{ObjType, Value};
use crate::protocol::args::Args;
use crate::protocol::reply::ReplyBuf;
use crate::server::Server;
use crate::types::set::SetValue;
use crate::types::zset::{Member, ZSetValue};
use crate::util::num;
use std::collections::HashMap;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd("zadd", zadd),
    cmd("zincrby", zincrby),
    cmd("zrem", zrem),
    cmd("zcard", zcard),
    cmd("zcount", zcount),
    cmd("zlexcount", zlexcount),
    cmd("zscore", zscore),
    cmd("zmscore", zmscore),
    cmd("zrank", zrank),
    cmd("zrevrank", zrevrank),
    cmd("zrange", zrange),
    cmd("zrangestore", zrangestore).writing(WrittenKeys::At(1)),
    cmd("zrangebyscore", zrangebyscore),
    cmd("zrevrangebyscore", zrevrangebyscore),
    cmd("zrangebylex", zrangebylex),
    cmd("zrevrangebylex", zrevrangebylex),
    cmd("zrevrange", zrevrange),
    cmd("zpopmin", zpopmin),
    cmd("zpopmax", zpopmax),
    cmd("zmpop", zmpop).getkeys(GetKeys::NUMKEYS_AT_1),
    cmd("zrandmember", zrandmember),
    cmd("zunion", zunion).getkeys(GetKeys::NUMKEYS_AT_1),
    cmd("zinter", zinter).getkeys(GetKeys::NUMKEYS_AT_1),
    cmd("zdiff", zdiff).getkeys(GetKeys::NUMKEYS_AT_1),
    cmd("zunionstore", zunionstore).getkeys(GetKeys::STORE_NUMKEYS).writing(WrittenKeys::At(1)),
    cmd("zinterstore", zinterstore).getkeys(GetKeys::STORE_NUMKEYS).writing(WrittenKeys::At(1)),
    cmd("zdiffstore", zdiffstore).getkeys(GetKeys::STORE_NUMKEYS).writing(WrittenKeys::At(1)),
    cmd("zintercard", zintercard).getkeys(GetKeys::NUMKEYS_AT_1),
    cmd("zremrangebyrank", zremrangebyrank),
    cmd("zremrangebyscore", zremrangebyscore),
    cmd("zremrangebylex", zremrangebylex),
    cmd("zscan", zscan),
    cmd("bzpopmin", bzpopmin),
    cmd("bzpopmax", bzpopmax),
    cmd("bzmpop", bzmpop).getkeys(GetKeys::NUMKEYS_AT_2),
];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Deletes `key` if its zset became empty (Redis never keeps empty keys);
/// true if it did.
fn delete_if_empty(srv: &mut Server, c: &Client, key: &[u8]) -> bool {
    let db = &mut srv.dbs[c.db];
    match db.dict.get(key) {
        Some(o) if matches!(o.value.get(), ValueRef::ZSet(z) if z.is_empty()) => db.delete(key),
        _ => false,
    }
}

/// A command's own event on `key`, then "del" if it emptied the zset.
fn notify_removed(srv: &mut Server, c: &mut Client, event: &str, key: &[u8]) {
    let removed = delete_if_empty(srv, c, key);
    notify::event(srv, c, notify::ZSET, event, key);
    if removed {
        notify::event(srv, c, notify::GENERIC, "del", key);
    }
}

#[inline]
fn reply_member(out: &mut ReplyBuf, m: &Member<'_>) {
    let mut b = [0u8; 20];
    out.bulk(m.as_bytes(&mut b));
}

/// One element of a range reply: `[member, score]` pairs in RESP3 when
/// scores are wanted, flat in RESP2.
#[inline]
fn reply_scored(out: &mut ReplyBuf, m: &[u8], score: f64, withscores: bool) {
    if withscores && out.resp3() {
        out.array(2);
    }
    out.bulk(m);
    if withscores {
        out.double(score);
    }
}

/// `getLongFromObjectOrReply` with a custom message.
fn long_or(a: &Args, i: usize, msg: &'static str) -> Result<i64, CmdError> {
    num::parse_i64(a.get(i)).ok_or(CmdError::Static(msg))
}

// ---------------------------------------------------------------------------
// ZADD / ZINCRBY / ZREM / simple reads
// ---------------------------------------------------------------------------

fn zadd_generic(srv: &mut Server, c: &mut Client, a: &Args, incr_cmd: bool) -> CmdResult {
    let key = a.get(1);
    let mut flags = ZAddFlags {
        incr: incr_cmd,
        ..Default::default()
    };
    let mut ch = false;
    let mut idx = 2;
    while idx < a.len() {
        if a.is(idx, "nx") {
            flags.nx = true;
        } else if a.is(idx, "xx") {
            flags.xx = true;
        } else if a.is(idx, "ch") {
            ch = true;
        } else if a.is(idx, "incr") {
            flags.incr = true;
        } else if a.is(idx, "gt") {
            flags.gt = true;
        } else if a.is(idx, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = a.len() - idx;
    if elements % 2 == 1 || elements == 0 {
        return Err(CmdError::Syntax);
    }
    let elements = elements / 2;
    if flags.nx && flags.xx {
        return Err(CmdError::Static(error::NX_XX));
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return Err(CmdError::Static(error::ZADD_GT_LT_NX));
    }
    if flags.incr && elements > 1 {
        return Err(CmdError::Static(error::ZADD_INCR_PAIR));
    }
    for j in 0..elements {
        a.f64(idx + 2 * j)?;
    }
    let (max_entries, max_value) = (
        srv.config.zset_max_listpack_entries,
        srv.config.zset_max_listpack_value,
    );
    let exists = match write::<ZSetValue>(&mut srv.dbs[c.db], key)? {
        Some(_) => true,
        None => {
            if flags.xx {
                if flags.incr {
                    c.out.null();
                } else {
                    c.out.int(0);
                }
                return Ok(());
            }
            false
        }
    };
    if !exists {
        let z = ZSetValue::create(a.get(idx + 1).len(), max_entries, max_value);
        srv.dbs[c.db].add(key, Value::zset(z));
    }
    let Some(z) = write::<ZSetValue>(&mut srv.dbs[c.db], key)? else {
        return Ok(());
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = None;
    let mut err = None;
    for j in 0..elements {
        let score = a.f64(idx + 2 * j)?;
        let ele = a.get(idx + 2 * j + 1);
        match z.add(ele, score, flags, max_entries, max_value) {
            Ok(o) => {
                match o {
                    ZAddOutcome::Added(_) => added += 1,
                    ZAddOutcome::Updated(_) => updated += 1,
                    _ => {}
                }
                if o != ZAddOutcome::Nop {
                    processed += 1;
                }
                last = o.score();
            }
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    if added + updated > 0 {
        srv.dirty += (added + updated) as u64;
        let event = if flags.incr { "zincr" } else { "zadd" };
        notify::event(srv, c, notify::ZSET, event, key);
    }
    if added > 0 {
        blocking::signal_key_ready(srv, c.db, key);
    }
    delete_if_empty(srv, c, key);
    if let Some(e) = err {
        return Err(e);
    }
    if flags.incr {
        match last {
            Some(s) if processed > 0 => c.out.double(s),
            _ => c.out.null(),
        }
    } else {
        c.out.int(if ch { added + updated } else { added });
    }
    Ok(())
}

pub(crate) fn zadd(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zadd_generic(srv, c, a, false)
}

fn zincrby(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zadd_generic(srv, c, a, true)
}

fn zrem(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let key = a.get(1);
    let Some(z) = write::<ZSetValue>(&mut srv.dbs[c.db], key)? else {
        c.out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for j in 2..a.len() {
        if z.remove(a.get(j)) {
            deleted += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        notify_removed(srv, c, "zrem", key);
    }
    srv.dirty += deleted;
    c.out.int(deleted as i64);
    Ok(())
}

fn zcard(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let n = read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))?.map_or(0, |z| z.len());
    c.out.int(n as i64);
    Ok(())
}

fn zcount(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let range = parse_range(a.get(2), a.get(3))?;
    let n =
        read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))?.map_or(0, |z| z.count_in_range(&range));
    c.out.int(n as i64);
    Ok(())
}

fn zlexcount(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let range = parse_lex_range(a.get(2), a.get(3))?;
    let n = read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))?
        .map_or(0, |z| z.count_in_lex_range(&range));
    c.out.int(n);
    Ok(())
}

fn zscore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    match read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))?.and_then(|z| z.score(a.get(2))) {
        Some(s) => c.out.double(s),
        None => c.out.null(),
    }
    Ok(())
}

fn zmscore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let z = read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))?;
    c.out.array(a.len() - 2);
    for j in 2..a.len() {
        match z.as_ref().and_then(|z| z.score(a.get(j))) {
            Some(s) => c.out.double(s),
            None => c.out.null(),
        }
    }
    Ok(())
}

fn zrank_generic(srv: &mut Server, c: &mut Client, a: &Args, rev: bool) -> CmdResult {
    match read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))?.and_then(|z| z.rank(a.get(2), rev)) {
        Some(r) => c.out.int(r as i64),
        None => c.out.null(),
    }
    Ok(())
}

fn zrank(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zrank_generic(srv, c, a, false)
}

fn zrevrank(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zrank_generic(srv, c, a, true)
}

// ---------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Auto,
    Forward,
    Reverse,
}

enum Range {
    Rank(i64, i64),
    Score(ZRangeSpec),
    Lex(ZLexRangeSpec),
}

/// Where range results go: the client, or a vector for ZRANGESTORE.
enum Sink {
    Client { withscores: bool },
    Store(Vec<(Vec<u8>, f64)>),
}

/// Feeds `it` to the sink; returns the number of elements.
fn emit<'a>(
    out: &mut ReplyBuf,
    sink: &mut Sink,
    it: impl Iterator<Item = (Member<'a>, f64)>,
) -> usize {
    match sink {
        Sink::Store(v) => {
            let before = v.len();
            v.extend(it.map(|(m, s)| (m.to_vec(), s)));
            v.len() - before
        }
        Sink::Client { withscores } => {
            let ws = *withscores;
            let d = out.defer();
            let mut n = 0;
            let mut b = [0u8; 20];
            for (m, s) in it {
                reply_scored(out, m.as_bytes(&mut b), s, ws);
                n += 1;
            }
            out.set_array(d, if ws && !out.resp3() { 2 * n } else { n });
            n
        }
    }
}

/// `zrangeGenericCommand`: `start` is the index of the source key.
fn zrange_generic(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    start: usize,
    store: bool,
    mut rt: RangeType,
    mut dir: Dir,
) -> CmdResult {
    let key = a.get(start);
    let (mut minidx, mut maxidx) = (start + 1, start + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = start + 3;
    while j < a.len() {
        let left = a.len() - j - 1;
        if !store && a.is(j, "withscores") {
            withscores = true;
        } else if a.is(j, "limit") && left >= 2 {
            offset = a.i64(j + 1)?;
            limit = a.i64(j + 2)?;
            j += 2;
        } else if dir == Dir::Auto && a.is(j, "rev") {
            dir = Dir::Reverse;
        } else if rt == RangeType::Auto && a.is(j, "bylex") {
            rt = RangeType::Lex;
        } else if rt == RangeType::Auto && a.is(j, "byscore") {
            rt = RangeType::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if dir == Dir::Auto {
        dir = Dir::Forward;
    }
    if rt == RangeType::Auto {
        rt = RangeType::Rank;
    }
    // Redis 7.0 only looks at the count here: `LIMIT 5 -1` passes.
    if limit != -1 && rt == RangeType::Rank {
        return Err(CmdError::Static(error::ZRANGE_LIMIT_RANK));
    }
    if withscores && rt == RangeType::Lex {
        return Err(CmdError::Static(error::ZRANGE_WITHSCORES_LEX));
    }
    let rev = dir == Dir::Reverse;
    if rev && rt != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let range = match rt {
        RangeType::Score => Range::Score(parse_range(a.get(minidx), a.get(maxidx))?),
        RangeType::Lex => Range::Lex(parse_lex_range(a.get(minidx), a.get(maxidx))?),
        _ => Range::Rank(a.i64(minidx)?, a.i64(maxidx)?),
    };
    let mut sink = if store {
        Sink::Store(Vec::new())
    } else {
        Sink::Client { withscores }
    };
    let z = read::<ZSetValue>(&mut srv.dbs[c.db], key)?;
    let count = match z {
        None => {
            if !store {
                c.out.empty_array();
                return Ok(());
            }
            0
        }
        Some(z) => {
            let z: &ZSetValue = z;
            let len = z.len() as i64;
            match &range {
                Range::Rank(s, e) => {
                    let (mut s, mut e) = (*s, *e);
                    if s < 0 {
                        s += len;
                    }
                    if e < 0 {
                        e += len;
                    }
                    if s < 0 {
                        s = 0;
                    }
                    if s > e || s >= len {
                        emit(&mut c.out, &mut sink, std::iter::empty())
                    } else {
                        let e = e.min(len - 1);
                        let n = (e - s + 1) as usize;
                        emit(
                            &mut c.out,
                            &mut sink,
                            z.iter_from_rank(s as usize, rev).take(n),
                        )
                    }
                }
                Range::Score(r) => {
                    if offset < 0 || (offset > 0 && offset >= len) {
                        emit(&mut c.out, &mut sink, std::iter::empty())
                    } else {
                        let take = if limit < 0 {
                            usize::MAX
                        } else {
                            limit as usize
                        };
                        let it = z
                            .iter_score(r, rev)
                            .skip(offset as usize)
                            .take_while(|&(_, s)| {
                                if rev {
                                    r.value_gte_min(s)
                                } else {
                                    r.value_lte_max(s)
                                }
                            })
                            .take(take);
                        emit(&mut c.out, &mut sink, it)
                    }
                }
                Range::Lex(r) => {
                    if offset < 0 || (offset > 0 && offset >= len) {
                        emit(&mut c.out, &mut sink, std::iter::empty())
                    } else {
                        let take = if limit < 0 {
                            usize::MAX
                        } else {
                            limit as usize
                        };
                        let it = z
                            .iter_lex(r, rev)
                            .skip(offset as usize)
                            .take_while(|(m, _)| {
                                let mut b = [0u8; 20];
                                let m = m.as_bytes(&mut b);
                                if rev {
                                    r.value_gte_min(m)
                                } else {
                                    r.value_lte_max(m)
                                }
                            })
                            .take(take);
                        emit(&mut c.out, &mut sink, it)
                    }
                }
            }
        }
    };
    if let Sink::Store(mut items) = sink {
        // Redis 7.0 adds the results one by one to a new listpack (unless a
        // rank range already knows it has more than max entries), which
        // stores -0 as the integer 0, until an add converts it to a
        // skiplist: members added before that lose the sign of a -0.
        let (max_n, max_v) = (
            srv.config.zset_max_listpack_entries,
            srv.config.zset_max_listpack_value,
        );
        let skiplist_first = matches!(range, Range::Rank(..)) && items.len() > max_n;
        for (i, (e, s)) in items.iter_mut().enumerate() {
            if skiplist_first {
                break;
            }
            if i + 1 > max_n || e.len() > max_v {
                break;
            }
            if *s == 0.0 {
                *s = 0.0;
            }
        }
        if rev {
            items.reverse();
        }
        let dst = a.get(1);
        store_result(srv, c, dst, items, "zrangestore");
    }
    let _ = count;
    Ok(())
}

/// Stores a sorted result at `dst` (or deletes `dst` when empty) and
/// replies its size, as the *STORE commands do. `event` is the command's
/// keyspace event ("zunionstore", ...).
fn store_result(
    srv: &mut Server,
    c: &mut Client,
    dst: &[u8],
    items: Vec<(Vec<u8>, f64)>,
    event: &str,
) {
    let n = items.len();
    if n > 0 {
        let z = ZSetValue::from_sorted(
            &items,
            srv.config.zset_max_listpack_entries,
            srv.config.zset_max_listpack_value,
        );
        srv.dbs[c.db].set(dst, Value::zset(z), false);
        srv.dirty += 1;
        notify::event(srv, c, notify::ZSET, event, dst);
        blocking::signal_key_ready(srv, c.db, dst);
        c.out.int(n as i64);
    } else {
        if srv.dbs[c.db].delete(dst) {
            srv.dirty += 1;
            notify::event(srv, c, notify::GENERIC, "del", dst);
        }
        c.out.int(0);
    }
}

fn zrange(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zrange_generic(srv, c, a, 1, false, RangeType::Auto, Dir::Auto)
}

fn zrangestore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zrange_generic(srv, c, a, 2, true, RangeType::Auto, Dir::Auto)
}

fn zrevrange(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zrange_generic(srv, c, a, 1, false, RangeType::Rank, Dir::Reverse)
}

fn zrangebyscore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zrange_generic(srv, c, a, 1, false, RangeType::Score, Dir::Forward)
}

fn zrevrangebyscore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zrange_generic(srv, c, a, 1, false, RangeType::Score, Dir::Reverse)
}

fn zrangebylex(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zrange_generic(srv, c, a, 1, false, RangeType::Lex, Dir::Forward)
}

fn zrevrangebylex(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zrange_generic(srv, c, a, 1, false, RangeType::Lex, Dir::Reverse)
}

// ---------------------------------------------------------------------------
// Range deletes
// ---------------------------------------------------------------------------

fn zremrange_generic(srv: &mut Server, c: &mut Client, a: &Args, rt: RangeType) -> CmdResult {
    let key = a.get(1);
    let range = match rt {
        RangeType::Score => Range::Score(parse_range(a.get(2), a.get(3))?),
        RangeType::Lex => Range::Lex(parse_lex_range(a.get(2), a.get(3))?),
        _ => Range::Rank(a.i64(2)?, a.i64(3)?),
    };
    let Some(z) = write::<ZSetValue>(&mut srv.dbs[c.db], key)? else {
        c.out.int(0);
        return Ok(());
    };
    let deleted = match range {
        Range::Rank(mut s, mut e) => {
            let len = z.len() as i64;
            if s < 0 {
                s += len;
            }
            if e < 0 {
                e += len;
            }
            if s < 0 {
                s = 0;
            }
            if s > e || s >= len {
                c.out.int(0);
                return Ok(());
            }
            let e = e.min(len - 1);
            z.remove_range_by_rank(s as usize, e as usize)
        }
        Range::Score(r) => z.remove_range_by_score(&r),
        Range::Lex(r) => z.remove_range_by_lex(&r),
    };
    if deleted > 0 {
        let event = match rt {
            RangeType::Score => "zremrangebyscore",
            RangeType::Lex => "zremrangebylex",
            _ => "zremrangebyrank",
        };
        notify_removed(srv, c, event, key);
    }
    srv.dirty += deleted as u64;
    c.out.int(deleted as i64);
    Ok(())
}

fn zremrangebyrank(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zremrange_generic(srv, c, a, RangeType::Rank)
}

fn zremrangebyscore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zremrange_generic(srv, c, a, RangeType::Score)
}

fn zremrangebylex(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zremrange_generic(srv, c, a, RangeType::Lex)
}

// ---------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------

/// `genericZpopCommand`. `count` -1 means the single-element form. Returns
/// whether something was popped (a reply was written in every case).
#[allow(clippy::too_many_arguments)]
fn zpop_generic(
    srv: &mut Server,
    c: &mut Client,
    keys: &[&[u8]],
    max: bool,
    emitkey: bool,
    count: i64,
    nested: bool,
    nil_when_empty: bool,
) -> Result<bool, CmdError> {
    let mut found = None;
    for &k in keys {
        if write::<ZSetValue>(&mut srv.dbs[c.db], k)?.is_some() {
            found = Some(k);
            break;
        }
    }
    if count == 0 {
        c.out.empty_array();
        return Ok(false);
    }
    let Some(key) = found else {
        if nil_when_empty {
            c.out.null_array();
        } else {
            c.out.empty_array();
        }
        return Ok(false);
    };
    let single = count == -1;
    let count = if single { 1 } else { count as usize };
    let Some(z) = write::<ZSetValue>(&mut srv.dbs[c.db], key)? else {
        return Ok(false);
    };
    let n = count.min(z.len());
    match (nested, emitkey) {
        (false, false) => c.out.array(2 * n),
        (true, false) => c.out.array(n),
        (false, true) => {
            c.out.array(2 * n + 1);
            c.out.bulk(key);
        }
        (true, true) => {
            c.out.array(2);
            c.out.bulk(key);
            c.out.array(n);
        }
    }
    for _ in 0..n {
        let Some((m, s)) = z.pop(max) else { break };
        if nested {
            c.out.array(2);
        }
        c.out.bulk(&m);
        c.out.double(s);
    }
    notify_removed(srv, c, if max { "zpopmax" } else { "zpopmin" }, key);
    srv.dirty += n as u64;
    // BZPOP*/ZMPOP/BZMPOP propagate as ZPOPMIN|ZPOPMAX key [count].
    if srv.prop.active() {
        let cmd: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
        if single {
            crate::propagate::rewrite(srv, c.db, &[cmd, key]);
        } else {
            let n = n.to_string();
            crate::propagate::rewrite(srv, c.db, &[cmd, key, n.as_bytes()]);
        }
    }
    Ok(true)
}

fn zpop_cmd(srv: &mut Server, c: &mut Client, a: &Args, max: bool) -> CmdResult {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let mut count = -1;
    if a.len() == 3 {
        count = num::parse_i64(a.get(2)).unwrap_or(-1);
        if count < 0 {
            return Err(CmdError::Static(error::NOT_IN_RANGE_MAX));
        }
    }
    let nested = c.out.resp3() && count != -1;
    zpop_generic(srv, c, &[a.get(1)], max, false, count, nested, false)?;
    Ok(())
}

fn zpopmin(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zpop_cmd(srv, c, a, false)
}

fn zpopmax(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zpop_cmd(srv, c, a, true)
}

/// `blockingGenericZpopCommand`.
#[allow(clippy::too_many_arguments)]
fn zpop_blocking(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    keys: &[&[u8]],
    max: bool,
    deadline: i64,
    count: i64,
    nested: bool,
) -> CmdResult {
    for &k in keys {
        if write::<ZSetValue>(&mut srv.dbs[c.db], k)?.is_some() {
            zpop_generic(srv, c, &[k], max, true, count, nested, true)?;
            return Ok(());
        }
    }
    if blocking::must_not_block(c) {
        c.out.null_array();
        return Ok(());
    }
    blocking::block_on_keys(srv, c, BlockKind::Key(ObjType::ZSet), keys, deadline, a);
    Ok(())
}

fn bzpop_cmd(srv: &mut Server, c: &mut Client, a: &Args, max: bool) -> CmdResult {
    let deadline = blocking::parse_timeout(a.get(a.len() - 1))?;
    let keys: Vec<&[u8]> = (1..a.len() - 1).map(|i| a.get(i)).collect();
    zpop_blocking(srv, c, a, &keys, max, deadline, -1, false)
}

fn bzpopmin(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    bzpop_cmd(srv, c, a, false)
}

fn bzpopmax(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    bzpop_cmd(srv, c, a, true)
}

/// `zmpopGenericCommand`; `numkeys_idx` is 1 (ZMPOP) or 2 (BZMPOP).
fn zmpop_generic(srv: &mut Server, c: &mut Client, a: &Args, numkeys_idx: usize) -> CmdResult {
    let numkeys = long_or(a, numkeys_idx, error::NUMKEYS_POSITIVE)?;
    if numkeys < 1 {
        return Err(CmdError::Static(error::NUMKEYS_POSITIVE));
    }
    let where_idx = numkeys_idx as u64 + numkeys as u64 + 1;
    if where_idx >= a.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let max = if a.is(where_idx, "min") {
        false
    } else if a.is(where_idx, "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = -1i64;
    let mut j = where_idx + 1;
    while j < a.len() {
        if count == -1 && a.is(j, "count") && j + 1 < a.len() {
            j += 1;
            count = long_or(a, j, error::COUNT_POSITIVE)?;
            if count < 1 {
                return Err(CmdError::Static(error::COUNT_POSITIVE));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if count == -1 {
        count = 1;
    }
    // Redis parses BZMPOP's timeout last, after numkeys, where and COUNT.
    let deadline = if numkeys_idx == 2 {
        Some(blocking::parse_timeout(a.get(1))?)
    } else {
        None
    };
    let keys: Vec<&[u8]> = (numkeys_idx + 1..where_idx).map(|i| a.get(i)).collect();
    match deadline {
        Some(d) => zpop_blocking(srv, c, a, &keys, max, d, count, true),
        None => zpop_generic(srv, c, &keys, max, true, count, true, true).map(|_| ()),
    }
}

fn zmpop(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zmpop_generic(srv, c, a, 1)
}

fn bzmpop(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zmpop_generic(srv, c, a, 2)
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------

fn zrandmember(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    use rand::Rng;
    if a.len() >= 3 {
        let l = a.i64(2)?;
        if l == i64::MIN {
            return Err(CmdError::Formatted(format!(
                "ERR value is out of range, value must between {} and {}",
                -i64::MAX,
                i64::MAX
            )));
        }
        let withscores = if a.len() > 4 || (a.len() == 4 && !a.is(3, "withscores")) {
            return Err(CmdError::Syntax);
        } else if a.len() == 4 {
            if !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
                return Err(CmdError::Static(error::VALUE_OUT_OF_RANGE));
            }
            true
        } else {
            false
        };
        if read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))?.is_none() {
            c.out.empty_array();
            return Ok(());
        }
        let (dbs, rng) = (&srv.dbs, &mut srv.rng);
        let (cfg, stats) = (&srv.config, &mut srv.stats);
        let Some(ValueRef::ZSet(z)) = dbs[c.db].dict.get(a.get(1)).map(|o| o.value.get()) else {
            return Ok(());
        };
        let size = z.len();
        if l == 0 {
            c.out.empty_array();
            return Ok(());
        }
        let resp2_ws = withscores && !c.out.resp3();
        let mut b = [0u8; 20];
        // CASE 1: negative count: repeats allowed.
        if l < 0 || l == 1 {
            let n = l.unsigned_abs() as usize;
            c.out.array(if resp2_ws { 2 * n } else { n });
            let mut guard = crate::client_mem::ObufGuard::new(c);
            for _ in 0..n {
                let i = rng.gen_range(0..size);
                if let Some((m, s)) = z.by_index(i) {
                    reply_scored(&mut c.out, m.as_bytes(&mut b), s, withscores);
                }
                if guard.stop(cfg, stats, c) {
                    break;
                }
            }
            return Ok(());
        }
        let n = l as usize;
        // CASE 2: the whole set, from the tail as zuiInitIterator walks.
        if n >= size {
            c.out.array(if resp2_ws { 2 * size } else { size });
            for (m, s) in z.iter_from_rank(0, true) {
                reply_scored(&mut c.out, m.as_bytes(&mut b), s, withscores);
            }
            return Ok(());
        }
        // CASES 3/4: `n` distinct members in random order.
        let picks = rand::seq::index::sample(rng, size, n);
        c.out.array(if resp2_ws { 2 * n } else { n });
        for i in picks.iter() {
            if let Some((m, s)) = z.by_index(i) {
                reply_scored(&mut c.out, m.as_bytes(&mut b), s, withscores);
            }
        }
        return Ok(());
    }
    if read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))?.is_none() {
        c.out.null();
        return Ok(());
    }
    let (dbs, rng) = (&srv.dbs, &mut srv.rng);
    let Some(ValueRef::ZSet(z)) = dbs[c.db].dict.get(a.get(1)).map(|o| o.value.get()) else {
        return Ok(());
    };
    let i = rng.gen_range(0..z.len().max(1));
    match z.by_index(i) {
        Some((m, _)) => reply_member(&mut c.out, &m),
        None => c.out.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------

fn zscan(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let cursor = parse_cursor(a.get(2))?;
    let Some(z) = read::<ZSetValue>(&mut srv.dbs[c.db], a.get(1))? else {
        reply_head(c, 0, 0);
        return Ok(());
    };
    let z: &ZSetValue = z;
    let opts = ScanOpts::parse(a, 3, false)?;
    let mut items: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut next = 0u64;
    match z.index() {
        Some(d) => {
            // Redis counts members and scores in its reply list.
            next = d.scan_batch(cursor, opts.count, 2, |k, score| {
                let mut s = Vec::with_capacity(24);
                num::format_double(score, &mut s);
                items.push((k.to_vec(), s));
            });
        }
        None => {
            if let ZSetValue::Listpack(lp) = z {
                let mut it = lp.iter();
                while let (Some(m), Some(s)) = (it.next(), it.next()) {
                    items.push((m.to_vec(), s.to_vec()));
                }
            }
        }
    }
    items.retain(|(m, _)| opts.matches(m));
    reply_head(c, next, 2 * items.len());
    for (m, s) in &items {
        c.out.bulk(m);
        c.out.bulk(s);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF (+STORE), ZINTERCARD
// ---------------------------------------------------------------------------

/// Members of a set key used as a ZUNION/ZINTER/ZDIFF input (score 1).
fn set_members(s: &SetValue) -> Vec<Vec<u8>> {
    s.members_to_vec()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggr {
    Sum,
    Min,
    Max,
}

/// `zunionInterAggregate`.
#[inline]
fn aggregate(target: &mut f64, val: f64, aggr: Aggr) {
    match aggr {
        Aggr::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggr::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggr::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// One input of the set algebra.
enum Src<'a> {
    Missing,
    Z(&'a ZSetValue),
    S(HashMap<Vec<u8>, ()>, Vec<Vec<u8>>),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::S(_, v) => v.len(),
        }
    }

    fn score(&self, ele: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(ele),
            Src::S(h, _) => h.contains_key(ele).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Src::Missing => {}
            Src::Z(z) => {
                let mut b = [0u8; 20];
                for (m, s) in z.iter() {
                    f(m.as_bytes(&mut b), s);
                }
            }
            Src::S(_, v) => {
                for m in v {
                    f(m, 1.0);
                }
            }
        }
    }
}

/// `zunionInterDiffGenericCommand`.
#[allow(clippy::too_many_arguments)]
fn zsetop_generic(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    dst: Option<&[u8]>,
    numkeys_idx: usize,
    op: SetOp,
    card_only: bool,
    cmd: &str,
) -> CmdResult {
    let setnum = a.i64(numkeys_idx)?;
    if setnum < 1 {
        return Err(error::zset_needs_input_key(cmd));
    }
    if setnum as u64 > (a.len() - numkeys_idx - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let keys: Vec<&[u8]> = (0..setnum).map(|i| a.get(numkeys_idx + 1 + i)).collect();
    for &k in &keys {
        let db = &mut srv.dbs[c.db];
        // Redis 7.0 reads the sources with lookupKeyRead even for *STORE
        // (a missing one raises "keymiss").
        let o = db.lookup_read(k);
        if let Some(o) = o {
            if !matches!(o.value.get(), ValueRef::ZSet(_) | ValueRef::Set(_)) {
                return Err(CmdError::WrongType);
            }
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut aggr = Aggr::Sum;
    let mut withscores = false;
    let mut limit: i64 = 0;
    let mut j = numkeys_idx + 1 + setnum;
    while j < a.len() {
        let remaining = a.len() - j;
        if op != SetOp::Diff && !card_only && remaining > setnum && a.is(j, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = num::parse_f64(a.get(j))
                    .ok_or(CmdError::Static(error::ZSET_WEIGHT_NOT_FLOAT))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && a.is(j, "aggregate") {
            aggr = if a.is(j + 1, "sum") {
                Aggr::Sum
            } else if a.is(j + 1, "min") {
                Aggr::Min
            } else if a.is(j + 1, "max") {
                Aggr::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if remaining >= 1 && dst.is_none() && !card_only && a.is(j, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && a.is(j, "limit") {
            limit = long_or(a, j + 1, error::LIMIT_NEGATIVE)?;
            if limit < 0 {
                return Err(CmdError::Static(error::LIMIT_NEGATIVE));
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }

    // Compute with borrowed inputs, producing an owned sorted result.
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut card = 0usize;
    {
        let db = &srv.dbs[c.db];
        let mut srcs: Vec<(Src<'_>, f64)> = keys
            .iter()
            .zip(&weights)
            .map(|(k, &w)| {
                let s = match db.dict.get(k).map(|o| o.value.get()) {
                    Some(ValueRef::ZSet(z)) => Src::Z(z),
                    Some(ValueRef::Set(s)) => {
                        let v = set_members(s);
                        let h = v.iter().map(|m| (m.clone(), ())).collect();
                        Src::S(h, v)
                    }
                    _ => Src::Missing,
                };
                (s, w)
            })
            .collect();
        match op {
            SetOp::Union => {
                srcs.sort_by_key(|(s, _)| s.len());
                let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
                for (s, w) in &srcs {
                    s.for_each(|m, sc| {
                        let mut v = w * sc;
                        if v.is_nan() {
                            v = 0.0;
                        }
                        match acc.get_mut(m) {
                            Some(t) => aggregate(t, v, aggr),
                            None => {
                                acc.insert(m.to_vec(), v);
                            }
                        }
                    });
                }
                result = acc.into_iter().collect();
            }
            SetOp::Inter => {
                srcs.sort_by_key(|(s, _)| s.len());
                if srcs[0].0.len() > 0 {
                    let (first, rest) = srcs.split_first().unwrap_or((&(Src::Missing, 1.0), &[]));
                    let mut stop = false;
                    first.0.for_each(|m, sc| {
                        if stop {
                            return;
                        }
                        let mut score = first.1 * sc;
                        if score.is_nan() {
                            score = 0.0;
                        }
                        for (s, w) in rest {
                            match s.score(m) {
                                Some(v) => aggregate(&mut score, v * w, aggr),
                                None => return,
                            }
                        }
                        if card_only {
                            card += 1;
                            if limit > 0 && card as i64 >= limit {
                                stop = true;
                            }
                        } else {
                            result.push((m.to_vec(), score));
                        }
                    });
                }
            }
            SetOp::Diff => {
                let (first, rest) = srcs.split_first().unwrap_or((&(Src::Missing, 1.0), &[]));
                first.0.for_each(|m, sc| {
                    if rest.iter().all(|(s, _)| s.score(m).is_none()) {
                        result.push((m.to_vec(), sc));
                    }
                });
            }
        }
    }
    if card_only {
        c.out.int(card as i64);
        return Ok(());
    }
    result.sort_by(|x, y| {
        x.1.partial_cmp(&y.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| x.0.cmp(&y.0))
    });
    match dst {
        Some(d) => store_result(srv, c, d, result, cmd),
        None => {
            let n = result.len();
            c.out.array(if withscores && !c.out.resp3() {
                2 * n
            } else {
                n
            });
            for (m, s) in &result {
                reply_scored(&mut c.out, m, *s, withscores);
            }
        }
    }
    Ok(())
}

fn zunion(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zsetop_generic(srv, c, a, None, 1, SetOp::Union, false, "zunion")
}

fn zinter(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zsetop_generic(srv, c, a, None, 1, SetOp::Inter, false, "zinter")
}

fn zdiff(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zsetop_generic(srv, c, a, None, 1, SetOp::Diff, false, "zdiff")
}

fn zunionstore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zsetop_generic(
        srv,
        c,
        a,
        Some(a.get(1)),
        2,
        SetOp::Union,
        false,
        "zunionstore",
    )
}

fn zinterstore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zsetop_generic(
        srv,
        c,
        a,
        Some(a.get(1)),
        2,
        SetOp::Inter,
        false,
        "zinterstore",
    )
}

fn zdiffstore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zsetop_generic(
        srv,
        c,
        a,
        Some(a.get(1)),
        2,
        SetOp::Diff,
        false,
        "zdiffstore",
    )
}

fn zintercard(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    zsetop_generic(srv, c, a, None, 1, SetOp::Inter, true, "zintercard")
}
