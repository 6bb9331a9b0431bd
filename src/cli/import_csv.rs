//! The CSV side of `import deals`: opening and reading the file, finding the columns by
//! header name, turning a row into the draft `deal save|use|cancel` would build, and the
//! first pass that checks every row before anything is written.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::api::{Error, Result};
use crate::domain::{DealDraft, DealRequest, FieldError, FieldErrors, IdemKey, Points};

use super::export::DEAL_COLUMNS;

pub fn open(path: &Path) -> Result<csv::Reader<BufReader<File>>> {
    // A file that cannot be opened is bad input (exit 2), not a store failure.
    let f = File::open(path).map_err(|e| {
        Error::invalid(
            "file",
            &format!("cannot be opened: {}: {e}", path.display()),
        )
    })?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(BufReader::with_capacity(1 << 16, f)))
}

pub fn read(r: &mut csv::Reader<BufReader<File>>, rec: &mut csv::StringRecord) -> Result<bool> {
    r.read_record(rec).map_err(|e| match e.kind() {
        csv::ErrorKind::Io(_) => Error::store(format!("cannot read the CSV: {e}")),
        _ => Error::invalid("csv", &format!("is malformed: {e}")),
    })
}

/// Where each column sits in this file's header.
pub struct Columns([usize; 8]);

/// One row's cells, by column name.
pub struct Row<'a> {
    pub key: &'a str,
    pub kind: &'a str,
    pub member: &'a str,
    pub merchant: &'a str,
    pub amount: &'a str,
    pub point: &'a str,
    pub date: &'a str,
    pub original_key: &'a str,
}

impl Columns {
    pub fn read(path: &Path) -> Result<Columns> {
        let mut r = open(path)?;
        let header = r
            .headers()
            .map_err(|e| Error::invalid("header", &format!("cannot be read: {e}")))?
            .clone();
        let mut idx = [0usize; 8];
        for (slot, name) in idx.iter_mut().zip(DEAL_COLUMNS) {
            *slot = header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| {
                    Error::invalid(
                        "header",
                        &format!(
                            "is missing the column {name} (needs {})",
                            DEAL_COLUMNS.join(",")
                        ),
                    )
                })?;
        }
        Ok(Columns(idx))
    }
    pub fn row<'a>(&self, rec: &'a csv::StringRecord) -> Row<'a> {
        let c = |i: usize| rec.get(self.0[i]).unwrap_or("");
        Row {
            key: c(0),
            kind: c(1),
            member: c(2),
            merchant: c(3),
            amount: c(4),
            point: c(5),
            date: c(6),
            original_key: c(7),
        }
    }
}

/// The points the file says the deal had, to compare with what the store records.
pub fn stated_point(r: &Row) -> Option<Points> {
    Points::parse_positive("point", r.point).ok()
}

pub fn is_cancel_kind(kind: &str) -> bool {
    matches!(kind.trim(), "saveCancel" | "useCancel" | "cancel")
}

/// The draft of a row: the columns a deal of its type takes, as `deal save|use|cancel`
/// would pass them (a save's point is recomputed, a cancel's come from its original).
fn draft(r: &Row, original: &str) -> DealDraft {
    let kind = r.kind.trim().to_string();
    let mut d = DealDraft {
        kind,
        date: r.date.to_string(),
        ..Default::default()
    };
    if is_cancel_kind(r.kind) {
        d.original = original.to_string();
    } else {
        d.member = r.member.to_string();
        d.merchant = r.merchant.to_string();
        d.amount = r.amount.to_string();
        if r.kind.trim() != "save" {
            d.points = r.point.to_string();
        }
    }
    d
}

/// Parses a row as far as it can be without the store: its key and its deal (a cancel's
/// original checked only for presence; its id comes from an earlier row's result).
pub fn parse_row(r: &Row, original: &str) -> Result<(IdemKey, DealRequest), FieldErrors> {
    let mut errs = FieldErrors::default();
    let key = errs.take(IdemKey::parse("key", r.key));
    if is_cancel_kind(r.kind) && r.original_key.trim().is_empty() {
        errs.push(FieldError::new("originalKey", "is required for a cancel"));
    }
    let req = match DealRequest::parse(&draft(r, original)) {
        Ok(req) => Some(req),
        Err(e) => {
            errs.0.extend(e.0);
            None
        }
    };
    match (key, req) {
        (Some(k), Some(req)) if errs.is_empty() => Ok((k, req)),
        _ => Err(errs),
    }
}

pub struct Scan {
    pub rows: u64,
    /// Keys some cancel names as its original: the only ones whose ids must be kept.
    pub referenced: HashSet<String>,
}

/// The first pass: every row parses, and which keys cancels refer to.
pub fn scan(
    path: &Path,
    columns: &Columns,
) -> Result<std::result::Result<Scan, (u64, FieldErrors)>> {
    let mut reader = open(path)?;
    let mut record = csv::StringRecord::new();
    let mut s = Scan {
        rows: 0,
        referenced: HashSet::new(),
    };
    while read(&mut reader, &mut record)? {
        s.rows += 1;
        let r = columns.row(&record);
        // Any valid id stands in for the original until the second pass resolves it.
        if let Err(errs) = parse_row(&r, "1") {
            return Ok(Err((s.rows, errs)));
        }
        if is_cancel_kind(r.kind) {
            s.referenced.insert(r.original_key.trim().to_string());
        }
    }
    Ok(Ok(s))
}
