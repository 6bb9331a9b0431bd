//! The ledger in a business zone other than UTC (Asia/Seoul, +09:00): a deal belongs to the
//! month of its local date, so deals late on the last local day and early on the first
//! settle in the local month, where UTC would put them in the month before; and "the
//! future" starts at local midnight.

use onepoint::domain::calendar::parse_datetime;
use onepoint::domain::core::{Core, CoreOptions};
use onepoint::domain::{
    Amount, BillingRequest, Clock, Command, Deal, DealQuery, DealRequest, Error, Keyed, MemberId,
    MerchantId, Millis, Month, NewMember, Outcome, Points, Rates,
};

const SEOUL: i32 = 9 * 3600;

fn at(text: &str) -> Millis {
    parse_datetime("date", text).unwrap()
}

fn open(dir: &std::path::Path, now: &str) -> Core {
    Core::open(
        dir,
        CoreOptions {
            rates: Rates::default(),
            zone: chrono::FixedOffset::east_opt(SEOUL).unwrap(),
            clock: Clock::fixed(at(now)),
        },
    )
    .unwrap()
}

fn one(core: &Core, c: Command) -> Result<Outcome, Error> {
    core.execute(vec![Keyed::new(c, None)]).pop().unwrap()
}

fn deal(core: &Core, r: DealRequest) -> Deal {
    match one(core, Command::Deal(r)).unwrap() {
        Outcome::Deal(d) => d,
        o => panic!("{o:?}"),
    }
}

fn use_at(core: &Core, hundredths: i64, date: &str) -> Deal {
    deal(
        core,
        DealRequest::Use {
            member: MemberId(1),
            merchant: MerchantId(7),
            points: Points(hundredths),
            amount: None,
            date: Some(at(date)),
        },
    )
}

fn bill(core: &Core, month: &str) -> Result<onepoint::domain::Billing, Error> {
    match one(
        core,
        Command::Bill(BillingRequest {
            merchant: MerchantId(7),
            month: Month::parse("month", month).unwrap(),
        }),
    )? {
        Outcome::Billing(b) => Ok(b),
        o => panic!("{o:?}"),
    }
}

#[test]
fn deals_settle_in_the_month_of_their_local_date() {
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path(), "2026-11-15T09:00:00+09:00");
    one(
        &core,
        Command::Join(NewMember {
            name: "안서연".into(),
            phone: None,
            address: None,
        }),
    )
    .unwrap();
    deal(
        &core,
        DealRequest::Save {
            member: MemberId(1),
            merchant: MerchantId(7),
            amount: Amount(1_000_000),
            date: Some(at("2026-09-01T12:00:00+09:00")),
        },
    );
    // Local 23:50 on 30 September: September both in Seoul and in UTC (14:50Z).
    let sep = use_at(&core, 10_000, "2026-09-30T23:50:00+09:00");
    // Local 00:10 on 1 October is 15:10Z on 30 September: October in Seoul.
    let oct_first = use_at(&core, 20_000, "2026-10-01T00:10:00+09:00");
    // Local 23:30 on the last day of October (14:30Z): still October.
    let oct_last = use_at(&core, 40_000, "2026-10-31T23:30:00+09:00");
    // Local 00:30 on 1 November is 15:30Z on 31 October: November in Seoul.
    let nov = use_at(&core, 80_000, "2026-11-01T00:30:00+09:00");

    let september = bill(&core, "202609").unwrap();
    assert_eq!(september.deal_count, 1);
    assert_eq!(september.net_points, Points(10_000));
    assert_eq!(september.billing_amount, Points(9_800));

    let october = bill(&core, "202610").unwrap();
    assert_eq!(october.deal_count, 2, "{october:?}");
    assert_eq!(october.net_points, Points(60_000));
    assert_eq!(october.billing_amount, Points(58_800));

    // The month filter reads the same local months.
    let listed = |month: &str| -> Vec<_> {
        let q = DealQuery {
            month: Some(Month::parse("month", month).unwrap()),
            limit: 100,
            ..DealQuery::default()
        };
        let mut ids: Vec<_> = core.deals(&q).unwrap().iter().map(|d| d.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(listed("202610"), vec![oct_first.id, oct_last.id]);
    assert_eq!(listed("202611"), vec![nov.id]);
    assert!(listed("202609").contains(&sep.id));
    assert!(!listed("202609").contains(&oct_first.id));
    let r = core.check().unwrap();
    assert!(r.ok, "{:?}", r.violations);
}

#[test]
fn the_future_starts_at_local_midnight() {
    // 15:30Z on 30 November is 00:30 on 1 December in Seoul: December is this month there,
    // so it may be settled (as far as it goes), while January is still the future.
    let dir = tempfile::tempdir().unwrap();
    let core = open(dir.path(), "2026-11-30T15:30:00Z");
    assert_eq!(bill(&core, "202612").unwrap().deal_count, 0);
    let e = bill(&core, "202701").unwrap_err();
    assert!(
        matches!(e, Error::Refused { ref field, .. } if field == "billingMonth"),
        "{e:?}"
    );
}
