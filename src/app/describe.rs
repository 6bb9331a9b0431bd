//! `Enter` on a deal or an event: a description for people (names beside ids, the original
//! and its cancel linked, billing status, times in the business zone), with the JSON one
//! key away. Part of `update`: pure text from domain values and the names already read.

use super::state::{Modal, State};
use crate::domain::{BillingStatus, Deal, DealStatus};

fn when(s: &State, ms: crate::domain::Millis) -> String {
    crate::views::format::date_time_in(ms, s.zone)
}

pub fn deal_lines(s: &State, d: &Deal) -> Vec<String> {
    let mut v = vec![
        format!(
            "{} of {} points, {}",
            d.deal_type.as_str(),
            crate::views::format::points(d.point),
            match d.status {
                DealStatus::Success => "succeeded".to_string(),
                DealStatus::Fail => format!(
                    "FAILED: {}",
                    d.reason.as_deref().unwrap_or("no reason recorded")
                ),
            }
        ),
        format!("member    {} {}", d.member_id, s.member_label(d.member_id)),
        format!(
            "merchant  {} {}",
            d.merchant_id,
            s.merchant_label(d.merchant_id)
        ),
        format!("when      {} ({})", when(s, d.deal_date), s.zone_label()),
    ];
    if d.deal_amount > 0 {
        v.push(format!(
            "amount    {}",
            crate::views::format::thousands(d.deal_amount)
        ));
    }
    v.push(format!(
        "balance   {} after this deal",
        crate::views::format::points(d.balance)
    ));
    if let Some(o) = d.original_deal_id {
        v.push(format!("cancels   deal {o}"));
    }
    if let Some(c) = d.cancelled_by {
        v.push(format!("cancelled by deal {c}"));
    }
    v.push(match (d.billing_status, d.billing_id) {
        (BillingStatus::Yes, Some(b)) => format!("billing   settled in billing {b}"),
        (BillingStatus::Yes, None) => "billing   settled".to_string(),
        (BillingStatus::No, _) => "billing   not settled yet".to_string(),
    });
    v
}

pub fn deal(s: &mut State, d: &Deal) {
    let lines = deal_lines(s, d);
    s.modal = Some(Modal::Describe {
        title: format!("Deal {}", d.id),
        lines,
        json: serde_json::to_string_pretty(d).unwrap_or_default(),
        show_json: false,
    });
}

pub fn event(s: &mut State) {
    let Some(e) = s.events.selected().cloned() else {
        return;
    };
    let mut lines = vec![
        format!("{} · offset {}", e.body.event_type(), e.offset),
        format!("when      {} ({})", when(s, e.timestamp), s.zone_label()),
    ];
    if let Some(m) = e.body.member_id() {
        lines.push(format!("member    {m} {}", s.member_label(m)));
    }
    if let Some(m) = event_merchant(&e.body) {
        lines.push(format!("merchant  {m} {}", s.merchant_label(m)));
    }
    lines.push(e.body.summary());
    s.modal = Some(Modal::Describe {
        title: format!("Event {}", e.offset),
        lines,
        json: serde_json::to_string_pretty(&e).unwrap_or_default(),
        show_json: false,
    });
}

/// The merchant an event concerns, if any.
pub fn event_merchant(b: &crate::domain::EventBody) -> Option<crate::domain::MerchantId> {
    use crate::domain::EventBody as E;
    match b {
        E::Billed { merchant_id, .. } | E::MerchantRegistered { merchant_id, .. } => {
            Some(*merchant_id)
        }
        other => other.deal().map(|d| d.merchant_id),
    }
}
