//! Asking for data and taking it in: the load effects of each tab (only the page on screen
//! plus read-ahead) and how worker results land in the state. Part of `update`: pure.

use super::action::{Effect, Loaded, Target};
use super::state::paged::{PAGE_ROWS, PageRequest};
use super::state::{State, StatusKind, Tab};
use crate::domain::{BalanceQuery, DealId, MemberQuery, MemberSort, Points};

/// Deals kept for the member analysis chart (balance over time).
pub const CHART_DEALS: usize = 400;

fn count(s: &mut State, e: Effect) -> Effect {
    if e.is_request() {
        s.pending += 1;
    }
    e
}

pub fn members(s: &mut State, start: Option<crate::domain::MemberId>, select_last: bool) -> Effect {
    let generation = s.members.table.begin_load();
    let query = MemberQuery {
        status: s.members.status,
        query: Some(s.members.query.clone()).filter(|q| !q.trim().is_empty()),
        after: start,
        limit: PAGE_ROWS + 1,
        sort: if s.members.sort == 1 {
            MemberSort::IdDesc
        } else {
            MemberSort::Id
        },
    };
    count(
        s,
        Effect::LoadMembers {
            generation,
            query,
            select_last,
        },
    )
}

pub fn deals(s: &mut State, start: Option<DealId>, select_last: bool) -> Effect {
    let generation = s.deals.table.begin_load();
    let query = s.deals.filter.query(start, PAGE_ROWS + 1);
    count(
        s,
        Effect::LoadDeals {
            generation,
            query,
            select_last,
        },
    )
}

pub fn balances(
    s: &mut State,
    start: Option<(Points, crate::domain::MemberId)>,
    select_last: bool,
) -> Effect {
    let generation = s.points.table.begin_load();
    count(
        s,
        Effect::LoadBalances {
            generation,
            query: BalanceQuery {
                after: start,
                limit: PAGE_ROWS + 1,
            },
            select_last,
        },
    )
}

pub fn history(s: &mut State, start: Option<DealId>, select_last: bool) -> Vec<Effect> {
    let Some(a) = s.members.analysis.as_mut() else {
        return Vec::new();
    };
    let generation = a.history.begin_load();
    let e = Effect::LoadHistory {
        member: a.member,
        generation,
        before: start,
        limit: PAGE_ROWS + 1,
        select_last,
    };
    vec![count(s, e)]
}

pub fn detail(s: &mut State, member: crate::domain::MemberId) -> Effect {
    count(s, Effect::LoadDetail(member))
}

pub fn billing(s: &mut State) -> Effect {
    s.billing.generation += 1;
    s.billing.loading = true;
    let e = Effect::LoadBilling {
        generation: s.billing.generation,
        month: s.billing.month,
    };
    count(s, e)
}

/// Loads the Insights tab's report for its view and window.
pub fn insights(s: &mut State) -> Effect {
    // Windows moved back are counted in UTC days; the current one is the store's own today.
    let today = crate::domain::reports::counters::day_of(
        s.now,
        chrono::FixedOffset::east_opt(0).expect("UTC"),
    );
    let i = &mut s.insights;
    i.generation += 1;
    i.loading = true;
    let e = Effect::LoadReport {
        generation: i.generation,
        query: i.query(today),
    };
    count(s, e)
}

pub fn request(s: &mut State, e: Effect) -> Effect {
    count(s, e)
}

/// Reloads what the current tab shows, keeping the page and the selection.
pub fn reload_current(s: &mut State) -> Vec<Effect> {
    match s.tab {
        Tab::Members => match &s.members.analysis {
            Some(a) => {
                let (m, start) = (a.member, a.history.start);
                let mut v = vec![detail(s, m)];
                v.extend(history(s, start, false));
                v
            }
            None => {
                let start = s.members.table.start;
                vec![members(s, start, false)]
            }
        },
        Tab::Deals => {
            let start = s.deals.table.start;
            vec![deals(s, start, false)]
        }
        Tab::Points => {
            let start = s.points.table.start;
            vec![balances(s, start, false), count(s, Effect::LoadSummary)]
        }
        Tab::Billing => vec![billing(s)],
        Tab::Events => Vec::new(),
        Tab::Insights => vec![insights(s)],
    }
}

/// True when the current tab has a load in flight (a refresh then waits).
pub fn loading_current(s: &State) -> bool {
    match s.tab {
        Tab::Members => match &s.members.analysis {
            Some(a) => a.history.loading,
            None => s.members.table.loading,
        },
        Tab::Deals => s.deals.table.loading,
        Tab::Points => s.points.table.loading,
        Tab::Billing => s.billing.loading,
        Tab::Events => false,
        Tab::Insights => s.insights.loading,
    }
}

pub fn loaded_once(s: &State) -> bool {
    match s.tab {
        Tab::Members => s.members.table.loaded_once,
        Tab::Deals => s.deals.table.loaded_once,
        Tab::Points => s.points.table.loaded_once,
        Tab::Billing => s.billing.loaded_once,
        Tab::Events => true,
        Tab::Insights => s.insights.loaded_once,
    }
}

/// Follows a page request from a table move with the matching load.
pub fn page(s: &mut State, req: Option<PageRequest<impl Into<Cursor>>>) -> Vec<Effect> {
    let Some(PageRequest::Load { start, select_last }) = req else {
        return Vec::new();
    };
    match start.map(Into::into) {
        None => match s.tab {
            Tab::Members if s.members.analysis.is_some() => history(s, None, select_last),
            Tab::Members => vec![members(s, None, select_last)],
            Tab::Deals => vec![deals(s, None, select_last)],
            Tab::Points => vec![balances(s, None, select_last)],
            _ => Vec::new(),
        },
        Some(Cursor::Member(m)) => vec![members(s, Some(m), select_last)],
        Some(Cursor::Deal(d)) if s.tab == Tab::Members => history(s, Some(d), select_last),
        Some(Cursor::Deal(d)) => vec![deals(s, Some(d), select_last)],
        Some(Cursor::Balance(p, m)) => vec![balances(s, Some((p, m)), select_last)],
    }
}

/// The cursor types of the paged tables.
pub enum Cursor {
    Member(crate::domain::MemberId),
    Deal(DealId),
    Balance(Points, crate::domain::MemberId),
}

impl From<crate::domain::MemberId> for Cursor {
    fn from(m: crate::domain::MemberId) -> Cursor {
        Cursor::Member(m)
    }
}
impl From<DealId> for Cursor {
    fn from(d: DealId) -> Cursor {
        Cursor::Deal(d)
    }
}
impl From<(Points, crate::domain::MemberId)> for Cursor {
    fn from((p, m): (Points, crate::domain::MemberId)) -> Cursor {
        Cursor::Balance(p, m)
    }
}

/// Takes a worker result into the state.
pub fn accept(s: &mut State, l: Loaded) -> Vec<Effect> {
    s.pending = s.pending.saturating_sub(1);
    let rows = s.table_rows();
    match l {
        Loaded::Members {
            generation,
            rows: r,
            select_last,
        } => {
            if s.members.table.accept(generation, r, select_last, rows) {
                s.members.apply_sort();
            }
        }
        Loaded::Detail(d) => {
            if let Some(a) = s.members.analysis.as_mut()
                && a.member == d.member.member_id
            {
                a.detail = Some(*d);
            }
        }
        Loaded::History {
            member,
            generation,
            rows: r,
            select_last,
        } => {
            if let Some(a) = s.members.analysis.as_mut()
                && a.member == member
            {
                a.history.accept(generation, r, select_last, rows);
            }
        }
        Loaded::Deals {
            generation,
            rows: r,
            select_last,
        } => {
            if s.deals.table.accept(generation, r, select_last, rows) {
                s.deals.apply_sort();
            }
        }
        Loaded::Balances {
            generation,
            rows: r,
            select_last,
        } => {
            if s.points.table.accept(generation, r, select_last, rows) {
                s.points.apply_sort();
            }
        }
        Loaded::Summary(sum) => s.points.summary = Some(sum),
        Loaded::Merchants(names) => s.merchant_names.extend(names),
        Loaded::Billing {
            generation,
            month,
            rows: r,
            history,
        } => {
            for r in &r {
                if let Some(n) = &r.merchant.merchant.name {
                    s.merchant_names
                        .insert(r.merchant.merchant.merchant_id, n.clone());
                }
            }
            let b = &mut s.billing;
            if generation == b.generation && month == b.month {
                b.rows = r;
                b.history = history;
                b.loading = false;
                b.loaded_once = true;
                b.selected = b.selected.min(b.shown().len().saturating_sub(1));
            }
        }
        Loaded::Report { generation, report } => s.insights.accept(generation, *report),
        Loaded::WithdrawTarget(m) => super::confirms::withdraw(s, &m),
        Loaded::SettleTarget(p, name) => super::confirms::settle(s, &p, name.as_deref()),
        Loaded::Deal(d, cancel) => {
            if cancel {
                super::confirms::cancel(s, &d);
            } else {
                let json = serde_json::to_string_pretty(&d).unwrap_or_default();
                s.modal = Some(super::state::Modal::EventJson {
                    title: format!("Deal {}", d.id),
                    json,
                });
            }
        }
    }
    Vec::new()
}

pub fn failed(s: &mut State, target: Target, generation: u64, error: crate::api::Error) {
    s.pending = s.pending.saturating_sub(1);
    match target {
        Target::Members => s.members.table.fail(generation),
        Target::History => {
            if let Some(a) = s.members.analysis.as_mut() {
                a.history.fail(generation);
            }
        }
        Target::Deals => s.deals.table.fail(generation),
        Target::Balances => s.points.table.fail(generation),
        Target::Billing => {
            if generation == s.billing.generation {
                s.billing.loading = false;
            }
        }
        Target::Report => {
            if generation == s.insights.generation {
                s.insights.loading = false;
            }
        }
        Target::Detail | Target::Summary | Target::Lookup => {}
    }
    s.say(StatusKind::Error, error.to_string());
}
