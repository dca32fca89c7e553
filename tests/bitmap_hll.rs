//! Differential tests for the bitmap and HyperLogLog commands: the same
//! command script is sent to our server and to a real redis-server 7.0
//! (/usr/bin/redis-server), and every reply must be byte-identical —
//! including GET of the stored HyperLogLog strings.
//!
//! Talks plain RESP2 over TCP with a tiny reply reader (no client crate), so
//! what is compared is exactly what each server wrote on the wire.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A server process, killed when dropped (also when a test panics).
struct ServerGuard {
    child: Child,
    port: u16,
    name: &'static str,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// Spawns `program args...` and polls until its port accepts connections.
fn start(name: &'static str, program: &str, args: &[&str], port: u16) -> ServerGuard {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name} ({program}): {e}"));
    let mut guard = ServerGuard { child, port, name };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return guard;
        }
        if let Ok(Some(status)) = guard.child.try_wait() {
            panic!("{name} exited before accepting connections: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not accept connections on port {port} within 20s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn start_ours() -> ServerGuard {
    let port = free_port();
    let p = port.to_string();
    start(
        "ferrokv-server",
        env!("CARGO_BIN_EXE_ferrokv-server"),
        &["--port", &p],
        port,
    )
}

fn start_redis() -> ServerGuard {
    assert!(
        Path::new(REDIS_SERVER).exists(),
        "the differential bitmap/HLL test needs a real Redis 7.0 at {REDIS_SERVER} \
         (apt-get install redis-server); it is not installed"
    );
    let port = free_port();
    let p = port.to_string();
    start(
        "redis-server",
        REDIS_SERVER,
        &["--port", &p, "--save", "", "--appendonly", "no"],
        port,
    )
}

/// One RESP connection.
struct Conn {
    sock: TcpStream,
    buf: Vec<u8>,
    name: &'static str,
}

impl Conn {
    fn open(s: &ServerGuard) -> Conn {
        let sock = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
        sock.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("set_read_timeout");
        sock.set_nodelay(true).ok();
        Conn {
            sock,
            buf: Vec::new(),
            name: s.name,
        }
    }

    /// Sends one command and returns the raw bytes of its complete reply.
    fn call(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.sock.write_all(&req).expect("write command");
        loop {
            if let Some(n) = reply_len(&self.buf, 0) {
                let rest = self.buf.split_off(n);
                return std::mem::replace(&mut self.buf, rest);
            }
            let mut chunk = [0u8; 65536];
            let n = self
                .sock
                .read(&mut chunk)
                .unwrap_or_else(|e| panic!("{}: read failed: {e}", self.name));
            assert!(n > 0, "{}: connection closed mid-reply", self.name);
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Position just past the CRLF-terminated line starting at `at`.
fn line_end(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| at + p + 2)
}

fn header_int(b: &[u8], at: usize, end: usize) -> i64 {
    std::str::from_utf8(&b[at + 1..end - 2])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad RESP length line: {:?}", &b[at..end]))
}

/// Length of the complete RESP (2 or 3) reply starting at `at`, or None if
/// more bytes are needed.
fn reply_len(b: &[u8], at: usize) -> Option<usize> {
    let t = *b.get(at)?;
    let end = line_end(b, at)?;
    let total = match t {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => end,
        b'$' | b'=' | b'!' => {
            let n = header_int(b, at, end);
            if n < 0 {
                end
            } else {
                let stop = end + n as usize + 2;
                if b.len() < stop {
                    return None;
                }
                stop
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = header_int(b, at, end);
            let items = if t == b'%' || t == b'|' { n * 2 } else { n };
            let mut p = end;
            for _ in 0..items.max(0) {
                p = reply_len(b, p)?;
            }
            p
        }
        other => panic!("unexpected RESP type byte {:?}", other as char),
    };
    Some(total)
}

fn cmd(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// Splits a whitespace-separated command line (no quoting needed here).
fn line(s: &str) -> Vec<Vec<u8>> {
    s.split_whitespace()
        .map(|p| p.as_bytes().to_vec())
        .collect()
}

fn show(b: &[u8]) -> String {
    let s: String = b.escape_ascii().to_string();
    if s.len() > 400 {
        format!("{}... ({} bytes)", &s[..400], b.len())
    } else {
        s
    }
}

fn show_cmd(args: &[Vec<u8>]) -> String {
    let parts: Vec<String> = args.iter().take(8).map(|a| show(a)).collect();
    let more = if args.len() > 8 {
        format!(" ... ({} args)", args.len())
    } else {
        String::new()
    };
    format!("{}{}", parts.join(" "), more)
}

/// The bitmap part of the script.
fn bitmap_script() -> Vec<Vec<Vec<u8>>> {
    let mut s: Vec<Vec<Vec<u8>>> = [
        // SETBIT / GETBIT
        "SETBIT b 7 1",
        "SETBIT b 7 1",
        "SETBIT b 100 1",
        "SETBIT b 100 0",
        "SETBIT b 100 1",
        "SETBIT b 1 0",
        "GET b",
        "GETBIT b 7",
        "GETBIT b 6",
        "GETBIT b 100",
        "GETBIT b 99999999",
        "GETBIT nokey 3",
        "SETBIT b 2 2",
        "SETBIT b 2 -1",
        "SETBIT b 2 x",
        "SETBIT b 2 01",
        "SETBIT b -1 1",
        "SETBIT b x 1",
        "SETBIT b #3 1",
        "SETBIT b 4294967296 1",
        "GETBIT b -1",
        "GETBIT b 4294967296",
        "GETBIT b",
        "SETBIT b 1",
        "SET num 12345",
        "SETBIT num 0 1",
        "GET num",
        "SETBIT big 100000 1",
        "BITCOUNT big",
        "BITPOS big 1",
        // BITCOUNT
        "SET s foobar",
        "BITCOUNT s",
        "BITCOUNT s 0 0",
        "BITCOUNT s 1 1",
        "BITCOUNT s 1 -2",
        "BITCOUNT s -3 -1",
        "BITCOUNT s -1 -3",
        "BITCOUNT s 0 -1 BYTE",
        "BITCOUNT s 5 30 BIT",
        "BITCOUNT s -10 -2 bit",
        "BITCOUNT s 0 100 bit",
        "BITCOUNT s -100 100",
        "BITCOUNT s 1",
        "BITCOUNT s 1 2 3",
        "BITCOUNT s 1 2 BIT extra",
        "BITCOUNT s a 1",
        "BITCOUNT s 1 a",
        "BITCOUNT s 0 1 nibble",
        "BITCOUNT nokey",
        "BITCOUNT nokey 1",
        "BITCOUNT nokey 0 -1 BIT",
        "BITCOUNT num",
        "BITCOUNT",
        // BITPOS
        "BITPOS s 1",
        "BITPOS s 0",
        "BITPOS s 1 2",
        "BITPOS s 0 2 -1",
        "BITPOS s 1 -2 -1",
        "BITPOS s 1 7 15 BIT",
        "BITPOS s 0 7 15 bit",
        "BITPOS s 1 -5 -1 BIT",
        "BITPOS s 1 0 -1 BYTE",
        "BITPOS s 1 3 1",
        "BITPOS s 1 100",
        "BITPOS s 2",
        "BITPOS s x",
        "BITPOS s 1 x",
        "BITPOS s 1 0 x",
        "BITPOS s 1 0 1 nibble",
        "BITPOS s 1 0 x nibble",
        "BITPOS s 1 0 1 BIT extra",
        "BITPOS nokey 1",
        "BITPOS nokey 0",
        "BITPOS nokey 0 5 10",
        "BITPOS nokey 2",
        "BITPOS num 1",
        "BITPOS s",
    ]
    .iter()
    .map(|l| line(l))
    .collect();
    s.push(cmd(&[b"SET", b"empty", b""]));
    s.push(line("BITPOS empty 0"));
    s.push(line("BITPOS empty 1"));
    s.push(line("BITCOUNT empty"));
    s.push(cmd(&[b"SET", b"ones", b"\xff\xff\xff"]));
    s.push(line("BITPOS ones 0"));
    s.push(line("BITPOS ones 0 1"));
    s.push(line("BITPOS ones 0 0 -1"));
    s.push(line("BITPOS ones 0 0 -1 BIT"));
    s.push(line("BITPOS ones 1 -1"));
    s.push(cmd(&[b"SET", b"zeros", b"\x00\x00\x00"]));
    s.push(line("BITPOS zeros 1"));
    s.push(line("BITPOS zeros 0 1"));
    s.push(line("BITPOS zeros 1 0 -1 BIT"));
    // BITOP
    s.push(cmd(&[b"SET", b"k1", b"foobar"]));
    s.push(cmd(&[b"SET", b"k2", b"abcdefgh"]));
    s.push(cmd(&[b"SET", b"k3", b"\x01\x80"]));
    s.extend(
        [
            "BITOP AND dand k1 k2",
            "GET dand",
            "BITOP OR dor k1 k2 k3",
            "GET dor",
            "BITOP XOR dxor k1 k2 k3",
            "GET dxor",
            "BITOP NOT dnot k1",
            "GET dnot",
            "BITOP not dnot2 k3",
            "GET dnot2",
            "BITOP AND dmiss k1 nokey",
            "GET dmiss",
            "BITOP OR dmiss2 nokey k3",
            "GET dmiss2",
            "BITOP XOR dmiss3 nokey k3 nokey2",
            "GET dmiss3",
            "BITOP NOT dmiss4 nokey",
            "GET dmiss4",
            "SET dgone foo",
            "BITOP AND dgone nokey nokey2",
            "GET dgone",
            "BITOP OR dgone2 empty",
            "GET dgone2",
            "BITOP AND num2 num k1",
            "GET num2",
            "BITOP NOT dn k1 k2",
            "BITOP NOT dn",
            "BITOP NAND dn k1",
            "BITOP AND dn",
            "SET k1 overwritten-by-bitop",
            "BITOP AND k1 k1 k2",
            "GET k1",
        ]
        .iter()
        .map(|l| line(l)),
    );
    // BITFIELD / BITFIELD_RO
    s.extend(
        [
            "BITFIELD bf SET i8 0 100 GET i8 0 INCRBY i8 0 100 GET u8 0",
            "GET bf",
            "BITFIELD bf OVERFLOW SAT INCRBY i8 0 100 INCRBY i8 0 -1000 INCRBY u4 8 100",
            "BITFIELD bf OVERFLOW FAIL INCRBY u4 8 100 SET i3 #4 5 GET u4 8 INCRBY i3 #4 -2",
            "BITFIELD bf OVERFLOW WRAP INCRBY u2 100 7 SET i64 200 -1 GET i64 200 INCRBY i64 200 -9223372036854775808",
            "BITFIELD bf GET u63 0 GET i64 0 GET i1 7 GET u1 7",
            "BITFIELD bf overflow sat set u8 #2 300 set i8 #3 -300 get u8 #2 get i8 #3",
            "BITFIELD bf overflow fail set u8 #2 300 get u8 #2",
            "GET bf",
            "BITFIELD bf",
            "BITFIELD bf GET u64 0",
            "BITFIELD bf GET i65 0",
            "BITFIELD bf GET i0 0",
            "BITFIELD bf GET x8 0",
            "BITFIELD bf GET u8",
            "BITFIELD bf GET u8 -1",
            "BITFIELD bf GET u8 #x",
            "BITFIELD bf SET u8 0",
            "BITFIELD bf SET u8 0 x",
            "BITFIELD bf INCRBY u8 0 1.5",
            "BITFIELD bf OVERFLOW MAYBE GET u8 0",
            "BITFIELD bf OVERFLOW",
            "BITFIELD bf FOO u8 0",
            "BITFIELD bf GET u8 4294967296",
            "BITFIELD_RO bf GET u8 0 GET i4 #3",
            "BITFIELD_RO bf GET u8 0 SET u8 0 1",
            "BITFIELD_RO bf SET u64 0 1",
            "BITFIELD_RO bf INCRBY u8 0 1 GET u8 x",
            "BITFIELD_RO bf OVERFLOW SAT GET u8 0",
            "BITFIELD_RO nokey GET u8 0",
            "BITFIELD nokey GET u8 0 GET i16 #100",
            "GET nokey",
            "BITFIELD bfnew OVERFLOW FAIL INCRBY u8 16 300",
            "GET bfnew",
            "BITFIELD bfnew2 OVERFLOW FAIL SET u8 0 256 OVERFLOW SAT INCRBY u2 #10 9",
            "GET bfnew2",
            "BITFIELD num GET u8 0 SET u8 0 65",
            "GET num",
            "BITFIELD_RO",
        ]
        .iter()
        .map(|l| line(l)),
    );
    s
}

/// A sparse HLL header + opcodes whose runs do not cover 16384 registers.
fn corrupt_sparse_hll() -> Vec<u8> {
    let mut v = b"HYLL\x01".to_vec();
    v.extend_from_slice(&[0u8; 11]);
    v.extend_from_slice(&[0x40, 0x00]); // XZERO of length 1 only
    v
}

/// A "dense" HLL of the wrong length.
fn short_dense_hll() -> Vec<u8> {
    let mut v = b"HYLL\x00".to_vec();
    v.extend_from_slice(&[0u8; 11]);
    v.extend_from_slice(&[0u8; 100]);
    v
}

/// The HyperLogLog part of the script, with small and 10k-element sets.
fn hll_script() -> Vec<Vec<Vec<u8>>> {
    let mut s: Vec<Vec<Vec<u8>>> = [
        "PFADD h0",
        "PFADD h0",
        "GET h0",
        "PFCOUNT h0",
        "PFADD h1 a b c d e f g",
        "GET h1",
        "PFCOUNT h1",
        "GET h1",
        "PFCOUNT h1",
        "PFADD h1 a b",
        "PFADD h1 a b zz",
        "GET h1",
        "PFADD h2 foo bar zap a",
        "PFCOUNT h1 h2",
        "PFCOUNT h1 h2 nokey",
        "PFCOUNT nokey",
        "PFCOUNT nokey nokey2",
        "PFMERGE hm h1 h2",
        "GET hm",
        "PFCOUNT hm",
        "GET hm",
        "PFMERGE hm h0 nokey",
        "GET hm",
        "PFMERGE hm2",
        "GET hm2",
        "PFMERGE hm3 nokey",
        "GET hm3",
        "PFDEBUG ENCODING h1",
        "PFDEBUG DECODE h1",
        "PFDEBUG DECODE h0",
        "PFDEBUG TODENSE h2",
        "PFDEBUG TODENSE h2",
        "PFDEBUG ENCODING h2",
        "PFDEBUG DECODE h2",
        "GET h2",
        "PFDEBUG GETREG h1",
        "GET h1",
        "PFDEBUG ENCODING h1",
        "PFDEBUG FOO h1",
        "PFDEBUG GETREG nokey",
        "PFDEBUG GETREG",
        "PFDEBUG GETREG h1 extra",
        "PFMERGE hm h1",
        "PFDEBUG ENCODING hm",
        "GET hm",
        "PFCOUNT hm",
        "SET notahll hello",
        "PFADD notahll a",
        "PFCOUNT notahll",
        "PFCOUNT h1 notahll",
        "PFMERGE hm notahll",
        "PFMERGE notahll h1",
        "PFDEBUG ENCODING notahll",
        "SET numval 123",
        "PFADD numval x",
        "PFCOUNT numval",
        "PFADD",
        "PFCOUNT",
        "PFMERGE",
    ]
    .iter()
    .map(|l| line(l))
    .collect();
    s.push(cmd(&[b"SET", b"corrupt", &corrupt_sparse_hll()]));
    s.push(line("PFCOUNT corrupt"));
    s.push(line("PFCOUNT corrupt h1"));
    s.push(line("PFMERGE hm corrupt"));
    s.push(line("PFDEBUG GETREG corrupt"));
    s.push(line("PFDEBUG DECODE corrupt"));
    s.push(line("PFADD corrupt a b c"));
    s.push(line("GET corrupt"));
    s.push(cmd(&[b"SET", b"shortdense", &short_dense_hll()]));
    s.push(line("PFCOUNT shortdense"));
    s.push(line("PFADD shortdense a"));
    s.push(line("PFMERGE shortdense h1"));

    // 10k elements in a single PFADD (sparse -> dense promotion inside).
    let mut big = cmd(&[b"PFADD", b"big"]);
    big.extend((0..10_000).map(|i| format!("elem:{i}").into_bytes()));
    s.push(big);
    s.push(line("PFDEBUG ENCODING big"));
    s.push(line("PFCOUNT big"));
    s.push(line("GET big"));
    s.push(line("PFCOUNT big"));
    // The same kind of set built in batches, crossing the sparse limit
    // between commands.
    for batch in 0..20 {
        let mut c = cmd(&[b"PFADD", b"big2"]);
        c.extend((batch * 500..(batch + 1) * 500).map(|i| format!("m-{}", i * 7).into_bytes()));
        s.push(c);
        if batch % 4 == 0 {
            s.push(line("PFDEBUG ENCODING big2"));
            s.push(line("PFCOUNT big2"));
            s.push(line("GET big2"));
        }
    }
    s.extend(
        [
            "PFCOUNT big2",
            "GET big2",
            "PFCOUNT big big2",
            "PFCOUNT big big2 h1 nokey",
            "PFMERGE small-into-big big h1",
            "GET small-into-big",
            "PFMERGE bigm h1 big big2",
            "PFDEBUG ENCODING bigm",
            "PFCOUNT bigm",
            "GET bigm",
            "PFMERGE h2 big",
            "GET h2",
            "PFADD big elem:1 elem:2",
            "PFADD big new-one",
            "GET big",
            "PFDEBUG DECODE big",
            "PFDEBUG TODENSE big",
        ]
        .iter()
        .map(|l| line(l)),
    );
    // Many distinct small sparse sets merged into a sparse destination.
    for k in 0..5 {
        let mut c = cmd(&[b"PFADD", format!("sp{k}").as_bytes()]);
        c.extend((0..40).map(|i| format!("{k}/{i}").into_bytes()));
        s.push(c);
    }
    s.extend(
        [
            "PFMERGE sp0 sp1 sp2 sp3 sp4",
            "PFDEBUG ENCODING sp0",
            "GET sp0",
            "PFCOUNT sp0",
            "PFCOUNT sp1 sp2 sp3 sp4",
            "GET sp0",
        ]
        .iter()
        .map(|l| line(l)),
    );
    // Bit commands on an HLL string and HLL commands on a bitmap.
    s.extend(
        [
            "BITCOUNT h1",
            "GETBIT h1 0",
            "SETBIT h1 0 1",
            "PFCOUNT h1",
            "PFADD b x",
        ]
        .iter()
        .map(|l| line(l)),
    );
    s
}

/// Commands on a collection key: only run once our server has lists.
fn wrongtype_script() -> Vec<Vec<Vec<u8>>> {
    [
        "SETBIT wtlist 0 1",
        "GETBIT wtlist 0",
        "GETBIT wtlist x",
        "BITCOUNT wtlist",
        "BITCOUNT wtlist 1",
        "BITPOS wtlist 1",
        "BITPOS wtlist 2",
        "BITOP AND d k2 wtlist",
        "BITOP AND wtlist k2",
        "GET wtlist",
        "BITFIELD wtlist GET u8 0",
        "BITFIELD wtlist SET u8 0 1",
        "BITFIELD_RO wtlist GET u8 0",
        "BITFIELD wtlist GET u64 0",
        "PFADD wtlist a",
        "PFCOUNT wtlist",
        "PFCOUNT h1 wtlist",
        "PFCOUNT corrupt wtlist",
        "PFCOUNT notahll wtlist",
        "PFMERGE wtlist h1",
        "PFMERGE hm h1 wtlist",
        "PFMERGE hm corrupt wtlist",
        "PFDEBUG ENCODING wtlist",
    ]
    .iter()
    .map(|l| line(l))
    .collect()
}

fn run_differential(ours: &mut Conn, redis: &mut Conn, script: &[Vec<Vec<u8>>]) {
    for (i, c) in script.iter().enumerate() {
        let a = ours.call(c);
        let b = redis.call(c);
        assert!(
            a == b,
            "reply mismatch at step {i}: {}\n  ferrokv: {}\n  redis:   {}",
            show_cmd(c),
            show(&a),
            show(&b)
        );
    }
}

#[test]
fn bitmap_and_hll_match_redis() {
    let redis_srv = start_redis();
    let ours_srv = start_ours();
    let mut ours = Conn::open(&ours_srv);
    let mut redis = Conn::open(&redis_srv);

    run_differential(&mut ours, &mut redis, &bitmap_script());
    run_differential(&mut ours, &mut redis, &hll_script());

    // Wrong types against a real collection, when our server has lists.
    let probe = line("RPUSH wtlist a b");
    let a = ours.call(&probe);
    let b = redis.call(&probe);
    if a.starts_with(b"-ERR unknown command") {
        eprintln!("note: ferrokv has no lists yet; skipping collection WRONGTYPE checks");
    } else {
        assert_eq!(show(&a), show(&b), "RPUSH probe differs");
        run_differential(&mut ours, &mut redis, &wrongtype_script());
    }
    drop(ours);
    drop(redis);
}

/// Checks that need no reference server (runs even without redis-server).
#[test]
fn bitmap_and_hll_basics() {
    let srv = start_ours();
    let mut c = Conn::open(&srv);
    let mut check = |l: &str, want: &[u8]| {
        let got = c.call(&line(l));
        assert_eq!(show(&got), show(want), "command: {l}");
    };
    check("SETBIT basic 9 1", b":0\r\n");
    check("GET basic", b"$2\r\n\x00\x40\r\n");
    check("BITCOUNT basic 0 -1 BIT", b":1\r\n");
    check("BITPOS basic 1", b":9\r\n");
    check("BITFIELD_RO nothere GET u8 0", b"*1\r\n:0\r\n");
    check("GET nothere", b"$-1\r\n");
    check(
        "BITFIELD bfx OVERFLOW FAIL INCRBY u8 0 300 GET u8 0",
        b"*2\r\n$-1\r\n:0\r\n",
    );
    check("GET bfx", b"$1\r\n\x00\r\n");
    check(
        "BITOP NOT x basic other",
        b"-ERR BITOP NOT must be called with a single source key.\r\n",
    );
    check("PFADD hx", b":1\r\n");
    check("PFADD hx", b":0\r\n");
    check("PFADD hx a b c", b":1\r\n");
    check("PFCOUNT hx", b":3\r\n");
    check("PFCOUNT hx nokey", b":3\r\n");
    check("PFDEBUG ENCODING hx", b"+sparse\r\n");
    check(
        "PFADD basic a",
        b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n",
    );
    check("PFMERGE hy hx nokey", b"+OK\r\n");
    check("PFCOUNT hy", b":3\r\n");
    check(
        "PFDEBUG NOPE hy",
        b"-ERR Unknown PFDEBUG subcommand 'NOPE'\r\n",
    );
    check(
        "PFDEBUG ENCODING nokey",
        b"-ERR The specified key does not exist\r\n",
    );
}
