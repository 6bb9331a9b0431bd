//! The HAL bodies the server writes: each item is our record (ids included, unlike the
//! original) plus the original's extra spellings (`addess`, `mercharntId`) and `_links`;
//! collections carry `_embedded.<rel>`, `_links` and a `page` block.

use serde::Serialize;
use serde_json::{Value, json};

use crate::domain::{Balance, Billing, DashboardRow, Deal, MemberView, Merchant, Withdrawal};

/// Adds `_links.self` and `_links.<rel>` (the same href, as Spring Data REST does).
fn with_links(mut v: Value, base: &str, coll: &str, rel: &str, id: u64) -> Value {
    let href = format!("{base}/{coll}/{id}");
    if let Value::Object(m) = &mut v {
        m.insert(
            "_links".into(),
            json!({"self": {"href": href}, rel: {"href": href}}),
        );
    }
    v
}

fn value<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

pub fn member(m: &MemberView, base: &str) -> Value {
    let mut v = value(m);
    v["addess"] = v["address"].clone();
    with_links(v, base, "members", "member", m.member_id.0)
}

pub fn withdrawal(w: &Withdrawal, base: &str) -> Value {
    let mut v = member(&w.member, base);
    v["forfeited"] = value(&w.forfeited);
    v
}

pub fn deal(d: &Deal, base: &str) -> Value {
    with_links(value(d), base, "deals", "deal", d.id.0)
}

pub fn billing(b: &Billing, base: &str) -> Value {
    let mut v = value(b);
    v["mercharntId"] = v["merchantId"].clone();
    with_links(v, base, "billings", "billing", b.id.0)
}

pub fn balance(b: &Balance, base: &str) -> Value {
    with_links(value(b), base, "points", "point", b.member_id.0)
}

pub fn dashboard_row(r: &DashboardRow, base: &str) -> Value {
    with_links(
        value(r),
        base,
        "billingAmountViews",
        "billingAmountView",
        r.id.0,
    )
}

pub fn merchant(m: &Merchant, base: &str) -> Value {
    with_links(value(m), base, "merchants", "merchant", m.merchant_id.0)
}

/// A collection page. `number` is the page asked for; pages continue by cursor as well
/// (`after` / `before` in the query), which the `next` link carries when the page is full.
/// `total` is the whole collection's size where the store knows it without counting (an
/// unfiltered list); then the block also carries Spring's `totalElements` and `totalPages`.
pub fn collection(
    rel: &str,
    items: Vec<Value>,
    self_href: &str,
    size: usize,
    number: usize,
    next: Option<String>,
    total: Option<u64>,
) -> Value {
    let count = items.len();
    let mut links = json!({"self": {"href": self_href}});
    if let Some(n) = next {
        links["next"] = json!({"href": n});
    }
    let mut page = json!({"size": size, "number": number, "numberOfElements": count});
    if let Some(t) = total {
        page["totalElements"] = json!(t);
        page["totalPages"] = json!(t.div_ceil(size.max(1) as u64));
    }
    json!({
        "_embedded": {rel: items},
        "_links": links,
        "page": page,
    })
}
