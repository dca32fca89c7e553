//! HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT, PFMERGE,
//! PFDEBUG and PFSELFTEST.
//!
//! A HyperLogLog is an ordinary string value; `ds::hyperloglog` holds the
//! byte-level algorithms. This module does lookups, type checks (a
//! non-string is the usual WRONGTYPE, a string that is not an HLL gets
//! HLL-specific errors), turns modified values into `raw` strings (Redis's
//! `dbUnshareStringValue`) and counts dirty changes.

use crate::client::Client;
use crate::cmdtable::WrittenKeys;
use crate::cmdtable::{cmd, CommandSpec, MAY_REPLICATE};
use crate::db::Db;
use crate::ds::hyperloglog::{self as hll, HllError};
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::Value;
use crate::object::ValueRef;
use crate::protocol::args::Args;
use crate::server::Server;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd("pfadd", pfadd),
    cmd("pfcount", pfcount).hidden(MAY_REPLICATE),
    cmd("pfmerge", pfmerge).writing(WrittenKeys::At(1)),
    cmd("pfdebug", pfdebug),
    cmd("pfselftest", pfselftest),
];

/// Maps a `hyperloglog` error to the reply error (same texts).
fn hll_err(e: HllError) -> CmdError {
    match e {
        HllError::WrongType => CmdError::Static(error::HLL_WRONGTYPE),
        HllError::Invalid => CmdError::Static(error::HLL_INVALIDOBJ),
        HllError::NotSparse => CmdError::Static(error::HLL_NOT_SPARSE),
    }
}

/// The bytes an HLL check sees. Integer-encoded strings are never valid
/// HLLs (Redis rejects non-sds encodings outright), so they map to an empty
/// slice, which fails validation with the same error.
#[inline]
fn hll_bytes(v: &Value) -> &[u8] {
    match v.get() {
        ValueRef::Inline(s) | ValueRef::Emb(s) => s,
        ValueRef::Raw(b) => b.as_slice(),
        _ => &[],
    }
}

/// isHLLObjectOrReply for an existing value: WRONGTYPE for non-strings,
/// the HLL errors for strings that are not HyperLogLogs.
#[inline]
fn check_hll(v: &Value) -> CmdResult {
    if !v.is_string() {
        return Err(CmdError::WrongType);
    }
    hll::is_valid_hll(hll_bytes(v)).map_err(hll_err)
}

fn pfadd(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let key = a.get(1);
    let sparse_max = srv.config.hll_sparse_max_bytes;
    let elems: Vec<&[u8]> = a.iter().skip(2).collect();
    let db = &mut srv.dbs[c.db];
    let updated = match db.lookup_write(key) {
        None => {
            db.add(key, Value::raw(hll::pfadd_create(&elems, sparse_max)));
            true
        }
        Some(o) => {
            check_hll(&o.value)?;
            let buf = o.value.make_raw().ok_or(CmdError::WrongType)?;
            hll::pfadd(buf, &elems, sparse_max).map_err(hll_err)?
        }
    };
    if updated {
        srv.dirty += 1;
        notify::event(srv, c, notify::STRING, "pfadd", key);
    }
    c.out.int(updated as i64);
    Ok(())
}

/// Pass 1 of the multi-key commands: lazy expiry and hit/miss accounting
/// for `keys[from..]` in order, stopping at the first non-string value,
/// whose index is returned.
fn lookup_keys(db: &mut Db, a: &Args, from: usize) -> Option<usize> {
    for i in from..a.len() {
        if let Some(o) = db.lookup_read(a.get(i)) {
            if !o.value.is_string() {
                return Some(i);
            }
        }
    }
    None
}

/// Pass 2: the bytes of the existing keys among `keys[from..to]`.
fn key_bytes<'a>(db: &'a Db, a: &Args, from: usize, to: usize) -> Vec<&'a [u8]> {
    (from..to)
        .filter_map(|i| db.dict.get(a.get(i)).map(|o| hll_bytes(&o.value)))
        .collect()
}

/// Redis stops at the first offending key. When that key is not a string,
/// report an HLL error of an earlier key first if there is one.
fn error_before(db: &Db, a: &Args, from: usize, bad: usize) -> CmdError {
    match hll::pfcount_multi(&key_bytes(db, a, from, bad)) {
        Err(e) => hll_err(e),
        Ok(_) => CmdError::WrongType,
    }
}

fn pfcount(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let db = &mut srv.dbs[c.db];
    if a.len() > 2 {
        if let Some(bad) = lookup_keys(db, a, 1) {
            return Err(error_before(db, a, 1, bad));
        }
        let card = hll::pfcount_multi(&key_bytes(db, a, 1, a.len())).map_err(hll_err)?;
        c.out.int(card as i64);
        return Ok(());
    }
    let Some(o) = db.lookup_read(a.get(1)) else {
        c.out.int(0);
        return Ok(());
    };
    check_hll(&o.value)?;
    let buf = o.value.make_raw().ok_or(CmdError::WrongType)?;
    // Byte 15's top bit set = cached cardinality invalid: recomputing it
    // rewrites the header, which Redis counts as a change.
    let recompute = buf.get(15).is_some_and(|b| b & 0x80 != 0);
    let card = hll::pfcount(buf).map_err(hll_err)?;
    if recompute {
        srv.dirty += 1;
    }
    c.out.int(card as i64);
    Ok(())
}

fn pfmerge(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let dest = a.get(1);
    let sparse_max = srv.config.hll_sparse_max_bytes;
    let db = &mut srv.dbs[c.db];
    if let Some(bad) = lookup_keys(db, a, 1) {
        return Err(error_before(db, a, 1, bad));
    }
    let (merged, exists) = {
        let d = db.dict.get(dest).map(|o| hll_bytes(&o.value));
        let sources = key_bytes(db, a, 2, a.len());
        (
            hll::pfmerge(d, &sources, sparse_max).map_err(hll_err)?,
            d.is_some(),
        )
    };
    if exists {
        // The value is updated in place: the TTL stays.
        db.set(dest, Value::raw(merged), true);
    } else {
        db.add(dest, Value::raw(merged));
    }
    srv.dirty += 1;
    notify::event(srv, c, notify::STRING, "pfadd", dest);
    c.out.ok();
    Ok(())
}

fn pfdebug(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let sub = a.get(1);
    let db = &mut srv.dbs[c.db];
    let Some(o) = db.lookup_write(a.get(2)) else {
        return Err(CmdError::Static(error::PFDEBUG_NO_KEY));
    };
    check_hll(&o.value)?;
    let buf = o.value.make_raw().ok_or(CmdError::WrongType)?;
    let mut dirty = false;
    if sub.eq_ignore_ascii_case(b"getreg") {
        dirty = buf[4] == hll::HLL_SPARSE;
        let regs = hll::pfdebug_getreg(buf).map_err(hll_err)?;
        c.out.array(regs.len());
        for r in regs {
            c.out.int(r as i64);
        }
    } else if sub.eq_ignore_ascii_case(b"decode") {
        let s = hll::pfdebug_decode(buf).map_err(hll_err)?;
        c.out.bulk(s.as_bytes());
    } else if sub.eq_ignore_ascii_case(b"encoding") {
        c.out.simple(hll::pfdebug_encoding(buf));
    } else if sub.eq_ignore_ascii_case(b"todense") {
        dirty = hll::pfdebug_todense(buf).map_err(hll_err)?;
        c.out.int(dirty as i64);
    } else {
        return Err(error::pfdebug_unknown_subcommand(sub));
    }
    if dirty {
        srv.dirty += 1;
    }
    Ok(())
}

fn pfselftest(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    hll::pfselftest(srv.config.hll_sparse_max_bytes).map_err(error::custom)?;
    c.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_match_hyperloglog() {
        for e in [HllError::WrongType, HllError::Invalid, HllError::NotSparse] {
            assert_eq!(hll_err(e).message(), e.message());
        }
    }
}
