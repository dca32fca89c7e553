//! A command-format AOF base (aof-use-rdb-preamble no): the commands that
//! rebuild every function library and key — Redis's
//! rewriteAppendOnlyFileRio: FUNCTION LOAD, then per db SELECT and
//! SET / RPUSH / SADD / ZADD / HMSET / XADD+XSETID, variadic commands
//! holding at most 64 items, and PEXPIREAT for keys with a TTL.

use crate::ds::listpack::LpValue;
use crate::object::ValueRef;
use crate::server::Server;
use crate::types::set::Member;
use std::io::{self, Write};

const ITEMS_PER_CMD: usize = 64;

fn count<W: Write>(w: &mut W, prefix: u8, n: usize) -> io::Result<()> {
    w.write_all(&[prefix])?;
    w.write_all(n.to_string().as_bytes())?;
    w.write_all(b"\r\n")
}

fn bulk<W: Write>(w: &mut W, b: &[u8]) -> io::Result<()> {
    count(w, b'$', b.len())?;
    w.write_all(b)?;
    w.write_all(b"\r\n")
}

fn bulk_i64<W: Write>(w: &mut W, v: i64) -> io::Result<()> {
    bulk(w, v.to_string().as_bytes())
}

fn bulk_lp<W: Write>(w: &mut W, v: &LpValue) -> io::Result<()> {
    match v {
        LpValue::Int(n) => bulk_i64(w, *n),
        LpValue::Str(s) => bulk(w, s),
    }
}

fn bulk_double<W: Write>(w: &mut W, v: f64) -> io::Result<()> {
    let mut out = Vec::with_capacity(24);
    crate::util::num::format_double(v, &mut out);
    bulk(w, &out)
}

/// Writes `items` as `CMD key item...` commands of at most 64 items each;
/// `per_item` is how many arguments one item takes.
fn variadic<W: Write, I, F>(
    w: &mut W,
    cmd: &[u8],
    key: &[u8],
    total: usize,
    per_item: usize,
    items: I,
    mut emit: F,
) -> io::Result<()>
where
    I: Iterator,
    F: FnMut(&mut W, I::Item) -> io::Result<()>,
{
    let mut left = total;
    let mut n = 0;
    for item in items {
        if n == 0 {
            let batch = left.min(ITEMS_PER_CMD);
            count(w, b'*', 2 + batch * per_item)?;
            bulk(w, cmd)?;
            bulk(w, key)?;
        }
        emit(w, item)?;
        n += 1;
        if n == ITEMS_PER_CMD {
            n = 0;
        }
        left = left.saturating_sub(1);
    }
    Ok(())
}

/// Writes the whole dataset as commands.
pub fn write_commands<W: Write>(srv: &Server, w: &mut W) -> io::Result<()> {
    if srv.config.aof_timestamp_enabled {
        let ts = crate::clock::wall_ms() / 1000;
        w.write_all(format!("#TS:{}\r\n", ts).as_bytes())?;
    }
    for lib in srv.scripting.functions.libs.values() {
        w.write_all(b"*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n")?;
        bulk(w, &lib.code)?;
    }
    for (j, db) in srv.dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        w.write_all(b"*2\r\n$6\r\nSELECT\r\n")?;
        bulk_i64(w, j as i64)?;
        for (k, o) in db.dict.iter() {
            super::childinfo::key_saved();
            let key = k;
            let mut tmp = [0u8; 20];
            match o.value.get() {
                ValueRef::List(l) => variadic(w, b"RPUSH", key, l.len(), 1, l.iter(), |w, v| {
                    bulk_lp(w, &v)
                })?,
                ValueRef::Set(s) => {
                    variadic(w, b"SADD", key, s.len(), 1, s.iter(), |w, m| match m {
                        Member::Int(n) => bulk_i64(w, n),
                        Member::Str(b) => bulk(w, b),
                    })?
                }
                ValueRef::ZSet(z) => {
                    variadic(w, b"ZADD", key, z.len(), 2, z.iter(), |w, (m, score)| {
                        bulk_double(w, score)?;
                        bulk_lp(w, &m)
                    })?
                }
                ValueRef::Hash(h) => {
                    variadic(w, b"HMSET", key, h.len(), 2, h.iter(), |w, (f, v)| {
                        bulk_lp(w, &f)?;
                        bulk_lp(w, &v)
                    })?
                }
                ValueRef::Stream(s) => rewrite_stream(w, key, s)?,
                // A payload kept as bytes (sanitize-dump-payload no) goes
                // back the way it came.
                ValueRef::Corrupt(_) => {
                    let opts = crate::persist::rdb::EncOpts {
                        compress: false,
                        lru: false,
                        lfu: false,
                    };
                    let p = crate::persist::rdb::dump_payload(opts, &o.value);
                    w.write_all(b"*5\r\n$7\r\nRESTORE\r\n")?;
                    bulk(w, key)?;
                    w.write_all(b"$1\r\n0\r\n")?;
                    bulk(w, &p)?;
                    w.write_all(b"$7\r\nREPLACE\r\n")?;
                }
                _ => {
                    let Some(b) = o.value.str_bytes(&mut tmp) else {
                        continue;
                    };
                    w.write_all(b"*3\r\n$3\r\nSET\r\n")?;
                    bulk(w, key)?;
                    bulk(w, b)?;
                }
            }
            if let Some(when) = db.get_expire(key) {
                w.write_all(b"*3\r\n$9\r\nPEXPIREAT\r\n")?;
                bulk(w, key)?;
                bulk_i64(w, when)?;
            }
        }
    }
    Ok(())
}

/// `rewriteStreamObject`: XADDs (or the MAXLEN 0 trick for an empty
/// stream), XSETID, then per group XGROUP CREATE ... ENTRIESREAD and, per
/// consumer, XCLAIM ... JUSTID FORCE for each pending entry or XGROUP
/// CREATECONSUMER when it owns none.
fn rewrite_stream<W: Write>(
    w: &mut W,
    key: &[u8],
    s: &crate::types::stream::StreamValue,
) -> io::Result<()> {
    use crate::types::stream::StreamId;
    if s.is_empty() {
        w.write_all(b"*7\r\n$4\r\nXADD\r\n")?;
        bulk(w, key)?;
        bulk(w, b"MAXLEN")?;
        bulk(w, b"0")?;
        bulk(w, b"0-1")?;
        bulk(w, b"x")?;
        bulk(w, b"y")?;
    }
    let mut res = Ok(());
    s.range(StreamId::MIN, StreamId::MAX, false, |e| {
        res = rewrite_entry(w, key, &e);
        res.is_ok()
    });
    res?;
    w.write_all(b"*7\r\n$6\r\nXSETID\r\n")?;
    bulk(w, key)?;
    bulk(w, s.last_id.format().as_bytes())?;
    bulk(w, b"ENTRIESADDED")?;
    bulk_i64(w, s.entries_added as i64)?;
    bulk(w, b"MAXDELETEDID")?;
    bulk(w, s.max_deleted_id.format().as_bytes())?;
    for g in s.groups.iter() {
        w.write_all(b"*7\r\n$6\r\nXGROUP\r\n$6\r\nCREATE\r\n")?;
        bulk(w, key)?;
        bulk(w, &g.name)?;
        bulk(w, g.last_id.format().as_bytes())?;
        bulk(w, b"ENTRIESREAD")?;
        bulk_i64(w, g.entries_read)?;
        for c in &g.consumers {
            if c.pel.is_empty() {
                w.write_all(b"*5\r\n$6\r\nXGROUP\r\n$14\r\nCREATECONSUMER\r\n")?;
                bulk(w, key)?;
                bulk(w, &g.name)?;
                bulk(w, &c.name)?;
                continue;
            }
            for id in &c.pel {
                let Ok(p) = g.pel_pos(*id) else { continue };
                let nack = &g.pel[p].1;
                w.write_all(b"*12\r\n$6\r\nXCLAIM\r\n")?;
                bulk(w, key)?;
                bulk(w, &g.name)?;
                bulk(w, &c.name)?;
                bulk(w, b"0")?;
                bulk(w, id.format().as_bytes())?;
                bulk(w, b"TIME")?;
                bulk_i64(w, nack.delivery_time)?;
                bulk(w, b"RETRYCOUNT")?;
                bulk_i64(w, nack.delivery_count as i64)?;
                bulk(w, b"JUSTID")?;
                bulk(w, b"FORCE")?;
            }
        }
    }
    Ok(())
}

/// One `XADD key id field value ...` of an AOF rewrite.
fn rewrite_entry<W: Write>(
    w: &mut W,
    key: &[u8],
    e: &crate::types::stream::EntryRef<'_>,
) -> io::Result<()> {
    count(w, b'*', 3 + e.nfields() * 2)?;
    bulk(w, b"XADD")?;
    bulk(w, key)?;
    bulk(w, e.id.format().as_bytes())?;
    let mut r = Ok(());
    let mut buf = Vec::new();
    e.for_each(|f, v| {
        for x in [f, v] {
            if r.is_ok() {
                buf.clear();
                x.write_to(&mut buf);
                r = bulk(w, &buf);
            }
        }
    });
    r
}
