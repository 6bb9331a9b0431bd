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
/// as keys only. Each step is safe to run again if a crash interrupts it (the version is
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
