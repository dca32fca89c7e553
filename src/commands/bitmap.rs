//! Bitmap commands (Redis's bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD and BITFIELD_RO.
//!
//! The algorithms live in `ds::bitops`; this module does the key lookups,
//! type checks, encoding changes (a modified string becomes `raw`, as
//! Redis's `dbUnshareStringValue` does), dirty accounting and replies.

use crate::client::Client;
use crate::cmdtable::meta::GetKeys;
use crate::cmdtable::WrittenKeys;
use crate::cmdtable::{cmd, CommandSpec};
use crate::ds::bitops::{self, BitError, BitOp, BitfieldOp};
use crate::error::{self, CmdError, CmdResult};
use crate::notify;
use crate::object::Value;
use crate::protocol::args::Args;
use crate::server::Server;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd("setbit", setbit),
    cmd("getbit", getbit),
    cmd("bitcount", bitcount),
    cmd("bitpos", bitpos),
    cmd("bitop", bitop).writing(WrittenKeys::At(2)),
    cmd("bitfield", bitfield).getkeys(GetKeys::Bitfield),
    cmd("bitfield_ro", bitfield_ro),
];

/// Maps a `bitops` parsing error to the reply error (same texts).
fn bit_err(e: BitError) -> CmdError {
    match e {
        BitError::Syntax => CmdError::Syntax,
        BitError::NotInteger => CmdError::NotInteger,
        BitError::BitOffset => CmdError::Static(error::BIT_OFFSET),
        BitError::BitValue => CmdError::Static(error::BIT_VALUE),
        BitError::BitposBit => CmdError::Static(error::BITPOS_BIT),
        BitError::InvalidType => CmdError::Static(error::BITFIELD_TYPE),
        BitError::InvalidOverflow => CmdError::Static(error::BITFIELD_OVERFLOW),
        BitError::ReadonlyOnlyGet => CmdError::Static(error::BITFIELD_RO_GET_ONLY),
        BitError::BitopNotSingleSource => CmdError::Static(error::BITOP_NOT_SINGLE),
    }
}

/// The maximum string size a bit offset may address (proto-max-bulk-len).
#[inline]
fn max_bytes(srv: &Server) -> u64 {
    srv.config.proto_max_bulk_len.max(0) as u64
}

fn setbit(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let key = a.get(1);
    let off = bitops::parse_bit_offset(a.get(2), false, 0, max_bytes(srv)).map_err(bit_err)?;
    let on = bitops::parse_setbit_value(a.get(3)).map_err(bit_err)?;
    let db = &mut srv.dbs[c.db];
    let (old, modified) = match db.lookup_write(key) {
        None => {
            let mut buf = Vec::new();
            let old = bitops::setbit(&mut buf, off, on);
            db.add(key, Value::raw(buf));
            (old, true)
        }
        Some(o) => {
            let buf = o.value.make_raw().ok_or(CmdError::WrongType)?;
            let before = buf.len();
            let old = bitops::setbit(buf, off, on);
            (old, buf.len() != before || (old != 0) != on)
        }
    };
    // Redis 7.0 only counts a change when the key was created, grew, or the
    // bit flipped.
    if modified {
        srv.dirty += 1;
        notify::event(srv, c, notify::STRING, "setbit", key);
    }
    c.out.int(old as i64);
    Ok(())
}

fn getbit(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let off = bitops::parse_bit_offset(a.get(2), false, 0, max_bytes(srv)).map_err(bit_err)?;
    let bit = match srv.dbs[c.db].read_string(a.get(1))? {
        None => 0,
        Some(v) => {
            let mut tmp = [0u8; 20];
            bitops::getbit(v.str_bytes(&mut tmp).unwrap_or(b""), off)
        }
    };
    c.out.int(bit as i64);
    Ok(())
}

/// BITCOUNT key [start end [BYTE|BIT]]. As in Redis 7.0 the key is looked
/// up (missing → 0, wrong type → WRONGTYPE) before the range is parsed.
fn bitcount(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let argc = a.len();
    let Some(v) = srv.dbs[c.db].read_string(a.get(1))? else {
        c.out.int(0);
        return Ok(());
    };
    let (range, unit_bit) = match argc {
        2 => (None, false),
        4 | 5 => {
            let start = bitops::parse_index(a.get(2)).map_err(bit_err)?;
            let end = bitops::parse_index(a.get(3)).map_err(bit_err)?;
            // Redis answers 0 here before looking at the unit argument.
            if start < 0 && end < 0 && start > end {
                c.out.int(0);
                return Ok(());
            }
            let unit_bit = if argc == 5 {
                bitops::parse_unit(a.get(4)).map_err(bit_err)?
            } else {
                false
            };
            (Some((start, end)), unit_bit)
        }
        _ => return Err(CmdError::Syntax),
    };
    let mut tmp = [0u8; 20];
    let s = v.str_bytes(&mut tmp).unwrap_or(b"");
    let n = bitops::bitcount(s, range, unit_bit);
    c.out.int(n as i64);
    Ok(())
}

/// BITPOS key bit [start [end [BYTE|BIT]]].
fn bitpos(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let argc = a.len();
    let bit = bitops::parse_bitpos_bit(a.get(2)).map_err(bit_err)?;
    let Some(v) = srv.dbs[c.db].read_string(a.get(1))? else {
        // A missing key is an infinite run of zeros.
        c.out.int(if bit == 1 { -1 } else { 0 });
        return Ok(());
    };
    let mut tmp = [0u8; 20];
    let s = v.str_bytes(&mut tmp).unwrap_or(b"");
    let pos = match argc {
        3 => bitops::bitpos(s, bit, None, None, false),
        4..=6 => {
            let start = bitops::parse_index(a.get(3)).map_err(bit_err)?;
            // Redis checks the unit before parsing `end`.
            let unit_bit = if argc == 6 {
                bitops::parse_unit(a.get(5)).map_err(bit_err)?
            } else {
                false
            };
            let end = if argc >= 5 {
                Some(bitops::parse_index(a.get(4)).map_err(bit_err)?)
            } else {
                None
            };
            bitops::bitpos(s, bit, Some(start), end, unit_bit)
        }
        _ => return Err(CmdError::Syntax),
    };
    c.out.int(pos);
    Ok(())
}

/// BITOP op destkey key [key ...].
fn bitop(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    let op = BitOp::parse(a.get(1)).map_err(bit_err)?;
    let argc = a.len();
    op.check_sources(argc - 3).map_err(bit_err)?;
    let db = &mut srv.dbs[c.db];
    // Pass 1: lazy expiry, hit/miss stats and type checks, in key order.
    for i in 3..argc {
        if let Some(o) = db.lookup_read(a.get(i)) {
            if !o.value.is_string() {
                return Err(CmdError::WrongType);
            }
        }
    }
    // Pass 2: borrow every source (missing keys are empty strings).
    let result = {
        let mut tmps = vec![[0u8; 20]; argc - 3];
        let srcs: Vec<&[u8]> = (3..argc)
            .zip(tmps.iter_mut())
            .map(|(i, t)| {
                db.dict
                    .get(a.get(i))
                    .and_then(|o| o.value.str_bytes(t))
                    .unwrap_or(&[])
            })
            .collect();
        bitops::bitop(op, &srcs)
    };
    let dest = a.get(2);
    let len = result.len();
    if len > 0 {
        db.set(dest, Value::raw(result), false);
        srv.dirty += 1;
        notify::event(srv, c, notify::STRING, "set", dest);
    } else if db.delete(dest) {
        srv.dirty += 1;
        notify::event(srv, c, notify::GENERIC, "del", dest);
    }
    c.out.int(len as i64);
    Ok(())
}

fn bitfield(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    bitfield_generic(srv, c, a, false)
}

fn bitfield_ro(srv: &mut Server, c: &mut Client, a: &Args) -> CmdResult {
    bitfield_generic(srv, c, a, true)
}

/// Writes the BITFIELD reply: one integer (or nil for OVERFLOW FAIL) per
/// GET/SET/INCRBY.
fn reply_fields(c: &mut Client, replies: &[Option<i64>]) {
    c.out.array(replies.len());
    for r in replies {
        match r {
            Some(v) => c.out.int(*v),
            None => c.out.null(),
        }
    }
}

/// bitfieldGeneric: parse everything first, then either a read-only pass
/// (never creates the key) or a write pass that creates/grows the string.
fn bitfield_generic(srv: &mut Server, c: &mut Client, a: &Args, readonly: bool) -> CmdResult {
    let key = a.get(1);
    let rest: Vec<&[u8]> = a.iter().skip(2).collect();
    let ops = bitops::parse_bitfield_args(&rest, readonly, max_bytes(srv)).map_err(bit_err)?;
    let db = &mut srv.dbs[c.db];
    if bitops::bitfield_is_readonly(&ops) {
        let v = db.read_string(key)?;
        let mut tmp = [0u8; 20];
        let s = v.and_then(|v| v.str_bytes(&mut tmp)).unwrap_or(b"");
        c.out.array(
            ops.len()
                - ops
                    .iter()
                    .filter(|o| matches!(o, BitfieldOp::Overflow(_)))
                    .count(),
        );
        for op in &ops {
            if let BitfieldOp::Get { t, offset } = *op {
                c.out.int(bitops::get_field(s, offset, t));
            }
        }
        return Ok(());
    }
    let changed = match db.lookup_write(key) {
        None => {
            let mut buf = Vec::new();
            let (replies, _) = bitops::execute_bitfield(&mut buf, &ops);
            // Redis creates the key even if every write FAILs.
            db.add(key, Value::raw(buf));
            reply_fields(c, &replies);
            true
        }
        Some(o) => {
            let buf = o.value.make_raw().ok_or(CmdError::WrongType)?;
            let (replies, changed) = bitops::execute_bitfield(buf, &ops);
            reply_fields(c, &replies);
            changed
        }
    };
    if changed {
        srv.dirty += 1;
    }
    // Redis counts every SET/INCRBY as a change for the event.
    if ops
        .iter()
        .any(|o| matches!(o, BitfieldOp::Set { .. } | BitfieldOp::Incr { .. }))
    {
        notify::event(srv, c, notify::STRING, "setbit", key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_match_bitops() {
        let all = [
            BitError::Syntax,
            BitError::NotInteger,
            BitError::BitOffset,
            BitError::BitValue,
            BitError::BitposBit,
            BitError::InvalidType,
            BitError::InvalidOverflow,
            BitError::ReadonlyOnlyGet,
            BitError::BitopNotSingleSource,
        ];
        for e in all {
            assert_eq!(bit_err(e).message(), e.message());
        }
    }
}
