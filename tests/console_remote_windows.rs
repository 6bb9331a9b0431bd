//! The console's window and batch reads in remote mode: the remote adapter against a real
//! `onepoint serve` answers them in one request each, with the embedded adapter's rows.

mod remote_support;

use onepoint::api::Port;
use onepoint::domain::{
    Amount, Anchor, Command, DealRequest, DealWindow, MemberId, MemberKey, MemberOrder,
    MemberWindow, MerchantId, Month, NewMember,
};

#[test]
fn windows_names_and_previews_come_over_http() {
    let served = remote_support::serve(None);
    let out = tempfile::tempdir().unwrap();
    let r = remote_support::remote(&served.url(), None, out.path());
    for (i, name) in ["Kim", "Lee", "Park", "Choi", "Jung"].iter().enumerate() {
        r.run_one(
            Command::Join(NewMember {
                name: (*name).into(),
                phone: Some(format!("010-1234-{i:04}")),
                address: None,
            }),
            None,
        )
        .unwrap();
    }
    for m in 1..=5u64 {
        r.run_one(
            Command::Deal(DealRequest::Save {
                member: MemberId(m),
                merchant: MerchantId(2),
                amount: Amount(1_000 * (m * 7 % 5 + 1)),
                date: None,
            }),
            None,
        )
        .unwrap();
    }
    // Balances highest first, then the page after the first two rows.
    let q = |anchor| MemberWindow {
        order: MemberOrder::Balance,
        descending: true,
        anchor,
        limit: 2,
        ..Default::default()
    };
    let first = r.member_window(&q(Anchor::First)).unwrap();
    assert_eq!(first.total, Some(5));
    assert!(first.more_after);
    let next = r
        .member_window(&q(Anchor::After(MemberKey::Balance(
            first.rows[1].point,
            first.rows[1].member_id,
        ))))
        .unwrap();
    let walked: Vec<_> = first
        .rows
        .iter()
        .chain(&next.rows)
        .map(|m| m.point)
        .collect();
    let sorted = {
        let mut v = walked.clone();
        v.sort_by(|a, b| b.cmp(a));
        v
    };
    assert_eq!(walked, sorted);
    // Phone digits without separators find the member.
    let by_phone = r
        .member_window(&MemberWindow {
            query: Some("12340003".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_phone.rows.len(), 1);
    assert_eq!(by_phone.rows[0].name, "Choi");
    // A segment of the segments report (the Insights drill-down): all five joined today
    // with one save each, so all are "new" and none is dormant; an unknown one is refused.
    let seg = |name: &str| {
        r.member_window(&MemberWindow {
            segment: Some(name.into()),
            limit: 10,
            ..Default::default()
        })
    };
    let new = seg("new").unwrap();
    assert_eq!(new.rows.len(), 5);
    assert_eq!(new.total, Some(5));
    let dormant = seg("dormant").unwrap();
    assert!(dormant.rows.is_empty());
    assert_eq!(dormant.total, Some(0));
    let e = seg("sleepy").unwrap_err().to_string();
    assert!(e.contains("segment") && e.contains("champions"), "{e}");
    // Deals from the oldest end, and the names of a page in one request.
    let last = r
        .deal_window(&DealWindow {
            anchor: Anchor::Last,
            limit: 2,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(last.rows.last().unwrap().id.0, 1);
    assert_eq!(last.first_position, Some(3));
    let names = r
        .members_by_ids(&[MemberId(4), MemberId(99), MemberId(1)])
        .unwrap();
    let got: Vec<&str> = names.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(got, ["Choi", "Kim"]);
    let previews = r.previews(Month::from_code(202610), 50).unwrap();
    let p = previews
        .iter()
        .find(|p| p.merchant.merchant.merchant_id == MerchantId(2))
        .expect("the merchant dealt at");
    assert_eq!(p.preview.merchant_id, MerchantId(2));
    assert_eq!(p.preview.billing_month, Month::from_code(202610));
}

#[test]
fn activity_and_points_orders_come_over_http_as_the_store_has_them() {
    use onepoint::domain::DealOrder;
    let served = remote_support::serve(None);
    let out = tempfile::tempdir().unwrap();
    let r = remote_support::remote(&served.url(), None, out.path());
    for name in ["Kim", "Lee", "Park", "Choi"] {
        r.run_one(
            Command::Join(NewMember {
                name: name.into(),
                phone: None,
                address: None,
            }),
            None,
        )
        .unwrap();
    }
    let now = remote_support::NOW_MS;
    // Member 3 dealt most recently, then 1, then 2; member 4 never.
    for (m, hours_ago, amount) in [(1u64, 5, 9_000u64), (2, 9, 3_000), (3, 1, 6_000)] {
        r.run_one(
            Command::Deal(DealRequest::Save {
                member: MemberId(m),
                merchant: MerchantId(1),
                amount: Amount(amount),
                date: Some(now - hours_ago * 3_600_000),
            }),
            None,
        )
        .unwrap();
    }
    let members = |descending, anchor| {
        r.member_window(&MemberWindow {
            order: MemberOrder::LastActivity,
            descending,
            anchor,
            limit: 2,
            ..Default::default()
        })
        .unwrap()
    };
    let first = members(true, Anchor::First);
    let ids: Vec<u64> = first.rows.iter().map(|m| m.member_id.0).collect();
    assert_eq!(ids, [3, 1]);
    let after = MemberOrder::LastActivity.key_of(&first.rows[1]);
    let next = members(true, Anchor::After(after));
    let ids: Vec<u64> = next.rows.iter().map(|m| m.member_id.0).collect();
    assert_eq!(ids, [2, 4]);
    assert!(!next.more_after);
    // Asked for (a reload after the data moved), the place is counted by the server.
    let placed = |place| {
        r.member_window(&MemberWindow {
            order: MemberOrder::LastActivity,
            descending: true,
            anchor: Anchor::From(MemberOrder::LastActivity.key_of(&next.rows[0])),
            limit: 2,
            place,
            ..Default::default()
        })
        .unwrap()
        .first_position
    };
    assert_eq!((placed(true), placed(false)), (Some(2), None));
    // Deals by points, fewest first, across a window boundary.
    let deals = |anchor| {
        r.deal_window(&DealWindow {
            order: DealOrder::Points,
            oldest_first: true,
            anchor,
            limit: 2,
            ..Default::default()
        })
        .unwrap()
    };
    let first = deals(Anchor::First);
    let mut ids: Vec<u64> = first.rows.iter().map(|d| d.id.0).collect();
    ids.extend(
        deals(Anchor::After(first.rows[1].id))
            .rows
            .iter()
            .map(|d| d.id.0),
    );
    assert_eq!(ids, [2, 3, 1]);
    // By date (given dates: deal 2 is back-dated behind 1, so not the id order), oldest
    // first and newest first, across a window boundary, with the exact place.
    let dates = |oldest_first, anchor| {
        r.deal_window(&DealWindow {
            order: DealOrder::Date,
            oldest_first,
            anchor,
            limit: 1,
            ..Default::default()
        })
        .unwrap()
    };
    for (oldest_first, want) in [(true, [2u64, 1, 3]), (false, [3, 1, 2])] {
        let mut w = dates(oldest_first, Anchor::First);
        let mut ids = Vec::new();
        loop {
            assert_eq!(w.first_position, Some(ids.len() as u64), "{ids:?}");
            ids.push(w.rows[0].id.0);
            if !w.more_after {
                break;
            }
            w = dates(oldest_first, Anchor::After(w.rows[0].id));
        }
        assert_eq!(ids, want, "oldest_first={oldest_first}");
    }
    for order in [DealOrder::Points, DealOrder::Date] {
        let e = r
            .deal_window(&DealWindow {
                order,
                member: Some(MemberId(1)),
                ..Default::default()
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("order"), "{e}");
    }
}
