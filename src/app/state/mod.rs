//! The console's whole state: which tab, each tab's data, the open overlay (form, confirm,
//! help, palette, filter, JSON), the status line and the header. Owned by the loop; the
//! views read it, `update` changes it.

pub mod billing;
pub mod deals;
pub mod events;
pub mod insights;
pub mod keys;
pub mod members;
pub mod points;
pub mod sort;
pub mod table;

use tui_input::Input;

pub use crate::app::forms::Form;
use crate::app::keymap::{Keymap, Scope};
use crate::domain::{Command, IdemKey, MemberId, Millis, Month};

pub use billing::BillingState;
pub use deals::DealsState;
pub use events::EventsState;
pub use members::MembersState;
pub use points::PointsState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tab {
    #[default]
    Members,
    Deals,
    Points,
    Billing,
    Events,
    Insights,
}

impl Tab {
    pub const ALL: [Tab; 6] = [
        Tab::Members,
        Tab::Deals,
        Tab::Points,
        Tab::Billing,
        Tab::Events,
        Tab::Insights,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Members => "Members",
            Tab::Deals => "Deals",
            Tab::Points => "Points",
            Tab::Billing => "Billing",
            Tab::Events => "Events",
            Tab::Insights => "Insights",
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn cycle(self, forward: bool) -> Tab {
        let n = Tab::ALL.len();
        let i = self.index();
        Tab::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }

    /// The label on the tab bar (`1 Members`); the bar puts them from column 1, 3 apart.
    pub fn label(self) -> String {
        format!("{} {}", self.index() + 1, self.title())
    }

    /// The tab whose label covers `column` of the tab bar (for mouse clicks).
    pub fn at_column(column: u16) -> Option<Tab> {
        let mut x = 1u16;
        for t in Tab::ALL {
            let w = t.label().len() as u16;
            if (x..x + w).contains(&column) {
                return Some(t);
            }
            x += w + 3;
        }
        None
    }

    pub fn parse(name: &str) -> Option<Tab> {
        Tab::ALL
            .into_iter()
            .find(|t| t.title().eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
    Mono,
}

impl ThemeName {
    pub fn parse(text: &str) -> Option<ThemeName> {
        match text.trim() {
            "dark" => Some(ThemeName::Dark),
            "light" => Some(ThemeName::Light),
            "mono" => Some(ThemeName::Mono),
            _ => None,
        }
    }
    /// `NO_COLOR` (any non-empty value) forces mono, whatever the config says.
    pub fn resolve(configured: ThemeName, no_color: Option<&str>) -> ThemeName {
        match no_color {
            Some(v) if !v.is_empty() => ThemeName::Mono,
            _ => configured,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            ThemeName::Dark => "dark",
            ThemeName::Light => "light",
            ThemeName::Mono => "mono",
        }
    }
}

/// The header's view of the data source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    pub kind: String,
    pub location: String,
    pub link: String,
    pub outbox: usize,
}

/// The demo's traffic simulator, as the header shows and the keys steer it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoInfo {
    pub rate: f64,
    pub paused: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Done,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub kind: StatusKind,
    pub text: String,
    /// When it was said: it expires `STATUS_FOR` (errors `ERROR_FOR`) later.
    pub at: Millis,
    /// The view it belongs to (it shows only there); `None` for the whole console.
    pub view: Option<View>,
}

/// How long a status message stays.
pub const STATUS_FOR: Millis = 5_000;
/// Errors stay a little longer.
pub const ERROR_FOR: Millis = 10_000;

/// A view a message can belong to: a tab, or the member analysis over the Members tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Tab(Tab),
    Analysis,
}

/// A write waiting for the user's yes, saying what will happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub title: String,
    pub lines: Vec<String>,
    pub command: Command,
}

/// What the `/` prompt filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterTarget {
    Members,
    Deals,
    Billing,
    Events,
    /// The member analysis' history.
    History,
    /// The Points tab's members.
    Points,
}

/// A palette command as listed: (name, arguments, what it does).
pub type PaletteEntry = &'static (&'static str, &'static str, &'static str);

#[derive(Debug, Clone)]
pub enum Modal {
    /// The keys; `scroll` lines down.
    Help {
        scroll: u16,
    },
    /// The `:` palette: what is typed, the commands it matches (computed as it is typed,
    /// not per frame) and the highlighted one.
    Palette {
        input: Input,
        selected: usize,
        matches: Vec<PaletteEntry>,
    },
    Filter {
        target: FilterTarget,
        input: Input,
        error: Option<String>,
    },
    Form(Form),
    Confirm(Confirm),
    /// A deal or event described for people, with its JSON one key (`Enter`) away.
    Describe {
        title: String,
        lines: Vec<String>,
        json: String,
        show_json: bool,
    },
    /// `y`: what to copy, as (label, text).
    Yank {
        choices: Vec<(String, String)>,
        selected: usize,
    },
}

#[derive(Debug, Clone)]
pub struct State {
    pub tab: Tab,
    pub header: Header,
    pub demo: Option<DemoInfo>,
    pub read_only: bool,
    pub theme: ThemeName,
    pub mouse: bool,
    /// "Now" for relative dates, updated by the tick (fixed in tests).
    pub now: Millis,
    pub width: u16,
    pub height: u16,
    pub members: MembersState,
    pub deals: DealsState,
    pub points: PointsState,
    pub billing: BillingState,
    pub events: EventsState,
    pub insights: insights::InsightsState,
    pub modal: Option<Modal>,
    pub status: Option<Status>,
    /// Requests out with the worker (the spinner turns while > 0).
    pub pending: usize,
    pub spinner: usize,
    pub keymap: Keymap,
    pub quit: bool,
    /// Prefix of this session's idempotency keys, and the counter after it.
    pub session: String,
    pub key_seq: u64,
    /// Bumped whenever the data moves (new events, our own writes).
    pub data_version: u64,
    /// The `data_version` each tab last loaded at: behind means it reloads when shown.
    pub seen_version: [u64; 6],
    /// Merchant names by id, for every table and the confirms.
    pub merchant_names: std::collections::BTreeMap<crate::domain::MerchantId, String>,
    /// Merchants' earn rates (basis points) by id, for the save confirm.
    pub merchant_rates: std::collections::BTreeMap<crate::domain::MerchantId, u32>,
    /// Member names by id (names never change after joining), filled by batch reads.
    pub member_names: std::collections::HashMap<MemberId, String>,
    /// A batch read of member names is out (one at a time).
    pub names_loading: bool,
    /// A read of the merchants is out.
    pub merchants_loading: bool,
    /// Members' balances as last read (for the forms' notes; never for arithmetic).
    pub member_points: std::collections::HashMap<MemberId, crate::domain::Points>,
    /// Member ids a read found no member for (the forms say so).
    pub unknown_members: std::collections::HashSet<MemberId>,
    /// The deal the cancel form's original id names, once read.
    pub form_original: Option<crate::domain::Deal>,
    /// The store's business time zone: every time shown is in it.
    pub zone: chrono::FixedOffset,
    /// The tab the member analysis was opened from (`Esc` goes back there).
    pub back_to: Option<Tab>,
    /// A drill-down from Insights in force: the tab it opened, filtered (`Esc` there goes
    /// back to Insights and restores the filter it replaced).
    pub drilled: Option<Drilled>,
}

/// Where `Enter` on an Insights row led, and how to undo it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drilled {
    /// Members (a segment) or Deals (an anomaly, a month).
    pub tab: Tab,
    /// What the filter is, for the title: `anomaly: Kim (#7)`.
    pub label: String,
    /// The tab's filter text before the drill, put back on the way out.
    pub before: String,
}

/// Names cached at most; past this the cache starts again.
pub const NAMES_KEPT: usize = 200_000;

impl State {
    /// The scopes a key is looked up in, most specific first.
    pub fn scopes(&self) -> Vec<Scope> {
        let mut v = Vec::with_capacity(3);
        if self.tab == Tab::Members && self.members.analysis.is_some() {
            v.push(Scope::Analysis);
        }
        v.push(Scope::Tab(self.tab));
        v.push(Scope::Global);
        v
    }
}

impl State {
    pub fn new(now: Millis, month: Month, keymap: Keymap) -> State {
        State {
            tab: Tab::Members,
            header: Header::default(),
            demo: None,
            read_only: false,
            theme: ThemeName::Dark,
            mouse: false,
            now,
            width: 80,
            height: 24,
            members: MembersState::default(),
            deals: DealsState::default(),
            points: PointsState::default(),
            billing: BillingState::new(month),
            events: EventsState::default(),
            insights: Default::default(),
            modal: None,
            status: None,
            pending: 0,
            spinner: 0,
            keymap,
            quit: false,
            // 128 random bits: two consoles started in the same millisecond never share keys.
            session: format!("{:032x}", rand::random::<u128>()),
            key_seq: 0,
            data_version: 0,
            seen_version: [0; 6],
            merchant_names: Default::default(),
            merchant_rates: Default::default(),
            member_names: Default::default(),
            names_loading: false,
            merchants_loading: false,
            member_points: Default::default(),
            form_original: None,
            unknown_members: Default::default(),
            zone: chrono::FixedOffset::east_opt(0).expect("UTC"),
            back_to: None,
            drilled: None,
        }
    }

    /// A fresh idempotency key for one user action.
    pub fn next_key(&mut self) -> IdemKey {
        self.key_seq += 1;
        IdemKey(format!("console-{}-{}", self.session, self.key_seq))
    }

    /// Says something in the status line, for the view on screen.
    pub fn say(&mut self, kind: StatusKind, text: impl Into<String>) {
        let view = Some(self.view());
        self.status = Some(Status {
            kind,
            text: text.into(),
            at: self.now,
            view,
        });
    }

    /// Says something that belongs to no one view (a write's outcome, the connection).
    pub fn say_everywhere(&mut self, kind: StatusKind, text: impl Into<String>) {
        self.status = Some(Status {
            kind,
            text: text.into(),
            at: self.now,
            view: None,
        });
    }

    /// The view on screen.
    pub fn view(&self) -> View {
        if self.tab == Tab::Members && self.members.analysis.is_some() {
            View::Analysis
        } else {
            View::Tab(self.tab)
        }
    }

    /// The status message to show now: one of this view's, not yet expired.
    pub fn status_shown(&self) -> Option<&Status> {
        self.status.as_ref().filter(|st| {
            let life = if st.kind == StatusKind::Error {
                ERROR_FOR
            } else {
                STATUS_FOR
            };
            st.view.is_none_or(|v| v == self.view()) && self.now - st.at < life
        })
    }

    /// `Kim Min-jun` for a member whose name was read, `#7` otherwise.
    pub fn member_label(&self, id: MemberId) -> String {
        match self.member_names.get(&id) {
            Some(n) => n.clone(),
            None => format!("#{id}"),
        }
    }

    pub fn remember_names<'a>(&mut self, names: impl IntoIterator<Item = (MemberId, &'a str)>) {
        if self.member_names.len() > NAMES_KEPT {
            self.member_names.clear();
            self.member_points.clear();
        }
        for (id, n) in names {
            self.member_names.insert(id, n.to_string());
        }
    }

    /// The zone's label for the header: `KST +09:00`, `UTC`.
    pub fn zone_label(&self) -> String {
        let secs = self.zone.local_minus_utc();
        let sign = if secs < 0 { '-' } else { '+' };
        let (h, m) = (secs.abs() / 3600, secs.abs() % 3600 / 60);
        let known = match secs {
            0 => return "UTC".into(),
            32_400 => "KST ",
            -18_000 => "EST ",
            3_600 => "CET ",
            _ => "UTC",
        };
        format!("{known}{sign}{h:02}:{m:02}")
    }

    /// Rows a full-width table shows at the current size (header, tabs, status, borders).
    pub fn table_rows(&self) -> usize {
        usize::from(self.height.saturating_sub(8)).max(1)
    }

    /// `Café Mori` for a named merchant, `#7` otherwise.
    pub fn merchant_label(&self, id: crate::domain::MerchantId) -> String {
        self.merchant_names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    }

    /// The data moved since the current tab last loaded.
    pub fn tab_stale(&self) -> bool {
        self.seen_version[self.tab.index()] < self.data_version
    }

    pub fn mark_seen(&mut self) {
        self.seen_version[self.tab.index()] = self.data_version;
    }

    /// The view on screen is a drill-down from Insights (`Esc` goes back there).
    pub fn in_drill(&self) -> bool {
        self.view() != View::Analysis && self.drilled.as_ref().is_some_and(|d| d.tab == self.tab)
    }

    pub fn busy(&self) -> bool {
        self.pending > 0
    }
}
