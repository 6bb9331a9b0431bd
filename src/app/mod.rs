//! The console runtime (SPEC 5): input, actions, `update(state, action) -> effects`, the
//! keymap, per-tab state and forms, and a worker that runs effects against the port.

pub mod action;
pub mod confirms;
pub mod demo;
pub mod forms;
pub mod keymap;
pub mod loads;
pub mod palette;
pub mod state;
pub mod update;

use std::sync::Arc;

use crate::api::Port;
use crate::cli::args::GlobalOpts;
use crate::domain::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    pub read_only: bool,
    /// Set by `onepoint demo`: show the DEMO badge.
    pub demo: bool,
}

impl ConsoleOptions {
    pub fn from_global(g: &GlobalOpts) -> ConsoleOptions {
        ConsoleOptions {
            read_only: g.read_only,
            demo: false,
        }
    }
}

/// Runs the console until the user quits; returns the exit code.
pub fn run_console(_port: Arc<dyn Port>, _opts: ConsoleOptions) -> Result<i32> {
    Err(Error::Unavailable {
        message: "the console is not built yet".into(),
    })
}
