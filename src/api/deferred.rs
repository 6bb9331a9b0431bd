//! A port whose store is still opening. sled 0.34 recovers a large store for seconds
//! (about 10 s for 1M members / 10M deals), so the console opens the store on a thread and
//! draws its first frame at once; calls made before the store is ready wait for it on the
//! worker's blocking threads, never on the render path.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::port::{Done, Link, Port};
use crate::api::{Error, Result};
use crate::domain::{
    Balance, BalanceQuery, Billing, BillingPreview, BillingQuery, CheckReport, DashboardRow, Deal,
    DealId, DealQuery, Event, Info, Keyed, MemberDetail, MemberId, MemberQuery, MemberView,
    MerchantId, MerchantSummary, Month, Outcome, PointsSummary, SourceInfo,
};
use crate::domain::{DealWindow, MemberWindow, MerchantPreview, Window};

type Opened = std::result::Result<Arc<dyn Port>, Error>;

pub struct Deferred {
    source: SourceInfo,
    opened: Arc<OnceLock<Opened>>,
}

impl Deferred {
    /// Starts `open` on a thread. Waits up to `grace` for it, so that an error that comes at
    /// once (the store is locked by another process, the path is unusable) is returned
    /// here rather than shown later.
    pub fn open(
        source: SourceInfo,
        grace: Duration,
        open: impl FnOnce() -> Opened + Send + 'static,
    ) -> Result<Deferred> {
        let opened: Arc<OnceLock<Opened>> = Arc::new(OnceLock::new());
        let slot = opened.clone();
        std::thread::Builder::new()
            .name("onepoint-open".into())
            .spawn(move || {
                let _ = slot.set(open());
            })
            .map_err(|e| Error::system(format!("cannot start opening the store: {e}")))?;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && opened.get().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(Err(e)) = opened.get() {
            return Err(e.clone());
        }
        Ok(Deferred { source, opened })
    }

    fn port(&self) -> Result<&Arc<dyn Port>> {
        match self.opened.wait() {
            Ok(p) => Ok(p),
            Err(e) => Err(e.clone()),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.opened.get().is_some()
    }
}

impl Port for Deferred {
    fn source(&self) -> SourceInfo {
        self.source.clone()
    }
    fn link(&self) -> Link {
        match self.opened.get() {
            Some(Ok(p)) => p.link(),
            _ => Link::Local,
        }
    }
    fn pending_outbox(&self) -> usize {
        match self.opened.get() {
            Some(Ok(p)) => p.pending_outbox(),
            _ => 0,
        }
    }
    fn refused_outbox(&self) -> usize {
        match self.opened.get() {
            Some(Ok(p)) => p.refused_outbox(),
            _ => 0,
        }
    }
    fn outbox_reports(&self) -> Vec<super::port::OutboxReport> {
        match self.opened.get() {
            Some(Ok(p)) => p.outbox_reports(),
            _ => Vec::new(),
        }
    }
    fn stale(&self) -> bool {
        match self.opened.get() {
            Some(Ok(p)) => p.stale(),
            _ => false,
        }
    }
    fn execute(&self, batch: Vec<Keyed>) -> Vec<Result<Outcome>> {
        match self.port() {
            Ok(p) => p.execute(batch),
            Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
        }
    }
    /// Passed on once the store is open; before, handed back (the caller blocks on
    /// `execute`, which waits for the open).
    fn submit(&self, batch: Vec<Keyed>, done: Done) -> std::result::Result<(), (Vec<Keyed>, Done)> {
        match self.opened.get() {
            Some(Ok(p)) => p.submit(batch, done),
            _ => Err((batch, done)),
        }
    }
    fn member(&self, id: MemberId) -> Result<MemberView> {
        self.port()?.member(id)
    }
    fn member_detail(&self, id: MemberId, recent: usize) -> Result<MemberDetail> {
        self.port()?.member_detail(id, recent)
    }
    fn members(&self, q: &MemberQuery) -> Result<Vec<MemberView>> {
        self.port()?.members(q)
    }
    fn member_history(
        &self,
        id: MemberId,
        before: Option<DealId>,
        limit: usize,
    ) -> Result<Vec<DashboardRow>> {
        self.port()?.member_history(id, before, limit)
    }
    fn merchants(&self, limit: usize) -> Result<Vec<MerchantSummary>> {
        self.port()?.merchants(limit)
    }
    fn deal(&self, id: DealId) -> Result<Deal> {
        self.port()?.deal(id)
    }
    fn deals(&self, q: &DealQuery) -> Result<Vec<Deal>> {
        self.port()?.deals(q)
    }
    fn points(&self, id: MemberId) -> Result<Balance> {
        self.port()?.points(id)
    }
    fn balances(&self, q: &BalanceQuery) -> Result<Vec<Balance>> {
        self.port()?.balances(q)
    }
    fn points_summary(&self) -> Result<PointsSummary> {
        self.port()?.points_summary()
    }
    fn preview_billing(&self, merchant: MerchantId, month: Month) -> Result<BillingPreview> {
        self.port()?.preview_billing(merchant, month)
    }
    fn billings(&self, q: &BillingQuery) -> Result<Vec<Billing>> {
        self.port()?.billings(q)
    }
    fn events(&self, after: u64, limit: usize) -> Result<Vec<Event>> {
        self.port()?.events(after, limit)
    }
    fn wait_events(&self, after: u64, timeout: Duration) -> Result<u64> {
        self.port()?.wait_events(after, timeout)
    }
    fn info(&self) -> Result<Info> {
        self.port()?.info()
    }
    fn check(&self) -> Result<CheckReport> {
        self.port()?.check()
    }
    fn member_window(&self, q: &MemberWindow) -> Result<Window<MemberView>> {
        self.port()?.member_window(q)
    }
    fn deal_window(&self, q: &DealWindow) -> Result<Window<Deal>> {
        self.port()?.deal_window(q)
    }
    fn members_by_ids(&self, ids: &[MemberId]) -> Result<Vec<MemberView>> {
        self.port()?.members_by_ids(ids)
    }
    fn previews(&self, month: Month, limit: usize) -> Result<Vec<MerchantPreview>> {
        self.port()?.previews(month, limit)
    }
    fn report(
        &self,
        q: &crate::domain::reports::ReportQuery,
    ) -> Result<crate::domain::reports::Report> {
        self.port()?.report(q)
    }
    fn member_totals(&self, ids: &[MemberId]) -> Result<Vec<crate::domain::reports::MemberTotals>> {
        self.port()?.member_totals(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src() -> SourceInfo {
        SourceInfo {
            kind: "embedded".into(),
            location: "/x".into(),
            read_only: false,
        }
    }

    #[test]
    fn an_error_at_once_is_returned_by_open() {
        let r = Deferred::open(src(), Duration::from_secs(5), || {
            Err(Error::store("the store /x is in use by another process"))
        });
        assert!(r.err().unwrap().to_string().contains("in use"));
    }

    #[test]
    fn calls_wait_for_a_slow_open() {
        let d = Deferred::open(src(), Duration::from_millis(1), || {
            std::thread::sleep(Duration::from_millis(100));
            Err(Error::store("late failure"))
        })
        .unwrap();
        assert!(!d.is_ready());
        assert_eq!(d.source(), src());
        let e = d.info().unwrap_err();
        assert!(e.to_string().contains("late failure"));
        assert!(d.is_ready());
    }
}
