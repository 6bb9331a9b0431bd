//! The console's whole state: which tab, each tab's data, the open overlay (form, confirm,
//! help, palette, filter, JSON), the status line and the header. Owned by the loop; the
//! views read it, `update` changes it.

pub mod billing;
pub mod deals;
pub mod events;
pub mod insights;
pub mod members;
pub mod paged;
pub mod points;

use tui_input::Input;

use crate::app::forms::Form;
use crate::app::keymap::{Keymap, Scope};
use crate::domain::{Command, IdemKey, Millis, Month};

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
}

#[derive(Debug, Clone)]
pub enum Modal {
    /// The keys; `scroll` lines down.
    Help {
        scroll: u16,
    },
    Palette {
        input: Input,
        selected: usize,
    },
    Filter {
        target: FilterTarget,
        input: Input,
        error: Option<String>,
    },
    Form(Form),
    Confirm(Confirm),
    EventJson {
        title: String,
        json: String,
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
    /// Merchant names by id, for the analysis and the settle confirm.
    pub merchant_names: std::collections::BTreeMap<crate::domain::MerchantId, String>,
}

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
            session: format!("{now:x}"),
            key_seq: 0,
            data_version: 0,
            seen_version: [0; 6],
            merchant_names: Default::default(),
        }
    }

    /// A fresh idempotency key for one user action.
    pub fn next_key(&mut self) -> IdemKey {
        self.key_seq += 1;
        IdemKey(format!("console-{}-{}", self.session, self.key_seq))
    }

    pub fn say(&mut self, kind: StatusKind, text: impl Into<String>) {
        self.status = Some(Status {
            kind,
            text: text.into(),
        });
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

    pub fn busy(&self) -> bool {
        self.pending > 0
    }
}
