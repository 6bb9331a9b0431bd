//! What each domain record looks like to a person at a terminal: `key: value` records for
//! one thing, aligned tables for lists. Points print with `Points`' Display (`2623.45`).
//! Pure functions from domain values to text; the JSON forms are the types' own serde.

use super::output::{Align, Record, Table, json_line};
use crate::api::Result;
use crate::domain::calendar::format_rfc3339;
use crate::domain::{
    Balance, BasisPoints, Billing, BillingPreview, BillingStatus, CheckReport, Deal, Event, Info,
    MemberDetail, MemberView, Merchant, MerchantSummary, Millis, Outcome, SourceInfo, Withdrawal,
};
use chrono::{TimeZone, Utc};

/// Names to print beside ids in tables (read in one batch per list; empty: ids alone).
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub members: std::collections::HashMap<crate::domain::MemberId, String>,
    pub merchants: std::collections::HashMap<crate::domain::MerchantId, String>,
}

impl Names {
    fn member(&self, id: crate::domain::MemberId) -> String {
        match self.members.get(&id) {
            Some(n) => format!("{id} {n}"),
            None => id.to_string(),
        }
    }
    fn merchant(&self, id: crate::domain::MerchantId) -> String {
        match self.merchants.get(&id) {
            Some(n) => format!("{id} {n}"),
            None => id.to_string(),
        }
    }
    /// Left-aligned when there are names to read, right-aligned for bare ids.
    fn align(named: bool) -> Align {
        if named { Align::Left } else { Align::Right }
    }
}

/// The inner value of an outcome as one JSON line, as `--json` prints it (no `{"Deal":..}`
/// wrapper; fields in the record's own order).
pub fn outcome_json(o: &Outcome) -> Result<String> {
    match o {
        Outcome::Member(m) => json_line(m),
        Outcome::Withdrawal(w) => json_line(w),
        Outcome::Merchant(m) => json_line(m),
        Outcome::Deal(d) => json_line(d),
        Outcome::Billing(b) => json_line(b),
    }
}

pub fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Member(m) => member(m).render(),
        Outcome::Withdrawal(w) => withdrawal(w),
        Outcome::Merchant(m) => merchant(m),
        Outcome::Deal(d) => deal(d),
        Outcome::Billing(b) => billing(b),
    }
}

/// A table cell date: minutes are enough to read a list; records show the full instant.
fn short_date(ms: Millis) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => ms.to_string(),
    }
}

fn or_dash(v: Option<impl ToString>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn billed(d: &Deal) -> String {
    match (d.billing_status, d.billing_id) {
        (BillingStatus::Yes, Some(b)) => format!("yes (billing {b})"),
        (BillingStatus::Yes, None) => "yes".into(),
        (BillingStatus::No, _) => "no".into(),
    }
}

pub fn deal(d: &Deal) -> String {
    Record::new()
        .field("id", d.id)
        .field("type", d.deal_type.as_str())
        .field("member", d.member_id)
        .field("merchant", d.merchant_id)
        .field("amount", d.deal_amount)
        .field("points", d.point)
        .field("status", d.status.as_str())
        .opt("reason", d.reason.as_ref())
        .opt("original", d.original_deal_id)
        .opt("cancelled by", d.cancelled_by)
        .field("billed", billed(d))
        .field("date", format_rfc3339(d.deal_date))
        .field("balance", d.balance)
        .render()
}

pub fn deals(list: &[Deal]) -> String {
    deals_named(list, &Names::default())
}

/// The deal table with names beside member and merchant ids.
pub fn deals_named(list: &[Deal], names: &Names) -> String {
    if list.is_empty() {
        return "no deals".into();
    }
    let mut t = Table::new(&[
        ("ID", Align::Right),
        ("DATE", Align::Left),
        ("TYPE", Align::Left),
        ("MEMBER", Names::align(!names.members.is_empty())),
        ("MERCHANT", Names::align(!names.merchants.is_empty())),
        ("AMOUNT", Align::Right),
        ("POINTS", Align::Right),
        ("STATUS", Align::Left),
        ("BILLED", Align::Left),
        ("BALANCE", Align::Right),
        ("NOTE", Align::Left),
    ]);
    for d in list {
        let note = match (&d.reason, d.original_deal_id, d.cancelled_by) {
            (Some(r), _, _) => r.clone(),
            (None, Some(o), _) => format!("cancels {o}"),
            (None, None, Some(c)) => format!("cancelled by {c}"),
            _ => String::new(),
        };
        t.row(vec![
            d.id.to_string(),
            short_date(d.deal_date),
            d.deal_type.as_str().into(),
            names.member(d.member_id),
            names.merchant(d.merchant_id),
            d.deal_amount.to_string(),
            d.point.to_string(),
            d.status.as_str().into(),
            match d.billing_status {
                BillingStatus::Yes => "yes".into(),
                BillingStatus::No => "no".into(),
            },
            d.balance.to_string(),
            note,
        ]);
    }
    t.render()
}

pub fn member(m: &MemberView) -> Record {
    Record::new()
        .field("member", m.member_id)
        .field("name", &m.name)
        .field("phone", or_dash(m.phone.as_ref()))
        .field("address", or_dash(m.address.as_ref()))
        .field("status", m.status.as_str())
        .field("points", m.point)
        .field("joined", format_rfc3339(m.joined_at))
        .field(
            "last activity",
            or_dash(m.last_activity.map(format_rfc3339)),
        )
}

pub fn withdrawal(w: &Withdrawal) -> String {
    member(&w.member).field("forfeited", w.forfeited).render()
}

pub fn members(list: &[MemberView]) -> String {
    if list.is_empty() {
        return "no members".into();
    }
    let mut t = Table::new(&[
        ("ID", Align::Right),
        ("NAME", Align::Left),
        ("PHONE", Align::Left),
        ("STATUS", Align::Left),
        ("POINTS", Align::Right),
        ("JOINED", Align::Left),
        ("LAST ACTIVITY", Align::Left),
    ]);
    for m in list {
        t.row(vec![
            m.member_id.to_string(),
            m.name.clone(),
            m.phone.clone().unwrap_or_default(),
            m.status.as_str().into(),
            m.point.to_string(),
            short_date(m.joined_at),
            m.last_activity.map(short_date).unwrap_or_default(),
        ]);
    }
    t.render()
}

pub fn member_detail(d: &MemberDetail) -> String {
    member_detail_named(d, &Names::default())
}

/// The member analysis with merchant names beside their ids.
pub fn member_detail_named(d: &MemberDetail, names: &Names) -> String {
    let a = &d.totals;
    let head = member(&d.member)
        .field("earned", a.earned)
        .field("used", a.used)
        .field("save-cancelled", a.save_cancelled)
        .field("use-cancelled", a.use_cancelled)
        .field("forfeited", a.forfeited)
        .field("deals", a.deals)
        .field("failed deals", a.failed)
        .render();
    let mut out = vec![head];
    if !d.top_merchants.is_empty() {
        let mut t = Table::new(&[
            ("MERCHANT", Names::align(!names.merchants.is_empty())),
            ("DEALS", Align::Right),
            ("EARNED", Align::Right),
            ("USED", Align::Right),
        ]);
        for s in &d.top_merchants {
            t.row(vec![
                names.merchant(s.merchant_id),
                s.deals.to_string(),
                s.earned.to_string(),
                s.used.to_string(),
            ]);
        }
        out.push(format!("\ntop merchants\n{}", t.render()));
    }
    out.push(format!(
        "\nrecent deals\n{}",
        deals_named(&d.recent_deals, names)
    ));
    out.join("\n")
}

pub fn points(b: &Balance) -> String {
    Record::new()
        .field("member", b.member_id)
        .field("points", b.point)
        .render()
}

fn rate(bp: u32) -> String {
    format!("{}%", BasisPoints(bp).as_percent())
}

pub fn merchant(m: &Merchant) -> String {
    Record::new()
        .field("merchant", m.merchant_id)
        .field("name", or_dash(m.name.as_ref()))
        .field("earn rate", rate(m.earn_rate_bp))
        .field("registered", if m.registered { "yes" } else { "no" })
        .render()
}

pub fn merchants(list: &[MerchantSummary]) -> String {
    if list.is_empty() {
        return "no merchants".into();
    }
    let mut t = Table::new(&[
        ("ID", Align::Right),
        ("NAME", Align::Left),
        ("EARN RATE", Align::Right),
        ("REGISTERED", Align::Left),
        ("DEALS", Align::Right),
        ("LAST DEAL", Align::Left),
    ]);
    for s in list {
        let m = &s.merchant;
        t.row(vec![
            m.merchant_id.to_string(),
            m.name.clone().unwrap_or_default(),
            rate(m.earn_rate_bp),
            if m.registered { "yes" } else { "no" }.into(),
            s.deals.to_string(),
            s.last_deal.map(short_date).unwrap_or_default(),
        ]);
    }
    t.render()
}

pub fn billing(b: &Billing) -> String {
    Record::new()
        .field("billing", b.id)
        .field("merchant", b.merchant_id)
        .field("month", b.billing_month)
        .field("amount", b.billing_amount)
        .field("deals", b.deal_count)
        .field("net points", b.net_points)
        .field("commission", rate(b.commission_bp))
        .field("created", format_rfc3339(b.created_at))
        .render()
}

pub fn billing_preview(p: &BillingPreview) -> String {
    Record::new()
        .field("merchant", p.merchant_id)
        .field("month", p.billing_month)
        .field("amount", p.billing_amount)
        .field("deals", p.deal_count)
        .field("net points", p.net_points)
        .field("commission", rate(p.commission_bp))
        .field(
            "latest billing",
            match &p.latest {
                Some(b) => format!("{} ({} for {} deals)", b.id, b.billing_amount, b.deal_count),
                None => "none".into(),
            },
        )
        .render()
}

pub fn billings(list: &[Billing]) -> String {
    billings_named(list, &Names::default())
}

/// The billing table with merchant names beside their ids.
pub fn billings_named(list: &[Billing], names: &Names) -> String {
    if list.is_empty() {
        return "no billings".into();
    }
    let mut t = Table::new(&[
        ("ID", Align::Right),
        ("MERCHANT", Names::align(!names.merchants.is_empty())),
        ("MONTH", Align::Left),
        ("AMOUNT", Align::Right),
        ("DEALS", Align::Right),
        ("CREATED", Align::Left),
    ]);
    for b in list {
        t.row(vec![
            b.id.to_string(),
            names.merchant(b.merchant_id),
            b.billing_month.to_string(),
            b.billing_amount.to_string(),
            b.deal_count.to_string(),
            short_date(b.created_at),
        ]);
    }
    t.render()
}

/// One event per line, as `events` and `events --follow` print them.
pub fn event_line(e: &Event) -> String {
    format!(
        "{:>8}  {}  {:<18}  {}",
        e.offset,
        format_rfc3339(e.timestamp),
        e.body.event_type(),
        e.body.summary()
    )
}

pub fn info(i: &Info, source: &SourceInfo) -> String {
    Record::new()
        .field("version", &i.version)
        .field("source", &source.kind)
        .field("data dir", &i.data_dir)
        .field("members", i.members)
        .field("merchants", i.merchants)
        .field("deals", i.deals)
        .field("billings", i.billings)
        .field("events", i.events)
        .field("store bytes", i.store_bytes)
        .render()
}

/// `backup`: where the copy is, how much was copied, then the copy's check.
pub fn backup(r: &crate::domain::core::BackupReport) -> String {
    let head = Record::new()
        .field("backup", &r.dir)
        .field("files", r.files)
        .field("bytes", r.bytes)
        .render();
    format!("{head}\n{}", check(&r.check))
}

pub fn check(r: &CheckReport) -> String {
    let mut out = vec![
        Record::new()
            .field("ok", if r.ok { "yes" } else { "NO" })
            .field("members", r.members)
            .field("deals", r.deals)
            .field("billings", r.billings)
            .field("events", r.events)
            .field("violations", r.violations.len())
            .render(),
    ];
    out.extend(r.violations.iter().map(|v| format!("  violation: {v}")));
    out.join("\n")
}
