//! A write transaction of the group-commit writer: reads see the store, then what earlier
//! batches wrote that is logged but not yet applied to sled (`Pending`), then everything
//! written earlier in the same batch (read-your-writes); each command's writes are staged
//! apart so that a refused command leaves nothing behind. Accepted writes leave in chunks
//! (`seal`), each one atomic `WriteSet`, one log record.

use std::collections::{BTreeMap, VecDeque};

use chrono::FixedOffset;
use serde::{Serialize, de::DeserializeOwned};

use super::calendar::Millis;
use super::error::Result;
use super::event::{Event, EventBody};
use super::schema::{self, EVENT, META, Meta, decode, encode, key1};
use super::store::{Store, WriteSet};

/// Read access shared by the store (for queries) and a transaction (for the writer).
pub trait Reader {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Entries with `from <= key < to`, ascending, fully collected.
    fn range_raw(&self, from: &[u8], to: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;

    fn get<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>> {
        match self.get_raw(key)? {
            Some(b) => decode(&b).map(Some),
            None => Ok(None),
        }
    }
}

impl Reader for Store {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.get_val(key)?.map(|v| v.to_vec()))
    }
    fn range_raw(&self, from: &[u8], to: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.range(from, to)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .collect()
    }
}

type Overlay = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// What the writer has sealed into log records that sled has not applied yet, by key, with
/// the record that last wrote each key. Entries leave once sled has applied their record
/// (`prune`), so a transaction reading through this and then sled sees every accepted write.
#[derive(Default)]
pub struct Pending {
    map: BTreeMap<Vec<u8>, (u64, Option<Vec<u8>>)>,
    records: VecDeque<(u64, Vec<Vec<u8>>)>,
}

impl Pending {
    fn add(&mut self, seq: u64, set: &WriteSet) {
        let mut keys = Vec::with_capacity(set.map.len());
        for (k, v) in &set.map {
            self.map.insert(k.clone(), (seq, v.clone()));
            keys.push(k.clone());
        }
        self.records.push_back((seq, keys));
    }

    /// Forgets the records sled has applied (`applied` and below).
    pub fn prune(&mut self, applied: u64) {
        while self.records.front().is_some_and(|r| r.0 <= applied) {
            let (seq, keys) = self.records.pop_front().expect("a record");
            for k in keys {
                if self.map.get(&k).is_some_and(|e| e.0 == seq) {
                    self.map.remove(&k);
                }
            }
        }
    }

    /// Forgets everything (the writer stopped: nothing pending will be applied).
    pub fn clear(&mut self) {
        self.map.clear();
        self.records.clear();
    }
}

pub struct Tx<'a> {
    store: &'a Store,
    pending: &'a mut Pending,
    /// Writes of commands already accepted in this batch.
    committed: Overlay,
    committed_meta: Meta,
    /// Writes of the command being applied.
    staged: Overlay,
    pub meta: Meta,
    pub now: Millis,
    /// The business time zone (months of the indexes).
    pub zone: FixedOffset,
}

impl<'a> Tx<'a> {
    pub fn new(
        store: &'a Store,
        pending: &'a mut Pending,
        meta: Meta,
        now: Millis,
        zone: FixedOffset,
    ) -> Tx<'a> {
        Tx {
            zone,
            store,
            pending,
            committed: Overlay::new(),
            committed_meta: meta.clone(),
            staged: Overlay::new(),
            meta,
            now,
        }
    }

    pub fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.staged.insert(key, Some(encode(value)));
    }

    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.staged.insert(key, Some(value));
    }

    pub fn remove(&mut self, key: Vec<u8>) {
        self.staged.insert(key, None);
    }

    /// Appends an event at the next offset.
    pub fn emit(&mut self, body: EventBody) {
        self.meta.last_offset += 1;
        let ev = Event {
            offset: self.meta.last_offset,
            timestamp: self.now,
            body,
        };
        self.staged
            .insert(key1(EVENT, ev.offset), Some(ev.encode_stored()));
    }

    /// Distinct keys written by the accepted commands so far.
    pub fn writes(&self) -> usize {
        self.committed.len()
    }

    /// Keeps the current command's writes.
    pub fn accept(&mut self) {
        let staged = std::mem::take(&mut self.staged);
        self.committed.extend(staged);
        self.committed_meta = self.meta.clone();
    }

    /// Drops the current command's writes.
    pub fn reject(&mut self) {
        self.staged.clear();
        self.meta = self.committed_meta.clone();
    }

    /// Seals the accepted writes so far, meta included, as log record `seq` (`None` when
    /// nothing was written); later reads see them through `Pending`. Call between commands.
    pub fn seal(&mut self, seq: u64) -> Option<(WriteSet, Meta)> {
        self.reject();
        if self.committed.is_empty() {
            return None;
        }
        let mut map = std::mem::take(&mut self.committed);
        map.insert(META.to_vec(), Some(encode(&self.committed_meta)));
        let set = WriteSet { map };
        self.pending.add(seq, &set);
        Some((set, self.committed_meta.clone()))
    }
}

impl Reader for Tx<'_> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.staged.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.committed.get(key) {
            return Ok(v.clone());
        }
        if let Some((_, v)) = self.pending.map.get(key) {
            return Ok(v.clone());
        }
        // Unprotected: the writer never waits for the apply thread (see `Pending`).
        Ok(self.store.get_val_unprotected(key)?.map(|v| v.to_vec()))
    }

    fn range_raw(&self, from: &[u8], to: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut merged = BTreeMap::new();
        for r in self.store.range_unprotected(from, to) {
            let (k, v) = r?;
            merged.insert(k.to_vec(), v.to_vec());
        }
        for (k, (_, v)) in self.pending.map.range(from.to_vec()..to.to_vec()) {
            match v {
                Some(v) => {
                    merged.insert(k.clone(), v.clone());
                }
                None => {
                    merged.remove(k);
                }
            }
        }
        for layer in [&self.committed, &self.staged] {
            for (k, v) in layer.range(from.to_vec()..to.to_vec()) {
                match v {
                    Some(v) => {
                        merged.insert(k.clone(), v.clone());
                    }
                    None => {
                        merged.remove(k);
                    }
                }
            }
        }
        Ok(merged.into_iter().collect())
    }
}

/// Reads the meta record (zeroes for a new store).
pub fn load_meta(store: &Store) -> Result<Meta> {
    Ok(store.get::<Meta>(schema::META)?.unwrap_or_default())
}

/// The exclusive end of a prefix range: the prefix with its last byte incremented.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}
