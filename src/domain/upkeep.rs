//! The store's upkeep, on two threads the core starts and stops: the checkpoint thread,
//! which flushes sled so the log segments it covers go and has sled write snapshots, and the
//! reclaimer, which keeps sled's file compact at idle CPU priority (with a helper at the
//! normal priority for when it falls behind).

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::core::Shared;
use super::error::Result;

/// How often sled is flushed so the log segments it covers can go (bounds the log replayed
/// on open).
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(1000);

/// Keys written to sled after which it writes a snapshot on close or once writes pause
/// for a checkpoint interval (see `checkpoint_loop`).
const SNAPSHOT_IDLE_WRITES: u64 = 20_000;

/// Keys written to sled after which it writes a snapshot even while writes go on (a
/// pause of the store for as long as sled takes to read them back). A kill just before
/// a snapshot leaves the next open this much of sled's log to replay: on a 10M-deal store
/// under `onepoint-bench write`, 1,157 and 1,224 ms (RSS 128 and 158 MB) at 2M keys,
/// 720 and 871 ms (145 and 148 MB) at 1M, against 1 s and 150 MB.
const SNAPSHOT_BUSY_WRITES: u64 = 1_000_000;

/// A log segment is closed at a checkpoint once it holds this much.
const SEAL_BYTES: u64 = 8 * 1024 * 1024;

/// How long the reclaimer sleeps when no segment waits to be cleaned.
const RECLAIM_IDLE: Duration = Duration::from_millis(20);

/// Pages the reclaimer relocates before it lets go of sled's read lock (so a snapshot or a
/// backup waits for at most one such round).
const RECLAIM_ROUND: usize = 256;

/// Pages waiting to be reclaimed past which the debt thread, which runs at the normal
/// priority, reclaims too, down to half of it (`debt_loop`): the reclaimer runs only on a
/// core nothing else wants (`background_priority`), so on a machine kept busy it would
/// fall behind without bound. Two busy loops beside the ingest benchmark (200k deals):
/// 545 bytes on disk per deal with this helper, 811-1,008 with only a quarter of each
/// second given to the backlog, 279 with the reclaimer itself at the normal priority.
const RECLAIM_DEBT_PAGES: usize = 20_000;

/// How much more than it holds sled's log may take (its segments in use over the live bytes
/// in them) before the debt thread pays the reclaimer's backlog; below it the backlog waits
/// for idle cores. Without it the debt thread kept the log near 1.3 times what it holds at
/// the cost of a third of the writes on a 10M-deal store: every write there moves a page
/// of a leaf no other write touches, so nearly every segment falls to half live, and after
/// each snapshot reopen sled queues them all (about 785,000 pages) for cleaning, each page
/// read back cold and written again. 60 s of `onepoint-bench write` on a 12-14M-deal
/// store, alternated: 7,465 and 7,797 deals/s with the debt thread as it was, 10,336 and
/// 10,894 with it off. With this bound, `onepoint-bench ingest --deals 10000000` (one run
/// each): 8,505 -> 9,117 deals/s, p99 19.3 -> 17.3 ms, 154 -> 169 bytes on disk per deal,
/// the log 1.38 times what it holds at the end; 200k and 2M deals unchanged.
const MAX_LOG_AMPLIFICATION: f64 = 2.0;

/// Whether the debt thread should pay: the backlog is past its threshold and the log takes
/// more than `MAX_LOG_AMPLIFICATION` times what it holds.
fn debt_due(backlog: usize, (used, live): (u64, u64)) -> bool {
    backlog > RECLAIM_DEBT_PAGES && used as f64 > MAX_LOG_AMPLIFICATION * live as f64
}

/// Whether the store, taking writes, is in debt now (`debt_due` on sled's figures).
fn in_debt(shared: &Shared) -> bool {
    shared.failed.lock().is_none()
        && debt_due(shared.store.reclaim_backlog(), shared.store.log_space())
}

/// Pays the debt for at most `budget` (down to half of `RECLAIM_DEBT_PAGES`), counting the
/// pages moved; how many that was.
fn pay_debt(shared: &Shared, budget: Duration) -> Result<usize> {
    let n = (shared.store).reclaim_down_to(RECLAIM_DEBT_PAGES / 2, budget)?;
    shared.reclaimed.fetch_add(n as u64, Ordering::Relaxed);
    Ok(n)
}

/// How often the debt thread looks at the backlog, and how long it reclaims before it
/// looks again (and at whether the store is closing).
const RECLAIM_DEBT_CHECK: Duration = Duration::from_millis(100);

/// How often the apply thread looks at whether the reclaimer is in debt (`ApplyDebt`).
const APPLY_DEBT_CHECK: Duration = Duration::from_millis(50);

/// The apply thread's share of the reclaimer's debt. On a machine the writes keep busy,
/// neither the reclaimer (idle priority) nor the debt thread (one thread among the busy
/// ones, and held out by every batch, which sled applies under its lock) keeps up with the
/// garbage the writes make: at 10M deals sled's log grew to 3.9 times what it holds
/// (528 bytes on disk per deal, an open after a clean close of 1,027 ms). So while the debt
/// is due (`debt_due`), the apply thread, after answering each pass, reclaims for half as
/// long as the pass took: writes slow down to what reclaiming sustains, as a store slows
/// its writes when compaction falls behind (RocksDB's write stalls).
#[derive(Default)]
pub(super) struct ApplyDebt {
    checked: Option<std::time::Instant>,
    due: bool,
}

impl ApplyDebt {
    /// After a pass of the apply thread that took `took`, at `now`: how long to reclaim,
    /// half of `took` while the debt is due; whether it is (`due`) is looked at again
    /// only every `APPLY_DEBT_CHECK` (it takes sled's locks).
    fn budget(
        &mut self,
        now: std::time::Instant,
        took: Duration,
        due: impl FnOnce() -> bool,
    ) -> Option<Duration> {
        if self
            .checked
            .is_none_or(|t| now.saturating_duration_since(t) >= APPLY_DEBT_CHECK)
        {
            self.checked = Some(now);
            self.due = due();
        }
        self.due.then_some(took / 2)
    }

    /// After a pass of the apply thread that took `took`: reclaims for half of it while
    /// the debt is due.
    pub(super) fn pay(&mut self, shared: &Shared, took: Duration) {
        let now = std::time::Instant::now();
        let Some(budget) = self.budget(now, took, || in_debt(shared)) else {
            return;
        };
        // The writer meets the same error and recovers; look again later.
        if pay_debt(shared, budget).is_err() {
            self.due = false;
        }
    }
}

/// Runs the calling thread only when a core has nothing else to do (Linux: the
/// `SCHED_IDLE` policy; where that is refused, the lowest priority, nice 19). Background
/// upkeep then takes no time from the threads a write waits on (the writer, log, apply
/// and answer threads) or from readers, as RocksDB lowers the priority of its compaction
/// threads. Elsewhere it does nothing.
fn background_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain system calls on the calling thread (pid 0) with a valid argument.
        let idle = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0;
        if !idle {
            // SAFETY: as above; on Linux `PRIO_PROCESS` with 0 names the calling thread.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
        }
    }
}

/// Keeps sled's file compact while the store is open. sled writes every change to the end
/// of its log and marks a log segment for cleaning once half of it is garbage, but only its
/// flusher thread (which this store does not run: see `Store::open`) would move the live
/// pages out of such segments; without that, the file grows with every write (about 2,400
/// bytes per deal for about 230 live). This thread does that work whenever segments wait,
/// at idle CPU priority (`background_priority`), with a helper at the normal priority for
/// when it falls behind (`debt_loop`); it sleeps while none wait and stops when the store
/// closes.
///
/// As a precaution it starts only once the session has written (sled queues segments for
/// cleaning as writes replace pages, so a read-only session has none to clean anyway), and
/// while writes are refused (a full disk) it waits for the writer's recovery.
pub(super) fn reclaim_loop(shared: &Shared) {
    std::thread::scope(|scope| {
        // Started before this thread lowers its priority, so it keeps the normal one.
        let debt = std::thread::Builder::new()
            .name("onepoint-debt".into())
            .spawn_scoped(scope, || debt_loop(shared));
        if let Err(e) = debt {
            tracing::warn!("cannot start the reclaimer's debt thread: {e}");
        }
        background_priority();
        reclaim_idle(shared);
    });
}

/// Pays the reclaimer's backlog, at the normal priority, whenever it passes
/// `RECLAIM_DEBT_PAGES` while sled's log takes more than `MAX_LOG_AMPLIFICATION` times what
/// it holds (`debt_due`; checked again every `RECLAIM_DEBT_CHECK`): on a busy machine it
/// gets its share of the cores, as the reclaimer would at that priority; on one with room
/// it has nothing to do. Stops when the store closes.
fn debt_loop(shared: &Shared) {
    loop {
        // Nothing moved (a hold for a whole-table read, or nothing to be had yet), or an
        // error (the reclaimer meets the same and waits it out): pause.
        let pause =
            !in_debt(shared) || !matches!(pay_debt(shared, RECLAIM_DEBT_CHECK), Ok(n) if n > 0);
        if closed_after(shared, pause.then_some(RECLAIM_DEBT_CHECK)) {
            break;
        }
    }
}

/// Waits `pause` (if any) unless the store is closing or starts to; whether it is.
fn closed_after(shared: &Shared, pause: Option<Duration>) -> bool {
    let mut closing = shared.closing.lock();
    if let Some(p) = pause
        && !*closing
    {
        shared.closing_changed.wait_for(&mut closing, p);
    }
    *closing
}

/// The reclaimer proper, at idle priority (see `reclaim_loop`).
fn reclaim_idle(shared: &Shared) {
    let opened = shared.applied.load(Ordering::Acquire);
    loop {
        let idle = shared.applied.load(Ordering::Acquire) == opened;
        let work = if idle || shared.failed.lock().is_some() {
            Ok(0)
        } else {
            shared.store.reclaim(RECLAIM_ROUND)
        };
        let pause = match work {
            Ok(0) => Some(RECLAIM_IDLE),
            Ok(n) => {
                shared.reclaimed.fetch_add(n as u64, Ordering::Relaxed);
                None
            }
            // A full disk or a failed sled: the writer reports it and recovers; retry later.
            Err(_) => Some(RECLAIM_IDLE * 5),
        };
        if closed_after(shared, pause) {
            break;
        }
    }
}

/// Flushes sled every `CHECKPOINT_EVERY` and lets the log segments it covers go; on close,
/// once more, so a cleanly closed store has no log to replay. It also has sled write a
/// snapshot (`Store::snapshot`, a reopen) on close, when writes pause, and under steady
/// writing every `SNAPSHOT_BUSY_WRITES` keys: what the next open reads of sled's own log
/// stays bounded, whatever the store's size and however the session ended.
pub(super) fn checkpoint_loop(shared: &Shared) {
    // What sled held durably at open: the log records the open applied again are
    // flushed by the first pass (`Store::durable_at_open`).
    let opened = shared.store.durable_at_open();
    let mut done = opened;
    loop {
        let closing = {
            let mut c = shared.closing.lock();
            if !*c {
                shared.closing_changed.wait_for(&mut c, CHECKPOINT_EVERY);
            }
            *c
        };
        let applied = shared.applied.load(Ordering::Acquire);
        let idle = applied == done;
        // A session that wrote nothing changes nothing on disk, even on close.
        if applied > done || (closing && applied > opened) {
            let seal = if closing { 0 } else { SEAL_BYTES };
            match shared.store.checkpoint(applied, seal) {
                Ok(()) => done = applied,
                Err(e) => {
                    // The log still holds everything: nothing is lost, but stop writing
                    // rather than let the log grow past what sled can take back.
                    tracing::error!("checkpoint failed, refusing further writes: {e}");
                    *shared.failed.lock() = Some(e);
                }
            }
        }
        if idle && !closing && shared.store.delta_keys() > 0 && shared.failed.lock().is_none() {
            // Writes paused: the deals' indexes held back go to sled, so the log lets go
            // of what they were held for (`store_delta.rs`), and an open after a crash
            // applies none of it again.
            let flushed = (shared.store.flush_delta())
                .and_then(|()| shared.store.checkpoint(applied, SEAL_BYTES));
            if let Err(e) = flushed {
                tracing::error!(
                    "moving the held-back indexes to sled failed, refusing further writes: {e}"
                );
                *shared.failed.lock() = Some(e);
            }
        }
        let since = shared.store.writes_since_snapshot();
        // A short tail costs the next open little (and sled snapshots it then): a session
        // of a few writes, such as one CLI command, closes without a reopen.
        let due =
            ((closing || idle) && since >= SNAPSHOT_IDLE_WRITES) || since >= SNAPSHOT_BUSY_WRITES;
        if due && shared.failed.lock().is_none() {
            let t0 = std::time::Instant::now();
            match shared.store.snapshot() {
                Ok(done) => tracing::debug!(
                    "sled snapshot after {since} writes: {} in {:?}",
                    if done {
                        "written"
                    } else {
                        "skipped, readers busy"
                    },
                    t0.elapsed()
                ),
                Err(e) => {
                    tracing::error!("reopening sled for a snapshot failed: {e}");
                    *shared.failed.lock() = Some(e);
                }
            }
        }
        if closing {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_debt_is_paid_only_past_both_the_backlog_and_the_amplification() {
        let mb = 1 << 20;
        assert!(debt_due(RECLAIM_DEBT_PAGES + 1, (300 * mb, 100 * mb)));
        assert!(!debt_due(RECLAIM_DEBT_PAGES, (300 * mb, 100 * mb)));
        assert!(!debt_due(RECLAIM_DEBT_PAGES + 1, (200 * mb, 100 * mb)));
        assert!(!debt_due(RECLAIM_DEBT_PAGES + 1, (150 * mb, 100 * mb)));
        // Nothing live (an empty log, or one whose database failed to reopen): nothing due
        // unless segments are in use.
        assert!(!debt_due(RECLAIM_DEBT_PAGES + 1, (0, 0)));
    }

    /// The apply thread reclaims for half of each pass while the debt is due, and looks at
    /// the debt (sled's locks) only every `APPLY_DEBT_CHECK`.
    #[test]
    fn the_apply_thread_pays_half_of_its_pass_while_in_debt_and_looks_seldom() {
        let t0 = std::time::Instant::now();
        let pass = Duration::from_millis(4);
        let mut debt = ApplyDebt::default();
        let looked = std::cell::Cell::new(0);
        let due = |v: bool| {
            let looked = &looked;
            move || {
                looked.set(looked.get() + 1);
                v
            }
        };
        assert_eq!(debt.budget(t0, pass, due(true)), Some(pass / 2));
        // Within the check interval: the last answer holds, nothing is looked at.
        let soon = t0 + APPLY_DEBT_CHECK / 2;
        assert_eq!(debt.budget(soon, pass, due(false)), Some(pass / 2));
        assert_eq!(looked.get(), 1);
        // Past it: looked at again; paid off, nothing to reclaim.
        let later = t0 + APPLY_DEBT_CHECK;
        assert_eq!(debt.budget(later, pass, due(false)), None);
        assert_eq!(looked.get(), 2);
        assert_eq!(
            debt.budget(later + APPLY_DEBT_CHECK / 2, pass, due(true)),
            None
        );
        assert_eq!(
            debt.budget(later + APPLY_DEBT_CHECK, pass, due(true)),
            Some(pass / 2)
        );
        assert_eq!(looked.get(), 3);
    }
}
