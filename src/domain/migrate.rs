//! Opening an older or new store: the business time zone kept in the store, and the
//! layout brought up to `SCHEMA_VERSION` step by step (each step safe to run again).

use chrono::FixedOffset;

use super::store::Store;
use super::{Error, Result};

/// The store's business time zone: fixed when the store is created (from `wanted`, the
/// config's or a flag's) and kept in the store; a store from before it was kept adopts
/// `wanted` once. Every later open uses the stored zone whatever the caller asks for, so
/// two processes never settle different months and `check` never depends on the reader's
/// config; a differing request is ignored with a warning.
pub(super) fn store_zone(store: &Store, wanted: FixedOffset) -> Result<FixedOffset> {
    use super::schema::{ZONE, decode_zone, encode_zone};
    if let Some(v) = store.get_val(ZONE)? {
        let zone = decode_zone(&v)?;
        if zone != wanted {
            tracing::warn!(
                "the store {} keeps business time zone {zone}; the configured {wanted} is ignored",
                store.dir().display()
            );
        }
        return Ok(zone);
    }
    let mut set = super::store::WriteSet::default();
    set.put(ZONE, &encode_zone(wanted));
    store.commit(set)?;
    Ok(wanted)
}

/// Brings an older store's layout up to `SCHEMA_VERSION`, step by step: version 2 added
/// the `Q` settlement totals, rebuilt here from the queues; version 3 keeps events in a
/// binary form (a deal event points at its deal) and the dashboard indexes `V` and `X`
/// as keys only; version 4 moves the members' report fields from `Y p` into their `A`
/// records; version 5 changes nothing already written (the held-back indexes' mark,
/// `Cdelta`, comes with the first write after). Each step is safe to run again if a crash interrupts it (the version is
/// written last, and reads take both forms).
pub(super) fn migrate(store: &Store, zone: FixedOffset) -> Result<()> {
    use super::schema::{SCHEMA, SCHEMA_VERSION};
    use super::store::WriteSet;
    let version = store
        .get_val(SCHEMA)?
        .map(|v| super::schema::read_u64(&v, 0))
        .unwrap_or(1);
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    if version < 2 {
        settlement_totals(store, zone)?;
    }
    if version < 3 {
        compact_events_and_views(store)?;
    }
    if version < 4 {
        member_records(store)?;
    }
    let mut set = WriteSet::default();
    set.put(SCHEMA, &SCHEMA_VERSION.to_be_bytes());
    store.commit(set)
}

/// Version 2: the `Q` totals, from the settlement queues.
fn settlement_totals(store: &Store, zone: FixedOffset) -> Result<()> {
    use super::schema::{PENDING, encode};
    use super::store::WriteSet;
    use super::tx::Reader;
    let mut set = WriteSet::default();
    for (k, _) in store.range_raw(&[PENDING], &super::tx::prefix_end(&[PENDING]))? {
        set.remove(&k);
    }
    store.apply(set)?;
    let totals = super::billing::pending_from_queues(store, zone)?;
    let mut set = WriteSet::default();
    for (k, p) in totals {
        set.put(&k, &encode(&p));
        if set.len() >= super::core::CHUNK_WRITES {
            store.apply(std::mem::take(&mut set))?;
        }
    }
    store.apply(set)
}

/// Version 3: events from JSON to the stored binary form, `V` and `X` values dropped.
fn compact_events_and_views(store: &Store) -> Result<()> {
    use super::event::Event;
    use super::schema::{EVENT, VIEW, VIEW_MERCHANT, read_u64};
    rewrite_table(store, EVENT, |k, v| {
        if v.first() != Some(&b'{') {
            return Ok(None);
        }
        let offset = read_u64(k, 1);
        let ev = Event::decode_stored(offset, v, |_| {
            Err(Error::store("a JSON event reads without its deal"))
        })?;
        let stored = ev.encode_stored();
        // A deal event keeps only its deal's id: keep the JSON of one whose deal record
        // says otherwise (nothing is lost; reads take both forms).
        let same = Event::decode_stored(offset, &stored, |d| super::ledger::deal_of(store, d))
            .is_ok_and(|back| back == ev);
        Ok(same.then_some(stored))
    })?;
    for tag in [VIEW, VIEW_MERCHANT] {
        rewrite_table(store, tag, |_, v| Ok((!v.is_empty()).then(Vec::new)))?;
    }
    Ok(())
}

/// Version 4: each account (`A`) becomes a `MemberRecord` carrying the member's report
/// fields, taken from its `Y p` record (which went on to hold the balance and the failed
/// count the account holds); then `Y p` is removed. An account already converted is left
/// as it is, so a run a crash cut short is finished by the next (`Y p` goes only after
/// every account is converted). A member with no `Y p` record (a store from before the
/// report counters, which `counters::ensure` rebuilds next) gets its join date only.
fn member_records(store: &Store) -> Result<()> {
    use super::calendar::Millis;
    use super::model::{Account, Member, MemberRecord, MemberStats};
    use super::money::Points;
    use super::schema::{ACCOUNT, MEMBER, decode, encode, key1, read_u64};
    use super::store::WriteSet;
    /// `Y p` as version 3 wrote it.
    #[derive(serde::Deserialize)]
    struct StatsV3 {
        joined_at: Millis,
        withdrawn_at: Option<Millis>,
        last_deal: Option<Millis>,
        frequency: u64,
        spend: u64,
        cancels: u64,
        _failed: u64,
        _balance: Points,
    }
    let stats_key = |member: u64| {
        super::schema::KeyBuf::new(super::schema::REPORTS)
            .bytes(b"p")
            .u64(member)
            .done()
    };
    rewrite_table(store, ACCOUNT, |k, v| {
        if decode::<MemberRecord>(v).is_ok() {
            return Ok(None);
        }
        let account: Account = decode(v)?;
        let member = read_u64(k, 1);
        let stats = match store.get_val(&stats_key(member))? {
            Some(s) => {
                let s: StatsV3 = decode(&s)?;
                MemberStats {
                    joined_at: s.joined_at,
                    withdrawn_at: s.withdrawn_at,
                    last_deal: s.last_deal,
                    frequency: s.frequency,
                    spend: s.spend,
                    cancels: s.cancels,
                }
            }
            None => MemberStats {
                joined_at: (store.get_val(&key1(MEMBER, member))?)
                    .map(|m| decode::<Member>(&m))
                    .transpose()?
                    .map_or(0, |m| m.joined_at),
                ..MemberStats::default()
            },
        };
        Ok(Some(encode(&MemberRecord { account, stats })))
    })?;
    let from = vec![super::schema::REPORTS, b'p'];
    let to = super::tx::prefix_end(&from);
    loop {
        let mut set = WriteSet::default();
        for r in store.range(&from, &to).take(4096) {
            set.remove(&r?.0);
        }
        if set.is_empty() {
            return store.sync();
        }
        store.apply(set)?;
    }
}

/// Walks one table in key order and applies `f`'s new values (`None`: leave the entry),
/// in batches, so memory stays flat whatever the store's size.
fn rewrite_table(
    store: &Store,
    tag: u8,
    mut f: impl FnMut(&[u8], &[u8]) -> Result<Option<Vec<u8>>>,
) -> Result<()> {
    use super::store::WriteSet;
    let end = super::tx::prefix_end(&[tag]);
    let mut from = vec![tag];
    loop {
        let mut set = WriteSet::default();
        let mut last = None;
        for r in store.range(&from, &end).take(4096) {
            let (k, v) = r?;
            if let Some(new) = f(&k, &v)? {
                set.put(&k, &new);
            }
            last = Some(k.to_vec());
        }
        store.apply(set)?;
        match last {
            Some(mut k) => {
                k.push(0);
                from = k;
            }
            None => return store.sync(),
        }
    }
}
