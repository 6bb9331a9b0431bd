//! The segment accountant's audit (`OP_SLED_AUDIT`, vendored sled's `PageCache::audit` and
//! `audit_recovery`), a diagnostic for the kill -9 hunt of the README ("A known failure"):
//! on a healthy store whose cleaner moves pages out of segments and reuses them while
//! writes go on, it runs about once a second from the cleaner's steps (its recovery part
//! every 3 s) and finds nothing wrong (a false alarm here would make it useless for the
//! hunt); and the recovery part reports pages whose pieces lie in segments the file now
//! says were reused, once the file is damaged that way under the open store. That the
//! page part finds a segment freed under a live page was checked by hand with the
//! accountant broken on purpose (the closing notes of issue 9). Its own test binary: the
//! variable is read once per process.

mod sled_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sled_support::{contents, key, reopen};

#[test]
fn the_audit_runs_from_the_cleaner_and_finds_a_healthy_store_sound() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("audit.log");
    // SAFETY: the only test of this binary sets it before any thread of its own starts.
    unsafe { std::env::set_var("OP_SLED_AUDIT", &report) };
    let config = sled::Config::new()
        .path(dir.path().join("db"))
        .segment_size(16 * 1024);
    let mut model = BTreeMap::new();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut moved = 0;
    for session in 0..2u8 {
        let db = reopen(&config);
        let start = Instant::now();
        let mut b = 0u64;
        while start.elapsed() < Duration::from_millis(2_600) {
            let mut batch = sled::Batch::default();
            for i in 0..300u64 {
                // overwrites of a few thousand keys, and appends
                let n = if i % 3 == 0 {
                    1_000_000 + b * 100 + i
                } else {
                    next() % 5_000
                };
                let v = vec![session; 10 + (n % 50) as usize];
                batch.insert(key(b'D', n), v.clone());
                model.insert(key(b'D', n), v);
            }
            db.apply_batch(batch).unwrap();
            db.flush().unwrap();
            for _ in 0..20 {
                if !db.reclaim_step().unwrap() {
                    break;
                }
                moved += 1;
            }
            b += 1;
        }
        assert_eq!(contents(&db), model, "session {session}");
    }
    assert!(
        moved > 0,
        "the cleaner moved nothing: the audit saw no segment reused"
    );
    let lines = std::fs::read_to_string(&report).expect("the audit wrote no report");
    let audits: Vec<&str> = lines.lines().collect();
    let count = |prefix: &str| audits.iter().filter(|l| l.starts_with(prefix)).count();
    assert!(
        count("audit ") >= 3 && count("recovery audit ") >= 2,
        "fewer audits than expected in 5 s: {lines}"
    );
    for line in &audits {
        assert!(
            (line.starts_with("audit ") || line.starts_with("recovery audit "))
                && line.ends_with(" 0 wrong"),
            "the audit found something wrong on a healthy store: {line}"
        );
    }

    // The file damaged under the open store: every segment wholly below the point of the
    // snapshot this open wrote is given a header of a later life (its sequence number
    // plus one), as a segment reused too early would have, while the snapshot's pages
    // keep pieces there. A kill now would leave a store sled cannot read: the recovery
    // audit says so, page by page.
    let db = reopen(&config);
    db.finish_snapshot();
    let segment = 16 * 1024u64;
    let snapshot_lsn = std::fs::read_dir(dir.path().join("db"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let hex = name.strip_prefix("snap.")?.to_string();
            i64::from_str_radix(&hex, 16).ok()
        })
        .max()
        .expect("the open wrote no snapshot");
    // sled's flusher thread runs cleaner steps too, so an audit may run while the damage
    // is being done: what counts is the first recovery audit that starts after it, which
    // finds the report's marker line before its own lines.
    let damaged = damage_headers_below(&dir.path().join("db").join("db"), segment, snapshot_lsn);
    assert!(
        damaged > 0,
        "no segment below the snapshot's point to damage"
    );
    const MARK: &str = "-- the test damaged the headers here --\n";
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&report)
            .unwrap();
        f.write_all(MARK.as_bytes()).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let block = loop {
        db.reclaim_step().unwrap();
        let after = std::fs::read_to_string(&report).unwrap();
        let new = &after[after.find(MARK).unwrap() + MARK.len()..];
        // The lines of each recovery audit, its verdict last; the first may have started
        // before the mark, so the second is the one that counts.
        let mut blocks = vec![];
        let mut current = vec![];
        for line in new.lines() {
            if line.starts_with("audit ") {
                continue;
            }
            current.push(line.to_string());
            if line.starts_with("recovery audit ") {
                blocks.push(std::mem::take(&mut current));
            }
        }
        if blocks.len() >= 2 {
            break blocks.swap_remove(1);
        }
        assert!(
            Instant::now() < deadline,
            "fewer than two recovery audits in 20 s after the damage: {new}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let (verdict, findings) = block.split_last().unwrap();
    assert!(
        !findings.is_empty()
            && findings.iter().all(|l| l.contains("reused since"))
            && verdict.ends_with(&format!(" {} wrong", findings.len())),
        "the recovery audit missed pages in segments damaged under it ({damaged} segments): {}",
        block.join("\n")
    );
}

/// Rewrites the header of every segment of sled's file `path` (of `segment` bytes) whose
/// sequence number lies a whole segment or more below `below` with that number plus one,
/// as sled writes headers (a checksum, the number and the highest stable one, each
/// xored); returns how many.
fn damage_headers_below(path: &std::path::Path, segment: u64, below: i64) -> usize {
    use std::os::unix::fs::FileExt;
    const XOR: i64 = 0x7FFF_FFFF_FFFF_FFFF;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let len = file.metadata().unwrap().len();
    let mut damaged = 0;
    for base in (0..len / segment).map(|i| i * segment) {
        let mut h = [0u8; 20];
        file.read_exact_at(&mut h, base).unwrap();
        let crc = u32::from_le_bytes(h[0..4].try_into().unwrap()) ^ 0xFFFF_FFFF;
        if crc != crc32fast::hash(&h[4..20]) {
            continue;
        }
        let lsn = i64::from_le_bytes(h[4..12].try_into().unwrap()) ^ XOR;
        if lsn + segment as i64 > below {
            continue;
        }
        h[4..12].copy_from_slice(&((lsn + 1) ^ XOR).to_le_bytes());
        let crc = crc32fast::hash(&h[4..20]) ^ 0xFFFF_FFFF;
        h[0..4].copy_from_slice(&crc.to_le_bytes());
        file.write_all_at(&h, base).unwrap();
        damaged += 1;
    }
    damaged
}
