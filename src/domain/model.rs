//! The records of the ledger: members and their point accounts, merchants, deals, billings,
//! and the dashboard rows of the read model. Field names serialise as the HTTP API's
//! (camelCase, ids included), so the CLI's `--json` and the server print these directly.

use serde::{Deserialize, Serialize};

use super::calendar::{Millis, Month, rfc3339};
use super::ids::{BillingId, DealId, MemberId, MerchantId};
use super::money::{BasisPoints, Points};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Valid,
    Invalid,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Valid => "valid",
            MemberStatus::Invalid => "invalid",
        }
    }
    pub fn parse(field: &str, text: &str) -> Result<MemberStatus, super::error::FieldError> {
        match text.trim() {
            "valid" => Ok(MemberStatus::Valid),
            "invalid" => Ok(MemberStatus::Invalid),
            _ => Err(super::error::FieldError::new(
                field,
                "must be valid or invalid",
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub member_id: MemberId,
    pub name: String,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub status: MemberStatus,
    #[serde(with = "rfc3339")]
    pub joined_at: Millis,
}

/// A member's point account: the balance and running totals, kept with every deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub balance: Points,
    /// Points earned by successful saves.
    pub earned: Points,
    /// Points paid by successful uses.
    pub used: Points,
    /// Points taken back by saveCancels.
    pub save_cancelled: Points,
    /// Points given back by useCancels.
    pub use_cancelled: Points,
    /// Forfeited on withdrawal.
    pub forfeited: Points,
    pub deals: u64,
    pub failed: u64,
    pub last_activity: Option<Millis>,
}

/// A member's recency, frequency and spend, for the reports' segmentation (see
/// `reports::counters`), kept by the write path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStats {
    pub joined_at: Millis,
    pub withdrawn_at: Option<Millis>,
    /// The latest deal date (any deal, failed ones included).
    pub last_deal: Option<Millis>,
    /// Successful saves and uses.
    pub frequency: u64,
    /// Spend behind successful saves, whole currency units.
    pub spend: u64,
    /// Cancels, successful or not.
    pub cancels: u64,
}

/// What the store keeps under a member's `A` key: the account and the report fields in
/// one record, so that a deal reads and writes one record of its member, not two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub account: Account,
    pub stats: MemberStats,
}

/// A member as listed: the record and the balance. `{"memberId","name","phone","address",
/// "status","point",...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    pub member_id: MemberId,
    pub name: String,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub status: MemberStatus,
    pub point: Points,
    #[serde(with = "rfc3339")]
    pub joined_at: Millis,
    #[serde(default, with = "opt_rfc3339")]
    pub last_activity: Option<Millis>,
}

impl MemberView {
    pub fn new(m: &Member, a: &Account) -> MemberView {
        MemberView {
            member_id: m.member_id,
            name: m.name.clone(),
            phone: m.phone.clone(),
            address: m.address.clone(),
            status: m.status,
            point: a.balance,
            joined_at: m.joined_at,
            last_activity: a.last_activity,
        }
    }
}

/// Serde for optional RFC 3339 dates.
pub mod opt_rfc3339 {
    use super::super::calendar::{Millis, format_rfc3339, parse_datetime};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(ms) if s.is_human_readable() => s.serialize_some(&format_rfc3339(*ms)),
            Some(ms) => s.serialize_some(ms),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
        if d.is_human_readable() {
            let s: Option<String> = Option::deserialize(d)?;
            s.map(|s| parse_datetime("date", &s).map_err(serde::de::Error::custom))
                .transpose()
        } else {
            Option::<Millis>::deserialize(d)
        }
    }
}

/// The result of a withdrawal: the member, now invalid, and the points forfeited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawal {
    #[serde(flatten)]
    pub member: MemberView,
    pub forfeited: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Merchant {
    pub merchant_id: MerchantId,
    pub name: Option<String>,
    /// Earn rate in basis points (100 = 1%).
    pub earn_rate_bp: u32,
    pub registered: bool,
}

/// A merchant with its activity, as the billing tab lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantSummary {
    #[serde(flatten)]
    pub merchant: Merchant,
    pub deals: u64,
    #[serde(default, with = "opt_rfc3339")]
    pub last_deal: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DealType {
    Save,
    Use,
    SaveCancel,
    UseCancel,
}

impl DealType {
    pub const ALL: [DealType; 4] = [
        DealType::Save,
        DealType::Use,
        DealType::SaveCancel,
        DealType::UseCancel,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DealType::Save => "save",
            DealType::Use => "use",
            DealType::SaveCancel => "saveCancel",
            DealType::UseCancel => "useCancel",
        }
    }
    pub fn parse(field: &str, text: &str) -> Result<DealType, super::error::FieldError> {
        match text.trim() {
            "save" => Ok(DealType::Save),
            "use" => Ok(DealType::Use),
            "saveCancel" => Ok(DealType::SaveCancel),
            "useCancel" => Ok(DealType::UseCancel),
            _ => Err(super::error::FieldError::new(
                field,
                "must be one of save, use, saveCancel, useCancel",
            )),
        }
    }
    pub fn is_cancel(self) -> bool {
        matches!(self, DealType::SaveCancel | DealType::UseCancel)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DealStatus {
    Success,
    Fail,
}

impl DealStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DealStatus::Success => "success",
            DealStatus::Fail => "fail",
        }
    }
    pub fn parse(field: &str, text: &str) -> Result<DealStatus, super::error::FieldError> {
        match text.trim() {
            "success" => Ok(DealStatus::Success),
            "fail" => Ok(DealStatus::Fail),
            _ => Err(super::error::FieldError::new(
                field,
                "must be success or fail",
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BillingStatus {
    No,
    Yes,
}

pub const REASON_INSUFFICIENT: &str = "insufficient points";

/// A deal as recorded: `{"id","memberId","merchantId","type","dealAmount","point","status",
/// "billingStatus","billingId","originalDealId","reason","dealDate","balance"}` plus
/// `cancelledBy` once a cancel references it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deal {
    pub id: DealId,
    pub member_id: MemberId,
    pub merchant_id: MerchantId,
    #[serde(rename = "type")]
    pub deal_type: DealType,
    /// Whole currency units; 0 for a use without an amount and for cancels of uses.
    pub deal_amount: u64,
    pub point: Points,
    pub status: DealStatus,
    pub billing_status: BillingStatus,
    pub billing_id: Option<BillingId>,
    pub original_deal_id: Option<DealId>,
    pub reason: Option<String>,
    #[serde(with = "rfc3339")]
    pub deal_date: Millis,
    /// The member's balance right after this deal.
    pub balance: Points,
    #[serde(default)]
    pub cancelled_by: Option<DealId>,
}

impl Deal {
    pub fn is_success(&self) -> bool {
        self.status == DealStatus::Success
    }
}

/// A settlement: `{"id","merchantId","billingMonth","billingAmount","dealCount","createdAt"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Billing {
    pub id: BillingId,
    pub merchant_id: MerchantId,
    pub billing_month: Month,
    pub billing_amount: Points,
    pub deal_count: u64,
    /// Points before commission (uses minus clawed-back cancels).
    pub net_points: Points,
    pub commission_bp: u32,
    #[serde(with = "rfc3339")]
    pub created_at: Millis,
}

/// What `billing run` would do now, without writing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingPreview {
    pub merchant_id: MerchantId,
    pub billing_month: Month,
    pub billing_amount: Points,
    pub net_points: Points,
    pub deal_count: u64,
    pub commission_bp: u32,
    /// The latest billing already recorded for this merchant and month, if any.
    pub latest: Option<Billing>,
}

/// A row of the dashboard read model (the original's BillingAmountView), keyed by deal id,
/// joined with the member's current status when read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardRow {
    pub id: DealId,
    pub member_id: MemberId,
    pub merchant_id: MerchantId,
    #[serde(with = "rfc3339")]
    pub deal_date: Millis,
    #[serde(rename = "type")]
    pub deal_type: DealType,
    pub point: Points,
    pub status: DealStatus,
    pub billing_status: BillingStatus,
    pub balance: Points,
    pub member_status: MemberStatus,
}

/// The earn rate and commission in force (config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    pub earn: BasisPoints,
    pub commission: BasisPoints,
}

impl Default for Rates {
    fn default() -> Rates {
        Rates {
            earn: BasisPoints(100),
            commission: BasisPoints(200),
        }
    }
}

/// The core's settings from the config: the rates, the business time zone that decides
/// settlement months, and the store's cache. Built once by the composition root and handed
/// down.
#[derive(Debug, Clone, Copy)]
pub struct CoreSettings {
    pub rates: Rates,
    pub zone: chrono::FixedOffset,
    /// sled's page cache, bytes: bounds the memory an open store keeps.
    pub cache_bytes: u64,
}

/// The store's cache unless the config or `--cache-mb` says otherwise.
pub const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

impl Default for CoreSettings {
    fn default() -> CoreSettings {
        CoreSettings {
            rates: Rates::default(),
            zone: chrono::FixedOffset::east_opt(0).expect("UTC"),
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}
