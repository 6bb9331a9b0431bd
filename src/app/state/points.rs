//! Points tab state: balances highest first (paged), the outstanding total and the
//! distribution, and the top holders with their names.

use super::paged::Paged;
use crate::domain::{Balance, MemberId, MemberStatus, Points, PointsSummary};

pub const POINT_SORTS: [&str; 2] = ["balance", "member"];

/// A balance with the holder's name, as the table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceRow {
    pub balance: Balance,
    pub name: String,
    pub status: MemberStatus,
}

impl BalanceRow {
    pub fn cursor(&self) -> (Points, MemberId) {
        (self.balance.point, self.balance.member_id)
    }
}

#[derive(Debug, Clone, Default)]
pub struct PointsState {
    pub table: Paged<BalanceRow, (Points, MemberId)>,
    pub summary: Option<PointsSummary>,
    pub sort: usize,
}

impl PointsState {
    /// The top holders: the head of the first page (balances come highest first).
    pub fn top(&self, n: usize) -> &[BalanceRow] {
        if self.table.back.is_empty() && self.sort == 0 {
            &self.table.rows[..n.min(self.table.rows.len())]
        } else {
            &[]
        }
    }

    pub fn apply_sort(&mut self) {
        if self.sort == 1 {
            self.table
                .rows
                .sort_by_key(|r| (r.balance.member_id, r.balance.point));
        }
    }
}
