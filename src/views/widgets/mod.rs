//! Shared drawing pieces: titled blocks, the visible-window table, centred popups, and the
//! overlays (forms, confirms, help, palette, filter prompt, JSON).

pub mod dialogs;
pub mod help;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Clear, Row, Table};

use super::theme::Theme;
use crate::app::state::{Modal, State};

pub fn block<'a>(title: impl Into<Line<'a>>, t: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(t.border)
        .title(title.into().style(t.title))
}

/// A rectangle of `w` x `h` centred in `area` (clamped to it).
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// A cleared popup with a border.
pub fn popup<'a>(f: &mut Frame, area: Rect, title: impl Into<Line<'a>>, t: &Theme) -> Rect {
    f.render_widget(Clear, area);
    let b = block(title, t).style(t.base);
    let inner = b.inner(area);
    f.render_widget(b, area);
    inner
}

/// Rows `offset..` of a page, only as many as fit; `selected` is an index into the page.
/// The offset is nudged so the selection shows even when this table is shorter than the
/// full-height one the state scrolls for.
#[allow(clippy::too_many_arguments)] // one call shape for every paged table
pub fn window_table<'a>(
    f: &mut Frame,
    area: Rect,
    header: Row<'a>,
    widths: &[Constraint],
    rows: impl Fn(usize, usize) -> Vec<Row<'a>>,
    total: usize,
    offset: usize,
    selected: Option<usize>,
    block: Block<'a>,
    t: &Theme,
) {
    let height = block.inner(area).height.saturating_sub(1) as usize;
    let mut start = offset.min(total.saturating_sub(1));
    if let Some(sel) = selected
        && sel >= start + height.max(1)
    {
        start = sel + 1 - height.max(1);
    }
    let end = (start + height).min(total);
    let built: Vec<Row> = rows(start, end)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            if selected == Some(start + i) {
                r.style(t.selected)
            } else {
                r
            }
        })
        .collect();
    let table = Table::new(built, widths.to_vec())
        .header(header.style(t.table_head))
        .block(block)
        .column_spacing(1);
    f.render_widget(table, area);
}

/// A table's title: its name, the selected row's place and the whole table's total
/// (`Members 1,234 / 1,000,000`), then any notes (sort, filter, `+N new`).
pub fn position_title<T: crate::app::state::table::RowId>(
    name: &str,
    table: &crate::app::state::table::Table<T>,
    notes: &[String],
) -> String {
    use crate::views::format::thousands;
    let total = table.known_total();
    let place = match (table.position(), total) {
        // `~`: the place from before the data moved, until the store has counted it.
        (Some(p), Some(n)) if table.approx => format!("~{} / {}", thousands(p), thousands(n)),
        (Some(p), Some(n)) => format!("{} / {}", thousands(p), thousands(n)),
        (Some(p), None) => format!("{} / {}+", thousands(p), thousands(p.max(1))),
        (None, Some(n)) if table.rows.is_empty() => format!("0 / {}", thousands(n)),
        (None, _) if table.rows.is_empty() => "0".into(),
        // Read from the end of a table whose size the store cannot count cheaply.
        (None, _) => format!(
            "{} from the end",
            thousands((table.rows.len() - table.selected) as u64)
        ),
    };
    let mut t = format!(" {name} {place} ");
    for n in notes.iter().filter(|n| !n.is_empty()) {
        t.push_str(&format!("· {n} "));
    }
    if table.new_above > 0 {
        t.push_str(&format!("· +{} new ", thousands(table.new_above)));
    }
    t
}

/// A column heading, with `▲`/`▼` when the table is sorted by it.
pub fn heading(label: &str, sorted: Option<bool>) -> String {
    match sorted {
        Some(desc) => format!("{label} {}", crate::app::state::sort::arrow(desc)),
        None => label.to_string(),
    }
}

pub fn overlay(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    match &s.modal {
        None => {}
        Some(Modal::Help { scroll }) => help::draw(f, area, s, *scroll, t),
        Some(Modal::Form(form)) => dialogs::form(f, area, form, t),
        Some(Modal::Confirm(c)) => dialogs::confirm(f, area, c, t),
        Some(Modal::Palette {
            input,
            selected,
            matches,
        }) => dialogs::palette(f, area, input, *selected, matches, t),
        Some(Modal::Filter {
            target,
            input,
            error,
        }) => dialogs::filter(f, area, *target, input, error.as_deref(), t),
        Some(Modal::Describe {
            title,
            lines,
            json,
            show_json,
        }) => {
            if *show_json {
                dialogs::json(f, area, title, json, t)
            } else {
                dialogs::describe(f, area, title, lines, t)
            }
        }
        Some(Modal::Yank { choices, selected }) => dialogs::yank(f, area, choices, *selected, t),
    }
}
