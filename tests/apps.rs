//! Real applications and client libraries run unchanged against ferrokv:
//! each scenario is a Python script in tests/apps/. `.ci/run` installs the
//! libraries (redis-py, Django, Celery, RQ, in a venv named by
//! FERROKV_TEST_PYTHON); with CI set, a library that cannot be imported
//! fails the test. Elsewhere such a scenario prints a notice and is skipped.
//! See docs/APPS.md for the full matrix, including the Node.js clients
//! checked by hand.

use crate::common;

use common::Server;
use std::path::PathBuf;
use std::process::Command;

fn python() -> String {
    std::env::var("FERROKV_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn importable(modules: &str) -> bool {
    Command::new(python())
        .args(["-c", &format!("import {modules}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs tests/apps/<script> against a fresh server if `modules` import.
fn run_app(script: &str, modules: &str) {
    if !importable(modules) {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
            panic!(
                "{} cannot import {modules}, so {script} cannot run its real check \
                 (CI is set: install them as .ci/run does)",
                python()
            );
        }
        eprintln!(
            "NOTICE: {} cannot import {modules}; SKIPPING {script}",
            python()
        );
        return;
    }
    let srv = Server::start(&[]);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/apps")
        .join(script);
    let out = Command::new(python())
        .arg(&path)
        .arg(srv.port().to_string())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{script} failed:\nstdout: {}\nstderr: {}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        srv.log()
    );
    srv.assert_no_panic();
}

#[test]
fn redis_py_lock_pipelines_scan_pubsub() {
    run_app("redis_py_app.py", "redis");
}

#[test]
fn redis_py_streams_as_rq_uses_them() {
    run_app("redis_py_streams.py", "redis");
}

#[test]
fn django_redis_cache() {
    run_app("django_cache.py", "redis, django");
}

#[test]
fn celery_redis_broker_and_backend() {
    run_app("celery_app.py", "redis, celery, kombu");
}

#[test]
fn rq_worker() {
    run_app("rq_app.py", "redis, rq");
}

/// The node_modules directory holding ioredis and redis (node-redis):
/// FERROKV_TEST_NODE_MODULES, as `.ci/run` installs them.
fn node_modules() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("FERROKV_TEST_NODE_MODULES")?);
    (dir.join("ioredis").is_dir() && dir.join("redis").is_dir()).then_some(dir)
}

/// Runs tests/apps/node/<script> with `args` (the port first) against a
/// fresh server, as the Python scenarios run.
fn run_node(script: &str, extra: &[&str]) {
    let Some(modules) = node_modules() else {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
            panic!("FERROKV_TEST_NODE_MODULES does not hold ioredis and redis, so {script} cannot run (CI is set)");
        }
        eprintln!("NOTICE: FERROKV_TEST_NODE_MODULES unset or incomplete; SKIPPING {script}");
        return;
    };
    let srv = Server::start(&[]);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/apps/node")
        .join(script);
    let out = Command::new("node")
        .arg(&path)
        .arg(srv.port().to_string())
        .args(extra)
        .env("NODE_PATH", &modules)
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{script} {extra:?} failed:\nstdout: {}\nstderr: {}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        srv.log()
    );
    srv.assert_no_panic();
}

#[test]
fn ioredis() {
    run_node("ioredis_app.js", &[]);
}

#[test]
fn node_redis_resp2_and_resp3() {
    run_node("node_redis_app.js", &["2"]);
    run_node("node_redis_app.js", &["3"]);
}
