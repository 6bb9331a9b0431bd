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
use onepoint::domain::{BillingRequest, Command, MemberId, MemberWindow, MerchantId, Month};

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

    // Segments: Enter on "dormant" opens the Members tab filtered to the dormant members.
    let mut s = shown(&f, InsightView::Segments, 120, 40);
    for _ in 0..5 {
        press(&mut s, KeyCode::Down);
    }
    let e = press(&mut s, KeyCode::Enter);
    assert_eq!(s.tab, Tab::Members);
    assert!(
        matches!(e.as_slice(), [Effect::LoadMembers { query, .. }] if query.segment.as_deref() == Some("dormant"))
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

/// Members spread over every segment on a fixed clock (155 days after the first joins):
/// 1, 2 champions (three large saves five days ago); 3 loyal (three small ones); 4 active;
/// 5, 6 at risk (last deal 55 days ago); 7, 8 dormant (155 days); 9, 10 new (joined five
/// days ago, no deal); 11 withdrawn (in no segment).
fn segmented() -> support::Fixture {
    let f = support::fixture();
    for n in [
        "Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han",
    ] {
        f.join(n);
    }
    f.save(7, 3, 20_000).unwrap();
    f.save(8, 3, 30_000).unwrap();
    f.one(Command::Withdraw(MemberId(11))).unwrap();
    f.clock.advance(100 * DAY);
    f.save(5, 3, 40_000).unwrap();
    f.save(6, 5, 50_000).unwrap();
    f.clock.advance(50 * DAY);
    for _ in 0..3 {
        f.save(1, 3, 300_000).unwrap();
        f.save(2, 5, 250_000).unwrap();
        f.save(3, 3, 10_000).unwrap();
    }
    f.save(4, 5, 10_000).unwrap();
    // Joined late: new, not dealing yet (ids 12 and 13: "new" needs < 30 days).
    f.join("Jang Late");
    f.join("Lim Late");
    f.clock.advance(5 * DAY);
    f
}

/// Runs the worker's window read for a `LoadMembers` effect against the core and delivers
/// it; returns the query it ran.
fn deliver_members(f: &support::Fixture, s: &mut State, effects: &[Effect]) -> MemberWindow {
    let Some(Effect::LoadMembers {
        table,
        generation,
        fetch,
        query,
    }) = effects
        .iter()
        .find(|e| matches!(e, Effect::LoadMembers { .. }))
    else {
        panic!("no member window asked for: {effects:?}");
    };
    let window = f.core.member_window(query).unwrap();
    update(
        s,
        Action::Loaded(Loaded::Members {
            table: *table,
            generation: *generation,
            fetch: *fetch,
            window,
        }),
    );
    query.clone()
}

#[test]
fn enter_on_every_segment_lists_its_members_and_esc_comes_back() {
    let f = segmented();
    let report = match f
        .core
        .report(&ReportQuery::new(ReportKind::Segments))
        .unwrap()
    {
        Report::Segments(r) => r,
        other => panic!("{other:?}"),
    };
    let want: Vec<(&str, Vec<u64>)> = vec![
        ("champions", vec![1, 2]),
        ("loyal", vec![3]),
        ("active", vec![4]),
        ("new", vec![12, 13]),
        ("at risk", vec![5, 6]),
        ("dormant", vec![7, 8, 9, 10]),
    ];
    for (row, (name, ids)) in want.iter().enumerate() {
        assert_eq!(report.rows[row].segment, *name);
        assert_eq!(report.rows[row].members, ids.len() as u64, "{name}");
        let mut s = shown(&f, InsightView::Segments, 120, 40);
        for _ in 0..row {
            press(&mut s, KeyCode::Down);
        }
        let e = press(&mut s, KeyCode::Enter);
        assert_eq!(s.tab, Tab::Members, "{name}");
        let q = deliver_members(&f, &mut s, &e);
        assert_eq!(q.segment.as_deref(), Some(*name));
        let got: Vec<u64> = s.members.table.rows.iter().map(|m| m.member_id.0).collect();
        assert_eq!(&got, ids, "{name}");
        // The same members the export's per-member segment names, and the report's count.
        let totals = f
            .core
            .member_totals(&(1..=13).map(MemberId).collect::<Vec<_>>())
            .unwrap();
        let by_export: Vec<u64> = totals
            .iter()
            .filter(|t| t.segment == *name)
            .map(|t| t.member_id.0)
            .collect();
        assert_eq!(&by_export, ids, "{name}");
        let screen = render(&s).to_string();
        let title = format!("segment: {name} ({})", ids.len());
        assert!(screen.contains(&title), "{title} in\n{screen}");
        assert!(screen.contains("Esc back to Insights"), "{screen}");
        // Esc: back to Insights; the Members tab is whole again when shown next.
        let e = press(&mut s, KeyCode::Esc);
        assert_eq!(s.tab, Tab::Insights);
        assert!(s.members.segment.is_none() && s.drilled.is_none());
        assert!(matches!(e.as_slice(), [Effect::LoadReport { .. }]), "{e:?}");
        let e = press(&mut s, KeyCode::Char('1'));
        let q = deliver_members(&f, &mut s, &e);
        assert_eq!(q.segment, None);
        assert_eq!(s.members.table.total, Some(13));
        assert!(!render(&s).to_string().contains("segment:"));
    }
}

#[test]
fn a_segment_drill_keeps_its_filter_while_sorting_and_q_goes_back_not_out() {
    let f = segmented();
    let mut s = shown(&f, InsightView::Segments, 120, 40);
    for _ in 0..5 {
        press(&mut s, KeyCode::Down);
    }
    let e = press(&mut s, KeyCode::Enter);
    deliver_members(&f, &mut s, &e);
    // Sorted by balance, largest first: still only the dormant members, the whole segment.
    let e = press(&mut s, KeyCode::Char('B'));
    let e = if e.is_empty() {
        press(&mut s, KeyCode::Char('B'))
    } else {
        e
    };
    let q = deliver_members(&f, &mut s, &e);
    assert_eq!(q.segment.as_deref(), Some("dormant"));
    let mut got: Vec<u64> = s.members.table.rows.iter().map(|m| m.member_id.0).collect();
    assert_eq!(s.members.table.total, Some(4));
    got.sort();
    assert_eq!(got, [7, 8, 9, 10]);
    // `q` in the drill-down goes back to Insights, it does not quit.
    press(&mut s, KeyCode::Char('q'));
    assert!(!s.quit);
    assert_eq!(s.tab, Tab::Insights);
    press(&mut s, KeyCode::Char('q'));
    assert!(s.quit);
}

#[test]
fn an_anomaly_opens_its_deals_named_in_the_title_and_esc_puts_the_old_filter_back() {
    let f = history();
    let mut s = shown(&f, InsightView::Anomalies, 120, 40);
    // The user's own Deals filter, set before the drill-down.
    press(&mut s, KeyCode::Char('2'));
    press(&mut s, KeyCode::Char('/'));
    for c in "type:use".chars() {
        press(&mut s, KeyCode::Char(c));
    }
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.deals.filter_text, "type:use");
    press(&mut s, KeyCode::Char('6'));
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
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.tab, Tab::Deals);
    assert_eq!(s.deals.filter.member, Some(MemberId(2)));
    assert_eq!(s.deals.filter.deal_type, None);
    let screen = render(&s).to_string();
    assert!(screen.contains("anomaly: Lee (2)"), "{screen}");
    assert!(screen.contains("Esc back to Insights"), "{screen}");
    // Esc: Insights again, and the Deals tab reads its own filter when shown next.
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.tab, Tab::Insights);
    assert_eq!(s.deals.filter_text, "type:use");
    let e = press(&mut s, KeyCode::Char('2'));
    assert!(
        matches!(e.as_slice(), [Effect::LoadDeals { query, .. }] if query.member.is_none() && query.deal_type == Some(onepoint::domain::DealType::Use)),
        "{e:?}"
    );
    // Not drilled: Esc on Deals stays, and the hint line does not offer it.
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.tab, Tab::Deals);
    assert!(!render(&s).to_string().contains("back to Insights"));
}

#[test]
fn a_segment_drill_down_snapshot() {
    let f = segmented();
    let mut s = shown(&f, InsightView::Segments, 80, 24);
    for _ in 0..4 {
        press(&mut s, KeyCode::Down);
    }
    let e = press(&mut s, KeyCode::Enter);
    deliver_members(&f, &mut s, &e);
    insta::assert_snapshot!("insights_segment_at_risk_80x24", render(&s));
}

#[test]
fn the_members_window_refuses_an_unknown_segment_naming_the_field() {
    let f = segmented();
    let e = f
        .core
        .member_window(&MemberWindow {
            segment: Some("sleepy".into()),
            limit: 10,
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("segment") && e.contains("at risk"), "{e}");
    // Every order gives the segment's members only, with its count as the total.
    for order in [
        onepoint::domain::MemberOrder::Id,
        onepoint::domain::MemberOrder::Name,
        onepoint::domain::MemberOrder::Balance,
    ] {
        let w = f
            .core
            .member_window(&MemberWindow {
                segment: Some("At Risk".into()),
                order,
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        let mut ids: Vec<u64> = w.rows.iter().map(|m| m.member_id.0).collect();
        ids.sort();
        assert_eq!(ids, [5, 6], "{order:?}");
        assert_eq!(w.total, Some(2));
    }
}

#[test]
fn from_a_segment_a_member_analysis_and_back_step_by_step() {
    let f = segmented();
    let mut s = shown(&f, InsightView::Segments, 120, 40);
    let e = press(&mut s, KeyCode::Enter);
    deliver_members(&f, &mut s, &e);
    assert_eq!(s.members.segment.as_deref(), Some("champions"));
    // Enter on a champion: the analysis; Esc back to the segment's list, still filtered.
    press(&mut s, KeyCode::Enter);
    assert_eq!(
        s.members.analysis.as_ref().map(|a| a.member),
        Some(MemberId(1))
    );
    assert!(!s.in_drill(), "the analysis is not the drill-down itself");
    press(&mut s, KeyCode::Esc);
    assert!(s.members.analysis.is_none());
    assert_eq!(s.tab, Tab::Members);
    assert_eq!(s.members.segment.as_deref(), Some("champions"));
    // Esc again: Insights.
    press(&mut s, KeyCode::Esc);
    assert_eq!(s.tab, Tab::Insights);
    assert!(s.members.segment.is_none());
}

#[test]
fn a_second_drill_down_to_another_tab_puts_the_first_ones_filter_back() {
    let f = segmented();
    let mut s = shown(&f, InsightView::Segments, 120, 40);
    press(&mut s, KeyCode::Char('1'));
    press(&mut s, KeyCode::Char('/'));
    for c in "Kim".chars() {
        press(&mut s, KeyCode::Char(c));
    }
    press(&mut s, KeyCode::Enter);
    press(&mut s, KeyCode::Char('6'));
    let e = press(&mut s, KeyCode::Enter);
    deliver_members(&f, &mut s, &e);
    assert_eq!(s.members.query, "");
    // Back in Insights by its tab key (not Esc), then a month of the roll-forward: Deals.
    press(&mut s, KeyCode::Char('6'));
    let mut e = Vec::new();
    while s.insights.view != InsightView::Liability {
        e = press(&mut s, KeyCode::Char('v'));
    }
    let Some(Effect::LoadReport { query, .. }) = e.first() else {
        panic!("{e:?}")
    };
    let generation = s.insights.generation;
    update(
        &mut s,
        Action::Loaded(Loaded::Report {
            generation,
            report: Box::new(f.core.report(query).unwrap()),
        }),
    );
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.tab, Tab::Deals);
    assert!(s.in_drill());
    // The Members tab has its own filter back, and reads it when shown.
    assert!(s.members.segment.is_none());
    assert_eq!(s.members.query, "Kim");
    let e = press(&mut s, KeyCode::Char('1'));
    assert!(!s.in_drill());
    let q = deliver_members(&f, &mut s, &e);
    assert_eq!((q.segment, q.query.as_deref()), (None, Some("Kim")));
}

#[test]
fn activity_by_month_opens_a_months_deals_and_by_day_says_there_is_nothing_to_open() {
    let f = history();
    let mut s = shown(&f, InsightView::Activity, 120, 40);
    // By day: no Deals filter for a day.
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.tab, Tab::Insights);
    // By month (`i` twice): the selected month's deals.
    press(&mut s, KeyCode::Char('i'));
    let e = press(&mut s, KeyCode::Char('i'));
    let Some(Effect::LoadReport { query, .. }) = e.first() else {
        panic!("{e:?}")
    };
    let generation = s.insights.generation;
    update(
        &mut s,
        Action::Loaded(Loaded::Report {
            generation,
            report: Box::new(f.core.report(query).unwrap()),
        }),
    );
    let Some(Report::Activity(a)) = &s.insights.report else {
        panic!()
    };
    let period = a.rows[s.insights.selected].period.clone();
    press(&mut s, KeyCode::Enter);
    assert_eq!(s.tab, Tab::Deals);
    assert_eq!(
        s.deals.filter.month.map(|m| m.to_string()),
        Some(period.clone())
    );
    assert!(
        render(&s)
            .to_string()
            .contains(&format!("deals of {period}"))
    );
}
