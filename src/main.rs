//! `onepoint`: see `cli` for what it does.

fn main() {
    onepoint::domain::memory::no_huge_pages();
    std::process::exit(onepoint::cli::main());
}

// sled copies tree nodes on every write; glibc's malloc serialises those allocations across
// threads, a faster allocator removes that bottleneck from the write path.
// Built with `RUSTFLAGS="--cfg onepoint_system_alloc"`: the system's, for a heap profiler
// that hooks malloc (heaptrack; README, Benchmarks).
#[cfg(not(onepoint_system_alloc))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
