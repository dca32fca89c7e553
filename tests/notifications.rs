//! Keyspace notifications, differential: ferrokv and a real redis-server
//! 7.0 run the same write commands with the same `notify-keyspace-events`
//! and a subscriber on `__key*__:*` must receive byte-identical pmessage
//! frames, command by command (each command is followed by a `PUBLISH
//! sentinel <n>` and the subscriber reads until that message arrives).

use crate::common;

use common::{escape, poll_until, RawConn, RealRedis, Server};
use std::time::Duration;

/// One server under test: a subscriber, a writer and a connection for
/// blocking commands.
struct Side {
    _srv: Server,
    sub: RawConn,
    w: RawConn,
    blocker: RawConn,
    seq: u64,
}

impl Side {
    fn open(srv: Server, resp3: bool) -> Side {
        let mut sub = srv.conn();
        if resp3 {
            sub.cmd(&["HELLO", "3"]);
        }
        sub.send(&[b"PSUBSCRIBE", b"__key*__:*"]);
        sub.read_reply();
        sub.send(&[b"SUBSCRIBE", b"sentinel"]);
        sub.read_reply();
        let w = srv.conn();
        let blocker = srv.conn();
        Side {
            _srv: srv,
            sub,
            w,
            blocker,
            seq: 0,
        }
    }

    /// Reads subscriber frames until the sentinel message `seq` arrives.
    fn drain_events(&mut self) -> Vec<String> {
        self.seq += 1;
        let n = self.seq.to_string();
        self.w.cmd(&["PUBLISH", "sentinel", &n]);
        let want_tail = format!("$8\r\nsentinel\r\n${}\r\n{}\r\n", n.len(), n);
        let mut out = Vec::new();
        loop {
            let f = self.sub.read_reply();
            let is_msg = f.starts_with(b"*3\r\n$7\r\nmessage\r\n")
                || f.starts_with(b">3\r\n$7\r\nmessage\r\n");
            if is_msg && f.ends_with(want_tail.as_bytes()) {
                return out;
            }
            out.push(escape(&f));
        }
    }

    /// Runs one script step; returns (reply, events).
    fn step(&mut self, line: &str) -> (String, Vec<String>) {
        let reply = if let Some(cmd) = line.strip_prefix("& ") {
            // A blocking command on the third connection: wait until the
            // server reports it blocked.
            let args: Vec<&str> = cmd.split_whitespace().collect();
            let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
            self.blocker.send(&a);
            let w = &mut self.w;
            let ok = poll_until(Duration::from_secs(5), || {
                let info = String::from_utf8_lossy(&w.cmd(&["INFO", "clients"])).into_owned();
                info.contains("blocked_clients:1\r\n")
            });
            assert!(ok, "{} did not block", cmd);
            String::new()
        } else if line == "&reply" {
            escape(&self.blocker.read_reply())
        } else if let Some(ms) = line.strip_prefix("!wait ") {
            // Lets a millisecond TTL pass (not a synchronisation).
            std::thread::sleep(Duration::from_millis(ms.parse().expect("ms")));
            String::new()
        } else if let Some(cmd) = line.strip_prefix("? ") {
            // A random reply: only its events are compared.
            let args: Vec<&str> = cmd.split_whitespace().collect();
            self.w.cmd(&args);
            String::new()
        } else {
            let args: Vec<&str> = line.split_whitespace().collect();
            escape(&self.w.cmd(&args))
        };
        (reply, self.drain_events())
    }
}

fn start_pair(flags: &str) -> (Server, Server) {
    let args = [
        "--notify-keyspace-events",
        flags,
        "--enable-debug-command",
        "local",
    ];
    (Server::start(&args), RealRedis::start_with(&args))
}

/// Runs `script` on both servers; returns the steps whose replies or
/// events differ.
fn differences(flags: &str, resp3: bool, script: &[&str]) -> Vec<String> {
    let (ours, theirs) = start_pair(flags);
    let mut a = Side::open(ours, resp3);
    let mut b = Side::open(theirs, resp3);
    let mut diffs = Vec::new();
    for line in script {
        let (ra, ea) = a.step(line);
        let (rb, eb) = b.step(line);
        if ea != eb || ra != rb {
            diffs.push(format!(
                "{}\n  ours:  {} {:#?}\n  redis: {} {:#?}",
                line, ra, ea, rb, eb
            ));
        }
    }
    diffs
        .into_iter()
        .map(|d| format!("[{} resp{}] {}", flags, if resp3 { 3 } else { 2 }, d))
        .collect()
}

/// Asserts identical replies and events for every (flags, resp3, script).
fn compare_all(runs: &[(&str, bool, &[&str])]) {
    let mut diffs = Vec::new();
    for (flags, resp3, script) in runs {
        diffs.extend(differences(flags, *resp3, script));
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

fn compare(flags: &str, resp3: bool, script: &[&str]) {
    compare_all(&[(flags, resp3, script)]);
}

const KEYS: &[&str] = &[
    "SET a 1",
    "DEL a",
    "DEL a",
    "MSET a 1 b 2",
    "UNLINK a b missing",
    "SET a 1",
    "RENAME a b",
    "RENAME b b",
    "SET c 3",
    "RENAMENX b c",
    "RENAMENX b d",
    "RENAME d c",
    "MOVE c 1",
    "SET e 5",
    "MOVE e 1",
    "SELECT 1",
    "SET e 6",
    "SELECT 0",
    "SET e 5",
    "MOVE e 1",
    "SET s1 x",
    "COPY s1 s2",
    "COPY s1 s2",
    "COPY s1 s2 REPLACE",
    "COPY s1 s3 DB 2",
    "EXPIRE s1 100",
    "PEXPIRE s1 100000",
    "EXPIREAT s1 9999999999",
    "PEXPIREAT s1 9999999999000",
    "EXPIRE s1 100 NX",
    "EXPIRE s1 0",
    "PEXPIREAT s2 1",
    "EXPIRE missing 10",
    "PERSIST s3",
    "EXPIRE s3 100",
    "PERSIST s3",
    "PERSIST s3",
    "SET t 1 EX 100",
    "RENAME t t2",
    "TOUCH t2 missing",
    "EXISTS missing t2",
    "TYPE missing",
    "TTL missing",
    "PTTL missing",
    "OBJECT ENCODING missing",
    "SWAPDB 0 1",
    "SWAPDB 0 1",
    "FLUSHDB",
    "SET x 1",
    "FLUSHALL",
    "FLUSHALL",
];

const STRINGS: &[&str] = &[
    "SET k v",
    "SET k v2 GET",
    "SET k v NX",
    "SET k v XX PX 100000",
    "SET k v KEEPTTL",
    "SETNX k v",
    "SETNX k2 v",
    "SETEX k3 100 v",
    "MSET m1 1 m2 2 k 3",
    "MSETNX m1 1 m3 3",
    "MSETNX m4 1 m5 3",
    "APPEND k x",
    "APPEND ap x",
    "INCR n",
    "INCRBY n 5",
    "DECR n",
    "DECRBY n 2",
    "INCRBYFLOAT n 1.5",
    "INCRBYFLOAT nf 1.5",
    "SETRANGE k 1 zz",
    "SETRANGE sr 3 zz",
    "SETRANGE sr2 3 ",
    "GETRANGE k 0 -1",
    "GETDEL k",
    "GETDEL k",
    "GETEX k2 EX 100",
    "GETEX k2 PERSIST",
    "GETEX k2 PXAT 1",
    "GETEX nope EX 100",
    "GETSET gs 1",
    "GETSET gs 2",
    "GET nope",
    "MGET nope k3",
    "STRLEN nope",
    "LCS nope k3",
    "INCR k3",
];

const BITS_HLL: &[&str] = &[
    "SETBIT bm 7 1",
    "SETBIT bm 7 1",
    "SETBIT bm 100 0",
    "GETBIT nope 1",
    "BITCOUNT nope",
    "BITPOS nope 1",
    "SET bm2 abc",
    "BITOP AND dst bm bm2",
    "BITOP OR dst nope1 nope2",
    "BITOP OR dst nope1 nope2",
    "BITOP NOT dst2 bm",
    "BITFIELD bf SET u8 0 255",
    "BITFIELD bf GET u8 0",
    "BITFIELD bf INCRBY u8 0 1",
    "BITFIELD bf OVERFLOW FAIL INCRBY u8 0 255",
    "BITFIELD bf2 GET u8 0",
    "BITFIELD_RO bf GET u8 0",
    "PFADD h a b c",
    "PFADD h a",
    "PFADD h",
    "PFADD h2",
    "PFCOUNT h",
    "PFCOUNT nope",
    "PFMERGE h3 h nope",
    "PFMERGE h3",
    "PFMERGE h4",
];

const HASHES: &[&str] = &[
    "HSET h f v",
    "HSET h f v2 g w",
    "HSETNX h f x",
    "HSETNX h n 1",
    "HSETNX h2 n 1",
    "HMSET h a 1 b 2",
    "HINCRBY h n 2",
    "HINCRBY h3 n 2",
    "HINCRBYFLOAT h n 1.5",
    "HINCRBYFLOAT h4 n 1.5",
    "HDEL h f",
    "HDEL h missing",
    "HDEL nope f",
    "HGET nope f",
    "HGETALL nope",
    "HEXISTS nope f",
    "HLEN nope",
    "HRANDFIELD nope",
    "HDEL h g n a b",
    "HDEL h2 n",
];

const SETS: &[&str] = &[
    "SADD s a b",
    "SADD s a",
    "SREM s a",
    "SREM s zz",
    "SREM nope zz",
    "SPOP s",
    "SPOP s",
    "SADD s 1 2 3 4",
    "? SPOP s 2",
    "SPOP s 0",
    "? SPOP s 5",
    "SADD s a b c",
    "SMOVE s d a",
    "SMOVE s d zz",
    "SMOVE s s b",
    "SMOVE s d b",
    "SMOVE s d c",
    "SMEMBERS nope",
    "SISMEMBER nope a",
    "SCARD nope",
    "SRANDMEMBER nope",
    "SADD x 1 2 3",
    "SADD y 2 3 4",
    "SINTERSTORE i x y",
    "SINTERSTORE i x nope",
    "SINTERSTORE i x nope",
    "SUNIONSTORE u x y",
    "SUNIONSTORE u nope1 nope2",
    "SDIFFSTORE df x y",
    "SDIFFSTORE df x x",
    "SINTER x nope",
    "SUNION nope x",
    "SDIFF nope x",
    "SINTERCARD 2 x y",
    "SMISMEMBER nope a",
];

const LISTS: &[&str] = &[
    "LPUSH l a b",
    "RPUSH l c",
    "LPUSHX l d",
    "LPUSHX nope x",
    "RPUSHX l e",
    "RPUSHX nope e",
    "LINSERT l BEFORE a z",
    "LINSERT l BEFORE notthere z",
    "LINSERT nope BEFORE a z",
    "LSET l 0 q",
    "LREM l 1 q",
    "LREM l 1 notthere",
    "LTRIM l 0 2",
    "LTRIM l 0 -1",
    "LPOP l",
    "RPOP l 2",
    "LPOP nope",
    "LRANGE nope 0 -1",
    "LLEN nope",
    "LINDEX nope 0",
    "LPOS nope a",
    "RPUSH l a b c",
    "LMOVE l l2 LEFT RIGHT",
    "RPOPLPUSH l l2",
    "LMOVE l l LEFT RIGHT",
    "RPOPLPUSH l l2",
    "RPOPLPUSH nope l2",
    "LMPOP 2 nope l2 LEFT COUNT 2",
    "LMPOP 1 l2 RIGHT COUNT 5",
    "LMPOP 1 l2 RIGHT",
    "RPUSH t1 a",
    "LTRIM t1 1 0",
    "RPUSH t2 a",
    "LREM t2 0 a",
    "& BLPOP bl 0",
    "RPUSH bl x y",
    "&reply",
    "& BLPOP bl2 0",
    "RPUSH bl2 x",
    "&reply",
    "& BLMOVE src dst LEFT RIGHT 0",
    "LPUSH src v",
    "&reply",
    "& BRPOPLPUSH src2 dst 0",
    "LPUSH src2 v w",
    "&reply",
    "& BLMPOP 0 1 bm LEFT COUNT 5",
    "RPUSH bm a b",
    "&reply",
    "BLPOP bl 0.01",
    "BLPOP dst 0",
    "RPUSH so 3 1 2",
    "SORT so STORE sd",
    "SORT nope STORE sd",
    "SORT nope STORE sd",
    "SORT so",
    "SORT_RO nope",
];

const ZSETS: &[&str] = &[
    "ZADD z 1 a 2 b",
    "ZADD z 1 a",
    "ZADD z 5 a",
    "ZADD z INCR 5 a",
    "ZADD z NX INCR 5 a",
    "ZINCRBY z 1 b",
    "ZINCRBY z2 1 b",
    "ZADD z XX 3 c",
    "ZADD z GT 1 a",
    "ZADD z CH 7 a 8 d",
    "ZREM z a",
    "ZREM z a",
    "ZREM z2 b",
    "ZADD z 0 x 0 y 0 w 1 p",
    "ZREMRANGEBYSCORE z 1 1",
    "ZREMRANGEBYSCORE z 100 200",
    "ZREMRANGEBYRANK z 0 0",
    "ZADD zl 0 x 0 y 0 w 0 v",
    "ZREMRANGEBYLEX zl [x [y",
    "ZREMRANGEBYLEX zl [a [b",
    "ZREMRANGEBYLEX zl - +",
    "ZADD z 1 a 2 b 3 c",
    "ZPOPMIN z",
    "ZPOPMAX z 2",
    "ZPOPMAX z",
    "ZPOPMIN nope",
    "ZADD z 1 a 2 b 3 c",
    "ZMPOP 1 z MIN COUNT 5",
    "ZMPOP 1 z MIN",
    "ZSCORE nope a",
    "ZRANGE nope 0 -1",
    "ZCARD nope",
    "ZRANK nope a",
    "ZRANDMEMBER nope",
    "ZADD za 1 a 2 b",
    "ZADD zb 3 b 4 c",
    "ZUNIONSTORE zu 2 za zb",
    "ZINTERSTORE zi 2 za zb",
    "ZINTERSTORE zi 2 za nope",
    "ZINTERSTORE zi 2 za nope",
    "ZDIFFSTORE zd 2 za zb",
    "ZDIFFSTORE zd 2 za za",
    "ZRANGESTORE zr za 0 -1",
    "ZRANGESTORE zr za 5 6",
    "ZRANGESTORE zr nope 0 -1",
    "ZUNION 2 nope za",
    "ZINTER 2 za nope",
    "ZDIFF 2 nope za",
    "ZINTERCARD 2 za nope",
    "& BZPOPMIN bz 0",
    "ZADD bz 1 a",
    "&reply",
    "& BZPOPMAX bz 0",
    "ZADD bz 1 a 2 b",
    "&reply",
    "& BZMPOP 0 1 bz2 MIN COUNT 3",
    "ZADD bz2 1 a 2 b",
    "&reply",
];

fn all_scripts() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("keys", KEYS),
        ("strings", STRINGS),
        ("bits_hll", BITS_HLL),
        ("hashes", HASHES),
        ("sets", SETS),
        ("lists", LISTS),
        ("zsets", ZSETS),
    ]
}

#[test]
fn keyspace_events_kea() {
    let runs: Vec<_> = all_scripts()
        .into_iter()
        .map(|(_, s)| ("KEA", false, s))
        .collect();
    compare_all(&runs);
}

#[test]
fn keyspace_events_new_and_keymiss() {
    let runs: Vec<_> = all_scripts()
        .into_iter()
        .map(|(_, s)| ("KEAnm", false, s))
        .collect();
    compare_all(&runs);
}

#[test]
fn keyspace_events_resp3_subscriber() {
    compare_all(&[("KEA", true, KEYS), ("KEAnm", true, LISTS)]);
}

#[test]
fn keyspace_events_subsets() {
    // Only key-event channels for lists; only keyspace channels for generic.
    compare_all(&[
        ("El", false, LISTS),
        ("Kg", false, KEYS),
        ("Kn", false, STRINGS),
        ("Em", false, SETS),
        ("Kn", false, KEYS),
    ]);
}

/// Lazy expiry: the "expired" event comes before the command's own
/// events (and before "keymiss"/"new").
#[test]
fn keyspace_events_lazy_expiry_order() {
    let script: &[&str] = &[
        "DEBUG SET-ACTIVE-EXPIRE 0",
        "SET k v PX 1",
        "SET k2 v PX 1",
        "RPUSH l a",
        "PEXPIRE l 1",
        "!wait 5",
        "GET k",
        "SET k2 v",
        "RPUSH l b",
        "DEBUG SET-ACTIVE-EXPIRE 1",
    ];
    compare("KEAnm", false, script);
}

/// Active expiry: both servers publish "expired" for a key nobody reads.
#[test]
fn keyspace_events_active_expiry() {
    let (ours, theirs) = start_pair("KEA");
    for srv in [ours, theirs] {
        let mut side = Side::open(srv, false);
        side.w.cmd(&["SET", "k", "v", "PX", "10"]);
        let mut got = Vec::new();
        while !got
            .iter()
            .any(|f: &Vec<u8>| f.ends_with(b"expired\r\n$1\r\nk\r\n"))
        {
            got.push(side.sub.read_reply());
        }
        assert!(got
            .iter()
            .any(|f| f.ends_with(b"__keyspace@0__:k\r\n$7\r\nexpired\r\n")));
    }
}
