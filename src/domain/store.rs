//! The only file that names sled. A store is one sled tree with key-prefixed "tables"
//! (see `schema.rs`), written only through `commit`, which applies one atomic batch, then
//! makes it durable: `flush()` and an fsync of the database file (on Linux sled's flush uses
//! `sync_file_range`, which does not survive power loss). A lock file keeps a second process
//! out with a clear error.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::Deref;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::error::{Error, Result};

/// A stored value (shared bytes; cheap to clone).
#[derive(Clone, Debug)]
pub struct Val(sled::IVec);

impl Deref for Val {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// Writes to apply atomically. `None` removes the key.
#[derive(Default)]
pub struct WriteSet {
    batch: sled::Batch,
    len: usize,
}

impl WriteSet {
    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.batch.insert(key, value);
        self.len += 1;
    }
    pub fn remove(&mut self, key: &[u8]) {
        self.batch.remove(key);
        self.len += 1;
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

pub struct Store {
    dir: PathBuf,
    db: sled::Db,
    /// sled's data file, fsynced after every flush.
    data_file: File,
    _lock: File,
}

/// Options for opening a store.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// sled's page cache, bytes.
    pub cache_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    Error::store(format!("{what} {}: {e}", path.display()))
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
        let lock_path = dir.join("onepoint.lock");
        let mut lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io("cannot open lock file", &lock_path, e))?;
        // SAFETY: flock on a file descriptor we own; no memory is touched.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            let holder = holder.trim();
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
        let config = sled::Config::new()
            .path(&sled_dir)
            .cache_capacity(opts.cache_bytes)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(None);
        // We hold onepoint.lock, so no other process has the store. sled's own lock can
        // still be held for a moment by this process's last handle, which sled's threads
        // release shortly after it is dropped (a close followed by a reopen): wait for it.
        let mut attempts = 0;
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(e) if attempts < 100 && e.to_string().contains("could not acquire lock") => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => return Err(io("cannot open store", dir, e)),
            }
        };
        let data_path = sled_dir.join("db");
        let data_file = File::open(&data_path).map_err(|e| io("cannot open", &data_path, e))?;
        Ok(Store {
            dir: dir.to_path_buf(),
            db,
            data_file,
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn get_val(&self, key: &[u8]) -> Result<Option<Val>> {
        self.db
            .get(key)
            .map(|v| v.map(Val))
            .map_err(|e| Error::store(format!("read failed: {e}")))
    }

    /// Entries whose key starts with `prefix`, ascending (`.rev()` for descending).
    pub fn scan_prefix(
        &self,
        prefix: &[u8],
    ) -> impl DoubleEndedIterator<Item = Result<(Val, Val)>> + use<> {
        self.db.scan_prefix(prefix).map(map_entry)
    }

    /// Entries with `from <= key < to`, ascending (`.rev()` for descending).
    pub fn range(
        &self,
        from: &[u8],
        to: &[u8],
    ) -> impl DoubleEndedIterator<Item = Result<(Val, Val)>> + use<> {
        self.db.range(from.to_vec()..to.to_vec()).map(map_entry)
    }

    /// Applies the batch atomically and returns once it is durable.
    pub fn commit(&self, set: WriteSet) -> Result<()> {
        self.apply(set)?;
        self.sync()
    }

    /// Applies the batch atomically (visible to readers, not yet durable: see `sync`).
    pub fn apply(&self, set: WriteSet) -> Result<()> {
        if set.is_empty() {
            return Ok(());
        }
        self.db
            .apply_batch(set.batch)
            .map_err(|e| Error::store(format!("write failed: {e}")))
    }

    /// flush + fsync: everything applied so far survives a crash or power loss.
    pub fn sync(&self) -> Result<()> {
        self.db
            .flush()
            .map_err(|e| Error::store(format!("flush failed: {e}")))?;
        self.data_file
            .sync_data()
            .map_err(|e| Error::store(format!("fsync failed: {e}")))
    }

    /// Bytes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.db.flush();
        let _ = self.data_file.sync_data();
    }
}

fn map_entry(r: sled::Result<(sled::IVec, sled::IVec)>) -> Result<(Val, Val)> {
    r.map(|(k, v)| (Val(k), Val(v)))
        .map_err(|e| Error::store(format!("read failed: {e}")))
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
