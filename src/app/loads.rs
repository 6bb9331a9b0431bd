//! Asking for data and taking it in: the window reads of each table (a page around what is on
//! screen) and how worker results land in the state. Part of `update`: pure.

use super::action::{DealTable, DealUse, Effect, Loaded, MemberTable, Target};
use super::state::table::{Fetch, Landed, MAX_ROWS, PAGE_ROWS, Table};
use super::state::{State, StatusKind, Tab, View};
use crate::domain::{Anchor, MemberId, MemberWindow};

/// Deals kept for the member analysis chart (balance over time).
pub const CHART_DEALS: usize = 400;

fn count(s: &mut State, e: Effect) -> Effect {
    if e.is_request() {
        s.pending += 1;
    }
    e
}

/// The anchor and size of a read for `fetch` on `t`, with `key` giving a row's cursor.
fn anchor_of<T, C>(t: &Table<T>, fetch: Fetch, key: impl Fn(&T) -> C) -> (Anchor<C>, usize) {
    match fetch {
        Fetch::First => (Anchor::First, PAGE_ROWS),
        Fetch::Last => (Anchor::Last, PAGE_ROWS),
        Fetch::After => match t.rows.last() {
            Some(r) => (Anchor::After(key(r)), PAGE_ROWS),
            None => (Anchor::First, PAGE_ROWS),
        },
        Fetch::Before => match t.rows.first() {
            Some(r) => (Anchor::Before(key(r)), PAGE_ROWS),
            None => (Anchor::First, PAGE_ROWS),
        },
        Fetch::Reload => {
            let n = t.rows.len().clamp(PAGE_ROWS, MAX_ROWS);
            match t.rows.first() {
                Some(r) if t.base != Some(0) => (Anchor::From(key(r)), n),
                _ => (Anchor::First, n),
            }
        }
    }
}

pub fn members(s: &mut State, table: MemberTable, fetch: Fetch) -> Effect {
    let (t, sort, query, status, segment) = match table {
        MemberTable::Members => (
            &mut s.members.table,
            s.members.sort,
            s.members.query.trim().to_string(),
            s.members.status,
            s.members.segment.clone(),
        ),
        MemberTable::Points => (
            &mut s.points.table,
            s.points.sort,
            s.points.query.trim().to_string(),
            None,
            None,
        ),
    };
    let (anchor, limit) = anchor_of(t, fetch, |m| sort.by.key_of(m));
    let generation = t.begin(fetch);
    let query = MemberWindow {
        status,
        query: Some(query).filter(|q| !q.is_empty()),
        order: sort.by,
        descending: sort.descending,
        anchor,
        limit,
        segment,
        // A reload after the data moved: the store counts the first row's place (the
        // index up to it, off the UI thread); the ends and the id order know it anyway.
        place: fetch == Fetch::Reload && sort.by != crate::domain::MemberOrder::Id,
    };
    count(
        s,
        Effect::LoadMembers {
            table,
            generation,
            fetch,
            query,
        },
    )
}

pub fn deals(s: &mut State, table: DealTable, fetch: Fetch) -> Vec<Effect> {
    let (t, filter, sort) = match table {
        DealTable::Deals => (&mut s.deals.table, s.deals.filter.clone(), s.deals.sort),
        DealTable::History(m) => match s.members.analysis.as_mut() {
            Some(a) if a.member == m => {
                let mut f = a.filter.clone();
                f.member = Some(m);
                (&mut a.history, f, a.sort)
            }
            _ => return Vec::new(),
        },
    };
    let (anchor, limit) = anchor_of(t, fetch, |d| d.id);
    let generation = t.begin(fetch);
    let mut query = filter.window(sort, anchor, limit);
    query.place = fetch == Fetch::Reload && query.order == crate::domain::DealOrder::Points;
    vec![count(
        s,
        Effect::LoadDeals {
            table,
            generation,
            fetch,
            query,
            member_name: filter
                .member_name
                .clone()
                .filter(|_| filter.member.is_none()),
        },
    )]
}

pub fn detail(s: &mut State, member: MemberId) -> Effect {
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
    let today = crate::domain::reports::counters::day_of(s.now, s.zone);
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

/// A read for the table on screen (none for Billing and Events, which hold every row).
pub fn fetch_current(s: &mut State, fetch: Option<Fetch>) -> Vec<Effect> {
    let Some(fetch) = fetch else {
        return Vec::new();
    };
    match s.view() {
        View::Analysis => match s.members.analysis.as_ref().map(|a| a.member) {
            Some(m) => deals(s, DealTable::History(m), fetch),
            None => Vec::new(),
        },
        View::Tab(Tab::Members) => vec![members(s, MemberTable::Members, fetch)],
        View::Tab(Tab::Points) => vec![members(s, MemberTable::Points, fetch)],
        View::Tab(Tab::Deals) => deals(s, DealTable::Deals, fetch),
        View::Tab(_) => Vec::new(),
    }
}

/// Reloads what the current tab shows, keeping the window and the selected record.
pub fn reload_current(s: &mut State) -> Vec<Effect> {
    match s.view() {
        View::Analysis => {
            let Some(m) = s.members.analysis.as_ref().map(|a| a.member) else {
                return Vec::new();
            };
            let mut v = vec![detail(s, m)];
            v.extend(deals(s, DealTable::History(m), Fetch::Reload));
            v
        }
        View::Tab(Tab::Points) => vec![
            members(s, MemberTable::Points, Fetch::Reload),
            count(s, Effect::LoadSummary),
        ],
        View::Tab(Tab::Billing) => vec![billing(s)],
        View::Tab(Tab::Events) => Vec::new(),
        View::Tab(Tab::Insights) => vec![insights(s)],
        View::Tab(_) => fetch_current(s, Some(Fetch::Reload)),
    }
}

/// True when the current tab has a read in flight (a refresh then waits).
pub fn loading_current(s: &State) -> bool {
    match s.view() {
        View::Analysis => s
            .members
            .analysis
            .as_ref()
            .is_some_and(|a| a.history.is_loading()),
        View::Tab(Tab::Members) => s.members.table.is_loading(),
        View::Tab(Tab::Deals) => s.deals.table.is_loading(),
        View::Tab(Tab::Points) => s.points.table.is_loading(),
        View::Tab(Tab::Billing) => s.billing.loading,
        View::Tab(Tab::Events) => false,
        View::Tab(Tab::Insights) => s.insights.loading,
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

/// What a landed window means for the status line and what to read next.
fn after_landing(s: &mut State, landed: Landed, what: &str, label: String) {
    match landed {
        Landed::Lost { .. } => s.say(
            StatusKind::Info,
            format!("{what} {label} left this view (changed or filtered out); selection moved"),
        ),
        // Read again at the next refresh.
        Landed::Dropped => s.seen_version[s.tab.index()] = 0,
        Landed::Quiet | Landed::Stale => {}
    }
}

/// Takes a worker result into the state.
pub fn accept(s: &mut State, l: Loaded) -> Vec<Effect> {
    s.pending = s.pending.saturating_sub(1);
    let rows = s.table_rows();
    match l {
        Loaded::Members {
            table,
            generation,
            fetch,
            window,
        } => {
            s.remember_names(window.rows.iter().map(|m| (m.member_id, m.name.as_str())));
            for m in &window.rows {
                s.member_points.insert(m.member_id, m.point);
            }
            let t = match table {
                MemberTable::Members => &mut s.members.table,
                MemberTable::Points => &mut s.points.table,
            };
            let before = t.selected_row().map(|m| (m.member_id, m.name.clone()));
            let landed = t.accept(generation, fetch, window, rows);
            let next = if landed == Landed::Stale {
                None
            } else {
                t.resume(rows)
            };
            if let Some((id, name)) = before {
                after_landing(s, landed, "member", format!("{id} {name}"));
            }
            match next {
                Some(f) => vec![members(s, table, f)],
                None => Vec::new(),
            }
        }
        Loaded::Deals {
            table,
            generation,
            fetch,
            window,
            names,
        } => {
            s.remember_names(names.iter().map(|(id, n)| (*id, n.as_str())));
            let t = match table {
                DealTable::Deals => &mut s.deals.table,
                DealTable::History(m) => match s.members.analysis.as_mut() {
                    Some(a) if a.member == m => &mut a.history,
                    _ => return Vec::new(),
                },
            };
            let before = t.selected_id();
            let landed = t.accept(generation, fetch, window, rows);
            let next = if landed == Landed::Stale {
                None
            } else {
                t.resume(rows)
            };
            if let Some(id) = before {
                after_landing(s, landed, "deal", id.to_string());
            }
            let mut fx = match next {
                Some(f) => deals(s, table, f),
                None => Vec::new(),
            };
            fx.extend(merchants_if_unknown(s));
            fx
        }
        Loaded::Names { asked, found } => {
            s.names_loading = false;
            s.remember_names(found.iter().map(|m| (m.member_id, m.name.as_str())));
            for m in &found {
                s.member_points.insert(m.member_id, m.point);
            }
            for id in asked {
                if !s.member_points.contains_key(&id) {
                    s.unknown_members.insert(id);
                }
            }
            Vec::new()
        }
        Loaded::Detail(d) => {
            if let Some(a) = s.members.analysis.as_mut()
                && a.member == d.member.member_id
            {
                a.set_detail(*d);
            }
            Vec::new()
        }
        Loaded::Summary(sum) => {
            s.points.summary = Some(sum);
            Vec::new()
        }
        Loaded::Merchants(ms) => {
            s.merchants_loading = false;
            for m in ms {
                let id = m.merchant.merchant_id;
                s.merchant_rates.insert(id, m.merchant.earn_rate_bp);
                s.merchant_names
                    .insert(id, m.merchant.name.unwrap_or_else(|| format!("#{id}")));
            }
            Vec::new()
        }
        Loaded::Billing {
            generation,
            month,
            rows: r,
            history,
        } => {
            for r in &r {
                let m = &r.merchant.merchant;
                s.merchant_rates.insert(m.merchant_id, m.earn_rate_bp);
                if let Some(n) = &m.name {
                    s.merchant_names.insert(m.merchant_id, n.clone());
                }
            }
            let b = &mut s.billing;
            if generation == b.generation && month == b.month {
                b.rows = r;
                b.history = history;
                b.loading = false;
                b.loaded_once = true;
                b.recompute();
            }
            Vec::new()
        }
        Loaded::Report { generation, report } => {
            s.insights.accept(generation, *report);
            Vec::new()
        }
        Loaded::WithdrawTarget(m) => {
            super::confirms::withdraw(s, &m);
            Vec::new()
        }
        Loaded::SettleTarget(p, name) => {
            super::confirms::settle(s, &p, name.as_deref());
            Vec::new()
        }
        Loaded::Deal(d, why, name) => {
            if let Some(n) = &name {
                s.remember_names([(d.member_id, n.as_str())]);
            }
            match why {
                DealUse::Cancel => super::confirms::cancel(s, &d),
                DealUse::Describe => super::describe::deal(s, &d),
                DealUse::Echo => s.form_original = Some(*d),
            }
            Vec::new()
        }
    }
}

/// Merchant names are read once; a deal at a merchant not seen yet reads them again.
fn merchants_if_unknown(s: &mut State) -> Vec<Effect> {
    let unknown = s
        .deals
        .table
        .rows
        .iter()
        .any(|d| !s.merchant_names.contains_key(&d.merchant_id));
    if unknown && !s.merchants_loading {
        s.merchants_loading = true;
        vec![count(s, Effect::LoadMerchants)]
    } else {
        Vec::new()
    }
}

/// Names for the members of events not yet named (one batch read at a time).
pub fn names_for_events(s: &mut State) -> Vec<Effect> {
    if s.names_loading {
        return Vec::new();
    }
    let mut ids: Vec<MemberId> = s
        .events
        .ring
        .iter()
        .rev()
        .take(2_000)
        .filter_map(|e| e.body.member_id())
        .filter(|m| !s.member_names.contains_key(m))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(1_000);
    if ids.is_empty() {
        return Vec::new();
    }
    s.names_loading = true;
    vec![count(s, Effect::LoadNames(ids))]
}

pub fn failed(s: &mut State, target: Target, generation: u64, error: crate::api::Error) {
    s.pending = s.pending.saturating_sub(1);
    match target {
        Target::Members(MemberTable::Members) => s.members.table.fail(generation),
        Target::Members(MemberTable::Points) => s.points.table.fail(generation),
        Target::Deals(DealTable::Deals) => s.deals.table.fail(generation),
        Target::Deals(DealTable::History(_)) => {
            if let Some(a) = s.members.analysis.as_mut() {
                a.history.fail(generation);
            }
        }
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
        Target::Names => {
            s.names_loading = false;
            return; // names are a help: ids stay on screen, no error to show
        }
        Target::Lookup => s.merchants_loading = false,
        Target::Detail | Target::Summary => {}
    }
    s.say(StatusKind::Error, error.to_string());
}
