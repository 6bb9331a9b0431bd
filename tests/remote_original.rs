//! The remote adapter against the original services: a stub server answers with the
//! recovered fixtures (`shared/contract/fixtures`), and the adapter must read them (ids from
//! `_links.self.href`, `mercharntId`, doubles, `+0000` dates) and post what the original
//! expects (cancels carry the original deal's point).

mod remote_support;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onepoint::api::Port;
use onepoint::domain::{
    Amount, BalanceQuery, BillingQuery, BillingRequest, BillingStatus, CancelKind, DealId,
    DealQuery, DealRequest, DealStatus, DealType, MemberId, MemberQuery, MemberStatus, MerchantId,
    Month, NewMember, Points,
};
use serde_json::Value;

/// A verbatim copy of `shared/contract/fixtures` (HTTP ones), kept with the tests so a
/// clean clone runs them.
fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/remote_fixtures")
}

fn fixture(name: &str) -> String {
    let p = fixtures().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

type Posted = Arc<Mutex<Vec<(String, Value)>>>;

fn hal(status: StatusCode, name: &str) -> Response {
    (
        status,
        [("content-type", "application/hal+json;charset=UTF-8")],
        fixture(name),
    )
        .into_response()
}

/// The original's item paths: `/members/0001` and `/members/1` are the same.
fn item(kind: &str, id: &str) -> Response {
    let n: u64 = id.parse().unwrap_or(0);
    let name = match kind {
        "points" => format!("points-{n:04}.json"),
        _ => format!("{kind}-{n}.json"),
    };
    if fixtures().join(&name).exists() {
        hal(StatusCode::OK, &name)
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

async fn post_deal(State(posted): State<Posted>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap();
    posted.lock().unwrap().push(("/deals".into(), v.clone()));
    let point = v["point"].as_f64().unwrap_or(0.0);
    match v["type"].as_str() {
        Some("save") => hal(StatusCode::CREATED, "deals-post-save-response.json"),
        Some("use") if point > 1900.0 => {
            hal(StatusCode::CREATED, "deals-post-use-fail-response.json")
        }
        Some("use") => hal(StatusCode::CREATED, "deals-post-use-success-response.json"),
        Some("useCancel") => hal(StatusCode::CREATED, "deals-post-useCancel-response.json"),
        _ => hal(StatusCode::CREATED, "deals-post-unknown-type-response.json"),
    }
}

async fn post_other(State(posted): State<Posted>, uri: axum::http::Uri, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap();
    posted.lock().unwrap().push((uri.path().to_string(), v));
    match uri.path() {
        "/members" => hal(StatusCode::CREATED, "members-post-response.json"),
        _ => hal(StatusCode::CREATED, "billings-1.json"),
    }
}

fn stub(posted: Posted) -> Router {
    Router::new()
        .route(
            "/members",
            get(|| async { hal(StatusCode::OK, "members-collection.json") }).post(post_other),
        )
        .route(
            "/members/{id}",
            get(|Path(id): Path<String>| async move { item("members", &id) })
                .delete(|| async { StatusCode::NO_CONTENT }),
        )
        .route(
            "/points",
            get(|| async { hal(StatusCode::OK, "points-collection.json") }),
        )
        .route(
            "/points/{id}",
            get(|Path(id): Path<String>| async move { item("points", &id) }),
        )
        .route(
            "/deals",
            get(|| async { hal(StatusCode::OK, "deals-collection.json") }).post(post_deal),
        )
        .route(
            "/deals/{id}",
            get(|Path(id): Path<String>| async move { item("deals", &id) }),
        )
        .route(
            "/billings",
            get(|| async { hal(StatusCode::OK, "billings-collection.json") }).post(post_other),
        )
        .route(
            "/billingAmountViews/search/findByMemberId",
            get(|| async {
                hal(
                    StatusCode::OK,
                    "billingAmountViews-search-findByMemberId-2.json",
                )
            }),
        )
        .with_state(posted)
}

struct Stub {
    url: String,
    posted: Posted,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn start_stub() -> Stub {
    let posted: Posted = Arc::default();
    let app = stub(posted.clone());
    let (tx_addr, rx_addr) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx_addr.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    let addr = rx_addr.recv().unwrap();
    Stub {
        url: format!("http://{addr}"),
        posted,
        _stop: stop,
    }
}

#[test]
fn reads_the_original_services_responses() {
    let stub = start_stub();
    let dir = tempfile::tempdir().unwrap();
    let p = remote_support::remote(&stub.url, None, dir.path());
    assert!(
        p.source().location.contains("original services"),
        "{:?}",
        p.source()
    );

    let m = p.member(MemberId(1)).unwrap();
    assert_eq!((m.member_id, m.name.as_str()), (MemberId(1), "안서연"));
    assert_eq!(
        (m.status, m.point, m.address),
        (MemberStatus::Valid, Points(190_000), None)
    );

    let all = p
        .members(&MemberQuery {
            limit: 20,
            ..MemberQuery::default()
        })
        .unwrap();
    let ids: Vec<(u64, i64)> = all.iter().map(|m| (m.member_id.0, m.point.0)).collect();
    assert_eq!(ids, [(1, 190_000), (2, 80_000)]);

    let d = p.deal(DealId(1)).unwrap();
    assert_eq!(
        (d.id, d.deal_type, d.deal_amount),
        (DealId(1), DealType::Save, 100_000)
    );
    assert_eq!((d.point, d.merchant_id), (Points(100_000), MerchantId(20)));
    assert_eq!(
        onepoint::domain::calendar::format_rfc3339(d.deal_date),
        "2020-07-13T05:20:11.123Z"
    );
    // Re-read after the fact, the original's cancel lost its status; it did succeed.
    let c = p.deal(DealId(9)).unwrap();
    assert_eq!(
        (c.deal_type, c.status, c.point),
        (DealType::UseCancel, DealStatus::Success, Points(20_000))
    );

    let deals = p
        .deals(&DealQuery {
            limit: 100,
            ..DealQuery::default()
        })
        .unwrap();
    let ids: Vec<u64> = deals.iter().map(|d| d.id.0).collect();
    assert_eq!(
        ids,
        [9, 8, 7, 6, 5, 4, 3, 1],
        "the untyped `cancel` row 2 is left out"
    );
    let failed = p
        .deals(&DealQuery {
            status: Some(DealStatus::Fail),
            limit: 100,
            ..DealQuery::default()
        })
        .unwrap();
    assert_eq!(failed.iter().map(|d| d.id.0).collect::<Vec<_>>(), [4]);
    let billed = deals
        .iter()
        .filter(|d| d.billing_status == BillingStatus::Yes)
        .count();
    assert_eq!(billed, 3);

    assert_eq!(p.points(MemberId(2)).unwrap().point, Points(80_000));
    let top = p
        .balances(&BalanceQuery {
            after: None,
            limit: 10,
        })
        .unwrap();
    assert_eq!(
        top.iter()
            .map(|b| (b.member_id.0, b.point.0))
            .collect::<Vec<_>>(),
        [(1, 190_000), (2, 80_000)]
    );

    let bills = p.billings(&BillingQuery::default()).unwrap();
    assert_eq!(bills.iter().map(|b| b.id.0).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(
        (bills[1].merchant_id, bills[1].billing_amount),
        (MerchantId(20), Points(49_000))
    );
    assert_eq!(bills[1].billing_month.to_string(), "202007");

    let rows = p.member_history(MemberId(2), None, 10).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.id.0).collect::<Vec<_>>(),
        [9, 8, 7, 6]
    );

    let e = p.events(0, 10).unwrap_err();
    assert!(
        e.to_string().contains("this server has no event feed"),
        "{e}"
    );
    let e = p
        .preview_billing(MerchantId(20), Month::parse("m", "202007").unwrap())
        .unwrap_err();
    assert!(
        matches!(e, onepoint::api::Error::Unavailable { .. }),
        "{e:?}"
    );
}

#[test]
fn writes_go_out_in_the_original_shape() {
    let stub = start_stub();
    let dir = tempfile::tempdir().unwrap();
    let p = remote_support::remote(&stub.url, None, dir.path());

    let m = p
        .join(
            NewMember {
                name: "안서연".into(),
                phone: Some("01011111111".into()),
                address: Some("용인시 기흥구 구갈동".into()),
            },
            None,
        )
        .unwrap();
    assert_eq!(m.member_id, MemberId(1));

    let save = DealRequest::Save {
        member: MemberId(1),
        merchant: MerchantId(20),
        amount: Amount(100_000),
        date: None,
    };
    let d = p.place_deal(save, None).unwrap();
    assert_eq!(
        (d.id, d.point, d.balance),
        (DealId(1), Points(100_000), Points(190_000))
    );

    let short = DealRequest::Use {
        member: MemberId(1),
        merchant: MerchantId(20),
        points: Points(1_000_000),
        amount: None,
        date: None,
    };
    let d = p.place_deal(short, None).unwrap();
    assert_eq!((d.id, d.status), (DealId(4), DealStatus::Fail));

    // `deal cancel 3`: the original wants the original deal's member, merchant and point.
    let cancel = DealRequest::Cancel {
        original: DealId(3),
        kind: CancelKind::Any,
        date: None,
    };
    let d = p.place_deal(cancel, None).unwrap();
    assert_eq!(d.deal_type, DealType::UseCancel);

    let b = p
        .run_billing(
            BillingRequest {
                merchant: MerchantId(20),
                month: Month::parse("m", "202007").unwrap(),
            },
            None,
        )
        .unwrap();
    assert_eq!((b.id.0, b.billing_amount), (1, Points(49_000)));

    let w = p.withdraw(MemberId(1), None).unwrap();
    assert_eq!(w.member.status, MemberStatus::Invalid);

    let posted = stub.posted.lock().unwrap().clone();
    let bodies: Vec<&Value> = posted.iter().map(|(_, v)| v).collect();
    assert_eq!(
        bodies[0]["addess"], "용인시 기흥구 구갈동",
        "the original reads only addess"
    );
    assert_eq!(bodies[1]["type"], "save");
    assert_eq!(bodies[1]["dealAmount"], 100_000);
    assert_eq!(bodies[2]["point"], 10_000.0);
    let c = bodies[3];
    assert_eq!(
        (c["type"].as_str(), c["memberId"].as_u64()),
        (Some("useCancel"), Some(1))
    );
    assert_eq!(
        (c["point"].as_f64(), c["merchantId"].as_u64()),
        (Some(100.0), Some(20))
    );
    assert_eq!(bodies[4]["mercharntId"], 20);
    assert_eq!(bodies[4]["billingMonth"], "202007");
}

/// The recovered timeline, as a report: the liability roll-forward built by the adapter from
/// the original's deal, billing and balance lists reconciles with their balances.
#[test]
fn the_liability_report_is_built_from_the_original_timeline() {
    use onepoint::domain::reports::{Report, ReportQuery};
    let stub = start_stub();
    let dir = tempfile::tempdir().unwrap();
    // 2020-07-31T00:00:00Z: the timeline's month is the last one.
    let p = remote_support::remote(&stub.url, None, dir.path())
        .with_clock(onepoint::domain::Clock::fixed(1_596_153_600_000));
    let r = p
        .report(&ReportQuery::parse("liability", &[]).unwrap())
        .unwrap();
    let Report::Liability(l) = &r else { panic!() };
    assert_eq!(l.months.len(), 1);
    let m = &l.months[0];
    assert_eq!(m.month.to_string(), "202007");
    // Saves 1, 5, 6; uses 3, 7, 8 (4 failed); the useCancel 9; the `cancel` 2 changed nothing.
    assert_eq!(
        (m.issued, m.redeemed, m.use_cancelled, m.closing),
        (
            Points(300_000),
            Points(50_000),
            Points(20_000),
            Points(270_000)
        )
    );
    // 1900 + 800 on /points: reconciled.
    assert_eq!((l.outstanding, l.reconciled), (Points(270_000), true));
    // Billings 490.0 and 0.0: net at the original's fixed 2%.
    assert_eq!(
        (m.billed, m.billed_net, m.commission),
        (Points(49_000), Points(50_000), Points(1_000))
    );
    let gaps: Vec<&str> = r.gaps().iter().map(|g| g.field.as_str()).collect();
    assert!(gaps.contains(&"clawbacks"), "{gaps:?}");
    assert!(
        gaps.contains(&"deals"),
        "the ignored `cancel` row is named: {gaps:?}"
    );
}
