//! `onepoint backup DEST`: a copy of the store at one moment, checked. From the binary on a
//! seeded store, refused into a folder that is not empty or inside the store, and from the
//! core while writers keep writing (the copy holds every write acknowledged before it
//! started and a gap-free prefix of the rest).

mod support;

use support::{cli, files, keyed_save};

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use onepoint::domain::{Clock, DealId, Outcome};

fn info(data: &Path) -> serde_json::Value {
    let r = cli(data, &["--json", "info"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    serde_json::json!({"members": v["members"], "deals": v["deals"], "events": v["events"], "billings": v["billings"]})
}

#[test]
fn the_binary_copies_a_store_that_opens_with_the_same_counts_and_checks_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let r = cli(&data, &["seed", "--members", "300", "--deals", "3000"]);
    assert_eq!(r.code, 0, "{r:?}");
    let before = info(&data);
    let dest = tmp.path().join("copy");
    let r = cli(&data, &["--json", "backup", dest.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(report["dir"], dest.display().to_string(), "{report}");
    assert_eq!(report["check"]["ok"], true, "{report}");
    assert_eq!(report["check"]["deals"], before["deals"], "{report}");
    assert!(report["files"].as_u64().unwrap() >= 2, "{report}");
    // The copy is a store of its own: the same counts, a clean check; the original too.
    assert_eq!(info(&dest), before);
    let r = cli(&dest, &["check"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(info(&data), before);
    // A write to the copy leaves the original as it was.
    let r = cli(
        &dest,
        &[
            "deal",
            "save",
            "--member",
            "1",
            "--merchant",
            "1",
            "--amount",
            "5000",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(info(&data), before);
    // The human form names the folder and says the check passed.
    let dest2 = tmp.path().join("copy2");
    let r = cli(&data, &["backup", dest2.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains(&dest2.display().to_string()), "{r:?}");
}

#[test]
fn a_backup_into_a_folder_that_is_not_empty_or_inside_the_store_is_refused_copying_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    let r = cli(&data, &["seed", "--members", "20", "--deals", "50"]);
    assert_eq!(r.code, 0, "{r:?}");
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), b"mine").unwrap();
    let inside = data.join("backup");
    for (dest, says) in [(&busy, "is not empty"), (&inside, "is inside the store")] {
        let before = files(tmp.path());
        let r = cli(&data, &["backup", dest.to_str().unwrap()]);
        assert!(r.code != 0 && r.code != 101, "{r:?}");
        let line = r.stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
        assert!(
            line.contains(&dest.display().to_string()) && line.contains(says),
            "{line}"
        );
        let after = files(tmp.path());
        let names = |l: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>| -> Vec<String> {
            l.keys()
                .map(|n| n.display().to_string())
                // Opening the store may write a sled snapshot in it: only the rest counts.
                .filter(|n| !n.contains("/store/sled/"))
                .collect()
        };
        assert_eq!(
            names(&before),
            names(&after),
            "{dest:?}: files came or went"
        );
        assert!(!inside.exists());
    }
    assert_eq!(std::fs::read(busy.join("keep.txt")).unwrap(), b"mine");
}

#[test]
fn a_backup_taken_while_writers_write_holds_every_earlier_write_and_a_gap_free_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let core = Arc::new(support::open(
        &tmp.path().join("store"),
        &Clock::fixed(support::NOW_MS),
    ));
    support::join_many(&core, 40);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let (core, stop) = (core.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) || n < 50 {
                    let batch = (0..10)
                        .map(|i| keyed_save(&format!("w{w}-{n}-{i}"), 1 + (n + i) % 40, 1_000 + n))
                        .collect();
                    for r in core.execute(batch) {
                        assert!(matches!(r, Ok(Outcome::Deal(_))), "{r:?}");
                    }
                    n += 1;
                }
            })
        })
        .collect();
    // Wait for some writes, then copy while the writers go on.
    while core.info().unwrap().deals < 400 {
        std::thread::yield_now();
    }
    let acked = core.info().unwrap().deals;
    let dest = tmp.path().join("copy");
    let report = core.backup(&dest).unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert!(report.check.ok, "{:?}", report.check.violations);
    let total = core.info().unwrap().deals;
    let copied = report.check.deals;
    assert!(
        acked <= copied && copied <= total,
        "{acked} <= {copied} <= {total}"
    );
    let copy = support::open(&dest, &Clock::fixed(support::NOW_MS));
    assert_eq!(copy.info().unwrap().deals, copied);
    for id in 1..=copied {
        assert_eq!(
            copy.deal(DealId(id)).unwrap(),
            core.deal(DealId(id)).unwrap(),
            "deal {id}"
        );
    }
    assert!(copy.deal(DealId(copied + 1)).is_err());
    drop(copy);
    let r = cli(&dest, &["check"]);
    assert_eq!(r.code, 0, "{r:?}");
}
