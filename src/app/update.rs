//! `update(state, action) -> effects`: the one place the console's state changes. Pure: no
//! I/O, no clock, no channels; the loop runs the effects it returns.

use crossterm::event::{KeyEvent, KeyEventKind, MouseEventKind};

use super::action::{Action, DealUse, Effect};
use super::confirms;
use super::drill::{drill_back, insight_drill};
use super::forms::Form;
use super::keymap::{Key, KeyAction};
use super::loads;
use super::state::members::Analysis;
use super::state::{FilterTarget, Modal, State, StatusKind, Tab, ThemeName, View};
use crate::domain::{Command, MemberId};

pub fn update(s: &mut State, action: Action) -> Vec<Effect> {
    let fx = step(s, action);
    // An open form's notes follow what was typed and what was read (names, rates): computed
    // here once per change, so the view only draws them.
    let notes = match &s.modal {
        Some(Modal::Form(f)) => Some(f.notes(s)),
        _ => None,
    };
    if let (Some(n), Some(Modal::Form(f))) = (notes, s.modal.as_mut()) {
        f.shown_notes = n;
    }
    fx
}

fn step(s: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Key(k) if k.kind == KeyEventKind::Release => Vec::new(),
        Action::Key(k) => match s.modal.take() {
            Some(m) => super::modal::modal_key(s, m, k),
            None => key(s, k),
        },
        Action::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp if s.modal.is_none() => perform(s, KeyAction::Up),
            MouseEventKind::ScrollDown if s.modal.is_none() => perform(s, KeyAction::Down),
            MouseEventKind::Down(_) if s.modal.is_none() && m.row == 1 => {
                match Tab::at_column(m.column) {
                    Some(t) => perform(s, KeyAction::GoTab(t)),
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        },
        Action::Resize(w, h) => {
            s.width = w;
            s.height = h;
            Vec::new()
        }
        Action::Tick {
            now,
            link,
            outbox,
            sent,
        } => {
            s.now = now;
            // A recovered connection clears the errors it caused.
            let recovered = s.header.link != link && (link == "connected" || link == "local");
            if recovered
                && s.status
                    .as_ref()
                    .is_some_and(|st| st.kind == StatusKind::Error)
            {
                s.status = None;
            }
            s.header.link = link;
            s.header.outbox = outbox;
            if s.status_shown().is_none() {
                s.status = None;
            }
            if !sent.is_empty() {
                outbox_sent(s, sent);
            }
            Vec::new()
        }
        Action::Refresh => {
            let mut fx = Vec::new();
            if s.merchant_names.is_empty() && !s.merchants_loading {
                s.merchants_loading = true;
                fx.push(loads::request(s, Effect::LoadMerchants));
            }
            if s.tab == Tab::Events {
                fx.extend(loads::names_for_events(s));
            }
            if (s.tab_stale() || !loads::loaded_once(s)) && !loads::loading_current(s) {
                s.mark_seen();
                fx.extend(if loads::loaded_once(s) {
                    loads::reload_current(s)
                } else {
                    first_load(s)
                });
            }
            fx
        }
        Action::Loaded(l) => loads::accept(s, l),
        Action::Failed {
            target,
            generation,
            error,
        } => {
            loads::failed(s, target, generation, error);
            Vec::new()
        }
        Action::Executed { command, result } => {
            s.pending = s.pending.saturating_sub(1);
            match result {
                Ok(o) => {
                    let (kind, text) = confirms::outcome(&o, s);
                    s.say(kind, text);
                    s.data_version += 1;
                    s.mark_seen();
                    if matches!(command, Command::Withdraw(_)) {
                        s.points.summary = None;
                    }
                    loads::reload_current(s)
                }
                Err(e) => {
                    s.say(StatusKind::Error, format!("{} failed: {e}", command.name()));
                    Vec::new()
                }
            }
        }
        Action::Events(batch) => {
            s.events.unavailable = None;
            if !batch.is_empty() {
                s.events.absorb(batch);
                s.data_version += 1;
            }
            if s.tab == Tab::Events {
                loads::names_for_events(s)
            } else {
                Vec::new()
            }
        }
        Action::EventsUnavailable(why) => {
            s.events.unavailable = Some(why);
            Vec::new()
        }
    }
}

/// Says what became of queued writes once the outbox sent them (one line for all).
fn outbox_sent(s: &mut State, sent: Vec<crate::api::port::OutboxReport>) {
    let mut failed = false;
    let said: Vec<String> = sent
        .iter()
        .map(|r| match &r.result {
            Ok(o) => format!(
                "queued {} sent: {}",
                r.command.name(),
                confirms::outcome(o, s).1
            ),
            Err(e) => {
                failed = true;
                format!("queued {} refused: {e}", r.command.name())
            }
        })
        .collect();
    let kind = if failed {
        StatusKind::Error
    } else {
        StatusKind::Done
    };
    s.say_everywhere(kind, said.join(" · "));
    s.data_version += 1;
}

fn key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    let key = Key::from_event(&k);
    let found = s
        .keymap
        .lookup(key, &s.scopes())
        .map(|b| (b.action, b.writes));
    match found {
        Some((_, true)) if s.read_only => {
            s.say(
                StatusKind::Error,
                "read-only console (--read-only): writes are off",
            );
            Vec::new()
        }
        Some((a, _)) => perform(s, a),
        None => Vec::new(),
    }
}

fn selected_member(s: &State) -> Option<MemberId> {
    match s.view() {
        View::Analysis => s.members.analysis.as_ref().map(|a| a.member),
        View::Tab(Tab::Members) => s.members.selected().map(|m| m.member_id),
        View::Tab(Tab::Points) => s.points.table.selected_row().map(|m| m.member_id),
        _ => None,
    }
}

/// The first read of a tab: its first window (Billing: the month; Events: nothing).
fn first_load(s: &mut State) -> Vec<Effect> {
    match s.view() {
        View::Tab(Tab::Billing) => vec![loads::billing(s)],
        View::Tab(Tab::Insights) => vec![loads::insights(s)],
        View::Tab(Tab::Points) => {
            let mut v = loads::fetch_current(s, Some(super::state::table::Fetch::First));
            v.push(loads::request(s, Effect::LoadSummary));
            v
        }
        _ => loads::fetch_current(s, Some(super::state::table::Fetch::First)),
    }
}

pub(super) fn open_analysis(s: &mut State, m: MemberId) -> Vec<Effect> {
    if s.tab != Tab::Members || s.members.analysis.is_none() {
        s.back_to = Some(s.tab);
    }
    s.tab = Tab::Members;
    s.members.analysis = Some(Analysis::new(m));
    let mut v = vec![loads::detail(s, m)];
    v.extend(loads::fetch_current(
        s,
        Some(super::state::table::Fetch::First),
    ));
    v
}

/// `Esc` (and `q`) in the analysis: back to the view it was opened from.
fn close_analysis(s: &mut State) -> Vec<Effect> {
    s.members.analysis = None;
    let to = s.back_to.take().unwrap_or(Tab::Members);
    go_tab(s, to, true)
}

fn move_by(s: &mut State, delta: isize) -> Vec<Effect> {
    let rows = s.table_rows();
    let fetch = match s.view() {
        View::Analysis => s
            .members
            .analysis
            .as_mut()
            .and_then(|a| a.history.step(delta, rows)),
        View::Tab(Tab::Members) => s.members.table.step(delta, rows),
        View::Tab(Tab::Deals) => s.deals.table.step(delta, rows),
        View::Tab(Tab::Points) => s.points.table.step(delta, rows),
        View::Tab(Tab::Billing) => {
            let b = &mut s.billing;
            let n = b.shown.len();
            b.selected =
                (b.selected as isize + delta).clamp(0, n.saturating_sub(1) as isize) as usize;
            None
        }
        View::Tab(Tab::Events) => {
            s.events.scroll(delta);
            None
        }
        View::Tab(Tab::Insights) => {
            s.insights.step(delta);
            None
        }
    };
    loads::fetch_current(s, fetch)
}

/// `g` (`top`) or `G` (`bottom`): the true ends of the whole table.
fn to_end(s: &mut State, bottom: bool) -> Vec<Effect> {
    let rows = s.table_rows();
    macro_rules! ends {
        ($t:expr) => {
            if bottom { $t.end(rows) } else { $t.home(rows) }
        };
    }
    let fetch = match s.view() {
        View::Analysis => s.members.analysis.as_mut().and_then(|a| ends!(a.history)),
        View::Tab(Tab::Members) => ends!(s.members.table),
        View::Tab(Tab::Deals) => ends!(s.deals.table),
        View::Tab(Tab::Points) => ends!(s.points.table),
        View::Tab(Tab::Billing) => {
            s.billing.selected = if bottom {
                s.billing.shown.len().saturating_sub(1)
            } else {
                0
            };
            None
        }
        View::Tab(Tab::Events) => {
            if bottom {
                s.events.follow();
            } else {
                s.events.scroll(isize::MIN / 2);
            }
            None
        }
        View::Tab(Tab::Insights) => {
            s.insights.step(if bottom {
                isize::MAX / 2
            } else {
                isize::MIN / 2
            });
            None
        }
    };
    loads::fetch_current(s, fetch)
}

pub(super) fn perform(s: &mut State, a: KeyAction) -> Vec<Effect> {
    let page = s.table_rows() as isize;
    match a {
        // `q` in a sub-view goes back; only a top-level tab quits.
        KeyAction::Quit if s.view() == View::Analysis => close_analysis(s),
        KeyAction::Quit if s.in_drill() => drill_back(s),
        KeyAction::Quit => {
            s.quit = true;
            Vec::new()
        }
        KeyAction::ForceQuit => {
            s.quit = true;
            Vec::new()
        }
        KeyAction::Help => {
            s.modal = Some(Modal::Help { scroll: 0 });
            Vec::new()
        }
        KeyAction::Palette => {
            s.modal = Some(Modal::Palette {
                input: Default::default(),
                selected: 0,
                matches: super::palette::matches("", s.read_only),
            });
            Vec::new()
        }
        KeyAction::Filter => {
            let (target, text) = match s.view() {
                View::Analysis => (
                    FilterTarget::History,
                    s.members
                        .analysis
                        .as_ref()
                        .map(|a| a.filter_text.clone())
                        .unwrap_or_default(),
                ),
                View::Tab(Tab::Members) => (FilterTarget::Members, s.members.query.clone()),
                View::Tab(Tab::Deals) => (FilterTarget::Deals, s.deals.filter_text.clone()),
                View::Tab(Tab::Billing) => (FilterTarget::Billing, s.billing.filter.clone()),
                View::Tab(Tab::Events) => (FilterTarget::Events, s.events.filter_text.clone()),
                View::Tab(Tab::Points) => (FilterTarget::Points, s.points.query.clone()),
                View::Tab(Tab::Insights) => {
                    s.say(
                        StatusKind::Info,
                        "v: next report, [ ]: move the window, i: day/week/month",
                    );
                    return Vec::new();
                }
            };
            s.modal = Some(Modal::Filter {
                target,
                input: tui_input::Input::new(text),
                error: None,
            });
            Vec::new()
        }
        KeyAction::Sort => super::view_actions::sort(s, super::view_actions::SortKey::Next),
        KeyAction::Reverse => super::view_actions::sort(s, super::view_actions::SortKey::Reverse),
        KeyAction::SortById => super::view_actions::sort(
            s,
            super::view_actions::SortKey::Column(crate::domain::MemberOrder::Id),
        ),
        KeyAction::SortByName => super::view_actions::sort(
            s,
            super::view_actions::SortKey::Column(crate::domain::MemberOrder::Name),
        ),
        KeyAction::SortByBalance => super::view_actions::sort(
            s,
            super::view_actions::SortKey::Column(crate::domain::MemberOrder::Balance),
        ),
        KeyAction::SortByActivity => super::view_actions::sort(
            s,
            super::view_actions::SortKey::Column(crate::domain::MemberOrder::LastActivity),
        ),
        KeyAction::SortByPoints => super::view_actions::sort(
            s,
            super::view_actions::SortKey::DealColumn(crate::domain::DealOrder::Points),
        ),
        KeyAction::SortByDate => super::view_actions::sort(
            s,
            super::view_actions::SortKey::DealColumn(crate::domain::DealOrder::Date),
        ),
        KeyAction::Yank => super::view_actions::yank(s),
        KeyAction::Mouse => {
            s.mouse = !s.mouse;
            s.say(
                StatusKind::Info,
                if s.mouse { "mouse on" } else { "mouse off" },
            );
            vec![Effect::SetMouse(s.mouse)]
        }
        KeyAction::Theme => {
            s.theme = match s.theme {
                ThemeName::Dark => ThemeName::Light,
                ThemeName::Light => ThemeName::Mono,
                ThemeName::Mono => ThemeName::Dark,
            };
            s.say(StatusKind::Info, format!("theme {}", s.theme.name()));
            Vec::new()
        }
        KeyAction::Refresh => loads::reload_current(s),
        KeyAction::NextTab | KeyAction::PrevTab => {
            let t = s.tab.cycle(a == KeyAction::NextTab);
            go_tab(s, t, false)
        }
        KeyAction::GoTab(t) => go_tab(s, t, false),
        KeyAction::Up => move_by(s, -1),
        KeyAction::Down => move_by(s, 1),
        KeyAction::PageUp => move_by(s, -page),
        KeyAction::PageDown => move_by(s, page),
        KeyAction::Top => to_end(s, false),
        KeyAction::Bottom => to_end(s, true),
        KeyAction::Open => match s.view() {
            View::Tab(Tab::Members) => match s.members.selected().map(|m| m.member_id) {
                Some(m) => open_analysis(s, m),
                None => Vec::new(),
            },
            View::Tab(Tab::Points) => match s.points.table.selected_row().map(|r| r.member_id) {
                Some(m) => open_analysis(s, m),
                None => Vec::new(),
            },
            View::Tab(Tab::Deals) => match s.deals.table.selected_row().map(|d| d.id) {
                Some(d) => vec![loads::request(s, Effect::FetchDeal(d, DealUse::Describe))],
                None => Vec::new(),
            },
            View::Analysis => match s
                .members
                .analysis
                .as_ref()
                .and_then(|a| a.history.selected_row())
                .map(|d| d.id)
            {
                Some(d) => vec![loads::request(s, Effect::FetchDeal(d, DealUse::Describe))],
                None => Vec::new(),
            },
            View::Tab(Tab::Events) => {
                super::describe::event(s);
                Vec::new()
            }
            View::Tab(Tab::Billing) => Vec::new(),
            View::Tab(Tab::Insights) => insight_drill(s),
        },
        KeyAction::Back => {
            if s.view() == View::Analysis {
                close_analysis(s)
            } else if s.in_drill() {
                drill_back(s)
            } else {
                Vec::new()
            }
        }
        KeyAction::Join => {
            s.modal = Some(Modal::Form(Form::join()));
            Vec::new()
        }
        KeyAction::Withdraw => match selected_member(s) {
            Some(m) => vec![loads::request(s, Effect::PrepareWithdraw(m))],
            None => Vec::new(),
        },
        KeyAction::DealFor => {
            s.modal = Some(Modal::Form(Form::deal(selected_member(s))));
            Vec::new()
        }
        KeyAction::NewDeal => {
            s.modal = Some(Modal::Form(Form::deal(s.deals.filter.member)));
            Vec::new()
        }
        KeyAction::CancelDeal => {
            let row = match s.view() {
                View::Analysis => s
                    .members
                    .analysis
                    .as_ref()
                    .and_then(|a| a.history.selected_row()),
                _ => s.deals.table.selected_row(),
            };
            let Some(d) = row.cloned() else {
                return Vec::new();
            };
            // Say at once why a deal cannot be cancelled; otherwise re-read it (the row may
            // be older than a cancellation) and confirm naming this very deal.
            match confirms::why_not_cancellable(&d) {
                Some(why) => {
                    s.say(StatusKind::Error, why);
                    Vec::new()
                }
                None => vec![loads::request(s, Effect::FetchDeal(d.id, DealUse::Cancel))],
            }
        }
        KeyAction::Settle => match s.billing.selected_row() {
            Some(r) => {
                let p = r.preview.clone();
                let name = r.merchant.merchant.name.clone();
                confirms::settle(s, &p, name.as_deref());
                Vec::new()
            }
            None => Vec::new(),
        },
        KeyAction::SettleForm => {
            let m = s
                .billing
                .selected_row()
                .map(|r| r.merchant.merchant.merchant_id);
            s.modal = Some(Modal::Form(Form::settle(m, s.billing.month)));
            Vec::new()
        }
        KeyAction::PrevMonth | KeyAction::NextMonth if s.tab == Tab::Insights => {
            let i = &mut s.insights;
            i.offset = if a == KeyAction::PrevMonth {
                i.offset + 1
            } else {
                (i.offset - 1).max(0)
            };
            vec![loads::insights(s)]
        }
        KeyAction::ColumnLeft => {
            s.insights.column = s.insights.column.saturating_sub(1);
            Vec::new()
        }
        KeyAction::ColumnRight => {
            // The view stops at the last column; the state keeps within the widest table.
            let widest = s.insights.tables.iter().map(|t| t.columns.len()).max();
            s.insights.column = (s.insights.column + 1).min(widest.unwrap_or(1).saturating_sub(2));
            Vec::new()
        }
        KeyAction::InsightView => {
            s.insights.view = s.insights.view.next();
            s.insights.selected = 0;
            s.insights.column = 0;
            s.insights.offset = 0;
            vec![loads::insights(s)]
        }
        KeyAction::InsightGrain => {
            use crate::domain::reports::Grain;
            let i = &mut s.insights;
            i.view = crate::app::state::insights::InsightView::Activity;
            i.grain = match i.grain {
                Grain::Day => Grain::Week,
                Grain::Week => Grain::Month,
                Grain::Month => Grain::Day,
            };
            i.offset = 0;
            vec![loads::insights(s)]
        }
        KeyAction::PrevMonth => {
            s.billing.month = s.billing.month.prev();
            s.billing.rows.clear();
            s.billing.recompute();
            vec![loads::billing(s)]
        }
        KeyAction::NextMonth => {
            if s.billing.month >= s.billing.current {
                s.say(
                    StatusKind::Info,
                    format!(
                        "{} is the current month: no later month to settle",
                        s.billing.current
                    ),
                );
                return Vec::new();
            }
            s.billing.month = s.billing.month.next();
            s.billing.rows.clear();
            s.billing.recompute();
            vec![loads::billing(s)]
        }
        KeyAction::Follow => {
            s.events.follow();
            Vec::new()
        }
        KeyAction::Pause => {
            s.events.toggle_pause();
            Vec::new()
        }
        KeyAction::RateUp | KeyAction::RateDown | KeyAction::SimPause => demo(s, a),
        // Dialog actions arrive only through `modal_key`.
        KeyAction::Submit | KeyAction::Cancel | KeyAction::NextField | KeyAction::PrevField => {
            Vec::new()
        }
    }
}

pub(super) fn go_tab(s: &mut State, t: Tab, returning: bool) -> Vec<Effect> {
    if !returning && s.view() == View::Analysis && t != Tab::Members {
        // Leaving the analysis for another tab: `Esc` there does not come back.
        s.back_to = None;
    }
    s.tab = t;
    if !loads::loaded_once(s) {
        s.mark_seen();
        first_load(s)
    } else if s.tab_stale() || returning {
        s.mark_seen();
        loads::reload_current(s)
    } else {
        Vec::new()
    }
}

fn demo(s: &mut State, a: KeyAction) -> Vec<Effect> {
    let Some(d) = s.demo.as_mut() else {
        s.say(
            StatusKind::Info,
            "traffic keys work in demo mode (onepoint demo)",
        );
        return Vec::new();
    };
    match a {
        KeyAction::RateUp => d.rate = (d.rate * 2.0).clamp(1.0, 100_000.0),
        KeyAction::RateDown => d.rate = (d.rate / 2.0).max(0.5),
        _ => d.paused = !d.paused,
    }
    let (rate, paused) = (d.rate, d.paused);
    s.say(
        StatusKind::Info,
        if paused {
            "demo traffic paused".to_string()
        } else {
            format!("demo traffic {rate} ops/s")
        },
    );
    vec![Effect::DemoRate { rate, paused }]
}
