//! The staff reports against the original services, built here from their lists: they keep
//! no counters, so each report pages through `/deals` (1,000 a page, in id order), and
//! `/points`, `/members` or `/billings` where it needs them, holding only its sums (per
//! month, per day of its window, per member), never the deals. The windowed reports
//! (activity, anomalies) read newest first and stop at their window's start. The sums go
//! through the same builders as the counters' (`reports::compute`), so a report reads the
//! same either way; what the original's data cannot give is named in the report's `gaps`.
//!
//! What the original keeps, and what follows from it:
//! - deals: member, merchant, date, type, point, amount, status, billing status. A
//!   `saveCancel`/`useCancel` re-read has no date (it was set after the insert), and no link
//!   to the deal it cancels; a deal of another type (`cancel`) changed nothing.
//! - balances (`/points`): one per member who ever earned, kept after the member leaves.
//! - members: name, phone, status; no join date; a withdrawn member is deleted.
//! - billings: merchant, month, amount after the fixed 2% commission.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::FixedOffset;
use reqwest::Method;
use serde_json::Value;

use super::RemoteAdapter;
use super::client::Sent;
use crate::api::wire::{fault::error_from_response, read};
use crate::api::{Error, Result};
use crate::domain::calendar::{Millis, Month};
use crate::domain::reports::compute::{
    Counted, activity_from, activity_span, anomalies_from, anomaly_span, merchant_row, roll_forward,
};
use crate::domain::reports::counters::{
    self, Flag, MerchantMonth, Totals, day_of, flag_kind, week_of,
};
use crate::domain::reports::segments::{Rfm, Scan, dormant_report, segment_scan};
use crate::domain::reports::{Gap, LiabilityReport, Report, ReportKind, ReportQuery};
use crate::domain::{
    Deal, DealId, DealStatus, DealType, MemberId, MemberStatus, MerchantId, Points,
};

/// Items per page: Spring Data REST's largest page (it cuts any larger `size` to this).
pub const PAGE: usize = 1000;
/// Reading newest first, a windowed report stops at the first deal dated this long before
/// its window (ids are issued in time order, give or take concurrent inserts).
const SLACK_MS: i64 = 3_600_000;

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("UTC")
}

pub fn report(a: &RemoteAdapter, q: &ReportQuery) -> Result<Report> {
    let now = a.clock.now();
    let mut r = match q.kind {
        ReportKind::Liability => Report::Liability(liability(a, q, now)?),
        ReportKind::Activity => activity(a, q, now)?,
        ReportKind::Segments => Report::Segments(segments(a, q, now)?.0.segments),
        ReportKind::Dormant => {
            let (scan, gaps) = segments(a, q, now)?;
            let mut d = dormant_report(&scan, q, |id| name_of(a, id))?;
            d.gaps = gaps;
            Report::Dormant(d)
        }
        ReportKind::Anomalies => anomalies(a, q, now)?,
    };
    r.gaps_mut().push(Gap::new(
        "days, months",
        "in UTC: the original services keep no business time zone",
    ));
    Ok(r)
}

// ---- paging ----

/// One page, read fresh and kept nowhere (the adapter's stale cache is for screens, and a
/// walk over a million deals must not fill it).
fn fetch(a: &RemoteAdapter, path: String, what: &'static str) -> Result<Value> {
    let s = a.shared.clone();
    a.run(async move {
        match s.send(Method::GET, &path, None, None, s.timeout).await {
            Sent::Answer { status, body } if (200..300).contains(&status) => {
                serde_json::from_slice(&body).map_err(|e| Error::Unavailable {
                    message: format!("{} sent unreadable JSON for {path}: {e}", s.base),
                })
            }
            Sent::Answer { status, body } => Err(error_from_response(status, &body, what)),
            Sent::Refrained(why) | Sent::Lost(why) => Err(Error::Unavailable {
                message: format!("{why}: the report needs every page of {path}"),
            }),
        }
    })
    .unwrap_or_else(|| Err(super::stopped()))
}

/// Every item of a collection, `PAGE` at a time in `sort` order, until `each` says stop.
/// The page block says how many pages there are; a collection without one (not paged) is
/// one page.
fn walk(
    a: &RemoteAdapter,
    coll: &'static str,
    sort: &str,
    mut each: impl FnMut(&Value) -> Result<bool>,
) -> Result<()> {
    let mut page = 0u64;
    loop {
        let v = fetch(
            a,
            format!("/{coll}?page={page}&size={PAGE}&sort={sort}"),
            coll,
        )?;
        let items = v
            .get("_embedded")
            .and_then(|e| e.get(coll))
            .and_then(Value::as_array);
        let Some(items) = items.filter(|i| !i.is_empty()) else {
            return Ok(());
        };
        for item in items {
            if !each(item)? {
                return Ok(());
            }
        }
        match v.pointer("/page/totalPages").and_then(Value::as_u64) {
            Some(pages) if page + 1 < pages => page += 1,
            _ => return Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Oldest first, every deal.
    Asc,
    /// Newest first, until the callback says stop.
    Desc,
}

/// What a walk over the deals met besides deals it counted.
#[derive(Debug, Default)]
struct DealsRead {
    /// Cancels without a date, dated from the deal before them.
    undated: u64,
    /// Rows of a type the original ignores (`cancel`): they changed nothing.
    skipped: u64,
}

/// The deals in id order, each with a date: a cancel the original stored without one gets
/// the date of the deal before it by id (the one after it, when none is before).
fn walk_deals(
    a: &RemoteAdapter,
    order: Order,
    mut each: impl FnMut(Deal) -> bool,
) -> Result<DealsRead> {
    let mut read = DealsRead::default();
    let mut pending: Vec<Deal> = Vec::new();
    let mut last: Option<Millis> = None;
    let mut stopped = false;
    let sort = match order {
        Order::Asc => "id,asc",
        Order::Desc => "id,desc",
    };
    walk(a, "deals", sort, |v| {
        let Ok(mut d) = read::deal(v) else {
            read.skipped += 1;
            return Ok(true);
        };
        if d.deal_date == 0 {
            read.undated += 1;
            match (order, last) {
                (Order::Asc, Some(l)) => {
                    d.deal_date = l;
                    stopped = !each(d);
                }
                _ => pending.push(d),
            }
            return Ok(!stopped);
        }
        last = Some(d.deal_date);
        // Waiting cancels: ascending, the first ones (nothing dated before them) go before
        // this deal, dated by it; descending, they came just after it, and it dates them.
        for mut p in pending.drain(..) {
            p.deal_date = d.deal_date;
            if !each(p) {
                stopped = true;
                return Ok(false);
            }
        }
        stopped = !each(d);
        Ok(!stopped)
    })?;
    if !stopped {
        let date = last.unwrap_or_else(|| a.clock.now());
        for mut p in pending {
            p.deal_date = date;
            if !each(p) {
                break;
            }
        }
    }
    Ok(read)
}

fn deal_gaps(read: &DealsRead, gaps: &mut Vec<Gap>) {
    if read.undated > 0 {
        gaps.push(Gap::new(
            "saveCancels, useCancels (dates)",
            &format!(
                "{} cancels have no date in the original (it sets it after the insert): each is dated as the deal before it by id",
                read.undated
            ),
        ));
    }
    if read.skipped > 0 {
        gaps.push(Gap::new(
            "deals",
            &format!(
                "{} deals of a type the original ignores (e.g. `cancel`) are left out: they changed no balance",
                read.skipped
            ),
        ));
    }
}

fn name_of(a: &RemoteAdapter, id: MemberId) -> Result<String> {
    match fetch(a, format!("/members/{id}"), "member") {
        Ok(v) => Ok(read::member(&v)?.name),
        // Withdrawn: the original deleted the member.
        Err(Error::Domain(crate::domain::Error::NotFound { .. })) => Ok(String::new()),
        Err(e) => Err(e),
    }
}

/// The sum of every balance, members gone included (the original forfeits nothing).
fn outstanding(a: &RemoteAdapter) -> Result<Points> {
    let mut sum = Points::ZERO;
    walk(a, "points", "memberId,asc", |v| {
        sum += read::balance(v)?.point;
        Ok(true)
    })?;
    Ok(sum)
}

// ---- liability ----

/// Net points of a billing of the original: its amount is the net times 0.98.
fn net_of(billed: Points) -> Points {
    let h = billed.0 as i128 * 100;
    Points(((h + 49) / 98) as i64)
}

fn liability(a: &RemoteAdapter, q: &ReportQuery, now: Millis) -> Result<LiabilityReport> {
    let zone = utc();
    let mut months: BTreeMap<Month, Totals> = BTreeMap::new();
    let mut by_merchant: BTreeMap<(Month, u64), MerchantMonth> = BTreeMap::new();
    let read = walk_deals(a, Order::Asc, |d| {
        let t = Totals::of_deal(&d, false);
        let m = Month::of(d.deal_date, zone);
        months.entry(m).or_default().add(&t);
        by_merchant.entry((m, d.merchant_id.0)).or_default().add(&t);
        true
    })?;
    walk(a, "billings", "id,asc", |v| {
        let b = read::billing(v)?;
        let t = months.entry(b.billing_month).or_default();
        t.billings += 1;
        t.billed += b.billing_amount;
        t.billed_net += net_of(b.billing_amount);
        by_merchant
            .entry((b.billing_month, b.merchant_id.0))
            .or_default()
            .billed += b.billing_amount;
        Ok(true)
    })?;
    let outstanding = outstanding(a)?;
    let (rows, reconciled) = roll_forward(&months, Month::of(now, zone), outstanding, q.month);
    let merchant_month = q.month.or(rows.last().map(|r| r.month));
    let merchants = by_merchant
        .iter()
        .filter(|((m, _), _)| Some(*m) == merchant_month)
        .map(|((_, id), t)| merchant_row(MerchantId(*id), None, t))
        .collect();
    let mut gaps = vec![
        Gap::new(
            "clawbacks",
            "not known: the original's useCancel names no original deal, so a cancel of a billed use cannot be told (and its settlement never claws back)",
        ),
        Gap::new(
            "billedNet, commission",
            "derived: the original keeps only the amount after its fixed 2% commission (net = amount / 0.98)",
        ),
        Gap::new(
            "forfeited",
            "0 by the original's rules: a withdrawal keeps the balance, which stays in the outstanding points",
        ),
        Gap::new(
            "name",
            "the original keeps no merchant registry: merchants are ids",
        ),
    ];
    deal_gaps(&read, &mut gaps);
    Ok(LiabilityReport {
        months: rows,
        merchant_month,
        merchants,
        outstanding,
        reconciled,
        gaps,
    })
}

// ---- activity and anomalies: newest first, down to the window ----

/// Day and month totals of a window, with its distinct members per day, week and month.
#[derive(Default)]
struct Window {
    days: BTreeMap<i32, Totals>,
    months: BTreeMap<Month, Totals>,
}

impl Counted for Window {
    fn days(&self, from: i32, to: i32) -> crate::domain::error::Result<Vec<(i32, Totals)>> {
        Ok(self.days.range(from..=to).map(|(d, t)| (*d, *t)).collect())
    }
    fn months(&self) -> crate::domain::error::Result<Vec<(Month, Totals)>> {
        Ok(self.months.iter().map(|(m, t)| (*m, *t)).collect())
    }
}

/// Walks the deals newest first from `last_day`'s end down to `first_day`'s start, handing
/// each deal in the window to `each`.
fn window_deals(
    a: &RemoteAdapter,
    (first_day, last_day): (i32, i32),
    mut each: impl FnMut(Deal),
) -> Result<DealsRead> {
    let zone = utc();
    let start = counters::day_start(first_day, zone);
    let end = counters::day_start(last_day + 1, zone);
    walk_deals(a, Order::Desc, |d| {
        if d.deal_date < start - SLACK_MS {
            return false;
        }
        if (start..end).contains(&d.deal_date) {
            each(d);
        }
        true
    })
}

fn activity(a: &RemoteAdapter, q: &ReportQuery, now: Millis) -> Result<Report> {
    let zone = utc();
    let mut w = Window::default();
    let mut seen_day: HashSet<(i32, u64)> = HashSet::new();
    let mut seen_week: HashSet<(i32, u64)> = HashSet::new();
    let mut seen_month: HashSet<(Month, u64)> = HashSet::new();
    let read = window_deals(a, activity_span(q, zone, now), |d| {
        let t = Totals::of_deal(&d, false);
        let day = day_of(d.deal_date, zone);
        let month = Month::of(d.deal_date, zone);
        let member = d.member_id.0;
        let mut day_t = t;
        day_t.active = u64::from(seen_day.insert((day, member)));
        w.days.entry(day).or_default().add(&day_t);
        if seen_week.insert((week_of(day), member)) {
            // A week's distinct members, counted on its Monday (weeks sum their days).
            w.days.entry(week_of(day)).or_default().week_active += 1;
        }
        let mut month_t = t;
        month_t.active = u64::from(seen_month.insert((month, member)));
        w.months.entry(month).or_default().add(&month_t);
    })?;
    let mut r = activity_from(&w, zone, now, q)?;
    r.gaps = vec![Gap::new(
        "newMembers, withdrawals",
        "not known: the original keeps no join date and deletes a withdrawn member (always 0 here)",
    )];
    deal_gaps(&read, &mut r.gaps);
    Ok(Report::Activity(r))
}

fn anomalies(a: &RemoteAdapter, q: &ReportQuery, now: Millis) -> Result<Report> {
    let zone = utc();
    let span = anomaly_span(q, zone, now);
    let mut flags: Vec<(Millis, DealId, Flag)> = Vec::new();
    let read = window_deals(a, span, |d| {
        if let Some(kind) = flag_kind(&d, false) {
            flags.push((
                d.deal_date,
                d.id,
                Flag {
                    member: d.member_id.0,
                    merchant: d.merchant_id.0,
                    kind,
                    points: d.point,
                },
            ));
        }
    })?;
    flags.sort_by_key(|f| (f.0, f.1));
    let mut r = anomalies_from(
        flags.into_iter().map(|(_, id, f)| (id, f)),
        BTreeMap::new(),
        span,
        q,
        |id| name_of(a, id),
        |_| Ok(None),
    )?;
    r.gaps = vec![
        Gap::new(
            "merchants",
            "not built: clawbacks are useCancels of billed uses, and the original's useCancel names no original deal (its settlement never claws back either)",
        ),
        Gap::new(
            "failedCancels",
            "0 by the original's rules: it refuses no cancel",
        ),
    ];
    deal_gaps(&read, &mut r.gaps);
    Ok(Report::Anomalies(r))
}

// ---- segments ----

/// A member's recency, frequency and spend from its deals.
#[derive(Default, Clone, Copy)]
struct Seen {
    last: Option<Millis>,
    frequency: u64,
    spend: u64,
}

/// Segments every member the original still has (a withdrawn one is deleted), from every
/// deal (oldest first), the balances and the member list.
fn segments(a: &RemoteAdapter, q: &ReportQuery, now: Millis) -> Result<(Scan, Vec<Gap>)> {
    let mut seen: HashMap<u64, Seen> = HashMap::new();
    let read = walk_deals(a, Order::Asc, |d| {
        let s = seen.entry(d.member_id.0).or_default();
        let ok = d.status == DealStatus::Success;
        s.last = Some(s.last.map_or(d.deal_date, |l| l.max(d.deal_date)));
        match d.deal_type {
            DealType::Save if ok => {
                s.frequency += 1;
                s.spend += d.deal_amount;
            }
            DealType::Use if ok => s.frequency += 1,
            DealType::SaveCancel if ok => s.spend = s.spend.saturating_sub(d.deal_amount),
            _ => {}
        }
        true
    })?;
    let mut balances: HashMap<u64, Points> = HashMap::new();
    walk(a, "points", "memberId,asc", |v| {
        let b = read::balance(v)?;
        balances.insert(b.member_id.0, b.point);
        Ok(true)
    })?;
    let mut live: Vec<Rfm> = Vec::new();
    walk(a, "members", "memberId,asc", |v| {
        let m = read::member(v)?;
        if m.status == MemberStatus::Valid {
            let s = seen.get(&m.member_id.0).copied().unwrap_or_default();
            live.push(Rfm {
                id: m.member_id,
                // Unknown: as if long ago (no one is new; never dealing reads dormant).
                joined_at: 0,
                last_deal: s.last,
                frequency: s.frequency,
                spend: s.spend,
                balance: balances
                    .get(&m.member_id.0)
                    .copied()
                    .unwrap_or(Points::ZERO),
                withdrawn: false,
            });
        }
        Ok(true)
    })?;
    drop((seen, balances));
    let mut scan = segment_scan(&live, now, q.days);
    let mut gaps = vec![
        Gap::new(
            "new",
            "not known: the original keeps no join date, so no member counts as new and one who never dealt counts as dormant",
        ),
        Gap::new(
            "points",
            "members the original deleted (withdrawn) are in no segment; their balances stay in the liability's outstanding",
        ),
    ];
    deal_gaps(&read, &mut gaps);
    scan.segments.gaps = gaps.clone();
    Ok((scan, gaps))
}
