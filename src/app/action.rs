//! Messages into the loop (`Action`: keys, ticks, worker results) and out of `update`
//! (`Effect`: the work the worker or the terminal does). Plain data, so `update` stays pure.

use crossterm::event::{KeyEvent, MouseEvent};

use crate::api::{Error, Result};
use crate::app::state::billing::PreviewRow;
use crate::app::state::points::BalanceRow;
use crate::domain::{
    BalanceQuery, Billing, BillingPreview, BillingRequest, Command, DashboardRow, Deal, DealId,
    DealQuery, Event, IdemKey, MemberDetail, MemberId, MemberQuery, MemberView, Millis, Month,
    Outcome, PointsSummary,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Members,
    Detail,
    History,
    Deals,
    Balances,
    Summary,
    Billing,
    Lookup,
    Report,
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
        generation: u64,
        rows: Vec<MemberView>,
        select_last: bool,
    },
    Detail(Box<MemberDetail>),
    History {
        member: MemberId,
        generation: u64,
        rows: Vec<DashboardRow>,
        select_last: bool,
    },
    Deals {
        generation: u64,
        rows: Vec<Deal>,
        select_last: bool,
    },
    Balances {
        generation: u64,
        rows: Vec<BalanceRow>,
        select_last: bool,
    },
    Summary(PointsSummary),
    /// Merchant names by id (for labels).
    Merchants(Vec<(crate::domain::MerchantId, String)>),
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
    /// A deal to show as JSON, or to confirm cancelling.
    Deal(Deal, bool),
    /// A staff report for the Insights tab.
    Report {
        generation: u64,
        report: Box<crate::domain::reports::Report>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadMembers {
        generation: u64,
        query: MemberQuery,
        select_last: bool,
    },
    LoadDetail(MemberId),
    LoadHistory {
        member: MemberId,
        generation: u64,
        before: Option<DealId>,
        limit: usize,
        select_last: bool,
    },
    LoadDeals {
        generation: u64,
        query: DealQuery,
        select_last: bool,
    },
    LoadBalances {
        generation: u64,
        query: BalanceQuery,
        select_last: bool,
    },
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
    /// Fetch a deal: show its JSON (`false`) or confirm cancelling it (`true`).
    FetchDeal(DealId, bool),
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
