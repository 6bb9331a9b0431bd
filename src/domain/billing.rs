//! Settlement (SPEC 1): per merchant and month, the successful unbilled uses dated up to the
//! end of the month, minus the useCancels of already-billed uses not yet clawed back, times
//! (1 - commission), rounded half up. A run walks the queues (`settle`); a preview reads the
//! per-month totals kept beside them (`pending`), which `check` proves equal to the queues.

use super::calendar::Month;
use super::error::{Error, Result};
use super::event::EventBody;
use super::ids::{BillingId, DealId, MerchantId};
use super::ledger::{Rules, deal_of};
use super::model::{Billing, BillingPreview, BillingStatus};
use super::money::Points;
use super::schema::{
    BILLING, BILLING_MONTH, CLAWBACK, DEAL, KeyBuf, PENDING, Pending, UNBILLED, decode,
    decode_points, key1, pending_key, read_u64,
};
use super::tx::{Reader, Tx, prefix_end};

/// What a settlement would bill now.
#[derive(Debug, Clone, Default)]
pub struct Settlement {
    /// Successful unbilled uses: (deal, points, queue key).
    pub uses: Vec<(DealId, Points, Vec<u8>)>,
    /// useCancels of billed uses, to claw back: (deal, points, queue key).
    pub clawbacks: Vec<(DealId, Points, Vec<u8>)>,
    pub net: Points,
}

impl Settlement {
    pub fn deal_count(&self) -> u64 {
        (self.uses.len() + self.clawbacks.len()) as u64
    }
}

fn queue<R: Reader>(
    r: &R,
    tag: u8,
    merchant: MerchantId,
    end_ms: i64,
) -> Result<Vec<(DealId, Points, Vec<u8>)>> {
    let from = KeyBuf::new(tag).u64(merchant.0).done();
    let to = KeyBuf::new(tag).u64(merchant.0).time(end_ms + 1).done();
    Ok(r.range_raw(&from, &to)?
        .into_iter()
        .map(|(k, v)| (DealId(read_u64(&k, 17)), decode_points(&v), k))
        .collect())
}

pub fn settle<R: Reader>(
    r: &R,
    rules: &Rules,
    merchant: MerchantId,
    month: Month,
) -> Result<Settlement> {
    let end = month.end_ms(rules.zone);
    let uses = queue(r, UNBILLED, merchant, end)?;
    let clawbacks = queue(r, CLAWBACK, merchant, end)?;
    // Summed wide, then held to the bound every recorded figure keeps.
    let wide = uses.iter().map(|u| i128::from(u.1.0)).sum::<i128>()
        - clawbacks.iter().map(|c| i128::from(c.1.0)).sum::<i128>();
    let net = i64::try_from(wide)
        .ok()
        .map(Points)
        .filter(|p| p.within_bound())
        .ok_or_else(|| Error::rule("billingMonth", &super::money::bound_rule()))?;
    Ok(Settlement {
        uses,
        clawbacks,
        net,
    })
}

pub fn month_key(merchant: MerchantId, month: Month, billing: BillingId) -> Vec<u8> {
    KeyBuf::new(BILLING_MONTH)
        .u64(merchant.0)
        .u32(month.code())
        .u64(billing.0)
        .done()
}

/// The latest billing of a merchant and month.
pub fn latest<R: Reader>(r: &R, merchant: MerchantId, month: Month) -> Result<Option<Billing>> {
    let prefix = KeyBuf::new(BILLING_MONTH)
        .u64(merchant.0)
        .u32(month.code())
        .done();
    let rows = r.range_raw(&prefix, &prefix_end(&prefix))?;
    match rows.last() {
        Some((k, _)) => r.get::<Billing>(&key1(BILLING, read_u64(k, 13))),
        None => Ok(None),
    }
}

fn check_month(now: i64, rules: &Rules, month: Month) -> Result<()> {
    if month > Month::of(now, rules.zone) {
        return Err(Error::rule("billingMonth", "must not be in the future"));
    }
    Ok(())
}

pub fn preview<R: Reader>(
    r: &R,
    rules: &Rules,
    now: i64,
    merchant: MerchantId,
    month: Month,
) -> Result<BillingPreview> {
    check_month(now, rules, month)?;
    let p = pending(r, merchant, month)?;
    let net = p.uses - p.clawbacks;
    Ok(BillingPreview {
        merchant_id: merchant,
        billing_month: month,
        billing_amount: rules.rates.commission.net_of_commission(net),
        net_points: net,
        deal_count: p.use_count + p.clawback_count,
        commission_bp: rules.rates.commission.0,
        latest: latest(r, merchant, month)?,
    })
}

/// The `Q` totals of a merchant for every month up to `month`, summed.
pub fn pending<R: Reader>(r: &R, merchant: MerchantId, month: Month) -> Result<Pending> {
    let from = KeyBuf::new(PENDING).u64(merchant.0).done();
    let to = pending_key(merchant.0, month.code() + 1);
    let mut total = Pending::default();
    for (_, v) in r.range_raw(&from, &to)? {
        let p: Pending = decode(&v)?;
        let over = || Error::rule("billingMonth", &super::money::bound_rule());
        total.uses = total.uses.checked_add(p.uses).ok_or_else(over)?;
        total.use_count += p.use_count;
        total.clawbacks = total.clawbacks.checked_add(p.clawbacks).ok_or_else(over)?;
        total.clawback_count += p.clawback_count;
    }
    Ok(total)
}

pub fn run(tx: &mut Tx, rules: &Rules, merchant: MerchantId, month: Month) -> Result<Billing> {
    check_month(tx.now, rules, month)?;
    let s = settle(tx, rules, merchant, month)?;
    if s.deal_count() == 0
        && let Some(b) = latest(tx, merchant, month)?
    {
        return Ok(b);
    }
    tx.meta.last_billing += 1;
    let id = BillingId(tx.meta.last_billing);
    for (deal, _, qkey) in s.uses.iter().chain(s.clawbacks.iter()) {
        let mut d = deal_of(tx, *deal)?;
        d.billing_status = BillingStatus::Yes;
        d.billing_id = Some(id);
        tx.put(key1(DEAL, d.id.0), &d);
        tx.remove(qkey.clone());
    }
    // Everything queued up to the end of the month is billed now: so are its totals.
    let from = KeyBuf::new(PENDING).u64(merchant.0).done();
    for (k, _) in tx.range_raw(&from, &pending_key(merchant.0, month.code() + 1))? {
        tx.remove(k);
    }
    let b = Billing {
        id,
        merchant_id: merchant,
        billing_month: month,
        billing_amount: rules.rates.commission.net_of_commission(s.net),
        deal_count: s.deal_count(),
        net_points: s.net,
        commission_bp: rules.rates.commission.0,
        created_at: tx.now,
    };
    tx.put(key1(BILLING, id.0), &b);
    tx.put_raw(month_key(merchant, month, id), Vec::new());
    tx.emit(EventBody::Billed {
        id,
        merchant_id: merchant,
        billing_month: month,
        billing_amount: b.billing_amount,
        deal_count: b.deal_count,
    });
    Ok(b)
}

/// Recomputes the `Q` totals from the queues (`U`, `K`), month by month.
pub fn pending_from_queues<R: Reader>(
    r: &R,
    zone: chrono::FixedOffset,
) -> Result<std::collections::BTreeMap<Vec<u8>, Pending>> {
    let mut out: std::collections::BTreeMap<Vec<u8>, Pending> = Default::default();
    for tag in [UNBILLED, CLAWBACK] {
        for (k, v) in r.range_raw(&[tag], &prefix_end(&[tag]))? {
            let merchant = read_u64(&k, 1);
            let month = Month::of(super::schema::read_time(&k, 9), zone);
            let p = out.entry(pending_key(merchant, month.code())).or_default();
            if tag == UNBILLED {
                p.uses += decode_points(&v);
                p.use_count += 1;
            } else {
                p.clawbacks += decode_points(&v);
                p.clawback_count += 1;
            }
        }
    }
    Ok(out)
}
