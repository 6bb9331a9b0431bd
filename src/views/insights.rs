//! The Insights tab: the staff reports as charts and tables. Liability: closing points per
//! month as bars over the roll-forward table; activity: deals per period as a sparkline over
//! the table; segments: members per segment as bars; dormant and anomalies: tables (an
//! anomaly's deals under it). Everything drawn was computed when the report arrived.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Bar, BarChart, BarGroup, Cell, Paragraph, Row, Sparkline};

use super::format::clip;
use super::theme::Theme;
use super::widgets::{block, window_table};
use crate::app::state::State;
use crate::app::state::insights::{InsightView, ShownTable};
use crate::domain::reports::tables::{Kind, Table};

pub fn draw(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let i = &s.insights;
    let mut title = format!(" {} · v next report · Enter open ", i.view.title());
    if matches!(i.view, InsightView::Activity) {
        title.push_str(&format!("· i {} ", i.grain.as_str()));
    }
    if matches!(i.view, InsightView::Activity | InsightView::Anomalies) {
        title.push_str(&if i.offset == 0 {
            "· [ ] window: now ".to_string()
        } else {
            format!("· [ ] window: {} back ", i.offset)
        });
    }
    if i.loading {
        title.push_str("· loading ");
    }
    let Some(first) = i.tables.first() else {
        f.render_widget(
            Paragraph::new(if i.loading {
                "loading…"
            } else {
                "no report yet"
            })
            .block(block(title, t)),
            area,
        );
        return;
    };
    let charted = !i.series.is_empty() && area.height >= 16;
    let (chart, rest) = if charted {
        let [c, r] = Layout::vertical([Constraint::Length(9), Constraint::Min(5)]).areas(area);
        (Some(c), r)
    } else {
        (None, area)
    };
    if let Some(c) = chart {
        draw_chart(f, c, s, t);
    }
    match i.tables.get(1) {
        Some(second) if i.view == InsightView::Anomalies => {
            let [a, b, behind] = Layout::vertical([
                Constraint::Percentage(50),
                Constraint::Min(4),
                Constraint::Length(3),
            ])
            .areas(rest);
            let m = first.rows.len();
            let sel = i.selected;
            draw_table(
                f,
                a,
                (first, &i.shown[0]),
                (sel < m).then_some(sel),
                &title,
                i.column,
                t,
            );
            draw_table(
                f,
                b,
                (second, &i.shown[1]),
                sel.checked_sub(m),
                &second.title,
                i.column,
                t,
            );
            let ids: Vec<String> = i.behind.iter().map(|d| d.to_string()).collect();
            f.render_widget(
                Paragraph::new(clip(
                    &ids.join(" "),
                    behind.width.saturating_sub(2) as usize,
                ))
                .block(block(" Deals behind the selected row ", t)),
                behind,
            );
        }
        Some(second) if i.view == InsightView::Liability => {
            let [a, b] =
                Layout::vertical([Constraint::Percentage(60), Constraint::Min(4)]).areas(rest);
            draw_table(
                f,
                a,
                (first, &i.shown[0]),
                Some(i.selected),
                &title,
                i.column,
                t,
            );
            draw_table(
                f,
                b,
                (second, &i.shown[1]),
                None,
                &second.title,
                i.column,
                t,
            );
        }
        _ if chart.is_none() => {
            let full = format!("{title}· {}", first.title);
            draw_table(
                f,
                rest,
                (first, &i.shown[0]),
                Some(i.selected),
                &full,
                i.column,
                t,
            )
        }
        _ => draw_table(
            f,
            rest,
            (first, &i.shown[0]),
            Some(i.selected),
            &title,
            i.column,
            t,
        ),
    }
}

fn draw_chart(f: &mut Frame, area: Rect, s: &State, t: &Theme) {
    let i = &s.insights;
    let title = i
        .tables
        .first()
        .map(|x| x.title.clone())
        .unwrap_or_default();
    match i.view {
        InsightView::Activity => {
            let data: Vec<u64> = i.series.iter().map(|x| x.1).collect();
            let (from, to) = (
                i.series.first().map(|x| x.0.as_str()).unwrap_or(""),
                i.series.last().map(|x| x.0.as_str()).unwrap_or(""),
            );
            let peak = data.iter().max().copied().unwrap_or(0);
            f.render_widget(
                Sparkline::default()
                    .block(block(
                        format!(
                            " Deals per {} {from} … {to} (peak {peak}) ",
                            i.grain.as_str()
                        ),
                        t,
                    ))
                    .data(&data)
                    .style(t.chart),
                area,
            );
        }
        _ => {
            let width = if i.view == InsightView::Segments {
                9
            } else {
                5
            };
            let fit = (area.width.saturating_sub(2) / (width + 1)).max(1) as usize;
            let bars: Vec<Bar> = i
                .series
                .iter()
                .rev()
                .take(fit)
                .rev()
                .map(|(label, v)| {
                    Bar::default()
                        .value(*v)
                        .text_value(short(*v))
                        .label(Line::from(clip(label, width as usize)))
                })
                .collect();
            f.render_widget(
                BarChart::default()
                    .block(block(format!(" {} ", clip(&title, 70)), t))
                    .data(BarGroup::default().bars(&bars))
                    .bar_width(width)
                    .bar_gap(1)
                    .bar_style(t.chart)
                    .value_style(t.table_head),
                area,
            );
        }
    }
}

fn draw_table(
    f: &mut Frame,
    area: Rect,
    (table, people): (&Table, &ShownTable),
    selected: Option<usize>,
    title: &str,
    column: usize,
    t: &Theme,
) {
    // Cells as people read them, each column as wide as its widest cell (both computed when
    // the report arrived): a number is never cut. Wider than the screen, the first column
    // stays and the rest scroll with ←/→.
    let (cells, widths) = (&people.cells, &people.widths);
    let kinds: Vec<Kind> = table.columns.iter().map(|c| c.1).collect();
    let shown = fit_columns(widths, column, area.width.saturating_sub(2) as usize);
    let mut title = title.to_string();
    if shown.len() < widths.len() {
        let (first, last) = (
            shown.get(1).copied().unwrap_or(0),
            *shown.last().unwrap_or(&0),
        );
        // Right after the report's name, where a narrow screen still shows it.
        let note = format!(
            " · columns {}-{} of {} ←→",
            first + 1,
            last + 1,
            widths.len()
        );
        let at = title.find(" · ").unwrap_or(title.trim_end().len());
        title.insert_str(at, &note);
    }
    let constraints: Vec<Constraint> = shown
        .iter()
        .map(|&c| Constraint::Length(widths[c] as u16))
        .collect();
    let rows = |x: usize, y: usize| {
        cells[x..y]
            .iter()
            .map(|r| {
                Row::new(
                    shown
                        .iter()
                        .map(|&c| {
                            if kinds[c].numeric() {
                                Cell::from(Line::from(r[c].clone()).right_aligned())
                            } else {
                                Cell::from(r[c].clone())
                            }
                        })
                        .collect::<Vec<_>>(),
                )
            })
            .collect()
    };
    let head = Row::new(
        shown
            .iter()
            .map(|&c| {
                let (name, kind) = table.columns[c];
                if kind.numeric() {
                    Cell::from(Line::from(name).right_aligned())
                } else {
                    Cell::from(name)
                }
            })
            .collect::<Vec<_>>(),
    );
    window_table(
        f,
        area,
        head,
        &constraints,
        rows,
        table.rows.len(),
        0,
        selected.filter(|_| !table.rows.is_empty()),
        block(format!(" {} ", title.trim()), t),
        t,
    );
}

/// Which columns fit in `room` cells: the first always, then from `first_scrolled` as many
/// whole columns as fit, one space apart. Scrolling stops where the last columns fill the
/// screen.
fn fit_columns(widths: &[usize], first_scrolled: usize, room: usize) -> Vec<usize> {
    if widths.is_empty() {
        return Vec::new();
    }
    let mut shown = vec![0];
    let mut used = widths[0];
    // The furthest scroll that still fills the screen: the last columns, as many as fit.
    let mut last_start = widths.len().saturating_sub(1).max(1);
    let mut tail = widths[0] + 1 + widths.get(last_start).copied().unwrap_or(0);
    while last_start > 1 && tail + 1 + widths[last_start - 1] <= room {
        last_start -= 1;
        tail += 1 + widths[last_start];
    }
    let start = (1 + first_scrolled).min(last_start);
    for (c, w) in widths.iter().enumerate().skip(start) {
        if used + 1 + w > room && shown.len() > 1 {
            break;
        }
        used += 1 + w;
        shown.push(c);
    }
    shown
}

/// A bar label that fits: `980`, `12k`, `3.4M`.
fn short(v: u64) -> String {
    match v {
        0..10_000 => v.to_string(),
        10_000..10_000_000 => format!("{}k", v / 1_000),
        _ => format!("{:.1}M", v as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::fit_columns;

    #[test]
    fn wide_tables_keep_the_first_column_and_scroll_whole_columns() {
        let widths = [6, 12, 12, 12, 12];
        // Everything fits: every column.
        assert_eq!(fit_columns(&widths, 0, 80), vec![0, 1, 2, 3, 4]);
        // 40 cells: the first column and two whole ones, never a cut one.
        assert_eq!(fit_columns(&widths, 0, 40), vec![0, 1, 2]);
        assert_eq!(fit_columns(&widths, 1, 40), vec![0, 2, 3]);
        // Scrolling past the end stops where the last columns fill the screen.
        assert_eq!(fit_columns(&widths, 2, 40), vec![0, 3, 4]);
        assert_eq!(fit_columns(&widths, 9, 40), vec![0, 3, 4]);
    }
}
