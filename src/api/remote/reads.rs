//! The port's reads over HTTP. Against our server each read is one request to the matching
//! resource; against the original services `original` answers what they can.

use std::time::Duration;

use serde_json::Value;

use super::client::{Flavour, enc};
use super::{RemoteAdapter, original};
use crate::api::wire::read;
use crate::api::{Error, Result};
use crate::domain::query::MAX_PAGE;
use crate::domain::{
    Balance, BalanceQuery, Billing, BillingPreview, BillingQuery, CheckReport, DashboardRow, Deal,
    DealId, DealQuery, Event, Info, MemberDetail, MemberId, MemberQuery, MemberSort, MemberView,
    MerchantId, MerchantSummary, Month, PointsSummary,
};

/// The page size the core would use for `limit` (so both adapters return the same rows).
fn page(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE)
}

fn ours(a: &RemoteAdapter) -> bool {
    a.flavour() == Flavour::Onepoint
}

fn no_feed() -> Error {
    Error::Unavailable {
        message: "this server has no event feed".into(),
    }
}

pub fn member(a: &RemoteAdapter, id: MemberId) -> Result<MemberView> {
    if !ours(a) {
        return original::member(a, id);
    }
    read::member(&a.get(format!("/members/{id}"), "member")?)
}

pub fn member_detail(a: &RemoteAdapter, id: MemberId, recent: usize) -> Result<MemberDetail> {
    if !ours(a) {
        return original::member_detail(a, id, recent);
    }
    read::strict(
        "member detail",
        a.get(format!("/members/{id}/detail?recent={recent}"), "member")?,
    )
}

pub fn members(a: &RemoteAdapter, q: &MemberQuery) -> Result<Vec<MemberView>> {
    if !ours(a) {
        return original::members(a, q);
    }
    let mut path = format!("/members?size={}", page(q.limit));
    if let Some(s) = q.status {
        path.push_str(&format!("&status={}", s.as_str()));
    }
    if let Some(t) = &q.query {
        path.push_str(&format!("&query={}", enc(t)));
    }
    if let Some(after) = q.after {
        path.push_str(&format!("&after={after}"));
    }
    if q.sort == MemberSort::IdDesc {
        path.push_str("&sort=id,desc");
    }
    collect(&a.get(path, "member")?, read::member)
}

/// Every item of one of our collections; one we cannot read is an error, not a gap.
fn collect<T>(v: &Value, each: fn(&Value) -> Result<T>) -> Result<Vec<T>> {
    read::items(v).iter().map(each).collect()
}

pub fn member_history(
    a: &RemoteAdapter,
    id: MemberId,
    before: Option<DealId>,
    limit: usize,
) -> Result<Vec<DashboardRow>> {
    if !ours(a) {
        return original::member_history(a, id, before, limit);
    }
    let mut path = format!("/members/{id}/history?size={}", page(limit));
    if let Some(b) = before {
        path.push_str(&format!("&before={b}"));
    }
    collect(&a.get(path, "member")?, read::dashboard_row)
}

pub fn merchants(a: &RemoteAdapter, limit: usize) -> Result<Vec<MerchantSummary>> {
    if !ours(a) {
        return original::merchants(a, limit);
    }
    let v = a.get(format!("/merchants?size={}", page(limit)), "merchant")?;
    read::items(&v)
        .into_iter()
        .map(|m| read::strict("merchant", m))
        .collect()
}

pub fn deal(a: &RemoteAdapter, id: DealId) -> Result<Deal> {
    read::deal(&a.get(format!("/deals/{id}"), "deal")?)
}

pub fn deals(a: &RemoteAdapter, q: &DealQuery) -> Result<Vec<Deal>> {
    if !ours(a) {
        return original::deals(a, q);
    }
    let mut path = format!("/deals?size={}", page(q.limit));
    if let Some(m) = q.member {
        path.push_str(&format!("&memberId={m}"));
    }
    if let Some(m) = q.merchant {
        path.push_str(&format!("&merchantId={m}"));
    }
    if let Some(m) = q.month {
        path.push_str(&format!("&month={m}"));
    }
    if let Some(t) = q.deal_type {
        path.push_str(&format!("&type={}", t.as_str()));
    }
    if let Some(s) = q.status {
        path.push_str(&format!("&status={}", s.as_str()));
    }
    if let Some(b) = q.before {
        path.push_str(&format!("&before={b}"));
    }
    collect(&a.get(path, "deal")?, read::deal)
}

pub fn points(a: &RemoteAdapter, id: MemberId) -> Result<Balance> {
    read::balance(&a.get(format!("/points/{id}"), "member")?)
}

pub fn balances(a: &RemoteAdapter, q: &BalanceQuery) -> Result<Vec<Balance>> {
    if !ours(a) {
        return original::balances(a, q);
    }
    let mut path = format!("/points?size={}", page(q.limit));
    if let Some((p, m)) = q.after {
        path.push_str(&format!("&afterPoint={p}&afterMember={m}"));
    }
    collect(&a.get(path, "member")?, read::balance)
}

pub fn points_summary(a: &RemoteAdapter) -> Result<PointsSummary> {
    if !ours(a) {
        return original::points_summary(a);
    }
    read::strict("points summary", a.get("/points/summary".into(), "points")?)
}

pub fn preview_billing(
    a: &RemoteAdapter,
    merchant: MerchantId,
    month: Month,
) -> Result<BillingPreview> {
    if !ours(a) {
        return Err(original::not_offered("a billing preview"));
    }
    let path = format!("/billings/preview?merchantId={merchant}&billingMonth={month}");
    read::strict("billing preview", a.get(path, "merchant")?)
}

pub fn billings(a: &RemoteAdapter, q: &BillingQuery) -> Result<Vec<Billing>> {
    if !ours(a) {
        return original::billings(a, q);
    }
    // The core reads a limit of 0 as "all" for billings.
    let size = if q.limit == 0 {
        MAX_PAGE
    } else {
        page(q.limit)
    };
    let mut path = format!("/billings?size={size}");
    if let Some(m) = q.merchant {
        path.push_str(&format!("&merchantId={m}"));
    }
    if let Some(m) = q.month {
        path.push_str(&format!("&billingMonth={m}"));
    }
    collect(&a.get(path, "billing")?, read::billing)
}

pub fn events(a: &RemoteAdapter, after: u64, limit: usize) -> Result<Vec<Event>> {
    if !ours(a) {
        return Err(no_feed());
    }
    match a.get(
        format!("/events?after={after}&limit={}", page(limit)),
        "events",
    ) {
        Ok(v) => read::strict(
            "event page",
            v.get("events").cloned().unwrap_or(Value::Null),
        ),
        Err(Error::Domain(crate::domain::Error::NotFound { .. })) => Err(no_feed()),
        Err(e) => Err(e),
    }
}

pub fn wait_events(a: &RemoteAdapter, after: u64, timeout: Duration) -> Result<u64> {
    if !ours(a) {
        // Nothing to wait for: keep a follower loop from spinning.
        std::thread::sleep(timeout.min(Duration::from_secs(2)));
        return Err(no_feed());
    }
    let wait = timeout.min(Duration::from_secs(30));
    let path = format!("/events/wait?after={after}&timeoutMs={}", wait.as_millis());
    let s = a.shared.clone();
    let limit = s.timeout + wait;
    let r = a
        .run(async move { s.get_within(&path, "events", limit, false).await })
        .unwrap_or_else(|| Err(super::stopped()));
    match r {
        Ok(v) => v
            .get("latest")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::Unavailable {
                message: "the server's event wait answer is unreadable".into(),
            }),
        Err(Error::Domain(crate::domain::Error::NotFound { .. })) => Err(no_feed()),
        Err(e) => {
            // Unreachable: wait out (part of) the timeout so followers do not spin.
            std::thread::sleep(wait.min(Duration::from_secs(1)));
            Err(e)
        }
    }
}

pub fn info(a: &RemoteAdapter) -> Result<Info> {
    if !ours(a) {
        return original::info(a);
    }
    read::strict("info", a.get("/info".into(), "info")?)
}

pub fn check(a: &RemoteAdapter) -> Result<CheckReport> {
    if !ours(a) {
        return Err(original::not_offered("an invariant check"));
    }
    read::strict("check report", a.get("/check".into(), "check")?)
}

// ---- the console's windows and batch reads (our server only) ----

fn only_ours(a: &RemoteAdapter, what: &str) -> Result<()> {
    if ours(a) {
        Ok(())
    } else {
        Err(original::not_offered(what))
    }
}

fn json_param<T: serde::Serialize>(q: &T) -> Result<String> {
    serde_json::to_string(q)
        .map(|s| enc(&s))
        .map_err(|e| Error::store(format!("cannot write the query: {e}")))
}

pub fn member_window(
    a: &RemoteAdapter,
    q: &crate::domain::MemberWindow,
) -> Result<crate::domain::Window<MemberView>> {
    only_ours(a, "a member window")?;
    let v = a.get(format!("/windows/members?q={}", json_param(q)?), "member")?;
    read::strict("member window", v)
}

pub fn deal_window(
    a: &RemoteAdapter,
    q: &crate::domain::DealWindow,
) -> Result<crate::domain::Window<Deal>> {
    only_ours(a, "a deal window")?;
    let v = a.get(format!("/windows/deals?q={}", json_param(q)?), "deal")?;
    read::strict("deal window", v)
}

pub fn members_by_ids(a: &RemoteAdapter, ids: &[MemberId]) -> Result<Vec<MemberView>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    if !ours(a) {
        // The original services have no batch read: one request per member.
        return Ok(ids.iter().filter_map(|id| member(a, *id).ok()).collect());
    }
    let list: Vec<String> = ids.iter().take(MAX_PAGE).map(|i| i.to_string()).collect();
    let v = a.get(format!("/members/batch?ids={}", list.join(",")), "member")?;
    read::strict("members", v)
}

pub fn previews(
    a: &RemoteAdapter,
    month: Month,
    limit: usize,
) -> Result<Vec<crate::domain::MerchantPreview>> {
    only_ours(a, "billing previews")?;
    let v = a.get(
        format!(
            "/billings/previews?billingMonth={month}&size={}",
            page(limit)
        ),
        "merchant",
    )?;
    read::strict("billing previews", v)
}

/// `GET /reports/{kind}?...` on `onepoint serve`. The original services keep no counters,
/// so against them the report is built here from their lists (`original_reports`), each
/// part they cannot give named in the report's gaps.
pub fn report(
    a: &RemoteAdapter,
    q: &crate::domain::reports::ReportQuery,
) -> Result<crate::domain::reports::Report> {
    if !ours(a) {
        return super::original_reports::report(a, q);
    }
    let params: Vec<String> = q
        .params()
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.replace('%', "%25")
                    .replace('&', "%26")
                    .replace('+', "%2B")
            )
        })
        .collect();
    let mut path = format!("/reports/{}", q.kind.as_str());
    if !params.is_empty() {
        path.push('?');
        path.push_str(&params.join("&"));
    }
    read::strict("report", a.get(path, "report")?)
}

/// `GET /members/totals?ids=1,2,3` on `onepoint serve`; the original services keep no
/// totals per member beyond the balance, so against them this says so.
pub fn member_totals(
    a: &RemoteAdapter,
    ids: &[MemberId],
) -> Result<Vec<crate::domain::reports::MemberTotals>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    only_ours(a, "member totals")?;
    let list: Vec<String> = ids.iter().take(MAX_PAGE).map(|i| i.to_string()).collect();
    let v = a.get(format!("/members/totals?ids={}", list.join(",")), "member")?;
    read::strict("member totals", v)
}
