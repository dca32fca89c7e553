//! Cluster bus links (cluster.h clusterLink): one connection to or from
//! another node, plain TCP or TLS (`tls-cluster`: `Conn::Tls`, the
//! plaintext a `tls::TlsStream` carries), with its receive and send
//! buffers (plaintext; TLS holds at most one write's worth more). The links live in
//! `Cluster::links` (a slab: a link's id is its index, and its poller
//! token is `poller::CLUSTER_LINK_BASE + id`); a node refers to its
//! outbound and inbound link by id (`Node::link`, `Node::inbound_link`).
//! Freeing a link clears the node's reference and closes the socket
//! (closing removes it from epoll). The IO is the driver's
//! (`cluster_bus`).

use super::local::Cluster;
use super::state::NodeIdx;
use crate::client::Conn;

/// One bus connection.
pub struct Link {
    pub stream: Conn,
    /// The node it talks to: set at creation for an outbound link, once
    /// the sender is known for an inbound one.
    pub node: Option<NodeIdx>,
    pub inbound: bool,
    /// Creation time (unix ms).
    pub ctime: i64,
    /// An outbound connect has completed, with its TLS handshake under
    /// tls-cluster (inbound links always have: their handshake runs
    /// inside their first reads).
    pub connected: bool,
    pub rcvbuf: Vec<u8>,
    /// Bytes not written yet.
    pub sndbuf: Vec<u8>,
    /// The peer's address and ours (empty until connected).
    pub peer_ip: String,
    pub local_ip: String,
}

impl Link {
    pub fn new(stream: Conn, node: Option<NodeIdx>, now: i64) -> Link {
        Link {
            stream,
            inbound: node.is_none(),
            node,
            ctime: now,
            connected: node.is_none(),
            rcvbuf: Vec::new(),
            sndbuf: Vec::new(),
            peer_ip: String::new(),
            local_ip: String::new(),
        }
    }
}

impl Cluster {
    /// Adds a link; an outbound one becomes its node's `link`.
    pub fn add_link(&mut self, link: Link) -> usize {
        let node = if link.inbound { None } else { link.node };
        let id = match self.links.iter().position(|l| l.is_none()) {
            Some(i) => {
                self.links[i] = Some(link);
                i
            }
            None => {
                self.links.push(Some(link));
                self.links.len() - 1
            }
        };
        if let Some(n) = node {
            self.state.node_mut(n).link = Some(id);
        }
        id
    }

    pub fn link(&self, id: usize) -> Option<&Link> {
        self.links.get(id).and_then(|l| l.as_ref())
    }

    pub fn link_mut(&mut self, id: usize) -> Option<&mut Link> {
        self.links.get_mut(id).and_then(|l| l.as_mut())
    }

    /// freeClusterLink: closes it and clears its node's reference.
    pub fn free_link(&mut self, id: usize) {
        let Some(l) = self.links.get_mut(id).and_then(|l| l.take()) else {
            return;
        };
        if let Some(n) = l.node {
            if let Some(node) = self.state.get_mut(n) {
                if node.link == Some(id) {
                    node.link = None;
                } else if node.inbound_link == Some(id) {
                    node.inbound_link = None;
                }
            }
        }
        while self.links.last().is_some_and(|l| l.is_none()) {
            self.links.pop();
        }
    }

    /// Frees every link attached to `idx` (before or right after the node
    /// is deleted, as freeClusterNode does).
    pub fn free_node_links(&mut self, idx: NodeIdx) {
        let ids: Vec<usize> = self
            .links
            .iter()
            .enumerate()
            .filter(|(_, l)| l.as_ref().is_some_and(|l| l.node == Some(idx)))
            .map(|(i, _)| i)
            .collect();
        for id in ids {
            self.free_link(id);
        }
    }

    /// clusterDelNode with its links.
    pub fn del_node(&mut self, idx: NodeIdx) {
        self.free_node_links(idx);
        self.state.del_node(idx);
    }

    /// What the links use (INFO mem_cluster_links: the link, its send
    /// buffer's allocation, its receive buffer's).
    pub fn links_memory(&self) -> usize {
        self.links
            .iter()
            .flatten()
            .map(|l| std::mem::size_of::<Link>() + l.sndbuf.capacity() + l.rcvbuf.capacity())
            .sum()
    }

    /// Every node's outbound then inbound link in node order (CLUSTER
    /// LINKS): (id, link).
    pub fn links_in_node_order(&self) -> Vec<(usize, &Link)> {
        let mut v = Vec::new();
        for (_, n) in self.state.iter() {
            for id in [n.link, n.inbound_link].into_iter().flatten() {
                if let Some(l) = self.link(id) {
                    v.push((id, l));
                }
            }
        }
        v
    }
}
