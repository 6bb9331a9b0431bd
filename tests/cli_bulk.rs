//! Bulk commands through the real binary: export -> import round trips into an empty store,
//! re-runs and crash-part-way re-runs that apply each row once, malformed CSV rows, seed.

mod cli_support;

use std::path::Path;

use cli_support::{Run, Store, previous_month, w};
use serde_json::Value;

const HEADER: &str = "key,type,memberId,merchantId,dealAmount,point,dealDate,originalKey";

/// A store with history: three members (the second never deals), saves, uses, a failed
/// use, both kinds of cancel, two merchants, a settlement.
fn source() -> Store {
    let s = Store::new();
    let (month, date) = previous_month();
    for name in ["안서연", "Olivia Park", "최민준"] {
        s.join(name);
    }
    let deal = |args: &[&str], code: i32| {
        let mut all = vec!["deal"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--date", &date]);
        s.json(&all, code)
    };
    deal(&w("save --member 1 --merchant 20 --amount 100000"), 0);
    let used = deal(
        &w("use --member 1 --merchant 20 --points 100 --amount 9000"),
        0,
    );
    deal(&w("use --member 1 --merchant 20 --points 10000"), 3);
    let save3 = deal(&w("save --member 3 --merchant 7 --amount 12345"), 0);
    deal(&w("use --member 3 --merchant 7 --points 23.45"), 0);
    deal(&["cancel", &used["id"].to_string()], 0);
    deal(&w("save --member 3 --merchant 20 --amount 5000"), 0);
    deal(&["cancel", &save3["id"].to_string()], 0);
    deal(&w("use --member 1 --merchant 7 --points 250.5"), 0);
    s.ok(&["billing", "run", "--merchant", "7", "--month", &month]);
    s
}

const EXPORT_HEADER: &str = "id,key,type,status,reason,billingStatus,billingId,originalDealId,originalKey,cancelledBy,memberId,memberName,merchantId,merchantName,dealAmount,point,balance,dealDate";

fn export_csv(s: &Store) -> String {
    let r = s.run(&w("export deals --format csv"));
    assert_eq!(r.code, 0, "{r:?}");
    r.stdout
}

/// The columns an import rebuilds (names, billing and settlement are the target store's).
fn replayable(csv: &str) -> Vec<Vec<String>> {
    let mut rd = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    let keep: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            !matches!(
                h.as_str(),
                "memberName" | "merchantName" | "billingStatus" | "billingId"
            )
        })
        .map(|(i, _)| i)
        .collect();
    rd.records()
        .map(|r| {
            let r = r.unwrap();
            keep.iter().map(|i| r[*i].to_string()).collect()
        })
        .collect()
}

fn import(s: &Store, file: &Path, code: i32) -> Value {
    s.json(&["import", "deals", file.to_str().unwrap()], code)
}

/// Writes `rows` under the header to `file` and imports it into `s`: the import must be
/// refused (exit 2) and leave the store as it was.
fn import_refused(s: &Store, file: &Path, rows: &str) -> Run {
    std::fs::write(file, format!("{HEADER}\n{rows}")).unwrap();
    let before = s.state();
    let r = s.run(&["import", "deals", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(s.state(), before);
    r
}

fn balances(s: &Store) -> Vec<(u64, f64)> {
    s.ok(&w("export members --format json"))
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["memberId"].as_u64().unwrap(),
                m["point"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn export_writes_oldest_first_in_the_import_shape() {
    let s = source();
    let csv = export_csv(&s);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(EXPORT_HEADER));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 9);
    let col = |name: &str| EXPORT_HEADER.split(',').position(|h| h == name).unwrap();
    let keys: Vec<&str> = rows.iter().map(|r| r[col("key")]).collect();
    assert_eq!(keys[0], "deal-1");
    assert_eq!(keys[8], "deal-9");
    assert_eq!(rows[8][col("id")], "9");
    // deal-6 cancels deal-2 (a use): the original's points and amount, its id and key.
    assert_eq!(rows[5][col("type")], "useCancel");
    assert_eq!(rows[5][col("point")], "100");
    assert_eq!(rows[5][col("originalKey")], "deal-2");
    assert_eq!(rows[5][col("originalDealId")], "2");
    assert_eq!(rows[1][col("cancelledBy")], "6");
    assert_eq!(rows[3][col("point")], "123.45");
    // The failed use says so, and why; the balance after it is unchanged.
    assert_eq!(rows[2][col("status")], "fail");
    assert_eq!(rows[2][col("reason")], "insufficient points");
    assert_eq!(rows[2][col("balance")], "900");
    assert_eq!(rows[2][col("dealAmount")], "0");
    assert_eq!(rows[0][col("status")], "success");
    assert_eq!(rows[0][col("memberName")], "안서연");
    // Merchant 7 was settled: its uses are billed by billing 1.
    assert_eq!(rows[4][col("billingStatus")], "yes");
    assert_eq!(rows[4][col("billingId")], "1");
    assert_eq!(rows[0][col("billingStatus")], "no");
    assert!(rows[0][col("dealDate")].ends_with('Z'));
    // A balance recomputed from the export (successful deals only) is the member's balance.
    let mut balance = 0.0;
    for r in rows
        .iter()
        .filter(|r| r[col("memberId")] == "1" && r[col("status")] == "success")
    {
        let p: f64 = r[col("point")].parse().unwrap();
        balance += match r[col("type")] {
            "save" | "useCancel" => p,
            _ => -p,
        };
    }
    assert_eq!(balance, s.points(1));
    assert_eq!(rows[8][col("balance")].parse::<f64>().unwrap(), s.points(1));
}

#[test]
fn the_member_export_carries_totals_and_the_segment() {
    let s = source();
    let members = s.ok(&w("export members --format json"));
    let m = &members.as_array().unwrap()[0];
    assert_eq!(m["memberId"], 1);
    assert_eq!(m["point"], 749.5);
    assert_eq!(m["earned"], 1000.0);
    assert_eq!(m["used"], 350.5);
    assert_eq!(m["useCancelled"], 100.0);
    assert_eq!(m["forfeited"], 0.0);
    assert_eq!(
        (m["deals"].as_u64(), m["failed"].as_u64()),
        (Some(5), Some(1))
    );
    assert_eq!(
        (m["frequency"].as_u64(), m["spend"].as_u64()),
        (Some(3), Some(100_000))
    );
    let segments = ["champions", "loyal", "active", "new", "at risk", "dormant"];
    for m in members.as_array().unwrap() {
        assert!(segments.contains(&m["segment"].as_str().unwrap()), "{m}");
    }
    // Member 2 never dealt: no frequency, no spend.
    assert_eq!(members[1]["frequency"], 0);
}

#[test]
fn the_json_export_carries_every_field_typed() {
    let s = source();
    let deals = s.ok(&w("export deals --format json"));
    let d = &deals.as_array().unwrap()[4];
    let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want: Vec<&str> = EXPORT_HEADER.split(',').collect();
    want.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, want);
    assert_eq!(d["id"], 5);
    assert_eq!(d["type"], "use");
    assert_eq!(d["point"], 23.45);
    assert_eq!(d["balance"], 100.0);
    assert_eq!(d["billingId"], 1);
    assert_eq!(d["memberName"], "최민준");
    assert_eq!(d["originalDealId"], Value::Null);
    assert!(d["dealDate"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn an_export_imports_into_an_empty_store_and_rebuilds_it() {
    let src = source();
    let csv = export_csv(&src);
    let file = src.path().join("deals.csv");
    std::fs::write(&file, &csv).unwrap();

    let dst = Store::new();
    let summary = import(&dst, &file, 0);
    assert_eq!(summary["rows"], 9);
    assert_eq!(summary["applied"], 8);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["replayed"], 0);
    assert_eq!(summary["refused"], 0);
    // Member 2 never dealt: a placeholder keeps the ids in line.
    assert_eq!(summary["membersJoined"], 3);
    assert_eq!(summary["pointsDiffer"], 0);
    assert_eq!(dst.ok(&["member", "show", "2"])["name"], "member 2");

    assert_eq!(balances(&dst), balances(&src));
    assert_eq!(dst.ok(&["info"])["deals"], src.ok(&["info"])["deals"]);
    assert_eq!(
        replayable(&export_csv(&dst)),
        replayable(&csv),
        "the rebuilt store exports the same deals"
    );
    assert_eq!(dst.run(&["check"]).code, 0);

    // Again: every row is a replay, nothing is written.
    let events = dst.ok(&["info"])["events"].clone();
    let again = import(&dst, &file, 0);
    assert_eq!(again["replayed"], 9);
    assert_eq!(
        (again["applied"].as_u64(), again["failed"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(again["membersJoined"], 0);
    assert_eq!(dst.ok(&["info"])["events"], events);
    assert_eq!(replayable(&export_csv(&dst)), replayable(&csv));
}

#[test]
fn an_import_cut_short_and_run_again_applies_each_row_once() {
    let src = source();
    let csv = export_csv(&src);
    let full = src.path().join("deals.csv");
    std::fs::write(&full, &csv).unwrap();
    // As if the first run crashed after the first seven rows were durable.
    let part = src.path().join("part.csv");
    let first: Vec<&str> = csv.lines().take(8).collect();
    std::fs::write(&part, first.join("\n") + "\n").unwrap();

    let dst = Store::new();
    let s1 = import(&dst, &part, 0);
    assert_eq!(s1["rows"], 7);
    // The full file replays the seven (rebuilding the key map for the cancel of deal-4,
    // which is row 8) and applies the rest.
    let s2 = import(&dst, &full, 0);
    assert_eq!(s2["replayed"], 7);
    assert_eq!(s2["applied"], 2);
    assert_eq!(balances(&dst), balances(&src));
    assert_eq!(replayable(&export_csv(&dst)), replayable(&csv));
}

#[test]
fn a_malformed_row_stops_the_import_before_anything_is_written() {
    let s = Store::new();
    s.join("Kim");
    let file = s.path().join("bad.csv");
    let r = import_refused(
        &s,
        &file,
        "k1,save,1,20,1000,,,\nk2,use,1,20,,5,,\nk3,save,1,20,1e5,,,\nk4,save,1,20,10,,,\n",
    );
    let line = r.error_line();
    assert!(line.starts_with("error: row 3: dealAmount"), "{line}");

    // A cancel naming no earlier row is found by the first pass: nothing is written.
    let r = import_refused(
        &s,
        &file,
        "k1,save,1,20,1000,,,\nk2,saveCancel,,,,,,k9\nk3,save,1,20,10,,,\n",
    );
    assert_eq!(
        r.error_line(),
        "error: row 2: originalKey k9 names no earlier row of the file",
    );

    // A header without the columns is refused by name.
    std::fs::write(&file, "key,type\nk1,save\n").unwrap();
    let r = s.run(&["import", "deals", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.error_line().contains("memberId"), "{r:?}");
}

#[test]
fn refused_rows_are_counted_and_listed() {
    let s = Store::new();
    s.join("Kim");
    s.ok(&["member", "withdraw", "1"]);
    let file = s.path().join("refused.csv");
    std::fs::write(
        &file,
        format!("{HEADER}\nk1,save,1,20,1000,,,\nk2,save,2,20,1000,,,\n"),
    )
    .unwrap();
    let r = s.run(&["--json", "import", "deals", file.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{r:?}");
    let summary = r.json();
    assert_eq!(summary["refused"], 1);
    assert_eq!(summary["applied"], 1);
    assert!(r.stderr.contains("row 1:"), "{r:?}");
}

#[test]
fn seed_generates_a_coherent_store_and_repeats_with_its_seed() {
    let a = Store::new();
    let sum = a.ok(&w("seed --members 40 --deals 400 --merchants 6 --months 2"));
    assert_eq!(sum["members"], 40);
    assert_eq!(sum["merchants"], 6);
    assert_eq!(
        sum["deals"].as_u64().unwrap() + sum["refused"].as_u64().unwrap(),
        400
    );
    assert!(sum["saves"].as_u64().unwrap() > sum["uses"].as_u64().unwrap());
    assert_eq!(a.run(&["check"]).code, 0);
    let info = a.ok(&["info"]);
    assert_eq!(info["members"], 40);
    let merchants = a.ok(&["merchant", "list"]);
    assert!(
        merchants
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["name"].is_string())
    );

    let deals = a.ok(&w("deal list --limit 10000"));
    let now = chrono::Utc::now();
    for d in deals.as_array().unwrap() {
        let date = chrono::DateTime::parse_from_rfc3339(d["dealDate"].as_str().unwrap()).unwrap();
        assert!(date <= now, "{d}");
        assert!(now.signed_duration_since(date).num_days() <= 62, "{d}");
    }

    // The same seed generates the same deals (dates end at now, so leave them out).
    let b = Store::new();
    b.ok(&w("seed --members 40 --deals 400 --merchants 6 --months 2"));
    let without_dates = |s: &Store| -> Vec<String> {
        export_csv(s)
            .lines()
            .map(|l| {
                let mut c: Vec<&str> = l.split(',').collect();
                c.pop();
                c.join(",")
            })
            .collect()
    };
    assert_eq!(without_dates(&a), without_dates(&b));
}

#[test]
fn export_to_a_file_replaces_it_only_when_complete() {
    let s = source();
    let out = s.path().join("billings.json");
    let r = s.json(
        &["export", "billings", "--output", out.to_str().unwrap()],
        0,
    );
    assert_eq!(r["rows"], 1);
    let billings: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(billings[0]["merchantId"], 7);
    let csv = s.run(&["export", "members"]).stdout;
    assert!(csv.starts_with("memberId,name,phone,address,status,point,joinedAt,lastActivity,earned,used,saveCancelled,useCancelled,forfeited,deals,failed,frequency,spend,segment\n"));
    assert_eq!(csv.lines().count(), 4);
    assert!(!s.path().join("billings.json.partial").exists());
}

#[test]
fn a_seeded_store_exports_and_imports_into_an_identical_one() {
    let src = Store::new();
    src.ok(&w(
        "seed --members 60 --deals 800 --merchants 8 --months 3 --seed 7",
    ));
    let csv = export_csv(&src);
    let file = src.path().join("deals.csv");
    std::fs::write(&file, &csv).unwrap();
    let dst = Store::new();
    let summary = import(&dst, &file, 0);
    assert_eq!(summary["refused"], 0);
    assert_eq!(summary["pointsDiffer"], 0);
    assert_eq!(summary["rows"], 800);
    assert_eq!(balances(&dst), balances(&src));
    assert_eq!(replayable(&export_csv(&dst)), replayable(&csv));
    assert_eq!(dst.run(&["check"]).code, 0);
}

#[test]
fn the_first_pass_finds_every_bad_row_and_bounds_placeholder_members() {
    let s = Store::new();
    s.join("Kim");
    let file = s.path().join("bad.csv");
    // Row 2 malformed, row 4 cancels a key no row has, row 5 names a member far beyond the
    // store's one plus the file's five rows (this id once aborted on allocation).
    let r = import_refused(
        &s,
        &file,
        "k1,save,1,20,1000,,,\nk2,use,1,20,,-5,,\nk3,save,1,20,10,,,\nk4,useCancel,,,,,,nope\nk5,save,9007199254740991,20,10,,,\n",
    );
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 3, "{r:?}");
    assert!(errors[0].starts_with("error: row 2: point"), "{r:?}");
    assert!(
        errors[1].starts_with("error: row 4: originalKey nope"),
        "{r:?}"
    );
    assert!(
        errors[2].starts_with("error: row 5: memberId must be at most 6"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("nothing was imported: 3 bad row(s)"),
        "{r:?}"
    );

    // At the bound (1 member + 2 rows = 3) placeholders fill the gap; one past it is refused.
    std::fs::write(
        &file,
        format!("{HEADER}\nk1,save,3,20,1000,,,\nk2,save,1,20,10,,,\n"),
    )
    .unwrap();
    let ok = import(&s, &file, 0);
    assert_eq!(ok["membersJoined"], 2);
    std::fs::write(&file, format!("{HEADER}\nj1,save,6,20,1000,,,\n")).unwrap();
    let r = s.run(&["import", "deals", file.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        r.error_line(),
        "error: row 1: memberId must be at most 4: the store's highest member (3) plus the rows in the file (1)"
    );
}
