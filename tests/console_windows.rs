//! The store reads behind the console's tables: every order is the whole table's, a walk
//! page by page from either end (or back from any cursor) meets every row once, in order,
//! and the batch reads answer a page in one call.

mod support;

use onepoint::domain::{
    Anchor, DealWindow, MemberId, MemberKey, MemberOrder, MemberStatus, MemberView, MemberWindow,
    Month, Window,
};
use support::{Fixture, fixture};

const NAMES: [&str; 7] = ["kim", "Lee", "park", "Choi", "jung", "Kang", "cho"];

/// 60 members with repeated names, varied balances, 3 withdrawn.
fn store() -> Fixture {
    let f = fixture();
    for i in 0..60u64 {
        f.join(NAMES[(i % 7) as usize]);
    }
    for i in 1..=60u64 {
        f.save(i, 1 + i % 3, (i * 7_919) % 50_000 + 100).unwrap();
    }
    for i in [5u64, 17, 40] {
        f.one(onepoint::domain::Command::Withdraw(MemberId(i)))
            .unwrap();
    }
    f
}

fn window(
    f: &Fixture,
    order: MemberOrder,
    descending: bool,
    anchor: Anchor<MemberKey>,
) -> Window<MemberView> {
    f.core
        .member_window(&MemberWindow {
            order,
            descending,
            anchor,
            limit: 7,
            ..Default::default()
        })
        .unwrap()
}

/// The whole table, walked forward from the first page.
fn forward(f: &Fixture, order: MemberOrder, descending: bool) -> Vec<MemberView> {
    let mut all = Vec::new();
    let mut w = window(f, order, descending, Anchor::First);
    assert_eq!(w.first_position, Some(0));
    loop {
        all.extend(w.rows.iter().cloned());
        if !w.more_after {
            break;
        }
        let last = order.key_of(w.rows.last().unwrap());
        w = window(f, order, descending, Anchor::After(last));
    }
    all
}

/// The whole table, walked backward from the last page.
fn backward(f: &Fixture, order: MemberOrder, descending: bool) -> Vec<MemberView> {
    let mut all = Vec::new();
    let mut w = window(f, order, descending, Anchor::Last);
    assert_eq!(w.first_position, Some(60 - w.rows.len() as u64));
    loop {
        let mut page = w.rows.clone();
        page.extend(all);
        all = page;
        if !w.more_before {
            break;
        }
        let first = order.key_of(w.rows.first().unwrap());
        w = window(f, order, descending, Anchor::Before(first));
    }
    all
}

fn expected(f: &Fixture, order: MemberOrder, descending: bool) -> Vec<u64> {
    let mut all: Vec<MemberView> = f
        .core
        .members_by_ids(&(1..=60).map(MemberId).collect::<Vec<_>>())
        .unwrap();
    all.sort_by(|a, b| {
        let o = match order {
            MemberOrder::Id => a.member_id.cmp(&b.member_id),
            MemberOrder::Name => a
                .name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.member_id.cmp(&b.member_id)),
            MemberOrder::Balance => a.point.cmp(&b.point).then(a.member_id.cmp(&b.member_id)),
            MemberOrder::LastActivity => a
                .last_activity
                .cmp(&b.last_activity)
                .then(a.member_id.cmp(&b.member_id)),
        };
        if descending { o.reverse() } else { o }
    });
    all.iter().map(|m| m.member_id.0).collect()
}

fn ids(v: &[MemberView]) -> Vec<u64> {
    v.iter().map(|m| m.member_id.0).collect()
}

#[test]
fn every_member_order_walks_the_whole_table_both_ways() {
    let f = store();
    for order in [
        MemberOrder::Id,
        MemberOrder::Name,
        MemberOrder::Balance,
        MemberOrder::LastActivity,
    ] {
        for descending in [false, true] {
            let want = expected(&f, order, descending);
            assert_eq!(want.len(), 60);
            assert_eq!(
                ids(&forward(&f, order, descending)),
                want,
                "{order:?} desc={descending} forward"
            );
            assert_eq!(
                ids(&backward(&f, order, descending)),
                want,
                "{order:?} desc={descending} backward"
            );
        }
    }
}

#[test]
fn the_top_balance_is_first_whatever_page_it_was_on() {
    let f = store();
    let top = window(&f, MemberOrder::Balance, true, Anchor::First);
    let max = f
        .core
        .members_by_ids(&(1..=60).map(MemberId).collect::<Vec<_>>())
        .unwrap()
        .into_iter()
        .map(|m| m.point)
        .max()
        .unwrap();
    assert_eq!(top.rows[0].point, max);
    assert_eq!(top.total, Some(60));
}

#[test]
fn a_window_from_a_row_starts_at_it_and_id_order_knows_positions() {
    let f = store();
    let w = window(
        &f,
        MemberOrder::Id,
        false,
        Anchor::From(MemberKey::Id(MemberId(30))),
    );
    assert_eq!(w.rows[0].member_id, MemberId(30));
    assert_eq!(w.first_position, Some(29));
    let w = window(
        &f,
        MemberOrder::Id,
        true,
        Anchor::From(MemberKey::Id(MemberId(30))),
    );
    assert_eq!(ids(&w.rows), vec![30, 29, 28, 27, 26, 25, 24]);
    assert_eq!(w.first_position, Some(30));
}

#[test]
fn filters_apply_while_walking_and_count_when_they_can() {
    let f = store();
    let w = f
        .core
        .member_window(&MemberWindow {
            status: Some(MemberStatus::Invalid),
            order: MemberOrder::Balance,
            descending: true,
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(ids(&w.rows).len(), 3);
    assert_eq!(w.total, Some(3));
    let w = f
        .core
        .member_window(&MemberWindow {
            query: Some("CHO".into()),
            order: MemberOrder::Name,
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    // "cho" and "choi", names in order.
    assert!(w.rows.iter().all(|m| m.name.to_lowercase().contains("cho")));
    assert_eq!(w.total, Some(w.rows.len() as u64));
    assert_eq!(w.rows.first().unwrap().name, "cho");
}

#[test]
fn deals_walk_newest_first_and_back_from_the_oldest() {
    let f = store();
    for m in 41..=60u64 {
        f.save(m, 2, 1_000).unwrap();
    }
    let total = 80;
    let q = |anchor| DealWindow {
        anchor,
        limit: 9,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut w = f.core.deal_window(&q(Anchor::First)).unwrap();
    assert_eq!(w.total, Some(total));
    loop {
        seen.extend(w.rows.iter().map(|d| d.id.0));
        if !w.more_after {
            break;
        }
        w = f
            .core
            .deal_window(&q(Anchor::After(w.rows.last().unwrap().id)))
            .unwrap();
    }
    assert_eq!(seen, (1..=total).rev().collect::<Vec<_>>());
    let last = f.core.deal_window(&q(Anchor::Last)).unwrap();
    assert_eq!(last.rows.last().unwrap().id.0, 1);
    assert_eq!(last.first_position, Some(total - 9));
    let before = f
        .core
        .deal_window(&q(Anchor::Before(last.rows[0].id)))
        .unwrap();
    assert_eq!(before.rows.last().unwrap().id.0, last.rows[0].id.0 + 1);
    // Through the merchant index, and a member's own history.
    let by_merchant = f
        .core
        .deal_window(&DealWindow {
            merchant: Some(onepoint::domain::MerchantId(2)),
            month: Some(Month::from_code(202610)),
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert!(by_merchant.rows.iter().all(|d| d.merchant_id.0 == 2));
    assert!(by_merchant.rows.windows(2).all(|p| p[0].id > p[1].id));
    let mine = f
        .core
        .deal_window(&DealWindow {
            member: Some(MemberId(45)),
            oldest_first: true,
            anchor: Anchor::Last,
            limit: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(mine.total, Some(2));
    assert_eq!(mine.first_position, Some(1));
    assert_eq!(mine.rows[0].member_id, MemberId(45));
}

#[test]
fn members_by_ids_answers_in_the_order_asked_and_skips_unknown_ids() {
    let f = store();
    let got = f
        .core
        .members_by_ids(&[MemberId(9), MemberId(999), MemberId(2)])
        .unwrap();
    assert_eq!(ids(&got), vec![9, 2]);
    let p = f.core.previews(Month::from_code(202610), 10).unwrap();
    assert!(
        p.iter()
            .all(|r| r.preview.merchant_id == r.merchant.merchant.merchant_id)
    );
}

#[test]
fn the_worker_reads_a_deal_page_with_its_names_and_finds_a_member_by_name() {
    use onepoint::api::Port;
    use onepoint::api::embedded::Embedded;
    use onepoint::app::action::{Action, DealTable, Effect, Loaded};
    use onepoint::app::state::table::Fetch;
    use onepoint::domain::core::CoreOptions;
    use onepoint::domain::{Clock, Rates};
    let dir = tempfile::tempdir().unwrap();
    let port = Embedded::open_with(
        dir.path(),
        CoreOptions {
            rates: Rates::default(),
            zone: chrono::FixedOffset::east_opt(0).unwrap(),
            clock: Clock::fixed(support::NOW_MS),
        },
    )
    .unwrap();
    let join = |name: &str| {
        port.run_one(
            onepoint::domain::Command::Join(onepoint::domain::NewMember {
                name: name.into(),
                phone: None,
                address: None,
            }),
            None,
        )
        .unwrap();
    };
    for n in ["Kim Minjun", "Kim Ji", "Olivia Smith"] {
        join(n);
    }
    for m in 1..=3u64 {
        port.run_one(
            onepoint::domain::Command::Deal(onepoint::domain::DealRequest::Save {
                member: MemberId(m),
                merchant: onepoint::domain::MerchantId(1),
                amount: onepoint::domain::Amount(10_000),
                date: None,
            }),
            None,
        )
        .unwrap();
    }
    let load = |name: Option<&str>| {
        onepoint::app::worker::run(
            &port,
            Effect::LoadDeals {
                table: DealTable::Deals,
                generation: 1,
                fetch: Fetch::First,
                query: DealWindow {
                    limit: 50,
                    ..Default::default()
                },
                member_name: name.map(str::to_string),
            },
        )
    };
    match load(None) {
        Action::Loaded(Loaded::Deals { window, names, .. }) => {
            assert_eq!(window.rows.len(), 3);
            assert_eq!(
                names.len(),
                3,
                "one batch read names every member on the page"
            );
            assert!(names.iter().any(|(_, n)| n == "Olivia Smith"));
        }
        other => panic!("{other:?}"),
    }
    match load(Some("olivia")) {
        Action::Loaded(Loaded::Deals { window, .. }) => {
            assert_eq!(window.rows.len(), 1);
            assert_eq!(window.rows[0].member_id, MemberId(3));
        }
        other => panic!("{other:?}"),
    }
    match load(Some("kim")) {
        Action::Failed { error, .. } => {
            assert!(error.to_string().contains("2 members match"), "{error}");
        }
        other => panic!("{other:?}"),
    }
}
