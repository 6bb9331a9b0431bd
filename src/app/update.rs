//! `update(state, action) -> effects`: the one place the console's state changes. Pure: no
//! I/O, no clock, no channels; the loop runs the effects it returns.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseEventKind};
use tui_input::backend::crossterm::EventHandler;

use super::action::{Action, Effect};
use super::confirms;
use super::forms::{Form, FormKind};
use super::keymap::{Key, KeyAction, Scope};
use super::loads;
use super::palette;
use super::state::billing::BILLING_SORTS;
use super::state::deals::{DEAL_SORTS, DealFilter};
use super::state::events::EventFilter;
use super::state::members::{Analysis, MEMBER_SORTS};
use super::state::points::POINT_SORTS;
use super::state::{FilterTarget, Modal, State, StatusKind, Tab, ThemeName};
use crate::domain::{Command, MemberId};

pub fn update(s: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::Key(k) if k.kind == KeyEventKind::Release => Vec::new(),
        Action::Key(k) => match s.modal.take() {
            Some(m) => modal_key(s, m, k),
            None => key(s, k),
        },
        Action::Mouse(m) => match m.kind {
            MouseEventKind::ScrollUp if s.modal.is_none() => perform(s, KeyAction::Up),
            MouseEventKind::ScrollDown if s.modal.is_none() => perform(s, KeyAction::Down),
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
            if (s.stale || !loads::loaded_once(s)) && !loads::loading_current(s) {
                s.stale = false;
                loads::reload_current(s)
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
                    s.stale = true;
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
                s.stale = true;
            }
            Vec::new()
        }
        Action::EventsUnavailable(why) => {
            s.events.unavailable = Some(why);
            Vec::new()
        }
    }
}

/// The scopes a key is looked up in, most specific first.
pub fn scopes(s: &State) -> Vec<Scope> {
    let mut v = Vec::with_capacity(3);
    if s.tab == Tab::Members && s.members.analysis.is_some() {
        v.push(Scope::Analysis);
    }
    v.push(Scope::Tab(s.tab));
    v.push(Scope::Global);
    v
}

fn key(s: &mut State, k: KeyEvent) -> Vec<Effect> {
    let key = Key::from_event(&k);
    let found = s
        .keymap
        .lookup(key, &scopes(s))
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

fn open_analysis(s: &mut State, m: MemberId) -> Vec<Effect> {
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
    }
}

fn perform(s: &mut State, a: KeyAction) -> Vec<Effect> {
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
            };
            s.modal = Some(Modal::Filter {
                target,
                input: tui_input::Input::new(text),
                error: None,
            });
            Vec::new()
        }
        KeyAction::Sort => sort(s),
        KeyAction::Yank => yank(s),
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
        },
        KeyAction::Back => {
            s.members.analysis = None;
            s.stale = true;
            Vec::new()
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

fn go_tab(s: &mut State, t: Tab) -> Vec<Effect> {
    s.tab = t;
    if !loads::loaded_once(s) || s.stale {
        s.stale = false;
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

fn sort(s: &mut State) -> Vec<Effect> {
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
    };
    s.say(StatusKind::Info, format!("sorted by {name}"));
    effects
}

fn yank(s: &mut State) -> Vec<Effect> {
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

fn modal_key(s: &mut State, m: Modal, k: KeyEvent) -> Vec<Effect> {
    let key = Key::from_event(&k);
    let dialog = s.keymap.lookup(key, &[Scope::Dialog]).map(|b| b.action);
    match m {
        Modal::Help { scroll } => {
            // Down and PgDn scroll a long help; any other key closes it.
            match k.code {
                KeyCode::Down | KeyCode::Char('j') => {
                    s.modal = Some(Modal::Help { scroll: scroll + 1 })
                }
                KeyCode::PageDown | KeyCode::Char(' ') => {
                    s.modal = Some(Modal::Help {
                        scroll: scroll + 10,
                    })
                }
                KeyCode::Up | KeyCode::Char('k') => {
                    s.modal = Some(Modal::Help {
                        scroll: scroll.saturating_sub(1),
                    })
                }
                _ => {}
            }
            Vec::new()
        }
        Modal::EventJson { .. } => {
            if let (Modal::EventJson { json, .. }, KeyCode::Char('y')) = (&m, k.code) {
                s.say(StatusKind::Info, "copied the JSON (OSC 52)");
                return vec![Effect::Yank(json.clone())];
            }
            Vec::new() // any key closes
        }
        Modal::Confirm(c) => match (dialog, k.code) {
            (Some(KeyAction::Submit), _) | (_, KeyCode::Char('y')) => {
                let key = s.next_key();
                s.say(StatusKind::Info, format!("{}...", c.command.name()));
                vec![loads::request(
                    s,
                    Effect::Execute {
                        key,
                        command: c.command,
                    },
                )]
            }
            (Some(KeyAction::Cancel), _) | (_, KeyCode::Char('n')) => {
                s.say(StatusKind::Info, "cancelled; nothing was written");
                Vec::new()
            }
            _ => {
                s.modal = Some(Modal::Confirm(c));
                Vec::new()
            }
        },
        Modal::Form(f) => form_key(s, f, dialog, k),
        Modal::Filter {
            target,
            mut input,
            error,
        } => match dialog {
            Some(KeyAction::Submit) => apply_filter(s, target, input.value().to_string()),
            Some(KeyAction::Cancel) => Vec::new(),
            _ => {
                input.handle_event(&crossterm::event::Event::Key(k));
                let error = match target {
                    FilterTarget::Deals => DealFilter::parse(input.value()).err(),
                    FilterTarget::Events => EventFilter::parse(input.value()).err(),
                    _ => None,
                }
                .map(|e| e.to_string())
                .or(error.filter(|_| false));
                s.modal = Some(Modal::Filter {
                    target,
                    input,
                    error,
                });
                Vec::new()
            }
        },
        Modal::Palette {
            mut input,
            mut selected,
        } => match dialog {
            Some(KeyAction::Submit) => match palette::run(s, input.value(), selected) {
                palette::Run::Done => Vec::new(),
                palette::Run::Key(a) => perform(s, a),
                palette::Run::Filter(t) => apply_filter(s, FilterTarget::Deals, t),
                palette::Run::Member(m) => open_analysis(s, m),
                palette::Run::Rate(r) => match s.demo.as_mut() {
                    Some(d) => {
                        d.rate = r;
                        vec![Effect::DemoRate {
                            rate: r,
                            paused: d.paused,
                        }]
                    }
                    None => {
                        s.say(StatusKind::Info, "rate works in demo mode");
                        Vec::new()
                    }
                },
            },
            Some(KeyAction::Cancel) => Vec::new(),
            Some(KeyAction::NextField) | Some(KeyAction::PrevField) => {
                let n = palette::matches(input.value()).len().max(1);
                selected = if dialog == Some(KeyAction::NextField) {
                    (selected + 1) % n
                } else {
                    (selected + n - 1) % n
                };
                s.modal = Some(Modal::Palette { input, selected });
                Vec::new()
            }
            _ => {
                input.handle_event(&crossterm::event::Event::Key(k));
                s.modal = Some(Modal::Palette { input, selected: 0 });
                Vec::new()
            }
        },
    }
}

fn form_key(s: &mut State, mut f: Form, dialog: Option<KeyAction>, k: KeyEvent) -> Vec<Effect> {
    match dialog {
        Some(KeyAction::Cancel) => {
            s.say(StatusKind::Info, "form closed; nothing was written");
            return Vec::new();
        }
        Some(KeyAction::Submit) => {
            f.touched = true;
            match f.validate() {
                Some(c) => {
                    return match (f.kind, c) {
                        (FormKind::Withdraw, Command::Withdraw(m)) => {
                            vec![loads::request(s, Effect::PrepareWithdraw(m))]
                        }
                        (FormKind::Settle, Command::Bill(b)) => {
                            vec![loads::request(s, Effect::PrepareSettle(b))]
                        }
                        (_, c) => {
                            confirms::for_form(s, c);
                            Vec::new()
                        }
                    };
                }
                None => s.say(
                    StatusKind::Error,
                    format!("{} field(s) need attention", f.error_count()),
                ),
            }
        }
        Some(KeyAction::NextField) => f.focus_next(true),
        Some(KeyAction::PrevField) => f.focus_next(false),
        _ => {
            f.focused_input()
                .handle_event(&crossterm::event::Event::Key(k));
            f.touched = true;
            f.validate();
        }
    }
    s.modal = Some(Modal::Form(f));
    Vec::new()
}

fn apply_filter(s: &mut State, target: FilterTarget, text: String) -> Vec<Effect> {
    match target {
        FilterTarget::Members => {
            s.members.query = text.trim().to_string();
            s.members.analysis = None;
            s.members.table.reset();
            vec![loads::members(s, None, false)]
        }
        FilterTarget::Deals => match DealFilter::parse(&text) {
            Ok(f) => {
                s.deals.filter = f;
                s.deals.filter_text = text;
                s.deals.table.reset();
                vec![loads::deals(s, None, false)]
            }
            Err(e) => {
                s.say(StatusKind::Error, format!("filter: {e}"));
                Vec::new()
            }
        },
        FilterTarget::Billing => {
            s.billing.filter = text.trim().to_string();
            s.billing.selected = 0;
            Vec::new()
        }
        FilterTarget::Events => match EventFilter::parse(&text) {
            Ok(f) => {
                s.events.filter = f;
                s.events.filter_text = text;
                Vec::new()
            }
            Err(e) => {
                s.say(StatusKind::Error, format!("filter: {e}"));
                Vec::new()
            }
        },
    }
}
