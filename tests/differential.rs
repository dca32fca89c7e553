//! Differential tests: every script under tests/scripts/*.txt is run line by
//! line against ferrokv and a real redis-server 7.0, and the raw reply bytes
//! must be identical.
//!
//! Script syntax: one command per line, split like redis-cli does (double
//! quotes with \n \r \t \" \\ \xHH escapes, single quotes), `#` comments and
//! blank lines ignored. Directives:
//! - `@resp3` / `@resp2`: send HELLO 3 / HELLO 2 to both (reply not compared).
//! - `@skip-reply`: send the next command to both but don't compare replies.
//! - `@sorted`: compare the next reply as a sorted multiset of its flattened
//!   elements (for SCAN/KEYS whose order legitimately differs).
//! - `@args ARG...`: start both servers with these arguments (e.g.
//!   `--enable-debug-command local`); read before the script runs.
//! - `@replies N`: the next command produces N replies (SUBSCRIBE a b, or a
//!   PUBLISH that also delivers a push to the publisher); all are compared.
//!
//! Set FERROKV_DIFF_SELF=1 to run the scripts against two real redis-servers,
//! which validates that a script has no legitimately differing lines.

use crate::common;

use common::{escape, flatten, RealRedis, Server};

/// Splits a line into arguments like redis-cli's sdssplitargs.
fn split_args(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let b = line.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return Ok(out);
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= b.len() {
                    return Err("unbalanced double quotes".into());
                }
                if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).map_err(|e| e.to_string())?;
                    let v = u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                    cur.push(v);
                    i += 4;
                    continue;
                } else if b[i] == b'\\' && i + 1 < b.len() {
                    cur.push(match b[i + 1] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                    i += 2;
                    continue;
                } else if b[i] == b'"' {
                    if i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
                        return Err("closing quote must be followed by a space".into());
                    }
                    i += 1;
                    break;
                }
                cur.push(b[i]);
                i += 1;
            } else if insq {
                if i >= b.len() {
                    return Err("unbalanced single quotes".into());
                }
                if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] == b'\'' {
                    cur.push(b'\'');
                    i += 2;
                    continue;
                } else if b[i] == b'\'' {
                    if i + 1 < b.len() && !b[i + 1].is_ascii_whitespace() {
                        return Err("closing quote must be followed by a space".into());
                    }
                    i += 1;
                    break;
                }
                cur.push(b[i]);
                i += 1;
            } else {
                if i >= b.len() || b[i].is_ascii_whitespace() {
                    break;
                }
                match b[i] {
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
                i += 1;
            }
        }
        out.push(cur);
    }
}

fn start_subject(args: &[&str]) -> Server {
    if std::env::var_os("FERROKV_DIFF_SELF").is_some() {
        RealRedis::start_with(args)
    } else {
        Server::start(args)
    }
}

/// The server arguments of a script's `@args` lines (both servers get them).
fn script_server_args(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("@args "))
        .flat_map(|l| l.split_whitespace().map(str::to_string))
        .collect()
}

fn run_script(name: &str) {
    let path = format!("{}/tests/scripts/{}.txt", env!("CARGO_MANIFEST_DIR"), name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {}", path, e));
    let server_args = script_server_args(&text);
    let server_args: Vec<&str> = server_args.iter().map(String::as_str).collect();
    let ours = start_subject(&server_args);
    let reference = RealRedis::start_with(&server_args);
    let mut a = ours.conn();
    let mut b = reference.conn();
    // Fresh servers are empty anyway; FLUSHALL just in case.
    a.cmd(&["FLUSHALL"]);
    b.cmd(&["FLUSHALL"]);

    let mut failures = Vec::new();
    let mut skip_next = false;
    let mut sorted_next = false;
    let mut replies_next = 1usize;
    for (lineno, raw_line) in text.lines().enumerate() {
        let lineno = lineno + 1;
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line {
            "@resp3" | "@resp2" => {
                let v = if line == "@resp3" { "3" } else { "2" };
                let ra = a.cmd(&["HELLO", v]);
                let rb = b.cmd(&["HELLO", v]);
                if ra.first() != rb.first() {
                    failures.push(format!(
                        "{}:{}: HELLO {} failed\n  ferrokv: \"{}\"\n  redis:   \"{}\"",
                        name,
                        lineno,
                        v,
                        escape(&ra),
                        escape(&rb)
                    ));
                }
                continue;
            }
            "@skip-reply" => {
                skip_next = true;
                continue;
            }
            "@sorted" => {
                sorted_next = true;
                continue;
            }
            _ if line.starts_with("@args ") => continue,
            _ if line.starts_with("@replies ") => {
                replies_next = line["@replies ".len()..]
                    .trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("{}:{}: {}", name, lineno, e));
                continue;
            }
            _ if line.starts_with('@') => panic!("{}:{}: unknown directive {}", name, lineno, line),
            _ => {}
        }
        let args = split_args(line).unwrap_or_else(|e| panic!("{}:{}: {}", name, lineno, e));
        let argv: Vec<&[u8]> = args.iter().map(|v| v.as_slice()).collect();
        a.send(&argv);
        b.send(&argv);
        let n = std::mem::replace(&mut replies_next, 1);
        let mut rb = Vec::new();
        for _ in 0..n {
            rb.extend_from_slice(&b.read_reply());
        }
        let mut got = Ok(Some(Vec::new()));
        for _ in 0..n {
            match a.try_read_reply() {
                Ok(Some(r)) => {
                    if let Ok(Some(acc)) = got.as_mut() {
                        acc.extend_from_slice(&r);
                    }
                }
                other => {
                    got = other;
                    break;
                }
            }
        }
        let ra = match got {
            Ok(Some(r)) => r,
            other => {
                failures.push(format!(
                    "{}:{}: {}\n  ferrokv: <no reply: {:?}>\n  redis:   \"{}\"",
                    name,
                    lineno,
                    line,
                    other.map(|_| ()),
                    escape(&rb)
                ));
                // The connection is unusable now: report and stop.
                break;
            }
        };
        let skip = std::mem::take(&mut skip_next);
        let sorted = std::mem::take(&mut sorted_next);
        if skip {
            continue;
        }
        let same = if sorted {
            let mut fa = flatten(&ra);
            let mut fb = flatten(&rb);
            fa.sort();
            fb.sort();
            fa == fb
        } else {
            ra == rb
        };
        if !same {
            failures.push(format!(
                "{}:{}: {}\n  ferrokv: \"{}\"\n  redis:   \"{}\"",
                name,
                lineno,
                line,
                escape(&ra),
                escape(&rb)
            ));
        }
    }
    ours.assert_no_panic();
    if !failures.is_empty() {
        panic!(
            "{} mismatch(es) in script {}:\n{}",
            failures.len(),
            name,
            failures.join("\n")
        );
    }
}

/// Every script under tests/scripts/ runs: they are discovered, not listed,
/// a few at a time (each pair of servers is independent). With
/// FERROKV_DIFF_ONLY=name[,name...] only those run.
#[test]
fn scripts() {
    let dir = format!("{}/tests/scripts", env!("CARGO_MANIFEST_DIR"));
    let only: Option<Vec<String>> = std::env::var("FERROKV_DIFF_ONLY")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {}", dir, e))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".txt").map(str::to_string)
        })
        .filter(|n| only.as_ref().is_none_or(|o| o.contains(n)))
        .collect();
    names.sort();
    assert!(
        !names.is_empty(),
        "no differential scripts found in {}",
        dir
    );
    let queue = std::sync::Mutex::new(names.clone());
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let Some(name) = queue.lock().unwrap().pop() else {
                    return;
                };
                let r = std::panic::catch_unwind(|| run_script(&name));
                if let Err(e) = r {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    failures.lock().unwrap().push(format!("[{}] {}", name, msg));
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!("differential scripts run: {}", names.join(" "));
    if !failures.is_empty() {
        panic!(
            "{} of {} scripts differ:\n{}",
            failures.len(),
            names.len(),
            failures.join("\n\n")
        );
    }
}

#[test]
fn split_args_like_redis_cli() {
    let v = split_args(r#"set "a b" 'c d' "\x41\n" e"#).unwrap();
    assert_eq!(
        v,
        vec![
            b"set".to_vec(),
            b"a b".to_vec(),
            b"c d".to_vec(),
            b"A\n".to_vec(),
            b"e".to_vec()
        ]
    );
    assert_eq!(
        split_args(r#"set "" ''"#).unwrap(),
        vec![b"set".to_vec(), vec![], vec![]]
    );
    assert!(split_args(r#"set "abc"#).is_err());
}

#[test]
fn resp_framing() {
    use common::frame_end;
    let complete: &[&[u8]] = &[
        b"+OK\r\n",
        b"-ERR x\r\n",
        b":-12\r\n",
        b"$-1\r\n",
        b"$0\r\n\r\n",
        b"$5\r\na\r\nbc\r\n",
        b"*-1\r\n",
        b"*0\r\n",
        b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
        b"_\r\n",
        b",1.5\r\n",
        b"#t\r\n",
        b"(12345678901234567890\r\n",
        b"!3\r\nERR\r\n",
        b"=7\r\ntxt:abc\r\n",
        b"%2\r\n+a\r\n:1\r\n+b\r\n%1\r\n+c\r\n_\r\n",
        b"~2\r\n:1\r\n:2\r\n",
        b">2\r\n+message\r\n$1\r\nx\r\n",
        b"|1\r\n+key\r\n+val\r\n:42\r\n",
    ];
    for c in complete {
        assert_eq!(frame_end(c, 0), Ok(Some(c.len())), "{}", escape(c));
        for cut in 0..c.len() {
            assert_eq!(
                frame_end(&c[..cut], 0),
                Ok(None),
                "{} cut at {}",
                escape(c),
                cut
            );
        }
        let mut two = c.to_vec();
        two.extend_from_slice(b"+next\r\n");
        assert_eq!(frame_end(&two, 0), Ok(Some(c.len())));
    }
    assert!(frame_end(b"?x\r\n", 0).is_err());
    let mut f = flatten(b"*2\r\n$1\r\nb\r\n*1\r\n$1\r\na\r\n");
    f.sort();
    assert_eq!(f.len(), 4);
}

/// HELLO's reply differs only in the client id; CLIENT ID is an integer.
#[test]
fn hello_reply_shape() {
    fn mask_id(r: &[u8]) -> String {
        let s = escape(r);
        match s.find("$2\\r\\nid\\r\\n:") {
            Some(p) => {
                let start = p + "$2\\r\\nid\\r\\n:".len();
                let end = start + s[start..].find('\\').unwrap_or(0);
                format!("{}ID{}", &s[..start], &s[end..])
            }
            None => s,
        }
    }
    let ours = start_subject(&[]);
    let reference = RealRedis::start();
    let mut a = ours.conn();
    let mut b = reference.conn();
    for v in ["3", "2", "3"] {
        let ra = mask_id(&a.cmd(&["HELLO", v]));
        let rb = mask_id(&b.cmd(&["HELLO", v]));
        assert_eq!(ra, rb, "HELLO {}", v);
    }
    let ra = mask_id(&a.cmd(&["HELLO", "3", "SETNAME", "n1"]));
    let rb = mask_id(&b.cmd(&["HELLO", "3", "SETNAME", "n1"]));
    assert_eq!(ra, rb);
    assert_eq!(escape(&a.cmd(&["CLIENT", "GETNAME"])), "$2\\r\\nn1\\r\\n");
    let id = a.cmd(&["CLIENT", "ID"]);
    let s = String::from_utf8_lossy(&id);
    assert!(
        s.starts_with(':') && s[1..].trim_end().parse::<u64>().is_ok(),
        "CLIENT ID reply {:?}",
        s
    );
    ours.assert_no_panic();
}
