//! Lazy freeing (lazyfree.c): UNLINK, DEL with lazyfree-lazy-user-del,
//! FLUSHALL/FLUSHDB ASYNC and lazyfree-lazy-user-flush free big values on
//! a background thread, counted in INFO `lazyfree_pending_objects` /
//! `lazyfreed_objects` (cleared by CONFIG RESETSTAT); small values are
//! freed in place. Also: the memory of one huge command's query buffer is
//! given back while the client stays busy (clientsCronResizeQueryBuffer).

use crate::common;

use common::{poll_until, RawConn, Server};
use std::time::Duration;

fn info_field(c: &mut RawConn, name: &str) -> i64 {
    let info = c.cmd_str(&["INFO", "memory"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{}:", name)))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{} missing from INFO", name))
}

fn wait_freed(c: &mut RawConn, want: i64) {
    assert!(
        poll_until(Duration::from_secs(10), || {
            info_field(c, "lazyfree_pending_objects") == 0
                && info_field(c, "lazyfreed_objects") == want
        }),
        "lazyfreed_objects never reached {}",
        want
    );
}

fn big_set(c: &mut RawConn, key: &str, n: usize) {
    let members: Vec<String> = (0..n).map(|i| format!("m{}", i)).collect();
    let mut args: Vec<&str> = vec!["SADD", key];
    args.extend(members.iter().map(|s| s.as_str()));
    assert_eq!(c.cmd_int(&args), n as i64);
}

#[test]
fn unlink_and_flush_async_free_in_background() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    assert_eq!(info_field(&mut c, "lazyfreed_objects"), 0);
    // Small values are freed in place, even by UNLINK.
    c.cmd_str(&["SET", "s", "v"]);
    big_set(&mut c, "small", 10);
    assert_eq!(c.cmd_int(&["UNLINK", "s", "small", "missing"]), 2);
    assert_eq!(info_field(&mut c, "lazyfreed_objects"), 0);
    // A hashtable set with more than 64 members goes to the thread.
    big_set(&mut c, "big", 1000);
    assert_eq!(c.cmd_int(&["UNLINK", "big"]), 1);
    assert_eq!(c.cmd_int(&["EXISTS", "big"]), 0);
    wait_freed(&mut c, 1);
    // DEL is synchronous unless lazyfree-lazy-user-del.
    big_set(&mut c, "big", 1000);
    assert_eq!(c.cmd_int(&["DEL", "big"]), 1);
    assert_eq!(info_field(&mut c, "lazyfreed_objects"), 1);
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "lazyfree-lazy-user-del", "yes"]),
        "+OK\r\n"
    );
    big_set(&mut c, "big", 1000);
    assert_eq!(c.cmd_int(&["DEL", "big"]), 1);
    wait_freed(&mut c, 2);
    // FLUSHALL ASYNC counts every key of the emptied databases.
    c.cmd_str(&["CONFIG", "RESETSTAT"]);
    assert_eq!(info_field(&mut c, "lazyfreed_objects"), 0);
    for i in 0..5 {
        c.cmd_str(&["SET", &format!("k{}", i), "v"]);
    }
    assert_eq!(c.cmd_str(&["FLUSHALL", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.cmd_int(&["DBSIZE"]), 0);
    wait_freed(&mut c, 5);
    // FLUSHDB SYNC does not, and lazyfree-lazy-user-flush makes a plain
    // FLUSHDB lazy.
    c.cmd_str(&["SET", "a", "1"]);
    assert_eq!(c.cmd_str(&["FLUSHDB", "SYNC"]), "+OK\r\n");
    assert_eq!(info_field(&mut c, "lazyfreed_objects"), 5);
    assert_eq!(
        c.cmd_str(&["CONFIG", "SET", "lazyfree-lazy-user-flush", "yes"]),
        "+OK\r\n"
    );
    c.cmd_str(&["SET", "a", "1"]);
    c.cmd_str(&["SET", "b", "1"]);
    assert_eq!(c.cmd_str(&["FLUSHDB"]), "+OK\r\n");
    wait_freed(&mut c, 7);
    assert_eq!(c.cmd_str(&["FLUSHDB", "BOGUS"]), "-ERR syntax error\r\n");
}

#[test]
fn lazy_expire_and_server_del() {
    let srv = Server::start(&[
        "--lazyfree-lazy-expire",
        "yes",
        "--lazyfree-lazy-server-del",
        "yes",
    ]);
    let mut c = srv.conn();
    // Overwriting a big value (dbOverwrite) frees it lazily.
    big_set(&mut c, "big", 1000);
    assert_eq!(c.cmd_str(&["SET", "big", "v"]), "+OK\r\n");
    wait_freed(&mut c, 1);
    // So does expiring one (here by lazy expiry on access).
    big_set(&mut c, "big2", 1000);
    c.cmd_str(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    assert_eq!(c.cmd_int(&["PEXPIRE", "big2", "1"]), 1);
    assert!(poll_until(Duration::from_secs(5), || c
        .cmd_int(&["EXISTS", "big2"])
        == 0));
    wait_freed(&mut c, 2);
}

/// One huge command leaves a big query buffer and argument table behind;
/// the clients cron gives that memory back although the client keeps
/// sending commands (it is never idle).
#[test]
fn huge_command_memory_is_given_back_to_a_busy_client() {
    let srv = Server::start(&[]);
    let mut c = srv.conn();
    let base = info_field(&mut c, "used_memory");
    big_set(&mut c, "myset", 100_000);
    assert_eq!(c.cmd_int(&["UNLINK", "myset"]), 1);
    assert!(
        poll_until(Duration::from_secs(10), || {
            info_field(&mut c, "lazyfree_pending_objects") == 0
                && info_field(&mut c, "used_memory") < base * 2
        }),
        "memory not given back: base {} now {}",
        base,
        info_field(&mut c, "used_memory")
    );
}
