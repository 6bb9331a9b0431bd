//! `update(state, action) -> effects`: the one place the console's state changes. Pure: no
//! I/O, no clock, no channels; the loop runs the effects it returns.

use crossterm::event::{KeyEvent, KeyEventKind, MouseEventKind};

use super::action::{Action, Effect};
use super::confirms;
use super::forms::Form;
use super::keymap::{Key, KeyAction};
use super::loads;
use super::state::members::Analysis;
use super::state::{FilterTarget, Modal, State, StatusKind, Tab, ThemeName};
use crate::domain::{Command, MemberId};

pub fn update(s: &mut State, action: Action) -> Vec<Effect> {
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
        Action::Tick { now, link, outbox } => {
            s.now = now;
            s.header.link = link;
            s.header.outbox = outbox;
            Vec::new()
        }
        Action::Refresh => {
            if (s.tab_stale() || !loads::loaded_once(s)) && !loads::loading_current(s) {
                s.mark_seen();
                let mut fx = loads::reload_current(s);
                if s.merchant_names.is_empty() && !s.members.table.loaded_once {
                    fx.push(loads::request(s, Effect::LoadMerchants));
                }
                fx
            } else {
                Vec::new()
            }
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
                    let (kind, text) = confirms::outcome(&o);
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
            Vec::new()
        }
        Action::EventsUnavailable(why) => {
            s.events.unavailable = Some(why);
            Vec::new()
        }
    }
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
    match (&s.members.analysis, s.tab) {
        (Some(a), Tab::Members) => Some(a.member),
        (None, Tab::Members) => s.members.selected().map(|m| m.member_id),
        _ => None,
    }
}

pub(super) fn open_analysis(s: &mut State, m: MemberId) -> Vec<Effect> {
    s.tab = Tab::Members;
    s.members.analysis = Some(Analysis::new(m));
    let mut v = vec![loads::detail(s, m)];
    v.extend(loads::history(s, None, false));
    v
}

fn move_by(s: &mut State, delta: isize) -> Vec<Effect> {
    let rows = s.table_rows();
    match s.tab {
        Tab::Members => match s.members.analysis.as_mut() {
            Some(a) => {
                let r = a.history.step(delta, |d| d.id, rows);
                loads::page(s, r)
            }
            None => {
                let r = s.members.table.step(delta, |m| m.member_id, rows);
                loads::page(s, r)
            }
        },
        Tab::Deals => {
            let r = s.deals.table.step(delta, |d| d.id, rows);
            loads::page(s, r)
        }
        Tab::Points => {
            let r = s.points.table.step(delta, |b| b.cursor(), rows);
            loads::page(s, r)
        }
        Tab::Billing => {
            let b = &mut s.billing;
            let n = b.shown().len();
            b.selected =
                (b.selected as isize + delta).clamp(0, n.saturating_sub(1) as isize) as usize;
            Vec::new()
        }
        Tab::Events => {
            s.events.scroll(delta);
            Vec::new()
        }
        Tab::Insights => {
            s.insights.step(delta);
            Vec::new()
        }
    }
}

pub(super) fn perform(s: &mut State, a: KeyAction) -> Vec<Effect> {
    let page = s.table_rows() as isize;
    match a {
        KeyAction::Quit => {
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
            });
            Vec::new()
        }
        KeyAction::Filter => {
            let (target, text) = match s.tab {
                Tab::Members => (FilterTarget::Members, s.members.query.clone()),
                Tab::Deals => (FilterTarget::Deals, s.deals.filter_text.clone()),
                Tab::Billing => (FilterTarget::Billing, s.billing.filter.clone()),
                Tab::Events => (FilterTarget::Events, s.events.filter_text.clone()),
                Tab::Points => {
                    s.say(
                        StatusKind::Info,
                        "points are listed highest first; use : member ID",
                    );
                    return Vec::new();
                }
                Tab::Insights => {
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
        KeyAction::Sort => super::view_actions::sort(s),
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
            go_tab(s, t)
        }
        KeyAction::GoTab(t) => go_tab(s, t),
        KeyAction::Up => move_by(s, -1),
        KeyAction::Down => move_by(s, 1),
        KeyAction::PageUp => move_by(s, -page),
        KeyAction::PageDown => move_by(s, page),
        KeyAction::Top => match s.tab {
            Tab::Members if s.members.analysis.is_some() => {
                let r = s.members.analysis.as_mut().and_then(|a| a.history.home());
                loads::page(s, r)
            }
            Tab::Members => {
                let r = s.members.table.home();
                loads::page(s, r)
            }
            Tab::Deals => {
                let r = s.deals.table.home();
                loads::page(s, r)
            }
            Tab::Points => {
                let r = s.points.table.home();
                loads::page(s, r)
            }
            _ => move_by(s, isize::MIN / 2),
        },
        KeyAction::Bottom => move_by(s, page * 1000),
        KeyAction::Open => match s.tab {
            Tab::Members => match s.members.selected().map(|m| m.member_id) {
                Some(m) if s.members.analysis.is_none() => open_analysis(s, m),
                _ => Vec::new(),
            },
            Tab::Points => match s.points.table.selected_row().map(|r| r.balance.member_id) {
                Some(m) => open_analysis(s, m),
                None => Vec::new(),
            },
            Tab::Deals => match s.deals.table.selected_row().map(|d| d.id) {
                Some(d) => vec![loads::request(s, Effect::FetchDeal(d, false))],
                None => Vec::new(),
            },
            Tab::Events => {
                if let Some(e) = s.events.selected() {
                    let json = serde_json::to_string_pretty(e).unwrap_or_default();
                    s.modal = Some(Modal::EventJson {
                        title: format!("Event {} {}", e.offset, e.body.event_type()),
                        json,
                    });
                }
                Vec::new()
            }
            Tab::Billing => Vec::new(),
            Tab::Insights => insight_drill(s),
        },
        KeyAction::Back => {
            s.members.analysis = None;
            s.mark_seen();
            loads::reload_current(s)
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
        KeyAction::CancelDeal => match s.deals.table.selected_row().map(|d| d.id) {
            // Re-read the deal: the page may be older than its cancellation.
            Some(d) => vec![loads::request(s, Effect::FetchDeal(d, true))],
            None => Vec::new(),
        },
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
        KeyAction::InsightView => {
            s.insights.view = s.insights.view.next();
            s.insights.selected = 0;
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
        KeyAction::PrevMonth | KeyAction::NextMonth => {
            let b = &mut s.billing;
            b.month = if a == KeyAction::PrevMonth {
                b.month.prev()
            } else {
                b.month.next()
            };
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

/// Enter on an Insights row: the member's analysis, or the Deals tab filtered to the member,
/// merchant or month behind it, or the dormant list.
fn insight_drill(s: &mut State) -> Vec<Effect> {
    use crate::app::state::insights::{Drill, InsightView};
    let Some(d) = s.insights.drill() else {
        s.say(StatusKind::Info, "nothing to open for this row");
        return Vec::new();
    };
    let deals = |s: &mut State, text: String| {
        use crate::app::state::deals::DealFilter;
        s.deals.filter = DealFilter::parse(&text).unwrap_or_default();
        s.deals.filter_text = text;
        s.tab = Tab::Deals;
        s.mark_seen();
        vec![loads::deals(s, None, false)]
    };
    match d {
        Drill::Member(m) => open_analysis(s, m),
        Drill::MemberDeals(m) => deals(s, format!("member:{m}")),
        Drill::MerchantDeals(m) => deals(s, format!("merchant:{m}")),
        Drill::Month(m) => deals(s, format!("month:{m}")),
        Drill::DormantList => {
            s.insights.view = InsightView::Dormant;
            s.insights.selected = 0;
            vec![loads::insights(s)]
        }
    }
}

fn go_tab(s: &mut State, t: Tab) -> Vec<Effect> {
    s.tab = t;
    if !loads::loaded_once(s) || s.tab_stale() {
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
