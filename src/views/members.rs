//! The Members tab: the member table, and the member analysis (details, totals, top
//! merchants, balance over time, the paged dashboard history).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Cell, Chart, Dataset, GraphType, Paragraph, Row};

use super::format::{age, clip, compact, date_in, date_time_in, pad, plural, points, thousands};
use super::theme::Theme;
use super::widgets::{block, heading, position_title, window_table};
use crate::app::state::State;
use crate::app::state::members::Analysis;
use crate::domain::{DealStatus, MemberOrder, MemberStatus};

pub fn status_style(st: MemberStatus, t: &Theme) -> Style {
    match st {
        MemberStatus::Valid => t.good,
        MemberStatus::Invalid => t.muted,
    }
}

pub fn table(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let m = &s.members;
    let wide = area.width >= 100;
    let mut notes = vec![format!("sort {}", m.sort.label())];
    if let Some(seg) = &m.segment {
        // The store's count of the segment (none while the first window is read).
        notes.push(match m.table.total {
            Some(n) => format!("segment: {seg} ({})", thousands(n)),
            None => format!("segment: {seg}"),
        });
    }
    if !m.query.is_empty() {
        notes.push(format!("filter \"{}\"", m.query));
    }
    let title = position_title("Members", &m.table, &notes);
    let by = |o: MemberOrder| (m.sort.by == o).then_some(m.sort.descending);
    let mut head = vec![
        heading("id", by(MemberOrder::Id)),
        heading("name", by(MemberOrder::Name)),
    ];
    let mut widths = vec![Constraint::Length(9), Constraint::Max(32)];
    if wide {
        head.push("phone".into());
        widths.push(Constraint::Length(15));
    }
    head.extend([
        "status".into(),
        heading("balance", by(MemberOrder::Balance)),
    ]);
    widths.extend([Constraint::Length(7), Constraint::Length(15)]);
    if wide {
        head.push("joined".into());
        widths.push(Constraint::Length(10));
    }
    head.push(heading("last activity", by(MemberOrder::LastActivity)));
    widths.push(Constraint::Length(13));
    let head: Vec<Cell> = head
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            // The balance heading sits over right-aligned numbers.
            if h.starts_with("balance") && i > 1 {
                Cell::from(Line::from(h).right_aligned())
            } else {
                Cell::from(h)
            }
        })
        .collect();
    let rows = |a: usize, b: usize| {
        m.table.rows[a..b]
            .iter()
            .map(|v| {
                let mut cells = vec![
                    Cell::from(v.member_id.to_string()),
                    Cell::from(clip(&v.name, 40)),
                ];
                if wide {
                    cells.push(Cell::from(v.phone.clone().unwrap_or_default()));
                }
                cells.push(Cell::from(v.status.as_str()).style(status_style(v.status, t)));
                cells.push(Cell::from(Line::from(points(v.point)).right_aligned()));
                if wide {
                    cells.push(Cell::from(date_in(v.joined_at, s.zone)));
                }
                cells.push(Cell::from(
                    v.last_activity.map(|l| age(s.now, l)).unwrap_or("-".into()),
                ));
                Row::new(cells)
            })
            .collect()
    };
    let empty = m.table.rows.is_empty();
    window_table(
        f,
        area,
        Row::new(head),
        &widths,
        rows,
        m.table.rows.len(),
        m.table.offset,
        (!empty).then_some(m.table.selected),
        block(title, t),
        t,
    );
    if empty && m.table.loaded_once && !m.table.is_loading() {
        let r = Rect::new(area.x + 2, area.y + 2, area.width.saturating_sub(4), 1);
        let note = if let Some(seg) = &m.segment {
            format!("no members in the segment {seg} now")
        } else if !m.query.is_empty() {
            format!("no members match \"{}\"", m.query)
        } else if m.status.is_some() {
            "no members with this status".to_string()
        } else if s.read_only {
            "no members yet".to_string()
        } else {
            "no members yet: n joins one".to_string()
        };
        f.render_widget(Paragraph::new(note).style(t.muted), r);
    }
}

pub fn analysis(f: &mut Frame, area: Rect, s: &State, a: &Analysis, t: &Theme) {
    let [top, chart, hist] = Layout::vertical([
        Constraint::Length(9),
        Constraint::Fill(2),
        Constraint::Fill(3),
    ])
    .areas(area);
    let [who, totals, merchants] = Layout::horizontal([
        Constraint::Percentage(40),
        Constraint::Percentage(30),
        Constraint::Percentage(30),
    ])
    .areas(top);
    let Some(d) = &a.detail else {
        f.render_widget(
            Paragraph::new(format!("loading member {}...", a.member)).block(block(" Member ", t)),
            top,
        );
        history(f, hist, s, a, t);
        return;
    };
    let m = &d.member;
    let kv = |k: &str, v: String| {
        Line::from(vec![Span::styled(format!("{k:<9}"), t.muted), Span::raw(v)])
    };
    let lines = vec![
        Line::from(vec![
            Span::styled(clip(&m.name, 40), t.title),
            Span::raw("  "),
            Span::styled(m.status.as_str(), status_style(m.status, t)),
        ]),
        kv("id", m.member_id.to_string()),
        kv("phone", m.phone.clone().unwrap_or("-".into())),
        kv("address", m.address.clone().unwrap_or("-".into())),
        kv("joined", date_time_in(m.joined_at, s.zone)),
        kv(
            "active",
            m.last_activity.map(|l| age(s.now, l)).unwrap_or("-".into()),
        ),
        Line::from(vec![
            Span::styled(format!("{:<9}", "balance"), t.muted),
            Span::styled(points(m.point), t.accent),
        ]),
    ];
    f.render_widget(
        Paragraph::new(lines).block(block(format!(" Member {} ", m.member_id), t)),
        who,
    );
    let tt = &d.totals;
    let lines = vec![
        kv("earned", points(tt.earned)),
        kv("used", points(tt.used)),
        kv("save-can", points(tt.save_cancelled)),
        kv("use-can", points(tt.use_cancelled)),
        kv("forfeit", points(tt.forfeited)),
        kv(
            "deals",
            format!("{} ({} failed)", plural(tt.deals, "deal"), tt.failed),
        ),
    ];
    f.render_widget(Paragraph::new(lines).block(block(" Totals ", t)), totals);
    let lines: Vec<Line> = d
        .top_merchants
        .iter()
        .take(6)
        .map(|ms| {
            Line::from(vec![
                Span::styled(
                    format!("{} ", pad(&s.merchant_label(ms.merchant_id), 16)),
                    t.key,
                ),
                Span::raw(format!(
                    "{:>9} +{} -{}",
                    plural(ms.deals, "deal"),
                    compact(ms.earned.as_f64()),
                    compact(ms.used.as_f64())
                )),
            ])
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(block(" Top merchants ", t)),
        merchants,
    );
    balance_chart(f, chart, s, a, t);
    history(f, hist, s, a, t);
}

fn balance_chart(f: &mut Frame, area: Rect, s: &State, a: &Analysis, t: &Theme) {
    // The series was built when the detail landed (not per frame).
    let pts = &a.chart;
    let title = format!(
        " Balance over the last {} ",
        plural(pts.len() as u64, "deal")
    );
    if pts.len() < 2 {
        f.render_widget(
            Paragraph::new("not enough deals for a chart").block(block(title, t)),
            area,
        );
        return;
    }
    let (x0, x1) = (pts[0].0, pts[pts.len() - 1].0.max(pts[0].0 + 1.0));
    let ymax = pts.iter().map(|p| p.1).fold(1.0, f64::max);
    let ds = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(t.chart)
        .data(pts);
    let chart = Chart::new(vec![ds])
        .block(block(title, t))
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .style(t.muted)
                .labels([date_in(x0 as i64, s.zone), date_in(x1 as i64, s.zone)]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, ymax * 1.05])
                .style(t.muted)
                .labels(["0".to_string(), compact(ymax)]),
        );
    f.render_widget(chart, area);
}

fn history(f: &mut Frame, area: Rect, s: &State, a: &Analysis, t: &Theme) {
    let h = &a.history;
    let mut notes = vec![format!("sort {}", a.sort.label())];
    if !a.filter_text.trim().is_empty() {
        notes.push(format!("filter \"{}\"", a.filter_text.trim()));
    }
    let title = position_title("History", h, &notes);
    let wide = area.width >= 90;
    let mut widths = vec![
        Constraint::Length(9),
        Constraint::Length(16),
        Constraint::Length(20),
        Constraint::Length(10),
        Constraint::Length(13),
        Constraint::Length(7),
    ];
    let mut head: Vec<Cell> = vec![
        Cell::from(heading("deal", Some(!a.sort.oldest_first))),
        Cell::from("date"),
        Cell::from("merchant"),
        Cell::from("type"),
        Cell::from(Line::from("points").right_aligned()),
        Cell::from("status"),
    ];
    if wide {
        widths.push(Constraint::Length(7));
        head.push(Cell::from("billing"));
    }
    widths.push(Constraint::Length(14));
    head.push(Cell::from(Line::from("balance").right_aligned()));
    let rows = |x: usize, y: usize| {
        h.rows[x..y]
            .iter()
            .map(|r| {
                let st = if r.status == DealStatus::Success {
                    t.base
                } else {
                    t.bad
                };
                let mut cells = vec![
                    Cell::from(r.id.to_string()),
                    Cell::from(date_time_in(r.deal_date, s.zone)),
                    Cell::from(clip(&s.merchant_label(r.merchant_id), 20)),
                    Cell::from(r.deal_type.as_str()),
                    Cell::from(Line::from(points(r.point)).right_aligned()),
                    Cell::from(r.status.as_str()).style(st),
                ];
                if wide {
                    cells.push(Cell::from(match r.billing_status {
                        crate::domain::BillingStatus::Yes => "billed",
                        crate::domain::BillingStatus::No => "-",
                    }));
                }
                cells.push(Cell::from(Line::from(points(r.balance)).right_aligned()));
                Row::new(cells)
            })
            .collect()
    };
    window_table(
        f,
        area,
        Row::new(head),
        &widths,
        rows,
        h.rows.len(),
        h.offset,
        (!h.rows.is_empty()).then_some(h.selected),
        block(title, t),
        t,
    );
    if h.rows.is_empty() && h.loaded_once && !h.is_loading() {
        let r = Rect::new(area.x + 2, area.y + 2, area.width.saturating_sub(4), 1);
        let note = if a.filter_text.trim().is_empty() {
            "no deals yet for this member".to_string()
        } else {
            format!("no deals match \"{}\"", a.filter_text.trim())
        };
        f.render_widget(Paragraph::new(note).style(t.muted), r);
    }
}
