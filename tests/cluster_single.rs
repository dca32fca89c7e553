//! Cluster mode on one ferrokv node (no bus yet): startup and nodes.conf
//! (created, locked, saved, loaded again after a restart), a node serving
//! every slot used by `redis-cli -c` and the `redis` crate's cluster
//! client, and the CLUSTER subcommands and redirections (MOVED, ASK,
//! ASKING, TRYAGAIN, CROSSSLOT, CLUSTERDOWN, scripts, MULTI/EXEC,
//! sharded pub/sub) compared byte for byte with a real redis-server 7.0.15
//! given the same nodes.conf: myself with slots 0-8000 and a second master
//! (known only from nodes.conf) with 8001-16383.

use std::process::Command;
use std::time::Duration;

use crate::cluster_node::RealClusterNode;
use crate::common::{poll_until, RawConn};
use ferrokv::cluster::slot::key_hash_slot;

const OTHER: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn wait_ok(node: &RealClusterNode) {
    assert!(
        poll_until(Duration::from_secs(10), || node
            .cli(&["cluster", "info"])
            .contains("cluster_state:ok")),
        "cluster_state never ok:\n{}",
        node.log()
    );
}

/// A key of `slot` (by trying tags).
fn key_in_slot(slot: u16) -> String {
    (0..)
        .map(|i| format!("k{i}"))
        .find(|k| key_hash_slot(k.as_bytes()) == slot)
        .unwrap_or_default()
}

#[test]
fn single_node_serves_every_slot_and_keeps_nodes_conf() {
    let node = RealClusterNode::start_ferrokv(&[], |_, _| {});
    let myid = node.cli(&["cluster", "myid"]).trim().to_string();
    assert_eq!(myid.len(), 40);
    let line = format!("No cluster configuration found, I'm {myid}");
    assert!(
        poll_until(Duration::from_secs(10), || {
            let log = node.log();
            log.contains(&line) && log.contains("Running mode=cluster")
        }),
        "{}",
        node.log()
    );
    assert!(node.cli(&["info", "cluster"]).contains("cluster_enabled:1"));
    assert!(node.cli(&["info", "server"]).contains("redis_mode:cluster"));
    assert_eq!(
        node.cli(&["cluster", "addslotsrange", "0", "16383"]),
        "OK\n"
    );
    wait_ok(&node);

    // The redis crate's cluster client (CLUSTER SLOTS, then routing).
    let url = format!("redis://127.0.0.1:{}/", node.port);
    let client = redis::cluster::ClusterClient::new(vec![url]).expect("cluster client");
    let mut con = client.get_connection().expect("cluster connection");
    for i in 0..200 {
        let k = format!("key:{i}");
        let _: () = redis::cmd("SET").arg(&k).arg(i).query(&mut con).unwrap();
    }
    let _: () = redis::cmd("MSET")
        .arg("{t}a")
        .arg(1)
        .arg("{t}b")
        .arg(2)
        .query(&mut con)
        .unwrap();
    let v: Vec<i64> = redis::cmd("MGET")
        .arg("{t}a")
        .arg("{t}b")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, vec![1, 2]);
    let v: i64 = redis::cmd("GET").arg("key:77").query(&mut con).unwrap();
    assert_eq!(v, 77);

    // redis-cli -c.
    let out = Command::new("redis-cli")
        .args(["-c", "-p", &node.port.to_string(), "set", "foo", "bar"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n");

    // The per-slot index.
    let slot = key_hash_slot(b"{t}a").to_string();
    assert_eq!(node.cli(&["cluster", "countkeysinslot", &slot]), "2\n");
    let mut keys: Vec<String> = node
        .cli(&["cluster", "getkeysinslot", &slot, "10"])
        .lines()
        .map(str::to_string)
        .collect();
    keys.sort();
    assert_eq!(keys, ["{t}a", "{t}b"]);
    assert_eq!(node.cli(&["del", "{t}a"]), "1\n");
    assert_eq!(node.cli(&["cluster", "countkeysinslot", &slot]), "1\n");
    assert_eq!(
        node.cli(&["cluster", "getkeysinslot", &slot, "0"]),
        "\n",
        "an empty array"
    );

    // nodes.conf was saved; a restart on it is the same node.
    let conf = std::fs::read_to_string(node.dir.join("nodes.conf")).unwrap();
    assert!(
        conf.starts_with(&format!("{myid} "))
            && conf.contains("myself,master")
            && conf.contains(" 0-16383\n"),
        "{conf}"
    );
    assert!(
        conf.ends_with("vars currentEpoch 0 lastVoteEpoch 0\n"),
        "{conf}"
    );
    assert_eq!(node.cli(&["save"]), "OK\n");
    let rdb = std::fs::read(node.dir.join("dump.rdb")).unwrap();
    drop(node);
    // Restarted on its data with no slots (verifyClusterConfigWithData):
    // the slots holding keys are taken.
    let no_slots = conf.replace(" 0-16383\n", "\n");
    let node = RealClusterNode::start_ferrokv(&[], |dir, _| {
        std::fs::write(dir.join("nodes.conf"), &no_slots).unwrap();
        std::fs::write(dir.join("dump.rdb"), &rdb).unwrap();
    });
    let foo = key_hash_slot(b"foo");
    // The port opens before the data is loaded: wait for the log line.
    let line = format!("I have keys for unassigned slot {foo}. Taking responsibility for it.");
    assert!(
        poll_until(Duration::from_secs(10), || node.log().contains(&line)),
        "{}",
        node.log()
    );
    assert_eq!(
        node.cli(&["cluster", "countkeysinslot", &foo.to_string()]),
        "1\n"
    );
    assert!(std::fs::read_to_string(node.dir.join("nodes.conf"))
        .unwrap()
        .contains(&format!(" {foo}")));
    drop(node);
    let node = RealClusterNode::start_ferrokv(&[], |dir, _| {
        std::fs::write(dir.join("nodes.conf"), &conf).unwrap();
    });
    let line = format!("Node configuration loaded, I'm {myid}");
    assert!(poll_until(Duration::from_secs(10), || node
        .log()
        .contains(&line)));
    assert_eq!(node.cli(&["cluster", "myid"]).trim(), myid);
    let nodes = node.cli(&["cluster", "nodes"]);
    assert!(
        nodes.starts_with(&format!(
            "{myid} :{}@{} myself,master - 0 0 0 connected 0-16383",
            node.port,
            node.port as u32 + 10000
        )),
        "{nodes}"
    );
    wait_ok(&node);
    assert_eq!(node.cli(&["cluster", "reset", "hard"]), "OK\n");
    let newid = node.cli(&["cluster", "myid"]).trim().to_string();
    assert_ne!(newid, myid);
    let conf = std::fs::read_to_string(node.dir.join("nodes.conf")).unwrap();
    assert!(conf.starts_with(&format!("{newid} ")), "{conf}");
}

#[test]
fn nodes_conf_is_locked_and_cluster_commands_need_cluster_mode() {
    let node = RealClusterNode::start_ferrokv(&[], |_, _| {});
    let conf = node.dir.join("nodes.conf");
    let dir = crate::common::temp_dir("cluster-lock");
    let out = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args([
            "--port",
            &crate::cluster_node::free_port_in_range(0).to_string(),
        ])
        .args(["--cluster-enabled", "yes", "--cluster-config-file"])
        .arg(&conf)
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "Sorry, the cluster configuration file {} is already used by a different Redis Cluster node. Please make sure that different nodes use different cluster configuration files.",
            conf.display()
        )),
        "{text}"
    );
    // Outside cluster mode: Redis's refusal.
    let plain = crate::common::Server::start(&[]);
    let mut c = plain.conn();
    for cmd in [
        &["cluster", "info"][..],
        &["cluster", "myid"],
        &["asking"],
        &["readonly"],
    ] {
        assert_eq!(
            c.cmd(cmd),
            b"-ERR This instance has cluster support disabled\r\n"
        );
    }
    assert!(c
        .cmd_str(&["info", "cluster"])
        .contains("cluster_enabled:0"));
}

/// Both nodes' nodes.conf: myself 0-8000, OTHER 8001-16383.
fn two_node_conf(dir: &std::path::Path, port: u16) {
    let me = format!("{:a>40}", port);
    let text = format!(
        "{me} 127.0.0.1:{port}@{bus} myself,master - 0 0 1 connected 0-8000\n\
         {OTHER} 127.0.0.1:7777@17777 master - 0 0 2 connected 8001-16383\n\
         vars currentEpoch 2 lastVoteEpoch 0\n",
        bus = port as u32 + 10000
    );
    std::fs::write(dir.join("nodes.conf"), text).unwrap();
}

#[test]
fn redirections_match_real_redis() {
    let args = ["--cluster-node-timeout", "600000"];
    let real = RealClusterNode::start_with(&args, two_node_conf);
    let ours = RealClusterNode::start_ferrokv(&args, two_node_conf);
    wait_ok(&real);
    wait_ok(&ours);
    let ours_slot = key_hash_slot(b"bar"); // 5061, served by myself
    let other_slot = key_hash_slot(b"foo"); // 12182, served by OTHER
    assert!(ours_slot <= 8000 && other_slot > 8000);
    let k7000 = key_in_slot(7000);
    let k0 = key_in_slot(0);
    let s = |n: u16| n.to_string();
    let steps: Vec<Vec<String>> = [
        vec!["SET", "bar", "1"],
        vec!["GET", "foo"],
        vec!["MSET", "bar", "1", "foo", "2"],
        vec!["MGET", "bar", "{bar}x"],
        vec!["SET", "{bar}1", "v"],
        vec!["CLUSTER", "SETSLOT", &s(ours_slot), "MIGRATING", OTHER],
        vec!["GET", "{bar}1"],
        vec!["GET", "{bar}2"],
        vec!["MGET", "{bar}1", "{bar}2"],
        vec!["DEL", "{bar}2"],
        vec!["CLUSTER", "SETSLOT", &s(other_slot), "IMPORTING", OTHER],
        vec!["GET", "foo"],
        vec!["ASKING"],
        vec!["GET", "foo"],
        vec!["GET", "foo"],
        vec!["ASKING"],
        vec!["MGET", "{foo}1", "{foo}2"],
        vec!["ASKING"],
        vec!["SET", "foo", "1"],
        vec!["MULTI"],
        vec!["SET", "bar", "1"],
        vec!["GET", "foo"],
        vec!["EXEC"],
        vec!["MULTI"],
        vec!["SET", "{bar}1", "x"],
        vec!["GET", "hello"],
        vec!["EXEC"],
        vec!["MULTI"],
        vec!["SET", "{bar}1", "y"],
        vec!["EXEC"],
        vec!["EVAL", "return redis.call('get','foo')", "0"],
        vec!["EVAL", "return redis.call('get',KEYS[1])", "1", "foo"],
        vec!["EVAL", "return redis.call('get',KEYS[1])", "1", "{bar}1"],
        vec![
            "EVAL",
            "#!lua\nredis.call('get','{bar}1')\nreturn redis.call('get','hello')",
            "0",
        ],
        vec![
            "EVAL",
            "#!lua flags=allow-cross-slot-keys\nredis.call('get','{bar}1')\nreturn redis.call('get','hello')",
            "0",
        ],
        vec!["SELECT", "1"],
        vec!["SELECT", "0"],
        vec!["SWAPDB", "0", "1"],
        vec!["MOVE", "bar", "1"],
        vec!["COPY", "bar", "baz", "DB", "1"],
        vec!["SPUBLISH", "foo", "x"],
        vec!["SPUBLISH", "bar", "x"],
        vec!["CLUSTER", "COUNTKEYSINSLOT", &s(ours_slot)],
        vec!["CLUSTER", "GETKEYSINSLOT", &s(ours_slot), "1"],
        vec!["CLUSTER", "COUNTKEYSINSLOT", "16384"],
        vec!["CLUSTER", "GETKEYSINSLOT", "1", "-1"],
        vec!["CLUSTER", "SETSLOT", &s(ours_slot), "NODE", OTHER],
        vec!["CLUSTER", "SETSLOT", &s(ours_slot), "STABLE"],
        vec!["CLUSTER", "SETSLOT", "7000", "NODE", OTHER],
        vec!["GET", &k7000],
        vec!["CLUSTER", "SETSLOT", "100", "MIGRATING", "cccc"],
        vec!["CLUSTER", "SETSLOT", "9000", "MIGRATING", OTHER],
        vec!["CLUSTER", "SETSLOT", "100", "IMPORTING", OTHER],
        vec!["CLUSTER", "SETSLOT", "9000", "NODE", "cccc"],
        vec!["CLUSTER", "SETSLOT", "100", "BOGUS"],
        vec!["CLUSTER", "SETSLOT", "16384", "STABLE"],
        vec!["CLUSTER", "ADDSLOTS", "100"],
        vec!["CLUSTER", "ADDSLOTSRANGE", "7000", "7000"],
        vec!["CLUSTER", "ADDSLOTSRANGE", "9", "1"],
        vec!["CLUSTER", "ADDSLOTSRANGE", "1"],
        vec!["CLUSTER", "DELSLOTS", "7000"],
        vec!["CLUSTER", "DELSLOTS", "1", "1"],
        vec!["CLUSTER", "DELSLOTSRANGE", "7000", "7000"],
        vec!["CLUSTER", "FLUSHSLOTS"],
        vec!["CLUSTER", "SET-CONFIG-EPOCH", "5"],
        vec!["CLUSTER", "COUNT-FAILURE-REPORTS", OTHER],
        vec!["CLUSTER", "COUNT-FAILURE-REPORTS", "cccc"],
        vec!["CLUSTER", "REPLICAS", OTHER],
        vec!["CLUSTER", "LINKS"],
        vec!["CLUSTER", "KEYSLOT", "{user1000}.following"],
        vec!["CLUSTER", "BOGUS"],
        vec!["CLUSTER", "HELP"],
        vec!["CLUSTER", "RESET"],
        vec!["CLUSTER", "RESET", "BOGUS"],
        vec!["READONLY"],
        vec!["READWRITE"],
        vec!["REPLICAOF", "127.0.0.1", "1"],
        vec!["FAILOVER"],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(str::to_string).collect())
    .collect();
    let mut rc = RawConn::connect(real.port);
    let mut oc = RawConn::connect(ours.port);
    // CLUSTER SLOTS / SHARDS / myself's CLUSTER NODES line, own port and
    // bus port (and myself's id) masked.
    for sub in ["SLOTS", "SHARDS", "NODES"] {
        let masked = |node: &RealClusterNode, c: &mut RawConn| {
            let out = String::from_utf8_lossy(&c.cmd(&["CLUSTER", sub])).into_owned();
            let me = format!("{:a>40}", node.port);
            let out = out
                .replace(&(node.port as u32 + 10000).to_string(), "BUS")
                .replace(&node.port.to_string(), "PORT")
                .replace(&me, "MYSELF");
            if sub == "NODES" {
                // The other node's line has live ping times on the real one.
                out.lines()
                    .filter(|l| l.contains("myself"))
                    .map(|l| l.split(' ').skip(2).collect::<Vec<_>>().join(" "))
                    .collect::<Vec<_>>()
                    .join("\n")
            } else if sub == "SHARDS" {
                // Redis lists shards in its node dict's order, seeded at
                // random per process: compare them as a set.
                let mut shards: Vec<String> = out
                    .split("*4\r\n$5\r\nslots\r\n")
                    .map(str::to_string)
                    .collect();
                let head = shards.remove(0);
                shards.sort();
                head + &shards.join("|")
            } else {
                out
            }
        };
        assert_eq!(
            masked(&ours, &mut oc),
            masked(&real, &mut rc),
            "CLUSTER {sub}"
        );
    }
    let run = |c: &mut RawConn, v: &[String]| {
        let a: Vec<&[u8]> = v.iter().map(|s| s.as_bytes()).collect();
        c.cmd_bytes(&a)
    };
    for v in &steps {
        let want = run(&mut rc, v);
        let got = run(&mut oc, v);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{v:?}"
        );
    }
    // The cluster goes down with a slot unassigned (full coverage).
    for c in [&mut rc, &mut oc] {
        assert_eq!(
            run(c, &["CLUSTER".into(), "DELSLOTS".into(), "0".into()]),
            b"+OK\r\n"
        );
    }
    let down = b"-CLUSTERDOWN The cluster is down\r\n";
    for c in [&mut rc, &mut oc] {
        assert!(poll_until(Duration::from_secs(5), || run(
            c,
            &["GET".into(), "bar".into()]
        ) == down));
    }
    let steps2: Vec<Vec<&str>> = vec![
        vec!["CONFIG", "SET", "cluster-allow-reads-when-down", "yes"],
        vec!["GET", "bar"],
        vec!["SET", "bar", "2"],
        vec!["GET", "foo"],
        vec!["CONFIG", "SET", "cluster-allow-reads-when-down", "no"],
        vec!["SPUBLISH", "bar", "x"],
        vec!["CONFIG", "SET", "cluster-allow-pubsubshard-when-down", "no"],
        vec!["SPUBLISH", "bar", "x"],
        vec!["CONFIG", "SET", "cluster-require-full-coverage", "no"],
    ];
    for v in &steps2 {
        let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        let want = run(&mut rc, &v);
        let got = run(&mut oc, &v);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{v:?}"
        );
    }
    wait_ok(&real);
    wait_ok(&ours);
    for v in [
        vec!["GET", k0.as_str()],
        vec!["GET", "bar"],
        vec!["CLUSTER", "INFO"],
    ] {
        let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        let want = String::from_utf8_lossy(&run(&mut rc, &v)).into_owned();
        let got = String::from_utf8_lossy(&run(&mut oc, &v)).into_owned();
        if v[0] == "CLUSTER" {
            // The real node counts its pings to the unreachable node.
            let strip = |s: &str| {
                s.lines()
                    .filter(|l| {
                        !l.starts_with("cluster_stats_messages")
                            && !l.starts_with('$')
                            && !l.starts_with('=')
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(strip(&got), strip(&want));
        } else {
            assert_eq!(got, want, "{v:?}");
        }
    }

    // A client blocked on a key whose slot moves away gets -MOVED
    // (clusterRedirectBlockedClientIfNeeded).
    let k = key_in_slot(6000);
    let mut replies = Vec::new();
    for node in [&real, &ours] {
        let mut b = RawConn::connect(node.port);
        b.send(&[b"BLPOP", k.as_bytes(), b"0"]);
        let mut c = RawConn::connect(node.port);
        assert!(poll_until(Duration::from_secs(5), || c
            .cmd_str(&["INFO", "clients"])
            .contains("blocked_clients:1")));
        assert_eq!(
            c.cmd(&["CLUSTER", "SETSLOT", "6000", "NODE", OTHER]),
            b"+OK\r\n"
        );
        b.set_read_timeout(Duration::from_secs(10));
        replies.push(String::from_utf8_lossy(&b.read_reply()).into_owned());
    }
    assert_eq!(replies[1], replies[0]);
    assert_eq!(replies[0], "-MOVED 6000 127.0.0.1:7777\r\n");

    // Deleting a slot unsubscribes its shard channels (removeChannelsInSlot).
    let ch = key_in_slot(3000);
    let mut replies = Vec::new();
    for node in [&real, &ours] {
        let mut sub = RawConn::connect(node.port);
        let first = sub.cmd(&["SSUBSCRIBE", &ch]);
        let mut c = RawConn::connect(node.port);
        assert_eq!(c.cmd(&["CLUSTER", "DELSLOTS", "3000"]), b"+OK\r\n");
        sub.set_read_timeout(Duration::from_secs(10));
        let pushed = sub.read_reply();
        replies.push((
            String::from_utf8_lossy(&first).into_owned(),
            String::from_utf8_lossy(&pushed).into_owned(),
            String::from_utf8_lossy(&sub.cmd(&["PING"])).into_owned(),
        ));
    }
    assert_eq!(replies[1], replies[0]);
    assert!(replies[0].1.contains("sunsubscribe"), "{:?}", replies[0]);
}

/// What a MONITOR on a plain redis-server sees while `node` MIGRATEs one
/// key to it (the verb, key and REPLACE of the restore command).
fn migrate_seen_by_target(node: &RealClusterNode) -> Vec<String> {
    let target = crate::common::RealRedis::start_with(&[]);
    let mut m = RawConn::connect(target.port());
    assert_eq!(m.cmd(&["MONITOR"]), b"+OK\r\n");
    assert_eq!(node.cli(&["set", "mk", "v"]), "OK\n");
    let port = target.port().to_string();
    let r = node.cli(&["migrate", "127.0.0.1", &port, "mk", "0", "5000", "replace"]);
    assert_eq!(r, "OK\n", "{}", node.log());
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let line = String::from_utf8_lossy(&m.read_reply()).to_string();
        // +<time> [0 <addr>] "VERB" "key" ... : keep the quoted words but
        // the payload (binary) and the TTL.
        let words: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        if let Some(verb) = words.first() {
            seen.push(verb.to_string());
            if words.len() > 1 && verb.starts_with("RESTORE") {
                seen.push(words[1].to_string());
                seen.push(words.last().unwrap_or(&"").to_string());
            }
        }
    }
    let mut t = target.conn();
    assert_eq!(t.cmd(&["GET", "mk"]), b"$1\r\nv\r\n");
    seen
}

/// MIGRATE from a cluster node sends RESTORE-ASKING (the target may be
/// importing the slot), as a real cluster node does.
#[test]
fn migrate_from_a_cluster_node_sends_restore_asking() {
    let ours = RealClusterNode::start_ferrokv(&[], |_, _| {});
    let theirs = RealClusterNode::start(&[]);
    for n in [&ours, &theirs] {
        assert_eq!(n.cli(&["cluster", "addslotsrange", "0", "16383"]), "OK\n");
        wait_ok(n);
    }
    let a = migrate_seen_by_target(&ours);
    let b = migrate_seen_by_target(&theirs);
    assert_eq!(a, b);
    assert!(a.contains(&"RESTORE-ASKING".to_string()), "{a:?}");
}

/// A snapshot child does not keep nodes.conf's lock descriptor (Redis's
/// closeChildUnusedResourceAfterFork): only the server itself holds it.
#[test]
fn snapshot_child_does_not_hold_the_nodes_conf_lock() {
    // 200 keys at 50 ms each: the child saves for 10 s.
    let node = RealClusterNode::start_ferrokv(
        &[
            "--rdb-key-save-delay",
            "50000",
            "--enable-debug-command",
            "yes",
        ],
        |_, _| {},
    );
    assert_eq!(
        node.cli(&["cluster", "addslotsrange", "0", "16383"]),
        "OK\n"
    );
    node.cli(&["debug", "populate", "200"]);
    let pid: i32 = node
        .cli(&["info", "server"])
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|p| p.trim().parse().ok())
        .expect("process_id");
    assert!(node.cli(&["bgsave"]).contains("Background saving started"));
    let children = format!("/proc/{pid}/task/{pid}/children");
    let child: i32 = std::fs::read_to_string(&children)
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the snapshot child");
    // Every descriptor of `p` that names a file, by path.
    let files = |p: i32| -> Vec<String> {
        std::fs::read_dir(format!("/proc/{p}/fd"))
            .expect("fd list")
            .flatten()
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .map(|t| t.to_string_lossy().to_string())
            .collect()
    };
    // The child is saving (its temp file is open); nodes.conf is not open
    // in it; the server keeps its own lock descriptor.
    let ok = poll_until(Duration::from_secs(5), || {
        let f = files(child);
        f.iter().any(|p| p.contains("temp-")) && !f.iter().any(|p| p.ends_with("nodes.conf"))
    });
    assert!(ok, "child descriptors: {:?}", files(child));
    assert!(node
        .cli(&["info", "persistence"])
        .contains("rdb_bgsave_in_progress:1"));
    assert!(files(pid).iter().any(|p| p.ends_with("nodes.conf")));
}

/// Scripts and functions flagged `no-cluster` do not run on a cluster
/// node (scriptPrepareForRun), with Redis's error; unflagged ones do.
#[test]
fn no_cluster_scripts_are_refused_like_redis() {
    let run = |n: &RealClusterNode| -> Vec<String> {
        assert_eq!(n.cli(&["cluster", "addslotsrange", "0", "16383"]), "OK\n");
        wait_ok(n);
        let lib = "#!lua name=t\nredis.register_function{function_name='f', callback=function() return 'hello' end, flags={'no-cluster'}}\nredis.register_function('g', function() return 'hi' end)";
        vec![
            n.cli(&["function", "load", lib]),
            n.cli(&["fcall", "f", "0"]),
            n.cli(&["fcall_ro", "f", "0"]),
            n.cli(&["fcall", "g", "0"]),
            n.cli(&["eval", "#!lua flags=no-cluster\nreturn 1", "0"]),
            n.cli(&["eval_ro", "#!lua flags=no-cluster\nreturn 1", "0"]),
            n.cli(&["eval", "#!lua\nreturn 1", "0"]),
            n.cli(&["eval", "return 1", "0"]),
        ]
    };
    let ours = run(&RealClusterNode::start_ferrokv(&[], |_, _| {}));
    let theirs = run(&RealClusterNode::start(&[]));
    assert_eq!(ours, theirs);
    assert!(ours[1].contains("'no-cluster' flag is set"), "{ours:?}");
}

/// The AOF replay is not redirected (mustObeyClient): a restarted node
/// loads every key of its AOF although its cluster is not up yet while it
/// loads (Redis's tests/cluster 04-resharding restarts every node), as a
/// real node does.
#[test]
fn aof_replay_ignores_the_cluster_state() {
    let run = |n: &mut RealClusterNode| -> String {
        assert_eq!(n.cli(&["cluster", "addslotsrange", "0", "16383"]), "OK\n");
        wait_ok(n);
        for i in 0..50 {
            assert_eq!(n.cli(&["rpush", &format!("{{bar}}{i}"), "x"]), "1\n");
        }
        n.kill9();
        n.restart();
        let mut size = String::new();
        poll_until(Duration::from_secs(10), || {
            size = n.cli(&["dbsize"]);
            size == "50\n"
        });
        size
    };
    let args = ["--appendonly", "yes"];
    let ours = run(&mut RealClusterNode::start_ferrokv(&args, |_, _| {}));
    let theirs = run(&mut RealClusterNode::start(&args));
    assert_eq!(theirs, "50\n");
    assert_eq!(ours, "50\n");
}
