//! `onepoint check`: audits the invariants of SPEC 1 against the store.
//! 1. every balance >= 0 and equals its recomputation from the member's deals and forfeits;
//! 2. each original is cancelled at most once; a cancel's points equal its original's;
//! 3. every billing equals its recomputation; no deal is billed twice;
//! 4. the event log is gap-free from offset 1, and replaying it from empty rebuilds
//!    balances, the dashboard and billings exactly.
//!
//! It streams: deals and events are read once, in key order, and compared by point reads of
//! the records they name; what it holds is per member, per billing and per entry of the
//! settlement queues, never per deal. The indexes that hold one key per deal (the dashboard
//! by member and by merchant and month, the points index) are compared with the deals as
//! digests (`KeyDigest`), each read once in its own order, and read entry by entry only
//! when a digest differs, to name what is wrong; the settlement queues' entries are
//! compared with their deals in the deals' order, a chunk at a time.

use std::collections::{BTreeMap, HashMap};

use super::ids::DealId;
use super::ledger::deal_of;
use super::store::Store;

use super::calendar::{Millis, Month};
use super::core::Core;
use super::dashboard;
use super::error::Result;
use super::event::{DealEvent, Event, EventBody};
use super::model::{Billing, BillingStatus, Deal, DealStatus, DealType, Member, MemberStatus};
use super::money::{BasisPoints, Points};
use super::query::CheckReport;
use super::schema::{
    BILLING, CLAWBACK, DEAL, EVENT, MEMBER, UNBILLED, VIEW, VIEW_MERCHANT, decode, decode_points,
    read_u64,
};
use super::schema::{PENDING, Pending};
use super::tx::{Reader, prefix_end};

const MAX_REPORTED: usize = 100;

/// The settlement queues' entries compared with their deals at a time, in the deals'
/// order (24 bytes each held).
const QUEUE_CHUNK: usize = 1 << 20;

/// The keys of a table, or the keys it should hold, as a count and two order-free sums of
/// two hashes of each key: two digests are equal exactly when the keys are the same (but
/// by a chance of about 2^-128 for a given difference). `check` compares an index that
/// holds one key per deal with the deals this way: one pass over each in its own order,
/// where a point read into the index per deal (or into the deals per entry) reads the
/// index's leaves in random order: at 10M deals, more leaves than sled's cache holds, each
/// read back from disk and decoded again and again (`check` took 13-14 min there).
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
pub struct KeyDigest {
    count: u64,
    sums: [u64; 2],
}

impl KeyDigest {
    pub fn add(&mut self, key: &[u8]) {
        use std::hash::Hasher;
        self.count += 1;
        for (seed, sum) in self.sums.iter_mut().enumerate() {
            let mut h = std::hash::DefaultHasher::new();
            h.write_u8(seed as u8);
            h.write(key);
            *sum = sum.wrapping_add(h.finish());
        }
    }

    /// The digest of the keys of table `tag`.
    pub fn of_table(store: &Store, tag: u8) -> Result<KeyDigest> {
        let mut d = KeyDigest::default();
        for r in store.scan_prefix(&[tag]) {
            d.add(&r?.0);
        }
        Ok(d)
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}

struct Report(CheckReport);

impl Report {
    fn fail(&mut self, msg: String) {
        if self.0.violations.len() < MAX_REPORTED {
            self.0.violations.push(msg);
        }
        self.0.ok = false;
    }
}

/// The state rebuilt from the event log alone (deals are compared with the store as
/// their events pass, not kept).
#[derive(Default)]
struct Replay {
    members: HashMap<u64, (MemberStatus, Points)>,
    unbilled: BTreeMap<(u64, Millis, u64), Points>,
    clawbacks: BTreeMap<(u64, Millis, u64), Points>,
    billings: BTreeMap<u64, (u64, Month, Points, u64, Points)>,
    /// The next deal id the log must create.
    next_deal: u64,
}

impl Core {
    pub fn check(&self) -> Result<super::query::CheckReport> {
        self.shared.settle()?;
        let store = &self.shared.store;
        let meta = self.meta();
        let zone = self.shared.opts.zone;
        let mut rep = Report(CheckReport {
            ok: true,
            members: meta.last_member,
            deals: meta.last_deal,
            billings: meta.last_billing,
            events: meta.last_offset,
            violations: Vec::new(),
        });

        // 4a. Gap-free log, replayed from empty.
        let mut replay = Replay {
            next_deal: 1,
            ..Replay::default()
        };
        let mut expected = 1u64;
        for r in store.scan_prefix(&[EVENT]) {
            let (k, v) = r?;
            let offset = read_u64(&k, 1);
            if offset != expected {
                rep.fail(format!(
                    "event log gap: expected offset {expected}, found {offset}"
                ));
                expected = offset;
            }
            expected += 1;
            let ev = match Event::decode_stored(offset, &v, |d| deal_of(store, d)) {
                Ok(e) => e,
                Err(e) => {
                    rep.fail(format!("event {offset} is unreadable: {e}"));
                    continue;
                }
            };
            replay.apply(store, &ev, zone, &mut rep)?;
        }
        if expected - 1 != meta.last_offset {
            rep.fail(format!(
                "event log ends at {} but the store counts {}",
                expected - 1,
                meta.last_offset
            ));
        }
        if replay.next_deal - 1 != meta.last_deal {
            rep.fail(format!(
                "the log creates {} deals but the store counts {}",
                replay.next_deal - 1,
                meta.last_deal
            ));
        }

        // 1-3. Deals: balances from deals and forfeits, cancels, billings, the dashboard.
        let mut billings: HashMap<u64, Billing> = HashMap::new();
        for r in store.scan_prefix(&[BILLING]) {
            let b: Billing = decode(&r?.1)?;
            billings.insert(b.id.0, b);
        }
        let mut deltas: HashMap<u64, Points> = HashMap::new();
        let mut by_billing: HashMap<u64, (Points, u64)> = HashMap::new();
        let mut stored_deals = 0u64;
        let (mut by_member, mut by_merchant, mut by_points) = <[KeyDigest; 3]>::default().into();
        for r in store.scan_prefix(&[DEAL]) {
            let d: Deal = decode(&r?.1)?;
            stored_deals += 1;
            if d.status == DealStatus::Success {
                let delta = match d.deal_type {
                    DealType::Save | DealType::UseCancel => d.point,
                    DealType::Use | DealType::SaveCancel => -d.point,
                };
                let e = deltas.entry(d.member_id.0).or_default();
                *e = e.checked_add(delta).unwrap_or(*e);
                if let Some(o) = d.original_deal_id {
                    check_cancel(store, &d, o, &mut rep)?;
                }
            }
            if let Some(c) = d.cancelled_by {
                match store.get::<Deal>(&super::schema::key1(DEAL, c.0))? {
                    Some(cd)
                        if cd.original_deal_id == Some(d.id)
                            && cd.status == DealStatus::Success => {}
                    _ => rep.fail(format!(
                        "deal {} records cancel {c}, which does not cancel it",
                        d.id
                    )),
                }
            }
            if let Some(b) = d.billing_id {
                let e = by_billing.entry(b.0).or_default();
                e.1 += 1;
                match d.deal_type {
                    DealType::Use => e.0 += d.point,
                    DealType::UseCancel => e.0 -= d.point,
                    _ => rep.fail(format!(
                        "deal {} is a {} but billed",
                        d.id,
                        d.deal_type.as_str()
                    )),
                }
                match billings.get(&b.0) {
                    Some(bill)
                        if bill.merchant_id == d.merchant_id
                            && d.deal_date <= bill.billing_month.end_ms(zone) => {}
                    _ => rep.fail(format!(
                        "deal {} is billed by billing {b}, which does not cover it",
                        d.id
                    )),
                }
            }
            let month = Month::of(d.deal_date, zone);
            by_member.add(&dashboard::row_key(d.member_id, d.id));
            by_merchant.add(&dashboard::merchant_key(d.merchant_id, month, d.id));
            by_points.add(&super::sort_index::deal_points_key(d.point, d.id.0));
        }
        for (tag, name, expected) in [
            (VIEW, "by member", by_member),
            (VIEW_MERCHANT, "by merchant and month", by_merchant),
        ] {
            let held = KeyDigest::of_table(store, tag)?;
            if held != expected {
                dashboard_by_point_reads(store, zone, tag, &mut rep)?;
                if held.count() != expected.count() {
                    rep.fail(format!(
                        "the dashboard {name} holds {} entries for {} deals",
                        held.count(),
                        expected.count()
                    ));
                }
            }
        }
        if stored_deals != meta.last_deal {
            rep.fail(format!(
                "{stored_deals} deals stored but the store counts {}",
                meta.last_deal
            ));
        }
        let mut outstanding = Points::ZERO;
        for r in store.scan_prefix(&[MEMBER]) {
            let m: Member = decode(&r?.1)?;
            let a = super::ledger::account_of(store, m.member_id)?;
            outstanding = outstanding.checked_add(a.balance).unwrap_or(outstanding);
            if a.balance < Points::ZERO {
                rep.fail(format!(
                    "member {} has a negative balance {}",
                    m.member_id, a.balance
                ));
            }
            let recomputed = deltas.get(&m.member_id.0).copied().unwrap_or_default() - a.forfeited;
            if recomputed != a.balance {
                rep.fail(format!(
                    "member {} balance {} but deals and forfeits give {}",
                    m.member_id, a.balance, recomputed
                ));
            }
            match replay.members.get(&m.member_id.0) {
                Some((s, b)) if *s == m.status && *b == a.balance => {}
                Some((s, b)) => rep.fail(format!(
                    "member {} is {} with {} but the log replays {} with {}",
                    m.member_id,
                    m.status.as_str(),
                    a.balance,
                    s.as_str(),
                    b
                )),
                None => rep.fail(format!("member {} has no MemberCreated event", m.member_id)),
            }
        }
        super::reports::verify::verify(store, zone, outstanding, &mut |m| rep.fail(m))?;
        super::sort_index::verify(
            store,
            meta.last_member,
            meta.last_deal,
            &by_points,
            &mut |m| rep.fail(m),
        )?;
        if outstanding != meta.outstanding {
            rep.fail(format!(
                "outstanding total {} but balances add up to {}",
                meta.outstanding, outstanding
            ));
        }

        // 3. Billings, and the settlement queues.
        for b in billings.values() {
            let (net, count) = by_billing.get(&b.id.0).copied().unwrap_or_default();
            let amount = BasisPoints(b.commission_bp).net_of_commission(net);
            if amount != b.billing_amount || count != b.deal_count || net != b.net_points {
                rep.fail(format!(
                    "billing {} says {} over {} deals, its deals give {} over {}",
                    b.id, b.billing_amount, b.deal_count, amount, count
                ));
            }
            match replay.billings.get(&b.id.0) {
                Some(&(m, mo, amt, n, net))
                    if m == b.merchant_id.0
                        && mo == b.billing_month
                        && amt == b.billing_amount
                        && n == b.deal_count
                        && net == b.net_points => {}
                _ => rep.fail(format!("billing {} differs from the replayed log", b.id)),
            }
        }
        for (tag, name) in [(UNBILLED, "unbilled"), (CLAWBACK, "clawback")] {
            // Read a chunk of entries (in merchant and month order), then their deals in
            // id order: the deals' leaves one after the other, not at random.
            let mut entries = store.scan_prefix(&[tag]);
            loop {
                let mut chunk: Vec<(u64, Points)> = Vec::new();
                for r in entries.by_ref().take(QUEUE_CHUNK) {
                    let (k, v) = r?;
                    chunk.push((read_u64(&k, 17), decode_points(&v)));
                }
                if chunk.is_empty() {
                    break;
                }
                chunk.sort_unstable_by_key(|e| e.0);
                for (id, points) in chunk {
                    match store.get::<Deal>(&super::schema::key1(DEAL, id))? {
                        Some(d) if d.billing_status == BillingStatus::No && d.point == points => {}
                        _ => rep.fail(format!(
                            "{name} queue entry for deal {id} is stale or billed"
                        )),
                    }
                }
            }
        }
        let stored: BTreeMap<Vec<u8>, Pending> = store
            .range_raw(&[PENDING], &prefix_end(&[PENDING]))?
            .into_iter()
            .map(|(k, v)| Ok((k, decode(&v)?)))
            .collect::<Result<_>>()?;
        if stored != super::billing::pending_from_queues(store, zone)? {
            rep.fail("settlement totals (Q) differ from the settlement queues".into());
        }
        Ok(rep.0)
    }
}

/// The dashboard's table `tag` (by member, or by merchant and month) read by a point read
/// per deal, naming each deal missing from it: what `check` does when the table's digest
/// differs from its deals'.
fn dashboard_by_point_reads(
    store: &Store,
    zone: chrono::FixedOffset,
    tag: u8,
    rep: &mut Report,
) -> Result<()> {
    for r in store.scan_prefix(&[DEAL]) {
        let d: Deal = decode(&r?.1)?;
        let key = if tag == VIEW {
            dashboard::row_key(d.member_id, d.id)
        } else {
            dashboard::merchant_key(d.merchant_id, Month::of(d.deal_date, zone), d.id)
        };
        if store.get_val(&key)?.is_none() {
            rep.fail(format!("deal {} is missing from the dashboard", d.id));
        }
    }
    Ok(())
}

/// Invariant 2 for a successful cancel `d` of `orig`: the original exists, has the same
/// points, and records this cancel (so a second cancel of it is caught: it is not recorded).
fn check_cancel(store: &Store, d: &Deal, orig: DealId, rep: &mut Report) -> Result<()> {
    match store.get::<Deal>(&super::schema::key1(DEAL, orig.0))? {
        None => rep.fail(format!("cancel {} of unknown deal {orig}", d.id)),
        Some(o) => {
            if o.point != d.point {
                rep.fail(format!(
                    "cancel {} points differ from original {orig}",
                    d.id
                ));
            }
            if o.cancelled_by != Some(d.id) {
                rep.fail(format!(
                    "deal {orig} does not record its cancel {} (cancelled twice?)",
                    d.id
                ));
            }
        }
    }
    Ok(())
}

impl Replay {
    fn apply(
        &mut self,
        store: &Store,
        ev: &Event,
        zone: chrono::FixedOffset,
        rep: &mut Report,
    ) -> Result<()> {
        let off = ev.offset;
        match &ev.body {
            EventBody::MemberCreated { member_id, .. } => {
                self.members
                    .insert(member_id.0, (MemberStatus::Valid, Points::ZERO));
            }
            EventBody::MemberSecession { member_id, .. } => {
                if let Some(m) = self.members.get_mut(&member_id.0) {
                    m.0 = MemberStatus::Invalid;
                }
            }
            EventBody::PointCreated { .. } | EventBody::MerchantRegistered { .. } => {}
            EventBody::PointDisappeared { member_id, point } => {
                if let Some(m) = self.members.get_mut(&member_id.0) {
                    if m.1 != *point {
                        rep.fail(format!(
                            "event {off}: forfeit {point} but replayed balance {}",
                            m.1
                        ));
                    }
                    m.1 = Points::ZERO;
                }
            }
            EventBody::SaveDealt(d)
            | EventBody::UseRequested(d)
            | EventBody::UseRejected(d)
            | EventBody::SavedDealCancelled(d)
            | EventBody::UsedDealCancelled(d) => self.apply_deal(store, off, d, rep)?,
            EventBody::Billed {
                id,
                merchant_id,
                billing_month,
                billing_amount,
                deal_count,
            } => {
                let end = billing_month.end_ms(zone);
                let m = merchant_id.0;
                let take = |q: &mut BTreeMap<(u64, Millis, u64), Points>| -> Vec<(u64, Points)> {
                    let keys: Vec<_> = q
                        .range((m, Millis::MIN, 0)..=(m, end, u64::MAX))
                        .map(|(k, _)| *k)
                        .collect();
                    keys.into_iter()
                        .map(|k| (k.2, q.remove(&k).unwrap_or_default()))
                        .collect()
                };
                let uses = take(&mut self.unbilled);
                let claws = take(&mut self.clawbacks);
                for (d, _) in uses.iter().chain(claws.iter()) {
                    let billed = deal_of(store, DealId(*d)).ok().and_then(|d| d.billing_id);
                    if billed != Some(*id) {
                        rep.fail(format!(
                            "deal {d} billing differs from the replayed log (billing {id})"
                        ));
                    }
                }
                let count = (uses.len() + claws.len()) as u64;
                let sum = |v: &[(u64, Points)]| {
                    v.iter()
                        .fold(Points::ZERO, |a, x| a.checked_add(x.1).unwrap_or(a))
                };
                let net = sum(&uses).checked_sub(sum(&claws)).unwrap_or_default();
                if count != *deal_count {
                    rep.fail(format!(
                        "event {off}: billing {id} counts {deal_count} deals, replay finds {count}"
                    ));
                }
                self.billings
                    .insert(id.0, (m, *billing_month, *billing_amount, *deal_count, net));
            }
        }
        Ok(())
    }

    fn apply_deal(
        &mut self,
        store: &Store,
        off: u64,
        d: &DealEvent,
        rep: &mut Report,
    ) -> Result<()> {
        if d.id.0 != self.next_deal {
            rep.fail(format!(
                "event {off}: deal {} where the log's next deal is {}",
                d.id, self.next_deal
            ));
        }
        self.next_deal = d.id.0.max(self.next_deal) + 1;
        match store.get::<Deal>(&super::schema::key1(DEAL, d.id.0))? {
            None => rep.fail(format!("deal {} of event {off} is not stored", d.id)),
            Some(s) => {
                if DealEvent::from(&s) != *d {
                    rep.fail(format!("deal {} differs from its event {off}", d.id));
                }
            }
        }
        let Some(m) = self.members.get_mut(&d.member_id.0) else {
            rep.fail(format!("event {off}: deal {} for unknown member", d.id));
            return Ok(());
        };
        if d.status == DealStatus::Success {
            let next = match d.deal_type {
                DealType::Save | DealType::UseCancel => m.1.checked_add(d.point),
                DealType::Use | DealType::SaveCancel => m.1.checked_sub(d.point),
            };
            m.1 = next.unwrap_or(m.1);
            if m.1 < Points::ZERO {
                rep.fail(format!(
                    "event {off}: balance of member {} goes negative",
                    d.member_id
                ));
            }
        }
        if m.1 != d.balance {
            rep.fail(format!(
                "event {off}: deal {} says balance {} but replay gives {}",
                d.id, d.balance, m.1
            ));
        }
        if d.status == DealStatus::Success {
            match d.deal_type {
                DealType::Use => {
                    self.unbilled
                        .insert((d.merchant_id.0, d.deal_date, d.id.0), d.point);
                }
                DealType::UseCancel | DealType::SaveCancel => {
                    let Some(o) = d.original_deal_id else {
                        rep.fail(format!("event {off}: cancel {} names no original", d.id));
                        return Ok(());
                    };
                    match deal_of(store, o) {
                        Err(_) => rep.fail(format!("event {off}: cancel of unknown deal {o}")),
                        Ok(orig) => {
                            if orig.cancelled_by != Some(d.id) {
                                rep.fail(format!("deal {o} cancellation differs from the replay"));
                            }
                            if d.deal_type == DealType::UseCancel {
                                let k = (orig.merchant_id.0, orig.deal_date, orig.id.0);
                                if self.unbilled.remove(&k).is_none() {
                                    self.clawbacks
                                        .insert((d.merchant_id.0, d.deal_date, d.id.0), d.point);
                                }
                            }
                        }
                    }
                }
                DealType::Save => {}
            }
        }
        Ok(())
    }
}
