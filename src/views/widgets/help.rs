//! The `?` overlay, generated from the live keymap: the bindings of the scopes in force now,
//! most specific first, so help never disagrees with what the keys do. Two columns on wide
//! screens; scrolls with ↓/PgDn on small ones.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{centered, popup};
use crate::app::state::State;
use crate::views::theme::Theme;

pub fn lines(s: &State, t: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for section in s.help() {
        lines.push(Line::from(Span::styled(section.title, t.title)));
        for (keys, what) in section.keys {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<14}"), t.key),
                Span::raw(what),
            ]));
        }
    }
    lines
}

pub fn draw(f: &mut Frame, area: Rect, s: &State, scroll: u16, t: &Theme) {
    let mut lines = lines(s, t);
    let two = area.width >= 130;
    let per_col = if two {
        lines.len().div_ceil(2)
    } else {
        lines.len()
    };
    let w = if two { 124 } else { 64 };
    let h = (per_col as u16 + 2).min(area.height.saturating_sub(2));
    let more = per_col as u16 > h.saturating_sub(2);
    let title = if more {
        " Help · ↓/PgDn scroll · any other key closes "
    } else {
        " Help · any key closes "
    };
    let inner = popup(f, centered(area, w, h), title, t);
    if two {
        let right = lines.split_off(per_col);
        let half = inner.width / 2;
        f.render_widget(
            Paragraph::new(lines).scroll((scroll, 0)),
            Rect::new(inner.x, inner.y, half, inner.height),
        );
        f.render_widget(
            Paragraph::new(right).scroll((scroll, 0)),
            Rect::new(inner.x + half, inner.y, inner.width - half, inner.height),
        );
    } else {
        f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
    }
}
