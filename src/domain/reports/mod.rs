//! Staff analysis across the whole membership (issue 11): the liability roll-forward,
//! activity over time, recency/frequency/monetary segments, dormant members and anomalies.
//! Every report reads the counters the write path keeps (`counters.rs`), never the deals;
//! segmentation reads one small record per member and is cached until the data moves.

pub mod compute;
pub mod counters;
pub mod query;
pub mod segments;
pub mod snapshot;
pub mod tables;
pub mod verify;

use serde::{Deserialize, Serialize};

use super::calendar::{Millis, Month};
use super::ids::{DealId, MemberId, MerchantId};
use super::money::Points;

pub use query::{Grain, ReportKind, ReportQuery};
pub use segments::Cache;

/// One month of the roll-forward: opening + issued - redeemed - save-cancelled
/// + use-cancelled - forfeited = closing, exact in hundredths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiabilityRow {
    pub month: Month,
    pub opening: Points,
    pub issued: Points,
    pub redeemed: Points,
    pub save_cancelled: Points,
    pub use_cancelled: Points,
    pub forfeited: Points,
    pub closing: Points,
    /// Settlements of this billing month: net points billed, the amount after commission,
    /// the commission kept, and what useCancels of billed uses will claw back.
    pub billed_net: Points,
    pub billed: Points,
    pub commission: Points,
    pub clawbacks: Points,
}

/// One merchant's part of a month: points issued and redeemed, clawbacks, billed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantLiability {
    pub merchant_id: MerchantId,
    pub name: Option<String>,
    pub issued: Points,
    pub redeemed: Points,
    pub save_cancelled: Points,
    pub use_cancelled: Points,
    pub clawbacks: Points,
    pub billed: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiabilityReport {
    pub months: Vec<LiabilityRow>,
    /// The month the merchant rows are for.
    pub merchant_month: Option<Month>,
    pub merchants: Vec<MerchantLiability>,
    /// The sum of every balance now.
    pub outstanding: Points,
    /// The latest closing equals `outstanding`, and each closing the next opening.
    pub reconciled: bool,
    /// What the source could not give (a remote adapter over another system says so).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<Gap>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityRow {
    /// `2026-11-30` (day and week: the Monday), `202611` (month).
    pub period: String,
    pub saves: u64,
    pub uses: u64,
    pub failed_uses: u64,
    pub save_cancels: u64,
    pub use_cancels: u64,
    /// Failed uses over all uses tried, in basis points (10000 = 100%).
    pub failed_use_rate_bp: u32,
    pub earned: Points,
    pub used: Points,
    pub active_members: u64,
    pub new_members: u64,
    pub withdrawals: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityReport {
    pub grain: Grain,
    pub rows: Vec<ActivityRow>,
    /// What the source could not give (a remote adapter over another system says so).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<Gap>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentRow {
    pub segment: String,
    pub rule: String,
    pub members: u64,
    pub points: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SegmentsReport {
    #[serde(with = "super::calendar::rfc3339")]
    pub as_of: Millis,
    pub dormant_days: u32,
    /// The 80th percentiles that make a frequency (deals) and a spend "high".
    pub high_frequency: u64,
    pub high_spend: u64,
    pub rows: Vec<SegmentRow>,
    /// What the source could not give (a remote adapter over another system says so).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<Gap>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DormantMember {
    pub member_id: MemberId,
    pub name: String,
    pub points: Points,
    #[serde(default, with = "super::model::opt_rfc3339")]
    pub last_deal: Option<Millis>,
    pub idle_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DormantReport {
    pub days: u32,
    /// Every dormant member holding points, and what they hold.
    pub total_members: u64,
    pub total_points: Points,
    /// The largest holders first, at most `limit`.
    pub members: Vec<DormantMember>,
    /// What the source could not give (a remote adapter over another system says so).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<Gap>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberAnomaly {
    pub member_id: MemberId,
    pub name: String,
    pub cancels: u64,
    pub failed_uses: u64,
    pub failed_cancels: u64,
    /// The deals behind it, oldest first.
    pub deals: Vec<DealId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantAnomaly {
    pub merchant_id: MerchantId,
    pub name: Option<String>,
    pub uses: u64,
    pub redeemed: Points,
    pub clawback_count: u64,
    pub clawbacks: Points,
    /// Clawed-back points over redeemed points, basis points.
    pub ratio_bp: u32,
    pub deals: Vec<DealId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnomalyReport {
    /// The window, business days `from..=to`.
    pub from: String,
    pub to: String,
    pub min_cancels: u64,
    pub min_failed: u64,
    pub clawback_bp: u32,
    pub members: Vec<MemberAnomaly>,
    pub merchants: Vec<MerchantAnomaly>,
    /// What the source could not give (a remote adapter over another system says so).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<Gap>,
}

/// A part of a report its source cannot give, or gives only by inference, and why: the
/// original services keep no join dates, no cancel links, no business zone...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gap {
    /// The report's field (column) it concerns, e.g. `newMembers`.
    pub field: String,
    pub why: String,
}

impl Gap {
    pub fn new(field: &str, why: &str) -> Gap {
        Gap {
            field: field.into(),
            why: why.into(),
        }
    }
}

/// A member's running totals and segment, for the members export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberTotals {
    pub member_id: MemberId,
    pub earned: Points,
    pub used: Points,
    pub save_cancelled: Points,
    pub use_cancelled: Points,
    pub forfeited: Points,
    /// Every deal, failed ones included, and the failed ones.
    pub deals: u64,
    pub failed: u64,
    /// Successful saves and uses; spend behind successful saves (currency units).
    pub frequency: u64,
    pub spend: u64,
    /// The segment (see the segments report, 90 dormant days); empty once withdrawn.
    pub segment: String,
}

/// Any report, tagged by its kind (`{"report":"liability",...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "report", rename_all = "camelCase")]
pub enum Report {
    Liability(LiabilityReport),
    Activity(ActivityReport),
    Segments(SegmentsReport),
    Dormant(DormantReport),
    Anomalies(AnomalyReport),
}

impl Report {
    /// What the source could not give.
    pub fn gaps(&self) -> &[Gap] {
        match self {
            Report::Liability(r) => &r.gaps,
            Report::Activity(r) => &r.gaps,
            Report::Segments(r) => &r.gaps,
            Report::Dormant(r) => &r.gaps,
            Report::Anomalies(r) => &r.gaps,
        }
    }
    pub fn gaps_mut(&mut self) -> &mut Vec<Gap> {
        match self {
            Report::Liability(r) => &mut r.gaps,
            Report::Activity(r) => &mut r.gaps,
            Report::Segments(r) => &mut r.gaps,
            Report::Dormant(r) => &mut r.gaps,
            Report::Anomalies(r) => &mut r.gaps,
        }
    }
}
