//! The staff reports over `--remote` against the original services (issue 11.6): built by
//! the remote adapter from their paged lists. A fake of the original on loopback pages like
//! Spring Data REST (`page`, `size`, `sort`, a page block; it cuts `size` to 3 here, so
//! every walk spans pages) and renders each item from the recovered fixtures' shapes
//! (`tests/remote_fixtures`, the same ones the original-services stub serves), with a
//! fixed history and a fixed clock.

mod remote_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onepoint::api::Port;
use onepoint::domain::reports::{Report, ReportQuery};
use onepoint::domain::{Clock, Points};
use serde_json::{Value, json};

/// 2026-11-30T12:00:00Z.
const NOW_MS: i64 = 1_796_040_000_000;
/// The fake's largest page (Spring Data REST cuts larger sizes the same way, at 1000).
const MAX_PAGE: usize = 3;

fn template(name: &str) -> Value {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/remote_fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn links(v: &mut Value, port: u16, coll: &str, rel: &str, id: u64) {
    let href = format!("http://localhost:{port}/{coll}/{id}");
    v["_links"] = json!({"self": {"href": href}, rel: {"href": href}});
}

/// A deal as the original renders it (a cancel re-read has no date and no status).
#[allow(clippy::too_many_arguments)]
fn deal(
    id: u64,
    member: u64,
    merchant: u64,
    ty: &str,
    point: f64,
    amount: f64,
    status: &str,
    date: Option<&str>,
) -> (u64, Value) {
    let mut v = template("deals-1.json");
    v["memberId"] = json!(member);
    v["merchantId"] = json!(merchant);
    v["type"] = json!(ty);
    v["point"] = json!(point);
    v["dealAmount"] = json!(amount);
    v["status"] = if ty.ends_with("ancel") {
        Value::Null
    } else {
        json!(status)
    };
    v["billingStatus"] = if ty.ends_with("ancel") {
        Value::Null
    } else {
        json!("no")
    };
    v["dealDate"] = match date {
        Some(d) => json!(format!("2026-{d}:00.000+0000")),
        None => Value::Null,
    };
    links(&mut v, 8085, "deals", "deal", id);
    (id, v)
}

struct Data {
    collections: HashMap<&'static str, Vec<(u64, Value)>>,
    /// Every collection request: (collection, page, sort).
    asked: Mutex<Vec<(String, u64, String)>>,
    /// Answer this page of `/deals` with a 500.
    fail_deals_page: Mutex<Option<u64>>,
}

/// The history (UTC). Members 1-5 are live (5 never dealt); member 6 withdrew, so the
/// original deleted it but kept its balance. Deals 7 and 10 are cancels re-read without a
/// date; deal 9 is the README's `cancel`, which the original ignores.
fn data() -> Data {
    let deals = vec![
        deal(
            1,
            1,
            20,
            "save",
            1000.0,
            100000.0,
            "success",
            Some("10-01T10:00"),
        ),
        deal(
            2,
            2,
            20,
            "save",
            500.0,
            50000.0,
            "success",
            Some("10-02T10:00"),
        ),
        deal(3, 1, 20, "use", 200.0, 0.0, "success", Some("10-03T10:00")),
        deal(
            4,
            6,
            20,
            "save",
            200.0,
            20000.0,
            "success",
            Some("10-04T10:00"),
        ),
        deal(5, 1, 20, "use", 5000.0, 0.0, "fail", Some("11-25T09:00")),
        deal(
            6,
            3,
            30,
            "save",
            100.0,
            10000.0,
            "success",
            Some("11-25T10:00"),
        ),
        deal(7, 1, 20, "useCancel", 200.0, 0.0, "", None),
        deal(8, 2, 20, "use", 100.0, 0.0, "success", Some("11-27T10:00")),
        deal(9, 2, 20, "cancel", 100.0, 0.0, "", None),
        deal(10, 3, 30, "saveCancel", 100.0, 10000.0, "", None),
        deal(11, 1, 20, "use", 9999.0, 0.0, "fail", Some("11-28T10:00")),
        deal(12, 1, 20, "use", 9999.0, 0.0, "fail", Some("11-29T10:00")),
        deal(
            13,
            4,
            20,
            "save",
            300.0,
            30000.0,
            "success",
            Some("11-29T11:00"),
        ),
    ];
    let names = ["안서연", "김준혁", "Olivia", "Liam", "Noah"];
    let members = (1..=5u64)
        .map(|id| {
            let mut v = template("members-1.json");
            v["name"] = json!(names[id as usize - 1]);
            links(&mut v, 8082, "members", "member", id);
            (id, v)
        })
        .collect();
    let points = [(1u64, 1000.0), (2, 400.0), (3, 0.0), (4, 300.0), (6, 200.0)]
        .into_iter()
        .map(|(id, p)| {
            let mut v = template("points-0001.json");
            v["point"] = json!(p);
            links(&mut v, 8081, "points", "point", id);
            (id, v)
        })
        .collect();
    let mut billing = template("billings-1.json");
    billing["billingAmount"] = json!(196.0);
    billing["billingMonth"] = json!("202610");
    links(&mut billing, 8084, "billings", "billing", 1);
    Data {
        collections: HashMap::from([
            ("deals", deals),
            ("members", members),
            ("points", points),
            ("billings", vec![(1, billing)]),
        ]),
        asked: Mutex::default(),
        fail_deals_page: Mutex::default(),
    }
}

type Shared = Arc<Data>;

async fn collection(
    State(d): State<Shared>,
    Path(coll): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(items) = d.collections.get(coll.as_str()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let page: u64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let size: usize = q
        .get("size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .min(MAX_PAGE);
    let sort = q.get("sort").cloned().unwrap_or_default();
    d.asked
        .lock()
        .unwrap()
        .push((coll.clone(), page, sort.clone()));
    if coll == "deals" && *d.fail_deals_page.lock().unwrap() == Some(page) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "application/json")],
            r#"{"status":500,"error":"Internal Server Error","message":"boom","path":"/deals"}"#,
        )
            .into_response();
    }
    let mut ordered: Vec<&Value> = items.iter().map(|(_, v)| v).collect();
    if sort.ends_with(",desc") {
        ordered.reverse();
    }
    let total = ordered.len();
    let rows: Vec<&Value> = ordered
        .into_iter()
        .skip(page as usize * size)
        .take(size)
        .collect();
    let body = json!({
        "_embedded": {coll.as_str(): rows},
        "_links": {"self": {"href": format!("http://localhost/{coll}{{?page,size,sort}}"), "templated": true}},
        "page": {"size": size, "totalElements": total, "totalPages": total.div_ceil(size), "number": page},
    });
    (
        StatusCode::OK,
        [("content-type", "application/hal+json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

async fn item(State(d): State<Shared>, Path((coll, id)): Path<(String, u64)>) -> Response {
    match d
        .collections
        .get(coll.as_str())
        .and_then(|items| items.iter().find(|(i, _)| *i == id))
    {
        Some((_, v)) => (
            StatusCode::OK,
            [("content-type", "application/hal+json;charset=UTF-8")],
            v.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

struct Fake {
    url: String,
    data: Shared,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn start() -> Fake {
    let data: Shared = Arc::new(data());
    let app = Router::new()
        .route("/{coll}", get(collection))
        .route("/{coll}/{id}", get(item))
        .with_state(data.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    Fake {
        url: format!("http://{}", rx.recv().unwrap()),
        data,
        _stop: stop,
    }
}

fn report(p: &dyn Port, kind: &str, params: &[(&str, &str)]) -> Report {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    p.report(&ReportQuery::parse(kind, &params).unwrap())
        .unwrap()
}

fn gap_fields(r: &Report) -> Vec<String> {
    r.gaps().iter().map(|g| g.field.clone()).collect()
}

fn pts(whole: i64) -> Points {
    Points(whole * 100)
}

#[test]
fn the_liability_roll_forward_is_built_from_every_page_of_deals_billings_and_balances() {
    let fake = start();
    let dir = tempfile::tempdir().unwrap();
    let p = remote_support::remote(&fake.url, None, dir.path()).with_clock(Clock::fixed(NOW_MS));
    let Report::Liability(l) = report(&p, "liability", &[]) else {
        panic!("not a liability report")
    };
    let rows: Vec<_> = l
        .months
        .iter()
        .map(|r| {
            (
                r.month.to_string(),
                r.opening,
                r.issued,
                r.redeemed,
                r.save_cancelled,
                r.use_cancelled,
                r.closing,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "202610".into(),
                pts(0),
                pts(1700),
                pts(200),
                pts(0),
                pts(0),
                pts(1500)
            ),
            (
                "202611".into(),
                pts(1500),
                pts(400),
                pts(100),
                pts(100),
                pts(200),
                pts(1900)
            ),
        ]
    );
    // The balances add up to the last closing, member 6's kept balance included.
    assert_eq!((l.outstanding, l.reconciled), (pts(1900), true));
    let oct = &l.months[0];
    assert_eq!(
        (oct.billed, oct.billed_net, oct.commission, oct.clawbacks),
        (pts(196), pts(200), pts(4), pts(0))
    );
    assert_eq!(
        l.merchant_month.map(|m| m.to_string()),
        Some("202611".into())
    );
    let merchants: Vec<_> = l
        .merchants
        .iter()
        .map(|m| {
            (
                m.merchant_id.0,
                m.issued,
                m.redeemed,
                m.save_cancelled,
                m.use_cancelled,
            )
        })
        .collect();
    assert_eq!(
        merchants,
        [
            (20, pts(300), pts(100), pts(0), pts(200)),
            (30, pts(100), pts(0), pts(100), pts(0))
        ]
    );
    let gaps = gap_fields(&Report::Liability(l.clone()));
    for f in [
        "clawbacks",
        "billedNet, commission",
        "saveCancels, useCancels (dates)",
        "deals",
    ] {
        assert!(gaps.iter().any(|g| g == f), "no gap for {f}: {gaps:?}");
    }
    // Every page of every list was read: 13 deals at 3 a page is 5 pages, oldest first.
    let asked = fake.data.asked.lock().unwrap().clone();
    let deal_pages: Vec<u64> = asked
        .iter()
        .filter(|(c, _, s)| c == "deals" && s == "id,asc")
        .map(|a| a.1)
        .collect();
    assert_eq!(deal_pages, [0, 1, 2, 3, 4]);
    assert!(asked.iter().any(|(c, page, _)| c == "points" && *page == 1));

    let Report::Liability(oct) = report(&p, "liability", &[("month", "202610")]) else {
        panic!()
    };
    assert_eq!(oct.months.len(), 1);
    let m20 = &oct.merchants[0];
    assert_eq!(
        (m20.merchant_id.0, m20.issued, m20.billed),
        (20, pts(1700), pts(196))
    );
}

#[test]
fn activity_reads_newest_first_and_stops_at_its_window() {
    let fake = start();
    let dir = tempfile::tempdir().unwrap();
    let p = remote_support::remote(&fake.url, None, dir.path()).with_clock(Clock::fixed(NOW_MS));
    let r = report(
        &p,
        "activity",
        &[("from", "2026-11-24"), ("to", "2026-11-30")],
    );
    let Report::Activity(a) = &r else { panic!() };
    let rows: Vec<_> = a
        .rows
        .iter()
        .map(|r| {
            (
                r.period.as_str(),
                r.saves,
                r.uses,
                r.failed_uses,
                r.save_cancels,
                r.use_cancels,
                r.failed_use_rate_bp,
                r.earned,
                r.used,
                r.active_members,
            )
        })
        .collect();
    let zero = pts(0);
    assert_eq!(
        rows,
        [
            ("2026-11-24", 0, 0, 0, 0, 0, 0, zero, zero, 0),
            // The useCancel 7 has no date: it is dated as deal 6, before it by id.
            ("2026-11-25", 1, 0, 1, 0, 1, 10_000, pts(100), zero, 2),
            ("2026-11-26", 0, 0, 0, 0, 0, 0, zero, zero, 0),
            ("2026-11-27", 0, 1, 0, 1, 0, 0, zero, pts(100), 2),
            ("2026-11-28", 0, 0, 1, 0, 0, 10_000, zero, zero, 1),
            ("2026-11-29", 1, 0, 1, 0, 0, 10_000, pts(300), zero, 2),
            ("2026-11-30", 0, 0, 0, 0, 0, 0, zero, zero, 0),
        ]
    );
    let gaps = gap_fields(&r);
    assert!(
        gaps.contains(&"newMembers, withdrawals".to_string()),
        "{gaps:?}"
    );
    // Newest first, 3 a page: deal 4 (October) on page 3 ends the walk; page 4 is never read.
    let pages: Vec<u64> = fake
        .data
        .asked
        .lock()
        .unwrap()
        .iter()
        .filter(|(c, _, s)| c == "deals" && s == "id,desc")
        .map(|a| a.1)
        .collect();
    assert_eq!(pages, [0, 1, 2, 3]);

    // A week counts each member once (member 1 dealt on three days of it).
    let Report::Activity(w) = report(
        &p,
        "activity",
        &[
            ("grain", "week"),
            ("from", "2026-11-23"),
            ("to", "2026-11-29"),
        ],
    ) else {
        panic!()
    };
    assert_eq!(w.rows.len(), 1);
    assert_eq!(
        (w.rows[0].period.as_str(), w.rows[0].active_members),
        ("2026-11-23", 4)
    );
    let Report::Activity(m) = report(
        &p,
        "activity",
        &[("grain", "month"), ("from", "2026-10-01")],
    ) else {
        panic!()
    };
    let months: Vec<_> = m
        .rows
        .iter()
        .map(|r| (r.period.as_str(), r.saves, r.earned, r.active_members))
        .collect();
    assert_eq!(
        months,
        [("202610", 3, pts(1700), 3), ("202611", 2, pts(400), 4)]
    );
}

#[test]
fn segments_and_dormant_come_from_every_members_deals() {
    let fake = start();
    let dir = tempfile::tempdir().unwrap();
    let p = remote_support::remote(&fake.url, None, dir.path()).with_clock(Clock::fixed(NOW_MS));
    let r = report(&p, "segments", &[]);
    let Report::Segments(s) = &r else { panic!() };
    assert_eq!((s.high_frequency, s.high_spend), (2, 100_000));
    let rows: Vec<_> = s
        .rows
        .iter()
        .map(|r| (r.segment.as_str(), r.members, r.points))
        .collect();
    assert_eq!(
        rows,
        [
            ("champions", 1, pts(1000)),
            ("loyal", 1, pts(400)),
            ("active", 2, pts(300)),
            ("new", 0, pts(0)),
            ("at risk", 0, pts(0)),
            // Member 5 never dealt; with no join date it reads dormant. Member 6 is gone.
            ("dormant", 1, pts(0)),
        ]
    );
    assert!(gap_fields(&r).contains(&"new".to_string()));

    let Report::Dormant(d) = report(&p, "dormant", &[("days", "3")]) else {
        panic!()
    };
    let listed: Vec<_> = d
        .members
        .iter()
        .map(|m| (m.member_id.0, m.name.as_str(), m.points, m.idle_days))
        .collect();
    assert_eq!(listed, [(2, "김준혁", pts(400), 3)]);
    assert_eq!((d.total_members, d.total_points), (1, pts(400)));
}

#[test]
fn anomalies_flag_members_and_say_merchant_clawbacks_cannot_be_built() {
    let fake = start();
    let dir = tempfile::tempdir().unwrap();
    let p = remote_support::remote(&fake.url, None, dir.path()).with_clock(Clock::fixed(NOW_MS));
    let r = report(
        &p,
        "anomalies",
        &[
            ("from", "2026-11-24"),
            ("to", "2026-11-30"),
            ("minCancels", "1"),
            ("minFailed", "2"),
        ],
    );
    let Report::Anomalies(a) = &r else { panic!() };
    let members: Vec<_> = a
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.0,
                m.name.as_str(),
                m.cancels,
                m.failed_uses,
                m.deals.iter().map(|d| d.0).collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        members,
        [
            (1, "안서연", 1, 3, vec![5, 7, 11, 12]),
            (3, "Olivia", 1, 0, vec![10]),
        ]
    );
    assert!(a.merchants.is_empty());
    let gaps = gap_fields(&r);
    assert!(gaps.contains(&"merchants".to_string()), "{gaps:?}");
    // The gaps are a table of their own wherever the report is shown.
    let last = r.tables().pop().unwrap();
    assert!(
        last.title.starts_with("Not from the source"),
        "{}",
        last.title
    );
    assert!(last.rows.iter().any(|row| row[0] == "merchants"));
}

#[test]
fn a_page_that_fails_fails_the_report_never_a_partial_sum() {
    let fake = start();
    *fake.data.fail_deals_page.lock().unwrap() = Some(2);
    let dir = tempfile::tempdir().unwrap();
    let p = remote_support::remote(&fake.url, None, dir.path()).with_clock(Clock::fixed(NOW_MS));
    let q = ReportQuery::parse("liability", &[]).unwrap();
    let e = p.report(&q).unwrap_err();
    assert!(
        !matches!(e, onepoint::api::Error::Domain(_)),
        "a server fault, not a domain answer: {e:?}"
    );
    *fake.data.fail_deals_page.lock().unwrap() = None;
    // Past the breaker's short back-off (a fault may have opened it).
    std::thread::sleep(std::time::Duration::from_millis(700));
    let Report::Liability(l) = p.report(&q).unwrap() else {
        panic!()
    };
    assert!(l.reconciled);
}
