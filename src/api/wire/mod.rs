//! The JSON of the HTTP API, shared by the server and the remote adapter. Request bodies are
//! read leniently, as the original services read them (numeric strings, `addess`,
//! `mercharntId`, doubles for amounts), into the domain's drafts: the domain parsers stay
//! the only validators. Submodules: `hal` (bodies the server writes), `read` (bodies the
//! adapter reads, ours and the original's), `fault` (Spring-shaped error bodies).

pub mod fault;
pub mod hal;
pub mod read;

use serde_json::{Map, Number, Value, json};

use crate::api::Error;
use crate::domain::calendar::format_rfc3339;
use crate::domain::{
    BillingRequest, CancelKind, Command, DashboardRow, Deal, DealDraft, DealRequest, DealType,
    FieldError, FieldErrors, MemberDraft, MemberId, MemberStatus, MerchantDraft, NewMember,
    NewMerchant,
};

/// The most writes one `POST /batch` may carry: the server refuses more, and the remote
/// adapter sends a larger batch as several requests.
pub const MAX_BATCH: usize = 1000;

/// The write a resource's POST body (or a `/batch` item of that `op`) asks for, parsed by
/// the domain's one validator for it: `join`, `withdraw` (`{memberId}`), `merchant`,
/// `deal`, `billing`.
pub fn command(op: &str, obj: &Map<String, Value>) -> Result<Command, Error> {
    Ok(match op {
        "join" => Command::Join(new_member(obj)?),
        "withdraw" => {
            let mut errs = FieldErrors::default();
            let id = field_text(obj, &["memberId"], "memberId", Kind::Number, &mut errs);
            match id {
                Some(id) if errs.is_empty() => Command::Withdraw(MemberId::parse("memberId", &id)?),
                _ => return Err(errs.into()),
            }
        }
        "merchant" => Command::AddMerchant(new_merchant(obj)?),
        "deal" => Command::Deal(deal_request(obj)?),
        "billing" => Command::Bill(billing_request(obj)?),
        _ => {
            return Err(Error::invalid(
                "op",
                "must be one of join, withdraw, merchant, deal, billing",
            ));
        }
    })
}

/// The dashboard row of a deal, with its member's current status.
pub fn dashboard_row(d: &Deal, member_status: MemberStatus) -> DashboardRow {
    crate::domain::dashboard::row_of(d, member_status)
}

/// A JSON object body, or a 400 naming the body and what is wrong with it.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid("body", "is required (a JSON object)"));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::invalid("body", "must be a JSON object")),
        Err(e) if e.is_eof() => Err(Error::invalid(
            "body",
            &format!(
                "is truncated JSON (ends at line {} column {})",
                e.line(),
                e.column()
            ),
        )),
        Err(e) => Err(Error::invalid("body", &format!("must be valid JSON ({e})"))),
    }
}

/// A JSON number as the text a person would type: integers as digits, doubles with a zero
/// fraction as digits (`100000.0` -> `100000`, as the original's clients send amounts), other
/// doubles as their shortest decimal text (`1.234`, which the points parser then refuses).
pub fn number_text(n: &Number) -> String {
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    match n.as_f64() {
        Some(f) => format!("{f}"),
        None => n.to_string(),
    }
}

/// Which JSON types a field accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A number or a numeric string.
    Number,
    /// A string (numbers accepted and turned into text).
    Text,
}

/// The text of the first of `names` present and not null ("" when absent), or the field
/// error for a wrong JSON type, recorded in `errs` under `field`.
fn field_text(
    obj: &Map<String, Value>,
    names: &[&str],
    field: &str,
    kind: Kind,
    errs: &mut FieldErrors,
) -> Option<String> {
    let v = names
        .iter()
        .filter_map(|n| obj.get(*n))
        .find(|v| !v.is_null());
    match v {
        None => Some(String::new()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(number_text(n)),
        Some(_) => {
            let rule = match kind {
                Kind::Number => "must be a number or a numeric string",
                Kind::Text => "must be a string",
            };
            errs.push(FieldError::new(field, rule));
            None
        }
    }
}

fn opt(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.is_empty())
}

/// `POST /members`: `{name, phone?, address? | addess?}`.
pub fn member_draft(obj: &Map<String, Value>) -> Result<MemberDraft, FieldErrors> {
    let mut errs = FieldErrors::default();
    let name = field_text(obj, &["name"], "name", Kind::Text, &mut errs);
    let phone = field_text(obj, &["phone"], "phone", Kind::Text, &mut errs);
    let address = field_text(
        obj,
        &["address", "addess"],
        "address",
        Kind::Text,
        &mut errs,
    );
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(MemberDraft {
        name: name.unwrap_or_default(),
        phone: opt(phone),
        address: opt(address),
    })
}

/// `POST /members` parsed by the domain's one validator.
pub fn new_member(obj: &Map<String, Value>) -> Result<NewMember, Error> {
    Ok(NewMember::parse(&member_draft(obj)?)?)
}

/// `POST /deals`: `{type, memberId, merchantId | mercharntId, dealAmount, point,
/// originalDealId, dealDate}`, every number also as a string.
pub fn deal_draft(obj: &Map<String, Value>) -> Result<DealDraft, FieldErrors> {
    let mut errs = FieldErrors::default();
    let mut t = |names: &[&str], field: &str, kind: Kind| {
        field_text(obj, names, field, kind, &mut errs).unwrap_or_default()
    };
    let d = DealDraft {
        kind: t(&["type"], "type", Kind::Text),
        member: t(&["memberId"], "memberId", Kind::Number),
        merchant: t(&["merchantId", "mercharntId"], "merchantId", Kind::Number),
        amount: t(&["dealAmount"], "dealAmount", Kind::Number),
        points: t(&["point"], "point", Kind::Number),
        original: t(&["originalDealId"], "originalDealId", Kind::Number),
        date: t(&["dealDate"], "dealDate", Kind::Text),
    };
    if errs.is_empty() { Ok(d) } else { Err(errs) }
}

pub fn deal_request(obj: &Map<String, Value>) -> Result<DealRequest, Error> {
    let mut d = deal_draft(obj)?;
    // A cancel names its original; the original services' clients also sent the point and
    // amount of the original, which our core takes from the original itself.
    if matches!(d.kind.trim(), "cancel" | "saveCancel" | "useCancel") {
        d.points.clear();
        d.amount.clear();
    }
    Ok(DealRequest::parse(&d)?)
}

/// `POST /billings`: `{merchantId | mercharntId, billingMonth}`.
pub fn billing_request(obj: &Map<String, Value>) -> Result<BillingRequest, Error> {
    let mut errs = FieldErrors::default();
    let m = field_text(
        obj,
        &["merchantId", "mercharntId"],
        "merchantId",
        Kind::Number,
        &mut errs,
    );
    let month = field_text(
        obj,
        &["billingMonth"],
        "billingMonth",
        Kind::Number,
        &mut errs,
    );
    match (m, month) {
        (Some(m), Some(month)) if errs.is_empty() => Ok(BillingRequest::parse(&m, &month)?),
        _ => Err(errs.into()),
    }
}

/// `POST /merchants` (extension): `{merchantId | id, name, earnRate?}` (earnRate in percent).
pub fn new_merchant(obj: &Map<String, Value>) -> Result<NewMerchant, Error> {
    let mut errs = FieldErrors::default();
    let id = field_text(
        obj,
        &["merchantId", "id"],
        "merchantId",
        Kind::Number,
        &mut errs,
    );
    let name = field_text(obj, &["name"], "name", Kind::Text, &mut errs);
    let rate = field_text(obj, &["earnRate"], "earnRate", Kind::Number, &mut errs);
    match (id, name, rate) {
        (Some(id), Some(name), Some(rate)) if errs.is_empty() => {
            Ok(NewMerchant::parse(&MerchantDraft {
                id,
                name,
                earn_rate: opt(Some(rate)),
            })?)
        }
        _ => Err(errs.into()),
    }
}

// ---- bodies the remote adapter sends ----

/// The join body. Both spellings of the address go out: our server reads `address`, the
/// original reads only its misspelt `addess`.
pub fn member_body(m: &NewMember) -> Value {
    json!({"name": m.name, "phone": m.phone, "address": m.address, "addess": m.address})
}

/// The deal body for our server. Points go as exact text (`"123.45"`), never a double.
pub fn deal_body(d: &DealRequest) -> Value {
    let mut v = match d {
        DealRequest::Save {
            member,
            merchant,
            amount,
            ..
        } => json!({"type": "save", "memberId": member.0, "merchantId": merchant.0,
            "dealAmount": amount.0}),
        DealRequest::Use {
            member,
            merchant,
            points,
            amount,
            ..
        } => json!({"type": "use", "memberId": member.0, "merchantId": merchant.0,
            "point": points.to_string(), "dealAmount": amount.map(|a| a.0)}),
        DealRequest::Cancel { original, kind, .. } => {
            json!({"type": cancel_type(*kind), "originalDealId": original.0})
        }
    };
    if let Some(date) = d.date() {
        v["dealDate"] = Value::String(format_rfc3339(date));
    }
    v
}

pub fn cancel_type(kind: CancelKind) -> &'static str {
    match kind {
        CancelKind::Any => "cancel",
        CancelKind::Exactly(t) => t.as_str(),
    }
}

/// Whether a deal request is a use cancel (the kind the outbox may hold).
pub fn is_use_cancel(d: &DealRequest) -> bool {
    matches!(
        d,
        DealRequest::Cancel {
            kind: CancelKind::Exactly(DealType::UseCancel),
            ..
        }
    )
}

pub fn billing_body(b: &BillingRequest) -> Value {
    json!({"merchantId": b.merchant.0, "mercharntId": b.merchant.0,
        "billingMonth": b.month.to_string()})
}

pub fn merchant_body(m: &NewMerchant) -> Value {
    let rate = m
        .earn_rate
        .map(|bp| format!("{}.{:02}", bp.0 / 100, bp.0 % 100));
    json!({"merchantId": m.id.0, "name": m.name, "earnRate": rate})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Amount, MemberId, MerchantId, Points};

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn original_save_request_with_strings_parses() {
        let r = deal_request(&obj(json!({"memberId":"0001","merchantId":"20",
            "dealAmount":"100000","type":"save"})))
        .unwrap();
        assert_eq!(
            r,
            DealRequest::Save {
                member: MemberId(1),
                merchant: MerchantId(20),
                amount: Amount(100_000),
                date: None
            }
        );
    }

    #[test]
    fn double_amount_with_zero_fraction_is_whole() {
        let r = deal_request(&obj(json!({"memberId":1,"merchantId":20,
            "dealAmount":100000.0,"type":"save"})))
        .unwrap();
        assert!(matches!(
            r,
            DealRequest::Save {
                amount: Amount(100_000),
                ..
            }
        ));
    }

    #[test]
    fn three_decimal_points_double_is_refused_by_the_parser() {
        let e = deal_request(&obj(json!({"memberId":1,"merchantId":20,
            "point":1.234,"type":"use"})))
        .unwrap_err();
        let Error::Domain(crate::domain::Error::Invalid { errors }) = e else {
            panic!("{e:?}")
        };
        assert_eq!(
            errors.get("point").unwrap().rule,
            "may have at most two decimals"
        );
    }

    #[test]
    fn wrong_json_type_names_the_field() {
        let e = deal_request(&obj(json!({"memberId":{"a":1},"merchantId":20,
            "point":"1","type":"use"})))
        .unwrap_err();
        let Error::Domain(crate::domain::Error::Invalid { errors }) = e else {
            panic!("{e:?}")
        };
        assert_eq!(
            errors.get("memberId").unwrap().rule,
            "must be a number or a numeric string"
        );
    }

    #[test]
    fn misspelt_original_fields_are_read() {
        let m = new_member(&obj(json!({"name":"안서연","addess":"용인"}))).unwrap();
        assert_eq!(m.address.as_deref(), Some("용인"));
        let b = billing_request(&obj(json!({"mercharntId":"20","billingMonth":"202007"}))).unwrap();
        assert_eq!(b.merchant, MerchantId(20));
        assert_eq!(b.month.to_string(), "202007");
    }

    #[test]
    fn malformed_and_truncated_bodies_name_the_body() {
        for (bytes, rule) in [
            (&b"{\"name\": "[..], "truncated"),
            (&b"{name: 1}"[..], "valid JSON"),
            (&b"[1,2]"[..], "JSON object"),
            (&b""[..], "required"),
        ] {
            let Err(Error::Domain(crate::domain::Error::Invalid { errors })) = parse_object(bytes)
            else {
                panic!("accepted {bytes:?}")
            };
            assert!(errors.get("body").unwrap().rule.contains(rule), "{errors}");
        }
    }

    #[test]
    fn deal_body_round_trips_through_the_server_reader() {
        let d = DealRequest::Use {
            member: MemberId(3),
            merchant: MerchantId(7),
            points: Points(12345),
            amount: None,
            date: Some(1_790_000_000_000),
        };
        let back = deal_request(&obj(deal_body(&d))).unwrap();
        assert_eq!(back, d);
    }
}
