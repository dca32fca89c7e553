//! List commands (Redis 7.0's t_list.c): pushes and pops (with COUNT),
//! ranges, LSET/LINSERT/LREM/LTRIM/LPOS, LMOVE/LMPOP and the blocking
//! forms, plus SORT/SORT_RO (sort.c, in the `sort` submodule). Replies
//! stream borrowed listpack entries straight into the output buffer.

mod sort;

use super::typed::{read, write};
use crate::blocking::{self, BlockKind};
use crate::client::Client;
use crate::cmdtable::meta::GetKeys;
use crate::cmdtable::CommandSpec;
use crate::cmdtable::{cmd, WrittenKeys};
use crate::ds::listpack::LpValue;
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::{ObjType, Value};
use crate::protocol::args::Args;
use crate::server::Server;
use crate::types::list::{End, ListValue};
use crate::util::num;

/// Blocking list commands wait for a list.
const LIST: BlockKind = BlockKind::Key(ObjType::List);

pub static COMMANDS: &[CommandSpec] = &[
    cmd("lpush", lpush),
    cmd("rpush", rpush),
    cmd("lpushx", lpushx),
    cmd("rpushx", rpushx),
    cmd("lpop", lpop),
    cmd("rpop", rpop),
    cmd("llen", llen),
    cmd("lrange", lrange),
    cmd("lindex", lindex),
    cmd("lset", lset),
    cmd("linsert", linsert),
    cmd("lrem", lrem),
    cmd("ltrim", ltrim),
    cmd("lpos", lpos),
    cmd("lmove", lmove),
    cmd("rpoplpush", rpoplpush),
    cmd("lmpop", lmpop).getkeys(GetKeys::NUMKEYS_AT_1),
    cmd("blpop", blpop),
    cmd("brpop", brpop),
    cmd("blmove", blmove),
    cmd("brpoplpush", brpoplpush),
    cmd("blmpop", blmpop).getkeys(GetKeys::NUMKEYS_AT_2),
    cmd("sort", sort::sort)
        .getkeys(GetKeys::Sort)
        .writing(WrittenKeys::StoreOption),
    cmd("sort_ro", sort::sort_ro).getkeys(GetKeys::SortRo),
];

// ---- helpers ----------------------------------------------------------------

/// Writes one list element as a bulk string (no allocation).
#[inline]
pub(crate) fn reply_lp(c: &mut Client, v: LpValue<'_>) {
    match v {
        LpValue::Str(s) => c.out.bulk(s),
        LpValue::Int(i) => c.out.bulk_i64(i),
    }
}

/// A new empty list with the configured node settings.
pub(crate) fn new_list(srv: &Server) -> ListValue {
    ListValue::new(
        srv.config.list_max_listpack_size,
        srv.config.list_compress_depth,
    )
}

/// The keyspace event of a push onto `end`.
fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// The keyspace event of a pop from `end`.
fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

/// `listElementsRemoved`-style events after a pop from `key`: the pop,
/// then "del" if the list was emptied (and removed).
fn notify_popped(srv: &mut Server, c: &mut Client, key: &[u8], end: End, emptied: bool) {
    notify::event(srv, c, notify::LIST, pop_event(end), key);
    if emptied {
        notify::event(srv, c, notify::GENERIC, "del", key);
    }
}

/// `getListPositionFromObjectOrReply`: LEFT or RIGHT.
/// LEFT / RIGHT, as LMOVE spells an end.
fn end_name(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LEFT",
        End::Tail => b"RIGHT",
    }
}

fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if arg.eq_ignore_ascii_case(b"left") {
        Ok(End::Head)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Ok(End::Tail)
    } else {
        Err(CmdError::Syntax)
    }
}

/// `getPositiveLongFromObjectOrReply(..., msg)`: any parse failure or a
/// negative value replies `msg`.
fn parse_non_negative(arg: &[u8], msg: &'static str) -> Result<i64, CmdError> {
    num::parse_i64(arg)
        .filter(|v| *v >= 0)
        .ok_or(CmdError::Static(msg))
}

/// `getRangeLongFromObjectOrReply(1, LONG_MAX, msg)`.
fn parse_positive(arg: &[u8], msg: &'static str) -> Result<i64, CmdError> {
    num::parse_i64(arg)
        .filter(|v| *v >= 1)
        .ok_or(CmdError::Static(msg))
}

/// Replies the `n` (>= 1, <= len) elements a POP with COUNT removes from
/// `end` (tail pops list tail-first), then removes them.
fn pop_range_reply(c: &mut Client, l: &mut ListValue, n: usize, end: End) {
    c.out.array(n);
    match end {
        End::Head => {
            for v in l.range(0, n as i64 - 1) {
                reply_lp(c, v);
            }
            l.delete_range(0, n as i64);
        }
        End::Tail => {
            for v in l.iter_rev().take(n) {
                reply_lp(c, v);
            }
            l.delete_range(-(n as i64), n as i64);
        }
    }
}

/// Pops one element from `end` replying it as a bulk string.
fn pop_one_reply(c: &mut Client, l: &mut ListValue, end: End) {
    let idx = if end == End::Head { 0 } else { -1 };
    if let Some(v) = l.index(idx) {
        reply_lp(c, v);
    }
    l.delete_range(idx, 1);
}

// ---- push / pop -------------------------------------------------------------

/// `pushGenericCommand`: LPUSH/RPUSH, and with `xx` LPUSHX/RPUSHX.
fn push_generic(srv: &mut Server, c: &mut Client, a: &Args, end: End, xx: bool) -> CmdResult {
    let key = a.get(1);
    let fresh = new_list(srv);
    let db = &mut srv.dbs[c.db];
    let len = match write::<ListValue>(db, key)? {
        Some(l) => {
            for v in a.iter().skip(2) {
                l.push(v, end);
            }
            l.len()
        }
        None => {
            if xx {
                c.out.int(0);
                return Ok(());
            }
            let mut l = fresh;
            for v in a.iter().skip(2) {
                l.push(v, end);
            }
            let n = l.len();
            db.add(key, Value::list(l));
            n
        }
    };
    srv.dirty += (a.len() - 2) as u64;
    notify::event(srv, c, notify::LIST, push_event(end), key);
    c.out.int(len as i64);
    blocking::signal_key_ready(srv, c.db, key);
    Ok(())
}

fn lpush(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    push_generic(srv, c, a, End::Head, false)
}

fn rpush(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    push_generic(srv, c, a, End::Tail, false)
}

fn lpushx(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    push_generic(srv, c, a, End::Head, true)
}

fn rpushx(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    push_generic(srv, c, a, End::Tail, true)
}

/// `popGenericCommand`: LPOP/RPOP key [count].
fn pop_generic(srv: &mut Server, c: &mut Client, a: &Args, end: End) -> CmdResult {
    if a.len() > 3 {
        return Err(error::wrong_arity(if end == End::Head {
            "lpop"
        } else {
            "rpop"
        }));
    }
    let count = if a.len() == 3 {
        Some(parse_non_negative(a.get(2), error::NOT_IN_RANGE_MAX)?)
    } else {
        None
    };
    let key = a.get(1);
    let db = &mut srv.dbs[c.db];
    let Some(l) = write::<ListValue>(db, key)? else {
        if count.is_some() {
            c.out.null_array();
        } else {
            c.out.null();
        }
        return Ok(());
    };
    let n = match count {
        Some(0) => {
            c.out.empty_array();
            return Ok(());
        }
        None => {
            pop_one_reply(c, l, end);
            1
        }
        Some(cnt) => {
            let n = (cnt as u64).min(l.len() as u64) as usize;
            pop_range_reply(c, l, n, end);
            n
        }
    };
    let emptied = l.is_empty();
    if emptied {
        db.delete(key);
    }
    srv.dirty += n as u64;
    notify_popped(srv, c, key, end, emptied);
    Ok(())
}

fn lpop(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    pop_generic(srv, c, a, End::Head)
}

fn rpop(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    pop_generic(srv, c, a, End::Tail)
}

// ---- reads ------------------------------------------------------------------

fn llen(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let n = read::<ListValue>(&mut srv.dbs[c.db], a.get(1))?.map_or(0, |l| l.len());
    c.out.int(n as i64);
    Ok(())
}

fn lrange(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let start = a.i64(2)?;
    let stop = a.i64(3)?;
    let Some(l) = read::<ListValue>(&mut srv.dbs[c.db], a.get(1))? else {
        c.out.empty_array();
        return Ok(());
    };
    match l.normalize_range(start, stop) {
        None => c.out.empty_array(),
        Some((s, e)) => {
            c.out.array(e - s + 1);
            for v in l.range(s as i64, e as i64) {
                reply_lp(c, v);
            }
        }
    }
    Ok(())
}

fn lindex(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let Some(l) = read::<ListValue>(&mut srv.dbs[c.db], a.get(1))? else {
        c.out.null();
        return Ok(());
    };
    let idx = a.i64(2)?;
    match l.index(idx) {
        Some(v) => reply_lp(c, v),
        None => c.out.null(),
    }
    Ok(())
}

fn lpos(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let ele = a.get(2);
    let mut rank: i64 = 1;
    let mut count: i64 = -1; // -1: COUNT not given
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        if a.is(j, "RANK") && more {
            j += 1;
            rank = a.i64(j)?;
            if rank == 0 {
                return Err(CmdError::Static(error::LPOS_RANK_ZERO));
            }
        } else if a.is(j, "COUNT") && more {
            j += 1;
            count = parse_non_negative(a.get(j), error::LPOS_COUNT_NEGATIVE)?;
        } else if a.is(j, "MAXLEN") && more {
            j += 1;
            maxlen = parse_non_negative(a.get(j), error::LPOS_MAXLEN_NEGATIVE)?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    // A negative rank searches from the tail (i64::MIN stays negative, as
    // in C, and then matches from the first hit).
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let Some(l) = read::<ListValue>(&mut srv.dbs[c.db], a.get(1))? else {
        if count != -1 {
            c.out.empty_array();
        } else {
            c.out.null();
        }
        return Ok(());
    };
    let llen = l.len() as i64;
    let deferred = (count != -1).then(|| c.out.defer());
    let mut matches: i64 = 0;
    let mut found: Option<i64> = None;
    let mut emitted = 0usize;
    let mut fwd;
    let mut rev;
    let it: &mut dyn Iterator<Item = LpValue<'_>> = if from_tail {
        rev = l.iter_rev();
        &mut rev
    } else {
        fwd = l.iter();
        &mut fwd
    };
    for (index, v) in it.enumerate() {
        let index = index as i64;
        if maxlen != 0 && index >= maxlen {
            break;
        }
        if v.eq_bytes(ele) {
            matches += 1;
            let pos = if from_tail { llen - index - 1 } else { index };
            if matches >= rank {
                if deferred.is_some() {
                    emitted += 1;
                    c.out.int(pos);
                    if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count {
                        break;
                    }
                } else {
                    found = Some(pos);
                    break;
                }
            }
        }
    }
    match deferred {
        Some(d) => c.out.set_array(d, emitted),
        None => match found {
            Some(p) => c.out.int(p),
            None => c.out.null(),
        },
    }
    Ok(())
}

// ---- in-place edits ---------------------------------------------------------

fn lset(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let Some(l) = write::<ListValue>(&mut srv.dbs[c.db], a.get(1))? else {
        return Err(CmdError::NoSuchKey);
    };
    let idx = a.i64(2)?;
    if !l.set(idx, a.get(3)) {
        return Err(CmdError::IndexOutOfRange);
    }
    srv.dirty += 1;
    notify::event(srv, c, notify::LIST, "lset", a.get(1));
    c.out.ok();
    Ok(())
}

fn linsert(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let after = if a.is(2, "AFTER") {
        true
    } else if a.is(2, "BEFORE") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let key = a.get(1);
    let Some(l) = write::<ListValue>(&mut srv.dbs[c.db], key)? else {
        c.out.int(0);
        return Ok(());
    };
    if !l.insert_at_pivot(a.get(3), a.get(4), after) {
        c.out.int(-1);
        return Ok(());
    }
    let n = l.len();
    srv.dirty += 1;
    notify::event(srv, c, notify::LIST, "linsert", key);
    c.out.int(n as i64);
    blocking::signal_key_ready(srv, c.db, key);
    Ok(())
}

fn lrem(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let count = a.i64(2)?;
    let key = a.get(1);
    let db = &mut srv.dbs[c.db];
    let Some(l) = write::<ListValue>(db, key)? else {
        c.out.int(0);
        return Ok(());
    };
    let removed = l.remove(a.get(3), count);
    let emptied = l.is_empty();
    if emptied {
        db.delete(key);
    }
    srv.dirty += removed as u64;
    if removed > 0 {
        notify::event(srv, c, notify::LIST, "lrem", key);
        if emptied {
            notify::event(srv, c, notify::GENERIC, "del", key);
        }
    }
    c.out.int(removed as i64);
    Ok(())
}

fn ltrim(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let start = a.i64(2)?;
    let stop = a.i64(3)?;
    let key = a.get(1);
    let db = &mut srv.dbs[c.db];
    let Some(l) = write::<ListValue>(db, key)? else {
        c.out.ok();
        return Ok(());
    };
    let removed = l.trim(start, stop);
    let emptied = l.is_empty();
    if emptied {
        db.delete(key);
    }
    srv.dirty += removed as u64;
    // Redis notifies "ltrim" even when nothing was trimmed.
    notify::event(srv, c, notify::LIST, "ltrim", key);
    if emptied {
        notify::event(srv, c, notify::GENERIC, "del", key);
    }
    c.out.ok();
    Ok(())
}

// ---- LMOVE family -----------------------------------------------------------

/// `lmoveGenericCommand`: pops from `src`'s `from` end and pushes onto
/// `dst`'s `to` end, replying the element (nil if `src` is missing).
fn lmove_generic(
    srv: &mut Server,
    c: &mut Client,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> CmdResult {
    let fresh = new_list(srv);
    let db = &mut srv.dbs[c.db];
    match write::<ListValue>(db, src)? {
        Some(l) if !l.is_empty() => {}
        _ => {
            c.out.null();
            return Ok(());
        }
    }
    if src != dst {
        write::<ListValue>(db, dst)?;
    }
    let mut val = Vec::new();
    let Some(l) = write::<ListValue>(db, src)? else {
        c.out.null();
        return Ok(());
    };
    l.pop_into(from, &mut val);
    let mut emptied = false;
    if src == dst {
        l.push(&val, to);
    } else {
        emptied = l.is_empty();
        if emptied {
            db.delete(src);
        }
        match write::<ListValue>(db, dst)? {
            Some(d) => d.push(&val, to),
            None => {
                let mut d = fresh;
                d.push(&val, to);
                db.add(dst, Value::list(d));
            }
        }
    }
    srv.dirty += 1;
    // Redis: the push onto dst (lmoveHandlePush), then the pop from src.
    notify::event(srv, c, notify::LIST, push_event(to), dst);
    notify_popped(srv, c, src, from, emptied);
    c.out.bulk(&val);
    blocking::signal_key_ready(srv, c.db, dst);
    Ok(())
}

fn lmove(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let from = parse_end(a.get(3))?;
    let to = parse_end(a.get(4))?;
    lmove_generic(srv, c, a.get(1), a.get(2), from, to)
}

fn rpoplpush(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    lmove_generic(srv, c, a.get(1), a.get(2), End::Tail, End::Head)
}

/// `blmoveGenericCommand`; `brpoplpush`: BRPOPLPUSH rather than BLMOVE.
fn blmove_generic(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    (from, to): (End, End),
    deadline: i64,
    brpoplpush: bool,
) -> CmdResult {
    let src = a.get(1);
    let exists = write::<ListValue>(&mut srv.dbs[c.db], src)?.is_some_and(|l| !l.is_empty());
    if exists {
        lmove_generic(srv, c, src, a.get(2), from, to)?;
        // Propagated as the non-blocking form: RPOPLPUSH for BRPOPLPUSH,
        // LMOVE for BLMOVE (Redis 7.0).
        if brpoplpush {
            crate::propagate::rewrite(srv, c.db, &[b"RPOPLPUSH", src, a.get(2)]);
        } else {
            let (f, t) = (end_name(from), end_name(to));
            crate::propagate::rewrite(srv, c.db, &[b"LMOVE", src, a.get(2), f, t]);
        }
        return Ok(());
    }
    if blocking::must_not_block(c) {
        c.out.null();
    } else {
        blocking::block_on_keys(srv, c, LIST, &[src], deadline, a);
    }
    Ok(())
}

fn blmove(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let from = parse_end(a.get(3))?;
    let to = parse_end(a.get(4))?;
    let deadline = blocking::parse_timeout(a.get(5))?;
    blmove_generic(srv, c, a, (from, to), deadline, false)
}

fn brpoplpush(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let deadline = blocking::parse_timeout(a.get(3))?;
    blmove_generic(srv, c, a, (End::Tail, End::Head), deadline, true)
}

// ---- multi-key pops -------------------------------------------------------

/// Pops from the first non-empty list among `keys` (argument indexes).
/// `count` None: BLPOP/BRPOP reply `[key, element]`; Some(n): LMPOP reply
/// `[key, [elements...]]`. Returns false (no reply written) when every
/// key is missing or empty.
fn pop_first_nonempty(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    keys: std::ops::Range<usize>,
    end: End,
    count: Option<i64>,
) -> Result<bool, CmdError> {
    for i in keys {
        let key = a.get(i);
        let db = &mut srv.dbs[c.db];
        let Some(l) = write::<ListValue>(db, key)? else {
            continue;
        };
        if l.is_empty() {
            continue;
        }
        c.out.array(2);
        c.out.bulk(key);
        let n = match count {
            None => {
                pop_one_reply(c, l, end);
                1
            }
            Some(cnt) => {
                let n = (cnt as u64).min(l.len() as u64) as usize;
                pop_range_reply(c, l, n, end);
                n
            }
        };
        let emptied = l.is_empty();
        if emptied {
            db.delete(key);
        }
        srv.dirty += n as u64;
        notify_popped(srv, c, key, end, emptied);
        // Propagated as [LR]POP key [count] (Redis 7.0).
        if srv.prop.active() {
            let cmd: &[u8] = match end {
                End::Head => b"LPOP",
                End::Tail => b"RPOP",
            };
            match count {
                None => crate::propagate::rewrite(srv, c.db, &[cmd, key]),
                Some(_) => {
                    let n = n.to_string();
                    crate::propagate::rewrite(srv, c.db, &[cmd, key, n.as_bytes()]);
                }
            }
        }
        return Ok(true);
    }
    Ok(false)
}

/// Blocks on the keys at `keys` (argument indexes), or replies a null
/// array when blocking is not allowed.
fn block_or_null(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    keys: std::ops::Range<usize>,
    deadline: i64,
) {
    if blocking::must_not_block(c) {
        c.out.null_array();
        return;
    }
    let keys: Vec<&[u8]> = keys.map(|i| a.get(i)).collect();
    blocking::block_on_keys(srv, c, LIST, &keys, deadline, a);
}

fn blocking_pop(srv: &mut Server, c: &mut Client, a: &Args, end: End) -> CmdResult {
    let last = a.len() - 1;
    let deadline = blocking::parse_timeout(a.get(last))?;
    if !pop_first_nonempty(srv, c, a, 1..last, end, None)? {
        block_or_null(srv, c, a, 1..last, deadline);
    }
    Ok(())
}

fn blpop(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    blocking_pop(srv, c, a, End::Head)
}

fn brpop(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    blocking_pop(srv, c, a, End::Tail)
}

/// `lmpopGenericCommand`: [timeout] numkeys key... LEFT|RIGHT [COUNT n].
fn lmpop_generic(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    numkeys_idx: usize,
    block: bool,
) -> CmdResult {
    let numkeys = parse_positive(a.get(numkeys_idx), error::NUMKEYS_NOT_POSITIVE)?;
    let where_idx = (numkeys as u64).saturating_add(numkeys_idx as u64 + 1);
    if where_idx >= a.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let end = parse_end(a.get(where_idx))?;
    let mut count: i64 = -1;
    let mut j = where_idx + 1;
    while j < a.len() {
        if count == -1 && a.is(j, "COUNT") && j + 1 < a.len() {
            j += 1;
            count = parse_positive(a.get(j), error::MPOP_COUNT_NOT_POSITIVE)?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if count == -1 {
        count = 1;
    }
    let keys = numkeys_idx + 1..where_idx;
    if block {
        let deadline = blocking::parse_timeout(a.get(1))?;
        if !pop_first_nonempty(srv, c, a, keys.clone(), end, Some(count))? {
            block_or_null(srv, c, a, keys, deadline);
        }
    } else if !pop_first_nonempty(srv, c, a, keys, end, Some(count))? {
        c.out.null_array();
    }
    Ok(())
}

fn lmpop(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    lmpop_generic(srv, c, a, 1, false)
}

fn blmpop(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    lmpop_generic(srv, c, a, 2, true)
}
