//! The demo store: seeded from `assets/demo/` through the port, it holds named members and
//! merchants, months of history, withdrawals and settlements, and passes `check`. And the
//! simulator moves it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use onepoint::api::Port;
use onepoint::demo::open_seeded;
use onepoint::demo::simulator::Traffic;
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
    // A second open finds the store seeded and does not seed again.
    drop(port);
    let (port, members, _) = open_seeded(dir.path(), CoreSettings::default()).unwrap();
    assert_eq!(members, 300);
    assert_eq!(port.info().unwrap().deals, info.deals);
}

fn t0() -> i64 {
    onepoint::domain::Clock::System.now()
}

#[test]
fn the_simulator_writes_at_the_rate_it_is_given_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (port, members, merchants) = open_seeded(dir.path(), CoreSettings::default()).unwrap();
    let before = port.info().unwrap().events;
    let traffic = Traffic::new(200.0);
    let port: Arc<dyn Port> = port;
    let h = traffic.start(port.clone(), members, merchants);
    let start = Instant::now();
    while traffic.done() < 20 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    traffic.set(200.0, true);
    // A batch in flight may still land; after that, nothing more while paused.
    let start = Instant::now();
    let mut last = traffic.done();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = traffic.done();
        if now == last {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "paused traffic kept writing"
        );
        last = now;
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(traffic.done(), last, "paused traffic writes nothing");
    traffic.stop();
    h.join().unwrap();
    assert!(traffic.done() >= 20);
    assert!(port.info().unwrap().events > before);
    assert!(port.check().unwrap().ok);
}
