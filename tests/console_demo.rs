//! The demo store: seeded from `assets/demo/` through the port, it holds named members and
//! merchants, months of history, withdrawals and settlements, and passes `check`. And the
//! simulator moves it at the rate it is given, and not at all while paused (driven step by
//! step: no sleeps, no timing).

use std::sync::Arc;
use std::time::{Duration, Instant};

use onepoint::api::Port;
use onepoint::demo::open_seeded;
use onepoint::demo::simulator::{Simulator, Traffic};
use onepoint::domain::{
    BillingQuery, CoreSettings, DealQuery, DealStatus, MemberQuery, MemberStatus,
};

#[test]
fn the_demo_store_is_seeded_with_named_people_history_and_settlements() {
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let (port, members, merchants) = open_seeded(dir.path(), CoreSettings::default()).unwrap();
    eprintln!("demo seed took {:?} (debug build)", t.elapsed());
    assert_eq!(members, 300);
    assert_eq!(merchants.len(), 15);
    let info = port.info().unwrap();
    assert!(info.deals >= 4_900, "deals: {}", info.deals);
    let ms = port.merchants(100).unwrap();
    assert!(
        ms.iter()
            .any(|m| m.merchant.name.as_deref() == Some("Café Mori"))
    );
    let people = port
        .members(&MemberQuery {
            limit: 300,
            ..Default::default()
        })
        .unwrap();
    assert!(
        people
            .iter()
            .any(|m| m.name.chars().any(|c| ('가'..='힣').contains(&c)))
    );
    assert!(people.iter().any(|m| m.name.is_ascii()));
    assert!(people.iter().any(|m| m.status == MemberStatus::Invalid));
    let deals = port
        .deals(&DealQuery {
            limit: 5_000,
            ..Default::default()
        })
        .unwrap();
    let first = deals.iter().map(|d| d.deal_date).min().unwrap();
    assert!(
        info.deals > 0 && (t0() - first) > 100 * 86_400_000,
        "months of history"
    );
    assert!(
        deals.iter().any(|d| d.status == DealStatus::Fail),
        "some failed uses"
    );
    assert!(
        deals.iter().any(|d| d.original_deal_id.is_some()),
        "some cancels"
    );
    let bills = port.billings(&BillingQuery::default()).unwrap();
    assert!(bills.len() >= 15, "past months settled: {}", bills.len());
    let report = port.check().unwrap();
    assert!(report.ok, "{:?}", report.violations);
    // A second open finds the store seeded and does not seed again; it opens with the
    // settings' cache (`onepoint demo --cache-mb`, the console's 32 MB by default), which
    // the demo once left at the store's default.
    drop(port);
    let settings = CoreSettings {
        cache_bytes: 24 << 20,
        ..CoreSettings::default()
    };
    let (port, members, _) = open_seeded(dir.path(), settings).unwrap();
    assert_eq!(members, 300);
    assert_eq!(port.info().unwrap().deals, info.deals);
    assert_eq!(port.core().cache_capacity(), 24 << 20);
}

fn t0() -> i64 {
    onepoint::domain::Clock::System.now()
}

#[test]
fn the_simulator_writes_at_the_rate_it_is_given_pauses_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (port, members, merchants) = open_seeded(dir.path(), CoreSettings::default()).unwrap();
    let port: Arc<dyn Port> = port;
    let traffic = Traffic::new(200.0);
    let mut sim = Simulator::new(&*port, traffic.clone(), members, merchants.clone());
    let before = port.info().unwrap();
    // The rate: one second at 200 ops/s is 200 operations, in 50 ms steps as the thread
    // takes them or in one; a fraction is carried to the next step, never lost.
    let written: usize = (0..20)
        .map(|_| sim.step(&*port, Duration::from_millis(50)))
        .sum();
    assert_eq!(written, 200);
    assert_eq!(sim.step(&*port, Duration::from_secs(1)), 200);
    traffic.set(7.5, false);
    assert_eq!(sim.step(&*port, Duration::from_secs(1)), 7);
    assert_eq!(sim.step(&*port, Duration::from_secs(1)), 8);
    assert_eq!(traffic.done(), 415);
    let after = port.info().unwrap();
    assert!(
        after.events >= before.events + 350,
        "most operations are recorded: {} -> {} events",
        before.events,
        after.events
    );
    // Paused: nothing is written, and the paused time owes nothing afterwards.
    traffic.set(200.0, true);
    assert_eq!(sim.step(&*port, Duration::from_secs(10)), 0);
    assert_eq!(port.info().unwrap().events, after.events);
    traffic.set(200.0, false);
    assert_eq!(sim.step(&*port, Duration::from_millis(50)), 10);
    assert!(port.check().unwrap().ok);
    // The thread stops when told, also while paused.
    traffic.set(0.0, true);
    let h = traffic.start(port.clone(), members, merchants);
    traffic.stop();
    h.join().unwrap();
}
