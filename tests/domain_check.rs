//! `check` finds what is wrong: a store tampered with behind the core's back (a balance
//! edited, an event removed, a deal billed twice over) fails the audit, and
//! `onepoint check` exits 1 naming the violation.

mod support;

use onepoint::domain::schema::{self, ACCOUNT, DEAL, EVENT, decode, encode, key1};
use onepoint::domain::store::{Store, StoreOptions, WriteSet};
use onepoint::domain::tx::Reader;
use onepoint::domain::{BillingStatus, Clock, Deal, MemberRecord, Points};

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
        let mut r: MemberRecord = s.get(&key1(ACCOUNT, 1)).unwrap().unwrap();
        r.account.balance = Points(5);
        set.put(&key1(ACCOUNT, 1), &encode(&r));
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

/// The key of table `tag` whose last 8 bytes are deal `id` (the dashboard's keys end in
/// the deal).
fn entry_of(store: &Store, tag: u8, id: u64) -> Vec<u8> {
    store
        .scan_prefix(&[tag])
        .map(|r| r.unwrap().0.to_vec())
        .find(|k| k[k.len() - 8..] == id.to_be_bytes())
        .unwrap_or_else(|| panic!("no {} entry of deal {id}", tag as char))
}

/// The dashboard's two tables (by member `V`, by merchant and month `X`) are compared with
/// the deals as digests, and read entry by entry only when one differs: an entry missing
/// from either is named by its deal, and an entry no deal gives is counted.
#[test]
fn missing_and_stray_dashboard_entries_are_reported() {
    for tag in [schema::VIEW, schema::VIEW_MERCHANT] {
        let mut f = seeded();
        tamper(&mut f, |s, set| set.remove(&entry_of(s, tag, 2)));
        let v = violations(&f);
        assert!(
            v.iter()
                .any(|m| m.contains("deal 2 is missing from the dashboard")),
            "{}: {v:?}",
            tag as char
        );
        assert!(!v.iter().any(|m| m.contains("deal 1 ")), "{v:?}");

        let mut f = seeded();
        tamper(&mut f, |s, set| {
            let mut stray = entry_of(s, tag, 3);
            let at = stray.len() - 8;
            stray[at..].copy_from_slice(&99u64.to_be_bytes());
            set.put(&stray, &[]);
        });
        let v = violations(&f);
        let name = if tag == schema::VIEW {
            "by member"
        } else {
            "by merchant and month"
        };
        let want = format!("the dashboard {name} holds 4 entries for 3 deals");
        assert!(v.iter().any(|m| m.contains(&want)), "{want}: {v:?}");
    }
    // An entry moved to another deal of the same member: as many entries as deals, one
    // deal missing.
    let mut f = seeded();
    tamper(&mut f, |s, set| {
        let one = entry_of(s, schema::VIEW, 1);
        let mut moved = one.clone();
        let at = moved.len() - 8;
        moved[at..].copy_from_slice(&7u64.to_be_bytes());
        set.remove(&one);
        set.put(&moved, &[]);
    });
    let v = violations(&f);
    assert!(
        v.iter()
            .any(|m| m.contains("deal 1 is missing from the dashboard")),
        "{v:?}"
    );
}

/// The settlement queue's entries are compared with their deals a chunk at a time, in the
/// deals' order: an entry whose points differ from its deal's, or that names no deal, is
/// reported by its deal.
#[test]
fn a_stale_settlement_queue_entry_is_reported() {
    let mut f = seeded();
    tamper(&mut f, |s, set| {
        let (k, v) = s.scan_prefix(&[schema::UNBILLED]).next().unwrap().unwrap();
        let points = schema::decode_points(&v);
        set.put(&k, &schema::encode_points(points + Points(1)));
        let mut stray = k.to_vec();
        stray[17..25].copy_from_slice(&42u64.to_be_bytes());
        set.put(&stray, &schema::encode_points(points));
    });
    let v = violations(&f);
    for want in [
        "unbilled queue entry for deal 2 is stale or billed",
        "unbilled queue entry for deal 42 is stale or billed",
    ] {
        assert!(v.iter().any(|m| m.contains(want)), "{want}: {v:?}");
    }
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

fn rich_merchant(f: &support::Fixture) {
    use onepoint::domain::{BasisPoints, Command, MerchantId, NewMerchant};
    f.one(Command::AddMerchant(NewMerchant {
        id: MerchantId(9),
        name: "full rate".into(),
        earn_rate: Some(BasisPoints(10_000)),
    }))
    .unwrap();
}

fn save_cmd(amount: u64) -> onepoint::domain::Command {
    use onepoint::domain::{Amount, Command, DealRequest, MemberId, MerchantId};
    Command::Deal(DealRequest::Save {
        member: MemberId(1),
        merchant: MerchantId(9),
        amount: Amount(amount),
        date: None,
    })
}

#[test]
fn balances_past_the_input_limit_read_back_everywhere_and_stop_at_the_bound() {
    use onepoint::domain::money::MAX_BALANCE_HUNDREDTHS;
    let mut f = support::fixture();
    f.join("rich");
    rich_merchant(&f);
    let first = f.keyed(save_cmd(1_000_000_000_000), "k1").unwrap();
    f.keyed(save_cmd(1_000_000_000_000), "k2").unwrap();
    // 2 x 10^12 points: more than one use may name, well within what a balance holds.
    assert_eq!(f.balance(1), Points(200_000_000_000_000));
    let events = f.core.events(0, 100).unwrap();
    let last = events.last().unwrap().body.deal().unwrap();
    assert_eq!(last.balance, Points(200_000_000_000_000));
    assert_eq!(f.keyed(save_cmd(1_000_000_000_000), "k1").unwrap(), first);
    f.assert_check();
    f.reopen();
    f.assert_check();
    // Up to the bound, exactly, then refused with nothing written.
    for i in 3..=10 {
        f.one(save_cmd(1_000_000_000_000))
            .unwrap_or_else(|e| panic!("save {i}: {e}"));
    }
    assert_eq!(f.balance(1), Points(MAX_BALANCE_HUNDREDTHS));
    let before = f.core.info().unwrap();
    let e = f.one(save_cmd(1)).unwrap_err().to_string();
    assert!(
        e.contains("dealAmount") && e.contains("10000000000000"),
        "{e}"
    );
    let after = f.core.info().unwrap();
    assert_eq!((before.deals, before.events), (after.deals, after.events));
    assert_eq!(f.balance(1), Points(MAX_BALANCE_HUNDREDTHS));
    f.assert_check();
}

#[test]
fn the_business_zone_is_kept_in_the_store_not_taken_from_the_reader() {
    use onepoint::domain::core::{Core, CoreOptions};
    use onepoint::domain::{DealRequest, MemberId, MerchantId, Rates};
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::fixed(support::NOW_MS);
    let opts = |hours: i32| CoreOptions {
        rates: Rates::default(),
        zone: chrono::FixedOffset::east_opt(hours * 3600).unwrap(),
        clock: clock.clone(),
    };
    let nine = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
    {
        let core = Core::open(dir.path(), opts(9)).unwrap();
        let f = support::Fixture {
            dir: tempfile::tempdir().unwrap(),
            core,
            clock: clock.clone(),
        };
        f.join("a");
        f.save(1, 7, 100_000).unwrap();
        // 2026-09-30T20:00Z is October 1st in +09:00: the months differ by zone.
        f.deal(DealRequest::Use {
            member: MemberId(1),
            merchant: MerchantId(7),
            points: Points(10_000),
            amount: None,
            date: Some(1_790_798_400_000),
        })
        .unwrap();
    }
    // A reader configured for UTC (or anything else) still works in +09:00.
    let core = Core::open(dir.path(), opts(0)).unwrap();
    assert_eq!(core.options().zone, nine);
    let r = core.check().unwrap();
    assert!(r.ok, "{:?}", r.violations);
    drop(core);
    let core = Core::open(dir.path(), opts(-5)).unwrap();
    assert_eq!(core.options().zone, nine);
}

#[test]
fn a_read_on_a_path_with_no_store_fails_naming_it_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo");
    for args in [
        &["info"][..],
        &["check"],
        &["member", "show", "1"],
        &["events"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_onepoint"))
            .args(args)
            .arg("--data")
            .arg(&missing)
            .env("ONEPOINT_CONFIG", dir.path().join("no-config.toml"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("no store at") && err.contains(&missing.display().to_string()),
            "{args:?}: {err}"
        );
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onepoint"))
        .args(["member", "join", "--name", "first", "--data"])
        .arg(&missing)
        .env("ONEPOINT_CONFIG", dir.path().join("no-config.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_onepoint"))
        .args(["info", "--data"])
        .arg(&missing)
        .env("ONEPOINT_CONFIG", dir.path().join("no-config.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn a_config_naming_another_zone_is_ignored_with_a_warning_and_check_still_passes() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let seoul = dir.path().join("seoul.toml");
    let utc = dir.path().join("utc.toml");
    std::fs::write(&seoul, "[core]\ntimezone = \"+09:00\"\n").unwrap();
    std::fs::write(&utc, "[core]\ntimezone = \"+00:00\"\n").unwrap();
    let run = |config: &std::path::Path, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_onepoint"))
            .arg("--data")
            .arg(&store)
            .args(args)
            .env("ONEPOINT_CONFIG", config)
            .output()
            .unwrap()
    };
    // The store is created in Seoul time; it keeps that zone.
    let out = run(&seoul, &["member", "join", "--name", "Kim"]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("warning:"),
        "no warning on the store's own zone: {err}"
    );
    // Another process whose config says UTC is told, on stderr, that the store's zone wins.
    let out = run(&utc, &["check"]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .any(|l| l.starts_with("warning: ") && l.contains("+09:00") && l.contains("ignored")),
        "{err}"
    );
}
