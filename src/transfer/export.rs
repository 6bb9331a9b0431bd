//! Exports through the port, a page at a time (never a whole table in memory): every row is
//! a list of typed cells, written as CSV, a JSON array, or Parquet (`parquet.rs`). Deals come
//! out oldest first with every field, in the CSV shape `import deals` reads back.

use std::collections::HashMap;
use std::io::{self, Write};

use crate::api::Port;
use crate::api::{Error, Result};
use crate::domain::calendar::{Millis, format_rfc3339};
use crate::domain::query::MAX_PAGE;
use crate::domain::{
    Billing, BillingQuery, Deal, DealId, DealQuery, MemberId, MemberQuery, MemberSort, MemberView,
    MerchantId, Points,
};

use super::{Format, Table};

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit integer.
    Int,
    Text,
    /// Points: a decimal with two places (exact hundredths).
    Points,
    /// An instant, milliseconds UTC; RFC 3339 in text.
    Time,
}

/// One cell; `None` is empty (null).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Int(Option<i64>),
    Text(Option<String>),
    Points(Option<Points>),
    Time(Option<Millis>),
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(Some(s.into()))
    }
    fn int(n: u64) -> Cell {
        Cell::Int(Some(n as i64))
    }
    /// The CSV form: empty for null, points as `2623.5`, times as RFC 3339.
    pub fn to_csv(&self) -> String {
        match self {
            Cell::Int(v) => v.map(|n| n.to_string()).unwrap_or_default(),
            Cell::Text(v) => v.clone().unwrap_or_default(),
            Cell::Points(v) => v.map(|p| p.to_string()).unwrap_or_default(),
            Cell::Time(v) => v.map(format_rfc3339).unwrap_or_default(),
        }
    }
    fn write_json<W: Write>(&self, out: &mut W) -> io::Result<()> {
        let v = match self {
            Cell::Int(Some(n)) => serde_json::to_value(n),
            Cell::Text(Some(s)) => serde_json::to_value(s),
            Cell::Points(Some(p)) => serde_json::to_value(p),
            Cell::Time(Some(t)) => serde_json::to_value(format_rfc3339(*t)),
            _ => Ok(serde_json::Value::Null),
        }
        .map_err(io::Error::other)?;
        serde_json::to_writer(out, &v).map_err(io::Error::other)
    }
}

/// The deal columns: every field of the record, the member's and merchant's names, and
/// `key`/`originalKey` (the row keys `import deals` uses as idempotency keys).
pub const DEAL_COLUMNS: [(&str, Kind); 18] = [
    ("id", Kind::Int),
    ("key", Kind::Text),
    ("type", Kind::Text),
    ("status", Kind::Text),
    ("reason", Kind::Text),
    ("billingStatus", Kind::Text),
    ("billingId", Kind::Int),
    ("originalDealId", Kind::Int),
    ("originalKey", Kind::Text),
    ("cancelledBy", Kind::Int),
    ("memberId", Kind::Int),
    ("memberName", Kind::Text),
    ("merchantId", Kind::Int),
    ("merchantName", Kind::Text),
    ("dealAmount", Kind::Int),
    ("point", Kind::Points),
    ("balance", Kind::Points),
    ("dealDate", Kind::Time),
];

/// The member columns: the record, the balance (`point`), the running totals and the
/// segment (see `onepoint report segments`).
pub const MEMBER_COLUMNS: [(&str, Kind); 18] = [
    ("memberId", Kind::Int),
    ("name", Kind::Text),
    ("phone", Kind::Text),
    ("address", Kind::Text),
    ("status", Kind::Text),
    ("point", Kind::Points),
    ("joinedAt", Kind::Time),
    ("lastActivity", Kind::Time),
    ("earned", Kind::Points),
    ("used", Kind::Points),
    ("saveCancelled", Kind::Points),
    ("useCancelled", Kind::Points),
    ("forfeited", Kind::Points),
    ("deals", Kind::Int),
    ("failed", Kind::Int),
    ("frequency", Kind::Int),
    ("spend", Kind::Int),
    ("segment", Kind::Text),
];

pub const BILLING_COLUMNS: [(&str, Kind); 8] = [
    ("id", Kind::Int),
    ("merchantId", Kind::Int),
    ("billingMonth", Kind::Text),
    ("billingAmount", Kind::Points),
    ("dealCount", Kind::Int),
    ("netPoints", Kind::Points),
    ("commissionBp", Kind::Int),
    ("createdAt", Kind::Time),
];

pub fn columns(t: Table) -> &'static [(&'static str, Kind)] {
    match t {
        Table::Deals => &DEAL_COLUMNS,
        Table::Members => &MEMBER_COLUMNS,
        Table::Billings => &BILLING_COLUMNS,
    }
}

/// The row key of a deal: what the importer uses as its idempotency key.
pub fn deal_key(id: DealId) -> String {
    format!("deal-{id}")
}

pub fn deal_row(d: &Deal, member: Option<&str>, merchant: Option<&str>) -> Vec<Cell> {
    let id = |x: Option<u64>| Cell::Int(x.map(|n| n as i64));
    vec![
        Cell::int(d.id.0),
        Cell::text(deal_key(d.id)),
        Cell::text(d.deal_type.as_str()),
        Cell::text(d.status.as_str()),
        Cell::Text(d.reason.clone()),
        Cell::text(match d.billing_status {
            crate::domain::BillingStatus::No => "no",
            crate::domain::BillingStatus::Yes => "yes",
        }),
        id(d.billing_id.map(|b| b.0)),
        id(d.original_deal_id.map(|o| o.0)),
        Cell::Text(d.original_deal_id.map(deal_key)),
        id(d.cancelled_by.map(|c| c.0)),
        Cell::int(d.member_id.0),
        Cell::Text(member.map(str::to_string)),
        Cell::int(d.merchant_id.0),
        Cell::Text(merchant.map(str::to_string)),
        Cell::int(d.deal_amount),
        Cell::Points(Some(d.point)),
        Cell::Points(Some(d.balance)),
        Cell::Time(Some(d.deal_date)),
    ]
}

pub fn member_row(m: &MemberView, t: Option<&crate::domain::reports::MemberTotals>) -> Vec<Cell> {
    let p = |f: fn(&crate::domain::reports::MemberTotals) -> Points| Cell::Points(t.map(f));
    let n = |f: fn(&crate::domain::reports::MemberTotals) -> u64| Cell::Int(t.map(|t| f(t) as i64));
    vec![
        Cell::int(m.member_id.0),
        Cell::text(m.name.clone()),
        Cell::Text(m.phone.clone()),
        Cell::Text(m.address.clone()),
        Cell::text(m.status.as_str()),
        Cell::Points(Some(m.point)),
        Cell::Time(Some(m.joined_at)),
        Cell::Time(m.last_activity),
        p(|t| t.earned),
        p(|t| t.used),
        p(|t| t.save_cancelled),
        p(|t| t.use_cancelled),
        p(|t| t.forfeited),
        n(|t| t.deals),
        n(|t| t.failed),
        n(|t| t.frequency),
        n(|t| t.spend),
        Cell::Text(t.map(|t| t.segment.clone()).filter(|s| !s.is_empty())),
    ]
}

pub fn billing_row(b: &Billing) -> Vec<Cell> {
    vec![
        Cell::int(b.id.0),
        Cell::int(b.merchant_id.0),
        Cell::text(b.billing_month.to_string()),
        Cell::Points(Some(b.billing_amount)),
        Cell::int(b.deal_count),
        Cell::Points(Some(b.net_points)),
        Cell::int(u64::from(b.commission_bp)),
        Cell::Time(Some(b.created_at)),
    ]
}

/// Why an export stopped: the port, or the output.
#[derive(Debug)]
pub enum Failure {
    Port(Error),
    Io(io::Error),
}

impl Failure {
    pub fn into_error(self) -> Error {
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

/// Where rows go: CSV rows, the elements of one JSON array, or Parquet row groups.
pub enum Sink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Json {
        out: W,
        first: bool,
        names: Vec<&'static str>,
    },
    Parquet(Box<super::parquet::Writer<W>>),
}

impl<W: Write> Sink<W> {
    pub fn new(
        out: W,
        format: Format,
        cols: &'static [(&'static str, Kind)],
    ) -> Result<Sink<W>, Failure> {
        Ok(match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(cols.iter().map(|c| c.0))?;
                Sink::Csv(Box::new(w))
            }
            Format::Json => Sink::Json {
                out,
                first: true,
                names: cols.iter().map(|c| c.0).collect(),
            },
            Format::Parquet => Sink::Parquet(Box::new(super::parquet::Writer::new(out, cols)?)),
        })
    }

    pub fn row(&mut self, cells: Vec<Cell>) -> Result<(), Failure> {
        match self {
            Sink::Csv(w) => w.write_record(cells.iter().map(Cell::to_csv))?,
            Sink::Json { out, first, names } => {
                out.write_all(if *first { b"[\n{" } else { b",\n{" })?;
                *first = false;
                for (i, (name, cell)) in names.iter().zip(&cells).enumerate() {
                    if i > 0 {
                        out.write_all(b",")?;
                    }
                    serde_json::to_writer(&mut *out, name).map_err(io::Error::other)?;
                    out.write_all(b":")?;
                    cell.write_json(out)?;
                }
                out.write_all(b"}")?;
            }
            Sink::Parquet(w) => w.row(cells)?,
        }
        Ok(())
    }

    pub fn finish(self) -> Result<(), Failure> {
        match self {
            Sink::Csv(mut w) => w.flush()?,
            Sink::Json { mut out, first, .. } => {
                out.write_all(if first { b"[]\n" } else { b"\n]\n" })?;
                out.flush()?;
            }
            Sink::Parquet(w) => w.finish()?,
        }
        Ok(())
    }
}

/// Progress: rows (or ids) done out of a total, for a bar.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Exports a table; returns the rows written.
pub fn export<W: Write>(
    port: &dyn Port,
    table: Table,
    format: Format,
    out: W,
    progress: Progress,
) -> Result<u64, Failure> {
    let mut sink = Sink::new(out, format, columns(table))?;
    let rows = match table {
        Table::Deals => deals(port, &mut sink, progress)?,
        Table::Members => members(port, &mut sink, progress)?,
        Table::Billings => billings(port, &mut sink)?,
    };
    sink.finish()?;
    Ok(rows)
}

/// Deals oldest first. The port pages newest first below a cursor, so walk id windows
/// upwards: the page below `top + 1` holds the ids in (`top - PAGE`, `top`], reversed.
/// Deals written after the export started are left for the next export. Names come from
/// one batched read per page (members) and one list (merchants).
fn deals<W: Write>(
    port: &dyn Port,
    sink: &mut Sink<W>,
    progress: Progress,
) -> Result<u64, Failure> {
    let newest = port.deals(&DealQuery {
        limit: 1,
        ..Default::default()
    })?;
    let Some(max) = newest.first().map(|d| d.id.get()) else {
        return Ok(0);
    };
    let merchants: HashMap<MerchantId, Option<String>> = port
        .merchants(MAX_PAGE)?
        .into_iter()
        .map(|m| (m.merchant.merchant_id, m.merchant.name))
        .collect();
    let page = MAX_PAGE as u64;
    let (mut done, mut rows) = (0u64, 0u64);
    while done < max {
        let top = (done + page).min(max);
        let mut list = port.deals(&DealQuery {
            before: Some(DealId(top + 1)),
            limit: (top - done) as usize,
            ..Default::default()
        })?;
        list.retain(|d| d.id.get() > done && d.id.get() <= top);
        list.sort_by_key(|d| d.id);
        let mut ids: Vec<MemberId> = list.iter().map(|d| d.member_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let names: HashMap<MemberId, String> = port
            .members_by_ids(&ids)?
            .into_iter()
            .map(|m| (m.member_id, m.name))
            .collect();
        for d in &list {
            let merchant = merchants.get(&d.merchant_id).and_then(|n| n.as_deref());
            sink.row(deal_row(
                d,
                names.get(&d.member_id).map(String::as_str),
                merchant,
            ))?;
        }
        rows += list.len() as u64;
        progress(top, max);
        done = top;
    }
    Ok(rows)
}

/// Members in id order, a page at a time after the last id seen.
fn members<W: Write>(
    port: &dyn Port,
    sink: &mut Sink<W>,
    progress: Progress,
) -> Result<u64, Failure> {
    let total = port.info().map(|i| i.members).unwrap_or(0);
    let (mut after, mut rows) = (None, 0u64);
    loop {
        let list = port.members(&MemberQuery {
            after,
            limit: MAX_PAGE,
            sort: MemberSort::Id,
            ..Default::default()
        })?;
        let Some(last) = list.last() else { break };
        after = Some(last.member_id);
        let ids: Vec<MemberId> = list.iter().map(|m| m.member_id).collect();
        let totals: HashMap<MemberId, crate::domain::reports::MemberTotals> = port
            .member_totals(&ids)?
            .into_iter()
            .map(|t| (t.member_id, t))
            .collect();
        for m in &list {
            sink.row(member_row(m, totals.get(&m.member_id)))?;
        }
        rows += list.len() as u64;
        progress(rows, total);
    }
    Ok(rows)
}

/// Billings in id order. The port's billing query has no cursor yet, so this is one page
/// of at most `MAX_PAGE`; more than that is an error rather than a silently short file.
fn billings<W: Write>(port: &dyn Port, sink: &mut Sink<W>) -> Result<u64, Failure> {
    let mut list: Vec<Billing> = port.billings(&BillingQuery {
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
        sink.row(billing_row(b))?;
    }
    Ok(list.len() as u64)
}
