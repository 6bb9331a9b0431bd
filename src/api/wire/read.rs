//! Reading bodies back into domain records, leniently enough for both our server and the
//! original services: ids from the body or from `_links.self.href`, `mercharntId`, numbers
//! as doubles or strings, dates as RFC 3339 or Jackson's `...123+0000`, nulls where the
//! original left fields unset (a cancel re-read shows no status: it was a success).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{Error, Result};
use crate::domain::calendar::parse_datetime;
use crate::domain::{
    Balance, Billing, BillingId, BillingStatus, DashboardRow, Deal, DealId, DealStatus, DealType,
    MemberId, MemberStatus, MemberView, MerchantId, Millis, Month, Points, Withdrawal,
};

fn unreadable(what: &str, why: impl std::fmt::Display) -> Error {
    Error::Unavailable {
        message: format!("the server sent an unreadable {what}: {why}"),
    }
}

/// A record of ours, read strictly (extension endpoints only our server offers).
pub fn strict<T: DeserializeOwned>(what: &str, v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| unreadable(what, e))
}

/// The items of a HAL collection (`_embedded.<any rel>`), or of a plain JSON array.
pub fn items(v: &Value) -> Vec<Value> {
    if let Value::Array(a) = v {
        return a.clone();
    }
    v.get("_embedded")
        .and_then(Value::as_object)
        .and_then(|m| m.values().find_map(Value::as_array))
        .cloned()
        .unwrap_or_default()
}

/// The id in the last segment of `_links.self.href` (`http://host/members/1` -> 1).
pub fn href_id(v: &Value) -> Option<u64> {
    let href = v.pointer("/_links/self/href")?.as_str()?;
    let last = href.split(['?', '{']).next()?.trim_end_matches('/');
    last.rsplit('/').next()?.parse().ok()
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn uint(v: &Value, keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|k| {
        let x = v.get(*k)?;
        match x {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                    .map(|f| f as u64)
            }),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    })
}

/// An id from the body, else from the self link.
fn id(v: &Value, keys: &[&str], what: &str) -> Result<u64> {
    uint(v, keys)
        .or_else(|| href_id(v))
        .ok_or_else(|| unreadable(what, "no id in the body or its self link"))
}

fn text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
}

fn points(v: &Value, key: &str, what: &str) -> Result<Points> {
    match v.get(key).and_then(num) {
        None => Ok(Points::ZERO),
        Some(f) => Points::from_f64(key, f).map_err(|e| unreadable(what, e)),
    }
}

fn date(v: &Value, key: &str) -> Option<Millis> {
    match v.get(key)? {
        Value::String(s) => parse_datetime(key, s).ok(),
        // The original's events carry dates as epoch milliseconds.
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn member_status(v: &Value, key: &str) -> MemberStatus {
    match text(v, &[key]).as_deref() {
        Some("invalid") => MemberStatus::Invalid,
        _ => MemberStatus::Valid,
    }
}

pub fn member(v: &Value) -> Result<MemberView> {
    Ok(MemberView {
        member_id: MemberId(id(v, &["memberId"], "member")?),
        name: text(v, &["name"]).unwrap_or_default(),
        phone: text(v, &["phone"]),
        address: text(v, &["address", "addess"]),
        status: member_status(v, "status"),
        point: points(v, "point", "member")?,
        joined_at: date(v, "joinedAt").unwrap_or(0),
        last_activity: date(v, "lastActivity"),
    })
}

pub fn withdrawal(v: &Value) -> Result<Withdrawal> {
    Ok(Withdrawal {
        member: member(v)?,
        forfeited: points(v, "forfeited", "withdrawal")?,
    })
}

pub fn deal(v: &Value) -> Result<Deal> {
    let ty = text(v, &["type"]).unwrap_or_default();
    let deal_type = DealType::parse("type", &ty).map_err(|e| unreadable("deal", e))?;
    let status = match text(v, &["status"]).as_deref() {
        Some("fail") => DealStatus::Fail,
        _ => DealStatus::Success,
    };
    let billing_status = match text(v, &["billingStatus"]).as_deref() {
        Some("yes") => BillingStatus::Yes,
        _ => BillingStatus::No,
    };
    Ok(Deal {
        id: DealId(id(v, &["id"], "deal")?),
        member_id: MemberId(uint(v, &["memberId"]).unwrap_or(0)),
        merchant_id: MerchantId(uint(v, &["merchantId", "mercharntId"]).unwrap_or(0)),
        deal_type,
        deal_amount: uint(v, &["dealAmount"]).unwrap_or(0),
        point: points(v, "point", "deal")?,
        status,
        billing_status,
        billing_id: uint(v, &["billingId"]).map(BillingId),
        original_deal_id: uint(v, &["originalDealId"]).map(DealId),
        reason: text(v, &["reason"]),
        deal_date: date(v, "dealDate").unwrap_or(0),
        balance: points(v, "balance", "deal")?,
        cancelled_by: uint(v, &["cancelledBy"]).map(DealId),
    })
}

fn month(v: &Value) -> Result<Month> {
    let t = match v.get("billingMonth") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    Month::parse("billingMonth", &t).map_err(|e| unreadable("billing", e))
}

pub fn billing(v: &Value) -> Result<Billing> {
    Ok(Billing {
        id: BillingId(id(v, &["id"], "billing")?),
        merchant_id: MerchantId(uint(v, &["merchantId", "mercharntId"]).unwrap_or(0)),
        billing_month: month(v)?,
        billing_amount: points(v, "billingAmount", "billing")?,
        deal_count: uint(v, &["dealCount"]).unwrap_or(0),
        net_points: points(v, "netPoints", "billing")?,
        // The original settled at a fixed 2%.
        commission_bp: uint(v, &["commissionBp"]).unwrap_or(200) as u32,
        created_at: date(v, "createdAt").unwrap_or(0),
    })
}

pub fn balance(v: &Value) -> Result<Balance> {
    Ok(Balance {
        member_id: MemberId(id(v, &["memberId"], "balance")?),
        point: points(v, "point", "balance")?,
    })
}

pub fn dashboard_row(v: &Value) -> Result<DashboardRow> {
    Ok(super::dashboard_row(
        &deal(v)?,
        member_status(v, "memberStatus"),
    ))
}

/// Reads every item of a collection; items this console cannot represent (the original
/// stored deals of unknown types such as `"cancel"`) are left out, not fatal.
pub fn all<T>(v: &Value, read: fn(&Value) -> Result<T>) -> Vec<T> {
    items(v).iter().filter_map(|i| read(i).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn original_deal_takes_its_id_from_the_self_link() {
        let v = json!({"memberId":1,"merchantId":20,"dealDate":"2020-07-13T05:20:11.123+0000",
            "point":1000.0,"type":"save","dealAmount":100000.0,"status":"success",
            "billingStatus":"no","_links":{"self":{"href":"http://localhost:8085/deals/1"}}});
        let d = deal(&v).unwrap();
        assert_eq!(d.id, DealId(1));
        assert_eq!(d.point, Points(100_000));
        assert_eq!(d.deal_amount, 100_000);
        assert_eq!(d.deal_date, 1_594_617_611_123);
    }

    #[test]
    fn original_billing_reads_the_misspelt_merchant() {
        let v = json!({"mercharntId":20,"billingAmount":490.0,"billingMonth":"202007",
            "_links":{"self":{"href":"http://localhost:8084/billings/1"}}});
        let b = billing(&v).unwrap();
        assert_eq!((b.id, b.merchant_id), (BillingId(1), MerchantId(20)));
        assert_eq!(b.billing_amount, Points(49_000));
    }

    #[test]
    fn java_big_doubles_read() {
        let v = json!({"point":1.0E7,"_links":{"self":{"href":"http://h/points/0002"}}});
        let b = balance(&v).unwrap();
        assert_eq!((b.member_id, b.point), (MemberId(2), Points(1_000_000_000)));
    }
}
