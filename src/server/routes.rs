//! The original services' write resources and what they share: `/deals`, `/billings`,
//! plus our `/billings/preview` and `/merchants`; reading bodies, making resources, paging.
//! (`members` holds `/members`, `/points` and the dashboard.) Bodies are read by
//! `api::wire` into the domain drafts; the domain parsers validate.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

use super::reply::{Answer, AppState, Base, Params, blocking, created, idem_key, ok};
use crate::api::wire::{self, hal};
use crate::api::{Error, Result};
use crate::domain::query::MAX_PAGE;
use crate::domain::{
    BillingQuery, Command, DealId, DealQuery, DealStatus, DealType, MemberId, MerchantId, Month,
    Outcome,
};

const DEFAULT_PAGE: usize = 20;

/// The request body as a JSON object; a body over the limit or cut short is a 400.
pub fn body(b: BodyBytes) -> Result<Map<String, Value>> {
    let bytes = b.map_err(|e| Error::invalid("body", &format!("could not be read: {e}")))?;
    wire::parse_object(&bytes)
}

pub(super) type BodyBytes = std::result::Result<Bytes, BytesRejection>;

/// A POST that makes a resource: the body read leniently into the `op`'s command, run,
/// answered 201 with the HAL item and its `Location`.
pub(super) async fn create(
    st: &AppState,
    base: &str,
    h: &HeaderMap,
    b: BodyBytes,
    op: &str,
) -> Answer {
    let c = wire::command(op, &body(b)?)?;
    created(&outcome_body(&write(st, h, c).await?, base))
}

pub(super) async fn write(st: &AppState, headers: &HeaderMap, cmd: Command) -> Result<Outcome> {
    let key = idem_key(headers)?;
    let port = st.port.clone();
    blocking(move || port.run_one(cmd, key)).await
}

/// An outcome as the HAL body of the resource it made.
pub fn outcome_body(o: &Outcome, base: &str) -> Value {
    match o {
        Outcome::Member(m) => hal::member(m, base),
        Outcome::Withdrawal(w) => hal::withdrawal(w, base),
        Outcome::Merchant(m) => hal::merchant(m, base),
        Outcome::Deal(d) => hal::deal(d, base),
        Outcome::Billing(b) => hal::billing(b, base),
    }
}

pub(super) fn member_id(text: &str) -> Result<MemberId> {
    Ok(MemberId::parse("memberId", text)?)
}

/// `size` and Spring's `page`: how many to fetch and how many of those to skip.
pub(super) fn window(p: &Params) -> Result<(usize, usize, usize)> {
    let size = p.count(&["size", "limit"], DEFAULT_PAGE, 1, MAX_PAGE)?;
    let page = p.count(&["page"], 0, 0, MAX_PAGE)?;
    let fetch = (size * (page + 1)).min(MAX_PAGE);
    Ok((size, page, fetch))
}

pub(super) fn page_of<T>(mut all: Vec<T>, size: usize, page: usize) -> Vec<T> {
    let skip = (size * page).min(all.len());
    all.drain(..skip);
    all.truncate(size);
    all
}

// ---- deals ----

/// A use short of points is recorded as failed: 201 with `"status":"fail"`, as the original.
pub async fn place_deal(
    State(st): State<AppState>,
    Base(base): Base,
    h: HeaderMap,
    b: BodyBytes,
) -> Answer {
    create(&st, &base, &h, b, "deal").await
}

pub async fn deal(State(st): State<AppState>, Base(base): Base, Path(id): Path<String>) -> Answer {
    let id = DealId::parse("id", &id)?;
    let d = blocking(move || st.port.deal(id)).await?;
    ok(&hal::deal(&d, &base))
}

pub async fn deals(
    State(st): State<AppState>,
    Base(base): Base,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let p = Params(q);
    let (size, page, fetch) = window(&p)?;
    let q = DealQuery {
        member: p.parse(&["memberId", "member"], MemberId::parse)?,
        merchant: p.parse(&["merchantId", "merchant"], MerchantId::parse)?,
        month: p.parse(&["month", "billingMonth"], Month::parse)?,
        deal_type: p.parse(&["type"], DealType::parse)?,
        status: p.parse(&["status"], DealStatus::parse)?,
        before: p.parse(&["before"], DealId::parse)?,
        limit: fetch,
    };
    let rows = page_of(blocking(move || st.port.deals(&q)).await?, size, page);
    let next = (rows.len() == size)
        .then(|| {
            rows.last()
                .map(|d| format!("{base}/deals?before={}&size={size}", d.id))
        })
        .flatten();
    let items = rows.iter().map(|d| hal::deal(d, &base)).collect();
    ok(&hal::collection(
        "deals",
        items,
        &format!("{base}/deals"),
        size,
        page,
        next,
    ))
}

// ---- billings and merchants ----

pub async fn run_billing(
    State(st): State<AppState>,
    Base(base): Base,
    h: HeaderMap,
    b: BodyBytes,
) -> Answer {
    create(&st, &base, &h, b, "billing").await
}

pub async fn billings(
    State(st): State<AppState>,
    Base(base): Base,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let p = Params(q);
    let (size, page, fetch) = window(&p)?;
    let q = BillingQuery {
        merchant: p.parse(&["merchantId", "mercharntId"], MerchantId::parse)?,
        month: p.parse(&["billingMonth", "month"], Month::parse)?,
        limit: fetch,
    };
    let rows = page_of(blocking(move || st.port.billings(&q)).await?, size, page);
    let items = rows.iter().map(|b| hal::billing(b, &base)).collect();
    ok(&hal::collection(
        "billings",
        items,
        &format!("{base}/billings"),
        size,
        page,
        None,
    ))
}

pub async fn preview_billing(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let p = Params(q);
    let m = p.text(&["merchantId", "mercharntId"]).unwrap_or("");
    let month = p.text(&["billingMonth", "month"]).unwrap_or("");
    let r = crate::domain::BillingRequest::parse(m, month)?;
    let v = blocking(move || st.port.preview_billing(r.merchant, r.month)).await?;
    ok(&json!(v))
}

pub async fn add_merchant(
    State(st): State<AppState>,
    Base(base): Base,
    h: HeaderMap,
    b: BodyBytes,
) -> Answer {
    create(&st, &base, &h, b, "merchant").await
}

pub async fn merchants(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let size = Params(q).count(&["size", "limit"], 1000, 1, MAX_PAGE)?;
    let v = blocking(move || st.port.merchants(size)).await?;
    ok(&json!({"_embedded": {"merchants": v}}))
}

/// Any path the API does not have: a 404 in the same error shape.
pub async fn no_such_path(uri: axum::http::Uri) -> Answer {
    Err(Error::not_found("path", uri.path()).into())
}
