//! The port: the one trait every front end (CLI, console, HTTP server) uses to reach the
//! OnePoint core. Two adapters implement it: `embedded` (the core on a local sled store) and
//! `remote` (HTTP, against `onepoint serve` or the original services).
//!
//! The trait is blocking on purpose (gitui's shape): the core is synchronous, and async
//! front ends run calls on blocking threads (`spawn_blocking`) and post results back. The
//! one exception is `submit`, a write that answers through a function instead of blocking
//! its caller, which the embedded core can do (its writer answers on threads of its own).

use std::time::Duration;

use crate::domain::{
    Balance, BalanceQuery, Billing, BillingPreview, BillingQuery, BillingRequest, CheckReport,
    Command, DashboardRow, Deal, DealId, DealQuery, DealRequest, Event, IdemKey, Info, Keyed,
    MemberDetail, MemberId, MemberQuery, MemberView, Merchant, MerchantId, MerchantSummary, Month,
    NewMember, NewMerchant, Outcome, PointsSummary, SourceInfo, Withdrawal,
};
use crate::domain::{DealWindow, MemberWindow, MerchantPreview, Window};

use super::error::{Error, Result};

/// What `Port::submit` calls with a write's results.
pub type Done = Box<dyn FnOnce(Vec<Result<Outcome>>) + Send>;

/// The state of the link to the data, for the console's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// An embedded store: always up.
    Local,
    /// Remote and answering.
    Connected,
    /// Remote, the circuit breaker is open: reads are served stale, writes queue or fail fast.
    Open { failures: u32, retry_in: Duration },
    /// Remote, the breaker lets one probe through.
    HalfOpen,
}

impl Link {
    pub fn label(&self) -> String {
        match self {
            Link::Local => "local".into(),
            Link::Connected => "connected".into(),
            Link::Open { retry_in, .. } => {
                format!("circuit open, retry in {}s", retry_in.as_secs().max(1))
            }
            Link::HalfOpen => "circuit half-open".into(),
        }
    }
}

/// A queued write the outbox sent, and the server's answer.
#[derive(Debug, Clone)]
pub struct OutboxReport {
    pub command: Command,
    pub result: Result<Outcome>,
}

pub trait Port: Send + Sync + 'static {
    /// Where the data lives (store path or URL), for headers and `info`.
    fn source(&self) -> SourceInfo;

    /// Connection and circuit state (always `Local` for the embedded store).
    fn link(&self) -> Link {
        Link::Local
    }

    /// Outbox entries waiting to be sent (remote mode only).
    fn pending_outbox(&self) -> usize {
        0
    }

    /// What became of queued writes the outbox has sent since the last call (remote mode
    /// only): the new member, or the refusal. Each is reported once.
    fn outbox_reports(&self) -> Vec<OutboxReport> {
        Vec::new()
    }

    /// Outbox entries the server refused for good (remote mode only): kept for the
    /// operator to see, retry or drop (`onepoint outbox`), never sent again by themselves.
    fn refused_outbox(&self) -> usize {
        0
    }

    /// True while reads are answered from the last data seen, because the remote cannot be
    /// reached (remote mode only): the console marks what it shows as stale.
    fn stale(&self) -> bool {
        false
    }

    /// Applies writes. The embedded adapter group-commits them (one fsync for the batch) and
    /// answers each only once it is durable; results come back in order.
    fn execute(&self, batch: Vec<Keyed>) -> Vec<Result<Outcome>>;

    /// Applies writes without blocking the caller: `done` is called with what `execute`
    /// would return, once it is durable, on another thread (so it must be quick: a wake-up).
    /// An adapter that can only block hands both back, and the caller runs `execute` where
    /// it may block (the remote adapter: its HTTP client blocks).
    fn submit(&self, batch: Vec<Keyed>, done: Done) -> std::result::Result<(), (Vec<Keyed>, Done)> {
        Err((batch, done))
    }

    // ---- reads ----
    fn member(&self, id: MemberId) -> Result<MemberView>;
    /// The member analysis: totals, top merchants, the most recent `recent` deals.
    fn member_detail(&self, id: MemberId, recent: usize) -> Result<MemberDetail>;
    fn members(&self, q: &MemberQuery) -> Result<Vec<MemberView>>;
    /// The dashboard read model for one member, newest first, older than `before`.
    fn member_history(
        &self,
        id: MemberId,
        before: Option<DealId>,
        limit: usize,
    ) -> Result<Vec<DashboardRow>>;
    fn merchants(&self, limit: usize) -> Result<Vec<MerchantSummary>>;
    fn deal(&self, id: DealId) -> Result<Deal>;
    fn deals(&self, q: &DealQuery) -> Result<Vec<Deal>>;
    fn points(&self, id: MemberId) -> Result<Balance>;
    fn balances(&self, q: &BalanceQuery) -> Result<Vec<Balance>>;
    fn points_summary(&self) -> Result<PointsSummary>;
    fn preview_billing(&self, merchant: MerchantId, month: Month) -> Result<BillingPreview>;
    fn billings(&self, q: &BillingQuery) -> Result<Vec<Billing>>;
    /// Events with offset > `after`, oldest first, at most `limit`.
    fn events(&self, after: u64, limit: usize) -> Result<Vec<Event>>;
    /// Blocks until an event with offset > `after` exists or `timeout` passes; returns the
    /// latest offset.
    fn wait_events(&self, after: u64, timeout: Duration) -> Result<u64>;
    fn info(&self) -> Result<Info>;
    fn check(&self) -> Result<CheckReport>;
    /// Copies the store to `dest` (a new or empty folder) at one moment and checks the copy.
    /// Only where the store is (the embedded adapter): elsewhere, an error saying so.
    fn backup(&self, dest: &std::path::Path) -> Result<crate::domain::core::BackupReport> {
        let _ = dest;
        Err(Error::unavailable(
            "a backup is taken where the store is: run `onepoint --data DIR backup DEST` on its host, with its server stopped",
        ))
    }

    // ---- windows and batch reads, for screens that scroll whole tables ----
    /// Members in an index order (id, name, balance), from either end or a cursor.
    fn member_window(&self, q: &MemberWindow) -> Result<Window<MemberView>>;
    /// Deals by id, newest or oldest first, from either end or a cursor, filtered.
    fn deal_window(&self, q: &DealWindow) -> Result<Window<Deal>>;
    /// The members with these ids (unknown ids left out): one call for a page's names.
    fn members_by_ids(&self, ids: &[MemberId]) -> Result<Vec<MemberView>>;
    /// Every merchant (up to `limit`) with its settlement preview for `month`: one call.
    fn previews(&self, month: Month, limit: usize) -> Result<Vec<MerchantPreview>>;
    /// A staff report (liability, activity, segments, dormant, anomalies), read from the
    /// counters the write path keeps.
    fn report(
        &self,
        q: &crate::domain::reports::ReportQuery,
    ) -> Result<crate::domain::reports::Report>;
    /// Running totals and segments of these members (unknown ids left out): one call a page.
    fn member_totals(&self, ids: &[MemberId]) -> Result<Vec<crate::domain::reports::MemberTotals>>;

    // ---- one-write conveniences over `execute` ----
    fn run_one(&self, command: Command, key: Option<IdemKey>) -> Result<Outcome> {
        self.execute(vec![Keyed::new(command, key)])
            .pop()
            .unwrap_or_else(|| Err(Error::system("no result for the write")))
    }
    fn join(&self, m: NewMember, key: Option<IdemKey>) -> Result<MemberView> {
        match self.run_one(Command::Join(m), key)? {
            Outcome::Member(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }
    fn withdraw(&self, id: MemberId, key: Option<IdemKey>) -> Result<Withdrawal> {
        match self.run_one(Command::Withdraw(id), key)? {
            Outcome::Withdrawal(w) => Ok(w),
            other => Err(unexpected(other)),
        }
    }
    fn add_merchant(&self, m: NewMerchant, key: Option<IdemKey>) -> Result<Merchant> {
        match self.run_one(Command::AddMerchant(m), key)? {
            Outcome::Merchant(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }
    /// Places a deal. A use short of points is `Ok` with `status: fail`.
    fn place_deal(&self, d: DealRequest, key: Option<IdemKey>) -> Result<Deal> {
        match self.run_one(Command::Deal(d), key)? {
            Outcome::Deal(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }
    fn run_billing(&self, b: BillingRequest, key: Option<IdemKey>) -> Result<Billing> {
        match self.run_one(Command::Bill(b), key)? {
            Outcome::Billing(v) => Ok(v),
            other => Err(unexpected(other)),
        }
    }
}

fn unexpected(o: Outcome) -> Error {
    Error::system(format!("unexpected result kind: {o:?}"))
}
