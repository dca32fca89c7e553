//! MIGRATE (Redis's cluster.c `migrateCommand`), which works outside
//! cluster mode too:
//!
//! `MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
//!  [AUTH password] [AUTH2 username password] [KEYS key ...]`
//!
//! The keys still present are serialized as DUMP payloads and sent, in one
//! write, as `[AUTH] [SELECT db] RESTORE key ttl payload [REPLACE]...` over
//! a cached connection to the target (`crate::migrate_conn`); each RESTORE
//! acknowledged deletes the local key (unless COPY), and the command is
//! propagated to replicas and the AOF as `DEL` of those keys. The I/O is
//! synchronous on the keyspace thread, bounded by the timeout, as in Redis.
//! A failure on a cached connection before anything was acknowledged is
//! retried once on a fresh connection (never after a timeout).

use crate::client::Client;
use crate::cmdtable::meta::GetKeys;
use crate::cmdtable::CommandSpec;
use crate::cmdtable::{cmd, fact, WrittenKeys};
use crate::error::{self, CmdError, CmdResult};
use crate::migrate_conn::IoFail;
use crate::notify;
use crate::persist::rdb;
use crate::protocol::args::Args;
use crate::server::Server;
use crate::util::num;
use std::time::Duration;

pub static COMMANDS: &[CommandSpec] = &[cmd("migrate", migrate)
    .redacting(redacted)
    .getkeys(GetKeys::Migrate)
    .with(fact::WHOLE_KEYS | fact::MIGRATES)
    .writing(WrittenKeys::ByHandler)];

/// The query is written to the target in chunks of this size.
const WRITE_CHUNK: usize = 64 * 1024;

/// MIGRATE's options (argv[6..]).
struct Options {
    copy: bool,
    replace: bool,
    /// Argument index of the AUTH2 username, if given.
    username: Option<usize>,
    /// Argument index of the password (AUTH or AUTH2), if given.
    password: Option<usize>,
    /// Index of the first key and how many there are.
    first_key: usize,
    num_keys: usize,
}

/// Parses the options as migrateCommand does, noting in `redacted` the
/// arguments it hides from the slow log and MONITOR as it goes (also when
/// a later argument then fails the parse).
fn parse_options(a: &Args, redacted: &mut Vec<usize>) -> Result<Options, CmdError> {
    let mut o = Options {
        copy: false,
        replace: false,
        username: None,
        password: None,
        first_key: 3,
        num_keys: 1,
    };
    let mut j = 6;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if a.is(j, "copy") {
            o.copy = true;
        } else if a.is(j, "replace") {
            o.replace = true;
        } else if a.is(j, "auth") {
            if more < 1 {
                return Err(CmdError::Syntax);
            }
            j += 1;
            o.password = Some(j);
            redacted.push(j);
        } else if a.is(j, "auth2") {
            if more < 2 {
                return Err(CmdError::Syntax);
            }
            o.username = Some(j + 1);
            o.password = Some(j + 2);
            redacted.extend([j + 1, j + 2]);
            j += 2;
        } else if a.is(j, "keys") {
            if !a.get(3).is_empty() {
                return Err(CmdError::Static(error::MIGRATE_KEYS_NEED_EMPTY_KEY));
            }
            o.first_key = j + 1;
            o.num_keys = a.len() - j - 1;
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// Does MIGRATE hide argument `i` (a password or username) from the slow
/// log and MONITOR (redactClientCommandArgument)?
fn redacted(a: &Args, i: usize) -> bool {
    let mut r = Vec::new();
    let _ = parse_options(a, &mut r);
    r.contains(&i)
}

/// How one attempt on a connection ended.
enum Attempt {
    /// Retry once on a new connection.
    Retry,
    Done(CmdResult),
}

fn migrate(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    // MIGRATE itself never reaches replicas: the DEL it queues does.
    crate::propagate::prevent_current(srv);
    let o = parse_options(a, &mut Vec::new())?;
    let timeout = num::parse_i64(a.get(5)).ok_or(CmdError::NotInteger)?;
    let dbid = num::parse_i64(a.get(4)).ok_or(CmdError::NotInteger)?;
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });

    // The keys still here; if none is, there is nothing to do (not an
    // error: a key may just have expired meanwhile).
    let db = c.db;
    let keys: Vec<&[u8]> = (o.first_key..o.first_key + o.num_keys)
        .map(|i| a.get(i))
        .filter(|k| srv.dbs[db].lookup_read(k).is_some())
        .collect();
    if keys.is_empty() {
        c.out.simple("NOKEY");
        return Ok(());
    }
    let mut may_retry = true;
    loop {
        match attempt(srv, c, a, &o, &keys, dbid, timeout, may_retry) {
            Attempt::Retry => may_retry = false,
            Attempt::Done(r) => return r,
        }
    }
}

/// Appends RESTORE (RESTORE-ASKING in cluster mode) commands for `keys` (those not expired by now) to
/// `cmd`; returns the keys included.
fn append_restores<'k>(
    srv: &Server,
    db: usize,
    keys: &[&'k [u8]],
    dbid_replace: bool,
    cmd: &mut Vec<u8>,
) -> Vec<&'k [u8]> {
    let opts = rdb::EncOpts::from_server(srv);
    let now = crate::clock::wall_ms();
    let mut sent = Vec::with_capacity(keys.len());
    for &k in keys {
        let mut ttl = 0;
        if let Some(at) = srv.dbs[db].get_expire(k) {
            ttl = at - now;
            if ttl < 0 {
                continue;
            }
            ttl = ttl.max(1);
        }
        let Some(o) = srv.dbs[db].dict.get(k) else {
            continue;
        };
        let payload = rdb::dump_payload(opts, &o.value);
        let mut tmp = [0u8; 20];
        let ttl = num::format_i64(ttl, &mut tmp);
        // A cluster node's target may be importing the slot: RESTORE-ASKING.
        let name: &[u8] = if srv.cluster.is_some() {
            b"RESTORE-ASKING"
        } else {
            b"RESTORE"
        };
        let mut argv: Vec<&[u8]> = vec![name, k, ttl, &payload];
        if dbid_replace {
            argv.push(b"REPLACE");
        }
        crate::propagate::encode_command(cmd, &argv);
        sent.push(k);
    }
    sent
}

/// One try: connect (or reuse), send, read the replies, apply them.
#[allow(clippy::too_many_arguments)]
fn attempt(
    srv: &mut Server,
    c: &mut Client,
    a: &Args,
    o: &Options,
    keys: &[&[u8]],
    dbid: i64,
    timeout: Duration,
    may_retry: bool,
) -> Attempt {
    let (host, port) = (a.get(1), a.get(2));
    let now_secs = crate::clock::now_ms() / 1000;
    // Under tls-cluster the connection is TLS (migrateGetSocket).
    let tls = match (srv.config.tls_cluster, srv.tls.ctx.as_ref()) {
        (false, _) => None,
        (true, Some(ctx)) => Some(ctx.client.clone()),
        (true, None) => return Attempt::Done(Err(CmdError::Static(error::MIGRATE_CONNECT))),
    };
    let Some(sock) = srv
        .migrate
        .get(host, port, timeout, now_secs, &mut srv.rng, tls)
    else {
        return Attempt::Done(Err(CmdError::Static(error::MIGRATE_CONNECT)));
    };
    let mut cmd = Vec::new();
    if let Some(p) = o.password {
        match o.username {
            Some(u) => crate::propagate::encode_command(&mut cmd, &[b"AUTH", a.get(u), a.get(p)]),
            None => crate::propagate::encode_command(&mut cmd, &[b"AUTH", a.get(p)]),
        }
    }
    let select = srv.migrate.at(sock).last_dbid != dbid;
    if select {
        let mut tmp = [0u8; 20];
        crate::propagate::encode_command(&mut cmd, &[b"SELECT", num::format_i64(dbid, &mut tmp)]);
    }
    let db = c.db;
    let sent = append_restores(srv, db, keys, o.replace, &mut cmd);

    // Send it all, then read AUTH's and SELECT's replies.
    let s = srv.migrate.at(sock);
    if let Some(fail) = cmd
        .chunks(WRITE_CHUNK)
        .find_map(|chunk| s.write_all(chunk, timeout).err())
    {
        return socket_err(srv, a, fail, true, may_retry);
    }
    let auth_reply = match o.password.map(|_| s.read_line(timeout)).transpose() {
        Ok(r) => r,
        Err(fail) => return socket_err(srv, a, fail, false, may_retry),
    };
    let select_reply = match select.then(|| s.read_line(timeout)).transpose() {
        Ok(r) => r,
        Err(fail) => return socket_err(srv, a, fail, false, may_retry),
    };
    let is_err = |r: &Option<Vec<u8>>| r.as_ref().is_some_and(|l| l.first() == Some(&b'-'));

    // One reply per RESTORE.
    let mut target_err: Option<CmdError> = None;
    let mut socket_error = None;
    let mut deleted: Vec<&[u8]> = Vec::new();
    let mut j = 0;
    while j < sent.len() {
        let line = match srv.migrate.at(sock).read_line(timeout) {
            Ok(l) => l,
            Err(fail) => {
                socket_error = Some(fail);
                break;
            }
        };
        if is_err(&auth_reply) || is_err(&select_reply) || line.first() == Some(&b'-') {
            if target_err.is_none() {
                srv.migrate.at(sock).last_dbid = -1;
                let e = [&auth_reply, &select_reply]
                    .into_iter()
                    .flatten()
                    .find(|l| l.first() == Some(&b'-'))
                    .unwrap_or(&line);
                target_err = Some(error::migrate_target_error(&e[1..]));
            }
        } else if !o.copy {
            // Moved: delete the local key, signal the change.
            let k = sent[j];
            srv.dbs[db].delete(k);
            srv.signal_modified_key(Some(&mut *c), db, k);
            notify::event(srv, c, notify::GENERIC, "del", k);
            srv.dirty += 1;
            deleted.push(k);
        }
        j += 1;
    }
    // Nothing processed yet: worth a retry on a new connection.
    if let Some(fail) = socket_error {
        if target_err.is_none() && j == 0 && may_retry && fail != IoFail::Timeout {
            return socket_err(srv, a, fail, false, may_retry);
        }
        srv.migrate.close(host, port);
    }
    if !deleted.is_empty() {
        let mut argv: Vec<&[u8]> = Vec::with_capacity(deleted.len() + 1);
        argv.push(b"DEL");
        argv.extend_from_slice(&deleted);
        crate::propagate::also_propagate(srv, db, &argv, crate::propagate::TO_ALL);
    }
    if let Some(e) = target_err {
        return Attempt::Done(Err(e));
    }
    if socket_error.is_some() {
        return Attempt::Done(Err(CmdError::Static(error::MIGRATE_READING)));
    }
    srv.migrate.at(sock).last_dbid = dbid;
    c.out.ok();
    Attempt::Done(Ok(()))
}

/// A socket error: the cached connection is closed; retried once unless it
/// was a timeout.
fn socket_err(srv: &mut Server, a: &Args, fail: IoFail, writing: bool, may_retry: bool) -> Attempt {
    srv.migrate.close(a.get(1), a.get(2));
    if fail != IoFail::Timeout && may_retry {
        return Attempt::Retry;
    }
    Attempt::Done(Err(CmdError::Static(if writing {
        error::MIGRATE_WRITING
    } else {
        error::MIGRATE_READING
    })))
}
