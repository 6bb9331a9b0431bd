//! The process's memory as the allocator holds it: the one place that speaks to jemalloc
//! (the binaries' global allocator, `src/main.rs`) and to the kernel about pages. The
//! store gives back what opening freed (`Store::open`), the server what its idle workers
//! freed (`server::memory`), the console everything freed while it runs (`PurgeAtOnce`),
//! and both binaries turn transparent huge pages off first thing.
//!
//! Under another global allocator (the library's tests use the system's) the calls reach
//! jemalloc's own arenas, empty, and do nothing; its options can still be read and set.
//!
//! jemalloc, not mimalloc (the allocator until 2026-12-03): under `onepoint demo --rate
//! 2000` on a 10M-deal store, where sled copies a leaf at every write and frees the old
//! copy, the console held 143-186 MB on mimalloc purging at once and 110-133 MB on
//! jemalloc with the options below, at the same write speed (README, Benchmarks).

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::null_mut;

use tikv_jemalloc_sys::mallctl;

/// jemalloc's options, read when it starts (before `main`): one arena for the process,
/// where one per thread group spread each thread's freed blocks over eight; and blocks
/// above 1 KiB (sled's leaves) not cached per thread, so a block freed goes back to the
/// arena that can reuse it. Neither cost measured write speed (`onepoint-bench ingest`).
#[used]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: Option<&'static c_char> = Some(conf(MALLOC_OPTIONS));

/// The options `MALLOC_CONF` hands jemalloc.
pub const MALLOC_OPTIONS: &CStr = c"narenas:1,tcache_max:1024";

const fn conf(s: &'static CStr) -> &'static c_char {
    // SAFETY: a C string's pointer is valid for its whole ('static) life.
    unsafe { &*s.as_ptr() }
}

/// One `mallctl` call: the control's value read into `old` (its size in `*old_len`) and/or
/// `new` written, either null to skip it; false if jemalloc refused.
///
/// # Safety
/// `old`, if not null, must be writable for `*old_len` bytes, and `new`, if not null,
/// readable for `new_len` bytes, each the size of the control's C type.
unsafe fn ctl(
    name: &CStr,
    old: *mut c_void,
    old_len: *mut usize,
    new: *mut c_void,
    new_len: usize,
) -> bool {
    // SAFETY: a NUL-terminated name; the buffers as the caller promised.
    unsafe { mallctl(name.as_ptr(), old, old_len, new, new_len) == 0 }
}

/// A control that takes and gives nothing (a flush, a purge); false if jemalloc refused.
fn ctl_do(name: &CStr) -> bool {
    // SAFETY: no buffers.
    unsafe { ctl(name, null_mut(), null_mut(), null_mut(), 0) }
}

/// Reads a control's value of type `T` (its C type's size), or None if jemalloc refused.
fn ctl_read<T: Copy + Default>(name: &CStr) -> Option<T> {
    let mut v = T::default();
    let mut len = size_of::<T>();
    // SAFETY: `v` is a `T` and `len` its size: jemalloc writes at most `len` bytes.
    let ok = unsafe { ctl(name, (&raw mut v).cast(), &mut len, null_mut(), 0) };
    (ok && len == size_of::<T>()).then_some(v)
}

/// Sets a control to a value of type `T`; false if jemalloc refused (an arena not made).
fn ctl_write<T: Copy>(name: &CStr, mut v: T) -> bool {
    // SAFETY: `v` is a `T` of the given size, read by jemalloc only.
    unsafe {
        ctl(
            name,
            null_mut(),
            null_mut(),
            (&raw mut v).cast(),
            size_of::<T>(),
        )
    }
}

/// A control's name built at run time (an arena's number, a decay's name in it).
fn name(s: String) -> CString {
    CString::new(s).expect("no NUL in a control's name")
}

// `arena.4096.*`: 4096 is `MALLCTL_ARENAS_ALL`, every arena. The names are literals, so
// a worker's park (`collect_this_thread`) allocates nothing.

/// Returns the calling thread's cached blocks to the arena, and has the arena give the
/// system what its decay time (10 s) has passed. Cheap enough for every park of a
/// server's worker thread.
pub fn collect_this_thread() {
    ctl_do(c"thread.tcache.flush");
    ctl_do(c"arena.4096.decay");
}

/// Gives back to the system, now, everything freed: after opening a store, sled's
/// snapshot of its page table and the log records replayed, as much again as the store
/// keeps at 1M deals. The arena would hold it for its decay time, and a console that
/// opened and then sat idle kept it until something allocated.
pub fn release_freed_memory() {
    ctl_do(c"thread.tcache.flush");
    ctl_do(c"arena.4096.purge");
}

/// The decay times (milliseconds; `ssize_t`) a guard sets to 0: how long the arenas keep
/// freed pages dirty (still resident), then muzzy (given back lazily).
const DECAYS: [&str; 2] = ["dirty_decay_ms", "muzzy_decay_ms"];

/// Sets the decay times of every arena made so far and of those made later.
fn set_decays(values: [isize; 2]) {
    let arenas = ctl_read::<u32>(c"arenas.narenas").unwrap_or(0);
    for (decay, v) in DECAYS.iter().zip(values) {
        ctl_write(&name(format!("arenas.{decay}")), v);
        for i in 0..arenas {
            // Refused for an arena index not made yet: it takes the default above.
            ctl_write(&name(format!("arena.{i}.{decay}")), v);
        }
    }
}

/// The decay times new arenas get (the ones every arena has outside a guard).
fn decays() -> [isize; 2] {
    DECAYS.map(|decay| ctl_read::<isize>(&name(format!("arenas.{decay}"))).unwrap_or(0))
}

/// While it lives, memory freed anywhere in the process goes back to the system at once,
/// where jemalloc would hold it for its decay time (10 s). The console holds one for its
/// whole run (`app::run_console`): under live writes sled frees a leaf at every write. The
/// in-memory tables' build holds one on its thread (`store_memory.rs`), and the names'
/// loader on its own. An open does not: on jemalloc it made opening a 10M-deal store after
/// a kill -9 slower (365-417 ms against 275-397 without, one arena for both), and its
/// `release_freed_memory` at the end reaches every thread's frees, all in the one arena.
/// The decay times come back when the last guard living drops: guards may overlap, and
/// each dropping in any order restores them once, not to another guard's zero.
pub struct PurgeAtOnce(());

/// The guards living and the decay times to restore when the last one drops.
static PURGE_GUARDS: parking_lot::Mutex<(usize, [isize; 2])> = parking_lot::Mutex::new((0, [0; 2]));

impl PurgeAtOnce {
    pub fn start() -> PurgeAtOnce {
        let mut g = PURGE_GUARDS.lock();
        if g.0 == 0 {
            g.1 = decays();
            set_decays([0, 0]);
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
            set_decays(g.1);
        }
    }
}

/// Transparent huge pages (mimalloc, the allocator before, asked for them on its arenas)
/// are each a 2 MiB page the kernel zeroes and keeps resident however little of it is used. A console
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

    /// The decay times the process runs with outside every guard (other tests in this
    /// binary open stores, whose opens hold guards of their own).
    fn baseline() -> [isize; 2] {
        let g = PURGE_GUARDS.lock();
        if g.0 == 0 { decays() } else { g.1 }
    }

    /// After the guards this test made drop: the times are back unless another test's
    /// guard still lives.
    fn assert_restored(before: [isize; 2]) {
        let g = PURGE_GUARDS.lock();
        if g.0 == 0 {
            assert_eq!(decays(), before);
            assert_eq!(arena_zero(), before, "arena 0's own decay times");
        }
    }

    /// Arena 0's decay times (the one arena, `MALLOC_OPTIONS`).
    fn arena_zero() -> [isize; 2] {
        DECAYS.map(|decay| ctl_read::<isize>(&name(format!("arena.0.{decay}"))).expect("arena 0"))
    }

    #[test]
    fn jemalloc_starts_with_our_options() {
        assert_eq!(ctl_read::<u32>(c"opt.narenas"), Some(1));
        assert_eq!(ctl_read::<usize>(c"opt.tcache_max"), Some(1024));
    }

    #[test]
    fn memory_is_purged_at_once_while_the_guard_lives_and_the_decay_comes_back() {
        let before = baseline();
        assert_eq!(before, [10_000, 0], "jemalloc's default decay times");
        {
            let _purge = PurgeAtOnce::start();
            assert_eq!(decays(), [0, 0]);
            assert_eq!(arena_zero(), [0, 0]);
        }
        assert_restored(before);
    }

    #[test]
    fn overlapping_guards_dropped_in_either_order_bring_the_decay_back() {
        let before = baseline();
        assert_eq!(before, [10_000, 0], "jemalloc's default decay times");
        for first_dropped_first in [true, false] {
            let a = PurgeAtOnce::start();
            let b = PurgeAtOnce::start();
            let (x, y) = if first_dropped_first { (a, b) } else { (b, a) };
            drop(x);
            assert_eq!(decays(), [0, 0], "one guard still lives");
            drop(y);
            assert_restored(before);
        }
    }

    #[test]
    fn the_collects_are_accepted() {
        assert!(ctl_do(c"thread.tcache.flush"));
        assert!(ctl_do(c"arena.4096.decay"));
        assert!(ctl_do(c"arena.4096.purge"));
    }
}
