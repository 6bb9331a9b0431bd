//! `onepoint events [--after N] [--limit N] [--follow]`: the event log from an offset.
//! Without `--follow`, one page (a JSON array with `--json`). With it, everything after the
//! offset, then each new event once, in order, as it is written: one line per event (NDJSON
//! with `--json`, since the stream never ends). A closed pipe ends it quietly; so does Ctrl-C
//! (the default signal action: nothing is buffered, every line is flushed as printed).

use std::io::{self, Write};
use std::time::Duration;

use crate::api::Port;
use crate::api::{Error, Result};
use crate::domain::FieldErrors;
use crate::domain::query::{parse_event_offset, parse_limit};

use super::args::EventsArgs;
use super::commands::Ctx;
use super::output::{json_line, print};
use super::show;

/// How long one wait for new events blocks before it asks again.
const WAIT_PERIOD: Duration = Duration::from_secs(1);

pub fn run(ctx: &Ctx, a: &EventsArgs) -> Result<i32> {
    let mut errs = FieldErrors::default();
    let after = errs.take(parse_event_offset("after", &a.after));
    let limit = errs.take(parse_limit("limit", &a.limit));
    let (Some(after), Some(limit), true) = (after, limit, errs.is_empty()) else {
        return Err(errs.into());
    };
    if !a.follow {
        let list = ctx.port.events(after, limit)?;
        print(ctx.json, &list, || {
            if list.is_empty() {
                "no events".into()
            } else {
                list.iter()
                    .map(show::event_line)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        })?;
        return Ok(0);
    }
    follow(ctx, after, limit)
}

/// Prints every event after `after`, then blocks for more, forever (or until the reader
/// goes away). `last` only moves forward, so no event prints twice or out of order.
fn follow(ctx: &Ctx, after: u64, page: usize) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    follow_to(ctx.port, after, page, ctx.json, &mut out)?;
    Ok(0)
}

/// The follower over any writer: returns `Ok` when the writer's reader has gone away
/// (a closed pipe), an error when the port fails.
pub fn follow_to(
    port: &dyn Port,
    after: u64,
    page: usize,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let mut last = after;
    loop {
        let batch = port.events(last, page)?;
        let full = batch.len() == page;
        for e in &batch {
            if e.offset <= last {
                continue;
            }
            let text = if json {
                json_line(e)?
            } else {
                show::event_line(e)
            };
            match writeln!(out, "{text}").and_then(|_| out.flush()) {
                Ok(()) => last = e.offset,
                Err(err) if err.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
                Err(err) => return Err(Error::system(format!("cannot write to stdout: {err}"))),
            }
        }
        if !full {
            port.wait_events(last, WAIT_PERIOD)?;
        }
    }
}
