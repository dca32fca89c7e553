//! The layer check (docs/ARCHITECTURE.md, "Layers"): a source scan of
//! every `crate::module` path under src/, failing when a module imports one
//! from a higher layer. Test-only code (`*_tests.rs` files and items under
//! `#[cfg(test)]`) is not scanned; comments and string literals are skipped.
//! `ALLOWED` lists the few uses not untangled yet, each with its reason;
//! an entry that no longer matches anything fails the test too, so the list
//! only shrinks.
//!
//! It sees paths, not method calls: a method of an allowed state type
//! called through a `Server` field is invisible here (docs/ARCHITECTURE.md
//! lists the ones in use).
//!
//! It also fails on process-wide mutable state (`thread_local!`, static
//! atomics, cells, locks) outside the modules `GLOBALS` lists with their
//! reasons (docs/ARCHITECTURE.md, "State ownership").

use std::fs;
use std::path::{Path, PathBuf};

/// Layers, bottom to top. Every top-level module of src/ must be listed.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "base",
        &[
            "util",
            "protocol",
            "error",
            "clock",
            "alloc",
            "logging",
            // OS helpers that import nothing from the crate but logging.
            "crash",
            "proctitle",
            "supervise",
            "listen",
            "poller",
        ],
    ),
    ("ds", &["ds"]),
    ("types", &["types"]),
    (
        "keyspace",
        &["db", "db_slots", "db_snap", "object", "lazyfree"],
    ),
    (
        "services",
        &[
            "server",
            "client",
            "client_info",
            "client_mem",
            "cmdtable",
            "blocking",
            "pubsub",
            "multi",
            "tracking",
            "notify",
            "acl",
            "acl_check",
            "propagate",
            "evict",
            "expire",
            "config",
            "config_defs",
            "config_values",
            "config_rewrite",
            "oom",
            "migrate_conn",
            "tls",
            "cluster",
        ],
    ),
    (
        "persist/replication/scripting",
        &[
            "persist",
            "replication",
            "scripting",
            "cluster_bus",
            "cluster_failover",
        ],
    ),
    ("commands", &["commands"]),
    (
        "event loop and main",
        &["event_loop", "main", "healthcheck", "lib"],
    ),
];

/// Uses of a higher layer not untangled yet: (file, path after `crate::`
/// — the path itself or anything under it is allowed —, reason). Keep it
/// short; it should shrink to nothing.
const STATE: &str = "Server owns the state of every subsystem (Redis's struct redisServer); \
     the state type stays with the code that uses it: only the type and its constructor are allowed";

const ALLOWED: &[(&str, &str, &str)] = &[
    ("src/server.rs", "persist::aof::Aof", STATE),
    ("src/server.rs", "persist::child::ChildInfo", STATE),
    ("src/server.rs", "persist::childinfo::Stats", STATE),
    ("src/server.rs", "persist::rdb_server::RdbState", STATE),
    ("src/server.rs", "persist::snapshot::Snapshot", STATE),
    ("src/server.rs", "replication::ReplState", STATE),
    ("src/server.rs", "scripting::Scripting", STATE),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir).expect("read src dir").flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source with comments, string and char literals blanked out
/// (newlines kept, so line numbers stay right).
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                out.push(b' ');
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // raw string r"..." / r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == b'"'
                    && b[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == b'#')
                        .count()
                        == hashes
                {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &x in &b[i..j.min(b.len())] {
                blank(&mut out, x);
            }
            i = j;
        } else if c == b'"' {
            out.push(b' ');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    out.push(b' ');
                    i += 1;
                }
                blank(&mut out, b[i]);
                i += 1;
            }
            out.push(b' ');
            i += 1;
        } else if c == b'\'' {
            // char literal ('x', '\n', '\u{..}') or a lifetime ('a)
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&x| x == b'\'')
                    .map(|p| i + 2 + p)
            } else if b.get(i + 2) == Some(&b'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    out.extend(std::iter::repeat_n(b' ', e + 1 - i));
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Lines of the stripped source with the items under `#[cfg(test)]`
/// blanked.
fn without_test_items(src: &str) -> Vec<String> {
    let mut lines: Vec<String> = src.lines().map(str::to_string).collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == "#[cfg(test)]" {
            let mut depth: i64 = 0;
            let mut opened = false;
            let mut j = i;
            while j < lines.len() {
                for ch in lines[j].chars() {
                    match ch {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                let done =
                    (opened && depth <= 0) || (!opened && lines[j].trim_end().ends_with(';'));
                lines[j].clear();
                j += 1;
                if done {
                    break;
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    lines
}

/// The `crate::` paths in `line` without their `crate::` (`persist::aof::feed`),
/// including the members of `crate::{a, b::c}` groups; a path ends at a
/// `{` or `*` group.
fn crate_refs(line: &str) -> Vec<String> {
    let path_at = |s: &str| -> String {
        let mut end = 0;
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_alphanumeric() || b[i] == b'_' {
                i += 1;
                end = i;
            } else if s[i..].starts_with("::")
                && s[i + 2..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            {
                i += 2;
            } else {
                break;
            }
        }
        s[..end].to_string()
    };
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(p) = rest.find("crate::") {
        let before = rest[..p].chars().last();
        rest = &rest[p + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut start = true;
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => start = true,
                    c if c.is_whitespace() => {}
                    _ => {
                        if start && depth == 1 {
                            let p = path_at(&group[i..]);
                            if !p.is_empty() {
                                out.push(p);
                            }
                        }
                        start = false;
                    }
                }
            }
        } else {
            let p = path_at(rest);
            let is_macro = rest[p.len()..].starts_with('!');
            if !p.is_empty() && !is_macro {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn lower_layers_never_import_higher_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut offences = Vec::new();
    let mut unknown = Vec::new();
    let mut used = vec![false; ALLOWED.len()];
    for f in &files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.ends_with("_tests.rs") {
            continue;
        }
        let inner = f.strip_prefix(&src).unwrap();
        let first = inner
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        let Some(from) = layer_of(&module) else {
            unknown.push(format!(
                "{rel}: module `{module}` has no layer in tests/layers.rs"
            ));
            continue;
        };
        let text = fs::read_to_string(f).expect("read source");
        for (n, line) in without_test_items(&strip(&text)).iter().enumerate() {
            for path in crate_refs(line) {
                let target = path.split("::").next().unwrap_or_default().to_string();
                if target == module {
                    continue;
                }
                let Some(to) = layer_of(&target) else {
                    continue; // crate-root items (macros), not modules
                };
                if to <= from {
                    continue;
                }
                let allowed = |(af, ap, _): &(&str, &str, &str)| {
                    *af == rel && (path == *ap || path.starts_with(&format!("{ap}::")))
                };
                if let Some(k) = ALLOWED.iter().position(allowed) {
                    used[k] = true;
                    continue;
                }
                offences.push(format!(
                    "{rel}:{}: `{module}` ({}) uses `crate::{path}` ({})",
                    n + 1,
                    LAYERS[from].0,
                    LAYERS[to].0
                ));
            }
        }
    }
    let stale: Vec<String> = ALLOWED
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|((f, m, _), _)| format!("{f} -> {m}: allow-list entry no longer needed; remove it"))
        .collect();
    let mut report = Vec::new();
    report.extend(unknown);
    report.extend(offences);
    report.extend(stale);
    assert!(
        report.is_empty(),
        "layer violations (a lower layer never imports a higher one; see docs/ARCHITECTURE.md):\n{}",
        report.join("\n")
    );
}

#[test]
fn scanner_sees_groups_and_skips_comments_and_tests() {
    assert_eq!(
        crate_refs("use crate::{server::Server, commands::{self, Args}};"),
        ["server::Server", "commands"]
    );
    assert_eq!(
        crate_refs("x = crate::persist::aof::feed(srv); $crate::y"),
        ["persist::aof::feed"]
    );
    assert_eq!(
        crate_refs("use crate::cmdtable::{spec, WRITE};"),
        ["cmdtable"]
    );
    assert!(crate_refs("crate::lua_cfn!(f)").is_empty());
    let s = strip("a // crate::commands\n\"crate::x\" '{' r#\"crate::y\"# /* crate::z */ b");
    assert!(!s.contains("crate::"), "{s}");
    assert_eq!(s.lines().count(), 2);
    let t = without_test_items(
        "use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\nuse crate::c;\n",
    );
    assert_eq!(t.join("\n").matches("crate::").count(), 2);
}

/// Files that may hold process-wide mutable state (a `thread_local!` or a
/// `static` atomic, cell, lock or `OnceLock`), with the reason; anything
/// else lives in `Server` / `Db` or in the frame that uses it
/// (docs/ARCHITECTURE.md, "State ownership"). Each static says why where
/// it is declared.
const GLOBALS: &[(&str, &str)] = &[
    ("src/crash.rs", "fatal-signal and watchdog handlers"),
    ("src/server.rs", "SIGTERM/SIGINT handler flags"),
    (
        "src/event_loop.rs",
        "the temp RDB the SIGINT handler removes",
    ),
    (
        "src/supervise.rs",
        "the SIGTERM path notifies the supervisor",
    ),
    ("src/alloc.rs", "the global allocator's counter"),
    (
        "src/alloc/slab.rs",
        "the slab's arena (its reserved range, which entry handles index), chunks and free chains, shared by every thread (as malloc's arenas); under cargo-fuzz the table of entry blocks",
    ),
    (
        "src/alloc/prefault.rs",
        "the one prefault worker's queue, used by every dict",
    ),
    (
        "src/util/affinity.rs",
        "the CPU set background threads move to as they start, on any thread",
    ),
    (
        "src/persist/lzf.rs",
        "the compressor's scratch hash table per compressing thread (liblzf's stack table)",
    ),
    ("src/logging.rs", "the log formatter runs on any thread"),
    ("src/proctitle.rs", "the process's argv memory"),
    ("src/oom.rs", "the process's starting oom score"),
    ("src/clock.rs", "the cached clock, read on every lookup"),
    (
        "src/ds/dict.rs",
        "table policy and growth guard of the ds layer",
    ),
    (
        "src/evict.rs",
        "the values the ds layer's growth guard reads",
    ),
    ("src/lazyfree.rs", "shared with the lazy-free thread"),
    ("src/object.rs", "Drop-kept count; the LFU counter's RNG"),
    ("src/persist/childinfo.rs", "a forked child's own reporting"),
    (
        "src/scripting/sandbox.rs",
        "an immutable setting read at VM creation",
    ),
    ("src/scripting/api.rs", "math.random's RNG"),
];

/// Does this (stripped) line declare process-wide mutable state?
fn declares_global(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("thread_local!") {
        return true;
    }
    let t = t.strip_prefix("pub ").unwrap_or(t);
    let t = t.strip_prefix("pub(crate) ").unwrap_or(t);
    let Some(rest) = t.strip_prefix("static ") else {
        return false;
    };
    if rest.starts_with("mut ") {
        return true;
    }
    let ty = rest.split_once(':').map_or("", |(_, ty)| ty);
    [
        "Atomic", "Cell", "RefCell", "Mutex", "RwLock", "OnceLock", "LazyLock",
    ]
    .iter()
    .any(|k| ty.contains(k))
}

#[test]
fn hidden_state_is_listed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut offences = Vec::new();
    let mut used = vec![false; GLOBALS.len()];
    for f in &files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.ends_with("_tests.rs") {
            continue;
        }
        let text = fs::read_to_string(f).expect("read source");
        for (n, line) in without_test_items(&strip(&text)).iter().enumerate() {
            if !declares_global(line) {
                continue;
            }
            match GLOBALS.iter().position(|(g, _)| *g == rel) {
                Some(k) => used[k] = true,
                None => offences.push(format!("{rel}:{}: {}", n + 1, line.trim())),
            }
        }
    }
    offences.extend(
        GLOBALS
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|((f, _), _)| format!("{f}: no global left; remove it from GLOBALS")),
    );
    assert!(
        offences.is_empty(),
        "process-wide state outside the listed modules (keep it in Server / Db, or list it \
         in GLOBALS with its reason; docs/ARCHITECTURE.md, \"State ownership\"):\n{}",
        offences.join("\n")
    );
}
