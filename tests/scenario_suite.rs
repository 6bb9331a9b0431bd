//! The scenario suite, run twice: on the embedded adapter, and on the remote adapter talking
//! to a real `onepoint serve` on 127.0.0.1:0 over its own store. Both stores start empty with
//! the same fixed clock, so every result and every error must be identical, line by line.

mod remote_support;

use onepoint::api::{self, Port};
use onepoint::domain::{
    Amount, BalanceQuery, BasisPoints, BillingQuery, BillingRequest, CancelKind, Command, DealId,
    DealQuery, DealRequest, DealStatus, DealType, Error, IdemKey, Keyed, MemberId, MemberQuery,
    MemberSort, MemberStatus, MerchantId, Month, NewMember, NewMerchant, Outcome, Points,
};
use remote_support::{embedded, remote, serve};

fn member(name: &str, phone: Option<&str>) -> Command {
    Command::Join(NewMember {
        name: name.into(),
        phone: phone.map(str::to_string),
        address: Some("용인시 기흥구".into()),
    })
}

fn save(m: u64, merchant: u64, amount: u64) -> Command {
    Command::Deal(DealRequest::Save {
        member: MemberId(m),
        merchant: MerchantId(merchant),
        amount: Amount(amount),
        date: None,
    })
}

fn use_pts(m: u64, merchant: u64, hundredths: i64) -> Command {
    Command::Deal(DealRequest::Use {
        member: MemberId(m),
        merchant: MerchantId(merchant),
        points: Points(hundredths),
        amount: None,
        date: None,
    })
}

fn cancel(original: u64, kind: CancelKind) -> Command {
    Command::Deal(DealRequest::Cancel {
        original: DealId(original),
        kind,
        date: None,
    })
}

fn bill(merchant: u64, month: &str) -> Command {
    Command::Bill(BillingRequest {
        merchant: MerchantId(merchant),
        month: Month::parse("billingMonth", month).unwrap(),
    })
}

fn key(k: &str) -> Option<IdemKey> {
    Some(IdemKey(k.into()))
}

/// Runs the scenario; returns one line per step: the step and its full result.
fn scenario(p: &dyn Port) -> Vec<String> {
    let mut out = Vec::new();
    let mut log = |step: &str, r: String| out.push(format!("{step}: {r}"));
    let mut w = |step: &str, c: Command, k: Option<IdemKey>| {
        let r = p.run_one(c, k);
        log(step, format!("{r:?}"));
        r
    };

    // The original README's story, with our rules.
    w("join 1", member("안서연", Some("010-1111-1111")), None).unwrap();
    w("save 100000", save(1, 20, 100_000), None).unwrap();
    w("use 100", use_pts(1, 20, 10_000), None).unwrap();
    let failed = w("use short", use_pts(1, 20, 1_000_000), None).unwrap();
    assert!(matches!(failed, Outcome::Deal(ref d) if d.status == DealStatus::Fail));
    w("save again", save(1, 20, 100_000), None).unwrap();
    w("join 2", member("김준혁", None), None).unwrap();
    w("save 2", save(2, 20, 100_000), None).unwrap();
    w("use 2a", use_pts(2, 20, 20_000), None).unwrap();
    w("use 2b", use_pts(2, 20, 20_000), None).unwrap();
    w("cancel use 2b", cancel(7, CancelKind::Any), None).unwrap();
    let twice = w("cancel twice", cancel(7, CancelKind::Any), None);
    assert!(
        matches!(twice, Err(api::Error::Domain(Error::Refused { .. }))),
        "{twice:?}"
    );
    w("cancel a failed use", cancel(3, CancelKind::Any), None).unwrap_err();
    w(
        "cancel the wrong kind",
        cancel(1, CancelKind::Exactly(DealType::UseCancel)),
        None,
    )
    .unwrap_err();
    let unknown = w("cancel unknown", cancel(999, CancelKind::Any), None);
    assert!(
        matches!(unknown, Err(api::Error::Domain(Error::NotFound { .. }))),
        "{unknown:?}"
    );
    w("save unknown member", save(99, 20, 1000), None).unwrap_err();

    // Settlement: once, then the same billing again; never the future.
    let b = w("bill 202610", bill(20, "202610"), None).unwrap();
    let again = w("bill 202610 again", bill(20, "202610"), None).unwrap();
    assert_eq!(b, again);
    w("bill the future", bill(20, "202612"), None).unwrap_err();

    // Withdrawal forfeits the balance, once.
    w("withdraw 2", Command::Withdraw(MemberId(2)), None).unwrap();
    w("withdraw 2 again", Command::Withdraw(MemberId(2)), None).unwrap_err();
    w("save withdrawn", save(2, 20, 1000), None).unwrap_err();

    // Idempotency: the same key and request give the stored result; another request is refused.
    let k1 = w("keyed save", save(1, 30, 5000), key("k-1")).unwrap();
    let k1b = w("keyed save replay", save(1, 30, 5000), key("k-1")).unwrap();
    assert_eq!(k1, k1b);
    let conflict = w("keyed conflict", save(1, 30, 6000), key("k-1"));
    assert!(
        matches!(conflict, Err(api::Error::Domain(Error::KeyConflict { .. }))),
        "{conflict:?}"
    );

    // A merchant with its own rate.
    w(
        "merchant 40",
        Command::AddMerchant(NewMerchant {
            id: MerchantId(40),
            name: "Cafe Onepoint".into(),
            earn_rate: Some(BasisPoints(150)),
        }),
        None,
    )
    .unwrap();
    w("save at 40", save(1, 40, 12_345), None).unwrap();

    // A batch: applied in order, one result each.
    let batch = p.execute(vec![
        Keyed::new(member("Batch Kim", Some("+82 10 1234")), None),
        Keyed::new(save(3, 20, 250_000), key("b-2")),
        Keyed::new(use_pts(3, 20, 100_000_000), None),
        Keyed::new(save(77, 20, 1000), None),
    ]);
    log("batch", format!("{batch:?}"));

    // Reads.
    log("member 1", format!("{:?}", p.member(MemberId(1))));
    log("member 99", format!("{:?}", p.member(MemberId(99))));
    let all = MemberQuery {
        limit: 50,
        ..MemberQuery::default()
    };
    log("members", format!("{:?}", p.members(&all)));
    log(
        "members desc after 3",
        format!(
            "{:?}",
            p.members(&MemberQuery {
                after: Some(MemberId(3)),
                sort: MemberSort::IdDesc,
                limit: 5,
                ..MemberQuery::default()
            })
        ),
    );
    log(
        "members named 김",
        format!(
            "{:?}",
            p.members(&MemberQuery {
                query: Some("김".into()),
                limit: 10,
                ..MemberQuery::default()
            })
        ),
    );
    log(
        "members invalid",
        format!(
            "{:?}",
            p.members(&MemberQuery {
                status: Some(MemberStatus::Invalid),
                limit: 10,
                ..MemberQuery::default()
            })
        ),
    );
    log("detail 1", format!("{:?}", p.member_detail(MemberId(1), 3)));
    log(
        "history 1",
        format!("{:?}", p.member_history(MemberId(1), None, 3)),
    );
    log(
        "history 1 before 5",
        format!("{:?}", p.member_history(MemberId(1), Some(DealId(5)), 10)),
    );
    log("merchants", format!("{:?}", p.merchants(10)));
    log("deal 3", format!("{:?}", p.deal(DealId(3))));
    log("deal 999", format!("{:?}", p.deal(DealId(999))));
    let deals = |q: DealQuery| format!("{:?}", p.deals(&q));
    log(
        "deals",
        deals(DealQuery {
            limit: 100,
            ..DealQuery::default()
        }),
    );
    log(
        "deals of 2",
        deals(DealQuery {
            member: Some(MemberId(2)),
            limit: 100,
            ..DealQuery::default()
        }),
    );
    log(
        "failed uses at 20 in 202610",
        deals(DealQuery {
            merchant: Some(MerchantId(20)),
            month: Some(Month::parse("m", "202610").unwrap()),
            deal_type: Some(DealType::Use),
            status: Some(DealStatus::Fail),
            limit: 100,
            ..DealQuery::default()
        }),
    );
    log(
        "deals before 6",
        deals(DealQuery {
            before: Some(DealId(6)),
            limit: 2,
            ..DealQuery::default()
        }),
    );
    log("points 1", format!("{:?}", p.points(MemberId(1))));
    log("points 99", format!("{:?}", p.points(MemberId(99))));
    let top = p.balances(&BalanceQuery {
        after: None,
        limit: 2,
    });
    log("balances", format!("{top:?}"));
    let last = top.unwrap().last().map(|b| (b.point, b.member_id));
    log(
        "balances after",
        format!(
            "{:?}",
            p.balances(&BalanceQuery {
                after: last,
                limit: 10
            })
        ),
    );
    log("summary", format!("{:?}", p.points_summary()));
    log(
        "preview 20 202610",
        format!(
            "{:?}",
            p.preview_billing(MerchantId(20), Month::parse("m", "202610").unwrap())
        ),
    );
    log(
        "billings",
        format!("{:?}", p.billings(&BillingQuery::default())),
    );
    log(
        "billings of 20",
        format!(
            "{:?}",
            p.billings(&BillingQuery {
                merchant: Some(MerchantId(20)),
                month: None,
                limit: 5
            })
        ),
    );
    log("events", format!("{:?}", p.events(0, 1000)));
    log("events after 5", format!("{:?}", p.events(5, 3)));
    let latest = p.events(0, 1000).unwrap().last().unwrap().offset;
    log(
        "wait with nothing new",
        format!(
            "{:?}",
            p.wait_events(latest, std::time::Duration::from_millis(10))
        ),
    );
    log(
        "wait behind",
        format!("{:?}", p.wait_events(2, std::time::Duration::from_secs(1))),
    );
    let info = p.info().unwrap();
    log(
        "info counts",
        format!(
            "{} {} {} {} {}",
            info.members, info.deals, info.billings, info.events, info.merchants
        ),
    );
    log("check", format!("{:?}", p.check()));
    out
}

#[test]
fn the_remote_adapter_gives_what_the_embedded_store_gives() {
    let local_dir = tempfile::tempdir().unwrap();
    let local = scenario(embedded(local_dir.path()).as_ref());

    let served = serve(None);
    let outbox = tempfile::tempdir().unwrap();
    let adapter = remote(&served.url(), None, outbox.path());
    let over_http = scenario(&adapter);

    assert_eq!(local.len(), over_http.len());
    for (l, r) in local.iter().zip(&over_http) {
        assert_eq!(l, r, "embedded and remote differ");
    }
    assert_eq!(adapter.pending_outbox(), 0);
    assert!(!adapter.stale());

    // The figures themselves, so that two equally wrong runs cannot pass.
    let line = |step: &str| {
        local
            .iter()
            .find(|l| l.starts_with(&format!("{step}: ")))
            .unwrap()
            .clone()
    };
    assert!(
        line("bill 202610").contains("billing_amount: Points(29400)"),
        "{}",
        line("bill 202610")
    );
    assert!(
        line("withdraw 2").contains("forfeited: Points(80000)"),
        "{}",
        line("withdraw 2")
    );
    assert!(
        line("save at 40").contains("point: Points(18517)"),
        "{}",
        line("save at 40")
    );
    assert!(line("check").contains("ok: true"), "{}", line("check"));
    for step in [
        "events",
        "detail 1",
        "members",
        "history 1",
        "merchants",
        "summary",
        "preview 20 202610",
    ] {
        assert!(
            line(step).starts_with(&format!("{step}: Ok(")),
            "{}",
            line(step)
        );
    }
    assert!(
        line("cancel twice").contains("already cancelled"),
        "{}",
        line("cancel twice")
    );
    assert!(
        line("member 99").contains("NotFound"),
        "{}",
        line("member 99")
    );
    assert!(
        line("batch").contains("insufficient points"),
        "{}",
        line("batch")
    );
}
