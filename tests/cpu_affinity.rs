//! Redis's cpulist directives (setcpuaffinity.c): `server_cpulist` pins
//! the event loop, `bio_cpulist` the background threads (here the lazy-free
//! thread), `bgsave_cpulist` a BGSAVE child; an unparsable list is
//! ignored, as by Redis. Read back from /proc, per thread.

use crate::common;

use common::{poll_until, Server};
use std::time::Duration;

/// `Cpus_allowed_list` of thread `tid` of process `pid`.
fn allowed(pid: u32, tid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/task/{tid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list")
        .trim()
        .to_string()
}

/// Thread ids of `pid` whose name is `comm`.
fn threads_named(pid: u32, comm: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("/proc task dir")
        .flatten()
    {
        let tid: u32 = e.file_name().to_string_lossy().parse().expect("tid");
        let name = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if name.trim() == comm {
            out.push(tid);
        }
    }
    out
}

/// The CPUs the loop and the others go to: the first and the last one
/// this process may use (the same one on a one-CPU machine).
fn two_cpus() -> (String, String) {
    let me = allowed(std::process::id(), std::process::id());
    let first = me.split([',', '-']).next().expect("a CPU").to_string();
    let last = me.split([',', '-']).next_back().expect("a CPU").to_string();
    (first, last)
}

#[test]
fn cpulists_pin_the_loop_background_threads_and_children() {
    let (loop_cpu, other) = two_cpus();
    let srv = Server::start(&[
        "--server_cpulist",
        &loop_cpu,
        "--bio_cpulist",
        &other,
        "--bgsave_cpulist",
        &format!("{other}-{other}:1"),
    ]);
    let pid = srv.pid();
    let mut c = srv.conn();
    assert_eq!(allowed(pid, pid), loop_cpu, "the event loop's CPUs");
    // A big value freed by UNLINK starts the lazy-free thread.
    let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(members.iter().map(|s| s.as_str()));
    c.cmd(&args);
    assert_eq!(c.cmd_int(&["UNLINK", "big"]), 1);
    let mut bio = Vec::new();
    assert!(
        poll_until(Duration::from_secs(10), || {
            bio = threads_named(pid, "bio_lazy_free");
            !bio.is_empty()
        }),
        "no lazy-free thread"
    );
    assert_eq!(allowed(pid, bio[0]), other, "the lazy-free thread's CPUs");
    // A BGSAVE child that lives long enough to be looked at.
    c.cmd(&["SET", "k", "v"]);
    c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "2000000"]);
    assert_eq!(c.cmd(&["BGSAVE"]), b"+Background saving started\r\n");
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .expect("children of the loop thread");
    let child: u32 = children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a BGSAVE child");
    let mut child_cpus = String::new();
    // The child pins itself right after the fork.
    assert!(
        poll_until(Duration::from_secs(10), || {
            child_cpus = allowed(child, child);
            child_cpus == other
        }),
        "the BGSAVE child runs on {child_cpus}, not {other}"
    );
}

#[test]
fn an_unparsable_cpulist_changes_nothing() {
    let before = allowed(std::process::id(), std::process::id());
    let srv = Server::start(&["--server_cpulist", "0-x"]);
    let pid = srv.pid();
    let mut c = srv.conn();
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n");
    assert_eq!(allowed(pid, pid), before);
}
