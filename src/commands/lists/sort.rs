//! SORT and SORT_RO (Redis 7.0's sort.c): sorts a list, set or sorted set
//! numerically or lexicographically, optionally by external keys (`BY
//! pattern`, `pattern->field` for hash fields, or a constant pattern to
//! skip sorting), with LIMIT, GET patterns (`#` = the element itself) and
//! STORE into a list.
//!
//! SORT is not a hot path: elements are copied out of the source value
//! first, because the BY/GET lookups need the keyspace mutably.

use crate::object::{ValueMut, ValueRef};
use crate::protocol::args::Args;
use std::cmp::Ordering;

use super::new_list;
use crate::blocking;
use crate::client::Client;
use crate::db::Db;
use crate::ds::listpack::LpValue;
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::Value;
use crate::server::Server;
use crate::types::hash::HashValue;
use crate::types::list::End;
use crate::types::set::SetValue;
use crate::types::zset::ZSetValue;
use crate::util::num;

pub(super) fn sort(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    sort_generic(srv, c, a, false)
}

pub(super) fn sort_ro(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    sort_generic(srv, c, a, true)
}

/// One element being sorted (Redis's redisSortObject).
struct Item {
    obj: Vec<u8>,
    score: f64,
    /// The BY value for ALPHA sorts with a pattern (None: key missing).
    cmp: Option<Vec<u8>>,
}

/// A hash field's value as bytes.
fn hash_field(h: &HashValue, field: &[u8]) -> Option<Vec<u8>> {
    h.get(field).map(|v| v.to_vec())
}

/// Members of a set in iteration order.
fn set_members(s: &SetValue) -> Vec<Vec<u8>> {
    s.members_to_vec()
}

/// Members of a sorted set in score order.
fn zset_members(z: &ZSetValue) -> Vec<Vec<u8>> {
    z.iter().map(|(m, _)| m.to_vec()).collect()
}

/// `lookupKeyByPattern`: `#` is the element itself; otherwise the first
/// `*` is replaced by `subst` and the key read as a string, or, with a
/// `->field` suffix after the `*`, as a hash field. None when the
/// pattern has no `*`, the key is missing or of another type.
fn lookup_by_pattern(db: &mut Db, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(subst.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let (postfix, field) = match after.windows(2).position(|w| w == b"->") {
        Some(f) if f + 2 < after.len() => (&after[..f], Some(&after[f + 2..])),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(star + subst.len() + postfix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(postfix);
    let o = db.lookup_read(&key)?;
    match field {
        Some(f) => match o.value.get() {
            ValueRef::Hash(h) => hash_field(h, f),
            _ => None,
        },
        None => {
            let mut tmp = [0u8; 20];
            o.value.str_bytes(&mut tmp).map(|b| b.to_vec())
        }
    }
}

/// SORT's numeric conversion: C `strtod` over the whole string (leading
/// whitespace allowed, the empty string is 0), rejecting NaN and ERANGE.
/// Redis hands the sds buffer to `strtod`, which stops at the first NUL.
fn sort_score(b: &[u8]) -> Option<f64> {
    let b = cstr(b);
    if b.is_empty() {
        return Some(0.0);
    }
    let start = b
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    num::parse_f64(&b[start..])
}

/// The bytes a C string function sees: up to the first NUL.
fn cstr(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(n) => &b[..n],
        None => b,
    }
}

/// ALPHA comparison: binary with STORE (compareStringObjects), otherwise
/// `strcoll`, which (C / C.UTF-8 collation) compares up to the first NUL.
fn alpha_cmp(x: &[u8], y: &[u8], binary: bool) -> Ordering {
    if binary {
        x.cmp(y)
    } else {
        cstr(x).cmp(cstr(y))
    }
}

/// ACLUserCheckCmdWithUnrestrictedKeyAccess for the client's user: BY
/// and GET patterns read keys no key spec names, so they need read access
/// to every key.
fn full_key_access(srv: &Server, c: &Client, a: &Args) -> bool {
    if srv.acl.unrestricted.get(c.user).copied().unwrap_or(true) {
        return true;
    }
    let (Some(u), Some(id)) = (srv.acl.user(c.user), srv.commands.lookup(a.get(0))) else {
        return true;
    };
    let argv: Vec<&[u8]> = a.iter().collect();
    srv.acl
        .unrestricted_key_access(u, id, &argv, crate::acl::PERM_READ)
}

fn sort_generic(srv: &mut Server, c: &mut Client, a: &Args, readonly: bool) -> CmdResult {
    let mut desc = false;
    let mut alpha = false;
    let mut limit_start: i64 = 0;
    let mut limit_count: i64 = -1;
    let mut dontsort = false;
    let mut sortby: Option<&[u8]> = None;
    let mut store: Option<&[u8]> = None;
    let mut gets: Vec<&[u8]> = Vec::new();
    let full_key_access = full_key_access(srv, c, a);
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        if a.is(j, "ASC") {
            desc = false;
        } else if a.is(j, "DESC") {
            desc = true;
        } else if a.is(j, "ALPHA") {
            alpha = true;
        } else if a.is(j, "LIMIT") && left >= 2 {
            limit_start = a.i64(j + 1)?;
            limit_count = a.i64(j + 2)?;
            j += 2;
        } else if !readonly && a.is(j, "STORE") && left >= 1 {
            store = Some(a.get(j + 1));
            j += 1;
        } else if a.is(j, "BY") && left >= 1 {
            let p = a.get(j + 1);
            // Sticky, as in Redis: a later BY with a '*' does not undo it.
            if !p.contains(&b'*') {
                dontsort = true;
            } else if !full_key_access {
                return Err(CmdError::Static(error::SORT_BY_DENIED));
            }
            sortby = Some(p);
            j += 1;
        } else if a.is(j, "GET") && left >= 1 {
            if !full_key_access {
                return Err(CmdError::Static(error::SORT_GET_DENIED));
            }
            gets.push(a.get(j + 1));
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }

    let key = a.get(1);
    let db = &mut srv.dbs[c.db];
    // lookupKeyRead even with STORE (Redis 7.0 raises "keymiss" for it).
    let mut found = db.lookup_read(key);
    // Redis 7.0's SORT destructively converts a listpack zset first.
    if let Some(o) = found.as_deref_mut() {
        if let ValueMut::ZSet(z) = o.value.get_mut() {
            z.convert_to_skiplist();
        }
    }
    let found = found.map(|o| &*o);
    // Which kind of source, and (for the direct-load cases) its elements.
    enum Kind {
        List,
        Set,
        ZSet,
    }
    let kind = match found.as_ref().map(|o| o.value.get()) {
        None | Some(ValueRef::List(_)) => Kind::List,
        Some(ValueRef::Set(_)) => Kind::Set,
        Some(ValueRef::ZSet(_)) => Kind::ZSet,
        Some(_) => return Err(CmdError::WrongType),
    };
    // A set has no meaningful order: when storing, or for a script (whose
    // effects must replicate deterministically), sort it.
    let from_script = srv.scripting.current_run().is_some();
    if dontsort && matches!(kind, Kind::Set) && (store.is_some() || from_script) {
        dontsort = false;
        alpha = true;
        sortby = None;
    }

    let mut vector: Vec<Item> = Vec::new();
    let item = |obj: Vec<u8>| Item {
        obj,
        score: 0.0,
        cmp: None,
    };
    let vectorlen: i64 = match found.as_ref().map(|o| o.value.get()) {
        Some(ValueRef::List(l)) => l.len() as i64,
        _ => 0,
    };
    let (mut start, mut end);
    match found.map(|o| o.value.get()) {
        None => {
            (start, end) = limits(0, limit_start, limit_count);
        }
        Some(ValueRef::List(l)) => {
            (start, end) = limits(vectorlen, limit_start, limit_count);
            if dontsort {
                // Load just the requested range, in the requested direction.
                if end >= start {
                    let n = (end - start + 1) as usize;
                    let take = |v: LpValue<'_>| item(v.to_vec());
                    if desc {
                        let first = (vectorlen - start - 1) as usize;
                        vector.extend(l.range_rev(first, n).map(take));
                    } else {
                        vector.extend(l.range(start, end).map(take));
                    }
                    end -= start;
                    start = 0;
                }
            } else {
                vector.extend(l.iter().map(|v| item(v.to_vec())));
            }
        }
        Some(ValueRef::Set(s)) => {
            vector.extend(set_members(s).into_iter().map(item));
            (start, end) = limits(vector.len() as i64, limit_start, limit_count);
        }
        Some(ValueRef::ZSet(z)) => {
            let members = zset_members(z);
            (start, end) = limits(members.len() as i64, limit_start, limit_count);
            if dontsort {
                if end >= start {
                    let (s, e) = (start as usize, end as usize);
                    let len = members.len();
                    if desc {
                        vector.extend(
                            members[len - 1 - e..=len - 1 - s]
                                .iter()
                                .rev()
                                .cloned()
                                .map(item),
                        );
                    } else {
                        vector.extend(members[s..=e].iter().cloned().map(item));
                    }
                    end -= start;
                    start = 0;
                }
            } else {
                vector.extend(members.into_iter().map(item));
            }
        }
        Some(_) => return Err(CmdError::WrongType),
    }

    // Load the sort keys and sort.
    let mut conversion_error = false;
    if !dontsort {
        for it in vector.iter_mut() {
            let byval = match sortby {
                Some(p) => match lookup_by_pattern(db, p, &it.obj) {
                    Some(v) => Some(v),
                    None => continue,
                },
                None => None,
            };
            if alpha {
                if sortby.is_some() {
                    it.cmp = byval;
                }
            } else {
                let b = byval.as_deref().unwrap_or(&it.obj);
                match sort_score(b) {
                    Some(s) => it.score = s,
                    None => conversion_error = true,
                }
            }
        }
        let by_pattern = sortby.is_some();
        let binary = store.is_some();
        vector.sort_by(|x, y| {
            let cmp = if !alpha {
                match x.score.partial_cmp(&y.score) {
                    Some(Ordering::Equal) | None => x.obj.cmp(&y.obj),
                    Some(o) => o,
                }
            } else if by_pattern {
                match (&x.cmp, &y.cmp) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(p), Some(q)) => alpha_cmp(p, q, binary),
                }
            } else {
                alpha_cmp(&x.obj, &y.obj, binary)
            };
            if desc {
                cmp.reverse()
            } else {
                cmp
            }
        });
    }

    if conversion_error {
        return Err(CmdError::Static(error::SORT_SCORE_NOT_DOUBLE));
    }
    let span = (end - start + 1).max(0) as usize;
    let outputlen = if gets.is_empty() {
        span
    } else {
        gets.len() * span
    };
    let selected = if span == 0 {
        &vector[..0]
    } else {
        vector
            .get(start as usize..=end as usize)
            .unwrap_or(&vector[..0])
    };
    match store {
        None => {
            c.out.array(outputlen);
            for it in selected {
                if gets.is_empty() {
                    c.out.bulk(&it.obj);
                }
                for p in &gets {
                    match lookup_by_pattern(db, p, &it.obj) {
                        Some(v) => c.out.bulk(&v),
                        None => c.out.null(),
                    }
                }
            }
        }
        Some(dest) => {
            let mut list = new_list(srv);
            let db = &mut srv.dbs[c.db];
            for it in selected {
                if gets.is_empty() {
                    list.push(&it.obj, End::Tail);
                }
                for p in &gets {
                    let v = lookup_by_pattern(db, p, &it.obj);
                    list.push(v.as_deref().unwrap_or(b""), End::Tail);
                }
            }
            if outputlen > 0 {
                db.set(dest, Value::list(list), false);
                srv.dirty += outputlen as u64;
                notify::event(srv, c, notify::LIST, "sortstore", dest);
                blocking::signal_key_ready(srv, c.db, dest);
            } else if db.delete(dest) {
                srv.dirty += 1;
                notify::event(srv, c, notify::GENERIC, "del", dest);
            }
            c.out.int(outputlen as i64);
        }
    }
    Ok(())
}

/// SORT's LIMIT sanity checks: the inclusive (start, end) over
/// `vectorlen` elements (end < start means nothing).
fn limits(vectorlen: i64, limit_start: i64, limit_count: i64) -> (i64, i64) {
    let mut start = limit_start.max(0);
    let mut end = if limit_count < 0 {
        vectorlen - 1
    } else {
        start.saturating_add(limit_count) - 1
    };
    if start >= vectorlen {
        start = vectorlen - 1;
        end = vectorlen - 2;
    }
    if end >= vectorlen {
        end = vectorlen - 1;
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_like_redis() {
        assert_eq!(limits(4, 0, -1), (0, 3));
        assert_eq!(limits(4, 1, 2), (1, 2));
        assert_eq!(limits(4, -5, 2), (0, 1));
        assert_eq!(limits(4, 10, 2), (3, 2));
        assert_eq!(limits(4, 0, 0), (0, -1));
        assert_eq!(limits(0, 0, -1), (-1, -2));
        assert_eq!(limits(4, 2, i64::MAX), (2, 3));
    }

    #[test]
    fn scores_like_strtod() {
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b" 3"), Some(3.0));
        assert_eq!(sort_score(b"3 "), None);
        assert_eq!(sort_score(b"   "), None);
        assert_eq!(sort_score(b"nan"), None);
        assert_eq!(sort_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_score(b"0x10"), Some(16.0));
        assert_eq!(sort_score(b"1e400"), None);
        assert_eq!(sort_score(b"\x00\xff"), Some(0.0));
        assert_eq!(sort_score(b"7\x00x"), Some(7.0));
    }
}
