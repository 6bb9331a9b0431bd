#![allow(unsafe_code)]

use std::convert::TryFrom;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use crate::{
    atomic_shim::AtomicU64,
    debug_delay,
    dll::{DoublyLinkedList, Node},
    fastlock::FastLock,
    FastMap8, Guard, PageId,
};

#[cfg(any(test, feature = "lock_free_delays"))]
const MAX_QUEUE_ITEMS: usize = 4;

// OnePoint: 8 (upstream 64) and 8 shards (upstream 256); see below and ONEPOINT.md 36.
#[cfg(not(any(test, feature = "lock_free_delays")))]
const MAX_QUEUE_ITEMS: usize = 8;

#[cfg(any(test, feature = "lock_free_delays"))]
const N_SHARDS: usize = 2;

/// OnePoint: an access is counted only when its shard's queue fills, so up to
/// `N_SHARDS * MAX_QUEUE_ITEMS` pages read in can sit in memory uncounted. Upstream's
/// 256 x 64 let a scan of a million accounts (15,600 leaves, about 61 per shard) take
/// 100 MB past a cache of 16 MB without one eviction; 8 x 8 leaves at most 64 pages
/// uncounted. Two cores do not need 256 shards to keep off each other's locks.
#[cfg(not(any(test, feature = "lock_free_delays")))]
const N_SHARDS: usize = 8;

struct AccessBlock {
    len: AtomicUsize,
    block: [AtomicU64; MAX_QUEUE_ITEMS],
    next: AtomicPtr<AccessBlock>,
}

impl Default for AccessBlock {
    fn default() -> AccessBlock {
        AccessBlock {
            len: AtomicUsize::new(0),
            block: unsafe { MaybeUninit::zeroed().assume_init() },
            next: AtomicPtr::default(),
        }
    }
}

struct AccessQueue {
    writing: AtomicPtr<AccessBlock>,
    full_list: AtomicPtr<AccessBlock>,
}

impl Default for AccessQueue {
    fn default() -> AccessQueue {
        AccessQueue {
            writing: AtomicPtr::new(Box::into_raw(Box::new(
                AccessBlock::default(),
            ))),
            full_list: AtomicPtr::default(),
        }
    }
}

impl AccessQueue {
    fn push(&self, item: CacheAccess) -> bool {
        let mut filled = false;
        loop {
            debug_delay();
            let head = self.writing.load(Ordering::Acquire);
            let block = unsafe { &*head };

            debug_delay();
            let offset = block.len.fetch_add(1, Ordering::Release);

            if offset < MAX_QUEUE_ITEMS {
                debug_delay();
                unsafe {
                    block
                        .block
                        .get_unchecked(offset)
                        .store(item.0, Ordering::Release);
                }
                return filled;
            } else {
                // install new writer
                let new = Box::into_raw(Box::new(AccessBlock::default()));
                debug_delay();
                let prev =
                    self.writing.compare_and_swap(head, new, Ordering::Release);
                if prev != head {
                    // we lost the CAS, free the new item that was
                    // never published to other threads
                    unsafe {
                        drop(Box::from_raw(new));
                    }
                    continue;
                }

                // push the now-full item to the full list for future
                // consumption
                let mut ret;
                let mut full_list_ptr = self.full_list.load(Ordering::Acquire);
                while {
                    // we loop because maybe other threads are pushing stuff too
                    block.next.store(full_list_ptr, Ordering::Release);
                    debug_delay();
                    ret = self.full_list.compare_and_swap(
                        full_list_ptr,
                        head,
                        Ordering::Release,
                    );
                    ret != full_list_ptr
                } {
                    full_list_ptr = ret;
                }
                filled = true;
            }
        }
    }

    fn take<'a>(&self, guard: &'a Guard) -> CacheAccessIter<'a> {
        debug_delay();
        let ptr = self.full_list.swap(std::ptr::null_mut(), Ordering::AcqRel);

        CacheAccessIter { guard, current_offset: 0, current_block: ptr }
    }
}

impl Drop for AccessQueue {
    fn drop(&mut self) {
        debug_delay();
        let writing = self.writing.load(Ordering::Acquire);
        unsafe {
            Box::from_raw(writing);
        }
        debug_delay();
        let mut head = self.full_list.load(Ordering::Acquire);
        while !head.is_null() {
            unsafe {
                debug_delay();
                let next =
                    (*head).next.swap(std::ptr::null_mut(), Ordering::Release);
                Box::from_raw(head);
                head = next;
            }
        }
    }
}

struct CacheAccessIter<'a> {
    guard: &'a Guard,
    current_offset: usize,
    current_block: *mut AccessBlock,
}

impl<'a> Iterator for CacheAccessIter<'a> {
    type Item = CacheAccess;

    fn next(&mut self) -> Option<CacheAccess> {
        while !self.current_block.is_null() {
            let current_block = unsafe { &*self.current_block };

            debug_delay();
            if self.current_offset >= MAX_QUEUE_ITEMS {
                let to_drop_ptr = self.current_block;
                debug_delay();
                self.current_block = current_block.next.load(Ordering::Acquire);
                self.current_offset = 0;
                debug_delay();
                let to_drop = unsafe { Box::from_raw(to_drop_ptr) };
                self.guard.defer(|| to_drop);
                continue;
            }

            let mut next = 0;
            while next == 0 {
                // we spin here because there's a race between bumping
                // the offset and setting the value to something other
                // than 0 (and 0 is an invalid value)
                debug_delay();
                next = current_block.block[self.current_offset]
                    .load(Ordering::Acquire);
            }
            self.current_offset += 1;
            return Some(CacheAccess(next));
        }

        None
    }
}

#[derive(Clone, Copy)]
struct CacheAccess(u64);

/// OnePoint: a page's size in the access's top byte, as a small float: 5 bits of
/// exponent and 3 of mantissa, rounded up, within 12.5% of the size (upstream rounded
/// up to a power of two, up to twice the size: with sizes now counted in memory, a
/// leaf of 10.3 KB counted 16 KB and the cache held two thirds of what it was given).
fn size_code(sz: u64) -> u64 {
    if sz < 8 {
        return sz;
    }
    let mut shift = 63 - u64::from(sz.leading_zeros()) - 3;
    let mut m = (sz + (1 << shift) - 1) >> shift; // 8..=16
    if m == 16 {
        shift += 1;
        m = 8;
    }
    let exp = (shift + 1).min(31);
    (exp << 3) | (m - 8)
}

fn size_of_code(code: u64) -> u64 {
    let (exp, m) = (code >> 3, code & 7);
    if exp == 0 { m } else { (8 + m) << (exp - 1) }
}

impl CacheAccess {
    fn new(pid: PageId, sz: u64) -> CacheAccess {
        CacheAccess(pid | (size_code(sz) << 56))
    }

    fn decompose(self) -> (PageId, u64) {
        let sz = size_of_code(self.0 >> 56);
        let pid = self.0 << 8 >> 8;
        (pid, sz)
    }
}

/// OnePoint (ONEPOINT.md 42): a read of a page its shard of the cache counted within
/// the shard's last `RECENT` counted accesses (reads, pages read in, pages written) is
/// not counted again. Such a page is among the most recent of its shard's list (`RECENT`
/// and the up to `MAX_QUEUE_ITEMS` accesses still queued), and a shard evicts from the
/// tail only: one that holds more pages than that (a 4 MB cache holds 36 or more leaves
/// a shard, the console's 32 MB hundreds) never evicts it. The index nodes every descent
/// reads, and a leaf read again and again, were counted at every read: each count a size
/// worked out, a slot taken in a queue the threads share, and a move in the list. (A
/// window counting only the reads it let through, not the pages read in, let a scan
/// evict a page read every 50 entries.)
const RECENT: u32 = 8;

/// OnePoint: when the cache last counted a read of a node (`Lru::due`), as the number of
/// reads its shard had counted then; 0: never. A copy of a node starts at 0 (it is a new page
/// version, whose size the cache must count), and it is no part of what the node holds
/// (equal whatever it says).
#[derive(Default, Debug)]
pub(crate) struct Seen(AtomicU32);

impl Clone for Seen {
    fn clone(&self) -> Seen {
        Seen::default()
    }
}

impl PartialEq for Seen {
    fn eq(&self, _: &Seen) -> bool {
        true
    }
}

/// A simple LRU cache.
pub struct Lru {
    shards: Vec<(AccessQueue, FastLock<Shard>)>,
    /// OnePoint: each shard's accesses counted (`accessed`), wrapping.
    counted: Vec<AtomicU32>,
}

unsafe impl Sync for Lru {}

impl Lru {
    /// Instantiates a new `Lru` cache.
    pub(crate) fn new(cache_capacity: u64) -> Self {
        assert!(
            cache_capacity >= 256,
            "Please configure the cache \
             capacity to be at least 256 bytes"
        );
        let shard_capacity = cache_capacity / N_SHARDS as u64;

        let mut shards = Vec::with_capacity(N_SHARDS);
        shards.resize_with(N_SHARDS, || {
            (AccessQueue::default(), FastLock::new(Shard::new(shard_capacity)))
        });

        let counted = (0..N_SHARDS).map(|_| AtomicU32::new(0)).collect();
        Self { shards, counted }
    }

    /// OnePoint: whether a read of page `id` in memory, whose node says `seen`, is to be
    /// counted (`accessed`): not if its shard counted it within the shard's last
    /// `RECENT` counted accesses (see `RECENT`). Marks it counted as of the access the
    /// caller then counts, when it is.
    pub(crate) fn due(&self, id: PageId, seen: &Seen) -> bool {
        let counted = &self.counted[safe_usize(id % self.shards.len() as u64)];
        let last = seen.0.load(Ordering::Relaxed);
        let now = counted.load(Ordering::Relaxed);
        if last != 0 && now.wrapping_sub(last) < RECENT {
            return false;
        }
        seen.0.store(now.wrapping_add(1).max(1), Ordering::Relaxed);
        true
    }

    /// OnePoint: the bytes the shards count now (spinning for each shard's lock), to
    /// compare with what the page table holds (`PageCache::resident`).
    pub(crate) fn counted(&self) -> u64 {
        let mut total = 0;
        for (_, mu) in &self.shards {
            loop {
                if let Some(shard) = mu.try_lock() {
                    total += shard.size;
                    break;
                }
                std::hint::spin_loop();
            }
        }
        total
    }

    /// OnePoint: the entries the shards keep and the room their maps hold (spinning for
    /// each shard's lock).
    pub(crate) fn entries(&self) -> (usize, usize) {
        let (mut len, mut room) = (0, 0);
        for (_, mu) in &self.shards {
            loop {
                if let Some(shard) = mu.try_lock() {
                    len += shard.entries.len();
                    room += shard.entries.capacity();
                    break;
                }
                std::hint::spin_loop();
            }
        }
        (len, room)
    }

    /// Called when an item is accessed. Returns a Vec of items to be
    /// evicted. Uses flat-combining to avoid blocking on what can
    /// be an asynchronous operation.
    ///
    /// layout:
    ///   items:   1 2 3 4 5 6 7 8 9 10
    ///   shards:  1 0 1 0 1 0 1 0 1 0
    ///   shard 0:   2   4   6   8   10
    ///   shard 1: 1   3   5   7   9
    pub(crate) fn accessed(
        &self,
        id: PageId,
        item_size: u64,
        guard: &Guard,
    ) -> Vec<PageId> {
        let mut ret = vec![];
        let shards = self.shards.len() as u64;
        let (shard_idx, item_pos) = (id % shards, id / shards);
        let (stack, shard_mu) = &self.shards[safe_usize(shard_idx)];
        // OnePoint: the shard's accesses, for `due`.
        self.counted[safe_usize(shard_idx)].fetch_add(1, Ordering::Relaxed);

        let filled = stack.push(CacheAccess::new(item_pos, item_size));

        if filled {
            // only try to acquire this if
            if let Some(mut shard) = shard_mu.try_lock() {
                let accesses = stack.take(guard);
                for item in accesses {
                    let (item_pos, item_size) = item.decompose();
                    let to_evict =
                        shard.accessed(safe_usize(item_pos), item_size);
                    // map shard internal offsets to global items ids
                    for pos in to_evict {
                        let item = (pos * shards) + shard_idx;
                        ret.push(item);
                    }
                }
            }
        }
        ret
    }
}

#[derive(Clone)]
struct Entry {
    ptr: *mut Node,
    size: u64,
}

impl Default for Entry {
    fn default() -> Self {
        Self { ptr: ptr::null_mut(), size: 0 }
    }
}

struct Shard {
    list: DoublyLinkedList,
    /// OnePoint change (ONEPOINT.md item 38): the pages in the cache only, by position.
    /// Upstream kept a vector indexed by position, an entry of 16 bytes for every page up
    /// to the highest ever cached, resident or not: 10 MB on a 10M-deal store (a 64 MB
    /// cache holding 12.7k pages), growing with the store's page count.
    entries: FastMap8<usize, Entry>,
    capacity: u64,
    size: u64,
}

impl Shard {
    fn new(capacity: u64) -> Self {
        assert!(capacity > 0, "shard capacity must be non-zero");

        Self {
            list: DoublyLinkedList::default(),
            entries: FastMap8::default(),
            capacity,
            size: 0,
        }
    }

    /// `PageId`s in the shard list are indexes of the entries.
    fn accessed(&mut self, pos: usize, size: u64) -> Vec<PageId> {
        {
            let entry = self.entries.entry(pos).or_default();

            self.size -= entry.size;
            entry.size = size;
            self.size += size;

            if entry.ptr.is_null() {
                entry.ptr = self.list.push_head(PageId::try_from(pos).unwrap());
            } else {
                entry.ptr = self.list.promote(entry.ptr);
            }
        }

        let mut to_evict = vec![];
        while self.size > self.capacity {
            if self.list.len() == 1 {
                // don't evict what we just added
                break;
            }

            let min_pid = self.list.pop_tail().unwrap();
            let min_pid_idx = safe_usize(min_pid);

            let evicted = self
                .entries
                .remove(&min_pid_idx)
                .expect("a page in the list has an entry");

            to_evict.push(min_pid);

            self.size -= evicted.size;
        }
        // A map grown by a scan gives its room back once the cache holds far fewer pages.
        if self.entries.capacity() > 1024
            && self.entries.len() < self.entries.capacity() / 4
        {
            self.entries.shrink_to(self.entries.len() * 2);
        }

        to_evict
    }
}

#[inline]
fn safe_usize(value: PageId) -> usize {
    usize::try_from(value).unwrap()
}

#[test]
fn lru_smoke_test() {
    use crate::pin;

    let lru = Lru::new(256);
    for i in 0..1000 {
        let guard = pin();
        lru.accessed(i, 16, &guard);
    }
}

/// OnePoint: a size's code gives back at least the size and less than 12.5% more.
#[test]
fn size_codes_round_up_within_an_eighth() {
    for sz in (0..5000u64).chain((1..40).map(|s| (1u64 << s) + 3)) {
        let back = size_of_code(size_code(sz));
        assert!(back >= sz && back - sz <= sz / 8, "{} -> {}", sz, back);
        assert!(size_code(sz) < 256);
    }
}
