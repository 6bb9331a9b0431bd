//! Headless subcommands (SPEC 4): each parses its text with the core's parsers, calls the
//! port, prints a human line or one JSON value, and returns the exit code.

use std::sync::Arc;

use crate::api::Port;
use crate::domain::{Error, Result};

use super::args::{CommandLine, GlobalOpts};

pub fn run(cmd: CommandLine, _global: &GlobalOpts, _port: Arc<dyn Port>) -> Result<i32> {
    Err(Error::Unavailable {
        message: format!("subcommand not built yet: {cmd:?}"),
    })
}
