//! `onepoint check`'s audit of the report counters: every month's flows recomputed from the
//! deals, members, accounts and billings themselves (one streaming pass each), the
//! roll-forward chained month to month, and its last closing equal to the sum of balances.

use std::collections::BTreeMap;

use chrono::FixedOffset;

use super::counters::{self, MerchantMonth, Totals};
use crate::domain::calendar::Month;
use crate::domain::error::Result;
use crate::domain::model::{Billing, BillingStatus, Deal, Member, MemberStatus};
use crate::domain::money::Points;
use crate::domain::schema::{self, decode, key1};
use crate::domain::store::Store;
use crate::domain::tx::Reader;

/// The flows only (what the records alone determine; activity counts are left out).
fn flows(t: &Totals) -> Totals {
    Totals {
        active: 0,
        week_active: 0,
        ..*t
    }
}

/// Reports each disagreement through `fail`; `balances` is the sum of every account's
/// balance as the caller read it.
pub fn verify(
    store: &Store,
    zone: FixedOffset,
    balances: Points,
    fail: &mut dyn FnMut(String),
) -> Result<()> {
    let mut months: BTreeMap<Month, Totals> = BTreeMap::new();
    let mut merchants: BTreeMap<(Month, u64), MerchantMonth> = BTreeMap::new();
    for r in store.scan_prefix(&[schema::DEAL]) {
        let d: Deal = decode(&r?.1)?;
        let clawback = d.is_success()
            && d.deal_type == crate::domain::DealType::UseCancel
            && match d.original_deal_id {
                Some(o) => store
                    .get::<Deal>(&key1(schema::DEAL, o.0))?
                    .is_some_and(|o| o.billing_status == BillingStatus::Yes),
                None => false,
            };
        let t = Totals::of_deal(&d, clawback);
        let month = Month::of(d.deal_date, zone);
        months.entry(month).or_default().add(&t);
        let m = merchants.entry((month, d.merchant_id.0)).or_default();
        m.issued += t.issued;
        m.redeemed += t.redeemed;
        m.clawbacks += t.clawbacks;
    }
    for r in store.scan_prefix(&[schema::MEMBER]) {
        let m: Member = decode(&r?.1)?;
        months
            .entry(Month::of(m.joined_at, zone))
            .or_default()
            .new_members += 1;
        let r = crate::domain::ledger::record_of(store, m.member_id)?;
        let (a, s) = (r.account, r.stats);
        let withdrawn = m.status == MemberStatus::Invalid;
        if s.joined_at != m.joined_at || s.withdrawn_at.is_some() != withdrawn {
            fail(format!(
                "member {}'s report fields say joined at {}, withdrawn {}; the member record says {}, {}",
                m.member_id,
                s.joined_at,
                s.withdrawn_at.is_some(),
                m.joined_at,
                withdrawn
            ));
        }
        if m.status == MemberStatus::Invalid {
            let at = a.last_activity.unwrap_or(m.joined_at);
            let t = months.entry(Month::of(at, zone)).or_default();
            t.forfeited += a.forfeited;
            t.withdrawals += 1;
        }
    }
    for r in store.scan_prefix(&[schema::BILLING]) {
        let b: Billing = decode(&r?.1)?;
        let t = months.entry(b.billing_month).or_default();
        t.billings += 1;
        t.billed_net += b.net_points;
        t.billed += b.billing_amount;
    }
    let stored: BTreeMap<Month, Totals> = counters::months(store)?.into_iter().collect();
    for m in months
        .keys()
        .chain(stored.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let want = months.get(m).map(flows).unwrap_or_default();
        let have = stored.get(m).map(flows).unwrap_or_default();
        if want != have {
            fail(format!(
                "report counters for {m} differ from the records: they hold {have:?}, the records give {want:?}"
            ));
        }
    }
    for ((month, merchant), want) in &merchants {
        let have = store
            .get::<MerchantMonth>(&counters::merchant_month_key(*month, *merchant))?
            .unwrap_or_default();
        if (have.issued, have.redeemed, have.clawbacks)
            != (want.issued, want.redeemed, want.clawbacks)
        {
            fail(format!(
                "report counters for merchant {merchant} in {month} differ from its deals"
            ));
        }
    }
    let closing: Points = stored.values().map(Totals::net_change).sum();
    if closing != balances {
        fail(format!(
            "the liability roll-forward closes at {closing} but balances add up to {balances}"
        ));
    }
    Ok(())
}
