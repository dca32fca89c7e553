#!/usr/bin/env python3
"""Generates src/cmdtable/meta/data_*.rs from Redis 7.0.15's command JSON.

    tests/support/gen_command_meta.py [REDIS_SRC]

REDIS_SRC is a Redis 7.0.15 source tree (default /tmp/suite/redis-7.0.15,
which tests/support/redis_suite.sh unpacks); its src/commands/*.json are the
files Redis's own utils/generate-command-code.py turns into commands.c.
What they say about a command's documentation (COMMAND DOCS: summary, since,
group, complexity, doc flags, deprecation, history, arguments) and its keys
(COMMAND INFO: tips, key specs; COMMAND GETKEYS: the key-finding function)
becomes one `Meta` per command and subcommand, sorted by full name, split
over a few files. Arity, flags and ACL categories stay in the command table
(`CommandSpec`), which src/cmdtable/meta/mod.rs's tests check against this.
"""
import glob
import json
import os
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "/tmp/suite/redis-7.0.15"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "cmdtable", "meta")
PARTS = 3

ARG_KINDS = {
    "string": "String",
    "integer": "Integer",
    "double": "Double",
    "key": "Key",
    "pattern": "Pattern",
    "unix-time": "UnixTime",
    "pure-token": "PureToken",
    "oneof": "OneOf",
    "block": "Block",
}

# Redis's getkeys_proc functions (db.c), as `GetKeys` variants.
GETKEYS = {
    "sintercardGetKeys": "GetKeys::Generic { store: 0, count: 1, first: 2 }",
    "zunionInterDiffGetKeys": "GetKeys::Generic { store: 0, count: 1, first: 2 }",
    "zunionInterDiffStoreGetKeys": "GetKeys::Generic { store: 1, count: 2, first: 3 }",
    "evalGetKeys": "GetKeys::Generic { store: 0, count: 2, first: 3 }",
    "functionGetKeys": "GetKeys::Generic { store: 0, count: 2, first: 3 }",
    "lmpopGetKeys": "GetKeys::Generic { store: 0, count: 1, first: 2 }",
    "blmpopGetKeys": "GetKeys::Generic { store: 0, count: 2, first: 3 }",
    "zmpopGetKeys": "GetKeys::Generic { store: 0, count: 1, first: 2 }",
    "bzmpopGetKeys": "GetKeys::Generic { store: 0, count: 2, first: 3 }",
    "sortGetKeys": "GetKeys::Sort",
    "sortROGetKeys": "GetKeys::SortRo",
    "migrateGetKeys": "GetKeys::Migrate",
    "georadiusGetKeys": "GetKeys::Georadius",
    "xreadGetKeys": "GetKeys::Xread",
    "setGetKeys": "GetKeys::Set",
    "bitfieldGetKeys": "GetKeys::Bitfield",
}


def rs(s):
    """A Rust string literal of what Redis's generated C literal holds:
    generate-command-code.py writes JSON strings between quotes unescaped,
    so a quote inside ends one C literal and starts the next (MIGRATE's
    `""` token is the empty string in Redis's table)."""
    s = s.replace('"', "")
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def opt(v):
    return "Some(%s)" % rs(v) if v else "None"


def flags(names, prefix):
    if not names:
        return "0"
    return " | ".join("%s%s" % (prefix, n.upper()) for n in names)


def key_spec(spec):
    bs = spec["begin_search"]
    if bs.get("index"):
        b = "BeginSearch::Index(%d)" % bs["index"]["pos"]
    elif bs.get("keyword"):
        b = "BeginSearch::Keyword(%s, %d)" % (rs(bs["keyword"]["keyword"]), bs["keyword"]["startfrom"])
    else:
        b = "BeginSearch::Unknown"
    fk = spec["find_keys"]
    if fk.get("range"):
        r = fk["range"]
        f = "FindKeys::Range { lastkey: %d, step: %d, limit: %d }" % (r["lastkey"], r["step"], r["limit"])
    elif fk.get("keynum"):
        k = fk["keynum"]
        f = "FindKeys::Keynum { keynumidx: %d, firstkey: %d, step: %d }" % (
            k["keynumidx"], k["firstkey"], k["step"])
    else:
        f = "FindKeys::Unknown"
    return "KeySpec { notes: %s, flags: %s, bs: %s, fk: %s }" % (
        opt(spec.get("notes")), flags(spec.get("flags", []), "kf::"), b, f)


def arg(a, indent):
    fl = []
    for name in ("optional", "multiple", "multiple_token"):
        if a.get(name):
            fl.append(name)
    head = "%sArg { name: %s, kind: ArgKind::%s, key_spec_index: %d, token: %s, summary: %s, since: %s, deprecated_since: %s, flags: %s, args: " % (
        " " * indent,
        rs(a["name"].lower()),
        ARG_KINDS[a["type"]],
        a.get("key_spec_index", -1),
        opt(a["token"].upper() if a.get("token") else None),
        opt(a.get("summary")),
        opt(a.get("since")),
        opt(a.get("deprecated_since")),
        flags(fl, "af::"),
    )
    sub = a.get("arguments", []) if a["type"] in ("oneof", "block") else []
    if not sub:
        return [head + "&[] },"]
    lines = [head + "&["]
    for s in sub:
        lines += arg(s, indent + 4)
    lines.append(" " * indent + "] },")
    return lines


def meta(fullname, c):
    hist = c.get("history") or []
    specs = c.get("key_specs", [])
    gk = c.get("get_keys_function")
    L = ["    Meta { name: %s, summary: %s, since: %s, group: %s," % (
        rs(fullname), opt(c.get("summary")), opt(c.get("since")), rs(c["group"].replace("_", "-")))]
    L.append("        complexity: %s," % opt(c.get("complexity")))
    L.append("        doc_flags: %s, deprecated_since: %s, replaced_by: %s, history: &[%s], tips: &[%s], getkeys: %s," % (
        flags(c.get("doc_flags", []), "df::"), opt(c.get("deprecated_since")), opt(c.get("replaced_by")),
        ", ".join("(%s, %s)" % (rs(h[0]), rs(h[1])) for h in hist),
        ", ".join(rs(t.lower()) for t in c.get("command_tips", [])),
        "Some(%s)" % GETKEYS[gk] if gk else "None"))
    L.append("        key_specs: &[%s]," % ", ".join(key_spec(s) for s in specs))
    args = c.get("arguments", [])
    if args:
        L.append("        args: &[")
        for a in args:
            L += arg(a, 12)
        L.append("        ] },")
    else:
        L.append("        args: &[] },")
    return L


def main():
    metas = []
    for path in sorted(glob.glob(os.path.join(SRC, "src", "commands", "*.json"))):
        with open(path) as f:
            d = json.load(f)
        for name, c in d.items():
            # Sentinel's own commands exist only in a sentinel's table.
            if c["group"] == "sentinel":
                continue
            full = name.lower()
            if c.get("container"):
                full = c["container"].lower() + "|" + full
            metas.append((full, c))
    metas.sort(key=lambda m: m[0])
    blocks = [meta(n, c) for n, c in metas]
    total = sum(len(b) for b in blocks)
    per = total // PARTS + 1
    parts, cur, size = [], [], 0
    for b in blocks:
        if size >= per and len(parts) < PARTS - 1:
            parts.append(cur)
            cur, size = [], 0
        cur.append(b)
        size += len(b)
    parts.append(cur)
    for i, part in enumerate(parts, 1):
        first = part[0][0].split('"')[1]
        last = part[-1][0].split('"')[1]
        with open(os.path.join(OUT, "data_%d.rs" % i), "w") as f:
            f.write("//! Generated by tests/support/gen_command_meta.py from Redis 7.0.15's\n")
            f.write("//! src/commands/*.json: do not edit. Commands `%s` to `%s`.\n\n" % (first, last))
            f.write("use super::{af, df, kf, Arg, ArgKind, BeginSearch, FindKeys, GetKeys, KeySpec, Meta};\n\n")
            f.write("pub(super) static PART: &[Meta] = &[\n")
            for b in part:
                f.write("\n".join(b) + "\n")
            f.write("];\n")
    print("%d commands in %d files" % (len(metas), len(parts)))


main()
