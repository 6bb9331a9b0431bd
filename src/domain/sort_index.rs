//! The indexes behind the sorts the records alone do not give: members by last activity
//! (`L`), deals by points (`P`) and deals by date (`O`, back-dated deals only). All are
//! kept by the write path, in the same command (so the same atomic batch and log record) as
//! the account or deal they index; a store written before them gets them built once when
//! it is opened (`ensure`); `check` audits them (`verify`). `L` is kept in memory, not in
//! sled, and built from the accounts on open (`store_memory.rs`): its audit finds what the
//! session's writes got wrong, never a stale entry on disk.
//!
//! | key                                  | value | moved when                            |
//! |--------------------------------------|-------|---------------------------------------|
//! | `L` last activity (0: none), member  | ()    | the account's `last_activity` changes |
//! | `P` points, deal                     | ()    | never: a deal's points never change   |
//! | `O` deal date, deal (back-dated)     | ()    | never: a deal's date never changes    |
//! | `J` in-order deal before a run       | u64   | a back-dated deal extends the run     |
//! | `Cdatemark`                          | date, deal | a deal dated at or after the mark |
//!
//! Last activity is the account's (`MemberView::last_activity`, the console's column): the
//! latest deal date or the withdrawal. The report counters' `MemberStats::last_deal` leaves
//! withdrawals out, so it is not the column shown and cannot stand in for this index; the
//! index stores no second copy of the time either, only the key pointing at the account.
//!
//! Deals by date cost an entry only for the deals that need one. Ids are issued in write
//! order and a deal's date defaults to the write time, so the deals dated at or after every
//! earlier deal (the mark, `Cdatemark`) are in date order by id already ("in order"); only
//! a deal given a date below the mark (back-dated: an import, a late entry) gets an `O`
//! entry, and extends the run of back-dated ids after the last in-order deal (`J`: so the
//! in-order deals are read by id stepping over whole runs, however long an import was).
//! The date order is the merge of the two (`deal_dates`).

use super::calendar::Millis;
use super::check::KeyDigest;
use super::error::Result;
use super::model::{Account, Deal};
use super::money::Points;
use super::schema::{
    ACCOUNT, ACTIVITY, BACKDATED, DATE_MARK, DEAL, DEAL_POINTS, KeyBuf, RUNS, decode, key1,
    read_time, read_u64,
};
use super::store::{Store, WriteSet};
use super::tx::{Reader, Tx};

/// Marks a store whose indexes cover every member and deal: 1 had `L` and `P`; 2 also kept
/// every deal by date under `T` (dropped for its cost on ingest: its entries are removed
/// when such a store is opened); 3 had `L` and `P`; 4 adds the back-dated deals (`O`) and
/// the date mark; 5 the runs (`J`) and the mark's deal.
const VERSION_KEY: &[u8] = b"Csortidx";
const VERSION: u64 = 5;
const RETIRED_DEAL_DATE: u8 = b'T';

/// An instant, order-preserving, with "never" (0) below every instant.
fn time_code(at: Option<Millis>) -> u64 {
    at.map_or(0, |t| ((t as u64) ^ (1 << 63)).max(1))
}

pub fn activity_key(at: Option<Millis>, member: u64) -> Vec<u8> {
    KeyBuf::new(ACTIVITY).u64(time_code(at)).u64(member).done()
}

/// The member an `L` key names.
pub fn activity_member(key: &[u8]) -> u64 {
    read_u64(key, 9)
}

/// Points signed, order-preserving (a deal's points are never negative, but the key does
/// not rely on it).
pub fn deal_points_key(points: Points, deal: u64) -> Vec<u8> {
    KeyBuf::new(DEAL_POINTS)
        .u64((points.0 as u64) ^ (1 << 63))
        .u64(deal)
        .done()
}

/// The deal a `P` key names.
pub fn deal_points_deal(key: &[u8]) -> u64 {
    read_u64(key, 9)
}

/// A back-dated deal's place in the date order.
pub fn backdated_key(date: Millis, deal: u64) -> Vec<u8> {
    KeyBuf::new(BACKDATED).time(date).u64(deal).done()
}

/// The date and deal an `O` key names.
pub fn backdated_of(key: &[u8]) -> (Millis, u64) {
    (read_time(key, 1), read_u64(key, 9))
}

/// The latest deal date and the deal that set it (the last in-order deal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub date: Millis,
    pub deal: u64,
}

fn decode_mark(b: &[u8]) -> Option<Mark> {
    (b.len() == 16).then(|| Mark {
        date: read_u64(b, 0) as Millis,
        deal: read_u64(b, 8),
    })
}

fn encode_mark(m: Mark) -> Vec<u8> {
    let mut v = m.date.to_be_bytes().to_vec();
    v.extend_from_slice(&m.deal.to_be_bytes());
    v
}

/// The run of back-dated deals after in-order deal `after`.
pub fn run_key(after: u64) -> Vec<u8> {
    key1(RUNS, after)
}

/// True when a deal dated `date` is in order after deals whose latest date is `mark`.
fn in_order(date: Millis, mark: Option<Mark>) -> bool {
    mark.is_none_or(|m| date >= m.date)
}

/// Where a deal goes in the date order, given the mark before it (the write path and the
/// build on open share it): dated at or after the mark, it becomes the mark (`Ok`);
/// back-dated, it needs its `O` entry and extends the run after the mark's deal (`Err`:
/// the entry's key, the run's key and the run's new last id).
fn date_place(mark: Option<Mark>, d: &Deal) -> std::result::Result<Mark, [Vec<u8>; 3]> {
    match mark {
        Some(m) if !in_order(d.deal_date, mark) => Err([
            backdated_key(d.deal_date, d.id.0),
            run_key(m.deal),
            d.id.0.to_be_bytes().to_vec(),
        ]),
        _ => Ok(Mark {
            date: d.deal_date,
            deal: d.id.0,
        }),
    }
}

/// A new member: no activity yet.
pub fn on_join(tx: &mut Tx, member: u64) {
    tx.put_raw(activity_key(None, member), Vec::new());
}

/// An account rewritten: its `L` entry follows its last activity.
pub fn on_account(tx: &mut Tx, member: u64, old: &Account, new: &Account) {
    if old.last_activity != new.last_activity {
        tx.remove(activity_key(old.last_activity, member));
        tx.put_raw(activity_key(new.last_activity, member), Vec::new());
    }
}

/// A deal recorded: its points entry; a date entry and its run's end only when it is
/// back-dated, else the mark moves to it.
pub fn on_deal(tx: &mut Tx, d: &Deal) -> Result<()> {
    tx.put_raw(deal_points_key(d.point, d.id.0), Vec::new());
    let mark = tx.get_raw(DATE_MARK)?.and_then(|v| decode_mark(&v));
    match date_place(mark, d) {
        Ok(m) => tx.put_raw(DATE_MARK.to_vec(), encode_mark(m)),
        Err([entry, run, last]) => {
            tx.put_raw(entry, Vec::new());
            tx.put_raw(run, last);
        }
    }
    Ok(())
}

/// Builds the indexes for a store written before them, or before this version of them
/// (any entries there are cleared first; a store of version 3 or 4 has `L` and `P` right
/// and gets only the date entries, runs and mark); a store that has them keeps the mark.
pub fn ensure(store: &Store) -> Result<()> {
    let version = store.get_val(VERSION_KEY)?.map(|v| read_u64(&v, 0));
    if version == Some(VERSION) {
        return Ok(());
    }
    let whole = !matches!(version, Some(3) | Some(4));
    let chunk = super::core::CHUNK_WRITES;
    let mut set = WriteSet::default();
    let flush = |set: &mut WriteSet, force: bool| -> Result<()> {
        if force || set.len() >= chunk {
            store.apply(std::mem::take(set))?;
        }
        Ok(())
    };
    let cleared: &[u8] = if whole {
        &[ACTIVITY, DEAL_POINTS, RETIRED_DEAL_DATE, BACKDATED, RUNS]
    } else {
        &[BACKDATED, RUNS]
    };
    for tag in cleared {
        for r in store.scan_prefix(&[*tag]) {
            set.remove(&r?.0);
            flush(&mut set, false)?;
        }
    }
    if whole {
        for r in store.scan_prefix(&[ACCOUNT]) {
            let (k, v) = r?;
            let a = super::ledger::account_in(&v)?;
            set.put(&activity_key(a.last_activity, read_u64(&k, 1)), &[]);
            flush(&mut set, false)?;
        }
    }
    // One pass by id: the mark is the latest date so far, as the write path keeps it.
    let mut mark: Option<Mark> = None;
    for r in store.scan_prefix(&[DEAL]) {
        let d: Deal = decode(&r?.1)?;
        if whole {
            set.put(&deal_points_key(d.point, d.id.0), &[]);
        }
        match date_place(mark, &d) {
            Ok(m) => mark = Some(m),
            Err([entry, run, last]) => {
                set.put(&entry, &[]);
                set.put(&run, &last);
            }
        }
        flush(&mut set, false)?;
    }
    match mark {
        Some(m) => set.put(DATE_MARK, &encode_mark(m)),
        None => set.remove(DATE_MARK),
    }
    flush(&mut set, true)?;
    let mut set = WriteSet::default();
    set.put(VERSION_KEY, &VERSION.to_be_bytes());
    store.commit(set)
}

/// Audits the indexes against the records: every entry names a record that sorts there,
/// and there are as many entries as records (so, with no entry stale, each record has
/// exactly one). Streams both tables once, with a point read per entry. The date entries
/// and the mark: see `verify_dates`.
/// `points`: the digest of the points keys the deals give (`check` computes it as it reads
/// them): the points index is read entry by entry (a point read of its deal each) only
/// when its own digest differs, or its count differs from `deals`.
pub fn verify(
    store: &Store,
    members: u64,
    deals: u64,
    points: &KeyDigest,
    fail: &mut dyn FnMut(String),
) -> Result<()> {
    // The two member indexes: one entry per account, where the account sorts.
    type KeyOf = fn(&Account, u64) -> Vec<u8>;
    let member_indexes: [(u8, &str, KeyOf); 2] = [
        (ACTIVITY, "last-activity", |a, m| {
            activity_key(a.last_activity, m)
        }),
        (super::schema::BALANCE, "balance", |a, m| {
            super::schema::balance_key(a.balance, m)
        }),
    ];
    for (tag, name, key_of) in member_indexes {
        let mut entries = 0u64;
        for r in store.scan_prefix(&[tag]) {
            let k = r?.0;
            entries += 1;
            let m = read_u64(&k, 9); // both keys end in the member
            let a: Option<Account> = store
                .get_val(&super::schema::key1(ACCOUNT, m))?
                .map(|v| super::ledger::account_in(&v))
                .transpose()?;
            match a {
                Some(a) if key_of(&a, m).as_slice() == &k[..] => {}
                Some(_) => fail(format!(
                    "{name} index entry of member {m} differs from the account"
                )),
                None => fail(format!(
                    "{name} index names member {m}, which has no account"
                )),
            }
        }
        if entries != members {
            fail(format!(
                "{name} index holds {entries} entries for {members} members"
            ));
        }
    }
    let held = KeyDigest::of_table(store, DEAL_POINTS)?;
    if held == *points && held.count() == deals {
        return verify_dates(store, fail);
    }
    let mut entries = 0u64;
    for r in store.scan_prefix(&[DEAL_POINTS]) {
        let k = r?.0;
        entries += 1;
        let id = deal_points_deal(&k);
        let d: Option<Deal> = store
            .get_val(&super::schema::key1(DEAL, id))?
            .map(|v| decode(&v))
            .transpose()?;
        match d {
            Some(d) if deal_points_key(d.point, id).as_slice() == &k[..] => {}
            Some(_) => fail(format!(
                "points index entry of deal {id} differs from the deal's points"
            )),
            None => fail(format!("points index names deal {id}, which is not stored")),
        }
    }
    if entries != deals {
        fail(format!(
            "points index holds {entries} entries for {deals} deals"
        ));
    }
    verify_dates(store, fail)
}

/// Audits the date entries: one pass over the deals by id, keeping the latest date so far,
/// tells which deals are back-dated; each must have its entry (with its date) and no other
/// deal one; each run of back-dated ids must be recorded after the in-order deal before it,
/// to its last id; the mark must be the latest date and the deal that set it. The entries
/// are held in memory (only the back-dated deals have one).
fn verify_dates(store: &Store, fail: &mut dyn FnMut(String)) -> Result<()> {
    let mut entries = std::collections::HashMap::new();
    for r in store.scan_prefix(&[BACKDATED]) {
        let k = r?.0;
        let (date, id) = backdated_of(&k);
        if entries.insert(id, date).is_some() {
            fail(format!("date index holds deal {id} twice"));
        }
    }
    let mut runs = std::collections::BTreeMap::new();
    for r in store.scan_prefix(&[RUNS]) {
        let (k, v) = r?;
        runs.insert(read_u64(&k, 1), read_u64(&v, 0));
    }
    let mut expected_runs = std::collections::BTreeMap::new();
    let mut mark: Option<Mark> = None;
    for r in store.scan_prefix(&[DEAL]) {
        let d: Deal = decode(&r?.1)?;
        let id = d.id.0;
        let back = !in_order(d.deal_date, mark);
        match (back, entries.remove(&id)) {
            (true, Some(date)) if date == d.deal_date => {}
            (true, Some(_)) => fail(format!(
                "date index entry of deal {id} differs from the deal's date"
            )),
            (true, None) => fail(format!(
                "date index lacks deal {id}, dated before an earlier deal"
            )),
            (false, Some(_)) => fail(format!(
                "date index holds deal {id}, which the id order already places"
            )),
            (false, None) => {}
        }
        match mark {
            Some(m) if back => {
                expected_runs.insert(m.deal, id);
            }
            _ => {
                mark = Some(Mark {
                    date: d.deal_date,
                    deal: id,
                })
            }
        }
    }
    let mut stray: Vec<u64> = entries.into_keys().collect();
    stray.sort_unstable();
    for id in stray {
        fail(format!("date index names deal {id}, which is not stored"));
    }
    for (after, last) in &expected_runs {
        match runs.remove(after) {
            Some(l) if l == *last => {}
            Some(l) => fail(format!(
                "run of back-dated deals after deal {after} ends at {l}, but the deals end it at {last}"
            )),
            None => fail(format!(
                "run of back-dated deals after deal {after} (to {last}) is not recorded"
            )),
        }
    }
    for (after, last) in runs {
        fail(format!(
            "run of back-dated deals after deal {after} (to {last}) is recorded, but no deal after {after} is back-dated"
        ));
    }
    let stored = store.get_val(DATE_MARK)?.map(|v| decode_mark(&v));
    if stored != Some(mark) && !(stored.is_none() && mark.is_none()) {
        let show = |m: Option<Mark>| match m {
            Some(m) => format!("{} (deal {})", m.date, m.deal),
            None => "none".into(),
        };
        fail(format!(
            "deal date mark is {} but the latest deal date is {}",
            stored.map_or("none".into(), |m| m
                .map_or("unreadable".into(), |m| show(Some(m)))),
            show(mark)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_value_then_id_with_never_first() {
        let never = activity_key(None, 9);
        let early = activity_key(Some(-5), 1);
        let late = activity_key(Some(1_700_000_000_000), 1);
        assert!(never < early && early < late);
        assert!(activity_key(Some(10), 1) < activity_key(Some(10), 2));
        assert_eq!(activity_member(&late), 1);
        let low = deal_points_key(Points(-1), 5);
        let zero = deal_points_key(Points(0), 3);
        let high = deal_points_key(Points(12_345), 1);
        assert!(low < zero && zero < high);
        assert_eq!(deal_points_deal(&high), 1);
        assert!(backdated_key(-1, 9) < backdated_key(0, 1));
        assert!(backdated_key(5, 1) < backdated_key(5, 2));
        assert_eq!(backdated_of(&backdated_key(-7, 3)), (-7, 3));
    }
}
