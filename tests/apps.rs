//! Real applications and client libraries run unchanged against ferrokv:
//! each scenario is a Python script in tests/apps/, run only when its
//! libraries are importable (CI installs only redis-py; the others print a
//! notice and pass). See docs/APPS.md for the full matrix, including the
//! Node.js clients checked by hand.

mod common;

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
        println!("NOTICE: python3 cannot import {modules}; skipping {script}");
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
