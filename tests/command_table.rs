//! The command table as clients see it, against Debian's redis-server
//! 7.0.15: COMMAND INFO (arity, flags, key positions, ACL categories,
//! tips, key specs, subcommands) and COMMAND DOCS (summary, since, group,
//! complexity, doc flags, history, arguments) of every command must be the
//! same, in RESP3, up to the order of set members and of subcommands
//! (Redis lists those in its dict's order). Plus COMMAND GETKEYS /
//! GETKEYSANDFLAGS, which follow the key specs, byte for byte. And the
//! generated half of the command table (src/cmdtable/meta/data*.rs) is
//! what tests/support/command_table_gen.rs renders from a live Redis.

use crate::command_table_gen;
use crate::common;

use common::{assert_reply, RawConn, RealRedis, Server};
use std::collections::BTreeMap;

/// Commands ferrokv does not have yet.
const NOT_IMPLEMENTED: &[&str] = &["lolwut"];

/// A parsed RESP3 reply.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum V {
    Atom(String),
    Array(Vec<V>),
    Set(Vec<V>),
    Map(Vec<(V, V)>),
}

fn parse(buf: &[u8], pos: &mut usize) -> V {
    let t = buf[*pos];
    let eol = pos_of_crlf(buf, *pos);
    let line = &buf[*pos + 1..eol];
    *pos = eol + 2;
    let n = || -> i64 { std::str::from_utf8(line).unwrap().parse().unwrap() };
    match t {
        b'$' | b'=' | b'!' => {
            let len = n() as usize;
            let v = String::from_utf8_lossy(&buf[*pos..*pos + len]).into_owned();
            *pos += len + 2;
            V::Atom(v)
        }
        b'*' | b'~' => {
            let items = (0..n()).map(|_| parse(buf, pos)).collect();
            if t == b'*' {
                V::Array(items)
            } else {
                V::Set(items)
            }
        }
        b'%' => V::Map(
            (0..n())
                .map(|_| {
                    let k = parse(buf, pos);
                    (k, parse(buf, pos))
                })
                .collect(),
        ),
        _ => V::Atom(String::from_utf8_lossy(&[&[t], line].concat()).into_owned()),
    }
}

fn pos_of_crlf(buf: &[u8], from: usize) -> usize {
    from + buf[from..].windows(2).position(|w| w == b"\r\n").unwrap()
}

/// Sorts what Redis emits in no particular order: set members, map
/// entries, and (COMMAND INFO's last field) the subcommand arrays.
fn normalize(v: V) -> V {
    match v {
        V::Atom(a) => V::Atom(a),
        V::Array(items) => {
            let mut items: Vec<V> = items.into_iter().map(normalize).collect();
            if items.len() == 10 {
                if let V::Array(subs) = &mut items[9] {
                    subs.sort();
                }
            }
            V::Array(items)
        }
        V::Set(items) => {
            let mut items: Vec<V> = items.into_iter().map(normalize).collect();
            items.sort();
            V::Set(items)
        }
        V::Map(entries) => {
            let mut e: Vec<(V, V)> = entries
                .into_iter()
                .map(|(k, v)| (normalize(k), normalize(v)))
                .collect();
            e.sort();
            V::Map(e)
        }
    }
}

fn name(v: &V) -> String {
    match v {
        V::Atom(a) => a.clone(),
        _ => panic!("not a name: {:?}", v),
    }
}

/// Drops the subcommands ferrokv does not have from Redis's entry.
fn without_missing(v: V) -> V {
    let missing = |n: &V| NOT_IMPLEMENTED.contains(&name(n).as_str());
    match v {
        V::Array(mut f) if f.len() == 10 => {
            if let V::Array(subs) = &mut f[9] {
                subs.retain(|s| !matches!(s, V::Array(e) if missing(&e[0])));
            }
            V::Array(f)
        }
        V::Map(mut e) => {
            for (k, v) in e.iter_mut() {
                if *k == V::Atom("subcommands".into()) {
                    if let V::Map(subs) = v {
                        subs.retain(|(n, _)| !missing(n));
                    }
                }
            }
            V::Map(e)
        }
        other => other,
    }
}

fn resp3(srv: &Server) -> RawConn {
    let mut c = srv.conn();
    c.cmd(&["HELLO", "3"]);
    c
}

/// COMMAND INFO of everything, by name.
fn info(c: &mut RawConn) -> BTreeMap<String, V> {
    let reply = c.cmd(&["COMMAND", "INFO"]);
    let V::Array(all) = parse(&reply, &mut 0) else {
        panic!("COMMAND INFO: not an array")
    };
    all.into_iter()
        .map(|e| match normalize(e) {
            V::Array(f) => (name(&f[0]), V::Array(f)),
            other => panic!("entry {:?}", other),
        })
        .collect()
}

/// COMMAND DOCS of everything, by name.
fn docs(c: &mut RawConn) -> BTreeMap<String, V> {
    let reply = c.cmd(&["COMMAND", "DOCS"]);
    let V::Map(all) = parse(&reply, &mut 0) else {
        panic!("COMMAND DOCS: not a map")
    };
    all.into_iter()
        .map(|(k, v)| (name(&k), normalize(v)))
        .collect()
}

fn compare(what: &str, ours: BTreeMap<String, V>, theirs: BTreeMap<String, V>) {
    let extra: Vec<&String> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "{}: commands Redis does not have: {:?}",
        what,
        extra
    );
    let mut diffs = Vec::new();
    for (k, want) in &theirs {
        match ours.get(k) {
            None if NOT_IMPLEMENTED.contains(&k.as_str()) => {}
            None => diffs.push(format!("{} missing", k)),
            Some(got) if *got != without_missing(want.clone()) => {
                diffs.push(format!("{}\n  ours:   {:?}\n  redis:  {:?}", k, got, want))
            }
            Some(_) => {}
        }
    }
    assert!(diffs.is_empty(), "{} differs:\n{}", what, diffs.join("\n"));
}

#[test]
fn command_info_and_docs_match_redis() {
    let ours = Server::start(&[]);
    let theirs = RealRedis::start();
    let (mut f, mut r) = (resp3(&ours), resp3(&theirs));
    compare("COMMAND INFO", info(&mut f), info(&mut r));
    compare("COMMAND DOCS", docs(&mut f), docs(&mut r));
}

#[test]
fn getkeys_match_redis() {
    let ours = Server::start(&[]);
    let theirs = RealRedis::start();
    let (mut f, mut r) = (ours.conn(), theirs.conn());
    let cases: &[&str] = &[
        "GET k",
        "SET k1 v1",
        "SET k1 v1 GET",
        "MSET k1 v1 k2 v2",
        "LMOVE k1 k2 left right",
        "SORT k1 STORE k2",
        "SORT k1 LIMIT 0 1 STORE k2 GET x BY y",
        "SORT_RO k1 BY x",
        "ZUNIONSTORE d 2 a b WEIGHTS 1 2",
        "ZUNION 2 a b",
        "EVAL s 2 a b c",
        "EVAL s 5 a",
        "EVAL s 0",
        "FCALL f 1 a",
        "LMPOP 2 a b LEFT",
        "BZMPOP 0 2 a b MIN",
        "XREAD COUNT 2 STREAMS s1 s2 0 0",
        "XREADGROUP GROUP g c STREAMS s1 >",
        "GEORADIUS k 0 0 1 km STORE d",
        "BITFIELD k GET u8 0",
        "BITFIELD k SET u8 0 1",
        "MIGRATE h 1 k 0 0",
        "MIGRATE h 1 k 0 0 KEYS a",
        "MEMORY USAGE k",
        "XGROUP CREATE k g $",
        "OBJECT ENCODING k",
        "PING",
        "SSUBSCRIBE ch",
        "SPUBLISH ch m",
        "EXISTS a b",
        "RENAME a b",
        "SMOVE a b m",
        "PFCOUNT a b",
        "PFMERGE d a b",
        "CONFIG GET x",
        "CLUSTER INFO",
        "RESTORE-ASKING k 0 x",
    ];
    for case in cases {
        let words: Vec<&str> = case.split(' ').collect();
        for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
            let mut cmd = vec!["COMMAND", sub];
            cmd.extend_from_slice(&words);
            let want = r.cmd(&cmd);
            let got = f.cmd(&cmd);
            assert_reply(&got, &want);
        }
    }
}

/// Cluster commands exist without cluster mode and say so.
#[test]
fn cluster_commands_match_redis() {
    let ours = Server::start(&[]);
    let theirs = RealRedis::start();
    let (mut f, mut r) = (ours.conn(), theirs.conn());
    for case in [
        "CLUSTER HELP",
        "CLUSTER INFO",
        "CLUSTER",
        "CLUSTER NOSUCH",
        "ASKING",
        "READONLY",
        "READWRITE",
    ] {
        let words: Vec<&str> = case.split(' ').collect();
        let want = r.cmd(&words);
        let got = f.cmd(&words);
        assert_reply(&got, &want);
    }
    let list =
        String::from_utf8_lossy(&f.cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "cl*help"]))
            .into_owned();
    assert!(
        list.contains("client|help") && list.contains("cluster|help"),
        "{}",
        list
    );
}

/// The checked-in command data is what the generator renders from a live
/// redis-server 7.0.15; FERROKV_REGEN_COMMAND_TABLE=1 rewrites it instead.
#[test]
fn generated_command_table_is_redis() {
    if !common::have_real_redis("the generated command table (src/cmdtable/meta/data*.rs)") {
        return;
    }
    let theirs = RealRedis::start();
    let mut r = resp3(&theirs);
    let files =
        command_table_gen::render(&r.cmd(&["COMMAND", "INFO"]), &r.cmd(&["COMMAND", "DOCS"]));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(command_table_gen::DIR);
    let parts_dir = dir.join("data");
    let mut on_disk: Vec<String> = std::fs::read_dir(&parts_dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| format!("data/{}", e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    on_disk.push("data.rs".into());
    on_disk.sort();
    let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    if std::env::var_os("FERROKV_REGEN_COMMAND_TABLE").is_some_and(|v| v == "1") {
        for stale in on_disk.iter().filter(|n| !names.contains(n)) {
            let _ = std::fs::remove_file(dir.join(stale));
        }
        std::fs::create_dir_all(&parts_dir).expect("create data/");
        for (name, text) in &files {
            std::fs::write(dir.join(name), text).expect("write generated file");
        }
        eprintln!("rewrote {} files under {}", files.len(), dir.display());
        return;
    }
    assert_eq!(
        on_disk, names,
        "generated files differ: run with FERROKV_REGEN_COMMAND_TABLE=1"
    );
    for (name, text) in &files {
        let have = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            have == *text,
            "{}/{} is not what redis-server 7.0.15 reports: run this test with FERROKV_REGEN_COMMAND_TABLE=1",
            command_table_gen::DIR,
            name
        );
    }
}
