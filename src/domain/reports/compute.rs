//! The reports, read from the counters. Liability, activity and anomalies read a few keys
//! per month, day or flagged deal in their window; segments and dormant read one record per
//! member (`Y p`), and that scan is cached until the next write or the next day.

use std::collections::BTreeMap;

use chrono::FixedOffset;
use parking_lot::Mutex;

use super::counters::{self, FlagKind, MemberStats, Totals, day_of, week_of};
use super::query::{Grain, ReportKind, ReportQuery, day_string};
use super::{
    ActivityReport, ActivityRow, AnomalyReport, DormantMember, DormantReport, LiabilityReport,
    LiabilityRow, MemberAnomaly, MerchantAnomaly, MerchantLiability, Report, SegmentRow,
    SegmentsReport,
};
use crate::domain::calendar::{Millis, Month};
use crate::domain::core::Core;
use crate::domain::error::Result;
use crate::domain::ids::{DealId, MemberId, MerchantId};
use crate::domain::ledger::{member_of, merchant_of};
use crate::domain::money::Points;
use crate::domain::schema::{Meta, decode, read_u64};
use crate::domain::store::Store;

const DAY_MS: i64 = 86_400_000;
/// The deals listed behind one anomaly, at most.
const MAX_DEALS: usize = 50;

/// The last member scan, reused until the data moves (a new event) or the day changes; and
/// the members' segmentation records in memory, brought up to date from the events since
/// (only the members they name are read again), so a scan after a write reads no table.
#[derive(Default)]
pub struct Cache {
    last: Mutex<Option<(ScanKey, std::sync::Arc<Scan>)>>,
    mirror: Mutex<Option<Mirror>>,
}

/// Every member's `Rfm`, in id order, as of event `offset`; saved beside the store (see
/// `snapshot`) as of event `saved`.
struct Mirror {
    offset: u64,
    rows: Vec<Rfm>,
    saved: u64,
}

/// How many events since the records in memory are replayed rather than every record read
/// again: replaying one (reading it, then its member's record) costs about what reading a
/// record or two in the table does (measured at 1M members: 6-8 s for the whole table cold).
fn replay_limit(members: usize) -> u64 {
    members as u64 / 2 + 1_000
}

/// The saved copy is written again once this many events have been replayed since it.
fn resave_after(members: usize) -> u64 {
    members as u64 / 8 + 1_000
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScanKey {
    offset: u64,
    today: i32,
    days: u32,
}

/// A member segmentation: the segments report and the dormant members holding points.
#[derive(Debug)]
pub struct Scan {
    pub segments: SegmentsReport,
    /// Dormant members holding points, the largest first (at most `MAX_LIMIT`).
    pub dormant: Vec<(MemberId, Points, Option<Millis>, u32)>,
    pub dormant_members: u64,
    pub dormant_points: Points,
}

/// What segmentation needs of one member (not withdrawn): recency, frequency, monetary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfm {
    pub id: MemberId,
    /// When it joined (0: unknown, long ago).
    pub joined_at: Millis,
    pub last_deal: Option<Millis>,
    /// Successful saves and uses.
    pub frequency: u64,
    /// Spend behind successful saves, whole currency units.
    pub spend: u64,
    pub balance: Points,
    /// Withdrawn members are in no segment.
    pub withdrawn: bool,
}

impl Rfm {
    pub fn of(id: MemberId, s: &MemberStats) -> Rfm {
        Rfm {
            id,
            joined_at: s.joined_at,
            last_deal: s.last_deal,
            frequency: s.frequency,
            spend: s.spend,
            balance: s.balance,
            withdrawn: s.withdrawn_at.is_some(),
        }
    }
}

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
        let store = &self.shared.store;
        let now = self.shared.opts.clock.now();
        let days = super::query::DEFAULT_DORMANT_DAYS;
        let scan = self.scan(now, &self.meta(), days)?;
        let (hf, hs) = (scan.segments.high_frequency, scan.segments.high_spend);
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let Some(s) =
                crate::domain::tx::Reader::get::<MemberStats>(store, &counters::member_key(id.0))?
            else {
                continue;
            };
            let a = crate::domain::ledger::account_of(store, id)?;
            let segment = if s.withdrawn_at.is_some() {
                String::new()
            } else {
                SEGMENTS[segment_of(&Rfm::of(id, &s), now, days, hf, hs).0]
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

    fn scan(&self, now: Millis, meta: &Meta, days: u32) -> Result<std::sync::Arc<Scan>> {
        let zone = self.shared.opts.zone;
        let key = ScanKey {
            offset: meta.last_offset,
            today: day_of(now, zone),
            days,
        };
        let cache = &self.shared.reports;
        if let Some((k, s)) = cache.last.lock().as_ref()
            && *k == key
        {
            return Ok(s.clone());
        }
        let mut mirror = cache.mirror.lock();
        self.refresh(&mut mirror, meta.last_offset)?;
        let rows = mirror.as_ref().map_or(&[][..], |m| &m.rows[..]);
        let s = std::sync::Arc::new(segment_scan(rows, now, days));
        drop(mirror);
        *cache.last.lock() = Some((key, s.clone()));
        Ok(s)
    }

    /// Brings the members' records up to event `to`: the members the events since name are
    /// read again. With none in memory, the saved copy is taken when it is of this store and
    /// recent enough; else (or with too many events since) every record is read, and saved.
    fn refresh(&self, mirror: &mut Option<Mirror>, to: u64) -> Result<()> {
        let store = &self.shared.store;
        if mirror.is_none()
            && let Some((offset, print, rows)) = super::snapshot::load(self.dir())
            && offset <= to
            && to - offset <= replay_limit(rows.len())
            && self.fingerprint(offset)? == Some(print)
        {
            *mirror = Some(Mirror {
                offset,
                rows,
                saved: offset,
            });
        }
        let replay = match mirror.as_ref() {
            // The limit grows with the table.
            Some(m) => m.offset <= to && to - m.offset <= replay_limit(m.rows.len()),
            None => false,
        };
        if !replay {
            // Anything written while the table is read is named by an event after `to`,
            // and read again at the next refresh.
            let m = mirror.insert(Mirror {
                offset: to,
                rows: member_rows(store, self.meta().last_member as usize)?,
                saved: 0,
            });
            self.save_rows(m)?;
            return Ok(());
        }
        let m = mirror.as_mut().expect("replay needs a mirror");
        let mut changed: Vec<u64> = Vec::new();
        let mut after = m.offset;
        while after < to {
            let events = self.events(after, crate::domain::query::MAX_PAGE)?;
            let Some(last) = events.last() else { break };
            after = last.offset;
            changed.extend(
                events
                    .iter()
                    .filter_map(|e| e.body.member_id())
                    .map(|id| id.0),
            );
        }
        changed.sort_unstable();
        changed.dedup();
        for id in changed {
            let stats: Option<MemberStats> =
                crate::domain::tx::Reader::get(store, &counters::member_key(id))?;
            let Some(stats) = stats else { continue };
            let row = Rfm::of(MemberId(id), &stats);
            match m.rows.binary_search_by_key(&MemberId(id), |r| r.id) {
                Ok(i) => m.rows[i] = row,
                Err(i) => m.rows.insert(i, row),
            }
        }
        m.offset = after.max(m.offset);
        if m.offset - m.saved.min(m.offset) > resave_after(m.rows.len()) {
            self.save_rows(m)?;
        }
        Ok(())
    }

    /// A fingerprint of event `offset` (0 for none): a saved copy names the event it is as
    /// of, so one from another store or another history is not taken.
    fn fingerprint(&self, offset: u64) -> Result<Option<u64>> {
        if offset == 0 {
            return Ok(Some(0));
        }
        Ok(self
            .events(offset - 1, 1)?
            .first()
            .filter(|e| e.offset == offset)
            .map(|e| super::snapshot::fnv(&serde_json::to_vec(e).unwrap_or_default())))
    }

    /// Saves the records beside the store; a store that cannot take the file (read-only
    /// directory, full disk) just reads every record on the next first scan.
    fn save_rows(&self, m: &mut Mirror) -> Result<()> {
        if let Some(print) = self.fingerprint(m.offset)?
            && super::snapshot::save(self.dir(), m.offset, print, &m.rows).is_ok()
        {
            m.saved = m.offset;
        }
        Ok(())
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

/// The segments, in the order they are shown.
pub const SEGMENTS: [(&str, &str); 6] = [
    (
        "champions",
        "a deal in the recent half of the dormant window, frequency and spend in the top 20%",
    ),
    ("loyal", "a recent deal, frequency in the top 20%"),
    ("active", "a recent deal"),
    ("new", "joined in the last 30 days, not yet dealing often"),
    (
        "at risk",
        "no deal in the recent half of the dormant window",
    ),
    (
        "dormant",
        "no deal (or, never dealing, no join) for the dormant days",
    ),
];

/// The segment (index into `SEGMENTS`) of a member, and its idle days.
fn segment_of(
    s: &Rfm,
    now: Millis,
    days: u32,
    high_frequency: u64,
    high_spend: u64,
) -> (usize, u32) {
    let idle = ((now - s.last_deal.unwrap_or(s.joined_at)).max(0) / DAY_MS) as u32;
    let joined_days = ((now - s.joined_at).max(0) / DAY_MS) as u32;
    let seg = if idle >= days {
        5
    } else if joined_days < 30 && s.frequency <= 1 {
        3
    } else if idle >= days.div_ceil(2) {
        4
    } else if s.frequency >= high_frequency.max(1) && s.spend >= high_spend.max(1) {
        0
    } else if s.frequency >= high_frequency.max(1) {
        1
    } else {
        2
    };
    (seg, idle)
}

fn percentile80(mut v: Vec<u64>) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let i = (v.len() * 4 / 5).min(v.len() - 1);
    *v.select_nth_unstable(i).1
}

/// Every member's record (`Y p`), in id order.
fn member_rows(store: &Store, members: usize) -> Result<Vec<Rfm>> {
    let (from, to) = counters::table(counters::MEMBER);
    let mut rows: Vec<Rfm> = Vec::with_capacity(members);
    for r in store.range(&from, &to) {
        let (k, v) = r?;
        let s: MemberStats = decode(&v)?;
        rows.push(Rfm::of(MemberId(read_u64(&k, 2)), &s));
    }
    Ok(rows)
}

/// Segments every member (withdrawn ones left out) as of `now`: the thresholds are the
/// 80th percentiles of frequency and spend among members with any.
pub fn segment_scan(rows: &[Rfm], now: Millis, days: u32) -> Scan {
    let live = || rows.iter().filter(|s| !s.withdrawn);
    let high_frequency = percentile80(
        live()
            .filter(|s| s.frequency > 0)
            .map(|s| s.frequency)
            .collect(),
    );
    let high_spend = percentile80(live().filter(|s| s.spend > 0).map(|s| s.spend).collect());
    let mut counts = [(0u64, Points::ZERO); 6];
    let mut dormant = Vec::new();
    let (mut dormant_members, mut dormant_points) = (0u64, Points::ZERO);
    for s in live() {
        let (seg, idle) = segment_of(s, now, days, high_frequency, high_spend);
        counts[seg].0 += 1;
        counts[seg].1 += s.balance;
        if seg == 5 && s.balance > Points::ZERO {
            dormant_members += 1;
            dormant_points += s.balance;
            dormant.push((s.id, s.balance, s.last_deal, idle));
        }
    }
    let by_points =
        |a: &(MemberId, Points, Option<Millis>, u32),
         b: &(MemberId, Points, Option<Millis>, u32)| { b.1.cmp(&a.1).then(a.0.cmp(&b.0)) };
    if dormant.len() > super::query::MAX_LIMIT {
        dormant.select_nth_unstable_by(super::query::MAX_LIMIT, by_points);
        dormant.truncate(super::query::MAX_LIMIT);
    }
    dormant.sort_by(by_points);
    Scan {
        segments: SegmentsReport {
            as_of: now,
            dormant_days: days,
            high_frequency,
            high_spend,
            rows: SEGMENTS
                .iter()
                .zip(counts)
                .map(|((name, rule), (members, points))| SegmentRow {
                    segment: name.to_string(),
                    rule: rule.to_string(),
                    members,
                    points,
                })
                .collect(),
            gaps: Vec::new(),
        },
        dormant,
        dormant_members,
        dormant_points,
    }
}

/// The dormant report from a segmentation: the first `q.limit` holders, named.
pub fn dormant_report<E>(
    scan: &Scan,
    q: &ReportQuery,
    mut name_of: impl FnMut(MemberId) -> std::result::Result<String, E>,
) -> std::result::Result<DormantReport, E> {
    let mut members = Vec::new();
    for &(id, points, last, idle) in scan.dormant.iter().take(q.limit) {
        members.push(DormantMember {
            member_id: id,
            name: name_of(id)?,
            points,
            last_deal: last,
            idle_days: idle,
        });
    }
    Ok(DormantReport {
        days: q.days,
        total_members: scan.dormant_members,
        total_points: scan.dormant_points,
        members,
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

/// Which members are in one segment, for the members window's `segment` filter (the
/// console's drill-down from the segments report): the cached scan's thresholds and time,
/// so a member is in the list exactly when the report counted it there.
#[derive(Debug, Clone)]
pub struct SegmentTest {
    index: usize,
    as_of: Millis,
    days: u32,
    high_frequency: u64,
    high_spend: u64,
    /// The segment's members, as the report counts them.
    pub members: u64,
}

/// Reads a segment's name (`at risk`, `champions`...): one of `SEGMENTS`.
pub fn parse_segment(field: &str, text: &str) -> Result<usize> {
    let t = text.trim();
    SEGMENTS
        .iter()
        .position(|(name, _)| name.eq_ignore_ascii_case(t))
        .ok_or_else(|| {
            let names: Vec<&str> = SEGMENTS.iter().map(|s| s.0).collect();
            crate::domain::error::Error::invalid(
                field,
                &format!("must be one of {}", names.join(", ")),
            )
        })
}

impl SegmentTest {
    /// True when the member (by its stats record) is in the segment; withdrawn members are
    /// in none.
    pub fn holds(&self, store: &Store, id: MemberId) -> Result<bool> {
        let Some(s) =
            crate::domain::tx::Reader::get::<MemberStats>(store, &counters::member_key(id.0))?
        else {
            return Ok(false);
        };
        Ok(s.withdrawn_at.is_none()
            && segment_of(
                &Rfm::of(id, &s),
                self.as_of,
                self.days,
                self.high_frequency,
                self.high_spend,
            )
            .0 == self.index)
    }
}

impl Core {
    /// The test for the segment named `name` (see `parse_segment`), over the default
    /// dormant days, from the cached member scan.
    pub fn segment_test(&self, field: &str, name: &str) -> Result<SegmentTest> {
        let index = parse_segment(field, name)?;
        let days = super::query::DEFAULT_DORMANT_DAYS;
        let now = self.shared.opts.clock.now();
        let scan = self.scan(now, &self.meta(), days)?;
        let seg = &scan.segments;
        Ok(SegmentTest {
            index,
            as_of: seg.as_of,
            days,
            high_frequency: seg.high_frequency,
            high_spend: seg.high_spend,
            members: seg.rows.get(index).map_or(0, |r| r.members),
        })
    }
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
