//! All deals by date (then id), read as the merge of two sorted streams, so that the date
//! order costs an index entry only for back-dated deals (see `sort_index`):
//!
//! - the deals in order, by id (the deal table), skipping the back-dated ones: their dates
//!   never go down as ids go up, so id order is their date order, ties by id;
//! - the back-dated deals, by (date, id) (the `O` index).
//!
//! A cursor is a deal's (date, id). The `O` stream resumes at it directly; the id stream
//! resumes at the cursor's id when the cursor deal is in order, and otherwise at the first
//! in-order deal sorting after it, found by a binary search over ids (the in-order deals'
//! (date, id) grow with their id, so "sorts after the cursor" holds from one id on).
//!
//! A deal's place in the whole order is exact and cheap while the back-dated deals are few
//! (`position`): the in-order deals before it are counted from ids (dense, never reused),
//! the back-dated ones by reading the `O` index once.

use std::iter::Peekable;

use super::calendar::Millis;
use super::error::Result;
use super::model::Deal;
use super::schema::{BACKDATED, DEAL, decode, key1, read_u64};
use super::sort_index::{backdated_key, backdated_of};
use super::store::Store;
use super::window::walk_within;

/// A deal's place in the date order.
pub type DateKey = (Millis, u64);

type Keys<'a> = Box<dyn Iterator<Item = Result<DateKey>> + 'a>;

fn is_backdated(store: &Store, (date, id): DateKey) -> Result<bool> {
    Ok(store.get_val(&backdated_key(date, id))?.is_some())
}

/// The in-order deals by id from `from` (a deal table key, inclusive or not), up or down.
fn in_order<'a>(store: &'a Store, from: Option<(Vec<u8>, bool)>, ascending: bool) -> Keys<'a> {
    Box::new(
        walk_within(store, &[DEAL], from, ascending).filter_map(move |r| {
            let at = r.and_then(|(_, v)| {
                let d: Deal = decode(&v)?;
                Ok((d.deal_date, d.id.0))
            });
            match at.and_then(|k| Ok((k, is_backdated(store, k)?))) {
                Ok((_, true)) => None,
                Ok((k, false)) => Some(Ok(k)),
                Err(e) => Some(Err(e)),
            }
        }),
    )
}

/// The lowest id from which every in-order deal sorts after `c` (a back-dated deal's
/// place): the in-order deals below it sort before `c`.
fn boundary(store: &Store, c: DateKey) -> Result<u64> {
    let last = match store.scan_prefix(&[DEAL]).next_back() {
        Some(r) => read_u64(&r?.0, 1),
        None => return Ok(1),
    };
    let (mut lo, mut hi) = (1u64, last + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // The first in-order deal at or after `mid`, below `hi` (back-dated ones between
        // are stepped over: a run of them costs a read each).
        let mut next = None;
        for r in store.range(&key1(DEAL, mid), &key1(DEAL, hi)) {
            let d: Deal = decode(&r?.1)?;
            let k = (d.deal_date, d.id.0);
            if !is_backdated(store, k)? {
                next = Some(k);
                break;
            }
        }
        match next {
            Some(k) if k < c => lo = k.1 + 1,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// The most `O` entries `position` reads; past it a place is not known cheaply.
const POSITION_SCAN: usize = 50_000;

/// How many deals sort before `c` (a stored deal's place) in ascending date order, when the
/// back-dated deals are at most `POSITION_SCAN`.
pub fn position(store: &Store, c: DateKey) -> Result<Option<u64>> {
    // In-order deals before `c`: those with an id below `b`.
    let b = if is_backdated(store, c)? {
        boundary(store, c)?
    } else {
        c.1
    };
    let (mut back_before, mut back_below_b) = (0u64, 0u64);
    for (n, r) in store.scan_prefix(&[BACKDATED]).enumerate() {
        if n == POSITION_SCAN {
            return Ok(None);
        }
        let k = backdated_of(&r?.0);
        back_before += u64::from(k < c);
        back_below_b += u64::from(k.1 < b);
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
    let table_from = match from {
        None => None,
        Some((c, inclusive)) if !is_backdated(store, c)? => Some((key1(DEAL, c.1), inclusive)),
        // Up: from the boundary on; down: below it.
        Some((c, _)) => Some((key1(DEAL, boundary(store, c)?), ascending)),
    };
    Ok(Box::new(Merge {
        table: in_order(store, table_from, ascending).peekable(),
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
