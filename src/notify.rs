//! Keyspace notifications (Redis's notify.c): `notify-keyspace-events`
//! flags and the Pub/Sub messages on `__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>` that write commands, expiry and eviction
//! emit, with the same event names as Redis 7.0.

use crate::client::Client;
use crate::pubsub::publish_message;
use crate::server::Server;

pub const KEYSPACE: u32 = 1 << 0; // K
pub const KEYEVENT: u32 = 1 << 1; // E
pub const GENERIC: u32 = 1 << 2; // g
pub const STRING: u32 = 1 << 3; // $
pub const LIST: u32 = 1 << 4; // l
pub const SET: u32 = 1 << 5; // s
pub const HASH: u32 = 1 << 6; // h
pub const ZSET: u32 = 1 << 7; // z
pub const EXPIRED: u32 = 1 << 8; // x
pub const EVICTED: u32 = 1 << 9; // e
pub const STREAM: u32 = 1 << 10; // t
pub const KEY_MISS: u32 = 1 << 11; // m
pub const MODULE: u32 = 1 << 13; // d
pub const NEW: u32 = 1 << 14; // n
/// 'A': every class except key-miss and new.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// keyspaceEventsStringToFlags; None for an unknown character.
pub fn parse_flags(s: &str) -> Option<u32> {
    let mut f = 0;
    for ch in s.chars() {
        f |= match ch {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(f)
}

/// keyspaceEventsFlagsToString: the canonical form CONFIG GET shows.
pub fn flags_to_string(f: u32) -> String {
    let mut s = String::new();
    if f & ALL == ALL {
        s.push('A');
    } else {
        for (bit, ch) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
        ] {
            if f & bit != 0 {
                s.push(ch);
            }
        }
    }
    for (bit, ch) in [
        (KEYSPACE, 'K'),
        (KEYEVENT, 'E'),
        (KEY_MISS, 'm'),
        (NEW, 'n'),
    ] {
        if f & bit != 0 {
            s.push(ch);
        }
    }
    s
}

/// notifyKeyspaceEvent. `cur` is the client running the command, if any.
pub fn notify(
    srv: &mut Server,
    mut cur: Option<&mut Client>,
    class: u32,
    event: &str,
    key: &[u8],
    db: usize,
) {
    let flags = srv.config.notify_flags;
    if flags & class == 0 || flags & (KEYSPACE | KEYEVENT) == 0 {
        return;
    }
    // Events `Db` logged during this command (expired, new, keymiss) were
    // raised before this one in Redis: publish them first.
    if srv.dbs.iter().any(|d| !d.events.is_empty()) {
        srv.drain_key_events(cur.as_deref_mut());
    }
    if flags & KEYSPACE != 0 {
        let mut chan = format!("__keyspace@{}__:", db).into_bytes();
        chan.extend_from_slice(key);
        publish_message(srv, cur.as_deref_mut(), &chan, event.as_bytes(), false);
    }
    if flags & KEYEVENT != 0 {
        let chan = format!("__keyevent@{}__:{}", db, event).into_bytes();
        publish_message(srv, cur, &chan, key, false);
    }
}

/// The common case: an event for a key in the client's current db.
#[inline]
pub fn event(srv: &mut Server, c: &mut Client, class: u32, event: &str, key: &[u8]) {
    if srv.config.notify_flags & class == 0 {
        return;
    }
    let db = c.db;
    notify(srv, Some(c), class, event, key, db);
}
