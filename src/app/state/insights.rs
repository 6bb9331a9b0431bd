//! The Insights tab's state: which report is shown, its window, the loaded report and the
//! selected row. The rows a view lists are computed once per loaded report (`rows`), not
//! per frame.

use crate::domain::reports::{Grain, Report, ReportKind, ReportQuery};
use crate::domain::{DealId, MemberId, MerchantId};
use crate::views::format::plural;

/// The reports the tab cycles through (`v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InsightView {
    #[default]
    Liability,
    Activity,
    Segments,
    Dormant,
    Anomalies,
}

impl InsightView {
    pub const ALL: [InsightView; 5] = [
        InsightView::Liability,
        InsightView::Activity,
        InsightView::Segments,
        InsightView::Dormant,
        InsightView::Anomalies,
    ];
    pub fn title(self) -> &'static str {
        match self {
            InsightView::Liability => "Liability",
            InsightView::Activity => "Activity",
            InsightView::Segments => "Segments",
            InsightView::Dormant => "Dormant",
            InsightView::Anomalies => "Anomalies",
        }
    }
    pub fn next(self) -> InsightView {
        let i = InsightView::ALL
            .iter()
            .position(|v| *v == self)
            .unwrap_or(0);
        InsightView::ALL[(i + 1) % InsightView::ALL.len()]
    }
    fn kind(self) -> ReportKind {
        match self {
            InsightView::Liability => ReportKind::Liability,
            InsightView::Activity => ReportKind::Activity,
            InsightView::Segments => ReportKind::Segments,
            InsightView::Dormant => ReportKind::Dormant,
            InsightView::Anomalies => ReportKind::Anomalies,
        }
    }
}

/// Where Enter on a row leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drill {
    /// The member's analysis (Members tab).
    Member(MemberId),
    /// The Deals tab filtered to the member (an anomaly: who, and what was flagged).
    MemberDeals(MemberId, String),
    /// The Deals tab filtered to the merchant (a clawback anomaly: who, and what).
    MerchantDeals(MerchantId, String),
    /// The Members tab filtered to a segment's members (its name and count).
    Segment(String, u64),
    /// A month of the roll-forward: the Deals tab for that month.
    Month(crate::domain::Month),
}

#[derive(Debug, Clone, Default)]
pub struct InsightsState {
    pub view: InsightView,
    /// Activity: day, week or month.
    pub grain: Grain,
    /// How many periods (days, weeks, months) back the window ends: `]`/`[` move it.
    pub offset: i32,
    pub report: Option<Report>,
    /// The report as tables, flattened once when it arrives (the view only draws them).
    pub tables: Vec<crate::domain::reports::tables::Table>,
    /// The same tables as people read them, with each column's width, also computed once.
    pub shown: Vec<ShownTable>,
    /// Chart series, also computed on arrival: (label, value) pairs.
    pub series: Vec<(String, u64)>,
    /// What Enter does on each row of the main list, in list order.
    pub drills: Vec<Option<Drill>>,
    pub selected: usize,
    /// The first scrolled column (`←`/`→`) when a table is wider than the screen; the first
    /// column stays pinned.
    pub column: usize,
    pub generation: u64,
    pub loading: bool,
    pub loaded_once: bool,
    /// The deal ids behind the selected anomaly (shown under the table).
    pub behind: Vec<DealId>,
}

impl InsightsState {
    /// The report the current view asks for; `today` is the business day now.
    pub fn query(&self, today: i32) -> ReportQuery {
        let mut q = ReportQuery::new(self.view.kind());
        match self.view {
            InsightView::Activity => {
                q.grain = self.grain;
                let span = match self.grain {
                    Grain::Day => 1,
                    Grain::Week => 7,
                    Grain::Month => 30,
                };
                if self.offset > 0 {
                    let to = today - self.offset * span;
                    q.to = Some(to);
                    q.from = Some(match self.grain {
                        Grain::Day => to - 29,
                        Grain::Week => to - 7 * 11,
                        Grain::Month => to - 330,
                    });
                }
            }
            InsightView::Anomalies => {
                if self.offset > 0 {
                    let to = today - self.offset * 7;
                    q.to = Some(to);
                    q.from = Some(to - 6);
                }
                q.min_cancels = 2;
                q.min_failed = 2;
            }
            InsightView::Dormant => q.limit = 200,
            _ => {}
        }
        q
    }

    /// Takes a loaded report: the drill targets of its rows, the selection kept in range.
    pub fn accept(&mut self, generation: u64, r: Report) {
        if generation != self.generation {
            return;
        }
        self.drills = match &r {
            Report::Liability(l) => l
                .months
                .iter()
                .map(|m| Some(Drill::Month(m.month)))
                .collect(),
            // By month, a row opens that month's deals (the Deals filter has no day).
            Report::Activity(a) => a
                .rows
                .iter()
                .map(|row| match a.grain {
                    Grain::Month => crate::domain::Month::parse("month", &row.period)
                        .ok()
                        .map(Drill::Month),
                    Grain::Day | Grain::Week => None,
                })
                .collect(),
            Report::Segments(s) => s
                .rows
                .iter()
                .map(|row| Some(Drill::Segment(row.segment.clone(), row.members)))
                .collect(),
            Report::Dormant(d) => d
                .members
                .iter()
                .map(|m| Some(Drill::Member(m.member_id)))
                .collect(),
            Report::Anomalies(a) => a
                .members
                .iter()
                .map(|m| {
                    let what = format!(
                        "{} ({}): {} · {} in {}..{}",
                        m.name,
                        m.member_id,
                        plural(m.cancels, "cancel"),
                        plural(m.failed_uses, "failed use"),
                        a.from,
                        a.to
                    );
                    Some(Drill::MemberDeals(m.member_id, what))
                })
                .chain(a.merchants.iter().map(|m| {
                    let name = m.name.clone().unwrap_or_else(|| "merchant".into());
                    let what = format!(
                        "{name} ({}): {} in {}..{}",
                        m.merchant_id,
                        plural(m.clawback_count, "clawback"),
                        a.from,
                        a.to
                    );
                    Some(Drill::MerchantDeals(m.merchant_id, what))
                }))
                .collect(),
        };
        self.tables = r.tables();
        self.shown = self.tables.iter().map(ShownTable::of).collect();
        self.series = series(&r);
        self.report = Some(r);
        self.loading = false;
        self.loaded_once = true;
        self.selected = self.selected.min(self.drills.len().saturating_sub(1));
        self.update_behind();
    }

    pub fn step(&mut self, delta: isize) {
        let n = self.drills.len();
        self.selected =
            (self.selected as isize + delta).clamp(0, n.saturating_sub(1) as isize) as usize;
        self.update_behind();
    }

    fn update_behind(&mut self) {
        self.behind = match &self.report {
            Some(Report::Anomalies(a)) => {
                let m = a.members.len();
                if self.selected < m {
                    a.members[self.selected].deals.clone()
                } else {
                    a.merchants
                        .get(self.selected - m)
                        .map(|x| x.deals.clone())
                        .unwrap_or_default()
                }
            }
            _ => Vec::new(),
        };
    }

    pub fn drill(&self) -> Option<Drill> {
        self.drills.get(self.selected).cloned().flatten()
    }
}

/// What the view charts: closing liability per month (whole points), deals per period,
/// members per segment.
fn series(r: &Report) -> Vec<(String, u64)> {
    let whole = |p: crate::domain::Points| (p.0 / 100).max(0) as u64;
    match r {
        Report::Liability(l) => l
            .months
            .iter()
            .map(|m| {
                (
                    format!("{:02}/{:02}", m.month.year % 100, m.month.month),
                    whole(m.closing),
                )
            })
            .collect(),
        Report::Activity(a) => a
            .rows
            .iter()
            .map(|row| {
                let deals =
                    row.saves + row.uses + row.failed_uses + row.save_cancels + row.use_cancels;
                (row.period.clone(), deals)
            })
            .collect(),
        Report::Segments(s) => s
            .rows
            .iter()
            .map(|row| (row.segment.clone(), row.members))
            .collect(),
        Report::Dormant(_) | Report::Anomalies(_) => Vec::new(),
    }
}

/// A report table's cells for people (separators, two decimals) and each column's width in
/// terminal cells: the widest of its header and cells, at most `MAX_COLUMN`.
#[derive(Debug, Clone, Default)]
pub struct ShownTable {
    pub cells: Vec<Vec<String>>,
    pub widths: Vec<usize>,
}

/// The widest a report column grows (a long rule or list of deal ids is cut there).
pub const MAX_COLUMN: usize = 48;

impl ShownTable {
    pub fn of(t: &crate::domain::reports::tables::Table) -> ShownTable {
        use unicode_width::UnicodeWidthStr;
        let cells: Vec<Vec<String>> = t
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&t.columns)
                    .map(|(c, (_, kind))| kind.for_people(c))
                    .collect()
            })
            .collect();
        let widths = t
            .columns
            .iter()
            .enumerate()
            .map(|(c, (h, _))| {
                cells
                    .iter()
                    .map(|r| r[c].width())
                    .max()
                    .unwrap_or(0)
                    .max(h.width())
                    .min(MAX_COLUMN)
            })
            .collect();
        ShownTable { cells, widths }
    }
}
