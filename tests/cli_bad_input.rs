//! Bad input through the CLI (SPEC 9): each case exits with the right code (2 malformed,
//! 3 refused), prints one `error: ` line naming the field, prints nothing on stdout, and
//! leaves the store exactly as it was (counts, balances, statuses and the event log).

mod cli_support;

use chrono::{Datelike, Duration, Utc};
use cli_support::{Store, w};

/// A store with one member holding 1000 points.
fn store() -> Store {
    let s = Store::new();
    s.join("안서연");
    s.ok(&w("deal save --member 1 --merchant 20 --amount 100000"));
    s
}

/// One bad input: the arguments, the exit code, what the error must name.
struct Case(Vec<String>, i32, &'static str);

/// A case from a command line without spaces in its arguments.
fn case(line: &str, code: i32, field: &'static str) -> Case {
    Case(w(line).into_iter().map(String::from).collect(), code, field)
}

/// A case whose last argument is `last` (which may hold spaces or anything else).
fn case_with(line: &str, last: &str, code: i32, field: &'static str) -> Case {
    let mut c = case(line, code, field);
    c.0.push(last.to_string());
    c
}

/// Runs every case, each expected to change nothing.
fn refuse_all(s: &Store, cases: &[Case]) {
    let before = s.state();
    for Case(args, code, field) in cases {
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

const SAVE: &str = "deal save --member 1 --merchant 20 --amount";
const USE: &str = "deal use --member 1 --merchant 20 --points";

#[test]
fn malformed_numbers_are_refused_by_field() {
    let s = store();
    let mut cases: Vec<Case> = [
        "-5",
        "0",
        "1.5",
        "1e5",
        "1000000000001",
        "99999999999999999999999",
        "",
        "0x10",
    ]
    .iter()
    .map(|a| case_with(SAVE, a, 2, "dealAmount"))
    .collect();
    cases.extend(
        ["1.234", "1e5", "0", "-3", "0.001", "NaN", "", "1,000"]
            .iter()
            .map(|p| case_with(USE, p, 2, "point")),
    );
    cases.push(case(&format!("{USE} 5 --amount -1"), 2, "dealAmount"));
    cases.push(case(
        "merchant add --id 7 --name Cafe --earn-rate 150",
        2,
        "earnRate",
    ));
    cases.push(case("merchant add --id 0 --name Cafe", 2, "merchantId"));
    refuse_all(&s, &cases);
}

#[test]
fn bad_names_phones_and_control_characters_are_refused() {
    let s = store();
    // Linux caps one argument at 128 KiB (MAX_ARG_STRLEN), so 120 KB is the largest name
    // a command line can carry; the 10 MB case is the parser's own test.
    let huge = "가".repeat(40_000);
    let join = "member join --name";
    refuse_all(
        &s,
        &[
            case_with(join, "", 2, "name"),
            case_with(join, "   ", 2, "name"),
            case_with(join, &"x".repeat(101), 2, "name"),
            case_with(join, &huge, 2, "name"),
            case_with(join, "bell\u{7}name", 2, "name"),
            case_with(join, "two\nlines", 2, "name"),
            case_with("member join --name Kim --phone", "010-abcd", 2, "phone"),
            case_with(
                "member join --name Kim --address",
                "a\u{1b}[2J",
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
            case(
                "deal save --member 999 --merchant 20 --amount 5",
                3,
                "member",
            ),
            case(
                "deal save --member x1 --merchant 20 --amount 5",
                2,
                "memberId",
            ),
            case(
                "deal save --member 1 --merchant -2 --amount 5",
                2,
                "merchantId",
            ),
            case("deal cancel 999", 3, "deal"),
            case("deal cancel abc", 2, "originalDealId"),
            case("deal show 999", 3, "deal"),
            case("deal show 0", 2, "dealId"),
            case("points 999", 3, "member"),
            case("member show 999", 3, "member"),
            case("member withdraw 999", 3, "member"),
            case("member withdraw -1", 2, "memberId"),
            case("deal list --type refund", 2, "type"),
            case("deal list --status maybe", 2, "status"),
            case("deal list --limit 0", 2, "limit"),
            case("member list --limit 10001", 2, "limit"),
            case("member list --status gone", 2, "status"),
            case("events --after -1", 2, "after"),
            case("seed --members -1 --deals 5", 2, "members"),
            case("info --cache-mb 1", 2, "--cache-mb"),
            case("member list --cache-mb 99999999", 2, "--cache-mb"),
            // A required option left out: clap names it.
            case("deal save --member 1 --merchant 20", 2, "--amount"),
        ],
    );
}

#[test]
fn bad_months_dates_and_keys_are_refused() {
    let s = store();
    let next = Utc::now().date_naive().with_day(1).unwrap() + Duration::days(40);
    let future_month = format!("{:04}{:02}", next.year(), next.month());
    let in_an_hour = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let bill = "billing run --merchant 20 --month";
    let keyed = |k: &str| {
        let mut c = case_with("--key", k, 2, "key");
        c.0.extend(w(&format!("{SAVE} 100")).into_iter().map(String::from));
        c
    };
    refuse_all(
        &s,
        &[
            case_with(bill, "2026-10", 2, "billingMonth"),
            case_with(bill, "202613", 2, "billingMonth"),
            case_with(bill, "abcdef", 2, "billingMonth"),
            case_with(bill, &future_month, 3, "billingMonth"),
            case(
                "billing preview --merchant 20 --month 13",
                2,
                "billingMonth",
            ),
            case("deal list --month 202600", 2, "month"),
            case(&format!("{SAVE} 100 --date {in_an_hour}"), 3, "dealDate"),
            case(&format!("{SAVE} 100 --date yesterday"), 2, "dealDate"),
            keyed(""),
            keyed(&"k".repeat(200)),
            keyed("tab\tkey"),
        ],
    );
}
