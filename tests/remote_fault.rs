//! The server dies mid-session (kill -9) and comes back on the same store: the breaker
//! opens, reads are served stale, joins and use cancels wait in the durable outbox, other
//! writes fail fast; after the restart the outbox drains, nothing is applied twice, and the
//! feed resumes from the last offset seen without a gap.

mod remote_support;
mod serve_process;

use std::process::Command as Process;
use std::time::{Duration, Instant};

use onepoint::api::{Error, Link, Port};
use onepoint::domain::{
    Amount, CancelKind, DealId, DealRequest, DealType, MemberId, MemberQuery, MerchantId,
    NewMember, Points,
};
use serve_process::ServeProcess;

/// `onepoint serve` as its own process; returns once it says where it listens.
fn spawn(data: &std::path::Path, listen: &str) -> ServeProcess {
    let mut command = Process::new(env!("CARGO_BIN_EXE_onepoint"));
    command
        .args([
            "--data",
            data.to_str().unwrap(),
            "serve",
            "--listen",
            listen,
        ])
        .env("XDG_CONFIG_HOME", data.join("config"));
    serve_process::start(command)
}

/// Polls `done` (a guard against hanging, not a timing assertion).
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn join(p: &dyn Port, name: &str) -> Result<MemberId, Error> {
    p.join(
        NewMember {
            name: name.into(),
            phone: None,
            address: None,
        },
        None,
    )
    .map(|m| m.member_id)
}

fn count_named(p: &dyn Port, name: &str) -> usize {
    let all = p
        .members(&MemberQuery {
            limit: 100,
            ..MemberQuery::default()
        })
        .unwrap();
    all.iter().filter(|m| m.name == name).count()
}

#[test]
fn killed_server_comes_back_and_the_outbox_drains_once() {
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let first = spawn(data.path(), "127.0.0.1:0");
    let url = format!("http://{}", first.addr);
    let p = remote_support::remote(&url, None, state.path());

    let a = join(&p, "Before Kim").unwrap();
    let save = DealRequest::Save {
        member: a,
        merchant: MerchantId(20),
        amount: Amount(100_000),
        date: None,
    };
    p.place_deal(save.clone(), None).unwrap();
    let used = p
        .place_deal(
            DealRequest::Use {
                member: a,
                merchant: MerchantId(20),
                points: Points(10_000),
                amount: None,
                date: None,
            },
            None,
        )
        .unwrap();
    assert_eq!(p.points(a).unwrap().point, Points(90_000));
    let seen = p.events(0, 1000).unwrap();
    let last_seen = seen.last().unwrap().offset;
    assert_eq!(p.link(), Link::Connected);
    let tail = Duration::from_millis(10);
    assert_eq!(p.wait_events(last_seen, tail).unwrap(), last_seen);

    drop(first); // kill -9

    // Reads: the last answer, marked stale.
    assert_eq!(p.points(a).unwrap().point, Points(90_000));
    assert!(p.stale());
    // A long poll is never answered from the cache: a follower must not spin on it.
    assert!(p.wait_events(last_seen, tail).is_err());
    // A save is not queued: it fails with a clear message.
    let e = p.place_deal(save.clone(), None).unwrap_err();
    assert!(matches!(e, Error::Unavailable { .. }), "{e:?}");
    eventually("the breaker to open", || {
        let _ = p.points(a);
        matches!(p.link(), Link::Open { .. })
    });
    let e = p.place_deal(save.clone(), None).unwrap_err();
    assert!(e.to_string().contains("was not sent"), "{e}");
    // A join and a use cancel wait in the outbox.
    let e = join(&p, "Offline Lee").unwrap_err();
    assert!(e.to_string().contains("outbox"), "{e}");
    let cancel = DealRequest::Cancel {
        original: used.id,
        kind: CancelKind::Exactly(DealType::UseCancel),
        date: None,
    };
    let e = p.place_deal(cancel, None).unwrap_err();
    assert!(e.to_string().contains("outbox"), "{e}");
    assert_eq!(p.pending_outbox(), 2);

    // Back, on the same address and store.
    let _second = spawn(data.path(), &first_addr(&url));
    eventually("the outbox to drain", || p.pending_outbox() == 0);
    eventually("the link to close", || {
        let _ = p.info();
        p.link() == Link::Connected
    });
    assert!(!p.stale());

    assert_eq!(
        count_named(&p, "Offline Lee"),
        1,
        "the join was applied once"
    );
    assert_eq!(
        p.points(a).unwrap().point,
        Points(100_000),
        "the cancel gave the points back once"
    );
    assert_eq!(
        p.deal(used.id).unwrap().cancelled_by,
        Some(DealId(used.id.0 + 1))
    );
    assert!(p.check().unwrap().ok);

    // The feed resumes after the last offset seen: nothing lost, nothing repeated.
    let rest = p.events(last_seen, 1000).unwrap();
    let offsets: Vec<u64> = rest.iter().map(|e| e.offset).collect();
    let expected: Vec<u64> = (last_seen + 1..=last_seen + offsets.len() as u64).collect();
    assert_eq!(offsets, expected);
    assert!(rest.iter().any(|e| e.body.event_type() == "MemberCreated"));
    assert!(
        rest.iter()
            .any(|e| e.body.event_type() == "UsedDealCancelled")
    );
    let all = p.events(0, 1000).unwrap();
    assert_eq!(all.len() as u64, last_seen + offsets.len() as u64);

    // A second adapter finds nothing left in the outbox file.
    let again = remote_support::remote(&url, None, state.path());
    assert_eq!(again.pending_outbox(), 0);
}

fn first_addr(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

#[test]
fn sigterm_answers_in_flight_writes_and_flushes_the_store() {
    let data = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let server = spawn(data.path(), "127.0.0.1:0");
    let url = format!("http://{}", server.addr);
    let p = std::sync::Arc::new(remote_support::remote(&url, None, state.path()));
    let a = join(p.as_ref(), "Term Park").unwrap();

    // Writers keep going while the server is told to stop; every write it acknowledged
    // must be in the store afterwards.
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let p = p.clone();
            let progress = progress.clone();
            std::thread::spawn(move || {
                let mut acked = 0i64;
                for _ in 0..5000 {
                    let save = DealRequest::Save {
                        member: a,
                        merchant: MerchantId(20),
                        amount: Amount(100),
                        date: None,
                    };
                    match p.place_deal(save, None) {
                        Ok(_) => {
                            acked += 1;
                            progress.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect();
    eventually("writes to flow", || {
        progress.load(std::sync::atomic::Ordering::Relaxed) >= 20
    });
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    let acked: i64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let mut server = server;
    let status = server.child.wait().unwrap();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status:?}");
    assert!(acked > 0, "some writes were answered before the stop");

    let again = spawn(data.path(), "127.0.0.1:0");
    let q = remote_support::remote(&format!("http://{}", again.addr), None, state.path());
    // Each acknowledged save of 100 earned 1 point; none is lost.
    let balance = q.points(a).unwrap().point;
    assert!(
        balance >= Points(acked * 100),
        "{balance:?} < {acked} saves"
    );
    assert!(q.check().unwrap().ok);
}
