//! The vendored sled's leaves (`vendor/sled/ONEPOINT.md` 26 and 27).
//!
//! A leaf whose entries are all kept inline is dropped without reading them
//! (`Drop for Leaf` in `vendor/sled/src/node.rs`, `vendor/sled/ONEPOINT.md` 26): every
//! write copies its leaf, and the copies are dropped later on another thread. Whatever
//! path puts an entry that shares a buffer into a leaf must say so, or that buffer would
//! never be given back. This binary counts the bytes it holds (its own global allocator)
//! and overwrites the same keys round after round: what the process holds must stay flat,
//! for inline values, for values past the 38 bytes an `IVec` keeps inline written into
//! leaves that held only inline ones, and back again. (The debug build also checks every
//! leaf's account of itself as it is dropped.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicIsize, Ordering};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod sled_support;
use sled_support::{contents, key, reopen};

struct Counting;

static HELD: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        HELD.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn held() -> isize {
    HELD.load(Ordering::Relaxed)
}

/// The tests of this binary run one at a time: what the process holds counts every
/// thread's allocations.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const KEYS: u64 = 2_000;

/// Writes every key once with a value of `len` bytes (round `round`), one insert at a
/// time (each copies its leaf), then flushes. `len` 0: each key gets a value of 200
/// bytes and at once an inline one again, so every shared value goes into a leaf that
/// held none.
fn round(tree: &sled::Tree, round: u64, len: usize) {
    let value = |n: u64, len: usize| {
        let mut v = vec![(round % 251) as u8; len];
        v[..8].copy_from_slice(&n.to_be_bytes());
        v
    };
    for n in 0..KEYS {
        if len == 0 {
            tree.insert(key(b'P', n), value(n, 200)).unwrap();
            tree.insert(key(b'P', n), value(n, 12)).unwrap();
        } else {
            tree.insert(key(b'P', n), value(n, len)).unwrap();
        }
    }
    tree.flush().unwrap();
}

/// The bytes held after a few more flushes (sled's garbage is freed a few operations
/// after it is retired), the median of three looks.
fn settled(tree: &sled::Tree) -> isize {
    let mut looks = Vec::new();
    for _ in 0..3 {
        for _ in 0..64 {
            tree.get(key(b'P', 0)).unwrap();
        }
        tree.flush().unwrap();
        looks.push(held());
    }
    looks.sort();
    looks[1]
}

#[test]
fn overwritten_leaves_give_back_what_they_held_inline_or_shared() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new()
        .path(dir.path().join("db"))
        .cache_capacity(64 << 20)
        .flush_every_ms(None)
        .open()
        .unwrap();
    let tree: &sled::Tree = &db;

    // Warm up: the leaves exist, sled's buffers and caches are allocated.
    for r in 0..4 {
        round(tree, r, 8);
    }
    let start = settled(tree);

    // Rounds of inline values (leaves dropped without reading them), then values of 200
    // bytes (each in a buffer of its own) written into those all-inline leaves, then
    // inline values again over the shared ones, then each key's 200-byte value taken
    // out of its leaf at once. 40 rounds of 200-byte values are 16 MB written; what
    // stays live is one round's 400 KB at most.
    let plan: [(u64, usize, &str); 4] = [
        (40, 8, "8-byte values"),
        (40, 200, "200-byte values"),
        (40, 12, "12-byte values"),
        (40, 0, "200-byte values taken out at once"),
    ];
    let mut r = 4;
    for (rounds, len, what) in plan {
        for _ in 0..rounds {
            round(tree, r, len);
            r += 1;
        }
        let now = settled(tree);
        let grown = now - start;
        assert!(
            grown < 4 << 20,
            "after {rounds} rounds of {what} the process holds {grown} bytes \
             more than after the warm-up ({start}): overwritten values or leaves were not \
             given back"
        );
    }

    // And every key reads back its last value.
    for n in 0..KEYS {
        let v = tree.get(key(b'P', n)).unwrap().unwrap();
        assert_eq!(v.len(), 12);
        assert_eq!(&v[..8], &n.to_be_bytes());
    }
}

/// Reads the tree every way a leaf is read: forward and backward in full, point reads
/// of keys held and not, and ranges from bounds inside, between and past the keys.
fn read_every_way(
    tree: &sled::Tree,
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    rng: &mut StdRng,
    when: &str,
) {
    let forward: Vec<(Vec<u8>, Vec<u8>)> = tree
        .iter()
        .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
        .collect();
    let expected: Vec<(Vec<u8>, Vec<u8>)> =
        model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert!(
        forward == expected,
        "{when}: a forward scan differs from the model"
    );
    let backward: Vec<Vec<u8>> = tree.iter().rev().map(|r| r.unwrap().0.to_vec()).collect();
    let expected_back: Vec<Vec<u8>> = model.keys().rev().cloned().collect();
    assert!(
        backward == expected_back,
        "{when}: a backward scan differs from the model"
    );
    for _ in 0..300 {
        let k = key(
            if rng.random_bool(0.5) { b'P' } else { b'Q' },
            rng.random_range(0..6_000),
        );
        assert_eq!(
            tree.get(&k).unwrap().map(|v| v.to_vec()),
            model.get(&k).cloned(),
            "{when}: get {k:?}"
        );
        let from: Vec<(Vec<u8>, Vec<u8>)> = tree
            .range(k.clone()..)
            .take(5)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap())
            .collect();
        let want: Vec<(Vec<u8>, Vec<u8>)> = model
            .range(k.clone()..)
            .take(5)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(from, want, "{when}: range from {k:?}");
        let before: Vec<Vec<u8>> = tree
            .range(..k.clone())
            .rev()
            .take(5)
            .map(|r| r.unwrap().0.to_vec())
            .collect();
        let want: Vec<Vec<u8>> = model
            .range(..k.clone())
            .rev()
            .take(5)
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(before, want, "{when}: range before {k:?}");
    }
}

/// A table of keys only (as the store's indexes) keeps no values in its leaves
/// (`Leaf::values`, ONEPOINT.md 27). Against a model map, through single writes and
/// batches, splits and merges, a value written into a leaf of keys only and taken out
/// again, a leaf shared by two tables, reads of every kind, and two reopens (the pages
/// are written to disk in sled's format, an empty value for each key, and read back).
#[test]
fn leaves_of_keys_only_hold_what_a_map_holds_through_splits_merges_and_reopens() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let config = sled::Config::new()
        .path(dir.path().join("db"))
        .flush_every_ms(None);
    let mut db = config.open().unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut rng = StdRng::seed_from_u64(11);
    for round in 0..120u64 {
        // `P`: keys only, scattered; now and then a run of deletes empties a stretch of
        // leaves (they merge).
        let mut batch = sled::Batch::default();
        for _ in 0..rng.random_range(50..400) {
            let k = key(b'P', rng.random_range(0..6_000));
            if rng.random_range(0..5) == 0 {
                batch.remove(k.clone());
                model.remove(&k);
            } else {
                batch.insert(k.clone(), Vec::<u8>::new());
                model.insert(k, Vec::new());
            }
        }
        db.apply_batch(batch).unwrap();
        if round % 10 == 9 {
            let from = rng.random_range(0..5_000u64);
            for n in from..from + 800 {
                let k = key(b'P', n);
                db.remove(&k).unwrap();
                model.remove(&k);
            }
        }
        // `Q`: mostly keys only, one at a time; some keys get a value (inline or not)
        // and later an empty one again.
        for _ in 0..rng.random_range(20..200) {
            let k = key(b'Q', rng.random_range(0..3_000));
            let v = match rng.random_range(0..10) {
                0 => vec![round as u8; 3],
                1 => vec![round as u8; 60],
                2 => {
                    db.remove(&k).unwrap();
                    model.remove(&k);
                    continue;
                }
                _ => Vec::new(),
            };
            db.insert(&k, v.clone()).unwrap();
            model.insert(k, v);
        }
        if round % 20 == 0 {
            read_every_way(&db, &model, &mut rng, &format!("round {round}"));
        }
        if round == 60 || round == 119 {
            db.flush().unwrap();
            drop(db);
            db = reopen(&config);
            read_every_way(
                &db,
                &model,
                &mut rng,
                &format!("after the reopen at round {round}"),
            );
        }
    }
    let sizes = db.leaf_sizes().unwrap();
    assert!(
        sizes.len() > 100,
        "{} leaves: too few to split and merge",
        sizes.len()
    );
    assert!(
        model.values().any(|v| !v.is_empty())
            && model.values().filter(|v| v.is_empty()).count() > 3_000
    );
}

/// Leaves of keys only next to leaves holding values, each side then thinned out until
/// it merges into its left neighbour: a leaf holding values into one of keys only, and
/// one of keys only into one holding values (`Node::receive_merge`). Every key keeps its
/// own value, also after a reopen.
#[test]
fn leaves_of_keys_only_and_leaves_with_values_merge_either_way() {
    let _one = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let config = sled::Config::new()
        .path(dir.path().join("db"))
        .flush_every_ms(None);
    let db = config.open().unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    // 6,000 keys written in order with empty values: leaves of keys only.
    for n in 0..6_000u64 {
        db.insert(key(b'R', n), Vec::<u8>::new()).unwrap();
        model.insert(key(b'R', n), Vec::new());
    }
    // Every other stretch of 150 keys gets values: those leaves keep a value per key.
    let with_values = |n: u64| (n / 150) % 2 == 1;
    for n in (0..6_000u64).filter(|n| with_values(*n)) {
        let v = n.to_be_bytes().to_vec();
        db.insert(key(b'R', n), v.clone()).unwrap();
        model.insert(key(b'R', n), v);
    }
    let leaves = db.leaf_sizes().unwrap().len();
    // Then both kinds of stretch are thinned to one key in ten: their leaves fall under
    // the 16 entries that make a leaf merge into its left neighbour.
    for n in (0..6_000u64).filter(|n| n % 10 != 0) {
        db.remove(key(b'R', n)).unwrap();
        model.remove(&key(b'R', n));
    }
    let after = db.leaf_sizes().unwrap().len();
    assert!(
        after * 2 < leaves,
        "{leaves} leaves before, {after} after thinning: too few merged"
    );
    assert_eq!(contents(&db), model, "after the merges");
    db.flush().unwrap();
    drop(db);
    let db = reopen(&config);
    assert_eq!(contents(&db), model, "after a reopen");
}
