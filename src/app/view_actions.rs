//! Actions on the current view's rows: `s` cycles the sort, `S` reverses it, a column key
//! picks a column (all remembered per view, all orders of the whole table: the store's
//! indexes reload from the first row); `y` offers what to copy. Part of `update`: pure.

use super::action::Effect;
use super::loads;
use super::state::sort::{DealSort, MemberSort};
use super::state::{Modal, State, StatusKind, Tab, View};
use crate::domain::{DealOrder, MemberOrder};

/// What a sort key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Next,
    Reverse,
    Column(MemberOrder),
    /// A Deals column (`I` is `Column(Id)` there too).
    DealColumn(DealOrder),
}

pub(super) fn sort(s: &mut State, key: SortKey) -> Vec<Effect> {
    let label = match s.view() {
        View::Analysis => {
            let Some(a) = s.members.analysis.as_mut() else {
                return Vec::new();
            };
            if let SortKey::Column(_) | SortKey::DealColumn(_) = key {
                s.say(
                    StatusKind::Info,
                    "the history is by date: s or S turns it around",
                );
                return Vec::new();
            }
            a.sort = a.sort.reverse();
            let f = a.history.restart();
            let l = a.sort.label();
            let mut fx = loads::fetch_current(s, Some(f));
            s.say(StatusKind::Info, format!("history sorted by {l}"));
            return std::mem::take(&mut fx);
        }
        View::Tab(Tab::Members) => {
            let m = &mut s.members;
            m.sort = match key {
                SortKey::Next => m.sort.next(),
                SortKey::Reverse => m.sort.reverse(),
                SortKey::Column(c) => m.sort.pick(c),
                SortKey::DealColumn(_) => m.sort,
            };
            m.sort.label()
        }
        View::Tab(Tab::Points) => {
            let p = &mut s.points;
            p.sort = match key {
                SortKey::Next => p.sort.next_among(MemberSort::POINTS),
                SortKey::Reverse => p.sort.reverse(),
                SortKey::Column(c) if MemberSort::POINTS.contains(&c) => p.sort.pick(c),
                SortKey::Column(_) | SortKey::DealColumn(_) => p.sort,
            };
            p.sort.label()
        }
        View::Tab(Tab::Deals) => {
            let scoped = s.deals.filter.scoped();
            let d = &mut s.deals;
            let shown = d.shown_sort();
            d.sort = match key {
                SortKey::Next => d.sort.next(scoped),
                SortKey::Reverse => shown.reverse(),
                SortKey::Column(MemberOrder::Id) => shown.pick(DealOrder::Id),
                SortKey::DealColumn(c) if scoped && c != DealOrder::Id => {
                    let name = DealSort::column(c).name();
                    s.say(
                        StatusKind::Info,
                        format!(
                            "{name} order covers all deals: clear the member or merchant filter first"
                        ),
                    );
                    return Vec::new();
                }
                SortKey::DealColumn(c) => shown.pick(c),
                SortKey::Column(_) => shown,
            };
            d.shown_sort().label()
        }
        View::Tab(Tab::Billing) => {
            let b = &mut s.billing;
            b.sort = match key {
                SortKey::Next => b.sort.next(),
                SortKey::Reverse => b.sort.reverse(),
                SortKey::Column(_) | SortKey::DealColumn(_) => b.sort,
            };
            b.recompute();
            let l = b.sort.label();
            s.say(StatusKind::Info, format!("sorted by {l}"));
            return Vec::new();
        }
        View::Tab(Tab::Events) => {
            s.say(StatusKind::Info, "events are in log order");
            return Vec::new();
        }
        View::Tab(Tab::Insights) => {
            s.say(StatusKind::Info, "reports keep their own order");
            return Vec::new();
        }
    };
    let f = match s.tab {
        Tab::Members => s.members.table.restart(),
        Tab::Points => s.points.table.restart(),
        _ => s.deals.table.restart(),
    };
    s.say(StatusKind::Info, format!("sorted by {label}"));
    loads::fetch_current(s, Some(f))
}

/// `y`: what to copy from the selection (id, name, phone, JSON), picked in a small menu.
pub(super) fn yank(s: &mut State) -> Vec<Effect> {
    let mut choices: Vec<(String, String)> = Vec::new();
    let member = |choices: &mut Vec<(String, String)>, m: &crate::domain::MemberView| {
        choices.push(("member id".into(), m.member_id.to_string()));
        choices.push(("name".into(), m.name.clone()));
        if let Some(p) = &m.phone {
            choices.push(("phone".into(), p.clone()));
        }
        if let Ok(j) = serde_json::to_string(m) {
            choices.push(("JSON".into(), j));
        }
    };
    match s.view() {
        View::Analysis => {
            if let Some(d) = s.members.analysis.as_ref().and_then(|a| a.detail.as_ref()) {
                member(&mut choices, &d.member);
            }
        }
        View::Tab(Tab::Members) => {
            if let Some(m) = s.members.selected() {
                member(&mut choices, m);
            }
        }
        View::Tab(Tab::Points) => {
            if let Some(m) = s.points.table.selected_row() {
                member(&mut choices, m);
            }
        }
        View::Tab(Tab::Deals) => {
            if let Some(d) = s.deals.table.selected_row() {
                choices.push(("deal id".into(), d.id.to_string()));
                choices.push(("member id".into(), d.member_id.to_string()));
                if let Some(n) = s.member_names.get(&d.member_id) {
                    choices.push(("member name".into(), n.clone()));
                }
                if let Ok(j) = serde_json::to_string(d) {
                    choices.push(("JSON".into(), j));
                }
            }
        }
        View::Tab(Tab::Billing) => {
            if let Some(r) = s.billing.selected_row() {
                let m = &r.merchant.merchant;
                choices.push(("merchant id".into(), m.merchant_id.to_string()));
                if let Some(n) = &m.name {
                    choices.push(("name".into(), n.clone()));
                }
                if let Ok(j) = serde_json::to_string(&r.preview) {
                    choices.push(("JSON".into(), j));
                }
            }
        }
        View::Tab(Tab::Events) => {
            if let Some(e) = s.events.selected() {
                choices.push(("offset".into(), e.offset.to_string()));
                if let Some(m) = e.body.member_id() {
                    choices.push(("member id".into(), m.to_string()));
                }
                if let Ok(j) = serde_json::to_string(e) {
                    choices.push(("JSON".into(), j));
                }
            }
        }
        View::Tab(Tab::Insights) => {
            if let Some(t) = s.insights.tables.first()
                && let Some(row) = t.rows.get(s.insights.selected)
            {
                choices.push(("row".into(), row.join(",")));
            }
            if let Some(j) = s
                .insights
                .report
                .as_ref()
                .and_then(|r| serde_json::to_string(r).ok())
            {
                choices.push(("report JSON".into(), j));
            }
        }
    }
    if choices.is_empty() {
        s.say(StatusKind::Info, "nothing selected to copy");
    } else {
        s.modal = Some(Modal::Yank {
            choices,
            selected: 0,
        });
    }
    Vec::new()
}
