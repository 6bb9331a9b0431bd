//! The composition root: parse the command line, pick the adapter (embedded store or
//! remote), run the console, the server or one headless subcommand. No business logic here.

pub mod args;
pub mod commands;
pub mod export;
pub mod follow;
pub mod import;
pub mod import_csv;
pub mod outbox;
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
        Err(e) if e.use_stderr() => {
            eprintln!("{}", usage_error_line(&e.render().to_string()));
            return 2;
        }
        Err(e) => {
            // --help and --version
            let _ = e.print();
            return 0;
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
            let port = api::open_console_port(&global)?;
            crate::app::run_console(port, crate::app::ConsoleOptions::from_global(&global))
        }
        Some(CommandLine::Demo(args)) => crate::app::demo::run(&global, &args),
        Some(CommandLine::Serve(args)) => {
            let port: Arc<dyn Port> = api::open_port(&global)?;
            let cfg = serve_config(&args)?;
            crate::server::serve(port, cfg)
        }
        Some(CommandLine::Outbox(cmd)) => outbox::run(&global, &cmd),
        Some(cmd) => {
            if global.remote.is_none() && !creates_store(&cmd) {
                crate::domain::store::require_existing(&api::data_dir(&global)?)?;
            }
            let port = api::open_port(&global)?;
            commands::run(cmd, &global, port)
        }
    }
}

/// `onepoint serve`'s options as the server's plain config, each parsed by the domain.
fn serve_config(a: &args::ServeArgs) -> Result<crate::server::ServerConfig, Error> {
    use crate::domain::request::parse_count;
    use std::time::Duration;
    let secs = |field: &str, t: &str| -> Result<Duration, Error> {
        Ok(Duration::from_secs(parse_count(field, t, 1, 3600)? as u64))
    };
    let tokens = match &a.token_file {
        Some(p) => Some(crate::server::Tokens::load(p)?),
        None => None,
    };
    let public_url = match a.public_url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u) if crate::server::guard::origin_of(u).is_some() => Some(u.to_string()),
        Some(_) => {
            return Err(Error::invalid(
                "--public-url",
                "must be a URL like https://console.example:8443",
            ));
        }
    };
    Ok(crate::server::ServerConfig {
        listen: crate::server::parse_listen(&a.listen)?,
        tokens,
        public_url,
        limits: crate::server::Limits {
            header_timeout: secs("--header-timeout", &a.header_timeout)?,
            body_timeout: secs("--body-timeout", &a.body_timeout)?,
            max_connections: parse_count("--max-connections", &a.max_connections, 1, 1_000_000)?,
            ..crate::server::Limits::default()
        },
    })
}

/// Commands that may create a store (SPEC 2): the writes that start one. Every other
/// command on a path with no store fails naming the path.
fn creates_store(cmd: &CommandLine) -> bool {
    matches!(
        cmd,
        CommandLine::Member(args::MemberCmd::Join { .. })
            | CommandLine::Merchant(_)
            | CommandLine::Seed(_)
            | CommandLine::Import(_)
            | CommandLine::Serve(_)
            | CommandLine::Demo(_)
    )
}

/// clap's usage error as the one `error:` line SPEC 4 asks for: the message (with any
/// listed arguments) up to the blank line before the usage block, then where to look.
pub fn usage_error_line(rendered: &str) -> String {
    let msg: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let mut line = msg.join(" ");
    if !line.starts_with("error:") {
        line = format!("error: {line}");
    }
    format!("{line} (see --help)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_errors_become_one_line() {
        let rendered = "error: the following required arguments were not provided:\n  --amount <AMOUNT>\n\nUsage: onepoint deal save --amount <AMOUNT>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_error_line(rendered),
            "error: the following required arguments were not provided: --amount <AMOUNT> (see --help)"
        );
    }
}
