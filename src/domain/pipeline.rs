//! The write pipeline behind `Core::execute` (see `core.rs`): the writer runs the rules on
//! groups of queued jobs and seals their writes into log records; the log thread makes
//! every queued group's records durable with one append and one fdatasync, then has the
//! answer thread wake their callers and hands the records to the apply thread, which
//! writes them to sled, where readers see them. An answer waits for the fsync, not for
//! sled: a read waits instead, for sled to have applied what was durable when it started
//! (`Shared::settle`), so it still sees every write answered before it. The apply thread
//! runs at most `APPLY_LAG` syncs behind the log (the log thread waits for it past that).
//! Each stage runs on its own thread, so one group syncs while the ones before it are
//! applied, and the apply thread (the one stage that cannot be split) spends nothing on
//! waking callers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use super::core::Shared;
use super::ledger;
use super::schema::Meta;
use super::store::WriteSet;
use super::tx::{Pending, Tx, load_meta};
use super::upkeep::ApplyDebt;
use super::wal::is_disk_full;
use super::{Error, Keyed, Outcome, Result};

/// How many commands one group commit takes at most.
pub const MAX_GROUP: usize = 8192;

/// Keys a log record holds before the writer starts a new one (see `writer_loop`).
pub const CHUNK_WRITES: usize = 256;

/// Keys the apply thread puts in one sled batch at most, whole log records each (one
/// record may pass it): the records of a group, and of the groups synced with it, go
/// together, so counters and the meta that many commands write are written once.
pub const APPLY_KEYS: usize = 2048;

/// How many log syncs the apply thread may run behind the log before the log thread waits
/// for it: bounds how long a read waits for sled (`Shared::settle`) and what the writer
/// keeps pending in memory.
pub const APPLY_LAG: usize = 1;

/// How often, while writes are refused for a full disk and none comes, the writer checks
/// whether space was freed (so reads, which sled may refuse too, come back on their own).
const RECOVER_PROBE_EVERY: Duration = Duration::from_millis(1000);

/// Where a job's results go: a caller blocked on a channel (`Core::execute`), or a
/// function called with them on the pipeline's thread (`Core::submit`: an async caller's
/// wake-up, which must be quick).
pub(super) enum Reply {
    Wait(Sender<Vec<Result<Outcome>>>),
    Call(Answered),
}

/// What `Core::submit` calls with a job's results.
pub type Answered = Box<dyn FnOnce(Vec<Result<Outcome>>) + Send>;

/// The same error for each of a job's `n` commands (a job refused or failed whole).
pub(super) fn failed_all(n: usize, e: &Error) -> Vec<Result<Outcome>> {
    (0..n).map(|_| Err(e.clone())).collect()
}

impl Reply {
    pub(super) fn send(self, results: Vec<Result<Outcome>>) {
        match self {
            // A caller that stopped waiting has nothing to be told.
            Reply::Wait(s) => {
                let _ = s.send(results);
            }
            Reply::Call(f) => f(results),
        }
    }
}

pub(super) struct Job {
    pub batch: Vec<Keyed>,
    pub reply: Reply,
    /// When it was queued for the writer.
    pub queued: Instant,
}

/// Where a write's time goes on its way through the pipeline, summed over every command
/// answered (microseconds times commands): waiting for the writer, the writer's pass over
/// its group, waiting for the log thread, and the append and sync, which is when it is
/// answered; then, after its answer, waiting for the apply thread, and the apply (what a
/// read just after it may wait for). `Core::pipeline_stages` reads it; the ingest
/// benchmark reports it per command, which tells which stage bounds a run.
#[derive(Default)]
pub struct StageClock {
    sums: [AtomicU64; STAGES],
    commands: AtomicU64,
}

/// The stages `StageClock` times, in order.
pub const STAGE_NAMES: [&str; STAGES] = [
    "queued",
    "writer",
    "log_wait",
    "log_sync",
    "apply_wait",
    "apply",
];
const STAGES: usize = 6;

impl StageClock {
    /// The sums so far and the number of commands they cover.
    pub fn read(&self) -> ([u64; STAGES], u64) {
        let sums = std::array::from_fn(|i| self.sums[i].load(Ordering::Relaxed));
        (sums, self.commands.load(Ordering::Relaxed))
    }

    /// A group answered (durable): the stages up to its sync.
    fn add_answered(&self, group: &Group) {
        let t = &group.times;
        let n = group.commands;
        let each = [
            us(t.picked, t.written),
            us(t.written, t.log_start),
            us(t.log_start, t.synced),
        ];
        self.sums[0].fetch_add(group.queued_us, Ordering::Relaxed);
        for (i, d) in each.into_iter().enumerate() {
            self.sums[i + 1].fetch_add(d * n, Ordering::Relaxed);
        }
        self.commands.fetch_add(n, Ordering::Relaxed);
    }

    /// A group applied: the stages after its answer (the wait for the apply thread, the
    /// apply), which a read that waits for it (`Shared::settle`) may wait for.
    fn add_applied(&self, group: &Group, applied: Instant) {
        let t = &group.times;
        let n = group.commands;
        self.sums[4].fetch_add(us(t.synced, t.apply_start) * n, Ordering::Relaxed);
        self.sums[5].fetch_add(us(t.apply_start, applied) * n, Ordering::Relaxed);
    }
}

/// Microseconds from `a` to `b`.
fn us(a: Instant, b: Instant) -> u64 {
    b.saturating_duration_since(a).as_micros() as u64
}

/// When a group reached each stage.
struct Times {
    picked: Instant,
    written: Instant,
    log_start: Instant,
    synced: Instant,
    apply_start: Instant,
}

impl Times {
    fn at(t: Instant) -> Times {
        Times {
            picked: t,
            written: t,
            log_start: t,
            synced: t,
            apply_start: t,
        }
    }
}

/// One log record: a chunk of whole commands' writes, with the counters after it.
struct Chunk {
    seq: u64,
    /// Shared with the writer's `Pending` until sled has applied it.
    set: Arc<WriteSet>,
    meta: Meta,
}

/// A group of jobs on its way through the log and apply threads.
struct Group {
    times: Times,
    /// Its commands, and the time they waited for the writer, summed (microseconds).
    commands: u64,
    queued_us: u64,
    chunks: Vec<Chunk>,
    replies: Vec<(Reply, Vec<Result<Outcome>>)>,
    /// Set on an empty group the writer sends after a failure: once every group before it
    /// is applied, the apply thread tries to make the store take writes again.
    recover: Option<Sender<Result<()>>>,
}

/// Runs the rules on groups of jobs and hands their records to the log thread. Every
/// answer, even a refusal or an idempotent replay of something not yet durable, goes
/// through the log thread in order, so it leaves only once everything accepted before it
/// is durable (and a read after it waits until sled has applied that: `Shared::settle`).
pub(super) fn writer_loop(shared: &Arc<Shared>, jobs: Receiver<Job>) {
    let rules = shared.rules();
    let (log_tx, log_rx) = mpsc::channel::<Group>();
    let s = shared.clone();
    let logger = std::thread::Builder::new()
        .name("onepoint-log".into())
        .spawn(move || log_loop(&s, log_rx))
        .expect("start the log thread");
    let mut meta = shared.meta.lock().clone();
    let mut next_seq = shared.applied.load(Ordering::Acquire) + 1;
    let mut pending = Pending::default();
    loop {
        let first = match jobs.recv_timeout(RECOVER_PROBE_EVERY) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // After a failure, each write (or, with none coming, each probe) retries: on a
        // full disk that has room again, the store takes writes from where it is durable.
        let failed = shared.failed.lock().clone();
        let failed = failed.or_else(|| shared.store.engine_error());
        let failed = match failed {
            Some(e) if is_disk_full(&e) => match recover(&log_tx) {
                Ok(()) => {
                    meta = shared.meta.lock().clone();
                    next_seq = shared.applied.load(Ordering::Acquire) + 1;
                    pending.clear();
                    None
                }
                Err(e) => Some(e),
            },
            failed => failed,
        };
        let Some(first) = first else { continue };
        let picked = Instant::now();
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
        if let Some(e) = failed {
            for job in group {
                let n = job.batch.len();
                job.reply.send(failed_all(n, &e));
            }
            pending.clear();
            continue;
        }
        pending.prune(shared.applied.load(Ordering::Acquire));
        // Seal in chunks of whole commands of about CHUNK_WRITES keys each: one log record
        // each, carrying its own counters. The apply thread writes several of them to sled
        // as one batch of at most about APPLY_KEYS keys (bounded: sled 0.34 grew huge tree
        // nodes, and gigabytes of memory, from unbounded `apply_batch`es).
        let now = shared.opts.clock.now();
        let mut results: Vec<Vec<Result<Outcome>>> = Vec::with_capacity(group.len());
        let mut chunks = Vec::new();
        let mut tx = Tx::new(
            &shared.store,
            &mut pending,
            meta.clone(),
            now,
            shared.opts.zone,
        );
        for job in &group {
            let mut res = Vec::with_capacity(job.batch.len());
            for k in &job.batch {
                res.push(ledger::apply(&mut tx, &rules, k));
                if tx.writes() >= CHUNK_WRITES
                    && let Some((set, m)) = tx.seal(next_seq)
                {
                    chunks.push(Chunk {
                        seq: next_seq,
                        set,
                        meta: m,
                    });
                    next_seq += 1;
                }
            }
            results.push(res);
        }
        if let Some((set, m)) = tx.seal(next_seq) {
            chunks.push(Chunk {
                seq: next_seq,
                set,
                meta: m,
            });
            next_seq += 1;
        }
        if let Some(last) = chunks.last() {
            meta = last.meta.clone();
        }
        let commands = count as u64;
        let queued_us = (group.iter())
            .map(|j| {
                let waited = picked.saturating_duration_since(j.queued).as_micros() as u64;
                waited * j.batch.len() as u64
            })
            .sum();
        let replies = group.into_iter().map(|j| j.reply).zip(results).collect();
        let times = Times {
            written: Instant::now(),
            ..Times::at(picked)
        };
        let _ = log_tx.send(Group {
            times,
            commands,
            queued_us,
            chunks,
            replies,
            recover: None,
        });
    }
    drop(log_tx);
    let _ = logger.join();
}

/// Has the apply thread, once every group sent before is answered (nothing is in flight),
/// make the store take writes again after a full disk (`Store::recover`): refused, and
/// nothing changed, while the disk is still full.
fn recover(log_tx: &Sender<Group>) -> Result<()> {
    let (answer, answered) = mpsc::channel();
    let barrier = Group {
        times: Times::at(Instant::now()),
        commands: 0,
        queued_us: 0,
        chunks: Vec::new(),
        replies: Vec::new(),
        recover: Some(answer),
    };
    if log_tx.send(barrier).is_err() {
        return Err(Error::store("the writer has stopped"));
    }
    answered
        .recv()
        .unwrap_or_else(|_| Err(Error::store("the writer stopped before answering")))
}

/// Makes groups durable (every queued group's records, one append and one fdatasync),
/// answers them (through the answer thread), then hands them to the apply thread: group N
/// is applied while group N+1 syncs (the two run on the two cores), and nothing is applied
/// before its own sync. Past `APPLY_LAG` syncs waiting to be applied, it waits for the
/// apply thread.
fn log_loop(shared: &Arc<Shared>, groups: Receiver<Group>) {
    let (answers, to_answer) = mpsc::channel::<Vec<Answer>>();
    let answerer = std::thread::Builder::new()
        .name("onepoint-answer".into())
        .spawn(move || answer_loop(to_answer))
        .expect("start the answer thread");
    let (apply_tx, apply_rx) = mpsc::sync_channel::<ToApply>(APPLY_LAG);
    let s = shared.clone();
    let applier = std::thread::Builder::new()
        .name("onepoint-apply".into())
        .spawn(move || apply_loop(&s, apply_rx))
        .expect("start the apply thread");
    let mut buf = Vec::new();
    let mut payload = Vec::new();
    while let Ok(first) = groups.recv() {
        let mut batch = vec![first];
        while let Ok(more) = groups.try_recv() {
            batch.push(more);
        }
        if let Some(e) = shared.failed.lock().clone() {
            refuse(&answers, &apply_tx, batch, e);
            continue;
        }
        let log_start = Instant::now();
        for g in &mut batch {
            g.times.log_start = log_start;
        }
        buf.clear();
        let mut seqs: Option<(u64, u64)> = None;
        for c in batch.iter().flat_map(|g| &g.chunks) {
            payload.clear();
            c.set.encode(&mut payload);
            super::wal::encode_record(c.seq, &payload, &mut buf);
            seqs = Some((seqs.map_or(c.seq, |s| s.0), c.seq));
        }
        let logged = match seqs {
            Some((first, last)) => shared.store.log(first, last, &buf),
            // Nothing new: everything before is logged already (groups go in order).
            None => Ok(()),
        };
        let synced = Instant::now();
        for g in &mut batch {
            g.times.synced = synced;
        }
        match logged {
            Ok(()) => {
                // Durable: a read from now on waits until sled has applied it, so its
                // callers may be told.
                if let Some((_, last)) = seqs {
                    shared.durable.store(last, Ordering::Release);
                }
                answer(shared, &answers, &mut batch);
                if apply_tx.send(ToApply::Durable(batch)).is_err() {
                    break;
                }
            }
            Err(e) => {
                // Nothing of these is on disk (the log was cut back) and nothing of them is
                // visible; stop taking writes rather than build on them (the writer has).
                tracing::error!("the log sync failed, refusing further writes: {e}");
                *shared.failed.lock() = Some(e.clone());
                refuse(&answers, &apply_tx, batch, e);
            }
        }
    }
    drop(apply_tx);
    let _ = applier.join();
    drop(answers);
    let _ = answerer.join();
}

/// Hands durable groups' answers to the answer thread, in order.
fn answer(shared: &Shared, answers: &Sender<Vec<Answer>>, batch: &mut [Group]) {
    let mut out = Vec::new();
    for g in batch.iter_mut() {
        shared.stages.add_answered(g);
        out.append(&mut g.replies);
    }
    if !out.is_empty() {
        let _ = answers.send(out);
    }
}

/// Answers groups the log refused with its error (through the answer thread, so answers
/// keep their order), and hands them on to the apply thread for the recovery barriers
/// among them, which it runs once everything before is applied.
fn refuse(answers: &Sender<Vec<Answer>>, apply: &SyncSender<ToApply>, batch: Vec<Group>, e: Error) {
    let mut out = Vec::new();
    let mut barriers = Vec::new();
    for g in batch {
        for (reply, res) in g.replies {
            out.push((reply, failed_all(res.len(), &e)));
        }
        barriers.extend(g.recover);
    }
    if !out.is_empty() {
        let _ = answers.send(out);
    }
    if !barriers.is_empty() {
        let _ = apply.send(ToApply::Recover(barriers));
    }
}

/// What the log thread hands the apply thread, in log order.
enum ToApply {
    /// Durable groups, answered already.
    Durable(Vec<Group>),
    /// The recovery barriers among groups the log refused (answered with its error):
    /// each runs once everything before it is applied.
    Recover(Vec<Sender<Result<()>>>),
}

/// Applies durable groups in the order they were logged, and runs recovery barriers.
fn apply_loop(shared: &Shared, work: Receiver<ToApply>) {
    let mut applier = Applier {
        debt: ApplyDebt::default(),
    };
    let mut next = None;
    while let Some(w) = next.take().or_else(|| work.recv().ok()) {
        match w {
            ToApply::Durable(mut batch) => {
                // Every durable group waiting goes into one apply: sled's batches are
                // cheaper per write the more of a leaf they change.
                while let Ok(more) = work.try_recv() {
                    match more {
                        ToApply::Durable(groups) => batch.extend(groups),
                        barriers => {
                            next = Some(barriers);
                            break;
                        }
                    }
                }
                applier.apply_all(shared, batch);
            }
            ToApply::Recover(barriers) => {
                for answer in barriers {
                    let _ = answer.send(applier.recover(shared));
                }
            }
        }
    }
}

/// A caller's answer: its commands' results, sent once they are durable.
type Answer = (Reply, Vec<Result<Outcome>>);

/// Wakes the callers of durable groups, off the log thread: each answer wakes a thread (a
/// futex call).
fn answer_loop(answers: Receiver<Vec<Answer>>) {
    while let Ok(batch) = answers.recv() {
        for (reply, res) in batch {
            reply.send(res);
        }
    }
}

/// Applies durable groups to sled, in order; from there readers see them. Once an apply
/// failed (`Shared::apply_failed`), nothing after it is applied until `recover`.
struct Applier {
    /// Its share of the reclaimer's debt, paid after each pass (`ApplyDebt`).
    debt: ApplyDebt,
}

impl Applier {
    /// With nothing in flight: after a failure on a full disk that has room again, sled
    /// and the log are reopened from disk, what the log holds past sled is applied, and
    /// writes resume from there, with the counters of what is durable (`Store::recover`).
    fn recover(&self, shared: &Shared) -> Result<()> {
        let last = shared.store.recover()?;
        let meta = load_meta(&shared.store)?;
        shared.durable.fetch_max(last, Ordering::AcqRel);
        shared.applied.store(last, Ordering::Release);
        *shared.apply_failed.lock() = None;
        *shared.meta.lock() = meta;
        shared.offset_changed.notify_all();
        *shared.failed.lock() = None;
        tracing::info!(
            "the store {} takes writes again (the disk has room)",
            shared.store.dir().display()
        );
        Ok(())
    }

    /// Applies the groups one or more log syncs made durable, in order; a recovery barrier
    /// among them runs once every group before it is applied.
    fn apply_all(&mut self, shared: &Shared, groups: Vec<Group>) {
        let mut part = Vec::with_capacity(groups.len());
        for mut g in groups {
            match g.recover.take() {
                Some(answer) => {
                    self.apply(shared, std::mem::take(&mut part));
                    let _ = answer.send(self.recover(shared));
                }
                None => part.push(g),
            }
        }
        self.apply(shared, part);
    }

    /// Applies the groups' records to sled in batches of whole records of about
    /// `APPLY_KEYS` keys (`Store::apply_logged_many`); reads waiting for them are woken.
    fn apply(&mut self, shared: &Shared, mut groups: Vec<Group>) {
        if groups.is_empty() {
            return;
        }
        let apply_start = Instant::now();
        for g in &mut groups {
            g.times.apply_start = apply_start;
        }
        if shared.apply_failed.lock().is_some() {
            // Durable and answered; recovering or reopening applies them from the log.
            return;
        }
        let chunks: Vec<&Chunk> = groups.iter().flat_map(|g| &g.chunks).collect();
        let mut done = 0;
        let mut failure = None;
        while done < chunks.len() {
            let mut end = done + 1;
            let mut keys = chunks[done].set.len();
            while end < chunks.len() && keys + chunks[end].set.len() <= APPLY_KEYS {
                keys += chunks[end].set.len();
                end += 1;
            }
            let sets: Vec<&WriteSet> = chunks[done..end].iter().map(|c| &*c.set).collect();
            let last = chunks[end - 1];
            match shared.store.apply_logged_many(last.seq, &sets) {
                Ok(()) => {
                    // The counters, then `applied`, under the lock a read waiting for
                    // these checks `applied` under (`Shared::settle`): it is woken now, not
                    // at the pass's end, and never pairs the records with older counters.
                    let mut meta = shared.meta.lock();
                    meta.clone_from(&last.meta);
                    shared.applied.store(last.seq, Ordering::Release);
                    shared.offset_changed.notify_all();
                    drop(meta);
                    done = end;
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failure {
            // A group durable in the log (and answered) but only partly applied: applying
            // anything after it would leave a hole, so stop; recovering (a full disk, once
            // freed: `recover`) or reopening applies the rest from the log. Until then the
            // store takes no writes, and reads that would wait for these are refused (woken
            // under the lock they wait under: `Shared::settle`).
            tracing::error!("applying a logged batch failed, refusing further writes: {e}");
            *shared.failed.lock() = Some(e.clone());
            let meta = shared.meta.lock();
            *shared.apply_failed.lock() = Some(e);
            shared.offset_changed.notify_all();
            drop(meta);
            return;
        }
        let applied = Instant::now();
        for g in &groups {
            shared.stages.add_applied(g, applied);
        }
        self.debt.pay(shared, applied.duration_since(apply_start));
    }
}
