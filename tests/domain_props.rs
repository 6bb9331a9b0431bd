//! Property tests: random command sequences run against the real core on sled and against
//! a small in-memory reference model of SPEC 1. After every step the outcomes and balances
//! must agree, and `check` (every invariant, including a replay of the event log) must pass.

mod support;

use onepoint::domain::calendar::parse_datetime;
use onepoint::domain::reports::{Report, ReportKind, ReportQuery};
use onepoint::domain::{
    Amount, BillingRequest, CancelKind, Command, DealId, DealRequest, DealStatus, Error, IdemKey,
    Keyed, MemberId, MerchantId, Month, NewMember, Outcome, Points,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Join,
    Withdraw(u64),
    Save {
        m: u64,
        merchant: u64,
        amount: u64,
        date: u8,
    },
    Use {
        m: u64,
        merchant: u64,
        pts: i64,
        date: u8,
    },
    Cancel {
        pick: usize,
    },
    Bill {
        merchant: u64,
        oct: bool,
    },
    /// Re-send the op at this index with its key again.
    Replay {
        pick: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Join),
        1 => (1u64..6).prop_map(Op::Withdraw),
        6 => (1u64..6, 1u64..4, 1u64..200_000, 0u8..3)
            .prop_map(|(m, merchant, amount, date)| Op::Save { m, merchant, amount, date }),
        4 => (1u64..6, 1u64..4, 1i64..300_000, 0u8..3)
            .prop_map(|(m, merchant, pts, date)| Op::Use { m, merchant, pts, date }),
        2 => (0usize..1000).prop_map(|pick| Op::Cancel { pick }),
        1 => (1u64..4, any::<bool>()).prop_map(|(merchant, oct)| Op::Bill { merchant, oct }),
        1 => (0usize..1000).prop_map(|pick| Op::Replay { pick }),
    ]
}

fn date_of(code: u8) -> Option<i64> {
    match code {
        0 => None,
        1 => Some(parse_datetime("d", "2026-09-20T10:00:00Z").unwrap()),
        _ => Some(parse_datetime("d", "2026-10-05T10:00:00Z").unwrap()),
    }
}

#[derive(Debug, Clone)]
struct MDeal {
    member: u64,
    merchant: u64,
    is_save: bool,
    is_cancel: bool,
    pts: i64,
    date: i64,
    success: bool,
    cancelled: bool,
    billed: bool,
    /// A useCancel of an already-billed use, waiting to be clawed back.
    claw: bool,
}

#[derive(Default)]
struct Model {
    members: Vec<(bool, i64)>,
    deals: Vec<MDeal>,
    billings: Vec<(u64, u32, i64, u64)>,
    /// The liability roll-forward's flows per month (code): issued, redeemed,
    /// save-cancelled, use-cancelled, forfeited.
    flows: std::collections::BTreeMap<u32, [i64; 5]>,
}

fn month_code(ms: i64) -> u32 {
    Month::of(ms, chrono::FixedOffset::east_opt(0).unwrap()).code()
}

/// What the model expects: Ok(success?) for a deal, Ok(true) for other writes, Err(kind).
#[derive(Debug, PartialEq)]
enum Expect {
    Done,
    Deal { success: bool, balance: i64 },
    Billing { amount: i64, count: u64 },
    Refused,
    NotFound,
}

impl Model {
    fn valid(&self, m: u64) -> Result<(), Expect> {
        match self.members.get((m - 1) as usize) {
            None => Err(Expect::NotFound),
            Some((false, _)) => Err(Expect::Refused),
            Some(_) => Ok(()),
        }
    }

    fn flow(&mut self, at: i64, which: usize, pts: i64) {
        self.flows.entry(month_code(at)).or_default()[which] += pts;
    }

    fn apply(&mut self, op: &Op, now: i64) -> Expect {
        match *op {
            Op::Join => {
                self.members.push((true, 0));
                Expect::Done
            }
            Op::Withdraw(m) => {
                if let Err(e) = self.valid(m) {
                    return e;
                }
                let forfeited = self.members[(m - 1) as usize].1;
                self.flow(now, 4, forfeited);
                self.members[(m - 1) as usize] = (false, 0);
                Expect::Done
            }
            Op::Save {
                m,
                merchant,
                amount,
                date,
            } => {
                if let Err(e) = self.valid(m) {
                    return e;
                }
                let pts = amount as i64; // 1% of amount, in hundredths
                let b = &mut self.members[(m - 1) as usize].1;
                *b += pts;
                let balance = *b;
                self.flow(date_of(date).unwrap_or(now), 0, pts);
                self.deals.push(MDeal {
                    member: m,
                    merchant,
                    is_save: true,
                    is_cancel: false,
                    pts,
                    date: date_of(date).unwrap_or(now),
                    success: true,
                    cancelled: false,
                    billed: false,
                    claw: false,
                });
                Expect::Deal {
                    success: true,
                    balance,
                }
            }
            Op::Use {
                m,
                merchant,
                pts,
                date,
            } => {
                if let Err(e) = self.valid(m) {
                    return e;
                }
                let b = &mut self.members[(m - 1) as usize].1;
                let success = *b >= pts;
                if success {
                    *b -= pts;
                }
                let balance = *b;
                if success {
                    self.flow(date_of(date).unwrap_or(now), 1, pts);
                }
                self.deals.push(MDeal {
                    member: m,
                    merchant,
                    is_save: false,
                    is_cancel: false,
                    pts,
                    date: date_of(date).unwrap_or(now),
                    success,
                    cancelled: false,
                    billed: false,
                    claw: false,
                });
                Expect::Deal { success, balance }
            }
            Op::Cancel { pick } => {
                if self.deals.is_empty() {
                    return Expect::NotFound;
                }
                let i = pick % self.deals.len();
                let o = self.deals[i].clone();
                if o.is_cancel || !o.success || o.cancelled {
                    return Expect::Refused;
                }
                if let Err(e) = self.valid(o.member) {
                    return if e == Expect::NotFound {
                        e
                    } else {
                        Expect::Refused
                    };
                }
                let b = &mut self.members[(o.member - 1) as usize].1;
                let success = !o.is_save || *b >= o.pts;
                if success {
                    *b += if o.is_save { -o.pts } else { o.pts };
                    self.deals[i].cancelled = true;
                }
                let balance = *b;
                if success {
                    self.flow(now, if o.is_save { 2 } else { 3 }, o.pts);
                }
                self.deals.push(MDeal {
                    member: o.member,
                    merchant: o.merchant,
                    is_save: o.is_save,
                    is_cancel: true,
                    pts: o.pts,
                    date: now,
                    success,
                    cancelled: false,
                    billed: false,
                    claw: success && !o.is_save && o.billed,
                });
                Expect::Deal { success, balance }
            }
            Op::Bill { merchant, oct } => {
                let (code, end) = if oct {
                    (
                        202610,
                        parse_datetime("d", "2026-10-31T23:59:59.999Z").unwrap(),
                    )
                } else {
                    (
                        202609,
                        parse_datetime("d", "2026-09-30T23:59:59.999Z").unwrap(),
                    )
                };
                let mut net = 0i64;
                let mut count = 0u64;
                for d in &mut self.deals {
                    let use_due = !d.is_save && !d.is_cancel && d.success && !d.cancelled;
                    let claw_due = d.is_cancel && d.claw;
                    if d.merchant == merchant && !d.billed && d.date <= end && (use_due || claw_due)
                    {
                        d.billed = true;
                        count += 1;
                        net += if claw_due { -d.pts } else { d.pts };
                    }
                }
                if count == 0
                    && let Some(b) = self
                        .billings
                        .iter()
                        .rev()
                        .find(|b| b.0 == merchant && b.1 == code)
                {
                    return Expect::Billing {
                        amount: b.2,
                        count: b.3,
                    };
                }
                // x 0.98, half away from zero
                let x = net as i128 * 9800;
                let mut amount = x / 10_000;
                if (x % 10_000).abs() * 2 >= 10_000 {
                    amount += x.signum();
                }
                self.billings.push((merchant, code, amount as i64, count));
                Expect::Billing {
                    amount: amount as i64,
                    count,
                }
            }
            Op::Replay { .. } => unreachable!("replays are resolved by the runner"),
        }
    }
}

fn command(op: &Op, f: &support::Fixture) -> Command {
    match *op {
        Op::Join => Command::Join(NewMember {
            name: "m".into(),
            phone: None,
            address: None,
        }),
        Op::Withdraw(m) => Command::Withdraw(MemberId(m)),
        Op::Save {
            m,
            merchant,
            amount,
            date,
        } => Command::Deal(DealRequest::Save {
            member: MemberId(m),
            merchant: MerchantId(merchant),
            amount: Amount(amount),
            date: date_of(date),
        }),
        Op::Use {
            m,
            merchant,
            pts,
            date,
        } => Command::Deal(DealRequest::Use {
            member: MemberId(m),
            merchant: MerchantId(merchant),
            points: Points(pts),
            amount: None,
            date: date_of(date),
        }),
        Op::Cancel { pick } => {
            let n = f.core.info().unwrap().deals;
            let id = if n == 0 { 1 } else { (pick as u64 % n) + 1 };
            Command::Deal(DealRequest::Cancel {
                original: DealId(id),
                kind: CancelKind::Any,
                date: None,
            })
        }
        Op::Bill { merchant, oct } => Command::Bill(BillingRequest {
            merchant: MerchantId(merchant),
            month: Month::parse("m", if oct { "202610" } else { "202609" }).unwrap(),
        }),
        Op::Replay { .. } => unreachable!(),
    }
}

fn observed(r: &Result<Outcome, Error>) -> Expect {
    match r {
        Ok(Outcome::Deal(d)) => Expect::Deal {
            success: d.status == DealStatus::Success,
            balance: d.balance.0,
        },
        Ok(Outcome::Billing(b)) => Expect::Billing {
            amount: b.billing_amount.0,
            count: b.deal_count,
        },
        Ok(_) => Expect::Done,
        Err(Error::NotFound { .. }) => Expect::NotFound,
        Err(Error::Refused { .. }) => Expect::Refused,
        Err(e) => panic!("unexpected error {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn core_agrees_with_the_reference_model_and_keeps_every_invariant(ops in prop::collection::vec(op(), 1..50)) {
        let f = support::fixture();
        let mut model = Model::default();
        let mut sent: Vec<(Command, String, Result<Outcome, Error>)> = Vec::new();
        for (step, op) in ops.iter().enumerate() {
            if let Op::Replay { pick } = op {
                if sent.is_empty() { continue; }
                let (cmd, key, first) = sent[pick % sent.len()].clone();
                // A refused write stored nothing under its key; sending it again is a new
                // attempt, not a replay.
                if first.is_err() { continue; }
                let events = f.core.info().unwrap().events;
                let again = f.core.execute(vec![Keyed::new(cmd, Some(IdemKey(key)))]).pop().unwrap();
                prop_assert_eq!(&again, &first, "replay of a keyed write returns the stored result");
                prop_assert_eq!(f.core.info().unwrap().events, events, "a replay applies nothing");
                continue;
            }
            // Cancel picks must name the same deal in model and core.
            let cmd = command(op, &f);
            let preview = match &cmd {
                Command::Bill(b) => Some(f.core.preview_billing(b.merchant, b.month).unwrap()),
                _ => None,
            };
            let expect = model.apply(op, support::NOW_MS);
            let key = format!("k{step}");
            let got = f.core.execute(vec![Keyed::new(cmd.clone(), Some(IdemKey(key.clone())))]).pop().unwrap();
            prop_assert_eq!(observed(&got), expect, "step {} {:?}", step, op);
            if let (Some(p), Ok(Outcome::Billing(b))) = (&preview, &got) {
                // The preview (from the per-month totals) foretells the run (from the queues).
                if p.deal_count > 0 {
                    prop_assert_eq!((p.billing_amount, p.deal_count), (b.billing_amount, b.deal_count));
                } else {
                    prop_assert!(p.latest.is_none() || p.latest.as_ref() == Some(b));
                }
            }
            sent.push((cmd, key, got));
            for (i, (valid, bal)) in model.members.iter().enumerate() {
                let b = f.core.points(MemberId(i as u64 + 1)).unwrap().point.0;
                prop_assert_eq!(b, *bal, "balance of member {} (valid {})", i + 1, valid);
            }
            let report = f.core.check().unwrap();
            prop_assert!(report.ok, "step {}: {:?}", step, report.violations);
            // The liability roll-forward: the model's flows month by month, each closing
            // the next opening, the last closing the sum of the model's balances.
            let liability = f.core.report(&ReportQuery::new(ReportKind::Liability)).unwrap();
            let Report::Liability(l) = liability else { unreachable!() };
            let mut opening = 0i64;
            for row in &l.months {
                let want = model.flows.get(&row.month.code()).copied().unwrap_or_default();
                let got = [row.issued, row.redeemed, row.save_cancelled, row.use_cancelled, row.forfeited].map(|p| p.0);
                prop_assert_eq!(got, want, "step {}: flows of {}", step, row.month);
                prop_assert_eq!(row.opening.0, opening, "step {}: opening of {}", step, row.month);
                opening += want[0] - want[1] - want[2] + want[3] - want[4];
                prop_assert_eq!(row.closing.0, opening, "step {}: closing of {}", step, row.month);
            }
            for (m, w) in &model.flows {
                prop_assert!(w.iter().all(|x| *x == 0) || l.months.iter().any(|r| r.month.code() == *m), "month {} missing", m);
            }
            let held: i64 = model.members.iter().map(|m| m.1).sum();
            prop_assert_eq!(opening, held, "step {}: the last closing is the sum of balances", step);
            prop_assert!(l.reconciled);
        }
    }
}
