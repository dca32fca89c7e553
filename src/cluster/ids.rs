//! The small value types the cluster bus, nodes.conf and the cluster state
//! share: a node's 40-character name (`NodeId`), its flags (`NodeFlags`,
//! cluster.h CLUSTER_NODE_*) and a 16384-bit slot bitmap (`SlotBitmap`).

use std::fmt;

use super::slot::CLUSTER_SLOTS;

/// Length of a node name (CLUSTER_NAMELEN: a SHA1's hex digits).
pub const NAME_LEN: usize = 40;

/// A node's name: 40 bytes, lower-case hex for every name Redis makes. The
/// bus carries it as raw bytes (not checked there, as Redis does not).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub [u8; NAME_LEN]);

impl NodeId {
    /// All zeros: the bus's "no node" (a master's `slaveof` field).
    pub const NULL: NodeId = NodeId([0; NAME_LEN]);

    /// `s` when it is a valid node id: 40 characters of `0-9a-z` (cluster.c
    /// verifyClusterNodeId accepts any lower-case letter, not only hex).
    pub fn parse(s: &[u8]) -> Option<NodeId> {
        if s.len() != NAME_LEN || !s.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'z')) {
            return None;
        }
        let mut id = [0u8; NAME_LEN];
        id.copy_from_slice(s);
        Some(NodeId(id))
    }

    /// A fresh random name (getRandomHexChars).
    pub fn random() -> NodeId {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        let mut id = [0u8; NAME_LEN];
        for c in id.iter_mut() {
            *c = b"0123456789abcdef"[rng.gen_range(0..16)];
        }
        NodeId(id)
    }

    pub fn is_null(&self) -> bool {
        self.0 == [0; NAME_LEN]
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Default for NodeId {
    fn default() -> Self {
        NodeId::NULL
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

/// A node's flags, as cluster.h numbers them (the bus carries them as they
/// are: `flags` in the header and in each gossip entry).
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct NodeFlags(pub u16);

impl NodeFlags {
    pub const MASTER: NodeFlags = NodeFlags(1);
    pub const SLAVE: NodeFlags = NodeFlags(2);
    /// Failure suspected (shown as `fail?`).
    pub const PFAIL: NodeFlags = NodeFlags(4);
    pub const FAIL: NodeFlags = NodeFlags(8);
    pub const MYSELF: NodeFlags = NodeFlags(16);
    pub const HANDSHAKE: NodeFlags = NodeFlags(32);
    pub const NOADDR: NodeFlags = NodeFlags(64);
    /// Send a MEET rather than a PING on connecting (never shown).
    pub const MEET: NodeFlags = NodeFlags(128);
    /// Master eligible for replica migration (never shown).
    pub const MIGRATE_TO: NodeFlags = NodeFlags(256);
    pub const NOFAILOVER: NodeFlags = NodeFlags(512);
    pub const NONE: NodeFlags = NodeFlags(0);

    /// The flags CLUSTER NODES and nodes.conf show, in their order
    /// (cluster.c redisNodeFlagsTable).
    pub const NAMED: [(NodeFlags, &'static str); 8] = [
        (NodeFlags::MYSELF, "myself"),
        (NodeFlags::MASTER, "master"),
        (NodeFlags::SLAVE, "slave"),
        (NodeFlags::PFAIL, "fail?"),
        (NodeFlags::FAIL, "fail"),
        (NodeFlags::HANDSHAKE, "handshake"),
        (NodeFlags::NOADDR, "noaddr"),
        (NodeFlags::NOFAILOVER, "nofailover"),
    ];

    /// True when any of `other`'s bits is set.
    pub fn any(self, other: NodeFlags) -> bool {
        self.0 & other.0 != 0
    }

    pub fn insert(&mut self, other: NodeFlags) {
        self.0 |= other.0;
    }

    pub fn remove(&mut self, other: NodeFlags) {
        self.0 &= !other.0;
    }

    /// The comma-separated names (`noflags` when none is set), as
    /// representClusterNodeFlags writes them.
    pub fn describe(self) -> String {
        let names: Vec<&str> = Self::NAMED
            .iter()
            .filter(|(f, _)| self.any(*f))
            .map(|(_, n)| *n)
            .collect();
        if names.is_empty() {
            "noflags".to_string()
        } else {
            names.join(",")
        }
    }
}

impl std::ops::BitOr for NodeFlags {
    type Output = NodeFlags;
    fn bitor(self, rhs: NodeFlags) -> NodeFlags {
        NodeFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for NodeFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeFlags({:#x}: {})", self.0, self.describe())
    }
}

/// Bytes in a slot bitmap (CLUSTER_SLOTS/8).
pub const SLOT_BITMAP_LEN: usize = CLUSTER_SLOTS / 8;

/// One bit per slot, bit `s % 8` of byte `s / 8` (cluster.c bitmapTestBit):
/// the wire layout of `myslots` and of an UPDATE's slots.
#[derive(Clone, PartialEq, Eq)]
pub struct SlotBitmap(pub Box<[u8; SLOT_BITMAP_LEN]>);

impl Default for SlotBitmap {
    fn default() -> Self {
        SlotBitmap(Box::new([0; SLOT_BITMAP_LEN]))
    }
}

impl SlotBitmap {
    pub fn from_bytes(b: &[u8; SLOT_BITMAP_LEN]) -> SlotBitmap {
        SlotBitmap(Box::new(*b))
    }

    pub fn get(&self, slot: usize) -> bool {
        self.0[slot / 8] & (1 << (slot % 8)) != 0
    }

    pub fn set(&mut self, slot: usize) {
        self.0[slot / 8] |= 1 << (slot % 8);
    }

    pub fn clear(&mut self, slot: usize) {
        self.0[slot / 8] &= !(1 << (slot % 8));
    }

    pub fn count(&self) -> usize {
        self.0.iter().map(|b| b.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }

    /// The set slots as inclusive (start, end) ranges, ascending. Whole
    /// bytes that continue the current state (all clear outside a range,
    /// all set inside one) are skipped at once: nodes.conf and CLUSTER
    /// NODES render every node's bitmap on each change.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        let mut out = Vec::new();
        let mut start: Option<usize> = None;
        let mut s = 0;
        while s < CLUSTER_SLOTS {
            let byte = self.0[s / 8];
            if s % 8 == 0 && byte == if start.is_some() { 0xff } else { 0 } {
                s += 8;
                continue;
            }
            match (byte & (1 << (s % 8)) != 0, start) {
                (true, None) => start = Some(s),
                (false, Some(b)) => {
                    out.push((b as u16, (s - 1) as u16));
                    start = None;
                }
                _ => {}
            }
            s += 1;
        }
        if let Some(b) = start {
            out.push((b as u16, (CLUSTER_SLOTS - 1) as u16));
        }
        out
    }
}

impl fmt::Debug for SlotBitmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SlotBitmap{:?}", self.ranges())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_id_parse() {
        let ok = b"9087a3db5510457a43be71532f486c938cbbc4bb";
        assert_eq!(
            NodeId::parse(ok).map(|n| n.to_string()).as_deref(),
            Some(std::str::from_utf8(ok).unwrap())
        );
        assert!(NodeId::parse(b"9087A3db5510457a43be71532f486c938cbbc4bb").is_none());
        assert!(NodeId::parse(b"9087a3db").is_none());
        assert!(NodeId::parse(b"zzzzzzzz5510457a43be71532f486c938cbbc4bb").is_some());
        assert!(NodeId::parse(NodeId::random().as_bytes()).is_some());
        assert!(NodeId::NULL.is_null());
    }

    #[test]
    fn flags_describe() {
        assert_eq!(NodeFlags::NONE.describe(), "noflags");
        assert_eq!(
            (NodeFlags::MASTER | NodeFlags::MYSELF).describe(),
            "myself,master"
        );
        assert_eq!(
            (NodeFlags::SLAVE | NodeFlags::PFAIL | NodeFlags::NOFAILOVER | NodeFlags::MEET)
                .describe(),
            "slave,fail?,nofailover"
        );
    }

    #[test]
    fn bitmap_ranges() {
        let mut b = SlotBitmap::default();
        assert!(b.ranges().is_empty());
        for s in [0, 1, 2, 7, 8, 100, 16383] {
            b.set(s);
        }
        assert_eq!(b.ranges(), vec![(0, 2), (7, 8), (100, 100), (16383, 16383)]);
        assert_eq!(b.count(), 7);
        b.clear(8);
        assert!(!b.get(8));
        assert_eq!(b.0[0], 0b1000_0111);
    }

    /// The byte-skipping `ranges` agrees with a slot-by-slot walk, for runs
    /// of every length and position (full and empty bytes included).
    #[test]
    fn bitmap_ranges_match_a_plain_walk() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for round in 0..200 {
            let mut b = SlotBitmap::default();
            let mut s = 0usize;
            let mut on = round % 2 == 0;
            while s < CLUSTER_SLOTS {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let len = 1 + (seed >> 33) as usize % [3, 17, 700, 9000][round % 4];
                for t in s..(s + len).min(CLUSTER_SLOTS) {
                    if on {
                        b.set(t);
                    }
                }
                s += len;
                on = !on;
            }
            let mut want = Vec::new();
            let mut start = None;
            for t in 0..=CLUSTER_SLOTS {
                match (t < CLUSTER_SLOTS && b.get(t), start) {
                    (true, None) => start = Some(t),
                    (false, Some(a)) => {
                        want.push((a as u16, (t - 1) as u16));
                        start = None;
                    }
                    _ => {}
                }
            }
            assert_eq!(b.ranges(), want, "round {round}");
        }
    }
}
