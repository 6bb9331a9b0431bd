//! sled keeps every change at the end of its log; the store moves the live pages out of
//! log segments that are mostly garbage (`Store::reclaim`, run by the core's reclaimer
//! thread) so the segments are reused and the file stays near the size of what it holds.
//! Two stores take the same writes, one reclaiming after each round: its file must stay
//! far smaller, and both must hold the same records, also after a reopen.

use std::collections::BTreeMap;
use std::path::Path;

use onepoint::domain::store::{Store, StoreOptions, WriteSet};

/// The same deterministic workload for both stores: records that are updated again and
/// again (balances), and records that are only appended (deals and their indexes).
/// Returns how many pages the reclaiming moved.
fn round(store: &Store, round: u64, reclaim: bool) -> usize {
    let mut x = round.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for batch in 0..20u64 {
        let mut set = WriteSet::default();
        for i in 0..25u64 {
            for _ in 0..3 {
                let account = next() % 40_000;
                let mut key = b"A".to_vec();
                key.extend_from_slice(&account.to_be_bytes());
                set.put(&key, &next().to_be_bytes().repeat(4));
            }
            let deal = (round * 20 + batch) * 25 + i;
            let mut key = b"D".to_vec();
            key.extend_from_slice(&deal.to_be_bytes());
            set.put(&key, &deal.to_be_bytes().repeat(3));
        }
        store.apply(set).expect("apply");
    }
    store.sync().expect("sync");
    if reclaim && round % 10 == 9 {
        // While a hold is taken nothing moves, and after it the waiting pages do.
        let hold = store.hold_reclaim();
        assert_eq!(
            store.reclaim(usize::MAX).expect("reclaim"),
            0,
            "moved under a hold"
        );
        drop(hold);
    }
    let mut moved = 0;
    if reclaim {
        loop {
            let n = store.reclaim(usize::MAX).expect("reclaim");
            if n == 0 {
                break moved;
            }
            moved += n;
        }
    } else {
        moved
    }
}

fn contents(store: &Store) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut all = BTreeMap::new();
    for tag in [b'A', b'D'] {
        for r in store.scan_prefix(&[tag]) {
            let (k, v) = r.expect("read");
            all.insert(k.to_vec(), v.to_vec());
        }
    }
    all
}

fn sled_file(store: &Store) -> u64 {
    store
        .disk_bytes()
        .into_iter()
        .find(|(name, _)| name == "sled/db")
        .map(|(_, b)| b)
        .expect("sled/db")
}

fn open(dir: &Path) -> Store {
    Store::open(dir, StoreOptions::default()).expect("open")
}

const ROUNDS: u64 = 200;

#[test]
fn reclaiming_keeps_the_file_compact_and_every_record() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain_dir, compact_dir) = (tmp.path().join("plain"), tmp.path().join("compact"));
    let (plain, compact) = (open(&plain_dir), open(&compact_dir));
    for r in 0..ROUNDS {
        round(&plain, r, false);
        round(&compact, r, true);
    }
    let (plain_bytes, compact_bytes) = (sled_file(&plain), sled_file(&compact));
    let held: u64 = contents(&plain)
        .iter()
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum();
    eprintln!(
        "live {held} B; sled file without reclaiming {plain_bytes} B, with {compact_bytes} B"
    );
    assert!(
        compact_bytes < 3 * held,
        "reclaiming should keep the file within 3x of what it holds: {compact_bytes} B for {held} B"
    );
    assert!(
        compact_bytes * 2 < plain_bytes,
        "reclaiming should at least halve the file: {compact_bytes} B against {plain_bytes} B"
    );
    let expected = contents(&plain);
    let deals = expected.keys().filter(|k| k[0] == b'D').count();
    assert_eq!(
        deals,
        ROUNDS as usize * 20 * 25,
        "every appended record is there"
    );
    assert_eq!(
        contents(&compact),
        expected,
        "the reclaimed store lost or changed records"
    );
    drop(compact);
    let reopened = open(&compact_dir);
    assert_eq!(
        contents(&reopened),
        expected,
        "the reclaimed store differs after a reopen"
    );

    // Opening rebuilds which pages each segment holds from sled's snapshot; the cleaning
    // after a reopen relies on it: a page left out of its segment's set would be lost when
    // the segment is reused.
    let mut moved = 0;
    for r in ROUNDS..ROUNDS + 60 {
        round(&plain, r, false);
        moved += round(&reopened, r, true);
    }
    assert!(moved > 0, "nothing was cleaned after the reopen");
    let expected = contents(&plain);
    assert_eq!(
        contents(&reopened),
        expected,
        "cleaning after a reopen lost or changed records"
    );
    drop(reopened);
    let again = open(&compact_dir);
    assert_eq!(
        contents(&again),
        expected,
        "cleaning after a reopen: the store differs after another reopen"
    );
}

mod support;

/// The core's reclaimer thread does this on its own while deals are written: pages move
/// (the count rises), and the store stays whole (`check`, and every balance after a reopen).
#[test]
fn the_core_reclaims_while_deals_are_written() {
    let mut f = support::fixture();
    support::join_many(&f.core, 5_000);
    for round in 0..40u64 {
        let batch = (0..500u64)
            .map(|i| {
                support::keyed_save(
                    &format!("r{round}-{i}"),
                    1 + (round * 500 + i * 7919) % 5_000,
                    100 + i,
                )
            })
            .collect();
        for r in f.core.execute(batch) {
            r.expect("save");
        }
    }
    // Liveness, not speed: the thread gets to it within two minutes on any machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while f.core.reclaimed_pages() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(f.core.reclaimed_pages() > 0, "the reclaimer moved no page");
    f.assert_check();
    let before: Vec<_> = (1..=5_000).map(|m| f.balance(m)).collect();
    f.reopen();
    let after: Vec<_> = (1..=5_000).map(|m| f.balance(m)).collect();
    assert_eq!(before, after);
    f.assert_check();
}
