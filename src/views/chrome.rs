//! The frame around every tab: the header (source, link, outbox, DEMO badge, spinner), the
//! tab bar, the key hints (from the keymap) and the status line; and the too-small screen.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::state::keys::Hints;
use crate::app::state::{State, StatusKind, Tab};

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

pub fn header(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let mut spans = vec![Span::styled(
        " OnePoint ",
        t.header.add_modifier(ratatui::style::Modifier::BOLD),
    )];
    if let Some(d) = &s.demo {
        spans.push(Span::styled(" DEMO ", t.badge));
        let traffic = if d.paused {
            " traffic paused ".to_string()
        } else {
            format!(" {} ops/s ", d.rate)
        };
        spans.push(Span::styled(traffic, t.header));
    }
    let mut src = format!(" {} {} ", s.header.kind, s.header.location);
    if !s.header.link.is_empty() && s.header.link != "local" {
        src.push_str(&format!("· {} ", s.header.link));
    }
    if s.header.outbox > 0 {
        src.push_str(&format!("· outbox {} ", s.header.outbox));
    }
    if s.read_only {
        src.push_str("· READ-ONLY ");
    }
    src.push_str(&format!("· times {} ", s.zone_label()));
    spans.push(Span::styled(src, t.header));
    let busy = if s.busy() {
        format!("{} working ", SPINNER[s.spinner % SPINNER.len()])
    } else {
        String::new()
    };
    f.render_widget(Paragraph::new(Line::from(spans)).style(t.header), area);
    f.render_widget(
        Paragraph::new(busy)
            .style(t.header)
            .alignment(Alignment::Right),
        area,
    );
}

pub fn tabs(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let mut spans = vec![Span::raw(" ")];
    for tab in Tab::ALL {
        let style = if tab == s.tab { t.tab_active } else { t.tab };
        spans.push(Span::styled(tab.label(), style));
        spans.push(Span::raw("   "));
    }
    if s.events.received > 0 {
        spans.push(Span::styled(
            format!("events {}", s.events.received),
            t.muted,
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// One line of hints from the same table that dispatches the keys, fitted to the width in
/// the table's order (most specific scope first) and always ending with `? help`.
pub fn hints(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    use unicode_width::UnicodeWidthStr;
    let Hints { items, help } = s.hints();
    let width = |(k, h): &(String, &str)| k.width() + h.width() + 3;
    let mut room = usize::from(area.width).saturating_sub(help.as_ref().map_or(0, width));
    let mut spans = Vec::new();
    for it in items.iter().chain(help.iter()) {
        let w = width(it);
        let is_help = help.as_ref() == Some(it);
        if !is_help {
            if w > room {
                continue;
            }
            room -= w;
        }
        spans.push(Span::styled(format!(" {}", it.0), t.key));
        spans.push(Span::styled(format!(" {} ", it.1), t.muted));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn status(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let line = match s.status_shown() {
        Some(st) => {
            let style = match st.kind {
                StatusKind::Info => t.accent,
                StatusKind::Done => t.good,
                StatusKind::Error => t.bad,
            };
            Line::from(Span::styled(format!(" {}", st.text), style))
        }
        None if s.read_only => Line::from(Span::styled(
            " read-only: writes are hidden (started with --read-only)",
            t.muted,
        )),
        None => Line::from(Span::styled(" ready", t.muted)),
    };
    f.render_widget(Paragraph::new(line), area);
}

pub fn too_small(f: &mut Frame, area: Rect, t: &Theme) {
    let text = vec![
        Line::from("terminal too small"),
        Line::from(format!(
            "{}x{}, need at least {}x{}",
            area.width,
            area.height,
            super::MIN_WIDTH,
            super::MIN_HEIGHT
        )),
    ];
    let y = area.height / 2;
    let r = Rect::new(
        area.x,
        area.y + y.saturating_sub(1),
        area.width,
        2.min(area.height),
    );
    f.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .style(t.warn),
        r,
    );
}
