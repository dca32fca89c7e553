//! Helpers reproducing Redis's util.c behaviour exactly: glob matching,
//! number parsing/formatting, LCS, quoting of binary strings, hash slots
//! (cluster.c keyHashSlot), which
//! peers count as local, and CPU affinity from cpulists (setcpuaffinity.c).
pub mod affinity;
pub mod digest;
pub mod glob;
pub mod lcs;
pub mod net;
pub mod num;
pub mod repr;
pub mod slot;
