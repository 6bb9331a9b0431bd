//! `onepoint import deals FILE`: the arguments, the progress bar and the summary; the
//! import itself (both passes) is `transfer::import`.

use std::path::Path;

use crate::api::Result;
use crate::transfer::import::{Ending, ImportSummary, import_deals};

use super::commands::Ctx;
use super::output::{Record, print, progress};

/// Refused rows listed on stderr before the rest are only counted.
const REFUSALS_SHOWN: u64 = 20;

pub fn run(ctx: &Ctx, path: &Path) -> Result<i32> {
    let bar = progress(0, "import");
    let mut shown = 0u64;
    let mut on_refused = |row: u64, why: &str| {
        shown += 1;
        if shown <= REFUSALS_SHOWN {
            bar.suspend(|| eprintln!("row {row}: {why}"));
        } else if shown == REFUSALS_SHOWN + 1 {
            bar.suspend(|| eprintln!("(further refused rows are only counted)"));
        }
    };
    let mut on_progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let (ending, summary) = import_deals(ctx.port, path, &mut on_progress, &mut on_refused)?;
    bar.finish_and_clear();
    match ending {
        Ending::Invalid { errors, count } => {
            for (row, errs) in &errors {
                eprintln!("error: row {row}: {errs}");
            }
            if count > errors.len() as u64 {
                eprintln!("({} more bad rows)", count - errors.len() as u64);
            }
            eprintln!("nothing was imported: {count} bad row(s)");
            Ok(2)
        }
        Ending::Stopped { row, why } => {
            print_summary(ctx, &summary)?;
            eprintln!(
                "error: row {row}: {why} (the rows before it are applied; re-running is safe)"
            );
            Ok(2)
        }
        Ending::Done => {
            print_summary(ctx, &summary)?;
            Ok(if summary.refused > 0 { 3 } else { 0 })
        }
    }
}

fn print_summary(ctx: &Ctx, s: &ImportSummary) -> Result<()> {
    print(ctx.json, s, || {
        Record::new()
            .field("rows", s.rows)
            .field("applied", s.applied)
            .field("replayed", s.replayed)
            .field("failed", s.failed)
            .field("refused", s.refused)
            .field("members joined", s.members_joined)
            .field("points differ", s.points_differ)
            .render()
    })?;
    if s.points_differ > 0 {
        eprintln!(
            "warning: {} deal(s) earned other points than the file says: register the \
             merchants with their earn rates (`onepoint merchant add`) before importing",
            s.points_differ
        );
    }
    Ok(())
}
