//! The sort of each view as a type: which column, which way, its label with `▲`/`▼`, the
//! next one `s` picks and the reverse `S` picks. Member and deal orders are the store's own
//! indexes (they order the whole table); billing's rows are all held, so sorting them in
//! memory orders the whole list too.

use crate::domain::MemberOrder;

pub fn arrow(descending: bool) -> &'static str {
    if descending { "▼" } else { "▲" }
}

/// Members (and the Points tab): by id, name or balance, either way.
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
    /// A column in its natural direction: ids and names up, balances highest first.
    pub fn column(by: MemberOrder) -> MemberSort {
        MemberSort {
            by,
            descending: by == MemberOrder::Balance,
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

    /// `s`: the next column, in its natural direction.
    pub fn next(self) -> MemberSort {
        MemberSort::column(match self.by {
            MemberOrder::Id => MemberOrder::Name,
            MemberOrder::Name => MemberOrder::Balance,
            MemberOrder::Balance | MemberOrder::LastActivity => MemberOrder::Id,
        })
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

/// Deals and a member's history: by id (the order they were recorded), newest first or
/// oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DealSort {
    pub oldest_first: bool,
}

impl DealSort {
    pub fn label(self) -> String {
        format!("id {}", arrow(!self.oldest_first))
    }
    /// One column only: `s` and `S` both turn it around.
    pub fn next(self) -> DealSort {
        self.reverse()
    }
    pub fn reverse(self) -> DealSort {
        DealSort {
            oldest_first: !self.oldest_first,
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
        assert_eq!(s.next().next().next(), s);
        assert_eq!(s.reverse().label(), "id ▼");
        assert_eq!(s.pick(MemberOrder::Id).label(), "id ▼");
        assert_eq!(s.pick(MemberOrder::Balance).label(), "balance ▼");
        assert_eq!(DealSort::default().label(), "id ▼");
        assert_eq!(DealSort::default().next().label(), "id ▲");
        let b = BillingSort::default();
        assert_eq!(b.next().label(), "billable ▼");
        assert_eq!(b.next().next().next(), b);
    }
}
