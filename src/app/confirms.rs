//! What a write will do, said before it happens (the confirm dialogs), and what it did,
//! said after (the status line). Pure text from domain values.

use super::state::{Confirm, Modal, State, StatusKind};
use crate::domain::{
    BillingPreview, BillingRequest, CancelKind, Command, Deal, DealRequest, DealStatus, MemberView,
    Outcome,
};

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
            format!("{} points will be forfeited.", m.point),
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
            "{} deals, net {} points, commission {}.{:02}%",
            p.deal_count,
            p.net_points,
            p.commission_bp / 100,
            p.commission_bp % 100
        ));
        lines.push(format!("Billing amount: {}", p.billing_amount));
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
    let what = match d.deal_type {
        crate::domain::DealType::Save => format!("{} points will be taken back", d.point),
        crate::domain::DealType::Use => format!("{} points will be given back", d.point),
        _ => {
            s.say(
                StatusKind::Error,
                format!("deal {} is itself a cancel", d.id),
            );
            return;
        }
    };
    if let Some(c) = d.cancelled_by {
        s.say(
            StatusKind::Error,
            format!("deal {} was already cancelled by deal {c}", d.id),
        );
        return;
    }
    open(
        s,
        format!("Cancel deal {}?", d.id),
        vec![
            format!(
                "{} by member {} at merchant {} on {}.",
                d.deal_type.as_str(),
                d.member_id,
                d.merchant_id,
                crate::domain::calendar::format_rfc3339(d.deal_date)
            ),
            format!("{what} (recorded as failed if the balance is short)."),
        ],
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
        }) => (
            "Place this save?".to_string(),
            vec![
                format!("Member {member} buys for {amount} at merchant {merchant}."),
                "Points are earned at the merchant's rate (1% by default).".into(),
            ],
        ),
        Command::Deal(DealRequest::Use {
            member,
            merchant,
            points,
            ..
        }) => (
            "Pay with points?".to_string(),
            vec![
                format!("Member {member} pays {points} points at merchant {merchant}."),
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
pub fn outcome(o: &Outcome) -> (StatusKind, String) {
    match o {
        Outcome::Member(m) => (
            StatusKind::Done,
            format!("member {} {} joined", m.member_id, m.name),
        ),
        Outcome::Withdrawal(w) => (
            StatusKind::Done,
            format!(
                "member {} {} withdrawn; {} points forfeited",
                w.member.member_id, w.member.name, w.forfeited
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
                d.balance
            ),
        ),
        Outcome::Deal(d) => (
            StatusKind::Done,
            format!(
                "deal {} {} for member {}: {} points, balance now {}",
                d.id,
                d.deal_type.as_str(),
                d.member_id,
                d.point,
                d.balance
            ),
        ),
        Outcome::Billing(b) => (
            StatusKind::Done,
            format!(
                "billing {}: merchant {} {} billed {} ({} deals)",
                b.id, b.merchant_id, b.billing_month, b.billing_amount, b.deal_count
            ),
        ),
    }
}
