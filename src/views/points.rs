//! The Points tab: balances highest first over the whole table, the total outstanding, the distribution
//! of balances as a bar chart, and the top holders.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Cell, Paragraph, Row};

use super::format::{clip, compact, pad, points, thousands};
use super::members::status_style;
use super::theme::Theme;
use super::widgets::{block, heading, position_title, window_table};
use crate::app::state::State;
use crate::domain::MemberOrder;

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let p = &s.points;
    let mut notes = vec![format!("sort {}", p.sort.label())];
    if !p.query.is_empty() {
        notes.push(format!("filter \"{}\"", p.query));
    }
    let title = position_title("Balances", &p.table, &notes);
    let by = |o: MemberOrder| (p.sort.by == o).then_some(p.sort.descending);
    let rows = |a: usize, b: usize| {
        p.table.rows[a..b]
            .iter()
            .map(|r| {
                Row::new(vec![
                    Cell::from(r.member_id.to_string()),
                    Cell::from(clip(&r.name, 30)),
                    Cell::from(r.status.as_str()).style(status_style(r.status, t)),
                    Cell::from(Line::from(points(r.point)).right_aligned()),
                ])
            })
            .collect()
    };
    window_table(
        f,
        left,
        Row::new(vec![
            Cell::from(heading("member", by(MemberOrder::Id))),
            Cell::from(heading("name", by(MemberOrder::Name))),
            Cell::from("status"),
            Cell::from(Line::from(heading("balance", by(MemberOrder::Balance))).right_aligned()),
        ]),
        &[
            Constraint::Length(9),
            Constraint::Max(28),
            Constraint::Length(7),
            Constraint::Length(15),
        ],
        rows,
        p.table.rows.len(),
        p.table.offset,
        (!p.table.rows.is_empty()).then_some(p.table.selected),
        block(title, t),
        t,
    );
    let [total, dist, top] = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(4),
            Constraint::Min(6),
            Constraint::Length(8),
        ])
        .areas(right);
    let lines = match &p.summary {
        Some(sum) => vec![
            Line::from(vec![
                Span::styled("outstanding ", t.muted),
                Span::styled(points(sum.total_outstanding), t.accent),
                Span::styled(" points", t.muted),
            ]),
            Line::from(vec![
                Span::styled("members ", t.muted),
                Span::raw(format!(
                    "{} ({} valid)",
                    thousands(sum.members),
                    thousands(sum.valid_members)
                )),
            ]),
        ],
        None => vec![Line::from("loading...")],
    };
    f.render_widget(Paragraph::new(lines).block(block(" Total ", t)), total);
    if let Some(sum) = &p.summary {
        let bars: Vec<Bar> = sum
            .distribution
            .iter()
            .map(|(label, n)| {
                Bar::default()
                    .value(*n)
                    .text_value(compact(*n as f64))
                    .label(Line::from(label.clone()))
            })
            .collect();
        let n = bars.len().max(1) as u16;
        let inner_w = dist.width.saturating_sub(2);
        let bw = (inner_w / n).saturating_sub(1).clamp(3, 12);
        f.render_widget(
            BarChart::default()
                .block(block(" Distribution (members per balance) ", t))
                .data(BarGroup::default().bars(&bars))
                .bar_width(bw)
                .bar_gap(1)
                .bar_style(t.chart)
                .value_style(t.table_head),
            dist,
        );
    } else {
        f.render_widget(block(" Distribution ", t), dist);
    }
    // Rank, name, balance: the name takes what the balance leaves.
    let name_w = (top.width.saturating_sub(2 + 4 + 13) as usize).min(24);
    let lines: Vec<Line> = p
        .top(6)
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Line::from(vec![
                Span::styled(format!("{:>2}. ", i + 1), t.muted),
                Span::raw(pad(&r.name, name_w)),
                Span::styled(format!("{:>13}", points(r.point)), t.accent),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(block(" Top holders ", t)), top);
}
