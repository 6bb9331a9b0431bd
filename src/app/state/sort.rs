//! The sort of each view as a type: which column, which way, its label with `▲`/`▼`, the
//! next one `s` picks and the reverse `S` picks. Member and deal orders are the store's own
//! indexes (they order the whole table); billing's rows are all held, so sorting them in
//! memory orders the whole list too. A view offers only the columns it shows and the store
//! can order globally: Points has no last-activity column, and deals by points are over all
//! deals (a member's or a merchant's deals are by id only).

use crate::domain::{DealOrder, MemberOrder};

pub fn arrow(descending: bool) -> &'static str {
    if descending { "▼" } else { "▲" }
}

/// Members: by id, name, balance or last activity, either way (the Points tab: the first
/// three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberSort {
    pub by: MemberOrder,
    pub descending: bool,
}

impl Default for MemberSort {
    fn default() -> Self {
        MemberSort::column(MemberOrder::Id)
    }
}

impl MemberSort {
    /// The Members tab's columns, in the order `s` visits them.
    pub const MEMBERS: &'static [MemberOrder] = &[
        MemberOrder::Id,
        MemberOrder::Name,
        MemberOrder::Balance,
        MemberOrder::LastActivity,
    ];
    /// The Points tab's (it shows no last activity).
    pub const POINTS: &'static [MemberOrder] =
        &[MemberOrder::Id, MemberOrder::Name, MemberOrder::Balance];

    /// A column in its natural direction: ids and names up, balances highest first, the
    /// most recently active first.
    pub fn column(by: MemberOrder) -> MemberSort {
        MemberSort {
            by,
            descending: matches!(by, MemberOrder::Balance | MemberOrder::LastActivity),
        }
    }

    pub fn name(self) -> &'static str {
        match self.by {
            MemberOrder::Id => "id",
            MemberOrder::Name => "name",
            MemberOrder::Balance => "balance",
            MemberOrder::LastActivity => "last activity",
        }
    }

    pub fn label(self) -> String {
        format!("{} {}", self.name(), arrow(self.descending))
    }

    /// `s` on Members: the next column, in its natural direction.
    pub fn next(self) -> MemberSort {
        self.next_among(MemberSort::MEMBERS)
    }

    /// `s` on a view offering these columns (a column it does not offer goes to the first).
    pub fn next_among(self, columns: &[MemberOrder]) -> MemberSort {
        let at = columns.iter().position(|c| *c == self.by);
        let next = at.map_or(0, |i| (i + 1) % columns.len());
        MemberSort::column(columns.get(next).copied().unwrap_or_default())
    }

    /// `S`: the same column the other way.
    pub fn reverse(self) -> MemberSort {
        MemberSort {
            descending: !self.descending,
            ..self
        }
    }

    /// A column key (k9s' Shift+letter): that column, or the other way if already on it.
    pub fn pick(self, by: MemberOrder) -> MemberSort {
        if self.by == by {
            self.reverse()
        } else {
            MemberSort::column(by)
        }
    }

    pub fn is_store_order(self) -> bool {
        true
    }
}

/// Deals: by id (the order they were recorded), by date (which a deal may be given) or by
/// points, each either way (newest or most first unless `oldest_first`). A member's
/// history: by id only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DealSort {
    pub by: DealOrder,
    /// Ascending: oldest first by id or date, fewest points first by points.
    pub oldest_first: bool,
}

impl DealSort {
    /// The Deals tab's columns, in the order `s` visits them.
    pub const DEALS: &'static [DealOrder] = &[DealOrder::Id, DealOrder::Date, DealOrder::Points];

    /// A column in its natural direction: newest first, most points first.
    pub fn column(by: DealOrder) -> DealSort {
        DealSort {
            by,
            oldest_first: false,
        }
    }
    pub fn name(self) -> &'static str {
        match self.by {
            DealOrder::Id => "id",
            DealOrder::Points => "points",
            DealOrder::Date => "date",
        }
    }
    pub fn label(self) -> String {
        format!("{} {}", self.name(), arrow(!self.oldest_first))
    }
    /// `s` on the Deals tab: the next column; with a member or merchant filter (`scoped`)
    /// only id is offered, so `s` turns it around.
    pub fn next(self, scoped: bool) -> DealSort {
        if scoped {
            return self.under(true).reverse();
        }
        let cols = DealSort::DEALS;
        let at = cols.iter().position(|c| *c == self.by).unwrap_or(0);
        DealSort::column(cols[(at + 1) % cols.len()])
    }
    pub fn reverse(self) -> DealSort {
        DealSort {
            oldest_first: !self.oldest_first,
            ..self
        }
    }
    /// A column key: that column, or the other way if already on it.
    pub fn pick(self, by: DealOrder) -> DealSort {
        if self.by == by {
            self.reverse()
        } else {
            DealSort::column(by)
        }
    }
    /// The order actually read: the date and points orders cover all deals, so under a
    /// member or merchant filter the deals are by id (the choice is kept for when the
    /// filter goes).
    pub fn under(self, scoped: bool) -> DealSort {
        if scoped && self.by != DealOrder::Id {
            DealSort::default()
        } else {
            self
        }
    }
    pub fn is_store_order(self) -> bool {
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BillingColumn {
    #[default]
    Merchant,
    Billable,
    Deals,
}

/// Billing's preview rows (every merchant is held, so the order covers the whole list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BillingSort {
    pub by: BillingColumn,
    pub descending: bool,
}

impl BillingSort {
    pub fn name(self) -> &'static str {
        match self.by {
            BillingColumn::Merchant => "merchant",
            BillingColumn::Billable => "billable",
            BillingColumn::Deals => "deals",
        }
    }
    pub fn label(self) -> String {
        format!("{} {}", self.name(), arrow(self.descending))
    }
    pub fn next(self) -> BillingSort {
        match self.by {
            BillingColumn::Merchant => BillingSort {
                by: BillingColumn::Billable,
                descending: true,
            },
            BillingColumn::Billable => BillingSort {
                by: BillingColumn::Deals,
                descending: true,
            },
            BillingColumn::Deals => BillingSort::default(),
        }
    }
    pub fn reverse(self) -> BillingSort {
        BillingSort {
            descending: !self.descending,
            ..self
        }
    }
    pub fn is_store_order(self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s_cycles_columns_and_shift_s_reverses() {
        let s = MemberSort::default();
        assert_eq!(s.label(), "id ▲");
        assert_eq!(s.next().label(), "name ▲");
        assert_eq!(s.next().next().label(), "balance ▼");
        assert_eq!(s.next().next().next().label(), "last activity ▼");
        assert_eq!(s.next().next().next().next(), s);
        let p = MemberSort::column(MemberOrder::Balance);
        assert_eq!(p.next_among(MemberSort::POINTS).label(), "id ▲");
        assert_eq!(
            MemberSort::column(MemberOrder::LastActivity)
                .next_among(MemberSort::POINTS)
                .label(),
            "id ▲"
        );
        assert_eq!(s.pick(MemberOrder::LastActivity).label(), "last activity ▼");
        assert_eq!(
            s.pick(MemberOrder::LastActivity)
                .pick(MemberOrder::LastActivity)
                .label(),
            "last activity ▲"
        );
        assert_eq!(s.reverse().label(), "id ▼");
        assert_eq!(s.pick(MemberOrder::Id).label(), "id ▼");
        assert_eq!(s.pick(MemberOrder::Balance).label(), "balance ▼");
        let d = DealSort::default();
        assert_eq!(d.label(), "id ▼");
        assert_eq!(d.next(false).label(), "date ▼");
        assert_eq!(d.next(false).next(false).label(), "points ▼");
        assert_eq!(d.next(false).next(false).next(false), d);
        assert_eq!(d.pick(DealOrder::Date).reverse().label(), "date ▲");
        assert_eq!(d.pick(DealOrder::Date).under(true).label(), "id ▼");
        assert_eq!(d.pick(DealOrder::Points).label(), "points ▼");
        assert_eq!(d.pick(DealOrder::Id).label(), "id ▲");
        // A member's or merchant's deals: id only; `s` turns it around.
        assert_eq!(d.next(true).label(), "id ▲");
        let points = d.pick(DealOrder::Points);
        assert_eq!(points.under(true).label(), "id ▼");
        assert_eq!(points.under(false), points);
        assert_eq!(points.next(true).label(), "id ▲");
        let b = BillingSort::default();
        assert_eq!(b.next().label(), "billable ▼");
        assert_eq!(b.next().next().next(), b);
    }
}
