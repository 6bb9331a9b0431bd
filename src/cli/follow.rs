//! `onepoint events [--after N] [--limit N] [--follow]`: the event log from an offset.
//! Without `--follow`, one page (a JSON array with `--json`). With it, everything after the
//! offset, then each new event once, in order, as it is written: one line per event (NDJSON
//! with `--json`, since the stream never ends). A closed pipe ends it quietly; so does Ctrl-C
//! (the default signal action: nothing is buffered, every line is flushed as printed).

use std::time::Duration;

use crate::domain::query::{parse_event_offset, parse_limit};
use crate::domain::{Event, FieldErrors, Result};

use super::args::EventsArgs;
use super::commands::Ctx;
use super::output::{emit, json_line, print};
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
    let mut last = after;
    loop {
        let batch = ctx.port.events(last, page)?;
        let full = batch.len() == page;
        for e in &batch {
            if e.offset <= last {
                continue;
            }
            if !emit(&line(ctx, e)?)? {
                return Ok(0);
            }
            last = e.offset;
        }
        if !full {
            ctx.port.wait_events(last, WAIT_PERIOD)?;
        }
    }
}

fn line(ctx: &Ctx, e: &Event) -> Result<String> {
    if ctx.json {
        json_line(e)
    } else {
        Ok(show::event_line(e))
    }
}
