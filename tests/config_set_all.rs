//! Differential: for every directive a real redis-server 7.0 lists in
//! `CONFIG GET *`, `CONFIG SET <name> <current value>` must have the same
//! outcome on ferrokv (OK, or the same error bytes). This pins which
//! directives are immutable (pidfile, logfile, rdbchecksum... Redis's
//! IMMUTABLE_CONFIG) and protected (dir, dbfilename: PROTECTED_CONFIG,
//! allowed by enable-protected-configs), so CONFIG SET + CONFIG REWRITE +
//! SHUTDOWN cannot be used to write or delete arbitrary files.

use crate::common;

use common::{escape, flatten, RawConn, RealRedis, Server};

/// Directives real Redis lists that ferrokv does not have at all (CONFIG
/// SET refuses them as unknown, so they cannot be changed at run time
/// either). Each must really be unknown to ferrokv: the test checks it, so
/// the list shrinks as directives are added.
const MISSING: &[(&str, &str)] = &[];

/// The payloads of a flat array-of-bulks reply (CONFIG GET in RESP2).
fn bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    flatten(reply)
        .into_iter()
        .skip(1)
        .map(|leaf| {
            let nl = leaf.iter().position(|&b| b == b'\n').expect("bulk header");
            leaf[nl + 1..leaf.len() - 2].to_vec()
        })
        .collect()
}

fn config_get_all(c: &mut RawConn) -> Vec<(String, Vec<u8>)> {
    let v = bulks(&c.cmd(&["CONFIG", "GET", "*"]));
    v.chunks(2)
        .map(|p| (String::from_utf8_lossy(&p[0]).into_owned(), p[1].clone()))
        .collect()
}

fn config_get(c: &mut RawConn, name: &str) -> Option<Vec<u8>> {
    bulks(&c.cmd(&["CONFIG", "GET", name])).get(1).cloned()
}

/// Starts both servers with `args`, then compares CONFIG SET name
/// <current value> for every directive Redis lists.
fn compare_all(args: &[&str]) {
    let ours = Server::start(args);
    let reference = RealRedis::start_with(args);
    let mut a = ours.conn();
    let mut b = reference.conn();
    let names = config_get_all(&mut b);
    assert!(
        names.len() > 150,
        "CONFIG GET * from redis: {}",
        names.len()
    );
    let mut failures = Vec::new();
    for (name, redis_value) in &names {
        let missing = MISSING.iter().any(|(n, _)| n == name);
        let our_value = config_get(&mut a, name);
        if missing {
            if our_value.is_some() {
                failures.push(format!(
                    "{}: in MISSING but ferrokv has it now; remove it from the list",
                    name
                ));
            }
            continue;
        }
        let Some(our_value) = our_value else {
            failures.push(format!(
                "{}: ferrokv lacks it; add it or list it in MISSING with a reason",
                name
            ));
            continue;
        };
        let rb = b.cmd_bytes(&[b"CONFIG", b"SET", name.as_bytes(), redis_value]);
        let ra = a.cmd_bytes(&[b"CONFIG", b"SET", name.as_bytes(), &our_value]);
        if ra != rb {
            failures.push(format!(
                "CONFIG SET {} {:?}\n  ferrokv: \"{}\"\n  redis:   \"{}\"",
                name,
                String::from_utf8_lossy(&our_value),
                escape(&ra),
                escape(&rb)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    ours.assert_no_panic();
}

#[test]
fn config_set_current_value_matches_redis_for_every_directive() {
    compare_all(&["--enable-debug-command", "yes"]);
}

#[test]
fn protected_configs_settable_when_enabled() {
    compare_all(&[
        "--enable-debug-command",
        "yes",
        "--enable-protected-configs",
        "yes",
    ]);
}

#[test]
fn refusals_name_the_argument_as_typed() {
    let ours = Server::start(&[]);
    let reference = RealRedis::start();
    let mut a = ours.conn();
    let mut b = reference.conn();
    let cases: &[&[&str]] = &[
        &["CONFIG", "SET", "pidfile", "/tmp/x.pid"],
        &["CONFIG", "SET", "PIDFILE", "/tmp/x.pid"],
        &["CONFIG", "SET", "LogFile", "/tmp/x.log"],
        &["CONFIG", "SET", "DIR", "/tmp"],
        &["CONFIG", "SET", "dbfilename", "x.rdb"],
        &["CONFIG", "SET", "maxmemory", "0", "MAXMEMORY", "0"],
        &["CONFIG", "SET", "maxmemory", "0", "pidfile", "x"],
        &["CONFIG", "SET", "pidfile", "x", "nosuch", "1"],
        &["CONFIG", "SET", "nosuch", "1", "pidfile", "x"],
        &["CONFIG", "SET", "dbfilename", "x", "pidfile", "x"],
        &["CONFIG", "SET", "rdbchecksum", "no"],
        &["CONFIG", "SET", "set-proc-title", "no"],
        &["CONFIG", "SET", "always-show-logo", "yes"],
        &["CONFIG", "SET", "io-threads-do-reads", "yes"],
        &["CONFIG", "SET", "daemonize", "yes"],
        &["CONFIG", "SET", "unixsocket", "/tmp/x.sock"],
        &["CONFIG", "SET", "databases", "32"],
        &["CONFIG", "SET", "enable-protected-configs", "yes"],
        &["CONFIG", "SET", "enable-module-command", "yes"],
        &["CONFIG", "SET", "jemalloc-bg-thread", "yes"],
        &["CONFIG", "GET", "pidfile"],
    ];
    for cmd in cases {
        let ra = a.cmd(cmd);
        let rb = b.cmd(cmd);
        assert!(
            ra == rb,
            "{:?}\n  ferrokv: \"{}\"\n  redis:   \"{}\"",
            cmd,
            escape(&ra),
            escape(&rb)
        );
    }
}
