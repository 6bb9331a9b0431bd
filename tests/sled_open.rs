//! sled's open, as vendored (items 28-30 of `vendor/sled/ONEPOINT.md`): the pages of the
//! snapshot read back at open go into the page table when they are first asked for, the
//! segment accountant is filled on a thread of its own while the open goes on, and the
//! log's segment headers are read by a few threads; the snapshot the page table installs
//! pages from is put back in compact form once written (item 40).
//! Both hold only if whatever touches a page or the log first, right after an open, gets
//! what the store holds: several readers and a writer that start at once, the writer
//! filling new segments and running the cleaner, session after session, each ending with
//! the store equal to a model and the next open seeing the same.

mod sled_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use sled_support::{config, contents, key, reopen};

/// The length of every value of key number `n` (each value is `len(n)` copies of the
/// round that wrote it), so a reader can tell a value that belongs to its key.
fn len(n: u64) -> usize {
    12 + (n % 70) as usize
}

/// Checks one entry read: its value is a value of its key, written by a round up to
/// `round`.
fn check_entry(k: &[u8], v: &[u8], round: u8) {
    let n = u64::from_be_bytes(k[1..9].try_into().unwrap());
    assert_eq!(v.len(), len(n), "value of {k:?}: {v:?}");
    assert!(v.iter().all(|b| *b == v[0] && *b <= round), "{k:?}: {v:?}");
}

/// Reads the store again and again until `stop`: forward and backward scans of all of it,
/// every key the session began with found, and point reads in a stride of its own.
fn read_until(
    db: &sled::Db,
    start: &BTreeMap<Vec<u8>, Vec<u8>>,
    round: u8,
    seed: u64,
    stop: &AtomicBool,
) {
    let keys: Vec<&Vec<u8>> = start.keys().collect();
    let scanned = |it: &mut dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>| {
        let seen: BTreeSet<Vec<u8>> = it
            .map(|r| {
                let (k, v) = r.unwrap();
                check_entry(&k, &v, round);
                k.to_vec()
            })
            .collect();
        let missing = keys.iter().filter(|k| !seen.contains(**k)).count();
        assert_eq!(
            missing, 0,
            "keys of the session's start not found by a scan"
        );
    };
    let mut pass = 0u64;
    while pass == 0 || !stop.load(Ordering::Relaxed) {
        match (pass + seed) % 3 {
            0 => scanned(&mut db.iter()),
            1 => scanned(&mut db.iter().rev()),
            _ => {
                let stride = 7_919 + 2 * seed as usize;
                for i in 0..keys.len() {
                    let k = keys[(i * stride) % keys.len()];
                    let v = db
                        .get(k)
                        .unwrap()
                        .unwrap_or_else(|| panic!("{k:?} not found"));
                    check_entry(k, &v, round);
                }
            }
        }
        pass += 1;
    }
}

/// Overwrites a third of the keys in `D` and appends new ones in `E`, in batches, with
/// the cleaner run between them, from the moment the store is open; the pages the
/// cleaner moved.
fn write_session(db: &sled::Db, model: &mut BTreeMap<Vec<u8>, Vec<u8>>, round: u8) -> usize {
    let mut moved = 0;
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(round);
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for b in 0..24u64 {
        let mut batch = sled::Batch::default();
        for _ in 0..400 {
            let n = next() % KEYS;
            let v = vec![round; len(n)];
            batch.insert(key(b'D', n), v.clone());
            model.insert(key(b'D', n), v);
        }
        for i in 0..100 {
            let n = u64::from(round) * 10_000 + b * 100 + i;
            let v = vec![round; len(n)];
            batch.insert(key(b'E', n), v.clone());
            model.insert(key(b'E', n), v);
        }
        db.apply_batch(batch).unwrap();
        if b % 4 == 3 {
            db.flush().unwrap();
            for _ in 0..20 {
                if !db.reclaim_step().unwrap() {
                    break;
                }
                moved += 1;
            }
        }
    }
    db.flush().unwrap();
    moved
}

/// Small segments, so that the store spans hundreds of them (sled reads each one's header
/// at open, on a thread per 64 of them, up to four).
const SEGMENT: u64 = 16 * 1024;

/// The keys the store starts with, in `D`.
const KEYS: u64 = 30_000;

#[test]
fn a_store_is_read_and_written_from_several_threads_the_moment_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let config = sled::Config::new()
        .path(dir.path().join("db"))
        .segment_size(SEGMENT as usize);
    let mut model = BTreeMap::new();
    {
        let db = config.open().unwrap();
        for chunk in (0..KEYS).collect::<Vec<_>>().chunks(1_000) {
            let mut batch = sled::Batch::default();
            for &n in chunk {
                let v = vec![0u8; len(n)];
                batch.insert(key(b'D', n), v.clone());
                model.insert(key(b'D', n), v);
            }
            db.apply_batch(batch).unwrap();
        }
        db.flush().unwrap();
        assert!(
            db.leaf_sizes().unwrap().len() > 150,
            "pages enough to be read in one by one: {}",
            db.leaf_sizes().unwrap().len()
        );
    }
    for round in 1..=4u8 {
        let db = reopen(&config);
        let start = model.clone();
        let stop = AtomicBool::new(false);
        let mut moved = 0;
        std::thread::scope(|s| {
            let readers: Vec<_> = (0..3u64)
                .map(|seed| {
                    let (db, start, stop) = (&db, &start, &stop);
                    s.spawn(move || read_until(db, start, round, seed, stop))
                })
                .collect();
            moved = write_session(&db, &mut model, round);
            stop.store(true, Ordering::Relaxed);
            for r in readers {
                r.join().expect("a reader failed");
            }
        });
        // The cleaner moves every page out of segments mostly garbage, which are then
        // reused: a segment accountant missing a page of a segment frees it with the
        // page still there, and the next open finds the store damaged. (Under load the
        // steps taken during the session may have moved them all already.)
        while db.reclaim_step().unwrap() {
            moved += 1;
        }
        assert!(
            moved > 0,
            "round {round}: the cleaner moved nothing in the session or after it"
        );
        assert_eq!(contents(&db), model, "round {round}, before closing");
        let segments = std::fs::metadata(dir.path().join("db").join("db"))
            .unwrap()
            .len()
            / SEGMENT;
        assert!(
            segments >= 128,
            "{segments} segments: the next open reads their headers on more than one thread"
        );
        // Rounds 2 and 4 end with a snapshot in place; 1 and 3 leave the next open a log
        // tail to replay.
        if round % 2 == 0 {
            db.finish_snapshot();
        }
        drop(db);
    }
    let db = reopen(&config);
    assert_eq!(contents(&db), model, "after the last reopen");
}

/// An open after writes advances the snapshot over the log's tail, and holds each page
/// state the tail set decoded in a map, about six times its serialized size (vendored
/// sled, item 40). The page table kept that snapshot for the store's life: 21.9 MB on a
/// 10M-deal store reopened under live traffic. Once the snapshot's writer has serialized
/// it, the page table reads the same snapshot back in compact form, and every page it
/// installs from there after is the one the tail left.
#[test]
fn the_snapshot_pages_are_installed_from_is_kept_compact_once_written() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), 64 << 20);
    let n = 60_000u64;
    let write = |db: &sled::Db, step: usize, tag: u8| {
        let keys: Vec<u64> = (0..n).step_by(step).collect();
        for chunk in keys.chunks(5_000) {
            let mut batch = sled::Batch::default();
            for &i in chunk {
                batch.insert(key(b'k', i), vec![tag; 1 + (i % 7) as usize]);
            }
            db.apply_batch(batch).unwrap();
        }
        db.flush().unwrap();
    };
    {
        let db = config.open().unwrap();
        write(&db, 1, 1);
    }
    // This open writes a snapshot of every page; the writes after it are the log's tail
    // of the next open, spread over most pages.
    {
        let db = reopen(&config);
        write(&db, 3, 2);
    }
    let db = reopen(&config);
    let mut decoded = db.snapshot_states_decoded();
    for _ in 0..250 {
        if decoded == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        decoded = db.snapshot_states_decoded();
    }
    assert_eq!(decoded, 0, "page states still decoded 5 s after the open");
    // Every page is installed from the compact snapshot: the tail's values where it wrote.
    let all = contents(&db);
    assert_eq!(all.len() as u64, n);
    for (i, (k, v)) in (0..n).zip(&all) {
        assert_eq!(k, &key(b'k', i));
        let tag = if i % 3 == 0 { 2 } else { 1 };
        assert_eq!(v, &vec![tag; 1 + (i % 7) as usize], "key {i}");
    }
}
