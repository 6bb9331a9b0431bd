//! The CSV side of the deal import: opening and reading the file, finding the columns by
//! header name, turning a row into the draft `deal save|use|cancel` would build, and the
//! first pass that checks every row before anything is written.

use std::collections::HashSet;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::api::{Error, Result};
use crate::domain::{DealDraft, DealRequest, FieldError, FieldErrors, IdemKey, Points};

/// The columns the import reads (by header name; any others, such as the rest of what
/// `export deals` writes, are ignored).
pub const IMPORT_COLUMNS: [&str; 8] = [
    "key",
    "type",
    "memberId",
    "merchantId",
    "dealAmount",
    "point",
    "dealDate",
    "originalKey",
];

/// Malformed rows listed by the first pass; the rest are only counted.
pub const MAX_ERRORS: usize = 100;

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
        for (slot, name) in idx.iter_mut().zip(IMPORT_COLUMNS) {
            *slot = header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| {
                    Error::invalid(
                        "header",
                        &format!(
                            "is missing the column {name} (needs {})",
                            IMPORT_COLUMNS.join(",")
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
        // An export writes 0 for a use without an amount.
        d.amount = if r.kind.trim() == "use" && r.amount.trim() == "0" {
            String::new()
        } else {
            r.amount.to_string()
        };
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
    /// The first `MAX_ERRORS` bad rows, and how many there are in all.
    pub errors: Vec<(u64, FieldErrors)>,
    pub error_count: u64,
}

impl Scan {
    fn fail(&mut self, row: u64, errs: FieldErrors) {
        self.error_count += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push((row, errs));
        }
    }
}

fn key_hash(key: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault};
    BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(key)
}

/// The member id a save or use row names, if it parses.
fn member_of(r: &Row) -> Option<u64> {
    if is_cancel_kind(r.kind) {
        return None;
    }
    crate::domain::MemberId::parse("memberId", r.member)
        .ok()
        .map(|m| m.get())
}

/// The first pass, before anything is written: every row parses, every cancel names the
/// key of an earlier row, and no member id lies beyond the store's highest (`highest`)
/// plus the rows in the file (the most placeholders an import may join). Every bad row
/// is found, not just the first. Keys are remembered as 64-bit hashes (8 bytes a row).
pub fn scan(path: &Path, columns: &Columns, highest: u64) -> Result<Scan> {
    let mut reader = open(path)?;
    let mut record = csv::StringRecord::new();
    let mut s = Scan {
        rows: 0,
        referenced: HashSet::new(),
        errors: Vec::new(),
        error_count: 0,
    };
    let mut seen: HashSet<u64> = HashSet::new();
    let mut top_member = 0u64;
    while read(&mut reader, &mut record)? {
        s.rows += 1;
        let r = columns.row(&record);
        // Any valid id stands in for the original until the second pass resolves it.
        let mut errs = parse_row(&r, "1").err().unwrap_or_default();
        if is_cancel_kind(r.kind) {
            let okey = r.original_key.trim();
            if !okey.is_empty() && !seen.contains(&key_hash(okey)) {
                errs.push(FieldError::new(
                    "originalKey",
                    &format!("{okey} names no earlier row of the file"),
                ));
            }
            s.referenced.insert(okey.to_string());
        }
        seen.insert(key_hash(r.key.trim()));
        top_member = top_member.max(member_of(&r).unwrap_or(0));
        if !errs.is_empty() {
            s.fail(s.rows, errs);
        }
    }
    let bound = highest.saturating_add(s.rows);
    if top_member > bound {
        // Rare: a second read names every such row.
        let mut reader = open(path)?;
        let mut row = 0u64;
        while read(&mut reader, &mut record)? {
            row += 1;
            let r = columns.row(&record);
            if member_of(&r).is_some_and(|m| m > bound) {
                s.fail(
                    row,
                    FieldError::new(
                        "memberId",
                        &format!(
                            "must be at most {bound}: the store's highest member ({highest}) plus the rows in the file ({})",
                            s.rows
                        ),
                    )
                    .into(),
                );
            }
        }
        s.errors.sort_by_key(|e| e.0);
    }
    Ok(s)
}
