//! Points tab state: members by balance (a window on the whole table, highest first unless
//! reversed), the outstanding total and the distribution, and the top holders.

use super::sort::MemberSort;
use super::table::Table;
use crate::domain::{MemberOrder, MemberView, PointsSummary};

#[derive(Debug, Clone)]
pub struct PointsState {
    pub table: Table<MemberView>,
    pub summary: Option<PointsSummary>,
    pub sort: MemberSort,
    /// Name or phone fragment (the `/` filter).
    pub query: String,
}

impl Default for PointsState {
    fn default() -> Self {
        PointsState {
            table: Table::default(),
            summary: None,
            sort: MemberSort::column(MemberOrder::Balance),
            query: String::new(),
        }
    }
}

impl PointsState {
    /// The top holders: the head of the table when it shows the highest balances first.
    pub fn top(&self, n: usize) -> &[MemberView] {
        let highest_first = self.sort == MemberSort::column(MemberOrder::Balance);
        if self.table.base == Some(0) && highest_first && self.query.is_empty() {
            &self.table.rows[..n.min(self.table.rows.len())]
        } else {
            &[]
        }
    }
}
