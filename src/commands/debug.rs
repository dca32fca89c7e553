//! DEBUG (Redis's debug.c): a single command with arity -2 that dispatches
//! on its first argument itself, with Redis 7.0's subcommands and their
//! argument counts. It carries the PROTECTED flag: `commands::execute`
//! refuses it unless `enable-debug-command` allows it, before
//! authentication and ACLs (as Redis's processCommand does).
//!
//! DIGEST follows Redis's xorDigest/mixDigest scheme exactly, so a dataset
//! has the same digest here as on a real Redis server. SEGFAULT, PANIC,
//! ASSERT and OOM crash on purpose through `crate::crash`, which writes
//! Redis's bug report to the log. Subcommands about Redis internals we do
//! not have (jemalloc's MALLCTL, cluster links) answer as Redis does when
//! the thing asked about does not exist.

use super::reply_status_lines as reply_help;
use crate::client::Client;
use crate::clock;
use crate::cmdtable::fact;
use crate::cmdtable::{cmd, CommandSpec, PROTECTED};
use crate::db::Db;
use crate::error::{self, CmdError, CmdResult};
use crate::object::ValueRef;
use crate::object::{Obj, ObjType, Value};
use crate::protocol::args::Args;
use crate::server::Server;
use crate::util::num;
use crate::util::num::atoi;

pub static COMMANDS: &[CommandSpec] = &[cmd("debug", debugCommand)
    .hidden(PROTECTED)
    .with(fact::DEBUG_GATED)];

/// Redis 7.0.15's DEBUG HELP, as built with jemalloc (Debian's package).
const HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
    "HELP",
    "    Prints this help.",
];

/// The DEBUG handler. Named as Redis's function so that stack traces in
/// crash and watchdog reports show the same frame name (the suite's
/// logging test looks for it while DEBUG SLEEP runs).
#[allow(non_snake_case)]
fn debugCommand(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let sub = a.get(1).to_ascii_lowercase();
    let argc = a.len();
    match (sub.as_slice(), argc) {
        (b"help", 2) => reply_help(c, HELP),
        (b"segfault", _) => crate::crash::segfault(),
        (b"panic", _) => {
            let msg = format!(
                "DEBUG PANIC called at Unix time {}",
                clock::wall_ms() / 1000
            );
            crate::crash::panic(&msg, file!(), line!(), &report_context(srv, c, a))
        }
        (b"restart" | b"crash-and-recover", _) => restart(srv, c, a)?,
        (b"oom", _) => {
            // zmalloc(SIZE_MAX/2) failing, as Redis's test of its OOM path.
            crate::crash::out_of_memory(usize::MAX / 2, &report_context(srv, c, a))
        }
        (b"assert", _) => {
            crate::crash::assertion_failed("1 == 2", file!(), line!(), &report_context(srv, c, a))
        }
        (b"sleep", 3) => {
            let secs = strtod_prefix(a.get(2));
            if secs > 0.0 && secs.is_finite() {
                // Blocks the whole server, exactly like Redis's nanosleep.
                std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(1e9)));
            }
            c.out.ok();
        }
        (b"log", 3) => {
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(a.get(2)));
            c.out.ok();
        }
        (b"leak", 3) => {
            std::mem::forget(a.get(2).to_vec());
            c.out.ok();
        }
        (b"reload", _) => reload(srv, c, a)?,
        (b"loadaof", _) => {
            crate::persist::aof_load::debug_loadaof(srv);
            c.out.ok();
        }
        (b"drop-cluster-packet-filter", 3) => {
            let t = a.i64(2)?;
            if let Some(cl) = srv.cluster.as_deref_mut() {
                cl.drop_packet_filter = t;
            }
            c.out.ok();
        }
        (b"object", 3) => object(srv, c, a.get(2))?,
        (b"sdslen", 3) => sdslen(srv, c, a.get(2))?,
        (b"listpack" | b"quicklist", _) if argc == 3 || (argc == 4 && sub == b"quicklist") => {
            print_structure(srv, c, a, sub == b"listpack")?
        }
        (b"populate", 3..=5) => populate(srv, c, a)?,
        (b"digest", 2) => {
            let d = dataset_digest(srv);
            c.out.simple(&hex(&d));
        }
        (b"digest-value", _) => digest_value(srv, c, a),
        (b"protocol", 3) => protocol(c, a.get(2))?,
        (b"set-active-expire", 3) => {
            srv.active_expire_enabled = atoi(a.get(2)) != 0;
            c.out.ok();
        }
        (b"quicklist-packed-threshold", 3) => {
            let ok = std::str::from_utf8(a.get(2))
                .ok()
                .and_then(crate::config::parse_memory)
                .is_some_and(|v| (0..=u32::MAX as i64).contains(&v));
            if !ok {
                return Err(CmdError::Static(error::DEBUG_QUICKLIST_THRESHOLD));
            }
            c.out.ok();
        }
        (b"set-skip-checksum-validation", 3) => {
            srv.skip_checksum_validation = atoi(a.get(2)) != 0;
            c.out.ok();
        }
        (b"aof-flush-sleep", 3) => {
            srv.aof.flush_sleep_us = atoi(a.get(2)).max(0) as u64;
            c.out.ok();
        }
        (b"replicate", _) if argc >= 3 => {
            let argv: Vec<&[u8]> = (2..argc).map(|i| a.get(i)).collect();
            let mut cmd = Vec::new();
            crate::propagate::encode_command(&mut cmd, &argv);
            crate::replication::feed_raw(srv, &cmd);
            c.out.ok();
        }
        (b"error", 3) => {
            // Sent verbatim as "-<string>", newlines turned into spaces.
            return Err(error::custom(
                String::from_utf8_lossy(a.get(2)).into_owned(),
            ));
        }
        (b"structsize", 2) => {
            // The sizes of Redis's C structures on a 64-bit build.
            c.out.bulk(b"bits:64 robj:16 dictentry:24 sdshdr5:1 sdshdr8:3 sdshdr16:5 sdshdr32:9 sdshdr64:17 ");
        }
        (b"htstats", 3) => {
            let id = a.i64(2)?;
            if id < 0 || id >= srv.dbs.len() as i64 {
                return Err(CmdError::Static(error::DEBUG_OUT_OF_RANGE_DB));
            }
            let db = &srv.dbs[id as usize];
            let mut s = String::from("[Dictionary HT]\n");
            s.push_str(&stats_buf(db.dict.stats()));
            s.push_str("[Expires HT]\n");
            s.push_str(&stats_buf(expires_stats(db)));
            c.out.verbatim(s.as_bytes(), "txt");
        }
        (b"htstats-key", 3) => {
            let Some(o) = srv.dbs[c.db].lookup_notouch(a.get(2)) else {
                return Err(CmdError::NoSuchKey);
            };
            let Some(s) = value_dict_stats(&o.value) else {
                return Err(CmdError::Static(error::DEBUG_NOT_HASH_TABLE));
            };
            c.out.verbatim(s.as_bytes(), "txt");
        }
        (b"change-repl-id", 2) => {
            tracing::warn!("Changing replication IDs after receiving DEBUG change-repl-id");
            crate::replication::change_replication_id(srv);
            c.out.ok();
        }
        (b"stringmatch-test", 2) => {
            stringmatch_fuzz(srv);
            c.out.simple("Apparently Redis did not crash: test passed");
        }
        (b"set-disable-deny-scripts", 3) => {
            srv.scripting.allow_noscript = atoi(a.get(2)) != 0;
            c.out.ok();
        }
        (b"config-rewrite-force-all", 2) => match srv.config.rewrite_force_all() {
            Ok(()) => c.out.ok(),
            Err(e) => {
                return Err(error::custom(format!(
                    "ERR CONFIG-REWRITE-FORCE-ALL failed: {}",
                    e
                )))
            }
        },
        (b"client-eviction", 2) => client_eviction(srv, c)?,
        (b"mallctl" | b"mallctl-str", _) if argc >= 3 => {
            // No jemalloc here: every key is unknown (mallctl's ENOENT).
            if sub == b"mallctl" && argc > 3 {
                a.i64(3)?;
            }
            return Err(CmdError::Static(error::DEBUG_MALLCTL_NO_KEY));
        }
        (b"pause-cron", 3) => {
            srv.pause_cron = atoi(a.get(2)) != 0;
            c.out.ok();
        }
        (b"replybuffer", 4) => replybuffer(srv, c, a)?,
        (b"clusterlink", 5) if a.is(2, "kill") => {
            let Some(cl) = srv.cluster.as_deref_mut() else {
                return Err(CmdError::Static(error::DEBUG_CLUSTER_ONLY));
            };
            let name = a.get(4);
            let n = cl
                .state
                .lookup_str(name)
                .ok_or_else(|| error::cluster_unknown_node(name))?;
            let (to, from) = (cl.state.node(n).link, cl.state.node(n).inbound_link);
            let kill: Vec<usize> = match a.get(3).to_ascii_lowercase().as_slice() {
                b"from" => from.into_iter().collect(),
                b"to" => to.into_iter().collect(),
                b"all" => to.into_iter().chain(from).collect(),
                _ => {
                    return Err(CmdError::Formatted(format!(
                        "ERR Unknown direction {}",
                        String::from_utf8_lossy(a.get(3))
                    )))
                }
            };
            for id in kill {
                cl.free_link(id);
            }
            c.out.ok();
        }
        _ => return Err(error::subcommand_syntax(a.get(1), "debug")),
    }
    Ok(())
}

/// The INFO / CLIENT LIST text and client context a crash report shows.
fn report_context(srv: &mut Server, c: &Client, a: &Args) -> crate::crash::ReportContext {
    let info = super::info::gen_info(srv, c, &[true; 64]);
    let now = clock::wall_ms();
    let mut clients = Vec::new();
    let cur = crate::client_info::current_of(srv, a);
    let mut all: Vec<&Client> = srv.other_clients().collect();
    all.push(c);
    all.sort_by_key(|x| x.id);
    for cl in all {
        let is_cur = std::ptr::eq(cl, c);
        crate::client_info::cat_client_info(&mut clients, srv, cl, now, is_cur.then_some(&cur));
        clients.push(b'\n');
    }
    let mut client_lines = vec![
        "client->flags = 0".to_string(),
        format!("client->conn = fd={}", c.fd),
        format!("client->argc = {}", a.len()),
    ];
    for (j, arg) in a.iter().enumerate() {
        client_lines.push(format!(
            "client->argv[{}] = \"{}\" (refcount: 1)",
            j,
            String::from_utf8_lossy(arg)
        ));
    }
    crate::crash::ReportContext {
        client_lines,
        // _serverAssertWithInfo(c, c->argv[0], ...): a string object.
        object_lines: vec![
            "Object type: 0".to_string(),
            "Object encoding: 0".to_string(),
            "Object refcount: 1".to_string(),
        ],
        info,
        clients: String::from_utf8_lossy(&clients).into_owned(),
    }
}

/// DEBUG RESTART / CRASH-AND-RECOVER [ms]: replace this process with a new
/// one started the same way (restartServer). RESTART first rewrites the
/// config file (if any) and shuts down properly (saving when save points
/// are set); CRASH-AND-RECOVER does neither.
fn restart(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let mut delay = 0;
    if a.len() >= 3 {
        delay = a.i64(2)?.max(0);
    }
    let graceful = a.is(1, "restart");
    super::server_cmds::restart_server(srv, graceful, delay);
    // Only reached when the restart failed (the cause is logged).
    c.out.error(&CmdError::Static(error::DEBUG_RESTART_FAILED));
    Ok(())
}

fn reload(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for i in 2..a.len() {
        if a.is(i, "merge") {
            merge = true;
        } else if a.is(i, "noflush") {
            flush = false;
        } else if a.is(i, "nosave") {
            save = false;
        } else {
            return Err(CmdError::Static(error::DEBUG_RELOAD_OPTIONS));
        }
    }
    crate::persist::rdb_server::debug_reload(srv, merge, flush, save)?;
    c.out.ok();
    Ok(())
}

fn digest_value(srv: &mut Server, c: &mut Client, a: &Args) {
    c.out.array(a.len() - 2);
    for i in 2..a.len() {
        let db = &srv.dbs[c.db];
        let mut d = [0u8; 20];
        if let Some(o) = db.dict.get(a.get(i)) {
            xor_object_digest(db, a.get(i), &mut d, o);
        }
        c.out.simple(&hex(&d));
    }
}

/// DEBUG REPLYBUFFER PEAK-RESET-TIME <never|reset|ms> / RESIZING <0|1>.
fn replybuffer(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.is(2, "peak-reset-time") {
        srv.reply_buffer_peak_reset_ms = if a.is(3, "never") {
            -1
        } else if a.is(3, "reset") {
            crate::server::REPLY_BUFFER_DEFAULT_PEAK_RESET_MS
        } else {
            a.i64(3)?
        };
    } else if a.is(2, "resizing") {
        srv.reply_buffer_resizing = atoi(a.get(3)) != 0;
    } else {
        return Err(error::subcommand_syntax(a.get(1), "debug"));
    }
    c.out.ok();
    Ok(())
}

/// DEBUG CLIENT-EVICTION: the client eviction buckets (2^15 .. 2^33
/// bytes) with their evictable clients, only while maxmemory-clients is
/// set.
fn client_eviction(srv: &mut Server, c: &mut Client) -> CmdResult {
    use crate::client_mem::{BUCKETS, BUCKET_MIN_LOG};
    if !srv.client_mem.enabled {
        return Err(CmdError::Static(error::DEBUG_CLIENT_EVICTION_OFF));
    }
    let cm = &srv.client_mem;
    let mut s = String::new();
    for j in 0..BUCKETS {
        if j == 0 {
            s.push_str("bucket          0");
        } else {
            s.push_str(&format!(
                "bucket {:10}",
                1usize << (j as u32 - 1 + BUCKET_MIN_LOG)
            ));
        }
        if j == BUCKETS - 1 {
            s.push_str("+            : ");
        } else {
            s.push_str(&format!(
                " - {:10}: ",
                (1usize << (j as u32 + BUCKET_MIN_LOG)) - 1
            ));
        }
        s.push_str(&format!(
            "tot-mem: {:10}, clients: {}\n",
            cm.bucket_mem[j], cm.bucket_clients[j]
        ));
    }
    c.out.verbatim(s.as_bytes(), "txt");
    Ok(())
}

/// Redis's stringmatchlen_fuzz_test: random patterns against random
/// strings through the glob matcher; it must simply not crash.
fn stringmatch_fuzz(srv: &mut Server) {
    use rand::Rng;
    let rng = &mut srv.rng;
    let mut matches = 0u64;
    let (mut s, mut p) = ([0u8; 32], [0u8; 32]);
    for _ in 0..10_000_000 {
        let (sl, pl) = (rng.gen_range(0..32), rng.gen_range(0..32));
        for b in &mut s[..sl] {
            *b = rng.gen_range(0..128);
        }
        for b in &mut p[..pl] {
            *b = rng.gen_range(0..128);
        }
        matches += crate::util::glob::string_match(&p[..pl], &s[..sl], false) as u64;
    }
    println!("{}", matches);
}

/// dictGetStats writes into a 4096-byte buffer: longer text is cut.
fn stats_buf(mut s: String) -> String {
    // The text is ASCII, so any byte offset is a char boundary.
    s.truncate(4095);
    s
}

/// The dictGetStats text of a value's hash table: a hashtable-encoded set
/// or hash, or the member index of a skiplist-encoded sorted set.
fn value_dict_stats(v: &Value) -> Option<String> {
    use crate::types::hash::HashValue;
    use crate::types::set::SetValue;
    let s = match v.get() {
        ValueRef::Set(s) => match s {
            SetValue::Hash(d) => d.stats(),
            SetValue::Intset(_) => return None,
        },
        ValueRef::Hash(h) => match h {
            HashValue::Table(d) => d.stats(),
            HashValue::Listpack(_) => return None,
        },
        ValueRef::ZSet(z) => z.index()?.stats(),
        _ => return None,
    };
    Some(stats_buf(s))
}

/// C `strtod` on the longest numeric prefix; 0 if there is none.
fn strtod_prefix(b: &[u8]) -> f64 {
    let s = std::str::from_utf8(b).unwrap_or("").trim_start();
    (1..=s.len())
        .rev()
        .filter(|&i| s.is_char_boundary(i))
        .find_map(|i| s[..i].parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// rdbSavedObjectLen: the size of the value's RDB body.
fn serialized_len(srv: &Server, v: &Value) -> usize {
    let mut b = Vec::new();
    crate::persist::rdb::save_object(&mut b, v, crate::persist::rdb::EncOpts::from_server(srv));
    b.len()
}

fn object(srv: &mut Server, c: &mut Client, key: &[u8]) -> CmdResult {
    // Like Redis, no lazy expiry: DEBUG sees logically expired keys too.
    let Some(o) = srv.dbs[c.db].dict.get(key) else {
        return Err(CmdError::NoSuchKey);
    };
    let lru = srv.dbs[c.db].lru(key).unwrap_or(0);
    let mut line = format!(
        "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        o as *const Obj,
        o.value.encoding_name(),
        serialized_len(srv, &o.value),
        lru,
        clock::idle_secs(lru)
    );
    if let ValueRef::List(l) = o.value.get() {
        let ql = l.quicklist();
        let nodes = ql.node_count();
        let size: usize = ql.nodes().map(|n| n.listpack().bytes_len()).sum();
        line.push_str(&format!(
            " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{}",
            nodes,
            ql.len() as f64 / nodes as f64,
            ql.fill(),
            (ql.compress_depth() != 0) as u8,
            size
        ));
    }
    c.out.simple(&line);
    Ok(())
}

/// sdsReqType's header size for a string of `len` bytes (keys may use
/// sdshdr5; values never do).
fn sds_header(len: usize, key: bool) -> usize {
    match len {
        0..=31 if key && len > 0 => 1,
        0..=255 => 3,
        256..=65535 => 5,
        _ if len as u64 <= u32::MAX as u64 => 9,
        _ => 17,
    }
}

/// DEBUG SDSLEN key: the SDS sizes Redis would have for this key and
/// (raw or embstr) string value, with jemalloc's allocation sizes.
fn sdslen(srv: &mut Server, c: &mut Client, key: &[u8]) -> CmdResult {
    use crate::client::jemalloc_usable;
    let Some(o) = srv.dbs[c.db].dict.get(key) else {
        return Err(CmdError::NoSuchKey);
    };
    let (len, avail, zmalloc) = match o.value.get() {
        // A raw string nobody modified (one allocation here): Redis's
        // sdsnewlen, whose spare room is the allocator's rounding, which
        // trimStringObjectIfNeeded drops when it exceeds a tenth.
        ValueRef::Emb(s) if s.len() > crate::object::EMBSTR_SIZE_LIMIT => {
            let hdr = sds_header(s.len(), false);
            let usable = jemalloc_usable(hdr + s.len() + 1);
            let spare = usable - hdr - s.len() - 1;
            (
                s.len(),
                if spare > s.len() / 10 { 0 } else { spare },
                usable,
            )
        }
        ValueRef::Inline(_) | ValueRef::Emb(_) => {
            let len = o.value.str_len().unwrap_or(0);
            // One allocation: robj (16) + sdshdr8 + bytes + NUL.
            (len, 0, jemalloc_usable(16 + 3 + len + 1) - 16)
        }
        ValueRef::Raw(v) => {
            let cap = v.capacity().max(v.len());
            (
                v.len(),
                cap - v.len(),
                jemalloc_usable(sds_header(cap, false) + cap + 1),
            )
        }
        _ => return Err(CmdError::Static(error::DEBUG_NOT_SDS)),
    };
    let line = format!(
        "key_sds_len:{}, key_sds_avail:0, key_zmalloc: {}, val_sds_len:{}, val_sds_avail:{}, val_zmalloc: {}",
        key.len(),
        jemalloc_usable(sds_header(key.len(), true) + key.len() + 1),
        len,
        avail,
        zmalloc
    );
    c.out.simple(&line);
    Ok(())
}

/// DEBUG LISTPACK key / DEBUG QUICKLIST key [0|1]: print the encoding's
/// structure on stdout (lpRepr / quicklistRepr).
fn print_structure(srv: &mut Server, c: &mut Client, a: &Args, listpack: bool) -> CmdResult {
    use crate::ds::listpack::Listpack;
    use crate::types::hash::HashValue;
    use crate::types::zset::ZSetValue;
    let Some(o) = srv.dbs[c.db].lookup_notouch(a.get(2)) else {
        return Err(CmdError::NoSuchKey);
    };
    let repr = |lp: &Listpack, out: &mut String| {
        out.push_str(&format!(
            "{{total bytes {}}} {{num entries {}}}\n",
            lp.bytes_len(),
            lp.len()
        ));
        for (i, v) in lp.iter().enumerate() {
            let mut tmp = [0u8; 20];
            out.push_str(&format!(
                "{{\n\tindex: {:2},\n\tvalue: {}\n}}\n",
                i,
                String::from_utf8_lossy(v.as_bytes(&mut tmp))
            ));
        }
        out.push_str("[END]\n");
    };
    let mut out = String::new();
    if listpack {
        match o.value.get() {
            ValueRef::Hash(h) => match h {
                HashValue::Listpack(lp) => repr(lp, &mut out),
                HashValue::Table(_) => return Err(CmdError::Static(error::DEBUG_NOT_LISTPACK)),
            },
            ValueRef::ZSet(z) => match z {
                ZSetValue::Listpack(lp) => repr(lp, &mut out),
                ZSetValue::Skiplist(_) => return Err(CmdError::Static(error::DEBUG_NOT_LISTPACK)),
            },
            _ => return Err(CmdError::Static(error::DEBUG_NOT_LISTPACK)),
        }
        print!("{}", out);
        c.out.simple("Listpack structure printed on stdout");
    } else {
        let ValueRef::List(l) = o.value.get() else {
            return Err(CmdError::Static(error::DEBUG_NOT_QUICKLIST));
        };
        let full = a.len() == 4 && atoi(a.get(3)) != 0;
        let ql = l.quicklist();
        out.push_str(&format!(
            "{{count : {}}}\n{{len : {}}}\n{{fill : {}}}\n{{compress : {}}}\n{{bookmark_count : 0}}\n",
            ql.len(),
            ql.node_count(),
            ql.fill(),
            ql.compress_depth()
        ));
        for (i, n) in ql.nodes().enumerate() {
            out.push_str(&format!(
                "{{quicklist node({})\n{{container : PACKED, size: {:<3}, count: {:<3}, compressed: 0 (RAW), recompress: 0, attempted_compress: 0}}\n",
                i,
                n.listpack().bytes_len(),
                n.listpack().len()
            ));
            if full {
                repr(n.listpack(), &mut out);
            }
            out.push_str("}\n");
        }
        print!("{}", out);
        c.out.simple("Quicklist structure printed on stdout");
    }
    Ok(())
}

/// DEBUG POPULATE count [prefix] [size]: keys `prefix:N` with values
/// `value:N` (zero-padded or cut to `size`), skipping existing keys.
fn populate(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let positive = |i: usize| {
        num::parse_i64(a.get(i))
            .filter(|&v| v >= 0)
            .ok_or(CmdError::Static(error::NOT_IN_RANGE_MAX))
    };
    let count = positive(2)?;
    let valsize = if a.len() == 5 {
        positive(4)? as usize
    } else {
        0
    };
    let prefix: &[u8] = if a.len() >= 4 { a.get(3) } else { b"key" };
    let db = &mut srv.dbs[c.db];
    // (Not under a fork-less snapshot: the expansion may shrink a sparse
    // table, and the snapshot's hash groups need the size it started at.)
    if db.snap.is_none() {
        db.dict.expand(db.dict.len() + count.min(1 << 24) as usize);
    }
    let mut key = Vec::with_capacity(prefix.len() + 21);
    let mut val = Vec::with_capacity(valsize.max(26));
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        num::write_i64(&mut key, j);
        // Redis builds the name with snprintf into a 128-byte buffer.
        key.truncate(127);
        if db.exists(&key) {
            continue;
        }
        val.clear();
        val.extend_from_slice(b"value:");
        num::write_i64(&mut val, j);
        if valsize > 0 {
            val.resize(valsize, 0);
        }
        db.add(&key, Value::embstr(&val));
    }
    c.out.ok();
    Ok(())
}

/// DEBUG PROTOCOL <type>: the RESP3 test replies of Redis 7.0.
fn protocol(c: &mut Client, name: &[u8]) -> CmdResult {
    let n = name.to_ascii_lowercase();
    match n.as_slice() {
        b"string" => c.out.bulk(b"Hello World"),
        b"integer" => c.out.int(12345),
        // Redis's literal test value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        b"double" => c.out.double(3.141),
        b"bignum" => c.out.big_number(b"1234567999999999999999999999999999999"),
        b"null" => c.out.null(),
        b"array" | b"set" => {
            if n == b"set" {
                c.out.set(3);
            } else {
                c.out.array(3);
            }
            for j in 0..3 {
                c.out.int(j);
            }
        }
        b"map" => {
            c.out.map(3);
            for j in 0..3 {
                c.out.int(j);
                c.out.boolean(j == 1);
            }
        }
        b"attrib" => {
            if c.out.resp3() {
                c.out.raw(b"|1\r\n");
                c.out.bulk(b"key-popularity");
                c.out.array(2);
                c.out.bulk(b"key:123");
                c.out.int(90);
            }
            c.out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !c.out.resp3() {
                return Err(CmdError::Static(error::RESP2_NOT_SUPPORTED));
            }
            c.out.push(2);
            c.out.bulk(b"server-cpu-usage");
            c.out.int(42);
            c.out.bulk(b"Some real reply following the push reply");
        }
        b"true" => c.out.boolean(true),
        b"false" => c.out.boolean(false),
        b"verbatim" => c.out.verbatim(b"This is a verbatim\nstring", "txt"),
        _ => return Err(CmdError::Static(error::DEBUG_PROTOCOL_TYPE)),
    }
    Ok(())
}

// ---- DIGEST -----------------------------------------------------------------

use crate::util::digest::{mix_digest, xor_digest};

/// Redis's OBJ_* type numbers, hashed big-endian into each value digest.
fn type_code(t: ObjType) -> u32 {
    match t {
        ObjType::String => 0,
        ObjType::List => 1,
        ObjType::Set => 2,
        ObjType::ZSet => 3,
        ObjType::Hash => 4,
        ObjType::Stream => 6,
    }
}

/// Redis's xorObjectDigest: type, value and whether the key has a TTL.
fn xor_object_digest(db: &Db, key: &[u8], digest: &mut [u8; 20], o: &Obj) {
    mix_digest(digest, &type_code(o.value.obj_type()).to_be_bytes());
    let mut tmp = [0u8; 20];
    if let Some(b) = o.value.str_bytes(&mut tmp) {
        mix_digest(digest, b);
    } else {
        o.value.collection_digest(digest);
    }
    if db.get_expire(key).is_some() {
        xor_digest(digest, b"!!expire!!");
    }
}

/// Redis's computeDatasetDigest: all zeros for an empty dataset.
pub fn dataset_digest(srv: &Server) -> [u8; 20] {
    let mut fin = [0u8; 20];
    for (j, db) in srv.dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        mix_digest(&mut fin, &(j as u32).to_be_bytes());
        for (k, o) in db.dict.iter() {
            let key: &[u8] = k;
            let mut d = [0u8; 20];
            mix_digest(&mut d, key);
            xor_object_digest(db, key, &mut d, o);
            xor_digest(&mut fin, &d);
        }
    }
    fin
}

fn hex(d: &[u8; 20]) -> String {
    let mut s = String::with_capacity(40);
    for b in d {
        s.push_str(&format!("{:02x}", b));
    }
    s
}

/// The `[Expires HT]` part of DEBUG HTSTATS. Expire times live in the keys'
/// own dict entries (no second table): Redis's text for an empty table when
/// no key has a TTL, else how many do.
fn expires_stats(db: &crate::db::Db) -> String {
    match db.expires_len() {
        0 => "Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n"
            .to_string(),
        n => format!(
            "Hash table 0 stats (main hash table):\n number of elements: {n}\n              (expire times are kept in the keys' entries of the main table)\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_parsing() {
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b" 12abc"), 12);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(strtod_prefix(b"0.5"), 0.5);
        assert_eq!(strtod_prefix(b"1.5s"), 1.5);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
    }

    #[test]
    fn sds_headers() {
        assert_eq!(sds_header(1, true), 1);
        assert_eq!(sds_header(0, true), 3);
        assert_eq!(sds_header(64, false), 3);
        assert_eq!(sds_header(300, false), 5);
        assert_eq!(crate::client::jemalloc_usable(3 + 64 + 1), 80);
        assert_eq!(crate::client::jemalloc_usable(16 + 3 + 3 + 1) - 16, 16);
    }

    #[test]
    fn digest_primitives() {
        let mut d = [0u8; 20];
        xor_digest(&mut d, b"abc");
        assert_eq!(hex(&d), "a9993e364706816aba3e25717850c26c9cd0d89d");
        xor_digest(&mut d, b"abc");
        assert_eq!(d, [0u8; 20]);
    }
}
