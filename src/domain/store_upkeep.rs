//! The store's upkeep and its measures: sled's snapshots, the reclaiming of its log's
//! garbage (`upkeep.rs` runs both), and what the store takes and holds (for the bench and
//! `info`). Part of `store.rs`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use super::super::error::{Error, Result};
use super::open::{check_free_space, file_len, open_sled};
use super::{Store, memory};

impl Store {
    /// Makes sled write a snapshot of its page table, by closing and reopening it: sled 0.34
    /// writes one only while it opens, and opening reads every segment of its own log
    /// written since the last one, so without this the next open (after a clean close or
    /// a crash) reads everything this session wrote. Readers and the writer wait meanwhile.
    /// Returns whether it did: it gives up after a while if readers keep iterating, and
    /// skips it on a disk too full for the snapshot.
    pub fn snapshot(&self) -> Result<bool> {
        // The reopen writes a snapshot: on a disk too full for it, sled would fail to open
        // and leave the store closed; skip it (the next open reads a longer tail).
        if check_free_space(&self.dir).is_err() {
            return Ok(false);
        }
        for _ in 0..200 {
            let mut slot = self.db.write();
            // Under the write lock nobody starts an iterator or a call on sled: once none is
            // running, nothing of this process holds sled but `slot`.
            if self.iterators.load(Ordering::SeqCst) > 0 {
                drop(slot);
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            }
            if let Some(db) = slot.take() {
                db.flush()
                    .map_err(|e| Error::store(format!("flush failed: {e}")))?;
                self.data_file
                    .sync_data()
                    .map_err(|e| Error::store(format!("fsync failed: {e}")))?;
            }
            *slot = Some(open_sled(&self.config, &self.dir)?);
            self.since_snapshot.store(0, Ordering::Relaxed);
            return Ok(true);
        }
        Ok(false)
    }

    /// Relocates up to `pages` live pages out of sled's mostly-garbage log segments, so
    /// they can be reused; returns how many it moved (0: nothing waits to be cleaned).
    pub fn reclaim(&self, pages: usize) -> Result<usize> {
        if self.reclaim_holds.load(Ordering::SeqCst) > 0 {
            return Ok(0);
        }
        self.with_db(|db| {
            let mut moved = 0;
            while moved < pages && db.reclaim_step()? {
                moved += 1;
            }
            Ok(moved)
        })
    }

    /// Reclaims until at most `target` pages wait, or for about `budget`, whichever comes
    /// first (at most one round of 64 pages past either); returns how many pages it moved
    /// (none while a hold is taken: `hold_reclaim`).
    pub fn reclaim_down_to(&self, target: usize, budget: std::time::Duration) -> Result<usize> {
        const ROUND: usize = 64;
        let start = std::time::Instant::now();
        let mut moved = 0;
        // A round can move nothing while pages wait (it first drops a segment whose pages
        // are all gone): only a hold ends the loop before the target or the budget.
        while self.reclaim_backlog() > target && start.elapsed() < budget {
            if self.reclaim_holds.load(Ordering::SeqCst) > 0 {
                break;
            }
            moved += self.reclaim(ROUND)?;
        }
        Ok(moved)
    }

    /// Pages waiting to be moved by `reclaim` (0 when the store's database failed to
    /// reopen: nothing can be reclaimed then anyway).
    pub fn reclaim_backlog(&self) -> usize {
        self.with_db(|db| Ok(db.reclaim_backlog())).unwrap_or(0)
    }

    /// sled's log: the bytes of its segments in use and the live bytes in them (an
    /// estimate); (0, 0) when the store's database failed to reopen.
    pub fn log_space(&self) -> (u64, u64) {
        self.with_db(|db| Ok(db.log_space())).unwrap_or((0, 0))
    }

    /// sled's log segments by state (`sled::Tree::segment_states`); empty when the
    /// store's database failed to reopen.
    pub fn segment_states(&self) -> Vec<(&'static str, u64)> {
        self.with_db(|db| Ok(db.segment_states()))
            .unwrap_or_default()
    }

    /// sled's cache capacity, bytes (`StoreOptions::cache_bytes`).
    pub fn cache_capacity(&self) -> u64 {
        self.config.cache_capacity
    }

    /// sled's pages held in memory and the bytes they take, walked from its page table
    /// (what the cache's capacity, `StoreOptions::cache_bytes`, bounds), and the bytes
    /// the cache counts.
    pub fn resident(&self) -> (u64, u64, u64) {
        self.with_db(|db| {
            let (pages, bytes) = db.resident();
            Ok((pages, bytes, db.cache_counted()))
        })
        .unwrap_or_default()
    }

    /// The in-memory indexes' keys and the bytes they take on the heap.
    pub fn memory_index_size(&self) -> (usize, usize) {
        self.memory.size()
    }

    /// Holds reclaiming off until the guard drops: a read of a whole table (every member's
    /// record) then has both cores and sled's cache to itself. Reclaiming resumes after.
    pub fn hold_reclaim(&self) -> ReclaimHold<'_> {
        self.reclaim_holds.fetch_add(1, Ordering::SeqCst);
        ReclaimHold(self)
    }

    /// Keys written to sled since its last snapshot.
    pub fn writes_since_snapshot(&self) -> u64 {
        self.since_snapshot.load(Ordering::Relaxed)
    }

    /// Live keys and values per table (the key's first byte): (table, entries, key bytes,
    /// value bytes), what the store holds before sled's overhead.
    pub fn live_bytes(&self) -> Result<Vec<(u8, u64, u64, u64)>> {
        let mut by: BTreeMap<u8, (u64, u64, u64)> = BTreeMap::new();
        for r in self.iter_with(&|db| db.iter()) {
            let (k, v) = r?;
            if memory::is_memory_key(&k) {
                continue; // left from before they moved to memory (never read)
            }
            let e = by.entry(k.first().copied().unwrap_or(0)).or_default();
            e.0 += 1;
            e.1 += k.len() as u64;
            e.2 += v.len() as u64;
        }
        // The deals' indexes held back: what sled's count lacks or has too many of.
        let in_sled = |k: &[u8]| self.with_db(|db| db.contains_key(k)).unwrap_or(false);
        for (t, n, b) in self.delta.live_difference(in_sled) {
            let e = by.entry(t).or_default();
            e.0 = e.0.saturating_add_signed(n);
            e.1 = e.1.saturating_add_signed(b);
        }
        Ok(by.into_iter().map(|(t, (n, k, v))| (t, n, k, v)).collect())
    }

    /// How many leaves sled's tree has (its pages that hold keys; each costs a page-table
    /// entry in memory and a header on disk). Reads every leaf: for the bench.
    pub fn leaves(&self) -> Result<u64> {
        Ok(self.with_db(|db| db.leaf_sizes())?.len() as u64)
    }

    /// Bytes on disk by file: sled's data file, its snapshots and the log.
    pub fn disk_bytes(&self) -> Vec<(String, u64)> {
        let sled_dir = self.dir.join("sled");
        let mut out = vec![("sled/db".to_string(), file_len(&sled_dir.join("db")))];
        let mut snaps = 0;
        if let Ok(rd) = std::fs::read_dir(&sled_dir) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with("snap.") {
                    snaps += e.metadata().map(|m| m.len()).unwrap_or(0);
                }
            }
        }
        out.push(("sled/snap.*".to_string(), snaps));
        out.push(("wal".to_string(), self.wal.lock().bytes()));
        out
    }
}

/// See `Store::hold_reclaim`.
pub struct ReclaimHold<'a>(&'a Store);

impl Drop for ReclaimHold<'_> {
    fn drop(&mut self) {
        self.0.reclaim_holds.fetch_sub(1, Ordering::SeqCst);
    }
}
