//! Hash slots: the slot functions live in the base layer (`util::slot`)
//! so the keyspace can index keys by slot; re-exported here for the
//! cluster code.

pub use crate::util::slot::*;
