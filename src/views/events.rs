//! The Events tab: the live feed from the ring buffer, the newest at the bottom; following,
//! paused or held with `+N new`, and the count of every event received.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Paragraph, Row};

use super::format::{clip, time};
use super::theme::Theme;
use super::widgets::{block, window_table};
use crate::app::state::State;

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let e = &s.events;
    if let Some(why) = &e.unavailable {
        f.render_widget(
            Paragraph::new(format!("no event feed from this source: {why}"))
                .style(t.warn)
                .block(block(" Events ", t)),
            area,
        );
        return;
    }
    let mode = if e.paused {
        format!("PAUSED · +{} new · p resume", e.new_since_anchor())
    } else if e.anchor.is_some() {
        format!("held · +{} new · F follow", e.new_since_anchor())
    } else {
        "following".to_string()
    };
    let mut title = format!(" Events · {mode} · received {} ", e.received);
    if !e.filter.is_empty() {
        title.push_str(&format!("· filter \"{}\" ", e.filter_text.trim()));
    }
    let rows_fit = area.height.saturating_sub(3) as usize;
    let window = e.window(rows_fit);
    let n = window.len();
    let summary_w = area.width.saturating_sub(40) as usize;
    let rows = |a: usize, b: usize| {
        window[a..b]
            .iter()
            .map(|ev| {
                let ty = ev.body.event_type();
                let style = match ty {
                    "UseRejected" | "PointDisappeared" | "MemberSecession" => t.bad,
                    "Billed" | "MemberCreated" | "MerchantRegistered" => t.accent,
                    _ => t.base,
                };
                Row::new(vec![
                    Cell::from(ev.offset.to_string()),
                    Cell::from(time(ev.timestamp)),
                    Cell::from(ty).style(style),
                    Cell::from(clip(&ev.body.summary(), summary_w)),
                ])
            })
            .collect()
    };
    window_table(
        f,
        area,
        Row::new(["offset", "time", "type", "summary"]),
        &[
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(18),
            Constraint::Min(10),
        ],
        rows,
        n,
        0,
        n.checked_sub(1),
        block(title, t),
        t,
    );
    if n == 0 {
        let r = Rect::new(area.x + 2, area.y + 2, area.width.saturating_sub(4), 1);
        f.render_widget(Paragraph::new("waiting for events...").style(t.muted), r);
    }
}
