//! The Billing tab: one month's settlement preview per merchant, the billing history, and
//! the selected merchant's monthly amounts as a bar chart.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Bar, BarChart, BarGroup, Cell, Row};

use super::format::{clip, date};
use super::theme::Theme;
use super::widgets::{block, window_table};
use crate::app::state::State;
use crate::app::state::billing::BILLING_SORTS;

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let b = &s.billing;
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let [hist, chart] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    let shown = b.shown();
    let mut title = format!(
        " Settlement preview · {} · [ ] month · sort {} ",
        b.month, BILLING_SORTS[b.sort]
    );
    if !b.filter.is_empty() {
        title.push_str(&format!("· filter \"{}\" ", b.filter));
    }
    if b.loading {
        title.push_str("· loading ");
    }
    let rows = |x: usize, y: usize| {
        shown[x..y]
            .iter()
            .map(|r| {
                let latest = r
                    .preview
                    .latest
                    .as_ref()
                    .map(|l| format!("#{} {}", l.id, l.billing_amount))
                    .unwrap_or("-".into());
                let amount_style = if r.preview.deal_count > 0 {
                    t.accent
                } else {
                    t.muted
                };
                Row::new(vec![
                    Cell::from(r.merchant.merchant.merchant_id.to_string()),
                    Cell::from(clip(
                        r.merchant.merchant.name.as_deref().unwrap_or("(unnamed)"),
                        24,
                    )),
                    Cell::from(Line::from(r.preview.deal_count.to_string()).right_aligned()),
                    Cell::from(Line::from(r.preview.net_points.to_string()).right_aligned()),
                    Cell::from(Line::from(r.preview.billing_amount.to_string()).right_aligned())
                        .style(amount_style),
                    Cell::from(latest),
                ])
            })
            .collect()
    };
    window_table(
        f,
        top,
        Row::new([
            "merchant",
            "name",
            "to bill",
            "net points",
            "billable",
            "latest billing",
        ]),
        &[
            Constraint::Length(8),
            Constraint::Max(28),
            Constraint::Length(7),
            Constraint::Length(12),
            Constraint::Length(12),
            Constraint::Length(18),
        ],
        rows,
        shown.len(),
        b.offset,
        (!shown.is_empty()).then_some(b.selected),
        block(title, t),
        t,
    );
    let dated = hist.width >= 54;
    let hrows = |x: usize, y: usize| {
        b.history[x..y]
            .iter()
            .map(|h| {
                let mut cells = vec![
                    Cell::from(h.id.to_string()),
                    Cell::from(h.merchant_id.to_string()),
                    Cell::from(h.billing_month.to_string()),
                    Cell::from(Line::from(h.billing_amount.to_string()).right_aligned()),
                    Cell::from(Line::from(h.deal_count.to_string()).right_aligned()),
                ];
                if dated {
                    cells.push(Cell::from(date(h.created_at)));
                }
                Row::new(cells)
            })
            .collect()
    };
    let mut hhead = vec!["id", "shop", "month", "amount", "deals"];
    let mut hwidths = vec![
        Constraint::Length(4),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(12),
        Constraint::Length(5),
    ];
    if dated {
        hhead.push("created");
        hwidths.push(Constraint::Length(10));
    }
    window_table(
        f,
        hist,
        Row::new(hhead),
        &hwidths,
        hrows,
        b.history.len(),
        0,
        None,
        block(format!(" Billing history ({}) ", b.history.len()), t),
        t,
    );
    let monthly = b.monthly();
    let name = b
        .selected_row()
        .map(|r| {
            r.merchant
                .merchant
                .name
                .clone()
                .unwrap_or_else(|| r.merchant.merchant.merchant_id.to_string())
        })
        .unwrap_or_default();
    // Display only: whole points as bar heights (negative clawbacks show as 0).
    let bars: Vec<Bar> = monthly
        .iter()
        .rev()
        .take(12)
        .rev()
        .map(|(m, h)| {
            Bar::default()
                .value((*h / 100).max(0) as u64)
                .text_value(short(*h / 100))
                .label(Line::from(format!("{:02}/{:02}", m.year % 100, m.month)))
        })
        .collect();
    f.render_widget(
        BarChart::default()
            .block(block(
                format!(" Billed per month · {} ", clip(&name, 20)),
                t,
            ))
            .data(BarGroup::default().bars(&bars))
            .bar_width(5)
            .bar_gap(1)
            .bar_style(t.chart)
            .value_style(t.table_head),
        chart,
    );
}

/// A bar label that fits five columns: `980`, `12k`, `3.4M`.
fn short(points: i64) -> String {
    match points.abs() {
        0..10_000 => points.to_string(),
        10_000..10_000_000 => format!("{}k", points / 1_000),
        _ => format!("{:.1}M", points as f64 / 1e6),
    }
}
