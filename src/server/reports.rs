//! `GET /reports/{liability|activity|segments|dormant|anomalies}?month=&from=&to=&grain=
//! &days=&limit=&minCancels=&minFailed=&clawback=`: the staff reports (an extension, not in
//! the original API). The parameters go through the one report parser the CLI uses.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use serde_json::json;

use super::reply::{Answer, AppState, Params, blocking, ok};
use crate::api::Error;
use crate::domain::reports::ReportQuery;

pub async fn report(
    State(st): State<AppState>,
    Path(kind): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Answer {
    let q = ReportQuery::parse(&kind, &params).map_err(Error::from)?;
    let r = blocking(move || st.port.report(&q)).await?;
    ok(&json!(r))
}

/// `GET /members/totals?ids=1,2,3`: running totals and segments, one page of ids a call.
pub async fn member_totals(
    State(st): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let ids = Params(q).member_ids()?;
    let found = blocking(move || st.port.member_totals(&ids)).await?;
    ok(&json!(found))
}
