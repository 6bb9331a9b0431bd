//! The dashboard read model (the original's DealDashBoard / BillingAmountView): per member,
//! every deal, and per merchant and month, every deal, as key-only indexes (`V`: member,
//! deal; `X`: merchant, month, deal) so neither query scans all deals. No row copies the
//! deal: a read joins the deal record and the member's current status, so a billing or a
//! withdrawal rewrites nothing here.

use super::calendar::Month;
use super::ids::{DealId, MemberId, MerchantId};
use super::model::{DashboardRow, Deal, MemberStatus};
use super::schema::{KeyBuf, VIEW, VIEW_MERCHANT, key2};
use super::tx::Tx;

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

/// The dashboard row of a deal, joined with its member's status.
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

/// Indexes a new deal by member and by merchant and month.
pub fn record(tx: &mut Tx, d: &Deal) {
    let month = Month::of(d.deal_date, tx.zone);
    tx.put_raw(row_key(d.member_id, d.id), Vec::new());
    tx.put_raw(merchant_key(d.merchant_id, month, d.id), Vec::new());
}
