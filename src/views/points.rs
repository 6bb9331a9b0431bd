//! The Points tab: balances highest first (paged), the total outstanding, the distribution
//! of balances as a bar chart, and the top holders.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Cell, Paragraph, Row};

use super::format::{clip, pad};
use super::members::status_style;
use super::theme::Theme;
use super::widgets::{block, window_table};
use crate::app::state::State;
use crate::app::state::points::POINT_SORTS;

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let p = &s.points;
    let mut title = format!(
        " Balances · page {} · sort {} ",
        p.table.page_number(),
        POINT_SORTS[p.sort]
    );
    if p.table.loading {
        title.push_str("· loading ");
    }
    let rows = |a: usize, b: usize| {
        p.table.rows[a..b]
            .iter()
            .map(|r| {
                Row::new(vec![
                    Cell::from(r.balance.member_id.to_string()),
                    Cell::from(clip(&r.name, 30)),
                    Cell::from(r.status.as_str()).style(status_style(r.status, t)),
                    Cell::from(Line::from(r.balance.point.to_string()).right_aligned()),
                ])
            })
            .collect()
    };
    window_table(
        f,
        left,
        Row::new(["member", "name", "status", "balance"]),
        &[
            Constraint::Length(8),
            Constraint::Max(28),
            Constraint::Length(7),
            Constraint::Length(13),
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
                Span::styled(sum.total_outstanding.to_string(), t.accent),
                Span::styled(" points", t.muted),
            ]),
            Line::from(vec![
                Span::styled("members ", t.muted),
                Span::raw(format!("{} ({} valid)", sum.members, sum.valid_members)),
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
                    .text_value(n.to_string())
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
                Span::styled(format!("{:>13}", r.balance.point.to_string()), t.accent),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines).block(block(" Top holders ", t)), top);
}
