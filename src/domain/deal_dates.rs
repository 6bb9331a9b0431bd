//! All deals by date (then id), read as the merge of two sorted streams, so that the date
//! order costs index entries only for back-dated deals (see `sort_index`):
//!
//! - the deals in order, by id (the deal table), stepping over the runs of back-dated ids
//!   (`J`, one seek a run however long): their dates never go down as ids go up, so id
//!   order is their date order, ties by id;
//! - the back-dated deals, by (date, id) (the `O` index).
//!
//! A cursor is a deal's (date, id). The `O` stream resumes at it directly; the id stream
//! resumes at the cursor's id when the cursor deal is in order, and otherwise at the first
//! in-order deal sorting after it, found by a binary search over ids (the in-order deals'
//! (date, id) grow with their id; a probe inside a run stands for the in-order deal before
//! the run).
//!
//! A deal's place in the whole order is exact and cheap while the runs and the back-dated
//! deals before it are few (`position`): the in-order deals before it are counted from ids
//! (dense, never reused) less the runs below, the back-dated ones from the `O` index.

use std::iter::Peekable;

use super::calendar::Millis;
use super::error::Error;
use super::error::Result;
use super::index_walk::walk_within;
use super::model::Deal;
use super::schema::{BACKDATED, DEAL, decode, key1, read_u64};
use super::sort_index::{backdated_key, backdated_of, run_key};
use super::store::Store;

/// A deal's place in the date order.
pub type DateKey = (Millis, u64);

type Keys<'a> = Box<dyn Iterator<Item = Result<DateKey>> + 'a>;

/// The run of back-dated ids holding `id`: (the in-order deal before it, its last id).
fn run_at(store: &Store, id: u64) -> Result<Option<(u64, u64)>> {
    match store.range(&run_key(0), &run_key(id)).next_back() {
        Some(r) => {
            let (k, v) = r?;
            let last = read_u64(&v, 0);
            Ok((last >= id).then(|| (read_u64(&k, 1), last)))
        }
        None => Ok(None),
    }
}

fn deal_at(store: &Store, id: u64) -> Result<Option<Deal>> {
    store
        .get_val(&key1(DEAL, id))?
        .map(|v| decode::<Deal>(&v))
        .transpose()
}

fn last_id(store: &Store) -> Result<u64> {
    match store.scan_prefix(&[DEAL]).next_back() {
        Some(r) => Ok(read_u64(&r?.0, 1)),
        None => Ok(0),
    }
}

/// The in-order deals by id from `next` (included when in order) up or down, stepping over
/// runs of back-dated ids.
struct InOrder<'a> {
    store: &'a Store,
    next: Option<u64>,
    ascending: bool,
}

impl InOrder<'_> {
    fn step(&mut self) -> Result<Option<DateKey>> {
        while let Some(id) = self.next.filter(|id| *id > 0) {
            if let Some((before, last)) = run_at(self.store, id)? {
                self.next = Some(if self.ascending { last + 1 } else { before });
                continue;
            }
            let Some(d) = deal_at(self.store, id)? else {
                break;
            };
            self.next = Some(if self.ascending { id + 1 } else { id - 1 });
            return Ok(Some((d.deal_date, id)));
        }
        self.next = None;
        Ok(None)
    }
}

impl Iterator for InOrder<'_> {
    type Item = Result<DateKey>;

    fn next(&mut self) -> Option<Result<DateKey>> {
        let r = self.step();
        if r.is_err() {
            self.next = None;
        }
        r.transpose()
    }
}

/// The lowest id from which every in-order deal sorts after `c` (a back-dated deal's
/// place): the in-order deals below it sort before `c`. It is an in-order deal's id, or
/// one past the last deal. A probe inside a run reads the
/// in-order deal before the run (the last in order at or below the probe).
fn boundary(store: &Store, c: DateKey) -> Result<u64> {
    let (mut lo, mut hi) = (1u64, last_id(store)? + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let at = run_at(store, mid)?.map_or(mid, |r| r.0);
        let d = deal_at(store, at)?.ok_or_else(|| {
            Error::store(format!(
                "the date order names deal {at}, which is not stored"
            ))
        })?;
        if (d.deal_date, at) < c {
            lo = mid + 1;
        } else {
            hi = at;
        }
    }
    Ok(lo)
}

/// The most runs and `O` entries `position` reads; past it a place is not known cheaply.
const POSITION_SCAN: usize = 50_000;

/// How many deals sort before `c` (a stored deal's place) in ascending date order, when the
/// runs below it and the back-dated deals before it are at most `POSITION_SCAN` each.
pub fn position(store: &Store, c: DateKey) -> Result<Option<u64>> {
    // In-order deals before `c`: those with an id below `b`.
    let b = if run_at(store, c.1)?.is_some() {
        boundary(store, c)?
    } else {
        c.1
    };
    let mut back_below_b = 0u64;
    for (n, r) in store.range(&run_key(0), &run_key(b)).enumerate() {
        if n == POSITION_SCAN {
            return Ok(None);
        }
        let (k, v) = r?;
        // `b` is an in-order id (or past the last): a run below it ends below it.
        back_below_b += read_u64(&v, 0) - read_u64(&k, 1);
    }
    let mut back_before = 0u64;
    for r in store.range(&[BACKDATED], &backdated_key(c.0, c.1)) {
        r?;
        back_before += 1;
        if back_before as usize > POSITION_SCAN {
            return Ok(None);
        }
    }
    Ok(Some((b - 1 - back_below_b) + back_before))
}

/// Deal ids in date order, from either end (`from` is `None`) or from a cursor (inclusive
/// or not), ascending or descending.
pub fn ids<'a>(
    store: &'a Store,
    from: Option<(DateKey, bool)>,
    ascending: bool,
) -> Result<Box<dyn Iterator<Item = Result<u64>> + 'a>> {
    let index_from = from.map(|((date, id), inclusive)| (backdated_key(date, id), inclusive));
    let index: Keys<'a> = Box::new(
        walk_within(store, &[BACKDATED], index_from, ascending)
            .map(|r| r.map(|(k, _)| backdated_of(&k))),
    );
    let start = match from {
        None if ascending => 1,
        None => last_id(store)?,
        Some((c, inclusive)) if run_at(store, c.1)?.is_none() => match (ascending, inclusive) {
            (_, true) => c.1,
            (true, false) => c.1 + 1,
            (false, false) => c.1 - 1,
        },
        // Up: from the boundary on; down: below it.
        Some((c, _)) => {
            let b = boundary(store, c)?;
            if ascending { b } else { b - 1 }
        }
    };
    let table: Keys<'a> = Box::new(InOrder {
        store,
        next: Some(start),
        ascending,
    });
    Ok(Box::new(Merge {
        table: table.peekable(),
        index: index.peekable(),
        ascending,
    }))
}

struct Merge<'a> {
    table: Peekable<Keys<'a>>,
    index: Peekable<Keys<'a>>,
    ascending: bool,
}

impl Iterator for Merge<'_> {
    type Item = Result<u64>;

    fn next(&mut self) -> Option<Result<u64>> {
        let from_table = match (self.table.peek(), self.index.peek()) {
            (None, None) => return None,
            (Some(Err(_)) | Some(Ok(_)), None) | (Some(Err(_)), Some(_)) => true,
            (None, Some(_)) | (Some(Ok(_)), Some(Err(_))) => false,
            (Some(Ok(a)), Some(Ok(b))) => (a < b) == self.ascending,
        };
        let next = if from_table {
            self.table.next()
        } else {
            self.index.next()
        };
        next.map(|r| r.map(|k| k.1))
    }
}
