//! Redis Sentinel (the real one, `redis-server --sentinel` 7.0) managing
//! ferrokv: three sentinels discover a ferrokv master and its two ferrokv
//! replicas, and when the master dies they promote a replica
//! (REPLICAOF NO ONE inside MULTI/EXEC, CONFIG REWRITE, CLIENT KILL) and
//! point the other replica at it; data written before the failure is on
//! the new master and new writes reach the remaining replica.
//! With FERROKV_TEST_REDIS=1 the data nodes are real redis-servers.

use crate::common;

use common::{free_port, poll_until, temp_dir, RawConn, Server, REDIS_SERVER};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Sentinel {
    child: Child,
    port: u16,
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sentinel(master_port: u16) -> Sentinel {
    let dir = temp_dir("sentinel");
    let port = free_port();
    let conf = dir.join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\n\
             sentinel monitor mymaster 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds mymaster 1000\n\
             sentinel failover-timeout mymaster 10000\n",
            dir.display()
        ),
    )
    .expect("write sentinel.conf");
    let child = Command::new(REDIS_SERVER)
        .arg(&conf)
        .arg("--sentinel")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sentinel");
    let ok = poll_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(ok, "sentinel did not start");
    Sentinel { child, port }
}

fn s(r: Vec<u8>) -> String {
    String::from_utf8_lossy(&r).into_owned()
}

/// One command on a fresh connection; None when the server closed it
/// (sentinel's CLIENT KILL TYPE normal may hit any connection).
fn try_cmd(srv: &Server, args: &[&str]) -> Option<String> {
    let mut c = srv.conn();
    let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    c.try_send_raw(&common::encode(&argv)).ok()?;
    c.try_read_reply().ok().flatten().map(s)
}

fn role_line(srv: &Server) -> String {
    try_cmd(srv, &["ROLE"]).unwrap_or_default()
}

#[test]
fn sentinel_fails_over_a_ferrokv_master_to_a_ferrokv_replica() {
    let master = Server::start(&[]);
    let mp = master.port().to_string();
    let r1 = Server::start(&["--replicaof", "127.0.0.1", &mp]);
    let r2 = Server::start(&["--replicaof", "127.0.0.1", &mp]);
    let sentinels: Vec<Sentinel> = (0..3).map(|_| start_sentinel(master.port())).collect();

    let mut m = master.conn();
    for i in 0..100 {
        m.cmd(&["SET", &format!("before:{}", i), &i.to_string()]);
    }
    // Both replicas have everything before the master goes away.
    assert_eq!(s(m.cmd(&["WAIT", "2", "10000"])), ":2\r\n");

    // The sentinels must know both replicas and each other first.
    let mut sc = RawConn::connect(sentinels[0].port);
    let ready = poll_until(Duration::from_secs(30), || {
        let info = s(sc.cmd(&["SENTINEL", "MASTER", "mymaster"]));
        info.contains("num-slaves\r\n:2\r\n") || info.contains("num-slaves\r\n$1\r\n2\r\n")
    });
    assert!(ready, "{}", s(sc.cmd(&["SENTINEL", "MASTER", "mymaster"])));
    let known = poll_until(Duration::from_secs(30), || {
        s(sc.cmd(&["SENTINEL", "SENTINELS", "mymaster"]))
            .matches("runid")
            .count()
            == 2
    });
    assert!(known, "sentinels did not find each other");

    drop(m);
    drop(master); // SIGKILL

    let replica_ports = [r1.port(), r2.port()];
    let mut new_port = 0u16;
    let switched = poll_until(Duration::from_secs(60), || {
        let r = s(sc.cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]));
        for p in replica_ports {
            if r.contains(&format!("\r\n{}\r\n", p)) {
                new_port = p;
                return true;
            }
        }
        false
    });
    assert!(switched, "no failover; r1 log:\n{}", r1.log());
    let (new_master, other) = if new_port == r1.port() {
        (&r1, &r2)
    } else {
        (&r2, &r1)
    };
    // The promotion ends with CLIENT KILL TYPE normal: wait for it to be
    // over before talking to the new master.
    let promoted = poll_until(Duration::from_secs(30), || {
        role_line(new_master).contains("master")
            && try_cmd(new_master, &["INFO", "replication"])
                .is_some_and(|i| i.contains("connected_slaves:1"))
    });
    assert!(promoted, "new master log:\n{}", new_master.log());
    let mut nm = new_master.conn();
    for i in 0..100 {
        assert_eq!(
            s(nm.cmd(&["GET", &format!("before:{}", i)])),
            format!("${}\r\n{}\r\n", i.to_string().len(), i)
        );
    }
    assert_eq!(s(nm.cmd(&["SET", "after", "failover"])), "+OK\r\n");

    // The other replica now follows the new master and gets new writes.
    // (Sentinel reconfigures it with CLIENT KILL TYPE normal: a fresh
    // connection each time.)
    let follows = poll_until(Duration::from_secs(60), || {
        let role = role_line(other);
        role.contains("slave")
            && role.contains(&format!(":{}\r\n", new_port))
            && try_cmd(other, &["GET", "after"]).as_deref() == Some("$8\r\nfailover\r\n")
    });
    assert!(
        follows,
        "other replica never followed; log:\n{}",
        other.log()
    );
    new_master.assert_no_panic();
    other.assert_no_panic();
}
