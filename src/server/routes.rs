//! The original services' resources over the port: `/members`, `/points`, `/deals`,
//! `/billings`, `/billingAmountViews`, plus our extensions (`/members/{id}/detail`,
//! `/members/{id}/history`, `/points/summary`, `/billings/preview`, `/merchants`).
//! Bodies are read by `api::wire` into the domain drafts; the domain parsers validate.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

use super::reply::{Answer, AppState, Base, Params, blocking, created, idem_key, ok};
use crate::api::wire::{self, hal};
use crate::domain::query::MAX_PAGE;
use crate::domain::{
    BalanceQuery, BillingQuery, Command, DealId, DealQuery, DealStatus, DealType, Error, MemberId,
    MemberQuery, MemberSort, MemberStatus, MerchantId, Month, Outcome, Points, Result,
};

const DEFAULT_PAGE: usize = 20;

/// The request body as a JSON object; a body over the limit or cut short is a 400.
pub fn body(b: BodyBytes) -> Result<Map<String, Value>> {
    let bytes = b.map_err(|e| Error::invalid("body", &format!("could not be read: {e}")))?;
    wire::parse_object(&bytes)
}

type BodyBytes = std::result::Result<Bytes, BytesRejection>;

/// A POST that makes a resource: the body read leniently into the `op`'s command, run,
/// answered 201 with the HAL item and its `Location`.
async fn create(st: &AppState, base: &str, h: &HeaderMap, b: BodyBytes, op: &str) -> Answer {
    let c = wire::command(op, &body(b)?)?;
    created(&outcome_body(&write(st, h, c).await?, base))
}

async fn write(st: &AppState, headers: &HeaderMap, cmd: Command) -> Result<Outcome> {
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

fn member_id(text: &str) -> Result<MemberId> {
    Ok(MemberId::parse("memberId", text)?)
}

/// `size` and Spring's `page`: how many to fetch and how many of those to skip.
fn window(p: &Params) -> Result<(usize, usize, usize)> {
    let size = p.count(&["size", "limit"], DEFAULT_PAGE, 1, MAX_PAGE)?;
    let page = p.count(&["page"], 0, 0, MAX_PAGE)?;
    let fetch = (size * (page + 1)).min(MAX_PAGE);
    Ok((size, page, fetch))
}

fn page_of<T>(mut all: Vec<T>, size: usize, page: usize) -> Vec<T> {
    let skip = (size * page).min(all.len());
    all.drain(..skip);
    all.truncate(size);
    all
}

// ---- members ----

pub async fn join(
    State(st): State<AppState>,
    Base(base): Base,
    h: HeaderMap,
    b: BodyBytes,
) -> Answer {
    create(&st, &base, &h, b, "join").await
}

pub async fn withdraw(
    st: State<AppState>,
    Base(base): Base,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let id = member_id(&id)?;
    ok(&outcome_body(
        &write(&st, &h, Command::Withdraw(id)).await?,
        &base,
    ))
}

pub async fn member(
    State(st): State<AppState>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Answer {
    let id = member_id(&id)?;
    let m = blocking(move || st.port.member(id)).await?;
    ok(&hal::member(&m, &base))
}

pub async fn member_detail(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let id = member_id(&id)?;
    let recent = Params(q).count(&["recent"], 20, 0, MAX_PAGE)?;
    let d = blocking(move || st.port.member_detail(id, recent)).await?;
    ok(&json!(d))
}

pub async fn member_history(
    State(st): State<AppState>,
    Base(base): Base,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let id = member_id(&id)?;
    history(st, base, id, Params(q)).await
}

/// The dashboard's `findByMemberId`, as the original exports it.
pub async fn find_by_member(
    State(st): State<AppState>,
    Base(base): Base,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let p = Params(q);
    let id = p
        .parse(&["memberId"], MemberId::parse)?
        .ok_or_else(|| Error::invalid("memberId", "is required"))?;
    history(st, base, id, p).await
}

async fn history(st: AppState, base: String, id: MemberId, p: Params) -> Answer {
    let before = p.parse(&["before"], DealId::parse)?;
    let size = p.count(&["size", "limit"], MAX_PAGE, 1, MAX_PAGE)?;
    let rows = blocking(move || st.port.member_history(id, before, size)).await?;
    let next = (rows.len() == size)
        .then(|| {
            rows.last()
                .map(|r| format!("{base}/members/{id}/history?before={}&size={size}", r.id))
        })
        .flatten();
    let items = rows.iter().map(|r| hal::dashboard_row(r, &base)).collect();
    let href = format!("{base}/billingAmountViews/search/findByMemberId?memberId={id}");
    ok(&hal::collection(
        "billingAmountViews",
        items,
        &href,
        size,
        0,
        next,
    ))
}

/// One dashboard row, by deal id: the deal joined with its member's current status.
pub async fn dashboard_row(
    State(st): State<AppState>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Answer {
    let id = DealId::parse("id", &id)?;
    let row = blocking(move || {
        let d = st.port.deal(id)?;
        let m = st.port.member(d.member_id)?;
        Ok(wire::dashboard_row(&d, m.status))
    })
    .await?;
    ok(&hal::dashboard_row(&row, &base))
}

fn member_status(
    field: &str,
    t: &str,
) -> std::result::Result<MemberStatus, crate::domain::FieldError> {
    match t {
        "valid" => Ok(MemberStatus::Valid),
        "invalid" => Ok(MemberStatus::Invalid),
        _ => Err(crate::domain::FieldError::new(
            field,
            "must be valid or invalid",
        )),
    }
}

pub async fn members(
    State(st): State<AppState>,
    Base(base): Base,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let p = Params(q);
    let (size, page, fetch) = window(&p)?;
    let q = MemberQuery {
        status: p.parse(&["status"], member_status)?,
        query: p.text(&["query", "q"]).map(str::to_string),
        after: p.parse(&["after"], MemberId::parse)?,
        limit: fetch,
        sort: match p.text(&["sort"]) {
            Some(s) if s.ends_with(",desc") || s == "desc" => MemberSort::IdDesc,
            _ => MemberSort::Id,
        },
    };
    let sort = q.sort;
    let all = blocking(move || st.port.members(&q)).await?;
    let rows = page_of(all, size, page);
    let next = (rows.len() == size)
        .then(|| {
            rows.last().map(|m| {
                let dir = if sort == MemberSort::IdDesc {
                    "&sort=id,desc"
                } else {
                    ""
                };
                format!("{base}/members?after={}&size={size}{dir}", m.member_id)
            })
        })
        .flatten();
    let items = rows.iter().map(|m| hal::member(m, &base)).collect();
    ok(&hal::collection(
        "members",
        items,
        &format!("{base}/members"),
        size,
        page,
        next,
    ))
}

// ---- points ----

pub async fn points(
    State(st): State<AppState>,
    Base(base): Base,
    Path(id): Path<String>,
) -> Answer {
    let id = member_id(&id)?;
    let b = blocking(move || st.port.points(id)).await?;
    ok(&hal::balance(&b, &base))
}

/// Balances, highest first; continue with `afterPoint` + `afterMember`.
pub async fn balances(
    State(st): State<AppState>,
    Base(base): Base,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let p = Params(q);
    let (size, page, fetch) = window(&p)?;
    let after_point = p
        .parse(&["afterPoint"], Points::parse_positive)
        .or_else(|e| match p.text(&["afterPoint"]) {
            Some("0") | Some("0.0") => Ok(Some(Points::ZERO)),
            _ => Err(e),
        })?;
    let after_member = p.parse(&["afterMember"], MemberId::parse)?;
    let after = match (after_point, after_member) {
        (Some(pt), Some(m)) => Some((pt, m)),
        (None, None) => None,
        _ => return Err(Error::invalid("afterPoint", "goes with afterMember").into()),
    };
    let q = BalanceQuery {
        after,
        limit: fetch,
    };
    let rows = page_of(blocking(move || st.port.balances(&q)).await?, size, page);
    let next = (rows.len() == size)
        .then(|| {
            rows.last().map(|b| {
                format!(
                    "{base}/points?afterPoint={}&afterMember={}&size={size}",
                    b.point, b.member_id
                )
            })
        })
        .flatten();
    let items = rows.iter().map(|b| hal::balance(b, &base)).collect();
    ok(&hal::collection(
        "points",
        items,
        &format!("{base}/points"),
        size,
        page,
        next,
    ))
}

pub async fn points_summary(State(st): State<AppState>) -> Answer {
    let s = blocking(move || st.port.points_summary()).await?;
    ok(&json!(s))
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
