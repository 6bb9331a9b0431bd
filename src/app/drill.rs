//! Drill-down from the Insights tab: `Enter` on a row opens the member's analysis, the
//! Members tab filtered to a segment, or the Deals tab filtered to the member, merchant or
//! month behind it; `Esc` (or `q`) there puts the tab's own filter back and returns.

use super::action::Effect;
use super::loads;
use super::state::{State, StatusKind, Tab, View};
use super::update::{go_tab, open_analysis};

/// Enter on an Insights row: the member's analysis, the Members tab filtered to a segment,
/// or the Deals tab filtered to the member, merchant or month behind it. The filter shows in
/// the title; `Esc` (or `q`) there comes back and puts the tab's own filter back.
pub(super) fn insight_drill(s: &mut State) -> Vec<Effect> {
    use crate::app::action::{DealTable, MemberTable};
    use crate::app::state::Drilled;
    use crate::app::state::deals::DealFilter;
    use crate::app::state::insights::Drill;
    let Some(d) = s.insights.drill() else {
        s.say(StatusKind::Info, "nothing to open for this row");
        return Vec::new();
    };
    let (tab, label) = match &d {
        Drill::Member(m) => return open_analysis(s, *m),
        Drill::Segment(name, _) => (Tab::Members, format!("segment: {name}")),
        Drill::MemberDeals(_, what) | Drill::MerchantDeals(_, what) => {
            (Tab::Deals, format!("anomaly: {what}"))
        }
        Drill::Month(m) => (Tab::Deals, format!("deals of {m}")),
    };
    // One drill-down at a time: an earlier one's filter is put back first.
    let before = match s.drilled.take() {
        Some(old) if old.tab == tab => old.before,
        Some(old) => {
            undo_drill(s, &old);
            current_filter(s, tab)
        }
        None => current_filter(s, tab),
    };
    s.drilled = Some(Drilled { tab, label, before });
    s.tab = tab;
    s.mark_seen();
    let deals = |s: &mut State, text: String| {
        s.deals.filter = DealFilter::parse(&text).unwrap_or_default();
        s.deals.filter_text = text;
        let f = s.deals.table.restart();
        loads::deals(s, DealTable::Deals, f)
    };
    let fx = match d {
        Drill::Member(_) => Vec::new(),
        Drill::Segment(name, members) => {
            s.members.analysis = None;
            s.members.query.clear();
            s.members.segment = Some(name.clone());
            let f = s.members.table.restart();
            let fx = vec![loads::members(s, MemberTable::Members, f)];
            s.say(
                StatusKind::Info,
                format!(
                    "segment {name}: {} · Esc back to Insights",
                    crate::views::format::plural(members, "member")
                ),
            );
            return fx;
        }
        Drill::MemberDeals(m, _) => deals(s, format!("member:{m}")),
        Drill::MerchantDeals(m, _) => deals(s, format!("merchant:{m}")),
        Drill::Month(m) => deals(s, format!("month:{m}")),
    };
    s.say(StatusKind::Info, "Esc back to Insights");
    fx
}

/// The filter text of a tab a drill-down replaces.
fn current_filter(s: &State, tab: Tab) -> String {
    match tab {
        Tab::Members => s.members.query.clone(),
        Tab::Deals => s.deals.filter_text.clone(),
        _ => String::new(),
    }
}

/// Puts back the filter a drill-down replaced; the tab reads its first rows when next shown.
fn undo_drill(s: &mut State, d: &super::state::Drilled) {
    match d.tab {
        Tab::Members => {
            s.members.segment = None;
            s.members.query = d.before.clone();
            s.members.table.forget();
        }
        Tab::Deals => {
            s.deals.filter = super::state::deals::DealFilter::parse(&d.before).unwrap_or_default();
            s.deals.filter_text = d.before.clone();
            s.deals.table.forget();
        }
        _ => {}
    }
}

/// `Esc` (or `q`) on a drilled-down tab: its filter put back, and back to Insights.
pub(super) fn drill_back(s: &mut State) -> Vec<Effect> {
    let Some(d) = s.drilled.take() else {
        return Vec::new();
    };
    undo_drill(s, &d);
    // What the drill-down said there no longer holds.
    if s.status
        .as_ref()
        .is_some_and(|st| st.view == Some(View::Tab(d.tab)))
    {
        s.status = None;
    }
    go_tab(s, Tab::Insights, true)
}
