//! Bad input through the CLI (SPEC 9): each case exits with the right code (2 malformed,
//! 3 refused), prints one `error: ` line naming the field, prints nothing on stdout, and
//! leaves the store exactly as it was (counts, balances, statuses and the event log).

mod cli_support;

use chrono::{Datelike, Duration, Utc};
use cli_support::Store;

/// A store with one member holding 1000 points.
fn store() -> Store {
    let s = Store::new();
    s.join("안서연");
    s.ok(&[
        "deal",
        "save",
        "--member",
        "1",
        "--merchant",
        "20",
        "--amount",
        "100000",
    ]);
    s
}

/// Runs every case, each expected to change nothing.
fn refuse_all(s: &Store, cases: &[(Vec<String>, i32, &str)]) {
    let before = s.state();
    for (args, code, field) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = s.run(&args);
        let shown: Vec<String> = args.iter().map(|a| a.chars().take(40).collect()).collect();
        assert_eq!(r.code, *code, "exit code of {shown:?}: {}", r.stderr);
        let line = r.error_line();
        // clap's usage errors put the option on the next line, then the usage.
        let named = if field.starts_with("--") {
            &r.stderr
        } else {
            line
        };
        assert!(
            named.contains(field),
            "{shown:?}: {field:?} not named in {named:?}"
        );
        assert!(r.stdout.is_empty(), "{shown:?} printed {:?}", r.stdout);
        assert!(!r.stderr.contains("panicked"), "{shown:?}: {}", r.stderr);
    }
    assert_eq!(s.state(), before, "a refused input changed the store");
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn save_with_amount(amount: &str) -> Vec<String> {
    args(&[
        "deal",
        "save",
        "--member",
        "1",
        "--merchant",
        "20",
        "--amount",
        amount,
    ])
}

fn use_with_points(points: &str) -> Vec<String> {
    args(&[
        "deal",
        "use",
        "--member",
        "1",
        "--merchant",
        "20",
        "--points",
        points,
    ])
}

#[test]
fn malformed_numbers_are_refused_by_field() {
    let s = store();
    refuse_all(
        &s,
        &[
            (save_with_amount("-5"), 2, "dealAmount"),
            (save_with_amount("0"), 2, "dealAmount"),
            (save_with_amount("1.5"), 2, "dealAmount"),
            (save_with_amount("1e5"), 2, "dealAmount"),
            (save_with_amount("1000000000001"), 2, "dealAmount"),
            (save_with_amount("99999999999999999999999"), 2, "dealAmount"),
            (save_with_amount(""), 2, "dealAmount"),
            (use_with_points("1.234"), 2, "point"),
            (use_with_points("1e5"), 2, "point"),
            (use_with_points("0"), 2, "point"),
            (use_with_points("-3"), 2, "point"),
            (use_with_points("0.001"), 2, "point"),
            (use_with_points("NaN"), 2, "point"),
            (
                args(&[
                    "deal",
                    "use",
                    "--member",
                    "1",
                    "--merchant",
                    "20",
                    "--points",
                    "5",
                    "--amount",
                    "-1",
                ]),
                2,
                "dealAmount",
            ),
            (
                args(&[
                    "merchant",
                    "add",
                    "--id",
                    "7",
                    "--name",
                    "Cafe",
                    "--earn-rate",
                    "150",
                ]),
                2,
                "earnRate",
            ),
            (
                args(&["merchant", "add", "--id", "0", "--name", "Cafe"]),
                2,
                "merchantId",
            ),
        ],
    );
}

#[test]
fn bad_names_phones_and_control_characters_are_refused() {
    let s = store();
    // Linux caps one argument at 128 KiB (MAX_ARG_STRLEN), so 120 KB is the largest name
    // a command line can carry; the 10 MB case is the parser's own test.
    let huge = "가".repeat(40_000);
    refuse_all(
        &s,
        &[
            (args(&["member", "join", "--name", ""]), 2, "name"),
            (args(&["member", "join", "--name", "   "]), 2, "name"),
            (
                args(&["member", "join", "--name", &"x".repeat(101)]),
                2,
                "name",
            ),
            (args(&["member", "join", "--name", &huge]), 2, "name"),
            (
                args(&["member", "join", "--name", "bell\u{7}name"]),
                2,
                "name",
            ),
            (args(&["member", "join", "--name", "two\nlines"]), 2, "name"),
            (
                args(&["member", "join", "--name", "Kim", "--phone", "010-abcd"]),
                2,
                "phone",
            ),
            (
                args(&["member", "join", "--name", "Kim", "--address", "a\u{1b}[2J"]),
                2,
                "address",
            ),
        ],
    );
}

#[test]
fn unknown_ids_and_types_are_refused() {
    let s = store();
    refuse_all(
        &s,
        &[
            (
                args(&[
                    "deal",
                    "save",
                    "--member",
                    "999",
                    "--merchant",
                    "20",
                    "--amount",
                    "5",
                ]),
                3,
                "member",
            ),
            (
                args(&[
                    "deal",
                    "save",
                    "--member",
                    "x1",
                    "--merchant",
                    "20",
                    "--amount",
                    "5",
                ]),
                2,
                "memberId",
            ),
            (
                args(&[
                    "deal",
                    "save",
                    "--member",
                    "1",
                    "--merchant",
                    "-2",
                    "--amount",
                    "5",
                ]),
                2,
                "merchantId",
            ),
            (args(&["deal", "cancel", "999"]), 3, "deal"),
            (args(&["deal", "cancel", "abc"]), 2, "originalDealId"),
            (args(&["deal", "show", "999"]), 3, "deal"),
            (args(&["deal", "show", "0"]), 2, "dealId"),
            (args(&["points", "999"]), 3, "member"),
            (args(&["member", "show", "999"]), 3, "member"),
            (args(&["member", "withdraw", "999"]), 3, "member"),
            (args(&["member", "withdraw", "-1"]), 2, "memberId"),
            (args(&["deal", "list", "--type", "refund"]), 2, "type"),
            (args(&["deal", "list", "--status", "maybe"]), 2, "status"),
            (args(&["deal", "list", "--limit", "0"]), 2, "limit"),
            (args(&["member", "list", "--limit", "10001"]), 2, "limit"),
            (args(&["member", "list", "--status", "gone"]), 2, "status"),
            (args(&["events", "--after", "-1"]), 2, "after"),
            // A required option left out: clap names it.
            (
                args(&["deal", "save", "--member", "1", "--merchant", "20"]),
                2,
                "--amount",
            ),
        ],
    );
}

#[test]
fn bad_months_dates_and_keys_are_refused() {
    let s = store();
    let next = Utc::now().date_naive().with_day(1).unwrap() + Duration::days(40);
    let future_month = format!("{:04}{:02}", next.year(), next.month());
    let in_an_hour = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let bill = |m: &str| args(&["billing", "run", "--merchant", "20", "--month", m]);
    let mut dated = save_with_amount("100");
    dated.extend(args(&["--date", &in_an_hour]));
    let mut yesterday = save_with_amount("100");
    yesterday.extend(args(&["--date", "yesterday"]));
    let keyed = |k: &str| {
        let mut a = args(&["--key", k]);
        a.extend(save_with_amount("100"));
        a
    };
    refuse_all(
        &s,
        &[
            (bill("2026-10"), 2, "billingMonth"),
            (bill("202613"), 2, "billingMonth"),
            (bill("abcdef"), 2, "billingMonth"),
            (bill(&future_month), 3, "billingMonth"),
            (
                args(&["billing", "preview", "--merchant", "20", "--month", "13"]),
                2,
                "billingMonth",
            ),
            (args(&["deal", "list", "--month", "202600"]), 2, "month"),
            (dated, 2, "dealDate"),
            (yesterday, 2, "dealDate"),
            (keyed(""), 2, "key"),
            (keyed(&"k".repeat(200)), 2, "key"),
            (keyed("tab\tkey"), 2, "key"),
        ],
    );
}
