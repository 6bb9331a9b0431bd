//! The rules of SPEC 1, applied inside a writer transaction: every check comes before the
//! first write, so a refused command writes nothing and emits no event. Corrections are new
//! entries (cancels reference their original), never edits of amounts.

use chrono::FixedOffset;

use super::billing;
use super::calendar::{MAX_FUTURE_MS, Millis};
use super::dashboard;
use super::error::{Error, Result};
use super::event::EventBody;
use super::ids::{DealId, MemberId, MerchantId};
use super::model::{
    Account, BillingStatus, Deal, DealStatus, DealType, Member, MemberRecord, MemberStatus,
    MemberView, Merchant, REASON_INSUFFICIENT, Rates, Withdrawal,
};
use super::money::{Amount, Points};
use super::query::Outcome;
use super::request::{CancelKind, Command, DealRequest, Keyed, NewMember, NewMerchant};
use super::schema::{
    ACCOUNT, CLAWBACK, DEAL, IdemRecord, MEMBER, MERCHANT, MERCHANT_STATS, MerchantStats, Pending,
    UNBILLED, balance_key, bucket_of, encode_points, key1, name_key, pending_key,
};
use super::tx::{Reader, Tx};

/// Settings the rules need.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub rates: Rates,
    pub zone: FixedOffset,
}

/// Applies one keyed command; on error nothing of it stays in the transaction.
pub fn apply(tx: &mut Tx, rules: &Rules, k: &Keyed) -> Result<Outcome> {
    let r = apply_keyed(tx, rules, k);
    match r {
        Ok(_) => tx.accept(),
        Err(_) => tx.reject(),
    }
    r
}

fn apply_keyed(tx: &mut Tx, rules: &Rules, k: &Keyed) -> Result<Outcome> {
    let Some(key) = &k.key else {
        return apply_command(tx, rules, &k.command);
    };
    let ikey = idem_key(&key.0);
    let request = serde_json::to_string(&k.command).expect("commands serialise");
    if let Some(rec) = tx.get::<IdemRecord>(&ikey)? {
        if rec.request != request {
            return Err(Error::KeyConflict { key: key.0.clone() });
        }
        return serde_json::from_str(&rec.outcome)
            .map_err(|e| Error::store(format!("corrupt idempotency record: {e}")));
    }
    let out = apply_command(tx, rules, &k.command)?;
    let outcome = serde_json::to_string(&out).expect("outcomes serialise");
    tx.put(ikey, &IdemRecord { request, outcome });
    Ok(out)
}

pub fn idem_key(key: &str) -> Vec<u8> {
    let mut k = vec![super::schema::IDEM];
    k.extend_from_slice(key.as_bytes());
    k
}

fn apply_command(tx: &mut Tx, rules: &Rules, c: &Command) -> Result<Outcome> {
    let billings_before = tx.meta.last_billing;
    let out = match c {
        Command::Join(m) => join(tx, m).map(Outcome::Member),
        Command::Withdraw(id) => withdraw(tx, *id).map(Outcome::Withdrawal),
        Command::AddMerchant(m) => add_merchant(tx, rules, m).map(Outcome::Merchant),
        Command::Deal(d) => deal(tx, rules, d).map(Outcome::Deal),
        Command::Bill(b) => billing::run(tx, rules, b.merchant, b.month).map(Outcome::Billing),
    }?;
    // The report counters, in the same transaction (see `reports::counters`).
    super::reports::counters::record(tx, billings_before, &out)?;
    Ok(out)
}

pub fn member_of<R: Reader>(r: &R, id: MemberId) -> Result<Member> {
    r.get::<Member>(&key1(MEMBER, id.0))?
        .ok_or_else(|| Error::not_found("member", id))
}

pub fn account_of<R: Reader>(r: &R, id: MemberId) -> Result<Account> {
    Ok(record_of(r, id)?.account)
}

/// A member's record under `A`: the account and the report fields (zeroes if none).
pub fn record_of<R: Reader>(r: &R, id: MemberId) -> Result<MemberRecord> {
    Ok(find_record(r, id)?.unwrap_or_default())
}

/// A member's record under `A`, if the member exists.
pub fn find_record<R: Reader>(r: &R, id: MemberId) -> Result<Option<MemberRecord>> {
    r.get::<MemberRecord>(&key1(ACCOUNT, id.0))
}

/// The account in a stored `A` value (a `MemberRecord`).
pub fn account_in(v: &[u8]) -> Result<Account> {
    Ok(super::schema::decode::<MemberRecord>(v)?.account)
}

pub fn deal_of<R: Reader>(r: &R, id: DealId) -> Result<Deal> {
    r.get::<Deal>(&key1(DEAL, id.0))?
        .ok_or_else(|| Error::not_found("deal", id))
}

/// A registered merchant, or the defaults for an unregistered id.
pub fn merchant_of<R: Reader>(r: &R, rates: &Rates, id: MerchantId) -> Result<Merchant> {
    Ok(r.get::<Merchant>(&key1(MERCHANT, id.0))?
        .unwrap_or(Merchant {
            merchant_id: id,
            name: None,
            earn_rate_bp: rates.earn.0,
            registered: false,
        }))
}

/// Writes an account into its member's record (`rec`, as read), keeping the balance index
/// and the meta totals in step.
fn put_account(tx: &mut Tx, id: MemberId, rec: &MemberRecord, new: &Account) -> Result<()> {
    let old = &rec.account;
    if old.balance != new.balance {
        tx.remove(balance_key(old.balance, id.0));
        tx.put_raw(balance_key(new.balance, id.0), Vec::new());
        tx.meta.outstanding = tx
            .meta
            .outstanding
            .checked_add(new.balance - old.balance)
            .ok_or_else(|| Error::rule("point", &super::money::bound_rule()))?;
        tx.meta.buckets[bucket_of(old.balance)] -= 1;
        tx.meta.buckets[bucket_of(new.balance)] += 1;
    }
    super::sort_index::on_account(tx, id.0, old, new);
    let rec = MemberRecord {
        account: *new,
        stats: rec.stats,
    };
    tx.put(key1(ACCOUNT, id.0), &rec);
    Ok(())
}

fn join(tx: &mut Tx, m: &NewMember) -> Result<MemberView> {
    tx.meta.last_member += 1;
    let id = MemberId(tx.meta.last_member);
    let member = Member {
        member_id: id,
        name: m.name.clone(),
        phone: m.phone.clone(),
        address: m.address.clone(),
        status: MemberStatus::Valid,
        joined_at: tx.now,
    };
    let account = Account::default();
    tx.put(key1(MEMBER, id.0), &member);
    // The report fields are the counters' (`counters::record` sets the join date).
    tx.put(key1(ACCOUNT, id.0), &MemberRecord::default());
    tx.put_raw(balance_key(Points::ZERO, id.0), Vec::new());
    tx.put_raw(name_key(&member.name, id.0), Vec::new());
    super::sort_index::on_join(tx, id.0);
    tx.meta.valid_members += 1;
    tx.meta.buckets[0] += 1;
    tx.emit(EventBody::MemberCreated {
        member_id: id,
        name: member.name.clone(),
        status: MemberStatus::Valid,
    });
    tx.emit(EventBody::PointCreated { member_id: id });
    Ok(MemberView::new(&member, &account))
}

fn withdraw(tx: &mut Tx, id: MemberId) -> Result<Withdrawal> {
    let mut member = member_of(tx, id)?;
    if member.status == MemberStatus::Invalid {
        return Err(Error::conflict("memberId", "is already withdrawn"));
    }
    let rec = record_of(tx, id)?;
    let old = rec.account;
    let forfeited = old.balance;
    let mut new = old;
    new.balance = Points::ZERO;
    new.forfeited = new.forfeited.add_recorded(forfeited, "memberId")?;
    new.last_activity = Some(tx.now);
    put_account(tx, id, &rec, &new)?;
    tx.meta.buckets[bucket_of(Points::ZERO)] -= 1;
    tx.meta.valid_members -= 1;
    member.status = MemberStatus::Invalid;
    tx.put(key1(MEMBER, id.0), &member);
    tx.emit(EventBody::MemberSecession {
        member_id: id,
        status: MemberStatus::Invalid,
    });
    tx.emit(EventBody::PointDisappeared {
        member_id: id,
        point: forfeited,
    });
    Ok(Withdrawal {
        member: MemberView::new(&member, &new),
        forfeited,
    })
}

fn add_merchant(tx: &mut Tx, rules: &Rules, m: &NewMerchant) -> Result<Merchant> {
    let existing = tx.get::<Merchant>(&key1(MERCHANT, m.id.0))?;
    let merchant = Merchant {
        merchant_id: m.id,
        name: Some(m.name.clone()),
        earn_rate_bp: m.earn_rate.unwrap_or(rules.rates.earn).0,
        registered: true,
    };
    if existing.is_none() {
        tx.meta.merchants += 1;
    }
    tx.put(key1(MERCHANT, m.id.0), &merchant);
    tx.emit(EventBody::MerchantRegistered {
        merchant_id: m.id,
        name: m.name.clone(),
        earn_rate_bp: merchant.earn_rate_bp,
    });
    Ok(merchant)
}

fn deal_date(tx: &Tx, given: Option<Millis>) -> Result<Millis> {
    match given {
        None => Ok(tx.now),
        Some(d) if d > tx.now + MAX_FUTURE_MS => Err(Error::rule(
            "dealDate",
            "must not be more than 5 minutes in the future",
        )),
        Some(d) => Ok(d),
    }
}

/// The record of a member who may take part in a deal: one that exists and has not
/// withdrawn. It is read from the member's `A` record alone, the one a deal writes: its
/// withdrawal date is set in the transaction that withdraws the member (the counters'
/// `on_withdraw`), and `check` verifies it against the member (`reports::verify`).
fn valid_record(tx: &Tx, id: MemberId) -> Result<MemberRecord> {
    let rec = find_record(tx, id)?.ok_or_else(|| Error::not_found("member", id))?;
    if rec.stats.withdrawn_at.is_some() {
        return Err(Error::rule(
            "memberId",
            "is withdrawn and can take part in no deal",
        ));
    }
    Ok(rec)
}

fn deal(tx: &mut Tx, rules: &Rules, req: &DealRequest) -> Result<Deal> {
    let date = deal_date(tx, req.date())?;
    match req {
        DealRequest::Save {
            member,
            merchant,
            amount,
            ..
        } => save(tx, rules, *member, *merchant, *amount, date),
        DealRequest::Use {
            member,
            merchant,
            points,
            amount,
            ..
        } => use_points(tx, *member, *merchant, *points, *amount, date),
        DealRequest::Cancel { original, kind, .. } => cancel(tx, *original, *kind, date),
    }
}

fn new_deal(
    tx: &mut Tx,
    member: MemberId,
    merchant: MerchantId,
    t: DealType,
    date: Millis,
) -> Deal {
    tx.meta.last_deal += 1;
    Deal {
        id: DealId(tx.meta.last_deal),
        member_id: member,
        merchant_id: merchant,
        deal_type: t,
        deal_amount: 0,
        point: Points::ZERO,
        status: DealStatus::Success,
        billing_status: BillingStatus::No,
        billing_id: None,
        original_deal_id: None,
        reason: None,
        deal_date: date,
        balance: Points::ZERO,
        cancelled_by: None,
    }
}

/// Records a deal: the write model, the dashboard, merchant stats, the event.
fn record(tx: &mut Tx, d: &Deal) -> Result<()> {
    tx.put(key1(DEAL, d.id.0), d);
    super::sort_index::on_deal(tx, d)?;
    dashboard::record(tx, d);
    let sk = key1(MERCHANT_STATS, d.merchant_id.0);
    let mut stats = tx.get::<MerchantStats>(&sk)?.unwrap_or_default();
    stats.deals += 1;
    stats.last_deal = Some(stats.last_deal.map_or(d.deal_date, |t| t.max(d.deal_date)));
    tx.put(sk, &stats);
    tx.emit(EventBody::for_deal(d));
    Ok(())
}

fn touch(a: &mut Account, date: Millis) {
    a.deals += 1;
    a.last_activity = Some(a.last_activity.map_or(date, |t| t.max(date)));
}

fn save(
    tx: &mut Tx,
    rules: &Rules,
    member: MemberId,
    merchant: MerchantId,
    amount: Amount,
    date: Millis,
) -> Result<Deal> {
    let rec = valid_record(tx, member)?;
    let rate = merchant_of(tx, &rules.rates, merchant)?.earn_rate_bp;
    let points = super::money::BasisPoints(rate).earn(amount);
    let old = rec.account;
    let mut new = old;
    new.balance = new.balance.add_recorded(points, "dealAmount")?;
    new.earned = new.earned.add_recorded(points, "dealAmount")?;
    touch(&mut new, date);
    let mut d = new_deal(tx, member, merchant, DealType::Save, date);
    d.deal_amount = amount.0;
    d.point = points;
    d.balance = new.balance;
    put_account(tx, member, &rec, &new)?;
    record(tx, &d)?;
    Ok(d)
}

fn use_points(
    tx: &mut Tx,
    member: MemberId,
    merchant: MerchantId,
    points: Points,
    amount: Option<Amount>,
    date: Millis,
) -> Result<Deal> {
    let rec = valid_record(tx, member)?;
    let old = rec.account;
    let mut new = old;
    let mut d = new_deal(tx, member, merchant, DealType::Use, date);
    d.deal_amount = amount.map_or(0, |a| a.0);
    d.point = points;
    if old.balance >= points {
        new.balance -= points;
        new.used = new.used.add_recorded(points, "point")?;
        tx.put_raw(unbilled_key(merchant, date, d.id), encode_points(points));
        add_pending(tx, merchant, date, points, false)?;
    } else {
        d.status = DealStatus::Fail;
        d.reason = Some(REASON_INSUFFICIENT.into());
        new.failed += 1;
    }
    touch(&mut new, date);
    d.balance = new.balance;
    put_account(tx, member, &rec, &new)?;
    record(tx, &d)?;
    Ok(d)
}

pub fn unbilled_key(merchant: MerchantId, date: Millis, deal: DealId) -> Vec<u8> {
    super::schema::KeyBuf::new(UNBILLED)
        .u64(merchant.0)
        .time(date)
        .u64(deal.0)
        .done()
}

pub fn clawback_key(merchant: MerchantId, date: Millis, deal: DealId) -> Vec<u8> {
    super::schema::KeyBuf::new(CLAWBACK)
        .u64(merchant.0)
        .time(date)
        .u64(deal.0)
        .done()
}

fn cancel(tx: &mut Tx, original: DealId, kind: CancelKind, date: Millis) -> Result<Deal> {
    let mut orig = deal_of(tx, original)?;
    let t = match orig.deal_type {
        DealType::Save => DealType::SaveCancel,
        DealType::Use => DealType::UseCancel,
        _ => {
            return Err(Error::rule(
                "originalDealId",
                "must name a save or use deal, not a cancel",
            ));
        }
    };
    if let CancelKind::Exactly(asked) = kind
        && asked != t
    {
        return Err(Error::rule(
            "originalDealId",
            &format!(
                "names a {} deal, which only a {} can cancel",
                orig.deal_type.as_str(),
                t.as_str()
            ),
        ));
    }
    if orig.status != DealStatus::Success {
        return Err(Error::rule(
            "originalDealId",
            "names a failed deal; there is nothing to cancel",
        ));
    }
    if let Some(by) = orig.cancelled_by {
        return Err(Error::conflict(
            "originalDealId",
            &format!("is already cancelled by deal {by}"),
        ));
    }
    if date < orig.deal_date {
        return Err(Error::rule(
            "dealDate",
            "must not be before the original deal's date",
        ));
    }
    let member = orig.member_id;
    let m = member_of(tx, member)?;
    if m.status != MemberStatus::Valid {
        return Err(Error::rule(
            "originalDealId",
            "belongs to a withdrawn member; its deals can no longer be cancelled",
        ));
    }
    let rec = record_of(tx, member)?;
    let old = rec.account;
    let mut new = old;
    let mut d = new_deal(tx, member, orig.merchant_id, t, date);
    d.point = orig.point;
    d.deal_amount = orig.deal_amount;
    d.original_deal_id = Some(orig.id);
    match t {
        DealType::SaveCancel if old.balance < orig.point => {
            d.status = DealStatus::Fail;
            d.reason = Some(REASON_INSUFFICIENT.into());
            new.failed += 1;
        }
        DealType::SaveCancel => {
            new.balance -= orig.point;
            new.save_cancelled = new
                .save_cancelled
                .add_recorded(orig.point, "originalDealId")?;
        }
        _ => {
            new.balance = new.balance.add_recorded(orig.point, "originalDealId")?;
            new.use_cancelled = new
                .use_cancelled
                .add_recorded(orig.point, "originalDealId")?;
            if orig.billing_status == BillingStatus::No {
                // Never billed: simply never bill it.
                tx.remove(unbilled_key(orig.merchant_id, orig.deal_date, orig.id));
                add_pending(tx, orig.merchant_id, orig.deal_date, -orig.point, false)?;
            } else {
                // Already billed: the next settlement claws it back.
                tx.put_raw(
                    clawback_key(orig.merchant_id, date, d.id),
                    encode_points(orig.point),
                );
                add_pending(tx, orig.merchant_id, date, orig.point, true)?;
            }
        }
    }
    touch(&mut new, date);
    d.balance = new.balance;
    if d.status == DealStatus::Success {
        orig.cancelled_by = Some(d.id);
        tx.put(key1(DEAL, orig.id.0), &orig);
    }
    put_account(tx, member, &rec, &new)?;
    record(tx, &d)?;
    Ok(d)
}

/// Keeps the `Q` totals in step with a queue entry added (`points` > 0) or removed (< 0).
fn add_pending(
    tx: &mut Tx,
    merchant: MerchantId,
    date: Millis,
    points: Points,
    clawback: bool,
) -> Result<()> {
    let month = super::calendar::Month::of(date, tx.zone);
    let key = pending_key(merchant.0, month.code());
    let mut p = tx.get::<Pending>(&key)?.unwrap_or_default();
    let one = if points.0 >= 0 { 1 } else { u64::MAX };
    // A settlement sums these totals: keeping each within the bound keeps a billing
    // amount readable (a use past it is refused, naming the points).
    if clawback {
        p.clawbacks = p.clawbacks.add_recorded(points, "point")?;
        p.clawback_count = p.clawback_count.wrapping_add(one);
    } else {
        p.uses = p.uses.add_recorded(points, "point")?;
        p.use_count = p.use_count.wrapping_add(one);
    }
    if p.is_empty() {
        tx.remove(key);
    } else {
        tx.put(key, &p);
    }
    Ok(())
}
