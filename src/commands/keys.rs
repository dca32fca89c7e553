//! Generic keyspace commands (Redis's db.c / expire.c / object.c): DEL,
//! EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME, COPY, MOVE, TOUCH, the
//! EXPIRE family, TTL family, PERSIST and OBJECT.

use super::scan::{parse_cursor, reply_head, ScanOpts};
use crate::client::Client;
use crate::clock;
use crate::cmdtable::{cmd, container, CommandSpec};
use crate::cmdtable::{fact, WrittenKeys, TOUCHES_ARBITRARY_KEYS};
use crate::ds::sds::Sds;
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::Obj;
use crate::object::ValueRef;
use crate::propagate;
use crate::protocol::args::Args;
use crate::server::Server;
use crate::util::glob::string_match;
use crate::util::num;

pub static COMMANDS: &[CommandSpec] = &[
    cmd("del", del).with(fact::WHOLE_KEYS),
    cmd("unlink", unlink).with(fact::WHOLE_KEYS),
    cmd("exists", exists).with(fact::WHOLE_KEYS),
    cmd("type", type_cmd).with(fact::WHOLE_KEYS),
    cmd("keys", keys),
    cmd("scan", scan).hidden(TOUCHES_ARBITRARY_KEYS),
    cmd("randomkey", randomkey).hidden(TOUCHES_ARBITRARY_KEYS),
    cmd("rename", rename).with(fact::WHOLE_KEYS),
    cmd("renamenx", renamenx).with(fact::WHOLE_KEYS),
    cmd("copy", copy)
        .with(fact::WHOLE_KEYS)
        .writing(WrittenKeys::At(2)),
    cmd("move", move_cmd).with(fact::WHOLE_KEYS),
    cmd("touch", touch).with(fact::WHOLE_KEYS),
    cmd("expire", expire).with(fact::WHOLE_KEYS),
    cmd("pexpire", pexpire).with(fact::WHOLE_KEYS),
    cmd("expireat", expireat).with(fact::WHOLE_KEYS),
    cmd("pexpireat", pexpireat).with(fact::WHOLE_KEYS),
    cmd("ttl", ttl).with(fact::WHOLE_KEYS),
    cmd("pttl", pttl).with(fact::WHOLE_KEYS),
    cmd("expiretime", expiretime).with(fact::WHOLE_KEYS),
    cmd("pexpiretime", pexpiretime).with(fact::WHOLE_KEYS),
    cmd("persist", persist).with(fact::WHOLE_KEYS),
    container("object", OBJECT_SUBCOMMANDS).with(fact::WHOLE_KEYS),
];

static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    cmd("encoding", object_encoding),
    cmd("refcount", object_refcount),
    cmd("idletime", object_idletime),
    cmd("freq", object_freq),
    cmd("help", object_help),
];

fn del(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let lazy = srv.config.lazyfree_lazy_user_del;
    del_generic(srv, c, a, lazy)
}

fn unlink(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    del_generic(srv, c, a, true)
}

/// DEL and UNLINK (delGenericCommand): UNLINK, and DEL with
/// lazyfree-lazy-user-del, free big values on the lazy-free thread.
fn del_generic(srv: &mut Server, c: &mut Client, a: &Args, lazy: bool) -> CmdResult {
    let mut n = 0;
    for k in a.iter().skip(1) {
        let db = &mut srv.dbs[c.db];
        db.expire_if_needed(k);
        if db.delete_lazy(k, lazy) {
            n += 1;
            notify::event(srv, c, notify::GENERIC, "del", k);
        }
    }
    srv.dirty += n;
    c.out.int(n as i64);
    Ok(())
}

fn exists(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let db = &mut srv.dbs[c.db];
    let n = a
        .iter()
        .skip(1)
        .filter(|k| db.lookup_read_notouch(k).is_some())
        .count();
    c.out.int(n as i64);
    Ok(())
}

fn type_cmd(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    match srv.dbs[c.db].lookup_read_notouch(a.get(1)) {
        Some(o) => c.out.simple(o.value.obj_type().name()),
        None => c.out.simple("none"),
    }
    Ok(())
}

fn keys(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let pat = a.get(1);
    let all = pat == b"*";
    let now = clock::now_ms();
    let db = &srv.dbs[c.db];
    let (cfg, stats) = (&srv.config, &mut srv.stats);
    let d = c.out.defer();
    let mut n = 0;
    let mut guard = crate::client_mem::ObufGuard::new(c);
    for (k, _) in db.dict.iter() {
        if !all && !string_match(pat, k, false) {
            continue;
        }
        if matches!(db.get_expire(k), Some(w) if w <= now) {
            continue;
        }
        c.out.bulk(k);
        n += 1;
        if guard.stop(cfg, stats, c) {
            // The client is closed; its output is gone.
            return Ok(());
        }
    }
    c.out.set_array(d, n);
    Ok(())
}

fn scan(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let cursor = parse_cursor(a.get(1))?;
    let opts = ScanOpts::parse(a, 2, true)?;
    let db = &mut srv.dbs[c.db];
    let mut found: Vec<crate::ds::sds::Sds> = Vec::new();
    let cur = db
        .dict
        .scan_batch(cursor, opts.count, 1, |k, _| found.push(Sds::new(k)));
    found.retain(|k| {
        if !opts.matches(k) {
            return false;
        }
        if let Some(t) = opts.typ {
            // As Redis 7.0: the type check looks the key up (expiring it if
            // due) and a key that is gone has type "none".
            let name = match db.lookup_notouch(k) {
                Some(o) => o.value.obj_type().name(),
                None => "none",
            };
            if !name.as_bytes().eq_ignore_ascii_case(t) {
                return false;
            }
        }
        // Expired keys are filtered out and deleted (expireIfNeeded).
        !db.expire_if_needed(k)
    });
    reply_head(c, cur, found.len());
    for k in &found {
        c.out.bulk(k);
    }
    Ok(())
}

fn randomkey(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    let db = &mut srv.dbs[c.db];
    let mut tries = 0;
    loop {
        let key = match db.dict.fair_random_entry(&mut srv.rng) {
            Some((k, _)) => k.to_vec(),
            None => {
                c.out.null();
                return Ok(());
            }
        };
        let all_volatile = db.expires_len() == db.dict.len();
        tries += 1;
        if all_volatile && tries > 100 {
            c.out.bulk(&key);
            return Ok(());
        }
        if db.expire_if_needed(&key) {
            continue;
        }
        c.out.bulk(&key);
        return Ok(());
    }
}

fn rename_generic(srv: &mut Server, c: &mut Client, a: &Args, nx: bool) -> CmdResult {
    let (src, dst) = (a.get(1), a.get(2));
    let db = &mut srv.dbs[c.db];
    if db.lookup_write(src).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        if nx {
            c.out.int(0);
        } else {
            c.out.ok();
        }
        return Ok(());
    }
    if db.exists(dst) {
        if nx {
            c.out.int(0);
            return Ok(());
        }
        db.delete(dst);
    }
    let expire = db.get_expire(src);
    let Some(obj) = db.remove(src) else {
        return Err(CmdError::NoSuchKey);
    };
    db.add(dst, obj.value);
    if let Some(w) = expire {
        db.set_expire(dst, w);
    }
    srv.dirty += 1;
    notify::event(srv, c, notify::GENERIC, "rename_from", src);
    notify::event(srv, c, notify::GENERIC, "rename_to", dst);
    if nx {
        c.out.int(1);
    } else {
        c.out.ok();
    }
    Ok(())
}

fn rename(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    rename_generic(srv, c, a, false)
}

fn renamenx(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    rename_generic(srv, c, a, true)
}

/// Parses a db index argument the way MOVE/COPY do.
fn parse_db_index(srv: &Server, arg: &[u8]) -> Result<usize, CmdError> {
    let id = num::parse_i64(arg).ok_or(CmdError::NotInteger)?;
    if id < i32::MIN as i64 || id > i32::MAX as i64 {
        return Err(CmdError::NotInteger);
    }
    if id < 0 || id as usize >= srv.dbs.len() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(id as usize)
}

fn copy(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let (src, dst) = (a.get(1), a.get(2));
    let mut dbid = c.db;
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        if a.is(i, "REPLACE") {
            replace = true;
        } else if a.is(i, "DB") && i + 1 < a.len() {
            dbid = parse_db_index(srv, a.get(i + 1))?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if srv.cluster.is_some() && (c.db != 0 || dbid != 0) {
        return Err(CmdError::Static(error::CLUSTER_COPY_DB));
    }
    if src == dst && dbid == c.db {
        return Err(CmdError::Static(error::SAME_OBJECT));
    }
    let (value, expire) = {
        let db = &mut srv.dbs[c.db];
        let Some(o) = db.lookup_read(src) else {
            c.out.int(0);
            return Ok(());
        };
        let v = o.value.clone();
        (v, db.get_expire(src))
    };
    if dbid != c.db {
        crate::multi::touch_key(srv, dbid, dst);
    }
    let ddb = &mut srv.dbs[dbid];
    if ddb.exists(dst) {
        if !replace {
            c.out.int(0);
            return Ok(());
        }
        ddb.delete(dst);
    }
    ddb.add(dst, value);
    if let Some(w) = expire {
        ddb.set_expire(dst, w);
    }
    srv.dirty += 1;
    notify::notify(srv, Some(c), notify::GENERIC, "copy_to", dst, dbid);
    // A "new" logged in another db is not drained by the dispatcher.
    srv.drain_key_events(Some(c));
    c.out.int(1);
    Ok(())
}

fn move_cmd(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if srv.cluster.is_some() {
        return Err(CmdError::Static(error::CLUSTER_MOVE));
    }
    let key = a.get(1);
    let dbid = parse_db_index(srv, a.get(2))?;
    if dbid == c.db {
        return Err(CmdError::Static(error::SAME_OBJECT));
    }
    if srv.dbs[c.db].lookup_write(key).is_none() {
        c.out.int(0);
        return Ok(());
    }
    if srv.dbs[dbid].exists(key) {
        c.out.int(0);
        return Ok(());
    }
    let expire = srv.dbs[c.db].get_expire(key);
    let Some(Obj { value, .. }) = srv.dbs[c.db].remove(key) else {
        c.out.int(0);
        return Ok(());
    };
    crate::multi::touch_key(srv, dbid, key);
    let ddb = &mut srv.dbs[dbid];
    ddb.add(key, value);
    if let Some(w) = expire {
        ddb.set_expire(key, w);
    }
    srv.dirty += 1;
    let src = c.db;
    notify::notify(srv, Some(c), notify::GENERIC, "move_from", key, src);
    notify::notify(srv, Some(c), notify::GENERIC, "move_to", key, dbid);
    // A "new" logged in another db is not drained by the dispatcher.
    srv.drain_key_events(Some(c));
    c.out.int(1);
    Ok(())
}

fn touch(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let db = &mut srv.dbs[c.db];
    let n = a
        .iter()
        .skip(1)
        .filter(|k| db.lookup_read(k).is_some())
        .count();
    c.out.int(n as i64);
    Ok(())
}

/// expireGenericCommand: `basetime` is 0 for absolute forms.
fn expire_generic(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    relative: bool,
    seconds: bool,
    name: &str,
) -> CmdResult {
    let key = a.get(1);
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in a.iter().skip(3) {
        match opt.to_ascii_uppercase().as_slice() {
            b"NX" => nx = true,
            b"XX" => xx = true,
            b"GT" => gt = true,
            b"LT" => lt = true,
            _ => {
                // Redis formats the option with %s: it ends at a NUL.
                let opt = opt.split(|&b| b == 0).next().unwrap_or(b"");
                return Err(error::custom(format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(opt)
                )));
            }
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::Static(error::NX_XX_GT_LT));
    }
    if gt && lt {
        return Err(CmdError::Static(error::GT_LT));
    }
    // Redis validates the options before the time argument.
    let mut when = a.i64(2)?;
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(error::invalid_expire(name));
        }
        when *= 1000;
    }
    if relative {
        let base = clock::now_ms();
        if when > i64::MAX - base {
            return Err(error::invalid_expire(name));
        }
        when += base;
    }
    let db = &mut srv.dbs[c.db];
    if db.lookup_write(key).is_none() {
        c.out.int(0);
        return Ok(());
    }
    // Only the NX/XX/GT/LT forms need the current TTL.
    let current = if nx || xx || gt || lt {
        db.get_expire(key)
    } else {
        None
    };
    let refuse = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|cur| when <= cur))
        || (lt && current.is_some_and(|cur| when >= cur));
    if refuse {
        c.out.int(0);
        return Ok(());
    }
    let deleted = crate::expire::already_expired(srv.loading, srv.repl.link.is_some(), when);
    let db = &mut srv.dbs[c.db];
    let event = if deleted {
        db.delete(key);
        "del"
    } else {
        db.set_expire(key, when);
        "expire"
    };
    srv.dirty += 1;
    notify::event(srv, c, notify::GENERIC, event, key);
    // Propagated as PEXPIREAT <absolute ms> (options kept), or as the
    // deletion an expire time in the past caused (Redis 7.0).
    if srv.prop.active() {
        if deleted {
            let del = propagate::del_command(srv.config.lazyfree_lazy_expire);
            propagate::rewrite(srv, c.db, &[del, key]);
        } else if name != "pexpireat" {
            let ms = when.to_string();
            let mut argv: Vec<&[u8]> = vec![b"PEXPIREAT", key, ms.as_bytes()];
            argv.extend(a.iter().skip(3));
            propagate::rewrite(srv, c.db, &argv);
        }
    }
    c.out.int(1);
    Ok(())
}

fn expire(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    expire_generic(srv, c, a, true, true, "expire")
}
fn pexpire(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    expire_generic(srv, c, a, true, false, "pexpire")
}
fn expireat(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    expire_generic(srv, c, a, false, true, "expireat")
}
fn pexpireat(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    expire_generic(srv, c, a, false, false, "pexpireat")
}

/// ttlGenericCommand: relative (TTL/PTTL) or absolute (EXPIRETIME).
fn ttl_generic(srv: &mut Server, c: &mut Client, a: &Args, ms: bool, absolute: bool) -> CmdResult {
    let db = &mut srv.dbs[c.db];
    if db.lookup_read_notouch(a.get(1)).is_none() {
        c.out.int(-2);
        return Ok(());
    }
    let Some(when) = db.get_expire(a.get(1)) else {
        c.out.int(-1);
        return Ok(());
    };
    let v = if absolute {
        when
    } else {
        (when - clock::now_ms()).max(0)
    };
    c.out.int(if ms { v } else { (v + 500) / 1000 });
    Ok(())
}

fn ttl(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    ttl_generic(srv, c, a, false, false)
}
fn pttl(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    ttl_generic(srv, c, a, true, false)
}
fn expiretime(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    ttl_generic(srv, c, a, false, true)
}
fn pexpiretime(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    ttl_generic(srv, c, a, true, true)
}

fn persist(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let db = &mut srv.dbs[c.db];
    if db.lookup_write(a.get(1)).is_none() {
        c.out.int(0);
        return Ok(());
    }
    let removed = db.remove_expire(a.get(1));
    if removed {
        srv.dirty += 1;
        notify::event(srv, c, notify::GENERIC, "persist", a.get(1));
    }
    c.out.int(removed as i64);
    Ok(())
}

/// Redis's OBJ_SHARED_REFCOUNT: what OBJECT REFCOUNT says for shared integers.
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
const SHARED_INTEGERS: i64 = 10000;

fn lfu_policy(srv: &Server) -> bool {
    srv.config.maxmemory_policy.is_lfu()
}

fn lru_or_lfu_policy(srv: &Server) -> bool {
    let p = srv.config.maxmemory_policy;
    p.is_lfu() || p.is_lru()
}

/// objectCommandLookupOrReply: replies nil and returns None if missing.
fn object_lookup<'a>(srv: &'a mut Server, c: &mut Client, key: &[u8]) -> Option<&'a mut Obj> {
    let o = srv.dbs[c.db].lookup_notouch(key);
    if o.is_none() {
        c.out.null();
    }
    o
}

fn object_encoding(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if let Some(o) = object_lookup(srv, c, a.get(2)) {
        let name = o.value.encoding_name();
        c.out.bulk_str(name);
    }
    Ok(())
}

fn object_refcount(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    // Redis shares small integers unless maxmemory is set with an LRU or
    // LFU policy (MAXMEMORY_FLAG_NO_SHARED_INTEGERS).
    let shared_ok = srv.config.maxmemory == 0 || !lru_or_lfu_policy(srv);
    if let Some(o) = object_lookup(srv, c, a.get(2)) {
        let rc = match o.value.get() {
            ValueRef::Int(n) if shared_ok && (0..SHARED_INTEGERS).contains(&n) => SHARED_REFCOUNT,
            _ => 1,
        };
        c.out.int(rc);
    }
    Ok(())
}

fn object_idletime(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if lfu_policy(srv) {
        // Redis checks the key first, then the policy.
        if srv.dbs[c.db].lookup_notouch(a.get(2)).is_none() {
            c.out.null();
            return Ok(());
        }
        return Err(CmdError::Static(error::OBJECT_IDLETIME_LFU));
    }
    if object_lookup(srv, c, a.get(2)).is_some() {
        let lru = srv.dbs[c.db].lru(a.get(2)).unwrap_or(0);
        c.out.int(clock::idle_secs(lru) as i64);
    }
    Ok(())
}

fn object_freq(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let lfu = lfu_policy(srv);
    if object_lookup(srv, c, a.get(2)).is_none() {
        return Ok(());
    }
    if !lfu {
        return Err(CmdError::Static(error::OBJECT_FREQ_NOT_LFU));
    }
    let lru = srv.dbs[c.db].lru(a.get(2)).unwrap_or(0);
    c.out
        .int(crate::object::decr_and_return(lru, srv.config.lfu_decay_time) as i64);
    Ok(())
}

fn object_help(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    const HELP: &[&str] = &[
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
    ];
    super::help_reply(c, "OBJECT", HELP);
    Ok(())
}
