//! The remote adapter of the port: HTTP against `onepoint serve` or the original services.

use crate::domain::{Error, Result};

pub struct RemoteAdapter;

impl RemoteAdapter {
    pub fn connect(_url: &str, _token: Option<String>) -> Result<RemoteAdapter> {
        Err(Error::Unavailable {
            message: "remote mode is not built yet".into(),
        })
    }
}

// The Port impl comes with the remote-mode work; until then `connect` refuses.
impl crate::api::Port for RemoteAdapter {
    fn source(&self) -> crate::domain::SourceInfo {
        unreachable!("RemoteAdapter is never constructed yet")
    }
    fn execute(&self, _b: Vec<crate::domain::Keyed>) -> Vec<Result<crate::domain::Outcome>> {
        unreachable!()
    }
    fn member(&self, _: crate::domain::MemberId) -> Result<crate::domain::MemberView> {
        unreachable!()
    }
    fn member_detail(
        &self,
        _: crate::domain::MemberId,
        _: usize,
    ) -> Result<crate::domain::MemberDetail> {
        unreachable!()
    }
    fn members(&self, _: &crate::domain::MemberQuery) -> Result<Vec<crate::domain::MemberView>> {
        unreachable!()
    }
    fn member_history(
        &self,
        _: crate::domain::MemberId,
        _: Option<crate::domain::DealId>,
        _: usize,
    ) -> Result<Vec<crate::domain::DashboardRow>> {
        unreachable!()
    }
    fn merchants(&self, _: usize) -> Result<Vec<crate::domain::MerchantSummary>> {
        unreachable!()
    }
    fn deal(&self, _: crate::domain::DealId) -> Result<crate::domain::Deal> {
        unreachable!()
    }
    fn deals(&self, _: &crate::domain::DealQuery) -> Result<Vec<crate::domain::Deal>> {
        unreachable!()
    }
    fn points(&self, _: crate::domain::MemberId) -> Result<crate::domain::Balance> {
        unreachable!()
    }
    fn balances(&self, _: &crate::domain::BalanceQuery) -> Result<Vec<crate::domain::Balance>> {
        unreachable!()
    }
    fn points_summary(&self) -> Result<crate::domain::PointsSummary> {
        unreachable!()
    }
    fn preview_billing(
        &self,
        _: crate::domain::MerchantId,
        _: crate::domain::Month,
    ) -> Result<crate::domain::BillingPreview> {
        unreachable!()
    }
    fn billings(&self, _: &crate::domain::BillingQuery) -> Result<Vec<crate::domain::Billing>> {
        unreachable!()
    }
    fn events(&self, _: u64, _: usize) -> Result<Vec<crate::domain::Event>> {
        unreachable!()
    }
    fn wait_events(&self, _: u64, _: std::time::Duration) -> Result<u64> {
        unreachable!()
    }
    fn info(&self) -> Result<crate::domain::Info> {
        unreachable!()
    }
    fn check(&self) -> Result<crate::domain::CheckReport> {
        unreachable!()
    }
}
