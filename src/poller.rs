//! The event loop's poller as the layers below it see it: the tokens it
//! reserves, and its registry, with which replication registers the master
//! link and a diskless sync's RDB pipe. The event loop installs a clone of
//! its `mio` registry at startup (`install`); before that (or in a process
//! without an event loop) `with_registry` returns None.

use std::cell::RefCell;

/// Listener tokens live above this; client tokens are slot indexes below it.
pub const LISTENER_BASE: usize = usize::MAX / 2;

/// The replica's link to its master during the handshake and RDB transfer
/// (afterwards the socket is a client with a slot token).
pub const MASTER_LINK_TOKEN: usize = LISTENER_BASE - 1;

/// The read end of a diskless full sync's RDB pipe (master side).
pub const RDB_PIPE_TOKEN: usize = LISTENER_BASE - 2;

thread_local! {
    static REGISTRY: RefCell<Option<mio::Registry>> = const { RefCell::new(None) };
}

/// Makes `registry` (the event loop poller's) available to `with_registry`.
pub fn install(registry: mio::Registry) {
    REGISTRY.with(|r| *r.borrow_mut() = Some(registry));
}

/// Runs `f` with the poller's registry. None outside the event loop.
pub fn with_registry<R>(f: impl FnOnce(&mio::Registry) -> R) -> Option<R> {
    REGISTRY.with(|r| r.borrow().as_ref().map(f))
}
