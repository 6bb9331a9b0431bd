//! The indexes behind the sorts the records alone do not give: members by last activity
//! (`L`), deals by points (`P`) and deals by date (`T`: a deal's date may be given, so the
//! id order is not the date order). All are kept by the write path, in the same command (so
//! the same atomic batch and log record) as the account or deal they index; a store written
//! before them gets them built once when it is opened (`ensure`); `check` audits them
//! (`verify`).
//!
//! | key                                  | value | moved when                            |
//! |--------------------------------------|-------|---------------------------------------|
//! | `L` last activity (0: none), member  | ()    | the account's `last_activity` changes |
//! | `P` points, deal                     | ()    | never: a deal's points never change   |
//! | `T` deal date, deal                  | ()    | never: a deal's date never changes    |
//!
//! Last activity is the account's (`MemberView::last_activity`, the console's column): the
//! latest deal date or the withdrawal. The report counters' `MemberStats::last_deal` leaves
//! withdrawals out, so it is not the column shown and cannot stand in for this index; the
//! index stores no second copy of the time either, only the key pointing at the account.

use super::calendar::Millis;
use super::error::Result;
use super::model::{Account, Deal};
use super::money::Points;
use super::schema::{ACCOUNT, ACTIVITY, DEAL, DEAL_DATE, DEAL_POINTS, KeyBuf, decode, read_u64};
use super::store::{Store, WriteSet};
use super::tx::Tx;

/// Marks a store whose indexes cover every member and deal: 1 had `L` and `P`, 2 adds `T`.
const VERSION_KEY: &[u8] = b"Csortidx";
const VERSION: u64 = 2;

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

pub fn deal_date_key(date: Millis, deal: u64) -> Vec<u8> {
    KeyBuf::new(DEAL_DATE).time(date).u64(deal).done()
}

/// The deal a `P` or `T` key names.
pub fn deal_of_key(key: &[u8]) -> u64 {
    read_u64(key, 9)
}

/// A deal index: its tag, what it is called in `check`, and a deal's key in it.
pub type DealIndex = (u8, &'static str, fn(&Deal) -> Vec<u8>);

/// The deal orders with an index of their own.
pub const DEAL_INDEXES: [DealIndex; 2] = [
    (DEAL_POINTS, "points", |d| deal_points_key(d.point, d.id.0)),
    (DEAL_DATE, "date", |d| deal_date_key(d.deal_date, d.id.0)),
];

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

/// A deal recorded.
pub fn on_deal(tx: &mut Tx, d: &Deal) {
    for (_, _, key) in DEAL_INDEXES {
        tx.put_raw(key(d), Vec::new());
    }
}

/// Builds the indexes for a store written before them, or before this version of them
/// (any entries there are cleared first); a store that has them, or a new one, just keeps
/// (gets) the mark.
pub fn ensure(store: &Store) -> Result<()> {
    let version = store.get_val(VERSION_KEY)?.map(|v| read_u64(&v, 0));
    let empty = store.scan_prefix(&[ACCOUNT]).next().is_none();
    if version == Some(VERSION) {
        return Ok(());
    }
    if !empty {
        let chunk = super::core::CHUNK_WRITES;
        let flush = |set: &mut WriteSet, force: bool| -> Result<()> {
            if force || set.len() >= chunk {
                store.apply(std::mem::take(set))?;
            }
            Ok(())
        };
        let mut set = WriteSet::default();
        for tag in [ACTIVITY, DEAL_POINTS, DEAL_DATE] {
            for r in store.scan_prefix(&[tag]) {
                set.remove(&r?.0);
                flush(&mut set, false)?;
            }
        }
        for r in store.scan_prefix(&[ACCOUNT]) {
            let (k, v) = r?;
            let a: Account = decode(&v)?;
            set.put(&activity_key(a.last_activity, read_u64(&k, 1)), &[]);
            flush(&mut set, false)?;
        }
        for r in store.scan_prefix(&[DEAL]) {
            let d: Deal = decode(&r?.1)?;
            for (_, _, key) in DEAL_INDEXES {
                set.put(&key(&d), &[]);
            }
            flush(&mut set, false)?;
        }
        flush(&mut set, true)?;
    }
    let mut set = WriteSet::default();
    set.put(VERSION_KEY, &VERSION.to_be_bytes());
    store.commit(set)
}

/// Audits the indexes against the records: every entry names a record that sorts there,
/// and there are as many entries as records (so, with no entry stale, each record has
/// exactly one). Streams each index once, with a point read per entry.
pub fn verify(store: &Store, members: u64, deals: u64, fail: &mut dyn FnMut(String)) -> Result<()> {
    let mut entries = 0u64;
    for r in store.scan_prefix(&[ACTIVITY]) {
        let k = r?.0;
        entries += 1;
        let m = activity_member(&k);
        let a: Option<Account> = store
            .get_val(&super::schema::key1(ACCOUNT, m))?
            .map(|v| decode(&v))
            .transpose()?;
        match a {
            Some(a) if activity_key(a.last_activity, m).as_slice() == &k[..] => {}
            Some(_) => fail(format!(
                "last-activity index entry of member {m} differs from the account"
            )),
            None => fail(format!(
                "last-activity index names member {m}, which has no account"
            )),
        }
    }
    if entries != members {
        fail(format!(
            "last-activity index holds {entries} entries for {members} members"
        ));
    }
    for (tag, name, key) in DEAL_INDEXES {
        let mut entries = 0u64;
        for r in store.scan_prefix(&[tag]) {
            let k = r?.0;
            entries += 1;
            let id = deal_of_key(&k);
            let d: Option<Deal> = store
                .get_val(&super::schema::key1(DEAL, id))?
                .map(|v| decode(&v))
                .transpose()?;
            match d {
                Some(d) if key(&d).as_slice() == &k[..] => {}
                Some(_) => fail(format!(
                    "{name} index entry of deal {id} differs from the deal's {name}"
                )),
                None => fail(format!("{name} index names deal {id}, which is not stored")),
            }
        }
        if entries != deals {
            fail(format!(
                "{name} index holds {entries} entries for {deals} deals"
            ));
        }
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
        assert_eq!(deal_of_key(&high), 1);
        assert!(deal_date_key(-1, 9) < deal_date_key(0, 1));
        assert!(deal_date_key(5, 1) < deal_date_key(5, 2));
    }
}
