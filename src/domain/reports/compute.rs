//! The reports, read from the counters. Liability, activity and anomalies read a few keys
//! per month, day or flagged deal in their window; segments and dormant come from the
//! member segmentation (`segments.rs`), cached until the data moves or the day changes.

use std::collections::BTreeMap;

use super::counters::{self, FlagKind, Totals, day_of, week_of};
use super::query::{Grain, ReportKind, ReportQuery, day_string};
use super::segments::{Rfm, SEGMENTS, dormant_report, segment_of};
use super::{
    ActivityReport, ActivityRow, AnomalyReport, LiabilityReport, LiabilityRow, MemberAnomaly,
    MerchantAnomaly, MerchantLiability, Report,
};
use crate::domain::calendar::{Millis, Month};
use crate::domain::core::Core;
use crate::domain::error::Result;
use crate::domain::ids::{DealId, MemberId, MerchantId};
use crate::domain::ledger::{find_record, member_of, merchant_of};
use crate::domain::money::Points;
use crate::domain::schema::Meta;
use crate::domain::store::Store;
use chrono::FixedOffset;

/// The deals listed behind one anomaly, at most.
const MAX_DEALS: usize = 50;

/// Where the day and month totals come from: the counters, or totals a remote adapter
/// added up from another system's deals.
pub trait Counted {
    /// Days `from..=to` that saw something.
    fn days(&self, from: i32, to: i32) -> Result<Vec<(i32, Totals)>>;
    /// Every month that saw something.
    fn months(&self) -> Result<Vec<(Month, Totals)>>;
}

impl Counted for Store {
    fn days(&self, from: i32, to: i32) -> Result<Vec<(i32, Totals)>> {
        counters::days(self, from, to)
    }
    fn months(&self) -> Result<Vec<(Month, Totals)>> {
        counters::months(self)
    }
}

impl Core {
    /// Answers a report from the counters (see `reports::counters`).
    pub fn report(&self, q: &ReportQuery) -> Result<Report> {
        self.shared.settle()?;
        let store = &self.shared.store;
        let zone = self.shared.opts.zone;
        let now = self.shared.opts.clock.now();
        let meta = self.meta();
        Ok(match q.kind {
            ReportKind::Liability => Report::Liability(liability(
                store,
                &self.shared.opts.rates,
                zone,
                now,
                &meta,
                q,
            )?),
            ReportKind::Activity => Report::Activity(activity(store, zone, now, q)?),
            ReportKind::Segments => {
                Report::Segments(self.scan(now, &meta, q.days)?.segments.clone())
            }
            ReportKind::Dormant => {
                let scan = self.scan(now, &meta, q.days)?;
                Report::Dormant(dormant_report(&scan, q, |id| {
                    member_of(store, id).map(|m| m.name)
                })?)
            }
            ReportKind::Anomalies => {
                Report::Anomalies(anomalies(store, &self.shared.opts.rates, zone, now, q)?)
            }
        })
    }

    /// Running totals and segments of these members (unknown ids left out), for the members
    /// export: a page of ids at a time, the segment thresholds from the cached scan.
    pub fn member_totals(&self, ids: &[MemberId]) -> Result<Vec<super::MemberTotals>> {
        self.shared.settle()?;
        let store = &self.shared.store;
        let now = self.shared.opts.clock.now();
        let days = super::query::DEFAULT_DORMANT_DAYS;
        let scan = self.scan(now, &self.meta(), days)?;
        let (hf, hs) = (scan.segments.high_frequency, scan.segments.high_spend);
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let Some(r) = find_record(store, id)? else {
                continue;
            };
            let (a, s) = (r.account, r.stats);
            let segment = if s.withdrawn_at.is_some() {
                String::new()
            } else {
                SEGMENTS[segment_of(&Rfm::of(id, &r), now, days, hf, hs).0]
                    .0
                    .to_string()
            };
            out.push(super::MemberTotals {
                member_id: id,
                earned: a.earned,
                used: a.used,
                save_cancelled: a.save_cancelled,
                use_cancelled: a.use_cancelled,
                forfeited: a.forfeited,
                deals: a.deals,
                failed: a.failed,
                frequency: s.frequency,
                spend: s.spend,
                segment,
            });
        }
        Ok(out)
    }

    /// The report counters' cost per deal on the newest `n` deals (see
    /// `counters::deal_cost`), for `onepoint-bench`.
    pub fn counter_cost(&self, n: usize) -> Result<(usize, std::time::Duration, usize)> {
        counters::deal_cost(&self.shared.store, self.shared.opts.zone, n)
    }
}

fn liability(
    store: &Store,
    rates: &crate::domain::Rates,
    zone: FixedOffset,
    now: Millis,
    meta: &Meta,
    q: &ReportQuery,
) -> Result<LiabilityReport> {
    let stored: BTreeMap<Month, Totals> = counters::months(store)?.into_iter().collect();
    let (months, reconciled) =
        roll_forward(&stored, Month::of(now, zone), meta.outstanding, q.month);
    let merchant_month = q.month.or(months.last().map(|r| r.month));
    let mut merchants = Vec::new();
    if let Some(m) = merchant_month {
        for (id, t) in counters::merchants_in(store, m)? {
            let id = MerchantId(id);
            merchants.push(merchant_row(id, merchant_of(store, rates, id)?.name, &t));
        }
    }
    Ok(LiabilityReport {
        months,
        merchant_month,
        merchants,
        outstanding: meta.outstanding,
        reconciled,
        gaps: Vec::new(),
    })
}

/// The roll-forward from monthly totals: every month from the first that saw something to
/// `now_month` (or the latest), each opening the previous closing, from nothing. Reconciled
/// when the last closing is `outstanding` (the sum of balances). `only` keeps one month.
pub fn roll_forward(
    stored: &BTreeMap<Month, Totals>,
    now_month: Month,
    outstanding: Points,
    only: Option<Month>,
) -> (Vec<LiabilityRow>, bool) {
    let mut months = Vec::new();
    let mut opening = Points::ZERO;
    if let (Some(first), Some(last)) = (stored.keys().next(), stored.keys().next_back()) {
        let last = (*last).max(now_month);
        let mut m = *first;
        while m <= last {
            let t = stored.get(&m).copied().unwrap_or_default();
            let closing = opening + t.net_change();
            months.push(LiabilityRow {
                month: m,
                opening,
                issued: t.issued,
                redeemed: t.redeemed,
                save_cancelled: t.save_cancelled,
                use_cancelled: t.use_cancelled,
                forfeited: t.forfeited,
                closing,
                billed_net: t.billed_net,
                billed: t.billed,
                commission: t.billed_net - t.billed,
                clawbacks: t.clawbacks,
            });
            opening = closing;
            m = m.next();
        }
    }
    let reconciled = opening == outstanding;
    if let Some(m) = only {
        months.retain(|r| r.month == m);
    }
    (months, reconciled)
}

/// One merchant's row of the roll-forward's month.
pub fn merchant_row(
    id: MerchantId,
    name: Option<String>,
    t: &counters::MerchantMonth,
) -> MerchantLiability {
    MerchantLiability {
        merchant_id: id,
        name,
        issued: t.issued,
        redeemed: t.redeemed,
        save_cancelled: t.save_cancelled,
        use_cancelled: t.use_cancelled,
        clawbacks: t.clawbacks,
        billed: t.billed,
    }
}

/// `part` of `whole` in basis points, rounded half up (1 of 7 is 14.29%, not 14.28%).
fn rate_bp(part: u64, whole: u64) -> u32 {
    if whole == 0 {
        0
    } else {
        ((part as u128 * 20_000 + whole as u128) / (2 * whole as u128)) as u32
    }
}

fn activity_row(period: String, t: &Totals, active: u64) -> ActivityRow {
    ActivityRow {
        period,
        saves: t.saves,
        uses: t.uses,
        failed_uses: t.failed_uses,
        save_cancels: t.save_cancels,
        use_cancels: t.use_cancels,
        failed_use_rate_bp: rate_bp(t.failed_uses, t.uses + t.failed_uses),
        earned: t.issued,
        used: t.redeemed,
        active_members: active,
        new_members: t.new_members,
        withdrawals: t.withdrawals,
    }
}

fn activity(
    store: &Store,
    zone: FixedOffset,
    now: Millis,
    q: &ReportQuery,
) -> Result<ActivityReport> {
    activity_from(store, zone, now, q)
}

/// The business days an activity report covers, first and last (a month grain starts on
/// its first month's first day, a week grain on its first Monday).
pub fn activity_span(q: &ReportQuery, zone: FixedOffset, now: Millis) -> (i32, i32) {
    let to = q.to.unwrap_or(day_of(now, zone));
    match q.grain {
        Grain::Day => (q.from.unwrap_or(to - 29), to),
        Grain::Week => {
            let last = week_of(to);
            (week_of(q.from.unwrap_or(last - 7 * 11)), last + 6)
        }
        Grain::Month => {
            let first = month_range(q, zone, now).0;
            (day_of(first.start_ms(zone), zone), to)
        }
    }
}

fn month_range(q: &ReportQuery, zone: FixedOffset, now: Millis) -> (Month, Month) {
    let to = q.to.unwrap_or(day_of(now, zone));
    let day_ms = |d: i32| counters::day_start(d, zone);
    let last = Month::of(day_ms(to), zone);
    let first = match q.from {
        Some(f) => Month::of(day_ms(f), zone),
        None => (0..11).fold(last, |m, _| m.prev()),
    };
    (first, last)
}

/// Activity by day, ISO week or month from day and month totals.
pub fn activity_from<C: Counted>(
    c: &C,
    zone: FixedOffset,
    now: Millis,
    q: &ReportQuery,
) -> Result<ActivityReport> {
    let (from, to) = activity_span(q, zone, now);
    let rows = match q.grain {
        Grain::Day => {
            let stored: BTreeMap<i32, Totals> = c.days(from, to)?.into_iter().collect();
            (from..=to)
                .map(|d| {
                    let t = stored.get(&d).copied().unwrap_or_default();
                    activity_row(day_string(d), &t, t.active)
                })
                .collect()
        }
        Grain::Week => {
            let mut weeks: BTreeMap<i32, Totals> = (0..)
                .map(|i| from + 7 * i)
                .take_while(|w| *w <= to)
                .map(|w| (w, Totals::default()))
                .collect();
            for (d, t) in c.days(from, to)? {
                if let Some(w) = weeks.get_mut(&week_of(d)) {
                    w.add(&t);
                }
            }
            weeks
                .into_iter()
                .map(|(w, t)| activity_row(day_string(w), &t, t.week_active))
                .collect()
        }
        Grain::Month => {
            let (first, last) = month_range(q, zone, now);
            let stored: BTreeMap<Month, Totals> = c.months()?.into_iter().collect();
            let mut rows = Vec::new();
            let mut m = first;
            while m <= last {
                let t = stored.get(&m).copied().unwrap_or_default();
                rows.push(activity_row(m.to_string(), &t, t.active));
                m = m.next();
            }
            rows
        }
    };
    Ok(ActivityReport {
        grain: q.grain,
        rows,
        gaps: Vec::new(),
    })
}

/// The business days `from..=to` an anomaly report looks at (default: the last 7).
pub fn anomaly_span(q: &ReportQuery, zone: FixedOffset, now: Millis) -> (i32, i32) {
    let to = q.to.unwrap_or(day_of(now, zone));
    (q.from.unwrap_or(to - 6), to)
}

fn anomalies(
    store: &Store,
    rates: &crate::domain::Rates,
    zone: FixedOffset,
    now: Millis,
    q: &ReportQuery,
) -> Result<AnomalyReport> {
    let (from, to) = anomaly_span(q, zone, now);
    let (start, end) = (
        counters::day_start(from, zone),
        counters::day_start(to + 1, zone),
    );
    // Merchants: clawbacks against redeemed points over the months the window touches.
    let (m0, m1) = (Month::of(start, zone), Month::of(end - 1, zone));
    let mut by_merchant: BTreeMap<u64, counters::MerchantMonth> = BTreeMap::new();
    let mut m = m0;
    while m <= m1 {
        for (id, t) in counters::merchants_in(store, m)? {
            let e = by_merchant.entry(id).or_default();
            e.redeemed += t.redeemed;
            e.uses += t.uses;
            e.clawbacks += t.clawbacks;
            e.clawback_count += t.clawback_count;
        }
        m = m.next();
    }
    let flags = counters::flags(store, start, end)?
        .into_iter()
        .map(|(_, deal, f)| (deal, f));
    anomalies_from(
        flags,
        by_merchant,
        (from, to),
        q,
        |id| member_of(store, id).map(|m| m.name),
        |id| merchant_of(store, rates, id).map(|m| m.name),
    )
}

/// Anomalies from the window's flagged deals (oldest first) and each merchant's totals
/// over the months the window touches.
pub fn anomalies_from<E>(
    flags: impl IntoIterator<Item = (DealId, counters::Flag)>,
    by_merchant: BTreeMap<u64, counters::MerchantMonth>,
    (from, to): (i32, i32),
    q: &ReportQuery,
    mut member_name: impl FnMut(MemberId) -> std::result::Result<String, E>,
    mut merchant_name: impl FnMut(MerchantId) -> std::result::Result<Option<String>, E>,
) -> std::result::Result<AnomalyReport, E> {
    #[derive(Default)]
    struct Tally {
        cancels: u64,
        failed: u64,
        failed_cancels: u64,
        deals: Vec<DealId>,
    }
    let mut members: BTreeMap<u64, Tally> = BTreeMap::new();
    let mut claws: BTreeMap<u64, Vec<DealId>> = BTreeMap::new();
    for (deal, f) in flags {
        let t = members.entry(f.member).or_default();
        match f.kind {
            FlagKind::FailedUse => t.failed += 1,
            FlagKind::FailedCancel => t.failed_cancels += 1,
            FlagKind::SaveCancel | FlagKind::UseCancel => t.cancels += 1,
            FlagKind::Clawback => {
                t.cancels += 1;
                claws.entry(f.merchant).or_default().push(deal);
            }
        }
        t.deals.push(deal);
    }
    let mut out_members = Vec::new();
    for (id, mut t) in members {
        if t.cancels >= q.min_cancels || t.failed + t.failed_cancels >= q.min_failed {
            t.deals.truncate(MAX_DEALS);
            out_members.push(MemberAnomaly {
                member_id: MemberId(id),
                name: String::new(),
                cancels: t.cancels,
                failed_uses: t.failed,
                failed_cancels: t.failed_cancels,
                deals: t.deals,
            });
        }
    }
    out_members.sort_by(|a, b| {
        (b.cancels + b.failed_uses + b.failed_cancels)
            .cmp(&(a.cancels + a.failed_uses + a.failed_cancels))
            .then(a.member_id.cmp(&b.member_id))
    });
    out_members.truncate(q.limit);
    for m in &mut out_members {
        m.name = member_name(m.member_id)?;
    }
    let mut out_merchants = Vec::new();
    for (id, t) in by_merchant {
        if t.clawback_count == 0 {
            continue;
        }
        let ratio = if t.redeemed.0 <= 0 {
            10_000
        } else {
            (t.clawbacks.0.max(0) as i128 * 10_000 / t.redeemed.0 as i128).min(u32::MAX as i128)
                as u32
        };
        if ratio >= q.clawback.0 {
            let mut deals = claws.remove(&id).unwrap_or_default();
            deals.truncate(MAX_DEALS);
            out_merchants.push(MerchantAnomaly {
                merchant_id: MerchantId(id),
                name: None,
                uses: t.uses,
                redeemed: t.redeemed,
                clawback_count: t.clawback_count,
                clawbacks: t.clawbacks,
                ratio_bp: ratio,
                deals,
            });
        }
    }
    out_merchants.sort_by(|a, b| {
        b.ratio_bp
            .cmp(&a.ratio_bp)
            .then(a.merchant_id.cmp(&b.merchant_id))
    });
    out_merchants.truncate(q.limit);
    for m in &mut out_merchants {
        m.name = merchant_name(m.merchant_id)?;
    }
    Ok(AnomalyReport {
        from: day_string(from),
        to: day_string(to),
        min_cancels: q.min_cancels,
        min_failed: q.min_failed,
        clawback_bp: q.clawback.0,
        members: out_members,
        merchants: out_merchants,
        gaps: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::rate_bp;

    #[test]
    fn rates_round_half_up_to_the_basis_point() {
        assert_eq!(rate_bp(1, 7), 1429);
        assert_eq!(rate_bp(2, 3), 6667);
        assert_eq!(rate_bp(1, 3), 3333);
        assert_eq!(rate_bp(1, 2), 5000);
        assert_eq!(rate_bp(1, 20_000), 1);
        assert_eq!(rate_bp(1, 20_001), 0);
        assert_eq!(rate_bp(5, 5), 10_000);
        assert_eq!(rate_bp(0, 0), 0);
    }
}
