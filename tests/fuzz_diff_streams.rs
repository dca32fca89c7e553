//! Randomized differential test for streams: a seeded generator sends the
//! same random stream commands (XADD with trimming, XDEL, XTRIM, ranges,
//! XINFO, DUMP, and the consumer group commands) to ferrokv and to a real
//! redis-server 7.0 started with tiny stream node limits, and compares the
//! raw replies byte for byte (RESP2 and RESP3). Keys `a`/`b` never get
//! groups, so their DUMP payloads and XINFO STREAM FULL are deterministic
//! and compared too; time-dependent replies (idle times, consumer seen
//! times) are never requested. DEBUG DIGEST is compared every few commands.
//!
//! stream-node-max-bytes stays >= 500: with small values (e.g. 160..300)
//! Redis 7.0.15 itself corrupts streams and crashes (reproduced with
//! max-entries 0, max-bytes 243: `XADD a 221-1 f v g foo`, `XADD a 223-2 1
//! 12345678901 k "" g ""`, `XADD a MAXLEN = 1 224-5 1 <227 x> 1 007 f v`
//! kills it with SIGSEGV), so it cannot serve as the reference there.
//!
//! Env: FUZZ_SEED (default fixed), FUZZ_ITERS (default 4000).

use crate::common;

use common::{escape, RealRedis, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DEFAULT_SEED: u64 = 0x7374_7265_616d_7331;
const DEFAULT_ITERS: usize = 4000;

const SERVER_ARGS: &[&str] = &[
    "--stream-node-max-entries",
    "4",
    "--stream-node-max-bytes",
    "1000",
    "--enable-debug-command",
    "yes",
];

const DATA_KEYS: &[&str] = &["a", "b"];
const GROUP_KEYS: &[&str] = &["c", "d"];
const GROUPS: &[&str] = &["g1", "g2", "g3"];
const CONSUMERS: &[&str] = &["alice", "bob", "carol"];

struct Gen {
    rng: StdRng,
    /// Highest ms used so far in generated IDs.
    ms: u64,
}

impl Gen {
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.rng.gen_range(0..xs.len())]
    }

    fn chance(&mut self, pct: u32) -> bool {
        self.rng.gen_range(0..100) < pct
    }

    fn any_key(&mut self) -> String {
        if self.chance(3) {
            return "nokey".into();
        }
        if self.chance(50) {
            self.pick(DATA_KEYS).into()
        } else {
            self.pick(GROUP_KEYS).into()
        }
    }

    /// An ID around what was generated so far.
    fn id(&mut self) -> String {
        match self.rng.gen_range(0..20) {
            0 => "0-0".into(),
            1 => "bad".into(),
            2 => self.rng.gen_range(0..=self.ms + 1).to_string(),
            _ => format!(
                "{}-{}",
                self.rng.gen_range(0..=self.ms + 1),
                self.rng.gen_range(0..6)
            ),
        }
    }

    fn range_id(&mut self, end: bool) -> String {
        match self.rng.gen_range(0..8) {
            0 => (if end { "+" } else { "-" }).into(),
            1 => format!("({}", self.id()),
            _ => self.id(),
        }
    }

    fn value(&mut self) -> String {
        match self.rng.gen_range(0..12) {
            0 => "x".repeat(self.rng.gen_range(50..300)),
            1 => self.rng.gen_range(-100000i64..100000).to_string(),
            2 => "".into(),
            3 => "9223372036854775807".into(),
            _ => self
                .pick(&["v", "1", "-1", "foo", "007", "12345678901"])
                .into(),
        }
    }

    fn fields(&mut self, out: &mut Vec<String>) {
        let n = self.rng.gen_range(1..4);
        let same = self.chance(60);
        for i in 0..n {
            let f = if same {
                ["f", "g", "h"][i].to_string()
            } else {
                self.pick(&["f", "g", "h", "1", "k"]).to_string()
            };
            out.push(f);
            out.push(self.value());
        }
        if self.chance(3) {
            out.pop(); // odd count
        }
    }

    fn trim(&mut self, out: &mut Vec<String>, xadd: bool) {
        if xadd && !self.chance(30) {
            return;
        }
        if self.chance(70) {
            out.push("MAXLEN".into());
        } else {
            out.push("MINID".into());
        }
        let approx = self.chance(50);
        if self.chance(80) {
            out.push((if approx { "~" } else { "=" }).into());
        }
        if out.iter().any(|x| x == "MINID") {
            let id = self.id();
            out.push(id);
        } else {
            out.push(self.rng.gen_range(-1i64..12).to_string());
        }
        if approx && self.chance(40) {
            out.push("LIMIT".into());
            out.push(self.rng.gen_range(0..10).to_string());
        }
    }

    fn xadd(&mut self, key: String) -> Vec<String> {
        let mut a = vec!["XADD".to_string(), key];
        if self.chance(5) {
            a.push("NOMKSTREAM".into());
        }
        self.trim(&mut a, true);
        let id = match self.rng.gen_range(0..10) {
            0 => self.id(),
            1 => format!("{}-*", self.ms),
            _ => {
                if self.chance(50) {
                    self.ms += 1;
                }
                format!("{}-{}", self.ms, self.rng.gen_range(0..8))
            }
        };
        a.push(id);
        self.fields(&mut a);
        a
    }

    fn data_cmd(&mut self) -> Vec<String> {
        let key = self.any_key();
        let s = |x: &str| x.to_string();
        match self.rng.gen_range(0..20) {
            0..=6 => self.xadd(key),
            7 | 8 => {
                let mut a = vec![s("XDEL"), key];
                for _ in 0..self.rng.gen_range(1..4) {
                    a.push(self.id());
                }
                a
            }
            9 | 19 => {
                let mut a = vec![s("XTRIM"), key];
                self.trim(&mut a, false);
                a
            }
            10 | 11 => {
                let rev = self.chance(40);
                let mut a = vec![s(if rev { "XREVRANGE" } else { "XRANGE" }), key];
                let (x, y) = (self.range_id(false), self.range_id(true));
                if rev {
                    a.extend([y, x]);
                } else {
                    a.extend([x, y]);
                }
                if self.chance(40) {
                    a.push(s("COUNT"));
                    a.push(self.rng.gen_range(-1..5).to_string());
                }
                a
            }
            12 => vec![s("XLEN"), key],
            13 => vec![s("XINFO"), s("STREAM"), key],
            14 => {
                let k = self.pick(DATA_KEYS).to_string();
                let c = self.rng.gen_range(0..4).to_string();
                vec![s("XINFO"), s("STREAM"), k, s("FULL"), s("COUNT"), c]
            }
            15 | 16 => vec![s("DUMP"), self.pick(DATA_KEYS).to_string()],
            17 => {
                let mut a = vec![s("XSETID"), key, self.id()];
                if self.chance(40) {
                    a.push(s("ENTRIESADDED"));
                    a.push(self.rng.gen_range(-1..40).to_string());
                }
                if self.chance(40) {
                    a.push(s("MAXDELETEDID"));
                    a.push(self.id());
                }
                a
            }
            18 => {
                let (name, v) = if self.chance(50) {
                    (
                        "stream-node-max-entries",
                        self.rng.gen_range(0..6).to_string(),
                    )
                } else {
                    (
                        "stream-node-max-bytes",
                        self.rng.gen_range(500..2000).to_string(),
                    )
                };
                vec![s("CONFIG"), s("SET"), s(name), v]
            }
            _ => vec![s("DEL"), key],
        }
    }

    fn group_cmd(&mut self) -> Vec<String> {
        let key = if self.chance(5) {
            "nokey".to_string()
        } else {
            self.pick(GROUP_KEYS).to_string()
        };
        let g = self.pick(GROUPS).to_string();
        let c = self.pick(CONSUMERS).to_string();
        let s = |x: &str| x.to_string();
        match self.rng.gen_range(0..22) {
            0 | 1 => {
                let id = if self.chance(30) { s("$") } else { self.id() };
                let mut a = vec![s("XGROUP"), s("CREATE"), key, g, id];
                if self.chance(40) {
                    a.push(s("MKSTREAM"));
                }
                if self.chance(30) {
                    a.push(s("ENTRIESREAD"));
                    a.push(self.rng.gen_range(-2..20).to_string());
                }
                a
            }
            2 => {
                let id = if self.chance(30) { s("$") } else { self.id() };
                let mut a = vec![s("XGROUP"), s("SETID"), key, g, id];
                if self.chance(40) {
                    a.push(s("ENTRIESREAD"));
                    a.push(self.rng.gen_range(-2..20).to_string());
                }
                a
            }
            3 => vec![s("XGROUP"), s("DESTROY"), key, g],
            4 => vec![s("XGROUP"), s("CREATECONSUMER"), key, g, c],
            5 => vec![s("XGROUP"), s("DELCONSUMER"), key, g, c],
            6..=10 => {
                let mut a = vec![s("XREADGROUP"), s("GROUP"), g, c];
                if self.chance(50) {
                    a.push(s("COUNT"));
                    a.push(self.rng.gen_range(0..4).to_string());
                }
                if self.chance(20) {
                    a.push(s("NOACK"));
                }
                a.push(s("STREAMS"));
                a.push(key);
                a.push(if self.chance(70) { s(">") } else { self.id() });
                a
            }
            11 | 12 => {
                let mut a = vec![s("XACK"), key, g];
                for _ in 0..self.rng.gen_range(1..4) {
                    a.push(self.id());
                }
                a
            }
            13 => vec![s("XPENDING"), key, g],
            14 | 15 => {
                let idle = s(if self.chance(70) { "0" } else { "100000000" });
                let mut a = vec![s("XCLAIM"), key, g, c, idle];
                for _ in 0..self.rng.gen_range(1..4) {
                    a.push(self.id());
                }
                if self.chance(60) {
                    a.push(s("JUSTID"));
                }
                if self.chance(30) {
                    a.push(s("FORCE"));
                }
                if self.chance(20) {
                    a.push(s("RETRYCOUNT"));
                    a.push(self.rng.gen_range(0..5).to_string());
                }
                if self.chance(20) {
                    a.push(s("LASTID"));
                    a.push(self.id());
                }
                a
            }
            16 => {
                let idle = s(if self.chance(70) { "0" } else { "100000000" });
                let mut a = vec![s("XAUTOCLAIM"), key, g, c, idle, self.range_id(false)];
                if self.chance(50) {
                    a.push(s("COUNT"));
                    a.push(self.rng.gen_range(0..4).to_string());
                }
                if self.chance(50) {
                    a.push(s("JUSTID"));
                }
                a
            }
            17 | 18 => vec![s("XINFO"), s("GROUPS"), key],
            19 => vec![s("XINFO"), s("STREAM"), key],
            20 => vec![s("XLEN"), key],
            _ => self.xadd(key),
        }
    }

    fn command(&mut self) -> Vec<String> {
        if self.chance(55) {
            self.data_cmd()
        } else {
            self.group_cmd()
        }
    }
}

#[test]
fn streams_match_real_redis() {
    let seed = common::env_u64("FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let iters = common::env_u64("FUZZ_ITERS").unwrap_or(DEFAULT_ITERS as u64) as usize;
    let ours = Server::start(SERVER_ARGS);
    let real = RealRedis::start_with(SERVER_ARGS);
    let mut oc = [ours.conn(), ours.conn()];
    let mut rc = [real.conn(), real.conn()];
    for c in oc.iter().chain(rc.iter()) {
        c.set_read_timeout(std::time::Duration::from_secs(30));
    }
    for c in [&mut oc[1], &mut rc[1]] {
        let r = c.cmd(&["HELLO", "3"]);
        assert_eq!(r[0], b'%', "HELLO 3");
    }
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
        ms: 1,
    };
    let mut history: Vec<String> = Vec::new();
    for i in 0..iters {
        let args = g.command();
        let proto = if g.chance(25) { 1 } else { 0 };
        let argv: Vec<&str> = args.iter().map(|a| a.as_str()).collect();
        history.push(format!("RESP{} {}", proto + 2, argv.join(" ")));
        let got = oc[proto].cmd(&argv);
        let want = rc[proto].cmd(&argv);
        let mut bad = None;
        if got != want {
            bad = Some(format!(
                "cmd #{i} RESP{}: {}\n  ferrokv: {}\n  redis:   {}",
                proto + 2,
                argv.join(" "),
                escape(&got),
                escape(&want)
            ));
        } else if i % 25 == 24 {
            let got = oc[0].cmd(&["DEBUG", "DIGEST"]);
            let want = rc[0].cmd(&["DEBUG", "DIGEST"]);
            if got != want {
                let mut why = String::new();
                for k in ["a", "b", "c", "d"] {
                    for q in [
                        &["DEBUG", "DIGEST-VALUE", k][..],
                        &["XRANGE", k, "-", "+"][..],
                        &["XINFO", "STREAM", k][..],
                    ] {
                        let (x, y) = (oc[0].cmd(q), rc[0].cmd(q));
                        if x != y {
                            why += &format!(
                                "\n  {:?}\n    ferrokv: {}\n    redis:   {}",
                                q,
                                escape(&x),
                                escape(&y)
                            );
                        }
                    }
                }
                bad = Some(format!("after cmd #{i}: DEBUG DIGEST differs{why}"));
            }
        }
        if let Some(msg) = bad {
            ours.assert_no_panic();
            if let Some(path) = std::env::var_os("FUZZ_HISTORY") {
                let _ = std::fs::write(path, history.join("\n"));
            }
            let tail = history[history.len().saturating_sub(40)..].join("\n    ");
            panic!("seed {seed:#x} {msg}\n  last commands:\n    {tail}");
        }
    }
    ours.assert_no_panic();
}
