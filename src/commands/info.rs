//! INFO [section ...]: the server report in Redis 7.0's exact format
//! (Redis's server.c `genRedisInfoString`): `# Section` headers,
//! `field:value` lines, a blank line between sections.

use crate::client::Client;
use crate::clock;
use crate::cmdtable::{cmd, CommandSpec, SENTINEL};
use crate::error::CmdResult;
use crate::protocol::args::Args;
use crate::server::{Server, REDIS_VERSION, VERSION};
use std::fmt::Write;

pub static COMMANDS: &[CommandSpec] = &[cmd("info", info).hidden(SENTINEL)];

/// Every section in output order, and whether "default" includes it.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

fn info(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut want = [false; SECTIONS.len()];
    if args.len() == 1 {
        for (w, s) in want.iter_mut().zip(SECTIONS) {
            *w = s.1;
        }
    }
    for a in args.iter().skip(1) {
        let a = a.to_ascii_lowercase();
        match a.as_slice() {
            b"default" => {
                for (w, s) in want.iter_mut().zip(SECTIONS) {
                    *w |= s.1;
                }
            }
            b"all" | b"everything" => want = [true; SECTIONS.len()],
            name => {
                if let Some(i) = SECTIONS.iter().position(|s| s.0.as_bytes() == name) {
                    want[i] = true;
                }
            }
        }
    }
    let text = gen_info(srv, c, &want);
    c.out.verbatim(text.as_bytes(), "txt");
    Ok(())
}

/// Builds the INFO text for the selected sections (indices into SECTIONS).
pub fn gen_info(srv: &mut Server, c: &Client, want: &[bool]) -> String {
    // Grown as Redis grows its sds (doubling), not reserved up front:
    // used_memory is read midway, and a 4 KB reservation counted there
    // left too little room under maxmemory for maxmemory.tcl's "is the
    // memory limit honoured?".
    let mut s = String::new();
    let mut n = 0;
    for (i, (name, _)) in SECTIONS.iter().enumerate() {
        if !want.get(i).copied().unwrap_or(false) {
            continue;
        }
        if n > 0 {
            s.push_str("\r\n");
        }
        n += 1;
        match *name {
            "server" => server_section(srv, &mut s),
            "clients" => clients_section(srv, c, &mut s),
            "memory" => memory_section(srv, c, &mut s),
            "persistence" => persistence_section(srv, &mut s),
            "stats" => stats_section(srv, c, &mut s),
            "replication" => replication_section(srv, &mut s),
            "cpu" => cpu_section(&mut s),
            "modules" => s.push_str("# Modules\r\n"),
            "commandstats" => commandstats_section(srv, &mut s),
            "errorstats" => errorstats_section(srv, &mut s),
            "latencystats" => latencystats_section(srv, &mut s),
            "cluster" => s.push_str(if srv.cluster.is_some() {
                "# Cluster\r\ncluster_enabled:1\r\n"
            } else {
                "# Cluster\r\ncluster_enabled:0\r\n"
            }),
            _ => keyspace_section(srv, &mut s),
        }
    }
    s
}

/// Appends `name:value\r\n`.
macro_rules! field {
    ($s:expr, $name:expr, $($v:tt)*) => {{
        let _ = write!($s, "{}:", $name);
        let _ = write!($s, $($v)*);
        $s.push_str("\r\n");
    }};
}

/// Redis's bytesToHuman: "1023B", "1.00K", "1.01M", ...
pub fn bytes_to_human(n: u64) -> String {
    let d = n as f64;
    const K: f64 = 1024.0;
    if n < 1024 {
        format!("{}B", n)
    } else if d < K * K {
        format!("{:.2}K", d / K)
    } else if d < K * K * K {
        format!("{:.2}M", d / (K * K))
    } else if d < K * K * K * K {
        format!("{:.2}G", d / (K * K * K))
    } else if d < K * K * K * K * K {
        format!("{:.2}T", d / (K * K * K * K))
    } else if d < K * K * K * K * K * K {
        format!("{:.2}P", d / (K * K * K * K * K))
    } else {
        format!("{}B", n)
    }
}

fn c_str(b: &[libc::c_char]) -> String {
    let bytes: Vec<u8> = b
        .iter()
        .take_while(|&&ch| ch != 0)
        .map(|&ch| ch as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// "Linux 6.1.0 x86_64", like Redis's `os:` field.
fn os_name() -> String {
    // SAFETY: utsname is plain data; uname fills it in.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    format!(
        "{} {} {}",
        c_str(&u.sysname),
        c_str(&u.release),
        c_str(&u.machine)
    )
}

fn server_section(srv: &Server, s: &mut String) {
    let uptime = srv.uptime_secs();
    s.push_str("# Server\r\n");
    field!(s, "redis_version", "{}", REDIS_VERSION);
    field!(s, "ferrokv_version", "{}", VERSION);
    field!(s, "redis_git_sha1", "00000000");
    field!(s, "redis_git_dirty", "0");
    field!(s, "redis_build_id", "0");
    field!(
        s,
        "redis_mode",
        "{}",
        if srv.cluster.is_some() {
            "cluster"
        } else {
            "standalone"
        }
    );
    field!(s, "os", "{}", os_name());
    field!(s, "arch_bits", "64");
    field!(s, "monotonic_clock", "POSIX clock_gettime");
    field!(s, "multiplexing_api", "epoll");
    field!(s, "atomicvar_api", "c11-builtin");
    field!(s, "gcc_version", "0.0.0");
    field!(s, "process_id", "{}", std::process::id());
    field!(
        s,
        "process_supervised",
        "{}",
        crate::supervise::info_field()
    );
    field!(s, "run_id", "{}", srv.run_id);
    field!(s, "tcp_port", "{}", srv.tcp_port);
    field!(s, "server_time_usec", "{}", clock::wall_us());
    field!(s, "uptime_in_seconds", "{}", uptime);
    field!(s, "uptime_in_days", "{}", uptime / 86400);
    field!(s, "hz", "{}", srv.hz);
    field!(s, "configured_hz", "{}", srv.config.hz);
    field!(s, "lru_clock", "{}", clock::lru_clock());
    field!(s, "executable", "{}", srv.executable);
    field!(
        s,
        "config_file",
        "{}",
        srv.config.config_file.as_deref().unwrap_or("")
    );
    field!(s, "io_threads_active", "0");
    if srv.shutdown.deadline_ms != 0 {
        field!(
            s,
            "shutdown_in_milliseconds",
            "{}",
            srv.shutdown.deadline_ms - clock::wall_ms()
        );
    }
}

fn clients_section(srv: &Server, c: &Client, s: &mut String) {
    let mut max_in = c.query_buf_size();
    let mut max_out = c.out.buf.capacity();
    for o in srv.other_clients() {
        max_in = max_in.max(o.query_buf_size());
        max_out = max_out.max(o.out.buf.capacity());
    }
    s.push_str("# Clients\r\n");
    // Replicas are not counted (Redis: clients minus slaves).
    field!(
        s,
        "connected_clients",
        "{}",
        srv.nclients - srv.repl.replicas.len().min(srv.nclients)
    );
    field!(s, "cluster_connections", "0");
    field!(s, "maxclients", "{}", srv.config.maxclients);
    field!(s, "client_recent_max_input_buffer", "{}", max_in);
    field!(s, "client_recent_max_output_buffer", "{}", max_out);
    field!(
        s,
        "blocked_clients",
        "{}",
        srv.blocked_clients + srv.paused_clients
    );
    field!(s, "tracking_clients", "{}", srv.tracking.clients);
    field!(s, "clients_in_timeout_table", "0");
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if pages <= 0 || size <= 0 {
        0
    } else {
        pages as u64 * size as u64
    }
}

fn memory_section(srv: &mut Server, c: &Client, s: &mut String) {
    let used = crate::alloc::used_memory();
    if used > srv.stats.peak_memory {
        srv.stats.peak_memory = used;
    }
    let peak = srv.stats.peak_memory.max(1);
    let rss = crate::alloc::rss_bytes();
    // Clients' memory by class (mem_clients_slaves / mem_clients_normal).
    let (mut clients_mem, mut replicas_mem) = (c.memory_usage_with(c.qbuf_held), 0);
    for o in srv.other_clients() {
        if crate::replication::is_replica_client(o) {
            replicas_mem += o.memory_usage();
        } else if !o.is_master {
            clients_mem += o.memory_usage();
        }
    }
    let overhead = (clients_mem + replicas_mem).min(used);
    let dataset = used - overhead;
    let maxmem = srv.config.maxmemory;
    let sysmem = total_system_memory();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    s.push_str("# Memory\r\n");
    field!(s, "used_memory", "{}", used);
    field!(s, "used_memory_human", "{}", bytes_to_human(used as u64));
    field!(s, "used_memory_rss", "{}", rss);
    field!(s, "used_memory_rss_human", "{}", bytes_to_human(rss as u64));
    field!(s, "used_memory_peak", "{}", peak);
    field!(
        s,
        "used_memory_peak_human",
        "{}",
        bytes_to_human(peak as u64)
    );
    field!(
        s,
        "used_memory_peak_perc",
        "{:.2}%",
        used as f64 * 100.0 / peak as f64
    );
    field!(s, "used_memory_overhead", "{}", overhead);
    field!(s, "used_memory_startup", "0");
    field!(s, "used_memory_dataset", "{}", dataset);
    field!(
        s,
        "used_memory_dataset_perc",
        "{:.2}%",
        ratio(dataset, used) * 100.0
    );
    field!(s, "allocator_allocated", "{}", used);
    field!(s, "allocator_active", "{}", used);
    field!(s, "allocator_resident", "{}", rss);
    field!(s, "total_system_memory", "{}", sysmem);
    field!(s, "total_system_memory_human", "{}", bytes_to_human(sysmem));
    let sc = &srv.scripting;
    let (vm_eval, vm_functions) = (sc.eval_vm.memory(), sc.functions.vm.memory());
    let functions_mem: usize = sc.functions.libs.values().map(|l| l.code.len()).sum();
    field!(s, "used_memory_lua", "{}", vm_eval);
    field!(s, "used_memory_vm_eval", "{}", vm_eval);
    field!(
        s,
        "used_memory_lua_human",
        "{}",
        bytes_to_human(vm_eval as u64)
    );
    field!(s, "used_memory_scripts_eval", "{}", sc.scripts_bytes);
    field!(s, "number_of_cached_scripts", "{}", sc.scripts.len());
    field!(
        s,
        "number_of_functions",
        "{}",
        sc.functions.functions_count()
    );
    field!(s, "number_of_libraries", "{}", sc.functions.libs.len());
    field!(s, "used_memory_vm_functions", "{}", vm_functions);
    let vm_total = (vm_eval + vm_functions) as u64;
    field!(s, "used_memory_vm_total", "{}", vm_total);
    field!(
        s,
        "used_memory_vm_total_human",
        "{}",
        bytes_to_human(vm_total)
    );
    field!(s, "used_memory_functions", "{}", functions_mem);
    let scripts_total = (sc.scripts_bytes + functions_mem) as u64;
    field!(s, "used_memory_scripts", "{}", scripts_total);
    field!(
        s,
        "used_memory_scripts_human",
        "{}",
        bytes_to_human(scripts_total)
    );
    field!(s, "maxmemory", "{}", maxmem);
    field!(s, "maxmemory_human", "{}", bytes_to_human(maxmem));
    field!(
        s,
        "maxmemory_policy",
        "{}",
        srv.config.maxmemory_policy.as_str()
    );
    field!(s, "allocator_frag_ratio", "1.00");
    field!(s, "allocator_frag_bytes", "0");
    field!(s, "allocator_rss_ratio", "{:.2}", ratio(rss, used));
    field!(s, "allocator_rss_bytes", "{}", rss as i64 - used as i64);
    field!(s, "rss_overhead_ratio", "1.00");
    field!(s, "rss_overhead_bytes", "0");
    field!(s, "mem_fragmentation_ratio", "{:.2}", ratio(rss, used));
    field!(s, "mem_fragmentation_bytes", "{}", rss as i64 - used as i64);
    field!(
        s,
        "mem_not_counted_for_evict",
        "{}",
        srv.mem_not_counted_for_evict()
    );
    let repl_buf = srv.repl.backlog.as_ref().map_or(0, |b| b.mem());
    field!(s, "mem_replication_backlog", "{}", repl_buf);
    // Redis's one shared buffer holds what the slowest replica has not
    // received: ours is the backlog or that replica's own output copy.
    field!(
        s,
        "mem_total_replication_buffers",
        "{}",
        crate::replication::buffers::total(srv)
    );
    field!(s, "mem_clients_slaves", "{}", replicas_mem);
    field!(s, "mem_clients_normal", "{}", clients_mem);
    field!(
        s,
        "mem_cluster_links",
        "{}",
        srv.cluster.as_deref().map_or(0, |cl| cl.links_memory())
    );
    field!(s, "mem_aof_buffer", "{}", srv.aof.buf.capacity());
    field!(s, "mem_allocator", "libc");
    field!(s, "active_defrag_running", "0");
    field!(
        s,
        "lazyfree_pending_objects",
        "{}",
        crate::lazyfree::pending()
    );
    field!(s, "lazyfreed_objects", "{}", crate::lazyfree::freed());
}

fn persistence_section(srv: &Server, s: &mut String) {
    s.push_str("# Persistence\r\n");
    field!(s, "loading", "{}", srv.loading as u8);
    field!(s, "async_loading", "{}", srv.async_loading as u8);
    let ci = &srv.child_info;
    field!(s, "current_cow_peak", "{}", ci.current_cow_peak);
    field!(s, "current_cow_size", "{}", ci.current_cow);
    let age = if ci.cow_updated_ms > 0 {
        (crate::clock::wall_ms() - ci.cow_updated_ms).max(0) / 1000
    } else {
        0
    };
    field!(s, "current_cow_size_age", "{}", age);
    field!(s, "current_fork_perc", "{:.2}", ci.fork_perc());
    field!(s, "current_save_keys_processed", "{}", ci.keys_processed);
    field!(s, "current_save_keys_total", "{}", ci.keys_total);
    field!(s, "rdb_changes_since_last_save", "{}", srv.dirty);
    let rdb_child = srv.child.as_ref().filter(|ch| ch.kind.is_rdb());
    field!(s, "rdb_bgsave_in_progress", "{}", rdb_child.is_some() as u8);
    field!(s, "rdb_last_save_time", "{}", srv.lastsave);
    field!(
        s,
        "rdb_last_bgsave_status",
        "{}",
        if srv.rdb.last_bgsave_ok { "ok" } else { "err" }
    );
    field!(
        s,
        "rdb_last_bgsave_time_sec",
        "{}",
        srv.rdb.last_bgsave_time_sec
    );
    field!(
        s,
        "rdb_current_bgsave_time_sec",
        "{}",
        rdb_child.map_or(-1, |ch| (crate::clock::wall_ms() - ch.start_ms) / 1000)
    );
    field!(s, "rdb_saves", "{}", srv.rdb.saves);
    field!(s, "rdb_last_cow_size", "{}", srv.child_info.last_rdb_cow);
    field!(
        s,
        "rdb_last_load_keys_expired",
        "{}",
        srv.rdb.last_load_keys_expired
    );
    field!(
        s,
        "rdb_last_load_keys_loaded",
        "{}",
        srv.rdb.last_load_keys_loaded
    );
    crate::persist::aof::info_fields(srv, s);
    field!(s, "module_fork_in_progress", "0");
    field!(s, "module_fork_last_cow_size", "0");
    crate::persist::aof::info_fields_on(srv, s);
    if srv.loading {
        loading_fields(srv, s);
    }
}

/// The progress of a load in progress (Redis's loading_* fields).
fn loading_fields(srv: &Server, s: &mut String) {
    let r = &srv.rdb;
    let (mut perc, mut remaining) = (0.0, 1u64);
    if r.loading_total_bytes > 0 {
        perc = r.loading_loaded_bytes as f64 / r.loading_total_bytes as f64 * 100.0;
        remaining = r.loading_total_bytes.saturating_sub(r.loading_loaded_bytes);
    }
    let elapsed = (crate::clock::wall_ms() / 1000 - r.loading_start_time).max(0) as u64;
    let eta = if elapsed == 0 {
        1
    } else {
        elapsed * remaining / (r.loading_loaded_bytes + 1)
    };
    field!(s, "loading_start_time", "{}", r.loading_start_time);
    field!(s, "loading_total_bytes", "{}", r.loading_total_bytes);
    field!(s, "loading_rdb_used_mem", "0");
    field!(s, "loading_loaded_bytes", "{}", r.loading_loaded_bytes);
    field!(s, "loading_loaded_perc", "{:.2}", perc);
    field!(s, "loading_eta_seconds", "{}", eta);
}

/// Redis's getInstantaneousMetric: the sum of the samples over the fixed
/// sample count (16), so the value ramps up after a restart.
fn inst_metric(q: &std::collections::VecDeque<f64>) -> f64 {
    q.iter().sum::<f64>() / 16.0
}

fn stats_section(srv: &Server, c: &Client, s: &mut String) {
    let st = &srv.stats;
    let (mut nin, mut nout) = srv.net_totals();
    nin += c.total_net_in;
    nout += c.total_net_out;
    let hits: u64 = srv.dbs.iter().map(|d| d.stat_hits).sum();
    let misses: u64 = srv.dbs.iter().map(|d| d.stat_misses).sum();
    s.push_str("# Stats\r\n");
    field!(
        s,
        "total_connections_received",
        "{}",
        st.connections_received
    );
    field!(s, "total_commands_processed", "{}", st.commands_processed);
    field!(
        s,
        "instantaneous_ops_per_sec",
        "{}",
        inst_metric(&st.ops_samples) as i64
    );
    field!(s, "total_net_input_bytes", "{}", nin);
    field!(s, "total_net_output_bytes", "{}", nout);
    field!(s, "total_net_repl_input_bytes", "0");
    field!(s, "total_net_repl_output_bytes", "0");
    field!(
        s,
        "instantaneous_input_kbps",
        "{:.2}",
        inst_metric(&st.net_in_samples) / 1024.0
    );
    field!(
        s,
        "instantaneous_output_kbps",
        "{:.2}",
        inst_metric(&st.net_out_samples) / 1024.0
    );
    field!(s, "instantaneous_input_repl_kbps", "0.00");
    field!(s, "instantaneous_output_repl_kbps", "0.00");
    field!(s, "rejected_connections", "{}", st.rejected_connections);
    field!(s, "sync_full", "{}", srv.repl.sync_full);
    field!(s, "sync_partial_ok", "{}", srv.repl.sync_partial_ok);
    field!(s, "sync_partial_err", "{}", srv.repl.sync_partial_err);
    field!(s, "expired_keys", "{}", srv.expired_keys());
    field!(
        s,
        "expired_stale_perc",
        "{:.2}",
        st.expired_stale_perc * 100.0
    );
    field!(
        s,
        "expired_time_cap_reached_count",
        "{}",
        st.expired_time_cap_reached
    );
    field!(
        s,
        "expire_cycle_cpu_milliseconds",
        "{}",
        st.expire_cycle_time_used_us / 1000
    );
    field!(s, "evicted_keys", "{}", st.evicted_keys);
    field!(s, "evicted_clients", "{}", st.evicted_clients);
    field!(s, "total_eviction_exceeded_time", "0");
    field!(s, "current_eviction_exceeded_time", "0");
    field!(s, "keyspace_hits", "{}", hits);
    field!(s, "keyspace_misses", "{}", misses);
    field!(s, "pubsub_channels", "0");
    field!(s, "pubsub_patterns", "0");
    field!(s, "pubsubshard_channels", "0");
    field!(s, "latest_fork_usec", "{}", srv.stats.latest_fork_usec);
    field!(s, "total_forks", "{}", srv.stats.total_forks);
    field!(s, "migrate_cached_sockets", "{}", srv.migrate.len());
    field!(s, "slave_expires_tracked_keys", "0");
    field!(s, "active_defrag_hits", "0");
    field!(s, "active_defrag_misses", "0");
    field!(s, "active_defrag_key_hits", "0");
    field!(s, "active_defrag_key_misses", "0");
    field!(s, "total_active_defrag_time", "0");
    field!(s, "current_active_defrag_time", "0");
    field!(s, "tracking_total_keys", "{}", srv.tracking.keys.len());
    field!(
        s,
        "tracking_total_items",
        "{}",
        crate::tracking::total_items(srv)
    );
    field!(
        s,
        "tracking_total_prefixes",
        "{}",
        srv.tracking.prefixes.len()
    );
    field!(
        s,
        "unexpected_error_replies",
        "{}",
        st.unexpected_error_replies
    );
    field!(s, "total_error_replies", "{}", st.total_error_replies);
    field!(s, "dump_payload_sanitizations", "0");
    field!(s, "total_reads_processed", "{}", st.io_reads);
    field!(s, "total_writes_processed", "{}", st.io_writes);
    field!(s, "io_threaded_reads_processed", "0");
    field!(s, "io_threaded_writes_processed", "0");
    field!(
        s,
        "reply_buffer_shrinks",
        "{}",
        srv.stats.reply_buffer_shrinks
    );
    field!(
        s,
        "reply_buffer_expands",
        "{}",
        srv.stats.reply_buffer_expands
    );
}

/// A replication id for a server that never had a master: a stable
/// 40-hex-digit value derived from the run id (Redis draws a second
/// random id; only its shape matters to clients).
pub fn master_replid(run_id: &str) -> String {
    run_id
        .chars()
        .map(|ch| {
            let d = ch.to_digit(16).unwrap_or(0);
            char::from_digit((d * 7 + 3) % 16, 16).unwrap_or('0')
        })
        .collect()
}

fn replication_section(srv: &Server, s: &mut String) {
    crate::replication::info_section(srv, s);
}

fn rusage(who: libc::c_int) -> (libc::timeval, libc::timeval) {
    // SAFETY: rusage is plain data; getrusage fills it in.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `r` is a valid, writable rusage.
    if unsafe { libc::getrusage(who, &mut r) } != 0 {
        // SAFETY: as above.
        return unsafe { std::mem::zeroed() };
    }
    (r.ru_stime, r.ru_utime)
}

fn cpu_section(s: &mut String) {
    s.push_str("# CPU\r\n");
    let tv = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    let (ss, su) = rusage(libc::RUSAGE_SELF);
    let (cs, cu) = rusage(libc::RUSAGE_CHILDREN);
    let (ts, tu) = rusage(libc::RUSAGE_THREAD);
    field!(s, "used_cpu_sys", "{}", tv(ss));
    field!(s, "used_cpu_user", "{}", tv(su));
    field!(s, "used_cpu_sys_children", "{}", tv(cs));
    field!(s, "used_cpu_user_children", "{}", tv(cu));
    field!(s, "used_cpu_sys_main_thread", "{}", tv(ts));
    field!(s, "used_cpu_user_main_thread", "{}", tv(tu));
}

fn commandstats_section(srv: &Server, s: &mut String) {
    s.push_str("# Commandstats\r\n");
    for e in &srv.commands.entries {
        let st = &e.stats;
        if st.calls == 0 && st.failed == 0 && st.rejected == 0 {
            continue;
        }
        let per = if st.calls == 0 {
            0.0
        } else {
            st.usec as f64 / st.calls as f64
        };
        let _ = write!(
            s,
            "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
            e.fullname, st.calls, st.usec, per, st.rejected, st.failed
        );
    }
}

/// `latency_percentiles_usec_<cmd>:p50=1.003,p99=...` per command with a
/// histogram (genRedisInfoStringLatencyStats).
fn latencystats_section(srv: &Server, s: &mut String) {
    s.push_str("# Latencystats\r\n");
    if !srv.config.latency_tracking {
        return;
    }
    let names: Vec<String> = srv
        .config
        .latency_percentiles
        .iter()
        .map(|&p| crate::config::percentile_name(p))
        .collect();
    for e in &srv.commands.entries {
        let Some(h) = e.stats.latency.as_ref() else {
            continue;
        };
        let _ = write!(s, "latency_percentiles_usec_{}:", e.fullname);
        for (j, (&p, name)) in srv
            .config
            .latency_percentiles
            .iter()
            .zip(&names)
            .enumerate()
        {
            if j > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "p{}={:.3}",
                name,
                h.value_at_percentile(p) as f64 / 1000.0
            );
        }
        s.push_str("\r\n");
    }
}

fn errorstats_section(srv: &Server, s: &mut String) {
    s.push_str("# Errorstats\r\n");
    let mut v: Vec<(&String, &u64)> = srv.stats.errorstats.iter().collect();
    v.sort();
    for (name, n) in v {
        let _ = write!(s, "errorstat_{}:count={}\r\n", name, n);
    }
}

fn keyspace_section(srv: &Server, s: &mut String) {
    s.push_str("# Keyspace\r\n");
    for (i, db) in srv.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            "db{}:keys={},expires={},avg_ttl={}\r\n",
            i,
            db.len(),
            db.expires_len(),
            db.avg_ttl
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(941256), "919.20K");
        assert_eq!(bytes_to_human(12120064), "11.56M");
        assert_eq!(bytes_to_human(25276518400), "23.54G");
    }

    #[test]
    fn replid_shape() {
        let r = master_replid("0123456789abcdef0123456789abcdef01234567");
        assert_eq!(r.len(), 40);
        assert!(r.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
