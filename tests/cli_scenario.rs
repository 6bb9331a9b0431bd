//! The original README scenario, as our rules make it coherent, through the real binary:
//! earn, pay, a use short of points recorded as failed (exit 3, JSON still printed),
//! monthly settlement (idempotent), withdrawal forfeiting the balance.

mod cli_support;

use cli_support::{Store, previous_month, w};

#[test]
fn readme_scenario_earns_pays_fails_settles_and_withdraws() {
    let s = Store::new();
    let (month, date) = previous_month();
    let m1 = s.join("안서연");
    let m2 = s.join("Kim Minjun");
    assert_eq!((m1, m2), (1, 2));
    let save = |m: u64| {
        s.ok(&w(&format!(
            "deal save --member {m} --merchant 20 --amount 100000 --date {date}"
        )))
    };
    let pay = |m: u64, points: &str, code: i32| {
        let line = format!("deal use --member {m} --merchant 20 --points {points} --date {date}");
        s.json(&w(&line), code)
    };

    let d = save(m1);
    assert_eq!(d["point"], 1000.0);
    assert_eq!(d["balance"], 1000.0);
    assert_eq!(d["type"], "save");
    assert_eq!(s.points(m1), 1000.0);

    assert_eq!(pay(m1, "100", 0)["balance"], 900.0);

    // Short of points: recorded as a failed deal, printed, exit 3, balance unchanged.
    let failed = pay(m1, "10000", 3);
    assert_eq!(failed["status"], "fail");
    assert_eq!(failed["reason"], "insufficient points");
    assert!(failed["id"].as_u64().is_some());
    assert_eq!(s.points(m1), 900.0);
    let shown = s.ok(&["deal", "show", &failed["id"].to_string()]);
    assert_eq!(shown["status"], "fail");

    assert_eq!(save(m1)["balance"], 1900.0);

    save(m2);
    pay(m2, "200", 0);
    assert_eq!(pay(m2, "200", 0)["balance"], 600.0);

    // Uses at merchant 20 that month: 100 + 200 + 200 = 500 points, less 2% commission.
    let run = format!("billing run --merchant 20 --month {month}");
    let bill = s.ok(&w(&run));
    assert_eq!(bill["billingAmount"], 490.0);
    assert_eq!(bill["dealCount"], 3);
    assert_eq!(bill["billingMonth"], month.as_str());
    let again = s.ok(&w(&run));
    assert_eq!(again["id"], bill["id"]);
    assert_eq!(again["billingAmount"], 490.0);
    let list = s.ok(&w("billing list --merchant 20"));
    assert_eq!(list.as_array().unwrap().len(), 1);

    let gone = s.ok(&["member", "withdraw", &m2.to_string()]);
    assert_eq!(gone["forfeited"], 600.0);
    assert_eq!(gone["status"], "invalid");
    assert_eq!(s.points(m2), 0.0);

    // A withdrawn member takes part in no deal: refused, exit 3, nothing written.
    let before = s.state();
    let r = s.run(&w("deal save --member 2 --merchant 20 --amount 1000"));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.error_line().contains("memberId"), "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert_eq!(s.state(), before);

    let check = s.run(&["check"]);
    assert_eq!(check.code, 0, "{check:?}");
}

#[test]
fn human_output_is_readable_records_and_tables() {
    let s = Store::new();
    s.join("안서연");
    let r = s.run(&w("deal save --member 1 --merchant 7 --amount 12345"));
    assert_eq!(r.code, 0, "{r:?}");
    let points_line = r.stdout.lines().find(|l| l.starts_with("points:")).unwrap();
    assert_eq!(points_line.split_whitespace().nth(1), Some("123.45"));

    let list = s.run(&w("deal list"));
    let mut lines = list.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&header[..3], ["ID", "DATE", "TYPE"]);
    let row = lines.next().unwrap();
    assert!(row.contains("save") && row.contains("123.45"), "{row}");

    let show = s.run(&w("member show 1"));
    assert_eq!(show.code, 0, "{show:?}");
    assert!(show.stdout.contains("안서연"));
    assert!(show.stdout.contains("recent deals"));
}

#[test]
fn cancel_picks_its_type_from_the_original() {
    let s = Store::new();
    s.join("Lee");
    let save = s.ok(&w("deal save --member 1 --merchant 3 --amount 50000"));
    let used = s.ok(&w("deal use --member 1 --merchant 3 --points 120.5"));
    assert_eq!(s.points(1), 379.5);

    let c = s.ok(&["deal", "cancel", &used["id"].to_string()]);
    assert_eq!(c["type"], "useCancel");
    assert_eq!(c["point"], 120.5);
    assert_eq!(c["originalDealId"], used["id"]);
    assert_eq!(s.points(1), 500.0);

    let c = s.ok(&["deal", "cancel", &save["id"].to_string()]);
    assert_eq!(c["type"], "saveCancel");
    assert_eq!(s.points(1), 0.0);

    // Cancelling twice is refused.
    let r = s.run(&["deal", "cancel", &save["id"].to_string()]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.error_line().contains("originalDealId"), "{r:?}");
}
