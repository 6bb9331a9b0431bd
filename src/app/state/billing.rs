//! Billing tab state: one month's settlement preview per merchant, the billing history, and
//! the monthly amounts of the selected merchant. What the tab shows (filtered, sorted rows)
//! is computed when the rows, the filter or the sort change, not per frame.

use super::sort::{BillingColumn, BillingSort};
use crate::domain::{Billing, Month};

/// A merchant with its preview for the month (one batch read for every merchant).
pub type PreviewRow = crate::domain::MerchantPreview;

#[derive(Debug, Clone)]
pub struct BillingState {
    pub month: Month,
    /// The current month (in the business zone): `]` stops there.
    pub current: Month,
    pub rows: Vec<PreviewRow>,
    /// Indexes into `rows`: the filtered, sorted list on screen.
    pub shown: Vec<usize>,
    pub selected: usize,
    pub offset: usize,
    pub history: Vec<Billing>,
    /// Merchant name fragment (the `/` filter).
    pub filter: String,
    pub sort: BillingSort,
    pub generation: u64,
    pub loading: bool,
    pub loaded_once: bool,
}

impl BillingState {
    pub fn new(month: Month) -> BillingState {
        BillingState {
            month,
            current: month,
            rows: Vec::new(),
            shown: Vec::new(),
            selected: 0,
            offset: 0,
            history: Vec::new(),
            filter: String::new(),
            sort: BillingSort::default(),
            generation: 0,
            loading: false,
            loaded_once: false,
        }
    }

    /// Rebuilds the shown list after the rows, the filter or the sort changed, keeping the
    /// selected merchant when it is still shown.
    pub fn recompute(&mut self) {
        let keep = self.selected_row().map(|r| r.merchant.merchant.merchant_id);
        let f = self.filter.to_lowercase();
        let mut v: Vec<usize> = (0..self.rows.len())
            .filter(|&i| {
                let m = &self.rows[i].merchant.merchant;
                f.is_empty()
                    || m.name
                        .as_deref()
                        .is_some_and(|n| n.to_lowercase().contains(&f))
                    || m.merchant_id.to_string() == f
            })
            .collect();
        let rows = &self.rows;
        match self.sort.by {
            BillingColumn::Merchant => v.sort_by_key(|&i| rows[i].merchant.merchant.merchant_id),
            BillingColumn::Billable => v.sort_by_key(|&i| rows[i].preview.billing_amount),
            BillingColumn::Deals => v.sort_by_key(|&i| rows[i].preview.deal_count),
        }
        if self.sort.descending {
            v.reverse();
        }
        self.shown = v;
        self.selected = keep
            .and_then(|id| {
                self.shown
                    .iter()
                    .position(|&i| self.rows[i].merchant.merchant.merchant_id == id)
            })
            .unwrap_or(0)
            .min(self.shown.len().saturating_sub(1));
    }

    /// The rows the filter lets through, in the chosen order.
    pub fn shown(&self) -> impl Iterator<Item = &PreviewRow> {
        self.shown.iter().filter_map(|&i| self.rows.get(i))
    }

    pub fn selected_row(&self) -> Option<&PreviewRow> {
        self.shown
            .get(self.selected)
            .and_then(|&i| self.rows.get(i))
    }

    /// Amounts billed per month for the selected merchant, oldest first (the bar chart).
    pub fn monthly(&self) -> Vec<(Month, i64)> {
        let Some(sel) = self.selected_row() else {
            return Vec::new();
        };
        let id = sel.merchant.merchant.merchant_id;
        let mut by_month: std::collections::BTreeMap<Month, i64> = Default::default();
        for b in self.history.iter().filter(|b| b.merchant_id == id) {
            *by_month.entry(b.billing_month).or_default() += b.billing_amount.hundredths();
        }
        by_month.into_iter().collect()
    }
}
