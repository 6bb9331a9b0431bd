//! Against the original Spring services (or their gateway): their paths and bodies, ids
//! from self links, no extensions. Their collections are pages without our filters, so
//! reads fetch one large page and filter here; what they cannot answer at all (previews,
//! audits, merchants' registry, the event feed) says so.

use std::collections::{BTreeMap, HashMap};

use reqwest::Method;
use serde_json::{Value, json};

use super::RemoteAdapter;
use super::client::Shared;
use super::writes::{Attempt, answer};
use crate::api::wire::{self, read};
use crate::api::{Error, Result};
use crate::domain::{
    Account, Balance, BalanceQuery, Billing, BillingQuery, CancelKind, Command, DashboardRow, Deal,
    DealId, DealQuery, DealRequest, DealType, Info, Keyed, MemberDetail, MemberId, MemberQuery,
    MemberSort, MemberStatus, MemberView, Merchant, MerchantSummary, Month, Outcome, Points,
    PointsSummary, Withdrawal,
};

/// The one big page fetched where the original cannot filter.
const WIDE: usize = 2000;

pub fn not_offered(what: &str) -> Error {
    Error::Unavailable {
        message: format!("the original services offer no {what}"),
    }
}

fn balance_or_zero(a: &RemoteAdapter, id: MemberId) -> Result<Points> {
    // The original opens a balance only at the first earn: no row means 0.
    match a.get(format!("/points/{id}"), "member") {
        Ok(v) => Ok(read::balance(&v)?.point),
        Err(Error::Domain(crate::domain::Error::NotFound { .. })) => Ok(Points::ZERO),
        Err(e) => Err(e),
    }
}

pub fn member(a: &RemoteAdapter, id: MemberId) -> Result<MemberView> {
    let mut m = read::member(&a.get(format!("/members/{id}"), "member")?)?;
    m.point = balance_or_zero(a, id)?;
    Ok(m)
}

fn all_balances(a: &RemoteAdapter) -> Result<Vec<Balance>> {
    Ok(read::all(
        &a.get(format!("/points?size={WIDE}"), "points")?,
        read::balance,
    ))
}

pub fn members(a: &RemoteAdapter, q: &MemberQuery) -> Result<Vec<MemberView>> {
    let mut all = read::all(
        &a.get(format!("/members?size={WIDE}"), "members")?,
        read::member,
    );
    let points: HashMap<MemberId, Points> = all_balances(a)?
        .into_iter()
        .map(|b| (b.member_id, b.point))
        .collect();
    let text = q.query.as_deref().map(str::to_lowercase);
    all.retain(|m| {
        q.status.is_none_or(|s| m.status == s)
            && text.as_deref().is_none_or(|t| {
                m.name.to_lowercase().contains(t)
                    || m.phone.as_deref().is_some_and(|p| p.contains(t))
            })
    });
    all.sort_by_key(|m| m.member_id);
    if q.sort == MemberSort::IdDesc {
        all.reverse();
    }
    if let Some(after) = q.after {
        all.retain(|m| match q.sort {
            MemberSort::Id => m.member_id > after,
            MemberSort::IdDesc => m.member_id < after,
        });
    }
    all.truncate(q.limit.max(1));
    for m in &mut all {
        m.point = points.get(&m.member_id).copied().unwrap_or(Points::ZERO);
    }
    Ok(all)
}

fn all_deals(a: &RemoteAdapter) -> Result<Vec<Deal>> {
    let mut d = read::all(
        &a.get(format!("/deals?size={WIDE}&sort=id,desc"), "deals")?,
        read::deal,
    );
    d.sort_by_key(|x| std::cmp::Reverse(x.id));
    Ok(d)
}

pub fn deals(a: &RemoteAdapter, q: &DealQuery) -> Result<Vec<Deal>> {
    let utc = chrono::FixedOffset::east_opt(0).expect("UTC");
    let mut d = all_deals(a)?;
    d.retain(|x| {
        q.member.is_none_or(|m| x.member_id == m)
            && q.merchant.is_none_or(|m| x.merchant_id == m)
            && q.deal_type.is_none_or(|t| x.deal_type == t)
            && q.status.is_none_or(|s| x.status == s)
            && q.month.is_none_or(|m| Month::of(x.deal_date, utc) == m)
            && q.before.is_none_or(|b| x.id < b)
    });
    d.truncate(q.limit.max(1));
    Ok(d)
}

pub fn member_history(
    a: &RemoteAdapter,
    id: MemberId,
    before: Option<DealId>,
    limit: usize,
) -> Result<Vec<DashboardRow>> {
    let path = format!("/billingAmountViews/search/findByMemberId?memberId={id}");
    let mut rows = read::all(&a.get(path, "member")?, read::dashboard_row);
    rows.sort_by_key(|x| std::cmp::Reverse(x.id));
    rows.retain(|r| before.is_none_or(|b| r.id < b));
    rows.truncate(limit.max(1));
    Ok(rows)
}

pub fn member_detail(a: &RemoteAdapter, id: MemberId, recent: usize) -> Result<MemberDetail> {
    let m = member(a, id)?;
    let deals: Vec<Deal> = all_deals(a)?
        .into_iter()
        .filter(|d| d.member_id == id)
        .collect();
    let mut totals = Account {
        balance: m.point,
        ..Account::default()
    };
    let mut shares: BTreeMap<u64, crate::domain::MerchantShare> = BTreeMap::new();
    for d in deals.iter().filter(|d| d.is_success()) {
        let share = shares
            .entry(d.merchant_id.0)
            .or_insert(crate::domain::MerchantShare {
                merchant_id: d.merchant_id,
                deals: 0,
                earned: Points::ZERO,
                used: Points::ZERO,
            });
        share.deals += 1;
        match d.deal_type {
            DealType::Save => {
                totals.earned += d.point;
                share.earned += d.point;
            }
            DealType::Use => {
                totals.used += d.point;
                share.used += d.point;
            }
            DealType::SaveCancel => totals.save_cancelled += d.point,
            DealType::UseCancel => totals.use_cancelled += d.point,
        }
    }
    totals.deals = deals.len() as u64;
    totals.failed = deals.iter().filter(|d| !d.is_success()).count() as u64;
    let mut top: Vec<_> = shares.into_values().collect();
    top.sort_by_key(|x| std::cmp::Reverse(x.deals));
    Ok(MemberDetail {
        member: m,
        totals,
        top_merchants: top,
        recent_deals: deals.into_iter().take(recent).collect(),
    })
}

/// The original has no merchant registry: merchants are the ids its deals name.
pub fn merchants(a: &RemoteAdapter, limit: usize) -> Result<Vec<MerchantSummary>> {
    let mut by_id: BTreeMap<u64, MerchantSummary> = BTreeMap::new();
    for d in all_deals(a)? {
        let s = by_id.entry(d.merchant_id.0).or_insert(MerchantSummary {
            merchant: Merchant {
                merchant_id: d.merchant_id,
                name: None,
                earn_rate_bp: 100,
                registered: false,
            },
            deals: 0,
            last_deal: None,
        });
        s.deals += 1;
        s.last_deal = s.last_deal.max(Some(d.deal_date));
    }
    Ok(by_id.into_values().take(limit.max(1)).collect())
}

pub fn balances(a: &RemoteAdapter, q: &BalanceQuery) -> Result<Vec<Balance>> {
    let mut all = all_balances(a)?;
    all.sort_by(|x, y| y.point.cmp(&x.point).then(x.member_id.cmp(&y.member_id)));
    if let Some((p, m)) = q.after {
        all.retain(|b| b.point < p || (b.point == p && b.member_id > m));
    }
    all.truncate(q.limit.max(1));
    Ok(all)
}

pub fn points_summary(a: &RemoteAdapter) -> Result<PointsSummary> {
    let all = all_balances(a)?;
    let members = read::all(
        &a.get(format!("/members?size={WIDE}"), "members")?,
        read::member,
    );
    let buckets: [(&str, i64); 6] = [
        ("0", 0),
        ("1-100", 10_000),
        ("101-1000", 100_000),
        ("1001-10000", 1_000_000),
        ("10001-100000", 10_000_000),
        (">100000", i64::MAX),
    ];
    let mut counts = vec![0u64; buckets.len()];
    for b in &all {
        let i = buckets
            .iter()
            .position(|(_, top)| b.point.0 <= *top)
            .unwrap_or(buckets.len() - 1);
        counts[i] += 1;
    }
    Ok(PointsSummary {
        members: members.len() as u64,
        valid_members: members
            .iter()
            .filter(|m| m.status == MemberStatus::Valid)
            .count() as u64,
        total_outstanding: all.iter().map(|b| b.point).sum(),
        distribution: buckets
            .iter()
            .zip(counts)
            .map(|((name, _), n)| (name.to_string(), n))
            .collect(),
    })
}

pub fn billings(a: &RemoteAdapter, q: &BillingQuery) -> Result<Vec<Billing>> {
    let mut all = read::all(
        &a.get(format!("/billings?size={WIDE}"), "billings")?,
        read::billing,
    );
    all.retain(|b| {
        q.merchant.is_none_or(|m| b.merchant_id == m)
            && q.month.is_none_or(|m| b.billing_month == m)
    });
    all.sort_by_key(|x| std::cmp::Reverse(x.id));
    if q.limit > 0 {
        all.truncate(q.limit);
    }
    Ok(all)
}

fn total(v: &Value) -> u64 {
    v.pointer("/page/totalElements")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| read::items(v).len() as u64)
}

pub fn info(a: &RemoteAdapter) -> Result<Info> {
    Ok(Info {
        version: "original OnePoint services".into(),
        data_dir: a.shared.base.clone(),
        members: total(&a.get("/members?size=1".into(), "members")?),
        deals: total(&a.get("/deals?size=1".into(), "deals")?),
        billings: total(&a.get("/billings?size=1".into(), "billings")?),
        ..Info::default()
    })
}

// ---- writes ----

async fn post(s: &Shared, k: &Keyed, path: &str, body: Value) -> super::Sent {
    s.send(Method::POST, path, Some(&body), k.key.as_ref(), s.timeout)
        .await
}

/// The balance after a deal: the original's deal body has none.
async fn with_balance(s: &Shared, mut d: Deal) -> Deal {
    if let Ok(v) = s.get(&format!("/points/{}", d.member_id), "member").await
        && let Ok(b) = read::balance(&v)
    {
        d.balance = b.point;
    }
    d
}

pub async fn write(s: &Shared, k: &Keyed) -> Attempt {
    let c = &k.command;
    match c {
        Command::Join(m) => answer(post(s, k, "/members", wire::member_body(m)).await, c, |v| {
            Ok(Outcome::Member(read::member(v)?))
        }),
        Command::Withdraw(id) => {
            let mut m = match s.get(&format!("/members/{id}"), "member").await {
                Ok(v) => match read::member(&v) {
                    Ok(m) => m,
                    Err(e) => return Attempt::Answered(Err(e)),
                },
                Err(e) => return Attempt::Answered(Err(e)),
            };
            let sent = s
                .send(
                    Method::DELETE,
                    &format!("/members/{id}"),
                    None,
                    k.key.as_ref(),
                    s.timeout,
                )
                .await;
            m.status = MemberStatus::Invalid;
            match sent {
                // 204, no body: the original deletes the row and forfeits nothing.
                super::Sent::Answer { status, .. } if (200..300).contains(&status) => {
                    Attempt::Answered(Ok(Outcome::Withdrawal(Withdrawal {
                        member: m,
                        forfeited: Points::ZERO,
                    })))
                }
                other => answer(other, c, |_| Err(Error::store("unreachable"))),
            }
        }
        Command::AddMerchant(_) => Attempt::Answered(Err(not_offered("merchant registry"))),
        Command::Bill(b) => answer(
            post(s, k, "/billings", wire::billing_body(b)).await,
            c,
            |v| Ok(Outcome::Billing(read::billing(v)?)),
        ),
        Command::Deal(d) => {
            let body = match deal_body(s, d).await {
                Ok(b) => b,
                Err(e) => return Attempt::Answered(Err(e)),
            };
            let attempt = answer(post(s, k, "/deals", body).await, c, |v| {
                Ok(Outcome::Deal(read::deal(v)?))
            });
            match attempt {
                Attempt::Answered(Ok(Outcome::Deal(d))) => {
                    Attempt::Answered(Ok(Outcome::Deal(with_balance(s, d).await)))
                }
                other => other,
            }
        }
    }
}

/// The original's deal body. Its cancels carry the original's member, merchant, point and
/// amount (it trusts the client for them), so the original deal is read first.
async fn deal_body(s: &Shared, d: &DealRequest) -> Result<Value> {
    Ok(match d {
        DealRequest::Save { .. } => wire::deal_body(d),
        // The original reads the point as a Double.
        DealRequest::Use { points, .. } => {
            let mut v = wire::deal_body(d);
            v["point"] = json!(points.as_f64());
            v
        }
        DealRequest::Cancel { original, kind, .. } => {
            let o = read::deal(&s.get(&format!("/deals/{original}"), "deal").await?)?;
            let ty = match (kind, o.deal_type) {
                (CancelKind::Exactly(t), _) => *t,
                (CancelKind::Any, DealType::Save) => DealType::SaveCancel,
                (CancelKind::Any, DealType::Use) => DealType::UseCancel,
                (CancelKind::Any, _) => {
                    return Err(
                        crate::domain::Error::rule("originalDealId", "is itself a cancel").into(),
                    );
                }
            };
            json!({"type": ty.as_str(), "memberId": o.member_id.0, "merchantId": o.merchant_id.0,
                "point": o.point.as_f64(), "dealAmount": o.deal_amount})
        }
    })
}
