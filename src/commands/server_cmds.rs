//! Server commands: SHUTDOWN, TIME, LASTSAVE, SLOWLOG, LATENCY, MONITOR.
use super::CommandSpec;
use crate::server::Server;

pub static COMMANDS: &[CommandSpec] = &[];

/// Runs the shutdown sequence; returns the exit code.
pub fn finish_shutdown(_srv: &mut Server) -> i32 {
    tracing::warn!("Redis is now ready to exit, bye bye...");
    0
}
