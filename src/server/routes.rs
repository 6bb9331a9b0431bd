//! The original services' write resources and what they share: `/deals`, `/billings`,
//! plus our `/billings/preview` and `/merchants`; reading bodies, making resources, paging.
//! (`members` holds `/members`, `/points` and the dashboard.) Bodies are read by
//! `api::wire` into the domain drafts; the domain parsers validate.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::collections::HashMap;

use super::reply::{Answer, AppState, Base, Params, blocking, created, execute, idem_key, ok};
use crate::api::wire::{self, hal};
use crate::api::{Error, Port, Result};
use crate::domain::Info;
use crate::domain::query::MAX_PAGE;
use crate::domain::{
    BillingQuery, Command, DealId, DealQuery, DealStatus, DealType, Keyed, MemberId, MerchantId,
    Month, Outcome,
};

const DEFAULT_PAGE: usize = 20;

/// The request body as a JSON object; a body over the limit or cut short is a 400.
pub fn body(b: BodyBytes) -> Result<Map<String, Value>> {
    let bytes = b.map_err(|e| Error::invalid("body", &format!("could not be read: {e}")))?;
    wire::parse_object(&quote_exponents(&bytes))
}

/// JSON numbers written with an exponent (`1e5`) turned into strings of their own text, so
/// that the domain's parsers see what the client wrote and refuse it as they refuse it from
/// the CLI (SPEC 9), instead of serde reading `100000`.
pub fn quote_exponents(b: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let (mut i, mut copied) = (0, 0);
    let (mut in_str, mut esc) = (false, false);
    while i < b.len() {
        let c = b[i];
        if in_str {
            match c {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b'"' => in_str = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < b.len() && matches!(b[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let tok = &b[start..i];
                if tok.iter().any(|x| matches!(x, b'e' | b'E')) {
                    let o = out.get_or_insert_with(|| Vec::with_capacity(b.len() + 16));
                    o.extend_from_slice(&b[copied..start]);
                    o.push(b'"');
                    o.extend_from_slice(tok);
                    o.push(b'"');
                    copied = i;
                }
            }
            _ => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(b),
        Some(mut o) => {
            o.extend_from_slice(&b[copied..]);
            Cow::Owned(o)
        }
    }
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
    execute(st.port.clone(), vec![Keyed::new(cmd, key)])
        .await?
        .pop()
        .unwrap_or_else(|| Err(Error::system("no result for the write")))
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

/// `size` and Spring's `page`: how many to fetch and how many of those to skip. A page
/// that reaches past the first `MAX_PAGE` rows is refused with how to page instead (the
/// `next` link's cursor), never answered empty.
pub(super) fn window(p: &Params) -> Result<(usize, usize, usize)> {
    let size = p.limit(&["size", "limit"], DEFAULT_PAGE)?;
    let page = p.count(&["page"], 0, 0, MAX_PAGE)?;
    let fetch = size.saturating_mul(page + 1);
    if fetch > MAX_PAGE {
        return Err(Error::invalid(
            "page",
            "reaches past the first 10000 rows: follow the next link (after= or before=) to page further",
        ));
    }
    Ok((size, page, fetch))
}

/// A list read on a blocking thread, with the whole collection's size when `count` can say
/// it without counting (an unfiltered list: the store's counters), for the page block.
pub(super) async fn list_with_total<T: Send + 'static>(
    st: AppState,
    read: impl FnOnce(&dyn Port) -> Result<Vec<T>> + Send + 'static,
    count: Option<fn(&Info) -> u64>,
) -> Result<(Vec<T>, Option<u64>)> {
    blocking(move || {
        let all = read(st.port.as_ref())?;
        let total = match count {
            Some(f) => Some(f(&st.port.info()?)),
            None => None,
        };
        Ok((all, total))
    })
    .await
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
    let unfiltered = q.member.is_none()
        && q.merchant.is_none()
        && q.month.is_none()
        && q.deal_type.is_none()
        && q.status.is_none();
    let count = unfiltered.then_some((|i: &Info| i.deals) as fn(&Info) -> u64);
    let (all, total) = list_with_total(st, move |port| port.deals(&q), count).await?;
    let rows = page_of(all, size, page);
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
        total,
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
    let unfiltered = q.merchant.is_none() && q.month.is_none();
    let count = unfiltered.then_some((|i: &Info| i.billings) as fn(&Info) -> u64);
    let (all, total) = list_with_total(st, move |port| port.billings(&q), count).await?;
    let rows = page_of(all, size, page);
    let items = rows.iter().map(|b| hal::billing(b, &base)).collect();
    ok(&hal::collection(
        "billings",
        items,
        &format!("{base}/billings"),
        size,
        page,
        None,
        total,
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
    let size = Params(q).limit(&["size", "limit"], 1000)?;
    let v = blocking(move || st.port.merchants(size)).await?;
    ok(&json!({"_embedded": {"merchants": v}}))
}

/// Any path the API does not have: a 404 in the same error shape.
pub async fn no_such_path(uri: axum::http::Uri) -> Answer {
    Err(Error::not_found("path", uri.path()).into())
}
