//! The remote adapter of the port: HTTP against `onepoint serve` or the original services.
//! The port is blocking and may be called from any thread (plain CLI threads, a console's
//! blocking workers, even a tokio thread), so every call runs on the adapter's own small
//! runtime and the caller waits on a channel: never `block_on` inside someone's runtime.
//! Submodules: `client` (HTTP, breaker, stale cache), `breaker`, `outbox`, `original`
//! (what differs against the original services).

mod breaker;
mod client;
mod original;
mod original_reports;
pub mod outbox;
mod reads;
mod writes;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use breaker::Breaker;
pub use breaker::BreakerSettings;
use client::{Flavour, Sent, Shared};
use outbox::{Entry, Outbox};
use writes::{Attempt, drain, write};

use crate::api::wire::{self, read};
use crate::api::{Error, Result};
use crate::api::{Link, Port};
use crate::domain::{
    CancelKind, Clock, Command, DealId, DealRequest, DealType, IdemKey, Keyed, Outcome,
};

/// Timeouts, breaker and outbox of a remote adapter.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Every call's limit (a long poll adds its own wait).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub breaker: BreakerSettings,
    /// The outbox file; default: `$XDG_STATE_HOME/onepoint/outbox-HOST_PORT-ID.jsonl`
    /// (`default_outbox`), which takes in an earlier version's `outbox-HOST_PORT.jsonl`.
    pub outbox: Option<PathBuf>,
    /// How often queued writes are retried.
    pub drain_every: Duration,
}

impl Default for RemoteOptions {
    fn default() -> RemoteOptions {
        RemoteOptions {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            breaker: BreakerSettings::default(),
            outbox: None,
            drain_every: Duration::from_secs(1),
        }
    }
}

pub struct RemoteAdapter {
    shared: Arc<Shared>,
    rt: Option<tokio::runtime::Runtime>,
    /// "Now" for what the adapter computes itself (reports over the original services).
    clock: Clock,
}

fn stopped() -> Error {
    Error::Unavailable {
        message: "the remote adapter has stopped".into(),
    }
}

/// Writes that may wait in the outbox: replaying them later, keyed, is always safe and what
/// the operator meant (a member joining, points given back).
fn queueable(c: &Command) -> bool {
    match c {
        Command::Join(_) => true,
        Command::Deal(d) => wire::is_use_cancel(d),
        _ => false,
    }
}

/// A fresh idempotency key: 128 random bits, never derived from the time.
pub fn new_key() -> IdemKey {
    IdemKey(format!("outbox-{:032x}", rand::random::<u128>()))
}

/// A stable short fingerprint of a token (FNV-1a, 64 bits): the outbox is per server and
/// per token, so a viewer's console never "drains" an operator's queue, and the token
/// itself never appears in a file name.
fn token_id(token: Option<&str>) -> String {
    match token {
        None => "open".into(),
        Some(t) => {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in t.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            format!("t{h:016x}")
        }
    }
}

fn state_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("onepoint")
}

/// The outbox of a server and token: `$XDG_STATE_HOME/onepoint/` + `outbox_file_name`.
pub fn default_outbox(base: &str, token: Option<&str>) -> PathBuf {
    state_dir().join(outbox_file_name(base, token))
}

/// The server part of outbox file names: `HOST_PORT`.
fn host_part(base: &str) -> String {
    base.trim()
        .trim_end_matches('/')
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `outbox-HOST_PORT-ID.jsonl`: one outbox per server and token identity.
pub fn outbox_file_name(base: &str, token: Option<&str>) -> String {
    format!("outbox-{}-{}.jsonl", host_part(base), token_id(token))
}

/// `outbox-HOST_PORT.jsonl`: the name earlier versions gave the outbox of a server, for
/// every token.
pub fn legacy_outbox_file_name(base: &str) -> String {
    format!("outbox-{}.jsonl", host_part(base))
}

/// Opens the default outbox of a server and token, first taking in what an earlier version
/// queued for that server under the old name (see `Outbox::adopt`): the first identity to
/// open it after the upgrade sends it (a write the server refuses to that token, 401 or
/// 403, stays queued and listed by `onepoint outbox list`).
pub fn open_default_outbox(base: &str, token: Option<&str>) -> Result<Outbox> {
    let outbox = Outbox::open(&default_outbox(base, token))?;
    let adopted = outbox.adopt(&state_dir().join(legacy_outbox_file_name(base)))?;
    if adopted > 0 {
        tracing::info!(
            adopted,
            "queued writes moved from the outbox of an earlier version"
        );
    }
    Ok(outbox)
}

impl RemoteAdapter {
    pub fn connect(url: &str, token: Option<String>) -> Result<RemoteAdapter> {
        RemoteAdapter::connect_with(url, token, RemoteOptions::default())
    }

    pub fn connect_with(
        url: &str,
        token: Option<String>,
        opts: RemoteOptions,
    ) -> Result<RemoteAdapter> {
        let base = url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() < 10 {
            return Err(Error::invalid(
                "--remote",
                "must be an http:// or https:// URL, e.g. http://127.0.0.1:8088",
            ));
        }
        let token = token.filter(|t| !t.trim().is_empty());
        let outbox = match &opts.outbox {
            Some(path) => Outbox::open(path)?,
            None => open_default_outbox(&base, token.as_deref())?,
        };
        let shared = Arc::new(Shared::new(
            base,
            token,
            opts.timeout,
            opts.connect_timeout,
            Breaker::new(opts.breaker),
            outbox,
        )?);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("onepoint-remote")
            .build()
            .map_err(|e| Error::system(format!("cannot start the HTTP runtime: {e}")))?;
        let adapter = RemoteAdapter {
            shared,
            rt: Some(rt),
            clock: Clock::System,
        };
        // Learn what the remote is, and send what waited from an earlier session.
        let s = adapter.shared.clone();
        adapter.run(async move {
            let flavour = detect(&s).await;
            s.set_flavour(flavour);
            drain(&s).await;
        });
        let s = adapter.shared.clone();
        let every = opts.drain_every;
        adapter.rt().spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                drain(&s).await;
            }
        });
        Ok(adapter)
    }

    /// The same adapter with another clock (tests: a fixed "now" for reports it builds).
    pub fn with_clock(mut self, clock: Clock) -> RemoteAdapter {
        self.clock = clock;
        self
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt
            .as_ref()
            .expect("the runtime lives as long as the adapter")
    }

    /// Runs a future on the adapter's runtime and waits for it on this thread.
    fn run<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> Option<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt().spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv().ok()
    }

    fn get(&self, path: String, what: &'static str) -> Result<Value> {
        let s = self.shared.clone();
        self.run(async move { s.get(&path, what).await })
            .unwrap_or_else(|| Err(stopped()))
    }

    fn flavour(&self) -> Flavour {
        self.shared.flavour()
    }

    fn write_one(&self, mut k: Keyed) -> Result<Outcome> {
        let q = queueable(&k.command) || self.offline_use_cancel(&k.command);
        if q && k.key.is_none() {
            k.key = Some(new_key());
        }
        let s = self.shared.clone();
        let sent = k.clone();
        match self.run(async move { write(&s, &sent).await }) {
            None => Err(stopped()),
            Some(Attempt::Answered(r)) => r,
            Some(Attempt::NotSent(why)) | Some(Attempt::Lost(why)) if q => self.queue(k, &why),
            Some(Attempt::NotSent(why)) => Err(Error::Unavailable {
                message: format!(
                    "{why}: the {} was not sent; try again later",
                    k.command.name()
                ),
            }),
            Some(Attempt::Lost(why)) => Err(Error::Unavailable {
                message: format!(
                    "{why}: the {} may or may not have been applied; retry with the same --key",
                    k.command.name()
                ),
            }),
        }
    }

    /// A cancel of a use (by the original's cached type) may wait like a useCancel.
    fn offline_use_cancel(&self, c: &Command) -> bool {
        let Command::Deal(DealRequest::Cancel {
            original,
            kind: CancelKind::Any,
            ..
        }) = c
        else {
            return false;
        };
        self.shared
            .cached(&format!("/deals/{original}"))
            .and_then(|v| read::deal(&v).ok())
            .is_some_and(|d| d.deal_type == DealType::Use)
    }

    fn queue(&self, k: Keyed, why: &str) -> Result<Outcome> {
        let key = k.key.clone().map(|k| k.0).unwrap_or_default();
        let name = k.command.name();
        self.shared
            .outbox
            .lock()
            .push(Entry::new(k, Clock::System.now()))?;
        Err(Error::Unavailable {
            message: format!(
                "{why}: the {name} waits in the outbox (key {key}) and is sent when the server is back"
            ),
        })
    }
}

impl Drop for RemoteAdapter {
    fn drop(&mut self) {
        // Never blocks, so dropping the adapter is safe from any thread.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Ours answers `/health` with `"service":"onepoint"`; anything else is taken for the
/// original services. Unreachable: assume ours (and try again on the next start).
async fn detect(s: &Shared) -> Flavour {
    match s.send(Method::GET, "/health", None, None, s.timeout).await {
        Sent::Answer { status, body } => {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if (200..300).contains(&status)
                && v.get("service").and_then(Value::as_str) == Some("onepoint")
            {
                Flavour::Onepoint
            } else {
                Flavour::Original
            }
        }
        _ => Flavour::Onepoint,
    }
}

impl Port for RemoteAdapter {
    fn source(&self) -> crate::domain::SourceInfo {
        crate::domain::SourceInfo {
            kind: "remote".into(),
            location: match self.flavour() {
                Flavour::Onepoint => self.shared.base.clone(),
                Flavour::Original => format!("{} (original services)", self.shared.base),
            },
            read_only: false,
        }
    }

    fn link(&self) -> Link {
        self.shared.link()
    }

    fn pending_outbox(&self) -> usize {
        self.shared.outbox.lock().queued()
    }

    fn outbox_reports(&self) -> Vec<crate::api::port::OutboxReport> {
        std::mem::take(&mut *self.shared.sent_reports.lock())
    }

    fn refused_outbox(&self) -> usize {
        self.shared.outbox.lock().refused()
    }

    fn stale(&self) -> bool {
        self.shared.stale()
    }

    fn execute(&self, batch: Vec<Keyed>) -> Vec<Result<Outcome>> {
        if batch.len() > 1 && self.flavour() == Flavour::Onepoint && !self.shared.is_open() {
            return self.execute_batch(batch);
        }
        batch.into_iter().map(|k| self.write_one(k)).collect()
    }

    fn member(&self, id: crate::domain::MemberId) -> Result<crate::domain::MemberView> {
        reads::member(self, id)
    }
    fn member_detail(
        &self,
        id: crate::domain::MemberId,
        recent: usize,
    ) -> Result<crate::domain::MemberDetail> {
        reads::member_detail(self, id, recent)
    }
    fn members(&self, q: &crate::domain::MemberQuery) -> Result<Vec<crate::domain::MemberView>> {
        reads::members(self, q)
    }
    fn member_history(
        &self,
        id: crate::domain::MemberId,
        before: Option<DealId>,
        limit: usize,
    ) -> Result<Vec<crate::domain::DashboardRow>> {
        reads::member_history(self, id, before, limit)
    }
    fn merchants(&self, limit: usize) -> Result<Vec<crate::domain::MerchantSummary>> {
        reads::merchants(self, limit)
    }
    fn deal(&self, id: DealId) -> Result<crate::domain::Deal> {
        reads::deal(self, id)
    }
    fn deals(&self, q: &crate::domain::DealQuery) -> Result<Vec<crate::domain::Deal>> {
        reads::deals(self, q)
    }
    fn points(&self, id: crate::domain::MemberId) -> Result<crate::domain::Balance> {
        reads::points(self, id)
    }
    fn balances(&self, q: &crate::domain::BalanceQuery) -> Result<Vec<crate::domain::Balance>> {
        reads::balances(self, q)
    }
    fn points_summary(&self) -> Result<crate::domain::PointsSummary> {
        reads::points_summary(self)
    }
    fn preview_billing(
        &self,
        merchant: crate::domain::MerchantId,
        month: crate::domain::Month,
    ) -> Result<crate::domain::BillingPreview> {
        reads::preview_billing(self, merchant, month)
    }
    fn billings(&self, q: &crate::domain::BillingQuery) -> Result<Vec<crate::domain::Billing>> {
        reads::billings(self, q)
    }
    fn events(&self, after: u64, limit: usize) -> Result<Vec<crate::domain::Event>> {
        reads::events(self, after, limit)
    }
    fn wait_events(&self, after: u64, timeout: Duration) -> Result<u64> {
        reads::wait_events(self, after, timeout)
    }
    fn info(&self) -> Result<crate::domain::Info> {
        reads::info(self)
    }
    fn check(&self) -> Result<crate::domain::CheckReport> {
        reads::check(self)
    }
    fn member_window(
        &self,
        q: &crate::domain::MemberWindow,
    ) -> Result<crate::domain::Window<crate::domain::MemberView>> {
        reads::member_window(self, q)
    }
    fn deal_window(
        &self,
        q: &crate::domain::DealWindow,
    ) -> Result<crate::domain::Window<crate::domain::Deal>> {
        reads::deal_window(self, q)
    }
    fn members_by_ids(
        &self,
        ids: &[crate::domain::MemberId],
    ) -> Result<Vec<crate::domain::MemberView>> {
        reads::members_by_ids(self, ids)
    }
    fn previews(
        &self,
        month: crate::domain::Month,
        limit: usize,
    ) -> Result<Vec<crate::domain::MerchantPreview>> {
        reads::previews(self, month, limit)
    }
    fn report(
        &self,
        q: &crate::domain::reports::ReportQuery,
    ) -> Result<crate::domain::reports::Report> {
        reads::report(self, q)
    }
    fn member_totals(
        &self,
        ids: &[crate::domain::MemberId],
    ) -> Result<Vec<crate::domain::reports::MemberTotals>> {
        reads::member_totals(self, ids)
    }
}
