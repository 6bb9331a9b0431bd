//! `check` finds what is wrong: a store tampered with behind the core's back (a balance
//! edited, an event removed, a deal billed twice over) fails the audit, and
//! `onepoint check` exits 1 naming the violation.

mod support;

use onepoint::domain::schema::{self, ACCOUNT, DEAL, EVENT, decode, encode, key1};
use onepoint::domain::store::{Store, StoreOptions, WriteSet};
use onepoint::domain::tx::Reader;
use onepoint::domain::{Account, BillingStatus, Clock, Deal, Points};

fn seeded() -> support::Fixture {
    let f = support::fixture();
    f.join("a");
    f.join("b");
    f.save(1, 7, 100_000).unwrap();
    f.use_pts(1, 7, 10_000).unwrap();
    f.save(2, 7, 50_000).unwrap();
    f.assert_check();
    f
}

/// Closes the core, edits the raw store, reopens.
fn tamper(f: &mut support::Fixture, edit: impl FnOnce(&Store, &mut WriteSet)) {
    let dir = f.dir.path().to_path_buf();
    f.core = support::open(tempfile::tempdir().unwrap().path(), &Clock::System);
    {
        let store = Store::open(&dir, StoreOptions::default()).unwrap();
        let mut set = WriteSet::default();
        edit(&store, &mut set);
        store.commit(set).unwrap();
    }
    f.core = support::open(&dir, &f.clock);
}

fn violations(f: &support::Fixture) -> Vec<String> {
    let r = f.core.check().unwrap();
    assert!(!r.ok, "check must fail");
    r.violations
}

#[test]
fn an_edited_balance_is_reported() {
    let mut f = seeded();
    tamper(&mut f, |s, set| {
        let mut a: Account = s.get(&key1(ACCOUNT, 1)).unwrap().unwrap();
        a.balance = Points(5);
        set.put(&key1(ACCOUNT, 1), &encode(&a));
    });
    let v = violations(&f);
    assert!(v.iter().any(|m| m.contains("member 1 balance")), "{v:?}");
}

#[test]
fn a_gap_in_the_event_log_is_reported() {
    let mut f = seeded();
    tamper(&mut f, |_, set| set.remove(&key1(EVENT, 3)));
    let v = violations(&f);
    assert!(v.iter().any(|m| m.contains("event log gap")), "{v:?}");
}

#[test]
fn a_deal_marked_billed_without_a_billing_is_reported() {
    let mut f = seeded();
    tamper(&mut f, |s, set| {
        let raw = s.get_val(&key1(DEAL, 2)).unwrap().unwrap();
        let mut d: Deal = decode(&raw).unwrap();
        d.billing_status = BillingStatus::Yes;
        d.billing_id = Some(onepoint::domain::BillingId(9));
        set.put(&key1(DEAL, 2), &schema::encode(&d));
    });
    let v = violations(&f);
    assert!(v.iter().any(|m| m.contains("deal 2")), "{v:?}");
}

#[test]
fn onepoint_check_exits_1_on_a_violation() {
    let mut f = seeded();
    tamper(&mut f, |_, set| set.remove(&key1(EVENT, 2)));
    let dir = f.dir.path().to_path_buf();
    drop(f.core);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onepoint"))
        .args(["check", "--data"])
        .arg(&dir)
        .env("ONEPOINT_CONFIG", dir.join("no-config.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("event log gap"), "{text}");
}
