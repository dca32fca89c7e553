//! Set commands (Redis 7.0's t_set.c): SADD SREM SMEMBERS SISMEMBER
//! SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER SINTERCARD SINTERSTORE
//! SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN.
//!
//! Handlers only use the `types::set` API. Replies, error texts, the SPOP /
//! SRANDMEMBER case analysis, SINTER's smallest-set-first iteration and
//! SDIFF's algorithm choice follow Redis so that reply order (sorted for
//! intsets) and the destination encodings of the *STORE commands match.

use super::scan::{parse_cursor, reply_head, ScanOpts};
use super::typed::{read, write};
use crate::client::Client;
use crate::cmdtable::meta::GetKeys;
use crate::cmdtable::WrittenKeys;
use crate::cmdtable::{cmd, CommandSpec};
use crate::db::Db;
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::Value;
use crate::object::{ValueMut, ValueRef};
use crate::propagate;
use crate::protocol::args::Args;
use crate::server::Server;
use crate::types::set::{Member, SetValue};
use crate::util::num;
use rand::Rng;
use std::collections::HashSet;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd("sadd", sadd),
    cmd("srem", srem),
    cmd("smembers", smembers),
    cmd("sismember", sismember),
    cmd("smismember", smismember),
    cmd("scard", scard),
    cmd("spop", spop),
    cmd("srandmember", srandmember),
    cmd("smove", smove).writing(WrittenKeys::At(1)),
    cmd("sinter", sinter),
    cmd("sintercard", sintercard).getkeys(GetKeys::NUMKEYS_AT_1),
    cmd("sinterstore", sinterstore).writing(WrittenKeys::At(1)),
    cmd("sunion", sunion),
    cmd("sunionstore", sunionstore).writing(WrittenKeys::At(1)),
    cmd("sdiff", sdiff),
    cmd("sdiffstore", sdiffstore).writing(WrittenKeys::At(1)),
    cmd("sscan", sscan),
];

/// SPOP: above this ratio of popped to remaining members, build the
/// remainder as a new set instead (SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;
/// SRANDMEMBER: copy-then-subtract when count*3 > size
/// (SRANDMEMBER_SUB_STRATEGY_MUL).
const SRANDMEMBER_SUB_STRATEGY_MUL: usize = 3;

// ---- helpers ----------------------------------------------------------------

/// A set already looked up (no side effects): for holding several at once.
fn peek_set<'a>(db: &'a Db, key: &[u8]) -> Option<&'a SetValue> {
    match db.dict.get(key) {
        Some(o) => match o.value.get() {
            ValueRef::Set(s) => Some(s),
            _ => None,
        },
        None => None,
    }
}

#[inline]
/// A member's bytes (integers formatted), for propagation.
fn member_bytes(m: Member<'_>) -> Vec<u8> {
    match m {
        Member::Int(n) => n.to_string().into_bytes(),
        Member::Str(s) => s.to_vec(),
    }
}

fn reply_member(c: &mut Client, m: Member<'_>) {
    match m {
        Member::Int(n) => c.out.bulk_i64(n),
        Member::Str(s) => c.out.bulk(s),
    }
}

/// Replies `s` as `sunionDiffGenericCommand` with one key would: through a
/// fresh intset-first copy, whose order is ascending when it stays an intset.
fn reply_union_of_one(c: &mut Client, s: &SetValue, max: usize) {
    c.out.set(s.len());
    if s.is_intset() && s.len() <= max {
        for m in s.iter() {
            reply_member(c, m);
        }
        return;
    }
    let mut tmp = SetValue::new_intset();
    for m in s.iter() {
        tmp.add_member(m, max);
    }
    for m in tmp.iter() {
        reply_member(c, m);
    }
}

/// Stores a *STORE result (`setKey`, TTL cleared) or deletes the
/// destination when it is empty; replies with the cardinality. `event`
/// is the command's keyspace event ("sinterstore", ...).
fn store_result(srv: &mut Server, c: &mut Client, dst: &[u8], set: SetValue, event: &str) {
    let db = &mut srv.dbs[c.db];
    if !set.is_empty() {
        let n = set.len();
        db.set(dst, Value::set(set), false);
        c.out.int(n as i64);
        notify::event(srv, c, notify::SET, event, dst);
        srv.dirty += 1;
    } else {
        c.out.int(0);
        delete_dst(srv, c, dst);
    }
}

/// An empty *STORE result: the destination is deleted ("del" if it existed).
fn delete_dst(srv: &mut Server, c: &mut Client, dst: &[u8]) {
    if srv.dbs[c.db].delete(dst) {
        srv.dirty += 1;
        notify::event(srv, c, notify::GENERIC, "del", dst);
    }
}

// ---- single-key commands -----------------------------------------------------

fn sadd(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let max = srv.config.set_max_intset_entries;
    let key = a.get(1);
    let db = &mut srv.dbs[c.db];
    let mut added = 0u64;
    match write::<SetValue>(db, key)? {
        Some(s) => {
            for i in 2..a.len() {
                added += s.add(a.get(i), max) as u64;
            }
        }
        None => {
            let mut s = SetValue::new_for(a.get(2));
            for i in 2..a.len() {
                added += s.add(a.get(i), max) as u64;
            }
            db.add(key, Value::set(s));
        }
    }
    srv.dirty += added;
    if added > 0 {
        notify::event(srv, c, notify::SET, "sadd", key);
    }
    c.out.int(added as i64);
    Ok(())
}

fn srem(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let key = a.get(1);
    let db = &mut srv.dbs[c.db];
    let Some(s) = write::<SetValue>(db, key)? else {
        c.out.int(0);
        return Ok(());
    };
    let mut deleted = 0u64;
    let mut emptied = false;
    for i in 2..a.len() {
        if s.remove(a.get(i)) {
            deleted += 1;
            if s.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        db.delete(key);
    }
    srv.dirty += deleted;
    if deleted > 0 {
        notify::event(srv, c, notify::SET, "srem", key);
        if emptied {
            notify::event(srv, c, notify::GENERIC, "del", key);
        }
    }
    c.out.int(deleted as i64);
    Ok(())
}

fn smembers(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    sinter_generic(srv, c, a, 1, 1, None, false, 0)
}

fn sismember(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let found = match read::<SetValue>(&mut srv.dbs[c.db], a.get(1))? {
        Some(s) => s.contains(a.get(2)),
        None => false,
    };
    c.out.int(found as i64);
    Ok(())
}

fn smismember(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let s = read::<SetValue>(&mut srv.dbs[c.db], a.get(1))?;
    c.out.array(a.len() - 2);
    for i in 2..a.len() {
        let found = s.as_ref().is_some_and(|s| s.contains(a.get(i)));
        c.out.int(found as i64);
    }
    Ok(())
}

fn scard(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let n = read::<SetValue>(&mut srv.dbs[c.db], a.get(1))?.map_or(0, |s| s.len());
    c.out.int(n as i64);
    Ok(())
}

fn spop(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len() == 3 {
        return spop_with_count(srv, c, a);
    } else if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = a.get(1);
    let db = &mut srv.dbs[c.db];
    let rng = &mut srv.rng;
    let Some(s) = write::<SetValue>(db, key)? else {
        c.out.null();
        return Ok(());
    };
    let Some(p) = s.pop_random(rng) else {
        c.out.null();
        return Ok(());
    };
    reply_member(c, p.as_member());
    // Random: propagated as the SREM of what was popped.
    let popped = srv.prop.active().then(|| member_bytes(p.as_member()));
    let emptied = s.is_empty();
    if emptied {
        db.delete(key);
    }
    srv.dirty += 1;
    notify::event(srv, c, notify::SET, "spop", key);
    if emptied {
        notify::event(srv, c, notify::GENERIC, "del", key);
    }
    if let Some(m) = popped {
        propagate::rewrite(srv, c.db, &[b"SREM", key, &m]);
    }
    Ok(())
}

fn spop_with_count(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let count = match num::parse_i64(a.get(2)) {
        Some(n) if n >= 0 => n as u64,
        _ => return Err(CmdError::Static(error::NOT_IN_RANGE_MAX)),
    };
    let max = srv.config.set_max_intset_entries;
    let key = a.get(1);
    let db = &mut srv.dbs[c.db];
    let rng = &mut srv.rng;
    let Some(s) = write::<SetValue>(db, key)? else {
        c.out.set(0);
        return Ok(());
    };
    if count == 0 {
        c.out.set(0);
        return Ok(());
    }
    let size = s.len();
    // CASE 1: the whole set.
    if count >= size as u64 {
        reply_union_of_one(c, s, max);
        db.delete(key);
        srv.dirty += size as u64;
        notify::event(srv, c, notify::SET, "spop", key);
        notify::event(srv, c, notify::GENERIC, "del", key);
        let del = propagate::del_command(srv.config.lazyfree_lazy_server_del);
        propagate::rewrite(srv, c.db, &[del, key]);
        return Ok(());
    }
    let count = count as usize;
    let remaining = size - count;
    c.out.set(count);
    // Random: propagated as SREMs of what was popped.
    let record = srv.prop.active();
    let mut popped: Vec<Vec<u8>> = Vec::new();
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        // CASE 2: pop `count` random members.
        for _ in 0..count {
            match s.pop_random(rng) {
                Some(p) => {
                    reply_member(c, p.as_member());
                    if record {
                        popped.push(member_bytes(p.as_member()));
                    }
                }
                None => break,
            }
        }
    } else {
        // CASE 3: move the `remaining` survivors to a new set, reply with
        // what is left in the old one, and store the new set in its place.
        let mut newset: Option<SetValue> = None;
        for _ in 0..remaining {
            let Some(p) = s.pop_random(rng) else {
                break;
            };
            let m = p.as_member();
            newset
                .get_or_insert_with(|| SetValue::new_for_member(m))
                .add_member(m, max);
        }
        for m in s.iter() {
            reply_member(c, m);
            if record {
                popped.push(member_bytes(m));
            }
        }
        if let Some(ns) = newset {
            *s = ns;
        }
    }
    srv.dirty += count as u64;
    notify::event(srv, c, notify::SET, "spop", key);
    if record {
        // Batched like Redis (SPOP_MOVE_STRATEGY batches of 1024).
        for chunk in popped.chunks(1024) {
            let mut argv: Vec<&[u8]> = vec![b"SREM", key];
            argv.extend(chunk.iter().map(|m| m.as_slice()));
            propagate::also_propagate(srv, c.db, &argv, propagate::TO_ALL);
        }
        propagate::prevent_current(srv);
    }
    Ok(())
}

fn srandmember(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len() == 3 {
        return srandmember_with_count(srv, c, a);
    } else if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let db = &mut srv.dbs[c.db];
    let rng = &mut srv.rng;
    let set = read::<SetValue>(db, a.get(1))?.map(|s| {
        s.rehash_for_random(1);
        &*s
    });
    match set.and_then(|s| s.random(rng)) {
        Some(m) => reply_member(c, m),
        None => c.out.null(),
    }
    Ok(())
}

fn srandmember_with_count(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let l = a.i64(2)?;
    if l == i64::MIN {
        return Err(CmdError::Static(error::SET_SRANDMEMBER_RANGE));
    }
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    let db = &mut srv.dbs[c.db];
    let rng = &mut srv.rng;
    let (cfg, stats) = (&srv.config, &mut srv.stats);
    let Some(s) = read::<SetValue>(db, a.get(1))? else {
        c.out.empty_array();
        return Ok(());
    };
    if count == 0 {
        c.out.empty_array();
        return Ok(());
    }
    let size = s.len();
    // Redis's sampling rehashes as it goes; do that work up front, as
    // much as the picks below would (bounded by the table size).
    s.rehash_for_random(count.min(size as u64) as usize);
    let s = &*s;
    // CASE 1: negative count (repeats allowed) or a single member.
    if !uniq || count == 1 {
        c.out.array(count as usize);
        let mut guard = crate::client_mem::ObufGuard::new(c);
        for _ in 0..count {
            match s.random(rng) {
                Some(m) => reply_member(c, m),
                None => break,
            }
            if guard.stop(cfg, stats, c) {
                break;
            }
        }
        return Ok(());
    }
    // CASE 2: the whole set.
    if count >= size as u64 {
        c.out.array(size);
        for m in s.iter() {
            reply_member(c, m);
        }
        return Ok(());
    }
    let count = count as usize;
    let picked: Vec<Member<'_>> = if count * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        // CASE 3: copy everything, drop random members down to `count`.
        let mut all: Vec<Member<'_>> = s.iter().collect();
        while all.len() > count {
            let i = rng.gen_range(0..all.len());
            all.swap_remove(i);
        }
        all
    } else {
        // CASE 4: sample until `count` distinct members.
        let mut seen: HashSet<Member<'_>> = HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let Some(m) = s.random(rng) else {
                break;
            };
            if seen.insert(m) {
                out.push(m);
            }
        }
        out
    };
    c.out.array(picked.len());
    for m in picked {
        reply_member(c, m);
    }
    Ok(())
}

fn smove(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let (src, dst, ele) = (a.get(1), a.get(2), a.get(3));
    let max = srv.config.set_max_intset_entries;
    let db = &mut srv.dbs[c.db];
    let is_set = |v: &Value| matches!(v.get(), ValueRef::Set(_));
    let src_state = db.lookup_write(src).map(|o| is_set(&o.value));
    let dst_state = db.lookup_write(dst).map(|o| is_set(&o.value));
    let Some(src_is_set) = src_state else {
        c.out.int(0);
        return Ok(());
    };
    if !src_is_set || dst_state == Some(false) {
        return Err(CmdError::WrongType);
    }
    if src == dst {
        let found = peek_set(db, src).is_some_and(|s| s.contains(ele));
        c.out.int(found as i64);
        return Ok(());
    }
    let (removed, emptied) = match db.dict.get_mut(src).map(|o| o.value.get_mut()) {
        Some(ValueMut::Set(s)) => {
            let r = s.remove(ele);
            (r, s.is_empty())
        }
        _ => (false, false),
    };
    if !removed {
        c.out.int(0);
        return Ok(());
    }
    if emptied {
        db.delete(src);
    }
    srv.dirty += 1;
    notify::event(srv, c, notify::SET, "srem", src);
    if emptied {
        notify::event(srv, c, notify::GENERIC, "del", src);
    }
    let db = &mut srv.dbs[c.db];
    let added = match db.dict.get_mut(dst).map(|o| o.value.get_mut()) {
        Some(ValueMut::Set(s)) => s.add(ele, max),
        _ => {
            let mut s = SetValue::new_for(ele);
            s.add(ele, max);
            db.add(dst, Value::set(s));
            true
        }
    };
    if added {
        srv.dirty += 1;
        let db = c.db;
        srv.signal_modified_key(Some(&mut *c), db, dst);
        notify::event(srv, c, notify::SET, "sadd", dst);
    }
    c.out.int(1);
    Ok(())
}

// ---- multi-key commands --------------------------------------------------------

fn sinter(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    sinter_generic(srv, c, a, 1, a.len() - 1, None, false, 0)
}

fn sinterstore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    sinter_generic(srv, c, a, 2, a.len() - 2, Some(a.get(1)), false, 0)
}

fn sintercard(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let numkeys = match num::parse_i64(a.get(1)) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::Static(error::SET_NUMKEYS_POSITIVE)),
    };
    if numkeys > (a.len() - 2) as u64 {
        return Err(CmdError::Static(error::SET_NUMKEYS_TOO_MANY));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < a.len() {
        if a.is(j, "LIMIT") && j + 1 < a.len() {
            j += 1;
            limit = match num::parse_i64(a.get(j)) {
                Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err(CmdError::Static(error::SET_LIMIT_NEGATIVE)),
            };
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    sinter_generic(srv, c, a, 2, numkeys, None, true, limit)
}

/// `sinterGenericCommand`: SINTER / SMEMBERS / SINTERSTORE / SINTERCARD
/// over keys `a[first .. first + n]`.
#[allow(clippy::too_many_arguments)]
fn sinter_generic(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    first: usize,
    n: usize,
    dst: Option<&[u8]>,
    card_only: bool,
    limit: usize,
) -> CmdResult {
    let max = srv.config.set_max_intset_entries;
    let db = &mut srv.dbs[c.db];
    let mut empty = false;
    for j in 0..n {
        if read::<SetValue>(db, a.get(first + j))?.is_none() {
            empty = true;
        }
    }
    if empty {
        if let Some(d) = dst {
            delete_dst(srv, c, d);
            c.out.int(0);
        } else if card_only {
            c.out.int(0);
        } else {
            c.out.set(0);
        }
        return Ok(());
    }
    let mut sets: Vec<(&[u8], &SetValue)> = Vec::with_capacity(n);
    for j in 0..n {
        let k = a.get(first + j);
        if let Some(s) = peek_set(db, k) {
            sets.push((k, s));
        }
    }
    // Smallest first (stable, like glibc's merge-sort qsort).
    sets.sort_by_key(|(_, s)| s.len());
    let Some(&(k0, s0)) = sets.first() else {
        c.out.set(0);
        return Ok(());
    };
    if sets.len() == 1 && dst.is_none() && !card_only {
        // SMEMBERS / single-key SINTER: the size is known, no deferred header.
        c.out.set(s0.len());
        for m in s0.iter() {
            reply_member(c, m);
        }
        return Ok(());
    }
    let mut dstset = dst.map(|_| SetValue::new_intset());
    let deferred = (dst.is_none() && !card_only).then(|| c.out.defer());
    let mut card = 0usize;
    'members: for m in s0.iter() {
        for &(k, s) in &sets[1..] {
            if k != k0 && !s.contains_member(m) {
                continue 'members;
            }
        }
        if card_only {
            card += 1;
            if limit != 0 && card >= limit {
                break;
            }
        } else if let Some(ds) = dstset.as_mut() {
            ds.add_member(m, max);
        } else {
            reply_member(c, m);
            card += 1;
        }
    }
    if card_only {
        c.out.int(card as i64);
    } else if let (Some(d), Some(ds)) = (dst, dstset) {
        store_result(srv, c, d, ds, "sinterstore");
    } else if let Some(d) = deferred {
        c.out.set_set(d, card);
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Diff,
}

fn sunion(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    sunion_diff_generic(srv, c, a, 1, None, SetOp::Union)
}

fn sunionstore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    sunion_diff_generic(srv, c, a, 2, Some(a.get(1)), SetOp::Union)
}

fn sdiff(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    sunion_diff_generic(srv, c, a, 1, None, SetOp::Diff)
}

fn sdiffstore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    sunion_diff_generic(srv, c, a, 2, Some(a.get(1)), SetOp::Diff)
}

/// `sunionDiffGenericCommand` over keys `a[first..]`: the result is built
/// in an intset-first set (so its encoding and order match Redis's), then
/// replied or stored.
fn sunion_diff_generic(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    first: usize,
    dst: Option<&[u8]>,
    op: SetOp,
) -> CmdResult {
    let max = srv.config.set_max_intset_entries;
    let n = a.len() - first;
    let db = &mut srv.dbs[c.db];
    for j in 0..n {
        read::<SetValue>(db, a.get(first + j))?;
    }
    let mut sets: Vec<Option<(&[u8], &SetValue)>> = (0..n)
        .map(|j| {
            let k = a.get(first + j);
            peek_set(db, k).map(|s| (k, s))
        })
        .collect();
    // sets[j] == sets[0] in Redis compares objects: same key, or both absent.
    let key0 = sets.first().copied().flatten().map(|(k, _)| k);
    let sameset = (1..n).any(|j| sets[j].map(|(k, _)| k) == key0);
    let mut dstset = SetValue::new_intset();
    match op {
        SetOp::Union => {
            for (_, s) in sets.iter().flatten() {
                for m in s.iter() {
                    dstset.add_member(m, max);
                }
            }
        }
        SetOp::Diff => {
            if let (Some((k0, s0)), false) = (sets[0], sameset) {
                let mut algo_one = 0usize;
                let mut algo_two = 0usize;
                for (_, s) in sets.iter().flatten() {
                    algo_one = algo_one.saturating_add(s0.len());
                    algo_two = algo_two.saturating_add(s.len());
                }
                algo_one /= 2;
                if algo_one <= algo_two {
                    // Algorithm 1: each member of the first set against all
                    // others, biggest first.
                    sets[1..].sort_by_key(|o| std::cmp::Reverse(o.map_or(0, |(_, s)| s.len())));
                    'members: for m in s0.iter() {
                        for (k, s) in sets[1..].iter().flatten() {
                            if *k == k0 || s.contains_member(m) {
                                continue 'members;
                            }
                        }
                        dstset.add_member(m, max);
                    }
                } else {
                    // Algorithm 2: add the first set, remove all the others.
                    for (j, o) in sets.iter().enumerate() {
                        let Some((_, s)) = o else {
                            continue;
                        };
                        for m in s.iter() {
                            if j == 0 {
                                dstset.add_member(m, max);
                            } else {
                                dstset.remove_member(m);
                            }
                        }
                        if dstset.is_empty() {
                            break;
                        }
                    }
                }
            }
        }
    }
    match dst {
        None => {
            c.out.set(dstset.len());
            for m in dstset.iter() {
                reply_member(c, m);
            }
        }
        Some(d) => {
            let event = match op {
                SetOp::Union => "sunionstore",
                SetOp::Diff => "sdiffstore",
            };
            store_result(srv, c, d, dstset, event)
        }
    }
    Ok(())
}

// ---- SSCAN -----------------------------------------------------------------------

fn sscan(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let cursor = parse_cursor(a.get(2))?;
    let Some(s) = read::<SetValue>(&mut srv.dbs[c.db], a.get(1))? else {
        reply_head(c, 0, 0);
        return Ok(());
    };
    let opts = ScanOpts::parse(a, 3, false)?;
    let mut tmp = [0u8; 20];
    match s {
        SetValue::Intset(is) => {
            let found: Vec<i64> = is
                .iter()
                .filter(|&v| opts.matches(num::format_i64(v, &mut tmp)))
                .collect();
            reply_head(c, 0, found.len());
            for v in found {
                c.out.bulk_i64(v);
            }
        }
        SetValue::Hash(d) => {
            let mut found: Vec<&[u8]> = Vec::new();
            let cur = d.scan_batch(cursor, opts.count, 1, |k, _| found.push(k));
            found.retain(|k| opts.matches(k));
            reply_head(c, cur, found.len());
            for k in found {
                c.out.bulk(k);
            }
        }
    }
    Ok(())
}
