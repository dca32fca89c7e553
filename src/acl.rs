//! ACL users, selectors and permission checks (Redis 7.0's acl.c): rule
//! parsing (ACL SETUSER / `user` directives / the aclfile), the describe
//! lines ACL LIST and ACL SAVE print, password hashing, the ACL log, the
//! permission check (`denial`: what refuses a command for a user; run by
//! `acl_check` for `commands::execute`, EXEC and scripts) and requirepass.

use crate::cmdtable::{
    cat, chan,
    meta::{self, GetKeys, Meta},
    CommandTable, NO_AUTH,
};
use crate::protocol::args::Args;
use crate::server::Server;
use std::collections::{BTreeMap, VecDeque};

/// Category names in Redis's bit order (ACL CAT lists them so).
pub const CATEGORIES: &[&str] = cat::NAMES;

/// The user slot of internal clients (master link, AOF loading): no ACL
/// user, every permission (Redis's NULL `c->user`).
pub const SUPERUSER: usize = usize::MAX;

/// Key permission bits of a key pattern / a key reference.
pub const PERM_READ: u8 = 1;
pub const PERM_WRITE: u8 = 2;
pub const PERM_ALL: u8 = 3;

/// Why a command was refused (Redis's ACL_DENIED_*; the order matters for
/// picking which selector's error to report).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Denied {
    Cmd = 1,
    Key = 2,
    Auth = 3,
    Channel = 4,
}

/// What ACLSetUser's errno would say.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RuleError {
    NoEnt,
    Inval,
    Exist,
    IsDir,
    NoDev,
    BadMsg,
    Child,
}

impl RuleError {
    /// ACLSetUserStringError.
    pub fn message(self) -> &'static str {
        match self {
            RuleError::NoEnt => "Unknown command or category name in ACL",
            RuleError::Inval => "Syntax error",
            RuleError::Exist => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::IsDir => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoDev => "The password you are trying to remove from the user does not exist",
            RuleError::BadMsg => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::Child => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// The command facts ACL needs, copied from the command table.
pub struct CmdInfo {
    pub fullname: String,
    pub cats: u32,
    pub subs: Vec<usize>,
    pub parent: Option<usize>,
    pub no_auth: bool,
    /// Redis's key specs and getkeys function: how ACL finds keys.
    pub meta: &'static Meta,
    pub getkeys: Option<GetKeys>,
    /// The flags of its channel arguments (`chan::*`).
    pub channels: u8,
}

#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyPattern {
    pub flags: u8,
    pub pattern: Vec<u8>,
}

/// A set of permissions: the root selector, or one in parentheses.
#[derive(Clone, Debug)]
pub struct Selector {
    pub root: bool,
    pub allkeys: bool,
    pub allchannels: bool,
    pub allcommands: bool,
    /// The reserved "future commands" bit, set only by +@all.
    pub future: bool,
    pub bits: Vec<u64>,
    /// Allowed first arguments of otherwise denied commands (+select|0).
    pub firstargs: Vec<(usize, Vec<Vec<u8>>)>,
    pub patterns: Vec<KeyPattern>,
    pub channels: Vec<Vec<u8>>,
}

impl Selector {
    fn new(root: bool, ncmds: usize, allchannels: bool) -> Selector {
        Selector {
            root,
            allkeys: false,
            allchannels,
            allcommands: false,
            future: false,
            bits: vec![0; ncmds / 64 + 1],
            firstargs: Vec::new(),
            patterns: Vec::new(),
            channels: Vec::new(),
        }
    }

    #[inline]
    pub fn bit(&self, id: usize) -> bool {
        self.bits
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if let Some(w) = self.bits.get_mut(id / 64) {
            if on {
                *w |= 1 << (id % 64);
            } else {
                *w &= !(1 << (id % 64));
                self.allcommands = false;
            }
        }
    }

    /// ACLChangeSelectorPerm: a command and all its subcommands.
    fn change_perm(&mut self, cmds: &[CmdInfo], id: usize, on: bool) {
        self.set_bit(id, on);
        self.firstargs.retain(|(i, _)| *i != id);
        for &s in &cmds[id].subs {
            self.set_bit(s, on);
        }
    }

    fn set_category(&mut self, cmds: &[CmdInfo], flag: u32, on: bool) {
        for id in 0..cmds.len() {
            if cmds[id].cats & flag != 0 {
                self.change_perm(cmds, id, on);
            }
        }
    }

    fn all(&mut self, on: bool) {
        for w in self.bits.iter_mut() {
            *w = if on { u64::MAX } else { 0 };
        }
        self.allcommands = on;
        self.future = on;
        self.firstargs.clear();
    }

    /// ACLSetSelector.
    pub fn apply(&mut self, cmds: &[CmdInfo], op: &[u8]) -> Result<(), RuleError> {
        let is = |s: &str| op.eq_ignore_ascii_case(s.as_bytes());
        if is("allkeys") || is("~*") {
            self.allkeys = true;
            self.patterns.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.patterns.clear();
        } else if is("allchannels") || is("&*") {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.all(true);
        } else if is("nocommands") || is("-@all") {
            self.all(false);
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.allkeys {
                return Err(RuleError::Exist);
            }
            let mut flags = 0u8;
            let mut off = 1;
            if op[0] == b'%' {
                loop {
                    if off >= op.len() {
                        break;
                    }
                    let ch = op[off].to_ascii_uppercase();
                    if ch == b'R' && flags & PERM_READ == 0 {
                        flags |= PERM_READ;
                    } else if ch == b'W' && flags & PERM_WRITE == 0 {
                        flags |= PERM_WRITE;
                    } else if op[off] == b'~' {
                        off += 1;
                        break;
                    } else {
                        return Err(RuleError::Inval);
                    }
                    off += 1;
                }
                // "%" and "%~" name no permission (Redis's CVE-2024-51741 fix).
                if flags == 0 {
                    return Err(RuleError::Inval);
                }
            } else {
                flags = PERM_ALL;
            }
            let pat = &op[off.min(op.len())..];
            if has_spaces(pat) {
                return Err(RuleError::Inval);
            }
            match self.patterns.iter_mut().find(|p| p.pattern == pat) {
                Some(p) => p.flags |= flags,
                None => self.patterns.push(KeyPattern {
                    flags,
                    pattern: pat.to_vec(),
                }),
            }
            self.allkeys = false;
        } else if op[0] == b'&' {
            if self.allchannels {
                return Err(RuleError::IsDir);
            }
            let pat = &op[1..];
            if has_spaces(pat) {
                return Err(RuleError::Inval);
            }
            if !self.channels.iter().any(|c| c == pat) {
                self.channels.push(pat.to_vec());
            }
            self.allchannels = false;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            let name = &op[1..];
            match name.iter().rposition(|&b| b == b'|') {
                None => {
                    let id = lookup(cmds, name).ok_or(RuleError::NoEnt)?;
                    self.change_perm(cmds, id, true);
                }
                Some(p) => {
                    let id = lookup(cmds, &name[..p]).ok_or(RuleError::NoEnt)?;
                    if cmds[id].parent.is_some() {
                        return Err(RuleError::Child);
                    }
                    let sub = &name[p + 1..];
                    if sub.is_empty() {
                        return Err(RuleError::Inval);
                    }
                    if !cmds[id].subs.is_empty() {
                        let sid = lookup(cmds, name).ok_or(RuleError::NoEnt)?;
                        self.change_perm(cmds, sid, true);
                    } else {
                        match self.firstargs.iter_mut().find(|(i, _)| *i == id) {
                            Some((_, v)) => {
                                if !v.iter().any(|a| a.eq_ignore_ascii_case(sub)) {
                                    v.push(sub.to_vec());
                                }
                            }
                            None => self.firstargs.push((id, vec![sub.to_vec()])),
                        }
                    }
                }
            }
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            let id = lookup(cmds, &op[1..]).ok_or(RuleError::NoEnt)?;
            self.change_perm(cmds, id, false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let flag = category_flag(&op[2..]).ok_or(RuleError::NoEnt)?;
            self.set_category(cmds, flag, op[0] == b'+');
        } else {
            return Err(RuleError::Inval);
        }
        Ok(())
    }

    fn count_category(&self, cmds: &[CmdInfo], flag: u32) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for (id, c) in cmds.iter().enumerate() {
            if c.cats & flag != 0 {
                if self.bit(id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    /// ACLDescribeSelectorCommandRules: +@all/-@all, best-fit categories,
    /// then single commands (in command table order) and first-args.
    pub fn describe_commands(&self, cmds: &[CmdInfo]) -> String {
        let n = cmds.len();
        let mut rules = String::new();
        let mut fake = Selector::new(false, n, false);
        let additive = !self.future;
        if additive {
            rules.push_str("-@all ");
            fake.all(false);
        } else {
            rules.push_str("+@all ");
            fake.all(true);
        }
        let mut temp = self.clone();
        let mut applied = [false; 21];
        loop {
            let mut best: Option<usize> = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0usize);
            for (j, done) in applied.iter().enumerate() {
                if *done {
                    continue;
                }
                let (on, off) = temp.count_category(cmds, 1 << j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some(j);
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some(b) = best else { break };
            fake.set_category(cmds, 1 << b, additive);
            temp.set_category(cmds, 1 << b, !additive);
            rules.push_str(if additive { "+@" } else { "-@" });
            rules.push_str(CATEGORIES[b]);
            rules.push(' ');
            applied[b] = true;
        }
        for top in 0..n {
            if cmds[top].parent.is_some() {
                continue;
            }
            let mut ids = vec![top];
            ids.extend_from_slice(&cmds[top].subs);
            for id in ids {
                let ub = self.bit(id);
                if ub != fake.bit(id) {
                    rules.push(if ub { '+' } else { '-' });
                    rules.push_str(&cmds[id].fullname);
                    rules.push(' ');
                    fake.change_perm(cmds, id, ub);
                }
                if !ub {
                    if let Some((_, args)) = self.firstargs.iter().find(|(i, _)| *i == id) {
                        for a in args {
                            rules.push('+');
                            rules.push_str(&cmds[id].fullname);
                            rules.push('|');
                            rules.push_str(&String::from_utf8_lossy(a));
                            rules.push(' ');
                        }
                    }
                }
            }
        }
        rules.pop();
        rules
    }

    /// ACLDescribeSelector: keys, channels, command rules.
    pub fn describe(&self, cmds: &[CmdInfo]) -> String {
        let mut s = String::new();
        if self.allkeys {
            s.push_str("~* ");
        } else {
            for p in &self.patterns {
                s.push_str(&pattern_string(p));
                s.push(' ');
            }
        }
        if self.allchannels {
            s.push_str("&* ");
        } else {
            s.push_str("resetchannels ");
            for c in &self.channels {
                s.push('&');
                s.push_str(&String::from_utf8_lossy(c));
                s.push(' ');
            }
        }
        s.push_str(&self.describe_commands(cmds));
        s
    }

    /// ACLSelectorCheckKey.
    fn check_key(&self, key: &[u8], perm: u8) -> bool {
        self.allkeys
            || self.patterns.iter().any(|p| {
                p.flags & perm == perm && crate::util::glob::string_match(&p.pattern, key, false)
            })
    }

    fn command_allowed(&self, cmds: &[CmdInfo], id: usize, args: &[&[u8]]) -> bool {
        if self.allcommands || cmds[id].no_auth || self.bit(id) {
            return true;
        }
        let idx = if cmds[id].parent.is_some() { 2 } else { 1 };
        match (self.firstargs.iter().find(|(i, _)| *i == id), args.get(idx)) {
            (Some((_, v)), Some(a)) if args.len() >= 2 => {
                v.iter().any(|f| f.eq_ignore_ascii_case(a))
            }
            _ => false,
        }
    }
}

/// `~pat`, `%R~pat` or `%W~pat` (sdsCatPatternString).
pub fn pattern_string(p: &KeyPattern) -> String {
    let prefix = match p.flags {
        PERM_READ => "%R~",
        PERM_WRITE => "%W~",
        _ => "~",
    };
    format!("{}{}", prefix, String::from_utf8_lossy(&p.pattern))
}

fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&b| b.is_ascii_whitespace() || b == 0 || b == 0x0b)
}

/// A user name may not contain spaces or NULs (ACLStringHasSpaces).
pub fn valid_username(s: &[u8]) -> bool {
    !has_spaces(s)
}

fn category_flag(name: &[u8]) -> Option<u32> {
    CATEGORIES
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// Looks a command up by "name" or "name|sub" (case-insensitive).
fn lookup(cmds: &[CmdInfo], name: &[u8]) -> Option<usize> {
    cmds.iter()
        .position(|c| c.fullname.as_bytes().eq_ignore_ascii_case(name))
}

#[derive(Clone, Debug)]
pub struct User {
    pub name: Vec<u8>,
    pub enabled: bool,
    pub nopass: bool,
    /// None, Some(true) = sanitize-payload, Some(false) = skip-sanitize-payload.
    pub sanitize: Option<bool>,
    /// SHA-256 hex digests.
    pub passwords: Vec<String>,
    pub selectors: Vec<Selector>,
}

impl User {
    pub fn new(name: &[u8], ncmds: usize, pubsub_all: bool) -> User {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true, ncmds, pubsub_all)],
        }
    }

    /// Has every permission: the hot path skips all checks.
    pub fn unrestricted(&self) -> bool {
        let r = &self.selectors[0];
        r.allcommands && r.allkeys && r.allchannels
    }

    /// ACLSetUser.
    pub fn apply(
        &mut self,
        cmds: &[CmdInfo],
        op: &[u8],
        pubsub_all: bool,
    ) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |s: &str| op.eq_ignore_ascii_case(s.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let h = if op[0] == b'>' {
                hash_password(&op[1..])
            } else {
                check_hash(&op[1..])?
            };
            if !self.passwords.contains(&h) {
                self.passwords.push(h);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let h = if op[0] == b'<' {
                hash_password(&op[1..])
            } else {
                check_hash(&op[1..])?
            };
            let pos = self
                .passwords
                .iter()
                .position(|p| *p == h)
                .ok_or(RuleError::NoDev)?;
            self.passwords.remove(pos);
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let mut s = Selector::new(false, cmds.len(), pubsub_all);
            let inner = String::from_utf8_lossy(&op[1..op.len() - 1]).into_owned();
            for part in inner.split_ascii_whitespace() {
                s.apply(cmds, part.as_bytes())?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            let r = &mut self.selectors[0];
            r.allkeys = false;
            r.patterns.clear();
            r.allchannels = pubsub_all;
            r.channels.clear();
            self.enabled = false;
            self.sanitize = Some(true);
            self.selectors.truncate(1);
            self.selectors[0].all(false);
        } else {
            self.selectors[0].apply(cmds, op)?;
        }
        Ok(())
    }

    /// ACLDescribeUser: flags, passwords, selectors.
    pub fn describe(&self, cmds: &[CmdInfo]) -> String {
        let mut s = String::new();
        s.push_str(if self.enabled { "on " } else { "off " });
        if self.nopass {
            s.push_str("nopass ");
        }
        match self.sanitize {
            Some(false) => s.push_str("skip-sanitize-payload "),
            Some(true) => s.push_str("sanitize-payload "),
            None => {}
        }
        for p in &self.passwords {
            s.push('#');
            s.push_str(p);
            s.push(' ');
        }
        for sel in &self.selectors {
            let d = sel.describe(cmds);
            if sel.root {
                s.push_str(&d);
            } else {
                s.push_str(" (");
                s.push_str(&d);
                s.push(')');
            }
        }
        s
    }

    /// The flags ACL GETUSER lists, in ACLUserFlags order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut v = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            v.push("nopass");
        }
        match self.sanitize {
            Some(false) => v.push("skip-sanitize-payload"),
            Some(true) => v.push("sanitize-payload"),
            None => {}
        }
        v
    }

    /// ACLCheckUserCredentials (the user is enabled and a password matches).
    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let h = hash_password(pass);
        let mut ok = false;
        for p in &self.passwords {
            // Compare every byte: no early exit on the first mismatch.
            let diff = p
                .bytes()
                .zip(h.bytes())
                .fold(p.len() ^ h.len(), |d, (a, b)| d | (a ^ b) as usize);
            ok |= diff == 0;
        }
        ok
    }
}

fn check_hash(h: &[u8]) -> Result<String, RuleError> {
    if h.len() != 64
        || !h
            .iter()
            .all(|&c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return Err(RuleError::BadMsg);
    }
    Ok(String::from_utf8_lossy(h).into_owned())
}

/// One ACL LOG entry.
pub struct LogEntry {
    pub count: u64,
    pub reason: Denied,
    /// "toplevel", "multi", "lua".
    pub context: &'static str,
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    pub ctime_ms: i64,
    pub cinfo: Vec<u8>,
}

/// All ACL state: users by name (sorted like Redis's rax), the log.
pub struct Acl {
    pub cmds: Vec<CmdInfo>,
    /// User slots; a client refers to its user by slot. Slot 0 is `default`.
    pub users: Vec<Option<User>>,
    pub by_name: BTreeMap<Vec<u8>, usize>,
    pub log: VecDeque<LogEntry>,
    /// Per slot: the user has every permission (kept in step with `users`).
    pub unrestricted: Vec<bool>,
    /// The requirepass value last applied to the default user.
    pub applied_requirepass: Option<Option<Vec<u8>>>,
}

impl Acl {
    pub fn new(table: &CommandTable) -> Acl {
        let mut cmds = Vec::with_capacity(table.entries.len());
        for e in &table.entries {
            cmds.push(CmdInfo {
                fullname: e.fullname.clone(),
                cats: e.meta.acl,
                subs: e.subs.iter().map(|&(_, i)| i).collect(),
                parent: e.parent,
                no_auth: e.flags & NO_AUTH != 0,
                meta: e.meta,
                getkeys: e.spec.getkeys,
                channels: e.spec.channels,
            });
        }
        let mut acl = Acl {
            cmds,
            users: Vec::new(),
            by_name: BTreeMap::new(),
            log: VecDeque::new(),
            unrestricted: Vec::new(),
            applied_requirepass: None,
        };
        let d = acl.default_user_def();
        acl.users.push(Some(d));
        acl.unrestricted.push(true);
        acl.by_name.insert(b"default".to_vec(), 0);
        acl
    }

    /// ACLCreateDefaultUser.
    pub fn default_user_def(&self) -> User {
        let mut u = User::new(b"default", self.cmds.len(), false);
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            let _ = u.apply(&self.cmds, op.as_bytes(), false);
        }
        u
    }

    pub fn user(&self, slot: usize) -> Option<&User> {
        self.users.get(slot).and_then(|u| u.as_ref())
    }

    pub fn slot_of(&self, name: &[u8]) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn get(&self, name: &[u8]) -> Option<&User> {
        self.slot_of(name).and_then(|s| self.user(s))
    }

    /// Stores `u` (new or replacing the user of the same name); its slot.
    pub fn put(&mut self, u: User) -> usize {
        let free = u.unrestricted();
        let slot = match self.slot_of(&u.name) {
            Some(s) => s,
            None => {
                let s = match self.users.iter().position(|x| x.is_none()) {
                    Some(s) => s,
                    None => {
                        self.users.push(None);
                        self.unrestricted.push(false);
                        self.users.len() - 1
                    }
                };
                self.by_name.insert(u.name.clone(), s);
                s
            }
        };
        self.users[slot] = Some(u);
        self.unrestricted[slot] = free;
        slot
    }

    /// Removes a user; its slot (the caller kills its clients).
    pub fn remove(&mut self, name: &[u8]) -> Option<usize> {
        let s = self.by_name.remove(name)?;
        self.users[s] = None;
        self.unrestricted[s] = false;
        Some(s)
    }

    /// Must a new connection authenticate (authRequired)?
    pub fn auth_required(&self) -> bool {
        self.user(0).is_none_or(|d| !d.nopass || !d.enabled)
    }

    /// Parses and applies rules to a copy of `base` (or a new user).
    pub fn staged(
        &self,
        name: &[u8],
        rules: &[Vec<u8>],
        pubsub_all: bool,
    ) -> Result<User, (usize, RuleError)> {
        let mut u = self
            .get(name)
            .cloned()
            .unwrap_or_else(|| User::new(name, self.cmds.len(), pubsub_all));
        for (i, r) in rules.iter().enumerate() {
            u.apply(&self.cmds, r, pubsub_all).map_err(|e| (i, e))?;
        }
        Ok(u)
    }

    /// "user <name> <description>" as ACL LIST / ACL SAVE print it.
    pub fn describe_line(&self, u: &User) -> String {
        format!(
            "user {} {}",
            String::from_utf8_lossy(&u.name),
            u.describe(&self.cmds)
        )
    }

    /// ACLCheckAllUserCommandPerm: Ok, or the reason and argument index.
    pub fn check(&self, u: &User, id: usize, args: &[&[u8]]) -> Result<(), (Denied, usize)> {
        let mut relevant = Denied::Cmd;
        let mut last_idx = 0;
        let mut keys: Option<Vec<(usize, u8)>> = None;
        for s in &u.selectors {
            match self.check_selector(s, id, args, &mut keys) {
                Ok(()) => return Ok(()),
                Err((d, i)) => {
                    if d > relevant || (d == relevant && i > last_idx) {
                        relevant = d;
                        last_idx = i;
                    }
                }
            }
        }
        Err((relevant, last_idx))
    }

    fn check_selector(
        &self,
        s: &Selector,
        id: usize,
        args: &[&[u8]],
        keys: &mut Option<Vec<(usize, u8)>>,
    ) -> Result<(), (Denied, usize)> {
        if !s.command_allowed(&self.cmds, id, args) {
            return Err((Denied::Cmd, 0));
        }
        if !s.allkeys {
            let ks = keys.get_or_insert_with(|| acl_keys(&self.cmds[id], args));
            for &(pos, perm) in ks.iter() {
                if let Some(k) = args.get(pos) {
                    if !s.check_key(k, perm) {
                        return Err((Denied::Key, pos));
                    }
                }
            }
        }
        // Channels published to or subscribed to (not unsubscribed from),
        // as getChannelsFromCommand finds them.
        let ch = self.cmds[id].channels;
        if !s.allchannels && ch & (chan::PUBLISH | chan::SUBSCRIBE) != 0 {
            let end = if ch & chan::PUBLISH != 0 {
                2
            } else {
                args.len()
            };
            let literal = ch & chan::PATTERN != 0;
            let names = args.iter().enumerate().take(end).skip(1);
            for (j, name) in names {
                if !channel_ok(&s.channels, name, literal) {
                    return Err((Denied::Channel, j));
                }
            }
        }
        Ok(())
    }

    /// ACLUserCheckCmdWithUnrestrictedKeyAccess: some selector allows the
    /// command and grants `perm` on every key (allkeys or a `*` pattern).
    /// SORT's BY and GET patterns need it.
    pub fn unrestricted_key_access(&self, u: &User, id: usize, args: &[&[u8]], perm: u8) -> bool {
        let mut keys = None;
        u.selectors.iter().any(|s| {
            self.check_selector(s, id, args, &mut keys).is_ok()
                && (s.allkeys
                    || s.patterns
                        .iter()
                        .any(|p| p.flags & perm == perm && p.pattern == b"*"))
        })
    }

    /// ACLUserCheckChannelPerm for one channel/pattern.
    pub fn channel_allowed(&self, u: &User, ch: &[u8], literal: bool) -> bool {
        u.selectors
            .iter()
            .any(|s| s.allchannels || channel_ok(&s.channels, ch, literal))
    }

    /// Adds (or bumps a similar recent) ACL LOG entry.
    pub fn log_push(&mut self, mut e: LogEntry, max_len: usize) {
        for i in 0..self.log.len().min(10) {
            let cur = &self.log[i];
            if cur.reason == e.reason
                && cur.context == e.context
                && (cur.ctime_ms - e.ctime_ms).abs() <= 60000
                && cur.object == e.object
                && cur.username == e.username
            {
                if let Some(mut m) = self.log.remove(i) {
                    m.cinfo = std::mem::take(&mut e.cinfo);
                    m.ctime_ms = e.ctime_ms;
                    m.count += 1;
                    self.log.push_front(m);
                }
                return;
            }
        }
        self.log.push_front(e);
        while self.log.len() > max_len {
            self.log.pop_back();
        }
    }
}

fn channel_ok(list: &[Vec<u8>], ch: &[u8], literal: bool) -> bool {
    list.iter().any(|p| {
        if literal {
            p.as_slice() == ch
        } else {
            crate::util::glob::string_match(p, ch, false)
        }
    })
}

/// Would `user` be allowed to run `args` (command table index `idx`)?
/// No ACL log entry (redis.acl_check_cmd).
pub fn permitted(srv: &Server, user: usize, idx: usize, args: &Args) -> bool {
    denial(srv, user, idx, args).is_none()
}

/// Why `user` may not run `args` (command `idx`), with the object the ACL
/// log names (the command, or the key / channel refused); None = allowed.
pub fn denial(srv: &Server, user: usize, idx: usize, args: &Args) -> Option<(Denied, Vec<u8>)> {
    if srv.acl.unrestricted.get(user).copied().unwrap_or(true) {
        return None;
    }
    let argv: Vec<&[u8]> = args.iter().collect();
    let u = srv.acl.user(user)?;
    let Err((reason, pos)) = srv.acl.check(u, idx, &argv) else {
        return None;
    };
    let object = match reason {
        Denied::Cmd => srv.acl.cmds[idx].fullname.as_bytes().to_vec(),
        _ => argv.get(pos).map_or_else(Vec::new, |a| a.to_vec()),
    };
    Some((reason, object))
}

/// Applies `requirepass` to the default user when it changed
/// (ACLUpdateDefaultUserPassword).
pub fn sync_requirepass(srv: &mut Server) {
    let want = srv.config.requirepass.clone();
    if srv.acl.applied_requirepass.as_ref() == Some(&want) {
        return;
    }
    srv.acl.applied_requirepass = Some(want.clone());
    let Some(mut d) = srv.acl.user(0).cloned() else {
        return;
    };
    let cmds = &srv.acl.cmds;
    let _ = d.apply(cmds, b"resetpass", false);
    match &want {
        Some(p) => {
            let mut op = b">".to_vec();
            op.extend_from_slice(p);
            let _ = d.apply(cmds, &op, false);
        }
        None => {
            let _ = d.apply(cmds, b"nopass", false);
        }
    }
    srv.acl.put(d);
}

/// The keys ACL checks for a command, with the permission each needs
/// (ACLSelectorCheckCmd): found by Redis's key specs or getkeys function
/// (getKeysFromCommandWithSpecs), ACCESS needing read and
/// INSERT/DELETE/UPDATE write permission.
pub fn acl_keys(c: &CmdInfo, args: &[&[u8]]) -> Vec<(usize, u8)> {
    if !meta::keys::has_keys(c.meta, c.getkeys) {
        return Vec::new();
    }
    meta::keys::get_keys(c.meta, c.getkeys, args)
        .into_iter()
        .map(|k| (k.pos, key_perm(k.flags)))
        .collect()
}

/// The key permission (PERM_*) a key spec's flags need.
fn key_perm(flags: u16) -> u8 {
    let mut p = 0;
    if flags & meta::kf::ACCESS != 0 {
        p |= PERM_READ;
    }
    if flags & (meta::kf::INSERT | meta::kf::DELETE | meta::kf::UPDATE) != 0 {
        p |= PERM_WRITE;
    }
    p
}

/// Hex SHA-256 of a password (ACLHashPassword).
pub fn hash_password(p: &[u8]) -> String {
    let d = sha256(p);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push_str(&format!("{:02x}", b));
    }
    s
}

/// SHA-256, as Redis hashes ACL passwords (the well-kept RustCrypto crate).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// ACLMergeSelectorArguments: joins "(a" "b)" into "(a b)". Err(index of
/// the unmatched opening argument).
pub fn merge_selector_args(args: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, a) in args.iter().enumerate() {
        if a.first() == Some(&b'(') && a.last() != Some(&b')') && open.is_none() {
            open = Some((j, a.clone()));
            continue;
        }
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(a);
            if a.last() == Some(&b')') {
                if let Some((_, s)) = open.take() {
                    out.push(s);
                }
            }
            continue;
        }
        out.push(a.clone());
    }
    match open {
        Some((j, _)) => Err(j),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known() {
        assert_eq!(
            hash_password(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hash_password(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = vec![b'a'; 1000];
        assert_eq!(&hash_password(&long)[..8], "41edece4");
    }

    #[test]
    fn describe_default_and_new() {
        let t = crate::commands::table();
        let acl = Acl::new(&t);
        let d = acl.user(0).unwrap();
        assert_eq!(acl.describe_line(d), "user default on nopass ~* &* +@all");
        let u = acl.staged(b"u1", &[], false).unwrap();
        assert_eq!(acl.describe_line(&u), "user u1 off resetchannels -@all");
    }

    #[test]
    fn rules_and_checks() {
        let t = crate::commands::table();
        let mut acl = Acl::new(&t);
        let rules: Vec<Vec<u8>> = [
            "on", ">pw", "~k*", "%R~r*", "&ch", "-@all", "+@string", "-incr",
        ]
        .iter()
        .map(|r| r.as_bytes().to_vec())
        .collect();
        let u = acl.staged(b"u", &rules, false).unwrap();
        assert!(u.password_ok(b"pw"));
        assert!(!u.password_ok(b"nope"));
        let get = t.lookup(b"get").unwrap();
        let set = t.lookup(b"set").unwrap();
        let incr = t.lookup(b"incr").unwrap();
        let hset = t.lookup(b"hset").unwrap();
        assert!(acl.check(&u, get, &[b"get", b"k1"]).is_ok());
        assert!(acl.check(&u, get, &[b"get", b"r1"]).is_ok());
        assert_eq!(
            acl.check(&u, set, &[b"set", b"r1", b"v"]),
            Err((Denied::Key, 1))
        );
        assert_eq!(
            acl.check(&u, incr, &[b"incr", b"k1"]),
            Err((Denied::Cmd, 0))
        );
        assert_eq!(
            acl.check(&u, hset, &[b"hset", b"k", b"f", b"v"]),
            Err((Denied::Cmd, 0))
        );
        assert_eq!(
            acl.describe_line(&u),
            "user u on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~k* %R~r* resetchannels &ch -@all +@string -incr"
        );
        let slot = acl.put(u);
        assert!(!acl.unrestricted[slot]);
        assert!(acl.unrestricted[0]);
        assert_eq!(acl.remove(b"u"), Some(slot));
        assert!(acl.get(b"u").is_none());
    }

    #[test]
    fn selector_merge_and_errors() {
        let v = |a: &[&str]| a.iter().map(|x| x.as_bytes().to_vec()).collect::<Vec<_>>();
        assert_eq!(
            merge_selector_args(&v(&["on", "(~x", "+get)", "(~y +set)"])).unwrap(),
            v(&["on", "(~x +get)", "(~y +set)"])
        );
        assert_eq!(merge_selector_args(&v(&["on", "(~x", "+get"])), Err(1));
        let t = crate::commands::table();
        let acl = Acl::new(&t);
        let err = |r: &str| {
            acl.staged(b"e", &[r.as_bytes().to_vec()], false)
                .err()
                .map(|(_, e)| e)
        };
        assert_eq!(err("+nosuch"), Some(RuleError::NoEnt));
        assert_eq!(err("bogus"), Some(RuleError::Inval));
        assert_eq!(err("#abc"), Some(RuleError::BadMsg));
        assert_eq!(err("<x"), Some(RuleError::NoDev));
        assert_eq!(err("+config|get|x"), Some(RuleError::Child));
        assert_eq!(err("+select|0"), None);
    }
}
