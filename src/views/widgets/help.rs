//! The `?` overlay, generated from the live keymap: the bindings of the scopes in force now,
//! most specific first, so help never disagrees with what the keys do.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{centered, popup};
use crate::app::keymap::{Keymap, Scope};
use crate::app::state::State;
use crate::app::update::scopes;
use crate::views::theme::Theme;

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let mut lines = Vec::new();
    let mut all = scopes(s);
    all.push(Scope::Dialog);
    for scope in all {
        lines.push(Line::from(Span::styled(scope.title(), t.title)));
        for b in s.keymap.in_scope(scope) {
            let note = if b.writes && s.read_only {
                " (read-only: off)"
            } else {
                ""
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<16}", Keymap::keys_label(b)), t.key),
                Span::raw(format!("{}{note}", b.help)),
            ]));
        }
    }
    let w = 64;
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let inner = popup(f, centered(area, w, h), " Help · any key closes ", t);
    // Two columns when the list is taller than the popup.
    let rows = inner.height as usize;
    if lines.len() > rows && inner.width >= 60 && area.width >= 130 {
        let wide = centered(area, 128, h);
        let inner = popup(f, wide, " Help · any key closes ", t);
        let half = Rect::new(inner.x, inner.y, inner.width / 2, inner.height);
        let right = Rect::new(
            inner.x + inner.width / 2,
            inner.y,
            inner.width / 2,
            inner.height,
        );
        let rest = lines.split_off(rows.min(lines.len()));
        f.render_widget(Paragraph::new(lines), half);
        f.render_widget(Paragraph::new(rest), right);
    } else {
        f.render_widget(Paragraph::new(lines), inner);
    }
}
