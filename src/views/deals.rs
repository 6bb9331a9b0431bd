//! The Deals tab: deals newest first (one page at a time), with the filter and sort in the
//! title; failed deals stand out with their reason.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row};

use super::format::date_time;
use super::theme::Theme;
use super::widgets::{block, window_table};
use crate::app::state::State;
use crate::app::state::deals::DEAL_SORTS;
use crate::domain::{BillingStatus, DealStatus};

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let d = &s.deals;
    let mut title = format!(" Deals · newest first · page {} ", d.table.page_number());
    let fd = d.filter.describe();
    if !fd.is_empty() {
        title.push_str(&format!("· {fd} "));
    }
    if d.sort != 0 {
        title.push_str(&format!("· sort {} (page) ", DEAL_SORTS[d.sort]));
    }
    if d.table.loading {
        title.push_str("· loading ");
    }
    let wide = area.width >= 120;
    let mut head = vec![
        "id", "date", "member", "merchant", "type", "amount", "points", "status",
    ];
    let mut widths = vec![
        Constraint::Length(9),
        Constraint::Length(16),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(7),
    ];
    if wide {
        head.extend(["billing", "balance", "reason / original"]);
        widths.extend([
            Constraint::Length(7),
            Constraint::Length(12),
            Constraint::Min(10),
        ]);
    }
    let rows = |a: usize, b: usize| {
        d.table.rows[a..b]
            .iter()
            .map(|x| {
                let st = if x.status == DealStatus::Success {
                    t.good
                } else {
                    t.bad
                };
                let mut cells = vec![
                    Cell::from(x.id.to_string()),
                    Cell::from(date_time(x.deal_date)),
                    Cell::from(x.member_id.to_string()),
                    Cell::from(x.merchant_id.to_string()),
                    Cell::from(x.deal_type.as_str()),
                    Cell::from(Line::from(x.deal_amount.to_string()).right_aligned()),
                    Cell::from(Line::from(x.point.to_string()).right_aligned()),
                    Cell::from(x.status.as_str()).style(st),
                ];
                if wide {
                    let note = match (&x.reason, x.original_deal_id, x.cancelled_by) {
                        (Some(r), _, _) => r.clone(),
                        (None, Some(o), _) => format!("cancels {o}"),
                        (None, None, Some(c)) => format!("cancelled by {c}"),
                        _ => String::new(),
                    };
                    cells.push(Cell::from(match x.billing_status {
                        BillingStatus::Yes => "billed",
                        BillingStatus::No => "-",
                    }));
                    cells.push(Cell::from(
                        Line::from(x.balance.to_string()).right_aligned(),
                    ));
                    cells.push(Cell::from(note).style(t.muted));
                }
                Row::new(cells)
            })
            .collect()
    };
    let empty = d.table.rows.is_empty();
    window_table(
        f,
        area,
        Row::new(head),
        &widths,
        rows,
        d.table.rows.len(),
        d.table.offset,
        (!empty).then_some(d.table.selected),
        block(title, t),
        t,
    );
    if empty && d.table.loaded_once {
        let r = Rect::new(area.x + 2, area.y + 2, area.width.saturating_sub(4), 1);
        f.render_widget(Paragraph::new("no deals match").style(t.muted), r);
    }
}
