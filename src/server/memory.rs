//! Giving memory back once a crowd of clients has left.
//!
//! The binaries allocate with jemalloc (`src/main.rs`). Each thread caches blocks it freed
//! (up to 1 KiB each) until it allocates them again or flushes, and the arena gives freed
//! pages back to the system only as some thread allocates, or asks, after their decay time.
//! A server's worker threads go idle once the clients have left, so they would keep what
//! thousands of connections had freed (on mimalloc, the allocator before: 12 s after the
//! abuse bench's attackers left, the server's resident memory was 75 MB over its start
//! while its live allocations were back within 4 MB of theirs). So every worker flushes
//! its cache as it goes idle (tokio's park hook), and a tick every second lets the arena
//! give back what has waited its decay time.
//!
//! The calls to jemalloc itself are `domain::memory`'s.

use std::time::Duration;

use tokio::sync::watch;

pub use crate::domain::memory::collect_this_thread;

/// How often the arena is given a chance to purge when nothing else runs.
const PURGE_TICK: Duration = Duration::from_secs(1);

/// Until `stop`: once a second, the purge that an idle process would otherwise never run.
pub async fn purge_ticks(mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(PURGE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => collect_this_thread(),
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}
