//! The counters the reports read, kept by the write path: one call (`record`) after each
//! command's effects, in the same transaction, so they are exactly as durable as the records
//! they count. Nothing here scans deals; a report reads a handful of these keys.
//!
//! | key (prefix `Y`)                    | value         | what                                    |
//! |-------------------------------------|---------------|-----------------------------------------|
//! | `Y v`                               | u64 version   | the counters cover the whole store      |
//! | `Y m` month                         | Totals        | per business month (deal date's month)  |
//! | `Y d` day                           | Totals        | per business day                        |
//! | `Y n` month, merchant               | MerchantMonth | per merchant and month                  |
//! | `Y x` deal date, deal               | Flag          | cancels and failed uses (anomalies)     |
//!
//! A member's recency, frequency and spend (`MemberStats`) are kept in its account record
//! (`A`, a `MemberRecord`), which every deal writes anyway: one member record a deal, not
//! two. (Until schema version 4 they had a table of their own, `Y p`.)
//!
//! Months and days are the business zone's. Deals count in the month of their deal date,
//! joins at `joined_at`, withdrawals (forfeits) when they happen, billings in their billing
//! month, clawbacks (useCancels of billed uses) at the cancel's date.

use std::collections::BTreeMap;

use chrono::FixedOffset;
use serde::{Deserialize, Serialize};

use crate::domain::calendar::{Millis, Month};
use crate::domain::error::Result;
use crate::domain::ids::DealId;
use crate::domain::ledger::deal_of;
use crate::domain::model::{
    Billing, BillingStatus, Deal, DealStatus, DealType, Member, MemberRecord, MemberStatus,
};
use crate::domain::money::Points;
use crate::domain::query::Outcome;
use crate::domain::schema::{self, KeyBuf, decode, encode, read_u64};
use crate::domain::store::{Store, WriteSet};
use crate::domain::tx::{Reader, Tx, prefix_end};

pub const TAG: u8 = schema::REPORTS;
const VERSION_KEY: &[u8] = b"Yv";
const VERSION: u64 = 1;
pub const MONTH: u8 = b'm';
pub const DAY: u8 = b'd';
pub const MERCHANT_MONTH: u8 = b'n';
pub const FLAG: u8 = b'x';

const DAY_MS: i64 = 86_400_000;

/// A business day: days since 1970-01-01 in the business zone.
pub fn day_of(ms: Millis, zone: FixedOffset) -> i32 {
    let local = ms + zone.local_minus_utc() as i64 * 1000;
    local.div_euclid(DAY_MS) as i32
}

/// The first instant of a business day.
pub fn day_start(day: i32, zone: FixedOffset) -> Millis {
    day as i64 * DAY_MS - zone.local_minus_utc() as i64 * 1000
}

/// The ISO week (Monday first) a day falls in, as the number of its Monday.
pub fn week_of(day: i32) -> i32 {
    // 1970-01-01 was a Thursday: day 4 was the first Monday.
    day - (day - 4).rem_euclid(7)
}

fn day_code(day: i32) -> u32 {
    (day as u32) ^ (1 << 31)
}

pub fn month_key(m: Month) -> Vec<u8> {
    KeyBuf::new(TAG).bytes(&[MONTH]).u32(m.code()).done()
}
pub fn day_key(day: i32) -> Vec<u8> {
    KeyBuf::new(TAG).bytes(&[DAY]).u32(day_code(day)).done()
}
pub fn day_from_key(k: &[u8]) -> i32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&k[2..6]);
    (u32::from_be_bytes(b) ^ (1 << 31)) as i32
}
pub fn month_from_key(k: &[u8]) -> Month {
    let mut b = [0u8; 4];
    b.copy_from_slice(&k[2..6]);
    Month::from_code(u32::from_be_bytes(b))
}
pub fn merchant_month_key(m: Month, merchant: u64) -> Vec<u8> {
    KeyBuf::new(TAG)
        .bytes(&[MERCHANT_MONTH])
        .u32(m.code())
        .u64(merchant)
        .done()
}
pub fn flag_key(date: Millis, deal: DealId) -> Vec<u8> {
    KeyBuf::new(TAG)
        .bytes(&[FLAG])
        .time(date)
        .u64(deal.0)
        .done()
}
pub fn flag_from_key(k: &[u8]) -> (Millis, DealId) {
    (schema::read_time(k, 2), DealId(read_u64(k, 10)))
}
pub fn table(sub: u8) -> (Vec<u8>, Vec<u8>) {
    let p = vec![TAG, sub];
    let end = prefix_end(&p);
    (p, end)
}

/// What happened in one day or month. Points are exact hundredths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Successful saves: points issued, how many, and the spend behind them.
    pub issued: Points,
    pub saves: u64,
    pub spend: u64,
    /// Successful uses: points redeemed.
    pub redeemed: Points,
    pub uses: u64,
    pub failed_uses: u64,
    /// Successful saveCancels (points taken back) and useCancels (points given back).
    pub save_cancelled: Points,
    pub save_cancels: u64,
    pub use_cancelled: Points,
    pub use_cancels: u64,
    /// Cancels refused for want of points (recorded as failed deals).
    pub failed_cancels: u64,
    /// Forfeited on withdrawal.
    pub forfeited: Points,
    pub withdrawals: u64,
    pub new_members: u64,
    /// Distinct members with a deal in this day (month).
    pub active: u64,
    /// Days only: members whose first deal of the ISO week falls on this day (summed over
    /// a week's days: the week's distinct active members).
    pub week_active: u64,
    /// useCancels of already-billed uses: what the next settlement claws back.
    pub clawbacks: Points,
    pub clawback_count: u64,
    /// Months only: billings of this billing month (net points, billed after commission).
    pub billings: u64,
    pub billed_net: Points,
    pub billed: Points,
}

impl Totals {
    /// What the month changes the outstanding points by.
    pub fn net_change(&self) -> Points {
        self.issued - self.redeemed - self.save_cancelled + self.use_cancelled - self.forfeited
    }
    pub fn deals(&self) -> u64 {
        self.saves
            + self.uses
            + self.failed_uses
            + self.save_cancels
            + self.use_cancels
            + self.failed_cancels
    }
    pub fn add(&mut self, o: &Totals) {
        self.issued += o.issued;
        self.saves += o.saves;
        self.spend += o.spend;
        self.redeemed += o.redeemed;
        self.uses += o.uses;
        self.failed_uses += o.failed_uses;
        self.save_cancelled += o.save_cancelled;
        self.save_cancels += o.save_cancels;
        self.use_cancelled += o.use_cancelled;
        self.use_cancels += o.use_cancels;
        self.failed_cancels += o.failed_cancels;
        self.forfeited += o.forfeited;
        self.withdrawals += o.withdrawals;
        self.new_members += o.new_members;
        self.active += o.active;
        self.week_active += o.week_active;
        self.clawbacks += o.clawbacks;
        self.clawback_count += o.clawback_count;
        self.billings += o.billings;
        self.billed_net += o.billed_net;
        self.billed += o.billed;
    }
    /// The deal's part of the totals (activity aside).
    pub fn of_deal(d: &Deal, clawback: bool) -> Totals {
        let mut t = Totals::default();
        let ok = d.status == DealStatus::Success;
        match (d.deal_type, ok) {
            (DealType::Save, _) => {
                t.issued = d.point;
                t.saves = 1;
                t.spend = d.deal_amount;
            }
            (DealType::Use, true) => {
                t.redeemed = d.point;
                t.uses = 1;
            }
            (DealType::Use, false) => t.failed_uses = 1,
            (DealType::SaveCancel, true) => {
                t.save_cancelled = d.point;
                t.save_cancels = 1;
            }
            (DealType::UseCancel, true) => {
                t.use_cancelled = d.point;
                t.use_cancels = 1;
                if clawback {
                    t.clawbacks = d.point;
                    t.clawback_count = 1;
                }
            }
            (_, false) => t.failed_cancels = 1,
        }
        t
    }
}

/// One merchant in one month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantMonth {
    pub issued: Points,
    pub saves: u64,
    pub redeemed: Points,
    pub uses: u64,
    pub failed_uses: u64,
    pub save_cancelled: Points,
    pub use_cancelled: Points,
    pub use_cancels: u64,
    pub clawbacks: Points,
    pub clawback_count: u64,
    pub billed: Points,
}

impl MerchantMonth {
    pub fn add(&mut self, t: &Totals) {
        self.issued += t.issued;
        self.saves += t.saves;
        self.redeemed += t.redeemed;
        self.uses += t.uses;
        self.failed_uses += t.failed_uses;
        self.save_cancelled += t.save_cancelled;
        self.use_cancelled += t.use_cancelled;
        self.use_cancels += t.use_cancels;
        self.clawbacks += t.clawbacks;
        self.clawback_count += t.clawback_count;
        self.billed += t.billed;
    }
}

pub use crate::domain::model::MemberStats;

/// Why a deal is flagged for the anomaly report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlagKind {
    FailedUse,
    SaveCancel,
    UseCancel,
    /// A useCancel of a billed use: clawed back from the merchant.
    Clawback,
    FailedCancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub member: u64,
    pub merchant: u64,
    pub kind: FlagKind,
    pub points: Points,
}

/// Why a deal is flagged for the anomaly report, if it is.
pub fn flag_kind(d: &Deal, clawback: bool) -> Option<FlagKind> {
    match (d.deal_type, d.status == DealStatus::Success) {
        (DealType::Use, false) => Some(FlagKind::FailedUse),
        (DealType::SaveCancel, true) => Some(FlagKind::SaveCancel),
        (DealType::UseCancel, true) if clawback => Some(FlagKind::Clawback),
        (DealType::UseCancel, true) => Some(FlagKind::UseCancel),
        (DealType::SaveCancel | DealType::UseCancel, false) => Some(FlagKind::FailedCancel),
        _ => None,
    }
}

/// Read-and-write access the counters need: a writer transaction, or the rebuild's buffer.
pub trait Sink: Reader {
    fn put_bytes(&mut self, key: Vec<u8>, value: Vec<u8>);
}

impl Sink for Tx<'_> {
    fn put_bytes(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.put_raw(key, value);
    }
}

fn bump<S: Sink, T: Default + Serialize + serde::de::DeserializeOwned>(
    s: &mut S,
    key: Vec<u8>,
    f: impl FnOnce(&mut T),
) -> Result<()> {
    let mut v: T = match s.get_raw(&key)? {
        Some(b) => decode(&b)?,
        None => T::default(),
    };
    f(&mut v);
    s.put_bytes(key, encode(&v));
    Ok(())
}

/// Changes the report fields of a member's record (`A`: the command wrote it already, or
/// the store holds it).
fn bump_member<S: Sink>(s: &mut S, member: u64, f: impl FnOnce(&mut MemberStats)) -> Result<()> {
    let key = schema::key1(schema::ACCOUNT, member);
    bump(s, key, |r: &mut MemberRecord| f(&mut r.stats))
}

/// Where the write path reports what a command did. `billings_before` is the billing
/// counter before the command ran: a billing outcome with a lower id is a replay of an
/// existing billing (nothing new to count).
pub fn record(tx: &mut Tx, billings_before: u64, out: &Outcome) -> Result<()> {
    let (zone, now) = (tx.zone, tx.now);
    match out {
        Outcome::Deal(d) => on_deal(tx, zone, d),
        Outcome::Member(m) => on_join(tx, zone, m.member_id.0, m.joined_at),
        Outcome::Withdrawal(w) => on_withdraw(tx, zone, w.member.member_id.0, now, w.forfeited),
        Outcome::Billing(b) if b.id.0 > billings_before => on_billing(tx, zone, b),
        _ => Ok(()),
    }
}

fn on_join<S: Sink>(s: &mut S, zone: FixedOffset, member: u64, at: Millis) -> Result<()> {
    bump_member(s, member, |m| {
        *m = MemberStats {
            joined_at: at,
            ..MemberStats::default()
        }
    })?;
    let add = |t: &mut Totals| t.new_members += 1;
    bump(s, month_key(Month::of(at, zone)), add)?;
    bump(s, day_key(day_of(at, zone)), add)
}

fn on_withdraw<S: Sink>(
    s: &mut S,
    zone: FixedOffset,
    member: u64,
    at: Millis,
    forfeited: Points,
) -> Result<()> {
    bump_member(s, member, |m| m.withdrawn_at = Some(at))?;
    let add = |t: &mut Totals| {
        t.forfeited += forfeited;
        t.withdrawals += 1;
    };
    bump(s, month_key(Month::of(at, zone)), add)?;
    bump(s, day_key(day_of(at, zone)), add)
}

fn on_billing<S: Sink>(s: &mut S, zone: FixedOffset, b: &Billing) -> Result<()> {
    let _ = zone;
    bump(s, month_key(b.billing_month), |t: &mut Totals| {
        t.billings += 1;
        t.billed_net += b.net_points;
        t.billed += b.billing_amount;
    })?;
    bump(
        s,
        merchant_month_key(b.billing_month, b.merchant_id.0),
        |m: &mut MerchantMonth| m.billed += b.billing_amount,
    )
}

fn on_deal<S: Sink>(s: &mut S, zone: FixedOffset, d: &Deal) -> Result<()> {
    let ok = d.status == DealStatus::Success;
    // A useCancel of a billed use is clawed back (an unbilled one simply leaves the queue,
    // and can never be billed after).
    let clawback = ok
        && d.deal_type == DealType::UseCancel
        && match d.original_deal_id {
            Some(o) => deal_of(s, o)?.billing_status == BillingStatus::Yes,
            None => false,
        };
    let mut t = Totals::of_deal(d, clawback);
    let mut week_first = false;
    let mut month_first = false;
    let day = day_of(d.deal_date, zone);
    let month = Month::of(d.deal_date, zone);
    bump_member(s, d.member_id.0, |m| {
        match m.last_deal {
            None => {
                t.active = 1;
                week_first = true;
                month_first = true;
            }
            Some(last) => {
                let ld = day_of(last, zone);
                t.active = u64::from(day > ld);
                week_first = week_of(day) > week_of(ld);
                month_first = month > Month::of(last, zone);
            }
        }
        m.last_deal = Some(m.last_deal.map_or(d.deal_date, |l| l.max(d.deal_date)));
        if ok && matches!(d.deal_type, DealType::Save | DealType::Use) {
            m.frequency += 1;
        }
        if ok && d.deal_type == DealType::Save {
            m.spend += d.deal_amount;
        }
        if ok && d.deal_type == DealType::SaveCancel {
            m.spend = m.spend.saturating_sub(d.deal_amount);
        }
        if d.deal_type.is_cancel() {
            m.cancels += 1;
        }
    })?;
    let day_t = Totals {
        week_active: u64::from(week_first),
        ..t
    };
    bump(s, day_key(day), |x: &mut Totals| x.add(&day_t))?;
    let month_t = Totals {
        active: u64::from(month_first),
        ..t
    };
    bump(s, month_key(month), |x: &mut Totals| x.add(&month_t))?;
    bump(
        s,
        merchant_month_key(month, d.merchant_id.0),
        |m: &mut MerchantMonth| m.add(&t),
    )?;
    if let Some(kind) = flag_kind(d, clawback) {
        s.put_bytes(
            flag_key(d.deal_date, d.id),
            encode(&Flag {
                member: d.member_id.0,
                merchant: d.merchant_id.0,
                kind,
                points: d.point,
            }),
        );
    }
    Ok(())
}

/// The rebuild's buffer: writes kept in memory over the store.
struct Buffer<'a> {
    store: &'a Store,
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Reader for Buffer<'_> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.map.get(key) {
            Some(v) => Ok(Some(v.clone())),
            None => self.store.get_raw(key),
        }
    }
    fn range_raw(&self, from: &[u8], to: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.store.range_raw(from, to)
    }
}

impl Sink for Buffer<'_> {
    fn put_bytes(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.map.insert(key, value);
    }
}

/// Makes sure the counters cover the store: a store written before they existed gets them
/// rebuilt once, from members, accounts, deals (in id order, as they were written) and
/// billings. A new store just gets the version mark.
pub fn ensure(store: &Store, zone: FixedOffset) -> Result<()> {
    if store.get_val(VERSION_KEY)?.is_some() {
        return Ok(());
    }
    let mut buf = Buffer {
        store,
        map: BTreeMap::new(),
    };
    for r in store.scan_prefix(&[schema::MEMBER]) {
        let m: Member = decode(&r?.1)?;
        on_join(&mut buf, zone, m.member_id.0, m.joined_at)?;
    }
    for r in store.scan_prefix(&[schema::DEAL]) {
        let d: Deal = decode(&r?.1)?;
        on_deal(&mut buf, zone, &d)?;
    }
    for r in store.scan_prefix(&[schema::MEMBER]) {
        let m: Member = decode(&r?.1)?;
        if m.status == MemberStatus::Invalid {
            let a = crate::domain::ledger::account_of(store, m.member_id)?;
            // A withdrawal stamps the account's last activity, and no deal follows it.
            let at = a.last_activity.unwrap_or(m.joined_at);
            on_withdraw(&mut buf, zone, m.member_id.0, at, a.forfeited)?;
        }
    }
    for r in store.scan_prefix(&[schema::BILLING]) {
        let b: Billing = decode(&r?.1)?;
        on_billing(&mut buf, zone, &b)?;
    }
    let mut set = WriteSet::default();
    for (k, v) in std::mem::take(&mut buf.map) {
        set.put(&k, &v);
        if set.len() >= crate::domain::core::CHUNK_WRITES {
            store.apply(std::mem::take(&mut set))?;
        }
    }
    set.put(VERSION_KEY, &VERSION.to_be_bytes());
    store.commit(set)
}

/// What the write path's counters cost per deal, measured on the store's newest `n` deals
/// (for `onepoint-bench`): the same `on_deal` the writer runs, into a buffer over the store.
/// Returns the deals counted, the time it took, and the bytes of counter records written
/// (keys and values, as the writer's batch would carry them).
pub fn deal_cost(
    store: &Store,
    zone: FixedOffset,
    n: usize,
) -> Result<(usize, std::time::Duration, usize)> {
    let deals: Vec<Deal> = store
        .scan_prefix(&[schema::DEAL])
        .rev()
        .take(n)
        .map(|r| decode(&r?.1))
        .collect::<Result<_>>()?;
    let mut bytes = 0usize;
    let started = std::time::Instant::now();
    for d in deals.iter().rev() {
        // One buffer per deal, as each writer batch starts from the store.
        let mut buf = Buffer {
            store,
            map: BTreeMap::new(),
        };
        on_deal(&mut buf, zone, d)?;
        bytes += buf
            .map
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
    }
    Ok((deals.len(), started.elapsed(), bytes))
}

/// Every month's totals, oldest first.
pub fn months<R: Reader>(r: &R) -> Result<Vec<(Month, Totals)>> {
    let (from, to) = table(MONTH);
    r.range_raw(&from, &to)?
        .into_iter()
        .map(|(k, v)| Ok((month_from_key(&k), decode(&v)?)))
        .collect()
}

/// Days `from..=to`, with the days that saw nothing left out.
pub fn days<R: Reader>(r: &R, from: i32, to: i32) -> Result<Vec<(i32, Totals)>> {
    r.range_raw(&day_key(from), &day_key(to.saturating_add(1)))?
        .into_iter()
        .map(|(k, v)| Ok((day_from_key(&k), decode(&v)?)))
        .collect()
}

/// Every merchant's totals in a month.
pub fn merchants_in<R: Reader>(r: &R, m: Month) -> Result<Vec<(u64, MerchantMonth)>> {
    let from = KeyBuf::new(TAG)
        .bytes(&[MERCHANT_MONTH])
        .u32(m.code())
        .done();
    r.range_raw(&from, &prefix_end(&from))?
        .into_iter()
        .map(|(k, v)| Ok((read_u64(&k, 6), decode(&v)?)))
        .collect()
}

/// Flagged deals dated in `[from, to)`.
pub fn flags<R: Reader>(r: &R, from: Millis, to: Millis) -> Result<Vec<(Millis, DealId, Flag)>> {
    r.range_raw(&flag_key(from, DealId(0)), &flag_key(to, DealId(0)))?
        .into_iter()
        .map(|(k, v)| {
            let (t, id) = flag_from_key(&k);
            Ok((t, id, decode(&v)?))
        })
        .collect()
}
