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

/// The first byte of a stored event in the binary form (schema 3); the JSON form of
/// schema 2 and before starts with `{`.
const STORED_V1: u8 = 1;

/// An event as the store keeps it (postcard after `STORED_V1`). A deal event keeps only
/// its deal's id: the deal record holds every field the event carries, and none of them
/// changes once the deal is recorded (a later cancel or billing touches only
/// `cancelledBy` and the billing fields, which no event carries).
#[derive(Serialize, Deserialize)]
enum Stored {
    MemberCreated {
        at: Millis,
        member_id: MemberId,
        name: String,
        status: MemberStatus,
    },
    MemberSecession {
        at: Millis,
        member_id: MemberId,
        status: MemberStatus,
    },
    PointCreated {
        at: Millis,
        member_id: MemberId,
    },
    PointDisappeared {
        at: Millis,
        member_id: MemberId,
        point: Points,
    },
    /// `late`: the event's time minus the deal's date (0 unless the deal was dated).
    Deal {
        deal: DealId,
        late: Millis,
    },
    Billed {
        at: Millis,
        id: BillingId,
        merchant_id: MerchantId,
        billing_month: Month,
        billing_amount: Points,
        deal_count: u64,
    },
    MerchantRegistered {
        at: Millis,
        merchant_id: MerchantId,
        name: String,
        earn_rate_bp: u32,
    },
}

impl Event {
    /// The stored form (see `Stored`): a format byte, then postcard.
    pub fn encode_stored(&self) -> Vec<u8> {
        let at = self.timestamp;
        let stored = match &self.body {
            EventBody::MemberCreated {
                member_id,
                name,
                status,
            } => Stored::MemberCreated {
                at,
                member_id: *member_id,
                name: name.clone(),
                status: *status,
            },
            EventBody::MemberSecession { member_id, status } => Stored::MemberSecession {
                at,
                member_id: *member_id,
                status: *status,
            },
            EventBody::PointCreated { member_id } => Stored::PointCreated {
                at,
                member_id: *member_id,
            },
            EventBody::PointDisappeared { member_id, point } => Stored::PointDisappeared {
                at,
                member_id: *member_id,
                point: *point,
            },
            EventBody::SaveDealt(d)
            | EventBody::UseRequested(d)
            | EventBody::UseRejected(d)
            | EventBody::SavedDealCancelled(d)
            | EventBody::UsedDealCancelled(d) => Stored::Deal {
                deal: d.id,
                late: at.wrapping_sub(d.deal_date),
            },
            EventBody::Billed {
                id,
                merchant_id,
                billing_month,
                billing_amount,
                deal_count,
            } => Stored::Billed {
                at,
                id: *id,
                merchant_id: *merchant_id,
                billing_month: *billing_month,
                billing_amount: *billing_amount,
                deal_count: *deal_count,
            },
            EventBody::MerchantRegistered {
                merchant_id,
                name,
                earn_rate_bp,
            } => Stored::MerchantRegistered {
                at,
                merchant_id: *merchant_id,
                name: name.clone(),
                earn_rate_bp: *earn_rate_bp,
            },
        };
        let mut out = vec![STORED_V1];
        out.extend(postcard::to_stdvec(&stored).expect("events always encode"));
        out
    }

    /// Reads a stored event back (either form), fetching a deal event's deal through
    /// `deal_of`. An unreadable record is an error naming the offset.
    pub fn decode_stored(
        offset: u64,
        bytes: &[u8],
        deal_of: impl FnOnce(DealId) -> super::error::Result<Deal>,
    ) -> super::error::Result<Event> {
        let corrupt = |e: &dyn std::fmt::Display| {
            super::error::Error::store(format!("corrupt event {offset}: {e}"))
        };
        match bytes.first() {
            Some(b'{') => {
                let ev: Event = serde_json::from_slice(bytes).map_err(|e| corrupt(&e))?;
                return Ok(ev);
            }
            Some(&STORED_V1) => {}
            _ => return Err(corrupt(&"unknown format")),
        }
        let stored: Stored = postcard::from_bytes(&bytes[1..]).map_err(|e| corrupt(&e))?;
        let (timestamp, body) = match stored {
            Stored::MemberCreated {
                at,
                member_id,
                name,
                status,
            } => (
                at,
                EventBody::MemberCreated {
                    member_id,
                    name,
                    status,
                },
            ),
            Stored::MemberSecession {
                at,
                member_id,
                status,
            } => (at, EventBody::MemberSecession { member_id, status }),
            Stored::PointCreated { at, member_id } => (at, EventBody::PointCreated { member_id }),
            Stored::PointDisappeared {
                at,
                member_id,
                point,
            } => (at, EventBody::PointDisappeared { member_id, point }),
            Stored::Deal { deal, late } => {
                let d = deal_of(deal)?;
                (d.deal_date.wrapping_add(late), EventBody::for_deal(&d))
            }
            Stored::Billed {
                at,
                id,
                merchant_id,
                billing_month,
                billing_amount,
                deal_count,
            } => (
                at,
                EventBody::Billed {
                    id,
                    merchant_id,
                    billing_month,
                    billing_amount,
                    deal_count,
                },
            ),
            Stored::MerchantRegistered {
                at,
                merchant_id,
                name,
                earn_rate_bp,
            } => (
                at,
                EventBody::MerchantRegistered {
                    merchant_id,
                    name,
                    earn_rate_bp,
                },
            ),
        };
        Ok(Event {
            offset,
            timestamp,
            body,
        })
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

    /// Every kind of event reads back from its stored form as it was written, deal events
    /// from their deal; the JSON form of older stores still reads.
    #[test]
    fn stored_events_round_trip_and_deal_events_point_at_their_deal() {
        use crate::domain::model::{BillingStatus, DealType};
        let deal = Deal {
            id: DealId(42),
            member_id: MemberId(7),
            merchant_id: MerchantId(3),
            deal_type: DealType::Use,
            deal_amount: 0,
            point: Points(12_345),
            status: DealStatus::Fail,
            billing_status: BillingStatus::No,
            billing_id: None,
            original_deal_id: None,
            reason: Some("insufficient points".into()),
            deal_date: 1_700_000_000_000,
            balance: Points(100),
            cancelled_by: None,
        };
        let bodies = vec![
            EventBody::MemberCreated {
                member_id: MemberId(7),
                name: "Ann".into(),
                status: MemberStatus::Valid,
            },
            EventBody::MemberSecession {
                member_id: MemberId(7),
                status: MemberStatus::Invalid,
            },
            EventBody::PointCreated {
                member_id: MemberId(7),
            },
            EventBody::PointDisappeared {
                member_id: MemberId(7),
                point: Points(10_i64.pow(15)),
            },
            EventBody::for_deal(&deal),
            EventBody::Billed {
                id: BillingId(2),
                merchant_id: MerchantId(3),
                billing_month: Month::from_code(202_405),
                billing_amount: Points(-5),
                deal_count: 9,
            },
            EventBody::MerchantRegistered {
                merchant_id: MerchantId(3),
                name: "Cafe".into(),
                earn_rate_bp: 150,
            },
        ];
        for (i, body) in bodies.into_iter().enumerate() {
            let ev = Event {
                offset: i as u64 + 1,
                timestamp: 1_700_000_000_500,
                body,
            };
            let stored = ev.encode_stored();
            let lookup = |id: DealId| {
                assert_eq!(id, deal.id);
                Ok(deal.clone())
            };
            let back = Event::decode_stored(ev.offset, &stored, lookup).unwrap();
            assert_eq!(back, ev);
            let json = serde_json::to_vec(&ev).unwrap();
            assert_eq!(Event::decode_stored(ev.offset, &json, lookup).unwrap(), ev);
        }
        // A deal event holds its deal's id and a time, not a copy of the deal.
        let ev = Event {
            offset: 5,
            timestamp: deal.deal_date,
            body: EventBody::for_deal(&deal),
        };
        assert!(ev.encode_stored().len() <= 4, "{:?}", ev.encode_stored());
        let err = Event::decode_stored(5, &[9, 9], |_| Ok(deal.clone())).unwrap_err();
        assert!(err.to_string().contains("corrupt event 5"), "{err}");
    }
}
