//! Members tab state: the member table (a window on the whole table, in a store order), its
//! search and sort, and the member analysis (details, totals, top merchants, balance over
//! time and the member's whole history).

use super::sort::{DealSort, MemberSort};
use super::table::{RowId, Table};
use crate::domain::{Deal, MemberDetail, MemberId, MemberStatus, MemberView};

impl RowId for MemberView {
    fn row_id(&self) -> u64 {
        self.member_id.0
    }
}

impl RowId for Deal {
    fn row_id(&self) -> u64 {
        self.id.0
    }
}

#[derive(Debug, Clone, Default)]
pub struct MembersState {
    pub table: Table<MemberView>,
    /// Name or phone fragment (the `/` filter).
    pub query: String,
    pub status: Option<MemberStatus>,
    /// Only this segment's members (`at risk`...): set by `Enter` on a segment in Insights.
    pub segment: Option<String>,
    pub sort: MemberSort,
    pub analysis: Option<Analysis>,
}

/// The member analysis, opened with `Enter` on a member.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub member: MemberId,
    pub detail: Option<MemberDetail>,
    /// The member's deals, a window on the whole history.
    pub history: Table<Deal>,
    pub sort: DealSort,
    /// The `/` filter on the history (`type:use status:fail merchant:3 month:202610`).
    pub filter: super::deals::DealFilter,
    pub filter_text: String,
    /// Balance over time for the chart, oldest first, built when the detail lands.
    pub chart: Vec<(f64, f64)>,
}

impl Analysis {
    pub fn new(member: MemberId) -> Analysis {
        Analysis {
            member,
            detail: None,
            history: Table::default(),
            sort: DealSort::default(),
            filter: Default::default(),
            filter_text: String::new(),
            chart: Vec::new(),
        }
    }

    /// Takes the detail and builds the chart's series once (not per frame).
    pub fn set_detail(&mut self, d: MemberDetail) {
        // Display only: balances become chart coordinates, never arithmetic on money.
        let mut pts: Vec<(f64, f64)> = d
            .recent_deals
            .iter()
            .map(|x| (x.deal_date as f64, x.balance.as_f64()))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        self.chart = pts;
        self.detail = Some(d);
    }
}

impl MembersState {
    pub fn selected(&self) -> Option<&MemberView> {
        self.table.selected_row()
    }
}
