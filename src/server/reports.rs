//! `GET /reports/{liability|activity|segments|dormant|anomalies}?month=&from=&to=&grain=
//! &days=&limit=&minCancels=&minFailed=&clawback=`: the staff reports (an extension, not in
//! the original API). The parameters go through the one report parser the CLI uses.

use axum::extract::{Path, Query, State};
use serde_json::json;

use super::reply::{Answer, AppState, blocking, ok};
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
