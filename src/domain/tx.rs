//! A write transaction of the group-commit writer: reads see the store, then what earlier
//! batches wrote that is logged but not yet applied to sled (`Pending`), then everything
//! written earlier in the same batch (read-your-writes); what each command overwrote is
//! kept until it is accepted, so that a refused command leaves nothing behind. Accepted
//! writes leave in chunks (`seal`), each one atomic `WriteSet`, one log record.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::FixedOffset;
use rustc_hash::FxHashMap;
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

/// A key and its entry in the overlay before a write (`None`: it had none).
type Undo = (Vec<u8>, Option<Option<Vec<u8>>>);

/// What the writer has sealed into log records that sled has not applied yet: the records
/// themselves (shared with the log and apply threads, not copied), and by key the record
/// that last wrote it. Records leave once sled has applied them (`prune`), so a
/// transaction reading through this and then sled sees every accepted write.
#[derive(Default)]
pub struct Pending {
    /// A key's hash (`key_hash`) to the sequence number of the last record that wrote a
    /// key of that hash: the key itself is not copied (a copy of every key written cost
    /// the writer a tenth of its time). Keys of one hash are told apart in the records
    /// (`get`). Entries of records already pruned stay until the map is swept (`prune`):
    /// such a number is below every record's, and a read finds no record for it.
    map: FxHashMap<u64, u64>,
    /// The records in sequence order.
    records: VecDeque<(u64, Arc<WriteSet>)>,
    /// The keys of `records`, summed (at least the map's live entries).
    keys: usize,
    /// The latest value the writer gave each key of the few it reads for nearly every
    /// command (`is_hot`), pending or applied: newer than or equal to what sled holds, as
    /// the writer is the only one writing while it runs. A read of one then skips sled's
    /// tree.
    hot: FxHashMap<Vec<u8>, Option<Vec<u8>>>,
}

/// A key's hash in `Pending::map`.
fn key_hash(key: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(key)
}

/// Entries the key map may hold beyond twice its live ones before a prune sweeps it.
const SWEEP_SLACK: usize = 4096;

/// At most this many keys are kept in `Pending::hot`; past it, it starts again empty.
const HOT_KEYS: usize = 65_536;

/// The keys a command reads nearly every time and few of which exist: merchants and their
/// stats and settlement totals (`R`, `S`, `Q`), the store's own records (`C`) and the
/// report counters by month, day and merchant (`Y`, not the per-deal flags `Y x`).
fn is_hot(key: &[u8]) -> bool {
    let Some(&tag) = key.first() else {
        return false;
    };
    match tag {
        schema::MERCHANT | schema::MERCHANT_STATS | schema::PENDING => true,
        schema::REPORTS => key.get(1) != Some(&super::reports::counters::FLAG),
        // The `C` records (meta, schema, zone, date mark).
        tag => tag == META[0],
    }
}

impl Pending {
    fn add(&mut self, seq: u64, set: Arc<WriteSet>) {
        for (k, v) in set.map.iter().filter(|(k, _)| is_hot(k)) {
            match self.hot.get_mut(k.as_slice()) {
                Some(held) => held.clone_from(v),
                None => {
                    if self.hot.len() >= HOT_KEYS {
                        self.hot.clear();
                    }
                    self.hot.insert(k.clone(), v.clone());
                }
            }
        }
        for k in set.map.keys() {
            self.map.insert(key_hash(k), seq);
        }
        self.keys += set.map.len();
        self.records.push_back((seq, set));
    }

    /// The value the latest pending record gives `key` (or, for a hot key, the latest
    /// the writer gave it): `Some(None)` if it removed it, `None` if no pending record
    /// wrote it (sled has the latest).
    fn get(&self, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        if is_hot(key)
            && let Some(v) = self.hot.get(key)
        {
            return Some(v);
        }
        let seq = *self.map.get(&key_hash(key))?;
        // Every record after `seq` wrote no key of this hash; the key's latest record is
        // `seq`'s, or (another key of its hash written since) an earlier one, or none.
        let end = match self.records.binary_search_by_key(&seq, |r| r.0) {
            Ok(at) => at + 1,
            // `seq` pruned: so is every record before it.
            Err(_) => return None,
        };
        (self.records.range(..end).rev()).find_map(|(_, set)| set.map.get(key))
    }

    /// Forgets the records sled has applied (`applied` and below). Their keys' entries
    /// are left in the map (a read sees no record for them) until they outnumber the live
    /// ones by `SWEEP_SLACK` over twice, when one pass drops them: a key written by every
    /// group (counters, merchant stats) keeps its entry, and each pruned key no longer
    /// costs a removal.
    pub fn prune(&mut self, applied: u64) {
        while self.records.front().is_some_and(|r| r.0 <= applied) {
            let (_, set) = self.records.pop_front().expect("a record");
            self.keys -= set.map.len();
        }
        if self.map.len() > 2 * self.keys + SWEEP_SLACK {
            let first = self.records.front().map_or(u64::MAX, |r| r.0);
            self.map.retain(|_, seq| *seq >= first);
        }
    }

    /// Forgets everything (the writer stopped: nothing pending will be applied).
    pub fn clear(&mut self) {
        self.map.clear();
        self.records.clear();
        self.keys = 0;
        self.hot.clear();
    }
}

pub struct Tx<'a> {
    store: &'a Store,
    pending: &'a mut Pending,
    /// Writes of the commands accepted in this batch, and of the command being applied.
    committed: Overlay,
    /// What the command being applied replaced in `committed`, in order: the key and its
    /// entry before (`None`: it had none), to put back if the command is refused.
    undo: Vec<Undo>,
    committed_meta: Meta,
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
            undo: Vec::new(),
            committed_meta: meta.clone(),
            meta,
            now,
        }
    }

    fn write(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        let before = self.committed.insert(key.clone(), value);
        self.undo.push((key, before));
    }

    pub fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.write(key, Some(encode(value)));
    }

    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.write(key, Some(value));
    }

    pub fn remove(&mut self, key: Vec<u8>) {
        self.write(key, None);
    }

    /// Appends an event at the next offset.
    pub fn emit(&mut self, body: EventBody) {
        self.meta.last_offset += 1;
        let ev = Event {
            offset: self.meta.last_offset,
            timestamp: self.now,
            body,
        };
        self.write(key1(EVENT, ev.offset), Some(ev.encode_stored()));
    }

    /// Distinct keys written by the accepted commands so far (call between commands).
    pub fn writes(&self) -> usize {
        self.committed.len()
    }

    /// Keeps the current command's writes.
    pub fn accept(&mut self) {
        self.undo.clear();
        self.committed_meta = self.meta.clone();
    }

    /// Drops the current command's writes.
    pub fn reject(&mut self) {
        while let Some((key, before)) = self.undo.pop() {
            match before {
                Some(v) => {
                    self.committed.insert(key, v);
                }
                None => {
                    self.committed.remove(&key);
                }
            }
        }
        self.meta = self.committed_meta.clone();
    }

    /// Seals the accepted writes so far, meta included, as log record `seq` (`None` when
    /// nothing was written); later reads see them through `Pending`. Call between commands.
    pub fn seal(&mut self, seq: u64) -> Option<(Arc<WriteSet>, Meta)> {
        self.reject();
        if self.committed.is_empty() {
            return None;
        }
        let mut map = std::mem::take(&mut self.committed);
        map.insert(META.to_vec(), Some(encode(&self.committed_meta)));
        let set = Arc::new(WriteSet { map });
        self.pending.add(seq, set.clone());
        Some((set, self.committed_meta.clone()))
    }
}

impl Reader for Tx<'_> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.committed.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.pending.get(key) {
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
        // Oldest first, so that later writes of a key win.
        let layers = (self.pending.records.iter().map(|(_, set)| &set.map))
            .chain(std::iter::once(&self.committed));
        for layer in layers {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::store::StoreOptions;

    fn zone() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }

    /// A new store in a temporary folder (kept while the first is), holding `entries`.
    fn store_holding(entries: &[(&[u8], &[u8])]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let mut set = WriteSet::default();
        for (k, v) in entries {
            set.put(k, v);
        }
        store.commit(set).unwrap();
        (dir, store)
    }

    fn read(tx: &Tx, key: &[u8]) -> Option<Vec<u8>> {
        tx.get_raw(key).unwrap()
    }

    /// A refused command leaves what accepted commands wrote, overwrote and removed as they
    /// left it, in reads and in the sealed record; an accepted one keeps all of its writes.
    #[test]
    fn a_refused_command_is_undone_and_an_accepted_one_kept() {
        let (_dir, store) = store_holding(&[(b"k-stored", b"0")]);
        let mut pending = Pending::default();
        let mut tx = Tx::new(&store, &mut pending, Meta::default(), 0, zone());
        tx.put_raw(b"k-a".to_vec(), b"1".to_vec());
        tx.remove(b"k-stored".to_vec());
        tx.accept();
        // Refused: overwrites, removes, writes twice, writes anew.
        tx.put_raw(b"k-a".to_vec(), b"2".to_vec());
        tx.put_raw(b"k-a".to_vec(), b"3".to_vec());
        tx.put_raw(b"k-stored".to_vec(), b"4".to_vec());
        tx.put_raw(b"k-new".to_vec(), b"5".to_vec());
        tx.remove(b"k-a".to_vec());
        tx.meta.last_deal = 9;
        assert_eq!(read(&tx, b"k-new"), Some(b"5".to_vec()), "read-your-writes");
        tx.reject();
        assert_eq!(read(&tx, b"k-a"), Some(b"1".to_vec()));
        assert_eq!(read(&tx, b"k-stored"), None);
        assert_eq!(read(&tx, b"k-new"), None);
        assert_eq!(tx.meta.last_deal, 0);
        // Accepted: kept, over the earlier command's writes.
        tx.put_raw(b"k-a".to_vec(), b"6".to_vec());
        tx.put_raw(b"k-b".to_vec(), b"7".to_vec());
        tx.accept();
        // Sealing drops a command left open (not accepted).
        tx.put_raw(b"k-open".to_vec(), b"8".to_vec());
        let (set, _) = tx.seal(1).unwrap();
        let got: Vec<(&[u8], Option<&[u8]>)> = (set.map.iter())
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (&b"Cmeta"[..], Some(&encode(&Meta::default())[..])),
                (b"k-a", Some(b"6")),
                (b"k-b", Some(b"7")),
                (b"k-stored", None),
            ]
        );
    }

    /// Reads see sealed records until sled has applied them, the latest record of a key
    /// winning, in point reads and ranges alike; pruning forgets only what was applied.
    #[test]
    fn sealed_records_are_read_newest_first_until_applied() {
        let (_dir, store) = store_holding(&[(b"k-1", b"sled"), (b"k-2", b"sled")]);
        let mut pending = Pending::default();
        let seal = |pending: &mut Pending, seq: u64, writes: &[(&[u8], Option<&[u8]>)]| {
            let mut tx = Tx::new(&store, pending, Meta::default(), 0, zone());
            for (k, v) in writes {
                match v {
                    Some(v) => tx.put_raw(k.to_vec(), v.to_vec()),
                    None => tx.remove(k.to_vec()),
                }
            }
            tx.accept();
            tx.seal(seq).unwrap().0
        };
        seal(
            &mut pending,
            1,
            &[(b"k-1", Some(b"one")), (b"k-3", Some(b"one"))],
        );
        seal(&mut pending, 2, &[(b"k-1", Some(b"two")), (b"k-2", None)]);
        seal(&mut pending, 3, &[(b"k-4", Some(b"three"))]);
        let ranged = |pending: &mut Pending| {
            let tx = Tx::new(&store, pending, Meta::default(), 0, zone());
            let got = tx.range_raw(b"k-", b"k-~").unwrap();
            let point: Vec<Option<Vec<u8>>> = ["k-1", "k-2", "k-3", "k-4"]
                .iter()
                .map(|k| read(&tx, k.as_bytes()))
                .collect();
            let got: Vec<(String, String)> = (got.into_iter())
                .map(|(k, v)| (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap()))
                .collect();
            (got, point)
        };
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        let (got, point) = ranged(&mut pending);
        assert_eq!(
            got,
            vec![s("k-1", "two"), s("k-3", "one"), s("k-4", "three")]
        );
        assert_eq!(
            point,
            vec![
                Some(b"two".to_vec()),
                None,
                Some(b"one".to_vec()),
                Some(b"three".to_vec())
            ]
        );
        // Record 1 applied (not 2 and 3): sled has k-1 = one, k-3 = one.
        let mut set = WriteSet::default();
        set.put(b"k-1", b"one");
        set.put(b"k-3", b"one");
        store.commit(set).unwrap();
        pending.prune(1);
        assert_eq!(pending.records.len(), 2);
        assert_eq!(pending.get(b"k-3"), None, "record 1 left: sled answers");
        assert_eq!(pending.get(b"k-1"), Some(&Some(b"two".to_vec())));
        assert_eq!(ranged(&mut pending).0, got, "the same after the prune");
        pending.prune(3);
        assert!(pending.records.is_empty());
        for k in ["k-1", "k-2", "k-3", "k-4"] {
            assert_eq!(pending.get(k.as_bytes()), None, "{k}: nothing pending");
        }
    }

    /// Pruned records' keys are swept from the key map once they outnumber the live ones,
    /// and until then answer nothing; a key written again after its record was pruned is
    /// found in the new record.
    #[test]
    fn pruned_keys_answer_nothing_and_are_swept() {
        let mut pending = Pending::default();
        let record = |seq: u64, keys: std::ops::Range<u64>| {
            let mut set = WriteSet::default();
            for k in keys {
                set.put(format!("k-{k}").as_bytes(), format!("{seq}").as_bytes());
            }
            set.put(b"hot", format!("{seq}").as_bytes());
            Arc::new(set)
        };
        for seq in 1..=100u64 {
            pending.add(seq, record(seq, seq * 100..seq * 100 + 100));
            pending.prune(seq.saturating_sub(2));
            assert!(
                pending.map.len() <= 2 * pending.keys + SWEEP_SLACK,
                "record {seq}: {} entries for {} live keys",
                pending.map.len(),
                pending.keys
            );
        }
        assert_eq!(pending.records.len(), 2);
        assert!(
            pending.map.len() < 100 * 100,
            "swept: {}",
            pending.map.len()
        );
        assert_eq!(pending.get(b"k-150"), None, "record 1 was pruned");
        assert_eq!(pending.get(b"k-9950"), Some(&Some(b"99".to_vec())));
        assert_eq!(pending.get(b"hot"), Some(&Some(b"100".to_vec())));
        // A key of a pruned record, written again.
        pending.add(101, record(101, 150..151));
        assert_eq!(pending.get(b"k-150"), Some(&Some(b"101".to_vec())));
    }

    /// The keys nearly every command reads (merchants, their stats, the counters by month)
    /// answer the writer's latest value after their record was applied and pruned, so the
    /// read skips sled; other keys (accounts, deals, the per-deal flags) then answer
    /// nothing and are read from sled. `clear` forgets them, and they are bounded.
    #[test]
    fn hot_keys_answer_the_writers_latest_value_after_their_record_is_pruned() {
        let mut pending = Pending::default();
        let merchant_stats = key1(schema::MERCHANT_STATS, 7);
        let month = super::super::reports::counters::month_key(crate::domain::calendar::Month {
            year: 2026,
            month: 11,
        });
        let flag = [&[schema::REPORTS, b'x'][..], &[0; 16]].concat();
        let account = key1(schema::ACCOUNT, 7);
        for seq in 1..=3u64 {
            let mut set = WriteSet::default();
            for k in [&merchant_stats, &month, &flag, &account] {
                set.put(k, format!("{seq}").as_bytes());
            }
            pending.add(seq, Arc::new(set));
        }
        pending.prune(3);
        assert!(pending.records.is_empty());
        assert_eq!(pending.get(&merchant_stats), Some(&Some(b"3".to_vec())));
        assert_eq!(pending.get(&month), Some(&Some(b"3".to_vec())));
        assert_eq!(pending.get(&flag), None, "a per-deal flag is not kept");
        assert_eq!(pending.get(&account), None, "an account is read from sled");
        // A removal is kept as one.
        let mut set = WriteSet::default();
        set.remove(&merchant_stats);
        pending.add(4, Arc::new(set));
        pending.prune(4);
        assert_eq!(pending.get(&merchant_stats), Some(&None));
        pending.clear();
        assert_eq!(pending.get(&month), None, "forgotten with the rest");
        // Bounded: past HOT_KEYS distinct keys it starts again.
        for seq in 0..=HOT_KEYS as u64 {
            let mut set = WriteSet::default();
            set.put(&key1(schema::MERCHANT, seq), b"m");
            pending.add(10 + seq, Arc::new(set));
            pending.prune(10 + seq);
        }
        assert!(pending.hot.len() <= HOT_KEYS, "{} keys", pending.hot.len());
        assert_eq!(pending.get(&key1(schema::MERCHANT, 0)), None);
        assert_eq!(
            pending.get(&key1(schema::MERCHANT, HOT_KEYS as u64)),
            Some(&Some(b"m".to_vec()))
        );
    }

    /// Keys are found by their hash: a key whose hash a later record's key shares (as if
    /// the two collided) is found in its own, earlier, record, and a key no record wrote
    /// answers nothing though its hash is in the map.
    #[test]
    fn a_key_sharing_its_hash_with_a_later_write_is_found_in_its_own_record() {
        let mut pending = Pending::default();
        for (seq, k) in [(1u64, &b"k-1"[..]), (2, b"k-2")] {
            let mut set = WriteSet::default();
            set.put(k, format!("{seq}").as_bytes());
            pending.add(seq, Arc::new(set));
        }
        // Record 2 wrote a key of k-1's hash, and of k-9's (which no record wrote).
        pending.map.insert(key_hash(b"k-1"), 2);
        pending.map.insert(key_hash(b"k-9"), 2);
        assert_eq!(pending.get(b"k-1"), Some(&Some(b"1".to_vec())));
        assert_eq!(pending.get(b"k-2"), Some(&Some(b"2".to_vec())));
        assert_eq!(pending.get(b"k-9"), None);
        // Record 1 applied: k-1 is sled's, though its hash points at record 2.
        pending.prune(1);
        assert_eq!(pending.get(b"k-1"), None);
    }

    /// A record is found by its number even where the numbers skip (the writer never
    /// skips one, but a lookup must not answer from the wrong record if it did).
    #[test]
    fn pending_records_are_found_by_number_across_a_gap() {
        let mut pending = Pending::default();
        for (seq, v) in [(5u64, b"five"), (9, b"nine")] {
            let mut set = WriteSet::default();
            set.put(format!("k-{seq}").as_bytes(), v);
            set.put(b"k-both", v);
            pending.add(seq, Arc::new(set));
        }
        assert_eq!(pending.get(b"k-5"), Some(&Some(b"five".to_vec())));
        assert_eq!(pending.get(b"k-9"), Some(&Some(b"nine".to_vec())));
        assert_eq!(pending.get(b"k-both"), Some(&Some(b"nine".to_vec())));
        assert_eq!(pending.get(b"k-6"), None);
        pending.prune(5);
        assert_eq!(pending.get(b"k-5"), None);
        assert_eq!(pending.get(b"k-both"), Some(&Some(b"nine".to_vec())));
    }
}
