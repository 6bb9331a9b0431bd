//! The mechanics of printing for headless commands: one JSON value per command (or one per
//! line when following), `key: value` records and aligned tables for people, and writes to
//! stdout that treat a closed pipe (`| head`) as a normal end rather than a panic.
//! What each domain record looks like is in `cli::show`; this file knows no domain types.

use std::io::{self, IsTerminal, Write};

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::api::{Error, Result};

/// Writes `text` and a newline to stdout and flushes. A closed pipe is not an error: the
/// reader has seen what it wanted. Returns `false` when the pipe is closed, so loops stop.
pub fn emit(text: &str) -> Result<bool> {
    let mut out = io::stdout().lock();
    let r = writeln!(out, "{text}").and_then(|_| out.flush());
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(Error::system(format!("cannot write to stdout: {e}"))),
    }
}

/// One JSON value on one line.
pub fn json_line<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::store(format!("cannot encode JSON: {e}")))
}

/// Prints `v` as one JSON value when `json`, else the human text `human` builds.
pub fn print<T: Serialize + ?Sized>(
    json: bool,
    v: &T,
    human: impl FnOnce() -> String,
) -> Result<()> {
    let text = if json { json_line(v)? } else { human() };
    emit(&text).map(|_| ())
}

/// Whether progress bars may be drawn: only for a person watching stderr.
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// A progress bar on stderr for bulk work, drawn only for a person watching a terminal;
/// hidden (and free) when stderr is a file or a pipe, so scripts see no noise.
pub fn progress(total: u64, what: &str) -> indicatif::ProgressBar {
    if !stderr_is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template(
        "{msg:>10} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

/// A single record as `key: value` lines with the values aligned.
#[derive(Debug, Default)]
pub struct Record {
    fields: Vec<(String, String)>,
}

impl Record {
    pub fn new() -> Record {
        Record::default()
    }
    pub fn field(mut self, key: &str, value: impl ToString) -> Record {
        self.fields.push((key.to_string(), value.to_string()));
        self
    }
    /// Adds the field only when there is a value.
    pub fn opt(self, key: &str, value: Option<impl ToString>) -> Record {
        match value {
            Some(v) => self.field(key, v),
            None => self,
        }
    }
    pub fn render(&self) -> String {
        let width = self
            .fields
            .iter()
            .map(|(k, _)| k.width())
            .max()
            .unwrap_or(0);
        let lines: Vec<String> = self
            .fields
            .iter()
            .map(|(k, v)| {
                let pad = " ".repeat(width - k.width());
                format!("{k}:{pad} {}", one_line(v))
            })
            .collect();
        lines.join("\n")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// An aligned table: a header row, then one row per item. Widths are display widths, so
/// Korean names (two columns per character) line up.
#[derive(Debug)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[(&str, Align)]) -> Table {
        Table {
            columns: columns.iter().map(|(h, a)| (h.to_string(), *a)).collect(),
            rows: Vec::new(),
        }
    }
    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells.iter().map(|c| one_line(c)).collect());
    }
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|(h, _)| h.width()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.width());
            }
        }
        let header: Vec<String> = self.columns.iter().map(|(h, _)| h.clone()).collect();
        let mut lines = vec![self.line(&header, &widths)];
        lines.extend(self.rows.iter().map(|r| self.line(r, &widths)));
        lines.join("\n")
    }
    fn line(&self, cells: &[String], widths: &[usize]) -> String {
        let last = cells.len().saturating_sub(1);
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .zip(&self.columns)
            .enumerate()
            .map(|(i, ((cell, w), (_, align)))| {
                let pad = " ".repeat(w - cell.width());
                match align {
                    Align::Right => format!("{pad}{cell}"),
                    // No trailing blanks after the last column.
                    Align::Left if i == last => cell.clone(),
                    Align::Left => format!("{cell}{pad}"),
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    }
}

/// Keeps a value on one line: stored text has no control characters, but a remote server's
/// might, and a table must not break.
fn one_line(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_align_their_values() {
        let r = Record::new()
            .field("id", 3)
            .field("balance", "2200")
            .opt("reason", None::<String>);
        assert_eq!(r.render(), "id:      3\nbalance: 2200");
    }

    #[test]
    fn tables_align_by_display_width_and_right_align_numbers() {
        let mut t = Table::new(&[
            ("ID", Align::Right),
            ("NAME", Align::Left),
            ("POINTS", Align::Right),
        ]);
        t.row(vec!["1".into(), "안서연".into(), "900".into()]);
        t.row(vec!["12".into(), "Kim".into(), "1000.5".into()]);
        assert_eq!(
            t.render(),
            "ID  NAME    POINTS\n 1  안서연     900\n12  Kim     1000.5"
        );
    }

    #[test]
    fn control_characters_never_break_a_line() {
        let mut t = Table::new(&[("A", Align::Left)]);
        t.row(vec!["a\nb".into()]);
        assert_eq!(t.render(), "A\na b");
    }
}
