//! Hash commands (Redis 7.0's t_hash.c command half): HSET and friends,
//! counters, HRANDFIELD and HSCAN. The encodings live in `types::hash`.

use super::scan::{parse_cursor, reply_head, ScanOpts};
use super::typed::{read, write};
use crate::client::Client;
use crate::cmdtable::{cmd, CommandSpec};
use crate::db::Db;
use crate::ds::listpack::LpValue;
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::Value;
use crate::object::ValueMut;
use crate::protocol::args::Args;
use crate::server::Server;
use crate::types::hash::{HashValue, Limits};
use crate::util::num;

pub static COMMANDS: &[CommandSpec] = &[
    cmd("hset", hset),
    cmd("hsetnx", hsetnx),
    cmd("hget", hget),
    cmd("hmset", hset),
    cmd("hmget", hmget),
    cmd("hgetall", hgetall),
    cmd("hdel", hdel),
    cmd("hexists", hexists),
    cmd("hlen", hlen),
    cmd("hstrlen", hstrlen),
    cmd("hkeys", hkeys),
    cmd("hvals", hvals),
    cmd("hincrby", hincrby),
    cmd("hincrbyfloat", hincrbyfloat),
    cmd("hrandfield", hrandfield),
    cmd("hscan", hscan),
];

/// `hashTypeLookupWriteOrCreate`: the hash at `key`, created empty when
/// missing (every caller adds at least one field before returning).
fn write_or_create<'a>(db: &'a mut Db, key: &[u8]) -> Result<&'a mut HashValue, CmdError> {
    match db
        .get_or_create(key, || Value::hash(Default::default()))
        .value
        .get_mut()
    {
        ValueMut::Hash(h) => Ok(h),
        _ => Err(CmdError::WrongType),
    }
}

#[inline]
fn reply_lp(c: &mut Client, v: LpValue<'_>) {
    match v {
        LpValue::Str(s) => c.out.bulk(s),
        LpValue::Int(n) => c.out.bulk_i64(n),
    }
}

fn hset(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if !a.len().is_multiple_of(2) {
        let name = if a.get(0)[1].eq_ignore_ascii_case(&b's') {
            "hset"
        } else {
            "hmset"
        };
        return Err(error::wrong_arity(name));
    }
    let limits = hash_limits(&srv.config);
    let h = write_or_create(&mut srv.dbs[c.db], a.get(1))?;
    h.try_conversion(a.iter().skip(2), limits);
    let mut created = 0;
    let mut i = 2;
    while i + 1 < a.len() {
        if !h.set(a.get(i), a.get(i + 1), limits) {
            created += 1;
        }
        i += 2;
    }
    h.fit();
    srv.dirty += ((a.len() - 2) / 2) as u64;
    notify::event(srv, c, notify::HASH, "hset", a.get(1));
    if a.get(0)[1].eq_ignore_ascii_case(&b's') {
        c.out.int(created);
    } else {
        c.out.ok();
    }
    Ok(())
}

fn hsetnx(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let limits = hash_limits(&srv.config);
    let h = write_or_create(&mut srv.dbs[c.db], a.get(1))?;
    if h.exists(a.get(2)) {
        c.out.int(0);
    } else {
        h.try_conversion(a.iter().skip(2), limits);
        h.set(a.get(2), a.get(3), limits);
        srv.dirty += 1;
        notify::event(srv, c, notify::HASH, "hset", a.get(1));
        c.out.int(1);
    }
    Ok(())
}

fn hget(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    match read::<HashValue>(&mut srv.dbs[c.db], a.get(1))?.and_then(|h| h.get(a.get(2))) {
        Some(v) => reply_lp(c, v),
        None => c.out.null(),
    }
    Ok(())
}

fn hmget(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let h = read::<HashValue>(&mut srv.dbs[c.db], a.get(1))?;
    c.out.array(a.len() - 2);
    for f in a.iter().skip(2) {
        match h.as_ref().and_then(|h| h.get(f)) {
            Some(v) => reply_lp(c, v),
            None => c.out.null(),
        }
    }
    Ok(())
}

/// HGETALL / HKEYS / HVALS (`genericHgetallCommand`).
fn getall(srv: &mut Server, c: &mut Client, a: &Args, keys: bool, vals: bool) -> CmdResult {
    let Some(h) = read::<HashValue>(&mut srv.dbs[c.db], a.get(1))? else {
        if keys && vals {
            c.out.map(0);
        } else {
            c.out.array(0);
        }
        return Ok(());
    };
    if keys && vals {
        c.out.map(h.len());
    } else {
        c.out.array(h.len());
    }
    for (f, v) in h.iter() {
        if keys {
            reply_lp(c, f);
        }
        if vals {
            reply_lp(c, v);
        }
    }
    Ok(())
}

fn hgetall(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    getall(srv, c, a, true, true)
}

fn hkeys(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    getall(srv, c, a, true, false)
}

fn hvals(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    getall(srv, c, a, false, true)
}

fn hdel(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let db = &mut srv.dbs[c.db];
    let key = a.get(1);
    let Some(h) = write::<HashValue>(db, key)? else {
        c.out.int(0);
        return Ok(());
    };
    let mut deleted = 0i64;
    let mut emptied = false;
    for f in a.iter().skip(2) {
        if h.delete(f) {
            deleted += 1;
            if h.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        db.delete(key);
    }
    srv.dirty += deleted as u64;
    if deleted > 0 {
        notify::event(srv, c, notify::HASH, "hdel", key);
        if emptied {
            notify::event(srv, c, notify::GENERIC, "del", key);
        }
    }
    c.out.int(deleted);
    Ok(())
}

fn hexists(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let found =
        read::<HashValue>(&mut srv.dbs[c.db], a.get(1))?.is_some_and(|h| h.exists(a.get(2)));
    c.out.int(found as i64);
    Ok(())
}

fn hlen(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let n = read::<HashValue>(&mut srv.dbs[c.db], a.get(1))?.map_or(0, |h| h.len());
    c.out.int(n as i64);
    Ok(())
}

fn hstrlen(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let n = read::<HashValue>(&mut srv.dbs[c.db], a.get(1))?.map_or(0, |h| h.strlen(a.get(2)));
    c.out.int(n as i64);
    Ok(())
}

fn hincrby(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let incr = a.i64(3)?;
    let limits = hash_limits(&srv.config);
    let h = write_or_create(&mut srv.dbs[c.db], a.get(1))?;
    let r = h.incr_by(a.get(2), incr, limits);
    let empty = h.is_empty();
    if empty {
        // Only possible on error: never leave the fresh empty hash behind.
        srv.dbs[c.db].delete(a.get(1));
    }
    let v = r?;
    srv.dirty += 1;
    notify::event(srv, c, notify::HASH, "hincrby", a.get(1));
    c.out.int(v);
    Ok(())
}

fn hincrbyfloat(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let incr = a.get(3);
    match num::LongDouble::parse(incr) {
        None => return Err(CmdError::NotFloat),
        Some(v) if !v.is_finite() => return Err(CmdError::Static(error::VALUE_NAN_OR_INF)),
        Some(_) => {}
    }
    let limits = hash_limits(&srv.config);
    let h = write_or_create(&mut srv.dbs[c.db], a.get(1))?;
    let r = h.incr_by_float(a.get(2), incr, limits);
    if h.is_empty() {
        srv.dbs[c.db].delete(a.get(1));
    }
    let v = r?;
    srv.dirty += 1;
    notify::event(srv, c, notify::HASH, "hincrbyfloat", a.get(1));
    // Float formatting may differ elsewhere: propagate the result.
    crate::propagate::rewrite(srv, c.db, &[b"HSET", a.get(1), a.get(2), &v]);
    c.out.bulk(&v);
    Ok(())
}

fn hrandfield(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len() < 3 {
        match read::<HashValue>(&mut srv.dbs[c.db], a.get(1))? {
            None => c.out.null(),
            Some(h) => match h.random_pair(&mut srv.rng) {
                Some((f, _)) => reply_lp(c, f),
                None => c.out.null(),
            },
        }
        return Ok(());
    }
    let l = a.i64(2)?;
    if l == i64::MIN {
        return Err(error::value_must_between(-i64::MAX, i64::MAX));
    }
    let withvalues = match a.len() {
        3 => false,
        4 if a.is(3, "WITHVALUES") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withvalues && !(i64::MIN / 2..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::Static(error::VALUE_OUT_OF_RANGE));
    }
    let Some(h) = read::<HashValue>(&mut srv.dbs[c.db], a.get(1))? else {
        c.out.array(0);
        return Ok(());
    };
    let resp3 = c.out.resp3();
    let (count, uniq) = if l >= 0 {
        (l as u64, true)
    } else {
        (l.unsigned_abs(), false)
    };
    let size = h.len() as u64;
    if count == 0 || size == 0 {
        c.out.array(0);
        return Ok(());
    }
    let pair_header = |c: &mut Client| {
        if withvalues && resp3 {
            c.out.array(2);
        }
    };
    if !uniq || count == 1 {
        c.out.array(if withvalues && !resp3 {
            count as usize * 2
        } else {
            count as usize
        });
        let mut guard = crate::client_mem::ObufGuard::new(c);
        let (cfg, stats) = (&srv.config, &mut srv.stats);
        h.random_pairs_with_repetition(&mut srv.rng, count, |f, v| {
            pair_header(c);
            reply_lp(c, f);
            if withvalues {
                reply_lp(c, v);
            }
            !guard.stop(cfg, stats, c)
        });
        return Ok(());
    }
    let pairs = h.random_distinct(&mut srv.rng, count.min(size) as usize);
    c.out.array(if withvalues && !resp3 {
        pairs.len() * 2
    } else {
        pairs.len()
    });
    for (f, v) in pairs {
        pair_header(c);
        reply_lp(c, f);
        if withvalues {
            reply_lp(c, v);
        }
    }
    Ok(())
}

fn hscan(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let cursor = parse_cursor(a.get(2))?;
    let Some(h) = read::<HashValue>(&mut srv.dbs[c.db], a.get(1))? else {
        reply_head(c, 0, 0);
        return Ok(());
    };
    let opts = ScanOpts::parse(a, 3, false)?;
    let mut found: Vec<(LpValue<'_>, LpValue<'_>)> = Vec::new();
    let mut tmp = [0u8; 20];
    let next = h.scan(cursor, opts.count, |f, v| {
        if opts.matches(f.as_bytes(&mut tmp)) {
            found.push((f, v));
        }
    });
    reply_head(c, next, found.len() * 2);
    for (f, v) in found {
        reply_lp(c, f);
        reply_lp(c, v);
    }
    Ok(())
}

/// hash-max-listpack-entries / -value as the hash type takes them.
fn hash_limits(cfg: &crate::config::Config) -> Limits {
    Limits {
        entries: cfg.hash_max_listpack_entries,
        value: cfg.hash_max_listpack_value,
    }
}
