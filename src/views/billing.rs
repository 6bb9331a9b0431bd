//! The Billing tab: one month's settlement preview per merchant, the billing history, and
//! the selected merchant's monthly amounts as a bar chart.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Bar, BarChart, BarGroup, Cell, Row};

use super::format::{clip, compact, date_in, plural, points, thousands};
use super::theme::Theme;
use super::widgets::{block, heading, window_table};
use crate::app::state::State;
use crate::app::state::sort::BillingColumn;

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let b = &s.billing;
    let by = |c: BillingColumn| (b.sort.by == c).then_some(b.sort.descending);
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let [hist, chart] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(bottom);
    let shown: Vec<&crate::app::state::billing::PreviewRow> = b.shown().collect();
    let mut title = format!(
        " Settlement preview · {} · {} · [ ] month · sort {} ",
        b.month,
        plural(shown.len() as u64, "merchant"),
        b.sort.label()
    );
    if !b.filter.is_empty() {
        title.push_str(&format!("· filter \"{}\" ", b.filter));
    }
    let rows = |x: usize, y: usize| {
        shown[x..y]
            .iter()
            .map(|r| {
                let latest = r
                    .preview
                    .latest
                    .as_ref()
                    .map(|l| format!("#{} {}", l.id, points(l.billing_amount)))
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
                    Cell::from(Line::from(thousands(r.preview.deal_count)).right_aligned()),
                    Cell::from(Line::from(points(r.preview.net_points)).right_aligned()),
                    Cell::from(Line::from(points(r.preview.billing_amount)).right_aligned())
                        .style(amount_style),
                    Cell::from(latest),
                ])
            })
            .collect()
    };
    window_table(
        f,
        top,
        Row::new(vec![
            Cell::from(heading("merchant", by(BillingColumn::Merchant))),
            Cell::from("name"),
            Cell::from(Line::from(heading("deals", by(BillingColumn::Deals))).right_aligned()),
            Cell::from(Line::from("net points").right_aligned()),
            Cell::from(
                Line::from(heading("billable", by(BillingColumn::Billable))).right_aligned(),
            ),
            Cell::from("latest billing"),
        ]),
        &[
            Constraint::Length(10),
            Constraint::Max(28),
            Constraint::Length(9),
            Constraint::Length(14),
            Constraint::Length(14),
            Constraint::Length(20),
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
                    Cell::from(clip(&s.merchant_label(h.merchant_id), 14)),
                    Cell::from(h.billing_month.to_string()),
                    Cell::from(Line::from(points(h.billing_amount)).right_aligned()),
                    Cell::from(Line::from(thousands(h.deal_count)).right_aligned()),
                ];
                if dated {
                    cells.push(Cell::from(date_in(h.created_at, s.zone)));
                }
                Row::new(cells)
            })
            .collect()
    };
    let mut hhead = vec!["id", "merchant", "month", "amount", "deals"];
    let mut hwidths = vec![
        Constraint::Length(4),
        Constraint::Length(14),
        Constraint::Length(6),
        Constraint::Length(13),
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
                .text_value(compact((*h / 100) as f64))
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
