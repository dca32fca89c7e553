//! The replication backlog (Redis 7.0's repl_backlog over the shared
//! replication buffer): the most recent bytes of the replication stream
//! in blocks of at least 16 KiB, so a replica that lost its link can
//! continue from its offset (PSYNC) instead of loading a whole new
//! snapshot.
//!
//! It keeps at least `repl-backlog-size` bytes, and more while replicas
//! waiting for their snapshot still need older bytes (`trim`'s
//! `hold_from`): their stream since the fork lives here once, shared,
//! instead of in a copy per replica, and a PSYNC can be served from all of
//! it (Redis's "backlog can outgrow the backlog limit").

use std::collections::VecDeque;

/// Size of a new block (PROTO_REPLY_CHUNK_BYTES), or the data's size if
/// larger.
const BLOCK: usize = 16 * 1024;

/// The stream's last bytes.
pub struct Backlog {
    blocks: VecDeque<Vec<u8>>,
    /// The configured size (repl-backlog-size, at least 16 KiB).
    size: usize,
    /// Bytes of history held.
    histlen: usize,
    /// Replication offset of the first byte held.
    pub first_offset: i64,
}

impl Backlog {
    /// An empty backlog whose next byte has replication offset `next`.
    pub fn new(size: usize, next: i64) -> Backlog {
        Backlog {
            blocks: VecDeque::new(),
            size: size.max(BLOCK),
            histlen: 0,
            first_offset: next,
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// Memory of the blocks (INFO mem_total_replication_buffers).
    pub fn mem(&self) -> usize {
        self.blocks.iter().map(|b| b.capacity()).sum()
    }

    /// Forgets the history; the next byte has offset `next`.
    pub fn reset(&mut self, next: i64) {
        self.blocks.clear();
        self.histlen = 0;
        self.first_offset = next;
    }

    /// Appends stream bytes, then drops the oldest ones beyond the size
    /// that no waiting replica needs (offsets from `hold_from` on).
    pub fn append(&mut self, data: &[u8], hold_from: Option<i64>) {
        let mut rest = data;
        if let Some(last) = self.blocks.back_mut() {
            let n = (last.capacity() - last.len()).min(rest.len());
            last.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        if !rest.is_empty() {
            let mut b = Vec::with_capacity(rest.len().max(BLOCK));
            b.extend_from_slice(rest);
            self.blocks.push_back(b);
        }
        self.histlen += data.len();
        self.trim(hold_from);
    }

    /// incrementalTrimReplicationBacklog: whole blocks go while at least
    /// `size` bytes stay and no waiting replica needs them.
    pub fn trim(&mut self, hold_from: Option<i64>) {
        while self.blocks.len() > 1 {
            let n = self.blocks[0].len();
            if self.histlen - n < self.size {
                break;
            }
            if hold_from.is_some_and(|h| self.first_offset + n as i64 > h) {
                break;
            }
            self.blocks.pop_front();
            self.histlen -= n;
            self.first_offset += n as i64;
        }
    }

    /// Is offset `off` (the next byte a replica needs) still held?
    pub fn contains(&self, off: i64) -> bool {
        off >= self.first_offset && off <= self.first_offset + self.histlen as i64
    }

    /// Copies the history from offset `off` to the end into `out`.
    pub fn copy_from(&self, off: i64, out: &mut Vec<u8>) {
        if !self.contains(off) {
            return;
        }
        let mut skip = (off - self.first_offset) as usize;
        out.reserve(self.histlen - skip);
        for b in &self.blocks {
            if skip >= b.len() {
                skip -= b.len();
                continue;
            }
            out.extend_from_slice(&b[skip..]);
            skip = 0;
        }
    }

    /// Changes the size; history beyond it goes (as `trim` allows).
    pub fn resize(&mut self, size: usize, hold_from: Option<i64>) {
        self.size = size.max(BLOCK);
        self.trim(hold_from);
    }
}

#[cfg(test)]
mod tests {
    use super::Backlog;

    #[test]
    fn keeps_size_and_copies() {
        let mut b = Backlog::new(16 * 1024, 1);
        let data: Vec<u8> = (0..40000u32).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(1000) {
            b.append(chunk, None);
        }
        assert!(b.histlen() >= 16 * 1024 && b.histlen() < 2 * 16 * 1024 + 1000);
        assert_eq!(b.first_offset + b.histlen() as i64, 1 + 40000);
        let mut out = Vec::new();
        b.copy_from(1 + 39000, &mut out);
        assert_eq!(out, &data[39000..]);
        assert!(!b.contains(1));
        let mut out = Vec::new();
        b.copy_from(b.first_offset, &mut out);
        assert_eq!(out, &data[(b.first_offset - 1) as usize..]);
    }

    #[test]
    fn held_history_outgrows_the_size() {
        let mut b = Backlog::new(16 * 1024, 1);
        let data = vec![7u8; 200_000];
        for chunk in data.chunks(5000) {
            b.append(chunk, Some(1));
        }
        assert_eq!(b.histlen(), 200_000);
        assert!(b.contains(1));
        b.trim(None);
        assert!(b.histlen() < 2 * 16 * 1024 + 5000);
        assert!(!b.contains(1));
    }
}
