//! Finding a command's keys from its key specs, with Redis's getkeys
//! functions as the fallback (db.c getKeysFromCommandWithSpecs,
//! getKeysUsingKeySpecs and the *GetKeys functions) — what COMMAND GETKEYS
//! and GETKEYSANDFLAGS report, with each key's flags.

use super::{kf, BeginSearch, FindKeys, GetKeys, Meta};
use crate::util::num::atoi;

/// A key argument: its position in argv and its key-spec flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: u16,
}

/// doesCommandHaveKeys: a getkeys function `g` or a key spec that names
/// keys.
pub fn has_keys(m: &Meta, g: Option<GetKeys>) -> bool {
    g.is_some() || m.key_specs.iter().any(|k| k.flags & kf::NOT_KEY == 0)
}

/// getKeysFromCommandWithSpecs: the key specs when they are complete and
/// their flags fixed, else the command's getkeys function `g`. `argv` is
/// the whole command.
pub fn get_keys(m: &Meta, g: Option<GetKeys>, argv: &[&[u8]]) -> Vec<KeyRef> {
    let has_keyspec = m.key_specs.iter().any(|k| k.flags & kf::NOT_KEY == 0);
    let varflags = m
        .key_specs
        .iter()
        .any(|k| k.flags & kf::VARIABLE_FLAGS != 0);
    if has_keyspec && !varflags {
        if let Some(keys) = using_key_specs(m, m.arity, argv) {
            return keys;
        }
    }
    match g {
        Some(g) => using_function(g, argv),
        None => Vec::new(),
    }
}

/// string2ll of a whole argument.
fn parse_ll(b: &[u8]) -> Option<i64> {
    crate::util::num::parse_i64(b)
}

/// getKeysUsingKeySpecs; None for an invalid or incomplete spec (the
/// caller falls back to the getkeys function).
fn using_key_specs(m: &Meta, arity: i32, argv: &[&[u8]]) -> Option<Vec<KeyRef>> {
    let argc = argv.len() as i64;
    let mut keys = Vec::new();
    for spec in m.key_specs {
        if spec.flags & kf::NOT_KEY != 0 {
            continue;
        }
        let mut first: i64 = match spec.bs {
            BeginSearch::Index(p) => p as i64,
            BeginSearch::Keyword(kw, startfrom) => {
                let from = startfrom as i64;
                let start = if from > 0 { from } else { argc + from };
                let end = if from > 0 { argc - 1 } else { 1 };
                let mut found = 0;
                let mut i = start;
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if argv[i as usize].eq_ignore_ascii_case(kw.as_bytes()) {
                        found = i + 1;
                        break;
                    }
                    i += if start <= end { 1 } else { -1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            BeginSearch::Unknown => return None,
        };
        let (last, step) = match spec.fk {
            FindKeys::Range {
                lastkey,
                step,
                limit,
            } => {
                let (lastkey, limit) = (lastkey as i64, limit as i64);
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, step as i64)
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                step,
            } => {
                let idx = first + keynumidx as i64;
                if keynumidx as i64 >= argc || idx >= argc {
                    return None;
                }
                let n = parse_ll(argv[idx as usize]).filter(|&n| n >= 0)?;
                first += firstkey as i64;
                (first + n - 1, step as i64)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            // Only variadic commands may fall short here (their handler
            // reports the arity or syntax error).
            if (i >= argc || i < first) && arity < 0 {
                i += step.max(1);
                continue;
            }
            keys.push(KeyRef {
                pos: i as usize,
                flags: spec.flags,
            });
            i += step.max(1);
        }
        if spec.flags & kf::INCOMPLETE != 0 {
            return None;
        }
    }
    Some(keys)
}

fn key(pos: usize, flags: u16) -> KeyRef {
    KeyRef { pos, flags }
}

/// Redis's getkeys_proc functions, with the flags they report.
pub fn using_function(g: GetKeys, argv: &[&[u8]]) -> Vec<KeyRef> {
    let argc = argv.len();
    let is = |i: usize, s: &str| argv[i].eq_ignore_ascii_case(s.as_bytes());
    match g {
        GetKeys::Generic {
            store,
            count,
            first,
        } => {
            let (store, count, first) = (store as usize, count as usize, first as usize);
            let Some(c) = argv.get(count) else {
                return Vec::new();
            };
            let num = atoi(c);
            if num < 1 || num > argc.saturating_sub(first) as i64 {
                return Vec::new();
            }
            let mut v: Vec<KeyRef> = (first..first + num as usize).map(|p| key(p, 0)).collect();
            if store != 0 {
                v.push(key(store, 0));
            }
            v
        }
        GetKeys::SortRo => vec![key(1, kf::RO | kf::ACCESS)],
        GetKeys::Sort => {
            let mut v = vec![key(1, kf::RO | kf::ACCESS)];
            let mut store = None;
            let mut i = 2;
            while i < argc {
                // LIMIT skips 2 arguments, GET and BY one; the last STORE wins.
                if is(i, "limit") {
                    i += 2;
                } else if is(i, "get") || is(i, "by") {
                    i += 1;
                } else if is(i, "store") && i + 1 < argc {
                    store = Some(i + 1);
                }
                i += 1;
            }
            v.extend(store.map(|p| key(p, kf::OW | kf::UPDATE)));
            v
        }
        GetKeys::Migrate => migrate_key_positions(argv)
            .into_iter()
            .map(|p| key(p, kf::RW | kf::ACCESS | kf::DELETE))
            .collect(),
        GetKeys::Georadius => {
            let mut stored = None;
            let mut i = 5;
            while i < argc {
                if (is(i, "store") || is(i, "storedist")) && i + 1 < argc {
                    stored = Some(i + 1);
                    i += 1;
                }
                i += 1;
            }
            let mut v = vec![key(1, 0)];
            v.extend(stored.map(|p| key(p, 0)));
            v
        }
        GetKeys::Xread => {
            let mut streams = None;
            let mut i = 1;
            while i < argc {
                if is(i, "block") || is(i, "count") {
                    i += 1;
                } else if is(i, "group") {
                    i += 2;
                } else if is(i, "noack") {
                } else if is(i, "streams") {
                    streams = Some(i);
                    break;
                } else {
                    break;
                }
                i += 1;
            }
            let Some(s) = streams else {
                return Vec::new();
            };
            let num = argc - s - 1;
            if num == 0 || !num.is_multiple_of(2) {
                return Vec::new();
            }
            (s + 1..s + 1 + num / 2).map(|p| key(p, 0)).collect()
        }
        GetKeys::Set => {
            let get = (3..argc).any(|i| is(i, "get"));
            let flags = if get {
                kf::RW | kf::ACCESS | kf::UPDATE
            } else {
                kf::OW | kf::UPDATE
            };
            vec![key(1, flags)]
        }
        GetKeys::Bitfield => {
            let mut readonly = true;
            let mut i = 2;
            while i < argc {
                let rem = argc - i - 1;
                if is(i, "get") && rem >= 2 {
                    i += 2;
                } else if (is(i, "set") || is(i, "incrby")) && rem >= 3 {
                    readonly = false;
                    break;
                } else if is(i, "overflow") && rem >= 1 {
                    i += 1;
                } else {
                    readonly = false;
                    break;
                }
                i += 1;
            }
            let flags = if readonly {
                kf::RO | kf::ACCESS
            } else {
                kf::RW | kf::ACCESS | kf::UPDATE
            };
            vec![key(1, flags)]
        }
    }
}

/// The key positions COMMAND GETKEYS reports (migrateGetKeys): the key
/// argument, or everything after KEYS when the key argument is empty.
fn migrate_key_positions(argv: &[&[u8]]) -> Vec<usize> {
    let (mut first, mut num) = (3, 1);
    let mut i = 6;
    while i < argv.len() {
        let a = argv[i];
        if a.eq_ignore_ascii_case(b"keys") {
            if !argv[3].is_empty() {
                num = 0;
            } else {
                first = i + 1;
                num = argv.len() - first;
            }
            break;
        }
        if a.eq_ignore_ascii_case(b"auth") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"auth2") {
            i += 2;
        }
        i += 1;
    }
    (first..first + num).filter(|&p| p < argv.len()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(cmd: &str, arity: i32) -> Vec<(String, u16)> {
        let argv: Vec<&[u8]> = cmd.split(' ').map(|s| s.as_bytes()).collect();
        let t = crate::commands::table();
        let e = &t.entries[t.lookup(argv[0]).expect("command")];
        assert_eq!(e.arity, arity);
        get_keys(e.meta, e.spec.getkeys, &argv)
            .into_iter()
            .map(|k| (String::from_utf8_lossy(argv[k.pos]).into_owned(), k.flags))
            .collect()
    }

    #[test]
    fn specs_and_functions() {
        use kf::*;
        assert_eq!(keys("SET k1 v1", -3), vec![("k1".into(), OW | UPDATE)]);
        assert_eq!(
            keys("SET k1 v1 GET", -3),
            vec![("k1".into(), RW | ACCESS | UPDATE)]
        );
        assert_eq!(
            keys("LMOVE k1 k2 left right", 5),
            vec![
                ("k1".into(), RW | ACCESS | DELETE),
                ("k2".into(), RW | INSERT)
            ]
        );
        assert_eq!(
            keys("SORT k1 STORE k2", -2),
            vec![("k1".into(), RO | ACCESS), ("k2".into(), OW | UPDATE)]
        );
        assert_eq!(keys("ZUNIONSTORE d 2 a b", -4).len(), 3);
        // numkeys larger than what follows: the function says no keys.
        assert!(keys("EVAL s 5 a", -3).is_empty());
        assert_eq!(keys("XREAD COUNT 2 STREAMS s1 s2 0 0", -4).len(), 2);
        assert_eq!(keys("MIGRATE h 1 \"\" 0 0 KEYS a b", -6).len(), 0);
        assert_eq!(
            keys("MIGRATE h 1  0 0 AUTH2 u p KEYS a b", -6)
                .into_iter()
                .map(|k| k.0)
                .collect::<Vec<_>>(),
            vec!["a", "b"]
        );
    }
}
