//! The cluster state (cluster.h `clusterState` and `clusterNode`): the
//! known nodes by name, each with its flags, address, epochs, slots,
//! master/replicas and failure reports; the slot → node table with the
//! migrating/importing tables; the current and last-vote epochs; bus
//! statistics. Nodes live in a slab and refer to each other by `NodeIdx`
//! (stable while the node exists: deleting a node clears every reference
//! to it first, as clusterDelNode does); the name index is ordered, which
//! also fixes the order CLUSTER NODES lists them in.
//!
//! The operations here are cluster.c's bookkeeping primitives
//! (clusterAddSlot, clusterDelNode, clusterSetNodeAsMaster...); the
//! protocol that drives them (gossip, failure detection, failover) comes
//! with the bus integration.

use std::collections::BTreeMap;

use super::bus::msg_type;
use super::ids::{NodeFlags, NodeId, SlotBitmap};
use super::slot::CLUSTER_SLOTS;

/// A node's place in the state's slab.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct NodeIdx(pub u32);

/// The cluster's health as this node sees it (CLUSTER_OK / CLUSTER_FAIL,
/// the bus header's `state` byte).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Health {
    Ok = 0,
    #[default]
    Fail = 1,
}

/// A failure report: `reporter` said the node is failing at `time` (ms).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FailReport {
    pub reporter: NodeIdx,
    pub time: i64,
}

/// One known node (clusterNode). Times are unix ms, 0 for never.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: NodeId,
    pub ctime: i64,
    pub flags: NodeFlags,
    pub config_epoch: u64,
    /// The slots this node claims (kept equal to the slot table's view
    /// for the slots assigned to it).
    pub slots: SlotBitmap,
    pub numslots: usize,
    pub replicas: Vec<NodeIdx>,
    /// May be `None` for a replica whose master is unknown.
    pub replica_of: Option<NodeIdx>,
    pub ping_sent: i64,
    pub pong_received: i64,
    pub data_received: i64,
    pub fail_time: i64,
    pub voted_time: i64,
    pub repl_offset_time: i64,
    pub orphaned_time: i64,
    pub repl_offset: i64,
    /// Empty while unknown.
    pub ip: String,
    /// Announced hostname, empty when none.
    pub hostname: String,
    /// Client port (the TLS one in a TLS cluster).
    pub port: u16,
    /// Plaintext client port when `port` is TLS, else 0.
    pub pport: u16,
    pub cport: u16,
    /// Its outbound bus link (the driver's link id), if connected or
    /// connecting; myself counts as connected.
    pub link: Option<usize>,
    /// The inbound link it talks to us on, once identified.
    pub inbound_link: Option<usize>,
    pub fail_reports: Vec<FailReport>,
}

impl Node {
    /// A node as createClusterNode makes it.
    pub fn new(name: NodeId, flags: NodeFlags, now: i64) -> Node {
        Node {
            name,
            ctime: now,
            flags,
            config_epoch: 0,
            slots: SlotBitmap::default(),
            numslots: 0,
            replicas: Vec::new(),
            replica_of: None,
            ping_sent: 0,
            pong_received: 0,
            data_received: 0,
            fail_time: 0,
            voted_time: 0,
            repl_offset_time: 0,
            orphaned_time: 0,
            repl_offset: 0,
            ip: String::new(),
            hostname: String::new(),
            port: 0,
            pport: 0,
            cport: 0,
            link: None,
            inbound_link: None,
            fail_reports: Vec::new(),
        }
    }

    pub fn is_master(&self) -> bool {
        self.flags.any(NodeFlags::MASTER)
    }
    pub fn is_replica(&self) -> bool {
        self.flags.any(NodeFlags::SLAVE)
    }
    pub fn is_myself(&self) -> bool {
        self.flags.any(NodeFlags::MYSELF)
    }
    pub fn in_handshake(&self) -> bool {
        self.flags.any(NodeFlags::HANDSHAKE)
    }
    pub fn failed(&self) -> bool {
        self.flags.any(NodeFlags::FAIL)
    }
    pub fn timed_out(&self) -> bool {
        self.flags.any(NodeFlags::PFAIL)
    }
}

/// The whole cluster view of this node (clusterState).
#[derive(Clone, Debug)]
pub struct ClusterState {
    nodes: Vec<Option<Node>>,
    free: Vec<u32>,
    by_name: BTreeMap<NodeId, NodeIdx>,
    pub myself: NodeIdx,
    pub current_epoch: u64,
    pub last_vote_epoch: u64,
    pub state: Health,
    /// Masters serving at least one slot (set by `update_state`).
    pub size: usize,
    slots: Vec<Option<NodeIdx>>,
    pub migrating_slots_to: Vec<Option<NodeIdx>>,
    pub importing_slots_from: Vec<Option<NodeIdx>>,
    /// Slots whose owner stopped claiming them (UPDATE messages leave
    /// them out).
    pub owner_not_claiming_slot: SlotBitmap,
    pub stats_bus_messages_sent: [u64; msg_type::COUNT],
    pub stats_bus_messages_received: [u64; msg_type::COUNT],
    pub stats_pfail_nodes: u64,
    pub stat_cluster_links_buffer_limit_exceeded: u64,
    /// Forgotten nodes gossip must not re-add before the unix time (s)
    /// stored (the nodes black list of CLUSTER FORGET).
    pub blacklist: BTreeMap<NodeId, i64>,
    /// Slots unassigned (`del_slot`) while myself served them (as their
    /// owner or a replica of it): the driver drops their shard channels
    /// (clusterDelSlot's removeChannelsInSlot) and empties the list.
    pub channel_slots_lost: Vec<usize>,
}

/// How long CLUSTER FORGET keeps a node out, in seconds
/// (CLUSTER_BLACKLIST_TTL).
pub const BLACKLIST_TTL: i64 = 60;

impl ClusterState {
    /// A state knowing only myself, a master with no slots (clusterInit
    /// without a nodes.conf).
    pub fn new(myself: NodeId, now: i64) -> ClusterState {
        let mut st = ClusterState {
            nodes: Vec::new(),
            free: Vec::new(),
            by_name: BTreeMap::new(),
            myself: NodeIdx(0),
            current_epoch: 0,
            last_vote_epoch: 0,
            state: Health::Fail,
            size: 0,
            slots: vec![None; CLUSTER_SLOTS],
            migrating_slots_to: vec![None; CLUSTER_SLOTS],
            importing_slots_from: vec![None; CLUSTER_SLOTS],
            owner_not_claiming_slot: SlotBitmap::default(),
            stats_bus_messages_sent: [0; msg_type::COUNT],
            stats_bus_messages_received: [0; msg_type::COUNT],
            stats_pfail_nodes: 0,
            stat_cluster_links_buffer_limit_exceeded: 0,
            blacklist: BTreeMap::new(),
            channel_slots_lost: Vec::new(),
        };
        st.myself = st.add_node(Node::new(
            myself,
            NodeFlags::MYSELF | NodeFlags::MASTER,
            now,
        ));
        st
    }

    /// An empty state whose myself is set later (`set_myself`), for the
    /// nodes.conf loader.
    pub(crate) fn empty() -> ClusterState {
        let mut st = ClusterState::new(NodeId::NULL, 0);
        st.nodes.clear();
        st.by_name.clear();
        st
    }

    pub(crate) fn set_myself(&mut self, idx: NodeIdx) {
        self.myself = idx;
    }

    /// Adds `node` (its name must not be known: clusterAddNode asserts).
    pub fn add_node(&mut self, node: Node) -> NodeIdx {
        debug_assert!(!self.by_name.contains_key(&node.name));
        let name = node.name;
        let idx = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = Some(node);
                NodeIdx(i)
            }
            None => {
                self.nodes.push(Some(node));
                NodeIdx((self.nodes.len() - 1) as u32)
            }
        };
        self.by_name.insert(name, idx);
        idx
    }

    /// The node named `name` (clusterLookupNode: only valid names match).
    pub fn lookup(&self, name: &NodeId) -> Option<NodeIdx> {
        self.by_name.get(name).copied()
    }

    /// The node named by the text `name` (a CLUSTER command's argument).
    pub fn lookup_str(&self, name: &[u8]) -> Option<NodeIdx> {
        NodeId::parse(name).and_then(|n| self.lookup(&n))
    }

    /// The node at `idx`. Panics on a deleted node: an index is only held
    /// while its node exists.
    pub fn node(&self, idx: NodeIdx) -> &Node {
        self.nodes[idx.0 as usize]
            .as_ref()
            .expect("live node index")
    }

    pub fn node_mut(&mut self, idx: NodeIdx) -> &mut Node {
        self.nodes[idx.0 as usize]
            .as_mut()
            .expect("live node index")
    }

    /// The node at `idx`, None when deleted.
    pub fn get(&self, idx: NodeIdx) -> Option<&Node> {
        self.nodes.get(idx.0 as usize).and_then(|n| n.as_ref())
    }

    pub fn get_mut(&mut self, idx: NodeIdx) -> Option<&mut Node> {
        self.nodes.get_mut(idx.0 as usize).and_then(|n| n.as_mut())
    }

    pub fn myself_node(&self) -> &Node {
        self.node(self.myself)
    }

    /// Every node, ordered by name.
    pub fn iter(&self) -> impl Iterator<Item = (NodeIdx, &Node)> + '_ {
        self.by_name.values().map(move |&i| (i, self.node(i)))
    }

    pub fn node_indexes(&self) -> Vec<NodeIdx> {
        self.by_name.values().copied().collect()
    }

    /// Number of known nodes (CLUSTER INFO cluster_known_nodes).
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Changes a node's name (a handshake node gets its real one).
    pub fn rename_node(&mut self, idx: NodeIdx, new_name: NodeId) {
        let old = self.node(idx).name;
        self.by_name.remove(&old);
        self.node_mut(idx).name = new_name;
        self.by_name.insert(new_name, idx);
    }

    /// Removes a node and every reference to it (clusterDelNode): its
    /// slots become unassigned, its migrating/importing entries and the
    /// failure reports it sent go, its replicas lose their master.
    pub fn del_node(&mut self, idx: NodeIdx) {
        for s in 0..CLUSTER_SLOTS {
            if self.importing_slots_from[s] == Some(idx) {
                self.importing_slots_from[s] = None;
            }
            if self.migrating_slots_to[s] == Some(idx) {
                self.migrating_slots_to[s] = None;
            }
            if self.slots[s] == Some(idx) {
                self.del_slot(s);
            }
        }
        for other in self.node_indexes() {
            if other != idx {
                self.node_mut(other)
                    .fail_reports
                    .retain(|r| r.reporter != idx);
            }
        }
        for r in self.node(idx).replicas.clone() {
            self.node_mut(r).replica_of = None;
        }
        if let Some(m) = self.node(idx).replica_of {
            self.remove_replica(m, idx);
        }
        let name = self.node(idx).name;
        self.by_name.remove(&name);
        self.nodes[idx.0 as usize] = None;
        self.free.push(idx.0);
    }

    /// The node serving `slot`.
    pub fn slot_owner(&self, slot: usize) -> Option<NodeIdx> {
        self.slots[slot]
    }

    /// The slot table (16384 entries).
    pub fn slot_table(&self) -> &[Option<NodeIdx>] {
        &self.slots
    }

    /// True when some master has replicas (clusterMastersHaveSlaves).
    pub fn masters_have_replicas(&self) -> bool {
        self.iter()
            .any(|(_, n)| n.is_replica() && n.replica_of.is_some())
            || self
                .iter()
                .any(|(_, n)| n.is_master() && !n.replicas.is_empty())
    }

    /// Assigns `slot` to `idx` unless it is assigned already
    /// (clusterAddSlot); false when it was.
    pub fn add_slot(&mut self, idx: NodeIdx, slot: usize) -> bool {
        if self.slots[slot].is_some() {
            return false;
        }
        self.set_slot_bit(idx, slot);
        self.slots[slot] = Some(idx);
        true
    }

    /// Unassigns `slot` (clusterDelSlot); false when it was unassigned.
    /// A slot myself served is noted in `channel_slots_lost`.
    pub fn del_slot(&mut self, slot: usize) -> bool {
        let Some(owner) = self.slots[slot] else {
            return false;
        };
        if self.serves_node_slots(owner) {
            self.channel_slots_lost.push(slot);
        }
        let n = self.node_mut(owner);
        if n.slots.get(slot) {
            n.slots.clear(slot);
            n.numslots -= 1;
        }
        self.slots[slot] = None;
        true
    }

    /// Myself is `owner`'s master or one of its replicas
    /// (clusterGetNodesServingMySlots(owner) holds myself; as
    /// `nodes_serving_slots_of` without its list, for every `del_slot`).
    pub fn serves_node_slots(&self, owner: NodeIdx) -> bool {
        let o = self.node(owner);
        let primary = if o.is_master() {
            Some(owner)
        } else {
            o.replica_of
        };
        let Some(p) = primary else {
            return false;
        };
        p == self.myself || self.node(p).replicas.contains(&self.myself)
    }

    /// Unassigns every slot `idx` claims; returns how many
    /// (clusterDelNodeSlots).
    pub fn del_node_slots(&mut self, idx: NodeIdx) -> usize {
        let mut deleted = 0;
        for s in 0..CLUSTER_SLOTS {
            if self.node(idx).slots.get(s) {
                self.del_slot(s);
                deleted += 1;
            }
        }
        deleted
    }

    /// Sets the slot bit in the node's bitmap (clusterNodeSetSlotBit: a
    /// master's first slot makes it a replica-migration target when other
    /// masters have replicas).
    fn set_slot_bit(&mut self, idx: NodeIdx, slot: usize) {
        if self.node(idx).slots.get(slot) {
            return;
        }
        let have_replicas = self.masters_have_replicas();
        let n = self.node_mut(idx);
        n.slots.set(slot);
        n.numslots += 1;
        if n.numslots == 1 && have_replicas {
            n.flags.insert(NodeFlags::MIGRATE_TO);
        }
    }

    /// Adds `replica` to `master`'s replicas (clusterNodeAddSlave); false
    /// when it is there already.
    pub fn add_replica(&mut self, master: NodeIdx, replica: NodeIdx) -> bool {
        let m = self.node_mut(master);
        if m.replicas.contains(&replica) {
            return false;
        }
        m.replicas.push(replica);
        m.flags.insert(NodeFlags::MIGRATE_TO);
        true
    }

    /// clusterNodeRemoveSlave; false when it was not a replica of it.
    pub fn remove_replica(&mut self, master: NodeIdx, replica: NodeIdx) -> bool {
        let m = self.node_mut(master);
        let Some(pos) = m.replicas.iter().position(|&r| r == replica) else {
            return false;
        };
        m.replicas.remove(pos);
        if m.replicas.is_empty() {
            m.flags.remove(NodeFlags::MIGRATE_TO);
        }
        true
    }

    /// Makes `idx` a replica of `master` in the bookkeeping (the flags and
    /// both sides of the link), leaving its slots alone.
    pub fn set_replica_of(&mut self, idx: NodeIdx, master: NodeIdx) {
        if let Some(old) = self.node(idx).replica_of {
            if old != master {
                self.remove_replica(old, idx);
            }
        }
        let n = self.node_mut(idx);
        n.flags.remove(NodeFlags::MASTER | NodeFlags::MIGRATE_TO);
        n.flags.insert(NodeFlags::SLAVE);
        n.replica_of = Some(master);
        self.add_replica(master, idx);
    }

    /// Turns a replica into a master (clusterSetNodeAsMaster); false when
    /// it already was one.
    pub fn set_node_as_master(&mut self, idx: NodeIdx) -> bool {
        if self.node(idx).is_master() {
            return false;
        }
        if let Some(m) = self.node(idx).replica_of {
            self.remove_replica(m, idx);
            if idx != self.myself {
                self.node_mut(idx).flags.insert(NodeFlags::MIGRATE_TO);
            }
        }
        let n = self.node_mut(idx);
        n.flags.remove(NodeFlags::SLAVE);
        n.flags.insert(NodeFlags::MASTER);
        n.replica_of = None;
        true
    }

    /// The greatest config epoch known, or the current epoch if greater
    /// (clusterGetMaxEpoch).
    pub fn max_epoch(&self) -> u64 {
        self.iter()
            .map(|(_, n)| n.config_epoch)
            .max()
            .unwrap_or(0)
            .max(self.current_epoch)
    }

    /// The config epoch a node advertises: its master's for a replica
    /// with a known master (CLUSTER NODES, CLUSTER INFO cluster_my_epoch).
    pub fn effective_epoch(&self, idx: NodeIdx) -> u64 {
        let n = self.node(idx);
        match n.replica_of {
            Some(m) if n.is_replica() => self.node(m).config_epoch,
            _ => n.config_epoch,
        }
    }

    /// Records `reporter`'s report that `failing` fails; true when it is
    /// a new report (clusterNodeAddFailureReport).
    pub fn add_failure_report(&mut self, failing: NodeIdx, reporter: NodeIdx, now: i64) -> bool {
        let n = self.node_mut(failing);
        if let Some(r) = n.fail_reports.iter_mut().find(|r| r.reporter == reporter) {
            r.time = now;
            return false;
        }
        n.fail_reports.push(FailReport {
            reporter,
            time: now,
        });
        true
    }

    /// Drops reports older than twice the node timeout
    /// (clusterNodeCleanupFailureReports).
    pub fn cleanup_failure_reports(&mut self, idx: NodeIdx, node_timeout: i64, now: i64) {
        let max_age = node_timeout * super::FAIL_REPORT_VALIDITY_MULT;
        self.node_mut(idx)
            .fail_reports
            .retain(|r| now - r.time <= max_age);
    }

    /// clusterNodeDelFailureReport; true when there was one.
    pub fn del_failure_report(&mut self, idx: NodeIdx, reporter: NodeIdx) -> bool {
        let reports = &mut self.node_mut(idx).fail_reports;
        let before = reports.len();
        reports.retain(|r| r.reporter != reporter);
        reports.len() != before
    }

    /// The nodes serving a master's slots: the master first, then its
    /// replicas (clusterGetNodesServingMySlots); `None` for a replica
    /// whose master is unknown.
    pub fn nodes_serving_slots_of(&self, idx: NodeIdx) -> Option<Vec<NodeIdx>> {
        let n = self.node(idx);
        let primary = if n.is_master() { idx } else { n.replica_of? };
        let mut v = vec![primary];
        v.extend(self.node(primary).replicas.iter().copied());
        Some(v)
    }

    /// clusterBlacklistAddNode: `name` stays out for BLACKLIST_TTL seconds
    /// from `now_s` (expired entries are dropped first).
    pub fn blacklist_add(&mut self, name: NodeId, now_s: i64) {
        self.blacklist.retain(|_, &mut exp| exp >= now_s);
        self.blacklist.insert(name, now_s + BLACKLIST_TTL);
    }

    /// clusterBlacklistExists (expired entries are dropped first).
    pub fn blacklisted(&mut self, name: &NodeId, now_s: i64) -> bool {
        self.blacklist.retain(|_, &mut exp| exp >= now_s);
        self.blacklist.contains_key(name)
    }

    /// Recomputes `size` and `state` from the slot table and the nodes'
    /// flags (clusterUpdateState without its timing: the writable delay
    /// after a start and the rejoin delay after a partition are the
    /// caller's to apply). Returns the state it computed.
    pub fn evaluate_state(&mut self, require_full_coverage: bool) -> Health {
        self.evaluate(require_full_coverage).0
    }

    /// `evaluate_state`, also telling whether this node is in a minority
    /// partition (fewer reachable masters than a majority).
    pub fn evaluate(&mut self, require_full_coverage: bool) -> (Health, bool) {
        let mut health = Health::Ok;
        // Every slot assigned to a node not failing. A node's bitmap and
        // count are the slot table's view of it (add_slot / del_slot change
        // both), so this is per node, not per slot: the state is evaluated
        // after every change (each SETSLOT of a reshard).
        if require_full_coverage {
            let mut assigned = 0;
            let mut owner_failed = false;
            for (_, n) in self.iter() {
                assigned += n.numslots;
                owner_failed |= n.numslots > 0 && n.failed();
            }
            if assigned < CLUSTER_SLOTS || owner_failed {
                health = Health::Fail;
            }
        }
        let mut size = 0;
        let mut reachable = 0;
        for (_, n) in self.iter() {
            if n.is_master() && n.numslots > 0 {
                size += 1;
                if !n.flags.any(NodeFlags::FAIL | NodeFlags::PFAIL) {
                    reachable += 1;
                }
            }
        }
        self.size = size;
        let minority = reachable < size / 2 + 1;
        if minority {
            health = Health::Fail;
        }
        (health, minority)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    #[test]
    fn slots_and_deletion() {
        let mut st = ClusterState::new(id(b'a'), 1);
        let me = st.myself;
        let b = st.add_node(Node::new(id(b'b'), NodeFlags::MASTER, 1));
        let r = st.add_node(Node::new(id(b'c'), NodeFlags::SLAVE, 1));
        st.set_replica_of(r, b);
        assert!(st.add_slot(me, 0));
        assert!(!st.add_slot(b, 0));
        for s in 1..=10 {
            assert!(st.add_slot(b, s));
        }
        assert_eq!(st.node(b).numslots, 10);
        assert_eq!(st.nodes_serving_slots_of(r), Some(vec![b, r]));
        st.importing_slots_from[20] = Some(b);
        st.add_failure_report(me, b, 5);
        st.del_node(b);
        assert_eq!(st.lookup(&id(b'b')), None);
        assert!((1..=10).all(|s| st.slot_owner(s).is_none()));
        assert_eq!(st.slot_owner(0), Some(me));
        assert_eq!(st.importing_slots_from[20], None);
        assert!(st.node(me).fail_reports.is_empty());
        assert_eq!(st.node(r).replica_of, None);
        // The freed index is reused and the name index follows renames.
        let d = st.add_node(Node::new(id(b'd'), NodeFlags::HANDSHAKE, 2));
        assert_eq!(d, b);
        st.rename_node(d, id(b'e'));
        assert_eq!(st.lookup(&id(b'e')), Some(d));
        assert_eq!(st.lookup(&id(b'd')), None);
        assert_eq!(st.len(), 3);
    }

    #[test]
    fn slots_lost_by_the_nodes_myself_serves_are_noted() {
        let mut st = ClusterState::new(id(b'a'), 1);
        let me = st.myself;
        let m = st.add_node(Node::new(id(b'b'), NodeFlags::MASTER, 1));
        let other = st.add_node(Node::new(id(b'c'), NodeFlags::MASTER, 1));
        st.add_slot(me, 1);
        st.add_slot(m, 2);
        st.add_slot(other, 3);
        // A master: its own slots only.
        for s in 1..=3 {
            st.del_slot(s);
        }
        assert_eq!(std::mem::take(&mut st.channel_slots_lost), vec![1]);
        // A replica: its master's slots too.
        st.set_replica_of(me, m);
        st.add_slot(m, 2);
        st.add_slot(other, 3);
        st.del_node_slots(other);
        st.del_slot(2);
        assert_eq!(st.channel_slots_lost, vec![2]);
    }

    #[test]
    fn roles_and_epochs() {
        let mut st = ClusterState::new(id(b'a'), 1);
        let m = st.add_node(Node::new(id(b'b'), NodeFlags::MASTER, 1));
        st.node_mut(m).config_epoch = 7;
        let me = st.myself;
        st.set_replica_of(me, m);
        assert!(st.node(me).is_replica());
        assert_eq!(st.effective_epoch(me), 7);
        assert!(st.node(m).flags.any(NodeFlags::MIGRATE_TO));
        assert_eq!(st.max_epoch(), 7);
        st.current_epoch = 9;
        assert_eq!(st.max_epoch(), 9);
        assert!(st.set_node_as_master(me));
        assert!(!st.node(me).flags.any(NodeFlags::MIGRATE_TO));
        assert!(st.node(m).replicas.is_empty());
        assert!(!st.node(m).flags.any(NodeFlags::MIGRATE_TO));
    }

    /// The per-node coverage check agrees with a walk of the slot table
    /// through slot moves, node deletions and failures.
    #[test]
    fn coverage_by_node_matches_the_slot_table() {
        let mut st = ClusterState::new(id(b'a'), 1);
        let nodes: Vec<NodeIdx> = std::iter::once(st.myself)
            .chain((b'b'..=b'e').map(|c| st.add_node(Node::new(id(c), NodeFlags::MASTER, 1))))
            .collect();
        let mut seed: u64 = 42;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for s in 0..CLUSTER_SLOTS {
            st.add_slot(nodes[s % 5], s);
        }
        for step in 0..400 {
            match next(4) {
                0 => {
                    let s = next(CLUSTER_SLOTS);
                    st.del_slot(s);
                }
                1 => {
                    let s = next(CLUSTER_SLOTS);
                    let to = nodes[next(5)];
                    st.del_slot(s);
                    st.add_slot(to, s);
                }
                2 => {
                    let n = nodes[1 + next(4)];
                    if st.nodes[n.0 as usize].is_some() {
                        let f = &mut st.node_mut(n).flags;
                        if f.any(NodeFlags::FAIL) {
                            f.remove(NodeFlags::FAIL);
                        } else {
                            f.insert(NodeFlags::FAIL);
                        }
                    }
                }
                _ => {
                    if step % 97 == 0 {
                        let n = nodes[1 + next(4)];
                        if st.nodes[n.0 as usize].is_some() {
                            st.del_node(n);
                        }
                    } else {
                        for s in 0..CLUSTER_SLOTS {
                            if st.slot_owner(s).is_none() {
                                st.add_slot(st.myself, s);
                            }
                        }
                    }
                }
            }
            let walk = st
                .slots
                .iter()
                .all(|o| o.is_some_and(|n| !st.node(n).failed()));
            // Without the coverage rule only the majority rule is left.
            let majority = st.evaluate_state(false) == Health::Ok;
            assert_eq!(
                st.evaluate_state(true) == Health::Ok,
                walk && majority,
                "step {step}"
            );
        }
    }

    #[test]
    fn state_evaluation() {
        let mut st = ClusterState::new(id(b'a'), 1);
        let me = st.myself;
        assert_eq!(st.evaluate_state(true), Health::Fail);
        for s in 0..CLUSTER_SLOTS {
            st.add_slot(me, s);
        }
        assert_eq!(st.evaluate_state(true), Health::Ok);
        assert_eq!(st.size, 1);
        st.del_slot(5);
        assert_eq!(st.evaluate_state(true), Health::Fail);
        assert_eq!(st.evaluate_state(false), Health::Ok);
        st.node_mut(me).flags.insert(NodeFlags::PFAIL);
        assert_eq!(st.evaluate_state(false), Health::Fail);
    }

    #[test]
    fn failure_reports_expire() {
        let mut st = ClusterState::new(id(b'a'), 1);
        let b = st.add_node(Node::new(id(b'b'), NodeFlags::MASTER, 1));
        let me = st.myself;
        assert!(st.add_failure_report(b, me, 1000));
        assert!(!st.add_failure_report(b, me, 2000));
        st.cleanup_failure_reports(b, 500, 3000);
        assert_eq!(st.node(b).fail_reports.len(), 1);
        st.cleanup_failure_reports(b, 500, 3001);
        assert!(st.node(b).fail_reports.is_empty());
    }
}
