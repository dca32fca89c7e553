//! A minimal stream value (Redis 7.0's t_stream.c data half, without
//! consumer groups): entries ordered by ID in a B-tree, plus the layout of
//! Redis's listpack nodes (how many entries each node took, and its last
//! ID) so that trimming, which works on whole nodes, removes what Redis
//! removes. Nodes are cut by `stream-node-max-entries` only (the byte limit
//! `stream-node-max-bytes` is not modelled).

use std::collections::{BTreeMap, VecDeque};

/// A stream entry ID `ms-seq`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// The next ID, or None at the maximum.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId {
                ms: self.ms,
                seq: self.seq + 1,
            })
        } else if self.ms < u64::MAX {
            Some(StreamId {
                ms: self.ms + 1,
                seq: 0,
            })
        } else {
            None
        }
    }

    /// The previous ID, or None at 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId {
                ms: self.ms,
                seq: self.seq - 1,
            })
        } else if self.ms > 0 {
            Some(StreamId {
                ms: self.ms - 1,
                seq: u64::MAX,
            })
        } else {
            None
        }
    }

    /// Formats as `ms-seq`.
    pub fn format(self) -> String {
        format!("{}-{}", self.ms, self.seq)
    }
}

/// One entry's field/value pairs.
pub type Fields = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Clone, Default)]
pub struct StreamValue {
    pub entries: BTreeMap<StreamId, Fields>,
    /// Listpack nodes, oldest first: (entries ever appended, last ID).
    nodes: VecDeque<(usize, StreamId)>,
    pub last_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
}

/// How to trim (XADD/XTRIM MAXLEN|MINID).
#[derive(Clone, Copy, Debug)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

impl StreamValue {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn first_id(&self) -> Option<StreamId> {
        self.entries.keys().next().copied()
    }

    /// Appends an entry (IDs only grow); `node_max` is stream-node-max-entries.
    pub fn add(&mut self, id: StreamId, fields: Fields, node_max: usize) {
        match self.nodes.back_mut() {
            Some((slots, last)) if node_max == 0 || *slots < node_max => {
                *slots += 1;
                *last = id;
            }
            _ => self.nodes.push_back((1, id)),
        }
        self.entries.insert(id, fields);
        self.last_id = id;
        self.entries_added += 1;
    }

    pub fn delete(&mut self, id: StreamId) -> bool {
        if self.entries.remove(&id).is_some() {
            if id > self.max_deleted_id {
                self.max_deleted_id = id;
            }
            // A node whose entries are all deleted is freed.
            if let Some(k) = self.nodes.iter().position(|&(_, last)| last >= id) {
                if self.node_valid(k) == 0 {
                    self.nodes.remove(k);
                }
            }
            true
        } else {
            false
        }
    }

    /// Live entries of node `k`.
    fn node_valid(&self, k: usize) -> usize {
        let last = self.nodes[k].1;
        match k.checked_sub(1).map(|p| self.nodes[p].1.incr()) {
            Some(Some(from)) => self.entries.range(from..=last).count(),
            Some(None) => 0,
            None => self.entries.range(..=last).count(),
        }
    }

    fn remove_oldest(&mut self) {
        if let Some((&id, _)) = self.entries.iter().next() {
            self.entries.remove(&id);
            if id > self.max_deleted_id {
                self.max_deleted_id = id;
            }
        }
    }

    /// Redis's `streamTrim`: removes whole nodes from the head while the
    /// condition allows, then (unless `approx`) single entries of the next
    /// node. `limit` (0 = none) caps the entries removed. Returns the count.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        if let Trim::MaxLen(max) = how {
            if self.entries.len() as u64 <= max {
                return 0;
            }
        }
        let mut removed = 0u64;
        while !self.nodes.is_empty() {
            let valid = self.node_valid(0);
            if limit > 0 && removed + valid as u64 > limit {
                break;
            }
            let whole = match how {
                Trim::MaxLen(max) => (self.entries.len() - valid) as u64 >= max,
                Trim::MinId(min) => self.nodes[0].1 < min,
            };
            if whole {
                for _ in 0..valid {
                    self.remove_oldest();
                }
                self.nodes.pop_front();
                removed += valid as u64;
                continue;
            }
            if approx {
                break;
            }
            while let Some(&first) = self.entries.keys().next() {
                let more = match how {
                    Trim::MaxLen(max) => self.entries.len() as u64 > max,
                    Trim::MinId(min) => first < min,
                };
                if !more {
                    break;
                }
                self.remove_oldest();
                removed += 1;
            }
            break;
        }
        removed
    }

    pub fn heap_size(&self) -> usize {
        self.entries
            .values()
            .map(|f| {
                64 + f
                    .iter()
                    .map(|(a, b)| a.capacity() + b.capacity() + 48)
                    .sum::<usize>()
            })
            .sum()
    }

    /// Mixes every entry into a DEBUG DIGEST.
    pub fn digest(&self, digest: &mut [u8; 20]) {
        for (id, fields) in &self.entries {
            let mut buf = Vec::new();
            buf.extend_from_slice(&id.ms.to_be_bytes());
            buf.extend_from_slice(&id.seq.to_be_bytes());
            for (f, v) in fields {
                buf.extend_from_slice(f);
                buf.extend_from_slice(v);
            }
            crate::commands::debug::mix_digest(digest, &buf);
        }
    }
}

impl StreamValue {
    /// The listpack node layout, oldest first: (entries appended to the
    /// node, deleted ones included; the node's last ID). RDB saving builds
    /// one listpack per node from it.
    pub fn node_layout(&self) -> impl Iterator<Item = (usize, StreamId)> + '_ {
        self.nodes.iter().copied()
    }

    /// Appends a node to the layout (RDB loading, after inserting its
    /// live entries into `entries`).
    pub fn push_node(&mut self, slots: usize, last: StreamId) {
        self.nodes.push_back((slots, last));
    }
}
