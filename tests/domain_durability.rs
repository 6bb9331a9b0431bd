//! Durability and concurrency on a real store: many threads hammering the same members never
//! overdraw; a writer process killed with SIGKILL at random moments loses no acknowledged
//! write, and every invariant holds after reopening.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command as Proc, Stdio};
use std::sync::Arc;
use std::time::Duration;

use onepoint::domain::{
    Clock, Command, DealId, DealRequest, DealStatus, Keyed, MemberId, MerchantId, NewMember,
    Outcome, Points,
};
use onepoint::traffic::{Generator, Mix, Spread};
use rand::{Rng, SeedableRng};

fn join_many(core: &onepoint::domain::core::Core, n: usize) {
    let batch = (0..n)
        .map(|i| {
            Keyed::new(
                Command::Join(NewMember {
                    name: format!("member {i}"),
                    phone: None,
                    address: None,
                }),
                None,
            )
        })
        .collect();
    for r in core.execute(batch) {
        r.unwrap();
    }
}

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
    join_many(&f.core, 3);
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

/// Not a test of its own: the writer process the crash test kills. Prints `ACK id member
/// balance` after each acknowledged deal.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let core = Arc::new(support::open(std::path::Path::new(&dir), &Clock::System));
    let members = core.info().unwrap().members;
    let out = Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let threads: Vec<_> = (0..8u64)
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
    for t in threads {
        let _ = t.join();
    }
}

#[test]
fn sigkill_during_heavy_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    {
        let core = support::open(dir.path(), &Clock::System);
        join_many(&core, 20);
    }
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut total_acked = 0;
    for round in 0..5 {
        let mut child = Proc::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (first_tx, first_rx) = std::sync::mpsc::channel::<()>();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let Some(rest) = line.strip_prefix("ACK ") else {
                    continue;
                };
                let p: Vec<&str> = rest.split(' ').collect();
                if let [id, member, balance] = p[..] {
                    acks.push((
                        id.parse::<u64>().unwrap(),
                        member.parse::<u64>().unwrap(),
                        balance.parse::<i64>().unwrap(),
                    ));
                    let _ = first_tx.send(());
                }
            }
            acks
        });
        // Once it is writing, kill it at a random moment under load.
        first_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the child starts acknowledging writes");
        std::thread::sleep(Duration::from_millis(rng.random_range(20..400)));
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        let acked = reader.join().unwrap();
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
