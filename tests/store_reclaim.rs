//! sled keeps every change at the end of its log; the store moves the live pages out of
//! log segments that are mostly garbage (`Store::reclaim`, run by the core's reclaimer
//! thread) so the segments are reused and the file stays near the size of what it holds.
//! Two stores take the same writes, one reclaiming after each round: its file must stay
//! far smaller, and both must hold the same records, also after a reopen. The reclaimer
//! runs only on an idle core; when it falls behind, a helper at the normal priority pays
//! the backlog down to a target (`Store::reclaim_down_to`).

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

/// Writes rounds without reclaiming until at least `pages` wait; the rounds written.
fn backlog_of(store: &Store, pages: usize) -> u64 {
    let mut r = 0;
    while store.reclaim_backlog() < pages {
        round(store, r, false);
        r += 1;
        assert!(
            r < 400,
            "no backlog after {r} rounds: {}",
            store.reclaim_backlog()
        );
    }
    r
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

/// The debt thread's share of the work when the reclaimer, which runs only on an idle
/// core, falls behind (`Store::reclaim_down_to`): it moves pages until no more than the
/// target wait, within its time budget, moves none while a hold is taken or with no time
/// given, and the store keeps every record.
#[test]
fn reclaiming_down_to_a_target_pays_the_backlog_and_keeps_every_record() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    backlog_of(&store, 2_000);
    let before = store.reclaim_backlog();
    let expected = contents(&store);
    let target = before / 4;
    let forever = std::time::Duration::from_secs(600);

    let hold = store.hold_reclaim();
    assert_eq!(
        store.reclaim_down_to(target, forever).unwrap(),
        0,
        "moved under a hold"
    );
    drop(hold);
    assert_eq!(
        store
            .reclaim_down_to(target, std::time::Duration::ZERO)
            .unwrap(),
        0,
        "moved with no time given"
    );

    let moved = store.reclaim_down_to(target, forever).unwrap();
    let after = store.reclaim_backlog();
    assert!(
        after <= target,
        "{after} pages wait, above the target {target} (from {before})"
    );
    assert!(
        moved > 0 && moved >= before - after - 64,
        "moved {moved}, {before} -> {after}"
    );
    // It stops at the target: what is left is the reclaimer's, as before.
    assert!(
        after > 0,
        "it went past the target to nothing ({before} before)"
    );
    assert_eq!(contents(&store), expected, "records lost or changed");
    store.sync().unwrap();
    drop(store);
    assert_eq!(contents(&open(tmp.path())), expected, "after a reopen");
}

/// sled's log space as the store reports it (`Store::log_space`, what the debt thread
/// weighs the backlog against): the segments in use hold at least the live bytes and take
/// no more than the file; writing without reclaiming makes the log take well more than it
/// holds, and reclaiming the backlog brings that back down.
#[test]
fn the_log_space_reports_what_the_segments_take_and_hold() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let r = backlog_of(&store, 2_000);
    let (used, live) = store.log_space();
    assert!(live > 0 && used >= live, "used {used}, live {live}");
    assert!(used <= sled_file(&store), "used {used} above the file");
    let before = used as f64 / live as f64;
    assert!(before > 1.3, "{before:.2} times what it holds, unreclaimed");
    store
        .reclaim_down_to(0, std::time::Duration::from_secs(600))
        .unwrap();
    // Freed segments are counted free once sled has made the moves durable.
    round(&store, r, true);
    let (used, live) = store.log_space();
    let after = used as f64 / live as f64;
    assert!(
        after < before && live > 0,
        "{before:.2} -> {after:.2} times what it holds"
    );
}

/// The reclaimer runs only when a core is otherwise idle (`SCHED_IDLE`), so the threads a
/// write waits on come first; the writer, and the helper that pays the reclaimer's
/// backlog when it falls behind, keep the normal policy. Read from the kernel's
/// view of each thread, `/proc/self/task/*/stat` (field 41: policy; 5 is `SCHED_IDLE`).
#[cfg(target_os = "linux")]
#[test]
fn the_reclaimer_runs_at_idle_priority_and_the_writer_and_the_debt_helper_do_not() {
    let f = support::fixture();
    let policies = |name: &str| -> Vec<u32> {
        let mut out = Vec::new();
        for t in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
                continue;
            };
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            if &stat[open + 1..close] != name {
                continue;
            }
            // Fields from the third (state) on; the policy is the 41st.
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            out.push(fields[41 - 3].parse().unwrap());
        }
        out
    };
    // The thread sets its policy as it starts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // Other tests' cores open and close beside this one: wait until this one's reclaimer
    // has lowered its priority and started its helper, and its writer has started (a
    // thread takes its name as it starts; a closing core's writer stops before its
    // reclaimer, so another core's reclaimer alone could be seen before this writer).
    let started = |seen: &[u32]| {
        seen.contains(&5)
            && !policies("onepoint-debt").is_empty()
            && !policies("onepoint-writer").is_empty()
    };
    let mut seen = policies("onepoint-reclai");
    while !started(&seen) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        seen = policies("onepoint-reclai");
    }
    assert!(!seen.is_empty(), "no reclaimer thread found");
    // Other tests' cores run in this process too: every reclaimer is idle, once started.
    assert!(
        seen.contains(&5),
        "reclaimer policies {seen:?}, none SCHED_IDLE (5)"
    );
    for name in ["onepoint-writer", "onepoint-debt"] {
        let normal = policies(name);
        assert!(!normal.is_empty(), "no {name} thread found");
        assert!(
            normal.iter().all(|&p| p == 0),
            "{name} policies {normal:?}: it should run at the normal policy (0)"
        );
    }
    drop(f);
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
