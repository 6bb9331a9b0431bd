//! Name search reads the members' names from a list kept in memory and saved beside the
//! store (`members.names`): its answers are the same with the file absent, present, damaged,
//! cut short, stale (members joined after it), of another store, or of a history a restore
//! took back; with the list loaded on a thread (a console or server opening the store); and
//! from the one-shot CLI, which leaves no temporary file behind.

mod support;

use std::path::Path;

use onepoint::domain::core::Core;
use onepoint::domain::names;
use onepoint::domain::{MemberQuery, MemberWindow};
use support::{Fixture, fixture};

const GIVEN: [&str; 7] = ["Minjun", "Olivia", "Jiho", "Émile", "Noah", "서연", "KIM"];
const FAMILY: [&str; 5] = ["Kim", "Park", "Lee", "Zola", "김"];

/// `n` names, each made of one given name and one family name, starting at `from`.
fn names_from(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            format!(
                "{} {}",
                GIVEN[i % GIVEN.len()],
                FAMILY[i / 3 % FAMILY.len()]
            )
        })
        .collect()
}

const NEEDLES: [&str; 9] = [
    "kim", "OLIVIA", "é", "서연", "김", "o p", "zzz", "newcomer", "m",
];

/// For each needle, the ids (ascending) of the names holding it, one name at a time.
fn expected(all: &[String]) -> Vec<Vec<u64>> {
    NEEDLES
        .iter()
        .map(|q| {
            let q = q.to_lowercase();
            (0..all.len())
                .filter(|&i| all[i].to_lowercase().contains(&q))
                .map(|i| i as u64 + 1)
                .collect()
        })
        .collect()
}

/// For each needle, the ids a name search answers, through the member list and through
/// the console's member window (which must agree).
fn searched(core: &Core) -> Vec<Vec<u64>> {
    NEEDLES
        .iter()
        .map(|q| {
            let listed: Vec<u64> = core
                .members(&MemberQuery {
                    query: Some(q.to_string()),
                    limit: 10_000,
                    ..Default::default()
                })
                .unwrap()
                .iter()
                .map(|m| m.member_id.0)
                .collect();
            let w = core
                .member_window(&MemberWindow {
                    query: Some(q.to_string()),
                    limit: 10_000,
                    ..Default::default()
                })
                .unwrap();
            let windowed: Vec<u64> = w.rows.iter().map(|m| m.member_id.0).collect();
            assert_eq!(
                windowed, listed,
                "the window and the list disagree on {q:?}"
            );
            assert_eq!(w.total, Some(listed.len() as u64), "window total for {q:?}");
            listed
        })
        .collect()
}

fn file(dir: &Path) -> std::path::PathBuf {
    names::path(dir)
}

fn no_temporary_file(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// A fixture with `n` members joined.
fn store_of(n: usize) -> (Fixture, Vec<String>) {
    let f = fixture();
    let all = names_from(0, n);
    support::join_named(&f.core, &all);
    (f, all)
}

#[test]
fn search_answers_the_same_with_the_file_absent_present_damaged_or_cut_short() {
    let (mut f, all) = store_of(60);
    let want = expected(&all);
    assert!(!file(f.dir.path()).exists());
    assert_eq!(searched(&f.core), want, "no file");
    f.reopen();
    let saved = std::fs::read(file(f.dir.path())).expect("the list is saved");
    assert_eq!(searched(&f.core), want, "from the file");
    f.reopen();
    assert_eq!(std::fs::read(file(f.dir.path())).unwrap(), saved);

    // One name changed inside the file ("olivia" read as "olivib"): refused, built again.
    let mut damaged = saved.clone();
    let at = damaged
        .windows(6)
        .position(|w| w == b"olivia")
        .expect("a name in the file");
    damaged[at + 5] = b'b';
    std::fs::write(file(f.dir.path()), &damaged).unwrap();
    f.reopen();
    assert_eq!(searched(&f.core), want, "damaged file");
    f.reopen();
    assert_eq!(
        std::fs::read(file(f.dir.path())).unwrap(),
        saved,
        "the damaged file is replaced"
    );

    for cut in [9, saved.len() / 2, saved.len() - 1] {
        std::fs::write(file(f.dir.path()), &saved[..saved.len() - cut]).unwrap();
        f.reopen();
        assert_eq!(searched(&f.core), want, "file cut by {cut} bytes");
    }
    std::fs::write(file(f.dir.path()), b"not a names file").unwrap();
    f.reopen();
    assert_eq!(searched(&f.core), want, "a foreign file");
    f.reopen();
    no_temporary_file(f.dir.path());
}

#[test]
fn members_who_joined_after_the_file_was_saved_are_found() {
    let (mut f, mut all) = store_of(40);
    assert_eq!(searched(&f.core), expected(&all));
    f.reopen();
    assert!(file(f.dir.path()).exists());
    let newcomers: Vec<String> = (0..30).map(|i| format!("Newcomer {i} Kim")).collect();
    support::join_named(&f.core, &newcomers);
    all.extend(newcomers);
    // In the same session (the list in memory), and after reopening (the file's 40 names,
    // then the 30 after them from their records).
    assert_eq!(searched(&f.core), expected(&all), "same session");
    f.reopen();
    assert_eq!(searched(&f.core), expected(&all), "after reopening");
    let more = names_from(100, 12);
    support::join_named(&f.core, &more);
    all.extend(more);
    assert_eq!(
        searched(&f.core),
        expected(&all),
        "joined after the catch-up"
    );
}

#[test]
fn a_file_from_a_history_a_restore_took_back_or_from_another_store_is_not_taken() {
    // Store A, backed up at 10 members (copy R2) and at 20 (copy R); then 20 more join A,
    // and A's list of 40 is saved.
    let (a, _) = store_of(10);
    let backups = tempfile::tempdir().unwrap();
    let (r, r2) = (backups.path().join("r"), backups.path().join("r2"));
    a.core.backup(&r2).unwrap();
    support::join_named(&a.core, &names_from(10, 10));
    a.core.backup(&r).unwrap();
    let later: Vec<String> = (0..20).map(|i| format!("Later {i} Kim")).collect();
    support::join_named(&a.core, &later);
    let mut a_all = names_from(0, 20);
    a_all.extend(later.iter().cloned());
    assert_eq!(searched(&a.core), expected(&a_all));
    let Fixture {
        dir: a_dir,
        core: a_core,
        clock,
    } = a;
    drop(a_core);
    let a_file = std::fs::read(file(a_dir.path())).unwrap();
    let with_a_file = |dir: &Path| {
        std::fs::write(file(dir), &a_file).unwrap();
        support::open(dir, &clock)
    };

    // R with A's file: the file is ahead of the store.
    let mut r_all = names_from(0, 20);
    let core = with_a_file(&r);
    assert_eq!(
        searched(&core),
        expected(&r_all),
        "a file ahead of the store"
    );
    // Others join R, past A's count: the same ids, other names (the same clock: the event
    // the file names reads the same in both).
    let other: Vec<String> = (0..25).map(|i| format!("Restored {i} Lee")).collect();
    support::join_named(&core, &other);
    r_all.extend(other);
    drop(core);
    let core = with_a_file(&r);
    assert_eq!(
        searched(&core),
        expected(&r_all),
        "other names at the same ids"
    );
    drop(core);

    // R2, later: others join, then A's last 20 again; the last names are A's, the history
    // is not.
    clock.advance(1_000);
    let core = support::open(&r2, &clock);
    let other: Vec<String> = (0..10).map(|i| format!("Second {i} Zola")).collect();
    support::join_named(&core, &other);
    support::join_named(&core, &later);
    let mut r2_all = names_from(0, 10);
    r2_all.extend(other);
    r2_all.extend(later);
    drop(core);
    let core = with_a_file(&r2);
    assert_eq!(
        searched(&core),
        expected(&r2_all),
        "another history, same last names"
    );
    drop(core);

    // Another store's file (B's 30 names), beside a store of 50 others.
    let (b, b_all) = store_of(30);
    assert_eq!(searched(&b.core), expected(&b_all));
    let Fixture {
        dir: b_dir,
        core: b_core,
        ..
    } = b;
    drop(b_core);
    let b_file = std::fs::read(file(b_dir.path())).unwrap();
    let mut c = fixture();
    let c_all: Vec<String> = (0..50).map(|i| format!("Other {i} Park")).collect();
    support::join_named(&c.core, &c_all);
    std::fs::write(file(c.dir.path()), &b_file).unwrap();
    c.reopen();
    assert_eq!(searched(&c.core), expected(&c_all), "another store's file");
}

#[test]
fn names_loaded_on_a_thread_at_opening_answer_the_same() {
    let (mut f, all) = store_of(50);
    let want = expected(&all);
    // No file: the thread builds the list from the index; then the file it saved.
    for case in ["no file", "the saved file"] {
        f.reopen();
        f.core.warm_names();
        assert_eq!(searched(&f.core), want, "{case}");
    }
    assert!(file(f.dir.path()).exists());
    // Closed at once, the thread still working: nothing is left half-written.
    std::fs::remove_file(file(f.dir.path())).unwrap();
    f.reopen();
    f.core.warm_names();
    f.reopen();
    no_temporary_file(f.dir.path());
    f.core.warm_names();
    assert_eq!(searched(&f.core), want, "after a close during the load");

    // A store of no members yet: its (empty) list is loaded, then the joins are read.
    let empty = fixture();
    empty.core.warm_names();
    let all = names_from(3, 40);
    support::join_named(&empty.core, &all);
    assert_eq!(
        searched(&empty.core),
        expected(&all),
        "a store that was empty"
    );
}

#[test]
fn the_cli_search_saves_the_list_whole_and_reads_it_next_time() {
    let (f, all) = store_of(25);
    let dir = f.dir.path().to_path_buf();
    drop(f.core);
    let listed = |q: &str| -> Vec<u64> {
        let r = support::cli(&dir, &["--json", "member", "list", "--query", q]);
        assert_eq!(r.code, 0, "{r:?}");
        let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["memberId"].as_u64().unwrap())
            .collect()
    };
    let want = expected(&all);
    let kim = NEEDLES.iter().position(|n| *n == "kim").unwrap();
    assert_eq!(listed("kim"), want[kim]);
    assert!(file(&dir).exists(), "the CLI saved the list");
    no_temporary_file(&dir);
    let saved = std::fs::read(file(&dir)).unwrap();
    assert_eq!(listed("KIM"), want[kim]);
    assert_eq!(std::fs::read(file(&dir)).unwrap(), saved);
}
