//! Deals tab state: deals newest first, filtered by member, merchant, type, status and month.
//! The filter text (`member:7 type:use month:202610`) is read with the domain's own parsers.

use super::sort::DealSort;
use super::table::Table;
use crate::domain::{
    Anchor, Deal, DealId, DealStatus, DealType, DealWindow, FieldError, FieldErrors, MemberId,
    MerchantId, Month,
};

#[derive(Debug, Clone, Default)]
pub struct DealsState {
    pub table: Table<Deal>,
    pub filter: DealFilter,
    pub filter_text: String,
    pub sort: DealSort,
}

impl DealsState {
    /// The order the table is in: the chosen sort, or id order under a member or merchant
    /// filter (points order covers all deals).
    pub fn shown_sort(&self) -> DealSort {
        self.sort.under(self.filter.scoped())
    }
}

/// The filters of the deal list, as the store's query takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DealFilter {
    pub member: Option<MemberId>,
    /// A member's name (or phone) instead of an id: read to the one member it names.
    pub member_name: Option<String>,
    pub merchant: Option<MerchantId>,
    pub month: Option<Month>,
    pub deal_type: Option<DealType>,
    pub status: Option<DealStatus>,
}

impl DealFilter {
    /// Reads `member:7 merchant:3 type:use status:fail month:202610` (any subset, any
    /// order; a bare number is a member id). Each value goes through its domain parser.
    pub fn parse(text: &str) -> Result<DealFilter, FieldErrors> {
        let mut f = DealFilter::default();
        let mut errs = FieldErrors::default();
        for word in text.split_whitespace() {
            let (k, v) = word.split_once(':').unwrap_or(("member", word));
            match k {
                // A name (anything not made of digits) finds the member by name.
                "member" | "m" if !v.is_empty() && !v.bytes().all(|b| b.is_ascii_digit()) => {
                    f.member_name = Some(v.to_string())
                }
                "member" | "m" => f.member = errs.take(MemberId::parse("member", v)),
                "merchant" | "shop" => f.merchant = errs.take(MerchantId::parse("merchant", v)),
                "month" => f.month = errs.take(Month::parse("month", v)),
                "type" => f.deal_type = errs.take(DealType::parse("type", v)),
                "status" => f.status = errs.take(DealStatus::parse("status", v)),
                other => errs.push(FieldError::new(
                    other,
                    "is not a filter: use member, merchant, month, type or status",
                )),
            }
        }
        if errs.is_empty() { Ok(f) } else { Err(errs) }
    }

    /// True when the filter names a member or merchant: their deals are read through
    /// their own indexes, by id only.
    pub fn scoped(&self) -> bool {
        self.member.is_some() || self.member_name.is_some() || self.merchant.is_some()
    }

    pub fn window(&self, sort: DealSort, anchor: Anchor<DealId>, limit: usize) -> DealWindow {
        let sort = sort.under(self.scoped());
        DealWindow {
            member: self.member,
            merchant: self.merchant,
            month: self.month,
            deal_type: self.deal_type,
            status: self.status,
            order: sort.by,
            oldest_first: sort.oldest_first,
            anchor,
            limit,
            place: false,
        }
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(m) = self.member {
            parts.push(format!("member:{m}"));
        }
        if let Some(n) = &self.member_name {
            parts.push(format!("member:{n}"));
        }
        if let Some(m) = self.merchant {
            parts.push(format!("merchant:{m}"));
        }
        if let Some(m) = self.month {
            parts.push(format!("month:{m}"));
        }
        if let Some(t) = self.deal_type {
            parts.push(format!("type:{}", t.as_str()));
        }
        if let Some(s) = self.status {
            parts.push(format!("status:{}", s.as_str()));
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_reads_every_key_with_the_domain_parsers() {
        let f =
            DealFilter::parse("member:0007 merchant:3 type:use status:fail month:202610").unwrap();
        assert_eq!(f.member, Some(MemberId(7)));
        assert_eq!(f.merchant, Some(MerchantId(3)));
        assert_eq!(f.deal_type, Some(DealType::Use));
        assert_eq!(f.status, Some(DealStatus::Fail));
        assert_eq!(f.month.map(|m| m.code()), Some(202610));
        assert_eq!(
            f.describe(),
            "member:7 merchant:3 month:202610 type:use status:fail"
        );
    }

    #[test]
    fn a_member_name_is_kept_to_be_found_and_a_bare_word_is_not_a_number() {
        let f = DealFilter::parse("member:kim type:save").unwrap();
        assert_eq!(f.member_name.as_deref(), Some("kim"));
        assert_eq!(f.member, None);
        let f = DealFilter::parse("Olivia").unwrap();
        assert_eq!(f.member_name.as_deref(), Some("Olivia"));
        let f = DealFilter::parse("12").unwrap();
        assert_eq!(f.member, Some(MemberId(12)));
    }

    #[test]
    fn bad_filter_values_name_the_key_and_rule() {
        let e = DealFilter::parse("type:refund month:2026").unwrap_err();
        assert!(e.get("type").is_some());
        assert!(e.get("month").unwrap().rule.contains("YYYYMM"));
        let e = DealFilter::parse("colour:red").unwrap_err();
        assert!(e.get("colour").is_some());
    }
}
