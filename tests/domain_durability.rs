//! Durability and concurrency on a real store: many threads hammering the same members never
//! overdraw; a writer process killed with SIGKILL at random moments loses no acknowledged
//! write, and every invariant holds after reopening.

mod support;

use support::keyed_save;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command as Proc, Stdio};
use std::sync::Arc;
use std::time::Duration;

use onepoint::domain::{
    Clock, Command, DealId, DealRequest, DealStatus, Keyed, MemberId, MerchantId, Outcome, Points,
};
use onepoint::traffic::{Generator, Mix, Spread};
use rand::{Rng, SeedableRng};

/// The crash child's traffic: the shared generator, 60% save, 32% use, 8% cancel, over
/// members `1..=members` and merchants 1 to 5.
fn traffic(seed: u64, members: u64) -> Generator<rand::rngs::StdRng> {
    let mix = Mix {
        uses: 0.32,
        cancels: 0.08,
        joins: 0.0,
        withdrawals: 0.0,
    };
    Generator::new(
        rand::rngs::StdRng::seed_from_u64(seed),
        mix,
        Spread::Uniform,
    )
    .with_members((1..=members).map(MemberId))
    .with_merchants((1..=5).map(MerchantId))
}

#[test]
fn concurrent_uses_on_the_same_members_never_overdraw() {
    let mut f = support::fixture();
    support::join_many(&f.core, 3);
    for m in 1..=3 {
        f.save(m, 1, 1_000_000).unwrap(); // 10000 points each
    }
    let core = Arc::new(std::mem::replace(
        &mut f.core,
        support::open(tempfile::tempdir().unwrap().path(), &Clock::System),
    ));
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let core = core.clone();
            std::thread::spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(t);
                let mut acked = Vec::new();
                for _ in 0..60 {
                    let req = DealRequest::Use {
                        member: MemberId(rng.random_range(1..=3)),
                        merchant: MerchantId(1),
                        points: Points(rng.random_range(1..100_000)),
                        amount: None,
                        date: None,
                    };
                    match core
                        .execute(vec![Keyed::new(Command::Deal(req), None)])
                        .pop()
                        .unwrap()
                    {
                        Ok(Outcome::Deal(d)) => acked.push(d),
                        other => panic!("{other:?}"),
                    }
                }
                acked
            })
        })
        .collect();
    let acked: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let succeeded: i64 = acked
        .iter()
        .filter(|d| d.status == DealStatus::Success)
        .map(|d| d.point.0)
        .sum();
    assert!(
        acked.iter().any(|d| d.status == DealStatus::Fail),
        "the load must hit short balances"
    );
    let total: i64 = (1..=3)
        .map(|m| core.points(MemberId(m)).unwrap().point.0)
        .sum();
    assert_eq!(
        total + succeeded,
        3_000_000,
        "every success is paid from a balance exactly once"
    );
    drop(core);
    f.core = support::open(f.dir.path(), &Clock::System);
    for d in &acked {
        assert_eq!(
            &f.core.deal(d.id).unwrap(),
            d,
            "acknowledged deal survives reopen"
        );
    }
    f.assert_check();
}

const CHILD_ENV: &str = "ONEPOINT_CRASH_CHILD_DIR";
const READERS_ENV: &str = "ONEPOINT_CRASH_CHILD_READERS";
/// Keys of the deals' indexes the child holds back before moving them to sled (see
/// `store_delta.rs`): a few, so it is always in the middle of moving them when killed.
const DELTA_ENV: &str = "ONEPOINT_CRASH_CHILD_DELTA_KEYS";

/// Not a test of its own (ignored; the crash tests run it in a child process): the writer
/// process they kill. Prints `ACK id member balance` after each acknowledged deal and, with
/// readers on, `READ id member merchant type point balance status` for each deal it read.
#[test]
#[ignore = "the crash tests' child process"]
fn crash_child() {
    let dir = std::env::var(CHILD_ENV).expect("run by the crash tests");
    let readers = std::env::var(READERS_ENV).is_ok();
    let path = std::path::Path::new(&dir);
    let core = Arc::new(match std::env::var(DELTA_ENV) {
        Ok(keys) => onepoint::domain::core::Core::open_with_store(
            path,
            onepoint::domain::core::CoreOptions::default(),
            onepoint::domain::store::StoreOptions {
                delta_round_keys: keys.parse().unwrap(),
                ..Default::default()
            },
        )
        .unwrap(),
        Err(_) => support::open(path, &Clock::System),
    });
    let members = core.info().unwrap().members;
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let mut threads: Vec<_> = (0..8u64)
        .map(|t| {
            let core = core.clone();
            let out = out.clone();
            std::thread::spawn(move || {
                let mut traffic = traffic(t ^ std::process::id() as u64, members);
                loop {
                    let req = traffic.deal(None);
                    if let Some(Ok(o @ Outcome::Deal(_))) = core
                        .execute(vec![Keyed::new(Command::Deal(req), None)])
                        .pop()
                    {
                        traffic.learn(&o);
                        let Outcome::Deal(d) = o else { unreachable!() };
                        let mut o = out.lock().unwrap();
                        writeln!(o, "ACK {} {} {}", d.id, d.member_id, d.balance.0).unwrap();
                        o.flush().unwrap();
                    }
                }
            })
        })
        .collect();
    if readers {
        // Readers chase the newest deals: the ones a crash would take back if they were
        // visible before durable.
        threads.extend((0..2u64).map(|t| {
            let core = core.clone();
            let out = out.clone();
            std::thread::spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(t + 100);
                loop {
                    let last = core.info().unwrap().deals;
                    let id = last + rng.random_range(0..3);
                    if id == 0 {
                        continue;
                    }
                    if let Ok(d) = core.deal(DealId(id)) {
                        let mut o = out.lock().unwrap();
                        writeln!(
                            o,
                            "READ {} {} {} {} {} {} {}",
                            d.id,
                            d.member_id,
                            d.merchant_id,
                            d.deal_type.as_str(),
                            d.point.0,
                            d.balance.0,
                            d.status.as_str()
                        )
                        .unwrap();
                        o.flush().unwrap();
                    }
                }
            })
        }));
        // And a member's newest deals: the index held back from sled (`V`).
        threads.push({
            let core = core.clone();
            let out = out.clone();
            std::thread::spawn(move || {
                let mut rng = rand::rngs::StdRng::seed_from_u64(200);
                loop {
                    let m = MemberId(rng.random_range(1..=members));
                    if let Ok(rows) = core.member_history(m, None, 20) {
                        let ids: Vec<String> = rows.iter().map(|r| r.id.0.to_string()).collect();
                        let mut o = out.lock().unwrap();
                        writeln!(o, "HIST {} {} END", m.0, ids.join(" ")).unwrap();
                        o.flush().unwrap();
                    }
                }
            })
        });
    }
    for t in threads {
        let _ = t.join();
    }
}

/// Runs the child on `dir`, kills it with SIGKILL at a random moment under load, and
/// returns the lines it printed.
fn run_and_kill(
    dir: &std::path::Path,
    readers: bool,
    delta_keys: Option<usize>,
    rng: &mut impl Rng,
) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Proc::new(&exe);
    cmd.args([
        "crash_child",
        "--exact",
        "--include-ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, dir)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    if readers {
        cmd.env(READERS_ENV, "1");
    }
    if let Some(k) = delta_keys {
        cmd.env(DELTA_ENV, k.to_string());
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (first_tx, first_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("ACK ") {
                let _ = first_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    // Once it is writing, kill it at a random moment under load.
    first_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the child starts acknowledging writes");
    std::thread::sleep(Duration::from_millis(rng.random_range(20..400)));
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    reader.join().unwrap()
}

/// `ACK` lines as (id, member, balance); a line cut by the kill is skipped.
fn acks(lines: &[String]) -> Vec<(u64, u64, i64)> {
    lines
        .iter()
        .filter_map(|l| {
            let p: Vec<&str> = l.strip_prefix("ACK ")?.split(' ').collect();
            match p[..] {
                [id, member, balance] => Some((
                    id.parse().ok()?,
                    member.parse().ok()?,
                    balance.parse().ok()?,
                )),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn sigkill_during_heavy_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    {
        let core = support::open(dir.path(), &Clock::System);
        support::join_many(&core, 20);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut total_acked = 0;
    for round in 0..5 {
        // Every other round holds back few keys: killed while moving them to sled.
        let delta = (round % 2 == 1).then_some(64);
        let acked = acks(&run_and_kill(dir.path(), false, delta, &mut rng));
        assert!(
            !acked.is_empty(),
            "round {round}: the child acknowledged nothing"
        );
        total_acked += acked.len();

        let core = support::open(dir.path(), &Clock::System);
        for (id, member, balance) in &acked {
            let d = core
                .deal(DealId(*id))
                .unwrap_or_else(|e| panic!("round {round}: acknowledged deal {id} lost: {e}"));
            assert_eq!(
                (d.member_id.0, d.balance.0),
                (*member, *balance),
                "deal {id}"
            );
        }
        let report = core.check().unwrap();
        assert!(report.ok, "round {round}: {:?}", report.violations);
    }
    assert!(total_acked > 0);
}

#[test]
fn sigkill_takes_back_nothing_a_reader_saw() {
    let dir = tempfile::tempdir().unwrap();
    {
        let core = support::open(dir.path(), &Clock::System);
        support::join_many(&core, 20);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut total_read = 0;
    let mut total_history = 0;
    for round in 0..5 {
        let delta = (round % 2 == 0).then_some(64);
        let lines = run_and_kill(dir.path(), true, delta, &mut rng);
        let core = support::open(dir.path(), &Clock::System);
        for line in &lines {
            let Some(rest) = line.strip_prefix("HIST ") else {
                continue;
            };
            let Some(rest) = rest.strip_suffix(" END") else {
                continue; // the last line, cut by the kill
            };
            let mut p = rest.split(' ').filter(|s| !s.is_empty());
            let m = MemberId(p.next().unwrap().parse().unwrap());
            let now: Vec<u64> = (core.member_history(m, None, 10_000).unwrap().iter())
                .map(|r| r.id.0)
                .collect();
            for id in p {
                let id: u64 = id.parse().unwrap();
                assert!(
                    now.contains(&id),
                    "round {round}: deal {id} was in member {}'s history, then not",
                    m.0
                );
                total_history += 1;
            }
        }
        for line in &lines {
            let Some(rest) = line.strip_prefix("READ ") else {
                continue;
            };
            let p: Vec<&str> = rest.split(' ').collect();
            if p.len() != 7 {
                continue; // the last line, cut by the kill
            }
            total_read += 1;
            let id: u64 = p[0].parse().unwrap();
            let d = core
                .deal(DealId(id))
                .unwrap_or_else(|e| panic!("round {round}: deal {id} was read, then lost: {e}"));
            let now = format!(
                "{} {} {} {} {} {} {}",
                d.id,
                d.member_id,
                d.merchant_id,
                d.deal_type.as_str(),
                d.point.0,
                d.balance.0,
                d.status.as_str()
            );
            assert_eq!(now, rest, "round {round}: deal {id} read before the kill");
        }
        let report = core.check().unwrap();
        assert!(report.ok, "round {round}: {:?}", report.violations);
    }
    assert!(total_read > 0, "the readers read nothing");
    assert!(total_history > 0, "no member's history was read");
}

fn open_faulty(
    dir: &std::path::Path,
    faults: &Arc<onepoint::domain::wal::Faults>,
) -> onepoint::domain::core::Core {
    use onepoint::domain::core::{Core, CoreOptions};
    use onepoint::domain::store::StoreOptions;
    Core::open_with_store(
        dir,
        CoreOptions {
            clock: Clock::fixed(support::NOW_MS),
            ..CoreOptions::default()
        },
        StoreOptions {
            faults: Some(faults.clone()),
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn a_failed_fsync_shows_nothing_acknowledges_nothing_and_refuses_later_writes() {
    let dir = tempfile::tempdir().unwrap();
    let faults = onepoint::domain::wal::Faults::new();
    let core = open_faulty(dir.path(), &faults);
    support::join_many(&core, 3);
    core.execute(vec![keyed_save("first", 1, 10_000)])
        .pop()
        .unwrap()
        .unwrap();
    let before = core.info().unwrap();
    faults.fail_syncs_after(0);
    let e = core
        .execute(vec![keyed_save("lost", 2, 20_000)])
        .pop()
        .unwrap()
        .unwrap_err();
    assert!(e.to_string().contains("fsync"), "{e}");
    // Nothing of it is visible: not the deal, not the counters, not the balance.
    let after = core.info().unwrap();
    assert_eq!((after.deals, after.events), (before.deals, before.events));
    assert!(core.deal(DealId(before.deals + 1)).is_err());
    assert_eq!(core.points(MemberId(2)).unwrap().point, Points::ZERO);
    // The store takes no more writes until reopened.
    faults.fail_syncs_after(-1);
    assert!(
        core.execute(vec![keyed_save("later", 3, 1_000)])
            .pop()
            .unwrap()
            .is_err()
    );
    drop(core);
    let core = support::open(dir.path(), &Clock::fixed(support::NOW_MS));
    let reopened = core.info().unwrap();
    assert_eq!(
        (reopened.deals, reopened.events),
        (before.deals, before.events)
    );
    assert!(core.check().unwrap().ok);
    // The refused write, retried with its key, happens once.
    let d = core
        .execute(vec![keyed_save("lost", 2, 20_000)])
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(
        core.execute(vec![keyed_save("lost", 2, 20_000)])
            .pop()
            .unwrap()
            .unwrap(),
        d
    );
    assert_eq!(core.info().unwrap().deals, before.deals + 1);
}

/// `Core::submit` (the server's writes: no thread waits on them) answers through its
/// function with what `execute` answers, only once the write is durable and visible: read
/// from inside the function, the deal is there; a write the log refuses is answered with
/// the error, and nothing of it is visible.
#[test]
fn a_submitted_write_is_answered_through_its_function_once_durable_and_visible() {
    let dir = tempfile::tempdir().unwrap();
    let faults = onepoint::domain::wal::Faults::new();
    let core = Arc::new(open_faulty(dir.path(), &faults));
    support::join_many(&core, 2);
    // Each answer waits for a word the test sends only once `submit` has returned: a
    // `submit` that waited for its own answer would never get it (`gated` is false).
    let submit = |batch: Vec<Keyed>| {
        let (tx, rx) = std::sync::mpsc::channel();
        let (go, gate) = std::sync::mpsc::channel::<()>();
        let weak = Arc::downgrade(&core);
        core.submit(
            batch,
            Box::new(move |results| {
                let gated = gate.recv_timeout(Duration::from_secs(5)).is_ok();
                // What a reader sees at the moment the caller is told (the upgraded handle
                // is dropped here, before the answer leaves: the test keeps the last one).
                let seen = weak
                    .upgrade()
                    .map(|c| (c.info().unwrap().deals, c.deal(DealId(1))));
                tx.send((results, seen, gated)).unwrap();
            }),
        );
        let _ = go.send(());
        let (results, seen, gated) = rx.recv_timeout(Duration::from_secs(30)).expect("an answer");
        assert!(gated, "submit returned only once its write was answered");
        (results, seen)
    };
    let (mut results, seen) = submit(vec![keyed_save("first", 1, 10_000)]);
    let deal = match results.pop().unwrap().unwrap() {
        Outcome::Deal(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!((deal.id, deal.point), (DealId(1), Points(10_000)));
    let (deals, read) = seen.unwrap();
    assert_eq!(deals, 1);
    assert_eq!(read.unwrap(), deal);
    // The same key again: the same answer, nothing written twice.
    let (mut again, _) = submit(vec![keyed_save("first", 1, 10_000)]);
    assert_eq!(again.pop().unwrap().unwrap(), Outcome::Deal(deal.clone()));
    faults.fail_syncs_after(0);
    let (mut refused, seen) = submit(vec![keyed_save("lost", 2, 20_000)]);
    let e = refused.pop().unwrap().unwrap_err();
    assert!(e.to_string().contains("fsync"), "{e}");
    assert_eq!(seen.unwrap().0, 1);
    assert!(core.deal(DealId(2)).is_err());
    // An empty batch is answered at once, on the caller's thread.
    let (tx, rx) = std::sync::mpsc::channel();
    core.submit(Vec::new(), Box::new(move |r| tx.send(r).unwrap()));
    assert!(rx.try_recv().unwrap().is_empty());
}

#[test]
fn a_chunk_failing_inside_a_group_stops_the_store_and_reopening_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let faults = onepoint::domain::wal::Faults::new();
    let core = open_faulty(dir.path(), &faults);
    support::join_many(&core, 50);
    let batch = |_: ()| -> Vec<Keyed> {
        (0..800)
            .map(|i| keyed_save(&format!("k{i}"), 1 + i % 50, 1_000 + i))
            .collect()
    };
    // 800 saves write about 10,000 keys: many log records in one group, which the apply
    // thread writes to sled in several batches (`APPLY_KEYS`). The third fails, after the
    // group was durable in the log and answered.
    // Sled has applied the joins (a read waits for that) before its applies fail.
    core.info().unwrap();
    faults.fail_applies_after(2);
    let results = core.execute(batch(()));
    assert_eq!(results.len(), 800);
    assert!(
        results.iter().all(|r| r.is_ok()),
        "durable: answered as done"
    );
    assert!(core.info().is_err(), "no read that would miss part of it");
    assert!(
        core.execute(vec![keyed_save("after", 1, 1_000)])
            .pop()
            .unwrap()
            .is_err(),
        "no writes after a failed apply"
    );
    drop(core);
    // The group was durable in the log: reopening applies the rest of it.
    let core = support::open(dir.path(), &Clock::fixed(support::NOW_MS));
    let info = core.info().unwrap();
    assert_eq!(info.deals, 800);
    let r = core.check().unwrap();
    assert!(r.ok, "{:?}", r.violations);
    // Retried with the same keys, every command answers its recorded outcome, once.
    let again = core.execute(batch(()));
    assert!(again.iter().all(|r| r.is_ok()));
    assert_eq!(core.info().unwrap().deals, 800);
    for (i, r) in again.into_iter().enumerate() {
        match r.unwrap() {
            Outcome::Deal(d) => assert_eq!(d.member_id, MemberId(1 + i as u64 % 50)),
            o => panic!("{o:?}"),
        }
    }
}

#[test]
fn an_older_store_is_migrated_to_the_settlement_totals_on_open() {
    use onepoint::domain::schema::{PENDING, SCHEMA};
    use onepoint::domain::store::{Store, StoreOptions, WriteSet};
    let mut f = support::fixture();
    support::join_many(&f.core, 2);
    f.save(1, 7, 1_000_000).unwrap();
    f.use_pts(1, 7, 30_000).unwrap();
    f.use_pts(1, 8, 1_000).unwrap();
    let d = f.use_pts(1, 7, 2_000).unwrap();
    f.cancel(d.id.0).unwrap();
    let month =
        onepoint::domain::Month::of(support::NOW_MS, chrono::FixedOffset::east_opt(0).unwrap());
    let want: Vec<_> = [7, 8]
        .iter()
        .map(|m| {
            f.core
                .preview_billing(onepoint::domain::MerchantId(*m), month)
                .unwrap()
        })
        .collect();
    assert!(want[0].deal_count > 0);
    // Make it a version-1 store: no schema version, no `Q` totals.
    let dir = f.dir.path().to_path_buf();
    f.core = support::open(tempfile::tempdir().unwrap().path(), &Clock::System);
    {
        let store = Store::open(&dir, StoreOptions::default()).unwrap();
        let mut set = WriteSet::default();
        set.remove(SCHEMA);
        let q: Vec<_> = store
            .scan_prefix(&[PENDING])
            .map(|r| r.unwrap().0)
            .collect();
        assert!(!q.is_empty());
        for k in q {
            set.remove(&k);
        }
        store.commit(set).unwrap();
    }
    f.core = support::open(&dir, &f.clock);
    for (m, w) in [7, 8].iter().zip(&want) {
        let got = f
            .core
            .preview_billing(onepoint::domain::MerchantId(*m), month)
            .unwrap();
        assert_eq!(&got, w, "merchant {m}");
    }
    f.assert_check();
}

/// A version-2 store (events as JSON, dashboard rows copying their deal, the merchant index
/// holding the member) opens as version 3: every event reads back the same, now in the
/// binary form, and the indexes hold keys only.
#[test]
fn a_version_2_store_is_migrated_to_binary_events_and_key_only_indexes() {
    use onepoint::domain::schema::{self, EVENT, SCHEMA, VIEW, VIEW_MERCHANT, key1, read_u64};
    use onepoint::domain::store::{Store, StoreOptions, WriteSet};
    use onepoint::domain::{
        BillingRequest, Command, DealRequest, Event, MemberId, MerchantId, NewMerchant, dashboard,
    };
    let mut f = support::fixture();
    support::join_many(&f.core, 3);
    f.one(Command::AddMerchant(NewMerchant {
        id: MerchantId(7),
        name: "Cafe".into(),
        earn_rate: None,
    }))
    .unwrap();
    f.save(1, 7, 1_000_000).unwrap();
    f.deal(DealRequest::Save {
        member: MemberId(2),
        merchant: MerchantId(8),
        amount: onepoint::domain::Amount(50_000),
        date: Some(support::NOW_MS - 3_600_000),
    })
    .unwrap();
    let used = f.use_pts(1, 7, 30_000).unwrap();
    f.use_pts(3, 7, 1_000).unwrap(); // refused for want of points: a failed deal
    let month =
        onepoint::domain::Month::of(support::NOW_MS, chrono::FixedOffset::east_opt(0).unwrap());
    f.one(Command::Bill(BillingRequest {
        merchant: MerchantId(7),
        month,
    }))
    .unwrap();
    f.cancel(used.id.0).unwrap();
    f.one(Command::Withdraw(MemberId(2))).unwrap();
    let events = f.core.events(0, 1000).unwrap();
    assert!(events.len() >= 15, "{}", events.len());
    let history = f.core.member_history(MemberId(1), None, 100).unwrap();
    assert_eq!(history.len(), 3);

    // Write it back as version 2 wrote it.
    let dir = f.dir.path().to_path_buf();
    f.core = support::open(tempfile::tempdir().unwrap().path(), &Clock::System);
    let deals: Vec<onepoint::domain::Deal>;
    {
        let store = Store::open(&dir, StoreOptions::default()).unwrap();
        deals = events
            .iter()
            .filter_map(|e| e.body.deal().map(|d| d.id))
            .map(|id| {
                let v = store.get_val(&key1(schema::DEAL, id.0)).unwrap().unwrap();
                schema::decode(&v).unwrap()
            })
            .collect();
        let mut set = WriteSet::default();
        set.put(SCHEMA, &2u64.to_be_bytes());
        for e in &events {
            set.put(&key1(EVENT, e.offset), &serde_json::to_vec(e).unwrap());
        }
        for d in &deals {
            let row = dashboard::row_of(d, onepoint::domain::MemberStatus::Valid);
            set.put(
                &dashboard::row_key(d.member_id, d.id),
                &schema::encode(&row),
            );
            let m =
                onepoint::domain::Month::of(d.deal_date, chrono::FixedOffset::east_opt(0).unwrap());
            set.put(
                &dashboard::merchant_key(d.merchant_id, m, d.id),
                &d.member_id.0.to_be_bytes(),
            );
        }
        store.commit(set).unwrap();
        let first = store.get_val(&key1(EVENT, 1)).unwrap().unwrap();
        assert_eq!(
            first[0], b'{',
            "the old form is in place before the migration"
        );
    }
    f.core = support::open(&dir, &f.clock);
    assert_eq!(f.core.events(0, 1000).unwrap(), events);
    assert_eq!(
        f.core.member_history(MemberId(1), None, 100).unwrap(),
        history
    );
    f.assert_check();
    let store = closed_at_the_latest_schema(&mut f);
    for r in store.scan_prefix(&[EVENT]) {
        let (k, v) = r.unwrap();
        assert_eq!(v[0], 1, "event {} is binary", read_u64(&k, 1));
        let no_deal = |_| Err(onepoint::domain::Error::store("no deal"));
        if let Ok(ev) = Event::decode_stored(read_u64(&k, 1), &v, no_deal) {
            assert!(
                ev.body.deal().is_none(),
                "only non-deal events decode alone"
            );
        }
    }
    for tag in [VIEW, VIEW_MERCHANT] {
        let n = store
            .scan_prefix(&[tag])
            .map(|r| {
                let (_, v) = r.unwrap();
                assert!(v.is_empty());
            })
            .count();
        assert_eq!(n, deals.len());
    }
}

/// A store whose log holds records sled never applied (as after a crash): a big keyed
/// group logged, its apply failed, the store closed.
fn store_with_a_log_tail() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let faults = onepoint::domain::wal::Faults::new();
    let core = open_faulty(dir.path(), &faults);
    support::join_many(&core, 50);
    // Sled has applied the joins (a read waits for that) before its applies fail.
    core.info().unwrap();
    faults.fail_applies_after(0);
    let batch = (0..300)
        .map(|i| keyed_save(&format!("k{i}"), 1 + i % 50, 1_000 + i))
        .collect();
    // Durable in the log, so answered as done; sled never applies it.
    assert!(core.execute(batch).iter().all(|r| r.is_ok()));
    drop(core);
    let segments: Vec<_> = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    let seg = segments[0].clone();
    (dir, seg)
}

fn try_open(dir: &std::path::Path) -> onepoint::domain::Result<onepoint::domain::core::Core> {
    onepoint::domain::core::Core::open(
        dir,
        onepoint::domain::core::CoreOptions {
            clock: Clock::fixed(support::NOW_MS),
            ..Default::default()
        },
    )
}

#[test]
fn a_log_cut_short_by_a_crash_opens_with_every_whole_record() {
    let (dir, seg) = store_with_a_log_tail();
    let len = std::fs::metadata(&seg).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.set_len(len - 7).unwrap();
    drop(f);
    let core = try_open(dir.path()).unwrap();
    let deals = core.info().unwrap().deals;
    assert!(deals > 0 && deals < 300, "{deals}");
    let r = core.check().unwrap();
    assert!(r.ok, "{:?}", r.violations);
}

/// The open applies the log's tail again but leaves its flush to the checkpoint thread
/// (an open after a kill does not wait for sled's flush): the records are visible at
/// once, and within a few seconds, with no other write and the store still open, sled
/// holds them durably and the log lets them go.
#[test]
fn a_log_tail_applied_at_open_is_checkpointed_by_the_open_store_without_new_writes() {
    let (dir, seg) = store_with_a_log_tail();
    let core = try_open(dir.path()).unwrap();
    assert_eq!(core.info().unwrap().deals, 300);
    let t0 = std::time::Instant::now();
    while seg.exists() && t0.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !seg.exists(),
        "the log segment the open applied again is still kept after {:?}",
        t0.elapsed()
    );
    drop(core);
    let core = try_open(dir.path()).unwrap();
    assert_eq!(core.info().unwrap().deals, 300);
    let r = core.check().unwrap();
    assert!(r.ok, "{:?}", r.violations);
}

#[test]
fn a_damaged_log_is_a_clear_error_naming_the_file() {
    let (dir, seg) = store_with_a_log_tail();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[40] ^= 0x55;
    std::fs::write(&seg, &bytes).unwrap();
    let e = try_open(dir.path()).err().expect("refused").to_string();
    assert!(
        e.contains(&seg.display().to_string()) && e.contains("damaged"),
        "{e}"
    );
    // Opening it changed nothing.
    assert_eq!(std::fs::read(&seg).unwrap(), bytes);
}

#[test]
fn a_truncated_database_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    {
        let core = support::open(dir.path(), &Clock::System);
        support::join_many(&core, 200);
    }
    let db = dir.path().join("sled").join("db");
    let original = std::fs::read(&db).unwrap();
    let mut refused = 0;
    for cut in [original.len() / 3, original.len() / 2, 4096, 600, 100, 9, 0] {
        std::fs::write(&db, &original[..cut]).unwrap();
        let opened = std::panic::catch_unwind(|| try_open(dir.path()).map(|_| ()));
        match opened.unwrap_or_else(|_| panic!("a panic out of open at cut {cut}")) {
            Ok(()) => {}
            Err(e) => {
                refused += 1;
                let e = e.to_string();
                assert!(
                    e.contains(&dir.path().display().to_string()) && e.contains("backup"),
                    "{e}"
                );
            }
        }
    }
    assert!(refused > 0, "some cut must be refused, naming the store");
}

#[test]
fn an_unfinished_snapshot_left_by_a_full_disk_does_not_brick_the_store() {
    let dir = tempfile::tempdir().unwrap();
    {
        let core = support::open(dir.path(), &Clock::System);
        support::join_many(&core, 5);
    }
    std::fs::write(
        dir.path()
            .join("sled")
            .join("snap.00000000000ABCDE.generating"),
        b"",
    )
    .unwrap();
    let core = try_open(dir.path()).unwrap();
    assert_eq!(core.info().unwrap().members, 5);
}

/// `Store::snapshot` reopens sled so that it writes a snapshot (what bounds the next
/// open's work; on a thread of its own, in place by the close): never under a live
/// iterator (it gives up instead of closing sled under a reader), and with every write
/// still there after it.
#[test]
fn a_snapshot_waits_for_readers_and_keeps_every_write() {
    use onepoint::domain::store::{Store, StoreOptions, WriteSet};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let mut set = WriteSet::default();
    for i in 0..2_000u32 {
        set.put(
            &[b"k".as_slice(), &i.to_be_bytes()].concat(),
            &i.to_le_bytes(),
        );
    }
    store.commit(set).unwrap();
    let snaps = || {
        std::fs::read_dir(dir.path().join("sled"))
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.starts_with("snap.") && !name.ends_with(".generating")
            })
            .count()
    };
    assert_eq!(snaps(), 0, "a new store has no snapshot yet");
    let mut reading = store.scan_prefix(b"k");
    let first = reading.next().unwrap().unwrap();
    assert_eq!(&*first.1, &0u32.to_le_bytes());
    assert!(
        !store.snapshot().unwrap(),
        "no reopen under a live iterator"
    );
    assert_eq!(reading.count(), 1_999, "the reader read on");
    assert!(
        store.snapshot().unwrap(),
        "the reopen once no reader is left"
    );
    assert_eq!(store.scan_prefix(b"k").count(), 2_000);
    let v = store.get_val(&[b"k".as_slice(), &1_999u32.to_be_bytes()].concat());
    assert_eq!(&*v.unwrap().unwrap(), &1_999u32.to_le_bytes());
    let mut set = WriteSet::default();
    set.put(b"after", b"1");
    store.commit(set).unwrap();
    drop(store);
    // sled writes it on a thread of its own; the close waits for it.
    assert_eq!(snaps(), 1, "sled wrote its snapshot");
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(store.scan_prefix(b"k").count(), 2_000);
    assert!(store.get_val(b"after").unwrap().is_some());
}

/// Snapshots (sled closed and reopened) in the middle of writers and readers: no write is
/// lost or refused, no reader fails, and the store checks out after a reopen.
#[test]
fn snapshots_under_writers_and_readers_lose_nothing() {
    let mut f = support::fixture();
    support::join_many(&f.core, 50);
    let core = Arc::new(std::mem::replace(
        &mut f.core,
        support::open(tempfile::tempdir().unwrap().path(), &Clock::System),
    ));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let core = core.clone();
            std::thread::spawn(move || {
                let mut traffic = traffic(t, 50);
                let mut acked = Vec::new();
                for _ in 0..150 {
                    let r = core
                        .execute(vec![Keyed::new(Command::Deal(traffic.deal(None)), None)])
                        .pop()
                        .unwrap();
                    match r {
                        Ok(Outcome::Deal(d)) => {
                            traffic.learn(&Outcome::Deal(d.clone()));
                            acked.push(d);
                        }
                        other => panic!("{other:?}"),
                    }
                }
                acked
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let core = core.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let q = onepoint::domain::DealQuery {
                        limit: 50,
                        ..Default::default()
                    };
                    for d in core.deals(&q).unwrap() {
                        // A cancel may land in between: only `cancelledBy` may change.
                        let mut again = core.deal(d.id).unwrap();
                        again.cancelled_by = d.cancelled_by;
                        assert_eq!(again, d);
                    }
                    core.events(0, 100).unwrap();
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let mut snapshots = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        if core.snapshot().unwrap() {
            snapshots += 1;
        }
    }
    let acked: Vec<_> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(
        snapshots >= 2 && reads > 0,
        "{snapshots} snapshots, {reads} reads"
    );
    assert_eq!(acked.len(), 600);
    drop(core);
    f.core = support::open(f.dir.path(), &Clock::System);
    for d in &acked {
        let mut now = f.core.deal(d.id).unwrap();
        now.cancelled_by = d.cancelled_by;
        assert_eq!(&now, d, "acknowledged deal survives");
    }
    f.assert_check();
}

/// The pipeline's stage clock (`Core::pipeline_stages`, which the ingest benchmark
/// reports): it counts each answered command once, and its stages up to the answer, which
/// follow one another from the moment a write is queued to the moment it is durable, add
/// up to no more than the time its caller waited; the log's sync is among them.
#[test]
fn the_stage_clock_counts_each_command_once_within_the_time_its_caller_waited() {
    let f = support::fixture();
    support::join_many(&f.core, 50);
    let (before, before_n) = f.core.pipeline_stages();
    let core = &f.core;
    let waited_us: u128 = std::thread::scope(|s| {
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                s.spawn(move || {
                    let mut waited = 0u128;
                    for i in 0..40u64 {
                        let save =
                            keyed_save(&format!("stage-{t}-{i}"), 1 + (t * 40 + i) % 50, 100);
                        let t0 = std::time::Instant::now();
                        let r = core.execute(vec![save]);
                        waited += t0.elapsed().as_micros();
                        r.into_iter().next().unwrap().expect("save");
                    }
                    waited
                })
            })
            .collect();
        threads.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let (after, after_n) = f.core.pipeline_stages();
    assert_eq!(after_n - before_n, 8 * 40, "commands counted");
    let by_stage: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    // A write is answered once durable: the stages up to the log's sync are what its
    // caller waited for (the apply comes after the answer).
    let total: u64 = by_stage[..4].iter().sum();
    let names = onepoint::domain::core::STAGE_NAMES;
    assert!(
        by_stage[3] > 0,
        "no time in the log's sync: {names:?} {by_stage:?}"
    );
    assert!(
        u128::from(total) <= waited_us,
        "the stages add up to {total} us, more than the {waited_us} us the callers waited: {names:?} {by_stage:?}"
    );
}

/// A version-3 store (each member's report fields in a `Y p` record of their own, the
/// account alone under `A`) opens as version 4: every account and report reads back the
/// same, `Y p` is gone, and `check` passes. A migration a crash cut short (some accounts
/// converted, every `Y p` still there) is finished by the next open.
#[test]
fn a_version_3_store_moves_the_members_report_fields_into_their_accounts() {
    for cut_short in [false, true] {
        version_3_store_migrated(cut_short);
    }
}

fn version_3_store_migrated(cut_short: bool) {
    use onepoint::domain::reports::{Report, ReportKind, ReportQuery};
    use onepoint::domain::schema::{self, ACCOUNT, REPORTS, SCHEMA, key1, read_u64};
    use onepoint::domain::store::{Store, StoreOptions, WriteSet};
    use onepoint::domain::{Command, MemberId, MemberRecord, Points};
    /// `Y p` as version 3 wrote it.
    #[derive(serde::Serialize)]
    struct StatsV3 {
        joined_at: i64,
        withdrawn_at: Option<i64>,
        last_deal: Option<i64>,
        frequency: u64,
        spend: u64,
        cancels: u64,
        failed: u64,
        balance: Points,
    }
    let mut f = support::fixture();
    support::join_many(&f.core, 5);
    for (m, amount) in [(1, 1_000_000), (2, 40_000), (3, 250_000), (1, 30_000)] {
        f.save(m, 7, amount).unwrap();
    }
    f.use_pts(1, 7, 3_000).unwrap();
    f.use_pts(2, 7, 90_000).unwrap(); // refused for want of points: a failed deal
    let d = f.save(3, 8, 10_000).unwrap();
    f.cancel(d.id.0).unwrap();
    f.one(Command::Withdraw(MemberId(4))).unwrap();
    let ids: Vec<MemberId> = (1..=5).map(MemberId).collect();
    let totals = f.core.member_totals(&ids).unwrap();
    let segments = f
        .core
        .report(&ReportQuery::new(ReportKind::Segments))
        .unwrap();
    let Report::Segments(s) = &segments else {
        panic!("{segments:?}")
    };
    assert!(s.rows.iter().map(|r| r.members).sum::<u64>() >= 4, "{s:?}");
    let details: Vec<_> = ids.iter().map(|&m| f.core.member(m).unwrap()).collect();

    // Write it back as version 3 kept it.
    let dir = f.dir.path().to_path_buf();
    f.core = support::open(tempfile::tempdir().unwrap().path(), &Clock::System);
    {
        let store = Store::open(&dir, StoreOptions::default()).unwrap();
        let mut set = WriteSet::default();
        set.put(SCHEMA, &3u64.to_be_bytes());
        for r in store.scan_prefix(&[ACCOUNT]) {
            let (k, v) = r.unwrap();
            let member = read_u64(&k, 1);
            let rec: MemberRecord = schema::decode(&v).unwrap();
            let (a, st) = (rec.account, rec.stats);
            let old = StatsV3 {
                joined_at: st.joined_at,
                withdrawn_at: st.withdrawn_at,
                last_deal: st.last_deal,
                frequency: st.frequency,
                spend: st.spend,
                cancels: st.cancels,
                failed: a.failed,
                balance: a.balance,
            };
            let mut yp = vec![REPORTS, b'p'];
            yp.extend_from_slice(&member.to_be_bytes());
            set.put(&yp, &schema::encode(&old));
            // Cut short: the first two accounts were converted already.
            if !(cut_short && member <= 2) {
                set.put(&key1(ACCOUNT, member), &schema::encode(&a));
            }
        }
        store.commit(set).unwrap();
        let v = store.get_val(&key1(ACCOUNT, 3)).unwrap().unwrap();
        assert!(
            schema::decode::<MemberRecord>(&v).is_err(),
            "the old form is in place before the migration"
        );
    }
    f.core = support::open(&dir, &f.clock);
    assert_eq!(f.core.member_totals(&ids).unwrap(), totals);
    assert_eq!(
        f.core
            .report(&ReportQuery::new(ReportKind::Segments))
            .unwrap(),
        segments
    );
    let after: Vec<_> = ids.iter().map(|&m| f.core.member(m).unwrap()).collect();
    assert_eq!(after, details);
    f.assert_check();
    // Writes go on from there.
    f.save(5, 7, 20_000).unwrap();
    f.assert_check();
    let store = closed_at_the_latest_schema(&mut f);
    assert_eq!(
        store.scan_prefix(&[REPORTS, b'p']).count(),
        0,
        "Y p is gone"
    );
    for r in store.scan_prefix(&[ACCOUNT]) {
        let (k, v) = r.unwrap();
        let rec: MemberRecord = schema::decode(&v).unwrap();
        let m = read_u64(&k, 1);
        assert!(rec.stats.joined_at > 0, "member {m}: {rec:?}");
        assert_eq!(rec.stats.withdrawn_at.is_some(), m == 4, "member {m}");
    }
}

/// Closes the fixture's core and opens its store raw, which must be at the latest layout.
fn closed_at_the_latest_schema(f: &mut support::Fixture) -> onepoint::domain::store::Store {
    use onepoint::domain::schema::{self, SCHEMA, read_u64};
    use onepoint::domain::store::{Store, StoreOptions};
    drop(std::mem::replace(
        &mut f.core,
        support::open(tempfile::tempdir().unwrap().path(), &Clock::System),
    ));
    let store = Store::open(f.dir.path(), StoreOptions::default()).unwrap();
    assert_eq!(
        read_u64(&store.get_val(SCHEMA).unwrap().unwrap(), 0),
        schema::SCHEMA_VERSION
    );
    store
}

/// Writes are answered once durable, before sled has applied them; a read started after
/// an answer waits until sled has, so every read sees every write answered before it.
/// Each read runs on its own thread, started while sled is held back: one that did not
/// wait would answer at once, without the deal.
#[test]
fn an_answered_write_is_seen_by_every_read_after_it_while_sled_is_behind() {
    use onepoint::domain::query::{BalanceQuery, DealQuery, MemberQuery};
    let dir = tempfile::tempdir().unwrap();
    let faults = onepoint::domain::wal::Faults::new();
    let core = Arc::new(open_faulty(dir.path(), &faults));
    support::join_many(&core, 3);
    let before = core.info().unwrap();
    faults.hold_applies(true);
    let (tx, rx) = std::sync::mpsc::channel();
    let c = core.clone();
    std::thread::spawn(move || {
        let _ = tx.send(c.execute(vec![keyed_save("held", 2, 50_000)]));
    });
    // Answered while sled is held: the answer waits for the fsync, not for sled.
    let answer = rx.recv_timeout(Duration::from_secs(30));
    let deal = match answer.expect("answered while sled is held").pop().unwrap() {
        Ok(Outcome::Deal(d)) => d,
        r => panic!("{r:?}"),
    };
    type Read = Box<dyn FnOnce(&onepoint::domain::core::Core) -> bool + Send>;
    let id = deal.id;
    let reads: Vec<(&str, Read)> = vec![
        (
            "deal",
            Box::new(move |c| c.deal(id).is_ok_and(|d| d.id == id)),
        ),
        (
            "deals",
            Box::new(move |c| {
                let q = DealQuery {
                    limit: 10,
                    ..Default::default()
                };
                c.deals(&q).unwrap().iter().any(|d| d.id == id)
            }),
        ),
        (
            "info",
            Box::new(move |c| c.info().unwrap().deals == before.deals + 1),
        ),
        (
            "events",
            Box::new(move |c| !c.events(before.events, 10).unwrap().is_empty()),
        ),
        (
            "points",
            Box::new(|c| c.points(MemberId(2)).unwrap().point > Points::ZERO),
        ),
        (
            "member",
            Box::new(|c| c.member(MemberId(2)).unwrap().point > Points::ZERO),
        ),
        (
            "members",
            Box::new(|c| {
                let q = MemberQuery {
                    limit: 10,
                    ..Default::default()
                };
                let m = c.members(&q).unwrap();
                m.iter()
                    .any(|m| m.member_id == MemberId(2) && m.point > Points::ZERO)
            }),
        ),
        (
            "balances",
            Box::new(|c| {
                let q = BalanceQuery {
                    limit: 10,
                    ..Default::default()
                };
                let b = c.balances(&q).unwrap();
                b.iter()
                    .any(|b| b.member_id == MemberId(2) && b.point > Points::ZERO)
            }),
        ),
        (
            "check",
            Box::new(move |c| c.check().unwrap().deals == before.deals + 1),
        ),
    ];
    let (seen_tx, seen) = std::sync::mpsc::channel();
    let n = reads.len();
    for (name, read) in reads {
        let c = core.clone();
        let seen_tx = seen_tx.clone();
        std::thread::spawn(move || {
            let _ = seen_tx.send((name, read(&c)));
        });
    }
    // None answers while sled is behind the answered write.
    let early = seen.recv_timeout(Duration::from_millis(500));
    faults.hold_applies(false);
    if let Ok((name, saw)) = early {
        panic!("the read {name} answered before sled applied the answered deal (saw it: {saw})");
    }
    for _ in 0..n {
        let (name, saw) = seen.recv_timeout(Duration::from_secs(30)).unwrap();
        assert!(saw, "the read {name} missed the deal answered before it");
    }
}

/// A durable write whose apply to sled fails is still answered as done (it is in the log);
/// the store then refuses writes, and reads that would have to see it are refused rather
/// than answered without it; reopening applies it from the log.
#[test]
fn a_failed_apply_refuses_the_reads_that_would_miss_a_durable_write() {
    let dir = tempfile::tempdir().unwrap();
    let faults = onepoint::domain::wal::Faults::new();
    let core = open_faulty(dir.path(), &faults);
    support::join_many(&core, 3);
    // Sled has applied the joins (a read waits for that) before its applies fail.
    core.info().unwrap();
    faults.fail_applies_after(0);
    let deal = support::saved(&core, "x", 2, 50_000);
    let e = core.deal(deal.id).unwrap_err().to_string();
    assert!(e.contains("injected failure"), "{e}");
    assert!(core.info().is_err());
    drop(core);
    let core = support::open(dir.path(), &Clock::fixed(support::NOW_MS));
    assert_eq!(core.deal(deal.id).unwrap(), deal);
}
