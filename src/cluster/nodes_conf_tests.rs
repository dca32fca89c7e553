//! nodes.conf tests against files a real redis-server 7.0.15 wrote
//! (tests/support/cluster/nodes-*.conf, captured from a 3-master,
//! 3-replica cluster made with `redis-cli --cluster create`, with slots 5
//! and 100 migrating from the first master to the second).

use super::*;

const CONF_33001: &[u8] = include_bytes!("../../tests/support/cluster/nodes-33001.conf");
const CONF_33002: &[u8] = include_bytes!("../../tests/support/cluster/nodes-33002.conf");
const CONF_FRESH: &[u8] = include_bytes!("../../tests/support/cluster/nodes-fresh.conf");
const NOW: i64 = 1_700_000_000_000;

fn id(s: &str) -> NodeId {
    NodeId::parse(s.as_bytes()).unwrap()
}

/// The lines with ping-sent / pong-recv reduced to zero / non-zero and the
/// link state dropped (loading resets the times to the load time and
/// starts without links), sorted (Redis lists nodes in hash order).
fn normalized(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .map(|l| {
            let mut f: Vec<String> = l.split(' ').map(str::to_string).collect();
            if f[0] != "vars" {
                for i in [4, 5] {
                    if f[i] != "0" {
                        f[i] = "T".into();
                    }
                }
                f.remove(7);
            }
            f.join(" ")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn loads_a_real_master_file() {
    let l = parse(CONF_33001, NOW).unwrap();
    assert!(l.warnings.is_empty());
    let st = &l.state;
    assert_eq!(st.len(), 6);
    let me = st.myself_node();
    assert_eq!(me.name, id("9087a3db5510457a43be71532f486c938cbbc4bb"));
    assert!(me.is_myself() && me.is_master());
    assert_eq!(
        (me.ip.as_str(), me.port, me.cport),
        ("127.0.0.1", 33001, 43001)
    );
    assert_eq!(me.numslots, 5461);
    assert_eq!(me.config_epoch, 1);
    assert_eq!(st.current_epoch, 6);
    assert_eq!(st.last_vote_epoch, 0);
    let two = st
        .lookup(&id("716584544922bc633aa290473996208280c80bcd"))
        .unwrap();
    assert_eq!(st.node(two).hostname, "host-two");
    assert_eq!(st.migrating_slots_to[5], Some(two));
    assert_eq!(st.migrating_slots_to[100], Some(two));
    assert_eq!(st.importing_slots_from.iter().flatten().count(), 0);
    assert_eq!(st.slot_owner(5461), Some(two));
    assert_eq!(st.slot_owner(5460), Some(st.myself));
    // A replica: its master linked both ways, its epoch taken as 0 (it
    // shows its master's).
    let r = st
        .lookup(&id("2d773d32c6308940f84a322647c8d4f84a7270bf"))
        .unwrap();
    assert_eq!(st.node(r).replica_of, Some(st.myself));
    assert_eq!(st.node(st.myself).replicas, vec![r]);
    assert_eq!(st.node(r).config_epoch, 0);
    assert_eq!(st.effective_epoch(r), 1);
    // Non-zero times become the load time.
    assert_eq!(st.node(r).ping_sent, 0);
    assert_eq!(st.node(r).pong_received, NOW);
}

#[test]
fn round_trips_real_files() {
    for conf in [CONF_33001, CONF_33002, CONF_FRESH] {
        let l = parse(conf, NOW).unwrap();
        let out = render(&l.state);
        let text = String::from_utf8_lossy(conf);
        assert_eq!(normalized(&out), normalized(&text), "{text}");
        // And what we write loads back to the same text.
        let again = parse(out.as_bytes(), NOW).unwrap();
        assert_eq!(render(&again.state), out);
    }
}

#[test]
fn importing_and_fresh_files() {
    let st = parse(CONF_33002, NOW).unwrap().state;
    let one = st
        .lookup(&id("9087a3db5510457a43be71532f486c938cbbc4bb"))
        .unwrap();
    assert_eq!(st.importing_slots_from[100], Some(one));
    assert!(render(&st).contains(
        "myself,master - 0 T 2 connected 5461-10922 [100-<-9087a3db5510457a43be71532f486c938cbbc4bb]\n"
            .replace(" T ", &format!(" {NOW} "))
            .as_str()
    ));
    // A node that has not learnt its address yet writes ":0@0".
    let st = parse(CONF_FRESH, NOW).unwrap().state;
    let me = st.myself_node();
    assert_eq!((me.ip.as_str(), me.port, me.cport), ("", 0, 0));
    assert_eq!(
        render(&st),
        "97af87a3f961ff2f5a96b079cfe02ecd46539db0 :0@0 myself,master - 0 0 0 connected\n\
         vars currentEpoch 0 lastVoteEpoch 0\n"
    );
}

#[test]
fn older_and_unusual_forms() {
    let me = "a".repeat(40);
    let other = "b".repeat(40);
    // No @cport (before 4.0): port + 10000. noflags, fail (fail time set),
    // a replica whose master comes later, single slots and blank lines.
    let text = format!(
        "{me} 10.0.0.1:7000 myself,master - 0 0 3 connected 1 3-4\n\n\
         {} 10.0.0.2:7001@17001 slave,fail {other} 1 1 9 disconnected\n\
         {other} 10.0.0.3:7002@17002 noflags - 0 0 5 disconnected\n\
         VARS currentEpoch 2 lastVoteEpoch 1 extra 5\n",
        "c".repeat(40)
    );
    let l = parse(text.as_bytes(), NOW).unwrap();
    assert_eq!(
        l.warnings,
        vec!["Skipping unknown cluster config variable 'extra'".to_string()]
    );
    let st = l.state;
    let m = st.myself_node();
    assert_eq!(m.cport, 17000);
    assert_eq!(m.slots.ranges(), vec![(1, 1), (3, 4)]);
    let c = st.lookup(&id(&"c".repeat(40))).unwrap();
    assert_eq!(st.node(c).fail_time, NOW);
    assert_eq!(st.node(c).config_epoch, 0);
    let b = st.lookup(&id(&other)).unwrap();
    // Having a replica makes it a replica-migration target (not shown).
    assert_eq!(st.node(b).flags, NodeFlags::MIGRATE_TO);
    assert_eq!(st.node(b).replicas, vec![c]);
    // currentEpoch is raised to the greatest config epoch.
    assert_eq!(st.current_epoch, 5);
    assert_eq!(st.last_vote_epoch, 1);
    assert!(render(&st).contains(&format!(
        "{} 10.0.0.3:7002@17002 noflags - 0 0 5 disconnected\n",
        other
    )));
}

#[test]
fn refusals() {
    let me = "a".repeat(40);
    let ok = format!("{me} 1.2.3.4:1@2 myself,master - 0 0 0 connected");
    assert!(parse(ok.as_bytes(), NOW).is_ok());
    for (bad, why) in [
        (
            format!("{me} 1.2.3.4:1@2 myself,master - 0 0 0"),
            "fewer than 8 fields",
        ),
        (
            format!(
                "{} 1.2.3.4:1@2 myself,master - 0 0 0 connected",
                "A".repeat(40)
            ),
            "invalid node id",
        ),
        (
            format!("{me} 1.2.3.4 myself,master - 0 0 0 connected"),
            "address without a port",
        ),
        (
            format!("{me} 1.2.3.4:1@2 myself,boss - 0 0 0 connected"),
            "unknown flag",
        ),
        (
            format!("{me} 1.2.3.4:1@2 myself,master xyz 0 0 0 connected"),
            "invalid master id",
        ),
        (
            format!("{me} 1.2.3.4:1@2 myself,master - 0 0 0 connected 16384"),
            "slot out of range",
        ),
        (
            format!("{me} 1.2.3.4:1@2 myself,master - 0 0 0 connected 5-16384"),
            "slot out of range",
        ),
        (
            format!("{me} 1.2.3.4:1@2 myself,master - 0 0 0 connected [16384->-{me}]"),
            "slot out of range",
        ),
        (
            format!("{me} 1.2.3.4:1@2 myself,master - 0 0 0 connected [5]"),
            "open slot without '-'",
        ),
        (
            format!("{me} 1.2.3.4:1@2 myself,master - 0 0 0 connected [5->-{me}"),
            "open slot without ']'",
        ),
        (
            format!("{me} 1.2.3.4:1@2 myself,master - 0 0 0 connected [5->-xyz]"),
            "invalid node id",
        ),
        (
            format!("{me} 1.2.3.4:70000@2 myself,master - 0 0 0 connected"),
            "port out of range",
        ),
        (format!("{ok}\nvars currentEpoch"), "odd vars line"),
        (format!("{ok}\n{}", ok.replace('a', "b")), "a second myself"),
        (format!("{ok}\n\"unbalanced"), "unbalanced quotes"),
        (ok.replace("myself,", ""), "no myself node"),
    ] {
        let e = parse(bad.as_bytes(), NOW).unwrap_err();
        assert_eq!(e.reason, why, "{bad}");
    }
}

#[test]
fn save_replaces_atomically() {
    let dir = std::env::temp_dir().join(format!("ferrokv-nodesconf-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("nodes.conf");
    fs::write(
        &path,
        "old content that is longer than the new one\n".repeat(10),
    )
    .unwrap();
    save(&path, b"new\n", true).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new\n");
    save(&path, b"newer\n", false).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"newer\n");
    let left: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("nodes.conf")]);
    // A directory that does not exist: an error, nothing written.
    assert!(save(&dir.join("missing/nodes.conf"), b"x", true).is_err());
    fs::remove_dir_all(&dir).unwrap();
}
