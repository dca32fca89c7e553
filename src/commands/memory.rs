//! MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE / HELP (Redis's
//! object.c `memoryCommand`, `getMemoryOverheadData` and
//! `getMemoryDoctorReport`).
//!
//! Figures come from the counting allocator (`crate::alloc`): it counts the
//! bytes we request, so MEMORY USAGE adds up the same sizes — the key's
//! allocation, its dict entry and bucket share, and `Value::heap_size()` —
//! to stay comparable with the `used_memory` delta of creating the key.

use crate::client::Client;
use crate::cmdtable::fact;
use crate::cmdtable::{cmd, container, CommandSpec};
use crate::db::Db;
use crate::error::{CmdError, CmdResult};
use crate::protocol::args::Args;
use crate::server::Server;
use crate::util::num;
use std::mem::size_of;

pub static COMMANDS: &[CommandSpec] = &[container("memory", SUBS).with(fact::WHOLE_KEYS)];

static SUBS: &[CommandSpec] = &[
    cmd("doctor", doctor),
    cmd("help", help),
    cmd("malloc-stats", malloc_stats),
    cmd("purge", purge),
    cmd("stats", stats),
    cmd("usage", usage),
];

/// Bytes of one keyspace dict entry with a `klen`-byte key: the chain
/// link, the word holding the key's length and its LRU/LFU stamp, the
/// inline `Obj` and the key's bytes, in one slab block.
pub fn main_entry(klen: usize) -> usize {
    crate::db::Keyspace::entry_size(klen)
}
/// Bytes a TTL adds to its key's entry (the expire time, stored after
/// the key).
pub const EXPIRE_EXTRA: usize = size_of::<i64>();
/// Bytes of one bucket slot (a 32-bit entry handle).
const BUCKET: usize = crate::ds::dict::BUCKET_BYTES;

/// A dict's bucket array divided among its elements (what each key adds to
/// the table on average).
fn bucket_share(buckets: usize, len: usize) -> usize {
    (buckets * BUCKET).checked_div(len).unwrap_or(0)
}

/// Estimated bytes held for `key` in `db`: its dict entry (key and, with a
/// TTL, the 8-byte expire time included) and bucket share, plus the value's
/// heap size. None if the key is not in the dict.
pub fn key_usage(db: &Db, key: &[u8]) -> Option<usize> {
    let (o, expire) = db.dict.get_with_extra(key)?;
    let mut n = main_entry(key.len())
        + bucket_share(db.dict.bucket_count(), db.dict.len())
        + o.value.heap_size();
    if expire.is_some() {
        n += EXPIRE_EXTRA;
    }
    Some(n)
}

fn usage(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    // Options are validated before the key is looked up, as in Redis.
    let mut j = 3;
    while j < a.len() {
        if a.is(j, "SAMPLES") && j + 1 < a.len() {
            let samples = num::parse_i64(a.get(j + 1)).ok_or(CmdError::NotInteger)?;
            if samples < 0 {
                return Err(CmdError::Syntax);
            }
            // Compact encodings are measured exactly and big tables are
            // sampled inside each type's heap_size, so the count is only
            // validated here.
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    // Like Redis's dictFind: no lazy expiry, no LRU touch.
    match key_usage(&srv.dbs[c.db], a.get(2)) {
        Some(n) => c.out.int(n as i64),
        None => c.out.null(),
    }
    Ok(())
}

/// Redis's `struct redisMemOverhead`, for STATS and DOCTOR.
struct Overhead {
    peak_allocated: usize,
    total_allocated: usize,
    startup_allocated: usize,
    clients_normal: usize,
    /// (db id, main table overhead, expires table overhead) for non-empty dbs.
    dbs: Vec<(usize, usize, usize)>,
    overhead_total: usize,
    total_keys: usize,
    bytes_per_key: usize,
    dataset: usize,
    dataset_perc: f32,
    peak_perc: f32,
    allocator_allocated: usize,
    allocator_active: usize,
    allocator_resident: usize,
    allocator_frag: f32,
    allocator_frag_bytes: i64,
    allocator_rss: f32,
    allocator_rss_bytes: i64,
    rss_extra: f32,
    rss_extra_bytes: i64,
    total_frag: f32,
    total_frag_bytes: i64,
    num_clients: usize,
}

fn ratio(a: usize, b: usize) -> f32 {
    if b == 0 {
        0.0
    } else {
        (a as f64 / b as f64) as f32
    }
}

/// getMemoryOverheadData, with our allocator's view: allocated == active
/// (we count requested bytes) and resident == the process RSS.
fn overhead_data(srv: &mut Server, c: &Client) -> Overhead {
    let used = crate::alloc::used_memory();
    if used > srv.stats.peak_memory {
        srv.stats.peak_memory = used;
    }
    let peak = srv.stats.peak_memory.max(used);
    let rss = crate::alloc::rss_bytes();
    // We do not record the footprint at startup (INFO reports 0 too).
    let startup = 0usize;
    let mut clients_normal = c.qbuf.capacity() + c.out.buf.capacity();
    let mut num_clients = 1;
    for o in srv.other_clients() {
        clients_normal += o.qbuf.capacity() + o.out.buf.capacity();
        num_clients += 1;
    }
    let mut total = startup + clients_normal;
    let mut dbs = Vec::new();
    let mut total_keys = 0;
    for db in &srv.dbs {
        let keys = db.dict.len();
        if keys == 0 {
            continue;
        }
        let main = db.dict.mem_overhead();
        // A TTL is 8 bytes in its key's entry (no table of its own).
        let expires = db.expires_len() * EXPIRE_EXTRA;
        total += main + expires;
        total_keys += keys;
        dbs.push((db.id, main, expires));
    }
    let total = total.min(used);
    let net = used.saturating_sub(startup);
    let dataset = used - total;
    Overhead {
        peak_allocated: peak,
        total_allocated: used,
        startup_allocated: startup,
        clients_normal,
        dbs,
        overhead_total: total,
        total_keys,
        bytes_per_key: net.checked_div(total_keys).unwrap_or(0),
        dataset,
        dataset_perc: ratio(dataset * 100, net),
        peak_perc: ratio(used * 100, peak),
        allocator_allocated: used,
        allocator_active: used,
        allocator_resident: rss,
        allocator_frag: 1.0,
        allocator_frag_bytes: 0,
        allocator_rss: ratio(rss, used),
        allocator_rss_bytes: rss as i64 - used as i64,
        rss_extra: 1.0,
        rss_extra_bytes: 0,
        total_frag: ratio(rss, used),
        total_frag_bytes: rss as i64 - used as i64,
        num_clients,
    }
}

fn stats(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    let mh = overhead_data(srv, c);
    let out = &mut c.out;
    out.map(27 + mh.dbs.len());
    let int = |out: &mut crate::protocol::reply::ReplyBuf, name: &str, v: i64| {
        out.bulk_str(name);
        out.int(v);
    };
    int(out, "peak.allocated", mh.peak_allocated as i64);
    int(out, "total.allocated", mh.total_allocated as i64);
    int(out, "startup.allocated", mh.startup_allocated as i64);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", mh.clients_normal as i64);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", 0);
    int(out, "functions.caches", 0);
    for &(id, main, expires) in &mh.dbs {
        out.bulk_str(&format!("db.{}", id));
        out.map(3);
        int(out, "overhead.hashtable.main", main as i64);
        int(out, "overhead.hashtable.expires", expires as i64);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", mh.overhead_total as i64);
    int(out, "keys.count", mh.total_keys as i64);
    int(out, "keys.bytes-per-key", mh.bytes_per_key as i64);
    int(out, "dataset.bytes", mh.dataset as i64);
    let dbl = |out: &mut crate::protocol::reply::ReplyBuf, name: &str, v: f32| {
        out.bulk_str(name);
        out.double(v as f64);
    };
    dbl(out, "dataset.percentage", mh.dataset_perc);
    dbl(out, "peak.percentage", mh.peak_perc);
    int(out, "allocator.allocated", mh.allocator_allocated as i64);
    int(out, "allocator.active", mh.allocator_active as i64);
    int(out, "allocator.resident", mh.allocator_resident as i64);
    dbl(out, "allocator-fragmentation.ratio", mh.allocator_frag);
    int(
        out,
        "allocator-fragmentation.bytes",
        mh.allocator_frag_bytes,
    );
    dbl(out, "allocator-rss.ratio", mh.allocator_rss);
    int(out, "allocator-rss.bytes", mh.allocator_rss_bytes);
    dbl(out, "rss-overhead.ratio", mh.rss_extra);
    int(out, "rss-overhead.bytes", mh.rss_extra_bytes);
    dbl(out, "fragmentation", mh.total_frag);
    int(out, "fragmentation.bytes", mh.total_frag_bytes);
    Ok(())
}

/// getMemoryDoctorReport (7.0), with the allocator name we report in INFO.
fn doctor_report(mh: &Overhead) -> String {
    const MB: i64 = 1 << 20;
    let mut big_peak = false;
    let mut high_frag = false;
    let mut high_alloc_frag = false;
    let mut high_alloc_rss = false;
    let mut high_proc_rss = false;
    let mut big_client_buf = false;
    let mut reports = 0;
    let empty = mh.total_allocated < 5 * MB as usize;
    if empty {
        reports += 1;
    } else {
        if ratio(mh.peak_allocated, mh.total_allocated) > 1.5 {
            big_peak = true;
            reports += 1;
        }
        if mh.total_frag > 1.4 && mh.total_frag_bytes > 10 * MB {
            high_frag = true;
            reports += 1;
        }
        if mh.allocator_frag > 1.1 && mh.allocator_frag_bytes > 10 * MB {
            high_alloc_frag = true;
            reports += 1;
        }
        if mh.allocator_rss > 1.1 && mh.allocator_rss_bytes > 10 * MB {
            high_alloc_rss = true;
            reports += 1;
        }
        if mh.rss_extra > 1.1 && mh.rss_extra_bytes > 10 * MB {
            high_proc_rss = true;
            reports += 1;
        }
        if mh.clients_normal / mh.num_clients.max(1) > 1024 * 200 {
            big_client_buf = true;
            reports += 1;
        }
    }
    if reports == 0 {
        return "Hi Sam, I can't find any memory issue in your instance. \
                I can only account for what occurs on this base.\n"
            .to_string();
    }
    if empty {
        return "Hi Sam, this instance is empty or is using very little memory, \
                my issues detector can't be used in these conditions. \
                Please, leave for your mission on Earth and fill it with some data. \
                The new Sam and I will be back to our programming as soon as I \
                finished rebooting.\n"
            .to_string();
    }
    let mut s =
        String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    if big_peak {
        s.push_str(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
    }
    if high_frag {
        s.push_str(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"libc\".\n\n");
    }
    if high_alloc_frag {
        s.push_str(" * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n");
    }
    if high_alloc_rss {
        s.push_str(" * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n");
    }
    if high_proc_rss {
        s.push_str(" * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n");
    }
    if big_client_buf {
        s.push_str(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n");
    }
    s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    s
}

fn doctor(srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    let mh = overhead_data(srv, c);
    let report = doctor_report(&mh);
    c.out.verbatim(report.as_bytes(), "txt");
    Ok(())
}

fn malloc_stats(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    c.out
        .bulk_str("Stats not supported for the current allocator");
    Ok(())
}

fn purge(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    c.out.ok();
    Ok(())
}

fn help(_srv: &mut Server, c: &mut Client, _a: &Args) -> CmdResult {
    const HELP: &[&str] = &[
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ];
    super::help_reply(c, "MEMORY", HELP);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Overhead {
        Overhead {
            peak_allocated: 64 << 20,
            total_allocated: 64 << 20,
            startup_allocated: 0,
            clients_normal: 0,
            dbs: Vec::new(),
            overhead_total: 0,
            total_keys: 0,
            bytes_per_key: 0,
            dataset: 0,
            dataset_perc: 0.0,
            peak_perc: 100.0,
            allocator_allocated: 64 << 20,
            allocator_active: 64 << 20,
            allocator_resident: 64 << 20,
            allocator_frag: 1.0,
            allocator_frag_bytes: 0,
            allocator_rss: 1.0,
            allocator_rss_bytes: 0,
            rss_extra: 1.0,
            rss_extra_bytes: 0,
            total_frag: 1.0,
            total_frag_bytes: 0,
            num_clients: 1,
        }
    }

    #[test]
    fn doctor_phrasing() {
        let mut mh = healthy();
        assert!(doctor_report(&mh).starts_with("Hi Sam, I can't find any memory issue"));
        mh.total_allocated = 1 << 20;
        assert!(doctor_report(&mh).starts_with("Hi Sam, this instance is empty"));
        mh.total_allocated = 20 << 20;
        let r = doctor_report(&mh);
        assert!(r.starts_with("Sam, I detected a few issues"));
        assert!(r.contains(" * Peak memory:"));
        assert!(r.ends_with("I want to help you.\n"));
    }

    #[test]
    fn entry_sizes() {
        // link 4 + word (length, LRU/LFU stamp) 4 + Obj 8 + key: 32
        // bytes for a 16-byte key, 40 with a TTL (exact slab classes).
        assert_eq!(main_entry(16), 4 + 4 + 8 + 16);
        assert_eq!(bucket_share(1024, 1000), 4);
        assert_eq!(bucket_share(4, 0), 0);
    }
}
