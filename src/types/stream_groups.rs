//! Stream consumer groups (Redis 7.0's streamCG / streamConsumer /
//! streamNACK): groups ordered by name, each with a global PEL ordered by
//! entry ID and consumers ordered by name, each consumer with its own PEL
//! (IDs only; the NACK data lives in the group PEL, which names the owner).
//! All orderings are sorted vectors searched with binary search.

use crate::types::stream::StreamId;

/// `SCG_INVALID_ENTRIES_READ`.
pub const INVALID_ENTRIES_READ: i64 = -1;

/// A pending (delivered, not acknowledged) entry.
#[derive(Clone, Debug)]
pub struct Nack {
    pub delivery_time: i64,
    pub delivery_count: u64,
    /// Owner's name (always an existing consumer of the group).
    pub consumer: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct Consumer {
    pub name: Vec<u8>,
    pub seen_time: i64,
    /// IDs this consumer owns, ascending.
    pub pel: Vec<StreamId>,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub name: Vec<u8>,
    pub last_id: StreamId,
    pub entries_read: i64,
    /// Global PEL, ascending by ID.
    pub pel: Vec<(StreamId, Nack)>,
    /// Consumers, ascending by name (rax order: bytewise).
    pub consumers: Vec<Consumer>,
}

/// All groups of a stream, ascending by name.
#[derive(Clone, Debug, Default)]
pub struct Groups {
    list: Vec<Group>,
}

impl Groups {
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Group> + '_ {
        self.list.iter()
    }

    fn pos(&self, name: &[u8]) -> Result<usize, usize> {
        self.list.binary_search_by(|g| g.name.as_slice().cmp(name))
    }

    pub fn get(&self, name: &[u8]) -> Option<&Group> {
        self.pos(name).ok().map(|i| &self.list[i])
    }

    pub fn get_mut(&mut self, name: &[u8]) -> Option<&mut Group> {
        match self.pos(name) {
            Ok(i) => Some(&mut self.list[i]),
            Err(_) => None,
        }
    }

    /// `streamCreateCG`: None when the name exists.
    pub fn create(&mut self, name: &[u8], last_id: StreamId, entries_read: i64) -> bool {
        match self.pos(name) {
            Ok(_) => false,
            Err(i) => {
                self.list.insert(
                    i,
                    Group {
                        name: name.to_vec(),
                        last_id,
                        entries_read,
                        pel: Vec::new(),
                        consumers: Vec::new(),
                    },
                );
                true
            }
        }
    }

    pub fn destroy(&mut self, name: &[u8]) -> bool {
        match self.pos(name) {
            Ok(i) => {
                self.list.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Appends a group read from RDB (names arrive in order; falls back
    /// to a sorted insert). False on a duplicate name.
    pub fn push_loaded(&mut self, g: Group) -> bool {
        match self.pos(&g.name) {
            Ok(_) => false,
            Err(i) => {
                self.list.insert(i, g);
                true
            }
        }
    }

    pub fn heap_size(&self) -> usize {
        self.list
            .iter()
            .map(|g| {
                64 + g.name.len()
                    + g.pel
                        .iter()
                        .map(|(_, n)| 48 + n.consumer.len())
                        .sum::<usize>()
                    + g.consumers
                        .iter()
                        .map(|c| 48 + c.name.len() + c.pel.len() * 16)
                        .sum::<usize>()
            })
            .sum()
    }
}

impl Group {
    pub fn pel_pos(&self, id: StreamId) -> Result<usize, usize> {
        self.pel.binary_search_by(|(x, _)| x.cmp(&id))
    }

    /// First PEL index with ID >= `id`.
    pub fn pel_lower_bound(&self, id: StreamId) -> usize {
        self.pel.partition_point(|(x, _)| *x < id)
    }

    pub fn consumer_pos(&self, name: &[u8]) -> Result<usize, usize> {
        self.consumers
            .binary_search_by(|c| c.name.as_slice().cmp(name))
    }

    pub fn consumer(&self, name: &[u8]) -> Option<&Consumer> {
        self.consumer_pos(name).ok().map(|i| &self.consumers[i])
    }

    pub fn consumer_mut(&mut self, name: &[u8]) -> Option<&mut Consumer> {
        match self.consumer_pos(name) {
            Ok(i) => Some(&mut self.consumers[i]),
            Err(_) => None,
        }
    }

    /// The consumer a claim acts for: marks an existing one as seen now,
    /// or creates it. Returns whether it was created.
    pub fn touch_or_create_consumer(&mut self, name: &[u8], now: i64) -> bool {
        match self.consumer_mut(name) {
            Some(cons) => {
                cons.seen_time = now;
                false
            }
            None => self.create_consumer(name, now),
        }
    }

    /// `streamCreateConsumer`: false when it already exists.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> bool {
        match self.consumer_pos(name) {
            Ok(_) => false,
            Err(i) => {
                self.consumers.insert(
                    i,
                    Consumer {
                        name: name.to_vec(),
                        seen_time: now,
                        pel: Vec::new(),
                    },
                );
                true
            }
        }
    }

    /// `streamDelConsumer`: drops the consumer and its pending entries
    /// from the group PEL; returns how many it had, None if unknown.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let i = self.consumer_pos(name).ok()?;
        let c = self.consumers.remove(i);
        for id in &c.pel {
            if let Ok(k) = self.pel_pos(*id) {
                self.pel.remove(k);
            }
        }
        Some(c.pel.len())
    }

    fn consumer_pel_remove(&mut self, owner: &[u8], id: StreamId) {
        if let Some(c) = self.consumer_mut(owner) {
            if let Ok(k) = c.pel.binary_search(&id) {
                c.pel.remove(k);
            }
        }
    }

    fn consumer_pel_insert(&mut self, owner: &[u8], id: StreamId) {
        if let Some(c) = self.consumer_mut(owner) {
            if let Err(k) = c.pel.binary_search(&id) {
                c.pel.insert(k, id);
            }
        }
    }

    /// XACK of one ID: true when it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel_pos(id) {
            Ok(k) => {
                let (_, nack) = self.pel.remove(k);
                self.consumer_pel_remove(&nack.consumer, id);
                true
            }
            Err(_) => false,
        }
    }

    /// Delivery to `consumer` (which exists) as XREADGROUP does: a new
    /// NACK, or an existing one reassigned with count reset to 1.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now: i64) -> Nack {
        let nack = Nack {
            delivery_time: now,
            delivery_count: 1,
            consumer: consumer.to_vec(),
        };
        match self.pel_pos(id) {
            Ok(k) => {
                let old = std::mem::replace(&mut self.pel[k].1, nack.clone());
                self.consumer_pel_remove(&old.consumer, id);
            }
            Err(k) => self.pel.insert(k, (id, nack.clone())),
        }
        self.consumer_pel_insert(consumer, id);
        nack
    }

    /// Moves the NACK at PEL index `k` to `consumer` (existing), as
    /// XCLAIM/XAUTOCLAIM do.
    pub fn reassign(&mut self, k: usize, consumer: &[u8]) {
        let id = self.pel[k].0;
        let old = std::mem::replace(&mut self.pel[k].1.consumer, consumer.to_vec());
        if old != consumer {
            self.consumer_pel_remove(&old, id);
        }
        self.consumer_pel_insert(consumer, id);
    }

    /// Removes the NACK at PEL index `k` from both PELs.
    pub fn remove_at(&mut self, k: usize) -> (StreamId, Nack) {
        let (id, nack) = self.pel.remove(k);
        self.consumer_pel_remove(&nack.consumer, id);
        (id, nack)
    }
}
