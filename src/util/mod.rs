//! Helpers reproducing Redis's util.c behaviour exactly: glob matching,
//! number parsing/formatting, LCS, and quoting of binary strings.
pub mod digest;
pub mod glob;
pub mod lcs;
pub mod num;
pub mod repr;
