//! The write-ahead log: what makes a write durable before anyone can see it. The writer
//! turns each chunk of accepted commands into one record (the exact keys and values it
//! writes); the sync thread appends records to the current segment and fdatasyncs it; only
//! then are they applied to sled and visible. sled records the sequence number of the last
//! record it applied (`Cwal`) in the same atomic batch, so on open every record past it is
//! applied again (records are whole key/value writes, so applying one twice is harmless).
//! A checkpoint (sled flush + fsync) lets the segments it covers go.
//!
//! Layout: `DIR/wal/<first seq, 20 digits>.log`, each a run of records
//! `len u32 | crc32 u32 | seq u64 | payload` (little-endian; the CRC covers seq and payload;
//! `len` is the payload's), then, in the segment taking appends, zeros: room written ahead
//! (`ROOM_STEP` at a time, as PostgreSQL zero-fills its WAL segments), so an append's
//! fdatasync writes the data alone and not the file's new size too (on this machine's ext4
//! 125 against 195 us per 3 KB append and sync, medians of 3,000). Zeros after the last
//! record end the segment; the room is cut when the segment is closed. A record cut short
//! or failing its CRC at the end of the last segment is a write that never finished its
//! fsync (never acknowledged, never seen): it is cut off, with a warning naming the file,
//! the offset and the bytes cut (damage to the last record looks the same to a checksum).
//! Anywhere else it is damage, reported naming the file.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use super::error::{Error, Result};

#[path = "wal_record.rs"]
mod record;
pub use record::encode_record;
use record::{parse, whole_records};

/// A segment is closed for appends past this size.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// Zeros written ahead of the appends at a time (see the module doc).
const ROOM_STEP: u64 = 1024 * 1024;
const HEADER: usize = 16;

/// Faults a test can switch on (the seam for failed fsyncs and writes).
#[derive(Debug, Default)]
pub struct Faults {
    /// Log syncs left before every later one fails (negative: never).
    syncs_left: AtomicI64,
    /// sled applies left before every later one fails (negative: never).
    applies_left: AtomicI64,
    /// Injected failures read as a full disk (ENOSPC), which the store recovers from.
    disk_full: AtomicBool,
    /// While set, applies to sled wait (`hold_applies`).
    held: parking_lot::Mutex<bool>,
    released: parking_lot::Condvar,
}

impl Faults {
    pub fn new() -> Arc<Faults> {
        Arc::new(Faults {
            syncs_left: AtomicI64::new(-1),
            applies_left: AtomicI64::new(-1),
            disk_full: AtomicBool::new(false),
            held: parking_lot::Mutex::new(false),
            released: parking_lot::Condvar::new(),
        })
    }
    /// While `yes`, every apply to sled waits before it starts (writes still become
    /// durable and are answered; sled, and so readers, fall behind), until called with
    /// false.
    pub fn hold_applies(&self, yes: bool) {
        *self.held.lock() = yes;
        self.released.notify_all();
    }
    /// Waits while applies are held.
    pub(super) fn wait_while_held(&self) {
        let mut held = self.held.lock();
        while *held {
            self.released.wait(&mut held);
        }
    }
    /// Injected failures say the disk is full (as ENOSPC does) rather than a plain failure.
    pub fn as_disk_full(&self, yes: bool) {
        self.disk_full.store(yes, Ordering::SeqCst);
    }
    /// The text of an injected failure.
    pub(super) fn message(&self) -> &'static str {
        if self.disk_full.load(Ordering::SeqCst) {
            "injected failure: No space left on device (os error 28)"
        } else {
            "injected failure"
        }
    }
    /// After `n` more successful log syncs, every sync fails.
    pub fn fail_syncs_after(&self, n: i64) {
        self.syncs_left.store(n, Ordering::SeqCst);
    }
    /// After `n` more successful applies to sled, every apply fails.
    pub fn fail_applies_after(&self, n: i64) {
        self.applies_left.store(n, Ordering::SeqCst);
    }
    fn take(counter: &AtomicI64) -> bool {
        let left = counter.load(Ordering::SeqCst);
        if left < 0 {
            return false;
        }
        if left == 0 {
            return true;
        }
        counter.fetch_sub(1, Ordering::SeqCst);
        false
    }
    pub(super) fn sync_fails(&self) -> bool {
        Faults::take(&self.syncs_left)
    }
    pub(super) fn apply_fails(&self) -> bool {
        Faults::take(&self.applies_left)
    }
}

/// One record read back: its sequence number and payload.
pub struct Record {
    pub seq: u64,
    pub payload: Vec<u8>,
}

pub struct Wal {
    dir: PathBuf,
    /// Segments by first sequence number, oldest first; the last one takes appends.
    segments: Vec<(u64, PathBuf)>,
    file: Option<File>,
    /// Where the next record goes: the end of the records in the open segment.
    len: u64,
    /// The open segment's length: its records, then zeros written ahead.
    room: u64,
    /// The last record on disk (0: none yet).
    last_seq: u64,
    faults: Option<Arc<Faults>>,
}

fn io(what: &str, path: &Path, e: impl std::fmt::Display) -> Error {
    let e = e.to_string();
    Error::store(format!(
        "{what} {}: {e}{}",
        path.display(),
        disk_full_hint(&e)
    ))
}

/// Said by every error that comes from a full disk (see `is_disk_full`).
pub(super) const DISK_FULL: &str = "the disk is full";

/// What to do when an I/O error says the disk is full (ENOSPC), appended to its message.
pub(super) fn disk_full_hint(error: &str) -> &'static str {
    // io::Error's Display, and its Debug (which sled's errors print).
    if error.contains("os error 28") || error.contains("StorageFull") {
        "; the disk is full: free space on it and retry (every acknowledged write is kept)"
    } else {
        ""
    }
}

/// Whether a store error comes from a full disk: a write refused for it is retried once
/// space is freed, with no reopen (see `core.rs`). Any other failed write (an I/O error)
/// keeps the store refusing writes until it is reopened.
pub fn is_disk_full(e: &Error) -> bool {
    matches!(e, Error::Store { message } if message.contains(DISK_FULL))
}

fn segment_name(first: u64) -> String {
    format!("{first:020}.log")
}

/// Checks the log in `dir/wal` for damage, changing nothing: the error `Wal::open` would
/// give, found before the rest of the store is opened (sled writes while it opens, so a
/// store refused only after it would be changed by the refused open). A torn tail of the
/// last segment is not damage (`open` cuts it).
pub fn verify(dir: &Path) -> Result<()> {
    let segments = segments(&dir.join("wal"))?;
    let mut expected: Option<u64> = None;
    let count = segments.len();
    for (i, (first, path)) in segments.iter().enumerate() {
        let bytes = fs::read(path).map_err(|e| io("cannot read", path, e))?;
        let (records, good, damage) = parse(&bytes);
        if good < bytes.len() && (i + 1 < count || damage) {
            return Err(damaged(path, good));
        }
        check_sequence(path, *first, &records, &mut expected)?;
    }
    Ok(())
}

/// The log's segment files in `wal_dir` (`FIRST.log`), in order of their first record; none
/// when the folder does not exist.
fn segments(wal_dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    if wal_dir.is_dir() {
        for entry in fs::read_dir(wal_dir).map_err(|e| io("cannot list", wal_dir, e))? {
            let path = entry.map_err(|e| io("cannot list", wal_dir, e))?.path();
            let first = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".log"))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(first) = first {
                segments.push((first, path));
            }
        }
    }
    segments.sort();
    Ok(segments)
}

/// A segment's records start at the number in its name and follow the previous segment's
/// last record with no gap; otherwise the file is damaged.
fn check_sequence(
    path: &Path,
    first: u64,
    records: &[Record],
    expected: &mut Option<u64>,
) -> Result<()> {
    if records.first().is_some_and(|r| r.seq != first) {
        return Err(damaged(path, 0));
    }
    for r in records {
        if expected.is_some_and(|e| e != r.seq) {
            return Err(damaged(path, 0));
        }
        *expected = Some(r.seq + 1);
    }
    Ok(())
}

impl Wal {
    /// Opens the log in `dir/wal` and returns the records after `applied`, in order. A torn
    /// tail of the last segment is cut off; damage anywhere else is an error naming the file.
    pub fn open(
        dir: &Path,
        applied: u64,
        faults: Option<Arc<Faults>>,
    ) -> Result<(Wal, Vec<Record>)> {
        let wal_dir = dir.join("wal");
        let segments = segments(&wal_dir)?;
        let mut replay = Vec::new();
        let mut expected: Option<u64> = None;
        let count = segments.len();
        for (i, (first, path)) in segments.iter().enumerate() {
            let bytes = fs::read(path).map_err(|e| io("cannot read", path, e))?;
            let (records, good, damage) = parse(&bytes);
            let last = i + 1 == count;
            if good < bytes.len() {
                if !last || damage {
                    return Err(damaged(path, good));
                }
                // A record whose fsync never finished: never acknowledged, never applied.
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| io("cannot open", path, e))?;
                f.set_len(good as u64)
                    .and_then(|_| f.sync_all())
                    .map_err(|e| io("cannot cut the unfinished end of", path, e))?;
                let next = records.last().map_or(*first, |r| r.seq + 1);
                warn_cut(path, good, bytes.len() - good, next <= applied);
            }
            check_sequence(path, *first, &records, &mut expected)?;
            replay.extend(records.into_iter().filter(|r| r.seq > applied));
        }
        if let Some(first) = replay.first()
            && first.seq != applied + 1
        {
            let path = &segments[0].1;
            return Err(Error::store(format!(
                "the write-ahead log {} starts at record {} but the store has applied only up to {applied}: records are missing; restore the store from a backup",
                path.display(),
                first.seq
            )));
        }
        Ok((
            Wal {
                dir: wal_dir,
                segments,
                file: None,
                len: 0,
                room: 0,
                last_seq: expected.map_or(0, |e| e - 1),
                faults,
            },
            replay,
        ))
    }

    /// fsyncs every segment holding record `first` or a later one (those an open applies
    /// again: the last may hold records whose fsync never finished).
    pub fn sync_from(&self, first: u64) -> Result<()> {
        let from = self
            .segments
            .iter()
            .rposition(|(f, _)| *f <= first)
            .unwrap_or(0);
        for (_, path) in &self.segments[from..] {
            File::open(path)
                .and_then(|f| f.sync_all())
                .map_err(|e| io("cannot fsync", path, e))?;
        }
        Ok(())
    }

    /// Appends records `first_seq..=last_seq` (encoded with `encode_record`) and returns
    /// once they are on disk. On failure the segment is cut back to where it was, so what
    /// was refused does not come back on the next open.
    pub fn append(&mut self, first_seq: u64, last_seq: u64, bytes: &[u8]) -> Result<()> {
        if self.file.is_none() || self.len >= SEGMENT_BYTES {
            self.close_segment();
            self.start_segment(first_seq)?;
        }
        let path = self.segments.last().expect("a segment").1.clone();
        let file = self.file.as_ref().expect("an open segment");
        let before = self.len;
        let end = before + bytes.len() as u64;
        let mut r = Ok(());
        if end > self.room {
            // Zeros ahead, written with these records and made durable by their sync.
            let room = end.max(self.room + ROOM_STEP);
            r = write_zeros(file, self.room, room).map_err(|e| io("cannot write to", &path, e));
            if r.is_ok() {
                self.room = room;
            }
        }
        if r.is_ok() {
            r = file
                .write_all_at(bytes, before)
                .map_err(|e| io("cannot write to", &path, e));
        }
        if r.is_ok() {
            r = match self.faults.as_ref().filter(|f| f.sync_fails()) {
                Some(f) => Err(io("cannot fsync", &path, f.message())),
                None => file.sync_data().map_err(|e| io("cannot fsync", &path, e)),
            };
        }
        match r {
            Ok(()) => {
                self.len = end;
                self.last_seq = last_seq;
                Ok(())
            }
            Err(e) => {
                // Neither the refused records nor the room stay: the file ends where its
                // records do, as before the append.
                let _ = file.set_len(before);
                let _ = file.sync_all();
                self.room = before;
                Err(e)
            }
        }
    }

    fn start_segment(&mut self, first_seq: u64) -> Result<()> {
        fs::create_dir_all(&self.dir).map_err(|e| io("cannot create", &self.dir, e))?;
        let path = self.dir.join(segment_name(first_seq));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io("cannot create", &path, e))?;
        // A segment already there (it took no record before the store closed, or a crash
        // left room after its records): appends go after its records.
        let room = file.metadata().map(|m| m.len()).unwrap_or(0);
        let len = if room == 0 {
            0
        } else {
            whole_records(&fs::read(&path).map_err(|e| io("cannot read", &path, e))?).1 as u64
        };
        // The new file's name must be durable before any record in it is acknowledged.
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("cannot fsync", &self.dir, e))?;
        if self.segments.last().is_none_or(|s| s.1 != path) {
            self.segments.push((first_seq, path));
        }
        self.file = Some(file);
        self.len = len;
        self.room = room;
        Ok(())
    }

    /// Closes the segment taking appends, cutting the room written ahead of its records.
    fn close_segment(&mut self) {
        if let Some(file) = self.file.take()
            && self.room > self.len
        {
            let _ = file.set_len(self.len).and_then(|_| file.sync_all());
        }
        self.len = 0;
        self.room = 0;
    }

    /// Drops the closed segments whose every record is at or below `checkpointed` (sled has
    /// them durably); the segment taking appends stays.
    pub fn release(&mut self, checkpointed: u64) {
        let mut keep = Vec::new();
        let n = self.segments.len();
        for i in 0..n {
            let last_seq = if i + 1 < n {
                self.segments[i + 1].0.saturating_sub(1)
            } else {
                self.last_seq
            };
            let active = i + 1 == n && self.file.is_some();
            if last_seq <= checkpointed && !active {
                let _ = fs::remove_file(&self.segments[i].1);
            } else {
                keep.push(self.segments[i].clone());
            }
        }
        self.segments = keep;
    }

    /// Closes the segment taking appends once it holds `min_bytes`, so the next append
    /// starts a new one (and this one can be released once checkpointed).
    pub fn seal(&mut self, min_bytes: u64) {
        if self.len > 0 && self.len >= min_bytes {
            self.close_segment();
        }
    }

    /// Bytes the log holds on disk.
    pub fn bytes(&self) -> u64 {
        self.segments
            .iter()
            .filter_map(|(_, p)| fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.close_segment();
    }
}

/// Writes zeros to `file` from `from` up to `to`.
fn write_zeros(file: &File, from: u64, to: u64) -> std::io::Result<()> {
    const CHUNK: usize = 64 * 1024;
    let zeros = [0u8; CHUNK];
    let mut at = from;
    while at < to {
        let n = (to - at).min(CHUNK as u64) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// Says that the unfinished end of the last segment was cut: a checksum cannot tell a
/// write cut short by a crash (never acknowledged) from damage to the last record (which
/// may have been), so the user is told where and how much, once, as the store opens.
fn warn_cut(path: &Path, at: usize, cut: usize, applied: bool) {
    let lost = if applied {
        "the store's database already held that record, so nothing is lost"
    } else {
        "if it was damage, that record's writes (the last before the store closed) are lost"
    };
    tracing::warn!(
        "the write-ahead log {} ended in an unreadable record: {cut} bytes cut at byte {at}. \
         A write cut short by a crash (never acknowledged) looks like this; so does damage \
         to the last record, which a checksum cannot tell apart: {lost}",
        path.display()
    );
}

fn damaged(path: &Path, at: usize) -> Error {
    Error::store(format!(
        "the write-ahead log {} is damaged at byte {at}: the store cannot be opened safely; restore it from a backup, or move the file aside to open the store as of its last checkpoint (writes after it are lost)",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_a_torn_tail_is_cut() {
        let mut buf = Vec::new();
        encode_record(1, b"one", &mut buf);
        encode_record(2, b"two", &mut buf);
        let whole = buf.len();
        encode_record(3, b"three", &mut buf);
        let (r, good, damage) = parse(&buf[..buf.len() - 2]);
        assert_eq!((good, damage), (whole, false));
        assert_eq!(r.len(), 2);
        assert_eq!((r[1].seq, r[1].payload.as_slice()), (2, &b"two"[..]));
        // A flipped byte in the last record: torn (nothing good after it).
        let mut torn = buf.clone();
        let n = torn.len();
        torn[n - 1] ^= 1;
        let (r, good, damage) = parse(&torn);
        assert_eq!((r.len(), good, damage), (2, whole, false));
        // A flipped byte in the first: damage (good records follow).
        let mut bad = buf.clone();
        bad[HEADER + 1] ^= 1;
        let (r, good, damage) = parse(&bad);
        assert!(r.is_empty());
        assert_eq!((good, damage), (0, true));
    }

    fn records(seqs: std::ops::RangeInclusive<u64>) -> Vec<u8> {
        let mut buf = Vec::new();
        for seq in seqs {
            encode_record(seq, format!("record {seq}").as_bytes(), &mut buf);
        }
        buf
    }

    fn segment_len(dir: &Path) -> (PathBuf, u64) {
        let segs = segments(&dir.join("wal")).unwrap();
        assert_eq!(segs.len(), 1, "{segs:?}");
        let len = fs::metadata(&segs[0].1).unwrap().len();
        (segs[0].1.clone(), len)
    }

    /// The segment taking appends holds zeros written ahead of its records. A crash (the
    /// log never closed) leaves them: the next open reads every record and cuts nothing,
    /// and its appends go right after the records. Closing cuts the zeros.
    #[test]
    fn room_written_ahead_survives_a_crash_and_is_cut_on_close() {
        let tmp = tempfile::tempdir().unwrap();
        let (mut wal, replay) = Wal::open(tmp.path(), 0, None).unwrap();
        assert!(replay.is_empty());
        let first = records(1..=3);
        wal.append(1, 3, &first).unwrap();
        let (path, len) = segment_len(tmp.path());
        assert_eq!(
            len,
            ROOM_STEP,
            "room written ahead of {} bytes",
            first.len()
        );
        std::mem::forget(wal); // a crash: nothing closes the segment
        let (mut wal, replay) = Wal::open(tmp.path(), 0, None).unwrap();
        let seqs: Vec<u64> = replay.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(segment_len(tmp.path()).1, ROOM_STEP, "nothing cut");
        // The next records start a segment of their own, which takes the appends; the
        // first keeps its records (and its zeros, until released).
        wal.append(4, 5, &records(4..=5)).unwrap();
        drop(wal);
        let (_, replay) = Wal::open(tmp.path(), 0, None).unwrap();
        let seqs: Vec<u64> = replay.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
        let second = tmp.path().join("wal").join(segment_name(4));
        assert_eq!(
            fs::metadata(&second).unwrap().len(),
            records(4..=5).len() as u64,
            "closed: its zeros cut"
        );
        assert!(fs::metadata(&path).unwrap().len() >= first.len() as u64);
    }

    /// A segment left with no record but its zeros (a crash after the room was written,
    /// before its first record was) takes appends from its start; a torn record in the
    /// room is cut on open, with the zeros after it.
    #[test]
    fn appends_resume_after_the_records_and_a_torn_one_in_the_room_is_cut() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("wal");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(segment_name(1)), vec![0u8; 4096]).unwrap();
        let (mut wal, replay) = Wal::open(tmp.path(), 0, None).unwrap();
        assert!(replay.is_empty());
        wal.append(1, 2, &records(1..=2)).unwrap();
        std::mem::forget(wal);
        // A third record half written into the room.
        let (path, len) = segment_len(tmp.path());
        let whole = records(1..=2).len();
        let third = records(3..=3);
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(&third[..third.len() - 3], whole as u64)
            .unwrap();
        drop(f);
        assert!(len > whole as u64);
        let (wal, replay) = Wal::open(tmp.path(), 0, None).unwrap();
        let seqs: Vec<u64> = replay.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![1, 2]);
        assert_eq!(
            segment_len(tmp.path()).1,
            whole as u64,
            "the torn record cut"
        );
        drop(wal);
    }
}
