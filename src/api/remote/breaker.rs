//! The circuit breaker: after `threshold` consecutive failures the circuit opens for a
//! backoff period (doubling on each reopening, capped), then lets one probe through
//! (half-open: every other call is refrained until the probe is answered, or until it has
//! been out for the longest backoff); one success closes it. Pure state, driven by the
//! caller's `Instant`s.

use std::time::{Duration, Instant};

use crate::api::Link;

#[derive(Debug, Clone, Copy)]
pub struct BreakerSettings {
    pub threshold: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for BreakerSettings {
    fn default() -> BreakerSettings {
        BreakerSettings {
            threshold: 3,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open {
        until: Instant,
    },
    /// A probe went out at `since`; another may go once it is answered or overdue.
    HalfOpen {
        since: Instant,
    },
}

#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    state: State,
    failures: u32,
    /// Times opened since the last success: the backoff doubles with each.
    opens: u32,
}

impl Breaker {
    pub fn new(settings: BreakerSettings) -> Breaker {
        Breaker {
            settings,
            state: State::Closed,
            failures: 0,
            opens: 0,
        }
    }

    /// Whether a call may go out now. An open circuit whose backoff has passed turns
    /// half-open and lets this one call through as the probe.
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.state {
            State::Closed => true,
            State::HalfOpen { since } if now < since + self.settings.backoff_max => false,
            State::HalfOpen { .. } => {
                self.state = State::HalfOpen { since: now };
                true
            }
            State::Open { until } if now >= until => {
                self.state = State::HalfOpen { since: now };
                true
            }
            State::Open { .. } => false,
        }
    }

    pub fn success(&mut self) {
        self.state = State::Closed;
        self.failures = 0;
        self.opens = 0;
    }

    pub fn failure(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        let trips = matches!(self.state, State::HalfOpen { .. })
            || self.failures >= self.settings.threshold;
        if trips {
            self.opens = self.opens.saturating_add(1);
            self.state = State::Open {
                until: now + self.backoff(),
            };
        }
    }

    fn backoff(&self) -> Duration {
        let doublings = self.opens.saturating_sub(1).min(16);
        (self.settings.backoff_base * 2u32.pow(doublings)).min(self.settings.backoff_max)
    }

    pub fn is_open(&self, now: Instant) -> bool {
        matches!(self.state, State::Open { until } if now < until)
    }

    pub fn link(&self, now: Instant) -> Link {
        match self.state {
            State::Closed => Link::Connected,
            State::Open { until } if now < until => Link::Open {
                failures: self.failures,
                retry_in: until - now,
            },
            State::Open { .. } | State::HalfOpen { .. } => Link::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerSettings {
            threshold: 3,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(4),
        })
    }

    #[test]
    fn opens_after_threshold_failures_and_probes_after_backoff() {
        let t0 = Instant::now();
        let mut b = breaker();
        b.failure(t0);
        b.failure(t0);
        assert_eq!(b.link(t0), Link::Connected);
        b.failure(t0);
        assert!(!b.allow(t0 + Duration::from_millis(500)));
        assert!(matches!(b.link(t0), Link::Open { failures: 3, .. }));
        assert!(
            b.allow(t0 + Duration::from_secs(1)),
            "the probe goes through"
        );
        assert_eq!(b.link(t0 + Duration::from_secs(1)), Link::HalfOpen);
        assert!(
            !b.allow(t0 + Duration::from_millis(1100)),
            "one probe at a time"
        );
        b.success();
        assert!(b.allow(t0 + Duration::from_millis(1100)));
        assert_eq!(b.link(t0), Link::Connected);
    }

    #[test]
    fn an_unanswered_probe_lets_another_through_after_the_longest_backoff() {
        let t0 = Instant::now();
        let mut b = breaker();
        for _ in 0..3 {
            b.failure(t0);
        }
        let probe = t0 + Duration::from_secs(1);
        assert!(b.allow(probe));
        assert!(!b.allow(probe + Duration::from_secs(3)));
        assert!(b.allow(probe + Duration::from_secs(4)));
    }

    #[test]
    fn a_failed_probe_reopens_with_a_doubled_capped_backoff() {
        let t0 = Instant::now();
        let mut b = breaker();
        for _ in 0..3 {
            b.failure(t0);
        }
        let mut now = t0;
        for expected in [2, 4, 4] {
            now += Duration::from_secs(10);
            assert!(b.allow(now));
            b.failure(now);
            let Link::Open { retry_in, .. } = b.link(now) else {
                panic!("not open")
            };
            assert_eq!(retry_in, Duration::from_secs(expected));
        }
    }
}
