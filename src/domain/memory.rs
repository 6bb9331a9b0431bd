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
}

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
