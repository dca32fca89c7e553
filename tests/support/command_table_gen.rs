//! The generator of the command table's data (src/cmdtable/meta/data*.rs):
//! what a live redis-server 7.0.15 says about every command and
//! subcommand in COMMAND INFO and COMMAND DOCS (asked in RESP3, so maps,
//! sets and integers are explicit) becomes one `Meta` per command, sorted
//! by full name: arity, flags, first/last/step, ACL categories, tips, key
//! specs, and the documentation (summary, since, group, complexity, doc
//! flags, deprecation, history, arguments). A subcommand is the entry
//! named "container|sub".
//!
//! `command_table::generated_command_table_is_redis` renders the files
//! from a live server and asserts they equal the checked-in ones; with
//! FERROKV_REGEN_COMMAND_TABLE=1 it rewrites them instead. Only the facts
//! Redis does not report (handlers, hidden flags such as may_replicate or
//! protected, the getkeys functions, ferrokv's dispatcher facts) are
//! written by hand, in the `CommandSpec`s of src/commands/.

use std::collections::BTreeMap;

/// Where the generated files go, relative to the repository: `data.rs`
/// (the index of the parts) and `data/part_N.rs`.
pub const DIR: &str = "src/cmdtable/meta";
/// A part file ends before this many lines (the repo's file-size rule).
const PART_LINES: usize = 1200;

/// A RESP3 value.
#[derive(Debug, Clone, PartialEq)]
pub enum R {
    Str(String),
    Int(i64),
    Null,
    Array(Vec<R>),
    Set(Vec<R>),
    Map(Vec<(R, R)>),
}

impl R {
    fn str(&self) -> &str {
        match self {
            R::Str(s) => s,
            other => panic!("not a string: {:?}", other),
        }
    }

    fn int(&self) -> i64 {
        match self {
            R::Int(i) => *i,
            other => panic!("not an integer: {:?}", other),
        }
    }

    fn items(&self) -> &[R] {
        match self {
            R::Array(v) | R::Set(v) => v,
            other => panic!("not an array or set: {:?}", other),
        }
    }

    fn get(&self, key: &str) -> Option<&R> {
        match self {
            R::Map(e) => e.iter().find(|(k, _)| k.str() == key).map(|(_, v)| v),
            other => panic!("not a map: {:?}", other),
        }
    }

    fn strs(&self) -> Vec<&str> {
        self.items().iter().map(|v| v.str()).collect()
    }
}

/// Parses one RESP3 reply at `*pos`.
pub fn parse(buf: &[u8], pos: &mut usize) -> R {
    let t = buf[*pos];
    let eol = *pos
        + buf[*pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("CRLF");
    let line = String::from_utf8(buf[*pos + 1..eol].to_vec()).expect("UTF-8 line");
    *pos = eol + 2;
    let n = || -> i64 { line.parse().expect("a length") };
    match t {
        b'+' => R::Str(line),
        b':' => R::Int(n()),
        b'_' => R::Null,
        b'$' | b'=' => {
            if n() < 0 {
                return R::Null;
            }
            let len = n() as usize;
            let mut s = String::from_utf8(buf[*pos..*pos + len].to_vec()).expect("UTF-8 bulk");
            *pos += len + 2;
            if t == b'=' {
                s = s[4..].to_string();
            }
            R::Str(s)
        }
        b'*' | b'~' => {
            let v = (0..n()).map(|_| parse(buf, pos)).collect();
            if t == b'*' {
                R::Array(v)
            } else {
                R::Set(v)
            }
        }
        b'%' => R::Map(
            (0..n())
                .map(|_| {
                    let k = parse(buf, pos);
                    (k, parse(buf, pos))
                })
                .collect(),
        ),
        _ => panic!("unexpected RESP3 type {:?} {:?}", t as char, line),
    }
}

/// A Rust string literal.
fn lit(s: &str) -> String {
    format!("{:?}", s)
}

fn opt(v: Option<&R>) -> String {
    v.map_or("None".into(), |v| format!("Some({})", lit(v.str())))
}

/// A flag set as `prefix::NAME | ...` (0 when empty).
fn flags(set: Option<&R>, prefix: &str, name: impl Fn(&str) -> String) -> String {
    let Some(set) = set else {
        return "0".into();
    };
    let v: Vec<String> = set
        .strs()
        .iter()
        .map(|f| format!("{}{}", prefix, name(f)))
        .collect();
    if v.is_empty() {
        "0".into()
    } else {
        v.join(" | ")
    }
}

/// A command flag's constant in crate::cmdtable.
fn cmd_flag(f: &str) -> String {
    match f {
        "movablekeys" => "MOVABLE_KEYS".into(),
        f => f.to_ascii_uppercase(),
    }
}

fn key_spec(ks: &R) -> String {
    let bs = ks.get("begin_search").expect("begin_search");
    let bspec = bs.get("spec").expect("spec");
    let b = match bs.get("type").expect("type").str() {
        "index" => format!(
            "BeginSearch::Index({})",
            bspec.get("index").expect("index").int()
        ),
        "keyword" => format!(
            "BeginSearch::Keyword({}, {})",
            lit(bspec.get("keyword").expect("keyword").str()),
            bspec.get("startfrom").expect("startfrom").int()
        ),
        "unknown" => "BeginSearch::Unknown".into(),
        t => panic!("begin_search type {}", t),
    };
    let fk = ks.get("find_keys").expect("find_keys");
    let fspec = fk.get("spec").expect("spec");
    let i = |k: &str| fspec.get(k).unwrap_or_else(|| panic!("{}", k)).int();
    let f = match fk.get("type").expect("type").str() {
        "range" => format!(
            "FindKeys::Range {{ lastkey: {}, step: {}, limit: {} }}",
            i("lastkey"),
            i("keystep"),
            i("limit")
        ),
        "keynum" => format!(
            "FindKeys::Keynum {{ keynumidx: {}, firstkey: {}, step: {} }}",
            i("keynumidx"),
            i("firstkey"),
            i("keystep")
        ),
        "unknown" => "FindKeys::Unknown".into(),
        t => panic!("find_keys type {}", t),
    };
    format!(
        "KeySpec {{ notes: {}, flags: {}, bs: {}, fk: {} }}",
        opt(ks.get("notes")),
        flags(ks.get("flags"), "kf::", |f| f.to_ascii_uppercase()),
        b,
        f
    )
}

fn arg_kind(t: &str) -> &'static str {
    match t {
        "string" => "String",
        "integer" => "Integer",
        "double" => "Double",
        "key" => "Key",
        "pattern" => "Pattern",
        "unix-time" => "UnixTime",
        "pure-token" => "PureToken",
        "oneof" => "OneOf",
        "block" => "Block",
        t => panic!("argument type {}", t),
    }
}

fn arg(a: &R, indent: usize, out: &mut Vec<String>) {
    let head = format!(
        "{}Arg {{ name: {}, kind: ArgKind::{}, key_spec_index: {}, token: {}, summary: {}, since: {}, deprecated_since: {}, flags: {}, args: ",
        " ".repeat(indent),
        lit(a.get("name").expect("name").str()),
        arg_kind(a.get("type").expect("type").str()),
        a.get("key_spec_index").map_or(-1, |v| v.int()),
        opt(a.get("token")),
        opt(a.get("summary")),
        opt(a.get("since")),
        opt(a.get("deprecated_since")),
        flags(a.get("flags"), "af::", |f| f.to_ascii_uppercase()),
    );
    let sub = a.get("arguments").map_or(&[][..], |v| v.items());
    if sub.is_empty() {
        out.push(head + "&[] },");
        return;
    }
    out.push(head + "&[");
    for s in sub {
        arg(s, indent + 4, out);
    }
    out.push(format!("{}] }},", " ".repeat(indent)));
}

/// One command's lines, from its COMMAND INFO entry and DOCS map.
fn meta(info: &R, docs: &R) -> Vec<String> {
    let f = info.items();
    let name = f[0].str();
    let acl: Vec<String> = f[6]
        .strs()
        .iter()
        .map(|c| format!("cat::{}", c.trim_start_matches('@').to_ascii_uppercase()))
        .collect();
    let mut l = vec![format!(
        "    Meta {{ name: {}, arity: {}, flags: {}, keys: ({}, {}, {}),",
        lit(name),
        f[1].int(),
        flags(Some(&f[2]), "", cmd_flag),
        f[3].int(),
        f[4].int(),
        f[5].int(),
    )];
    l.push(format!(
        "        acl: {}, tips: &[{}],",
        if acl.is_empty() {
            "0".into()
        } else {
            acl.join(" | ")
        },
        f[7].strs()
            .iter()
            .map(|t| lit(t))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    l.push(format!(
        "        summary: {}, since: {}, group: {},",
        opt(docs.get("summary")),
        opt(docs.get("since")),
        lit(docs.get("group").expect("group").str())
    ));
    l.push(format!(
        "        complexity: {},",
        opt(docs.get("complexity"))
    ));
    let history: Vec<String> = docs.get("history").map_or(Vec::new(), |h| {
        h.items()
            .iter()
            .map(|e| {
                let e = e.items();
                format!("({}, {})", lit(e[0].str()), lit(e[1].str()))
            })
            .collect()
    });
    l.push(format!(
        "        doc_flags: {}, deprecated_since: {}, replaced_by: {}, history: &[{}],",
        flags(docs.get("doc_flags"), "df::", |f| f.to_ascii_uppercase()),
        opt(docs.get("deprecated_since")),
        opt(docs.get("replaced_by")),
        history.join(", ")
    ));
    let specs: Vec<String> = f[8].items().iter().map(key_spec).collect();
    l.push(format!("        key_specs: &[{}],", specs.join(", ")));
    let args = docs.get("arguments").map_or(&[][..], |v| v.items());
    if args.is_empty() {
        l.push("        args: &[] },".into());
    } else {
        l.push("        args: &[".into());
        for a in args {
            arg(a, 12, &mut l);
        }
        l.push("        ] },".into());
    }
    l
}

/// Every command and subcommand: full name -> (INFO entry, DOCS map).
fn collect(info: &R, docs: &R) -> BTreeMap<String, (R, R)> {
    fn docs_of(docs: &R, out: &mut BTreeMap<String, R>) {
        let R::Map(all) = docs else {
            panic!("COMMAND DOCS: not a map")
        };
        for (name, d) in all {
            out.insert(name.str().to_string(), d.clone());
            if let Some(subs) = d.get("subcommands") {
                docs_of(subs, out);
            }
        }
    }
    fn info_of(info: &R, out: &mut BTreeMap<String, R>) {
        for e in info.items() {
            out.insert(e.items()[0].str().to_string(), e.clone());
            info_of(&e.items()[9], out);
        }
    }
    let (mut i, mut d) = (BTreeMap::new(), BTreeMap::new());
    info_of(info, &mut i);
    docs_of(docs, &mut d);
    let names_i: Vec<&String> = i.keys().collect();
    let names_d: Vec<&String> = d.keys().collect();
    assert_eq!(
        names_i, names_d,
        "COMMAND INFO and DOCS name other commands"
    );
    i.into_iter()
        .map(|(n, info)| {
            let docs = d.remove(&n).expect("docs");
            (n, (info, docs))
        })
        .collect()
}

/// The generated files (name, content) from the replies to COMMAND INFO
/// and COMMAND DOCS of a RESP3 connection.
pub fn render(info_reply: &[u8], docs_reply: &[u8]) -> Vec<(String, String)> {
    let info = parse(info_reply, &mut 0);
    let docs = parse(docs_reply, &mut 0);
    let all = collect(&info, &docs);
    let header = "//! Generated from a live redis-server 7.0.15's COMMAND INFO and COMMAND\n\
                  //! DOCS by tests/support/command_table_gen.rs: do not edit. The test\n\
                  //! `command_table::generated_command_table_is_redis` checks it; run it\n\
                  //! with FERROKV_REGEN_COMMAND_TABLE=1 to rewrite it.\n\
                  //!\n";
    let mut parts: Vec<(Vec<String>, String, String)> = Vec::new();
    for (name, (i, d)) in &all {
        let lines = meta(i, d);
        let start_new = parts
            .last()
            .is_none_or(|(l, _, _)| l.len() + lines.len() > PART_LINES);
        if start_new {
            parts.push((Vec::new(), name.clone(), String::new()));
        }
        let p = parts.last_mut().expect("a part");
        p.0.extend(lines);
        p.2 = name.clone();
    }
    let mut files = Vec::new();
    let mut index = format!(
        "{}//! The index of the parts ({} commands and subcommands).\n\n",
        header,
        all.len()
    );
    for n in 1..=parts.len() {
        index.push_str(&format!("mod part_{};\n", n));
    }
    index.push_str(&format!(
        "\n/// Every part, each sorted by full name, in order.\npub(super) static PARTS: [&[super::Meta]; {}] = [{}];\n",
        parts.len(),
        (1..=parts.len())
            .map(|n| format!("part_{}::PART", n))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    files.push(("data.rs".to_string(), index));
    for (n, (lines, first, last)) in parts.into_iter().enumerate() {
        let mut s = format!(
            "{}//! Commands `{}` to `{}`.\n\n\
             #[allow(unused_imports)]\n\
             use crate::cmdtable::meta::{{af, df, kf, Arg, ArgKind, BeginSearch, FindKeys, KeySpec, Meta}};\n\
             #[allow(unused_imports)]\n\
             use crate::cmdtable::*;\n\n\
             pub(crate) static PART: &[Meta] = &[\n",
            header, first, last
        );
        for l in lines {
            s.push_str(&l);
            s.push('\n');
        }
        s.push_str("];\n");
        files.push((format!("data/part_{}.rs", n + 1), s));
    }
    files
}
