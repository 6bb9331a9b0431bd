//! The composition root: parse the command line, pick the adapter (embedded store or
//! remote), run the console, the server or one headless subcommand. No business logic here.

pub mod args;
pub mod commands;
pub mod export;
pub mod follow;
pub mod import;
pub mod import_csv;
pub mod output;
pub mod seed;
pub mod seed_data;
pub mod show;
#[cfg(test)]
mod show_tests;

use std::sync::Arc;

use clap::Parser;

use crate::api::{self, Port};
use crate::domain::Error;
use args::{Cli, CommandLine};

/// Runs the program; returns the process exit code (SPEC 4).
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints `error: ...` plus usage on stderr, exit 2; help/version exit 0.
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<i32, Error> {
    let global = cli.global;
    match cli.command {
        None => {
            let port = api::open_port(&global)?;
            crate::app::run_console(port, crate::app::ConsoleOptions::from_global(&global))
        }
        Some(CommandLine::Demo(args)) => crate::app::demo::run(&global, &args),
        Some(CommandLine::Serve(args)) => {
            let port: Arc<dyn Port> = api::open_port(&global)?;
            crate::server::serve(port, &args)
        }
        Some(cmd) => {
            let port = api::open_port(&global)?;
            commands::run(cmd, &global, port)
        }
    }
}
