//! Server commands: TIME, LASTSAVE, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB,
//! SLOWLOG, LATENCY, MONITOR and SHUTDOWN (Redis's server.c, db.c,
//! slowlog.c and latency.c).

use super::reply_status_lines as reply_help;
use crate::client::Client;
use crate::clock;
use crate::cmdtable::{cmd, container, CommandSpec};
use crate::error::{self, CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::{Server, ShutdownFlags};
use std::fmt::Write as _;
use tracing::warn;

static SLOWLOG_SUBS: &[CommandSpec] = &[
    cmd("get", slowlog_get),
    cmd("help", slowlog_help),
    cmd("len", slowlog_len),
    cmd("reset", slowlog_reset),
];

static LATENCY_SUBS: &[CommandSpec] = &[
    cmd("doctor", latency_doctor),
    cmd("graph", latency_graph),
    cmd("help", latency_help),
    cmd("histogram", latency_histogram),
    cmd("history", latency_history),
    cmd("latest", latency_latest),
    cmd("reset", latency_reset),
];

pub static COMMANDS: &[CommandSpec] = &[
    cmd("time", time),
    cmd("lastsave", lastsave),
    cmd("dbsize", dbsize),
    cmd("flushdb", flushdb),
    cmd("flushall", flushall),
    cmd("swapdb", swapdb),
    cmd("monitor", monitor),
    cmd("shutdown", super::shutdown::shutdown_command),
    container("slowlog", SLOWLOG_SUBS),
    container("latency", LATENCY_SUBS),
];

fn time(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    let us = clock::wall_us();
    c.out.array(2);
    c.out.bulk_i64(us / 1_000_000);
    c.out.bulk_i64(us % 1_000_000);
    Ok(())
}

fn lastsave(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    c.out.int(srv.lastsave);
    Ok(())
}

fn dbsize(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    c.out.int(srv.dbs[c.db].len() as i64);
    Ok(())
}

/// Redis's getFlushCommandFlags: an optional ASYNC or SYNC; without one,
/// lazyfree-lazy-user-flush decides. Ok(true) frees the data lazily.
fn check_flush_args(srv: &Server, a: &Args) -> Result<bool, CmdError> {
    match a.len() {
        1 => Ok(srv.config.lazyfree_lazy_user_flush),
        2 if a.is(1, "sync") => Ok(false),
        2 if a.is(1, "async") => Ok(true),
        _ => Err(CmdError::Syntax),
    }
}

fn flushdb(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let lazy = check_flush_args(srv, a)?;
    crate::multi::touch_all_in_db(srv, c.db, None);
    crate::tracking::invalidate_all(srv, Some(c));
    let n = srv.dbs[c.db].flush_lazy(lazy);
    srv.dirty += n as u64;
    // Propagated even when the db was already empty
    // (forceCommandPropagation).
    let argv: Vec<&[u8]> = a.iter().collect();
    crate::propagate::rewrite(srv, c.db, &argv);
    c.out.ok();
    Ok(())
}

fn flushall(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let lazy = check_flush_args(srv, a)?;
    for db in 0..srv.dbs.len() {
        crate::multi::touch_all_in_db(srv, db, None);
    }
    crate::tracking::invalidate_all(srv, Some(c));
    // A fork-less BGSAVE is stopped before the keys go (it would write
    // them out first); after_flushall kills a forked one.
    if srv.snapshot.is_some() {
        crate::persist::rdb_server::kill_bgsave(srv);
    }
    let n: usize = srv.dbs.iter_mut().map(|d| d.flush_lazy(lazy)).sum();
    srv.dirty += n as u64;
    // flushAllDataAndResetRDB: a running BGSAVE is killed and, with save
    // points, the now empty dataset is saved right away.
    crate::persist::rdb_server::after_flushall(srv);
    // Propagated even when the save reset the dirty counter (inside a
    // transaction the counter may end where it started).
    crate::propagate::force_current(srv);
    c.out.ok();
    Ok(())
}

/// Parses a DB index the way getIntFromObjectOrReply does (a C int).
fn db_index(b: &[u8]) -> Option<i64> {
    crate::util::num::parse_i64(b).filter(|v| i32::try_from(*v).is_ok())
}

fn swapdb(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if srv.cluster.is_some() {
        return Err(CmdError::Static(error::CLUSTER_SWAPDB));
    }
    let x = db_index(a.get(1)).ok_or(CmdError::Static(error::SWAPDB_INDEX))?;
    let y = db_index(a.get(2)).ok_or(CmdError::Static(error::SWAPDB_INDEX2))?;
    let n = srv.dbs.len() as i64;
    if x < 0 || x >= n || y < 0 || y >= n {
        return Err(CmdError::DbIndexOutOfRange);
    }
    let (lo, hi) = (x.min(y) as usize, x.max(y) as usize);
    if lo != hi {
        crate::multi::touch_all_in_db(srv, lo, Some(hi));
        crate::multi::touch_all_in_db(srv, hi, Some(lo));
        // Blocked XREADGROUPs whose stream swaps away are unblocked.
        crate::blocking::signal_deleted_streams(srv, lo, Some(hi));
        crate::blocking::signal_deleted_streams(srv, hi, Some(lo));
        let (left, right) = srv.dbs.split_at_mut(hi);
        let (d1, d2) = (&mut left[lo], &mut right[0]);
        // The keyspace moves; ids and per-db counters stay with the index.
        std::mem::swap(&mut d1.dict, &mut d2.dict);
        // A fork-less snapshot's state goes with the keys it describes.
        std::mem::swap(&mut d1.snap, &mut d2.snap);
        std::mem::swap(&mut d1.avg_ttl, &mut d2.avg_ttl);
        std::mem::swap(&mut d1.expires_cursor, &mut d2.expires_cursor);
        // Clients blocked on a key that now exists in their db are served
        // (scanDatabaseForReadyKeys; a plain lookup: an expired key is
        // deleted, and its DEL propagated, only after SWAPDB itself).
        let waiting: Vec<(usize, Vec<u8>)> = srv
            .blocking_keys
            .keys()
            .filter(|(db, _)| *db == lo || *db == hi)
            .cloned()
            .collect();
        for (db, key) in waiting {
            if srv.dbs[db].dict.contains_key(&key) {
                crate::blocking::signal_key_ready(srv, db, &key);
            }
        }
    }
    srv.dirty += 1;
    c.out.ok();
    Ok(())
}

fn monitor(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    // Already monitoring: Redis ignores the command without a reply.
    if c.is_monitor {
        return Ok(());
    }
    c.is_monitor = true;
    c.out.ok();
    Ok(())
}

/// Redis's restartServer (DEBUG RESTART / CRASH-AND-RECOVER): after
/// `delay_ms`, replaces this process with the executable started with the
/// same arguments. `graceful` first rewrites the config file (if any) and
/// runs the shutdown sequence (saving when save points are set). Returns
/// only when the restart could not be attempted; the cause is logged.
pub fn restart_server(srv: &mut Server, graceful: bool, delay_ms: i64) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(exe) = std::ffi::CString::new(srv.executable.as_bytes()) else {
        return;
    };
    // SAFETY: access() on a valid C string.
    if unsafe { libc::access(exe.as_ptr(), libc::X_OK) } == -1 {
        warn!(
            "Can't restart: this process has no permissions to execute {}",
            srv.executable
        );
        return;
    }
    if graceful && srv.config.config_file.is_some() {
        let users = super::config_cmd::acl_user_lines(srv);
        if let Err(e) = srv.config.rewrite_with_users(Some(&users)) {
            warn!("Can't restart: configuration rewrite process failed: {}", e);
            return;
        }
    }
    if graceful
        && super::shutdown::prepare(
            srv,
            ShutdownFlags {
                now: true,
                ..Default::default()
            },
        ) != super::shutdown::Prepared::Exit
    {
        warn!("Can't restart: error preparing for shutdown");
        return;
    }
    let args: Vec<std::ffi::CString> = std::iter::once(exe.clone())
        .chain(
            crate::proctitle::exec_argv()
                .into_iter()
                .skip(1)
                .filter_map(|a| std::ffi::CString::new(a.as_bytes()).ok()),
        )
        .collect();
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: closing every descriptor above stderr (listeners, clients,
    // files) right before exec, as Redis does; `argv` is a NULL-terminated
    // array of C strings that outlive the execv call.
    unsafe {
        let max = libc::sysconf(libc::_SC_OPEN_MAX).clamp(1024, 1 << 20) as i32;
        for fd in 3..max {
            if libc::fcntl(fd, libc::F_GETFD) != -1 {
                libc::close(fd);
            }
        }
        if delay_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(delay_ms as u64));
        }
        libc::execv(exe.as_ptr(), argv.as_ptr());
        libc::_exit(1);
    }
}

// ---- SLOWLOG ----------------------------------------------------------------

const SLOWLOG_HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

fn slowlog_help(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    reply_help(c, SLOWLOG_HELP);
    Ok(())
}

fn slowlog_get(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    if a.len() > 3 {
        return Err(error::subcommand_syntax(a.get(1), &a.str_lossy(0)));
    }
    let mut count: usize = 10;
    if a.len() == 3 {
        match crate::util::num::parse_i64(a.get(2)) {
            Some(-1) => count = srv.slowlog.len(),
            Some(n) if n >= 0 => count = n as usize,
            _ => return Err(CmdError::Static(error::SLOWLOG_COUNT)),
        }
    }
    let n = count.min(srv.slowlog.len());
    c.out.array(n);
    for e in srv.slowlog.iter().take(n) {
        c.out.array(6);
        c.out.int(e.id as i64);
        c.out.int(e.time);
        c.out.int(e.duration_us as i64);
        c.out.array(e.args.len());
        for arg in &e.args {
            c.out.bulk(arg);
        }
        c.out.bulk(e.peer.as_bytes());
        c.out.bulk(&e.name);
    }
    Ok(())
}

fn slowlog_len(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    c.out.int(srv.slowlog.len() as i64);
    Ok(())
}

fn slowlog_reset(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    srv.slowlog.clear();
    c.out.ok();
    Ok(())
}

// ---- LATENCY ----------------------------------------------------------------

const LATENCY_HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
];

fn latency_help(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    reply_help(c, LATENCY_HELP);
    Ok(())
}

/// LATENCY HISTOGRAM [command ...]: per-command latency distributions
/// (Redis's latencyAllCommandsFillCDF / latencySpecificCommandsFillCDF).
/// Without names, every command (and subcommand) with data; a named
/// container brings its subcommands along; unknown names are skipped.
fn latency_histogram(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let t = &srv.commands;
    let has = |i: usize| t.entries[i].stats.latency.is_some();
    let mut picked = Vec::new();
    if a.len() == 2 {
        picked.extend((0..t.entries.len()).filter(|&i| has(i)));
    } else {
        for j in 2..a.len() {
            let Some(i) = t.lookup_fullname(a.get(j)) else {
                continue;
            };
            if has(i) {
                picked.push(i);
            }
            picked.extend(
                t.entries[i]
                    .subs
                    .iter()
                    .map(|&(_, s)| s)
                    .filter(|&s| has(s)),
            );
        }
    }
    c.out.map(picked.len());
    for i in picked {
        let e = &t.entries[i];
        let Some(h) = e.stats.latency.as_ref() else {
            continue;
        };
        c.out.bulk(e.fullname.as_bytes());
        c.out.map(2);
        c.out.bulk(b"calls");
        c.out.int(h.total() as i64);
        c.out.bulk(b"histogram_usec");
        let cdf = h.cdf_usec();
        c.out.map(cdf.len());
        for (usec, count) in cdf {
            c.out.int(usec as i64);
            c.out.int(count as i64);
        }
    }
    Ok(())
}

/// LATENCY GRAPH event: an ASCII sparkline of the event's samples, four
/// rows high, labelled with how long ago each was taken
/// (latencyCommandGenSparkeline + sparklineRender with SPARKLINE_FILL).
fn latency_graph(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let ev = a.get(2);
    let Some((name, s)) = srv.latency.iter().find(|(k, _)| k.as_bytes() == ev) else {
        return Err(error::custom(format!(
            "ERR No samples available for event '{}'",
            String::from_utf8_lossy(ev)
        )));
    };
    let now = clock::wall_ms() / 1000;
    let samples: Vec<(f64, String)> = s
        .samples
        .iter()
        .map(|&(t, ms)| {
            let e = now - t;
            let label = match e {
                _ if e < 60 => format!("{}s", e),
                _ if e < 3600 => format!("{}m", e / 60),
                _ if e < 86400 => format!("{}h", e / 3600),
                _ => format!("{}d", e / 86400),
            };
            (ms as f64, label)
        })
        .collect();
    let (lo, hi) = samples
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &(v, _)| (lo.min(v), hi.max(v)));
    let lo = if samples.is_empty() { 0.0 } else { lo };
    let mut g = format!(
        "{} - high {} ms, low {} ms (all time high {} ms)\n{}\n",
        name,
        hi as u64,
        lo as u64,
        s.max,
        "-".repeat(80)
    );
    for (j, chunk) in samples.chunks(80).enumerate() {
        if j > 0 {
            g.push('\n');
        }
        sparkline_range(&mut g, chunk, lo, hi, 4);
    }
    c.out.verbatim(g.as_bytes(), "txt");
    Ok(())
}

/// sparklineRenderRange with SPARKLINE_FILL: `rows` rows of "_o#|" art,
/// then the labels written vertically, one row per character.
fn sparkline_range(out: &mut String, samples: &[(f64, String)], min: f64, max: f64, rows: i64) {
    const FILL: &[u8] = b"_o#";
    let charset_len = FILL.len() as i64;
    let relmax = if max - min == 0.0 { 1.0 } else { max - min };
    let steps = charset_len * rows;
    let mut row = 0i64;
    loop {
        let mut line = vec![b' '; samples.len()];
        let mut more = false;
        for (j, (v, label)) in samples.iter().enumerate() {
            let step = ((((v - min) * steps as f64) as i64) as f64 / relmax) as i64;
            let step = step.clamp(0, steps - 1);
            if row < rows {
                more = true;
                let idx = step - (rows - row - 1) * charset_len;
                if (0..charset_len).contains(&idx) {
                    line[j] = FILL[idx as usize];
                } else if idx >= charset_len {
                    line[j] = b'|';
                }
            } else {
                // One blank row between the graph and the labels.
                if row - rows < 1 {
                    more = true;
                    break;
                }
                let k = (row - rows - 1) as usize;
                if let Some(&ch) = label.as_bytes().get(k) {
                    more = true;
                    line[j] = ch;
                }
            }
        }
        if !more {
            break;
        }
        row += 1;
        out.push_str(&String::from_utf8_lossy(&line));
        out.push('\n');
    }
}

/// Event names in a stable order (Redis walks its dict in hash order).
fn event_names(srv: &Server) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = srv.latency.keys().copied().collect();
    v.sort_unstable();
    v
}

fn latency_latest(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    let names = event_names(srv);
    c.out.array(names.len());
    for name in names {
        let s = &srv.latency[name];
        let (t, ms) = s.samples.back().copied().unwrap_or((0, 0));
        c.out.array(4);
        c.out.bulk(name.as_bytes());
        c.out.int(t);
        c.out.int(ms as i64);
        c.out.int(s.max as i64);
    }
    Ok(())
}

fn latency_history(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let ev = a.get(2);
    match srv.latency.iter().find(|(k, _)| k.as_bytes() == ev) {
        Some((_, s)) => {
            c.out.array(s.samples.len());
            for &(t, ms) in &s.samples {
                c.out.array(2);
                c.out.int(t);
                c.out.int(ms as i64);
            }
        }
        None => c.out.array(0),
    }
    Ok(())
}

fn latency_reset(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let removed = if a.len() == 2 {
        let n = srv.latency.len();
        srv.latency.clear();
        n
    } else {
        let mut n = 0;
        for i in 2..a.len() {
            let ev = a.get(i);
            if let Some(k) = srv.latency.keys().copied().find(|k| k.as_bytes() == ev) {
                srv.latency.remove(k);
                n += 1;
            }
        }
        n
    };
    c.out.int(removed as i64);
    Ok(())
}

fn latency_doctor(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    let report = latency_report(srv, clock::wall_ms() / 1000);
    c.out.verbatim(report.as_bytes(), "txt");
    Ok(())
}

/// A reduced version of Redis's createLatencyReport: the same per-event
/// statistics, and the advice Redis gives for command events.
fn latency_report(srv: &Server, now_s: i64) -> String {
    let thr = srv.config.latency_monitor_threshold;
    let mut r = String::new();
    if srv.latency.is_empty() && thr == 0 {
        r.push_str("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n");
        return r;
    }
    let names = event_names(srv);
    if names.is_empty() {
        r.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        return r;
    }
    r.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
    let (mut slowlog_enable, mut slowlog_tune, mut commands, mut scheduler) =
        (false, false, false, false);
    for (i, name) in names.iter().enumerate() {
        let s = &srv.latency[name];
        let n = s.samples.len().max(1) as u64;
        let sum: u64 = s.samples.iter().map(|x| x.1).sum();
        let avg = sum / n;
        let mad = s.samples.iter().map(|x| x.1.abs_diff(avg)).sum::<u64>() / n;
        let oldest = s.samples.iter().map(|x| x.0).min().unwrap_or(now_s);
        let period = (now_s - oldest).max(1);
        let _ = writeln!(
            r,
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            i + 1,
            name,
            s.samples.len(),
            avg,
            mad,
            period as f64 / n as f64,
            s.max
        );
        if *name == "command" {
            let sl = srv.config.slowlog_log_slower_than;
            if sl < 0 {
                slowlog_enable = true;
            } else if sl / 1000 > thr {
                slowlog_tune = true;
            }
            commands = true;
        } else if *name == "fast-command" {
            scheduler = true;
        }
    }
    if !(slowlog_enable || slowlog_tune || commands || scheduler) {
        r.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        return r;
    }
    r.push_str("\nI have a few advices for you:\n\n");
    if slowlog_enable {
        let _ = writeln!(r, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.", thr * 1000);
    }
    if slowlog_tune {
        let _ = writeln!(r, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {}'.", thr * 1000);
    }
    if commands {
        r.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    }
    if scheduler {
        r.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running in a shared system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    }
    if commands {
        r.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The graph Redis 7.0.15 drew for command samples 50, 100, 200 ms
    /// taken 4, 3 and 2 seconds earlier.
    #[test]
    fn sparkline_as_redis() {
        let samples: Vec<(f64, String)> = [(50.0, "4s"), (100.0, "3s"), (200.0, "2s")]
            .iter()
            .map(|&(v, l)| (v, l.to_string()))
            .collect();
        let mut out = String::new();
        sparkline_range(&mut out, &samples, 50.0, 200.0, 4);
        assert_eq!(out, "  #\n  |\n o|\n_||\n   \n432\nsss\n");
    }

    #[test]
    fn db_index_is_a_c_int() {
        assert_eq!(db_index(b"3"), Some(3));
        assert_eq!(db_index(b"-1"), Some(-1));
        assert_eq!(db_index(b"99999999999"), None);
        assert_eq!(db_index(b"a"), None);
    }

    #[test]
    fn help_texts_end_with_help() {
        assert_eq!(SLOWLOG_HELP.last(), Some(&"    Prints this help."));
        assert_eq!(LATENCY_HELP.last(), Some(&"    Prints this help."));
    }
}
