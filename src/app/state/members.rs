//! Members tab state: the paged member table, its search and sort, and the member analysis
//! (details, totals, top merchants, balance over time and the paged dashboard history).

use super::paged::Paged;
use crate::domain::{DashboardRow, DealId, MemberDetail, MemberId, MemberStatus, MemberView};

/// Sort orders of the member table. The first two are the store's own order (every page);
/// the others reorder the page on screen.
pub const MEMBER_SORTS: [&str; 5] = ["id", "id desc", "name", "balance", "last activity"];

#[derive(Debug, Clone, Default)]
pub struct MembersState {
    pub table: Paged<MemberView, MemberId>,
    /// Name or phone fragment (the `/` filter).
    pub query: String,
    pub status: Option<MemberStatus>,
    pub sort: usize,
    pub analysis: Option<Analysis>,
}

/// The member analysis, opened with `Enter` on a member.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub member: MemberId,
    pub detail: Option<MemberDetail>,
    pub history: Paged<DashboardRow, DealId>,
}

impl Analysis {
    pub fn new(member: MemberId) -> Analysis {
        Analysis {
            member,
            detail: None,
            history: Paged::default(),
        }
    }
}

impl MembersState {
    pub fn selected(&self) -> Option<&MemberView> {
        self.table.selected_row()
    }

    /// Reorders the loaded page by the chosen sort (store orders need no work here).
    pub fn apply_sort(&mut self) {
        let rows = &mut self.table.rows;
        match self.sort {
            2 => rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.member_id.cmp(&b.member_id))),
            3 => rows.sort_by(|a, b| b.point.cmp(&a.point).then(a.member_id.cmp(&b.member_id))),
            4 => rows.sort_by(|a, b| {
                b.last_activity
                    .cmp(&a.last_activity)
                    .then(a.member_id.cmp(&b.member_id))
            }),
            _ => {}
        }
    }
}
