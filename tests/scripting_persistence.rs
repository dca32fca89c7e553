//! Issue #5's persistence half: scripts reach the AOF and replicas as their
//! effects (Redis 7.0's effects replication), and function libraries are
//! persisted in RDB and AOF and replicated — checked with real redis-server
//! 7.0 on the other end of the replication link.

use crate::common;

use common::{poll_until, temp_dir, RawConn, RealRedis, Server};
use std::time::Duration;

/// A script whose effects differ between runs: TIME and SPOP. Replaying
/// the script instead of its effects would store different data.
const SCRIPT: &str = "local t = redis.call('TIME') \
    redis.call('SET', KEYS[1], t[1] .. '.' .. t[2]) \
    local m = redis.call('SPOP', KEYS[2]) \
    redis.call('RPUSH', KEYS[3], m) \
    return m";

const LIB_COUNTERS: &str = "#!lua name=counters\n\
    redis.register_function('bump', function(keys, args) \
      local n = redis.call('INCRBY', keys[1], args[1]) \
      redis.call('PEXPIRE', keys[1], 3600000) \
      return n end)";

const LIB_LATER: &str = "#!lua name=later\n\
    redis.register_function{function_name='stamp', callback=function(keys, args) \
      return redis.call('SET', keys[1], args[1]) end}";

fn s(r: Vec<u8>) -> String {
    String::from_utf8_lossy(&r).into_owned()
}

/// Writes the dataset the tests compare: script effects, functions.
fn write_workload(c: &mut RawConn, rounds: usize) {
    let members: Vec<String> = (0..20).map(|i| format!("m{}", i)).collect();
    let mut sadd: Vec<&str> = vec!["SADD", "pool"];
    sadd.extend(members.iter().map(|m| m.as_str()));
    c.cmd(&sadd);
    for i in 0..rounds {
        let stamp = format!("stamp{}", i);
        let r = s(c.cmd(&["EVAL", SCRIPT, "3", &stamp, "pool", "popped"]));
        assert!(r.starts_with('$'), "EVAL: {}", r);
        let r = s(c.cmd(&["FCALL", "bump", "1", "counter", "5"]));
        assert!(r.starts_with(':'), "FCALL: {}", r);
    }
}

/// What the tests compare between servers.
fn snapshot(c: &mut RawConn, rounds: usize) -> Vec<String> {
    let mut v = Vec::new();
    for i in 0..rounds {
        v.push(s(c.cmd(&["GET", &format!("stamp{}", i)])));
    }
    v.push(s(c.cmd(&["LRANGE", "popped", "0", "-1"])));
    v.push(s(c.cmd(&["SORT_RO", "pool", "ALPHA"])));
    v.push(s(c.cmd(&["GET", "counter"])));
    let ttl = s(c.cmd(&["TTL", "counter"]));
    v.push(format!("has-ttl:{}", !ttl.starts_with(":-")));
    v
}

fn function_names(c: &mut RawConn) -> String {
    s(c.cmd(&["FUNCTION", "LIST"]))
}

#[test]
fn function_libraries_survive_a_restart_through_the_rdb() {
    let dir = temp_dir("fn-rdb");
    let d = dir.to_string_lossy().into_owned();
    let srv = Server::start(&["--dir", &d]);
    let mut c = srv.conn();
    assert_eq!(
        s(c.cmd(&["FUNCTION", "LOAD", LIB_COUNTERS])),
        "$8\r\ncounters\r\n"
    );
    assert_eq!(s(c.cmd(&["FCALL", "bump", "1", "counter", "2"])), ":2\r\n");
    assert_eq!(s(c.cmd(&["SAVE"])), "+OK\r\n");
    drop(c);
    drop(srv);

    let srv = Server::start(&["--dir", &d]);
    let mut c = srv.conn();
    assert!(function_names(&mut c).contains("counters"));
    assert_eq!(s(c.cmd(&["FCALL", "bump", "1", "counter", "3"])), ":5\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn script_effects_and_functions_replay_from_the_aof() {
    let dir = temp_dir("fn-aof");
    let d = dir.to_string_lossy().into_owned();
    let args = ["--dir", d.as_str(), "--appendonly", "yes"];
    let srv = Server::start(&args);
    let mut c = srv.conn();
    assert_eq!(
        s(c.cmd(&["FUNCTION", "LOAD", LIB_COUNTERS])),
        "$8\r\ncounters\r\n"
    );
    write_workload(&mut c, 5);
    let before = snapshot(&mut c, 5);
    drop(c);
    drop(srv); // SIGKILL: only the AOF remains

    let srv = Server::start(&args);
    let mut c = srv.conn();
    assert_eq!(snapshot(&mut c, 5), before);
    assert!(function_names(&mut c).contains("counters"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits until the replica reports its link to the master up.
fn wait_link_up(replica: &Server) {
    let mut c = replica.conn();
    let up = poll_until(Duration::from_secs(20), || {
        s(c.cmd(&["INFO", "replication"])).contains("master_link_status:up")
    });
    assert!(up, "replica never synced; replica log:\n{}", replica.log());
}

/// Master and replica (either implementation) end with the same data,
/// libraries loaded before and after the replica attached included.
fn check_replication(master: &Server, start_replica: impl FnOnce(u16) -> Server) {
    let mut m = master.conn();
    // Before the replica attaches: reaches it through the full sync's RDB.
    assert_eq!(
        s(m.cmd(&["FUNCTION", "LOAD", LIB_COUNTERS])),
        "$8\r\ncounters\r\n"
    );
    write_workload(&mut m, 3);
    let replica = start_replica(master.port());
    wait_link_up(&replica);
    // After: through the command stream.
    assert_eq!(
        s(m.cmd(&["FUNCTION", "LOAD", LIB_LATER])),
        "$5\r\nlater\r\n"
    );
    m.cmd(&["SELECT", "0"]);
    write_workload(&mut m, 6);
    assert_eq!(
        s(m.cmd(&["FCALL", "stamp", "1", "fstamp", "v1"])),
        "+OK\r\n"
    );
    let want = snapshot(&mut m, 6);

    let mut r = replica.conn();
    let same = poll_until(Duration::from_secs(20), || {
        snapshot(&mut r, 6) == want && s(r.cmd(&["GET", "fstamp"])) == "$2\r\nv1\r\n"
    });
    assert!(
        same,
        "replica differs:\nmaster {:?}\nreplica {:?}\nreplica log:\n{}",
        want,
        snapshot(&mut r, 6),
        replica.log()
    );
    let libs = function_names(&mut r);
    assert!(
        libs.contains("counters") && libs.contains("later"),
        "{}",
        libs
    );
    // Replicas refuse writes from normal clients.
    assert!(s(r.cmd(&["SET", "x", "1"])).starts_with("-READONLY"));
}

#[test]
fn a_real_redis_replica_of_ferrokv_gets_script_effects_and_functions() {
    let master = Server::start(&[]);
    check_replication(&master, |port| {
        RealRedis::start_with(&["--replicaof", "127.0.0.1", &port.to_string()])
    });
}

#[test]
fn a_ferrokv_replica_of_real_redis_gets_script_effects_and_functions() {
    let master = RealRedis::start();
    check_replication(&master, |port| {
        Server::start(&["--replicaof", "127.0.0.1", &port.to_string()])
    });
}

#[test]
fn a_ferrokv_replica_of_ferrokv_gets_script_effects_and_functions() {
    let master = Server::start(&[]);
    check_replication(&master, |port| {
        Server::start(&["--replicaof", "127.0.0.1", &port.to_string()])
    });
}
