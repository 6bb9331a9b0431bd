//! The Deals tab: deals by id, date or points, either way, over the whole table, with names
//! beside ids, the position, filter and sort in the title; failed deals stand out.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row};

use super::format::{date_time_in, points, thousands};
use super::theme::Theme;
use super::widgets::{block, heading, position_title, window_table};
use crate::app::state::State;
use crate::domain::{BillingStatus, DealOrder, DealStatus};

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let d = &s.deals;
    // Under a member or merchant filter the deals are by id whatever was chosen.
    let sort = d.shown_sort();
    let by = |o: DealOrder| (sort.by == o).then_some(!sort.oldest_first);
    let fd = d.filter.describe();
    let mut notes = vec![
        format!("sort {}", sort.label()),
        if fd.is_empty() {
            String::new()
        } else {
            format!("filter {fd}")
        },
    ];
    // A drill-down from Insights says what it shows.
    if let Some(dr) = s.drilled.as_ref().filter(|dr| dr.tab == s.tab) {
        notes.push(dr.label.clone());
    }
    let title = position_title("Deals", &d.table, &notes);
    let wide = area.width >= 150;
    // Narrow screens drop the year and the amount so the names keep some room.
    let narrow = area.width < 110;
    let mut head: Vec<Cell> = vec![
        Cell::from(heading("id", by(DealOrder::Id))),
        Cell::from(heading("date", by(DealOrder::Date))),
        Cell::from("member"),
        Cell::from("merchant"),
        Cell::from("type"),
    ];
    let mut widths = vec![
        Constraint::Length(9),
        Constraint::Length(if narrow { 11 } else { 16 }),
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Length(10),
    ];
    if !narrow {
        head.push(Cell::from(Line::from("amount").right_aligned()));
        widths.push(Constraint::Length(13));
    }
    head.extend([
        Cell::from(Line::from(heading("points", by(DealOrder::Points))).right_aligned()),
        Cell::from("status"),
    ]);
    widths.extend([Constraint::Length(12), Constraint::Length(7)]);
    if wide {
        head.extend([
            Cell::from("billing"),
            Cell::from(Line::from("balance").right_aligned()),
            Cell::from("reason / original"),
        ]);
        widths.extend([
            Constraint::Length(7),
            Constraint::Length(14),
            Constraint::Fill(1),
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
                let when = date_time_in(x.deal_date, s.zone);
                let mut cells = vec![
                    Cell::from(x.id.to_string()),
                    Cell::from(if narrow {
                        when.get(5..).unwrap_or(&when).to_string()
                    } else {
                        when
                    }),
                    Cell::from(format!("{} {}", x.member_id, s.member_label(x.member_id))),
                    Cell::from(format!(
                        "{} {}",
                        x.merchant_id,
                        s.merchant_label(x.merchant_id)
                    )),
                    Cell::from(x.deal_type.as_str()),
                ];
                if !narrow {
                    cells.push(Cell::from(
                        Line::from(thousands(x.deal_amount)).right_aligned(),
                    ));
                }
                cells.extend([
                    Cell::from(Line::from(points(x.point)).right_aligned()),
                    Cell::from(x.status.as_str()).style(st),
                ]);
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
                    cells.push(Cell::from(Line::from(points(x.balance)).right_aligned()));
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
    if empty && d.table.loaded_once && !d.table.is_loading() {
        let r = Rect::new(area.x + 2, area.y + 2, area.width.saturating_sub(4), 1);
        let note = if fd.is_empty() {
            "no deals yet".to_string()
        } else {
            format!("no deals match {fd}")
        };
        f.render_widget(Paragraph::new(note).style(t.muted), r);
    }
}
