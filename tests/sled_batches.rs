//! The vendored sled's batches (`vendor/sled/ONEPOINT.md`): a batch's writes that land in
//! one leaf are applied to one copy of it and written as one replace of the page. Checked
//! against a model map: appends (as deal ids), scattered updates (as accounts), deletes,
//! no-op writes and keys written again, values on both sides of the 38 bytes an `IVec`
//! keeps inline, after every batch and after a reopen. Fewer writes than make a run are
//! linked one by one from the view of the leaf the run's search found; a batch of 256
//! writes or more is applied on two threads, half of the key range each. Every other batch
//! is handed over already sorted (`Tree::apply_sorted`, as the store does), half of those
//! with a side task run beside the batch (`apply_sorted_with`), once each; the upper
//! halves go to one thread kept for the process. And a leaf
//! written past its end splits near its end, so ascending keys fill their leaves; those
//! of a table given bigger leaves (`Config::leaf_entries`) fill those, the others 64. The
//! writer's reads do not wait while a batch is applied.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};

mod sled_support;
use sled_support::{contents, key, reopen};

#[test]
fn batches_with_runs_in_one_leaf_hold_what_a_map_holds_also_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = sled::Config::new().path(dir.path().join("db"));
    let db = config.open().unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut next_append = 0u64;
    // Batches of 256 writes or more, which sled applies on two threads, half the key
    // range each (the halves meet inside a leaf at times).
    let mut parallel = 0;
    // What the store does beside each sorted batch (`Tree::apply_sorted_with`).
    let mut sides = 0;
    for round in 0..300 {
        let mut writes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        // Appends: long runs into the rightmost leaf, more than a leaf holds at times.
        for _ in 0..rng.random_range(0..200) {
            next_append += 1;
            writes.insert(
                key(b'D', next_append),
                Some(next_append.to_le_bytes().to_vec()),
            );
        }
        // Scattered updates and deletes over a small space: several land in one leaf.
        for _ in 0..rng.random_range(0..300) {
            let k = key(b'A', rng.random_range(0..3_000));
            let v =
                (rng.random_range(0..4) > 0).then(|| vec![round as u8; rng.random_range(0..48)]);
            writes.insert(k, v);
        }
        // Deletes of appended keys, dense and sparse.
        if next_append > 0 {
            let from = rng.random_range(0..next_append);
            for n in from..(from + rng.random_range(0..80)).min(next_append) {
                if rng.random_range(0..3) > 0 {
                    writes.insert(key(b'D', n), None);
                }
            }
        }
        // Rewrites with the value already held (no-ops).
        let held: Vec<(Vec<u8>, Vec<u8>)> = model
            .iter()
            .skip(rng.random_range(0..model.len().max(1)))
            .take(20)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in held {
            writes.entry(k).or_insert(Some(v));
        }
        let mut batch = sled::Batch::default();
        for (k, v) in &writes {
            match v {
                Some(v) => batch.insert(k.clone(), v.clone()),
                None => batch.remove(k.clone()),
            }
        }
        if writes.len() >= 256 {
            parallel += 1;
        }
        if round % 2 == 0 {
            db.apply_batch(batch).unwrap();
        } else {
            // The same writes handed over sorted (`Tree::apply_sorted`, as the store does).
            let sorted = (writes.iter())
                .map(|(k, v)| {
                    (
                        sled::IVec::from(k.as_slice()),
                        v.as_deref().map(sled::IVec::from),
                    )
                })
                .collect();
            if round % 4 == 1 {
                db.apply_sorted(sorted).unwrap();
            } else {
                db.apply_sorted_with(sorted, || sides += 1).unwrap();
            }
        }
        for (k, v) in writes {
            match v {
                Some(v) => model.insert(k, v),
                None => model.remove(&k),
            };
        }
        if round % 25 == 0 {
            assert_eq!(contents(&db), model, "after batch {round}");
        }
    }
    assert_eq!(contents(&db), model);
    db.flush().unwrap();
    drop(db);
    let db = reopen(&config);
    assert_eq!(contents(&db), model, "after a reopen");
    assert!(model.len() > 10_000, "{} keys", model.len());
    assert!(parallel > 100, "{parallel} batches of 256 writes or more");
    assert_eq!(sides, 75, "the side task of each of the 75 batches, once");
    // The upper halves went to one thread, kept for the process (none is left over when
    // each batch starts and joins one of its own).
    let helpers = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter(|t| {
            let comm = t.as_ref().unwrap().path().join("comm");
            std::fs::read_to_string(comm).is_ok_and(|c| c.trim() == "sled-apply")
        })
        .count();
    assert_eq!(helpers, 1, "threads applying upper halves");
}

fn mean(sizes: &[usize]) -> f64 {
    sizes.iter().sum::<usize>() as f64 / sizes.len() as f64
}

fn mean_leaf(db: &sled::Db) -> f64 {
    mean(&db.leaf_sizes().unwrap())
}

#[test]
fn keys_written_in_ascending_order_fill_their_leaves_and_scattered_ones_split_in_the_middle() {
    let dir = tempfile::tempdir().unwrap();
    let config = sled::Config::new().path(dir.path().join("db"));
    let db = config.open().unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    // Two ascending tables written side by side (as deals and their events), one key at a
    // time and in batches, with reads between.
    for n in 0..12_000u64 {
        let v = n.to_le_bytes().to_vec();
        db.insert(key(b'D', n), v.clone()).unwrap();
        model.insert(key(b'D', n), v.clone());
        let mut batch = sled::Batch::default();
        for e in 0..2 {
            batch.insert(key(b'E', 2 * n + e), v.clone());
            model.insert(key(b'E', 2 * n + e), v.clone());
        }
        db.apply_batch(batch).unwrap();
        if n % 97 == 0 {
            assert_eq!(
                db.get(key(b'D', n / 2)).unwrap().unwrap(),
                (n / 2).to_le_bytes()
            );
        }
    }
    let ascending = mean_leaf(&db);
    eprintln!("ascending: {ascending:.1} entries per leaf");
    // Splitting in the middle leaves them at about 33 (of 64); near the end, 48 or more.
    assert!(ascending >= 45.0, "{ascending:.1} entries per leaf");
    assert_eq!(contents(&db), model);

    // Scattered keys (as accounts) still split in the middle: no leaf is left overfull, and
    // they are about two thirds full, as a B-tree's random inserts leave them.
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let scattered = sled::Config::new()
        .path(dir.path().join("scattered"))
        .open()
        .unwrap();
    for _ in 0..30_000 {
        let k = key(b'A', rng.random_range(0..1_000_000_000));
        scattered.insert(k, vec![1u8; 8]).unwrap();
    }
    let random = mean_leaf(&scattered);
    eprintln!("scattered: {random:.1} entries per leaf");
    assert!(
        (36.0..50.0).contains(&random),
        "{random:.1} entries per leaf"
    );

    db.flush().unwrap();
    drop(db);
    let db = reopen(&config);
    assert_eq!(contents(&db), model, "after a reopen");
}

/// Entries per leaf of the keys starting with `table`, in a tree of whole tables
/// (`leaf_sizes` is left to right, so the leaves are told apart by the count of keys
/// before them); a leaf that holds keys of two tables is left out.
fn table_leaves(db: &sled::Db, table: u8) -> Vec<usize> {
    let firsts: Vec<u8> = db.iter().keys().map(|k| k.unwrap()[0]).collect();
    let mut at = 0;
    let mut out = Vec::new();
    for size in db.leaf_sizes().unwrap() {
        let keys = &firsts[at..at + size];
        if !keys.is_empty() && keys.iter().all(|b| *b == table) {
            out.push(size);
        }
        at += size;
    }
    assert_eq!(at, firsts.len(), "the leaves hold every key");
    out
}

#[test]
fn a_table_given_leaves_of_256_fills_them_and_the_others_keep_64() {
    let dir = tempfile::tempdir().unwrap();
    let config = sled::Config::new()
        .path(dir.path().join("db"))
        .leaf_entries(b'D', 256);
    let db = config.open().unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    // As the store writes deals and their events: batches of ascending keys in two
    // tables side by side, the first named big.
    for b in 0..200u64 {
        let mut batch = sled::Batch::default();
        for i in 0..60 {
            let n = b * 60 + i;
            let v = n.to_le_bytes().to_vec();
            for (k, v) in [
                (key(b'D', n), v.clone()),
                (key(b'E', 2 * n), v.clone()),
                (key(b'E', 2 * n + 1), v),
            ] {
                batch.insert(k.clone(), v.clone());
                model.insert(k, v);
            }
        }
        db.apply_batch(batch).unwrap();
    }
    let big = table_leaves(&db, b'D');
    let small = table_leaves(&db, b'E');
    eprintln!(
        "big: {} leaves, {:.1} entries each; others: {} leaves, {:.1} each",
        big.len(),
        mean(&big),
        small.len(),
        mean(&small)
    );
    // Split near their end above 256: about 241 each (64-entry leaves would hold ~49).
    assert!(
        mean(&big) >= 200.0,
        "{:.1} entries per big leaf",
        mean(&big)
    );
    assert!(big.iter().all(|s| *s <= 257), "{big:?}");
    assert!(small.iter().all(|s| *s <= 65), "{small:?}");
    assert!(mean(&small) >= 45.0, "{:.1}", mean(&small));
    assert_eq!(contents(&db), model);
    for n in (0..12_000u64).step_by(37) {
        assert_eq!(db.get(key(b'D', n)).unwrap().unwrap(), n.to_le_bytes());
    }
    db.flush().unwrap();
    drop(db);
    let db = reopen(&config);
    assert_eq!(contents(&db), model, "after a reopen");
    assert_eq!(
        table_leaves(&db, b'D'),
        big,
        "the leaves are kept as written"
    );
}

/// The writer's reads (`Tree::get_unprotected`, `Iter::unprotected`) go on while another
/// thread holds the lock that makes a batch atomic to readers; a plain read waits for it.
/// A transaction holds that lock while its closure runs, so one that blocks in its closure
/// holds it for as long as the test needs (the lock is the process's, as sled's is).
#[test]
fn an_unprotected_read_goes_on_while_a_batch_holds_readers_out() {
    use std::sync::mpsc;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new()
        .path(dir.path().join("db"))
        .open()
        .unwrap();
    for n in 0..100 {
        db.insert(key(b'A', n), n.to_be_bytes().to_vec()).unwrap();
    }
    let (entered, in_tx) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        let holder = db.clone();
        s.spawn(move || {
            holder
                .transaction(|_| {
                    entered.send(()).unwrap();
                    released.recv_timeout(Duration::from_secs(30)).unwrap();
                    Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
                })
                .unwrap();
        });
        in_tx.recv().unwrap();

        let (plain_tx, plain) = mpsc::channel();
        let reader = db.clone();
        s.spawn(move || plain_tx.send(reader.get(key(b'A', 5)).unwrap()).unwrap());
        let (quick_tx, quick) = mpsc::channel();
        let reader = db.clone();
        s.spawn(move || {
            let one = reader.get_unprotected(key(b'A', 7)).unwrap();
            let all: Vec<_> = (reader.range(key(b'A', 10)..key(b'A', 20)).unprotected())
                .map(|r| r.unwrap().1.to_vec())
                .collect();
            quick_tx.send((one, all)).unwrap();
        });
        let (one, all) = quick
            .recv_timeout(Duration::from_secs(10))
            .expect("the unprotected reads answered while the lock was held");
        assert_eq!(one.unwrap().to_vec(), 7u64.to_be_bytes().to_vec());
        let want: Vec<Vec<u8>> = (10u64..20).map(|n| n.to_be_bytes().to_vec()).collect();
        assert_eq!(all, want);
        // The lock is held: the plain read cannot have answered.
        assert!(plain.recv_timeout(Duration::from_millis(300)).is_err());
        release.send(()).unwrap();
        let got = plain.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(got.unwrap().to_vec(), 5u64.to_be_bytes().to_vec());
    });
}

/// Where a big batch is cut for the two threads that apply it (`sled::chunk_ends`): at
/// least 32 writes a chunk, and never between keys that differ only in their last byte,
/// so the ids a table appends (256 to a leaf) stay in one chunk, applied to one copy of
/// their leaf.
#[test]
fn a_batch_is_cut_into_chunks_that_keep_appended_ids_together() {
    let writes = |keys: Vec<Vec<u8>>| -> Vec<(sled::IVec, Option<sled::IVec>)> {
        keys.into_iter()
            .map(|k| (sled::IVec::from(k), Some(sled::IVec::from(&b"v"[..]))))
            .collect()
    };
    // Ids 0..300 appended: cut only where the id passes 255.
    let appended = writes((0..300).map(|n| key(b'D', n)).collect());
    assert_eq!(sled::chunk_ends(&appended), vec![256, 300]);
    // Ids 100..180 are fewer than a chunk: one.
    let few = writes((100..180).map(|n| key(b'D', n)).collect());
    assert_eq!(sled::chunk_ends(&few), vec![80]);
    // Scattered members (1,000 apart): a chunk every 32 writes.
    let scattered = writes((0..100).map(|n| key(b'A', n * 1_000)).collect());
    assert_eq!(sled::chunk_ends(&scattered), vec![32, 64, 96, 100]);
    // Both in one batch: the last members' chunk, too small to end before them, takes the
    // appended ids whole.
    let mut both: Vec<Vec<u8>> = (0..40).map(|n| key(b'A', n * 1_000)).collect();
    both.extend((0..200).map(|n| key(b'D', n)));
    assert_eq!(sled::chunk_ends(&writes(both)), vec![32, 240]);
    // Longer keys of small ids (merchant, deal), as the deals-by-merchant index: cut
    // between merchants, never inside one merchant's neighbouring deals.
    let by_merchant = writes(
        (0..40u64)
            .flat_map(|m| {
                (0..2u64).map(move |d| [key(b'X', m), (1000 + d).to_be_bytes().to_vec()].concat())
            })
            .collect(),
    );
    assert_eq!(sled::chunk_ends(&by_merchant), vec![32, 64, 80]);
    assert_eq!(sled::chunk_ends(&[]), vec![0]);
}

/// Opening lists the snapshot's free pages and installs the others in the page table as
/// they are first asked for (vendored items 23 and 28): a store of more than two
/// thousand pages, many of them freed by merges, reads back whole, and the pages it then allocates (the
/// freed ones first) leave every record in place, also after more reopens, which keep the
/// snapshot's page states as read, each decoded when asked for (item 31), with what the
/// log's tail changed laid over them and copied into the next snapshot.
#[test]
fn a_store_of_many_pages_opens_whole_and_reuses_its_freed_pages() {
    let dir = tempfile::tempdir().unwrap();
    let config = sled::Config::new().path(dir.path().join("db"));
    let db = config.open().unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    let mut write = |db: &sled::Db, model: &mut BTreeMap<Vec<u8>, Vec<u8>>, keys: Vec<u64>| {
        for chunk in keys.chunks(1_000) {
            let mut batch = sled::Batch::default();
            for &n in chunk {
                let v = n.to_le_bytes().repeat(rng.random_range(1..4));
                batch.insert(key(b'M', n), v.clone());
                model.insert(key(b'M', n), v);
            }
            db.apply_batch(batch).unwrap();
        }
    };
    // Scattered keys split leaves in the middle: about 41 entries each.
    let mut keys: Vec<u64> = (0..120_000).map(|n| n * 7_919 % 1_000_003).collect();
    keys.sort_by_key(|n| n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    write(&db, &mut model, keys);
    let leaves = db.leaf_sizes().unwrap().len();
    assert!(
        leaves > 2 * 1_024,
        "{leaves} leaves: more than two chunks of pages"
    );
    // A dense range removed: its leaves merge and their pages are freed.
    remove_range(&db, &mut model, 200_000..600_000);
    let merged = db.leaf_sizes().unwrap().len();
    assert!(
        merged < leaves * 3 / 4,
        "{leaves} leaves, {merged} after the removal"
    );
    db.flush().unwrap();
    drop(db);

    let db = reopen(&config);
    assert_eq!(contents(&db), model, "after a reopen");
    // New pages: the freed ones are handed out again.
    write(
        &db,
        &mut model,
        (0..40_000).map(|n| 1_000_003 + n * 13).collect(),
    );
    assert_eq!(contents(&db), model, "after writes on the reopened store");
    db.flush().unwrap();
    // (The snapshot that reopen writes is in place once this returns; a drop leaves it
    // to sled's last handle, which can outlive the `Db` a moment.)
    db.finish_snapshot();
    drop(db);
    // That reopen wrote a snapshot of all those pages: this one keeps its page states as
    // read and decodes each when asked for (vendored item 31), with what the session
    // before changed (pages freed ones were reused for, new pages) laid over them.
    let snapshot: u64 = std::fs::read_dir(dir.path().join("db"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("snap."))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(snapshot > 32 * 1024, "a snapshot of {snapshot} bytes");
    let kept = sled::snapshots_kept_undecoded();
    let db = reopen(&config);
    assert_eq!(contents(&db), model, "after a second reopen");
    assert!(
        sled::snapshots_kept_undecoded() > kept,
        "the snapshot's page states were kept undecoded"
    );
    // Another range removed (pages freed over the snapshot just written, which holds
    // the states kept as read and those laid over them, copied into it): read back
    // whole, the freed pages reused by new writes, and read back whole again.
    remove_range(&db, &mut model, 650_000..900_000);
    db.flush().unwrap();
    db.finish_snapshot();
    drop(db);
    let db = reopen(&config);
    assert_eq!(contents(&db), model, "after a third reopen");
    let leaves = db.leaf_sizes().unwrap().len();
    write(
        &db,
        &mut model,
        (0..40_000).map(|n| 2_000_003 + n * 17).collect(),
    );
    assert!(
        db.leaf_sizes().unwrap().len() > leaves + 200,
        "new leaves for the new keys"
    );
    assert_eq!(contents(&db), model, "after writes on the third reopen");
    db.flush().unwrap();
    db.finish_snapshot();
    drop(db);
    let db = reopen(&config);
    assert_eq!(contents(&db), model, "after a fourth reopen");
    drop(db);
    let db = reopen(&config);
    assert_eq!(contents(&db), model, "after a fifth reopen");
}

/// Removes the keys of table `M` numbered `range` from the store and the model, in one
/// batch.
fn remove_range(
    db: &sled::Db,
    model: &mut BTreeMap<Vec<u8>, Vec<u8>>,
    range: std::ops::Range<u64>,
) {
    let keys = key(b'M', range.start)..key(b'M', range.end);
    let mut batch = sled::Batch::default();
    for (k, _) in model.range(keys.clone()) {
        batch.remove(k.clone());
    }
    db.apply_batch(batch).unwrap();
    model.retain(|k, _| !keys.contains(k));
}

/// The snapshot files in sled's directory, by name.
fn snapshot_files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("snap."))
        .collect();
    names.sort();
    names
}

/// The snapshot sled writes at an open that found new log is written on a thread of its
/// own while the open goes on (vendored item 24), so a kill can leave the one before it
/// in place while the session has already reused log segments. That older snapshot still
/// recovers the store: the log is replayed from it over the segments reused since. And
/// once `finish_snapshot` returns (the store's close calls it) the newer one is complete
/// and the only one.
#[test]
fn an_older_snapshot_recovers_a_store_whose_segments_were_reused_since() {
    let dir = tempfile::tempdir().unwrap();
    let sled_dir = dir.path().join("db");
    let config = sled::Config::new().path(&sled_dir).segment_size(64 * 1024);
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let overwrite = |db: &sled::Db, model: &mut BTreeMap<Vec<u8>, Vec<u8>>, round: u8| {
        for chunk in (0..8_000u64).collect::<Vec<_>>().chunks(500) {
            let mut batch = sled::Batch::default();
            for &n in chunk {
                let v = vec![round; 60 + (n % 90) as usize];
                batch.insert(key(b'S', n), v.clone());
                model.insert(key(b'S', n), v);
            }
            db.apply_batch(batch).unwrap();
        }
        db.flush().unwrap();
    };
    let session = |db: &sled::Db, model: &mut BTreeMap<Vec<u8>, Vec<u8>>, rounds| {
        for round in rounds {
            overwrite(db, model, round);
            while db.reclaim_step().unwrap() {}
        }
    };
    let db = config.open().unwrap();
    overwrite(&db, &mut model, 0);
    drop(db);
    // This open finds the first session's log and writes a snapshot past it; a session
    // follows.
    let db = reopen(&config);
    session(&db, &mut model, 1..=4);
    db.finish_snapshot();
    drop(db);
    let older = snapshot_files(&sled_dir);
    assert_eq!(
        older.len(),
        1,
        "one snapshot after a clean close: {older:?}"
    );
    assert!(!older[0].ends_with(".generating"), "{older:?}");
    let older_bytes = std::fs::read(sled_dir.join(&older[0])).unwrap();

    // The next open writes a snapshot past that session, while a session that writes
    // every key again and again goes on: its cleaner moves pages out of the segments the
    // rewrites left mostly empty, the last session's among them, which are then reused.
    let db = reopen(&config);
    session(&db, &mut model, 5..=8);
    assert_eq!(contents(&db), model);
    db.finish_snapshot();
    drop(db);
    let written = 9 * 8_000 * 100;
    let file = std::fs::metadata(sled_dir.join("db")).unwrap().len();
    assert!(
        file < written / 2,
        "the log file takes {file} bytes after {written} written: segments were reused"
    );
    // The close left that open's snapshot complete.
    let newer = snapshot_files(&sled_dir);
    assert_eq!(newer.len(), 1, "{newer:?}");
    assert!(newer[0] > older[0], "{newer:?} after {older:?}");
    assert!(!newer[0].ends_with(".generating"), "{newer:?}");

    // As if that write had been cut off: only the older snapshot is there.
    std::fs::remove_file(sled_dir.join(&newer[0])).unwrap();
    std::fs::write(sled_dir.join(&older[0]), &older_bytes).unwrap();
    let db = reopen(&config);
    assert_eq!(contents(&db), model, "recovered from the older snapshot");
    session(&db, &mut model, 9..=10);
    drop(db);
    let db = reopen(&config);
    assert_eq!(contents(&db), model, "after another session and reopen");
    drop(db);

    // The snapshot an open writes is in place once `finish_snapshot` returns (the
    // store's close calls it).
    let mut last = snapshot_files(&sled_dir);
    for round in 11..=20 {
        let db = reopen(&config);
        overwrite(&db, &mut model, round);
        drop(db);
        let db = reopen(&config);
        db.finish_snapshot();
        let now = snapshot_files(&sled_dir);
        drop(db);
        assert_eq!(now.len(), 1, "round {round}: {now:?}");
        assert!(now[0] > last[0], "round {round}: {now:?} after {last:?}");
        assert!(!now[0].ends_with(".generating"), "round {round}: {now:?}");
        last = now;
    }
    assert_eq!(contents(&reopen(&config)), model);
}
