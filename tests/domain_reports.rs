//! The staff reports on fixed data and a fixed clock: every figure of a small two-month
//! history computed by hand, the roll-forward reconciled, and the counters rebuilt the same
//! from the records of a store written before they existed.

mod support;

use onepoint::domain::reports::counters;
use onepoint::domain::reports::{Report, ReportQuery};
use onepoint::domain::store::{Store, StoreOptions, WriteSet};
use onepoint::domain::{BillingRequest, Command, DealId, MemberId, MerchantId, Month, Points};
use support::{Fixture, fixture};

const DAY: i64 = 86_400_000;

fn report(f: &Fixture, kind: &str, params: &[(&str, &str)]) -> Report {
    let p: Vec<(String, String)> = params
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    f.core
        .report(&ReportQuery::parse(kind, &p).unwrap())
        .unwrap()
}

/// Oct 15: A and B join; A saves 1000, B 500; A uses 100; B fails to use 10,000; merchant 20
/// is billed for October. Nov 15 (+31 days): A's use is cancelled (billed: clawed back), B's
/// save is cancelled, A withdraws (forfeits 1000), C joins and saves 300.
fn history() -> Fixture {
    let f = fixture();
    f.join("A");
    f.join("B");
    f.save(1, 20, 100_000).unwrap(); // deal 1: 1000 points
    f.save(2, 20, 50_000).unwrap(); // deal 2: 500
    f.use_pts(1, 20, 10_000).unwrap(); // deal 3: 100
    f.use_pts(2, 20, 1_000_000).unwrap(); // deal 4: fails
    f.one(Command::Bill(BillingRequest {
        merchant: MerchantId(20),
        month: Month::parse("m", "202610").unwrap(),
    }))
    .unwrap();
    f.clock.advance(31 * DAY);
    f.cancel(3).unwrap(); // deal 5: clawback of 100
    f.cancel(2).unwrap(); // deal 6: takes B's 500 back
    f.one(Command::Withdraw(MemberId(1))).unwrap();
    f.join("C");
    f.save(3, 21, 30_000).unwrap(); // deal 7: 300
    f
}

#[test]
fn liability_rolls_forward_exactly_and_reconciles_with_balances() {
    let f = history();
    let Report::Liability(l) = report(&f, "liability", &[]) else {
        panic!()
    };
    assert_eq!(l.months.len(), 2);
    let (oct, nov) = (&l.months[0], &l.months[1]);
    assert_eq!(oct.month.to_string(), "202610");
    assert_eq!(
        (oct.opening, oct.issued, oct.redeemed, oct.closing),
        (Points(0), Points(150_000), Points(10_000), Points(140_000))
    );
    assert_eq!(
        (oct.billed_net, oct.billed, oct.commission, oct.clawbacks),
        (Points(10_000), Points(9_800), Points(200), Points(0))
    );
    assert_eq!(nov.opening, oct.closing);
    assert_eq!(
        (
            nov.issued,
            nov.save_cancelled,
            nov.use_cancelled,
            nov.forfeited,
            nov.clawbacks
        ),
        (
            Points(30_000),
            Points(50_000),
            Points(10_000),
            Points(100_000),
            Points(10_000)
        )
    );
    assert_eq!(nov.closing, Points(30_000));
    assert_eq!(l.outstanding, Points(30_000));
    assert!(l.reconciled);
    // Merchant rows for the latest month: 21 issued 300; 20 had its cancels.
    assert_eq!(l.merchant_month.unwrap().to_string(), "202611");
    let m: Vec<_> = l
        .merchants
        .iter()
        .map(|m| {
            (
                m.merchant_id.0,
                m.issued,
                m.save_cancelled,
                m.use_cancelled,
                m.clawbacks,
            )
        })
        .collect();
    assert_eq!(
        m,
        [
            (
                20,
                Points(0),
                Points(50_000),
                Points(10_000),
                Points(10_000)
            ),
            (21, Points(30_000), Points(0), Points(0), Points(0))
        ]
    );
    let Report::Liability(only) = report(&f, "liability", &[("month", "202610")]) else {
        panic!()
    };
    assert_eq!(only.months, vec![oct.clone()]);
    assert_eq!(only.merchants[0].redeemed, Points(10_000));
    assert_eq!(only.merchants[0].billed, Points(9_800));
    f.assert_check();
}

#[test]
fn activity_counts_deals_rates_and_distinct_members_per_day_week_and_month() {
    let f = history();
    let Report::Activity(a) = report(
        &f,
        "activity",
        &[("from", "2026-10-15"), ("to", "2026-10-16")],
    ) else {
        panic!()
    };
    assert_eq!(a.rows.len(), 2);
    let d = &a.rows[0];
    assert_eq!(d.period, "2026-10-15");
    assert_eq!(
        (d.saves, d.uses, d.failed_uses, d.failed_use_rate_bp),
        (2, 1, 1, 5000)
    );
    assert_eq!((d.earned, d.used), (Points(150_000), Points(10_000)));
    assert_eq!((d.active_members, d.new_members), (2, 2));
    assert_eq!(a.rows[1].saves, 0);

    let Report::Activity(m) = report(
        &f,
        "activity",
        &[("grain", "month"), ("from", "2026-10-01")],
    ) else {
        panic!()
    };
    let rows: Vec<_> = m
        .rows
        .iter()
        .map(|r| {
            (
                r.period.as_str(),
                r.active_members,
                r.new_members,
                r.withdrawals,
                r.save_cancels,
                r.use_cancels,
            )
        })
        .collect();
    assert_eq!(rows, [("202610", 2, 2, 0, 0, 0), ("202611", 3, 1, 1, 1, 1)]);

    // 2026-10-15 is a Thursday: its week starts Monday 2026-10-12.
    let Report::Activity(w) = report(
        &f,
        "activity",
        &[
            ("grain", "week"),
            ("from", "2026-10-15"),
            ("to", "2026-10-18"),
        ],
    ) else {
        panic!()
    };
    assert_eq!(w.rows.len(), 1);
    assert_eq!(w.rows[0].period, "2026-10-12");
    assert_eq!((w.rows[0].active_members, w.rows[0].saves), (2, 2));
}

#[test]
fn segments_and_dormant_members_follow_recency_frequency_and_spend() {
    let f = history();
    let Report::Segments(s) = report(&f, "segments", &[]) else {
        panic!()
    };
    let by: Vec<_> = s
        .rows
        .iter()
        .map(|r| (r.segment.as_str(), r.members, r.points))
        .collect();
    // B: frequency 1 (the top 20% here) but no spend left: loyal. C: joined today: new.
    assert_eq!(
        by,
        [
            ("champions", 0, Points(0)),
            ("loyal", 1, Points(0)),
            ("active", 0, Points(0)),
            ("new", 1, Points(30_000)),
            ("at risk", 0, Points(0)),
            ("dormant", 0, Points(0)),
        ]
    );
    // A hundred days on (the cache is per day): both dormant, only C holds points.
    f.clock.advance(100 * DAY);
    let Report::Dormant(d) = report(&f, "dormant", &[("days", "90")]) else {
        panic!()
    };
    assert_eq!((d.total_members, d.total_points), (1, Points(30_000)));
    assert_eq!(d.members.len(), 1);
    assert_eq!(
        (d.members[0].member_id, d.members[0].idle_days),
        (MemberId(3), 100)
    );
    assert_eq!(d.members[0].name, "C");
    let Report::Dormant(none) = report(&f, "dormant", &[("days", "365")]) else {
        panic!()
    };
    assert_eq!(none.total_members, 0);
}

#[test]
fn anomalies_name_members_and_merchants_with_the_deals_behind_them() {
    let f = history();
    let Report::Anomalies(a) = report(&f, "anomalies", &[("minCancels", "1"), ("clawback", "50")])
    else {
        panic!()
    };
    assert_eq!(
        (a.from.as_str(), a.to.as_str()),
        ("2026-11-09", "2026-11-15")
    );
    let m: Vec<_> = a
        .members
        .iter()
        .map(|m| (m.member_id.0, m.cancels, m.deals.clone()))
        .collect();
    assert_eq!(m, [(1, 1, vec![DealId(5)]), (2, 1, vec![DealId(6)])]);
    assert_eq!(a.merchants.len(), 1);
    assert_eq!(a.merchants[0].merchant_id, MerchantId(20));
    assert_eq!(a.merchants[0].clawbacks, Points(10_000));
    assert_eq!(a.merchants[0].deals, vec![DealId(5)]);
    // October's window: B's failed use, below a threshold of 2, above one of 1.
    let oct = [("from", "2026-10-15"), ("to", "2026-10-15")];
    let Report::Anomalies(quiet) = report(&f, "anomalies", &[oct[0], oct[1], ("minFailed", "2")])
    else {
        panic!()
    };
    assert!(quiet.members.is_empty());
    let Report::Anomalies(one) = report(&f, "anomalies", &[oct[0], oct[1], ("minFailed", "1")])
    else {
        panic!()
    };
    assert_eq!(one.members[0].deals, vec![DealId(4)]);
    assert_eq!(one.members[0].failed_uses, 1);
}

#[test]
fn counters_missing_from_an_older_store_are_rebuilt_the_same() {
    let mut f = history();
    let before: Vec<Report> = ["liability", "activity", "segments", "anomalies"]
        .iter()
        .map(|k| {
            report(
                &f,
                k,
                &[("from", "2026-10-01")][..usize::from(*k == "activity")],
            )
        })
        .collect();
    // Close the core, drop every counter as a store of the previous version would lack them.
    let placeholder = tempfile::tempdir().unwrap();
    f.core = support::open(placeholder.path(), &f.clock);
    {
        let store = Store::open(f.dir.path(), StoreOptions::default()).unwrap();
        let mut set = WriteSet::default();
        for r in store.scan_prefix(&[counters::TAG]) {
            set.remove(&r.unwrap().0);
        }
        assert!(set.len() > 10);
        store.commit(set).unwrap();
    }
    f.core = support::open(f.dir.path(), &f.clock);
    let after: Vec<Report> = ["liability", "activity", "segments", "anomalies"]
        .iter()
        .map(|k| {
            report(
                &f,
                k,
                &[("from", "2026-10-01")][..usize::from(*k == "activity")],
            )
        })
        .collect();
    assert_eq!(before, after);
    f.assert_check();
}

#[test]
fn check_finds_counters_that_disagree_with_the_records() {
    let mut f = history();
    let placeholder = tempfile::tempdir().unwrap();
    f.core = support::open(placeholder.path(), &f.clock);
    {
        let store = Store::open(f.dir.path(), StoreOptions::default()).unwrap();
        let key = counters::month_key(Month::parse("m", "202611").unwrap());
        let mut t: counters::Totals =
            postcard::from_bytes(&store.get_val(&key).unwrap().unwrap()).unwrap();
        t.issued += Points(1);
        let mut set = WriteSet::default();
        set.put(&key, &postcard::to_stdvec(&t).unwrap());
        store.commit(set).unwrap();
    }
    f.core = support::open(f.dir.path(), &f.clock);
    let r = f.core.check().unwrap();
    assert!(!r.ok);
    assert!(
        r.violations
            .iter()
            .any(|v| v.contains("report counters for 202611"))
            && r.violations
                .iter()
                .any(|v| v.contains("roll-forward closes at 300.01")),
        "{:#?}",
        r.violations
    );
}

#[test]
fn segments_kept_in_memory_between_writes_match_a_full_read() {
    let mut f = fixture();
    f.join("A");
    f.join("B");
    f.save(1, 20, 100_000).unwrap();
    // The members' records are read whole here, then brought up to date from the events.
    let _ = report(&f, "segments", &[]);
    f.clock.advance(40 * DAY);
    f.save(2, 20, 50_000).unwrap();
    let _ = report(&f, "segments", &[]);
    f.join("C");
    f.save(3, 21, 30_000).unwrap();
    f.use_pts(1, 20, 10_000).unwrap();
    f.one(Command::Withdraw(MemberId(2))).unwrap();
    f.clock.advance(50 * DAY);
    f.join("D");
    let kinds = [("segments", &[][..]), ("dormant", &[("days", "30")][..])];
    let kept: Vec<Report> = kinds.iter().map(|(k, p)| report(&f, k, p)).collect();
    let Report::Segments(s) = &kept[0] else {
        panic!()
    };
    let by: Vec<_> = s
        .rows
        .iter()
        .map(|r| (r.segment.as_str(), r.members, r.points))
        .collect();
    // A and C dealt 50 days ago (at risk), B withdrew, D joined today.
    assert_eq!(
        by,
        [
            ("champions", 0, Points(0)),
            ("loyal", 0, Points(0)),
            ("active", 0, Points(0)),
            ("new", 1, Points(0)),
            ("at risk", 2, Points(120_000)),
            ("dormant", 0, Points(0)),
        ]
    );
    f.reopen();
    let read: Vec<Report> = kinds.iter().map(|(k, p)| report(&f, k, p)).collect();
    assert_eq!(kept, read);
}

#[test]
fn the_saved_member_records_are_taken_only_from_the_same_store_and_history() {
    let mut f = history();
    let file = f.dir.path().join("members.rfm");
    let _ = report(&f, "segments", &[]);
    // The records are written on a thread of their own, whole by the time the store closes.
    f.reopen();
    let saved = std::fs::read(&file).expect("the first scan saves the records");
    f.save(3, 21, 10_000).unwrap();
    f.reopen();
    let taken = report(&f, "segments", &[]);
    f.reopen();
    // Taken and brought up to date (a full read would have saved it anew, as of later).
    assert_eq!(std::fs::read(&file).unwrap(), saved);
    std::fs::remove_file(&file).unwrap();
    f.reopen();
    assert_eq!(report(&f, "segments", &[]), taken);

    // Another store, with more events than the file is as of: its fingerprint differs.
    let mut other = fixture();
    for i in 0..60 {
        other.join(&format!("Z{i}"));
    }
    std::fs::write(other.dir.path().join("members.rfm"), &saved).unwrap();
    other.reopen();
    let with_foreign_file = report(&other, "segments", &[]);
    std::fs::remove_file(other.dir.path().join("members.rfm")).unwrap();
    other.reopen();
    assert_eq!(report(&other, "segments", &[]), with_foreign_file);
}
