//! Messages into the loop (`Action`: keys, ticks, worker results) and out of `update`
//! (`Effect`: the work the worker or the terminal does). Plain data, so `update` stays pure.

use crossterm::event::{KeyEvent, MouseEvent};

use crate::api::{Error, Result};
use crate::app::state::billing::PreviewRow;
use crate::app::state::table::Fetch;
use crate::domain::{
    Billing, BillingPreview, BillingRequest, Command, Deal, DealId, DealWindow, Event, IdemKey,
    MemberDetail, MemberId, MemberView, MemberWindow, MerchantSummary, Millis, Month, Outcome,
    PointsSummary, Window,
};

/// The tables that are windows on the member table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberTable {
    Members,
    Points,
}

/// The tables that are windows on the deal table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealTable {
    Deals,
    /// The member analysis' history of this member.
    History(MemberId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Members(MemberTable),
    Deals(DealTable),
    Detail,
    Summary,
    Billing,
    Names,
    Lookup,
    Report,
}

/// What a fetched deal is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealUse {
    /// `Enter`: describe it.
    Describe,
    /// `c`: confirm cancelling it.
    Cancel,
    /// The cancel form: say what the cancel would reverse.
    Echo,
}

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The clock and the link state, once a second or so.
    Tick {
        now: Millis,
        link: String,
        outbox: usize,
        /// Queued writes the outbox sent since the last tick, with the server's answer.
        sent: Vec<crate::api::port::OutboxReport>,
    },
    /// Time to reload what is on screen if the data moved.
    Refresh,
    Loaded(Loaded),
    Failed {
        target: Target,
        generation: u64,
        error: Error,
    },
    Executed {
        command: Command,
        result: Result<Outcome>,
    },
    Events(Vec<Event>),
    EventsUnavailable(String),
}

#[derive(Debug)]
pub enum Loaded {
    Members {
        table: MemberTable,
        generation: u64,
        fetch: Fetch,
        window: Window<MemberView>,
    },
    Deals {
        table: DealTable,
        generation: u64,
        fetch: Fetch,
        window: Window<Deal>,
        /// The names of the members on the page (one batch read).
        names: Vec<(MemberId, String)>,
    },
    /// Members by id (one batch read): their names, and balances for the forms.
    Names {
        asked: Vec<MemberId>,
        found: Vec<MemberView>,
    },
    Detail(Box<MemberDetail>),
    Summary(PointsSummary),
    Merchants(Vec<MerchantSummary>),
    Billing {
        generation: u64,
        month: Month,
        rows: Vec<PreviewRow>,
        history: Vec<Billing>,
    },
    /// A fresh read of a member before confirming a withdrawal.
    WithdrawTarget(MemberView),
    /// A fresh preview before confirming a settlement.
    SettleTarget(BillingPreview, Option<String>),
    /// A fresh read of a deal (and its member's name), to describe or to confirm cancelling.
    Deal(Box<Deal>, DealUse, Option<String>),
    /// A staff report for the Insights tab.
    Report {
        generation: u64,
        report: Box<crate::domain::reports::Report>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadMembers {
        table: MemberTable,
        generation: u64,
        fetch: Fetch,
        query: MemberWindow,
    },
    LoadDeals {
        table: DealTable,
        generation: u64,
        fetch: Fetch,
        query: DealWindow,
        /// A member named rather than numbered: found first (it must name one member).
        member_name: Option<String>,
    },
    /// Names for these member ids, in one read.
    LoadNames(Vec<MemberId>),
    LoadDetail(MemberId),
    LoadSummary,
    LoadMerchants,
    LoadBilling {
        generation: u64,
        month: Month,
    },
    LoadReport {
        generation: u64,
        query: crate::domain::reports::ReportQuery,
    },
    /// Read the member, then confirm the withdrawal naming the points forfeited.
    PrepareWithdraw(MemberId),
    /// Preview, then confirm the settlement naming the amount.
    PrepareSettle(BillingRequest),
    /// Fetch a deal to describe it or to confirm cancelling it.
    FetchDeal(DealId, DealUse),
    /// One user action, one idempotency key (reused only by the worker's automatic retry).
    Execute {
        key: IdemKey,
        command: Command,
    },
    /// Copy to the clipboard with OSC 52.
    Yank(String),
    SetMouse(bool),
    /// Demo traffic: operations per second, and paused.
    DemoRate {
        rate: f64,
        paused: bool,
    },
}

impl Effect {
    /// Effects that go to the worker and come back as a result (the spinner counts them).
    pub fn is_request(&self) -> bool {
        !matches!(
            self,
            Effect::Yank(_) | Effect::SetMouse(_) | Effect::DemoRate { .. }
        )
    }
}
