//! The sorts kept by indexes of their own (members by last activity, deals by points, deals
//! by date: the id order merged with the back-dated deals' index): the order read from the
//! store, page by page from either end and from every cursor, equals a sort of every record
//! computed here; `check` finds a missing or stale entry of the indexes kept in sled; the
//! last-activity index, kept in memory, is built from the accounts on every open; a store
//! written without the indexes gets them built when it is opened.

mod support;

use onepoint::domain::KeyDigest;
use onepoint::domain::schema::{self, ACCOUNT, DEAL, decode, key1};
use onepoint::domain::sort_index::{self, activity_key, backdated_key, deal_points_key, run_key};
use onepoint::domain::store::{Store, StoreOptions, WriteSet};
use onepoint::domain::tx::Reader;
use onepoint::domain::{
    Account, Amount, Anchor, Command, Deal, DealId, DealOrder, DealRequest, DealStatus, DealWindow,
    MemberId, MemberKey, MemberOrder, MemberView, MemberWindow, MerchantId, Points, Window,
};
use support::{Fixture, NOW_MS};

const MEMBERS: u64 = 45;
const HOUR: i64 = 3_600_000;

fn save_at(f: &Fixture, m: u64, amount: u64, hours_ago: i64) {
    f.deal(DealRequest::Save {
        member: MemberId(m),
        merchant: MerchantId(1 + m % 4),
        amount: Amount(amount),
        date: Some(NOW_MS - hours_ago * HOUR),
    })
    .unwrap();
}

/// 45 members: some never active, some with backdated deals (so neither id nor deal order
/// is activity order), ties on the same instant, withdrawals (active at the withdrawal),
/// points repeated across deals, failed uses (0-point deals kept with their points).
fn store() -> Fixture {
    let f = support::fixture();
    for i in 0..MEMBERS {
        f.join(&format!("m{i}"));
    }
    for m in 1..=MEMBERS {
        if m % 9 == 0 {
            continue; // never active
        }
        // Hours ago scrambled over ids; a tie every few members.
        let ago = ((m * 37) % 23) as i64 + 1;
        save_at(&f, m, 1_000 * (1 + m % 5), ago);
        if m % 4 == 0 {
            // An older deal after it: the last activity stays the latest date.
            save_at(&f, m, 700, ago + 30);
        }
    }
    for m in [3u64, 20] {
        f.use_pts(m, 2, 1_000_000).unwrap(); // failed: short of points, dated now
    }
    f.cancel(5).unwrap();
    for m in [7u64, 31] {
        f.one(Command::Withdraw(MemberId(m))).unwrap();
    }
    f.assert_check();
    f
}

fn member_window(f: &Fixture, descending: bool, anchor: Anchor<MemberKey>) -> Window<MemberView> {
    f.core
        .member_window(&MemberWindow {
            order: MemberOrder::LastActivity,
            descending,
            anchor,
            limit: 6,
            ..Default::default()
        })
        .unwrap()
}

fn all_members(f: &Fixture) -> Vec<MemberView> {
    let all = f
        .core
        .members_by_ids(&(1..=MEMBERS).map(MemberId).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(all.len() as u64, MEMBERS);
    all
}

fn by_activity(f: &Fixture, descending: bool) -> Vec<u64> {
    let mut all = all_members(f);
    all.sort_by(|a, b| {
        let o = a
            .last_activity
            .cmp(&b.last_activity)
            .then(a.member_id.cmp(&b.member_id));
        if descending { o.reverse() } else { o }
    });
    all.iter().map(|m| m.member_id.0).collect()
}

fn walk_members(f: &Fixture, descending: bool, backwards: bool) -> Vec<u64> {
    let key = |m: &MemberView| MemberOrder::LastActivity.key_of(m);
    let mut seen: Vec<u64> = Vec::new();
    let mut w = member_window(
        f,
        descending,
        if backwards {
            Anchor::Last
        } else {
            Anchor::First
        },
    );
    assert_eq!(w.total, Some(MEMBERS));
    loop {
        let ids = w.rows.iter().map(|m| m.member_id.0);
        if backwards {
            let mut page: Vec<u64> = ids.collect();
            page.extend(seen);
            seen = page;
            if !w.more_before {
                break;
            }
            w = member_window(f, descending, Anchor::Before(key(&w.rows[0])));
        } else {
            seen.extend(ids);
            if !w.more_after {
                break;
            }
            w = member_window(f, descending, Anchor::After(key(w.rows.last().unwrap())));
        }
    }
    seen
}

#[test]
fn members_by_last_activity_are_the_whole_table_in_order_both_ways() {
    let f = store();
    let mut distinct = std::collections::BTreeSet::new();
    for m in all_members(&f) {
        distinct.insert(m.last_activity);
    }
    assert!(distinct.len() > 10, "the fixture must spread activity");
    assert!(
        distinct.contains(&None),
        "and keep some members never active"
    );
    for descending in [false, true] {
        let want = by_activity(&f, descending);
        assert_ne!(want, (1..=MEMBERS).collect::<Vec<_>>());
        assert_eq!(
            walk_members(&f, descending, false),
            want,
            "desc={descending}"
        );
        assert_eq!(
            walk_members(&f, descending, true),
            want,
            "desc={descending} back"
        );
    }
    // Most recent first: the withdrawals and the failed uses happened now.
    let top = member_window(&f, true, Anchor::First);
    assert_eq!(top.rows[0].last_activity, Some(NOW_MS));
    assert_eq!(top.first_position, Some(0));
}

#[test]
fn a_member_moves_in_the_activity_order_when_it_deals() {
    let f = store();
    // Member 9 never dealt: first in ascending order (lowest id among the never-active).
    let first = member_window(&f, false, Anchor::First);
    assert_eq!(first.rows[0].member_id, MemberId(9));
    assert_eq!(first.rows[0].last_activity, None);
    save_at(&f, 9, 5_000, 0);
    let top = member_window(&f, true, Anchor::First);
    let now: Vec<u64> = top
        .rows
        .iter()
        .take_while(|m| m.last_activity == Some(NOW_MS))
        .map(|m| m.member_id.0)
        .collect();
    assert!(now.contains(&9), "{now:?}");
    assert_eq!(walk_members(&f, true, false), by_activity(&f, true));
    f.assert_check();
}

fn deal_window(f: &Fixture, q: DealWindow) -> Window<Deal> {
    f.core.deal_window(&q).unwrap()
}

/// Every deal, read by id (the independent source).
fn all_deals(f: &Fixture) -> Vec<Deal> {
    let w = deal_window(
        f,
        DealWindow {
            oldest_first: true,
            limit: 10_000,
            ..Default::default()
        },
    );
    assert!(!w.more_after);
    w.rows
}

fn walk_deals(f: &Fixture, base: &DealWindow, backwards: bool) -> Vec<u64> {
    let q = |anchor| DealWindow {
        anchor,
        limit: 5,
        ..base.clone()
    };
    let mut seen: Vec<u64> = Vec::new();
    let mut w = deal_window(
        f,
        q(if backwards {
            Anchor::Last
        } else {
            Anchor::First
        }),
    );
    loop {
        let ids = w.rows.iter().map(|d| d.id.0);
        if backwards {
            let mut page: Vec<u64> = ids.collect();
            page.extend(seen);
            seen = page;
            if !w.more_before {
                break;
            }
            w = deal_window(f, q(Anchor::Before(w.rows[0].id)));
        } else {
            seen.extend(ids);
            if !w.more_after {
                break;
            }
            w = deal_window(f, q(Anchor::After(w.rows.last().unwrap().id)));
        }
    }
    seen
}

/// Every deal sorted here, by points or by date, then id.
fn sorted(all: &[Deal], order: DealOrder, ascending: bool, status: Option<DealStatus>) -> Vec<u64> {
    let mut want: Vec<&Deal> = all
        .iter()
        .filter(|d| status.is_none_or(|s| s == d.status))
        .collect();
    want.sort_by(|a, b| {
        let o = match order {
            DealOrder::Date => a.deal_date.cmp(&b.deal_date),
            _ => a.point.cmp(&b.point),
        }
        .then(a.id.cmp(&b.id));
        if ascending { o } else { o.reverse() }
    });
    want.iter().map(|d| d.id.0).collect()
}

#[test]
fn deals_by_points_and_by_date_are_every_deal_in_order_both_ways_and_filtered() {
    let f = store();
    let all = all_deals(&f);
    assert!(all.len() > 40);
    let by_id: Vec<u64> = all.iter().map(|d| d.id.0).collect();
    for (order, ascending, status) in [
        (DealOrder::Points, false, None),
        (DealOrder::Points, true, None),
        (DealOrder::Points, false, Some(DealStatus::Success)),
        (DealOrder::Points, true, Some(DealStatus::Fail)),
        (DealOrder::Date, false, None),
        (DealOrder::Date, true, None),
        (DealOrder::Date, true, Some(DealStatus::Success)),
        (DealOrder::Date, false, Some(DealStatus::Fail)),
    ] {
        let want = sorted(&all, order, ascending, status);
        if status.is_none() && ascending {
            assert_ne!(
                want, by_id,
                "{order:?}: the fixture's order differs from ids"
            );
        }
        let base = DealWindow {
            order,
            oldest_first: ascending,
            status,
            ..Default::default()
        };
        let what = format!("{order:?} asc={ascending} {status:?}");
        assert_eq!(walk_deals(&f, &base, false), want, "{what}");
        assert_eq!(walk_deals(&f, &base, true), want, "{what} back");
    }
    let top = deal_window(
        &f,
        DealWindow {
            order: DealOrder::Points,
            limit: 1,
            ..Default::default()
        },
    );
    assert_eq!(
        top.rows[0].point,
        all.iter().map(|d| d.point).max().unwrap()
    );
    assert_eq!(top.total, Some(all.len() as u64));
    // From a deal: it and the ones after it in points order.
    let from = deal_window(
        &f,
        DealWindow {
            order: DealOrder::Points,
            anchor: Anchor::From(top.rows[0].id),
            limit: 3,
            ..Default::default()
        },
    );
    assert_eq!(from.rows[0].id, top.rows[0].id);
}

fn count_backdated(f: &mut Fixture) -> usize {
    let mut n = 0;
    tamper(f, |s, _| n = s.scan_prefix(&[schema::BACKDATED]).count());
    n
}

#[test]
fn the_date_index_holds_only_the_back_dated_deals() {
    let mut f = store();
    let all = all_deals(&f);
    // Back-dated: dated below some earlier deal's date (the mark at its write).
    let mut mark = i64::MIN;
    let mut back = 0;
    for d in &all {
        if d.deal_date < mark {
            back += 1;
        }
        mark = mark.max(d.deal_date);
    }
    assert!(
        back > 10 && back + 5 <= all.len(),
        "{back} of {}",
        all.len()
    );
    assert_eq!(count_backdated(&mut f), back);
    // Deals dated now (the write time, the default) add no entry.
    for m in 1..=5 {
        f.save(m, 1, 1_000).unwrap();
    }
    assert_eq!(count_backdated(&mut f), back);
    save_at(&f, 2, 1_000, 3);
    assert_eq!(count_backdated(&mut f), back + 1);
    f.assert_check();
}

/// From every deal as the cursor, either way: the rows after it, before it and from it are
/// the sorted list's (a back-dated cursor resumes the id stream by a search over ids).
fn assert_every_cursor_resumes(f: &Fixture, what: &str) {
    let all = all_deals(f);
    for ascending in [true, false] {
        let want = sorted(&all, DealOrder::Date, ascending, None);
        let q = |anchor| DealWindow {
            order: DealOrder::Date,
            oldest_first: ascending,
            anchor,
            limit: 3,
            place: true,
            ..Default::default()
        };
        for (i, id) in want.iter().enumerate() {
            let id = DealId(*id);
            // The rows, and the first one's exact place in the whole order.
            let read = |anchor| {
                let w = deal_window(f, q(anchor));
                let ids: Vec<u64> = w.rows.iter().map(|d| d.id.0).collect();
                (ids, w.first_position)
            };
            let n = want.len();
            let place = |from: usize, to: usize| {
                (want[from..to].to_vec(), (from < to).then_some(from as u64))
            };
            let how = format!("{what} {id} asc={ascending}");
            assert_eq!(
                read(Anchor::After(id)),
                place((i + 1).min(n), (i + 4).min(n)),
                "after {how}"
            );
            assert_eq!(
                read(Anchor::Before(id)),
                place(i.saturating_sub(3), i),
                "before {how}"
            );
            assert_eq!(
                read(Anchor::From(id)),
                place(i, (i + 3).min(n)),
                "from {how}"
            );
        }
    }
}

#[test]
fn deals_by_date_resume_from_every_cursor_both_ways() {
    let f = store();
    assert_every_cursor_resumes(&f, "fixture");
}

#[test]
fn date_ties_across_in_order_and_back_dated_deals_go_by_id() {
    let f = support::fixture();
    for i in 0..4 {
        f.join(&format!("t{i}"));
    }
    // In order: 1 (-5h), 2 (-5h, a tie at the mark), 3 (-2h); then back-dated: 4 (-5h, the
    // same instant as 1 and 2), 5 (-6h, below everything), 6 (-2h, a tie with 3); in order
    // again: 7 (now), 8 (-2h, back-dated behind 7), 9 (now, a tie at the mark).
    for (m, ago) in [
        (1, 5),
        (2, 5),
        (3, 2),
        (4, 5),
        (1, 6),
        (2, 2),
        (3, 0),
        (4, 2),
        (1, 0),
    ] {
        save_at(&f, m, 1_000, ago);
    }
    let all = all_deals(&f);
    let want = sorted(&all, DealOrder::Date, true, None);
    assert_eq!(want, [5, 1, 2, 4, 3, 6, 8, 7, 9]);
    for ascending in [true, false] {
        let base = DealWindow {
            order: DealOrder::Date,
            oldest_first: ascending,
            ..Default::default()
        };
        let mut want = want.clone();
        if !ascending {
            want.reverse();
        }
        assert_eq!(walk_deals(&f, &base, false), want, "asc={ascending}");
        assert_eq!(walk_deals(&f, &base, true), want, "asc={ascending} back");
    }
    assert_every_cursor_resumes(&f, "ties");
    // Not asked for its place (a read ahead: the console knows it), none is counted.
    let w = deal_window(
        &f,
        DealWindow {
            order: DealOrder::Date,
            anchor: Anchor::After(DealId(4)),
            limit: 10,
            ..Default::default()
        },
    );
    let ids: Vec<u64> = w.rows.iter().map(|d| d.id.0).collect();
    assert_eq!((ids, w.first_position), (vec![2, 1, 5], None));
    f.assert_check();
}

#[test]
fn imports_of_back_dated_deals_are_stepped_over_in_runs() {
    let f = support::fixture();
    for i in 0..6 {
        f.join(&format!("i{i}"));
    }
    let mut hours = Vec::new();
    // In order (80h ago, then closer), an import of 40 deals dated all over the last 100
    // hours (some between the in-order ones, some tied with them), in order again, a second
    // import, one last deal now.
    hours.extend([80, 70, 70, 60, 50]);
    hours.extend((0..40).map(|i| 100 - (i * 37) % 97));
    hours.extend([50, 40, 30]);
    hours.extend((0..12).map(|i| 95 - (i * 13) % 60));
    hours.push(0);
    for (n, ago) in hours.iter().enumerate() {
        save_at(&f, 1 + n as u64 % 6, 1_000, *ago);
    }
    f.assert_check();
    let all = all_deals(&f);
    assert_eq!(all.len(), hours.len());
    for ascending in [true, false] {
        let base = DealWindow {
            order: DealOrder::Date,
            oldest_first: ascending,
            ..Default::default()
        };
        let want = sorted(&all, DealOrder::Date, ascending, None);
        assert_eq!(walk_deals(&f, &base, false), want, "asc={ascending}");
        assert_eq!(walk_deals(&f, &base, true), want, "asc={ascending} back");
    }
    assert_every_cursor_resumes(&f, "imports");
}

#[test]
fn points_order_with_a_member_or_merchant_filter_is_refused_naming_the_field() {
    let f = store();
    for q in [
        DealWindow {
            order: DealOrder::Points,
            member: Some(MemberId(1)),
            ..Default::default()
        },
        DealWindow {
            order: DealOrder::Points,
            merchant: Some(MerchantId(1)),
            ..Default::default()
        },
        DealWindow {
            order: DealOrder::Date,
            member: Some(MemberId(1)),
            ..Default::default()
        },
        DealWindow {
            order: DealOrder::Date,
            merchant: Some(MerchantId(1)),
            ..Default::default()
        },
    ] {
        let e = f.core.deal_window(&q).unwrap_err();
        assert!(e.to_string().contains("order"), "{e}");
        let name = if q.order == DealOrder::Date {
            "date"
        } else {
            "points"
        };
        assert!(e.to_string().contains(name), "{e}");
    }
    let e = f
        .core
        .deal_window(&DealWindow {
            order: DealOrder::Points,
            anchor: Anchor::After(DealId(9_999)),
            ..Default::default()
        })
        .unwrap_err();
    assert!(e.to_string().contains("9999"), "{e}");
}

/// Closes the core, edits the raw store, reopens.
fn tamper(f: &mut Fixture, edit: impl FnOnce(&Store, &mut WriteSet)) {
    let placeholder = tempfile::tempdir().unwrap();
    f.core = support::open(placeholder.path(), &f.clock);
    {
        let store = Store::open(f.dir.path(), StoreOptions::default()).unwrap();
        let mut set = WriteSet::default();
        edit(&store, &mut set);
        store.commit(set).unwrap();
    }
    f.core = support::open(f.dir.path(), &f.clock);
}

fn violations(f: &Fixture) -> Vec<String> {
    let r = f.core.check().unwrap();
    assert!(!r.ok, "check must fail");
    r.violations
}

fn account(s: &Store, m: u64) -> Account {
    s.get(&key1(ACCOUNT, m)).unwrap().unwrap()
}

fn deal(s: &Store, id: u64) -> Deal {
    decode(&s.get_val(&key1(DEAL, id)).unwrap().unwrap()).unwrap()
}

fn by_balance(f: &Fixture) -> Vec<u64> {
    let mut all = all_members(f);
    all.sort_by(|a, b| a.point.cmp(&b.point).then(a.member_id.cmp(&b.member_id)));
    all.iter().map(|m| m.member_id.0).collect()
}

fn walk_balances(f: &Fixture) -> Vec<u64> {
    let w = f
        .core
        .member_window(&MemberWindow {
            order: MemberOrder::Balance,
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(!w.more_after);
    w.rows.iter().map(|m| m.member_id.0).collect()
}

/// The last-activity and balance indexes live in memory, built from the accounts when the
/// store opens (`store_memory.rs`): an entry removed or made stale through the raw store
/// does not outlive a reopen, and the orders follow the accounts.
#[test]
fn activity_and_balance_orders_are_rebuilt_from_the_accounts_on_open() {
    let mut f = store();
    let (activity, balance) = (by_activity(&f, false), by_balance(&f));
    assert_ne!(balance, (1..=MEMBERS).collect::<Vec<_>>());
    tamper(&mut f, |s, set| {
        set.remove(&activity_key(account(s, 4).last_activity, 4));
        let at = account(s, 6).last_activity;
        set.remove(&activity_key(at, 6));
        set.put(&activity_key(at.map(|t| t - 1), 6), &[]);
        let b = account(s, 8).balance;
        set.remove(&schema::balance_key(b, 8));
        set.put(&schema::balance_key(b + Points(1), 12), &[]);
    });
    assert_eq!(walk_members(&f, false, false), activity);
    assert_eq!(walk_members(&f, true, true), by_activity(&f, true));
    assert_eq!(walk_balances(&f), balance);
    f.assert_check();
}

/// `check`'s audit of the two indexes in memory finds an entry the session's writes got
/// wrong (made here through the raw store, whose writes reach them as the apply thread's
/// do).
#[test]
fn the_audit_finds_a_missing_or_stale_entry_of_the_indexes_in_memory() {
    let mut f = store();
    let placeholder = tempfile::tempdir().unwrap();
    f.core = support::open(placeholder.path(), &f.clock);
    let store = Store::open(f.dir.path(), StoreOptions::default()).unwrap();
    let audit = |store: &Store| {
        let meta = onepoint::domain::tx::load_meta(store).unwrap();
        let mut v = Vec::new();
        // The points index's digest as the deals would give it (what `check` computes):
        // its own, so the audit here is of the member indexes.
        let points = KeyDigest::of_table(store, schema::DEAL_POINTS).unwrap();
        sort_index::verify(store, meta.last_member, meta.last_deal, &points, &mut |m| {
            v.push(m)
        })
        .unwrap();
        v
    };
    assert_eq!(audit(&store), Vec::<String>::new());
    let mut set = WriteSet::default();
    set.remove(&activity_key(account(&store, 4).last_activity, 4));
    let b = account(&store, 8).balance;
    set.remove(&schema::balance_key(b, 8));
    set.put(&schema::balance_key(b + Points(1), 8), &[]);
    store.commit(set).unwrap();
    let v = audit(&store);
    for want in [
        "last-activity index holds 44 entries for 45 members",
        "balance index entry of member 8 differs from the account",
    ] {
        assert!(v.iter().any(|m| m.contains(want)), "{want}: {v:?}");
    }
}

/// A store written when the two indexes were kept in sled: its entries there (one of them
/// stale) are dropped when it is opened, and the orders come from the accounts.
#[test]
fn a_store_with_the_indexes_in_sled_has_them_dropped_on_open() {
    let mut f = store();
    let (activity, balance) = (by_activity(&f, false), by_balance(&f));
    let placeholder = tempfile::tempdir().unwrap();
    f.core = support::open(placeholder.path(), &f.clock);
    let sled_dir = f.dir.path().join("sled");
    let in_sled = |db: &sled::Db| {
        (
            db.scan_prefix([b'B']).count(),
            db.scan_prefix([b'L']).count(),
        )
    };
    {
        let db = sled::Config::new().path(&sled_dir).open().unwrap();
        assert_eq!(in_sled(&db), (0, 0), "this layout keeps none in sled");
        for m in 1..=MEMBERS {
            let a =
                onepoint::domain::ledger::account_in(&db.get(key1(ACCOUNT, m)).unwrap().unwrap())
                    .unwrap();
            db.insert(activity_key(a.last_activity, m), &[][..])
                .unwrap();
            db.insert(schema::balance_key(a.balance, m), &[][..])
                .unwrap();
        }
        db.insert(activity_key(Some(5), 1), &[][..]).unwrap();
        db.insert(schema::balance_key(Points(123_456), 2), &[][..])
            .unwrap();
        db.flush().unwrap();
        assert_eq!(in_sled(&db), (MEMBERS as usize + 1, MEMBERS as usize + 1));
    }
    f.core = support::open(f.dir.path(), &f.clock);
    assert_eq!(walk_members(&f, false, false), activity);
    assert_eq!(walk_balances(&f), balance);
    f.assert_check();
    f.core = support::open(placeholder.path(), &f.clock);
    let db = sled::Config::new().path(&sled_dir).open().unwrap();
    assert_eq!(in_sled(&db), (0, 0));
}

#[test]
fn check_reports_missing_and_stray_points_entries() {
    let mut f = store();
    tamper(&mut f, |s, set| {
        set.remove(&deal_points_key(deal(s, 2).point, 2));
    });
    let v = violations(&f);
    assert!(v.iter().any(|m| m.contains("points index holds")), "{v:?}");
    let mut f = store();
    tamper(&mut f, |s, set| {
        let d = deal(s, 3);
        set.put(&deal_points_key(d.point + Points(1), 3), &[]);
    });
    let v = violations(&f);
    assert!(
        v.iter()
            .any(|m| m.contains("points index entry of deal 3 differs")),
        "{v:?}"
    );
}

/// A back-dated deal of the fixture (dated below an earlier deal) and an in-order one.
fn backdated_and_in_order(f: &Fixture) -> (Deal, Deal) {
    let all = all_deals(f);
    let mut mark = i64::MIN;
    let (mut back, mut fine) = (None, None);
    for d in all {
        if d.deal_date < mark {
            back.get_or_insert(d);
        } else {
            mark = d.deal_date;
            if d.id.0 > 1 {
                fine.get_or_insert(d);
            }
        }
    }
    (back.unwrap(), fine.unwrap())
}

#[test]
fn check_reports_missing_stale_and_stray_date_entries_and_a_wrong_mark() {
    let mut f = store();
    let (back, fine) = backdated_and_in_order(&f);
    let (b, i) = (back.id.0, fine.id.0);
    tamper(&mut f, |_, set| {
        set.remove(&backdated_key(back.deal_date, b));
        set.put(&backdated_key(fine.deal_date, i), &[]);
        set.put(&backdated_key(NOW_MS, 9_999), &[]);
        let mut mark = (NOW_MS - 1).to_be_bytes().to_vec();
        mark.extend_from_slice(&52u64.to_be_bytes());
        set.put(schema::DATE_MARK, &mark);
        set.put(&run_key(9_000), &9_001u64.to_be_bytes());
    });
    let v = violations(&f);
    let has = |s: &str| v.iter().any(|m| m.contains(s));
    assert!(
        has(&format!(
            "date index lacks deal {b}, dated before an earlier deal"
        )),
        "{v:?}"
    );
    assert!(
        has(&format!(
            "date index holds deal {i}, which the id order already places"
        )),
        "{v:?}"
    );
    assert!(
        has("date index names deal 9999, which is not stored"),
        "{v:?}"
    );
    assert!(
        has(&format!(
            "deal date mark is {} (deal 52) but the latest deal date is {NOW_MS} (deal 53)",
            NOW_MS - 1
        )),
        "{v:?}"
    );
    assert!(
        has(
            "run of back-dated deals after deal 9000 (to 9001) is recorded, but no deal after 9000 is back-dated"
        ),
        "{v:?}"
    );
    // A run cut short, and one lost: the in-order deal before each, from the deals.
    let all = all_deals(&f);
    let mut runs = std::collections::BTreeMap::new();
    let (mut mark, mut holder) = (i64::MIN, 0);
    for d in &all {
        if d.deal_date < mark {
            runs.insert(holder, d.id.0);
        } else {
            (mark, holder) = (d.deal_date, d.id.0);
        }
    }
    let mut long = runs.iter().filter(|r| r.1 - r.0 > 1);
    let (&cut, &end) = long.next().expect("a run of two or more");
    let (&lost, &lost_end) = runs.iter().find(|r| *r.0 != cut).unwrap();
    tamper(&mut f, |_, set| {
        set.put(&run_key(cut), &(end - 1).to_be_bytes());
        set.remove(&run_key(lost));
    });
    let v = violations(&f);
    let has = |s: &str| v.iter().any(|m| m.contains(s));
    assert!(
        has(&format!(
            "run of back-dated deals after deal {cut} ends at {}, but the deals end it at {end}",
            end - 1
        )),
        "{v:?}"
    );
    assert!(
        has(&format!(
            "run of back-dated deals after deal {lost} (to {lost_end}) is not recorded"
        )),
        "{v:?}"
    );
    let mut f = store();
    tamper(&mut f, |_, set| {
        set.remove(&backdated_key(back.deal_date, b));
        set.put(&backdated_key(back.deal_date - 1, b), &[]);
    });
    let v = violations(&f);
    assert!(
        v.iter().any(|m| m.contains(&format!(
            "date index entry of deal {b} differs from the deal's date"
        ))),
        "{v:?}"
    );
}

#[test]
fn stores_of_the_third_and_fourth_index_versions_get_the_date_entries_when_opened() {
    for version in [3u64, 4] {
        migrated_from(version);
    }
}

fn migrated_from(version: u64) {
    let mut f = store();
    let all = all_deals(&f);
    let dates = DealWindow {
        order: DealOrder::Date,
        ..Default::default()
    };
    let points = DealWindow {
        order: DealOrder::Points,
        ..Default::default()
    };
    let points_before = walk_deals(&f, &points, false);
    // Version 3 holds `L` and `P`, no date entries, no mark; version 4 the back-dated
    // entries and a mark of the date alone, no runs.
    tamper(&mut f, |s, set| {
        let mut n = 0;
        for r in s.scan_prefix(&[schema::BACKDATED]) {
            if version == 3 {
                set.remove(&r.unwrap().0);
            }
            n += 1;
        }
        assert!(n > 10);
        for r in s.scan_prefix(&[schema::RUNS]) {
            set.remove(&r.unwrap().0);
        }
        if version == 3 {
            set.remove(schema::DATE_MARK);
        } else {
            set.put(schema::DATE_MARK, &NOW_MS.to_be_bytes());
        }
        set.put(b"Csortidx", &version.to_be_bytes());
    });
    let what = format!("from version {version}");
    assert_eq!(
        walk_deals(&f, &dates, false),
        sorted(&all, DealOrder::Date, false, None),
        "{what}"
    );
    assert_eq!(walk_deals(&f, &points, false), points_before, "{what}");
    f.assert_check();
    assert_every_cursor_resumes(&f, &what);
    // And the write path goes on from the mark built: back-dated and current deals.
    save_at(&f, 2, 1_000, 40);
    f.save(3, 1, 1_000).unwrap();
    let all = all_deals(&f);
    assert_eq!(
        walk_deals(&f, &dates, true),
        sorted(&all, DealOrder::Date, false, None),
        "{what}"
    );
    f.assert_check();
}

#[test]
fn a_store_written_without_the_indexes_gets_them_when_opened() {
    let mut f = store();
    let members_before = walk_members(&f, true, false);
    let points = DealWindow {
        order: DealOrder::Points,
        ..Default::default()
    };
    let deals_before = walk_deals(&f, &points, false);
    let dates = DealWindow {
        order: DealOrder::Date,
        ..Default::default()
    };
    let dates_before = walk_deals(&f, &dates, false);
    // What a store of the first version holds: no index, nor their mark.
    tamper(&mut f, |s, set| {
        let mut n = 0;
        for tag in [schema::ACTIVITY, schema::DEAL_POINTS, schema::BACKDATED] {
            for r in s.scan_prefix(&[tag]) {
                set.remove(&r.unwrap().0);
                n += 1;
            }
        }
        assert!(n > 80);
        set.remove(b"Csortidx");
        set.remove(schema::DATE_MARK);
    });
    assert_eq!(walk_members(&f, true, false), members_before);
    assert_eq!(walk_deals(&f, &points, false), deals_before);
    assert_eq!(walk_deals(&f, &dates, false), dates_before);
    f.assert_check();
    // And the write path keeps the rebuilt index.
    save_at(&f, 9, 5_000, 0);
    assert_eq!(walk_members(&f, true, false), by_activity(&f, true));
    f.assert_check();
}

#[test]
fn a_store_of_the_second_index_version_loses_its_retired_date_entries() {
    let mut f = store();
    let members_before = walk_members(&f, false, false);
    // Version 2 kept deals by date under `T` as well.
    tamper(&mut f, |s, set| {
        for r in s.scan_prefix(&[schema::DEAL]) {
            let d: Deal = decode(&r.unwrap().1).unwrap();
            let mut k = vec![b'T'];
            k.extend_from_slice(&((d.deal_date as u64) ^ (1 << 63)).to_be_bytes());
            k.extend_from_slice(&d.id.0.to_be_bytes());
            set.put(&k, &[]);
        }
        set.put(b"Csortidx", &2u64.to_be_bytes());
    });
    f.core.check().unwrap();
    let placeholder = tempfile::tempdir().unwrap();
    f.core = support::open(placeholder.path(), &f.clock);
    {
        let store = Store::open(f.dir.path(), StoreOptions::default()).unwrap();
        assert_eq!(
            store.scan_prefix(b"T").count(),
            0,
            "the retired entries are gone"
        );
        assert!(store.scan_prefix(&[schema::DEAL_POINTS]).count() > 40);
    }
    f.core = support::open(f.dir.path(), &f.clock);
    assert_eq!(walk_members(&f, false, false), members_before);
    f.assert_check();
}

/// The rows of a member order, read whole (one window).
fn members_in(f: &Fixture, order: MemberOrder, descending: bool) -> Vec<MemberView> {
    let w = f
        .core
        .member_window(&MemberWindow {
            order,
            descending,
            limit: 1_000,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(w.rows.len() as u64, MEMBERS);
    w.rows
}

#[test]
fn a_window_asked_for_its_place_counts_it_in_every_member_order_and_in_points() {
    let f = store();
    for order in [
        MemberOrder::Name,
        MemberOrder::Balance,
        MemberOrder::LastActivity,
    ] {
        for descending in [false, true] {
            let all = members_in(&f, order, descending);
            for (i, m) in all.iter().enumerate() {
                let q = |place| MemberWindow {
                    order,
                    descending,
                    anchor: Anchor::From(order.key_of(m)),
                    limit: 2,
                    place,
                    ..Default::default()
                };
                let w = f.core.member_window(&q(true)).unwrap();
                assert_eq!(w.rows[0].member_id, m.member_id);
                let how = format!("{order:?} desc={descending} member {}", m.member_id);
                assert_eq!(w.first_position, Some(i as u64), "{how}");
                // Not asked: not counted (the walk to it is the cost).
                let w = f.core.member_window(&q(false)).unwrap();
                assert_eq!(w.first_position, None, "{how}");
            }
            // Filtered: not counted (the index holds every member).
            let w = f
                .core
                .member_window(&MemberWindow {
                    order,
                    descending,
                    status: Some(onepoint::domain::MemberStatus::Valid),
                    anchor: Anchor::From(order.key_of(&all[3])),
                    place: true,
                    limit: 2,
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(w.first_position, None);
        }
    }
    let all = all_deals(&f);
    for ascending in [false, true] {
        let want = sorted(&all, DealOrder::Points, ascending, None);
        for (i, id) in want.iter().enumerate() {
            let w = deal_window(
                &f,
                DealWindow {
                    order: DealOrder::Points,
                    oldest_first: ascending,
                    anchor: Anchor::From(DealId(*id)),
                    limit: 2,
                    place: true,
                    ..Default::default()
                },
            );
            assert_eq!(
                w.first_position,
                Some(i as u64),
                "points asc={ascending} deal {id}"
            );
        }
    }
}
