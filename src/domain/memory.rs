//! The process's memory as the allocator holds it: the one place that speaks to mimalloc
//! (the binaries' global allocator, `src/main.rs`) and to the kernel about pages. The
//! store gives back what opening freed (`Store::open`), the server what its idle workers
//! freed (`server::memory`), and both binaries turn transparent huge pages off first thing.
//!
//! Under another global allocator (the library's tests use the system's) the collects find
//! mimalloc's heap empty and do nothing.

// The crate is linked for its `mi_collect` even where it is not the global allocator.
use mimalloc as _;

unsafe extern "C" {
    /// mimalloc's public API: frees the calling thread's empty pages to the arena and
    /// purges, process-wide, the arena ranges whose delay has passed (with `force`, all of
    /// them, now).
    fn mi_collect(force: bool);
    /// mimalloc's options (`mi_option_t` is a C enum: an `int`).
    fn mi_option_get(option: i32) -> std::ffi::c_long;
    fn mi_option_set(option: i32, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (milliseconds; default 1000).
const MI_OPTION_PURGE_DELAY: i32 = 15;

/// Returns the calling thread's freed pages to the arena (and the arena's expired ones to
/// the system). Cheap enough for every park of a server's worker thread.
pub fn collect_this_thread() {
    // SAFETY: `mi_collect` takes no pointer and may be called from any thread at any time.
    unsafe { mi_collect(false) }
}

/// Gives back to the system, now, what this thread freed: after opening a store, sled's
/// snapshot of its page table and the log records replayed, as much again as the store
/// keeps at 1M deals. mimalloc would hold it until a later allocation found its purge delay
/// (1 s) passed, and a console that opened and then sat idle kept it for good.
pub fn release_freed_memory() {
    // SAFETY: as above.
    unsafe { mi_collect(true) }
}

/// While it lives, memory freed anywhere in the process goes back to the system at once,
/// where mimalloc would hold it for its purge delay. Opening a store after a crash replays
/// sled's log on sled's threads as well as this one: what they free is spread over many
/// threads' pages, which `release_freed_memory` (this thread's) does not reach, and a console
/// on a 10M-deal store opened after a kill -9 kept 35-50 MB more than after a clean close.
/// The delay comes back when the last guard living drops: guards may overlap (the open's
/// and the in-memory tables' build, `store_memory.rs`, on a thread of its own), and each
/// dropping in any order restores it once, not to another guard's zero.
pub struct PurgeAtOnce(());

/// The guards living and the delay to restore when the last one drops.
static PURGE_GUARDS: parking_lot::Mutex<(usize, std::ffi::c_long)> =
    parking_lot::Mutex::new((0, 0));

impl PurgeAtOnce {
    pub fn start() -> PurgeAtOnce {
        let mut g = PURGE_GUARDS.lock();
        if g.0 == 0 {
            // SAFETY: mimalloc's options are plain integers, read and set atomically.
            unsafe {
                g.1 = mi_option_get(MI_OPTION_PURGE_DELAY);
                mi_option_set(MI_OPTION_PURGE_DELAY, 0);
            }
        }
        g.0 += 1;
        PurgeAtOnce(())
    }
}

impl Drop for PurgeAtOnce {
    fn drop(&mut self) {
        let mut g = PURGE_GUARDS.lock();
        g.0 -= 1;
        if g.0 == 0 {
            // SAFETY: as above.
            unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, g.1) }
        }
    }
}

/// mimalloc asks for transparent huge pages on its arenas (`MADV_HUGEPAGE`): each one a
/// 2 MiB page the kernel zeroes and keeps resident however little of it is used. A console
/// on a 200k-deal store held 66 MB after opening with them and 27-31 MB without, at the same
/// ingest speed (`onepoint-bench ingest`, README). Called first thing in `main`, before any
/// thread starts; the setting holds for the whole process and the ones it starts.
pub fn no_huge_pages() {
    // SAFETY: prctl with PR_SET_THP_DISABLE takes no pointers; a failure (an old kernel)
    // leaves the default.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purge_delay() -> std::ffi::c_long {
        // SAFETY: reads an integer option.
        unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }
    }

    /// The delay the process runs with outside every guard (other tests in this binary
    /// open stores, whose opens hold guards of their own).
    fn baseline() -> std::ffi::c_long {
        let g = PURGE_GUARDS.lock();
        if g.0 == 0 { purge_delay() } else { g.1 }
    }

    /// After the guards this test made drop: the delay is back unless another test's
    /// guard still lives.
    fn assert_restored(before: std::ffi::c_long) {
        let g = PURGE_GUARDS.lock();
        if g.0 == 0 {
            assert_eq!(purge_delay(), before);
        }
    }

    #[test]
    fn memory_is_purged_at_once_while_the_guard_lives_and_the_delay_comes_back() {
        let before = baseline();
        assert_ne!(before, 0, "mimalloc's default delay");
        {
            let _purge = PurgeAtOnce::start();
            assert_eq!(purge_delay(), 0);
        }
        assert_restored(before);
    }

    #[test]
    fn overlapping_guards_dropped_in_either_order_bring_the_delay_back() {
        let before = baseline();
        assert_ne!(before, 0, "mimalloc's default delay");
        for first_dropped_first in [true, false] {
            let a = PurgeAtOnce::start();
            let b = PurgeAtOnce::start();
            let (x, y) = if first_dropped_first { (a, b) } else { (b, a) };
            drop(x);
            assert_eq!(purge_delay(), 0, "one guard still lives");
            drop(y);
            assert_restored(before);
        }
    }
}
