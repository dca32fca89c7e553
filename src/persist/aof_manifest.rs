//! The AOF manifest of Redis 7.0 (aof.c, "AOF Manifest file
//! implementation"): `<appendfilename>.manifest` in `appenddirname` lists
//! the base file, history files waiting for deletion and the incremental
//! files, one per line: `file <name> seq <n> type <b|h|i>`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tracing::warn;

pub const BASE: u8 = b'b';
pub const HIST: u8 = b'h';
pub const INCR: u8 = b'i';

/// One file named by the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofInfo {
    pub name: String,
    pub seq: i64,
    pub kind: u8,
}

/// The parsed manifest (Redis's aofManifest).
#[derive(Clone, Debug, Default)]
pub struct Manifest {
    pub base: Option<AofInfo>,
    pub history: Vec<AofInfo>,
    pub incr: Vec<AofInfo>,
    pub curr_base_seq: i64,
    pub curr_incr_seq: i64,
    pub dirty: bool,
}

/// Why a manifest could not be parsed: the line (number, text) if any and
/// the reason, as Redis logs them before exiting.
#[derive(Debug)]
pub struct ManifestError {
    pub line: Option<(usize, String)>,
    pub reason: &'static str,
}

pub fn manifest_name(filename: &str) -> String {
    format!("{}.manifest", filename)
}

pub fn temp_manifest_name(filename: &str) -> String {
    format!("temp-{}.manifest", filename)
}

pub fn temp_incr_name(filename: &str) -> String {
    format!("temp-{}.incr", filename)
}

/// Does a file name need quoting in the manifest (sdsneedsrepr)?
fn needs_repr(s: &str) -> bool {
    s.bytes().any(|b| {
        b == b'\\'
            || b == b'"'
            || b == b'\n'
            || b == b'\r'
            || b == b'\t'
            || b == 7
            || b == 8
            || !(0x20..0x7f).contains(&b)
            || b == b' '
    })
}

/// Splits a line like sdssplitargs: blanks separate tokens; "..." with
/// backslash escapes (\n \r \t \b \a \xHH) and '...' quote them.
fn split_args(line: &str) -> Option<Vec<Vec<u8>>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return Some(out);
        }
        let mut cur = Vec::new();
        if b[i] == b'"' {
            i += 1;
            loop {
                if i >= b.len() {
                    return None;
                }
                match b[i] {
                    b'\\'
                        if i + 3 < b.len()
                            && b[i + 1] == b'x'
                            && b[i + 2].is_ascii_hexdigit()
                            && b[i + 3].is_ascii_hexdigit() =>
                    {
                        let h = std::str::from_utf8(&b[i + 2..i + 4]).ok()?;
                        cur.push(u8::from_str_radix(h, 16).ok()?);
                        i += 4;
                    }
                    b'\\' if i + 1 < b.len() => {
                        cur.push(match b[i + 1] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            c => c,
                        });
                        i += 2;
                    }
                    b'"' => {
                        i += 1;
                        if i < b.len() && !b[i].is_ascii_whitespace() {
                            return None;
                        }
                        break;
                    }
                    c => {
                        cur.push(c);
                        i += 1;
                    }
                }
            }
        } else if b[i] == b'\'' {
            i += 1;
            loop {
                if i >= b.len() {
                    return None;
                }
                if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] == b'\'' {
                    cur.push(b'\'');
                    i += 2;
                } else if b[i] == b'\'' {
                    i += 1;
                    if i < b.len() && !b[i].is_ascii_whitespace() {
                        return None;
                    }
                    break;
                } else {
                    cur.push(b[i]);
                    i += 1;
                }
            }
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                cur.push(b[i]);
                i += 1;
            }
        }
        out.push(cur);
    }
}

impl AofInfo {
    fn format(&self, out: &mut String) {
        let name = if needs_repr(&self.name) {
            crate::util::repr::quote(self.name.as_bytes())
        } else {
            self.name.clone()
        };
        out.push_str(&format!(
            "file {} seq {} type {}\n",
            name, self.seq, self.kind as char
        ));
    }
}

impl Manifest {
    /// The manifest text: base, then history, then incr files.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if let Some(b) = &self.base {
            b.format(&mut s);
        }
        for h in &self.history {
            h.format(&mut s);
        }
        for i in &self.incr {
            i.format(&mut s);
        }
        s
    }

    /// Parses manifest text (aofLoadManifestFromFile).
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut am = Manifest::default();
        let mut maxseq = 0;
        if text.is_empty() {
            return Err(ManifestError {
                line: None,
                reason: "Found an empty AOF manifest",
            });
        }
        let mut rest = text;
        let mut linenum = 0;
        while !rest.is_empty() {
            let (raw, next, has_nl) = match rest.iter().position(|&c| c == b'\n') {
                Some(p) => (&rest[..p + 1], &rest[p + 1..], true),
                None => (rest, &rest[rest.len()..], false),
            };
            rest = next;
            linenum += 1;
            if raw.first() == Some(&b'#') {
                continue;
            }
            let line = String::from_utf8_lossy(raw)
                .trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n')
                .to_string();
            let err = |reason| ManifestError {
                line: Some((linenum, line.clone())),
                reason,
            };
            if !has_nl || raw.len() > 1024 {
                return Err(err("The AOF manifest file contains too long line"));
            }
            if line.is_empty() {
                return Err(err("Invalid AOF manifest file format"));
            }
            let argv = match split_args(&line) {
                Some(a) if a.len() >= 6 && a.len() % 2 == 0 => a,
                _ => return Err(err("Invalid AOF manifest file format")),
            };
            let mut name: Option<String> = None;
            let mut seq = 0i64;
            let mut kind = 0u8;
            for pair in argv.chunks(2) {
                let key = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
                match key.as_str() {
                    "file" => {
                        let n = String::from_utf8_lossy(&pair[1]).into_owned();
                        if n.contains('/') {
                            return Err(err("File can't be a path, just a filename"));
                        }
                        name = Some(n);
                    }
                    "seq" => {
                        seq = atoll(&pair[1]);
                    }
                    "type" => kind = pair[1].first().copied().unwrap_or(0),
                    _ => {}
                }
            }
            let (Some(name), true, true) = (name, seq != 0, kind != 0) else {
                return Err(err("Invalid AOF manifest file format"));
            };
            let ai = AofInfo { name, seq, kind };
            match kind {
                BASE => {
                    if am.base.is_some() {
                        return Err(err("Found duplicate base file information"));
                    }
                    am.curr_base_seq = seq;
                    am.base = Some(ai);
                }
                HIST => am.history.push(ai),
                INCR => {
                    if seq <= maxseq {
                        return Err(err("Found a non-monotonic sequence number"));
                    }
                    am.curr_incr_seq = seq;
                    maxseq = seq;
                    am.incr.push(ai);
                }
                _ => return Err(err("Unknown AOF file type")),
            }
        }
        Ok(am)
    }

    /// A new base name (seq+1); the previous base becomes history.
    pub fn new_base(&mut self, filename: &str, rdb: bool) -> String {
        if let Some(mut b) = self.base.take() {
            b.kind = HIST;
            self.history.insert(0, b);
        }
        self.curr_base_seq += 1;
        let name = format!(
            "{}.{}.base.{}",
            filename,
            self.curr_base_seq,
            if rdb { "rdb" } else { "aof" }
        );
        self.base = Some(AofInfo {
            name: name.clone(),
            seq: self.curr_base_seq,
            kind: BASE,
        });
        self.dirty = true;
        name
    }

    /// A new incr file appended to the incr list.
    pub fn new_incr(&mut self, filename: &str) -> String {
        self.curr_incr_seq += 1;
        let name = format!("{}.{}.incr.aof", filename, self.curr_incr_seq);
        self.incr.push(AofInfo {
            name: name.clone(),
            seq: self.curr_incr_seq,
            kind: INCR,
        });
        self.dirty = true;
        name
    }

    /// The last incr file, or a new one when there is none.
    pub fn last_incr(&mut self, filename: &str) -> String {
        match self.incr.last() {
            Some(i) => i.name.clone(),
            None => self.new_incr(filename),
        }
    }

    /// After a successful rewrite: every incr file but the one being
    /// written (when `keep_last`) becomes history.
    pub fn mark_incr_as_history(&mut self, keep_last: bool) {
        if self.incr.is_empty() {
            return;
        }
        let keep = if keep_last { self.incr.pop() } else { None };
        // Newest first, as listAddNodeHead while walking from the tail.
        for mut i in std::mem::take(&mut self.incr).into_iter().rev() {
            i.kind = HIST;
            self.history.insert(0, i);
        }
        if let Some(k) = keep {
            self.incr.push(k);
        }
        self.dirty = true;
    }

    /// Writes the manifest atomically (temp file, fsync, rename, fsync of
    /// the directory) when it changed.
    pub fn persist(&mut self, dir: &Path, filename: &str) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        write_manifest(dir, filename, &self.to_text())?;
        self.dirty = false;
        Ok(())
    }
}

fn atoll(b: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(b);
    let s = s.trim_start();
    let mut end = 0;
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+')) {
            end = i + 1;
        } else {
            break;
        }
    }
    s[..end].parse().unwrap_or(0)
}

fn write_manifest(dir: &Path, filename: &str, text: &str) -> io::Result<()> {
    let name = manifest_name(filename);
    let tmp_name = temp_manifest_name(filename);
    let path = dir.join(&name);
    let tmp = dir.join(&tmp_name);
    let mut f = match OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
    {
        Ok(f) => f,
        Err(e) => {
            warn!("Can't open the AOF manifest file {}: {}", tmp_name, e);
            return Err(e);
        }
    };
    if let Err(e) = f.write_all(text.as_bytes()) {
        warn!(
            "Error trying to write the temporary AOF manifest file {}: {}",
            tmp_name, e
        );
        return Err(e);
    }
    if let Err(e) = f.sync_data() {
        warn!("Fail to fsync the temp AOF file {}: {}.", tmp_name, e);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp, &path) {
        warn!(
            "Error trying to rename the temporary AOF manifest file {} into {}: {}",
            tmp_name, name, e
        );
        return Err(e);
    }
    if let Err(e) = fsync_dir(dir) {
        warn!("Fail to fsync AOF directory {}: {}.", path.display(), e);
        return Err(e);
    }
    Ok(())
}

/// fsyncs a directory so renames and new files in it are durable.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    let d = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(d)?.sync_all()
}

/// Loads `<dir>/<filename>.manifest`; Ok(None) when the directory or the
/// manifest does not exist.
pub fn load_from_disk(dir: &Path, filename: &str) -> Result<Option<Manifest>, String> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let path: PathBuf = dir.join(manifest_name(filename));
    if !path.exists() {
        return Ok(None);
    }
    let text = fs::read(&path).map_err(|e| {
        format!(
            "Fatal error: can't open the AOF manifest file {} for reading: {}",
            path.display(),
            e
        )
    })?;
    match Manifest::parse(&text) {
        Ok(m) => Ok(Some(m)),
        Err(e) => {
            let mut msg = String::from("\n*** FATAL AOF MANIFEST FILE ERROR ***\n");
            if let Some((n, line)) = &e.line {
                msg.push_str(&format!(
                    "\nReading the manifest file, at line {}\n\n>>> '{}'\n",
                    n, line
                ));
            }
            msg.push_str(&format!("\n{}\n", e.reason));
            Err(msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let text = b"file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.3.incr.aof seq 3 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.to_text().as_bytes(), &text[..]);
        assert_eq!(m.curr_base_seq, 2);
        assert_eq!(m.curr_incr_seq, 3);
        assert!(Manifest::parse(b"").is_err());
        assert!(Manifest::parse(b"file a seq 1 type i\nfile b seq 1 type i\n").is_err());
        assert!(Manifest::parse(b"file a/b seq 1 type i\n").is_err());
        let q = Manifest::parse(b"file \"a b\" seq 1 type i\n").unwrap();
        assert_eq!(q.incr[0].name, "a b");
        assert_eq!(q.to_text(), "file \"a b\" seq 1 type i\n");
    }
}
