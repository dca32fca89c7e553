//! CLIENT subcommands (Redis's networking.c clientCommand).
use super::CommandSpec;
use crate::error::{self, CmdError};

pub static COMMANDS: &[CommandSpec] = &[];

/// Client names may not contain spaces or special characters.
pub fn validate_name(n: &[u8]) -> Result<(), CmdError> {
    if n.iter().any(|&b| b < b'!' || b > b'~') {
        return Err(CmdError::Static(error::CLIENT_NAME_SPACES));
    }
    Ok(())
}
