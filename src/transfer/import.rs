//! The deal import: replays a deal CSV (the shape `export deals` writes) into the store,
//! exactly once per row key.
//!
//! Every row goes through the same parser as `deal save|use|cancel` (`DealRequest::parse`),
//! keyed by its `key` column as the idempotency key, in batches through `Port::execute`.
//! - The whole file is checked first (`deal_csv::scan`): malformed rows, cancels naming a
//!   key no earlier row has, member ids beyond the store's highest plus the file's rows; any
//!   of them and nothing is written.
//! - A cancel names its original by `originalKey`; the map key -> deal id is rebuilt from
//!   this run's results (a replayed row returns its stored deal), so re-running an import,
//!   also after a crash part-way, applies each row once.
//! - Deals need members: a row naming a member id beyond the highest existing one first
//!   joins placeholder members `member N` (key `import-member-N`) up to it, at most as many
//!   as the file has rows. Ids are sequential and never reused, so an export imported into
//!   an empty store gets its ids.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::api::{Error, Result};
use crate::domain::{
    Command, DealId, DealQuery, DealRequest, DealStatus, FieldErrors, IdemKey, Keyed, MemberDraft,
    MemberId, MemberQuery, MemberSort, NewMember, Outcome, Points,
};

use crate::api::Port;

use super::deal_csv::{Columns, Row, is_cancel_kind, open, parse_row, read, scan, stated_point};

/// Writes per `execute` call: one group commit (one fsync) each.
pub const BATCH: usize = 2000;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    pub rows: u64,
    /// New deals recorded with status success.
    pub applied: u64,
    /// Rows whose key was already applied: the stored deal came back, nothing was written.
    pub replayed: u64,
    /// New deals recorded with status fail (a use short of points, as in the source).
    pub failed: u64,
    /// Rows a business rule refused: nothing written for them.
    pub refused: u64,
    pub members_joined: u64,
    /// New deals whose points differ from the file's `point` column: the target store
    /// earns at other rates (register the merchants with their earn rates first).
    pub points_differ: u64,
}

/// How an import ended.
#[derive(Debug)]
pub enum Ending {
    /// Every row was read; `summary.refused` rows were refused by a business rule.
    Done,
    /// The first pass found malformed rows: nothing was written. At most `MAX_ERRORS` are
    /// listed, `count` is all of them.
    Invalid {
        errors: Vec<(u64, FieldErrors)>,
        count: u64,
    },
    /// Stopped at a row that cannot be applied (the rows before it are durable, re-running
    /// is safe).
    Stopped { row: u64, why: String },
}

/// Replays a deal CSV into the store behind `port`. `progress` gets (rows read, rows in
/// the file); `refused` gets each refused row and why.
pub fn import_deals(
    port: &dyn Port,
    path: &Path,
    progress: &mut dyn FnMut(u64, u64),
    refused: &mut dyn FnMut(u64, &str),
) -> Result<(Ending, ImportSummary)> {
    let columns = Columns::read(path)?;
    let highest = highest_member(port)?;
    let scan = scan(path, &columns, highest)?;
    if !scan.errors.is_empty() {
        return Ok((
            Ending::Invalid {
                errors: scan.errors,
                count: scan.error_count,
            },
            ImportSummary::default(),
        ));
    }
    let mut run = Importer::new(port, scan.referenced, highest, refused);
    let mut reader = open(path)?;
    let mut record = csv::StringRecord::new();
    let mut row = 0u64;
    while read(&mut reader, &mut record)? {
        row += 1;
        let r = columns.row(&record);
        if let Err(why) = run.push(row, &r)? {
            run.flush()?;
            return Ok((Ending::Stopped { row, why }, run.summary));
        }
        if run.batch.len() >= BATCH {
            run.flush()?;
        }
        progress(row, scan.rows);
    }
    run.flush()?;
    Ok((Ending::Done, run.summary))
}

fn highest_member(port: &dyn Port) -> Result<u64> {
    let top = port.members(&MemberQuery {
        limit: 1,
        sort: MemberSort::IdDesc,
        ..Default::default()
    })?;
    Ok(top.first().map_or(0, |m| m.member_id.get()))
}

/// What a queued write stands for, to account for its result.
enum Pending {
    Placeholder(MemberId),
    Deal {
        row: u64,
        key: Option<String>,
        point: Option<Points>,
    },
}

struct Importer<'a> {
    port: &'a dyn Port,
    on_refused: &'a mut dyn FnMut(u64, &str),
    referenced: HashSet<String>,
    /// Original key -> deal id, for the keys some cancel names.
    ids: HashMap<String, DealId>,
    /// Referenced keys whose rows were refused: their cancels are refused too.
    refused_keys: HashSet<String>,
    /// Referenced keys queued in the current batch (a cancel of one flushes first).
    queued_keys: HashSet<String>,
    highest_member: u64,
    batch: Vec<Keyed>,
    pending: Vec<Pending>,
    summary: ImportSummary,
}

impl<'a> Importer<'a> {
    fn new(
        port: &'a dyn Port,
        referenced: HashSet<String>,
        highest_member: u64,
        on_refused: &'a mut dyn FnMut(u64, &str),
    ) -> Importer<'a> {
        Importer {
            port,
            on_refused,
            referenced,
            ids: HashMap::new(),
            refused_keys: HashSet::new(),
            queued_keys: HashSet::new(),
            highest_member,
            batch: Vec::with_capacity(BATCH + 64),
            pending: Vec::with_capacity(BATCH + 64),
            summary: ImportSummary::default(),
        }
    }

    /// Queues one row (after the placeholder members it needs). `Ok(Err(why))` stops the
    /// import: the row names an original that no earlier row has.
    fn push(&mut self, row: u64, r: &Row) -> Result<Result<(), String>> {
        let mut original = String::new();
        if is_cancel_kind(r.kind) {
            let okey = r.original_key.trim();
            if self.queued_keys.contains(okey) {
                self.flush()?;
            }
            if self.refused_keys.contains(okey) {
                self.summary.rows += 1;
                self.refuse(row, &format!("refused: its original {okey} was refused"));
                return Ok(Ok(()));
            }
            match self.ids.get(okey) {
                Some(id) => original = id.to_string(),
                None => return Ok(Err(format!("originalKey {okey} names no earlier row"))),
            }
        }
        let (key, req) = match parse_row(r, &original) {
            Ok(parsed) => parsed,
            Err(errs) => return Ok(Err(errs.to_string())),
        };
        if let DealRequest::Save { member, .. } | DealRequest::Use { member, .. } = &req {
            self.join_placeholders_up_to(member.get());
        }
        let key_text = key.0.clone();
        let keep = self.referenced.contains(&key_text).then_some(key_text);
        if let Some(k) = &keep {
            self.queued_keys.insert(k.clone());
        }
        self.batch.push(Keyed::new(Command::Deal(req), Some(key)));
        self.pending.push(Pending::Deal {
            row,
            key: keep,
            point: stated_point(r),
        });
        self.summary.rows += 1;
        Ok(Ok(()))
    }

    fn join_placeholders_up_to(&mut self, id: u64) {
        while self.highest_member < id {
            self.highest_member += 1;
            let n = self.highest_member;
            let m = NewMember::parse(&MemberDraft {
                name: format!("member {n}"),
                ..Default::default()
            })
            .expect("a placeholder name is valid");
            let key = IdemKey(format!("import-member-{n}"));
            self.batch.push(Keyed::new(Command::Join(m), Some(key)));
            self.pending.push(Pending::Placeholder(MemberId(n)));
        }
    }

    fn refuse(&mut self, row: u64, why: &str) {
        self.summary.refused += 1;
        (self.on_refused)(row, why);
    }

    /// Sends the queued writes as one batch and accounts for every result.
    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        // Ids only grow: a deal that comes back with an id at or below the newest before
        // this batch already existed, so its row was a replay.
        let newest_before = self
            .port
            .deals(&DealQuery {
                limit: 1,
                ..Default::default()
            })?
            .first()
            .map_or(0, |d| d.id.get());
        let batch = std::mem::take(&mut self.batch);
        let results = self.port.execute(batch);
        let pending = std::mem::take(&mut self.pending);
        self.queued_keys.clear();
        if results.len() != pending.len() {
            return Err(Error::store(
                "the store answered a different number of writes",
            ));
        }
        for (what, result) in pending.into_iter().zip(results) {
            match (what, result) {
                (Pending::Placeholder(n), Ok(Outcome::Member(m))) if m.member_id == n => {
                    self.summary.members_joined += 1;
                }
                (Pending::Placeholder(n), Ok(other)) => {
                    let got = match other {
                        Outcome::Member(m) => format!("member {}", m.member_id),
                        _ => "another kind of result".into(),
                    };
                    return Err(Error::Domain(crate::domain::Error::rule(
                        "memberId",
                        &format!(
                            "placeholder member {n} could not be created in order (got {got}); \
                             import into an empty store or the one this file came from"
                        ),
                    )));
                }
                (Pending::Placeholder(_), Err(e)) => return Err(e),
                (Pending::Deal { key, point, .. }, Ok(Outcome::Deal(d))) => {
                    if d.id.get() <= newest_before {
                        self.summary.replayed += 1;
                    } else {
                        if d.status == DealStatus::Fail {
                            self.summary.failed += 1;
                        } else {
                            self.summary.applied += 1;
                        }
                        if point.is_some_and(|p| p != d.point) {
                            self.summary.points_differ += 1;
                        }
                    }
                    if let Some(k) = key {
                        self.ids.insert(k, d.id);
                    }
                }
                (Pending::Deal { row, .. }, Ok(other)) => {
                    return Err(Error::store(format!(
                        "row {row}: unexpected result {other:?}"
                    )));
                }
                // The store or the network failed: stop; what is done is durable and a
                // re-run picks up from there.
                (Pending::Deal { .. }, Err(e)) if e.is_failure() => return Err(e),
                (Pending::Deal { row, key, .. }, Err(e)) => {
                    self.refuse(row, &e.to_string());
                    if let Some(k) = key {
                        self.refused_keys.insert(k);
                    }
                }
            }
        }
        Ok(())
    }
}
