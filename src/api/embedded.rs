//! The embedded adapter: the port over the core on a local sled store. Writes go to the
//! core's group-commit writer; reads go straight to the store.

use std::path::Path;
use std::time::Duration;

use crate::api::{Done, Error, Port, Result};
use crate::domain::core::{Core, CoreOptions};
use crate::domain::{
    Balance, BalanceQuery, Billing, BillingPreview, BillingQuery, CheckReport, Clock, CoreSettings,
    DashboardRow, Deal, DealId, DealQuery, Event, Info, Keyed, MemberDetail, MemberId, MemberQuery,
    MemberView, MerchantId, MerchantSummary, Month, Outcome, PointsSummary, SourceInfo,
};
use crate::domain::{DealWindow, MemberWindow, MerchantPreview, Window};

pub struct Embedded {
    core: Core,
}

impl Embedded {
    pub fn open(dir: &Path, settings: CoreSettings) -> Result<Embedded> {
        Embedded::open_clocked(dir, settings, Clock::System)
    }

    /// `open`, the core reading `clock` (the demo's, shifted).
    pub fn open_clocked(dir: &Path, settings: CoreSettings, clock: Clock) -> Result<Embedded> {
        let opts = CoreOptions {
            rates: settings.rates,
            zone: settings.zone,
            clock,
        };
        let store = crate::domain::store::StoreOptions {
            cache_bytes: settings.cache_bytes,
            ..Default::default()
        };
        Ok(Embedded {
            core: Core::open_with_store(dir, opts, store)?,
        })
    }

    pub fn open_with(dir: &Path, opts: CoreOptions) -> Result<Embedded> {
        Ok(Embedded {
            core: Core::open(dir, opts)?,
        })
    }

    pub fn core(&self) -> &Core {
        &self.core
    }
}

impl Port for Embedded {
    fn source(&self) -> SourceInfo {
        SourceInfo {
            kind: "embedded".into(),
            location: self.core.dir().display().to_string(),
            read_only: false,
        }
    }
    fn execute(&self, batch: Vec<Keyed>) -> Vec<Result<Outcome>> {
        self.core
            .execute(batch)
            .into_iter()
            .map(|r| r.map_err(Error::from))
            .collect()
    }
    fn submit(&self, batch: Vec<Keyed>, done: Done) -> std::result::Result<(), (Vec<Keyed>, Done)> {
        self.core.submit(
            batch,
            Box::new(move |results| {
                done(
                    results
                        .into_iter()
                        .map(|r| r.map_err(Error::from))
                        .collect(),
                )
            }),
        );
        Ok(())
    }
    fn member(&self, id: MemberId) -> Result<MemberView> {
        Ok(self.core.member(id)?)
    }
    fn member_detail(&self, id: MemberId, recent: usize) -> Result<MemberDetail> {
        Ok(self.core.member_detail(id, recent)?)
    }
    fn members(&self, q: &MemberQuery) -> Result<Vec<MemberView>> {
        Ok(self.core.members(q)?)
    }
    fn member_history(
        &self,
        id: MemberId,
        before: Option<DealId>,
        limit: usize,
    ) -> Result<Vec<DashboardRow>> {
        Ok(self.core.member_history(id, before, limit)?)
    }
    fn merchants(&self, limit: usize) -> Result<Vec<MerchantSummary>> {
        Ok(self.core.merchants(limit)?)
    }
    fn deal(&self, id: DealId) -> Result<Deal> {
        Ok(self.core.deal(id)?)
    }
    fn deals(&self, q: &DealQuery) -> Result<Vec<Deal>> {
        Ok(self.core.deals(q)?)
    }
    fn points(&self, id: MemberId) -> Result<Balance> {
        Ok(self.core.points(id)?)
    }
    fn balances(&self, q: &BalanceQuery) -> Result<Vec<Balance>> {
        Ok(self.core.balances(q)?)
    }
    fn points_summary(&self) -> Result<PointsSummary> {
        Ok(self.core.points_summary()?)
    }
    fn preview_billing(&self, merchant: MerchantId, month: Month) -> Result<BillingPreview> {
        Ok(self.core.preview_billing(merchant, month)?)
    }
    fn billings(&self, q: &BillingQuery) -> Result<Vec<Billing>> {
        Ok(self.core.billings(q)?)
    }
    fn events(&self, after: u64, limit: usize) -> Result<Vec<Event>> {
        Ok(self.core.events(after, limit)?)
    }
    fn wait_events(&self, after: u64, timeout: Duration) -> Result<u64> {
        Ok(self.core.wait_events(after, timeout))
    }
    fn info(&self) -> Result<Info> {
        Ok(self.core.info()?)
    }
    fn check(&self) -> Result<CheckReport> {
        Ok(self.core.check()?)
    }
    fn backup(&self, dest: &std::path::Path) -> Result<crate::domain::core::BackupReport> {
        Ok(self.core.backup(dest)?)
    }
    fn member_window(&self, q: &MemberWindow) -> Result<Window<MemberView>> {
        Ok(self.core.member_window(q)?)
    }
    fn deal_window(&self, q: &DealWindow) -> Result<Window<Deal>> {
        Ok(self.core.deal_window(q)?)
    }
    fn members_by_ids(&self, ids: &[MemberId]) -> Result<Vec<MemberView>> {
        Ok(self.core.members_by_ids(ids)?)
    }
    fn previews(&self, month: Month, limit: usize) -> Result<Vec<MerchantPreview>> {
        Ok(self.core.previews(month, limit)?)
    }
    fn report(
        &self,
        q: &crate::domain::reports::ReportQuery,
    ) -> Result<crate::domain::reports::Report> {
        Ok(self.core.report(q)?)
    }
    fn member_totals(&self, ids: &[MemberId]) -> Result<Vec<crate::domain::reports::MemberTotals>> {
        Ok(self.core.member_totals(ids)?)
    }
}
