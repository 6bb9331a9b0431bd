//! `/members` (join, list, show, withdraw, and our `/detail` and `/history`), `/points`
//! (a balance; our balances page and `/points/summary`) and the dashboard
//! (`/billingAmountViews`), over the port.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde_json::json;

use super::reply::{Answer, AppState, Base, Params, blocking, ok};
use super::routes::{
    BodyBytes, create, list_with_total, member_id, outcome_body, page_of, window, write,
};
use crate::api::Error;
use crate::api::wire::{self, hal};
use crate::domain::Info;
use crate::domain::query::MAX_PAGE;
use crate::domain::{
    BalanceQuery, Command, DealId, MemberId, MemberQuery, MemberSort, MemberStatus, Points,
};
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
    let size = p.limit(&["size", "limit"], MAX_PAGE)?;
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
        None,
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

pub async fn members(
    State(st): State<AppState>,
    Base(base): Base,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let p = Params(q);
    let (size, page, fetch) = window(&p)?;
    let q = MemberQuery {
        status: p.parse(&["status"], MemberStatus::parse)?,
        query: p.text(&["query", "q"]).map(str::to_string),
        after: p.parse(&["after"], MemberId::parse)?,
        limit: fetch,
        sort: match p.text(&["sort"]) {
            Some(s) if s.ends_with(",desc") || s == "desc" => MemberSort::IdDesc,
            _ => MemberSort::Id,
        },
    };
    let sort = q.sort;
    // Unfiltered, the whole list is every member ever joined: the store's count says so.
    let unfiltered = q.status.is_none() && q.query.is_none();
    let count = unfiltered.then_some((|i: &Info| i.members) as fn(&Info) -> u64);
    let (all, total) = list_with_total(st, move |port| port.members(&q), count).await?;
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
        total,
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
        None,
    ))
}

pub async fn points_summary(State(st): State<AppState>) -> Answer {
    let s = blocking(move || st.port.points_summary()).await?;
    ok(&json!(s))
}
