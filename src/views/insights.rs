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
use crate::app::state::insights::InsightView;
use crate::domain::reports::tables::Table;

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
            draw_table(f, a, first, (sel < m).then_some(sel), &title, t);
            draw_table(f, b, second, sel.checked_sub(m), &second.title, t);
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
            draw_table(f, a, first, Some(i.selected), &title, t);
            draw_table(f, b, second, None, &second.title, t);
        }
        _ if chart.is_none() => {
            let full = format!("{title}· {}", first.title);
            draw_table(f, rest, first, Some(i.selected), &full, t)
        }
        _ => draw_table(f, rest, first, Some(i.selected), &title, t),
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
    table: &Table,
    selected: Option<usize>,
    title: &str,
    t: &Theme,
) {
    let widths: Vec<Constraint> = table
        .columns
        .iter()
        .enumerate()
        .map(|(c, (h, _))| {
            let w = table
                .rows
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
                .max(h.len())
                .min(40);
            Constraint::Length(w as u16)
        })
        .collect();
    let rows = |x: usize, y: usize| {
        table.rows[x..y]
            .iter()
            .map(|r| {
                Row::new(
                    r.iter()
                        .zip(&table.columns)
                        .map(|(cell, (_, numeric))| {
                            if *numeric {
                                Cell::from(Line::from(cell.clone()).right_aligned())
                            } else {
                                Cell::from(cell.clone())
                            }
                        })
                        .collect::<Vec<_>>(),
                )
            })
            .collect()
    };
    let head = Row::new(table.columns.iter().map(|c| c.0).collect::<Vec<_>>());
    window_table(
        f,
        area,
        head,
        &widths,
        rows,
        table.rows.len(),
        0,
        selected.filter(|_| !table.rows.is_empty()),
        block(format!(" {} ", title.trim()), t),
        t,
    );
}

/// A bar label that fits: `980`, `12k`, `3.4M`.
fn short(v: u64) -> String {
    match v {
        0..10_000 => v.to_string(),
        10_000..10_000_000 => format!("{}k", v / 1_000),
        _ => format!("{:.1}M", v as f64 / 1e6),
    }
}
