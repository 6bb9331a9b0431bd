//! `onepoint export deals|members|billings [--format csv|json] [--output FILE]`: pages
//! through the port (never loading a whole table) and streams CSV or a JSON array.
//! Deals come out oldest first in the CSV shape `import deals` reads back (`cli::import`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::api::{Error, Result};
use crate::domain::calendar::format_rfc3339;
use crate::domain::query::MAX_PAGE;
use crate::domain::{
    Billing, BillingQuery, Deal, DealId, DealQuery, MemberQuery, MemberSort, MemberView,
};

use super::args::{ExportArgs, ExportFormat, ExportWhat};
use super::commands::Ctx;
use super::output::{Record, print, progress};

/// The deal CSV's columns, shared with the importer.
pub const DEAL_COLUMNS: [&str; 8] = [
    "key",
    "type",
    "memberId",
    "merchantId",
    "dealAmount",
    "point",
    "dealDate",
    "originalKey",
];

/// The row key of a deal in the CSV: what the importer uses as its idempotency key.
pub fn deal_key(id: DealId) -> String {
    format!("deal-{id}")
}

pub fn run(ctx: &Ctx, a: &ExportArgs) -> Result<i32> {
    let format = a.format.unwrap_or(if ctx.json {
        ExportFormat::Json
    } else {
        ExportFormat::Csv
    });
    let (out, target): (Box<dyn Write>, Option<(PathBuf, PathBuf)>) = match &a.output {
        Some(path) => {
            let tmp = partial_path(path);
            let f = File::create(&tmp)
                .map_err(|e| Error::store(format!("cannot create {}: {e}", tmp.display())))?;
            (Box::new(f), Some((tmp, path.clone())))
        }
        None => (Box::new(io::stdout().lock()), None),
    };
    let mut sink = Sink::new(BufWriter::with_capacity(1 << 16, out), format);
    let written = match a.what {
        ExportWhat::Deals => deals(ctx, &mut sink),
        ExportWhat::Members => members(ctx, &mut sink),
        ExportWhat::Billings => billings(ctx, &mut sink),
    }
    .and_then(|n| sink.finish().map(|_| n));
    let rows = match written {
        Ok(n) => n,
        // The reader of stdout went away (`| head`): it has what it wanted.
        Err(Failure::Io(e)) if target.is_none() && e.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(0);
        }
        Err(f) => {
            if let Some((tmp, _)) = &target {
                let _ = std::fs::remove_file(tmp);
            }
            return Err(f.into_error());
        }
    };
    if let Some((tmp, path)) = target {
        std::fs::rename(&tmp, &path)
            .map_err(|e| Error::store(format!("cannot write {}: {e}", path.display())))?;
        let what = format!("{:?}", a.what).to_lowercase();
        let summary = serde_json::json!({
            "exported": what, "rows": rows, "output": path.display().to_string()
        });
        print(ctx.json, &summary, || {
            Record::new()
                .field("exported", &what)
                .field("rows", rows)
                .field("output", path.display())
                .render()
        })?;
    }
    Ok(0)
}

/// Written next to the target and renamed over it once complete, so a failed export never
/// leaves a truncated file that looks whole.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Why an export stopped: the port, or the output.
enum Failure {
    Port(Error),
    Io(io::Error),
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Failure::Port(e) => e,
            Failure::Io(e) => Error::store(format!("cannot write the export: {e}")),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Port(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure::Io(e)
    }
}

impl From<csv::Error> for Failure {
    fn from(e: csv::Error) -> Failure {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => Failure::Io(io),
            other => Failure::Port(Error::store(format!("cannot write CSV: {other:?}"))),
        }
    }
}

/// CSV rows or the elements of one JSON array, streamed.
enum Sink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Json { out: W, first: bool },
}

impl<W: Write> Sink<W> {
    fn new(out: W, format: ExportFormat) -> Sink<W> {
        match format {
            ExportFormat::Csv => Sink::Csv(Box::new(csv::Writer::from_writer(out))),
            ExportFormat::Json => Sink::Json { out, first: true },
        }
    }
    fn header(&mut self, columns: &[&str]) -> Result<(), Failure> {
        if let Sink::Csv(w) = self {
            w.write_record(columns)?;
        }
        Ok(())
    }
    /// Writes one item: `csv_row` builds its CSV cells, `value` is its JSON form.
    fn item<T: Serialize>(
        &mut self,
        value: &T,
        csv_row: impl FnOnce() -> Vec<String>,
    ) -> Result<(), Failure> {
        match self {
            Sink::Csv(w) => w.write_record(csv_row())?,
            Sink::Json { out, first } => {
                out.write_all(if *first { b"[\n" } else { b",\n" })?;
                *first = false;
                serde_json::to_writer(&mut *out, value)
                    .map_err(|e| Failure::Io(io::Error::other(e)))?;
            }
        }
        Ok(())
    }
    fn finish(self) -> Result<(), Failure> {
        match self {
            Sink::Csv(mut w) => w.flush()?,
            Sink::Json { mut out, first } => {
                out.write_all(if first { b"[]\n" } else { b"\n]\n" })?;
                out.flush()?;
            }
        }
        Ok(())
    }
}

/// The CSV row of a deal. A use without an amount has an empty `dealAmount`, and cancels
/// carry their original's key; a save's `point` is informational (recomputed on import).
pub fn deal_row(d: &Deal) -> Vec<String> {
    let amount = if d.deal_amount == 0 {
        String::new()
    } else {
        d.deal_amount.to_string()
    };
    vec![
        deal_key(d.id),
        d.deal_type.as_str().to_string(),
        d.member_id.to_string(),
        d.merchant_id.to_string(),
        if d.deal_type.is_cancel() {
            String::new()
        } else {
            amount
        },
        d.point.to_string(),
        format_rfc3339(d.deal_date),
        d.original_deal_id.map(deal_key).unwrap_or_default(),
    ]
}

/// Deals oldest first. The port pages newest first below a cursor, so walk id windows
/// upwards: the page below `top + 1` holds the ids in (`top - PAGE`, `top`], reversed.
/// Ids never repeat; a gap only makes a page shorter. Deals written after the export
/// started (ids above the first newest) are left for the next export.
fn deals<W: Write>(ctx: &Ctx, sink: &mut Sink<W>) -> Result<u64, Failure> {
    sink.header(&DEAL_COLUMNS)?;
    let newest = ctx.port.deals(&DealQuery {
        limit: 1,
        ..Default::default()
    })?;
    let Some(max) = newest.first().map(|d| d.id.get()) else {
        return Ok(0);
    };
    let bar = progress(max, "deals");
    let page = MAX_PAGE as u64;
    let (mut done, mut rows) = (0u64, 0u64);
    while done < max {
        let top = (done + page).min(max);
        let mut list = ctx.port.deals(&DealQuery {
            before: Some(DealId(top + 1)),
            limit: (top - done) as usize,
            ..Default::default()
        })?;
        list.retain(|d| d.id.get() > done && d.id.get() <= top);
        list.sort_by_key(|d| d.id);
        for d in &list {
            sink.item(d, || deal_row(d))?;
        }
        rows += list.len() as u64;
        bar.set_position(top);
        done = top;
    }
    bar.finish_and_clear();
    Ok(rows)
}

const MEMBER_COLUMNS: [&str; 8] = [
    "memberId",
    "name",
    "phone",
    "address",
    "status",
    "point",
    "joinedAt",
    "lastActivity",
];

fn member_row(m: &MemberView) -> Vec<String> {
    vec![
        m.member_id.to_string(),
        m.name.clone(),
        m.phone.clone().unwrap_or_default(),
        m.address.clone().unwrap_or_default(),
        m.status.as_str().to_string(),
        m.point.to_string(),
        format_rfc3339(m.joined_at),
        m.last_activity.map(format_rfc3339).unwrap_or_default(),
    ]
}

/// Members in id order, a page at a time after the last id seen.
fn members<W: Write>(ctx: &Ctx, sink: &mut Sink<W>) -> Result<u64, Failure> {
    sink.header(&MEMBER_COLUMNS)?;
    let total = ctx.port.info().map(|i| i.members).unwrap_or(0);
    let bar = progress(total, "members");
    let (mut after, mut rows) = (None, 0u64);
    loop {
        let list = ctx.port.members(&MemberQuery {
            after,
            limit: MAX_PAGE,
            sort: MemberSort::Id,
            ..Default::default()
        })?;
        let Some(last) = list.last() else { break };
        after = Some(last.member_id);
        for m in &list {
            sink.item(m, || member_row(m))?;
        }
        rows += list.len() as u64;
        bar.set_position(rows);
    }
    bar.finish_and_clear();
    Ok(rows)
}

const BILLING_COLUMNS: [&str; 8] = [
    "id",
    "merchantId",
    "billingMonth",
    "billingAmount",
    "dealCount",
    "netPoints",
    "commissionBp",
    "createdAt",
];

/// Billings in id order. The port's billing query has no cursor yet, so this is one page
/// of at most `MAX_PAGE` (a merchant-month each: plenty for a year of thousands of
/// merchants); more than that is an error rather than a silently short file.
fn billings<W: Write>(ctx: &Ctx, sink: &mut Sink<W>) -> Result<u64, Failure> {
    sink.header(&BILLING_COLUMNS)?;
    let mut list: Vec<Billing> = ctx.port.billings(&BillingQuery {
        limit: MAX_PAGE,
        ..Default::default()
    })?;
    if list.len() >= MAX_PAGE {
        return Err(Failure::Port(Error::store(format!(
            "more than {MAX_PAGE} billings: export them per merchant with `billing list --merchant ID --json`"
        ))));
    }
    list.sort_by_key(|b| b.id);
    for b in &list {
        sink.item(b, || {
            vec![
                b.id.to_string(),
                b.merchant_id.to_string(),
                b.billing_month.to_string(),
                b.billing_amount.to_string(),
                b.deal_count.to_string(),
                b.net_points.to_string(),
                b.commission_bp.to_string(),
                format_rfc3339(b.created_at),
            ]
        })?;
    }
    Ok(list.len() as u64)
}
