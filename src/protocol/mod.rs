//! The wire protocol: request parsing, a request's arguments (`Args`) and
//! reply encoding (RESP2/RESP3).
pub mod args;
pub mod parse;
pub mod reply;
