//! Opening sled and reading its errors, for `store.rs`: waiting out sled's own lock after a
//! reopen, a damaged file as a clear error (sled panics on some), a full disk refused before
//! anything is written, sled's errors named by file, and taking writes again once a full
//! disk has room (`Store::recover`). (Unfinished snapshots sled removes itself as it opens,
//! vendored item 24.)

use std::fs::File;
use std::path::Path;
use std::sync::atomic::Ordering;

use super::super::error::{Error, Result};
use super::super::wal::Wal;
use super::super::wal::disk_full_hint;
use super::write::{batch_of, merge_held, put_mark};
use super::{APPLIED, Store, Val, decode_logged, delta, io};

/// Opens sled. We hold onepoint.lock, so no other process has the store; sled's own lock
/// can still be held for a moment by this process's last handle, which sled's threads
/// release shortly after it is dropped (a close followed by a reopen): wait for it.
pub(super) fn open_sled(config: &sled::Config, dir: &Path) -> Result<sled::Db> {
    let sled_dir = dir.join("sled");
    let mut attempts = 0;
    loop {
        // sled panics on some damaged files (a truncated one): make that a clear error.
        // (A snapshot sled's writer left unfinished, a kill or a full disk, sled removes
        // as it opens: vendored item 24.)
        let opened = open_quietly(config);
        let opened = opened.map_err(|_| {
            Error::store(format!(
                "the store {} is damaged (sled could not read {}): restore it from a backup",
                dir.display(),
                sled_dir.display()
            ))
        })?;
        match opened {
            Ok(db) => return Ok(db),
            Err(e) if attempts < 250 && e.to_string().contains("could not acquire lock") => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) if !disk_full_hint(&e.to_string()).is_empty() => {
                return Err(Error::store(format!(
                    "cannot open the store's database {}: {e}: the disk is full (opening writes a snapshot); free space on it and retry (nothing was changed)",
                    sled_dir.display()
                )));
            }
            Err(e @ sled::Error::Corruption { .. }) => return Err(sled_error(dir, e)),
            Err(e) => {
                return Err(Error::store(format!(
                    "cannot open the store's database {}: {e}; if it is damaged, restore the store from a backup",
                    sled_dir.display()
                )));
            }
        }
    }
}

impl Store {
    /// Makes the store take writes again after one failed on a full disk, once space is
    /// freed, without closing it (the core's apply thread runs it with no write in flight).
    /// While the disk is still too full it refuses, changing nothing. sled keeps a failed
    /// write's error and answers it to every later call: then it is reopened, as `snapshot`
    /// does. The log is opened again from its files, as `open` does (cutting what a
    /// refused append left), the records past what sled holds are applied, and both are
    /// checkpointed. Returns the last record applied.
    pub fn recover(&self) -> Result<u64> {
        check_free_space_for_writes(&self.dir, self.sled_refuses())?;
        let sled_dir = self.dir.join("sled");
        // The delta's lock before sled's (as `Store::write` takes them): no move of held
        // keys runs meanwhile.
        let mut held = self.delta.lock();
        let mut slot = self.db.write();
        if slot.is_none() || self.config.global_error().is_err() {
            let mut waits = 0;
            while self.iterators.load(Ordering::SeqCst) > 0 {
                if waits == 200 {
                    return Err(Error::store(format!(
                        "writes to the store {} are refused: the disk was full and readers keep its database from reopening; retry",
                        self.dir.display()
                    )));
                }
                drop(slot);
                std::thread::sleep(std::time::Duration::from_millis(5));
                waits += 1;
                slot = self.db.write();
            }
            drop(slot.take());
            *slot = Some(open_sled(&self.config, &self.dir)?);
            self.since_snapshot.store(0, Ordering::Relaxed);
        }
        let db = slot.as_ref().expect("sled is open");
        let applied = read_applied(db, &self.dir)?;
        let from = read_mark(db, &self.dir)?.map_or(applied, |m| m.min(applied));
        // Under the wal lock and sled's write lock, no checkpoint runs meanwhile.
        let mut wal = self.wal.lock();
        let (fresh, replay) = Wal::open(&self.dir, from, self.faults.clone())?;
        let mut last = applied;
        for r in replay {
            let mut set = decode_logged(&self.dir, &r)?;
            if r.seq <= applied {
                // sled holds the rest of it.
                set = set.only(delta::is_delta_key);
            }
            // The in-memory tables are built again below, from the accounts; the deals'
            // indexes go to sled, and what was held back of them is dropped below.
            let mut b = batch_of(&[&set])?;
            merge_held(&mut b.writes, &b.held);
            put_mark(&mut b.writes, APPLIED, r.seq.max(applied));
            put_mark(&mut b.writes, delta::MARK, r.seq);
            db.apply_sorted(b.writes)
                .map_err(|e| io("cannot write to", &sled_dir, e))?;
            last = last.max(r.seq);
        }
        db.flush()
            .map_err(|e| io("cannot flush the store's database", &sled_dir, e))?;
        self.data_file
            .sync_data()
            .map_err(|e| io("cannot fsync", &sled_dir.join("db"), e))?;
        *wal = fresh;
        wal.release(last);
        drop(wal);
        self.delta.reset(&mut held, last);
        drop(held);
        drop(slot);
        // sled now holds what the log does, which the indexes in memory may be ahead of.
        self.memory.reset();
        self.build_memory()?;
        Ok(last)
    }
}

impl Store {
    /// Whether sled must be reopened before it takes writes: closed (a reopen failed), or
    /// keeping the error of a write of its own that failed (sled answers it to every later
    /// call until reopened). Asked without writing, so a probe on a full disk harms nothing.
    fn sled_refuses(&self) -> bool {
        self.db.read().is_none() || self.config.global_error().is_err()
    }

    /// The error sled keeps from a write of its own that failed (it answers it to every
    /// later call, reads too, until reopened), as the store's: the writer takes it as a
    /// failed write (see `core.rs`), even when the call that met it was a read.
    pub fn engine_error(&self) -> Option<Error> {
        self.config
            .global_error()
            .err()
            .map(|e| sled_error(&self.dir, e))
    }

    /// Copies the store's files to `dest` (which must not exist, or be an empty directory),
    /// as they are at one moment: under sled's write lock and the log's lock, nothing is
    /// applied, logged or checkpointed meanwhile, and sled is flushed first. Records logged
    /// but not yet applied are in the copied log, and the copy's open applies them, as
    /// after a crash. Returns the files and bytes copied. The lock file is not copied.
    pub fn backup(&self, dest: &Path) -> Result<(u64, u64)> {
        let inside = std::path::absolute(dest)
            .ok()
            .zip(std::path::absolute(&self.dir).ok())
            .is_none_or(|(d, s)| d.starts_with(s));
        if inside {
            return Err(Error::store(format!(
                "the backup folder {} is inside the store {}: name a folder outside it (nothing was copied)",
                dest.display(),
                self.dir.display()
            )));
        }
        let empty = match std::fs::read_dir(dest) {
            Ok(mut rd) => rd.next().is_none(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(io("cannot read", dest, e)),
        };
        if !empty {
            return Err(Error::store(format!(
                "the backup folder {} is not empty: name a new folder (nothing was copied)",
                dest.display()
            )));
        }
        let sled_dir = self.dir.join("sled");
        let slot = self.db.write();
        let db = slot
            .as_ref()
            .ok_or_else(|| Error::store("the store's database failed to reopen; restart"))?;
        let _wal = self.wal.lock();
        // sled may still be writing the snapshot of its last open, on a thread of its own
        // (vendored item 24): replacing the one before it while the files are copied.
        db.finish_snapshot();
        db.flush()
            .map_err(|e| io("cannot flush the store's database", &sled_dir, e))?;
        self.data_file
            .sync_data()
            .map_err(|e| io("cannot fsync", &sled_dir.join("db"), e))?;
        let mut copied = (0, 0);
        for sub in ["sled", "wal"] {
            copy_tree(&self.dir.join(sub), &dest.join(sub), &mut copied)?;
        }
        sync_dir(dest)?;
        Ok(copied)
    }
}

/// Copies the files under `from` to `to` (made), fsynced, leaving out a snapshot sled
/// never finished; counts files and bytes in `copied`.
fn copy_tree(from: &Path, to: &Path, copied: &mut (u64, u64)) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| io("cannot create", to, e))?;
    let entries = match std::fs::read_dir(from) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return sync_dir(to),
        Err(e) => return Err(io("cannot list", from, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io("cannot list", from, e))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if src.is_dir() {
            copy_tree(&src, &dst, copied)?;
        } else if !entry.file_name().to_string_lossy().ends_with(".generating") {
            let bytes = std::fs::copy(&src, &dst).map_err(|e| io("cannot copy", &src, e))?;
            File::open(&dst)
                .and_then(|f| f.sync_all())
                .map_err(|e| io("cannot fsync", &dst, e))?;
            copied.0 += 1;
            copied.1 += bytes;
        }
    }
    sync_dir(to)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("cannot fsync", dir, e))
}

pub(super) fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

thread_local! {
    /// Set while this thread opens sled: a panic then is reported as an error, not printed.
    static OPENING_SLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Opens sled, turning a panic inside it (which a damaged file can cause) into an `Err`,
/// without the panic message and backtrace on stderr (the error says what happened).
pub(super) fn open_quietly(config: &sled::Config) -> std::thread::Result<sled::Result<sled::Db>> {
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !OPENING_SLED.with(|o| o.get()) {
                previous(info);
            }
        }));
    });
    OPENING_SLED.with(|o| o.set(true));
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()));
    OPENING_SLED.with(|o| o.set(false));
    opened
}

/// A number sled keeps under `key` (u64 BE), `what` naming it should it be damaged.
fn read_number(db: &sled::Db, dir: &Path, key: &[u8], what: &str) -> Result<Option<u64>> {
    match db.get(key) {
        Ok(Some(v)) => <[u8; 8]>::try_from(v.as_ref())
            .map(|b| Some(u64::from_be_bytes(b)))
            .map_err(|_| Error::store(format!("corrupt record: {what}"))),
        Ok(None) => Ok(None),
        Err(e) => Err(sled_error(dir, e)),
    }
}

pub(super) fn read_applied(db: &sled::Db, dir: &Path) -> Result<u64> {
    Ok(read_number(db, dir, APPLIED, "the log position")?.unwrap_or(0))
}

/// The log record up to which the deals' held-back indexes are in sled (`store_delta.rs`);
/// `None` in a store that never held any back.
pub(super) fn read_mark(db: &sled::Db, dir: &Path) -> Result<Option<u64>> {
    read_number(db, dir, delta::MARK, "the held-back indexes' log position")
}

/// Refuses a store whose layout is newer than this build reads (`schema::SCHEMA_VERSION`),
/// before the log is applied to it: this build would read its records wrongly, and its
/// open would write them so.
pub(super) fn check_layout(db: &sled::Db, dir: &Path) -> Result<()> {
    use super::super::schema::{SCHEMA, SCHEMA_VERSION};
    let version = read_number(db, dir, SCHEMA, "the store's layout version")?;
    match version {
        Some(version) if version > SCHEMA_VERSION => Err(Error::store(format!(
            "the store {} has layout version {version}, written by a newer onepoint; this one reads up to version {SCHEMA_VERSION}: open it with the newer onepoint",
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// Free bytes an open needs beyond a new snapshot: sled writes one as it opens (on a
/// thread of its own), and replaying the log writes to sled.
const OPEN_FREE_BYTES: u64 = 4 << 20;

/// Refuses to open an existing store on a disk too full for it to open, before anything
/// is written: sled, opening, zeroes the unfinished end of its log, writes a snapshot and
/// then fails, so an open on a full disk would change the files and still not open.
pub(super) fn check_free_space(dir: &Path) -> Result<()> {
    match short_of_space(dir, None) {
        None => Ok(()),
        Some((free, need)) => Err(Error::store(format!(
            "cannot open the store {}: the disk is full ({} KiB free, opening needs {} KiB); free space on it and retry (nothing was changed)",
            dir.display(),
            free / 1024,
            need.div_ceil(1024)
        ))),
    }
}

/// Refuses to take writes again after a full disk while it is still too full to write, or,
/// when sled must be reopened, to reopen it (see `Store::recover`), before anything is
/// written.
pub(super) fn check_free_space_for_writes(dir: &Path, reopen: bool) -> Result<()> {
    let need = if reopen { None } else { Some(WRITE_FREE_BYTES) };
    match short_of_space(dir, need) {
        None => Ok(()),
        Some((free, need)) => Err(Error::store(format!(
            "writes to the store {} are refused: the disk is full ({} KiB free, writing needs {} KiB); free space on it and retry (every acknowledged write is kept; writes resume by themselves once it is freed)",
            dir.display(),
            free / 1024,
            need.div_ceil(1024)
        ))),
    }
}

/// Free bytes a store that took a full disk needs before it takes writes again (without
/// reopening sled): room for a few groups in the log and sled's next flush.
const WRITE_FREE_BYTES: u64 = 1 << 20;

/// Free bytes and the bytes needed (`need`, else what an open needs), when fewer are free
/// (`None`: enough, or no figure, and then the write or open itself reports what fails).
fn short_of_space(dir: &Path, need: Option<u64>) -> Option<(u64, u64)> {
    let c_path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statvfs fills the zeroed struct we own from a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let free = st.f_bavail as u64 * st.f_frsize as u64;
    let snapshots: u64 = std::fs::read_dir(dir.join("sled"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("snap."))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    let need = need.unwrap_or(snapshots + OPEN_FREE_BYTES);
    (free < need).then_some((free, need))
}

pub(super) fn map_entry(
    dir: &Path,
    r: sled::Result<(sled::IVec, sled::IVec)>,
) -> Result<(Val, Val)> {
    r.map(|(k, v)| (Val(k), Val(v))).map_err(|e| match e {
        e @ sled::Error::Corruption { .. } => sled_error(dir, e),
        e if !disk_full_hint(&e.to_string()).is_empty() => sled_error(dir, e),
        e => Error::store(format!("read failed: {e}")),
    })
}

/// A sled error as the store's: damage names sled's data file and what to do.
pub(super) fn sled_error(dir: &Path, e: sled::Error) -> Error {
    match e {
        sled::Error::Corruption { at: Some(_), .. } => Error::store(format!(
            "the store's database {} is damaged ({e}): restore the store from a backup",
            dir.join("sled").join("db").display()
        )),
        // No offset: found while reading the snapshot or checking it against the log.
        sled::Error::Corruption { at: None, .. } => Error::store(format!(
            "the store's database {} is damaged (its data file db or its snapshot snap.*: {e}): restore the store from a backup",
            dir.join("sled").display()
        )),
        // sled keeps a failed write's error and answers it to every later call, reads too.
        e if !disk_full_hint(&e.to_string()).is_empty() => {
            io("cannot use the store's database", &dir.join("sled"), e)
        }
        e => Error::store(format!(
            "the store's database {}: {e}",
            dir.join("sled").display()
        )),
    }
}

/// Raw sled figures for the benchmark: batched inserts per second and flush+fsyncs per
/// second on the same disk, the limits the ingest figures are compared against.
pub fn raw_limits(dir: &Path, batches: usize, batch_len: usize) -> Result<(f64, f64)> {
    let sled_dir = dir.join("raw-sled");
    let db = sled::Config::new()
        .path(&sled_dir)
        .mode(sled::Mode::HighThroughput)
        .flush_every_ms(None)
        .open()
        .map_err(|e| io("cannot open", &sled_dir, e))?;
    let file = File::open(sled_dir.join("db")).map_err(|e| io("cannot open", &sled_dir, e))?;
    let value = [7u8; 96];
    let start = std::time::Instant::now();
    let mut n: u64 = 0;
    for _ in 0..batches {
        let mut b = sled::Batch::default();
        for _ in 0..batch_len {
            n += 1;
            b.insert(&n.to_be_bytes(), &value[..]);
        }
        db.apply_batch(b).map_err(Error::store)?;
    }
    let inserts_per_s = n as f64 / start.elapsed().as_secs_f64();
    let start = std::time::Instant::now();
    let rounds = 200;
    for i in 0..rounds {
        db.insert(b"sync-probe", &(i as u64).to_be_bytes())
            .map_err(Error::store)?;
        db.flush().map_err(Error::store)?;
        file.sync_data().map_err(Error::store)?;
    }
    let fsyncs_per_s = rounds as f64 / start.elapsed().as_secs_f64();
    Ok((inserts_per_s, fsyncs_per_s))
}
