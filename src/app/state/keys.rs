//! The keys as the views show them, ready to render: the hint line's items and the help
//! overlay's sections, both read from the one keymap that dispatches the keys (so hints and
//! help never disagree with what the keys do), with `--read-only` writes left out.

use super::{State, Tab};
use crate::app::keymap::{Binding, KeyAction, Keymap, Scope};

/// One key and what it does, as shown: (`Enter`, `member analysis`).
pub type KeyLine = (String, &'static str);

/// The hint line's candidates, most specific scope first, and the `? help` item that always
/// ends the line (the view fits the others to the width).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hints {
    pub items: Vec<KeyLine>,
    pub help: Option<KeyLine>,
}

/// One block of the help overlay: a scope's title and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpSection {
    pub title: &'static str,
    pub keys: Vec<KeyLine>,
}

impl State {
    /// `Esc` back to Insights is a key only on a tab opened by a drill-down.
    fn shown(&self, scope: Scope, b: &Binding) -> bool {
        let write_hidden = b.writes && self.read_only;
        let not_drilled =
            b.action == KeyAction::Back && matches!(scope, Scope::Tab(_)) && !self.in_drill();
        !write_hidden && !not_drilled
    }

    /// The hints for the view on screen: each key once, writes hidden when read-only; in
    /// the member analysis the list's own keys are left out (they would only crowd it).
    pub fn hints(&self) -> Hints {
        let mut seen = std::collections::HashSet::new();
        let analysis = self.members.analysis.is_some() && self.tab == Tab::Members;
        let mut out = Hints::default();
        for scope in self.scopes() {
            if analysis && scope == Scope::Tab(Tab::Members) {
                continue;
            }
            for b in self.keymap.in_scope(scope).filter(|b| b.hint) {
                if !self.shown(scope, b) || !seen.insert(b.keys.first().copied()) {
                    continue;
                }
                let item = (Keymap::keys_label(b), b.help);
                if b.action == KeyAction::Help {
                    out.help = Some(item);
                } else {
                    out.items.push(item);
                }
            }
        }
        out
    }

    /// The help overlay: the scopes in force now, most specific first, then the dialogs'.
    pub fn help(&self) -> Vec<HelpSection> {
        let mut all = self.scopes();
        all.push(Scope::Dialog);
        all.into_iter()
            .map(|scope| HelpSection {
                title: scope.title(),
                keys: self
                    .keymap
                    .in_scope(scope)
                    .filter(|b| self.shown(scope, b))
                    .map(|b| (Keymap::keys_label(b), b.help))
                    .collect(),
            })
            .collect()
    }
}
