//! Keys while an overlay is open: forms (validated on each keystroke by the domain
//! parsers), confirms, the `/` prompt, the palette, help and the JSON viewer. Part of
//! `update`: pure.

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use super::action::{DealTable, Effect, MemberTable};
use super::confirms;
use super::forms::{Form, FormKind};
use super::keymap::{Key, KeyAction, Scope};
use super::loads;
use super::palette;
use super::state::deals::DealFilter;
use super::state::events::EventFilter;
use super::state::{FilterTarget, Modal, State, StatusKind};
use super::update::{open_analysis, perform};
use crate::domain::Command;

pub(super) fn modal_key(s: &mut State, m: Modal, k: KeyEvent) -> Vec<Effect> {
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
        Modal::Describe {
            title,
            lines,
            json,
            show_json,
        } => match k.code {
            KeyCode::Char('y') => {
                s.say(StatusKind::Info, "copied the JSON (OSC 52)");
                vec![Effect::Yank(json)]
            }
            // Enter or `j` turns between the description and the JSON.
            KeyCode::Enter | KeyCode::Char('j') | KeyCode::Tab => {
                s.modal = Some(Modal::Describe {
                    title,
                    lines,
                    json,
                    show_json: !show_json,
                });
                Vec::new()
            }
            _ => Vec::new(), // any other key closes
        },
        Modal::Yank {
            choices,
            mut selected,
        } => match (dialog, k.code) {
            (Some(KeyAction::Submit), _) => {
                let (label, text) = choices[selected.min(choices.len() - 1)].clone();
                s.say(StatusKind::Info, format!("copied the {label} (OSC 52)"));
                vec![Effect::Yank(text)]
            }
            (_, KeyCode::Char(c)) if c.is_ascii_digit() && c != '0' => {
                match choices.get(c as usize - '1' as usize) {
                    Some((label, text)) => {
                        s.say(StatusKind::Info, format!("copied the {label} (OSC 52)"));
                        vec![Effect::Yank(text.clone())]
                    }
                    None => {
                        s.modal = Some(Modal::Yank { choices, selected });
                        Vec::new()
                    }
                }
            }
            (Some(KeyAction::Cancel), _) => Vec::new(),
            (Some(KeyAction::NextField), _) | (_, KeyCode::Char('j')) => {
                selected = (selected + 1) % choices.len();
                s.modal = Some(Modal::Yank { choices, selected });
                Vec::new()
            }
            (Some(KeyAction::PrevField), _) | (_, KeyCode::Char('k')) => {
                selected = (selected + choices.len() - 1) % choices.len();
                s.modal = Some(Modal::Yank { choices, selected });
                Vec::new()
            }
            _ => {
                s.modal = Some(Modal::Yank { choices, selected });
                Vec::new()
            }
        },
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
                let _ = error;
                input.handle_event(&crossterm::event::Event::Key(k));
                // Filters apply as each key is typed; a value that does not parse yet
                // leaves the list as it was and says why under the prompt.
                let error = match target {
                    FilterTarget::Deals | FilterTarget::History => {
                        DealFilter::parse(input.value()).err()
                    }
                    FilterTarget::Events => EventFilter::parse(input.value()).err(),
                    _ => None,
                }
                .map(|e| e.to_string());
                let fx = if error.is_none() {
                    apply_filter(s, target, input.value().to_string())
                } else {
                    Vec::new()
                };
                s.modal = Some(Modal::Filter {
                    target,
                    input,
                    error,
                });
                fx
            }
        },
        Modal::Palette {
            mut input,
            mut selected,
            matches,
        } => match dialog {
            Some(KeyAction::Submit) => match palette::run(s, input.value(), selected) {
                palette::Run::Done => Vec::new(),
                palette::Run::Key(a) => perform(s, a),
                palette::Run::Filter(t) => apply_filter(s, FilterTarget::Deals, t),
                palette::Run::Member(m) => open_analysis(s, m),
                palette::Run::FindMember(name) => {
                    s.tab = super::state::Tab::Members;
                    s.members.analysis = None;
                    apply_filter(s, FilterTarget::Members, name)
                }
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
                let n = matches.len().max(1);
                selected = if dialog == Some(KeyAction::NextField) {
                    (selected + 1) % n
                } else {
                    (selected + n - 1) % n
                };
                s.modal = Some(Modal::Palette {
                    input,
                    selected,
                    matches,
                });
                Vec::new()
            }
            _ => {
                input.handle_event(&crossterm::event::Event::Key(k));
                // The list follows the text as it is typed (the view only draws it).
                let matches = palette::matches(input.value(), s.read_only);
                s.modal = Some(Modal::Palette {
                    input,
                    selected: 0,
                    matches,
                });
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
        _ if !f.focused().choices.is_empty() => {
            // A pick-list: no typing errors possible.
            match k.code {
                KeyCode::Right | KeyCode::Char(' ') => f.focused().cycle(true),
                KeyCode::Left => f.focused().cycle(false),
                KeyCode::Char(c) => {
                    f.focused().pick_letter(c.to_ascii_lowercase());
                }
                _ => {}
            }
            f.touched = true;
            f.validate();
        }
        _ => {
            f.focused_input()
                .handle_event(&crossterm::event::Event::Key(k));
            f.touched = true;
            f.validate();
        }
    }
    let fx: Vec<Effect> = f
        .lookups(s)
        .into_iter()
        .map(|e| loads::request(s, e))
        .collect();
    s.modal = Some(Modal::Form(f));
    fx
}

pub(super) fn apply_filter(s: &mut State, target: FilterTarget, text: String) -> Vec<Effect> {
    match target {
        FilterTarget::Members => {
            let q = text.trim().to_string();
            if q == s.members.query && s.members.table.loaded_once {
                return Vec::new();
            }
            s.members.query = q;
            s.members.analysis = None;
            let f = s.members.table.restart();
            vec![loads::members(s, MemberTable::Members, f)]
        }
        FilterTarget::Deals => match DealFilter::parse(&text) {
            Ok(f) if f == s.deals.filter && s.deals.table.loaded_once => {
                s.deals.filter_text = text;
                Vec::new()
            }
            Ok(f) => {
                s.deals.filter = f;
                s.deals.filter_text = text;
                let f = s.deals.table.restart();
                loads::deals(s, DealTable::Deals, f)
            }
            Err(e) => {
                s.say(StatusKind::Error, format!("filter: {e}"));
                Vec::new()
            }
        },
        FilterTarget::History => match (DealFilter::parse(&text), s.members.analysis.as_mut()) {
            (Ok(f), Some(a)) => {
                if f == a.filter && a.history.loaded_once {
                    a.filter_text = text;
                    return Vec::new();
                }
                a.filter = f;
                a.filter_text = text;
                let m = a.member;
                let f = a.history.restart();
                loads::deals(s, DealTable::History(m), f)
            }
            (Err(e), _) => {
                s.say(StatusKind::Error, format!("filter: {e}"));
                Vec::new()
            }
            (Ok(_), None) => Vec::new(),
        },
        FilterTarget::Points => {
            let q = text.trim().to_string();
            if q == s.points.query && s.points.table.loaded_once {
                return Vec::new();
            }
            s.points.query = q;
            let f = s.points.table.restart();
            vec![loads::members(s, MemberTable::Points, f)]
        }
        FilterTarget::Billing => {
            s.billing.filter = text.trim().to_string();
            s.billing.recompute();
            Vec::new()
        }
        FilterTarget::Events => match EventFilter::parse(&text) {
            Ok(f) => {
                s.events.set_filter(f);
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
