//! `onepoint report liability|activity|segments|dormant|anomalies [--month YYYYMM]
//! [--from YYYY-MM-DD --to YYYY-MM-DD] [--grain day|week|month] [--days N] [--limit N]
//! [--min-cancels N] [--min-failed N] [--clawback PERCENT] [--format table|csv|json]`.
//! The flags go through the one report parser (`ReportQuery::parse`) HTTP uses too.

use crate::api::Result;
use crate::domain::reports::ReportQuery;

use super::args::{ReportArgs, ReportFormat};
use super::commands::Ctx;
use super::output::{Align, Table, emit, json_line};

pub fn run(ctx: &Ctx, a: &ReportArgs) -> Result<i32> {
    let mut params = Vec::new();
    let flags = [
        ("month", &a.month),
        ("from", &a.from),
        ("to", &a.to),
        ("grain", &a.grain),
        ("days", &a.days),
        ("limit", &a.limit),
        ("minCancels", &a.min_cancels),
        ("minFailed", &a.min_failed),
        ("clawback", &a.clawback),
    ];
    for (name, v) in flags {
        if let Some(v) = v {
            params.push((name.to_string(), v.clone()));
        }
    }
    let q = ReportQuery::parse(a.what.as_str(), &params)?;
    let report = ctx.port.report(&q)?;
    let format = a.format.unwrap_or(if ctx.json {
        ReportFormat::Json
    } else {
        ReportFormat::Table
    });
    let text = match format {
        ReportFormat::Json => json_line(&report)?,
        ReportFormat::Csv => {
            // The main table (the JSON form has every part); what the source could not
            // give goes to stderr, so the CSV stays one table.
            for g in report.gaps() {
                eprintln!("note: {}: {}", g.field, g.why);
            }
            let t = report
                .tables()
                .into_iter()
                .next()
                .expect("a report has a table");
            let mut w = csv::Writer::from_writer(Vec::new());
            let csv_err =
                |e: csv::Error| crate::api::Error::system(format!("cannot write CSV: {e}"));
            w.write_record(t.columns.iter().map(|c| c.0))
                .map_err(csv_err)?;
            for r in &t.rows {
                w.write_record(r).map_err(csv_err)?;
            }
            let bytes = w
                .into_inner()
                .map_err(|e| crate::api::Error::system(format!("cannot write CSV: {e}")))?;
            String::from_utf8_lossy(&bytes).trim_end().to_string()
        }
        ReportFormat::Table => {
            let mut parts = Vec::new();
            for t in report.tables() {
                let cols: Vec<(&str, Align)> = t
                    .columns
                    .iter()
                    .map(|(h, kind)| {
                        let align = if kind.numeric() {
                            Align::Right
                        } else {
                            Align::Left
                        };
                        (*h, align)
                    })
                    .collect();
                let mut table = Table::new(&cols);
                // For people, as the console shows them (CSV and JSON stay plain).
                for r in &t.rows {
                    let cells = r.iter().zip(&t.columns);
                    table.row(cells.map(|(c, (_, kind))| kind.for_people(c)).collect());
                }
                parts.push(if table.is_empty() {
                    format!("{}\n(none)", t.title)
                } else {
                    format!("{}\n{}", t.title, table.render())
                });
            }
            parts.join("\n\n")
        }
    };
    emit(&text)?;
    Ok(0)
}
