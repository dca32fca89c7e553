//! The event loop's poller as the layers below it see it: the tokens it
//! reserves, and its state (`LoopIo`: the `mio` poll, its registry, the
//! queue of events not handled yet). The event loop creates it in `init`
//! and shares it with the server (`Server::io`): the busy-script and
//! loading paths re-enter the loop from inside a command and must drain
//! the same queue, and replication registers the master link and a
//! diskless sync's RDB pipe with the registry. Without an event loop
//! (tests, tools) `Server::io` is None and `with_registry` returns None.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Listener tokens live above this; client tokens are slot indexes below it.
pub const LISTENER_BASE: usize = usize::MAX / 2;

/// The replica's link to its master during the handshake and RDB transfer
/// (afterwards the socket is a client with a slot token).
pub const MASTER_LINK_TOKEN: usize = LISTENER_BASE - 1;

/// The read end of a diskless full sync's RDB pipe (master side).
pub const RDB_PIPE_TOKEN: usize = LISTENER_BASE - 2;

/// The running fork child's pidfd (persist::child): readable once it has
/// exited.
pub const CHILD_EXIT_TOKEN: usize = LISTENER_BASE - 3;

/// Cluster bus listeners: `CLUSTER_LISTENER_BASE + i` (at most 32).
pub const CLUSTER_LISTENER_BASE: usize = LISTENER_BASE - 64;

/// Cluster bus links: `CLUSTER_LINK_BASE + link id`, up to the bus
/// listeners' tokens.
pub const CLUSTER_LINK_BASE: usize = LISTENER_BASE / 2;

/// True for a cluster bus token (a listener or a link).
pub fn is_cluster_token(t: usize) -> bool {
    (CLUSTER_LINK_BASE..CLUSTER_LISTENER_BASE + 32).contains(&t)
}

/// One readiness event: token, readable (or closed/error), writable.
#[derive(Clone, Copy)]
pub struct Fired {
    pub token: usize,
    pub readable: bool,
    pub writable: bool,
}

/// The event loop's poll state. One thread: each `RefCell` is borrowed
/// for one operation only (a poll, a push or a pop), never while a command
/// runs, so a busy script's event processing can use it too.
pub struct LoopIo {
    pub poll: RefCell<mio::Poll>,
    registry: mio::Registry,
    /// Events the poller reported that are not handled yet. A busy script's
    /// event processing drains them too: edge-triggered readiness is
    /// reported once, so an event left here while a script runs would
    /// otherwise never be seen (the client's SCRIPT KILL never read).
    pub fired: RefCell<VecDeque<Fired>>,
    /// Clients whose events a busy script's event processing consumed
    /// while they were out of their slot (executing): the main loop reads
    /// their sockets afterwards.
    pub missed: RefCell<Vec<usize>>,
}

impl LoopIo {
    pub fn new(poll: mio::Poll) -> std::io::Result<LoopIo> {
        let registry = poll.registry().try_clone()?;
        Ok(LoopIo {
            poll: RefCell::new(poll),
            registry,
            fired: RefCell::new(VecDeque::new()),
            missed: RefCell::new(Vec::new()),
        })
    }

    /// The poller's registry.
    pub fn registry(&self) -> &mio::Registry {
        &self.registry
    }

    /// Queues what the poller returned.
    pub fn push_fired(&self, events: &mio::Events) {
        let mut f = self.fired.borrow_mut();
        for ev in events.iter() {
            f.push_back(Fired {
                token: ev.token().0,
                readable: ev.is_readable() || ev.is_read_closed() || ev.is_error(),
                writable: ev.is_writable(),
            });
        }
    }

    /// The oldest event not handled yet.
    pub fn pop_fired(&self) -> Option<Fired> {
        self.fired.borrow_mut().pop_front()
    }
}

/// Runs `f` with the poller's registry. None without an event loop.
pub fn with_registry<R>(io: &Option<Rc<LoopIo>>, f: impl FnOnce(&mio::Registry) -> R) -> Option<R> {
    io.as_deref().map(|io| f(io.registry()))
}
