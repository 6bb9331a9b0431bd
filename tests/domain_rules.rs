//! The rules of SPEC 1 on a real sled store, one sentence-named test per rule, and the
//! original README's scenario as our rules make it coherent.

mod support;

use onepoint::domain::{
    BasisPoints, BillingRequest, BillingStatus, CancelKind, Command, DealId, DealQuery,
    DealRequest, DealStatus, DealType, Error, EventBody, MemberId, MerchantId, Month, NewMerchant,
    Outcome, Points,
};
use support::{Fixture, fixture};

fn bill(f: &Fixture, merchant: u64, month: &str) -> Result<onepoint::domain::Billing, Error> {
    match f.one(Command::Bill(BillingRequest {
        merchant: MerchantId(merchant),
        month: Month::parse("m", month).unwrap(),
    }))? {
        Outcome::Billing(b) => Ok(b),
        o => panic!("{o:?}"),
    }
}

#[test]
fn original_readme_scenario_holds() {
    let f = fixture();
    assert_eq!(f.join("안서연"), MemberId(1));
    assert_eq!(f.save(1, 20, 100_000).unwrap().balance, Points(100_000));
    assert_eq!(f.use_pts(1, 20, 10_000).unwrap().balance, Points(90_000));
    let failed = f.use_pts(1, 20, 1_000_000).unwrap();
    assert_eq!(failed.status, DealStatus::Fail);
    assert_eq!(failed.reason.as_deref(), Some("insufficient points"));
    assert_eq!(failed.balance, Points(90_000));
    assert_eq!(f.save(1, 20, 100_000).unwrap().balance, Points(190_000));

    assert_eq!(f.join("김준혁"), MemberId(2));
    f.save(2, 20, 100_000).unwrap();
    f.use_pts(2, 20, 20_000).unwrap();
    assert_eq!(f.use_pts(2, 20, 20_000).unwrap().balance, Points(60_000));

    let b = bill(&f, 20, "202610").unwrap();
    assert_eq!(b.billing_amount, Points(49_000));
    assert_eq!(b.deal_count, 3);
    let again = bill(&f, 20, "202610").unwrap();
    assert_eq!(again, b, "a re-run returns the same billing");
    assert_eq!(f.core.info().unwrap().billings, 1);

    match f.one(Command::Withdraw(MemberId(2))).unwrap() {
        Outcome::Withdrawal(w) => assert_eq!(w.forfeited, Points(60_000)),
        o => panic!("{o:?}"),
    }
    let e = f.save(2, 20, 1000).unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e:?}");
    assert_eq!(f.balance(2), Points::ZERO);
    f.assert_check();
}

#[test]
fn join_gives_sequential_ids_and_a_zero_account() {
    let f = fixture();
    assert_eq!(f.join("a"), MemberId(1));
    assert_eq!(f.join("b"), MemberId(2));
    assert_eq!(f.balance(2), Points::ZERO);
    let ev = f.core.events(0, 10).unwrap();
    let types: Vec<_> = ev.iter().map(|e| e.body.event_type()).collect();
    assert_eq!(
        types,
        [
            "MemberCreated",
            "PointCreated",
            "MemberCreated",
            "PointCreated"
        ]
    );
}

#[test]
fn save_earns_one_percent_floored_to_hundredths() {
    let f = fixture();
    f.join("a");
    // 1% of 12,345 is exactly 123.45 points: the default rate never needs a floor.
    assert_eq!(f.save(1, 1, 12_345).unwrap().point, Points(12_345));
    assert_eq!(f.save(1, 1, 250_000).unwrap().point, Points(250_000));
    // At 1.25% a fraction of a hundredth appears, and is floored, never rounded up:
    // 3 x 1.25% = 0.0375 -> 0.03; 999 x 1.25% = 12.4875 -> 12.48; 1 x 1.25% = 0.0125 -> 0.01.
    f.one(Command::AddMerchant(NewMerchant {
        id: MerchantId(5),
        name: "Quarter".into(),
        earn_rate: Some(BasisPoints(125)),
    }))
    .unwrap();
    assert_eq!(f.save(1, 5, 3).unwrap().point, Points(3));
    assert_eq!(f.save(1, 5, 999).unwrap().point, Points(1_248));
    assert_eq!(f.save(1, 5, 1).unwrap().point, Points(1));
    // The balance adds the floored points, not the exact ones.
    assert_eq!(
        f.core.points(MemberId(1)).unwrap().point,
        Points(12_345 + 250_000 + 3 + 1_248 + 1)
    );
}

#[test]
fn registered_merchant_earn_rate_applies() {
    let f = fixture();
    f.join("a");
    f.one(Command::AddMerchant(NewMerchant {
        id: MerchantId(9),
        name: "Cafe".into(),
        earn_rate: Some(BasisPoints(250)),
    }))
    .unwrap();
    assert_eq!(f.save(1, 9, 1000).unwrap().point, Points(2_500));
}

#[test]
fn use_with_short_balance_is_recorded_failed_and_evented() {
    let f = fixture();
    f.join("a");
    f.save(1, 1, 1000).unwrap();
    let d = f.use_pts(1, 1, 1001).unwrap();
    assert_eq!(d.status, DealStatus::Fail);
    assert_eq!(f.balance(1), Points(1000));
    let last = f.core.events(0, 100).unwrap().pop().unwrap();
    assert_eq!(last.body.event_type(), "UseRejected");
    assert_eq!(f.core.deal(d.id).unwrap().status, DealStatus::Fail);
}

#[test]
fn use_of_the_exact_balance_succeeds() {
    let f = fixture();
    f.join("a");
    f.save(1, 1, 1000).unwrap();
    assert_eq!(f.use_pts(1, 1, 1000).unwrap().status, DealStatus::Success);
    assert_eq!(f.balance(1), Points::ZERO);
}

#[test]
fn refused_deals_write_nothing_and_emit_nothing() {
    let f = fixture();
    f.join("a");
    let before = f.core.info().unwrap();
    assert!(matches!(f.save(99, 1, 10), Err(Error::NotFound { .. })));
    assert!(matches!(f.cancel(42), Err(Error::NotFound { .. })));
    let future = support::NOW_MS + 6 * 60 * 1000;
    let e = f
        .deal(DealRequest::Save {
            member: MemberId(1),
            merchant: MerchantId(1),
            amount: onepoint::domain::Amount(10),
            date: Some(future),
        })
        .unwrap_err();
    assert!(matches!(e, Error::Refused { ref field, .. } if field == "dealDate"));
    let after = f.core.info().unwrap();
    assert_eq!(
        (after.events, after.deals, after.members),
        (before.events, before.deals, before.members)
    );
    assert_eq!(f.balance(1), Points::ZERO);
}

#[test]
fn cancel_takes_points_from_the_original_and_only_once() {
    let f = fixture();
    f.join("a");
    let s = f.save(1, 1, 100_000).unwrap();
    let c = f.cancel(s.id.0).unwrap();
    assert_eq!(c.deal_type, DealType::SaveCancel);
    assert_eq!(c.point, s.point);
    assert_eq!(c.original_deal_id, Some(s.id));
    assert_eq!(f.balance(1), Points::ZERO);
    let e = f.cancel(s.id.0).unwrap_err();
    assert!(matches!(e, Error::Refused { ref rule, .. } if rule.contains("already cancelled")));
    assert_eq!(f.core.deal(s.id).unwrap().cancelled_by, Some(c.id));
    f.assert_check();
}

#[test]
fn save_cancel_short_of_points_is_recorded_failed_and_can_be_retried() {
    let f = fixture();
    f.join("a");
    let s = f.save(1, 1, 100_000).unwrap();
    f.use_pts(1, 1, 50_000).unwrap();
    let c = f.cancel(s.id.0).unwrap();
    assert_eq!(c.status, DealStatus::Fail);
    assert_eq!(f.balance(1), Points(50_000));
    f.save(1, 1, 100_000).unwrap();
    assert_eq!(f.cancel(s.id.0).unwrap().status, DealStatus::Success);
    f.assert_check();
}

#[test]
fn cancel_type_must_match_the_original() {
    let f = fixture();
    f.join("a");
    let s = f.save(1, 1, 1000).unwrap();
    let e = f
        .deal(DealRequest::Cancel {
            original: s.id,
            kind: CancelKind::Exactly(DealType::UseCancel),
            date: None,
        })
        .unwrap_err();
    assert!(matches!(e, Error::Refused { .. }));
}

#[test]
fn cancel_of_a_cancel_or_a_failed_deal_is_refused() {
    let f = fixture();
    f.join("a");
    let s = f.save(1, 1, 1000).unwrap();
    let c = f.cancel(s.id.0).unwrap();
    assert!(matches!(f.cancel(c.id.0), Err(Error::Refused { .. })));
    let failed = f.use_pts(1, 1, 5).unwrap();
    assert_eq!(failed.status, DealStatus::Fail);
    assert!(matches!(f.cancel(failed.id.0), Err(Error::Refused { .. })));
}

#[test]
fn withdrawn_member_takes_part_in_no_deal_and_no_cancel() {
    let f = fixture();
    f.join("a");
    let s = f.save(1, 1, 1000).unwrap();
    f.one(Command::Withdraw(MemberId(1))).unwrap();
    assert!(matches!(f.save(1, 1, 10), Err(Error::Refused { .. })));
    assert!(matches!(f.use_pts(1, 1, 1), Err(Error::Refused { .. })));
    assert!(matches!(f.cancel(s.id.0), Err(Error::Refused { .. })));
    assert!(matches!(
        f.one(Command::Withdraw(MemberId(1))),
        Err(Error::Refused { .. })
    ));
    let ev = f.core.events(0, 100).unwrap();
    let forfeit = ev
        .iter()
        .find_map(|e| match &e.body {
            EventBody::PointDisappeared { point, .. } => Some(*point),
            _ => None,
        })
        .unwrap();
    assert_eq!(forfeit, Points(1000));
    f.assert_check();
}

#[test]
fn use_cancelled_before_billing_is_never_billed() {
    let f = fixture();
    f.join("a");
    f.save(1, 5, 100_000).unwrap();
    let u = f.use_pts(1, 5, 30_000).unwrap();
    f.cancel(u.id.0).unwrap();
    let b = bill(&f, 5, "202610").unwrap();
    assert_eq!(b.billing_amount, Points::ZERO);
    assert_eq!(b.deal_count, 0);
    assert_eq!(f.core.deal(u.id).unwrap().billing_status, BillingStatus::No);
    f.assert_check();
}

#[test]
fn use_cancelled_after_billing_is_clawed_back_next_settlement() {
    let f = fixture();
    f.join("a");
    f.save(1, 5, 1_000_000).unwrap();
    let u = f.use_pts(1, 5, 100_000).unwrap();
    let b1 = bill(&f, 5, "202610").unwrap();
    assert_eq!(b1.billing_amount, Points(98_000));
    f.cancel(u.id.0).unwrap();
    f.assert_check();
    let p = f
        .core
        .preview_billing(MerchantId(5), Month::parse("m", "202610").unwrap())
        .unwrap();
    assert_eq!((p.billing_amount, p.deal_count), (Points(-98_000), 1));
    let b2 = bill(&f, 5, "202610").unwrap();
    assert_ne!(b2.id, b1.id);
    assert_eq!(b2.billing_amount, Points(-98_000));
    assert_eq!(b2.deal_count, 1);
    let b3 = bill(&f, 5, "202610").unwrap();
    assert_eq!(b3, b2);
    f.assert_check();
}

#[test]
fn billing_includes_earlier_unbilled_months_but_not_later_ones() {
    let f = fixture();
    f.join("a");
    f.save(1, 5, 10_000_000).unwrap();
    let sept = onepoint::domain::calendar::parse_datetime("d", "2026-09-30T23:59:59Z").unwrap();
    let oct = onepoint::domain::calendar::parse_datetime("d", "2026-10-01T00:00:00Z").unwrap();
    for date in [sept, oct] {
        f.deal(DealRequest::Use {
            member: MemberId(1),
            merchant: MerchantId(5),
            points: Points(10_000),
            amount: None,
            date: Some(date),
        })
        .unwrap();
    }
    let preview = f
        .core
        .preview_billing(MerchantId(5), Month::parse("m", "202609").unwrap())
        .unwrap();
    assert_eq!(preview.deal_count, 1);
    let b = bill(&f, 5, "202609").unwrap();
    assert_eq!(b.billing_amount, Points(9_800));
    let b = bill(&f, 5, "202610").unwrap();
    assert_eq!(b.deal_count, 1);
    f.assert_check();
}

#[test]
fn billing_a_future_month_is_refused() {
    let f = fixture();
    let e = bill(&f, 5, "202611").unwrap_err();
    assert!(matches!(e, Error::Refused { ref field, .. } if field == "billingMonth"));
}

#[test]
fn same_key_same_request_returns_the_stored_result() {
    let f = fixture();
    f.join("a");
    f.save(1, 1, 1000).unwrap();
    let req = Command::Deal(DealRequest::Use {
        member: MemberId(1),
        merchant: MerchantId(1),
        points: Points(5000),
        amount: None,
        date: None,
    });
    let a = f.keyed(req.clone(), "k1").unwrap();
    let events = f.core.info().unwrap().events;
    f.save(1, 1, 1_000_000).unwrap();
    let b = f.keyed(req, "k1").unwrap();
    assert_eq!(a, b, "a failed use stays failed");
    assert_eq!(f.core.info().unwrap().events, events + 1);
}

#[test]
fn same_key_different_request_is_refused() {
    let f = fixture();
    f.join("a");
    f.keyed(Command::Withdraw(MemberId(1)), "k").unwrap();
    let e = f.keyed(Command::Withdraw(MemberId(2)), "k").unwrap_err();
    assert!(matches!(e, Error::KeyConflict { .. }));
}

#[test]
fn queries_page_by_member_and_merchant_month() {
    let f = fixture();
    f.join("a");
    f.join("b");
    for i in 0..10 {
        f.save(1 + (i % 2), 3 + (i % 3), 1000).unwrap();
    }
    let mine = f
        .core
        .deals(&DealQuery {
            member: Some(MemberId(1)),
            limit: 3,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(mine.iter().map(|d| d.id.0).collect::<Vec<_>>(), [9, 7, 5]);
    let next = f
        .core
        .deals(&DealQuery {
            member: Some(MemberId(1)),
            before: Some(DealId(5)),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(next.iter().map(|d| d.id.0).collect::<Vec<_>>(), [3, 1]);
    let m3 = f
        .core
        .deals(&DealQuery {
            merchant: Some(MerchantId(3)),
            month: Some(Month::parse("m", "202610").unwrap()),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(m3.iter().map(|d| d.id.0).collect::<Vec<_>>(), [10, 7, 4, 1]);
    let hist = f.core.member_history(MemberId(2), None, 2).unwrap();
    assert_eq!(hist.iter().map(|r| r.id.0).collect::<Vec<_>>(), [10, 8]);
    f.save(1, 1, 100).unwrap();
    let top = f
        .core
        .balances(&onepoint::domain::BalanceQuery {
            after: None,
            limit: 1,
        })
        .unwrap();
    assert_eq!(top[0].member_id, MemberId(1));
}

#[test]
fn everything_survives_a_reopen() {
    let mut f = fixture();
    f.join("a");
    f.save(1, 1, 5000).unwrap();
    f.reopen();
    assert_eq!(f.balance(1), Points(5000));
    assert_eq!(f.core.info().unwrap().events, 3);
    f.save(1, 1, 5000).unwrap();
    assert_eq!(f.core.info().unwrap().deals, 2);
    f.assert_check();
}

#[test]
fn a_second_open_of_the_same_store_is_refused_with_a_clear_error() {
    let f = fixture();
    let e = onepoint::domain::core::Core::open(f.dir.path(), Default::default())
        .err()
        .expect("second open refused");
    let msg = e.to_string();
    assert!(
        msg.contains("in use by another process") && msg.contains("--remote"),
        "{msg}"
    );
}

#[test]
fn name_search_is_a_case_insensitive_substring_and_sees_later_joins() {
    let f = fixture();
    for n in ["Olivia Kim", "김서연", "Kimberly Park", "Noah Lee"] {
        f.join(n);
    }
    let search = |q: &str| -> Vec<u64> {
        f.core
            .members(&onepoint::domain::MemberQuery {
                query: Some(q.into()),
                limit: 50,
                ..Default::default()
            })
            .unwrap()
            .iter()
            .map(|m| m.member_id.0)
            .collect()
    };
    assert_eq!(search("KIM"), [1, 3]);
    assert_eq!(search("서연"), [2]);
    f.join("Tim Kimura");
    assert_eq!(
        search("kim"),
        [1, 3, 5],
        "a member who joined after the first search"
    );
    f.one(Command::Withdraw(MemberId(3))).unwrap();
    let valid = f
        .core
        .members(&onepoint::domain::MemberQuery {
            query: Some("kim".into()),
            status: Some(onepoint::domain::MemberStatus::Valid),
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        valid.iter().map(|m| m.member_id.0).collect::<Vec<_>>(),
        [1, 5]
    );
}
