//! Generated from a live redis-server 7.0.15's COMMAND INFO and COMMAND
//! DOCS by tests/support/command_table_gen.rs: do not edit. The test
//! `command_table::generated_command_table_is_redis` checks it; run it
//! with FERROKV_REGEN_COMMAND_TABLE=1 to rewrite it.
//!
//! The index of the parts (366 commands and subcommands).

mod part_1;
mod part_2;
mod part_3;
mod part_4;

/// Every part, each sorted by full name, in order.
pub(super) static PARTS: [&[super::Meta]; 4] = [part_1::PART, part_2::PART, part_3::PART, part_4::PART];
