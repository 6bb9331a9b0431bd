//! The demo's traffic: a thread placing deals (70% save, 25% use, 5% cancel), with now and
//! then a join or a withdrawal, at a rate the console steers (`+`, `-`, `P`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::api::Port;
use crate::domain::{
    Amount, CancelKind, Command, DealId, DealRequest, DealStatus, DealType, Keyed, MemberDraft,
    MemberId, MerchantId, NewMember, Outcome, Points,
};

const STEP: Duration = Duration::from_millis(50);
const RECENT_DEALS: usize = 500;

/// The simulator's controls, shared with the console.
#[derive(Clone, Default)]
pub struct Traffic(Arc<Controls>);

#[derive(Default)]
struct Controls {
    rate_bits: AtomicU64,
    paused: AtomicBool,
    stop: AtomicBool,
    done: AtomicU64,
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Traffic({} ops/s, paused {})",
            self.rate(),
            self.paused()
        )
    }
}

impl Traffic {
    pub fn new(rate: f64) -> Traffic {
        let t = Traffic::default();
        t.set(rate, false);
        t
    }
    pub fn rate(&self) -> f64 {
        f64::from_bits(self.0.rate_bits.load(Ordering::Relaxed))
    }
    pub fn paused(&self) -> bool {
        self.0.paused.load(Ordering::Relaxed)
    }
    pub fn set(&self, rate: f64, paused: bool) {
        self.0
            .rate_bits
            .store(rate.max(0.0).to_bits(), Ordering::Relaxed);
        self.0.paused.store(paused, Ordering::Relaxed);
    }
    pub fn stop(&self) {
        self.0.stop.store(true, Ordering::Relaxed);
    }
    /// Operations written so far.
    pub fn done(&self) -> u64 {
        self.0.done.load(Ordering::Relaxed)
    }

    /// Starts the traffic thread over `port`, for members `1..=members` and `merchants`.
    pub fn start(
        &self,
        port: Arc<dyn Port>,
        members: u64,
        merchants: Vec<MerchantId>,
    ) -> JoinHandle<()> {
        let t = self.clone();
        std::thread::spawn(move || t.run(&*port, members, merchants))
    }

    fn run(&self, port: &dyn Port, mut members: u64, merchants: Vec<MerchantId>) {
        let mut rng = rand::rng();
        let mut owed = 0.0f64;
        let mut recent: Vec<DealId> = Vec::new();
        let mut next = Instant::now();
        while !self.0.stop.load(Ordering::Relaxed) {
            next += STEP;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            } else {
                next = Instant::now();
            }
            if self.paused() || members == 0 || merchants.is_empty() {
                continue;
            }
            owed += self.rate() * STEP.as_secs_f64();
            let n = owed.floor() as usize;
            owed -= n as f64;
            if n == 0 {
                continue;
            }
            let batch: Vec<Keyed> = (0..n)
                .map(|_| {
                    let c = self.pick(port, &mut rng, &mut members, &merchants, &mut recent);
                    Keyed::new(c, None)
                })
                .collect();
            for r in port.execute(batch) {
                self.0.done.fetch_add(1, Ordering::Relaxed);
                if let Ok(Outcome::Deal(d)) = r
                    && d.status == DealStatus::Success
                    && matches!(d.deal_type, DealType::Save | DealType::Use)
                {
                    if recent.len() == RECENT_DEALS {
                        recent.remove(0);
                    }
                    recent.push(d.id);
                }
            }
        }
    }

    fn pick(
        &self,
        port: &dyn Port,
        rng: &mut impl Rng,
        members: &mut u64,
        merchants: &[MerchantId],
        recent: &mut Vec<DealId>,
    ) -> Command {
        let member = MemberId(rng.random_range(1..=*members));
        let merchant = merchants[rng.random_range(0..merchants.len())];
        let roll: f64 = rng.random();
        if roll < 0.008 {
            *members += 1;
            let names = super::seed::names();
            let draft = MemberDraft {
                name: names[rng.random_range(0..names.len())].to_string(),
                phone: Some(format!(
                    "010-{:04}-{:04}",
                    rng.random_range(1000..10000),
                    *members % 10_000
                )),
                address: None,
            };
            if let Ok(m) = NewMember::parse(&draft) {
                return Command::Join(m);
            }
        }
        if roll < 0.01 {
            return Command::Withdraw(member);
        }
        if roll < 0.06 && !recent.is_empty() {
            let original = recent.swap_remove(rng.random_range(0..recent.len()));
            return Command::Deal(DealRequest::Cancel {
                original,
                kind: CancelKind::Any,
                date: None,
            });
        }
        if roll < 0.31 {
            let balance = port.points(member).map(|b| b.point.0).unwrap_or(0);
            // Now and then more than the balance: a recorded failed use.
            let want = (balance * rng.random_range(5..=120) / 100).max(100) / 100 * 100;
            return Command::Deal(DealRequest::Use {
                member,
                merchant,
                points: Points(want),
                amount: None,
                date: None,
            });
        }
        Command::Deal(DealRequest::Save {
            member,
            merchant,
            amount: Amount(rng.random_range(10..3_000) * 100),
            date: None,
        })
    }
}
