//! Blocking operations (BLPOP, BLMOVE, BZPOPMIN, ...): clients waiting on
//! keys, woken when another client pushes to one of them, or timed out.
//! (API first; the event-loop side is completed in the same issue.)

use crate::client::Client;
use crate::commands::Args;
use crate::error::CmdError;
use crate::server::Server;

/// Parses a blocking timeout (seconds, may be fractional; 0 = forever)
/// into an absolute unix-ms deadline, 0 meaning no deadline. Errors are
/// Redis's "ERR timeout is not a float or out of range" and
/// "ERR timeout is negative".
pub fn parse_timeout(arg: &[u8]) -> Result<i64, CmdError> {
    let secs = crate::util::num::parse_f64(arg)
        .filter(|v| v.is_finite())
        .ok_or(CmdError::Static(crate::error::TIMEOUT_INVALID))?;
    if secs < 0.0 {
        return Err(CmdError::Static(crate::error::TIMEOUT_NEGATIVE));
    }
    if secs == 0.0 {
        return Ok(0);
    }
    let ms = (secs * 1000.0).ceil() as i64;
    Ok(crate::clock::now_ms().saturating_add(ms))
}

/// Blocks client `c` on `keys` (in its current db) until one of them is
/// signalled ready or `deadline_ms` passes (0 = never). The command in
/// `args` is re-executed from scratch when a key is signalled; if it still
/// finds nothing it blocks again. On timeout the client gets a null array.
/// The handler must not write a reply when it blocks.
pub fn block_on_keys(
    _srv: &mut Server,
    c: &mut Client,
    _keys: &[&[u8]],
    _deadline_ms: i64,
    _args: &Args,
) {
    // Placeholder until the event-loop side lands: behave like a timeout.
    c.out.null_array();
}

/// Must be called by every command that adds elements to a list or sorted
/// set key (LPUSH, RPUSH, LINSERT, LMOVE's destination, ZADD, ZINCRBY,
/// ZUNIONSTORE..., RENAME/MOVE/COPY of such a key, RESTORE), so clients
/// blocked on it are served after the current command.
pub fn signal_key_ready(_srv: &mut Server, _db: usize, _key: &[u8]) {}

/// True when the current command must not block (inside MULTI/EXEC or a
/// script): blocking commands then behave like their non-blocking form
/// and reply a null array when there is nothing to pop.
pub fn must_not_block(_c: &Client) -> bool {
    false
}
