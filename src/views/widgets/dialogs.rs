//! The popups: a form with each field's error beside it, a confirm naming what will happen,
//! the command palette, the `/` prompt and the JSON viewer.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tui_input::Input;

use super::{centered, popup};
use crate::app::state::{Confirm, FilterTarget, Form, PaletteEntry};
use crate::views::theme::Theme;

const LABEL_W: u16 = 10;
const INPUT_W: u16 = 26;

/// Draws a text field and puts the terminal cursor in it when focused.
fn input_line(f: &mut Frame, r: Rect, input: &Input, focused: bool, t: &Theme) {
    let width = r.width.max(1) as usize;
    let scroll = input.visual_scroll(width.saturating_sub(1));
    let style = if focused { t.selected } else { t.muted };
    f.render_widget(
        Paragraph::new(input.value().to_string())
            .style(style)
            .scroll((0, scroll as u16)),
        r,
    );
    if focused {
        let x = (input.visual_cursor().saturating_sub(scroll)) as u16;
        f.set_cursor_position(Position::new(r.x + x.min(r.width.saturating_sub(1)), r.y));
    }
}

/// Lines `text` takes when wrapped at `width` columns (words kept whole where they fit).
fn wrapped_height(text: &str, width: u16) -> u16 {
    use unicode_width::UnicodeWidthStr;
    let w = usize::from(width.max(1));
    let mut lines = 1;
    let mut col = 0;
    for word in text.split(' ') {
        let ww = word.width();
        if col > 0 && col + 1 + ww > w {
            lines += 1;
            col = 0;
        }
        col += if col > 0 { 1 } else { 0 } + ww;
        while col > w {
            lines += 1;
            col -= w;
        }
    }
    lines
}

pub fn form(f: &mut Frame, area: Rect, form: &Form, t: &Theme) {
    let w = (area.width - 4).min(96);
    let text_w = w.saturating_sub(2 + LABEL_W);
    // Each field: its line, then its note and its error, wrapped whole under the input.
    let blocks: Vec<(Option<String>, Option<String>)> = form
        .fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let err = field
                .error
                .as_ref()
                .filter(|_| form.touched)
                .map(|e| format!("✗ {e}"));
            (form.shown_notes.get(i).cloned().flatten(), err)
        })
        .collect();
    let body: u16 = blocks
        .iter()
        .map(|(n, e)| {
            1 + n.as_deref().map_or(0, |x| wrapped_height(x, text_w))
                + e.as_deref().map_or(0, |x| wrapped_height(x, text_w))
        })
        .sum();
    let others: u16 = form
        .other_errors
        .iter()
        .map(|e| wrapped_height(&format!("✗ {e}"), w.saturating_sub(2)))
        .sum();
    let h = (body + others + 4).min(area.height.saturating_sub(2));
    let inner = popup(f, centered(area, w, h), format!(" {} ", form.title), t);
    let bottom = inner.y + inner.height.saturating_sub(1);
    let mut y = inner.y;
    for (i, (field, (note, err))) in form.fields.iter().zip(&blocks).enumerate() {
        if y >= bottom {
            break;
        }
        let focused = i == form.focus;
        let label_style = if focused { t.title } else { t.base };
        f.render_widget(
            Paragraph::new(field.label).style(label_style),
            Rect::new(inner.x, y, LABEL_W, 1),
        );
        input_line(
            f,
            Rect::new(inner.x + LABEL_W, y, INPUT_W, 1),
            &field.input,
            focused,
            t,
        );
        let hint_w = inner.width.saturating_sub(LABEL_W + INPUT_W + 2);
        f.render_widget(
            Paragraph::new(Span::styled(field.hint, t.muted)),
            Rect::new(inner.x + LABEL_W + INPUT_W + 2, y, hint_w, 1),
        );
        y += 1;
        for (text, style) in [(note, t.accent), (err, t.bad)] {
            let Some(text) = text else { continue };
            let lines = wrapped_height(text, text_w).min(bottom.saturating_sub(y));
            f.render_widget(
                Paragraph::new(Span::styled(text.clone(), style)).wrap(Wrap { trim: true }),
                Rect::new(inner.x + LABEL_W, y, text_w, lines),
            );
            y += lines;
        }
    }
    for e in &form.other_errors {
        let text = format!("✗ {e}");
        let lines = wrapped_height(&text, inner.width).min(bottom.saturating_sub(y));
        f.render_widget(
            Paragraph::new(Span::styled(text, t.bad)).wrap(Wrap { trim: true }),
            Rect::new(inner.x, y, inner.width, lines),
        );
        y += lines;
    }
    let footer = if form.touched && form.error_count() > 0 {
        Span::styled(
            format!("{} field(s) to fix · Esc cancel", form.error_count()),
            t.warn,
        )
    } else {
        Span::styled(
            "Enter review and confirm · Tab next field · Esc cancel",
            t.muted,
        )
    };
    f.render_widget(
        Paragraph::new(footer),
        Rect::new(inner.x, bottom, inner.width, 1),
    );
}

pub fn confirm(f: &mut Frame, area: Rect, c: &Confirm, t: &Theme) {
    let w = (area.width - 4).min(76);
    let body: u16 = c
        .lines
        .iter()
        .map(|l| wrapped_height(l, w.saturating_sub(2)))
        .sum();
    let h = body + 4;
    let inner = popup(f, centered(area, w, h), format!(" {} ", c.title), t);
    let mut lines: Vec<Line> = c.lines.iter().map(|l| Line::from(l.as_str())).collect();
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled("Enter/y", t.key),
        Span::raw(" confirm   "),
        Span::styled("Esc/n", t.key),
        Span::raw(" cancel"),
    ]));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
}

pub fn palette(
    f: &mut Frame,
    area: Rect,
    input: &Input,
    selected: usize,
    list: &[PaletteEntry],
    t: &Theme,
) {
    let w = (area.width - 4).min(70);
    let h = (list.len() as u16 + 3).min(area.height - 4).max(4);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + 2, w, h);
    let inner = popup(f, r, " Command ", t);
    f.render_widget(Paragraph::new(":"), Rect::new(inner.x, inner.y, 1, 1));
    input_line(
        f,
        Rect::new(inner.x + 1, inner.y, inner.width - 1, 1),
        input,
        true,
        t,
    );
    for (i, (name, args, what)) in list.iter().enumerate() {
        let y = inner.y + 1 + i as u16;
        if y >= inner.y + inner.height {
            break;
        }
        let style = if i == selected { t.selected } else { t.base };
        let line = Line::from(vec![
            Span::styled(format!("{name} {args}"), t.key),
            Span::raw("  "),
            Span::raw(*what),
        ]);
        f.render_widget(
            Paragraph::new(line).style(style),
            Rect::new(inner.x, y, inner.width, 1),
        );
    }
}

pub fn filter(
    f: &mut Frame,
    area: Rect,
    target: FilterTarget,
    input: &Input,
    error: Option<&str>,
    t: &Theme,
) {
    let hint = match target {
        FilterTarget::Members | FilterTarget::Points => "name or phone (separators ignored)",
        FilterTarget::Deals => "member:7 merchant:3 type:use status:fail month:202610",
        FilterTarget::Billing => "merchant name",
        FilterTarget::Events => "type:Billed member:7 (or a word / a number)",
        FilterTarget::History => "type:use status:fail merchant:3 month:202610",
    };
    let r = Rect::new(area.x, area.y + area.height - 3, area.width, 3);
    let inner = popup(f, r, format!(" Filter: {hint} "), t);
    f.render_widget(Paragraph::new("/"), Rect::new(inner.x, inner.y, 1, 1));
    let iw = inner.width.saturating_sub(1) / 2;
    input_line(f, Rect::new(inner.x + 1, inner.y, iw, 1), input, true, t);
    if let Some(e) = error {
        f.render_widget(
            Paragraph::new(Span::styled(format!(" ✗ {e}"), t.bad)),
            Rect::new(inner.x + 1 + iw, inner.y, inner.width - 1 - iw, 1),
        );
    }
}

pub fn json(f: &mut Frame, area: Rect, title: &str, json: &str, t: &Theme) {
    let lines = json.lines().count() as u16;
    let w = (area.width - 4).min(80);
    let h = (lines + 3).min(area.height - 2);
    let inner = popup(
        f,
        centered(area, w, h),
        format!(" {title} JSON · Enter description · y copy · Esc closes "),
        t,
    );
    f.render_widget(Paragraph::new(json.to_string()).style(t.base), inner);
}

pub fn describe(f: &mut Frame, area: Rect, title: &str, lines: &[String], t: &Theme) {
    let w = (area.width - 4).min(84);
    let h = (lines.len() as u16 + 2).min(area.height - 2);
    let inner = popup(
        f,
        centered(area, w, h),
        format!(" {title} · Enter JSON · y copy JSON · Esc closes "),
        t,
    );
    let body: Vec<Line> = lines.iter().map(|l| Line::from(l.as_str())).collect();
    f.render_widget(
        Paragraph::new(body)
            .style(t.base)
            .wrap(Wrap { trim: false }),
        inner,
    );
}

pub fn yank(f: &mut Frame, area: Rect, choices: &[(String, String)], selected: usize, t: &Theme) {
    let w = (area.width - 4).min(70);
    let h = choices.len() as u16 + 2;
    let inner = popup(
        f,
        centered(area, w, h),
        " Copy · 1-9 or Enter · Esc closes ",
        t,
    );
    for (i, (label, text)) in choices.iter().enumerate() {
        let y = inner.y + i as u16;
        if y >= inner.y + inner.height {
            break;
        }
        let style = if i == selected { t.selected } else { t.base };
        let line = Line::from(vec![
            Span::styled(format!("{} ", i + 1), t.key),
            Span::raw(format!("{label:<12} ")),
            Span::styled(
                crate::views::format::clip(text, inner.width.saturating_sub(16) as usize),
                t.muted,
            ),
        ]);
        f.render_widget(
            Paragraph::new(line).style(style),
            Rect::new(inner.x, y, inner.width, 1),
        );
    }
}
