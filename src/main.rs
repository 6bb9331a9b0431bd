//! `onepoint`: see `cli` for what it does.

fn main() {
    no_huge_pages();
    std::process::exit(onepoint::cli::main());
}

/// mimalloc asks for transparent huge pages on its arenas (`MADV_HUGEPAGE`): each one a
/// 2 MiB page the kernel zeroes and keeps resident however little of it is used. A console
/// on a 200k-deal store held 66 MB after opening with them and 27-31 MB without, at the same
/// ingest speed (`onepoint-bench ingest`, README). Set before the first thread starts; the
/// setting holds for the whole process and the ones it starts.
fn no_huge_pages() {
    // SAFETY: prctl with PR_SET_THP_DISABLE takes no pointers; a failure (an old kernel)
    // leaves the default.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

// sled copies tree nodes on every write; glibc's malloc serialises those allocations across
// threads, a faster allocator removes that bottleneck from the write path.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
