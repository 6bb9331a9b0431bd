//! Billing tab state: one month's settlement preview per merchant, the billing history, and
//! the monthly amounts of the selected merchant.

use crate::domain::{Billing, BillingPreview, MerchantSummary, Month};

pub const BILLING_SORTS: [&str; 3] = ["merchant", "billable", "deals"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRow {
    pub merchant: MerchantSummary,
    pub preview: BillingPreview,
}

#[derive(Debug, Clone)]
pub struct BillingState {
    pub month: Month,
    pub rows: Vec<PreviewRow>,
    pub selected: usize,
    pub offset: usize,
    pub history: Vec<Billing>,
    /// Merchant name fragment (the `/` filter).
    pub filter: String,
    pub sort: usize,
    pub generation: u64,
    pub loading: bool,
    pub loaded_once: bool,
}

impl BillingState {
    pub fn new(month: Month) -> BillingState {
        BillingState {
            month,
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            history: Vec::new(),
            filter: String::new(),
            sort: 0,
            generation: 0,
            loading: false,
            loaded_once: false,
        }
    }

    /// The rows the filter lets through, in the chosen order.
    pub fn shown(&self) -> Vec<&PreviewRow> {
        let f = self.filter.to_lowercase();
        let mut v: Vec<&PreviewRow> = self
            .rows
            .iter()
            .filter(|r| {
                f.is_empty()
                    || r.merchant
                        .merchant
                        .name
                        .as_deref()
                        .is_some_and(|n| n.to_lowercase().contains(&f))
                    || r.merchant.merchant.merchant_id.to_string() == f
            })
            .collect();
        match self.sort {
            1 => v.sort_by_key(|r| std::cmp::Reverse(r.preview.billing_amount)),
            2 => v.sort_by_key(|r| std::cmp::Reverse(r.preview.deal_count)),
            _ => {}
        }
        v
    }

    pub fn selected_row(&self) -> Option<&PreviewRow> {
        self.shown().get(self.selected).copied()
    }

    /// Amounts billed per month for the selected merchant, oldest first (the bar chart).
    pub fn monthly(&self) -> Vec<(Month, i64)> {
        let Some(sel) = self.selected_row() else {
            return Vec::new();
        };
        let id = sel.merchant.merchant.merchant_id;
        let mut by_month: std::collections::BTreeMap<Month, i64> = Default::default();
        for b in self.history.iter().filter(|b| b.merchant_id == id) {
            // The latest billing of a month replaces earlier ones only if it adds; sum them.
            *by_month.entry(b.billing_month).or_default() += b.billing_amount.hundredths();
        }
        by_month.into_iter().collect()
    }
}
