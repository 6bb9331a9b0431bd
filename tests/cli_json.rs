//! `--json` shapes (SPEC 4), idempotent `--key` replays, and `events --follow`.

mod cli_support;

use cli_support::{Store, previous_month, w};
use serde_json::Value;

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort();
    k
}

fn has_all(v: &Value, want: &[&str]) {
    let got = keys(v);
    for k in want {
        assert!(got.contains(k), "{k} missing from {got:?}");
    }
}

#[test]
fn json_shapes_match_the_spec() {
    let s = Store::new();
    let (month, date) = previous_month();
    let m = s.ok(&w("member join --name Kim --phone 010-1234-5678"));
    has_all(&m, &w("memberId name phone address status point"));
    assert_eq!(m["status"], "valid");
    assert_eq!(m["point"], 0.0);
    assert_eq!(m["address"], Value::Null);

    let save = s.ok(&[
        "deal",
        "save",
        "--member",
        "1",
        "--merchant",
        "7",
        "--amount",
        "250000",
        "--date",
        &date,
    ]);
    let d = s.ok(&[
        "deal",
        "use",
        "--member",
        "1",
        "--merchant",
        "7",
        "--points",
        "300",
        "--date",
        &date,
    ]);
    has_all(
        &d,
        &w(
            "id memberId merchantId type dealAmount point status billingStatus billingId \
            originalDealId reason dealDate balance",
        ),
    );
    assert_eq!(d["type"], "use");
    assert_eq!(d["dealAmount"], 0);
    assert_eq!(d["point"], 300.0);
    assert_eq!(d["status"], "success");
    assert_eq!(d["billingStatus"], "no");
    assert_eq!(d["billingId"], Value::Null);
    assert_eq!(d["originalDealId"], Value::Null);
    assert_eq!(d["reason"], Value::Null);
    assert_eq!(d["dealDate"], date.as_str());
    assert_eq!(d["balance"], 2200.0);
    assert_eq!(save["point"], 2500.0);

    let p = s.ok(&["points", "1"]);
    assert_eq!(p, serde_json::json!({"memberId": 1, "point": 2200.0}));

    let b = s.ok(&["billing", "run", "--merchant", "7", "--month", &month]);
    has_all(&b, &w("id merchantId billingMonth billingAmount dealCount"));
    assert_eq!(b["billingMonth"], month.as_str());
    assert_eq!(b["billingAmount"], 294.0);
    assert_eq!(b["dealCount"], 1);
    let billed = s.ok(&["deal", "show", &d["id"].to_string()]);
    assert_eq!(billed["billingStatus"], "yes");
    assert_eq!(billed["billingId"], b["id"]);

    let preview = s.ok(&["billing", "preview", "--merchant", "7", "--month", &month]);
    assert_eq!(preview["dealCount"], 0);
    assert_eq!(preview["latest"]["id"], b["id"]);

    // Lists are arrays of the same shapes.
    for (args, first_key) in [
        (vec!["member", "list"], "memberId"),
        (vec!["deal", "list"], "id"),
        (vec!["billing", "list"], "billingMonth"),
        (vec!["events"], "offset"),
        (vec!["merchant", "list"], "merchantId"),
    ] {
        let v = s.ok(&args);
        let list = v
            .as_array()
            .unwrap_or_else(|| panic!("{args:?} is not an array"));
        assert!(!list.is_empty(), "{args:?}");
        assert!(list[0].get(first_key).is_some(), "{args:?}: {:?}", list[0]);
    }
    let deals = s.ok(&w("deal list --type use"));
    assert_eq!(deals.as_array().unwrap().len(), 1);

    let shown = s.ok(&["member", "show", "1"]);
    has_all(&shown, &w("memberId name point totals recentDeals"));
    assert_eq!(shown["recentDeals"].as_array().unwrap().len(), 2);

    let info = s.ok(&["info"]);
    has_all(
        &info,
        &w("version dataDir members deals billings events storeBytes"),
    );
    assert_eq!(info["members"], 1);
    assert_eq!(info["deals"], 2);
    assert_eq!(info["billings"], 1);

    let check = s.ok(&["check"]);
    assert_eq!(check["ok"], true);
}

#[test]
fn a_key_replays_the_same_request_and_refuses_a_different_one() {
    let s = Store::new();
    s.join("Park");
    let save = |amount: &str, code: i32| {
        s.json(
            &[
                "--key",
                "order-17",
                "deal",
                "save",
                "--member",
                "1",
                "--merchant",
                "3",
                "--amount",
                amount,
            ],
            code,
        )
    };
    let first = save("10000", 0);
    let events = s.ok(&["info"])["events"].clone();
    let again = save("10000", 0);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(s.ok(&["info"])["events"], events, "a replay wrote an event");
    assert_eq!(s.points(1), 100.0);

    let r = s.run(&w(
        "--key order-17 deal save --member 1 --merchant 3 --amount 20000",
    ));
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.error_line().contains("order-17"), "{r:?}");
    assert_eq!(s.points(1), 100.0);

    // A failed use stays failed on replay, and still exits 3.
    let short = |code| {
        s.json(
            &w("--key pay-1 deal use --member 1 --merchant 3 --points 5000"),
            code,
        )
    };
    let failed = short(3);
    assert_eq!(failed["status"], "fail");
    assert_eq!(short(3)["id"], failed["id"]);
}

#[test]
fn member_list_filters_by_status_and_name() {
    let s = Store::new();
    for name in ["김서연", "Olivia Kim", "박지훈"] {
        s.join(name);
    }
    s.ok(&w("member withdraw 3"));
    let ids = |args: &[&str]| -> Vec<u64> {
        let v = s.ok(args);
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["memberId"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids(&w("member list")), [1, 2, 3]);
    assert_eq!(ids(&w("member list --status invalid")), [3]);
    assert_eq!(ids(&w("member list --status valid --limit 1")), [1]);
    assert_eq!(ids(&w("member list --query 서연")), [1]);
    assert_eq!(ids(&w("member list --query kim")), [2]);
}

#[test]
fn json_errors_are_one_object_on_stdout_beside_the_error_line() {
    let s = Store::new();
    s.join("안서연");
    // Malformed (exit 2), refused (exit 3), not found (exit 3), and clap's usage error.
    let cases: [(&str, i32, &str); 4] = [
        (
            "deal save --member 1 --merchant 20 --amount 0",
            2,
            "dealAmount",
        ),
        ("deal cancel 999", 3, "deal"),
        (
            "billing run --merchant 20 --month 209912",
            3,
            "billingMonth",
        ),
        ("member lst", 2, "lst"),
    ];
    for (line, code, field) in cases {
        let r = s.run(&[&["--json"][..], &w(line)].concat());
        assert_eq!(r.code, code, "{line}: {r:?}");
        assert!(r.error_line().starts_with("error: "), "{line}: {r:?}");
        let v = r.json();
        let e = &v["error"];
        assert_eq!(e["exit"], code, "{line}: {v}");
        assert_eq!(e["field"], field, "{line}: {v}");
        assert!(e["rule"].as_str().is_some_and(|r| !r.is_empty()), "{v}");
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert_eq!(v.as_object().unwrap().len(), 1, "one key, error: {v}");
    }
    // Without --json, stdout stays empty.
    let r = s.run(&w("deal cancel 999"));
    assert!(r.stdout.is_empty(), "{r:?}");
}
