//! Unit tests for the state `Server` keeps for its dbs (`DbState`).

use super::*;
use crate::db::ExpireMode;

fn server() -> Server {
    Server::new(
        Config::new(),
        crate::commands::table(),
        crate::commands::hooks(),
    )
}

fn run(srv: &mut Server, c: &mut Client, argv: &[&str]) -> String {
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    for a in argv {
        ranges.push((buf.len(), a.len()));
        buf.extend_from_slice(a.as_bytes());
    }
    let args = Args::new(&buf, &ranges);
    crate::commands::execute(srv, c, &args);
    let out = String::from_utf8_lossy(&c.out.buf).into_owned();
    c.out.buf.clear();
    out
}

#[test]
fn config_set_reaches_every_db() {
    let mut srv = server();
    let mut c = Client::new_internal(1, clock::now_ms());
    assert!(srv
        .dbs
        .iter()
        .all(|d| !d.state.stamps.lfu && !d.state.lazy_expire));
    let r = run(
        &mut srv,
        &mut c,
        &[
            "CONFIG",
            "SET",
            "maxmemory-policy",
            "allkeys-lfu",
            "lfu-decay-time",
            "7",
            "lazyfree-lazy-expire",
            "yes",
        ],
    );
    assert_eq!(r, "+OK\r\n");
    for d in &srv.dbs {
        assert!(d.state.stamps.lfu);
        assert_eq!(d.state.stamps.decay_time, 7);
        assert!(d.state.lazy_expire);
    }
    // A failed CONFIG SET changes nothing.
    let r = run(
        &mut srv,
        &mut c,
        &["CONFIG", "SET", "lazyfree-lazy-expire", "no", "hz", "x"],
    );
    assert!(r.starts_with("-ERR"), "{r}");
    assert!(srv.dbs.iter().all(|d| d.state.lazy_expire));
}

#[test]
fn expire_mode_decides_lazy_expiry_in_every_db() {
    let mut srv = server();
    let past = clock::now_ms() - 1000;
    for d in [0, 5] {
        srv.dbs[d].set(b"k", crate::object::Value::from_bytes(b"v"), false);
        srv.dbs[d].set_expire(b"k", past);
    }
    // A replica: expired keys read as missing but stay.
    srv.update_db_state(|s| s.expire_mode = ExpireMode::ReportOnly);
    assert!(srv.dbs[0].lookup_read(b"k").is_none());
    assert!(srv.dbs[0].dict.contains_key(b"k"));
    // A command from the master sees them.
    srv.update_db_state(|s| s.expire_mode = ExpireMode::Never);
    assert!(srv.dbs[5].lookup_read(b"k").is_some());
    // A master deletes them.
    srv.update_db_state(|s| s.expire_mode = ExpireMode::Delete);
    assert!(srv.dbs[5].lookup_read(b"k").is_none());
    assert!(!srv.dbs[5].dict.contains_key(b"k"));
    assert!(srv.dbs.iter().all(|d| d.state == srv.db_state));
}

#[test]
fn nesting_is_back_to_zero_after_exec() {
    let mut srv = server();
    let mut c = Client::new_internal(1, clock::now_ms());
    run(&mut srv, &mut c, &["MULTI"]);
    run(&mut srv, &mut c, &["SET", "a", "1"]);
    let r = run(&mut srv, &mut c, &["EXEC"]);
    assert_eq!(r, "*1\r\n+OK\r\n");
    assert_eq!(srv.nesting, 0);
}
