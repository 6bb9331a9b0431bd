//! The Events tab: the live feed from the ring buffer, the newest at the bottom; following,
//! paused or held with `+N new`, and the count of every event received.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Paragraph, Row};

use super::format::{clip, plural, points, thousands, time_in};
use super::theme::Theme;
use super::widgets::{block, window_table};
use crate::app::state::State;
use crate::domain::{EventBody, MemberId};

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
    let mut title = format!(
        " Events · {mode} · received {} · times {} ",
        thousands(e.received),
        s.zone_label()
    );
    if !e.filter.is_empty() {
        title.push_str(&format!(
            "· filter \"{}\": {} of {} kept ",
            e.filter_text.trim(),
            thousands(e.matched as u64),
            thousands(e.ring.len() as u64)
        ));
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
                    Cell::from(time_in(ev.timestamp, s.zone)),
                    Cell::from(ty).style(style),
                    Cell::from(clip(&summary(s, &ev.body), summary_w)),
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
        let note = if e.filter.is_empty() || e.ring.is_empty() {
            "waiting for events...".to_string()
        } else {
            format!(
                "no events match \"{}\" (of {} kept)",
                e.filter_text.trim(),
                thousands(e.ring.len() as u64)
            )
        };
        f.render_widget(Paragraph::new(note).style(t.muted), r);
    }
}

/// One line per event, with names beside ids (from the names read so far).
fn summary(s: &State, b: &EventBody) -> String {
    let member = |m: MemberId| format!("{m} {}", s.member_label(m));
    if let Some(d) = b.deal() {
        let mut out = format!(
            "deal {} {} · member {} · merchant {} {} · {} pts → balance {}",
            d.id,
            d.deal_type.as_str(),
            member(d.member_id),
            d.merchant_id,
            s.merchant_label(d.merchant_id),
            points(d.point),
            points(d.balance)
        );
        if let Some(r) = &d.reason {
            out.push_str(&format!(" ({r})"));
        }
        return out;
    }
    match b {
        EventBody::MemberSecession { member_id, .. } => {
            format!("member {} withdrew", member(*member_id))
        }
        EventBody::PointCreated { member_id } => {
            format!("point account opened for member {}", member(*member_id))
        }
        EventBody::PointDisappeared { member_id, point } => format!(
            "member {} forfeited {} points",
            member(*member_id),
            points(*point)
        ),
        EventBody::Billed {
            id,
            merchant_id,
            billing_month,
            billing_amount,
            deal_count,
        } => format!(
            "billing {id}: merchant {merchant_id} {} {billing_month} {} ({})",
            s.merchant_label(*merchant_id),
            points(*billing_amount),
            plural(*deal_count, "deal")
        ),
        other => other.summary(),
    }
}
