//! Windows on long tables, for consoles that scroll a whole table without holding it: a page
//! read from either end of a sorted order or from a cursor in either direction, with the
//! table's total and the page's position where the store knows them cheaply. Also the batch
//! reads that keep a screen to one call per page (members by ids, every merchant's preview).
//!
//! Orders are the store's own indexes: members by id, by name (`N`), by balance (`B`) and
//! by last activity (`L`); deals by id (newest or oldest first), through the member (`V`)
//! or merchant (`X`) index when filtered, by points (`P`), and by date (the id order merged
//! with the back-dated deals, `deal_dates`). Nothing here sorts in memory, so every order
//! is the whole table's.

use serde::{Deserialize, Serialize};

use super::calendar::Millis;
use super::calendar::Month;
use super::core::Core;
use super::error::{Error, Result};
use super::ids::{DealId, MemberId, MerchantId};
use super::index_walk::{place_in, walk, walk_within};
use super::ledger::{account_of, deal_of, member_of};
use super::model::{
    BillingPreview, Deal, DealStatus, DealType, Member, MemberStatus, MemberView, MerchantSummary,
};
use super::money::Points;
use super::query::MAX_PAGE;
use super::schema::{
    ACTIVITY, BALANCE, DEAL, DEAL_POINTS, KeyBuf, MEMBER, MERCHANT_STATS, MerchantStats, NAME,
    VIEW, VIEW_MERCHANT, balance_key, decode, key1, key2, name_key, read_u64,
};
use super::sort_index::{activity_key, activity_member, deal_points_deal, deal_points_key};
use super::store::Store;

/// Where a window starts, in the view's order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Anchor<C> {
    /// The first rows of the table.
    #[default]
    First,
    /// The last rows of the table.
    Last,
    /// The rows after this one.
    After(C),
    /// The rows before this one (returned in view order).
    Before(C),
    /// This row (if it still sorts there) and the rows after it.
    From(C),
}

/// One window of rows, in view order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Window<T> {
    pub rows: Vec<T>,
    /// Rows in the whole table (with the filter), when the store knows it without a scan.
    pub total: Option<u64>,
    /// Position of `rows[0]` in the whole table (0 = first), when known.
    pub first_position: Option<u64>,
    pub more_before: bool,
    pub more_after: bool,
}

/// The member orders the store has an index for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MemberOrder {
    #[default]
    Id,
    Name,
    Balance,
    /// The account's last activity (latest deal date or withdrawal); never-active members
    /// sort below every instant.
    LastActivity,
}

/// A member's place in an order (the cursor of a member window).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MemberKey {
    Id(MemberId),
    /// The lowercased name, then the id.
    Name(String, MemberId),
    Balance(Points, MemberId),
    LastActivity(Option<Millis>, MemberId),
}

impl MemberOrder {
    pub fn key_of(self, m: &MemberView) -> MemberKey {
        match self {
            MemberOrder::Id => MemberKey::Id(m.member_id),
            MemberOrder::Name => MemberKey::Name(m.name.to_lowercase(), m.member_id),
            MemberOrder::Balance => MemberKey::Balance(m.point, m.member_id),
            MemberOrder::LastActivity => MemberKey::LastActivity(m.last_activity, m.member_id),
        }
    }
}

impl MemberKey {
    fn index_key(&self) -> Vec<u8> {
        match self {
            MemberKey::Id(m) => key1(MEMBER, m.0),
            MemberKey::Name(n, m) => name_key(n, m.0),
            MemberKey::Balance(p, m) => balance_key(*p, m.0),
            MemberKey::LastActivity(t, m) => activity_key(*t, m.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberWindow {
    pub status: Option<MemberStatus>,
    /// Case-insensitive name fragment, or phone digits (separators ignored).
    pub query: Option<String>,
    pub order: MemberOrder,
    pub descending: bool,
    pub anchor: Anchor<MemberKey>,
    pub limit: usize,
    /// Only the members of this segment of the segments report (`at risk`, `champions`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// Count the first row's exact place where no cheaper source gives it (name, balance
    /// and last-activity orders, unfiltered): reads the index from the nearer end up to it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub place: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The deal orders the store has an index for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DealOrder {
    /// The order deals were recorded in.
    #[default]
    Id,
    /// Points, then id. Over all deals only: not with a member or merchant filter.
    Points,
    /// The deal date, then id (a deal may be given an earlier date, so this is not quite
    /// the id order). Over all deals only, as points.
    Date,
}

/// Deals in an order (highest first unless `oldest_first`: newest, or most points), filtered.
/// The cursor is a deal id in every order: a deal's points and date never change, so its
/// place in those orders is read from the deal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DealWindow {
    pub member: Option<MemberId>,
    pub merchant: Option<MerchantId>,
    pub month: Option<Month>,
    pub deal_type: Option<DealType>,
    pub status: Option<DealStatus>,
    #[serde(default)]
    pub order: DealOrder,
    /// Ascending: oldest first by id or date, fewest points first by points.
    pub oldest_first: bool,
    pub anchor: Anchor<DealId>,
    pub limit: usize,
    /// Count the first row's exact place in the points or date order (unfiltered): reads
    /// the points index from the nearer end up to it, or the runs and back-dated deals
    /// before it. (The id order gives it without.)
    #[serde(default, skip_serializing_if = "is_false")]
    pub place: bool,
}

/// A merchant with its settlement preview for one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantPreview {
    pub merchant: MerchantSummary,
    pub preview: BillingPreview,
}

/// Digits of a phone number or a typed fragment, separators dropped (`010-7927-0075`).
pub fn phone_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// True when the text reads as a phone fragment: digits and separators only.
pub fn is_phone_query(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')' | '.'))
}

/// How an anchor reads an index whose natural order is ascending: from where, which way,
/// and whether the rows come back reversed (to be turned into view order).
fn plan<C>(anchor: &Anchor<C>, descending: bool, key: impl Fn(&C) -> Vec<u8>) -> Plan {
    // `forward` = in the view's order; the index is walked ascending when the two agree.
    let (from, forward) = match anchor {
        Anchor::First => (None, true),
        Anchor::Last => (None, false),
        Anchor::After(c) => (Some((key(c), false)), true),
        Anchor::Before(c) => (Some((key(c), false)), false),
        Anchor::From(c) => (Some((key(c), true)), true),
    };
    Plan {
        from,
        ascending: forward != descending,
        backwards: !forward,
    }
}

struct Plan {
    from: Option<(Vec<u8>, bool)>,
    ascending: bool,
    backwards: bool,
}

impl<T> Window<T> {
    /// Builds the window from rows read (`limit + 1` at most: the extra one says "more").
    fn finish(
        mut rows: Vec<T>,
        limit: usize,
        anchor_kind: AnchorKind,
        backwards: bool,
        total: Option<u64>,
    ) -> Window<T> {
        let more = rows.len() > limit;
        rows.truncate(limit);
        if backwards {
            rows.reverse();
        }
        let (more_before, more_after) = match anchor_kind {
            AnchorKind::First => (false, more),
            AnchorKind::Last => (more, false),
            AnchorKind::After => (true, more),
            AnchorKind::Before => (more, true),
            // The row anchored on may have gone: rows before it are likely, not certain.
            AnchorKind::From => (true, more),
        };
        let first_position = match anchor_kind {
            AnchorKind::First => Some(0),
            AnchorKind::Last => total.map(|t| t.saturating_sub(rows.len() as u64)),
            _ => None,
        };
        Window {
            rows,
            total,
            first_position,
            more_before,
            more_after,
        }
    }
}

#[derive(Clone, Copy)]
enum AnchorKind {
    First,
    Last,
    After,
    Before,
    From,
}

fn kind<C>(a: &Anchor<C>) -> AnchorKind {
    match a {
        Anchor::First => AnchorKind::First,
        Anchor::Last => AnchorKind::Last,
        Anchor::After(_) => AnchorKind::After,
        Anchor::Before(_) => AnchorKind::Before,
        Anchor::From(_) => AnchorKind::From,
    }
}

fn limit_of(limit: usize) -> usize {
    limit.clamp(1, MAX_PAGE)
}

impl Core {
    fn window_store(&self) -> &Store {
        &self.shared.store
    }

    /// Members in an index order, from either end or a cursor, filtered.
    pub fn member_window(&self, q: &MemberWindow) -> Result<Window<MemberView>> {
        self.shared.settle()?;
        let store = self.window_store();
        let limit = limit_of(q.limit);
        let text = q.query.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let phone = text.filter(|t| is_phone_query(t)).map(phone_digits);
        let needle = text.filter(|t| !is_phone_query(t)).map(str::to_lowercase);
        let names = match &needle {
            Some(_) => self.names()?,
            None => None,
        };
        let named = |id: u64| -> Result<bool> {
            let Some(n) = &needle else { return Ok(true) };
            Ok(
                match names.as_ref().and_then(|ns| ns.get(id as usize - 1)) {
                    Some(name) => name.contains(n.as_str()),
                    // The list is being built (see `names/`), or the member joined since.
                    None => member_of(store, MemberId(id))?
                        .name
                        .to_lowercase()
                        .contains(n.as_str()),
                },
            )
        };
        let segment = match &q.segment {
            Some(name) => Some(self.segment_test("segment", name)?),
            None => None,
        };
        // An empty segment (as the report counts it now): no walk over the whole table.
        if segment.as_ref().is_some_and(|t| t.members == 0) {
            return Ok(Window {
                rows: Vec::new(),
                total: Some(0),
                first_position: Some(0),
                more_before: false,
                more_after: false,
            });
        }
        let tag = match q.order {
            MemberOrder::Id => MEMBER,
            MemberOrder::Name => NAME,
            MemberOrder::Balance => BALANCE,
            MemberOrder::LastActivity => ACTIVITY,
        };
        let p = plan(&q.anchor, q.descending, MemberKey::index_key);
        let mut rows = Vec::new();
        for r in walk(store, tag, p.from, p.ascending) {
            let (k, v) = r?;
            let id = match q.order {
                MemberOrder::Id => read_u64(&k, 1),
                MemberOrder::Name => read_u64(&k, k.len() - 8),
                MemberOrder::Balance => read_u64(&k, 9),
                MemberOrder::LastActivity => activity_member(&k),
            };
            if id == 0 || !named(id)? {
                continue;
            }
            if let Some(t) = &segment
                && !t.holds(store, MemberId(id))?
            {
                continue;
            }
            let m: Member = match q.order {
                MemberOrder::Id => decode(&v)?,
                _ => member_of(store, MemberId(id))?,
            };
            if q.status.is_some_and(|s| s != m.status) {
                continue;
            }
            if let Some(digits) = &phone
                && !m
                    .phone
                    .as_deref()
                    .is_some_and(|ph| phone_digits(ph).contains(digits.as_str()))
            {
                continue;
            }
            rows.push(MemberView::new(&m, &account_of(store, m.member_id)?));
            if rows.len() > limit {
                break;
            }
        }
        let meta = self.meta();
        let total = match (&text, q.status) {
            (None, None) if segment.is_some() => segment.as_ref().map(|t| t.members),
            _ if segment.is_some() => None,
            (None, None) => Some(meta.last_member),
            (None, Some(MemberStatus::Valid)) => Some(meta.valid_members),
            (None, Some(MemberStatus::Invalid)) => {
                Some(meta.last_member.saturating_sub(meta.valid_members))
            }
            (Some(_), None) => names
                .as_ref()
                .zip(needle.as_ref())
                .map(|(ns, n)| ns.matching(n).len() as u64),
            _ => None,
        };
        drop(names);
        let mut w = Window::finish(rows, limit, kind(&q.anchor), p.backwards, total);
        // Ids are dense and never reused: in id order, a member's place is its id.
        if q.order == MemberOrder::Id
            && text.is_none()
            && q.status.is_none()
            && segment.is_none()
            && let Some(first) = w.rows.first()
        {
            w.first_position = Some(if q.descending {
                meta.last_member.saturating_sub(first.member_id.0)
            } else {
                first.member_id.0 - 1
            });
        }
        if q.place
            && text.is_none()
            && q.status.is_none()
            && segment.is_none()
            && w.first_position.is_none()
            && let Some(first) = w.rows.first()
        {
            let key = q.order.key_of(first).index_key();
            w.first_position = place_in(store, tag, &key, meta.last_member, q.descending)?;
        }
        Ok(w)
    }

    /// Deals by id from either end or a cursor, filtered; through the member or merchant
    /// index when one is given.
    pub fn deal_window(&self, q: &DealWindow) -> Result<Window<Deal>> {
        self.shared.settle()?;
        let store = self.window_store();
        let limit = limit_of(q.limit);
        let zone = self.shared.opts.zone;
        // Each source yields deal ids in ascending or descending order from the anchor.
        let p;
        let ids: Box<dyn Iterator<Item = Result<u64>> + '_>;
        if q.order != DealOrder::Id && (q.member.is_some() || q.merchant.is_some()) {
            let name = match q.order {
                DealOrder::Date => "date",
                _ => "points",
            };
            return Err(Error::invalid(
                "order",
                &format!("{name} order covers all deals: not with a member or merchant filter"),
            ));
        }
        if q.order == DealOrder::Date {
            // The cursor's place: its deal's date (which never changes), then its id.
            let at = match &q.anchor {
                Anchor::After(d) | Anchor::Before(d) | Anchor::From(d) => {
                    Some((deal_of(store, *d)?.deal_date, d.0))
                }
                Anchor::First | Anchor::Last => None,
            };
            p = plan(&q.anchor, !q.oldest_first, |_: &DealId| Vec::new());
            let from = at.zip(p.from.as_ref().map(|f| f.1));
            ids = super::deal_dates::ids(store, from, p.ascending)?;
        } else if q.order == DealOrder::Points {
            // The cursor's place: its deal's points (which never change), then its id.
            let at = match &q.anchor {
                Anchor::After(d) | Anchor::Before(d) | Anchor::From(d) => {
                    Some(deal_points_key(deal_of(store, *d)?.point, d.0))
                }
                Anchor::First | Anchor::Last => None,
            };
            p = plan(&q.anchor, !q.oldest_first, |_: &DealId| {
                at.clone().unwrap_or_default()
            });
            ids = Box::new(
                walk(store, DEAL_POINTS, p.from.clone(), p.ascending)
                    .map(|r| r.map(|(k, _)| deal_points_deal(&k))),
            );
        } else if let Some(m) = q.member {
            member_of(store, m)?;
            let prefix = key1(VIEW, m.0);
            p = plan(&q.anchor, !q.oldest_first, |d: &DealId| {
                key2(VIEW, m.0, d.0)
            });
            ids = Box::new(
                walk_within(store, &prefix, p.from.clone(), p.ascending)
                    .map(|r| r.map(|(k, _)| read_u64(&k, 9))),
            );
        } else if let Some(mer) = q.merchant {
            let prefix = match q.month {
                Some(mo) => KeyBuf::new(VIEW_MERCHANT).u64(mer.0).u32(mo.code()).done(),
                None => key1(VIEW_MERCHANT, mer.0),
            };
            let key = |d: &DealId| {
                let month = deal_of(store, *d)
                    .map(|x| Month::of(x.deal_date, zone).code())
                    .unwrap_or(0);
                KeyBuf::new(VIEW_MERCHANT)
                    .u64(mer.0)
                    .u32(month)
                    .u64(d.0)
                    .done()
            };
            p = plan(&q.anchor, !q.oldest_first, key);
            ids = Box::new(
                walk_within(store, &prefix, p.from.clone(), p.ascending)
                    .map(|r| r.map(|(k, _)| read_u64(&k, 13))),
            );
        } else {
            p = plan(&q.anchor, !q.oldest_first, |d: &DealId| key1(DEAL, d.0));
            ids = Box::new(
                walk(store, DEAL, p.from.clone(), p.ascending)
                    .map(|r| r.map(|(k, _)| read_u64(&k, 1))),
            );
        }
        let mut rows = Vec::new();
        for id in ids {
            let d = deal_of(store, DealId(id?))?;
            let keep = q.month.is_none_or(|mo| Month::of(d.deal_date, zone) == mo)
                && q.deal_type.is_none_or(|t| t == d.deal_type)
                && q.status.is_none_or(|s| s == d.status);
            if keep {
                rows.push(d);
                if rows.len() > limit {
                    break;
                }
            }
        }
        let unfiltered = q.member.is_none()
            && q.merchant.is_none()
            && q.month.is_none()
            && q.deal_type.is_none()
            && q.status.is_none();
        let plain = q.month.is_none() && q.deal_type.is_none() && q.status.is_none();
        let total = if unfiltered {
            Some(self.meta().last_deal)
        } else if let (Some(m), None, true) = (q.member, q.merchant, plain) {
            Some(store.scan_prefix(&key1(VIEW, m.0)).count() as u64)
        } else if let (None, Some(mer), true) = (q.member, q.merchant, plain) {
            Some(
                store
                    .get_val(&key1(MERCHANT_STATS, mer.0))?
                    .map(|v| decode::<MerchantStats>(&v))
                    .transpose()?
                    .unwrap_or_default()
                    .deals,
            )
        } else {
            None
        };
        let last_deal = self.meta().last_deal;
        let mut w = Window::finish(rows, limit, kind(&q.anchor), p.backwards, total);
        // Deal ids are dense: unfiltered, a deal's place follows from its id; asked for, by
        // points from the index, by date from its id and the back-dated deals (while few).
        if unfiltered && let Some(first) = w.rows.first() {
            if q.order == DealOrder::Id {
                w.first_position = Some(if q.oldest_first {
                    first.id.0 - 1
                } else {
                    last_deal.saturating_sub(first.id.0)
                });
            } else if q.order == DealOrder::Points && q.place && w.first_position.is_none() {
                let key = deal_points_key(first.point, first.id.0);
                w.first_position = place_in(store, DEAL_POINTS, &key, last_deal, !q.oldest_first)?;
            } else if q.order == DealOrder::Date && q.place && w.first_position.is_none() {
                let before = super::deal_dates::position(store, (first.deal_date, first.id.0))?;
                w.first_position = before.map(|n| {
                    if q.oldest_first {
                        n
                    } else {
                        last_deal.saturating_sub(n + 1)
                    }
                });
            }
        }
        Ok(w)
    }

    /// The members with these ids, in the order asked; unknown ids are left out.
    pub fn members_by_ids(&self, ids: &[MemberId]) -> Result<Vec<MemberView>> {
        self.shared.settle()?;
        let store = self.window_store();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids.iter().take(MAX_PAGE) {
            match member_of(store, *id) {
                Ok(m) => out.push(MemberView::new(&m, &account_of(store, *id)?)),
                Err(super::error::Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Every merchant (up to `limit`) with its settlement preview for `month`.
    pub fn previews(&self, month: Month, limit: usize) -> Result<Vec<MerchantPreview>> {
        self.shared.settle()?;
        self.merchants(limit)?
            .into_iter()
            .map(|m| {
                let preview = self.preview_billing(m.merchant.merchant_id, month)?;
                Ok(MerchantPreview {
                    merchant: m,
                    preview,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_fragments_ignore_separators() {
        assert!(is_phone_query("010-7927"));
        assert!(is_phone_query("01079270075"));
        assert!(!is_phone_query("Kim"));
        assert!(!is_phone_query("-"));
        assert_eq!(phone_digits("010-7927-0075"), "01079270075");
    }
}
