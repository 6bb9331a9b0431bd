//! The core handle: opens the store, runs the group-commit writer, and answers reads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::FixedOffset;

use super::{
    Balance, BalanceQuery, Billing, BillingPreview, BillingQuery, CheckReport, Clock, DashboardRow,
    Deal, DealId, DealQuery, Error, Event, Info, Keyed, MemberDetail, MemberId, MemberQuery,
    MemberView, MerchantId, MerchantSummary, Month, Outcome, PointsSummary, Rates, Result,
};

#[derive(Debug, Clone)]
pub struct CoreOptions {
    pub rates: Rates,
    pub zone: FixedOffset,
    pub clock: Clock,
}

pub struct Core {
    dir: PathBuf,
}

fn todo() -> Error {
    Error::store("core not built yet")
}

impl Core {
    pub fn open(dir: &Path, _opts: CoreOptions) -> Result<Core> {
        Ok(Core {
            dir: dir.to_path_buf(),
        })
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn execute(&self, batch: Vec<Keyed>) -> Vec<Result<Outcome>> {
        batch.iter().map(|_| Err(todo())).collect()
    }
    pub fn member(&self, _id: MemberId) -> Result<MemberView> {
        Err(todo())
    }
    pub fn member_detail(&self, _id: MemberId, _recent: usize) -> Result<MemberDetail> {
        Err(todo())
    }
    pub fn members(&self, _q: &MemberQuery) -> Result<Vec<MemberView>> {
        Err(todo())
    }
    pub fn member_history(
        &self,
        _id: MemberId,
        _before: Option<DealId>,
        _limit: usize,
    ) -> Result<Vec<DashboardRow>> {
        Err(todo())
    }
    pub fn merchants(&self, _limit: usize) -> Result<Vec<MerchantSummary>> {
        Err(todo())
    }
    pub fn deal(&self, _id: DealId) -> Result<Deal> {
        Err(todo())
    }
    pub fn deals(&self, _q: &DealQuery) -> Result<Vec<Deal>> {
        Err(todo())
    }
    pub fn points(&self, _id: MemberId) -> Result<Balance> {
        Err(todo())
    }
    pub fn balances(&self, _q: &BalanceQuery) -> Result<Vec<Balance>> {
        Err(todo())
    }
    pub fn points_summary(&self) -> Result<PointsSummary> {
        Err(todo())
    }
    pub fn preview_billing(&self, _m: MerchantId, _month: Month) -> Result<BillingPreview> {
        Err(todo())
    }
    pub fn billings(&self, _q: &BillingQuery) -> Result<Vec<Billing>> {
        Err(todo())
    }
    pub fn events(&self, _after: u64, _limit: usize) -> Result<Vec<Event>> {
        Err(todo())
    }
    pub fn wait_events(&self, after: u64, _timeout: Duration) -> u64 {
        after
    }
    pub fn info(&self) -> Result<Info> {
        Err(todo())
    }
    pub fn check(&self) -> Result<CheckReport> {
        Err(todo())
    }
}
