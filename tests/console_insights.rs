//! The Insights tab: its snapshots (each report, fixed data from a store on a fixed clock),
//! its loads, window and view keys, and the drill-down from a row to the Members or Deals
//! tab filtered to it.

mod console_support;
mod support;

use console_support::{render, state};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use onepoint::app::action::{Action, Effect, Loaded};
use onepoint::app::state::insights::InsightView;
use onepoint::app::state::{State, Tab, ThemeName};
use onepoint::app::update::update;
use onepoint::domain::reports::{Report, ReportKind, ReportQuery};
use onepoint::domain::{BillingRequest, Command, MemberId, MerchantId, Month};

const DAY: i64 = 86_400_000;

fn press(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// A small history over three months on a fixed clock: saves, uses, a failed use, cancels
/// (one clawed back), a settlement, a withdrawal.
fn history() -> support::Fixture {
    let f = support::fixture();
    for n in ["Kim", "Lee", "Park", "Choi"] {
        f.join(n);
    }
    f.save(1, 3, 250_000).unwrap();
    f.save(2, 3, 80_000).unwrap();
    f.save(3, 5, 40_000).unwrap();
    f.use_pts(1, 3, 50_000).unwrap();
    f.use_pts(4, 5, 9_000).unwrap();
    f.one(Command::Bill(BillingRequest {
        merchant: MerchantId(3),
        month: Month::parse("m", "202610").unwrap(),
    }))
    .unwrap();
    f.clock.advance(31 * DAY);
    f.cancel(4).unwrap();
    f.use_pts(2, 3, 1_000_000).unwrap();
    f.use_pts(2, 3, 2_000_000).unwrap();
    f.save(2, 5, 10_000).unwrap();
    f.cancel(9).unwrap();
    f.one(Command::Withdraw(MemberId(3))).unwrap();
    f.clock.advance(5 * DAY);
    f.save(1, 5, 120_000).unwrap();
    f
}

/// The Insights tab showing `view`, with the report for it delivered as the worker would.
fn shown(f: &support::Fixture, view: InsightView, w: u16, h: u16) -> State {
    let mut s = state(w, h, ThemeName::Dark);
    s.now = f.clock.now();
    let effects = press(&mut s, KeyCode::Char('6'));
    assert_eq!(s.tab, Tab::Insights);
    let mut query = match effects.as_slice() {
        [Effect::LoadReport { query, .. }] => query.clone(),
        other => panic!("{other:?}"),
    };
    while s.insights.view != view {
        let e = press(&mut s, KeyCode::Char('v'));
        query = match e.as_slice() {
            [Effect::LoadReport { query, .. }] => query.clone(),
            other => panic!("{other:?}"),
        };
    }
    let report = f.core.report(&query).unwrap();
    let generation = s.insights.generation;
    update(
        &mut s,
        Action::Loaded(Loaded::Report {
            generation,
            report: Box::new(report),
        }),
    );
    s
}

#[test]
fn each_report_has_its_snapshot() {
    let f = history();
    for (name, view) in [
        ("liability", InsightView::Liability),
        ("activity", InsightView::Activity),
        ("segments", InsightView::Segments),
        ("dormant", InsightView::Dormant),
        ("anomalies", InsightView::Anomalies),
    ] {
        for (w, h) in [(80, 24), (200, 50)] {
            let s = shown(&f, view, w, h);
            insta::assert_snapshot!(format!("insights_{name}_{w}x{h}"), render(&s));
        }
    }
}

#[test]
fn the_tab_loads_the_report_of_its_view_and_window() {
    let f = history();
    let mut s = shown(&f, InsightView::Activity, 120, 40);
    assert!(s.insights.report.is_some());
    // `i` moves to weekly activity; `[` one window back, `]` forward again.
    match press(&mut s, KeyCode::Char('i')).as_slice() {
        [Effect::LoadReport { query, .. }] => {
            assert_eq!(query.grain, onepoint::domain::reports::Grain::Week);
            assert_eq!(query.to, None);
        }
        other => panic!("{other:?}"),
    }
    match press(&mut s, KeyCode::Char('[')).as_slice() {
        [Effect::LoadReport { query, .. }] => assert!(query.to.is_some()),
        other => panic!("{other:?}"),
    }
    match press(&mut s, KeyCode::Char(']')).as_slice() {
        [Effect::LoadReport { query, .. }] => assert_eq!(query.to, None),
        other => panic!("{other:?}"),
    }
    // A stale answer (an older generation) is ignored.
    let before = s.insights.generation;
    update(
        &mut s,
        Action::Loaded(Loaded::Report {
            generation: before - 1,
            report: Box::new(
                f.core
                    .report(&ReportQuery::new(ReportKind::Segments))
                    .unwrap(),
            ),
        }),
    );
    assert!(!matches!(s.insights.report, Some(Report::Segments(_))));
}

#[test]
fn enter_opens_the_deals_or_member_behind_a_row() {
    let f = history();
    // Anomalies: member 2 (two failed uses, a cancel in the window) -> their deals.
    let mut s = shown(&f, InsightView::Anomalies, 120, 40);
    let Some(Report::Anomalies(a)) = &s.insights.report else {
        panic!()
    };
    let at = a
        .members
        .iter()
        .position(|m| m.member_id == MemberId(2))
        .expect("member 2 is flagged");
    for _ in 0..at {
        press(&mut s, KeyCode::Down);
    }
    assert!(!s.insights.behind.is_empty());
    let e = press(&mut s, KeyCode::Enter);
    assert_eq!(s.tab, Tab::Deals);
    assert_eq!(s.deals.filter.member, Some(MemberId(2)));
    assert!(
        matches!(e.as_slice(), [Effect::LoadDeals { query, .. }] if query.member == Some(MemberId(2)))
    );

    // Segments: Enter on "dormant" opens the dormant list; Enter on a holder, the analysis.
    let mut s = shown(&f, InsightView::Segments, 120, 40);
    for _ in 0..5 {
        press(&mut s, KeyCode::Down);
    }
    let e = press(&mut s, KeyCode::Enter);
    assert_eq!(s.insights.view, InsightView::Dormant);
    assert!(
        matches!(e.as_slice(), [Effect::LoadReport { query, .. }] if query.kind == ReportKind::Dormant)
    );

    // Liability: Enter on a month -> that month's deals.
    let mut s = shown(&f, InsightView::Liability, 120, 40);
    let e = press(&mut s, KeyCode::Enter);
    assert_eq!(s.tab, Tab::Deals);
    assert_eq!(
        s.deals.filter.month.map(|m| m.to_string()).as_deref(),
        Some("202610")
    );
    assert!(matches!(e.as_slice(), [Effect::LoadDeals { .. }]));
}

/// The text of the screen row that holds `needle`.
fn line_with(screen: &str, needle: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{screen}"))
        .to_string()
}

#[test]
fn a_wide_report_scrolls_whole_columns_and_never_cuts_a_number() {
    let f = history();
    let mut s = shown(&f, InsightView::Liability, 80, 24);
    let screen = render(&s).to_string();
    // Too wide for 80 columns: the first columns, whole, and where the rest are.
    assert!(screen.contains("columns 2-"), "{screen}");
    let head = line_with(&screen, "month");
    assert!(
        head.contains("opening") && !head.contains("clawbacks"),
        "{head}"
    );
    // → scrolls: the month stays pinned, later columns come in, whole.
    for _ in 0..20 {
        press(&mut s, KeyCode::Right);
    }
    let screen = render(&s).to_string();
    let head = line_with(&screen, "month");
    assert!(
        head.contains("clawbacks") && !head.contains("opening"),
        "{head}"
    );
    assert!(screen.contains("of 12 ←→"), "{screen}");
    // Every points cell shown has its two decimals (nothing cut on the left or right).
    let body = line_with(&screen, "202610");
    for cell in body.split_whitespace().skip(1) {
        let cell = cell.trim_matches(|c| c == '│' || c == '"');
        if cell.is_empty() {
            continue;
        }
        assert!(
            cell.len() >= 4 && cell.as_bytes()[cell.len() - 3] == b'.',
            "{cell:?} in {body}"
        );
    }
    // ← goes back to the start.
    for _ in 0..20 {
        press(&mut s, KeyCode::Left);
    }
    assert!(line_with(&render(&s).to_string(), "month").contains("opening"));
}
