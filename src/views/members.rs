//! The Members tab: the member table, and the member analysis (details, totals, top
//! merchants, balance over time, the paged dashboard history).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Cell, Chart, Dataset, GraphType, Paragraph, Row};

use super::format::{age, clip, date, date_time, pad};
use super::theme::Theme;
use super::widgets::{block, window_table};
use crate::app::state::State;
use crate::app::state::members::{Analysis, MEMBER_SORTS};
use crate::domain::{DealStatus, MemberStatus};

pub fn status_style(st: MemberStatus, t: &Theme) -> Style {
    match st {
        MemberStatus::Valid => t.good,
        MemberStatus::Invalid => t.muted,
    }
}

pub fn table(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let m = &s.members;
    let wide = area.width >= 100;
    let mut title = format!(" Members · page {} ", m.table.page_number());
    if !m.query.is_empty() {
        title.push_str(&format!("· filter \"{}\" ", m.query));
    }
    title.push_str(&format!("· sort {} ", MEMBER_SORTS[m.sort]));
    if m.table.loading {
        title.push_str("· loading ");
    }
    let mut head = vec!["id", "name"];
    let mut widths = vec![Constraint::Length(8), Constraint::Max(32)];
    if wide {
        head.push("phone");
        widths.push(Constraint::Length(15));
    }
    head.extend(["status", "balance"]);
    widths.extend([Constraint::Length(7), Constraint::Length(12)]);
    if wide {
        head.push("joined");
        widths.push(Constraint::Length(10));
    }
    head.push("last activity");
    widths.push(Constraint::Length(13));
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
                cells.push(Cell::from(Line::from(v.point.to_string()).right_aligned()));
                if wide {
                    cells.push(Cell::from(date(v.joined_at)));
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
    if empty && m.table.loaded_once {
        let r = Rect::new(area.x + 2, area.y + 2, area.width.saturating_sub(4), 1);
        let note = if m.query.is_empty() && m.status.is_none() {
            "no members yet: n joins one"
        } else {
            "no members match the filter"
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
        history(f, hist, a, t);
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
        kv("joined", date_time(m.joined_at)),
        kv(
            "active",
            m.last_activity.map(|l| age(s.now, l)).unwrap_or("-".into()),
        ),
        Line::from(vec![
            Span::styled(format!("{:<9}", "balance"), t.muted),
            Span::styled(m.point.to_string(), t.accent),
        ]),
    ];
    f.render_widget(
        Paragraph::new(lines).block(block(format!(" Member {} ", m.member_id), t)),
        who,
    );
    let tt = &d.totals;
    let lines = vec![
        kv("earned", tt.earned.to_string()),
        kv("used", tt.used.to_string()),
        kv("save-can", tt.save_cancelled.to_string()),
        kv("use-can", tt.use_cancelled.to_string()),
        kv("forfeit", tt.forfeited.to_string()),
        kv("deals", format!("{} ({} failed)", tt.deals, tt.failed)),
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
                Span::raw(format!("{:>3} deals +{} -{}", ms.deals, ms.earned, ms.used)),
            ])
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(block(" Top merchants ", t)),
        merchants,
    );
    balance_chart(f, chart, d, t);
    history(f, hist, a, t);
}

fn balance_chart(f: &mut Frame, area: Rect, d: &crate::domain::MemberDetail, t: &Theme) {
    // Display only: balances become chart coordinates, never arithmetic on money.
    let mut pts: Vec<(f64, f64)> = d
        .recent_deals
        .iter()
        .map(|x| (x.deal_date as f64, x.balance.as_f64()))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let title = format!(" Balance over the last {} deals ", pts.len());
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
        .data(&pts);
    let chart = Chart::new(vec![ds])
        .block(block(title, t))
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .style(t.muted)
                .labels([date(x0 as i64), date(x1 as i64)]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, ymax * 1.05])
                .style(t.muted)
                .labels(["0".to_string(), format!("{ymax:.0}")]),
        );
    f.render_widget(chart, area);
}

fn history(f: &mut Frame, area: Rect, a: &Analysis, t: &Theme) {
    let h = &a.history;
    let title = format!(" History (dashboard) · page {} ", h.page_number());
    let wide = area.width >= 90;
    let mut widths = vec![
        Constraint::Length(7),
        Constraint::Length(16),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(7),
    ];
    let mut head = vec!["deal", "date", "merchant", "type", "points", "status"];
    if wide {
        widths.push(Constraint::Length(7));
        head.push("billing");
    }
    widths.push(Constraint::Length(11));
    head.push("balance");
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
                    Cell::from(date_time(r.deal_date)),
                    Cell::from(r.merchant_id.to_string()),
                    Cell::from(r.deal_type.as_str()),
                    Cell::from(Line::from(r.point.to_string()).right_aligned()),
                    Cell::from(r.status.as_str()).style(st),
                ];
                if wide {
                    cells.push(Cell::from(match r.billing_status {
                        crate::domain::BillingStatus::Yes => "billed",
                        crate::domain::BillingStatus::No => "-",
                    }));
                }
                cells.push(Cell::from(
                    Line::from(r.balance.to_string()).right_aligned(),
                ));
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
}
