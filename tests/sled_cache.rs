//! sled's cache holds what it is given and no more (item 36 of `vendor/sled/ONEPOINT.md`).
//! Upstream counted each page by its bytes on disk, a half to a tenth of what it takes in
//! memory for short entries, and counted an access only once 64 had queued in its shard
//! (of 256), so a scan could read 16,384 pages before the first eviction: on a store of a
//! million members, the console's first page by balance (which reads every account) left
//! sled 100 MB past a cache of 16 MB. Here the pages held in memory, walked from sled's page
//! table (`Tree::resident`), must stay within the capacity and the few accesses not yet
//! counted, while a cold store three times the cache's size is read whole.

mod sled_support;

use std::collections::BTreeMap;

use sled_support::{config, contents, key, reopen};

const CAPACITY: u64 = 4 << 20;

/// What may sit in memory uncounted: the accesses still queued (8 shards of 8), each a
/// page of at most this test's largest leaf (64 entries of 100-byte values: about 14 KB).
const SLACK: u64 = SLACK_PAGES * 14 * 1024;

/// The accesses that may wait uncounted: 8 shards of 8.
const SLACK_PAGES: u64 = 64;

/// Three tables: inline values (30 bytes), values kept in buffers of their own (100
/// bytes), and keys only, whose leaves take about ten times in memory what they take on
/// disk.
fn model() -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut m = BTreeMap::new();
    for n in 0..60_000u64 {
        m.insert(key(1, n), vec![(n % 251) as u8; 30]);
    }
    for n in 0..15_000u64 {
        m.insert(key(2, n), vec![(n % 241) as u8; 100]);
    }
    for n in 0..150_000u64 {
        m.insert(key(3, n * 7), Vec::new());
    }
    m
}

/// The model written to a new store with a cache of `CAPACITY`, closed and opened again
/// (nothing of it in memory): the folder (kept while the store is), its config, the
/// model and the store.
fn cold_store() -> (
    tempfile::TempDir,
    sled::Config,
    BTreeMap<Vec<u8>, Vec<u8>>,
    sled::Db,
) {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), CAPACITY);
    let want = model();
    {
        let db = config.open().unwrap();
        let entries: Vec<_> = want.iter().collect();
        for chunk in entries.chunks(1000) {
            let mut batch = sled::Batch::default();
            for (k, v) in chunk {
                batch.insert(k.as_slice(), v.as_slice());
            }
            db.apply_batch(batch).unwrap();
        }
        db.flush().unwrap();
    }
    let db = reopen(&config);
    (dir, config, want, db)
}

/// Pages read again and again stay in memory while a scan three times the cache's size
/// passes, and pages not read again are evicted: reads of a page in memory move it up
/// the cache's list, though one counted within the last few (item 42) is not counted
/// again. Sixteen of each, so that every shard of the cache is tried.
#[test]
fn pages_read_again_and_again_stay_in_memory_while_a_scan_passes_and_others_leave() {
    let (_dir, _config, want, db) = cold_store();
    let hot: Vec<Vec<u8>> = (0..16).map(|i| key(1, i * 3_700)).collect();
    let cold: Vec<Vec<u8>> = (0..16).map(|i| key(1, i * 3_700 + 1_000)).collect();
    let pages =
        |keys: &[Vec<u8>]| -> Vec<u64> { keys.iter().map(|k| db.leaf_page(k).unwrap()).collect() };
    let (hot_pages, cold_pages) = (pages(&hot), pages(&cold));
    let mut all = [hot_pages.clone(), cold_pages.clone()].concat();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 32, "32 leaves");
    let resident = |pages: &[u64]| pages.iter().filter(|p| db.page_resident(**p)).count();
    // Each time the pages read again are read, how many had been evicted since the last.
    let (mut scanned, mut evicted) = (0, 0);
    for (i, r) in db.iter().enumerate() {
        r.unwrap();
        scanned += 1;
        if i % 50 == 0 {
            evicted += 16 - resident(&hot_pages);
            for k in &hot {
                assert_eq!(db.get(k).unwrap().as_deref(), Some(&want[k][..]));
            }
        }
    }
    assert_eq!(scanned, want.len());
    let cold_kept = resident(&cold_pages);
    eprintln!(
        "the scan: pages read again found evicted {evicted} times; {cold_kept} of 16 pages \
         not read again in memory after it"
    );
    assert_eq!(
        evicted, 0,
        "pages read every 50 entries of the scan were evicted"
    );
    // The scan did press the cache: most pages it did not read again went.
    assert!(
        cold_kept <= 8,
        "{cold_kept} of 16 pages not read again were kept"
    );
    assert_eq!(pages(&hot), hot_pages, "the same pages");
}

#[test]
fn a_cold_store_read_whole_leaves_no_more_in_memory_than_the_cache_holds() {
    let (_dir, config, want, db) = cold_store();
    let before = db.resident();
    // Every entry read, in order and then by key: pages are evicted and read again.
    assert_eq!(contents(&db), want);
    let after_scan = db.resident();
    for (i, (k, v)) in want.iter().enumerate().step_by(97) {
        assert_eq!(
            db.get(k).unwrap().as_deref(),
            Some(v.as_slice()),
            "entry {i}"
        );
    }
    let after_gets = db.resident();
    // The cache keeps an entry for the pages it holds only, not for every page it ever
    // held (upstream: a vector up to the highest page, the whole store's count here).
    let (entries, room) = db.cache_entries();
    assert!(
        entries as u64 <= after_gets.0 + SLACK_PAGES,
        "{entries} cache entries for {} pages in memory",
        after_gets.0
    );
    assert!(
        room <= 4 * entries + 8 * 2048,
        "{room} entries' room for {entries}"
    );
    let total: u64 = {
        // What the whole store takes in memory: read it with a cache that holds it all.
        drop(db);
        let big = reopen(&config.clone().cache_capacity(1 << 30));
        assert_eq!(contents(&big).len(), want.len());
        big.resident().1
    };
    eprintln!(
        "resident: {} pages, {:.2} MB at open; {} pages, {:.2} MB after the scan; {} pages \
         after the gets; the whole store {:.2} MB; cache {:.2} MB",
        before.0,
        before.1 as f64 / 1048576.0,
        after_scan.0,
        after_scan.1 as f64 / 1048576.0,
        after_gets.0,
        total as f64 / 1048576.0,
        CAPACITY as f64 / 1048576.0
    );
    assert!(
        total > 3 * CAPACITY,
        "the store must be well past the cache to test it: {total} bytes"
    );
    for (what, (_, bytes)) in [
        ("after the scan", after_scan),
        ("after the gets", after_gets),
    ] {
        assert!(
            bytes <= CAPACITY + SLACK,
            "{what}: {:.2} MB held, the cache holds {:.2} MB",
            bytes as f64 / 1048576.0,
            CAPACITY as f64 / 1048576.0
        );
    }
}
