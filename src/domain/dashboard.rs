//! The dashboard read model (the original's DealDashBoard / BillingAmountView): per member,
//! every deal with its date, merchant, type, points, status and billing status, in tables of
//! its own, indexed by member and by merchant+month so neither query scans all deals. The
//! member's status is joined in when read, so a withdrawal rewrites no rows.

use super::calendar::Month;
use super::error::Result;
use super::ids::{DealId, MemberId, MerchantId};
use super::model::{BillingStatus, DashboardRow, Deal, MemberStatus};
use super::schema::{KeyBuf, VIEW, VIEW_MERCHANT, key2};
use super::tx::{Reader, Tx};

pub fn row_key(member: MemberId, deal: DealId) -> Vec<u8> {
    key2(VIEW, member.0, deal.0)
}

pub fn merchant_key(merchant: MerchantId, month: Month, deal: DealId) -> Vec<u8> {
    KeyBuf::new(VIEW_MERCHANT)
        .u64(merchant.0)
        .u32(month.code())
        .u64(deal.0)
        .done()
}

/// The read-model row of a deal.
pub fn row_of(d: &Deal, member_status: MemberStatus) -> DashboardRow {
    DashboardRow {
        id: d.id,
        member_id: d.member_id,
        merchant_id: d.merchant_id,
        deal_date: d.deal_date,
        deal_type: d.deal_type,
        point: d.point,
        status: d.status,
        billing_status: d.billing_status,
        balance: d.balance,
        member_status,
    }
}

/// Adds a new deal to the read model. The stored row's member status is not kept up to date
/// (a withdrawal rewrites no rows): reads join in the member's status.
pub fn record(tx: &mut Tx, d: &Deal) {
    let month = Month::of(d.deal_date, tx.zone);
    tx.put(row_key(d.member_id, d.id), &row_of(d, MemberStatus::Valid));
    tx.put_raw(
        merchant_key(d.merchant_id, month, d.id),
        d.member_id.0.to_be_bytes().to_vec(),
    );
}

/// Marks a deal billed in the read model.
pub fn mark_billed(tx: &mut Tx, d: &Deal) -> Result<()> {
    let k = row_key(d.member_id, d.id);
    if let Some(mut row) = tx.get::<DashboardRow>(&k)? {
        row.billing_status = BillingStatus::Yes;
        tx.put(k, &row);
    }
    Ok(())
}
