//! Giving memory back once a crowd of clients has left.
//!
//! The binaries allocate with mimalloc (`src/main.rs`). Its pages belong to the thread that
//! allocated them: a page whose blocks were all freed, by any thread, goes back to the
//! process's arena only when its owner next allocates in that size class or collects, and
//! the arena returns it to the system only when some thread collects after the purge delay
//! (mimalloc's default is 1 s). A server's worker threads go idle once the clients have
//! left, so they kept what thousands of connections had freed: 12 s after the abuse bench's
//! attackers left, the server's resident memory was 75 MB over its start while its live
//! allocations were back within 4 MB of theirs. So every worker collects its own heap as it
//! goes idle (tokio's park hook: about 3 µs on a quiet heap, 30 µs under attack), and a
//! tick every second lets the arena purge what has waited its delay.
//!
//! The calls to mimalloc itself are `domain::memory`'s.

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
