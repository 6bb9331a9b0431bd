//! The core handle: opens the store and runs the one writer that group-commits every
//! write. Callers hand it batches; the writer drains whatever is queued (up to
//! `MAX_GROUP` commands), applies them in one transaction as one atomic sled batch; a sync
//! thread makes applied batches durable with one flush + fsync, and only then answers each
//! caller.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::FixedOffset;
use parking_lot::{Condvar, Mutex};

use super::ledger::{self, Rules};
use super::schema::Meta;
use super::store::{Store, StoreOptions};
use super::tx::{Tx, load_meta};
use super::{Clock, Error, Keyed, Outcome, Rates, Result};

/// How many commands one group commit takes at most.
pub const MAX_GROUP: usize = 8192;

/// Keys written per `apply_batch` before the writer starts a new chunk (see `writer_loop`).
pub const CHUNK_WRITES: usize = 256;

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

/// Where a job's results go.
type Reply = Sender<Vec<Result<Outcome>>>;

struct Job {
    batch: Vec<Keyed>,
    reply: Reply,
}

pub(super) struct Shared {
    pub store: Store,
    pub opts: CoreOptions,
    /// The meta of the last durable batch (counts for `info`, totals for the points tab).
    pub meta: Mutex<Meta>,
    pub offset_changed: Condvar,
    /// Set when a sync failed: the store takes no more writes until reopened.
    pub failed: Mutex<Option<Error>>,
    /// Lowercased member names by id, for search (see `reads.rs`).
    pub names: Mutex<Vec<Box<str>>>,
    /// The reports' member scan, until the data moves.
    pub reports: super::reports::Cache,
}

impl Shared {
    pub fn rules(&self) -> Rules {
        Rules {
            rates: self.opts.rates,
            zone: self.opts.zone,
        }
    }
}

pub struct Core {
    pub(super) shared: Arc<Shared>,
    jobs: Option<Sender<Job>>,
    writer: Option<JoinHandle<()>>,
}

impl Core {
    pub fn open(dir: &Path, opts: CoreOptions) -> Result<Core> {
        Core::open_with_store(dir, opts, StoreOptions::default())
    }

    pub fn open_with_store(dir: &Path, opts: CoreOptions, so: StoreOptions) -> Result<Core> {
        let store = Store::open(dir, so)?;
        let mut opts = opts;
        opts.zone = store_zone(&store, opts.zone)?;
        migrate(&store, opts.zone)?;
        super::reports::counters::ensure(&store, opts.zone)?;
        let meta = load_meta(&store)?;
        let shared = Arc::new(Shared {
            store,
            opts,
            meta: Mutex::new(meta),
            offset_changed: Condvar::new(),
            failed: Mutex::new(None),
            names: Mutex::new(Vec::new()),
            reports: Default::default(),
        });
        let (tx, rx) = mpsc::channel::<Job>();
        let s = shared.clone();
        let writer = std::thread::Builder::new()
            .name("onepoint-writer".into())
            .spawn(move || writer_loop(&s, rx))
            .map_err(|e| Error::store(format!("cannot start the writer: {e}")))?;
        Ok(Core {
            shared,
            jobs: Some(tx),
            writer: Some(writer),
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
        let sent = self
            .jobs
            .as_ref()
            .map(|j| j.send(Job { batch, reply }).is_ok())
            .unwrap_or(false);
        if !sent {
            return (0..n)
                .map(|_| Err(Error::store("the writer has stopped")))
                .collect();
        }
        answer.recv().unwrap_or_else(|_| {
            (0..n)
                .map(|_| Err(Error::store("the writer stopped before answering")))
                .collect()
        })
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
        self.jobs.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// The store's business time zone: fixed when the store is created (from `wanted`, the
/// config's or a flag's) and kept in the store; a store from before it was kept adopts
/// `wanted` once. Every later open uses the stored zone whatever the caller asks for, so
/// two processes never settle different months and `check` never depends on the reader's
/// config; a differing request is ignored with a warning.
fn store_zone(store: &Store, wanted: FixedOffset) -> Result<FixedOffset> {
    use super::schema::{ZONE, decode_zone, encode_zone};
    if let Some(v) = store.get_val(ZONE)? {
        let zone = decode_zone(&v)?;
        if zone != wanted {
            tracing::warn!(
                "the store {} keeps business time zone {zone}; the configured {wanted} is ignored",
                store.dir().display()
            );
        }
        return Ok(zone);
    }
    let mut set = super::store::WriteSet::default();
    set.put(ZONE, &encode_zone(wanted));
    store.commit(set)?;
    Ok(wanted)
}

/// Brings an older store's layout up to `SCHEMA_VERSION`: version 2 added the `Q`
/// settlement totals, rebuilt here from the queues.
fn migrate(store: &Store, zone: FixedOffset) -> Result<()> {
    use super::schema::{PENDING, SCHEMA, SCHEMA_VERSION, encode};
    use super::store::WriteSet;
    use super::tx::Reader;
    let version = store
        .get_val(SCHEMA)?
        .map(|v| super::schema::read_u64(&v, 0))
        .unwrap_or(1);
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    let mut set = WriteSet::default();
    for (k, _) in store.range_raw(&[PENDING], &super::tx::prefix_end(&[PENDING]))? {
        set.remove(&k);
    }
    store.apply(set)?;
    let totals = super::billing::pending_from_queues(store, zone)?;
    let mut set = WriteSet::default();
    for (k, p) in totals {
        set.put(&k, &encode(&p));
        if set.len() >= CHUNK_WRITES {
            store.apply(std::mem::take(&mut set))?;
        }
    }
    set.put(SCHEMA, &SCHEMA_VERSION.to_be_bytes());
    store.commit(set)
}

/// Applies one chunk; on success `meta` becomes the chunk's counters.
fn apply_chunk(shared: &Shared, tx: Tx, meta: &mut Meta) -> Result<bool> {
    let (set, new_meta) = tx.into_write_set();
    if set.is_empty() {
        return Ok(false);
    }
    shared.store.apply(set)?;
    *meta = new_meta;
    Ok(true)
}

/// A batch applied to sled, waiting for the flush + fsync that makes it durable.
struct Applied {
    /// The counters after this batch (`None` when nothing was written).
    meta: Option<Meta>,
    replies: Vec<(Reply, Vec<Result<Outcome>>)>,
}

/// Applies groups of jobs; a second thread makes them durable and answers. While one batch
/// is being fsynced the next is already being applied, and every answer, even a refusal or
/// an idempotent replay of something not yet durable, leaves only after the sync that
/// covers everything applied before it.
fn writer_loop(shared: &Arc<Shared>, jobs: Receiver<Job>) {
    let rules = shared.rules();
    let (applied_tx, applied_rx) = mpsc::channel::<Applied>();
    let s = shared.clone();
    let syncer = std::thread::Builder::new()
        .name("onepoint-sync".into())
        .spawn(move || sync_loop(&s, applied_rx))
        .expect("start the sync thread");
    let mut meta = shared.meta.lock().clone();
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        let mut count = group[0].batch.len();
        while count < MAX_GROUP {
            match jobs.try_recv() {
                Ok(j) => {
                    count += j.batch.len();
                    group.push(j);
                }
                Err(_) => break,
            }
        }
        if let Some(e) = shared.failed.lock().clone() {
            for job in group {
                let n = job.batch.len();
                let _ = job.reply.send((0..n).map(|_| Err(e.clone())).collect());
            }
            continue;
        }
        // Apply in chunks of whole commands of about CHUNK_WRITES keys each: sled 0.34
        // grows huge tree nodes (and gigabytes of memory) from large `apply_batch`es. Each
        // chunk is atomic and carries its own counters; the sync thread makes the whole
        // group durable with one fsync before anyone is answered.
        let now = shared.opts.clock.now();
        let mut results: Vec<Vec<Result<Outcome>>> = Vec::with_capacity(group.len());
        let mut tx = Tx::new(&shared.store, meta.clone(), now, shared.opts.zone);
        let mut wrote = false;
        let mut failure: Option<Error> = None;
        for job in &group {
            let mut res = Vec::with_capacity(job.batch.len());
            for k in &job.batch {
                if let Some(e) = &failure {
                    res.push(Err(e.clone()));
                    continue;
                }
                res.push(ledger::apply(&mut tx, &rules, k));
                if tx.writes() >= CHUNK_WRITES {
                    let full = std::mem::replace(
                        &mut tx,
                        Tx::new(&shared.store, meta.clone(), now, shared.opts.zone),
                    );
                    match apply_chunk(shared, full, &mut meta) {
                        Ok(w) => wrote |= w,
                        Err(e) => failure = Some(e),
                    }
                    tx = Tx::new(&shared.store, meta.clone(), now, shared.opts.zone);
                }
            }
            results.push(res);
        }
        if failure.is_none() {
            match apply_chunk(shared, tx, &mut meta) {
                Ok(w) => wrote |= w,
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = failure {
            // Commands in chunks that did apply are durable after the next sync, but their
            // callers are told the group failed: safe (they retry with the same keys).
            tracing::error!("applying a batch failed: {e}");
            if let Ok(m) = load_meta(&shared.store) {
                meta = m;
            }
            results = group
                .iter()
                .map(|j| j.batch.iter().map(|_| Err(e.clone())).collect())
                .collect();
        }
        let replies = group.into_iter().map(|j| j.reply).zip(results).collect();
        let _ = applied_tx.send(Applied {
            meta: wrote.then(|| meta.clone()),
            replies,
        });
    }
    drop(applied_tx);
    let _ = syncer.join();
}

fn sync_loop(shared: &Shared, applied: Receiver<Applied>) {
    while let Ok(first) = applied.recv() {
        let mut group = vec![first];
        while let Ok(more) = applied.try_recv() {
            group.push(more);
        }
        // Groups are synced in order, so when none of these wrote anything (refusals,
        // idempotent replays) everything applied before them is already durable.
        let wrote = group.iter().any(|a| a.meta.is_some());
        let synced = if wrote { shared.store.sync() } else { Ok(()) };
        match synced {
            Ok(()) => {
                if let Some(m) = group.iter().rev().find_map(|a| a.meta.clone()) {
                    *shared.meta.lock() = m;
                }
                shared.offset_changed.notify_all();
                for a in group {
                    for (reply, res) in a.replies {
                        let _ = reply.send(res);
                    }
                }
            }
            Err(e) => {
                // What was applied may or may not be on disk: stop taking writes rather
                // than build on it; a restart recovers from what sled has durably.
                tracing::error!("sync failed, refusing further writes: {e}");
                *shared.failed.lock() = Some(e.clone());
                for a in group {
                    for (reply, res) in a.replies {
                        let _ = reply.send(res.into_iter().map(|_| Err(e.clone())).collect());
                    }
                }
            }
        }
    }
}
