//! Tests of how records look to a person: fixed data, fixed dates, whole-output snapshots.

use super::show::*;
use crate::domain::{
    Account, Billing, BillingId, BillingPreview, BillingStatus, Deal, DealId, DealStatus, DealType,
    MemberDetail, MemberId, MemberStatus, MemberView, MerchantId, MerchantShare, Month, Outcome,
    Points,
};

fn failed_use() -> Deal {
    Deal {
        id: DealId(3),
        member_id: MemberId(1),
        merchant_id: MerchantId(20),
        deal_type: DealType::Use,
        deal_amount: 0,
        point: Points(1_000_000),
        status: DealStatus::Fail,
        billing_status: BillingStatus::No,
        billing_id: None,
        original_deal_id: None,
        reason: Some("insufficient points".into()),
        deal_date: 1_790_931_600_000,
        balance: Points(90_000),
        cancelled_by: None,
    }
}

#[test]
fn a_deal_record_shows_points_with_their_display_and_the_reason() {
    let text = deal(&failed_use());
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .map(str::trim)
    };
    assert_eq!(value("points"), Some("10000"), "{text}");
    assert_eq!(value("reason"), Some("insufficient points"), "{text}");
    assert_eq!(value("balance"), Some("900"), "{text}");
    assert_eq!(value("date"), Some("2026-10-02T09:00:00Z"), "{text}");
    assert_eq!(value("original"), None, "{text}");
}

#[test]
fn outcome_json_is_the_inner_value() {
    let line = outcome_json(&Outcome::Deal(failed_use())).unwrap();
    assert!(line.starts_with(r#"{"id":3,"memberId":1,"merchantId":20,"type":"use""#));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["id"], 3);
    assert_eq!(v["status"], "fail");
    assert_eq!(v["point"], 10000.0);
    assert!(v.get("Deal").is_none());
}

#[test]
fn a_deal_table_notes_the_failure_reason() {
    let text = deals(&[failed_use()]);
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("ID  DATE"));
    let row = lines.next().unwrap();
    assert!(
        row.contains("use") && row.ends_with("insufficient points"),
        "{row}"
    );
}

/// 2026-10-02T09:00:00Z
const OCT_2: i64 = 1_790_931_600_000;

fn save(id: u64, balance: i64) -> Deal {
    Deal {
        id: DealId(id),
        deal_type: DealType::Save,
        deal_amount: 250_000,
        point: Points(250_000),
        status: DealStatus::Success,
        reason: None,
        balance: Points(balance),
        deal_date: OCT_2 - 86_400_000,
        ..failed_use()
    }
}

fn member_view() -> MemberView {
    MemberView {
        member_id: MemberId(1),
        name: "안서연".into(),
        phone: Some("010-1111-2222".into()),
        address: None,
        status: MemberStatus::Valid,
        point: Points(90_000),
        joined_at: OCT_2 - 30 * 86_400_000,
        last_activity: Some(OCT_2),
    }
}

#[test]
fn deal_table_snapshot() {
    let cancel = Deal {
        id: DealId(4),
        deal_type: DealType::SaveCancel,
        original_deal_id: Some(DealId(1)),
        point: Points(250_000),
        status: DealStatus::Success,
        reason: None,
        balance: Points(0),
        ..failed_use()
    };
    let mut billed = save(1, 250_000);
    billed.cancelled_by = Some(DealId(4));
    let mut used = failed_use();
    used.id = DealId(2);
    used.status = DealStatus::Success;
    used.reason = None;
    used.point = Points(12_345);
    used.billing_status = BillingStatus::Yes;
    used.billing_id = Some(BillingId(1));
    insta::assert_snapshot!(deals(&[cancel, failed_use(), used, billed]));
}

#[test]
fn member_detail_snapshot() {
    let d = MemberDetail {
        member: member_view(),
        totals: Account {
            balance: Points(90_000),
            earned: Points(250_000),
            used: Points(160_000),
            deals: 3,
            failed: 1,
            last_activity: Some(OCT_2),
            ..Default::default()
        },
        top_merchants: vec![MerchantShare {
            merchant_id: MerchantId(20),
            deals: 3,
            earned: Points(250_000),
            used: Points(160_000),
        }],
        recent_deals: vec![failed_use(), save(1, 250_000)],
    };
    insta::assert_snapshot!(member_detail(&d));
}

#[test]
fn billing_and_preview_snapshot() {
    let b = Billing {
        id: BillingId(1),
        merchant_id: MerchantId(20),
        billing_month: Month::parse("month", "202610").unwrap(),
        billing_amount: Points(49_000),
        deal_count: 3,
        net_points: Points(50_000),
        commission_bp: 200,
        created_at: OCT_2,
    };
    let p = BillingPreview {
        merchant_id: b.merchant_id,
        billing_month: b.billing_month,
        billing_amount: Points(0),
        net_points: Points(0),
        deal_count: 0,
        commission_bp: 200,
        latest: Some(b.clone()),
    };
    insta::assert_snapshot!(format!(
        "{}\n\n{}\n\n{}",
        billing(&b),
        billing_preview(&p),
        billings(std::slice::from_ref(&b))
    ));
}

#[test]
fn member_list_snapshot_aligns_korean_names() {
    let mut other = member_view();
    other.member_id = MemberId(12);
    other.name = "Olivia Park".into();
    other.phone = None;
    other.status = MemberStatus::Invalid;
    other.point = Points(0);
    other.last_activity = None;
    insta::assert_snapshot!(members(&[member_view(), other]));
}

#[test]
fn deal_and_billing_tables_show_names_beside_ids() {
    let mut names = super::show::Names::default();
    names
        .members
        .insert(crate::domain::MemberId(7), "김민준".into());
    names
        .merchants
        .insert(crate::domain::MerchantId(3), "Café Mori".into());
    let mut d = save(1, 250_000);
    d.member_id = crate::domain::MemberId(7);
    d.merchant_id = crate::domain::MerchantId(3);
    let text = super::show::deals_named(&[d], &names);
    assert!(text.contains("7 김민준"), "{text}");
    assert!(text.contains("3 Café Mori"), "{text}");
    // Without names the table is as it always was.
    assert!(!super::show::deals(&[save(1, 250_000)]).contains("Café"));
}
