//! Read-side shapes: the queries front ends ask, and the views they get back. All pages are
//! cursor-based (an id to continue after), so no query costs more than the page it returns.

use serde::{Deserialize, Serialize};

use super::calendar::Month;
use super::error::FieldError;
use super::ids::{DealId, MemberId, MerchantId};
use super::model::{
    Account, Billing, Deal, DealStatus, DealType, Member, MemberStatus, MemberView, Merchant,
    Withdrawal,
};
use super::money::Points;

pub const MAX_PAGE: usize = 10_000;

/// Parses a page size as typed (`--limit`, `?size=`): a whole number in 1 ..= `MAX_PAGE`.
pub fn parse_limit(field: &str, text: &str) -> Result<usize, FieldError> {
    let t = text.trim();
    let rule = "must be a whole number from 1 to 10000";
    if t.is_empty() || t.len() > 6 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(field, rule));
    }
    match t.parse::<usize>() {
        Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        _ => Err(FieldError::new(field, rule)),
    }
}

/// Parses an event offset to continue after (`--after`, `?after=`): 0 (from the start) or
/// any later offset.
pub fn parse_event_offset(field: &str, text: &str) -> Result<u64, FieldError> {
    let t = text.trim();
    if t.is_empty() || t.len() > 19 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(field, "must be a whole number (0 or more)"));
    }
    t.parse()
        .map_err(|_| FieldError::new(field, "must be a whole number (0 or more)"))
}

/// What a write produced. Externally tagged (`{"Deal":{...}}`) where stored; front ends
/// print the inner value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Member(MemberView),
    Withdrawal(Withdrawal),
    Merchant(Merchant),
    Deal(Deal),
    Billing(Billing),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MemberSort {
    #[default]
    Id,
    IdDesc,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemberQuery {
    pub status: Option<MemberStatus>,
    /// Case-insensitive substring of the name, or a phone fragment.
    pub query: Option<String>,
    /// Continue after this id (in the sort's direction).
    pub after: Option<MemberId>,
    pub limit: usize,
    pub sort: MemberSort,
}

/// Deals, newest first (by id), filtered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DealQuery {
    pub member: Option<MemberId>,
    pub merchant: Option<MerchantId>,
    pub month: Option<Month>,
    pub deal_type: Option<DealType>,
    pub status: Option<DealStatus>,
    /// Continue with deals older than this id.
    pub before: Option<DealId>,
    pub limit: usize,
}

/// Balances, highest first; continue after `(balance, member)`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BalanceQuery {
    pub after: Option<(Points, MemberId)>,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BillingQuery {
    pub merchant: Option<MerchantId>,
    pub month: Option<Month>,
    pub limit: usize,
}

/// `{"memberId":1,"point":2200.0}`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    pub member_id: MemberId,
    pub point: Points,
}

/// Outstanding points across all members, and how balances are spread.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PointsSummary {
    pub members: u64,
    pub valid_members: u64,
    pub total_outstanding: Points,
    /// Counts of valid members per balance bucket: `[0]`, `(0,100]`, `(100,1000]`,
    /// `(1000,10000]`, `(10000,100000]`, `>100000` points.
    pub distribution: Vec<(String, u64)>,
}

/// One merchant's share of a member's activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantShare {
    pub merchant_id: MerchantId,
    pub deals: u64,
    pub earned: Points,
    pub used: Points,
}

/// Everything the member analysis shows, from the dashboard read model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberDetail {
    #[serde(flatten)]
    pub member: MemberView,
    pub totals: Account,
    pub top_merchants: Vec<MerchantShare>,
    pub recent_deals: Vec<Deal>,
}

impl MemberDetail {
    pub fn new(m: &Member, a: Account) -> MemberDetail {
        MemberDetail {
            member: MemberView::new(m, &a),
            totals: a,
            top_merchants: Vec::new(),
            recent_deals: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
    pub version: String,
    pub data_dir: String,
    pub members: u64,
    pub deals: u64,
    pub billings: u64,
    pub events: u64,
    pub merchants: u64,
    pub store_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub ok: bool,
    pub members: u64,
    pub deals: u64,
    pub billings: u64,
    pub events: u64,
    pub violations: Vec<String>,
}

/// Where the data comes from, for the console's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// `embedded` or `remote`.
    pub kind: String,
    /// The store path or the remote URL.
    pub location: String,
    pub read_only: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_whole_numbers_up_to_a_page() {
        assert_eq!(parse_limit("limit", " 50 ").unwrap(), 50);
        assert_eq!(parse_limit("limit", "10000").unwrap(), MAX_PAGE);
        for bad in ["0", "10001", "-1", "1.5", "", "abc", "99999999999"] {
            assert_eq!(
                parse_limit("limit", bad).unwrap_err().field,
                "limit",
                "{bad}"
            );
        }
    }

    #[test]
    fn event_offsets_start_at_zero() {
        assert_eq!(parse_event_offset("after", "0").unwrap(), 0);
        assert_eq!(parse_event_offset("after", "42").unwrap(), 42);
        for bad in ["-1", "x", "", "1e5", "99999999999999999999"] {
            assert!(parse_event_offset("after", bad).is_err(), "{bad}");
        }
    }
}
