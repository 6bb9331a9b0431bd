//! The demo store's contents, from `assets/demo/`: named members (Korean and English), named
//! merchants with their earn rates, about six months of deals dated in the past, some
//! withdrawals, and the settlements of past months. Written through the port in batches.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::api::{Error, Port, Result};
use crate::domain::{
    BillingRequest, Command, Keyed, MemberDraft, MerchantDraft, MerchantId, Millis, Month,
    NewMember, NewMerchant, Outcome,
};
use crate::traffic::{Generator, Mix, Spread};

pub const MEMBERS_TXT: &str = include_str!("../../assets/demo/members.txt");
pub const MERCHANTS_TXT: &str = include_str!("../../assets/demo/merchants.txt");

const DAY_MS: Millis = 86_400_000;
const BATCH: usize = 2_500;

#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub members: usize,
    pub deals: usize,
    pub months: u32,
    pub withdrawals: usize,
    /// The store's clock, when it can be set back: members then join over the first months
    /// of the history instead of all today.
    pub clock: Option<crate::domain::Clock>,
}

impl Default for SeedPlan {
    fn default() -> SeedPlan {
        SeedPlan {
            members: 300,
            deals: 5_000,
            months: 6,
            withdrawals: 8,
            clock: None,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seeded {
    pub members: usize,
    pub merchants: usize,
    pub deals: usize,
    pub billings: usize,
}

/// The demo's names, from the asset (comments and blanks skipped).
pub fn names() -> Vec<&'static str> {
    MEMBERS_TXT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The demo's merchants, each through the domain's parser.
pub fn merchants() -> Result<Vec<NewMerchant>> {
    MERCHANTS_TXT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.split('|').map(str::trim);
            let draft = MerchantDraft {
                id: parts.next().unwrap_or("").to_string(),
                name: parts.next().unwrap_or("").to_string(),
                earn_rate: parts.next().map(str::to_string),
            };
            NewMerchant::parse(&draft).map_err(Error::from)
        })
        .collect()
}

fn run(port: &dyn Port, batch: Vec<Command>) -> Result<Vec<Result<Outcome>>> {
    let r = port.execute(batch.into_iter().map(|c| Keyed::new(c, None)).collect());
    if let Some(Err(e)) = r.first()
        && e.is_failure()
    {
        return Err(e.clone());
    }
    Ok(r)
}

/// Seeds an empty store. `now` dates the history: deals run up to an hour before it.
pub fn seed(
    port: &dyn Port,
    plan: SeedPlan,
    now: Millis,
    zone: chrono::FixedOffset,
) -> Result<Seeded> {
    let mut rng = StdRng::seed_from_u64(20_261_122);
    let mut out = Seeded::default();
    let shops = merchants()?;
    out.merchants = shops.len();
    let shop_ids: Vec<MerchantId> = shops.iter().map(|m| m.id).collect();
    run(port, shops.into_iter().map(Command::AddMerchant).collect())?;

    let names = names();
    let joins: Vec<Command> = (0..plan.members)
        .map(|i| {
            let name = names[i % names.len()];
            let draft = MemberDraft {
                name: if i < names.len() {
                    name.to_string()
                } else {
                    format!("{name} {}", i / names.len() + 1)
                },
                phone: Some(format!(
                    "010-{:04}-{:04}",
                    rng.random_range(1000..10000),
                    i % 10000
                )),
                address: None,
            };
            NewMember::parse(&draft)
                .map(Command::Join)
                .map_err(Error::from)
        })
        .collect::<Result<_>>()?;
    let mut members = Vec::new();
    let history = i64::from(plan.months) * 30 * DAY_MS;
    let chunks = joins.len().div_ceil(BATCH).max(1) as i64;
    for (k, chunk) in joins.chunks(BATCH).enumerate() {
        if let Some(c) = &plan.clock {
            // Join dates spread over the month before the history starts, so no deal
            // predates its member.
            c.set_offset(-history - 30 * DAY_MS + 30 * DAY_MS * k as i64 / chunks);
        }
        for r in run(port, chunk.to_vec())? {
            if let Ok(Outcome::Member(m)) = r {
                members.push(m.member_id);
            }
        }
    }
    if let Some(c) = &plan.clock {
        c.set_offset(0);
    }
    out.members = members.len();
    if members.is_empty() {
        return Ok(out);
    }

    // Deals in date order, so each month's settlement sees that month complete.
    let start = now - i64::from(plan.months) * 30 * DAY_MS;
    let span = (now - DAY_MS / 24 - start).max(1);
    let mut traffic = Generator::new(rng, Mix::DEALS, Spread::Uniform)
        .with_members(members.iter().copied())
        .with_merchants(shop_ids.iter().copied());
    let mut pending: Vec<Command> = Vec::new();
    for i in 0..plan.deals {
        let date = Some(start + span * i as i64 / plan.deals as i64);
        pending.push(Command::Deal(traffic.deal(date)));
        if pending.len() == BATCH || i + 1 == plan.deals {
            for r in run(port, std::mem::take(&mut pending))? {
                if let Ok(o @ Outcome::Deal(_)) = r {
                    out.deals += 1;
                    traffic.learn(&o);
                }
            }
        }
    }

    let leavers: Vec<Command> = members
        .iter()
        .rev()
        .step_by(7)
        .take(plan.withdrawals)
        .map(|m| Command::Withdraw(*m))
        .collect();
    run(port, leavers)?;

    // Settle every merchant for each finished month except the last one.
    let this_month = Month::of(now, zone);
    let mut month = Month::of(start, zone);
    let mut bills = Vec::new();
    while month < this_month.prev() {
        for m in &shop_ids {
            bills.push(Command::Bill(BillingRequest {
                merchant: *m,
                month,
            }));
        }
        month = month.next();
    }
    out.billings = run(port, bills)?.iter().filter(|r| r.is_ok()).count();
    Ok(out)
}
