//! With `store_open.rs` (opening sled, its errors), `store_write.rs` (the write path: one
//! sorted sled batch per write), `store_reads.rs`, `store_memory.rs` (the tables kept in
//! memory), `store_delta.rs` (the tables held back) and `store_upkeep.rs` (snapshots,
//! reclaiming, sizes), the only files that name sled. A store is one sled tree with key-prefixed "tables" (see `schema.rs`) plus a
//! write-ahead log (`wal.rs`). The writer's batches go to the log first (`log`: appended
//! and fdatasynced), and only then to sled (`apply_logged_many`), so a
//! reader never sees what a crash can take back; sled's own flush + fsync (`checkpoint`; on
//! Linux sled's flush alone uses `sync_file_range`, which does not survive power loss)
//! leaves the acknowledgement path and only lets old log segments go. Opening replays the
//! log past what sled applied. The deals' three scattered key-only indexes are held back in
//! memory and moved to sled in key-ordered rounds (`store_delta.rs`, sled's `Cdelta` mark);
//! opening replays the log from the lower of the two marks. A lock file keeps a second
//! process out with a clear error.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::Deref;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

use super::error::{Error, Result};
use super::wal::{Faults, Wal, disk_full_hint};
pub use super::write_set::WriteSet;

#[path = "store_delta.rs"]
mod delta;
#[path = "store_memory.rs"]
mod memory;
#[path = "store_open.rs"]
mod open;
#[path = "store_reads.rs"]
mod reads;
#[path = "store_upkeep.rs"]
mod upkeep;
#[path = "store_write.rs"]
mod write;
pub use open::raw_limits;
use open::{
    check_free_space, check_layout, map_entry, open_sled, read_applied, read_mark, sled_error,
};
pub use upkeep::ReclaimHold;

/// sled's key holding the sequence number of the last log record applied (u64 BE).
const APPLIED: &[u8] = b"Cwal";

/// Entries a leaf holds before it splits, for the tables that grow with the deals (sled's
/// `Config::leaf_entries`, see `vendor/sled/ONEPOINT.md`; the others keep sled's 64): deals
/// and events, written at their end, a run per batch, and the three indexes of keys only,
/// deals by points, by member and by merchant and month. sled keeps every leaf's page in
/// memory and reads them all at open, so fewer leaves open faster in less memory. Deals
/// and events first (200k deals, alternated: 13,227-14,134 -> 14,352-15,463 deals/s; 1M
/// deals: 121,548 -> 94,889 leaves). The indexes are written one scattered key at a time
/// and every such write copies its leaf, which cost ingest 8-15% at 256 while a leaf kept
/// an empty 40-byte value per key; since it keeps none (sled 27), 1M deals, alternated, 2
/// rounds: 13,555-13,557 -> 14,816-15,670 deals/s, p99 11.8-12.5 -> 9.4-9.8 ms, 87,718 ->
/// 37,512 leaves, 193-197 -> 162-163 bytes on disk per deal, open 35-41 -> 24-35 ms (at
/// 200k, 3 rounds: 16,128-18,746 -> 14,256-16,983).
const LEAF_ENTRIES: [(u8, u16); 5] = [
    (super::schema::DEAL, 256),
    (super::schema::EVENT, 256),
    (super::schema::DEAL_POINTS, 256),
    (super::schema::VIEW, 256),
    (super::schema::VIEW_MERCHANT, 256),
];

/// Whether a log line (its fields as `name=value`) is the storage engine's own: sled logs
/// through `log`, which `tracing` sees with a `log.target` field. Such lines (a damaged
/// file, seen while it opens) are not the user's: the store's error that follows names the
/// file and what to do.
pub fn is_engine_log(fields: &str) -> bool {
    fields.contains("log.target=sled::")
}

/// A stored value (shared bytes; cheap to clone).
#[derive(Clone, Debug)]
pub struct Val(sled::IVec);

impl Deref for Val {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// A read of the store's keys: sled's entries, or an in-memory table's.
type Entries = Box<dyn DoubleEndedIterator<Item = Result<(Val, Val)>> + Send>;

pub struct Store {
    dir: PathBuf,
    /// sled, `None` only while `snapshot` reopens it.
    db: RwLock<Option<sled::Db>>,
    config: sled::Config,
    /// Keys written to sled (not to the tables kept in memory) since it last wrote a
    /// snapshot (see `snapshot`).
    since_snapshot: AtomicU64,
    /// The last log record sled held durably when the store opened (before the log's
    /// tail was applied again).
    durable_at_open: u64,
    /// sled iterators alive (see `snapshot`).
    iterators: Arc<AtomicUsize>,
    /// Holds on reclaiming (`hold_reclaim`): while any is taken, `reclaim` moves nothing.
    reclaim_holds: AtomicUsize,
    /// sled's data file, fsynced after every flush.
    data_file: File,
    wal: Mutex<Wal>,
    faults: Option<Arc<Faults>>,
    /// The balance and last-activity indexes (`store_memory.rs`).
    memory: memory::Tables,
    /// The deals' indexes held back from sled (`store_delta.rs`).
    delta: delta::Delta,
    _lock: File,
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// sled's page cache, bytes (bounds the resident memory sled keeps).
    pub cache_bytes: u64,
    /// Faults to inject (tests only).
    pub faults: Option<Arc<Faults>>,
    /// Leave the flush of what the open replayed from the write-ahead log to the
    /// caller's next `checkpoint` (the core's checkpoint thread, within a second), so
    /// the open does not wait for it; the replayed records stay in the log, made
    /// durable there first, until then (`durable_at_open`).
    pub defer_replay_checkpoint: bool,
    /// Keys of the deals' indexes held in memory before they are moved to sled
    /// (`store_delta.rs`).
    pub delta_round_keys: usize,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            cache_bytes: super::model::DEFAULT_CACHE_BYTES,
            faults: None,
            defer_replay_checkpoint: false,
            delta_round_keys: delta::ROUND_KEYS,
        }
    }
}

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    let e = e.to_string();
    let hint = if e.contains("the disk is full") {
        "" // said already, by the error wrapped here
    } else {
        disk_full_hint(&e)
    };
    Error::store(format!("{what} {}: {e}{hint}", path.display()))
}

/// Whether `dir` holds a store (a read opens only one that does: it never creates one).
pub fn exists(dir: &Path) -> bool {
    dir.join("sled").join("db").is_file()
}

/// Refuses a path with no store, naming it.
pub fn require_existing(dir: &Path) -> Result<()> {
    if exists(dir) {
        return Ok(());
    }
    Err(Error::store(format!(
        "no store at {}: check --data (only commands that write, such as `member join`, \
         `merchant add`, `seed` or `import`, create a store)",
        dir.display()
    )))
}

impl Store {
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<Store> {
        std::fs::create_dir_all(dir).map_err(|e| io("cannot create store directory", dir, e))?;
        if exists(dir) {
            check_free_space(dir)?;
        }
        let lock_path = dir.join("onepoint.lock");
        let mut lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io("cannot open lock file", &lock_path, e))?;
        // A process's last handle can keep the lock a moment after it closed: a child
        // being spawned by another of its threads holds a copy of the descriptor until its
        // exec. So the lock of the process that last had the store (the pid in the file) is
        // waited for briefly: up to a second when that is this process, half a second when
        // it is another (which, if it really holds the store, is then refused).
        let mut attempts = 0;
        loop {
            // SAFETY: flock on a file descriptor we own; no memory is touched.
            let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                break;
            }
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            let holder = holder.trim();
            let patience = if holder == std::process::id().to_string() {
                50
            } else {
                25
            };
            if attempts < patience {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            }
            return Err(Error::store(format!(
                "the store {} is in use by another process{}; stop it, or connect to its server with --remote URL",
                dir.display(),
                if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                }
            )));
        }
        let _ = lock.set_len(0);
        let _ = write!(lock, "{}", std::process::id());
        let _ = lock.sync_all();

        let sled_dir = dir.join("sled");
        super::wal::verify(dir)?;
        let config = sled::Config::new()
            .path(&sled_dir)
            .cache_capacity(opts.cache_bytes)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(None);
        let config = (LEAF_ENTRIES.iter()).fold(config, |c, (t, n)| c.leaf_entries(*t, *n));
        let db = open_sled(&config, dir)?;
        let data_path = sled_dir.join("db");
        let data_file = File::open(&data_path).map_err(|e| io("cannot open", &data_path, e))?;
        check_layout(&db, dir)?;
        let applied = read_applied(&db, dir)?;
        let mark = read_mark(&db, dir)?;
        // The log is applied again from where either mark says (see `store_delta.rs`).
        let from = mark.map_or(applied, |m| m.min(applied));
        let (wal, replay) = Wal::open(dir, from, opts.faults.clone())?;
        let store = Store {
            dir: dir.to_path_buf(),
            db: RwLock::new(Some(db)),
            config,
            since_snapshot: AtomicU64::new(0),
            durable_at_open: from,
            iterators: Arc::new(AtomicUsize::new(0)),
            reclaim_holds: AtomicUsize::new(0),
            data_file,
            wal: Mutex::new(wal),
            faults: opts.faults,
            memory: memory::Tables::default(),
            delta: delta::Delta::new(from, mark, opts.delta_round_keys),
            _lock: lock,
        };
        if !replay.is_empty() {
            let last = replay.last().map_or(applied, |r| r.seq);
            if opts.defer_replay_checkpoint {
                // A record read back may be one whose fsync never finished (the
                // process was killed during it): durable before it is visible.
                store.wal.lock().sync_from(from + 1)?;
            }
            for r in replay {
                let set = decode_logged(dir, &r)?;
                if r.seq <= applied {
                    // sled holds the rest of it.
                    store.write(&[&set.only(delta::is_delta_key)], Some(r.seq), applied)?;
                } else {
                    store.apply_at(r.seq, &[&set])?;
                }
            }
            if !opts.defer_replay_checkpoint {
                store.checkpoint(last, 0)?;
            }
        }
        store.delta.start_rounds();
        store.drop_memory_tables_from_sled();
        super::memory::release_freed_memory();
        Ok(store)
    }

    /// The last log record sled held durably when the store opened: the records after
    /// it that the open applied again wait in the log for the next `checkpoint`.
    pub fn durable_at_open(&self) -> u64 {
        self.durable_at_open
    }

    /// The sequence number of the last log record sled has applied.
    pub fn applied_seq(&self) -> Result<u64> {
        self.with_db(|db| Ok(read_applied(db, &self.dir)))?
    }

    /// Runs `f` on sled under the read lock (so `snapshot` never closes sled under it).
    fn with_db<T>(&self, f: impl FnOnce(&sled::Db) -> sled::Result<T>) -> Result<T> {
        let slot = self.db.read();
        let db = slot
            .as_ref()
            .ok_or_else(|| Error::store("the store's database failed to reopen; restart"))?;
        f(db).map_err(|e| sled_error(&self.dir, e))
    }

    /// An iterator from sled, counted while it lives (`snapshot` waits for none).
    fn iter_with(
        &self,
        make: &dyn Fn(&sled::Db) -> sled::Iter,
    ) -> impl DoubleEndedIterator<Item = Result<(Val, Val)>> + use<> {
        let slot = self.db.read();
        let (iter, failed) = match slot.as_ref() {
            Some(db) => {
                self.iterators.fetch_add(1, Ordering::SeqCst);
                let counted = Counted {
                    inner: make(db),
                    live: self.iterators.clone(),
                };
                (Some(counted), None)
            }
            None => (
                None,
                Some(Err(Error::store(
                    "the store's database failed to reopen; restart",
                ))),
            ),
        };
        let dir = self.dir.clone();
        iter.into_iter()
            .flatten()
            .map(move |r| map_entry(&dir, r))
            .chain(failed)
    }

    /// Appends encoded log records `first_seq..=last_seq` and returns once they are
    /// durable. Nothing is visible yet: see `apply_logged_many`.
    pub fn log(&self, first_seq: u64, last_seq: u64, records: &[u8]) -> Result<()> {
        self.wal.lock().append(first_seq, last_seq, records)
    }

    /// Makes sled durable up to everything applied so far (at least record `applied`),
    /// then drops the log segments that covers. The segment taking appends is closed first
    /// once it holds `seal_bytes` (0: always, as on close).
    pub fn checkpoint(&self, applied: u64, seal_bytes: u64) -> Result<()> {
        let sled_dir = self.dir.join("sled");
        if seal_bytes == 0 {
            // Closing (or opened after a crash): the next open applies no log again.
            self.flush_delta()?;
        }
        // What sled holds when the flush starts is what it makes durable: never let go
        // of log records past that (sled reopened by `recover` may hold less than
        // `applied` until the log is applied again), nor past the mark of the tables held
        // back (`store_delta.rs`).
        let number = |v: Option<sled::IVec>| {
            v.and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
                .map(u64::from_be_bytes)
        };
        let held = self
            .with_db(|db| {
                let held = number(db.get(APPLIED)?).unwrap_or(0);
                let held = number(db.get(delta::MARK)?).map_or(held, |m| m.min(held));
                db.flush()?;
                Ok(held)
            })
            .map_err(|e| io("cannot flush the store's database", &sled_dir, e))?;
        self.data_file
            .sync_data()
            .map_err(|e| io("cannot fsync", &sled_dir.join("db"), e))?;
        let mut wal = self.wal.lock();
        wal.seal(seal_bytes);
        wal.release(applied.min(held));
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Applies the batch atomically, straight to sled, and returns once it is durable (for
    /// opening and migrating, before the writer runs; not for the writer's batches).
    pub fn commit(&self, set: WriteSet) -> Result<()> {
        self.apply(set)?;
        self.sync()
    }

    /// Applies the batch atomically (visible to readers, not yet durable: see `sync`).
    pub fn apply(&self, set: WriteSet) -> Result<()> {
        if set.is_empty() {
            return Ok(());
        }
        self.write(&[&set], None, 0)
    }

    /// flush + fsync: everything applied so far survives a crash or power loss.
    pub fn sync(&self) -> Result<()> {
        let sled_dir = self.dir.join("sled");
        self.with_db(|db| db.flush())
            .map_err(|e| io("cannot flush the store's database", &sled_dir, e))?;
        self.data_file
            .sync_data()
            .map_err(|e| io("cannot fsync", &sled_dir.join("db"), e))
    }
}

/// A log record's writes.
fn decode_logged(dir: &Path, r: &super::wal::Record) -> Result<WriteSet> {
    WriteSet::decode(&r.payload).ok_or_else(|| {
        Error::store(format!(
            "the write-ahead log in {} holds an unreadable record {}; restore the store from a backup",
            dir.join("wal").display(),
            r.seq
        ))
    })
}

impl Drop for Store {
    fn drop(&mut self) {
        // What is held back goes to sled, so the next open applies no log again (on a
        // failure, it does).
        let _ = self.flush_delta();
        if let Some(db) = self.db.get_mut() {
            let _ = db.flush();
            // A clean close leaves the snapshot sled writes at open complete, so the
            // next open reads no longer log than this one left.
            db.finish_snapshot();
        }
        let _ = self.data_file.sync_data();
    }
}

/// An iterator counted in `live` until dropped.
struct Counted<I> {
    inner: I,
    live: Arc<AtomicUsize>,
}

impl<I: Iterator> Iterator for Counted<I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        self.inner.next()
    }
}

impl<I: DoubleEndedIterator> DoubleEndedIterator for Counted<I> {
    fn next_back(&mut self) -> Option<I::Item> {
        self.inner.next_back()
    }
}

impl<I> Drop for Counted<I> {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store of a newer layout than this build's is refused before its log is applied;
    /// one of this build's layout opens.
    #[test]
    fn a_store_of_a_newer_layout_is_refused_by_name() {
        use super::super::schema::{SCHEMA, SCHEMA_VERSION};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let at = |version: u64| {
            let store = Store::open(&path, StoreOptions::default()).unwrap();
            let mut set = WriteSet::default();
            set.put(SCHEMA, &version.to_be_bytes());
            store.commit(set).unwrap();
        };
        at(SCHEMA_VERSION);
        assert!(Store::open(&path, StoreOptions::default()).is_ok());
        at(SCHEMA_VERSION + 1);
        let e = Store::open(&path, StoreOptions::default())
            .err()
            .expect("a newer layout is refused")
            .to_string();
        let newer = format!(
            "layout version {}, written by a newer onepoint",
            SCHEMA_VERSION + 1
        );
        assert!(e.contains(&newer), "{e}");
        assert!(e.contains(&path.display().to_string()), "{e}");
    }
}
