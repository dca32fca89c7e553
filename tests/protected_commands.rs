//! Differential: DEBUG and MODULE when `enable-debug-command` /
//! `enable-module-command` allow them ("yes", or "local" for our loopback
//! clients). ACLs then apply (NOPERM), MODULE LIST is empty and MODULE
//! LOAD of a file that cannot be loaded fails with Redis's reply. The
//! default ("no") is covered by tests/scripts/protected.txt.

use crate::common;

use common::{escape, RawConn, RealRedis, Server};

fn compare(ours: &mut RawConn, reference: &mut RawConn, cmds: &[&[&str]]) {
    let mut failures = Vec::new();
    for cmd in cmds {
        let ra = ours.cmd(cmd);
        let rb = reference.cmd(cmd);
        if ra != rb {
            failures.push(format!(
                "{:?}\n  ferrokv: \"{}\"\n  redis:   \"{}\"",
                cmd,
                escape(&ra),
                escape(&rb)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const CMDS: &[&[&str]] = &[
    &["MODULE", "LIST"],
    &["MODULE", "LOAD", "/nonexistent/ferrokv-test-module.so"],
    &[
        "MODULE",
        "LOAD",
        "/nonexistent/ferrokv-test-module.so",
        "a",
        "b",
    ],
    &[
        "MODULE",
        "LOADEX",
        "/nonexistent/ferrokv-test-module.so",
        "CONFIG",
        "n",
        "v",
        "ARGS",
        "x",
    ],
    &[
        "MODULE",
        "LOADEX",
        "/nonexistent/ferrokv-test-module.so",
        "BOGUS",
    ],
    &[
        "MODULE",
        "LOADEX",
        "/nonexistent/ferrokv-test-module.so",
        "CONFIG",
        "n",
    ],
    &["MODULE", "UNLOAD", "nosuch"],
    &["DEBUG", "SLEEP", "0"],
    &["DEBUG", "NOSUCH"],
    &["MULTI"],
    &["MODULE", "LOAD", "x"],
    &["DEBUG", "SLEEP", "0"],
    &["EXEC"],
    // Now ACLs decide.
    &[
        "ACL", "SETUSER", "nodebug", "on", "nopass", "+@all", "-debug", "-module",
    ],
    &["ACL", "SETUSER", "alladmin", "on", "nopass", "+@all"],
    &["AUTH", "nodebug", "x"],
    &["DEBUG", "SLEEP", "0"],
    &["MODULE", "LIST"],
    &["MODULE", "LOAD", "x"],
    &["AUTH", "alladmin", "x"],
    &["DEBUG", "SLEEP", "0"],
    &["MODULE", "LIST"],
    &["MODULE", "UNLOAD", "x"],
];

fn run(flag: &str) {
    let args = [
        "--enable-debug-command",
        flag,
        "--enable-module-command",
        flag,
    ];
    let ours = Server::start(&args);
    let reference = RealRedis::start_with(&args);
    let mut a = ours.conn();
    let mut b = reference.conn();
    compare(&mut a, &mut b, CMDS);
    // The reason is logged, as Redis's moduleLoad does.
    let log = ours.log();
    assert!(
        log.contains("Module /nonexistent/ferrokv-test-module.so failed to load: "),
        "{}",
        log
    );
    assert!(log.contains("Syntax Error from arguments to loadex around BOGUS."));
    assert!(log.contains("CONFIG specified without name value pair"));
    ours.assert_no_panic();
}

#[test]
fn debug_and_module_enabled() {
    run("yes");
}

#[test]
fn debug_and_module_enabled_for_local_clients() {
    run("local");
}

#[test]
fn module_load_of_a_file_without_execute_permission() {
    let args = ["--enable-module-command", "yes"];
    let ours = Server::start(&args);
    let reference = RealRedis::start_with(&args);
    let dir = common::temp_dir("module");
    let path = dir.join("notexec.so");
    std::fs::write(&path, b"not a shared object").expect("write module file");
    let p = path.to_string_lossy().into_owned();
    let mut a = ours.conn();
    let mut b = reference.conn();
    compare(
        &mut a,
        &mut b,
        &[&["MODULE", "LOAD", &p], &["MODULE", "LIST"]],
    );
    let want = format!(
        "Module {} failed to load: It does not have execute permissions.",
        p
    );
    assert!(ours.log().contains(&want), "{}", ours.log());
    let _ = std::fs::remove_dir_all(&dir);
}
