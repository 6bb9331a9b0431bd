//! Queries on the store: every one walks an index from a cursor and stops at the page's
//! end, so none costs more than what it returns (name search aside: a scan of the names in
//! memory, see `names/`).

use std::collections::BTreeMap;

use super::billing;
use super::core::Core;
use super::dashboard;
use super::error::{Error, Result};
use super::event::Event;
use super::ids::{DealId, MemberId, MerchantId};
use super::ledger::{account_of, deal_of, member_of, merchant_of};
use super::model::{
    Billing, BillingPreview, DashboardRow, Deal, DealStatus, DealType, Member, MemberView,
    MerchantSummary,
};
use super::query::{
    Balance, BalanceQuery, BillingQuery, DealQuery, Info, MAX_PAGE, MemberDetail, MemberQuery,
    MemberSort, MerchantShare, PointsSummary,
};
use super::schema::{
    self, BALANCE, BILLING, BILLING_MONTH, DEAL, EVENT, KeyBuf, MEMBER, MERCHANT, MERCHANT_STATS,
    MerchantStats, VIEW, VIEW_MERCHANT, decode, key1, key2, read_u64,
};
use super::store::{Store, Val};
use super::tx::prefix_end;

fn page(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE)
}

impl Core {
    fn store(&self) -> &Store {
        &self.shared.store
    }

    pub fn member(&self, id: MemberId) -> Result<MemberView> {
        self.shared.settle()?;
        let m = member_of(self.store(), id)?;
        let a = account_of(self.store(), id)?;
        Ok(MemberView::new(&m, &a))
    }

    fn view_of(&self, m: &Member) -> Result<MemberView> {
        Ok(MemberView::new(m, &account_of(self.store(), m.member_id)?))
    }

    pub fn members(&self, q: &MemberQuery) -> Result<Vec<MemberView>> {
        self.shared.settle()?;
        let limit = page(q.limit);
        if let Some(text) = q.query.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            return self.search_members(text, q, limit);
        }
        self.walk_members(q, limit, |_| true)
    }

    /// The members in `q`'s order from its cursor, of its status, that `keep` takes, up to
    /// `limit`.
    fn walk_members(
        &self,
        q: &MemberQuery,
        limit: usize,
        keep: impl Fn(&Member) -> bool,
    ) -> Result<Vec<MemberView>> {
        let wanted = |m: &Member| q.status.is_none_or(|s| s == m.status) && keep(m);
        let after = q.after.map_or(0, |a| a.0);
        let mut out = Vec::new();
        let rows: Box<dyn Iterator<Item = Result<(Val, Val)>>> = match q.sort {
            MemberSort::Id => Box::new(
                self.store()
                    .range(&key1(MEMBER, after + 1), &prefix_end(&[MEMBER])),
            ),
            MemberSort::IdDesc => {
                let to = if after == 0 {
                    prefix_end(&[MEMBER])
                } else {
                    key1(MEMBER, after)
                };
                Box::new(self.store().range(&[MEMBER], &to).rev())
            }
        };
        for r in rows {
            let (_, v) = r?;
            let m: Member = decode(&v)?;
            if wanted(&m) {
                out.push(self.view_of(&m)?);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Case-insensitive name substring (or phone fragment when the text is digits).
    fn search_members(&self, text: &str, q: &MemberQuery, limit: usize) -> Result<Vec<MemberView>> {
        let needle = text.to_lowercase();
        let digits = needle
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ' || c == '+');
        let Some(names) = self.names()? else {
            return self.search_records(text, &needle, digits, q, limit);
        };
        let mut ids = names.matching(&needle);
        drop(names);
        if digits {
            for r in self.store().scan_prefix(&[MEMBER]) {
                let (k, v) = r?;
                let m: Member = decode(&v)?;
                if m.phone.as_deref().is_some_and(|p| p.contains(text)) {
                    ids.push(read_u64(&k, 1));
                }
            }
            ids.sort_unstable();
            ids.dedup();
        }
        if q.sort == MemberSort::IdDesc {
            ids.reverse();
        }
        let mut out = Vec::new();
        for id in ids {
            if let Some(a) = q.after {
                let past = match q.sort {
                    MemberSort::Id => id > a.0,
                    MemberSort::IdDesc => id < a.0,
                };
                if !past {
                    continue;
                }
            }
            let m = member_of(self.store(), MemberId(id))?;
            if q.status.is_none_or(|s| s == m.status) {
                out.push(self.view_of(&m)?);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// `search_members` while the name list is being built (see `names/`): the members'
    /// records in the asked order from the cursor, up to the page's end.
    fn search_records(
        &self,
        text: &str,
        needle: &str,
        digits: bool,
        q: &MemberQuery,
        limit: usize,
    ) -> Result<Vec<MemberView>> {
        self.walk_members(q, limit, |m| {
            m.name.to_lowercase().contains(needle)
                || (digits && m.phone.as_deref().is_some_and(|p| p.contains(text)))
        })
    }

    pub fn member_history(
        &self,
        id: MemberId,
        before: Option<DealId>,
        limit: usize,
    ) -> Result<Vec<DashboardRow>> {
        self.shared.settle()?;
        let m = member_of(self.store(), id)?;
        let to = key2(VIEW, id.0, before.map_or(u64::MAX, |b| b.0));
        let mut out = Vec::new();
        for r in self
            .store()
            .range(&key1(VIEW, id.0), &to)
            .rev()
            .take(page(limit))
        {
            let (k, _) = r?;
            let d = deal_of(self.store(), DealId(read_u64(&k, 9)))?;
            out.push(dashboard::row_of(&d, m.status));
        }
        Ok(out)
    }

    pub fn member_detail(&self, id: MemberId, recent: usize) -> Result<MemberDetail> {
        self.shared.settle()?;
        let m = member_of(self.store(), id)?;
        let a = account_of(self.store(), id)?;
        let mut d = MemberDetail::new(&m, a);
        let mut shares: BTreeMap<u64, MerchantShare> = BTreeMap::new();
        for r in self.store().scan_prefix(&key1(VIEW, id.0)) {
            let (k, _) = r?;
            let row = deal_of(self.store(), DealId(read_u64(&k, 9)))?;
            let s = shares
                .entry(row.merchant_id.0)
                .or_insert_with(|| MerchantShare {
                    merchant_id: row.merchant_id,
                    deals: 0,
                    earned: Default::default(),
                    used: Default::default(),
                });
            s.deals += 1;
            if row.status == DealStatus::Success {
                match row.deal_type {
                    DealType::Save => s.earned += row.point,
                    DealType::Use => s.used += row.point,
                    DealType::SaveCancel => s.earned -= row.point,
                    DealType::UseCancel => s.used -= row.point,
                }
            }
        }
        let mut top: Vec<MerchantShare> = shares.into_values().collect();
        top.sort_by(|a, b| {
            b.deals
                .cmp(&a.deals)
                .then(a.merchant_id.cmp(&b.merchant_id))
        });
        top.truncate(10);
        d.top_merchants = top;
        if recent > 0 {
            let to = key1(VIEW, id.0 + 1);
            for r in self
                .store()
                .range(&key1(VIEW, id.0), &to)
                .rev()
                .take(recent)
            {
                let (k, _) = r?;
                d.recent_deals
                    .push(deal_of(self.store(), DealId(read_u64(&k, 9)))?);
            }
        }
        Ok(d)
    }

    pub fn merchants(&self, limit: usize) -> Result<Vec<MerchantSummary>> {
        self.shared.settle()?;
        let rates = self.shared.opts.rates;
        let mut ids: Vec<u64> = Vec::new();
        for tag in [MERCHANT, MERCHANT_STATS] {
            for r in self.store().scan_prefix(&[tag]) {
                ids.push(read_u64(&r?.0, 1));
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids.truncate(page(limit));
        ids.into_iter()
            .map(|id| {
                let merchant = merchant_of(self.store(), &rates, MerchantId(id))?;
                let stats = self
                    .store()
                    .get_val(&key1(MERCHANT_STATS, id))?
                    .map(|v| decode::<MerchantStats>(&v))
                    .transpose()?
                    .unwrap_or_default();
                Ok(MerchantSummary {
                    merchant,
                    deals: stats.deals,
                    last_deal: stats.last_deal,
                })
            })
            .collect()
    }

    pub fn deal(&self, id: DealId) -> Result<Deal> {
        self.shared.settle()?;
        deal_of(self.store(), id)
    }

    pub fn deals(&self, q: &DealQuery) -> Result<Vec<Deal>> {
        self.shared.settle()?;
        let limit = page(q.limit);
        let before = q.before.map_or(u64::MAX, |b| b.0);
        // Pick the narrowest index; each yields deal ids newest first.
        let ids: Box<dyn Iterator<Item = Result<u64>>> = if let Some(m) = q.member {
            member_of(self.store(), m)?;
            Box::new(
                self.store()
                    .range(&key1(VIEW, m.0), &key2(VIEW, m.0, before))
                    .rev()
                    .map(|r| r.map(|(k, _)| read_u64(&k, 9))),
            )
        } else if let Some(mer) = q.merchant {
            let prefix = match q.month {
                Some(mo) => KeyBuf::new(VIEW_MERCHANT).u64(mer.0).u32(mo.code()).done(),
                None => key1(VIEW_MERCHANT, mer.0),
            };
            Box::new(
                self.store()
                    .scan_prefix(&prefix)
                    .rev()
                    .map(|r| r.map(|(k, _)| read_u64(&k, 13)))
                    .filter(move |r| r.as_ref().map_or(true, |id| *id < before)),
            )
        } else {
            // Newest first over all deals; a month-only filter is checked per deal below
            // (every write is one key fewer without a month index, and recent months, the
            // ones people look at, are found at the front).
            Box::new(
                self.store()
                    .range(&[DEAL], &key1(DEAL, before))
                    .rev()
                    .map(|r| r.map(|(k, _)| read_u64(&k, 1))),
            )
        };
        let mut out = Vec::new();
        for id in ids {
            let d = deal_of(self.store(), DealId(id?))?;
            let keep = q.member.is_none_or(|m| m == d.member_id)
                && q.merchant.is_none_or(|m| m == d.merchant_id)
                && q.month.is_none_or(|mo| {
                    super::calendar::Month::of(d.deal_date, self.shared.opts.zone) == mo
                })
                && q.deal_type.is_none_or(|t| t == d.deal_type)
                && q.status.is_none_or(|s| s == d.status);
            if keep {
                out.push(d);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    pub fn points(&self, id: MemberId) -> Result<Balance> {
        self.shared.settle()?;
        member_of(self.store(), id)?;
        Ok(Balance {
            member_id: id,
            point: account_of(self.store(), id)?.balance,
        })
    }

    /// Balances, highest first.
    pub fn balances(&self, q: &BalanceQuery) -> Result<Vec<Balance>> {
        self.shared.settle()?;
        let to = match q.after {
            Some((p, m)) => schema::balance_key(p, m.0),
            None => prefix_end(&[BALANCE]),
        };
        let mut out = Vec::new();
        for r in self
            .store()
            .range(&[BALANCE], &to)
            .rev()
            .take(page(q.limit))
        {
            let (k, _) = r?;
            out.push(Balance {
                member_id: MemberId(read_u64(&k, 9)),
                point: super::money::Points(read_u64(&k, 1) as i64),
            });
        }
        Ok(out)
    }

    pub fn points_summary(&self) -> Result<PointsSummary> {
        self.shared.settle()?;
        let meta = self.meta();
        Ok(PointsSummary {
            members: meta.last_member,
            valid_members: meta.valid_members,
            total_outstanding: meta.outstanding,
            distribution: schema::BUCKET_LABELS
                .iter()
                .zip(meta.buckets)
                .map(|(l, n)| (l.to_string(), n))
                .collect(),
        })
    }

    pub fn preview_billing(
        &self,
        merchant: MerchantId,
        month: super::calendar::Month,
    ) -> Result<BillingPreview> {
        self.shared.settle()?;
        let now = self.shared.opts.clock.now();
        billing::preview(self.store(), &self.shared.rules(), now, merchant, month)
    }

    /// Billings, newest first.
    pub fn billings(&self, q: &BillingQuery) -> Result<Vec<Billing>> {
        self.shared.settle()?;
        let limit = if q.limit == 0 {
            MAX_PAGE
        } else {
            page(q.limit)
        };
        let mut out = Vec::new();
        if let Some(m) = q.merchant {
            let prefix = match q.month {
                Some(mo) => KeyBuf::new(BILLING_MONTH).u64(m.0).u32(mo.code()).done(),
                None => key1(BILLING_MONTH, m.0),
            };
            for r in self.store().scan_prefix(&prefix).rev().take(limit) {
                let (k, _) = r?;
                out.push(self.billing(read_u64(&k, 13))?);
            }
            out.sort_by_key(|b| std::cmp::Reverse(b.id));
            return Ok(out);
        }
        for r in self.store().scan_prefix(&[BILLING]).rev() {
            let (_, v) = r?;
            let b: Billing = decode(&v)?;
            if q.month.is_none_or(|mo| mo == b.billing_month) {
                out.push(b);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn billing(&self, id: u64) -> Result<Billing> {
        self.store()
            .get_val(&key1(BILLING, id))?
            .map(|v| decode(&v))
            .transpose()?
            .ok_or_else(|| Error::not_found("billing", id))
    }

    /// Events after `after`, oldest first.
    pub fn events(&self, after: u64, limit: usize) -> Result<Vec<Event>> {
        self.shared.settle()?;
        let durable = self.last_offset();
        let mut out = Vec::new();
        let from = key1(EVENT, after.saturating_add(1));
        let to = key1(EVENT, durable.saturating_add(1));
        for r in self.store().range(&from, &to).take(page(limit)) {
            let (k, v) = r?;
            out.push(Event::decode_stored(read_u64(&k, 1), &v, |d| {
                deal_of(self.store(), d)
            })?);
        }
        Ok(out)
    }

    pub fn info(&self) -> Result<Info> {
        self.shared.settle()?;
        let meta = self.meta();
        Ok(Info {
            version: env!("CARGO_PKG_VERSION").to_string(),
            data_dir: self.dir().display().to_string(),
            members: meta.last_member,
            deals: meta.last_deal,
            billings: meta.last_billing,
            events: meta.last_offset,
            merchants: meta.merchants,
            store_bytes: dir_size(self.dir()),
        })
    }
}

fn dir_size(p: &std::path::Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}
