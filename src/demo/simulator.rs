//! The demo's traffic: a thread placing deals (70% save, 25% use, 5% cancel), with now and
//! then a join or a withdrawal, at a rate the console steers (`+`, `-`, `P`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::api::Port;
use crate::app::TrafficControl;
use crate::domain::{BalanceQuery, Keyed, MemberId, MerchantId};
use crate::traffic::{Generator, Mix, Spread};

const STEP: Duration = Duration::from_millis(50);
/// Balances read once at the start (the highest), so the first uses fit them.
const KNOWN_BALANCES: usize = 10_000;

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

    /// Starts the traffic thread over `port`, for members `1..=members` and `merchants`:
    /// every 50 ms it writes what the rate owes (see `Simulator::step`).
    pub fn start(
        &self,
        port: Arc<dyn Port>,
        members: u64,
        merchants: Vec<MerchantId>,
    ) -> JoinHandle<()> {
        let t = self.clone();
        std::thread::spawn(move || {
            let mut sim = Simulator::new(&*port, t.clone(), members, merchants);
            let mut next = Instant::now();
            while !t.0.stop.load(Ordering::Relaxed) {
                next += STEP;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                } else {
                    next = Instant::now();
                }
                sim.step(&*port, STEP);
            }
        })
    }
}

/// The simulator's work without a clock or a thread: the generator and the pacing. The
/// thread calls `step` every 50 ms; tests call it with the time they choose.
pub struct Simulator {
    controls: Traffic,
    traffic: Generator<StdRng>,
    /// Operations owed but not yet written (the fraction of one carried between steps).
    owed: f64,
}

impl Simulator {
    /// For members `1..=members` and `merchants`; the highest balances are read once, so the
    /// first uses fit them.
    pub fn new(
        port: &dyn Port,
        controls: Traffic,
        members: u64,
        merchants: Vec<MerchantId>,
    ) -> Simulator {
        let mut traffic = Generator::new(StdRng::from_os_rng(), Mix::LIVE, Spread::Uniform)
            .with_members((1..=members).map(MemberId))
            .with_merchants(merchants);
        let top = BalanceQuery {
            limit: KNOWN_BALANCES,
            ..BalanceQuery::default()
        };
        for b in port.balances(&top).unwrap_or_default() {
            traffic.add_member(b.member_id, b.point);
        }
        Simulator {
            controls,
            traffic,
            owed: 0.0,
        }
    }

    /// Writes, in one batch, the operations `elapsed` owes at the current rate (none while
    /// paused, and a paused time owes nothing later); returns how many it wrote.
    pub fn step(&mut self, port: &dyn Port, elapsed: Duration) -> usize {
        if self.controls.paused() || self.traffic.member_count() == 0 {
            return 0;
        }
        self.owed += self.controls.rate() * elapsed.as_secs_f64();
        let n = self.owed.floor() as usize;
        self.owed -= n as f64;
        if n == 0 {
            return 0;
        }
        let batch: Vec<Keyed> = (0..n)
            .map(|_| Keyed::new(self.traffic.command(None), None))
            .collect();
        for r in port.execute(batch) {
            self.controls.0.done.fetch_add(1, Ordering::Relaxed);
            if let Ok(o) = r {
                self.traffic.learn(&o);
            }
        }
        n
    }
}

impl TrafficControl for Traffic {
    fn rate(&self) -> f64 {
        Traffic::rate(self)
    }
    fn paused(&self) -> bool {
        Traffic::paused(self)
    }
    fn set(&self, rate: f64, paused: bool) {
        Traffic::set(self, rate, paused)
    }
}
