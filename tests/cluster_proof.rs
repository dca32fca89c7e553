//! Issue #14's proof, with the tools and clients users run: processes on
//! loopback, every wait a poll with a deadline.
//!
//! - Six ferrokv nodes made a cluster by `redis-cli --cluster create
//!   --cluster-replicas 1`; `--cluster check` clean (exit 0, no [ERR] or
//!   [WARNING]); `redis-cli -c`, the `redis` crate's cluster client and
//!   redis-py's RedisCluster each write and read back 100k keys.
//! - `redis-cli --cluster reshard` moves 1000 slots while a client writes:
//!   every acknowledged key reads back, the slots end where reshard put
//!   them on every node, `check` is clean, and the writer saw nothing but
//!   redirections (MOVED / ASK / TRYAGAIN, followed or retried).
//! - A master SIGKILLed while a client writes: its replica is promoted
//!   (measured against 2 × cluster-node-timeout, asserted with a generous
//!   deadline), the client carries on with no acknowledged write lost, and
//!   the old master, restarted, rejoins as a replica and catches up
//!   (tests/cluster_failover.rs covers the election's details).
//! - Mixed clusters, 3 ferrokv masters + 3 real redis-server 7.0.15
//!   replicas and the reverse: roles as created, `check` clean, CLUSTER
//!   FAILOVER promoting a replica of the other kind, slots with keys (of
//!   every type and encoding) resharded from a ferrokv master to a Redis
//!   master and back (MIGRATE both ways, values compared) while a client
//!   writes (only redirections seen, nothing lost), a master SIGKILLed and replaced by its replica of the
//!   other kind, no key lost.
//! - A ferrokv node joins a 3-master Redis 7.0.15 cluster with `--cluster
//!   add-node`, gets slots with keys from `--cluster rebalance
//!   --cluster-use-empty-masters`, and another joins with `--cluster-slave`
//!   as a replica of a Redis master and syncs from it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cluster_node::RealClusterNode;
use crate::common::poll_until;
use ferrokv::cluster::slot::key_hash_slot;

const DEADLINE: Duration = Duration::from_secs(30);
const SLOTS: usize = 16384;

fn ferrokv(timeout_ms: &str) -> RealClusterNode {
    RealClusterNode::start_ferrokv(&["--cluster-node-timeout", timeout_ms], |_, _| {})
}

fn redis(timeout_ms: &str) -> RealClusterNode {
    RealClusterNode::start_with(&["--cluster-node-timeout", timeout_ms], |_, _| {})
}

fn addr(n: &RealClusterNode) -> String {
    format!("127.0.0.1:{}", n.port)
}

fn myid(n: &RealClusterNode) -> String {
    n.cli(&["cluster", "myid"]).trim().to_string()
}

/// `redis-cli --cluster <args>` bounded by `timeout`: (success, output).
fn cluster_tool(args: &[&str], secs: u32) -> (bool, String) {
    let out = Command::new("timeout")
        .args([&secs.to_string(), "redis-cli", "--cluster"])
        .args(args)
        .output()
        .expect("redis-cli");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `redis-cli --cluster check` through `n`: exit 0, every node agreeing,
/// every slot covered, no open slot, no [ERR] or [WARNING].
fn assert_check_clean(n: &RealClusterNode) {
    // Just after a change the nodes may still be gossiping it: poll.
    let mut last = String::new();
    let clean = poll_until(DEADLINE, || {
        let (ok, out) = cluster_tool(&["check", &addr(n)], 60);
        last = out;
        ok && last.contains("[OK] All nodes agree about slots configuration.")
            && last.contains("[OK] All 16384 slots covered.")
            && !last.contains("[ERR]")
            && !last.contains("[WARNING]")
    });
    assert!(clean, "check through {} not clean:\n{last}", n.port);
}

/// `redis-cli --cluster create` of `nodes` (the first `nodes.len() / 2`
/// masters when `replicas`), then every node `ok` and every replica's
/// link up.
fn create(nodes: &[&RealClusterNode], replicas: bool) {
    let addrs: Vec<String> = nodes.iter().map(|n| addr(n)).collect();
    let mut args = vec!["create"];
    args.extend(addrs.iter().map(|s| s.as_str()));
    if replicas {
        args.extend(["--cluster-replicas", "1"]);
    }
    args.push("--cluster-yes");
    let (ok, out) = cluster_tool(&args, 60);
    assert!(
        ok && out.contains("[OK] All 16384 slots covered."),
        "create failed:\n{out}"
    );
    for n in nodes {
        n.wait_state("ok", DEADLINE);
    }
    for n in nodes {
        assert!(
            poll_until(DEADLINE, || {
                let r = n.cli(&["role"]);
                r.starts_with("master") || r.contains("connected")
            }),
            "{} never connected to its master:\n{}",
            n.port,
            n.log()
        );
    }
}

/// A node's CLUSTER NODES view: id → (port, flags, master id, slots).
struct View(HashMap<String, (u16, String, String, Vec<bool>)>);

fn view(n: &RealClusterNode) -> View {
    let mut m = HashMap::new();
    for l in n.cli(&["cluster", "nodes"]).lines() {
        let f: Vec<&str> = l.split(' ').collect();
        if f.len() < 8 {
            continue;
        }
        let port = f[1]
            .split(['@', ','])
            .next()
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let mut slots = vec![false; SLOTS];
        for r in &f[8..] {
            if r.starts_with('[') {
                continue;
            }
            let mut it = r.split('-');
            let a = it.next().and_then(|s| s.parse::<usize>().ok());
            let b = it.next().and_then(|s| s.parse::<usize>().ok()).or(a);
            if let (Some(a), Some(b)) = (a, b) {
                for s in slots.iter_mut().take(b.min(SLOTS - 1) + 1).skip(a) {
                    *s = true;
                }
            }
        }
        m.insert(
            f[0].to_string(),
            (port, f[2].to_string(), f[3].to_string(), slots),
        );
    }
    View(m)
}

impl View {
    fn flags(&self, id: &str) -> &str {
        self.0.get(id).map_or("", |e| e.1.as_str())
    }
    fn master_of(&self, id: &str) -> &str {
        self.0.get(id).map_or("", |e| e.2.as_str())
    }
    fn slots(&self, id: &str) -> Vec<bool> {
        self.0
            .get(id)
            .map_or_else(|| vec![false; SLOTS], |e| e.3.clone())
    }
}

/// Waits until `n` sees `id` as a master owning exactly `slots`.
fn wait_owner(n: &RealClusterNode, id: &str, slots: &[bool]) {
    assert!(
        poll_until(DEADLINE, || {
            let v = view(n);
            v.flags(id).contains("master") && v.slots(id) == slots
        }),
        "{} does not see {id} as the master of the expected slots:\n{}",
        n.port,
        n.cli(&["cluster", "nodes"])
    );
}

/// Waits until `n` sees `replica` as a replica of `master`.
fn wait_replica_of(n: &RealClusterNode, replica: &str, master: &str) {
    assert!(
        poll_until(DEADLINE, || {
            let v = view(n);
            v.flags(replica).contains("slave") && v.master_of(replica) == master
        }),
        "{} does not see {replica} as a replica of {master}:\n{}",
        n.port,
        n.cli(&["cluster", "nodes"])
    );
}

/// The slots `id` owns as `n` sees them, as a list.
fn owned(n: &RealClusterNode, id: &str) -> Vec<usize> {
    let s = view(n).slots(id);
    (0..SLOTS).filter(|&i| s[i]).collect()
}

/// `redis-cli --cluster reshard` of `count` slots from `from` to `to`
/// (ids), through `via`: redis-cli takes the source's lowest slots. Returns
/// the slots moved, once every node in `all` sees the new owners.
fn reshard(
    via: &RealClusterNode,
    all: &[&RealClusterNode],
    from: &str,
    to: &str,
    count: usize,
) -> Vec<usize> {
    let before_from = owned(via, from);
    let before_to = owned(via, to);
    let moved: Vec<usize> = before_from.iter().take(count).copied().collect();
    let (ok, out) = cluster_tool(
        &[
            "reshard",
            &addr(via),
            "--cluster-from",
            from,
            "--cluster-to",
            to,
            "--cluster-slots",
            &count.to_string(),
            "--cluster-yes",
        ],
        240,
    );
    let bad: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("[ERR]") || l.contains("[WARNING]") || l.contains("ERR"))
        .collect();
    assert!(ok && bad.is_empty(), "reshard failed: {bad:?}\n{out}");
    let mut want_from = vec![false; SLOTS];
    for s in &before_from[count.min(before_from.len())..] {
        want_from[*s] = true;
    }
    let mut want_to = vec![false; SLOTS];
    for s in before_to.iter().chain(moved.iter()) {
        want_to[*s] = true;
    }
    for n in all {
        wait_owner(n, to, &want_to);
        wait_owner(n, from, &want_from);
    }
    moved
}

// ---------------------------------------------------------------------------
// Clients.

/// The `redis` crate's cluster client seeded with `n`.
fn crate_client(n: &RealClusterNode) -> redis::cluster::ClusterConnection {
    redis::cluster::ClusterClient::new(vec![format!("redis://127.0.0.1:{}/", n.port)])
        .expect("cluster client")
        .get_connection()
        .expect("cluster connection")
}

/// Writes `prefix:i` = `v<i>` for i in `range` through the crate's cluster
/// pipeline (batched; it groups each batch by node).
fn crate_write(
    c: &mut redis::cluster::ClusterConnection,
    prefix: &str,
    range: std::ops::Range<usize>,
) {
    let ids: Vec<usize> = range.collect();
    for chunk in ids.chunks(5000) {
        let mut p = redis::cluster::cluster_pipe();
        for i in chunk {
            p.cmd("SET")
                .arg(format!("{prefix}:{i}"))
                .arg(format!("v{i}"));
        }
        let r: Vec<String> = p.query(c).expect("pipelined SETs");
        assert!(r.iter().all(|s| s == "OK"), "{r:?}");
    }
}

/// Reads back `prefix:i` for i in `range`: every value checked.
fn crate_verify(
    c: &mut redis::cluster::ClusterConnection,
    prefix: &str,
    range: std::ops::Range<usize>,
) {
    let ids: Vec<usize> = range.collect();
    for chunk in ids.chunks(5000) {
        let mut p = redis::cluster::cluster_pipe();
        for i in chunk {
            p.cmd("GET").arg(format!("{prefix}:{i}"));
        }
        let r: Vec<Option<String>> = p.query(c).expect("pipelined GETs");
        for (i, v) in chunk.iter().zip(r) {
            assert_eq!(v, Some(format!("v{i}")), "{prefix}:{i}");
        }
    }
}

/// Our own cluster client, to see every reply a writer gets: a slot map
/// from CLUSTER NODES, MOVED updating it, ASK answered with ASKING on the
/// target, TRYAGAIN retried; connection failures and CLUSTERDOWN (a node
/// down) refresh the map from any known node and retry.
struct Router {
    slots: Vec<u16>,
    ports: Vec<u16>,
    conns: HashMap<u16, redis::Connection>,
    /// MOVED, ASK and TRYAGAIN replies seen.
    redirections: usize,
    /// Connection failures and CLUSTERDOWN replies (a node went down).
    outages: usize,
    /// Anything else: the test fails on these.
    errors: Vec<String>,
}

impl Router {
    fn new(ports: &[u16]) -> Router {
        let mut r = Router {
            slots: vec![0; SLOTS],
            ports: ports.to_vec(),
            conns: HashMap::new(),
            redirections: 0,
            outages: 0,
            errors: Vec::new(),
        };
        assert!(r.refresh(), "no node answers CLUSTER NODES");
        r
    }

    fn conn(&mut self, port: u16) -> redis::RedisResult<&mut redis::Connection> {
        use std::collections::hash_map::Entry;
        match self.conns.entry(port) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
                let conn = c.get_connection_with_timeout(Duration::from_secs(2))?;
                conn.set_read_timeout(Some(Duration::from_secs(5)))?;
                Ok(e.insert(conn))
            }
        }
    }

    /// The slot map from the first node answering CLUSTER NODES.
    fn refresh(&mut self) -> bool {
        for port in self.ports.clone() {
            let Ok(c) = self.conn(port) else {
                self.conns.remove(&port);
                continue;
            };
            let Ok(text) = redis::cmd("CLUSTER").arg("NODES").query::<String>(c) else {
                self.conns.remove(&port);
                continue;
            };
            for l in text.lines() {
                let f: Vec<&str> = l.split(' ').collect();
                if f.len() < 9 || !f[2].contains("master") || f[2].contains("fail") {
                    continue;
                }
                let Some(p) = f[1]
                    .split('@')
                    .next()
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| p.parse::<u16>().ok())
                else {
                    continue;
                };
                if !self.ports.contains(&p) {
                    self.ports.push(p);
                }
                for r in &f[8..] {
                    let mut it = r.split('-');
                    let a = it.next().and_then(|s| s.parse::<usize>().ok());
                    let b = it.next().and_then(|s| s.parse::<usize>().ok()).or(a);
                    if let (Some(a), Some(b)) = (a, b) {
                        for s in a..=b.min(SLOTS - 1) {
                            self.slots[s] = p;
                        }
                    }
                }
            }
            return true;
        }
        false
    }

    /// Runs `cmd` (keys in one slot) until it is answered without a
    /// redirection or `deadline` passes.
    fn query<T: redis::FromRedisValue>(
        &mut self,
        cmd: &redis::Cmd,
        key: &str,
        deadline: Duration,
    ) -> Option<T> {
        let slot = key_hash_slot(key.as_bytes()) as usize;
        let end = Instant::now() + deadline;
        let mut ask: Option<u16> = None;
        while Instant::now() < end {
            let port = ask.unwrap_or(self.slots[slot]);
            let asking = ask.take().is_some();
            let res: redis::RedisResult<T> = match self.conn(port) {
                Ok(c) if asking => redis::pipe()
                    .cmd("ASKING")
                    .ignore()
                    .add_command(cmd.clone())
                    .query::<(T,)>(c)
                    .map(|(v,)| v),
                Ok(c) => cmd.query(c),
                Err(e) => Err(e),
            };
            let e = match res {
                Ok(v) => return Some(v),
                Err(e) => e,
            };
            let target = e
                .redirect_node()
                .and_then(|(a, _)| a.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()));
            match (e.kind(), target) {
                (redis::ErrorKind::Moved, Some(p)) => {
                    self.redirections += 1;
                    self.slots[slot] = p;
                    if !self.ports.contains(&p) {
                        self.ports.push(p);
                    }
                }
                (redis::ErrorKind::Ask, Some(p)) => {
                    self.redirections += 1;
                    ask = Some(p);
                }
                (redis::ErrorKind::TryAgain, _) => {
                    self.redirections += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
                (redis::ErrorKind::ClusterDown, _) => {
                    self.outages += 1;
                    std::thread::sleep(Duration::from_millis(20));
                    self.refresh();
                }
                _ if e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || e.is_timeout() =>
                {
                    self.outages += 1;
                    self.conns.remove(&port);
                    std::thread::sleep(Duration::from_millis(20));
                    self.refresh();
                }
                _ => {
                    self.errors.push(format!("{key} on {port}: {e}"));
                    return None;
                }
            }
        }
        self.errors
            .push(format!("{key}: no answer within {deadline:?}"));
        None
    }
}

/// A thread writing `w:i` = `v<i>` (i = 0, 1, ...) through a Router until
/// stopped; `acked` counts the writes acknowledged so far (all keys below
/// it were).
struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<std::sync::atomic::AtomicUsize>,
    handle: std::thread::JoinHandle<Router>,
}

impl Writer {
    fn start(ports: &[u16]) -> Writer {
        let mut router = Router::new(ports);
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (s, a) = (stop.clone(), acked.clone());
        let handle = std::thread::spawn(move || {
            let mut i = 0usize;
            while !s.load(Ordering::Relaxed) {
                let key = format!("w:{i}");
                let cmd = redis::cmd("SET").arg(&key).arg(format!("v{i}")).clone();
                match router.query::<String>(&cmd, &key, DEADLINE) {
                    Some(ok) if ok == "OK" => {
                        i += 1;
                        a.store(i, Ordering::Relaxed);
                    }
                    Some(other) => {
                        router.errors.push(format!("{key}: {other}"));
                        break;
                    }
                    None => break,
                }
            }
            router
        });
        Writer {
            stop,
            acked,
            handle,
        }
    }

    fn acked(&self) -> usize {
        self.acked.load(Ordering::Relaxed)
    }

    /// Waits for `more` acknowledged writes beyond now.
    fn wait_progress(&self, more: usize) {
        let want = self.acked() + more;
        assert!(
            poll_until(DEADLINE, || self.acked() >= want
                || self.handle.is_finished()),
            "the writer is stuck at {}",
            self.acked()
        );
        assert!(!self.handle.is_finished(), "the writer stopped");
    }

    /// Stops the writer: (keys acknowledged, its router).
    fn finish(self) -> (usize, Router) {
        self.stop.store(true, Ordering::Relaxed);
        let router = self.handle.join().expect("writer thread");
        (self.acked.load(Ordering::Relaxed), router)
    }
}

/// Every `w:i` below `acked` reads back `v<i>` through the cluster.
fn verify_writer_keys(seed: &RealClusterNode, acked: usize) {
    crate_verify(&mut crate_client(seed), "w", 0..acked);
}

fn python() -> String {
    std::env::var("FERROKV_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Runs tests/apps/redis_py_cluster.py (redis-py's RedisCluster) against
/// the cluster `seed` belongs to; skipped with a notice when redis-py is
/// missing, a failure when CI is set (as tests/apps.rs).
fn run_redis_py_cluster(seed: &RealClusterNode, keys: usize) {
    let importable = Command::new(python())
        .args(["-c", "import redis.cluster"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !importable {
        assert!(
            !std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false"),
            "{} cannot import redis.cluster (CI is set: install redis-py as .ci/run does)",
            python()
        );
        eprintln!(
            "NOTICE: {} cannot import redis.cluster; SKIPPING redis-py's RedisCluster",
            python()
        );
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/apps/redis_py_cluster.py");
    let out = Command::new("timeout")
        .arg("300")
        .arg(python())
        .arg(&script)
        .arg(seed.port.to_string())
        .arg(keys.to_string())
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "redis_py_cluster.py failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The index in `nodes` of the node with id `id`.
fn index_of(nodes: &[RealClusterNode], id: &str) -> usize {
    nodes
        .iter()
        .position(|n| myid(n) == id)
        .expect("a node with that id")
}

/// A key hashing to `slot` (`k:<n>` for the first n that does).
fn key_in_slot(slot: usize) -> String {
    (0..)
        .map(|i| format!("k:{i}"))
        .find(|k| key_hash_slot(k.as_bytes()) as usize == slot)
        .expect("some key hashes to every slot")
}

/// Keys of every type, small and large encodings (listpack / intset
/// and hashtable / quicklist / skiplist, a stream with a consumer group
/// and pending entries, a HyperLogLog, a TTL), under hash tag `{tag}`.
fn write_typed(c: &mut redis::cluster::ClusterConnection, tag: &str) {
    let k = |name: &str| format!("{{{tag}}}{name}");
    let q = |c: &mut redis::cluster::ClusterConnection, cmd: &mut redis::Cmd| {
        cmd.query::<redis::Value>(c).expect("typed write");
    };
    q(c, redis::cmd("SET").arg(k("big")).arg("x".repeat(200_000)));
    q(c, redis::cmd("SET").arg(k("int")).arg(12345));
    q(
        c,
        redis::cmd("SET")
            .arg(k("ttl"))
            .arg("v")
            .arg("PX")
            .arg(100_000_000),
    );
    let mut hs = redis::cmd("HSET");
    hs.arg(k("hs"));
    for i in 0..5 {
        hs.arg(format!("f{i}")).arg(format!("v{i}"));
    }
    q(c, &mut hs);
    let mut hb = redis::cmd("HSET");
    hb.arg(k("hb"));
    for i in 0..600 {
        hb.arg(format!("f{i}")).arg(format!("v{i}").repeat(20));
    }
    q(c, &mut hb);
    let mut lb = redis::cmd("RPUSH");
    lb.arg(k("lb"));
    for i in 0..3000 {
        lb.arg(format!("e{i}").repeat(30));
    }
    q(c, &mut lb);
    q(c, redis::cmd("RPUSH").arg(k("ls")).arg("a").arg("b"));
    q(
        c,
        redis::cmd("SADD")
            .arg(k("si"))
            .arg((0..50).collect::<Vec<i32>>()),
    );
    let mut sb = redis::cmd("SADD");
    sb.arg(k("sb"));
    for i in 0..1000 {
        sb.arg(format!("m{i}"));
    }
    q(c, &mut sb);
    let mut zb = redis::cmd("ZADD");
    zb.arg(k("zb"));
    for i in 0..500 {
        zb.arg(i as f64 * 1.5).arg(format!("m{i}"));
    }
    q(c, &mut zb);
    q(
        c,
        redis::cmd("ZADD")
            .arg(k("zs"))
            .arg(1)
            .arg("a")
            .arg(2.5)
            .arg("b"),
    );
    for i in 0..200 {
        q(
            c,
            redis::cmd("XADD")
                .arg(k("x"))
                .arg(format!("{}-1", i + 1))
                .arg("k")
                .arg(i),
        );
    }
    q(
        c,
        redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(k("x"))
            .arg("g")
            .arg("0"),
    );
    q(
        c,
        redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("g")
            .arg("c1")
            .arg("COUNT")
            .arg(50)
            .arg("STREAMS")
            .arg(k("x"))
            .arg(">"),
    );
    let mut pf = redis::cmd("PFADD");
    pf.arg(k("hll"));
    for i in 0..300 {
        pf.arg(format!("h{i}"));
    }
    q(c, &mut pf);
}

/// What reading `write_typed`'s keys returns (set members and the large
/// hash's pairs sorted; the TTL as "still far away").
fn read_typed(c: &mut redis::cluster::ClusterConnection, tag: &str) -> Vec<String> {
    let k = |name: &str| format!("{{{tag}}}{name}");
    let q = |c: &mut redis::cluster::ClusterConnection, cmd: &mut redis::Cmd| {
        format!("{:?}", cmd.query::<redis::Value>(c).expect("typed read"))
    };
    let sorted = |c: &mut redis::cluster::ClusterConnection, key: String| {
        let mut m: Vec<String> = redis::cmd("SMEMBERS").arg(key).query(c).expect("SMEMBERS");
        m.sort();
        m.join(",")
    };
    // A hash table's order is its own: compare the pairs sorted.
    let hash = |c: &mut redis::cluster::ClusterConnection, key: String| {
        let mut m: Vec<(String, String)> =
            redis::cmd("HGETALL").arg(key).query(c).expect("HGETALL");
        m.sort();
        format!("{m:?}")
    };
    let pttl: i64 = redis::cmd("PTTL").arg(k("ttl")).query(c).expect("PTTL");
    vec![
        q(c, redis::cmd("GET").arg(k("big"))),
        q(c, redis::cmd("GET").arg(k("int"))),
        (pttl > 90_000_000).to_string(),
        q(c, redis::cmd("HGETALL").arg(k("hs"))),
        hash(c, k("hb")),
        q(c, redis::cmd("LRANGE").arg(k("lb")).arg(0).arg(-1)),
        q(c, redis::cmd("LRANGE").arg(k("ls")).arg(0).arg(-1)),
        sorted(c, k("si")),
        sorted(c, k("sb")),
        q(
            c,
            redis::cmd("ZRANGE")
                .arg(k("zb"))
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES"),
        ),
        q(
            c,
            redis::cmd("ZRANGE")
                .arg(k("zs"))
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES"),
        ),
        q(c, redis::cmd("XRANGE").arg(k("x")).arg("-").arg("+")),
        q(c, redis::cmd("XINFO").arg("GROUPS").arg(k("x"))),
        q(c, redis::cmd("XPENDING").arg(k("x")).arg("g")),
        q(c, redis::cmd("PFCOUNT").arg(k("hll"))),
    ]
}

/// `read_typed` results compared one read at a time (the values are large:
/// a difference is shown by index, cut short).
fn assert_same_typed(got: &[String], want: &[String], what: &str) {
    assert_eq!(got.len(), want.len());
    let cut = |s: &str| s.chars().take(300).collect::<String>();
    let diff: Vec<String> = (0..got.len())
        .filter(|&i| got[i] != want[i])
        .map(|i| format!("read {i}: got {} want {}", cut(&got[i]), cut(&want[i])))
        .collect();
    assert!(diff.is_empty(), "{what}:\n{}", diff.join("\n"));
}

// ---------------------------------------------------------------------------
// The tests.

/// Six ferrokv nodes, three masters with a replica each, serve redis-cli
/// -c, the redis crate's cluster client and redis-py's RedisCluster.
#[test]
fn six_ferrokv_nodes_serve_cluster_clients() {
    let nodes: Vec<RealClusterNode> = (0..6).map(|_| ferrokv("2000")).collect();
    let refs: Vec<&RealClusterNode> = nodes.iter().collect();
    create(&refs, true);
    // The first three are the masters, each with one of the others.
    let ids: Vec<String> = nodes.iter().map(myid).collect();
    let v = view(&nodes[0]);
    for (i, id) in ids.iter().enumerate() {
        if i < 3 {
            assert!(v.flags(id).contains("master"), "{}", v.flags(id));
        } else {
            assert!(ids[..3].contains(&v.master_of(id).to_string()));
        }
    }
    assert_check_clean(&nodes[0]);
    assert_check_clean(&nodes[4]);

    // redis-cli -c follows MOVED: a key of each master's, set through one
    // node and read through another.
    for (i, slot) in [0usize, 8000, 16383].into_iter().enumerate() {
        let key = key_in_slot(slot);
        let set = Command::new("redis-cli")
            .args(["-c", "-p", &nodes[i].port.to_string(), "set", &key, "cli"])
            .output()
            .expect("redis-cli");
        assert_eq!(String::from_utf8_lossy(&set.stdout).trim(), "OK");
        let get = Command::new("redis-cli")
            .args([
                "-c",
                "-p",
                &nodes[(i + 1) % 3].port.to_string(),
                "get",
                &key,
            ])
            .output()
            .expect("redis-cli");
        assert_eq!(String::from_utf8_lossy(&get.stdout).trim(), "cli");
    }

    // The redis crate's cluster client: 100k keys written and read back.
    let mut c = crate_client(&nodes[3]);
    crate_write(&mut c, "rs", 0..100_000);
    crate_verify(&mut c, "rs", 0..100_000);
    let counts: Vec<i64> = nodes[..3]
        .iter()
        .map(|n| n.cli(&["dbsize"]).trim().parse().unwrap_or(0))
        .collect();
    assert_eq!(counts.iter().sum::<i64>(), 100_003, "{counts:?}");
    assert!(counts.iter().all(|&c| c > 25_000), "{counts:?}");
    // Single commands too (routed by the client, MOVED-free).
    let _: () = redis::cmd("SET")
        .arg("{u}a")
        .arg("1")
        .query(&mut c)
        .expect("SET");
    let v: Vec<Option<String>> = redis::cmd("MGET")
        .arg("{u}a")
        .arg("{u}b")
        .query(&mut c)
        .expect("MGET");
    assert_eq!(v, vec![Some("1".to_string()), None]);

    // redis-py's RedisCluster: 100k more keys.
    run_redis_py_cluster(&nodes[1], 100_000);

    // The replicas hold the same keys as their masters.
    for (i, id) in ids.iter().enumerate().skip(3) {
        let m = index_of(&nodes, view(&nodes[i]).master_of(id));
        let want = nodes[m].cli(&["dbsize"]);
        assert!(
            poll_until(DEADLINE, || nodes[i].cli(&["dbsize"]) == want),
            "replica {} has {} keys, its master {want}",
            nodes[i].port,
            nodes[i].cli(&["dbsize"])
        );
    }
    assert_check_clean(&nodes[2]);
}

/// `--cluster reshard` of 1000 slots while a client writes: nothing
/// acknowledged is lost and the client only ever sees redirections.
#[test]
fn reshard_while_a_client_writes() {
    let nodes: Vec<RealClusterNode> = (0..6).map(|_| ferrokv("2000")).collect();
    let refs: Vec<&RealClusterNode> = nodes.iter().collect();
    create(&refs, true);
    let ids: Vec<String> = nodes.iter().map(myid).collect();
    // Keys in every slot before the move.
    let mut c = crate_client(&nodes[0]);
    crate_write(&mut c, "pre", 0..30_000);
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    let writer = Writer::start(&ports);
    writer.wait_progress(200);
    let moved = reshard(&nodes[0], &refs, &ids[0], &ids[1], 1000);
    assert_eq!(moved.len(), 1000);
    writer.wait_progress(200);
    let (acked, router) = writer.finish();
    assert!(
        router.errors.is_empty() && router.outages == 0,
        "the writer saw errors other than redirections: {:?} ({} outages)",
        router.errors,
        router.outages
    );
    eprintln!(
        "reshard under writes: {acked} writes acknowledged, {} redirections",
        router.redirections
    );
    // Every acknowledged key is there, and so is everything written before.
    verify_writer_keys(&nodes[2], acked);
    crate_verify(&mut crate_client(&nodes[2]), "pre", 0..30_000);
    // The moved slots' keys live on the target now (and its replica).
    let target_keys: i64 = moved
        .iter()
        .map(|s| {
            nodes[1]
                .cli(&["cluster", "countkeysinslot", &s.to_string()])
                .trim()
                .parse::<i64>()
                .unwrap_or(0)
        })
        .sum();
    assert!(target_keys > 1000, "{target_keys}");
    for s in moved.iter().step_by(97) {
        assert_eq!(
            nodes[0]
                .cli(&["cluster", "countkeysinslot", &s.to_string()])
                .trim(),
            "0"
        );
    }
    assert_check_clean(&nodes[3]);
}

/// A master SIGKILLed while a client writes: its replica takes over, the
/// client carries on, no acknowledged write is lost, and the old master
/// comes back as a replica.
#[test]
fn killed_master_while_a_client_writes() {
    let mut nodes: Vec<RealClusterNode> = (0..6).map(|_| ferrokv("1000")).collect();
    let refs: Vec<&RealClusterNode> = nodes.iter().collect();
    create(&refs, true);
    let ids: Vec<String> = nodes.iter().map(myid).collect();
    let v = view(&nodes[0]);
    let m = 0;
    let r = (3..6)
        .find(|&i| v.master_of(&ids[i]) == ids[m])
        .expect("a replica of node 0");
    let slots = v.slots(&ids[m]);
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    let writer = Writer::start(&ports);
    writer.wait_progress(500);
    // The replica has caught up with what was acknowledged so far.
    let before = writer.acked();
    let field = |n: &RealClusterNode, name: &str| -> i64 {
        n.cli(&["info", "replication"])
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    };
    let offset = field(&nodes[m], "master_repl_offset:");
    assert!(
        poll_until(DEADLINE, || field(&nodes[r], "slave_repl_offset:")
            >= offset),
        "the replica never caught up"
    );
    nodes[m].kill9();
    let killed = Instant::now();
    // Acknowledged from now on: not by the killed master.
    let after_kill = writer.acked();
    assert!(
        poll_until(DEADLINE, || nodes[r].cli(&["role"]).starts_with("master")),
        "the replica was never promoted:\n{}",
        nodes[r].log()
    );
    let took = killed.elapsed();
    eprintln!("replica promoted {took:?} after the kill (node timeout 1000 ms)");
    let others: Vec<&RealClusterNode> = (0..6).filter(|&i| i != m).map(|i| &nodes[i]).collect();
    for n in &others {
        wait_owner(n, &ids[r], &slots);
        n.wait_state("ok", DEADLINE);
    }
    // The client carries on, the killed master's slots included.
    writer.wait_progress(2000);
    let (acked, router) = writer.finish();
    assert!(acked > before + 2000);
    assert!(
        router.errors.is_empty(),
        "the writer failed: {:?}",
        router.errors
    );
    eprintln!(
        "kill -9 under writes: {acked} acknowledged, {} redirections, {} retries while the master was down",
        router.redirections, router.outages
    );
    // Replication is asynchronous (as Redis's): the killed master's last
    // writes before the kill may be lost. Nothing acknowledged before the
    // replica had caught up is, nor anything acknowledged after the kill.
    let mut c = crate_client(&nodes[1]);
    crate_verify(&mut c, "w", 0..before);
    crate_verify(&mut c, "w", after_kill..acked);
    let new_master = nodes[r].cli(&["dbsize"]);
    assert!(new_master.trim().parse::<usize>().unwrap_or(0) > 0);
    // The old master rejoins as a replica of the promoted one.
    nodes[m].restart();
    for n in &nodes {
        wait_replica_of(n, &ids[m], &ids[r]);
    }
    let want = nodes[r].cli(&["dbsize"]);
    assert!(poll_until(DEADLINE, || nodes[m].cli(&["dbsize"]) == want));
    assert_check_clean(&nodes[m]);
}

/// The mixed cluster: masters of one kind, replicas of the other.
fn mixed_cluster(ferrokv_masters: bool) {
    let mut nodes: Vec<RealClusterNode> = (0..6)
        .map(|i| {
            if (i < 3) == ferrokv_masters {
                ferrokv("1000")
            } else {
                redis("1000")
            }
        })
        .collect();
    let is_ferrokv = |i: usize| (i < 3) == ferrokv_masters;
    let refs: Vec<&RealClusterNode> = nodes.iter().collect();
    create(&refs, true);
    let ids: Vec<String> = nodes.iter().map(myid).collect();
    // redis-cli made the first three masters and gave each one replica.
    for n in &nodes {
        let v = view(n);
        for id in &ids[..3] {
            assert!(v.flags(id).contains("master"), "{}", v.flags(id));
        }
        let mut masters: Vec<&str> = (3..6).map(|i| v.master_of(&ids[i])).collect();
        masters.sort();
        let mut want: Vec<&str> = ids[..3].iter().map(|s| s.as_str()).collect();
        want.sort();
        assert_eq!(masters, want);
    }
    assert_check_clean(&nodes[0]);
    assert_check_clean(&nodes[5]);
    let mut c = crate_client(&nodes[0]);
    crate_write(&mut c, "mx", 0..20_000);

    // CLUSTER FAILOVER on the replica of node 1: the other kind is master.
    let v = view(&nodes[0]);
    let replica_of = |m: usize| {
        (3..6)
            .find(|&i| v.master_of(&ids[i]) == ids[m])
            .expect("a replica")
    };
    let (m1, r1) = (1, replica_of(1));
    let slots1 = v.slots(&ids[m1]);
    assert!(poll_until(DEADLINE, || nodes[r1]
        .cli(&["info", "replication"])
        .contains("master_link_status:up")));
    assert_eq!(nodes[r1].cli(&["cluster", "failover"]).trim(), "OK");
    for n in &nodes {
        wait_owner(n, &ids[r1], &slots1);
        wait_replica_of(n, &ids[m1], &ids[r1]);
    }
    for n in &nodes {
        n.wait_state("ok", DEADLINE);
    }
    assert_check_clean(&nodes[m1]);

    // Reshard between a ferrokv master and a Redis master, both ways, with
    // keys in the slots (MIGRATE from each kind to the other).
    let (fk, rd) = if is_ferrokv(0) { (0, r1) } else { (r1, 0) };
    assert!(is_ferrokv(fk) && !is_ferrokv(rd));
    let refs: Vec<&RealClusterNode> = nodes.iter().collect();
    // Keys of every type in slots about to move (hash tags in fk's lowest
    // slots, which reshard takes first).
    let fk_slots = owned(&nodes[0], &ids[fk]);
    let tags: Vec<String> = (0..)
        .map(|i| format!("t{i}"))
        .filter(|t| fk_slots[..300].contains(&(key_hash_slot(t.as_bytes()) as usize)))
        .take(4)
        .collect();
    for t in &tags {
        write_typed(&mut c, t);
    }
    let typed: Vec<Vec<String>> = tags.iter().map(|t| read_typed(&mut c, t)).collect();
    // A client writes all along: ASK from one kind, ASKING on the other.
    let ports: Vec<u16> = nodes.iter().map(|n| n.port).collect();
    let writer = Writer::start(&ports);
    writer.wait_progress(100);
    let there = reshard(&nodes[fk], &refs, &ids[fk], &ids[rd], 300);
    let mut c = crate_client(&nodes[1]);
    for (t, want) in tags.iter().zip(&typed) {
        assert_same_typed(
            &read_typed(&mut c, t),
            want,
            &format!("{t} after MIGRATE to Redis"),
        );
    }
    let keys_moved: i64 = there
        .iter()
        .map(|s| {
            nodes[rd]
                .cli(&["cluster", "countkeysinslot", &s.to_string()])
                .trim()
                .parse::<i64>()
                .unwrap_or(0)
        })
        .sum();
    assert!(keys_moved > 100, "{keys_moved}");
    assert_check_clean(&nodes[rd]);
    crate_verify(&mut crate_client(&nodes[2]), "mx", 0..20_000);
    let back = reshard(&nodes[rd], &refs, &ids[rd], &ids[fk], 300);
    let keys_back: i64 = back
        .iter()
        .map(|s| {
            nodes[fk]
                .cli(&["cluster", "countkeysinslot", &s.to_string()])
                .trim()
                .parse::<i64>()
                .unwrap_or(0)
        })
        .sum();
    assert!(keys_back > 100, "{keys_back}");
    assert_check_clean(&nodes[fk]);
    let mut c = crate_client(&nodes[1]);
    for (t, want) in tags.iter().zip(&typed) {
        assert_same_typed(
            &read_typed(&mut c, t),
            want,
            &format!("{t} after MIGRATE back"),
        );
    }
    crate_verify(&mut crate_client(&nodes[2]), "mx", 0..20_000);
    writer.wait_progress(100);
    let (acked, router) = writer.finish();
    assert!(
        router.errors.is_empty() && router.outages == 0,
        "the writer saw errors other than redirections: {:?} ({} outages)",
        router.errors,
        router.outages
    );
    assert!(router.redirections > 0);
    verify_writer_keys(&nodes[2], acked);

    // kill -9 of master 2: its replica (the other kind) takes over.
    let v = view(&nodes[0]);
    let (m2, r2) = (
        2,
        (3..6)
            .find(|&i| v.master_of(&ids[i]) == ids[2])
            .expect("a replica"),
    );
    let slots2 = v.slots(&ids[m2]);
    let want = nodes[m2].cli(&["dbsize"]);
    assert!(poll_until(DEADLINE, || nodes[r2].cli(&["dbsize"]) == want));
    nodes[m2].kill9();
    let others: Vec<usize> = (0..6).filter(|&i| i != m2).collect();
    for &i in &others {
        wait_owner(&nodes[i], &ids[r2], &slots2);
    }
    for &i in &others {
        nodes[i].wait_state("ok", DEADLINE);
    }
    crate_verify(&mut crate_client(&nodes[r2]), "mx", 0..20_000);
    nodes[m2].restart();
    for n in &nodes {
        wait_replica_of(n, &ids[m2], &ids[r2]);
    }
    assert_check_clean(&nodes[m2]);
}

#[test]
fn mixed_ferrokv_masters_redis_replicas() {
    mixed_cluster(true);
}

#[test]
fn mixed_redis_masters_ferrokv_replicas() {
    mixed_cluster(false);
}

/// ferrokv nodes join a Redis 7.0.15 cluster with `--cluster add-node`:
/// one as a master that `rebalance` gives slots with keys, one as a
/// replica of a Redis master.
#[test]
fn ferrokv_joins_a_redis_cluster() {
    let masters: Vec<RealClusterNode> = (0..3).map(|_| redis("2000")).collect();
    let refs: Vec<&RealClusterNode> = masters.iter().collect();
    create(&refs, false);
    let mut c = crate_client(&masters[0]);
    crate_write(&mut c, "j", 0..20_000);

    let fk = ferrokv("2000");
    let (ok, out) = cluster_tool(&["add-node", &addr(&fk), &addr(&masters[0])], 60);
    assert!(
        ok && out.contains("[OK] New node added correctly."),
        "{out}"
    );
    let fk_id = myid(&fk);
    for n in masters.iter().chain([&fk]) {
        assert!(
            poll_until(DEADLINE, || view(n).flags(&fk_id).contains("master")
                && !view(n).flags(&fk_id).contains("handshake")),
            "{}",
            n.cli(&["cluster", "nodes"])
        );
    }
    fk.wait_state("ok", DEADLINE);
    assert_check_clean(&fk);
    let (ok, out) = cluster_tool(
        &[
            "rebalance",
            &addr(&masters[0]),
            "--cluster-use-empty-masters",
        ],
        240,
    );
    assert!(
        ok && out.contains(&format!("to {}", addr(&fk))),
        "rebalance failed:\n{out}"
    );
    // A quarter of the slots, and their keys, are on the new node.
    let mine = owned(&masters[1], &fk_id);
    assert!(mine.len() >= 4000, "{}", mine.len());
    let keys: usize = fk.cli(&["dbsize"]).trim().parse().unwrap_or(0);
    assert!(keys > 3000, "{keys}");
    for n in masters.iter().chain([&fk]) {
        let mut want = vec![false; SLOTS];
        for s in &mine {
            want[*s] = true;
        }
        wait_owner(n, &fk_id, &want);
    }
    crate_verify(&mut crate_client(&fk), "j", 0..20_000);

    // Another ferrokv node joins as a replica of a Redis master.
    let fr = ferrokv("2000");
    let master_id = myid(&masters[2]);
    let (ok, out) = cluster_tool(
        &[
            "add-node",
            &addr(&fr),
            &addr(&masters[0]),
            "--cluster-slave",
            "--cluster-master-id",
            &master_id,
        ],
        60,
    );
    assert!(
        ok && out.contains("[OK] New node added correctly."),
        "{out}"
    );
    let fr_id = myid(&fr);
    for n in masters.iter().chain([&fk, &fr]) {
        wait_replica_of(n, &fr_id, &master_id);
    }
    let want = masters[2].cli(&["dbsize"]);
    assert!(
        poll_until(DEADLINE, || fr.cli(&["dbsize"]) == want),
        "{} vs {want}:\n{}",
        fr.cli(&["dbsize"]),
        fr.log()
    );
    fr.wait_state("ok", DEADLINE);
    assert_check_clean(&fr);
    // Its keys are readable there with READONLY.
    let its = view(&fr).slots(&master_id);
    let k = (0..20_000)
        .map(|i| format!("j:{i}"))
        .find(|k| its[key_hash_slot(k.as_bytes()) as usize])
        .expect("a key of that master");
    let mut conn = redis::Client::open(format!("redis://127.0.0.1:{}/", fr.port))
        .and_then(|c| c.get_connection())
        .expect("connect to the replica");
    let _: () = redis::cmd("READONLY").query(&mut conn).expect("READONLY");
    let got: Option<String> = redis::cmd("GET").arg(&k).query(&mut conn).expect("GET");
    assert!(got.is_some_and(|v| v.starts_with('v')), "{k}");
}
