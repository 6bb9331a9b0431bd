//! The staff reports at every edge: `onepoint report` (table, CSV, JSON, bad flags) on a
//! real store, and `GET /reports/...` through `onepoint serve` and the remote adapter, which
//! answer the embedded store's figures.

mod cli_support;
mod remote_support;

use cli_support::{Store, previous_month, w};
use onepoint::api::Port;
use onepoint::domain::reports::{Report, ReportKind, ReportQuery};
use onepoint::domain::{
    Amount, DealId, DealRequest, MemberDraft, MemberId, MerchantId, NewMember, Points,
};

#[test]
fn the_cli_prints_each_report_as_a_table_csv_or_json() {
    let s = Store::new();
    let (month, date) = previous_month();
    s.join("Kim");
    s.join("Lee");
    let deal = |args: &[&str], code: i32| {
        let mut all = vec!["deal"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--date", &date]);
        s.json(&all, code)
    };
    deal(&w("save --member 1 --merchant 7 --amount 100000"), 0);
    let used = deal(&w("use --member 1 --merchant 7 --points 250.5"), 0);
    deal(&w("use --member 2 --merchant 7 --points 10"), 3);
    s.ok(&["billing", "run", "--merchant", "7", "--month", &month]);
    deal(&["cancel", &used["id"].to_string()], 0);
    s.ok(&w("member withdraw 2"));

    let j = s.ok(&["report", "liability", "--month", &month, "--format", "json"]);
    assert_eq!(j["report"], "liability");
    let m = &j["months"][0];
    assert_eq!(m["month"], month.as_str());
    assert_eq!(
        (m["issued"].as_f64(), m["redeemed"].as_f64()),
        (Some(1000.0), Some(250.5))
    );
    assert_eq!(m["useCancelled"], 250.5);
    assert_eq!(m["clawbacks"], 250.5);
    assert_eq!(m["billedNet"], 250.5);
    assert_eq!(m["closing"], 1000.0);
    assert_eq!(j["outstanding"], 1000.0);
    assert_eq!(j["reconciled"], true);
    assert_eq!(j["merchants"][0]["merchantId"], 7);

    let csv = s.run(&["report", "liability", "--format", "csv"]);
    assert_eq!(csv.code, 0, "{csv:?}");
    let mut lines = csv.stdout.lines();
    assert_eq!(
        lines.next(),
        Some(
            "month,opening,issued,redeemed,saveCancelled,useCancelled,forfeited,closing,billedNet,billed,commission,clawbacks"
        )
    );
    let first = lines.next().unwrap();
    assert!(
        first.starts_with(&format!("{month},0,1000,250.5,0,250.5,0,1000,250.5,")),
        "{first}"
    );

    // The table is for people (CSV above stays plain): points grouped, two decimals.
    let table = s.run(&["report", "liability", "--month", &month]);
    assert_eq!(table.code, 0, "{table:?}");
    let row = table
        .stdout
        .lines()
        .find(|l| l.starts_with(&month))
        .unwrap_or_else(|| panic!("no {month} row: {}", table.stdout));
    assert_eq!(
        w(row)[1..8],
        [
            "0.00", "1,000.00", "250.50", "0.00", "250.50", "0.00", "1,000.00"
        ],
        "{row}"
    );

    let table = s.run(&w("report activity --grain month"));
    assert_eq!(table.code, 0, "{table:?}");
    assert!(
        table.stdout.starts_with("Activity by month\nperiod"),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains(&format!("\n{month} ")),
        "{}",
        table.stdout
    );

    let a = s.ok(&[
        "report",
        "anomalies",
        "--from",
        &date[..10],
        "--to",
        &date[..10],
        "--min-failed",
        "1",
        "--json",
    ]);
    assert_eq!(a["members"][0]["memberId"], 2);
    assert_eq!(a["members"][0]["failedUses"], 1);

    // Bad flags name the field and the rule, and change nothing.
    let bad = s.run(&w("report activity --grain year --from 2026-02-30"));
    assert_eq!(bad.code, 2, "{bad:?}");
    let line = bad.error_line();
    assert!(line.contains("grain must be day, week or month"), "{line}");
    assert!(line.contains("from must be a date as YYYY-MM-DD"), "{line}");
}

#[test]
fn the_server_and_the_remote_adapter_answer_the_same_reports() {
    let served = remote_support::serve(None);
    let state = tempfile::tempdir().unwrap();
    let p = remote_support::remote(&served.url(), None, state.path());
    let join = |name: &str| {
        p.join(
            NewMember::parse(&MemberDraft {
                name: name.into(),
                ..Default::default()
            })
            .unwrap(),
            None,
        )
        .unwrap()
    };
    join("A");
    join("B");
    let save = |m: u64, amount: u64| {
        p.place_deal(
            DealRequest::Save {
                member: MemberId(m),
                merchant: MerchantId(3),
                amount: Amount(amount),
                date: None,
            },
            None,
        )
        .unwrap()
    };
    save(1, 50_000);
    save(2, 20_000);
    p.place_deal(
        DealRequest::Cancel {
            original: DealId(2),
            kind: onepoint::domain::CancelKind::Any,
            date: None,
        },
        None,
    )
    .unwrap();

    let Report::Liability(l) = p.report(&ReportQuery::new(ReportKind::Liability)).unwrap() else {
        panic!()
    };
    assert_eq!(l.months.len(), 1);
    assert_eq!(l.months[0].month.to_string(), "202610");
    assert_eq!(l.months[0].issued, Points(70_000));
    assert_eq!(l.months[0].save_cancelled, Points(20_000));
    assert_eq!(l.months[0].closing, Points(50_000));
    assert!(l.reconciled);

    let mut q = ReportQuery::new(ReportKind::Activity);
    q.from = Some(onepoint::domain::reports::query::parse_day("from", "2026-10-15").unwrap());
    let Report::Activity(a) = p.report(&q).unwrap() else {
        panic!()
    };
    assert_eq!(a.rows.len(), 1);
    assert_eq!((a.rows[0].saves, a.rows[0].save_cancels), (2, 1));
    assert_eq!(a.rows[0].active_members, 2);

    let Report::Segments(s) = p.report(&ReportQuery::new(ReportKind::Segments)).unwrap() else {
        panic!()
    };
    assert_eq!(s.rows.iter().map(|r| r.members).sum::<u64>(), 2);

    // Member totals for the members export: one batch read, unknown ids left out.
    let totals = p
        .member_totals(&[MemberId(1), MemberId(2), MemberId(99)])
        .unwrap();
    assert_eq!(totals.len(), 2);
    assert_eq!(
        (totals[0].earned, totals[0].frequency, totals[0].spend),
        (Points(50_000), 1, 50_000)
    );
    assert_eq!(
        (totals[1].earned, totals[1].save_cancelled),
        (Points(20_000), Points(20_000))
    );
    assert_eq!(totals[0].segment, "new");

    // Raw HTTP: a bad parameter is a 400 naming it; an unknown report too.
    let url = served.url();
    let r = remote_support::call(
        "GET",
        &format!("{url}/reports/liability?month=2026"),
        &[],
        None,
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("month"), "{}", r.text);
    let r = remote_support::call("GET", &format!("{url}/reports/profit"), &[], None);
    assert_eq!(r.status, 400, "{}", r.text);
    let r = remote_support::call("GET", &format!("{url}/reports/dormant?days=1"), &[], None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["report"], "dormant");
}
