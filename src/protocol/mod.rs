//! The wire protocol: request parsing and reply encoding (RESP2/RESP3).
pub mod parse;
pub mod reply;
