//! `onepoint --remote URL outbox list|retry|drop`: the writes queued for a server (and
//! token) while it could not be reached, and those it refused, which never leave by
//! themselves: the operator retries (under a new key) or drops them.

use serde_json::json;

use super::args::{GlobalOpts, OutboxCmd};
use super::output::print;
use crate::api::remote::outbox::Entry;
use crate::api::remote::{self, RemoteAdapter};
use crate::api::{Error, Result};
use crate::domain::calendar::format_rfc3339;

fn state(e: &Entry) -> &'static str {
    if e.refused.is_some() {
        "refused"
    } else {
        "queued"
    }
}

fn row(e: &Entry) -> serde_json::Value {
    json!({
        "key": e.key(),
        "state": state(e),
        "write": e.write.command.name(),
        "command": e.write.command,
        "queuedAt": format_rfc3339(e.queued_at),
        "refusal": e.refused.as_ref().map(|r| &r.error),
    })
}

fn line(e: &Entry) -> String {
    let mut l = format!(
        "{}  {:<7}  {:<12}  queued {}",
        e.key(),
        state(e),
        e.write.command.name(),
        format_rfc3339(e.queued_at)
    );
    if let Some(r) = &e.refused {
        l.push_str(&format!("\n    refused: {}", r.error));
    }
    l
}

fn missing(key: &str) -> Error {
    Error::not_found("outbox entry", key)
}

pub fn run(global: &GlobalOpts, cmd: &OutboxCmd) -> Result<i32> {
    let url = global.remote.as_deref().ok_or_else(|| {
        Error::invalid(
            "--remote",
            "is required: an outbox belongs to a server and a token",
        )
    })?;
    let outbox = remote::open_default_outbox(url, global.token.as_deref())?;
    match cmd {
        OutboxCmd::List => {
            let entries = outbox.entries()?;
            let rows: Vec<_> = entries.iter().map(row).collect();
            print(global.json, &rows, || {
                if entries.is_empty() {
                    "the outbox is empty".to_string()
                } else {
                    entries.iter().map(line).collect::<Vec<_>>().join("\n")
                }
            })?;
            Ok(0)
        }
        OutboxCmd::Drop { key } => {
            if !outbox.drop_key(key)? {
                return Err(missing(key));
            }
            print(global.json, &json!({"dropped": key}), || {
                format!("dropped {key}: it will not be sent")
            })?;
            Ok(0)
        }
        OutboxCmd::Retry { key } => {
            let new_key = remote::new_key();
            if !outbox.retry(key, new_key.clone())? {
                return Err(missing(key));
            }
            // Connecting sends what waits (in order), this write included.
            drop(RemoteAdapter::connect(url, global.token.clone())?);
            let now = outbox.entries()?.into_iter().find(|e| e.key() == new_key.0);
            let (v, text, code) = match &now {
                None => (
                    json!({"key": new_key.0, "state": "sent"}),
                    format!("sent (as {})", new_key.0),
                    0,
                ),
                Some(e) if e.refused.is_some() => (row(e), line(e), 3),
                Some(e) => (
                    row(e),
                    format!(
                        "{}\n    not sent yet: the server did not answer; it stays queued",
                        line(e)
                    ),
                    1,
                ),
            };
            print(global.json, &v, || text)?;
            Ok(code)
        }
    }
}
