//! The event log's records (SPEC 3): `offset` (gap-free from 1), `eventType`, `timestamp`
//! (RFC 3339 UTC) and the fields of each type, camelCase as in the original services.

use serde::{Deserialize, Serialize};

use super::calendar::{Millis, Month, rfc3339};
use super::ids::{BillingId, DealId, MemberId, MerchantId};
use super::model::{Deal, DealStatus, DealType, MemberStatus};
use super::money::Points;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub offset: u64,
    #[serde(with = "rfc3339")]
    pub timestamp: Millis,
    #[serde(flatten)]
    pub body: EventBody,
}

/// The deal fields every deal event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DealEvent {
    pub id: DealId,
    pub member_id: MemberId,
    pub merchant_id: MerchantId,
    #[serde(with = "rfc3339")]
    pub deal_date: Millis,
    #[serde(rename = "type")]
    pub deal_type: DealType,
    pub deal_amount: u64,
    pub point: Points,
    pub status: DealStatus,
    pub balance: Points,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_deal_id: Option<DealId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl From<&Deal> for DealEvent {
    fn from(d: &Deal) -> DealEvent {
        DealEvent {
            id: d.id,
            member_id: d.member_id,
            merchant_id: d.merchant_id,
            deal_date: d.deal_date,
            deal_type: d.deal_type,
            deal_amount: d.deal_amount,
            point: d.point,
            status: d.status,
            balance: d.balance,
            original_deal_id: d.original_deal_id,
            reason: d.reason.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "eventType")]
pub enum EventBody {
    #[serde(rename_all = "camelCase")]
    MemberCreated {
        member_id: MemberId,
        name: String,
        status: MemberStatus,
    },
    #[serde(rename_all = "camelCase")]
    MemberSecession {
        member_id: MemberId,
        status: MemberStatus,
    },
    #[serde(rename_all = "camelCase")]
    PointCreated {
        member_id: MemberId,
    },
    #[serde(rename_all = "camelCase")]
    PointDisappeared {
        member_id: MemberId,
        point: Points,
    },
    SaveDealt(DealEvent),
    UseRequested(DealEvent),
    UseRejected(DealEvent),
    SavedDealCancelled(DealEvent),
    UsedDealCancelled(DealEvent),
    #[serde(rename_all = "camelCase")]
    Billed {
        id: BillingId,
        merchant_id: MerchantId,
        billing_month: Month,
        billing_amount: Points,
        deal_count: u64,
    },
    #[serde(rename_all = "camelCase")]
    MerchantRegistered {
        merchant_id: MerchantId,
        name: String,
        earn_rate_bp: u32,
    },
}

impl EventBody {
    pub const TYPES: [&'static str; 11] = [
        "MemberCreated",
        "MemberSecession",
        "PointCreated",
        "PointDisappeared",
        "SaveDealt",
        "UseRequested",
        "UseRejected",
        "SavedDealCancelled",
        "UsedDealCancelled",
        "Billed",
        "MerchantRegistered",
    ];

    pub fn event_type(&self) -> &'static str {
        match self {
            EventBody::MemberCreated { .. } => "MemberCreated",
            EventBody::MemberSecession { .. } => "MemberSecession",
            EventBody::PointCreated { .. } => "PointCreated",
            EventBody::PointDisappeared { .. } => "PointDisappeared",
            EventBody::SaveDealt(_) => "SaveDealt",
            EventBody::UseRequested(_) => "UseRequested",
            EventBody::UseRejected(_) => "UseRejected",
            EventBody::SavedDealCancelled(_) => "SavedDealCancelled",
            EventBody::UsedDealCancelled(_) => "UsedDealCancelled",
            EventBody::Billed { .. } => "Billed",
            EventBody::MerchantRegistered { .. } => "MerchantRegistered",
        }
    }

    /// The deal fields, for the five deal events.
    pub fn deal(&self) -> Option<&DealEvent> {
        match self {
            EventBody::SaveDealt(d)
            | EventBody::UseRequested(d)
            | EventBody::UseRejected(d)
            | EventBody::SavedDealCancelled(d)
            | EventBody::UsedDealCancelled(d) => Some(d),
            _ => None,
        }
    }

    /// The member an event concerns, for filtering the feed.
    pub fn member_id(&self) -> Option<MemberId> {
        if let Some(d) = self.deal() {
            return Some(d.member_id);
        }
        match self {
            EventBody::MemberCreated { member_id, .. }
            | EventBody::MemberSecession { member_id, .. }
            | EventBody::PointCreated { member_id }
            | EventBody::PointDisappeared { member_id, .. } => Some(*member_id),
            _ => None,
        }
    }

    /// The deal event for a recorded deal.
    pub fn for_deal(d: &Deal) -> EventBody {
        let e = DealEvent::from(d);
        match (d.deal_type, d.status) {
            (DealType::Save, _) => EventBody::SaveDealt(e),
            (DealType::Use, DealStatus::Success) => EventBody::UseRequested(e),
            (DealType::Use, DealStatus::Fail) => EventBody::UseRejected(e),
            (DealType::SaveCancel, _) => EventBody::SavedDealCancelled(e),
            (DealType::UseCancel, _) => EventBody::UsedDealCancelled(e),
        }
    }

    /// A one-line summary for the feed.
    pub fn summary(&self) -> String {
        match self {
            EventBody::MemberCreated {
                member_id, name, ..
            } => format!("member {member_id} joined: {name}"),
            EventBody::MemberSecession { member_id, .. } => format!("member {member_id} withdrew"),
            EventBody::PointCreated { member_id } => {
                format!("point account opened for member {member_id}")
            }
            EventBody::PointDisappeared { member_id, point } => {
                format!("member {member_id} forfeited {point} points")
            }
            EventBody::SaveDealt(d)
            | EventBody::UseRequested(d)
            | EventBody::UseRejected(d)
            | EventBody::SavedDealCancelled(d)
            | EventBody::UsedDealCancelled(d) => {
                let mut s = format!(
                    "deal {} {} member {} merchant {} {} pts -> balance {}",
                    d.id,
                    d.deal_type.as_str(),
                    d.member_id,
                    d.merchant_id,
                    d.point,
                    d.balance
                );
                if let Some(r) = &d.reason {
                    s.push_str(&format!(" ({r})"));
                }
                s
            }
            EventBody::Billed {
                id,
                merchant_id,
                billing_month,
                billing_amount,
                deal_count,
            } => format!(
                "billing {id}: merchant {merchant_id} {billing_month} {billing_amount} ({deal_count} deals)"
            ),
            EventBody::MerchantRegistered {
                merchant_id, name, ..
            } => format!("merchant {merchant_id} registered: {name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_flat_with_event_type_and_camel_case() {
        let e = Event {
            offset: 7,
            timestamp: 0,
            body: EventBody::PointDisappeared {
                member_id: MemberId(2),
                point: Points(60_000),
            },
        };
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"offset":7,"timestamp":"1970-01-01T00:00:00Z",
                "eventType":"PointDisappeared","memberId":2,"point":600.0})
        );
        let back: Event = serde_json::from_value(j).unwrap();
        assert_eq!(back, e);
    }
}
