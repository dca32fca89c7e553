//! The hashtable encoding of sets as Redis's dict behaves: no resizing
//! while a fork child is saving, shrinking after it, incremental rehashing
//! driven by random sampling (DEBUG HTSTATS-KEY shows the tables), and
//! SMOVE touching the destination for WATCH only when the member was added.

use crate::common;

use common::{poll_until, RawConn, Server};
use std::time::Duration;

fn htstats(c: &mut RawConn, key: &str) -> String {
    String::from_utf8_lossy(&c.cmd(&["DEBUG", "HTSTATS-KEY", key])).into_owned()
}

fn table_size(stats: &str) -> usize {
    let l = stats
        .lines()
        .find(|l| l.starts_with(" table size: "))
        .unwrap();
    l[" table size: ".len()..].trim().parse().unwrap()
}

#[test]
fn no_shrink_while_a_child_saves() {
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let members: Vec<String> = (0..2000).map(|i| format!("m:{i}")).collect();
    let mut cmd = vec!["SADD", "myset"];
    cmd.extend(members.iter().map(String::as_str));
    c.cmd(&cmd);
    while htstats(&mut c, "myset").contains("rehashing target") {
        c.cmd(&["SRANDMEMBER", "myset", "10"]);
    }
    assert_eq!(table_size(&htstats(&mut c, "myset")), 2048);

    c.cmd(&["SET", "other", "x"]);
    c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "1000000"]);
    assert_eq!(c.cmd(&["BGSAVE"]), b"+Background saving started\r\n");
    let mut rem = vec!["SREM", "myset"];
    rem.extend(members[..1900].iter().map(String::as_str));
    assert_eq!(c.cmd_int(&rem), 1900);
    let stats = htstats(&mut c, "myset");
    assert!(!stats.contains("rehashing target"), "{stats}");
    assert_eq!(table_size(&stats), 2048);

    c.cmd(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    assert!(poll_until(Duration::from_secs(20), || {
        let info = String::from_utf8_lossy(&c.cmd(&["INFO", "persistence"])).into_owned();
        info.contains("rdb_bgsave_in_progress:0")
    }));
    // The next removal starts the shrink; sampling finishes it.
    c.cmd(&["SREM", "myset", &members[1900]]);
    assert!(htstats(&mut c, "myset").contains("Hash table 1 stats (rehashing target)"));
    assert!(poll_until(Duration::from_secs(5), || {
        c.cmd(&["SRANDMEMBER", "myset", "5"]);
        !htstats(&mut c, "myset").contains("rehashing target")
    }));
    assert_eq!(table_size(&htstats(&mut c, "myset")), 128);
}

#[test]
fn smove_touches_the_destination_only_when_added() {
    let s = Server::start(&[]);
    let (mut r, mut r2) = (s.conn(), s.conn());
    r.cmd(&["SADD", "src", "a", "b"]);
    r.cmd(&["SADD", "dst", "a"]);
    r.cmd(&["WATCH", "dst"]);
    r.cmd(&["MULTI"]);
    r.cmd(&["SADD", "dst", "c"]);
    // "a" is already in dst: dst does not change, the transaction runs.
    assert_eq!(r2.cmd_int(&["SMOVE", "src", "dst", "a"]), 1);
    assert_eq!(r.cmd(&["EXEC"]), b"*1\r\n:1\r\n");
    assert_eq!(r.cmd_int(&["SCARD", "dst"]), 2);

    r.cmd(&["WATCH", "dst"]);
    r.cmd(&["MULTI"]);
    r.cmd(&["SADD", "dst", "d"]);
    assert_eq!(r2.cmd_int(&["SMOVE", "src", "dst", "b"]), 1);
    assert_eq!(r.cmd(&["EXEC"]), b"*-1\r\n");
}
