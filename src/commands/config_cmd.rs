//! (placeholder: filled in below)
use super::CommandSpec;
pub static COMMANDS: &[CommandSpec] = &[];
