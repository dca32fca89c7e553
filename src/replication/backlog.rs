//! The replication backlog (Redis's repl_backlog): a circular buffer with
//! the most recent `repl-backlog-size` bytes of the replication stream, so
//! a replica that lost its link can continue from its offset (PSYNC)
//! instead of loading a whole new snapshot.

/// A circular buffer of the stream's last bytes.
pub struct Backlog {
    buf: Vec<u8>,
    /// Where the next byte goes.
    idx: usize,
    /// Bytes of history held (<= buf.len()).
    histlen: usize,
    /// Replication offset of the first byte held.
    pub first_offset: i64,
}

impl Backlog {
    /// An empty backlog whose next byte has replication offset `next`.
    pub fn new(size: usize, next: i64) -> Backlog {
        Backlog {
            buf: vec![0; size.max(16 * 1024)],
            idx: 0,
            histlen: 0,
            first_offset: next,
        }
    }

    pub fn size(&self) -> usize {
        self.buf.len()
    }

    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// Forgets the history; the next byte has offset `next`.
    pub fn reset(&mut self, next: i64) {
        self.idx = 0;
        self.histlen = 0;
        self.first_offset = next;
    }

    /// Appends stream bytes, dropping the oldest ones when full.
    pub fn append(&mut self, mut data: &[u8]) {
        let size = self.buf.len();
        if data.len() > size {
            // Only the tail fits.
            let skip = data.len() - size;
            self.first_offset += (self.histlen + skip) as i64;
            self.histlen = 0;
            data = &data[skip..];
        }
        let mut rest = data;
        while !rest.is_empty() {
            let n = (size - self.idx).min(rest.len());
            self.buf[self.idx..self.idx + n].copy_from_slice(&rest[..n]);
            self.idx = (self.idx + n) % size;
            rest = &rest[n..];
        }
        self.histlen += data.len();
        if self.histlen > size {
            self.first_offset += (self.histlen - size) as i64;
            self.histlen = size;
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
        let size = self.buf.len();
        let skip = (off - self.first_offset) as usize;
        let len = self.histlen - skip;
        let start = (self.idx + size - self.histlen + skip) % size;
        let first = (size - start).min(len);
        out.extend_from_slice(&self.buf[start..start + first]);
        out.extend_from_slice(&self.buf[..len - first]);
    }

    /// Changes the size keeping as much recent history as fits.
    pub fn resize(&mut self, size: usize) {
        let size = size.max(16 * 1024);
        if size == self.buf.len() {
            return;
        }
        let mut hist = Vec::with_capacity(self.histlen);
        self.copy_from(self.first_offset, &mut hist);
        let end = self.first_offset + hist.len() as i64;
        *self = Backlog::new(size, end);
        self.first_offset = end - hist.len() as i64;
        let keep = hist.len().min(size);
        self.first_offset = end - keep as i64;
        let tail = &hist[hist.len() - keep..];
        self.buf[..keep].copy_from_slice(tail);
        self.idx = keep % size;
        self.histlen = keep;
    }
}

#[cfg(test)]
mod tests {
    use super::Backlog;

    #[test]
    fn wraps_and_copies() {
        let mut b = Backlog::new(16 * 1024, 1);
        let data: Vec<u8> = (0..40000u32).map(|i| (i % 251) as u8).collect();
        b.append(&data[..10000]);
        b.append(&data[10000..]);
        assert_eq!(b.histlen(), 16 * 1024);
        assert_eq!(b.first_offset, 1 + 40000 - 16 * 1024);
        let mut out = Vec::new();
        b.copy_from(1 + 39000, &mut out);
        assert_eq!(out, &data[39000..]);
        assert!(!b.contains(1));
        b.resize(20000);
        let mut out = Vec::new();
        b.copy_from(b.first_offset, &mut out);
        assert_eq!(out, &data[40000 - 16 * 1024..]);
    }
}
