//! What a write will do, said before it happens (the confirm dialogs), and what it did,
//! said after (the status line). Pure text from domain values.

use super::state::{Confirm, Modal, State, StatusKind};
use crate::domain::{
    BasisPoints, BillingPreview, BillingRequest, CancelKind, Command, Deal, DealRequest,
    DealStatus, DealType, MemberView, Outcome,
};
use crate::views::format::{points, thousands};

/// Why this deal cannot be cancelled, from the row itself (said at once, no dialog).
pub fn why_not_cancellable(d: &Deal) -> Option<String> {
    if d.deal_type.is_cancel() {
        return Some(format!(
            "deal {} is itself a cancel (of deal {}): it cannot be cancelled",
            d.id,
            d.original_deal_id.map_or("?".into(), |o| o.to_string())
        ));
    }
    if d.status == DealStatus::Fail {
        return Some(format!(
            "deal {} failed ({}): nothing was moved, nothing to cancel",
            d.id,
            d.reason.as_deref().unwrap_or("no reason recorded")
        ));
    }
    d.cancelled_by
        .map(|c| format!("deal {} was already cancelled by deal {c}", d.id))
}

fn open(s: &mut State, title: String, lines: Vec<String>, command: Command) {
    s.modal = Some(Modal::Confirm(Confirm {
        title,
        lines,
        command,
    }));
}

pub fn withdraw(s: &mut State, m: &MemberView) {
    if m.status != crate::domain::MemberStatus::Valid {
        s.say(
            StatusKind::Error,
            format!("member {} {} has already withdrawn", m.member_id, m.name),
        );
        return;
    }
    open(
        s,
        format!("Withdraw member {}?", m.member_id),
        vec![
            format!("{} ({}) will be withdrawn.", m.name, m.member_id),
            format!("{} points will be forfeited.", points(m.point)),
            "The history is kept; the member can take part in no more deals.".into(),
        ],
        Command::Withdraw(m.member_id),
    );
}

pub fn settle(s: &mut State, p: &BillingPreview, name: Option<&str>) {
    let who = match name {
        Some(n) => format!("merchant {} {}", p.merchant_id, n),
        None => format!("merchant {}", p.merchant_id),
    };
    let mut lines = vec![format!("Settle {who} for {}.", p.billing_month)];
    if p.deal_count == 0 {
        lines.push("Nothing new to bill: the latest billing comes back unchanged.".into());
    } else {
        lines.push(format!(
            "{}, net {} points, commission {}.{:02}%",
            crate::views::format::plural(p.deal_count, "deal"),
            points(p.net_points),
            p.commission_bp / 100,
            p.commission_bp % 100
        ));
        lines.push(format!("Billing amount: {}", points(p.billing_amount)));
    }
    open(
        s,
        "Run settlement?".into(),
        lines,
        Command::Bill(BillingRequest {
            merchant: p.merchant_id,
            month: p.billing_month,
        }),
    );
}

pub fn cancel(s: &mut State, d: &Deal) {
    if let Some(why) = why_not_cancellable(d) {
        s.say(StatusKind::Error, why);
        return;
    }
    let what = match d.deal_type {
        DealType::Save => format!("{} points will be taken back", points(d.point)),
        _ => format!("{} points will be given back", points(d.point)),
    };
    let lines = vec![
        format!(
            "{} of {} points by member {} {}",
            d.deal_type.as_str(),
            points(d.point),
            d.member_id,
            s.member_label(d.member_id)
        ),
        format!(
            "at merchant {} {} on {}.",
            d.merchant_id,
            s.merchant_label(d.merchant_id),
            crate::views::format::date_time_in(d.deal_date, s.zone)
        ),
        format!("{what} (recorded as failed if the balance is short)."),
    ];
    open(
        s,
        format!("Cancel deal {}?", d.id),
        lines,
        Command::Deal(DealRequest::Cancel {
            original: d.id,
            kind: CancelKind::Any,
            date: None,
        }),
    );
}

/// The confirm for a form's command (withdraw and settle go through a fresh read first).
pub fn for_form(s: &mut State, c: Command) {
    let (title, lines) = match &c {
        Command::Join(m) => (
            "Join this member?".to_string(),
            vec![
                format!("{} joins with a new member id.", m.name),
                format!(
                    "Phone {}, address {}.",
                    m.phone.as_deref().unwrap_or("none"),
                    m.address.as_deref().unwrap_or("none")
                ),
                "A point account opens with balance 0.".into(),
            ],
        ),
        Command::Deal(DealRequest::Save {
            member,
            merchant,
            amount,
            ..
        }) => {
            let rate = s.merchant_rates.get(merchant).copied();
            let earn = match rate {
                Some(bp) => format!(
                    "Earns {} points at this merchant's {}% rate.",
                    points(BasisPoints(bp).earn(*amount)),
                    BasisPoints(bp).as_percent()
                ),
                None => "Unknown merchant: the default rate applies.".into(),
            };
            (
                "Place this save?".to_string(),
                vec![
                    format!(
                        "Member {member} {} buys for {} at merchant {merchant} {}.",
                        s.member_label(*member),
                        thousands(amount.0),
                        s.merchant_label(*merchant)
                    ),
                    earn,
                ],
            )
        }
        Command::Deal(DealRequest::Use {
            member,
            merchant,
            points: p,
            ..
        }) => (
            "Pay with points?".to_string(),
            vec![
                format!(
                    "Member {member} {} pays {} points at merchant {merchant} {}.",
                    s.member_label(*member),
                    points(*p),
                    s.merchant_label(*merchant)
                ),
                "If the balance is short the deal is recorded as failed.".into(),
            ],
        ),
        Command::Deal(DealRequest::Cancel { original, .. }) => (
            format!("Cancel deal {original}?"),
            vec!["The original's points are reversed; the type follows the original.".into()],
        ),
        other => (format!("Run {}?", other.name()), Vec::new()),
    };
    open(s, title, lines, c);
}

/// The status line after a write.
pub fn outcome(o: &Outcome, s: &State) -> (StatusKind, String) {
    match o {
        Outcome::Member(m) => (
            StatusKind::Done,
            format!("member {} {} joined", m.member_id, m.name),
        ),
        Outcome::Withdrawal(w) => (
            StatusKind::Done,
            format!(
                "member {} {} withdrawn; {} points forfeited",
                w.member.member_id,
                w.member.name,
                points(w.forfeited)
            ),
        ),
        Outcome::Merchant(m) => (
            StatusKind::Done,
            format!("merchant {} registered", m.merchant_id),
        ),
        Outcome::Deal(d) if d.status == DealStatus::Fail => (
            StatusKind::Error,
            format!(
                "deal {} {} recorded as FAILED: {} (balance {})",
                d.id,
                d.deal_type.as_str(),
                d.reason.as_deref().unwrap_or("failed"),
                points(d.balance)
            ),
        ),
        Outcome::Deal(d) => (
            StatusKind::Done,
            format!(
                "deal {} {} for member {} {}: {} points, balance now {}",
                d.id,
                d.deal_type.as_str(),
                d.member_id,
                s.member_label(d.member_id),
                points(d.point),
                points(d.balance)
            ),
        ),
        Outcome::Billing(b) => (
            StatusKind::Done,
            format!(
                "billing {}: merchant {} {} {} billed {} ({})",
                b.id,
                b.merchant_id,
                s.merchant_label(b.merchant_id),
                b.billing_month,
                points(b.billing_amount),
                crate::views::format::plural(b.deal_count, "deal")
            ),
        ),
    }
}
