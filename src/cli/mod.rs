//! The composition root: parse the command line, pick the adapter (embedded store or
//! remote), run the console, the server or one headless subcommand. No business logic here.
//! The config is read here, once; every other part gets plain option structs.

pub mod args;
pub mod commands;
pub mod export;
pub mod follow;
pub mod import;
pub mod outbox;
pub mod output;
pub mod report;
pub mod seed;
pub mod show;
#[cfg(test)]
mod show_tests;
mod warnings;

use std::path::PathBuf;

use clap::Parser;

use crate::api::{self, Error, Target};
use crate::app::ConsoleOptions;
use crate::app::keymap::Keymap;
use crate::app::state::ThemeName;
use crate::config::ConfigFile;
use crate::domain::{CoreSettings, ErrorKind};
use crate::server::ServerConfig;
use args::{Cli, CommandLine, DemoArgs, GlobalOpts, ServeArgs};

/// Runs the program; returns the process exit code (SPEC 4). An error is one `error:` line
/// on stderr and, with `--json`, also one JSON object on stdout (`error_json`).
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            let line = usage_error_line(&e.render().to_string());
            eprintln!("{line}");
            // The line did not parse, so `--json` is looked for in the raw arguments.
            if std::env::args()
                .take_while(|a| a != "--")
                .any(|a| a == "--json")
            {
                println!("{}", usage_error_json(&e, &line));
            }
            return 2;
        }
        Err(e) => {
            // --help and --version
            let _ = e.print();
            return 0;
        }
    };
    let json = cli.global.json;
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let code = exit_code(&e);
            if json {
                println!("{}", error_json(&e, code));
            }
            code
        }
    }
}

/// `{"error":{"message","field","rule","exit"}}`: the message as the `error:` line says it,
/// the field and rule it names (null when it names none, as for a store failure), the exit
/// code; a malformed input lists every field error in `errors` too.
pub fn error_json(e: &Error, exit: i32) -> serde_json::Value {
    use crate::domain::Error as Core;
    let (field, rule, errors) = match e {
        Error::Domain(Core::Invalid { errors }) => {
            let first = errors.0.first();
            (
                first.map(|f| f.field.clone()),
                first.map(|f| f.rule.clone()),
                Some(&errors.0),
            )
        }
        Error::Domain(Core::Refused { field, rule, .. }) => {
            (Some(field.clone()), Some(rule.clone()), None)
        }
        Error::Domain(Core::NotFound { what, id }) => {
            (Some(what.clone()), Some(format!("{id} not found")), None)
        }
        Error::Domain(Core::KeyConflict { .. }) => (
            Some("--key".to_string()),
            Some("was already used for a different request".to_string()),
            None,
        ),
        _ => (None, None, None),
    };
    let mut body = serde_json::json!({
        "message": e.to_string(),
        "field": field,
        "rule": rule,
        "exit": exit,
    });
    if let Some(all) = errors {
        body["errors"] = serde_json::json!(all);
    }
    serde_json::json!({ "error": body })
}

/// A usage error (clap's) as the same JSON object: the argument or subcommand it names, and
/// the line's message as the rule.
fn usage_error_json(e: &clap::Error, line: &str) -> serde_json::Value {
    use clap::error::{ContextKind, ContextValue};
    let named = [ContextKind::InvalidArg, ContextKind::InvalidSubcommand]
        .into_iter()
        .find_map(|k| match e.get(k) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            Some(ContextValue::Strings(v)) => v.first().cloned(),
            _ => None,
        });
    let message = line.trim_start_matches("error: ").to_string();
    serde_json::json!({ "error": {
        "message": message,
        "field": named.unwrap_or_else(|| "arguments".to_string()),
        "rule": message,
        "exit": 2,
    }})
}

/// The exit code for an error (SPEC 4): 2 malformed input, 3 refused (not found, a rule, a
/// conflict, not allowed), 1 the store or the link failed. Decided by kind, never by text.
pub fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Domain(d) => match d.kind() {
            ErrorKind::Malformed => 2,
            ErrorKind::NotFound | ErrorKind::Rule | ErrorKind::Conflict => 3,
            ErrorKind::Store => 1,
        },
        Error::Unauthorized { .. } | Error::Forbidden { .. } => 3,
        Error::Unavailable { .. } | Error::System { .. } => 1,
    }
}

/// The composition root: reads the config once, builds each part's options, opens the port.
fn run(cli: Cli) -> Result<i32, Error> {
    let mut global = cli.global;
    global.token = client_token(&global)?;
    let config = crate::config::load()?;
    match cli.command {
        None => {
            let console = console_options(&global, &config)?;
            let port = api::open_console_port(&target(&global, &config, Holder::Console)?)?;
            crate::app::run_console(port, console)
        }
        Some(CommandLine::Demo(args)) => demo(&global, &args, &config),
        Some(CommandLine::Serve(args)) => {
            let cfg = serve_config(&args, &config)?;
            let port = api::open_serving_port(&target(&global, &config, Holder::Server)?)?;
            crate::server::serve(port, cfg)
        }
        Some(CommandLine::Outbox(cmd)) => {
            warnings::install();
            outbox::run(&global, &cmd)
        }
        Some(cmd) => {
            warnings::install();
            if global.remote.is_none() && !creates_store(&cmd) {
                crate::domain::store::require_existing(&data_dir(&global)?)?;
            }
            let port = api::open_port(&target(&global, &config, Holder::Command)?)?;
            commands::run(cmd, &global, port)
        }
    }
}

/// The store directory: `--data`, else the XDG data dir.
pub fn data_dir(global: &GlobalOpts) -> Result<PathBuf, Error> {
    match &global.data {
        Some(d) => Ok(d.clone()),
        None => dirs::data_dir()
            .map(|d| d.join("onepoint"))
            .ok_or_else(|| Error::store("no data directory: pass --data DIR")),
    }
}

/// Where the port goes: `--remote URL`, else the local store with the config's settings.
fn target(global: &GlobalOpts, config: &ConfigFile, holder: Holder) -> Result<Target, Error> {
    if let Some(url) = &global.remote {
        return Ok(Target::Remote {
            url: url.clone(),
            token: global.token.clone(),
        });
    }
    Ok(Target::Local {
        settings: core_settings(global, config, holder)?,
        dir: data_dir(global)?,
    })
}

/// What holds the store open, for the cache it gets unless the config or `--cache-mb`
/// sets one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// A headless command: the store's default, 64 MB (`DEFAULT_CACHE_BYTES`).
    Command,
    /// The console and the demo, open all day beside the user's other programs: 32 MB
    /// (`CONSOLE_CACHE_BYTES`).
    Console,
    /// `onepoint serve`, one store open for many clients: 256 MB.
    Server,
}

/// The server's store cache: a server holds one store open for many clients.
const SERVER_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// The config's core settings with `--cache-mb` over the config's `core.cache_mb`, and
/// the holder's cache where neither sets one.
fn core_settings(
    global: &GlobalOpts,
    config: &ConfigFile,
    holder: Holder,
) -> Result<CoreSettings, Error> {
    let mut s = config.core_settings()?;
    match (global.cache_mb, config.core.cache_mb, holder) {
        (Some(mb), _, _) => s.cache_bytes = crate::config::cache_bytes("--cache-mb", mb)?,
        (None, Some(_), _) | (None, None, Holder::Command) => {}
        (None, None, Holder::Console) => s.cache_bytes = crate::config::CONSOLE_CACHE_BYTES,
        (None, None, Holder::Server) => s.cache_bytes = SERVER_CACHE_BYTES,
    }
    Ok(s)
}

/// The client's bearer token: from `--token-file` (a file only its owner may read, as ssh
/// wants of keys), or `ONEPOINT_TOKEN`, or `--token` with a warning (`ps` shows it).
fn client_token(global: &GlobalOpts) -> Result<Option<String>, Error> {
    if let Some(path) = &global.client_token_file {
        if global.token.is_some() && std::env::var_os("ONEPOINT_TOKEN").is_none() {
            return Err(Error::invalid(
                "--token-file",
                "goes without --token: give the token one way",
            ));
        }
        return crate::server::auth::read_secret_file(path, "--token-file").map(Some);
    }
    if let Some(t) = &global.token
        && std::env::var("ONEPOINT_TOKEN").ok().as_deref() != Some(t.as_str())
    {
        eprintln!(
            "warning: --token shows in `ps` to every user of this machine; use ONEPOINT_TOKEN or --token-file"
        );
    }
    Ok(global.token.clone())
}

/// The console's options: `--read-only`, and the config's keys, theme (`NO_COLOR` forces
/// mono), mouse and business time zone.
fn console_options(global: &GlobalOpts, config: &ConfigFile) -> Result<ConsoleOptions, Error> {
    let configured = match config.console.theme.as_deref() {
        None => ThemeName::Dark,
        Some(t) => ThemeName::parse(t)
            .ok_or_else(|| Error::invalid("console.theme", "must be dark, light or mono"))?,
    };
    Ok(ConsoleOptions {
        read_only: global.read_only,
        demo: false,
        traffic: None,
        keymap: Keymap::with_overrides(&config.keys)?,
        theme: ThemeName::resolve(configured, std::env::var("NO_COLOR").ok().as_deref()),
        mouse: config.console.mouse.unwrap_or(false),
        zone: config.core_settings()?.zone,
    })
}

fn demo(global: &GlobalOpts, args: &DemoArgs, config: &ConfigFile) -> Result<i32, Error> {
    if global.remote.is_some() {
        return Err(Error::invalid(
            "--remote",
            "is not used by demo: the demo runs on its own local store",
        ));
    }
    if !(args.rate.is_finite() && (0.0..=100_000.0).contains(&args.rate)) {
        return Err(Error::invalid(
            "--rate",
            "must be from 0 to 100000 operations per second",
        ));
    }
    let settings: CoreSettings = core_settings(global, config, Holder::Console)?;
    let console = console_options(global, config)?;
    crate::demo::run(global.data.as_deref(), args.rate, settings, console)
}

/// `onepoint serve`'s options (and the config's `[server]`) as the server's plain config,
/// each parsed by the domain.
fn serve_config(a: &ServeArgs, config: &ConfigFile) -> Result<ServerConfig, Error> {
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
        feed: {
            let keys = config.server_keys()?;
            let d = crate::server::Pacing::default();
            crate::server::Pacing {
                poll_linger: keys.poll_linger.unwrap_or(d.poll_linger),
                sse_tick: keys.sse_tick.unwrap_or(d.sse_tick),
            }
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
    // clap's "tip: a similar subcommand exists: 'member'" becomes "did you mean 'member'?".
    let similar: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("tip:") && l.contains("similar"))
        .filter_map(|l| l.rsplit_once(": ").map(|(_, names)| names))
        .collect();
    if similar.is_empty() {
        format!("{line} (see --help)")
    } else {
        format!("{line} (did you mean {}? see --help)", similar.join(" or "))
    }
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

    fn parse_error(args: &[&str]) -> String {
        let e = Cli::try_parse_from(args.iter().copied()).unwrap_err();
        usage_error_line(&e.render().to_string())
    }

    #[test]
    fn each_holder_gets_its_cache_unless_the_config_or_the_flag_sets_one() {
        let cache = |args: &[&str], config: &str, holder: Holder| {
            let cli = Cli::try_parse_from(args.iter().copied()).unwrap();
            let config = crate::config::parse(config, "test").unwrap();
            core_settings(&cli.global, &config, holder)
                .unwrap()
                .cache_bytes
                >> 20
        };
        let holders = [Holder::Command, Holder::Console, Holder::Server];
        let defaults: Vec<u64> = holders.map(|h| cache(&["onepoint"], "", h)).to_vec();
        assert_eq!(defaults, [64, 32, 256]);
        for h in holders {
            assert_eq!(cache(&["onepoint"], "[core]\ncache_mb = 48\n", h), 48);
            let flag = ["onepoint", "--cache-mb", "100"];
            assert_eq!(cache(&flag, "[core]\ncache_mb = 48\n", h), 100);
        }
    }

    #[test]
    fn mistyped_subcommands_and_options_get_did_you_mean() {
        assert_eq!(
            parse_error(&["onepoint", "membr", "list"]),
            "error: unrecognized subcommand 'membr' (did you mean 'member'? see --help)"
        );
        let line = parse_error(&["onepoint", "deal", "sve"]);
        assert!(line.contains("did you mean 'save'?"), "{line}");
        let line = parse_error(&["onepoint", "member", "list", "--limt", "3"]);
        assert!(line.contains("did you mean '--limit'?"), "{line}");
        // Nothing similar: no guess.
        let line = parse_error(&["onepoint", "zzzzzz"]);
        assert!(!line.contains("did you mean"), "{line}");
    }

    #[test]
    fn json_errors_name_the_field_rule_and_exit() {
        let e: Error = crate::domain::FieldErrors(vec![
            crate::domain::FieldError::new("dealAmount", "must be greater than 0"),
            crate::domain::FieldError::new("memberId", "must be a whole number"),
        ])
        .into();
        let v = error_json(&e, exit_code(&e));
        assert_eq!(v["error"]["field"], "dealAmount");
        assert_eq!(v["error"]["rule"], "must be greater than 0");
        assert_eq!(v["error"]["exit"], 2);
        assert_eq!(v["error"]["errors"][1]["field"], "memberId");
        assert_eq!(v["error"]["message"], e.to_string());
        let e: Error = crate::domain::Error::conflict("memberId", "is already withdrawn").into();
        let v = error_json(&e, exit_code(&e));
        assert_eq!(v["error"]["field"], "memberId");
        assert_eq!(v["error"]["exit"], 3);
        let e = Error::store("disk full");
        let v = error_json(&e, exit_code(&e));
        assert!(v["error"]["field"].is_null());
        assert_eq!(v["error"]["exit"], 1);
    }
}
