//! The deals' indexes held back from sled (`src/domain/store_delta.rs`) on a real store:
//! read from either end while rounds move them to sled, they are always the log's latest
//! state; a copy of the store's files taken in the middle of a round (what a crash
//! leaves) opens to the same state; so does a clean reopen, which applies no log again;
//! and a scan running while rounds move keys misses none and reads none twice.

use std::collections::BTreeSet;
use std::path::Path;

use onepoint::domain::schema::{DEAL, VIEW, key1, key2};
use onepoint::domain::store::{Store, StoreOptions, WriteSet};
use rand::{Rng, SeedableRng};

fn open(dir: &Path, round_keys: usize) -> Store {
    Store::open(
        dir,
        StoreOptions {
            delta_round_keys: round_keys,
            ..Default::default()
        },
    )
    .unwrap()
}

/// Logs record `seq` (durable), then applies it: what the write pipeline does.
fn write(store: &Store, seq: u64, set: &WriteSet) {
    let mut payload = Vec::new();
    set.encode(&mut payload);
    let mut buf = Vec::new();
    onepoint::domain::wal::encode_record(seq, &payload, &mut buf);
    store.log(seq, seq, &buf).unwrap();
    store.apply_logged_many(seq, &[set]).unwrap();
}

/// Every way a reader meets the table: whole, backwards, one member's range from both
/// ends at once, and key by key.
fn assert_reads(store: &Store, model: &BTreeSet<Vec<u8>>, at: &str) {
    let want: Vec<Vec<u8>> = model.iter().cloned().collect();
    let got: Vec<Vec<u8>> = (store.scan_prefix(&[VIEW]))
        .map(|r| r.unwrap().0.to_vec())
        .collect();
    assert_eq!(got, want, "{at}: the whole table");
    let mut back: Vec<Vec<u8>> = (store.scan_prefix(&[VIEW]).rev())
        .map(|r| r.unwrap().0.to_vec())
        .collect();
    back.reverse();
    assert_eq!(back, want, "{at}: backwards");
    for m in [0u64, 3, 7] {
        let want: Vec<Vec<u8>> = (model.iter())
            .filter(|k| k[1..9] == m.to_be_bytes())
            .cloned()
            .collect();
        let mut it = store.range(&key1(VIEW, m), &key1(VIEW, m + 1));
        let (mut lo, mut hi) = (Vec::new(), Vec::new());
        loop {
            let a = it.next().map(|r| r.unwrap().0.to_vec());
            let b = it.next_back().map(|r| r.unwrap().0.to_vec());
            if a.is_none() && b.is_none() {
                break;
            }
            lo.extend(a);
            hi.extend(b);
        }
        hi.reverse();
        lo.extend(hi);
        assert_eq!(lo, want, "{at}: member {m} from both ends");
    }
    for m in 0..10u64 {
        for d in 0..40u64 {
            let k = key2(VIEW, m, d);
            let got = store.get_val(&k).unwrap().is_some();
            assert_eq!(got, model.contains(&k), "{at}: get {m}/{d}");
        }
    }
}

/// The store's files as a crash would leave them now: sled flushed as far as it got,
/// the log as appended.
fn crash_copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() == "onepoint.lock" {
            continue;
        }
        if e.path().is_dir() {
            crash_copy(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn held_back_index_keys_read_as_the_log_wrote_them_through_rounds_crashes_and_reopens() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = open(&dir, 32);
    let mut model = BTreeSet::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mut fewer_held = false;
    for seq in 1..=400u64 {
        let mut set = WriteSet::default();
        for _ in 0..rng.random_range(1..8) {
            let k = key2(VIEW, rng.random_range(0..10), rng.random_range(0..40));
            if rng.random_bool(0.8) {
                set.put(&k, b"");
                model.insert(k);
            } else {
                set.remove(&k);
                model.remove(&k);
            }
        }
        set.put(&key1(DEAL, seq), b"a deal");
        write(&store, seq, &set);
        assert_reads(&store, &model, &format!("record {seq}"));
        // Rounds move keys to sled: the map holds fewer than were written.
        fewer_held |= store.delta_keys() < model.len() / 2 && store.delta_keys() > 0;
        if seq % 80 == 0 {
            // sled flushed and fsynced mid-round, then the files copied as they are.
            store.sync().unwrap();
            let copy = tmp.path().join(format!("crash-{seq}"));
            crash_copy(&dir, &copy);
            let reopened = open(&copy, 1 << 16);
            assert_reads(&reopened, &model, &format!("the copy at {seq}"));
            let deals = reopened.scan_prefix(&[DEAL]).count() as u64;
            assert_eq!(deals, seq, "every record's other writes too");
        }
    }
    assert!(fewer_held, "rounds moved keys to sled");
    drop(store);
    let store = open(&dir, 32);
    assert_eq!(
        store.delta_keys(),
        0,
        "a clean close leaves nothing to apply again"
    );
    assert_reads(&store, &model, "reopened");
}

/// Record `r` puts three keys of its own in `V` (member `r % 10`, deal `4r + i`); its
/// first key is removed again by record `r + REMOVED_AFTER`.
const REMOVED_AFTER: u64 = 50;

fn record_keys(r: u64) -> [Vec<u8>; 3] {
    [0, 1, 2].map(|i| key2(VIEW, r % 10, 4 * r + i))
}

/// What a key read back says of itself: the record that put it, and whether it is the
/// one a later record removes.
fn key_origin(k: &[u8]) -> (u64, bool) {
    let d = u64::from_be_bytes(k[9..17].try_into().unwrap());
    (d / 4, d % 4 == 0)
}

/// Readers scan the table while a writer applies records and rounds move the held keys
/// to sled in small chunks: every scan holds every key that was there for the whole scan
/// and nothing that never was (a key moving to sled between the held part and sled's
/// part would be missed, or read twice).
#[test]
fn scans_during_rounds_miss_no_key_and_read_none_twice() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&tmp.path().join("store"), 32));
    let applied = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|reader| {
            let (store, applied, done) = (store.clone(), applied.clone(), done.clone());
            std::thread::spawn(move || {
                let mut scans = 0u64;
                while !done.load(Ordering::Acquire) {
                    let before = applied.load(Ordering::Acquire);
                    let mut got: Vec<Vec<u8>> = if (scans + reader).is_multiple_of(2) {
                        (store.scan_prefix(&[VIEW]))
                            .map(|r| r.unwrap().0.to_vec())
                            .collect()
                    } else {
                        let mut v: Vec<Vec<u8>> = (store.scan_prefix(&[VIEW]).rev())
                            .map(|r| r.unwrap().0.to_vec())
                            .collect();
                        v.reverse();
                        v
                    };
                    // The record after the last counted may be applied, not yet counted.
                    let after = applied.load(Ordering::Acquire) + 1;
                    let n = got.len();
                    assert!(got.windows(2).all(|w| w[0] < w[1]), "scan {scans}: out of order or twice");
                    for k in &got {
                        let (r, removed_later) = key_origin(k);
                        assert!(r <= after, "scan {scans}: key of record {r}, at most {after} applied");
                        assert!(
                            !(removed_later && r + REMOVED_AFTER <= before),
                            "scan {scans}: key of record {r} read after its removal ({before} applied)"
                        );
                    }
                    let held: BTreeSet<Vec<u8>> = got.drain(..).collect();
                    for r in 1..=before {
                        for (i, k) in record_keys(r).into_iter().enumerate() {
                            let gone_at = (i == 0).then_some(r + REMOVED_AFTER);
                            if gone_at.is_none_or(|g| g > after) {
                                assert!(
                                    held.contains(&k),
                                    "scan {scans} ({n} keys): key {i} of record {r} missed ({before}..{after} applied)"
                                );
                            }
                        }
                    }
                    scans += 1;
                }
                scans
            })
        })
        .collect();
    for seq in 1..=1500u64 {
        let mut set = WriteSet::default();
        for k in record_keys(seq) {
            set.put(&k, b"");
        }
        if seq > REMOVED_AFTER {
            set.remove(&record_keys(seq - REMOVED_AFTER)[0]);
        }
        set.put(&key1(DEAL, seq), b"a deal");
        write(&store, seq, &set);
        applied.store(seq, Ordering::Release);
    }
    done.store(true, Ordering::Release);
    let scans: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(
        scans >= 20,
        "the readers scanned while the writer wrote ({scans} scans)"
    );
    assert!(store.delta_keys() < 3 * 1500, "rounds moved keys to sled");
}
