//! Loading the append-only files at startup — Redis 7.0's
//! loadAppendOnlyFiles / loadSingleAppendOnlyFile: read the manifest
//! (migrating a pre-7.0 single `appendonly.aof` into the directory), load
//! the base (an RDB preamble or commands), then every INCR file, replaying
//! commands through the normal dispatcher (`srv.hooks.execute`, installed
//! by the command layer) with an internal client while
//! key expiry and propagation are off. A truncated tail of the last file is
//! cut off when aof-load-truncated allows it.

use super::aof;
use super::aof_manifest::{self as manifest, AofInfo, Manifest};
use crate::client::{Client, AOF_CLIENT_ID};
use crate::protocol::args::Args;
use crate::server::Server;
use crate::util::num::atoi;
use std::fs;
use std::io::Cursor;
use std::path::Path;
use std::time::Instant;
use tracing::{info, warn};

/// Redis's AOF_* load results.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum LoadResult {
    Ok,
    NotExist,
    Empty,
    OpenErr,
    Failed,
    Truncated,
}

fn fatal(msg: &str) -> ! {
    warn!("{}", msg);
    std::process::exit(1);
}

/// Loads the AOF when `appendonly yes` (loadDataFromDisk's AOF branch plus
/// aofOpenIfNeededOnServerStart). Exits the process on a fatal error, as
/// Redis does.
pub fn load_at_startup(srv: &mut Server) {
    if !srv.config.appendonly {
        return;
    }
    let (dir, fname, mut am) = manifest_on_disk(srv);
    let start = Instant::now();
    let ret = load_quietly(srv, &mut am, &dir, &fname);
    match ret {
        LoadResult::Failed | LoadResult::OpenErr => std::process::exit(1),
        LoadResult::NotExist => {}
        _ => info!(
            "DB loaded from append only file: {:.3} seconds",
            start.elapsed().as_secs_f64()
        ),
    }
    srv.aof.manifest = am;
    if aof::open_on_server_start(srv).is_err() {
        std::process::exit(1);
    }
}

/// Loads with expiry off, keeping command statistics and the slow log as
/// they were: replayed commands are not calls (Redis runs their handlers
/// directly).
fn load_quietly(srv: &mut Server, am: &mut Manifest, dir: &Path, fname: &str) -> LoadResult {
    srv.update_db_state(|s| s.loading = true);
    srv.loading = true;
    let cmd_stats: Vec<_> = srv
        .commands
        .entries
        .iter()
        .map(|e| e.stats.clone())
        .collect();
    let processed = srv.stats.commands_processed;
    let errors = srv.stats.total_error_replies;
    let errorstats = srv.stats.errorstats.clone();
    let slowlog_len = srv.slowlog.len();
    let ret = load_files(srv, am, dir, fname);
    for (e, s) in srv.commands.entries.iter_mut().zip(cmd_stats) {
        e.stats = s;
    }
    srv.stats.commands_processed = processed;
    srv.stats.total_error_replies = errors;
    srv.stats.error_watermark = errors;
    srv.stats.errorstats = errorstats;
    while srv.slowlog.len() > slowlog_len {
        srv.slowlog.pop_front();
    }
    srv.loading = false;
    srv.update_db_state(|s| s.loading = false);
    ret
}

/// DEBUG LOADAOF: writes what is buffered, empties the dataset and loads
/// the AOF again. A failed load exits, as in Redis.
pub fn debug_loadaof(srv: &mut Server) {
    if srv.aof.state == aof::AofState::On {
        aof::flush(srv, true);
    }
    for db in &mut srv.dbs {
        db.flush();
    }
    // The manifest is read again from disk (aofLoadManifestFromDisk): its
    // sequence counters restart from the files it lists.
    let (dir, fname, am) = manifest_on_disk(srv);
    srv.aof.manifest = am;
    aof::delete_history_files(srv);
    let mut am = srv.aof.manifest.clone();
    let ret = load_quietly(srv, &mut am, &dir, &fname);
    srv.aof.manifest = am;
    if ret != LoadResult::Ok && ret != LoadResult::Empty && ret != LoadResult::NotExist {
        std::process::exit(1);
    }
    // Redis zeroes dirty so the command is neither propagated nor counted.
    srv.dirty = 0;
    crate::propagate::prevent_current(srv);
    warn!("Append Only File loaded by DEBUG LOADAOF");
}

fn file_size(dir: &Path, name: &str) -> Result<u64, LoadResult> {
    match fs::metadata(dir.join(name)) {
        Ok(m) => Ok(m.len()),
        Err(e) => {
            warn!(
                "Unable to obtain the AOF file {} length. stat: {}",
                name,
                strerror(&e)
            );
            Err(if e.kind() == std::io::ErrorKind::NotFound {
                LoadResult::NotExist
            } else {
                LoadResult::OpenErr
            })
        }
    }
}

fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(p) => s[..p].to_string(),
        None => s,
    }
}

/// aofUpgradePrepare: moves an old single-file AOF into the directory as
/// its base.
fn upgrade(am: &mut Manifest, dir: &Path, fname: &str) {
    if let Err(e) = fs::create_dir_all(dir) {
        fatal(&format!(
            "Can't open or create append-only dir {}: {}",
            dir.display(),
            strerror(&e)
        ));
    }
    am.base = Some(AofInfo {
        name: fname.to_string(),
        seq: 1,
        kind: manifest::BASE,
    });
    am.curr_base_seq = 1;
    am.dirty = true;
    if am.persist(dir, fname).is_err() {
        std::process::exit(1);
    }
    if let Err(e) = fs::rename(fname, dir.join(fname)) {
        fatal(&format!(
            "Error trying to move the old AOF file {} into dir {}: {}",
            fname,
            dir.display(),
            strerror(&e)
        ));
    }
    info!(
        "Successfully migrated an old-style AOF file ({}) into the AOF directory ({}).",
        fname,
        dir.display()
    );
}

fn load_files(srv: &mut Server, am: &mut Manifest, dir: &Path, fname: &str) -> LoadResult {
    if Path::new(fname).is_file() {
        let upgrade_needed = !dir.is_dir()
            || (am.base.is_none() && am.incr.is_empty())
            || (am.incr.is_empty()
                && am.base.as_ref().is_some_and(|b| b.name == fname)
                && !dir.join(fname).exists());
        if upgrade_needed {
            upgrade(am, dir, fname);
        }
    }
    if am.base.is_none() && am.incr.is_empty() {
        return LoadResult::NotExist;
    }
    let mut files: Vec<(String, bool)> = Vec::new();
    if let Some(b) = &am.base {
        files.push((b.name.clone(), true));
    }
    files.extend(am.incr.iter().map(|i| (i.name.clone(), false)));
    let mut total = 0u64;
    let mut base_size = 0u64;
    for (name, is_base) in &files {
        match file_size(dir, name) {
            Ok(n) => {
                total += n;
                if *is_base {
                    base_size = n;
                }
            }
            Err(LoadResult::NotExist) => return LoadResult::Failed,
            Err(r) => return r,
        }
    }
    if total == 0 {
        return LoadResult::Empty;
    }
    let n = files.len();
    let mut ret = LoadResult::Ok;
    for (i, (name, is_base)) in files.iter().enumerate() {
        let last = i + 1 == n;
        let start = Instant::now();
        ret = load_single(srv, dir, name, fname);
        if ret == LoadResult::Ok || (ret == LoadResult::Truncated && last) {
            info!(
                "DB loaded from {} file {}: {:.3} seconds",
                if *is_base { "base" } else { "incr" },
                name,
                start.elapsed().as_secs_f64()
            );
        }
        if !is_base && ret == LoadResult::Empty {
            ret = LoadResult::Ok;
        }
        if ret == LoadResult::Truncated && !last {
            warn!("Fatal error: the truncated file is not the last file");
            ret = LoadResult::Failed;
        }
        if ret == LoadResult::OpenErr || ret == LoadResult::Failed {
            return ret;
        }
    }
    srv.aof.current_size = total;
    srv.aof.rewrite_base_size = base_size;
    srv.aof.fsync_offset = total;
    ret
}

/// Why parsing stopped before the end of the file.
enum Stop {
    /// The file ends inside a command.
    Eof,
    /// Not RESP.
    Format,
}

/// Reads one `*N\r\n` line-terminated number at `pos` with `prefix`.
/// Err(Eof) when the line is incomplete.
fn read_line(data: &[u8], pos: usize) -> Result<(&[u8], usize), Stop> {
    // fgets with a 1024 byte buffer: a longer line is read in pieces, and
    // the next piece is not a valid header.
    let rest = &data[pos..];
    match rest.iter().position(|&c| c == b'\n') {
        Some(p) => Ok((&rest[..p + 1], pos + p + 1)),
        None => Err(Stop::Eof),
    }
}

/// Parses the command at `pos`: (ranges of its arguments, next offset).
fn parse_command(
    data: &[u8],
    mut pos: usize,
    ranges: &mut Vec<(usize, usize)>,
) -> Result<usize, Stop> {
    ranges.clear();
    let (line, next) = read_line(data, pos)?;
    if line.len() < 2 || line[0] != b'*' {
        return Err(Stop::Format);
    }
    let argc = atoi(&line[1..]);
    if argc < 1 {
        return Err(Stop::Format);
    }
    pos = next;
    for _ in 0..argc {
        if pos >= data.len() {
            return Err(Stop::Eof);
        }
        let (line, next) = read_line(data, pos)?;
        if line[0] != b'$' {
            return Err(Stop::Format);
        }
        let len = atoi(&line[1..]);
        if len < 0 {
            return Err(Stop::Format);
        }
        let len = len as usize;
        if len.checked_add(next + 2).is_none_or(|end| end > data.len()) {
            return Err(Stop::Eof);
        }
        ranges.push((next, len));
        pos = next + len + 2;
    }
    Ok(pos)
}

fn load_single(srv: &mut Server, dir: &Path, name: &str, aof_filename: &str) -> LoadResult {
    let path = dir.join(name);
    let data = match fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            if e.kind() == std::io::ErrorKind::NotFound {
                warn!(
                    "The append log file {} doesn't exist: {}",
                    name,
                    strerror(&e)
                );
                return LoadResult::NotExist;
            }
            warn!(
                "Fatal error: can't open the append log file {} for reading: {}",
                name,
                strerror(&e)
            );
            return LoadResult::OpenErr;
        }
    };
    if data.is_empty() {
        return LoadResult::Empty;
    }
    let mut pos = 0usize;
    if data.starts_with(b"REDIS") {
        let old_style = name == aof_filename;
        if old_style {
            info!("Reading RDB preamble from AOF file...");
        } else {
            info!("Reading RDB base file on AOF loading...");
        }
        let mut cur = Cursor::new(&data[..]);
        match crate::persist::rdb::load_rdb(srv, &mut cur, false) {
            Ok(li) => {
                if li.aof_base {
                    info!("RDB is base AOF");
                }
                crate::persist::rdb_server::record_load(srv, &li);
                pos = cur.position() as usize;
                if old_style {
                    info!("Reading the remaining AOF tail...");
                }
            }
            Err(e) => {
                if let crate::persist::rdb::LoadError::Corrupt(m) = &e {
                    warn!("{}", m);
                }
                if old_style {
                    warn!(
                        "Error reading the RDB preamble of the AOF file {}, AOF loading aborted",
                        name
                    );
                } else {
                    warn!(
                        "Error reading the RDB base file {}, AOF loading aborted",
                        name
                    );
                }
                return LoadResult::Failed;
            }
        }
    }
    let mut client = Client::new_internal(AOF_CLIENT_ID, crate::clock::now_ms());
    client.user = crate::acl::SUPERUSER;
    let saved_targets = srv.prop.targets;
    srv.prop.targets = 0;
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut valid_up_to = pos;
    let mut valid_before_multi = pos;
    let stop: Option<Stop> = loop {
        if pos >= data.len() {
            break None;
        }
        if data[pos] == b'#' {
            // Annotation line (#TS:...).
            match read_line(&data, pos) {
                Ok((_, next)) => {
                    pos = next;
                    valid_up_to = pos;
                    continue;
                }
                Err(_) => break Some(Stop::Eof),
            }
        }
        let next = match parse_command(&data, pos, &mut ranges) {
            Ok(n) => n,
            Err(s) => break Some(s),
        };
        let args = Args::new(&data, &ranges);
        let cmd_name = args.get(0);
        let Some(idx) = srv.commands.lookup(cmd_name) else {
            warn!(
                "Unknown command '{}' reading the append only file {}",
                String::from_utf8_lossy(cmd_name),
                name
            );
            srv.prop.targets = saved_targets;
            return LoadResult::Failed;
        };
        let facts = srv.commands.entries[idx].spec.facts;
        if facts & crate::cmdtable::fact::OPENS_TRANSACTION != 0 {
            valid_before_multi = valid_up_to;
        }
        (srv.hooks.execute)(srv, &mut client, &args);
        client.out.buf.clear();
        pos = next;
        valid_up_to = pos;
    };
    srv.prop.targets = saved_targets;
    let mut stop = stop;
    if stop.is_none() && client.multi.is_some() {
        warn!(
            "Revert incomplete MULTI/EXEC transaction in AOF file {}",
            name
        );
        valid_up_to = valid_before_multi;
        stop = Some(Stop::Eof);
    }
    match stop {
        None => LoadResult::Ok,
        Some(Stop::Format) => {
            warn!("Bad file format reading the append only file {}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>", name);
            LoadResult::Failed
        }
        Some(Stop::Eof) => {
            if srv.config.aof_load_truncated {
                warn!(
                    "!!! Warning: short read while loading the AOF file {}!!!",
                    name
                );
                warn!(
                    "!!! Truncating the AOF {} at offset {} !!!",
                    name, valid_up_to
                );
                let r = fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(valid_up_to as u64));
                match r {
                    Err(e) => warn!("Error truncating the AOF file {}: {}", name, strerror(&e)),
                    Ok(()) => {
                        warn!(
                            "AOF {} loaded anyway because aof-load-truncated is enabled",
                            name
                        );
                        return LoadResult::Truncated;
                    }
                }
            }
            warn!("Unexpected end of file reading the append only file {}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.", name);
            LoadResult::Failed
        }
    }
}

/// The AOF directory, base file name and the manifest found there (empty
/// when there is none); a broken manifest is fatal, as in Redis.
fn manifest_on_disk(srv: &Server) -> (std::path::PathBuf, String, Manifest) {
    let dir = aof::dir_path(srv);
    let fname = aof::file_name(srv);
    let am = match manifest::load_from_disk(&dir, &fname) {
        Ok(Some(m)) => m,
        Ok(None) => Manifest::default(),
        Err(msg) => fatal(&msg),
    };
    (dir, fname, am)
}
