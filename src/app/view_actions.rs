//! Actions on the current view's rows: `s` cycles the sort (remembered per view; store
//! orders reload, the others reorder the page on screen) and `y` copies the selection as
//! JSON. Part of `update`: pure.

use super::action::Effect;
use super::loads;
use super::state::billing::BILLING_SORTS;
use super::state::deals::DEAL_SORTS;
use super::state::members::MEMBER_SORTS;
use super::state::points::POINT_SORTS;
use super::state::{State, StatusKind, Tab};

pub(super) fn sort(s: &mut State) -> Vec<Effect> {
    let (name, effects) = match s.tab {
        Tab::Members => {
            let before = s.members.sort;
            s.members.sort = (before + 1) % MEMBER_SORTS.len();
            let reload = before <= 1 && s.members.sort <= 1 || s.members.sort == 0;
            let e = if reload && s.members.analysis.is_none() {
                s.members.table.reset();
                vec![loads::members(s, None, false)]
            } else {
                s.members.apply_sort();
                Vec::new()
            };
            (MEMBER_SORTS[s.members.sort], e)
        }
        Tab::Deals => {
            s.deals.sort = (s.deals.sort + 1) % DEAL_SORTS.len();
            if s.deals.sort == 0 {
                (DEAL_SORTS[0], loads::reload_current(s))
            } else {
                s.deals.apply_sort();
                (DEAL_SORTS[s.deals.sort], Vec::new())
            }
        }
        Tab::Points => {
            s.points.sort = (s.points.sort + 1) % POINT_SORTS.len();
            if s.points.sort == 0 {
                (POINT_SORTS[0], loads::reload_current(s))
            } else {
                s.points.apply_sort();
                (POINT_SORTS[s.points.sort], Vec::new())
            }
        }
        Tab::Billing => {
            s.billing.sort = (s.billing.sort + 1) % BILLING_SORTS.len();
            (BILLING_SORTS[s.billing.sort], Vec::new())
        }
        Tab::Events => {
            s.say(StatusKind::Info, "events are in log order");
            return Vec::new();
        }
        Tab::Insights => {
            s.say(StatusKind::Info, "reports keep their own order");
            return Vec::new();
        }
    };
    s.say(StatusKind::Info, format!("sorted by {name}"));
    effects
}

pub(super) fn yank(s: &mut State) -> Vec<Effect> {
    let text = match s.tab {
        Tab::Members => match &s.members.analysis {
            Some(a) => a
                .detail
                .as_ref()
                .and_then(|d| serde_json::to_string(&d.member).ok()),
            None => s
                .members
                .selected()
                .and_then(|m| serde_json::to_string(m).ok()),
        },
        Tab::Deals => s
            .deals
            .table
            .selected_row()
            .and_then(|d| serde_json::to_string(d).ok()),
        Tab::Points => s
            .points
            .table
            .selected_row()
            .and_then(|b| serde_json::to_string(&b.balance).ok()),
        Tab::Billing => s
            .billing
            .selected_row()
            .and_then(|r| serde_json::to_string(&r.preview).ok()),
        Tab::Events => s
            .events
            .selected()
            .and_then(|e| serde_json::to_string(e).ok()),
        Tab::Insights => s
            .insights
            .report
            .as_ref()
            .and_then(|r| serde_json::to_string(r).ok()),
    };
    match text {
        Some(t) => {
            s.say(
                StatusKind::Info,
                format!("copied {} bytes (OSC 52)", t.len()),
            );
            vec![Effect::Yank(t)]
        }
        None => Vec::new(),
    }
}
