//! (scaffolding: filled in with issue #3)
use super::CommandSpec;
pub static COMMANDS: &[CommandSpec] = &[];
