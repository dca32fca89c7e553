//! RDB persistence commands: SAVE, BGSAVE, DUMP and RESTORE (Redis's
//! rdb.c saveCommand / bgsaveCommand and cluster.c dumpCommand /
//! restoreCommand), and RESTORE-ASKING, MIGRATE's RESTORE in cluster mode. LASTSAVE lives with the server commands; DEBUG RELOAD
//! with DEBUG.

use crate::client::Client;
use crate::cmdtable::fact;
use crate::cmdtable::{cmd, CommandSpec};
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::persist::rdb::{self, DumpError};
use crate::persist::rdb_server;
use crate::protocol::args::Args;
use crate::server::Server;
use crate::util::num;

pub static COMMANDS: &[CommandSpec] = &[
    cmd("save", save),
    cmd("bgsave", bgsave),
    cmd("dump", dump).with(fact::WHOLE_KEYS),
    cmd("restore", restore).with(fact::WHOLE_KEYS),
    // What MIGRATE sends in cluster mode; the same as RESTORE here.
    cmd("restore-asking", restore).with(fact::WHOLE_KEYS),
];

fn save(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    if srv.child.as_ref().is_some_and(|ch| ch.kind.is_rdb()) {
        return Err(CmdError::Static(error::BGSAVE_IN_PROGRESS));
    }
    match rdb_server::save(srv) {
        Ok(()) => {
            c.out.ok();
            Ok(())
        }
        Err(_) => Err(CmdError::Static(error::GENERIC_ERR)),
    }
}

fn bgsave(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let mut schedule = false;
    if a.len() > 1 {
        if a.len() == 2 && a.is(1, "schedule") {
            schedule = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    match srv.child.as_ref().map(|ch| ch.kind) {
        Some(k) if k.is_rdb() => Err(CmdError::Static(error::BGSAVE_IN_PROGRESS)),
        Some(_) => {
            if schedule {
                srv.rdb.bgsave_scheduled = true;
                c.out.simple("Background saving scheduled");
                Ok(())
            } else {
                Err(CmdError::Static(error::BGSAVE_CHILD_ACTIVE))
            }
        }
        // Inside EXEC (server.in_exec): the fork waits for the cron.
        None if c.deny_blocking => {
            srv.rdb.bgsave_scheduled = true;
            c.out.simple("Background saving scheduled");
            Ok(())
        }
        None => match rdb_server::bgsave(srv) {
            Ok(_) => {
                c.out.simple("Background saving started");
                Ok(())
            }
            Err(_) => Err(CmdError::Static(error::GENERIC_ERR)),
        },
    }
}

fn dump(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let opts = rdb::EncOpts::from_server(srv);
    let Some(o) = srv.dbs[c.db].lookup_read(a.get(1)) else {
        c.out.null();
        return Ok(());
    };
    let payload = rdb::dump_payload(opts, &o.value);
    c.out.bulk(&payload);
    Ok(())
}

/// Whether RESTORE checks this client's payload deeply
/// (sanitize-dump-payload; `clients` skips the master, loading, and users
/// with skip-sanitize-payload, as rdbLoadObject does).
fn deep_sanitize(srv: &Server, c: &Client) -> bool {
    match srv.config.sanitize_dump_payload {
        crate::config::SanitizeDumpPayload::Yes => true,
        crate::config::SanitizeDumpPayload::Clients => {
            let skip_user = srv
                .acl
                .user(c.user)
                .is_some_and(|u| u.sanitize == Some(false));
            !(srv.loading || c.is_master || skip_user)
        }
        _ => false,
    }
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]
fn restore(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let mut replace = false;
    let mut absttl = false;
    let mut idle: Option<i64> = None;
    let mut freq: Option<i64> = None;
    let mut j = 4;
    while j < a.len() {
        let more = a.len() - j - 1;
        if a.is(j, "replace") {
            replace = true;
        } else if a.is(j, "absttl") {
            absttl = true;
        } else if a.is(j, "idletime") && more >= 1 && freq.is_none() {
            let v = num::parse_i64(a.get(j + 1)).ok_or(CmdError::NotInteger)?;
            if v < 0 {
                return Err(CmdError::Static(error::RESTORE_BAD_IDLETIME));
            }
            idle = Some(v);
            j += 1;
        } else if a.is(j, "freq") && more >= 1 && idle.is_none() {
            let v = num::parse_i64(a.get(j + 1)).ok_or(CmdError::NotInteger)?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::Static(error::RESTORE_BAD_FREQ));
            }
            freq = Some(v);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let key = a.get(1);
    let db = c.db;
    if !replace && srv.dbs[db].lookup_write(key).is_some() {
        return Err(CmdError::Static(error::BUSYKEY));
    }
    let mut ttl = num::parse_i64(a.get(2)).ok_or(CmdError::NotInteger)?;
    if ttl < 0 {
        return Err(CmdError::Static(error::RESTORE_BAD_TTL));
    }
    let value = match rdb::decode_dump_payload_with(srv, a.get(3), deep_sanitize(srv, c)) {
        Ok(v) => v,
        Err(DumpError::VersionOrChecksum) => {
            return Err(CmdError::Static(error::DUMP_PAYLOAD_WRONG))
        }
        Err(DumpError::BadFormat) => return Err(CmdError::Static(error::RESTORE_BAD_DATA)),
    };
    let deleted = replace && srv.dbs[db].delete(key);
    let now = crate::clock::now_ms();
    if ttl > 0 && !absttl {
        ttl += now;
    }
    if ttl > 0 && ttl <= now && !srv.loading {
        if deleted {
            let unlink = srv.config.lazyfree_lazy_server_del;
            let cmd: &[u8] = if unlink { b"UNLINK" } else { b"DEL" };
            crate::propagate::also_propagate(srv, db, &[cmd, key], crate::propagate::TO_ALL);
            crate::propagate::prevent_current(srv);
            notify::event(srv, c, notify::GENERIC, "del", key);
            srv.dirty += 1;
        }
        c.out.ok();
        return Ok(());
    }
    let lfu = srv.config.maxmemory_policy.is_lfu();
    let d = &mut srv.dbs[db];
    d.add(key, value);
    if ttl > 0 {
        d.set_expire(key, ttl);
    }
    let lru =
        crate::persist::rdb_load::lru_or_lfu(lfu, idle.map(|i| i as u64), freq.map(|f| f as u64));
    if let Some(lru) = lru {
        d.set_lru(key, lru);
    }
    if ttl > 0 && !absttl {
        // Propagated with the absolute time, as Redis 7.0 rewrites it.
        let mut tmp = [0u8; 20];
        let abs = num::format_i64(ttl, &mut tmp).to_vec();
        let mut argv: Vec<&[u8]> = a.iter().collect();
        argv[2] = &abs;
        argv.push(b"ABSTTL");
        crate::propagate::also_propagate(srv, db, &argv, crate::propagate::TO_ALL);
        crate::propagate::prevent_current(srv);
    }
    notify::event(srv, c, notify::GENERIC, "restore", key);
    srv.dirty += 1;
    c.out.ok();
    Ok(())
}
