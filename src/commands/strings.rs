//! String commands (Redis's t_string.c): GET/SET and friends, counters,
//! ranges and LCS.

use crate::client::Client;
use crate::clock;
use crate::cmdtable::meta::GetKeys;
use crate::cmdtable::{cmd, CommandSpec};
use crate::db::Db;
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::ValueRef;
use crate::object::{ObjType, Value};
use crate::propagate;
use crate::protocol::args::Args;
use crate::server::Server;
use crate::util::{lcs, num};

pub static COMMANDS: &[CommandSpec] = &[
    cmd("get", get),
    cmd("set", set).getkeys(GetKeys::Set),
    cmd("setnx", setnx),
    cmd("setex", setex),
    cmd("psetex", psetex),
    cmd("getex", getex),
    cmd("getdel", getdel),
    cmd("getset", getset),
    cmd("mget", mget),
    cmd("mset", mset),
    cmd("msetnx", msetnx),
    cmd("append", append),
    cmd("strlen", strlen),
    cmd("incr", incr),
    cmd("decr", decr),
    cmd("incrby", incrby),
    cmd("decrby", decrby),
    cmd("incrbyfloat", incrbyfloat),
    cmd("getrange", getrange),
    cmd("substr", getrange),
    cmd("setrange", setrange),
    cmd("lcs", lcs_cmd),
];

#[inline]
pub(crate) fn db<'a>(srv: &'a mut Server, c: &Client) -> &'a mut Db {
    &mut srv.dbs[c.db]
}

/// Writes a string value (or nil) as a bulk reply.
#[inline]
pub(crate) fn reply_value(c: &mut Client, v: Option<&Value>) {
    match v {
        None => c.out.null(),
        Some(v) => {
            let mut tmp = [0u8; 20];
            match v.str_bytes(&mut tmp) {
                Some(b) => c.out.bulk(b),
                None => c.out.null(),
            }
        }
    }
}

fn get(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let v = srv.dbs[c.db].read_string(a.get(1))?;
    reply_value(c, v);
    Ok(())
}

/// SET's parsed options (Redis's parseExtendedStringArgumentsOrReply).
#[derive(Default)]
struct SetOpts {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    /// Absolute expire time in ms.
    expire_at: Option<i64>,
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum ExpireUnit {
    Seconds,
    Millis,
}

/// Parses an expire argument into an absolute unix time in ms with
/// Redis's range checks and wording.
pub(crate) fn parse_expire(
    arg: &[u8],
    unit: ExpireUnit,
    absolute: bool,
    cmd: &str,
) -> Result<i64, CmdError> {
    let v = num::parse_i64(arg).ok_or(CmdError::NotInteger)?;
    if v <= 0 || (unit == ExpireUnit::Seconds && v > i64::MAX / 1000) {
        return Err(error::invalid_expire(cmd));
    }
    let ms = if unit == ExpireUnit::Seconds {
        v * 1000
    } else {
        v
    };
    if absolute {
        return Ok(ms);
    }
    let now = clock::now_ms();
    if ms > i64::MAX - now {
        return Err(error::invalid_expire(cmd));
    }
    Ok(ms + now)
}

/// Which expire option SET/GETEX saw (Redis's OBJ_EX/PX/EXAT/PXAT flags).
#[derive(Clone, Copy, PartialEq)]
enum ExpKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// Parses SET/GETEX options like parseExtendedStringArgumentsOrReply: only
/// syntax is checked here (a repeated EX/PX/EXAT/PXAT wins over an earlier
/// one of the same kind); the expire value is validated later, as Redis
/// does, by `resolve_expire`.
fn parse_set_opts(
    a: &Args,
    from: usize,
    getex: bool,
) -> Result<(SetOpts, Option<(ExpKind, usize)>), CmdError> {
    let mut o = SetOpts::default();
    let mut persist = false;
    let mut exp: Option<(ExpKind, usize)> = None;
    let mut i = from;
    while i < a.len() {
        let opt = a.get(i);
        let has_next = i + 1 < a.len();
        let upper = opt.to_ascii_uppercase();
        let kind = exp.map(|e| e.0);
        let other_exp = |k: ExpKind| kind.is_some() && kind != Some(k);
        match upper.as_slice() {
            b"NX" if !getex && !o.xx => o.nx = true,
            b"XX" if !getex && !o.nx => o.xx = true,
            b"GET" if !getex => o.get = true,
            b"KEEPTTL" if !getex && kind.is_none() => o.keepttl = true,
            b"PERSIST" if getex && kind.is_none() => persist = true,
            b"EX" | b"PX" | b"EXAT" | b"PXAT" => {
                let k = match upper.as_slice() {
                    b"EX" => ExpKind::Ex,
                    b"PX" => ExpKind::Px,
                    b"EXAT" => ExpKind::ExAt,
                    _ => ExpKind::PxAt,
                };
                if o.keepttl || persist || other_exp(k) || !has_next {
                    return Err(CmdError::Syntax);
                }
                i += 1;
                exp = Some((k, i));
            }
            _ => return Err(CmdError::Syntax),
        }
        i += 1;
    }
    if persist {
        o.keepttl = false;
        o.nx = true; // reuse as a "persist" marker for GETEX
    }
    Ok((o, exp))
}

/// getExpireMillisecondsOrReply: the parsed expire option as an absolute
/// unix time in ms.
fn resolve_expire(
    a: &Args,
    exp: Option<(ExpKind, usize)>,
    cmd: &str,
) -> Result<Option<i64>, CmdError> {
    let Some((k, i)) = exp else {
        return Ok(None);
    };
    let unit = if matches!(k, ExpKind::Ex | ExpKind::ExAt) {
        ExpireUnit::Seconds
    } else {
        ExpireUnit::Millis
    };
    let absolute = matches!(k, ExpKind::ExAt | ExpKind::PxAt);
    parse_expire(a.get(i), unit, absolute, cmd).map(Some)
}

/// setGenericCommand.
fn set_generic(srv: &mut Server, c: &mut Client, key: &[u8], val: &[u8], o: &SetOpts) -> CmdResult {
    let db = &mut srv.dbs[c.db];
    if o.get {
        // GET needs the old value before anything changes.
        let old = db.read_string(key)?;
        reply_value(c, old);
    }
    let db = &mut srv.dbs[c.db];
    let exists = if o.nx || o.xx { db.exists(key) } else { false };
    if (o.nx && exists) || (o.xx && !exists) {
        if !o.get {
            c.out.null();
        }
        return Ok(());
    }
    db.set(key, Value::from_bytes(val), o.keepttl);
    srv.dirty += 1;
    notify::event(srv, c, notify::STRING, "set", key);
    if let Some(when) = o.expire_at {
        // A time already past is set too (Redis 7.0): the key expires when
        // it is next looked at.
        srv.dbs[c.db].set_expire(key, when);
        notify::event(srv, c, notify::GENERIC, "expire", key);
        // Propagated as SET key value PXAT <ms> (Redis 7.0): replicas and
        // AOF replay must not restart a relative TTL.
        if srv.prop.active() {
            let ms = when.to_string();
            propagate::rewrite(srv, c.db, &[b"SET", key, val, b"PXAT", ms.as_bytes()]);
        }
    }
    if !o.get {
        c.out.ok();
    }
    Ok(())
}

fn set(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let o = if a.len() == 3 {
        SetOpts::default()
    } else {
        let (mut o, exp) = parse_set_opts(a, 3, false)?;
        o.expire_at = resolve_expire(a, exp, "set")?;
        o
    };
    set_generic(srv, c, a.get(1), a.get(2), &o)
}

fn setnx(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let db = db(srv, c);
    if db.exists(a.get(1)) {
        c.out.int(0);
    } else {
        db.add(a.get(1), Value::from_bytes(a.get(2)));
        srv.dirty += 1;
        notify::event(srv, c, notify::STRING, "set", a.get(1));
        c.out.int(1);
    }
    Ok(())
}

fn setex_generic(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    unit: ExpireUnit,
    cmd: &str,
) -> CmdResult {
    let when = parse_expire(a.get(2), unit, false, cmd)?;
    let o = SetOpts {
        expire_at: Some(when),
        ..Default::default()
    };
    set_generic(srv, c, a.get(1), a.get(3), &o)
}

fn setex(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    setex_generic(srv, c, a, ExpireUnit::Seconds, "setex")
}

fn psetex(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    setex_generic(srv, c, a, ExpireUnit::Millis, "psetex")
}

fn getex(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let (mut o, exp) = parse_set_opts(a, 2, true)?;
    let key = a.get(1);
    let no_delete = srv.loading || srv.repl.link.is_some();
    let db = db(srv, c);
    let Some(v) = db.read_string(key)? else {
        c.out.null();
        return Ok(());
    };
    // Validated only once the key is known to hold a string, as in Redis.
    o.expire_at = resolve_expire(a, exp, "getex")?;
    reply_value(c, Some(v));
    if let Some(when) = o.expire_at {
        if crate::expire::already_expired(no_delete, false, when) {
            db.delete(key);
            srv.dirty += 1;
            notify::event(srv, c, notify::GENERIC, "del", key);
            let del = propagate::del_command(srv.config.lazyfree_lazy_expire);
            propagate::rewrite(srv, c.db, &[del, key]);
        } else {
            db.set_expire(key, when);
            srv.dirty += 1;
            notify::event(srv, c, notify::GENERIC, "expire", key);
            if srv.prop.active() {
                let ms = when.to_string();
                propagate::rewrite(srv, c.db, &[b"PEXPIREAT", key, ms.as_bytes()]);
            }
        }
    } else if o.nx && db.remove_expire(key) {
        srv.dirty += 1;
        notify::event(srv, c, notify::GENERIC, "persist", key);
        propagate::rewrite(srv, c.db, &[b"PERSIST", key]);
    }
    Ok(())
}

fn getdel(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let db = db(srv, c);
    let v = db.read_string(a.get(1))?;
    reply_value(c, v);
    if v.is_some() {
        db.delete(a.get(1));
        srv.dirty += 1;
        notify::event(srv, c, notify::GENERIC, "del", a.get(1));
        // Propagated as the deletion it is (DEL, or UNLINK with
        // lazyfree-lazy-user-del), as Redis 7.0 does.
        if srv.prop.active() {
            let del = propagate::del_command(srv.config.lazyfree_lazy_user_del);
            propagate::rewrite(srv, c.db, &[del, a.get(1)]);
        }
    }
    Ok(())
}

fn getset(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let db = db(srv, c);
    let v = db.read_string(a.get(1))?;
    reply_value(c, v);
    db.set(a.get(1), Value::from_bytes(a.get(2)), false);
    srv.dirty += 1;
    notify::event(srv, c, notify::STRING, "set", a.get(1));
    // Propagated as SET (Redis 7.0).
    propagate::rewrite(srv, c.db, &[b"SET", a.get(1), a.get(2)]);
    Ok(())
}

fn mget(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let db = &mut srv.dbs[c.db];
    c.out.array(a.len() - 1);
    for key in a.iter().skip(1) {
        match db.lookup_read(key) {
            Some(o) if o.value.obj_type() == ObjType::String => reply_value(c, Some(&o.value)),
            _ => c.out.null(),
        }
    }
    Ok(())
}

fn mset_generic(srv: &mut Server, c: &mut Client, a: &Args, nx: bool) -> CmdResult {
    if a.len().is_multiple_of(2) {
        let name = if nx { "msetnx" } else { "mset" };
        return Err(error::wrong_arity(name));
    }
    let db = &mut srv.dbs[c.db];
    if nx && (1..a.len()).step_by(2).any(|i| db.exists(a.get(i))) {
        c.out.int(0);
        return Ok(());
    }
    // Each key's "set" right after it is stored (after its "new", if any).
    for i in (1..a.len()).step_by(2) {
        srv.dbs[c.db].set(a.get(i), Value::from_bytes(a.get(i + 1)), false);
        notify::event(srv, c, notify::STRING, "set", a.get(i));
    }
    srv.dirty += ((a.len() - 1) / 2) as u64;
    if nx {
        c.out.int(1);
    } else {
        c.out.ok();
    }
    Ok(())
}

fn mset(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    mset_generic(srv, c, a, false)
}

fn msetnx(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    mset_generic(srv, c, a, true)
}

fn append(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let (key, extra) = (a.get(1), a.get(2));
    let max = srv.config.proto_max_bulk_len as u64;
    let db = db(srv, c);
    let len = match db.lookup_write(key) {
        None => {
            db.add(key, Value::from_bytes(extra));
            extra.len()
        }
        Some(o) => {
            if o.value.obj_type() != ObjType::String {
                return Err(CmdError::WrongType);
            }
            let cur = o.value.str_len().unwrap_or(0);
            if (cur + extra.len()) as u64 > max {
                return Err(CmdError::StringTooLong);
            }
            let buf = o.value.make_raw().ok_or(CmdError::WrongType)?;
            buf.extend_from_slice(extra);
            buf.len()
        }
    };
    srv.dirty += 1;
    notify::event(srv, c, notify::STRING, "append", key);
    c.out.int(len as i64);
    Ok(())
}

fn strlen(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let n = srv.dbs[c.db]
        .read_string(a.get(1))?
        .and_then(|v| v.str_len())
        .unwrap_or(0);
    c.out.int(n as i64);
    Ok(())
}

/// incrDecrCommand.
fn incr_by(srv: &mut Server, c: &mut Client, key: &[u8], by: i64) -> CmdResult {
    let db = db(srv, c);
    let new = match db.lookup_write(key) {
        None => {
            db.add(key, Value::int(by));
            by
        }
        Some(o) => {
            let cur = match o.value.get() {
                ValueRef::Int(n) => n,
                _ if o.value.obj_type() != ObjType::String => return Err(CmdError::WrongType),
                _ => {
                    let mut tmp = [0u8; 20];
                    let b = o.value.str_bytes(&mut tmp).unwrap_or(b"");
                    num::parse_i64(b).ok_or(CmdError::NotInteger)?
                }
            };
            let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
            o.value = Value::int(new);
            new
        }
    };
    srv.dirty += 1;
    notify::event(srv, c, notify::STRING, "incrby", key);
    c.out.int(new);
    Ok(())
}

fn incr(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    incr_by(srv, c, a.get(1), 1)
}

fn decr(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    incr_by(srv, c, a.get(1), -1)
}

fn incrby(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let by = a.i64(2)?;
    incr_by(srv, c, a.get(1), by)
}

fn decrby(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let by = a.i64(2)?;
    if by == i64::MIN {
        return Err(CmdError::Static("ERR decrement would overflow"));
    }
    incr_by(srv, c, a.get(1), -by)
}

fn incrbyfloat(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let key = a.get(1);
    let db = db(srv, c);
    let mut tmp = [0u8; 20];
    let new = match db.lookup_write(key) {
        None => num::incr_by_float(b"0", a.get(2)),
        Some(o) => {
            if o.value.obj_type() != ObjType::String {
                return Err(CmdError::WrongType);
            }
            num::incr_by_float(o.value.str_bytes(&mut tmp).unwrap_or(b""), a.get(2))
        }
    };
    let new = new.map_err(|e| match e {
        num::IncrFloatError::NanOrInfinity => CmdError::NanOrInfinity,
        _ => CmdError::NotFloat,
    })?;
    db.set(key, Value::embstr(&new), true);
    srv.dirty += 1;
    notify::event(srv, c, notify::STRING, "incrbyfloat", key);
    // Float formatting may differ elsewhere: propagate the result.
    propagate::rewrite(srv, c.db, &[b"SET", key, &new, b"KEEPTTL"]);
    c.out.bulk(&new);
    Ok(())
}

/// Normalises a [start, end] byte range the way GETRANGE does; None = empty.
pub(crate) fn string_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    if s < 0 {
        s = 0;
    }
    if e < 0 {
        e = 0;
    }
    if e >= len {
        e = len - 1;
    }
    if s > e || len == 0 {
        return None;
    }
    Some((s as usize, e as usize))
}

fn getrange(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let start = a.i64(2)?;
    let end = a.i64(3)?;
    let Some(v) = srv.dbs[c.db].read_string(a.get(1))? else {
        c.out.bulk(b"");
        return Ok(());
    };
    let mut tmp = [0u8; 20];
    let b = v.str_bytes(&mut tmp).unwrap_or(b"");
    match string_range(start, end, b.len()) {
        Some((s, e)) => c.out.bulk(&b[s..=e]),
        None => c.out.bulk(b""),
    }
    Ok(())
}

fn setrange(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let (key, val) = (a.get(1), a.get(3));
    let offset = a.i64(2)?;
    if offset < 0 {
        return Err(CmdError::Static(error::OFFSET_OUT_OF_RANGE));
    }
    let offset = offset as u64;
    let max = srv.config.proto_max_bulk_len as u64;
    let db = db(srv, c);
    match db.lookup_write(key) {
        None => {
            if val.is_empty() {
                c.out.int(0);
                return Ok(());
            }
            if offset + val.len() as u64 > max {
                return Err(CmdError::StringTooLong);
            }
            let mut buf = vec![0u8; offset as usize + val.len()];
            buf[offset as usize..].copy_from_slice(val);
            let n = buf.len();
            db.add(key, Value::raw(buf));
            c.out.int(n as i64);
        }
        Some(o) => {
            if o.value.obj_type() != ObjType::String {
                return Err(CmdError::WrongType);
            }
            let cur = o.value.str_len().unwrap_or(0);
            if val.is_empty() {
                c.out.int(cur as i64);
                return Ok(());
            }
            if offset + val.len() as u64 > max {
                return Err(CmdError::StringTooLong);
            }
            let buf = o.value.make_raw().ok_or(CmdError::WrongType)?;
            let end = offset as usize + val.len();
            if buf.len() < end {
                buf.resize(end, 0);
            }
            buf[offset as usize..end].copy_from_slice(val);
            c.out.int(buf.len() as i64);
        }
    }
    srv.dirty += 1;
    notify::event(srv, c, notify::STRING, "setrange", key);
    Ok(())
}

fn lcs_cmd(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    // Redis checks the key types before the options.
    let db = &mut srv.dbs[c.db];
    let mut fetch = |key: &[u8]| -> Result<Vec<u8>, CmdError> {
        match db.lookup_read(key) {
            None => Ok(Vec::new()),
            Some(o) if o.value.obj_type() == ObjType::String => {
                let mut tmp = [0u8; 20];
                Ok(o.value.str_bytes(&mut tmp).unwrap_or(b"").to_vec())
            }
            Some(_) => Err(CmdError::Static(
                "ERR The specified keys must contain string values",
            )),
        }
    };
    let sa = fetch(a.get(1))?;
    let sb = fetch(a.get(2))?;
    let mut get_len = false;
    let mut get_idx = false;
    let mut with_match_len = false;
    let mut min_match_len: i64 = 0;
    let mut i = 3;
    while i < a.len() {
        if a.is(i, "IDX") {
            get_idx = true;
        } else if a.is(i, "LEN") {
            get_len = true;
        } else if a.is(i, "WITHMATCHLEN") {
            with_match_len = true;
        } else if a.is(i, "MINMATCHLEN") && i + 1 < a.len() {
            i += 1;
            min_match_len = a.i64(i)?.max(0);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if get_len && get_idx {
        return Err(CmdError::Static(error::LCS_IDX_AND_LEN));
    }
    let r = lcs::lcs_with_limit(
        &sa,
        &sb,
        !get_len && !get_idx,
        get_idx,
        min_match_len as usize,
        srv.config.proto_max_bulk_len as u64,
    )
    .map_err(|e| {
        CmdError::Static(match e {
            lcs::LcsError::TooLong => error::LCS_TOO_LONG,
            lcs::LcsError::ExceedsProtoMaxBulkLen => error::LCS_TOO_BIG,
            lcs::LcsError::AllocFailed => error::LCS_ALLOC,
        })
    })?;
    if get_idx {
        c.out.map(2);
        c.out.bulk(b"matches");
        c.out.array(r.matches.len());
        for &((a0, a1), (b0, b1), len) in &r.matches {
            c.out.array(if with_match_len { 3 } else { 2 });
            c.out.array(2);
            c.out.int(a0 as i64);
            c.out.int(a1 as i64);
            c.out.array(2);
            c.out.int(b0 as i64);
            c.out.int(b1 as i64);
            if with_match_len {
                c.out.int(len as i64);
            }
        }
        c.out.bulk(b"len");
        c.out.int(r.len as i64);
    } else if get_len {
        c.out.int(r.len as i64);
    } else {
        c.out.bulk(&r.string);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::string_range;

    #[test]
    fn getrange_normalisation() {
        assert_eq!(string_range(0, -1, 5), Some((0, 4)));
        assert_eq!(string_range(-3, -1, 5), Some((2, 4)));
        assert_eq!(string_range(-1, -3, 5), None);
        assert_eq!(string_range(3, 100, 5), Some((3, 4)));
        assert_eq!(string_range(0, 0, 0), None);
    }
}
