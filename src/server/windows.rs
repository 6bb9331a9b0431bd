//! The console's window and batch reads over HTTP (extensions, not in the original API):
//! `/windows/members` and `/windows/deals` take the window query as JSON in `q` (its
//! `order`: members `id`, `name`, `balance` or `lastActivity`; deals `id`, `date` or `points`);
//! `/members/batch?ids=1,2,3` and `/billings/previews?billingMonth=YYYYMM` answer one page's
//! names and every merchant's preview in one request each.

use std::collections::HashMap;

use axum::extract::{Query, State};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::reply::{Answer, AppState, Params, blocking, ok};
use crate::api::{Error, Result};
use crate::domain::query::MAX_PAGE;
use crate::domain::{DealWindow, MemberWindow, Month};

fn query_json<T: DeserializeOwned>(p: &Params, what: &str) -> Result<T> {
    let text = p
        .text(&["q"])
        .ok_or_else(|| Error::invalid("q", &format!("is required: the {what} as JSON")))?;
    serde_json::from_str(text)
        .map_err(|e| Error::invalid("q", &format!("must be a {what} as JSON: {e}")))
}

pub async fn member_window(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let w: MemberWindow = query_json(&Params(q), "member window")?;
    let page = blocking(move || st.port.member_window(&w)).await?;
    ok(&json!(page))
}

pub async fn deal_window(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let w: DealWindow = query_json(&Params(q), "deal window")?;
    let page = blocking(move || st.port.deal_window(&w)).await?;
    ok(&json!(page))
}

/// `ids=1,2,3`: each through the member id parser; at most one page of them.
pub async fn members_by_ids(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let ids = Params(q).member_ids()?;
    let found = blocking(move || st.port.members_by_ids(&ids)).await?;
    ok(&json!(found))
}

pub async fn previews(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let p = Params(q);
    let month = Month::parse(
        "billingMonth",
        p.text(&["billingMonth", "month"]).unwrap_or(""),
    )?;
    let size = p.count(&["size", "limit"], 500, 1, MAX_PAGE)?;
    let rows = blocking(move || st.port.previews(month, size)).await?;
    ok(&json!(rows))
}
