//! The core handle: opens the store and runs the one writer that group-commits every
//! write, durable before visible. Callers hand it batches; a pipeline of threads answers
//! (the writer, log and apply threads are in `pipeline.rs`):
//! - the writer drains whatever is queued (up to `MAX_GROUP` commands) and runs the rules
//!   in one transaction, sealing the accepted writes into log records of about
//!   `CHUNK_WRITES` keys (whole commands each);
//! - the log thread appends every queued group's records to the write-ahead log with one
//!   fdatasync, hands their answers to the answer thread, which wakes each caller, and
//!   hands the records on;
//! - the apply thread applies them to sled (from here they are visible), while the log
//!   thread syncs the next groups, at most `APPLY_LAG` syncs behind it; a read first waits
//!   for sled to have applied what was durable when it started (`Shared::settle`), so it
//!   sees every write answered before it;
//! - the checkpoint thread flushes sled every `CHECKPOINT_EVERY` so old log segments go, and
//!   the reclaimer keeps sled's file compact (both in `upkeep.rs`).
//!
//! So no reader sees a write a crash can take back, and sled's own fsync is off the
//! acknowledgement path. After a failed write the store refuses writes; when the disk was
//! full, each later write (or a probe every `RECOVER_PROBE_EVERY`) retries once nothing is
//! in flight, and writes resume once space is freed, with no reopen (`Applier::recover`).
//! The writer reads what is logged but not yet applied through `Pending`, so it never
//! waits for the other threads.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::FixedOffset;
use parking_lot::{Condvar, Mutex};

use super::ledger::Rules;
pub use super::pipeline::{APPLY_KEYS, APPLY_LAG, CHUNK_WRITES, MAX_GROUP, STAGE_NAMES};
use super::pipeline::{Answered, Job, Reply, StageClock, failed_all, writer_loop};
use super::schema::Meta;
use super::store::{Store, StoreOptions};
use super::tx::load_meta;
pub use super::upkeep::CHECKPOINT_EVERY;
use super::upkeep::{checkpoint_loop, reclaim_loop};
use super::{Clock, Error, Keyed, Outcome, Rates, Result};

#[derive(Debug, Clone)]
pub struct CoreOptions {
    pub rates: Rates,
    pub zone: FixedOffset,
    pub clock: Clock,
}

impl Default for CoreOptions {
    fn default() -> CoreOptions {
        CoreOptions {
            rates: Rates::default(),
            zone: FixedOffset::east_opt(0).expect("UTC"),
            clock: Clock::System,
        }
    }
}

/// What `Core::backup` copied, and the copy's `check`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupReport {
    pub dir: String,
    pub files: u64,
    pub bytes: u64,
    pub check: super::CheckReport,
}

pub(super) struct Shared {
    pub store: Store,
    pub opts: CoreOptions,
    /// The meta of the last durable batch (counts for `info`, totals for the points tab).
    pub meta: Mutex<Meta>,
    pub offset_changed: Condvar,
    /// Set when a write, a sync or a checkpoint failed: the store takes no more writes
    /// until it recovers (a full disk, once space is freed: see `recover`) or is reopened.
    pub failed: Mutex<Option<Error>>,
    /// The last log record applied to sled (visible to readers).
    pub applied: AtomicU64,
    /// The last log record made durable (fsynced). Writes are answered from here, before
    /// sled has applied them; a read first waits until `applied` reaches what was durable
    /// when it started (`settle`), so it sees every write answered before it.
    pub durable: AtomicU64,
    /// Set when applying a durable record to sled failed: reads that wait for it are
    /// refused with this until the store recovers (`Applier::recover`) or is reopened.
    pub apply_failed: Mutex<Option<Error>>,
    /// Set to stop the checkpoint thread.
    pub closing: Mutex<bool>,
    pub closing_changed: Condvar,
    /// Lowercased member names by id, for search (see `names/`).
    pub names: super::names::Names,
    /// The reports' member scan, until the data moves.
    pub reports: super::reports::Cache,
    /// Pages the reclaimer has moved out of sled's garbage segments (see `reclaim_loop`).
    pub reclaimed: AtomicU64,
    /// Where the writes' time went, stage by stage.
    pub stages: StageClock,
}

impl Shared {
    pub fn rules(&self) -> Rules {
        Rules {
            rates: self.opts.rates,
            zone: self.opts.zone,
        }
    }

    /// The read barrier: returns once sled has applied every log record that was durable
    /// when it was called, so a read after it sees every write answered before the call
    /// (as Raft's read index does). Writes are answered once durable, while sled applies
    /// them on another thread, at most `APPLY_LAG` syncs behind; nothing is visible before
    /// it is durable, since only durable records are applied. Refused if applying failed
    /// (those writes are durable in the log; the store applies them when it recovers).
    pub fn settle(&self) -> Result<()> {
        let want = self.durable.load(Ordering::Acquire);
        if self.applied.load(Ordering::Acquire) >= want {
            return Ok(());
        }
        // `applied` moves, and `apply_failed` is set, before the apply thread takes this
        // lock to notify: a check under it cannot miss the wake-up.
        let mut meta = self.meta.lock();
        while self.applied.load(Ordering::Acquire) < want {
            if let Some(e) = self.apply_failed.lock().clone() {
                return Err(e);
            }
            self.offset_changed
                .wait_for(&mut meta, Duration::from_millis(100));
        }
        Ok(())
    }
}

pub struct Core {
    pub(super) shared: Arc<Shared>,
    jobs: Option<Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    checkpointer: Option<JoinHandle<()>>,
    reclaimer: Option<JoinHandle<()>>,
    indexer: Option<JoinHandle<()>>,
}

impl Core {
    pub fn open(dir: &Path, opts: CoreOptions) -> Result<Core> {
        Core::open_with_store(dir, opts, StoreOptions::default())
    }

    pub fn open_with_store(dir: &Path, opts: CoreOptions, so: StoreOptions) -> Result<Core> {
        // The checkpoint thread flushes what the open applied again from the log.
        let so = StoreOptions {
            defer_replay_checkpoint: true,
            ..so
        };
        let store = Store::open(dir, so)?;
        let mut opts = opts;
        opts.zone = super::migrate::store_zone(&store, opts.zone)?;
        super::migrate::migrate(&store, opts.zone)?;
        super::reports::counters::ensure(&store, opts.zone)?;
        super::sort_index::ensure(&store)?;
        let meta = load_meta(&store)?;
        let applied = store.applied_seq()?;
        let shared = Arc::new(Shared {
            store,
            opts,
            meta: Mutex::new(meta),
            offset_changed: Condvar::new(),
            failed: Mutex::new(None),
            names: Default::default(),
            applied: AtomicU64::new(applied),
            durable: AtomicU64::new(applied),
            apply_failed: Mutex::new(None),
            closing: Mutex::new(false),
            closing_changed: Condvar::new(),
            reports: Default::default(),
            reclaimed: AtomicU64::new(0),
            stages: StageClock::default(),
        });
        let (tx, rx) = mpsc::channel::<Job>();
        let s = shared.clone();
        let writer = std::thread::Builder::new()
            .name("onepoint-writer".into())
            .spawn(move || writer_loop(&s, rx))
            .map_err(|e| Error::store(format!("cannot start the writer: {e}")))?;
        let s = shared.clone();
        let checkpointer = std::thread::Builder::new()
            .name("onepoint-checkpoint".into())
            .spawn(move || checkpoint_loop(&s))
            .map_err(|e| Error::store(format!("cannot start the checkpointer: {e}")))?;
        let s = shared.clone();
        let reclaimer = std::thread::Builder::new()
            .name("onepoint-reclaim".into())
            .spawn(move || reclaim_loop(&s))
            .map_err(|e| Error::store(format!("cannot start the reclaimer: {e}")))?;
        // The indexes kept in memory, built now rather than on the first read that needs
        // them (a sort by balance or last activity); opening does not wait for it.
        let s = shared.clone();
        let indexer = std::thread::Builder::new()
            .name("onepoint-index".into())
            .spawn(move || {
                if let Err(e) = s.store.build_memory() {
                    tracing::warn!("cannot build the balance and activity indexes yet: {e}");
                }
            })
            .map_err(|e| Error::store(format!("cannot start the index builder: {e}")))?;
        Ok(Core {
            shared,
            jobs: Some(tx),
            writer: Some(writer),
            checkpointer: Some(checkpointer),
            reclaimer: Some(reclaimer),
            indexer: Some(indexer),
        })
    }

    pub fn dir(&self) -> &Path {
        self.shared.store.dir()
    }

    pub fn options(&self) -> &CoreOptions {
        &self.shared.opts
    }

    /// Applies the writes; returns once they are durable, one result per command, in order.
    pub fn execute(&self, batch: Vec<Keyed>) -> Vec<Result<Outcome>> {
        let n = batch.len();
        if n == 0 {
            return Vec::new();
        }
        let (reply, answer) = mpsc::channel();
        let job = Job {
            queued: std::time::Instant::now(),
            batch,
            reply: Reply::Wait(reply),
        };
        if self.enqueue(job).is_some() {
            return stopped(n, "the writer has stopped");
        }
        answer
            .recv()
            .unwrap_or_else(|_| stopped(n, "the writer stopped before answering"))
    }

    /// Hands the writes to the writer and returns at once; `done` is called with their
    /// results, one per command, in order, once they are durable, as `execute` returns
    /// them. It runs on one of the pipeline's threads, so it must be quick (waking an async
    /// task: the server's writes wait on no thread of their own). If the process stops
    /// first it is dropped uncalled, which a channel behind it tells its receiver.
    pub fn submit(&self, batch: Vec<Keyed>, done: Answered) {
        let n = batch.len();
        if n == 0 {
            return done(Vec::new());
        }
        if let Some(job) = self.enqueue(Job {
            queued: std::time::Instant::now(),
            batch,
            reply: Reply::Call(done),
        }) {
            job.reply.send(stopped(n, "the writer has stopped"));
        }
    }

    /// Queues a job for the writer; gives it back if the writer has stopped.
    fn enqueue(&self, job: Job) -> Option<Job> {
        match &self.jobs {
            Some(jobs) => jobs.send(job).err().map(|e| e.0),
            None => Some(job),
        }
    }

    /// Bytes on disk by file, live keys and values by table: (table, entries, key bytes,
    /// value bytes), and sled's leaves (the bench's compactness figures; the last two read
    /// the whole store).
    #[allow(clippy::type_complexity)]
    pub fn store_bytes(&self) -> Result<(Vec<(String, u64)>, Vec<(u8, u64, u64, u64)>, u64)> {
        Ok((
            self.shared.store.disk_bytes(),
            self.shared.store.live_bytes()?,
            self.shared.store.leaves()?,
        ))
    }

    /// Has sled write a snapshot now (what the checkpoint thread does on its own; see
    /// `Store::snapshot`): false when readers kept it from reopening.
    pub fn snapshot(&self) -> Result<bool> {
        self.shared.store.snapshot()
    }

    /// Copies the store to `dest` (a new or empty folder) as it is at one moment, then opens
    /// the copy and checks it (`Store::backup`): a backup that is known to open and to hold
    /// every invariant, or an error.
    pub fn backup(&self, dest: &Path) -> Result<BackupReport> {
        self.shared.settle()?;
        let (files, bytes) = self.shared.store.backup(dest)?;
        let copy = Core::open(dest, self.shared.opts.clone())?;
        let check = copy.check()?;
        Ok(BackupReport {
            dir: dest.display().to_string(),
            files,
            bytes,
            check,
        })
    }

    /// sled's log: the bytes of its segments in use and the live bytes in them (an
    /// estimate; their ratio bounds when the reclaimer's debt thread works, see `upkeep.rs`).
    pub fn log_space(&self) -> (u64, u64) {
        self.shared.store.log_space()
    }

    /// sled's cache capacity, bytes, as the store was opened with it.
    pub fn cache_capacity(&self) -> u64 {
        self.shared.store.cache_capacity()
    }

    /// sled's pages in memory, their bytes, and what its cache counts (`Store::resident`).
    pub fn sled_resident(&self) -> (u64, u64, u64) {
        self.shared.store.resident()
    }

    /// The in-memory indexes' keys and the bytes they take (`PackedSet::heap_bytes`).
    pub fn memory_index_size(&self) -> (usize, usize) {
        self.shared.store.memory_index_size()
    }

    /// sled's log segments by state, and the pages waiting to be reclaimed
    /// (`reclaim_backlog`): where the log's space goes, for the benchmark.
    pub fn segment_states(&self) -> Vec<(&'static str, u64)> {
        let mut out = self.shared.store.segment_states();
        out.push((
            "reclaim_backlog",
            self.shared.store.reclaim_backlog() as u64,
        ));
        out
    }

    /// Pages moved so far by the thread that keeps sled's file compact (`reclaim_loop`).
    pub fn reclaimed_pages(&self) -> u64 {
        self.shared.reclaimed.load(Ordering::Relaxed)
    }

    /// Where the answered writes' time went so far: per stage (`STAGE_NAMES`), the
    /// microseconds summed over commands, and how many commands that covers.
    pub fn pipeline_stages(&self) -> ([u64; 6], u64) {
        self.shared.stages.read()
    }

    /// The last durable event offset.
    pub fn last_offset(&self) -> u64 {
        self.shared.meta.lock().last_offset
    }

    /// Blocks until an event after `after` is durable or `timeout` passes.
    pub fn wait_events(&self, after: u64, timeout: Duration) -> u64 {
        let deadline = std::time::Instant::now() + timeout;
        let mut meta = self.shared.meta.lock();
        while meta.last_offset <= after {
            if self
                .shared
                .offset_changed
                .wait_until(&mut meta, deadline)
                .timed_out()
            {
                break;
            }
        }
        meta.last_offset
    }

    pub(super) fn meta(&self) -> Meta {
        self.shared.meta.lock().clone()
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        self.shared.names.stop_loader();
        if let Some(i) = self.indexer.take() {
            let _ = i.join();
        }
        self.jobs.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        *self.shared.closing.lock() = true;
        self.shared.closing_changed.notify_all();
        if let Some(r) = self.reclaimer.take() {
            let _ = r.join();
        }
        if let Some(c) = self.checkpointer.take() {
            let _ = c.join();
        }
    }
}

/// The same error for each of `n` commands the writer could not take or answer.
fn stopped(n: usize, why: &str) -> Vec<Result<Outcome>> {
    failed_all(n, &Error::store(why))
}
