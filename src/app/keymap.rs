//! The keymap: ONE table that both dispatches keys and generates the help overlay and the
//! key hints, so they never drift. Each action has a config name (`[keys] quit = "q"`).

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::app::state::Tab;
use crate::domain::{Error, FieldError, Result};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Tab(Tab),
    /// The member analysis (over the Members tab).
    Analysis,
    /// Inside a form, prompt or dialog (other keys go to the text field).
    Dialog,
}

impl Scope {
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::Tab(t) => t.title(),
            Scope::Analysis => "Member analysis",
            Scope::Dialog => "Forms and dialogs",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAction {
    Quit,
    /// `Ctrl-C`: leave from anywhere (a form takes it first to close itself).
    ForceQuit,
    /// `S`: the same sort column the other way.
    Reverse,
    SortById,
    SortByName,
    SortByBalance,
    SortByActivity,
    /// Deals columns: points, date.
    SortByPoints,
    SortByDate,
    Help,
    Palette,
    Filter,
    Sort,
    Yank,
    Mouse,
    Theme,
    Refresh,
    NextTab,
    PrevTab,
    GoTab(Tab),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Back,
    Join,
    Withdraw,
    DealFor,
    NewDeal,
    CancelDeal,
    Settle,
    SettleForm,
    PrevMonth,
    NextMonth,
    InsightView,
    InsightGrain,
    ColumnLeft,
    ColumnRight,
    Follow,
    Pause,
    RateUp,
    RateDown,
    SimPause,
    Submit,
    Cancel,
    NextField,
    PrevField,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn from_event(e: &KeyEvent) -> Key {
        // Shift is part of the character itself ('F', '?'); keep it only for named keys.
        let mut mods =
            e.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        if matches!(e.code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods.remove(KeyModifiers::SHIFT);
        }
        Key { code: e.code, mods }
    }

    /// Reads `q`, `F`, `?`, `ctrl-c`, `enter`, `esc`, `tab`, `backtab`, `up`, `pgdn`, `f5`...
    pub fn parse(text: &str) -> Option<Key> {
        let t = text.trim();
        let (mods, name) = match t.strip_prefix("ctrl-") {
            Some(rest) => (KeyModifiers::CONTROL, rest),
            None => (KeyModifiers::NONE, t),
        };
        let code = match name.to_ascii_lowercase().as_str() {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" | "shift-tab" => KeyCode::BackTab,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "space" => KeyCode::Char(' '),
            n if n.len() > 1 && n.starts_with('f') => KeyCode::F(n[1..].parse().ok()?),
            _ => {
                let mut cs = name.chars();
                let c = cs.next()?;
                if cs.next().is_some() {
                    return None;
                }
                KeyCode::Char(c)
            }
        };
        Some(Key { code, mods })
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Enter => "Enter".to_string(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Char(' ') => "Space".into(),
            KeyCode::Char(c) => c.to_string(),
            _ => "?".into(),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{base}")
        } else {
            base
        }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub action: KeyAction,
    pub name: &'static str,
    pub keys: Vec<Key>,
    pub scope: Scope,
    pub help: &'static str,
    /// A write: hidden and refused with `--read-only`.
    pub writes: bool,
    /// Shown in the one-line hints under the table.
    pub hint: bool,
}

#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

/// (action, config name, default keys, scope, help, writes, hint)
type Row = (
    KeyAction,
    &'static str,
    &'static [&'static str],
    Scope,
    &'static str,
    bool,
    bool,
);

#[rustfmt::skip]
const DEFAULTS: &[Row] = {
    use KeyAction as A;
    use Scope::{Analysis, Dialog, Global};
    use crate::app::state::Tab as T;
    &[
        (A::Submit, "submit", &["enter"], Dialog, "submit / confirm", false, true),
        (A::Cancel, "cancel", &["esc", "ctrl-c"], Dialog, "cancel and close", false, true),
        (A::NextField, "next_field", &["tab", "down"], Dialog, "next field", false, true),
        (A::PrevField, "prev_field", &["backtab", "up"], Dialog, "previous field", false, false),
        (A::Back, "back", &["esc"], Analysis, "back", false, true),
        (A::DealFor, "deal_for", &["d"], Analysis, "place a deal for this member", true, true),
        (A::Withdraw, "withdraw_member", &["w"], Analysis, "withdraw this member", true, true),
        (A::Back, "drill_back_members", &["esc"], Scope::Tab(T::Members), "back to Insights", false, true),
        (A::Open, "open", &["enter"], Scope::Tab(T::Members), "member analysis", false, true),
        (A::Join, "join", &["n"], Scope::Tab(T::Members), "join a member", true, true),
        (A::Withdraw, "withdraw", &["w"], Scope::Tab(T::Members), "withdraw the selected member", true, true),
        (A::DealFor, "deal", &["d"], Scope::Tab(T::Members), "place a deal for the selected member", true, true),
        (A::Back, "drill_back_deals", &["esc"], Scope::Tab(T::Deals), "back to Insights", false, true),
        (A::NewDeal, "new_deal", &["n"], Scope::Tab(T::Deals), "new deal", true, true),
        (A::CancelDeal, "cancel_deal", &["c"], Scope::Tab(T::Deals), "cancel the selected deal", true, true),
        (A::Open, "open_deal", &["enter"], Scope::Tab(T::Deals), "describe the deal", false, true),
        (A::Open, "open_history_deal", &["enter"], Analysis, "describe the deal", false, false),
        (A::CancelDeal, "cancel_history_deal", &["c"], Analysis, "cancel the selected deal", true, false),
        (A::Open, "open_holder", &["enter"], Scope::Tab(T::Points), "the holder's analysis", false, true),
        (A::SortById, "sort_id", &["I"], Scope::Tab(T::Members), "sort by id (again: reverse)", false, false),
        (A::SortByName, "sort_name", &["N"], Scope::Tab(T::Members), "sort by name (again: reverse)", false, false),
        (A::SortByBalance, "sort_balance", &["B"], Scope::Tab(T::Members), "sort by balance (again: reverse)", false, false),
        (A::SortByActivity, "sort_activity", &["L"], Scope::Tab(T::Members), "sort by last activity (again: reverse)", false, false),
        (A::SortById, "deals_sort_id", &["I"], Scope::Tab(T::Deals), "sort by id, newest first (again: reverse)", false, false),
        (A::SortByDate, "deals_sort_date", &["D"], Scope::Tab(T::Deals), "sort all deals by date (again: reverse)", false, false),
        (A::SortByPoints, "deals_sort_points", &["O"], Scope::Tab(T::Deals), "sort all deals by points (again: reverse)", false, false),
        (A::SortById, "points_sort_id", &["I"], Scope::Tab(T::Points), "sort by member id (again: reverse)", false, false),
        (A::SortByName, "points_sort_name", &["N"], Scope::Tab(T::Points), "sort by name (again: reverse)", false, false),
        (A::SortByBalance, "points_sort_balance", &["B"], Scope::Tab(T::Points), "sort by balance (again: reverse)", false, false),
        (A::Settle, "settle", &["r"], Scope::Tab(T::Billing), "run the settlement (confirm)", true, true),
        (A::SettleForm, "settle_form", &["R"], Scope::Tab(T::Billing), "settle any merchant and month", true, false),
        (A::PrevMonth, "prev_month", &["["], Scope::Tab(T::Billing), "previous month", false, true),
        (A::NextMonth, "next_month", &["]"], Scope::Tab(T::Billing), "next month", false, true),
        (A::Follow, "follow", &["F", "end"], Scope::Tab(T::Events), "follow the tail", false, true),
        (A::Pause, "pause", &["p"], Scope::Tab(T::Events), "pause / resume", false, true),
        (A::Open, "open_event", &["enter"], Scope::Tab(T::Events), "describe the event", false, true),
        (A::InsightView, "insight_view", &["v"], Scope::Tab(T::Insights), "next report", false, true),
        (A::Open, "open_insight", &["enter"], Scope::Tab(T::Insights), "open the members or deals behind the row", false, true),
        (A::PrevMonth, "insight_back", &["["], Scope::Tab(T::Insights), "earlier window", false, true),
        (A::NextMonth, "insight_forward", &["]"], Scope::Tab(T::Insights), "later window", false, false),
        (A::InsightGrain, "insight_grain", &["i"], Scope::Tab(T::Insights), "activity by day, week or month", false, true),
        (A::ColumnLeft, "insight_columns_left", &["left"], Scope::Tab(T::Insights), "scroll the table's columns left", false, false),
        (A::ColumnRight, "insight_columns_right", &["right"], Scope::Tab(T::Insights), "scroll the table's columns right", false, false),
        (A::GoTab(T::Members), "tab_members", &["1"], Global, "Members tab", false, false),
        (A::GoTab(T::Deals), "tab_deals", &["2"], Global, "Deals tab", false, false),
        (A::GoTab(T::Points), "tab_points", &["3"], Global, "Points tab", false, false),
        (A::GoTab(T::Billing), "tab_billing", &["4"], Global, "Billing tab", false, false),
        (A::GoTab(T::Events), "tab_events", &["5"], Global, "Events tab", false, false),
        (A::GoTab(T::Insights), "tab_insights", &["6"], Global, "Insights tab", false, false),
        (A::NextTab, "next_tab", &["tab"], Global, "next tab", false, false),
        (A::PrevTab, "prev_tab", &["backtab"], Global, "previous tab", false, false),
        (A::Up, "up", &["up", "k"], Global, "up", false, false),
        (A::Down, "down", &["down", "j"], Global, "down", false, false),
        (A::PageUp, "page_up", &["pgup"], Global, "page up", false, false),
        (A::PageDown, "page_down", &["pgdn", "space"], Global, "page down", false, false),
        (A::Top, "top", &["home", "g"], Global, "first row", false, false),
        (A::Bottom, "bottom", &["end", "G"], Global, "last row", false, false),
        (A::Filter, "filter", &["/"], Global, "filter", false, true),
        (A::Sort, "sort", &["s"], Global, "sort (S: reverse)", false, true),
        (A::Reverse, "reverse", &["S"], Global, "sort the other way", false, false),
        (A::Yank, "yank", &["y"], Global, "copy id, name, phone or JSON (OSC 52)", false, false),
        (A::Palette, "palette", &[":"], Global, "command palette", false, true),
        (A::Refresh, "refresh", &["ctrl-r"], Global, "reload", false, false),
        (A::Mouse, "mouse", &["m"], Global, "mouse on/off", false, false),
        (A::Theme, "theme", &["t"], Global, "next theme", false, false),
        (A::RateUp, "rate_up", &["+"], Global, "demo: more traffic", false, false),
        (A::RateDown, "rate_down", &["-"], Global, "demo: less traffic", false, false),
        (A::SimPause, "sim_pause", &["P"], Global, "demo: pause traffic", false, false),
        (A::Help, "help", &["?"], Global, "help", false, true),
        (A::Quit, "quit", &["q"], Global, "quit / back", false, true),
        (A::ForceQuit, "force_quit", &["ctrl-c"], Global, "quit from anywhere", false, false),
    ]
};

impl Default for Keymap {
    fn default() -> Keymap {
        Keymap {
            bindings: DEFAULTS
                .iter()
                .map(|(action, name, keys, scope, help, writes, hint)| Binding {
                    action: *action,
                    name,
                    keys: keys.iter().filter_map(|k| Key::parse(k)).collect(),
                    scope: *scope,
                    help,
                    writes: *writes,
                    hint: *hint,
                })
                .collect(),
        }
    }
}

impl Keymap {
    /// The defaults with `[keys]` overrides (`name = "key"` or `"key1,key2"`).
    pub fn with_overrides(over: &BTreeMap<String, String>) -> Result<Keymap> {
        let mut km = Keymap::default();
        for (name, keys) in over {
            let parsed: Option<Vec<Key>> = keys.split(',').map(Key::parse).collect();
            let Some(parsed) = parsed.filter(|p| !p.is_empty()) else {
                return Err(Error::Invalid {
                    errors: FieldError::new(
                        &format!("keys.{name}"),
                        "must be a key like q, F, ctrl-r, enter, pgdn or f5 (comma-separated)",
                    )
                    .into(),
                });
            };
            let Some(b) = km.bindings.iter_mut().find(|b| b.name == name) else {
                return Err(Error::Invalid {
                    errors: FieldError::new(
                        &format!("keys.{name}"),
                        "is not an action; see the help (?) for the names",
                    )
                    .into(),
                });
            };
            b.keys = parsed;
        }
        Ok(km)
    }

    /// The action for a key in the given scopes, most specific first.
    pub fn lookup(&self, key: Key, scopes: &[Scope]) -> Option<&Binding> {
        scopes.iter().find_map(|s| {
            self.bindings
                .iter()
                .find(|b| b.scope == *s && b.keys.contains(&key))
        })
    }

    /// Bindings for the help overlay or the hints, in table order.
    pub fn in_scope(&self, scope: Scope) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(move |b| b.scope == scope)
    }

    pub fn keys_label(b: &Binding) -> String {
        b.keys.iter().map(Key::label).collect::<Vec<_>>().join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            mods: KeyModifiers::NONE,
        }
    }

    #[test]
    fn tab_bindings_win_over_global_ones() {
        let km = Keymap::default();
        let scopes = [Scope::Tab(Tab::Deals), Scope::Global];
        assert_eq!(
            km.lookup(key('n'), &scopes).unwrap().action,
            KeyAction::NewDeal
        );
        assert_eq!(
            km.lookup(key('q'), &scopes).unwrap().action,
            KeyAction::Quit
        );
        assert!(km.lookup(key('x'), &scopes).is_none());
    }

    #[test]
    fn config_overrides_rebind_and_bad_names_are_refused() {
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), "x,ctrl-q".to_string());
        let km = Keymap::with_overrides(&o).unwrap();
        let scopes = [Scope::Global];
        assert_eq!(
            km.lookup(key('x'), &scopes).unwrap().action,
            KeyAction::Quit
        );
        assert!(km.lookup(key('q'), &scopes).is_none());
        o.insert("fly".to_string(), "f".to_string());
        let e = Keymap::with_overrides(&o).unwrap_err().to_string();
        assert!(e.contains("keys.fly"), "{e}");
        let mut o = BTreeMap::new();
        o.insert("quit".to_string(), "ctrl-".to_string());
        assert!(Keymap::with_overrides(&o).is_err());
    }

    #[test]
    fn every_action_is_documented_in_the_shipped_config() {
        for b in Keymap::default().bindings {
            let line = format!("# {} = \"{}\"", b.name, {
                let keys: Vec<String> = b.keys.iter().map(key_name).collect();
                keys.join(",")
            });
            assert!(
                include_str!("../../assets/config.toml").contains(&line),
                "assets/config.toml lacks {line}"
            );
        }
    }

    fn key_name(k: &Key) -> String {
        let base = match k.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::BackTab => "backtab".into(),
            KeyCode::PageUp => "pgup".into(),
            KeyCode::PageDown => "pgdn".into(),
            other => format!("{other:?}").to_lowercase(),
        };
        if k.mods.contains(KeyModifiers::CONTROL) {
            format!("ctrl-{base}")
        } else {
            base
        }
    }

    #[test]
    fn no_key_does_two_things_in_one_scope() {
        let km = Keymap::default();
        for (i, a) in km.bindings.iter().enumerate() {
            for b in &km.bindings[i + 1..] {
                if a.scope == b.scope {
                    for k in &a.keys {
                        assert!(!b.keys.contains(k), "{} and {} share {k:?}", a.name, b.name);
                    }
                }
            }
        }
    }

    #[test]
    fn shifted_characters_match_without_the_shift_flag() {
        let e = KeyEvent::new(KeyCode::Char('F'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&e), Key::parse("F").unwrap());
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(Key::from_event(&c), Key::parse("ctrl-c").unwrap());
    }
}
