//! Fixed data and a fixed clock for the console's snapshot and update tests: a `State`
//! built directly (no store, no core), and a `TestBackend` renderer.
#![allow(dead_code)]

pub mod tmux;

use onepoint::app::keymap::Keymap;
use onepoint::app::state::billing::PreviewRow;
use onepoint::app::state::members::Analysis;
use onepoint::app::state::table::{Fetch, RowId, Table};
use onepoint::app::state::{State, Tab, ThemeName};
use onepoint::domain::{
    Account, Billing, BillingId, BillingPreview, BillingStatus, Deal, DealEvent, DealId,
    DealStatus, DealType, Event, EventBody, MemberDetail, MemberId, MemberStatus, MemberView,
    Merchant, MerchantId, MerchantShare, MerchantSummary, Millis, Month, Points, PointsSummary,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// 2026-11-22T09:00:00Z
pub const NOW: Millis = 1_795_338_000_000;
const HOUR: Millis = 3_600_000;

const NAMES: [&str; 8] = [
    "김민준",
    "Olivia Smith",
    "이서연",
    "Liam Park",
    "박지우",
    "Emma Johnson",
    "최하은",
    "Noah Lee",
];
const SHOPS: [&str; 6] = [
    "Café Mori",
    "스타벅스 강남점",
    "Green Mart",
    "교보문고 광화문",
    "Page One Books",
    "Hanok Tea House",
];

pub fn member(i: u64) -> MemberView {
    MemberView {
        member_id: MemberId(i),
        name: NAMES[(i as usize - 1) % NAMES.len()].to_string(),
        phone: Some(format!("010-{:04}-{:04}", 1000 + i * 7, i)),
        address: i.is_multiple_of(3).then(|| "Seoul".to_string()),
        status: if i.is_multiple_of(7) {
            MemberStatus::Invalid
        } else {
            MemberStatus::Valid
        },
        point: Points(((i * 7919) % 50_000 * 100 + i * 5) as i64),
        joined_at: NOW - 90 * 24 * HOUR + i as i64 * HOUR,
        last_activity: Some(NOW - (i as i64 % 5) * 7 * HOUR),
    }
}

pub fn deal(id: u64) -> Deal {
    let t = DealType::ALL[(id % 4) as usize];
    let failed = t == DealType::Use && id.is_multiple_of(3);
    Deal {
        id: DealId(id),
        member_id: MemberId(id % 9 + 1),
        merchant_id: MerchantId(id % 6 + 1),
        deal_type: t,
        deal_amount: if t == DealType::Save { id * 1_300 } else { 0 },
        point: Points((id * 1_300) as i64),
        status: if failed {
            DealStatus::Fail
        } else {
            DealStatus::Success
        },
        billing_status: if id < 10 {
            BillingStatus::Yes
        } else {
            BillingStatus::No
        },
        billing_id: None,
        original_deal_id: t.is_cancel().then(|| DealId(id - 1)),
        reason: failed.then(|| "insufficient points".to_string()),
        deal_date: NOW - (100 - id as i64) * 5 * HOUR,
        balance: Points((id * 4_100) as i64),
        cancelled_by: None,
    }
}

pub fn merchant(i: u64) -> MerchantSummary {
    MerchantSummary {
        merchant: Merchant {
            merchant_id: MerchantId(i),
            name: Some(SHOPS[(i as usize - 1) % SHOPS.len()].to_string()),
            earn_rate_bp: 100,
            registered: true,
        },
        deals: i * 40,
        last_deal: Some(NOW - HOUR),
    }
}

pub fn preview(i: u64) -> BillingPreview {
    let net = Points((i * 123_400) as i64);
    BillingPreview {
        merchant_id: MerchantId(i),
        billing_month: Month::from_code(202611),
        billing_amount: Points(net.0 * 98 / 100),
        net_points: net,
        deal_count: i * 3,
        commission_bp: 200,
        latest: None,
    }
}

pub fn billing(id: u64, merchant: u64, month: u32) -> Billing {
    let net = Points(((id * 37 + merchant * 11) % 90 * 10_000 + 50_000) as i64);
    Billing {
        id: BillingId(id),
        merchant_id: MerchantId(merchant),
        billing_month: Month::from_code(month),
        billing_amount: Points(net.0 * 98 / 100),
        deal_count: id % 9 + 1,
        net_points: net,
        commission_bp: 200,
        created_at: NOW - (40 - id as i64) * 24 * HOUR,
    }
}

pub fn event(offset: u64) -> Event {
    let d = deal(offset % 40 + 1);
    let body = match offset % 6 {
        0 => EventBody::MemberCreated {
            member_id: MemberId(offset),
            name: NAMES[offset as usize % NAMES.len()].to_string(),
            status: MemberStatus::Valid,
        },
        1 => EventBody::PointCreated {
            member_id: MemberId(offset),
        },
        5 if offset % 12 == 5 => EventBody::Billed {
            id: BillingId(offset),
            merchant_id: MerchantId(3),
            billing_month: Month::from_code(202610),
            billing_amount: Points(39_200),
            deal_count: 2,
        },
        _ => EventBody::for_deal(&d),
    };
    let _ = DealEvent::from(&d);
    Event {
        offset,
        timestamp: NOW - (200 - offset as i64) * 1_000,
        body,
    }
}

/// Loads `rows` into a table as the first window of a table of `total` rows.
pub fn load<T: RowId>(t: &mut Table<T>, rows: Vec<T>, total: u64, view_rows: usize) {
    let g = t.begin(Fetch::First);
    let more_after = (rows.len() as u64) < total;
    t.accept(
        g,
        Fetch::First,
        onepoint::domain::Window {
            rows,
            total: Some(total),
            first_position: Some(0),
            more_before: false,
            more_after,
        },
        view_rows,
    );
}

/// A console state with every tab loaded with fixed data.
pub fn state(width: u16, height: u16, theme: ThemeName) -> State {
    let mut s = State::new(NOW, Month::from_code(202611), Keymap::default());
    s.width = width;
    s.height = height;
    s.theme = theme;
    s.header.kind = "embedded".into();
    s.header.location = "/var/lib/onepoint".into();
    s.header.link = "local".into();
    let rows = s.table_rows();

    load(
        &mut s.members.table,
        (1..=40).map(member).collect(),
        1_234,
        rows,
    );
    s.members.table.selected = 2;

    load(
        &mut s.deals.table,
        (1..=40).rev().map(deal).collect(),
        40,
        rows,
    );

    let mut bal: Vec<MemberView> = (1..=40).map(member).collect();
    bal.sort_by_key(|r| std::cmp::Reverse(r.point));
    load(&mut s.points.table, bal, 40, rows);
    for i in 1..=9 {
        let m = member(i);
        s.member_names.insert(m.member_id, m.name);
    }
    s.points.summary = Some(PointsSummary {
        members: 40,
        valid_members: 35,
        total_outstanding: Points(98_765_432),
        distribution: vec![
            ("0".into(), 3),
            ("0-100".into(), 5),
            ("100-1k".into(), 9),
            ("1k-10k".into(), 14),
            ("10k-100k".into(), 4),
            (">100k".into(), 0),
        ],
    });

    s.billing.rows = (1..=6)
        .map(|i| PreviewRow {
            merchant: merchant(i),
            preview: preview(i),
        })
        .collect();
    let mut id = 0;
    let mut hist = Vec::new();
    for month in [202605, 202606, 202607, 202608, 202609, 202610] {
        for m in 1..=3 {
            id += 1;
            hist.push(billing(id, m, month));
        }
    }
    hist.reverse();
    s.billing.history = hist;
    s.billing.loaded_once = true;
    s.billing.recompute();
    for i in 1..=5 {
        let m = merchant(i);
        s.merchant_rates
            .insert(m.merchant.merchant_id, m.merchant.earn_rate_bp);
        s.merchant_names
            .insert(m.merchant.merchant_id, m.merchant.name.unwrap());
    }

    s.events.absorb((1..=120).map(event).collect());
    s
}

/// The member analysis of member 3 over `state`.
pub fn with_analysis(mut s: State) -> State {
    s.tab = Tab::Members;
    let m = member(3);
    let mut a = Analysis::new(m.member_id);
    let totals = Account {
        balance: m.point,
        earned: Points(5_432_100),
        used: Points(1_200_000),
        save_cancelled: Points(30_000),
        use_cancelled: Points(10_000),
        forfeited: Points::ZERO,
        deals: 48,
        failed: 2,
        last_activity: m.last_activity,
    };
    let recent: Vec<Deal> = (1..=30)
        .rev()
        .map(|i| {
            let mut d = deal(i);
            d.member_id = m.member_id;
            d.balance = Points((i * i * 3_000 % 2_000_000) as i64 + (i * 10_000) as i64);
            d
        })
        .collect();
    a.set_detail(MemberDetail {
        member: m.clone(),
        totals,
        top_merchants: (1..=5)
            .map(|i| MerchantShare {
                merchant_id: MerchantId(i),
                deals: 20 - i * 3,
                earned: Points((i * 45_600) as i64),
                used: Points((i * 12_300) as i64),
            })
            .collect(),
        recent_deals: recent.clone(),
    });
    let r = s.table_rows();
    load(&mut a.history, recent.clone(), 48, r);
    s.members.analysis = Some(a);
    s
}

/// Renders the state; returns the backend (its `Display` is the screen's text).
pub fn render(s: &State) -> TestBackend {
    let mut t = Terminal::new(TestBackend::new(s.width, s.height)).expect("test terminal");
    t.draw(|f| onepoint::views::draw(f, s)).expect("draw");
    t.backend().clone()
}
